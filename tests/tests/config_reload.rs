//! Reloading a configuration while running: only what changed restarts, a
//! bad or half-written file never replaces a good one, and a storm of
//! writes leaves one consistent configuration with nothing leaked.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use telltale::config::reload::{config_status, Live, LiveOptions};

/// The configuration's hooks and the system are one per process: one test
/// at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let path = std::env::temp_dir().join(format!(
            "telltale-reload-{name}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }

    fn file(&self) -> PathBuf {
        self.0.join("telltale.toml")
    }

    /// Writes the configuration file in place.
    fn write(&self, text: &str) {
        std::fs::write(self.file(), text).unwrap();
    }

    /// Replaces the configuration file by a rename, as editors save.
    fn replace(&self, text: &str) {
        let temporary = self.0.join(".telltale.toml.swp");
        std::fs::write(&temporary, text).unwrap();
        std::fs::rename(&temporary, self.file()).unwrap();
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An exec source printing `metric value` for the configuration.
fn source(name: &str, metric: &str, interval: &str) -> String {
    format!(
        "[[custom_metrics.sources]]\nname = \"{name}\"\ntype = \"exec\"\ncommand = [\"/bin/echo\", \"{metric} 1\"]\ninterval = \"{interval}\"\nformat = \"prometheus\"\n\n"
    )
}

fn config(server: &str, sources: &str) -> String {
    format!(
        "version = 2\n\n[server]\nhost = \"127.0.0.1\"\n{server}\n\n[system]\nresources = false\n\n{sources}"
    )
}

fn options() -> LiveOptions {
    LiveOptions {
        watch: false,
        sighup: false,
        env: false,
        ..LiveOptions::default()
    }
}

/// One HTTP/1.1 request on `stream` (kept alive); status and body.
fn request(stream: &mut TcpStream, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let status = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0_u8; length];
    stream.read_exact(&mut body).unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    request(&mut stream, "GET", path, None)
}

