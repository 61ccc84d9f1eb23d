//! Support for telltale's integration tests, above all those that need real
//! peers (Prometheus, Pushgateway, promtool, Python's `prometheus_client`).
//!
//! - [`free_port`]: a loopback port nobody listens on.
//! - [`Peer`]: a server process started on such a port, waited for, and
//!   killed by its pid when dropped; its output goes to a log file in its own
//!   temporary directory, quoted by [`Peer::log`] in failure messages.
//! - [`start_pushgateway`], [`start_otlp_receiver`] and [`prometheus`]: the
//!   peers the tests start, and Prometheus's query and targets API.
//! - [`http`]: a minimal HTTP/1.1 client over `std::net::TcpStream`.
//! - [`find_program`] and the `*_binary` helpers: where the peers are installed.
//! - [`openmetrics_cases`]: the project's own OpenMetrics accept/reject cases.
//! - [`workers`]: copies of a test binary run as worker processes on a
//!   multi-process backend, and reading their merged series.
//! - [`demo`]: the demo service's series read out of a [`telltale::Snapshot`],
//!   keyed like the driver's [`telltale_examples::Tally`].
//!
//! The README's examples are compiled and run as this crate's doctests.

#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a peer may take to start answering before a test gives up.
pub const START_TIMEOUT: Duration = Duration::from_mins(1);

/// The longest a test waits for a running peer to see what it expects.
pub const PEER_WAIT: Duration = Duration::from_mins(1);

/// A loopback TCP port that was free a moment ago.
///
/// The port is found by binding `127.0.0.1:0` and closing the listener, so
/// another process could take it before the caller binds it; tests start a
/// peer on it right away and fail loudly if the bind fails.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// A directory under the system's temporary directory, removed on drop
/// unless the thread is panicking (then it is kept, and its path printed, so
/// the logs of a failed test can be read).
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a new, empty directory whose name starts with `prefix`.
    pub fn new(prefix: &str) -> std::io::Result<TempDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "telltale-{prefix}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path)?;
        Ok(TempDir { path })
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept {} for inspection", self.path.display());
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Where a program is installed: `$env_var` if set, else the first `name`
/// on `PATH`, else `/usr/bin/name`, `/usr/local/bin/name`.
pub fn find_program(name: &str, env_var: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_var).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

fn require(name: &str, env_var: &str, install: &str) -> PathBuf {
    find_program(name, env_var).unwrap_or_else(|| {
        panic!("`{name}` not found on PATH nor in /usr/bin (set {env_var}); install it with: {install}")
    })
}

/// `promtool` (Debian: `/usr/bin/promtool`, package `prometheus`); `$TELLTALE_PROMTOOL` overrides.
pub fn promtool_binary() -> PathBuf {
    require(
        "promtool",
        "TELLTALE_PROMTOOL",
        "apt-get install prometheus",
    )
}

/// The Prometheus server (Debian: `/usr/bin/prometheus`); `$TELLTALE_PROMETHEUS` overrides.
pub fn prometheus_binary() -> PathBuf {
    require(
        "prometheus",
        "TELLTALE_PROMETHEUS",
        "apt-get install prometheus",
    )
}

/// The Pushgateway (Debian: `/usr/bin/prometheus-pushgateway`); `$TELLTALE_PUSHGATEWAY` overrides.
pub fn pushgateway_binary() -> PathBuf {
    find_program("prometheus-pushgateway", "TELLTALE_PUSHGATEWAY")
        .or_else(|| find_program("pushgateway", "TELLTALE_PUSHGATEWAY"))
        .unwrap_or_else(|| {
            panic!(
                "`prometheus-pushgateway` not found (set TELLTALE_PUSHGATEWAY); \
                 install it with: apt-get install prometheus-pushgateway"
            )
        })
}

/// The Python interpreter (`python3` on `PATH`); `$TELLTALE_PYTHON` overrides.
pub fn python_binary() -> PathBuf {
    require("python3", "TELLTALE_PYTHON", "apt-get install python3")
}

/// `node` (Debian's `nodejs`), or `$TELLTALE_NODE`.
pub fn node_binary() -> PathBuf {
    require("node", "TELLTALE_NODE", "apt-get install nodejs")
}

