//! Push exporters against endpoints that fail: a mock HTTP endpoint on a
//! free loopback port that answers, hangs (accepts and never answers),
//! answers 500 a number of times, or is not there at all (connection
//! refused). In each case the failing endpoint's status reports it, a
//! healthy endpoint configured alongside keeps receiving on schedule, and
//! once the failing one recovers its data arrives with nothing lost.
//!
//! Time is driven by short intervals and timeouts (tens of milliseconds)
//! and conditions are polled with a deadline; no sleep is an assertion.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use telltale::dynamic::{self, Metric};
use telltale::push::{
    self, remote_write, EndpointConfig, EndpointStatus, PushConfig, PushMethod, Pusher, RetryPolicy,
};
use telltale::Counter;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The longest any condition is waited for.
const DEADLINE: Duration = Duration::from_secs(20);

// ----- the mock endpoint -----------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Answer 200 (and record the request as delivered).
    Ok,
    /// Read the request and never answer.
    Hang,
    /// Answer this status.
    Status(u16),
}

#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    at: Instant,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug)]
struct MockState {
    mode: Mode,
    /// Answer `fail_status` to this many requests before following `mode`.
    fail_next: u32,
    /// The status of those failures (500 unless set).
    fail_status: u16,
    /// A `Retry-After` header on every error answer.
    retry_after: Option<&'static str>,
    /// When each request was read, answered or not.
    request_times: Vec<Instant>,
    /// Requests answered 2xx.
    delivered: Vec<Received>,
    /// Every request read, answered or not.
    requests: u64,
}

#[derive(Debug, Clone)]
struct Mock {
    addr: SocketAddr,
    state: Arc<Mutex<MockState>>,
}

