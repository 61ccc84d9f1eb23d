//! The Redis backend against a real `redis-server` (Debian's package),
//! started on a free loopback port in a temporary directory and stopped by
//! its pid. Workers are copies of this test binary (the `worker` test, a
//! no-op unless `TT_WORKER` names a job) choosing the backend from
//! `TELLTALE_BACKEND` / `TELLTALE_BACKEND_CONFIG`.

#![allow(clippy::float_cmp)] // counts are whole numbers, exact in f64

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use telltale::backend::{self, RedisOptions};
use telltale::snapshot::{Snapshot, Value};
use telltale::{Counter, Gauge, Histogram};
use telltale_tests::workers::{self, line_after, value};
use telltale_tests::{find_program, free_port, TempDir};

static JOBS: Counter = Counter::new("jobs_total", "Jobs done.");
static SIZES: Histogram = Histogram::new("job_size", "Job sizes.").with_buckets(&[1.0, 10.0]);
static EACH: Gauge = Gauge::new("each_worker", "Per worker.");

#[telltale::timed]
fn timed_step() {}

/// Runs the job `TT_WORKER` names; a no-op in the normal test run.
#[test]
fn worker() {
    let Ok(job) = std::env::var("TT_WORKER") else {
        return;
    };
    let n: u64 = std::env::var("TT_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut stdin = BufReader::new(std::io::stdin());
    let mut wait = |word: &str| {
        let mut line = String::new();
        stdin.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), word);
    };
    match job.as_str() {
        "count" => {
            for i in 0..n {
                JOBS.inc();
                SIZES.observe(if i.is_multiple_of(2) { 0.5 } else { 5.0 });
            }
            for _ in 0..1000 {
                timed_step();
            }
            EACH.set(7.0);
        }
        "progress" => {
            let mut done = 0u64;
            loop {
                for _ in 0..10_000 {
                    JOBS.inc();
                }
                done += 10_000;
                backend::flush().unwrap();
                println!("flushed {done}");
            }
        }
        "outage" => {
            JOBS.inc_by(1000);
            backend::flush().unwrap();
            println!("flushed");
            wait("down");
            JOBS.inc_by(1000);
            let e = backend::flush().unwrap_err();
            let s = backend::status();
            println!("down {} {} {e}", s.up, s.flush_errors);
            let text = telltale::render(telltale::Format::Prometheus);
            assert!(
                text.contains("telltale_backend_up{backend=\"redis\"} 0\n"),
                "{text}"
            );
            // The scrape still works, from the last read and this process.
            assert!(text.contains("jobs_total 2000\n"), "{text}");
            wait("up");
            let deadline = Instant::now() + Duration::from_secs(20);
            while backend::flush().is_err() {
                assert!(Instant::now() < deadline, "Redis did not come back");
                std::thread::sleep(Duration::from_millis(100));
            }
            println!("recovered {}", backend::status().up);
        }
        "refused" => {
            JOBS.inc();
            for _ in 0..3 {
                let _ = backend::flush();
            }
            let s = backend::status();
            println!(
                "dropped {} {}",
                s.dropped,
                s.drop_reason.unwrap_or_default()
            );
            let text = telltale::render(telltale::Format::Prometheus);
            println!(
                "exported {}",
                text.lines()
                    .find(|l| l.starts_with("telltale_backend_dropped_total"))
                    .unwrap_or("")
            );
        }
        "render" => {
            JOBS.inc_by(5);
            EACH.set(42.0);
            backend::flush().unwrap();
            println!("BEGIN");
            print!("{}", telltale::render(telltale::Format::Prometheus));
            println!("END");
        }
        other => panic!("unknown job {other}"),
    }
}

/// A `redis-server` on a free loopback port, appending every write to its
/// log before answering, killed by its pid on drop.
struct Redis {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl Redis {
    fn start() -> Redis {
        let dir = TempDir::new("redis").unwrap();
        Redis::start_in(dir, free_port())
    }

