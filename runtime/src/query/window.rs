//! Time windows over snapshots: rates, success rates, summaries and
//! percentiles over the last seconds, minutes or hours.
//!
//! A [`Windows`] store keeps a bounded history of snapshots, one per
//! [`tick`](Windows::tick). A background [`Ticker`] (see [`start`]) ticks it
//! every second by default; tests tick it by hand under a [`MockClock`]. The
//! recording hot path is untouched: every figure here is the difference of
//! two cumulative snapshots.
//!
//! # Windows
//!
//! * **Sliding**: [`Windows::last`] covers the last `N` ending at the latest
//!   tick. It starts at the newest stored tick at or before `latest - N`, so
//!   it covers at least `N` when that much history is kept (by at most one
//!   coarse step for long windows), else all the history there is;
//!   [`View::span`] tells what it covers and rates divide by that span.
//! * **Tumbling**: [`Windows::tumbling`] cuts time into buckets of width `N`
//!   aligned to multiples of `N` since the clock's epoch (the Unix epoch for
//!   [`SystemClock`]) and returns the last completed ones.
//!
//! Counters count what was added between the two ends, as Prometheus'
//! `increase`: a value lower than the one before means the counter restarted,
//! and counting resumes from zero. When a query matches several series, they
//! are summed (give a full label filter to ask about one series).
//!
//! # Memory bound
//!
//! Two rings, each a fixed number of frames:
//!
//! * a fine ring, one frame per tick: `fine_retention / tick + 2` frames
//!   (default 1 s for the last 5 min: 302 frames; one to spare, so that a
//!   window of the whole retention stays in the ring when ticks run late);
//! * a coarse ring, the first tick of every aligned `coarse_step`:
//!   `coarse_retention / coarse_step + 1` frames (default per minute for the
//!   last 24 h: 1441 frames).
//!
//! A frame shared by both rings is stored once. A frame holds, per family,
//! about 48 bytes, and per series **48 bytes** (a shared pointer to the
//! series' labels, interned across frames, its value, and a running total
//! with the seconds it covers, so that a window's increase or mean is read
//! from its two ends). A histogram's
//! buckets are shared with the previous frame while they do not change; a
//! histogram that changed holds a new copy: about 72 bytes plus 16 bytes per
//! non-empty exponential bucket. With the defaults a counter or gauge series
//! costs at most `1743 × 48` bytes, about **84 KB**, whatever the uptime;
//! [`Windows::stored_bytes`] reports the estimate for the live store. The
//! latest full [`Snapshot`] is kept besides, for exports.
//!
//! ```
//! use std::time::Duration;
//! use telltale::window::{MockClock, WindowConfig, Windows};
//!
//! static JOBS: telltale::Counter = telltale::Counter::new("window_doc_jobs_total", "Jobs run.");
//!
//! let clock = MockClock::new(Duration::from_secs(1_000));
//! let windows = Windows::with_clock(WindowConfig::default(), clock.clone());
//! JOBS.inc();
//! windows.tick();
//! for _ in 0..60 {
//!     clock.advance(Duration::from_secs(1));
//!     JOBS.inc_by(2);
//!     windows.tick();
//! }
//! let minute = Duration::from_secs(60);
//! assert_eq!(windows.increase("window_doc_jobs_total", &[], minute), Some(120.0));
//! assert_eq!(windows.rate("window_doc_jobs", &[], minute), Some(2.0));
//! ```

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::collect::snapshot::{
    family_candidates, names_family, MetricFamily, MetricKind, Series, Snapshot, Value,
};
#[cfg(feature = "json")]
use crate::config::duration;
use crate::metric::callsite::{CALLS_FAMILY, FUNCTION_LABEL};
use crate::store::histogram::ExpBuckets;

/// What is called after every tick: see [`Windows::on_tick`].
pub(crate) type TickListener = dyn Fn(&Windows) + Send + Sync;

/// A series' labels, shared across frames.
pub(crate) type Labels = Arc<
    [(
        std::borrow::Cow<'static, str>,
        std::borrow::Cow<'static, str>,
    )],
>;

// ----- clocks ------------------------------------------------------------------------

/// Where [`Windows`] reads the time: a point since the clock's epoch that
/// never goes backwards.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The time now, since the clock's epoch.
    fn now(&self) -> Duration;
}

/// The real clock: the Unix time at creation, advanced by a monotonic
/// [`Instant`], so it never goes backwards and its epoch is the Unix epoch
/// (tumbling windows align with wall-clock minutes and hours).
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
    origin_unix: Duration,
}

impl SystemClock {
    /// A clock starting at the current Unix time.
    pub fn new() -> Self {
        SystemClock {
            origin: Instant::now(),
            origin_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin_unix + self.origin.elapsed()
    }
}

/// A clock that only moves when told to; clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use telltale::window::{Clock, MockClock};
///
/// let clock = MockClock::new(Duration::from_secs(60));
/// clock.advance(Duration::from_millis(1_500));
/// assert_eq!(clock.now(), Duration::from_millis(61_500));
/// ```
#[derive(Debug, Clone, Default)]
pub struct MockClock {
    nanos: Arc<AtomicU64>,
}

impl MockClock {
    /// A clock reading `start`.
    pub fn new(start: Duration) -> Self {
        MockClock {
            nanos: Arc::new(AtomicU64::new(to_nanos(start))),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.nanos.fetch_add(to_nanos(by), Ordering::SeqCst);
    }

    /// Sets the clock to `to` (not below its current reading).
    pub fn set(&self, to: Duration) {
        self.nanos.fetch_max(to_nanos(to), Ordering::SeqCst);
    }
}

impl Clock for MockClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

fn to_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

// ----- configuration ---------------------------------------------------------------------

/// How often to tick and how much history to keep (the `[system.window]`
/// TOML table; durations as [`crate::config::parse_duration`] reads them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Deserialize))]
#[cfg_attr(feature = "json", serde(default, deny_unknown_fields))]
pub struct WindowConfig {
    /// Time between two ticks of the background [`Ticker`] (default 1 s).
    #[cfg_attr(feature = "json", serde(deserialize_with = "duration::deserialize"))]
    pub tick: Duration,
    /// How long the fine ring (one frame per tick) reaches back (default 5 min).
    #[cfg_attr(feature = "json", serde(deserialize_with = "duration::deserialize"))]
    pub fine_retention: Duration,
    /// The coarse ring keeps the first tick of every aligned step of this
    /// length (default 1 min).
    #[cfg_attr(feature = "json", serde(deserialize_with = "duration::deserialize"))]
    pub coarse_step: Duration,
    /// How long the coarse ring reaches back (default 24 h).
    #[cfg_attr(feature = "json", serde(deserialize_with = "duration::deserialize"))]
    pub coarse_retention: Duration,
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig {
            tick: Duration::from_secs(1),
            fine_retention: Duration::from_mins(5),
            coarse_step: Duration::from_mins(1),
            coarse_retention: Duration::from_hours(24),
        }
    }
}

impl WindowConfig {
    /// Frames the fine ring holds at most: `fine_retention / tick + 2`.
    pub fn fine_capacity(&self) -> usize {
        // One frame more than the retention's ticks, so that a window of
        // the whole retention is in the fine ring even when ticks run late.
        ring_len(self.fine_retention, self.tick) + 1
    }

