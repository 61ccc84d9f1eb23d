//! telltale's quickstart: an instrumented demo service serving its metrics.
//!
//! ```text
//! cargo run -p telltale-examples --bin quickstart            # 127.0.0.1:9464
//! cargo run -p telltale-examples --bin quickstart -- --port 0  # any free port
//! TELLTALE_PORT=9000 cargo run -p telltale-examples --bin quickstart
//! ```
//!
//! It prints the URL of its metrics, then calls the demo's instrumented
//! functions in a loop until Ctrl-C (or SIGTERM), and stops the server.

use std::process::ExitCode;

/// The port served when neither `--port` nor `TELLTALE_PORT` says otherwise.
const DEFAULT_PORT: u16 = 9464;

const USAGE: &str = "\
usage: quickstart [--port N] [--iterations N]

Serves the demo service's metrics at http://127.0.0.1:PORT/metrics while
calling its instrumented functions, until Ctrl-C.

options:
  --port N         port to listen on (default 9464, or $TELLTALE_PORT; 0 = any free port)
  --iterations N   stop after N iterations of the demo loop instead of running until Ctrl-C
  -h, --help       print this help";

#[derive(Debug, PartialEq, Eq)]
struct Options {
    port: u16,
    iterations: Option<u64>,
}

fn parse_number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
    value
        .parse()
        .map_err(|_| format!("{flag}: `{value}` is not a valid number"))
}

/// Reads the options from the arguments (without the program name) and the
/// value of `TELLTALE_PORT`. `Ok(None)` means help was asked for.
fn parse_options(
    args: impl IntoIterator<Item = String>,
    env_port: Option<String>,
) -> Result<Option<Options>, String> {
    let mut options = Options {
        port: match env_port {
            Some(port) => parse_number("TELLTALE_PORT", Some(port))?,
            None => DEFAULT_PORT,
        },
        iterations: None,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" => options.port = parse_number("--port", inline.or_else(|| args.next()))?,
            "--iterations" => {
                options.iterations = Some(parse_number(
                    "--iterations",
                    inline.or_else(|| args.next()),
                )?);
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Some(options))
}

/// Resolves when the process is asked to stop (Ctrl-C, or SIGTERM on Unix).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_options(
        std::env::args().skip(1),
        std::env::var("TELLTALE_PORT").ok(),
    ) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("quickstart: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    telltale_examples::quiet_demo_panics();
    telltale::build_info!();
    // Windows of the last seconds to hours, resource sampling, health and
    // dashboards, served as JSON under /api next to /metrics.
    let system = telltale::system::System::start(telltale::system::SystemConfig::default());

    let config = telltale::server::ServerConfig {
        port: options.port,
        ..Default::default()
    };
    let server = match telltale::server::start(config).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("quickstart: cannot serve metrics: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "serving metrics at {}",
        server
            .url()
            .as_deref()
            .unwrap_or("(nowhere: the server is disabled)")
    );
    if let Some(addr) = server.local_addr() {
        println!("health at http://{addr}/api/health");
        println!(
            "dashboards at http://{addr}/api/dashboard/overview (also /performance, /errors) and http://{addr}/api/stats"
        );
    }
    println!("press Ctrl-C to stop");

    tokio::select! {
        () = telltale_examples::drive(options.iterations) => {}
        () = shutdown_signal() => {}
    }

    server.stop().await;
    system.shutdown();
    let tally = telltale_examples::tally();
    println!(
        "stopped after {} iterations of the demo loop",
        tally.iterations
    );
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::{parse_options, Options, DEFAULT_PORT};

    fn parse(args: &[&str], env: Option<&str>) -> Result<Option<Options>, String> {
        parse_options(args.iter().map(|s| (*s).to_owned()), env.map(str::to_owned))
    }

    #[test]
    fn defaults_to_9464() {
        let options = parse(&[], None).unwrap().unwrap();
        assert_eq!(options.port, DEFAULT_PORT);
        assert_eq!(options.iterations, None);
    }

    #[test]
    fn port_from_flag_beats_env() {
        assert_eq!(parse(&[], Some("9000")).unwrap().unwrap().port, 9000);
        assert_eq!(
            parse(&["--port", "0"], Some("9000")).unwrap().unwrap().port,
            0
        );
        assert_eq!(parse(&["--port=1234"], None).unwrap().unwrap().port, 1234);
    }

    #[test]
    fn iterations_flag() {
        let options = parse(&["--iterations", "5"], None).unwrap().unwrap();
        assert_eq!(options.iterations, Some(5));
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(parse(&["--port"], None)
            .unwrap_err()
            .contains("needs a value"));
        assert!(parse(&["--port", "x"], None)
            .unwrap_err()
            .contains("not a valid number"));
        assert!(parse(&["--port", "70000"], None).is_err());
        assert!(parse(&[], Some("nope"))
            .unwrap_err()
            .contains("TELLTALE_PORT"));
        assert!(parse(&["--frobnicate"], None)
            .unwrap_err()
            .contains("unknown argument"));
    }

    #[test]
    fn help() {
        assert_eq!(parse(&["--help"], None).unwrap(), None);
        assert_eq!(parse(&["-h"], None).unwrap(), None);
    }
}
