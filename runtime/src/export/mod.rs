#[cfg(feature = "push")]
pub mod push;
#[cfg(feature = "server")]
pub mod server;
