// #[timed] and #[tracked] on free functions, with and without a return value.

#![deny(warnings, unused_qualifications)]

use telltale::{timed, tracked};

#[timed]
fn render(page: &str) -> String {
    page.to_uppercase()
}

#[timed]
fn nothing() {}

#[tracked]
fn parse(input: &str) -> Result<u32, std::num::ParseIntError> {
    input.parse()
}

#[tracked]
fn plain(x: u32) -> u32 {
    x + 1
}

#[tracked]
fn unit() {}

#[tracked]
fn r#type() -> &'static str {
    "raw identifiers are reported without r#"
}

fn main() {
    assert_eq!(render("a"), "A");
    nothing();
    assert_eq!(parse("7"), Ok(7));
    assert!(parse("x").is_err());
    assert_eq!(plain(1), 2);
    unit();
    assert!(!r#type().is_empty());

    let snapshot = telltale::Snapshot::collect();
    let calls = snapshot.family("function_calls").expect("function_calls");
    for function in ["parse", "plain", "unit", "type"] {
        assert!(
            calls
                .series
                .iter()
                .any(|s| s.label("function") == Some(function)),
            "{function}"
        );
    }
    let durations = snapshot
        .family("function_calls_duration_seconds")
        .expect("durations");
    assert!(durations
        .series
        .iter()
        .any(|s| s.label("function") == Some("render")));
}
