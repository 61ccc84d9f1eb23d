//! Assembling metadata and sample lines into families, and the rules about
//! families, their metrics (label sets) and histograms that both formats
//! share, with the differences of each [`Dialect`].

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use super::scan::{self, LineResult};
use super::types::{FamilyKind, ParseError, ParsedFamily, ParsedSample};

/// Which format the lines come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    /// OpenMetrics 1.0.
    OpenMetrics,
    /// Prometheus text format 0.0.4.
    Prometheus,
}

/// A metadata line's content.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Metadata {
    /// `# HELP name text`, unescaped.
    Help(String),
    /// `# TYPE name type`.
    Type(FamilyKind),
    /// `# UNIT name unit`.
    Unit(String),
}

impl Metadata {
    fn keyword(&self) -> &'static str {
        match self {
            Metadata::Help(_) => "HELP",
            Metadata::Type(_) => "TYPE",
            Metadata::Unit(_) => "UNIT",
        }
    }
}

/// The sample name suffixes a family of `kind` owns: its samples are named
/// the family name followed by one of them.
fn suffixes(dialect: Dialect, kind: FamilyKind) -> &'static [&'static str] {
    use FamilyKind as K;
    match (dialect, kind) {
        (Dialect::OpenMetrics, K::Counter) => &["_total", "_created"],
        (Dialect::OpenMetrics, K::Histogram) => &["_bucket", "_count", "_sum", "_created"],
        (Dialect::OpenMetrics, K::GaugeHistogram) => &["_bucket", "_gcount", "_gsum"],
        (Dialect::OpenMetrics, K::Summary) => &["", "_count", "_sum", "_created"],
        (Dialect::OpenMetrics, K::Info) => &["_info"],
        (Dialect::Prometheus, K::Histogram) => &["_bucket", "_count", "_sum"],
        (Dialect::Prometheus, K::Summary) => &["", "_count", "_sum"],
        _ => &[""],
    }
}

/// Label pairs sorted by name, so that two label sets that differ only in
/// their order compare equal.
type LabelKey = Vec<(String, String)>;

fn label_key(labels: &[(String, String)], without: Option<&str>) -> LabelKey {
    let mut key: LabelKey = labels
        .iter()
        .filter(|(name, _)| Some(name.as_str()) != without)
        .cloned()
        .collect();
    key.sort();
    key
}

/// `name{a="1",b="2"}` for messages.
fn show_series(name: &str, labels: &[(String, String)]) -> String {
    let mut out = name.to_owned();
    if !labels.is_empty() {
        out.push('{');
        for (i, (key, value)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{key}=\"{}\"", value.escape_debug());
        }
        out.push('}');
    }
    out
}

/// Puts the lines of an exposition together into families.
#[derive(Debug)]
pub(super) struct Assembler {
    dialect: Dialect,
    families: Vec<ParsedFamily>,
    /// Every family name and every sample name a family's type gives it,
    /// with the family that owns it and the line that claimed it.
    claimed: HashMap<String, (String, usize)>,
    current: Option<Family>,
}

impl Assembler {
    pub(super) fn new(dialect: Dialect) -> Assembler {
        Assembler {
            dialect,
            families: Vec::new(),
            claimed: HashMap::new(),
            current: None,
        }
    }

