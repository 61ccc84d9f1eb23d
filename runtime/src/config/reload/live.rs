//! [`Live`]: everything a configuration file describes, running, and
//! reloaded when the file changes.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use super::status::{self, ConfigStatus};
use super::watch::{Changes, FileWatch};
use crate::config::env::Env;
use crate::config::file::Config;
use crate::config::loaded::{Loaded, Loader};
use crate::error::Error;
use crate::export::server::{self, Server};
use crate::system::System;

/// What made a reload happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trigger {
    /// A change to one of the files, seen by the watcher.
    File,
    /// SIGHUP.
    Signal,
    /// `POST /-/reload`.
    Http,
    /// A call of [`Live::reload`].
    Call,
}

/// How one reload went: what changed, or why nothing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadReport {
    /// What made it happen.
    pub trigger: Trigger,
    /// What changed, one line each (empty: the configuration was the same),
    /// or why the reload failed (the running configuration stays).
    pub result: Result<Vec<String>, String>,
}

/// Called after each reload.
pub type ReportFn = Arc<dyn Fn(&ReloadReport) + Send + Sync>;
/// Changes a configuration after it is read and before it is checked
/// (command-line overrides, say).
pub type AdjustFn = Arc<dyn Fn(&mut Config) + Send + Sync>;

/// How [`Live::start`] runs and reloads.
#[derive(Clone)]
pub struct LiveOptions {
    /// Reads the files (where `${VAR}` looks up variables).
    pub loader: Loader,
    /// Apply the process's `TELLTALE_*` variables after the file (default
    /// `true`), as [`Config::load`] does.
    pub env: bool,
    /// Watch the file and its includes, and reload when they change
    /// (default `true`).
    pub watch: bool,
    /// How long the files must be quiet after a change before the reload
    /// (default 250 ms); a stream of changes reloads at least every ten of
    /// these.
    pub debounce: Duration,
    /// Reload on SIGHUP (default `true`; Unix only).
    pub sighup: bool,
    /// Reload on `POST /-/reload` to the server, with the server's
    /// credentials (default `true`). Like SIGHUP, a request can only make
    /// the same file be read again; a server without credentials lets
    /// anyone who reaches it ask for that.
    pub http: bool,
    /// Applied to every configuration read, before it is checked.
    pub adjust: Option<AdjustFn>,
    /// Told of every reload.
    pub report: Option<ReportFn>,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            loader: Loader::new(),
            env: true,
            watch: true,
            debounce: Duration::from_millis(250),
            sighup: true,
            http: true,
            adjust: None,
            report: None,
        }
    }
}

impl fmt::Debug for LiveOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveOptions")
            .field("env", &self.env)
            .field("watch", &self.watch)
            .field("debounce", &self.debounce)
            .field("sighup", &self.sighup)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

/// The configuration of a file, running: the [`System`] (windows, health,
/// resources, exporters), the server and the sources, reloaded from the
/// file while running.
///
/// A reload reads and checks the whole new configuration before it touches
/// anything; if that fails (or a new server address cannot be bound), the
/// running configuration stays and the error is reported
/// ([`ReloadReport`], `/api/config`, `telltale_config_last_reload_successful`
/// 0). If it succeeds, only what changed is restarted:
///
/// | changed | what happens |
/// |---|---|
/// | `[server]` `host`, `port` or `enabled` | a new server is bound first, then the old one stops (its requests in flight finish) |
/// | other `[server]` keys | applied to the running server: no connection is dropped |
/// | `[system.window]` | the system restarts (its windows start empty; exporters flush first) |
/// | `[system.health]`, `system.resources` | applied in place |
/// | `[system.exporters]` | the old endpoints push a last time, then the new ones start |
/// | a source | added ones start, removed ones stop (their series go), changed ones restart |
/// | plugin directories, `rescan_interval` | watched anew |
///
/// A file that is empty when read (an editor's save caught in the middle)
/// is refused as a reload, so the process never runs without its
/// configuration. Plugin directories are rescanned on every reload.
pub struct Live {
    inner: Arc<Inner>,
}

