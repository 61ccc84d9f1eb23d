//! Rendering 10,000 series to Prometheus text, telltale beside its peers.
//!
//! Each library holds the same series in its own registry, set up once
//! before timing: nine counter families of 1,000 series and one histogram
//! family of 1,000 series (14 classic buckets), all labeled `id`. Each timed
//! iteration renders the whole registry into a reused buffer. This bench has
//! its own binary, so telltale's global registry holds only these series.
//!
//! | library | registration | rendering |
//! |---|---|---|
//! | telltale | `Family<Id, Counter>` / `Family<Id, Histogram>` | `encode::render_into` (Prometheus 0.0.4) |
//! | prometheus | `IntCounterVec` / `HistogramVec` in a `Registry` | `TextEncoder::encode_utf8` of `gather()` |
//! | prometheus-client | `Family<Id, Counter>` / `Family<Id, Histogram>` | `encoding::text::encode` (OpenMetrics text: the only text it writes) |
//! | metrics | `counter!` / `histogram!` with an `id` label, into a `PrometheusRecorder` | `PrometheusHandle::render_to_write` |
//!
//! `telltale_openmetrics` renders the same in OpenMetrics text, and
//! `telltale_via_snapshot` through an owned `Snapshot` (the path of JSON,
//! CSV and the push exporters); `benches/report` does not show them.
//!
//! autometrics renders through the prometheus crate and metered has no
//! Prometheus encoder of its own, so neither has a row here.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use telltale::{Counter, Family, Histogram, LabelSet};

const SERIES_PER_FAMILY: usize = 1_000;
const BUCKETS: &[f64] = telltale::FUNCTION_CALL_BUCKETS;

#[derive(LabelSet)]
struct Id {
    id: String,
}

static COUNTERS: [Family<Id, Counter>; 9] = [
    Family::new("render_c0_total", "Render bench counter."),
    Family::new("render_c1_total", "Render bench counter."),
    Family::new("render_c2_total", "Render bench counter."),
    Family::new("render_c3_total", "Render bench counter."),
    Family::new("render_c4_total", "Render bench counter."),
    Family::new("render_c5_total", "Render bench counter."),
    Family::new("render_c6_total", "Render bench counter."),
    Family::new("render_c7_total", "Render bench counter."),
    Family::new("render_c8_total", "Render bench counter."),
];
static HISTOGRAMS: Family<Id, Histogram> =
    Family::new("render_h_seconds", "Render bench histogram.").with_buckets(BUCKETS);

/// The three values every histogram series observes.
const OBSERVED: [f64; 3] = [0.003, 0.04, 1.5];

fn ids() -> impl Iterator<Item = (u64, String)> {
    (0..SERIES_PER_FAMILY as u64).map(|i| (i, i.to_string()))
}

fn telltale_setup() {
    for family in &COUNTERS {
        for (i, id) in ids() {
            family.labels(Id { id }).inc_by(i + 1);
        }
    }
    for (_, id) in ids() {
        let h = HISTOGRAMS.labels(Id { id });
        for v in OBSERVED {
            h.observe(v);
        }
    }
}

