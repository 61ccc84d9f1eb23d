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

use std::fmt::{self, Write as _};

use std::time::{SystemTime, UNIX_EPOCH};

use crate::collect::snapshot::{Family, HistogramValue, MetricKind, Snapshot};

pub use crate::export::push::otlp::{HistogramFlavour, OtlpOptions};

pub mod csv;
pub mod json;
mod openmetrics;
mod prometheus;

/// A format that [`encode`] and [`render`] can write.
///
/// More formats may be added, so the enum is `#[non_exhaustive]`.
///
/// ```
/// use telltale::Format;
///
/// assert_eq!(Format::Prometheus.content_type(), "text/plain; version=0.0.4; charset=utf-8");
/// assert_eq!(
///     Format::negotiate(Some("application/openmetrics-text;version=1.0.0,text/plain;q=0.5")),
///     Format::OpenMetrics,
/// );
/// assert_eq!(Format::negotiate(Some("application/json")), Format::Json);
/// assert_eq!(Format::from_name("csv"), Some(Format::Csv));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Format {
    /// The Prometheus text format, version 0.0.4.
    ///
    /// Counters are named `<family>_total` on their `HELP`, `TYPE` and sample
    /// lines; `HELP` escapes only `\` and the line feed; histograms write
    /// `_bucket` lines, then `_sum` and `_count`; `_created` is not written.
    /// The text ends with a line feed (an empty snapshot is the empty text).
    #[default]
    Prometheus,
    /// OpenMetrics 1.0 text.
    ///
    /// Metadata is written in the order `TYPE`, `UNIT`, `HELP`; `UNIT` only when
    /// the family has a unit and its name ends with `_<unit>`; `HELP` escapes
    /// `\`, `"` and the line feed. A counter family `foo` writes `foo_total`
    /// and, when the series knows its creation time, `foo_created`; histograms
    /// write `_bucket` lines, `_count`, `_sum` and `_created`. The text ends with
    /// `# EOF` and a line feed and has no blank line.
    ///
    /// Values the specification forbids are left out rather than making the
    /// whole exposition invalid: a counter series whose total is `NaN` or
    /// negative is skipped, and a histogram whose sum is `NaN` or negative, or
    /// which has a bucket below zero, is written without `_sum` and `_count`.
    OpenMetrics,
    /// One JSON document: the export time and every family with its series,
    /// histograms with count, sum, quantiles and classic buckets. The schema
    /// is documented, with an example, in [`json`].
    Json,
    /// CSV (RFC 4180): a header row, then one row per series with fixed
    /// columns. The schema is documented, with an example, in
    /// [`csv`].
    Csv,
}

