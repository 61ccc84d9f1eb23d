//! Running sources: one tokio task a source, each run on a task of its own
//! (so a panic is caught and a run past its timeout is dropped), the
//! breaker, the status, and the handle that adds, removes and stops them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::batch::Batch;
use super::breaker::{Breaker, BreakerState};
use super::plugins::{self, PluginScan, PluginState, RefusedPlugin};
use super::publish;
use super::self_metrics::SelfMetrics;
use super::source::{
    check, registered, DynSource, ErrorKind, SourceBox, SourceError, SourceOptions,
};
use crate::error::Error;
use crate::store::clock::unix_seconds;

/// What one source has done so far.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "json", derive(serde::Serialize))]
pub struct SourceStatus {
    /// The source's name.
    pub name: String,
    /// Time between runs, in seconds.
    pub interval_seconds: f64,
    /// The breaker.
    pub breaker: BreakerState,
    /// Whether the last run succeeded (`None` before the first).
    pub up: Option<bool>,
    /// Runs so far (not those the open breaker skipped).
    pub runs: u64,
    /// Failed runs so far.
    pub failures: u64,
    /// Failed runs since the last good one.
    pub consecutive_failures: u64,
    /// Runs the open breaker skipped.
    pub skipped: u64,
    /// How long the last run took, in seconds.
    pub last_run_seconds: Option<f64>,
    /// When a run last succeeded, in Unix seconds.
    pub last_success_unix_seconds: Option<f64>,
    /// The last error, in words (kept after a later success).
    pub last_error: Option<String>,
    /// Its kind.
    pub last_error_kind: Option<ErrorKind>,
    /// When it happened, in Unix seconds.
    pub last_error_unix_seconds: Option<f64>,
    /// Series in the last good batch.
    pub series: usize,
    /// Whether that batch is still served (not stale).
    pub served: bool,
}

/// One source and what it has done.
struct Entry {
    source: Arc<dyn DynSource>,
    name: String,
    options: SourceOptions,
    state: Mutex<State>,
    metrics: SelfMetrics,
}

struct State {
    breaker: Breaker,
    status: SourceStatus,
}

impl Entry {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set_breaker(&self, state: &mut State) {
        let breaker = state.breaker.state();
        state.status.breaker = breaker;
        {
            let m = &self.metrics;
            m.breaker(breaker);
        }
    }

    /// One scheduled run, unless the breaker is open.
    async fn run_once(&self) {
        {
            let mut state = self.state();
            let allowed = state.breaker.allow(Instant::now());
            self.set_breaker(&mut state);
            if !allowed {
                state.status.skipped += 1;
                drop(state);
                publish::drop_stale();
                return;
            }
        }
        let started = Instant::now();
        let outcome = self.run().await;
        let seconds = started.elapsed().as_secs_f64();
        let now = SystemTime::now();
        let mut state = self.state();
        let status = &mut state.status;
        status.runs += 1;
        status.last_run_seconds = Some(seconds);
        match outcome {
            Ok(batch) => {
                status.up = Some(true);
                status.consecutive_failures = 0;
                status.last_success_unix_seconds = Some(unix_seconds(now));
                status.series = batch.series_count();
                state.breaker.success();
                let batch = batch.with_labels(&self.options.labels);
                publish::publish(&self.name, batch, self.options.effective_stale_after());
            }
            Err(e) => {
                status.up = Some(false);
                status.failures += 1;
                status.consecutive_failures += 1;
                status.last_error = Some(e.message.clone());
                status.last_error_kind = Some(e.kind);
                status.last_error_unix_seconds = Some(unix_seconds(now));
                state.breaker.failure(Instant::now(), fastrand::f64());
                {
                    let m = &self.metrics;
                    m.error(e.kind);
                }
                publish::drop_stale();
            }
        }
        self.set_breaker(&mut state);
        {
            let m = &self.metrics;
            m.ran(
                seconds,
                state.status.up == Some(true),
                unix_seconds(SystemTime::now()),
            );
        }
    }