    /// Frames the coarse ring holds at most: `coarse_retention / coarse_step + 1`.
    pub fn coarse_capacity(&self) -> usize {
        ring_len(self.coarse_retention, self.coarse_step)
    }
}

fn ring_len(retention: Duration, step: Duration) -> usize {
    let step = step.as_nanos().max(1);
    usize::try_from(retention.as_nanos().div_ceil(step))
        .unwrap_or(usize::MAX / 2)
        .saturating_add(1)
}

// ----- frames ----------------------------------------------------------------------------

/// Families the frames leave out, by owner: aggregation rules' outputs,
/// which are computed from the frames and would otherwise cost every
/// output series a place in every frame.
static UNSTORED: Mutex<BTreeMap<u64, Vec<String>>> = Mutex::new(BTreeMap::new());

/// Leaves `names` out of the frames from now on (replacing what `owner`
/// named before).
#[cfg_attr(not(feature = "aggregate"), allow(dead_code))]
pub(crate) fn set_unstored(owner: u64, names: Vec<String>) {
    UNSTORED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(owner, names);
}

/// Stores again what `owner` left out.
#[cfg_attr(not(feature = "aggregate"), allow(dead_code))]
pub(crate) fn clear_unstored(owner: u64) {
    UNSTORED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&owner);
}

fn unstored() -> std::collections::HashSet<String> {
    UNSTORED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .values()
        .flatten()
        .cloned()
        .collect()
}

/// One stored tick: compact values of every series, labels interned.
#[derive(Debug)]
struct Frame {
    at: Duration,
    families: Vec<FrameFamily>,
}

#[derive(Debug)]
struct FrameFamily {
    name: Arc<str>,
    kind: MetricKind,
    series: Vec<FrameSeries>,
}

#[derive(Debug)]
struct FrameSeries {
    labels: Labels,
    value: Stored,
    /// A running total, so that a window is read from its two ends: for a
    /// counter, what it added since first seen (restarts counted from
    /// zero); for a gauge, its value integrated over time since first seen
    /// (each tick's value times the time since the tick before).
    acc: f64,
    /// For a gauge, the seconds `acc` integrates over; for a counter, when
    /// (in seconds of the clock) its run without a gap began.
    covered: f64,
}

#[derive(Debug, Clone)]
enum Stored {
    Scalar(f64),
    Hist(Arc<ExpBuckets>),
    /// A histogram known only by its classic buckets (one a source read).
    Classic(Arc<Classic>),
}

/// A classic histogram: count, sum, and cumulative `(le, count)` without
/// `+Inf`.
type Classic = (u64, f64, Vec<(f64, u64)>);

impl Frame {
    /// Builds a frame, sharing labels and unchanged histograms with `prev`.
    fn build(at: Duration, snapshot: &Snapshot, prev: Option<&Frame>) -> Frame {
        let dt = prev.map_or(0.0, |p| at.saturating_sub(p.at).as_secs_f64());
        let skip = unstored();
        let families = snapshot
            .families
            .iter()
            .filter(|family| skip.is_empty() || !skip.contains(&*family.name))
            .map(|family| {
                let old = prev.and_then(|p| p.family(&family.name));
                let mut index: Option<HashMap<&[_], usize>> = None;
                let series = family
                    .series
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let before = old.and_then(|o| o.series_like(i, &s.labels, &mut index));
                        let labels = before.map_or_else(
                            || Labels::from(s.labels.clone()),
                            |b| Arc::clone(&b.labels),
                        );
                        let value = match &s.value {
                            Value::Counter(v) | Value::Gauge(v) => Stored::Scalar(*v),
                            Value::Histogram(h) if h.exponential.count() == 0 && h.count > 0 => {
                                let classic = (h.count, h.sum, h.buckets.clone());
                                match before.map(|b| &b.value) {
                                    Some(Stored::Classic(old)) if **old == classic => {
                                        Stored::Classic(Arc::clone(old))
                                    }
                                    _ => Stored::Classic(Arc::new(classic)),
                                }
                            }
                            Value::Histogram(h) => match before.map(|b| &b.value) {
                                Some(Stored::Hist(old)) if **old == h.exponential => {
                                    Stored::Hist(Arc::clone(old))
                                }
                                _ => Stored::Hist(Arc::new(h.exponential.clone())),
                            },
                        };
                        let (acc, covered) = running(&s.value, before, dt, at.as_secs_f64());
                        FrameSeries {
                            labels,
                            value,
                            acc,
                            covered,
                        }
                    })
                    .collect();
                FrameFamily {
                    name: old.map_or_else(|| Arc::from(&*family.name), |o| Arc::clone(&o.name)),
                    kind: family.kind,
                    series,
                }
            })
            .collect();
        Frame { at, families }
    }

    fn family(&self, name: &str) -> Option<&FrameFamily> {
        self.families
            .binary_search_by(|f| (*f.name).cmp(name))
            .ok()
            .map(|i| &self.families[i])
            .or_else(|| self.families.iter().find(|f| &*f.name == name))
    }

    fn bytes(&self, prev: Option<&Frame>) -> usize {
        let mut total = std::mem::size_of::<Frame>();
        for f in &self.families {
            total += std::mem::size_of::<FrameFamily>();
            let old = prev.and_then(|p| p.family(&f.name));
            for (i, s) in f.series.iter().enumerate() {
                total += std::mem::size_of::<FrameSeries>();
                if let Stored::Classic(c) = &s.value {
                    let shared = old.and_then(|o| o.series.get(i)).is_some_and(
                        |o| matches!(&o.value, Stored::Classic(p) if Arc::ptr_eq(p, c)),
                    );
                    if !shared {
                        total +=
                            std::mem::size_of::<(u64, f64, Vec<(f64, u64)>)>() + 16 * c.2.len();
                    }
                }
                if let Stored::Hist(h) = &s.value {
                    let shared = old
                        .and_then(|o| o.series.get(i))
                        .is_some_and(|o| matches!(&o.value, Stored::Hist(p) if Arc::ptr_eq(p, h)));
                    if !shared {
                        total += std::mem::size_of::<ExpBuckets>() + 16 * h.buckets().count();
                    }
                }
            }
        }
        total
    }
}

/// Series labels, as a frame's index of them holds them.
type LabelSlice = [(
    std::borrow::Cow<'static, str>,
    std::borrow::Cow<'static, str>,
)];

