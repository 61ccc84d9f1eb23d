//! Exposition formats: turning a [`Snapshot`] into text a scraper or a
//! person reads.
//!
//! [`encode`] appends one snapshot, in one [`Format`], to a caller-owned
//! `String`. [`render_into`] appends every registered metric, read now, and
//! [`render`] returns it: the two text formats are written straight from the
//! live metrics without building a snapshot, so a family that one metric
//! holds alone costs no allocation per series. Numbers are written with a small stack formatter and escapes
//! are copied slice by slice, so encoding allocates nothing per sample once
//! the buffer has grown to the size of an exposition.
//!
//! Four formats: the two exposition texts scrapers read
//! ([`Format::Prometheus`], [`Format::OpenMetrics`]) and two documents for
//! scripts, spreadsheets and dashboards ([`Format::Json`], [`Format::Csv`]),
//! whose schemas are a stable contract documented in [`json`]
//! and [`csv`]. The JSON and CSV documents carry the time of the
//! export; [`encode_at`] takes that time from the caller, [`encode`] reads the
//! system clock.
//!
//! # Rules both text formats follow
//!
//! - Label values escape `\` as `\\`, `"` as `\"` and a line feed as `\n`;
//!   every other character, Unicode included, is written as it is.
//! - Sample values are the shortest decimal text that reads back as the same
//!   `f64` (`5`, `0.25`, `1.5e+21`, `1e-05`), or `NaN`, `+Inf`, `-Inf`. Counts
//!   are integers.
//! - Histogram buckets are cumulative, in increasing `le`, and end with an
//!   `le="+Inf"` bucket equal to the count. `le` values use the canonical
//!   rendering of the OpenMetrics specification (`0.005`, `1.0`, `1e+06`) in
//!   *both* formats, so a bucket is the same series whichever format a
//!   scraper negotiates.
//! - A family's lines are contiguous, its metadata first; an empty help text
//!   writes no `HELP` line. A family without series still writes its metadata.
//!
//! The format-specific rules are on [`Format::Prometheus`] and
//! [`Format::OpenMetrics`].

use std::time::SystemTime;

use crate::collect::snapshot::Snapshot;
use crate::collect::visit::TextFormat;
use crate::store::clock::unix_millis;

pub mod csv;
mod format;
#[cfg(any(feature = "server", feature = "push"))]
pub(crate) mod gzip;
pub mod json;
mod live;
mod openmetrics;
#[cfg(feature = "push")]
pub(crate) mod otlp;
mod prometheus;
pub(crate) mod text;

pub use format::Format;
#[cfg(feature = "push")]
#[cfg_attr(docsrs, doc(cfg(feature = "push")))]
pub use otlp::{HistogramFlavour, OtlpOptions};

/// Appends `snapshot`, written in `format`, to `out`.
///
/// `out` is not cleared first: clear it yourself to reuse one buffer across
/// scrapes. [`Format::Json`] and [`Format::Csv`] stamp the document with the
/// system clock's time now (see [`encode_at`]). The snapshot is expected to keep the invariants
/// [`Snapshot`] documents (valid and unique names, unique label sets, no
/// `le` label on histograms); the encoder does not re-check them.
///
/// ```
/// use telltale::snapshot::{MetricFamily, MetricKind, Series, Snapshot, Value};
///
/// let snapshot = Snapshot {
///     families: vec![MetricFamily {
///         name: "jobs".into(),
///         help: "Jobs run.".into(),
///         unit: None,
///         kind: MetricKind::Counter,
///         series: vec![Series {
///             labels: vec![("queue".into(), "a\"b".into())],
///             value: Value::Counter(3.0),
///             created: None,
///         }],
///     }],
/// };
/// let mut out = String::new();
/// telltale::encode::encode(&snapshot, telltale::Format::Prometheus, &mut out);
/// assert_eq!(
///     out,
///     "# HELP jobs_total Jobs run.\n# TYPE jobs_total counter\njobs_total{queue=\"a\\\"b\"} 3\n",
/// );
/// ```
pub fn encode(snapshot: &Snapshot, format: Format, out: &mut String) {
    encode_at(snapshot, format, SystemTime::now(), out);
}

