//! What sets one push protocol apart from the others, as one trait: where
//! its requests go, the headers and body they carry, which refusals are
//! worth retrying and how much of a backlog is worth keeping. The endpoint
//! (`endpoint.rs`) does the rest (URL checks, queue, retries, statistics)
//! the same way for every protocol, through a `dyn Wire`; the protocols
//! themselves are in `protocol/`.

use hyper::header::HeaderMap;
use hyper::{Method, StatusCode};

use super::config::FieldError;
use crate::error::Error;

/// The configured URL, split for a protocol to build its request on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BaseUrl<'a> {
    /// The path as configured (`/api/v1/write`, `/`, or empty).
    pub(crate) path: &'a str,
    /// The query with its `?` (`?tenant=a`), or empty.
    pub(crate) query: &'a str,
}

impl BaseUrl<'_> {
    /// The path without its trailing `/`s: empty for the root.
    pub(crate) fn trimmed_path(&self) -> &str {
        self.path.trim_end_matches('/')
    }
}

/// Where a protocol's pushes go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    /// The push's method.
    pub(crate) method: Method,
    /// Its path and query, below the URL's scheme and authority.
    pub(crate) path_and_query: String,
    /// Whether a shutdown sends `DELETE` to the same place (a Pushgateway
    /// group with `delete_on_shutdown`).
    pub(crate) delete_on_shutdown: bool,
}

/// One push protocol on the wire.
pub(crate) trait Wire: Send + Sync + std::fmt::Debug {
    /// Where pushes to `base` go, or the field of the configuration that
    /// makes it impossible.
    fn route(&self, base: BaseUrl<'_>) -> Result<Route, FieldError>;

    /// Adds the protocol's headers (content type, encoding, version) to
    /// the configured ones, replacing any of the same name.
    fn headers(&self, headers: &mut HeaderMap);

    /// The body of one push: every registered metric, read now.
    fn body(&self) -> Result<Vec<u8>, Error>;

    /// Whether an answer with `status` (not a success) is worth retrying:
    /// by default 408, 429 and every 5xx.
    fn retryable(&self, status: StatusCode) -> bool {
        status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
    }

    /// Whether only the newest payload is worth sending (a newer one
    /// supersedes a queued one instead of queueing behind it).
    fn latest_only(&self) -> bool {
        false
    }
}
