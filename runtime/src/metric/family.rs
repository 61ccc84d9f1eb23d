//! Families: one metric, many series, each keyed by a [`LabelSet`].
//!
//! ```
//! use telltale::{Counter, Family, LabelSet, LabelValue};
//!
//! #[derive(Clone, Copy, LabelValue)]
//! enum Method { Get, Post }
//!
//! #[derive(Clone, Copy, LabelSet)]
//! struct Http { method: Method, ok: bool }
//!
//! static REQUESTS: Family<Http, Counter> =
//!     Family::new("http_requests_total", "HTTP requests handled.");
//!
//! REQUESTS.labels(Http { method: Method::Get, ok: true }).inc();
//! let handle = REQUESTS.labels(Http { method: Method::Post, ok: false });
//! handle.inc_by(2);                       // handles can be kept and reused
//! assert_eq!(handle.get(), 2);
//! ```
//!
//! A label set whose fields are all bounded (derived enums, `bool`) has a
//! known cardinality; its family is a dense array indexed by the set's
//! mixed-radix index: no hash, no allocation, no lock on any call. Other label
//! sets are interned: the first use of a new set allocates its series, later
//! uses find it through a sharded map without allocating. At most
//! [`cap`](Family::with_cap) label sets are kept (default 2,000, see
//! [`set_default_cardinality_cap`]); past it, observations go to one series
//! labelled `otel_metric_overflow="true"` and
//! `telltale_cardinality_overflow_total{metric="..."}` counts the refused
//! lookups. A handle is a plain `Copy` value, never a lock guard.

use std::borrow::Borrow;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::collect::registry::{Collect, Desc, Sink};
use crate::collect::snapshot::{HistogramValue, MetricKind, Value};
use crate::collect::visit::SeriesWriter;
use crate::metric::labels::LabelSet;
use crate::metric::standalone::{
    bucket_problem, check_name, family_name, histogram_unit, Counter, Gauge, Histogram,
};
use crate::store::histogram::HISTOGRAM_BUCKETS;
use crate::store::histogram::{ExpBuckets, HistShard};
use crate::{store::clock, store::shard};

/// Label sets with at most this many combinations are stored densely.
pub const MAX_DENSE_CARDINALITY: usize = 4_096;

static DEFAULT_CAP: AtomicUsize = AtomicUsize::new(2_000);

/// The cap of families that do not set their own.
pub(crate) fn default_cardinality_cap() -> usize {
    DEFAULT_CAP.load(Ordering::Relaxed)
}

/// Sets the cardinality cap of families that do not set their own (default
/// 2,000). It applies to families first used after the call.
pub fn set_default_cardinality_cap(cap: usize) {
    DEFAULT_CAP.store(cap.max(1), Ordering::Relaxed);
}

// ----- the series index ------------------------------------------------------

/// The values of one interned label set in a single allocation: each value
/// as its length (LEB128) followed by its bytes.
#[derive(Debug)]
struct Values(Box<[u8]>);

impl Values {
    fn new(visit: Visit<'_>) -> Self {
        let mut bytes = Vec::new();
        visit(&mut |v| {
            let mut len = v.len();
            loop {
                let low = (len & 0x7f) as u8;
                len >>= 7;
                if len == 0 {
                    bytes.push(low);
                    break;
                }
                bytes.push(low | 0x80);
            }
            bytes.extend_from_slice(v.as_bytes());
        });
        Values(bytes.into_boxed_slice())
    }

    /// The next value at `*at`, moving `*at` past it; `None` at the end.
    fn next<'a>(&'a self, at: &mut usize) -> Option<&'a [u8]> {
        let bytes = &self.0;
        let (mut len, mut shift) = (0usize, 0);
        loop {
            let byte = *bytes.get(*at)?;
            *at += 1;
            len |= usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let value = bytes.get(*at..*at + len)?;
        *at += len;
        Some(value)
    }

    /// Each value, in order.
    fn iter(&self) -> impl Iterator<Item = &str> {
        let mut at = 0;
        std::iter::from_fn(move || {
            self.next(&mut at).map(|v| {
                // SAFETY: `Values::new` copied every value from a `&str`
                // whole, and `next` returns exactly one of them.
                unsafe { std::str::from_utf8_unchecked(v) }
            })
        })
    }

    /// Whether `visit` produces exactly these values.
    fn matches(&self, visit: Visit<'_>) -> bool {
        let (mut at, mut same) = (0, true);
        visit(&mut |v| same &= self.next(&mut at) == Some(v.as_bytes()));
        same && at == self.0.len()
    }
}

/// The label sets whose values hash alike: almost always one, kept inline.
#[derive(Debug)]
enum Bucket {
    One((Values, usize)),
    Many(Vec<(Values, usize)>),
}

impl Bucket {
    fn entries(&self) -> &[(Values, usize)] {
        match self {
            Bucket::One(entry) => std::slice::from_ref(entry),
            Bucket::Many(all) => all,
        }
    }
}

/// A series to export: its label pairs and its value.
type ExportedSeries = (Vec<(String, String)>, Value);

/// Calls its argument with each `(name, value)` label pair of one series.
type LabelPairs<'a> = &'a dyn Fn(&mut dyn FnMut(&str, &str));

