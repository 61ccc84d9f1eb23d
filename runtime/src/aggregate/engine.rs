//! [`Aggregator`]: rules evaluated after every tick of a [`Windows`]
//! store, their outputs exported as gauge families beside the program's
//! own.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, PoisonError, RwLock};
use std::time::Duration;

use super::eval::{self, Ema, Out, SourceScope, Tick};
use super::rule::{compile_all, Compiled, Rule, RuleError, DEFAULT_WINDOW};
use crate::collect::registry::{self, Collect, Desc, Sink};
use crate::collect::snapshot::{MetricKind, Snapshot, Value};
use crate::query::window::{self, Labels, TickListener, Windows};

/// The outputs of every running aggregator, by its id.
static PUBLISHED: Mutex<BTreeMap<u64, Arc<Vec<Family>>>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static SCOPE: RwLock<Option<SourceScope>> = RwLock::new(None);

/// Tells rules which series of a family a source published (the sources
/// layer sets it).
#[cfg(feature = "sources")]
pub(crate) fn set_source_scope(scope: SourceScope) {
    *SCOPE.write().unwrap_or_else(PoisonError::into_inner) = Some(scope);
}

/// One rule's output family.
#[derive(Debug, Clone)]
struct Family {
    name: String,
    help: String,
    series: Vec<Out>,
}

struct Exporter;

static EXPORTER: Exporter = Exporter;

impl Collect for Exporter {
    /// Values of this process alone: a multi-process backend leaves them
    /// out of what it merges.
    fn shared(&self) -> bool {
        false
    }

    fn collect(&'static self, out: &mut Sink) {
        let all: Vec<Arc<Vec<Family>>> = PUBLISHED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for families in all {
            for family in families.iter() {
                let desc = Desc {
                    name: &family.name,
                    help: &family.help,
                    unit: None,
                    kind: MetricKind::Gauge,
                };
                out.declare(&desc);
                for s in &family.series {
                    let mut labels: Vec<(String, String)> = s
                        .labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                    if let Some(q) = &s.quantile {
                        labels.push(("quantile".to_owned(), q.to_string()));
                    }
                    out.push(&desc, labels, Value::Gauge(s.value), None);
                }
            }
        }
    }
}

/// How one rule is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleStatus {
    /// The output family.
    pub name: String,
    /// The series it exported at the last tick (0 while there is too
    /// little data).
    pub series: usize,
    /// Why it exported nothing, when it cannot be evaluated (a type
    /// mismatch: a percentile of a counter).
    pub error: Option<String>,
}

struct State {
    /// Set by `stop`: an evaluation in flight publishes nothing.
    stopped: bool,
    rules: Vec<Compiled>,
    ema: HashMap<String, HashMap<Labels, Ema>>,
    status: Vec<RuleStatus>,
}

struct Inner {
    id: u64,
    state: Mutex<State>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        window::clear_unstored(self.id);
        PUBLISHED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

/// Rules evaluated after every tick of a [`Windows`] store (see the
/// [module docs](super)); dropping it (or [`stop`](Aggregator::stop))
/// stops them and their series go.
pub struct Aggregator {
    inner: Arc<Inner>,
    /// Holds the tick listener alive.
    listener: Mutex<Option<Arc<TickListener>>>,
}

impl std::fmt::Debug for Aggregator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aggregator")
            .field("status", &self.status())
            .finish()
    }
}

/// The families the program exports now (which no rule may be named as),
/// and their kinds.
fn exported() -> BTreeMap<String, MetricKind> {
    Snapshot::collect()
        .families
        .into_iter()
        .map(|f| (f.name.to_string(), f.kind))
        .collect()
}

/// Checks `rules` as [`start`] would, without starting anything: every
/// mistake, each naming its rule's index and field. `default_window` is a
/// rule's window when it names none.
pub fn check(
    rules: &[Rule],
    default_window: Option<Duration>,
    windows: &crate::query::window::WindowConfig,
) -> Result<(), Vec<RuleError>> {
    compile(rules, default_window, windows).map(drop)
}

