//! Escaping, proven: arbitrary Unicode label values and help texts (`\`,
//! `"`, line feeds, control characters, emoji, the empty string) and
//! arbitrary values, written by `telltale::encode` in both text formats and
//! read back by the strict parsers of `telltale::parse`, come back the same.
//!
//! The snapshot is built by hand: a counter, a gauge and a histogram family,
//! each with generated help text and series labels.

#![allow(clippy::float_cmp)] // values must come back exactly

use std::borrow::Cow;

use proptest::prelude::*;
use telltale::__private::histogram::ExpBuckets;
use telltale::encode::encode;
use telltale::parse::{self, FamilyKind, ParsedFamily};
use telltale::snapshot::{HistogramValue, MetricFamily, MetricKind, Series, Snapshot, Value};
use telltale::Format;

/// The characters escaping is about, and their neighbours: separators of
/// the formats, control characters, other line breaks, combining marks,
/// emoji, the highest code point.
const TRICKY: &[char] = &[
    '\\',
    '"',
    '\n',
    '\r',
    '\t',
    '\0',
    '\u{1b}',
    '\u{7f}',
    '#',
    '{',
    '}',
    '=',
    ',',
    ' ',
    'n',
    '\'',
    '\u{85}',
    '\u{a0}',
    '\u{2028}',
    '\u{2029}',
    '\u{feff}',
    '\u{fffd}',
    '\u{301}',
    'é',
    '☃',
    '😀',
    '\u{200d}',
    '\u{10ffff}',
];

fn text() -> impl Strategy<Value = String> {
    let character = prop_oneof![
        5 => prop::sample::select(TRICKY),
        3 => any::<char>(),
        1 => (0_u8..0x20).prop_map(char::from),
        2 => prop::char::range('a', 'z'),
    ];
    prop::collection::vec(character, 0..16).prop_map(String::from_iter)
}

fn gauge_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => any::<f64>(),
        1 => prop::sample::select(vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            -f64::MAX,
            1e15,
            0.1,
        ]),
        2 => (-1_000_000_i64..1_000_000).prop_map(|n| n as f64),
    ]
}

/// Counter totals: mostly valid, sometimes NaN or negative (which the
/// OpenMetrics encoder leaves out).
fn counter_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => 0.0..1e300_f64,
        3 => (0_u64..1 << 53).prop_map(|n| n as f64),
        1 => Just(f64::INFINITY),
        1 => Just(0.0),
        1 => Just(f64::NAN),
        1 => -1e9..-1e-9_f64,
    ]
}

/// A classic histogram: increasing finite bounds, cumulative counts, a sum.
fn histogram_value() -> impl Strategy<Value = HistogramValue> {
    let bound = prop_oneof![
        3 => -1e3..1e6_f64,
        1 => prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
        2 => prop::sample::select(vec![0.005, 0.01, 0.25, 1.0, 2.5, 10.0, 1e-9, 1e23]),
    ];
    let sum = prop_oneof![
        4 => 0.0..1e9_f64,
        1 => Just(f64::NAN),
        1 => -1e9..0.0_f64,
        1 => Just(f64::INFINITY),
    ];
    (
        prop::collection::vec((bound, 0_u64..1000), 0..6),
        0_u64..1000,
        sum,
    )
        .prop_map(|(mut buckets, overflow, sum)| {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            buckets.dedup_by(|a, b| a.0 == b.0);
            let mut count = 0;
            let buckets: Vec<(f64, u64)> = buckets
                .into_iter()
                .map(|(le, n)| {
                    count += n;
                    (le, count)
                })
                .collect();
            HistogramValue {
                count: count + overflow,
                sum,
                buckets,
                exponential: ExpBuckets::default(),
            }
        })
}

fn created() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        Just(None),
        (0.0..4e9_f64).prop_map(Some),
        Just(Some(f64::NAN)),
    ]
}

/// The labels of series `index`: its index (so that label sets are unique)
/// and two generated values.
fn labels(index: usize, a: &str, b: &str) -> Vec<(Cow<'static, str>, Cow<'static, str>)> {
    vec![
        ("series".into(), index.to_string().into()),
        ("a".into(), a.to_owned().into()),
        ("b".into(), b.to_owned().into()),
    ]
}

#[derive(Debug, Clone)]
struct Generated {
    helps: [String; 3],
    /// Per series: two label values, a gauge value, a counter total and its
    /// creation time, a histogram.
    series: Vec<(String, String, f64, f64, Option<f64>, HistogramValue)>,
}

