#[cfg(feature = "stream")]
pub mod stream;
pub mod timer;
pub mod tracker;
pub mod window;
