//! What one `#[timed]` / `#[tracked]` expansion holds: constant metadata and
//! lazily allocated, sharded cells.
//!
//! The hot path is [`Callsite::enter`] and dropping the [`Guard`] it returns:
//! two clock reads, one histogram record into the calling thread's shard and,
//! for `#[tracked]`, one outcome count. For a callsite without per-call labels:
//! no lock, no lookup, no allocation once its storage exists; per-call labels
//! add a lookup in the label index families use ([`SeriesIndex`]).

use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::backend::cells::Describe;
use crate::backend::mode::GaugeMode;
use crate::backend::resident;
use crate::collect::registry::{Collect, Desc, Registration, Sink};
use crate::collect::snapshot::{MetricKind, Value};
use crate::metric::failures;
use crate::metric::family::{SeriesIndex, Visit};
use crate::metric::labels::LabelSet;
use crate::store::histogram::{HistogramCells, FUNCTION_CALL_BUCKETS};
use crate::{store::clock, store::shard};

impl Registration {
    /// Registers an instrumented function's callsite (what `#[timed]` and
    /// `#[tracked]` submit with `inventory`).
    pub const fn callsite(c: &'static Callsite) -> Registration {
        Registration::of(c)
    }
}

/// The family of `#[tracked]` calls by outcome, shared by every function
/// without its own `name` (the autometrics name); timers, the tracker, the
/// windows' queries and the system read it under this name.
pub(crate) const CALLS_FAMILY: &str = "function_calls";
/// The shared duration family of `#[timed]` and `#[tracked]`.
pub(crate) const DURATION_FAMILY: &str = "function_calls_duration_seconds";
/// The label naming an instrumented function (or timer operation).
pub(crate) const FUNCTION_LABEL: &str = "function";
/// The label of a call's outcome in [`CALLS_FAMILY`].
pub(crate) const RESULT_LABEL: &str = "result";

const CALLS_HELP: &str = "Calls of instrumented functions, by result and error kind.";
const DURATION_HELP: &str = "Duration of instrumented function calls, in seconds.";
const CONCURRENT_HELP: &str = "Calls of instrumented functions in flight.";

/// Constant metadata of one instrumented function.
#[derive(Debug)]
pub struct CallsiteMeta {
    /// Series base name: `function_calls` unless `name = "..."`.
    pub name: &'static str,
    /// Help text of the function's own series (empty for `function_calls`).
    pub help: &'static str,
    /// `fetch`, or `Type::method` when the macro sits on an impl block.
    pub function: &'static str,
    /// `module_path!()` of the function.
    pub module: &'static str,
    /// `#[tracked]`: outcomes as well as durations.
    pub tracked: bool,
    /// Keep an in-flight gauge.
    pub concurrency: bool,
    /// Classic buckets (`le`), empty for [`FUNCTION_CALL_BUCKETS`].
    pub buckets: &'static [f64],
    /// Names of the per-call labels, in order (`labels(key = ...)`).
    pub label_names: &'static [&'static str],
    /// Every call has labels (`labels(..)` or `labels = expr`): there is no
    /// unlabeled series to export.
    pub labeled: bool,
    /// The error kinds a `#[tracked]` function can report, when the macro
    /// can name its error type (or its `ok_if`/`error_if` predicate): they
    /// are exported at zero from the start. `Indexed` stands for every value
    /// of its table.
    pub errors: Option<fn() -> ErrorKind>,
}

/// One instrumented function.
#[derive(Debug)]
pub struct Callsite {
    meta: &'static CallsiteMeta,
    cells: AtomicPtr<CallsiteCells>,
}

#[derive(Debug)]
struct CallsiteCells {
    base: SeriesCells,
    /// The series of per-call labels, from the first labeled call.
    labeled: OnceLock<Labeled>,
}

/// The series of a callsite with per-call labels: the label index (capped
/// like a family's) and, by series id, each series' cells, allocated when
/// the series is first recorded.
#[derive(Debug)]
struct Labeled {
    index: SeriesIndex,
    series: Box<[AtomicPtr<SeriesCells>]>,
}

/// The cells of one series (one set of per-call label values).
#[derive(Debug)]
struct SeriesCells {
    hist: HistogramCells,
    outcomes: [OutcomeShard; shard::SHARDS],
    created: f64,
    /// Set when the series is in mapped memory, whose backend reads it:
    /// what describes the error counts it adds later.
    kept: Option<Box<Kept>>,
}

