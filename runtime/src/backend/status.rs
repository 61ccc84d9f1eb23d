//! How the backend is doing, for [`status`] and the `telltale_backend_*`
//! self-metrics.

use std::sync::{Mutex, PoisonError};

use crate::collect::registry::{Collect, Desc, Sink};
use crate::collect::snapshot::{MetricKind, Value};

/// What the backend has done so far.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Status {
    /// `single`, `file` or `redis`.
    pub backend: &'static str,
    /// Whether the last write to the backend worked (always `true` for
    /// `single`).
    pub up: bool,
    /// The last problem: a failed flush, a file that does not read, a
    /// backend that could not start; `None` once a flush works again.
    pub error: Option<String>,
    /// Flushes that worked.
    pub flushes: u64,
    /// Flushes that failed (their changes are kept and sent again).
    pub flush_errors: u64,
    /// Series changes that were discarded, never stored (their key in
    /// Redis holds something else, or the server refused their batch three
    /// times).
    pub dropped: u64,
    /// Why changes were last dropped; kept when flushes work again.
    pub drop_reason: Option<String>,
    /// Processes whose values were merged at the last collection, running.
    pub live_processes: usize,
    /// Processes whose values were merged at the last collection, exited.
    pub dead_processes: usize,
    /// When the last flush worked (Unix seconds).
    pub last_flush: Option<f64>,
}

static STATE: Mutex<Option<Status>> = Mutex::new(None);

fn with<T>(f: impl FnOnce(&mut Status) -> T) -> T {
    let mut state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
    let s = state.get_or_insert_with(|| Status {
        backend: "single",
        up: true,
        ..Status::default()
    });
    f(s)
}

/// What the backend has done so far.
pub fn status() -> Status {
    with(|s| s.clone())
}

/// A backend started: its status begins now.
pub(crate) fn started(backend: &'static str) {
    with(|s| {
        s.backend = backend;
        s.up = true;
    });
    crate::collect::registry::register(&SELF_METRICS);
}

/// The chosen backend could not start.
pub(crate) fn failed(reason: &str) {
    with(|s| {
        s.up = false;
        s.error = Some(reason.to_owned());
    });
}

/// A flush (a write of this process's values) worked or failed.
pub(crate) fn flushed(outcome: Result<(), &str>) {
    with(|s| match outcome {
        Ok(()) => {
            s.up = true;
            s.flushes += 1;
            s.error = None;
            s.last_flush = Some(crate::store::clock::unix_now());
        }
        Err(e) => {
            s.up = false;
            s.flush_errors += 1;
            s.error = Some(e.to_owned());
        }
    });
}

/// A problem that is not a failed flush (a file that does not read).
pub(crate) fn problem(reason: &str) {
    with(|s| s.error = Some(reason.to_owned()));
}

/// `n` series changes were discarded, for `reason`.
#[cfg(feature = "backend-redis")]
pub(crate) fn dropped(n: u64, reason: &str) {
    with(|s| {
        s.dropped += n;
        s.drop_reason = Some(reason.to_owned());
    });
}

/// The processes the last collection merged.
pub(crate) fn processes(live: usize, dead: usize) {
    with(|s| {
        s.live_processes = live;
        s.dead_processes = dead;
    });
}

/// The `telltale_backend_*` series.
#[derive(Debug)]
struct SelfMetrics;

static SELF_METRICS: SelfMetrics = SelfMetrics;

impl Collect for SelfMetrics {
    fn shared(&self) -> bool {
        false
    }

    fn collect(&'static self, out: &mut Sink) {
        let s = status();
        let backend = || vec![("backend".to_owned(), s.backend.to_owned())];
        let gauge = |out: &mut Sink, name, help, labels, v: f64| {
            out.push(
                &Desc {
                    name,
                    help,
                    unit: None,
                    kind: MetricKind::Gauge,
                },
                labels,
                Value::Gauge(v),
                None,
            );
        };
        let counter = |out: &mut Sink, name, help, labels, v: u64| {
            out.push(
                &Desc {
                    name,
                    help,
                    unit: None,
                    kind: MetricKind::Counter,
                },
                labels,
                Value::Counter(v as f64),
                None,
            );
        };
        gauge(
            out,
            "telltale_backend_up",
            "Whether the last write to the multi-process backend worked.",
            backend(),
            if s.up { 1.0 } else { 0.0 },
        );
        for (result, n) in [("ok", s.flushes), ("error", s.flush_errors)] {
            let mut labels = backend();
            labels.push(("result".to_owned(), result.to_owned()));
            counter(
                out,
                "telltale_backend_flushes",
                "Writes of this process's values to the multi-process backend, by result.",
                labels,
                n,
            );
        }
        counter(
            out,
            "telltale_backend_dropped",
            "Series changes the multi-process backend discarded without storing them.",
            backend(),
            s.dropped,
        );
        for (state, n) in [("live", s.live_processes), ("dead", s.dead_processes)] {
            let mut labels = backend();
            labels.push(("state".to_owned(), state.to_owned()));
            gauge(
                out,
                "telltale_backend_processes",
                "Processes whose values the last collection merged, running or exited.",
                labels,
                n as f64,
            );
        }
    }
}
