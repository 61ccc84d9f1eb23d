//! The metrics server over real sockets: a tiny HTTP/1.1 client writes raw
//! requests on a `TcpStream` and reads the raw responses.
//!
//! Also: gzip (decompressed by the system's `gzip`, an implementation
//! independent of the server's), the JSON and CSV paths and the `format`
//! parameter, `/health`, bearer and basic credentials, the header and idle
//! timeouts, the connection cap, and configuration from TOML text, TOML files
//! and environment variables.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use telltale::config::{self as telltale_config, Env};
use telltale::server::{self, BasicAuth, Server, ServerConfig};
use telltale::{Counter, Format};
use telltale_tests::{run_with_stdin, TempDir};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

static SCRAPED: Counter = Counter::new(
    "server_test_marker_total",
    "A counter the server tests look for.",
);

/// A counter no test changes after its first use: 42.
static FIXED: Counter = Counter::new("server_test_fixed_total", "A counter that stays at 42.");

/// Prometheus 2.x's `Accept` header.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

#[derive(Debug)]
struct Response {
    status: u16,
    headers: HashMap<String, String>,
    /// The body as sent (compressed, when it was).
    raw: Vec<u8>,
    /// The body as text (lossy), for uncompressed responses.
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The body, gunzipped by the system's `gzip -dc`.
    fn gunzipped(&self) -> String {
        let output = run_with_stdin(
            std::path::Path::new("gzip"),
            &["-dc".as_ref()],
            &self.raw,
            Duration::from_secs(30),
        );
        assert!(
            output.status.success(),
            "gzip -dc failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8 exposition")
    }
}

fn config_on_any_port() -> ServerConfig {
    ServerConfig {
        port: 0,
        ..ServerConfig::default()
    }
}

async fn start() -> Server {
    start_with(config_on_any_port()).await
}

async fn start_with(config: ServerConfig) -> Server {
    static FIX: std::sync::Once = std::sync::Once::new();
    SCRAPED.inc();
    FIX.call_once(|| FIXED.inc_by(42));
    server::start(config).await.expect("server starts")
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
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..end]).expect("UTF-8 head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: HashMap<String, String> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("header line");
            (name.trim().to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if let Some(length) = headers.get("content-length") {
        body.truncate(length.parse().expect("numeric Content-Length"));
    }
    Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        raw: body,
    }
}

/// `GET path` with extra header lines (`"Name: value"`).
async fn get_with(addr: SocketAddr, path: &str, headers: &[&str]) -> Response {
    let mut extra = String::new();
    for header in headers {
        extra.push_str(header);
        extra.push_str("\r\n");
    }
    exchange(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n"),
    )
    .await
}

async fn get(addr: SocketAddr, path: &str, accept: Option<&str>) -> Response {
    match accept {
        Some(accept) => get_with(addr, path, &[&format!("Accept: {accept}")]).await,
        None => get_with(addr, path, &[]).await,
    }
}

/// Reads one response from a keep-alive connection: the head, then
/// `Content-Length` bytes.
async fn read_response(stream: &mut TcpStream) -> Response {
    let mut raw = Vec::new();
    let mut buf = [0_u8; 16 * 1024];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let response = parse(&raw);
            let length: usize = response
                .header("content-length")
                .map_or(0, |l| l.parse().unwrap());
            if raw.len() >= end + 4 + length {
                return response;
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let n = tokio::time::timeout(left, stream.read(&mut buf))
            .await
            .expect("response within 10 s")
            .expect("read");
        assert!(n > 0, "connection closed mid-response: {raw:?}");
        raw.extend_from_slice(&buf[..n]);
    }
}

