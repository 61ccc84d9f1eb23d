//! The whole system in one value: windows, resource monitoring, health and
//! dashboard data.
//!
//! [`System::start`] starts the window ticker (and, if configured, the
//! resource monitor) from one [`SystemConfig`] and installs the system as
//! the one the HTTP server answers `/api/health`, `/api/stats` and
//! `/api/dashboard/{overview,performance,errors}` from, as JSON.
//! [`System::shutdown`] takes a last tick (so the last seconds are not lost)
//! and stops every background task; it is idempotent.
//!
//! # Exporters
//!
//! [`SystemConfig::exporters`] names push endpoints (Pushgateway,
//! remote-write, OTLP; see [`crate::push`]). They run on the tokio runtime
//! [`System::start`] is called in, so a system with exporters must be
//! started within one; without a runtime (or with an invalid endpoint)
//! [`System::start`] starts everything else and reports the error in
//! [`System::exporters_error`] and the overview, while [`System::try_start`]
//! returns it. Each endpoint's status is in [`System::exporters`], in
//! [`Overview::exporters`] and at `/api/exporters`.
//! [`System::shutdown`] stops the exporters after a last push that it does not
//! wait for (it runs on the runtime, within the push configuration's
//! `shutdown_timeout`); [`System::shutdown_and_flush`] waits for it.
//!
//! ```
//! use std::time::Duration;
//! use telltale::system::{System, SystemConfig};
//!
//! let system = System::start(SystemConfig::default());
//! system.tick(); // the ticker does this every second
//! telltale::tracker::record_success("system_doc_op", &[]);
//! system.tick();
//! let health = system.health();
//! assert!(health.healthy);
//! let overview = system.overview();
//! assert!(overview.operations.iter().any(|o| o.operation == "system_doc_op"));
//! let json = serde_json::to_string(&overview).unwrap();
//! assert!(json.contains("\"system_doc_op\""));
//! system.shutdown();
//! system.shutdown(); // idempotent
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::collect::snapshot::Snapshot;
use crate::config::duration;
#[cfg(feature = "push")]
pub use crate::export::push::EndpointStatus;
#[cfg(feature = "push")]
use crate::export::push::{self, PushConfig, Pusher};
use crate::metric::callsite::{CALLS_FAMILY, DURATION_FAMILY, FUNCTION_LABEL, RESULT_LABEL};
use crate::query::window::{Ticker, WindowConfig, Windows};
#[cfg(feature = "resources")]
use crate::resources::{self, Monitor};
use crate::store::clock::unix_seconds;
#[cfg(not(feature = "push"))]
use no_push as push;
#[cfg(not(feature = "push"))]
pub use no_push::{EndpointStatus, PushConfig, Pusher};
#[cfg(not(feature = "resources"))]
use no_resources::{self as resources, Monitor};

/// Without the `push` feature no exporter can be configured: these types
/// have no values, so what a [`System`] does with exporters is never run.
#[cfg(not(feature = "push"))]
mod no_push {
    use crate::error::Error;

    /// A push endpoint's status; without the `push` feature there is none.
    #[derive(Debug, Clone, PartialEq, serde::Serialize)]
    pub enum EndpointStatus {}

    /// Push endpoints; without the `push` feature none can be configured.
    #[derive(Debug, Clone, PartialEq)]
    pub enum PushConfig {}

    impl<'de> serde::Deserialize<'de> for PushConfig {
        fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
            Err(serde::de::Error::custom(
                "exporters need telltale's `push` feature",
            ))
        }
    }

    /// Running exporters; without the `push` feature there are none.
    #[derive(Debug)]
    pub enum Pusher {}

    impl Pusher {
        pub(super) fn status(&self) -> Vec<EndpointStatus> {
            match *self {}
        }
        #[allow(clippy::unused_async)] // the same signature as the real one
        pub(super) async fn shutdown(&self) {
            match *self {}
        }
        pub(super) fn is_running(&self) -> bool {
            match *self {}
        }
        pub(super) fn shutdown_in_background(&self) {
            match *self {}
        }
    }

    pub(super) fn others(_own: Option<&Pusher>) -> Vec<EndpointStatus> {
        Vec::new()
    }

    #[allow(clippy::needless_pass_by_value)] // the same signature as the real one
    pub(super) fn start(config: PushConfig) -> Result<Pusher, Error> {
        match config {}
    }
}