fn generated() -> impl Strategy<Value = Generated> {
    (
        [text(), text(), text()],
        prop::collection::vec(
            (
                text(),
                text(),
                gauge_value(),
                counter_value(),
                created(),
                histogram_value(),
            ),
            1..4,
        ),
    )
        .prop_map(|(helps, series)| Generated { helps, series })
}

fn snapshot(generated: &Generated) -> Snapshot {
    let [counter_help, gauge_help, histogram_help] = generated.helps.clone();
    let family = |name: &'static str, help: String, kind, series| MetricFamily {
        name: name.into(),
        help: help.into(),
        unit: None,
        kind,
        series,
    };
    let series = |value: &dyn Fn(usize) -> (Value, Option<f64>)| -> Vec<Series> {
        generated
            .series
            .iter()
            .enumerate()
            .map(|(i, (a, b, ..))| {
                let (value, created) = value(i);
                Series {
                    labels: labels(i, a, b),
                    value,
                    created,
                }
            })
            .collect()
    };
    let mut gauges = series(&|i| (Value::Gauge(generated.series[i].2), None));
    // One series without labels.
    gauges.insert(
        0,
        Series {
            labels: Vec::new(),
            value: Value::Gauge(-1.5),
            created: None,
        },
    );
    let mut histogram = family(
        "h_seconds",
        histogram_help,
        MetricKind::Histogram,
        series(&|i| {
            let (.., created, histogram) = &generated.series[i];
            (Value::Histogram(histogram.clone()), *created)
        }),
    );
    histogram.unit = Some("seconds");
    Snapshot {
        families: vec![
            family(
                "c",
                counter_help,
                MetricKind::Counter,
                series(&|i| {
                    let (_, _, _, total, created, _) = &generated.series[i];
                    (Value::Counter(*total), *created)
                }),
            ),
            family("g", gauge_help, MetricKind::Gauge, gauges),
            histogram,
        ],
    }
}

