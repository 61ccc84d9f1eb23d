//! A point-in-time, owned copy of every registered metric.
//!
//! [`Snapshot::collect`] reads every cell once (summing shards) and groups the
//! series into families. Encoders, queries and exporters work from a snapshot,
//! never from live cells.

use std::borrow::Cow;

/// The type of a metric family, as the exposition formats name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MetricKind {
    /// A monotonically increasing count.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// A distribution of observations: count, sum and buckets.
    Histogram,
}

impl MetricKind {
    /// The lower-case name used on `# TYPE` lines.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }

    /// The suffixes a family of this kind adds to its name for its samples
    /// (`_total` and `_created` for a counter; `_bucket`, `_count`, `_sum`
    /// and `_created` for a histogram; none for a gauge).
    pub fn sample_suffixes(self) -> &'static [&'static str] {
        match self {
            MetricKind::Counter => &["_total", "_created"],
            MetricKind::Histogram => &["_bucket", "_count", "_sum", "_created"],
            MetricKind::Gauge => &[],
        }
    }
}

/// Whether `asked` names the family `family` of kind `kind`: its family
/// name (`orders` for counter `orders_total`) or one of its sample names
/// (`orders_total`; `latency_seconds_count` for a histogram). Every API that
/// takes a metric's name (windows, views, `select`, the stream's filter)
/// follows this one rule.
///
/// ```
/// use telltale::snapshot::{names_family, MetricKind};
/// assert!(names_family("orders_total", "orders", MetricKind::Counter));
/// assert!(names_family("orders", "orders", MetricKind::Counter));
/// assert!(!names_family("orders_total", "orders", MetricKind::Gauge));
/// assert!(names_family("latency_seconds_bucket", "latency_seconds", MetricKind::Histogram));
/// ```
pub fn names_family(asked: &str, family: &str, kind: MetricKind) -> bool {
    asked == family
        || asked
            .strip_prefix(family)
            .is_some_and(|suffix| kind.sample_suffixes().contains(&suffix))
}

/// The family names `asked` may stand for: itself, and itself without each
/// sample suffix it ends in (check the family's kind with [`names_family`]).
pub(crate) fn family_candidates(asked: &str) -> impl Iterator<Item = &str> {
    let suffixes = [MetricKind::Counter, MetricKind::Histogram]
        .into_iter()
        .flat_map(MetricKind::sample_suffixes);
    std::iter::once(asked).chain(suffixes.filter_map(|s| asked.strip_suffix(s)))
}

/// The old name of [`MetricFamily`].
#[doc(hidden)]
pub use MetricFamily as Family;

/// One metric family as read at collection time: a name, a type, a help
/// text and its series (the live, recording side is [`crate::Family`]).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    /// The family name. For counters this is the name without the `_total`
    /// suffix (`function_calls`); encoders add the suffixes each format wants.
    pub name: Cow<'static, str>,
    /// The help text, unescaped.
    pub help: Cow<'static, str>,
    /// The unit (`seconds`, `bytes`), when the name ends with it.
    pub unit: Option<&'static str>,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// The series, sorted by their labels; no two have the same labels.
    pub series: Vec<Series>,
}

impl MetricFamily {
    /// The name its value samples carry in the text formats, the name it was
    /// declared with: `<name>_total` for a counter, the family name for a
    /// gauge, and for a histogram the family name its `_bucket`, `_count`
    /// and `_sum` samples extend.
    pub fn sample_name(&self) -> std::borrow::Cow<'_, str> {
        match self.kind {
            MetricKind::Counter => format!("{}_total", self.name).into(),
            MetricKind::Gauge | MetricKind::Histogram => std::borrow::Cow::Borrowed(&*self.name),
        }
    }
}

/// One series of a family: its labels and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Label pairs in a fixed order (the order the metric declares them).
    pub labels: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    /// The value read from the cells.
    pub value: Value,
    /// When the series was created, in seconds since the Unix epoch
    /// (exported as `_created` in OpenMetrics for counters and histograms).
    pub created: Option<f64>,
}

impl Series {
    /// The value of the label named `name`, if the series has it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }
}

/// The value of a series.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A counter's total.
    Counter(f64),
    /// A gauge's current value.
    Gauge(f64),
    /// A histogram's distribution.
    Histogram(HistogramValue),
}

/// A histogram read out of its exponential store.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramValue {
    /// Number of observations.
    pub count: u64,
    /// Sum of all observations.
    pub sum: f64,
    /// Classic cumulative buckets `(le, count of observations <= le)`, in
    /// increasing `le`, without the `+Inf` bucket (which equals `count`).
    pub buckets: Vec<(f64, u64)>,
    /// The exponential buckets this was read from, for quantiles.
    pub exponential: crate::store::histogram::ExpBuckets,
}

impl HistogramValue {
    /// Builds the exported value from exponential buckets and classic bounds
    /// (`le`, increasing, without `+Inf`).
    pub fn from_exponential(
        exponential: crate::store::histogram::ExpBuckets,
        bounds: &[f64],
    ) -> Self {
        HistogramValue {
            count: exponential.count(),
            sum: exponential.sum,
            buckets: bounds
                .iter()
                .map(|&le| (le, exponential.count_le(le)))
                .collect(),
            exponential,
        }
    }

    /// The estimated `q`-quantile (0.0 ..= 1.0) of the observations, within
    /// about 1.1 % relative error; `None` when there are no observations.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.exponential.quantile(q)
    }
}

/// Every registered metric at one moment, grouped into families sorted by name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// The families, sorted by name; no two share a name.
    pub families: Vec<MetricFamily>,
}

impl Snapshot {
    /// The family with this name (counters without `_total`), if any.
    pub fn family(&self, name: &str) -> Option<&MetricFamily> {
        self.families.iter().find(|f| f.name == name)
    }
}
