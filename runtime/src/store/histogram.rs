//! The exponential histogram store.
//!
//! Observations fall into base-2 exponential buckets of scale 5: every
//! power-of-two octave `[2^e, 2^(e+1)]` is split into 32 buckets whose bounds
//! are `2^(e + i/32)`, the bucket scheme of Prometheus native histograms and
//! OpenTelemetry exponential histograms (`base = 2^(2^-5)`, upper bounds
//! inclusive). A bucket's width is 2.19 % of its lower bound, so a quantile
//! reported as the geometric middle of its bucket is within 1.09 % of the
//! exact value.
//!
//! Storage is allocated lazily: one block of 32 counters per octave that
//! actually receives observations, per shard. Observations below
//! [`MIN_VALUE`] (including zero) go to a zero bucket, observations at or
//! above 2^64 (including `+Inf`) to an overflow bucket; negative and `NaN`
//! observations are ignored.

use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering::Relaxed};

use crate::store::shard;

/// Default classic (`le`) buckets of `function_calls_duration_seconds`, the
/// series of `#[timed]` and `#[tracked]`, in seconds: the autometrics
/// defaults, so existing dashboards keep working.
pub const FUNCTION_CALL_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Default classic (`le`) buckets of a [`Histogram`](crate::Histogram) and of
/// histogram families and dynamic histograms: the Prometheus client
/// libraries' defaults.
pub const HISTOGRAM_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Buckets per octave (`2^scale`, scale 5).
pub const BUCKETS_PER_OCTAVE: usize = 32;
/// The smallest exponent with its own buckets.
const MIN_EXP: i32 = -40;
/// One past the largest exponent with its own buckets.
const MAX_EXP: i32 = 64;
const OCTAVES: usize = (MAX_EXP - MIN_EXP) as usize;
/// Observations below this (`2^-40`, about `9.1e-13`) count in the zero bucket.
pub const MIN_VALUE: f64 = 1.0 / (1u64 << 40) as f64;

const MANTISSA_BITS: u32 = 52;
const LOOKUP_BITS: u32 = 8;

// ----- bucket bounds, computed at compile time ---------------------------------

const fn sqrt(a: f64) -> f64 {
    let mut x = a;
    let mut i = 0;
    while i < 64 {
        x = 0.5 * (x + a / x);
        i += 1;
    }
    x
}

/// `BOUNDS[i]` is the mantissa (52 fraction bits) of `2^(i/32)`, for
/// `i in 0..=32`; `BOUNDS[32] = 2^52` stands for `2.0`.
const BOUNDS: [u64; BUCKETS_PER_OCTAVE + 1] = {
    // 2^(1/32) by five square roots of 2.
    let root = sqrt(sqrt(sqrt(sqrt(sqrt(2.0)))));
    let mut out = [0u64; BUCKETS_PER_OCTAVE + 1];
    let mut v = 1.0f64;
    let mut i = 0;
    while i < BUCKETS_PER_OCTAVE {
        out[i] = ((v - 1.0) * (1u64 << MANTISSA_BITS) as f64) as u64;
        v *= root;
        i += 1;
    }
    out[BUCKETS_PER_OCTAVE] = 1u64 << MANTISSA_BITS;
    out
};

/// For the top 8 mantissa bits `k`: the largest `i` with `BOUNDS[i] < k << 44`
/// (0 for `k = 0`) in the low 8 bits, and `BOUNDS[i + 1]` above them. Bucket
/// bounds are more than one lookup cell apart, so the real sub-bucket is `i`
/// or `i + 1`, decided by one comparison with the bound stored beside it: one
/// load instead of two dependent ones.
const LOOKUP: [u64; 1 << LOOKUP_BITS] = {
    let mut out = [0u64; 1 << LOOKUP_BITS];
    let mut k = 0;
    while k < (1 << LOOKUP_BITS) {
        let start = (k as u64) << (MANTISSA_BITS - LOOKUP_BITS);
        let mut i = 0;
        while k > 0 && i + 1 < BUCKETS_PER_OCTAVE && BOUNDS[i + 1] < start {
            i += 1;
        }
        out[k] = (BOUNDS[i + 1] << 8) | i as u64;
        k += 1;
    }
    out
};

/// Where an observation goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Ignore,
    Zero,
    Overflow,
    /// Octave (0-based from `MIN_EXP`) and bucket within it.
    Bucket(usize, usize),
}

#[inline]
fn slot(v: f64) -> Slot {
    // NaN compares false both ways and is ignored.
    if v.is_nan() || v < 0.0 {
        return Slot::Ignore;
    }
    if v < MIN_VALUE {
        return Slot::Zero;
    }
    let bits = v.to_bits();
    let exp = ((bits >> MANTISSA_BITS) & 0x7ff) as i32 - 1023;
    let mantissa = bits & ((1u64 << MANTISSA_BITS) - 1);
    // Upper bounds are inclusive: an exact power of two is the last bucket of
    // the octave below.
    let (exp, sub) = if mantissa == 0 {
        (exp - 1, BUCKETS_PER_OCTAVE - 1)
    } else {
        let entry = LOOKUP[(mantissa >> (MANTISSA_BITS - LOOKUP_BITS)) as usize];
        (
            exp,
            (entry & 0xff) as usize + usize::from((entry >> 8) < mantissa),
        )
    };
    if exp >= MAX_EXP {
        Slot::Overflow
    } else if exp < MIN_EXP {
        Slot::Zero
    } else {
        Slot::Bucket((exp - MIN_EXP) as usize, sub)
    }
}

/// Global bucket index (octave * 32 + sub) → its upper bound.
pub(crate) fn upper_bound(index: usize) -> f64 {
    let octave = index / BUCKETS_PER_OCTAVE;
    let sub = index % BUCKETS_PER_OCTAVE;
    let base = pow2(octave as i32 + MIN_EXP);
    base * (1.0 + BOUNDS[sub + 1] as f64 / (1u64 << MANTISSA_BITS) as f64)
}

