//! A service loop: a fallible async cycle run at an interval, with cycle,
//! duration and failure-streak metrics.
//!
//! [`run_forever`] calls a cycle (an async closure returning
//! `Result<(), E>`) again and again until a shutdown future completes, and
//! records every cycle, labelled by the service's name:
//!
//! | series | type | labels |
//! |---|---|---|
//! | `service_cycles_total` | counter | `service`, `result` = `ok` / `error` |
//! | `service_cycle_duration_seconds` | histogram | `service` |
//! | `service_consecutive_failures` | gauge: the current failure streak, 0 after a success | `service` |
//! | `service_last_success_timestamp_seconds` | gauge: Unix time of the last successful cycle's end | `service` |
//!
//! Every series of a service appears at zero as soon as its loop starts,
//! before the first cycle ends. Two loops with the same name share their
//! series.
//!
//! Static facts about the service (version, commit, name) are not the loop's
//! business: report them once at startup with
//! [`set_build_info`](crate::set_build_info), which exports `build_info`.
//!
//! ## Scheduling
//!
//! The first cycle starts at once. By default the loop waits a fixed
//! **delay** between the end of one cycle and the start of the next
//! ([`Schedule::FixedDelay`]). With [`Schedule::FixedRate`] cycles start
//! every `interval` counted from the previous start; a cycle that overruns
//! is followed at once by the next one, and the schedule restarts from
//! there (missed starts are skipped, never run in a burst). Time is
//! `tokio::time`, so a paused test clock drives the loop and the measured
//! durations.
//!
//! ## Shutdown
//!
//! The loop stops when the shutdown future completes. Waiting between
//! cycles, it stops at once. During a cycle it lets the cycle finish (and
//! records it) before stopping, unless [`ServiceConfig::cancel_on_shutdown`]
//! is set: then the cycle's future is dropped at its current `.await`, which
//! suits only cycles that are cancel-safe; a cancelled cycle is not recorded
//! and the summary says [`interrupted`](ServiceSummary::interrupted).
//!
//! ## Failures and panics
//!
//! An `Err` from a cycle is counted (`result="error"`), lengthens the
//! failure streak, and the loop goes on. With
//! [`ServiceConfig::max_consecutive_failures`] the loop gives up after that
//! many failures in a row and returns [`TooManyFailures`] with the last
//! error.
//!
//! A panicking cycle is recorded like a failed one (counted, streak and
//! duration updated), then the panic keeps unwinding out of
//! [`run_forever`]: the loop does not swallow it. To survive panics, run the
//! cycle's work in `tokio::spawn` and turn the `JoinError` into your error
//! type.

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::metric::family::Family;
use crate::metric::family::{CounterHandle, GaugeHandle, HistogramHandle};
use crate::metric::standalone::Counter;
use crate::metric::standalone::Gauge;
use crate::metric::standalone::Histogram;
use telltale_macros::{LabelSet, LabelValue};

/// Bounds of `service_cycle_duration_seconds`: 5 ms to 10 minutes, as
/// service cycles range from quick polls to long batch jobs.
pub const CYCLE_DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

#[derive(LabelSet)]
#[label(crate = crate)]
struct ServiceLabels {
    service: String,
}

#[derive(Clone, Copy, LabelValue)]
#[label(crate = crate)]
enum CycleResult {
    Ok,
    Error,
}

#[derive(LabelSet)]
#[label(crate = crate)]
struct CycleLabels {
    service: String,
    result: CycleResult,
}

static CYCLES: Family<CycleLabels, Counter> = Family::new(
    "service_cycles_total",
    "Service loop cycles run, by result.",
);
static DURATION: Family<ServiceLabels, Histogram> = Family::new(
    "service_cycle_duration_seconds",
    "Duration of service loop cycles.",
)
.with_buckets(CYCLE_DURATION_BUCKETS);
static STREAK: Family<ServiceLabels, Gauge> = Family::new(
    "service_consecutive_failures",
    "Failed service loop cycles in a row; 0 after a success.",
);
static LAST_SUCCESS: Family<ServiceLabels, Gauge> = Family::new(
    "service_last_success_timestamp_seconds",
    "Unix time at which the last successful service loop cycle ended.",
);