impl Format {
    /// The value of the HTTP `Content-Type` header for this format.
    pub fn content_type(&self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8; header=present",
        }
    }

    /// The format named `name`, as a `?format=` query parameter would give
    /// it: `prometheus`, `openmetrics`, `json` or `csv`, in any case.
    ///
    /// ```
    /// use telltale::Format;
    ///
    /// assert_eq!(Format::from_name("JSON"), Some(Format::Json));
    /// assert_eq!(Format::from_name("openmetrics"), Some(Format::OpenMetrics));
    /// assert_eq!(Format::from_name("xml"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Format> {
        [
            Format::Prometheus,
            Format::OpenMetrics,
            Format::Json,
            Format::Csv,
        ]
        .into_iter()
        .find(|format| format.name().eq_ignore_ascii_case(name))
    }

    /// The format's name, as [`Format::from_name`] reads it.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Prometheus => "prometheus",
            Format::OpenMetrics => "openmetrics",
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }

    /// The usual extension of a file holding this format, without the dot:
    /// `prom` (the Prometheus text, as node_exporter's textfile collector
    /// reads it), `txt` (OpenMetrics), `json`, `csv`.
    pub fn file_extension(&self) -> &'static str {
        match self {
            Format::Prometheus => "prom",
            Format::OpenMetrics => "txt",
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }

    /// Chooses a format from the value of an HTTP `Accept` header.
    ///
    /// JSON or CSV is chosen only when the header names `application/json`
    /// or `text/csv` explicitly, with a quality strictly above that of every
    /// text format it accepts (`application/openmetrics-text`, `text/plain`,
    /// `text/*`, `*/*`); when it names both that way, the higher quality wins
    /// and JSON wins a tie. Wildcards never select them, so a scraper that
    /// accepts `*/*` as a fallback still gets text.
    ///
    /// Otherwise OpenMetrics is chosen when the header accepts
    /// `application/openmetrics-text` (any `version`) with a quality above zero
    /// and at least as high as that of every other text format it accepts
    /// (`text/plain`, `text/*`, `*/*`). Everything else, a missing header
    /// included, gets [`Format::Prometheus`], which every scraper understands.
    ///
    /// ```
    /// use telltale::Format;
    ///
    /// // What Prometheus 2.x sends.
    /// let prometheus = "application/openmetrics-text;version=1.0.0,\
    ///     application/openmetrics-text;version=0.0.1;q=0.75,\
    ///     text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    /// assert_eq!(Format::negotiate(Some(prometheus)), Format::OpenMetrics);
    /// assert_eq!(Format::negotiate(Some("*/*")), Format::Prometheus);
    /// assert_eq!(Format::negotiate(Some("text/csv, */*;q=0.5")), Format::Csv);
    /// assert_eq!(Format::negotiate(Some("text/csv, text/plain")), Format::Prometheus);
    /// ```
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Prometheus;
        };
        let mut openmetrics = 0.0_f64;
        let mut text = 0.0_f64;
        let mut json = 0.0_f64;
        let mut csv = 0.0_f64;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim();
            let mut quality = 1.0_f64;
            for param in parts {
                if let Some((key, value)) = param.split_once('=') {
                    if key.trim().eq_ignore_ascii_case("q") {
                        quality = value.trim().parse::<f64>().unwrap_or(0.0);
                        if !(0.0..=1.0).contains(&quality) {
                            quality = 0.0;
                        }
                    }
                }
            }
            if media.eq_ignore_ascii_case("application/openmetrics-text") {
                openmetrics = openmetrics.max(quality);
            } else if media.eq_ignore_ascii_case("text/plain")
                || media.eq_ignore_ascii_case("text/*")
                || media == "*/*"
            {
                text = text.max(quality);
            } else if media.eq_ignore_ascii_case("application/json") {
                json = json.max(quality);
            } else if media.eq_ignore_ascii_case("text/csv") {
                csv = csv.max(quality);
            }
        }
        let any_text = openmetrics.max(text);
        if json > any_text && json >= csv {
            Format::Json
        } else if csv > any_text && csv > json {
            Format::Csv
        } else if openmetrics > 0.0 && openmetrics >= text {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }
}

/// Appends `snapshot`, written in `format`, to `out`.
///
/// `out` is not cleared first: clear it yourself to reuse one buffer across
/// scrapes. [`Format::Json`] and [`Format::Csv`] stamp the document with the
/// system clock's time now (see [`encode_at`]). The snapshot is expected to keep the invariants
/// [`Snapshot`] documents (valid and unique names, unique label sets, no
/// `le` label on histograms); the encoder does not re-check them.
///
/// ```
/// use telltale::snapshot::{Family, MetricKind, Series, Snapshot, Value};
///
/// let snapshot = Snapshot {
///     families: vec![Family {
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
/// use telltale::snapshot::{Family, MetricKind, Series, Snapshot, Value};
///
/// let snapshot = Snapshot {
///     families: vec![Family {
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
///     r#"{"schema":1,"timestamp_ms":1700000000123,"families":[{"name":"jobs","type":"counter","unit":null,"help":"Jobs run.","series":[{"labels":{"queue":"a"},"value":3,"created":null}]}]}"#
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
/// use telltale::snapshot::{Family, MetricKind, Series, Snapshot, Value};
///
/// let snapshot = Snapshot {
///     families: vec![Family {
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
pub fn encode_otlp(snapshot: &Snapshot, options: &OtlpOptions) -> Vec<u8> {
    crate::export::push::otlp::encode(snapshot, options)
}

// ---------------------------------------------------------------------------
// Times and compression, shared by the encoders, the server and the push
// exporters.

