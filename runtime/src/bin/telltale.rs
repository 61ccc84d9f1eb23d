//! The `telltale` command: `agent` runs the metric sources of a
//! configuration file and serves them, reloading the file when it changes;
//! `check` validates a configuration file; `config show` and `config
//! migrate` print and update one.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use telltale::config::reload::{AdjustFn, Live, LiveOptions, ReloadReport, Trigger};
use telltale::config::{Config, Env, Loader};

const USAGE: &str = "\
usage:
  telltale agent --config FILE [--host HOST] [--port PORT] [--no-watch]
      Runs the sources of FILE's [custom_metrics] and serves them, with the
      server of its [server] section (TELLTALE_SERVER_* variables override
      the file, --host and --port override both), until SIGINT or SIGTERM.
      FILE and its includes are reloaded when they change (unless
      --no-watch), on SIGHUP and on POST /-/reload.
  telltale check FILE
      Reads and validates FILE; prints every mistake (file:line:column: key:
      what is wrong) and exits with status 1 if there is one.
  telltale config show FILE
      Prints FILE merged with its includes and interpolated, as TOML, each
      value with the file and line it came from; secrets masked.
  telltale config migrate FILE [--dry-run]
      Rewrites FILE in the current layout (its `version`), keeping comments
      and order, and prints what changed; --dry-run prints the new text
      instead of writing it.
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
        Some("config") => match &args[1..] {
            [verb, file] if verb == "show" => show_config(file),
            [verb, file] if verb == "migrate" => migrate(file, false),
            [verb, file, dry] if verb == "migrate" && dry == "--dry-run" => migrate(file, true),
            _ => usage("config takes `show FILE` or `migrate FILE [--dry-run]`"),
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
/// including each source built; every error reported, warnings printed.
fn load(file: &str) -> Option<Config> {
    let loaded = match Loader::new().load(file) {
        Ok(loaded) => loaded,
        Err(e) => {
            report(&e);
            return None;
        }
    };
    for warning in loaded.warnings() {
        eprintln!("warning: {warning}");
    }
    let mut config = loaded.into_config();
    if let Err(e) = config
        .apply_env(Env::from_process())
        .and_then(|()| config.validate())
    {
        report(&e);
        return None;
    }
    Some(config)
}

fn show_config(file: &str) -> ExitCode {
    match Loader::new().load(file) {
        Ok(loaded) => {
            print!("{}", loaded.show());
            ExitCode::SUCCESS
        }
        Err(e) => {
            report(&e);
            ExitCode::FAILURE
        }
    }
}

fn migrate(file: &str, dry_run: bool) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: cannot read {file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let migration = match telltale::config::migrate(&text, file) {
        Ok(migration) => migration,
        Err(e) => {
            report(&e);
            return ExitCode::FAILURE;
        }
    };
    if migration.changes.is_empty() {
        println!("{file}: already at version {}; unchanged", migration.to);
        return ExitCode::SUCCESS;
    }
    if dry_run {
        print!("{}", migration.text);
    } else {
        // Written beside the file, then renamed over it: never half written.
        let temporary = format!("{file}.migrating");
        if let Err(e) = std::fs::write(&temporary, &migration.text)
            .and_then(|()| std::fs::rename(&temporary, file))
        {
            let _ = std::fs::remove_file(&temporary);
            eprintln!("error: cannot write {file}: {e}");
            return ExitCode::FAILURE;
        }
    }
    let out = if dry_run {
        &mut std::io::stderr() as &mut dyn Write
    } else {
        &mut std::io::stdout()
    };
    let _ = writeln!(
        out,
        "{file}: version {} -> {}",
        migration.from, migration.to
    );
    for change in &migration.changes {
        let _ = writeln!(out, "  {change}");
    }
    ExitCode::SUCCESS
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
    let mut watch = true;
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
            "--no-watch" => {
                watch = false;
                Ok(())
            }
            other => Err(format!("unknown argument {other:?}")),
        };
        if let Err(problem) = parsed {
            return usage(&problem);
        }
    }
    let Some(file) = file else {
        return usage("agent needs --config FILE");
    };
    // The file's mistakes, all of them, before anything starts.
    if load(&file).is_none() {
        return ExitCode::FAILURE;
    }
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
    let adjust: AdjustFn = Arc::new(move |config: &mut Config| {
        if let Some(host) = &host {
            config.server.host.clone_from(host);
        }
        if let Some(port) = port {
            config.server.port = port;
        }
    });
    let options = LiveOptions {
        watch,
        adjust: Some(adjust),
        report: Some(Arc::new(print_reload)),
        ..LiveOptions::default()
    };
    runtime.block_on(serve(&file, options))
}

/// One line per reload on standard output, and its changes or error.
fn print_reload(report: &ReloadReport) {
    let mut out = std::io::stdout().lock();
    let trigger = match report.trigger {
        Trigger::File => "file changed",
        Trigger::Signal => "SIGHUP",
        Trigger::Http => "POST /-/reload",
        _ => "reload",
    };
    // Nobody may be reading standard output: never an error.
    let _ = match &report.result {
        Ok(changes) if changes.is_empty() => {
            writeln!(out, "telltale agent: reloaded ({trigger}): nothing changed")
        }
        Ok(changes) => writeln!(
            out,
            "telltale agent: reloaded ({trigger}): {}",
            changes.join("; ")
        ),
        Err(e) => writeln!(
            out,
            "telltale agent: reload failed ({trigger}), the running configuration stays: {e}"
        ),
    };
    let _ = out.flush();
}

async fn serve(file: &str, options: LiveOptions) -> ExitCode {
    let live = match Live::start(file, options).await {
        Ok(live) => live,
        Err(e) => {
            report(&e);
            return ExitCode::FAILURE;
        }
    };
    let count = live.sources().await.names().len();
    let refused = live.sources().await.refused_plugins();
    for refused in &refused {
        eprintln!(
            "warning: plugin {} refused: {}",
            refused.path.display(),
            refused.reason
        );
    }
    let _ = match live.url().await {
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
    wait_for_signal().await;
    let _ = writeln!(std::io::stdout(), "telltale agent: stopping");
    live.stop().await;
    ExitCode::SUCCESS
}

/// Waits for SIGTERM or SIGINT (SIGHUP reloads: the configuration listens
/// for it).
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
