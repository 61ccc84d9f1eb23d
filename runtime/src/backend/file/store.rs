//! The file backend at work: this process's file, written every flush
//! interval and at exit, and collections merged from every file.

use std::path::Path;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Instant;

use crate::backend::delegate::{self, Store};
use crate::backend::file::arena::Arena;
use crate::backend::file::dir::{self, Cache, Compaction};
use crate::backend::file::format;
use crate::backend::kind::FileOptions;
use crate::backend::part::{self, Changes, Part, PartFamily, ProcessId};
use crate::backend::{process, status};
use crate::collect::registry as shared;
use crate::collect::snapshot::Snapshot;
use crate::error::Error;

#[derive(Debug)]
struct FileStore {
    options: FileOptions,
    me: ProcessId,
    cache: Cache,
    /// Gauge change times, and the bytes last written (not written again
    /// while nothing changed).
    written: Mutex<(Changes, Vec<u8>)>,
}

static STORE: OnceLock<FileStore> = OnceLock::new();
/// This process's mapped cells, once the backend runs.
static ARENA: OnceLock<Arena> = OnceLock::new();

/// This process's mapped cells, when the file backend runs.
pub(crate) fn arena() -> Option<&'static Arena> {
    ARENA.get()
}

fn problem(directory: &Path, e: impl std::fmt::Display) -> Error {
    Error::Backend {
        backend: "file",
        reason: format!("{}: {e}", directory.display()),
    }
}

/// Starts the file backend: creates the directory, writes this process's
/// file once (so an unwritable directory is an error now), then writes it
/// every flush interval and at exit, and compacts every compact interval.
pub(crate) fn start(options: &FileOptions) -> Result<(), Error> {
    let directory = &options.directory;
    std::fs::create_dir_all(directory).map_err(|e| problem(directory, e))?;
    let me = process::own();
    if ARENA.get().is_none() {
        // Without it (a file system that cannot map files shared), every
        // metric keeps its cells in the process and is written out each
        // flush: said in the status.
        match Arena::create(directory, me) {
            Ok(a) => {
                let _ = ARENA.set(a);
                if let Some(a) = ARENA.get() {
                    crate::store::mapped::install(a);
                }
            }
            Err(e) => status::problem(&e),
        }
    }
    let store = FileStore {
        options: options.clone(),
        me,
        cache: Cache::default(),
        written: Mutex::new((Changes::default(), Vec::new())),
    };
    store.write().map_err(|e| problem(directory, e))?;
    let store = STORE.get_or_init(|| store);
    delegate::install(store);
    status::started("file");
    status::flushed(Ok(()));
    crate::backend::exit::flush_at_exit();
    let every = options.flush_interval;
    let compact_every = options.compact_interval;
    std::thread::Builder::new()
        .name("telltale-backend-file".into())
        .spawn(move || {
            let mut compacted = Instant::now();
            loop {
                std::thread::sleep(every);
                let outcome = store.write();
                status::flushed(outcome.as_ref().copied().map_err(String::as_str));
                if compacted.elapsed() >= compact_every {
                    compacted = Instant::now();
                    if let Err(e) = dir::compact(&store.options.directory, &store.cache) {
                        status::problem(&e);
                    }
                }
            }
        })
        .map_err(|e| problem(directory, e))?;
    Ok(())
}

impl FileStore {
    /// Writes this process's values to its file, unless they are what it
    /// wrote last.
    fn write(&self) -> Result<(), String> {
        let snapshot = shared::collect_shared();
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        let mut part = Part::from_snapshot(self.me, &snapshot, &mut written.0);
        if let Some(arena) = ARENA.get() {
            arena.stamp_changes(crate::store::clock::unix_now());
            // Series whose cells are in the mapped file are read from it.
            part.families.retain_mut(|family| {
                let had = family.series.len();
                let name = &family.name;
                family.series.retain(|s| !arena.holds(name, &s.labels));
                had == 0 || !family.series.is_empty()
            });
        }
        let bytes = format::encode(&part, 0, &[]);
        if bytes == written.1 {
            return Ok(());
        }
        let name = dir::file_name(self.me);
        dir::replace(&self.options.directory, &name, &bytes, false)
            .map_err(|e| format!("{}: {e}", self.options.directory.join(&name).display()))?;
        written.1 = bytes;
        Ok(())
    }
}

