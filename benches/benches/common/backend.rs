//! What the backend benches share: worker processes (this bench binary
//! started again with `TT_BENCH_WORKER` set) that each record
//! [`SERIES`] series into the backend `TELLTALE_BACKEND` names, the hot
//! path measured before and after the backend is loaded, and Python
//! prometheus_client's multiprocess render of the same series, timed in
//! the same run.

use std::hint::black_box;
use std::path::Path;
use std::process::Command;

use criterion::Criterion;

/// Processes whose values a render merges.
pub const PROCESSES: usize = 16;
/// Series each process records.
pub const SERIES: usize = 1000;

static OPS: telltale::Counter = telltale::Counter::new("bench_backend_ops_total", "Operations.");
/// First used once the backend is loaded: on the file backend its cells
/// are in the mapped file.
static OPS_AFTER: telltale::Counter =
    telltale::Counter::new("bench_backend_ops_after_total", "Operations.");

#[telltale::timed]
fn timed_op() {
    black_box(());
}

/// First called once the backend is loaded (its cells mapped on the file
/// backend).
#[telltale::timed]
fn timed_op_after() {
    black_box(());
}

/// In a worker process: records the series and returns `true` (the
/// caller then exits, which flushes them).
pub fn worker() -> bool {
    if std::env::var_os("TT_BENCH_WORKER").is_none() {
        return false;
    }
    let series = telltale::dynamic::counter("bench_backend_series_total")
        .help("One series per id.")
        .required_labels(["id"])
        .cap(SERIES * 2)
        .register()
        .expect("register");
    for id in 0..SERIES {
        series.labels([("id", id.to_string())]).inc().expect("inc");
    }
    telltale::backend::flush().expect("flush");
    true
}

/// Starts [`PROCESSES`] workers on the backend `vars` name and waits for
/// them.
pub fn run_workers(vars: &[(&str, &Path)]) {
    let exe = std::env::current_exe().expect("bench binary");
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            let mut cmd = Command::new(&exe);
            cmd.env("TT_BENCH_WORKER", "1");
            for (k, v) in vars {
                cmd.env(k, v);
            }
            cmd.spawn().expect("worker")
        })
        .collect();
    for mut child in children {
        assert!(child.wait().expect("worker").success(), "a worker failed");
    }
}

/// The increment of a static counter and a `#[timed]` call, labelled
/// with the backend loaded now, in the group `backend_hot_path_<run>`.
pub fn hot_path(c: &mut Criterion, run: &str, backend: &str) {
    let mut group = c.benchmark_group(format!("backend_hot_path_{run}"));
    // Before the backend, a counter and a function first used then; after
    // it, ones first used once it runs (the file backend maps their cells).
    let ops = if backend == "single" {
        &OPS
    } else {
        &OPS_AFTER
    };
    group.bench_function(format!("counter_inc/{backend}"), |b| b.iter(|| ops.inc()));
    let timed: fn() = if backend == "single" {
        timed_op
    } else {
        timed_op_after
    };
    group.bench_function(format!("timed_call/{backend}"), |b| b.iter(timed));
    group.finish();
}

/// Records Python's render time beside criterion's figures, as the
/// estimate of the bench `backend_render/python_multiprocess_16x1000`
/// (what `benches/report` reads): `<target>/criterion`, the target being
/// `$CARGO_TARGET_DIR` or three levels above this binary.
#[allow(dead_code)] // the Redis bench has no Python peer
pub fn record_python(ms: f64) {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || {
            std::env::current_exe()
                .ok()
                .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
                .unwrap_or_else(|| "target".into())
        },
        std::path::PathBuf::from,
    );
    let dir = target.join("criterion/backend_render/python_multiprocess_16x1000/new");
    let ns = ms * 1e6;
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(
            dir.join("estimates.json"),
            format!(
                r#"{{"median": {{"point_estimate": {ns}}}, "mean": {{"point_estimate": {ns}}}}}"#
            ),
        );
    }
}

/// Python prometheus_client's multiprocess mode rendering the same
/// processes × series (its median over 20 renders, in milliseconds), or
/// `None` without python3 and prometheus_client.
#[allow(dead_code)] // the Redis bench has no Python peer
pub fn python_render() -> Option<f64> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/multiprocess_render.py");
    let out = Command::new("python3")
        .arg(script)
        .args([PROCESSES.to_string(), SERIES.to_string()])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "python multiprocess render: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().last()?.parse().ok()
}
