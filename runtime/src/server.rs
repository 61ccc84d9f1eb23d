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
//! The server answers `GET` and `HEAD` on the configured path with every
//! registered metric, in OpenMetrics 1.0 when the `Accept` header asks for
//! `application/openmetrics-text` and in the Prometheus text format 0.0.4
//! otherwise (see [`Format::negotiate`]), with the matching `Content-Type`.
//! Other methods on the path get `405 Method Not Allowed`, other paths
//! `404 Not Found`. It speaks HTTP/1.1 with keep-alive, on the Tokio runtime
//! that called [`start`].

use std::borrow::Cow;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ACCEPT, ALLOW, CONTENT_TYPE, VARY};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::encode::{encode, Format};
use crate::snapshot::Snapshot;
use crate::Error;

/// How long a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`Server::stop`] lets requests in flight finish before it closes
/// their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Pause after a failed `accept` (out of file descriptors, say) before the
/// next one, so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// Where and whether to serve metrics. [`Config::default`] serves
/// `http://127.0.0.1:9464/metrics`.
///
/// ```
/// let config = telltale::server::Config {
///     port: 0, // any free port; `Server::local_addr` tells which
///     ..Default::default()
/// };
/// assert_eq!(config.host, "127.0.0.1");
/// assert_eq!(config.path, "/metrics");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The address or host name to listen on. Default `"127.0.0.1"`; use
    /// `"0.0.0.0"` or `"::"` to accept scrapes from other machines.
    pub host: String,
    /// The TCP port. Default `9464`; `0` picks a free port.
    pub port: u16,
    /// The path metrics are served on; must start with `/`. Default
    /// `"/metrics"`.
    pub path: String,
    /// Whether to serve at all. Default `true`; when `false`, [`start`]
    /// binds nothing and returns a handle that does nothing.
    pub enabled: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".to_owned(),
            port: 9464,
            path: "/metrics".to_owned(),
            enabled: true,
        }
    }
}

