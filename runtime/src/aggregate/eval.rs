//! Evaluating one rule at a tick, from the windows' frames: what each rule
//! type computes, grouping by `by`, and expressions.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::expr::{Expr, Func, Op};
use super::rule::{Compiled, RuleKind};
use super::selector::Selector;
use crate::collect::snapshot::{MetricKind, Snapshot, Value};
use crate::query::window::{Ends, HistDelta, Labels, View, Windows};

/// One output series: its labels (a `quantile` label added to them when
/// `quantile` is set) and value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Out {
    pub(crate) labels: Labels,
    pub(crate) quantile: Option<Arc<str>>,
    pub(crate) value: f64,
}

impl Out {
    /// The labels with the quantile, as one set.
    fn full_labels(&self) -> Labels {
        match &self.quantile {
            None => Arc::clone(&self.labels),
            Some(q) => {
                let mut all: Vec<(Cow<'static, str>, Cow<'static, str>)> = self.labels.to_vec();
                all.push((Cow::Borrowed("quantile"), Cow::Owned(q.to_string())));
                Labels::from(all)
            }
        }
    }
}

/// Which series of a family belong to a source: `None` when the source is
/// unknown or has published nothing yet.
pub(crate) type SourceScope = fn(&str, &str) -> Option<Scope>;

/// What every rule of one tick reads.
pub(crate) struct Tick<'a> {
    pub(crate) windows: &'a Windows,
    pub(crate) latest: Option<Arc<Snapshot>>,
    /// This tick's outputs of the rules evaluated before, by name.
    pub(crate) outputs: &'a HashMap<String, Vec<Out>>,
    pub(crate) scope: Option<SourceScope>,
    /// The tick's time, in seconds of the windows' clock.
    pub(crate) now: f64,
    /// The windows the rules read, each built once a tick: `(width,
    /// tumbling)`.
    pub(crate) views: &'a Views,
}

/// Windows built during one tick, shared by the rules that read them.
pub(crate) type Views = std::cell::RefCell<HashMap<(Duration, bool), Option<std::rc::Rc<View>>>>;

/// An exponential moving average's state for one output series.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ema {
    value: f64,
    at: f64,
}

/// A rule that cannot be evaluated: the reason (a type mismatch, say).
pub(crate) type Failure = String;

fn view_of(tick: &Tick<'_>, rule: &Compiled) -> Option<std::rc::Rc<View>> {
    let key = (rule.window, rule.tumbling);
    if let Some(view) = tick.views.borrow().get(&key) {
        return view.clone();
    }
    let view = if rule.tumbling {
        tick.windows.tumbling(rule.window, 1).pop()
    } else {
        tick.windows.last(rule.window)
    };
    // Too little data yet (the windows do not hold the whole window): a
    // rule exports nothing rather than a number over less than it says.
    let half_tick = tick.windows.config().tick / 2;
    let view = view
        .filter(|v| v.span() + half_tick >= rule.window)
        .map(std::rc::Rc::new);
    tick.views.borrow_mut().insert(key, view.clone());
    view
}

/// The selected series of `selector` at both ends of `view`, with the
/// family's kind.
fn select<'v>(
    tick: &Tick<'_>,
    view: &'v View,
    selector: &Selector,
) -> Option<(MetricKind, Vec<Ends<'v>>)> {
    let scope = scope_of(tick, selector).ok()?;
    select_in(view, selector, scope.as_ref())
}

/// A `SOURCE.` selector whose source serves nothing (yet).
struct NotServed;

/// The label sets a `SOURCE.` selector is limited to (`None` for a
/// selector of the program's own metrics).
fn scope_of(tick: &Tick<'_>, selector: &Selector) -> Result<Option<Scope>, NotServed> {
    match &selector.source {
        None => Ok(None),
        Some(source) => tick
            .scope
            .and_then(|f| f(source, &selector.metric))
            .map(Some)
            .ok_or(NotServed),
    }
}

/// The series of a source's family, by sorted label set.
type Scope = std::collections::HashSet<Vec<(String, String)>>;