/// When cycles start, relative to one another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Schedule {
    /// Wait the interval after each cycle ends (the default).
    #[default]
    FixedDelay,
    /// Start a cycle every interval, counted from the previous start; after
    /// an overrun the next cycle starts at once and missed starts are
    /// skipped.
    FixedRate,
}

/// How a service loop runs: its name (the `service` label), interval,
/// schedule, and when to give up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    name: String,
    interval: Duration,
    schedule: Schedule,
    max_consecutive_failures: u32,
    cancel_on_shutdown: bool,
}

impl ServiceConfig {
    /// A loop named `name` running a cycle every `interval`, with a fixed
    /// delay between cycles, no failure limit, and cycles finished before
    /// shutdown.
    pub fn new(name: impl Into<String>, interval: Duration) -> Self {
        ServiceConfig {
            name: name.into(),
            interval,
            schedule: Schedule::FixedDelay,
            max_consecutive_failures: 0,
            cancel_on_shutdown: false,
        }
    }

    /// Sets the schedule (see [`Schedule`]).
    #[must_use]
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Stops the loop after `n` failed cycles in a row (0, the default,
    /// never stops on failures).
    #[must_use]
    pub fn max_consecutive_failures(mut self, n: u32) -> Self {
        self.max_consecutive_failures = n;
        self
    }

    /// Whether a shutdown drops a running cycle at its current `.await`
    /// (`true`, for cancel-safe cycles) or lets it finish (`false`, the
    /// default).
    #[must_use]
    pub fn cancel_on_shutdown(mut self, cancel: bool) -> Self {
        self.cancel_on_shutdown = cancel;
        self
    }

    /// The service's name: the value of the `service` label.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The interval between cycles.
    pub fn interval(&self) -> Duration {
        self.interval
    }
}

/// What a service loop did, returned when it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ServiceSummary {
    /// Cycles run to completion (successful or not).
    pub cycles: u64,
    /// Cycles that returned `Err`.
    pub failures: u64,
    /// Failures in a row at the end (0 if the last cycle succeeded).
    pub consecutive_failures: u64,
    /// Whether shutdown cancelled a running cycle (only with
    /// [`ServiceConfig::cancel_on_shutdown`]).
    pub interrupted: bool,
}

/// A loop stopped by [`ServiceConfig::max_consecutive_failures`].
#[derive(Debug)]
pub struct TooManyFailures<E> {
    /// What the loop did up to the stop.
    pub summary: ServiceSummary,
    /// The error of the last cycle.
    pub last_error: E,
}

impl<E: fmt::Display> fmt::Display for TooManyFailures<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "service loop stopped after {} consecutive failures; last error: {}",
            self.summary.consecutive_failures, self.last_error
        )
    }
}

impl<E: std::error::Error + 'static> std::error::Error for TooManyFailures<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.last_error)
    }
}

/// The handles of one service's series, looked up once per loop.
struct Series {
    ok: CounterHandle,
    error: CounterHandle,
    duration: HistogramHandle,
    streak: GaugeHandle,
    last_success: GaugeHandle,
}

impl Series {
    fn of(name: &str) -> Self {
        let service = |result| CycleLabels {
            service: name.to_owned(),
            result,
        };
        let labels = || ServiceLabels {
            service: name.to_owned(),
        };
        let series = Series {
            ok: CYCLES.labels(service(CycleResult::Ok)),
            error: CYCLES.labels(service(CycleResult::Error)),
            duration: DURATION.labels(labels()),
            streak: STREAK.labels(labels()),
            last_success: LAST_SUCCESS.labels(labels()),
        };
        // Zero the streak so it exports before the first cycle ends (and a
        // restarted loop starts from a clean streak).
        series.streak.set(0.0);
        series
    }