    /// Runs the source on a task of its own, within its timeout.
    async fn run(&self) -> Result<Batch, SourceError> {
        let timeout = self.options.effective_timeout();
        let source = Arc::clone(&self.source);
        let task = tokio::spawn(async move {
            let mut batch = Batch::new();
            source.run(&mut batch).await.map(|()| batch)
        });
        let abort = task.abort_handle();
        match tokio::time::timeout(timeout, task).await {
            Err(_) => {
                // Dropping the run's future ends what it started (an exec
                // source kills its process group).
                abort.abort();
                Err(SourceError::new(
                    ErrorKind::Timeout,
                    format!("no result within the timeout of {timeout:?}"),
                ))
            }
            Ok(Err(join)) if join.is_panic() => Err(SourceError::new(
                ErrorKind::Panic,
                format!("the run panicked: {}", panic_text(&*join.into_panic())),
            )),
            Ok(Err(_)) => Err(SourceError::new(ErrorKind::Panic, "the run was cancelled")),
            Ok(Ok(outcome)) => outcome,
        }
    }

    fn status(&self) -> SourceStatus {
        let mut status = self.state().status.clone();
        status.served = publish::is_served(&self.name);
        status
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}

/// A request to run now, answered when the run is over.
type Trigger = oneshot::Sender<()>;

struct Running {
    entry: Arc<Entry>,
    task: JoinHandle<()>,
    trigger: mpsc::Sender<Trigger>,
}

/// Running sources (see the [module docs](super)). Cheap to clone; the
/// sources stop at [`shutdown`](Sources::shutdown) or when the last clone is
/// dropped, and their series go with them.
#[derive(Clone)]
pub struct Sources {
    inner: Arc<Inner>,
}

struct Inner {
    running: Mutex<BTreeMap<String, Running>>,
    plugins: Mutex<PluginState>,
    plugin_task: Mutex<Option<JoinHandle<()>>>,
    runtime: tokio::runtime::Handle,
    stop: watch::Sender<bool>,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("names", &self.names())
            .finish_non_exhaustive()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self
            .plugin_task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
        let running =
            std::mem::take(&mut *self.running.lock().unwrap_or_else(PoisonError::into_inner));
        for (name, r) in running {
            r.task.abort();
            publish::withdraw(&name);
            SelfMetrics::forget(&name);
        }
    }
}

/// Every handle started in this process, for the JSON API.
static HANDLES: Mutex<Vec<Weak<Inner>>> = Mutex::new(Vec::new());

/// The status of every source of every running [`Sources`], by name.
pub fn status() -> Vec<SourceStatus> {
    let handles: Vec<Arc<Inner>> = {
        let mut handles = HANDLES.lock().unwrap_or_else(PoisonError::into_inner);
        handles.retain(|h| h.strong_count() > 0);
        handles.iter().filter_map(Weak::upgrade).collect()
    };
    let mut all: Vec<SourceStatus> = handles
        .into_iter()
        .flat_map(|inner| Sources { inner }.status())
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

fn source_error(source: &str, field: Option<&str>, reason: impl Into<String>) -> Error {
    Error::Source {
        source: source.to_owned(),
        field: field.map(str::to_owned),
        reason: reason.into(),
    }
}

/// Starts every source registered with
/// [`register_source!`](crate::register_source) and every one of `sources`,
/// each on its own schedule on the current tokio runtime.
///
/// # Errors
///
/// [`Error::Source`] for two sources of one name, a source whose options
/// are invalid (a zero interval or timeout, one above a day, a bad breaker
/// or label), and when not called within a tokio runtime.
pub fn start(sources: impl IntoIterator<Item = SourceBox>) -> Result<Sources, Error> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
        source_error(
            "",
            None,
            "sources::start must be called within a tokio runtime",
        )
    })?;
    let (stop, _) = watch::channel(false);
    let handle = Sources {
        inner: Arc::new(Inner {
            running: Mutex::new(BTreeMap::new()),
            plugins: Mutex::new(PluginState::default()),
            plugin_task: Mutex::new(None),
            runtime,
            stop,
        }),
    };
    let all: Vec<SourceBox> = registered().into_iter().chain(sources).collect();
    let mut names = std::collections::BTreeSet::new();
    for source in &all {
        check(source.name(), &source.0.options())?;
        if !names.insert(source.name().to_owned()) {
            return Err(source_error(
                source.name(),
                Some("name"),
                "two sources have this name",
            ));
        }
    }
    for source in all {
        handle.add(source)?;
    }
    HANDLES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Arc::downgrade(&handle.inner));
    Ok(handle)
}