impl FrameFamily {
    /// The series with `labels`: the one at `i` when it has them (frames of
    /// a family mostly keep its series' order), else found through `index`,
    /// built on first need.
    fn series_like<'f>(
        &'f self,
        i: usize,
        labels: &LabelSlice,
        index: &mut Option<HashMap<&'f LabelSlice, usize>>,
    ) -> Option<&'f FrameSeries> {
        if let Some(same) = self.series.get(i) {
            if std::ptr::eq(same.labels.as_ptr(), labels.as_ptr()) || *same.labels == *labels {
                return Some(same);
            }
        }
        let index = index.get_or_insert_with(|| {
            self.series
                .iter()
                .enumerate()
                .map(|(j, x)| (&*x.labels, j))
                .collect()
        });
        index.get(labels).map(|&j| &self.series[j])
    }
}

/// A series' running total and covered seconds in a new frame, from its
/// value and the same series in the frame before (`dt` seconds earlier).
fn running(value: &Value, before: Option<&FrameSeries>, dt: f64, at: f64) -> (f64, f64) {
    let prev = before.and_then(|b| match b.value {
        Stored::Scalar(v) => Some((v, b.acc, b.covered)),
        Stored::Hist(_) | Stored::Classic(_) => None,
    });
    match (value, prev) {
        // A drop is a restart: counted from zero, as `increase` does. A
        // counter's `covered` is when its run (its presence without a gap)
        // began, to tell a run that began within a window.
        (Value::Counter(now), Some((was, acc, run))) => {
            (acc + if *now >= was { now - was } else { *now }, run)
        }
        // First seen: counted from zero, as `increase` does.
        (Value::Counter(now), None) => (*now, at),
        (Value::Gauge(now), Some((_, acc, covered))) => (acc + now * dt, covered + dt),
        _ => (0.0, 0.0),
    }
}

fn matches(
    labels: &[(
        std::borrow::Cow<'static, str>,
        std::borrow::Cow<'static, str>,
    )],
    filter: &[(&str, &str)],
) -> bool {
    filter
        .iter()
        .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
}

/// Whether `op` names the operation labelled `function`: the label itself,
/// or for a method (`Type::method`) the method's name.
fn names_operation(op: &str, function: &str) -> bool {
    function == op
        || (!op.contains("::")
            && function
                .strip_suffix(op)
                .is_some_and(|head| head.ends_with("::")))
}

/// The family `name` names: by its family name or one of its sample names
/// (see [`names_family`]).
fn lookup<'a>(frame: &'a Frame, name: &str) -> Option<&'a FrameFamily> {
    family_candidates(name)
        .filter_map(|n| frame.family(n))
        .find(|f| names_family(name, &f.name, f.kind))
}

// ----- the store ---------------------------------------------------------------------------

/// A bounded history of snapshots, queried over sliding or tumbling windows.
/// See the [module documentation](self) for the memory bound.
pub struct Windows {
    config: WindowConfig,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
    /// Called after every stored tick, while they are alive.
    listeners: Mutex<Vec<std::sync::Weak<TickListener>>>,
}

#[derive(Default)]
struct Inner {
    fine: VecDeque<Arc<Frame>>,
    coarse: VecDeque<Arc<Frame>>,
    latest: Option<Arc<Snapshot>>,
}

impl fmt::Debug for Windows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("Windows")
            .field("config", &self.config)
            .field("clock", &self.clock)
            .field("fine", &inner.fine.len())
            .field("coarse", &inner.coarse.len())
            .finish_non_exhaustive()
    }
}

impl Windows {
    /// An empty store on the [`SystemClock`].
    pub fn new(config: WindowConfig) -> Self {
        Self::with_clock(config, SystemClock::new())
    }