/// Milliseconds since the Unix epoch (negative before it), saturating: the
/// JSON and CSV export time, the remote-write sample timestamps.
pub(crate) fn unix_millis(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// Nanoseconds since the Unix epoch, saturating; 0 before it (OTLP times
/// are unsigned).
pub(crate) fn unix_nanos(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Seconds since the Unix epoch (negative before it), for status reports.
pub(crate) fn unix_seconds(at: SystemTime) -> f64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    }
}

/// `bytes`, gzip-compressed at the fastest level (expositions and metric
/// payloads are repetitive and compress well even so).
pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    // Writing into a `Vec` cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// The quantiles [`Format::Json`] and [`Format::Csv`] write, with their names.
const QUANTILES: [(&str, f64); 5] = [
    ("p50", 0.5),
    ("p90", 0.9),
    ("p95", 0.95),
    ("p99", 0.99),
    ("p999", 0.999),
];

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
/// [`Family`](crate::Family), for one) writes its series as it reads them, in
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
        Format::Prometheus | Format::OpenMetrics => crate::collect::registry::render(format, out),
        Format::Json | Format::Csv => encode(&Snapshot::collect(), format, out),
    }
}

/// Appends the metadata lines of a family, in a text format.
pub(crate) fn text_header(
    format: Format,
    out: &mut String,
    name: &str,
    help: &str,
    unit: Option<&str>,
    kind: MetricKind,
) {
    if format == Format::OpenMetrics {
        openmetrics::header(out, name, help, unit, kind);
    } else {
        prometheus::header(out, name, help, kind);
    }
}

/// Appends a whole family, metadata and series, in a text format.
pub(crate) fn text_family(format: Format, family: &Family, out: &mut String) {
    if format == Format::OpenMetrics {
        openmetrics::encode_family(family, out);
    } else {
        prometheus::encode_family(family, out);
    }
}

/// Appends what a text format writes after the last family.
pub(crate) fn text_end(format: Format, out: &mut String) {
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
}

/// The series of one family written straight into exposition text, as a
/// render reads them from the live cells: each series' labels are given one
/// by one ([`SeriesText::start`], [`SeriesText::label`]), then its value.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct SeriesText<'a> {
    openmetrics: bool,
    name: &'a str,
    out: &'a mut String,
    labels: String,
    repeated: Repeated,
}

impl<'a> SeriesText<'a> {
    /// Series of the family `name` (counters without `_total`), appended
    /// to `out` in `format` (Prometheus unless OpenMetrics).
    pub(crate) fn new(format: Format, name: &'a str, out: &'a mut String) -> Self {
        SeriesText {
            openmetrics: format == Format::OpenMetrics,
            name,
            out,
            labels: String::new(),
            repeated: Repeated::default(),
        }
    }

    /// Starts a series: forgets the labels of the one before.
    #[inline]
    pub(crate) fn start(&mut self) {
        self.labels.clear();
    }

    /// Adds a label of the series being started; `value` is escaped.
    #[inline]
    pub(crate) fn label(&mut self, name: &str, value: &str) {
        if !self.labels.is_empty() {
            self.labels.push(',');
        }
        self.labels.push_str(name);
        self.labels.push_str("=\"");
        write_escaped(&mut self.labels, value, Escape::Quoted);
        self.labels.push('"');
    }

    /// Writes the series as a counter.
    #[inline]
    pub(crate) fn counter(&mut self, total: f64, created: Option<f64>) {
        if self.openmetrics {
            openmetrics::counter(
                self.out,
                self.name,
                &self.labels,
                (total, created),
                &mut self.repeated,
            );
        } else {
            prometheus::counter(self.out, self.name, &self.labels, total);
        }
    }

    /// Writes the series as a gauge.
    #[inline]
    pub(crate) fn gauge(&mut self, value: f64) {
        gauge_lines(self.out, self.name, &self.labels, value);
    }

