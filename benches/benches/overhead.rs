//! Hot-path cost of telltale beside its baselines and its peers, in one run.
//!
//! Every group measures the same work once per library, each written the way
//! that library's documentation recommends:
//!
//! | group | telltale | peers |
//! |---|---|---|
//! | `instrumented_fn` (empty fn, duration recorded) | `#[timed]` | autometrics `#[autometrics]`, metered `#[measure(ResponseTime)]`, prometheus `Histogram::start_timer`, prometheus-client `Histogram::observe` of an `Instant`, metrics `histogram!` of an `Instant` |
//! | `instrumented_err_fn` (returns `Err`, duration + error count) | `#[tracked]` | autometrics, metered `#[measure([ErrorCount, ResponseTime])]`, the timers above plus a counter increment on `Err` |
//! | `counter_inc` | `Counter::inc` | prometheus `IntCounter::inc`, prometheus-client `Counter::inc`, metrics `Counter::increment` (handle kept), metered `HitCount` |
//! | `histogram_record` | `Histogram::observe` | prometheus / prometheus-client `observe`, metrics `Histogram::record` (handle kept) |
//! | `threads_one_series` (2 threads on one instrumented fn, per-thread cost) | `#[timed]` | the instrumented fns above |
//!
//! Baselines (bare call, two clock reads and one add, one atomic add) are in
//! the same groups. `benches/report` turns the results into the README's
//! Performance table.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use telltale::{timed, tracked, Counter, Histogram, LabelValue};

#[derive(Debug, LabelValue)]
enum BenchError {
    Failed,
}

// ---------------------------------------------------------------------------
// telltale

#[timed]
#[inline(never)]
fn timed_empty() {}

#[tracked]
#[inline(never)]
fn tracked_err() -> Result<(), BenchError> {
    Err(BenchError::Failed)
}

static COUNTER: Counter = Counter::new("bench_counter_total", "Bench counter.");
static HISTOGRAM: Histogram = Histogram::new("bench_histogram", "Bench histogram.");

// ---------------------------------------------------------------------------
// Baselines

#[inline(never)]
fn bare_empty() {}

#[inline(never)]
fn bare_err() -> Result<(), BenchError> {
    Err(BenchError::Failed)
}

static ATOMIC: AtomicU64 = AtomicU64::new(0);

/// Two clock reads and one relaxed add: the least any latency recorder does.
#[inline(never)]
fn clock_baseline(clock: &quanta::Clock) {
    let start = clock.raw();
    bare_empty();
    let end = clock.raw();
    ATOMIC.fetch_add(clock.delta_as_nanos(start, end), Ordering::Relaxed);
}

// ---------------------------------------------------------------------------
// autometrics 3, prometheus 0.14 backend (docs.rs/autometrics: the
// `#[autometrics]` attribute on the function, `prometheus_exporter::init()`
// once at startup).

mod auto {
    use autometrics::autometrics;

    #[autometrics]
    #[inline(never)]
    pub fn empty() {}

    #[autometrics]
    #[inline(never)]
    pub fn err() -> Result<(), super::BenchError> {
        Err(super::BenchError::Failed)
    }
}

// ---------------------------------------------------------------------------
// metered 0.9 (docs.rs/metered, "Example using procedural macros
// (recommended)": a registry per `impl` block, `#[measure]` per method).

use metered::{ErrorCount, ResponseTime};

#[derive(Default, Debug)]
struct Metered {
    metrics: MeteredMetrics,
}

#[metered::metered(registry = MeteredMetrics)]
impl Metered {
    #[measure(ResponseTime)]
    #[inline(never)]
    fn empty(&self) {}

    #[measure([ErrorCount, ResponseTime])]
    #[inline(never)]
    fn err(&self) -> Result<(), BenchError> {
        Err(BenchError::Failed)
    }
}

static METERED: LazyLock<Metered> = LazyLock::new(Metered::default);

#[derive(Default, Debug)]
struct MeteredCounter {
    hits: metered::HitCount,
}

static METERED_COUNTER: LazyLock<MeteredCounter> = LazyLock::new(MeteredCounter::default);

// ---------------------------------------------------------------------------
// prometheus 0.14 (docs.rs/prometheus: metrics registered in the default
// registry behind a lazy static, `Histogram::start_timer` observing on drop).

