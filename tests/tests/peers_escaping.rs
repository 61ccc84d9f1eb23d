//! The escaping property of `escaping.rs`, checked by an independent reader:
//! Python `prometheus_client`'s strict OpenMetrics parser.
//!
//! A fixed set of tricky strings (the characters escaping is about, alone
//! and in combination, plus a seeded list of generated ones) becomes the
//! label values and help texts of a hand-built snapshot: a counter, a gauge
//! and a histogram family whose series carry the strings as labels, and one
//! gauge family per string carrying it as help. The snapshot is encoded as
//! OpenMetrics and read by `tests/peers/openmetrics_exact.py`; every family,
//! help text, label and value must be what the snapshot holds and what
//! `telltale::parse::openmetrics` reads.
//!
//! Ignored unless asked for: it needs `python3` with `prometheus_client`
//! (`.ci/run` installs it and runs the ignored tests).

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value as Json;
use telltale::__private::histogram::ExpBuckets;
use telltale::encode::encode;
use telltale::parse::{self, ParsedFamily};
use telltale::snapshot::{HistogramValue, MetricFamily, MetricKind, Series, Snapshot, Value};
use telltale::Format;
use telltale_tests::{describe_output, peer_scripts_dir, python_binary, run_with_stdin};

/// How long the Python parser may take.
const PEER_WAIT: Duration = Duration::from_mins(1);

/// How many generated strings join the fixed ones, and the seed that makes
/// them the same on every run.
const GENERATED: usize = 96;
const SEED: u64 = 0x7e11_7a1e_5eed_0001;

