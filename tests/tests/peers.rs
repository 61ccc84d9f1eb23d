//! The demo service's metrics checked by real peers: promtool, Python's
//! `prometheus_client`, a Pushgateway and a Prometheus server.
//!
//! Each test is ignored unless its peer is installed; `.ci/run` installs the
//! peers and runs them with `--include-ignored`. Each peer is started on a
//! free loopback port, waited for (at most a minute) and killed by its pid.
//!
//! The tests share the process-wide metrics of the demo, so they run one at
//! a time (see [`serial`]); each compares what its peer read with
//! `telltale::Snapshot::collect()` taken at the same moment and with the
//! calls the driver counted itself.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use serde_json::Value as Json;
use telltale::{Format, Snapshot};
use telltale_examples::{demo::names, tally, MODULE};
use telltale_tests::demo::{
    calls_in_snapshot, calls_in_tally, diff, durations_in_snapshot, durations_in_tally, CallKey,
};
use telltale_tests::prometheus::{self, sample_value, scalar};
use telltale_tests::{
    describe_output, http, peer_scripts_dir, promtool_binary, python_binary, run_with_stdin,
    start_pushgateway, text, wait_until, PEER_WAIT,
};

/// Iterations of the demo loop each test adds before it looks.
const ITERATIONS: u64 = 120;

/// Serializes the tests of this file: they all drive the same demo.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// Runs `iterations` of the demo loop to completion.
fn drive(iterations: u64) {
    telltale_examples::quiet_demo_panics();
    runtime().block_on(telltale_examples::drive(Some(iterations)));
}

/// The demo's calls in `snapshot`, checked against the driver's own count.
fn checked_calls(snapshot: &Snapshot) -> BTreeMap<CallKey, f64> {
    let in_snapshot = calls_in_snapshot(snapshot);
    let in_tally = calls_in_tally(&tally());
    assert!(
        in_snapshot == in_tally,
        "Snapshot::collect() disagrees with the calls the demo made:\n{}",
        diff("snapshot", &in_snapshot, "driver", &in_tally)
    );
    assert!(!in_snapshot.is_empty(), "the demo made no calls");
    in_snapshot
}

fn assert_mentions_demo(exposition: &str) {
    assert!(
        exposition.contains("function_calls_total{") && exposition.contains(MODULE),
        "the exposition has no demo series:\n{exposition}"
    );
}

// ---------------------------------------------------------------- promtool

#[test]
#[ignore = "needs promtool"]
fn promtool_lints_prometheus_text_clean() {
    let _serial = serial();
    drive(ITERATIONS);
    let exposition = telltale::render(Format::Prometheus);
    assert_mentions_demo(&exposition);
    let output = run_with_stdin(
        &promtool_binary(),
        &[OsStr::new("check"), OsStr::new("metrics")],
        exposition.as_bytes(),
        PEER_WAIT,
    );
    assert!(
        output.status.success(),
        "{}\n--- exposition ---\n{exposition}",
        describe_output("promtool check metrics (text 0.0.4)", &output)
    );
}

/// promtool 2.42 reads only text format 0.0.4: given OpenMetrics, it takes
/// `# UNIT` and `# EOF` for comments and each counter's `_total` and every
/// `_created` sample for families of their own, without HELP. It still
/// parses the whole text and lints everything else, so the test accepts
/// exactly those findings and nothing more.
#[test]
#[ignore = "needs promtool"]
fn promtool_lints_openmetrics_text_except_format_differences() {
    let _serial = serial();
    drive(ITERATIONS);
    let exposition = telltale::render(Format::OpenMetrics);
    assert_mentions_demo(&exposition);
    let output = run_with_stdin(
        &promtool_binary(),
        &[OsStr::new("check"), OsStr::new("metrics")],
        exposition.as_bytes(),
        PEER_WAIT,
    );
    let report = describe_output("promtool check metrics (OpenMetrics)", &output);
    // 0: clean; 3: lint findings. Anything else (1: parse error) fails.
    assert!(
        matches!(output.status.code(), Some(0 | 3)),
        "{report}\n--- exposition ---\n{exposition}"
    );

    let mut families: BTreeMap<&str, &str> = BTreeMap::new();
    for line in exposition.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            if let Some((name, kind)) = rest.split_once(' ') {
                families.insert(name, kind);
            }
        }
    }
    let explained = |sample: &str| {
        let total = sample
            .strip_suffix("_total")
            .is_some_and(|f| families.get(f) == Some(&"counter"));
        let created = sample.strip_suffix("_created").is_some_and(|f| {
            matches!(
                families.get(f),
                Some(&("counter" | "histogram" | "summary"))
            )
        });
        total || created
    };
    let findings = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let unexplained: Vec<&str> = findings
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter(|line| {
            line.strip_suffix(" no help text")
                .is_none_or(|sample| !explained(sample))
        })
        .collect();
    assert!(
        unexplained.is_empty(),
        "promtool found problems other than the format differences: {unexplained:#?}\n{report}"
    );
}

