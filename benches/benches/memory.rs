//! Heap bytes per series, telltale beside its peers (not a timing).
//!
//! A counting global allocator tracks live heap bytes. For each library this
//! creates one family of N = 10,000 counter series (one `id` label, a runtime
//! string), increments each once, and reports (live bytes after - before) / N;
//! then the same for N histogram series with three observations each and the
//! 14 default buckets. Everything a library allocated for them is counted:
//! registry, family, label storage, cells. The results are printed and
//! written to `<target>/telltale-bench/memory.json` for `benches/report`.
//!
//! autometrics stores its series in the prometheus crate's vectors and
//! metered has one fixed struct per measured method, so neither can create
//! series at runtime; neither has a row here.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicIsize, Ordering};

use telltale::{Counter, Family, Histogram, LabelSet};

/// Counts live heap bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; the counter is only
// bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const N: usize = 10_000;
const BUCKETS: &[f64] = telltale::FUNCTION_CALL_BUCKETS;
const OBSERVED: [f64; 3] = [0.003, 0.04, 1.5];

/// Live heap bytes per series that `create` left behind; what it returns is
/// kept alive until measured.
fn per_series<T>(create: impl FnOnce() -> T) -> f64 {
    let before = LIVE.load(Ordering::Relaxed);
    let kept = create();
    let after = LIVE.load(Ordering::Relaxed);
    // Leaked on purpose: dropping would not change the figure, and some
    // libraries' storage is global anyway.
    std::mem::forget(kept);
    (after - before) as f64 / N as f64
}

fn ids() -> impl Iterator<Item = String> {
    (0..N).map(|i| i.to_string())
}

#[derive(LabelSet)]
struct Id {
    id: String,
}

static COUNTERS: Family<Id, Counter> =
    Family::new("memory_counter_total", "Memory bench.").with_cap(N);
static HISTOGRAMS: Family<Id, Histogram> = Family::new("memory_histogram_seconds", "Memory bench.")
    .with_cap(N)
    .with_buckets(BUCKETS);

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct PcId {
    id: String,
}

