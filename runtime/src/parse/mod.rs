//! Strict parsers of the two text exposition formats telltale writes.
//!
//! [`openmetrics`] reads OpenMetrics 1.0 text and [`prometheus`] reads the
//! Prometheus text format 0.0.4. Both return the metric families in the
//! order they appear, with unescaped help texts and label values, or the
//! first problem found as a [`ParseError`] naming its line.
//!
//! ```
//! use telltale::parse::{self, FamilyKind};
//!
//! let text = concat!(
//!     "# TYPE jobs counter\n",
//!     "# HELP jobs Jobs run, by \\\"queue\\\".\n",
//!     "jobs_total{queue=\"a\\\\b\"} 3\n",
//!     "# EOF\n",
//! );
//! let families = parse::openmetrics(text).unwrap();
//! assert_eq!(families[0].name, "jobs");
//! assert_eq!(families[0].kind, FamilyKind::Counter);
//! assert_eq!(families[0].help.as_deref(), Some("Jobs run, by \"queue\"."));
//! assert_eq!(families[0].samples[0].label("queue"), Some("a\\b"));
//!
//! let error = parse::openmetrics("a 1\n").unwrap_err();
//! assert_eq!(error.line(), 2);
//! assert_eq!(error.to_string(), "line 2: missing `# EOF` at the end of the text");
//! ```
//!
//! # OpenMetrics 1.0
//!
//! The parser accepts exactly what the OpenMetrics conformance suite
//! (`shared/conformance/openmetrics`, 211 cases) says a parser must accept.
//! It checks, among others:
//!
//! - framing: lines end with a line feed, no blank line, the text ends with
//!   `# EOF` (optionally followed by one line feed) and nothing comes after;
//! - metadata: only `# TYPE`, `# HELP`, `# UNIT` and `# EOF` lines, in any
//!   order but before the family's samples, at most one of each per family;
//!   a known type (`untyped` is the 0.0.4 spelling and is rejected); a unit
//!   that is the suffix `_<unit>` of the family name, and none on `info` and
//!   `stateset` families;
//! - grammar: metric names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names
//!   `[a-zA-Z_][a-zA-Z0-9_]*` not starting with `__` and unique in a label
//!   set, quoted label values, single spaces between the parts of a line, no
//!   trailing comma, numbers in decimal (`1`, `-2.5e3`, `.5`, `NaN`, `+Inf`),
//!   timestamps finite decimals;
//! - escapes: `\\`, `\"` and `\n` in label values and help texts; any other
//!   backslash is kept as written (the suite accepts `\z` and `\t`);
//! - families: a sample belongs to the family before it only when its name
//!   is one the family's type allows (`foo_total` and `foo_created` for a
//!   counter `foo`, `foo_bucket`, `foo_count`, `foo_sum`, `foo_created` for a
//!   histogram, ...), otherwise it starts a family of type `unknown`; family
//!   names and the sample names they own never repeat, so a family's lines
//!   are contiguous and no two families clash;
//! - series: the samples of one label set (one metric) are contiguous, a
//!   series appears once unless each appearance has a timestamp, and
//!   timestamps of a metric do not go backwards nor come and go;
//! - values: counter totals, histogram and summary sums and counts are not
//!   NaN nor negative; bucket and count values are integers; a summary needs
//!   a `quantile` label in 0 ..= 1; a stateset sample is 0 or 1 and carries
//!   the label named after its family; an info sample is 1;
//! - histograms: every bucket has an `le` label that is a number (`+Inf`
//!   spelled so), `le` increases and the bucket counts do not decrease, the
//!   `+Inf` bucket is there and equals `_count`; `_sum` and `_count` (for a
//!   gauge histogram `_gsum` and `_gcount`) come together; a histogram with
//!   a bucket below zero has no `_sum`, and a gauge histogram's `_gsum` is
//!   negative only when a bucket is;
//! - exemplars (` # {labels} value [timestamp]`): only on counter totals and
//!   histogram buckets, with at most 128 characters of label names and values.
//!
//! `le` and `quantile` values are not required to be in the canonical form
//! of the specification (`1.0`, `1e+06`): the conformance suite accepts
//! `le="1e-04"`.
//!
//! # Prometheus 0.0.4
//!
//! The 0.0.4 format is looser than OpenMetrics, and so is this parser where
//! the format allows it: blank lines and comments other than `# HELP` and
//! `# TYPE` are skipped, blanks and tabs may separate and surround tokens, a
//! label set may end with a comma, and timestamps are integers (milliseconds).
//! Where the format has a rule, the parser enforces it: names as above,
//! `# HELP` escapes only `\\` and `\n` and label values only `\\`, `\"` and
//! `\n` (any other escape is an error), at most one `# HELP` and one
//! `# TYPE` (`counter`, `gauge`, `histogram`, `summary` or `untyped`) per
//! family, before its samples, a family's lines contiguous, no duplicate
//! series, histogram buckets with a numeric `le`, increasing, not
//! decreasing in count, a `+Inf` bucket equal to `_count`, summaries with a
//! `quantile` in 0 ..= 1, and the text ending with a line feed (unless it is
//! empty). As every 0.0.4 reader does, the blanks between a `# HELP` line's
//! metric name and its text are not part of the text.

mod family;
mod openmetrics;
mod prometheus;
mod scan;
mod types;

pub use types::{FamilyKind, ParseError, ParsedExemplar, ParsedFamily, ParsedSample};

/// Parses OpenMetrics 1.0 text (see the [module documentation](self) for
/// the rules it checks).
pub fn openmetrics(text: &str) -> Result<Vec<ParsedFamily>, ParseError> {
    openmetrics::parse(text)
}

/// Parses Prometheus text format 0.0.4 (see the [module
/// documentation](self) for the rules it checks).
///
/// ```
/// let text = concat!(
///     "# HELP jobs_total Jobs run.\n",
///     "# TYPE jobs_total counter\n",
///     "jobs_total{queue=\"a\"} 3 1700000000000\n",
/// );
/// let families = telltale::parse::prometheus(text).unwrap();
/// assert_eq!(families[0].name, "jobs_total");
/// assert_eq!(families[0].samples[0].value, 3.0);
/// assert_eq!(families[0].samples[0].timestamp, Some(1.7e12));
/// ```
pub fn prometheus(text: &str) -> Result<Vec<ParsedFamily>, ParseError> {
    prometheus::parse(text)
}

#[cfg(test)]
mod tests;
