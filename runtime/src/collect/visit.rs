//! How storage hands series to whoever writes them out, without naming an
//! encoder: a render gives the registry a [`TextFormat`], the registry hands
//! each metric that writes a family alone a [`SeriesWriter`] for it, and the
//! metric gives the writer its series as it reads them from the live cells.
//! The text encoders (`crate::encode`) implement both traits.

use crate::collect::snapshot::{MetricFamily, MetricKind};

/// The series of one family, written as a render reads them: each series'
/// labels one by one ([`begin_series`](Self::begin_series), [`label`](Self::label)), then
/// its value.
pub trait SeriesWriter {
    /// Starts a series: forgets the labels of the one before.
    fn begin_series(&mut self);
    /// Adds a label of the series being started (the writer escapes it).
    fn label(&mut self, name: &str, value: &str);
    /// Writes the series as a counter.
    fn counter(&mut self, total: f64, created: Option<f64>);
    /// Writes the series as a gauge.
    fn gauge(&mut self, value: f64);
    /// Writes the series as a histogram: `buckets` are cumulative `(le,
    /// count)` pairs in increasing `le`, as the store holds them; the
    /// writer leaves out those its format does not export.
    fn histogram(
        &mut self,
        count_sum_created: (u64, f64, Option<f64>),
        buckets: &mut dyn Iterator<Item = (f64, u64)>,
    );
}

/// A text exposition format the registry renders into.
pub(crate) trait TextFormat: Sync {
    /// Appends the metadata lines of a family.
    fn header(
        &self,
        out: &mut String,
        name: &str,
        help: &str,
        unit: Option<&str>,
        kind: MetricKind,
    );
    /// Appends a whole family, metadata and series.
    fn family(&self, family: &MetricFamily, out: &mut String);
    /// Appends what the format writes after the last family.
    fn end(&self, out: &mut String);
    /// A writer of the series of the family `name`, appending to `out`.
    fn series<'a>(&self, name: &'a str, out: &'a mut String) -> Box<dyn SeriesWriter + 'a>;
}
