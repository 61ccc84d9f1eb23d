//! [`Rule`]: one aggregation rule, as written in TOML or built in code,
//! and its checked form.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Deserialize;

use super::expr::{self, Expr};
use super::selector::Selector;

/// What a rule computes over its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RuleKind {
    /// Percentiles of a histogram's observations over the window (classic
    /// buckets, interpolated as Prometheus's `histogram_quantile`), or of a
    /// gauge's samples (as `quantile_over_time`).
    Percentile,
    /// A gauge's time-weighted mean; a histogram's mean observation.
    Mean,
    /// A gauge's smallest sample.
    Min,
    /// A gauge's largest sample.
    Max,
    /// A histogram's sum of observations, a counter's increase, a gauge's
    /// sum of samples.
    Sum,
    /// A histogram's observations, a counter's increase, a gauge's samples.
    Count,
    /// A counter's increase per second (restarts counted from zero).
    Rate,
    /// A counter's increase (restarts counted from zero).
    Increase,
    /// A gauge's moving average: simple over the window, or exponential
    /// with `half_life`.
    MovingAverage,
    /// `numerator / denominator`: counters' increases over the window,
    /// gauges' values.
    Ratio,
    /// Arithmetic over other rules and metrics.
    Expression,
}

impl RuleKind {
    /// The name TOML uses (`moving_average`).
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Percentile => "percentile",
            RuleKind::Mean => "mean",
            RuleKind::Min => "min",
            RuleKind::Max => "max",
            RuleKind::Sum => "sum",
            RuleKind::Count => "count",
            RuleKind::Rate => "rate",
            RuleKind::Increase => "increase",
            RuleKind::MovingAverage => "moving_average",
            RuleKind::Ratio => "ratio",
            RuleKind::Expression => "expression",
        }
    }
}

/// One rule: an `[[custom_metrics.aggregators]]` entry, or built in code.
///
/// ```
/// use std::time::Duration;
/// use telltale::aggregate::Rule;
///
/// let p = Rule::percentile("api_health.response_time", [50.0, 95.0, 99.0])
///     .window(Duration::from_secs(300));
/// let errors = Rule::ratio("function_calls_total{result=\"error\"}", "function_calls_total")
///     .by(["function"])
///     .named("function_error_ratio");
/// let doubled = Rule::expression("requests_doubled", "2 * requests_per_second");
/// # let _ = (p, errors, doubled);
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The output family's name; default: the source metric's name and the
    /// type (`response_time_percentile`). Required for `expression`.
    #[serde(default)]
    pub name: Option<String>,
    /// What the rule computes.
    #[serde(rename = "type")]
    pub kind: RuleKind,
    /// The series read (all types but `ratio` and `expression`):
    /// `metric{label="value"}` or `SOURCE.METRIC{...}`.
    #[serde(default)]
    pub source: Option<String>,
    /// The window (default: `aggregation_window`, else 5 minutes).
    #[serde(default, with = "crate::config::duration::option")]
    pub window: Option<Duration>,
    /// Tumbling windows (aligned, back to back, the last completed one
    /// exported) instead of a sliding one.
    #[serde(default)]
    pub tumbling: bool,
    /// Sum the input series by these labels first (the others are
    /// aggregated away); default: every series on its own.
    #[serde(default)]
    pub by: Option<Vec<String>>,
    /// `percentile`: the percentiles, each in `(0, 100]`.
    #[serde(default)]
    pub percentiles: Vec<f64>,
    /// `moving_average`: exponential with this half-life (else simple).
    #[serde(default, with = "crate::config::duration::option")]
    pub half_life: Option<Duration>,
    /// `ratio`: the numerator's selector.
    #[serde(default)]
    pub numerator: Option<String>,
    /// `ratio`: the denominator's selector.
    #[serde(default)]
    pub denominator: Option<String>,
    /// `expression`: the arithmetic.
    #[serde(default)]
    pub expression: Option<String>,
    /// The output family's help text.
    #[serde(default)]
    pub help: Option<String>,
}

