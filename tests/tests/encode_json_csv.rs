//! The JSON and CSV formats through the public API: arbitrary Unicode and
//! control characters in labels and help read back to the same text and
//! values (JSON with `serde_json`, CSV with a strict RFC 4180 reader here and,
//! in an ignored test, Python's `csv` module), and `render` of real metrics.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::time::{Duration, UNIX_EPOCH};

use proptest::prelude::*;
use serde_json::Value as Json;
use telltale::snapshot::{MetricFamily, MetricKind, Series, Snapshot, Value};
use telltale::Format;

const AT_MS: u64 = 1_700_000_000_123;

fn encode(snapshot: &Snapshot, format: Format) -> String {
    let mut out = String::new();
    let at = UNIX_EPOCH + Duration::from_millis(AT_MS);
    telltale::encode::encode_at(snapshot, format, at, &mut out);
    out
}

/// A strict RFC 4180 reader: every row ends in CR LF, quotes only around
/// whole fields, `""` inside them.
fn read_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut closed = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if field.is_empty() && !closed => {
                loop {
                    match chars.next() {
                        None => return Err("unterminated quoted field".into()),
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(c) => field.push(c),
                    }
                }
                closed = true;
            }
            ',' => {
                row.push(std::mem::take(&mut field));
                closed = false;
            }
            '\r' => {
                if chars.next() != Some('\n') {
                    return Err("CR without LF outside quotes".into());
                }
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                closed = false;
            }
            c if closed || c == '"' || c == '\n' => {
                return Err(format!("unexpected {c:?} in an unquoted field"))
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        return Err("last row not ended by CR LF".into());
    }
    Ok(rows)
}

/// Reads the `labels` column: `k="v",...` with `\\`, `\"`, `\n` escapes.
fn read_labels(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut labels = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let eq = rest.find("=\"").ok_or("label without =\"")?;
        let name = rest[..eq].to_owned();
        let mut value = String::new();
        let mut chars = rest[eq + 2..].char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("unterminated label value".into()),
                Some((i, '"')) => break eq + 2 + i + 1,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    other => return Err(format!("bad escape {other:?}")),
                },
                Some((_, c)) => value.push(c),
            }
        };
        labels.push((name, value));
        rest = &rest[end..];
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
            if rest.is_empty() {
                return Err("trailing comma".into());
            }
        } else if !rest.is_empty() {
            return Err(format!("junk after a label: {rest:?}"));
        }
    }
    Ok(labels)
}

/// A number as JSON writes it: a number, or one of three strings.
fn json_number(value: &Json) -> Option<f64> {
    match value {
        Json::Number(n) => n.as_f64(),
        Json::String(s) if s == "NaN" => Some(f64::NAN),
        Json::String(s) if s == "+Inf" => Some(f64::INFINITY),
        Json::String(s) if s == "-Inf" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// A number as CSV writes it.
fn csv_number(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()) || (a == 0.0 && b == 0.0)
}

/// Gauges named `g`, one series per `(labels, value)`, with `help`.
fn gauges(help: String, series: Vec<(Vec<(String, String)>, f64)>) -> Snapshot {
    Snapshot {
        families: vec![MetricFamily {
            name: Cow::Borrowed("g"),
            help: Cow::Owned(help),
            unit: None,
            kind: MetricKind::Gauge,
            series: series
                .into_iter()
                .map(|(labels, value)| Series {
                    labels: labels
                        .into_iter()
                        .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)))
                        .collect(),
                    value: Value::Gauge(value),
                    created: Some(1_600_000_000.5),
                })
                .collect(),
        }],
    }
}

/// Text that favours what encoders get wrong: quotes, backslashes, commas,
/// CR, LF, other control characters, non-ASCII, as well as anything else.
fn nasty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(
            prop_oneof![
                Just('"'),
                Just('\\'),
                Just(','),
                Just('\r'),
                Just('\n'),
                Just('\t'),
                Just('\u{0}'),
                Just('\u{1f}'),
                Just('\u{7f}'),
                Just('='),
                Just('ü'),
                Just('\u{2028}'),
                Just('☃'),
                Just('\u{1F600}'),
                any::<char>(),
            ],
            0..12,
        )
        .prop_map(|chars| chars.into_iter().collect()),
    ]
}

