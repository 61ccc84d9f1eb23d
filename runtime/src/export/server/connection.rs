//! Connections: the accept loop, the connection cap (turning the surplus away with a 503), and the header-read and idle timeouts.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::request::Handler;
use super::self_metrics::{count_rejection, Rejection};

/// How long [`Server::stop`] lets requests in flight finish before it closes
/// their connections.
pub(super) const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Pause after a failed `accept` (out of file descriptors, say) before the
/// next one, so the loop does not spin.
pub(super) const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);
/// The longest request head (request line and headers) read.
pub(super) const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Connections over the cap being answered `503` at one time.
pub(super) const MAX_TURNING_AWAY: usize = 64;
/// How long answering a connection over the cap may take.
pub(super) const TURN_AWAY_TIME: Duration = Duration::from_secs(1);
/// What a connection over the cap is told.
pub(super) const BUSY_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Retry-After: 1\r\n\
Connection: close\r\n\
Content-Length: 37\r\n\
\r\n\
Too many connections; retry shortly.\n";

/// Resolves when `true` is sent on `shutdown`; never, if the sender goes
/// away without sending it (a detached server).
pub(super) async fn stop_requested(shutdown: &mut watch::Receiver<bool>) {
    if shutdown.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// What every connection of one server shares: the settings in force,
/// which [`Server::reconfigure`](super::Server::reconfigure) replaces
/// (a connection keeps the timeouts it started with; each request reads
/// the handler in force).
pub(super) struct Shared {
    pub(super) settings: std::sync::RwLock<Arc<Settings>>,
}

/// One configuration's handler, timeouts and connection cap.
pub(super) struct Settings {
    pub(super) endpoint: Handler,
    pub(super) header_read_timeout: Duration,
    pub(super) idle_timeout: Duration,
    pub(super) max_connections: usize,
    pub(super) connections: Arc<Semaphore>,
}

impl Shared {
    pub(super) fn current(&self) -> Arc<Settings> {
        Arc::clone(
            &self
                .settings
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// The cap on `503` answers in progress.
pub(super) struct Limits {
    pub(super) turning_away: Arc<Semaphore>,
}

pub(super) async fn accept_loop(
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
                    let cap = Arc::clone(&shared.current().connections);
                    if let Ok(permit) = cap.try_acquire_owned() {
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
pub(super) async fn turn_away(mut stream: TcpStream, _permit: OwnedSemaphorePermit) {
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

pub(super) async fn serve_connection(
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
            let settings = shared.current();
            async move { Ok::<_, Infallible>(settings.endpoint.serve(&request).await) }
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
    let limits = {
        let settings = shared.current();
        (settings.header_read_timeout, settings.idle_timeout)
    };
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
pub(super) async fn watchdog(
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

pub(super) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// [`Activity::head_started`] when no request head is in progress.
pub(super) const NO_HEAD: u64 = u64::MAX;

/// When a connection last did something, in milliseconds since it opened.
pub(super) struct Activity {
    pub(super) origin: Instant,
    /// The last read or write of at least one byte.
    pub(super) last: AtomicU64,
    /// When the first byte of a request head arrived whose request has not
    /// reached the service yet; [`NO_HEAD`] when there is none.
    pub(super) head_started: AtomicU64,
    /// Signalled when a head starts, so that the watchdog re-reads its
    /// deadline. (A signal with no one waiting is kept for the next wait.)
    pub(super) head_begun: Notify,
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
pub(super) struct Watched {
    pub(super) inner: TcpStream,
    pub(super) activity: Arc<Activity>,
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