/// Without the `resources` feature nothing is sampled.
#[cfg(not(feature = "resources"))]
mod no_resources {
    #[derive(Debug)]
    pub(super) struct Monitor;

    impl Monitor {
        #[allow(clippy::unused_self)] // the same signature as the real one
        pub(super) fn stop(&self) {}
    }

    pub(super) fn monitor(_every: std::time::Duration) -> Monitor {
        Monitor
    }
}

/// Everything [`System::start`] needs.
///
/// It also reads from TOML, as the `[system]` section of
/// [`config::Config`](crate::config::Config) (durations as
/// [`config::parse_duration`](crate::config::parse_duration) spells them;
/// `resources = false` turns resource monitoring off):
///
/// ```
/// use std::time::Duration;
/// use telltale::system::SystemConfig;
///
/// let config: SystemConfig = telltale::config::from_toml_str(
///     r#"
///     resources = "10s"
///     [window]
///     tick = "500ms"
///     fine_retention = "10m"
///     [health]
///     max_error_rate = 0.01
///     [exporters]
///     endpoints = [{ protocol = "remote_write", url = "http://127.0.0.1:9090/api/v1/write" }]
///     "#,
///     "app.toml",
/// )?;
/// assert_eq!(config.window.tick, Duration::from_millis(500));
/// assert_eq!(config.resources, Some(Duration::from_secs(10)));
/// assert_eq!(config.health.max_error_rate, 0.01);
/// assert_eq!(config.exporters.unwrap().endpoints.len(), 1);
///
/// let off: SystemConfig = telltale::config::from_toml_str("resources = false", "app.toml")?;
/// assert_eq!(off.resources, None);
/// # Ok::<(), telltale::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SystemConfig {
    /// Tick interval and retention of the windows.
    pub window: WindowConfig,
    /// Sample process and system resources at this interval; `None` for no
    /// resource monitoring.
    #[serde(deserialize_with = "resources_interval")]
    pub resources: Option<Duration>,
    /// When the system counts as healthy.
    pub health: HealthConfig,
    /// Endpoints to push the metrics to; `None` (the default) for none.
    pub exporters: Option<PushConfig>,
}

/// `resources`: a duration, or `false` for none (`true` keeps the default).
fn resources_interval<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    struct Interval;
    impl serde::de::Visitor<'_> for Interval {
        type Value = Option<Duration>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a duration such as \"5s\", or false for no resource monitoring")
        }
        fn visit_bool<E: serde::de::Error>(self, on: bool) -> Result<Self::Value, E> {
            Ok(if on {
                SystemConfig::default().resources
            } else {
                None
            })
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
            duration::parse_duration(text).map(Some).map_err(E::custom)
        }
        fn visit_i64<E: serde::de::Error>(self, seconds: i64) -> Result<Self::Value, E> {
            u64::try_from(seconds)
                .map(|s| Some(Duration::from_secs(s)))
                .map_err(|_| E::custom(format!("a duration cannot be negative, got {seconds}")))
        }
        fn visit_u64<E: serde::de::Error>(self, seconds: u64) -> Result<Self::Value, E> {
            Ok(Some(Duration::from_secs(seconds)))
        }
        fn visit_f64<E: serde::de::Error>(self, seconds: f64) -> Result<Self::Value, E> {
            Duration::try_from_secs_f64(seconds)
                .map(Some)
                .map_err(|_| E::custom(format!("{seconds} is not a duration in seconds")))
        }
    }
    deserializer.deserialize_any(Interval)
}

impl Default for SystemConfig {
    fn default() -> Self {
        SystemConfig {
            window: WindowConfig::default(),
            resources: Some(Duration::from_secs(5)),
            health: HealthConfig::default(),
            exporters: None,
        }
    }
}

/// Thresholds of [`System::health`] (the `[system.health]` TOML table).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// The window the error rate is measured over.
    #[serde(deserialize_with = "duration::deserialize")]
    pub window: Duration,
    /// Highest error rate (errors / (ok + errors), 0..=1) still healthy.
    pub max_error_rate: f64,
    /// Fewer calls than this in the window never make the system unhealthy.
    pub min_calls: u64,
    /// Largest resident memory still healthy, if any.
    pub max_resident_memory_bytes: Option<u64>,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            window: Duration::from_mins(1),
            max_error_rate: 0.05,
            min_calls: 10,
            max_resident_memory_bytes: None,
        }
    }
}

