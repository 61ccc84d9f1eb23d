//! The metrics server under `wrk` while two threads record: every response
//! is a `2xx`, no socket errors, and memory stays flat.
//!
//! Ignored unless `wrk` is installed (`.ci/run` installs it). Run it with
//! `--nocapture` to see the figures: requests per second and latency
//! percentiles as wrk measured them, and the process's resident set size
//! after the warm-up and at the end.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use telltale::{Counter, Family, Histogram, LabelSet, LabelValue};
use telltale_tests::{describe_output, find_program};

/// How much the resident set may grow between the end of the warm-up and
/// the end of the measured run.
const RSS_GROWTH_LIMIT_KIB: i64 = 16 * 1024;

#[derive(Debug, Clone, Copy, LabelValue)]
enum Shape {
    Circle,
    Square,
    Triangle,
}

#[derive(Debug, Clone, Copy, LabelValue)]
enum Colour {
    Red,
    Green,
}

#[derive(Debug, Clone, Copy, LabelSet)]
struct Drawn {
    shape: Shape,
    colour: Colour,
}

static DRAWN: Family<Drawn, Counter> = Family::new(
    "server_load_drawn_total",
    "Shapes drawn, by shape and colour.",
);
static SIZES: Histogram = Histogram::new("server_load_size_ratio", "Sizes drawn.");

#[telltale::timed]
fn draw(i: u64) -> u64 {
    std::hint::black_box(i.wrapping_mul(2_654_435_761) >> 7)
}

/// `VmRSS` of this process, in KiB.
fn rss_kib() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line")
}

/// What one wrk run reported.
#[derive(Debug)]
struct WrkReport {
    requests: u64,
    requests_per_second: f64,
    p50: String,
    p99: String,
    non_2xx: u64,
    socket_errors: String,
    raw: String,
}

fn wrk_binary() -> PathBuf {
    find_program("wrk", "TELLTALE_WRK").unwrap_or_else(|| {
        panic!("`wrk` not found (set TELLTALE_WRK); install it with: apt-get install wrk")
    })
}

fn run_wrk(url: &str, seconds: u32, extra: &[&str]) -> WrkReport {
    let output = Command::new(wrk_binary())
        .args(["-t2", "-c16", &format!("-d{seconds}s"), "--latency"])
        .args(extra)
        .arg(url)
        .output()
        .expect("run wrk");
    assert!(
        output.status.success(),
        "{}",
        describe_output("wrk", &output)
    );
    let raw = String::from_utf8_lossy(&output.stdout).into_owned();
    let find = |prefix: &str| {
        raw.lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(prefix))
            .map(str::trim)
    };
    let requests = raw
        .lines()
        .find(|line| line.contains(" requests in "))
        .and_then(|line| line.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no request count in:\n{raw}"));
    let requests_per_second = find("Requests/sec:")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in:\n{raw}"));
    let percentile =
        |p: &str| find(p).map_or_else(|| panic!("no {p} latency in:\n{raw}"), str::to_owned);
    WrkReport {
        requests,
        requests_per_second,
        p50: percentile("50%"),
        p99: percentile("99%"),
        // wrk prints these lines only when they are not zero.
        non_2xx: find("Non-2xx or 3xx responses:").map_or(0, |n| n.parse().unwrap_or(u64::MAX)),
        socket_errors: find("Socket errors:").unwrap_or("").to_owned(),
        raw,
    }
}

fn check(report: &WrkReport, what: &str) {
    assert!(report.requests > 0, "{what}: no requests\n{}", report.raw);
    assert_eq!(
        report.non_2xx, 0,
        "{what}: non-2xx responses\n{}",
        report.raw
    );
    assert_eq!(
        report.socket_errors, "",
        "{what}: socket errors\n{}",
        report.raw
    );
    eprintln!(
        "{what}: {} requests, {:.0} req/s, p50 {}, p99 {}",
        report.requests, report.requests_per_second, report.p50, report.p99
    );
}

#[test]
#[ignore = "needs wrk"]
fn wrk_scrapes_while_threads_record_without_errors_or_growth() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let server = runtime
        .block_on(telltale::server::start(telltale::server::ServerConfig {
            port: 0,
            ..Default::default()
        }))
        .expect("server starts");
    let url = server.url().expect("enabled");

    let stop = Arc::new(AtomicBool::new(false));
    let recorders: Vec<_> = (0..2_u64)
        .map(|t| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let shapes = [Shape::Circle, Shape::Square, Shape::Triangle];
                let colours = [Colour::Red, Colour::Green];
                let mut i = t;
                let mut calls = 0_u64;
                while !stop.load(Ordering::Relaxed) {
                    draw(i);
                    DRAWN
                        .labels(Drawn {
                            shape: shapes[(i % 3) as usize],
                            colour: colours[(i % 2) as usize],
                        })
                        .inc();
                    SIZES.observe((i % 1000) as f64 / 1000.0);
                    i += 2;
                    calls += 1;
                    if calls.is_multiple_of(1024) {
                        // Leave the cores to the server and wrk now and then.
                        std::thread::yield_now();
                    }
                }
                calls
            })
        })
        .collect();

    let warm_up = run_wrk(&url, 3, &[]);
    check(&warm_up, "warm-up");
    let rss_before = rss_kib();
    let plain = run_wrk(&url, 20, &[]);
    check(&plain, "identity, 20 s");
    let gzip = run_wrk(&url, 10, &["-H", "Accept-Encoding: gzip"]);
    check(&gzip, "gzip, 10 s");
    let rss_after = rss_kib();

    stop.store(true, Ordering::Relaxed);
    let calls: u64 = recorders
        .into_iter()
        .map(|r| r.join().expect("recorder thread"))
        .sum();
    eprintln!(
        "recorded {calls} calls; VmRSS {rss_before} KiB after the warm-up, {rss_after} KiB at the end"
    );
    assert!(calls > 0);
    assert!(
        rss_after - rss_before < RSS_GROWTH_LIMIT_KIB,
        "VmRSS grew from {rss_before} KiB to {rss_after} KiB"
    );

    // The exposition still reads right after the run.
    let text = telltale::render(telltale::Format::Prometheus);
    assert!(text.contains("server_load_drawn_total{shape=\"triangle\",colour=\"green\"}"));
    assert!(text.contains("telltale_server_scrapes_total{format=\"prometheus\",encoding=\"gzip\"}"));
    runtime.block_on(server.stop());
}
