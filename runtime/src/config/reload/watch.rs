//! Watching the configuration's files: their directories, not the files
//! themselves, so that a file replaced by a rename (as editors save), a
//! symlink swapped (as Kubernetes updates a mounted ConfigMap) or a new
//! file matched by an include's glob is seen. Every change in those
//! directories counts (a reload that finds the configuration unchanged
//! changes nothing); changes are debounced.

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

/// The directories watched and the watcher; dropping it stops watching.
pub(super) struct FileWatch {
    watcher: Mutex<notify::RecommendedWatcher>,
    dirs: Mutex<BTreeSet<PathBuf>>,
}

impl std::fmt::Debug for FileWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileWatch")
            .field("dirs", &self.dirs)
            .finish_non_exhaustive()
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

impl FileWatch {
    /// Starts watching `dirs`, telling `changes` of each change in them.
    pub(super) fn start(dirs: &[PathBuf], changes: Arc<Changes>) -> Result<FileWatch, String> {
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            // An error of the watcher itself (an overflowed queue) counts
            // too: a reload checks everything again.
            let reading = event
                .as_ref()
                .is_ok_and(|e| matches!(e.kind, notify::EventKind::Access(_)));
            if !reading {
                changes.saw();
            }
        })
        .map_err(|e| format!("cannot watch the configuration files: {e}"))?;
        let watch = FileWatch {
            watcher: Mutex::new(watcher),
            dirs: Mutex::new(BTreeSet::new()),
        };
        watch.set(dirs)?;
        Ok(watch)
    }

    /// Watches `dirs` from now on.
    pub(super) fn set(&self, dirs: &[PathBuf]) -> Result<(), String> {
        let dirs: BTreeSet<PathBuf> = dirs.iter().map(|d| absolute(d)).collect();
        let mut watcher = self.watcher.lock().unwrap_or_else(PoisonError::into_inner);
        let mut current = self.dirs.lock().unwrap_or_else(PoisonError::into_inner);
        for gone in current.difference(&dirs) {
            let _ = watcher.unwatch(gone);
        }
        let mut problem = None;
        let mut watched = BTreeSet::new();
        for dir in &dirs {
            if current.contains(dir) {
                watched.insert(dir.clone());
                continue;
            }
            match watcher.watch(dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    watched.insert(dir.clone());
                }
                Err(e) => problem = Some(format!("cannot watch {}: {e}", dir.display())),
            }
        }
        *current = watched;
        problem.map_or(Ok(()), Err)
    }
}
