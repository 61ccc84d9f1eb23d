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

use telltale::{Counter, Histogram};
use telltale_tests::prometheus::{self, query, scalar};
use telltale_tests::{wait_until, PEER_WAIT};

static JOBS: Counter = Counter::new("peers_server_jobs_total", "Jobs the test ran.");
static LATENCY: Histogram = Histogram::new(
    "peers_server_latency_seconds",
    "Latencies the test observed.",
);

/// The two scrape jobs.
const NEGOTIATED: &str = "negotiated";
const TEXT_004: &str = "text_004";

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
        .block_on(telltale::server::start(telltale::server::ServerConfig {
            port: 0,
            ..Default::default()
        }))
        .expect("start telltale's server on a free port");
    let target = server.local_addr().expect("enabled");

    let job = |name: &str, params: &str| {
        format!(
            "  - job_name: {name}\n    metrics_path: /metrics\n{params}    \
             static_configs:\n      - targets: ['{target}']\n"
        )
    };
    let prometheus = prometheus::start(
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{}{}",
            job(NEGOTIATED, ""),
            job(TEXT_004, "    params:\n      format: [prometheus]\n"),
        ),
        &[],
    );

    // Both targets up, without an error.
    let targets = prometheus::wait_for_targets_up(&prometheus, 2);
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
                scalar(&prometheus, &expression)
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
            match scalar(&prometheus, &expression)? {
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
