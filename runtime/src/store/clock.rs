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

// Unix times: the one place wall-clock times become numbers.

/// Milliseconds since the Unix epoch (negative before it), saturating: the
/// JSON and CSV export time, the remote-write sample timestamps.
pub(crate) fn unix_millis(at: std::time::SystemTime) -> i64 {
    match at.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// Nanoseconds since the Unix epoch, saturating; 0 before it (OTLP times
/// are unsigned).
#[cfg(feature = "push")]
pub(crate) fn unix_nanos(at: std::time::SystemTime) -> u64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Seconds since the Unix epoch (negative before it), for status reports.
#[cfg(feature = "json")]
pub(crate) fn unix_seconds(at: std::time::SystemTime) -> f64 {
    match at.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => after.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    }
}

#[cfg(all(test, feature = "push"))]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::{unix_millis, unix_nanos, unix_seconds};

    #[test]
    fn export_time_in_milliseconds() {
        use std::time::Duration;
        assert_eq!(unix_millis(UNIX_EPOCH), 0);
        assert_eq!(
            unix_millis(UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_999)),
            1_700_000_000_123
        );
        assert_eq!(unix_millis(UNIX_EPOCH - Duration::from_millis(5)), -5);
        assert_eq!(unix_nanos(UNIX_EPOCH + Duration::from_nanos(7)), 7);
        assert_eq!(unix_nanos(UNIX_EPOCH - Duration::from_nanos(7)), 0);
        assert!((unix_seconds(UNIX_EPOCH + Duration::from_millis(1_500)) - 1.5).abs() < 1e-12);
        assert!((unix_seconds(UNIX_EPOCH - Duration::from_millis(250)) + 0.25).abs() < 1e-12);
    }
}
