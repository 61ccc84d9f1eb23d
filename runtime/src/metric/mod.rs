pub(crate) mod build_info;
pub(crate) mod callsite;
pub mod dynamic;
pub mod family;
pub mod labels;
pub(crate) mod standalone;
