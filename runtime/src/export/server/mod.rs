//! The HTTP endpoint a scraper reads: `GET /metrics` on `127.0.0.1:9464`.
//!
//! ```no_run
//! # async fn example() -> Result<(), telltale::Error> {
//! let server = telltale::server::start(telltale::server::Config::default()).await?;
//! println!("metrics at {}", server.url().unwrap_or("(disabled)"));
//! // ... run the service ...
//! server.stop().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Paths
//!
//! | path (defaults) | answers |
//! |---|---|
//! | `/metrics` | every registered metric, in the negotiated format |
//! | `/metrics.json`, `/metrics.csv` | the same as [`Format::Json`] / [`Format::Csv`] |
//! | `/health` | `200 ok`: the server is up (never needs credentials) |
//! | `/api/...` | the JSON API of a running [`System`](crate::system::System) |
//! | `/dashboard` | a page showing that API: health, operations with their latency percentiles and success rates, recent failures, exporters |
//!
//! The suffixed paths follow [`Config::path`]: with `path = "/m"` they are
//! `/m.json` and `/m.csv`. Only `GET` and `HEAD` are answered; other methods
//! on these paths get `405 Method Not Allowed`, other paths `404 Not Found`.
//!
//! # Formats
//!
//! On the metrics path the format is, in order of precedence:
//!
//! 1. the `format` query parameter: `?format=prometheus`, `openmetrics`,
//!    `json` or `csv` (any other value is `400 Bad Request`). A scraper that
//!    cannot choose its `Accept` header picks a format this way; Prometheus
//!    2.x, which always prefers OpenMetrics, reads the 0.0.4 text with
//!    `params: { format: [prometheus] }` in its scrape config;
//! 2. the `Accept` header, as [`Format::negotiate`] reads it: OpenMetrics
//!    when asked for, JSON or CSV when named explicitly and preferred, else
//!    the Prometheus text 0.0.4.
//!
//! Each response carries the format's `Content-Type` and `Vary: Accept,
//! Accept-Encoding`, or `Vary: Accept-Encoding` alone when the path or the
//! `format` parameter fixed the format.
//!
//! # Compression
//!
//! When the request's `Accept-Encoding` accepts `gzip` (or `*`) with a
//! quality above zero, the body is gzip-compressed and sent with
//! `Content-Encoding: gzip`; [`Config::gzip`] turns this off.
//!
//! # Limits
//!
//! - At most [`Config::max_connections`] connections are served at once. A
//!   connection beyond the cap is answered at once with `503 Service
//!   Unavailable`, `Retry-After: 1` and `Connection: close`, then closed, so
//!   a scraper sees a clear error instead of a hang. (At most 64 such answers
//!   are in progress at a time; past that, extra connections are closed
//!   without one.)
//! - A request's headers must arrive within [`Config::header_read_timeout`]
//!   of its first byte, and a connection on which nothing is read or written
//!   for [`Config::idle_timeout`] (an idle keep-alive connection, a client
//!   that stopped sending or reading) is closed.
//! - A request head (request line and headers) is limited to 64 KiB and 100
//!   headers; a longer one, however long its URI, is answered with `431
//!   Request Header Fields Too Large` and the connection closed. (A client
//!   still sending the rest of a huge head may see only the close.)
//!
//! # Credentials
//!
//! With [`Config::bearer_token`] or [`Config::basic_auth`] set, every path
//! but the health path needs an `Authorization` header carrying one of them
//! (`Bearer <token>` or `Basic <base64 of user:password>`); without it, or
//! with a wrong one, the answer is `401 Unauthorized` with a
//! `WWW-Authenticate` challenge for each scheme configured. Credentials are
//! compared in constant time. The health path stays open so that load
//! balancers and orchestrators can probe it without a secret; set
//! [`Config::health_path`] to `""` to turn it off.
//!
//! # Self-metrics
//!
//! The server counts its own work with two families:
//! `telltale_server_scrapes_total{format, encoding}` (one per exposition
//! sent, `encoding` = `gzip` or `identity`; a `HEAD` request, answered
//! without one, is not counted) and
//! `telltale_server_rejected_total{reason}` (`connection_limit`,
//! `unauthorized`, `header_timeout`, `idle_timeout`). A scrape counts itself:
//! its own exposition already includes it.
//!
//! It speaks HTTP/1.1 with keep-alive, on the Tokio runtime that called
//! [`start`]. An exposition is rendered (and compressed) inline on that
//! runtime's worker thread, so with a large registry each scrape's cost is
//! paid on it.

