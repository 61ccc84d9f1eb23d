//! A batch: the series one run of a source read, checked as they are added.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::collect::snapshot::{HistogramValue, MetricKind, Value};
use crate::error::{check_label_name, check_metric_name, Error};

/// The series one run of a [`Source`](super::Source) read: gauges, counters
/// and histograms with labels, checked as they are added (names and labels
/// as the exposition formats allow them, one type per family, no series
/// twice).
///
/// ```
/// use telltale::sources::{Batch, HistogramPoints};
///
/// let mut batch = Batch::new();
/// batch.gauge("queue_depth", "Jobs waiting, by queue.", &[("queue", "mail")], 4.0)?;
/// batch.counter("jobs_done_total", "Jobs done.", &[], 1200.0)?;
/// batch.histogram(
///     "job_duration_seconds",
///     "How long jobs take.",
///     &[],
///     HistogramPoints { count: 3, sum: 1.5, buckets: vec![(0.5, 1), (1.0, 3)] },
/// )?;
/// assert_eq!(batch.series_count(), 3);
/// // One name, one type.
/// assert!(batch.gauge("jobs_done", "", &[], 1.0).is_err());
/// # Ok::<(), telltale::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub(crate) families: BTreeMap<String, BatchFamily>,
}

/// One family of a batch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BatchFamily {
    pub(crate) help: String,
    pub(crate) unit: Option<&'static str>,
    pub(crate) kind: MetricKind,
    /// By sorted labels: the labels in the order given, and the value.
    pub(crate) series: BTreeMap<Labels, (Labels, Value)>,
}

/// A series' label pairs.
pub(crate) type Labels = Vec<(String, String)>;

/// A histogram's figures as a source reads them: cumulative buckets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistogramPoints {
    /// Number of observations.
    pub count: u64,
    /// Sum of the observations.
    pub sum: f64,
    /// `(le, observations <= le)` in increasing `le`, counts not decreasing,
    /// without `+Inf` (which is `count`).
    pub buckets: Vec<(f64, u64)>,
}

/// Most distinct units the process keeps (units live as long as the process).
const MAX_UNITS: usize = 256;

static UNITS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// `unit` as a `&'static str`, kept once per process; `None` past
/// [`MAX_UNITS`] distinct units.
fn intern(unit: &str) -> Option<&'static str> {
    let mut units = UNITS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = units.iter().find(|u| **u == unit) {
        return Some(known);
    }
    if units.len() >= MAX_UNITS {
        return None;
    }
    let leaked: &'static str = Box::leak(unit.to_owned().into_boxed_str());
    units.push(leaked);
    Some(leaked)
}

