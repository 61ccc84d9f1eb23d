//! OTLP/HTTP protobuf encoding of a snapshot.
//!
//! [`encode`] turns a [`Snapshot`] into the body of an OTLP/HTTP metrics
//! request (`POST /v1/metrics`, `Content-Type: application/x-protobuf`).
//!
//! The mapping from telltale's data model to OTLP's is documented on
//! [`OtlpOptions`]; [`crate::encode::encode_otlp`] is the public entry.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::SystemTime;

use prost::Message as _;

use crate::collect::snapshot::{HistogramValue, MetricFamily, MetricKind, Series, Snapshot, Value};
use crate::encode::text;
use crate::store::clock::unix_nanos;
use crate::store::histogram::MIN_VALUE;

/// How histograms are sent over OTLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HistogramFlavour {
    /// `Histogram` data points with the classic bounds as `explicit_bounds`
    /// and per-bucket (not cumulative) counts: understood by every OTLP
    /// receiver.
    #[default]
    Explicit,
    /// `ExponentialHistogram` data points of scale 5, the store's own
    /// buckets: quantiles within about 1 % whatever the classic bounds.
    Exponential,
}

/// What an OTLP request says besides the metrics, and how telltale's data
/// model maps onto OTLP's.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use telltale::encode::{HistogramFlavour, OtlpOptions};
///
/// let options = OtlpOptions::default()
///     .with_resource_attribute("service.name", "checkout")
///     .with_resource_attribute("deployment.environment", "production")
///     .with_histograms(HistogramFlavour::Exponential)
///     .at(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
/// assert_eq!(options.resource["service.name"], "checkout");
/// assert_eq!(options.resource["telemetry.sdk.name"], "telltale");
/// assert_eq!(options.scope_name, "telltale");
/// assert_eq!(options.time_unix_nano, Some(1_700_000_000_000_000_000));
/// let body = telltale::encode::encode_otlp(&telltale::Snapshot::collect(), &options);
/// assert!(!body.is_empty());
/// ```
///
/// # Defaults
///
/// [`OtlpOptions::default`] gives the resource `service.name` (the name of the
/// running executable), `telemetry.sdk.name` (`telltale`),
/// `telemetry.sdk.language` (`rust`) and `telemetry.sdk.version` (this
/// crate's version); the scope `telltale` at this crate's version; the time
/// of the export read from the system clock when encoding; the process start
/// time (on Linux from `/proc`, elsewhere the first time telltale needed it)
/// as the start of series whose creation time is unknown; and
/// [`HistogramFlavour::Explicit`].
///
/// # Request
///
/// One `ExportMetricsServiceRequest` of opentelemetry-proto v1 with one
/// `ResourceMetrics` (the resource attributes above) holding one
/// `ScopeMetrics` (the scope above) with one `Metric` per family that has
/// series, in the snapshot's order (by name).
///
/// # Data model
///
/// | telltale | OTLP |
/// |---|---|
/// | family name (a counter's without `_total`) | `Metric.name` |
/// | help | `Metric.description` |
/// | unit | `Metric.unit`, in UCUM: `seconds` → `s`, `bytes` → `By`, `ratio` → `1`, any other unit as it is, none → `""` |
/// | counter | `Sum`, `is_monotonic = true`, `CUMULATIVE`, one `NumberDataPoint` (`as_double`) per series |
/// | gauge | `Gauge`, one `NumberDataPoint` (`as_double`) per series |
/// | histogram | `Histogram` (explicit bounds) or `ExponentialHistogram`, per [`HistogramFlavour`]; `CUMULATIVE`; `count`, `sum`, and `min`/`max` where the store tracks them exactly (durations) |
/// | labels | attributes, string values, in the series' label order (empty values kept) |
/// | series creation time | `start_time_unix_nano`; the process start time when unknown; never after `time_unix_nano` |
/// | time of the export | `time_unix_nano` of every point |
///
/// Values are written as they are (a `NaN` gauge is a `NaN` double). A series
/// whose value does not match its family's type is left out, as the text
/// formats do.
///
/// ## Explicit buckets
///
/// The classic bounds of the histogram, as the text formats write them (`le`
/// values without `+Inf`, see [`Format`](crate::Format)), are the
/// `explicit_bounds`; `bucket_counts` has one more entry and is *not*
/// cumulative: entry `i` counts the observations in `(bounds[i-1], bounds[i]]`,
/// the last one those above the last bound. They are read from the same
/// exponential store as the text formats' `le` buckets, so an observation
/// within 2.2 % of a bound may be counted on the other side of it.
///
/// ## Exponential buckets
///
/// Scale 5, the store's own scheme: OTLP bucket `i` covers
/// `(2^(i/32), 2^((i+1)/32)]`, so `positive.offset` is the index of the first
/// non-empty bucket and `positive.bucket_counts` runs from there to the last
/// non-empty one (empty buckets between are zeros). For stores of plain
/// values the buckets map one to one, exactly. Durations are counted in clock
/// ticks, whose bounds are the same scheme times the clock's period; each such
/// bucket is reported at the OTLP index holding its geometric middle (all
/// shifted by the same whole number of buckets), so an observation is
/// reported at most one bucket width (2.2 %) from where it fell.
/// `zero_count` holds the store's zero bucket, with `zero_threshold` its
/// bound, 2^-40. Observations above 2^64 (`+Inf` included), which the store
/// counts in an overflow bucket, are reported in the bucket just above the
/// last non-empty one (just above 2^64 when there is none), so `count` stays
/// the sum of all buckets and one huge observation does not add thousands of
/// empty buckets to every point; `max` still tells the largest value. There are no negative buckets: histograms ignore negative
/// observations. A histogram whose exponential store does not account for
/// its count (a snapshot built by hand) is sent with explicit buckets.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OtlpOptions {
    /// Resource attributes, sent as string attributes in key order.
    pub resource: BTreeMap<String, String>,
    /// The instrumentation scope's name.
    pub scope_name: String,
    /// The instrumentation scope's version.
    pub scope_version: String,
    /// The time of the export, nanoseconds since the Unix epoch; `None`
    /// reads the system clock when encoding.
    pub time_unix_nano: Option<u64>,
    /// The start of series whose creation time is unknown, nanoseconds
    /// since the Unix epoch.
    pub start_time_unix_nano: u64,
    /// How histograms are sent.
    pub histograms: HistogramFlavour,
}