/// What names a series kept in mapped memory.
#[derive(Debug)]
struct Kept {
    meta: &'static CallsiteMeta,
    /// `function`, `module` and the per-call labels (or the overflow one).
    labels: Vec<(String, String)>,
}

#[derive(Debug)]
#[repr(align(128))]
struct OutcomeShard {
    ok: AtomicU64,
    cancelled: AtomicU64,
    panicked: AtomicU64,
    in_flight: AtomicU64,
    errors: AtomicPtr<ErrorNode>,
}

/// Counts of one error type, per error kind.
#[derive(Debug)]
struct ErrorNode {
    key: ErrorKind,
    /// On the heap, unless `mapped` holds them.
    heap: Box<[AtomicU64]>,
    mapped: Option<&'static [AtomicU64]>,
    next: *mut ErrorNode,
}

impl ErrorNode {
    fn counts(&self) -> &[AtomicU64] {
        self.mapped.unwrap_or(&self.heap)
    }
}

impl OutcomeShard {
    const fn new() -> Self {
        OutcomeShard {
            ok: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            panicked: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            errors: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    #[inline]
    fn error(&self, shard: usize, kind: ErrorKind, series: &SeriesCells) {
        let (slot, len) = match kind {
            ErrorKind::Indexed(values, i) => (i, values.len()),
            ErrorKind::Named(_) | ErrorKind::Label(_) => (0, 1),
        };
        let mut node = self.errors.load(Ordering::Acquire);
        while !node.is_null() {
            // SAFETY: nodes are only freed with the shard.
            let n = unsafe { &*node };
            if n.key.same_table(kind) {
                if let Some(c) = n.counts().get(slot) {
                    shard::add(c, shard, 1);
                }
                return;
            }
            node = n.next;
        }
        self.push_error(kind, len, slot, shard, series);
    }

    #[cold]
    fn push_error(
        &self,
        kind: ErrorKind,
        len: usize,
        slot: usize,
        shard: usize,
        series: &SeriesCells,
    ) {
        // A kept series keeps its error counts in mapped memory too, each
        // described before it can count.
        let mapped = series
            .kept
            .as_deref()
            .and_then(|k| k.error_counts(kind, len));
        let heap: Box<[AtomicU64]> = if mapped.is_some() {
            Box::default()
        } else {
            (0..len).map(|_| AtomicU64::new(0)).collect()
        };
        let fresh = Box::into_raw(Box::new(ErrorNode {
            key: kind,
            heap,
            mapped,
            next: std::ptr::null_mut(),
        }));
        loop {
            let head = self.errors.load(Ordering::Acquire);
            // Another writer of the shared shard may have added this kind.
            let mut node = head;
            while !node.is_null() {
                // SAFETY: as in `error`.
                let n = unsafe { &*node };
                if n.key.same_table(kind) {
                    // SAFETY: `fresh` was never published.
                    drop(unsafe { Box::from_raw(fresh) });
                    if let Some(c) = n.counts().get(slot) {
                        shard::add(c, shard, 1);
                    }
                    return;
                }
                node = n.next;
            }
            // SAFETY: `fresh` is ours until published.
            unsafe { (*fresh).next = head };
            if self
                .errors
                .compare_exchange(head, fresh, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                // SAFETY: just published; counts only grow.
                if let Some(c) = unsafe { &*fresh }.counts().get(slot) {
                    shard::add(c, shard, 1);
                }
                return;
            }
        }
    }
}

impl Drop for OutcomeShard {
    fn drop(&mut self) {
        let mut node = *self.errors.get_mut();
        while !node.is_null() {
            // SAFETY: exclusive in drop; every node was created by Box::into_raw.
            let boxed = unsafe { Box::from_raw(node) };
            node = boxed.next;
        }
    }
}

/// How an instrumented call ended, as the generated code classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `result="ok"`.
    Ok,
    /// `result="error"` with its error kind.
    Error(ErrorKind),
}

/// The `error` label of a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A value of a bounded label type: its value table and the index in it.
    Indexed(&'static [&'static str], usize),
    /// A type name (shortened at export by [`crate::labels::readable_type_name`])
    /// or an `ok_if`/`error_if` predicate's name.
    Named(&'static str),
    /// A kind given as text (timers and the tracker API), exported as written.
    Label(&'static str),
}

impl ErrorKind {
    /// The `error` label of entry `i` of this kind's table.
    fn label(self, i: usize) -> String {
        match self {
            ErrorKind::Indexed(values, _) => values.get(i).copied().unwrap_or("unknown").to_owned(),
            ErrorKind::Named(name) => crate::metric::labels::readable_type_name(name),
            ErrorKind::Label(label) => label.to_owned(),
        }
    }

    fn same_table(self, other: ErrorKind) -> bool {
        match (self, other) {
            (ErrorKind::Indexed(a, _), ErrorKind::Indexed(b, _)) => std::ptr::eq(a, b),
            (ErrorKind::Named(a), ErrorKind::Named(b))
            | (ErrorKind::Label(a), ErrorKind::Label(b)) => std::ptr::eq(a, b) || a == b,
            _ => false,
        }
    }
}

impl Callsite {
    /// A callsite with no storage yet.
    pub const fn new(meta: &'static CallsiteMeta) -> Callsite {
        Callsite {
            meta,
            cells: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// The callsite's metadata.
    pub fn meta(&self) -> &'static CallsiteMeta {
        self.meta
    }

    #[inline]
    fn cells(&'static self) -> &'static CallsiteCells {
        let p = self.cells.load(Ordering::Acquire);
        if p.is_null() {
            self.init_cells()
        } else {
            // SAFETY: published cells are never freed (callsites are statics).
            unsafe { &*p }
        }
    }

    #[cold]
    fn init_cells(&'static self) -> &'static CallsiteCells {
        // Registered before the cells are published, so that no thread
        // records into cells a collection could miss (threads racing here
        // may register it twice; collection skips duplicates).
        crate::collect::registry::register(self);
        let fresh = CallsiteCells {
            base: SeriesCells::new(),
            labeled: OnceLock::new(),
        };
        let labels = base_labels(self.meta);
        // The loser of a race leaves its placed cells unused in the mapping.
        let kept = keep(self.meta, labels, fresh, |c| &mut c.base, |c| &c.base);
        let cells = crate::store::publish::publish_either(&self.cells, kept);
        // SAFETY: published cells are never freed (callsites are statics).
        unsafe { &*cells }
    }

    /// Counts a call's outcome without a duration (the tracker API).
    pub(crate) fn count(&'static self, outcome: Outcome) {
        self.cells().base.count(outcome);
    }

    /// Records a call measured elsewhere: its duration in clock ticks and
    /// how it ended (the timer API's `record`).
    pub(crate) fn record(&'static self, ticks: u64, outcome: Outcome) {
        let series = &self.cells().base;
        series.hist.record_ticks_in(shard::current(), ticks);
        series.count(outcome);
    }

    /// Starts a call. Registers the callsite on first use.
    #[inline]
    pub fn enter(&'static self) -> Guard {
        let series = &self.cells().base;
        Guard::enter(self.meta, series)
    }

    /// Starts a call with per-call label values, in the order of
    /// [`CallsiteMeta::label_names`].
    pub fn enter_labeled(&'static self, values: &[&str]) -> Guard {
        let series = self
            .cells()
            .labeled(|| self.meta.label_names.to_vec())
            .series(self.meta, &|f| values.iter().for_each(|v| f(v)));
        Guard::enter(self.meta, series)
    }

    /// Starts a call whose series carries the labels of a [`LabelSet`]
    /// (`#[timed(labels = expr)]`).
    pub fn enter_set<L: LabelSet + ?Sized>(&'static self, labels: &L) -> Guard {
        let series = self
            .cells()
            .labeled(|| {
                let mut names = Vec::new();
                L::names(&mut names);
                names
            })
            .series(self.meta, &|f| labels.visit(f));
        Guard::enter(self.meta, series)
    }
}

impl CallsiteCells {
    /// The labeled series, created with these label names on first use.
    #[inline]
    fn labeled(&'static self, names: impl FnOnce() -> Vec<&'static str>) -> &'static Labeled {
        self.labeled.get_or_init(|| {
            let index =
                SeriesIndex::hashed(names(), crate::metric::family::default_cardinality_cap());
            let series = (0..index.capacity)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect();
            Labeled { index, series }
        })
    }
}

impl Labeled {
    /// The cells of the label values `visit` produces (those of the
    /// overflow series once the cap is reached).
    #[inline]
    fn series(
        &'static self,
        meta: &'static CallsiteMeta,
        visit: Visit<'_>,
    ) -> &'static SeriesCells {
        // Ids are below the index's capacity, the length of `series`.
        let id = self.index.id(visit);
        let slot = &self.series[id];
        let mut cells = slot.load(Ordering::Acquire);
        if cells.is_null() {
            cells = self.alloc_series(slot, meta, id, visit);
        }
        // SAFETY: published cells are never freed (callsites are statics).
        unsafe { &*cells }
    }

    /// Each recorded series: its label values (none for the overflow
    /// series) and cells, and whether it is the overflow series.
    fn recorded(&self) -> Vec<(Vec<String>, &SeriesCells, bool)> {
        let overflow = self.index.overflow_id();
        let mut ids = self.index.interned();
        ids.push((Vec::new(), overflow));
        ids.into_iter()
            .filter_map(|(values, id)| {
                let cells = self.series.get(id)?.load(Ordering::Acquire);
                // SAFETY: as in `series`.
                (!cells.is_null()).then(|| (values, unsafe { &*cells }, id == overflow))
            })
            .collect()
    }
}

impl Labeled {
    #[cold]
    fn alloc_series(
        &self,
        slot: &AtomicPtr<SeriesCells>,
        meta: &'static CallsiteMeta,
        id: usize,
        visit: Visit<'_>,
    ) -> *mut SeriesCells {
        let mut labels = base_labels(meta);
        if id == self.index.overflow_id() {
            labels.push(("otel_metric_overflow".into(), "true".into()));
        } else {
            let mut values = Vec::new();
            visit(&mut |v| values.push(v.to_owned()));
            for (k, v) in exported_label_names(&self.index.names).iter().zip(values) {
                labels.push((k.to_string(), v));
            }
        }
        let kept = keep(meta, labels, SeriesCells::new(), |s| s, |s| s);
        crate::store::publish::publish_either(slot, kept)
    }
}

/// A series' first labels: its function and module.
fn base_labels(meta: &CallsiteMeta) -> Vec<(String, String)> {
    vec![
        (FUNCTION_LABEL.into(), meta.function.into()),
        ("module".into(), meta.module.into()),
    ]
}

/// The names per-call labels are exported under (one that clashes with a
/// name telltale sets is renamed).
fn exported_label_names(names: &[&'static str]) -> Vec<std::borrow::Cow<'static, str>> {
    crate::metric::labels::export_names(
        &[
            FUNCTION_LABEL,
            "module",
            RESULT_LABEL,
            "error",
            "le",
            "quantile",
            "otel_metric_overflow",
        ],
        names,
    )
}

/// The help texts of a callsite's calls, durations and in-flight gauge.
fn helps(meta: &CallsiteMeta) -> (String, String, String) {
    let own = meta.name != CALLS_FAMILY && !meta.help.is_empty();
    let help = |default: &str| {
        if own {
            meta.help.to_owned()
        } else {
            default.to_owned()
        }
    };
    (help(CALLS_HELP), help(DURATION_HELP), help(CONCURRENT_HELP))
}

/// The classic bounds of a callsite's durations.
fn bounds(meta: &CallsiteMeta) -> &'static [f64] {
    if meta.buckets.is_empty() {
        FUNCTION_CALL_BUCKETS
    } else {
        meta.buckets
    }
}

/// Places `value` (cells holding one series, reached by `series`) in the
/// file backend's mapped memory and describes the series there, when that
/// backend runs; otherwise gives it back. A series that cannot be
/// described (the file full) keeps counting in place and is flushed.
fn keep<T: 'static>(
    meta: &'static CallsiteMeta,
    labels: Vec<(String, String)>,
    mut value: T,
    series_mut: fn(&mut T) -> &mut SeriesCells,
    series: fn(&T) -> &SeriesCells,
) -> Result<*mut T, T> {
    if !resident::active() {
        return Err(value);
    }
    let Some(place) = crate::store::mapped::alloc::<T>() else {
        return Err(value);
    };
    series_mut(&mut value).kept = Some(Box::new(Kept { meta, labels }));
    // SAFETY: room for a `T`, aligned, that stays mapped for the rest of
    // the process and that nothing else uses.
    let placed: &'static T = unsafe {
        place.write(value);
        &*place
    };
    let cells = series(placed);
    if let Some(kept) = &cells.kept {
        kept.describe(cells);
    }
    Ok(place)
}

impl Kept {
    /// Tells the backend where the series' durations, outcome counts and
    /// in-flight count are (before anything records into them).
    fn describe(&self, s: &'static SeriesCells) {
        let meta = self.meta;
        let (calls_help, duration_help, concurrent_help) = helps(meta);
        let labels: Vec<(&str, &str)> = self
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let duration_name = format!("{}_duration_seconds", meta.name);
        let durations = Describe {
            family: &duration_name,
            help: &duration_help,
            unit: Some("seconds"),
            labels: &labels,
            mode: GaugeMode::All,
            created: s.created,
            bounds: bounds(meta),
            ticks: true,
            // An operation of the timer and tracker API shows durations
            // once it has some.
            hide_zero: meta.module.is_empty(),
        };
        if let Some(slots) = resident::histogram(&durations) {
            s.hist.place(slots);
        }
        let stride = std::mem::size_of::<OutcomeShard>();
        let first = &s.outcomes[0];
        if meta.tracked {
            for (result, error, cell, hide_zero) in [
                ("ok", "", &first.ok, false),
                ("error", "panic", &first.panicked, true),
                ("cancelled", "", &first.cancelled, true),
            ] {
                let mut l = labels.clone();
                l.extend([(RESULT_LABEL, result), ("error", error)]);
                let what = Describe {
                    family: meta.name,
                    help: &calls_help,
                    unit: None,
                    labels: &l,
                    bounds: &[],
                    ticks: false,
                    hide_zero,
                    ..durations
                };
                resident::sum_of(&what, false, cell, stride, shard::SHARDS);
            }
        }
        if meta.concurrency {
            let concurrent_name = format!("{}_concurrent", meta.name);
            let what = Describe {
                family: &concurrent_name,
                help: &concurrent_help,
                unit: None,
                mode: GaugeMode::LiveSum,
                bounds: &[],
                ticks: false,
                hide_zero: false,
                ..durations
            };
            resident::sum_of(&what, true, &first.in_flight, stride, shard::SHARDS);
        }
    }

    /// `len` error counts of `kind`'s table in mapped memory, each
    /// described; `None` when there is no room (they are kept in the
    /// process then).
    fn error_counts(&self, kind: ErrorKind, len: usize) -> Option<&'static [AtomicU64]> {
        let counts = crate::store::mapped::words(len)?;
        let (calls_help, _, _) = helps(self.meta);
        for (i, cell) in counts.iter().enumerate() {
            let error = kind.label(i);
            let mut labels: Vec<(&str, &str)> = self
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            labels.extend([(RESULT_LABEL, "error"), ("error", error.as_str())]);
            let what = Describe {
                family: self.meta.name,
                help: &calls_help,
                unit: None,
                labels: &labels,
                mode: GaugeMode::All,
                created: clock::unix_now(),
                bounds: &[],
                ticks: false,
                hide_zero: false,
            };
            if !resident::sum_of(&what, false, cell, 8, 1) {
                return None;
            }
        }
        Some(counts)
    }
}

