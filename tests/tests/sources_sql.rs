//! SQL sources on SQLite, from the configuration file's seed shape: rows
//! become series, parameters are bound (never spliced), relative times,
//! label and value columns, NULL values skipped and counted, errors by kind.

use std::path::PathBuf;

use sqlx::Connection as _;
use telltale::config::Config;
use telltale::sources::{self, ErrorKind};
use telltale::Format;

struct Db(PathBuf);

impl Drop for Db {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn database(tag: &str) -> Db {
    let path = std::env::temp_dir().join(format!("telltale-sql-{tag}-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    for statement in [
        "CREATE TABLE users (name TEXT, region TEXT, last_login TEXT)",
        "INSERT INTO users VALUES ('ana', 'eu', datetime('now', '-10 minutes'))",
        "INSERT INTO users VALUES ('o''brien', 'eu', datetime('now', '-2 hours'))",
        "INSERT INTO users VALUES ('kim', 'us', datetime('now', '-3 days'))",
        "CREATE TABLE jobs (queue TEXT, done INTEGER, failed INTEGER, avg REAL)",
        "INSERT INTO jobs VALUES ('mail', 5, 1, 0.25)",
        "INSERT INTO jobs VALUES ('pdf', 7, 0, NULL)",
    ] {
        sqlx::query(statement).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();
    Db(path)
}

fn render() -> String {
    telltale::render(Format::Prometheus)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_become_series_as_the_seed_writes_them() {
    let db = database("seed").await;
    let toml = format!(
        r#"
[custom_metrics]

[[custom_metrics.sources]]
name = "database_metrics"
type = "database"
connection_string = "sqlite://{path}"
interval = 60
queries = [
    {{name = "active_users", sql = "SELECT COUNT(*) FROM users WHERE last_login > $1", params = ["1h_ago"], otel_type = "gauge"}},
    {{name = "users_named", sql = "SELECT COUNT(*) FROM users WHERE name = ?", params = ["o'brien"]}},
    {{name = "users_by_region", sql = "SELECT region, COUNT(*) AS n FROM users GROUP BY region", label_columns = ["region"], value_column = "n", labels = {{db = "main"}}, help = "Users by region."}},
    {{name = "jobs", sql = "SELECT queue, done, failed FROM jobs", label_columns = ["queue"], value_columns = ["done", "failed"], otel_type = "counter"}},
    {{name = "job_avg_seconds", sql = "SELECT queue, avg FROM jobs", label_columns = ["queue"], unit = "seconds"}},
]
"#,
        path = db.0.display()
    );
    let config = Config::from_toml_str(&toml, "seed.toml").unwrap();
    let boxes = config.custom_metrics.build().unwrap();
    let running = sources::start(boxes).unwrap();
    running.run_now().await;
    let status = running
        .status()
        .into_iter()
        .find(|s| s.name == "database_metrics")
        .unwrap();
    assert_eq!(status.up, Some(true), "{status:?}");
    let text = render();
    for line in [
        "active_users 1",
        "users_named 1",
        "# HELP users_by_region Users by region.",
        r#"users_by_region{region="eu",db="main"} 2"#,
        r#"users_by_region{region="us",db="main"} 1"#,
        r#"jobs_done_total{queue="mail"} 5"#,
        r#"jobs_failed_total{queue="pdf"} 0"#,
        r#"job_avg_seconds{queue="mail"} 0.25"#,
        r#"telltale_source_null_values_total{source="database_metrics",query="job_avg_seconds"}"#,
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert!(!text.contains(r#"job_avg_seconds{queue="pdf"}"#), "{text}");
    let om = telltale::render(Format::OpenMetrics);
    assert!(om.contains("# UNIT job_avg_seconds seconds"), "{om}");
    running.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_queries_say_what_kind_of_failure() {
    let db = database("errors").await;
    let source = |name: &str, url: &str, sql: &str| {
        format!(
            "[[custom_metrics.sources]]\nname = \"{name}\"\ntype = \"database\"\nconnection_string = \"{url}\"\ntimeout = \"5s\"\nqueries = [{{name = \"x\", sql = \"{sql}\"}}]\n"
        )
    };
    let ok_url = format!("sqlite://{}", db.0.display());
    let toml = [
        source("sql_bad_sql", &ok_url, "SELEKT 1"),
        source(
            "sql_no_db",
            "sqlite:///nonexistent/dir/none.db?mode=ro",
            "SELECT 1",
        ),
        source("sql_two_columns", &ok_url, "SELECT 1 AS a, 2 AS b"),
        source("sql_text_value", &ok_url, "SELECT 'many' AS n"),
    ]
    .concat();
    let config = Config::from_toml_str(&toml, "errors.toml").unwrap();
    let running = sources::start(config.custom_metrics.build().unwrap()).unwrap();
    running.run_now().await;
    let kind = |name: &str| {
        let s = running
            .status()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap();
        (s.last_error_kind, s.last_error.unwrap_or_default())
    };
    let (k, e) = kind("sql_bad_sql");
    assert_eq!(k, Some(ErrorKind::Query), "{e}");
    assert!(e.contains("SELEKT") || e.contains("syntax"), "{e}");
    let (k, e) = kind("sql_no_db");
    assert_eq!(k, Some(ErrorKind::Connect), "{e}");
    let (k, e) = kind("sql_two_columns");
    assert_eq!(k, Some(ErrorKind::Query), "{e}");
    assert!(e.contains("value_column"), "{e}");
    let (k, e) = kind("sql_text_value");
    assert_eq!(k, Some(ErrorKind::Query), "{e}");
    assert!(e.contains("not a number"), "{e}");
    running.shutdown();
}

#[test]
fn bad_database_sources_are_refused_with_their_field() {
    let cases = [
        ("connection_string = \"sqlserver://u@h/db\"\nqueries = [{name = \"x\", sql = \"SELECT 1\"}]", "not a database URL this build reads"),
        ("connection_string = \"sqlite://x.db\"", "needs a query"),
        ("connection_string = \"sqlite://x.db\"\nqueries = [{name = \"bad name\", sql = \"SELECT 1\"}]", "queries[0]"),
        ("connection_string = \"sqlite://x.db\"\nqueries = [{name = \"x\", sql = \"SELECT 1\", params = [\"1w_ago\"]}]", "not a relative time"),
        ("connection_string = \"sqlite://x.db\"\nqueries = [{name = \"x\", sql = \"SELECT 1\", unit = \"bytes\"}]", "ending with `_bytes`"),
        ("queries = [{name = \"x\", sql = \"SELECT 1\"}]", "needs one"),
    ];
    for (body, says) in cases {
        let toml =
            format!("[[custom_metrics.sources]]\nname = \"db\"\ntype = \"database\"\n{body}\n");
        let err = Config::from_toml_str(&toml, "db.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(says) && err.contains("db.toml:"),
            "{body}: {err}"
        );
    }
}
