//! Prometheus remote-write 1.0: a snapshot as a snappy-compressed protobuf
//! `WriteRequest`.
//!
//! The series are those a scrape of the Prometheus 0.0.4 text would store:
//! a counter family `foo` is the series `foo_total`, a gauge keeps its name,
//! a histogram writes `foo_bucket` with an `le` label per bound (the same
//! `le` text the exposition writes, `+Inf` last), `foo_sum` and `foo_count`.
//! Each series carries its labels sorted by name with `__name__` among them;
//! labels with an empty value are left out (Prometheus treats an empty label
//! as no label). Every sample of one request has the snapshot's timestamp,
//! in milliseconds since the Unix epoch.
//!
//! The messages are those of Prometheus' `prompb/remote.proto` and
//! `prompb/types.proto`, with only the fields telltale writes.
//!
//! ```
//! use telltale::push::remote_write::{decode, encode};
//! use telltale::snapshot::{MetricFamily, MetricKind, Series, Snapshot, Value};
//!
//! let snapshot = Snapshot {
//!     families: vec![MetricFamily {
//!         name: "jobs".into(),
//!         help: "Jobs run.".into(),
//!         unit: None,
//!         kind: MetricKind::Counter,
//!         series: vec![Series {
//!             labels: vec![("queue".into(), "emails".into())],
//!             value: Value::Counter(3.0),
//!             created: None,
//!         }],
//!     }],
//! };
//! let body = encode(&snapshot, 1_700_000_000_000).unwrap();
//! let request = decode(&body).unwrap();
//! let series = &request.timeseries[0];
//! let labels: Vec<(&str, &str)> =
//!     series.labels.iter().map(|l| (l.name.as_str(), l.value.as_str())).collect();
//! assert_eq!(labels, [("__name__", "jobs_total"), ("queue", "emails")]);
//! assert_eq!((series.samples[0].value, series.samples[0].timestamp), (3.0, 1_700_000_000_000));
//! ```

use std::borrow::Cow;

use prost::Message as _;

use crate::collect::snapshot::{Snapshot, Value};
use crate::encode::text::{self, FloatStyle};
use crate::error::Error;

/// A remote-write request: the series of one snapshot.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// One series and its samples.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// The labels, sorted by name, `__name__` included.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// The samples, oldest first.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// A label pair.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    /// The label name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The label value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// One sample.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// The `WriteRequest` of `snapshot`, every sample at `timestamp_ms`.
pub fn write_request(snapshot: &Snapshot, timestamp_ms: i64) -> WriteRequest {
    let mut timeseries = Vec::new();
    let mut add = |name: &str,
                   labels: &[(Cow<'static, str>, Cow<'static, str>)],
                   le: Option<&str>,
                   value: f64| {
        let mut pairs: Vec<Label> = Vec::with_capacity(labels.len() + 2);
        pairs.push(Label {
            name: "__name__".to_owned(),
            value: name.to_owned(),
        });
        for (k, v) in labels {
            if !v.is_empty() && k != "__name__" {
                pairs.push(Label {
                    name: k.to_string(),
                    value: v.to_string(),
                });
            }
        }
        if let Some(le) = le {
            pairs.retain(|l| l.name != "le");
            pairs.push(Label {
                name: "le".to_owned(),
                value: le.to_owned(),
            });
        }
        pairs.sort_by(|a, b| a.name.cmp(&b.name));
        pairs.dedup_by(|a, b| a.name == b.name);
        timeseries.push(TimeSeries {
            labels: pairs,
            samples: vec![Sample {
                value,
                timestamp: timestamp_ms,
            }],
        });
    };
    let mut name = String::new();
    let mut le_text = String::new();
    for family in &snapshot.families {
        for series in &family.series {
            let labels = &series.labels;
            match &series.value {
                Value::Counter(v) => {
                    name.clear();
                    name.push_str(&family.name);
                    name.push_str("_total");
                    add(&name, labels, None, *v);
                }
                Value::Gauge(v) => add(&family.name, labels, None, *v),
                Value::Histogram(h) => {
                    name.clear();
                    name.push_str(&family.name);
                    name.push_str("_bucket");
                    // The buckets the text encoders write, `le` as they
                    // write it; `+Inf` comes from the count.
                    for (le, count) in text::buckets(h) {
                        le_text.clear();
                        text::write_float(&mut le_text, le, FloatStyle::Canonical);
                        add(&name, labels, Some(&le_text), count as f64);
                    }
                    add(&name, labels, Some("+Inf"), h.count as f64);
                    name.clear();
                    name.push_str(&family.name);
                    name.push_str("_sum");
                    add(&name, labels, None, h.sum);
                    name.clear();
                    name.push_str(&family.name);
                    name.push_str("_count");
                    add(&name, labels, None, h.count as f64);
                }
            }
        }
    }
    WriteRequest { timeseries }
}

