//! Cells a metric takes from the backend instead of keeping them in the
//! process: with the file backend running, the cells of a metric first
//! used from then on live in this process's mapped file, described there
//! so other processes can read them, and a process killed with `kill -9`
//! loses none of its updates. Otherwise (no such backend, or the file
//! full) the metric keeps its own cells.

use crate::backend::cells::{Describe, GaugeLine};
use crate::store::histogram::ShardSlots;
use crate::store::shard::ShardedU64;

/// Cells for a counter, from the running file backend.
pub(crate) fn counter(what: &Describe<'_>) -> Option<&'static ShardedU64> {
    #[cfg(feature = "backend-file")]
    {
        crate::backend::file::arena().and_then(|a| a.counter(what))
    }
    #[cfg(not(feature = "backend-file"))]
    {
        let _ = what;
        None
    }
}

/// A line for a gauge (`int`: an `i64` one), from the running file
/// backend.
pub(crate) fn gauge(what: &Describe<'_>, int: bool) -> Option<&'static GaugeLine> {
    #[cfg(feature = "backend-file")]
    {
        crate::backend::file::arena().and_then(|a| a.gauge(what, int))
    }
    #[cfg(not(feature = "backend-file"))]
    {
        let _ = (what, int);
        None
    }
}

/// Slots for a histogram's shards, from the running file backend (the
/// shards and their blocks then come from its file too).
pub(crate) fn histogram(what: &Describe<'_>) -> Option<&'static ShardSlots> {
    #[cfg(feature = "backend-file")]
    {
        crate::backend::file::arena().and_then(|a| a.histogram(what))
    }
    #[cfg(not(feature = "backend-file"))]
    {
        let _ = what;
        None
    }
}

/// Whether the running file backend keeps cells for this process (so a
/// structure holding cells may go in [`store::mapped`](crate::store::mapped)
/// memory and be described with [`sum_of`]).
pub(crate) fn active() -> bool {
    #[cfg(feature = "backend-file")]
    {
        crate::backend::file::arena().is_some_and(crate::backend::file::Arena::owned_here)
    }
    #[cfg(not(feature = "backend-file"))]
    {
        false
    }
}

/// Describes a counter (`gauge`: a gauge summed as `i64`s) whose value is
/// the sum of `n` words from `from`, `stride` bytes apart, in mapped
/// memory. `false` when it could not be described (the series then must
/// keep its cells in the process).
pub(crate) fn sum_of(
    what: &Describe<'_>,
    gauge: bool,
    from: &std::sync::atomic::AtomicU64,
    stride: usize,
    n: usize,
) -> bool {
    #[cfg(feature = "backend-file")]
    {
        crate::backend::file::arena().is_some_and(|a| a.sum_of(what, gauge, from, stride, n))
    }
    #[cfg(not(feature = "backend-file"))]
    {
        let _ = (what, gauge, from, stride, n);
        false
    }
}

/// Describes a gauge whose `f64` is at `cell` in mapped memory, left out
/// while its bits are `unset`.
pub(crate) fn gauge_at(
    what: &Describe<'_>,
    cell: &std::sync::atomic::AtomicU64,
    unset: u64,
) -> bool {
    #[cfg(feature = "backend-file")]
    {
        crate::backend::file::arena().is_some_and(|a| a.gauge_at(what, cell, unset))
    }
    #[cfg(not(feature = "backend-file"))]
    {
        let _ = (what, cell, unset);
        false
    }
}

/// Describes a histogram whose `n` shard slots are at `from` in mapped
/// memory, `stride` bytes apart.
pub(crate) fn histogram_at(
    what: &Describe<'_>,
    from: &std::sync::atomic::AtomicPtr<crate::store::histogram::HistShard>,
    stride: usize,
    n: usize,
) -> bool {
    #[cfg(feature = "backend-file")]
    {
        crate::backend::file::arena().is_some_and(|a| a.histogram_at(what, from, stride, n))
    }
    #[cfg(not(feature = "backend-file"))]
    {
        let _ = (what, from, stride, n);
        false
    }
}