/// Like [`encode`], with the time of the export given: [`Format::Json`] and
/// [`Format::Csv`] write it as `timestamp_ms`; the text formats ignore it.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use telltale::snapshot::{MetricFamily, MetricKind, Series, Snapshot, Value};
///
/// let snapshot = Snapshot {
///     families: vec![MetricFamily {
///         name: "jobs".into(),
///         help: "Jobs run.".into(),
///         unit: None,
///         kind: MetricKind::Counter,
///         series: vec![Series {
///             labels: vec![("queue".into(), "a".into())],
///             value: Value::Counter(3.0),
///             created: None,
///         }],
///     }],
/// };
/// let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
/// let mut out = String::new();
/// telltale::encode::encode_at(&snapshot, telltale::Format::Json, at, &mut out);
/// assert_eq!(
///     out,
///     r#"{"schema":1,"timestamp_ms":1700000000123,"families":[{"name":"jobs","sample_name":"jobs_total","type":"counter","unit":null,"help":"Jobs run.","series":[{"labels":{"queue":"a"},"value":3,"created":null}]}]}"#
///         .to_owned() + "\n",
/// );
/// ```
pub fn encode_at(snapshot: &Snapshot, format: Format, at: SystemTime, out: &mut String) {
    match format {
        Format::Prometheus => prometheus::encode(snapshot, out),
        Format::OpenMetrics => openmetrics::encode(snapshot, out),
        Format::Json => json::encode(snapshot, unix_millis(at), out),
        Format::Csv => csv::encode(snapshot, unix_millis(at), out),
    }
}

/// The body of an OTLP/HTTP metrics request (`POST /v1/metrics`,
/// `Content-Type: application/x-protobuf`) for `snapshot`: protobuf bytes of
/// an `ExportMetricsServiceRequest`, uncompressed.
///
/// The push exporter sends these bodies on its schedule; call this to send
/// them yourself or to store them. [`OtlpOptions`] documents how families,
/// series, histograms, units and times map onto OTLP.
///
/// ```
/// use telltale::encode::{encode_otlp, OtlpOptions};
/// use telltale::snapshot::{MetricFamily, MetricKind, Series, Snapshot, Value};
///
/// let snapshot = Snapshot {
///     families: vec![MetricFamily {
///         name: "jobs".into(),
///         help: "Jobs run.".into(),
///         unit: None,
///         kind: MetricKind::Counter,
///         series: vec![Series { labels: vec![], value: Value::Counter(3.0), created: None }],
///     }],
/// };
/// let body = encode_otlp(&snapshot, &OtlpOptions::default());
/// // Field 1 of the request (`resource_metrics`), length-delimited.
/// assert_eq!(body[0], 0x0a);
/// assert!(body.windows(4).any(|w| w == b"jobs"));
/// ```
#[cfg(feature = "push")]
#[cfg_attr(docsrs, doc(cfg(feature = "push")))]
pub fn encode_otlp(snapshot: &Snapshot, options: &OtlpOptions) -> Vec<u8> {
    otlp::encode(snapshot, options)
}

/// Reads every registered metric now and returns it written in `format`.
///
/// ```
/// let text = telltale::render(telltale::Format::OpenMetrics);
/// assert!(text.ends_with("# EOF\n"));
/// ```
pub fn render(format: Format) -> String {
    let mut out = String::new();
    render_into(format, &mut out);
    out
}

