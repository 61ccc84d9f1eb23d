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
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use crate::collect::snapshot::{HistogramValue, MetricFamily, MetricKind, Series, Snapshot, Value};
use crate::collect::visit::{SeriesWriter, TextFormat};

/// What a series' family is: the descriptor every series is pushed with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Desc<'a> {
    /// The family's name (a counter's without `_total`).
    pub(crate) name: &'a str,
    /// Its help text.
    pub(crate) help: &'a str,
    /// Its unit, if it has one.
    pub(crate) unit: Option<&'static str>,
    /// Its type.
    pub(crate) kind: MetricKind,
}

/// Something that writes series into a snapshot: every metric type and
/// callsite. Not meant to be implemented outside telltale.
pub trait Collect: Sync + 'static {
    /// Writes this metric's series.
    #[doc(hidden)]
    fn collect(&'static self, out: &mut Sink);

    /// Whether a multi-process backend merges this metric over processes
    /// (every user metric) or it describes this process alone (telltale's
    /// self-metrics, resources, sources, aggregation outputs).
    #[doc(hidden)]
    fn shared(&self) -> bool {
        true
    }
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

/// A multi-process backend's stand-in for the shared metrics.
///
/// Every metric is *shared* unless its [`Collect::shared`] says otherwise:
/// a user's counters, gauges, histograms, families, callsites and dynamic
/// metrics are; telltale's own `telltale_*` self-metrics, process
/// resources, source batches and aggregation outputs describe one process
/// and are not. With the single-process backend (the default) there is no
/// delegate. A backend installs one: collection then skips the shared
/// metrics and collects the delegate in their place, which writes them
/// merged over every process, reading this process's own part with
/// [`collect_shared`].
static DELEGATE: std::sync::OnceLock<&'static dyn Collect> = std::sync::OnceLock::new();

/// Makes `delegate` collect the shared metrics from now on. Only the first
/// call takes effect; returns whether this one did.
#[cfg(any(feature = "backend-file", feature = "backend-redis"))]
pub(crate) fn delegate(delegate: &'static dyn Collect) -> bool {
    DELEGATE.set(delegate).is_ok()
}

/// The delegate, when a backend installed one.
pub(crate) fn delegated() -> Option<&'static dyn Collect> {
    DELEGATE.get().copied()
}

/// This process's shared metrics alone, as the single-process backend
/// would collect them (what a backend stores and merges).
#[cfg(any(feature = "backend-file", feature = "backend-redis"))]
pub(crate) fn collect_shared() -> Snapshot {
    let mut sink = Sink::default();
    each_shared(|metric| metric.collect(&mut sink));
    sink.finish()
}

/// Registers a metric that was not (or may not have been) submitted with
/// inventory. Registering twice is harmless: collection skips duplicates.
pub(crate) fn register(metric: &'static dyn Collect) {
    crate::collect::start::start();
    if let Ok(mut list) = DYNAMIC.lock() {
        list.push(metric);
    }
}

/// Held while a metric built at run time is checked against the registered
/// ones and then registered, so that two threads cannot both take one free
/// name.
static REGISTERING: Mutex<()> = Mutex::new(());

/// The lock a registration at run time holds from its name check
/// ([`check_new`]) until the metric is registered.
pub(crate) fn registering() -> std::sync::MutexGuard<'static, ()> {
    REGISTERING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A metric's identity: the address of its data (a metric is never
/// zero-sized, so no two share one).
fn address(m: &'static dyn Collect) -> usize {
    std::ptr::from_ref(m).cast::<()>() as usize
}