/// Maps label values to series ids.
#[derive(Debug)]
pub(crate) struct SeriesIndex {
    pub(crate) names: Box<[&'static str]>,
    /// `names` made safe to export (see [`crate::labels::export_names`]).
    exported: Box<[std::borrow::Cow<'static, str>]>,
    /// Value tables of a dense label set; `None` when ids are interned.
    tables: Option<Box<[&'static [&'static str]]>>,
    /// Number of ids: the cardinality (dense), or the cap plus the overflow id.
    pub(crate) capacity: usize,
    map: crate::store::hash::HashMap<Bucket>,
    next: AtomicUsize,
    overflowed: AtomicU64,
    /// No two ids have the same label values: false for a dense index whose
    /// value tables repeat a value (a hand-written `LabelValue` may).
    pub(crate) distinct: bool,
}

/// Calls its argument with each label value of one label set, in order.
pub(crate) type Visit<'a> = &'a dyn Fn(&mut dyn FnMut(&str));

/// Label names as exported: `le` and `quantile` belong to the formats and
/// `otel_metric_overflow` to the overflow series.
fn exported(names: &[&'static str]) -> Box<[std::borrow::Cow<'static, str>]> {
    crate::metric::labels::export_names(&["le", "quantile", "otel_metric_overflow"], names)
        .into_boxed_slice()
}

fn hash_values(visit: Visit<'_>) -> u64 {
    crate::store::hash::hash_values(|f| visit(f))
}

impl SeriesIndex {
    pub(crate) fn dense(
        names: Vec<&'static str>,
        tables: Vec<&'static [&'static str]>,
        cardinality: usize,
    ) -> Self {
        // Ids decode to distinct label sets when each table's values differ
        // and the tables' sizes multiply to the cardinality (a hand-written
        // `LabelSet` may break either).
        let distinct = names.len() == tables.len()
            && tables.iter().map(|t| t.len()).product::<usize>() == cardinality
            && tables.iter().all(|table| {
                let mut seen = std::collections::HashSet::new();
                table.iter().all(|value| seen.insert(value))
            });
        SeriesIndex {
            distinct,
            exported: exported(&names),
            names: names.into_boxed_slice(),
            tables: Some(tables.into_boxed_slice()),
            capacity: cardinality.max(1),
            map: crate::store::hash::HashMap::default(),
            next: AtomicUsize::new(0),
            overflowed: AtomicU64::new(0),
        }
    }

    pub(crate) fn hashed(names: Vec<&'static str>, cap: usize) -> Self {
        SeriesIndex {
            distinct: true,
            exported: exported(&names),
            names: names.into_boxed_slice(),
            tables: None,
            capacity: cap.max(1) + 1,
            map: crate::store::hash::HashMap::default(),
            next: AtomicUsize::new(0),
            overflowed: AtomicU64::new(0),
        }
    }

    /// The id of the overflow series of a hashed index.
    pub(crate) fn overflow_id(&self) -> usize {
        self.capacity - 1
    }

    /// The id of the label values `visit` produces, interning them if new.
    pub(crate) fn id(&self, visit: Visit<'_>) -> usize {
        self.id_with(visit, &|_| {})
    }

    /// [`id`](Self::id), calling `fresh` with a new id before any other
    /// lookup can find it.
    #[inline]
    pub(crate) fn id_with(&self, visit: Visit<'_>, fresh: &dyn Fn(usize)) -> usize {
        let key = hash_values(visit);
        if let Some(bucket) = self.map.get(&key) {
            if let Some(id) = find(&bucket, visit) {
                return id;
            }
        }
        self.insert(key, visit, fresh)
    }

    #[cold]
    fn insert(&self, key: u64, visit: Visit<'_>, new: &dyn Fn(usize)) -> usize {
        if self.next.load(Ordering::Relaxed) >= self.overflow_id() {
            // Full: look only, never grow.
            if let Some(id) = self.map.get(&key).and_then(|b| find(&b, visit)) {
                return id;
            }
            self.overflowed.fetch_add(1, Ordering::Relaxed);
            return self.overflow_id();
        }
        let fresh = |id| (Values::new(visit), id);
        match self.map.entry(key) {
            dashmap::mapref::entry::Entry::Occupied(mut bucket) => {
                if let Some(id) = find(bucket.get(), visit) {
                    return id;
                }
                let Some(id) = self.next_id() else {
                    return self.overflow_id();
                };
                new(id);
                let bucket = bucket.get_mut();
                match std::mem::replace(bucket, Bucket::Many(Vec::new())) {
                    Bucket::One(first) => *bucket = Bucket::Many(vec![first, fresh(id)]),
                    Bucket::Many(mut all) => {
                        all.push(fresh(id));
                        *bucket = Bucket::Many(all);
                    }
                }
                id
            }
            dashmap::mapref::entry::Entry::Vacant(slot) => {
                let Some(id) = self.next_id() else {
                    return self.overflow_id();
                };
                new(id);
                slot.insert(Bucket::One(fresh(id)));
                id
            }
        }
    }

    /// A fresh series id, or `None` (counted) once the cap is reached.
    fn next_id(&self) -> Option<usize> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if id >= self.overflow_id() {
            self.next.store(self.overflow_id(), Ordering::Relaxed);
            self.overflowed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(id)
    }

    /// Calls `f(labels, id, always)` for every series to export, `labels`
    /// giving its `(name, value)` pairs in order and `always` whether it is
    /// exported even when never recorded. A dense index goes through every
    /// id (`always` false), a hashed one through every interned label set,
    /// then the overflow series once it was used. The map's shards are
    /// read-locked in turn while `f` runs for their series; a new label set
    /// for one waits meanwhile.
    fn each_series(&self, mut f: impl FnMut(LabelPairs<'_>, usize, bool)) {
        if let Some(tables) = &self.tables {
            // The id is mixed-radix, the last label's value the fastest digit.
            let mut strides = vec![1usize; tables.len()];
            for i in (1..tables.len()).rev() {
                strides[i - 1] = strides[i] * tables[i].len().max(1);
            }
            for id in 0..self.capacity {
                let labels = |emit: &mut dyn FnMut(&str, &str)| {
                    for ((name, table), stride) in
                        self.exported.iter().zip(tables.iter()).zip(&strides)
                    {
                        let digit = id / stride % table.len().max(1);
                        emit(name, table.get(digit).copied().unwrap_or_default());
                    }
                };
                f(&labels, id, false);
            }
            return;
        }
        for entry in &self.map {
            for (values, id) in entry.value().entries() {
                let labels = |emit: &mut dyn FnMut(&str, &str)| {
                    for (name, v) in self.exported.iter().zip(values.iter()) {
                        emit(name, v);
                    }
                };
                f(&labels, *id, true);
            }
        }
        if self.overflowed() > 0 {
            f(
                &|emit: &mut dyn FnMut(&str, &str)| emit("otel_metric_overflow", "true"),
                self.overflow_id(),
                true,
            );
        }
    }

    /// Every series to export, with its value, labels copied out. `read`
    /// gives a series' value, `None` if it was never recorded: such a series
    /// of a dense index is left out (its labels never decoded), one of a
    /// hashed index exported at `zero`.
    fn series(
        &self,
        read: impl Fn(usize) -> Option<Value>,
        zero: impl Fn() -> Value,
    ) -> Vec<ExportedSeries> {
        let mut out = Vec::new();
        self.each_series(|labels, id, always| {
            let Some(value) = read(id).or_else(|| always.then(&zero)) else {
                return;
            };
            let mut pairs = Vec::new();
            labels(&mut |name, value| pairs.push((name.to_owned(), value.to_owned())));
            out.push((pairs, value));
        });
        out
    }

    /// Gives `out` the labels of every series to export
    /// ([`SeriesIndex::each_series`]), each followed by a call
    /// `value(out, id, always)` that writes its value: the series
    /// [`SeriesIndex::series`] exports, without copying a label.
    pub(crate) fn write_series(
        &self,
        out: &mut dyn SeriesWriter,
        mut value: impl FnMut(&mut dyn SeriesWriter, usize, bool),
    ) {
        self.each_series(|labels, id, always| {
            out.begin_series();
            labels(&mut |name, v| out.label(name, v));
            value(out, id, always);
        });
    }

    /// Every label set a hashed index interned: its values and its id.
    pub(crate) fn interned(&self) -> Vec<(Vec<String>, usize)> {
        let mut out = Vec::new();
        for entry in &self.map {
            for (values, id) in entry.value().entries() {
                out.push((values.iter().map(ToString::to_string).collect(), *id));
            }
        }
        out
    }

    /// Lookups refused by the cap of a hashed index.
    pub(crate) fn overflowed(&self) -> u64 {
        self.overflowed.load(Ordering::Relaxed)
    }

    /// Number of interned label sets (hashed) or possible ones (dense).
    pub(crate) fn len(&self) -> usize {
        if self.tables.is_some() {
            self.capacity
        } else {
            self.next.load(Ordering::Relaxed).min(self.overflow_id())
        }
    }
}

fn find(bucket: &Bucket, visit: Visit<'_>) -> Option<usize> {
    bucket
        .entries()
        .iter()
        .find(|(values, _)| values.matches(visit))
        .map(|(_, id)| *id)
}

// ----- cells ---------------------------------------------------------------------

/// Sixteen counters on their own two cache lines.
#[repr(align(128))]
struct Line([AtomicU64; INLINE]);

/// Series ids below this live inline in the family, one line per shard.
const INLINE: usize = 16;

/// Counter cells: per shard, the first [`INLINE`] series inline (no pointer
/// to follow on the hot path) and the rest in one flat array allocated on
/// first use by a thread of that shard. Never freed: families live for the
/// program.
#[derive(Debug)]
#[doc(hidden)]
pub struct ShardedArrays {
    /// Set once, before any handle exists.
    capacity: AtomicUsize,
    inline: [Line; shard::SHARDS],
    /// Lines for ids `INLINE..capacity`.
    shards: [AtomicPtr<Line>; shard::SHARDS],
}

impl std::fmt::Debug for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Line")
    }
}

