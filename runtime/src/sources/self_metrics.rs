//! The `telltale_source_*` series: how every source is doing.

use std::collections::BTreeMap;
use std::sync::{Mutex, Once, PoisonError};

use super::breaker::BreakerState;
use super::source::ErrorKind;
use crate::collect::registry::{self, Collect, Desc, Sink};
use crate::collect::snapshot::MetricKind;
use crate::collect::snapshot::Value;

/// One source's values.
#[derive(Debug, Clone, Default)]
struct Values {
    /// `None` before the first run.
    up: Option<f64>,
    duration: Option<f64>,
    errors: [u64; ErrorKind::ALL.len()],
    breaker: f64,
    last_success: Option<f64>,
}

/// Every running source's values, by name; a source that stops is taken
/// out, and its series go with it.
static VALUES: Mutex<BTreeMap<String, Values>> = Mutex::new(BTreeMap::new());

fn values() -> std::sync::MutexGuard<'static, BTreeMap<String, Values>> {
    VALUES.lock().unwrap_or_else(PoisonError::into_inner)
}

const UP: Desc<'static> = Desc {
    name: "telltale_source_up",
    help: "1 when the source's last run succeeded, 0 when it failed, by source.",
    unit: None,
    kind: MetricKind::Gauge,
};
const DURATION: Desc<'static> = Desc {
    name: "telltale_source_duration_seconds",
    help: "How long the source's last run took, by source.",
    unit: None,
    kind: MetricKind::Gauge,
};
const ERRORS: Desc<'static> = Desc {
    name: "telltale_source_errors",
    help: "Failed runs of a source, by source and kind (timeout, exit_status, parse, connect, query, panic, output_too_large).",
    unit: None,
    kind: MetricKind::Counter,
};
const BREAKER: Desc<'static> = Desc {
    name: "telltale_source_breaker_state",
    help: "The source's circuit breaker: 0 closed, 1 open, 2 half-open, by source.",
    unit: None,
    kind: MetricKind::Gauge,
};
const LAST_SUCCESS: Desc<'static> = Desc {
    name: "telltale_source_last_success_timestamp_seconds",
    help: "When the source last ran successfully, in Unix seconds, by source.",
    unit: None,
    kind: MetricKind::Gauge,
};

struct SelfCollector;

static COLLECTOR: SelfCollector = SelfCollector;

impl Collect for SelfCollector {
    /// Values of this process alone: a multi-process backend leaves them
    /// out of what it merges.
    fn shared(&self) -> bool {
        false
    }

    fn collect(&'static self, out: &mut Sink) {
        let all: Vec<(String, Values)> = values()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if all.is_empty() {
            return;
        }
        let source = |name: &str| vec![("source".to_owned(), name.to_owned())];
        for desc in [&UP, &DURATION, &ERRORS, &BREAKER, &LAST_SUCCESS] {
            out.declare(desc);
        }
        for (name, v) in &all {
            if let Some(up) = v.up {
                out.push(&UP, source(name), Value::Gauge(up), None);
            }
            if let Some(duration) = v.duration {
                out.push(&DURATION, source(name), Value::Gauge(duration), None);
            }
            for (kind, count) in ErrorKind::ALL.iter().zip(v.errors) {
                let labels = vec![
                    ("source".to_owned(), name.clone()),
                    ("kind".to_owned(), kind.as_str().to_owned()),
                ];
                out.push(&ERRORS, labels, Value::Counter(count as f64), None);
            }
            out.push(&BREAKER, source(name), Value::Gauge(v.breaker), None);
            if let Some(at) = v.last_success {
                out.push(&LAST_SUCCESS, source(name), Value::Gauge(at), None);
            }
        }
    }
}

/// The `telltale_source_*` series of one source, exported from
/// [`SelfMetrics::of`] until [`SelfMetrics::forget`].
#[derive(Debug)]
pub(crate) struct SelfMetrics {
    source: String,
}

impl SelfMetrics {
    /// The series of `source`, every error kind at 0, the breaker closed.
    pub(crate) fn of(source: &str) -> SelfMetrics {
        static REGISTER: Once = Once::new();
        REGISTER.call_once(|| registry::register(&COLLECTOR));
        values().insert(source.to_owned(), Values::default());
        SelfMetrics {
            source: source.to_owned(),
        }
    }

    fn update(&self, change: impl FnOnce(&mut Values)) {
        if let Some(v) = values().get_mut(&self.source) {
            change(v);
        }
    }

    pub(crate) fn ran(&self, seconds: f64, ok: bool, unix_now: f64) {
        self.update(|v| {
            v.duration = Some(seconds);
            v.up = Some(if ok { 1.0 } else { 0.0 });
            if ok {
                v.last_success = Some(unix_now);
            }
        });
    }

    pub(crate) fn error(&self, kind: ErrorKind) {
        self.update(|v| {
            if let Some(i) = ErrorKind::ALL.iter().position(|k| *k == kind) {
                v.errors[i] += 1;
            }
        });
    }

    pub(crate) fn breaker(&self, state: BreakerState) {
        self.update(|v| v.breaker = state.as_gauge());
    }

    /// Stops exporting the source's series.
    pub(crate) fn forget(source: &str) {
        values().remove(source);
    }
}
