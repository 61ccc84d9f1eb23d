//! One process's shared metrics as a backend stores them, and the merge of
//! several processes' into the families a collection exports.

use std::collections::{BTreeMap, HashMap};

use crate::backend::mode::{self, GaugeMode};
use crate::collect::registry::{Desc, Sink};
use crate::collect::snapshot::{HistogramValue, MetricFamily, MetricKind, Snapshot, Value};

/// A process as backends name it: its pid and a token that tells it apart
/// from a later process given the same pid (its start time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ProcessId {
    pub(crate) pid: u32,
    pub(crate) token: u64,
}

impl ProcessId {
    /// `pid-token`, as file names and Redis fields spell it.
    pub(crate) fn key(self) -> String {
        format!("{}-{}", self.pid, self.token)
    }

    /// The inverse of [`key`](Self::key).
    pub(crate) fn parse(key: &str) -> Option<ProcessId> {
        let (pid, token) = key.split_once('-')?;
        Some(ProcessId {
            pid: pid.parse().ok()?,
            token: token.parse().ok()?,
        })
    }
}

/// The shared metrics of one process, or of the archive of dead ones.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Part {
    /// The process; `None` for an archive, whose per-process gauges carry
    /// their `pid` label already.
    pub(crate) owner: Option<ProcessId>,
    pub(crate) families: Vec<PartFamily>,
}

/// One family of a [`Part`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PartFamily {
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) unit: Option<String>,
    pub(crate) kind: MetricKind,
    /// How gauges combine over processes (ignored for other kinds).
    pub(crate) mode: GaugeMode,
    pub(crate) series: Vec<PartSeries>,
}

/// One series of a [`PartFamily`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PartSeries {
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) value: Value,
    pub(crate) created: Option<f64>,
    /// Gauges: when the value last changed (Unix seconds), for
    /// [`GaugeMode::MostRecent`].
    pub(crate) changed: f64,
}

/// Families every process exports for itself and no backend merges:
/// telltale's own.
pub(crate) fn is_local(family: &str) -> bool {
    family.starts_with("telltale_")
}

/// When each gauge series of this process last changed value.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    /// By family and labels: the value's bits and when it took it.
    seen: HashMap<(String, LabelKey), (u64, f64)>,
}

impl Changes {
    /// When the gauge `family{labels}` now at `value` changed last: `now`
    /// the first time or when it differs from the last call's value.
    fn changed(&mut self, family: &str, labels: &[(String, String)], value: f64, now: f64) -> f64 {
        let key = (family.to_owned(), labels.to_vec());
        let entry = self.seen.entry(key).or_insert((value.to_bits(), now));
        if entry.0 != value.to_bits() {
            *entry = (value.to_bits(), now);
        }
        entry.1
    }
}

impl Part {
    /// This process's part, read from its shared metrics' snapshot (the
    /// families of [`is_local`] left out).
    pub(crate) fn from_snapshot(
        owner: ProcessId,
        snapshot: &Snapshot,
        changes: &mut Changes,
    ) -> Part {
        let now = crate::store::clock::unix_now();
        let families = snapshot
            .families
            .iter()
            .filter(|f| !is_local(&f.name))
            .map(|f| PartFamily {
                name: f.name.to_string(),
                help: f.help.to_string(),
                unit: f.unit.map(str::to_owned),
                kind: f.kind,
                mode: mode::of(&f.name),
                series: f
                    .series
                    .iter()
                    .map(|s| {
                        let labels: Vec<(String, String)> = s
                            .labels
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect();
                        let changed = match s.value {
                            Value::Gauge(v) => changes.changed(&f.name, &labels, v, now),
                            _ => 0.0,
                        };
                        PartSeries {
                            labels,
                            value: s.value.clone(),
                            created: s.created,
                            changed,
                        }
                    })
                    .collect(),
            })
            .collect();
        Part {
            owner: Some(owner),
            families,
        }
    }

    /// Number of series.
    #[cfg(feature = "backend-file")]
    pub(crate) fn len(&self) -> usize {
        self.families.iter().map(|f| f.series.len()).sum()
    }
}

type LabelKey = Vec<(String, String)>;

#[derive(Debug)]
struct Acc {
    help: String,
    unit: Option<String>,
    kind: MetricKind,
    mode: GaugeMode,
    /// Where each label set's series is in `series` (label sets come in
    /// their declared order, the same in every process of one program).
    index: HashMap<LabelKey, usize>,
    series: Vec<PartSeries>,
}

