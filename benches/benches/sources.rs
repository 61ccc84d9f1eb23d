//! Metric sources beside their baselines, in one run:
//!
//! | group | `telltale` | baseline |
//! |---|---|---|
//! | `scrape_2000_series` | render of 20 sources' last batches of 100 gauges each (and their `telltale_source_*` series) | `in_process`, in `scrape_in_process.rs` (its own process, so that neither registry holds the other's series): the same 2,000 gauges recorded in-process |
//! | `exec_run` | one run of an exec source (`/bin/echo` printing one series): spawn, read, parse, batch | `raw_spawn`: the same command run with `tokio::process::Command::output` |
//! | `sql_query` | one run of a SQLite source: one query with a bound parameter over 1,000 rows, grouped into 10 labeled series | `raw_sqlx`: the same query on a sqlx pool of the same size, its rows decoded |

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use telltale::sources::{
    self, Batch, ExecConfig, ExecSource, Source, SourceBox, SourceError, SourceOptions,
};
use telltale::Format;

/// A source of 100 gauges: `bench_source_<n>_value{series="0".."99"}`.
struct Named(String, usize);

impl Source for Named {
    fn name(&self) -> &str {
        &self.0
    }

    fn options(&self) -> SourceOptions {
        SourceOptions {
            interval: Duration::from_hours(1),
            ..SourceOptions::default()
        }
    }

    async fn collect(&self, batch: &mut Batch) -> Result<(), SourceError> {
        let name = format!("bench_source_{}_value", self.1);
        for i in 0..100u32 {
            let label = i.to_string();
            batch
                .gauge(
                    &name,
                    "A gauge of a bench source.",
                    &[("series", &label)],
                    f64::from(i),
                )
                .map_err(SourceError::parse)?;
        }
        Ok(())
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let running = rt.block_on(async {
        let boxes = (0..20).map(|i| SourceBox::new(Named(format!("bench_{i}"), i)));
        let running = sources::start(boxes).expect("sources");
        running.run_now().await;
        running
    });
    let text = telltale::render(Format::Prometheus);
    assert!(
        text.contains("bench_source_19_value{series=\"99\"} 99"),
        "sources not served"
    );
    let mut g = c.benchmark_group("scrape_2000_series");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("telltale", |b| {
        b.iter(|| black_box(telltale::render(Format::Prometheus)));
    });
    g.finish();
    running.shutdown();

    let source = ExecSource::new(
        "bench_exec",
        ExecConfig::new(["/bin/echo", "bench_exec_value 1"]),
        SourceOptions::default(),
    )
    .expect("exec source");
    let mut g = c.benchmark_group("exec_run");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    g.bench_function("telltale", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut batch = Batch::new();
                source.collect(&mut batch).await.expect("run");
                black_box(batch)
            })
        });
    });
    g.bench_function("raw_spawn", |b| {
        b.iter(|| {
            rt.block_on(async {
                let out = tokio::process::Command::new("/bin/echo")
                    .arg("bench_exec_value 1")
                    .output()
                    .await
                    .expect("spawn");
                black_box(out)
            })
        });
    });
    g.finish();

    sql(c, &rt);
}

fn sql(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    use sqlx::Row as _;
    let path = std::env::temp_dir().join(format!("telltale-bench-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let url = format!("sqlite://{}", path.display());
    let sql = "SELECT grp, COUNT(*) AS n FROM t WHERE x > ? GROUP BY grp";
    let pool = rt.block_on(async {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(2)
            .connect(&format!("{url}?mode=rwc"))
            .await
            .expect("sqlite");
        sqlx::query("CREATE TABLE t (grp TEXT, x INTEGER)")
            .execute(&pool)
            .await
            .expect("create");
        for i in 0..1000 {
            sqlx::query("INSERT INTO t VALUES (?, ?)")
                .bind(format!("g{}", i % 10))
                .bind(i)
                .execute(&pool)
                .await
                .expect("insert");
        }
        pool
    });
    let config: telltale::sources::CustomMetricsConfig = {
        let toml = format!(
            "[[custom_metrics.sources]]\nname = \"bench_sql\"\ntype = \"database\"\nconnection_string = \"{url}\"\nqueries = [{{name = \"bench_rows\", sql = \"{sql}\", params = [100], label_columns = [\"grp\"], value_column = \"n\"}}]\n"
        );
        telltale::config::Config::from_toml_str(&toml, "bench.toml")
            .expect("config")
            .custom_metrics
    };
    let source = config.sources[0].build().expect("source");
    let running = rt.block_on(async { sources::start([source]).expect("start") });
    rt.block_on(running.run_now());
    // g9 holds 9, 19, ..., 999: the 90 from 109 up pass `x > 100`.
    let text = telltale::render(Format::Prometheus);
    assert!(
        text.contains("bench_rows{grp=\"g9\"} 90"),
        "{:?}",
        running.status()
    );
    running.shutdown();
    // The source's own run, without the scheduler: a SqlSource built alike.
    let direct = telltale::sources::sql::SqlSource::new(
        "bench_sql_direct",
        &url,
        &telltale::sources::sql::PoolConfig::default(),
        config.sources[0].queries.clone(),
        SourceOptions::default(),
    )
    .expect("sql source");
    let mut g = c.benchmark_group("sql_query");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("telltale", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut batch = Batch::new();
                direct.collect(&mut batch).await.expect("run");
                black_box(batch)
            })
        });
    });
    g.bench_function("raw_sqlx", |b| {
        b.iter(|| {
            rt.block_on(async {
                let rows = sqlx::query(sql)
                    .bind(100)
                    .fetch_all(&pool)
                    .await
                    .expect("query");
                let decoded: Vec<(String, i64)> = rows
                    .iter()
                    .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1)))
                    .collect();
                black_box(decoded)
            })
        });
    });
    g.finish();
    let _ = std::fs::remove_file(&path);
}

criterion_group!(benches, bench);
criterion_main!(benches);
