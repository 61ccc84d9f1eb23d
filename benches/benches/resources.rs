//! The cost of one resource sample (target: under 1 ms).
//!
//! | bench | what |
//! |---|---|
//! | `sample` | `telltale::resources::sample()`: process and system figures, disk usage of `/`, every network interface |
//! | `render_with_resources` | `telltale::render(Prometheus)` once a sample exists |

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use telltale::resources;

fn sample(c: &mut Criterion) {
    resources::sample().expect("a resource sample");
    c.bench_function("resources/sample", |b| {
        b.iter(|| black_box(resources::sample().expect("a resource sample")));
    });
    c.bench_function("resources/render_with_resources", |b| {
        b.iter(|| black_box(telltale::render(telltale::Format::Prometheus)));
    });
}

criterion_group!(benches, sample);
criterion_main!(benches);
