//! One endpoint at run time: its checked target, its queue, its statistics,
//! the request with retries, and the two tasks that collect and send.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER, USER_AGENT};
use hyper::{Method, Request, Uri};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::JoinHandle;

use serde::Serialize;

use super::config::{redact_url, EndpointConfig, FieldError, Protocol, RetryPolicy};
use super::protocol;
use super::self_metrics::SelfMetrics;
use super::tls::{self, Tls};
use super::wire::{BaseUrl, Wire};
use crate::error::Error;
use crate::store::clock::unix_seconds;
pub(crate) use tls::{client, Client};

/// What one endpoint has done so far.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointStatus {
    /// The endpoint's name (its URL, secrets hidden, when it has none).
    pub name: String,
    /// Its protocol.
    pub protocol: Protocol,
    /// The URL as configured, secrets hidden ([`redact_url`]).
    pub url: String,
    /// The URL requests go to (with the Pushgateway group or the OTLP path),
    /// secrets hidden.
    pub request_url: String,
    /// When a payload was last accepted, in Unix seconds.
    pub last_success_unix_seconds: Option<f64>,
    /// The last error, in words (kept after a later success).
    pub last_error: Option<String>,
    /// When the last error happened, in Unix seconds.
    pub last_error_unix_seconds: Option<f64>,
    /// Failed requests since the last success.
    pub consecutive_failures: u64,
    /// Payloads collected and queued (for a remote-write or OTLP endpoint:
    /// `payloads_sent + dropped + rejected + queue_length`, give or take the
    /// one being sent).
    pub payloads_queued: u64,
    /// Payloads the endpoint accepted.
    pub payloads_sent: u64,
    /// Requests that failed (connection errors, timeouts, error statuses).
    pub failed_requests: u64,
    /// Requests that were retries of a failed one.
    pub retries: u64,
    /// Payloads dropped unsent because the queue was full.
    pub dropped: u64,
    /// Payloads the endpoint refused with a status not worth retrying,
    /// dropped (see [`RetryPolicy`] for the statuses that are retried).
    pub rejected: u64,
    /// Payloads waiting.
    pub queue_length: usize,
    /// Payloads that may wait at most.
    pub queue_capacity: usize,
}

/// Most bytes of an answer's body read for an error message.
const ERROR_BODY_LIMIT: usize = 4096;

/// Characters of an answer's body quoted in an error message.
const ERROR_TEXT_CHARS: usize = 300;

/// The longest `interval`, `timeout`, `retry.initial_backoff` and
/// `retry.max_backoff` an endpoint accepts: one day.
pub(crate) const MAX_DURATION: Duration = Duration::from_hours(24);

/// An endpoint's configuration, checked: where and how to send. The
/// configured headers are marked sensitive, so `Debug` does not show them,
/// and `Debug` hides the URLs' secrets ([`redact_url`]).
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) name: String,
    pub(crate) url: String,
    pub(crate) protocol: Protocol,
    /// What the protocol does on the wire.
    pub(crate) wire: Arc<dyn Wire>,
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) timeout: Duration,
    /// Where `DELETE` goes on shutdown (Pushgateway with `delete_on_shutdown`).
    pub(crate) delete_uri: Option<Uri>,
    /// The TLS settings of an `https://` endpoint (unused for `http://`).
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) tls: Tls,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Target {
            name,
            url,
            protocol,
            wire,
            method,
            uri,
            headers,
            timeout,
            delete_uri,
            tls: _,
        } = self;
        f.debug_struct("Target")
            .field("name", name)
            .field("url", &redact_url(url))
            .field("protocol", protocol)
            .field("wire", wire)
            .field("method", method)
            .field("uri", &redact_url(&uri.to_string()))
            .field("headers", headers)
            .field("timeout", timeout)
            .field(
                "delete_uri",
                &delete_uri
                    .as_ref()
                    .map(|u| redact_url(&u.to_string()).into_owned()),
            )
            .finish()
    }
}

