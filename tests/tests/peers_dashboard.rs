//! The dashboard page's script, run in Node (`tests/peers/dashboard_check.js`)
//! against the JSON a running System serves: what it puts in each table.
//! Ignored: needs `node` (Debian's `nodejs`); `.ci/run` installs it and runs
//! the ignored tests.

use std::time::Duration;

use telltale::sources::{self, Batch, Source, SourceBox, SourceError};
use telltale::system::{System, SystemConfig};
use telltale::tracker;
use telltale_tests::{run_with_stdin, DASHBOARD_PAGE};

fn run_page(dir: &std::path::Path, overview: &str, errors: &str, status: u16) -> serde_json::Value {
    let node = telltale_tests::node_binary();
    let page = dir.join("dashboard.html");
    std::fs::write(&page, DASHBOARD_PAGE).unwrap();
    std::fs::write(dir.join("overview.json"), overview).unwrap();
    std::fs::write(dir.join("errors.json"), errors).unwrap();
    let script = telltale_tests::peer_scripts_dir().join("dashboard_check.js");
    let (overview, errors) = (dir.join("overview.json"), dir.join("errors.json"));
    let status = status.to_string();
    let args: Vec<&std::ffi::OsStr> = vec![
        script.as_os_str(),
        page.as_os_str(),
        overview.as_os_str(),
        errors.as_os_str(),
        status.as_ref(),
    ];
    let out = run_with_stdin(&node, &args, b"", Duration::from_secs(30));
    assert!(
        out.status.success(),
        "{}",
        telltale_tests::describe_output("node dashboard_check.js", &out)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

struct Backups;

impl Source for Backups {
    fn name(&self) -> &'static str {
        "dashboard_backups"
    }

    async fn collect(&self, batch: &mut Batch) -> Result<(), SourceError> {
        batch
            .gauge("dashboard_backup_age_seconds", "", &[], 60.0)
            .map_err(SourceError::parse)
    }
}

fn cells(rows: &serde_json::Value) -> Vec<Vec<String>> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_owned())
                .collect()
        })
        .collect()
}

#[test]
#[ignore = "needs node"]
fn the_dashboard_script_shows_health_operations_and_failures() {
    let system = System::start(SystemConfig {
        resources: Some(Duration::from_mins(1)),
        ..SystemConfig::default()
    });
    system.tick();
    for _ in 0..3 {
        tracker::record_success("dashboard_checkout", &[]);
    }
    tracker::record_failure("dashboard_checkout", "declined", &[("card", "<b>4242</b>")]);
    std::thread::sleep(Duration::from_millis(20));
    system.tick();
    // A metric source, shown in its own table.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let running = runtime.block_on(async {
        let running = sources::start([SourceBox::new(Backups)]).unwrap();
        running.run_now().await;
        running
    });

    let temp = telltale_tests::TempDir::new("dashboard").unwrap();
    let dir = temp.path();
    let overview = serde_json::to_string(&system.overview()).unwrap();
    let errors = serde_json::to_string(&system.errors()).unwrap();
    let shown = run_page(dir, &overview, &errors, 200);

    assert_eq!(
        shown["requested"],
        serde_json::json!(["api/dashboard/overview", "api/dashboard/errors"])
    );
    assert_eq!(shown["status"], "healthy", "{shown}");
    assert_eq!(shown["statusClass"], "healthy");
    let summary = shown["summary"].as_str().unwrap();
    assert!(
        summary.contains("calls 4 in") && summary.contains("error rate 25.00 %"),
        "{summary}"
    );
    assert!(
        summary.contains("MiB"),
        "memory from the resource sample: {summary}"
    );

    let operations = cells(&shown["operations"]);
    assert_eq!(
        operations[0],
        [
            "operation",
            "calls",
            "calls/s",
            "errors",
            "success",
            "p50",
            "p95",
            "p99",
            "failures"
        ]
    );
    let checkout = operations
        .iter()
        .find(|r| r[0] == "dashboard_checkout")
        .unwrap_or_else(|| panic!("{operations:?}"));
    assert_eq!(
        (&*checkout[1], &*checkout[3], &*checkout[4], &*checkout[8]),
        ("4", "1", "75.00 %", "declined 1")
    );
    let recent = cells(&shown["recent"]);
    let failure = recent
        .iter()
        .find(|r| r[1] == "dashboard_checkout")
        .unwrap_or_else(|| panic!("{recent:?}"));
    // Metadata is shown as the text it is.
    assert_eq!(
        (&*failure[2], &*failure[3]),
        ("declined", "card=<b>4242</b>")
    );
    assert_eq!(cells(&shown["exporters"]).len(), 1, "the header row only");
    let sources = cells(&shown["sources"]);
    assert_eq!(
        sources[0],
        [
            "name",
            "up",
            "breaker",
            "runs",
            "failures",
            "series",
            "last run",
            "last success",
            "last error"
        ]
    );
    let backups = sources
        .iter()
        .find(|r| r[0] == "dashboard_backups")
        .unwrap_or_else(|| panic!("{sources:?}"));
    assert_eq!(
        (&*backups[1], &*backups[2], &*backups[4], &*backups[5]),
        ("yes", "closed", "0", "1")
    );
    running.shutdown();

    // Without a running System the API answers 503 with an error, shown.
    system.shutdown();
    let shown = run_page(
        dir,
        r#"{"error":"no telltale System is running"}"#,
        "{}",
        503,
    );
    assert_eq!(shown["status"], "unavailable");
    assert_eq!(shown["message"], "no telltale System is running");
}
