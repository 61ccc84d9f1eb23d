//! The parsers' own tests; the OpenMetrics conformance suite runs in
//! `tests/tests/conformance.rs`.

#![allow(clippy::float_cmp)] // parsed values are compared with the exact values written

use super::types::{FamilyKind, ParsedExemplar, ParsedFamily, ParsedSample};
use super::{openmetrics, prometheus};

fn sample(name: &str, labels: &[(&str, &str)], value: f64) -> ParsedSample {
    ParsedSample {
        name: name.into(),
        labels: labels.iter().map(|&(k, v)| (k.into(), v.into())).collect(),
        value,
        timestamp: None,
        exemplar: None,
    }
}

fn family(
    name: &str,
    kind: FamilyKind,
    help: Option<&str>,
    samples: Vec<ParsedSample>,
) -> ParsedFamily {
    ParsedFamily {
        name: name.into(),
        kind,
        help: help.map(Into::into),
        unit: None,
        samples,
    }
}

/// The error of an OpenMetrics text that must not parse: `line: message`.
fn om_error(text: &str) -> String {
    match openmetrics(text) {
        Ok(families) => panic!("accepted: {text:?}\n{families:#?}"),
        Err(e) => e.to_string(),
    }
}

/// The error of a 0.0.4 text that must not parse.
fn prom_error(text: &str) -> String {
    match prometheus(text) {
        Ok(families) => panic!("accepted: {text:?}\n{families:#?}"),
        Err(e) => e.to_string(),
    }
}

fn assert_contains(error: &str, fragment: &str) {
    assert!(error.contains(fragment), "`{error}` lacks `{fragment}`");
}

// ------------------------------------------------------------ OpenMetrics

