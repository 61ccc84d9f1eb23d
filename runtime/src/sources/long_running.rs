//! Long-running exec sources: one process that keeps printing batches.
//!
//! A batch ends with a `# EOF` line (kept: OpenMetrics wants it) or an
//! empty line. The process starts at the first run; each run takes the
//! newest batch printed since the run before, waiting up to the timeout
//! for one. A process that exits, prints a batch past the output cap, or
//! prints nothing within the timeout is killed (its whole group) and
//! started again at the next run.

use std::sync::{Arc, Mutex as StdMutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, BufReader};
use tokio::process::Child;
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;

use super::process::{self, ExecConfig, Group, STDERR_LIMIT};
use super::source::{ErrorKind, SourceError};

/// The process of a long-running source, when it runs.
#[derive(Clone, Default)]
pub(crate) struct LongRunning {
    process: Arc<Mutex<Option<Process>>>,
}

impl std::fmt::Debug for LongRunning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LongRunning").finish_non_exhaustive()
    }
}

/// The newest batch the process printed: its number (from 1) and text, or
/// why reading stopped.
#[derive(Clone, Default)]
struct Frame {
    seq: u64,
    outcome: Option<Result<String, SourceError>>,
}

struct Process {
    child: Child,
    _group: Group,
    frames: watch::Receiver<Frame>,
    /// The number of the batch the last run took.
    seen: u64,
    stderr: Arc<StdMutex<Vec<u8>>>,
    reader: JoinHandle<()>,
}

impl Drop for Process {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl LongRunning {
    /// The next batch's text, starting the process if it is not running.
    pub(crate) async fn next_batch(
        &self,
        config: &ExecConfig,
        timeout: Duration,
    ) -> Result<String, SourceError> {
        let mut slot = self.process.lock().await;
        let process = match &mut *slot {
            Some(process) => process,
            empty => empty.insert(Process::start(config)?),
        };
        let outcome = match tokio::time::timeout(timeout, process.next()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(SourceError::new(
                ErrorKind::Timeout,
                format!(
                    "{:?} printed no batch within {timeout:?}; it was killed and starts again at the next run",
                    config.command[0]
                ),
            )),
        };
        if outcome.is_err() {
            // Dropping the process kills its group.
            *slot = None;
        }
        outcome
    }
}

impl Process {
    fn start(config: &ExecConfig) -> Result<Process, SourceError> {
        let (mut child, group) = process::spawn(config)?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(SourceError::connect("the command's output is not readable"));
        };
        let (sender, frames) = watch::channel(Frame::default());
        let kept = Arc::new(StdMutex::new(Vec::new()));
        let reader = tokio::spawn(read(
            stdout,
            stderr,
            config.max_output_bytes,
            sender,
            Arc::clone(&kept),
        ));
        Ok(Process {
            child,
            _group: group,
            frames,
            seen: 0,
            stderr: kept,
            reader,
        })
    }

    /// Waits for a batch newer than the last one taken.
    async fn next(&mut self) -> Result<String, SourceError> {
        loop {
            {
                let frame = self.frames.borrow_and_update();
                if frame.seq > self.seen {
                    self.seen = frame.seq;
                    if let Some(outcome) = frame.outcome.clone() {
                        return outcome;
                    }
                }
            }
            if self.frames.changed().await.is_err() {
                // The output ended: the process exited, or is exiting.
                let status = tokio::time::timeout(Duration::from_secs(1), self.child.wait()).await;
                let status = match status {
                    Ok(Ok(status)) => status.to_string(),
                    _ => "closed its output".to_owned(),
                };
                let stderr = self.stderr.lock().unwrap_or_else(PoisonError::into_inner);
                let stderr = String::from_utf8_lossy(&stderr).trim().to_owned();
                let mut message = format!("the long-running command stopped ({status})");
                if !stderr.is_empty() {
                    message.push_str(": ");
                    message.push_str(&stderr);
                }
                return Err(SourceError::new(ErrorKind::ExitStatus, message));
            }
        }
    }
}

/// Reads batches from `stdout` into `frames` until it ends or a batch
/// passes `cap` bytes, and keeps the last [`STDERR_LIMIT`] bytes of
/// `stderr`.
async fn read(
    stdout: impl AsyncRead + Unpin,
    stderr: impl AsyncRead + Unpin + Send + 'static,
    cap: usize,
    frames: watch::Sender<Frame>,
    kept: Arc<StdMutex<Vec<u8>>>,
) {
    let errors = tokio::spawn(async move {
        let mut stderr = stderr;
        let mut chunk = vec![0u8; 4096];
        while let Ok(n) = stderr.read(&mut chunk).await {
            if n == 0 {
                return;
            }
            let mut kept = kept.lock().unwrap_or_else(PoisonError::into_inner);
            kept.extend_from_slice(&chunk[..n]);
            let excess = kept.len().saturating_sub(STDERR_LIMIT);
            kept.drain(..excess);
        }
    });
    let mut lines = BufReader::new(stdout);
    let mut frame = String::new();
    let mut seq = 0;
    let mut send = |outcome: Result<String, SourceError>| {
        seq += 1;
        frames.send_replace(Frame {
            seq,
            outcome: Some(outcome),
        });
    };
    loop {
        let mut line = String::new();
        let room = (cap + 1).saturating_sub(frame.len()) as u64;
        let read = (&mut lines).take(room).read_line(&mut line).await;
        match read {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if frame.len() + line.len() > cap {
            send(Err(SourceError::new(
                ErrorKind::OutputTooLarge,
                format!("a batch passed the cap of {cap} bytes"),
            )));
            break;
        }
        let text = line.trim_end_matches(['\n', '\r']);
        if text == "# EOF" {
            frame.push_str(&line);
            send(Ok(std::mem::take(&mut frame)));
        } else if text.is_empty() {
            if !frame.is_empty() {
                send(Ok(std::mem::take(&mut frame)));
            }
        } else {
            frame.push_str(&line);
        }
    }
    // What it said last, as it exits, is read before the batch's end is
    // announced (unless a child holds standard error open).
    let mut errors = errors;
    let _ = tokio::time::timeout(Duration::from_millis(500), &mut errors).await;
    errors.abort();
    drop(frames);
}
