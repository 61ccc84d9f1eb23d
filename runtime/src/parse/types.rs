//! What the parsers return: families, samples, exemplars and the error.

use std::fmt;

/// The type of a parsed metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FamilyKind {
    /// `counter`: samples `<name>_total` and `<name>_created` in OpenMetrics,
    /// `<name>` in 0.0.4 (where the family name usually ends with `_total`).
    Counter,
    /// `gauge`: samples `<name>`.
    Gauge,
    /// `histogram`: samples `<name>_bucket`, `<name>_count`, `<name>_sum` (and
    /// `<name>_created` in OpenMetrics).
    Histogram,
    /// `gaugehistogram` (OpenMetrics only): `<name>_bucket`, `<name>_gcount`,
    /// `<name>_gsum`.
    GaugeHistogram,
    /// `summary`: samples `<name>` (with a `quantile` label), `<name>_count`,
    /// `<name>_sum` (and `<name>_created` in OpenMetrics).
    Summary,
    /// `info` (OpenMetrics only): samples `<name>_info` of value 1.
    Info,
    /// `stateset` (OpenMetrics only): samples `<name>` of value 0 or 1 with a
    /// label named `<name>`.
    StateSet,
    /// `unknown` in OpenMetrics, `untyped` in 0.0.4, and any family without
    /// a `TYPE` line: samples `<name>`.
    Unknown,
}

impl FamilyKind {
    /// The type's name on an OpenMetrics `# TYPE` line (`unknown` for
    /// [`FamilyKind::Unknown`]; 0.0.4 calls it `untyped`).
    pub fn as_str(self) -> &'static str {
        match self {
            FamilyKind::Counter => "counter",
            FamilyKind::Gauge => "gauge",
            FamilyKind::Histogram => "histogram",
            FamilyKind::GaugeHistogram => "gaugehistogram",
            FamilyKind::Summary => "summary",
            FamilyKind::Info => "info",
            FamilyKind::StateSet => "stateset",
            FamilyKind::Unknown => "unknown",
        }
    }
}

impl fmt::Display for FamilyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One metric family read from an exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFamily {
    /// The family name as the metadata lines write it (OpenMetrics: `foo` for
    /// a counter whose samples are `foo_total`; 0.0.4: `foo_total`). A family
    /// without metadata is named after its first sample.
    pub name: String,
    /// The type from the `# TYPE` line, [`FamilyKind::Unknown`] without one.
    pub kind: FamilyKind,
    /// The unescaped text of the `# HELP` line, `None` without one (a `# HELP`
    /// line with an empty text gives `Some("")`).
    pub help: Option<String>,
    /// The text of the `# UNIT` line (OpenMetrics only), `None` without one
    /// (an empty `# UNIT` line gives `Some("")`).
    pub unit: Option<String>,
    /// The samples, in the order they appear.
    pub samples: Vec<ParsedSample>,
}

impl ParsedFamily {
    /// The samples named `name`, in order.
    pub fn samples_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a ParsedSample> {
        self.samples.iter().filter(move |s| s.name == name)
    }
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSample {
    /// The sample name (`foo_total`, `foo_bucket`, ...).
    pub name: String,
    /// The label pairs, unescaped, in the order written.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
    /// The timestamp as written: seconds in OpenMetrics, milliseconds in 0.0.4.
    pub timestamp: Option<f64>,
    /// The exemplar after the value (OpenMetrics only).
    pub exemplar: Option<ParsedExemplar>,
}

impl ParsedSample {
    /// The value of the label named `name`, if the sample has it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An OpenMetrics exemplar: ` # {labels} value [timestamp]` after a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedExemplar {
    /// The exemplar's label pairs, unescaped, in the order written.
    pub labels: Vec<(String, String)>,
    /// The exemplar's value.
    pub value: f64,
    /// The exemplar's timestamp in seconds, if written.
    pub timestamp: Option<f64>,
}

/// Why a text is not a valid exposition: the line (counted from 1) and what
/// is wrong there.
///
/// Problems found only at the end of the text (a missing `# EOF`) point at
/// the line after the last one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    line: usize,
    message: String,
}

impl ParseError {
    pub(crate) fn new(line: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            line,
            message: message.into(),
        }
    }

    /// The line the problem is on, counted from 1.
    pub fn line(&self) -> usize {
        self.line
    }

    /// What is wrong, without the line number.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}
