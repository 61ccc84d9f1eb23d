//! The text formats as the registry's live render uses them: the
//! [`TextFormat`] and [`SeriesWriter`] of Prometheus 0.0.4 and OpenMetrics
//! 1.0, which write series straight from the cells into exposition text.

use super::text::{exported_bounds, gauge_lines, write_escaped, Escape, Repeated};
use super::{openmetrics, prometheus};
use crate::collect::snapshot::{MetricFamily, MetricKind};
use crate::collect::visit::{SeriesWriter, TextFormat};

/// One of the two text formats.
pub(super) struct Text {
    openmetrics: bool,
}

/// Prometheus text format 0.0.4.
pub(super) static PROMETHEUS: Text = Text { openmetrics: false };

/// OpenMetrics 1.0 text.
pub(super) static OPENMETRICS: Text = Text { openmetrics: true };

impl TextFormat for Text {
    fn header(
        &self,
        out: &mut String,
        name: &str,
        help: &str,
        unit: Option<&str>,
        kind: MetricKind,
    ) {
        if self.openmetrics {
            openmetrics::header(out, name, help, unit, kind);
        } else {
            prometheus::header(out, name, help, kind);
        }
    }

    fn family(&self, family: &MetricFamily, out: &mut String) {
        if self.openmetrics {
            openmetrics::encode_family(family, out);
        } else {
            prometheus::encode_family(family, out);
        }
    }

    fn end(&self, out: &mut String) {
        if self.openmetrics {
            out.push_str("# EOF\n");
        }
    }

    fn series<'a>(&self, name: &'a str, out: &'a mut String) -> Box<dyn SeriesWriter + 'a> {
        Box::new(SeriesText {
            openmetrics: self.openmetrics,
            name,
            out,
            labels: String::new(),
            repeated: Repeated::default(),
        })
    }
}

/// The series of one family (`name`, counters without `_total`) written
/// into `out`.
struct SeriesText<'a> {
    openmetrics: bool,
    name: &'a str,
    out: &'a mut String,
    labels: String,
    repeated: Repeated,
}

impl SeriesWriter for SeriesText<'_> {
    #[inline]
    fn begin_series(&mut self) {
        self.labels.clear();
    }

    #[inline]
    fn label(&mut self, name: &str, value: &str) {
        if !self.labels.is_empty() {
            self.labels.push(',');
        }
        self.labels.push_str(name);
        self.labels.push_str("=\"");
        write_escaped(&mut self.labels, value, Escape::Quoted);
        self.labels.push('"');
    }

    #[inline]
    fn counter(&mut self, total: f64, created: Option<f64>) {
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

    #[inline]
    fn gauge(&mut self, value: f64) {
        gauge_lines(self.out, self.name, &self.labels, value);
    }

    fn histogram(
        &mut self,
        (count, sum, created): (u64, f64, Option<f64>),
        buckets: &mut dyn Iterator<Item = (f64, u64)>,
    ) {
        let buckets = exported_bounds(buckets);
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
