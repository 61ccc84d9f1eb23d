//! The file backend: one file per process in a shared directory, an
//! archive of exited processes, compaction.

mod arena;
mod dir;
mod format;
mod store;

pub(crate) use arena::Arena;
pub use dir::Compaction;
pub(crate) use store::{arena, start};
pub use store::{compact, compact_directory, read_directory, DirectoryRead};