// ------------------------------------------------------ prometheus_client

#[test]
#[ignore = "needs python3 with prometheus_client"]
fn prometheus_client_parses_openmetrics_and_agrees_with_snapshot() {
    let _serial = serial();
    drive(ITERATIONS);
    let exposition = telltale::render(Format::OpenMetrics);
    let snapshot = Snapshot::collect();
    assert_mentions_demo(&exposition);
    let calls = checked_calls(&snapshot);

    let script = peer_scripts_dir().join("openmetrics_exact.py");
    let output = run_with_stdin(
        &python_binary(),
        &[script.as_os_str()],
        exposition.as_bytes(),
        PEER_WAIT,
    );
    assert!(
        output.status.success(),
        "{}\n--- exposition ---\n{exposition}",
        describe_output("openmetrics_exact.py", &output)
    );
    let parsed: Json = serde_json::from_slice(&output.stdout).expect("the script prints JSON");
    let families = parsed["families"].as_array().expect("families");
    let family = |name: &str| {
        families
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("prometheus_client found no family `{name}`"))
    };
    let samples = |family: &Json, sample_name: &str| -> Vec<(BTreeMap<String, String>, f64)> {
        family["samples"]
            .as_array()
            .expect("samples")
            .iter()
            .filter(|s| s["name"] == sample_name)
            .map(|s| {
                let labels = s["labels"]
                    .as_array()
                    .expect("labels")
                    .iter()
                    .map(|pair| {
                        let part = |i: usize| pair[i].as_str().expect("label").to_owned();
                        (part(0), part(1))
                    })
                    .collect();
                let value = s["value"].as_str().expect("value").parse().expect("float");
                (labels, value)
            })
            .collect()
    };
    let label = |labels: &BTreeMap<String, String>, name: &str| {
        labels.get(name).cloned().unwrap_or_default()
    };

    // Calls by outcome, as prometheus_client read them.
    let calls_family = family("function_calls");
    assert_eq!(calls_family["type"], "counter");
    let parsed_calls: BTreeMap<CallKey, f64> = samples(calls_family, "function_calls_total")
        .into_iter()
        .filter(|(labels, value)| label(labels, "module") == MODULE && *value != 0.0)
        .map(|(labels, value)| {
            (
                (
                    label(&labels, "function"),
                    label(&labels, "result"),
                    label(&labels, "error"),
                ),
                value,
            )
        })
        .collect();
    assert!(
        parsed_calls == calls,
        "prometheus_client read other call counts than Snapshot::collect():\n{}",
        diff("parsed", &parsed_calls, "snapshot", &calls)
    );

    // Latency histograms: one `_count` per function, equal to the snapshot's.
    let duration_family = family("function_calls_duration_seconds");
    assert_eq!(duration_family["type"], "histogram");
    let parsed_counts: BTreeMap<String, u64> =
        samples(duration_family, "function_calls_duration_seconds_count")
            .into_iter()
            .filter(|(labels, value)| label(labels, "module") == MODULE && *value != 0.0)
            .map(|(labels, value)| (label(&labels, "function"), value as u64))
            .collect();
    let snapshot_counts = durations_in_snapshot(&snapshot);
    assert!(
        parsed_counts == snapshot_counts,
        "prometheus_client read other histogram counts than Snapshot::collect():\n{}",
        diff("parsed", &parsed_counts, "snapshot", &snapshot_counts)
    );
    let driver_counts = durations_in_tally(&tally());
    assert!(
        snapshot_counts == driver_counts,
        "histogram counts disagree with the calls the demo made:\n{}",
        diff("snapshot", &snapshot_counts, "driver", &driver_counts)
    );
    // Every timed function is there, sync and async.
    for function in [names::CHECKSUM, names::RENDER_PAGE] {
        assert!(
            parsed_counts.contains_key(function),
            "no histogram for {function}"
        );
    }
    // The +Inf bucket equals the count, for every series.
    let infs = samples(duration_family, "function_calls_duration_seconds_bucket");
    for (labels, count) in samples(duration_family, "function_calls_duration_seconds_count") {
        let inf = infs
            .iter()
            .find(|(l, _)| {
                l.get("le").map(String::as_str) == Some("+Inf")
                    && l.iter().filter(|(k, _)| *k != "le").eq(labels.iter())
            })
            .unwrap_or_else(|| panic!("no +Inf bucket for {labels:?}"));
        assert!(
            (inf.1 - count).abs() < f64::EPSILON,
            "+Inf bucket != count for {labels:?}"
        );
    }

    assert!(
        families.iter().any(|f| f["name"] == "build_info"),
        "no build_info family"
    );
}

