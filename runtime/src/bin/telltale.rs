//! The `telltale` command: `agent` runs the metric sources of a
//! configuration file and serves them; `check` validates a configuration
//! file.

use std::io::Write as _;
use std::process::ExitCode;

use telltale::config::{Config, Env};

const USAGE: &str = "\
usage:
  telltale agent --config FILE [--host HOST] [--port PORT]
      Runs the sources of FILE's [custom_metrics] and serves them, with the
      server of its [server] section (TELLTALE_SERVER_* variables override
      the file, --host and --port override both), until SIGINT or SIGTERM.
  telltale check FILE
      Reads and validates FILE; prints every mistake (file:line:column: key:
      what is wrong) and exits with status 1 if there is one.
  telltale --version
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("agent") => agent(&args[1..]),
        Some("check") => match &args[1..] {
            [file] => check(file),
            _ => usage("check takes one file"),
        },
        Some("--version" | "-V") => {
            println!("telltale {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("--help" | "-h" | "help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => usage(&format!("unknown command {other:?}")),
        None => usage("no command given"),
    }
}

fn usage(problem: &str) -> ExitCode {
    eprint!("telltale: {problem}\n{USAGE}");
    ExitCode::from(2)
}

/// Prints each line of `error` on its own line, prefixed.
fn report(error: &telltale::Error) {
    let text = error.to_string();
    let text = text
        .strip_prefix("invalid configuration: ")
        .unwrap_or(&text);
    for line in text.lines() {
        eprintln!("error: {line}");
    }
}

/// The file read, the environment applied, and every section checked,
/// including each source built; every error reported.
fn load(file: &str) -> Option<Config> {
    let mut config = match Config::from_file(file) {
        Ok(config) => config,
        Err(e) => {
            report(&e);
            return None;
        }
    };
    if let Err(e) = config
        .apply_env(Env::from_process())
        .and_then(|()| config.validate())
    {
        report(&e);
        return None;
    }
    Some(config)
}

fn check(file: &str) -> ExitCode {
    match load(file) {
        Some(config) => {
            println!(
                "{file}: ok ({} source{})",
                config.custom_metrics.sources.len(),
                if config.custom_metrics.sources.len() == 1 {
                    ""
                } else {
                    "s"
                }
            );
            ExitCode::SUCCESS
        }
        None => ExitCode::FAILURE,
    }
}

fn agent(args: &[String]) -> ExitCode {
    let mut file = None;
    let mut host = None;
    let mut port = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = |name: &str| {
            rest.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        let parsed = match arg.as_str() {
            "--config" => value("--config").map(|v| file = Some(v)),
            "--host" => value("--host").map(|v| host = Some(v)),
            "--port" => value("--port").and_then(|v| {
                v.parse::<u16>()
                    .map(|p| port = Some(p))
                    .map_err(|_| format!("--port {v:?} is not a port number"))
            }),
            other => Err(format!("unknown argument {other:?}")),
        };
        if let Err(problem) = parsed {
            return usage(&problem);
        }
    }
    let Some(file) = file else {
        return usage("agent needs --config FILE");
    };
    let Some(mut config) = load(&file) else {
        return ExitCode::FAILURE;
    };
    if let Some(host) = host {
        config.server.host = host;
    }
    if let Some(port) = port {
        config.server.port = port;
    }
    let plugins = (
        config.custom_metrics.plugin_directories.clone(),
        config.custom_metrics.rescan_every(),
    );
    let sources = match config.custom_metrics.build() {
        Ok(sources) => sources,
        Err(errors) => {
            for e in &errors {
                report(e);
            }
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(config, sources, plugins))
}

async fn serve(
    config: Config,
    sources: Vec<telltale::sources::SourceBox>,
    (plugin_dirs, rescan): (Vec<std::path::PathBuf>, std::time::Duration),
) -> ExitCode {
    let system = match telltale::system::System::try_start(config.system) {
        Ok(system) => system,
        Err(e) => {
            report(&e);
            return ExitCode::FAILURE;
        }
    };
    let running = match telltale::sources::start(sources) {
        Ok(running) => running,
        Err(e) => {
            report(&e);
            return ExitCode::FAILURE;
        }
    };
    if !plugin_dirs.is_empty() {
        let scan = running.watch_plugins(
            plugin_dirs,
            rescan,
            telltale::sources::SourceOptions::default(),
        );
        for refused in &scan.refused {
            eprintln!(
                "warning: plugin {} refused: {}",
                refused.path.display(),
                refused.reason
            );
        }
    }
    let server = match telltale::server::start(config.server).await {
        Ok(server) => server,
        Err(e) => {
            report(&e);
            running.shutdown();
            return ExitCode::FAILURE;
        }
    };
    // Nobody may be reading standard output: never an error.
    let count = running.names().len();
    let _ = match server.url() {
        Some(url) => writeln!(
            std::io::stdout(),
            "telltale agent: serving {count} sources at {url}"
        ),
        None => writeln!(
            std::io::stdout(),
            "telltale agent: running {count} sources (server disabled)"
        ),
    };
    let _ = std::io::stdout().flush();
    wait_for_signal(&running).await;
    let _ = writeln!(std::io::stdout(), "telltale agent: stopping");
    running.shutdown();
    server.stop().await;
    system.shutdown();
    ExitCode::SUCCESS
}

/// Waits for SIGTERM or SIGINT; on SIGHUP, rescans the plugin
/// directories.
async fn wait_for_signal(running: &telltale::sources::Sources) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        loop {
            tokio::select! {
                _ = term.recv() => return,
                _ = tokio::signal::ctrl_c() => return,
                _ = hup.recv() => {
                    let scan = running.rescan_plugins();
                    let _ = writeln!(
                        std::io::stdout(),
                        "telltale agent: plugins rescanned: {} started, {} restarted, {} stopped, {} refused",
                        scan.started.len(),
                        scan.restarted.len(),
                        scan.stopped.len(),
                        scan.refused.len()
                    );
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = running;
        let _ = tokio::signal::ctrl_c().await;
    }
}
