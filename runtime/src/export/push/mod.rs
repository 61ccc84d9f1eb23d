//! Push exporters: Pushgateway, Prometheus remote-write and OTLP/HTTP.
//!
//! [`start`] takes a [`PushConfig`] naming any number of endpoints and
//! returns a [`Pusher`]. Each endpoint runs on two tokio tasks of its own: one
//! reads every registered metric each interval (Pushgateway text is rendered
//! straight from them, the protobuf payloads go through a
//! [`Snapshot`](crate::Snapshot)) and queues the payload; the other sends the
//! queue in order, retrying as the endpoint's [`RetryPolicy`] says. So an
//! endpoint that hangs, refuses connections or answers errors delays no other
//! endpoint and never the process; recording a metric never waits for an
//! exporter nor allocates for one (exporters only read the cells).
//!
//! | protocol | body | queue |
//! |---|---|---|
//! | [`Pushgateway`](Protocol::Pushgateway) | Prometheus 0.0.4 text, `PUT`/`POST` to the group | the latest payload only |
//! | [`RemoteWrite`](Protocol::RemoteWrite) | snappy protobuf `WriteRequest`, one per interval | up to `queue_size` batches, oldest dropped and counted |
//! | [`Otlp`](Protocol::Otlp) | OTLP protobuf, cumulative | up to `queue_size` batches |
//!
//! After an outage the queued batches are sent oldest first, each with the
//! timestamp it was collected at, so nothing is lost up to the queue's bound.
//!
//! [`Pusher::status`] reports per endpoint when it last succeeded, its last
//! error, its failures, retries, drops and queue; the same figures are
//! exported as the `telltale_push_sent_total`, `telltale_push_failed_total`,
//! `telltale_push_retries_total`, `telltale_push_dropped_total` counters and
//! the `telltale_push_queue_length` gauge, labeled by `endpoint`.
//! [`Pusher::flush`] pushes now and waits; [`Pusher::shutdown`] pushes a last
//! time within [`PushConfig::shutdown_timeout`] and stops every task.
//!
//! Header values (credentials, often) are never shown by `Debug`, neither of
//! an [`EndpointConfig`] nor of a running [`Pusher`].
//!
//! Endpoints are `http://` or `https://` (TLS by rustls, trusting Mozilla's
//! roots and, with [`EndpointConfig::ca_file`], a private CA's).
//!
//! ```no_run
//! use std::time::Duration;
//! use telltale::push::{self, EndpointConfig, PushConfig};
//!
//! # async fn run() -> Result<(), telltale::Error> {
//! let mut remote = EndpointConfig::remote_write("http://127.0.0.1:9090/api/v1/write");
//! remote.interval = Duration::from_secs(10);
//! let config = PushConfig {
//!     endpoints: vec![
//!         remote.named("prometheus"),
//!         EndpointConfig::pushgateway("http://127.0.0.1:9091", "my_service").named("gateway"),
//!     ],
//!     ..PushConfig::default()
//! };
//! let pusher = push::start(config)?;
//! // ... the service runs ...
//! for endpoint in pusher.status() {
//!     println!("{}: {} sent, last error {:?}", endpoint.name, endpoint.payloads_sent, endpoint.last_error);
//! }
//! pusher.shutdown().await;
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

mod config;
mod endpoint;
mod grouping;
mod protocol;
pub mod pushgateway;
pub mod remote_write;
mod self_metrics;
mod tls;
mod wire;

pub use crate::encode::otlp::{HistogramFlavour, OtlpOptions};

pub use config::{
    redact_url, EndpointConfig, OtlpEndpointOptions, Protocol, PushConfig, PushMethod,
    PushgatewayOptions, RetryPolicy,
};

pub use endpoint::EndpointStatus;
use endpoint::{Command, Endpoint, Target};

use crate::error::Error;

/// How one endpoint's part of a [`Pusher::flush`] went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlushOutcome {
    /// The endpoint's name.
    pub endpoint: String,
    /// Everything queued was delivered (or refused for good and dropped).
    pub delivered: bool,
    /// Why not, when not.
    pub error: Option<String>,
}