    fn start_in(dir: TempDir, port: u16) -> Redis {
        let program = find_program("redis-server", "TELLTALE_REDIS_SERVER")
            .expect("redis-server (apt-get install redis-server)");
        let child = Command::new(program)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let redis = Redis { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while redis.command(&["PING"]).ok().as_deref() != Some("+PONG") {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        redis
    }

    /// Kills the server and starts it again on the same port and directory.
    fn restart(mut self) -> Redis {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let port = self.port;
        let dir = std::mem::replace(&mut self.dir, TempDir::new("redis-spare").unwrap());
        drop(self);
        Redis::start_in(dir, port)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Sends one command and returns the first line of the reply.
    fn command(&self, args: &[&str]) -> std::io::Result<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            let _ = write!(req, "${}\r\n{a}\r\n", a.len());
        }
        s.write_all(req.as_bytes())?;
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf)?;
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        Ok(text.lines().next().unwrap_or("").to_owned())
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn options_file(dir: &Path, url: &str, prefix: &str) -> PathBuf {
    let path = dir.join("backend.json");
    std::fs::write(
        &path,
        format!(r#"{{"url": "{url}", "key_prefix": "{prefix}", "flush_interval": "100ms", "timeout": "1s"}}"#),
    )
    .unwrap();
    path
}

fn spawn(config: &Path, job: &str, vars: &[(&str, String)]) -> Child {
    workers::spawn("redis", config, job, vars)
}

fn number(snapshot: &Snapshot, family: &str) -> f64 {
    workers::number(snapshot, family, &[])
}

fn read(url: &str, prefix: &str) -> Snapshot {
    backend::redis::read(&RedisOptions::new(url).key_prefix(prefix)).unwrap()
}

#[test]
#[ignore = "needs redis-server"]
fn eight_processes_of_a_million_increments_add_up_exactly_in_redis() {
    let redis = Redis::start();
    let config = options_file(redis.dir.path(), &redis.url(), "eight:");
    let n = 1_000_000u64;
    let workers: Vec<Child> = (0..8)
        .map(|_| spawn(&config, "count", &[("TT_N", n.to_string())]))
        .collect();
    for mut w in workers {
        assert!(w.wait().unwrap().success());
    }
    let s = read(&redis.url(), "eight:");
    assert_eq!(number(&s, "jobs"), 8.0 * n as f64);
    let Some(Value::Histogram(h)) = value(&s, "job_size", &[]) else {
        panic!("job_size in {s:#?}")
    };
    assert_eq!((h.count, h.sum), (8 * n, 8.0 * (n as f64 / 2.0) * 5.5));
    assert_eq!(h.buckets, vec![(1.0, 4 * n), (10.0, 8 * n)]);
    assert_eq!(
        h.exponential.count(),
        8 * n,
        "exponential buckets add up too"
    );
    let Some(Value::Histogram(d)) = value(
        &s,
        "function_calls_duration_seconds",
        &[("function", "timed_step")],
    ) else {
        panic!("durations in {s:#?}")
    };
    assert_eq!(d.count, 8000);
    // Gauges: one series per process (mode all), with its pid.
    assert_eq!(s.family("each_worker").unwrap().series.len(), 8);
    // No key expires: idle series do not vanish.
    for key in [
        "eight:c:jobs",
        "eight:h:job_size",
        "eight:meta",
        "eight:procs",
    ] {
        assert_eq!(redis.command(&["TTL", key]).unwrap(), ":-1", "{key}");
    }
}

#[test]
#[ignore = "needs redis-server"]
fn a_process_on_the_redis_backend_exports_every_process_s_values() {
    let redis = Redis::start();
    let config = options_file(redis.dir.path(), &redis.url(), "render:");
    let mut w = spawn(&config, "count", &[("TT_N", "1000".to_string())]);
    assert!(w.wait().unwrap().success());
    let out = spawn(&config, "render", &[]).wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let text = text
        .split("BEGIN\n")
        .nth(1)
        .unwrap()
        .split("END")
        .next()
        .unwrap();
    assert!(text.contains("\njobs_total 1005\n"), "{text}");
    assert!(text.contains("job_size_count 1000\n"), "{text}");
    assert!(
        text.contains("telltale_backend_up{backend=\"redis\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("} 42\n") && text.contains("} 7\n"),
        "both processes' gauges: {text}"
    );
}

#[test]
#[ignore = "needs redis-server"]
fn a_killed_worker_loses_at_most_its_last_flush_interval() {
    let redis = Redis::start();
    let config = options_file(redis.dir.path(), &redis.url(), "kill:");
    let mut child = spawn(&config, "progress", &[]);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut last = 0u64;
    while last < 100_000 {
        last = line_after(&mut out, "flushed ").parse().unwrap();
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // What it reported before it died, read from the pipe after the kill:
    // every count it printed was flushed first.
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut out, &mut rest);
    for line in rest.lines() {
        if let Some(n) = line.trim().strip_prefix("flushed ") {
            last = last.max(n.parse().unwrap());
        }
    }
    let total = number(&read(&redis.url(), "kill:"), "jobs");
    assert!(
        total >= last as f64,
        "{total} < {last} flushed before the kill"
    );
    assert!(total <= (last + 10_000) as f64, "{total} > {last} + 10,000");
}

#[test]
#[ignore = "needs redis-server"]
fn an_outage_and_a_restart_of_redis_lose_nothing_queued() {
    let redis = Redis::start();
    let url = redis.url();
    let config = options_file(redis.dir.path(), &url, "outage:");
    let mut child = spawn(&config, "outage", &[]);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut input = child.stdin.take().unwrap();
    line_after(&mut out, "flushed");
    // Down: the worker records on, its flush fails and says so.
    let port = redis.port;
    let dir = {
        let mut r = redis;
        r.stop();
        std::mem::replace(&mut r.dir, TempDir::new("redis-spare").unwrap())
    };
    writeln!(input, "down").unwrap();
    let down = line_after(&mut out, "down ");
    assert!(down.starts_with("false "), "{down}");
    assert!(down.contains(&url), "the error names the server: {down}");
    // Back, with what it had stored before: the queued changes arrive.
    let redis = Redis::start_in(dir, port);
    writeln!(input, "up").unwrap();
    assert_eq!(line_after(&mut out, "recovered "), "true");
    assert!(child.wait().unwrap().success());
    assert_eq!(number(&read(&url, "outage:"), "jobs"), 2000.0);
    // A second restart: everything applied survives (append-only file).
    let redis = redis.restart();
    assert_eq!(number(&read(&redis.url(), "outage:"), "jobs"), 2000.0);
}

#[test]
#[ignore = "needs redis-server"]
fn a_batch_redis_refuses_is_dropped_counted_and_reported() {
    let redis = Redis::start();
    // Someone else's string where telltale keeps its counters.
    assert_eq!(
        redis.command(&["SET", "refused:c:jobs", "x"]).unwrap(),
        "+OK"
    );
    let config = options_file(redis.dir.path(), &redis.url(), "refused:");
    let out = spawn(&config, "refused", &[]).wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let dropped = text
        .lines()
        .find_map(|l| l.strip_prefix("dropped "))
        .unwrap();
    assert!(
        dropped.starts_with("1 "),
        "only the series of the refused key: {dropped}"
    );
    assert!(
        dropped.contains("not a hash") && dropped.contains("refused:c:jobs"),
        "{dropped}"
    );
    let exported = text
        .lines()
        .find_map(|l| l.strip_prefix("exported "))
        .unwrap();
    assert!(
        exported.starts_with("telltale_backend_dropped_total{backend=\"redis\"} ")
            && !exported.ends_with(" 0"),
        "{exported}"
    );
    // The refused batch wrote nothing: the string is untouched.
    assert_eq!(redis.command(&["GET", "refused:c:jobs"]).unwrap(), "$1");
    // The rest of the batch was applied: the callsite's series are there.
    let s = read(&redis.url(), "refused:");
    assert!(
        s.family("function_calls_duration_seconds").is_some(),
        "{s:#?}"
    );
}

/// No server at all: recording goes on, the flush fails with the URL, the
/// scrape shows the backend down. Needs no Redis, so it runs everywhere.
#[test]
fn an_unreachable_redis_degrades_to_local_values_and_says_so() {
    let dir = TempDir::new("redis-none").unwrap();
    let url = format!("redis://127.0.0.1:{}", free_port());
    let config = options_file(dir.path(), &url, "none:");
    let check = Command::new(std::env::current_exe().unwrap())
        .args(["unreachable_check", "--exact", "--nocapture", "-q"])
        .env("TT_UNREACHABLE", &url)
        .env("TELLTALE_BACKEND", "redis")
        .env("TELLTALE_BACKEND_CONFIG", &config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{text}");
    assert!(text.contains("checked"), "{text}");
}

/// Run by the test above, in a process whose backend is an unreachable Redis.
#[test]
fn unreachable_check() {
    let Ok(url) = std::env::var("TT_UNREACHABLE") else {
        return;
    };
    JOBS.inc_by(3);
    let e = backend::flush().unwrap_err().to_string();
    assert!(e.starts_with("redis backend: ") && e.contains(&url), "{e}");
    let text = telltale::render(telltale::Format::Prometheus);
    assert!(text.contains("\njobs_total 3\n"), "{text}");
    assert!(
        text.contains("telltale_backend_up{backend=\"redis\"} 0\n"),
        "{text}"
    );
    assert!(!backend::status().up);
    println!("checked");
}
