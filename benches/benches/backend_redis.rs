//! The Redis backend, in one run, against a `redis-server` this bench
//! starts on a free loopback port (skipped, with a message, without one):
//!
//! | bench | what |
//! |---|---|
//! | `backend_hot_path_redis/{counter_inc,timed_call}/single` | the hot path before any backend is loaded |
//! | `backend_hot_path_redis/{counter_inc,timed_call}/redis` | a counter and a `#[timed]` function first used after loading the Redis backend (its flusher sending every second) |
//! | `backend_render/redis_read_16x1000` | reading and merging 16 processes' 1,000 series each from Redis |
//! | `backend_render/redis_16x1000` | a Prometheus render in a process on the backend |
//!
//! Targets: the Redis hot path at most 1.2× single, a render under 50 ms.

use std::hint::black_box;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;
use telltale::backend::{self, Backend, RedisOptions};

#[path = "common/backend.rs"]
mod common;

fn main() {
    if common::worker() {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let Ok(mut server) = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
    else {
        println!("backend_redis: redis-server is not installed; nothing measured");
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = format!("redis://127.0.0.1:{port}");
    let config =
        std::env::temp_dir().join(format!("telltale-bench-redis-{}.json", std::process::id()));
    std::fs::write(
        &config,
        format!(r#"{{"url": "{url}", "key_prefix": "bench:"}}"#),
    )
    .expect("config");
    common::run_workers(&[
        ("TELLTALE_BACKEND", std::path::Path::new("redis")),
        ("TELLTALE_BACKEND_CONFIG", &config),
    ]);
    let options = RedisOptions::new(&url).key_prefix("bench:");
    let mut c = Criterion::default().configure_from_args();
    common::hot_path(&mut c, "redis", "single");
    backend::load(Backend::Redis(options.clone())).expect("redis backend");
    common::hot_path(&mut c, "redis", "redis");
    let mut group = c.benchmark_group("backend_render");
    group.bench_function("redis_read_16x1000", |b| {
        b.iter(|| black_box(backend::redis::read(&options).expect("read")));
    });
    let text = telltale::render(telltale::Format::Prometheus);
    assert!(
        text.contains("bench_backend_series_total{id=\"999\"} 16\n"),
        "all 16 processes merged"
    );
    group.bench_function("redis_16x1000", |b| {
        b.iter(|| black_box(telltale::render(telltale::Format::Prometheus)));
    });
    group.finish();
    c.final_summary();
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_file(&config);
}