/// A sample as the tests compare them: name, labels (an `le` label as the
/// number it reads as), value.
#[derive(Debug, Clone)]
struct Expected {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

impl PartialEq for Expected {
    fn eq(&self, other: &Expected) -> bool {
        self.name == other.name
            && self.labels == other.labels
            && (self.value == other.value || (self.value.is_nan() && other.value.is_nan()))
    }
}

/// A family as the tests compare them.
#[derive(Debug, Clone, PartialEq)]
struct ExpectedFamily {
    name: String,
    kind: FamilyKind,
    help: Option<String>,
    unit: Option<String>,
    samples: Vec<Expected>,
}

/// `le` read as a number, written with `{:?}`, so that `1.0` and `1` agree.
fn normalized_le(text: &str) -> String {
    let le: f64 = text
        .parse()
        .unwrap_or_else(|_| panic!("le=\"{text}\" is not a number"));
    format!("{le:?}")
}

fn from_parsed(families: &[ParsedFamily]) -> Vec<ExpectedFamily> {
    families
        .iter()
        .map(|family| ExpectedFamily {
            name: family.name.clone(),
            kind: family.kind,
            help: family.help.clone(),
            unit: family.unit.clone(),
            samples: family
                .samples
                .iter()
                .map(|sample| Expected {
                    name: sample.name.clone(),
                    labels: sample
                        .labels
                        .iter()
                        .map(|(k, v)| {
                            let v = if k == "le" {
                                normalized_le(v)
                            } else {
                                v.clone()
                            };
                            (k.clone(), v)
                        })
                        .collect(),
                    value: sample.value,
                })
                .collect(),
        })
        .collect()
}

/// What the parser must read from `snapshot` encoded in `format`, following
/// the rules the encoders document.
fn expected(snapshot: &Snapshot, format: Format) -> Vec<ExpectedFamily> {
    let om = format == Format::OpenMetrics;
    snapshot
        .families
        .iter()
        .map(|family| {
            let counter = family.kind == MetricKind::Counter;
            let name = if counter && !om {
                format!("{}_total", family.name)
            } else {
                family.name.to_string()
            };
            let help = if family.help.is_empty() {
                None
            } else if om {
                Some(family.help.to_string())
            } else {
                // 0.0.4 has no escape for blanks: readers take the blanks
                // between the metric name and the text as the separator.
                Some(family.help.trim_start_matches([' ', '\t']).to_owned())
            };
            let mut samples = Vec::new();
            for series in &family.series {
                let sample = |suffix: &str, extra: Option<f64>, value: f64| {
                    let mut labels: Vec<(String, String)> = series
                        .labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                    if let Some(le) = extra {
                        labels.push(("le".into(), format!("{le:?}")));
                    }
                    Expected {
                        name: format!("{}{suffix}", family.name),
                        labels,
                        value,
                    }
                };
                let created = series.created.filter(|c| c.is_finite() && om);
                match &series.value {
                    Value::Counter(total) | Value::Gauge(total) if counter => {
                        if om && (total.is_nan() || *total < 0.0) {
                            continue;
                        }
                        samples.push(sample("_total", None, *total));
                        if let Some(created) = created {
                            samples.push(sample("_created", None, created));
                        }
                    }
                    Value::Counter(value) | Value::Gauge(value) => {
                        samples.push(sample("", None, *value));
                    }
                    Value::Histogram(h) => {
                        for &(le, count) in &h.buckets {
                            samples.push(sample("_bucket", Some(le), count as f64));
                        }
                        let count = h.count as f64;
                        samples.push(sample("_bucket", Some(f64::INFINITY), count));
                        let negative = h.buckets.iter().any(|&(le, _)| le < 0.0);
                        if om {
                            if !negative && h.sum >= 0.0 {
                                samples.push(sample("_count", None, count));
                                samples.push(sample("_sum", None, h.sum));
                            }
                            if let Some(created) = created {
                                samples.push(sample("_created", None, created));
                            }
                        } else {
                            samples.push(sample("_sum", None, h.sum));
                            samples.push(sample("_count", None, count));
                        }
                    }
                }
            }
            ExpectedFamily {
                name,
                kind: match family.kind {
                    MetricKind::Counter => FamilyKind::Counter,
                    MetricKind::Gauge => FamilyKind::Gauge,
                    MetricKind::Histogram => FamilyKind::Histogram,
                },
                help,
                unit: family.unit.filter(|_| om).map(str::to_owned),
                samples,
            }
        })
        .collect()
}

fn round_trip(snapshot: &Snapshot, format: Format) -> Result<(), TestCaseError> {
    let mut text = String::new();
    encode(snapshot, format, &mut text);
    let parsed = match format {
        Format::OpenMetrics => parse::openmetrics(&text),
        _ => parse::prometheus(&text),
    };
    let parsed = parsed.map_err(|e| {
        TestCaseError::fail(format!(
            "{format:?} text does not parse: {e}\n--- text ---\n{text}"
        ))
    })?;
    let got = from_parsed(&parsed);
    let want = expected(snapshot, format);
    prop_assert_eq!(got, want, "{:?} text:\n{}", format, text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn openmetrics_text_reads_back_the_same(generated in generated()) {
        round_trip(&snapshot(&generated), Format::OpenMetrics)?;
    }

    #[test]
    fn prometheus_text_reads_back_the_same(generated in generated()) {
        round_trip(&snapshot(&generated), Format::Prometheus)?;
    }
}

/// The strings the properties are about, each on its own, in both formats.
#[test]
fn each_tricky_string_reads_back_the_same() {
    let mut strings: Vec<String> = TRICKY.iter().map(ToString::to_string).collect();
    strings.extend(
        [
            "",
            "\\\\",
            "\\n",
            "\\\"",
            "\"\"",
            "a\\",
            "\\",
            "\n\n",
            " leading blanks",
            "\t\ttabs",
            "trailing blanks  ",
            "} 1 # {x=\"y\"} 2",
            "# EOF",
            "\n# EOF\n",
            "C:\\dir\\file.txt",
        ]
        .map(str::to_owned),
    );
    for string in &strings {
        let generated = Generated {
            helps: [string.clone(), string.clone(), string.clone()],
            series: vec![(
                string.clone(),
                string.clone(),
                1.0,
                2.0,
                Some(3.0),
                HistogramValue {
                    count: 2,
                    sum: 0.5,
                    buckets: vec![(0.25, 1)],
                    exponential: ExpBuckets::default(),
                },
            )],
        };
        for format in [Format::OpenMetrics, Format::Prometheus] {
            round_trip(&snapshot(&generated), format)
                .unwrap_or_else(|e| panic!("{string:?} in {format:?}: {e}"));
        }
    }
}