static PROM_HIST: LazyLock<prometheus::Histogram> = LazyLock::new(|| {
    prometheus::register_histogram!("bench_prom_fn_seconds", "Bench.").expect("register")
});
static PROM_ERRORS: LazyLock<prometheus::IntCounter> = LazyLock::new(|| {
    prometheus::register_int_counter!("bench_prom_fn_errors_total", "Bench.").expect("register")
});
static PROM_COUNTER: LazyLock<prometheus::IntCounter> = LazyLock::new(|| {
    prometheus::register_int_counter!("bench_prom_counter_total", "Bench.").expect("register")
});
static PROM_HISTOGRAM: LazyLock<prometheus::Histogram> = LazyLock::new(|| {
    prometheus::register_histogram!("bench_prom_histogram", "Bench.").expect("register")
});

#[inline(never)]
fn prom_empty() {
    let _timer = PROM_HIST.start_timer();
    bare_empty();
}

#[inline(never)]
fn prom_err() -> Result<(), BenchError> {
    let _timer = PROM_HIST.start_timer();
    let r = bare_err();
    if r.is_err() {
        PROM_ERRORS.inc();
    }
    r
}

// ---------------------------------------------------------------------------
// prometheus-client 0.25 (docs.rs/prometheus-client: metrics created, then
// registered in a `Registry`; it has no timer, so an `Instant` is observed
// in seconds).

struct PromClient {
    hist: prometheus_client::metrics::histogram::Histogram,
    errors: prometheus_client::metrics::counter::Counter,
    counter: prometheus_client::metrics::counter::Counter,
    histogram: prometheus_client::metrics::histogram::Histogram,
    _registry: prometheus_client::registry::Registry,
}

static PROM_CLIENT: LazyLock<PromClient> = LazyLock::new(|| {
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
    let hist = Histogram::new(exponential_buckets(0.005, 2.0, 12));
    let histogram = Histogram::new(exponential_buckets(0.005, 2.0, 12));
    let (errors, counter) = (Counter::default(), Counter::default());
    let mut registry = prometheus_client::registry::Registry::default();
    registry.register("bench_pc_fn_seconds", "Bench.", hist.clone());
    registry.register("bench_pc_fn_errors", "Bench.", errors.clone());
    registry.register("bench_pc_counter", "Bench.", counter.clone());
    registry.register("bench_pc_histogram", "Bench.", histogram.clone());
    PromClient {
        hist,
        errors,
        counter,
        histogram,
        _registry: registry,
    }
});

#[inline(never)]
fn pc_empty() {
    let start = Instant::now();
    bare_empty();
    PROM_CLIENT.hist.observe(start.elapsed().as_secs_f64());
}

#[inline(never)]
fn pc_err() -> Result<(), BenchError> {
    let start = Instant::now();
    let r = bare_err();
    if r.is_err() {
        PROM_CLIENT.errors.inc();
    }
    PROM_CLIENT.hist.observe(start.elapsed().as_secs_f64());
    r
}

// ---------------------------------------------------------------------------
// metrics 0.24 + metrics-exporter-prometheus 0.18 (docs.rs/metrics: the
// `histogram!` / `counter!` macros at the call site, `record` of an elapsed
// `Duration`; docs.rs/metrics-exporter-prometheus: `install_recorder` with
// buckets so histograms render as histograms).

fn install_metrics_recorder() {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(telltale::FUNCTION_CALL_BUCKETS)
        .expect("buckets")
        .install_recorder()
        .expect("install the metrics recorder");
}

#[inline(never)]
fn metrics_empty() {
    let start = Instant::now();
    bare_empty();
    metrics::histogram!("bench_metrics_fn_seconds").record(start.elapsed());
}

#[inline(never)]
fn metrics_err() -> Result<(), BenchError> {
    let start = Instant::now();
    let r = bare_err();
    if r.is_err() {
        metrics::counter!("bench_metrics_fn_errors_total").increment(1);
    }
    metrics::histogram!("bench_metrics_fn_seconds").record(start.elapsed());
    r
}

// ---------------------------------------------------------------------------

/// Installs the global recorders of metrics and autometrics, once.
fn init_peers() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        install_metrics_recorder();
        autometrics::prometheus_exporter::init();
    });
}