/// [`select`] with the scope read already.
fn select_in<'v>(
    view: &'v View,
    selector: &Selector,
    scope: Option<&Scope>,
) -> Option<(MetricKind, Vec<Ends<'v>>)> {
    let (kind, series) = view.ends(&selector.metric)?;
    let series = series
        .into_iter()
        .filter(|e| selector.matches(e.labels()))
        .filter(|e| scope.is_none_or(|scope| scope.contains(&sorted(e.labels()))))
        .collect();
    Some((kind, series))
}

/// A label set in name order, to match sets whatever order they were
/// written in.
fn canonical(labels: &Labels) -> Labels {
    if labels.windows(2).all(|w| w[0].0 <= w[1].0) {
        return Arc::clone(labels);
    }
    let mut sorted = labels.to_vec();
    sorted.sort();
    Labels::from(sorted)
}

/// A series' labels as owned pairs, sorted (as a source's scope holds them).
fn sorted(labels: &[(Cow<'static, str>, Cow<'static, str>)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    out.sort();
    out
}

/// The labels a series is grouped under: its own, or only the `by` ones.
fn group(labels: &Labels, by: Option<&[String]>) -> Labels {
    match by {
        None => Arc::clone(labels),
        Some(by) => Labels::from(
            by.iter()
                .filter_map(|name| {
                    labels
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(k, v)| (k.clone(), v.clone()))
                })
                .collect::<Vec<_>>(),
        ),
    }
}

fn labels_of(e: &Ends<'_>) -> Labels {
    e.shared_labels()
}

/// Sums `value(series)` by group; a series without a value is left out.
fn summed<'v>(
    series: &[Ends<'v>],
    by: Option<&[String]>,
    value: impl Fn(&Ends<'v>) -> Option<f64>,
) -> Vec<(Labels, f64)> {
    if by.is_none() {
        return series
            .iter()
            .filter_map(|e| Some((labels_of(e), value(e)?)))
            .collect();
    }
    let mut groups: HashMap<Labels, f64> = HashMap::new();
    let mut order = Vec::new();
    for e in series {
        if let Some(v) = value(e) {
            let key = group(&labels_of(e), by);
            let slot = groups.entry(Arc::clone(&key)).or_insert_with(|| {
                order.push(key);
                0.0
            });
            *slot += v;
        }
    }
    order
        .into_iter()
        .map(|k| (Arc::clone(&k), groups[&k]))
        .collect()
}

/// The classic bucket bounds (`le`, without `+Inf`) histogram family
/// `name` exports.
fn bounds(latest: Option<&Snapshot>, name: &str) -> Vec<f64> {
    latest
        .and_then(|s| {
            s.family(name)
                .or_else(|| s.family(name.trim_end_matches("_total")))
        })
        .and_then(|f| {
            f.series.iter().find_map(|s| match &s.value {
                Value::Histogram(h) => Some(h.buckets.iter().map(|&(le, _)| le).collect()),
                _ => None,
            })
        })
        .unwrap_or_default()
}

/// The `q`-quantile of observations counted in cumulative classic buckets
/// `(le, count)` (the last `+Inf`), interpolated within the bucket as
/// Prometheus's `histogram_quantile` does.
pub(crate) fn bucket_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 || q.is_nan() {
        return None;
    }
    if q < 0.0 {
        return Some(f64::NEG_INFINITY);
    }
    if q > 1.0 {
        return Some(f64::INFINITY);
    }
    if buckets.len() < 2 {
        return None;
    }
    let rank = q * total;
    let last = buckets.len() - 1;
    let b = buckets[..last]
        .iter()
        .position(|&(_, c)| c >= rank)
        .unwrap_or(last);
    if b == last {
        return Some(buckets[last - 1].0);
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return Some(buckets[0].0);
    }
    let (start, below) = if b == 0 {
        (0.0, 0.0)
    } else {
        (buckets[b - 1].0, buckets[b - 1].1)
    };
    let end = buckets[b].0;
    let count = buckets[b].1 - below;
    if count <= 0.0 {
        return Some(end);
    }
    Some(start + (end - start) * ((rank - below) / count))
}

