//! Metric sources: exec sources with real scripts, in-process sources that
//! fail, hang and panic, the breaker, staleness, self-metrics, and no leak
//! of processes, threads or file descriptors over many bad runs.

use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use telltale::sources::{
    self, Batch, BreakerConfig, BreakerState, ErrorKind, ExecConfig, ExecSource, OutputFormat,
    Source, SourceBox, SourceError, SourceOptions,
};
use telltale::Format;

/// A folder of its own, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let path = std::env::temp_dir().join(format!(
            "telltale-sources-{tag}-{}-{}",
            std::process::id(),
            fastrand_suffix()
        ));
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }

    /// Writes an executable script `name` with `body` after a `#!/bin/sh`.
    fn script(&self, name: &str, body: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.to_string_lossy().into_owned()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fastrand_suffix() -> u64 {
    static N: AtomicU32 = AtomicU32::new(0);
    u64::from(N.fetch_add(1, Ordering::Relaxed))
        ^ u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos(),
        )
}

fn options(interval_ms: u64, timeout_ms: u64) -> SourceOptions {
    SourceOptions {
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(timeout_ms),
        ..SourceOptions::default()
    }
}

fn exec(name: &str, command: &[&str], options: SourceOptions) -> SourceBox {
    SourceBox::new(
        ExecSource::new(name, ExecConfig::new(command.iter().copied()), options).unwrap(),
    )
}

fn render() -> String {
    telltale::render(Format::Prometheus)
}

