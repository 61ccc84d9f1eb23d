//! Prometheus remote-write 1.0: a snappy-compressed protobuf
//! `WriteRequest` `POST`ed to the URL as given, a backlog kept.

use std::time::SystemTime;

use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use hyper::Method;

use super::super::config::FieldError;
use super::super::remote_write;
use super::super::wire::{BaseUrl, Route, Wire};
use crate::collect::snapshot::Snapshot;
use crate::error::Error;
use crate::store::clock::unix_millis;

#[derive(Debug)]
pub(crate) struct RemoteWrite;

impl Wire for RemoteWrite {
    fn route(&self, base: BaseUrl<'_>) -> Result<Route, FieldError> {
        Ok(Route {
            method: Method::POST,
            path_and_query: format!("{}{}", base.path, base.query),
            delete_on_shutdown: false,
        })
    }

    fn headers(&self, headers: &mut HeaderMap) {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("snappy"));
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        headers.insert(
            HeaderName::from_static("x-prometheus-remote-write-version"),
            HeaderValue::from_static("0.1.0"),
        );
    }

    fn body(&self) -> Result<Vec<u8>, Error> {
        remote_write::encode(&Snapshot::collect(), unix_millis(SystemTime::now()))
    }
}