/// Global bucket index → its lower bound (exclusive).
pub(crate) fn lower_bound(index: usize) -> f64 {
    let octave = index / BUCKETS_PER_OCTAVE;
    let sub = index % BUCKETS_PER_OCTAVE;
    let base = pow2(octave as i32 + MIN_EXP);
    base * (1.0 + BOUNDS[sub] as f64 / (1u64 << MANTISSA_BITS) as f64)
}

fn pow2(e: i32) -> f64 {
    f64::from_bits(((e + 1023) as u64) << MANTISSA_BITS)
}

// ----- live storage ---------------------------------------------------------------

type Octave = [AtomicU64; BUCKETS_PER_OCTAVE];

/// Octaves per group. A shard points to groups and a group to octave blocks,
/// both allocated on first use: a shard that records over a few octaves
/// holds a few small groups instead of a pointer for every octave. Sixteen
/// octaves per group keep the shard itself within its 128 bytes and the
/// lookup a shift and a mask.
const GROUP: usize = 16;
const GROUPS: usize = OCTAVES.div_ceil(GROUP);
type Group = [AtomicPtr<Octave>; GROUP];
/// A histogram's shards, allocated on first use.
pub(crate) type ShardSlots = [AtomicPtr<HistShard>; shard::SHARDS];

/// One shard of a histogram: written by one thread (or, for the shared
/// shard, by several with read-modify-writes). Laid out as declared: a
/// shard in a mapped file is read by other programs ([`read_foreign`]).
#[derive(Debug)]
#[repr(C, align(128))]
pub(crate) struct HistShard {
    sum: AtomicU64,
    /// Tick stores on an owned shard: the last observation, plus one (0 when
    /// none), not yet in its bucket. It is bucketed on the next call, where
    /// that work does not wait for the clock read of the call being recorded.
    pending: AtomicU64,
    /// The smallest and largest value bucketed (exact): ticks in a tick
    /// store, the bits of the (non-negative) value in an `f64` store, whose
    /// order is the values' order.
    min: AtomicU64,
    max: AtomicU64,
    zero: AtomicU64,
    overflow: AtomicU64,
    groups: [AtomicPtr<Group>; GROUPS],
    /// Whether the shard, its groups and octaves are in mapped memory
    /// ([`mapped`](crate::store::mapped)): never freed.
    mapped: bool,
}

impl HistShard {
    pub(crate) fn new() -> Self {
        HistShard {
            sum: AtomicU64::new(0f64.to_bits()),
            pending: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
            zero: AtomicU64::new(0),
            overflow: AtomicU64::new(0),
            groups: [const { AtomicPtr::new(std::ptr::null_mut()) }; GROUPS],
            mapped: false,
        }
    }

    #[inline]
    pub(crate) fn record(&self, shard: usize, v: f64) {
        let slot = slot(v);
        if matches!(slot, Slot::Ignore) {
            return;
        }
        // Before the count, so that a reader seeing the count sees the
        // extreme too (quantiles are clamped to them).
        // `+ 0.0` turns -0.0 into 0.0; other values here are not negative.
        self.extremes(shard, (v + 0.0).to_bits());
        match slot {
            Slot::Ignore => return,
            Slot::Zero => shard::add(&self.zero, shard, 1),
            Slot::Overflow => shard::add(&self.overflow, shard, 1),
            Slot::Bucket(octave, sub) => {
                if let Some(c) = self.octave(octave).and_then(|block| block.get(sub)) {
                    shard::add(c, shard, 1);
                }
            }
        }
        shard::add_f64(&self.sum, shard, v);
    }

    /// Keeps `key` if it is a new smallest or largest.
    #[inline]
    fn extremes(&self, shard: usize, key: u64) {
        if shard < shard::SHARED {
            if key < self.min.load(Relaxed) {
                self.min.store(key, Relaxed);
            }
            if key > self.max.load(Relaxed) {
                self.max.store(key, Relaxed);
            }
        } else {
            self.min.fetch_min(key, Relaxed);
            self.max.fetch_max(key, Relaxed);
        }
    }

    /// Records a duration in raw clock ticks: an integer sum and no float
    /// arithmetic; [`HistogramCells::read_ticks`] scales.
    #[inline]
    fn record_ticks(&self, shard: usize, ticks: u64) {
        shard::add(&self.sum, shard, ticks);
        if shard < shard::SHARED {
            // Owned shard: park this observation and bucket the previous one.
            // The pending store comes first and a release fence separates it
            // from the bucket update, so a reader that sees the bucket also
            // sees the new pending value and never counts one twice.
            let prev = self.pending.load(Relaxed);
            self.pending.store(ticks.saturating_add(1), Relaxed);
            if prev != 0 {
                std::sync::atomic::fence(std::sync::atomic::Ordering::Release);
                self.bucket_ticks(shard, prev - 1);
            }
        } else {
            self.bucket_ticks(shard, ticks);
        }
    }

    #[inline]
    fn bucket_ticks(&self, shard: usize, ticks: u64) {
        self.extremes(shard, ticks);
        // Signed conversion is one instruction; ticks never reach 2^63.
        let Slot::Bucket(octave, sub) = slot(ticks as i64 as f64) else {
            return self.record_special(shard, ticks as i64 as f64);
        };
        if let Some(c) = self.octave(octave).and_then(|block| block.get(sub)) {
            shard::add(c, shard, 1);
        }
    }

    /// The block of `octave`, allocated (with its group) on first use.
    #[inline]
    fn octave(&self, octave: usize) -> Option<&Octave> {
        let group = self.groups.get(octave / GROUP)?;
        let mut group = group.load(std::sync::atomic::Ordering::Acquire);
        if group.is_null() {
            group = alloc_group(&self.groups[octave / GROUP], self.mapped);
        }
        // SAFETY: a published group is never freed while its shard lives.
        let ptr = unsafe { &*group }.get(octave % GROUP)?;
        let mut block = ptr.load(std::sync::atomic::Ordering::Acquire);
        if block.is_null() {
            block = alloc_octave(ptr, self.mapped);
        }
        // SAFETY: a published octave is never freed while its shard lives.
        Some(unsafe { &*block })
    }