use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{
    HeaderMap, HeaderValue, ACCEPT, ACCEPT_ENCODING, ALLOW, AUTHORIZATION, CACHE_CONTROL,
    CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE, VARY, WWW_AUTHENTICATE,
    X_CONTENT_TYPE_OPTIONS,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::config::duration;
use crate::config::env::Env;
use crate::encode::Format;
use crate::error::Error;
use crate::metric::family::Family;
use crate::metric::standalone::Counter;
use telltale_macros::{LabelSet, LabelValue};

/// How long [`Server::stop`] lets requests in flight finish before it closes
/// their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Pause after a failed `accept` (out of file descriptors, say) before the
/// next one, so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);
/// The longest request head (request line and headers) read.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Connections over the cap being answered `503` at one time.
const MAX_TURNING_AWAY: usize = 64;
/// How long answering a connection over the cap may take.
const TURN_AWAY_TIME: Duration = Duration::from_secs(1);
/// What a connection over the cap is told.
const BUSY_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Retry-After: 1\r\n\
Connection: close\r\n\
Content-Length: 37\r\n\
\r\n\
Too many connections; retry shortly.\n";

// ----- configuration ---------------------------------------------------------

/// Where and how to serve metrics. [`Config::default`] serves
/// `http://127.0.0.1:9464/metrics`.
///
/// Every field can be set in code, in the `[server]` table of a TOML file
/// and from a `TELLTALE_SERVER_*` environment variable (see
/// [`crate::config`] and [`Config::apply_env`]).
///
/// ```
/// use std::time::Duration;
///
/// let config = telltale::server::Config {
///     port: 0, // any free port; `Server::local_addr` tells which
///     bearer_token: Some("s3cret".to_owned()),
///     idle_timeout: Duration::from_secs(30),
///     ..Default::default()
/// };
/// assert_eq!(config.host, "127.0.0.1");
/// assert_eq!(config.path, "/metrics");
/// assert_eq!(config.max_connections, 256);
/// // Secrets stay out of logs.
/// assert!(!format!("{config:?}").contains("s3cret"));
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The address or host name to listen on. Default `"127.0.0.1"`; use
    /// `"0.0.0.0"` or `"::"` to accept scrapes from other machines.
    pub host: String,
    /// The TCP port. Default `9464`; `0` picks a free port.
    pub port: u16,
    /// The path metrics are served on; must start with `/`. Default
    /// `"/metrics"`. `<path>.json` and `<path>.csv` serve JSON and CSV.
    pub path: String,
    /// Whether to serve at all. Default `true`; when `false`, [`start`]
    /// binds nothing and returns a handle that does nothing.
    pub enabled: bool,
    /// The path of the health check, answered `200 ok` without credentials.
    /// Default `"/health"`; `""` turns it off.
    pub health_path: String,
    /// How long a request's head (request line and headers) may take to
    /// arrive, counted from its first byte. Default 10 s. In TOML a string
    /// with a unit (`"10s"`, `"500ms"`) or whole seconds.
    #[serde(deserialize_with = "duration::deserialize")]
    pub header_read_timeout: Duration,
    /// How long a connection may go without a byte read or written before
    /// it is closed: the time an idle keep-alive connection is kept, and the
    /// longest stall of a client that stopped sending or reading. Default
    /// 90 s.
    #[serde(deserialize_with = "duration::deserialize")]
    pub idle_timeout: Duration,
    /// The most connections served at once; one more is answered `503` and
    /// closed. Default 256; at least 1.
    pub max_connections: usize,
    /// Whether to gzip responses for clients whose `Accept-Encoding` allows
    /// it. Default `true`.
    pub gzip: bool,
    /// A token every request but the health check must present as
    /// `Authorization: Bearer <token>`. Default `None`. Must not be empty.
    pub bearer_token: Option<String>,
    /// A user name and password every request but the health check must
    /// present with HTTP basic authentication. Default `None`. When both
    /// this and [`bearer_token`](Config::bearer_token) are set, either is
    /// accepted.
    pub basic_auth: Option<BasicAuth>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".to_owned(),
            port: 9464,
            path: "/metrics".to_owned(),
            enabled: true,
            health_path: "/health".to_owned(),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(90),
            max_connections: 256,
            gzip: true,
            bearer_token: None,
            basic_auth: None,
        }
    }
}

impl fmt::Debug for Config {
    /// Like a derived `Debug`, with the token and password replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("path", &self.path)
            .field("enabled", &self.enabled)
            .field("health_path", &self.health_path)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_connections", &self.max_connections)
            .field("gzip", &self.gzip)
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "***"))
            .field("basic_auth", &self.basic_auth)
            .finish()
    }
}

/// HTTP basic authentication credentials: `[server.basic_auth]` with
/// `username` and `password` in TOML, `TELLTALE_SERVER_BASIC_AUTH=user:password`
/// in the environment.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// The user name; must not contain `:`.
    pub username: String,
    /// The password.
    pub password: String,
}

impl fmt::Debug for BasicAuth {
    /// Shows the user name only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

impl Config {
    /// The path JSON is served on: [`path`](Config::path) + `.json`.
    pub fn json_path(&self) -> String {
        format!("{}.json", self.path)
    }

    /// The path CSV is served on: [`path`](Config::path) + `.csv`.
    pub fn csv_path(&self) -> String {
        format!("{}.csv", self.path)
    }

    /// Overrides fields from environment variables:
    ///
    /// | variable | field | example |
    /// |---|---|---|
    /// | `TELLTALE_SERVER_HOST` | [`host`](Config::host) | `0.0.0.0` |
    /// | `TELLTALE_SERVER_PORT` | [`port`](Config::port) | `9464` |
    /// | `TELLTALE_SERVER_PATH` | [`path`](Config::path) | `/metrics` |
    /// | `TELLTALE_SERVER_ENABLED` | [`enabled`](Config::enabled) | `false` |
    /// | `TELLTALE_SERVER_HEALTH_PATH` | [`health_path`](Config::health_path) | `/healthz`, or empty for none |
    /// | `TELLTALE_SERVER_HEADER_READ_TIMEOUT` | [`header_read_timeout`](Config::header_read_timeout) | `10s` |
    /// | `TELLTALE_SERVER_IDLE_TIMEOUT` | [`idle_timeout`](Config::idle_timeout) | `90s` |
    /// | `TELLTALE_SERVER_MAX_CONNECTIONS` | [`max_connections`](Config::max_connections) | `256` |
    /// | `TELLTALE_SERVER_GZIP` | [`gzip`](Config::gzip) | `true` |
    /// | `TELLTALE_SERVER_BEARER_TOKEN` | [`bearer_token`](Config::bearer_token) | a token, or empty for none |
    /// | `TELLTALE_SERVER_BASIC_AUTH` | [`basic_auth`](Config::basic_auth) | `user:password`, or empty for none |
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the variable and its value when the value
    /// does not parse (the value of a secret is not repeated).
    ///
    /// ```
    /// use telltale::config::Env;
    ///
    /// let mut config = telltale::server::Config::default();
    /// config.apply_env(&mut Env::from_pairs([
    ///     ("TELLTALE_SERVER_PORT", "9100"),
    ///     ("TELLTALE_SERVER_BASIC_AUTH", "prometheus:pa:ss"),
    /// ]))?;
    /// assert_eq!(config.port, 9100);
    /// let auth = config.basic_auth.unwrap();
    /// assert_eq!((auth.username.as_str(), auth.password.as_str()), ("prometheus", "pa:ss"));
    /// # Ok::<(), telltale::Error>(())
    /// ```
    pub fn apply_env(&mut self, env: &mut Env) -> Result<(), Error> {
        env.string("TELLTALE_SERVER_HOST", &mut self.host);
        env.with("TELLTALE_SERVER_PORT", &mut self.port, |value| {
            value
                .trim()
                .parse::<u16>()
                .map_err(|e| format!("expected a port number from 0 to 65535 ({e})"))
        })?;
        env.string("TELLTALE_SERVER_PATH", &mut self.path);
        env.bool("TELLTALE_SERVER_ENABLED", &mut self.enabled)?;
        env.string("TELLTALE_SERVER_HEALTH_PATH", &mut self.health_path);
        env.duration(
            "TELLTALE_SERVER_HEADER_READ_TIMEOUT",
            &mut self.header_read_timeout,
        )?;
        env.duration("TELLTALE_SERVER_IDLE_TIMEOUT", &mut self.idle_timeout)?;
        env.with(
            "TELLTALE_SERVER_MAX_CONNECTIONS",
            &mut self.max_connections,
            |value| match value.trim().parse::<usize>() {
                Ok(0) => Err("must be at least 1".to_owned()),
                Ok(n) => Ok(n),
                Err(e) => Err(format!("expected a number of connections ({e})")),
            },
        )?;
        env.bool("TELLTALE_SERVER_GZIP", &mut self.gzip)?;
        env.optional_string("TELLTALE_SERVER_BEARER_TOKEN", &mut self.bearer_token);
        if let Some(value) = env.get("TELLTALE_SERVER_BASIC_AUTH") {
            self.basic_auth = if value.is_empty() {
                None
            } else {
                let (username, password) = value.split_once(':').ok_or_else(|| {
                    Error::Config(
                        "environment variable TELLTALE_SERVER_BASIC_AUTH: expected \
                         user:password (the value is not repeated here)"
                            .to_owned(),
                    )
                })?;
                Some(BasicAuth {
                    username: username.to_owned(),
                    password: password.to_owned(),
                })
            };
        }
        Ok(())
    }

