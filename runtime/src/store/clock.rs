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

/// Seconds per raw tick. The clock scales ticks linearly, so durations can
/// be stored in ticks on the hot path and scaled once when read.
pub(crate) fn seconds_per_tick() -> f64 {
    static FACTOR: OnceLock<f64> = OnceLock::new();
    *FACTOR.get_or_init(|| {
        let span = 1u64 << 40;
        clock().delta_as_nanos(1, 1 + span) as f64 / span as f64 * 1e-9
    })
}

/// Raw ticks in `duration` (a duration measured elsewhere, recorded as if
/// timed here; saturates past the clock's range).
pub(crate) fn ticks_in(duration: std::time::Duration) -> u64 {
    (duration.as_secs_f64() / seconds_per_tick()).round() as u64
}

/// Seconds since the Unix epoch, from the wall clock (for `_created`).
pub(crate) fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
