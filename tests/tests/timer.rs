//! Timers and the tracker API record the same series as the macros.
#![allow(clippy::float_cmp)] // counts compared are whole numbers

use std::time::Duration;

use telltale::snapshot::Value;
use telltale::{timer, tracked, tracker, LabelValue, Snapshot};

#[derive(Debug, LabelValue)]
enum SyncError {
    Conflict,
}

/// The same operation through the macro and through the API.
#[tracked]
fn timer_sync_repo(fail: bool) -> Result<(), SyncError> {
    if fail {
        Err(SyncError::Conflict)
    } else {
        Ok(())
    }
}

fn calls(s: &Snapshot, function: &str, result: &str, error: &str) -> f64 {
    s.family("function_calls")
        .unwrap()
        .series
        .iter()
        .filter(|x| {
            x.label("function") == Some(function)
                && x.label("result") == Some(result)
                && x.label("error") == Some(error)
        })
        .map(|x| match x.value {
            Value::Counter(v) => v,
            _ => f64::NAN,
        })
        .sum()
}

#[test]
fn the_api_and_the_macro_count_one_operation() {
    timer_sync_repo(false).unwrap();
    timer_sync_repo(true).unwrap_err();
    tracker::record_success("timer_sync_repo", &[]);
    tracker::record_failure("timer_sync_repo", "conflict", &[("remote", "origin")]);
    tracker::record_failure("timer_sync_repo", "timeout", &[]);
    // Kinds given as text are exported as written, never shortened like type names.
    tracker::record_failure("timer_sync_repo", "tls::handshake", &[]);
    let s = Snapshot::collect();
    assert_eq!(calls(&s, "timer_sync_repo", "ok", ""), 2.0);
    assert_eq!(calls(&s, "timer_sync_repo", "error", "conflict"), 2.0);
    assert_eq!(calls(&s, "timer_sync_repo", "error", "timeout"), 1.0);
    assert_eq!(calls(&s, "timer_sync_repo", "error", "tls::handshake"), 1.0);
    let failure = tracker::recent_failures()
        .into_iter()
        .rev()
        .find(|f| f.operation == "timer_sync_repo" && f.kind == "conflict")
        .unwrap();
    assert_eq!(
        failure.metadata,
        vec![("remote".to_owned(), "origin".to_owned())]
    );
    // Durations of the macro's calls count in the operation's stats.
    assert_eq!(timer::stats("timer_sync_repo").unwrap().count, 2);
}

#[test]
fn stats_have_exact_min_and_max_and_ordered_quantiles() {
    for ms in [2u64, 3, 5, 20] {
        timer::time("timer_sleepy", || {
            std::thread::sleep(Duration::from_millis(ms));
        });
    }
    let st = timer::stats("timer_sleepy").unwrap();
    assert_eq!(st.count, 4);
    assert!(st.min >= 0.002 && st.min < 0.003, "min {}", st.min);
    assert!(st.max >= 0.020 && st.max < 0.2, "max {}", st.max);
    // The sleeps add up to 30 ms over 4 calls; sleeping only ever overshoots.
    assert!((0.0075..0.015).contains(&st.mean), "mean {}", st.mean);
    assert!(st.min <= st.p50 && st.p50 <= st.p90 && st.p90 <= st.p99 && st.p99 <= st.max);
    // The median of 2, 3, 5, 20 ms is the 2nd value (nearest rank): 3 ms, within a bucket.
    assert!(st.p50 >= 0.003 * 0.98 && st.p50 < 0.005, "p50 {}", st.p50);
    assert!(timer::stats("timer_never_ran").is_none());
}

#[test]
fn timers_stop_explicitly_on_drop_and_through_panics() {
    let r = timer::start("timer_explicit")
        .with_metadata("k", "v")
        .failure("busy");
    assert!(!r.success);
    assert_eq!(r.error.as_deref(), Some("busy"));
    assert_eq!(r.metadata, vec![("k".to_owned(), "v".to_owned())]);
    assert!(r.end >= r.start);
    let ok = timer::start("timer_explicit").stop(true);
    assert!(ok.success);
    drop(timer::start("timer_explicit"));
    let caught = std::panic::catch_unwind(|| {
        timer::time("timer_explicit", || panic!("boom"));
    });
    assert!(caught.is_err());
    let bad: Result<u8, _> = timer::time_result("timer_explicit", || "x".parse::<u8>());
    assert!(bad.is_err());
    let s = Snapshot::collect();
    assert_eq!(calls(&s, "timer_explicit", "ok", ""), 2.0);
    assert_eq!(calls(&s, "timer_explicit", "error", "busy"), 1.0);
    assert_eq!(calls(&s, "timer_explicit", "error", "panic"), 1.0);
    assert_eq!(calls(&s, "timer_explicit", "error", "ParseIntError"), 1.0);
    assert_eq!(timer::stats("timer_explicit").unwrap().count, 5);
}

#[tokio::test]
async fn futures_are_timed_to_completion_or_cancelled() {
    let v = timer::time_future("timer_future", async {
        tokio::time::sleep(Duration::from_millis(3)).await;
        7
    })
    .await;
    assert_eq!(v, 7);
    let never = timer::time_future("timer_future", std::future::pending::<()>());
    assert!(tokio::time::timeout(Duration::from_millis(5), never)
        .await
        .is_err());
    let s = Snapshot::collect();
    assert_eq!(calls(&s, "timer_future", "ok", ""), 1.0);
    assert_eq!(calls(&s, "timer_future", "cancelled", ""), 1.0);
    assert!(timer::stats("timer_future").unwrap().min >= 0.003);
}

