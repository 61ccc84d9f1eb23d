//! The `[custom_metrics]` section: plugin directories and sources, as the
//! configuration file writes them, and building the sources it names.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::breaker::BreakerConfig;
use super::exec::ExecSource;
use super::exposition::OutputFormat;
use super::process::{ExecConfig, ExecMode, DEFAULT_MAX_OUTPUT_BYTES};
use super::source::{SourceBox, SourceOptions};
use crate::error::Error;

/// Metric sources from a configuration file: `[custom_metrics]`.
///
/// ```toml
/// [custom_metrics]
/// plugin_directories = ["./plugins"]
///
/// [[custom_metrics.sources]]
/// name = "disk_check"
/// type = "exec"
/// command = ["./check.sh", "--fast"]
/// interval = "10s"        # or a number of seconds
/// timeout = "2s"
/// format = "prometheus"   # "openmetrics", "json"
/// labels = { site = "eu-1" }
/// env = { MODE = "fast" }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CustomMetricsConfig {
    /// Folders whose executables are plugins (see
    /// [`plugins`](super::plugins)), run with [`Sources::watch_plugins`](super::Sources::watch_plugins).
    pub plugin_directories: Vec<PathBuf>,
    /// How often the plugin directories are scanned again (default 30 s;
    /// see [`rescan_every`](Self::rescan_every)).
    #[serde(with = "crate::config::duration::option")]
    pub rescan_interval: Option<Duration>,
    /// The window of the aggregation rules that name none (default 5
    /// minutes).
    #[serde(with = "crate::config::duration::option")]
    pub aggregation_window: Option<Duration>,
    /// The sources, `[[custom_metrics.sources]]`.
    pub sources: Vec<SourceConfig>,
    /// Aggregation rules, `[[custom_metrics.aggregators]]`; see
    /// [`aggregate`](crate::aggregate).
    #[cfg(feature = "aggregate")]
    #[cfg_attr(docsrs, doc(cfg(feature = "aggregate")))]
    pub aggregators: Vec<crate::aggregate::Rule>,
    /// Without the `aggregate` feature, rules are refused.
    #[cfg(not(feature = "aggregate"))]
    #[doc(hidden)]
    pub aggregators: Vec<NoAggregate>,
}

/// An aggregation rule in a build without the `aggregate` feature: refused
/// when read.
#[cfg(not(feature = "aggregate"))]
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq)]
pub enum NoAggregate {}

#[cfg(not(feature = "aggregate"))]
impl<'de> Deserialize<'de> for NoAggregate {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom(
            "aggregation rules need telltale's `aggregate` feature",
        ))
    }
}

/// What kind of source a [`SourceConfig`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A command ([`ExecSource`]).
    Exec,
    /// SQL queries against a database.
    Database,
}

fn default_interval() -> Duration {
    SourceOptions::default().interval
}

fn default_timeout() -> Duration {
    SourceOptions::default().timeout
}

fn default_max_output() -> usize {
    DEFAULT_MAX_OUTPUT_BYTES
}

