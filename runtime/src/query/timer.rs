//! Timers beyond the macros: guards, timed closures and futures, and timing
//! statistics.
//!
//! A timer names an *operation*. Its calls are recorded exactly like an
//! instrumented function's, in `function_calls_total` and
//! `function_calls_duration_seconds` with `function` = the operation's name
//! (and an empty `module`), so [`stats`], [`crate::tracker`] and the window
//! queries see a `#[tracked] fn fetch` and a timer named `"fetch"` as the same
//! operation.
//!
//! ```
//! use telltale::timer;
//!
//! let t = timer::start("load_config").with_metadata("path", "/etc/app.toml");
//! // ... load it ...
//! let result = t.success();
//! assert!(result.success);
//! assert_eq!(result.name, "load_config");
//!
//! let n = timer::time("parse", || "42".parse::<u32>().unwrap());
//! assert_eq!(n, 42);
//! let bad = timer::time_result("parse", || "x".parse::<u32>());
//! assert!(bad.is_err());
//!
//! let stats = timer::stats("parse").unwrap();
//! assert_eq!(stats.count, 2);
//! assert!(stats.min <= stats.p50 && stats.p50 <= stats.max);
//! ```

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use dashmap::DashMap;

use crate::collect::snapshot::{Snapshot, Value};
use crate::metric::callsite::{
    Callsite, CallsiteMeta, ErrorKind, Guard, Outcome, CALLS_FAMILY, DURATION_FAMILY,
};
use crate::metric::failures;
use crate::store::histogram::ExpBuckets;

/// Most distinct operation names and error kinds the API keeps; later ones
/// are recorded as the operation or kind `"other"`.
pub const MAX_NAMES: usize = 2_000;

/// Interned operations and error kinds. Lookups of known names take a
/// shard's read lock only, so threads timing different (or the same)
/// operations do not queue behind one lock; [`operation`] skips the lookup.
static OPERATIONS: LazyLock<DashMap<Box<str>, &'static Callsite>> = LazyLock::new(DashMap::new);
static OPERATION_COUNT: AtomicUsize = AtomicUsize::new(0);
static KINDS: LazyLock<DashMap<Box<str>, &'static str>> = LazyLock::new(DashMap::new);
static KIND_COUNT: AtomicUsize = AtomicUsize::new(0);

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

/// The callsite that records operation `name` (created on first use).
pub(crate) fn callsite(name: &str) -> &'static Callsite {
    if let Some(c) = OPERATIONS.get(name) {
        return *c;
    }
    let name = if OPERATION_COUNT.load(Ordering::Relaxed) >= MAX_NAMES {
        "other"
    } else {
        name
    };
    // The entry API holds the shard's write lock: one callsite per name even
    // when two threads meet a new name at once.
    *OPERATIONS.entry(name.into()).or_insert_with(|| {
        OPERATION_COUNT.fetch_add(1, Ordering::Relaxed);
        let meta: &'static CallsiteMeta = Box::leak(Box::new(CallsiteMeta {
            name: CALLS_FAMILY,
            help: "",
            function: leak(name),
            module: "",
            tracked: true,
            concurrency: false,
            buckets: &[],
            label_names: &[],
            labeled: false,
            errors: None,
        }));
        Box::leak(Box::new(Callsite::new(meta)))
    })
}

/// An error kind as a label value that lives for the program (interned).
pub(crate) fn kind(kind: &str) -> ErrorKind {
    if let Some(k) = KINDS.get(kind) {
        return ErrorKind::Label(*k);
    }
    if KIND_COUNT.load(Ordering::Relaxed) >= MAX_NAMES {
        return ErrorKind::Label("other");
    }
    ErrorKind::Label(*KINDS.entry(kind.into()).or_insert_with(|| {
        KIND_COUNT.fetch_add(1, Ordering::Relaxed);
        leak(kind)
    }))
}

/// A success, or a failure of the (interned) kind `error`.
fn outcome_of(error: Option<&str>) -> Outcome {
    error.map_or(Outcome::Ok, |k| Outcome::Error(kind(k)))
}

/// An operation looked up once, to time many calls without looking its name
/// up each time (what [`start`], [`time()`] and [`time_future`] do).
///
/// ```
/// use telltale::timer;
///
/// let fetch = timer::operation("fetch_page");
/// for _ in 0..3 {
///     fetch.time(|| std::hint::black_box(1 + 1));
/// }
/// assert_eq!(timer::stats("fetch_page").unwrap().count, 3);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    callsite: &'static Callsite,
}