impl Target {
    /// Checks `config` and prepares its requests.
    pub(crate) fn new(config: &EndpointConfig) -> Result<Target, Error> {
        let name = config.display_name().into_owned();
        Target::checked(config, name.clone()).map_err(|e| e.at(&name))
    }

    fn checked(config: &EndpointConfig, name: String) -> Result<Target, FieldError> {
        let err = |reason: String| FieldError::new("url", reason);
        // Quoted in errors with its secrets hidden.
        let shown = redact_url(&config.url);
        if config.url.is_empty() {
            return Err(err("no URL given".into()));
        }
        let uri: Uri = config
            .url
            .parse()
            .map_err(|e| err(format!("{shown:?} is not a URL: {e}")))?;
        let scheme = match uri.scheme_str() {
            Some(scheme @ ("http" | "https")) => scheme.to_owned(),
            _ => {
                return Err(err(format!(
                    "{shown:?} must start with http:// or https://"
                )))
            }
        };
        if config.ca_file.is_some() && scheme == "http" {
            return Err(FieldError::new(
                "ca_file",
                format!("{shown:?} is not https://: a CA file is for TLS"),
            ));
        }
        let tls = tls::settings(&scheme, config.ca_file.as_deref())?;
        let authority = match uri.authority() {
            Some(a) if !a.host().is_empty() => a.as_str().to_owned(),
            _ => return Err(err(format!("{shown:?} names no host"))),
        };
        if authority.contains('@') {
            return Err(err(
                "credentials in the URL are not sent; give an Authorization header instead".into(),
            ));
        }
        check_limits(config)?;
        let mut headers = configured_headers(config)?;
        let wire: Arc<dyn Wire> = Arc::from(protocol::wire(config)?);
        wire.headers(&mut headers);
        let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        let route = wire.route(BaseUrl {
            path: uri.path(),
            query: &query,
        })?;
        let uri: Uri = format!("{scheme}://{authority}{}", route.path_and_query)
            .parse()
            .map_err(|e| err(format!("{shown:?}: {e}")))?;
        Ok(Target {
            name,
            url: config.url.clone(),
            protocol: config.protocol,
            wire,
            method: route.method,
            delete_uri: route.delete_on_shutdown.then(|| uri.clone()),
            uri,
            headers,
            timeout: config.timeout,
            tls,
        })
    }
}

/// Checks the durations, the queue size and the retry policy of `config`.
fn check_limits(config: &EndpointConfig) -> Result<(), FieldError> {
    let retry = &config.retry;
    for (field, duration, zero_allowed) in [
        ("interval", config.interval, false),
        ("timeout", config.timeout, false),
        ("retry.initial_backoff", retry.initial_backoff, true),
        ("retry.max_backoff", retry.max_backoff, true),
    ] {
        if duration.is_zero() && !zero_allowed {
            return Err(FieldError::new(field, "must be above zero"));
        }
        if duration > MAX_DURATION {
            return Err(FieldError::new(
                field,
                format!("{duration:?} is more than the limit of one day"),
            ));
        }
    }
    if config.queue_size == 0 {
        return Err(FieldError::new("queue_size", "must be at least 1"));
    }
    if retry.max_attempts == 0 {
        return Err(FieldError::new("retry.max_attempts", "must be at least 1"));
    }
    if !(retry.multiplier.is_finite() && retry.multiplier >= 1.0) {
        return Err(FieldError::new(
            "retry.multiplier",
            format!("{} is not a number of at least 1", retry.multiplier),
        ));
    }
    if !(0.0..=1.0).contains(&retry.jitter) {
        return Err(FieldError::new(
            "retry.jitter",
            format!("{} is not within 0 ..= 1", retry.jitter),
        ));
    }
    Ok(())
}

