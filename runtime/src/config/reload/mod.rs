//! Running what a configuration file describes and reloading it while
//! running (feature `reload`): [`Live`].
//!
//! ```no_run
//! # async fn example() -> Result<(), telltale::Error> {
//! use telltale::config::reload::{Live, LiveOptions};
//!
//! // The system, the server and the sources of the file, started; the file
//! // and its includes watched, SIGHUP and `POST /-/reload` listened to.
//! let live = Live::start("/etc/telltale/agent.toml", LiveOptions::default()).await?;
//! // ... later, or never: every change of the file is applied by itself.
//! let changes = live.reload().await?;
//! println!("{changes:?}");
//! live.stop().await;
//! # Ok(())
//! # }
//! ```
//!
//! Every reload is counted in `telltale_config_reloads_total{result}`;
//! `telltale_config_last_reload_successful` is 1 or 0 and
//! `telltale_config_last_reload_success_timestamp_seconds` says when the
//! configuration in force was applied, as Prometheus's own
//! `prometheus_config_*` series do. `/api/config` answers
//! [`ConfigStatus`]: the files, their hash, the last error, the values
//! with their origin (secrets masked).

mod live;
mod status;
mod watch;

pub use live::{AdjustFn, Live, LiveOptions, ReloadReport, ReportFn, Trigger};
pub use status::{config_status, ConfigStatus};
