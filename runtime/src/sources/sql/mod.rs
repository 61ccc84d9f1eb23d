//! SQL sources: queries whose rows become series, on SQLite (embedded, the
//! `sql-sqlite` feature), PostgreSQL (`sql-postgres`) and MySQL or MariaDB
//! (`sql-mysql`).
//!
//! Each query names its series (`name`), its type (`gauge` or `counter`),
//! the column(s) holding values, the columns that are labels and labels of
//! its own. Parameters are bound (`$1` or `?`), never spliced into the SQL:
//! a literal (string, integer, float, boolean) or a relative time,
//! `"now"` or `"<n><unit>_ago"` (`30s_ago`, `15m_ago`, `1h_ago`, `7d_ago`),
//! bound on SQLite as UTC text `YYYY-MM-DD HH:MM:SS` (the form its
//! `CURRENT_TIMESTAMP` and `datetime()` write) and on PostgreSQL and MySQL
//! as a timestamp. A row whose value is NULL is skipped and counted in
//! `telltale_source_null_values_total{source,query}`. Values may be of any
//! integer or float type the driver has (or text holding a number); a
//! `NUMERIC`/`DECIMAL` is cast in the SQL (`CAST(SUM(x) AS DOUBLE
//! PRECISION)`, `... AS DOUBLE`).

use std::time::SystemTime;

use super::batch::Batch;
use super::source::{ErrorKind, Source, SourceError, SourceOptions};
use crate::error::Error;
use crate::metric::dynamic::{self, Metric};
use crate::metric::standalone::Counter;
use driver::{Connect, Pool};
use params::relative_seconds;
use rows::series_names;

mod driver;
mod params;
mod query;
mod rows;

pub use query::{Param, PoolConfig, QueryConfig, QueryType};

/// A SQL source (see the [module docs](self)).
#[derive(Debug)]
pub struct SqlSource {
    name: String,
    connect: Connect,
    pool_config: PoolConfig,
    /// Made at the first run, on its runtime.
    pool: tokio::sync::OnceCell<Pool>,
    queries: Vec<QueryConfig>,
    options: SourceOptions,
    nulls: Option<Metric<Counter>>,
}

impl SqlSource {
    /// A source named `name` running `queries` against the database at
    /// `url` (`sqlite://path/to/file.db`, `postgresql://user@host/db`,
    /// `mysql://user@host/db`, as the drivers compiled in allow). Connections
    /// are opened when a run needs one, so a database that is down is a
    /// failed run, not an error here.
    ///
    /// # Errors
    ///
    /// [`Error::Source`] for a URL of no driver this build has, no queries, a
    /// query with a bad name, unit or label, or invalid options.
    pub fn new(
        name: impl Into<String>,
        url: &str,
        pool: &PoolConfig,
        queries: Vec<QueryConfig>,
        options: SourceOptions,
    ) -> Result<SqlSource, Error> {
        let name = name.into();
        let err = |field: &str, reason: String| Error::Source {
            source: name.clone(),
            field: Some(field.to_owned()),
            reason,
        };
        let connect = Connect::parse(url).map_err(|reason| err("connection_string", reason))?;
        if queries.is_empty() {
            return Err(err("queries", "a database source needs a query".into()));
        }
        if pool.max_connections == 0 {
            return Err(err("pool.max_connections", "must be at least 1".into()));
        }
        for (i, q) in queries.iter().enumerate() {
            check_query(q).map_err(|reason| err(&format!("queries[{i}]"), reason))?;
        }
        super::source::check(&name, &options)?;
        let nulls = dynamic::counter("telltale_source_null_values_total")
            .help("Rows of a SQL source's query skipped because their value was NULL, by source and query.")
            .required_labels(["source", "query"])
            .register()
            .ok()
            .map(|m| m.labels([("source", name.as_str())]));
        Ok(SqlSource {
            name,
            connect,
            pool_config: pool.clone(),
            pool: tokio::sync::OnceCell::new(),
            queries,
            options,
            nulls,
        })
    }

    /// The pool, made at the first run (connections open as queries need
    /// them).
    async fn pool(&self) -> &Pool {
        self.pool
            .get_or_init(|| async {
                // Half the run's time to get a connection: a database that
                // is down is a `connect` error, not a timeout.
                self.connect
                    .pool(&self.pool_config, self.options.effective_timeout() / 2)
            })
            .await
    }

    async fn run_query(&self, q: &QueryConfig, batch: &mut Batch) -> Result<(), SourceError> {
        let timeout = q.timeout.unwrap_or(self.options.effective_timeout());
        let pool = self.pool().await;
        let run = pool.run(q, SystemTime::now(), batch);
        let (rows, nulls) = match tokio::time::timeout(timeout, run).await {
            Err(_) => {
                return Err(SourceError::new(
                    ErrorKind::Timeout,
                    format!("query {:?} took longer than {timeout:?}", q.name),
                ))
            }
            Ok(outcome) => outcome?,
        };
        if let (Some(counter), true) = (&self.nulls, nulls > 0) {
            let _ = counter.labels([("query", q.name.as_str())]).inc_by(nulls);
        }
        if let Some(unit) = &q.unit {
            for name in series_names(q) {
                if rows > 0 {
                    let _ = batch.set_unit(&name, unit);
                }
            }
        }
        Ok(())
    }
}

fn check_query(q: &QueryConfig) -> Result<(), String> {
    crate::error::check_metric_name(&q.name).map_err(|e| e.to_string())?;
    if q.sql.trim().is_empty() {
        return Err("`sql` is empty".into());
    }
    if q.value_column.is_some() && !q.value_columns.is_empty() {
        return Err("give `value_column` or `value_columns`, not both".into());
    }
    for label in q.label_columns.iter().chain(q.labels.keys()) {
        crate::error::check_label_name(label).map_err(|e| e.to_string())?;
    }
    for param in &q.params {
        if let Param::Text(t) = param {
            if t.ends_with("_ago") && relative_seconds(t).is_none() {
                return Err(format!(
                    "parameter {t:?} is not a relative time: write \"<n><unit>_ago\" with the unit s, m, h or d"
                ));
            }
        }
    }
    if let Some(unit) = &q.unit {
        for name in series_names(q) {
            let family = name.strip_suffix("_total").unwrap_or(&name);
            if !family.ends_with(&format!("_{unit}")) {
                return Err(format!(
                    "the unit {unit:?} needs a name ending with `_{unit}`"
                ));
            }
        }
    }
    Ok(())
}

impl Source for SqlSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn options(&self) -> SourceOptions {
        // The queries' own timeouts say which query was slow.
        self.options.with_grace()
    }

    async fn collect(&self, batch: &mut Batch) -> Result<(), SourceError> {
        for q in &self.queries {
            self.run_query(q, batch).await?;
        }
        Ok(())
    }
}