/// The operation named `name` (its series are created on first use).
/// Past [`MAX_NAMES`] distinct names, new names share the operation
/// `"other"`.
pub fn operation(name: &str) -> Operation {
    Operation {
        callsite: callsite(name),
    }
}

impl Operation {
    /// The operation's name as exported (`"other"` past [`MAX_NAMES`]).
    pub fn name(self) -> &'static str {
        let meta = self.callsite.meta();
        meta.function
    }

    /// Starts timing one call.
    pub fn start(self) -> Timer {
        Timer {
            name: self.name(),
            guard: Some(self.callsite.enter()),
            started: std::time::Instant::now(),
            start: SystemTime::now(),
            metadata: Vec::new(),
        }
    }

    /// Times a closure (see [`time()`]).
    pub fn time<R>(self, f: impl FnOnce() -> R) -> R {
        let t = self.start();
        let r = f();
        drop(t.success());
        r
    }

    /// Times a closure returning a `Result` (see [`time_result`]).
    pub fn time_result<T, E>(self, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let t = self.start();
        let r = f();
        match &r {
            Ok(_) => drop(t.success()),
            Err(_) => drop(t.finish_named(std::any::type_name::<E>())),
        }
        r
    }

    /// Times a future (see [`time_future`]).
    pub async fn time_future<F: Future>(self, fut: F) -> F::Output {
        let guard = self.callsite.enter();
        let out = fut.await;
        guard.finish(Outcome::Ok);
        out
    }

    /// Records one call measured elsewhere (see [`record`]).
    pub fn record(self, duration: Duration, outcome: Result<(), &str>) {
        self.callsite.record(
            crate::store::clock::ticks_in(duration),
            outcome_of(outcome.err()),
        );
        if let Err(kind) = outcome {
            failures::push_reported(self.name(), kind, Vec::new());
        }
    }

    pub(crate) fn count(self, outcome: Outcome) {
        self.callsite.count(outcome);
    }
}

/// What a stopped timer measured.
#[derive(Debug, Clone, PartialEq)]
pub struct TimingResult {
    /// The operation.
    pub name: String,
    /// How long it took (monotonic clock).
    pub duration: Duration,
    /// When it started (wall clock).
    pub start: SystemTime,
    /// When it ended (wall clock).
    pub end: SystemTime,
    /// Whether it succeeded.
    pub success: bool,
    /// The error kind of a failure.
    pub error: Option<String>,
    /// What the caller attached.
    pub metadata: Vec<(String, String)>,
}

/// A running timer. Stop it with [`success`](Timer::success),
/// [`failure`](Timer::failure) or [`stop`](Timer::stop) to get a
/// [`TimingResult`]; dropped without that, it records a success (or
/// `error="panic"` while the thread panics).
#[derive(Debug)]
#[must_use = "a timer measures until it is stopped or dropped"]
pub struct Timer {
    name: &'static str,
    guard: Option<Guard>,
    started: std::time::Instant,
    start: SystemTime,
    metadata: Vec<(String, String)>,
}

/// Starts timing operation `name`.
pub fn start(name: &str) -> Timer {
    operation(name).start()
}

impl Timer {
    /// Attaches a key and value to the result (not a label: it does not
    /// create series).
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }

    /// Stops the timer as a success.
    pub fn success(self) -> TimingResult {
        self.finish(None)
    }

    /// Stops the timer as a failure of kind `kind`.
    pub fn failure(self, kind: &str) -> TimingResult {
        self.finish(Some(kind))
    }

    /// Stops the timer; a failure gets the kind `"error"`.
    pub fn stop(self, success: bool) -> TimingResult {
        self.finish((!success).then_some("error"))
    }

    fn finish(self, error: Option<&str>) -> TimingResult {
        self.finish_as(outcome_of(error), error.map(str::to_owned))
    }

    /// Stops the timer as a failure named after the error type, as
    /// `#[tracked]` names it.
    fn finish_named(self, type_name: &'static str) -> TimingResult {
        self.finish_as(
            Outcome::Error(ErrorKind::Named(type_name)),
            Some(crate::metric::labels::readable_type_name(type_name)),
        )
    }

    /// Records `outcome` and returns the result; `error` is its kind as
    /// reported (`None` for a success).
    fn finish_as(mut self, outcome: Outcome, error: Option<String>) -> TimingResult {
        let duration = self.started.elapsed();
        if let Some(guard) = self.guard.take() {
            guard.finish_unlisted(outcome);
        }
        if let Some(kind) = &error {
            failures::push_reported(self.name, kind, self.metadata.clone());
        }
        TimingResult {
            name: self.name.to_owned(),
            duration,
            start: self.start,
            end: self.start + duration,
            success: error.is_none(),
            error,
            metadata: std::mem::take(&mut self.metadata),
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            if !std::thread::panicking() {
                guard.finish(Outcome::Ok);
            }
            // While panicking the unfinished guard counts `error="panic"`.
        }
    }
}