/// `GET /health` on a kept-alive connection: writes the request, reads one
/// response.
async fn get_health_on(stream: &mut TcpStream) -> Response {
    let addr = stream.peer_addr().expect("peer address");
    stream
        .write_all(format!("GET /health HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .expect("write");
    Box::pin(read_response(stream)).await
}

/// Waits until the server closes `stream` (end of stream or reset); returns
/// how long that took. Fails after `limit`.
async fn time_until_closed(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0_u8; 4096];
    loop {
        match tokio::time::timeout(limit, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
            Err(elapsed) => panic!("the server kept the connection open for {limit:?} ({elapsed})"),
        }
    }
}

/// The value of the sample line `series` (name and labels as written) in
/// a Prometheus text exposition, or 0 when absent.
fn sample(exposition: &str, series: &str) -> f64 {
    exposition
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| {
            value.split(' ').next().unwrap().parse().unwrap()
        })
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
        Some(format!("http://127.0.0.1:{}/metrics", addr.port()))
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
        assert_eq!(response.header("vary"), Some("Accept, Accept-Encoding"));
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
    for path in [
        "/",
        "/metric",
        "/metrics/",
        "/metrics/x",
        "/healthz",
        "/metrics.xml",
    ] {
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
    let server = server::start(ServerConfig {
        host: "localhost".to_owned(),
        path: "/custom/metrics".to_owned(),
        ..config_on_any_port()
    })
    .await
    .unwrap();
    let addr = addr(&server);
    assert_eq!(
        server.url(),
        Some(format!("http://localhost:{}/custom/metrics", addr.port()))
    );
    assert_eq!(get(addr, "/custom/metrics", None).await.status, 200);
    assert_eq!(get(addr, "/metrics", None).await.status, 404);
    server.stop().await;
}

#[tokio::test]
async fn a_path_without_leading_slash_is_a_config_error() {
    let error = server::start(ServerConfig {
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
    let error = server::start(ServerConfig {
        port,
        ..ServerConfig::default()
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
    let error = server::start(ServerConfig {
        port: taken,
        ..ServerConfig::default()
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
    let again = server::start(ServerConfig {
        port: addr.port(),
        ..ServerConfig::default()
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
    let server = server::start(ServerConfig {
        port,
        enabled: false,
        ..ServerConfig::default()
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
    let config = ServerConfig::default();
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

// ----- gzip ------------------------------------------------------------------

#[tokio::test]
async fn gzip_body_decompresses_to_the_same_exposition() {
    let server = start().await;
    let addr = addr(&server);
    for (accept, format) in [
        (None, Format::Prometheus),
        (Some(PROMETHEUS_ACCEPT), Format::OpenMetrics),
        (Some("application/json"), Format::Json),
        (Some("text/csv"), Format::Csv),
    ] {
        let accept_line = accept.map(|a| format!("Accept: {a}"));
        let mut headers: Vec<&str> = accept_line.iter().map(String::as_str).collect();
        let plain = get_with(addr, "/metrics", &headers).await;
        headers.push("Accept-Encoding: gzip, deflate");
        let zipped = get_with(addr, "/metrics", &headers).await;
        assert_eq!(zipped.status, 200);
        assert_eq!(
            zipped.header("content-encoding"),
            Some("gzip"),
            "{format:?}"
        );
        assert_eq!(plain.header("content-encoding"), None);
        assert_eq!(zipped.header("vary"), Some("Accept, Accept-Encoding"));
        assert_eq!(zipped.header("content-type"), Some(format.content_type()));
        assert_eq!(
            zipped.header("content-length"),
            Some(zipped.raw.len().to_string().as_str())
        );
        assert_eq!(&zipped.raw[..2], &[0x1f, 0x8b], "gzip magic");
        let text = zipped.gunzipped();
        assert!(
            text.len() > zipped.raw.len() * 2,
            "{format:?}: {} bytes compressed to {}",
            text.len(),
            zipped.raw.len()
        );
        // Other tests scrape and count at the same time, so compare what
        // does not move: the families, and a counter nobody changes.
        let lines_of = |text: &str, prefix: &str| -> Vec<String> {
            text.lines()
                .filter(|l| l.starts_with(prefix))
                .map(str::to_owned)
                .collect()
        };
        match format {
            Format::Prometheus | Format::OpenMetrics => {
                assert_eq!(lines_of(&text, "# TYPE "), lines_of(&plain.body, "# TYPE "));
                assert_eq!(
                    lines_of(&text, "server_test_fixed_total "),
                    lines_of(&plain.body, "server_test_fixed_total ")
                );
                assert!((sample(&text, "server_test_fixed_total") - 42.0).abs() < f64::EPSILON);
                if format == Format::OpenMetrics {
                    assert!(text.ends_with("# EOF\n"));
                }
            }
            Format::Json => {
                let names = |text: &str| -> Vec<String> {
                    let json: serde_json::Value = serde_json::from_str(text).unwrap();
                    json["families"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|f| f["name"].as_str().unwrap().to_owned())
                        .collect()
                };
                assert_eq!(names(&text), names(&plain.body));
                assert!(names(&text).contains(&"server_test_fixed".to_owned()));
            }
            _ => {
                assert_eq!(
                    text.lines().next(),
                    plain.body.lines().next(),
                    "same header row"
                );
                assert!(text.contains(",server_test_fixed,counter,"), "{text}");
            }
        }
    }

    // The scrape counted itself, with its format and encoding.
    let text = get_with(addr, "/metrics", &["Accept-Encoding: gzip"])
        .await
        .gunzipped();
    let gzip_scrapes = sample(
        &text,
        r#"telltale_server_scrapes_total{format="prometheus",encoding="gzip"}"#,
    );
    assert!(gzip_scrapes >= 2.0, "{gzip_scrapes}\n{text}");
    assert!(
        sample(
            &text,
            r#"telltale_server_scrapes_total{format="openmetrics",encoding="gzip"}"#
        ) >= 1.0
    );
    server.stop().await;
}

#[tokio::test]
async fn gzip_only_when_accepted_and_enabled() {
    let server = start().await;
    let addr = addr(&server);
    for (value, gzip) in [
        ("gzip;q=0", false),
        ("identity", false),
        ("br, deflate", false),
        ("*", true),
        ("GZIP;q=0.1", true),
        ("x-gzip", true),
        ("gzip;q=0, *", false),
    ] {
        let response = get_with(addr, "/metrics", &[&format!("Accept-Encoding: {value}")]).await;
        assert_eq!(response.status, 200);
        assert_eq!(
            response.header("content-encoding").is_some(),
            gzip,
            "Accept-Encoding: {value}"
        );
    }
    // HEAD: the headers of the compressed response, no body.
    let head = exchange(
        addr,
        &format!("HEAD /metrics HTTP/1.1\r\nHost: {addr}\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-encoding"), Some("gzip"));
    assert!(head.raw.is_empty());
    server.stop().await;

    let off = start_with(ServerConfig {
        gzip: false,
        ..config_on_any_port()
    })
    .await;
    let response = get_with(
        off.local_addr().unwrap(),
        "/metrics",
        &["Accept-Encoding: gzip"],
    )
    .await;
    assert_eq!(response.header("content-encoding"), None);
    assert!(response.body.contains("server_test_marker_total"));
    off.stop().await;
}

// ----- formats -----------------------------------------------------------------

#[tokio::test]
async fn json_and_csv_paths_and_the_format_parameter() {
    let server = start().await;
    let addr = addr(&server);

    let json = get(addr, "/metrics.json", Some(PROMETHEUS_ACCEPT)).await;
    assert_eq!(json.status, 200);
    assert_eq!(json.header("content-type"), Some("application/json"));
    let document: serde_json::Value = serde_json::from_str(&json.body).expect("JSON");
    let fixed = document["families"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "server_test_fixed")
        .expect("the fixed counter");
    assert_eq!(fixed["type"], "counter");
    assert_eq!(fixed["series"][0]["value"], 42.0);

    let csv = get(addr, "/metrics.csv", None).await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), Some(Format::Csv.content_type()));
    assert!(
        csv.body.starts_with("timestamp_ms,name,type,"),
        "{}",
        csv.body
    );
    let row = csv
        .body
        .lines()
        .find(|l| l.contains(",server_test_fixed,"))
        .expect("a row for the fixed counter");
    assert!(
        row.contains(",counter,,A counter that stays at 42.,,42,"),
        "{row}"
    );

    // `format` wins over Accept; Prometheus 2.42 sends its Accept always.
    for (query, format) in [
        ("format=prometheus", Format::Prometheus),
        ("format=openmetrics", Format::OpenMetrics),
        ("format=json", Format::Json),
        ("format=csv", Format::Csv),
        ("x=1&format=Prometheus", Format::Prometheus),
    ] {
        let response = get(addr, &format!("/metrics?{query}"), Some(PROMETHEUS_ACCEPT)).await;
        assert_eq!(response.status, 200, "{query}");
        assert_eq!(
            response.header("content-type"),
            Some(format.content_type()),
            "{query}"
        );
    }
    let text = get(addr, "/metrics?format=prometheus", Some(PROMETHEUS_ACCEPT)).await;
    assert!(!text.body.contains("# EOF"));
    assert!((sample(&text.body, "server_test_fixed_total") - 42.0).abs() < f64::EPSILON);

    let bad = get(addr, "/metrics?format=xml", None).await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body.contains("\"xml\"") && bad.body.contains("openmetrics"),
        "{}",
        bad.body
    );

    // Accept picks JSON and CSV only when named and preferred.
    for (accept, format) in [
        ("application/json", Format::Json),
        ("text/csv", Format::Csv),
        ("text/csv;q=0.9, text/plain;q=0.5", Format::Csv),
        ("application/json;q=0.5, text/plain", Format::Prometheus),
        ("*/*", Format::Prometheus),
    ] {
        let response = get(addr, "/metrics", Some(accept)).await;
        assert_eq!(
            response.header("content-type"),
            Some(format.content_type()),
            "{accept}"
        );
    }
    // The suffixed paths follow a custom path, and HEAD works on them.
    server.stop().await;
    let custom = start_with(ServerConfig {
        path: "/m".to_owned(),
        ..config_on_any_port()
    })
    .await;
    let addr = custom.local_addr().unwrap();
    assert_eq!(get(addr, "/m.json", None).await.status, 200);
    assert_eq!(get(addr, "/m.csv", None).await.status, 200);
    assert_eq!(get(addr, "/metrics.json", None).await.status, 404);
    let head = exchange(
        addr,
        &format!("HEAD /m.json HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("application/json"));
    assert!(head.raw.is_empty());
    custom.stop().await;
}

// ----- health ------------------------------------------------------------------

#[tokio::test]
async fn health_answers_ok() {
    let server = start().await;
    let addr = addr(&server);
    let health = get(addr, "/health", None).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body, "ok\n");
    assert_eq!(
        health.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let post = exchange(
        addr,
        &format!("POST /health HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(post.status, 405);
    server.stop().await;

    let moved = start_with(ServerConfig {
        health_path: "/healthz".to_owned(),
        ..config_on_any_port()
    })
    .await;
    assert_eq!(
        get(moved.local_addr().unwrap(), "/healthz", None)
            .await
            .status,
        200
    );
    assert_eq!(
        get(moved.local_addr().unwrap(), "/health", None)
            .await
            .status,
        404
    );
    moved.stop().await;

    let none = start_with(ServerConfig {
        health_path: String::new(),
        ..config_on_any_port()
    })
    .await;
    assert_eq!(
        get(none.local_addr().unwrap(), "/health", None)
            .await
            .status,
        404
    );
    none.stop().await;
}

// ----- credentials ---------------------------------------------------------------

fn basic(user_password: &str) -> String {
    // Base64 by hand, so the test does not share the server's decoder.
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = user_password.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    format!("Authorization: Basic {out}")
}

#[tokio::test]
async fn a_bearer_token_is_required_when_configured() {
    let server = start_with(ServerConfig {
        bearer_token: Some("t0k3n-with-some-length".to_owned()),
        ..config_on_any_port()
    })
    .await;
    let addr = addr(&server);
    for (headers, status) in [
        (vec![], 401),
        (vec!["Authorization: Bearer wrong"], 401),
        (vec!["Authorization: Bearer t0k3n-with-some-lengtH"], 401),
        (
            vec!["Authorization: Bearer t0k3n-with-some-length-and-more"],
            401,
        ),
        (vec!["Authorization: Bearer t0k3n"], 401),
        (vec!["Authorization: t0k3n-with-some-length"], 401),
        (vec![basic("t0k3n-with-some-length:").as_str()], 401),
        (vec!["Authorization: Bearer t0k3n-with-some-length"], 200),
        (vec!["Authorization: bearer t0k3n-with-some-length"], 200),
    ] {
        let response = get_with(addr, "/metrics", &headers).await;
        assert_eq!(response.status, status, "{headers:?}");
        if status == 401 {
            assert_eq!(
                response.header("www-authenticate"),
                Some("Bearer realm=\"telltale\"")
            );
            assert!(!response.body.contains("server_test_marker"));
        } else {
            assert!(response.body.contains("server_test_marker_total"));
        }
    }
    // Every path but the health check needs the token, 404s included.
    for path in ["/metrics.json", "/metrics.csv", "/api/health", "/nope"] {
        assert_eq!(get(addr, path, None).await.status, 401, "{path}");
    }
    assert_eq!(get(addr, "/health", None).await.status, 200);
    let counted = get_with(
        addr,
        "/metrics",
        &["Authorization: Bearer t0k3n-with-some-length"],
    )
    .await;
    assert!(
        sample(
            &counted.body,
            r#"telltale_server_rejected_total{reason="unauthorized"}"#
        ) >= 11.0,
        "{}",
        counted.body
    );
    server.stop().await;
}

#[tokio::test]
async fn basic_auth_is_required_when_configured() {
    let server = start_with(ServerConfig {
        basic_auth: Some(BasicAuth {
            username: "prometheus".to_owned(),
            password: "pa:ss wörd".to_owned(),
        }),
        ..config_on_any_port()
    })
    .await;
    let addr = addr(&server);
    let right = basic("prometheus:pa:ss wörd");
    for (header, status) in [
        (None, 401),
        (Some(basic("prometheus:pa:ss")), 401),
        (Some(basic("Prometheus:pa:ss wörd")), 401),
        (Some(basic("prometheus:pa:ss wörd!")), 401),
        (Some("Authorization: Basic not-base64!".to_owned()), 401),
        (Some("Authorization: Bearer pa:ss wörd".to_owned()), 401),
        (Some(right.clone()), 200),
    ] {
        let headers: Vec<&str> = header.iter().map(String::as_str).collect();
        let response = get_with(addr, "/metrics", &headers).await;
        assert_eq!(response.status, status, "{header:?}");
        if status == 401 {
            assert_eq!(
                response.header("www-authenticate"),
                Some("Basic realm=\"telltale\", charset=\"UTF-8\"")
            );
        }
    }
    assert_eq!(get_with(addr, "/metrics.json", &[&right]).await.status, 200);
    assert_eq!(get(addr, "/health", None).await.status, 200);
    server.stop().await;

    // Both configured: either is accepted.
    let both = start_with(ServerConfig {
        bearer_token: Some("tok".to_owned()),
        basic_auth: Some(BasicAuth {
            username: "u".to_owned(),
            password: "p".to_owned(),
        }),
        ..config_on_any_port()
    })
    .await;
    let addr = both.local_addr().unwrap();
    assert_eq!(
        get_with(addr, "/metrics", &[&basic("u:p")]).await.status,
        200
    );
    assert_eq!(
        get_with(addr, "/metrics", &["Authorization: Bearer tok"])
            .await
            .status,
        200
    );
    assert_eq!(
        get_with(addr, "/metrics", &[&basic("u:tok")]).await.status,
        401
    );
    both.stop().await;
}

// ----- timeouts ------------------------------------------------------------------

#[tokio::test]
async fn half_a_header_is_cut_off_after_the_header_timeout() {
    let server = start_with(ServerConfig {
        header_read_timeout: Duration::from_millis(200),
        idle_timeout: Duration::from_secs(30),
        ..config_on_any_port()
    })
    .await;
    let addr = addr(&server);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let waited = time_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_secs(3),
        "closed after {waited:?}"
    );

    // A client trickling a byte every 40 ms is cut off too: the time counts
    // from the first byte, not the last.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nX-Padding: {}\r\n\r\n",
        "x".repeat(100)
    );
    let started = Instant::now();
    let mut cut_off = false;
    for byte in request.as_bytes() {
        if slow.write_all(&[*byte]).await.is_err() {
            cut_off = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
        let mut probe = [0_u8; 1];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::ZERO, slow.read(&mut probe)).await
        {
            cut_off = true;
            break;
        }
    }
    assert!(cut_off, "the whole slow request was read");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // A request that is on time is served.
    let response = get(addr, "/metrics", None).await;
    assert_eq!(response.status, 200);
    assert!(
        sample(
            &response.body,
            r#"telltale_server_rejected_total{reason="header_timeout"}"#
        ) >= 2.0
    );
    server.stop().await;
}

/// A header timeout far below an idle timeout, for the tests that tell
/// which of the two closed a connection.
fn short_header_long_idle() -> ServerConfig {
    ServerConfig {
        header_read_timeout: Duration::from_millis(200),
        idle_timeout: Duration::from_secs(10),
        ..config_on_any_port()
    }
}

#[tokio::test]
async fn a_head_started_late_is_cut_off_after_the_header_timeout() {
    let server = start_with(short_header_long_idle()).await;
    let addr = addr(&server);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // Silent past the header timeout first: the clock starts at the first
    // byte, not at the connection.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let waited = time_until_closed(&mut stream, Duration::from_secs(20)).await;
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_secs(2),
        "closed {waited:?} after the first byte (header timeout 200 ms, idle 10 s)"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_second_request_head_on_a_kept_connection_has_the_header_timeout() {
    let server = start_with(short_header_long_idle()).await;
    let addr = addr(&server);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    assert_eq!(get_health_on(&mut stream).await.status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let waited = time_until_closed(&mut stream, Duration::from_secs(20)).await;
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_secs(2),
        "closed {waited:?} after the second head began (header timeout 200 ms, idle 10 s)"
    );
    server.stop().await;
}

#[tokio::test]
async fn idle_connections_are_closed_after_the_idle_timeout() {
    let server = start_with(ServerConfig {
        header_read_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_millis(300),
        ..config_on_any_port()
    })
    .await;
    let addr = addr(&server);
    // A connection that never sends a byte.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let waited = time_until_closed(&mut silent, Duration::from_secs(10)).await;
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "closed after {waited:?}"
    );

    // A keep-alive connection after its response.
    let mut kept = TcpStream::connect(addr).await.unwrap();
    assert_eq!(get_health_on(&mut kept).await.status, 200);
    let waited = time_until_closed(&mut kept, Duration::from_secs(10)).await;
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "closed after {waited:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn busy_keep_alive_connections_are_not_closed() {
    let server = start_with(ServerConfig {
        idle_timeout: Duration::from_millis(300),
        header_read_timeout: Duration::from_millis(300),
        ..config_on_any_port()
    })
    .await;
    let addr = addr(&server);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // Requests every 100 ms for well over both timeouts.
    let started = Instant::now();
    let mut served = 0;
    while started.elapsed() < Duration::from_millis(1200) {
        assert_eq!(get_health_on(&mut stream).await.status, 200);
        served += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served >= 5);
    server.stop().await;
}

// ----- connection cap ------------------------------------------------------------

#[tokio::test]
async fn connections_over_the_cap_get_503_and_the_server_recovers() {
    const CAP: usize = 4;
    let server = start_with(ServerConfig {
        max_connections: CAP,
        ..config_on_any_port()
    })
    .await;
    let addr = addr(&server);
    // CAP connections, each known to be served: one request answered.
    let mut held = Vec::new();
    for _ in 0..CAP {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        assert_eq!(get_health_on(&mut stream).await.status, 200);
        held.push(stream);
    }
    // Three more are each answered 503 and closed.
    for _ in 0..3 {
        let response = get(addr, "/metrics", None).await;
        assert_eq!(response.status, 503);
        assert_eq!(response.header("retry-after"), Some("1"));
        assert_eq!(response.header("connection"), Some("close"));
    }
    // The held ones still work.
    for stream in &mut held {
        assert_eq!(get_health_on(stream).await.status, 200);
    }
    drop(held);
    // Their slots free up as the server sees them close.
    let deadline = Instant::now() + Duration::from_secs(10);
    let response = loop {
        let response = get(addr, "/metrics", None).await;
        if response.status == 200 || Instant::now() > deadline {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(response.status, 200);
    assert!(
        sample(
            &response.body,
            r#"telltale_server_rejected_total{reason="connection_limit"}"#
        ) >= 3.0
    );
    // And CAP at once are served again.
    let all = futures::future::join_all((0..CAP).map(|_| get(addr, "/health", None))).await;
    assert!(all.iter().all(|r| r.status == 200), "{all:?}");
    server.stop().await;
}

// ----- configuration -------------------------------------------------------------

#[tokio::test]
async fn a_server_configured_from_toml_serves_as_configured() {
    let config = telltale_config::Config::from_toml_str(
        r#"
        # Everything but the port as a service would write it.
        [server]
        host = "127.0.0.1"
        port = 0
        path = "/custom"
        health_path = "/alive"
        header_read_timeout = "2s"
        idle_timeout = 30
        max_connections = 8
        gzip = false
        bearer_token = "from-toml"
        "#,
        "inline.toml",
    )
    .expect("valid TOML");
    let server = &config.server;
    assert_eq!(server.header_read_timeout, Duration::from_secs(2));
    assert_eq!(server.idle_timeout, Duration::from_secs(30));
    assert_eq!(server.max_connections, 8);
    assert!(!server.gzip);
    let running = start_with(config.server.clone()).await;
    let addr = addr(&running);
    assert_eq!(get(addr, "/custom", None).await.status, 401);
    let ok = get_with(
        addr,
        "/custom",
        &["Authorization: Bearer from-toml", "Accept-Encoding: gzip"],
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("content-encoding"), None);
    assert_eq!(get(addr, "/alive", None).await.status, 200);
    running.stop().await;

    // An empty file is the defaults, and so is an empty section.
    assert_eq!(
        telltale_config::Config::from_toml_str("", "empty.toml").unwrap(),
        telltale_config::Config::default()
    );
    let section = telltale_config::Config::from_toml_str("[server]\n", "s.toml").unwrap();
    assert_eq!(section.server, ServerConfig::default());
    let basic = telltale_config::Config::from_toml_str(
        "[server.basic_auth]\nusername = \"u\"\npassword = \"p\"\n",
        "b.toml",
    )
    .unwrap();
    assert_eq!(
        basic.server.basic_auth,
        Some(BasicAuth {
            username: "u".to_owned(),
            password: "p".to_owned()
        })
    );
}

#[test]
fn toml_mistakes_name_the_file_line_and_key() {
    let dir = TempDir::new("server-config").unwrap();
    let cases = [
        (
            "[server]\nport = 9464\nprot = 1\n",
            vec![":3:1:", "unknown key `prot`: did you mean `port`?"],
        ),
        (
            "[server]\nport = \"high\"\n",
            vec![":2:8:", "server.port", "string \"high\""],
        ),
        ("[server]\nport = 70000\n", vec![":2:8:", "server.port"]),
        (
            "[server]\n\nmax_connections = -1\n",
            vec![":3:19:", "server.max_connections"],
        ),
        (
            "[server]\nidle_timeout = \"soon\"\n",
            vec![
                ":2:16:",
                "server.idle_timeout",
                "\"soon\" is not a duration",
            ],
        ),
        (
            "[server]\nenabled = \"yes\"\n",
            vec![":2:11:", "server.enabled"],
        ),
        (
            "[sever]\nport = 1\n",
            vec![":1:2:", "unknown key `sever`: did you mean `server`?"],
        ),
        (
            "[server.basic_auth]\nusername = \"u\"\n",
            vec![":1:", "missing field `password`"],
        ),
        ("[server\nport = 1\n", vec![":1:"]),
    ];
    for (i, (text, needles)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("case{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let error = telltale_config::Config::from_file(&path).unwrap_err();
        assert!(matches!(error, telltale::Error::Config(_)), "{error:?}");
        let message = error.to_string();
        assert!(
            message.contains(&path.display().to_string()),
            "{message} should name the file"
        );
        for needle in needles {
            assert!(
                message.contains(needle),
                "{text:?}: {message} should contain {needle}"
            );
        }
        // The generic reader says the same.
        let generic = telltale_config::from_file::<telltale_config::Config>(&path)
            .unwrap_err()
            .to_string();
        assert_eq!(generic, message);
    }
    // A good file.
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[server]\nport = 9100\nhealth_path = \"\"\n").unwrap();
    let config = telltale_config::Config::from_file(&good).unwrap();
    assert_eq!(config.server.port, 9100);
    assert_eq!(config.server.health_path, "");
    // A missing file.
    let missing = dir.path().join("missing.toml");
    let message = telltale_config::Config::from_file(&missing)
        .unwrap_err()
        .to_string();
    assert!(message.contains("missing.toml"), "{message}");
}

#[test]
fn environment_variables_override_the_file() {
    let mut config =
        telltale_config::Config::from_toml_str("[server]\nport = 1000\nhost = \"::1\"\n", "f.toml")
            .unwrap();
    config
        .apply_env(Env::from_pairs([
            ("TELLTALE_SERVER_PORT", "9100"),
            ("TELLTALE_SERVER_HOST", "0.0.0.0"),
            ("TELLTALE_SERVER_PATH", "/m"),
            ("TELLTALE_SERVER_ENABLED", "off"),
            ("TELLTALE_SERVER_HEALTH_PATH", "/up"),
            ("TELLTALE_SERVER_HEADER_READ_TIMEOUT", "1500ms"),
            ("TELLTALE_SERVER_IDLE_TIMEOUT", "45"),
            ("TELLTALE_SERVER_MAX_CONNECTIONS", "32"),
            ("TELLTALE_SERVER_GZIP", "FALSE"),
            ("TELLTALE_SERVER_BEARER_TOKEN", "env-token"),
            ("TELLTALE_SERVER_BASIC_AUTH", "scraper:a:b"),
            ("PATH", "/usr/bin"),
            ("TELLTALE_PROMETHEUS", "/usr/bin/prometheus"),
        ]))
        .expect("valid variables");
    let expected = ServerConfig {
        host: "0.0.0.0".to_owned(),
        port: 9100,
        path: "/m".to_owned(),
        enabled: false,
        health_path: "/up".to_owned(),
        header_read_timeout: Duration::from_millis(1500),
        idle_timeout: Duration::from_secs(45),
        max_connections: 32,
        gzip: false,
        bearer_token: Some("env-token".to_owned()),
        basic_auth: Some(BasicAuth {
            username: "scraper".to_owned(),
            password: "a:b".to_owned(),
        }),
    };
    assert_eq!(config.server, expected);
    config.validate().unwrap();

    // Empty secrets clear what the file set.
    config
        .apply_env(Env::from_pairs([
            ("TELLTALE_SERVER_BEARER_TOKEN", ""),
            ("TELLTALE_SERVER_BASIC_AUTH", ""),
        ]))
        .unwrap();
    assert_eq!(
        (
            config.server.bearer_token.clone(),
            config.server.basic_auth.clone()
        ),
        (None, None)
    );

    let bad = [
        ("TELLTALE_SERVER_PORT", "70000"),
        ("TELLTALE_SERVER_PORT", "http"),
        ("TELLTALE_SERVER_ENABLED", "maybe"),
        ("TELLTALE_SERVER_GZIP", "2"),
        ("TELLTALE_SERVER_IDLE_TIMEOUT", "forever"),
        ("TELLTALE_SERVER_HEADER_READ_TIMEOUT", "-1s"),
        ("TELLTALE_SERVER_MAX_CONNECTIONS", "0"),
        ("TELLTALE_SERVER_MAX_CONNECTIONS", "lots"),
        ("TELLTALE_SERVER_PROT", "9100"),
    ];
    for (name, value) in bad {
        let before = config.clone();
        let message = config
            .apply_env(Env::from_pairs([(name, value)]))
            .unwrap_err()
            .to_string();
        assert!(message.contains(name), "{message} should name {name}");
        if name == "TELLTALE_SERVER_PROT" {
            assert!(
                message.contains("TELLTALE_SERVER_PORT"),
                "{message} lists the known names"
            );
        } else {
            assert!(
                message.contains(&format!("{name}={value:?}")),
                "{message} should show the value"
            );
        }
        assert_eq!(config.server.port, before.server.port);
    }
    // A basic auth value without a colon: named, but not repeated.
    let message = config
        .apply_env(Env::from_pairs([(
            "TELLTALE_SERVER_BASIC_AUTH",
            "justasecret",
        )]))
        .unwrap_err()
        .to_string();
    assert!(message.contains("TELLTALE_SERVER_BASIC_AUTH"), "{message}");
    assert!(!message.contains("justasecret"), "{message}");
}

#[tokio::test]
async fn invalid_settings_are_config_errors_at_start() {
    for (config, needle) in [
        (
            ServerConfig {
                max_connections: 0,
                ..config_on_any_port()
            },
            "max_connections",
        ),
        (
            ServerConfig {
                bearer_token: Some(String::new()),
                ..config_on_any_port()
            },
            "bearer_token",
        ),
        (
            ServerConfig {
                health_path: "/metrics".to_owned(),
                ..config_on_any_port()
            },
            "health_path",
        ),
        (
            ServerConfig {
                idle_timeout: Duration::ZERO,
                ..config_on_any_port()
            },
            "idle_timeout",
        ),
    ] {
        let error = server::start(config).await.unwrap_err();
        assert!(matches!(error, telltale::Error::Config(_)), "{error:?}");
        assert!(error.to_string().contains(needle), "{error}");
    }
}
