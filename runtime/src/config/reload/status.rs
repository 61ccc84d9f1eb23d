//! What the running configuration is and how its reloads went: the
//! `telltale_config_*` series and the `/api/config` answer.

use std::sync::{LazyLock, Mutex, PoisonError};

use serde::Serialize;

use crate::metric::dynamic::{self, Metric};
use crate::metric::standalone::{Counter, Gauge};
use crate::store::clock::unix_seconds;

/// The state `/api/config` shows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConfigStatus {
    /// The configuration file.
    pub file: String,
    /// Every file read (the file and its includes).
    pub files: Vec<String>,
    /// The hash of the active configuration's files.
    pub hash: String,
    /// Whether the last reload (or the first load) succeeded.
    pub last_reload_successful: bool,
    /// When the active configuration was applied, in Unix seconds.
    pub last_reload_success_timestamp_seconds: f64,
    /// Why the last reload failed, if it did (secrets masked).
    pub last_error: Option<String>,
    /// Reloads that succeeded since the start.
    pub reloads_succeeded: u64,
    /// Reloads that failed since the start.
    pub reloads_failed: u64,
    /// Notes on the files (an older layout, say).
    pub warnings: Vec<String>,
    /// The active configuration as `telltale config show` prints it:
    /// merged, each value with its file and line, secrets masked.
    pub values: String,
}

static STATUS: Mutex<Option<ConfigStatus>> = Mutex::new(None);

struct Families {
    successful: Metric<Gauge>,
    timestamp: Metric<Gauge>,
    success: Metric<Counter>,
    failure: Metric<Counter>,
}

static FAMILIES: LazyLock<Option<Families>> = LazyLock::new(|| {
    let reloads = dynamic::counter("telltale_config_reloads_total")
        .help("Reloads of the configuration file, by result (success, failure).")
        .required_labels(["result"])
        .register()
        .ok()?;
    let success = reloads.labels([("result", "success")]);
    let failure = reloads.labels([("result", "failure")]);
    let _ = (success.inc_by(0), failure.inc_by(0));
    Some(Families {
        successful: dynamic::gauge("telltale_config_last_reload_successful")
            .help("1 when the last reload of the configuration file succeeded, 0 when it failed.")
            .register()
            .ok()?,
        timestamp: dynamic::gauge("telltale_config_last_reload_success_timestamp_seconds")
            .help("When the configuration in force was applied, in Unix seconds.")
            .register()
            .ok()?,
        success,
        failure,
    })
});

/// The status, as `/api/config` shows it; `None` before a configuration
/// file was loaded for reloading.
pub fn config_status() -> Option<ConfigStatus> {
    STATUS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// A configuration was applied (the first load, or a reload when
/// `reload`).
pub(super) fn applied(mut status: ConfigStatus, reload: bool) {
    let now = unix_seconds(std::time::SystemTime::now());
    let mut current = STATUS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(previous) = current.as_ref() {
        status.reloads_succeeded = previous.reloads_succeeded;
        status.reloads_failed = previous.reloads_failed;
    }
    if reload {
        status.reloads_succeeded += 1;
    }
    status.last_reload_successful = true;
    status.last_reload_success_timestamp_seconds = now;
    status.last_error = None;
    *current = Some(status);
    if let Some(f) = FAMILIES.as_ref() {
        let _ = f.successful.set(1.0);
        let _ = f.timestamp.set(now);
        if reload {
            let _ = f.success.inc();
        }
    }
}

/// A reload failed: the running configuration stays.
pub(super) fn failed(error: String) {
    let mut current = STATUS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(status) = current.as_mut() {
        status.last_reload_successful = false;
        status.last_error = Some(error);
        status.reloads_failed += 1;
    }
    if let Some(f) = FAMILIES.as_ref() {
        let _ = f.successful.set(0.0);
        let _ = f.failure.inc();
    }
}

/// The configuration is no longer watched.
pub(super) fn clear() {
    *STATUS.lock().unwrap_or_else(PoisonError::into_inner) = None;
}

/// `/api/config`.
#[cfg(feature = "server")]
pub(super) fn api() -> (u16, String) {
    match config_status() {
        Some(status) => (
            200,
            serde_json::to_string(&status).unwrap_or_else(|_| "{}".to_owned()),
        ),
        None => (
            404,
            r#"{"error":"no configuration file is loaded for reloading"}"#.to_owned(),
        ),
    }
}