/// The directory of the helper scripts, `tests/peers/`.
pub fn peer_scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peers")
}

/// Runs `program` with `args`, writes `stdin` to it, and returns what it
/// printed and how it exited. Panics if it cannot be started or does not
/// finish within `timeout` (it is killed then).
pub fn run_with_stdin(program: &Path, args: &[&OsStr], stdin: &[u8], timeout: Duration) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let mut input = child.stdin.take().expect("piped stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // A program that exits early closes the pipe; that is its answer.
        let _ = input.write_all(&data);
    });
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{} did not finish within {timeout:?}", program.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = writer.join();
    Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

/// A peer server process, killed by its pid (and waited for) on drop.
#[derive(Debug)]
pub struct Peer {
    name: String,
    child: Child,
    addr: SocketAddr,
    log_path: PathBuf,
    dir: TempDir,
}

impl Peer {
    /// Starts `program` with `args`, its stdout and stderr going to a log file
    /// in a fresh temporary directory (see [`Peer::dir`]), and waits until
    /// `GET ready_path` on `127.0.0.1:port` answers 200, for at most
    /// [`START_TIMEOUT`]. `args` may name files in the directory: every
    /// `{dir}` in them is replaced by its path.
    pub fn start(
        name: &str,
        program: &Path,
        args: &[String],
        port: u16,
        ready_path: &str,
    ) -> Result<Peer, String> {
        let dir = TempDir::new(name).map_err(|e| format!("temporary directory: {e}"))?;
        Self::start_in(dir, name, program, args, port, ready_path)
    }