    /// A `# HELP`, `# TYPE` or `# UNIT` line for the family `name`.
    pub(super) fn metadata(
        &mut self,
        line: usize,
        name: &str,
        metadata: Metadata,
    ) -> Result<(), ParseError> {
        if self
            .current
            .as_ref()
            .is_none_or(|family| family.parsed.name != name)
        {
            self.begin_family(name, line)?;
        }
        let Some(family) = self.current.as_mut() else {
            unreachable!("a family was just started");
        };
        let keyword = metadata.keyword();
        if let Some(first) = family.first_sample_line {
            return Err(ParseError::new(
                line,
                format!(
                    "`# {keyword}` line for `{name}` after its samples (the first is on line \
                     {first}); metadata comes before the samples"
                ),
            ));
        }
        let seen = match metadata {
            Metadata::Help(_) => &mut family.help_line,
            Metadata::Type(_) => &mut family.type_line,
            Metadata::Unit(_) => &mut family.unit_line,
        };
        if let Some(first) = *seen {
            return Err(ParseError::new(
                line,
                format!("second `# {keyword}` line for `{name}` (the first is on line {first})"),
            ));
        }
        *seen = Some(line);
        match metadata {
            Metadata::Help(help) => family.parsed.help = Some(help),
            Metadata::Unit(unit) => family.parsed.unit = Some(unit),
            Metadata::Type(kind) => {
                family.parsed.kind = kind;
                for suffix in suffixes(self.dialect, kind) {
                    if !suffix.is_empty() {
                        self.claim(&format!("{name}{suffix}"), name, line)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A sample line.
    pub(super) fn sample(&mut self, line: usize, sample: ParsedSample) -> Result<(), ParseError> {
        let dialect = self.dialect;
        if !self
            .current
            .as_ref()
            .is_some_and(|family| family.owns(dialect, &sample.name))
        {
            self.begin_family(&sample.name, line)?;
        }
        let Some(family) = self.current.as_mut() else {
            unreachable!("a family was just started");
        };
        family.add(dialect, line, sample)
    }

    /// The families, once every line has been read.
    pub(super) fn finish(mut self) -> Result<Vec<ParsedFamily>, ParseError> {
        self.finish_current()?;
        Ok(self.families)
    }

    fn finish_current(&mut self) -> Result<(), ParseError> {
        if let Some(family) = self.current.take() {
            self.families.push(family.finish(self.dialect)?);
        }
        Ok(())
    }

    /// Ends the current family and begins the family `name` on `line`.
    fn begin_family(&mut self, name: &str, line: usize) -> Result<(), ParseError> {
        self.finish_current()?;
        self.claim(name, name, line)?;
        self.current = Some(Family::new(name));
        Ok(())
    }

    /// Records that the family `family` owns the name `name`.
    fn claim(&mut self, name: &str, family: &str, line: usize) -> Result<(), ParseError> {
        if let Some((owner, at)) = self.claimed.get(name) {
            let message = if owner == name && family == name {
                format!(
                    "family `{name}` appears again after other lines (it began on line {at}); \
                     a family's lines must be together"
                )
            } else if owner == name {
                format!(
                    "family `{family}` would have samples named `{name}`, the name of the family \
                     on line {at}"
                )
            } else {
                format!("`{name}` clashes with the samples of family `{owner}` (line {at})")
            };
            return Err(ParseError::new(line, message));
        }
        self.claimed
            .insert(name.to_owned(), (family.to_owned(), line));
        Ok(())
    }
}

/// The family being read.
#[derive(Debug)]
struct Family {
    parsed: ParsedFamily,
    help_line: Option<usize>,
    type_line: Option<usize>,
    unit_line: Option<usize>,
    first_sample_line: Option<usize>,
    metrics: Metrics,
    /// The histogram data point being read (histogram kinds only).
    point: Option<Point>,
}

impl Family {
    fn new(name: &str) -> Family {
        Family {
            parsed: ParsedFamily {
                name: name.to_owned(),
                kind: FamilyKind::Unknown,
                help: None,
                unit: None,
                samples: Vec::new(),
            },
            help_line: None,
            type_line: None,
            unit_line: None,
            first_sample_line: None,
            metrics: Metrics::default(),
            point: None,
        }
    }

    /// Whether a sample named `sample` belongs to this family.
    fn owns(&self, dialect: Dialect, sample: &str) -> bool {
        sample
            .strip_prefix(self.parsed.name.as_str())
            .is_some_and(|suffix| suffixes(dialect, self.parsed.kind).contains(&suffix))
    }

    fn add(
        &mut self,
        dialect: Dialect,
        line: usize,
        sample: ParsedSample,
    ) -> Result<(), ParseError> {
        use FamilyKind as K;
        let at = |message: String| ParseError::new(line, message);
        let kind = self.parsed.kind;
        let name = self.parsed.name.as_str();
        let suffix = &sample.name[name.len()..];
        let histogram = matches!(kind, K::Histogram | K::GaugeHistogram);

        // The labels the type requires or forbids; the one that tells the
        // samples of one metric apart is left out of the metric's identity.
        let mut le = None;
        let mut within_metric = None;
        match (kind, suffix) {
            (K::Histogram | K::GaugeHistogram, "_bucket") => {
                let text = sample.label("le").ok_or_else(|| {
                    at(format!(
                        "histogram bucket `{}` has no `le` label",
                        sample.name
                    ))
                })?;
                le = Some(upper_bound(dialect, text).map_err(at)?);
                within_metric = Some("le");
            }
            (K::Histogram | K::GaugeHistogram, _) if sample.label("le").is_some() => {
                return Err(at(format!(
                    "`{}` has an `le` label; in a histogram only buckets have one",
                    sample.name
                )));
            }
            (K::Summary, "") => {
                let text = sample.label("quantile").ok_or_else(|| {
                    at(format!(
                        "summary quantile `{}` has no `quantile` label",
                        sample.name
                    ))
                })?;
                if !scan::number(text).is_some_and(|q| (0.0..=1.0).contains(&q)) {
                    return Err(at(format!(
                        "`quantile` must be a number from 0 to 1, not `{}`",
                        text.escape_debug()
                    )));
                }
                within_metric = Some("quantile");
            }
            (K::Summary, _) if sample.label("quantile").is_some() => {
                return Err(at(format!(
                    "`{}` has a `quantile` label; in a summary only quantiles have one",
                    sample.name
                )));
            }
            (K::StateSet, _) => {
                if sample.label(name).is_none() {
                    return Err(at(format!(
                        "stateset sample without the label `{name}` that names its state"
                    )));
                }
                within_metric = Some(name);
            }
            _ => {}
        }
        if dialect == Dialect::OpenMetrics {
            check_value(kind, suffix, &sample).map_err(at)?;
        }

        let metric = label_key(&sample.labels, within_metric);
        let series = (sample.name.clone(), label_key(&sample.labels, None));
        let new_point = self
            .metrics
            .add(dialect, metric, series, sample.timestamp, line)
            .map_err(at)?;
        if histogram {
            if new_point {
                if let Some(point) = self.point.take() {
                    point.check(dialect, kind, name)?;
                }
            }
            self.point
                .get_or_insert_with(Point::default)
                .add(suffix, le, sample.value, line)?;
        }
        self.first_sample_line.get_or_insert(line);
        self.parsed.samples.push(sample);
        Ok(())
    }

    fn finish(self, dialect: Dialect) -> Result<ParsedFamily, ParseError> {
        let parsed = self.parsed;
        if let (Some(unit), Some(line)) = (&parsed.unit, self.unit_line) {
            if !unit.is_empty() {
                if !parsed
                    .name
                    .strip_suffix(unit.as_str())
                    .is_some_and(|stem| stem.ends_with('_'))
                {
                    return Err(ParseError::new(
                        line,
                        format!(
                            "unit `{unit}` is not the suffix of the family name `{}`, which \
                             must end with `_{unit}`",
                            parsed.name
                        ),
                    ));
                }
                if matches!(parsed.kind, FamilyKind::Info | FamilyKind::StateSet) {
                    return Err(ParseError::new(
                        line,
                        format!(
                            "{} family `{}` cannot have a unit",
                            parsed.kind, parsed.name
                        ),
                    ));
                }
            }
        }
        if let Some(point) = &self.point {
            point.check(dialect, parsed.kind, &parsed.name)?;
        }
        Ok(parsed)
    }
}

/// The `le` of a bucket: a number, not NaN; in OpenMetrics an infinite
/// upper bound is spelled `+Inf`.
fn upper_bound(dialect: Dialect, text: &str) -> LineResult<f64> {
    let le = scan::number(text)
        .filter(|le| !le.is_nan())
        .ok_or_else(|| format!("`le` must be a number, not `{}`", text.escape_debug()))?;
    if dialect == Dialect::OpenMetrics && le == f64::INFINITY && text != "+Inf" {
        return Err(format!(
            "`le=\"{}\"`: the infinite upper bound is written `+Inf`",
            text.escape_debug()
        ));
    }
    Ok(le)
}

/// The OpenMetrics rules on values and exemplars.
#[allow(clippy::float_cmp)] // the values the format allows are exact
fn check_value(kind: FamilyKind, suffix: &str, sample: &ParsedSample) -> LineResult<()> {
    use FamilyKind as K;
    let value = sample.value;
    let name = &sample.name;
    let problem = match (kind, suffix) {
        (K::Counter, "_total") | (K::Histogram | K::Summary, "_sum")
            if value.is_nan() || value < 0.0 =>
        {
            Some(format!(
                "`{name}` is a count and must not be NaN or negative, not {value}"
            ))
        }
        (K::Histogram | K::GaugeHistogram, "_bucket")
        | (K::Histogram | K::Summary, "_count")
        | (K::GaugeHistogram, "_gcount")
            if !(value.is_finite() && value >= 0.0 && value.fract() == 0.0) =>
        {
            Some(format!(
                "`{name}` must be a whole number of observations, not {value}"
            ))
        }
        (K::GaugeHistogram, "_gsum") if value.is_nan() => Some(format!("`{name}` must not be NaN")),
        (K::Summary, "") if value < 0.0 => Some(format!(
            "quantile `{name}` must not be negative, not {value}"
        )),
        (K::StateSet, _) if value != 0.0 && value != 1.0 => {
            Some(format!("a stateset sample is 0 or 1, not {value}"))
        }
        (K::Info, _) if value != 1.0 => Some(format!("an info sample is 1, not {value}")),
        _ if sample.exemplar.is_some()
            && !matches!(
                (kind, suffix),
                (K::Counter, "_total") | (K::Histogram | K::GaugeHistogram, "_bucket")
            ) =>
        {
            Some(format!(
                "exemplar on `{name}` ({kind}); only counter totals and histogram buckets have them"
            ))
        }
        _ => None,
    };
    problem.map_or(Ok(()), Err)
}

/// The metrics (label sets, without `le`, `quantile` or a stateset's state
/// label) of one family: each one's samples must be together, and a series
/// repeats only as another data point with a timestamp.
#[derive(Debug, Default)]
struct Metrics {
    /// Every metric seen, with the line it began on.
    seen: HashMap<LabelKey, usize>,
    /// The metric being read.
    current: Option<LabelKey>,
    /// The timestamp of its last sample.
    timestamp: Option<f64>,
    /// The series (sample name and labels) of its current data point.
    in_point: HashSet<(String, LabelKey)>,
}

impl Metrics {
    /// Records a sample of `metric`; whether it begins a new data point.
    fn add(
        &mut self,
        dialect: Dialect,
        metric: LabelKey,
        series: (String, LabelKey),
        timestamp: Option<f64>,
        line: usize,
    ) -> LineResult<bool> {
        if self.current.as_ref() == Some(&metric) {
            let mut new_point = false;
            if dialect == Dialect::OpenMetrics {
                match (self.timestamp, timestamp) {
                    (None, Some(_)) | (Some(_), None) => {
                        return Err(format!(
                            "`{}` has a timestamp where the other samples of its metric have \
                             none, or none where they have one",
                            show_series(&series.0, &series.1)
                        ));
                    }
                    (Some(before), Some(now)) if now < before => {
                        return Err(format!(
                            "timestamp {now} of `{}` goes back from {before}",
                            show_series(&series.0, &series.1)
                        ));
                    }
                    (Some(before), Some(now)) => new_point = now > before,
                    (None, None) => {}
                }
            }
            if !new_point && self.in_point.contains(&series) {
                if timestamp.is_some() && dialect == Dialect::OpenMetrics {
                    // Another data point with the same timestamp.
                    new_point = true;
                } else {
                    return Err(format!(
                        "duplicate series `{}`",
                        show_series(&series.0, &series.1)
                    ));
                }
            }
            if new_point {
                self.in_point.clear();
            }
            self.in_point.insert(series);
            self.timestamp = timestamp;
            return Ok(new_point);
        }
        if let Some(first) = self.seen.get(&metric) {
            return Err(format!(
                "the samples of `{}` are not together: its metric began on line {first}, and \
                 other label sets came between",
                show_series(&series.0, &series.1)
            ));
        }
        self.seen.insert(metric.clone(), line);
        self.current = Some(metric);
        self.timestamp = timestamp;
        self.in_point.clear();
        self.in_point.insert(series);
        Ok(true)
    }
}

/// One histogram data point: the buckets, count and sum of one metric at
/// one time.
#[derive(Debug, Default)]
struct Point {
    last_line: usize,
    /// The last bucket's `le` and count.
    last_bucket: Option<(f64, f64)>,
    /// The `+Inf` bucket's count.
    infinite: Option<f64>,
    negative_bucket: bool,
    /// `_count` or `_gcount`, and its line.
    count: Option<(f64, usize)>,
    /// `_sum` or `_gsum`, and its line.
    sum: Option<(f64, usize)>,
}

impl Point {
    fn add(
        &mut self,
        suffix: &str,
        le: Option<f64>,
        value: f64,
        line: usize,
    ) -> Result<(), ParseError> {
        self.last_line = line;
        match (suffix, le) {
            ("_bucket", Some(le)) => {
                if let Some((last_le, last_count)) = self.last_bucket {
                    if le <= last_le {
                        return Err(ParseError::new(
                            line,
                            format!("bucket `le` values must increase: {le} after {last_le}"),
                        ));
                    }
                    if value < last_count {
                        return Err(ParseError::new(
                            line,
                            format!(
                                "cumulative bucket counts must not decrease: {value} after \
                                 {last_count}"
                            ),
                        ));
                    }
                }
                self.last_bucket = Some((le, value));
                self.negative_bucket |= le < 0.0;
                if le == f64::INFINITY {
                    self.infinite = Some(value);
                }
            }
            ("_count" | "_gcount", _) => self.count = Some((value, line)),
            ("_sum" | "_gsum", _) => self.sum = Some((value, line)),
            _ => {}
        }
        Ok(())
    }

    #[allow(clippy::float_cmp)] // counts are whole numbers, exact in f64
    fn check(&self, dialect: Dialect, kind: FamilyKind, name: &str) -> Result<(), ParseError> {
        let Some(infinite) = self.infinite else {
            return Err(ParseError::new(
                self.last_line,
                format!("histogram `{name}` has no `le=\"+Inf\"` bucket"),
            ));
        };
        let gauge = kind == FamilyKind::GaugeHistogram;
        let (count_name, sum_name) = if gauge {
            ("_gcount", "_gsum")
        } else {
            ("_count", "_sum")
        };
        if let Some((count, line)) = self.count {
            if count != infinite {
                return Err(ParseError::new(
                    line,
                    format!("`{name}{count_name}` is {count} but the `+Inf` bucket is {infinite}"),
                ));
            }
        }
        if dialect == Dialect::Prometheus {
            return Ok(());
        }
        match self.sum {
            Some((_, line)) if !gauge && self.negative_bucket => Err(ParseError::new(
                line,
                format!("histogram `{name}` has a bucket below zero, so it cannot have `_sum`"),
            )),
            Some((sum, line)) if gauge && !self.negative_bucket && sum < 0.0 => {
                Err(ParseError::new(
                    line,
                    format!(
                        "`{name}_gsum` is negative ({sum}) but no bucket of `{name}` is below zero"
                    ),
                ))
            }
            _ => Ok(()),
        }?;
        match (self.sum, self.count) {
            (Some((_, line)), None) => Err(ParseError::new(
                line,
                format!("`{name}{sum_name}` without `{name}{count_name}`"),
            )),
            (None, Some((_, line))) => Err(ParseError::new(
                line,
                format!("`{name}{count_name}` without `{name}{sum_name}`"),
            )),
            _ => Ok(()),
        }
    }
}
