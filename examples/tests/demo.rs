//! The demo's driver and telltale agree on every call.

use std::collections::BTreeMap;

use telltale::snapshot::Value;
use telltale::Snapshot;
use telltale_examples::{demo, drive, quiet_demo_panics, tally, Lcg, MODULE, SEED};

fn calls_by_outcome(snapshot: &Snapshot) -> BTreeMap<(String, String, String), u64> {
    let family = snapshot
        .family("function_calls")
        .expect("a function_calls family");
    family
        .series
        .iter()
        .filter(|s| s.label("module") == Some(MODULE))
        .filter_map(|s| match s.value {
            Value::Counter(n) if n != 0.0 => Some((
                (
                    s.label("function").unwrap_or_default().to_owned(),
                    s.label("result").unwrap_or_default().to_owned(),
                    s.label("error").unwrap_or_default().to_owned(),
                ),
                n as u64,
            )),
            _ => None,
        })
        .collect()
}

fn histogram_counts(snapshot: &Snapshot) -> BTreeMap<String, u64> {
    let family = snapshot
        .family("function_calls_duration_seconds")
        .expect("a function_calls_duration_seconds family");
    family
        .series
        .iter()
        .filter(|s| s.label("module") == Some(MODULE))
        .filter_map(|s| match &s.value {
            Value::Histogram(h) if h.count != 0 => {
                Some((s.label("function").unwrap_or_default().to_owned(), h.count))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_counts_exactly_the_calls_the_driver_made() {
    quiet_demo_panics();
    drive(Some(150)).await;
    let tally = tally();
    assert_eq!(tally.iterations, 150);

    let expected: BTreeMap<_, _> = tally
        .calls
        .iter()
        .map(|(o, n)| {
            (
                (
                    o.function.to_owned(),
                    o.result.to_owned(),
                    o.error.to_owned(),
                ),
                *n,
            )
        })
        .collect();
    let snapshot = Snapshot::collect();
    assert_eq!(calls_by_outcome(&snapshot), expected);

    let expected_counts: BTreeMap<_, _> = tally
        .timings
        .iter()
        .map(|(f, n)| ((*f).to_owned(), *n))
        .collect();
    assert_eq!(histogram_counts(&snapshot), expected_counts);

    // Every kind of outcome the demo is meant to show happened.
    for (function, result, error) in [
        (demo::names::FETCH_PAGE, "ok", ""),
        (demo::names::FETCH_PAGE, "error", "timeout"),
        (demo::names::FETCH_PAGE, "error", "not_found"),
        (demo::names::FETCH_PAGE, "error", "rate_limited"),
        (demo::names::FETCH_PAGE, "error", "io"),
        (demo::names::PARSE_QUANTITY, "ok", ""),
        (demo::names::PARSE_QUANTITY, "error", "ParseIntError"),
        (demo::names::RESERVE, "ok", ""),
        (demo::names::RESERVE, "error", "out_of_stock"),
        (demo::names::RESTOCK, "ok", ""),
        (demo::names::FLAKY_STEP, "ok", ""),
        (demo::names::FLAKY_STEP, "error", "panic"),
        (demo::names::RESOLVE, "ok", ""),
        (demo::names::RESOLVE, "cancelled", ""),
    ] {
        assert!(
            tally.calls(function, result, error) > 0,
            "150 iterations never gave {function} {result} {error}"
        );
    }
    assert!(tally.total(demo::names::CHECKSUM) > 0);
    assert!(tally.total(demo::names::RENDER_PAGE) > 0);
}

#[test]
fn the_lcg_is_deterministic() {
    let mut a = Lcg::new(SEED);
    let mut b = Lcg::new(SEED);
    let first: Vec<u64> = (0..8).map(|_| a.below(1000)).collect();
    let second: Vec<u64> = (0..8).map(|_| b.below(1000)).collect();
    assert_eq!(first, second);
    assert!(first.iter().any(|n| *n != first[0]), "{first:?}");
}

#[test]
fn demo_errors_name_their_kind_as_the_derive_does() {
    use demo::DemoError;
    use telltale::LabelValue;
    for error in [
        DemoError::Timeout,
        DemoError::NotFound,
        DemoError::RateLimited { retry_after_ms: 5 },
        DemoError::OutOfStock,
        DemoError::Io(std::io::Error::other("x")),
    ] {
        assert_eq!(error.kind(), error.label_value().as_str(), "{error:?}");
    }
    assert_eq!(DemoError::Timeout.kind(), "timeout");
    assert_eq!(
        demo::DemoError::RateLimited { retry_after_ms: 5 }.to_string(),
        "rate limited; retry after 5 ms"
    );
}