/// The configured headers (marked sensitive, so `Debug` never shows them)
/// and the `User-Agent`.
fn configured_headers(config: &EndpointConfig) -> Result<HeaderMap, FieldError> {
    let mut headers = HeaderMap::new();
    for (key, value) in &config.headers {
        let field = || format!("headers.{key}");
        let header = HeaderName::from_bytes(key.as_bytes())
            .map_err(|e| FieldError::new(field(), format!("not a header name: {e}")))?;
        let mut value = HeaderValue::from_str(value)
            .map_err(|e| FieldError::new(field(), format!("not a header value: {e}")))?;
        // Credentials often: never shown by `Debug`.
        value.set_sensitive(true);
        headers.append(header, value);
    }
    let user_agent = concat!("telltale/", env!("CARGO_PKG_VERSION"));
    headers
        .entry(USER_AGENT)
        .or_insert(HeaderValue::from_static(user_agent));
    Ok(headers)
}

/// Why a request did not succeed, and whether trying again could help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SendError {
    pub(crate) message: String,
    /// The endpoint refused the payload itself: retrying would not help.
    pub(crate) permanent: bool,
    /// The answer's `Retry-After`, in its delay-seconds form.
    pub(crate) retry_after: Option<Duration>,
}

fn transient(message: String) -> SendError {
    SendError {
        message,
        permanent: false,
        retry_after: None,
    }
}

/// A `Retry-After` header in its delay-seconds form (`Retry-After: 30`);
/// `None` for none, or for the HTTP-date form, which is ignored.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // More digits than a u64 holds: as long as can be (capped later).
    Some(Duration::from_secs(text.parse().unwrap_or(u64::MAX)))
}

/// The wait before the next attempt: the policy's backoff, lengthened to
/// the endpoint's `Retry-After` if it asked for more, never past
/// `max_backoff`.
fn next_wait(retry: &RetryPolicy, attempt: u32, random: f64, asked: Option<Duration>) -> Duration {
    let wait = retry.backoff(attempt, random);
    match asked {
        Some(asked) => wait.max(asked.min(retry.max_backoff)),
        None => wait,
    }
}

/// An error and its sources, joined.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

/// One request, bounded by the target's timeout (connection, answer and
/// body together).
pub(crate) async fn send_once(
    client: &Client,
    target: &Target,
    method: Method,
    uri: &Uri,
    body: Bytes,
) -> Result<(), SendError> {
    let mut request = Request::builder()
        .method(method.clone())
        .uri(uri.clone())
        .body(Full::new(body))
        .map_err(|e| SendError {
            message: format!("cannot build the request: {e}"),
            permanent: true,
            retry_after: None,
        })?;
    *request.headers_mut() = target.headers.clone();
    // Messages name the request with its secrets hidden.
    let uri = redact_url(&uri.to_string()).into_owned();
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| transient(format!("{method} {uri}: {}", chain(&e))))?;
        let status = response.status();
        let asked = retry_after(response.headers());
        // Read the body (usually empty after a success) so the connection
        // can be reused; an error's is quoted.
        let body = Limited::new(response.into_body(), ERROR_BODY_LIMIT)
            .collect()
            .await;
        let text = match body {
            Ok(body) if !status.is_success() => String::from_utf8_lossy(&body.to_bytes())
                .chars()
                .take(ERROR_TEXT_CHARS)
                .collect::<String>()
                .trim()
                .to_owned(),
            _ => String::new(),
        };
        Ok::<_, SendError>((status, asked, text))
    };
    let (status, asked, text) = tokio::time::timeout(target.timeout, exchange)
        .await
        .map_err(|_| {
            transient(format!(
                "{method} {uri}: no answer within {:?}",
                target.timeout
            ))
        })??;
    if status.is_success() {
        return Ok(());
    }
    let retryable = target.wire.retryable(status);
    Err(SendError {
        message: if text.is_empty() {
            format!("{method} {uri}: {status}")
        } else {
            format!("{method} {uri}: {status}: {text}")
        },
        permanent: !retryable,
        retry_after: asked.filter(|_| retryable),
    })
}