    /// An empty store reading time from `clock`.
    pub fn with_clock(config: WindowConfig, clock: impl Clock + 'static) -> Self {
        Windows {
            config,
            clock: Arc::new(clock),
            inner: Mutex::new(Inner::default()),
            listeners: Mutex::new(Vec::new()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &WindowConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a snapshot of every registered metric now and stores it.
    pub fn tick(&self) {
        let snapshot = Snapshot::collect();
        #[cfg(feature = "stream")]
        if crate::query::stream::has_subscribers() {
            crate::query::stream::publish(std::time::SystemTime::now(), snapshot.clone());
        }
        self.record(snapshot);
    }

    /// Stores `snapshot` as taken now (by the store's clock). Ticks at the
    /// same time as the latest or earlier replace nothing and are ignored.
    pub fn record(&self, snapshot: Snapshot) {
        let at = self.clock.now();
        let mut inner = self.lock();
        if inner.fine.back().is_some_and(|last| last.at >= at) {
            return;
        }
        let frame = Arc::new(Frame::build(at, &snapshot, inner.fine.back().map(|f| &**f)));
        inner.latest = Some(Arc::new(snapshot));
        let fine_cap = self.config.fine_capacity();
        while inner.fine.len() >= fine_cap {
            inner.fine.pop_front();
        }
        inner.fine.push_back(Arc::clone(&frame));
        let step = self.config.coarse_step.as_nanos().max(1);
        let new_step = inner
            .coarse
            .back()
            .is_none_or(|last| at.as_nanos() / step > last.at.as_nanos() / step);
        if new_step {
            let coarse_cap = self.config.coarse_capacity();
            while inner.coarse.len() >= coarse_cap {
                inner.coarse.pop_front();
            }
            inner.coarse.push_back(frame);
        }
        drop(inner);
        self.notify();
    }

    #[cfg_attr(not(feature = "aggregate"), allow(dead_code))]
    /// Calls `listener` after every tick stored from now on, until the
    /// listener is dropped (rules evaluate this way, off the hot path).
    pub(crate) fn on_tick(&self, listener: &Arc<TickListener>) {
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::downgrade(listener));
    }

    fn notify(&self) {
        let live: Vec<Arc<TickListener>> = {
            let mut listeners = self
                .listeners
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            listeners.retain(|l| l.strong_count() > 0);
            listeners
                .iter()
                .filter_map(std::sync::Weak::upgrade)
                .collect()
        };
        for listener in live {
            listener(self);
        }
    }

    /// Frames in the fine ring (never more than [`WindowConfig::fine_capacity`]).
    pub fn fine_len(&self) -> usize {
        self.lock().fine.len()
    }

    /// Frames in the coarse ring (never more than [`WindowConfig::coarse_capacity`]).
    pub fn coarse_len(&self) -> usize {
        self.lock().coarse.len()
    }

    /// An estimate of the bytes the stored frames hold (the latest full
    /// snapshot not included), counting each shared frame, label set and
    /// histogram once (label strings not included).
    pub fn stored_bytes(&self) -> usize {
        let timeline = self.timeline();
        let mut total = 0;
        let mut prev: Option<&Frame> = None;
        for f in &timeline {
            total += f.bytes(prev);
            prev = Some(f);
        }
        // Frames only in the coarse ring are in the timeline; fine frames
        // also in the coarse ring are counted once there.
        total
    }

    /// When the latest tick was stored, by the store's clock.
    #[cfg_attr(not(feature = "aggregate"), allow(dead_code))]
    pub(crate) fn last_tick(&self) -> Option<Duration> {
        self.lock().fine.back().map(|f| f.at)
    }

    /// The snapshot of the latest tick.
    pub fn latest(&self) -> Option<Arc<Snapshot>> {
        self.lock().latest.clone()
    }

    /// Every stored frame, oldest first: coarse frames older than the fine
    /// ring, then the fine ring.
    fn timeline(&self) -> Vec<Arc<Frame>> {
        let inner = self.lock();
        let first_fine = inner.fine.front().map(|f| f.at);
        let mut out: Vec<Arc<Frame>> = inner
            .coarse
            .iter()
            .filter(|f| first_fine.is_none_or(|t| f.at < t))
            .cloned()
            .collect();
        out.extend(inner.fine.iter().cloned());
        out
    }

    /// The sliding window of the last `window`, ending at the latest tick;
    /// `None` before two ticks.
    pub fn last(&self, window: Duration) -> Option<View> {
        let timeline = self.timeline();
        let end = timeline.len().checked_sub(1)?;
        let from = timeline[end].at.saturating_sub(window);
        let start = newest_at_or_before(&timeline, from).unwrap_or(0);
        (start < end).then(|| View {
            frames: timeline[start..=end].to_vec(),
        })
    }

    /// The last `count` completed tumbling windows of width `width`, aligned
    /// to multiples of `width` since the clock's epoch, oldest first. A
    /// bucket runs from the first tick at or after its start to the first
    /// tick at or after its end (so back-to-back buckets share their ends,
    /// and a coarse frame, the first tick of its step, starts the bucket it
    /// opens); a bucket is complete once a tick at or after its end is
    /// stored, and buckets without two ticks are left out.
    pub fn tumbling(&self, width: Duration, count: usize) -> Vec<View> {
        let timeline = self.timeline();
        let Some(last) = timeline.last() else {
            return Vec::new();
        };
        let w = width.as_nanos().max(1);
        let end_k = last.at.as_nanos() / w;
        let first_k = end_k.saturating_sub(count as u128);
        let mut out = Vec::new();
        for k in first_k..end_k {
            let from = nanos(k * w);
            let to = nanos((k + 1) * w);
            let end = timeline.partition_point(|f| f.at < to);
            let start = timeline.partition_point(|f| f.at < from);
            // No tick at or after the end yet, or none before the start (the
            // store began within the bucket): not complete.
            if end >= timeline.len() || start == 0 && timeline[0].at > from {
                continue;
            }
            if start < end {
                out.push(View {
                    frames: timeline[start..=end].to_vec(),
                });
            }
        }
        out
    }

    /// What counter `name` (with or without `_total`) added over the last
    /// `window`, summed over the series matching `filter`.
    pub fn increase(&self, name: &str, filter: &[(&str, &str)], window: Duration) -> Option<f64> {
        self.last(window)?.increase(name, filter)
    }

    /// [`increase`](Self::increase) per second of the window's span.
    pub fn rate(&self, name: &str, filter: &[(&str, &str)], window: Duration) -> Option<f64> {
        self.last(window)?.rate(name, filter)
    }

    /// Time-weighted moving average of gauge `name` over the last `window`.
    pub fn average(&self, name: &str, filter: &[(&str, &str)], window: Duration) -> Option<f64> {
        self.last(window)?.average(name, filter)
    }

    /// Summary of metric `name` over the last `window`; see [`View::summary`].
    pub fn summary(
        &self,
        name: &str,
        filter: &[(&str, &str)],
        window: Duration,
    ) -> Option<Summary> {
        self.last(window)?.summary(name, filter)
    }

    /// Share of the calls of `#[tracked]` function (or tracked operation)
    /// `op` that succeeded over the last `window`; see [`View::success_rate`].
    pub fn success_rate(&self, op: &str, window: Duration) -> Option<f64> {
        self.last(window)?.success_rate(op)
    }

    /// Failed calls of `op` over the last `window` by error kind; see
    /// [`View::failure_breakdown`].
    pub fn failure_breakdown(&self, op: &str, window: Duration) -> BTreeMap<String, u64> {
        self.last(window)
            .map(|v| v.failure_breakdown(op))
            .unwrap_or_default()
    }

    /// The `n` series of kind `kind` with the largest values over the last
    /// `window`; see [`View::top`].
    pub fn top(&self, kind: MetricKind, n: usize, window: Duration) -> Vec<Ranked> {
        self.last(window)
            .map(|v| v.top(kind, n))
            .unwrap_or_default()
    }

    /// The latest snapshot restricted to family `name` (any when `None`) and
    /// the series matching `filter`, ready for [`crate::encode::encode`].
    pub fn select(&self, name: Option<&str>, filter: &[(&str, &str)]) -> Snapshot {
        self.latest()
            .map(|s| select(&s, name, filter))
            .unwrap_or_default()
    }

    /// The latest snapshot restricted to the series in `ranked` (from
    /// [`top`](Self::top)), ready for [`crate::encode::encode`].
    pub fn export(&self, ranked: &[Ranked]) -> Snapshot {
        self.latest()
            .map(|latest| {
                retain(&latest, |f, s| {
                    ranked.iter().any(|r| {
                        r.family == f.name
                            && r.labels.len() == s.labels.len()
                            && r.labels
                                .iter()
                                .zip(&s.labels)
                                .all(|((a, b), (c, d))| a == c && b == d)
                    })
                })
            })
            .unwrap_or_default()
    }
}

fn nanos(n: u128) -> Duration {
    Duration::from_nanos(u64::try_from(n).unwrap_or(u64::MAX))
}

fn newest_at_or_before(timeline: &[Arc<Frame>], t: Duration) -> Option<usize> {
    timeline.partition_point(|f| f.at <= t).checked_sub(1)
}

/// `snapshot` restricted to family `name` (counters with or without
/// `_total`; any family when `None`) and the series carrying every label
/// pair of `filter`. Families left without series are dropped.
///
/// ```
/// use telltale::window::select;
///
/// static HITS: telltale::Counter = telltale::Counter::new("window_doc_hits_total", "Hits.");
/// HITS.inc();
/// let only = select(&telltale::Snapshot::collect(), Some("window_doc_hits_total"), &[]);
/// assert_eq!(only.families.len(), 1);
/// let mut text = String::new();
/// telltale::encode::encode(&only, telltale::Format::Prometheus, &mut text);
/// assert!(text.contains("window_doc_hits_total 1"));
/// ```
pub fn select(snapshot: &Snapshot, name: Option<&str>, filter: &[(&str, &str)]) -> Snapshot {
    let wanted = |f: &MetricFamily| name.is_none_or(|n| names_family(n, &f.name, f.kind));
    retain(snapshot, |f, s| wanted(f) && matches(&s.labels, filter))
}

/// `snapshot` with only the series `keep` accepts; families left without
/// series are dropped.
fn retain(snapshot: &Snapshot, keep: impl Fn(&MetricFamily, &Series) -> bool) -> Snapshot {
    let families = snapshot
        .families
        .iter()
        .filter_map(|f| {
            let series: Vec<Series> = f.series.iter().filter(|s| keep(f, s)).cloned().collect();
            (!series.is_empty()).then(|| MetricFamily {
                name: f.name.clone(),
                help: f.help.clone(),
                unit: f.unit,
                kind: f.kind,
                series,
            })
        })
        .collect();
    Snapshot { families }
}

// ----- views -----------------------------------------------------------------------------

/// The stored ticks of one window, from its start to its end.
#[derive(Debug, Clone)]
pub struct View {
    /// At least two frames, oldest first.
    frames: Vec<Arc<Frame>>,
}

/// One series ranked by [`View::top`].
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// The family name (counters without `_total`).
    pub family: String,
    /// The series' labels.
    pub labels: Vec<(String, String)>,
    /// What it was ranked by: a counter's increase over the window, a
    /// gauge's latest value, a histogram's observations over the window.
    pub value: f64,
}

impl View {
    /// The tick the window starts from, since the clock's epoch.
    pub fn first_tick(&self) -> Duration {
        self.frames[0].at
    }

