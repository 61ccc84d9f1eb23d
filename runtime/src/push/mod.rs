//! Push exporters: Pushgateway, Prometheus remote-write and OTLP/HTTP.

pub(crate) mod otlp;
