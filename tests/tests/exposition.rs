//! Exposition through the public API: hand-built snapshots encoded byte for
//! byte as the Prometheus 0.0.4 and OpenMetrics 1.0 texts say, and
//! `telltale::render` of real metrics checked line by line against the rules
//! both formats share.

use std::borrow::Cow;
use std::collections::HashSet;

use telltale::__private::histogram::ExpBuckets;
use telltale::snapshot::{HistogramValue, MetricFamily, MetricKind, Series, Snapshot, Value};
use telltale::{Counter, Format, Gauge, Histogram};

// ---------------------------------------------------------------------------
// Hand-built snapshots.

fn family(
    name: &'static str,
    help: &'static str,
    kind: MetricKind,
    series: Vec<Series>,
) -> MetricFamily {
    MetricFamily {
        name: Cow::Borrowed(name),
        help: Cow::Borrowed(help),
        unit: None,
        kind,
        series,
    }
}

fn series(pairs: &[(&'static str, &'static str)], value: Value) -> Series {
    Series {
        labels: pairs
            .iter()
            .map(|&(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v)))
            .collect(),
        value,
        created: None,
    }
}

fn histogram(count: u64, sum: f64, buckets: &[(f64, u64)]) -> Value {
    Value::Histogram(HistogramValue {
        count,
        sum,
        buckets: buckets.to_vec(),
        exponential: ExpBuckets::default(),
    })
}

fn encode(families: Vec<MetricFamily>, format: Format) -> String {
    let mut out = String::new();
    telltale::encode::encode(&Snapshot { families }, format, &mut out);
    out
}

/// A counter family `name` with one unlabelled series.
fn counter(name: &'static str, help: &'static str, total: f64) -> MetricFamily {
    family(
        name,
        help,
        MetricKind::Counter,
        vec![series(&[], Value::Counter(total))],
    )
}

// The next tests rebuild inputs of the OpenMetrics parser conformance suite's
// `shouldParse: true` cases and expect the suite's own text back, where
// telltale's canonical choices (escapes, number forms, metadata order) are
// the ones the case uses.

#[test]
fn openmetrics_simple_cases_match_the_suite() {
    assert_eq!(
        encode(vec![counter("a", "help", 1.0)], Format::OpenMetrics),
        "# TYPE a counter\n# HELP a help\na_total 1\n# EOF\n"
    );
    assert_eq!(
        encode(
            vec![family(
                "a",
                "help",
                MetricKind::Gauge,
                vec![series(&[], Value::Gauge(1.0))]
            )],
            Format::OpenMetrics
        ),
        "# TYPE a gauge\n# HELP a help\na 1\n# EOF\n"
    );
    assert_eq!(
        encode(
            vec![family(
                "a",
                "help",
                MetricKind::Gauge,
                vec![series(&[], Value::Gauge(1.2))]
            )],
            Format::OpenMetrics
        ),
        "# TYPE a gauge\n# HELP a help\na 1.2\n# EOF\n"
    );
    assert_eq!(
        encode(
            vec![family(
                "a",
                "help",
                MetricKind::Gauge,
                vec![series(&[], Value::Gauge(f64::NAN))]
            )],
            Format::OpenMetrics
        ),
        "# TYPE a gauge\n# HELP a help\na NaN\n# EOF\n"
    );
    assert_eq!(
        encode(
            vec![family(
                "a",
                "help",
                MetricKind::Gauge,
                vec![
                    series(&[("foo", "bar")], Value::Gauge(f64::INFINITY)),
                    series(&[("foo", "baz")], Value::Gauge(f64::NEG_INFINITY)),
                ]
            )],
            Format::OpenMetrics
        ),
        "# TYPE a gauge\n# HELP a help\na{foo=\"bar\"} +Inf\na{foo=\"baz\"} -Inf\n# EOF\n"
    );
    assert_eq!(
        encode(
            vec![family(
                "a",
                "help",
                MetricKind::Counter,
                vec![
                    series(&[("foo", "bar")], Value::Counter(1.0)),
                    series(&[("foo", "")], Value::Counter(2.0)),
                ]
            )],
            Format::OpenMetrics
        ),
        "# TYPE a counter\n# HELP a help\na_total{foo=\"bar\"} 1\na_total{foo=\"\"} 2\n# EOF\n"
    );
    assert_eq!(
        encode(
            vec![family(
                "a",
                "help",
                MetricKind::Histogram,
                vec![series(&[], histogram(3, 2.0, &[(1.0, 0)]))]
            )],
            Format::OpenMetrics
        ),
        "# TYPE a histogram\n# HELP a help\n\
         a_bucket{le=\"1.0\"} 0\na_bucket{le=\"+Inf\"} 3\na_count 3\na_sum 2\n# EOF\n"
    );
    let mut unit = family(
        "a_seconds",
        "help",
        MetricKind::Gauge,
        vec![series(&[], Value::Gauge(1.0))],
    );
    unit.unit = Some("seconds");
    assert_eq!(
        encode(vec![unit], Format::OpenMetrics),
        "# TYPE a_seconds gauge\n# UNIT a_seconds seconds\n# HELP a_seconds help\na_seconds 1\n# EOF\n"
    );
    let mut hash_and_braces = family(
        "a",
        "help",
        MetricKind::Counter,
        vec![
            series(&[("foo", "foo # bar")], Value::Counter(1.0)),
            series(&[("foo", "} foo # bar # ")], Value::Counter(1.0)),
        ],
    );
    assert_eq!(
        encode(vec![hash_and_braces.clone()], Format::OpenMetrics),
        "# TYPE a counter\n# HELP a help\n\
         a_total{foo=\"foo # bar\"} 1\na_total{foo=\"} foo # bar # \"} 1\n# EOF\n"
    );
    hash_and_braces.series = vec![series(
        &[("foo", "bar"), ("bar", "b{a}z")],
        Value::Counter(1.0),
    )];
    assert_eq!(
        encode(vec![hash_and_braces], Format::OpenMetrics),
        "# TYPE a counter\n# HELP a help\na_total{foo=\"bar\",bar=\"b{a}z\"} 1\n# EOF\n"
    );
}

