//! What a SQL source's configuration says: its queries, their parameters
//! and types, and the connection pool.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

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
