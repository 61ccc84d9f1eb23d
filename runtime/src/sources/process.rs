//! Running a command as sources do: its configuration, the command built
//! from it (argv, cleared environment, own process group, standard input
//! closed), capped reads, and the process group killed when it is done
//! with.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::process::{Child, Command};

use super::exposition::OutputFormat;
use super::source::SourceError;

/// Most bytes of standard error kept for the last error.
pub(crate) const STDERR_LIMIT: usize = 4096;

/// The default cap on a command's standard output: 4 MiB.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 4 << 20;

/// How to run one command.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecConfig {
    /// One run a run (the default), or one process kept running that
    /// prints a batch each interval.
    pub mode: ExecMode,
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
    /// [`OutputTooLarge`](super::ErrorKind::OutputTooLarge) error.
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
            mode: ExecMode::OneShot,
            format: OutputFormat::Prometheus,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
        }
    }
}

/// How an exec source runs its command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "json", derive(serde::Deserialize))]
#[cfg_attr(feature = "json", serde(rename_all = "snake_case"))]
pub enum ExecMode {
    /// A process a run, which prints one batch and exits.
    #[default]
    OneShot,
    /// One process, started at the first run (and again after it exits),
    /// that keeps printing batches: each ends with a `# EOF` line
    /// (OpenMetrics) or an empty line. A run takes the newest batch
    /// printed since the run before, waiting for one up to the timeout.
    LongRunning,
}

/// The command `config` describes, ready to spawn.
pub(crate) fn command(config: &ExecConfig) -> Command {
    let mut env: BTreeMap<String, String> = config
        .inherit_env
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.clone(), v)))
        .collect();
    env.extend(config.env.clone());
    let program = resolve(&config.command[0], env.get("PATH").map(String::as_str));
    let mut command = Command::new(program);
    command
        .args(&config.command[1..])
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    if let Some(dir) = &config.working_dir {
        command.current_dir(dir);
    }
    command
}

/// Starts the command; the child and its process group.
pub(crate) fn spawn(config: &ExecConfig) -> Result<(Child, Group), SourceError> {
    let child = command(config)
        .spawn()
        .map_err(|e| SourceError::connect(format!("cannot start {:?}: {e}", config.command[0])))?;
    let group = Group(child.id());
    Ok((child, group))
}

/// Reads `reader` to its end or until `cap` bytes; the bytes (at most
/// `cap`) and whether there was more. Keeps reading what is past the cap
/// of standard error only to let the command go on; the output's cap ends
/// the read at once.
pub(crate) async fn read_capped(
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
pub(crate) struct Group(Option<u32>);

impl Group {
    pub(crate) fn kill(&self) {
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
