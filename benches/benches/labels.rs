//! Labeled counter increments, telltale beside its peers, in one run.
//!
//! Each iteration increments the series of the next label set in a cycle of
//! eight (every series exists after the first round), looking it up the way
//! each library's documentation recommends:
//!
//! | group | telltale | peers |
//! |---|---|---|
//! | `labeled_inc_bounded` (two labels, values from fixed sets) | `Family<L, Counter>::labels(..).inc()`, `L` a derived `LabelSet` of two `LabelValue` enums | prometheus-static-metric `get(..).get(..)` on label enums, prometheus `with_label_values`, prometheus-client `Family::get_or_create` of an `EncodeLabelSet` struct of two `EncodeLabelValue` enums, metrics `counter!` with two `&'static str` labels |
//! | `labeled_inc_dynamic` (two labels, values are runtime strings) | `Family` of a `LabelSet` of two `&str` | prometheus `with_label_values`, prometheus-client `Family` of a struct of two `String`s, metrics `counter!` with two owned labels |
//!
//! `unlabeled_counter` and `telltale_cached_handle` are telltale's own
//! baselines; `telltale_dynamic_metric` is the runtime-named metric API.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use telltale::{dynamic, Counter, Family, LabelSet, LabelValue};

// ---------------------------------------------------------------------------
// telltale

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

const METHODS: [Method; 4] = [Method::Get, Method::Post, Method::Put, Method::Delete];
const STATUSES: [Status; 2] = [Status::Ok, Status::ClientError];

// ---------------------------------------------------------------------------
// prometheus 0.14 + prometheus-static-metric 0.5 (docs.rs/prometheus-static-metric
// and its `metric_enum` example: label enums, a static struct built from a
// registered `IntCounterVec`, `get(..)` per label).

prometheus_static_metric::make_static_metric! {
    pub label_enum PromMethod {
        get,
        post,
        put,
        delete,
    }

    pub label_enum PromStatus {
        ok,
        client_error,
    }

    pub struct PromHttp: IntCounter {
        "method" => PromMethod,
        "status" => PromStatus,
    }
}

const PROM_METHODS: [PromMethod; 4] = [
    PromMethod::get,
    PromMethod::post,
    PromMethod::put,
    PromMethod::delete,
];
const PROM_STATUSES: [PromStatus; 2] = [PromStatus::ok, PromStatus::client_error];
const METHOD_STRS: [&str; 4] = ["get", "post", "put", "delete"];
const STATUS_STRS: [&str; 2] = ["ok", "client_error"];

// ---------------------------------------------------------------------------
// prometheus-client 0.25 (docs.rs/prometheus-client, "Family": a label set
// struct deriving `EncodeLabelSet`, enums deriving `EncodeLabelValue`).