    /// Checks the fields [`start`] would refuse.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the field: a path not starting with `/` (or
    /// holding `?` or `#`), a health path equal to a metrics path, no
    /// connections allowed, a zero timeout, an empty bearer token, a basic
    /// auth user name with `:`.
    pub fn validate(&self) -> Result<(), Error> {
        let problem = |message: String| Err(Error::Config(message));
        if !self.path.starts_with('/') {
            return problem(format!(
                "the metrics path must start with '/', got {:?}",
                self.path
            ));
        }
        if self.path.contains(['?', '#']) {
            return problem(format!(
                "the metrics path must not contain '?' or '#', got {:?}",
                self.path
            ));
        }
        if !self.health_path.is_empty() {
            if !self.health_path.starts_with('/') || self.health_path.contains(['?', '#']) {
                return problem(format!(
                    "server.health_path must be empty or a path starting with '/', got {:?}",
                    self.health_path
                ));
            }
            if [self.path.clone(), self.json_path(), self.csv_path()].contains(&self.health_path) {
                return problem(format!(
                    "server.health_path {:?} is also a metrics path",
                    self.health_path
                ));
            }
        }
        if self.max_connections == 0 {
            return problem("server.max_connections must be at least 1".to_owned());
        }
        if self.header_read_timeout.is_zero() {
            return problem("server.header_read_timeout must be above zero".to_owned());
        }
        if self.idle_timeout.is_zero() {
            return problem("server.idle_timeout must be above zero".to_owned());
        }
        if self.bearer_token.as_deref() == Some("") {
            return problem(
                "server.bearer_token is empty; leave it unset to serve without a token".to_owned(),
            );
        }
        if let Some(basic) = &self.basic_auth {
            if basic.username.contains(':') {
                return problem(format!(
                    "server.basic_auth.username {:?} contains ':', which basic authentication cannot carry",
                    basic.username
                ));
            }
        }
        Ok(())
    }
}

// ----- self-metrics ----------------------------------------------------------

#[derive(Debug, Clone, Copy, LabelValue)]
#[label(crate = crate, rename_all = "lowercase")]
enum FormatLabel {
    Prometheus,
    OpenMetrics,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, LabelValue)]
#[label(crate = crate, rename_all = "lowercase")]
enum EncodingLabel {
    Identity,
    Gzip,
}

#[derive(Debug, Clone, Copy, LabelSet)]
#[label(crate = crate)]
struct ScrapeLabels {
    format: FormatLabel,
    encoding: EncodingLabel,
}

#[derive(Debug, Clone, Copy, LabelValue)]
#[label(crate = crate)]
enum Rejection {
    ConnectionLimit,
    Unauthorized,
    HeaderTimeout,
    IdleTimeout,
}

#[derive(Debug, Clone, Copy, LabelSet)]
#[label(crate = crate)]
struct RejectionLabels {
    reason: Rejection,
}

static SCRAPES: Family<ScrapeLabels, Counter> = Family::new(
    "telltale_server_scrapes_total",
    "Expositions the metrics server sent, by format and content encoding.",
);

static REJECTED: Family<RejectionLabels, Counter> = Family::new(
    "telltale_server_rejected_total",
    "Connections the metrics server refused or closed, and requests it refused, by reason.",
);

fn count_rejection(reason: Rejection) {
    REJECTED.labels(RejectionLabels { reason }).inc();
}

// ----- starting and stopping -------------------------------------------------