    /// Writes the series as a histogram: `buckets` are cumulative `(le,
    /// count)` pairs in increasing, finite `le`.
    pub(crate) fn histogram(
        &mut self,
        (count, sum, created): (u64, f64, Option<f64>),
        buckets: impl Iterator<Item = (f64, u64)>,
    ) {
        if self.openmetrics {
            openmetrics::histogram_lines(
                self.out,
                self.name,
                &self.labels,
                &mut self.repeated,
                (count, sum, created),
                buckets,
            );
        } else {
            prometheus::histogram_lines(
                self.out,
                self.name,
                &self.labels,
                &mut self.repeated,
                (count, sum),
                buckets,
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Shared writing helpers.

/// Which characters a piece of text must escape.
#[derive(Clone, Copy)]
enum Escape {
    /// `\`, line feed and `"`: label values in both formats, OpenMetrics HELP.
    Quoted,
    /// `\` and line feed only: Prometheus 0.0.4 HELP.
    Help004,
}

/// Appends `text`, escaped, to `out`.
fn write_escaped(out: &mut String, text: &str, escape: Escape) {
    let mut start = 0;
    // Only ASCII bytes are replaced, and no byte of a multi-byte UTF-8
    // sequence is ASCII, so every slice boundary below is a char boundary.
    for (i, byte) in text.bytes().enumerate() {
        let replacement = match byte {
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'"' if matches!(escape, Escape::Quoted) => "\\\"",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        out.push_str(replacement);
        start = i + 1;
    }
    out.push_str(&text[start..]);
}

/// Appends a label set as it is written between braces: `name="value"`
/// pairs joined by `,`, each value escaped. Empty for an empty set.
fn write_labels(
    out: &mut String,
    labels: &[(
        std::borrow::Cow<'static, str>,
        std::borrow::Cow<'static, str>,
    )],
) {
    for (i, (key, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(key);
        out.push_str("=\"");
        write_escaped(out, value, Escape::Quoted);
        out.push('"');
    }
}

/// `labels` written by [`write_labels`] into `scratch`, which is cleared
/// first: the label text of a series with several lines, written once and
/// copied to each.
fn labels_text<'a>(
    scratch: &'a mut String,
    labels: &[(
        std::borrow::Cow<'static, str>,
        std::borrow::Cow<'static, str>,
    )],
) -> &'a str {
    scratch.clear();
    write_labels(scratch, labels);
    scratch
}

// The line writers below are `#[inline]`: they run for every sample line, called
// from the format modules, which may be other codegen units.

/// Appends `name` + `suffix`, then, in braces when either is non-empty, the
/// series' `labels` (as [`labels_text`] wrote them) and an `extra` label
/// (a bucket's `le`, as [`LeLabels`] writes it), then a space: everything
/// of a sample line before its value.
#[inline]
fn write_sample_start(out: &mut String, name: &str, suffix: &str, labels: &str, extra: &str) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() || !extra.is_empty() {
        out.push('{');
        out.push_str(labels);
        if !labels.is_empty() && !extra.is_empty() {
            out.push(',');
        }
        out.push_str(extra);
        out.push('}');
    }
    out.push(' ');
}

/// Appends a gauge series with these `labels` (as [`labels_text`] writes
/// them), the same in both text formats.
#[inline]
fn gauge_lines(out: &mut String, name: &str, labels: &str, value: f64) {
    write_sample_start(out, name, "", labels, "");
    write_value_line(out, value);
}

/// Appends the `_bucket` lines of a histogram series: its `buckets`
/// (cumulative, increasing `le`, without `+Inf`), then `+Inf` at `count`.
/// Returns whether a bound is below zero.
fn bucket_lines(
    out: &mut String,
    name: &str,
    labels: &str,
    repeated: &mut Repeated,
    count: u64,
    buckets: impl Iterator<Item = (f64, u64)>,
) -> bool {
    let mut negative = false;
    for (i, (le, n)) in buckets
        .chain(std::iter::once((f64::INFINITY, count)))
        .enumerate()
    {
        negative |= le < 0.0;
        write_sample_start(out, name, "_bucket", labels, repeated.le(i, le));
        write_count_line(out, n);
    }
    negative
}

/// Label and value texts that repeat from series to series of a family,
/// written once and copied: the `le="..."` labels of the buckets, by bucket
/// index, and the last creation time written.
#[derive(Default)]
struct Repeated {
    les: Vec<(u64, String)>,
    created: (u64, String),
}

impl Repeated {
    /// The `le` label of bucket `i`, whose bound is `le`.
    fn le(&mut self, i: usize, le: f64) -> &str {
        if self.les.len() <= i {
            self.les
                .resize_with(i + 1, || (f64::NAN.to_bits(), String::new()));
        }
        let (bits, text) = &mut self.les[i];
        if *bits != le.to_bits() || text.is_empty() {
            text.clear();
            text.push_str("le=\"");
            write_float(text, le, FloatStyle::Canonical);
            text.push('"');
            *bits = le.to_bits();
        }
        text
    }

    /// `created` as a sample value, with its line feed.
    fn created(&mut self, created: f64) -> &str {
        let (bits, text) = &mut self.created;
        if *bits != created.to_bits() || text.is_empty() {
            text.clear();
            write_value_line(text, created);
            *bits = created.to_bits();
        }
        text
    }
}

/// Appends a line feed-terminated sample value.
fn write_value_line(out: &mut String, value: f64) {
    write_float(out, value, FloatStyle::Value);
    out.push('\n');
}

/// Appends a line feed-terminated integer sample value.
#[inline]
fn write_count_line(out: &mut String, count: u64) {
    write_digits(out, count);
    out.push('\n');
}

/// Appends the decimal digits of `n`.
#[inline]
fn write_digits(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // SAFETY: `digits[at..]` holds ASCII digits only.
    out.push_str(unsafe { std::str::from_utf8_unchecked(&digits[at..]) });
}

/// The cumulative classic buckets of `histogram` that are exported, by every
/// format (the text formats, JSON, remote-write and OTLP's explicit bounds
/// alike): `le` not NaN, not `+Inf` (each format adds that bucket from the
/// count) and strictly increasing; a bound that is not is skipped. A leading
/// `-Inf` is kept (it counts the observations equal to `-Inf`). Registered
/// histograms only have finite bounds; the rule matters for snapshots built
/// by hand.
pub(crate) fn buckets(histogram: &HistogramValue) -> impl Iterator<Item = (f64, u64)> + '_ {
    exported_bounds(histogram.buckets.iter().copied())
}

/// The buckets of `all` that are exported, by the rule of [`buckets`].
pub(crate) fn exported_bounds(
    all: impl Iterator<Item = (f64, u64)>,
) -> impl Iterator<Item = (f64, u64)> {
    let mut previous = f64::NEG_INFINITY;
    let mut first = true;
    all.filter(move |&(le, _)| {
        let keep = !le.is_nan() && le != f64::INFINITY && (first || le > previous);
        if keep {
            previous = le;
            first = false;
        }
        keep
    })
}

/// How [`write_float`] lays out a finite number.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FloatStyle {
    /// Sample values: plain decimal for decimal exponents -4 ..= 20
    /// (`0.0001`, `1234567`, `5`), scientific outside (`1e-05`, `1e+21`).
    Value,
    /// `le` and `quantile` label values, as the OpenMetrics "Canonical
    /// Numbers" section asks: Go's `%g` with the shortest precision (scientific
    /// for decimal exponents below -4 or from 6 up), with `.0` appended when
    /// the text has neither a point nor an exponent (`1.0`, `0.005`,
    /// `100000.0`, `1e+06`, `1e-05`).
    Canonical,
}

/// Appends `value` to `out`: `NaN`, `+Inf`, `-Inf`, or the shortest decimal
/// digits that read back as exactly `value`, laid out per `style`.
pub(crate) fn write_float(out: &mut String, value: f64, style: FloatStyle) {
    if value.is_nan() {
        out.push_str("NaN");
        return;
    }
    if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    if style == FloatStyle::Value && value.fract() == 0.0 && value.abs() < 1e15 {
        // Exact integer: its digits are already the shortest round-trip text.
        // (This also writes -0.0 as `0`.)
        if value <= -1.0 {
            out.push('-');
        }
        write_digits(out, value.abs() as u64);
        return;
    }
    let decimal = Decimal::of(value);
    let scientific_from = match style {
        FloatStyle::Value => 21,
        FloatStyle::Canonical => 6,
    };
    if decimal.exponent < -4 || decimal.exponent >= scientific_from {
        decimal.write_scientific(out);
    } else {
        decimal.write_plain(out, style == FloatStyle::Canonical);
    }
}

/// A finite `f64` as its shortest round-trip decimal digits:
/// `±d.ddd × 10^exponent`.
struct Decimal {
    negative: bool,
    /// ASCII digits, first one non-zero unless the value is zero; at most 17.
    digits: [u8; 24],
    len: usize,
    exponent: i32,
}

impl Decimal {
    fn of(value: f64) -> Decimal {
        // `{:e}` without a precision prints the shortest digits that
        // round-trip, like `-1.2345e-7` or `5e0`.
        let mut buf = StackBuf::<40>::new();
        let _ = write!(buf, "{value:e}");
        let text = buf.as_bytes();
        let mut decimal = Decimal {
            negative: false,
            digits: [0; 24],
            len: 0,
            exponent: 0,
        };
        let mut i = 0;
        if text.first() == Some(&b'-') {
            decimal.negative = true;
            i = 1;
        }
        while i < text.len() && text[i] != b'e' {
            if text[i].is_ascii_digit() && decimal.len < decimal.digits.len() {
                decimal.digits[decimal.len] = text[i];
                decimal.len += 1;
            }
            i += 1;
        }
        let mut exponent_negative = false;
        let mut exponent = 0_i32;
        for &byte in text.get(i + 1..).unwrap_or(&[]) {
            match byte {
                b'-' => exponent_negative = true,
                b'0'..=b'9' => exponent = exponent * 10 + i32::from(byte - b'0'),
                _ => {}
            }
        }
        decimal.exponent = if exponent_negative {
            -exponent
        } else {
            exponent
        };
        if decimal.len == 0 {
            decimal.digits[0] = b'0';
            decimal.len = 1;
        }
        decimal
    }

