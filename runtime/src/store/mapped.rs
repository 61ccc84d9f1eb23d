//! Memory that outlives the process: where a backend that maps a file
//! (the file backend) lets the store place the cells of a metric it keeps,
//! so that they are in the page cache, not in the process.

use std::sync::OnceLock;

/// Zeroed memory that stays for the rest of the process.
pub(crate) trait Mapped: Send + Sync + std::fmt::Debug {
    /// `bytes` of it aligned to `align` (a power of two, at most a page),
    /// or `None` when there is no more.
    fn alloc(&self, bytes: usize, align: usize) -> Option<std::ptr::NonNull<u8>>;
}

static MAPPED: OnceLock<&'static dyn Mapped> = OnceLock::new();

/// Makes `m` where mapped cells come from (once; later calls are ignored).
#[cfg_attr(not(feature = "backend-file"), allow(dead_code))]
pub(crate) fn install(m: &'static dyn Mapped) {
    let _ = MAPPED.set(m);
}

/// Room for a `T`, zeroed, for the rest of the process; `None` without
/// mapped memory or when it is full.
pub(crate) fn alloc<T>() -> Option<*mut T> {
    const { assert!(std::mem::align_of::<T>() <= 4096) };
    let m = MAPPED.get()?;
    m.alloc(std::mem::size_of::<T>(), std::mem::align_of::<T>())
        .map(|p| p.as_ptr().cast::<T>())
}

/// `n` zeroed words for the rest of the process; `None` as for [`alloc`].
pub(crate) fn words(n: usize) -> Option<&'static [std::sync::atomic::AtomicU64]> {
    let m = MAPPED.get()?;
    let p = m.alloc(n.max(1) * 8, 8)?;
    // SAFETY: `n` zeroed, aligned words that nothing else uses and that
    // stay mapped for the rest of the process; zero is a valid `AtomicU64`.
    Some(unsafe { std::slice::from_raw_parts(p.as_ptr().cast(), n) })
}

/// `bytes` zeroed bytes aligned to `align`; `None` as for [`alloc`].
pub(crate) fn bytes(bytes: usize, align: usize) -> Option<*mut u8> {
    let m = MAPPED.get()?;
    m.alloc(bytes.max(1), align).map(std::ptr::NonNull::as_ptr)
}