/// A running system (see the [module docs](self)).
#[derive(Debug)]
pub struct System {
    config: RwLock<SystemConfig>,
    windows: Arc<Windows>,
    ticker: Mutex<Option<Ticker>>,
    monitor: Mutex<Option<Monitor>>,
    pusher: RwLock<Option<Arc<Pusher>>>,
    exporters_error: RwLock<Option<String>>,
    started: Instant,
}

static CURRENT: RwLock<Option<Arc<System>>> = RwLock::new(None);

/// The system the server answers `/api/...` from, if one is running.
pub fn current() -> Option<Arc<System>> {
    CURRENT
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

impl System {
    /// Starts the ticker, the resource monitor and the exporters, and
    /// installs the system as [`current`] (replacing, and shutting down, any
    /// previous one).
    ///
    /// Exporters that cannot start (no tokio runtime, an invalid endpoint)
    /// do not stop the rest: the error is kept in [`exporters_error`](Self::exporters_error)
    /// and shown in the overview. Use [`try_start`](Self::try_start) to get it
    /// as an error instead.
    pub fn start(config: SystemConfig) -> Arc<System> {
        let exporters = config.exporters.clone().map(push::start);
        let (pusher, exporters_error) = match exporters {
            None => (None, None),
            Some(Ok(pusher)) => (Some(pusher), None),
            Some(Err(e)) => (None, Some(e.to_string())),
        };
        Self::install(config, pusher, exporters_error)
    }

    /// Like [`start`](Self::start), but exporters that cannot start are an
    /// error, and then nothing is started.
    ///
    /// # Errors
    ///
    /// [`Error::Push`](crate::Error::Push) for an invalid endpoint, or when
    /// exporters are configured and the caller is not within a tokio runtime.
    pub fn try_start(config: SystemConfig) -> Result<Arc<System>, crate::error::Error> {
        let pusher = config.exporters.clone().map(push::start).transpose()?;
        Ok(Self::install(config, pusher, None))
    }

    fn install(
        config: SystemConfig,
        pusher: Option<Pusher>,
        exporters_error: Option<String>,
    ) -> Arc<System> {
        let windows = Arc::new(Windows::new(config.window));
        let ticker = Ticker::start(Arc::clone(&windows));
        let monitor = config.resources.map(resources::monitor);
        let system = Arc::new(System {
            config: RwLock::new(config),
            windows,
            ticker: Mutex::new(Some(ticker)),
            monitor: Mutex::new(monitor),
            pusher: RwLock::new(pusher.map(Arc::new)),
            exporters_error: RwLock::new(exporters_error),
            started: Instant::now(),
        });
        #[cfg(feature = "server")]
        crate::export::server::serve_api(api);
        let previous = CURRENT
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(Arc::clone(&system));
        if let Some(previous) = previous {
            previous.shutdown();
        }
        system
    }

    /// The windows the queries read.
    pub fn windows(&self) -> &Arc<Windows> {
        &self.windows
    }

    /// Takes a snapshot into the windows now (the ticker does this every tick).
    pub fn tick(&self) {
        self.windows.tick();
    }

    /// The status of every exporter endpoint: the system's own, in
    /// configuration order (still answering after a shutdown), then those of
    /// every other running pusher (started with `push::start` directly), so
    /// `/api/exporters` and the dashboard show every push the process makes.
    pub fn exporters(&self) -> Vec<EndpointStatus> {
        let own = self.pusher();
        let mut all = own.as_ref().map(|p| p.status()).unwrap_or_default();
        all.extend(push::others(own.as_deref()));
        all
    }

    /// Why the configured exporters did not start, if they did not.
    pub fn exporters_error(&self) -> Option<String> {
        self.exporters_error
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The running exporters, if any.
    pub fn pusher(&self) -> Option<Arc<Pusher>> {
        self.pusher
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The configuration in force: as started, with the changes of
    /// [`set_health`](Self::set_health), [`set_resources`](Self::set_resources)
    /// and [`replace_exporters`](Self::replace_exporters).
    pub fn config(&self) -> SystemConfig {
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn health_config(&self) -> HealthConfig {
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .health
            .clone()
    }

    /// Judges health by `health` from now on.
    pub fn set_health(&self, health: HealthConfig) {
        self.config
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .health = health;
    }

    /// Samples resources every `every` from now on (`None`: stops
    /// sampling). Does nothing to a system that is shut down.
    pub fn set_resources(&self, every: Option<Duration>) {
        if !self.is_running() {
            return;
        }
        let mut monitor = self.monitor.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = monitor.take() {
            old.stop();
        }
        *monitor = every.map(resources::monitor);
        self.config
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .resources = every;
    }

    /// Replaces the exporters: the new endpoints are checked first (and on
    /// an error nothing changes), then the running ones are stopped after a
    /// last push, which this waits for (within their `shutdown_timeout`),
    /// then the new ones start. Must be called within a tokio runtime when
    /// `exporters` is `Some`.
    ///
    /// # Errors
    ///
    /// [`Error::Push`](crate::Error::Push) when an endpoint is invalid or
    /// there is no tokio runtime to push from.
    pub async fn replace_exporters(
        &self,
        exporters: Option<PushConfig>,
    ) -> Result<(), crate::error::Error> {
        #[cfg(feature = "push")]
        if let Some(config) = &exporters {
            config.validate()?;
        }
        if let Some(old) = self.pusher() {
            old.shutdown().await;
        }
        let started = exporters.clone().map(push::start).transpose();
        let (pusher, error, result) = match started {
            Ok(pusher) => (pusher.map(Arc::new), None, Ok(())),
            Err(e) => (None, Some(e.to_string()), Err(e)),
        };
        *self.pusher.write().unwrap_or_else(PoisonError::into_inner) = pusher;
        *self
            .exporters_error
            .write()
            .unwrap_or_else(PoisonError::into_inner) = error;
        self.config
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .exporters = exporters;
        result
    }

    /// Like [`shutdown`](Self::shutdown), and waits for the exporters' last
    /// push (bounded by their `shutdown_timeout`). Idempotent.
    pub async fn shutdown_and_flush(&self) {
        if let Some(pusher) = self.pusher() {
            pusher.shutdown().await;
        }
        self.shutdown();
    }

    /// Stops the ticker after a last tick, stops the resource monitor and
    /// the exporters (after a last push it does not wait for; see
    /// [`shutdown_and_flush`](Self::shutdown_and_flush)); the system stops
    /// being [`current`]. Calling it again does nothing.
    pub fn shutdown(&self) {
        if let Some(pusher) = self.pusher() {
            if pusher.is_running() {
                pusher.shutdown_in_background();
            }
        }
        let ticker = self
            .ticker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(ticker) = ticker {
            ticker.stop();
            self.windows.tick();
        }
        if let Some(monitor) = self
            .monitor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            monitor.stop();
        }
        let mut current = CURRENT.write().unwrap_or_else(PoisonError::into_inner);
        if current
            .as_ref()
            .is_some_and(|c| std::ptr::eq(Arc::as_ptr(c), self))
        {
            *current = None;
        }
    }

    /// Whether background tasks still run.
    pub fn is_running(&self) -> bool {
        self.ticker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Health over the configured window (or what of it has data yet).
    pub fn health(&self) -> Health {
        let cfg = &self.health_config();
        let view = self.windows.last(cfg.window);
        let count = |result: &str| {
            view.as_ref()
                .and_then(|v| v.increase(CALLS_FAMILY, &[(RESULT_LABEL, result)]))
                .map_or(0, |n| n.round() as u64)
        };
        let (ok, errors) = (count("ok"), count("error"));
        let calls = ok + errors;
        let error_rate = (calls > 0).then(|| errors as f64 / calls as f64);
        let res = resource_summary();
        let resident = res.as_ref().map(|s| s.resident_memory_bytes);
        let mut reasons = Vec::new();
        if let Some(rate) = error_rate {
            if calls >= cfg.min_calls && rate > cfg.max_error_rate {
                // The span the data covers, which is shorter than the
                // window until the window has filled.
                let covered = view
                    .as_ref()
                    .map_or(cfg.window, |v| v.span().min(cfg.window));
                reasons.push(format!(
                    "error rate {:.2} % over the last {} is above {:.2} %",
                    rate * 100.0,
                    seconds(covered),
                    cfg.max_error_rate * 100.0
                ));
            }
        }
        if let (Some(max), Some(rss)) = (cfg.max_resident_memory_bytes, resident) {
            if rss > max {
                reasons.push(format!("resident memory {rss} bytes is above {max} bytes"));
            }
        }
        Health {
            healthy: reasons.is_empty(),
            reasons,
            error_rate,
            calls,
            errors,
            window_seconds: view.as_ref().map_or(0.0, |v| v.span().as_secs_f64()),
            uptime_seconds: self.started.elapsed().as_secs_f64(),
            resident_memory_bytes: resident,
            cpu_ratio: res.as_ref().and_then(|s| s.cpu_ratio),
        }
    }

    /// Per-operation figures over the health window, busiest first.
    pub fn stats(&self) -> Vec<OperationStats> {
        let window = self.health_config().window;
        let Some(view) = self.windows.last(window) else {
            return Vec::new();
        };
        let latest = self.windows.latest();
        let mut ops: Vec<OperationStats> = operations(latest.as_deref())
            .into_iter()
            .map(|op| {
                let f = [(FUNCTION_LABEL, op.as_str())];
                let inc = |result: &str| {
                    view.increase(
                        CALLS_FAMILY,
                        &[(FUNCTION_LABEL, op.as_str()), (RESULT_LABEL, result)],
                    )
                    .map_or(0, |n| n.round() as u64)
                };
                let hist = view.histogram(DURATION_FAMILY, &f);
                let q = |q: f64| hist.as_ref().and_then(|h| h.quantile(q));
                let (ok, errors) = (inc("ok"), inc("error"));
                let span = view.span().as_secs_f64();
                // Operations counted by the tracker API alone have no durations.
                let calls = hist
                    .as_ref()
                    .map_or(0, crate::store::histogram::ExpBuckets::count)
                    .max(ok + errors);
                OperationStats {
                    calls,
                    errors,
                    success_rate: view.success_rate(&op),
                    calls_per_second: if span > 0.0 { calls as f64 / span } else { 0.0 },
                    p50_seconds: q(0.5),
                    p95_seconds: q(0.95),
                    p99_seconds: q(0.99),
                    failures: view.failure_breakdown(&op),
                    operation: op,
                }
            })
            .collect();
        ops.sort_by(|a, b| {
            b.calls
                .cmp(&a.calls)
                .then_with(|| a.operation.cmp(&b.operation))
        });
        ops
    }

    /// The overview dashboard: health, operations, resources and exporters.
    pub fn overview(&self) -> Overview {
        Overview {
            health: self.health(),
            operations: self.stats(),
            resources: resource_summary(),
            exporters: self.exporters(),
            exporters_error: self.exporters_error(),
            #[cfg(feature = "sources")]
            sources: crate::sources::status(),
        }
    }

    /// The performance dashboard: operations by 99th-percentile latency.
    pub fn performance(&self) -> Performance {
        let mut operations = self.stats();
        operations.sort_by(|a, b| {
            b.p99_seconds
                .unwrap_or(0.0)
                .total_cmp(&a.p99_seconds.unwrap_or(0.0))
        });
        Performance {
            window_seconds: self.health_config().window.as_secs_f64(),
            operations,
        }
    }

    /// The errors dashboard: failing operations and the latest failures.
    pub fn errors(&self) -> Errors {
        let mut operations: Vec<OperationErrors> = self
            .stats()
            .into_iter()
            .filter(|o| o.errors > 0)
            .map(|o| OperationErrors {
                operation: o.operation,
                errors: o.errors,
                calls: o.calls,
                failures: o.failures,
            })
            .collect();
        operations.sort_by_key(|o| std::cmp::Reverse(o.errors));
        Errors {
            window_seconds: self.health_config().window.as_secs_f64(),
            error_rate: self.health().error_rate,
            operations,
            recent: crate::query::tracker::recent_failures()
                .into_iter()
                .rev()
                .take(50)
                .map(|f| RecentFailure {
                    operation: f.operation,
                    kind: f.kind,
                    // 0 rather than negative before 1970.
                    at_unix_seconds: unix_seconds(f.at).max(0.0),
                    metadata: f.metadata.into_iter().collect(),
                })
                .collect(),
        }
    }
}

/// The distinct `function` labels of the instrumented functions and operations.
fn operations(snapshot: Option<&Snapshot>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for name in [CALLS_FAMILY, DURATION_FAMILY] {
        if let Some(f) = snapshot.and_then(|s| s.family(name)) {
            for s in &f.series {
                if let Some(op) = s.label(FUNCTION_LABEL) {
                    out.insert(op.to_owned());
                }
            }
        }
    }
    out
}

/// Whether the system is healthy, and why not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    /// No threshold is crossed.
    pub healthy: bool,
    /// The thresholds crossed, in words.
    pub reasons: Vec<String>,
    /// errors / (ok + errors) over the window; `None` without calls.
    pub error_rate: Option<f64>,
    /// Calls that ended ok or in error in the window.
    pub calls: u64,
    /// Calls that ended in error in the window.
    pub errors: u64,
    /// The span the figures cover (up to the configured window).
    pub window_seconds: f64,
    /// Time since the system started.
    pub uptime_seconds: f64,
    /// The process's resident memory at the last resource sample.
    pub resident_memory_bytes: Option<u64>,
    /// The process's CPU use at the last sample (1.0 = one core).
    pub cpu_ratio: Option<f64>,
}

/// Figures of one operation (an instrumented function or a timer/tracker name).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperationStats {
    /// The `function` label.
    pub operation: String,
    /// Calls in the window.
    pub calls: u64,
    /// Failed calls in the window.
    pub errors: u64,
    /// ok / (ok + errors) in the window.
    pub success_rate: Option<f64>,
    /// Calls per second over the window.
    pub calls_per_second: f64,
    /// Median latency in the window.
    pub p50_seconds: Option<f64>,
    /// 95th-percentile latency in the window.
    pub p95_seconds: Option<f64>,
    /// 99th-percentile latency in the window.
    pub p99_seconds: Option<f64>,
    /// Failures by error kind in the window.
    pub failures: BTreeMap<String, u64>,
}

/// Resource figures of the last sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceSummary {
    /// Resident memory of the process.
    pub resident_memory_bytes: u64,
    /// CPU use of the process (1.0 = one core).
    pub cpu_ratio: Option<f64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// Threads of the process.
    pub threads: Option<u64>,
    /// Busy share of all CPUs, 0..=1.
    pub system_cpu_ratio: Option<f64>,
    /// Physical memory in use.
    pub system_memory_used_bytes: u64,
    /// Physical memory.
    pub system_memory_total_bytes: u64,
}

/// The overview dashboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    /// Health.
    pub health: Health,
    /// Operations, busiest first.
    pub operations: Vec<OperationStats>,
    /// The last resource sample, if monitoring runs.
    pub resources: Option<ResourceSummary>,
    /// Each push endpoint's status (empty without exporters).
    pub exporters: Vec<EndpointStatus>,
    /// Why the configured exporters did not start, if they did not.
    pub exporters_error: Option<String>,
    /// Every running metric source's status (see
    /// [`sources::status`](crate::sources::status)).
    #[cfg(feature = "sources")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sources")))]
    pub sources: Vec<crate::sources::SourceStatus>,
}

