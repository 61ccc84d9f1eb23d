//! Metrics whose names and labels are known only at run time.
//!
//! A dynamic metric declares its label names: *required* labels, which must
//! be bound before an observation, and labels with *default* values, which
//! may be. Binding some labels gives a view that is itself a metric and can
//! bind more; views are cheap to clone and keep.
//!
//! ```
//! use telltale::dynamic;
//!
//! let jobs = dynamic::counter("jobs_processed_total")
//!     .help("Jobs processed, by queue and outcome.")
//!     .required_labels(["queue", "outcome"])
//!     .default_labels([("region", "eu")])
//!     .register()?;
//!
//! // Not every required label is bound yet: an error naming what is missing.
//! let err = jobs.inc().unwrap_err();
//! assert!(err.to_string().contains("[\"queue\", \"outcome\"]"));
//!
//! let emails = jobs.labels([("queue", "emails")]);   // a view, itself a metric
//! emails.labels([("outcome", "ok")]).inc()?;
//! emails.labels([("outcome", "ok")]).inc_by(2)?;
//! assert_eq!(emails.labels([("outcome", "ok")]).get()?, 3);
//!
//! let text = telltale::render(telltale::Format::Prometheus);
//! assert!(text.contains(r#"jobs_processed_total{queue="emails",outcome="ok",region="eu"} 3"#));
//! # Ok::<(), telltale::Error>(())
//! ```
//!
//! Registering a name again with the same type and labels returns the same
//! metric; with another type or other labels it is an
//! [`Error::Conflict`], as is a name a static metric
//! already uses. Label sets are capped like any family's
//! ([`set_default_cardinality_cap`](crate::set_default_cardinality_cap), or
//! [`Builder::cap`]).

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use crate::collect::registry::{Collect, Sink, Taken};
use crate::collect::snapshot::MetricKind;
use crate::error::{check_label_name, check_metric_name, Error};
use crate::metric::family::{FamilyMetric, SeriesIndex, Store};
use crate::metric::standalone::{bucket_problem, family_name, Counter, Gauge, Histogram};
use crate::store::histogram::HISTOGRAM_BUCKETS;

/// Starts declaring a dynamic counter.
pub fn counter(name: impl Into<String>) -> Builder<Counter> {
    Builder::new(name.into())
}

/// Starts declaring a dynamic gauge.
pub fn gauge(name: impl Into<String>) -> Builder<Gauge> {
    Builder::new(name.into())
}

/// Starts declaring a dynamic histogram.
pub fn histogram(name: impl Into<String>) -> Builder<Histogram> {
    Builder::new(name.into())
}

/// The declaration of a dynamic metric.
#[derive(Debug, Clone)]
#[must_use = "call register() to create the metric"]
pub struct Builder<M> {
    name: String,
    help: String,
    required: Vec<String>,
    defaults: Vec<(String, String)>,
    buckets: Vec<f64>,
    cap: Option<usize>,
    mode: crate::backend::mode::GaugeMode,
    _kind: PhantomData<fn() -> M>,
}

impl<M: FamilyMetric> Builder<M> {
    fn new(name: String) -> Self {
        Builder {
            name,
            help: String::new(),
            required: Vec::new(),
            defaults: Vec::new(),
            buckets: HISTOGRAM_BUCKETS.to_vec(),
            cap: None,
            mode: crate::backend::mode::GaugeMode::All,
            _kind: PhantomData,
        }
    }