impl Sources {
    fn running(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Running>> {
        self.inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts running `source` too; its first run is at once.
    ///
    /// # Errors
    ///
    /// [`Error::Source`] when a running source has its name, or its
    /// options are invalid.
    pub fn add(&self, source: SourceBox) -> Result<(), Error> {
        let name = source.name().to_owned();
        let options = source.0.options();
        check(&name, &options)?;
        let mut running = self.running();
        if running.contains_key(&name) {
            return Err(source_error(
                &name,
                Some("name"),
                "a source of this name is running",
            ));
        }
        let entry = Arc::new(Entry {
            metrics: SelfMetrics::of(&name),
            state: Mutex::new(State {
                breaker: Breaker::new(options.breaker.clone()),
                status: SourceStatus {
                    name: name.clone(),
                    interval_seconds: options.interval.as_secs_f64(),
                    breaker: BreakerState::Closed,
                    up: None,
                    runs: 0,
                    failures: 0,
                    consecutive_failures: 0,
                    skipped: 0,
                    last_run_seconds: None,
                    last_success_unix_seconds: None,
                    last_error: None,
                    last_error_kind: None,
                    last_error_unix_seconds: None,
                    series: 0,
                    served: false,
                },
            }),
            source: source.0,
            name: name.clone(),
            options,
        });
        {
            let m = &entry.metrics;
            m.breaker(BreakerState::Closed);
        }
        let (trigger, triggers) = mpsc::channel(16);
        let task = self.inner.runtime.spawn(schedule(
            Arc::clone(&entry),
            self.inner.stop.subscribe(),
            triggers,
        ));
        running.insert(
            name,
            Running {
                entry,
                task,
                trigger,
            },
        );
        Ok(())
    }

    /// Stops running the source `name` and stops serving its series;
    /// whether it was running.
    pub fn remove(&self, name: &str) -> bool {
        let Some(r) = self.running().remove(name) else {
            return false;
        };
        r.task.abort();
        publish::withdraw(name);
        SelfMetrics::forget(name);
        true
    }

    /// The names of the running sources, in order.
    pub fn names(&self) -> Vec<String> {
        self.running().keys().cloned().collect()
    }

    /// Every source's status, by name.
    pub fn status(&self) -> Vec<SourceStatus> {
        self.running().values().map(|r| r.entry.status()).collect()
    }

    /// Runs every source now (as its schedule would: not while its breaker
    /// is open) and waits until all have finished.
    pub async fn run_now(&self) {
        let answers: Vec<oneshot::Receiver<()>> = self
            .running()
            .values()
            .filter_map(|r| {
                let (tx, rx) = oneshot::channel();
                r.trigger.try_send(tx).ok().map(|()| rx)
            })
            .collect();
        for answer in answers {
            let _ = answer.await;
        }
    }

    fn plugin_state(&self) -> std::sync::MutexGuard<'_, PluginState> {
        self.inner
            .plugins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs the plugins of `dirs` (see [`plugins`](super::plugins)): scans
    /// them now and every `every` (none when zero), each plugin a source
    /// with `defaults` for what its manifest does not say. Replaces the
    /// directories of an earlier call.
    pub fn watch_plugins(
        &self,
        dirs: Vec<std::path::PathBuf>,
        every: Duration,
        defaults: SourceOptions,
    ) -> PluginScan {
        {
            let mut state = self.plugin_state();
            state.dirs = dirs;
            state.defaults = defaults;
        }
        let scan = self.rescan_plugins();
        let mut task = self
            .inner
            .plugin_task
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = task.take() {
            old.abort();
        }
        if !every.is_zero() {
            let weak = Arc::downgrade(&self.inner);
            *task = Some(self.inner.runtime.spawn(async move {
                let mut ticker = tokio::time::interval(every);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                ticker.tick().await;
                loop {
                    ticker.tick().await;
                    let Some(inner) = weak.upgrade() else {
                        return;
                    };
                    let _ = Sources { inner }.rescan_plugins();
                }
            }));
        }
        scan
    }

    /// Scans the plugin directories now: starts new plugins, stops removed
    /// ones, restarts changed ones; the others keep running.
    pub fn rescan_plugins(&self) -> PluginScan {
        let (dirs, defaults) = {
            let state = self.plugin_state();
            (state.dirs.clone(), state.defaults.clone())
        };
        let (found, refused) = plugins::scan(&dirs, &defaults);
        let mut scan = PluginScan {
            refused: refused.clone(),
            ..PluginScan::default()
        };
        let mut state = self.plugin_state();
        let mut seen = std::collections::BTreeSet::new();
        for plugin in found {
            seen.insert(plugin.source.clone());
            let known = state.running.get(&plugin.source).copied();
            if known == Some(plugin.hash) {
                continue;
            }
            if known.is_some() {
                self.remove(&plugin.source);
                state.running.remove(&plugin.source);
            }
            if let Ok(source) = plugin.build {
                match self.add(source) {
                    Ok(()) => {
                        state.running.insert(plugin.source.clone(), plugin.hash);
                        if known.is_some() {
                            scan.restarted.push(plugin.source);
                        } else {
                            scan.started.push(plugin.source);
                        }
                    }
                    Err(e) => scan.refused.push(RefusedPlugin {
                        path: std::path::PathBuf::from(&plugin.source),
                        reason: e.to_string(),
                    }),
                }
            } else if known.is_some() {
                scan.stopped.push(plugin.source);
            }
        }
        let gone: Vec<String> = state
            .running
            .keys()
            .filter(|name| !seen.contains(*name))
            .cloned()
            .collect();
        for name in gone {
            self.remove(&name);
            state.running.remove(&name);
            scan.stopped.push(name);
        }
        state.refused.clone_from(&scan.refused);
        scan
    }

    /// The plugins the last scan refused, and why.
    pub fn refused_plugins(&self) -> Vec<RefusedPlugin> {
        self.plugin_state().refused.clone()
    }

    /// Stops every source and stops serving their series.
    pub fn shutdown(&self) {
        if let Some(task) = self
            .inner
            .plugin_task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
        let _ = self.inner.stop.send(true);
        let running = std::mem::take(&mut *self.running());
        for (name, r) in running {
            r.task.abort();
            publish::withdraw(&name);
            SelfMetrics::forget(&name);
        }
    }
}

/// A source's schedule: a run at once, then every interval (a run that
/// takes longer delays the next), and whenever asked.
async fn schedule(
    entry: Arc<Entry>,
    mut stop: watch::Receiver<bool>,
    mut triggers: mpsc::Receiver<Trigger>,
) {
    let mut ticker = tokio::time::interval(entry.options.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if *stop.borrow() {
            return;
        }
        let reply = tokio::select! {
            _ = ticker.tick() => None,
            trigger = triggers.recv() => match trigger {
                Some(reply) => Some(reply),
                None => return,
            },
            changed = stop.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
        };
        entry.run_once().await;
        if let Some(reply) = reply {
            let _ = reply.send(());
        }
    }
}
