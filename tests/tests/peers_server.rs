//! A real Prometheus 2.42 scrapes telltale's server twice over: one job
//! negotiates (and so reads OpenMetrics), the other asks for the 0.0.4 text
//! with `params: { format: [prometheus] }`. Both scrape with gzip, which
//! Prometheus always asks for. The values recorded here must come back,
//! exactly, from `/api/v1/query`; the server's own scrape counter shows
//! which format and encoding each job received.
//!
//! Ignored unless Prometheus is installed (`.ci/run` installs it); started on
//! a free loopback port and killed by its pid.

use std::time::Duration;

use serde_json::Value as Json;
use telltale::{Counter, Histogram};
use telltale_tests::{free_port, http, prometheus_binary, wait_until, Peer, TempDir};

static JOBS: Counter = Counter::new("peers_server_jobs_total", "Jobs the test ran.");
static LATENCY: Histogram = Histogram::new(
    "peers_server_latency_seconds",
    "Latencies the test observed.",
);

/// The longest the test waits for Prometheus to see what it expects.
const PEER_WAIT: Duration = Duration::from_mins(1);

/// The two scrape jobs.
const NEGOTIATED: &str = "negotiated";
const TEXT_004: &str = "text_004";

fn query(prometheus: &Peer, expression: &str) -> Result<Vec<Json>, String> {
    let response = prometheus.get(&format!(
        "/api/v1/query?query={}",
        http::encode_query(expression)
    ))?;
    let body: Json = serde_json::from_slice(&response.body).map_err(|e| e.to_string())?;
    if response.status != 200 || body["status"] != "success" {
        return Err(format!("{expression}: {} {body}", response.status));
    }
    body["data"]["result"]
        .as_array()
        .cloned()
        .ok_or_else(|| format!("{expression}: no result in {body}"))
}

/// The single value `expression` has now; an error if it has none or many.
fn value(prometheus: &Peer, expression: &str) -> Result<f64, String> {
    match query(prometheus, expression)?.as_slice() {
        [one] => one["value"][1]
            .as_str()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{expression}: bad sample {one}")),
        other => Err(format!("{expression}: {} series: {other:?}", other.len())),
    }
}

#[test]
#[ignore = "needs prometheus"]
fn prometheus_scrapes_both_formats_with_gzip_and_reads_exact_values() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    JOBS.inc_by(37);
    for seconds in [0.25, 0.25, 0.25, 1.5] {
        LATENCY.observe(seconds);
    }
    let server = runtime
        .block_on(telltale::server::start(telltale::server::Config {
            port: 0,
            ..Default::default()
        }))
        .expect("start telltale's server on a free port");
    let target = server.local_addr().expect("enabled");

    let dir = TempDir::new("prometheus-server").expect("temporary directory");
    let job = |name: &str, params: &str| {
        format!(
            "  - job_name: {name}\n    metrics_path: /metrics\n{params}    \
             static_configs:\n      - targets: ['{target}']\n"
        )
    };
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{}{}",
            job(NEGOTIATED, ""),
            job(TEXT_004, "    params:\n      format: [prometheus]\n"),
        ),
    )
    .expect("write prometheus.yml");
    let port = free_port();
    let prometheus = Peer::start_in(
        dir,
        "prometheus",
        &prometheus_binary(),
        &[
            "--config.file={dir}/prometheus.yml".to_owned(),
            "--storage.tsdb.path={dir}/data".to_owned(),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ],
        port,
        "/-/ready",
    )
    .unwrap_or_else(|e| panic!("{e}"));

    // Both targets up, without an error.
    let targets = wait_until(PEER_WAIT, Duration::from_millis(250), || {
        let response = prometheus.get("/api/v1/targets")?;
        let body: Json = serde_json::from_slice(&response.body).map_err(|e| e.to_string())?;
        let active = body["data"]["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let up = active
            .iter()
            .filter(|t| t["health"] == "up" && t["lastError"] == "")
            .count();
        if active.len() == 2 && up == 2 {
            Ok(active)
        } else {
            Err(format!("targets: {body}"))
        }
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", prometheus.log()));
    let mut jobs: Vec<&str> = targets
        .iter()
        .filter_map(|t| t["labels"]["job"].as_str())
        .collect();
    jobs.sort_unstable();
    assert_eq!(jobs, [NEGOTIATED, TEXT_004]);
    let scrape_urls: Vec<&str> = targets
        .iter()
        .filter_map(|t| t["scrapeUrl"].as_str())
        .collect();
    assert!(
        scrape_urls
            .iter()
            .any(|u| u.ends_with("/metrics?format=prometheus")),
        "{scrape_urls:?}"
    );

    // The exact values, through each job.
    for job in [NEGOTIATED, TEXT_004] {
        let checks = [
            (format!("peers_server_jobs_total{{job=\"{job}\"}}"), 37.0),
            (
                format!("peers_server_latency_seconds_count{{job=\"{job}\"}}"),
                4.0,
            ),
            (
                format!("peers_server_latency_seconds_sum{{job=\"{job}\"}}"),
                2.25,
            ),
            (
                format!("peers_server_latency_seconds_bucket{{job=\"{job}\",le=\"0.25\"}}"),
                3.0,
            ),
            (
                format!("peers_server_latency_seconds_bucket{{job=\"{job}\",le=\"1.0\"}}"),
                3.0,
            ),
            (
                format!("peers_server_latency_seconds_bucket{{job=\"{job}\",le=\"2.5\"}}"),
                4.0,
            ),
            (
                format!("peers_server_latency_seconds_bucket{{job=\"{job}\",le=\"+Inf\"}}"),
                4.0,
            ),
        ];
        for (expression, want) in checks {
            let got = wait_until(PEER_WAIT, Duration::from_millis(250), || {
                value(&prometheus, &expression)
            })
            .unwrap_or_else(|e| panic!("{e}\n{}", prometheus.log()));
            assert!(
                (got - want).abs() < f64::EPSILON,
                "{expression}: Prometheus has {got}, the test recorded {want}"
            );
        }
    }

    // Which format and encoding the server sent: each job's scrapes counted
    // under its format, gzip-compressed; nothing was sent uncompressed.
    for format in ["openmetrics", "prometheus"] {
        let expression = format!(
            "telltale_server_scrapes_total{{job=\"{NEGOTIATED}\",format=\"{format}\",encoding=\"gzip\"}}"
        );
        let scrapes = wait_until(PEER_WAIT, Duration::from_millis(250), || {
            match value(&prometheus, &expression)? {
                n if n >= 2.0 => Ok(n),
                n => Err(format!("{expression} = {n}")),
            }
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", prometheus.log()));
        assert!(scrapes >= 2.0);
    }
    let identity = query(
        &prometheus,
        "telltale_server_scrapes_total{encoding=\"identity\"}",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        identity.iter().all(|s| s["value"][1].as_str() == Some("0")),
        "uncompressed scrapes: {identity:?}"
    );
    assert!(query(
        &prometheus,
        "telltale_server_scrapes_total{format=~\"json|csv\"}"
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .is_empty());

    drop(prometheus);
    runtime.block_on(server.stop());
}
