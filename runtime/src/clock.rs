//! The monotonic clock behind every duration: `quanta` raw ticks, scaled to
//! nanoseconds once per record.

use std::sync::OnceLock;

static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();

#[inline]
fn clock() -> &'static quanta::Clock {
    CLOCK.get_or_init(quanta::Clock::new)
}

/// Raw ticks of the monotonic clock (TSC where available).
#[inline]
pub(crate) fn now() -> u64 {
    clock().raw()
}

/// Nanoseconds between two raw readings (0 if `end` is before `start`).
#[inline]
pub(crate) fn nanos_between(start: u64, end: u64) -> u64 {
    clock().delta_as_nanos(start, end)
}

/// Seconds since the Unix epoch, from the wall clock (for `_created`).
pub(crate) fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
