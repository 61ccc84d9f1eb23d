//! The Prometheus Pushgateway: Prometheus 0.0.4 text, `PUT` (or `POST`) to
//! the group's path, the newest payload only.

use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use hyper::Method;

use super::super::config::{FieldError, PushMethod, PushgatewayOptions};
use super::super::grouping;
use super::super::wire::{BaseUrl, Route, Wire};
use crate::encode::{self, Format};
use crate::error::Error;

#[derive(Debug)]
pub(crate) struct Pushgateway {
    method: Method,
    /// The group's path below the gateway's base URL.
    group: String,
    delete_on_shutdown: bool,
}

impl Pushgateway {
    pub(crate) fn new(options: &PushgatewayOptions) -> Result<Pushgateway, FieldError> {
        grouping::check(options)?;
        Ok(Pushgateway {
            method: match options.method {
                PushMethod::Put => Method::PUT,
                PushMethod::Post => Method::POST,
            },
            group: grouping::group_path(options),
            delete_on_shutdown: options.delete_on_shutdown,
        })
    }
}

impl Wire for Pushgateway {
    fn route(&self, base: BaseUrl<'_>) -> Result<Route, FieldError> {
        if !base.query.is_empty() {
            return Err(FieldError::new("url", "a Pushgateway URL takes no query"));
        }
        Ok(Route {
            method: self.method.clone(),
            path_and_query: format!("{}{}", base.trimmed_path(), self.group),
            delete_on_shutdown: self.delete_on_shutdown,
        })
    }

    fn headers(&self, headers: &mut HeaderMap) {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(Format::Prometheus.content_type()),
        );
    }

    /// Text straight from the live metrics, without a snapshot.
    fn body(&self) -> Result<Vec<u8>, Error> {
        let mut text = String::new();
        encode::render_into(Format::Prometheus, &mut text);
        Ok(text.into_bytes())
    }

    /// The gateway keeps one payload per group: an older one is worth
    /// nothing once a newer one is read.
    fn latest_only(&self) -> bool {
        true
    }
}