/// Waits until every source has run once (the run at start).
async fn first_runs(running: &sources::Sources) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while running.status().iter().any(|s| s.runs == 0) {
        assert!(Instant::now() < deadline, "{:?}", running.status());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The one status of the source `name`.
fn status(running: &sources::Sources, name: &str) -> sources::SourceStatus {
    running
        .status()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no source {name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exec_source_is_served_with_its_labels_and_self_metrics() {
    let dir = Dir::new("ok");
    let script = dir.script(
        "ok.sh",
        "printf '# HELP backup_age_seconds Age of the last backup.\\n# TYPE backup_age_seconds gauge\\nbackup_age_seconds{db=\"main\"} 42\\n# TYPE backups_total counter\\nbackups_total 7\\n'",
    );
    let mut opts = options(60_000, 5_000);
    opts.labels = vec![("site".into(), "eu-1".into())];
    let running = sources::start([exec("exec_ok", &[&script], opts)]).unwrap();
    running.run_now().await;
    let text = render();
    assert!(
        text.contains("# HELP backup_age_seconds Age of the last backup.")
            && text.contains(r#"backup_age_seconds{db="main",site="eu-1"} 42"#)
            && text.contains(r#"backups_total{site="eu-1"} 7"#),
        "{text}"
    );
    assert!(
        text.contains(r#"telltale_source_up{source="exec_ok"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"telltale_source_errors_total{source="exec_ok",kind="timeout"} 0"#),
        "{text}"
    );
    assert!(text.contains(r#"telltale_source_breaker_state{source="exec_ok"} 0"#));
    let s = status(&running, "exec_ok");
    // The run at start, and the one asked for (unless they were one).
    assert!(
        s.up == Some(true) && (1..=2).contains(&s.runs) && s.failures == 0 && s.series == 2,
        "{s:?}"
    );
    assert!(s.served && s.last_success_unix_seconds.is_some());
    // Stopping the sources takes their series away.
    running.shutdown();
    let text = render();
    assert!(!text.contains("backup_age_seconds{"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_is_cleared_but_for_what_is_named() {
    let dir = Dir::new("env");
    let script = dir.script(
        "env.sh",
        "n=$(env | wc -l); printf 'env_vars %s\\nenv_has_home %s\\n' \"$n\" \"${HOME:+1}${HOME:-0}\"; printf 'env_greeting{v=\"%s\"} 1\\nenv_cwd{dir=\"%s\"} 1\\n' \"$GREETING\" \"$(pwd)\"",
    );
    let mut config = ExecConfig::new([script.as_str()]);
    config.env.insert("GREETING".into(), "hello".into());
    config.working_dir = Some(dir.0.clone());
    let source = ExecSource::new("exec_env", config, options(60_000, 5_000)).unwrap();
    let running = sources::start([SourceBox::new(source)]).unwrap();
    running.run_now().await;
    let text = render();
    assert!(text.contains(r#"env_greeting{v="hello"} 1"#), "{text}");
    assert!(text.contains("env_has_home 0"), "HOME leaked in: {text}");
    let cwd = std::fs::canonicalize(&dir.0).unwrap();
    assert!(
        text.contains(&format!(r#"env_cwd{{dir="{}"}} 1"#, cwd.display())),
        "{text}"
    );
    // GREETING, and what the shell sets itself (PWD, SHLVL, _), no more.
    let vars: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("env_vars "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(vars <= 4.0, "{vars} variables: {text}");
    running.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_commands_fail_with_their_kind_and_kill_what_they_started() {
    let dir = Dir::new("bad");
    let pid_file = dir.0.join("child.pid");
    let hang = dir.script(
        "hang.sh",
        &format!("sleep 30 & echo $! > {}\nsleep 30", pid_file.display()),
    );
    let exit = dir.script("exit.sh", "echo 'disk not mounted' >&2; exit 3");
    let garbage = dir.script("garbage.sh", "echo 'this is not { metrics'");
    let huge = dir.script("huge.sh", "head -c 10000000 /dev/zero | tr '\\0' 'a'");
    let mut cases = vec![
        ("exec_hang", hang.as_str(), ErrorKind::Timeout, "killed"),
        (
            "exec_exit",
            exit.as_str(),
            ErrorKind::ExitStatus,
            "disk not mounted",
        ),
        ("exec_garbage", garbage.as_str(), ErrorKind::Parse, "line 1"),
        (
            "exec_huge",
            huge.as_str(),
            ErrorKind::OutputTooLarge,
            "cap of 4096",
        ),
        (
            "exec_missing",
            "/nonexistent/plugin",
            ErrorKind::Connect,
            "cannot start",
        ),
    ];
    let mut boxes = Vec::new();
    for (name, script, _, _) in &cases {
        let mut config = ExecConfig::new([*script]);
        config.max_output_bytes = 4096;
        boxes.push(SourceBox::new(
            ExecSource::new(*name, config, options(60_000, 300)).unwrap(),
        ));
    }
    let started = Instant::now();
    let running = sources::start(boxes).unwrap();
    first_runs(&running).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let text = render();
    for (name, _, kind, says) in cases.drain(..) {
        let s = status(&running, name);
        assert_eq!(s.up, Some(false), "{name}");
        assert_eq!(s.last_error_kind, Some(kind), "{name}: {:?}", s.last_error);
        let error = s.last_error.unwrap();
        assert!(error.contains(says), "{name}: {error}");
        assert!(
            text.contains(&format!(
                r#"telltale_source_errors_total{{source="{name}",kind="{kind}"}} 1"#
            )),
            "{name}: {text}"
        );
        assert!(text.contains(&format!(r#"telltale_source_up{{source="{name}"}} 0"#)));
    }
    // The hanging script's own child was killed with its group.
    let child: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(child) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !alive(child),
        "process {child} outlived its source's timeout"
    );
    running.shutdown();
}

/// Whether `pid` is a live process (not a zombie).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// An in-process source that does what it is told.
struct Scripted {
    name: &'static str,
    options: SourceOptions,
    fail: Arc<AtomicBool>,
    mode: Mode,
}

#[derive(Clone, Copy)]
enum Mode {
    Gauge,
    Hang,
    Panic,
}

impl Source for Scripted {
    fn name(&self) -> &str {
        self.name
    }

    fn options(&self) -> SourceOptions {
        self.options.clone()
    }

    async fn collect(&self, batch: &mut Batch) -> Result<(), SourceError> {
        match self.mode {
            Mode::Hang => std::future::pending::<()>().await,
            Mode::Panic => panic!("the source broke"),
            Mode::Gauge => {}
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(SourceError::connect("the service is down"));
        }
        batch
            .gauge(&format!("{}_value", self.name), "A value.", &[], 5.0)
            .map_err(SourceError::parse)
    }
}

fn scripted(
    name: &'static str,
    mode: Mode,
    options: SourceOptions,
) -> (SourceBox, Arc<AtomicBool>) {
    let fail = Arc::new(AtomicBool::new(false));
    let source = Scripted {
        name,
        options,
        fail: Arc::clone(&fail),
        mode,
    };
    (SourceBox::new(source), fail)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_or_panicking_source_blocks_nothing() {
    let (hang, _) = scripted("inproc_hang", Mode::Hang, options(60_000, 300));
    let (panics, _) = scripted("inproc_panic", Mode::Panic, options(60_000, 1_000));
    let (good, _) = scripted("inproc_good", Mode::Gauge, options(60_000, 1_000));
    let running = sources::start([hang, panics, good]).unwrap();
    // While the hanging source runs, scrapes answer at once.
    let before = Instant::now();
    for _ in 0..5 {
        let _ = render();
    }
    assert!(
        before.elapsed() < Duration::from_millis(250),
        "{:?}",
        before.elapsed()
    );
    first_runs(&running).await;
    let s = status(&running, "inproc_hang");
    assert_eq!(s.last_error_kind, Some(ErrorKind::Timeout));
    let s = status(&running, "inproc_panic");
    assert_eq!(s.last_error_kind, Some(ErrorKind::Panic));
    assert!(s.last_error.unwrap().contains("the source broke"));
    let text = render();
    assert!(text.contains("inproc_good_value 5"), "{text}");
    assert!(text.contains(r#"telltale_source_errors_total{source="inproc_panic",kind="panic"} 1"#));
    running.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_opens_rests_and_closes_and_stale_values_go() {
    let mut opts = options(60_000, 1_000);
    opts.stale_after = Some(Duration::from_millis(400));
    opts.breaker = BreakerConfig {
        failures: 2,
        initial_backoff: Duration::from_millis(300),
        max_backoff: Duration::from_secs(1),
        multiplier: 2.0,
        jitter: 0.0,
    };
    let (source, fail) = scripted("breaker", Mode::Gauge, opts);
    let running = sources::start([source]).unwrap();
    first_runs(&running).await;
    assert!(render().contains("breaker_value 5"));
    fail.store(true, Ordering::SeqCst);
    running.run_now().await;
    assert_eq!(status(&running, "breaker").breaker, BreakerState::Closed);
    // The last good value is served while runs fail...
    assert!(render().contains("breaker_value 5"));
    running.run_now().await;
    let s = status(&running, "breaker");
    assert_eq!((s.breaker, s.consecutive_failures), (BreakerState::Open, 2));
    assert!(render().contains(r#"telltale_source_breaker_state{source="breaker"} 1"#));
    // ...no run while the breaker rests...
    running.run_now().await;
    let s = status(&running, "breaker");
    assert_eq!((s.runs, s.skipped), (3, 1));
    // ...and gone once stale.
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(!render().contains("breaker_value 5"), "{}", render());
    assert!(!status(&running, "breaker").served);
    // The trial after the rest: failed, the breaker opens again for longer.
    running.run_now().await;
    let s = status(&running, "breaker");
    assert_eq!((s.runs, s.breaker), (4, BreakerState::Open));
    tokio::time::sleep(Duration::from_millis(650)).await;
    // A good trial closes it and the value is back.
    fail.store(false, Ordering::SeqCst);
    running.run_now().await;
    let s = status(&running, "breaker");
    assert_eq!(
        (s.runs, s.breaker, s.up),
        (5, BreakerState::Closed, Some(true))
    );
    assert!(render().contains("breaker_value 5"));
    running.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_are_checked_when_they_start() {
    let (a, _) = scripted("dup", Mode::Gauge, options(1_000, 100));
    let (b, _) = scripted("dup", Mode::Gauge, options(1_000, 100));
    let err = sources::start([a, b]).unwrap_err().to_string();
    assert!(
        err.contains("\"dup\"") && err.contains("two sources"),
        "{err}"
    );
    let (zero, _) = scripted("zero", Mode::Gauge, options(0, 100));
    let err = sources::start([zero]).unwrap_err().to_string();
    assert!(err.contains("`interval`"), "{err}");
    let err = ExecSource::new(
        "e",
        ExecConfig::new(Vec::<String>::new()),
        options(1_000, 100),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("`command`"), "{err}");
    let mut bad_env = ExecConfig::new(["/bin/true"]);
    bad_env.env.insert("A=B".into(), "x".into());
    assert!(ExecSource::new("e", bad_env, options(1_000, 100)).is_err());
}

#[test]
fn sources_need_a_tokio_runtime() {
    let err = sources::start([]).unwrap_err().to_string();
    assert!(err.contains("tokio runtime"), "{err}");
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Processes whose parent is this one (zombies included).
fn children() -> usize {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| {
            std::fs::read_to_string(e.path().join("stat")).is_ok_and(|stat| {
                stat.rsplit_once(") ")
                    .and_then(|(_, rest)| rest.split(' ').nth(1).map(|ppid| ppid == me))
                    .unwrap_or(false)
            })
        })
        .count()
}

/// Live processes whose environment holds `mark` (a source's commands and
/// whatever they started, reparented or not).
fn marked(mark: &str) -> usize {
    let needle = format!("TELLTALE_LEAK_MARK={mark}");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| {
            std::fs::read(e.path().join("environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|var| var == needle.as_bytes()))
        })
        .filter(|e| alive(e.file_name().to_string_lossy().parse().unwrap_or(0)))
        .count()
}

fn settle(target: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !target() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_thousand_bad_runs_leak_no_process_thread_or_descriptor() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = Dir::new("leak");
    // Fails a different way each run: garbage, an exit status, too much
    // output, a hang past the timeout (with a child of its own).
    let counter = dir.0.join("n");
    let script = dir.script(
        "flaky.sh",
        &format!(
            "n=$(cat {c} 2>/dev/null || echo 0); echo $((n+1)) > {c}\n\
             case $((n % 4)) in\n\
             0) echo 'not metrics {{';;\n\
             1) echo oops >&2; exit 1;;\n\
             2) head -c 100000 /dev/zero;;\n\
             3) sleep 60 & sleep 60;;\n\
             esac",
            c = counter.display()
        ),
    );
    let mark = format!("{}-{}", std::process::id(), fastrand_suffix());
    let mut config = ExecConfig::new([script.as_str()]);
    config.max_output_bytes = 1024;
    config.env.insert("TELLTALE_LEAK_MARK".into(), mark.clone());
    let mut opts = options(60_000, 40);
    opts.breaker.failures = u32::MAX;
    let source = ExecSource::new("leaky", config, opts).unwrap();
    let running = runtime.block_on(async { sources::start([SourceBox::new(source)]).unwrap() });
    // Warm up: the runtime's threads and the first run's descriptors.
    runtime.block_on(running.run_now());
    runtime.block_on(running.run_now());
    settle(|| children() == 0 && marked(&mark) == 0);
    let (fds, threads_before) = (open_fds(), threads());
    for _ in 0..1_000 {
        runtime.block_on(running.run_now());
    }
    let s = status(&running, "leaky");
    assert!(s.runs >= 1_000 && s.failures == s.runs, "{s:?}");
    settle(|| children() == 0 && marked(&mark) == 0);
    assert_eq!(children(), 0, "child processes left behind");
    assert_eq!(
        marked(&mark),
        0,
        "processes the commands started left behind"
    );
    settle(|| open_fds() <= fds);
    assert!(
        open_fds() <= fds,
        "descriptors: {} after, {fds} before",
        open_fds()
    );
    assert!(
        threads() <= threads_before + 2,
        "threads: {} after, {threads_before} before",
        threads()
    );
    running.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_and_openmetrics_output_is_read() {
    let dir = Dir::new("formats");
    let om = dir.script(
        "om.sh",
        "printf '# TYPE om_jobs counter\\nom_jobs_total 3\\n# TYPE om_temp_celsius gauge\\n# UNIT om_temp_celsius celsius\\nom_temp_celsius 21\\n# EOF\\n'",
    );
    let json = dir.script(
        "json.sh",
        r#"echo '{"schema":1,"timestamp_ms":0,"families":[{"name":"json_depth","type":"gauge","unit":null,"help":"Depth.","series":[{"labels":{"q":"a"},"value":4,"created":null}]}]}'"#,
    );
    let make = |name: &str, script: &str, format: OutputFormat| {
        let mut config = ExecConfig::new([script]);
        config.format = format;
        SourceBox::new(ExecSource::new(name, config, options(60_000, 5_000)).unwrap())
    };
    let running = sources::start([
        make("exec_om", &om, OutputFormat::Openmetrics),
        make("exec_json", &json, OutputFormat::Json),
    ])
    .unwrap();
    running.run_now().await;
    let text = telltale::render(Format::OpenMetrics);
    assert!(text.contains("om_jobs_total 3"), "{text}");
    assert!(text.contains("# UNIT om_temp_celsius celsius"), "{text}");
    assert!(text.contains(r#"json_depth{q="a"} 4"#), "{text}");
    running.shutdown();
}

struct Registered;

impl Source for Registered {
    fn name(&self) -> &'static str {
        "registered_statically"
    }

    fn options(&self) -> SourceOptions {
        options(60_000, 1_000)
    }

    async fn collect(&self, batch: &mut Batch) -> Result<(), SourceError> {
        batch
            .gauge("registered_statically_up", "", &[], 1.0)
            .map_err(SourceError::parse)
    }
}

telltale::register_source!(|| Registered);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_registered_with_the_macro_run_on_start() {
    let running = sources::start([]).unwrap();
    assert!(running
        .names()
        .contains(&"registered_statically".to_owned()));
    running.run_now().await;
    assert!(render().contains("registered_statically_up 1"));
    assert!(sources::status()
        .iter()
        .any(|s| s.name == "registered_statically"));
    running.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_directories_are_scanned_loaded_reloaded_and_unloaded() {
    let dir = Dir::new("plugins");
    dir.script("ok", "echo 'plugin_ok_value 1'");
    dir.script(
        "om.sh",
        "printf '# TYPE plugin_om_jobs counter\\nplugin_om_jobs_total 2\\n# EOF\\n'",
    );
    std::fs::write(
        dir.0.join("om.toml"),
        "protocol = 1\nformat = \"openmetrics\"\ninterval = \"1h\"\nlabels = { team = \"storage\" }\n",
    )
    .unwrap();
    dir.script("future", "echo 'plugin_future 1'");
    std::fs::write(dir.0.join("future.toml"), "protocol = 2\n").unwrap();
    dir.script("typo", "echo 'plugin_typo 1'");
    std::fs::write(
        dir.0.join("typo.toml"),
        "protocol = 1\nintervall = \"5s\"\n",
    )
    .unwrap();
    // Not executable, and a manifest alone: neither is a plugin.
    std::fs::write(dir.0.join("notes.txt"), "plugin_notes 1\n").unwrap();
    std::fs::write(dir.0.join("orphan.toml"), "protocol = 1\n").unwrap();

    let running = sources::start([]).unwrap();
    let scan = running.watch_plugins(
        vec![dir.0.clone()],
        Duration::ZERO,
        options(3_600_000, 5_000),
    );
    assert_eq!(scan.started, ["plugin:ok", "plugin:om"], "{scan:?}");
    assert_eq!(scan.refused.len(), 2, "{scan:?}");
    let future = scan
        .refused
        .iter()
        .find(|r| r.path.ends_with("future"))
        .unwrap();
    assert!(future.reason.contains("protocol version 2"), "{future:?}");
    let typo = scan
        .refused
        .iter()
        .find(|r| r.path.ends_with("typo"))
        .unwrap();
    assert!(
        typo.reason.contains("typo.toml:2:1") && typo.reason.contains("intervall"),
        "{typo:?}"
    );
    assert!(!running
        .names()
        .iter()
        .any(|n| n.contains("notes") || n.contains("orphan")));
    first_runs(&running).await;
    let text = render();
    assert!(text.contains("plugin_ok_value 1"), "{text}");
    assert!(
        text.contains(r#"plugin_om_jobs_total{team="storage"} 2"#),
        "{text}"
    );
    assert!(
        !text.contains("plugin_future") && !text.contains("plugin_typo"),
        "{text}"
    );

    // Nothing changed: nothing restarts.
    let untouched = running.rescan_plugins();
    assert!(
        untouched.started.is_empty()
            && untouched.restarted.is_empty()
            && untouched.stopped.is_empty()
    );
    // A changed plugin restarts; the other keeps its runs.
    let om_runs = status(&running, "plugin:om").runs;
    dir.script("ok", "echo 'plugin_ok_value 2'");
    dir.script("new", "echo 'plugin_new_value 3'");
    let scan = running.rescan_plugins();
    assert_eq!(scan.restarted, ["plugin:ok"], "{scan:?}");
    assert_eq!(scan.started, ["plugin:new"], "{scan:?}");
    first_runs(&running).await;
    assert_eq!(status(&running, "plugin:om").runs, om_runs);
    let text = render();
    assert!(
        text.contains("plugin_ok_value 2") && text.contains("plugin_new_value 3"),
        "{text}"
    );
    // A removed plugin stops, and its series go.
    std::fs::remove_file(dir.0.join("ok")).unwrap();
    let scan = running.rescan_plugins();
    assert_eq!(scan.stopped, ["plugin:ok"], "{scan:?}");
    assert!(!render().contains("plugin_ok_value"));
    assert!(!running.names().contains(&"plugin:ok".to_owned()));
    running.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_running_command_gives_a_batch_a_run_and_is_restarted_when_it_dies() {
    let dir = Dir::new("long");
    let starts = dir.0.join("starts");
    // Prints a batch every 50 ms, numbered; exits after five batches.
    let script = dir.script(
        "stream.sh",
        &format!(
            "echo x >> {starts}\ni=0\nwhile [ $i -lt 5 ]; do i=$((i+1)); printf '# TYPE long_batch gauge\\nlong_batch %s\\n# EOF\\n' $i; sleep 0.05; done\necho 'stream over' >&2",
            starts = starts.display()
        ),
    );
    let mut config = ExecConfig::new([script.as_str()]);
    config.mode = sources::ExecMode::LongRunning;
    config.format = OutputFormat::Openmetrics;
    let mut opts = options(3_600_000, 2_000);
    opts.breaker.failures = u32::MAX;
    let running = sources::start([SourceBox::new(
        ExecSource::new("long", config, opts).unwrap(),
    )])
    .unwrap();
    first_runs(&running).await;
    let batch = |text: &str| -> u32 {
        text.lines()
            .find_map(|l| l.strip_prefix("long_batch "))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let first = batch(&render());
    assert!(first >= 1, "{}", render());
    // The process keeps running between runs: a later run takes a later batch.
    tokio::time::sleep(Duration::from_millis(120)).await;
    running.run_now().await;
    let second = batch(&render());
    assert!(second > first, "{first} then {second}");
    assert_eq!(std::fs::read_to_string(&starts).unwrap().lines().count(), 1);
    // Once it exits, a run fails with what it said, and the next starts it again.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut failed = false;
    for _ in 0..6 {
        running.run_now().await;
        let s = status(&running, "long");
        if s.last_error_kind == Some(ErrorKind::ExitStatus) {
            assert!(
                s.last_error.as_deref().unwrap().contains("stream over"),
                "{s:?}"
            );
            failed = true;
            break;
        }
    }
    assert!(failed, "{:?}", status(&running, "long"));
    running.run_now().await;
    assert_eq!(status(&running, "long").up, Some(true));
    assert_eq!(std::fs::read_to_string(&starts).unwrap().lines().count(), 2);
    running.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_directories_are_rescanned_on_their_interval() {
    let dir = Dir::new("rescan");
    let running = sources::start([]).unwrap();
    let scan = running.watch_plugins(
        vec![dir.0.clone()],
        Duration::from_millis(100),
        options(3_600_000, 5_000),
    );
    assert!(scan.started.is_empty(), "{scan:?}");
    dir.script("late", "echo 'plugin_late_value 1'");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !render().contains("plugin_late_value 1") {
        assert!(Instant::now() < deadline, "{:?}", running.names());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    std::fs::remove_file(dir.0.join("late")).unwrap();
    while running.names().contains(&"plugin:late".to_owned()) {
        assert!(Instant::now() < deadline, "{:?}", running.names());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!render().contains("plugin_late_value"));
    running.shutdown();
}