impl Default for OtlpOptions {
    fn default() -> Self {
        let version = env!("CARGO_PKG_VERSION");
        let resource = [
            ("service.name", executable_name()),
            ("telemetry.sdk.name", "telltale".to_owned()),
            ("telemetry.sdk.language", "rust".to_owned()),
            ("telemetry.sdk.version", version.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        OtlpOptions {
            resource,
            scope_name: "telltale".to_owned(),
            scope_version: version.to_owned(),
            time_unix_nano: None,
            start_time_unix_nano: process_start_unix_nano(),
            histograms: HistogramFlavour::Explicit,
        }
    }
}

impl OtlpOptions {
    /// These options with resource attribute `key` set to `value`
    /// (replacing any earlier value of `key`, `service.name` included).
    #[must_use]
    pub fn with_resource_attribute(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.resource.insert(key.into(), value.into());
        self
    }

    /// These options with histograms sent as `flavour`.
    #[must_use]
    pub fn with_histograms(mut self, flavour: HistogramFlavour) -> Self {
        self.histograms = flavour;
        self
    }

    /// These options with the time of the export fixed.
    #[must_use]
    pub fn at(mut self, time: SystemTime) -> Self {
        self.time_unix_nano = Some(unix_nanos(time));
        self
    }
}

/// The file name of the running executable without its extension, or
/// `unknown_service` when it cannot be read.
fn executable_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|path| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown_service".to_owned())
}

/// Seconds since the Unix epoch as nanoseconds; `None` for a time that is not
/// finite or before the epoch.
fn seconds_to_nanos(seconds: f64) -> Option<u64> {
    // `as` saturates at u64::MAX.
    (seconds.is_finite() && seconds >= 0.0).then(|| (seconds * 1e9).round() as u64)
}

/// When this process started, nanoseconds since the Unix epoch: from
/// `/proc/self/stat` on Linux with the `resources` feature, otherwise (or if
/// that fails) the first call.
fn process_start_unix_nano() -> u64 {
    static START: OnceLock<u64> = OnceLock::new();
    *START.get_or_init(|| {
        let now = unix_nanos(SystemTime::now());
        process_start_from_os().map_or(now, |start| start.min(now))
    })
}

#[cfg(all(target_os = "linux", feature = "resources"))]
fn process_start_from_os() -> Option<u64> {
    let stat = procfs::process::Process::myself().ok()?.stat().ok()?;
    let boot = procfs::boot_time_secs().ok()?;
    let ticks = procfs::ticks_per_second();
    if ticks == 0 {
        return None;
    }
    seconds_to_nanos(boot as f64 + stat.starttime as f64 / ticks as f64)
}

#[cfg(not(all(target_os = "linux", feature = "resources")))]
fn process_start_from_os() -> Option<u64> {
    None
}

/// The UCUM unit OTLP expects for a telltale unit.
fn ucum_unit(unit: Option<&str>) -> &str {
    match unit {
        None => "",
        Some("seconds") => "s",
        Some("bytes") => "By",
        Some("ratio") => "1",
        Some(other) => other,
    }
}

/// The body of an OTLP/HTTP metrics request for `snapshot`: protobuf bytes,
/// uncompressed.
pub(crate) fn encode(snapshot: &Snapshot, options: &OtlpOptions) -> Vec<u8> {
    request(snapshot, options).encode_to_vec()
}

/// The request message for `snapshot`.
fn request(snapshot: &Snapshot, options: &OtlpOptions) -> proto::ExportMetricsServiceRequest {
    let time = options
        .time_unix_nano
        .unwrap_or_else(|| unix_nanos(SystemTime::now()));
    let points = Points {
        time,
        default_start: options.start_time_unix_nano.min(time),
        flavour: options.histograms,
    };
    let metrics = snapshot
        .families
        .iter()
        .filter_map(|family| points.metric(family))
        .collect();
    proto::ExportMetricsServiceRequest {
        resource_metrics: vec![proto::ResourceMetrics {
            resource: Some(proto::Resource {
                attributes: options
                    .resource
                    .iter()
                    .map(|(k, v)| string_attribute(k, v))
                    .collect(),
                dropped_attributes_count: 0,
            }),
            scope_metrics: vec![proto::ScopeMetrics {
                scope: Some(proto::InstrumentationScope {
                    name: options.scope_name.clone(),
                    version: options.scope_version.clone(),
                    attributes: Vec::new(),
                    dropped_attributes_count: 0,
                }),
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn string_attribute(key: &str, value: &str) -> proto::KeyValue {
    proto::KeyValue {
        key: key.to_owned(),
        value: Some(proto::AnyValue {
            value: Some(proto::any_value::Value::String(value.to_owned())),
        }),
    }
}

/// What every data point of one request shares.
struct Points {
    time: u64,
    default_start: u64,
    flavour: HistogramFlavour,
}

impl Points {
    /// The metric of `family`, or `None` when it has no series to send.
    fn metric(&self, family: &MetricFamily) -> Option<proto::Metric> {
        let data = match family.kind {
            MetricKind::Counter | MetricKind::Gauge => {
                let data_points: Vec<_> = family
                    .series
                    .iter()
                    .filter_map(|series| self.number(series))
                    .collect();
                if data_points.is_empty() {
                    return None;
                }
                if family.kind == MetricKind::Counter {
                    proto::metric::Data::Sum(proto::Sum {
                        data_points,
                        aggregation_temporality: proto::AggregationTemporality::Cumulative as i32,
                        is_monotonic: true,
                    })
                } else {
                    proto::metric::Data::Gauge(proto::Gauge { data_points })
                }
            }
            MetricKind::Histogram => self.histograms(family)?,
        };
        Some(proto::Metric {
            name: family.name.to_string(),
            description: family.help.to_string(),
            unit: ucum_unit(family.unit).to_owned(),
            data: Some(data),
        })
    }

    fn attributes(series: &Series) -> Vec<proto::KeyValue> {
        series
            .labels
            .iter()
            .map(|(k, v)| string_attribute(k, v))
            .collect()
    }

    fn start_time(&self, series: &Series) -> u64 {
        series
            .created
            .and_then(seconds_to_nanos)
            .unwrap_or(self.default_start)
            .min(self.time)
    }

    fn number(&self, series: &Series) -> Option<proto::NumberDataPoint> {
        let (Value::Counter(value) | Value::Gauge(value)) = series.value else {
            return None;
        };
        Some(proto::NumberDataPoint {
            attributes: Self::attributes(series),
            start_time_unix_nano: self.start_time(series),
            time_unix_nano: self.time,
            value: Some(proto::number_data_point::Value::AsDouble(value)),
            flags: 0,
        })
    }

    fn histograms(&self, family: &MetricFamily) -> Option<proto::metric::Data> {
        let series = family
            .series
            .iter()
            .filter_map(|series| match &series.value {
                Value::Histogram(histogram) => Some((series, histogram)),
                Value::Counter(_) | Value::Gauge(_) => None,
            });
        let temporality = proto::AggregationTemporality::Cumulative as i32;
        let exponential = self.flavour == HistogramFlavour::Exponential
            && family.series.iter().all(|series| match &series.value {
                Value::Histogram(h) => h.exponential.count() == h.count,
                Value::Counter(_) | Value::Gauge(_) => true,
            });
        let data = if exponential {
            let data_points: Vec<_> = series.map(|(s, h)| self.exponential(s, h)).collect();
            if data_points.is_empty() {
                return None;
            }
            proto::metric::Data::ExponentialHistogram(proto::ExponentialHistogram {
                data_points,
                aggregation_temporality: temporality,
            })
        } else {
            let data_points: Vec<_> = series.map(|(s, h)| self.explicit(s, h)).collect();
            if data_points.is_empty() {
                return None;
            }
            proto::metric::Data::Histogram(proto::Histogram {
                data_points,
                aggregation_temporality: temporality,
            })
        };
        Some(data)
    }

    fn explicit(&self, series: &Series, histogram: &HistogramValue) -> proto::HistogramDataPoint {
        let mut explicit_bounds = Vec::with_capacity(histogram.buckets.len());
        let mut bucket_counts = Vec::with_capacity(histogram.buckets.len() + 1);
        let mut below = 0_u64;
        // The bounds the text formats write.
        for (le, cumulative) in text::buckets(histogram) {
            explicit_bounds.push(le);
            bucket_counts.push(cumulative.saturating_sub(below));
            below = below.max(cumulative);
        }
        bucket_counts.push(histogram.count.saturating_sub(below));
        proto::HistogramDataPoint {
            attributes: Self::attributes(series),
            start_time_unix_nano: self.start_time(series),
            time_unix_nano: self.time,
            count: histogram.count,
            sum: Some(histogram.sum),
            bucket_counts,
            explicit_bounds,
            flags: 0,
            min: histogram.exponential.min,
            max: histogram.exponential.max,
        }
    }

    fn exponential(
        &self,
        series: &Series,
        histogram: &HistogramValue,
    ) -> proto::ExponentialHistogramDataPoint {
        let store = &histogram.exponential;
        // (OTLP index, count), increasing, one entry per index.
        let mut indexed: Vec<(i32, u64)> = Vec::new();
        for (lower, upper, count) in store.buckets() {
            let index = otlp_index(lower, upper);
            match indexed.last_mut() {
                Some((last, n)) if *last >= index => *n += count,
                _ => indexed.push((index, count)),
            }
        }
        if store.overflow > 0 {
            // Just above the last non-empty bucket, not at 2^64: reported
            // there, one observation that large would fill every point with
            // up to 2048 empty buckets.
            let index = indexed.last().map_or(OVERFLOW_INDEX, |&(last, _)| last + 1);
            indexed.push((index, store.overflow));
        }
        let positive = match (indexed.first(), indexed.last()) {
            (Some(&(first, _)), Some(&(last, _))) => {
                let mut bucket_counts = vec![0; (last - first) as usize + 1];
                for &(index, count) in &indexed {
                    bucket_counts[(index - first) as usize] += count;
                }
                Some(proto::Buckets {
                    offset: first,
                    bucket_counts,
                })
            }
            _ => None,
        };
        proto::ExponentialHistogramDataPoint {
            attributes: Self::attributes(series),
            start_time_unix_nano: self.start_time(series),
            time_unix_nano: self.time,
            count: histogram.count,
            sum: Some(histogram.sum),
            scale: SCALE,
            zero_count: store.zero,
            positive,
            negative: None,
            flags: 0,
            min: store.min,
            max: store.max,
            zero_threshold: MIN_VALUE,
        }
    }
}

/// The scale of the exponential store: 2^5 buckets per power of two.
const SCALE: i32 = 5;
/// The OTLP index of the first bucket above 2^64, `(2^64, 2^(64 + 1/32)]`:
/// where the overflow is reported when no other bucket holds anything.
const OVERFLOW_INDEX: i32 = 64 << SCALE;

/// The OTLP scale-5 index of the bucket holding the geometric middle of
/// `(lower, upper]`: the `i` with `2^(i/32) < middle <= 2^((i+1)/32)`.
/// For a store bucket `(2^(j/32), 2^((j+1)/32)]` this is exactly `j`: the
/// middle's `32·log2` is `j + 1/2`, far from any whole number.
fn otlp_index(lower: f64, upper: f64) -> i32 {
    let middle = 16.0 * (lower.log2() + upper.log2());
    // Store bounds lie within 2^-40 .. 2^65 times a clock period: finite, and
    // the floor well inside i32.
    middle.floor() as i32
}

/// The OTLP messages telltale sends, with the field numbers of
/// opentelemetry-proto v1 (`collector/metrics/v1/metrics_service.proto`,
/// `metrics/v1/metrics.proto`, `common/v1/common.proto`,
/// `resource/v1/resource.proto`). Fields telltale never sets (exemplars,
/// summaries, entity references, metadata) are left out; a decoder skips
/// them.
pub(crate) mod proto {
    /// `opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct ExportMetricsServiceRequest {
        #[prost(message, repeated, tag = "1")]
        pub(crate) resource_metrics: Vec<ResourceMetrics>,
    }

    /// `opentelemetry.proto.metrics.v1.ResourceMetrics`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct ResourceMetrics {
        #[prost(message, optional, tag = "1")]
        pub(crate) resource: Option<Resource>,
        #[prost(message, repeated, tag = "2")]
        pub(crate) scope_metrics: Vec<ScopeMetrics>,
        #[prost(string, tag = "3")]
        pub(crate) schema_url: String,
    }

    /// `opentelemetry.proto.resource.v1.Resource`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Resource {
        #[prost(message, repeated, tag = "1")]
        pub(crate) attributes: Vec<KeyValue>,
        #[prost(uint32, tag = "2")]
        pub(crate) dropped_attributes_count: u32,
    }

    /// `opentelemetry.proto.metrics.v1.ScopeMetrics`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct ScopeMetrics {
        #[prost(message, optional, tag = "1")]
        pub(crate) scope: Option<InstrumentationScope>,
        #[prost(message, repeated, tag = "2")]
        pub(crate) metrics: Vec<Metric>,
        #[prost(string, tag = "3")]
        pub(crate) schema_url: String,
    }

    /// `opentelemetry.proto.common.v1.InstrumentationScope`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct InstrumentationScope {
        #[prost(string, tag = "1")]
        pub(crate) name: String,
        #[prost(string, tag = "2")]
        pub(crate) version: String,
        #[prost(message, repeated, tag = "3")]
        pub(crate) attributes: Vec<KeyValue>,
        #[prost(uint32, tag = "4")]
        pub(crate) dropped_attributes_count: u32,
    }

    /// `opentelemetry.proto.common.v1.KeyValue`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct KeyValue {
        #[prost(string, tag = "1")]
        pub(crate) key: String,
        #[prost(message, optional, tag = "2")]
        pub(crate) value: Option<AnyValue>,
    }

    /// `opentelemetry.proto.common.v1.AnyValue` (the scalar kinds).
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct AnyValue {
        #[prost(oneof = "any_value::Value", tags = "1, 2, 3, 4")]
        pub(crate) value: Option<any_value::Value>,
    }

    /// The oneof of [`AnyValue`].
    pub(crate) mod any_value {
        /// `AnyValue.value`.
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub(crate) enum Value {
            #[prost(string, tag = "1")]
            String(String),
            #[prost(bool, tag = "2")]
            Bool(bool),
            #[prost(int64, tag = "3")]
            Int(i64),
            #[prost(double, tag = "4")]
            Double(f64),
        }
    }

    /// `opentelemetry.proto.metrics.v1.Metric`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Metric {
        #[prost(string, tag = "1")]
        pub(crate) name: String,
        #[prost(string, tag = "2")]
        pub(crate) description: String,
        #[prost(string, tag = "3")]
        pub(crate) unit: String,
        #[prost(oneof = "metric::Data", tags = "5, 7, 9, 10")]
        pub(crate) data: Option<metric::Data>,
    }