/// Sends `body` to `target`, retrying as `retry` says; counts into `stats`.
pub(crate) async fn deliver(
    client: &Client,
    target: &Target,
    retry: &RetryPolicy,
    body: Bytes,
    stats: &Stats,
) -> Result<(), SendError> {
    let started = Instant::now();
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        match send_once(
            client,
            target,
            target.method.clone(),
            &target.uri,
            body.clone(),
        )
        .await
        {
            Ok(()) => {
                stats.success();
                return Ok(());
            }
            Err(e) => {
                stats.failure(&e.message);
                if e.permanent || attempt >= retry.max_attempts.max(1) {
                    return Err(e);
                }
                let wait = next_wait(retry, attempt, fastrand::f64(), e.retry_after);
                if retry.max_elapsed.is_some_and(|max| {
                    started
                        .elapsed()
                        .checked_add(wait)
                        .is_none_or(|end| end > max)
                }) {
                    return Err(e);
                }
                stats.retry();
                tokio::time::sleep(wait).await;
            }
        }
    }
}

// ----- statistics ----------------------------------------------------------------------

/// What an endpoint has done so far.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    queued: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
    retries: AtomicU64,
    dropped: AtomicU64,
    rejected: AtomicU64,
    consecutive_failures: AtomicU64,
    text: Mutex<StatsText>,
    metrics: Option<SelfMetrics>,
}

#[derive(Debug, Default)]
struct StatsText {
    /// When a payload was last accepted.
    success_at: Option<SystemTime>,
    /// The last error.
    error: Option<String>,
    /// When it happened.
    error_at: Option<SystemTime>,
}

impl Stats {
    fn text(&self) -> std::sync::MutexGuard<'_, StatsText> {
        self.text.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn success(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.consecutive_failures.store(0, Ordering::Relaxed);
        self.text().success_at = Some(SystemTime::now());
        if let Some(m) = &self.metrics {
            m.sent();
        }
    }

    fn failure(&self, message: &str) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.consecutive_failures.fetch_add(1, Ordering::Relaxed);
        self.error(message.to_owned());
        if let Some(m) = &self.metrics {
            m.failed();
        }
    }

    fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = &self.metrics {
            m.retry();
        }
    }

    fn dropped(&self, n: u64, rejected: bool) {
        if n == 0 {
            return;
        }
        if rejected {
            self.rejected.fetch_add(n, Ordering::Relaxed);
        } else {
            self.dropped.fetch_add(n, Ordering::Relaxed);
        }
        if let Some(m) = &self.metrics {
            m.dropped(n);
        }
    }

    fn error(&self, message: String) {
        let mut text = self.text();
        text.error = Some(message);
        text.error_at = Some(SystemTime::now());
    }
}

// ----- the queue -----------------------------------------------------------------------

#[derive(Debug)]
struct Payload {
    seq: u64,
    body: Bytes,
}

/// Payloads waiting to be sent, oldest first.
#[derive(Debug)]
pub(crate) struct Queue {
    items: VecDeque<Payload>,
    capacity: usize,
    /// Keep only the newest payload (Pushgateway): capacity 1, and the
    /// payload a new one replaces is superseded, not counted as dropped.
    latest_only: bool,
    next_seq: u64,
}

impl Queue {
    pub(crate) fn new(capacity: usize, latest_only: bool) -> Queue {
        Queue {
            items: VecDeque::new(),
            capacity: if latest_only { 1 } else { capacity.max(1) },
            latest_only,
            next_seq: 0,
        }
    }

    /// Adds `body`; returns how many older payloads were dropped to make
    /// room (never counted for a latest-only queue, whose older payload is
    /// superseded, not lost).
    pub(crate) fn push(&mut self, body: Bytes) -> u64 {
        let mut dropped = 0;
        while self.items.len() >= self.capacity {
            self.items.pop_front();
            dropped += 1;
        }
        self.items.push_back(Payload {
            seq: self.next_seq,
            body,
        });
        self.next_seq += 1;
        if self.latest_only {
            0
        } else {
            dropped
        }
    }

    fn front(&self) -> Option<(u64, Bytes)> {
        self.items.front().map(|p| (p.seq, p.body.clone()))
    }