/// The values of the suite's `label_escaping` / `help_escaping` cases whose
/// text uses only the escapes the specification defines, unescaped.
const ESCAPED: [(&str, &str); 8] = [
    ("a0", "foo"),
    ("a2", "\\foo"),
    ("a3", "foo\\"),
    ("a4", "\\"),
    ("a5", "\n"),
    ("a6", "\\n"),
    ("a7", "\\\n"),
    ("a8", "\""),
];

#[test]
fn openmetrics_label_escaping_matches_the_suite() {
    let families = ESCAPED
        .iter()
        .map(|&(name, value)| {
            family(
                name,
                "help",
                MetricKind::Counter,
                vec![series(
                    &[("foo", value), ("bar", "baz")],
                    Value::Counter(1.0),
                )],
            )
        })
        .collect();
    assert_eq!(
        encode(families, Format::OpenMetrics),
        r#"# TYPE a0 counter
# HELP a0 help
a0_total{foo="foo",bar="baz"} 1
# TYPE a2 counter
# HELP a2 help
a2_total{foo="\\foo",bar="baz"} 1
# TYPE a3 counter
# HELP a3 help
a3_total{foo="foo\\",bar="baz"} 1
# TYPE a4 counter
# HELP a4 help
a4_total{foo="\\",bar="baz"} 1
# TYPE a5 counter
# HELP a5 help
a5_total{foo="\n",bar="baz"} 1
# TYPE a6 counter
# HELP a6 help
a6_total{foo="\\n",bar="baz"} 1
# TYPE a7 counter
# HELP a7 help
a7_total{foo="\\\n",bar="baz"} 1
# TYPE a8 counter
# HELP a8 help
a8_total{foo="\"",bar="baz"} 1
# EOF
"#
    );
}