    /// The help text.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    /// Labels that must be bound before an observation.
    pub fn required_labels<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required.extend(names.into_iter().map(Into::into));
        self
    }

    /// Labels with a value used when none is bound.
    pub fn default_labels<I, K, V>(mut self, pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.defaults
            .extend(pairs.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Most label sets kept (default: the global cap).
    pub fn cap(mut self, cap: usize) -> Self {
        self.cap = Some(cap.max(1));
        self
    }

    /// Label names in series order: required ones, then default-only ones.
    fn label_names(&self) -> Result<Vec<String>, Error> {
        let mut names: Vec<String> = Vec::new();
        for name in self
            .required
            .iter()
            .chain(self.defaults.iter().map(|(k, _)| k))
        {
            if names.contains(name) {
                continue;
            }
            check_label_name(name)?;
            if name == "le" || name == "quantile" {
                return Err(Error::InvalidName {
                    what: "label",
                    name: name.clone(),
                    reason: "`le` and `quantile` are reserved for histogram and summary buckets"
                        .to_owned(),
                });
            }
            names.push(name.clone());
        }
        if let Some(dup) = self
            .required
            .iter()
            .enumerate()
            .find(|(i, n)| self.required[..*i].contains(n))
        {
            return Err(Error::InvalidName {
                what: "label",
                name: dup.1.clone(),
                reason: format!("it is declared twice on metric {:?}", self.name),
            });
        }
        Ok(names)
    }

    /// Creates the metric, or returns the one registered under the same name
    /// with the same type and labels.
    pub fn register(self) -> Result<Metric<M>, Error> {
        check_metric_name(&self.name)?;
        if self.mode != crate::backend::mode::GaugeMode::All {
            crate::backend::mode::note(&self.name, self.mode);
        }
        let names = self.label_names()?;
        if M::KIND == MetricKind::Histogram {
            if let Some(problem) = bucket_problem(&self.buckets) {
                return Err(Error::Config(format!(
                    "buckets of histogram {:?}: {problem}",
                    self.name
                )));
            }
        }
        let mut table = REGISTERED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(existing) = table.get(&self.name) {
            if existing.kind != M::KIND {
                return Err(Error::Conflict {
                    name: self.name,
                    reason: format!("as a {}", existing.kind.as_str()),
                });
            }
            if existing.names != names {
                return Err(Error::Conflict {
                    name: self.name,
                    reason: format!("with the labels {:?}", existing.names),
                });
            }
            if let Some(inner) = existing.any.downcast_ref::<&'static Inner<M>>() {
                return Ok(Metric::root(inner));
            }
        }
        let taking = crate::collect::registry::registering();
        match crate::collect::registry::check_new(
            family_name(&self.name, M::KIND),
            M::KIND,
            &taking,
        ) {
            Ok(()) => {}
            Err(Taken::Exists(kind)) => {
                return Err(Error::Conflict {
                    name: self.name,
                    reason: format!("by a static {} metric", kind.as_str()),
                })
            }
            Err(Taken::Clash(reason)) => {
                return Err(Error::Conflict {
                    name: self.name,
                    reason,
                })
            }
        }
        let defaults = names
            .iter()
            .map(|n| {
                self.defaults
                    .iter()
                    .rev()
                    .find(|(k, _)| k == n)
                    .map(|(_, v)| Box::<str>::from(v.as_str()))
            })
            .collect();
        let leaked: Vec<&'static str> = names
            .iter()
            .map(|n| &*Box::leak(n.clone().into_boxed_str()))
            .collect();
        let cap = self
            .cap
            .unwrap_or_else(crate::metric::family::default_cardinality_cap);
        // The backend starts first: its mapped memory may hold the cells.
        crate::collect::start::start();
        let name: &'static str = Box::leak(self.name.clone().into_boxed_str());
        let help: &'static str = Box::leak(self.help.into_boxed_str());
        let buckets: &'static [f64] = Box::leak(self.buckets.into_boxed_slice());
        let store = Store::kept_or(
            SeriesIndex::hashed(leaked, cap),
            || Box::leak(Box::new(M::CELLS)),
            name,
            help,
            buckets,
            self.mode,
        );
        let inner: &'static Inner<M> = Box::leak(Box::new(Inner {
            name,
            help,
            buckets,
            defaults,
            store,
        }));
        if inner.store.index.names.is_empty() {
            // Nothing to bind: the one series exists, and shows, from now.
            inner.store.id(&|_| {});
        }
        crate::collect::registry::register(inner);
        table.insert(
            self.name,
            Registered {
                kind: M::KIND,
                names,
                any: Box::new(inner),
            },
        );
        Ok(Metric::root(inner))
    }
}