impl fmt::Debug for Live {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Live")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

struct Inner {
    path: PathBuf,
    options: LiveOptions,
    state: tokio::sync::Mutex<State>,
    watch: Mutex<Option<FileWatch>>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

struct State {
    config: Config,
    loaded: Loaded,
    system: Arc<System>,
    server: Server,
    #[cfg(feature = "sources")]
    sources: crate::sources::Sources,
    #[cfg(all(feature = "sources", feature = "aggregate"))]
    aggregator: Option<crate::aggregate::Aggregator>,
    stopped: bool,
}

/// The aggregation rules of `config` running on `system`'s windows; `None`
/// when it has none.
#[cfg(all(feature = "sources", feature = "aggregate"))]
fn start_rules(
    config: &Config,
    system: &System,
) -> Result<Option<crate::aggregate::Aggregator>, Error> {
    let custom = &config.custom_metrics;
    if custom.aggregators.is_empty() {
        return Ok(None);
    }
    crate::aggregate::start_with(
        system.windows(),
        &custom.aggregators,
        custom.aggregation_window,
    )
    .map(Some)
    .map_err(|errors| rule_errors(&errors))
}

#[cfg(all(feature = "sources", feature = "aggregate"))]
fn rule_errors(errors: &[crate::aggregate::RuleError]) -> Error {
    let lines: Vec<String> = errors
        .iter()
        .map(|e| match e.field {
            Some(field) => format!(
                "custom_metrics.aggregators[{}].{field}: {}",
                e.index, e.reason
            ),
            None => format!("custom_metrics.aggregators[{}]: {}", e.index, e.reason),
        })
        .collect();
    Error::Config(lines.join("\n"))
}

impl Live {
    /// Reads `path`, starts everything it describes, and (as `options`
    /// say) watches it. Call it within a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] listing every mistake of the file; the errors of
    /// starting the system, the sources or the server (a port taken).
    pub async fn start(path: impl AsRef<Path>, options: LiveOptions) -> Result<Live, Error> {
        let path = path.as_ref().to_path_buf();
        let (loaded, config) = read(&path, &options)?;
        // The backend first: before anything this starts records.
        #[cfg(any(feature = "backend-file", feature = "backend-redis"))]
        if let Some(backend) = config.chosen_backend()? {
            crate::backend::choose(backend, "the configuration file")?;
        }
        let system = System::try_start(config.system.clone())?;
        #[cfg(feature = "sources")]
        let sources = match start_sources(&config) {
            Ok(sources) => sources,
            Err(e) => {
                system.shutdown();
                return Err(e);
            }
        };
        #[cfg(all(feature = "sources", feature = "aggregate"))]
        let aggregator = match start_rules(&config, &system) {
            Ok(aggregator) => aggregator,
            Err(e) => {
                sources.shutdown();
                system.shutdown();
                return Err(e);
            }
        };
        let server = match server::start(config.server.clone()).await {
            Ok(server) => server,
            Err(e) => {
                #[cfg(feature = "sources")]
                sources.shutdown();
                system.shutdown();
                return Err(e);
            }
        };
        status::applied(status_of(&path, &loaded), false);
        let dirs = loaded.watch_dirs().to_vec();
        let inner = Arc::new(Inner {
            path,
            options,
            state: tokio::sync::Mutex::new(State {
                config,
                loaded,
                system,
                server,
                #[cfg(feature = "sources")]
                sources,
                #[cfg(all(feature = "sources", feature = "aggregate"))]
                aggregator,
                stopped: false,
            }),
            watch: Mutex::new(None),
            tasks: Mutex::new(Vec::new()),
        });
        let live = Live { inner };
        live.listen(&dirs)?;
        Ok(live)
    }