    fn digits(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.digits[..self.len]).unwrap_or("0")
    }

    /// `d.ddde±XX`, the exponent with at least two digits (Go's `%e`).
    fn write_scientific(&self, out: &mut String) {
        let digits = self.digits();
        if self.negative {
            out.push('-');
        }
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if self.exponent < 0 { '-' } else { '+' });
        let magnitude = self.exponent.unsigned_abs();
        if magnitude < 10 {
            out.push('0');
        }
        let _ = write!(out, "{magnitude}");
    }

    /// Positional notation; `point_zero` appends `.0` to integers.
    fn write_plain(&self, out: &mut String, point_zero: bool) {
        let digits = self.digits();
        if self.negative {
            out.push('-');
        }
        if self.exponent < 0 {
            out.push_str("0.");
            for _ in 0..(-self.exponent - 1) {
                out.push('0');
            }
            out.push_str(digits);
            return;
        }
        let integer_len = self.exponent as usize + 1;
        if digits.len() > integer_len {
            out.push_str(&digits[..integer_len]);
            out.push('.');
            out.push_str(&digits[integer_len..]);
        } else {
            out.push_str(digits);
            for _ in digits.len()..integer_len {
                out.push('0');
            }
            if point_zero {
                out.push_str(".0");
            }
        }
    }
}

