//! Publishing lazily allocated storage: the first of several racing threads
//! stores its allocation; the others free theirs and use the winner's.
//! Published storage is never freed before its owner.

use std::sync::atomic::{AtomicPtr, Ordering};

/// Publishes `fresh` into the empty `ptr`, or frees it if another thread
/// published first. Returns the published pointer and whether it is `fresh`.
#[cold]
pub(crate) fn publish<T>(ptr: &AtomicPtr<T>, fresh: Box<T>) -> (*mut T, bool) {
    let fresh = Box::into_raw(fresh);
    match ptr.compare_exchange(
        std::ptr::null_mut(),
        fresh,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => (fresh, true),
        Err(existing) => {
            // SAFETY: `fresh` came from `Box::into_raw` just above and was never published.
            drop(unsafe { Box::from_raw(fresh) });
            (existing, false)
        }
    }
}

/// [`publish`] for a slice: `ptr` points to its first element. The length
/// is the box's own, so the loser is freed with exactly the layout it had.
#[cold]
pub(crate) fn publish_slice<T>(ptr: &AtomicPtr<T>, fresh: Box<[T]>) -> *mut T {
    let len = fresh.len();
    let fresh = Box::into_raw(fresh).cast::<T>();
    match ptr.compare_exchange(
        std::ptr::null_mut(),
        fresh,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => fresh,
        Err(existing) => {
            // SAFETY: `fresh` is the start of a boxed slice of `len` elements
            // made just above and never published.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(fresh, len)) });
            existing
        }
    }
}

/// Publishes `placed` (memory that is never freed: a mapped file's) into
/// the empty `ptr`, or returns the one published first (`placed` then
/// stays unused where it is).
#[cold]
pub(crate) fn publish_placed<T>(ptr: &AtomicPtr<T>, placed: *mut T) -> *mut T {
    match ptr.compare_exchange(
        std::ptr::null_mut(),
        placed,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => placed,
        Err(existing) => existing,
    }
}

/// [`publish_placed`] for what was placed, else [`publish`] for what was
/// not (given back to go on the heap).
pub(crate) fn publish_either<T>(ptr: &AtomicPtr<T>, placed: Result<*mut T, T>) -> *mut T {
    match placed {
        Ok(p) => publish_placed(ptr, p),
        Err(fresh) => publish(ptr, Box::new(fresh)).0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_publication_wins_and_later_ones_are_freed() {
        let ptr = AtomicPtr::new(std::ptr::null_mut());
        let (a, won_a) = publish(&ptr, Box::new(1u32));
        let (b, won_b) = publish(&ptr, Box::new(2u32));
        assert!(won_a && !won_b);
        assert_eq!(a, b);
        // SAFETY: published above; freed here once, at the end of the test.
        assert_eq!(*unsafe { Box::from_raw(a) }, 1);

        let ptr = AtomicPtr::new(std::ptr::null_mut());
        let a = publish_slice(&ptr, vec![7u8; 3].into_boxed_slice());
        let b = publish_slice(&ptr, vec![9u8; 5].into_boxed_slice());
        assert_eq!(a, b);
        // SAFETY: as above, with the winner's length.
        let first = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(a, 3)) };
        assert_eq!(&*first, &[7, 7, 7]);
    }
}
