//! SQL sources: queries whose rows become series, on SQLite (embedded, the
//! `sql-sqlite` feature).
//!
//! Each query names its series (`name`), its type (`gauge` or `counter`),
//! the column(s) holding values, the columns that are labels and labels of
//! its own. Parameters are bound (`$1` or `?`), never spliced into the SQL:
//! a literal (string, integer, float, boolean) or a relative time,
//! `"now"` or `"<n><unit>_ago"` (`30s_ago`, `15m_ago`, `1h_ago`, `7d_ago`),
//! bound as UTC text `YYYY-MM-DD HH:MM:SS`, the form SQLite's
//! `CURRENT_TIMESTAMP` and `datetime()` write. A row whose value is NULL is
//! skipped and counted in `telltale_source_null_values_total{source,query}`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{Column as _, Row as _, TypeInfo as _, ValueRef as _};

use super::batch::Batch;
use super::source::{ErrorKind, Source, SourceError, SourceOptions};
use crate::error::Error;
use crate::metric::dynamic::{self, Metric};
use crate::metric::standalone::Counter;

/// A query's series type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryType {
    /// A value that goes up and down (the default).
    #[default]
    Gauge,
    /// A total that only goes up.
    Counter,
}

/// A query parameter as the configuration writes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Param {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string: `"now"`, `"<n><unit>_ago"`, or a literal.
    Text(String),
}

/// One query of a SQL source.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryConfig {
    /// The series' name (a counter's with or without `_total`).
    pub name: String,
    /// The SQL.
    pub sql: String,
    /// Bound to `$1`, `$2`, ... (or `?`) in order.
    #[serde(default)]
    pub params: Vec<Param>,
    /// `gauge` (default) or `counter`; `otel_type` is the seed's name for it.
    #[serde(default, alias = "otel_type", rename = "type")]
    pub kind: QueryType,
    /// The HELP text.
    #[serde(default)]
    pub help: String,
    /// The unit (the name must end with it).
    #[serde(default)]
    pub unit: Option<String>,
    /// The value column; by default the one column that is not a label.
    #[serde(default)]
    pub value_column: Option<String>,
    /// Several value columns: one series each, named `<name>_<column>`.
    #[serde(default)]
    pub value_columns: Vec<String>,
    /// Columns whose values are labels (named after the column).
    #[serde(default)]
    pub label_columns: Vec<String>,
    /// Labels of the query's own.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The longest the query may take (default: the source's timeout).
    #[serde(default, with = "crate::config::duration::option")]
    pub timeout: Option<Duration>,
}

/// A SQL source's connection pool.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolConfig {
    /// Most connections open at once (default 2).
    pub max_connections: u32,
    /// A connection idle this long is closed (default 5 min).
    #[serde(with = "crate::config::duration")]
    pub idle_timeout: Duration,
    /// A connection is closed after this long (default 30 min).
    #[serde(with = "crate::config::duration")]
    pub max_lifetime: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_connections: 2,
            idle_timeout: Duration::from_mins(5),
            max_lifetime: Duration::from_mins(30),
        }
    }
}

