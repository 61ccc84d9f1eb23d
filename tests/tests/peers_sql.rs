//! SQL sources against real PostgreSQL and MariaDB servers from Debian's
//! packages, started on a free loopback port in a temporary directory and
//! stopped by their pid: rows become series with bound parameters (a
//! relative time bound as a timestamp), integer and float columns of every
//! width are read, NULLs skipped, NUMERIC refused with advice; and a
//! server killed mid-run opens the breaker, which closes again once the
//! server is back.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection as _;
use telltale::config::Config;
use telltale::sources::{self, BreakerState, ErrorKind, Sources};
use telltale::Format;
use telltale_tests::{free_port, TempDir};

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .is_some_and(|uids| uids.split_whitespace().next() == Some("0"))
    })
}

/// Starts a server in a directory on a port.
type Launcher = Box<dyn Fn(&Path, u16) -> std::process::Child>;

/// Whether the server on a port takes queries (listening is not enough:
/// PostgreSQL accepts connections while it starts up, and refuses them).
type Ready = fn(u16) -> bool;

/// A database server, killed by its pid (from its pid file) on drop.
struct Server {
    dir: TempDir,
    port: u16,
    pid_file: PathBuf,
    /// The signal that stops it with clients connected (PostgreSQL's
    /// SIGTERM waits for them to leave; SIGINT is its fast shutdown).
    stop_signal: &'static str,
    start: Launcher,
    ready: Ready,
    /// The processes started, waited for when stopped.
    children: std::sync::Mutex<Vec<std::process::Child>>,
}

