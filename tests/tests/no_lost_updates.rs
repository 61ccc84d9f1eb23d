//! Threads recording into the same instrumented function lose no update.
#![allow(clippy::float_cmp)] // counts are whole numbers, exact in f64

use telltale::snapshot::Value;
use telltale::{tracked, LabelValue, Snapshot};

#[derive(Debug, LabelValue)]
enum Odd {
    Odd,
}

#[tracked(concurrency)]
fn lost_updates_probe(i: u64) -> Result<u64, Odd> {
    if i % 2 == 1 {
        Err(Odd::Odd)
    } else {
        Ok(i)
    }
}

fn counts() -> (f64, f64, u64, f64) {
    let s = Snapshot::collect();
    let calls = s.family("function_calls").expect("function_calls");
    let get = |result: &str| {
        calls
            .series
            .iter()
            .find(|x| {
                x.label("function") == Some("lost_updates_probe")
                    && x.label("result") == Some(result)
            })
            .map_or(0.0, |x| match x.value {
                Value::Counter(v) => v,
                _ => unreachable!(),
            })
    };
    let hist = s
        .family("function_calls_duration_seconds")
        .unwrap()
        .series
        .iter()
        .find(|x| x.label("function") == Some("lost_updates_probe"))
        .map(|x| match &x.value {
            Value::Histogram(h) => h.count,
            _ => unreachable!(),
        })
        .unwrap();
    let in_flight = s
        .family("function_calls_concurrent")
        .unwrap()
        .series
        .iter()
        .find(|x| x.label("function") == Some("lost_updates_probe"))
        .map(|x| match x.value {
            Value::Gauge(v) => v,
            _ => unreachable!(),
        })
        .unwrap();
    (get("ok"), get("error"), hist, in_flight)
}

#[test]
fn two_and_more_threads_times_a_million_calls_are_counted_exactly() {
    const CALLS: u64 = 1_000_000;
    for threads in [2u64, 4, 12] {
        let (ok0, err0, hist0, _) = counts();
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for i in 0..CALLS {
                        let _ = std::hint::black_box(lost_updates_probe(i));
                    }
                });
            }
        });
        let (ok, err, hist, in_flight) = counts();
        assert_eq!(
            ok - ok0,
            (threads * CALLS / 2) as f64,
            "{threads} threads: ok"
        );
        assert_eq!(
            err - err0,
            (threads * CALLS / 2) as f64,
            "{threads} threads: error"
        );
        assert_eq!(
            hist - hist0,
            threads * CALLS,
            "{threads} threads: durations"
        );
        assert_eq!(in_flight, 0.0, "{threads} threads: nothing left in flight");
    }
}
