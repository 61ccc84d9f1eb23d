//! A percentile rule against a real Prometheus 2.42: the same histogram,
//! scraped by Prometheus and read by the rule, gives the same quantiles,
//! `histogram_quantile(q, rate(..._bucket[30s]))` there and the rule's
//! 30-second window here.
//!
//! The observations come in whole batches of one fixed distribution, so
//! any window (Prometheus's and the rule's, which are not aligned) holds
//! the same fractions in every bucket and the quantiles must agree to
//! rounding. Ignored unless Prometheus is installed (`.ci/run` installs
//! it); started on a free loopback port and killed by its pid.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use telltale::aggregate::{self, Rule};
use telltale::window::WindowConfig;
use telltale_tests::prometheus::{self, scalar};
use telltale_tests::wait_until;

/// One batch: ten observations, none within 2.2 % of a bucket bound.
const BATCH: [f64; 10] = [0.05, 0.15, 0.2, 0.2, 0.3, 0.4, 0.7, 0.9, 1.5, 2.0];
const BOUNDS: [f64; 5] = [0.1, 0.25, 0.5, 1.0, 2.5];

#[test]
#[ignore = "needs prometheus"]
fn a_percentile_rule_agrees_with_prometheus_histogram_quantile() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let latency = telltale::dynamic::histogram("peers_agg_latency_seconds")
        .help("Latencies observed in batches.")
        .buckets(&BOUNDS)
        .register()
        .expect("histogram");
    // Far from zero before Prometheus starts, so that its `rate` never
    // extrapolates to a counter's zero.
    for _ in 0..1000 {
        for v in BATCH {
            latency.observe(v).expect("observe");
        }
    }
    let recording = Arc::new(AtomicBool::new(true));
    let recorder = {
        let recording = Arc::clone(&recording);
        let latency = latency.clone();
        std::thread::spawn(move || {
            while recording.load(Ordering::SeqCst) {
                for v in BATCH {
                    latency.observe(v).expect("observe");
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let ticker = telltale::window::start(WindowConfig::default());
    let rules = [
        Rule::percentile("peers_agg_latency_seconds", [50.0, 90.0, 99.0])
            .window(Duration::from_secs(30))
            .named("peers_agg_latency_quantile"),
    ];
    let aggregator = aggregate::start(ticker.windows(), &rules).expect("rules");
    let server = runtime
        .block_on(telltale::server::start(telltale::server::ServerConfig {
            port: 0,
            ..Default::default()
        }))
        .expect("server");
    let target = server.local_addr().expect("enabled");
    let prometheus = prometheus::start(
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: agg\n    static_configs:\n      - targets: ['{target}']\n"
        ),
        &[],
    );
    prometheus::wait_for_targets_up(&prometheus, 1);

    let ours = |q: &str| {
        telltale::Snapshot::collect()
            .family("peers_agg_latency_quantile")
            .and_then(|f| {
                f.series
                    .iter()
                    .find_map(|s| match (&s.value, s.label("quantile")) {
                        (telltale::snapshot::Value::Gauge(v), Some(l)) if l == q => Some(*v),
                        _ => None,
                    })
            })
    };
    // 30 s of data on both sides, then the quantiles side by side.
    let compared = wait_until(Duration::from_secs(90), Duration::from_secs(1), || {
        let mut pairs = Vec::new();
        for q in ["0.5", "0.9", "0.99"] {
            let mine = ours(q).ok_or("the rule has no value yet")?;
            let theirs = scalar(
                &prometheus,
                &format!("histogram_quantile({q}, rate(peers_agg_latency_seconds_bucket[30s]))"),
            )?;
            if (mine - theirs).abs() > 1e-9 * theirs.abs().max(1.0) {
                return Err(format!("q={q}: rule {mine}, Prometheus {theirs}"));
            }
            pairs.push((q, mine, theirs));
        }
        Ok(pairs)
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", prometheus.log()));
    // Figured by hand from the batch: of 10, 1 <= 0.1, 4 <= 0.25, 6 <= 0.5,
    // 8 <= 1, 10 <= 2.5. The median's rank 5 is in (0.25, 0.5]: 0.25 +
    // 0.25 * (5 - 4) / 2; q = 0.9's rank 9 is in (1, 2.5]: 1 + 1.5 * 1 / 2.
    let expect = [
        ("0.5", 0.375),
        ("0.9", 1.75),
        ("0.99", 1.0 + 1.5 * 1.9 / 2.0),
    ];
    for ((q, mine, theirs), (eq, want)) in compared.iter().zip(expect) {
        assert_eq!(*q, eq);
        assert!(
            (mine - want).abs() < 1e-9,
            "q={q}: rule {mine}, by hand {want}"
        );
        assert!(
            (theirs - want).abs() < 1e-9,
            "q={q}: Prometheus {theirs}, by hand {want}"
        );
    }
    recording.store(false, Ordering::SeqCst);
    recorder.join().expect("recorder");
    aggregator.stop();
    runtime.block_on(server.stop());
    ticker.stop();
}