/// The performance dashboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Performance {
    /// The window the figures cover.
    pub window_seconds: f64,
    /// Operations, slowest (99th percentile) first.
    pub operations: Vec<OperationStats>,
}

/// Failures of one operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperationErrors {
    /// The operation.
    pub operation: String,
    /// Failed calls in the window.
    pub errors: u64,
    /// All calls in the window.
    pub calls: u64,
    /// Failures by error kind.
    pub failures: BTreeMap<String, u64>,
}

/// One failure recorded through [`crate::tracker`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecentFailure {
    /// The operation.
    pub operation: String,
    /// Its error kind.
    pub kind: String,
    /// When, in Unix seconds.
    pub at_unix_seconds: f64,
    /// What the caller attached.
    pub metadata: BTreeMap<String, String>,
}

/// The errors dashboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Errors {
    /// The window the figures cover.
    pub window_seconds: f64,
    /// Error rate over the window.
    pub error_rate: Option<f64>,
    /// Failing operations, most failures first.
    pub operations: Vec<OperationErrors>,
    /// The latest failures recorded through the tracker, newest first.
    pub recent: Vec<RecentFailure>,
}

/// The last resource sample, summed up for the dashboard; `None` before the
/// first sample, or without the `resources` feature.
fn resource_summary() -> Option<ResourceSummary> {
    #[cfg(feature = "resources")]
    {
        resources::last().map(|s| ResourceSummary {
            resident_memory_bytes: s.process.resident_memory_bytes,
            cpu_ratio: s.process.cpu_percent.map(|p| p / 100.0),
            open_fds: s.process.open_fds,
            threads: s.process.threads,
            system_cpu_ratio: s.system.cpu_percent.map(|p| p / 100.0),
            system_memory_used_bytes: s.system.memory_used_bytes,
            system_memory_total_bytes: s.system.memory_total_bytes,
        })
    }
    #[cfg(not(feature = "resources"))]
    {
        None
    }
}