/// The value a parameter is bound to.
#[derive(Debug, Clone, PartialEq)]
enum Bound {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

/// `"now"` and `"<n><unit>_ago"` as seconds before now; `None` for any
/// other text.
fn relative_seconds(text: &str) -> Option<u64> {
    if text == "now" {
        return Some(0);
    }
    let amount = text.strip_suffix("_ago")?;
    let split = amount.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = amount.split_at(split);
    let n: u64 = n.parse().ok()?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(unit)
}

/// `unix` seconds as UTC `YYYY-MM-DD HH:MM:SS`.
fn utc_text(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Days since 1970-01-01 to a civil date (proleptic Gregorian), by eras
    // of 400 years.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn bind_value(param: &Param, now: SystemTime) -> Bound {
    match param {
        Param::Bool(b) => Bound::Bool(*b),
        Param::Int(i) => Bound::Int(*i),
        Param::Float(f) => Bound::Float(*f),
        Param::Text(text) => match relative_seconds(text) {
            Some(ago) => {
                let unix = now
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
                Bound::Text(utc_text(
                    unix.saturating_sub(i64::try_from(ago).unwrap_or(i64::MAX)),
                ))
            }
            None => Bound::Text(text.clone()),
        },
    }
}

/// A SQL source (see the [module docs](self)).
#[derive(Debug)]
pub struct SqlSource {
    name: String,
    connect: SqliteConnectOptions,
    pool_config: PoolConfig,
    /// Made at the first run, on its runtime.
    pool: tokio::sync::OnceCell<SqlitePool>,
    queries: Vec<QueryConfig>,
    options: SourceOptions,
    nulls: Option<Metric<Counter>>,
}

impl SqlSource {
    /// A source named `name` running `queries` against the database at
    /// `url` (`sqlite://path/to/file.db`, `sqlite::memory:`). Connections
    /// are opened when a run needs one, so a database that is down is a
    /// failed run, not an error here.
    ///
    /// # Errors
    ///
    /// [`Error::Source`] for a URL that is not SQLite's, no queries, a
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
        let connect: SqliteConnectOptions = match url.split_once(':') {
            Some(("sqlite", _)) => url
                .parse()
                .map_err(|e| err("connection_string", format!("{e}")))?,
            Some((scheme @ ("postgres" | "postgresql" | "mysql" | "mariadb"), _)) => {
                return Err(err(
                    "connection_string",
                    format!("{scheme}:// needs a driver this build of telltale does not have; it has SQLite (sqlite://)"),
                ))
            }
            _ => {
                return Err(err(
                    "connection_string",
                    "must start with sqlite:// (or sqlite::memory:)".into(),
                ))
            }
        };
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
    async fn pool(&self) -> &SqlitePool {
        self.pool
            .get_or_init(|| async {
                let c = &self.pool_config;
                SqlitePoolOptions::new()
                    .max_connections(c.max_connections)
                    .idle_timeout(c.idle_timeout)
                    .max_lifetime(c.max_lifetime)
                    .acquire_timeout(self.options.effective_timeout())
                    .connect_lazy_with(self.connect.clone())
            })
            .await
    }

    async fn run_query(&self, q: &QueryConfig, batch: &mut Batch) -> Result<(), SourceError> {
        let now = SystemTime::now();
        let mut query = sqlx::query(&q.sql);
        for param in &q.params {
            query = match bind_value(param, now) {
                Bound::Bool(b) => query.bind(b),
                Bound::Int(i) => query.bind(i),
                Bound::Float(f) => query.bind(f),
                Bound::Text(t) => query.bind(t),
            };
        }
        let timeout = q.timeout.unwrap_or(self.options.effective_timeout());
        let rows = match tokio::time::timeout(timeout, query.fetch_all(self.pool().await)).await {
            Err(_) => {
                return Err(SourceError::new(
                    ErrorKind::Timeout,
                    format!("query {:?} took longer than {timeout:?}", q.name),
                ))
            }
            Ok(Err(e)) => return Err(sql_error(&q.name, &e)),
            Ok(Ok(rows)) => rows,
        };
        let mut nulls = 0u64;
        for row in &rows {
            nulls += add_row(q, row, batch)?;
        }
        if let (Some(counter), true) = (&self.nulls, nulls > 0) {
            let _ = counter.labels([("query", q.name.as_str())]).inc_by(nulls);
        }
        if let Some(unit) = &q.unit {
            for name in series_names(q) {
                if batch.value(&name, &[]).is_some() || !rows.is_empty() {
                    let _ = batch.set_unit(&name, unit);
                }
            }
        }
        Ok(())
    }
}

/// The kind of a sqlx error: a connection that could not be made, or a
/// query that failed.
fn sql_error(query: &str, e: &sqlx::Error) -> SourceError {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Configuration(_) => SourceError::connect(format!("query {query:?}: {e}")),
        sqlx::Error::Database(db) if db.message().contains("unable to open") => {
            SourceError::connect(format!("query {query:?}: {e}"))
        }
        _ => SourceError::query(format!("query {query:?}: {e}")),
    }
}