    /// Each allocated octave block with its octave number.
    fn octaves(&self) -> impl Iterator<Item = (usize, &Octave)> {
        self.groups.iter().enumerate().flat_map(|(g, group)| {
            let group = group.load(std::sync::atomic::Ordering::Acquire);
            // SAFETY: as in `octave`.
            let blocks: &[AtomicPtr<Octave>] = if group.is_null() {
                &[]
            } else {
                unsafe { &*group }
            };
            blocks.iter().enumerate().filter_map(move |(i, ptr)| {
                let block = ptr.load(std::sync::atomic::Ordering::Acquire);
                // SAFETY: as in `octave`.
                (!block.is_null()).then(|| (g * GROUP + i, unsafe { &*block }))
            })
        })
    }

    /// Bytes this shard takes on the heap: itself, its octave groups and
    /// its octave blocks.
    pub(crate) fn heap_bytes(&self) -> usize {
        std::mem::size_of::<HistShard>()
            + self.octaves().count() * std::mem::size_of::<Octave>()
            + self
                .groups
                .iter()
                .filter(|g| !g.load(Relaxed).is_null())
                .count()
                * std::mem::size_of::<Group>()
    }

    #[cold]
    fn record_special(&self, shard: usize, v: f64) {
        match slot(v) {
            Slot::Zero => shard::add(&self.zero, shard, 1),
            Slot::Overflow => shard::add(&self.overflow, shard, 1),
            Slot::Ignore | Slot::Bucket(..) => {}
        }
    }

    pub(crate) fn read_into(&self, out: &mut ExpBuckets, ticks: bool) {
        let sum = self.sum.load(Relaxed);
        let zero = self.zero.load(Relaxed);
        let overflow = self.overflow.load(Relaxed);
        for (octave, block) in self.octaves() {
            for (sub, c) in block.iter().enumerate() {
                let n = c.load(Relaxed);
                if n > 0 {
                    out.add_bucket(octave * BUCKETS_PER_OCTAVE + sub, n);
                }
            }
        }
        let (min, max) = (self.min.load(Relaxed), self.max.load(Relaxed));
        // Pairs with the writer's release fence: buckets first, then pending.
        std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
        let pending = self.pending.load(Relaxed);
        fold(
            out,
            ticks,
            Fields {
                sum,
                pending,
                min,
                max,
                zero,
                overflow,
            },
        );
    }
}

/// A shard's words besides its buckets, as read.
#[derive(Clone, Copy)]
struct Fields {
    sum: u64,
    pending: u64,
    min: u64,
    max: u64,
    zero: u64,
    overflow: u64,
}

/// Adds a shard's `fields` to `out` (whose buckets have the shard's).
fn fold(out: &mut ExpBuckets, ticks: bool, f: Fields) {
    out.sum += if ticks {
        f.sum as f64
    } else {
        f64::from_bits(f.sum)
    };
    out.zero += f.zero;
    out.overflow += f.overflow;
    if ticks {
        let extremes = [
            (f.min <= f.max).then_some((f.min, f.max)),
            (f.pending != 0).then(|| (f.pending - 1, f.pending - 1)),
        ];
        for (lo, hi) in extremes.into_iter().flatten() {
            out.min = Some(out.min.map_or(lo as f64, |m| m.min(lo as f64)));
            out.max = Some(out.max.map_or(hi as f64, |m| m.max(hi as f64)));
        }
        if f.pending != 0 {
            match slot((f.pending - 1) as i64 as f64) {
                Slot::Bucket(octave, sub) => {
                    out.add_bucket(octave * BUCKETS_PER_OCTAVE + sub, 1);
                }
                Slot::Zero => out.zero += 1,
                Slot::Overflow => out.overflow += 1,
                Slot::Ignore => {}
            }
        }
    } else if f.min <= f.max {
        let (lo, hi) = (f64::from_bits(f.min), f64::from_bits(f.max));
        out.min = Some(out.min.map_or(lo, |m| m.min(lo)));
        out.max = Some(out.max.map_or(hi, |m| m.max(hi)));
    }
}

/// Reads a shard another process laid out in mapped memory, at address
/// `at` in that process, into `out`; `word` reads the `u64` at such an
/// address (`None` outside the mapping). `None` when a pointer in it
/// leads outside.
#[cfg(feature = "backend-file")]
pub(crate) fn read_foreign(
    at: u64,
    word: &dyn Fn(u64) -> Option<u64>,
    out: &mut ExpBuckets,
    ticks: bool,
) -> Option<()> {
    use std::mem::offset_of;
    let field = |offset: usize| word(at.checked_add(offset as u64)?);
    let groups = offset_of!(HistShard, groups);
    for g in 0..GROUPS {
        let group = field(groups + g * 8)?;
        if group == 0 {
            continue;
        }
        for i in 0..GROUP {
            let block = word(group.checked_add(i as u64 * 8)?)?;
            if block == 0 {
                continue;
            }
            for sub in 0..BUCKETS_PER_OCTAVE {
                let n = word(block.checked_add(sub as u64 * 8)?)?;
                if n > 0 {
                    out.add_bucket((g * GROUP + i) * BUCKETS_PER_OCTAVE + sub, n);
                }
            }
        }
    }
    let fields = Fields {
        sum: field(offset_of!(HistShard, sum))?,
        pending: field(offset_of!(HistShard, pending))?,
        min: field(offset_of!(HistShard, min))?,
        max: field(offset_of!(HistShard, max))?,
        zero: field(offset_of!(HistShard, zero))?,
        overflow: field(offset_of!(HistShard, overflow))?,
    };
    fold(out, ticks, fields);
    Some(())
}

/// The size of a histogram shard and of a group, for readers of mapped
/// memory that check a pointer's block lies inside it.
#[cfg(feature = "backend-file")]
pub(crate) const SHARD_BYTES: usize = std::mem::size_of::<HistShard>();

