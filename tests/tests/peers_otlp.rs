//! OTLP/HTTP bodies from `telltale::encode::encode_otlp`, posted to a
//! receiver that decodes them with the official `opentelemetry-proto`
//! package (`tests/peers/otlp_receiver.py`): what it decoded means what the
//! metrics recorded, in both histogram flavours.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value as Json};
use telltale::encode::{encode_otlp, HistogramFlavour, OtlpOptions};
use telltale::Snapshot;
use telltale_tests::{http, start_otlp_receiver, Peer};

static SIZES: telltale::Histogram =
    telltale::Histogram::new("peers_otlp_request_size_bytes", "Request sizes.")
        .with_buckets(&[100.0, 1_000.0, 10_000.0]);
static TEMPERATURE: telltale::Gauge =
    telltale::Gauge::new("peers_otlp_temperature_celsius", "Room temperature.");

/// The observations of `SIZES`.
const SIZE_OBSERVATIONS: [f64; 5] = [50.0, 500.0, 500.0, 5_000.0, 50_000.0];
/// How often `peers_otlp_work` is called.
const WORK_CALLS: u64 = 7;

#[telltale::timed]
fn peers_otlp_work(n: u64) -> u64 {
    std::hint::black_box((0..n).sum())
}

fn post(receiver: &Peer, body: &[u8]) {
    let response = http::post(
        receiver.addr(),
        "/v1/metrics",
        &[("Content-Type", "application/x-protobuf")],
        body,
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", receiver.log()));
    assert_eq!(
        response.status,
        200,
        "{}\n{}",
        response.text(),
        receiver.log()
    );
}

/// The metrics of every recorded request, by name, and the resource and
/// scope of each request.
struct Received {
    metrics: BTreeMap<String, Json>,
    resource: Json,
    scope: Json,
}

fn received(receiver: &Peer) -> Vec<Received> {
    let response = receiver.get("/received").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status, 200);
    let requests: Vec<Json> = serde_json::from_slice(&response.body).unwrap();
    requests
        .iter()
        .map(|request| {
            assert_eq!(request["status"], 200, "{request}");
            let resource_metrics = request["resource_metrics"].as_array().unwrap();
            assert_eq!(resource_metrics.len(), 1, "{request}");
            let scope_metrics = resource_metrics[0]["scope_metrics"].as_array().unwrap();
            assert_eq!(scope_metrics.len(), 1, "{request}");
            let metrics = scope_metrics[0]["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| (m["name"].as_str().unwrap().to_owned(), m.clone()))
                .collect();
            Received {
                metrics,
                resource: resource_metrics[0]["resource"].clone(),
                scope: scope_metrics[0]["scope"].clone(),
            }
        })
        .collect()
}

/// The one data point of `metric` whose attributes include `key = value`.
fn point<'a>(metric: &'a Json, key: &str, value: &str) -> &'a Json {
    let matching: Vec<&Json> = metric["data_points"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["attributes"][key] == value)
        .collect();
    assert_eq!(matching.len(), 1, "{key}={value} in {metric}");
    matching[0]
}

/// The OTLP scale-5 bucket of `v`: the `i` with `2^(i/32) < v <= 2^((i+1)/32)`.
fn exponential_index(v: f64) -> i64 {
    (v.log2() * 32.0).ceil() as i64 - 1
}

/// `(index, count)` of the non-empty buckets of an exponential point.
fn non_empty(buckets: &Json) -> Vec<(i64, u64)> {
    let offset = buckets["offset"].as_i64().unwrap();
    buckets["bucket_counts"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let n = n.as_u64().unwrap();
            (n > 0).then_some((offset + i as i64, n))
        })
        .collect()
}

