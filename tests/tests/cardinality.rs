//! A label taken from unbounded input cannot grow memory without limit:
//! a million distinct label values leave the number of series and the heap
//! where the cardinality cap put them, and nothing panics.
#![allow(clippy::float_cmp)] // counts are whole numbers, exact in f64

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use telltale::snapshot::Value;
use telltale::{dynamic, Counter, Family, LabelSet, Snapshot};

/// Counts the bytes live on the heap.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator and only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// One label, `user`, of any value: no bound on the number of label sets.
#[derive(LabelSet)]
struct User {
    user: String,
}

/// A function whose label comes from unbounded input.
#[telltale::timed(labels(user = user))]
fn cardinality_labeled_fn(user: &str) {
    std::hint::black_box(user);
}

static BY_USER: Family<User, Counter> =
    Family::new("cardinality_by_user_total", "Requests by user.");

fn series(s: &Snapshot, family: &str) -> usize {
    s.family(family).map_or(0, |f| f.series.len())
}

fn overflow(s: &Snapshot, metric: &str) -> f64 {
    s.family("telltale_cardinality_overflow")
        .and_then(|f| f.series.iter().find(|x| x.label("metric") == Some(metric)))
        .map_or(0.0, |x| match x.value {
            Value::Counter(v) => v,
            _ => f64::NAN,
        })
}

// One test in this binary, so that the heap it measures is its own.
#[test]
fn a_million_distinct_label_values_stay_within_the_cap() {
    let dynamic = dynamic::counter("cardinality_dynamic_total")
        .required_labels(["session"])
        .register()
        .unwrap();
    let mut name = String::new();
    let mut record = |from: u64, to: u64| {
        for i in from..to {
            use std::fmt::Write;
            name.clear();
            let _ = write!(name, "user-{i}");
            BY_USER.labels(User { user: name.clone() }).inc();
            cardinality_labeled_fn(&name);
            dynamic.labels([("session", name.as_str())]).inc().unwrap();
        }
    };
    // Past the cap (2,000 by default): every later label set overflows.
    record(0, 20_000);
    let before = LIVE.load(Ordering::Relaxed);
    record(20_000, 1_000_000);
    let grown = LIVE.load(Ordering::Relaxed) - before;
    assert!(
        grown < 64 * 1024,
        "heap grew by {grown} bytes over 980,000 new label values"
    );

    assert_eq!(BY_USER.len(), 2_000);
    let s = Snapshot::collect();
    assert_eq!(
        series(&s, "cardinality_by_user"),
        2_001,
        "the cap plus the overflow series"
    );
    assert_eq!(series(&s, "cardinality_dynamic"), 2_001);
    assert_eq!(overflow(&s, "cardinality_by_user_total"), 998_000.0);
    assert_eq!(overflow(&s, "cardinality_dynamic_total"), 998_000.0);
    let fn_series = s
        .family("function_calls_duration_seconds")
        .unwrap()
        .series
        .iter()
        .filter(|x| x.label("function") == Some("cardinality_labeled_fn"))
        .count();
    assert_eq!(fn_series, 2_001, "the cap plus the overflow series");
    assert_eq!(
        overflow(&s, "function_calls_duration_seconds"),
        998_000.0,
        "the labeled function's refused lookups"
    );
    let fn_overflow = s
        .family("function_calls_duration_seconds")
        .unwrap()
        .series
        .iter()
        .find(|x| {
            x.label("function") == Some("cardinality_labeled_fn")
                && x.label("otel_metric_overflow") == Some("true")
        })
        .map(|x| match &x.value {
            Value::Histogram(h) => h.count,
            _ => u64::MAX,
        });
    assert_eq!(fn_overflow, Some(998_000));
    let overflow_series = s
        .family("cardinality_by_user")
        .unwrap()
        .series
        .iter()
        .find(|x| x.label("otel_metric_overflow") == Some("true"))
        .map(|x| x.value.clone());
    assert_eq!(overflow_series, Some(Value::Counter(998_000.0)));
}