fn compile(
    rules: &[Rule],
    default_window: Option<Duration>,
    windows: &crate::query::window::WindowConfig,
) -> Result<Vec<Compiled>, Vec<RuleError>> {
    let mut families = exported();
    // Rules' outputs are not taken: a reload (or a restarted system) keeps
    // its rules' names, and the running rules are replaced by the new.
    for outputs in PUBLISHED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .values()
    {
        for f in outputs.iter() {
            families.remove(&f.name);
        }
    }
    // Families, and the names their samples are exported under.
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for (name, kind) in &families {
        taken.insert(name.clone());
        taken.extend(kind.sample_suffixes().iter().map(|s| format!("{name}{s}")));
    }
    let (compiled, mut errors) =
        compile_all(rules, default_window.unwrap_or(DEFAULT_WINDOW), &taken);
    let retention = windows.fine_retention.max(windows.coarse_retention);
    let names: BTreeSet<&str> = compiled.iter().map(|c| c.name.as_str()).collect();
    for c in &compiled {
        let index = c.index;
        if c.window > retention {
            errors.push(RuleError {
                index,
                field: Some("window"),
                reason: format!(
                    "{} is longer than the windows keep ({}); raise system.window.coarse_retention",
                    crate::config::duration::format_duration(c.window),
                    crate::config::duration::format_duration(retention)
                ),
            });
        }
        // The program's own metrics are registered by now: a rule reading
        // one that does not exist, or one of the wrong type, is refused.
        let mut reads: Vec<(&'static str, &super::selector::Selector)> = Vec::new();
        if let Some(s) = &c.source {
            reads.push(("source", s));
        }
        if let Some((n, d)) = &c.ratio {
            reads.push(("numerator", n));
            reads.push(("denominator", d));
        }
        for (field, selector) in reads {
            if selector.source.is_some() {
                continue;
            }
            let kind = families
                .get(&selector.metric)
                .or_else(|| families.get(selector.metric.trim_end_matches("_total")));
            match kind {
                None => errors.push(RuleError {
                    index,
                    field: Some(field),
                    reason: format!(
                        "the program exports no metric {:?} (a static metric registers on its first use, or at start with telltale::register!)",
                        selector.metric
                    ),
                }),
                Some(&kind) => {
                    if let Some(reason) = mismatch(c.kind, kind) {
                        errors.push(RuleError {
                            index,
                            field: Some(field),
                            reason,
                        });
                    }
                }
            }
        }
        if let Some(expr) = &c.expr {
            for name in expr.names() {
                let known = names.contains(name)
                    || name.contains('.')
                    || families.contains_key(name)
                    || families.contains_key(name.trim_end_matches("_total"));
                if !known {
                    errors.push(RuleError {
                        index,
                        field: Some("expression"),
                        reason: format!(
                            "{name:?} is neither a rule nor a metric the program exports"
                        ),
                    });
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(compiled)
    } else {
        errors.sort_by_key(|e| e.index);
        Err(errors)
    }
}

/// Why rule `kind` cannot read a metric of `metric` kind, if it cannot.
fn mismatch(kind: super::rule::RuleKind, metric: MetricKind) -> Option<String> {
    use super::rule::RuleKind as R;
    use MetricKind::{Counter, Gauge, Histogram};
    let (fine, hint) = match (kind, metric) {
        (R::Percentile, Counter) => (
            false,
            " (a counter has no distribution: use rate, or a histogram)",
        ),
        (R::Mean, Counter) => (false, " (use rate for a counter)"),
        (R::Min | R::Max, Counter | Histogram) => (false, " (min and max read gauges)"),
        (R::Rate | R::Increase, Gauge | Histogram) => (false, " (rate and increase read counters)"),
        (R::MovingAverage, Counter | Histogram) => (
            false,
            " (a moving average reads a gauge; use rate for a counter)",
        ),
        _ => (true, ""),
    };
    (!fine).then(|| {
        format!(
            "a {} rule cannot read a {}{hint}",
            kind.as_str(),
            metric.as_str()
        )
    })
}

/// Starts evaluating `rules` after every tick of `windows`.
///
/// # Errors
///
/// Every mistake of the rules, each naming the rule's index and field: a
/// bad name or selector, a name taken, a window longer than `windows`
/// keeps, a metric of the program's own that is not exported or is of the
/// wrong type, an expression that does not parse or reads rules in a
/// cycle.
pub fn start(windows: &Arc<Windows>, rules: &[Rule]) -> Result<Aggregator, Vec<RuleError>> {
    start_with(windows, rules, None)
}

/// [`start`], with `default_window` for the rules that name no window (the
/// configuration file's `aggregation_window`).
pub fn start_with(
    windows: &Arc<Windows>,
    rules: &[Rule],
    default_window: Option<Duration>,
) -> Result<Aggregator, Vec<RuleError>> {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| registry::register(&EXPORTER));
    let compiled = compile(rules, default_window, windows.config())?;
    let inner = Arc::new(Inner {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        state: Mutex::new(State {
            stopped: false,
            rules: compiled,
            ema: HashMap::new(),
            status: Vec::new(),
        }),
    });
    let weak = Arc::downgrade(&inner);
    let listener: Arc<TickListener> = Arc::new(move |windows: &Windows| {
        if let Some(inner) = weak.upgrade() {
            evaluate(&inner, windows);
        }
    });
    windows.on_tick(&listener);
    Ok(Aggregator {
        inner,
        listener: Mutex::new(Some(listener)),
    })
}

/// Evaluates every rule once, from the windows as they are.
fn evaluate(inner: &Inner, windows: &Windows) {
    let mut state = inner.state.lock().unwrap_or_else(PoisonError::into_inner);
    if state.stopped {
        return;
    }
    let latest = windows.latest();
    let now = windows.last_tick().map_or(0.0, |t| t.as_secs_f64());
    let scope = *SCOPE.read().unwrap_or_else(PoisonError::into_inner);
    let mut outputs: HashMap<String, Vec<Out>> = HashMap::new();
    let views = eval::Views::default();
    let mut families = Vec::with_capacity(state.rules.len());
    let mut status = Vec::with_capacity(state.rules.len());
    let State { rules, ema, .. } = &mut *state;
    for rule in rules.iter() {
        let tick = Tick {
            windows,
            latest: latest.clone(),
            outputs: &outputs,
            scope,
            now,
            views: &views,
        };
        let ema = ema.entry(rule.name.clone()).or_default();
        let (series, error) = match eval::evaluate(&tick, rule, ema) {
            Ok(series) => (series, None),
            Err(reason) => (Vec::new(), Some(reason)),
        };
        status.push(RuleStatus {
            name: rule.name.clone(),
            series: series.len(),
            error,
        });
        families.push(Family {
            name: rule.name.clone(),
            help: rule.help.clone(),
            series: series.clone(),
        });
        outputs.insert(rule.name.clone(), series);
    }
    let names: BTreeSet<&String> = rules.iter().map(|r| &r.name).collect();
    ema.retain(|name, _| names.contains(name));
    window::set_unstored(inner.id, rules.iter().map(|r| r.name.clone()).collect());
    state.status = status;
    PUBLISHED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(inner.id, Arc::new(families));
}

impl Aggregator {
    /// Evaluates the rules now, from `windows` (the tick listener does this
    /// after every tick; tests call it after ticking by hand).
    pub fn evaluate(&self, windows: &Windows) {
        evaluate(&self.inner, windows);
    }

    /// Replaces the rules (a configuration reload): checked first, and on
    /// an error the running rules stay. Moving averages of rules kept by
    /// name keep their state.
    ///
    /// # Errors
    ///
    /// As [`start`].
    pub fn set_rules(
        &self,
        windows: &Windows,
        rules: &[Rule],
        default_window: Option<Duration>,
    ) -> Result<(), Vec<RuleError>> {
        let compiled = compile(rules, default_window, windows.config())?;
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .rules = compiled;
        Ok(())
    }

    /// How each rule did at the last evaluation, in evaluation order.
    pub fn status(&self) -> Vec<RuleStatus> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .status
            .clone()
    }

    /// The series every rule holds now, outputs and moving-average states
    /// together: bounded by the rules times the series they match (see the
    /// [module docs](super)).
    pub fn held_series(&self) -> usize {
        let state = self
            .inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let outputs: usize = state.status.iter().map(|s| s.series).sum();
        let ema: usize = state.ema.values().map(HashMap::len).sum();
        outputs + ema
    }

    /// Stops evaluating; the rules' series go at the next scrape.
    /// Idempotent.
    pub fn stop(&self) {
        self.listener
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // Under the state lock: an evaluation in flight finishes first, and
        // then publishes nothing.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stopped = true;
        PUBLISHED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.inner.id);
        window::clear_unstored(self.inner.id);
    }
}

impl Drop for Aggregator {
    fn drop(&mut self) {
        self.stop();
    }
}
