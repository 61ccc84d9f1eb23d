//! The last flush, when the process exits normally (returning from `main`
//! or calling `std::process::exit`).

#[cfg(any(feature = "backend-file", feature = "backend-redis"))]
use crate::backend::delegate;

/// Flushes the running backend once more when the process exits.
#[cfg(any(feature = "backend-file", feature = "backend-redis"))]
pub(crate) fn flush_at_exit() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    #[cfg(unix)]
    ONCE.call_once(|| {
        extern "C" {
            fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
        }
        // SAFETY: `atexit` from the C library, given a function that lives
        // as long as the program and does not unwind (it catches panics).
        unsafe {
            atexit(at_exit);
        }
    });
    #[cfg(not(unix))]
    ONCE.call_once(|| {});
}

#[cfg(all(unix, any(feature = "backend-file", feature = "backend-redis")))]
extern "C" fn at_exit() {
    let _ = std::panic::catch_unwind(|| {
        if let Some(store) = delegate::store() {
            let _ = store.flush();
        }
    });
}

/// Writes this process's values to the backend now: call it before a
/// process ends in a way that skips exit handlers (`abort`, a signal),
/// or to make its values visible at once. Does nothing with the
/// single-process backend.
///
/// # Errors
///
/// [`Error::Backend`](crate::Error::Backend) when the write fails (the
/// values are kept and written again at the next flush).
pub fn flush() -> Result<(), crate::error::Error> {
    #[cfg(any(feature = "backend-file", feature = "backend-redis"))]
    if let Some(store) = delegate::store() {
        return store.flush();
    }
    Ok(())
}