impl Store for FileStore {
    fn merged(&self, local: &Snapshot) -> Vec<PartFamily> {
        let own = {
            let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
            Part::from_snapshot(self.me, local, &mut written.0)
        };
        let others = match dir::read_others(&self.options.directory, self.me, &self.cache) {
            Ok(o) => o,
            Err(e) => {
                status::problem(&format!("{}: {e}", self.options.directory.display()));
                dir::Others::default()
            }
        };
        if let Some(bad) = others.bad.first() {
            status::problem(bad);
        }
        let (live, dead) = count(&others.parts);
        // And this process, whose files are not among the others.
        status::processes(live + 1, dead);
        let parts = std::iter::once(&own).chain(others.parts.iter().map(|d| &d.part));
        part::merge(parts, &process::alive)
    }

    fn flush(&self) -> Result<(), Error> {
        let outcome = self.write();
        status::flushed(outcome.as_ref().copied().map_err(String::as_str));
        outcome.map_err(|reason| Error::Backend {
            backend: "file",
            reason,
        })
    }
}

/// Live and dead processes among the owners of `parts` (a process with a
/// flushed file and a cells file counted once; the archive not at all).
fn count(parts: &[std::sync::Arc<format::Decoded>]) -> (usize, usize) {
    let owners: std::collections::BTreeSet<ProcessId> =
        parts.iter().filter_map(|d| d.part.owner).collect();
    let live = owners.iter().filter(|p| process::alive(**p)).count();
    (live, owners.len() - live)
}

/// Folds the files of dead processes in the file backend's directory into
/// its archive now (every process does it every compact interval).
///
/// # Errors
///
/// [`Error::Backend`] when the file backend is not running, or the
/// archive cannot be read or written.
pub fn compact() -> Result<Compaction, Error> {
    let Some(store) = STORE.get() else {
        return Err(Error::Backend {
            backend: "file",
            reason: "the file backend is not running".to_owned(),
        });
    };
    dir::compact(&store.options.directory, &store.cache).map_err(|reason| Error::Backend {
        backend: "file",
        reason,
    })
}

/// What [`read_directory`] found in a file backend's directory.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DirectoryRead {
    /// Every process's shared metrics merged, as a collection in one of
    /// them would export them (without its `telltale_*` series).
    pub snapshot: Snapshot,
    /// Files that did not read (cut short, damaged, another layout
    /// version), each with what is wrong; their values are left out.
    pub problems: Vec<String>,
    /// Processes with a file that still run.
    pub live: usize,
    /// Processes with a file that have exited (the archive not counted).
    pub dead: usize,
}

/// Reads and merges the files of a file backend's directory, from any
/// process (one that writes there or not): what `telltale agent` pointed
/// at the directory exports.
///
/// # Errors
///
/// [`Error::Backend`] when the directory cannot be listed.
pub fn read_directory(directory: impl AsRef<Path>) -> Result<DirectoryRead, Error> {
    let directory = directory.as_ref();
    let cache = Cache::default();
    // A process id no file has: every file is someone else's.
    let nobody = ProcessId { pid: 0, token: 0 };
    let others = dir::read_others(directory, nobody, &cache).map_err(|e| problem(directory, e))?;
    let (live, dead) = count(&others.parts);
    let families = part::merge(others.parts.iter().map(|d| &d.part), &process::alive);
    let mut sink = crate::collect::registry::Sink::default();
    part::push_into(&families, &mut sink);
    Ok(DirectoryRead {
        snapshot: sink.finish(),
        problems: others.bad,
        live,
        dead,
    })
}

/// Folds the files of dead processes in `directory` into its archive, from
/// any process (see [`compact`]).
///
/// # Errors
///
/// [`Error::Backend`] when the archive cannot be read or written.
pub fn compact_directory(directory: impl AsRef<Path>) -> Result<Compaction, Error> {
    let directory = directory.as_ref();
    dir::compact(directory, &Cache::default()).map_err(|reason| Error::Backend {
        backend: "file",
        reason,
    })
}