#[test]
#[ignore = "needs python3 with opentelemetry-proto"]
fn receiver_decodes_counters_gauges_and_both_histogram_flavours() {
    let jobs = telltale::dynamic::counter("peers_otlp_jobs_total")
        .help("Jobs run.")
        .required_labels(["queue", "region"])
        .register()
        .unwrap();
    jobs.labels([("queue", "a\"b"), ("region", "ü")])
        .inc_by(3)
        .unwrap();
    jobs.labels([("queue", "c"), ("region", "")])
        .inc_by(4)
        .unwrap();
    TEMPERATURE.set(21.5);
    for v in SIZE_OBSERVATIONS {
        SIZES.observe(v);
    }
    for n in 0..WORK_CALLS {
        peers_otlp_work(n);
    }

    let receiver = start_otlp_receiver();
    let snapshot = Snapshot::collect();
    let time = 1_800_000_000_000_000_000_u64;
    let at = UNIX_EPOCH + Duration::from_nanos(time);
    let options = OtlpOptions::default()
        .with_resource_attribute("service.name", "peers-otlp")
        .at(at);
    post(&receiver, &encode_otlp(&snapshot, &options));
    let exponential = options.with_histograms(HistogramFlavour::Exponential);
    post(&receiver, &encode_otlp(&snapshot, &exponential));

    let requests = received(&receiver);
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.resource["service.name"], "peers-otlp");
        assert_eq!(request.resource["telemetry.sdk.name"], "telltale");
        assert_eq!(request.scope["name"], "telltale");
        assert_eq!(request.scope["version"], env!("CARGO_PKG_VERSION"));
        // Every family of the snapshot that has series is there, and every
        // point of every metric starts no later than the export time.
        let with_series = snapshot
            .families
            .iter()
            .filter(|f| !f.series.is_empty())
            .count();
        assert_eq!(request.metrics.len(), with_series);
        for (name, metric) in &request.metrics {
            for p in metric["data_points"].as_array().unwrap() {
                assert_eq!(p["time_unix_nano"], time, "{name}: {p}");
                let start = p["start_time_unix_nano"].as_u64().unwrap();
                assert!(start > 0 && start <= time, "{name}: {p}");
            }
        }

        let jobs = &request.metrics["peers_otlp_jobs"];
        assert_eq!(jobs["kind"], "sum");
        assert_eq!(jobs["temporality"], "CUMULATIVE");
        assert_eq!(jobs["monotonic"], true);
        assert_eq!(jobs["unit"], "");
        assert_eq!(jobs["description"], "Jobs run.");
        let first = point(jobs, "queue", "a\"b");
        assert_eq!(first["attributes"], json!({"queue": "a\"b", "region": "ü"}));
        assert_eq!(first["value"], 3.0);
        assert_eq!(first["value_type"], "double");
        // The series' creation time, not the process start: after this
        // test started, long before the (future) export time.
        let created = first["start_time_unix_nano"].as_u64().unwrap();
        let test_start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            - 600_000_000_000;
        assert!(created > test_start, "{first}");
        let second = point(jobs, "queue", "c");
        assert_eq!(second["attributes"], json!({"queue": "c", "region": ""}));
        assert_eq!(second["value"], 4.0);

        let temperature = &request.metrics["peers_otlp_temperature_celsius"];
        assert_eq!(temperature["kind"], "gauge");
        assert_eq!(temperature["temporality"], Json::Null);
        assert_eq!(temperature["data_points"][0]["value"], 21.5);
        assert_eq!(temperature["data_points"][0]["attributes"], json!({}));
    }

    // Explicit buckets: per bucket, one more count than bounds.
    let sizes = &requests[0].metrics["peers_otlp_request_size_bytes"];
    assert_eq!(sizes["kind"], "histogram");
    assert_eq!(sizes["temporality"], "CUMULATIVE");
    assert_eq!(sizes["unit"], "By");
    let p = &sizes["data_points"][0];
    assert_eq!(p["count"], 5);
    assert_eq!(p["sum"], 56_050.0);
    assert_eq!(p["explicit_bounds"], json!([100.0, 1_000.0, 10_000.0]));
    assert_eq!(p["bucket_counts"], json!([1, 2, 1, 1]));

    // Exponential buckets: each observation in the bucket whose bounds hold it.
    let sizes = &requests[1].metrics["peers_otlp_request_size_bytes"];
    assert_eq!(sizes["kind"], "exponential_histogram");
    assert_eq!(sizes["temporality"], "CUMULATIVE");
    assert_eq!(sizes["unit"], "By");
    let p = &sizes["data_points"][0];
    assert_eq!(p["count"], 5);
    assert_eq!(p["sum"], 56_050.0);
    assert_eq!(p["scale"], 5);
    assert_eq!(p["zero_count"], 0);
    let mut expected: BTreeMap<i64, u64> = BTreeMap::new();
    for v in SIZE_OBSERVATIONS {
        *expected.entry(exponential_index(v)).or_default() += 1;
    }
    // 50, 500 (twice), 5000, 50000: 32·log2 = 180.6, 286.9, 393.2, 499.5.
    assert_eq!(
        expected.keys().copied().collect::<Vec<_>>(),
        vec![180, 286, 393, 499]
    );
    assert_eq!(
        non_empty(&p["positive"]),
        expected.into_iter().collect::<Vec<_>>()
    );
    assert_eq!(p["negative"]["bucket_counts"], json!([]));

    // The #[timed] function: durations in seconds, every call counted.
    for (request, flavour) in requests.iter().zip(["histogram", "exponential_histogram"]) {
        let durations = &request.metrics["function_calls_duration_seconds"];
        assert_eq!(durations["kind"], flavour);
        assert_eq!(durations["unit"], "s");
        assert_eq!(durations["temporality"], "CUMULATIVE");
        let p = point(durations, "function", "peers_otlp_work");
        assert_eq!(p["count"], WORK_CALLS, "{p}");
        let buckets: u64 = if flavour == "histogram" {
            let counts = p["bucket_counts"].as_array().unwrap();
            assert_eq!(
                counts.len(),
                p["explicit_bounds"].as_array().unwrap().len() + 1
            );
            counts.iter().map(|n| n.as_u64().unwrap()).sum()
        } else {
            p["zero_count"].as_u64().unwrap()
                + non_empty(&p["positive"])
                    .iter()
                    .map(|&(_, n)| n)
                    .sum::<u64>()
        };
        assert_eq!(buckets, WORK_CALLS, "{p}");
        let (min, max, sum) = (
            p["min"].as_f64().unwrap(),
            p["max"].as_f64().unwrap(),
            p["sum"].as_f64().unwrap(),
        );
        assert!(0.0 <= min && min <= max && max < 60.0, "{p}");
        assert!(
            sum >= max && sum <= max * WORK_CALLS as f64 * 1.000_001,
            "{p}"
        );
    }
    drop(receiver);
}