    fn record(&self, summary: &mut ServiceSummary, ok: bool, elapsed: Duration) {
        summary.cycles += 1;
        self.duration.observe(elapsed.as_secs_f64());
        if ok {
            self.ok.inc();
            summary.consecutive_failures = 0;
            self.streak.set(0.0);
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            self.last_success.set(now.as_secs_f64());
        } else {
            self.error.inc();
            summary.failures += 1;
            summary.consecutive_failures += 1;
            #[allow(clippy::cast_precision_loss)] // exact below 2^53 failures
            self.streak.set(summary.consecutive_failures as f64);
        }
    }
}

/// Polls a future, turning a panic during a poll into `Err(payload)`.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn std::any::Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// Runs `cycle` at the configured interval until `shutdown` completes,
/// recording each cycle (see the [module docs](self) for the series, the
/// schedule, shutdown and panics).
///
/// `shutdown` is any future: `token.cancelled()`, `async { rx.changed().await.ok(); }`
/// for a `tokio::sync::watch` receiver, `async { tokio::signal::ctrl_c().await.ok(); }`.
///
/// # Errors
///
/// [`TooManyFailures`] when [`ServiceConfig::max_consecutive_failures`]
/// cycles fail in a row.
///
/// # Panics
///
/// When a cycle panics: the cycle is recorded as failed, then the panic
/// resumes.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use telltale::service::{run_forever, ServiceConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (stop, mut stopped) = tokio::sync::watch::channel(false);
/// let mut polls = 0;
/// let config = ServiceConfig::new("poller", Duration::from_millis(1));
/// let summary = run_forever(
///     &config,
///     async move { stopped.changed().await.ok(); },
///     || {
///         polls += 1;
///         if polls == 3 {
///             stop.send(true).unwrap(); // the loop stops after this cycle
///         }
///         let outcome = if polls == 2 { Err("upstream down") } else { Ok(()) };
///         async move { outcome }
///     },
/// )
/// .await
/// .unwrap();
/// assert_eq!((summary.cycles, summary.failures), (3, 1));
///
/// let text = telltale::render(telltale::Format::Prometheus);
/// assert!(text.contains(r#"service_cycles_total{service="poller",result="ok"} 2"#));
/// assert!(text.contains(r#"service_consecutive_failures{service="poller"} 0"#));
/// # }
/// ```
pub async fn run_forever<F, Fut, E, S>(
    config: &ServiceConfig,
    shutdown: S,
    mut cycle: F,
) -> Result<ServiceSummary, TooManyFailures<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), E>>,
    S: Future<Output = ()>,
{
    let series = Series::of(&config.name);
    let mut shutdown = pin!(shutdown);
    let mut stopping = false;
    let mut summary = ServiceSummary::default();
    let mut next = Instant::now();
    loop {
        // Between cycles: the next start, or shutdown (checked first).
        tokio::select! {
            biased;
            () = &mut shutdown => stopping = true,
            () = tokio::time::sleep_until(next) => {}
        }
        if stopping {
            return Ok(summary);
        }
        let start = Instant::now();
        let mut run = CatchUnwind(Box::pin(cycle()));
        let outcome = loop {
            tokio::select! {
                biased;
                outcome = &mut run => break Some(outcome),
                () = &mut shutdown, if !stopping => {
                    stopping = true;
                    if config.cancel_on_shutdown {
                        break None;
                    }
                }
            }
        };
        let Some(outcome) = outcome else {
            summary.interrupted = true;
            return Ok(summary);
        };
        let end = Instant::now();
        match outcome {
            Ok(Ok(())) => series.record(&mut summary, true, end - start),
            Ok(Err(error)) => {
                series.record(&mut summary, false, end - start);
                let limit = u64::from(config.max_consecutive_failures);
                if limit > 0 && summary.consecutive_failures >= limit {
                    return Err(TooManyFailures {
                        summary,
                        last_error: error,
                    });
                }
            }
            Err(panic) => {
                series.record(&mut summary, false, end - start);
                resume_unwind(panic);
            }
        }
        if stopping {
            return Ok(summary);
        }
        next = match config.schedule {
            Schedule::FixedDelay => end + config.interval,
            Schedule::FixedRate => (start + config.interval).max(end),
        };
    }
}
