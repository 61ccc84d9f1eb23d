//! The baseline of `sources.rs`'s `scrape_2000_series`: the same 2,000
//! gauges (20 families of 100 series) recorded in-process, rendered. In a
//! process of its own, so that neither registry holds the other's series.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use telltale::{dynamic, Format};

fn bench(c: &mut Criterion) {
    for f in 0..20 {
        let family = dynamic::gauge(format!("bench_source_{f}_value"))
            .help("A gauge of a bench source.")
            .required_labels(["series"])
            .register()
            .expect("register");
        for i in 0..100 {
            family
                .labels([("series", i.to_string().as_str())])
                .set(f64::from(i))
                .expect("set");
        }
    }
    let text = telltale::render(Format::Prometheus);
    assert!(text.contains("bench_source_19_value{series=\"99\"} 99"));
    let mut g = c.benchmark_group("scrape_2000_series");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("in_process", |b| {
        b.iter(|| black_box(telltale::render(Format::Prometheus)));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