    /// Starts the watcher, the signal task and the HTTP hook.
    fn listen(&self, dirs: &[PathBuf]) -> Result<(), Error> {
        let options = &self.inner.options;
        let mut tasks = Vec::new();
        if options.watch {
            let changes = Arc::new(Changes::default());
            let watch = FileWatch::start(dirs, Arc::clone(&changes)).map_err(Error::Config)?;
            *self
                .inner
                .watch
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(watch);
            let weak = Arc::downgrade(&self.inner);
            let quiet = options.debounce;
            tasks.push(tokio::spawn(async move {
                loop {
                    changes.settled(quiet, quiet * 10).await;
                    let Some(inner) = weak.upgrade() else { return };
                    let _ = Live { inner }.reload_by(Trigger::File).await;
                }
            }));
        }
        #[cfg(unix)]
        if options.sighup {
            use tokio::signal::unix::{signal, SignalKind};
            let mut hup = signal(SignalKind::hangup())
                .map_err(|e| Error::Config(format!("cannot listen for SIGHUP: {e}")))?;
            let weak = Arc::downgrade(&self.inner);
            tasks.push(tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    let Some(inner) = weak.upgrade() else { return };
                    let _ = Live { inner }.reload_by(Trigger::Signal).await;
                }
            }));
        }
        if options.http {
            server::serve_reload(Some(http_hook(Arc::downgrade(&self.inner))));
        }
        server::serve_api_route("config", status::api);
        *self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = tasks;
        Ok(())
    }

    /// Reloads the file now.
    ///
    /// # Errors
    ///
    /// Why the reload failed; the running configuration stays.
    pub async fn reload(&self) -> Result<Vec<String>, Error> {
        self.reload_by(Trigger::Call).await
    }

    /// Reloads on a task of its own, so that a caller that goes away (a
    /// connection closed, a task aborted) never leaves a reload half done.
    async fn reload_by(&self, trigger: Trigger) -> Result<Vec<String>, Error> {
        let live = Live {
            inner: Arc::clone(&self.inner),
        };
        match tokio::spawn(async move { live.reload_now(trigger).await }).await {
            Ok(result) => result,
            Err(e) => Err(Error::Config(format!("the reload did not finish: {e}"))),
        }
    }

    async fn reload_now(&self, trigger: Trigger) -> Result<Vec<String>, Error> {
        let mut state = self.inner.state.lock().await;
        if state.stopped {
            return Err(Error::Config("the configuration is stopped".to_owned()));
        }
        let result = self.apply(&mut state).await;
        match &result {
            Ok(_) => {
                status::applied(status_of(&self.inner.path, &state.loaded), true);
            }
            Err(e) => status::failed(e.to_string()),
        }
        if let Some(watch) = self
            .inner
            .watch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            let _ = watch.set(state.loaded.watch_dirs());
        }
        drop(state);
        if let Some(report) = &self.inner.options.report {
            report(&ReloadReport {
                trigger,
                result: result
                    .as_ref()
                    .map(Clone::clone)
                    .map_err(ToString::to_string),
            });
        }
        result
    }

    /// Reads and checks the file, then applies what changed.
    async fn apply(&self, state: &mut State) -> Result<Vec<String>, Error> {
        let (loaded, config) = read(&self.inner.path, &self.inner.options)?;
        // A file read empty is a save caught half way (an empty file would
        // stop everything it configures): the reload waits for the next.
        if let Some(empty) = loaded.empty_file() {
            return Err(Error::Config(format!(
                "{} is empty (a save in progress?); the running configuration stays",
                empty.display()
            )));
        }
        let secrets = loaded.clone();
        self.apply_loaded(state, loaded, config)
            .await
            .map(|changes| changes.iter().map(|c| secrets.redact(c)).collect())
            .map_err(|e| Error::Config(secrets.redact(&e.to_string())))
    }

    /// Applies a configuration read and checked. Everything that can fail
    /// comes first (the new sources built, a new address bound, a new
    /// system or new exporters started), so a failure leaves the running
    /// configuration as it was.
    async fn apply_loaded(
        &self,
        state: &mut State,
        loaded: Loaded,
        config: Config,
    ) -> Result<Vec<String>, Error> {
        let mut changes = Vec::new();
        let old = state.config.clone();
        #[cfg(any(feature = "backend-file", feature = "backend-redis"))]
        if config.backend != old.backend {
            return Err(Error::Config(
                "backend: the backend cannot change while running (the processes sharing it \
                 would disagree); restart to use the new one"
                    .to_owned(),
            ));
        }

        #[cfg(feature = "sources")]
        let plan = plan_sources(&old, &config)?;
        let rebound = if state.server.same_address(&config.server) {
            None
        } else {
            Some(server::start(config.server.clone()).await?)
        };
        let window_changed = config.system.window != old.system.window;
        if let Some(exporters) = &config.system.exporters {
            if window_changed || Some(exporters) != old.system.exporters.as_ref() {
                #[cfg(feature = "push")]
                exporters.validate()?;
            }
        }
        if window_changed {
            // Installed as the current system at once; the old one pushes a
            // last time (in the background) as it shuts down.
            let system = System::try_start(config.system.clone())?;
            #[cfg(all(feature = "sources", feature = "aggregate"))]
            let rules = match start_rules(&config, &system) {
                Ok(rules) => rules,
                Err(e) => {
                    system.shutdown();
                    return Err(e);
                }
            };
            let previous = std::mem::replace(&mut state.system, system);
            previous.shutdown();
            #[cfg(all(feature = "sources", feature = "aggregate"))]
            {
                state.aggregator = rules;
            }
            changes.push("system: restarted (system.window changed)".to_owned());
        } else if config.system.exporters != old.system.exporters {
            state
                .system
                .replace_exporters(config.system.exporters.clone())
                .await?;
            changes.push("system.exporters: replaced after a last push".to_owned());
        }

        #[cfg(all(feature = "sources", feature = "aggregate"))]
        if !window_changed {
            let (before, after) = (&old.custom_metrics, &config.custom_metrics);
            if before.aggregators != after.aggregators
                || before.aggregation_window != after.aggregation_window
            {
                match (&state.aggregator, after.aggregators.is_empty()) {
                    (_, true) => state.aggregator = None,
                    (Some(running), false) => running
                        .set_rules(
                            state.system.windows(),
                            &after.aggregators,
                            after.aggregation_window,
                        )
                        .map_err(|errors| rule_errors(&errors))?,
                    (None, false) => state.aggregator = start_rules(&config, &state.system)?,
                }
                changes.push(format!(
                    "custom_metrics.aggregators: {} rules",
                    after.aggregators.len()
                ));
            }
        }

        // From here on nothing fails.
        if let Some(new) = rebound {
            let previous = std::mem::replace(&mut state.server, new);
            // Stopped in the background: its requests in flight (maybe the
            // `POST /-/reload` that asked for this) finish meanwhile.
            tokio::spawn(async move { previous.stop().await });
            changes.push(match state.server.url() {
                Some(url) => format!("server: now serving at {url}"),
                None => "server: stopped (disabled)".to_owned(),
            });
        } else if config.server.enabled && config.server != old.server {
            state.server.reconfigure(&config.server)?;
            changes.push("server: settings applied".to_owned());
        }
        if !window_changed {
            if config.system.health != old.system.health {
                state.system.set_health(config.system.health.clone());
                changes.push("system.health: applied".to_owned());
            }
            if config.system.resources != old.system.resources {
                state.system.set_resources(config.system.resources);
                changes.push("system.resources: applied".to_owned());
            }
        }

        #[cfg(feature = "sources")]
        apply_sources(&state.sources, plan, &old, &config, &mut changes);

        state.config = config;
        state.loaded = loaded;
        Ok(changes)
    }

    /// The system running now (a change of `[system.window]` replaces it).
    pub async fn system(&self) -> Arc<System> {
        Arc::clone(&self.inner.state.lock().await.system)
    }

    /// The configuration in force.
    pub async fn config(&self) -> Config {
        self.inner.state.lock().await.config.clone()
    }

    /// The files of the configuration in force, with where each value
    /// came from.
    pub async fn loaded(&self) -> Loaded {
        self.inner.state.lock().await.loaded.clone()
    }

    /// The server's metrics URL now, if it is enabled.
    pub async fn url(&self) -> Option<String> {
        self.inner.state.lock().await.server.url()
    }

    /// The server's address now, if it is enabled.
    pub async fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.inner.state.lock().await.server.local_addr()
    }

    /// The sources running now.
    #[cfg(feature = "sources")]
    pub async fn sources(&self) -> crate::sources::Sources {
        self.inner.state.lock().await.sources.clone()
    }

    /// Stops watching, stops the sources and the server, and shuts the
    /// system down after the exporters' last push. Idempotent.
    pub async fn stop(&self) {
        let tasks = std::mem::take(
            &mut *self
                .inner
                .tasks
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for task in tasks {
            task.abort();
        }
        self.inner
            .watch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let mut state = self.inner.state.lock().await;
        if state.stopped {
            return;
        }
        state.stopped = true;
        if self.inner.options.http {
            server::serve_reload(None);
        }
        status::clear();
        #[cfg(all(feature = "sources", feature = "aggregate"))]
        state.aggregator.take();
        #[cfg(feature = "sources")]
        state.sources.shutdown();
        state.server.stop().await;
        state.system.shutdown_and_flush().await;
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in self
            .tasks
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            task.abort();
        }
    }
}