fn series_names(q: &QueryConfig) -> Vec<String> {
    if q.value_columns.is_empty() {
        vec![q.name.clone()]
    } else {
        q.value_columns
            .iter()
            .map(|c| format!("{}_{c}", q.name.strip_suffix("_total").unwrap_or(&q.name)))
            .collect()
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

/// A column's value as text, for a label.
fn text_of(row: &SqliteRow, column: &str) -> Result<String, SourceError> {
    let raw = row
        .try_get_raw(column)
        .map_err(|e| SourceError::query(format!("label column {column:?}: {e}")))?;
    if raw.is_null() {
        return Ok(String::new());
    }
    let type_name = raw.type_info().name().to_ascii_uppercase();
    let text = match type_name.as_str() {
        "INTEGER" => row.try_get::<i64, _>(column).map(|v| v.to_string()),
        "REAL" => row.try_get::<f64, _>(column).map(|v| v.to_string()),
        _ => row.try_get::<String, _>(column),
    };
    text.map_err(|e| SourceError::query(format!("label column {column:?}: {e}")))
}

/// A column's value as a number; `None` for NULL.
fn number_of(row: &SqliteRow, column: &str) -> Result<Option<f64>, SourceError> {
    let raw = row
        .try_get_raw(column)
        .map_err(|e| SourceError::query(format!("value column {column:?}: {e}")))?;
    if raw.is_null() {
        return Ok(None);
    }
    if let Ok(v) = row.try_get::<f64, _>(column) {
        return Ok(Some(v));
    }
    if let Ok(v) = row.try_get::<i64, _>(column) {
        #[allow(clippy::cast_precision_loss)] // as Prometheus values are
        return Ok(Some(v as f64));
    }
    if let Ok(text) = row.try_get::<String, _>(column) {
        if let Ok(v) = text.trim().parse::<f64>() {
            return Ok(Some(v));
        }
        return Err(SourceError::query(format!(
            "value column {column:?} holds {text:?}, not a number"
        )));
    }
    Err(SourceError::query(format!(
        "value column {column:?} is not a number"
    )))
}

/// Adds the series of one row; how many of its values were NULL.
fn add_row(q: &QueryConfig, row: &SqliteRow, batch: &mut Batch) -> Result<u64, SourceError> {
    let mut labels: Vec<(String, String)> = Vec::new();
    for column in &q.label_columns {
        labels.push((column.clone(), text_of(row, column)?));
    }
    labels.extend(q.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    let value_columns: Vec<String> = if !q.value_columns.is_empty() {
        q.value_columns.clone()
    } else if let Some(column) = &q.value_column {
        vec![column.clone()]
    } else {
        let others: Vec<String> = row
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .filter(|c| !q.label_columns.contains(c))
            .collect();
        match others.as_slice() {
            [one] => vec![one.clone()],
            _ => {
                return Err(SourceError::query(format!(
                    "query {:?} returns the columns {others:?} besides its labels: name the value with `value_column`",
                    q.name
                )))
            }
        }
    };
    let names = series_names(q);
    let pairs: Vec<(&str, &str)> = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut nulls = 0;
    for (name, column) in names.iter().zip(&value_columns) {
        let Some(value) = number_of(row, column)? else {
            nulls += 1;
            continue;
        };
        let added = match q.kind {
            QueryType::Gauge => batch.gauge(name, &q.help, &pairs, value),
            QueryType::Counter => batch.counter(name, &q.help, &pairs, value),
        };
        added.map_err(|e| SourceError::query(format!("query {:?}: {e}", q.name)))?;
    }
    Ok(nulls)
}

impl Source for SqlSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn options(&self) -> SourceOptions {
        self.options.clone()
    }

    async fn collect(&self, batch: &mut Batch) -> Result<(), SourceError> {
        for q in &self.queries {
            self.run_query(q, batch).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_are_read_and_written_as_sqlite_does() {
        assert_eq!(relative_seconds("now"), Some(0));
        assert_eq!(relative_seconds("1h_ago"), Some(3600));
        assert_eq!(relative_seconds("15m_ago"), Some(900));
        assert_eq!(relative_seconds("30s_ago"), Some(30));
        assert_eq!(relative_seconds("7d_ago"), Some(604_800));
        assert_eq!(relative_seconds("1y_ago"), None);
        assert_eq!(relative_seconds("h_ago"), None);
        assert_eq!(relative_seconds("yesterday"), None);
        assert_eq!(utc_text(0), "1970-01-01 00:00:00");
        assert_eq!(utc_text(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc_text(1_700_000_000), "2023-11-14 22:13:20");
        assert_eq!(utc_text(4_107_542_399), "2100-02-28 23:59:59");
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            bind_value(&Param::Text("1h_ago".into()), at),
            Bound::Text("2023-11-14 21:13:20".into())
        );
        assert_eq!(
            bind_value(&Param::Text("literal".into()), at),
            Bound::Text("literal".into())
        );
    }
}