impl SeriesCells {
    #[inline]
    fn count(&self, outcome: Outcome) {
        let shard = shard::current();
        if let Some(o) = self.outcomes.get(shard) {
            match outcome {
                Outcome::Ok => shard::add(&o.ok, shard, 1),
                Outcome::Error(kind) => o.error(shard, kind, self),
            }
        }
    }

    fn new() -> Self {
        SeriesCells {
            hist: HistogramCells::new(),
            outcomes: [const { OutcomeShard::new() }; shard::SHARDS],
            created: clock::unix_now(),
            kept: None,
        }
    }
}

/// A call in progress. Dropping it records the call's duration; for
/// `#[tracked]`, a guard dropped without [`Guard::finish`] counts the call as
/// `error="panic"` when the thread is panicking and as `result="cancelled"`
/// otherwise (an async call whose future was dropped).
#[derive(Debug)]
#[must_use = "dropping the guard ends the call"]
pub struct Guard {
    meta: &'static CallsiteMeta,
    series: &'static SeriesCells,
    start: u64,
    finished: bool,
    /// A failure to list in the recent failures when the guard drops (with
    /// the clock reading the duration is taken from).
    failed: Option<ErrorKind>,
}

impl Guard {
    #[inline]
    fn enter(meta: &'static CallsiteMeta, series: &'static SeriesCells) -> Guard {
        if meta.concurrency {
            let shard = shard::current();
            if let Some(o) = series.outcomes.get(shard) {
                shard::add(&o.in_flight, shard, 1);
            }
        }
        Guard {
            meta,
            series,
            start: clock::now(),
            finished: false,
            failed: None,
        }
    }

