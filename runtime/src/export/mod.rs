pub mod push;
pub mod server;