/// Running exporters (see the [module docs](self)). Cheap to clone; the
/// tasks stop at [`shutdown`](Pusher::shutdown), or when the last clone is
/// dropped.
#[derive(Debug, Clone)]
pub struct Pusher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    endpoints: Vec<Arc<Endpoint>>,
    commands: Vec<mpsc::Sender<Command>>,
    /// The collecting tasks, then the sending tasks.
    collectors: Mutex<Vec<JoinHandle<()>>>,
    senders: Mutex<Vec<JoinHandle<()>>>,
    stop: watch::Sender<bool>,
    shutdown_timeout: std::time::Duration,
    /// True once a shutdown has finished; held while one runs.
    shut_down: tokio::sync::Mutex<bool>,
    runtime: tokio::runtime::Handle,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        for endpoint in &self.endpoints {
            endpoint.retire();
        }
        for tasks in [&mut self.collectors, &mut self.senders] {
            for task in tasks
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner)
                .drain(..)
            {
                task.abort();
            }
        }
    }
}

/// Every endpoint checked and resolved, in order; names unique.
fn targets(config: &PushConfig) -> Result<Vec<Target>, Error> {
    let mut targets = Vec::with_capacity(config.endpoints.len());
    let mut names = BTreeSet::new();
    for endpoint in &config.endpoints {
        let target = Target::new(endpoint)?;
        if !names.insert(target.name.clone()) {
            let reason = if endpoint.name.is_empty() {
                // Two URLs that differ only in what is hidden.
                "two unnamed endpoints are shown by this URL (secrets hidden): give each a name"
            } else {
                "two endpoints have this name"
            };
            return Err(Error::Push {
                endpoint: target.name,
                field: Some("name".into()),
                reason: reason.into(),
            });
        }
        targets.push(target);
    }
    Ok(targets)
}

impl PushConfig {
    /// Checks every endpoint as [`start`] does (URL, protocol options,
    /// unique names) without starting anything.
    ///
    /// ```
    /// use telltale::push::{EndpointConfig, PushConfig};
    ///
    /// let mut config = PushConfig::default();
    /// config.endpoints.push(EndpointConfig::remote_write("http://127.0.0.1:9090/api/v1/write"));
    /// assert!(config.validate().is_ok());
    /// config.endpoints.push(EndpointConfig::remote_write("ftp://example"));
    /// assert!(config.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        targets(self).map(drop)
    }

    /// Every mistake of every endpoint (not only the first), each as the
    /// endpoint's index and an [`Error::Push`] naming its field; two
    /// endpoints of one name count against the second.
    pub fn problems(&self) -> Vec<(usize, Error)> {
        let mut problems = Vec::new();
        let mut names = BTreeSet::new();
        for (i, endpoint) in self.endpoints.iter().enumerate() {
            match Target::new(endpoint) {
                Err(e) => problems.push((i, e)),
                Ok(target) => {
                    if !names.insert(target.name.clone()) {
                        problems.push((
                            i,
                            Error::Push {
                                endpoint: target.name,
                                field: Some("name".into()),
                                reason: "two endpoints have this name".into(),
                            },
                        ));
                    }
                }
            }
        }
        problems
    }
}

/// Checks `config` and starts pushing to every endpoint it names.
///
/// Must be called within a tokio runtime (with the time and I/O drivers
/// enabled); the tasks run on that runtime.
///
/// # Errors
///
/// [`Error::Push`] naming the endpoint and the field, for an invalid URL
/// (neither `http://` nor `https://`), a CA file that cannot be read or
/// holds no certificate, a zero interval or timeout, an interval,
/// timeout or backoff above one day, an empty queue, bad headers, a bad
/// Pushgateway grouping key, two endpoints with one name; and when there is
/// no tokio runtime to run on.
///
/// ```
/// use telltale::push::{self, EndpointConfig, PushConfig};
///
/// let config = PushConfig {
///     endpoints: vec![EndpointConfig::remote_write("http//missing-colon").named("central")],
///     ..PushConfig::default()
/// };
/// let err = push::start(config).unwrap_err().to_string();
/// assert!(err.contains("\"central\"") && err.contains("`url`"), "{err}");
/// ```
pub fn start(config: PushConfig) -> Result<Pusher, Error> {
    let targets = targets(&config)?;
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::Push {
        endpoint: String::new(),
        field: None,
        reason: "push::start must be called within a tokio runtime".into(),
    })?;
    let (stop, _) = watch::channel(false);
    let mut endpoints = Vec::with_capacity(targets.len());
    let mut commands = Vec::with_capacity(targets.len());
    let mut collectors = Vec::with_capacity(targets.len());
    let mut senders = Vec::with_capacity(targets.len());
    for (target, endpoint_config) in targets.into_iter().zip(config.endpoints) {
        let endpoint = Arc::new(Endpoint::new(&endpoint_config, target));
        let (sender, [collector, sending]) = endpoint.spawn(&runtime, stop.subscribe());
        endpoints.push(endpoint);
        commands.push(sender);
        collectors.push(collector);
        senders.push(sending);
    }
    let pusher = Pusher {
        inner: Arc::new(Inner {
            endpoints,
            commands,
            collectors: Mutex::new(collectors),
            senders: Mutex::new(senders),
            stop,
            shutdown_timeout: config.shutdown_timeout,
            shut_down: tokio::sync::Mutex::new(false),
            runtime,
        }),
    };
    let mut started = STARTED.lock().unwrap_or_else(PoisonError::into_inner);
    started.retain(|p| p.strong_count() > 0);
    started.push(Arc::downgrade(&pusher.inner));
    Ok(pusher)
}