#[test]
fn openmetrics_help_escaping_matches_the_suite() {
    let families = ESCAPED
        .iter()
        .map(|&(name, help)| {
            family(
                name,
                help,
                MetricKind::Counter,
                vec![series(&[("foo", "bar")], Value::Counter(1.0))],
            )
        })
        .collect();
    assert_eq!(
        encode(families, Format::OpenMetrics),
        r#"# TYPE a0 counter
# HELP a0 foo
a0_total{foo="bar"} 1
# TYPE a2 counter
# HELP a2 \\foo
a2_total{foo="bar"} 1
# TYPE a3 counter
# HELP a3 foo\\
a3_total{foo="bar"} 1
# TYPE a4 counter
# HELP a4 \\
a4_total{foo="bar"} 1
# TYPE a5 counter
# HELP a5 \n
a5_total{foo="bar"} 1
# TYPE a6 counter
# HELP a6 \\n
a6_total{foo="bar"} 1
# TYPE a7 counter
# HELP a7 \\\n
a7_total{foo="bar"} 1
# TYPE a8 counter
# HELP a8 \"
a8_total{foo="bar"} 1
# EOF
"#
    );
}

#[test]
fn prometheus_escaping_follows_the_text_format_doc() {
    // The label escaping example of the Prometheus exposition format page,
    // and HELP with every character that matters: only `\` and the line feed
    // are escaped there, a double quote is written as it is.
    let families = vec![
        family(
            "msdos_file_access_time_seconds",
            "Quote \" backslash \\ newline \n unicode ☃ grüße",
            MetricKind::Gauge,
            vec![series(
                &[
                    ("path", "C:\\DIR\\FILE.TXT"),
                    ("error", "Cannot find file:\n\"FILE.TXT\""),
                ],
                Value::Gauge(1.458_255_915e9),
            )],
        ),
        family(
            "something_weird",
            "Division by zero.",
            MetricKind::Gauge,
            vec![series(
                &[("problem", "division by zero")],
                Value::Gauge(f64::INFINITY),
            )],
        ),
    ];
    assert_eq!(
        encode(families, Format::Prometheus),
        r#"# HELP msdos_file_access_time_seconds Quote " backslash \\ newline \n unicode ☃ grüße
# TYPE msdos_file_access_time_seconds gauge
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1458255915
# HELP something_weird Division by zero.
# TYPE something_weird gauge
something_weird{problem="division by zero"} +Inf
"#
    );
}

#[test]
fn one_snapshot_in_both_formats() {
    let mut calls = family(
        "function_calls",
        "Calls by function and result.",
        MetricKind::Counter,
        vec![
            series(
                &[
                    ("function", "fetch"),
                    ("module", "app"),
                    ("result", "error"),
                    ("error", "timeout"),
                ],
                Value::Counter(2.0),
            ),
            series(
                &[
                    ("function", "fetch"),
                    ("module", "app"),
                    ("result", "ok"),
                    ("error", ""),
                ],
                Value::Counter(5.0),
            ),
        ],
    );
    calls.series[1].created = Some(1_700_000_000.0);
    let mut duration = family(
        "function_calls_duration_seconds",
        "Call duration.",
        MetricKind::Histogram,
        vec![series(
            &[("function", "fetch"), ("module", "app")],
            histogram(7, 0.625, &[(0.005, 1), (0.1, 4), (1.0, 7)]),
        )],
    );
    duration.unit = Some("seconds");
    duration.series[0].created = Some(1_700_000_000.5);
    let build = family(
        "build_info",
        "Build information.",
        MetricKind::Gauge,
        vec![series(
            &[
                ("version", "1.2.3"),
                ("commit", "abc"),
                ("service_name", "svc"),
            ],
            Value::Gauge(1.0),
        )],
    );
    let families = vec![build, calls, duration];

    assert_eq!(
        encode(families.clone(), Format::Prometheus),
        r#"# HELP build_info Build information.
# TYPE build_info gauge
build_info{version="1.2.3",commit="abc",service_name="svc"} 1
# HELP function_calls_total Calls by function and result.
# TYPE function_calls_total counter
function_calls_total{function="fetch",module="app",result="error",error="timeout"} 2
function_calls_total{function="fetch",module="app",result="ok",error=""} 5
# HELP function_calls_duration_seconds Call duration.
# TYPE function_calls_duration_seconds histogram
function_calls_duration_seconds_bucket{function="fetch",module="app",le="0.005"} 1
function_calls_duration_seconds_bucket{function="fetch",module="app",le="0.1"} 4
function_calls_duration_seconds_bucket{function="fetch",module="app",le="1.0"} 7
function_calls_duration_seconds_bucket{function="fetch",module="app",le="+Inf"} 7
function_calls_duration_seconds_sum{function="fetch",module="app"} 0.625
function_calls_duration_seconds_count{function="fetch",module="app"} 7
"#
    );
    assert_eq!(
        encode(families, Format::OpenMetrics),
        r#"# TYPE build_info gauge
# HELP build_info Build information.
build_info{version="1.2.3",commit="abc",service_name="svc"} 1
# TYPE function_calls counter
# HELP function_calls Calls by function and result.
function_calls_total{function="fetch",module="app",result="error",error="timeout"} 2
function_calls_total{function="fetch",module="app",result="ok",error=""} 5
function_calls_created{function="fetch",module="app",result="ok",error=""} 1700000000
# TYPE function_calls_duration_seconds histogram
# UNIT function_calls_duration_seconds seconds
# HELP function_calls_duration_seconds Call duration.
function_calls_duration_seconds_bucket{function="fetch",module="app",le="0.005"} 1
function_calls_duration_seconds_bucket{function="fetch",module="app",le="0.1"} 4
function_calls_duration_seconds_bucket{function="fetch",module="app",le="1.0"} 7
function_calls_duration_seconds_bucket{function="fetch",module="app",le="+Inf"} 7
function_calls_duration_seconds_count{function="fetch",module="app"} 7
function_calls_duration_seconds_sum{function="fetch",module="app"} 0.625
function_calls_duration_seconds_created{function="fetch",module="app"} 1700000000.5
# EOF
"#
    );
}