/// Reads every registered metric now and appends it, written in `format`,
/// to `out`: [`render`] into a buffer the caller reuses.
///
/// The two text formats are written straight from the live metrics, without
/// an intermediate [`Snapshot`]: a family that one metric holds alone (a
/// [`MetricFamily`](crate::Family), for one) writes its series as it reads them, in
/// the family's internal order (not sorted); families that several metrics share
/// (the series of instrumented functions) are merged first, as
/// [`Snapshot::collect`] merges them, and written sorted by their labels.
/// Families come in name order either way, and the text holds the samples
/// [`encode`] writes for a [`Snapshot::collect`] taken at the same moment
/// (a family written alone that another metric turns out to join is read
/// again, when it does, and merged as a snapshot merges it).
/// [`Format::Json`] and [`Format::Csv`] go through a snapshot.
///
/// ```
/// let mut out = String::new();
/// telltale::encode::render_into(telltale::Format::Prometheus, &mut out);
/// let first = out.len();
/// out.clear();
/// telltale::encode::render_into(telltale::Format::Prometheus, &mut out);
/// assert_eq!(out.len(), first);
/// ```
pub fn render_into(format: Format, out: &mut String) {
    match format {
        Format::Json | Format::Csv => encode(&Snapshot::collect(), format, out),
        Format::Prometheus | Format::OpenMetrics => {
            if let Some(text) = text_format(format) {
                crate::collect::registry::render(text, out);
            }
        }
    }
}

/// The live-render form of a text format; `None` for JSON and CSV.
pub(crate) fn text_format(format: Format) -> Option<&'static dyn TextFormat> {
    match format {
        Format::Prometheus => Some(&live::PROMETHEUS),
        Format::OpenMetrics => Some(&live::OPENMETRICS),
        Format::Json | Format::Csv => None,
    }
}

/// Builders for hand-written snapshots in the encoders' tests.
#[cfg(test)]
mod fixture {
    use std::borrow::Cow;

    use crate::collect::snapshot::{HistogramValue, MetricFamily, MetricKind, Series, Value};
    use crate::store::histogram::ExpBuckets;

    pub(super) fn family(
        name: &'static str,
        help: &'static str,
        kind: MetricKind,
        series: Vec<Series>,
    ) -> MetricFamily {
        MetricFamily {
            name: Cow::Borrowed(name),
            help: Cow::Borrowed(help),
            unit: None,
            kind,
            series,
        }
    }