    /// Records how a `#[tracked]` call ended; the duration is recorded when
    /// the guard drops, right after, and a failure is listed in the recent
    /// failures.
    #[inline]
    pub fn finish(mut self, outcome: Outcome) {
        self.series.count(outcome);
        self.finished = true;
        if let Outcome::Error(kind) = outcome {
            self.failed = Some(kind);
        }
    }

    /// [`finish`](Self::finish) without listing a failure: the caller lists
    /// it itself, with its metadata (timers).
    #[inline]
    pub(crate) fn finish_unlisted(mut self, outcome: Outcome) {
        self.series.count(outcome);
        self.finished = true;
    }
}

impl Drop for Guard {
    #[inline]
    fn drop(&mut self) {
        let now = clock::now();
        let ticks = now.saturating_sub(self.start);
        let shard = shard::current();
        self.series.hist.record_ticks_in(shard, ticks);
        if self.meta.concurrency || (self.meta.tracked && !self.finished) {
            self.end_slow(shard, now);
        }
        if let Some(kind) = self.failed {
            list_failure(shard, self.meta.function, kind, now);
        }
    }
}

/// Lists a failed call in the recent failures.
#[inline]
fn list_failure(shard: usize, function: &'static str, kind: ErrorKind, now: u64) {
    let (kind, type_name) = match kind {
        ErrorKind::Indexed(values, i) => (values.get(i).copied().unwrap_or("unknown"), false),
        ErrorKind::Named(name) => (name, true),
        ErrorKind::Label(label) => (label, false),
    };
    failures::push_call(shard, function, kind, type_name, now);
}