    /// The window's latest tick, since the clock's epoch.
    pub fn last_tick(&self) -> Duration {
        self.frames[self.frames.len() - 1].at
    }

    /// The time the window covers: `last_tick - first_tick`.
    pub fn span(&self) -> Duration {
        self.last_tick().saturating_sub(self.first_tick())
    }

    /// The old name of [`first_tick`](Self::first_tick).
    #[doc(hidden)]
    pub fn start(&self) -> Duration {
        self.first_tick()
    }

    /// The old name of [`last_tick`](Self::last_tick).
    #[doc(hidden)]
    pub fn end(&self) -> Duration {
        self.last_tick()
    }

    /// Each frame's summed value of the matched scalar series of `name`
    /// (`None` in a frame that has none of them).
    fn scalar_path(&self, name: &str, filter: &[(&str, &str)]) -> Vec<Option<f64>> {
        self.frames
            .iter()
            .map(|f| {
                let family = lookup(f, name)?;
                let mut hit = false;
                let mut total = 0.0;
                for s in family.series.iter().filter(|s| matches(&s.labels, filter)) {
                    if let Stored::Scalar(v) = s.value {
                        hit = true;
                        total += v;
                    }
                }
                hit.then_some(total)
            })
            .collect()
    }

    /// Every series of kind `kind` in family `name` (any family when
    /// `None`) matching `filter`, each with its value in every frame of the
    /// window (`None` where absent). One pass over the frames.
    fn paths(
        &self,
        name: Option<&str>,
        kind: MetricKind,
        filter: &[(&str, &str)],
    ) -> Vec<Path<'_>> {
        let mut out: Vec<Path<'_>> = Vec::new();
        let mut index: HashMap<(Arc<str>, Labels), usize> = HashMap::new();
        for (fi, frame) in self.frames.iter().enumerate() {
            let families: Vec<&FrameFamily> = match name {
                Some(n) => lookup(frame, n).into_iter().collect(),
                None => frame.families.iter().collect(),
            };
            for fam in families.into_iter().filter(|f| f.kind == kind) {
                for s in fam.series.iter().filter(|s| matches(&s.labels, filter)) {
                    let key = (Arc::clone(&fam.name), Arc::clone(&s.labels));
                    let at = *index.entry(key).or_insert_with(|| {
                        out.push(Path {
                            family: Arc::clone(&fam.name),
                            labels: Arc::clone(&s.labels),
                            values: vec![None; self.frames.len()],
                        });
                        out.len() - 1
                    });
                    out[at].values[fi] = Some(&s.value);
                }
            }
        }
        out
    }

    /// What counter `name` added over the window, summed over the series
    /// matching `filter`, each series' resets counted from zero; `None` when
    /// no counter series matches.
    pub fn increase(&self, name: &str, filter: &[(&str, &str)]) -> Option<f64> {
        let paths = self.paths(Some(name), MetricKind::Counter, filter);
        if paths.is_empty() {
            return None;
        }
        Some(
            paths
                .iter()
                .map(|p| p.counter_steps().iter().sum::<f64>())
                .sum(),
        )
    }

    /// [`increase`](Self::increase) per second of the window's [`span`](Self::span).
    pub fn rate(&self, name: &str, filter: &[(&str, &str)]) -> Option<f64> {
        let secs = self.span().as_secs_f64();
        let inc = self.increase(name, filter)?;
        (secs > 0.0).then(|| inc / secs)
    }

    /// Time-weighted average of gauge `name` (the matched series summed)
    /// over the window: each tick's value weighs the time since the tick
    /// before, so with regular ticks it is the mean of the values of the
    /// ticks after the start. `None` when no series matches.
    pub fn average(&self, name: &str, filter: &[(&str, &str)]) -> Option<f64> {
        let path = self.scalar_path(name, filter);
        let mut weighted = 0.0;
        let mut weight = 0.0;
        for (pair, value) in self.frames.windows(2).zip(path.iter().skip(1)) {
            if let Some(v) = *value {
                let dt = pair[1].at.saturating_sub(pair[0].at).as_secs_f64();
                weighted += v * dt;
                weight += dt;
            }
        }
        (weight > 0.0).then(|| weighted / weight)
    }

    /// The observations histogram `name` received over the window, the
    /// matched series merged: the difference of the exponential buckets at
    /// both ends (a series whose count dropped restarted, and counts whole
    /// from there). `None` when no histogram series matches.
    pub fn histogram(&self, name: &str, filter: &[(&str, &str)]) -> Option<ExpBuckets> {
        let paths = self.paths(Some(name), MetricKind::Histogram, filter);
        if paths.is_empty() {
            return None;
        }
        let mut out = ExpBuckets::default();
        for p in &paths {
            out.merge(&p.histogram_delta());
        }
        Some(out)
    }