#[test]
#[ignore = "needs python3 with opentelemetry-proto"]
fn receiver_answers_queued_failures_and_rejects_what_is_not_otlp() {
    let receiver = start_otlp_receiver();
    let queued = http::post(
        receiver.addr(),
        "/control?status=503&count=1&retry_after=2",
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(queued.status, 200);
    let body = encode_otlp(&Snapshot::collect(), &OtlpOptions::default());
    let headers = [("Content-Type", "application/x-protobuf")];
    let first = http::post(receiver.addr(), "/v1/metrics", &headers, &body).unwrap();
    assert_eq!(first.status, 503);
    assert_eq!(first.header("retry-after"), Some("2"));
    let second = http::post(receiver.addr(), "/v1/metrics", &headers, &body).unwrap();
    assert_eq!(second.status, 200);
    let garbage = http::post(receiver.addr(), "/v1/metrics", &headers, b"\xff\xff\xff").unwrap();
    assert_eq!(garbage.status, 400);
    let json_body = http::post(
        receiver.addr(),
        "/v1/metrics",
        &[("Content-Type", "application/json")],
        b"{}",
    )
    .unwrap();
    assert_eq!(json_body.status, 415);
    let response = receiver.get("/received").unwrap();
    let requests: Vec<Json> = serde_json::from_slice(&response.body).unwrap();
    let statuses: Vec<&Json> = requests.iter().map(|r| &r["status"]).collect();
    assert_eq!(
        statuses,
        [&json!(503), &json!(200), &json!(400), &json!(415)]
    );
    // The failed request was still decoded: it was valid OTLP.
    assert_eq!(
        requests[0]["resource_metrics"],
        requests[1]["resource_metrics"]
    );
    let reset = http::post(receiver.addr(), "/reset", &[], b"").unwrap();
    assert_eq!(reset.status, 200);
    assert_eq!(receiver.get("/received").unwrap().text(), "[]");
}