impl ShardedArrays {
    const fn new() -> Self {
        ShardedArrays {
            capacity: AtomicUsize::new(0),
            inline: [const { Line([const { AtomicU64::new(0) }; INLINE]) }; shard::SHARDS],
            shards: [const { AtomicPtr::new(std::ptr::null_mut()) }; shard::SHARDS],
        }
    }

    #[inline]
    fn capacity(&self) -> usize {
        self.capacity.load(Ordering::Relaxed)
    }

    /// Heap lines per shard.
    #[inline]
    fn lines(&self) -> usize {
        self.capacity().saturating_sub(INLINE).div_ceil(16)
    }

    #[inline]
    fn cell(&self, shard: usize, id: usize) -> Option<&AtomicU64> {
        let shard = shard & (shard::SHARDS - 1);
        if id < INLINE {
            // An id past a small capacity lands in a cell nobody exports.
            return self.inline[shard].0.get(id);
        }
        if id >= self.capacity() {
            return None;
        }
        let ptr = &self.shards[shard];
        let mut p = ptr.load(Ordering::Acquire);
        if p.is_null() {
            p = self.alloc(ptr);
        }
        let id = id - INLINE;
        // SAFETY: `p` points to `lines()` lines that are never freed, and
        // `id / 16 < lines()` because `id + INLINE < capacity`.
        let line = unsafe { &*p.add(id / 16) };
        line.0.get(id % 16)
    }

    #[cold]
    fn alloc(&self, ptr: &AtomicPtr<Line>) -> *mut Line {
        let fresh: Box<[Line]> = (0..self.lines())
            .map(|_| Line([const { AtomicU64::new(0) }; 16]))
            .collect();
        crate::store::publish::publish_slice(ptr, fresh)
    }

    fn sum(&self, id: usize) -> u64 {
        if id < INLINE {
            return self
                .inline
                .iter()
                .fold(0u64, |t, l| t.wrapping_add(l.0[id].load(Ordering::Relaxed)));
        }
        let mut total = 0u64;
        if id >= self.capacity() {
            return total;
        }
        let id = id - INLINE;
        for ptr in &self.shards {
            let p = ptr.load(Ordering::Acquire);
            if !p.is_null() {
                // SAFETY: as in `cell`.
                let line = unsafe { &*p.add(id / 16) };
                total = total.wrapping_add(line.0[id % 16].load(Ordering::Relaxed));
            }
        }
        total
    }

    fn heap_bytes(&self) -> usize {
        self.shards
            .iter()
            .filter(|p| !p.load(Ordering::Relaxed).is_null())
            .count()
            * self.lines()
            * std::mem::size_of::<Line>()
    }
}

/// The old name of [`FamilyMetric`].
#[doc(hidden)]
pub use FamilyMetric as FamilyKind;

/// The metric type a [`Family`] holds ([`Counter`], [`Gauge`] or
/// [`Histogram`]), and what it stores per series.
pub trait FamilyMetric: sealed::Sealed + Sized + 'static {
    /// The cells of all series of a family.
    #[doc(hidden)]
    type Cells: Send + Sync + std::fmt::Debug + 'static;
    /// What [`Family::labels`] returns.
    type Handle: Copy;
    #[doc(hidden)]
    const KIND: MetricKind;
    /// Cells with no storage yet.
    #[doc(hidden)]
    #[allow(clippy::declare_interior_mutable_const)]
    const CELLS: Self::Cells;
    /// Sizes the cells for `capacity` series; called once, before any handle.
    #[doc(hidden)]
    fn init(cells: &Self::Cells, capacity: usize);
    #[doc(hidden)]
    fn handle(cells: &'static Self::Cells, id: usize) -> Self::Handle;
    /// The value of series `id`, `None` if it was never recorded.
    #[doc(hidden)]
    fn read(cells: &Self::Cells, id: usize, buckets: &[f64]) -> Option<Value>;
    /// Writes series `id` (its labels already given to `out`) as text, when
    /// it was recorded or `always`; `scratch` is reused from call to call.
    #[doc(hidden)]
    fn write(
        cells: &Self::Cells,
        series: Written<'_>,
        out: &mut dyn SeriesWriter,
        scratch: &mut ExpBuckets,
    );
    #[doc(hidden)]
    fn heap_bytes(cells: &Self::Cells) -> usize;
}

/// A series a render writes: which one, and how.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Written<'a> {
    id: usize,
    /// Written even when never recorded, as zero.
    always: bool,
    buckets: &'a [f64],
    created: f64,
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::metric::standalone::Counter {}
    impl Sealed for crate::metric::standalone::Gauge {}
    impl Sealed for crate::metric::standalone::Histogram {}
}

impl FamilyMetric for Counter {
    type Cells = ShardedArrays;
    type Handle = CounterHandle;
    const KIND: MetricKind = MetricKind::Counter;
    #[allow(clippy::declare_interior_mutable_const)]
    const CELLS: ShardedArrays = ShardedArrays::new();
    fn init(cells: &ShardedArrays, capacity: usize) {
        // Set once: arrays are sized from it, so it never changes afterwards.
        let _ = cells
            .capacity
            .compare_exchange(0, capacity, Ordering::Relaxed, Ordering::Relaxed);
    }
    fn handle(cells: &'static ShardedArrays, id: usize) -> CounterHandle {
        CounterHandle { cells, id }
    }
    fn read(cells: &ShardedArrays, id: usize, _: &[f64]) -> Option<Value> {
        let v = cells.sum(id);
        (v > 0).then_some(Value::Counter(v as f64))
    }
    fn write(
        cells: &ShardedArrays,
        series: Written<'_>,
        out: &mut dyn SeriesWriter,
        _: &mut ExpBuckets,
    ) {
        let v = cells.sum(series.id);
        if v > 0 || series.always {
            out.counter(v as f64, Some(series.created));
        }
    }
    fn heap_bytes(cells: &ShardedArrays) -> usize {
        cells.heap_bytes()
    }
}

/// One series of a counter family.
#[derive(Debug, Clone, Copy)]
pub struct CounterHandle {
    cells: &'static ShardedArrays,
    id: usize,
}

impl CounterHandle {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Adds `n`.
    #[inline]
    pub fn inc_by(&self, n: u64) {
        let shard = shard::current();
        if let Some(c) = self.cells.cell(shard, self.id) {
            shard::add(c, shard, n);
        }
    }

    /// The series' total.
    pub fn get(&self) -> u64 {
        self.cells.sum(self.id)
    }
}

