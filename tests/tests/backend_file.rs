//! The file backend across real processes: this test binary starts copies
//! of itself as workers (the `worker` test, which does nothing unless
//! `TT_WORKER` names a job), each choosing the backend from
//! `TELLTALE_BACKEND` / `TELLTALE_BACKEND_CONFIG` as a deployed program
//! would, then reads their shared directory.

#![allow(clippy::float_cmp)] // counts are whole numbers, exact in f64

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use telltale::backend::file::{compact_directory, read_directory};
use telltale::backend::{self, Backend, FileOptions, GaugeMode};
use telltale::snapshot::Value;
use telltale::{Counter, Family, Gauge, Histogram, IntGauge};
use telltale_tests::workers::{self, line_after, number, value};

static JOBS: Counter = Counter::new("jobs_total", "Jobs done.");
static SIZES: Histogram = Histogram::new("job_size", "Job sizes.").with_buckets(&[1.0, 10.0]);
static BUSY: Gauge =
    Gauge::new("workers_busy", "Busy workers.").multiprocess_mode(GaugeMode::LiveSum);
static SLOTS_MAX: IntGauge = IntGauge::new("slots_max", "Slots.").multiprocess_mode(GaugeMode::Max);
static SLOTS_MIN: IntGauge = IntGauge::new("slots_min", "Slots.").multiprocess_mode(GaugeMode::Min);
static SLOTS_SUM: IntGauge = IntGauge::new("slots_sum", "Slots.").multiprocess_mode(GaugeMode::Sum);
static LAST: Gauge =
    Gauge::new("last_seen", "Last value.").multiprocess_mode(GaugeMode::MostRecent);
static EACH: Gauge = Gauge::new("each_worker", "Per worker.");
static LIVE_EACH: Gauge =
    Gauge::new("live_worker", "Per live worker.").multiprocess_mode(GaugeMode::LiveAll);

/// A bounded label set (a dense family) and an unbounded one (hashed).
#[derive(Clone, Copy, telltale::LabelSet)]
struct Done {
    ok: bool,
}

#[derive(telltale::LabelSet)]
struct Worker {
    worker: String,
}

static DONE: Family<Done, Counter> = Family::new("done_total", "Done, by outcome.");
static WORK: Family<Worker, Counter> = Family::new("work_total", "Work, by worker.");
static LOAD: Family<Worker, Gauge> =
    Family::new("load", "Load, by worker.").multiprocess_mode(GaugeMode::Max);
static SPREAD: Family<Worker, Histogram> =
    Family::new("spread", "Spread, by worker.").with_buckets(&[1.0]);

#[telltale::tracked]
fn step(i: u64) -> Result<u64, std::io::Error> {
    if i.is_multiple_of(10) {
        Err(std::io::Error::other("tenth"))
    } else {
        Ok(i)
    }
}