/// Starts serving metrics as `config` says; call it inside a Tokio runtime.
///
/// Returns once the socket is bound, so a scrape can follow at once. With
/// `enabled: false` nothing is bound and the returned [`Server`] is a no-op.
///
/// # Errors
///
/// [`Error::Bind`], naming the address, when the socket cannot be bound (the
/// port is taken, the host does not resolve, ...); [`Error::Config`] when the
/// path does not start with `/`.
pub async fn start(config: Config) -> Result<Server, Error> {
    if !config.enabled {
        return Ok(Server { running: None });
    }
    if !config.path.starts_with('/') {
        return Err(Error::Config(format!(
            "the metrics path must start with '/', got {:?}",
            config.path
        )));
    }
    let host_port = if config.host.contains(':') {
        format!("[{}]:{}", config.host, config.port)
    } else {
        format!("{}:{}", config.host, config.port)
    };
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
    let url = if config.host.contains(':') {
        format!(
            "http://[{}]:{}{}",
            config.host,
            local_addr.port(),
            config.path
        )
    } else {
        format!(
            "http://{}:{}{}",
            config.host,
            local_addr.port(),
            config.path
        )
    };

    let endpoint = Arc::new(Endpoint {
        path: config.path,
        last_len: AtomicUsize::new(0),
    });
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (done_tx, done) = watch::channel(());
    tokio::spawn(accept_loop(listener, endpoint, shutdown_rx, done_tx));
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

async fn accept_loop(
    listener: TcpListener,
    endpoint: Arc<Endpoint>,
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
                    connections.spawn(serve_connection(stream, Arc::clone(&endpoint), shutdown.clone()));
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

async fn serve_connection(
    stream: TcpStream,
    endpoint: Arc<Endpoint>,
    mut shutdown: watch::Receiver<bool>,
) {
    // Responses are small and written at once: send them without delay.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request: Request<hyper::body::Incoming>| {
        let response = endpoint.respond(&request);
        async move { Ok::<_, Infallible>(response) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        () = stop_requested(&mut shutdown) => {
            // Finish the request in flight (if any), then close.
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// What a request is answered from.
struct Endpoint {
    path: String,
    /// Length of the last exposition, to size the next buffer in one go.
    last_len: AtomicUsize,
}

impl Endpoint {
    fn respond<B>(&self, request: &Request<B>) -> Response<Full<Bytes>> {
        if request.uri().path() != self.path {
            if request.method() == Method::GET || request.method() == Method::HEAD {
                if let Some((status, body)) = crate::system::api(request.uri().path()) {
                    let mut response = Response::new(Full::new(Bytes::from(body)));
                    *response.status_mut() =
                        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    response
                        .headers_mut()
                        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    return response;
                }
            }
            return plain(StatusCode::NOT_FOUND, "Not Found\n");
        }
        if request.method() != Method::GET && request.method() != Method::HEAD {
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        let format = Format::negotiate(accept_header(request).as_deref());
        let body = self.render(format);
        // hyper sends only the headers (with the body's Content-Length) to a
        // HEAD request.
        let mut response = Response::new(Full::new(Bytes::from(body)));
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        headers.insert(VARY, HeaderValue::from_static("Accept"));
        response
    }

    fn render(&self, format: Format) -> String {
        let snapshot = Snapshot::collect();
        let hint = self.last_len.load(Ordering::Relaxed);
        let mut out = String::with_capacity(hint + hint / 8);
        encode(&snapshot, format, &mut out);
        self.last_len.store(out.len(), Ordering::Relaxed);
        out
    }
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

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
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

    fn endpoint() -> Endpoint {
        Endpoint {
            path: "/metrics".to_owned(),
            last_len: AtomicUsize::new(0),
        }
    }

    fn request(method: Method, uri: &str, accept: &[&str]) -> Request<()> {
        let mut builder = Request::builder().method(method).uri(uri);
        for value in accept {
            builder = builder.header(ACCEPT, *value);
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
        assert!(config.enabled);
    }

    #[test]
    fn routes_and_methods() {
        let endpoint = endpoint();
        let ok = endpoint.respond(&request(Method::GET, "/metrics", &[]));
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(content_type(&ok), Format::Prometheus.content_type());
        assert_eq!(ok.headers()[VARY], "Accept");

        let query = endpoint.respond(&request(Method::GET, "/metrics?x=1", &[]));
        assert_eq!(query.status(), StatusCode::OK);

        let head = endpoint.respond(&request(Method::HEAD, "/metrics", &[]));
        assert_eq!(head.status(), StatusCode::OK);

        for path in ["/", "/metrics/", "/metric", "/other", "/METRICS"] {
            let response = endpoint.respond(&request(Method::GET, path, &[]));
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let response = endpoint.respond(&request(Method::POST, "/other", &[]));
        assert_eq!(response.status(), StatusCode::NOT_FOUND);

        for method in [
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
            Method::PATCH,
        ] {
            let response = endpoint.respond(&request(method.clone(), "/metrics", &[]));
            assert_eq!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method}"
            );
            assert_eq!(response.headers()[ALLOW], "GET, HEAD");
        }
    }

    #[test]
    fn negotiates_by_accept() {
        let endpoint = endpoint();
        let om = endpoint.respond(&request(
            Method::GET,
            "/metrics",
            &["application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"],
        ));
        assert_eq!(content_type(&om), Format::OpenMetrics.content_type());
        let text = endpoint.respond(&request(Method::GET, "/metrics", &["text/plain"]));
        assert_eq!(content_type(&text), Format::Prometheus.content_type());
        // Two Accept headers count as one list.
        let split = endpoint.respond(&request(
            Method::GET,
            "/metrics",
            &["text/plain;q=0.5", "application/openmetrics-text"],
        ));
        assert_eq!(content_type(&split), Format::OpenMetrics.content_type());
    }

    #[test]
    fn remembers_the_exposition_size() {
        let endpoint = endpoint();
        let text = endpoint.render(Format::OpenMetrics);
        assert!(text.ends_with("# EOF\n"));
        assert_eq!(endpoint.last_len.load(Ordering::Relaxed), text.len());
    }
}