#[test]
fn threads_meeting_new_names_at_once_share_one_operation_each() {
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                for i in 0..50 {
                    let name = format!("timer_race_{i}");
                    drop(timer::start(&name).success());
                    tracker::record_failure(&name, &format!("race_kind_{}", i % 3), &[]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let s = Snapshot::collect();
    for i in 0..50 {
        let name = format!("timer_race_{i}");
        assert_eq!(calls(&s, &name, "ok", ""), 4.0, "{name}");
        let kind = format!("race_kind_{}", i % 3);
        assert_eq!(calls(&s, &name, "error", &kind), 4.0, "{name}");
        let series = s
            .family("function_calls")
            .unwrap()
            .series
            .iter()
            .filter(|x| x.label("function") == Some(name.as_str()))
            .count();
        assert_eq!(series, 2, "{name}: one ok and one error series");
    }
}

#[test]
fn an_operation_handle_records_like_the_name() {
    let op = timer::operation("timer_handle_op");
    assert_eq!(op.name(), "timer_handle_op");
    op.time(|| ());
    drop(op.start().failure("slow"));
    assert_eq!(op.time_result(|| "x".parse::<u8>()).ok(), None);
    timer::time("timer_handle_op", || ());
    let s = Snapshot::collect();
    assert_eq!(calls(&s, "timer_handle_op", "ok", ""), 2.0);
    assert_eq!(calls(&s, "timer_handle_op", "error", "slow"), 1.0);
    assert_eq!(calls(&s, "timer_handle_op", "error", "ParseIntError"), 1.0);
    assert_eq!(timer::stats("timer_handle_op").unwrap().count, 4);
}

/// A duration measured elsewhere is recorded exactly like a timed call: the
/// same histogram, counts and statistics.
#[test]
fn recorded_durations_count_as_calls() {
    let durations = [0.010, 0.020, 0.040, 1.5];
    for d in durations {
        timer::record("timer_recorded", Duration::from_secs_f64(d), Ok(()));
    }
    timer::record("timer_recorded", Duration::from_millis(5), Err("timeout"));
    let s = Snapshot::collect();
    assert_eq!(calls(&s, "timer_recorded", "ok", ""), 4.0);
    assert_eq!(calls(&s, "timer_recorded", "error", "timeout"), 1.0);
    let stats = timer::stats_in(&s, "timer_recorded").unwrap();
    assert_eq!(stats.count, 5);
    // Min and max are exact; the sum is the durations' sum.
    assert!((stats.min - 0.005).abs() < 1e-9, "{stats:?}");
    assert!((stats.max - 1.5).abs() < 1e-9, "{stats:?}");
    let total: f64 = durations.iter().sum::<f64>() + 0.005;
    assert!((stats.mean * 5.0 - total).abs() < 1e-6, "{stats:?}");
    // The median of 5, 10, 20, 40 and 1,500 ms, within the histogram's 1.1 %.
    assert!((stats.p50 - 0.020).abs() < 0.020 * 0.011, "{stats:?}");
    // The Prometheus histogram counts them too.
    let text = telltale::render(telltale::Format::Prometheus);
    let count_line = text
        .lines()
        .find(|l| {
            l.starts_with("function_calls_duration_seconds_count{")
                && l.contains("function=\"timer_recorded\"")
        })
        .unwrap();
    assert!(count_line.ends_with(" 5"), "{count_line}");
}

/// What the README tells timer users: `failure(e.label_value().as_ref())`
/// counts a derived error under the variant `#[tracked]` gives it, while
/// `time_result` counts it under its type's name.
#[derive(Debug, LabelValue)]
enum FetchError {
    NotFound,
}

#[tracked]
fn timer_fetch_page() -> Result<(), FetchError> {
    Err(FetchError::NotFound)
}

#[test]
fn a_timer_failure_with_the_label_value_matches_tracked() {
    timer_fetch_page().unwrap_err();
    let e = FetchError::NotFound;
    let _ = timer::start("timer_fetch_page").failure(e.label_value().as_ref());
    let _ = timer::time_result("timer_fetch_page", || Err::<(), _>(FetchError::NotFound));
    let s = Snapshot::collect();
    assert_eq!(calls(&s, "timer_fetch_page", "error", "not_found"), 2.0);
    assert_eq!(calls(&s, "timer_fetch_page", "error", "FetchError"), 1.0);
}

#[test]
fn an_operation_only_counted_exports_no_duration_histogram() {
    let durations = |s: &Snapshot| {
        s.family("function_calls_duration_seconds").map_or(0, |f| {
            f.series
                .iter()
                .filter(|s| {
                    s.labels
                        .iter()
                        .any(|(k, v)| k == "function" && v == "timer_counted_only")
                })
                .count()
        })
    };
    tracker::record_success("timer_counted_only", &[]);
    tracker::record_failure("timer_counted_only", "refused", &[]);
    let s = Snapshot::collect();
    assert_eq!(calls(&s, "timer_counted_only", "ok", ""), 1.0);
    assert_eq!(durations(&s), 0, "no empty duration histogram");
    // Its first measured call brings the duration series.
    timer::record("timer_counted_only", Duration::from_millis(3), Ok(()));
    let s = Snapshot::collect();
    assert_eq!(durations(&s), 1);
    assert_eq!(timer::stats("timer_counted_only").unwrap().count, 1);
}
