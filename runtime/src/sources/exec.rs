//! Exec sources: a command run every interval whose standard output is
//! metrics.
//!
//! The command is an argv (never a shell line) run with a cleared
//! environment plus the variables configured, in its own process group,
//! with standard input closed. At the timeout the whole group is killed
//! (`SIGKILL`), so a script's children go too; the same happens when the
//! output passes its cap. Standard error is kept (its first 4 KiB) and
//! quoted in the source's last error when the run fails.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::process::{Child, Command};

use super::batch::Batch;
use super::exposition::{self, OutputFormat};
use super::source::{ErrorKind, Source, SourceError, SourceOptions};

/// Most bytes of standard error kept for the last error.
const STDERR_LIMIT: usize = 4096;

/// The default cap on a command's standard output: 4 MiB.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 4 << 20;

/// How to run one command.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecConfig {
    /// The program and its arguments. A program without a `/` is looked
    /// up in the `PATH` given in `env` (or `/usr/bin:/bin` without one).
    pub command: Vec<String>,
    /// The environment: only these variables are set.
    pub env: BTreeMap<String, String>,
    /// Variables passed on from telltale's own environment, when set.
    pub inherit_env: Vec<String>,
    /// The working directory (telltale's own when `None`).
    pub working_dir: Option<PathBuf>,
    /// The format of the output.
    pub format: OutputFormat,
    /// The most bytes of output read; more is an
    /// [`OutputTooLarge`](ErrorKind::OutputTooLarge) error.
    pub max_output_bytes: usize,
}

impl ExecConfig {
    /// Runs `command` (program and arguments) with the defaults: no
    /// environment, Prometheus text, 4 MiB of output at most.
    pub fn new<I, S>(command: I) -> ExecConfig
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ExecConfig {
            command: command.into_iter().map(Into::into).collect(),
            env: BTreeMap::new(),
            inherit_env: Vec::new(),
            working_dir: None,
            format: OutputFormat::Prometheus,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
        }
    }
}

/// A source that runs a command every interval; its standard output is
/// metrics in the configured [`OutputFormat`].
///
/// The command is an argv (never a shell line) run with a cleared
/// environment plus the variables configured, in its own process group,
/// with standard input closed. At the timeout the whole group is killed
/// (`SIGKILL`), so a script's children go too; the same happens when the
/// output passes its cap. Standard error is kept (its first 4 KiB) and
/// quoted in the source's last error when the run fails.
///
/// ```no_run
/// use std::time::Duration;
/// use telltale::sources::{self, ExecConfig, ExecSource, SourceBox, SourceOptions};
///
/// # async fn run() -> Result<(), telltale::Error> {
/// let disk = ExecSource::new(
///     "disk_check",
///     ExecConfig::new(["./check.sh", "--fast"]),
///     SourceOptions { interval: Duration::from_secs(10), timeout: Duration::from_secs(2), ..Default::default() },
/// )?;
/// let running = sources::start([SourceBox::new(disk)])?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ExecSource {
    name: String,
    config: ExecConfig,
    options: SourceOptions,
}

impl ExecSource {
    /// An exec source named `name`.
    ///
    /// # Errors
    ///
    /// [`Error::Source`](crate::error::Error::Source) for an empty command, an
    /// empty or bad variable name, a zero output cap, or invalid options.
    pub fn new(
        name: impl Into<String>,
        config: ExecConfig,
        options: SourceOptions,
    ) -> Result<ExecSource, crate::error::Error> {
        let name = name.into();
        let err = |field: &str, reason: String| crate::error::Error::Source {
            source: name.clone(),
            field: Some(field.to_owned()),
            reason,
        };
        match config.command.first() {
            None => return Err(err("command", "no program given".into())),
            Some(p) if p.is_empty() => return Err(err("command", "the program is empty".into())),
            Some(_) => {}
        }
        for key in config.env.keys().chain(&config.inherit_env) {
            if key.is_empty() || key.contains('=') || key.contains('\0') {
                return Err(err("env", format!("{key:?} is not a variable name")));
            }
        }
        if config.max_output_bytes == 0 {
            return Err(err("max_output_bytes", "must be at least 1".into()));
        }
        super::source::check(&name, &options)?;
        Ok(ExecSource {
            name,
            config,
            options,
        })
    }

