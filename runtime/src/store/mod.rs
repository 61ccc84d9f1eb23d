pub(crate) mod clock;
pub(crate) mod hash;
pub mod histogram;
pub(crate) mod mapped;
pub(crate) mod publish;
pub(crate) mod shard;