/// A new block, in mapped memory when its shard is there (else, or when
/// that is full, on the heap), published into `ptr`.
#[cold]
fn alloc_block<T>(ptr: &AtomicPtr<T>, mapped: bool, fresh: fn() -> T) -> *mut T {
    if mapped {
        if let Some(block) = crate::store::mapped::alloc::<T>() {
            // SAFETY: room for a `T`, aligned, that nothing else uses.
            unsafe { block.write(fresh()) };
            // The loser of a race leaves its block unused in the mapping.
            return crate::store::publish::publish_placed(ptr, block);
        }
    }
    crate::store::publish::publish(ptr, Box::new(fresh())).0
}

#[cold]
fn alloc_group(ptr: &AtomicPtr<Group>, mapped: bool) -> *mut Group {
    alloc_block(ptr, mapped, || {
        [const { AtomicPtr::new(std::ptr::null_mut()) }; GROUP]
    })
}

#[cold]
fn alloc_octave(ptr: &AtomicPtr<Octave>, mapped: bool) -> *mut Octave {
    alloc_block(ptr, mapped, || {
        [const { AtomicU64::new(0) }; BUCKETS_PER_OCTAVE]
    })
}

impl Drop for HistShard {
    fn drop(&mut self) {
        if self.mapped {
            return;
        }
        for group in &mut self.groups {
            let group = *group.get_mut();
            if group.is_null() {
                continue;
            }
            // SAFETY: we own the shard exclusively in drop; every group and
            // block was created by `Box::into_raw`.
            let mut group = unsafe { Box::from_raw(group) };
            for ptr in group.iter_mut() {
                let block = *ptr.get_mut();
                if !block.is_null() {
                    // SAFETY: as above.
                    drop(unsafe { Box::from_raw(block) });
                }
            }
        }
    }
}

/// A sharded exponential histogram whose shards are allocated on first use.
#[derive(Debug)]
pub(crate) struct HistogramCells {
    shards: ShardSlots,
    /// Slots in mapped memory, when a backend keeps this histogram's
    /// cells: its shards are allocated there and published in both.
    mapped: AtomicPtr<ShardSlots>,
    /// Tick stores: what the last read reported. A value pending on an owned
    /// shard is reported in its bucket; while the writer moves it there a
    /// read can miss it for an instant, so each bucket is reported as the
    /// larger of its new reading and its last report. That never exceeds the
    /// truth (a value once seen stays pending or bucketed) and keeps every
    /// `le` bucket monotonic.
    reported: std::sync::Mutex<Option<ExpBuckets>>,
}

impl HistogramCells {
    pub(crate) const fn new() -> Self {
        HistogramCells {
            shards: [const { AtomicPtr::new(std::ptr::null_mut()) }; shard::SHARDS],
            mapped: AtomicPtr::new(std::ptr::null_mut()),
            reported: std::sync::Mutex::new(None),
        }
    }

    /// Records one observation from the calling thread.
    #[inline]
    pub(crate) fn record(&self, v: f64) {
        self.record_in(shard::current(), v);
    }

    /// Records one observation into shard `shard`, the calling thread's.
    #[inline]
    pub(crate) fn record_in(&self, shard: usize, v: f64) {
        self.shard(shard).record(shard, v);
    }

    /// Records a duration in raw clock ticks into shard `shard`. A store
    /// must take either [`record_in`](Self::record_in) or ticks, never both.
    #[inline]
    pub(crate) fn record_ticks_in(&self, shard: usize, ticks: u64) {
        self.shard(shard).record_ticks(shard, ticks);
    }

    /// Keeps this histogram's cells in mapped memory from now on: its
    /// shards are allocated there and published in `slots` (where a
    /// backend's readers find them) as well as here. Call it before
    /// anything records.
    #[cfg_attr(not(feature = "backend-file"), allow(dead_code))]
    pub(crate) fn place(&self, slots: &'static ShardSlots) {
        self.mapped.store(
            std::ptr::from_ref(slots).cast_mut(),
            std::sync::atomic::Ordering::Release,
        );
    }

    /// Shard `shard`, allocated on first use.
    #[inline]
    fn shard(&self, shard: usize) -> &HistShard {
        let ptr = &self.shards[shard & (shard::SHARDS - 1)];
        let mut s = ptr.load(std::sync::atomic::Ordering::Acquire);
        if s.is_null() {
            s = self.alloc(shard & (shard::SHARDS - 1));
        }
        // SAFETY: published shards live as long as `self`.
        unsafe { &*s }
    }

    /// Allocates shard `i` (in mapped memory when placed there).
    #[cold]
    fn alloc(&self, i: usize) -> *mut HistShard {
        let mapped = self.mapped.load(std::sync::atomic::Ordering::Acquire);
        // SAFETY: mapped slots stay for the rest of the process.
        let Some(slots) = (unsafe { mapped.as_ref() }) else {
            return alloc_shard(&self.shards[i]);
        };
        // The mapped slot decides which of racing threads' shards is the
        // one; it is published there before here, so a reader of the
        // mapping knows every shard that can hold an observation.
        let s = alloc_mapped_shard(&slots[i]);
        self.shards[i].store(s, std::sync::atomic::Ordering::Release);
        s
    }

    /// Sums all shards of a store of `f64` observations.
    pub(crate) fn read(&self) -> ExpBuckets {
        self.read_all(false)
    }

    /// Sums all shards of a store of clock ticks, scaled to seconds.
    pub(crate) fn read_ticks(&self) -> ExpBuckets {
        let mut out = self.read_all(true);
        if let Ok(mut reported) = self.reported.lock() {
            if let Some(last) = reported.as_ref() {
                out.raise_to(last);
            }
            *reported = Some(out.clone());
        }
        out.ticks_to_seconds(crate::store::clock::seconds_per_tick())
    }