/// Times a closure as operation `name`; a panic counts as `error="panic"`
/// and keeps unwinding.
pub fn time<R>(name: &str, f: impl FnOnce() -> R) -> R {
    operation(name).time(f)
}

/// Times a closure returning a `Result`: `Err` counts as a failure whose
/// kind is the error type's readable name, as `#[tracked]` counts error types
/// that do not derive [`LabelValue`](crate::LabelValue). For one that does,
/// `#[tracked]` counts the variant; [`Timer::failure`] with the error's
/// `label_value()` matches that.
pub fn time_result<T, E>(name: &str, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    operation(name).time_result(f)
}

/// Records one call of operation `name` that took `duration`, measured
/// elsewhere (a job's reported run time, a duration read from a log):
/// `Ok(())` for a success, `Err(kind)` for a failure of kind `kind`. It is
/// recorded exactly as a timed call: in the duration histogram, the call
/// counts and [`stats`]. [`Duration`] carries its unit, so a figure in another
/// unit goes through `Duration::from_millis`, `from_secs_f64` and the like.
///
/// ```
/// use std::time::Duration;
/// use telltale::timer;
///
/// timer::record("git_clone", Duration::from_secs_f64(15.2), Ok(()));
/// timer::record("git_clone", Duration::from_millis(300), Err("timeout"));
/// let stats = timer::stats("git_clone").unwrap();
/// assert_eq!(stats.count, 2);
/// assert!((stats.max - 15.2).abs() < 1e-6);
/// ```
pub fn record(name: &str, duration: Duration, outcome: Result<(), &str>) {
    operation(name).record(duration, outcome);
}

/// Times a future as operation `name`, from its first poll to its output. A
/// future dropped before it completes counts as `result="cancelled"`; one
/// that completes counts as `ok`, whatever its output (a future of a `Result`
/// that should count its `Err`s goes in an `async fn` under `#[tracked]`).
pub async fn time_future<F: Future>(name: &str, fut: F) -> F::Output {
    operation(name).time_future(fut).await
}

/// Timing statistics of an operation, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimingStats {
    /// Number of timed calls.
    pub count: u64,
    /// Mean duration.
    pub mean: f64,
    /// Shortest duration (exact).
    pub min: f64,
    /// Longest duration (exact).
    pub max: f64,
    /// Median, within 1.1 %.
    pub p50: f64,
    /// 90th percentile, within 1.1 %.
    pub p90: f64,
    /// 95th percentile, within 1.1 %.
    pub p95: f64,
    /// 99th percentile, within 1.1 %.
    pub p99: f64,
    /// 99.9th percentile, within 1.1 %.
    pub p999: f64,
}

impl TimingStats {
    /// Statistics of a duration distribution; `None` when it is empty.
    pub fn from_buckets(h: &ExpBuckets) -> Option<TimingStats> {
        let count = h.count();
        if count == 0 {
            return None;
        }
        let q = |q: f64| h.quantile(q).unwrap_or(f64::NAN);
        let (min, max) = (h.min.unwrap_or(q(0.0)), h.max.unwrap_or(q(1.0)));
        // Quantiles are bucket middles: keep them inside the exact range.
        let clamp = |v: f64| v.clamp(min, max);
        Some(TimingStats {
            count,
            mean: h.sum / count as f64,
            min,
            max,
            p50: clamp(q(0.5)),
            p90: clamp(q(0.9)),
            p95: clamp(q(0.95)),
            p99: clamp(q(0.99)),
            p999: clamp(q(0.999)),
        })
    }
}

/// Statistics of every call of operation `name` so far: a timer's, or an
/// instrumented function's (all its series, whatever their module or labels).
pub fn stats(name: &str) -> Option<TimingStats> {
    stats_in(&Snapshot::collect(), name)
}

/// [`stats`] from a given snapshot.
pub fn stats_in(snapshot: &Snapshot, name: &str) -> Option<TimingStats> {
    let family = snapshot.family(DURATION_FAMILY)?;
    let mut merged = ExpBuckets::default();
    for s in family
        .series
        .iter()
        .filter(|s| s.label("function") == Some(name))
    {
        if let Value::Histogram(h) = &s.value {
            merged.merge(&h.exponential);
        }
    }
    TimingStats::from_buckets(&merged)
}