/// Waits (up to 10 s) until `/metrics` satisfies `ready`; the last body.
fn scrape_until(addr: SocketAddr, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = get(addr, "/metrics");
        if ready(&body) || Instant::now() > deadline {
            return body;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The value of the series `series` (name and labels as written) in `body`.
fn sample(body: &str, series: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in {body}"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_restarts_only_what_changed_and_a_bad_file_changes_nothing() {
    let _serial = SERIAL.lock().await;
    let dir = Dir::new("changes");
    dir.write(&config("port = 0", &source("alpha", "reload_alpha", "1h")));
    let live = Live::start(dir.file(), options()).await.unwrap();
    let addr = live.local_addr().await.unwrap();
    let body =
        tokio::task::spawn_blocking(move || scrape_until(addr, |b| b.contains("reload_alpha 1")))
            .await
            .unwrap();
    assert!(body.contains("reload_alpha 1"), "{body}");
    assert!(
        body.contains("telltale_config_last_reload_successful 1"),
        "{body}"
    );

    // A connection kept alive across the reload: the server is not rebound,
    // and the next request on it meets the new settings (a token).
    let mut kept = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        assert_eq!(request(&mut stream, "GET", "/metrics", None).0, 200);
        stream
    })
    .await
    .unwrap();
    dir.write(&config(
        "port = 0\nbearer_token = \"t0ken\"",
        &(source("alpha", "reload_alpha", "1h") + &source("beta", "reload_beta", "1h")),
    ));
    let changes = live.reload().await.unwrap();
    assert_eq!(
        changes,
        ["server: settings applied", "source \"beta\": started"],
        "{changes:?}"
    );
    assert_eq!(live.local_addr().await, Some(addr), "not rebound");
    let (kept_back, unauthorized, authorized) = tokio::task::spawn_blocking(move || {
        let unauthorized =
            tokio::task::block_in_place(|| request(&mut kept, "GET", "/metrics", None)).0;
        let deadline = Instant::now() + Duration::from_secs(10);
        let authorized = loop {
            let (status, body) = tokio::task::block_in_place(|| {
                request(&mut kept, "GET", "/metrics", Some("t0ken"))
            });
            if body.contains("reload_beta 1") || Instant::now() > deadline {
                break (status, body);
            }
            std::thread::sleep(Duration::from_millis(25));
        };
        (kept, unauthorized, authorized)
    })
    .await
    .unwrap();
    let mut kept = kept_back;
    assert_eq!(unauthorized, 401, "the token applies to an open connection");
    assert_eq!(authorized.0, 200);
    assert!(
        authorized.1.contains("reload_alpha 1") && authorized.1.contains("reload_beta 1"),
        "{}",
        authorized.1
    );

    // Nothing changed: nothing restarts.
    assert_eq!(live.reload().await.unwrap(), Vec::<String>::new());

    // A source changed restarts; one removed stops and its series go.
    dir.write(&config(
        "port = 0\nbearer_token = \"t0ken\"",
        &source("beta", "reload_beta", "2h"),
    ));
    let changes = live.reload().await.unwrap();
    assert_eq!(
        changes,
        ["source \"alpha\": stopped", "source \"beta\": restarted"],
        "{changes:?}"
    );
    let body =
        tokio::task::block_in_place(|| request(&mut kept, "GET", "/metrics", Some("t0ken"))).1;
    assert!(!body.contains("reload_alpha"), "{body}");
    assert!(
        !body.contains("source=\"alpha\""),
        "alpha's own series go too: {body}"
    );

    // A bad file: every mistake reported, the running configuration stays.
    dir.write(&config("port = \"high\"\nbearer_tokn = \"x\"", ""));
    let error = live.reload().await.unwrap_err().to_string();
    assert!(error.contains("telltale.toml:5:8: server.port"), "{error}");
    assert!(
        error.contains("telltale.toml:6:1: server.bearer_tokn"),
        "{error}"
    );
    assert_eq!(live.config().await.custom_metrics.sources.len(), 1);
    let body =
        tokio::task::block_in_place(|| request(&mut kept, "GET", "/metrics", Some("t0ken"))).1;
    assert!(body.contains("reload_beta 1"), "still served: {body}");
    assert!(
        body.contains("telltale_config_last_reload_successful 0"),
        "{body}"
    );
    // Counted (the counters are the process's: other tests reload too).
    let failures = sample(&body, "telltale_config_reloads_total{result=\"failure\"}");
    let successes = sample(&body, "telltale_config_reloads_total{result=\"success\"}");
    assert!(failures >= 1.0 && successes >= 3.0, "{body}");
    let (status, api) =
        tokio::task::block_in_place(|| request(&mut kept, "GET", "/api/config", Some("t0ken")));
    assert_eq!(status, 200, "{api}");
    let api: serde_json::Value = serde_json::from_str(&api).unwrap();
    assert_eq!(api["last_reload_successful"], false);
    assert!(
        api["last_error"].as_str().unwrap().contains("server.port"),
        "{api}"
    );
    assert_eq!(api["files"].as_array().unwrap().len(), 1);
    assert_eq!(api["hash"].as_str().unwrap().len(), 16);
    assert!(
        api["values"]
            .as_str()
            .unwrap()
            .contains("bearer_token = \"***\""),
        "{api}"
    );
    assert!(
        !api.to_string().contains("t0ken"),
        "no secret in the API: {api}"
    );

    // An empty file (a save caught half way) is refused too, and so is an
    // empty include.
    dir.write("");
    let error = live.reload().await.unwrap_err().to_string();
    assert!(error.contains("is empty"), "{error}");
    std::fs::write(dir.0.join("extra.toml"), "").unwrap();
    dir.write(&format!(
        "include = [\"extra.toml\"]\n{}",
        config(
            "port = 0\nbearer_token = \"t0ken\"",
            &source("beta", "reload_beta", "2h")
        )
    ));
    let error = live.reload().await.unwrap_err().to_string();
    assert!(error.contains("extra.toml is empty"), "{error}");

    // POST /-/reload, behind the server's credentials.
    dir.write(&config(
        "port = 0\nbearer_token = \"t0ken\"",
        &source("beta", "reload_beta", "2h"),
    ));
    let (status, _) = tokio::task::block_in_place(|| request(&mut kept, "POST", "/-/reload", None));
    assert_eq!(status, 401);
    let (status, body) =
        tokio::task::block_in_place(|| request(&mut kept, "POST", "/-/reload", Some("t0ken")));
    assert_eq!(
        (status, body.as_str()),
        (200, "reloaded: nothing changed\n")
    );
    let (status, _) =
        tokio::task::block_in_place(|| request(&mut kept, "GET", "/-/reload", Some("t0ken")));
    assert_eq!(status, 405);
    let status = config_status().unwrap();
    assert!(
        status.last_reload_successful && status.last_error.is_none(),
        "{status:?}"
    );
    assert_eq!((status.reloads_succeeded, status.reloads_failed), (4, 3));

    // A new port, asked for over HTTP: a new server is bound, the old one
    // answers the request that asked, then stops.
    let port = free_port();
    dir.write(&config(
        &format!("port = {port}\nbearer_token = \"t0ken\""),
        &source("beta", "reload_beta", "2h"),
    ));
    let started = Instant::now();
    let (status, body) =
        tokio::task::block_in_place(|| request(&mut kept, "POST", "/-/reload", Some("t0ken")));
    assert_eq!(status, 200, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered at once, not after a grace period"
    );
    assert!(
        body.starts_with(&format!(
            "reloaded:\nserver: now serving at http://127.0.0.1:{port}/"
        )),
        "{body}"
    );
    let new_addr = live.local_addr().await.unwrap();
    assert_eq!(new_addr.port(), port);
    let (status, body) = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(new_addr).unwrap();
        request(&mut stream, "GET", "/metrics", Some("t0ken"))
    })
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("reload_beta 1"), "{body}");
    // The old server stops in the background (its requests in flight
    // finish first): its port closes soon.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_ok() {
        assert!(Instant::now() < deadline, "the old port is still open");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    live.stop().await;
    live.stop().await;
    assert!(config_status().is_none());
}