/// Starts serving metrics as `config` says; call it inside a Tokio runtime.
///
/// Returns once the socket is bound, so a scrape can follow at once. With
/// `enabled: false` nothing is bound (and nothing else is checked) and the
/// returned [`Server`] is a no-op.
///
/// # Errors
///
/// [`Error::Bind`], naming the address, when the socket cannot be bound (the
/// port is taken, the host does not resolve, ...); [`Error::Config`] when
/// [`Config::validate`] refuses the configuration.
pub async fn start(config: Config) -> Result<Server, Error> {
    if !config.enabled {
        return Ok(Server { running: None });
    }
    config.validate()?;
    let bracketed = if config.host.contains(':') {
        format!("[{}]", config.host)
    } else {
        config.host.clone()
    };
    let host_port = format!("{bracketed}:{}", config.port);
    let listener = TcpListener::bind((config.host.as_str(), config.port))
        .await
        .map_err(|source| Error::Bind {
            addr: host_port.clone(),
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| Error::Bind {
        addr: host_port,
        source,
    })?;
    let url = format!("http://{bracketed}:{}{}", local_addr.port(), config.path);

    let shared = Arc::new(Shared {
        endpoint: Endpoint::new(&config),
        header_read_timeout: config.header_read_timeout,
        idle_timeout: config.idle_timeout,
    });
    let limits = Limits {
        connections: Arc::new(Semaphore::new(config.max_connections)),
        turning_away: Arc::new(Semaphore::new(MAX_TURNING_AWAY)),
    };
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (done_tx, done) = watch::channel(());
    tokio::spawn(accept_loop(listener, shared, limits, shutdown_rx, done_tx));
    Ok(Server {
        running: Some(Running {
            local_addr,
            url,
            shutdown,
            done,
        }),
    })
}

/// A running metrics server, or a no-op when it was disabled.
///
/// [`stop`](Server::stop) shuts it down gracefully. Dropping the handle stops
/// it too (without waiting for requests in flight); to keep it serving for the
/// life of the process without holding the handle, call
/// [`detach`](Server::detach).
#[derive(Debug)]
#[must_use = "the server stops when this handle is dropped; keep it, or call `detach`"]
pub struct Server {
    running: Option<Running>,
}

#[derive(Debug)]
struct Running {
    local_addr: SocketAddr,
    url: String,
    /// `true` asks the accept loop and every connection to stop.
    shutdown: watch::Sender<bool>,
    /// Never written: its sender is dropped when the accept loop has ended.
    done: watch::Receiver<()>,
}

impl Server {
    /// The address the server listens on (with the real port when the
    /// configured one was `0`), or `None` when it is disabled.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.running.as_ref().map(|running| running.local_addr)
    }

    /// `http://host:port/path` of the metrics endpoint, or `None` when the
    /// server is disabled.
    pub fn url(&self) -> Option<&str> {
        self.running.as_ref().map(|running| running.url.as_str())
    }

    /// Whether the server is accepting connections: enabled, and neither
    /// stopped nor stopping.
    pub fn is_running(&self) -> bool {
        self.running
            .as_ref()
            .is_some_and(|running| !*running.shutdown.borrow() && !running.shutdown.is_closed())
    }

    /// Stops the server and waits until it has stopped.
    ///
    /// The listening socket is closed at once, so the port is free again when
    /// this returns; requests in flight get up to 5 seconds to finish, idle
    /// keep-alive connections are closed. Calling it again, concurrently or
    /// later, or on a disabled server, is fine and returns once the server
    /// is stopped.
    pub async fn stop(&self) {
        let Some(running) = &self.running else {
            return;
        };
        running.shutdown.send_replace(true);
        let mut done = running.done.clone();
        // Resolves (with an error) when the accept loop drops its sender.
        while done.changed().await.is_ok() {}
    }

    /// Lets the server run until the process exits, without a handle.
    pub fn detach(mut self) {
        if let Some(running) = self.running.take() {
            // The loop treats a vanished sender as "never asked to stop".
            drop(running);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(running) = &self.running {
            running.shutdown.send_replace(true);
        }
    }
}

/// Resolves when `true` is sent on `shutdown`; never, if the sender goes
/// away without sending it (a detached server).
async fn stop_requested(shutdown: &mut watch::Receiver<bool>) {
    if shutdown.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

// ----- connections -------------------------------------------------------------

/// What every connection of one server shares.
struct Shared {
    endpoint: Endpoint,
    header_read_timeout: Duration,
    idle_timeout: Duration,
}

/// The connection cap, and the cap on `503` answers in progress.
struct Limits {
    connections: Arc<Semaphore>,
    turning_away: Arc<Semaphore>,
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
    done: watch::Sender<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = stop_requested(&mut shutdown) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    if let Ok(permit) = Arc::clone(&limits.connections).try_acquire_owned() {
                        connections.spawn(serve_connection(
                            stream,
                            Arc::clone(&shared),
                            shutdown.clone(),
                            permit,
                        ));
                    } else {
                        count_rejection(Rejection::ConnectionLimit);
                        if let Ok(permit) = Arc::clone(&limits.turning_away).try_acquire_owned() {
                            connections.spawn(turn_away(stream, permit));
                        }
                        // Else the stream is dropped: closed without an answer.
                    }
                }
                Err(_) => tokio::time::sleep(ACCEPT_ERROR_PAUSE).await,
            },
        }
    }
    // Free the port first, then give requests in flight their grace period.
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.shutdown().await;
    }
    drop(done);
}

/// Answers a connection over the cap with `503`, then closes it once the
/// client has closed its side (so that the answer is not lost to a reset),
/// within [`TURN_AWAY_TIME`].
async fn turn_away(mut stream: TcpStream, _permit: OwnedSemaphorePermit) {
    let _ = tokio::time::timeout(TURN_AWAY_TIME, async {
        stream.write_all(BUSY_RESPONSE).await?;
        stream.shutdown().await?;
        let mut sink = [0_u8; 4096];
        let mut total = 0;
        while total < MAX_HEADER_BYTES {
            let n = stream.read(&mut sink).await?;
            if n == 0 {
                break;
            }
            total += n;
        }
        Ok::<(), std::io::Error>(())
    })
    .await;
}

async fn serve_connection(
    stream: TcpStream,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    // Responses are small and written at once: send them without delay.
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let service = {
        let shared = Arc::clone(&shared);
        let activity = Arc::clone(&activity);
        service_fn(move |request: Request<hyper::body::Incoming>| {
            activity.head_complete();
            let response = shared.endpoint.respond(&request);
            async move { Ok::<_, Infallible>(response) }
        })
    };
    let mut builder = http1::Builder::new();
    // The header and idle timeouts are the watchdog's below.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .max_header_size(MAX_HEADER_BYTES);
    let connection = builder.serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    let limits = (shared.header_read_timeout, shared.idle_timeout);
    tokio::select! {
        _ = connection.as_mut() => {}
        reason = watchdog(&activity, limits) => count_rejection(reason),
        () = stop_requested(&mut shutdown) => {
            // Finish the request in flight (if any), then close.
            connection.as_mut().graceful_shutdown();
            tokio::select! {
                _ = connection.as_mut() => {}
                reason = watchdog(&activity, limits) => count_rejection(reason),
            }
        }
    }
    // Dropping the connection closes the socket.
}

