//! What a metric asks of a backend that keeps its cells (the file
//! backend's mapped file): how to name them, and a gauge's line.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::backend::mode::GaugeMode;

/// What names a metric's cells where a backend keeps them.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "backend-file"), allow(dead_code))]
pub(crate) struct Describe<'a> {
    /// The family as collections export it.
    pub(crate) family: &'a str,
    pub(crate) help: &'a str,
    pub(crate) unit: Option<&'a str>,
    pub(crate) labels: &'a [(&'a str, &'a str)],
    pub(crate) mode: GaugeMode,
    /// When the metric was created (Unix seconds).
    pub(crate) created: f64,
    /// A histogram's classic bounds.
    pub(crate) bounds: &'a [f64],
    /// Whether a histogram counts clock ticks (durations).
    pub(crate) ticks: bool,
    /// Left out of a read while zero (a series exported once it counts).
    pub(crate) hide_zero: bool,
}

/// A gauge's cache line: its value, when it last changed, and the value
/// that time is for (both kept by the owner's flush).
#[derive(Debug)]
#[repr(C, align(64))]
pub(crate) struct GaugeLine {
    /// `f64` bits, or an `i64`.
    pub(crate) value: AtomicU64,
    pub(crate) changed: AtomicU64,
    pub(crate) seen: AtomicU64,
}

impl GaugeLine {
    /// The value as an `i64` cell (an integer gauge's line).
    pub(crate) fn int(&self) -> &std::sync::atomic::AtomicI64 {
        // SAFETY: `AtomicI64` and `AtomicU64` have the same size, alignment
        // and bit validity.
        unsafe { &*std::ptr::from_ref(&self.value).cast::<std::sync::atomic::AtomicI64>() }
    }

    #[cfg_attr(not(feature = "backend-file"), allow(dead_code))]
    /// Stamps `now` if the value changed since the last stamp.
    pub(crate) fn stamp(&self, now: f64) {
        let value = self.value.load(Ordering::Relaxed);
        if value != self.seen.load(Ordering::Relaxed) {
            self.seen.store(value, Ordering::Relaxed);
            self.changed.store(now.to_bits(), Ordering::Relaxed);
        }
    }
}