    /// The oneof of [`Metric`].
    pub(crate) mod metric {
        /// `Metric.data` (summaries left out).
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub(crate) enum Data {
            #[prost(message, tag = "5")]
            Gauge(super::Gauge),
            #[prost(message, tag = "7")]
            Sum(super::Sum),
            #[prost(message, tag = "9")]
            Histogram(super::Histogram),
            #[prost(message, tag = "10")]
            ExponentialHistogram(super::ExponentialHistogram),
        }
    }

    /// `opentelemetry.proto.metrics.v1.AggregationTemporality`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub(crate) enum AggregationTemporality {
        Unspecified = 0,
        Delta = 1,
        Cumulative = 2,
    }

    /// `opentelemetry.proto.metrics.v1.Gauge`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Gauge {
        #[prost(message, repeated, tag = "1")]
        pub(crate) data_points: Vec<NumberDataPoint>,
    }

    /// `opentelemetry.proto.metrics.v1.Sum`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Sum {
        #[prost(message, repeated, tag = "1")]
        pub(crate) data_points: Vec<NumberDataPoint>,
        #[prost(enumeration = "AggregationTemporality", tag = "2")]
        pub(crate) aggregation_temporality: i32,
        #[prost(bool, tag = "3")]
        pub(crate) is_monotonic: bool,
    }

    /// `opentelemetry.proto.metrics.v1.Histogram`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Histogram {
        #[prost(message, repeated, tag = "1")]
        pub(crate) data_points: Vec<HistogramDataPoint>,
        #[prost(enumeration = "AggregationTemporality", tag = "2")]
        pub(crate) aggregation_temporality: i32,
    }

    /// `opentelemetry.proto.metrics.v1.ExponentialHistogram`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct ExponentialHistogram {
        #[prost(message, repeated, tag = "1")]
        pub(crate) data_points: Vec<ExponentialHistogramDataPoint>,
        #[prost(enumeration = "AggregationTemporality", tag = "2")]
        pub(crate) aggregation_temporality: i32,
    }

    /// `opentelemetry.proto.metrics.v1.NumberDataPoint` (no exemplars).
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct NumberDataPoint {
        #[prost(message, repeated, tag = "7")]
        pub(crate) attributes: Vec<KeyValue>,
        #[prost(fixed64, tag = "2")]
        pub(crate) start_time_unix_nano: u64,
        #[prost(fixed64, tag = "3")]
        pub(crate) time_unix_nano: u64,
        #[prost(oneof = "number_data_point::Value", tags = "4, 6")]
        pub(crate) value: Option<number_data_point::Value>,
        #[prost(uint32, tag = "8")]
        pub(crate) flags: u32,
    }

    /// The oneof of [`NumberDataPoint`].
    pub(crate) mod number_data_point {
        /// `NumberDataPoint.value`.
        #[derive(Clone, Copy, PartialEq, prost::Oneof)]
        pub(crate) enum Value {
            #[prost(double, tag = "4")]
            AsDouble(f64),
            #[prost(sfixed64, tag = "6")]
            AsInt(i64),
        }
    }

    /// `opentelemetry.proto.metrics.v1.HistogramDataPoint` (no exemplars).
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct HistogramDataPoint {
        #[prost(message, repeated, tag = "9")]
        pub(crate) attributes: Vec<KeyValue>,
        #[prost(fixed64, tag = "2")]
        pub(crate) start_time_unix_nano: u64,
        #[prost(fixed64, tag = "3")]
        pub(crate) time_unix_nano: u64,
        #[prost(fixed64, tag = "4")]
        pub(crate) count: u64,
        #[prost(double, optional, tag = "5")]
        pub(crate) sum: Option<f64>,
        #[prost(fixed64, repeated, tag = "6")]
        pub(crate) bucket_counts: Vec<u64>,
        #[prost(double, repeated, tag = "7")]
        pub(crate) explicit_bounds: Vec<f64>,
        #[prost(uint32, tag = "10")]
        pub(crate) flags: u32,
        #[prost(double, optional, tag = "11")]
        pub(crate) min: Option<f64>,
        #[prost(double, optional, tag = "12")]
        pub(crate) max: Option<f64>,
    }

    /// `opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint` (no
    /// exemplars).
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct ExponentialHistogramDataPoint {
        #[prost(message, repeated, tag = "1")]
        pub(crate) attributes: Vec<KeyValue>,
        #[prost(fixed64, tag = "2")]
        pub(crate) start_time_unix_nano: u64,
        #[prost(fixed64, tag = "3")]
        pub(crate) time_unix_nano: u64,
        #[prost(fixed64, tag = "4")]
        pub(crate) count: u64,
        #[prost(double, optional, tag = "5")]
        pub(crate) sum: Option<f64>,
        #[prost(sint32, tag = "6")]
        pub(crate) scale: i32,
        #[prost(fixed64, tag = "7")]
        pub(crate) zero_count: u64,
        #[prost(message, optional, tag = "8")]
        pub(crate) positive: Option<Buckets>,
        #[prost(message, optional, tag = "9")]
        pub(crate) negative: Option<Buckets>,
        #[prost(uint32, tag = "10")]
        pub(crate) flags: u32,
        #[prost(double, optional, tag = "12")]
        pub(crate) min: Option<f64>,
        #[prost(double, optional, tag = "13")]
        pub(crate) max: Option<f64>,
        #[prost(double, tag = "14")]
        pub(crate) zero_threshold: f64,
    }

    /// `opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint.Buckets`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Buckets {
        #[prost(sint32, tag = "1")]
        pub(crate) offset: i32,
        #[prost(uint64, repeated, tag = "2")]
        pub(crate) bucket_counts: Vec<u64>,
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use prost::Message as _;

    use super::proto::{self, metric::Data, number_data_point, AggregationTemporality};
    use super::{encode, otlp_index, HistogramFlavour, OtlpOptions};
    use crate::collect::snapshot::{
        HistogramValue, MetricFamily, MetricKind, Series, Snapshot, Value,
    };
    use crate::store::histogram::{from_values, ExpBuckets, HistogramCells};

    const TIME: u64 = 1_700_000_000_000_000_000;
    const PROCESS_START: u64 = 1_690_000_000_000_000_000;

    fn options(flavour: HistogramFlavour) -> OtlpOptions {
        let mut options = OtlpOptions::default()
            .with_resource_attribute("service.name", "checkout")
            .with_resource_attribute("deployment.environment", "test")
            .with_histograms(flavour)
            .at(std::time::UNIX_EPOCH + std::time::Duration::from_nanos(TIME));
        assert_eq!(options.time_unix_nano, Some(TIME));
        options.start_time_unix_nano = PROCESS_START;
        options
    }

    fn family(
        name: &'static str,
        kind: MetricKind,
        unit: Option<&'static str>,
        series: Vec<Series>,
    ) -> MetricFamily {
        MetricFamily {
            name: Cow::Borrowed(name),
            help: Cow::Borrowed("Help."),
            unit,
            kind,
            series,
        }
    }

    fn series(
        labels: &[(&'static str, &'static str)],
        value: Value,
        created: Option<f64>,
    ) -> Series {
        Series {
            labels: labels
                .iter()
                .map(|&(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v)))
                .collect(),
            value,
            created,
        }
    }

    fn decode(snapshot: &Snapshot, options: &OtlpOptions) -> Vec<proto::Metric> {
        let bytes = encode(snapshot, options);
        let mut request = proto::ExportMetricsServiceRequest::decode(bytes.as_slice()).unwrap();
        assert_eq!(request.resource_metrics.len(), 1);
        let mut resource = request.resource_metrics.remove(0);
        assert_eq!(resource.scope_metrics.len(), 1);
        resource.scope_metrics.remove(0).metrics
    }

    fn attributes(attributes: &[proto::KeyValue]) -> Vec<(String, String)> {
        attributes
            .iter()
            .map(|kv| match &kv.value {
                Some(proto::AnyValue {
                    value: Some(proto::any_value::Value::String(v)),
                }) => (kv.key.clone(), v.clone()),
                other => panic!("{}: not a string: {other:?}", kv.key),
            })
            .collect()
    }

    fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn resource_scope_counters_and_gauges() {
        let snapshot = Snapshot {
            families: vec![
                family(
                    "function_calls",
                    MetricKind::Counter,
                    None,
                    vec![
                        series(
                            &[("function", "f"), ("result", "ok")],
                            Value::Counter(3.0),
                            Some(1_695_000_000.5),
                        ),
                        series(
                            &[("function", "g"), ("result", "")],
                            Value::Counter(0.0),
                            None,
                        ),
                    ],
                ),
                family("empty", MetricKind::Counter, None, vec![]),
                family(
                    "depth_bytes",
                    MetricKind::Gauge,
                    Some("bytes"),
                    vec![
                        series(&[], Value::Gauge(f64::NAN), None),
                        // After the export time: clamped to it.
                        series(&[("q", "a")], Value::Gauge(-2.5), Some(1_800_000_000.0)),
                    ],
                ),
            ],
        };
        let options = options(HistogramFlavour::Explicit);
        let bytes = encode(&snapshot, &options);
        let request = proto::ExportMetricsServiceRequest::decode(bytes.as_slice()).unwrap();
        let resource = &request.resource_metrics[0];
        let resource_attributes = attributes(&resource.resource.as_ref().unwrap().attributes);
        assert_eq!(
            resource_attributes,
            pairs(&[
                ("deployment.environment", "test"),
                ("service.name", "checkout"),
                ("telemetry.sdk.language", "rust"),
                ("telemetry.sdk.name", "telltale"),
                ("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
            ])
        );
        let scope = resource.scope_metrics[0].scope.as_ref().unwrap();
        assert_eq!(scope.name, "telltale");
        assert_eq!(scope.version, env!("CARGO_PKG_VERSION"));

        let metrics = &resource.scope_metrics[0].metrics;
        // The family without series is not sent.
        assert_eq!(metrics.len(), 2);
        let calls = &metrics[0];
        assert_eq!(
            (
                calls.name.as_str(),
                calls.description.as_str(),
                calls.unit.as_str()
            ),
            ("function_calls", "Help.", "")
        );
        let Some(Data::Sum(sum)) = &calls.data else {
            panic!("{calls:?}")
        };
        assert!(sum.is_monotonic);
        assert_eq!(
            sum.aggregation_temporality,
            AggregationTemporality::Cumulative as i32
        );
        assert_eq!(sum.data_points.len(), 2);
        let first = &sum.data_points[0];
        assert_eq!(
            attributes(&first.attributes),
            pairs(&[("function", "f"), ("result", "ok")])
        );
        assert_eq!(first.start_time_unix_nano, 1_695_000_000_500_000_000);
        assert_eq!(first.time_unix_nano, TIME);
        assert_eq!(first.value, Some(number_data_point::Value::AsDouble(3.0)));
        let second = &sum.data_points[1];
        assert_eq!(
            attributes(&second.attributes),
            pairs(&[("function", "g"), ("result", "")])
        );
        assert_eq!(second.start_time_unix_nano, PROCESS_START);
        assert_eq!(second.value, Some(number_data_point::Value::AsDouble(0.0)));

        let depth = &metrics[1];
        assert_eq!(
            (depth.name.as_str(), depth.unit.as_str()),
            ("depth_bytes", "By")
        );
        let Some(Data::Gauge(gauge)) = &depth.data else {
            panic!("{depth:?}")
        };
        assert!(attributes(&gauge.data_points[0].attributes).is_empty());
        assert!(matches!(
            gauge.data_points[0].value,
            Some(number_data_point::Value::AsDouble(v)) if v.is_nan()
        ));
        assert_eq!(gauge.data_points[1].start_time_unix_nano, TIME);
        assert_eq!(
            gauge.data_points[1].value,
            Some(number_data_point::Value::AsDouble(-2.5))
        );
    }

    fn histogram_family(value: HistogramValue) -> Snapshot {
        Snapshot {
            families: vec![family(
                "latency_seconds",
                MetricKind::Histogram,
                Some("seconds"),
                vec![
                    series(
                        &[("op", "read")],
                        Value::Histogram(value),
                        Some(1_699_999_999.0),
                    ),
                    // Not a histogram: left out.
                    series(&[("op", "bad")], Value::Counter(1.0), None),
                ],
            )],
        }
    }

    /// The `op="read"` point of [`histogram_family`]`(value)` sent with
    /// `flavour`, which must come out as explicit buckets.
    fn explicit_point(
        value: HistogramValue,
        flavour: HistogramFlavour,
    ) -> proto::HistogramDataPoint {
        let metrics = decode(&histogram_family(value), &options(flavour));
        let Some(Data::Histogram(histogram)) = &metrics[0].data else {
            panic!("{:?}", metrics[0])
        };
        histogram.data_points[0].clone()
    }

    /// The same, sent as an exponential histogram.
    fn exponential_point(value: HistogramValue) -> proto::ExponentialHistogramDataPoint {
        let metrics = decode(
            &histogram_family(value),
            &options(HistogramFlavour::Exponential),
        );
        let Some(Data::ExponentialHistogram(histogram)) = &metrics[0].data else {
            panic!("{:?}", metrics[0])
        };
        histogram.data_points[0].clone()
    }

    #[test]
    fn explicit_buckets_are_per_bucket_with_one_more_count_than_bounds() {
        // Observations 0.05, 0.2, 0.2, 2.0, 7.0 against bounds 0.1, 0.25, 1.
        let mut value = HistogramValue::from_exponential(
            from_values([0.05, 0.2, 0.2, 2.0, 7.0]),
            &[0.1, 0.25, 1.0],
        );
        value.exponential.min = Some(0.05);
        value.exponential.max = Some(7.0);
        let metrics = decode(
            &histogram_family(value),
            &options(HistogramFlavour::Explicit),
        );
        assert_eq!(metrics.len(), 1);
        assert_eq!(metrics[0].unit, "s");
        let Some(Data::Histogram(histogram)) = &metrics[0].data else {
            panic!("{:?}", metrics[0])
        };
        assert_eq!(
            histogram.aggregation_temporality,
            AggregationTemporality::Cumulative as i32
        );
        assert_eq!(histogram.data_points.len(), 1);
        let point = &histogram.data_points[0];
        assert_eq!(attributes(&point.attributes), pairs(&[("op", "read")]));
        assert_eq!(point.explicit_bounds, vec![0.1, 0.25, 1.0]);
        assert_eq!(point.bucket_counts, vec![1, 2, 0, 2]);
        assert_eq!(point.count, 5);
        assert_eq!(point.sum, Some(0.05 + 0.2 + 0.2 + 2.0 + 7.0));
        assert_eq!((point.min, point.max), (Some(0.05), Some(7.0)));
        assert_eq!(point.start_time_unix_nano, 1_699_999_999_000_000_000);
        assert_eq!(point.time_unix_nano, TIME);
    }

    #[test]
    fn explicit_buckets_skip_unusable_bounds() {
        let value = HistogramValue {
            count: 4,
            sum: 10.0,
            buckets: vec![
                (1.0, 1),
                (f64::NAN, 2),
                (0.5, 1),
                (2.0, 3),
                (f64::INFINITY, 4),
            ],
            exponential: ExpBuckets::default(),
        };
        let point = explicit_point(value, HistogramFlavour::Explicit);
        assert_eq!(point.explicit_bounds, vec![1.0, 2.0]);
        assert_eq!(point.bucket_counts, vec![1, 2, 1]);
        assert_eq!((point.min, point.max), (None, None));
    }

    #[test]
    fn exponential_buckets_map_store_indices_to_otlp_indices() {
        // 1.0 closes bucket -1 (2^(-1/32), 1]; 1.5 is in bucket 18
        // (32·log2 1.5 = 18.7); 3.0 in bucket 50 (32·log2 3 = 50.7); 0 in the
        // zero bucket; 1e30 above 2^64, reported just above the last
        // non-empty bucket, 51.
        let exponential = from_values([1.0, 1.5, 1.5, 3.0, 0.0, 1e30]);
        let value = HistogramValue::from_exponential(exponential, &[1.0]);
        let metrics = decode(
            &histogram_family(value),
            &options(HistogramFlavour::Exponential),
        );
        let Some(Data::ExponentialHistogram(histogram)) = &metrics[0].data else {
            panic!("{:?}", metrics[0])
        };
        assert_eq!(
            histogram.aggregation_temporality,
            AggregationTemporality::Cumulative as i32
        );
        let point = &histogram.data_points[0];
        assert_eq!(point.scale, 5);
        assert_eq!(point.count, 6);
        assert_eq!(point.zero_count, 1);
        assert_eq!(
            point.zero_threshold.to_bits(),
            crate::store::histogram::MIN_VALUE.to_bits()
        );
        assert_eq!(point.sum, Some(1.0 + 1.5 + 1.5 + 3.0 + 1e30));
        assert!(point.negative.is_none());
        let positive = point.positive.as_ref().unwrap();
        assert_eq!(positive.offset, -1);
        assert_eq!(positive.bucket_counts.len(), 51 + 1 + 1);
        let non_empty: Vec<(i32, u64)> = positive
            .bucket_counts
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(i, &n)| (positive.offset + i as i32, n))
            .collect();
        assert_eq!(non_empty, vec![(-1, 1), (18, 2), (50, 1), (51, 1)]);
        assert_eq!(
            point.zero_count + positive.bucket_counts.iter().sum::<u64>(),
            point.count
        );
    }

    #[test]
    fn huge_observations_add_one_bucket_not_thousands() {
        let exponential = |values: &[f64]| {
            let store = from_values(values.iter().copied());
            let point = exponential_point(HistogramValue::from_exponential(store, &[1.0]));
            let positive = point.positive.clone().unwrap();
            assert_eq!(
                point.zero_count + positive.bucket_counts.iter().sum::<u64>(),
                point.count
            );
            (positive.offset, positive.bucket_counts)
        };
        // 1.0 is bucket -1; +Inf and 2^70 overflow into bucket 0.
        let (offset, counts) = exponential(&[1.0, f64::INFINITY, 2f64.powi(70)]);
        assert_eq!((offset, counts), (-1, vec![1, 2]));
        // 1e-9 is bucket -957: the overflow still takes one more bucket.
        let (offset, counts) = exponential(&[1e-9, f64::INFINITY]);
        assert_eq!(offset, -957);
        assert_eq!(counts, [1, 1]);
        // Overflow alone: one bucket, just above 2^64.
        let (offset, counts) = exponential(&[f64::INFINITY, f64::INFINITY]);
        assert_eq!((offset, counts), (64 * 32, vec![2]));
    }

    #[test]
    fn explicit_bounds_are_those_of_the_text_formats() {
        let value = HistogramValue {
            count: 5,
            sum: 10.0,
            buckets: vec![
                (f64::NEG_INFINITY, 0),
                (f64::NEG_INFINITY, 0),
                (-1.0, 0),
                (f64::NAN, 1),
                (0.5, 2),
                (0.5, 2),
                (0.25, 2),
                (2.0, 3),
                (f64::INFINITY, 5),
            ],
            exponential: ExpBuckets::default(),
        };
        let shared: Vec<f64> = crate::encode::text::buckets(&value)
            .map(|(le, _)| le)
            .collect();
        assert_eq!(shared, [f64::NEG_INFINITY, -1.0, 0.5, 2.0]);
        let point = explicit_point(value, HistogramFlavour::Explicit);
        assert_eq!(point.explicit_bounds, shared);
        assert_eq!(point.bucket_counts, vec![0, 0, 2, 1, 2]);
    }

    #[test]
    fn every_value_lands_in_the_otlp_bucket_whose_bounds_contain_it() {
        let base = 2f64.powf(1.0 / 32.0);
        let mut v = 1e-9;
        while v < 1e15 {
            let store = from_values([v]);
            let (lower, upper, _) = store.buckets().next().unwrap();
            let index = otlp_index(lower, upper);
            let (lo, hi) = (base.powi(index), base.powi(index + 1));
            // Bounds computed by powi are within a few ulps of the exact ones.
            assert!(
                lo < v * (1.0 + 1e-12) && v <= hi * (1.0 + 1e-12),
                "{v}: bucket {index} = ({lo}, {hi}]"
            );
            assert_eq!(index, (v.log2() * 32.0).ceil() as i32 - 1, "{v}");
            v *= 1.173;
        }
    }

    #[test]
    fn duration_stores_in_clock_ticks_land_within_one_bucket() {
        let seconds_per_tick = crate::store::clock::seconds_per_tick();
        let ticks = [1_u64, 999, 1_000, 123_456, 10_000_000, 3_000_000_000];
        let cells = HistogramCells::new();
        for &t in &ticks {
            cells.record_ticks_in(0, t);
        }
        let exponential = cells.read_ticks();
        let point = exponential_point(HistogramValue::from_exponential(exponential, &[]));
        assert_eq!(point.count, ticks.len() as u64);
        assert_eq!(point.zero_count, 0);
        let positive = point.positive.as_ref().unwrap();
        let reported: Vec<i32> = positive
            .bucket_counts
            .iter()
            .enumerate()
            .flat_map(|(i, &n)| std::iter::repeat_n(positive.offset + i as i32, n as usize))
            .collect();
        assert_eq!(reported.len(), ticks.len());
        for (&t, &index) in ticks.iter().zip(&reported) {
            let seconds = t as f64 * seconds_per_tick;
            let exact = seconds.log2() * 32.0;
            // The exact position and the reported bucket (index, index + 1]
            // are at most one bucket apart.
            assert!(
                exact > f64::from(index) - 1.0 && exact <= f64::from(index) + 2.0,
                "{t} ticks = {seconds} s, 32·log2 = {exact}, reported in bucket {index}"
            );
        }
        assert_eq!(
            (point.min, point.max),
            (Some(seconds_per_tick), Some(3e9 * seconds_per_tick))
        );
    }

    #[test]
    fn hand_built_histograms_fall_back_to_explicit_buckets() {
        let value = HistogramValue {
            count: 3,
            sum: 0.75,
            buckets: vec![(0.5, 2)],
            exponential: ExpBuckets::default(),
        };
        let point = explicit_point(value, HistogramFlavour::Exponential);
        assert_eq!(point.bucket_counts, vec![2, 1]);
    }

    #[test]
    fn empty_histograms_have_no_buckets() {
        let value = HistogramValue::from_exponential(ExpBuckets::default(), &[1.0]);
        let point = exponential_point(value.clone());
        assert_eq!((point.count, point.zero_count), (0, 0));
        assert!(point.positive.is_none());
        let point = explicit_point(value, HistogramFlavour::Explicit);
        assert_eq!(point.bucket_counts, vec![0, 0]);
    }

    #[test]
    fn units_in_ucum() {
        assert_eq!(super::ucum_unit(Some("seconds")), "s");
        assert_eq!(super::ucum_unit(Some("bytes")), "By");
        assert_eq!(super::ucum_unit(Some("ratio")), "1");
        assert_eq!(super::ucum_unit(Some("celsius")), "celsius");
        assert_eq!(super::ucum_unit(None), "");
    }

    #[test]
    fn defaults() {
        let options = OtlpOptions::default();
        let now = crate::store::clock::unix_nanos(std::time::SystemTime::now());
        assert!(!options.resource["service.name"].is_empty());
        assert_eq!(options.resource["telemetry.sdk.name"], "telltale");
        assert_eq!(options.scope_name, "telltale");
        assert_eq!(options.histograms, HistogramFlavour::Explicit);
        assert_eq!(options.time_unix_nano, None);
        // Started before now, and after 2020.
        assert!(options.start_time_unix_nano <= now);
        assert!(options.start_time_unix_nano > 1_577_836_800_000_000_000);
        // Without a fixed time, points carry the clock's time, after the start.
        let snapshot = Snapshot {
            families: vec![family(
                "up",
                MetricKind::Gauge,
                None,
                vec![series(&[], Value::Gauge(1.0), None)],
            )],
        };
        let metrics = decode(&snapshot, &options);
        let Some(Data::Gauge(gauge)) = &metrics[0].data else {
            panic!()
        };
        let point = &gauge.data_points[0];
        assert!(point.time_unix_nano >= now);
        assert!(point.start_time_unix_nano <= point.time_unix_nano);
        assert_eq!(super::seconds_to_nanos(-1.0), None);
        assert_eq!(super::seconds_to_nanos(f64::NAN), None);
        assert_eq!(super::seconds_to_nanos(1.5), Some(1_500_000_000));
    }

    #[test]
    fn registered_metrics_encode_and_decode() {
        // At least one registered histogram with observations.
        let sizes = crate::metric::dynamic::histogram("otlp_test_registered_sizes")
            .help("Sizes.")
            .register()
            .unwrap();
        for v in [0.0, 0.5, 3.0, 1e30] {
            sizes.observe(v).unwrap();
        }
        let metrics_snapshot = Snapshot::collect();
        let bytes = encode(
            &metrics_snapshot,
            &OtlpOptions::default().with_histograms(HistogramFlavour::Exponential),
        );
        let request = proto::ExportMetricsServiceRequest::decode(bytes.as_slice()).unwrap();
        let mut checked = Vec::new();
        for metric in &request.resource_metrics[0].scope_metrics[0].metrics {
            if let Some(Data::ExponentialHistogram(h)) = &metric.data {
                for point in &h.data_points {
                    let buckets: u64 = point
                        .positive
                        .as_ref()
                        .map_or(0, |b| b.bucket_counts.iter().sum());
                    assert_eq!(point.count, point.zero_count + buckets, "{}", metric.name);
                    checked.push((metric.name.as_str(), point.count));
                }
            }
        }
        assert!(
            checked.contains(&("otlp_test_registered_sizes", 4)),
            "{checked:?}"
        );
    }
}
