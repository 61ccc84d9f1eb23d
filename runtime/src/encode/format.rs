//! [`Format`]: the formats telltale writes, their content types and names,
//! and the negotiation of one from an `Accept` header.

/// A format that [`encode`](crate::encode::encode) and [`render`](crate::encode::render) can write.
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
    /// is documented, with an example, in [`json`](crate::encode::json).
    Json,
    /// CSV (RFC 4180): a header row, then one row per series with fixed
    /// columns. The schema is documented, with an example, in
    /// [`csv`](crate::encode::csv).
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
