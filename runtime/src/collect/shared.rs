//! The seam through which a multi-process backend takes over the metrics
//! that processes share.
//!
//! Every metric is *shared* unless its [`Collect::shared`] says otherwise:
//! a user's counters, gauges, histograms, families, callsites and dynamic
//! metrics are; telltale's own `telltale_*` self-metrics, process resources,
//! source batches and aggregation outputs describe one process and are not.
//! With the single-process backend (the default) nothing here is used. A
//! backend installs a *delegate*: collection then skips the shared metrics
//! and collects the delegate in their place, which writes them merged over
//! every process, reading this process's own part with [`collect_shared`].
//!
//! The backend is chosen on first use: the first collection or the first
//! recording of any metric runs the [`Starter`]s submitted with `inventory`
//! (the backend module's reads `TELLTALE_BACKEND`), once.

use std::cell::Cell;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use crate::collect::registry::Collect;

/// Code run once, before the first collection or recording (submitted with
/// `inventory`). It must not collect or record on its own thread.
#[doc(hidden)]
#[derive(Debug)]
pub(crate) struct Starter(pub(crate) fn());

inventory::collect!(Starter);

/// 0: the starters have not run; 1: they are running; 2: they have run.
static STATE: AtomicU8 = AtomicU8::new(0);
static DELEGATE: OnceLock<&'static dyn Collect> = OnceLock::new();

thread_local! {
    /// Set on the thread running the starters, whose own collections and
    /// registrations (a backend writing its first file) must not wait for
    /// themselves.
    static STARTING: Cell<bool> = const { Cell::new(false) };
}

/// Runs every [`Starter`] once (a cheap check after the first call);
/// other threads wait until they have run.
#[inline]
pub(crate) fn start() {
    if STATE.load(Ordering::Acquire) != 2 {
        start_now();
    }
}

#[cold]
fn start_now() {
    if STARTING.try_with(Cell::get).unwrap_or(false) {
        return;
    }
    if STATE
        .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        let _ = STARTING.try_with(|s| s.set(true));
        for starter in inventory::iter::<Starter> {
            // A starter that panics must not leave the others waiting.
            let _ = std::panic::catch_unwind(starter.0);
        }
        let _ = STARTING.try_with(|s| s.set(false));
        STATE.store(2, Ordering::Release);
    } else {
        while STATE.load(Ordering::Acquire) != 2 {
            std::thread::yield_now();
        }
    }
}

/// Makes `delegate` collect the shared metrics from now on. Only the first
/// call takes effect; returns whether this one did.
#[cfg(any(feature = "backend-file", feature = "backend-redis"))]
pub(crate) fn delegate(delegate: &'static dyn Collect) -> bool {
    DELEGATE.set(delegate).is_ok()
}

/// The delegate, when a backend installed one.
pub(crate) fn delegated() -> Option<&'static dyn Collect> {
    DELEGATE.get().copied()
}

/// This process's shared metrics alone, as the single-process backend
/// would collect them (what a backend stores and merges).
#[cfg(any(feature = "backend-file", feature = "backend-redis"))]
pub(crate) fn collect_shared() -> crate::collect::snapshot::Snapshot {
    let mut sink = crate::collect::registry::Sink::default();
    crate::collect::registry::each_shared(|metric| metric.collect(&mut sink));
    sink.finish()
}