/// Calls `f` with every metric a collection reads, once each: every
/// registered one, except that a backend's delegate stands in for the
/// shared ones when it installed one.
fn each_metric(mut f: impl FnMut(&'static dyn Collect)) {
    crate::collect::start::start();
    match delegated() {
        None => each_registered(f),
        Some(delegate) => {
            each_registered(|metric| {
                if !metric.shared() {
                    f(metric);
                }
            });
            f(delegate);
        }
    }
}

/// Calls `f` with every registered shared metric, once each.
#[cfg(any(feature = "backend-file", feature = "backend-redis"))]
pub(crate) fn each_shared(mut f: impl FnMut(&'static dyn Collect)) {
    each_registered(|metric| {
        if metric.shared() {
            f(metric);
        }
    });
}

/// Calls `f` with every registered metric, once each.
fn each_registered(mut f: impl FnMut(&'static dyn Collect)) {
    let mut seen = HashSet::new();
    let dynamic: Vec<&'static dyn Collect> = DYNAMIC.lock().map(|l| l.clone()).unwrap_or_default();
    let all = inventory::iter::<Registration>
        .into_iter()
        .map(|r| r.metric)
        .chain(dynamic);
    for metric in all {
        if seen.insert(address(metric)) {
            f(metric);
        }
    }
}

impl Snapshot {
    /// Reads every registered metric now.
    pub fn collect() -> Snapshot {
        collect()
    }
}

/// Reads every registered metric.
pub(crate) fn collect() -> Snapshot {
    let mut builder = Sink::default();
    each_metric(|metric| metric.collect(&mut builder));
    builder.finish()
}

/// Reads every registered metric and appends it to `out` in a text `format`
/// (Prometheus or OpenMetrics), without building a [`Snapshot`]: a family
/// that one metric writes alone goes straight into text (see
/// [`Sink::text_family`]); the others are merged as [`collect`] merges
/// them. Families come in name order and clashing ones are left out, as in
/// a snapshot.
pub(crate) fn render(format: &'static dyn TextFormat, out: &mut String) {
    let mut builder = Sink::for_render(format);
    each_metric(|metric| builder.collect_one(metric));
    builder.write_text(out);
}

type Labels = Vec<(Cow<'static, str>, Cow<'static, str>)>;

#[derive(Debug)]
struct FamilyBuilder {
    /// Order of first appearance: of two clashing families the earlier stays.
    seq: usize,
    help: String,
    unit: Option<&'static str>,
    kind: MetricKind,
    /// Keyed by the label pairs sorted by name, so that one label set given
    /// in two orders is one series.
    series: BTreeMap<Labels, PendingSeries>,
    /// In a render, the series one metric wrote alone, as text.
    text: Option<(String, Owner)>,
}

/// The metric that wrote a family's text.
#[derive(Clone, Copy)]
struct Owner(&'static dyn Collect);

impl Owner {
    fn is(self, other: Option<Owner>) -> bool {
        other.is_some_and(|o| address(o.0) == address(self.0))
    }
}

impl std::fmt::Debug for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Owner({:#x})", address(self.0))
    }
}

/// What a render adds to a builder.
struct Render {
    format: &'static dyn TextFormat,
    /// The metric being collected.
    current: Option<Owner>,
    /// While a metric is collected again: the one family it may add to.
    only: Option<String>,
}

impl std::fmt::Debug for Render {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Render")
            .field("current", &self.current)
            .field("only", &self.only)
            .finish_non_exhaustive()
    }
}

/// A series being collected, under its sorted labels.
#[derive(Debug)]
struct PendingSeries {
    /// The labels in the order they were first pushed, when that is not
    /// the sorted order of the key.
    labels: Option<Labels>,
    value: Value,
    created: Option<f64>,
}

/// Collects series into families, merging series with the same name and
/// labels; in a render, takes the text of families one metric writes alone.
#[derive(Default, Debug)]
pub struct Sink {
    families: BTreeMap<String, FamilyBuilder>,
    render: Option<Render>,
}

impl Sink {
    /// A builder for a render in a text `format`.
    pub(crate) fn for_render(format: &'static dyn TextFormat) -> Sink {
        Sink {
            families: BTreeMap::new(),
            render: Some(Render {
                format,
                current: None,
                only: None,
            }),
        }
    }

    /// Collects `metric` into this builder.
    pub(crate) fn collect_one(&mut self, metric: &'static dyn Collect) {
        if let Some(render) = &mut self.render {
            render.current = Some(Owner(metric));
        }
        metric.collect(self);
    }

    /// The series of `family` written as text, in a render.
    #[cfg(test)]
    pub(crate) fn text(&self, family: &str) -> Option<&str> {
        self.families.get(family)?.text.as_ref().map(|(t, _)| &**t)
    }

    /// In a render, where the metric being collected writes the series of
    /// `family` as text, when it is the first to add to that family and
    /// writes it alone: its series must have distinct label sets, each with
    /// its labels always in the same order. Then `write` is called with the
    /// family's [`SeriesWriter`] and `true` returned; `false` otherwise (not
    /// a render, or the family exists): the metric then pushes its series.
    ///
    /// Should another metric later add to the family, the text is dropped and
    /// the metric collected again at once, pushing its series first, as it
    /// would into a snapshot; the other metric's series merge into them.
    pub(crate) fn text_family(
        &mut self,
        family: &str,
        help: &str,
        unit: Option<&'static str>,
        kind: MetricKind,
        write: impl FnOnce(&mut dyn SeriesWriter),
    ) -> bool {
        let Some(render) = self.render.as_ref() else {
            return false;
        };
        if render.only.is_some() || self.families.contains_key(family) {
            return false;
        }
        let Some(owner) = render.current else {
            return false;
        };
        let format = render.format;
        let seq = self.families.len();
        let f = self
            .families
            .entry(family.to_owned())
            .or_insert(FamilyBuilder {
                seq,
                help: help.to_owned(),
                unit,
                kind,
                series: BTreeMap::new(),
                text: Some((String::new(), owner)),
            });
        let Some((text, _)) = f.text.as_mut() else {
            return false;
        };
        write(&mut *format.series(family, text));
        true
    }

    /// Declares the family `desc` describes, so that it is exported (with
    /// its metadata) even before it has a series.
    pub(crate) fn declare(&mut self, desc: &Desc<'_>) {
        self.family(desc.name, desc.help, desc.unit, desc.kind);
    }

    /// The family named `family`, added with this metadata if it is new;
    /// `None` when it exists with another type. (Looked up before it is
    /// added, so that its name is allocated once, not once per series.)
    fn family(
        &mut self,
        family: &str,
        help: &str,
        unit: Option<&'static str>,
        kind: MetricKind,
    ) -> Option<&mut FamilyBuilder> {
        if let Some(render) = &self.render {
            if render.only.as_deref().is_some_and(|only| only != family) {
                return None;
            }
        }
        // Another metric joins a family written as text: the family becomes
        // series, the writer's first.
        let owner = self
            .families
            .get_mut(family)
            .filter(|f| f.kind == kind)
            .and_then(|f| f.text.take())
            .map(|(_, owner)| owner);
        if let Some(owner) = owner {
            if self.collect_again(owner, family) {
                return None;
            }
        }
        if !self.families.contains_key(family) {
            let seq = self.families.len();
            self.families.insert(
                family.to_owned(),
                FamilyBuilder {
                    seq,
                    help: help.to_owned(),
                    unit,
                    kind,
                    series: BTreeMap::new(),
                    text: None,
                },
            );
        }
        self.families.get_mut(family).filter(|f| f.kind == kind)
    }

    /// Collects `owner` again, adding only to `family` (whose text was
    /// dropped), then goes back to the metric being collected. Returns
    /// whether that metric is `owner` itself, joining its own family (the
    /// overflow counter of a family named after it): what it is adding was
    /// added again just now, so the caller leaves it out.
    fn collect_again(&mut self, owner: Owner, family: &str) -> bool {
        let Some(render) = &mut self.render else {
            return false;
        };
        let current = render.current;
        let only = render.only.replace(family.to_owned());
        render.current = Some(owner);
        owner.0.collect(self);
        let Some(render) = &mut self.render else {
            return false;
        };
        render.current = current;
        render.only = only;
        owner.is(current)
    }

    /// Adds one series of the family `desc` describes. A series whose family
    /// exists with another type is dropped (the first registered type wins);
    /// a series with the same labels as an existing one is added to it.
    pub(crate) fn push(
        &mut self,
        desc: &Desc<'_>,
        labels: Vec<(String, String)>,
        value: Value,
        created: Option<f64>,
    ) {
        let Some(f) = self.family(desc.name, desc.help, desc.unit, desc.kind) else {
            return;
        };
        let labels: Labels = labels
            .into_iter()
            .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)))
            .collect();
        // Labels already in sorted order (one label, or declared by name)
        // are their own key.
        let (key, labels) = if labels.is_sorted() {
            (labels, None)
        } else {
            let mut key = labels.clone();
            key.sort();
            (key, Some(labels))
        };
        match f.series.entry(key) {
            Entry::Occupied(existing) => {
                let existing = existing.into_mut();
                merge(&mut existing.value, value);
                existing.created = match (existing.created, created) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            Entry::Vacant(entry) => {
                entry.insert(PendingSeries {
                    labels,
                    value,
                    created,
                });
            }
        }
    }

    pub(crate) fn finish(mut self) -> Snapshot {
        self.remove_clashes();
        Snapshot {
            families: self
                .families
                .into_iter()
                .map(|(name, f)| f.into_family(name))
                .collect(),
        }
    }

    /// Appends every family in the render's text format: those with text as
    /// written, the others encoded from their merged series (nothing when
    /// this is not a render).
    pub(crate) fn write_text(mut self, out: &mut String) {
        let Some(format) = self.render.as_ref().map(|r| r.format) else {
            return;
        };
        self.remove_clashes();
        out.reserve(
            self.families
                .values()
                .filter_map(|f| f.text.as_ref().map(|(text, _)| text.len() + 128))
                .sum(),
        );
        for (name, f) in self.families {
            match &f.text {
                Some((text, _)) => {
                    format.header(out, &name, &f.help, f.unit, f.kind);
                    out.push_str(text);
                }
                None => format.family(&f.into_family(name), out),
            }
        }
        format.end(out);
    }

    /// Leaves out every family whose names clash with an earlier one's, so
    /// that the exposition stays valid.
    fn remove_clashes(&mut self) {
        let mut order: Vec<(usize, String, MetricKind)> = self
            .families
            .iter()
            .map(|(name, f)| (f.seq, name.clone(), f.kind))
            .collect();
        order.sort();
        // The names the kept families and their samples take.
        let mut kept: HashSet<String> = HashSet::new();
        for (_, name, kind) in order {
            let names = taken(&name, kind);
            if names.iter().any(|n| kept.contains(n)) {
                self.families.remove(&name);
            } else {
                kept.extend(names);
            }
        }
    }
}

impl FamilyBuilder {
    fn into_family(self, name: String) -> MetricFamily {
        MetricFamily {
            name: Cow::Owned(name),
            help: Cow::Owned(self.help),
            unit: self.unit,
            kind: self.kind,
            series: self
                .series
                .into_iter()
                .map(|(key, series)| Series {
                    labels: series.labels.unwrap_or(key),
                    value: series.value,
                    created: series.created,
                })
                .collect(),
        }
    }
}

/// The names a family of `kind` takes in either format: its own and its samples'.
fn taken(name: &str, kind: MetricKind) -> Vec<String> {
    std::iter::once(name.to_owned())
        .chain(kind.sample_suffixes().iter().map(|s| format!("{name}{s}")))
        .collect()
}

/// Whether two different families' names collide in an exposition.
fn clash(a: &str, a_kind: MetricKind, b: &str, b_kind: MetricKind) -> bool {
    let (ta, tb) = (taken(a, a_kind), taken(b, b_kind));
    ta.iter().any(|n| tb.contains(n))
}

/// Why a new family could not join the registered ones.
pub(crate) enum Taken {
    /// A family of this name exists, of this kind.
    Exists(MetricKind),
    /// Another family's samples take the names the new one needs; why.
    Clash(String),
}

/// Whether a new family `name` of `kind` can join the registered ones (one
/// collection of every metric): no family may have its name, and none may
/// take a name its samples need or need one its samples take. The caller
/// holds [`registering`] from this check until it has registered the family
/// (locks are taken in the order `dynamic::REGISTERED`, `REGISTERING`,
/// `DYNAMIC`).
pub(crate) fn check_new(
    name: &str,
    kind: MetricKind,
    _registering: &std::sync::MutexGuard<'static, ()>,
) -> Result<(), Taken> {
    // This process's metrics only: not what a backend merged in from
    // other processes, which register the same names.
    let mut sink = Sink::default();
    each_registered(|metric| metric.collect(&mut sink));
    let snapshot = sink.finish();
    if let Some(f) = snapshot.family(name) {
        return Err(Taken::Exists(f.kind));
    }
    match snapshot
        .families
        .iter()
        .find(|f| clash(name, kind, &f.name, f.kind))
    {
        Some(f) => Err(Taken::Clash(format!(
            "as the {} family {:?}, whose samples take the same names",
            f.kind.as_str(),
            f.name
        ))),
        None => Ok(()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_clash_through_their_sample_names() {
        use MetricKind::{Counter, Gauge, Histogram};
        assert!(clash("x", Counter, "x_total", Gauge));
        assert!(clash("x", Counter, "x_created", Gauge));
        assert!(clash("x", Histogram, "x_count", Gauge));
        assert!(clash("x", Histogram, "x_bucket", Counter));
        assert!(clash("x", Counter, "x", Gauge));
        assert!(!clash("x", Gauge, "x_total", Gauge));
        assert!(!clash("x", Counter, "y", Counter));
        assert!(!clash("x_seconds", Histogram, "x", Gauge));
    }

    #[test]
    fn one_label_set_in_two_orders_is_one_series() {
        let mut b = Sink::default();
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        for labels in [
            vec![pair("a", "1"), pair("b", "2")],
            vec![pair("b", "2"), pair("a", "1")],
            vec![pair("a", "2"), pair("b", "1")],
        ] {
            b.push(
                &Desc {
                    name: "m",
                    help: "",
                    unit: None,
                    kind: MetricKind::Counter,
                },
                labels,
                Value::Counter(1.0),
                None,
            );
        }
        let snapshot = b.finish();
        let series = &snapshot.families[0].series;
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].label("a"), Some("1"));
        assert_eq!(series[0].value, Value::Counter(2.0));
        assert_eq!(series[1].value, Value::Counter(1.0));
    }

    #[test]
    fn a_series_keeps_the_label_order_it_was_first_pushed_in() {
        let mut b = Sink::default();
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        for labels in [
            vec![pair("b", "2"), pair("a", "1")],
            vec![pair("a", "1"), pair("b", "2")],
            vec![pair("a", "0"), pair("c", "3")],
        ] {
            b.push(
                &Desc {
                    name: "m",
                    help: "",
                    unit: None,
                    kind: MetricKind::Counter,
                },
                labels,
                Value::Counter(1.0),
                None,
            );
        }
        let series = &b.finish().families[0].series;
        let labels: Vec<Vec<(&str, &str)>> = series
            .iter()
            .map(|s| s.labels.iter().map(|(k, v)| (&**k, &**v)).collect())
            .collect();
        // Sorted by the sorted label pairs, each in its first order.
        assert_eq!(
            labels,
            [vec![("a", "0"), ("c", "3")], vec![("b", "2"), ("a", "1")]]
        );
        assert_eq!(series[1].value, Value::Counter(2.0));
    }

    #[test]
    fn a_family_left_out_takes_no_names() {
        let mut b = Sink::default();
        // `a_total` clashes with the counter `a` and is left out; the gauge
        // `a_total_count` clashes only with it, so it stays.
        let desc = |name, kind| Desc {
            name,
            help: "",
            unit: None,
            kind,
        };
        b.declare(&desc("a", MetricKind::Counter));
        b.declare(&desc("a_total", MetricKind::Histogram));
        b.declare(&desc("a_total_count", MetricKind::Gauge));
        let names: Vec<String> = b
            .finish()
            .families
            .iter()
            .map(|f| f.name.to_string())
            .collect();
        assert_eq!(names, ["a", "a_total_count"]);
    }

    #[test]
    fn the_later_of_two_clashing_families_is_left_out() {
        let mut b = Sink::default();
        b.push(
            &Desc {
                name: "x",
                help: "",
                unit: None,
                kind: MetricKind::Counter,
            },
            vec![],
            Value::Counter(1.0),
            None,
        );
        b.push(
            &Desc {
                name: "x_total",
                help: "",
                unit: None,
                kind: MetricKind::Gauge,
            },
            vec![],
            Value::Gauge(2.0),
            None,
        );
        b.push(
            &Desc {
                name: "y",
                help: "",
                unit: None,
                kind: MetricKind::Gauge,
            },
            vec![],
            Value::Gauge(3.0),
            None,
        );
        let names: Vec<String> = b
            .finish()
            .families
            .iter()
            .map(|f| f.name.to_string())
            .collect();
        assert_eq!(names, ["x", "y"]);
    }
}