mod pc {
    use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};

    #[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
    pub enum Method {
        Get,
        Post,
        Put,
        Delete,
    }

    #[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
    pub enum Status {
        Ok,
        ClientError,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Http {
        pub method: Method,
        pub status: Status,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Route {
        pub path: String,
        pub verb: String,
    }

    pub const METHODS: [Method; 4] = [Method::Get, Method::Post, Method::Put, Method::Delete];
    pub const STATUSES: [Status; 2] = [Status::Ok, Status::ClientError];
}

/// Runs `f(k)` for `k` in `0..iters` and returns the time it took. The loop
/// counter stays in a register, as in criterion's own loop.
fn looped(iters: u64, mut f: impl FnMut(usize)) -> Duration {
    let start = Instant::now();
    for k in 0..iters {
        f(k as usize);
    }
    start.elapsed()
}

fn bounded(c: &mut Criterion) {
    let mut g = c.benchmark_group("labeled_inc_bounded");
    g.bench_function("unlabeled_counter", |b| b.iter(|| UNLABELED.inc()));
    let sets: Vec<Http> = (0..8)
        .map(|k| Http {
            method: METHODS[k & 3],
            status: STATUSES[k >> 2],
        })
        .collect();
    g.bench_function("telltale", |b| {
        b.iter_custom(|iters| looped(iters, |k| DENSE.labels(sets[k & 7]).inc()));
    });
    let handle = DENSE.labels(Http {
        method: Method::Get,
        status: Status::ServerError,
    });
    g.bench_function("telltale_cached_handle", |b| {
        b.iter(|| black_box(handle).inc());
    });

    let registry = prometheus::Registry::new();
    let vec = prometheus::IntCounterVec::new(
        prometheus::Opts::new("bench_prom_bounded_total", "Bench."),
        &["method", "status"],
    )
    .expect("a counter vec");
    registry.register(Box::new(vec.clone())).expect("register");
    let static_metric = PromHttp::from(&vec);
    g.bench_function("prometheus_static_metric", |b| {
        b.iter_custom(|iters| {
            looped(iters, |k| {
                static_metric
                    .get(PROM_METHODS[k & 3])
                    .get(PROM_STATUSES[(k >> 2) & 1])
                    .inc();
            })
        });
    });
    g.bench_function("prometheus", |b| {
        b.iter_custom(|iters| {
            looped(iters, |k| {
                vec.with_label_values(&[METHOD_STRS[k & 3], STATUS_STRS[(k >> 2) & 1]])
                    .inc();
            })
        });
    });

    let mut pc_registry = prometheus_client::registry::Registry::default();
    let family = prometheus_client::metrics::family::Family::<
        pc::Http,
        prometheus_client::metrics::counter::Counter,
    >::default();
    pc_registry.register("bench_pc_bounded", "Bench.", family.clone());
    g.bench_function("prometheus_client", |b| {
        b.iter_custom(|iters| {
            looped(iters, |k| {
                family
                    .get_or_create(&pc::Http {
                        method: pc::METHODS[k & 3],
                        status: pc::STATUSES[(k >> 2) & 1],
                    })
                    .inc();
            })
        });
    });

    // docs.rs/metrics-exporter-prometheus: `build_recorder`, used here as the
    // local recorder of this bench only.
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    metrics::with_local_recorder(&recorder, || {
        g.bench_function("metrics", |b| {
            b.iter_custom(|iters| {
                looped(iters, |k| {
                    metrics::counter!(
                        "bench_metrics_bounded_total",
                        "method" => METHOD_STRS[k & 3],
                        "status" => STATUS_STRS[(k >> 2) & 1]
                    )
                    .increment(1);
                })
            });
        });
    });
    g.finish();
}

fn dynamic_labels(c: &mut Criterion) {
    let paths = ["/users", "/orders", "/items", "/health"];
    let verbs = ["GET", "POST"];
    let mut g = c.benchmark_group("labeled_inc_dynamic");
    g.bench_function("telltale", |b| {
        b.iter_custom(|iters| {
            looped(iters, |k| {
                HASHED
                    .labels(Route {
                        path: black_box(paths[k & 3]),
                        verb: black_box(verbs[(k >> 2) & 1]),
                    })
                    .inc();
            })
        });
    });
    let metric = dynamic::counter("bench_dynamic_total")
        .required_labels(["path", "verb"])
        .register()
        .unwrap_or_else(|e| panic!("{e}"));
    g.bench_function("telltale_dynamic_metric", |b| {
        b.iter_custom(|iters| {
            looped(iters, |k| {
                let _ = metric
                    .labels([
                        ("path", black_box(paths[k & 3])),
                        ("verb", black_box(verbs[(k >> 2) & 1])),
                    ])
                    .inc();
            })
        });
    });

    let registry = prometheus::Registry::new();
    let vec = prometheus::IntCounterVec::new(
        prometheus::Opts::new("bench_prom_dynamic_total", "Bench."),
        &["path", "verb"],
    )
    .expect("a counter vec");
    registry.register(Box::new(vec.clone())).expect("register");
    g.bench_function("prometheus", |b| {
        b.iter_custom(|iters| {
            looped(iters, |k| {
                vec.with_label_values(&[black_box(paths[k & 3]), black_box(verbs[(k >> 2) & 1])])
                    .inc();
            })
        });
    });

    let mut pc_registry = prometheus_client::registry::Registry::default();
    let family = prometheus_client::metrics::family::Family::<
        pc::Route,
        prometheus_client::metrics::counter::Counter,
    >::default();
    pc_registry.register("bench_pc_dynamic", "Bench.", family.clone());
    g.bench_function("prometheus_client", |b| {
        b.iter_custom(|iters| {
            looped(iters, |k| {
                family
                    .get_or_create(&pc::Route {
                        path: black_box(paths[k & 3]).to_owned(),
                        verb: black_box(verbs[(k >> 2) & 1]).to_owned(),
                    })
                    .inc();
            })
        });
    });

    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    metrics::with_local_recorder(&recorder, || {
        g.bench_function("metrics", |b| {
            b.iter_custom(|iters| {
                looped(iters, |k| {
                    metrics::counter!(
                        "bench_metrics_dynamic_total",
                        "path" => black_box(paths[k & 3]).to_owned(),
                        "verb" => black_box(verbs[(k >> 2) & 1]).to_owned()
                    )
                    .increment(1);
                })
            });
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bounded, dynamic_labels
}
criterion_main!(benches);
