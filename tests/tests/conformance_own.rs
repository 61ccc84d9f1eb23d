//! The project's own OpenMetrics cases (`telltale_tests::openmetrics_cases`)
//! against `telltale::parse::openmetrics`: one or more for each rule the
//! external suite exercises, so a parser regression is caught by the plain
//! `cargo test --workspace`, with nothing beside the clone.

use std::collections::HashSet;

use telltale_tests::openmetrics_cases::{Expect, CASES};

#[test]
fn case_names_are_unique() {
    let mut seen = HashSet::new();
    for case in CASES {
        assert!(seen.insert(case.name), "two cases are named {}", case.name);
    }
}

#[test]
fn every_own_case_is_accepted_or_rejected_as_it_says() {
    let mut wrong = Vec::new();
    for case in CASES {
        match (telltale::parse::openmetrics(case.text), case.expect) {
            (Ok(families), Expect::Accept(n)) if families.len() == n => {}
            (Ok(families), Expect::Accept(n)) => wrong.push(format!(
                "{}: {} families, expected {n}",
                case.name,
                families.len()
            )),
            (Ok(families), Expect::Reject(line, fragment)) => wrong.push(format!(
                "{}: accepted ({} families), expected a rejection at line {line} (`{fragment}`)",
                case.name,
                families.len()
            )),
            (Err(e), Expect::Accept(_)) => {
                wrong.push(format!("{}: rejected but should parse: {e}", case.name));
            }
            (Err(e), Expect::Reject(line, fragment)) => {
                if e.line() != line || !e.message().contains(fragment) {
                    wrong.push(format!(
                        "{}: `{e}`; expected line {line} and `{fragment}`",
                        case.name
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} own cases disagree:\n{}",
        wrong.len(),
        CASES.len(),
        wrong.join("\n")
    );
}

/// Both verdicts are well represented, so neither half can rot unnoticed.
#[test]
fn the_cases_cover_both_verdicts() {
    let accepted = CASES
        .iter()
        .filter(|c| matches!(c.expect, Expect::Accept(_)))
        .count();
    assert!(accepted >= 40, "{accepted} accepted cases");
    assert!(
        CASES.len() - accepted >= 80,
        "{} rejected cases",
        CASES.len() - accepted
    );
}

/// Where telltale follows the OpenMetrics 1.0 grammar and Python's
/// `prometheus_client` (0.26) is more lenient: each of these cases
/// it accepts, telltale rejects, with the rule that decides.
const LENIENT_IN_PROMETHEUS_CLIENT: &[(&str, &str)] = &[
    (
        "label_name_with_colon",
        "label-name-char is ALPHA / DIGIT / \"_\"",
    ),
    (
        "labels_space_after_comma",
        "labels = \"{\" [label *(COMMA label)] \"}\", no blank",
    ),
    ("value_plus_nan", "number =/ \"nan\", without a sign"),
    (
        "series_duplicate",
        "a label set appears at most once in a family",
    ),
    (
        "series_duplicate_label_order",
        "label order does not make another label set",
    ),
];

/// Python's `prometheus_client` parser (which agrees with every case of the
/// external suite) gives every own case the same verdict, apart from the
/// documented places where it is more lenient than the grammar: so the
/// expectations above are not only telltale's reading of the spec.
#[test]
#[ignore = "needs python3 with prometheus_client"]
fn prometheus_client_agrees_with_the_own_cases() {
    use telltale_tests::{describe_output, peer_scripts_dir, python_binary, run_with_stdin};

    let texts: serde_json::Map<String, serde_json::Value> = CASES
        .iter()
        .map(|c| (c.name.to_owned(), c.text.into()))
        .collect();
    let input = serde_json::to_vec(&texts).expect("JSON");
    let script = peer_scripts_dir().join("openmetrics_verdicts.py");
    let output = run_with_stdin(
        &python_binary(),
        &[script.as_os_str()],
        &input,
        telltale_tests::PEER_WAIT,
    );
    assert!(
        output.status.success(),
        "{}",
        describe_output("openmetrics_verdicts.py", &output)
    );
    let answer: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the script prints JSON");
    let parser = answer["parser"].as_str().unwrap_or("?").to_owned();
    let mut wrong = Vec::new();
    for case in CASES {
        let verdict = &answer["verdicts"][case.name];
        let accepted = verdict["ok"].as_bool().expect("a verdict for every case");
        let lenient = LENIENT_IN_PROMETHEUS_CLIENT
            .iter()
            .any(|&(name, _)| name == case.name);
        match case.expect {
            Expect::Accept(n) => {
                if !accepted {
                    wrong.push(format!("{}: rejected: {}", case.name, verdict["error"]));
                } else if verdict["families"] != n {
                    wrong.push(format!(
                        "{}: {} families, expected {n}",
                        case.name, verdict["families"]
                    ));
                }
            }
            Expect::Reject(..) if accepted && !lenient => {
                wrong.push(format!("{}: accepted", case.name));
            }
            Expect::Reject(..) => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "{parser} disagrees with {} own cases:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn the_lenient_list_names_rejected_cases() {
    for &(name, _) in LENIENT_IN_PROMETHEUS_CLIENT {
        let case = CASES
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no case {name}"));
        assert!(
            matches!(case.expect, Expect::Reject(..)),
            "{name} is accepted"
        );
    }
}
