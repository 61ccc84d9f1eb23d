//! Every demo function is in the first exposition, at zero, before it is
//! ever called. (Its own test binary: nothing here calls the demo.)

use telltale::snapshot::Value;
use telltale::{Format, Snapshot};
use telltale_examples::{MODULE, TIMED, TRACKED};

#[test]
fn every_demo_function_is_exposed_at_zero_before_any_call() {
    let snapshot = Snapshot::collect();

    let calls = snapshot
        .family("function_calls")
        .expect("a function_calls family");
    for function in TRACKED {
        let series: Vec<_> = calls
            .series
            .iter()
            .filter(|s| s.label("module") == Some(MODULE) && s.label("function") == Some(function))
            .collect();
        assert!(
            !series.is_empty(),
            "no function_calls series for {function}"
        );
        for s in series {
            assert_eq!(s.value, Value::Counter(0.0), "{function}: {s:?}");
        }
    }

    let durations = snapshot
        .family("function_calls_duration_seconds")
        .expect("a function_calls_duration_seconds family");
    for function in TRACKED.iter().chain(TIMED) {
        let series = durations
            .series
            .iter()
            .find(|s| s.label("module") == Some(MODULE) && s.label("function") == Some(function))
            .unwrap_or_else(|| panic!("no duration histogram for {function}"));
        match &series.value {
            Value::Histogram(h) => assert_eq!(h.count, 0, "{function}"),
            other => panic!("{function}: not a histogram: {other:?}"),
        }
    }

    for format in [Format::Prometheus, Format::OpenMetrics] {
        let text = telltale::render(format);
        for function in TRACKED.iter().chain(TIMED) {
            assert!(
                text.contains(&format!("function=\"{function}\"")),
                "{function} missing from the first exposition:\n{text}"
            );
        }
    }
}
