//! Static registration: every instrumented function of every crate in the
//! binary is in the first exposition, at zero, before it is ever called.

use telltale::snapshot::{MetricKind, Value};
use telltale::{tracked, Snapshot};

// Never called on purpose: it must be exported all the same.
#[allow(dead_code)]
#[tracked]
fn registration_local_never_called() -> Result<(), std::io::Error> {
    Ok(())
}

// Labeled: its series exist only once it is called with labels.
#[allow(dead_code)]
#[telltale::timed(labels(user = user))]
fn registration_labeled(user: &str) -> usize {
    user.len()
}

fn calls(snapshot: &Snapshot, function: &str, result: &str) -> Option<f64> {
    let family = snapshot.family("function_calls")?;
    assert_eq!(family.kind, MetricKind::Counter);
    family
        .series
        .iter()
        .find(|s| s.label("function") == Some(function) && s.label("result") == Some(result))
        .map(|s| match s.value {
            Value::Counter(v) => v,
            _ => panic!("function_calls is a counter"),
        })
}

fn duration_count(snapshot: &Snapshot, function: &str) -> Option<u64> {
    snapshot
        .family("function_calls_duration_seconds")?
        .series
        .iter()
        .find(|s| s.label("function") == Some(function))
        .map(|s| match &s.value {
            Value::Histogram(h) => h.count,
            _ => panic!("durations are a histogram"),
        })
}

/// The `error` label and count of each failed-call series of `function`.
fn error_kinds(s: &Snapshot, function: &str) -> Vec<(String, f64)> {
    s.family("function_calls")
        .unwrap()
        .series
        .iter()
        .filter(|x| x.label("function") == Some(function) && x.label("result") == Some("error"))
        .map(|x| match x.value {
            Value::Counter(v) => (x.label("error").unwrap().to_owned(), v),
            _ => unreachable!(),
        })
        .collect()
}

// One test only: the first snapshot of this process must be the one checked.
#[test]
fn functions_of_every_crate_are_exported_at_zero_before_their_first_call() {
    // Link the second crate without calling anything in it.
    let parse: fn(&str) -> Result<u16, telltale_test_xcrate::PortError> =
        telltale_test_xcrate::xcrate_parse_port;
    let sum: fn(&[u64]) -> u64 = telltale_test_xcrate::xcrate_sum;

    let first = Snapshot::collect();
    assert_eq!(
        calls(&first, "registration_local_never_called", "ok"),
        Some(0.0)
    );
    assert_eq!(calls(&first, "xcrate_parse_port", "ok"), Some(0.0));
    // Every error kind it can report is at zero too, before any error.
    assert_eq!(
        error_kinds(&first, "xcrate_parse_port"),
        [("not_a_number".to_owned(), 0.0), ("zero".to_owned(), 0.0)]
    );
    assert_eq!(duration_count(&first, "xcrate_parse_port"), Some(0));
    assert_eq!(duration_count(&first, "xcrate_sum"), Some(0));
    let module = first
        .family("function_calls")
        .unwrap()
        .series
        .iter()
        .find(|s| s.label("function") == Some("xcrate_parse_port"))
        .and_then(|s| s.label("module"))
        .map(str::to_owned);
    assert_eq!(module.as_deref(), Some("telltale_test_xcrate"));
    // A labeled function exports no unlabeled series before its first call.
    let labeled = |s: &Snapshot| -> Vec<Option<String>> {
        s.family("function_calls_duration_seconds")
            .unwrap()
            .series
            .iter()
            .filter(|x| x.label("function") == Some("registration_labeled"))
            .map(|x| x.label("user").map(str::to_owned))
            .collect()
    };
    assert_eq!(labeled(&first), Vec::<Option<String>>::new());
    assert_eq!(registration_labeled("ann"), 3);
    assert_eq!(labeled(&Snapshot::collect()), vec![Some("ann".to_owned())]);

    assert_eq!(parse("8080").ok(), Some(8080));
    assert!(parse("x").is_err());
    assert!(parse("0").is_err());
    assert_eq!(sum(&[1, 2, 3]), 6);

    let after = Snapshot::collect();
    assert_eq!(calls(&after, "xcrate_parse_port", "ok"), Some(1.0));
    assert_eq!(
        error_kinds(&after, "xcrate_parse_port"),
        vec![("not_a_number".to_owned(), 1.0), ("zero".to_owned(), 1.0)]
    );
    assert_eq!(duration_count(&after, "xcrate_sum"), Some(1));
    assert_eq!(duration_count(&after, "xcrate_parse_port"), Some(3));
}