struct Registered {
    kind: MetricKind,
    names: Vec<String>,
    any: Box<dyn std::any::Any + Send>,
}

/// Every dynamic metric by name.
static REGISTERED: LazyLock<Mutex<HashMap<String, Registered>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

struct Inner<M: FamilyMetric> {
    name: &'static str,
    help: &'static str,
    buckets: &'static [f64],
    defaults: Box<[Option<Box<str>>]>,
    store: Store<M>,
}

impl<M: FamilyMetric> Collect for Inner<M> {
    fn collect(&'static self, out: &mut Sink) {
        self.store.collect(self.name, self.help, self.buckets, out);
    }
}

/// A dynamic metric, or a view of one with some labels bound.
pub struct Metric<M: FamilyMetric> {
    inner: &'static Inner<M>,
    bound: Arc<[Option<Box<str>>]>,
    unknown: Option<Arc<str>>,
    handle: OnceLock<M::Handle>,
}

impl<M: FamilyMetric> Clone for Metric<M> {
    fn clone(&self) -> Self {
        Metric {
            inner: self.inner,
            bound: self.bound.clone(),
            unknown: self.unknown.clone(),
            handle: self.handle.clone(),
        }
    }
}

impl<M: FamilyMetric> std::fmt::Debug for Metric<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metric")
            .field("name", &self.inner.name)
            .field("labels", &self.inner.store.index.names)
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}

impl<M: FamilyMetric> Metric<M> {
    fn root(inner: &'static Inner<M>) -> Self {
        Metric {
            inner,
            bound: inner.store.index.names.iter().map(|_| None).collect(),
            unknown: None,
            handle: OnceLock::new(),
        }
    }

    /// The metric's name.
    pub fn name(&self) -> &'static str {
        self.inner.name
    }

    /// A view with these labels bound as well (a later binding of the same
    /// label wins). A label the metric does not declare makes every
    /// observation on the view an [`Error::UnknownLabel`].
    #[must_use]
    pub fn labels<I, K, V>(&self, pairs: I) -> Metric<M>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let names = &self.inner.store.index.names;
        let mut bound: Vec<Option<Box<str>>> = self.bound.to_vec();
        let mut unknown = self.unknown.clone();
        for (k, v) in pairs {
            match names.iter().position(|n| *n == k.as_ref()) {
                Some(i) => bound[i] = Some(v.as_ref().into()),
                None => unknown = unknown.or_else(|| Some(k.as_ref().into())),
            }
        }
        Metric {
            inner: self.inner,
            bound: bound.into(),
            unknown,
            handle: OnceLock::new(),
        }
    }

    /// The series this view observes into, once every label has a value.
    fn handle(&self) -> Result<M::Handle, Error> {
        if let Some(h) = self.handle.get() {
            return Ok(*h);
        }
        if let Some(label) = &self.unknown {
            return Err(Error::UnknownLabel {
                metric: self.inner.name.to_owned(),
                label: label.to_string(),
            });
        }
        let names = &self.inner.store.index.names;
        let values: Vec<Option<&str>> = self
            .bound
            .iter()
            .zip(self.inner.defaults.iter())
            .map(|(b, d)| b.as_deref().or(d.as_deref()))
            .collect();
        let missing: Vec<String> = names
            .iter()
            .zip(&values)
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| (*n).to_owned())
            .collect();
        if !missing.is_empty() {
            return Err(Error::MissingLabels {
                metric: self.inner.name.to_owned(),
                labels: missing,
            });
        }
        let id = self.inner.store.id(&|f| {
            for v in values.iter().flatten() {
                f(v);
            }
        });
        let handle = M::handle(self.inner.store.cells, id);
        Ok(*self.handle.get_or_init(|| handle))
    }
}

impl Metric<Counter> {
    /// Adds one.
    pub fn inc(&self) -> Result<(), Error> {
        self.handle().map(|h| h.inc())
    }

    /// Adds `n`.
    pub fn inc_by(&self, n: u64) -> Result<(), Error> {
        self.handle().map(|h| h.inc_by(n))
    }

