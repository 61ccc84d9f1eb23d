//! Watching the configuration's files: their directories (so that a file
//! replaced by a rename, as editors save, is still seen), events filtered
//! to the files and to `.toml` files beside them (a new include matched by
//! a glob), and debounced.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use notify::{RecursiveMode, Watcher as _};
use tokio::sync::Notify;

/// Changes seen: a count (to tell whether more came while waiting) and a
/// wake-up.
#[derive(Debug, Default)]
pub(super) struct Changes {
    count: AtomicU64,
    wake: Notify,
}

impl Changes {
    fn saw(&self) {
        self.count.fetch_add(1, Ordering::AcqRel);
        self.wake.notify_one();
    }

    /// Waits for a change, then until none came for `quiet` (or `longest`
    /// passed since the first, so that a stream of writes still reloads).
    pub(super) async fn settled(&self, quiet: Duration, longest: Duration) {
        self.wake.notified().await;
        let first = tokio::time::Instant::now();
        loop {
            let seen = self.count.load(Ordering::Acquire);
            tokio::time::sleep(quiet).await;
            if self.count.load(Ordering::Acquire) == seen || first.elapsed() >= longest {
                return;
            }
        }
    }
}

/// The files watched and the watcher; dropping it stops watching.
pub(super) struct FileWatch {
    watcher: Mutex<notify::RecommendedWatcher>,
    files: Arc<Mutex<BTreeSet<PathBuf>>>,
    dirs: Mutex<BTreeSet<PathBuf>>,
}

impl std::fmt::Debug for FileWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileWatch")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

impl FileWatch {
    /// Starts watching `files`, telling `changes` of each change.
    pub(super) fn start(files: &[PathBuf], changes: Arc<Changes>) -> Result<FileWatch, String> {
        let watched: Arc<Mutex<BTreeSet<PathBuf>>> = Arc::default();
        let filter = Arc::clone(&watched);
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else {
                // An error of the watcher itself (an overflowed queue):
                // reloading checks everything again, so that is safe.
                changes.saw();
                return;
            };
            if matches!(event.kind, notify::EventKind::Access(_)) {
                return;
            }
            let files = filter.lock().unwrap_or_else(PoisonError::into_inner);
            let relevant = event
                .paths
                .iter()
                .any(|p| files.contains(p) || p.extension().is_some_and(|e| e == "toml"));
            drop(files);
            if relevant {
                changes.saw();
            }
        })
        .map_err(|e| format!("cannot watch the configuration files: {e}"))?;
        let watch = FileWatch {
            watcher: Mutex::new(watcher),
            files: watched,
            dirs: Mutex::new(BTreeSet::new()),
        };
        watch.set(files)?;
        Ok(watch)
    }

    /// Watches `files` (and their directories) from now on.
    pub(super) fn set(&self, files: &[PathBuf]) -> Result<(), String> {
        let files: BTreeSet<PathBuf> = files.iter().map(|f| absolute(f)).collect();
        let dirs: BTreeSet<PathBuf> = files
            .iter()
            .filter_map(|f| f.parent().map(Path::to_path_buf))
            .collect();
        let mut watcher = self.watcher.lock().unwrap_or_else(PoisonError::into_inner);
        let mut current = self.dirs.lock().unwrap_or_else(PoisonError::into_inner);
        for gone in current.difference(&dirs) {
            let _ = watcher.unwatch(gone);
        }
        let mut problem = None;
        for dir in dirs.difference(&current) {
            if let Err(e) = watcher.watch(dir, RecursiveMode::NonRecursive) {
                problem = Some(format!("cannot watch {}: {e}", dir.display()));
            }
        }
        *current = dirs;
        *self.files.lock().unwrap_or_else(PoisonError::into_inner) = files;
        problem.map_or(Ok(()), Err)
    }
}
