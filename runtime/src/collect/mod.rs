pub(crate) mod registry;
pub(crate) mod shared;
pub mod snapshot;
pub(crate) mod visit;
