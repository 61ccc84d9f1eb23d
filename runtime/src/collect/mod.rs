pub(crate) mod registry;
pub mod snapshot;
pub(crate) mod visit;
