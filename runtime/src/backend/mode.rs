//! How a multi-process backend combines one gauge's values from several
//! processes.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// How a multi-process backend combines a gauge's per-process values (the
/// modes of Python prometheus_client's multiprocess mode). Counters and
/// histograms are always summed; with the single-process backend the mode
/// has no effect.
///
/// A *live* process is one still running (file backend: its pid runs with
/// the start time its file is named by; Redis: it flushed within the last
/// three flush intervals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "json", serde(rename_all = "snake_case"))]
pub enum GaugeMode {
    /// One series per process, live or dead, with a `pid` label (the
    /// default, as in prometheus_client).
    #[default]
    All,
    /// One series per live process, with a `pid` label.
    LiveAll,
    /// The sum over every process, live or dead.
    Sum,
    /// The sum over live processes.
    LiveSum,
    /// The largest value of any process.
    Max,
    /// The smallest value of any process.
    Min,
    /// The value most recently changed in any process.
    MostRecent,
}

impl GaugeMode {
    /// Every mode, in the order files number them.
    pub const ALL: [GaugeMode; 7] = [
        GaugeMode::All,
        GaugeMode::LiveAll,
        GaugeMode::Sum,
        GaugeMode::LiveSum,
        GaugeMode::Max,
        GaugeMode::Min,
        GaugeMode::MostRecent,
    ];

    /// The mode's name as configuration and files spell it (`live_sum`).
    pub fn as_str(self) -> &'static str {
        match self {
            GaugeMode::All => "all",
            GaugeMode::LiveAll => "live_all",
            GaugeMode::Sum => "sum",
            GaugeMode::LiveSum => "live_sum",
            GaugeMode::Max => "max",
            GaugeMode::Min => "min",
            GaugeMode::MostRecent => "most_recent",
        }
    }

    /// The mode named `name` (as [`as_str`](Self::as_str) spells it).
    pub fn from_name(name: &str) -> Option<GaugeMode> {
        GaugeMode::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// Whether values of dead processes are left out.
    #[cfg(any(feature = "backend-file", feature = "backend-redis"))]
    pub(crate) fn live_only(self) -> bool {
        matches!(self, GaugeMode::LiveAll | GaugeMode::LiveSum)
    }

    /// Whether each process keeps its own series (with a `pid` label).
    #[cfg(any(feature = "backend-file", feature = "backend-redis"))]
    pub(crate) fn per_process(self) -> bool {
        matches!(self, GaugeMode::All | GaugeMode::LiveAll)
    }
}

/// Modes of gauge families that do not use the default, by family name.
static MODES: Mutex<Option<HashMap<String, GaugeMode>>> = Mutex::new(None);

/// Records that the gauge family `family` combines by `mode` (called by a
/// gauge with a mode of its own each time it is collected: a cheap look-up
/// once it is recorded).
pub(crate) fn note(family: &str, mode: GaugeMode) {
    let mut modes = MODES.lock().unwrap_or_else(PoisonError::into_inner);
    let modes = modes.get_or_insert_with(HashMap::new);
    if modes.get(family) != Some(&mode) {
        modes.insert(family.to_owned(), mode);
    }
}

/// The mode of the gauge family `family`.
#[cfg(any(feature = "backend-file", feature = "backend-redis"))]
pub(crate) fn of(family: &str) -> GaugeMode {
    MODES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .and_then(|m| m.get(family).copied())
        .unwrap_or_default()
}
