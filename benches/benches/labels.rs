//! Labeled counters beside an unlabeled one, in one run.
//!
//! | bench | what |
//! |---|---|
//! | `unlabeled_counter` | `Counter::inc` (the baseline) |
//! | `dense_family` | `Family<L, Counter>::labels(..).inc()` with a bounded label set (two enums) |
//! | `dense_family_cached_handle` | the same with the handle kept |
//! | `hashed_family_2_strings` | two `&str` labels, handle not cached (steady state: the series exists) |
//! | `dynamic_2_labels` | a dynamic metric, two labels bound per call |

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use telltale::{dynamic, Counter, Family, LabelSet, LabelValue};

#[derive(Clone, Copy, LabelValue)]
enum Method {
    Get,
    Post,
    Put,
    Delete,
}

#[derive(Clone, Copy, LabelValue)]
enum Status {
    Ok,
    ClientError,
    ServerError,
}

#[derive(Clone, Copy, LabelSet)]
struct Http {
    method: Method,
    status: Status,
}

#[derive(LabelSet)]
struct Route<'a> {
    path: &'a str,
    verb: &'a str,
}

static UNLABELED: Counter = Counter::new("bench_unlabeled_total", "Bench.");
static DENSE: Family<Http, Counter> = Family::new("bench_dense_total", "Bench.");
static HASHED: Family<Route<'static>, Counter> = Family::new("bench_hashed_total", "Bench.");

fn family_inc(c: &mut Criterion) {
    let mut g = c.benchmark_group("family_inc");
    g.bench_function("unlabeled_counter", |b| b.iter(|| UNLABELED.inc()));
    let methods = [Method::Get, Method::Post, Method::Put, Method::Delete];
    let statuses = [Status::Ok, Status::ClientError];
    let sets: Vec<Http> = (0..8)
        .map(|k| Http {
            method: methods[k & 3],
            status: statuses[k >> 2],
        })
        .collect();
    // The loops below keep their counter in a register, as criterion's own
    // loop does for the unlabeled baseline.
    g.bench_function("dense_family", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for k in 0..iters {
                DENSE.labels(sets[k as usize & 7]).inc();
            }
            start.elapsed()
        });
    });
    let handle = DENSE.labels(Http {
        method: Method::Get,
        status: Status::ServerError,
    });
    g.bench_function("dense_family_cached_handle", |b| {
        b.iter(|| black_box(handle).inc());
    });
    let paths = ["/users", "/orders", "/items", "/health"];
    g.bench_function("hashed_family_2_strings", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for k in 0..iters {
                HASHED
                    .labels(Route {
                        path: black_box(paths[k as usize & 3]),
                        verb: black_box("GET"),
                    })
                    .inc();
            }
            start.elapsed()
        });
    });
    let dynamic = dynamic::counter("bench_dynamic_total")
        .required_labels(["path", "verb"])
        .register()
        .unwrap_or_else(|e| panic!("{e}"));
    g.bench_function("dynamic_2_labels", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for k in 0..iters {
                let _ = dynamic
                    .labels([("path", black_box(paths[k as usize & 3])), ("verb", "GET")])
                    .inc();
            }
            start.elapsed()
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = family_inc
}
criterion_main!(benches);