/// Gauge cells: one `f64` per series (not sharded: `set` needs one place).
#[derive(Debug)]
#[doc(hidden)]
pub struct GaugeCells {
    /// Leaked from the heap, or in mapped memory (families live for the
    /// program).
    values: OnceLock<&'static [AtomicU64]>,
}

impl GaugeCells {
    #[inline]
    fn get(&self, id: usize) -> Option<&AtomicU64> {
        self.values.get()?.get(id)
    }
}

/// A gauge that was never set (a NaN payload no arithmetic produces).
const UNSET: u64 = 0x7ff8_0000_7e11_7a1e;

impl FamilyMetric for Gauge {
    type Cells = GaugeCells;
    type Handle = GaugeHandle;
    const KIND: MetricKind = MetricKind::Gauge;
    #[allow(clippy::declare_interior_mutable_const)]
    const CELLS: GaugeCells = GaugeCells {
        values: OnceLock::new(),
    };
    fn init(cells: &GaugeCells, capacity: usize) {
        cells.values.get_or_init(|| {
            let values: Box<[AtomicU64]> = (0..capacity).map(|_| AtomicU64::new(UNSET)).collect();
            Box::leak(values)
        });
    }
    fn handle(cells: &'static GaugeCells, id: usize) -> GaugeHandle {
        GaugeHandle { cells, id }
    }
    fn read(cells: &GaugeCells, id: usize, _: &[f64]) -> Option<Value> {
        let bits = cells.get(id)?.load(Ordering::Relaxed);
        (bits != UNSET).then(|| Value::Gauge(f64::from_bits(bits)))
    }
    fn write(
        cells: &GaugeCells,
        series: Written<'_>,
        out: &mut dyn SeriesWriter,
        _: &mut ExpBuckets,
    ) {
        let bits = cells
            .get(series.id)
            .map_or(UNSET, |cell| cell.load(Ordering::Relaxed));
        if bits != UNSET {
            out.gauge(f64::from_bits(bits));
        } else if series.always {
            out.gauge(0.0);
        }
    }
    fn heap_bytes(cells: &GaugeCells) -> usize {
        cells.values.get().map_or(0, |v| v.len() * 8)
    }
}

/// One series of a gauge family.
#[derive(Debug, Clone, Copy)]
pub struct GaugeHandle {
    cells: &'static GaugeCells,
    id: usize,
}

impl GaugeHandle {
    /// Sets the value.
    #[inline]
    pub fn set(&self, v: f64) {
        if let Some(c) = self.cells.get(self.id) {
            c.store(v.to_bits(), Ordering::Relaxed);
        }
    }

    /// Adds `v` (negative to subtract).
    #[inline]
    pub fn add(&self, v: f64) {
        if let Some(c) = self.cells.get(self.id) {
            let _ = c.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                let cur = if bits == UNSET {
                    0.0
                } else {
                    f64::from_bits(bits)
                };
                Some((cur + v).to_bits())
            });
        }
    }

    /// Subtracts `v`.
    #[inline]
    pub fn sub(&self, v: f64) {
        self.add(-v);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1.0);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.add(-1.0);
    }

    /// The current value (0 if never set).
    pub fn get(&self) -> f64 {
        self.cells
            .get(self.id)
            .map(|c| c.load(Ordering::Relaxed))
            .filter(|&b| b != UNSET)
            .map_or(0.0, f64::from_bits)
    }
}

/// Histogram cells: per shard, one lazily allocated histogram shard per series.
#[derive(Debug)]
#[doc(hidden)]
pub struct HistogramFamilyCells {
    /// Set once, before any handle exists.
    capacity: AtomicUsize,
    shards: [AtomicPtr<AtomicPtr<HistShard>>; shard::SHARDS],
    /// Tables and shards in mapped memory.
    mapped: AtomicBool,
}

impl HistogramFamilyCells {
    #[inline]
    fn shard_of(&self, shard: usize, id: usize) -> Option<&HistShard> {
        if id >= self.capacity.load(Ordering::Relaxed) {
            return None;
        }
        let ptr = self.shards.get(shard & (shard::SHARDS - 1))?;
        let mut table = ptr.load(Ordering::Acquire);
        if table.is_null() {
            table = self.alloc_table(ptr);
        }
        // SAFETY: tables have `capacity` slots and are never freed.
        let slot = unsafe { &*table.add(id) };
        let mut h = slot.load(Ordering::Acquire);
        if h.is_null() {
            h = if self.mapped.load(Ordering::Relaxed) {
                crate::store::histogram::alloc_mapped_shard(slot)
            } else {
                crate::store::histogram::alloc_shard(slot)
            };
        }
        // SAFETY: published histogram shards are never freed.
        Some(unsafe { &*h })
    }

    #[cold]
    fn alloc_table(&self, ptr: &AtomicPtr<AtomicPtr<HistShard>>) -> *mut AtomicPtr<HistShard> {
        let fresh: Box<[AtomicPtr<HistShard>]> = (0..self.capacity.load(Ordering::Relaxed))
            .map(|_| AtomicPtr::new(std::ptr::null_mut()))
            .collect();
        crate::store::publish::publish_slice(ptr, fresh)
    }

    /// Adds series `id` to `out`.
    fn read_into(&self, id: usize, out: &mut ExpBuckets) {
        if id >= self.capacity.load(Ordering::Relaxed) {
            return;
        }
        for ptr in &self.shards {
            let table = ptr.load(Ordering::Acquire);
            if table.is_null() {
                continue;
            }
            // SAFETY: as in `shard_of`.
            let h = unsafe { &*table.add(id) }.load(Ordering::Acquire);
            if !h.is_null() {
                // SAFETY: as in `shard_of`.
                unsafe { &*h }.read_into(out, false);
            }
        }
    }
}

impl FamilyMetric for Histogram {
    type Cells = HistogramFamilyCells;
    type Handle = HistogramHandle;
    const KIND: MetricKind = MetricKind::Histogram;
    #[allow(clippy::declare_interior_mutable_const)]
    const CELLS: HistogramFamilyCells = HistogramFamilyCells {
        capacity: AtomicUsize::new(0),
        shards: [const { AtomicPtr::new(std::ptr::null_mut()) }; shard::SHARDS],
        mapped: AtomicBool::new(false),
    };
    fn init(cells: &HistogramFamilyCells, capacity: usize) {
        // Set once: tables are sized from it, so it never changes afterwards.
        let _ = cells
            .capacity
            .compare_exchange(0, capacity, Ordering::Relaxed, Ordering::Relaxed);
    }
    fn handle(cells: &'static HistogramFamilyCells, id: usize) -> HistogramHandle {
        HistogramHandle { cells, id }
    }
    fn read(cells: &HistogramFamilyCells, id: usize, buckets: &[f64]) -> Option<Value> {
        let mut exp = ExpBuckets::default();
        cells.read_into(id, &mut exp);
        (exp.count() > 0).then(|| Value::Histogram(HistogramValue::from_exponential(exp, buckets)))
    }
    fn write(
        cells: &HistogramFamilyCells,
        series: Written<'_>,
        out: &mut dyn SeriesWriter,
        scratch: &mut ExpBuckets,
    ) {
        scratch.clear();
        cells.read_into(series.id, scratch);
        let count = scratch.count();
        if count > 0 || series.always {
            out.histogram(
                (count, scratch.sum, Some(series.created)),
                &mut scratch.cumulative(series.buckets),
            );
        }
    }
    fn heap_bytes(cells: &HistogramFamilyCells) -> usize {
        let mut total = 0;
        for ptr in &cells.shards {
            let table = ptr.load(Ordering::Acquire);
            if table.is_null() {
                continue;
            }
            total += cells.capacity.load(Ordering::Relaxed) * 8;
            for id in 0..cells.capacity.load(Ordering::Relaxed) {
                // SAFETY: as in `shard_of`.
                let h = unsafe { &*table.add(id) }.load(Ordering::Acquire);
                if !h.is_null() {
                    // SAFETY: as in `shard_of`.
                    total += unsafe { &*h }.heap_bytes();
                }
            }
        }
        total
    }
}

