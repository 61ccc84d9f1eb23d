//! What a multi-process backend puts in a collection in place of the
//! shared metrics: their values merged over every process.

use std::sync::OnceLock;

use crate::backend::part::{self, PartFamily};
use crate::collect::registry as shared;
use crate::collect::registry::{Collect, Sink};
use crate::collect::snapshot::Snapshot;
use crate::error::Error;

/// A running multi-process backend.
pub(crate) trait Store: Send + Sync + 'static {
    /// Every process's shared families merged, this process's own taken
    /// from `local` (read now, fresher than what it last wrote).
    fn merged(&self, local: &Snapshot) -> Vec<PartFamily>;
    /// Writes this process's values now.
    fn flush(&self) -> Result<(), Error>;
}

static STORE: OnceLock<&'static dyn Store> = OnceLock::new();

/// Makes `store` the backend of every shared metric from now on.
pub(crate) fn install(store: &'static dyn Store) {
    if STORE.set(store).is_ok() {
        shared::delegate(&DELEGATE);
    }
}

/// The running backend, if one is.
pub(crate) fn store() -> Option<&'static dyn Store> {
    STORE.get().copied()
}

#[derive(Debug)]
struct Delegate;

static DELEGATE: Delegate = Delegate;

impl Collect for Delegate {
    fn shared(&self) -> bool {
        false
    }

    fn collect(&'static self, out: &mut Sink) {
        let local = shared::collect_shared();
        if let Some(store) = store() {
            part::push_into(&store.merged(&local), out);
        }
        part::push_local(&local, out);
    }
}
