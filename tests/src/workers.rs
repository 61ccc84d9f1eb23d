//! Tests that need several real processes run copies of their own test
//! binary as workers: the binary's `worker` test does nothing unless
//! `TT_WORKER` names a job, and [`spawn`] starts it with one.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use telltale::snapshot::{Snapshot, Value};

/// Starts this test binary's `worker` test as a worker doing `job`, on the
/// multi-process `backend` (`file`, `redis`) whose options file is
/// `config`, with more variables `vars`; stdin and stdout piped.
pub fn spawn(backend: &str, config: &Path, job: &str, vars: &[(&str, String)]) -> Child {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary"));
    cmd.args(["worker", "--exact", "--test-threads=1", "--nocapture", "-q"])
        .env("TT_WORKER", job)
        .env("TELLTALE_BACKEND", backend)
        .env("TELLTALE_BACKEND_CONFIG", config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.spawn().expect("a worker")
}

/// The next line a worker printed that starts with `prefix` (the test
/// harness prints lines of its own), without the prefix.
pub fn line_after(out: &mut impl BufRead, prefix: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            out.read_line(&mut line).expect("the worker's output") > 0,
            "the worker ended before {prefix:?}"
        );
        if let Some(rest) = line.trim().strip_prefix(prefix) {
            return rest.to_owned();
        }
    }
}

/// The value of the first series of `family` with all of `labels`.
pub fn value(snapshot: &Snapshot, family: &str, labels: &[(&str, &str)]) -> Option<Value> {
    snapshot
        .family(family)?
        .series
        .iter()
        .find(|s| labels.iter().all(|(k, v)| s.label(k) == Some(*v)))
        .map(|s| s.value.clone())
}

/// A counter's or gauge's [`value`]; panics with the snapshot otherwise.
pub fn number(snapshot: &Snapshot, family: &str, labels: &[(&str, &str)]) -> f64 {
    match value(snapshot, family, labels) {
        Some(Value::Counter(v) | Value::Gauge(v)) => v,
        other => panic!("{family}{labels:?}: {other:?} in {snapshot:#?}"),
    }
}