    pub(super) fn series(pairs: &[(&'static str, &'static str)], value: Value) -> Series {
        Series {
            labels: pairs
                .iter()
                .map(|&(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v)))
                .collect(),
            value,
            created: None,
        }
    }

    pub(super) fn histogram(count: u64, sum: f64, buckets: &[(f64, u64)]) -> Value {
        Value::Histogram(HistogramValue {
            count,
            sum,
            buckets: buckets.to_vec(),
            exponential: ExpBuckets::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::text::*;
    use super::*;

    fn value(x: f64) -> String {
        let mut out = String::new();
        write_float(&mut out, x, FloatStyle::Value);
        out
    }

    fn canonical(x: f64) -> String {
        let mut out = String::new();
        write_float(&mut out, x, FloatStyle::Canonical);
        out
    }

    #[test]
    fn special_values() {
        for style in [FloatStyle::Value, FloatStyle::Canonical] {
            let mut out = String::new();
            write_float(&mut out, f64::NAN, style);
            out.push(' ');
            write_float(&mut out, f64::INFINITY, style);
            out.push(' ');
            write_float(&mut out, f64::NEG_INFINITY, style);
            assert_eq!(out, "NaN +Inf -Inf");
        }
    }

    #[test]
    fn sample_values() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (5.0, "5"),
            (-3.0, "-3"),
            (0.25, "0.25"),
            (0.1, "0.1"),
            (1.5, "1.5"),
            (-2.75, "-2.75"),
            (0.0001, "0.0001"),
            (0.000_12, "0.00012"),
            (0.000_01, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e-300, "1e-300"),
            (123_456_789.0, "123456789"),
            (1_520_430_000.123, "1520430000.123"),
            (999_999_999_999_999.0, "999999999999999"),
            (1e15, "1000000000000000"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e21, "1.5e+21"),
            (-1.5e300, "-1.5e+300"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "5e-324"),
            (0.1 + 0.2, "0.30000000000000004"),
            (9_007_199_254_740_993.0, "9007199254740992"),
        ];
        for &(x, expected) in cases {
            assert_eq!(value(x), expected, "value {x:?}");
        }
    }

    #[test]
    fn sample_values_round_trip() {
        let mut x = 1.234_567_890_123_456_7e-12_f64;
        while x < 1e30 {
            for v in [x, -x, x * 3.0, 1.0 / x] {
                let text = value(v);
                assert_eq!(
                    text.parse::<f64>().unwrap().to_bits(),
                    v.to_bits(),
                    "{text}"
                );
            }
            x *= 7.3;
        }
    }

    #[test]
    fn canonical_numbers_from_the_openmetrics_spec() {
        // "Exposers SHOULD produce output for the values 0.0 up to 10.0 in
        // 0.001 increments in line with the following examples".
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (0.001, "0.001"),
            (0.002, "0.002"),
            (0.01, "0.01"),
            (0.1, "0.1"),
            (0.9, "0.9"),
            (0.95, "0.95"),
            (0.99, "0.99"),
            (0.999, "0.999"),
            (1.0, "1.0"),
            (1.7, "1.7"),
            (10.0, "10.0"),
            // "... the values 1e-10 up to 1e+10 in powers of ten".
            (1e-10, "1e-10"),
            (1e-9, "1e-09"),
            (1e-5, "1e-05"),
            (1e-4, "0.0001"),
            (1e5, "100000.0"),
            (1e6, "1e+06"),
            (1e10, "1e+10"),
            // The histogram example of the spec.
            (1e23, "1e+23"),
            (1.1e23, "1.1e+23"),
            // Prometheus' default buckets.
            (0.005, "0.005"),
            (0.025, "0.025"),
            (0.25, "0.25"),
            (2.5, "2.5"),
            (5.0, "5.0"),
            // Go's %g switches to exponents at 1e6 and keeps all digits.
            (123_456.0, "123456.0"),
            (1_234_567.0, "1.234567e+06"),
            (1_555_555.555_555_52, "1.55555555555552e+06"),
            (0.000_11, "0.00011"),
            (-1.0, "-1.0"),
            (-0.5, "-0.5"),
        ];
        for &(x, expected) in cases {
            assert_eq!(canonical(x), expected, "le {x:?}");
        }
    }

    #[test]
    fn canonical_numbers_over_the_spec_range_round_trip() {
        // Every value 0.000 ..= 10.000 in 0.001 steps: round-trips, and is
        // written with a point or an exponent.
        for i in 0..=10_000_u32 {
            let x = f64::from(i) / 1000.0;
            let text = canonical(x);
            assert_eq!(
                text.parse::<f64>().unwrap().to_bits(),
                x.to_bits(),
                "{text}"
            );
            assert!(text.contains('.') || text.contains('e'), "{text}");
        }
    }

    #[test]
    fn escaping() {
        let mut out = String::new();
        write_escaped(&mut out, "a\\b\"c\nd ü ☃ \t\r", Escape::Quoted);
        assert_eq!(out, "a\\\\b\\\"c\\nd ü ☃ \t\r");
        out.clear();
        write_escaped(&mut out, "a\\b\"c\nd ü", Escape::Help004);
        assert_eq!(out, "a\\\\b\"c\\nd ü");
        out.clear();
        write_escaped(&mut out, "", Escape::Quoted);
        write_escaped(&mut out, "\\", Escape::Quoted);
        write_escaped(&mut out, "\n\n", Escape::Help004);
        assert_eq!(out, "\\\\\\n\\n");
    }

    #[test]
    fn negotiation() {
        let om = Format::OpenMetrics;
        let prom = Format::Prometheus;
        let cases: &[(Option<&str>, Format)] = &[
            (None, prom),
            (Some(""), prom),
            (Some("*/*"), prom),
            (Some("text/plain"), prom),
            (Some("text/html,application/xhtml+xml,*/*;q=0.8"), prom),
            (Some("application/openmetrics-text"), om),
            (Some("Application/OpenMetrics-Text; Version=1.0.0"), om),
            // What Prometheus 2.x sends.
            (
                Some(
                    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                     version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                ),
                om,
            ),
            // What Prometheus sends with `scrape_protocols: [PrometheusText0.0.4]`.
            (Some("text/plain;version=0.0.4;q=1,*/*;q=0.1"), prom),
            (
                Some("text/plain;version=0.0.4,application/openmetrics-text;q=0.5"),
                prom,
            ),
            (Some("application/openmetrics-text;q=0"), prom),
            (Some("application/openmetrics-text;q=0.3, */*;q=0.2"), om),
            (Some("application/openmetrics-text;q=bogus"), prom),
            (Some("text/plain, application/openmetrics-text"), om),
        ];
        for &(accept, expected) in cases {
            assert_eq!(Format::negotiate(accept), expected, "{accept:?}");
        }
    }

    #[test]
    fn negotiation_of_json_and_csv() {
        let om = Format::OpenMetrics;
        let prom = Format::Prometheus;
        let json = Format::Json;
        let csv = Format::Csv;
        let cases: &[(&str, Format)] = &[
            ("application/json", json),
            ("Application/JSON; charset=utf-8", json),
            ("text/csv", csv),
            ("text/csv;header=present", csv),
            // Explicit and above every text format it also accepts.
            ("application/json, */*;q=0.8", json),
            ("text/csv;q=0.9, text/plain;q=0.5", csv),
            (
                "application/json;q=0.5, application/openmetrics-text;q=0.4",
                json,
            ),
            // Not above: text wins, as the text rules choose it.
            ("application/json, text/plain", prom),
            ("application/json;q=0.5, text/plain;q=0.5", prom),
            (
                "application/json;q=0.5, application/openmetrics-text;q=0.5",
                om,
            ),
            ("text/csv;q=0.1, */*", prom),
            ("text/csv, text/*", prom),
            // Zero or bad quality is not acceptance.
            ("application/json;q=0", prom),
            ("application/json;q=2", prom),
            ("text/csv;q=x", prom),
            // Both named: the higher quality, JSON on a tie.
            ("text/csv, application/json;q=0.9", csv),
            ("text/csv;q=0.9, application/json", json),
            ("text/csv, application/json", json),
            // Wildcards and look-alikes never select them.
            ("*/*", prom),
            ("application/*", prom),
            ("application/json-seq", prom),
            ("application/problem+json", prom),
            // A browser.
            (
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                prom,
            ),
            // What Prometheus 2.x sends, whatever else is around it.
            (
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                 version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                om,
            ),
        ];
        for &(accept, expected) in cases {
            assert_eq!(Format::negotiate(Some(accept)), expected, "{accept:?}");
        }
    }

    #[test]
    fn names_and_extensions() {
        for format in [
            Format::Prometheus,
            Format::OpenMetrics,
            Format::Json,
            Format::Csv,
        ] {
            assert_eq!(Format::from_name(format.name()), Some(format));
            assert_eq!(
                Format::from_name(&format.name().to_ascii_uppercase()),
                Some(format)
            );
        }
        assert_eq!(Format::from_name("json"), Some(Format::Json));
        assert_eq!(Format::from_name("csv"), Some(Format::Csv));
        assert_eq!(Format::from_name("prometheus"), Some(Format::Prometheus));
        assert_eq!(Format::from_name("openmetrics"), Some(Format::OpenMetrics));
        assert_eq!(Format::from_name(""), None);
        assert_eq!(Format::from_name("text"), None);
        assert_eq!(Format::from_name("json "), None);
        assert_eq!(Format::Csv.file_extension(), "csv");
        assert_eq!(Format::Json.file_extension(), "json");
        assert_eq!(Format::Prometheus.file_extension(), "prom");
    }

    #[test]
    #[cfg(any(feature = "server", feature = "push"))]
    fn gzip_round_trips() {
        use super::gzip::gzip;
        use std::io::Read as _;
        let text = "a_total 1\n".repeat(1_000);
        let compressed = gzip(text.as_bytes());
        assert!(compressed.len() < text.len() / 10);
        let mut back = String::new();
        flate2::read::GzDecoder::new(compressed.as_slice())
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, text);
    }

    #[test]
    fn content_types() {
        assert_eq!(
            Format::Prometheus.content_type(),
            "text/plain; version=0.0.4; charset=utf-8"
        );
        assert_eq!(
            Format::OpenMetrics.content_type(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        assert_eq!(Format::Json.content_type(), "application/json");
        assert_eq!(
            Format::Csv.content_type(),
            "text/csv; charset=utf-8; header=present"
        );
    }
}
