//! Which shard of a cell the calling thread writes to.
//!
//! Every cell is split into [`SHARDS`] cache-line-aligned shards. The first
//! [`SHARED`] shard indices are *owned*: a thread takes one from a pool the
//! first time it records and gives it back when it exits, and while it holds
//! it no other thread writes to that shard, so an update is a plain relaxed
//! load and store instead of a locked read-modify-write. Threads beyond the
//! pool's size share the last shard and update it with `fetch_add`. Either
//! way no update is ever lost; readers sum all shards.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// Number of shards of every sharded cell (a power of two).
pub(crate) const SHARDS: usize = 8;
/// Index of the shard that threads without an owned shard share.
pub(crate) const SHARED: usize = SHARDS - 1;

const UNASSIGNED: usize = usize::MAX;

/// Owned shard indices that exited threads gave back.
static FREE: Mutex<Vec<usize>> = Mutex::new(Vec::new());
/// Owned shard indices never handed out yet.
static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

thread_local! {
    static SLOT: Cell<usize> = const { Cell::new(UNASSIGNED) };
    static RELEASE: Release = const { Release };
}

/// Gives the thread's owned shard back to the pool when the thread exits.
struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        let slot = SLOT.try_with(|s| s.replace(SHARED)).unwrap_or(SHARED);
        if slot < SHARED {
            if let Ok(mut free) = FREE.lock() {
                free.push(slot);
            }
        }
    }
}

/// The calling thread's shard index.
#[inline]
pub(crate) fn current() -> usize {
    // `try_with`: during thread teardown on targets without native thread
    // locals the slot may be gone; the shared shard is always safe.
    let slot = SLOT.try_with(Cell::get).unwrap_or(SHARED);
    if slot == UNASSIGNED {
        assign()
    } else {
        slot
    }
}

#[cold]
fn assign() -> usize {
    // Only take an owned shard when the thread can give it back at exit.
    let slot = if RELEASE.try_with(|_| ()).is_ok() {
        take_owned().unwrap_or(SHARED)
    } else {
        SHARED
    };
    let _ = SLOT.try_with(|s| s.set(slot));
    slot
}

fn take_owned() -> Option<usize> {
    if let Some(slot) = FREE.lock().ok().and_then(|mut f| f.pop()) {
        return Some(slot);
    }
    let slot = NEXT.fetch_add(1, Relaxed);
    if slot < SHARED {
        Some(slot)
    } else {
        NEXT.store(SHARED, Relaxed);
        None
    }
}

/// Adds `v` to `cell`, which is shard `shard` of its cell.
#[inline]
pub(crate) fn add(cell: &AtomicU64, shard: usize, v: u64) {
    if shard < SHARED {
        // Owned shard: this thread is its only writer.
        cell.store(cell.load(Relaxed).wrapping_add(v), Relaxed);
    } else {
        cell.fetch_add(v, Relaxed);
    }
}

/// Adds `v` to the `f64` stored as bits in `cell`.
#[inline]
pub(crate) fn add_f64(cell: &AtomicU64, shard: usize, v: f64) {
    if shard < SHARED {
        let old = f64::from_bits(cell.load(Relaxed));
        cell.store((old + v).to_bits(), Relaxed);
    } else {
        let mut cur = cell.load(Relaxed);
        loop {
            let new = (f64::from_bits(cur) + v).to_bits();
            match cell.compare_exchange_weak(cur, new, Relaxed, Relaxed) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
    }
}

/// A `u64` padded to its own cache line.
#[derive(Debug, Default)]
#[repr(C, align(64))]
pub(crate) struct Padded(pub(crate) AtomicU64);

/// A counter split into [`SHARDS`] cache-line-aligned shards (laid out as
/// the shards alone, which the file backend's mapped cells rely on).
#[derive(Debug)]
#[repr(C)]
pub(crate) struct ShardedU64 {
    shards: [Padded; SHARDS],
}

impl ShardedU64 {
    pub(crate) const fn new() -> Self {
        ShardedU64 {
            shards: [const { Padded(AtomicU64::new(0)) }; SHARDS],
        }
    }

    #[inline]
    pub(crate) fn add(&self, v: u64) {
        let shard = current();
        // `shard` is always < SHARDS; `get` keeps the hot path panic-free.
        if let Some(cell) = self.shards.get(shard & (SHARDS - 1)) {
            add(&cell.0, shard, v);
        }
    }

    pub(crate) fn sum(&self) -> u64 {
        self.shards
            .iter()
            .fold(0u64, |acc, s| acc.wrapping_add(s.0.load(Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_threads_never_share_an_owned_shard_and_exited_ones_give_it_back() {
        // Threads alive at once: each owned shard has at most one of them.
        let barrier = std::sync::Barrier::new(10);
        let slots: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..10)
                .map(|_| {
                    s.spawn(|| {
                        let slot = current();
                        assert_eq!(slot, current(), "a thread keeps its shard");
                        barrier.wait();
                        slot
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let owned: Vec<usize> = slots.iter().copied().filter(|&s| s < SHARED).collect();
        let mut distinct = owned.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            owned.len(),
            "owned shards are exclusive: {slots:?}"
        );
        assert!(slots.iter().all(|&s| s < SHARDS));
        // All ten exited: a new thread gets an owned shard again (other tests
        // may hold some, never all seven for long).
        let again = std::thread::spawn(current).join().unwrap();
        assert!(again < SHARDS);
    }

    #[test]
    fn no_update_is_lost_with_more_threads_than_shards() {
        static C: ShardedU64 = ShardedU64::new();
        let threads = SHARDS * 2;
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for _ in 0..100_000 {
                        C.add(1);
                    }
                });
            }
        });
        assert_eq!(C.sum(), threads as u64 * 100_000);
    }
}
