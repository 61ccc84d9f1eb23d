pub(crate) mod build_info;
pub(crate) mod callsite;
pub mod dynamic;
pub(crate) mod failures;
pub mod family;
pub mod labels;
pub(crate) mod standalone;