impl Guard {
    #[cold]
    fn end_slow(&self, shard: usize, now: u64) {
        let Some(o) = self.series.outcomes.get(shard) else {
            return;
        };
        if self.meta.concurrency {
            shard::add(&o.in_flight, shard, u64::MAX); // wrapping -1
        }
        if self.meta.tracked && !self.finished {
            if std::thread::panicking() {
                shard::add(&o.panicked, shard, 1);
                failures::push_call(shard, self.meta.function, "panic", false, now);
            } else {
                shard::add(&o.cancelled, shard, 1);
            }
        }
    }
}

// ----- read side ----------------------------------------------------------------

/// Writes the calls of one series by outcome: `ok`, each error kind, `panic`
/// and `cancelled` (the last two only once they happened).
fn push_outcomes(
    out: &mut Sink,
    calls: &Desc<'_>,
    labels: &[(String, String)],
    outcomes: &OutcomeCounts,
    known: &[String],
    created: f64,
) {
    let mut push = |result: &str, error: &str, n: u64| {
        let mut l = labels.to_vec();
        l.push((RESULT_LABEL.into(), result.into()));
        l.push(("error".into(), error.into()));
        out.push(calls, l, Value::Counter(n as f64), Some(created));
    };
    push("ok", "", outcomes.ok);
    for (label, n) in &outcomes.errors {
        push("error", label, *n);
    }
    for label in known {
        if !outcomes.errors.iter().any(|(l, _)| l == label) {
            push("error", label, 0);
        }
    }
    if outcomes.panicked > 0 {
        push("error", "panic", outcomes.panicked);
    }
    if outcomes.cancelled > 0 {
        push("cancelled", "", outcomes.cancelled);
    }
}