fn conflict(name: &str, reason: impl Into<String>) -> Error {
    Error::Conflict {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds a gauge series.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] for a bad metric or label name,
    /// [`Error::Conflict`] when `name` has another type in this batch or the
    /// series is in it already.
    pub fn gauge(
        &mut self,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
        value: f64,
    ) -> Result<(), Error> {
        self.add(name, help, MetricKind::Gauge, labels, Value::Gauge(value))
    }

    /// Adds a counter series: `name` with or without `_total` (the family
    /// is named without it, and exported with it).
    ///
    /// # Errors
    ///
    /// As [`gauge`](Self::gauge), and for a total that is negative or NaN.
    pub fn counter(
        &mut self,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
        total: f64,
    ) -> Result<(), Error> {
        if total.is_nan() || total < 0.0 {
            return Err(conflict(
                name,
                format!("as a counter of {total}: a counter's total is a number of at least 0"),
            ));
        }
        let family = name.strip_suffix("_total").unwrap_or(name);
        self.add(
            family,
            help,
            MetricKind::Counter,
            labels,
            Value::Counter(total),
        )
    }

    /// Adds a histogram series.
    ///
    /// # Errors
    ///
    /// As [`gauge`](Self::gauge), and for buckets whose bounds do not
    /// increase or whose counts decrease or pass `count`.
    pub fn histogram(
        &mut self,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
        points: HistogramPoints,
    ) -> Result<(), Error> {
        let mut previous: Option<(f64, u64)> = None;
        for &(le, n) in &points.buckets {
            let bad = le.is_nan()
                || le == f64::INFINITY
                || n > points.count
                || previous.is_some_and(|(p_le, p_n)| le <= p_le || n < p_n);
            if bad {
                return Err(conflict(
                    name,
                    format!(
                        "as a histogram with the bucket (le {le}, count {n}): bounds must increase, \
                         counts must not decrease nor pass the count {}, and +Inf is the count",
                        points.count
                    ),
                ));
            }
            previous = Some((le, n));
        }
        let value = Value::Histogram(HistogramValue {
            count: points.count,
            sum: points.sum,
            buckets: points.buckets,
            exponential: crate::store::histogram::ExpBuckets::default(),
        });
        self.add(name, help, MetricKind::Histogram, labels, value)
    }

    /// Sets the unit of the family `name` (a counter's without `_total`),
    /// which must end with `_<unit>`, as OpenMetrics asks.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] when there is no such family in the batch, or its
    /// name does not end with the unit.
    pub fn set_unit(&mut self, name: &str, unit: &str) -> Result<(), Error> {
        let family = name.strip_suffix("_total").unwrap_or(name);
        let Some(f) = self.families.get_mut(family) else {
            return Err(conflict(name, "has no series in this batch to give a unit"));
        };
        if unit.is_empty() {
            f.unit = None;
            return Ok(());
        }
        if !family.ends_with(&format!("_{unit}")) {
            return Err(conflict(
                name,
                format!("with the unit {unit:?}: the name must end with `_{unit}`"),
            ));
        }
        f.unit = intern(unit);
        Ok(())
    }

    /// How many series the batch holds.
    pub fn series_count(&self) -> usize {
        self.families.values().map(|f| f.series.len()).sum()
    }

    /// Whether the batch holds no series.
    pub fn is_empty(&self) -> bool {
        self.series_count() == 0
    }

    /// The value of the series of `name` (a counter's with or without
    /// `_total`) with exactly these labels, in any order: a gauge's value,
    /// a counter's total, a histogram's count.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let family = self
            .families
            .get(name)
            .or_else(|| self.families.get(name.strip_suffix("_total")?))?;
        let key = sorted(labels.iter().map(|&(k, v)| (k.to_owned(), v.to_owned())));
        match &family.series.get(&key)?.1 {
            Value::Gauge(v) | Value::Counter(v) => Some(*v),
            #[allow(clippy::cast_precision_loss)] // counts far below 2^53
            Value::Histogram(h) => Some(h.count as f64),
        }
    }

    /// Adds `labels` to every series; a series that has one of them already
    /// keeps its own value as `exported_<name>` (as Prometheus does with a
    /// target's labels).
    pub(crate) fn with_labels(mut self, extra: &[(String, String)]) -> Batch {
        if extra.is_empty() {
            return self;
        }
        for family in self.families.values_mut() {
            let series = std::mem::take(&mut family.series);
            for (_, (labels, value)) in series {
                let mut labels: Vec<(String, String)> = labels
                    .into_iter()
                    .map(|(k, v)| {
                        if extra.iter().any(|(e, _)| *e == k) {
                            (format!("exported_{k}"), v)
                        } else {
                            (k, v)
                        }
                    })
                    .collect();
                labels.extend(extra.iter().cloned());
                let key = sorted(labels.iter().cloned());
                family.series.insert(key, (labels, value));
            }
        }
        self
    }

    pub(crate) fn add(
        &mut self,
        name: &str,
        help: &str,
        kind: MetricKind,
        labels: &[(&str, &str)],
        value: Value,
    ) -> Result<(), Error> {
        check_metric_name(name)?;
        for (i, &(label, _)) in labels.iter().enumerate() {
            check_label_name(label)?;
            if labels[..i].iter().any(|&(other, _)| other == label) {
                return Err(conflict(name, format!("with the label {label:?} twice")));
            }
            if kind == MetricKind::Histogram && label == "le" {
                return Err(conflict(
                    name,
                    "with a label `le`: it is the bucket's bound",
                ));
            }
        }
        let family = self
            .families
            .entry(name.to_owned())
            .or_insert_with(|| BatchFamily {
                help: help.to_owned(),
                unit: None,
                kind,
                series: BTreeMap::new(),
            });
        if family.kind != kind {
            return Err(conflict(
                name,
                format!("as a {kind:?} in this batch: it is a {:?}", family.kind),
            ));
        }
        let labels: Vec<(String, String)> = labels
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let key = sorted(labels.iter().cloned());
        if family.series.contains_key(&key) {
            return Err(conflict(
                name,
                format!("with the labels {labels:?} twice in this batch"),
            ));
        }
        family.series.insert(key, (labels, value));
        Ok(())
    }
}