#[test]
fn openmetrics_families_of_every_kind() {
    let text = "\
# TYPE calls counter
# HELP calls Calls, by \\\"result\\\".
calls_total{result=\"ok\"} 3 # {trace_id=\"abc\"} 0.5 1700000000.5
calls_created{result=\"ok\"} 1700000000
# TYPE temperature_celsius gauge
# UNIT temperature_celsius celsius
temperature_celsius -3.5
# TYPE latency_seconds histogram
latency_seconds_bucket{le=\"0.5\"} 1
latency_seconds_bucket{le=\"+Inf\"} 2
latency_seconds_count 2
latency_seconds_sum 1.25
# TYPE rpc summary
rpc{quantile=\"0.5\"} NaN
rpc_count 0
rpc_sum 0
# TYPE build info
build_info{version=\"1.0\"} 1
# TYPE mode stateset
mode{mode=\"a\"} 1
mode{mode=\"b\"} 0
# TYPE queue gaugehistogram
queue_bucket{le=\"-1\"} 1
queue_bucket{le=\"+Inf\"} 1
queue_gcount 1
queue_gsum -2
other{x=\"\u{2603}\\n\"} +Inf
# EOF
";
    let families = openmetrics(text).unwrap();
    let mut calls = family(
        "calls",
        FamilyKind::Counter,
        Some("Calls, by \"result\"."),
        vec![
            sample("calls_total", &[("result", "ok")], 3.0),
            sample("calls_created", &[("result", "ok")], 1_700_000_000.0),
        ],
    );
    calls.samples[0].exemplar = Some(ParsedExemplar {
        labels: vec![("trace_id".into(), "abc".into())],
        value: 0.5,
        timestamp: Some(1_700_000_000.5),
    });
    let mut temperature = family(
        "temperature_celsius",
        FamilyKind::Gauge,
        None,
        vec![sample("temperature_celsius", &[], -3.5)],
    );
    temperature.unit = Some("celsius".into());
    let expected = vec![
        calls,
        temperature,
        family(
            "latency_seconds",
            FamilyKind::Histogram,
            None,
            vec![
                sample("latency_seconds_bucket", &[("le", "0.5")], 1.0),
                sample("latency_seconds_bucket", &[("le", "+Inf")], 2.0),
                sample("latency_seconds_count", &[], 2.0),
                sample("latency_seconds_sum", &[], 1.25),
            ],
        ),
        family(
            "rpc",
            FamilyKind::Summary,
            None,
            vec![
                sample("rpc", &[("quantile", "0.5")], f64::NAN),
                sample("rpc_count", &[], 0.0),
                sample("rpc_sum", &[], 0.0),
            ],
        ),
        family(
            "build",
            FamilyKind::Info,
            None,
            vec![sample("build_info", &[("version", "1.0")], 1.0)],
        ),
        family(
            "mode",
            FamilyKind::StateSet,
            None,
            vec![
                sample("mode", &[("mode", "a")], 1.0),
                sample("mode", &[("mode", "b")], 0.0),
            ],
        ),
        family(
            "queue",
            FamilyKind::GaugeHistogram,
            None,
            vec![
                sample("queue_bucket", &[("le", "-1")], 1.0),
                sample("queue_bucket", &[("le", "+Inf")], 1.0),
                sample("queue_gcount", &[], 1.0),
                sample("queue_gsum", &[], -2.0),
            ],
        ),
        family(
            "other",
            FamilyKind::Unknown,
            None,
            vec![sample("other", &[("x", "\u{2603}\n")], f64::INFINITY)],
        ),
    ];
    // NaN != NaN: compare the quantile apart.
    assert!(families[3].samples[0].value.is_nan());
    let mut families = families;
    families[3].samples[0].value = 0.0;
    let mut expected = expected;
    expected[3].samples[0].value = 0.0;
    assert_eq!(families, expected);
}

#[test]
fn openmetrics_framing() {
    assert_eq!(
        om_error(""),
        "line 1: missing `# EOF` at the end of the text"
    );
    assert!(openmetrics("# EOF").unwrap().is_empty());
    assert!(openmetrics("# EOF\n").unwrap().is_empty());
    assert_contains(&om_error("# EOF\n\n"), "line 2: text after `# EOF`");
    assert_contains(&om_error("a 1\r\n# EOF\n"), "line 1: invalid value `1\\r`");
    assert_contains(&om_error("a 1\n# EOF\r\n"), "line 2: `# EOF` must be alone");
    assert_contains(
        &om_error("a 1\n \n# EOF\n"),
        "line 2: expected a metric name",
    );
    assert_contains(&om_error("# a comment\n# EOF\n"), "not a metadata line");
}

#[test]
fn openmetrics_values_and_numbers() {
    let values: Vec<f64> = openmetrics(
        "a{i=\"1\"} Infinity\na{i=\"2\"} -inf\na{i=\"3\"} .5\na{i=\"4\"} 1.\na{i=\"5\"} 1E3\n# EOF\n",
    )
    .unwrap()[0]
        .samples
        .iter()
        .map(|s| s.value)
        .collect();
    assert_eq!(values, [f64::INFINITY, f64::NEG_INFINITY, 0.5, 1.0, 1000.0]);
    assert_contains(&om_error("a -NaN\n# EOF\n"), "invalid value `-NaN`");
    assert_contains(&om_error("a 1 1e400\n# EOF\n"), "invalid timestamp `1e400`");
    // A counter total may be +Inf.
    openmetrics("# TYPE c counter\nc_total +Inf\n# EOF\n").unwrap();
    assert_contains(
        &om_error("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1.5\nh_count 1.5\nh_sum 1\n# EOF\n"),
        "whole number",
    );
}

#[test]
fn openmetrics_series_appear_once_unless_timestamped() {
    assert_contains(
        &om_error("# TYPE a gauge\na 1\na 2\n# EOF\n"),
        "line 3: duplicate series `a`",
    );
    assert_contains(
        &om_error("a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 1\n# EOF\n"),
        "line 2: duplicate series",
    );
    assert_contains(
        &om_error("a{x=\"1\"} 1\na{x=\"2\"} 1\na{x=\"1\"} 1\n# EOF\n"),
        "line 3: the samples of `a{x=\"1\"}` are not together: its metric began on line 1",
    );
    // Data points of one metric, with increasing timestamps.
    let families = openmetrics(
        "# TYPE h histogram\n\
         h_bucket{le=\"1\"} 0 10\nh_bucket{le=\"+Inf\"} 1 10\nh_count 1 10\nh_sum 2 10\n\
         h_bucket{le=\"1\"} 1 20\nh_bucket{le=\"+Inf\"} 3 20\nh_count 3 20\nh_sum 5 20\n\
         # EOF\n",
    )
    .unwrap();
    assert_eq!(families[0].samples.len(), 8);
    // Each data point is checked on its own.
    assert_contains(
        &om_error(
            "# TYPE h histogram\n\
             h_bucket{le=\"1\"} 0 10\nh_bucket{le=\"+Inf\"} 1 10\n\
             h_bucket{le=\"1\"} 1 20\n\
             # EOF\n",
        ),
        "line 4: histogram `h` has no `le=\"+Inf\"` bucket",
    );
}

#[test]
fn openmetrics_families_are_contiguous_and_do_not_clash() {
    assert_contains(
        &om_error("# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n# EOF\n"),
        "line 5: family `a` appears again after other lines (it began on line 1)",
    );
    assert_contains(
        &om_error("# TYPE a counter\na_total 1\n# TYPE a_total gauge\n# EOF\n"),
        "line 3: `a_total` clashes with the samples of family `a` (line 1)",
    );
    assert_contains(
        &om_error("# TYPE a histogram\n# TYPE a_count gauge\n# EOF\n"),
        "line 2: `a_count` clashes",
    );
    // A gauge `a` and a gauge `a_total` are different families.
    openmetrics("# TYPE a gauge\na 1\n# TYPE a_total gauge\na_total 1\n# EOF\n").unwrap();
    // A sample a family does not own starts a family of its own.
    let families = openmetrics("# TYPE a counter\na_total 1\na 1\n# EOF\n");
    assert_contains(
        &families.unwrap_err().to_string(),
        "line 3: family `a` appears again",
    );
}

#[test]
fn openmetrics_reserved_labels() {
    assert_contains(
        &om_error("a{__name__=\"b\"} 1\n# EOF\n"),
        "label name `__name__` is reserved",
    );
    assert_contains(
        &om_error(
            "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count{le=\"1\"} 1\nh_sum 1\n# EOF\n",
        ),
        "line 3: `h_count` has an `le` label",
    );
    assert_contains(
        &om_error("# TYPE s summary\ns_sum{quantile=\"1\"} 1\n# EOF\n"),
        "`s_sum` has a `quantile` label",
    );
}

#[test]
fn openmetrics_escapes() {
    let families = openmetrics(
        "# HELP a \\\\ \\\" \\n \\t \"raw\" \\\n\
         a{x=\"\\\\\\\"\\n\\t\",y=\"}, # {\"} 1\n# EOF\n",
    )
    .unwrap();
    assert_eq!(families[0].help.as_deref(), Some("\\ \" \n \\t \"raw\" \\"));
    assert_eq!(families[0].samples[0].label("x"), Some("\\\"\n\\t"));
    assert_eq!(families[0].samples[0].label("y"), Some("}, # {"));
    // The help text keeps its leading blanks.
    let families = openmetrics("# HELP a   three\n# EOF\n").unwrap();
    assert_eq!(families[0].help.as_deref(), Some("  three"));
}

#[test]
fn openmetrics_unit_without_type() {
    let families = openmetrics("# UNIT a_bytes bytes\na_bytes 1\n# EOF\n").unwrap();
    assert_eq!(families[0].unit.as_deref(), Some("bytes"));
    assert_eq!(families[0].kind, FamilyKind::Unknown);
    assert_contains(
        &om_error("# UNIT bytes bytes\n# EOF\n"),
        "not the suffix of the family name `bytes`",
    );
}

// ------------------------------------------------------------------ 0.0.4

#[test]
fn prometheus_families_of_every_kind() {
    let text = "\
# HELP calls_total Calls, \\\\ \"by result\"\\n.
# TYPE calls_total counter
calls_total{result=\"ok\"} 3
calls_total{result=\"error\"} 1 1700000000000

# A comment.
# TYPE latency_seconds histogram
latency_seconds_bucket{le=\"0.5\"} 1
latency_seconds_bucket{le=\"+Inf\"} 2
latency_seconds_sum 1.25
latency_seconds_count 2
# TYPE rpc summary
rpc{quantile=\"0.99\"} 0.1
rpc_sum 3
rpc_count 7
# TYPE odd untyped
odd -Inf
plain 1
";
    let families = prometheus(text).unwrap();
    let mut errors = sample("calls_total", &[("result", "error")], 1.0);
    errors.timestamp = Some(1_700_000_000_000.0);
    assert_eq!(
        families,
        vec![
            family(
                "calls_total",
                FamilyKind::Counter,
                Some("Calls, \\ \"by result\"\n."),
                vec![sample("calls_total", &[("result", "ok")], 3.0), errors],
            ),
            family(
                "latency_seconds",
                FamilyKind::Histogram,
                None,
                vec![
                    sample("latency_seconds_bucket", &[("le", "0.5")], 1.0),
                    sample("latency_seconds_bucket", &[("le", "+Inf")], 2.0),
                    sample("latency_seconds_sum", &[], 1.25),
                    sample("latency_seconds_count", &[], 2.0),
                ],
            ),
            family(
                "rpc",
                FamilyKind::Summary,
                None,
                vec![
                    sample("rpc", &[("quantile", "0.99")], 0.1),
                    sample("rpc_sum", &[], 3.0),
                    sample("rpc_count", &[], 7.0),
                ],
            ),
            family(
                "odd",
                FamilyKind::Unknown,
                None,
                vec![sample("odd", &[], f64::NEG_INFINITY)],
            ),
            family(
                "plain",
                FamilyKind::Unknown,
                None,
                vec![sample("plain", &[], 1.0)],
            ),
        ]
    );
}

#[test]
fn prometheus_layout_is_loose() {
    assert!(prometheus("").unwrap().is_empty());
    assert!(prometheus("\n\n# just comments\n").unwrap().is_empty());
    let families =
        prometheus("  a { x = \"1\" , y=\"2\", }\t 5 \t-12 \n#HELP b  two  words \nb 1\n").unwrap();
    assert_eq!(families[0].samples[0].labels.len(), 2);
    assert_eq!(families[0].samples[0].value, 5.0);
    assert_eq!(families[0].samples[0].timestamp, Some(-12.0));
    // The blanks before a help text are not part of it; those after are.
    assert_eq!(families[1].help.as_deref(), Some("two  words "));
    assert_contains(
        &prom_error("a 1"),
        "line 1: the text must end with a line feed",
    );
    assert_contains(&prom_error("a 1.5 1.5\n"), "invalid timestamp `1.5`");
    assert_contains(
        &prom_error("a{x=\"1\"}2\n"),
        "expected a blank before the value",
    );
    assert_contains(&prom_error("a\n"), "`a` has no value");
    assert_contains(&prom_error("a 1 2 3\n"), "unexpected `3`");
}

#[test]
fn prometheus_escapes_are_strict() {
    assert_contains(
        &prom_error("# HELP a say \\\"hi\\\"\n"),
        "invalid escape sequence `\\\"`",
    );
    assert_contains(
        &prom_error("# HELP a tab\\t\n"),
        "invalid escape sequence `\\t`",
    );
    assert_contains(&prom_error("# HELP a end\\\n"), "lone `\\`");
    assert_contains(
        &prom_error("a{x=\"\\z\"} 1\n"),
        "invalid escape sequence `\\z`",
    );
    let families = prometheus("a{x=\"\\\\\\\"\\n\"} 1\n").unwrap();
    assert_eq!(families[0].samples[0].label("x"), Some("\\\"\n"));
}

#[test]
fn prometheus_metadata_and_grouping_rules() {
    assert_contains(
        &prom_error("# TYPE a gauge\n# TYPE a gauge\n"),
        "line 2: second `# TYPE`",
    );
    assert_contains(
        &prom_error("# HELP a x\n# HELP a y\n"),
        "line 2: second `# HELP`",
    );
    assert_contains(
        &prom_error("a 1\n# TYPE a gauge\n"),
        "line 2: `# TYPE` line for `a` after its samples",
    );
    assert_contains(
        &prom_error("# TYPE a unknown\n"),
        "unknown metric type `unknown`",
    );
    assert_contains(&prom_error("# TYPE a\n"), "`# TYPE a` needs a type");
    assert_contains(&prom_error("# HELP\n"), "`# HELP` needs a metric name");
    assert_contains(
        &prom_error("a 1\nb 1\na 2\n"),
        "line 3: family `a` appears again",
    );
    assert_contains(&prom_error("a 1\na 1\n"), "line 2: duplicate series `a`");
    // Even with timestamps: 0.0.4 has one sample per series.
    assert_contains(&prom_error("a 1 1\na 1 2\n"), "duplicate series");
    assert_contains(
        &prom_error("a{x=\"1\"} 1\na{x=\"2\"} 1\na{x=\"1\"} 1\n"),
        "not together",
    );
    assert_contains(
        &prom_error(
            "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 1\n# TYPE h_sum gauge\n",
        ),
        "line 5: `h_sum` clashes with the samples of family `h` (line 1)",
    );
}

#[test]
fn prometheus_histograms_and_summaries() {
    assert_contains(
        &prom_error("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\n"),
        "line 3: histogram `h` has no `le=\"+Inf\"` bucket",
    );
    assert_contains(
        &prom_error("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 2\n"),
        "line 3: `h_count` is 2 but the `+Inf` bucket is 1",
    );
    assert_contains(
        &prom_error("# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\n"),
        "`le` values must increase",
    );
    assert_contains(
        &prom_error("# TYPE h histogram\nh_bucket{le=\"x\"} 1\n"),
        "`le` must be a number",
    );
    assert_contains(
        &prom_error("# TYPE s summary\ns 1\n"),
        "has no `quantile` label",
    );
    // 0.0.4 spells +Inf as it likes, and has no rule about `_sum` with
    // negative buckets.
    prometheus(
        "# TYPE h histogram\nh_bucket{le=\"-1\"} 0\nh_bucket{le=\"inf\"} 1\nh_sum -3\nh_count 1\n",
    )
    .unwrap();
}