    /// Summary of metric `name` (series matching `filter`) over the window.
    ///
    /// * histogram: the observations recorded in the window (see
    ///   [`histogram`](Self::histogram)); quantiles within 1.1 %, min and max
    ///   are the bounds of the lowest and highest non-empty buckets, so
    ///   bucket-accurate (the true values lie within 2.2 % inside them);
    /// * counter: the increases of each tick interval (the matched series
    ///   summed): `sum` is the increase over the window, `count` the number
    ///   of intervals;
    /// * gauge: the values at each tick after the start (matched series
    ///   summed), exact.
    pub fn summary(&self, name: &str, filter: &[(&str, &str)]) -> Option<Summary> {
        let kind = lookup(self.frames.last()?, name)
            .or_else(|| self.frames.iter().find_map(|f| lookup(f, name)))?
            .kind;
        match kind {
            MetricKind::Histogram => {
                let h = self.histogram(name, filter)?;
                let count = h.count();
                let mut min = None;
                let mut max = None;
                if h.zero > 0 {
                    min = Some(0.0);
                    max = Some(0.0);
                }
                for (lo, hi, _) in h.buckets() {
                    min.get_or_insert(lo);
                    max = Some(hi);
                }
                if h.overflow > 0 {
                    min.get_or_insert(f64::INFINITY);
                    max = Some(f64::INFINITY);
                }
                Some(Summary {
                    kind,
                    count,
                    sum: h.sum,
                    min: min.unwrap_or(f64::NAN),
                    max: max.unwrap_or(f64::NAN),
                    data: Data::Buckets(h),
                })
            }
            MetricKind::Counter => {
                let paths = self.paths(Some(name), kind, filter);
                if paths.is_empty() {
                    return None;
                }
                let mut per_step = vec![0.0; self.frames.len() - 1];
                for p in &paths {
                    for (acc, v) in per_step.iter_mut().zip(p.counter_steps()) {
                        *acc += v;
                    }
                }
                Some(Summary::from_samples(kind, per_step))
            }
            MetricKind::Gauge => {
                let samples: Vec<f64> = self
                    .scalar_path(name, filter)
                    .into_iter()
                    .skip(1)
                    .flatten()
                    .collect();
                (!samples.is_empty()).then(|| Summary::from_samples(kind, samples))
            }
        }
    }

    /// Calls of `function_calls{function=op, result}` over the window, by
    /// result, and failed calls by error kind.
    fn outcomes(&self, op: &str) -> (f64, f64, BTreeMap<String, f64>) {
        let (mut ok, mut error) = (0.0, 0.0);
        let mut kinds = BTreeMap::new();
        for p in self.paths(Some(CALLS_FAMILY), MetricKind::Counter, &[]) {
            let label = |k: &str| {
                p.labels
                    .iter()
                    .find(|(lk, _)| lk == k)
                    .map(|(_, v)| v.to_string())
            };
            if !label(FUNCTION_LABEL).is_some_and(|f| names_operation(op, &f)) {
                continue;
            }
            let n: f64 = p.counter_steps().iter().sum();
            match label("result").as_deref() {
                Some("ok") => ok += n,
                Some("error") => {
                    error += n;
                    *kinds
                        .entry(label("error").unwrap_or_default())
                        .or_insert(0.0) += n;
                }
                _ => {}
            }
        }
        (ok, error, kinds)
    }

    /// `ok / (ok + error)` of the calls of operation `op` (the `function`
    /// label of `function_calls`: a `#[tracked]` function or an operation
    /// recorded through the tracker API) over the window. Cancelled calls
    /// (futures dropped before completing) are neither: they are left out.
    /// Same-named functions of different modules count together, and so do
    /// methods: a method's label is `Type::method`, which `op` names either
    /// whole (`"Inventory::reserve"`, that method alone) or by the method's
    /// name (`"reserve"`: every function and method called `reserve`). `None`
    /// when no call completed in the window.
    pub fn success_rate(&self, op: &str) -> Option<f64> {
        let (ok, error, _) = self.outcomes(op);
        (ok + error > 0.0).then(|| ok / (ok + error))
    }

    /// Failed calls of `op` over the window by error kind (the `error`
    /// label); kinds without failures in the window are left out.
    pub fn failure_breakdown(&self, op: &str) -> BTreeMap<String, u64> {
        self.outcomes(op)
            .2
            .into_iter()
            .filter(|&(_, n)| n > 0.0)
            .map(|(k, n)| (k, n.round() as u64))
            .collect()
    }

    /// The `n` series of kind `kind` with the largest values, largest first:
    /// counters by their increase over the window, gauges by their value at
    /// its end, histograms by the observations recorded in it. Ties keep
    /// family and label order.
    pub fn top(&self, kind: MetricKind, n: usize) -> Vec<Ranked> {
        let mut ranked: Vec<Ranked> = self
            .paths(None, kind, &[])
            .into_iter()
            .filter_map(|p| {
                let value = match kind {
                    MetricKind::Counter => p.counter_steps().iter().sum(),
                    MetricKind::Gauge => match p.values.last().copied().flatten()? {
                        Stored::Scalar(v) => *v,
                        Stored::Hist(_) | Stored::Classic(_) => return None,
                    },
                    MetricKind::Histogram => p.histogram_delta().count() as f64,
                };
                let (family, labels) = (p.family, p.labels);
                Some(Ranked {
                    family: family.to_string(),
                    labels: labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    value,
                })
            })
            .collect();
        ranked.sort_by(|a, b| b.value.total_cmp(&a.value));
        ranked.truncate(n);
        ranked
    }
}

/// One series of a window read at its two ends, for rules evaluated every
/// tick: what it did over the window costs two frame lookups, however long
/// the window.
#[derive(Debug)]
#[cfg_attr(not(feature = "aggregate"), allow(dead_code))]
pub(crate) struct Ends<'a> {
    end: &'a FrameSeries,
    start: Option<&'a FrameSeries>,
    span: f64,
}