/// `POST /-/reload`: a reload of the configuration behind `weak`.
fn http_hook(weak: Weak<Inner>) -> server::ReloadHook {
    Arc::new(move || {
        let weak = weak.clone();
        Box::pin(async move {
            let Some(inner) = weak.upgrade() else {
                return Err("the configuration is stopped".to_owned());
            };
            match (Live { inner }).reload_by(Trigger::Http).await {
                Ok(changes) if changes.is_empty() => Ok("reloaded: nothing changed".to_owned()),
                Ok(changes) => Ok(format!("reloaded:\n{}", changes.join("\n"))),
                Err(e) => Err(e.to_string()),
            }
        })
    })
}

/// The file read and checked, with the options' adjustments and the
/// environment applied.
fn read(path: &Path, options: &LiveOptions) -> Result<(Loaded, Config), Error> {
    let loaded = options.loader.load(path)?;
    let mut config = loaded.config().clone();
    if let Some(adjust) = &options.adjust {
        adjust(&mut config);
    }
    if options.env {
        config.apply_env(Env::from_process())?;
    }
    config.validate()?;
    Ok((loaded, config))
}

fn status_of(path: &Path, loaded: &Loaded) -> ConfigStatus {
    ConfigStatus {
        file: path.display().to_string(),
        files: loaded
            .files()
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        hash: loaded.hash().to_owned(),
        warnings: loaded.warnings().to_vec(),
        values: loaded.show(),
        ..ConfigStatus::default()
    }
}