    /// Like [`Peer::start`], in a directory the caller prepared (for example
    /// with a configuration file written into it).
    pub fn start_in(
        dir: TempDir,
        name: &str,
        program: &Path,
        args: &[String],
        port: u16,
        ready_path: &str,
    ) -> Result<Peer, String> {
        let dir_str = dir.path().to_string_lossy().into_owned();
        let args: Vec<String> = args.iter().map(|a| a.replace("{dir}", &dir_str)).collect();
        let log_path = dir.path().join(format!("{name}.log"));
        let log = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let log_err = log.try_clone().map_err(|e| format!("log file: {e}"))?;
        let child = Command::new(program)
            .args(&args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let mut peer = Peer {
            name: name.to_owned(),
            child,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            log_path,
            dir,
        };
        peer.wait_ready(ready_path, START_TIMEOUT)?;
        Ok(peer)
    }

    fn wait_ready(&mut self, path: &str, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Err(format!(
                    "{} exited ({status}) before it was ready\n{}",
                    self.name,
                    self.log()
                ));
            }
            let last = match http::get(self.addr, path) {
                Ok(response) if response.status == 200 => return Ok(()),
                Ok(response) => format!("GET {path}: {}", response.status),
                Err(e) => format!("GET {path}: {e}"),
            };
            if Instant::now() > deadline {
                return Err(format!(
                    "{} not ready within {timeout:?} ({last})\n{}",
                    self.name,
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The address the peer listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The peer's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The peer's temporary directory (its working directory).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `GET path` on the peer.
    pub fn get(&self, path: &str) -> Result<http::Response, String> {
        http::get(self.addr, path).map_err(|e| format!("GET {path} on {}: {e}", self.name))
    }

    /// The last 8 KiB of the peer's output, headed by its name, for failure
    /// messages.
    pub fn log(&self) -> String {
        let text = fs::read(&self.log_path).unwrap_or_default();
        let tail = &text[text.len().saturating_sub(8192)..];
        format!(
            "---- {} log ({}) ----\n{}\n---- end of {} log ----",
            self.name,
            self.log_path.display(),
            String::from_utf8_lossy(tail),
            self.name
        )
    }

    /// Kills the peer and waits for it; returns how it exited.
    pub fn stop(&mut self) -> std::io::Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(status);
        }
        self.child.kill()?;
        self.child.wait()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Starts a Pushgateway without persistence on a free loopback port and
/// waits until it is ready; panics with its log if it is not.
pub fn start_pushgateway() -> Peer {
    let port = free_port();
    Peer::start(
        "pushgateway",
        &pushgateway_binary(),
        &[
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--persistence.file=".to_owned(),
        ],
        port,
        "/-/ready",
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Starts `tests/peers/otlp_receiver.py` on a free loopback port and waits
/// until it is ready; panics with its log if it is not.
pub fn start_otlp_receiver() -> Peer {
    let port = free_port();
    let script = peer_scripts_dir().join("otlp_receiver.py");
    Peer::start(
        "otlp_receiver",
        &python_binary(),
        &[script.to_string_lossy().into_owned(), port.to_string()],
        port,
        "/ready",
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A Prometheus server as a peer: started with a configuration of the
/// test's, asked through its HTTP API.
pub mod openmetrics_cases;
pub mod workers;

pub mod prometheus {
    use std::time::Duration;

    use serde_json::Value as Json;

    use super::{free_port, http, prometheus_binary, wait_until, Peer, TempDir, PEER_WAIT};

    /// Starts Prometheus on a free loopback port with `config` as its
    /// `prometheus.yml`, its data in its own directory and `extra_args`
    /// after those, and waits until it is ready; panics with its log if it
    /// is not.
    pub fn start(config: &str, extra_args: &[&str]) -> Peer {
        let dir = TempDir::new("prometheus").expect("temporary directory");
        std::fs::write(dir.path().join("prometheus.yml"), config).expect("write prometheus.yml");
        let port = free_port();
        let mut args = vec![
            "--config.file={dir}/prometheus.yml".to_owned(),
            "--storage.tsdb.path={dir}/data".to_owned(),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ];
        args.extend(extra_args.iter().map(|a| (*a).to_owned()));
        Peer::start_in(
            dir,
            "prometheus",
            &prometheus_binary(),
            &args,
            port,
            "/-/ready",
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The series (`metric` and `value`) the instant query `expression`
    /// returns now.
    pub fn query(prometheus: &Peer, expression: &str) -> Result<Vec<Json>, String> {
        let response = prometheus.get(&format!(
            "/api/v1/query?query={}",
            http::encode_query(expression)
        ))?;
        let body: Json = serde_json::from_slice(&response.body)
            .map_err(|e| format!("{expression}: {} {e}: {}", response.status, response.text()))?;
        if response.status != 200 || body["status"] != "success" {
            return Err(format!("{expression}: {} {body}", response.status));
        }
        body["data"]["result"]
            .as_array()
            .cloned()
            .ok_or_else(|| format!("{expression}: no result in {body}"))
    }

    /// The value of one series of a query's result.
    pub fn sample_value(sample: &Json) -> Result<f64, String> {
        sample["value"][1]
            .as_str()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("bad sample {sample}"))
    }

    /// The single value `expression` has now; an error if it has no series
    /// or several.
    pub fn scalar(prometheus: &Peer, expression: &str) -> Result<f64, String> {
        match query(prometheus, expression)?.as_slice() {
            [one] => sample_value(one).map_err(|e| format!("{expression}: {e}")),
            other => Err(format!(
                "{expression}: {} series, expected one: {other:?}",
                other.len()
            )),
        }
    }

    /// The active scrape targets (`/api/v1/targets`).
    pub fn targets(prometheus: &Peer) -> Result<Vec<Json>, String> {
        let response = prometheus.get("/api/v1/targets")?;
        let body: Json = serde_json::from_slice(&response.body)
            .map_err(|e| format!("targets: {} {e}: {}", response.status, response.text()))?;
        body["data"]["activeTargets"]
            .as_array()
            .cloned()
            .ok_or_else(|| format!("no active targets in {body}"))
    }

    /// Waits, at most [`PEER_WAIT`], until Prometheus has exactly `count`
    /// active targets, each up and last scraped without an error (the first
    /// scrape comes some seconds after the start); returns them. Panics with
    /// Prometheus's log if they never are.
    pub fn wait_for_targets_up(prometheus: &Peer, count: usize) -> Vec<Json> {
        wait_until(PEER_WAIT, Duration::from_millis(250), || {
            let active = targets(prometheus)?;
            let up = active
                .iter()
                .filter(|t| t["health"] == "up" && t["lastError"] == "")
                .count();
            if active.len() == count && up == count {
                Ok(active)
            } else {
                Err(format!("targets: {}", Json::Array(active)))
            }
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", prometheus.log()))
    }
}

/// Polls `check` every `every` until it returns `Ok`, for at most `timeout`;
/// returns the last error otherwise.
pub fn wait_until<T>(
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> Result<T, String> {
    let deadline = Instant::now() + timeout;
    loop {
        match check() {
            Ok(value) => return Ok(value),
            Err(e) if Instant::now() > deadline => {
                return Err(format!("still failing after {timeout:?}: {e}"))
            }
            Err(_) => std::thread::sleep(every),
        }
    }
}

/// A minimal HTTP/1.1 client over `std::net::TcpStream`: one request per
/// connection (`Connection: close`), `Content-Length` or chunked bodies.
pub mod http {
    use super::{Read, SocketAddr, TcpStream, Write};
    use std::fmt::Write as _;
    use std::time::Duration;

    /// How long a request may wait for the network.
    pub const TIMEOUT: Duration = Duration::from_secs(15);

    /// A response: status code, headers in order, body.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Response {
        /// The status code.
        pub status: u16,
        /// The headers, names as sent.
        pub headers: Vec<(String, String)>,
        /// The body, de-chunked.
        pub body: Vec<u8>,
    }

    impl Response {
        /// The first header named `name` (case-insensitive).
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }

        /// The body as text (lossy UTF-8).
        pub fn text(&self) -> String {
            String::from_utf8_lossy(&self.body).into_owned()
        }
    }

    /// `GET path`.
    pub fn get(addr: SocketAddr, path: &str) -> Result<Response, String> {
        request(addr, "GET", path, &[], &[])
    }

    /// `PUT path` with `body`.
    pub fn put(
        addr: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response, String> {
        request(addr, "PUT", path, headers, body)
    }

    /// `POST path` with `body`.
    pub fn post(
        addr: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response, String> {
        request(addr, "POST", path, headers, body)
    }

    /// Sends one request and reads the whole response.
    pub fn request(
        addr: SocketAddr,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response, String> {
        let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream
            .set_read_timeout(Some(TIMEOUT))
            .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
            .map_err(|e| e.to_string())?;
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
        for (name, value) in headers {
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        if !body.is_empty() || method != "GET" {
            let _ = write!(head, "Content-Length: {}\r\n", body.len());
        }
        head.push_str("\r\n");
        stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body))
            .map_err(|e| format!("send to {addr}: {e}"))?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .map_err(|e| format!("read from {addr}: {e}"))?;
        parse_response(&raw)
    }

    /// Parses a complete HTTP/1.1 response.
    pub fn parse_response(raw: &[u8]) -> Result<Response, String> {
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or("no end of headers in response")?;
        let head = std::str::from_utf8(&raw[..end]).map_err(|e| format!("headers: {e}"))?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line `{status_line}`"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
        };
        let rest = &raw[end + 4..];
        response.body = if response
            .header("transfer-encoding")
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
        {
            dechunk(rest)?
        } else if let Some(length) = response.header("content-length") {
            let length: usize = length
                .parse()
                .map_err(|_| format!("bad Content-Length `{length}`"))?;
            rest.get(..length)
                .ok_or_else(|| format!("body shorter than Content-Length {length}"))?
                .to_vec()
        } else {
            rest.to_vec()
        };
        Ok(response)
    }

    fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
        let mut body = Vec::new();
        loop {
            let line_end = data
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or("truncated chunk size")?;
            let size_text = std::str::from_utf8(&data[..line_end]).map_err(|e| e.to_string())?;
            let size_text = size_text.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| format!("bad chunk size `{size_text}`"))?;
            data = &data[line_end + 2..];
            if size == 0 {
                return Ok(body);
            }
            let chunk = data.get(..size).ok_or("truncated chunk")?;
            body.extend_from_slice(chunk);
            data = data.get(size + 2..).ok_or("truncated chunk end")?;
        }
    }

    /// Percent-encodes a query parameter value.
    pub fn encode_query(value: &str) -> String {
        let mut out = String::with_capacity(value.len() * 3);
        for byte in value.bytes() {
            if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                out.push(char::from(byte));
            } else {
                let _ = write!(out, "%{byte:02X}");
            }
        }
        out
    }
}

/// The demo service's series, read out of a snapshot or an exposition and
/// keyed as the driver's [`telltale_examples::Tally`] keys them.
pub mod demo {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;

    use telltale::snapshot::Value;
    use telltale::Snapshot;
    use telltale_examples::{Tally, MODULE};

    /// `(function, result, error)`: one `function_calls_total` series.
    pub type CallKey = (String, String, String);

    /// The counts of `function_calls_total` of the demo's module, without the
    /// series at zero.
    pub fn calls_in_snapshot(snapshot: &Snapshot) -> BTreeMap<CallKey, f64> {
        let mut calls = BTreeMap::new();
        let Some(family) = snapshot.family("function_calls") else {
            return calls;
        };
        for series in &family.series {
            if series.label("module") != Some(MODULE) {
                continue;
            }
            if let Value::Counter(n) = series.value {
                if n != 0.0 {
                    calls.insert(
                        (
                            series.label("function").unwrap_or_default().to_owned(),
                            series.label("result").unwrap_or_default().to_owned(),
                            series.label("error").unwrap_or_default().to_owned(),
                        ),
                        n,
                    );
                }
            }
        }
        calls
    }

    /// The `_count` of `function_calls_duration_seconds` per demo function,
    /// without the series at zero.
    pub fn durations_in_snapshot(snapshot: &Snapshot) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        let Some(family) = snapshot.family("function_calls_duration_seconds") else {
            return counts;
        };
        for series in &family.series {
            if series.label("module") != Some(MODULE) {
                continue;
            }
            if let Value::Histogram(h) = &series.value {
                if h.count != 0 {
                    counts.insert(
                        series.label("function").unwrap_or_default().to_owned(),
                        h.count,
                    );
                }
            }
        }
        counts
    }

    /// The calls the driver made, keyed like [`calls_in_snapshot`].
    pub fn calls_in_tally(tally: &Tally) -> BTreeMap<CallKey, f64> {
        tally
            .calls
            .iter()
            .filter(|(_, n)| **n != 0)
            .map(|(o, n)| {
                (
                    (
                        o.function.to_owned(),
                        o.result.to_owned(),
                        o.error.to_owned(),
                    ),
                    *n as f64,
                )
            })
            .collect()
    }

    /// The calls per function the driver made, keyed like [`durations_in_snapshot`].
    pub fn durations_in_tally(tally: &Tally) -> BTreeMap<String, u64> {
        tally
            .timings
            .iter()
            .filter(|(_, n)| **n != 0)
            .map(|(f, n)| ((*f).to_owned(), *n))
            .collect()
    }

    /// A readable diff of two maps: the keys whose values differ.
    pub fn diff<K: Ord + std::fmt::Debug, V: PartialEq + std::fmt::Debug>(
        left_name: &str,
        left: &BTreeMap<K, V>,
        right_name: &str,
        right: &BTreeMap<K, V>,
    ) -> String {
        let mut out = String::new();
        for key in left
            .keys()
            .chain(right.keys().filter(|k| !left.contains_key(k)))
        {
            let (a, b) = (left.get(key), right.get(key));
            if a != b {
                let _ = writeln!(out, "  {key:?}: {left_name} {a:?}, {right_name} {b:?}");
            }
        }
        out
    }
}

/// The dashboard page the server serves at `/dashboard`.
pub const DASHBOARD_PAGE: &str = include_str!("../../runtime/src/export/server/dashboard.html");

/// The JSON fields the dashboard page shows in the table whose column list
/// is the constant `columns` (`OPERATION_COLUMNS`, `RECENT_COLUMNS`,
/// `EXPORTER_COLUMNS`): the second string of each `["title", "field", ...]`
/// entry.
pub fn dashboard_fields(columns: &str) -> Vec<String> {
    let start = DASHBOARD_PAGE
        .find(&format!("const {columns} = ["))
        .unwrap_or_else(|| panic!("the dashboard has no {columns}"));
    DASHBOARD_PAGE[start..]
        .lines()
        .skip(1)
        .take_while(|line| line.trim() != "];")
        .map(|line| {
            line.split('"')
                .nth(3)
                .unwrap_or_else(|| panic!("no field in {line:?}"))
                .to_owned()
        })
        .collect()
}

/// Formats a command's output for a failure message.
pub fn describe_output(what: &str, output: &Output) -> String {
    let mut text = format!("{what}: {}\n", output.status);
    let _ = writeln!(
        text,
        "--- stdout ---\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let _ = writeln!(
        text,
        "--- stderr ---\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

/// A reader of Prometheus text format 0.0.4 sample lines, enough to check
/// what a peer (Pushgateway, Prometheus) exposes.
pub mod text {
    use std::collections::BTreeMap;

    /// One sample line: name, labels, value.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Sample {
        /// The sample's name (`function_calls_total`).
        pub name: String,
        /// Its labels, unescaped.
        pub labels: BTreeMap<String, String>,
        /// Its value.
        pub value: f64,
    }

    impl Sample {
        /// The value of label `name`, or `""` when absent (Prometheus treats
        /// the two the same).
        pub fn label(&self, name: &str) -> &str {
            self.labels.get(name).map_or("", String::as_str)
        }
    }

    /// Every sample of an exposition, in order; comments and blank lines
    /// are skipped.
    pub fn samples(exposition: &str) -> Result<Vec<Sample>, String> {
        exposition
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'))
            .map(|(n, line)| parse_line(line).map_err(|e| format!("line {}: {e}: `{line}`", n + 1)))
            .collect()
    }

    fn parse_line(line: &str) -> Result<Sample, String> {
        let name_end = line
            .find(|c: char| c == '{' || c.is_whitespace())
            .ok_or("no value")?;
        let name = line[..name_end].to_owned();
        let mut rest = &line[name_end..];
        let mut labels = BTreeMap::new();
        if let Some(after) = rest.strip_prefix('{') {
            rest = after;
            loop {
                rest = rest.trim_start_matches([' ', ',']);
                if let Some(after) = rest.strip_prefix('}') {
                    rest = after;
                    break;
                }
                let eq = rest.find('=').ok_or("label without `=`")?;
                let label = rest[..eq].trim().to_owned();
                rest = rest[eq + 1..]
                    .strip_prefix('"')
                    .ok_or("label value without quotes")?;
                let mut value = String::new();
                let mut chars = rest.char_indices();
                let end = loop {
                    match chars.next() {
                        None => return Err("unterminated label value".into()),
                        Some((i, '"')) => break i,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, c)) => value.push(c),
                            None => return Err("unterminated escape".into()),
                        },
                        Some((_, c)) => value.push(c),
                    }
                };
                rest = &rest[end + 1..];
                labels.insert(label, value);
            }
        }
        let value_text = rest.split_whitespace().next().ok_or("no value")?;
        let value = value_text
            .parse()
            .map_err(|_| format!("bad value `{value_text}`"))?;
        Ok(Sample {
            name,
            labels,
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{free_port, http, text};

    #[test]
    fn parses_content_length_and_chunked_responses() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
        let response = http::parse_response(plain).unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.header("x-a"), Some("b"));
        assert_eq!(response.text(), "hello");

        let chunked =
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let response = http::parse_response(chunked).unwrap();
        assert_eq!(response.status, 404);
        assert_eq!(response.text(), "abcde");

        assert!(http::parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(
            http::encode_query("up{job=\"a b\"}"),
            "up%7Bjob%3D%22a%20b%22%7D"
        );
    }

    #[test]
    fn reads_text_samples_with_escapes() {
        let exposition = "# HELP x X.\n# TYPE x counter\nx_total{a=\"q\\\"\\\\\\n\",b=\"\"} 3\n\ny NaN\nz{} +Inf 123\n";
        let samples = text::samples(exposition).unwrap();
        assert_eq!(samples.len(), 3);
        assert_eq!(samples[0].name, "x_total");
        assert_eq!(samples[0].label("a"), "q\"\\\n");
        assert_eq!(samples[0].label("b"), "");
        assert_eq!(samples[0].label("missing"), "");
        assert!((samples[0].value - 3.0).abs() < f64::EPSILON);
        assert!(samples[1].value.is_nan());
        assert!(samples[2].value.is_infinite());
        assert!(text::samples("x{a=\"unterminated} 1\n").is_err());
    }

    #[test]
    fn free_ports_are_bindable() {
        let port = free_port();
        assert_ne!(port, 0);
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    }
}
