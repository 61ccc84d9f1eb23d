pub(crate) mod registry;
pub mod snapshot;