    /// The series' total.
    pub fn get(&self) -> Result<u64, Error> {
        self.handle().map(|h| h.get())
    }
}

impl Metric<Gauge> {
    /// Sets the value.
    pub fn set(&self, v: f64) -> Result<(), Error> {
        self.handle().map(|h| h.set(v))
    }

    /// Adds `v`.
    pub fn add(&self, v: f64) -> Result<(), Error> {
        self.handle().map(|h| h.add(v))
    }

    /// Subtracts `v`.
    pub fn sub(&self, v: f64) -> Result<(), Error> {
        self.handle().map(|h| h.sub(v))
    }

    /// Adds one.
    pub fn inc(&self) -> Result<(), Error> {
        self.add(1.0)
    }

    /// Subtracts one.
    pub fn dec(&self) -> Result<(), Error> {
        self.add(-1.0)
    }

    /// The current value.
    pub fn get(&self) -> Result<f64, Error> {
        self.handle().map(|h| h.get())
    }
}

impl Builder<Gauge> {
    /// How a multi-process [backend](crate::backend) combines each series'
    /// values from several processes (default
    /// [`GaugeMode::All`](crate::backend::GaugeMode::All)).
    pub fn multiprocess_mode(mut self, mode: crate::backend::mode::GaugeMode) -> Self {
        self.mode = mode;
        self
    }
}

impl Builder<Histogram> {
    /// The classic `le` bounds (finite, strictly increasing; checked by
    /// [`register`](Self::register)).
    pub fn buckets(mut self, buckets: &[f64]) -> Self {
        self.buckets = buckets.to_vec();
        self
    }
}