/// One series of a histogram family.
#[derive(Debug, Clone, Copy)]
pub struct HistogramHandle {
    cells: &'static HistogramFamilyCells,
    id: usize,
}

impl HistogramHandle {
    /// Records one observation (negative and `NaN` ones are ignored).
    #[inline]
    pub fn observe(&self, v: f64) {
        let shard = shard::current();
        if let Some(h) = self.cells.shard_of(shard, self.id) {
            h.record(shard, v);
        }
    }

    /// Starts timing; the guard observes the elapsed seconds when dropped.
    pub fn start_timer(&self) -> FamilyTimer {
        FamilyTimer {
            handle: *self,
            start: clock::now(),
        }
    }
}

/// Times a span of code into one series of a histogram family.
#[derive(Debug)]
#[must_use = "dropping the timer records the elapsed time"]
pub struct FamilyTimer {
    handle: HistogramHandle,
    start: u64,
}

impl Drop for FamilyTimer {
    fn drop(&mut self) {
        let nanos = clock::nanos_between(self.start, clock::now());
        self.handle.observe(nanos as f64 * 1e-9);
    }
}

// ----- the family ------------------------------------------------------------------

/// A metric with one series per label set `L`: a counter, gauge or
/// histogram family (see the [module docs](crate::family)).
pub struct Family<L, M: FamilyMetric = Counter> {
    name: &'static str,
    help: &'static str,
    buckets: &'static [f64],
    cap: usize,
    mode: crate::backend::mode::GaugeMode,
    /// The cells live in the family itself (or, when the file backend
    /// keeps them, in its mapped file): a dense lookup reaches them
    /// through `live` without going through `store`.
    cells: M::Cells,
    /// The cells in use, set (release) once `store` is initialised and
    /// the cells sized; null before.
    live: AtomicPtr<M::Cells>,
    store: OnceLock<Store<M>>,
    _labels: PhantomData<fn(&L)>,
}

/// The index and the cells of a family, created on first use.
pub(crate) struct Store<M: FamilyMetric> {
    pub(crate) index: SeriesIndex,
    pub(crate) cells: &'static M::Cells,
    created: f64,
    /// Set when the cells are in mapped memory that a backend reads: what
    /// names each series as it is added.
    kept: Option<Naming>,
}

/// What names a family's series where a backend keeps their cells.
#[derive(Debug)]
struct Naming {
    family: String,
    help: String,
    unit: Option<&'static str>,
    buckets: &'static [f64],
    mode: crate::backend::mode::GaugeMode,
}

impl<M: FamilyMetric> std::fmt::Debug for Store<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl<M: FamilyMetric> Store<M> {
    /// A store around cells that live for the program, sized for the index.
    fn with_cells(index: SeriesIndex, cells: &'static M::Cells) -> Self {
        M::init(cells, index.capacity);
        Store {
            index,
            cells,
            created: clock::unix_now(),
            kept: None,
        }
    }

    /// A store whose cells are in the file backend's mapped memory, each
    /// series described there as it is added, when that backend runs (a
    /// `most_recent` gauge family excepted: its change times are the
    /// flush's); otherwise [`with_cells`](Self::with_cells) around `cells`.
    pub(crate) fn kept_or(
        index: SeriesIndex,
        cells: impl FnOnce() -> &'static M::Cells,
        name: &str,
        help: &str,
        buckets: &'static [f64],
        mode: crate::backend::mode::GaugeMode,
    ) -> Self {
        let keep = crate::backend::resident::active()
            && !(M::KIND == MetricKind::Gauge
                && mode == crate::backend::mode::GaugeMode::MostRecent);
        let Some(kept) = keep.then(|| mapped_cells::<M>(index.capacity)).flatten() else {
            return Self::with_cells(index, cells());
        };
        let store = Store {
            index,
            cells: kept,
            created: clock::unix_now(),
            kept: Some(Naming {
                family: family_name(name, M::KIND).to_owned(),
                help: help.to_owned(),
                unit: (M::KIND == MetricKind::Histogram)
                    .then(|| histogram_unit(name))
                    .flatten(),
                buckets,
                mode,
            }),
        };
        // Every series a dense index can hold, and a hashed one's overflow
        // series, exist from the start: described now, read once recorded.
        if store.index.tables.is_some() {
            store
                .index
                .each_series(|labels, id, _| store.describe(id, labels, true));
        } else {
            let overflow = store.index.overflow_id();
            store.describe(overflow, &|emit| emit("otel_metric_overflow", "true"), true);
        }
        store
    }

    /// The id of the label values `visit` produces; a new series of a kept
    /// store is described before anything can record into it.
    #[inline]
    pub(crate) fn id(&self, visit: Visit<'_>) -> usize {
        if self.kept.is_none() {
            return self.index.id(visit);
        }
        self.index.id_with(visit, &|id| {
            let names = &self.index.exported;
            let labels = |emit: &mut dyn FnMut(&str, &str)| {
                let mut i = 0;
                visit(&mut |v| {
                    if let Some(name) = names.get(i) {
                        emit(name, v);
                    }
                    i += 1;
                });
            };
            self.describe(id, &labels, false);
        })
    }

    /// Tells the backend where series `id` (labelled by `labels`) is; one
    /// exported only once recorded when `hide_zero`.
    #[cold]
    fn describe(&self, id: usize, labels: LabelPairs<'_>, hide_zero: bool) {
        let Some(naming) = &self.kept else { return };
        let mut pairs: Vec<(String, String)> = Vec::new();
        labels(&mut |k, v| pairs.push((k.to_owned(), v.to_owned())));
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let what = crate::backend::cells::Describe {
            family: &naming.family,
            help: &naming.help,
            unit: naming.unit,
            labels: &pairs,
            mode: naming.mode,
            created: self.created,
            bounds: naming.buckets,
            ticks: false,
            hide_zero,
        };
        let any: &dyn std::any::Any = self.cells;
        if let Some(c) = any.downcast_ref::<ShardedArrays>() {
            c.describe(id, &what);
        } else if let Some(g) = any.downcast_ref::<GaugeCells>() {
            if let Some(cell) = g.get(id) {
                crate::backend::resident::gauge_at(&what, cell, UNSET);
            }
        } else if let Some(h) = any.downcast_ref::<HistogramFamilyCells>() {
            h.describe(id, &what);
        }
    }