/// Answers every request `200` and counts them.
fn collector() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&count);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let counted = Arc::clone(&counted);
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buffer = vec![0_u8; 1 << 20];
                let mut read = 0;
                loop {
                    let Ok(n) = stream.read(&mut buffer[read..]) else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    read += n;
                    let text = String::from_utf8_lossy(&buffer[..read]);
                    let Some(end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let length: usize = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (name, value) = l.split_once(':')?;
                            name.eq_ignore_ascii_case("content-length")
                                .then(|| value.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if read >= end + 4 + length {
                        counted.fetch_add(1, Ordering::SeqCst);
                        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
                        read = 0;
                    }
                }
            });
        }
    });
    (addr, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporters_are_replaced_after_a_last_push_of_the_old_ones() {
    let _serial = SERIAL.lock().await;
    let (old_collector, old_pushes) = collector();
    let (new_collector, _) = collector();
    let dir = Dir::new("exporters");
    let endpoint = |addr: SocketAddr| {
        format!(
            "[[system.exporters.endpoints]]\nname = \"central\"\nprotocol = \"remote_write\"\nurl = \"http://{addr}/api/v1/write\"\ninterval = \"1h\"\n"
        )
    };
    dir.write(&config("enabled = false", &endpoint(old_collector)));
    let live = Live::start(dir.file(), options()).await.unwrap();
    let before = old_pushes.load(Ordering::SeqCst);
    dir.write(&config("enabled = false", &endpoint(new_collector)));
    let changes = live.reload().await.unwrap();
    assert_eq!(changes, ["system.exporters: replaced after a last push"]);
    assert!(
        old_pushes.load(Ordering::SeqCst) > before,
        "the old endpoint pushed a last time before it stopped"
    );
    let status = live.system().await.exporters();
    assert_eq!(status.len(), 1);
    let shown = format!("{status:?}");
    assert!(shown.contains(&new_collector.port().to_string()), "{shown}");
    // A change of the health thresholds applies in place.
    dir.write(&format!(
        "{}\n[system.health]\nmin_calls = 77\n",
        config("enabled = false", &endpoint(new_collector))
    ));
    let system = live.system().await;
    assert_eq!(live.reload().await.unwrap(), ["system.health: applied"]);
    assert!(
        Arc::ptr_eq(&system, &live.system().await),
        "the same system"
    );
    assert_eq!(system.config().health.min_calls, 77);
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_follows_renames_and_survives_a_truncated_or_missing_file() {
    let _serial = SERIAL.lock().await;
    let dir = Dir::new("watch");
    dir.write(&config("port = 0", &source("first", "watch_first", "1h")));
    let live = Live::start(
        dir.file(),
        LiveOptions {
            watch: true,
            debounce: Duration::from_millis(100),
            ..options()
        },
    )
    .await
    .unwrap();
    let addr = live.local_addr().await.unwrap();
    let wait = |needle: &'static str| {
        tokio::task::spawn_blocking(move || scrape_until(addr, |b| b.contains(needle)))
    };
    assert!(wait("watch_first 1")
        .await
        .unwrap()
        .contains("watch_first 1"));

    // Saved by a rename.
    dir.replace(&config("port = 0", &source("second", "watch_second", "1h")));
    let body = wait("watch_second 1").await.unwrap();
    assert!(
        body.contains("watch_second 1") && !body.contains("watch_first"),
        "{body}"
    );

    // Truncated, then briefly missing: the running configuration stays.
    dir.write("");
    tokio::time::sleep(Duration::from_millis(600)).await;
    std::fs::remove_file(dir.file()).unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (_, body) = tokio::task::spawn_blocking(move || get(addr, "/metrics"))
        .await
        .unwrap();
    assert!(body.contains("watch_second 1"), "{body}");
    assert!(
        body.contains("telltale_config_last_reload_successful 0"),
        "{body}"
    );
    assert_eq!(live.config().await.custom_metrics.sources[0].name, "second");

    // Back again: applied.
    dir.write(&config("port = 0", &source("third", "watch_third", "1h")));
    let body = wait("watch_third 1").await.unwrap();
    assert!(body.contains("watch_third 1"), "{body}");
    assert!(
        body.contains("telltale_config_last_reload_successful 1"),
        "{body}"
    );
    live.stop().await;
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_writes_leaves_one_consistent_config_and_leaks_nothing() {
    let _serial = SERIAL.lock().await;
    let dir = Dir::new("storm");
    let text = |n: usize| {
        format!(
            "{}\n[system.health]\nmin_calls = {n}\n",
            config("port = 0", &source("storm", "storm_metric", "1h"))
        )
    };
    dir.write(&text(0));
    let live = Live::start(
        dir.file(),
        LiveOptions {
            watch: true,
            debounce: Duration::from_millis(50),
            ..options()
        },
    )
    .await
    .unwrap();
    let addr = live.local_addr().await.unwrap();
    scrape_until_async(addr, "storm_metric 1").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fds_before = open_fds();
    let tasks_before = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();

    // Scrapes all the way through.
    let storming = Arc::new(AtomicBool::new(true));
    let scraper = {
        let storming = Arc::clone(&storming);
        std::thread::spawn(move || {
            let mut scrapes = 0;
            while storming.load(Ordering::SeqCst) {
                let (status, body) = get(addr, "/metrics");
                assert_eq!(status, 200);
                assert!(body.contains("storm_metric 1"), "{body}");
                scrapes += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            scrapes
        })
    };
    let writer = {
        let dir_path = dir.0.clone();
        std::thread::spawn(move || {
            let dir = Dir(dir_path);
            for n in 1..=1000 {
                // Alternately in place and by rename.
                if n % 2 == 0 {
                    dir.write(&text(n));
                } else {
                    dir.replace(&text(n));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            std::mem::forget(dir);
        })
    };
    tokio::task::spawn_blocking(move || writer.join().unwrap())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while live.config().await.system.health.min_calls != 1000 {
        assert!(Instant::now() < deadline, "the last write was not applied");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    storming.store(false, Ordering::SeqCst);
    let scrapes = tokio::task::spawn_blocking(move || scraper.join().unwrap())
        .await
        .unwrap();
    assert!(scrapes > 50, "{scrapes} scrapes");
    let status = config_status().unwrap();
    assert!(status.last_reload_successful, "{status:?}");
    assert!(
        status.reloads_succeeded < 500,
        "debounced: {} reloads for 1000 writes",
        status.reloads_succeeded
    );
    // The source was never restarted by the storm (it did not change).
    assert_eq!(live.sources().await.names(), ["storm"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fds_after = open_fds();
    let tasks_after = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    assert!(
        fds_after <= fds_before + 2,
        "file descriptors {fds_before} -> {fds_after}"
    );
    assert!(
        tasks_after <= tasks_before + 2,
        "tasks {tasks_before} -> {tasks_after}"
    );
    live.stop().await;
}

async fn scrape_until_async(addr: SocketAddr, needle: &'static str) {
    let body = tokio::task::spawn_blocking(move || scrape_until(addr, |b| b.contains(needle)))
        .await
        .unwrap();
    assert!(body.contains(needle), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_of_the_file_read_a_source_s_own_series_and_reload_with_it() {
    let _serial = SERIAL.lock().await;
    let dir = Dir::new("rules");
    let sources = "[[custom_metrics.sources]]\nname = \"api_health\"\ntype = \"exec\"\ncommand = [\"/bin/echo\", \"response_time 0.25\"]\ninterval = \"1s\"\nlabels = { probe = \"api\" }\n\n\
                   [[custom_metrics.sources]]\nname = \"other\"\ntype = \"exec\"\ncommand = [\"/bin/echo\", \"response_time 9\"]\ninterval = \"1s\"\nlabels = { probe = \"other\" }\n\n";
    let rule = |kind: &str| {
        format!("[[custom_metrics.aggregators]]\nname = \"api_response_time_{kind}\"\ntype = \"{kind}\"\nsource = \"api_health.response_time\"\nwindow = \"2s\"\n")
    };
    dir.write(&config("port = 0", &format!("{sources}{}", rule("mean"))));
    let live = Live::start(dir.file(), options()).await.unwrap();
    let found = |family: &'static str| {
        telltale::Snapshot::collect()
            .family(family)
            .map(|f| {
                f.series
                    .iter()
                    .map(|s| {
                        (
                            s.label("probe").unwrap_or("").to_owned(),
                            format!("{:?}", s.value),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while found("api_response_time_mean").is_empty() {
        assert!(
            Instant::now() < deadline,
            "no rule output: {:?}",
            found("response_time")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Only the source's own series: not `other`'s, in the same family.
    assert_eq!(
        found("api_response_time_mean"),
        [("api".to_owned(), "Gauge(0.25)".to_owned())]
    );
    assert_eq!(found("response_time").len(), 2);

    // A reload replaces the rules: the old output goes, the new one comes.
    dir.write(&config("port = 0", &format!("{sources}{}", rule("max"))));
    let changes = live.reload().await.unwrap();
    assert_eq!(changes, ["custom_metrics.aggregators: 1 rules"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    while found("api_response_time_max").is_empty() || !found("api_response_time_mean").is_empty() {
        assert!(Instant::now() < deadline, "rules not replaced");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        found("api_response_time_max"),
        [("api".to_owned(), "Gauge(0.25)".to_owned())]
    );

    // The same rule name again (its window changed): the running rule's
    // output is no name taken.
    let three = rule("max").replace("\"2s\"", "\"3s\"");
    dir.write(&config("port = 0", &format!("{sources}{three}")));
    assert_eq!(
        live.reload().await.unwrap(),
        ["custom_metrics.aggregators: 1 rules"]
    );
    // A new system (its windows changed): the rules start again on it.
    let text = config("port = 0", &format!("{sources}{three}")).replace(
        "[system]\n",
        "[system]\nwindow = { fine_retention = \"6m\" }\n",
    );
    dir.write(&text);
    assert_eq!(
        live.reload().await.unwrap(),
        ["system: restarted (system.window changed)"]
    );
    let restarted = live.system().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while restarted.windows().fine_len() < 5 || found("api_response_time_max").is_empty() {
        assert!(
            Instant::now() < deadline,
            "rules not running on the new system"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    live.stop().await;
    assert!(
        found("api_response_time_max").is_empty(),
        "stopped rules export nothing"
    );
}