// prometheus 0.14 (docs.rs/prometheus: vectors registered in a `Registry`,
// `TextEncoder` over `gather()`).
fn prometheus_setup() -> prometheus::Registry {
    let registry = prometheus::Registry::new();
    for f in 0..9 {
        let vec = prometheus::IntCounterVec::new(
            prometheus::Opts::new(format!("render_c{f}_total"), "Render bench counter."),
            &["id"],
        )
        .expect("a counter vec");
        registry.register(Box::new(vec.clone())).expect("register");
        for (i, id) in ids() {
            vec.with_label_values(&[id.as_str()]).inc_by(i + 1);
        }
    }
    let hist = prometheus::HistogramVec::new(
        prometheus::HistogramOpts::new("render_h_seconds", "Render bench histogram.")
            .buckets(BUCKETS.to_vec()),
        &["id"],
    )
    .expect("a histogram vec");
    registry.register(Box::new(hist.clone())).expect("register");
    for (_, id) in ids() {
        let h = hist.with_label_values(&[id.as_str()]);
        for v in OBSERVED {
            h.observe(v);
        }
    }
    registry
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct PcId {
    id: String,
}

// prometheus-client 0.25 (docs.rs/prometheus-client: `Family` registered in a
// `Registry`, `Family::new_with_constructor` for histogram buckets,
// `encoding::text::encode`).
fn prometheus_client_setup() -> prometheus_client::registry::Registry {
    use prometheus_client::metrics::counter::Counter as PcCounter;
    use prometheus_client::metrics::family::Family as PcFamily;
    use prometheus_client::metrics::histogram::Histogram as PcHistogram;

    let mut registry = prometheus_client::registry::Registry::default();
    for f in 0..9 {
        let family = PcFamily::<PcId, PcCounter>::default();
        // prometheus-client appends `_total` to counters itself.
        registry.register(
            format!("render_c{f}"),
            "Render bench counter.",
            family.clone(),
        );
        for (i, id) in ids() {
            family.get_or_create(&PcId { id }).inc_by(i + 1);
        }
    }
    let family = PcFamily::<PcId, PcHistogram>::new_with_constructor(
        (|| PcHistogram::new(BUCKETS.iter().copied())) as fn() -> PcHistogram,
    );
    registry.register(
        "render_h_seconds",
        "Render bench histogram.",
        family.clone(),
    );
    for (_, id) in ids() {
        let h = family.get_or_create(&PcId { id });
        for v in OBSERVED {
            h.observe(v);
        }
    }
    registry
}

// metrics 0.24 + metrics-exporter-prometheus 0.18 (docs.rs: `PrometheusBuilder`
// with buckets so histograms render as histograms; series created through
// the macros while the recorder is the local one).
fn metrics_setup() -> metrics_exporter_prometheus::PrometheusRecorder {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(BUCKETS)
        .expect("buckets")
        .build_recorder();
    metrics::with_local_recorder(&recorder, || {
        const NAMES: [&str; 9] = [
            "render_c0_total",
            "render_c1_total",
            "render_c2_total",
            "render_c3_total",
            "render_c4_total",
            "render_c5_total",
            "render_c6_total",
            "render_c7_total",
            "render_c8_total",
        ];
        for name in NAMES {
            metrics::describe_counter!(name, "Render bench counter.");
            for (i, id) in ids() {
                metrics::counter!(name, "id" => id).increment(i + 1);
            }
        }
        metrics::describe_histogram!("render_h_seconds", "Render bench histogram.");
        for (_, id) in ids() {
            let h = metrics::histogram!("render_h_seconds", "id" => id);
            for v in OBSERVED {
                h.record(v);
            }
        }
    });
    recorder
}

/// Counts the sample lines (not `#` lines) of a rendering, as a check that
/// every library renders the same series.
fn samples(text: &str) -> usize {
    text.lines().filter(|l| !l.starts_with('#')).count()
}

fn render(c: &mut Criterion) {
    telltale_setup();
    let prom = prometheus_setup();
    let pc = prometheus_client_setup();
    let recorder = metrics_setup();
    let handle = recorder.handle();

    let mut g = c.benchmark_group("render_10k_series");
    g.sample_size(20);

    let mut out = String::with_capacity(1 << 20);
    let telltale_render = |out: &mut String, format| {
        out.clear();
        telltale::encode::render_into(format, out);
    };
    telltale_render(&mut out, telltale::Format::Prometheus);
    let mut check = format!("sample lines: telltale {}", samples(&out));
    g.bench_function("telltale", |b| {
        b.iter(|| {
            telltale_render(&mut out, telltale::Format::Prometheus);
            black_box(out.len())
        });
    });
    // The same in OpenMetrics, the format prometheus-client writes.
    g.bench_function("telltale_openmetrics", |b| {
        b.iter(|| {
            telltale_render(&mut out, telltale::Format::OpenMetrics);
            black_box(out.len())
        });
    });
    // Through an owned `Snapshot`, the path of JSON, CSV and the push
    // exporters.
    g.bench_function("telltale_via_snapshot", |b| {
        b.iter(|| {
            out.clear();
            let snapshot = telltale::Snapshot::collect();
            telltale::encode::encode(&snapshot, telltale::Format::Prometheus, &mut out);
            black_box(out.len())
        });
    });

    let encoder = prometheus::TextEncoder::new();
    let prom_render = |out: &mut String| {
        out.clear();
        encoder
            .encode_utf8(&prom.gather(), out)
            .expect("prometheus encodes");
    };
    prom_render(&mut out);
    let _ = write!(check, ", prometheus {}", samples(&out));
    g.bench_function("prometheus", |b| {
        b.iter(|| {
            prom_render(&mut out);
            black_box(out.len())
        });
    });

    let pc_render = |out: &mut String| {
        out.clear();
        prometheus_client::encoding::text::encode(out, &pc).expect("prometheus-client encodes");
    };
    pc_render(&mut out);
    // Its OpenMetrics text has a `_created` line per counter series and `# EOF`.
    let _ = write!(check, ", prometheus-client {}", samples(&out));
    g.bench_function("prometheus_client", |b| {
        b.iter(|| {
            pc_render(&mut out);
            black_box(out.len())
        });
    });

    let mut bytes = Vec::with_capacity(1 << 20);
    let metrics_render = |bytes: &mut Vec<u8>| {
        bytes.clear();
        handle.render_to_write(bytes).expect("metrics renders");
    };
    metrics_render(&mut bytes);
    let _ = write!(
        check,
        ", metrics {}",
        samples(std::str::from_utf8(&bytes).unwrap_or(""))
    );
    g.bench_function("metrics", |b| {
        b.iter(|| {
            metrics_render(&mut bytes);
            black_box(bytes.len())
        });
    });
    g.finish();
    eprintln!("render_10k_series {check}");
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = render
}
criterion_main!(benches);