    fn command(&self) -> Command {
        let c = &self.config;
        let mut env: BTreeMap<String, String> = c
            .inherit_env
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.clone(), v)))
            .collect();
        env.extend(c.env.clone());
        let program = resolve(&c.command[0], env.get("PATH").map(String::as_str));
        let mut command = Command::new(program);
        command
            .args(&c.command[1..])
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);
        if let Some(dir) = &c.working_dir {
            command.current_dir(dir);
        }
        command
    }

    /// Runs the command once and reads its output.
    pub(crate) async fn output(&self) -> Result<String, SourceError> {
        let mut child = self.command().spawn().map_err(|e| {
            SourceError::connect(format!("cannot start {:?}: {e}", self.config.command[0]))
        })?;
        let group = Group(child.id());
        let outcome =
            tokio::time::timeout(self.options.effective_timeout(), self.read(&mut child)).await;
        let result = match outcome {
            Ok(result) => result,
            Err(_) => Err(SourceError::new(
                ErrorKind::Timeout,
                format!(
                    "{:?} did not finish within {:?} and was killed",
                    self.config.command[0],
                    self.options.effective_timeout()
                ),
            )),
        };
        if result.is_err() {
            group.kill();
            // Reaped now, so no zombie is left.
            let _ = child.wait().await;
        }
        drop(group);
        result
    }

    async fn read(&self, child: &mut Child) -> Result<String, SourceError> {
        let cap = self.config.max_output_bytes;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(SourceError::connect("the command's output is not readable"));
        };
        let (out, err) = tokio::join!(read_capped(stdout, cap), read_capped(stderr, STDERR_LIMIT));
        let (out, too_large) =
            out.map_err(|e| SourceError::connect(format!("reading the output: {e}")))?;
        let err_text = err
            .map(|(bytes, _)| String::from_utf8_lossy(&bytes).trim().to_owned())
            .unwrap_or_default();
        if too_large {
            return Err(SourceError::new(
                ErrorKind::OutputTooLarge,
                format!("the output passed the cap of {cap} bytes"),
            ));
        }
        let status = child
            .wait()
            .await
            .map_err(|e| SourceError::connect(format!("waiting for the command: {e}")))?;
        if !status.success() {
            let mut message = format!("{:?} {status}", self.config.command[0]);
            if !err_text.is_empty() {
                message.push_str(": ");
                message.push_str(&err_text);
            }
            return Err(SourceError::new(ErrorKind::ExitStatus, message));
        }
        String::from_utf8(out).map_err(|_| SourceError::parse("the output is not UTF-8"))
    }
}

/// Reads `reader` to its end or until `cap` bytes; the bytes (at most
/// `cap`) and whether there was more. Keeps reading what is past the cap
/// of standard error only to let the command go on; the output's cap ends
/// the read at once.
async fn read_capped(
    mut reader: impl AsyncRead + Unpin,
    cap: usize,
) -> std::io::Result<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    // On the heap: the run's future stays small.
    let mut chunk = vec![0u8; 8192];
    loop {
        let n = reader.read(&mut chunk).await?;
        if n == 0 {
            return Ok((out, false));
        }
        let room = cap - out.len();
        if n > room {
            out.extend_from_slice(&chunk[..room]);
            return Ok((out, true));
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// The program to run: a name without `/` looked up in `path`.
fn resolve(program: &str, path: Option<&str>) -> PathBuf {
    if program.contains('/') {
        return PathBuf::from(program);
    }
    let path = path.unwrap_or("/usr/bin:/bin");
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from(program))
}

/// A command's process group, killed when dropped (a run cut off from
/// outside) or when asked.
struct Group(Option<u32>);

impl Group {
    fn kill(&self) {
        #[cfg(unix)]
        if let Some(pid) = self
            .0
            .and_then(|id| i32::try_from(id).ok())
            .and_then(rustix::process::Pid::from_raw)
        {
            // The group may be gone already: nothing to do then.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Source for ExecSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn options(&self) -> SourceOptions {
        // The run's own timeout kills the command and says so; the
        // scheduler's is a little later.
        let mut options = self.options.clone();
        options.timeout = options.effective_timeout() + Duration::from_millis(500);
        options.interval = options.interval.max(options.timeout);
        options
    }

    async fn collect(&self, batch: &mut Batch) -> Result<(), SourceError> {
        let text = self.output().await?;
        *batch = exposition::read(self.config.format, &text).map_err(SourceError::parse)?;
        Ok(())
    }
}
