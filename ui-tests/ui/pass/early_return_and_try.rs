// Early `return` and `?` leave the instrumented body but are still counted,
// with the outcome of the value they return.

#![deny(warnings, unused_qualifications)]

use telltale::snapshot::Value;
use telltale::{tracked, LabelValue};

#[derive(Debug, LabelValue)]
enum LookupError {
    Empty,
    NotANumber,
}

impl From<std::num::ParseIntError> for LookupError {
    fn from(_: std::num::ParseIntError) -> Self {
        LookupError::NotANumber
    }
}

#[tracked]
fn lookup(input: &str) -> Result<u32, LookupError> {
    if input.is_empty() {
        return Err(LookupError::Empty);
    }
    let n: u32 = input.parse()?;
    if n > 100 {
        return Ok(100);
    }
    Ok(n)
}

fn count(result: &str, error: &str) -> f64 {
    let snapshot = telltale::Snapshot::collect();
    let calls = snapshot.family("function_calls").expect("function_calls");
    calls
        .series
        .iter()
        .find(|s| {
            s.label("function") == Some("lookup")
                && s.label("result") == Some(result)
                && s.label("error") == Some(error)
        })
        .map_or(0.0, |s| match s.value {
            Value::Counter(n) => n,
            _ => unreachable!("function_calls is a counter"),
        })
}

fn main() {
    assert!(matches!(lookup("5"), Ok(5)));
    assert!(matches!(lookup(""), Err(LookupError::Empty)));
    assert!(matches!(lookup("x"), Err(LookupError::NotANumber)));
    assert_eq!(lookup("500").unwrap(), 100);
    assert_eq!(count("ok", ""), 2.0);
    assert_eq!(count("error", "empty"), 1.0);
    assert_eq!(count("error", "not_a_number"), 1.0);
}
