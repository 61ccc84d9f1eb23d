//! The recent failures: the last [`RECENT_FAILURES`] failed calls, whatever
//! recorded them (`#[tracked]` functions, timers, the tracker API), with the
//! metadata the caller attached where there is some.
//!
//! A `#[tracked]` call that fails writes one entry into a ring of its
//! thread's shard without a lock or an allocation: the operation's and the
//! error kind's names are `&'static str`s, and the time is the clock reading
//! the call's duration was taken from. The owner of a shard is its only
//! writer; threads sharing the last shard claim a slot with a
//! compare-and-swap and, when another thread is writing it at that instant,
//! leave that one failure out of the list (it is still counted). Failures
//! recorded through the API with metadata (owned strings) go into one
//! bounded list under a lock. [`recent_failures`] merges both by time.

use std::collections::VecDeque;
use std::sync::atomic::{fence, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::store::{clock, shard};

/// How many recent failures [`recent_failures`] keeps.
pub const RECENT_FAILURES: usize = 256;

/// One recorded failure.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The operation (the `function` label: `fetch`, `Type::method`, or the
    /// name given to a timer or the tracker).
    pub operation: String,
    /// Its error kind (the `error` label).
    pub kind: String,
    /// When it was recorded.
    pub at: SystemTime,
    /// What the caller attached (a timer's `with_metadata`, the tracker's
    /// metadata); empty for a `#[tracked]` call.
    pub metadata: Vec<(String, String)>,
}

// ----- calls: a lock-free ring per shard ------------------------------------------------------

/// One entry: `seq` is odd while it is written, else `2 * (position + 1)`
/// (0: never written).
struct Slot {
    seq: AtomicU64,
    op: AtomicPtr<u8>,
    op_len: AtomicUsize,
    kind: AtomicPtr<u8>,
    /// The kind's length, shifted left by one; the low bit marks a type
    /// name (shortened when read).
    kind_len: AtomicUsize,
    ticks: AtomicU64,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            seq: AtomicU64::new(0),
            op: AtomicPtr::new(std::ptr::null_mut()),
            op_len: AtomicUsize::new(0),
            kind: AtomicPtr::new(std::ptr::null_mut()),
            kind_len: AtomicUsize::new(0),
            ticks: AtomicU64::new(0),
        }
    }
}

#[repr(align(64))]
struct Ring {
    head: AtomicU64,
    slots: [Slot; RECENT_FAILURES],
}

static RINGS: [Ring; shard::SHARDS] = [const {
    Ring {
        head: AtomicU64::new(0),
        slots: [const { Slot::new() }; RECENT_FAILURES],
    }
}; shard::SHARDS];

/// Lists a failed instrumented call: `operation` failed with the error kind
/// `kind` (a type name to shorten when `type_name`) at clock reading `ticks`,
/// on a thread writing to `shard`.
#[inline]
pub(crate) fn push_call(
    shard: usize,
    operation: &'static str,
    kind: &'static str,
    type_name: bool,
    ticks: u64,
) {
    let Some(ring) = RINGS.get(shard) else {
        return;
    };
    let (position, slot) = if shard == shard::SHARED {
        let position = ring.head.fetch_add(1, Ordering::Relaxed);
        let slot = &ring.slots[(position % RECENT_FAILURES as u64) as usize];
        let before = slot.seq.load(Ordering::Relaxed);
        if before % 2 == 1
            || slot
                .seq
                .compare_exchange(
                    before,
                    2 * position + 1,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            return; // another thread is writing this slot
        }
        (position, slot)
    } else {
        // The shard's owner is its only writer.
        let position = ring.head.load(Ordering::Relaxed);
        ring.head.store(position + 1, Ordering::Relaxed);
        let slot = &ring.slots[(position % RECENT_FAILURES as u64) as usize];
        slot.seq.store(2 * position + 1, Ordering::Relaxed);
        (position, slot)
    };
    // Readers that see any field written below see `seq` odd (or changed).
    fence(Ordering::Release);
    slot.op
        .store(operation.as_ptr().cast_mut(), Ordering::Relaxed);
    slot.op_len.store(operation.len(), Ordering::Relaxed);
    slot.kind.store(kind.as_ptr().cast_mut(), Ordering::Relaxed);
    slot.kind_len
        .store(kind.len() << 1 | usize::from(type_name), Ordering::Relaxed);
    slot.ticks.store(ticks, Ordering::Relaxed);
    slot.seq.store(2 * position + 2, Ordering::Release);
}

/// A `&'static str` rebuilt from the parts a slot holds.
///
/// # Safety
/// `ptr` and `len` were read from one consistent write of a `&'static str`.
unsafe fn static_str(ptr: *mut u8, len: usize) -> &'static str {
    // SAFETY: the caller's guarantee: these are the parts of a string that
    // lives for the program.
    unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(ptr, len)) }
}

/// Every complete entry of the rings: (clock reading, operation, kind,
/// whether the kind is a type name).
fn calls() -> Vec<(u64, &'static str, &'static str, bool)> {
    let mut out = Vec::new();
    for ring in &RINGS {
        for slot in &ring.slots {
            let before = slot.seq.load(Ordering::Acquire);
            if before == 0 || before % 2 == 1 {
                continue;
            }
            let op = slot.op.load(Ordering::Relaxed);
            let op_len = slot.op_len.load(Ordering::Relaxed);
            let kind = slot.kind.load(Ordering::Relaxed);
            let kind_len = slot.kind_len.load(Ordering::Relaxed);
            let ticks = slot.ticks.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if slot.seq.load(Ordering::Relaxed) != before || op.is_null() || kind.is_null() {
                continue; // rewritten while read
            }
            // SAFETY: `seq` was even and unchanged around the reads, so they
            // are all of one write, of two `&'static str`s.
            let (op, kind) = unsafe { (static_str(op, op_len), static_str(kind, kind_len >> 1)) };
            out.push((ticks, op, kind, kind_len & 1 == 1));
        }
    }
    out
}

// ----- the API's failures, with their metadata -------------------------------------------------

static REPORTED: Mutex<VecDeque<Failure>> = Mutex::new(VecDeque::new());

/// Lists a failure recorded through the API (a timer, the tracker), with its
/// metadata.
pub(crate) fn push_reported(operation: &str, kind: &str, metadata: Vec<(String, String)>) {
    let mut recent = REPORTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if recent.len() == RECENT_FAILURES {
        recent.pop_front();
    }
    recent.push_back(Failure {
        operation: operation.to_owned(),
        kind: kind.to_owned(),
        at: SystemTime::now(),
        metadata,
    });
}

/// The most recent failures, oldest first (at most [`RECENT_FAILURES`]):
/// failed `#[tracked]` calls (their panics too), failed timers and the
/// tracker's failures.
pub fn recent_failures() -> Vec<Failure> {
    let (now, now_ticks) = (SystemTime::now(), clock::now());
    let mut all: Vec<Failure> = calls()
        .into_iter()
        .map(|(ticks, op, kind, type_name)| Failure {
            operation: op.to_owned(),
            kind: if type_name {
                crate::metric::labels::readable_type_name(kind)
            } else {
                kind.to_owned()
            },
            at: now
                .checked_sub(Duration::from_nanos(clock::nanos_between(ticks, now_ticks)))
                .unwrap_or(now),
            metadata: Vec::new(),
        })
        .collect();
    all.extend(
        REPORTED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .cloned(),
    );
    all.sort_by_key(|f| f.at);
    let skip = all.len().saturating_sub(RECENT_FAILURES);
    all.drain(..skip);
    all
}