#[cfg_attr(not(feature = "aggregate"), allow(dead_code))]
impl<'a> Ends<'a> {
    /// The series' labels.
    pub(crate) fn labels(
        &self,
    ) -> &'a [(
        std::borrow::Cow<'static, str>,
        std::borrow::Cow<'static, str>,
    )] {
        &self.end.labels
    }

    /// The series' labels, shared (no copy).
    pub(crate) fn shared_labels(&self) -> Labels {
        Arc::clone(&self.end.labels)
    }

    /// The value at the window's end (a counter's total, a gauge's value).
    pub(crate) fn last(&self) -> Option<f64> {
        match self.end.value {
            Stored::Scalar(v) => Some(v),
            Stored::Hist(_) | Stored::Classic(_) => None,
        }
    }

    /// A counter's increase over the window, restarts counted from zero.
    pub(crate) fn increase(&self) -> Option<f64> {
        self.last()?;
        Some(match self.start {
            // The same run at both ends.
            // (Both copied from one frame's value: equal bit for bit.)
            Some(start) if start.covered.to_bits() == self.end.covered.to_bits() => {
                self.end.acc - start.acc
            }
            // First seen, or seen again after a gap, within the window.
            _ => self.end.acc,
        })
    }

    /// [`increase`](Self::increase) per second of the window.
    pub(crate) fn rate(&self) -> Option<f64> {
        let increase = self.increase()?;
        (self.span > 0.0).then(|| increase / self.span)
    }

    /// A gauge's time-weighted mean over the window (as [`View::average`]).
    pub(crate) fn mean(&self) -> Option<f64> {
        self.last()?;
        let (acc, covered) = match self.start {
            // Present at every tick between the ends: they cover the span.
            Some(start)
                if ((self.end.covered - start.covered) - self.span).abs()
                    <= 1e-6 * self.span.max(1.0) =>
            {
                (self.end.acc - start.acc, self.end.covered - start.covered)
            }
            // First seen, or seen again after a gap, within the window.
            _ => (self.end.acc, self.end.covered),
        };
        (covered > 0.0).then(|| acc / covered)
    }

    /// A histogram's observations over the window (a count that dropped
    /// between the ends is a restart: the end counts whole).
    pub(crate) fn histogram(&self) -> Option<HistDelta> {
        let start = self.start.map(|s| &s.value);
        Some(match &self.end.value {
            Stored::Hist(end) => HistDelta::Exp(match start {
                Some(Stored::Hist(start)) if end.count() >= start.count() => {
                    end.saturating_sub(start)
                }
                _ => (**end).clone(),
            }),
            Stored::Classic(end) => {
                let (count, sum, buckets) = &**end;
                let base = match start {
                    Some(Stored::Classic(s)) if s.0 <= *count && s.2.len() == buckets.len() => {
                        Some(&**s)
                    }
                    _ => None,
                };
                let minus = |i: usize| base.map_or(0, |b| b.2[i].1);
                HistDelta::Classic {
                    count: (count - base.map_or(0, |b| b.0)) as f64,
                    sum: sum - base.map_or(0.0, |b| b.1),
                    buckets: buckets
                        .iter()
                        .enumerate()
                        .map(|(i, &(le, n))| (le, n.saturating_sub(minus(i)) as f64))
                        .collect(),
                }
            }
            Stored::Scalar(_) => return None,
        })
    }
}

/// A histogram's observations over a window: exponential buckets (the
/// program's own histograms), or classic ones (a source's).
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "aggregate"), allow(dead_code))]
pub(crate) enum HistDelta {
    Exp(ExpBuckets),
    Classic {
        count: f64,
        sum: f64,
        /// Cumulative `(le, count)`, without `+Inf`.
        buckets: Vec<(f64, f64)>,
    },
}

#[cfg_attr(not(feature = "aggregate"), allow(dead_code))]
impl HistDelta {
    /// Observations.
    pub(crate) fn count(&self) -> f64 {
        match self {
            HistDelta::Exp(h) => h.count() as f64,
            HistDelta::Classic { count, .. } => *count,
        }
    }

    /// Their sum.
    pub(crate) fn sum(&self) -> f64 {
        match self {
            HistDelta::Exp(h) => h.sum,
            HistDelta::Classic { sum, .. } => *sum,
        }
    }

    /// Cumulative counts at `bounds` (exponential) or at the histogram's
    /// own bounds (classic), then `(+Inf, count)`.
    pub(crate) fn cumulative(&self, bounds: &[f64]) -> Vec<(f64, f64)> {
        let mut out: Vec<(f64, f64)> = match self {
            HistDelta::Exp(h) => h.cumulative(bounds).map(|(le, n)| (le, n as f64)).collect(),
            HistDelta::Classic { buckets, .. } => buckets.clone(),
        };
        out.push((f64::INFINITY, self.count()));
        out
    }

    /// Adds `other`'s observations (classic buckets of other bounds are
    /// not added: their counts are).
    pub(crate) fn merge(&mut self, other: &HistDelta) {
        match (self, other) {
            (HistDelta::Exp(a), HistDelta::Exp(b)) => a.merge(b),
            (
                HistDelta::Classic {
                    count,
                    sum,
                    buckets,
                },
                HistDelta::Classic {
                    count: c2,
                    sum: s2,
                    buckets: b2,
                },
            ) if buckets.len() == b2.len()
                && buckets
                    .iter()
                    .zip(b2)
                    .all(|(x, y)| x.0.to_bits() == y.0.to_bits()) =>
            {
                *count += c2;
                *sum += s2;
                for (x, y) in buckets.iter_mut().zip(b2) {
                    x.1 += y.1;
                }
            }
            _ => {}
        }
    }
}

#[cfg_attr(not(feature = "aggregate"), allow(dead_code))]
impl View {
    /// Every series of family `name` (counters with or without `_total`) at
    /// the window's end, with the family's kind; `None` when the end has no
    /// such family.
    pub(crate) fn ends(&self, name: &str) -> Option<(MetricKind, Vec<Ends<'_>>)> {
        let end = self.frames.last()?;
        let family = lookup(end, name)?;
        let start = lookup(&self.frames[0], name);
        let span = self.span().as_secs_f64();
        let mut index: Option<HashMap<&[_], usize>> = None;
        let series = family
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let start = start.and_then(|old| old.series_like(i, &s.labels, &mut index));
                Ends {
                    end: s,
                    start,
                    span,
                }
            })
            .collect();
        Some((family.kind, series))
    }

    /// Each series of gauge family `name` with its value at each tick after
    /// the window's start (`None` where it is absent); one pass over the
    /// frames.
    pub(crate) fn gauge_samples(&self, name: &str) -> Vec<(Labels, Vec<Option<f64>>)> {
        self.paths(Some(name), MetricKind::Gauge, &[])
            .into_iter()
            .map(|p| {
                let values = p
                    .values
                    .iter()
                    .skip(1)
                    .map(|v| match v {
                        Some(Stored::Scalar(x)) => Some(*x),
                        _ => None,
                    })
                    .collect();
                (p.labels, values)
            })
            .collect()
    }
}

/// One series' values across the frames of a window.
struct Path<'a> {
    family: Arc<str>,
    labels: Labels,
    values: Vec<Option<&'a Stored>>,
}

impl Path<'_> {
    /// Per-interval increases, resets counted from zero.
    fn counter_steps(&self) -> Vec<f64> {
        let path: Vec<Option<f64>> = self
            .values
            .iter()
            .map(|v| match v {
                Some(Stored::Scalar(x)) => Some(*x),
                _ => None,
            })
            .collect();
        steps(&path)
    }

    fn histogram_delta(&self) -> ExpBuckets {
        let path: Vec<Option<&Arc<ExpBuckets>>> = self
            .values
            .iter()
            .map(|v| match v {
                Some(Stored::Hist(h)) => Some(h),
                _ => None,
            })
            .collect();
        histogram_delta(&path)
    }
}

/// Increases between consecutive known values; a drop restarts from zero.
/// A series absent from a frame keeps its last known value.
fn steps(path: &[Option<f64>]) -> Vec<f64> {
    let mut out = Vec::with_capacity(path.len().saturating_sub(1));
    let mut last = path.first().copied().flatten();
    for v in path.iter().skip(1) {
        match (*v, last) {
            (Some(now), Some(before)) if now >= before => out.push(now - before),
            // A drop is a restart; a series first seen counts from zero
            // (series appear at zero or on their first record).
            (Some(now), _) => out.push(now),
            (None, _) => out.push(0.0),
        }
        if v.is_some() {
            last = *v;
        }
    }
    out
}