/// Resolves when the connection has overrun a limit: a request head
/// unfinished `header_read_timeout` after its first byte, or nothing read or
/// written for `idle_timeout`.
///
/// It sleeps until the nearer deadline, and wakes early when a head starts
/// (which may bring the header deadline nearer); it then recomputes.
async fn watchdog(
    activity: &Activity,
    (header_read_timeout, idle_timeout): (Duration, Duration),
) -> Rejection {
    let header_ms = millis(header_read_timeout);
    let idle_ms = millis(idle_timeout);
    loop {
        let idle_deadline = activity
            .last
            .load(Ordering::Acquire)
            .saturating_add(idle_ms);
        let (deadline, reason) = match activity.head_started() {
            Some(started) if started.saturating_add(header_ms) <= idle_deadline => {
                (started.saturating_add(header_ms), Rejection::HeaderTimeout)
            }
            _ => (idle_deadline, Rejection::IdleTimeout),
        };
        if activity.now() >= deadline {
            return reason;
        }
        let wake = activity.origin + Duration::from_millis(deadline);
        tokio::select! {
            biased;
            () = tokio::time::sleep_until(wake) => {}
            () = activity.head_begun.notified() => {}
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// [`Activity::head_started`] when no request head is in progress.
const NO_HEAD: u64 = u64::MAX;

/// When a connection last did something, in milliseconds since it opened.
struct Activity {
    origin: Instant,
    /// The last read or write of at least one byte.
    last: AtomicU64,
    /// When the first byte of a request head arrived whose request has not
    /// reached the service yet; [`NO_HEAD`] when there is none.
    head_started: AtomicU64,
    /// Signalled when a head starts, so that the watchdog re-reads its
    /// deadline. (A signal with no one waiting is kept for the next wait.)
    head_begun: Notify,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            origin: Instant::now(),
            last: AtomicU64::new(0),
            head_started: AtomicU64::new(NO_HEAD),
            head_begun: Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        // Never NO_HEAD: that would take half a billion years.
        millis(self.origin.elapsed()).min(NO_HEAD - 1)
    }

    /// When the head in progress started, if one is.
    fn head_started(&self) -> Option<u64> {
        let started = self.head_started.load(Ordering::Acquire);
        (started != NO_HEAD).then_some(started)
    }

    fn read(&self) {
        let now = self.now();
        self.last.store(now, Ordering::Release);
        if self
            .head_started
            .compare_exchange(NO_HEAD, now, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.head_begun.notify_one();
        }
    }

    fn wrote(&self) {
        self.last.store(self.now(), Ordering::Release);
    }

    fn head_complete(&self) {
        self.head_started.store(NO_HEAD, Ordering::Release);
        self.last.store(self.now(), Ordering::Release);
    }
}

/// A socket that reports its reads and writes to an [`Activity`].
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

// ----- requests ------------------------------------------------------------------

/// Where a request's path leads.
enum Route<'a> {
    Health,
    /// A metrics path; `Some` when its suffix fixes the format.
    Metrics(Option<Format>),
    /// `/api/<path>`, with the path after `/api/`.
    Api(&'a str),
    /// The dashboard page over the API.
    Dashboard,
    NotFound,
}

/// What a request is answered from.
struct Endpoint {
    path: String,
    json_path: String,
    csv_path: String,
    health_path: Option<String>,
    gzip: bool,
    auth: Auth,
    /// Length of the last exposition, to size the next buffer in one go.
    last_len: AtomicUsize,
}

/// The credentials a request must present, if any.
struct Auth {
    bearer: Option<Box<[u8]>>,
    /// `user:password`, as basic authentication encodes it.
    basic: Option<Box<[u8]>>,
    challenge: Vec<HeaderValue>,
}

impl Auth {
    fn new(config: &Config) -> Auth {
        let bearer = config
            .bearer_token
            .as_ref()
            .map(|token| token.as_bytes().into());
        let basic = config.basic_auth.as_ref().map(|basic| {
            format!("{}:{}", basic.username, basic.password)
                .into_bytes()
                .into()
        });
        let mut challenge = Vec::new();
        if bearer.is_some() {
            challenge.push(HeaderValue::from_static("Bearer realm=\"telltale\""));
        }
        if basic.is_some() {
            challenge.push(HeaderValue::from_static(
                "Basic realm=\"telltale\", charset=\"UTF-8\"",
            ));
        }
        Auth {
            bearer,
            basic,
            challenge,
        }
    }

    /// Whether `headers` carry acceptable credentials (always, when none are
    /// configured).
    fn allows(&self, headers: &HeaderMap) -> bool {
        if self.bearer.is_none() && self.basic.is_none() {
            return true;
        }
        let mut allowed = false;
        for value in headers.get_all(AUTHORIZATION) {
            let value = value.as_bytes();
            let Some(space) = value.iter().position(|b| *b == b' ') else {
                continue;
            };
            let (scheme, rest) = value.split_at(space);
            let credentials = rest.trim_ascii();
            if scheme.eq_ignore_ascii_case(b"bearer") {
                if let Some(token) = &self.bearer {
                    allowed |= constant_time_eq(credentials, token);
                }
            } else if scheme.eq_ignore_ascii_case(b"basic") {
                if let Some(expected) = &self.basic {
                    if let Ok(decoded) =
                        base64::engine::general_purpose::STANDARD.decode(credentials)
                    {
                        allowed |= constant_time_eq(&decoded, expected);
                    }
                }
            }
        }
        allowed
    }
}

/// Compares `given` with `secret` in a time that depends on the secret's
/// length only, not on where they first differ.
fn constant_time_eq(given: &[u8], secret: &[u8]) -> bool {
    let mut difference = u8::from(given.len() != secret.len());
    for (i, expected) in secret.iter().enumerate() {
        let byte = given.get(i).copied().unwrap_or(!*expected);
        difference |= std::hint::black_box(byte ^ expected);
    }
    difference == 0
}

impl Endpoint {
    fn new(config: &Config) -> Endpoint {
        Endpoint {
            path: config.path.clone(),
            json_path: config.json_path(),
            csv_path: config.csv_path(),
            health_path: (!config.health_path.is_empty()).then(|| config.health_path.clone()),
            gzip: config.gzip,
            auth: Auth::new(config),
            last_len: AtomicUsize::new(0),
        }
    }

    fn route<'a>(&self, path: &'a str) -> Route<'a> {
        if path == self.path {
            Route::Metrics(None)
        } else if path == self.json_path {
            Route::Metrics(Some(Format::Json))
        } else if path == self.csv_path {
            Route::Metrics(Some(Format::Csv))
        } else if self.health_path.as_deref() == Some(path) {
            Route::Health
        } else if let Some(api) = path.strip_prefix("/api/") {
            Route::Api(api)
        } else if path == "/dashboard" {
            Route::Dashboard
        } else {
            Route::NotFound
        }
    }

    fn respond<B>(&self, request: &Request<B>) -> Response<Full<Bytes>> {
        let readable = request.method() == Method::GET || request.method() == Method::HEAD;
        let route = self.route(request.uri().path());
        if !matches!(route, Route::Health) && !self.auth.allows(request.headers()) {
            count_rejection(Rejection::Unauthorized);
            let mut response = plain(StatusCode::UNAUTHORIZED, "Unauthorized\n");
            for challenge in &self.auth.challenge {
                response
                    .headers_mut()
                    .append(WWW_AUTHENTICATE, challenge.clone());
            }
            return response;
        }
        match route {
            Route::Api(path) if readable => {
                let (status, body) = api(path);
                let mut response = Response::new(Full::new(Bytes::from(body)));
                *response.status_mut() =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                response
            }
            Route::NotFound | Route::Api(_) => plain(StatusCode::NOT_FOUND, "Not Found\n"),
            Route::Health | Route::Metrics(_) | Route::Dashboard if !readable => {
                let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
                response
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
                response
            }
            Route::Health => plain(StatusCode::OK, "ok\n"),
            Route::Dashboard => dashboard(),
            Route::Metrics(fixed) => self.metrics(request, fixed),
        }
    }

    fn metrics<B>(&self, request: &Request<B>, fixed: Option<Format>) -> Response<Full<Bytes>> {
        // Whether the `Accept` header chose the format.
        let mut negotiated = false;
        let format = match fixed {
            Some(format) => format,
            None => match format_parameter(request.uri().query()) {
                Ok(Some(format)) => format,
                Ok(None) => {
                    negotiated = true;
                    Format::negotiate(accept_header(request).as_deref())
                }
                Err(given) => {
                    return plain(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "Unknown format {given:?}: use format=prometheus, openmetrics, json or csv\n"
                        ),
                    )
                }
            },
        };
        let gzip = self.gzip && accepts_gzip(request.headers());
        let encoding = if gzip {
            EncodingLabel::Gzip
        } else {
            EncodingLabel::Identity
        };
        // Counted before the metrics are read, so a scrape counts itself. A
        // HEAD request is rendered (and compressed) too, for its
        // Content-Length, but is sent no exposition and not counted.
        if request.method() != Method::HEAD {
            SCRAPES
                .labels(ScrapeLabels {
                    format: format_label(format),
                    encoding,
                })
                .inc();
        }
        let text = self.render(format);
        let body = if gzip {
            Bytes::from(crate::encode::gzip::gzip(text.as_bytes()))
        } else {
            Bytes::from(text)
        };
        // hyper sends only the headers (with the body's Content-Length) to a
        // HEAD request.
        let mut response = Response::new(Full::new(body));
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        headers.insert(
            VARY,
            HeaderValue::from_static(if negotiated {
                "Accept, Accept-Encoding"
            } else {
                "Accept-Encoding"
            }),
        );
        if gzip {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
    }

    /// Every registered metric, in `format`.
    fn render(&self, format: Format) -> String {
        let hint = self.last_len.load(Ordering::Relaxed);
        let mut out = String::with_capacity(hint + hint / 8);
        crate::encode::render_into(format, &mut out);
        self.last_len.store(out.len(), Ordering::Relaxed);
        out
    }
}