struct OutcomeCounts {
    ok: u64,
    cancelled: u64,
    panicked: u64,
    in_flight: i64,
    /// (error label, count), merged by label.
    errors: Vec<(String, u64)>,
}

impl SeriesCells {
    fn read_outcomes(&self) -> OutcomeCounts {
        let mut out = OutcomeCounts {
            ok: 0,
            cancelled: 0,
            panicked: 0,
            in_flight: 0,
            errors: Vec::new(),
        };
        for o in &self.outcomes {
            out.ok += o.ok.load(Ordering::Relaxed);
            out.cancelled += o.cancelled.load(Ordering::Relaxed);
            out.panicked += o.panicked.load(Ordering::Relaxed);
            out.in_flight = out
                .in_flight
                .wrapping_add(o.in_flight.load(Ordering::Relaxed) as i64);
            let mut node = o.errors.load(Ordering::Acquire);
            while !node.is_null() {
                // SAFETY: as in `OutcomeShard::error`.
                let n = unsafe { &*node };
                for (i, c) in n.counts().iter().enumerate() {
                    let label = n.key.label(i);
                    let count = c.load(Ordering::Relaxed);
                    match out.errors.iter_mut().find(|(l, _)| *l == label) {
                        Some((_, n)) => *n += count,
                        None => out.errors.push((label, count)),
                    }
                }
                node = n.next;
            }
        }
        out
    }
}

