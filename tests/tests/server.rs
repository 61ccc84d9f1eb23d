//! The metrics server over real sockets: a tiny HTTP/1.1 client writes raw
//! requests on a `TcpStream` and reads the raw responses.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use telltale::server::{self, Config, Server};
use telltale::{Counter, Format};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

static SCRAPED: Counter = Counter::new(
    "server_test_marker_total",
    "A counter the server tests look for.",
);

/// Prometheus 2.x's `Accept` header.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

#[derive(Debug)]
struct Response {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

fn config_on_any_port() -> Config {
    Config {
        port: 0,
        ..Config::default()
    }
}

async fn start() -> Server {
    SCRAPED.inc();
    server::start(config_on_any_port())
        .await
        .expect("server starts")
}

fn addr(server: &Server) -> SocketAddr {
    server.local_addr().expect("enabled server has an address")
}

/// Sends `request` on a new connection and reads the response until the
/// server closes it (requests ask for `Connection: close`).
async fn exchange(addr: SocketAddr, request: &str) -> Response {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("response within 10 s")
        .expect("read");
    parse(&raw)
}

fn parse(raw: &[u8]) -> Response {
    let text = String::from_utf8(raw.to_vec()).expect("UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("header end");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("header line");
            (name.trim().to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    Response {
        status,
        headers,
        body: body.to_owned(),
    }
}

async fn get(addr: SocketAddr, path: &str, accept: Option<&str>) -> Response {
    let accept = accept.map_or(String::new(), |a| format!("Accept: {a}\r\n"));
    exchange(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{accept}Connection: close\r\n\r\n"),
    )
    .await
}

async fn is_refused(addr: SocketAddr) -> bool {
    TcpStream::connect(addr).await.is_err()
}

#[tokio::test]
async fn serves_prometheus_text_by_default() {
    let server = start().await;
    let addr = addr(&server);
    assert_ne!(addr.port(), 0);
    assert!(server.is_running());
    assert_eq!(
        server.url(),
        Some(format!("http://127.0.0.1:{}/metrics", addr.port()).as_str())
    );

    for accept in [
        None,
        Some("text/plain"),
        Some("*/*"),
        Some("text/html,*/*;q=0.8"),
    ] {
        let response = get(addr, "/metrics", accept).await;
        assert_eq!(response.status, 200, "{accept:?}");
        assert_eq!(
            response.header("content-type"),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        assert_eq!(
            response.header("content-length"),
            Some(response.body.len().to_string().as_str())
        );
        assert!(response.body.ends_with('\n'));
        assert!(!response.body.contains("# EOF"));
        assert!(
            response
                .body
                .contains("# TYPE server_test_marker_total counter\n"),
            "{}",
            response.body
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn serves_openmetrics_when_asked() {
    let server = start().await;
    for accept in [
        PROMETHEUS_ACCEPT,
        "application/openmetrics-text",
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
    ] {
        let response = get(addr(&server), "/metrics", Some(accept)).await;
        assert_eq!(response.status, 200);
        assert_eq!(
            response.header("content-type"),
            Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
        );
        assert_eq!(response.header("vary"), Some("Accept"));
        assert!(response.body.ends_with("# EOF\n"), "{}", response.body);
        assert!(response
            .body
            .contains("# TYPE server_test_marker counter\n"));
        assert!(response.body.contains("\nserver_test_marker_total "));
    }
    server.stop().await;
}

#[tokio::test]
async fn body_is_what_render_returns() {
    let server = start().await;
    let response = get(addr(&server), "/metrics", None).await;
    let rendered = telltale::render(Format::Prometheus);
    // Both list the same families, in the same order.
    let types = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("# TYPE "))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(types(&response.body), types(&rendered));
    server.stop().await;
}

#[tokio::test]
async fn head_sends_headers_only() {
    let server = start().await;
    let addr = addr(&server);
    let full = get(addr, "/metrics", None).await;
    let head = exchange(
        addr,
        &format!("HEAD /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), full.header("content-type"));
    let length: usize = head.header("content-length").unwrap().parse().unwrap();
    assert!(length > 0);
    assert_eq!(head.body, "", "HEAD response has no body");
    server.stop().await;
}

#[tokio::test]
async fn unknown_paths_are_404_and_other_methods_405() {
    let server = start().await;
    let addr = addr(&server);
    for path in ["/", "/metric", "/metrics/", "/metrics/x", "/health"] {
        let response = get(addr, path, None).await;
        assert_eq!(response.status, 404, "{path}");
    }
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let response = exchange(
            addr,
            &format!(
                "{method} /metrics HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            ),
        )
        .await;
        assert_eq!(response.status, 405, "{method}");
        assert_eq!(response.header("allow"), Some("GET, HEAD"));
    }
    // A query string does not change the path.
    assert_eq!(get(addr, "/metrics?debug=1", None).await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn keep_alive_serves_several_requests_on_one_connection() {
    let server = start().await;
    let addr = addr(&server);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let last = format!("GET /nope HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(format!("{request}{request}{last}").as_bytes())
        .await
        .unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    assert_eq!(text.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{text}");
    assert_eq!(text.matches("HTTP/1.1 404 Not Found\r\n").count(), 1);
    server.stop().await;
}

#[tokio::test]
async fn custom_path_and_host() {
    let server = server::start(Config {
        host: "localhost".to_owned(),
        path: "/custom/metrics".to_owned(),
        ..config_on_any_port()
    })
    .await
    .unwrap();
    let addr = addr(&server);
    assert_eq!(
        server.url(),
        Some(format!("http://localhost:{}/custom/metrics", addr.port()).as_str())
    );
    assert_eq!(get(addr, "/custom/metrics", None).await.status, 200);
    assert_eq!(get(addr, "/metrics", None).await.status, 404);
    server.stop().await;
}

#[tokio::test]
async fn a_path_without_leading_slash_is_a_config_error() {
    let error = server::start(Config {
        path: "metrics".to_owned(),
        ..config_on_any_port()
    })
    .await
    .unwrap_err();
    assert!(matches!(error, telltale::Error::Config(_)), "{error:?}");
    assert!(error.to_string().contains("\"metrics\""), "{error}");
}

#[tokio::test]
async fn a_taken_port_is_an_error_naming_the_address() {
    let holder = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = holder.local_addr().unwrap().port();
    let error = server::start(Config {
        port,
        ..Config::default()
    })
    .await
    .unwrap_err();
    let message = error.to_string();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    match &error {
        telltale::Error::Bind { addr, source } => {
            assert_eq!(addr, &format!("127.0.0.1:{port}"));
            assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse);
        }
        other => panic!("expected Error::Bind, got {other:?}"),
    }
    assert!(std::error::Error::source(&error).is_some());

    // Same when the port is held by another telltale server.
    let first = start().await;
    let taken = addr(&first).port();
    let error = server::start(Config {
        port: taken,
        ..Config::default()
    })
    .await
    .unwrap_err();
    assert!(error.to_string().contains(&format!("127.0.0.1:{taken}")));
    first.stop().await;
}

#[tokio::test]
async fn stop_frees_the_port_and_is_idempotent() {
    let server = start().await;
    let addr = addr(&server);
    assert_eq!(get(addr, "/metrics", None).await.status, 200);
    server.stop().await;
    assert!(!server.is_running());
    assert!(is_refused(addr).await, "nothing listens after stop");
    server.stop().await;
    server.stop().await;
    // The port can be bound again at once.
    let again = server::start(Config {
        port: addr.port(),
        ..Config::default()
    })
    .await
    .expect("port is free after stop");
    assert_eq!(get(addr, "/metrics", None).await.status, 200);
    // Concurrent stops both return.
    tokio::join!(again.stop(), again.stop());
    assert!(is_refused(addr).await);
}

#[tokio::test]
async fn stop_closes_idle_keep_alive_connections_promptly() {
    let server = start().await;
    let addr = addr(&server);
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = vec![0; 64 * 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(n > 0);
    let started = Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stop waited {:?} for an idle connection",
        started.elapsed()
    );
    // The idle connection was closed by the server (read the rest of the
    // first response, if any, then end of stream).
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut rest))
        .await
        .expect("server closed the idle connection")
        .ok();
}

#[tokio::test]
async fn stop_lets_a_request_in_flight_finish() {
    let server = start().await;
    let addr = addr(&server);
    // A request whose headers are not finished yet.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\n").as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let stopping = {
        let server = &server;
        async move { server.stop().await }
    };
    let finish = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Stopping: the listener is closed, but this request still runs.
        assert!(is_refused(addr).await, "no new connections while stopping");
        assert!(!server.is_running());
        stream.write_all(b"\r\n").await.unwrap();
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
            .await
            .expect("response")
            .unwrap();
        parse(&raw)
    };
    let started = Instant::now();
    let ((), response) = tokio::join!(stopping, finish);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(response.status, 200);
    assert!(response.body.contains("server_test_marker_total"));
    assert_eq!(response.header("connection"), Some("close"));
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let server = start().await;
    let addr = addr(&server);
    drop(server);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !is_refused(addr).await {
        assert!(
            Instant::now() < deadline,
            "server still listening after drop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_detached_server_keeps_serving() {
    let server = start().await;
    let addr = addr(&server);
    server.detach();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(get(addr, "/metrics", None).await.status, 200);
}

#[tokio::test]
async fn disabled_server_binds_nothing() {
    // Find a free port, then ask a disabled server for it.
    let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let server = server::start(Config {
        port,
        enabled: false,
        ..Config::default()
    })
    .await
    .expect("a disabled server always starts");
    assert_eq!(server.local_addr(), None);
    assert_eq!(server.url(), None);
    assert!(!server.is_running());
    assert!(is_refused(SocketAddr::from(([127, 0, 0, 1], port))).await);
    // The port is still free for someone else.
    let _taken = TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("port unused");
    server.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn default_config_is_loopback_9464_metrics_enabled() {
    let config = Config::default();
    assert_eq!(config.host, "127.0.0.1");
    assert_eq!(config.port, 9464);
    assert_eq!(config.path, "/metrics");
    assert!(config.enabled);
}

#[test]
fn runs_on_a_current_thread_runtime() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = start().await;
        let response = get(addr(&server), "/metrics", Some(PROMETHEUS_ACCEPT)).await;
        assert_eq!(response.status, 200);
        assert!(response.body.ends_with("# EOF\n"));
        server.stop().await;
    });
}