/// The `q`-quantile of samples, as `quantile_over_time`: linear between
/// the two nearest ranks.
pub(crate) fn sample_quantile(q: f64, samples: &mut [f64]) -> Option<f64> {
    if samples.is_empty() || q.is_nan() {
        return None;
    }
    samples.sort_by(f64::total_cmp);
    let rank = q.clamp(0.0, 1.0) * (samples.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = (lo + 1).min(samples.len() - 1);
    let weight = rank - lo as f64;
    Some(samples[lo] * (1.0 - weight) + samples[hi] * weight)
}

/// Each group's merged observations over the window.
fn histograms(series: &[Ends<'_>], by: Option<&[String]>) -> Vec<(Labels, HistDelta)> {
    let mut groups: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<(Labels, HistDelta)> = Vec::new();
    for e in series {
        let Some(h) = e.histogram() else { continue };
        let key = group(&labels_of(e), by);
        if let Some(&i) = groups.get(&key) {
            out[i].1.merge(&h);
        } else {
            groups.insert(Arc::clone(&key), out.len());
            out.push((key, h));
        }
    }
    out
}

/// Each group's gauge samples over the window (series of a group added
/// tick by tick).
fn samples(
    view: &View,
    selector: &Selector,
    scope_ok: &dyn Fn(&Labels) -> bool,
    by: Option<&[String]>,
) -> Vec<(Labels, Vec<f64>)> {
    let mut groups: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<(Labels, Vec<Option<f64>>)> = Vec::new();
    for (labels, values) in view.gauge_samples(&selector.metric) {
        if !selector.matches(&labels) || !scope_ok(&labels) {
            continue;
        }
        let key = group(&labels, by);
        if let Some(&i) = groups.get(&key) {
            for (acc, v) in out[i].1.iter_mut().zip(values) {
                if let Some(v) = v {
                    *acc = Some(acc.unwrap_or(0.0) + v);
                }
            }
        } else {
            groups.insert(Arc::clone(&key), out.len());
            out.push((key, values));
        }
    }
    out.into_iter()
        .map(|(k, v)| (k, v.into_iter().flatten().collect()))
        .collect()
}

fn mismatch(rule: &Compiled, kind: MetricKind) -> Failure {
    format!(
        "a {} rule cannot read the {} {}",
        rule.kind.as_str(),
        kind.as_str(),
        rule.source
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    )
}

fn plain(values: Vec<(Labels, f64)>) -> Vec<Out> {
    values
        .into_iter()
        .filter(|(_, v)| v.is_finite())
        .map(|(labels, value)| Out {
            labels,
            quantile: None,
            value,
        })
        .collect()
}

/// The rule's outputs at this tick (empty while there is too little data),
/// or why it cannot be evaluated. `ema` holds the rule's moving averages.
pub(crate) fn evaluate(
    tick: &Tick<'_>,
    rule: &Compiled,
    ema: &mut HashMap<Labels, Ema>,
) -> Result<Vec<Out>, Failure> {
    use MetricKind::{Counter, Gauge, Histogram};
    let by = rule.by.as_deref();
    match rule.kind {
        RuleKind::Ratio => return Ok(ratio(tick, rule)),
        RuleKind::Expression => return expression(tick, rule),
        _ => {}
    }
    let Some(selector) = &rule.source else {
        return Ok(Vec::new());
    };
    let Some(view) = view_of(tick, rule) else {
        return Ok(Vec::new());
    };
    let Ok(scope) = scope_of(tick, selector) else {
        return Ok(Vec::new());
    };
    let Some((kind, series)) = select_in(&view, selector, scope.as_ref()) else {
        return Ok(Vec::new());
    };
    let scope_ok = |labels: &Labels| scope.as_ref().is_none_or(|s| s.contains(&sorted(labels)));
    Ok(match (rule.kind, kind) {
        (RuleKind::Rate, Counter) => plain(summed(&series, by, Ends::rate)),
        (RuleKind::Increase | RuleKind::Sum | RuleKind::Count, Counter) => {
            plain(summed(&series, by, Ends::increase))
        }
        (RuleKind::Mean, Gauge) => plain(summed(&series, by, Ends::mean)),
        (RuleKind::MovingAverage, Gauge) => match rule.half_life {
            None => plain(summed(&series, by, Ends::mean)),
            Some(half_life) => {
                let now = summed(&series, by, Ends::last);
                exponential(now, half_life, tick.now, ema)
            }
        },
        (RuleKind::Percentile, Histogram) => {
            let bounds = bounds(tick.latest.as_deref(), &selector.metric);
            with_quantiles(rule, histograms_quantiles(&series, by, &bounds, rule))
        }
        (RuleKind::Mean | RuleKind::Sum | RuleKind::Count, Histogram) => plain(
            histograms(&series, by)
                .into_iter()
                .filter_map(|(labels, h)| {
                    let count = h.count();
                    let value = match rule.kind {
                        RuleKind::Mean => (count > 0.0).then(|| h.sum() / count)?,
                        RuleKind::Sum => h.sum(),
                        _ => count,
                    };
                    Some((labels, value))
                })
                .collect(),
        ),
        (
            RuleKind::Percentile | RuleKind::Min | RuleKind::Max | RuleKind::Sum | RuleKind::Count,
            Gauge,
        ) if rule.window > tick.windows.config().fine_retention => {
            return Err(format!(
                "a {} rule reads every sample of a gauge, so its window may be at most system.window.fine_retention ({})",
                rule.kind.as_str(),
                crate::config::duration::format_duration(tick.windows.config().fine_retention)
            ))
        }
        (
            RuleKind::Percentile | RuleKind::Min | RuleKind::Max | RuleKind::Sum | RuleKind::Count,
            Gauge,
        ) => {
            let mut out = Vec::new();
            for (labels, mut values) in samples(&view, selector, &scope_ok, by) {
                if values.is_empty() {
                    continue;
                }
                match rule.kind {
                    RuleKind::Min => out.push(Out {
                        labels,
                        quantile: None,
                        value: values.iter().copied().fold(f64::INFINITY, f64::min),
                    }),
                    RuleKind::Max => out.push(Out {
                        labels,
                        quantile: None,
                        value: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    }),
                    RuleKind::Sum => out.push(Out {
                        labels,
                        quantile: None,
                        value: values.iter().sum(),
                    }),
                    RuleKind::Count => out.push(Out {
                        labels,
                        quantile: None,
                        value: values.len() as f64,
                    }),
                    _ => {
                        for (q, label) in &rule.quantiles {
                            if let Some(value) = sample_quantile(*q, &mut values) {
                                out.push(Out {
                                    labels: Arc::clone(&labels),
                                    quantile: Some(Arc::from(label.as_str())),
                                    value,
                                });
                            }
                        }
                    }
                }
            }
            out
        }
        (_, kind) => return Err(mismatch(rule, kind)),
    })
}

/// Percentiles of each group's observations.
fn histograms_quantiles(
    series: &[Ends<'_>],
    by: Option<&[String]>,
    bounds: &[f64],
    rule: &Compiled,
) -> Vec<(Labels, usize, f64)> {
    let mut out = Vec::new();
    for (labels, h) in histograms(series, by) {
        let cumulative = h.cumulative(bounds);
        for (i, (q, _)) in rule.quantiles.iter().enumerate() {
            if let Some(v) = bucket_quantile(*q, &cumulative) {
                out.push((Arc::clone(&labels), i, v));
            }
        }
    }
    out
}

fn with_quantiles(rule: &Compiled, values: Vec<(Labels, usize, f64)>) -> Vec<Out> {
    let labels: Vec<Arc<str>> = rule
        .quantiles
        .iter()
        .map(|(_, l)| Arc::from(l.as_str()))
        .collect();
    values
        .into_iter()
        .filter(|(_, _, v)| !v.is_nan())
        .map(|(l, i, value)| Out {
            labels: l,
            quantile: Some(Arc::clone(&labels[i])),
            value,
        })
        .collect()
}

/// Exponential moving averages, one per series, updated with `now`'s values;
/// series gone since the last tick are dropped from the state.
fn exponential(
    now: Vec<(Labels, f64)>,
    half_life: Duration,
    at: f64,
    state: &mut HashMap<Labels, Ema>,
) -> Vec<Out> {
    let half = half_life.as_secs_f64();
    let mut next = HashMap::with_capacity(now.len());
    let mut out = Vec::with_capacity(now.len());
    for (labels, x) in now {
        let ema = match state.get(&labels) {
            Some(prev) if at > prev.at => {
                let alpha = 1.0 - (-(at - prev.at) / half).exp2();
                prev.value + alpha * (x - prev.value)
            }
            Some(prev) => prev.value,
            None => x,
        };
        next.insert(Arc::clone(&labels), Ema { value: ema, at });
        out.push(Out {
            labels,
            quantile: None,
            value: ema,
        });
    }
    *state = next;
    out
}

/// What a selector counts over a window: a counter's increase, a gauge's
/// value, a histogram's observations.
fn window_values(
    tick: &Tick<'_>,
    view: &View,
    selector: &Selector,
    by: Option<&[String]>,
) -> Option<Vec<(Labels, f64)>> {
    let (kind, series) = select(tick, view, selector)?;
    Some(match kind {
        MetricKind::Counter => summed(&series, by, Ends::increase),
        MetricKind::Gauge => summed(&series, by, Ends::last),
        MetricKind::Histogram => summed(&series, by, |e| e.histogram().map(|h| h.count())),
    })
}

fn ratio(tick: &Tick<'_>, rule: &Compiled) -> Vec<Out> {
    let Some((numerator, denominator)) = &rule.ratio else {
        return Vec::new();
    };
    let Some(view) = view_of(tick, rule) else {
        return Vec::new();
    };
    let by = rule.by.as_deref();
    let (Some(n), Some(d)) = (
        window_values(tick, &view, numerator, by),
        window_values(tick, &view, denominator, by),
    ) else {
        return Vec::new();
    };
    let d: HashMap<Labels, f64> = d.into_iter().map(|(l, v)| (canonical(&l), v)).collect();
    // Division by zero (no calls in the window): no sample.
    plain(
        n.into_iter()
            .filter_map(|(labels, num)| {
                let den = *d.get(&canonical(&labels))?;
                (den != 0.0).then(|| (labels, num / den))
            })
            .collect(),
    )
}

/// A value of an expression: one number, or series by label set.
enum Vector {
    Scalar(f64),
    Series(Vec<(Labels, f64)>),
}

fn expression(tick: &Tick<'_>, rule: &Compiled) -> Result<Vec<Out>, Failure> {
    let Some(expr) = &rule.expr else {
        return Ok(Vec::new());
    };
    // Names read the latest tick: the end of any window.
    let Some(view) = tick.windows.last(tick.windows.config().tick) else {
        return Ok(Vec::new());
    };
    let view = std::rc::Rc::new(view);
    let value = eval(tick, &view, expr)?;
    let series = match value {
        Vector::Scalar(v) => vec![(Labels::from(Vec::new()), v)],
        Vector::Series(s) => s,
    };
    let by = rule.by.as_deref();
    if by.is_none() {
        return Ok(plain(series));
    }
    let mut groups: HashMap<Labels, f64> = HashMap::new();
    let mut order = Vec::new();
    for (labels, v) in series {
        let key = group(&labels, by);
        let slot = groups.entry(Arc::clone(&key)).or_insert_with(|| {
            order.push(key);
            0.0
        });
        *slot += v;
    }
    Ok(plain(
        order
            .into_iter()
            .map(|k| (Arc::clone(&k), groups[&k]))
            .collect(),
    ))
}

fn eval(tick: &Tick<'_>, view: &View, expr: &Expr) -> Result<Vector, Failure> {
    Ok(match expr {
        Expr::Number(n) => Vector::Scalar(*n),
        Expr::Name(name) => name_value(tick, view, name)?,
        Expr::Neg(e) => map(eval(tick, view, e)?, |x| Some(-x)),
        Expr::Binary(op, a, b) => {
            let (a, b) = (eval(tick, view, a)?, eval(tick, view, b)?);
            let op = *op;
            join(a, b, move |x, y| match op {
                Op::Add => Some(x + y),
                Op::Sub => Some(x - y),
                Op::Mul => Some(x * y),
                // Division by zero: no sample.
                Op::Div => (y != 0.0).then(|| x / y),
            })
        }
        Expr::Call(func, args) => {
            let mut values = args
                .iter()
                .map(|a| eval(tick, view, a))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter();
            let first = values.next().unwrap_or(Vector::Scalar(f64::NAN));
            match func {
                Func::Abs => map(first, |x| Some(x.abs())),
                Func::Min => join(
                    first,
                    values.next().unwrap_or(Vector::Scalar(f64::NAN)),
                    |x, y| Some(x.min(y)),
                ),
                Func::Max => join(
                    first,
                    values.next().unwrap_or(Vector::Scalar(f64::NAN)),
                    |x, y| Some(x.max(y)),
                ),
                Func::Clamp => {
                    let lo = values.next().unwrap_or(Vector::Scalar(f64::NEG_INFINITY));
                    let hi = values.next().unwrap_or(Vector::Scalar(f64::INFINITY));
                    join(join(first, lo, |x, l| Some(x.max(l))), hi, |x, h| {
                        Some(x.min(h))
                    })
                }
            }
        }
    })
}

/// A rule's output of this tick, or a metric's latest values.
fn name_value(tick: &Tick<'_>, view: &View, name: &str) -> Result<Vector, Failure> {
    if let Some(out) = tick.outputs.get(name) {
        return Ok(Vector::Series(
            out.iter().map(|o| (o.full_labels(), o.value)).collect(),
        ));
    }
    let selector: Selector = name.parse().map_err(|e: String| e)?;
    let Some((kind, series)) = select(tick, view, &selector) else {
        return Ok(Vector::Series(Vec::new()));
    };
    if kind == MetricKind::Histogram {
        return Err(format!(
            "{name} is a histogram: read it through a rule (percentile, mean, count)"
        ));
    }
    Ok(Vector::Series(summed(&series, None, Ends::last)))
}

fn map(v: Vector, f: impl Fn(f64) -> Option<f64>) -> Vector {
    match v {
        Vector::Scalar(x) => f(x).map_or(Vector::Series(Vec::new()), Vector::Scalar),
        Vector::Series(s) => Vector::Series(
            s.into_iter()
                .filter_map(|(l, x)| Some((l, f(x)?)))
                .collect(),
        ),
    }
}

/// `a op b`: a number with every series, or series with series of equal
/// label sets.
fn join(left: Vector, right: Vector, f: impl Fn(f64, f64) -> Option<f64>) -> Vector {
    match (left, right) {
        (Vector::Scalar(x), Vector::Scalar(y)) => {
            f(x, y).map_or(Vector::Series(Vec::new()), Vector::Scalar)
        }
        (Vector::Scalar(x), Vector::Series(s)) => Vector::Series(
            s.into_iter()
                .filter_map(|(l, y)| Some((l, f(x, y)?)))
                .collect(),
        ),
        (Vector::Series(s), Vector::Scalar(y)) => Vector::Series(
            s.into_iter()
                .filter_map(|(l, x)| Some((l, f(x, y)?)))
                .collect(),
        ),
        (Vector::Series(a), Vector::Series(b)) => {
            let b: HashMap<Labels, f64> = b.into_iter().map(|(l, v)| (canonical(&l), v)).collect();
            Vector::Series(
                a.into_iter()
                    .filter_map(|(l, x)| {
                        let y = *b.get(&canonical(&l))?;
                        Some((l, f(x, y)?))
                    })
                    .collect(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_quantiles_interpolate_as_prometheus() {
        // 10 observations: 2 in (0, 1], 6 in (1, 2], 2 in (2, +Inf).
        let buckets = [(1.0, 2.0), (2.0, 8.0), (f64::INFINITY, 10.0)];
        assert_eq!(bucket_quantile(0.1, &buckets), Some(0.5));
        assert_eq!(bucket_quantile(0.5, &buckets), Some(1.0 + 3.0 / 6.0));
        assert_eq!(
            bucket_quantile(0.95, &buckets),
            Some(2.0),
            "the +Inf bucket gives the highest bound"
        );
        assert_eq!(
            bucket_quantile(0.5, &[(1.0, 0.0), (f64::INFINITY, 0.0)]),
            None
        );
        assert_eq!(bucket_quantile(2.0, &buckets), Some(f64::INFINITY));
    }

    #[test]
    fn sample_quantiles_interpolate_between_ranks() {
        let mut s = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(sample_quantile(0.5, &mut s), Some(2.5));
        assert_eq!(sample_quantile(1.0, &mut s), Some(4.0));
        assert_eq!(sample_quantile(0.0, &mut s), Some(1.0));
        assert_eq!(sample_quantile(0.5, &mut []), None);
    }
}
