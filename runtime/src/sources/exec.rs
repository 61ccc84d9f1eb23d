//! Exec sources: a command run every interval whose standard output is
//! metrics.
//!
//! The command is an argv (never a shell line) run with a cleared
//! environment plus the variables configured, in its own process group,
//! with standard input closed. At the timeout the whole group is killed
//! (`SIGKILL`), so a script's children go too; the same happens when the
//! output passes its cap. Standard error is kept (its first 4 KiB) and
//! quoted in the source's last error when the run fails.

use tokio::process::Child;

use super::batch::Batch;
use super::exposition;
use super::long_running::LongRunning;
use super::process::{self, read_capped, ExecConfig, ExecMode, STDERR_LIMIT};
use super::source::{ErrorKind, Source, SourceError, SourceOptions};

/// A source that runs a command every interval; its standard output is
/// metrics in the configured [`OutputFormat`](super::OutputFormat).
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
    long: LongRunning,
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
            long: LongRunning::default(),
        })
    }

    /// Runs the command once and reads its output.
    pub(crate) async fn output(&self) -> Result<String, SourceError> {
        let (mut child, group) = process::spawn(&self.config)?;
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

impl Source for ExecSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn options(&self) -> SourceOptions {
        // The run's own timeout kills the command and says so.
        self.options.with_grace()
    }

    async fn collect(&self, batch: &mut Batch) -> Result<(), SourceError> {
        let text = match self.config.mode {
            ExecMode::OneShot => Box::pin(self.output()).await?,
            ExecMode::LongRunning => {
                self.long
                    .next_batch(&self.config, self.options.effective_timeout())
                    .await?
            }
        };
        *batch = exposition::read(self.config.format, &text).map_err(SourceError::parse)?;
        Ok(())
    }
}