type Row = (&'static str, f64);

fn counters() -> Vec<Row> {
    let telltale = per_series(|| {
        for id in ids() {
            COUNTERS.labels(Id { id }).inc();
        }
    });
    // prometheus 0.14: an `IntCounterVec` in a `Registry`, `with_label_values`.
    let prometheus = per_series(|| {
        let registry = prometheus::Registry::new();
        let vec = prometheus::IntCounterVec::new(
            prometheus::Opts::new("memory_counter_total", "Memory bench."),
            &["id"],
        )
        .expect("a counter vec");
        registry.register(Box::new(vec.clone())).expect("register");
        for id in ids() {
            vec.with_label_values(&[id.as_str()]).inc();
        }
        (registry, vec)
    });
    // prometheus-client 0.25: a `Family` in a `Registry`, `get_or_create`.
    let prometheus_client = per_series(|| {
        let mut registry = prometheus_client::registry::Registry::default();
        let family = prometheus_client::metrics::family::Family::<
            PcId,
            prometheus_client::metrics::counter::Counter,
        >::default();
        registry.register("memory_counter", "Memory bench.", family.clone());
        for id in ids() {
            family.get_or_create(&PcId { id }).inc();
        }
        registry
    });
    // metrics 0.24 + metrics-exporter-prometheus 0.18: `counter!` with an
    // owned label into a `PrometheusRecorder`.
    let metrics = per_series(|| {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        metrics::with_local_recorder(&recorder, || {
            for id in ids() {
                metrics::counter!("memory_counter_total", "id" => id).increment(1);
            }
        });
        recorder
    });
    vec![
        ("telltale", telltale),
        ("prometheus", prometheus),
        ("prometheus_client", prometheus_client),
        ("metrics", metrics),
    ]
}

fn histograms() -> Vec<Row> {
    let telltale = per_series(|| {
        for id in ids() {
            let h = HISTOGRAMS.labels(Id { id });
            for v in OBSERVED {
                h.observe(v);
            }
        }
    });
    let prometheus = per_series(|| {
        let registry = prometheus::Registry::new();
        let vec = prometheus::HistogramVec::new(
            prometheus::HistogramOpts::new("memory_histogram_seconds", "Memory bench.")
                .buckets(BUCKETS.to_vec()),
            &["id"],
        )
        .expect("a histogram vec");
        registry.register(Box::new(vec.clone())).expect("register");
        for id in ids() {
            let h = vec.with_label_values(&[id.as_str()]);
            for v in OBSERVED {
                h.observe(v);
            }
        }
        (registry, vec)
    });
    let prometheus_client = per_series(|| {
        use prometheus_client::metrics::histogram::Histogram as PcHistogram;
        let mut registry = prometheus_client::registry::Registry::default();
        let family =
            prometheus_client::metrics::family::Family::<PcId, PcHistogram>::new_with_constructor(
                (|| PcHistogram::new(BUCKETS.iter().copied())) as fn() -> PcHistogram,
            );
        registry.register("memory_histogram_seconds", "Memory bench.", family.clone());
        for id in ids() {
            let h = family.get_or_create(&PcId { id });
            for v in OBSERVED {
                h.observe(v);
            }
        }
        registry
    });
    // Histogram samples wait in a buffer until the next render or upkeep,
    // which folds them into the buckets; the upkeep is counted too.
    let metrics = per_series(|| {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .expect("buckets")
            .build_recorder();
        metrics::with_local_recorder(&recorder, || {
            for id in ids() {
                let h = metrics::histogram!("memory_histogram_seconds", "id" => id);
                for v in OBSERVED {
                    h.record(v);
                }
            }
        });
        recorder.handle().run_upkeep();
        recorder
    });
    vec![
        ("telltale", telltale),
        ("prometheus", prometheus),
        ("prometheus_client", prometheus_client),
        ("metrics", metrics),
    ]
}

/// `<target>/telltale-bench`: `$CARGO_TARGET_DIR`, else three levels above
/// this binary (`<target>/release/deps/memory-…`).
fn out_dir() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || {
            std::env::current_exe()
                .ok()
                .and_then(|exe| exe.ancestors().nth(3).map(std::path::Path::to_path_buf))
                .unwrap_or_else(|| "target".into())
        },
        std::path::PathBuf::from,
    );
    target.join("telltale-bench")
}

fn main() {
    // Warm up whatever each library allocates once per process (thread
    // locals, clocks) so that it is not charged to the series.
    telltale::Snapshot::collect();
    let groups = [("counter", counters()), ("histogram", histograms())];
    // Where a telltale histogram series' bytes go: the cells (per-shard
    // pointer table, histogram shard, octave groups and blocks, as the
    // family counts them) and the rest, the label index.
    let total = groups[1].1[0].1;
    let cells = HISTOGRAMS.heap_bytes() as f64 / N as f64;
    println!(
        "memory/histogram/telltale: {cells:.1} bytes of cells (table, shard, octave groups and blocks), {:.1} of label index",
        total - cells
    );
    let mut json = format!("{{\"series\": {N}");
    for (kind, rows) in &groups {
        let _ = write!(json, ", \"{kind}\": {{");
        for (i, (lib, bytes)) in rows.iter().enumerate() {
            println!("memory/{kind}/{lib}: {bytes:.1} bytes per series");
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(json, "{sep}\"{lib}\": {bytes:.1}");
        }
        json.push('}');
    }
    json.push_str("}\n");
    let dir = out_dir();
    std::fs::create_dir_all(&dir).expect("create the results folder");
    let path = dir.join("memory.json");
    std::fs::write(&path, json).expect("write the results");
    println!("memory: wrote {}", path.display());
}
