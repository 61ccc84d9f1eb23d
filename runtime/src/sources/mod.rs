//! Metric sources: metrics that come from outside the program (a command,
//! a database, a service), read on a schedule and exported beside the
//! program's own.
//!
//! A [`Source`] fills a [`Batch`] when it runs. [`start`] runs every source
//! registered with [`register_source!`](crate::register_source) and those
//! given, each on its own tokio task and schedule ([`SourceOptions`]):
//!
//! - a run is cut off at its timeout, and a run that panics is caught; both
//!   are failed runs, as is any error the source returns
//!   ([`SourceError`], whose [`ErrorKind`] says what kind);
//! - no run delays a scrape, another source or the hot path: a scrape reads
//!   the last good batch of every source, as it was published;
//! - after [`BreakerConfig::failures`] failed runs in a row the source's
//!   breaker opens and the source rests (exponential backoff with jitter,
//!   capped), then gets one trial run (half-open) that closes the breaker
//!   on success;
//! - while runs fail, the last good batch is served until
//!   [`SourceOptions::stale_after`] (three intervals by default) has passed
//!   since it was read; then the source's series are gone until a run
//!   succeeds, so dashboards show a gap, not an old number.
//!
//! Every source exports how it is doing, labeled by `source`:
//! `telltale_source_up` (1 after a good run, 0 after a failed one),
//! `telltale_source_duration_seconds` (the last run),
//! `telltale_source_errors_total{kind}` (`timeout`, `exit_status`, `parse`,
//! `connect`, `query`, `panic`, `output_too_large`),
//! `telltale_source_breaker_state` (0 closed, 1 open, 2 half-open) and
//! `telltale_source_last_success_timestamp_seconds`; [`Sources::status`]
//! (and [`status`], for every running set) says the same in a struct.
//!
//! [`ExecSource`] runs a command whose output is Prometheus text,
//! OpenMetrics text or telltale's JSON. [`CustomMetricsConfig`] is the
//! `[custom_metrics]` section of the configuration file, whose sources
//! `telltale agent` runs; its `/api/sources` answers [`status`].
//!
//! A source's families should not share names with the program's metrics
//! nor with other sources': a family two sources export is merged, the
//! source first by name keeping a series both have.

mod batch;
mod breaker;
mod config;
mod exec;
mod exposition;
mod long_running;
pub mod plugins;
mod process;
mod publish;
mod runner;
mod self_metrics;
mod source;
#[cfg(any(
    feature = "sql-sqlite",
    feature = "sql-postgres",
    feature = "sql-mysql"
))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        feature = "sql-sqlite",
        feature = "sql-postgres",
        feature = "sql-mysql"
    )))
)]
pub mod sql;

pub use batch::{Batch, HistogramPoints};
pub use breaker::{BreakerConfig, BreakerState};
pub use config::{CustomMetricsConfig, SourceConfig, SourceKind};
pub use exec::ExecSource;
pub use exposition::{read, OutputFormat};
pub use plugins::{PluginScan, RefusedPlugin};
pub use process::{ExecConfig, ExecMode, DEFAULT_MAX_OUTPUT_BYTES};
pub use runner::{start, status, SourceStatus, Sources};
pub use source::{ErrorKind, Registration, Source, SourceBox, SourceError, SourceOptions};