/// The dashboard page: one self-contained HTML document (no outside
/// resources) whose script reads `/api/dashboard/*` every 5 seconds.
const DASHBOARD: &str = include_str!("dashboard.html");

/// Answers a path below `/api/`: status code and JSON body.
pub(crate) type ApiHandler = fn(&str) -> (u16, String);

/// What answers `/api/...`: set by the first [`System`](crate::system::System)
/// that starts (the server does not know the system; the system plugs
/// itself in).
static API: std::sync::OnceLock<ApiHandler> = std::sync::OnceLock::new();

/// Makes `handler` answer `/api/...` from now on (the first call wins).
pub(crate) fn serve_api(handler: ApiHandler) {
    let _ = API.set(handler);
}

/// The answer to `/api/<path>`; 503 while nothing serves the API.
fn api(path: &str) -> (u16, String) {
    match API.get() {
        Some(handler) => handler(path),
        None => (
            503,
            r#"{"error":"no telltale System is running"}"#.to_owned(),
        ),
    }
}

fn dashboard() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(DASHBOARD.as_bytes())));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The page's own inline script and style, and requests to this server;
    // nothing else, and no framing.
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn format_label(format: Format) -> FormatLabel {
    match format {
        Format::Prometheus => FormatLabel::Prometheus,
        Format::OpenMetrics => FormatLabel::OpenMetrics,
        Format::Json => FormatLabel::Json,
        Format::Csv => FormatLabel::Csv,
    }
}

/// The value of the first `format` query parameter: `Ok(None)` when there
/// is none, `Err(value)` when it names no format.
fn format_parameter(query: Option<&str>) -> Result<Option<Format>, String> {
    let Some(query) = query else {
        return Ok(None);
    };
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "format" {
            return Format::from_name(value)
                .map(Some)
                .ok_or_else(|| value.chars().take(64).collect());
        }
    }
    Ok(None)
}

/// Whether an `Accept-Encoding` header list accepts gzip: `gzip` (or
/// `x-gzip`) with a quality above zero, or, when gzip is not named, `*`
/// with a quality above zero. A quality that does not parse or lies outside
/// 0..=1 counts as 0, as in [`Format::negotiate`].
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip: Option<f64> = None;
    let mut any: Option<f64> = None;
    for value in headers.get_all(ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for coding in value.split(',') {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let mut quality = 1.0_f64;
            for parameter in parts {
                if let Some((key, value)) = parameter.split_once('=') {
                    if key.trim().eq_ignore_ascii_case("q") {
                        quality = value.trim().parse().unwrap_or(0.0);
                        if !(0.0..=1.0).contains(&quality) {
                            quality = 0.0;
                        }
                    }
                }
            }
            let slot = if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
                &mut gzip
            } else if name == "*" {
                &mut any
            } else {
                continue;
            };
            *slot = Some(slot.map_or(quality, |q| q.max(quality)));
        }
    }
    gzip.or(any).is_some_and(|quality| quality > 0.0)
}

/// The `Accept` header, several of them joined with commas as HTTP allows;
/// values that are not text are ignored.
fn accept_header<B>(request: &Request<B>) -> Option<Cow<'_, str>> {
    let mut values = request
        .headers()
        .get_all(ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok());
    let first = values.next()?;
    match values.next() {
        None => Some(Cow::Borrowed(first)),
        Some(second) => {
            let mut joined = format!("{first},{second}");
            for value in values {
                joined.push(',');
                joined.push_str(value);
            }
            Some(Cow::Owned(joined))
        }
    }
}