/// Every pusher started, as long as something holds it.
static STARTED: Mutex<Vec<std::sync::Weak<Inner>>> = Mutex::new(Vec::new());

/// Every running pusher, whoever started it (a [`System`](crate::system::System),
/// a reload, or [`start`] called directly), oldest first: what
/// `/api/exporters` and the dashboard show.
pub fn running() -> Vec<Pusher> {
    STARTED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter_map(std::sync::Weak::upgrade)
        .map(|inner| Pusher { inner })
        .filter(Pusher::is_running)
        .collect()
}

/// The endpoints of every running pusher but `own`.
pub(crate) fn others(own: Option<&Pusher>) -> Vec<EndpointStatus> {
    running()
        .into_iter()
        .filter(|p| own.is_none_or(|o| !o.same(p)))
        .flat_map(|p| p.status())
        .collect()
}

/// Asks an endpoint's sending task to send its queue now; `None` when the
/// task is gone.
async fn request_flush(
    commands: &mpsc::Sender<Command>,
) -> Option<oneshot::Receiver<Result<(), Error>>> {
    let (reply, answer) = oneshot::channel();
    commands
        .send(Command::Flush(reply))
        .await
        .is_ok()
        .then_some(answer)
}

/// How the flush [`request_flush`] asked for went.
async fn flushed(
    endpoint: &Endpoint,
    answer: Option<oneshot::Receiver<Result<(), Error>>>,
) -> Result<(), Error> {
    let stopped = || Error::Push {
        endpoint: endpoint.target.name.clone(),
        field: None,
        reason: "the pusher was stopped".to_owned(),
    };
    match answer {
        Some(answer) => answer.await.unwrap_or_else(|_| Err(stopped())),
        None => Err(stopped()),
    }
}

/// Runs `work` until it ends or `deadline` passes (never, when `None`);
/// whether it ended.
async fn within(deadline: Option<tokio::time::Instant>, work: impl std::future::Future) -> bool {
    if let Some(deadline) = deadline {
        tokio::time::timeout_at(deadline, work).await.is_ok()
    } else {
        work.await;
        true
    }
}

impl Pusher {
    /// Every endpoint's status, in configuration order.
    pub fn status(&self) -> Vec<EndpointStatus> {
        self.inner.endpoints.iter().map(|e| e.status()).collect()
    }

    /// Whether `self` and `other` are the same pusher (clones of one).
    pub fn same(&self, other: &Pusher) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Whether the tasks run (false after [`shutdown`](Self::shutdown)).
    pub fn is_running(&self) -> bool {
        !*self.inner.stop.borrow()
    }

    /// Collects the metrics now, queues them on every endpoint, and waits
    /// until each endpoint has sent its queue or given up for this round
    /// (its retry policy exhausted). Endpoints are flushed concurrently, so
    /// this takes as long as the slowest: wrap it in
    /// `tokio::time::timeout` to bound it.
    pub async fn flush(&self) -> Vec<FlushOutcome> {
        let mut waiting = Vec::with_capacity(self.inner.endpoints.len());
        for (endpoint, commands) in self.inner.endpoints.iter().zip(&self.inner.commands) {
            endpoint.collect();
            waiting.push((endpoint, request_flush(commands).await));
        }
        let mut outcomes = Vec::with_capacity(waiting.len());
        for (endpoint, answer) in waiting {
            let result = flushed(endpoint, answer).await;
            outcomes.push(FlushOutcome {
                endpoint: endpoint.target.name.clone(),
                delivered: result.is_ok(),
                // The reason alone: the outcome names the endpoint.
                error: result.err().map(|e| match e {
                    Error::Push { reason, .. } => reason,
                    other => other.to_string(),
                }),
            });
        }
        outcomes
    }