/// Merges parts into the families they make together: counters and
/// histograms summed; gauges by their family's mode (the first part's mode
/// and metadata win, so a process's own part goes first); dead processes'
/// values (of processes `live` says are not) left out for the live modes.
/// A family that a later part gives another type is left out of it.
pub(crate) fn merge<'a>(
    parts: impl IntoIterator<Item = &'a Part>,
    live: &dyn Fn(ProcessId) -> bool,
) -> Vec<PartFamily> {
    let mut out: BTreeMap<String, Acc> = BTreeMap::new();
    for part in parts {
        let alive = part.owner.is_some_and(live);
        for f in &part.families {
            let acc = match out.get_mut(&f.name) {
                Some(acc) => acc,
                None => out.entry(f.name.clone()).or_insert_with(|| Acc {
                    help: f.help.clone(),
                    unit: f.unit.clone(),
                    kind: f.kind,
                    mode: f.mode,
                    index: HashMap::with_capacity(f.series.len()),
                    series: Vec::with_capacity(f.series.len()),
                }),
            };
            if acc.kind != f.kind {
                continue;
            }
            let mode = acc.mode;
            let gauge = f.kind == MetricKind::Gauge;
            if gauge && mode.live_only() && !alive {
                continue;
            }
            let owner = part.owner.filter(|_| gauge && mode.per_process());
            for s in &f.series {
                let with_pid;
                let labels = match owner {
                    Some(owner) => {
                        let mut l: LabelKey = s
                            .labels
                            .iter()
                            .filter(|(k, _)| k != "pid")
                            .cloned()
                            .collect();
                        l.push(("pid".to_owned(), owner.pid.to_string()));
                        with_pid = l;
                        &with_pid
                    }
                    None => &s.labels,
                };
                if let Some(&i) = acc.index.get(labels) {
                    combine(&mut acc.series[i], s, f.kind, mode);
                } else {
                    acc.index.insert(labels.clone(), acc.series.len());
                    acc.series.push(PartSeries {
                        labels: labels.clone(),
                        ..s.clone()
                    });
                }
            }
        }
    }
    out.into_iter()
        .map(|(name, mut acc)| {
            acc.series.sort_by(|a, b| a.labels.cmp(&b.labels));
            PartFamily {
                name,
                help: acc.help,
                unit: acc.unit,
                kind: acc.kind,
                mode: acc.mode,
                series: acc.series,
            }
        })
        .collect()
}

/// Adds `from` into `into`, two values of one series.
fn combine(into: &mut PartSeries, from: &PartSeries, kind: MetricKind, mode: GaugeMode) {
    into.created = match (into.created, from.created) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    match (&mut into.value, &from.value) {
        (Value::Counter(a), Value::Counter(b)) => *a += b,
        (Value::Histogram(a), Value::Histogram(b)) => add_histogram(a, b),
        (Value::Gauge(a), Value::Gauge(b)) if kind == MetricKind::Gauge => match mode {
            GaugeMode::Sum | GaugeMode::LiveSum => *a += b,
            GaugeMode::Max => *a = a.max(*b),
            GaugeMode::Min => *a = a.min(*b),
            GaugeMode::MostRecent => {
                if from.changed > into.changed {
                    *a = *b;
                    into.changed = from.changed;
                }
            }
            // One series per process: a second value for one pid is the
            // same process's; the later one stands.
            GaugeMode::All | GaugeMode::LiveAll => *a = *b,
        },
        _ => {}
    }
}

/// Adds histogram `b` into `a`: counts and classic buckets exactly (when
/// both have the same bounds), exponential buckets by
/// [`ExpBuckets::merge`](crate::store::histogram::ExpBuckets::merge).
pub(crate) fn add_histogram(a: &mut HistogramValue, b: &HistogramValue) {
    let same_bounds = a.buckets.len() == b.buckets.len()
        && a.buckets
            .iter()
            .zip(&b.buckets)
            .all(|(x, y)| x.0.to_bits() == y.0.to_bits());
    a.exponential.merge(&b.exponential);
    a.count += b.count;
    a.sum += b.sum;
    if same_bounds {
        for (x, y) in a.buckets.iter_mut().zip(&b.buckets) {
            x.1 += y.1;
        }
    } else {
        let bounds: Vec<f64> = a.buckets.iter().map(|&(le, _)| le).collect();
        let count = a.count;
        *a = HistogramValue::from_exponential(a.exponential.clone(), &bounds);
        a.count = count;
    }
}

/// Interned unit names: a family's unit is a `&'static str`.
fn unit(name: &str) -> &'static str {
    static UNITS: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut units = UNITS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(u) = units.iter().find(|u| **u == name) {
        return u;
    }
    let u: &'static str = Box::leak(name.to_owned().into_boxed_str());
    units.push(u);
    u
}

/// Writes merged families into a collection.
pub(crate) fn push_into(families: &[PartFamily], out: &mut Sink) {
    for f in families {
        let desc = Desc {
            name: &f.name,
            help: &f.help,
            unit: f.unit.as_deref().map(unit),
            kind: f.kind,
        };
        out.declare(&desc);
        for s in &f.series {
            out.push(&desc, s.labels.clone(), s.value.clone(), s.created);
        }
    }
}

/// Writes this process's own families of [`is_local`] into a collection.
pub(crate) fn push_local(snapshot: &Snapshot, out: &mut Sink) {
    for f in snapshot.families.iter().filter(|f| is_local(&f.name)) {
        push_family(f, out);
    }
}

