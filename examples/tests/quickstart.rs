//! The quickstart binary: prints its URL, serves its metrics, stops on
//! Ctrl-C (SIGINT).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `GET /metrics` over a plain TcpStream; returns the whole response.
fn get(host_port: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(host_port).expect("connect to the quickstart");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host_port}\r\nAccept: text/plain\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[cfg(unix)]
#[test]
fn quickstart_serves_metrics_and_stops_on_ctrl_c() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .args(["--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the quickstart");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("serving metrics at ")
        .unwrap_or_else(|| panic!("unexpected first line: {first:?}"))
        .to_owned();
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host_port, path) = rest.split_at(rest.find('/').expect("a path"));
    assert_eq!(path, "/metrics");
    assert!(host_port.starts_with("127.0.0.1:"), "{url}");
    assert!(
        !host_port.ends_with(":0"),
        "the URL names the bound port: {url}"
    );

    // The demo loop runs and the resource monitor samples: both show up
    // within a few seconds.
    let deadline = Instant::now() + Duration::from_secs(20);
    let response = loop {
        let response = get(host_port, path);
        if response.contains("function=\"fetch_page\"")
            && response.contains("\nprocess_resident_memory_bytes ")
            && response
                .lines()
                .any(|l| l.starts_with("function_calls_total{") && !l.ends_with(" 0"))
        {
            break response;
        }
        assert!(
            Instant::now() < deadline,
            "no demo calls counted:\n{response}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    // The resource monitor's series are served beside the demo's.
    assert!(
        response.contains("\nprocess_resident_memory_bytes "),
        "{response}"
    );

    // The System's JSON API answers next to /metrics: health (503 while the
    // demo's deliberate errors put it above the 5 % threshold) and dashboards.
    let health = get(host_port, "/api/health");
    assert!(
        health.starts_with("HTTP/1.1 200") || health.starts_with("HTTP/1.1 503"),
        "{health}"
    );
    assert!(
        health.contains("application/json") && health.contains("\"healthy\":"),
        "{health}"
    );
    let overview = get(host_port, "/api/dashboard/overview");
    assert!(overview.starts_with("HTTP/1.1 200"), "{overview}");
    assert!(overview.contains("\"operations\":["), "{overview}");

    // Ctrl-C stops it cleanly. The signal is sent directly, not by a `kill`
    // program, which a bare machine may not have.
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).expect("pid"))
        .expect("a child's pid is positive");
    rustix::process::kill_process(pid, rustix::process::Signal::INT).expect("send SIGINT");
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the quickstart did not stop within 10 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(exit.success(), "exit {exit}; stderr:\n{stderr}");
    // The demo's own panics are kept off the terminal.
    assert!(!stderr.contains("panicked"), "stderr:\n{stderr}");
    let mut tail = String::new();
    stdout.read_to_string(&mut tail).unwrap();
    assert!(tail.contains("stopped after"), "stdout:\n{tail}");
}

#[test]
fn quickstart_rejects_bad_arguments() {
    let output = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .args(["--port", "not-a-port"])
        .stdin(Stdio::null())
        .output()
        .expect("run the quickstart");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a valid number"));
}

#[test]
fn quickstart_with_iterations_exits_by_itself() {
    let output = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .args(["--port", "0", "--iterations", "20"])
        .stdin(Stdio::null())
        .output()
        .expect("run the quickstart");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains("stopped after 20 iterations"), "{stdout}");
}