/// One `[[custom_metrics.sources]]` entry.
///
/// `Debug` hides the values of `env` and everything of `connection_string`
/// past its scheme, which may hold credentials.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// The source's name (the `source` label of its self-metrics).
    pub name: String,
    /// `"exec"` or `"database"`.
    #[serde(rename = "type")]
    pub kind: SourceKind,
    /// Time between runs (default 60 s).
    #[serde(default = "default_interval", with = "crate::config::duration")]
    pub interval: Duration,
    /// The longest a run may take (default 10 s, at most the interval).
    #[serde(default = "default_timeout", with = "crate::config::duration")]
    pub timeout: Duration,
    /// How long the last good values are served while runs fail (default
    /// three intervals).
    #[serde(default, with = "crate::config::duration::option")]
    pub stale_after: Option<Duration>,
    /// Labels added to every series.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The circuit breaker.
    #[serde(default)]
    pub breaker: BreakerConfig,
    /// Exec: the program and its arguments.
    #[serde(default)]
    pub command: Vec<String>,
    /// Exec: the environment the command gets (nothing else is set).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Exec: variables passed on from telltale's environment.
    #[serde(default)]
    pub inherit_env: Vec<String>,
    /// Exec: the working directory.
    #[serde(default)]
    pub working_dir: Option<PathBuf>,
    /// Exec: `one_shot` (a process a run, the default) or `long_running`
    /// (one process printing a batch each interval).
    #[serde(default)]
    pub mode: ExecMode,
    /// Exec: the output's format (default `prometheus`).
    #[serde(default)]
    pub format: OutputFormat,
    /// Exec: the most bytes of output read (default 4 MiB).
    #[serde(default = "default_max_output")]
    pub max_output_bytes: usize,
    /// Database: where to connect.
    #[serde(default)]
    pub connection_string: Option<String>,
    /// Database: the queries.
    #[cfg(any(
        feature = "sql-sqlite",
        feature = "sql-postgres",
        feature = "sql-mysql"
    ))]
    #[serde(default)]
    pub queries: Vec<super::sql::QueryConfig>,
    /// Database: the queries (this build has no SQL driver).
    #[cfg(not(any(
        feature = "sql-sqlite",
        feature = "sql-postgres",
        feature = "sql-mysql"
    )))]
    #[serde(default)]
    pub queries: Vec<serde_json::Value>,
    /// Database: the connection pool.
    #[cfg(any(
        feature = "sql-sqlite",
        feature = "sql-postgres",
        feature = "sql-mysql"
    ))]
    #[serde(default)]
    pub pool: super::sql::PoolConfig,
}

impl std::fmt::Debug for SourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let env: BTreeMap<&str, &str> = self.env.keys().map(|k| (k.as_str(), "***")).collect();
        let connection = self
            .connection_string
            .as_deref()
            .map(|url| match url.split_once("://") {
                Some((scheme, _)) => format!("{scheme}://***"),
                None => "***".to_owned(),
            });
        let mut out = f.debug_struct("SourceConfig");
        out.field("name", &self.name)
            .field("kind", &self.kind)
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .field("stale_after", &self.stale_after)
            .field("labels", &self.labels)
            .field("breaker", &self.breaker)
            .field("command", &self.command)
            .field("env", &env)
            .field("inherit_env", &self.inherit_env)
            .field("working_dir", &self.working_dir)
            .field("mode", &self.mode)
            .field("format", &self.format)
            .field("max_output_bytes", &self.max_output_bytes)
            .field("connection_string", &connection)
            .field("queries", &self.queries);
        #[cfg(any(
            feature = "sql-sqlite",
            feature = "sql-postgres",
            feature = "sql-mysql"
        ))]
        out.field("pool", &self.pool);
        out.finish()
    }
}

impl SourceConfig {
    fn options(&self) -> SourceOptions {
        SourceOptions {
            interval: self.interval,
            timeout: self.timeout,
            stale_after: self.stale_after,
            breaker: self.breaker.clone(),
            labels: self
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// The source this entry describes, checked.
    ///
    /// # Errors
    ///
    /// [`Error::Source`] naming the source and the field at fault.
    pub fn build(&self) -> Result<SourceBox, Error> {
        let err = |field: &str, reason: &str| Error::Source {
            source: self.name.clone(),
            field: Some(field.to_owned()),
            reason: reason.to_owned(),
        };
        match self.kind {
            SourceKind::Exec => {
                if self.connection_string.is_some() {
                    return Err(err(
                        "connection_string",
                        "is for database sources, not exec",
                    ));
                }
                if !self.queries.is_empty() {
                    return Err(err("queries", "are for database sources, not exec"));
                }
                let config = ExecConfig {
                    mode: self.mode,
                    command: self.command.clone(),
                    env: self.env.clone(),
                    inherit_env: self.inherit_env.clone(),
                    working_dir: self.working_dir.clone(),
                    format: self.format,
                    max_output_bytes: self.max_output_bytes,
                };
                Ok(SourceBox::new(ExecSource::new(
                    &self.name,
                    config,
                    self.options(),
                )?))
            }
            SourceKind::Database => {
                if !self.command.is_empty() {
                    return Err(err("command", "is for exec sources, not database"));
                }
                let Some(url) = &self.connection_string else {
                    return Err(err("connection_string", "a database source needs one"));
                };
                #[cfg(any(
                    feature = "sql-sqlite",
                    feature = "sql-postgres",
                    feature = "sql-mysql"
                ))]
                {
                    Ok(SourceBox::new(super::sql::SqlSource::new(
                        &self.name,
                        url,
                        &self.pool,
                        self.queries.clone(),
                        self.options(),
                    )?))
                }
                #[cfg(not(any(
                    feature = "sql-sqlite",
                    feature = "sql-postgres",
                    feature = "sql-mysql"
                )))]
                {
                    let _ = url;
                    Err(err(
                        "type",
                        "database sources need one of telltale's `sql-sqlite`, `sql-postgres` or `sql-mysql` features",
                    ))
                }
            }
        }
    }
}