/// The fixed strings: every character escaping is about, on its own and in
/// the combinations that trip up escapers and readers.
fn fixed_strings() -> Vec<String> {
    [
        "",
        "\\",
        "\"",
        "\n",
        "\r",
        "\t",
        "\0",
        "\u{1b}[31m",
        "\u{7f}",
        "\\\\",
        "\\n",
        "\\\"",
        "\"\"",
        "a\\",
        "\\\n",
        "\n\n",
        "\r\n",
        "\"\\\"",
        "# EOF",
        "\n# EOF\n",
        "} 1 # {x=\"y\"} 2",
        "a=\"b\",c=\"d\"",
        "{}",
        "  two leading spaces",
        "\ttab first",
        "trailing  ",
        "C:\\Program Files\\telltale\\\"x\".txt",
        "grüße",
        "☃",
        "😀",
        "👩\u{200d}💻",
        "e\u{301}",
        "\u{85}\u{2028}\u{2029}",
        "\u{a0}\u{feff}\u{fffd}",
        "\u{10ffff}",
        "日本語のラベル",
        "مرحبا",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `count` strings of up to 12 characters drawn from the tricky characters,
/// ASCII, control characters and any code point.
fn generated_strings(count: usize) -> Vec<String> {
    const TRICKY: &[char] = &[
        '\\', '"', '\n', '\r', '\t', '\0', '#', '{', '}', '=', ',', ' ', 'n', '\u{85}', '\u{2028}',
        '😀', '☃', '\u{301}',
    ];
    let mut rng = Rng(SEED);
    (0..count)
        .map(|_| {
            let len = rng.below(13);
            (0..len)
                .map(|_| match rng.below(4) {
                    0 | 1 => TRICKY[rng.below(TRICKY.len() as u64) as usize],
                    2 => char::from(rng.below(0x80) as u8),
                    _ => loop {
                        // Any scalar value (surrogates are not chars).
                        if let Some(c) = char::from_u32(rng.below(0x11_0000) as u32) {
                            break c;
                        }
                    },
                })
                .collect()
        })
        .collect()
}

fn strings() -> Vec<String> {
    let mut strings = fixed_strings();
    strings.extend(generated_strings(GENERATED));
    strings
}

/// Series `i` carries string `i` and another one as labels.
fn labels(strings: &[String], i: usize) -> Vec<(Cow<'static, str>, Cow<'static, str>)> {
    vec![
        ("case".into(), i.to_string().into()),
        ("value".into(), strings[i].clone().into()),
        (
            "other".into(),
            strings[(i * 7 + 3) % strings.len()].clone().into(),
        ),
    ]
}

/// Gauge values the float formatting has to get right.
const GAUGE_VALUES: &[f64] = &[
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    0.0,
    -17.0,
    0.1,
    1e-300,
    5e-324,
    f64::MAX,
    1e21,
    123_456_789.125,
    -2.5e-9,
];

fn help_family(i: usize) -> String {
    format!("help_{i:03}")
}

fn snapshot(strings: &[String]) -> Snapshot {
    let series = |value: &dyn Fn(usize) -> Value, created: bool| -> Vec<Series> {
        (0..strings.len())
            .map(|i| Series {
                labels: labels(strings, i),
                value: value(i),
                created: created.then_some(1_700_000_000.0 + i as f64 / 4.0),
            })
            .collect()
    };
    let family = |name: String, help: String, kind, series| MetricFamily {
        name: name.into(),
        help: help.into(),
        unit: None,
        kind,
        series,
    };
    let mut families = vec![
        family(
            "c".into(),
            "Counter with tricky labels.".into(),
            MetricKind::Counter,
            series(&|i| Value::Counter(i as f64 * 1.5), true),
        ),
        family(
            "g".into(),
            "Gauge with tricky labels.".into(),
            MetricKind::Gauge,
            series(
                &|i| Value::Gauge(GAUGE_VALUES[i % GAUGE_VALUES.len()]),
                false,
            ),
        ),
    ];
    let mut histogram = family(
        "h_seconds".into(),
        "Histogram with tricky labels.".into(),
        MetricKind::Histogram,
        series(
            &|i| {
                let i = i as u64;
                Value::Histogram(HistogramValue {
                    count: 3 * i + 2,
                    sum: i as f64 * 0.75,
                    buckets: vec![(0.005, i), (0.25, 2 * i), (1e6, 3 * i + 1)],
                    exponential: ExpBuckets::default(),
                })
            },
            true,
        ),
    );
    histogram.unit = Some("seconds");
    families.push(histogram);
    for (i, help) in strings.iter().enumerate() {
        families.push(family(
            help_family(i),
            help.clone(),
            MetricKind::Gauge,
            vec![Series {
                labels: Vec::new(),
                value: Value::Gauge(i as f64),
                created: None,
            }],
        ));
    }
    Snapshot { families }
}

/// One family as the Python parser returned it.
#[derive(Debug, PartialEq)]
struct PeerFamily {
    name: String,
    kind: String,
    unit: String,
    help: String,
    samples: Vec<PeerSample>,
}

/// A sample: name, labels in order, value.
type PeerSample = (String, Vec<(String, String)>, PeerValue);

/// A sample value compared bit for bit except that all NaNs are equal.
#[derive(Debug)]
struct PeerValue(f64);

impl PartialEq for PeerValue {
    fn eq(&self, other: &PeerValue) -> bool {
        self.0 == other.0 || (self.0.is_nan() && other.0.is_nan())
    }
}

fn peer_families(json: &Json) -> Vec<PeerFamily> {
    let text = |v: &Json, what: &str| {
        v.as_str()
            .unwrap_or_else(|| panic!("{what} is not a string: {v}"))
            .to_owned()
    };
    json["families"]
        .as_array()
        .expect("families")
        .iter()
        .map(|family| PeerFamily {
            name: text(&family["name"], "name"),
            kind: text(&family["type"], "type"),
            unit: text(&family["unit"], "unit"),
            help: text(&family["help"], "help"),
            samples: family["samples"]
                .as_array()
                .expect("samples")
                .iter()
                .map(|sample| {
                    let labels = sample["labels"]
                        .as_array()
                        .expect("labels")
                        .iter()
                        .map(|pair| (text(&pair[0], "label name"), text(&pair[1], "label value")))
                        .collect();
                    let value = text(&sample["value"], "value");
                    let value = value
                        .parse::<f64>()
                        .unwrap_or_else(|_| panic!("value {value:?} is not a float"));
                    (
                        text(&sample["name"], "sample name"),
                        labels,
                        PeerValue(value),
                    )
                })
                .collect(),
        })
        .collect()
}

/// What telltale's parser read, in the shape of [`PeerFamily`], with the one
/// known difference of `prometheus_client` applied: it drops the spaces at
/// the start of a help text (its `_split_quoted` skips repeated separators),
/// where the OpenMetrics grammar makes them part of the text.
fn as_peer_would(families: &[ParsedFamily]) -> Vec<PeerFamily> {
    families
        .iter()
        .map(|family| PeerFamily {
            name: family.name.clone(),
            kind: family.kind.as_str().to_owned(),
            unit: family.unit.clone().unwrap_or_default(),
            help: family
                .help
                .as_deref()
                .unwrap_or_default()
                .trim_start_matches(' ')
                .to_owned(),
            samples: family
                .samples
                .iter()
                .map(|s| (s.name.clone(), s.labels.clone(), PeerValue(s.value)))
                .collect(),
        })
        .collect()
}

fn run_peer(exposition: &str) -> Json {
    let script = peer_scripts_dir().join("openmetrics_exact.py");
    let output = run_with_stdin(
        &python_binary(),
        &[script.as_os_str() as &OsStr],
        exposition.as_bytes(),
        PEER_WAIT,
    );
    assert!(
        output.status.success(),
        "{}\n--- exposition ---\n{exposition}",
        describe_output("openmetrics_exact.py", &output)
    );
    serde_json::from_slice(&output.stdout).expect("the script prints JSON")
}

#[test]
#[ignore = "needs python3 with prometheus_client"]
fn prometheus_client_reads_back_every_tricky_string() {
    let strings = strings();
    let snapshot = snapshot(&strings);
    let mut exposition = String::new();
    encode(&snapshot, Format::OpenMetrics, &mut exposition);

    let ours = parse::openmetrics(&exposition)
        .unwrap_or_else(|e| panic!("telltale's parser rejects the exposition: {e}"));
    let json = run_peer(&exposition);
    let theirs = peer_families(&json);

    // The source strings, as each reader saw them.
    let mut wrong = String::new();
    for family_name in ["c", "g", "h_seconds"] {
        let family = theirs
            .iter()
            .find(|f| f.name == family_name)
            .unwrap_or_else(|| panic!("prometheus_client found no family `{family_name}`"));
        for (name, labels, _) in &family.samples {
            let label = |key: &str| {
                labels
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.as_str())
            };
            let case: usize = label("case").expect("case label").parse().expect("index");
            if label("value") != Some(strings[case].as_str()) {
                let _ = writeln!(
                    wrong,
                    "{name} case {case}: value {:?}, expected {:?}",
                    label("value"),
                    strings[case]
                );
            }
        }
    }
    for (i, string) in strings.iter().enumerate() {
        let name = help_family(i);
        let help = theirs
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.help.as_str());
        let expected = string.trim_start_matches(' ');
        if help != Some(expected) {
            let _ = writeln!(wrong, "{name}: help {help:?}, expected {expected:?}");
        }
    }
    assert!(
        wrong.is_empty(),
        "prometheus_client read other strings than the snapshot holds:\n{wrong}"
    );

    // Everything else: families, types, units, samples, values.
    let ours = as_peer_would(&ours);
    assert_eq!(ours.len(), theirs.len(), "number of families");
    for (ours, theirs) in ours.iter().zip(&theirs) {
        assert_eq!(
            ours, theirs,
            "telltale's parser (left) and prometheus_client (right) disagree"
        );
    }
    let samples: usize = theirs.iter().map(|f| f.samples.len()).sum();
    // Counters 2 samples a series, histograms 4 buckets + count + sum +
    // created, gauges 1, and one help family per string.
    assert_eq!(samples, strings.len() * (2 + 1 + 7 + 1));
}

