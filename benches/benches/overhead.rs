//! Hot-path cost of telltale beside its baselines, in one run.
//!
//! | bench | telltale | baseline |
//! |---|---|---|
//! | instrumented empty fn | `#[timed]` | bare call; two clock reads + one relaxed add |
//! | instrumented fn returning `Err` | `#[tracked]` | bare call; two clock reads + one relaxed add |
//! | counter | `Counter::inc` | `AtomicU64::fetch_add` |
//! | histogram | `Histogram::observe` | `AtomicU64::fetch_add` |
//! | 2 threads on one `#[timed]` fn | per-thread cost | the same loop on 1 thread |
//!
//! `benches/ratios.py` turns the results into the ratios the targets speak of.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use telltale::{timed, tracked, Counter, Histogram, LabelValue};

#[derive(Debug, LabelValue)]
enum BenchError {
    Failed,
}

#[timed]
#[inline(never)]
fn timed_empty() {}

#[tracked]
#[inline(never)]
fn tracked_err() -> Result<(), BenchError> {
    Err(BenchError::Failed)
}

#[inline(never)]
fn bare_empty() {}

#[inline(never)]
fn bare_err() -> Result<(), BenchError> {
    Err(BenchError::Failed)
}

static COUNTER: Counter = Counter::new("bench_counter_total", "Bench counter.");
static HISTOGRAM: Histogram = Histogram::new("bench_histogram", "Bench histogram.");
static ATOMIC: AtomicU64 = AtomicU64::new(0);

/// Two clock reads and one relaxed add: the least any latency recorder does.
#[inline(never)]
fn clock_baseline(clock: &quanta::Clock) {
    let start = clock.raw();
    bare_empty();
    let end = clock.raw();
    ATOMIC.fetch_add(clock.delta_as_nanos(start, end), Ordering::Relaxed);
}

fn instrumented(c: &mut Criterion) {
    let clock = quanta::Clock::new();
    let mut g = c.benchmark_group("instrumented_fn");
    g.bench_function("bare_call", |b| b.iter(bare_empty));
    g.bench_function("clock_reads_plus_add", |b| {
        b.iter(|| clock_baseline(&clock));
    });
    g.bench_function("telltale_timed", |b| b.iter(timed_empty));
    g.finish();

    let mut g = c.benchmark_group("instrumented_err_fn");
    g.bench_function("bare_call", |b| b.iter(|| black_box(bare_err())));
    g.bench_function("clock_reads_plus_add", |b| {
        b.iter(|| {
            let start = clock.raw();
            let r = black_box(bare_err());
            let end = clock.raw();
            ATOMIC.fetch_add(clock.delta_as_nanos(start, end), Ordering::Relaxed);
            r
        });
    });
    g.bench_function("telltale_tracked", |b| b.iter(|| black_box(tracked_err())));
    g.finish();
}

fn counters(c: &mut Criterion) {
    let mut g = c.benchmark_group("counter_inc");
    g.bench_function("atomic_fetch_add", |b| {
        b.iter(|| ATOMIC.fetch_add(black_box(1), Ordering::Relaxed));
    });
    g.bench_function("telltale_counter", |b| {
        b.iter(|| COUNTER.inc_by(black_box(1)));
    });
    g.finish();

    let mut g = c.benchmark_group("histogram_record");
    g.bench_function("atomic_fetch_add", |b| {
        b.iter(|| ATOMIC.fetch_add(black_box(1), Ordering::Relaxed));
    });
    let mut v = 0.0001f64;
    g.bench_function("telltale_histogram", |b| {
        b.iter(|| {
            v = if v > 10.0 { 0.0001 } else { v * 1.01 };
            HISTOGRAM.observe(black_box(v));
        });
    });
    g.finish();
}

/// Runs `iters` calls on each of `threads` threads at once and returns the
/// mean wall time one thread took, so that 1 and 2 threads compare per thread.
fn per_thread(threads: usize, iters: u64) -> Duration {
    let barrier = std::sync::Barrier::new(threads);
    let total: Duration = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        timed_empty();
                    }
                    start.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .sum()
    });
    total / threads as u32
}

fn contention(c: &mut Criterion) {
    let mut g = c.benchmark_group("timed_threads");
    g.bench_function("1_thread", |b| b.iter_custom(|iters| per_thread(1, iters)));
    g.bench_function("2_threads_per_thread", |b| {
        b.iter_custom(|iters| per_thread(2, iters));
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = instrumented, counters, contention
}
criterion_main!(benches);
