//! The `telltale` binary: `check` reports every mistake with its place,
//! and `agent` runs a file's sources and serves them until SIGTERM.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_telltale");

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let path =
            std::env::temp_dir().join(format!("telltale-agent-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn check_lists_every_mistake_with_file_line_column_and_key() {
    let dir = Dir::new("check");
    let file = dir.write(
        "bad.toml",
        "[custom_metrics]\n\
         \n\
         [[custom_metrics.sources]]\n\
         name = \"one\"\n\
         type = \"exec\"\n\
         command = []\n\
         \n\
         [[custom_metrics.sources]]\n\
         name = \"two\"\n\
         type = \"exec\"\n\
         command = [\"/bin/true\"]\n\
         intervall = \"5s\"\n\
         \n\
         [[custom_metrics.sources]]\n\
         name = \"three\"\n\
         type = \"exec\"\n\
         command = [\"/bin/true\"]\n\
         interval = \"soon\"\n",
    );
    let out = Command::new(BIN).args(["check", &file]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(
        lines[0].contains(&format!("{file}:6:11: custom_metrics.sources[0].command"))
            && lines[0].contains("no program given"),
        "{stderr}"
    );
    assert!(
        lines[1].contains(&format!("{file}:12:1:"))
            && lines[1].contains("unknown key `intervall`: did you mean `interval`?"),
        "{stderr}"
    );
    assert!(
        lines[2].contains(&format!("{file}:18:12:")) && lines[2].contains("soon"),
        "{stderr}"
    );

    let good = dir.write(
        "good.toml",
        "[custom_metrics]\n[[custom_metrics.sources]]\nname = \"disk_check\"\ntype = \"exec\"\ncommand = [\"./check.sh\", \"--fast\"]\ninterval = \"10s\"\ntimeout = \"2s\"\nformat = \"prometheus\"\n",
    );
    let out = Command::new(BIN).args(["check", &good]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok (1 source)"));

    let out = Command::new(BIN).args(["frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn get(addr: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn agent_serves_the_sources_of_its_file_and_stops_on_sigterm() {
    let dir = Dir::new("run");
    let script = dir.write(
        "check.sh",
        "#!/bin/sh\nprintf '# HELP disk_ok Whether the disk check passed.\\n# TYPE disk_ok gauge\\ndisk_ok{mode=\"%s\"} 1\\n' \"$1\"\n",
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let plugins = dir.0.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let config = dir.write(
        "agent.toml",
        &format!(
            "[server]\nport = 0\n\n[custom_metrics]\nplugin_directories = [\"{}\"]\nrescan_interval = \"1h\"\n\n[[custom_metrics.sources]]\nname = \"disk_check\"\ntype = \"exec\"\ncommand = [\"{script}\", \"--fast\"]\ninterval = \"1s\"\ntimeout = \"2s\"\nformat = \"prometheus\"\nlabels = {{ site = \"eu-1\" }}\n",
            plugins.display()
        ),
    );
    let mut child = Command::new(BIN)
        .args(["agent", "--config", &config, "--host", "127.0.0.1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"));
    let addr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    let metrics = loop {
        let answer = get(&addr, "/metrics");
        if answer.contains("disk_ok{") || Instant::now() > deadline {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        metrics.contains(r#"disk_ok{mode="--fast",site="eu-1"} 1"#)
            && metrics.contains(r#"telltale_source_up{source="disk_check"} 1"#),
        "{metrics}"
    );
    let api = get(&addr, "/api/sources");
    assert!(api.starts_with("HTTP/1.1 200"), "{api}");
    let body = api.split("\r\n\r\n").nth(1).unwrap_or("");
    assert!(
        body.contains(r#""name":"disk_check""#) && body.contains(r#""up":true"#),
        "{api}"
    );
    // A plugin added later runs after SIGHUP (the rescan interval is an hour).
    let plugin = plugins.join("queue_depth");
    std::fs::write(&plugin, "#!/bin/sh\necho 'plugin_queue_depth 4'\n").unwrap();
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(!get(&addr, "/metrics").contains("plugin_queue_depth"));
    let hup = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let metrics = loop {
        let answer = get(&addr, "/metrics");
        if answer.contains("plugin_queue_depth 4") || Instant::now() > deadline {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(metrics.contains("plugin_queue_depth 4"), "{metrics}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "the agent did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(exit.success(), "{exit:?}: {stderr}");
}