#[test]
fn empty_snapshot() {
    assert_eq!(encode(vec![], Format::Prometheus), "");
    assert_eq!(encode(vec![], Format::OpenMetrics), "# EOF\n");
}

#[test]
fn encode_appends_so_a_buffer_can_be_reused() {
    let snapshot = Snapshot {
        families: vec![counter("jobs", "Jobs.", 1.0)],
    };
    let mut buffer = String::new();
    telltale::encode::encode(&snapshot, Format::Prometheus, &mut buffer);
    let first = buffer.clone();
    buffer.clear();
    let capacity = buffer.capacity();
    telltale::encode::encode(&snapshot, Format::Prometheus, &mut buffer);
    assert_eq!(buffer, first);
    assert_eq!(
        buffer.capacity(),
        capacity,
        "a second scrape needs no new allocation"
    );
    telltale::encode::encode(&snapshot, Format::Prometheus, &mut buffer);
    assert_eq!(buffer, format!("{first}{first}"));
}

#[test]
fn content_types_and_negotiation() {
    assert_eq!(
        Format::Prometheus.content_type(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert_eq!(
        Format::OpenMetrics.content_type(),
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert_eq!(Format::negotiate(None), Format::Prometheus);
    assert_eq!(
        Format::negotiate(Some(
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        )),
        Format::OpenMetrics
    );
    assert_eq!(
        Format::negotiate(Some("text/plain;version=0.0.4;q=1,*/*;q=0.1")),
        Format::Prometheus
    );
}

// ---------------------------------------------------------------------------
// `render` of real metrics.

static JOBS: Counter = Counter::new(
    "exposition_test_jobs_total",
    "Jobs \"done\", by C:\\path.\nSecond line.",
);
static QUEUE: Gauge = Gauge::new("exposition_test_queue_depth", "Items waiting.");
static LATENCY: Histogram = Histogram::new("exposition_test_latency_seconds", "Job latency.");

fn record() {
    JOBS.inc_by(3);
    QUEUE.set(-2.5);
    LATENCY.observe(0.003);
    LATENCY.observe(0.2);
    LATENCY.observe(42.0);
}

/// The lines of one family (metadata and samples) in `text`, checking they
/// are contiguous.
fn family_lines<'a>(text: &'a str, sample_prefix: &str, metadata_name: &str) -> Vec<&'a str> {
    let belongs = |line: &str| {
        line.strip_prefix("# ")
            .and_then(|rest| rest.split(' ').nth(1))
            .map_or_else(
                || line.starts_with(sample_prefix),
                |name| name == metadata_name,
            )
    };
    let lines: Vec<&str> = text.lines().collect();
    let first = lines
        .iter()
        .position(|l| belongs(l))
        .expect("family present");
    let len = lines[first..].iter().take_while(|l| belongs(l)).count();
    assert!(
        !lines[first + len..].iter().any(|l| belongs(l)),
        "lines of {metadata_name} are not contiguous:\n{text}"
    );
    lines[first..first + len].to_vec()
}

#[test]
fn render_prometheus_text_of_real_metrics() {
    record();
    let text = telltale::render(Format::Prometheus);
    check_structure(&text, Format::Prometheus);

    let jobs = family_lines(
        &text,
        "exposition_test_jobs_total",
        "exposition_test_jobs_total",
    );
    assert_eq!(
        jobs[0],
        r#"# HELP exposition_test_jobs_total Jobs "done", by C:\\path.\nSecond line."#
    );
    assert_eq!(jobs[1], "# TYPE exposition_test_jobs_total counter");
    assert!(
        jobs[2].starts_with("exposition_test_jobs_total "),
        "{jobs:?}"
    );
    assert!(jobs[2].split(' ').nth(1).unwrap().parse::<f64>().unwrap() >= 3.0);

    let queue = family_lines(
        &text,
        "exposition_test_queue_depth",
        "exposition_test_queue_depth",
    );
    assert_eq!(
        queue,
        [
            "# HELP exposition_test_queue_depth Items waiting.",
            "# TYPE exposition_test_queue_depth gauge",
            "exposition_test_queue_depth -2.5",
        ]
    );

    let latency = family_lines(
        &text,
        "exposition_test_latency_seconds_",
        "exposition_test_latency_seconds",
    );
    assert_eq!(
        latency[0],
        "# HELP exposition_test_latency_seconds Job latency."
    );
    assert_eq!(
        latency[1],
        "# TYPE exposition_test_latency_seconds histogram"
    );
    let les: Vec<&str> = latency[2..]
        .iter()
        .filter_map(|l| l.split("le=\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(
        les,
        [
            "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0",
            "+Inf"
        ]
    );
    assert!(latency
        .iter()
        .any(|l| l.starts_with("exposition_test_latency_seconds_sum ")));
    assert!(latency
        .iter()
        .any(|l| l.starts_with("exposition_test_latency_seconds_count ")));
}

#[test]
fn render_openmetrics_text_of_real_metrics() {
    record();
    let text = telltale::render(Format::OpenMetrics);
    check_structure(&text, Format::OpenMetrics);

    let jobs = family_lines(&text, "exposition_test_jobs_", "exposition_test_jobs");
    assert_eq!(jobs[0], "# TYPE exposition_test_jobs counter");
    assert_eq!(
        jobs[1],
        r#"# HELP exposition_test_jobs Jobs \"done\", by C:\\path.\nSecond line."#
    );
    assert!(
        jobs[2].starts_with("exposition_test_jobs_total "),
        "{jobs:?}"
    );
    assert!(
        jobs[3].starts_with("exposition_test_jobs_created "),
        "{jobs:?}"
    );
    let created: f64 = jobs[3].split(' ').nth(1).unwrap().parse().unwrap();
    assert!(
        created > 1.6e9,
        "created is a Unix time in seconds: {created}"
    );

    let latency = family_lines(
        &text,
        "exposition_test_latency_seconds_",
        "exposition_test_latency_seconds",
    );
    assert_eq!(
        latency[0],
        "# TYPE exposition_test_latency_seconds histogram"
    );
    assert_eq!(latency[1], "# UNIT exposition_test_latency_seconds seconds");
    assert_eq!(
        latency[2],
        "# HELP exposition_test_latency_seconds Job latency."
    );
    let suffixes: Vec<&str> = latency[3..]
        .iter()
        .map(|l| {
            let name = l.split(['{', ' ']).next().unwrap();
            name.strip_prefix("exposition_test_latency_seconds")
                .unwrap()
        })
        .collect();
    let mut expected = vec!["_bucket"; 12];
    expected.extend(["_count", "_sum", "_created"]);
    assert_eq!(suffixes, expected);
}

/// Checks what both formats require of any exposition: line feeds only, no
/// blank line, metadata before a family's samples, one TYPE and HELP per
/// family, families contiguous, no duplicate sample line, histograms with a
/// `+Inf` bucket equal to `_count` and increasing cumulative buckets, and the
/// right ending.
fn check_structure(text: &str, format: Format) {
    assert!(!text.contains('\r'), "carriage return in:\n{text}");
    match format {
        Format::OpenMetrics => {
            assert!(text.ends_with("# EOF\n"), "no EOF:\n{text}");
            assert_eq!(text.matches("# EOF").count(), 1);
        }
        _ => assert!(text.is_empty() || text.ends_with('\n')),
    }
    let body = text.strip_suffix("# EOF\n").unwrap_or(text);
    let mut finished_families: HashSet<String> = HashSet::new();
    let mut current: Option<(String, String)> = None; // (name, type)
    let mut seen_samples: HashSet<&str> = HashSet::new();
    let mut metadata_seen: HashSet<(String, String)> = HashSet::new();
    let mut last_bucket: Option<(String, f64, u64)> = None; // (series key, le, count)
    for line in body.split_terminator('\n') {
        assert!(!line.is_empty(), "blank line in:\n{text}");
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let keyword = parts.next().unwrap();
            let name = parts.next().unwrap().to_owned();
            assert!(
                matches!(keyword, "TYPE" | "HELP" | "UNIT"),
                "unexpected comment {line:?}"
            );
            assert!(
                metadata_seen.insert((keyword.to_owned(), name.clone())),
                "repeated {keyword} for {name}"
            );
            if current.as_ref().is_some_and(|(n, _)| *n != name) {
                finished_families.insert(current.take().unwrap().0);
            }
            assert!(
                !finished_families.contains(&name),
                "family {name} interleaved"
            );
            if keyword == "TYPE" {
                current = Some((name, parts.next().unwrap().to_owned()));
            } else if current.is_none() {
                current = Some((name, String::new()));
            }
            continue;
        }
        let (name, typ) = current.clone().expect("sample before any metadata");
        let (series, value) = line.rsplit_once(' ').expect("sample has a value");
        assert!(seen_samples.insert(series), "duplicate sample {series}");
        let sample_name = series.split('{').next().unwrap();
        let suffix = sample_name
            .strip_prefix(name.as_str())
            .unwrap_or_else(|| panic!("sample {sample_name} outside family {name}"));
        let allowed: &[&str] = match (typ.as_str(), format) {
            ("counter", Format::OpenMetrics) => &["_total", "_created"],
            ("histogram", _) => &["_bucket", "_sum", "_count", "_created"],
            _ => &[""],
        };
        assert!(
            allowed.contains(&suffix),
            "{sample_name} in {typ} family {name}"
        );
        assert!(
            value == "NaN" || value == "+Inf" || value == "-Inf" || value.parse::<f64>().is_ok(),
            "bad value {value:?}"
        );
        if typ == "histogram" {
            let labels_without_le = |s: &str| {
                let labels = s
                    .split_once('{')
                    .map_or("", |(_, l)| l.trim_end_matches('}'));
                labels
                    .split(',')
                    .filter(|l| !l.starts_with("le=") && !l.is_empty())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let key = labels_without_le(series);
            match suffix {
                "_bucket" => {
                    let le = series
                        .split("le=\"")
                        .nth(1)
                        .unwrap()
                        .split('"')
                        .next()
                        .unwrap();
                    let le = if le == "+Inf" {
                        f64::INFINITY
                    } else {
                        le.parse().unwrap()
                    };
                    let count: u64 = value.parse().expect("bucket counts are integers");
                    if let Some((last_key, last_le, last_count)) = &last_bucket {
                        if *last_key == key && last_le.is_finite() {
                            assert!(le > *last_le, "le not increasing: {series}");
                            assert!(count >= *last_count, "buckets not cumulative: {series}");
                        }
                    }
                    last_bucket = Some((key, le, count));
                }
                "_count" => {
                    let (last_key, last_le, last_count) =
                        last_bucket.clone().expect("buckets first");
                    assert_eq!(last_key, key);
                    assert!(last_le.is_infinite(), "last bucket is +Inf");
                    assert_eq!(
                        value.parse::<u64>().unwrap(),
                        last_count,
                        "+Inf bucket == _count"
                    );
                }
                _ => {}
            }
        }
    }
}
