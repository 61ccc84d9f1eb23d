//! Malformed, oversized and abandoned requests never take the metrics server
//! down: after each one, a normal scrape on the same server succeeds.
//!
//! Each fault is sent on its own connection; whatever the server answers (if
//! anything) must be an error status, never a `2xx` for a request that was
//! not one, and the server must close or keep serving, never hang.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use telltale::server::{self, Server, ServerConfig};
use telltale::Counter;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

static MARKER: Counter = Counter::new(
    "server_faults_marker_total",
    "A counter the fault tests look for.",
);

async fn start() -> (Server, SocketAddr) {
    MARKER.inc();
    let server = server::start(ServerConfig {
        port: 0,
        header_read_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(2),
        ..ServerConfig::default()
    })
    .await
    .expect("server starts");
    let addr = server.local_addr().expect("enabled");
    (server, addr)
}

/// Writes `bytes` (ignoring a write the server cut short), then reads until
/// the server closes or `limit` passes; returns what was read.
async fn send(addr: SocketAddr, bytes: &[u8], close_write: bool) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = stream.split();
    let write = async {
        let _ = writer.write_all(bytes).await;
        if close_write {
            let _ = writer.shutdown().await;
        }
    };
    let read = async {
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut out)).await;
        out
    };
    let ((), out) = tokio::join!(write, read);
    out
}