    /// Removes payload `seq` if it is still first.
    fn remove(&mut self, seq: u64) {
        if self.items.front().is_some_and(|p| p.seq == seq) {
            self.items.pop_front();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}

// ----- the endpoint --------------------------------------------------------------------

/// What the sender task is asked to do besides its schedule.
#[derive(Debug)]
pub(crate) enum Command {
    /// Send everything queued now and answer how it went.
    Flush(oneshot::Sender<Result<(), Error>>),
}

/// One endpoint's shared state.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) target: Target,
    retry: RetryPolicy,
    interval: Duration,
    queue: Mutex<Queue>,
    /// Serializes collecting and queueing, so payloads queue in the order
    /// of their timestamps.
    build: Mutex<()>,
    notify: Notify,
    stats: Stats,
    client: Client,
}

impl Endpoint {
    pub(crate) fn new(config: &EndpointConfig, target: Target) -> Endpoint {
        let latest_only = target.wire.latest_only();
        let client = client(&target.tls);
        Endpoint {
            stats: Stats {
                metrics: Some(SelfMetrics::start(&target.name)),
                ..Stats::default()
            },
            target,
            retry: config.retry.clone(),
            interval: config.interval,
            queue: Mutex::new(Queue::new(config.queue_size, latest_only)),
            build: Mutex::new(()),
            notify: Notify::new(),
            client,
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set_queue_gauge(&self, len: usize) {
        if let Some(m) = &self.stats.metrics {
            m.queue(len);
        }
    }

    /// Collects a snapshot, encodes it and queues it.
    pub(crate) fn collect(&self) {
        let _order = self.build.lock().unwrap_or_else(PoisonError::into_inner);
        match self.target.wire.body() {
            Ok(body) => {
                self.stats.queued.fetch_add(1, Ordering::Relaxed);
                let (dropped, len) = {
                    let mut queue = self.queue();
                    let dropped = queue.push(Bytes::from(body));
                    (dropped, queue.len())
                };
                self.stats.dropped(dropped, false);
                self.set_queue_gauge(len);
            }
            Err(e) => self.stats.error(format!("cannot encode the payload: {e}")),
        }
    }

    /// Sends the queue's payloads in order until it is empty (`Ok`) or one
    /// fails in a way worth retrying later (`Err`, the payload stays first).
    async fn round(&self) -> Result<(), Error> {
        loop {
            let Some((seq, body)) = self.queue().front() else {
                return Ok(());
            };
            let result = deliver(&self.client, &self.target, &self.retry, body, &self.stats).await;
            let outcome = match result {
                Ok(()) => None,
                Err(e) if e.permanent => {
                    self.stats.dropped(1, true);
                    None
                }
                Err(e) => Some(e.message),
            };
            if let Some(reason) = outcome {
                return Err(Error::Push {
                    endpoint: self.target.name.clone(),
                    field: None,
                    reason,
                });
            }
            let len = {
                let mut queue = self.queue();
                queue.remove(seq);
                queue.len()
            };
            self.set_queue_gauge(len);
        }
    }

    /// The endpoint stopped: its `telltale_push_*` series are no longer
    /// exported.
    pub(crate) fn retire(&self) {
        if let Some(m) = &self.stats.metrics {
            m.retire();
        }
    }

    /// Deletes the Pushgateway group, if so configured.
    pub(crate) async fn delete_group(&self) {
        let Some(uri) = &self.target.delete_uri else {
            return;
        };
        if let Err(e) = send_once(
            &self.client,
            &self.target,
            Method::DELETE,
            uri,
            Bytes::new(),
        )
        .await
        {
            self.stats.failure(&e.message);
        }
    }

    /// The status report.
    pub(crate) fn status(&self) -> EndpointStatus {
        let (queue_length, queue_capacity) = {
            let queue = self.queue();
            (queue.len(), queue.capacity)
        };
        let text = self.stats.text();
        EndpointStatus {
            name: self.target.name.clone(),
            protocol: self.target.protocol,
            url: redact_url(&self.target.url).into_owned(),
            request_url: redact_url(&self.target.uri.to_string()).into_owned(),
            last_success_unix_seconds: text.success_at.map(unix_seconds),
            last_error: text.error.clone(),
            last_error_unix_seconds: text.error_at.map(unix_seconds),
            consecutive_failures: self.stats.consecutive_failures.load(Ordering::Relaxed),
            payloads_queued: self.stats.queued.load(Ordering::Relaxed),
            payloads_sent: self.stats.sent.load(Ordering::Relaxed),
            failed_requests: self.stats.failed.load(Ordering::Relaxed),
            retries: self.stats.retries.load(Ordering::Relaxed),
            dropped: self.stats.dropped.load(Ordering::Relaxed),
            rejected: self.stats.rejected.load(Ordering::Relaxed),
            queue_length,
            queue_capacity,
        }
    }

    /// Starts the collecting task (every interval, until `stop` turns true)
    /// and the sending task (until its commands channel closes or it is
    /// aborted); returns the channel and both tasks.
    pub(crate) fn spawn(
        self: &Arc<Self>,
        runtime: &tokio::runtime::Handle,
        mut stop: watch::Receiver<bool>,
    ) -> (mpsc::Sender<Command>, [JoinHandle<()>; 2]) {
        let collector = {
            let endpoint = Arc::clone(self);
            runtime.spawn(async move {
                let mut ticker = tokio::time::interval(endpoint.interval);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    if *stop.borrow() {
                        return;
                    }
                    tokio::select! {
                        _ = ticker.tick() => {
                            endpoint.collect();
                            endpoint.notify.notify_one();
                        }
                        changed = stop.changed() => {
                            if changed.is_err() {
                                return;
                            }
                        }
                    }
                }
            })
        };
        let (commands, mut receiver) = mpsc::channel::<Command>(16);
        let sender = {
            let endpoint = Arc::clone(self);
            runtime.spawn(async move {
                loop {
                    tokio::select! {
                        command = receiver.recv() => match command {
                            Some(Command::Flush(reply)) => {
                                let result = endpoint.round().await;
                                let _ = reply.send(result);
                            }
                            None => return,
                        },
                        () = endpoint.notify.notified() => {
                            let _ = endpoint.round().await;
                        }
                    }
                }
            })
        };
        (commands, [collector, sender])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::StatusCode;

    fn bytes(n: u8) -> Bytes {
        Bytes::from(vec![n])
    }

    use hyper::header::{CONTENT_ENCODING, CONTENT_TYPE};

    use crate::encode::Format;

    #[test]
    fn a_full_queue_drops_its_oldest_and_counts() {
        let mut queue = Queue::new(3, false);
        let dropped: u64 = (0..10).map(|i| queue.push(bytes(i))).sum();
        assert_eq!(dropped, 7);
        assert_eq!(queue.len(), 3);
        let kept: Vec<u8> = queue.items.iter().map(|p| p.body[0]).collect();
        assert_eq!(kept, [7, 8, 9]);
        // Removing only ever takes the payload that was sent.
        let (seq, _) = queue.front().unwrap();
        queue.push(bytes(10));
        assert_eq!(
            queue.front().unwrap().1[0],
            8,
            "the one being sent was dropped"
        );
        queue.remove(seq);
        assert_eq!(
            queue.len(),
            3,
            "a payload that is gone is not removed twice"
        );
    }

    #[test]
    fn a_latest_only_queue_keeps_the_newest_without_counting_drops() {
        let mut queue = Queue::new(64, true);
        assert_eq!(queue.capacity, 1);
        assert_eq!((0..5).map(|i| queue.push(bytes(i))).sum::<u64>(), 0);
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.front().unwrap().1[0], 4);
    }

    /// Removes the file when dropped, the test passing or not.
    struct Removed(std::path::PathBuf);

    impl Drop for Removed {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn target(config: &EndpointConfig) -> Result<Target, (Option<String>, String)> {
        Target::new(config).map_err(|e| match e {
            Error::Push { field, reason, .. } => (field, reason),
            other => (None, other.to_string()),
        })
    }

    #[test]
    fn absurd_durations_are_refused() {
        let day = Duration::from_hours(24);
        for field in [
            "interval",
            "timeout",
            "retry.initial_backoff",
            "retry.max_backoff",
        ] {
            for (duration, ok) in [
                (day, true),
                (day + Duration::from_nanos(1), false),
                (Duration::MAX, false),
            ] {
                let mut c = EndpointConfig::remote_write("http://h/x");
                match field {
                    "interval" => c.interval = duration,
                    "timeout" => c.timeout = duration,
                    "retry.initial_backoff" => c.retry.initial_backoff = duration,
                    _ => c.retry.max_backoff = duration,
                }
                match target(&c) {
                    Ok(_) => assert!(ok, "{field} = {duration:?} accepted"),
                    Err((f, reason)) => {
                        assert!(!ok, "{field} = {duration:?}: {reason}");
                        assert_eq!(f.as_deref(), Some(field));
                        assert!(reason.contains("one day"), "{reason}");
                    }
                }
            }
        }
        // From a configuration file too, before any task could panic.
        let config: crate::export::push::PushConfig = toml::from_str(
            "[[endpoints]]\nprotocol = \"otlp\"\nurl = \"http://x\"\ninterval = 9223372036854775807\n",
        )
        .unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("`interval`") && err.contains("one day"),
            "{err}"
        );
    }

    #[test]
    fn retry_rules_and_queues_depend_on_the_protocol() {
        let codes = |config: EndpointConfig| -> Vec<u16> {
            let wire = Target::new(&config).unwrap().wire;
            (400..600)
                .filter(|&code| wire.retryable(StatusCode::from_u16(code).unwrap()))
                .collect()
        };
        assert_eq!(
            codes(EndpointConfig::otlp("http://h")),
            [429, 502, 503, 504]
        );
        let mut expected = vec![408, 429];
        expected.extend(500..600);
        assert_eq!(codes(EndpointConfig::remote_write("http://h")), expected);
        assert_eq!(
            codes(EndpointConfig::pushgateway("http://h", "j")),
            expected
        );
        let latest_only = |config: EndpointConfig| Target::new(&config).unwrap().wire.latest_only();
        assert!(latest_only(EndpointConfig::pushgateway("http://h", "j")));
        assert!(!latest_only(EndpointConfig::remote_write("http://h")));
        assert!(!latest_only(EndpointConfig::otlp("http://h")));
    }

    #[test]
    fn retry_after_lengthens_the_wait_up_to_the_cap() {
        let header = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
            retry_after(&headers)
        };
        assert_eq!(header("1"), Some(Duration::from_secs(1)));
        assert_eq!(header(" 120 "), Some(Duration::from_mins(2)));
        assert_eq!(
            header("99999999999999999999999"),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(header("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(header("-1"), None);
        assert_eq!(header("1.5"), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);

        let policy = RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        let ms = Duration::from_millis;
        assert_eq!(next_wait(&policy, 1, 0.5, None), ms(100));
        assert_eq!(next_wait(&policy, 1, 0.5, Some(ms(2_000))), ms(2_000));
        assert_eq!(next_wait(&policy, 4, 0.5, Some(ms(10))), ms(800));
        assert_eq!(next_wait(&policy, 1, 0.5, Some(Duration::MAX)), ms(5_000));
    }

    #[test]
    fn debug_hides_header_values() {
        let mut config = EndpointConfig::remote_write("http://h/x");
        config
            .headers
            .insert("Authorization".into(), "Bearer s3cret".into());
        let t = Target::new(&config).unwrap();
        assert_eq!(t.headers["authorization"], "Bearer s3cret");
        assert!(t.headers["authorization"].is_sensitive());
        let debug = format!("{t:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(debug.contains("authorization"), "{debug}");
    }

    #[test]
    fn targets_are_checked_and_built() {
        let mut gateway = EndpointConfig::pushgateway("http://127.0.0.1:9091/base/", "j/x");
        gateway
            .pushgateway
            .grouping
            .insert("instance".into(), "a".into());
        gateway.pushgateway.delete_on_shutdown = true;
        let t = target(&gateway).unwrap();
        assert_eq!(t.method, Method::PUT);
        assert_eq!(
            t.uri.to_string(),
            "http://127.0.0.1:9091/base/metrics/job@base64/ai94/instance/a"
        );
        assert_eq!(t.delete_uri.as_ref(), Some(&t.uri));
        assert_eq!(t.headers[CONTENT_TYPE], Format::Prometheus.content_type());

        let rw = target(&EndpointConfig::remote_write(
            "http://h:9090/api/v1/write?x=1",
        ))
        .unwrap();
        assert_eq!(rw.uri.to_string(), "http://h:9090/api/v1/write?x=1");
        assert_eq!(rw.headers[CONTENT_ENCODING], "snappy");
        assert_eq!(rw.headers["x-prometheus-remote-write-version"], "0.1.0");

        let otlp = target(&EndpointConfig::otlp("http://h:4318")).unwrap();
        assert_eq!(otlp.uri.to_string(), "http://h:4318/v1/metrics");
        let otlp = target(&EndpointConfig::otlp("http://h:4318/custom/path")).unwrap();
        assert_eq!(otlp.uri.to_string(), "http://h:4318/custom/path");

        let field = |config: EndpointConfig| target(&config).unwrap_err().0.unwrap();
        assert_eq!(field(EndpointConfig::remote_write("")), "url");
        assert_eq!(field(EndpointConfig::remote_write("not a url")), "url");
        let https = target(&EndpointConfig::otlp("https://h:4318?k=1")).unwrap();
        assert_eq!(https.uri.to_string(), "https://h:4318/v1/metrics?k=1");
        // A refused URL is quoted with its secrets hidden.
        let keyed = target(&EndpointConfig::remote_write("ftp://h/w?key=k3y")).unwrap_err();
        assert!(
            keyed.1.contains("\"ftp://h/w?key=***\"") && !keyed.1.contains("k3y"),
            "{keyed:?}"
        );
        // A CA file: for https only, readable, with a certificate in it.
        let mut c = EndpointConfig::remote_write("http://h/x");
        c.ca_file = Some("/nonexistent/ca.pem".into());
        assert_eq!(field(c.clone()), "ca_file");
        c.url = "https://h/x".into();
        let missing = target(&c).unwrap_err();
        assert!(
            missing.0.as_deref() == Some("ca_file") && missing.1.contains("/nonexistent/ca.pem"),
            "{missing:?}"
        );
        let empty = Removed(
            std::env::temp_dir().join(format!("telltale-empty-{}.pem", std::process::id())),
        );
        std::fs::write(&empty.0, "no certificate here\n").unwrap();
        c.ca_file = Some(empty.0.clone());
        let none = target(&c).unwrap_err();
        assert!(none.1.contains("holds no PEM certificate"), "{none:?}");
        assert_eq!(field(EndpointConfig::remote_write("ftp://h/x")), "url");
        assert_eq!(field(EndpointConfig::remote_write("http://u:p@h/x")), "url");
        let mut c = EndpointConfig::remote_write("http://h/x");
        c.interval = Duration::ZERO;
        assert_eq!(field(c), "interval");
        let mut c = EndpointConfig::remote_write("http://h/x");
        c.timeout = Duration::ZERO;
        assert_eq!(field(c), "timeout");
        let mut c = EndpointConfig::remote_write("http://h/x");
        c.queue_size = 0;
        assert_eq!(field(c), "queue_size");
        let mut c = EndpointConfig::remote_write("http://h/x");
        c.retry.max_attempts = 0;
        assert_eq!(field(c), "retry.max_attempts");
        let mut c = EndpointConfig::remote_write("http://h/x");
        c.retry.jitter = 1.5;
        assert_eq!(field(c), "retry.jitter");
        let mut c = EndpointConfig::remote_write("http://h/x");
        c.headers.insert("bad header".into(), "v".into());
        assert_eq!(field(c), "headers.bad header");
        let mut c = EndpointConfig::remote_write("http://h/x");
        c.headers.insert("X-Token".into(), "line\nbreak".into());
        assert_eq!(field(c), "headers.X-Token");
        assert_eq!(
            field(EndpointConfig::pushgateway("http://h", "")),
            "pushgateway.job"
        );
    }
}