    fn read_all(&self, ticks: bool) -> ExpBuckets {
        let mut out = ExpBuckets::default();
        for ptr in &self.shards {
            let s = ptr.load(std::sync::atomic::Ordering::Acquire);
            if !s.is_null() {
                // SAFETY: as in `record`.
                unsafe { &*s }.read_into(&mut out, ticks);
            }
        }
        out
    }

    /// Bytes allocated on the heap by this histogram.
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        let mut total = 0;
        for ptr in &self.shards {
            let s = ptr.load(std::sync::atomic::Ordering::Acquire);
            if s.is_null() {
                continue;
            }
            // SAFETY: as in `record`.
            total += unsafe { &*s }.heap_bytes();
        }
        total
    }
}

impl Default for HistogramCells {
    fn default() -> Self {
        Self::new()
    }
}

/// [`alloc_shard`] in mapped memory (the shard's blocks too), or on the
/// heap when there is none left.
#[cold]
pub(crate) fn alloc_mapped_shard(ptr: &AtomicPtr<HistShard>) -> *mut HistShard {
    alloc_block(ptr, true, || {
        let mut fresh = HistShard::new();
        fresh.mapped = true;
        fresh
    })
}

/// Publishes a new histogram shard into the empty `ptr` (or returns the one
/// another thread published first).
#[cold]
pub(crate) fn alloc_shard(ptr: &AtomicPtr<HistShard>) -> *mut HistShard {
    crate::store::publish::publish(ptr, Box::new(HistShard::new())).0
}

impl Drop for HistogramCells {
    fn drop(&mut self) {
        if !self.mapped.get_mut().is_null() {
            // Its shards are in mapped memory, never freed.
            return;
        }
        for ptr in &mut self.shards {
            let s = *ptr.get_mut();
            if !s.is_null() {
                // SAFETY: exclusive in drop.
                drop(unsafe { Box::from_raw(s) });
            }
        }
    }
}

// ----- read side --------------------------------------------------------------------

/// The exponential buckets of a histogram, read out and summed over shards.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpBuckets {
    /// Sum of all observations.
    pub sum: f64,
    /// The smallest observation, exactly (every store tracks it); `None`
    /// when empty, or for a histogram made without it (a difference of two
    /// readings, values read from text or another process).
    pub min: Option<f64>,
    /// The largest observation, exactly; `None` as for `min`.
    pub max: Option<f64>,
    /// What one unit of the store is worth (seconds per clock tick for
    /// durations, 1 otherwise): bucket bounds are scaled by it.
    scale: f64,
    /// Observations below [`MIN_VALUE`], zero included.
    pub zero: u64,
    /// Observations at or above 2^64, `+Inf` included.
    pub overflow: u64,
    /// `(index, count)` of every non-empty bucket, in increasing index. Bucket
    /// `index` covers `(lower_bound(index), upper_bound(index)]`.
    buckets: Vec<(usize, u64)>,
}

impl Default for ExpBuckets {
    fn default() -> Self {
        ExpBuckets {
            sum: 0.0,
            min: None,
            max: None,
            scale: 1.0,
            zero: 0,
            overflow: 0,
            buckets: Vec::new(),
        }
    }
}

impl ExpBuckets {
    fn lower(&self, index: usize) -> f64 {
        lower_bound(index) * self.scale
    }

    fn upper(&self, index: usize) -> f64 {
        upper_bound(index) * self.scale
    }

    /// A store of clock ticks read out, in seconds (`tick` seconds each).
    #[must_use]
    pub(crate) fn ticks_to_seconds(mut self, tick: f64) -> ExpBuckets {
        self.scale = tick;
        self.sum *= tick;
        self.min = self.min.map(|m| m * tick);
        self.max = self.max.map(|m| m * tick);
        self
    }

    fn add_bucket(&mut self, index: usize, n: u64) {
        match self.buckets.binary_search_by_key(&index, |&(i, _)| i) {
            Ok(pos) => self.buckets[pos].1 += n,
            Err(pos) => self.buckets.insert(pos, (index, n)),
        }
    }

    /// What one unit of the store is worth, and the `(index, count)` of
    /// every non-empty bucket: what a multi-process backend stores.
    #[cfg(any(feature = "backend-file", feature = "backend-redis"))]
    pub(crate) fn raw(&self) -> (f64, &[(usize, u64)]) {
        (self.scale, &self.buckets)
    }

    /// Buckets stored by [`raw`](Self::raw) (and the public fields), read
    /// back: out-of-range indices are dropped, repeated ones added up.
    #[cfg(any(feature = "backend-file", feature = "backend-redis"))]
    pub(crate) fn with_raw(mut self, scale: f64, buckets: &[(usize, u64)]) -> ExpBuckets {
        self.scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        self.buckets.clear();
        for &(i, n) in buckets {
            if i < OCTAVES * BUCKETS_PER_OCTAVE && n > 0 {
                self.add_bucket(i, n);
            }
        }
        self
    }

    /// The same observations counted in units of 1 (a duration store's
    /// ticks as seconds): each bucket goes to the unit bucket that holds
    /// its geometric middle, so stores of processes with different clock
    /// scales add up bucket by bucket.
    #[must_use]
    #[cfg(feature = "backend-redis")]
    pub(crate) fn unit_scale(&self) -> ExpBuckets {
        if self.scale.to_bits() == 1f64.to_bits() {
            return self.clone();
        }
        let mut out = self.clone();
        out.scale = 1.0;
        out.buckets.clear();
        for &(i, n) in &self.buckets {
            let middle = (self.lower(i) * self.upper(i)).sqrt();
            match slot(middle) {
                Slot::Bucket(octave, sub) => out.add_bucket(octave * BUCKETS_PER_OCTAVE + sub, n),
                Slot::Zero | Slot::Ignore => out.zero += n,
                Slot::Overflow => out.overflow += n,
            }
        }
        out
    }