/// The JSON answer to `/api/<path>`: status code and body. Without a
/// running [`System`] every API path answers 503.
#[cfg(feature = "server")]
pub(crate) fn api(path: &str) -> (u16, String) {
    let Some(system) = current() else {
        return (
            503,
            r#"{"error":"no telltale System is running"}"#.to_owned(),
        );
    };
    let json = match path {
        "health" => {
            let h = system.health();
            let status = if h.healthy { 200 } else { 503 };
            return (status, serde_json::to_string(&h).unwrap_or_default());
        }
        "stats" => serde_json::to_string(&system.stats()),
        "exporters" => serde_json::to_string(&system.exporters()),
        #[cfg(feature = "sources")]
        "sources" => serde_json::to_string(&crate::sources::status()),
        "dashboard/overview" => serde_json::to_string(&system.overview()),
        "dashboard/performance" => serde_json::to_string(&system.performance()),
        "dashboard/errors" => serde_json::to_string(&system.errors()),
        _ => return (404, r#"{"error":"no such API path"}"#.to_owned()),
    };
    (200, json.unwrap_or_default())
}

/// `60 s`, `1.3 s`, `20 ms`: a duration, to a tenth of a second where it
/// is short, in milliseconds below a second.
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else if s >= 10.0 || s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_in_health_reasons_read_as_seconds() {
        assert_eq!(super::seconds(std::time::Duration::from_mins(1)), "60 s");
        assert_eq!(
            super::seconds(std::time::Duration::from_millis(1300)),
            "1.3 s"
        );
        assert_eq!(super::seconds(std::time::Duration::from_secs(2)), "2 s");
        assert_eq!(
            super::seconds(std::time::Duration::from_millis(20)),
            "20 ms"
        );
    }

    use super::SystemConfig;

    /// Without the `push` feature an `exporters` section is an error that
    /// names the feature, not silently ignored.
    #[cfg(not(feature = "push"))]
    #[test]
    fn exporters_need_the_push_feature() {
        let error = serde_json::from_str::<SystemConfig>(r#"{"exporters": {"endpoints": []}}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("`push` feature"), "{error}");
        assert!(serde_json::from_str::<SystemConfig>("{}").is_ok());
    }

    /// With it, the section is read.
    #[cfg(feature = "push")]
    #[test]
    fn exporters_are_read() {
        let config: SystemConfig =
            serde_json::from_str(r#"{"exporters": {"endpoints": []}}"#).unwrap();
        assert!(config.exporters.is_some());
    }

    /// Resources asked for are sampled with the `resources` feature, and
    /// without it the system runs the rest and exports no resource series.
    #[test]
    fn resources_follow_the_feature() {
        use crate::encode::{render_into, Format};
        let system = super::System::start(SystemConfig {
            resources: Some(std::time::Duration::from_millis(10)),
            ..SystemConfig::default()
        });
        assert!(system.is_running());
        // Ten intervals: time enough to have sampled, feature or not.
        std::thread::sleep(std::time::Duration::from_millis(100));
        let mut text = String::new();
        for _ in 0..200 {
            text.clear();
            render_into(Format::Prometheus, &mut text);
            if text.contains("process_resident_memory_bytes") || !cfg!(feature = "resources") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        system.shutdown();
        assert!(!system.is_running());
        assert_eq!(
            text.contains("process_resident_memory_bytes"),
            cfg!(feature = "resources"),
            "{text}"
        );
    }
}