impl Rule {
    /// A rule of `kind` reading `source`.
    pub fn new(kind: RuleKind, source: impl Into<String>) -> Rule {
        Rule {
            name: None,
            kind,
            source: Some(source.into()),
            window: None,
            tumbling: false,
            by: None,
            percentiles: Vec::new(),
            half_life: None,
            numerator: None,
            denominator: None,
            expression: None,
            help: None,
        }
    }

    /// Percentiles (in `(0, 100]`) of `source` over the window.
    pub fn percentile(
        source: impl Into<String>,
        percentiles: impl IntoIterator<Item = f64>,
    ) -> Rule {
        Rule {
            percentiles: percentiles.into_iter().collect(),
            ..Rule::new(RuleKind::Percentile, source)
        }
    }

    /// A counter's increase per second over the window.
    pub fn rate(source: impl Into<String>) -> Rule {
        Rule::new(RuleKind::Rate, source)
    }

    /// `numerator / denominator` over the window.
    pub fn ratio(numerator: impl Into<String>, denominator: impl Into<String>) -> Rule {
        Rule {
            source: None,
            numerator: Some(numerator.into()),
            denominator: Some(denominator.into()),
            ..Rule::new(RuleKind::Ratio, "")
        }
    }

    /// The expression `expression`, exported as `name`.
    pub fn expression(name: impl Into<String>, expression: impl Into<String>) -> Rule {
        Rule {
            name: Some(name.into()),
            source: None,
            expression: Some(expression.into()),
            ..Rule::new(RuleKind::Expression, "")
        }
    }

    /// Exported as `name`.
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Rule {
        self.name = Some(name.into());
        self
    }

    /// Over the last `window`.
    #[must_use]
    pub fn window(mut self, window: Duration) -> Rule {
        self.window = Some(window);
        self
    }

    /// Over tumbling windows of `window`.
    #[must_use]
    pub fn tumbling(mut self, window: Duration) -> Rule {
        self.window = Some(window);
        self.tumbling = true;
        self
    }

    /// Input series summed by these labels first.
    #[must_use]
    pub fn by<I, S>(mut self, labels: I) -> Rule
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.by = Some(labels.into_iter().map(Into::into).collect());
        self
    }

    /// Exponential moving average with this half-life.
    #[must_use]
    pub fn half_life(mut self, half_life: Duration) -> Rule {
        self.half_life = Some(half_life);
        self
    }

    /// The output's help text.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Rule {
        self.help = Some(help.into());
        self
    }
}

impl Rule {
    /// The sources the rule's selectors name (`SOURCE.` before a metric),
    /// each with the field naming it.
    pub fn sources(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (field, text) in [
            ("source", &self.source),
            ("numerator", &self.numerator),
            ("denominator", &self.denominator),
        ] {
            if let Some(Ok(selector)) = text.as_deref().map(str::parse::<Selector>) {
                if let Some(source) = selector.source {
                    out.push((field, source));
                }
            }
        }
        if let Some(Ok(expr)) = self.expression.as_deref().map(expr::parse) {
            for name in expr.names() {
                if let Some((source, _)) = name.split_once('.') {
                    out.push(("expression", source.to_owned()));
                }
            }
        }
        out
    }
}

/// A rule's mistake: the field (`source`, `percentiles`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The rule's index in the list it was given in.
    pub index: usize,
    /// The field at fault, when one is.
    pub field: Option<&'static str>,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.field {
            Some(field) => write!(f, "rule {}: {field}: {}", self.index, self.reason),
            None => write!(f, "rule {}: {}", self.index, self.reason),
        }
    }
}

/// A checked rule.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    /// The rule's index in the list it was given in.
    pub(crate) index: usize,
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) kind: RuleKind,
    pub(crate) source: Option<Selector>,
    pub(crate) window: Duration,
    pub(crate) tumbling: bool,
    pub(crate) by: Option<Vec<String>>,
    /// `(q, label)`: `(0.95, "0.95")`.
    pub(crate) quantiles: Vec<(f64, String)>,
    pub(crate) half_life: Option<Duration>,
    pub(crate) ratio: Option<(Selector, Selector)>,
    pub(crate) expr: Option<Expr>,
}

/// The default window of a rule that names none.
pub const DEFAULT_WINDOW: Duration = Duration::from_mins(5);