impl CustomMetricsConfig {
    /// How often plugin directories are scanned: `rescan_interval`, 30 s
    /// by default.
    pub fn rescan_every(&self) -> Duration {
        self.rescan_interval.unwrap_or(Duration::from_secs(30))
    }

    /// Every mistake of the section, each as the key at fault (below
    /// `custom_metrics`: `sources[2].interval`, `plugin_directories[0]`)
    /// and what is wrong: each source built on its own, two sources of one
    /// name, a zero `rescan_interval`, a plugin directory that does not
    /// exist (or is not a directory).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut names = std::collections::BTreeMap::new();
        for (i, source) in self.sources.iter().enumerate() {
            if let Some(first) = names.insert(source.name.as_str(), i) {
                problems.push((
                    format!("sources[{i}].name"),
                    format!(
                        "{:?} is also the name of sources[{first}]; each source needs its own name",
                        source.name
                    ),
                ));
                continue;
            }
            if let Err(Error::Source { field, reason, .. }) = source.build() {
                let key = match field {
                    Some(field) => format!("sources[{i}].{field}"),
                    None => format!("sources[{i}]"),
                };
                problems.push((key, format!("source {:?}: {reason}", source.name)));
            }
        }
        if self.rescan_interval.is_some_and(|d| d.is_zero()) {
            problems.push((
                "rescan_interval".to_owned(),
                "must be above zero".to_owned(),
            ));
        }
        for (i, dir) in self.plugin_directories.iter().enumerate() {
            match std::fs::metadata(dir) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => problems.push((
                    format!("plugin_directories[{i}]"),
                    format!("{} is not a directory", dir.display()),
                )),
                Err(e) => problems.push((
                    format!("plugin_directories[{i}]"),
                    format!("plugin directory {}: {e}", dir.display()),
                )),
            }
        }
        problems
    }

    /// Every source the section names, built; the errors of all that are
    /// wrong (each naming its source and field), not only the first.
    ///
    /// # Errors
    ///
    /// One [`Error::Source`] per source that is wrong, and for two sources
    /// of one name.
    pub fn build(&self) -> Result<Vec<SourceBox>, Vec<Error>> {
        let mut built = Vec::new();
        let mut errors = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for source in &self.sources {
            if !names.insert(source.name.as_str()) {
                errors.push(Error::Source {
                    source: source.name.clone(),
                    field: Some("name".into()),
                    reason: "two sources have this name".into(),
                });
                continue;
            }
            match source.build() {
                Ok(b) => built.push(b),
                Err(e) => errors.push(e),
            }
        }
        if self.rescan_interval.is_some_and(|d| d.is_zero()) {
            errors.push(Error::Source {
                source: String::new(),
                field: Some("rescan_interval".into()),
                reason: "must be above zero".into(),
            });
        }
        if errors.is_empty() {
            Ok(built)
        } else {
            Err(errors)
        }
    }
}
