//! What runs once, before the first collection or the first recording of
//! any metric: the [`Starter`]s submitted with `inventory` (the backend
//! module's chooses the backend `TELLTALE_BACKEND` names).

use std::cell::Cell;
use std::sync::atomic::{AtomicU8, Ordering};

/// Code run once, before the first collection or recording (submitted with
/// `inventory`). It must not collect or record on its own thread.
#[doc(hidden)]
#[derive(Debug)]
pub(crate) struct Starter(pub(crate) fn());

inventory::collect!(Starter);

/// 0: the starters have not run; 1: they are running; 2: they have run.
static STATE: AtomicU8 = AtomicU8::new(0);

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
