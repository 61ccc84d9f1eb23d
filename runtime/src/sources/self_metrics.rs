//! The `telltale_source_*` series: how every source is doing.

use std::sync::LazyLock;

use super::breaker::BreakerState;
use super::source::ErrorKind;
use crate::metric::dynamic::{self, Metric};
use crate::metric::standalone::{Counter, Gauge};

struct Families {
    up: Metric<Gauge>,
    duration: Metric<Gauge>,
    errors: Metric<Counter>,
    breaker: Metric<Gauge>,
    last_success: Metric<Gauge>,
}

static FAMILIES: LazyLock<Option<Families>> = LazyLock::new(|| {
    let gauge = |name: &str, help: &str| {
        dynamic::gauge(name)
            .help(help)
            .required_labels(["source"])
            .register()
            .ok()
    };
    Some(Families {
        up: gauge(
            "telltale_source_up",
            "1 when the source's last run succeeded, 0 when it failed, by source.",
        )?,
        duration: gauge(
            "telltale_source_duration_seconds",
            "How long the source's last run took, by source.",
        )?,
        errors: dynamic::counter("telltale_source_errors_total")
            .help("Failed runs of a source, by source and kind (timeout, exit_status, parse, connect, query, panic, output_too_large).")
            .required_labels(["source", "kind"])
            .register()
            .ok()?,
        breaker: gauge(
            "telltale_source_breaker_state",
            "The source's circuit breaker: 0 closed, 1 open, 2 half-open, by source.",
        )?,
        last_success: gauge(
            "telltale_source_last_success_timestamp_seconds",
            "When the source last ran successfully, in Unix seconds, by source.",
        )?,
    })
});

/// The `telltale_source_*` series of one source.
#[derive(Debug)]
pub(crate) struct SelfMetrics {
    up: Metric<Gauge>,
    duration: Metric<Gauge>,
    errors: Vec<(ErrorKind, Metric<Counter>)>,
    breaker: Metric<Gauge>,
    last_success: Metric<Gauge>,
}

impl SelfMetrics {
    /// The series of `source`; `None` when the families could not be
    /// registered (a name the program took for something else).
    pub(crate) fn of(source: &str) -> Option<SelfMetrics> {
        let f = FAMILIES.as_ref()?;
        let bind = [("source", source)];
        let errors = ErrorKind::ALL
            .iter()
            .map(|&kind| {
                let series = f
                    .errors
                    .labels([("source", source), ("kind", kind.as_str())]);
                // Every kind is exported from the start, at 0.
                let _ = series.inc_by(0);
                (kind, series)
            })
            .collect();
        Some(SelfMetrics {
            up: f.up.labels(bind),
            duration: f.duration.labels(bind),
            errors,
            breaker: f.breaker.labels(bind),
            last_success: f.last_success.labels(bind),
        })
    }

    pub(crate) fn ran(&self, seconds: f64, ok: bool, unix_now: f64) {
        let _ = self.duration.set(seconds);
        let _ = self.up.set(if ok { 1.0 } else { 0.0 });
        if ok {
            let _ = self.last_success.set(unix_now);
        }
    }

    pub(crate) fn error(&self, kind: ErrorKind) {
        if let Some((_, series)) = self.errors.iter().find(|(k, _)| *k == kind) {
            let _ = series.inc();
        }
    }

    pub(crate) fn breaker(&self, state: BreakerState) {
        let _ = self.breaker.set(state.as_gauge());
    }
}
