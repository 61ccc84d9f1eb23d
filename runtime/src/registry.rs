//! Where metrics are found at collection time: every callsite and metric
//! submitted with `inventory` (known before `main` runs) plus every one that
//! registered itself on first use.
//!
//! Inventory entries can be dropped by the linker when the object file that
//! holds them is never referenced (a static library linked with
//! `--gc-sections` and no symbol used from it, or some WebAssembly and
//! embedded targets). Such a callsite still appears once it has been called,
//! through its first-use registration; it only misses the first scrapes.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use crate::snapshot::{Family, HistogramValue, MetricKind, Series, Snapshot, Value};

/// Something that writes series into a snapshot: every metric type and
/// callsite. Not meant to be implemented outside telltale.
pub trait Collect: Sync + 'static {
    /// Writes this metric's series.
    #[doc(hidden)]
    fn collect(&'static self, out: &mut Builder);
}

/// An entry of the static registry, submitted with `inventory`.
pub struct Registration {
    metric: &'static dyn Collect,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration").finish_non_exhaustive()
    }
}

impl Registration {
    /// Registers an instrumented function's callsite.
    pub const fn callsite(c: &'static crate::callsite::Callsite) -> Registration {
        Registration { metric: c }
    }

    /// Registers a metric declared as a `static` (see [`register!`](crate::register)).
    pub const fn metric<M: Collect>(m: &'static M) -> Registration {
        Registration { metric: m }
    }

    pub(crate) const fn of(metric: &'static dyn Collect) -> Registration {
        Registration { metric }
    }
}

inventory::collect!(Registration);

static DYNAMIC: Mutex<Vec<&'static dyn Collect>> = Mutex::new(Vec::new());

/// Registers a metric that was not (or may not have been) submitted with
/// inventory. Registering twice is harmless: collection skips duplicates.
pub(crate) fn register(metric: &'static dyn Collect) {
    if let Ok(mut list) = DYNAMIC.lock() {
        list.push(metric);
    }
}

fn address(m: &'static dyn Collect) -> usize {
    std::ptr::from_ref(m).cast::<()>() as usize
}

/// Reads every registered metric.
pub(crate) fn collect() -> Snapshot {
    let mut seen = HashSet::new();
    let mut builder = Builder::default();
    let dynamic: Vec<&'static dyn Collect> = DYNAMIC.lock().map(|l| l.clone()).unwrap_or_default();
    let all = inventory::iter::<Registration>
        .into_iter()
        .map(|r| r.metric)
        .chain(dynamic);
    for metric in all {
        if seen.insert(address(metric)) {
            metric.collect(&mut builder);
        }
    }
    builder.finish()
}

type Labels = Vec<(Cow<'static, str>, Cow<'static, str>)>;

#[derive(Debug)]
struct FamilyBuilder {
    help: String,
    unit: Option<&'static str>,
    kind: MetricKind,
    series: BTreeMap<Labels, Series>,
}

/// Collects series into families, merging series with the same name and labels.
#[derive(Default, Debug)]
pub struct Builder {
    families: BTreeMap<String, FamilyBuilder>,
}

impl Builder {
    /// Adds one series. A series whose family exists with another type is
    /// dropped (the first registered type wins); a series with the same labels
    /// as an existing one is added to it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push(
        &mut self,
        family: &str,
        help: &str,
        unit: Option<&'static str>,
        kind: MetricKind,
        labels: Vec<(String, String)>,
        value: Value,
        created: Option<f64>,
    ) {
        let f = self
            .families
            .entry(family.to_owned())
            .or_insert_with(|| FamilyBuilder {
                help: help.to_owned(),
                unit,
                kind,
                series: BTreeMap::new(),
            });
        if f.kind != kind {
            return;
        }
        let labels: Labels = labels
            .into_iter()
            .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)))
            .collect();
        match f.series.get_mut(&labels) {
            Some(existing) => {
                merge(&mut existing.value, value);
                existing.created = match (existing.created, created) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            None => {
                f.series.insert(
                    labels.clone(),
                    Series {
                        labels,
                        value,
                        created,
                    },
                );
            }
        }
    }

    fn finish(self) -> Snapshot {
        Snapshot {
            families: self
                .families
                .into_iter()
                .map(|(name, f)| Family {
                    name: Cow::Owned(name),
                    help: Cow::Owned(f.help),
                    unit: f.unit,
                    kind: f.kind,
                    series: f.series.into_values().collect(),
                })
                .collect(),
        }
    }
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Counter(a), Value::Counter(b)) | (Value::Gauge(a), Value::Gauge(b)) => *a += b,
        (Value::Histogram(a), Value::Histogram(b)) => {
            a.exponential.merge(&b.exponential);
            let bounds: Vec<f64> = a.buckets.iter().map(|&(le, _)| le).collect();
            *a = HistogramValue::from_exponential(a.exponential.clone(), &bounds);
        }
        _ => {}
    }
}