/// The generated strings are the same on every run, and varied.
#[test]
fn the_seeded_strings_are_fixed() {
    let strings = generated_strings(GENERATED);
    assert_eq!(strings, generated_strings(GENERATED));
    assert!(strings.iter().any(String::is_empty));
    assert!(strings.iter().any(|s| s.contains('\\')));
    assert!(strings.iter().any(|s| s.contains('"')));
    assert!(strings.iter().any(|s| s.contains('\n')));
    assert!(strings.iter().any(|s| !s.is_ascii()));
}

/// Without the peer: the same exposition satisfies telltale's own parser,
/// which gives back every string.
#[test]
fn telltale_reads_back_every_tricky_string() {
    let strings = strings();
    let mut exposition = String::new();
    encode(&snapshot(&strings), Format::OpenMetrics, &mut exposition);
    let families = parse::openmetrics(&exposition).unwrap_or_else(|e| panic!("{e}"));
    for family in &families[..3] {
        for sample in &family.samples {
            let case: usize = sample.label("case").unwrap().parse().unwrap();
            assert_eq!(sample.label("value"), Some(strings[case].as_str()));
        }
    }
    for (i, string) in strings.iter().enumerate() {
        let family = &families[3 + i];
        assert_eq!(family.name, help_family(i));
        let expected = (!string.is_empty()).then_some(string.as_str());
        assert_eq!(family.help.as_deref(), expected);
    }
}