    /// Stops collecting, then for every endpoint at once pushes one last
    /// time and deletes its Pushgateway group if so configured, each
    /// endpoint within [`PushConfig::shutdown_timeout`] (so one that hangs
    /// delays no other's last push or delete), then stops every task,
    /// whether the endpoints answered or not. Calling it again (or
    /// concurrently) waits for the first call and does nothing more.
    pub async fn shutdown(&self) {
        let mut done = self.inner.shut_down.lock().await;
        if *done {
            return;
        }
        self.inner.stop.send_replace(true);
        let collectors: Vec<JoinHandle<()>> = self
            .inner
            .collectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
            .collect();
        // No deadline when the timeout is too long to add to the clock.
        let deadline = tokio::time::Instant::now().checked_add(self.inner.shutdown_timeout);
        let collected = async {
            // No payload is collected after the last one.
            for collector in collectors {
                let _ = collector.await;
            }
        };
        if within(deadline, collected).await {
            let mut last_pushes = tokio::task::JoinSet::new();
            for (endpoint, commands) in self.inner.endpoints.iter().zip(&self.inner.commands) {
                let endpoint = Arc::clone(endpoint);
                let commands = commands.clone();
                last_pushes.spawn_on(
                    async move {
                        within(deadline, async {
                            endpoint.collect();
                            let _ = flushed(&endpoint, request_flush(&commands).await).await;
                            endpoint.delete_group().await;
                        })
                        .await;
                    },
                    &self.inner.runtime,
                );
            }
            // Each task ends by its deadline; dropping the set (should this
            // future be dropped) aborts them.
            while last_pushes.join_next().await.is_some() {}
        }
        let tasks: Vec<JoinHandle<()>> = self
            .inner
            .senders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
            .collect();
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let _ = task.await;
        }
        // A stopped endpoint's telltale_push_* series leave the exposition.
        for endpoint in &self.inner.endpoints {
            endpoint.retire();
        }
        *done = true;
    }

    /// Runs [`shutdown`](Self::shutdown) on the pusher's runtime without
    /// waiting for it (for synchronous callers).
    pub(crate) fn shutdown_in_background(&self) {
        self.inner.stop.send_replace(true);
        let pusher = self.clone();
        drop(
            self.inner
                .runtime
                .spawn(async move { pusher.shutdown().await }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_without_a_runtime_is_an_error() {
        let config = PushConfig {
            endpoints: vec![EndpointConfig::remote_write("http://127.0.0.1:1/x")],
            ..PushConfig::default()
        };
        let err = start(config).unwrap_err().to_string();
        assert!(err.contains("tokio runtime"), "{err}");
    }

    #[test]
    fn duplicate_names_are_refused() {
        let config = PushConfig {
            endpoints: vec![
                EndpointConfig::remote_write("http://127.0.0.1:1/x").named("a"),
                EndpointConfig::remote_write("http://127.0.0.1:2/x").named("a"),
            ],
            ..PushConfig::default()
        };
        match start(config).unwrap_err() {
            Error::Push {
                endpoint, field, ..
            } => {
                assert_eq!((endpoint.as_str(), field.as_deref()), ("a", Some("name")));
            }
            other => panic!("{other}"),
        }
        // Unnamed endpoints whose URLs differ only in hidden values.
        let config = PushConfig {
            endpoints: vec![
                EndpointConfig::remote_write("http://127.0.0.1:1/x?tenant=a"),
                EndpointConfig::remote_write("http://127.0.0.1:1/x?tenant=b"),
            ],
            ..PushConfig::default()
        };
        let error = start(config).unwrap_err().to_string();
        assert!(
            error.contains("tenant=***") && error.contains("give each a name"),
            "{error}"
        );
    }

    #[test]
    fn an_empty_config_starts_and_stops() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let pusher = start(PushConfig::default()).unwrap();
            assert!(pusher.status().is_empty());
            assert!(pusher.flush().await.is_empty());
            pusher.shutdown().await;
            pusher.shutdown().await;
            assert!(!pusher.is_running());
        });
    }
}
