//! The drivers: a connection URL read into its driver's options, the pool
//! made from them, and a query run on it, its parameters bound.

use std::time::{Duration, SystemTime};

use super::params::{bind_value, Bound};
use super::query::{PoolConfig, QueryConfig};
use super::rows::add_row;
use crate::sources::batch::Batch;
use crate::sources::source::SourceError;

/// Where to connect, by driver.
#[derive(Debug, Clone)]
pub(crate) enum Connect {
    #[cfg(feature = "sql-sqlite")]
    Sqlite(sqlx::sqlite::SqliteConnectOptions),
    #[cfg(feature = "sql-postgres")]
    Postgres(sqlx::postgres::PgConnectOptions),
    #[cfg(feature = "sql-mysql")]
    MySql(sqlx::mysql::MySqlConnectOptions),
}

/// A pool, by driver.
#[derive(Debug)]
pub(crate) enum Pool {
    #[cfg(feature = "sql-sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "sql-postgres")]
    Postgres(sqlx::PgPool),
    #[cfg(feature = "sql-mysql")]
    MySql(sqlx::MySqlPool),
}

/// The drivers of this build, for error messages.
fn drivers() -> String {
    let mut names: Vec<&str> = Vec::new();
    if cfg!(feature = "sql-sqlite") {
        names.push("sqlite://");
    }
    if cfg!(feature = "sql-postgres") {
        names.push("postgresql://");
    }
    if cfg!(feature = "sql-mysql") {
        names.push("mysql://");
    }
    names.join(", ")
}

impl Connect {
    /// The options `url` gives.
    pub(crate) fn parse(url: &str) -> Result<Connect, String> {
        let scheme = url.split_once(':').map_or("", |(s, _)| s);
        let parsed: Result<Connect, String> = match scheme {
            #[cfg(feature = "sql-sqlite")]
            "sqlite" => url.parse().map(Connect::Sqlite).map_err(|e| e.to_string()),
            #[cfg(feature = "sql-postgres")]
            "postgres" | "postgresql" => url.parse().map(Connect::Postgres).map_err(|e| e.to_string()),
            #[cfg(feature = "sql-mysql")]
            "mysql" | "mariadb" => {
                let url = url.strip_prefix("mariadb").map_or(url.to_owned(), |rest| format!("mysql{rest}"));
                url.parse().map(Connect::MySql).map_err(|e| e.to_string())
            }
            #[allow(unreachable_patterns)] // with every driver compiled in
            "sqlite" | "postgres" | "postgresql" | "mysql" | "mariadb" => Err(format!(
                "{scheme}:// needs a driver this build of telltale does not have (it has {}; see the sql-* features)",
                drivers()
            )),
            _ => Err(format!(
                "{:?} is not a database URL this build reads ({})",
                url.split('@').next_back().unwrap_or(""),
                drivers()
            )),
        };
        parsed
    }

    /// A pool for these options; connections open as queries need them.
    pub(crate) fn pool(&self, config: &PoolConfig, acquire: Duration) -> Pool {
        macro_rules! pool {
            ($options:ty, $connect:expr) => {
                <$options>::new()
                    .max_connections(config.max_connections)
                    .idle_timeout(config.idle_timeout)
                    .max_lifetime(config.max_lifetime)
                    .acquire_timeout(acquire)
                    .connect_lazy_with($connect.clone())
            };
        }
        match self {
            #[cfg(feature = "sql-sqlite")]
            Connect::Sqlite(c) => Pool::Sqlite(pool!(sqlx::sqlite::SqlitePoolOptions, c)),
            #[cfg(feature = "sql-postgres")]
            Connect::Postgres(c) => Pool::Postgres(pool!(sqlx::postgres::PgPoolOptions, c)),
            #[cfg(feature = "sql-mysql")]
            Connect::MySql(c) => Pool::MySql(pool!(sqlx::mysql::MySqlPoolOptions, c)),
        }
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

/// Seconds since the Unix epoch as a timestamp (the epoch itself when out
/// of range).
#[cfg(any(feature = "sql-postgres", feature = "sql-mysql"))]
fn timestamp(unix: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

impl Pool {
    /// Runs `q` (parameters bound as of `now`) and adds its rows to
    /// `batch`: how many rows, and how many NULL values were skipped.
    pub(crate) async fn run(
        &self,
        q: &QueryConfig,
        now: SystemTime,
        batch: &mut Batch,
    ) -> Result<(usize, u64), SourceError> {
        macro_rules! run {
            ($pool:expr, $time:expr) => {{
                let mut query = sqlx::query(&q.sql);
                for param in &q.params {
                    query = match bind_value(param, now) {
                        Bound::Bool(b) => query.bind(b),
                        Bound::Int(i) => query.bind(i),
                        Bound::Float(f) => query.bind(f),
                        Bound::Text(t) => query.bind(t),
                        Bound::Time(t) => query.bind(($time)(t)),
                    };
                }
                let rows = query
                    .fetch_all($pool)
                    .await
                    .map_err(|e| sql_error(&q.name, &e))?;
                let mut nulls = 0;
                for row in &rows {
                    nulls += add_row(q, row, batch)?;
                }
                Ok((rows.len(), nulls))
            }};
        }
        match self {
            #[cfg(feature = "sql-sqlite")]
            Pool::Sqlite(pool) => run!(pool, super::params::utc_text),
            #[cfg(feature = "sql-postgres")]
            Pool::Postgres(pool) => run!(pool, timestamp),
            #[cfg(feature = "sql-mysql")]
            Pool::MySql(pool) => run!(pool, timestamp),
        }
    }
}