/// Runs the job `TT_WORKER` names; a no-op in the normal test run.
#[test]
fn worker() {
    let Ok(job) = std::env::var("TT_WORKER") else {
        return;
    };
    let n: u64 = std::env::var("TT_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let index: i64 = std::env::var("TT_INDEX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    match job.as_str() {
        "count" => {
            for i in 0..n {
                JOBS.inc();
                SIZES.observe(if i.is_multiple_of(2) { 0.5 } else { 5.0 });
            }
            for i in 0..1000 {
                let _ = step(i);
            }
        }
        "gauges" => {
            BUSY.set(1.0);
            SLOTS_MAX.set(index);
            SLOTS_MIN.set(index);
            SLOTS_SUM.set(index);
            LAST.set(index as f64);
            EACH.set(index as f64);
            LIVE_EACH.set(index as f64);
            backend::flush().unwrap();
            println!("ready");
            // Workers told to stay wait for their stdin to close.
            if std::env::var("TT_STAY").is_ok() {
                let mut line = String::new();
                let _ = std::io::stdin().read_line(&mut line);
            }
        }
        "progress" => {
            // No flush: the cells are in the mapped file.
            let mut done = 0u64;
            // Twenty workers: past the series a family keeps inline.
            let work: Vec<_> = (0..20)
                .map(|i| {
                    WORK.labels(Worker {
                        worker: format!("w{i}"),
                    })
                })
                .collect();
            let load = LOAD.labels(Worker {
                worker: "w0".into(),
            });
            let spread = SPREAD.labels(Worker {
                worker: "w0".into(),
            });
            let ok = DONE.labels(Done { ok: true });
            let dynamic = telltale::dynamic::counter("dynamic_total")
                .help("Dynamic, by key.")
                .required_labels(["key"])
                .register()
                .unwrap();
            loop {
                for _ in 0..10_000 {
                    JOBS.inc();
                    SIZES.observe(0.5);
                    let _ = step(1);
                    ok.inc();
                    work[19].inc();
                    spread.observe(0.5);
                    dynamic.labels([("key", "x")]).inc().unwrap();
                }
                done += 10_000;
                SLOTS_MAX.set(done as i64);
                load.set(done as f64);
                println!("counted {done}");
            }
        }
        "short" => JOBS.inc(),
        "switch" => {
            // The environment chose the file backend at the first
            // recording: loading it again is harmless, another is an error.
            JOBS.inc();
            let Backend::File(options) = backend::current() else {
                panic!("the environment's file backend")
            };
            backend::load(Backend::File(options)).unwrap();
            let e = backend::load(Backend::Redis(backend::RedisOptions::new(
                "redis://127.0.0.1:1",
            )))
            .unwrap_err();
            println!("switch {e}");
        }
        "render" => {
            // This process records too, then renders everyone's values.
            JOBS.inc_by(5);
            EACH.set(42.0);
            for format in [
                telltale::Format::Prometheus,
                telltale::Format::OpenMetrics,
                telltale::Format::Json,
            ] {
                println!("BEGIN");
                print!("{}", telltale::render(format));
                println!("\nEND");
            }
            let status = backend::status();
            println!(
                "status {} {} {}",
                status.backend, status.up, status.live_processes
            );
        }
        other => panic!("unknown job {other}"),
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("telltale-backend-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The options file the workers' environment names.
fn config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.with_extension("toml");
    std::fs::write(
        &path,
        format!("directory = {:?}\n{extra}", dir.display().to_string()),
    )
    .unwrap();
    path
}

fn spawn(config: &Path, job: &str, vars: &[(&str, String)]) -> Child {
    workers::spawn("file", config, job, vars)
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn eight_processes_of_a_million_increments_add_up_exactly() {
    let dir = temp_dir("eight");
    let config = config(&dir, "");
    let n = 1_000_000u64;
    let workers: Vec<Child> = (0..8)
        .map(|_| spawn(&config, "count", &[("TT_N", n.to_string())]))
        .collect();
    for mut w in workers {
        assert!(w.wait().unwrap().success());
    }
    let read = read_directory(&dir).unwrap();
    assert!(read.problems.is_empty(), "{:?}", read.problems);
    assert_eq!((read.live, read.dead), (0, 8));
    let s = &read.snapshot;
    assert_eq!(number(s, "jobs", &[]), 8.0 * n as f64);
    let Some(Value::Histogram(h)) = value(s, "job_size", &[]) else {
        panic!("job_size in {s:#?}")
    };
    assert_eq!(h.count, 8 * n);
    assert_eq!(h.sum, 8.0 * (n as f64 / 2.0) * 5.5);
    assert_eq!(h.buckets, vec![(1.0, 4 * n), (10.0, 8 * n)]);
    // The #[tracked] callsite, by outcome, from every process.
    let calls = |result, error| {
        number(
            s,
            "function_calls",
            &[("function", "step"), ("result", result), ("error", error)],
        )
    };
    assert_eq!(calls("ok", ""), 8.0 * 900.0);
    assert_eq!(calls("error", "io::Error"), 8.0 * 100.0);
    let Some(Value::Histogram(d)) = value(
        s,
        "function_calls_duration_seconds",
        &[("function", "step")],
    ) else {
        panic!("durations in {s:#?}")
    };
    assert_eq!(d.count, 8000);

    // Compaction folds the eight files into the archive and removes them;
    // the totals stay exact.
    // Two files a process: the flushed one and its mapped cells.
    let done = compact_directory(&dir).unwrap();
    assert_eq!((done.absorbed, done.removed), (16, 16));
    assert_eq!(files(&dir), [".lock", "archive.tt"]);
    let again = read_directory(&dir).unwrap();
    assert_eq!(number(&again.snapshot, "jobs", &[]), 8.0 * n as f64);
    let Some(Value::Histogram(h)) = value(&again.snapshot, "job_size", &[]) else {
        panic!("job_size after compaction")
    };
    assert_eq!(
        (h.count, h.buckets.clone()),
        (8 * n, vec![(1.0, 4 * n), (10.0, 8 * n)])
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Everything a worker printed between `BEGIN` and `END`, in order.
fn sections(text: &str) -> Vec<String> {
    text.split("BEGIN\n")
        .skip(1)
        .map(|s| s.split("\nEND").next().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn a_process_on_the_file_backend_exports_every_process_s_values_in_every_format() {
    let dir = temp_dir("render");
    let config = config(&dir, "");
    for _ in 0..2 {
        let mut w = spawn(&config, "count", &[("TT_N", "1000".to_string())]);
        assert!(w.wait().unwrap().success());
    }
    let out = spawn(&config, "render", &[]).wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let [prometheus, openmetrics, json] = <[String; 3]>::try_from(sections(&text)).unwrap();
    // Two exited workers' 1,000 each and the renderer's own 5.
    assert!(prometheus.contains("\njobs_total 2005\n"), "{prometheus}");
    assert!(prometheus.contains("job_size_count 2000\n"), "{prometheus}");
    assert!(
        prometheus.contains("job_size_bucket{le=\"1.0\"} 1000\n"),
        "{prometheus}"
    );
    assert!(
        prometheus.contains("telltale_backend_up{backend=\"file\"} 1\n"),
        "{prometheus}"
    );
    // A gauge of the default mode: one series per process, by pid.
    assert!(prometheus.contains("each_worker{pid=\""), "{prometheus}");
    assert!(prometheus.contains("} 42\n"), "{prometheus}");
    assert!(openmetrics.contains("jobs_total 2005\n") && openmetrics.trim_end().ends_with("# EOF"));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(json.to_string().contains("\"jobs\""), "{json}");
    assert!(text.contains("status file true 1"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gauges_combine_by_mode_over_live_and_exited_processes() {
    let dir = temp_dir("gauges");
    let config = config(&dir, "");
    // Workers 1..=3 exit; 4 and 5 stay until their stdin closes.
    let mut staying = Vec::new();
    for index in 1..=5 {
        let mut vars = vec![("TT_INDEX", index.to_string())];
        if index >= 4 {
            vars.push(("TT_STAY", "1".to_string()));
        }
        let mut child = spawn(&config, "gauges", &vars);
        let mut out = BufReader::new(child.stdout.take().unwrap());
        line_after(&mut out, "ready");
        if index >= 4 {
            // The reader stays open: the worker prints again as it ends.
            staying.push((child, out));
        } else {
            assert!(child.wait().unwrap().success());
        }
        // Most-recent needs distinct change times.
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let read = read_directory(&dir).unwrap();
    assert_eq!((read.live, read.dead), (2, 3));
    let s = &read.snapshot;
    assert_eq!(
        number(s, "workers_busy", &[]),
        2.0,
        "live_sum counts the two running"
    );
    assert_eq!(number(s, "slots_max", &[]), 5.0);
    assert_eq!(number(s, "slots_min", &[]), 1.0);
    assert_eq!(number(s, "slots_sum", &[]), 15.0);
    assert_eq!(number(s, "last_seen", &[]), 5.0);
    assert_eq!(
        s.family("each_worker").unwrap().series.len(),
        5,
        "all: one series per process"
    );
    let live: Vec<f64> = s
        .family("live_worker")
        .unwrap()
        .series
        .iter()
        .map(|x| match x.value {
            Value::Gauge(v) => v,
            _ => f64::NAN,
        })
        .collect();
    assert_eq!(live, [4.0, 5.0], "live_all: the running ones");
    // Exited processes are archived: all/sum/max/min/most-recent keep them,
    // the live modes drop them.
    compact_directory(&dir).unwrap();
    let s = read_directory(&dir).unwrap().snapshot;
    assert_eq!(number(&s, "slots_sum", &[]), 15.0);
    assert_eq!(number(&s, "slots_min", &[]), 1.0);
    assert_eq!(number(&s, "workers_busy", &[]), 2.0);
    assert_eq!(s.family("each_worker").unwrap().series.len(), 5);
    let pid = staying[0].0.id().to_string();
    assert_eq!(number(&s, "each_worker", &[("pid", pid.as_str())]), 4.0);
    for (mut child, out) in staying {
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success());
        drop(out);
    }
    let s = read_directory(&dir).unwrap().snapshot;
    assert_eq!(
        value(&s, "workers_busy", &[]),
        None,
        "no process runs: no live value"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_killed_worker_keeps_every_increment_and_compaction_keeps_it() {
    let dir = temp_dir("kill");
    // A flush interval far longer than the test: what survives the kill
    // is what the mapped cells hold, not a flushed file.
    let config = config(&dir, "flush_interval = \"1h\"\n");
    let mut child = spawn(&config, "progress", &[]);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut last = 0u64;
    while last < 200_000 {
        last = line_after(&mut out, "counted ").parse().unwrap();
    }
    child.kill().unwrap(); // SIGKILL: no exit handler runs
    child.wait().unwrap();
    // What it reported before it died, read from the pipe after the kill.
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut out, &mut rest);
    for line in rest.lines() {
        if let Some(n) = line.trim().strip_prefix("counted ") {
            last = last.max(n.parse().unwrap());
        }
    }
    let read = read_directory(&dir).unwrap();
    assert!(read.problems.is_empty(), "{:?}", read.problems);
    assert_eq!((read.live, read.dead), (0, 1), "one process, dead");
    let before = number(&read.snapshot, "jobs", &[]);
    assert!(
        before >= last as f64,
        "{before} < {last} counted before the kill"
    );
    // At most the batch it was recording when killed on top.
    assert!(
        before <= (last + 10_000) as f64,
        "{before} > {last} + 10,000"
    );
    let Some(Value::Histogram(sizes)) = value(&read.snapshot, "job_size", &[]) else {
        panic!("job_size in {:#?}", read.snapshot)
    };
    assert!(
        sizes.count >= last && sizes.count <= last + 10_000,
        "{} observations against {last} counted",
        sizes.count
    );
    assert_eq!(sizes.buckets, [(1.0, sizes.count), (10.0, sizes.count)]);
    assert_eq!(sizes.sum, sizes.count as f64 * 0.5);
    let ok = number(
        &read.snapshot,
        "function_calls",
        &[("function", "step"), ("result", "ok"), ("error", "")],
    );
    assert!(
        ok >= last as f64 && ok <= (last + 10_000) as f64,
        "{ok} #[tracked] calls against {last} counted"
    );
    let Some(Value::Histogram(durations)) = value(
        &read.snapshot,
        "function_calls_duration_seconds",
        &[("function", "step")],
    ) else {
        panic!("durations in {:#?}", read.snapshot)
    };
    // A call's duration is recorded when its guard drops, after its count.
    assert!(
        durations.count + 1 >= ok as u64 && durations.count <= ok as u64,
        "{} durations against {ok} calls",
        durations.count
    );
    for (family, labels) in [
        ("done", &[("ok", "true")][..]),
        ("work", &[("worker", "w19")][..]),
        ("dynamic", &[("key", "x")][..]),
    ] {
        let n = number(&read.snapshot, family, labels);
        assert!(
            n >= last as f64 && n <= (last + 10_000) as f64,
            "{family}: {n} against {last} counted"
        );
    }
    let load = number(&read.snapshot, "load", &[("worker", "w0")]);
    assert!(load >= last as f64, "load {load} against {last}");
    let Some(Value::Histogram(spread)) = value(&read.snapshot, "spread", &[("worker", "w0")])
    else {
        panic!("spread in {:#?}", read.snapshot)
    };
    assert!(
        spread.count >= last && spread.count <= last + 10_000,
        "spread {} against {last}",
        spread.count
    );
    // The dense family's other series was never recorded: not exported.
    assert_eq!(value(&read.snapshot, "done", &[("ok", "false")]), None);
    let slots = number(&read.snapshot, "slots_max", &[]);
    assert!(
        slots >= last as f64 && slots <= before,
        "{slots} against {last}..{before}"
    );
    compact_directory(&dir).unwrap();
    let after = read_directory(&dir).unwrap();
    assert_eq!(
        number(&after.snapshot, "jobs", &[]),
        before,
        "archived exactly once"
    );
    assert_eq!(number(&after.snapshot, "slots_max", &[]), slots);
    let Some(Value::Histogram(archived)) = value(&after.snapshot, "job_size", &[]) else {
        panic!("job_size after compaction")
    };
    assert_eq!(
        archived.count, sizes.count,
        "histogram archived exactly once"
    );
    assert_eq!(files(&dir), [".lock", "archive.tt"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_thousand_short_processes_leave_a_bounded_directory() {
    let dir = temp_dir("short");
    // Each process flushes at exit; a long-lived process (a server, say)
    // compacts every 10 ms.
    let config = config(
        &dir,
        "compact_interval = \"10ms\"\nflush_interval = \"10ms\"\n",
    );
    let mut server = spawn(&config, "gauges", &[("TT_STAY", "1".to_string())]);
    let mut server_out = BufReader::new(server.stdout.take().unwrap());
    line_after(&mut server_out, "ready");
    let mut most = 0;
    for _ in 0..125 {
        let batch: Vec<Child> = (0..8).map(|_| spawn(&config, "short", &[])).collect();
        for mut w in batch {
            assert!(w.wait().unwrap().success());
        }
        most = most.max(files(&dir).len());
    }
    drop(server.stdin.take());
    assert!(server.wait().unwrap().success());
    drop(server_out);
    let done = compact_directory(&dir).unwrap();
    // The server compacted as it went: what is left is at most the last
    // batch and the server itself, two files each.
    assert!(done.absorbed <= 2 * 9, "{done:?}");
    assert_eq!(files(&dir), [".lock", "archive.tt"]);
    let read = read_directory(&dir).unwrap();
    assert_eq!(number(&read.snapshot, "jobs", &[]), 1000.0);
    assert!(most < 500, "the directory held {most} files at once");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn damaged_and_foreign_files_are_reported_and_left_out() {
    let dir = temp_dir("damaged");
    let config = config(&dir, "");
    let mut w = spawn(&config, "short", &[]);
    assert!(w.wait().unwrap().success());
    let good = files(&dir)
        .into_iter()
        .find(|n| {
            n.starts_with("proc-")
                && std::path::Path::new(n)
                    .extension()
                    .is_some_and(|e| e == "tt")
        })
        .unwrap();
    let cells = good.replace(".tt", ".cells");
    let cell_bytes = std::fs::read(dir.join(&cells)).unwrap();
    let bytes = std::fs::read(dir.join(&good)).unwrap();
    // A file cut short (by a crash or a full disk), one of another layout
    // version, and one that is not a telltale file at all, named as
    // process files of processes that do not run.
    std::fs::write(dir.join("proc-999999-1.tt"), &bytes[..bytes.len() / 2]).unwrap();
    let mut other = bytes.clone();
    other[8] = 9;
    std::fs::write(dir.join("proc-999998-1.tt"), &other).unwrap();
    std::fs::write(dir.join("proc-999997-1.tt"), b"garbage").unwrap();
    // Mapped cells: cut inside the header, of another layout version.
    std::fs::write(dir.join("proc-999996-1.cells"), &cell_bytes[..40]).unwrap();
    let mut other = cell_bytes.clone();
    other[8] = 9;
    std::fs::write(dir.join("proc-999995-1.cells"), &other).unwrap();
    let read = read_directory(&dir).unwrap();
    assert_eq!(
        number(&read.snapshot, "jobs", &[]),
        1.0,
        "the good file counts"
    );
    let problems = read.problems.join("\n");
    assert_eq!(read.problems.len(), 5, "{problems}");
    assert!(
        problems.contains("proc-999999-1.tt") && problems.contains("checksum"),
        "{problems}"
    );
    assert!(problems.contains("layout version 9"), "{problems}");
    assert!(
        problems.contains("not a telltale backend file"),
        "{problems}"
    );
    assert!(
        problems.contains("proc-999996-1.cells: the file is cut short"),
        "{problems}"
    );
    assert!(
        problems.contains("proc-999995-1.cells: cells layout version 9"),
        "{problems}"
    );
    // Compaction absorbs the good process's files and leaves the bad ones
    // for a person.
    let done = compact_directory(&dir).unwrap();
    assert_eq!(done.absorbed, 2);
    assert_eq!(files(&dir).len(), 7, "{:?}", files(&dir));
    assert_eq!(
        number(&read_directory(&dir).unwrap().snapshot, "jobs", &[]),
        1.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_backend_choices_are_errors_that_say_why() {
    // A directory that cannot be created: under a regular file.
    let file = std::env::temp_dir().join(format!("telltale-backend-file-{}", std::process::id()));
    std::fs::write(&file, "").unwrap();
    let e = backend::load(Backend::File(FileOptions::new(file.join("metrics"))))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("file backend: ") && e.contains("metrics"),
        "{e}"
    );
    let _ = std::fs::remove_file(&file);
    // Options files: a misspelt key, a file backend without a directory,
    // TOML that does not parse (with its line and column).
    let dir = temp_dir("options");
    let cases = [
        ("dirctory = \"/x\"\n", "unknown field `dirctory`"),
        ("flush_interval = \"1s\"\n", "needs `directory`"),
        (
            "directory = \"/x\"\nflush_interval = \"soon\"\n",
            "flush_interval",
        ),
        ("directory = [\n", "line 1"),
        (
            "directory = \"/x\"\nurl = \"redis://h\"\n",
            "`url` is not an option of the file backend",
        ),
    ];
    for (text, expected) in cases {
        let path = dir.join("b.toml");
        std::fs::write(&path, text).unwrap();
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["options_from_env", "--exact", "--nocapture", "-q"])
            .env("TT_OPTIONS", "1")
            .env("TELLTALE_BACKEND", "file")
            .env("TELLTALE_BACKEND_CONFIG", &path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(expected), "{text:?}: {stdout}");
        assert!(
            stdout.contains(&path.display().to_string()),
            "{text:?}: {stdout}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_backend_cannot_change_once_chosen() {
    let dir = temp_dir("switch");
    let config = config(&dir, "");
    let out = spawn(&config, "switch", &[]).wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(
            "switch redis backend: the file backend was already chosen (by TELLTALE_BACKEND)"
        ),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Prints what `backend::from_env` says (run by the test above).
#[test]
fn options_from_env() {
    if std::env::var("TT_OPTIONS").is_err() {
        return;
    }
    match backend::from_env() {
        Ok(b) => println!("ok {b:?}"),
        Err(e) => println!("error {e}"),
    }
}
