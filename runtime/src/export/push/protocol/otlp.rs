//! OTLP/HTTP: an `ExportMetricsServiceRequest` in protobuf `POST`ed to
//! `/v1/metrics` (or the path given), gzipped when asked, a backlog kept.

use std::time::SystemTime;

use hyper::header::{HeaderMap, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use hyper::{Method, StatusCode};

use super::super::config::{FieldError, OtlpEndpointOptions};
use super::super::wire::{BaseUrl, Route, Wire};
use crate::collect::snapshot::Snapshot;
use crate::encode::gzip::gzip;
use crate::encode::otlp::{self, HistogramFlavour, OtlpOptions};
use crate::error::Error;

#[derive(Debug)]
pub(crate) struct Otlp {
    /// What a request says besides the metrics.
    options: OtlpOptions,
    gzip: bool,
}

impl Otlp {
    pub(crate) fn new(config: &OtlpEndpointOptions) -> Otlp {
        let mut options = OtlpOptions::default();
        for (key, value) in &config.resource_attributes {
            options = options.with_resource_attribute(key, value);
        }
        if config.exponential_histograms {
            options = options.with_histograms(HistogramFlavour::Exponential);
        }
        Otlp {
            options,
            gzip: config.gzip,
        }
    }

    /// The body of `snapshot` as of `at`, gzipped when the endpoint asks.
    fn body_of(&self, snapshot: &Snapshot, at: SystemTime) -> Vec<u8> {
        let body = otlp::encode(snapshot, &self.options.clone().at(at));
        if self.gzip {
            gzip(&body)
        } else {
            body
        }
    }
}

impl Wire for Otlp {
    fn route(&self, base: BaseUrl<'_>) -> Result<Route, FieldError> {
        let path = if base.trimmed_path().is_empty() {
            "/v1/metrics"
        } else {
            base.path
        };
        Ok(Route {
            method: Method::POST,
            path_and_query: format!("{path}{}", base.query),
            delete_on_shutdown: false,
        })
    }

    fn headers(&self, headers: &mut HeaderMap) {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        if self.gzip {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
    }

    fn body(&self) -> Result<Vec<u8>, Error> {
        Ok(self.body_of(&Snapshot::collect(), SystemTime::now()))
    }

    /// OTLP/HTTP retries only 429, 502, 503 and 504, as its specification
    /// says.
    fn retryable(&self, status: StatusCode) -> bool {
        matches!(status.as_u16(), 429 | 502 | 503 | 504)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn bodies_are_gzipped_when_asked() {
        let mut config = OtlpEndpointOptions::default();
        config
            .resource_attributes
            .insert("service.name".into(), "checkout".into());
        let plain = Otlp::new(&config);
        config.gzip = true;
        let zipped = Otlp::new(&config);
        let mut headers = HeaderMap::new();
        zipped.headers(&mut headers);
        assert_eq!(headers[CONTENT_ENCODING], "gzip");
        let mut headers = HeaderMap::new();
        plain.headers(&mut headers);
        assert!(!headers.contains_key(CONTENT_ENCODING));
        let snapshot = Snapshot::default();
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let body = plain.body_of(&snapshot, at);
        let compressed = zipped.body_of(&snapshot, at);
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(compressed.as_slice())
            .read_to_end(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, body);
        let expected = otlp::encode(
            &snapshot,
            &OtlpOptions::default()
                .with_resource_attribute("service.name", "checkout")
                .at(at),
        );
        assert_eq!(body, expected);
        assert!(body.windows(8).any(|w| w == b"checkout"));
    }

    #[test]
    fn only_the_specified_statuses_are_retried() {
        let wire = Otlp::new(&OtlpEndpointOptions::default());
        let codes: Vec<u16> = (400..600)
            .filter(|&code| wire.retryable(StatusCode::from_u16(code).unwrap()))
            .collect();
        assert_eq!(codes, [429, 502, 503, 504]);
    }
}