#[cfg(feature = "sources")]
fn start_sources(config: &Config) -> Result<crate::sources::Sources, Error> {
    let built = config.custom_metrics.build().map_err(|errors| {
        Error::Config(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    let sources = crate::sources::start(built)?;
    let custom = &config.custom_metrics;
    if !custom.plugin_directories.is_empty() {
        let _ = sources.watch_plugins(
            custom.plugin_directories.clone(),
            custom.rescan_every(),
            crate::sources::SourceOptions::default(),
        );
    }
    Ok(sources)
}

/// The sources a reload starts (built already) and stops.
#[cfg(feature = "sources")]
struct SourcePlan {
    stop: Vec<String>,
    start: Vec<(String, crate::sources::SourceBox, bool)>,
}

#[cfg(feature = "sources")]
fn plan_sources(old: &Config, new: &Config) -> Result<SourcePlan, Error> {
    let old_sources = &old.custom_metrics.sources;
    let new_sources = &new.custom_metrics.sources;
    let mut plan = SourcePlan {
        stop: Vec::new(),
        start: Vec::new(),
    };
    for source in old_sources {
        if !new_sources.iter().any(|s| s.name == source.name) {
            plan.stop.push(source.name.clone());
        }
    }
    for source in new_sources {
        let before = old_sources.iter().find(|s| s.name == source.name);
        if before == Some(source) {
            continue;
        }
        let built = source.build()?;
        if before.is_some() {
            plan.stop.push(source.name.clone());
        }
        plan.start
            .push((source.name.clone(), built, before.is_some()));
    }
    Ok(plan)
}

#[cfg(feature = "sources")]
fn apply_sources(
    sources: &crate::sources::Sources,
    plan: SourcePlan,
    old: &Config,
    new: &Config,
    changes: &mut Vec<String>,
) {
    for name in &plan.stop {
        sources.remove(name);
        if !plan.start.iter().any(|(n, _, _)| n == name) {
            changes.push(format!("source {name:?}: stopped"));
        }
    }
    for (name, source, restarted) in plan.start {
        match sources.add(source) {
            Ok(()) if restarted => changes.push(format!("source {name:?}: restarted")),
            Ok(()) => changes.push(format!("source {name:?}: started")),
            Err(e) => changes.push(format!("source {name:?}: not started: {e}")),
        }
    }
    let (before, after) = (&old.custom_metrics, &new.custom_metrics);
    if before.plugin_directories != after.plugin_directories
        || before.rescan_interval != after.rescan_interval
    {
        let scan = sources.watch_plugins(
            after.plugin_directories.clone(),
            after.rescan_every(),
            crate::sources::SourceOptions::default(),
        );
        changes.push(format!(
            "plugins: watching {} directories ({} started, {} stopped)",
            after.plugin_directories.len(),
            scan.started.len(),
            scan.stopped.len()
        ));
    } else if !after.plugin_directories.is_empty() {
        let scan = sources.rescan_plugins();
        let moved = scan.started.len() + scan.restarted.len() + scan.stopped.len();
        if moved > 0 {
            changes.push(format!(
                "plugins rescanned: {} started, {} restarted, {} stopped",
                scan.started.len(),
                scan.restarted.len(),
                scan.stopped.len()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs with or without the `sources` feature (`.ci/run` builds it
    /// without): the system and the server reload alike.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_file_reloads_with_or_without_sources() {
        let dir = std::env::temp_dir().join(format!("telltale-live-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("t.toml");
        let text = |calls: u64| {
            format!("version = 2\n[server]\nenabled = false\n[system]\nresources = false\n[system.health]\nmin_calls = {calls}\n")
        };
        std::fs::write(&file, text(3)).unwrap();
        let options = LiveOptions {
            watch: false,
            sighup: false,
            env: false,
            ..LiveOptions::default()
        };
        let live = Live::start(&file, options).await.unwrap();
        assert_eq!(live.url().await, None);
        std::fs::write(&file, text(4)).unwrap();
        assert_eq!(live.reload().await.unwrap(), ["system.health: applied"]);
        // Another key of a disabled server changes nothing to reload.
        std::fs::write(
            &file,
            text(4).replace("enabled = false", "enabled = false\nport = 1234"),
        )
        .unwrap();
        assert_eq!(live.reload().await.unwrap(), Vec::<String>::new());
        assert_eq!(live.system().await.config().health.min_calls, 4);
        std::fs::write(&file, "[server]\nenabled = 3\n").unwrap();
        let error = live.reload().await.unwrap_err().to_string();
        assert!(error.contains("t.toml:2:11: server.enabled"), "{error}");
        assert_eq!(live.config().await.system.health.min_calls, 4);
        live.stop().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