fn sorted(labels: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut key: Vec<(String, String)> = labels.collect();
    key.sort();
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_checked_as_they_are_added() {
        let mut b = Batch::new();
        b.gauge("g", "h", &[("a", "1")], 1.0).unwrap();
        // The same labels in another order are the same series.
        b.gauge("g2", "h", &[("a", "1"), ("b", "2")], 1.0).unwrap();
        assert!(b.gauge("g2", "h", &[("b", "2"), ("a", "1")], 1.0).is_err());
        assert!(b.gauge("bad name", "h", &[], 1.0).is_err());
        assert!(b.gauge("g3", "h", &[("__x", "1")], 1.0).is_err());
        assert!(b.gauge("g3", "h", &[("a", "1"), ("a", "2")], 1.0).is_err());
        assert!(b.counter("c_total", "h", &[], -1.0).is_err());
        assert!(b.counter("c_total", "h", &[], f64::NAN).is_err());
        b.counter("c_total", "h", &[], 2.0).unwrap();
        assert_eq!(b.value("c", &[]), Some(2.0));
        assert_eq!(b.value("c_total", &[]), Some(2.0));
        assert!(
            b.gauge("c", "h", &[("x", "y")], 1.0).is_err(),
            "one type a name"
        );
        let points = |buckets: Vec<(f64, u64)>| HistogramPoints {
            count: 5,
            sum: 1.0,
            buckets,
        };
        assert!(b
            .histogram("h", "", &[], points(vec![(1.0, 2), (0.5, 3)]))
            .is_err());
        assert!(b
            .histogram("h", "", &[], points(vec![(0.5, 3), (1.0, 2)]))
            .is_err());
        assert!(b.histogram("h", "", &[], points(vec![(0.5, 6)])).is_err());
        assert!(b
            .histogram("h", "", &[("le", "1")], points(vec![]))
            .is_err());
        b.histogram("h", "", &[], points(vec![(0.5, 3), (1.0, 5)]))
            .unwrap();
        assert_eq!(b.value("h", &[]), Some(5.0));
        assert_eq!(b.series_count(), 4);
    }

    #[test]
    fn units_must_end_the_name() {
        let mut b = Batch::new();
        b.gauge("size_bytes", "", &[], 1.0).unwrap();
        assert!(b.set_unit("size_bytes", "seconds").is_err());
        assert!(b.set_unit("missing_bytes", "bytes").is_err());
        b.set_unit("size_bytes", "bytes").unwrap();
        assert_eq!(b.families["size_bytes"].unit, Some("bytes"));
        assert!(std::ptr::eq(
            intern("bytes").unwrap(),
            intern("bytes").unwrap()
        ));
    }

    #[test]
    fn extra_labels_rename_the_series_own() {
        let mut b = Batch::new();
        b.gauge("g", "", &[("env", "mine"), ("k", "v")], 1.0)
            .unwrap();
        let b = b.with_labels(&[("env".into(), "prod".into())]);
        let (labels, _) = b.families["g"].series.values().next().unwrap();
        assert_eq!(
            labels,
            &[
                ("exported_env".to_owned(), "mine".to_owned()),
                ("k".to_owned(), "v".to_owned()),
                ("env".to_owned(), "prod".to_owned())
            ]
        );
    }
}