/// The request body of `snapshot`: its [`write_request`], protobuf-encoded
/// and compressed in snappy's block format.
///
/// # Errors
///
/// [`Error::Payload`] when the encoded request is too large for snappy
/// (over about 4 GiB).
pub fn encode(snapshot: &Snapshot, timestamp_ms: i64) -> Result<Vec<u8>, Error> {
    let raw = write_request(snapshot, timestamp_ms).encode_to_vec();
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .map_err(|e| payload(format!("snappy: {e}")))
}

/// Reads a body [`encode()`] wrote (or any remote-write 1.0 body, ignoring
/// the fields telltale does not write).
///
/// # Errors
///
/// [`Error::Payload`] when the body is not snappy block data or not a
/// `WriteRequest`.
pub fn decode(body: &[u8]) -> Result<WriteRequest, Error> {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| payload(format!("snappy: {e}")))?;
    WriteRequest::decode(raw.as_slice()).map_err(|e| payload(format!("protobuf: {e}")))
}

fn payload(reason: String) -> Error {
    Error::Payload {
        format: "remote-write",
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::snapshot::{HistogramValue, MetricFamily, MetricKind, Series};
    use crate::store::histogram::ExpBuckets;

    fn series(labels: &[(&'static str, &'static str)], value: Value) -> Series {
        Series {
            labels: labels
                .iter()
                .map(|&(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v)))
                .collect(),
            value,
            created: None,
        }
    }

    fn family(name: &'static str, kind: MetricKind, series: Vec<Series>) -> MetricFamily {
        MetricFamily {
            name: Cow::Borrowed(name),
            help: Cow::Borrowed("help"),
            unit: None,
            kind,
            series,
        }
    }

    fn flat(ts: &TimeSeries) -> String {
        let labels: Vec<String> = ts
            .labels
            .iter()
            .map(|l| format!("{}={}", l.name, l.value))
            .collect();
        format!("{} {}", labels.join(","), ts.samples[0].value)
    }

    #[test]
    fn canonical_bounds() {
        for (le, text) in [
            (0.005, "0.005"),
            (1.0, "1.0"),
            (0.0, "0.0"),
            (100_000.0, "100000.0"),
            (1e6, "1e+06"),
            (1.5e7, "1.5e+07"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (-2.5, "-2.5"),
            (f64::INFINITY, "+Inf"),
        ] {
            let mut out = String::new();
            text::write_float(&mut out, le, FloatStyle::Canonical);
            assert_eq!(out, text, "{le}");
        }
    }

    #[test]
    fn snapshot_round_trips_through_snappy_and_protobuf() {
        let histogram = Value::Histogram(HistogramValue {
            count: 5,
            sum: 2.5,
            buckets: vec![(0.1, 1), (1.0, 4), (f64::NAN, 9), (0.5, 9)],
            exponential: ExpBuckets::default(),
        });
        let snapshot = Snapshot {
            families: vec![
                family(
                    "calls",
                    MetricKind::Counter,
                    vec![
                        series(
                            &[("zone", "b"), ("error", ""), ("Alpha", "1")],
                            Value::Counter(7.0),
                        ),
                        series(&[("zone", "a")], Value::Counter(0.0)),
                    ],
                ),
                family(
                    "inflight",
                    MetricKind::Gauge,
                    vec![series(&[], Value::Gauge(-1.5))],
                ),
                family(
                    "lat",
                    MetricKind::Histogram,
                    vec![series(&[("op", "x")], histogram)],
                ),
            ],
        };
        let body = encode(&snapshot, 1_234).unwrap();
        assert!(snap::raw::decompress_len(&body).is_ok());
        let request = decode(&body).unwrap();
        let lines: Vec<String> = request.timeseries.iter().map(flat).collect();
        assert_eq!(
            lines,
            [
                "Alpha=1,__name__=calls_total,zone=b 7",
                "__name__=calls_total,zone=a 0",
                "__name__=inflight -1.5",
                "__name__=lat_bucket,le=0.1,op=x 1",
                "__name__=lat_bucket,le=1.0,op=x 4",
                "__name__=lat_bucket,le=+Inf,op=x 5",
                "__name__=lat_sum,op=x 2.5",
                "__name__=lat_count,op=x 5",
            ]
        );
        assert!(request
            .timeseries
            .iter()
            .all(|t| t.samples.len() == 1 && t.samples[0].timestamp == 1_234));
        for ts in &request.timeseries {
            assert!(ts.labels.windows(2).all(|w| w[0].name < w[1].name));
        }
        assert!(decode(b"not snappy").is_err());
        assert_eq!(
            decode(&encode(&Snapshot::default(), 1).unwrap()).unwrap(),
            WriteRequest::default()
        );
    }

    #[test]
    fn buckets_are_those_of_the_text_formats() {
        let value = HistogramValue {
            count: 3,
            sum: 1.0,
            buckets: vec![
                (f64::NEG_INFINITY, 0),
                (f64::NAN, 1),
                (0.5, 1),
                (0.5, 1),
                (0.25, 1),
                (1e6, 2),
                (f64::INFINITY, 3),
            ],
            exponential: ExpBuckets::default(),
        };
        let snapshot = Snapshot {
            families: vec![family(
                "h",
                MetricKind::Histogram,
                vec![series(&[], Value::Histogram(value))],
            )],
        };
        let mut text = String::new();
        crate::encode::encode(&snapshot, crate::encode::Format::Prometheus, &mut text);
        let from_text: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with("h_bucket"))
            .map(|l| {
                let (labels, value) = l.split_once("} ").unwrap();
                let le = labels.split_once("le=\"").unwrap().1.trim_end_matches('"');
                format!("__name__=h_bucket,le={le} {value}")
            })
            .collect();
        let request = write_request(&snapshot, 0);
        let from_remote_write: Vec<String> = request
            .timeseries
            .iter()
            .map(flat)
            .filter(|l| l.starts_with("__name__=h_bucket"))
            .collect();
        assert_eq!(from_remote_write, from_text);
        assert_eq!(
            from_remote_write,
            [
                "__name__=h_bucket,le=-Inf 0",
                "__name__=h_bucket,le=0.5 1",
                "__name__=h_bucket,le=1e+06 2",
                "__name__=h_bucket,le=+Inf 3",
            ]
        );
    }

    #[test]
    fn field_numbers_match_prompb() {
        // Sample { double value = 1; int64 timestamp = 2; }: tag 1 fixed64
        // (0x09), tag 2 varint (0x10).
        let sample = Sample {
            value: 1.0,
            timestamp: 5,
        }
        .encode_to_vec();
        assert_eq!(sample[0], 0x09);
        assert_eq!(sample[9..], [0x10, 5]);
        // Label { string name = 1; string value = 2; }.
        let label = Label {
            name: "a".into(),
            value: "b".into(),
        }
        .encode_to_vec();
        assert_eq!(label, [0x0a, 1, b'a', 0x12, 1, b'b']);
        // TimeSeries { labels = 1; samples = 2; }, WriteRequest { timeseries = 1; }.
        let ts = TimeSeries {
            labels: vec![Label::default()],
            samples: vec![Sample::default()],
        };
        assert_eq!(ts.encode_to_vec(), [0x0a, 0, 0x12, 0]);
        let request = WriteRequest {
            timeseries: vec![TimeSeries::default()],
        };
        assert_eq!(request.encode_to_vec(), [0x0a, 0]);
    }
}