    /// Raises every bucket to at least its count in `floor` (same scale).
    fn raise_to(&mut self, floor: &ExpBuckets) {
        self.zero = self.zero.max(floor.zero);
        self.overflow = self.overflow.max(floor.overflow);
        for &(i, n) in &floor.buckets {
            match self.buckets.binary_search_by_key(&i, |&(j, _)| j) {
                Ok(pos) => self.buckets[pos].1 = self.buckets[pos].1.max(n),
                Err(pos) => self.buckets.insert(pos, (i, n)),
            }
        }
    }

    /// Adds another histogram's buckets to this one.
    ///
    /// When the two stores count in different units (a duration store in
    /// clock ticks and one in seconds, say), each of `other`'s buckets is
    /// added to the bucket of `self` that holds its geometric middle, so the
    /// merged quantiles keep about twice the usual relative error.
    pub fn merge(&mut self, other: &ExpBuckets) {
        let (self_empty, other_empty) = (self.count() == 0, other.count() == 0);
        if self_empty && self.sum == 0.0 {
            self.scale = other.scale;
        }
        self.sum += other.sum;
        // Extremes are known only when known for every observation: one side
        // without them (a window's delta, a remote total) makes them unknown,
        // so quantiles are not clamped to a part of the data.
        let extreme = |a: Option<f64>, b: Option<f64>, pick: fn(f64, f64) -> f64| match (
            self_empty,
            other_empty,
        ) {
            (true, _) => b,
            (_, true) => a,
            _ => Some(pick(a?, b?)),
        };
        self.min = extreme(self.min, other.min, f64::min);
        self.max = extreme(self.max, other.max, f64::max);
        self.zero += other.zero;
        self.overflow += other.overflow;
        if other.scale.to_bits() == self.scale.to_bits() {
            for &(i, n) in &other.buckets {
                self.add_bucket(i, n);
            }
            return;
        }
        for &(i, n) in &other.buckets {
            let middle = (other.lower(i) * other.upper(i)).sqrt();
            match slot(middle / self.scale) {
                Slot::Bucket(octave, sub) => self.add_bucket(octave * BUCKETS_PER_OCTAVE + sub, n),
                Slot::Zero | Slot::Ignore => self.zero += n,
                Slot::Overflow => self.overflow += n,
            }
        }
    }

    /// The observations of `self` that are not in `earlier`, an earlier read
    /// of the same histogram: bucket by bucket, saturating at zero (the
    /// observations recorded between the two reads).
    #[must_use]
    pub fn saturating_sub(&self, earlier: &ExpBuckets) -> ExpBuckets {
        let mut out = self.clone();
        // Exact extremes cover the whole lifetime, not the difference.
        out.min = None;
        out.max = None;
        out.sum -= earlier.sum;
        out.zero = out.zero.saturating_sub(earlier.zero);
        out.overflow = out.overflow.saturating_sub(earlier.overflow);
        for &(i, n) in &earlier.buckets {
            if let Ok(pos) = out.buckets.binary_search_by_key(&i, |&(j, _)| j) {
                out.buckets[pos].1 = out.buckets[pos].1.saturating_sub(n);
            }
        }
        out.buckets.retain(|&(_, n)| n > 0);
        out
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.zero + self.overflow + self.buckets.iter().map(|&(_, n)| n).sum::<u64>()
    }

    /// Non-empty buckets as `(lower bound exclusive, upper bound inclusive, count)`,
    /// in increasing order (zero and overflow buckets not included).
    pub fn buckets(&self) -> impl Iterator<Item = (f64, f64, u64)> + '_ {
        self.buckets
            .iter()
            .map(|&(i, n)| (self.lower(i), self.upper(i), n))
    }

    /// Observations counted as `<= le`. A bucket entirely at or below `le`
    /// counts whole; the one bucket that straddles `le` counts when its
    /// geometric middle is at or below `le`, so an observation within 2.2 %
    /// of a classic bound may be counted on the other side of it.
    pub fn count_le(&self, le: f64) -> u64 {
        if le.is_infinite() && le > 0.0 {
            return self.count();
        }
        let mut total = if le >= 0.0 { self.zero } else { 0 };
        for &(i, n) in &self.buckets {
            let (lo, hi) = (self.lower(i), self.upper(i));
            if hi <= le || (lo < le && (lo * hi).sqrt() <= le) {
                total += n;
            } else {
                break;
            }
        }
        total
    }

    /// `(le, self.count_le(le))` for each of `bounds`, in one pass over the
    /// buckets while the bounds increase.
    pub(crate) fn cumulative<'a>(
        &'a self,
        bounds: &'a [f64],
    ) -> impl Iterator<Item = (f64, u64)> + 'a {
        let (mut at, mut below, mut previous) = (0, 0, f64::NEG_INFINITY);
        bounds.iter().map(move |&le| {
            if le.is_nan() || le < previous {
                return (le, self.count_le(le));
            }
            previous = le;
            if le.is_infinite() && le > 0.0 {
                return (le, self.count());
            }
            // `count_le` counts a prefix of the buckets, longer for a larger `le`.
            while let Some(&(i, n)) = self.buckets.get(at) {
                let (lo, hi) = (self.lower(i), self.upper(i));
                if hi <= le || (lo < le && (lo * hi).sqrt() <= le) {
                    below += n;
                    at += 1;
                } else {
                    break;
                }
            }
            (le, below + if le >= 0.0 { self.zero } else { 0 })
        })
    }

    /// Empties these buckets, keeping their allocation.
    pub(crate) fn clear(&mut self) {
        let mut buckets = std::mem::take(&mut self.buckets);
        buckets.clear();
        *self = ExpBuckets {
            buckets,
            ..ExpBuckets::default()
        };
    }

    /// The estimated `q`-quantile, `q` in `0.0..=1.0` (nearest rank, reported
    /// as the geometric middle of the bucket holding it, within the observed
    /// `min..=max` where those are known); `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let estimate = self.bucket_quantile(q)?;
        Some(match (self.min, self.max) {
            (Some(min), Some(max)) if min <= max => estimate.clamp(min, max),
            _ => estimate,
        })
    }

    fn bucket_quantile(&self, q: f64) -> Option<f64> {
        let count = self.count();
        if count == 0 || q.is_nan() {
            return None;
        }
        let q = q.clamp(0.0, 1.0);
        let rank = ((q * count as f64).ceil() as u64).clamp(1, count);
        let mut seen = self.zero;
        if seen >= rank {
            return Some(0.0);
        }
        for &(i, n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return Some((self.lower(i) * self.upper(i)).sqrt());
            }
        }
        Some(pow2(MAX_EXP) * self.scale)
    }
}