/// The observations between the first and last histogram of a path, resets
/// (a count that drops) counted from zero.
fn histogram_delta(path: &[Option<&Arc<ExpBuckets>>]) -> ExpBuckets {
    let mut out = ExpBuckets::default();
    let mut base: Option<&Arc<ExpBuckets>> = path.first().copied().flatten();
    let mut last: Option<&Arc<ExpBuckets>> = base;
    for h in path.iter().skip(1).copied().flatten() {
        if let Some(prev) = last {
            if h.count() < prev.count() {
                // Restart: close the segment at `prev`, count `h` whole.
                match base {
                    Some(b) => out.merge(&prev.saturating_sub(b)),
                    None => out.merge(prev),
                }
                base = None;
            }
        }
        last = Some(h);
    }
    if let Some(end) = last {
        match base {
            Some(b) if !Arc::ptr_eq(b, end) => out.merge(&end.saturating_sub(b)),
            Some(_) => {}
            None => out.merge(end),
        }
    }
    out
}

// ----- summaries ---------------------------------------------------------------------------

/// Count, sum, mean, min, max and quantiles of a metric over a window; see
/// [`View::summary`] for what they count for each kind of metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The kind of the metric summarised.
    pub kind: MetricKind,
    /// Observations (histograms) or samples (counters: intervals; gauges: ticks).
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The smallest (histograms: lower bound of the lowest non-empty bucket); `NaN` when empty.
    pub min: f64,
    /// The largest (histograms: upper bound of the highest non-empty bucket); `NaN` when empty.
    pub max: f64,
    data: Data,
}

#[derive(Debug, Clone, PartialEq)]
enum Data {
    Buckets(ExpBuckets),
    /// Sorted.
    Samples(Vec<f64>),
}

impl Summary {
    fn from_samples(kind: MetricKind, mut samples: Vec<f64>) -> Summary {
        samples.sort_by(f64::total_cmp);
        Summary {
            kind,
            count: samples.len() as u64,
            sum: samples.iter().sum(),
            min: samples.first().copied().unwrap_or(f64::NAN),
            max: samples.last().copied().unwrap_or(f64::NAN),
            data: Data::Samples(samples),
        }
    }

    /// `sum / count`; `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }

    /// The `q`-quantile (nearest rank), `q` in `0.0..=1.0`: within 1.1 % for
    /// histograms, exact for counter and gauge samples; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        match &self.data {
            Data::Buckets(h) => h.quantile(q),
            Data::Samples(s) => {
                if s.is_empty() || q.is_nan() {
                    return None;
                }
                let n = s.len();
                let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as usize).clamp(1, n);
                s.get(rank - 1).copied()
            }
        }
    }
}

// ----- the background ticker --------------------------------------------------------------

/// Starts a background thread ticking a new [`Windows`] store (on the
/// [`SystemClock`]) every `config.tick`, the first tick at once.
pub fn start(config: WindowConfig) -> Ticker {
    Ticker::start(Arc::new(Windows::new(config)))
}

/// A background thread ticking a [`Windows`] store; stops on
/// [`stop`](Ticker::stop) or when dropped.
///
/// ```
/// use std::time::Duration;
///
/// let ticker = telltale::window::start(telltale::window::WindowConfig::default());
/// let windows = ticker.windows().clone();
/// ticker.stop();
/// ticker.stop(); // idempotent
/// assert!(windows.fine_len() <= 1);
/// ```
#[derive(Debug)]
pub struct Ticker {
    windows: Arc<Windows>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Ticker {
    /// Ticks `windows` every `windows.config().tick` on a new thread.
    pub fn start(windows: Arc<Windows>) -> Ticker {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread = {
            let windows = Arc::clone(&windows);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("telltale-window".into())
                .spawn(move || {
                    let every = windows.config().tick.max(Duration::from_millis(1));
                    let (lock, cvar) = &*stop;
                    let mut next = Instant::now();
                    loop {
                        if *lock.lock().unwrap_or_else(PoisonError::into_inner) {
                            return;
                        }
                        windows.tick();
                        next += every;
                        let mut stopped = lock.lock().unwrap_or_else(PoisonError::into_inner);
                        while !*stopped {
                            let now = Instant::now();
                            if now >= next {
                                break;
                            }
                            stopped = cvar
                                .wait_timeout(stopped, next - now)
                                .unwrap_or_else(PoisonError::into_inner)
                                .0;
                        }
                        if *stopped {
                            return;
                        }
                    }
                })
                .ok()
        };
        Ticker {
            windows,
            stop,
            thread: Mutex::new(thread),
        }
    }

    /// The store this ticker fills.
    pub fn windows(&self) -> &Arc<Windows> {
        &self.windows
    }

    /// Stops the thread and waits for it; safe to call more than once.
    pub fn stop(&self) {
        let (lock, cvar) = &*self.stop;
        *lock.lock().unwrap_or_else(PoisonError::into_inner) = true;
        cvar.notify_all();
        let handle = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot of one counter family with `n` series, each at `value`.
    fn counters(n: usize, value: f64) -> Snapshot {
        Snapshot {
            families: vec![MetricFamily {
                name: "window_unit_total".into(),
                help: "t".into(),
                unit: None,
                kind: MetricKind::Counter,
                series: (0..n)
                    .map(|i| Series {
                        labels: vec![("id".into(), i.to_string().into())],
                        value: Value::Counter(value),
                        created: None,
                    })
                    .collect(),
            }],
        }
    }

    /// The module docs' bound: with the default configuration, a counter
    /// series costs 48 bytes in each of 302 + 1441 frames, about 84 KB, however
    /// long the store runs.
    #[test]
    fn a_counter_series_costs_at_most_84_kb_with_the_defaults() {
        let config = WindowConfig::default();
        assert_eq!(
            (config.fine_capacity(), config.coarse_capacity()),
            (302, 1441)
        );
        assert_eq!(std::mem::size_of::<FrameSeries>(), 48);
        // Two stores that differ by one series, ticked for 25 hours.
        let clock = MockClock::new(Duration::ZERO);
        let one = Windows::with_clock(config, clock.clone());
        let two = Windows::with_clock(config, clock.clone());
        for s in 0..25 * 3600 {
            one.record(counters(1, f64::from(s)));
            two.record(counters(2, f64::from(s)));
            clock.advance(Duration::from_secs(1));
        }
        assert_eq!((two.fine_len(), two.coarse_len()), (302, 1441));
        // Frames in both rings are stored once.
        let frames = two.timeline().len();
        assert!(frames <= 302 + 1441, "{frames}");
        let per_series = two.stored_bytes() - one.stored_bytes();
        assert_eq!(per_series, frames * 48);
        assert!(per_series <= 84_000, "{per_series}");
    }
}
