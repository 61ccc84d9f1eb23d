//! The file backend, in one run:
//!
//! | bench | what |
//! |---|---|
//! | `backend_hot_path_file/{counter_inc,timed_call}/single` | the hot path before any backend is loaded |
//! | `backend_hot_path_file/{counter_inc,timed_call}/file` | the same after loading the file backend: a counter and a `#[timed]` function first used from then on, whose cells are in the mapped file (its flusher writing every 100 ms) |
//! | `backend_render/read_directory_16x1000` | merging 16 processes' files of 1,000 series each, read and decoded afresh |
//! | `backend_render/file_16x1000` | a Prometheus render in a process on the backend: its own values and the 16 others' |
//!
//! Python prometheus_client's multiprocess render of the same 16 × 1,000
//! series is timed in the same run (`scripts/multiprocess_render.py`) and
//! printed beside. Targets: the file hot path at most 1.5× single, a
//! render under 10 ms, 10× faster than Python's.

use std::hint::black_box;

use criterion::Criterion;
use telltale::backend::{self, file, Backend, FileOptions};

#[path = "common/backend.rs"]
mod common;

fn main() {
    if common::worker() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("telltale-bench-file-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("directory");
    let config = dir.with_extension("toml");
    std::fs::write(
        &config,
        format!("directory = {:?}\n", dir.display().to_string()),
    )
    .expect("config");
    common::run_workers(&[
        ("TELLTALE_BACKEND", std::path::Path::new("file")),
        ("TELLTALE_BACKEND_CONFIG", &config),
    ]);
    match common::python_render() {
        Some(ms) => {
            println!("python prometheus_client multiprocess render of 16 x 1000 series: {ms:.3} ms");
            common::record_python(ms);
        }
        None => println!("python prometheus_client multiprocess render: not measured (no python3 with prometheus_client)"),
    }
    let mut c = Criterion::default().configure_from_args();
    common::hot_path(&mut c, "file", "single");
    backend::load(Backend::File(FileOptions::new(&dir))).expect("file backend");
    common::hot_path(&mut c, "file", "file");
    let mut group = c.benchmark_group("backend_render");
    group.bench_function("read_directory_16x1000", |b| {
        b.iter(|| black_box(file::read_directory(&dir).expect("read")));
    });
    let text = telltale::render(telltale::Format::Prometheus);
    assert!(
        text.contains("bench_backend_series_total{id=\"999\"} 16\n"),
        "all 16 processes merged"
    );
    group.bench_function("file_16x1000", |b| {
        b.iter(|| black_box(telltale::render(telltale::Format::Prometheus)));
    });
    group.finish();
    c.final_summary();
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&config);
}
