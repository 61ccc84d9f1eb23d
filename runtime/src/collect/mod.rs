pub(crate) mod registry;
pub mod snapshot;
pub(crate) mod start;
pub(crate) mod visit;
