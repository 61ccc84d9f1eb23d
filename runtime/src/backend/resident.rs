//! Cells a metric takes from the backend instead of keeping them in the
//! process: with the file backend running, the cells of a metric
//! registered from then on live in this process's mapped file, so that a
//! process killed with `kill -9` loses none of its updates. Otherwise (no
//! such backend, or the file full) the metric keeps its own cells.

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