fn value_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(1e-5),
        Just(1.5e21),
        // Subnormals: the smallest, and one whose shortest text has 15 digits.
        Just(5e-324),
        Just(1.925_032_515_608_71e-309),
    ]
}

fn series_strategy() -> impl Strategy<Value = Vec<(Vec<(String, String)>, f64)>> {
    proptest::collection::vec(
        (
            proptest::collection::vec(("[a-zA-Z_][a-zA-Z0-9_]{0,6}", nasty_text()), 0..4),
            value_strategy(),
        ),
        1..5,
    )
    .prop_map(|mut all| {
        // Label names unique within a series, as snapshots guarantee.
        for (labels, _) in &mut all {
            let mut seen = std::collections::HashSet::new();
            labels.retain(|(k, _)| seen.insert(k.clone()));
        }
        all
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn json_reads_back_to_the_same_labels_help_and_values(
        help in nasty_text(),
        series in series_strategy(),
    ) {
        let snapshot = gauges(help.clone(), series.clone());
        let text = encode(&snapshot, Format::Json);
        let doc: Json = serde_json::from_str(&text)
            .map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
        prop_assert_eq!(&doc["schema"], &Json::from(1));
        prop_assert_eq!(&doc["timestamp_ms"], &Json::from(AT_MS));
        let family = &doc["families"][0];
        prop_assert_eq!(family["help"].as_str(), Some(help.as_str()));
        prop_assert_eq!(family["type"].as_str(), Some("gauge"));
        let written = family["series"].as_array().unwrap();
        prop_assert_eq!(written.len(), series.len());
        for ((labels, value), got) in series.iter().zip(written) {
            let got_labels: Vec<(String, String)> = got["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            // serde_json's map is sorted by key; compare as sets of pairs.
            let mut want = labels.clone();
            want.sort();
            let mut have = got_labels;
            have.sort();
            prop_assert_eq!(have, want);
            let back = json_number(&got["value"]).unwrap();
            prop_assert!(same(back, *value), "{} read back as {}", value, back);
            prop_assert_eq!(got["created"].as_f64(), Some(1_600_000_000.5));
        }
    }

    #[test]
    fn csv_reads_back_to_the_same_labels_help_and_values(
        help in nasty_text(),
        series in series_strategy(),
    ) {
        let snapshot = gauges(help.clone(), series.clone());
        let text = encode(&snapshot, Format::Csv);
        let rows = read_csv(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text:?}")))?;
        prop_assert_eq!(rows.len(), series.len() + 1);
        prop_assert_eq!(rows[0].join(","), telltale::encode::csv::HEADER);
        for ((labels, value), row) in series.iter().zip(&rows[1..]) {
            prop_assert_eq!(row.len(), 18);
            prop_assert_eq!(&row[0], &AT_MS.to_string());
            prop_assert_eq!(&row[1], "g");
            prop_assert_eq!(&row[2], "gauge");
            prop_assert_eq!(&row[4], &help);
            let got = read_labels(&row[5]).map_err(|e| TestCaseError::fail(format!("{e}: {:?}", row[5])))?;
            prop_assert_eq!(&got, labels);
            let back = csv_number(&row[6]).unwrap();
            prop_assert!(same(back, *value), "{} read back as {}", value, back);
            prop_assert!(row[7..16].iter().all(String::is_empty));
            prop_assert_eq!(&row[16], "1600000000.5");
        }
    }
}

static SIZES: telltale::Histogram =
    telltale::Histogram::new("encode_json_csv_size_bytes", "Sizes.")
        .with_buckets(&[100.0, 1_000.0]);

#[test]
fn rendering_real_metrics_as_json_and_csv() {
    let jobs = telltale::dynamic::counter("encode_json_csv_jobs_total")
        .help("Jobs, by \"queue\".")
        .required_labels(["queue"])
        .register()
        .unwrap();
    jobs.labels([("queue", "a,b\n\"c\"")]).inc_by(3).unwrap();
    for v in [50.0, 500.0, 5_000.0, 700.0] {
        SIZES.observe(v);
    }

    let doc: Json = serde_json::from_str(&telltale::render(Format::Json)).unwrap();
    let family = |name: &str| {
        doc["families"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no family {name}"))
    };
    let jobs_family = family("encode_json_csv_jobs");
    assert_eq!(jobs_family["type"], "counter");
    assert_eq!(jobs_family["help"], "Jobs, by \"queue\".");
    let series = &jobs_family["series"][0];
    assert_eq!(series["labels"]["queue"], "a,b\n\"c\"");
    assert_eq!(series["value"], 3);
    assert!(series["created"].as_f64().unwrap() > 1.6e9);

    let sizes = family("encode_json_csv_size_bytes");
    assert_eq!(sizes["unit"], "bytes");
    let series = &sizes["series"][0];
    assert_eq!(series["count"], 4);
    assert_eq!(series["sum"], 6_250.0);
    assert_eq!(
        series["buckets"],
        serde_json::json!([
            {"le": 100, "count": 1},
            {"le": 1000, "count": 3},
            {"le": "+Inf", "count": 4},
        ])
    );
    // Nearest rank of 4: p50 is the 2nd smallest (500), p90 and up the largest.
    let p50 = series["quantiles"]["p50"].as_f64().unwrap();
    assert!((p50 / 500.0 - 1.0).abs() < 0.011, "{p50}");
    let p99 = series["quantiles"]["p99"].as_f64().unwrap();
    assert!((p99 / 5_000.0 - 1.0).abs() < 0.011, "{p99}");

    let csv = telltale::render(Format::Csv);
    let rows = read_csv(&csv).unwrap();
    let header = &rows[0];
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = rows
        .iter()
        .find(|row| row[column("name")] == "encode_json_csv_jobs")
        .unwrap();
    assert_eq!(row[column("labels")], "queue=\"a,b\\n\\\"c\\\"\"");
    assert_eq!(row[column("value")], "3");
    let row = rows
        .iter()
        .find(|row| row[column("name")] == "encode_json_csv_size_bytes")
        .unwrap();
    assert_eq!(row[column("unit")], "bytes");
    assert_eq!(row[column("count")], "4");
    assert_eq!(row[column("sum")], "6250");
    assert_eq!(row[column("value")], "");
    let p999: f64 = row[column("p999")].parse().unwrap();
    assert!((p999 / 5_000.0 - 1.0).abs() < 0.011, "{p999}");
}

#[test]
fn prometheus_still_negotiates_openmetrics_and_browsers_text() {
    let prometheus = "application/openmetrics-text;version=1.0.0,\
                      application/openmetrics-text;version=0.0.1;q=0.75,\
                      text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    assert_eq!(Format::negotiate(Some(prometheus)), Format::OpenMetrics);
    assert_eq!(Format::negotiate(Some("*/*")), Format::Prometheus);
    assert_eq!(Format::negotiate(Some("application/json")), Format::Json);
    assert_eq!(
        Format::negotiate(Some("text/csv;q=0.9,*/*;q=0.1")),
        Format::Csv
    );
    assert_eq!(Format::from_name("json"), Some(Format::Json));
}

/// Python's `csv` module (the reader spreadsheets and scripts use) reads
/// the same fields back.
#[test]
#[ignore = "needs python3"]
fn python_csv_module_reads_the_same_fields() {
    let series = vec![
        (
            vec![
                ("a".to_owned(), "x,y\r\nz\"".to_owned()),
                ("b".to_owned(), "\u{0}\u{1f}ü☃\\".to_owned()),
            ],
            1.5,
        ),
        (vec![], f64::NAN),
        (vec![("c".to_owned(), "=1+2".to_owned())], -1e-5),
    ];
    let help = "Help, with \"quotes\"\nand lines\r\n.".to_owned();
    let text = encode(&gauges(help.clone(), series.clone()), Format::Csv);
    let script = "import csv, io, json, sys\n\
                  data = sys.stdin.buffer.read().decode('utf-8')\n\
                  rows = list(csv.reader(io.StringIO(data, newline=''), strict=True))\n\
                  print(json.dumps(rows))\n";
    let python = telltale_tests::python_binary();
    let output = telltale_tests::run_with_stdin(
        &python,
        &[OsStr::new("-c"), OsStr::new(script)],
        text.as_bytes(),
        telltale_tests::START_TIMEOUT,
    );
    assert!(
        output.status.success(),
        "{}",
        telltale_tests::describe_output("python csv", &output)
    );
    let rows: Vec<Vec<String>> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(rows, read_csv(&text).unwrap());
    assert_eq!(rows.len(), 4);
    for ((labels, value), row) in series.iter().zip(&rows[1..]) {
        assert_eq!(row[4], help);
        assert_eq!(&read_labels(&row[5]).unwrap(), labels);
        assert!(same(csv_number(&row[6]).unwrap(), *value));
    }
}

#[derive(telltale::LabelSet)]
struct Lane {
    lane: String,
}

static DECLARED_JOBS: telltale::Counter =
    telltale::Counter::new("encode_declared_jobs_total", "Jobs.");
static DECLARED_DEPTH: telltale::Gauge = telltale::Gauge::new("encode_declared_depth", "Depth.");
static DECLARED_LATENCY: telltale::Family<Lane, telltale::Histogram> =
    telltale::Family::new("encode_declared_latency_seconds", "Latency.");

/// The name a metric is declared with is found in every format: in the text
/// formats on its samples, in JSON and CSV as `sample_name` beside the
/// family name (a counter's without `_total`). A family of histograms (an
/// `f64` store) has its exact `min` and `max`, and quantiles within them.
#[test]
fn a_declared_name_is_found_in_every_format() {
    DECLARED_JOBS.inc();
    DECLARED_DEPTH.set(2.0);
    let lane = DECLARED_LATENCY.labels(Lane { lane: "a".into() });
    lane.observe(1.5);
    let declared = [
        ("encode_declared_jobs_total", "encode_declared_jobs"),
        ("encode_declared_depth", "encode_declared_depth"),
        (
            "encode_declared_latency_seconds",
            "encode_declared_latency_seconds",
        ),
    ];
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let text = telltale::render(format);
        for (name, _) in declared {
            assert!(
                text.lines().any(|l| l.starts_with(name)),
                "{name} in {format:?}\n{text}"
            );
        }
    }
    let doc: Json = serde_json::from_str(&telltale::render(Format::Json)).unwrap();
    let csv = telltale::render(Format::Csv);
    let rows = read_csv(&csv).unwrap();
    let column = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    for (name, family) in declared {
        let found: Vec<&Json> = doc["families"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["sample_name"] == name)
            .collect();
        assert_eq!(found.len(), 1, "{name} in JSON");
        assert_eq!(found[0]["name"], family);
        let row = rows
            .iter()
            .find(|row| row[column("sample_name")] == name)
            .unwrap_or_else(|| panic!("{name} in CSV"));
        assert_eq!(row[column("name")], family);
    }
    let latency = doc["families"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "encode_declared_latency_seconds")
        .unwrap();
    let series = &latency["series"][0];
    assert_eq!((&series["min"], &series["max"]), (&1.5.into(), &1.5.into()));
    for q in ["p50", "p90", "p95", "p99", "p999"] {
        assert_eq!(series["quantiles"][q], 1.5, "{q}");
    }
    let row = rows
        .iter()
        .find(|row| row[column("name")] == "encode_declared_latency_seconds")
        .unwrap();
    assert_eq!(
        (row[column("min")].as_str(), row[column("p50")].as_str()),
        ("1.5", "1.5")
    );
}
