//! The OpenMetrics parser conformance suite against `telltale::parse::openmetrics`.
//!
//! The suite (211 cases from the OpenMetrics project, see its README) is not
//! part of the repository: `$TELLTALE_OPENMETRICS_SUITE` names its folder
//! (the one holding `cases/`), else `../shared/conformance/openmetrics`
//! beside the clone is used. The tests that read it are ignored in the plain
//! `cargo test --workspace`, and fail, not skip, when it is missing in a run
//! that includes them (`.ci/run` runs them with the suite's path). Each case
//! folder holds `metrics` (the exposition) and `test.json` (`shouldParse`).
//! Every case must come out as the suite says: none is skipped. The
//! project's own cases (`conformance_own.rs`) cover the same rules without
//! the suite.

#![allow(clippy::float_cmp)] // parsed values are compared with the exact values written

use std::fs;
use std::path::{Path, PathBuf};

/// How many cases the suite has, and how many of them should parse.
const CASES: usize = 211;
const SHOULD_PARSE: usize = 44;

/// The suite's `cases` folder.
fn suite() -> PathBuf {
    let root = std::env::var_os("TELLTALE_OPENMETRICS_SUITE")
        .filter(|path| !path.is_empty())
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/openmetrics"),
            PathBuf::from,
        );
    let cases = root.join("cases");
    assert!(
        cases.is_dir(),
        "the OpenMetrics conformance suite is not at {} (set \
         TELLTALE_OPENMETRICS_SUITE to the folder holding `cases/`)",
        cases.display()
    );
    cases
}

struct Case {
    name: String,
    text: Result<String, String>,
    should_parse: bool,
}