impl Metric<Histogram> {
    /// Records one observation.
    pub fn observe(&self, v: f64) -> Result<(), Error> {
        self.handle().map(|h| h.observe(v))
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // values compared are exact
mod tests {
    use super::*;

    #[test]
    fn views_bind_labels_step_by_step_and_defaults_fill_the_rest() {
        let m = counter("dyn_views_total")
            .required_labels(["a", "b"])
            .default_labels([("c", "dflt")])
            .register()
            .unwrap();
        let e = m.labels([("a", "1")]).inc().unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"metric "dyn_views_total" needs values for the labels ["b"]"#
        );
        let view = m.labels([("a", "1")]);
        view.labels([("b", "2")]).inc().unwrap();
        view.labels([("b", "2")])
            .labels([("c", "other")])
            .inc_by(4)
            .unwrap();
        assert_eq!(m.labels([("a", "1"), ("b", "2")]).get().unwrap(), 1);
        assert_eq!(
            m.labels([("b", "2"), ("a", "1"), ("c", "other")])
                .get()
                .unwrap(),
            4
        );
        let text = crate::encode::render(crate::encode::Format::Prometheus);
        assert!(
            text.contains("dyn_views_total{a=\"1\",b=\"2\",c=\"dflt\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("dyn_views_total{a=\"1\",b=\"2\",c=\"other\"} 4\n"),
            "{text}"
        );
    }

    #[test]
    fn unknown_labels_and_bad_names_are_errors() {
        let m = gauge("dyn_unknown")
            .required_labels(["a"])
            .register()
            .unwrap();
        let e = m.labels([("a", "1"), ("zzz", "2")]).set(1.0).unwrap_err();
        assert_eq!(e.to_string(), r#"metric "dyn_unknown" has no label "zzz""#);
        assert!(matches!(
            counter("bad name").register(),
            Err(Error::InvalidName { what: "metric", .. })
        ));
        let e = counter("dyn_bad_label")
            .required_labels(["x-y"])
            .register()
            .unwrap_err();
        assert!(
            e.to_string().starts_with(r#"invalid label name "x-y""#),
            "{e}"
        );
        assert!(counter("dyn_reserved")
            .required_labels(["__x"])
            .register()
            .is_err());
        assert!(histogram("dyn_le")
            .required_labels(["le"])
            .register()
            .is_err());
        let e = counter("dyn_twice")
            .required_labels(["a", "a"])
            .register()
            .unwrap_err();
        assert!(e.to_string().contains("declared twice"), "{e}");
        let e = histogram("dyn_buckets")
            .buckets(&[1.0, 1.0])
            .register()
            .unwrap_err();
        assert!(e.to_string().contains("strictly increasing"), "{e}");
    }

    #[test]
    fn registering_again_returns_the_same_metric_or_names_the_conflict() {
        let a = counter("dyn_again_total")
            .required_labels(["k"])
            .register()
            .unwrap();
        let b = counter("dyn_again_total")
            .required_labels(["k"])
            .register()
            .unwrap();
        a.labels([("k", "v")]).inc().unwrap();
        b.labels([("k", "v")]).inc().unwrap();
        assert_eq!(a.labels([("k", "v")]).get().unwrap(), 2);
        let e = gauge("dyn_again_total")
            .required_labels(["k"])
            .register()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"metric "dyn_again_total" is already registered as a counter"#
        );
        let e = counter("dyn_again_total")
            .required_labels(["j"])
            .register()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"metric "dyn_again_total" is already registered with the labels ["k"]"#
        );
        // A name a static metric uses.
        let e = gauge("build_info").register().unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"metric "build_info" is already registered by a static gauge metric"#
        );
    }

    #[test]
    fn threads_racing_for_one_free_name_leave_one_metric() {
        for round in 0..20 {
            let name = format!("dyn_race_{round}_total");
            let barrier = std::sync::Barrier::new(6);
            let wins = std::thread::scope(|s| {
                let racers: Vec<_> = (0..6)
                    .map(|i| {
                        let (name, barrier) = (&name, &barrier);
                        s.spawn(move || {
                            barrier.wait();
                            // Static-style counters, gauges and a dynamic
                            // family all want the same family name.
                            match i % 3 {
                                0 => {
                                    crate::metric::standalone::Counter::register(name.as_str(), "t")
                                        .is_ok()
                                }
                                1 => crate::metric::standalone::Gauge::register(name.as_str(), "t")
                                    .is_ok(),
                                _ => gauge(name.as_str()).register().is_ok(),
                            }
                        })
                    })
                    .collect();
                racers
                    .into_iter()
                    .map(|r| r.join().unwrap_or(false))
                    .collect::<Vec<bool>>()
            });
            // One wins; dynamic gauges registered again with the same labels
            // share one metric, so those two succeed together or not at all.
            let won: Vec<usize> = (0..6).filter(|&i| wins[i]).collect();
            assert!(
                matches!(won.as_slice(), [0 | 1 | 3 | 4] | [2, 5]),
                "round {round}: {won:?} all took {name}"
            );
        }
    }

    #[test]
    fn names_that_would_collide_with_another_familys_samples_are_conflicts() {
        counter("dyn_clash").register().unwrap();
        let e = gauge("dyn_clash_total").register().unwrap_err();
        assert!(
            e.to_string().contains("counter family \"dyn_clash\""),
            "{e}"
        );
        assert!(gauge("dyn_clash_created").register().is_err());
        histogram("dyn_clash_h").register().unwrap();
        assert!(gauge("dyn_clash_h_bucket").register().is_err());
        assert!(counter("dyn_clash_h_sum").register().is_err());
        assert!(gauge("dyn_clash_other").register().is_ok());
    }

    #[test]
    fn dynamic_histograms_and_static_metrics_share_one_exposition() {
        let h = histogram("dyn_latency_seconds")
            .required_labels(["route"])
            .buckets(&[0.1, 1.0])
            .register()
            .unwrap();
        h.labels([("route", "/a")]).observe(0.05).unwrap();
        h.labels([("route", "/a")]).observe(2.0).unwrap();
        let text = crate::encode::render(crate::encode::Format::Prometheus);
        assert!(
            text.contains("dyn_latency_seconds_bucket{route=\"/a\",le=\"0.1\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("dyn_latency_seconds_count{route=\"/a\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("build_info{"));
    }
}