    /// Writes the family's series.
    pub(crate) fn collect(&self, name: &str, help: &str, buckets: &[f64], out: &mut Sink) {
        let unit = (M::KIND == MetricKind::Histogram)
            .then(|| histogram_unit(name))
            .flatten();
        let family = family_name(name, M::KIND);
        let created = (M::KIND != MetricKind::Gauge).then_some(self.created);
        // Straight into text when the family is this metric's alone and no
        // two of its series can have the same labels.
        if self.index.distinct {
            let mut scratch = ExpBuckets::default();
            let written = out.text_family(family, help, unit, M::KIND, |text| {
                self.index.write_series(text, |text, id, always| {
                    let series = Written {
                        id,
                        always,
                        buckets,
                        created: self.created,
                    };
                    M::write(self.cells, series, text, &mut scratch);
                });
            });
            if written {
                push_overflowed(out, name, self.index.overflowed());
                return;
            }
        }
        out.declare(&Desc {
            name: family,
            help,
            unit,
            kind: M::KIND,
        });
        let series = self.index.series(
            |id| M::read(self.cells, id, buckets),
            || zero(M::KIND, buckets),
        );
        for (labels, value) in series {
            out.push(
                &Desc {
                    name: family,
                    help,
                    unit,
                    kind: M::KIND,
                },
                labels,
                value,
                created,
            );
        }
        push_overflowed(out, name, self.index.overflowed());
    }
}

/// A family's cells for `capacity` series in mapped memory (everything
/// they will ever point to allocated there now, so that each series sits
/// at a fixed stride from its first shard's), or `None` when there is no
/// room.
fn mapped_cells<M: FamilyMetric>(capacity: usize) -> Option<&'static M::Cells> {
    let place = crate::store::mapped::alloc::<M::Cells>()?;
    // SAFETY: room for the cells, aligned, for the rest of the process.
    let cells: &'static M::Cells = unsafe {
        place.write(M::CELLS);
        &*place
    };
    let any: &dyn std::any::Any = cells;
    if let Some(g) = any.downcast_ref::<GaugeCells>() {
        let values = crate::store::mapped::words(capacity)?;
        for v in values {
            v.store(UNSET, Ordering::Relaxed);
        }
        let _ = g.values.set(values);
    }
    M::init(cells, capacity);
    if let Some(c) = any.downcast_ref::<ShardedArrays>() {
        let lines = c.lines();
        if lines > 0 {
            let stride = lines * std::mem::size_of::<Line>();
            let block = crate::store::mapped::bytes(stride * shard::SHARDS, 128)?;
            for (s, ptr) in c.shards.iter().enumerate() {
                // SAFETY: inside the block just allocated, on a line.
                ptr.store(unsafe { block.add(s * stride) }.cast(), Ordering::Release);
            }
        }
    }
    if let Some(h) = any.downcast_ref::<HistogramFamilyCells>() {
        let stride = capacity * 8;
        let block = crate::store::mapped::bytes(stride * shard::SHARDS, 64)?;
        for (s, ptr) in h.shards.iter().enumerate() {
            // SAFETY: inside the block just allocated: `capacity` null slots.
            ptr.store(unsafe { block.add(s * stride) }.cast(), Ordering::Release);
        }
        h.mapped.store(true, Ordering::Relaxed);
    }
    Some(cells)
}

impl ShardedArrays {
    /// Describes series `id` (its cells: one per shard, a stride apart).
    fn describe(&self, id: usize, what: &crate::backend::cells::Describe<'_>) {
        if id < INLINE {
            let stride = std::mem::size_of::<Line>();
            crate::backend::resident::sum_of(
                what,
                false,
                &self.inline[0].0[id],
                stride,
                shard::SHARDS,
            );
            return;
        }
        let first = self.shards[0].load(Ordering::Acquire);
        if first.is_null() || id >= self.capacity() {
            return;
        }
        let (line, at) = ((id - INLINE) / 16, (id - INLINE) % 16);
        // SAFETY: mapped spill lines are allocated whole at the start.
        let cell = unsafe { &(*first.add(line)).0[at] };
        let stride = self.lines() * std::mem::size_of::<Line>();
        crate::backend::resident::sum_of(what, false, cell, stride, shard::SHARDS);
    }
}

impl HistogramFamilyCells {
    /// Describes series `id` (its shard slots: one per table, a table
    /// apart).
    fn describe(&self, id: usize, what: &crate::backend::cells::Describe<'_>) {
        let capacity = self.capacity.load(Ordering::Relaxed);
        let first = self.shards[0].load(Ordering::Acquire);
        if first.is_null() || id >= capacity {
            return;
        }
        // SAFETY: mapped tables are allocated whole at the start.
        let slot = unsafe { &*first.add(id) };
        crate::backend::resident::histogram_at(what, slot, capacity * 8, shard::SHARDS);
    }
}

/// Writes `telltale_cardinality_overflow_total{metric}` when the cap of
/// `metric` refused lookups.
pub(crate) fn push_overflowed(out: &mut Sink, metric: &str, overflowed: u64) {
    if overflowed > 0 {
        out.push(
            &Desc {
                name: "telltale_cardinality_overflow",
                help: "Label-set lookups refused by a family's cardinality cap, by family.",
                unit: None,
                kind: MetricKind::Counter,
            },
            vec![("metric".to_owned(), metric.to_owned())],
            Value::Counter(overflowed as f64),
            None,
        );
    }
}

fn zero(kind: MetricKind, buckets: &[f64]) -> Value {
    match kind {
        MetricKind::Counter => Value::Counter(0.0),
        MetricKind::Gauge => Value::Gauge(0.0),
        MetricKind::Histogram => Value::Histogram(HistogramValue::from_exponential(
            ExpBuckets::default(),
            buckets,
        )),
    }
}

impl<L, M: FamilyMetric> std::fmt::Debug for Family<L, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Family")
            .field("name", &self.name)
            .field("kind", &M::KIND)
            .finish_non_exhaustive()
    }
}