fn push_family(f: &MetricFamily, out: &mut Sink) {
    let desc = Desc {
        name: &f.name,
        help: &f.help,
        unit: f.unit,
        kind: f.kind,
    };
    out.declare(&desc);
    for s in &f.series {
        let labels = s
            .labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        out.push(&desc, labels, s.value.clone(), s.created);
    }
}

/// The label pairs of a series as [`Cow`]s.
#[cfg(test)]
fn cows(
    labels: &[(&str, &str)],
) -> Vec<(
    std::borrow::Cow<'static, str>,
    std::borrow::Cow<'static, str>,
)> {
    labels
        .iter()
        .map(|(k, v)| {
            (
                std::borrow::Cow::Owned((*k).to_owned()),
                std::borrow::Cow::Owned((*v).to_owned()),
            )
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // the values compared are exact
mod tests {
    use super::*;
    use crate::collect::snapshot::Series;

    fn gauge_part(pid: u32, mode: GaugeMode, value: f64, changed: f64) -> Part {
        Part {
            owner: Some(ProcessId { pid, token: 7 }),
            families: vec![PartFamily {
                name: "g".into(),
                help: "h".into(),
                unit: None,
                kind: MetricKind::Gauge,
                mode,
                series: vec![PartSeries {
                    labels: vec![("k".into(), "v".into())],
                    value: Value::Gauge(value),
                    created: None,
                    changed,
                }],
            }],
        }
    }

    fn values(families: &[PartFamily]) -> Vec<(Vec<(String, String)>, f64)> {
        families[0]
            .series
            .iter()
            .map(|s| match s.value {
                Value::Gauge(v) | Value::Counter(v) => (s.labels.clone(), v),
                Value::Histogram(_) => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn gauges_combine_by_their_mode() {
        let live = |p: ProcessId| p.pid != 2;
        let parts = |mode| {
            vec![
                gauge_part(1, mode, 5.0, 10.0),
                gauge_part(2, mode, 9.0, 30.0),
                gauge_part(3, mode, -1.0, 20.0),
            ]
        };
        let one = |mode| {
            let merged = merge(&parts(mode), &live);
            values(&merged)[0].1
        };
        assert_eq!(one(GaugeMode::Sum), 13.0);
        assert_eq!(one(GaugeMode::LiveSum), 4.0);
        assert_eq!(one(GaugeMode::Max), 9.0);
        assert_eq!(one(GaugeMode::Min), -1.0);
        assert_eq!(one(GaugeMode::MostRecent), 9.0);
        let all = values(&merge(&parts(GaugeMode::All), &live));
        let pids: Vec<&str> = all
            .iter()
            .map(|(l, _)| l.iter().find(|(k, _)| k == "pid").unwrap().1.as_str())
            .collect();
        assert_eq!(pids, ["1", "2", "3"]);
        let live_all = values(&merge(&parts(GaugeMode::LiveAll), &live));
        assert_eq!(
            live_all.len(),
            2,
            "the dead process is left out: {live_all:?}"
        );
    }

    #[test]
    fn counters_and_histograms_add_up_and_telltale_families_stay_local() {
        let mut snapshot = Snapshot::default();
        let exp = crate::store::histogram::from_values([0.5, 2.0]);
        snapshot.families = vec![
            MetricFamily {
                name: "jobs".into(),
                help: "Jobs.".into(),
                unit: None,
                kind: MetricKind::Counter,
                series: vec![Series {
                    labels: cows(&[("queue", "a")]),
                    value: Value::Counter(3.0),
                    created: Some(5.0),
                }],
            },
            MetricFamily {
                name: "latency_seconds".into(),
                help: "Latency.".into(),
                unit: Some("seconds"),
                kind: MetricKind::Histogram,
                series: vec![Series {
                    labels: Vec::new(),
                    value: Value::Histogram(HistogramValue::from_exponential(exp, &[1.0])),
                    created: None,
                }],
            },
            MetricFamily {
                name: "telltale_push_sent".into(),
                help: "Own.".into(),
                unit: None,
                kind: MetricKind::Counter,
                series: Vec::new(),
            },
        ];
        let mut changes = Changes::default();
        let a = Part::from_snapshot(ProcessId { pid: 1, token: 1 }, &snapshot, &mut changes);
        let b = Part::from_snapshot(ProcessId { pid: 2, token: 1 }, &snapshot, &mut changes);
        assert_eq!(a.families.len(), 2, "telltale_* families are not shared");
        let merged = merge([&a, &b], &|_| true);
        assert_eq!(
            values(&merged[..1]),
            [(vec![("queue".into(), "a".into())], 6.0)]
        );
        let Value::Histogram(h) = &merged[1].series[0].value else {
            panic!("a histogram")
        };
        assert_eq!(
            (h.count, h.sum, h.buckets.clone()),
            (4, 5.0, vec![(1.0, 2)])
        );
        assert_eq!(h.exponential.count(), 4);
    }
}