impl Mock {
    async fn start(mode: Mode) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Self::serve(listener, mode)
    }

    async fn start_on(addr: SocketAddr, mode: Mode) -> Mock {
        let listener = TcpListener::bind(addr).await.expect("bind the freed port");
        Self::serve(listener, mode)
    }

    fn serve(listener: TcpListener, mode: Mode) -> Mock {
        let mock = Mock {
            addr: listener.local_addr().expect("address"),
            state: Arc::new(Mutex::new(MockState {
                mode,
                fail_next: 0,
                fail_status: 500,
                retry_after: None,
                request_times: Vec::new(),
                delivered: Vec::new(),
                requests: 0,
            })),
        };
        let state = Arc::clone(&mock.state);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(connection(stream, Arc::clone(&state)));
            }
        });
        mock
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MockState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set_mode(&self, mode: Mode) {
        self.lock().mode = mode;
    }

    fn delivered(&self) -> Vec<Received> {
        self.lock().delivered.clone()
    }

    fn delivered_count(&self) -> usize {
        self.lock().delivered.len()
    }

    fn requests(&self) -> u64 {
        self.lock().requests
    }

    fn request_times(&self) -> Vec<Instant> {
        self.lock().request_times.clone()
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Serves HTTP/1.1 requests on one connection (keep-alive) as the mock's
/// state says.
async fn connection(mut stream: TcpStream, state: Arc<Mutex<MockState>>) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let head_end = loop {
            if let Some(end) = find(&buf, b"\r\n\r\n") {
                break end;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next().unwrap_or_default().split(' ');
        let method = request_line.next().unwrap_or_default().to_owned();
        let path = request_line.next().unwrap_or_default().to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let total = head_end + 4 + length;
        while buf.len() < total {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = buf[head_end + 4..total].to_vec();
        buf.drain(..total);
        let (status, retry_after) = {
            let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
            s.requests += 1;
            s.request_times.push(Instant::now());
            let status = if s.fail_next > 0 {
                s.fail_next -= 1;
                s.fail_status
            } else {
                match s.mode {
                    Mode::Ok => {
                        s.delivered.push(Received {
                            method,
                            path,
                            headers,
                            body,
                            at: Instant::now(),
                        });
                        200
                    }
                    Mode::Hang => 0,
                    Mode::Status(code) => code,
                }
            };
            (status, s.retry_after)
        };
        if status == 0 {
            // Keep the connection open and never answer.
            std::future::pending::<()>().await;
        }
        let text = if status == 200 { "" } else { "mock failure" };
        let retry_after = match retry_after {
            Some(value) if status != 200 => format!("Retry-After: {value}\r\n"),
            _ => String::new(),
        };
        let response = format!(
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n{retry_after}\r\n{text}",
            text.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

// ----- helpers ---------------------------------------------------------------------------

/// Polls `check` every 10 ms until it holds, for at most [`DEADLINE`].
async fn wait_for(what: &str, mut check: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        match check() {
            Ok(()) => return,
            Err(e) if Instant::now() > deadline => panic!("{what}: not within {DEADLINE:?}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

fn status_of(pusher: &Pusher, name: &str) -> EndpointStatus {
    pusher
        .status()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no endpoint {name}"))
}

/// A counter only this test touches.
fn marker(name: &str) -> Metric<Counter> {
    dynamic::counter(name)
        .help("A value the push fault tests look for.")
        .register()
        .expect("register the marker")
}

fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        ..RetryPolicy::default()
    }
}

fn remote_write_endpoint(name: &str, url: String, interval_ms: u64) -> EndpointConfig {
    let mut endpoint = EndpointConfig::remote_write(url).named(name);
    endpoint.interval = Duration::from_millis(interval_ms);
    endpoint.timeout = Duration::from_millis(500);
    endpoint.retry = fast_retry(2);
    endpoint.queue_size = 10_000;
    endpoint
}

/// `(timestamp, value)` of the series `name` in each remote-write body.
fn marker_samples(received: &[Received], name: &str) -> Vec<(i64, f64)> {
    received
        .iter()
        .map(|r| {
            let request = remote_write::decode(&r.body).expect("a remote-write body");
            let series = request
                .timeseries
                .iter()
                .find(|t| {
                    t.labels
                        .iter()
                        .any(|l| l.name == "__name__" && l.value == name)
                })
                .unwrap_or_else(|| panic!("no {name} in a batch"));
            (series.samples[0].timestamp, series.samples[0].value)
        })
        .collect()
}

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_millis(),
    )
    .expect("fits")
}

/// The longest gap between two deliveries from `from` on.
fn longest_gap(received: &[Received], from: Instant) -> Duration {
    let times: Vec<Instant> = received
        .iter()
        .map(|r| r.at)
        .filter(|t| *t >= from)
        .collect();
    times
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or(Duration::ZERO)
}

/// Checks that the batches `failing` delivered are in order, one per
/// timestamp, none lost, several from the outage, and the last one current.
fn check_nothing_lost(
    pusher: &Pusher,
    name: &str,
    failing: &Mock,
    counter: &str,
    outage: (i64, i64),
    last_value: f64,
) {
    let status = status_of(pusher, name);
    let samples = marker_samples(&failing.delivered(), counter);
    let mut timestamps: Vec<i64> = samples.iter().map(|s| s.0).collect();
    // A batch may arrive twice when an answer is lost to a timeout; never
    // out of order.
    timestamps.dedup();
    assert!(
        timestamps.windows(2).all(|w| w[0] < w[1]),
        "batches out of order: {timestamps:?}"
    );
    assert_eq!(status.dropped, 0, "{status:?}");
    assert_eq!(status.rejected, 0, "{status:?}");
    assert_eq!(
        status.payloads_queued,
        status.payloads_sent + status.queue_length as u64,
        "{status:?}"
    );
    assert_eq!(
        timestamps.len() as u64,
        status.payloads_sent,
        "every accepted batch has its own timestamp: {status:?}"
    );
    let during = timestamps
        .iter()
        .filter(|t| **t > outage.0 && **t < outage.1)
        .count();
    assert!(
        during >= 3,
        "only {during} batches from the outage {outage:?} arrived: {timestamps:?}"
    );
    assert_eq!(samples.last().map(|s| s.1), Some(last_value));
}

fn two_endpoints(failing: EndpointConfig, healthy: &Mock) -> Pusher {
    let config = PushConfig {
        endpoints: vec![
            failing,
            remote_write_endpoint("healthy", healthy.url("/api/v1/write"), 25),
        ],
        shutdown_timeout: Duration::from_secs(2),
    };
    push::start(config).expect("start the pusher")
}

// ----- the tests -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_write_through_a_hanging_endpoint_loses_nothing() {
    let counter = marker("push_faults_hang_total");
    let failing = Mock::start(Mode::Hang).await;
    let healthy = Mock::start(Mode::Ok).await;
    let mut endpoint = remote_write_endpoint("hanging", failing.url("/api/v1/write"), 25);
    endpoint.timeout = Duration::from_millis(800);
    let pusher = two_endpoints(endpoint, &healthy);
    let outage_start = now_ms();
    let fault_began = Instant::now();

    wait_for("two timeouts", || {
        let s = status_of(&pusher, "hanging");
        if s.failed_requests >= 2 && s.retries >= 1 {
            Ok(())
        } else {
            Err(format!("{s:?}"))
        }
    })
    .await;
    let s = status_of(&pusher, "hanging");
    assert!(
        s.last_error
            .as_deref()
            .is_some_and(|e| e.contains("no answer within 800ms")),
        "{s:?}"
    );
    assert!(s.consecutive_failures >= 2 && s.payloads_sent == 0, "{s:?}");
    assert!(s.queue_length >= 3, "{s:?}");
    // The healthy endpoint kept its 25 ms schedule while the other hung for
    // 800 ms per request.
    let gap = longest_gap(&healthy.delivered(), fault_began);
    assert!(
        gap < Duration::from_millis(500),
        "healthy endpoint stalled {gap:?}"
    );
    assert!(healthy.delivered_count() >= 10);

    counter.inc_by(7).unwrap();
    failing.set_mode(Mode::Ok);
    let outage_end = now_ms();
    wait_for("the backlog", || {
        let s = status_of(&pusher, "hanging");
        let last = marker_samples(&failing.delivered(), "push_faults_hang_total")
            .last()
            .map(|x| x.1);
        if s.queue_length == 0 && s.consecutive_failures == 0 && last == Some(7.0) {
            Ok(())
        } else {
            Err(format!("{s:?}, last value {last:?}"))
        }
    })
    .await;
    pusher.shutdown().await;
    check_nothing_lost(
        &pusher,
        "hanging",
        &failing,
        "push_faults_hang_total",
        (outage_start, outage_end),
        7.0,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_write_to_a_refusing_endpoint_delivers_once_it_listens() {
    let counter = marker("push_faults_refused_total");
    // A port nobody listens on, for now.
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    let healthy = Mock::start(Mode::Ok).await;
    let endpoint = remote_write_endpoint("refusing", format!("http://{addr}/api/v1/write"), 25);
    let pusher = two_endpoints(endpoint, &healthy);
    let outage_start = now_ms();
    let fault_began = Instant::now();

    wait_for("refusals", || {
        let s = status_of(&pusher, "refusing");
        if s.failed_requests >= 4
            && s.retries >= 2
            && s.queue_length >= 3
            && healthy.delivered_count() >= 5
        {
            Ok(())
        } else {
            Err(format!("{s:?}"))
        }
    })
    .await;
    let s = status_of(&pusher, "refusing");
    let error = s.last_error.clone().unwrap_or_default();
    assert!(
        error.to_lowercase().contains("refused") || error.contains("connect"),
        "{s:?}"
    );
    assert!(s.last_success_unix_seconds.is_none(), "{s:?}");
    let gap = longest_gap(&healthy.delivered(), fault_began);
    assert!(
        gap < Duration::from_millis(500),
        "healthy endpoint stalled {gap:?}"
    );

    counter.inc_by(3).unwrap();
    let failing = Mock::start_on(addr, Mode::Ok).await;
    let outage_end = now_ms();
    wait_for("the backlog", || {
        let s = status_of(&pusher, "refusing");
        let last = marker_samples(&failing.delivered(), "push_faults_refused_total")
            .last()
            .map(|x| x.1);
        if s.queue_length == 0 && last == Some(3.0) {
            Ok(())
        } else {
            Err(format!("{s:?}"))
        }
    })
    .await;
    pusher.shutdown().await;
    let s = status_of(&pusher, "refusing");
    assert!(s.last_success_unix_seconds.is_some(), "{s:?}");
    check_nothing_lost(
        &pusher,
        "refusing",
        &failing,
        "push_faults_refused_total",
        (outage_start, outage_end),
        3.0,
    );
    let first = &failing.delivered()[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.path, "/api/v1/write");
    assert_eq!(first.header("content-encoding"), Some("snappy"));
    assert_eq!(first.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(
        first.header("x-prometheus-remote-write-version"),
        Some("0.1.0")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_write_after_500s_delivers_every_batch_in_order() {
    let counter = marker("push_faults_500_total");
    let failing = Mock::start(Mode::Ok).await;
    failing.lock().fail_next = 12;
    let healthy = Mock::start(Mode::Ok).await;
    let endpoint = remote_write_endpoint("flaky", failing.url("/api/v1/write"), 25);
    let pusher = two_endpoints(endpoint, &healthy);
    let outage_start = now_ms();
    counter.inc_by(11).unwrap();

    wait_for("the 500s to pass and the backlog to drain", || {
        let s = status_of(&pusher, "flaky");
        if failing.lock().fail_next == 0 && s.queue_length == 0 && s.payloads_sent >= 4 {
            Ok(())
        } else {
            Err(format!("{s:?}"))
        }
    })
    .await;
    let outage_end = now_ms();
    pusher.flush().await;
    pusher.shutdown().await;
    let s = status_of(&pusher, "flaky");
    assert_eq!(s.failed_requests, 12, "{s:?}");
    assert!(s.retries >= 6, "{s:?}");
    assert!(
        s.last_error
            .as_deref()
            .is_some_and(|e| e.contains("500") && e.contains("mock failure")),
        "{s:?}"
    );
    assert_eq!(s.consecutive_failures, 0, "{s:?}");
    assert!(healthy.delivered_count() >= 3);
    check_nothing_lost(
        &pusher,
        "flaky",
        &failing,
        "push_faults_500_total",
        (outage_start - 1, outage_end),
        11.0,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_the_oldest_and_counts_them() {
    let _counter = marker("push_faults_queue_total");
    let failing = Mock::start(Mode::Status(503)).await;
    let mut endpoint = remote_write_endpoint("small", failing.url("/w"), 10);
    endpoint.queue_size = 3;
    endpoint.retry = fast_retry(1);
    let pusher = push::start(PushConfig {
        endpoints: vec![endpoint],
        ..PushConfig::default()
    })
    .expect("start");
    wait_for("drops", || {
        let s = status_of(&pusher, "small");
        if s.dropped >= 5 {
            Ok(())
        } else {
            Err(format!("{s:?}"))
        }
    })
    .await;
    let s = status_of(&pusher, "small");
    assert!(s.queue_length <= 3 && s.queue_capacity == 3, "{s:?}");
    failing.set_mode(Mode::Ok);
    wait_for("the queue to drain", || {
        let s = status_of(&pusher, "small");
        (s.queue_length == 0 && s.payloads_sent >= 3)
            .then_some(())
            .ok_or_else(|| format!("{s:?}"))
    })
    .await;
    pusher.shutdown().await;
    let s = status_of(&pusher, "small");
    assert_eq!(
        s.payloads_queued,
        s.payloads_sent + s.dropped,
        "every payload was sent or counted as dropped: {s:?}"
    );
    let samples = marker_samples(&failing.delivered(), "push_faults_queue_total");
    let mut timestamps: Vec<i64> = samples.iter().map(|x| x.0).collect();
    timestamps.dedup();
    assert!(timestamps.windows(2).all(|w| w[0] < w[1]), "{timestamps:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_payload_is_dropped_not_retried() {
    let failing = Mock::start(Mode::Status(400)).await;
    // An interval of an hour: no periodic push races the flush and the
    // status read below.
    let mut endpoint = remote_write_endpoint("strict", failing.url("/w"), 3_600_000);
    endpoint.retry = fast_retry(5);
    let pusher = push::start(PushConfig {
        endpoints: vec![endpoint],
        ..PushConfig::default()
    })
    .expect("start");
    let outcomes = pusher.flush().await;
    assert!(outcomes[0].delivered, "{outcomes:?}");
    let s = status_of(&pusher, "strict");
    assert!(s.rejected >= 1 && s.retries == 0, "{s:?}");
    assert_eq!(s.failed_requests, failing.requests(), "{s:?}");
    assert!(
        s.last_error.as_deref().is_some_and(|e| e.contains("400")),
        "{s:?}"
    );
    pusher.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushgateway_gets_the_latest_values_after_an_outage() {
    let counter = marker("push_faults_gateway_total");
    let failing = Mock::start(Mode::Status(500)).await;
    let healthy = Mock::start(Mode::Ok).await;
    let mut endpoint = EndpointConfig::pushgateway(failing.url(""), "batch/job").named("gateway");
    endpoint.interval = Duration::from_millis(25);
    endpoint.timeout = Duration::from_millis(500);
    endpoint.retry = fast_retry(3);
    endpoint.pushgateway.method = PushMethod::Post;
    endpoint
        .pushgateway
        .grouping
        .insert("instance".into(), "host/1".into());
    endpoint.pushgateway.delete_on_shutdown = true;
    let pusher = two_endpoints(endpoint, &healthy);
    wait_for("failures", || {
        let s = status_of(&pusher, "gateway");
        (s.failed_requests >= 6 && s.retries >= 4)
            .then_some(())
            .ok_or_else(|| format!("{s:?}"))
    })
    .await;
    let s = status_of(&pusher, "gateway");
    assert!(s.queue_length <= 1 && s.dropped == 0, "{s:?}");
    counter.inc_by(5).unwrap();
    counter.inc_by(37).unwrap();
    failing.set_mode(Mode::Ok);
    let expected = "push_faults_gateway_total 42\n";
    wait_for("the latest values", || {
        let delivered = failing.delivered();
        delivered
            .iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains(expected))
            .then_some(())
            .ok_or_else(|| format!("{} bodies", delivered.len()))
    })
    .await;
    pusher.shutdown().await;
    let delivered = failing.delivered();
    let push = &delivered[0];
    assert_eq!(push.method, "POST");
    assert_eq!(
        push.path,
        "/metrics/job@base64/YmF0Y2gvam9i/instance@base64/aG9zdC8x"
    );
    assert_eq!(
        push.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let last = delivered.last().expect("the delete");
    assert_eq!(
        (last.method.as_str(), last.path.as_str()),
        ("DELETE", push.path.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_while_an_endpoint_hangs_returns_within_its_deadline() {
    let failing = Mock::start(Mode::Hang).await;
    let healthy = Mock::start(Mode::Ok).await;
    let mut endpoint = remote_write_endpoint("hanging", failing.url("/w"), 25);
    endpoint.timeout = Duration::from_secs(30);
    let pusher = push::start(PushConfig {
        endpoints: vec![
            endpoint,
            remote_write_endpoint("healthy", healthy.url("/w"), 60_000),
        ],
        shutdown_timeout: Duration::from_millis(300),
    })
    .expect("start");
    wait_for("a hanging request", || {
        (failing.requests() >= 1 && healthy.delivered_count() >= 1)
            .then_some(())
            .ok_or_else(|| "no request yet".to_owned())
    })
    .await;
    let before = healthy.delivered_count();
    let started = Instant::now();
    pusher.shutdown().await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(1_500),
        "shutdown took {took:?} with a 300 ms deadline"
    );
    assert!(!pusher.is_running());
    assert_eq!(
        healthy.delivered_count(),
        before + 1,
        "the healthy endpoint got its final push"
    );
    let again = Instant::now();
    pusher.shutdown().await;
    assert!(again.elapsed() < Duration::from_millis(100), "idempotent");
    let after = healthy.delivered_count();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        healthy.delivered_count(),
        after,
        "nothing runs after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_in_the_url_query_reaches_the_endpoint_and_nothing_else() {
    // The first request is refused, so that the error names the request.
    let failing = Mock::start(Mode::Ok).await;
    {
        let mut state = failing.lock();
        state.fail_next = 1;
        state.fail_status = 400;
    }
    // Unnamed: reports name it by its URL.
    let mut endpoint = remote_write_endpoint("", failing.url("/w?api_key=k3y&region=eu"), 60_000);
    endpoint.retry = fast_retry(1);
    let config = PushConfig {
        endpoints: vec![endpoint],
        ..PushConfig::default()
    };
    let config_debug = format!("{config:?}");
    let pusher = push::start(config).expect("start");
    pusher.flush().await;
    assert!(failing.requests() >= 1);
    let status = pusher.status().remove(0);
    let shown = failing.url("/w?api_key=***&region=***");
    assert_eq!((&status.name, &status.url), (&shown, &shown));
    assert_eq!(status.request_url, shown);
    let error = status.last_error.clone().unwrap_or_default();
    assert!(
        error.contains("/w?api_key=***") && error.contains("400"),
        "{error}"
    );
    let text = telltale::render(telltale::Format::Prometheus);
    let json = serde_json::to_string(&pusher.status()).expect("serialize");
    for shown in [config_debug, format!("{pusher:?}"), json, text] {
        assert!(!shown.contains("k3y"), "{shown}");
    }
    // The next push is accepted, at the URL as given.
    let outcomes = pusher.flush().await;
    assert!(outcomes.iter().all(|o| o.delivered), "{outcomes:?}");
    let delivered = failing.delivered();
    assert_eq!(delivered[0].path, "/w?api_key=k3y&region=eu");
    pusher.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_s_series_exist_at_zero_before_it_pushes() {
    let mock = Mock::start(Mode::Ok).await;
    let pusher = push::start(PushConfig {
        endpoints: vec![remote_write_endpoint("quiet", mock.url("/w"), 3_600_000)],
        ..PushConfig::default()
    })
    .expect("start");
    let text = telltale::render(telltale::Format::Prometheus);
    for series in [
        "telltale_push_sent_total",
        "telltale_push_failed_total",
        "telltale_push_retries_total",
        "telltale_push_dropped_total",
        "telltale_push_queue_length",
    ] {
        let line = format!("{series}{{endpoint=\"quiet\"}} 0\n");
        assert!(text.contains(&line), "no {line:?} in {text}");
    }
    pusher.shutdown().await;
    // A stopped endpoint's series leave the exposition, as they do when
    // its pusher is dropped.
    let text = telltale::render(telltale::Format::Prometheus);
    assert!(!text.contains("endpoint=\"quiet\""), "{text}");
    let dropped = push::start(PushConfig {
        endpoints: vec![remote_write_endpoint("dropped", mock.url("/w"), 3_600_000)],
        ..PushConfig::default()
    })
    .expect("start");
    let text = telltale::render(telltale::Format::Prometheus);
    assert!(
        text.contains("telltale_push_sent_total{endpoint=\"dropped\"} 0\n"),
        "{text}"
    );
    drop(dropped);
    let text = telltale::render(telltale::Format::Prometheus);
    assert!(!text.contains("endpoint=\"dropped\""), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_reach_the_endpoint_and_status_serializes() {
    let mock = Mock::start(Mode::Ok).await;
    let mut endpoint = remote_write_endpoint("auth", mock.url("/w"), 60_000);
    endpoint
        .headers
        .insert("Authorization".into(), "Bearer s3cret".into());
    let endpoint_debug = format!(
        "{:?}",
        PushConfig {
            endpoints: vec![endpoint.clone()],
            ..PushConfig::default()
        }
    );
    let pusher = push::start(PushConfig {
        endpoints: vec![endpoint],
        ..PushConfig::default()
    })
    .expect("start");
    let outcomes = pusher.flush().await;
    assert!(outcomes.iter().all(|o| o.delivered), "{outcomes:?}");
    let delivered = mock.delivered();
    assert!(delivered
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer s3cret")));
    // Debug output (logs, panics) never shows the credentials.
    for debug in [
        format!("{pusher:?}"),
        format!("{pusher:#?}"),
        endpoint_debug,
    ] {
        assert!(!debug.contains("s3cret"), "{debug}");
    }
    assert!(format!("{pusher:?}").contains("authorization"));
    assert!(delivered.iter().all(|r| r
        .header("user-agent")
        .is_some_and(|u| u.starts_with("telltale/"))));
    let json = serde_json::to_value(pusher.status()).expect("serialize");
    assert_eq!(json[0]["name"], "auth");
    // Every field the dashboard page shows of an exporter is one the status has.
    for field in telltale_tests::dashboard_fields("EXPORTER_COLUMNS") {
        assert!(json[0].get(&field).is_some(), "no {field:?} in {}", json[0]);
    }
    assert_eq!(json[0]["protocol"], "remote_write");
    assert!(json[0]["payloads_sent"].as_u64().unwrap() >= 1);
    // The self-metrics count the same.
    let text = telltale::render(telltale::Format::Prometheus);
    assert!(
        text.lines()
            .any(|l| l.starts_with("telltale_push_sent_total{endpoint=\"auth\"}")),
        "{text}"
    );
    pusher.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_starts_reports_and_flushes_its_exporters() {
    use telltale::system::{System, SystemConfig};

    let mock = Mock::start(Mode::Ok).await;
    let exporters = PushConfig {
        endpoints: vec![remote_write_endpoint("central", mock.url("/w"), 60_000)],
        shutdown_timeout: Duration::from_secs(2),
    };
    let config = SystemConfig {
        resources: None,
        exporters: Some(exporters),
        ..SystemConfig::default()
    };

    // Outside a tokio runtime the exporters cannot run: an error, not a panic.
    let outside = config.clone();
    std::thread::spawn(move || {
        let err = System::try_start(outside.clone()).unwrap_err().to_string();
        assert!(err.contains("tokio runtime"), "{err}");
        let system = System::start(outside);
        let recorded = system.exporters_error().unwrap_or_default();
        assert!(recorded.contains("tokio runtime"), "{recorded}");
        assert_eq!(
            system.overview().exporters_error.as_deref(),
            Some(recorded.as_str())
        );
        // Other tests' pushers may be listed; this system has none.
        assert!(system.exporters().iter().all(|e| e.name != "central"));
        system.shutdown();
    })
    .join()
    .expect("the system outside a runtime");

    let system = System::start(config);
    assert!(system.exporters_error().is_none());
    wait_for("the first push", || {
        (mock.delivered_count() >= 1)
            .then_some(())
            .ok_or_else(|| "nothing yet".to_owned())
    })
    .await;
    wait_for("the status", || {
        let overview = system.overview();
        // Its own come first; other tests' running pushers after them.
        match overview.exporters.as_slice() {
            [one, ..] if one.name == "central" && one.payloads_sent >= 1 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let json = serde_json::to_value(system.overview()).expect("serialize");
    assert_eq!(json["exporters"][0]["name"], "central", "{json}");
    let before = mock.delivered_count();
    system.shutdown_and_flush().await;
    assert_eq!(
        mock.delivered_count(),
        before + 1,
        "the last push was waited for"
    );
    assert!(!system.is_running());
    assert!(!system.pusher().expect("a pusher").is_running());
    assert_eq!(system.exporters()[0].payloads_sent, before as u64 + 1);
    system.shutdown();
    system.shutdown_and_flush().await;
    assert_eq!(mock.delivered_count(), before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_after_503s_delivers_every_batch_with_the_latest_values() {
    let counter = marker("push_faults_otlp_total");
    let failing = Mock::start(Mode::Ok).await;
    {
        // 503, which OTLP retries (not 500, which it must not).
        let mut state = failing.lock();
        state.fail_next = 6;
        state.fail_status = 503;
    }
    let healthy = Mock::start(Mode::Ok).await;
    let mut endpoint = EndpointConfig::otlp(failing.url("")).named("otlp");
    endpoint.interval = Duration::from_millis(25);
    endpoint.timeout = Duration::from_millis(500);
    endpoint.retry = fast_retry(2);
    endpoint
        .otlp
        .resource_attributes
        .insert("service.name".into(), "push-faults".into());
    let pusher = two_endpoints(endpoint, &healthy);
    counter.inc_by(42).unwrap();
    wait_for("the 500s to pass and the backlog to drain", || {
        let s = status_of(&pusher, "otlp");
        if failing.lock().fail_next == 0 && s.queue_length == 0 && s.payloads_sent >= 3 {
            Ok(())
        } else {
            Err(format!("{s:?}"))
        }
    })
    .await;
    pusher.shutdown().await;
    let s = status_of(&pusher, "otlp");
    assert_eq!((s.failed_requests, s.retries), (6, 3), "{s:?}");
    assert_eq!((s.dropped, s.rejected, s.queue_length), (0, 0, 0), "{s:?}");
    assert_eq!(s.payloads_queued, s.payloads_sent, "{s:?}");
    let delivered = failing.delivered();
    assert!(delivered.len() as u64 >= s.payloads_sent, "{s:?}");
    let first = &delivered[0];
    assert_eq!(
        (first.method.as_str(), first.path.as_str()),
        ("POST", "/v1/metrics")
    );
    assert_eq!(first.header("content-type"), Some("application/x-protobuf"));
    // The protobuf holds the metric's name, the resource attribute, and the
    // counter's value as a little-endian double.
    let last = &delivered.last().expect("a body").body;
    let contains = |needle: &[u8]| last.windows(needle.len()).any(|w| w == needle);
    assert!(contains(b"push_faults_otlp"));
    assert!(contains(b"push-faults"));
    assert!(contains(&42.0_f64.to_le_bytes()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_endpoint_does_not_keep_the_gateway_group_from_being_deleted() {
    let hanging = Mock::start(Mode::Hang).await;
    let gateway = Mock::start(Mode::Ok).await;
    let mut stuck = remote_write_endpoint("hanging", hanging.url("/w"), 60_000);
    stuck.timeout = Duration::from_secs(30);
    let mut group = EndpointConfig::pushgateway(gateway.url(""), "nightly").named("gateway");
    group.interval = Duration::from_mins(1);
    group.timeout = Duration::from_secs(5);
    group.pushgateway.delete_on_shutdown = true;
    let pusher = push::start(PushConfig {
        // The hanging endpoint first: it used to eat the whole deadline
        // before the gateway's turn came.
        endpoints: vec![stuck, group],
        shutdown_timeout: Duration::from_millis(600),
    })
    .expect("start");
    wait_for("a hanging request and the first push", || {
        (hanging.requests() >= 1 && gateway.delivered_count() >= 1)
            .then_some(())
            .ok_or_else(|| "not yet".to_owned())
    })
    .await;
    let started = Instant::now();
    pusher.shutdown().await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "shutdown took {took:?} with a 600 ms deadline"
    );
    let methods: Vec<String> = gateway
        .delivered()
        .iter()
        .map(|r| r.method.clone())
        .collect();
    assert_eq!(
        methods.last().map(String::as_str),
        Some("DELETE"),
        "{methods:?}"
    );
    assert!(
        methods.len() >= 3,
        "the first push, the last one, then the delete: {methods:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_does_not_retry_a_500_but_remote_write_does() {
    let otlp_mock = Mock::start(Mode::Status(500)).await;
    let rw_mock = Mock::start(Mode::Status(500)).await;
    let mut otlp = EndpointConfig::otlp(otlp_mock.url("")).named("otlp");
    otlp.interval = Duration::from_mins(1);
    otlp.retry = fast_retry(4);
    let mut rw = remote_write_endpoint("rw", rw_mock.url("/w"), 60_000);
    rw.retry = fast_retry(4);
    let pusher = push::start(PushConfig {
        endpoints: vec![otlp, rw],
        ..PushConfig::default()
    })
    .expect("start");
    let outcomes = pusher.flush().await;
    // OTLP: refused for good, dropped and counted; nothing retried.
    assert!(outcomes[0].delivered, "{outcomes:?}");
    let s = status_of(&pusher, "otlp");
    assert!(s.rejected >= 1 && s.retries == 0, "{s:?}");
    assert_eq!(s.queue_length, 0, "{s:?}");
    assert_eq!(s.failed_requests, otlp_mock.requests(), "{s:?}");
    // Remote-write: retried up to the policy, kept queued.
    assert!(!outcomes[1].delivered, "{outcomes:?}");
    let s = status_of(&pusher, "rw");
    assert!(s.retries >= 3 && s.rejected == 0, "{s:?}");
    assert!(s.queue_length >= 1, "{s:?}");
    pusher.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_waits_as_long_as_retry_after_asks() {
    let mock = Mock::start(Mode::Ok).await;
    {
        let mut state = mock.lock();
        state.fail_next = 1;
        state.fail_status = 503;
        state.retry_after = Some("1");
    }
    let mut endpoint = EndpointConfig::otlp(mock.url("")).named("otlp");
    endpoint.interval = Duration::from_mins(1);
    endpoint.timeout = Duration::from_secs(5);
    endpoint.retry = RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_secs(5),
        ..RetryPolicy::default()
    };
    let pusher = push::start(PushConfig {
        endpoints: vec![endpoint],
        ..PushConfig::default()
    })
    .expect("start");
    wait_for("the retry to be delivered", || {
        let s = status_of(&pusher, "otlp");
        (s.payloads_sent >= 1)
            .then_some(())
            .ok_or_else(|| format!("{s:?}"))
    })
    .await;
    let times = mock.request_times();
    assert!(times.len() >= 2, "{times:?}");
    let gap = times[1] - times[0];
    assert!(
        gap >= Duration::from_millis(950),
        "retried after {gap:?}, though the endpoint asked for 1 s"
    );
    let s = status_of(&pusher, "otlp");
    assert_eq!(
        (s.retries, s.failed_requests, s.rejected),
        (1, 1, 0),
        "{s:?}"
    );
    pusher.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pusher_started_directly_is_listed_with_the_system_s_exporters() {
    use telltale::system::{System, SystemConfig};

    let mock = Mock::start(Mode::Ok).await;
    let system = System::start(SystemConfig {
        resources: None,
        exporters: Some(PushConfig {
            endpoints: vec![remote_write_endpoint(
                "listed_own",
                mock.url("/w"),
                3_600_000,
            )],
            ..PushConfig::default()
        }),
        ..SystemConfig::default()
    });
    let direct = push::start(PushConfig {
        endpoints: vec![remote_write_endpoint(
            "listed_direct",
            mock.url("/d"),
            3_600_000,
        )],
        ..PushConfig::default()
    })
    .expect("start");
    assert!(push::running().iter().any(|p| p.same(&direct)));
    let names = |system: &System| -> Vec<String> {
        system
            .exporters()
            .into_iter()
            .map(|e| e.name)
            .filter(|n| n.starts_with("listed_"))
            .collect()
    };
    // The system's own first, then the direct one; on the overview (the
    // dashboard's data) too.
    assert_eq!(names(&system), ["listed_own", "listed_direct"]);
    let overview = serde_json::to_value(system.overview()).expect("serialize");
    assert!(
        overview["exporters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "listed_direct"),
        "{overview}"
    );
    // A stopped pusher is no longer listed.
    direct.shutdown().await;
    assert!(!push::running().iter().any(|p| p.same(&direct)));
    assert_eq!(names(&system), ["listed_own"]);
    system.shutdown_and_flush().await;
}