fn plain(status: StatusCode, text: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(text.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let mut config = Config::default();
        assert_eq!(
            (config.host.as_str(), config.port, config.path.as_str()),
            ("127.0.0.1", 9464, "/metrics")
        );
        assert_eq!(config.header_read_timeout, Duration::from_secs(10));
        assert_eq!(config.idle_timeout, Duration::from_secs(90));
        assert_eq!(config.max_connections, 256);
        // The variables table gives the same defaults as text.
        let mut env = Env::from_pairs([
            ("TELLTALE_SERVER_HEADER_READ_TIMEOUT", "10s"),
            ("TELLTALE_SERVER_IDLE_TIMEOUT", "90s"),
        ]);
        config.apply_env(&mut env).unwrap();
        assert_eq!(format!("{config:?}"), format!("{:?}", Config::default()));
    }

    fn endpoint() -> Endpoint {
        Endpoint::new(&Config::default())
    }

    fn request(method: Method, uri: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap()
    }

    fn content_type(response: &Response<Full<Bytes>>) -> &str {
        response.headers()[CONTENT_TYPE].to_str().unwrap()
    }

    #[test]
    fn default_config() {
        let config = Config::default();
        assert_eq!(config.host, "127.0.0.1");
        assert_eq!(config.port, 9464);
        assert_eq!(config.path, "/metrics");
        assert_eq!(config.health_path, "/health");
        assert_eq!(config.max_connections, 256);
        assert!(config.enabled && config.gzip);
        assert_eq!(config.bearer_token, None);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn routes_and_methods() {
        let endpoint = endpoint();
        let ok = endpoint.respond(&request(Method::GET, "/metrics", &[]));
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(content_type(&ok), Format::Prometheus.content_type());
        assert_eq!(ok.headers()[VARY], "Accept, Accept-Encoding");
        assert!(ok.headers().get(CONTENT_ENCODING).is_none());

        let query = endpoint.respond(&request(Method::GET, "/metrics?x=1", &[]));
        assert_eq!(query.status(), StatusCode::OK);
        let head = endpoint.respond(&request(Method::HEAD, "/metrics", &[]));
        assert_eq!(head.status(), StatusCode::OK);
        let json = endpoint.respond(&request(Method::GET, "/metrics.json", &[]));
        assert_eq!(content_type(&json), Format::Json.content_type());
        let csv = endpoint.respond(&request(Method::GET, "/metrics.csv", &[]));
        assert_eq!(content_type(&csv), Format::Csv.content_type());
        let health = endpoint.respond(&request(Method::GET, "/health", &[]));
        assert_eq!(health.status(), StatusCode::OK);

        for path in [
            "/",
            "/metrics/",
            "/metric",
            "/other",
            "/METRICS",
            "/metrics.xml",
        ] {
            let response = endpoint.respond(&request(Method::GET, path, &[]));
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let response = endpoint.respond(&request(Method::POST, "/other", &[]));
        assert_eq!(response.status(), StatusCode::NOT_FOUND);

        for path in ["/metrics", "/metrics.json", "/health", "/dashboard"] {
            for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
                let response = endpoint.respond(&request(method.clone(), path, &[]));
                assert_eq!(
                    response.status(),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}"
                );
                assert_eq!(response.headers()[ALLOW], "GET, HEAD");
            }
        }
    }

    #[test]
    fn format_parameter_overrides_accept() {
        let endpoint = endpoint();
        let om_accept = [("accept", "application/openmetrics-text")];
        let cases = [
            ("/metrics?format=prometheus", Format::Prometheus),
            ("/metrics?a=b&format=PROMETHEUS", Format::Prometheus),
            ("/metrics?format=openmetrics", Format::OpenMetrics),
            ("/metrics?format=json", Format::Json),
            ("/metrics?format=csv&format=json", Format::Csv),
            // The suffix fixes the format.
            ("/metrics.json?format=csv", Format::Json),
        ];
        for (uri, format) in cases {
            let response = endpoint.respond(&request(Method::GET, uri, &om_accept));
            assert_eq!(response.status(), StatusCode::OK, "{uri}");
            assert_eq!(content_type(&response), format.content_type(), "{uri}");
        }
        let bad = endpoint.respond(&request(Method::GET, "/metrics?format=xml", &[]));
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert_eq!(format_parameter(Some("format=")), Err(String::new()));
        assert_eq!(format_parameter(Some("formats=json")), Ok(None));
        assert_eq!(format_parameter(None), Ok(None));
    }

    #[test]
    fn negotiates_by_accept() {
        let endpoint = endpoint();
        let om = endpoint.respond(&request(
            Method::GET,
            "/metrics",
            &[(
                "accept",
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
            )],
        ));
        assert_eq!(content_type(&om), Format::OpenMetrics.content_type());
        let text = endpoint.respond(&request(
            Method::GET,
            "/metrics",
            &[("accept", "text/plain")],
        ));
        assert_eq!(content_type(&text), Format::Prometheus.content_type());
        // Two Accept headers count as one list.
        let split = endpoint.respond(&request(
            Method::GET,
            "/metrics",
            &[
                ("accept", "text/plain;q=0.5"),
                ("accept", "application/openmetrics-text"),
            ],
        ));
        assert_eq!(content_type(&split), Format::OpenMetrics.content_type());
        let json = endpoint.respond(&request(
            Method::GET,
            "/metrics",
            &[("accept", "application/json")],
        ));
        assert_eq!(content_type(&json), Format::Json.content_type());
    }

    #[test]
    fn gzip_acceptance() {
        let accepts = |values: &[&str]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
            }
            accepts_gzip(&headers)
        };
        assert!(accepts(&["gzip"]));
        assert!(accepts(&["deflate, gzip;q=0.5"]));
        assert!(accepts(&["br", "GZIP"]));
        assert!(accepts(&["x-gzip"]));
        assert!(accepts(&["*"]));
        assert!(accepts(&["gzip;q=0.001"]));
        assert!(!accepts(&[]));
        assert!(!accepts(&["identity"]));
        assert!(!accepts(&["gzip;q=0"]));
        assert!(
            !accepts(&["gzip;q=0.0, *"]),
            "an explicit gzip;q=0 wins over *"
        );
        assert!(!accepts(&["*;q=0"]));
        assert!(!accepts(&["gzip;q=nonsense"]));
        assert!(accepts(&["gzip;q=1.0"]));
        // A quality outside 0..=1 counts as 0.
        for bad in ["2", "1.5", "inf", "-inf", "NaN", "-0.5", "1e3"] {
            assert!(!accepts(&[&format!("gzip;q={bad}")]), "gzip;q={bad}");
            assert!(!accepts(&[&format!("*;q={bad}")]), "*;q={bad}");
            assert!(!accepts(&[&format!("gzip;q={bad}, *")]), "gzip;q={bad}, *");
        }
    }

    #[test]
    fn vary_names_accept_only_when_it_chose_the_format() {
        let endpoint = endpoint();
        for (uri, vary) in [
            ("/metrics", "Accept, Accept-Encoding"),
            ("/metrics?x=1", "Accept, Accept-Encoding"),
            ("/metrics.json", "Accept-Encoding"),
            ("/metrics.csv", "Accept-Encoding"),
            ("/metrics.json?format=csv", "Accept-Encoding"),
            ("/metrics?format=openmetrics", "Accept-Encoding"),
        ] {
            for method in [Method::GET, Method::HEAD] {
                let response = endpoint.respond(&request(
                    method.clone(),
                    uri,
                    &[("accept", "application/json")],
                ));
                assert_eq!(response.status(), StatusCode::OK, "{method} {uri}");
                assert_eq!(response.headers()[VARY], vary, "{method} {uri}");
            }
        }
    }

    #[test]
    fn head_is_not_counted_as_a_scrape() {
        // No other test scrapes CSV with gzip.
        let scrapes = || {
            SCRAPES
                .labels(ScrapeLabels {
                    format: FormatLabel::Csv,
                    encoding: EncodingLabel::Gzip,
                })
                .get()
        };
        let endpoint = endpoint();
        let gzip = [("accept-encoding", "gzip")];
        let before = scrapes();
        let head = endpoint.respond(&request(Method::HEAD, "/metrics.csv", &gzip));
        assert_eq!(head.status(), StatusCode::OK);
        // The headers are those of the GET: same encoding, same type.
        assert_eq!(head.headers()[CONTENT_ENCODING], "gzip");
        assert_eq!(content_type(&head), Format::Csv.content_type());
        assert_eq!(scrapes(), before, "HEAD counted as a scrape");
        let get = endpoint.respond(&request(Method::GET, "/metrics.csv", &gzip));
        assert_eq!(get.status(), StatusCode::OK);
        assert_eq!(scrapes(), before + 1, "GET not counted");
    }

    #[test]
    fn compresses_when_accepted() {
        use std::io::Read as _;
        let endpoint = endpoint();
        let response = endpoint.respond(&request(
            Method::GET,
            "/metrics",
            &[("accept-encoding", "gzip")],
        ));
        assert_eq!(response.headers()[CONTENT_ENCODING], "gzip");
        let off = Endpoint::new(&Config {
            gzip: false,
            ..Config::default()
        });
        let plain = off.respond(&request(
            Method::GET,
            "/metrics",
            &[("accept-encoding", "gzip")],
        ));
        assert!(plain.headers().get(CONTENT_ENCODING).is_none());

        let text = "a_total 1\n".repeat(100);
        let compressed = crate::encode::gzip::gzip(text.as_bytes());
        assert!(compressed.len() < text.len() / 4);
        let mut decoded = String::new();
        flate2::read::GzDecoder::new(compressed.as_slice())
            .read_to_string(&mut decoded)
            .unwrap();
        assert_eq!(decoded, text);
    }

    #[test]
    fn credentials() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secreT", b"secret"));
        assert!(!constant_time_eq(b"secret!", b"secret"));
        assert!(!constant_time_eq(b"secre", b"secret"));
        assert!(!constant_time_eq(b"", b"secret"));
        // A missing byte is compared as a byte that differs, even when the
        // secret holds 0xff.
        assert!(!constant_time_eq(b"", b"\xff"));

        let endpoint = Endpoint::new(&Config {
            bearer_token: Some("tok".to_owned()),
            basic_auth: Some(BasicAuth {
                username: "user".to_owned(),
                password: "pa:ss".to_owned(),
            }),
            ..Config::default()
        });
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("user:pa:ss")
        );
        for good in ["Bearer tok", "bearer  tok ", basic.as_str()] {
            let response = endpoint.respond(&request(
                Method::GET,
                "/metrics",
                &[("authorization", good)],
            ));
            assert_eq!(response.status(), StatusCode::OK, "{good}");
        }
        for bad in [
            "Bearer tok2",
            "Bearer",
            "Basic dXNlcjpwYXNz",
            "tok",
            "Basic !!",
        ] {
            let response =
                endpoint.respond(&request(Method::GET, "/metrics", &[("authorization", bad)]));
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{bad}");
            let challenges: Vec<_> = response
                .headers()
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .collect();
            assert_eq!(challenges.len(), 2);
        }
        // 401 before 404, so paths are not probed without credentials.
        let response = endpoint.respond(&request(Method::GET, "/nope", &[]));
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let health = endpoint.respond(&request(Method::GET, "/health", &[]));
        assert_eq!(health.status(), StatusCode::OK);
        // The dashboard page is behind the same credentials as `/metrics`.
        let page = endpoint.respond(&request(Method::GET, "/dashboard", &[]));
        assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
        let page = endpoint.respond(&request(
            Method::GET,
            "/dashboard",
            &[("authorization", "Bearer tok")],
        ));
        assert_eq!(page.status(), StatusCode::OK);
    }

    #[test]
    fn validation_names_the_field() {
        let cases: Vec<(Config, &str)> = vec![
            (
                Config {
                    path: "metrics".to_owned(),
                    ..Config::default()
                },
                "\"metrics\"",
            ),
            (
                Config {
                    path: "/m?x".to_owned(),
                    ..Config::default()
                },
                "'?'",
            ),
            (
                Config {
                    health_path: "/metrics.json".to_owned(),
                    ..Config::default()
                },
                "health_path",
            ),
            (
                Config {
                    health_path: "health".to_owned(),
                    ..Config::default()
                },
                "health_path",
            ),
            (
                Config {
                    max_connections: 0,
                    ..Config::default()
                },
                "max_connections",
            ),
            (
                Config {
                    header_read_timeout: Duration::ZERO,
                    ..Config::default()
                },
                "header_read_timeout",
            ),
            (
                Config {
                    idle_timeout: Duration::ZERO,
                    ..Config::default()
                },
                "idle_timeout",
            ),
            (
                Config {
                    bearer_token: Some(String::new()),
                    ..Config::default()
                },
                "bearer_token",
            ),
            (
                Config {
                    basic_auth: Some(BasicAuth {
                        username: "a:b".to_owned(),
                        password: String::new(),
                    }),
                    ..Config::default()
                },
                "basic_auth.username",
            ),
        ];
        for (config, needle) in cases {
            let message = config.validate().unwrap_err().to_string();
            assert!(message.contains(needle), "{message} should name {needle}");
        }
        let empty_health = Config {
            health_path: String::new(),
            ..Config::default()
        };
        assert!(empty_health.validate().is_ok());
        assert!(matches!(
            Endpoint::new(&empty_health).route("/health"),
            Route::NotFound
        ));
    }

    #[test]
    fn remembers_the_exposition_size() {
        let endpoint = endpoint();
        let text = endpoint.render(Format::OpenMetrics);
        assert!(text.ends_with("# EOF\n"));
        assert_eq!(endpoint.last_len.load(Ordering::Relaxed), text.len());
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let config = Config {
            bearer_token: Some("tok-123".to_owned()),
            basic_auth: Some(BasicAuth {
                username: "scraper".to_owned(),
                password: "pw-456".to_owned(),
            }),
            ..Config::default()
        };
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("tok-123") && !debug.contains("pw-456"),
            "{debug}"
        );
        assert!(debug.contains("scraper"));
    }
}