/// `95.0` → `"0.95"`, `99.9` → `"0.999"`: `p / 100` in decimal, shifted
/// as text (so no binary rounding shows).
fn quantile_label(percent: f64) -> String {
    let text = format!("{percent}");
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let digits = format!("{int}{frac}");
    let point = int.len() as isize - 2;
    let shifted = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs()))
    } else {
        let (a, b) = digits.split_at(point as usize);
        format!("{a}.{b}")
    };
    let (a, b) = shifted.split_once('.').unwrap_or((&shifted, ""));
    let a = a.trim_start_matches('0');
    let b = b.trim_end_matches('0');
    match (a.is_empty(), b.is_empty()) {
        (true, true) => "0".to_owned(),
        (true, false) => format!("0.{b}"),
        (false, true) => a.to_owned(),
        (false, false) => format!("{a}.{b}"),
    }
}

impl Rule {
    /// Checks the rule on its own (names across rules are checked by
    /// [`compile_all`]); `default_window` when it names none.
    pub(crate) fn compile(
        &self,
        index: usize,
        default_window: Duration,
    ) -> Result<Compiled, Vec<RuleError>> {
        let mut errors = Vec::new();
        let mut fail = |field: Option<&'static str>, reason: String| {
            errors.push(RuleError {
                index,
                field,
                reason,
            });
        };
        let parse = |field: &'static str,
                     text: &Option<String>,
                     fail: &mut dyn FnMut(Option<&'static str>, String)| {
            match text.as_deref() {
                None | Some("") => {
                    fail(Some(field), "is required".to_owned());
                    None
                }
                Some(text) => match text.parse::<Selector>() {
                    Ok(s) => Some(s),
                    Err(e) => {
                        fail(Some(field), e);
                        None
                    }
                },
            }
        };
        let takes_source = !matches!(self.kind, RuleKind::Ratio | RuleKind::Expression);
        let source = if takes_source {
            parse("source", &self.source, &mut fail)
        } else {
            if self.source.as_deref().is_some_and(|s| !s.is_empty()) {
                fail(
                    Some("source"),
                    format!("a {} rule has no source", self.kind.as_str()),
                );
            }
            None
        };
        let window = self.window.unwrap_or(default_window);
        if window.is_zero() {
            fail(Some("window"), "must be longer than zero".to_owned());
        }
        let mut quantiles = Vec::new();
        if self.kind == RuleKind::Percentile {
            if self.percentiles.is_empty() {
                fail(
                    Some("percentiles"),
                    "name at least one, e.g. percentiles = [50, 95, 99]".to_owned(),
                );
            }
            for &p in &self.percentiles {
                if p > 0.0 && p <= 100.0 {
                    let label = quantile_label(p);
                    quantiles.push((label.parse().unwrap_or(p / 100.0), label));
                } else {
                    fail(Some("percentiles"), format!("{p} is not in (0, 100]"));
                }
            }
        } else if !self.percentiles.is_empty() {
            fail(
                Some("percentiles"),
                "only a percentile rule has percentiles".to_owned(),
            );
        }
        if self.half_life.is_some() && self.kind != RuleKind::MovingAverage {
            fail(
                Some("half_life"),
                "only a moving_average rule has a half-life".to_owned(),
            );
        }
        if self.half_life.is_some_and(|h| h.is_zero()) {
            fail(Some("half_life"), "must be longer than zero".to_owned());
        }
        let ratio = if self.kind == RuleKind::Ratio {
            let n = parse("numerator", &self.numerator, &mut fail);
            let d = parse("denominator", &self.denominator, &mut fail);
            n.zip(d)
        } else {
            for (field, value) in [
                ("numerator", &self.numerator),
                ("denominator", &self.denominator),
            ] {
                if value.is_some() {
                    fail(Some(field), "only a ratio rule has one".to_owned());
                }
            }
            None
        };
        let expr = if self.kind == RuleKind::Expression {
            match self.expression.as_deref() {
                None | Some("") => {
                    fail(Some("expression"), "is required".to_owned());
                    None
                }
                Some(text) => match expr::parse(text) {
                    Ok(e) => Some(e),
                    Err(e) => {
                        fail(Some("expression"), e);
                        None
                    }
                },
            }
        } else {
            if self.expression.is_some() {
                fail(
                    Some("expression"),
                    "only an expression rule has one".to_owned(),
                );
            }
            None
        };
        for label in self.by.iter().flatten() {
            if let Err(e) = crate::error::check_label_name(label) {
                fail(Some("by"), e.to_string());
            }
        }
        let base = source
            .as_ref()
            .map(|s| s.metric.trim_end_matches("_total").to_owned())
            .or_else(|| {
                ratio
                    .as_ref()
                    .map(|(n, _)| n.metric.trim_end_matches("_total").to_owned())
            });
        let name = match (&self.name, base) {
            (Some(name), _) => Some(name.clone()),
            (None, Some(base)) => Some(format!("{base}_{}", self.kind.as_str())),
            (None, None) => {
                fail(Some("name"), "an expression rule needs a name".to_owned());
                None
            }
        };
        if let Some(name) = &name {
            if let Some(reason) = crate::error::metric_name_problem(name) {
                fail(
                    Some("name"),
                    format!("{name:?} is not a metric name: {reason}"),
                );
            } else if name.ends_with("_total") {
                fail(
                    Some("name"),
                    format!("{name:?}: a rule exports a gauge, and only counters end in _total"),
                );
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let name = name.unwrap_or_default();
        let help = self.help.clone().unwrap_or_else(|| {
            let what = match (&source, &ratio, &self.expression) {
                (Some(s), _, _) => s.to_string(),
                (_, Some((n, d)), _) => format!("{n} / {d}"),
                (_, _, Some(e)) => e.clone(),
                _ => String::new(),
            };
            format!(
                "{} of {what} over {}",
                self.kind.as_str(),
                crate::config::duration::format_duration(window)
            )
        });
        Ok(Compiled {
            index,
            name,
            help,
            kind: self.kind,
            source,
            window,
            tumbling: self.tumbling,
            by: self.by.clone(),
            quantiles,
            half_life: self.half_life,
            ratio,
            expr,
        })
    }
}

/// Depth-first visit of rule `k` and the rules its expression reads:
/// `order` gets each after what it reads; a cycle is returned.
fn visit(
    k: usize,
    compiled: &[(usize, Compiled)],
    by_name: &std::collections::BTreeMap<String, usize>,
    done: &mut BTreeSet<usize>,
    stack: &mut Vec<usize>,
    order: &mut Vec<usize>,
) -> Result<(), Vec<usize>> {
    if done.contains(&k) {
        return Ok(());
    }
    if let Some(at) = stack.iter().position(|&s| s == k) {
        let mut cycle = stack[at..].to_vec();
        cycle.push(k);
        return Err(cycle);
    }
    stack.push(k);
    if let Some(expr) = &compiled[k].1.expr {
        for name in expr.names() {
            if let Some(&dep) = by_name.get(name) {
                visit(dep, compiled, by_name, done, stack, order)?;
            }
        }
    }
    stack.pop();
    done.insert(k);
    order.push(k);
    Ok(())
}

/// Every rule checked: the rules that compiled, in evaluation order (an
/// expression after the rules it reads), and every mistake. `taken` is the
/// names the program exports (families and their samples' names), which
/// no rule may be named as.
pub(crate) fn compile_all(
    rules: &[Rule],
    default_window: Duration,
    taken: &BTreeSet<String>,
) -> (Vec<Compiled>, Vec<RuleError>) {
    let mut errors = Vec::new();
    let mut compiled: Vec<(usize, Compiled)> = Vec::new();
    let mut names = std::collections::BTreeMap::new();
    for (i, rule) in rules.iter().enumerate() {
        match rule.compile(i, default_window) {
            Ok(c) => {
                if let Some(first) = names.insert(c.name.clone(), i) {
                    errors.push(RuleError {
                        index: i,
                        field: Some("name"),
                        reason: format!("{:?} is also the name of rule {first}", c.name),
                    });
                } else if taken.contains(&c.name) {
                    errors.push(RuleError {
                        index: i,
                        field: Some("name"),
                        reason: format!(
                            "{:?} is a name the program exports already; give the rule another `name`",
                            c.name
                        ),
                    });
                }
                compiled.push((i, c));
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    // Expressions after what they read; a cycle is an error naming it.
    let mut order: Vec<(usize, Compiled)> = Vec::new();
    let mut done = BTreeSet::new();
    let by_name: std::collections::BTreeMap<String, usize> = compiled
        .iter()
        .enumerate()
        .map(|(k, (_, c))| (c.name.clone(), k))
        .collect();
    let mut indices = Vec::new();
    for k in 0..compiled.len() {
        let mut stack = Vec::new();
        if let Err(cycle) = visit(k, &compiled, &by_name, &mut done, &mut stack, &mut indices) {
            let names: Vec<&str> = cycle.iter().map(|&c| compiled[c].1.name.as_str()).collect();
            errors.push(RuleError {
                index: compiled[k].0,
                field: Some("expression"),
                reason: format!("rules read each other in a cycle: {}", names.join(" -> ")),
            });
            // Break the cycle so the rest can be checked.
            done.extend(cycle);
        }
    }
    errors.sort_by_key(|e| e.index);
    errors.dedup();
    let mut slots: Vec<Option<(usize, Compiled)>> = compiled.into_iter().map(Some).collect();
    for k in indices {
        if let Some(entry) = slots[k].take() {
            order.push(entry);
        }
    }
    order.extend(slots.into_iter().flatten());
    (order.into_iter().map(|(_, c)| c).collect(), errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(rules: &[Rule]) -> Result<Vec<Compiled>, Vec<RuleError>> {
        match compile_all(rules, DEFAULT_WINDOW, &BTreeSet::from(["taken".to_owned()])) {
            (compiled, errors) if errors.is_empty() => Ok(compiled),
            (_, errors) => Err(errors),
        }
    }

    #[test]
    fn names_default_to_the_metric_and_the_type() {
        let rules = compile(&[
            Rule::percentile("api_health.response_time", [50.0, 95.0, 99.9]),
            Rule::rate("jobs_total"),
            Rule::ratio("errors_total", "calls_total"),
        ])
        .unwrap();
        let names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["response_time_percentile", "jobs_rate", "errors_ratio"]
        );
        let labels: Vec<&str> = rules[0].quantiles.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["0.5", "0.95", "0.999"]);
        assert_eq!(rules[0].window, DEFAULT_WINDOW);
        for (p, label) in [
            (100.0, "1"),
            (5.0, "0.05"),
            (0.1, "0.001"),
            (99.99, "0.9999"),
            (50.0, "0.5"),
        ] {
            assert_eq!(quantile_label(p), label);
        }
    }

    #[test]
    fn expressions_come_after_what_they_read_and_cycles_are_refused() {
        let rules = compile(&[
            Rule::expression("c", "b * 2"),
            Rule::expression("b", "a + 1"),
            Rule::rate("x_total").named("a"),
        ])
        .unwrap();
        let names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        let errors = compile(&[
            Rule::expression("p", "q + 1"),
            Rule::expression("q", "r + 1"),
            Rule::expression("r", "p * 2"),
        ])
        .unwrap_err();
        assert!(errors[0].reason.contains("p -> q -> r -> p"), "{errors:?}");
    }

    #[test]
    fn mistakes_name_the_field() {
        let errors = compile(&[
            Rule::percentile("x", [0.0, 150.0]),
            Rule::new(RuleKind::Mean, "not a name!"),
            Rule::expression("e", "1 +"),
            Rule::rate("taken_total").named("taken"),
            Rule::rate("y_total").named("dup"),
            Rule::rate("z_total").named("dup"),
            Rule::rate("w_total")
                .half_life(Duration::from_secs(1))
                .window(Duration::ZERO),
        ])
        .unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let expected = [
            "rule 0: percentiles: 0 is not in (0, 100]",
            "rule 0: percentiles: 150 is not in (0, 100]",
            "rule 1: source:",
            "rule 2: expression: an operand is missing",
            "rule 3: name: \"taken\" is a name the program exports",
            "rule 5: name: \"dup\" is also the name of rule 4",
            "rule 6: window: must be longer than zero",
            "rule 6: half_life: only a moving_average rule",
        ];
        for want in expected {
            assert!(
                text.iter().any(|t| t.starts_with(want)),
                "{want}: {text:#?}"
            );
        }
    }
}