/// The status code of the first response in `raw`, if there is one.
fn status(raw: &[u8]) -> Option<u16> {
    let line = raw.split(|b| *b == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    line.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// A scrape on a new connection returns the full exposition.
async fn scrape_succeeds(addr: SocketAddr, after: &str) {
    let raw = send(
        addr,
        format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        false,
    )
    .await;
    assert_eq!(status(&raw), Some(200), "scrape after {after}");
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.contains("server_faults_marker_total "),
        "scrape after {after}: {text}"
    );
}

fn assert_error_or_nothing(raw: &[u8], fault: &str) {
    match status(raw) {
        None => assert!(
            raw.is_empty(),
            "{fault}: not an HTTP response: {:?}",
            String::from_utf8_lossy(raw)
        ),
        Some(code) => assert!(
            (400..500).contains(&code),
            "{fault}: answered {code}: {:?}",
            String::from_utf8_lossy(&raw[..raw.len().min(200)])
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_an_error_or_a_close() {
    let (server, addr) = start().await;
    let binary: Vec<u8> = (0..4096_u32).map(|i| (i * 7919 % 251) as u8).collect();
    let faults: Vec<(&str, Vec<u8>)> = vec![
        ("a garbage request line", b"HELLO THERE\r\n\r\n".to_vec()),
        ("binary junk", binary),
        (
            "NUL bytes in a header",
            b"GET /metrics HTTP/1.1\r\nHost: a\0b\r\n\r\n".to_vec(),
        ),
        (
            "a header without a colon",
            b"GET /metrics HTTP/1.1\r\nHost\r\n\r\n".to_vec(),
        ),
        (
            "an unknown HTTP version",
            b"GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n".to_vec(),
        ),
        (
            "an HTTP/2 preface",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
        ),
        (
            "a bad Content-Length",
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n".to_vec(),
        ),
        (
            "two different Content-Lengths",
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"
                .to_vec(),
        ),
        (
            "a bad chunk size",
            b"POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
                .to_vec(),
        ),
        ("only line feeds", b"\n\n\n\n\n\n".to_vec()),
    ];
    for (fault, bytes) in &faults {
        let raw = send(addr, bytes, true).await;
        assert_error_or_nothing(&raw, fault);
        scrape_succeeds(addr, fault).await;
    }
    server.stop().await;
}

/// An oversized head is answered `431` and the connection closed. A client
/// still writing the rest of it when the server closes may lose that answer
/// to the reset and see only the close; it never sees anything else.
fn assert_431_or_close(raw: &[u8], fault: &str) {
    match status(raw) {
        None => assert!(
            raw.is_empty(),
            "{fault}: not an HTTP response: {:?}",
            String::from_utf8_lossy(raw)
        ),
        Some(code) => assert_eq!(
            code,
            431,
            "{fault}: {:?}",
            String::from_utf8_lossy(&raw[..raw.len().min(200)])
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_requests_are_refused() {
    let (server, addr) = start().await;
    let big_header = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1024 * 1024)
    );
    let huge_uri = format!(
        "GET /metrics?{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "q=1&".repeat(64 * 1024)
    );
    // Just over the limit: the whole head is written before the server
    // answers, so the answer is seen.
    let long_uri = format!(
        "GET /metrics?{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "q".repeat(64 * 1024)
    );
    let mut many_headers = String::new();
    for i in 0..2000 {
        let _ = write!(many_headers, "X-H{i}: v\r\n");
    }
    let many_headers = format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n");
    let few_too_many = format!("GET /metrics HTTP/1.1\r\n{}\r\n", "X-H: v\r\n".repeat(101));
    // (what is sent, whether the client finishes writing it before the
    // server answers and must therefore see the 431)
    for (fault, request, always_answered) in [
        ("a 1 MiB header", big_header.as_str(), false),
        ("a 256 KiB URI", &huge_uri, false),
        ("a 64 KiB URI", &long_uri, true),
        ("2000 headers", &many_headers, true),
        ("101 headers", &few_too_many, true),
    ] {
        let raw = send(addr, request.as_bytes(), false).await;
        assert_431_or_close(&raw, fault);
        if always_answered {
            assert_eq!(status(&raw), Some(431), "{fault}");
        }
        scrape_succeeds(addr, fault).await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_requests_leave_the_server_serving() {
    let (server, addr) = start().await;
    // Closed mid request line, mid headers, and right after connecting.
    for cut in [
        &b"GET /metr"[..],
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: appl",
        b"",
    ] {
        let raw = send(addr, cut, true).await;
        assert_error_or_nothing(&raw, "an early close");
        scrape_succeeds(addr, "an early close").await;
    }
    // Closed without reading the response, many times over.
    for _ in 0..50 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        drop(stream);
    }
    // Reset instead of closed (SO_LINGER 0).
    for _ in 0..20 {
        let stream = TcpStream::connect(addr).await.unwrap();
        let socket = socket_with_zero_linger(stream);
        drop(socket);
    }
    scrape_succeeds(addr, "abandoned requests").await;
    // A client that pipelines many requests and never reads the responses
    // does not hold up anyone else.
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    let requests = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(2000);
    let _ = tokio::time::timeout(
        Duration::from_secs(10),
        stalled.write_all(requests.as_bytes()),
    )
    .await;
    scrape_succeeds(addr, "a client that does not read").await;
    drop(stalled);
    server.stop().await;
}

/// A zero linger time makes the close a reset; with zero it never blocks
/// the thread, which is what the deprecation warns about.
#[allow(deprecated)]
fn socket_with_zero_linger(stream: TcpStream) -> TcpStream {
    let _ = stream.set_linger(Some(Duration::ZERO));
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_on_get_is_ignored() {
    let (server, addr) = start().await;
    let with_length = send(
        addr,
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world",
        false,
    )
    .await;
    assert_eq!(status(&with_length), Some(200));
    let chunked = send(
        addr,
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        false,
    )
    .await;
    assert_eq!(status(&chunked), Some(200));
    // A large body on a keep-alive connection, then a second request on it.
    let body = vec![b'x'; 256 * 1024];
    let mut request = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    request.extend_from_slice(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let raw = send(addr, &request, false).await;
    assert_eq!(status(&raw), Some(200));
    let text = String::from_utf8_lossy(&raw);
    // Either both requests were answered, or the server closed after the
    // first rather than read the body; never an error.
    assert!(text.matches("HTTP/1.1 200 OK").count() >= 1, "{text}");
    assert!(!text.contains("HTTP/1.1 4") && !text.contains("HTTP/1.1 5"));
    scrape_succeeds(addr, "a body on GET").await;
    server.stop().await;
}