fn instrumented(c: &mut Criterion) {
    init_peers();
    let clock = quanta::Clock::new();
    let mut g = c.benchmark_group("instrumented_fn");
    g.bench_function("bare_call", |b| b.iter(bare_empty));
    g.bench_function("clock_reads_plus_add", |b| {
        b.iter(|| clock_baseline(&clock));
    });
    g.bench_function("telltale", |b| b.iter(timed_empty));
    g.bench_function("autometrics", |b| b.iter(auto::empty));
    g.bench_function("metered", |b| b.iter(|| METERED.empty()));
    g.bench_function("prometheus", |b| b.iter(prom_empty));
    g.bench_function("prometheus_client", |b| b.iter(pc_empty));
    g.bench_function("metrics", |b| b.iter(metrics_empty));
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
    g.bench_function("telltale", |b| b.iter(|| black_box(tracked_err())));
    g.bench_function("autometrics", |b| b.iter(|| black_box(auto::err())));
    g.bench_function("metered", |b| b.iter(|| black_box(METERED.err())));
    g.bench_function("prometheus", |b| b.iter(|| black_box(prom_err())));
    g.bench_function("prometheus_client", |b| b.iter(|| black_box(pc_err())));
    g.bench_function("metrics", |b| b.iter(|| black_box(metrics_err())));
    g.finish();
}

fn counters(c: &mut Criterion) {
    init_peers();
    let mut g = c.benchmark_group("counter_inc");
    g.bench_function("atomic_fetch_add", |b| {
        b.iter(|| ATOMIC.fetch_add(black_box(1), Ordering::Relaxed));
    });
    g.bench_function("telltale", |b| b.iter(|| COUNTER.inc()));
    let metered = &METERED_COUNTER.hits;
    g.bench_function("metered", |b| b.iter(|| metered::measure!(metered, {})));
    let prom = &*PROM_COUNTER;
    g.bench_function("prometheus", |b| b.iter(|| prom.inc()));
    let pc = &PROM_CLIENT.counter;
    g.bench_function("prometheus_client", |b| b.iter(|| pc.inc()));
    let handle = metrics::counter!("bench_metrics_counter_total");
    g.bench_function("metrics", |b| b.iter(|| handle.increment(1)));
    g.finish();

    let mut g = c.benchmark_group("histogram_record");
    g.bench_function("atomic_fetch_add", |b| {
        b.iter(|| ATOMIC.fetch_add(black_box(1), Ordering::Relaxed));
    });
    let mut v = 0.0001f64;
    let mut next = move || {
        v = if v > 10.0 { 0.0001 } else { v * 1.01 };
        black_box(v)
    };
    g.bench_function("telltale", |b| b.iter(|| HISTOGRAM.observe(next())));
    let prom = &*PROM_HISTOGRAM;
    g.bench_function("prometheus", |b| b.iter(|| prom.observe(next())));
    let pc = &PROM_CLIENT.histogram;
    g.bench_function("prometheus_client", |b| b.iter(|| pc.observe(next())));
    let handle = metrics::histogram!("bench_metrics_histogram");
    g.bench_function("metrics", |b| b.iter(|| handle.record(next())));
    g.finish();
}

/// Runs `iters` calls of `f` on each of `threads` threads at once and returns
/// the mean wall time one thread took, so that 1 and 2 threads compare per
/// thread.
fn per_thread(threads: usize, iters: u64, f: fn()) -> Duration {
    let barrier = std::sync::Barrier::new(threads);
    let total: Duration = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        f();
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
    init_peers();
    let mut g = c.benchmark_group("threads_one_series");
    g.bench_function("telltale_1_thread", |b| {
        b.iter_custom(|iters| per_thread(1, iters, timed_empty));
    });
    let cases: [(&str, fn()); 6] = [
        ("telltale", timed_empty),
        ("autometrics", auto::empty),
        ("metered", || METERED.empty()),
        ("prometheus", prom_empty),
        ("prometheus_client", pc_empty),
        ("metrics", metrics_empty),
    ];
    for (name, f) in cases {
        g.bench_function(name, |b| b.iter_custom(|iters| per_thread(2, iters, f)));
    }
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