impl Server {
    fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(&self.pid_file)
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    fn launch(&self) {
        let child = (self.start)(self.dir.path(), self.port);
        self.children.lock().unwrap().push(child);
        let deadline = Instant::now() + Duration::from_mins(1);
        while !(self.ready)(self.port) {
            assert!(
                Instant::now() < deadline,
                "the server was not ready on {} within a minute",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(&self) {
        let Some(pid) = self.pid() else { return };
        let _ = Command::new("kill")
            .args([self.stop_signal, &pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = std::fs::remove_file(&self.pid_file);
        for mut child in self.children.lock().unwrap().drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether `pid` runs (a zombie, exited but not yet waited for, does not).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'))
    })
}

fn postgres_bin(name: &str) -> PathBuf {
    let dir = std::env::var_os("TELLTALE_POSTGRES_BIN").map_or_else(
        || PathBuf::from("/usr/lib/postgresql/15/bin"),
        PathBuf::from,
    );
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not found (set TELLTALE_POSTGRES_BIN); install it with: apt-get install postgresql",
        path.display()
    );
    path
}

/// As the `postgres` user when this is root (PostgreSQL refuses to run as
/// root), else as this user.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn start_postgres() -> Server {
    let dir = TempDir::new("postgres").unwrap();
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
    let data = dir.path().join("data");
    let out = as_postgres(&postgres_bin("initdb"))
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "--auth=trust", "-E", "UTF8"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Server {
        pid_file: data.join("postmaster.pid"),
        stop_signal: "-INT",
        children: std::sync::Mutex::new(Vec::new()),
        port: free_port(),
        ready: |port| {
            Command::new(postgres_bin("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                .status()
                .is_ok_and(|s| s.success())
        },
        start: Box::new(|dir: &Path, port: u16| {
            let log = std::fs::File::create(dir.join("postgres.log")).unwrap();
            as_postgres(&postgres_bin("postgres"))
                .arg("-D")
                .arg(dir.join("data"))
                .args([
                    "-p",
                    &port.to_string(),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-k",
                ])
                .arg(dir)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap()
        }),
        dir,
    };
    server.launch();
    server
}

fn start_mariadb() -> Server {
    let dir = TempDir::new("mariadb").unwrap();
    let data = dir.path().join("data");
    let mut install = Command::new("mariadb-install-db");
    install
        .arg(format!("--datadir={}", data.display()))
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
    if is_root() {
        install.arg("--user=root");
    }
    let out = install
        .output()
        .expect("mariadb-install-db (apt-get install mariadb-server)");
    assert!(
        out.status.success(),
        "mariadb-install-db: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Server {
        pid_file: dir.path().join("mariadb.pid"),
        stop_signal: "-TERM",
        children: std::sync::Mutex::new(Vec::new()),
        port: free_port(),
        // MariaDB listens once it takes queries.
        ready: |port| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        start: Box::new(|dir: &Path, port: u16| {
            let log = std::fs::File::create(dir.join("mariadb.log")).unwrap();
            let mut c = Command::new("/usr/sbin/mariadbd");
            c.arg("--no-defaults")
                .arg(format!("--datadir={}", dir.join("data").display()))
                .arg(format!("--port={port}"))
                .arg("--bind-address=127.0.0.1")
                .arg(format!("--socket={}", dir.join("mariadb.sock").display()))
                .arg(format!("--pid-file={}", dir.join("mariadb.pid").display()))
                .arg("--skip-grant-tables");
            if is_root() {
                c.arg("--user=root");
            }
            c.stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap()
        }),
        dir,
    };
    server.launch();
    server
}

fn render() -> String {
    telltale::render(Format::Prometheus)
}

/// Waits until every source has run once (the run at start).
async fn first_runs(running: &Sources) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while running.status().iter().any(|s| s.runs == 0) {
        assert!(Instant::now() < deadline, "{:?}", running.status());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn status(running: &Sources, name: &str) -> sources::SourceStatus {
    running
        .status()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap()
}

/// Kills `server` while `source` runs: the breaker opens after two failed
/// runs; once the server is back and the rest is over, a trial closes it.
async fn breaker_follows_the_server(
    server: &Server,
    running: &Sources,
    source: &str,
    series: &str,
) {
    server.stop();
    running.run_now().await;
    running.run_now().await;
    let s = status(running, source);
    assert_eq!(s.last_error_kind, Some(ErrorKind::Connect), "{s:?}");
    assert_eq!(s.breaker, BreakerState::Open, "{s:?}");
    server.launch();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        running.run_now().await;
        let s = status(running, source);
        if s.up == Some(true) {
            assert_eq!(s.breaker, BreakerState::Closed);
            break;
        }
        assert!(Instant::now() < deadline, "{s:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(render().contains(series), "{}", render());
}

const BREAKER: &str =
    "breaker = { failures = 2, initial_backoff = \"300ms\", max_backoff = \"1s\", jitter = 0.0 }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (apt-get install postgresql)"]
async fn postgresql_rows_become_series_and_the_breaker_follows_the_server() {
    let server = start_postgres();
    let url = format!("postgresql://postgres@127.0.0.1:{}/postgres", server.port);
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    for statement in [
        "CREATE TABLE users (name text, region text, last_login timestamptz)",
        "INSERT INTO users VALUES ('ana', 'eu', now() - interval '10 minutes'), ('bo', 'eu', now() - interval '2 hours'), ('kim', 'us', now() - interval '3 days')",
        "CREATE TABLE jobs (queue text, done int4, failed int8, small int2, avg float8, ratio float4, total numeric)",
        "INSERT INTO jobs VALUES ('mail', 5, 1, 2, 0.25, 0.5, 10), ('pdf', 7, 0, 3, NULL, 0.25, 20)",
    ] {
        sqlx::query(statement).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();
    let toml = format!(
        r#"
[[custom_metrics.sources]]
name = "pg"
type = "database"
connection_string = "{url}"
interval = 60
timeout = "3s"
{BREAKER}
queries = [
    {{name = "pg_active_users", sql = "SELECT COUNT(*) FROM users WHERE last_login > $1", params = ["1h_ago"], otel_type = "gauge"}},
    {{name = "pg_users_by_region", sql = "SELECT region, COUNT(*) AS n FROM users GROUP BY region", label_columns = ["region"], value_column = "n"}},
    {{name = "pg_jobs", sql = "SELECT queue, done, failed, small FROM jobs", label_columns = ["queue"], value_columns = ["done", "failed", "small"], otel_type = "counter"}},
    {{name = "pg_job_avg_seconds", sql = "SELECT queue, avg FROM jobs", label_columns = ["queue"], unit = "seconds"}},
    {{name = "pg_job_ratio", sql = "SELECT queue, ratio FROM jobs WHERE queue = $1", params = ["mail"], label_columns = ["queue"]}},
]

[[custom_metrics.sources]]
name = "pg_numeric"
type = "database"
connection_string = "{url}"
queries = [{{name = "pg_total", sql = "SELECT SUM(total) FROM jobs"}}]
"#
    );
    let config = Config::from_toml_str(&toml, "pg.toml").unwrap();
    let running = sources::start(config.custom_metrics.build().unwrap()).unwrap();
    first_runs(&running).await;
    let s = status(&running, "pg");
    assert_eq!(s.up, Some(true), "{s:?}");
    let text = render();
    for line in [
        "pg_active_users 1",
        r#"pg_users_by_region{region="eu"} 2"#,
        r#"pg_jobs_done_total{queue="mail"} 5"#,
        r#"pg_jobs_failed_total{queue="mail"} 1"#,
        r#"pg_jobs_small_total{queue="pdf"} 3"#,
        r#"pg_job_avg_seconds{queue="mail"} 0.25"#,
        r#"pg_job_ratio{queue="mail"} 0.5"#,
        r#"telltale_source_null_values_total{source="pg",query="pg_job_avg_seconds"} 1"#,
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    let numeric = status(&running, "pg_numeric");
    assert_eq!(
        numeric.last_error_kind,
        Some(ErrorKind::Query),
        "{numeric:?}"
    );
    assert!(numeric.last_error.unwrap().contains("cast"));
    running.remove("pg_numeric");
    breaker_follows_the_server(&server, &running, "pg", "pg_active_users 1").await;
    running.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MariaDB (apt-get install mariadb-server)"]
async fn mariadb_rows_become_series_and_the_breaker_follows_the_server() {
    let server = start_mariadb();
    let root = format!("mysql://root@127.0.0.1:{}", server.port);
    let mut conn = sqlx::MySqlConnection::connect(&format!("{root}/mysql"))
        .await
        .unwrap();
    for statement in [
        "CREATE DATABASE app",
        "CREATE TABLE app.users (name TEXT, region VARCHAR(8), last_login DATETIME)",
        "INSERT INTO app.users VALUES ('ana', 'eu', UTC_TIMESTAMP() - INTERVAL 10 MINUTE), ('bo', 'eu', UTC_TIMESTAMP() - INTERVAL 2 HOUR), ('kim', 'us', UTC_TIMESTAMP() - INTERVAL 3 DAY)",
        "CREATE TABLE app.jobs (queue VARCHAR(8), done INT, failed BIGINT UNSIGNED, tiny TINYINT, avg DOUBLE, total DECIMAL(10,2))",
        "INSERT INTO app.jobs VALUES ('mail', 5, 1, 2, 0.25, 10), ('pdf', 7, 0, 3, NULL, 20)",
    ] {
        sqlx::query(statement).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();
    let url = format!("mariadb://root@127.0.0.1:{}/app", server.port);
    let toml = format!(
        r#"
[[custom_metrics.sources]]
name = "maria"
type = "database"
connection_string = "{url}"
timeout = "3s"
{BREAKER}
queries = [
    {{name = "maria_active_users", sql = "SELECT COUNT(*) FROM users WHERE last_login > ?", params = ["1h_ago"]}},
    {{name = "maria_users_by_region", sql = "SELECT region, COUNT(*) AS n FROM users GROUP BY region", label_columns = ["region"], value_column = "n"}},
    {{name = "maria_jobs", sql = "SELECT queue, done, failed, tiny FROM jobs", label_columns = ["queue"], value_columns = ["done", "failed", "tiny"], otel_type = "counter"}},
    {{name = "maria_job_avg_seconds", sql = "SELECT queue, avg FROM jobs", label_columns = ["queue"], unit = "seconds"}},
    {{name = "maria_total", sql = "SELECT CAST(SUM(total) AS DOUBLE) FROM jobs"}},
]
"#
    );
    let config = Config::from_toml_str(&toml, "maria.toml").unwrap();
    let running = sources::start(config.custom_metrics.build().unwrap()).unwrap();
    first_runs(&running).await;
    let s = status(&running, "maria");
    assert_eq!(s.up, Some(true), "{s:?}");
    let text = render();
    for line in [
        "maria_active_users 1",
        r#"maria_users_by_region{region="eu"} 2"#,
        r#"maria_jobs_done_total{queue="mail"} 5"#,
        r#"maria_jobs_failed_total{queue="mail"} 1"#,
        r#"maria_jobs_tiny_total{queue="pdf"} 3"#,
        r#"maria_job_avg_seconds{queue="mail"} 0.25"#,
        "maria_total 30",
        r#"telltale_source_null_values_total{source="maria",query="maria_job_avg_seconds"} 1"#,
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    breaker_follows_the_server(&server, &running, "maria", "maria_active_users 1").await;
    running.shutdown();
}