fn cases() -> Vec<Case> {
    let mut cases: Vec<Case> = fs::read_dir(suite())
        .expect("read the suite")
        .map(|entry| {
            let dir = entry.expect("suite entry").path();
            let name = dir
                .file_name()
                .expect("case name")
                .to_string_lossy()
                .into_owned();
            let spec: serde_json::Value = serde_json::from_slice(
                &fs::read(dir.join("test.json"))
                    .unwrap_or_else(|e| panic!("{name}/test.json: {e}")),
            )
            .unwrap_or_else(|e| panic!("{name}/test.json: {e}"));
            assert_eq!(spec["type"], "text", "{name}: only text cases exist");
            let file = spec["file"].as_str().expect("`file` in test.json");
            let should_parse = spec["shouldParse"]
                .as_bool()
                .expect("`shouldParse` in test.json");
            let bytes = fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{name}/{file}: {e}"));
            // A text that is not UTF-8 cannot be an exposition; the parser
            // takes `&str`, so such a case counts as rejected.
            let text = String::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"));
            Case {
                name,
                text,
                should_parse,
            }
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// What the parser says about a case: `Ok` with the number of families, or
/// the error.
fn verdict(case: &Case) -> Result<usize, String> {
    let text = case.text.as_deref().map_err(Clone::clone)?;
    telltale::parse::openmetrics(text)
        .map(|families| families.len())
        .map_err(|e| e.to_string())
}

#[test]
#[ignore = "needs the OpenMetrics suite: set TELLTALE_OPENMETRICS_SUITE"]
fn every_case_of_the_suite_is_accepted_or_rejected_as_it_says() {
    let cases = cases();
    assert_eq!(cases.len(), CASES, "the suite should have {CASES} cases");
    assert_eq!(
        cases.iter().filter(|c| c.should_parse).count(),
        SHOULD_PARSE,
        "the suite should have {SHOULD_PARSE} cases that parse"
    );
    let mut wrong = Vec::new();
    for case in &cases {
        match (verdict(case), case.should_parse) {
            (Ok(_), true) | (Err(_), false) => {}
            (Ok(families), false) => wrong.push(format!(
                "{}: accepted ({families} families) but should be rejected",
                case.name
            )),
            (Err(error), true) => {
                wrong.push(format!("{}: rejected but should parse: {error}", case.name));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {CASES} cases disagree with the suite:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Rejections for the right reason: a sample of cases with the line and a
/// piece of the message each must give.
#[test]
#[ignore = "needs the OpenMetrics suite: set TELLTALE_OPENMETRICS_SUITE"]
fn rejections_name_the_line_and_the_problem() {
    let expected: &[(&str, usize, &str)] = &[
        ("bad_blank_line", 2, "blank line"),
        ("bad_no_eof", 1, "missing `# EOF`"),
        ("bad_text_after_eof_0", 3, "text after `# EOF`"),
        ("bad_text_after_eof_1", 2, "`# EOF` must be alone"),
        ("bad_clashing_names_0", 2, "second `# TYPE`"),
        ("bad_clashing_names_2", 2, "`a_created`"),
        ("bad_counter_values_1", 2, "must not be NaN or negative"),
        ("bad_counter_values_9", 4, "below zero"),
        ("bad_histograms_0", 2, "no `le=\"+Inf\"` bucket"),
        ("bad_histograms_1", 3, "`a_sum` without `a_count`"),
        ("bad_histograms_9", 3, "`le` values must increase"),
        ("bad_histograms_10", 4, "must not decrease"),
        (
            "bad_histograms_11",
            3,
            "`a_count` is 1 but the `+Inf` bucket is 0",
        ),
        ("bad_histograms_12", 2, "`+Inf`"),
        ("bad_grouping_or_ordering_0", 2, "no `le=\"+Inf\"` bucket"),
        ("bad_grouping_or_ordering_4", 3, "goes back"),
        ("bad_grouping_or_ordering_9", 3, "timestamp"),
        ("bad_metadata_in_wrong_place_0", 3, "after its samples"),
        ("bad_unit_4", 1, "not the suffix"),
        ("bad_unit_6", 2, "cannot have a unit"),
        ("bad_type_7", 1, "`untyped` is the 0.0.4 type"),
        ("bad_exemplars_6", 2, "at most 128"),
        (
            "bad_exemplars_on_unallowed_metric_types_0",
            2,
            "exemplar on `a`",
        ),
        ("bad_invalid_labels_2", 1, "appears twice"),
        (
            "bad_missing_or_extra_commas_2",
            1,
            "must not end with a comma",
        ),
        (
            "bad_missing_or_invalid_labels_for_a_type_3",
            2,
            "`quantile`",
        ),
        ("bad_missing_or_invalid_labels_for_a_type_7", 2, "stateset"),
        ("bad_info_and_stateset_values_0", 2, "an info sample is 1"),
        ("bad_stateset_info_values_1", 2, "family `a` appears again"),
        ("bad_timestamp_4", 1, "invalid timestamp"),
        ("bad_value_5", 1, "invalid value"),
    ];
    let cases = cases();
    let mut wrong = Vec::new();
    for &(name, line, fragment) in expected {
        let case = cases
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no case {name}"));
        let text = case.text.as_deref().expect("UTF-8");
        match telltale::parse::openmetrics(text) {
            Ok(_) => wrong.push(format!("{name}: accepted")),
            Err(e) if e.line() != line || !e.message().contains(fragment) => wrong.push(format!(
                "{name}: `{e}`; expected line {line} and `{fragment}`"
            )),
            Err(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// What the accepted cases parse to, for a few of them.
#[test]
#[ignore = "needs the OpenMetrics suite: set TELLTALE_OPENMETRICS_SUITE"]
fn accepted_cases_parse_to_what_they_say() {
    use telltale::parse::FamilyKind;

    let cases = cases();
    let parse = |name: &str| {
        let case = cases.iter().find(|c| c.name == name).expect("case");
        telltale::parse::openmetrics(case.text.as_deref().expect("UTF-8"))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };

    let families = parse("escaping");
    assert_eq!(families[0].help.as_deref(), Some("he\n\\l\\tp"));
    let values: Vec<&str> = families[0]
        .samples
        .iter()
        .map(|s| s.label("foo").unwrap())
        .collect();
    assert_eq!(values, ["b\"a\nr", "b\\a\\z", "b\"a\nr # ", "b\\a\\z # "]);

    let families = parse("help_escaping");
    let helps: Vec<&str> = families
        .iter()
        .map(|f| f.help.as_deref().unwrap())
        .collect();
    assert_eq!(
        helps,
        ["foo", "\\foo", "\\foo", "foo\\", "\\", "\n", "\\n", "\\\n", "\"", "\\\""]
    );

    let families = parse("counter_unit");
    assert_eq!(families[0].name, "cc_seconds");
    assert_eq!(families[0].kind, FamilyKind::Counter);
    assert_eq!(families[0].unit.as_deref(), Some("seconds"));
    assert_eq!(families[0].samples.len(), 2);

    let families = parse("histogram_exemplars");
    let exemplar = families[0].samples[2].exemplar.as_ref().expect("exemplar");
    assert_eq!(exemplar.value, 4.0);
    assert_eq!(exemplar.timestamp, Some(123.0));
    assert_eq!(exemplar.labels[0].1.chars().count(), 127);

    let families = parse("timestamps");
    let stamps: Vec<Option<f64>> = families[0].samples.iter().map(|s| s.timestamp).collect();
    assert_eq!(
        stamps,
        [
            Some(0.0),
            Some(0.0),
            Some(1.1),
            Some(12_345_678_901_234_567_890.123_456_789),
            Some(1500.0)
        ]
    );

    let families = parse("roundtrip");
    let kinds: Vec<(&str, FamilyKind)> =
        families.iter().map(|f| (f.name.as_str(), f.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("go_gc_duration_seconds", FamilyKind::Summary),
            ("go_goroutines", FamilyKind::Gauge),
            (
                "prometheus_local_storage_indexing_batch_duration_milliseconds",
                FamilyKind::Summary
            ),
            ("process_cpu_seconds", FamilyKind::Counter),
            ("process_virtual_memory_bytes", FamilyKind::Gauge),
            ("prometheus_build_info", FamilyKind::Gauge),
            ("prometheus_local_storage_chunk_ops", FamilyKind::Counter),
            ("foo", FamilyKind::Histogram),
            ("bar", FamilyKind::Histogram),
        ]
    );
    let null = parse("null_byte");
    assert_eq!(null[0].help.as_deref(), Some("he\0lp"));
}

/// telltale's own exposition of a running service (the demo, after some
/// calls) is valid OpenMetrics by the parser the suite vouches for, and
/// valid 0.0.4; both formats carry the same series.
#[test]
fn the_demo_exposition_parses_in_both_formats() {
    use std::collections::BTreeMap;
    use telltale::parse::FamilyKind;
    use telltale::{Format, Snapshot};

    telltale_examples::quiet_demo_panics();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(telltale_examples::drive(Some(60)));
    let snapshot = Snapshot::collect();
    let mut openmetrics = String::new();
    telltale::encode::encode(&snapshot, Format::OpenMetrics, &mut openmetrics);
    let mut prometheus = String::new();
    telltale::encode::encode(&snapshot, Format::Prometheus, &mut prometheus);

    let om = telltale::parse::openmetrics(&openmetrics)
        .unwrap_or_else(|e| panic!("OpenMetrics: {e}\n{openmetrics}"));
    let prom = telltale::parse::prometheus(&prometheus)
        .unwrap_or_else(|e| panic!("0.0.4: {e}\n{prometheus}"));

    // Calls by outcome: the same label sets and totals in both.
    let totals = |families: &[telltale::parse::ParsedFamily], family: &str| {
        let family = families
            .iter()
            .find(|f| f.name == family)
            .unwrap_or_else(|| panic!("no family `{family}`"));
        assert_eq!(family.kind, FamilyKind::Counter);
        family
            .samples_named("function_calls_total")
            .map(|s| (s.labels.clone(), s.value))
            .collect::<BTreeMap<_, _>>()
    };
    let om_totals = totals(&om, "function_calls");
    assert!(!om_totals.is_empty());
    assert_eq!(om_totals, totals(&prom, "function_calls_total"));
    // And one family per snapshot family in each.
    assert_eq!(om.len(), snapshot.families.len());
    assert_eq!(prom.len(), snapshot.families.len());
}