/// Records into a fresh store and reads it back (tests and benches).
#[cfg(test)]
pub(crate) fn from_values(values: impl IntoIterator<Item = f64>) -> ExpBuckets {
    let cells = HistogramCells::new();
    for v in values {
        cells.record(v);
    }
    cells.read()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f64_stores_keep_extremes_and_merges_keep_only_whole_ones() {
        let a = from_values([0.5, 2.0]);
        assert_eq!((a.min, a.max), (Some(0.5), Some(2.0)));
        // One observation: every quantile is it, not its bucket's middle.
        let one = from_values([1.5]);
        assert_eq!(one.quantile(0.5), Some(1.5));
        let mut merged = a.clone();
        merged.merge(&from_values([4.0]));
        assert_eq!((merged.min, merged.max), (Some(0.5), Some(4.0)));
        // With an empty side, the other's extremes stay.
        let mut empty = ExpBuckets::default();
        empty.merge(&a);
        assert_eq!((empty.min, empty.max), (Some(0.5), Some(2.0)));
        // A side with observations but no extremes (a delta, a remote total)
        // makes them unknown, so no quantile is clamped to part of the data.
        let mut unknown = from_values([8.0]);
        unknown.min = None;
        unknown.max = None;
        let mut merged = a.clone();
        merged.merge(&unknown);
        assert_eq!((merged.min, merged.max), (None, None));
        let p100 = merged.quantile(1.0).unwrap();
        assert!((p100 / 8.0 - 1.0).abs() < 0.011, "{p100}");
    }

    #[test]
    fn bounds_are_powers_of_two_to_the_thirty_second() {
        for (i, bound) in BOUNDS.iter().enumerate() {
            let expected = 2f64.powf(i as f64 / 32.0);
            let got = 1.0 + *bound as f64 / (1u64 << 52) as f64;
            assert!(
                (got - expected).abs() < 1e-12,
                "bound {i}: {got} vs {expected}"
            );
        }
    }

    #[test]
    fn every_value_lands_in_the_bucket_whose_bounds_contain_it() {
        let mut v = MIN_VALUE * 1.0001;
        while v < 1e18 {
            match slot(v) {
                Slot::Bucket(o, s) => {
                    let i = o * BUCKETS_PER_OCTAVE + s;
                    assert!(
                        lower_bound(i) < v && v <= upper_bound(i),
                        "{v} in bucket {i}"
                    );
                }
                other => panic!("{v} went to {other:?}"),
            }
            v *= 1.003_7;
        }
    }

    #[test]
    fn bucket_edges_are_upper_inclusive() {
        for i in [0usize, 31, 32, 100, 1000, 2000] {
            let hi = upper_bound(i);
            match slot(hi) {
                Slot::Bucket(o, s) => assert_eq!(o * 32 + s, i, "upper bound of {i}"),
                other => panic!("{other:?}"),
            }
        }
        // An exact power of two closes the octave below it.
        assert_eq!(slot(1.0), Slot::Bucket((-1 - MIN_EXP) as usize, 31));
    }

    #[test]
    fn cumulative_counts_are_count_le_at_every_bound() {
        let mut values = vec![0.0, 0.0];
        let mut v = 1e-7;
        while v < 1e7 {
            values.push(v);
            v *= 1.37;
        }
        values.extend([0.005, 0.0049, 0.0051, 1.0, f64::INFINITY]);
        let mut store = from_values(values);
        let boundses: [&[f64]; 5] = [
            FUNCTION_CALL_BUCKETS,
            &[],
            &[-1.0, 0.0, 1e-9, 0.005, 0.005, 2.5, 1e6, f64::INFINITY],
            // Not increasing: each bound out of order is counted on its own.
            &[10.0, 0.1, 1.0, f64::NAN, 0.5, 100.0],
            &[f64::NEG_INFINITY, 1e-12, 1e12],
        ];
        for scale in [1.0, 1e-9] {
            store.scale = scale;
            for bounds in boundses {
                let expected: Vec<(f64, u64)> =
                    bounds.iter().map(|&le| (le, store.count_le(le))).collect();
                let got: Vec<(f64, u64)> = store.cumulative(bounds).collect();
                assert_eq!(
                    format!("{got:?}"),
                    format!("{expected:?}"),
                    "bounds {bounds:?} at scale {scale}"
                );
            }
        }
        // Cleared, the store counts nothing and keeps its allocation.
        let capacity = store.buckets.capacity();
        store.clear();
        assert_eq!((store.count(), store.sum), (0, 0.0));
        assert_eq!(store.buckets.capacity(), capacity);
        assert!(store.cumulative(FUNCTION_CALL_BUCKETS).all(|(_, n)| n == 0));
    }

    #[test]
    fn merging_stores_of_different_units_rebuckets_by_value() {
        let seconds = from_values([0.001, 0.002, 0.004]);
        // The same three observations counted in a unit of 1/1000 s.
        let mut millis = from_values([1.0, 2.0, 4.0]);
        millis.scale = 0.001;
        millis.sum *= 0.001;
        let mut merged = seconds.clone();
        merged.merge(&millis);
        assert_eq!(merged.count(), 6);
        assert!((merged.sum - 0.014).abs() < 1e-12, "{}", merged.sum);
        // Every observation still counts on its side of 1.5 ms and 3 ms.
        assert_eq!(merged.count_le(0.0015), 2);
        assert_eq!(merged.count_le(0.003), 4);
        for q in [0.2, 0.5, 0.9] {
            let (a, b) = (seconds.quantile(q).unwrap(), merged.quantile(q).unwrap());
            assert!((a - b).abs() / a < 0.025, "q{q}: {a} vs {b}");
        }
        // Merging into an empty store takes the other's unit as it is.
        let mut empty = ExpBuckets::default();
        empty.merge(&millis);
        assert_eq!(empty, millis);
    }

    #[test]
    fn special_values() {
        assert_eq!(slot(0.0), Slot::Zero);
        assert_eq!(slot(1e-300), Slot::Zero);
        assert_eq!(slot(f64::INFINITY), Slot::Overflow);
        assert_eq!(slot(1e30), Slot::Overflow);
        assert_eq!(slot(-1.0), Slot::Ignore);
        assert_eq!(slot(f64::NAN), Slot::Ignore);
        let h = from_values([0.0, f64::INFINITY, -3.0, f64::NAN, 2.5]);
        assert_eq!(h.count(), 3);
        assert_eq!(h.count_le(0.0), 1);
        assert_eq!(h.count_le(2.4), 1);
        assert_eq!(h.count_le(2.6), 2);
        assert_eq!(h.count_le(f64::INFINITY), 3);
    }

    /// A small deterministic generator (xorshift64*) for log-normal samples.
    fn lognormal_samples(n: usize, mu: f64, sigma: f64) -> Vec<f64> {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut uniform = move || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            ((state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| {
                let (u1, u2) = (uniform(), uniform());
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                (mu + sigma * z).exp()
            })
            .collect()
    }

    #[test]
    fn quantiles_are_within_two_percent_on_lognormal_samples() {
        // Latencies around 2 ms with a long tail.
        let mut samples = lognormal_samples(100_000, (2e-3f64).ln(), 1.2);
        let h = from_values(samples.iter().copied());
        samples.sort_by(f64::total_cmp);
        for q in [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0] {
            let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            let exact = samples[rank - 1];
            let est = h.quantile(q).unwrap();
            let err = (est - exact).abs() / exact;
            assert!(
                err < 0.011,
                "q={q}: estimate {est} vs exact {exact} ({:.3} %)",
                err * 100.0
            );
        }
        let exact_sum: f64 = samples.iter().sum();
        assert!((h.sum - exact_sum).abs() / exact_sum < 1e-9);
        assert_eq!(h.count(), 100_000);
    }

    #[test]
    fn classic_buckets_from_the_store_are_cumulative_and_close() {
        let samples = lognormal_samples(50_000, 0.0, 1.0);
        let h = from_values(samples.iter().copied());
        let mut last = 0;
        for le in [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0] {
            let got = h.count_le(le);
            assert!(got >= last);
            last = got;
            let exact = samples.iter().filter(|&&v| v <= le).count() as f64;
            // Only observations within one bucket width of `le` can be misplaced.
            let near = samples
                .iter()
                .filter(|&&v| (v / le - 1.0).abs() < 0.022)
                .count() as f64;
            assert!(
                (got as f64 - exact).abs() <= near,
                "le={le}: {got} vs {exact}"
            );
        }
    }

    #[test]
    fn tick_stores_scale_to_seconds_when_read() {
        let cells = HistogramCells::new();
        for ticks in [0u64, 1_000, 2_000, 4_000_000] {
            cells.record_ticks_in(0, ticks);
        }
        let h = cells.read_ticks();
        let s = crate::store::clock::seconds_per_tick();
        assert_eq!(h.min, Some(0.0));
        assert_eq!(h.max, Some(4_000_000.0 * s));
        assert_eq!(h.count(), 4);
        assert_eq!(h.zero, 1);
        assert!((h.sum - 4_003_000.0 * s).abs() <= 1e-9 * h.sum);
        let p100 = h.quantile(1.0).unwrap();
        assert!((p100 / (4_000_000.0 * s) - 1.0).abs() < 0.011, "{p100}");
        assert_eq!(h.count_le(1_500.0 * s), 2);
        assert_eq!(h.count_le(f64::INFINITY), 4);
    }

    #[test]
    fn reads_during_tick_records_never_go_backwards_and_end_exact() {
        static CELLS: HistogramCells = HistogramCells::new();
        const N: u64 = 2_000_000;
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                for i in 0..N {
                    CELLS.record_ticks_in(shard::current(), 1 + i % 5_000);
                }
                done.store(true, std::sync::atomic::Ordering::Release);
            });
            s.spawn(|| {
                let mut last = 0;
                let mut last_le = 0;
                while !done.load(std::sync::atomic::Ordering::Acquire) {
                    let h = CELLS.read_ticks();
                    let (count, le) = (h.count(), h.count_le(2_500.0 * h.scale));
                    assert!(count >= last, "count went back from {last} to {count}");
                    assert!(le >= last_le, "bucket went back from {last_le} to {le}");
                    assert!(count <= N);
                    (last, last_le) = (count, le);
                }
            });
        });
        let h = CELLS.read_ticks();
        assert_eq!(h.count(), N);
        let exact_sum: u64 = (0..N).map(|i| 1 + i % 5_000).sum();
        assert!((h.sum / h.scale - exact_sum as f64).abs() < 1e-6 * exact_sum as f64);
    }

    #[test]
    fn memory_grows_with_octaves_used() {
        let cells = HistogramCells::new();
        assert_eq!(cells.heap_bytes(), 0);
        cells.record(0.003);
        let one = cells.heap_bytes();
        cells.record(0.0031);
        assert_eq!(cells.heap_bytes(), one, "same octave, no new block");
        // 0.003 is in octave 2^-9 (number 31), 0.0015 in 2^-10 (30): same group.
        cells.record(0.0015);
        assert_eq!(cells.heap_bytes(), one + std::mem::size_of::<Octave>());
        // 0.006 is in octave 2^-8 (32): another group.
        cells.record(0.006);
        assert_eq!(
            cells.heap_bytes(),
            one + 2 * std::mem::size_of::<Octave>() + std::mem::size_of::<Group>()
        );
        assert_eq!(std::mem::size_of::<HistShard>(), 128);
    }
}
