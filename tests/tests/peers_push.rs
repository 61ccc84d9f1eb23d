//! The push exporters against real receivers: a Pushgateway, a Prometheus
//! server with its remote-write receiver enabled, and an OTLP/HTTP receiver
//! decoding with the official `opentelemetry-proto` Python package
//! (`tests/peers/otlp_receiver.py`).
//!
//! Each test is ignored unless its peer is installed; `.ci/run` installs the
//! peers and runs them with `--include-ignored`. Each peer is started on a
//! free loopback port, waited for (at most a minute) and killed by its pid.

use std::time::Duration;

use serde_json::Value as Json;
use telltale::dynamic;
use telltale::push::{self, pushgateway, EndpointConfig, PushConfig, PushMethod};
use telltale_tests::prometheus::{self, scalar};
use telltale_tests::{
    http, start_otlp_receiver, start_pushgateway, text, wait_until, Peer, PEER_WAIT,
};

/// Equal, for values that were written and read back as decimal text.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// The samples named `name` the gateway exposes for `instance`.
fn gateway_samples(gateway: &Peer, name: &str, instance: &str) -> Vec<text::Sample> {
    let scraped = gateway.get("/metrics").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scraped.status, 200);
    text::samples(&scraped.text())
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|s| s.name == name && s.label("instance") == instance)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs prometheus-pushgateway"]
async fn pushgateway_receives_put_and_post_with_a_slash_in_the_grouping_key() {
    let marker = dynamic::counter("peers_push_gateway_total")
        .help("Pushed to a Pushgateway.")
        .register()
        .expect("register");
    marker.inc_by(5).unwrap();
    let gateway = start_pushgateway();
    let base = format!("http://{}", gateway.addr());

    let mut config = EndpointConfig::pushgateway(&base, "telltale_push");
    config
        .pushgateway
        .grouping
        .insert("instance".into(), "host/1".into());
    config
        .pushgateway
        .grouping
        .insert("zone".into(), "eu west".into());
    pushgateway::push_once(&config)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", gateway.log()));
    let pushed = gateway_samples(&gateway, "peers_push_gateway_total", "host/1");
    assert_eq!(pushed.len(), 1, "{pushed:?}\n{}", gateway.log());
    assert!(same(pushed[0].value, 5.0), "{pushed:?}");
    assert_eq!(pushed[0].label("job"), "telltale_push");
    assert_eq!(pushed[0].label("zone"), "eu west");

    // Another metric in the same group, pushed by someone else.
    let path = pushgateway::group_path(&config.pushgateway);
    let other = http::post(
        gateway.addr(),
        &path,
        &[("Content-Type", "text/plain; version=0.0.4")],
        b"# TYPE peers_push_other gauge\npeers_push_other 1\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(other.status, 200, "{}", other.text());

    // POST replaces only the metrics of the names pushed.
    marker.inc_by(2).unwrap();
    config.pushgateway.method = PushMethod::Post;
    pushgateway::push_once(&config).await.unwrap();
    let pushed = gateway_samples(&gateway, "peers_push_gateway_total", "host/1");
    assert!(same(pushed[0].value, 7.0), "{pushed:?}");
    assert_eq!(
        gateway_samples(&gateway, "peers_push_other", "host/1").len(),
        1,
        "POST kept the other metric"
    );

    // PUT replaces the whole group.
    config.pushgateway.method = PushMethod::Put;
    pushgateway::push_once(&config).await.unwrap();
    assert!(
        gateway_samples(&gateway, "peers_push_other", "host/1").is_empty(),
        "PUT replaced the group"
    );

    // A long-running pusher, deleting its group at shutdown.
    let mut running = EndpointConfig::pushgateway(&base, "telltale_push").named("gateway");
    running
        .pushgateway
        .grouping
        .insert("instance".into(), "pusher/2".into());
    running.pushgateway.delete_on_shutdown = true;
    running.interval = Duration::from_millis(200);
    let pusher = push::start(PushConfig {
        endpoints: vec![running],
        ..PushConfig::default()
    })
    .unwrap();
    marker.inc_by(3).unwrap();
    let outcome = pusher.flush().await;
    assert!(outcome[0].delivered, "{outcome:?}\n{}", gateway.log());
    let pushed = gateway_samples(&gateway, "peers_push_gateway_total", "pusher/2");
    assert_eq!(pushed.len(), 1);
    assert!(same(pushed[0].value, 10.0), "{pushed:?}");
    let status = &pusher.status()[0];
    assert!(
        status.payloads_sent >= 1 && status.failed_requests == 0,
        "{status:?}"
    );
    pusher.shutdown().await;
    assert!(
        gateway_samples(&gateway, "peers_push_gateway_total", "pusher/2").is_empty(),
        "the group was deleted at shutdown"
    );
    assert_eq!(
        gateway_samples(&gateway, "peers_push_gateway_total", "host/1").len(),
        1,
        "other groups are kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs prometheus"]
async fn prometheus_receives_remote_write() {
    let counter = dynamic::counter("peers_push_rw_jobs_total")
        .help("Pushed by remote-write.")
        .required_labels(["queue"])
        .register()
        .expect("register");
    counter.labels([("queue", "emails")]).inc_by(42).unwrap();
    let histogram = dynamic::histogram("peers_push_rw_seconds")
        .help("Pushed by remote-write.")
        .buckets(&[0.1, 1.0])
        .register()
        .expect("register");
    for v in [0.05, 0.5, 2.0] {
        histogram.observe(v).unwrap();
    }

    let prometheus = prometheus::start(
        "global:\n  scrape_interval: 15s\n",
        &["--web.enable-remote-write-receiver"],
    );

    let mut endpoint =
        EndpointConfig::remote_write(format!("http://{}/api/v1/write", prometheus.addr()))
            .named("prometheus");
    endpoint.interval = Duration::from_millis(500);
    let pusher = push::start(PushConfig {
        endpoints: vec![endpoint],
        ..PushConfig::default()
    })
    .unwrap();
    let outcome = pusher.flush().await;
    let status = pusher.status().remove(0);
    assert!(
        outcome[0].delivered && status.rejected == 0 && status.payloads_sent >= 1,
        "{outcome:?} {status:?}\n{}",
        prometheus.log()
    );

    let check = || -> Result<(), String> {
        let jobs = scalar(&prometheus, "peers_push_rw_jobs_total{queue=\"emails\"}")?;
        let count = scalar(&prometheus, "peers_push_rw_seconds_count")?;
        let sum = scalar(&prometheus, "peers_push_rw_seconds_sum")?;
        let bucket = scalar(&prometheus, "peers_push_rw_seconds_bucket{le=\"1.0\"}")?;
        let inf = scalar(&prometheus, "peers_push_rw_seconds_bucket{le=\"+Inf\"}")?;
        if same(jobs, 42.0)
            && same(count, 3.0)
            && same(sum, 2.55)
            && same(bucket, 2.0)
            && same(inf, 3.0)
        {
            Ok(())
        } else {
            Err(format!(
                "jobs {jobs}, count {count}, sum {sum}, le=1.0 {bucket}, +Inf {inf}"
            ))
        }
    };
    wait_until(PEER_WAIT, Duration::from_millis(250), check)
        .unwrap_or_else(|e| panic!("{e}\n{}", prometheus.log()));

    // Later batches carry later values.
    counter.labels([("queue", "emails")]).inc_by(8).unwrap();
    pusher.flush().await;
    wait_until(PEER_WAIT, Duration::from_millis(250), || {
        let jobs = scalar(&prometheus, "peers_push_rw_jobs_total{queue=\"emails\"}")?;
        same(jobs, 50.0)
            .then_some(())
            .ok_or_else(|| format!("jobs {jobs}"))
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", prometheus.log()));
    pusher.shutdown().await;
    let status = pusher.status().remove(0);
    assert_eq!(status.rejected, 0, "{status:?}");
}

/// The metric `name` in the last request the OTLP receiver accepted.
fn otlp_metric(received: &Json, name: &str) -> Option<Json> {
    let accepted = received
        .as_array()?
        .iter()
        .rev()
        .find(|r| r["status"] == 200)?;
    accepted["resource_metrics"]
        .as_array()?
        .iter()
        .flat_map(|rm| rm["scope_metrics"].as_array().cloned().unwrap_or_default())
        .flat_map(|sm| sm["metrics"].as_array().cloned().unwrap_or_default())
        .find(|m| m["name"] == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs python3 with opentelemetry-proto"]
async fn otlp_receiver_decodes_what_the_pusher_sends_after_failures() {
    let counter = dynamic::counter("peers_push_otlp_jobs_total")
        .help("Pushed over OTLP.")
        .required_labels(["queue"])
        .register()
        .expect("register");
    counter.labels([("queue", "emails")]).inc_by(9).unwrap();
    let histogram = dynamic::histogram("peers_push_otlp_seconds")
        .help("Pushed over OTLP.")
        .buckets(&[0.1, 1.0])
        .register()
        .expect("register");
    for v in [0.05, 0.5, 2.0] {
        histogram.observe(v).unwrap();
    }

    let receiver = start_otlp_receiver();
    let control = http::post(receiver.addr(), "/control?status=503&count=2", &[], b"")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(control.status, 200);

    let mut endpoint = EndpointConfig::otlp(format!("http://{}", receiver.addr())).named("otlp");
    endpoint.interval = Duration::from_mins(1);
    endpoint.otlp.gzip = true;
    endpoint
        .otlp
        .resource_attributes
        .insert("service.name".into(), "peers-push".into());
    endpoint.retry.max_attempts = 5;
    endpoint.retry.initial_backoff = Duration::from_millis(20);
    let pusher = push::start(PushConfig {
        endpoints: vec![endpoint],
        ..PushConfig::default()
    })
    .unwrap();
    wait_until(PEER_WAIT, Duration::from_millis(50), || {
        let s = pusher.status().remove(0);
        (s.payloads_sent >= 1 && s.queue_length == 0)
            .then_some(())
            .ok_or_else(|| format!("{s:?}"))
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", receiver.log()));
    let status = pusher.status().remove(0);
    assert_eq!(status.failed_requests, 2, "{status:?}");
    assert!(status.retries >= 2, "{status:?}");
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("503")),
        "{status:?}"
    );

    let received: Json = serde_json::from_slice(
        &receiver
            .get("/received")
            .unwrap_or_else(|e| panic!("{e}"))
            .body,
    )
    .expect("JSON");
    let records = received.as_array().expect("a list");
    assert_eq!(records[0]["status"], 503);
    assert_eq!(records[1]["status"], 503);
    let accepted = records
        .iter()
        .rev()
        .find(|r| r["status"] == 200)
        .expect("an accepted request");
    assert_eq!(accepted["content_encoding"], "gzip", "{accepted}");
    assert_eq!(accepted["error"], Json::Null, "{accepted}");
    assert_eq!(
        accepted["resource_metrics"][0]["resource"]["service.name"],
        "peers-push"
    );
    let jobs = otlp_metric(&received, "peers_push_otlp_jobs").expect("the counter");
    assert_eq!(jobs["kind"], "sum", "{jobs}");
    assert_eq!(jobs["temporality"], "CUMULATIVE");
    assert_eq!(jobs["monotonic"], true);
    let point = &jobs["data_points"][0];
    assert_eq!(point["attributes"]["queue"], "emails", "{jobs}");
    assert_eq!(point["value"], 9.0, "{jobs}");
    let seconds = otlp_metric(&received, "peers_push_otlp_seconds").expect("the histogram");
    assert_eq!(seconds["kind"], "histogram", "{seconds}");
    assert_eq!(seconds["temporality"], "CUMULATIVE");
    let point = &seconds["data_points"][0];
    assert_eq!(point["count"], 3, "{seconds}");
    assert!(
        (point["sum"].as_f64().unwrap_or(f64::NAN) - 2.55).abs() < 1e-9,
        "{seconds}"
    );
    assert_eq!(
        point["explicit_bounds"],
        serde_json::json!([0.1, 1.0]),
        "{seconds}"
    );
    assert_eq!(
        point["bucket_counts"],
        serde_json::json!([1, 1, 1]),
        "{seconds}"
    );

    // A flush sends the newest values.
    counter.labels([("queue", "emails")]).inc().unwrap();
    let outcome = pusher.flush().await;
    assert!(outcome[0].delivered, "{outcome:?}");
    let received: Json =
        serde_json::from_slice(&receiver.get("/received").unwrap().body).expect("JSON");
    let jobs = otlp_metric(&received, "peers_push_otlp_jobs").expect("the counter");
    assert_eq!(jobs["data_points"][0]["value"], 10.0, "{jobs}");
    pusher.shutdown().await;
}
