//! The System: health with thresholds, per-operation stats, dashboards, the
//! JSON API on the server, and an idempotent shutdown.
//!
//! One test: a System is process-wide (`system::current`).

use std::time::Duration;

use telltale::system::{HealthConfig, System, SystemConfig};
use telltale::{tracked, tracker, LabelValue};
use telltale_tests::http;

#[derive(Debug, LabelValue)]
enum StoreError {
    Full,
}

#[tracked]
fn system_store(i: u32) -> Result<u32, StoreError> {
    if i.is_multiple_of(4) {
        Err(StoreError::Full)
    } else {
        Ok(i)
    }
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

#[test]
fn health_stats_dashboards_and_the_json_api() {
    let config = SystemConfig {
        resources: Some(Duration::from_mins(1)),
        health: HealthConfig {
            window: Duration::from_mins(1),
            max_error_rate: 0.1,
            min_calls: 10,
            max_resident_memory_bytes: None,
        },
        ..SystemConfig::default()
    };
    let system = System::start(config);
    system.tick();
    // 8 calls of the function (2 errors) and 10 operations by API (2 failures).
    for i in 1..=8 {
        let _ = system_store(i);
    }
    for _ in 0..8 {
        tracker::record_success("system_upload", &[]);
    }
    tracker::record_failure("system_upload", "timeout", &[("bucket", "b1")]);
    tracker::record_failure("system_upload", "timeout", &[("bucket", "b2")]);
    std::thread::sleep(Duration::from_millis(20));
    system.tick();

    let health = system.health();
    assert_eq!((health.calls, health.errors), (18, 4));
    assert!((health.error_rate.unwrap() - 4.0 / 18.0).abs() < 1e-9);
    assert!(!health.healthy, "22 % errors is above 10 %");
    assert!(
        health.reasons[0].contains("error rate 22.22 %"),
        "{:?}",
        health.reasons
    );
    // Two ticks some milliseconds apart: the reason says the span the
    // data covers, not the 60 s window.
    assert!(
        health.reasons[0].contains(" ms is above") && !health.reasons[0].contains("60 s"),
        "{:?}",
        health.reasons
    );
    assert!(health.resident_memory_bytes.unwrap() > 0);

    let stats = system.stats();
    let upload = stats
        .iter()
        .find(|o| o.operation == "system_upload")
        .unwrap();
    assert_eq!((upload.calls, upload.errors), (10, 2));
    assert_eq!(upload.success_rate, Some(0.8));
    assert_eq!(upload.failures.get("timeout"), Some(&2));
    let store = stats
        .iter()
        .find(|o| o.operation == "system_store")
        .unwrap();
    assert_eq!((store.calls, store.errors), (8, 2));
    assert_eq!(store.failures.get("full"), Some(&2));
    assert!(store.p50_seconds.is_some() && store.p99_seconds >= store.p50_seconds);

    let errors = system.errors();
    assert_eq!(errors.operations.len(), 2);
    assert_eq!(
        errors.recent[0].metadata.get("bucket").map(String::as_str),
        Some("b2")
    );
    assert!(system.overview().resources.is_some());

    // The same over HTTP.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(telltale::server::start(telltale::server::ServerConfig {
            port: 0,
            ..telltale::server::ServerConfig::default()
        }))
        .unwrap();
    let addr = server.local_addr().unwrap();
    let r = http::get(addr, "/api/health").unwrap();
    assert_eq!(r.status, 503, "unhealthy answers 503");
    let h = json(&r.body);
    assert_eq!(h["healthy"], false);
    assert_eq!(h["calls"], 18);
    let r = http::get(addr, "/api/dashboard/overview").unwrap();
    assert_eq!(r.status, 200);
    let o = json(&r.body);
    assert!(o["operations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|op| op["operation"] == "system_upload"));
    let r = http::get(addr, "/api/dashboard/errors").unwrap();
    let errors_json = json(&r.body);
    assert_eq!(errors_json["operations"][0]["errors"], 2);

    // The dashboard page over that API, and every field it shows is one the
    // API serves.
    let page = http::get(addr, "/dashboard").unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page
        .header("content-security-policy")
        .is_some_and(|p| p.contains("default-src 'none'")
            && p.contains("connect-src 'self'")
            && p.contains("frame-ancestors 'none'")));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    let text = String::from_utf8(page.body).unwrap();
    assert_eq!(text, telltale_tests::DASHBOARD_PAGE);
    assert!(text.contains(r#"fetch("api/dashboard/" + path"#));
    assert!(!text.contains("innerHTML"), "values are written as text");
    assert!(
        !text.contains("http://") && !text.contains("https://"),
        "no outside resources"
    );
    for (columns, row) in [
        ("OPERATION_COLUMNS", &o["operations"][0]),
        ("RECENT_COLUMNS", &errors_json["recent"][0]),
    ] {
        let fields = telltale_tests::dashboard_fields(columns);
        assert!(fields.len() >= 4, "{columns}: {fields:?}");
        for field in fields {
            assert!(
                row.get(&field).is_some(),
                "{columns}: no {field:?} in {row}"
            );
        }
    }
    for field in [
        "healthy",
        "reasons",
        "uptime_seconds",
        "calls",
        "window_seconds",
        "error_rate",
    ] {
        assert!(o["health"].get(field).is_some(), "health.{field}");
        assert!(
            text.contains(&format!(".{field}")),
            "the page reads health.{field}"
        );
    }
    assert_eq!(
        http::request(addr, "POST", "/dashboard", &[], b"")
            .unwrap()
            .status,
        405
    );
    assert_eq!(http::get(addr, "/api/stats").unwrap().status, 200);
    assert_eq!(
        http::get(addr, "/api/dashboard/performance")
            .unwrap()
            .status,
        200
    );
    assert_eq!(http::get(addr, "/api/nope").unwrap().status, 404);
    // No exporters configured: an empty list, and no error.
    assert_eq!(o["exporters"], serde_json::json!([]));
    assert_eq!(o["exporters_error"], serde_json::Value::Null);
    let r = http::get(addr, "/api/exporters").unwrap();
    assert_eq!((r.status, json(&r.body)), (200, serde_json::json!([])));

    system.shutdown();
    system.shutdown();
    assert!(!system.is_running());
    assert!(telltale::system::current().is_none());
    assert_eq!(http::get(addr, "/api/health").unwrap().status, 503);
    rt.block_on(server.stop());
}