// ------------------------------------------------------------- Pushgateway

#[test]
#[ignore = "needs prometheus-pushgateway"]
fn pushgateway_accepts_prometheus_text() {
    let _serial = serial();
    drive(ITERATIONS);
    let exposition = telltale::render(Format::Prometheus);
    let snapshot = Snapshot::collect();
    let calls = checked_calls(&snapshot);

    let gateway = start_pushgateway();

    // The gateway is strict: it refuses a duplicated series. (Shows the 200
    // below means something.)
    let duplicated = "# TYPE dup counter\ndup_total 1\ndup_total 2\n";
    let refused = http::put(
        gateway.addr(),
        "/metrics/job/telltale_dup",
        &[("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
        duplicated.as_bytes(),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", gateway.log()));
    assert_eq!(refused.status, 400, "a duplicated series was accepted");

    let pushed = http::put(
        gateway.addr(),
        "/metrics/job/telltale_test",
        &[("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
        exposition.as_bytes(),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", gateway.log()));
    assert!(
        pushed.status == 200,
        "the Pushgateway refused the exposition: {} {}\n{}\n--- exposition ---\n{exposition}",
        pushed.status,
        pushed.text(),
        gateway.log()
    );

    let scraped = gateway.get("/metrics").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scraped.status, 200);
    let samples = text::samples(&scraped.text()).unwrap_or_else(|e| panic!("{e}"));
    let ours = |s: &&text::Sample| s.label("job") == "telltale_test" && s.label("module") == MODULE;
    let gateway_calls: BTreeMap<CallKey, f64> = samples
        .iter()
        .filter(|s| s.name == "function_calls_total" && s.value != 0.0)
        .filter(ours)
        .map(|s| {
            (
                (
                    s.label("function").to_owned(),
                    s.label("result").to_owned(),
                    s.label("error").to_owned(),
                ),
                s.value,
            )
        })
        .collect();
    assert!(
        gateway_calls == calls,
        "the Pushgateway exposes other call counts than were pushed:\n{}",
        diff("pushgateway", &gateway_calls, "snapshot", &calls)
    );
    let histogram_counts = samples
        .iter()
        .filter(|s| s.name == "function_calls_duration_seconds_count")
        .filter(ours)
        .count();
    assert!(
        histogram_counts > 0,
        "no duration histograms on the gateway"
    );
    assert!(
        samples
            .iter()
            .any(|s| s.name == "push_time_seconds" && s.label("job") == "telltale_test"),
        "no push_time_seconds for the push"
    );
    assert!(
        !samples.iter().any(|s| s.name == "push_failure_time_seconds"
            && s.label("job") == "telltale_test"
            && s.value != 0.0),
        "the gateway recorded a failed push"
    );
}

// -------------------------------------------------------------- Prometheus

/// The `Accept` header of Prometheus 2.42's scrapes.
const PROMETHEUS_2_42_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,\
     application/openmetrics-text;version=0.0.1;q=0.75,\
     text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

#[test]
#[ignore = "needs prometheus"]
fn prometheus_scrapes_the_demo_and_counts_every_call() {
    let _serial = serial();
    telltale_examples::quiet_demo_panics();
    let rt = runtime();
    let config = telltale::server::ServerConfig {
        port: 0,
        ..Default::default()
    };
    let server = rt
        .block_on(telltale::server::start(config))
        .expect("start telltale's server on a free port");
    let target = server.local_addr().expect("the server is enabled");
    drive(ITERATIONS);

    // What Prometheus 2.42 asks for, and so reads: OpenMetrics.
    let negotiated = http::request(
        target,
        "GET",
        "/metrics",
        &[("Accept", PROMETHEUS_2_42_ACCEPT)],
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(negotiated.status, 200);
    assert!(
        negotiated
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{:?}",
        negotiated.headers
    );

    let prometheus = prometheus::start(
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: telltale_demo\n    metrics_path: /metrics\n    \
             static_configs:\n      - targets: ['{target}']\n"
        ),
        &[],
    );

    // The first scrape.
    prometheus::wait_for_targets_up(&prometheus, 1);

    // More calls while Prometheus scrapes, then stop and let it catch up.
    drive(ITERATIONS);
    let expected = checked_calls(&Snapshot::collect());
    let selector = format!("function_calls_total{{job=\"telltale_demo\",module=\"{MODULE}\"}}");
    let scraped = wait_until(PEER_WAIT, Duration::from_millis(500), || {
        let mut seen = BTreeMap::new();
        for s in prometheus::query(&prometheus, &selector)? {
            let label = |n: &str| s["metric"][n].as_str().unwrap_or_default().to_owned();
            let value = sample_value(&s)?;
            if value != 0.0 {
                seen.insert((label("function"), label("result"), label("error")), value);
            }
        }
        if seen == expected {
            Ok(seen)
        } else {
            Err(format!(
                "Prometheus has other counts than the demo made:\n{}",
                diff("prometheus", &seen, "demo", &expected)
            ))
        }
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", prometheus.log()));
    assert!(scraped.len() >= 8, "too few series: {scraped:#?}");

    // A few queries by function and outcome, as a dashboard would ask.
    let t = tally();
    let checks = [
        (names::FETCH_PAGE, "ok", "", "result=\"ok\""),
        (
            names::FETCH_PAGE,
            "error",
            "timeout",
            "result=\"error\",error=\"timeout\"",
        ),
        (
            names::FETCH_PAGE,
            "error",
            "not_found",
            "result=\"error\",error=\"not_found\"",
        ),
        (
            names::FETCH_PAGE,
            "error",
            "io",
            "result=\"error\",error=\"io\"",
        ),
        (
            names::PARSE_QUANTITY,
            "error",
            "ParseIntError",
            "result=\"error\",error=\"ParseIntError\"",
        ),
        (
            names::FLAKY_STEP,
            "error",
            "panic",
            "result=\"error\",error=\"panic\"",
        ),
        (names::RESOLVE, "cancelled", "", "result=\"cancelled\""),
        (
            names::RESERVE,
            "error",
            "out_of_stock",
            "result=\"error\",error=\"out_of_stock\"",
        ),
    ];
    for (function, result, error, matchers) in checks {
        let want = t.calls(function, result, error) as f64;
        assert!(
            want > 0.0,
            "the demo never made {function} {result} {error}"
        );
        let query = format!("function_calls_total{{function=\"{function}\",{matchers}}}");
        let got = scalar(&prometheus, &query).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            (got - want).abs() < 0.5,
            "{query}: Prometheus {got}, demo {want}"
        );
    }
    let errors = scalar(
        &prometheus,
        &format!(
            "sum(function_calls_total{{function=\"{}\",result=\"error\"}})",
            names::FETCH_PAGE
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let want_errors: u64 = ["timeout", "not_found", "rate_limited", "io"]
        .iter()
        .map(|e| t.calls(names::FETCH_PAGE, "error", e))
        .sum();
    assert!(
        (errors - want_errors as f64).abs() < 0.5,
        "fetch_page errors: {errors} vs {want_errors}"
    );
    for function in [names::CHECKSUM, names::RENDER_PAGE, names::FETCH_PAGE] {
        let query = format!("function_calls_duration_seconds_count{{function=\"{function}\"}}");
        let got = scalar(&prometheus, &query).unwrap_or_else(|e| panic!("{e}"));
        let want = t.total(function) as f64;
        assert!(
            (got - want).abs() < 0.5,
            "{query}: Prometheus {got}, demo {want}"
        );
    }
    let build_info = prometheus::query(&prometheus, "build_info").unwrap_or_else(|e| panic!("{e}"));
    assert!(!build_info.is_empty(), "no build_info");

    // The target is healthy and its last scrape had no error.
    let targets = prometheus::targets(&prometheus).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(targets.as_slice(), [one] if one["health"] == "up" && one["lastError"] == ""),
        "{targets:?}"
    );
    let up = scalar(&prometheus, "up{job=\"telltale_demo\"}").unwrap_or_else(|e| panic!("{e}"));
    assert!((up - 1.0).abs() < f64::EPSILON, "up = {up}");

    drop(prometheus);
    rt.block_on(server.stop());
}