impl<L: LabelSet + 'static, M: FamilyMetric> Family<L, M> {
    /// A family named `name`. An invalid name fails to compile in a `static`.
    pub const fn new(name: &'static str, help: &'static str) -> Self {
        check_name!(name);
        Family {
            name,
            help,
            buckets: HISTOGRAM_BUCKETS,
            cap: 0,
            mode: crate::backend::mode::GaugeMode::All,
            cells: M::CELLS,
            live: AtomicPtr::new(std::ptr::null_mut()),
            store: OnceLock::new(),
            _labels: PhantomData,
        }
    }

    /// The same family keeping at most `cap` label sets (for label sets that
    /// are not bounded; a bounded set always fits).
    #[must_use]
    pub const fn with_cap(mut self, cap: usize) -> Self {
        self.cap = if cap == 0 { 1 } else { cap };
        self
    }

    /// For gauge families: how a multi-process [backend](crate::backend)
    /// combines each series' values from several processes (default
    /// [`GaugeMode::All`](crate::backend::GaugeMode::All)).
    #[must_use]
    pub const fn multiprocess_mode(mut self, mode: crate::backend::mode::GaugeMode) -> Self {
        self.mode = mode;
        self
    }

    /// For histogram families: the classic `le` bounds, finite and strictly
    /// increasing (a compile error in a `static` otherwise).
    #[must_use]
    pub const fn with_buckets(mut self, buckets: &'static [f64]) -> Self {
        if let Some(problem) = bucket_problem(buckets) {
            panic!("{}", problem);
        }
        self.buckets = buckets;
        self
    }

    const DENSE: bool = matches!(L::CARDINALITY, Some(n) if n <= MAX_DENSE_CARDINALITY);

    #[inline]
    fn store(&'static self) -> &'static Store<M> {
        match self.store.get() {
            Some(s) => s,
            None => self.init(),
        }
    }

    #[cold]
    fn init(&'static self) -> &'static Store<M> {
        let store = self.store.get_or_init(|| {
            // Registered before the store is published: a thread that finds
            // the store records into a family every collection sees (one
            // collecting meanwhile waits here for the store).
            crate::collect::registry::register(self);
            let mut names = Vec::new();
            L::names(&mut names);
            let index = match L::CARDINALITY {
                Some(n) if Self::DENSE => {
                    let mut tables = Vec::new();
                    L::value_tables(&mut tables);
                    SeriesIndex::dense(names, tables, n)
                }
                _ => {
                    let cap = if self.cap == 0 {
                        DEFAULT_CAP.load(Ordering::Relaxed)
                    } else {
                        self.cap
                    };
                    SeriesIndex::hashed(names, cap)
                }
            };
            Store::kept_or(
                index,
                || &self.cells,
                self.name,
                self.help,
                self.buckets,
                self.mode,
            )
        });
        self.live.store(
            std::ptr::from_ref::<M::Cells>(store.cells).cast_mut(),
            Ordering::Release,
        );
        store
    }

    /// The series of `labels`, as a handle that can be kept and reused.
    #[inline]
    pub fn labels(&'static self, labels: impl Borrow<L>) -> M::Handle {
        let labels = labels.borrow();
        if Self::DENSE {
            let live = self.live.load(Ordering::Acquire);
            // SAFETY: `live` is null or the family's cells, which live for
            // the rest of the process.
            let cells = match unsafe { live.as_ref() } {
                Some(cells) => cells,
                None => self.init().cells,
            };
            return M::handle(cells, labels.index());
        }
        let store = self.store();
        M::handle(store.cells, store.id(&|f| labels.visit(f)))
    }

    /// Number of label sets the family holds (for a dense family, the number
    /// it can hold).
    pub fn len(&'static self) -> usize {
        self.store().index.len()
    }

    /// Whether the family holds no label set yet.
    pub fn is_empty(&'static self) -> bool {
        self.len() == 0
    }

    /// Bytes the family's cells take on the heap (the label index aside).
    pub fn heap_bytes(&'static self) -> usize {
        M::heap_bytes(self.store().cells)
    }
}

impl<L: LabelSet + 'static, M: FamilyMetric> Collect for Family<L, M> {
    fn collect(&'static self, out: &mut Sink) {
        if self.mode != crate::backend::mode::GaugeMode::All {
            crate::backend::mode::note(self.name, self.mode);
        }
        self.store()
            .collect(self.name, self.help, self.buckets, out);
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // counts compared are whole numbers
mod tests {
    use super::*;

    #[test]
    fn interned_values_round_trip_and_match_exactly() {
        let long = "x".repeat(300);
        let sets: [&[&str]; 5] = [&[], &[""], &["a", ""], &["", "a"], &[long.as_str(), "é"]];
        let interned: Vec<Values> = sets
            .iter()
            .map(|set| Values::new(&|f| set.iter().for_each(|v| f(v))))
            .collect();
        for (i, set) in sets.iter().enumerate() {
            assert_eq!(interned[i].iter().collect::<Vec<_>>(), *set);
            for (j, values) in interned.iter().enumerate() {
                assert_eq!(values.matches(&|f| set.iter().for_each(|v| f(v))), i == j);
            }
        }
        // A prefix or an extension of a set is another set.
        assert!(!interned[2].matches(&|f| f("a")));
        assert!(!interned[2].matches(&|f| ["a", "", ""].iter().for_each(|v| f(v))));
        let bucket = Bucket::Many(vec![
            (Values::new(&|f| f("p")), 3),
            (Values::new(&|f| f("q")), 7),
        ]);
        assert_eq!(find(&bucket, &|f| f("q")), Some(7));
        assert_eq!(find(&bucket, &|f| f("r")), None);
    }
    use crate::collect::snapshot::Snapshot;
    use crate::metric::labels::LabelValue;

    /// Two bounded labels by hand: `a` in {false, true}, `b` in {x, y, z}.
    #[derive(Clone, Copy)]
    struct Dense {
        a: bool,
        b: u8,
    }

    const B: &[&str] = &["x", "y", "z"];

    impl LabelSet for Dense {
        const CARDINALITY: Option<usize> = Some(6);
        fn names(out: &mut Vec<&'static str>) {
            out.extend(["a", "b"]);
        }
        fn visit(&self, f: &mut dyn FnMut(&str)) {
            f(&self.a.label_value());
            f(B[usize::from(self.b)]);
        }
        fn index(&self) -> usize {
            usize::from(self.a) * 3 + usize::from(self.b)
        }
        fn value_tables(out: &mut Vec<&'static [&'static str]>) {
            out.extend([&["false", "true"][..], B]);
        }
    }

    struct Hashed(String);

    impl LabelSet for Hashed {
        const CARDINALITY: Option<usize> = None;
        fn names(out: &mut Vec<&'static str>) {
            out.push("user");
        }
        fn visit(&self, f: &mut dyn FnMut(&str)) {
            f(&self.0);
        }
        fn index(&self) -> usize {
            0
        }
        fn value_tables(out: &mut Vec<&'static [&'static str]>) {
            out.push(&[]);
        }
    }

    fn counter_series(s: &Snapshot, family: &str) -> Vec<(Vec<(String, String)>, f64)> {
        s.family(family)
            .map(|f| {
                f.series
                    .iter()
                    .map(|x| {
                        let labels = x
                            .labels
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect();
                        let v = match x.value {
                            Value::Counter(v) | Value::Gauge(v) => v,
                            Value::Histogram(ref h) => h.count as f64,
                        };
                        (labels, v)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn dense_families_index_without_hashing_and_decode_labels_on_export() {
        static F: Family<Dense, Counter> = Family::new("test_dense_total", "t");
        F.labels(Dense { a: true, b: 2 }).inc();
        F.labels(Dense { a: true, b: 2 }).inc();
        let h = F.labels(Dense { a: false, b: 1 });
        h.inc_by(5);
        assert_eq!(h.get(), 5);
        assert_eq!(F.len(), 6);
        let s = Snapshot::collect();
        let got = counter_series(&s, "test_dense");
        assert_eq!(
            got,
            vec![
                (pairs(&[("a", "false"), ("b", "y")]), 5.0),
                (pairs(&[("a", "true"), ("b", "z")]), 2.0),
            ],
            "only recorded label sets are exported"
        );
    }

    #[test]
    fn hashed_families_are_capped_with_an_overflow_series() {
        static F: Family<Hashed, Counter> = Family::new("test_capped_total", "t").with_cap(10);
        for i in 0..1_000 {
            F.labels(Hashed(format!("u{i}"))).inc();
        }
        F.labels(Hashed("u3".into())).inc();
        assert_eq!(F.len(), 10);
        let s = Snapshot::collect();
        let got = counter_series(&s, "test_capped");
        assert_eq!(got.len(), 11, "10 label sets and the overflow series");
        assert!(got.contains(&(pairs(&[("user", "u3")]), 2.0)));
        assert!(got.contains(&(pairs(&[("otel_metric_overflow", "true")]), 990.0)));
        let overflow = counter_series(&s, "telltale_cardinality_overflow");
        assert!(overflow.contains(&(pairs(&[("metric", "test_capped_total")]), 990.0)));
    }

    #[test]
    fn gauge_and_histogram_families() {
        static G: Family<Hashed, Gauge> = Family::new("test_family_gauge", "t");
        static H: Family<Dense, Histogram> =
            Family::new("test_family_hist_seconds", "t").with_buckets(&[0.1, 1.0]);
        let g = G.labels(Hashed("a".into()));
        g.set(3.5);
        g.dec();
        assert_eq!(g.get(), 2.5);
        G.labels(Hashed("b".into())).add(0.0);
        let h = H.labels(Dense { a: false, b: 0 });
        h.observe(0.05);
        h.observe(0.5);
        h.observe(5.0);
        let s = Snapshot::collect();
        assert_eq!(
            counter_series(&s, "test_family_gauge"),
            vec![
                (pairs(&[("user", "a")]), 2.5),
                (pairs(&[("user", "b")]), 0.0)
            ]
        );
        let fam = s.family("test_family_hist_seconds").unwrap();
        assert_eq!(fam.unit, Some("seconds"));
        let Value::Histogram(v) = &fam.series[0].value else {
            panic!("histogram family exports histograms")
        };
        assert_eq!((v.count, v.buckets.clone()), (3, vec![(0.1, 1), (1.0, 2)]));
    }

    #[test]
    fn histogram_family_bytes_count_shards_groups_and_octave_blocks() {
        static H: Family<Hashed, Histogram> =
            Family::new("test_family_bytes_seconds", "t").with_cap(3);
        let h = H.labels(Hashed("a".into()));
        std::thread::spawn(move || {
            // 2^-9 .. 2^-8 and 2^-5 .. 2^-4 are octaves 31 and 35 from
            // 2^-40; 1.5 is in octave 40: three blocks in groups 1 and 2.
            for v in [0.003, 0.04, 1.5, 1.6] {
                h.observe(v);
            }
        })
        .join()
        .unwrap();
        // One shard written: its table of cap + 1 pointers, the shard, two
        // octave groups of 16 pointers, three blocks of 32 counters.
        assert_eq!(H.heap_bytes(), 4 * 8 + 128 + 2 * 128 + 3 * 256);
    }

    #[test]
    fn a_family_held_alone_renders_as_text_and_one_joined_is_merged() {
        use crate::encode::Format;
        static ALONE: Family<Hashed, Counter> = Family::new("test_render_alone_total", "t");
        static A: Family<Hashed, Histogram> =
            Family::new("test_render_joined_seconds", "t").with_buckets(&[0.1, 1.0]);
        static B: Family<Hashed, Histogram> =
            Family::new("test_render_joined_seconds", "t").with_buckets(&[0.5, 5.0]);
        // Its own cap overflows into the family it is named after.
        static SELF_JOINED: Family<Hashed, Counter> =
            Family::new("telltale_cardinality_overflow_total", "t").with_cap(1);
        ALONE.labels(Hashed("x".into())).inc();
        A.labels(Hashed("x".into())).observe(0.3);
        B.labels(Hashed("x".into())).observe(0.3);
        SELF_JOINED.labels(Hashed("x".into())).inc();
        SELF_JOINED.labels(Hashed("y".into())).inc();

        let mut b = Sink::for_render(crate::encode::text_format(Format::Prometheus).unwrap());
        let metrics: [&'static dyn Collect; 4] = [&ALONE, &A, &B, &SELF_JOINED];
        for metric in metrics {
            b.collect_one(metric);
        }
        assert_eq!(
            b.text("test_render_alone"),
            Some("test_render_alone_total{user=\"x\"} 1\n")
        );
        assert_eq!(b.text("test_render_joined_seconds"), None);
        assert_eq!(b.text("telltale_cardinality_overflow"), None);
        let mut out = String::new();
        b.write_text(&mut out);
        // Merged as a snapshot merges: the first family's bounds, both
        // observations.
        let joined = "test_render_joined_seconds_bucket{user=\"x\",le=";
        assert!(out.contains(&format!("{joined}\"0.1\"}} 0\n")), "{out}");
        assert!(out.contains(&format!("{joined}\"1.0\"}} 2\n")), "{out}");
        assert!(!out.contains(&format!("{joined}\"0.5\"}}")), "{out}");
        // The overflow count of the self-joined family is there once.
        let overflow = "telltale_cardinality_overflow_total{metric=\"telltale_cardinality_overflow_total\"} 1\n";
        assert_eq!(out.matches(overflow).count(), 1, "{out}");
        assert!(
            out.contains("telltale_cardinality_overflow_total{user=\"x\"} 1\n"),
            "{out}"
        );
    }

    #[test]
    fn a_dense_family_whose_values_repeat_merges_its_series_in_a_render() {
        use crate::encode::Format;
        /// A hand-written label set whose two values read the same.
        struct Repeats(usize);
        const SAME: &[&str] = &["same", "same"];
        impl LabelSet for Repeats {
            const CARDINALITY: Option<usize> = Some(2);
            fn names(out: &mut Vec<&'static str>) {
                out.push("d");
            }
            fn visit(&self, f: &mut dyn FnMut(&str)) {
                f(SAME[self.0]);
            }
            fn index(&self) -> usize {
                self.0
            }
            fn value_tables(out: &mut Vec<&'static [&'static str]>) {
                out.push(SAME);
            }
        }
        static F: Family<Repeats, Counter> = Family::new("test_render_repeats_total", "t");
        F.labels(Repeats(0)).inc();
        F.labels(Repeats(1)).inc_by(2);
        let mut b = Sink::for_render(crate::encode::text_format(Format::Prometheus).unwrap());
        b.collect_one(&F);
        assert_eq!(b.text("test_render_repeats"), None);
        let mut out = String::new();
        b.write_text(&mut out);
        assert!(
            out.ends_with("\ntest_render_repeats_total{d=\"same\"} 3\n"),
            "{out}"
        );
    }

    #[test]
    fn cell_capacity_is_set_once() {
        let cells: &'static ShardedArrays = Box::leak(Box::new(ShardedArrays::new()));
        <Counter as FamilyMetric>::init(cells, 32);
        <Counter as FamilyMetric>::handle(cells, 20).inc();
        <Counter as FamilyMetric>::init(cells, 100_000);
        let far = <Counter as FamilyMetric>::handle(cells, 99_999);
        far.inc();
        assert_eq!(far.get(), 0, "an id past the first capacity is refused");
        assert_eq!(<Counter as FamilyMetric>::handle(cells, 20).get(), 1);
    }

    #[test]
    fn threads_lose_no_update_in_a_family() {
        static F: Family<Dense, Counter> = Family::new("test_family_threads_total", "t");
        std::thread::scope(|s| {
            for t in 0..8u8 {
                s.spawn(move || {
                    for _ in 0..100_000 {
                        F.labels(Dense {
                            a: t % 2 == 0,
                            b: t % 3,
                        })
                        .inc();
                    }
                });
            }
        });
        let total: u64 = (0..6)
            .map(|i| {
                F.labels(Dense {
                    a: i >= 3,
                    b: (i % 3) as u8,
                })
                .get()
            })
            .sum();
        assert_eq!(total, 800_000);
    }
}