/// A fixed-size `fmt::Write` target on the stack.
struct StackBuf<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> StackBuf<N> {
    fn new() -> Self {
        StackBuf {
            bytes: [0; N],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl<const N: usize> fmt::Write for StackBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > N {
            return Err(fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Builders for hand-written snapshots in the encoders' tests.
#[cfg(test)]
mod fixture {
    use std::borrow::Cow;

    use crate::collect::snapshot::{Family, HistogramValue, MetricKind, Series, Value};
    use crate::store::histogram::ExpBuckets;

    pub(super) fn family(
        name: &'static str,
        help: &'static str,
        kind: MetricKind,
        series: Vec<Series>,
    ) -> Family {
        Family {
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
    fn export_time_in_milliseconds() {
        use std::time::Duration;
        assert_eq!(unix_millis(UNIX_EPOCH), 0);
        assert_eq!(
            unix_millis(UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_999)),
            1_700_000_000_123
        );
        assert_eq!(unix_millis(UNIX_EPOCH - Duration::from_millis(5)), -5);
        assert_eq!(unix_nanos(UNIX_EPOCH + Duration::from_nanos(7)), 7);
        assert_eq!(unix_nanos(UNIX_EPOCH - Duration::from_nanos(7)), 0);
        assert!((unix_seconds(UNIX_EPOCH + Duration::from_millis(1_500)) - 1.5).abs() < 1e-12);
        assert!((unix_seconds(UNIX_EPOCH - Duration::from_millis(250)) + 0.25).abs() < 1e-12);
    }

    #[test]
    fn gzip_round_trips() {
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