/// What a callsite that was never called reads as: no calls. Shared by
/// every such callsite, so a collection allocates nothing for them.
static NEVER_CALLED: std::sync::LazyLock<CallsiteCells> =
    std::sync::LazyLock::new(|| CallsiteCells {
        base: SeriesCells::new(),
        labeled: OnceLock::new(),
    });

impl Collect for Callsite {
    fn collect(&'static self, out: &mut Sink) {
        let meta = self.meta;
        let cells = match self.cells.load(Ordering::Acquire) {
            p if p.is_null() => &*NEVER_CALLED,
            // SAFETY: published cells are never freed (callsites are statics).
            p => unsafe { &*p },
        };
        let labeled = cells.labeled.get();
        let label_names: &[&'static str] = labeled.map_or(&[], |l| &l.index.names);
        let series = if meta.labeled {
            labeled.map(Labeled::recorded).unwrap_or_default()
        } else {
            vec![(Vec::new(), &cells.base, false)]
        };
        if let Some(labeled) = labeled {
            let metric = if meta.tracked {
                format!("{}_total", meta.name)
            } else {
                format!("{}_duration_seconds", meta.name)
            };
            crate::metric::family::push_overflowed(out, &metric, labeled.index.overflowed());
        }
        let buckets = bounds(meta);
        let (calls_help, duration_help, concurrent_help) = helps(meta);
        let duration_name = format!("{}_duration_seconds", meta.name);
        let concurrent_name = format!("{}_concurrent", meta.name);
        if meta.concurrency {
            // Calls in flight in processes that still run.
            crate::backend::mode::note(&concurrent_name, crate::backend::mode::GaugeMode::LiveSum);
        }
        let calls = Desc {
            name: meta.name,
            help: &calls_help,
            unit: None,
            kind: MetricKind::Counter,
        };
        let duration = Desc {
            name: &duration_name,
            help: &duration_help,
            unit: Some("seconds"),
            kind: MetricKind::Histogram,
        };
        let concurrent = Desc {
            name: &concurrent_name,
            help: &concurrent_help,
            unit: None,
            kind: MetricKind::Gauge,
        };
        // An operation of the timer and tracker API (it has no module) may
        // only ever be counted (`tracker::record_*`): its duration series
        // appears with its first measured call, not as an empty histogram.
        let api = meta.module.is_empty();
        // The families exist before any series does (a labeled function has
        // none until its first call).
        if meta.tracked {
            out.declare(&calls);
        }
        if !api {
            out.declare(&duration);
        }
        if meta.concurrency {
            out.declare(&concurrent);
        }
        // The error kinds exported at zero before they happen.
        let known: Vec<String> = match meta.errors.map(|f| f()) {
            Some(ErrorKind::Indexed(values, _)) => values.iter().map(|v| (*v).to_owned()).collect(),
            Some(ErrorKind::Named(name)) => {
                vec![crate::metric::labels::readable_type_name(name)]
            }
            Some(ErrorKind::Label(label)) => vec![label.to_owned()],
            None => Vec::new(),
        };
        let label_names = exported_label_names(label_names);
        for (values, s, overflow) in series {
            let mut labels = base_labels(meta);
            if overflow {
                labels.push(("otel_metric_overflow".into(), "true".into()));
            } else {
                for (k, v) in label_names.iter().zip(values) {
                    labels.push((k.to_string(), v));
                }
            }
            let hist = crate::collect::snapshot::HistogramValue::from_exponential(
                s.hist.read_ticks(),
                buckets,
            );
            let outcomes = s.read_outcomes();
            if meta.tracked {
                push_outcomes(out, &calls, &labels, &outcomes, &known, s.created);
            }
            if !api || hist.count > 0 {
                out.push(
                    &duration,
                    labels.clone(),
                    Value::Histogram(hist),
                    Some(s.created),
                );
            }
            if meta.concurrency {
                out.push(
                    &concurrent,
                    labels,
                    // A call's +1 and -1 may land in different shards: a read
                    // between the two can sum below zero for an instant.
                    Value::Gauge(outcomes.in_flight.max(0) as f64),
                    None,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::snapshot::Snapshot;

    struct Route {
        method: &'static str,
        code: u16,
    }

    impl LabelSet for Route {
        const CARDINALITY: Option<usize> = None;
        fn names(out: &mut Vec<&'static str>) {
            out.extend(["method", "code"]);
        }
        fn visit(&self, f: &mut dyn FnMut(&str)) {
            f(self.method);
            f(&self.code.to_string());
        }
        fn index(&self) -> usize {
            0
        }
        fn value_tables(out: &mut Vec<&'static [&'static str]>) {
            out.extend([&[][..], &[][..]]);
        }
    }

    static META: CallsiteMeta = CallsiteMeta {
        name: "function_calls",
        help: "",
        function: "enter_set_probe",
        module: "telltale::callsite::tests",
        tracked: true,
        concurrency: false,
        buckets: &[],
        label_names: &[],
        labeled: true,
        errors: None,
    };
    static CALLSITE: Callsite = Callsite::new(&META);

    fn ok_count(s: &Snapshot, method: &str, code: &str) -> Option<f64> {
        s.family("function_calls")?
            .series
            .iter()
            .find(|x| {
                x.label("function") == Some("enter_set_probe")
                    && x.label("method") == Some(method)
                    && x.label("code") == Some(code)
                    && x.label("result") == Some("ok")
            })
            .map(|x| match x.value {
                Value::Counter(v) => v,
                _ => f64::NAN,
            })
    }

    #[test]
    fn a_callsite_never_called_is_exported_at_zero_without_cells_of_its_own() {
        static IDLE_META: CallsiteMeta = CallsiteMeta {
            name: "function_calls",
            help: "",
            function: "never_called_probe",
            module: "telltale::callsite::tests",
            tracked: true,
            concurrency: false,
            buckets: &[],
            label_names: &[],
            labeled: false,
            errors: None,
        };
        static IDLE: Callsite = Callsite::new(&IDLE_META);
        /// The value of the probe's series in `family` (with `result`).
        fn probe(s: &Snapshot, family: &str, result: Option<&str>) -> Option<Value> {
            s.family(family)?
                .series
                .iter()
                .find(|x| {
                    x.label("function") == Some("never_called_probe")
                        && result.is_none_or(|r| x.label("result") == Some(r))
                })
                .map(|x| x.value.clone())
        }
        crate::collect::registry::register(&IDLE);
        for _ in 0..2 {
            let s = Snapshot::collect();
            assert_eq!(probe(&s, "function_calls", None), Some(Value::Counter(0.0)));
            let duration = probe(&s, "function_calls_duration_seconds", None);
            assert!(
                matches!(duration, Some(Value::Histogram(ref h)) if h.count == 0),
                "{duration:?}"
            );
            assert!(IDLE.cells.load(Ordering::Acquire).is_null());
        }
        // Its first call gives it cells of its own, counted from zero.
        IDLE.enter().finish(Outcome::Ok);
        assert!(!IDLE.cells.load(Ordering::Acquire).is_null());
        assert_eq!(
            probe(&Snapshot::collect(), "function_calls", Some("ok")),
            Some(Value::Counter(1.0))
        );
    }

    #[test]
    fn label_sets_pick_their_series_and_name_their_labels() {
        for (method, code) in [("GET", 200), ("GET", 200), ("POST", 200), ("GET", 404)] {
            CALLSITE
                .enter_set(&Route { method, code })
                .finish(Outcome::Ok);
        }
        let s = Snapshot::collect();
        assert_eq!(ok_count(&s, "GET", "200"), Some(2.0));
        assert_eq!(ok_count(&s, "POST", "200"), Some(1.0));
        assert_eq!(ok_count(&s, "GET", "404"), Some(1.0));
        assert_eq!(ok_count(&s, "POST", "404"), None);
        let labels: Vec<&str> = s
            .family("function_calls_duration_seconds")
            .unwrap()
            .series
            .iter()
            .find(|x| x.label("function") == Some("enter_set_probe"))
            .unwrap()
            .labels
            .iter()
            .map(|(k, _)| k.as_ref())
            .collect();
        assert_eq!(labels, ["function", "module", "method", "code"]);
    }
}
