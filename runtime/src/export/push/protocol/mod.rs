//! The push protocols, each a [`Wire`](super::wire::Wire): the Prometheus
//! Pushgateway, Prometheus remote-write 1.0 and OTLP/HTTP. A new protocol
//! is a file here, a [`Protocol`] variant and a line in [`wire`].

use super::config::{EndpointConfig, FieldError, Protocol};
use super::wire::Wire;

mod otlp;
mod pushgateway;
mod remote_write;

/// The wire of `config`'s protocol, its own settings checked.
pub(crate) fn wire(config: &EndpointConfig) -> Result<Box<dyn Wire>, FieldError> {
    Ok(match config.protocol {
        Protocol::Pushgateway => Box::new(pushgateway::Pushgateway::new(&config.pushgateway)?),
        Protocol::RemoteWrite => Box::new(remote_write::RemoteWrite),
        Protocol::Otlp => Box::new(otlp::Otlp::new(&config.otlp)),
    })
}
