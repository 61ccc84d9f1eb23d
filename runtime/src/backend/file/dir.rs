//! The shared directory: each process's file, the archive of dead ones,
//! and compaction.
//!
//! A process writes `proc-<pid>-<token>.tt` (through a temporary file and
//! a rename, so a reader sees a whole file or the previous one), and keeps
//! the cells of metrics registered once the backend runs in
//! `proc-<pid>-<token>.cells` (mapped: read as they are now). Both are the
//! process's files: read, absorbed and deleted alike. The
//! archive `archive.tt` holds the sum of every dead process whose file it
//! absorbed, and the names of the files absorbed by its last compaction.
//!
//! Compaction (under an exclusive lock on `.lock`): delete the files the
//! archive lists (left by a compaction that stopped before deleting them),
//! fold the dead processes' files into a new archive, write it to a
//! temporary file, sync it, rename it over the archive, sync the
//! directory, then delete the files it absorbed. Stopped at any point, it
//! loses nothing and counts nothing twice: before the rename the old
//! archive and the files stand; after it, readers skip the files the new
//! archive names until they are deleted.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::backend::file::arena;
use crate::backend::file::format::{self, Decoded};
use crate::backend::part::{self, Part, ProcessId};
use crate::backend::process;

const ARCHIVE: &str = "archive.tt";

/// The file name of process `p`.
pub(crate) fn file_name(p: ProcessId) -> String {
    format!("proc-{}.tt", p.key())
}

/// The process whose file (`.tt`, or its mapped cells, `.cells`) `name` is.
fn process_of(name: &str) -> Option<ProcessId> {
    let key = name.strip_prefix("proc-")?;
    ProcessId::parse(
        key.strip_suffix(".tt")
            .or_else(|| key.strip_suffix(".cells"))?,
    )
}

/// Writes `bytes` to `dir/name` through a temporary file and a rename;
/// with `sync`, the file and the directory are synced too.
pub(crate) fn replace(dir: &Path, name: &str, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = fs::File::create(&tmp)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| if sync { file.sync_all() } else { Ok(()) });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    drop(file);
    fs::rename(&tmp, dir.join(name))?;
    if sync {
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// A file's identity: a rewritten file (a new inode, length or time)
/// is read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    inode: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

fn stamp(meta: &fs::Metadata) -> Stamp {
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0;
    Stamp {
        inode,
        len: meta.len(),
        modified: meta.modified().ok(),
    }
}

/// Decoded files, kept while they do not change.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    files: Mutex<HashMap<PathBuf, (Stamp, std::sync::Arc<Decoded>)>>,
}

/// Why a file could not be used.
#[derive(Debug)]
enum Unread {
    /// It was removed (by a compaction) between listing and reading.
    Gone,
    /// It does not read: what is wrong.
    Bad(String),
}

impl Cache {
    fn read(&self, path: &Path) -> Result<std::sync::Arc<Decoded>, Unread> {
        let gone = |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Unread::Gone
            } else {
                Unread::Bad(format!("{}: {e}", path.display()))
            }
        };
        if path.extension().is_some_and(|e| e == "cells") {
            // Mapped cells change without a write: read as they are now.
            let decoded = arena::read(path)
                .map_err(gone)?
                .map_err(|e| Unread::Bad(format!("{}: {e}", path.display())))?;
            return Ok(std::sync::Arc::new(decoded));
        }
        let meta = fs::metadata(path).map_err(gone)?;
        let stamp = stamp(&meta);
        let mut files = self
            .files
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((s, d)) = files.get(path) {
            if *s == stamp {
                return Ok(d.clone());
            }
        }
        let bytes = fs::read(path).map_err(gone)?;
        let decoded =
            format::decode(&bytes).map_err(|e| Unread::Bad(format!("{}: {e}", path.display())))?;
        let decoded = std::sync::Arc::new(decoded);
        files.insert(path.to_owned(), (stamp, decoded.clone()));
        Ok(decoded)
    }

    /// Forgets files that no longer exist.
    fn keep_only(&self, paths: &HashSet<PathBuf>) {
        self.files
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|p, _| paths.contains(p) || p.ends_with(ARCHIVE));
    }
}

/// What [`read_others`] found.
#[derive(Debug, Default)]
pub(crate) struct Others {
    /// The archive, then every other process's part.
    pub(crate) parts: Vec<std::sync::Arc<Decoded>>,
    /// Files that did not read, with what is wrong.
    pub(crate) bad: Vec<String>,
}

/// The names of the process files in `dir`.
fn process_files(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        if let Some(name) = name.to_str() {
            if process_of(name).is_some() {
                names.push(name.to_owned());
            }
        }
    }
    names.sort();
    Ok(names)
}

fn read_archive(dir: &Path, cache: &Cache) -> Result<Option<std::sync::Arc<Decoded>>, String> {
    match cache.read(&dir.join(ARCHIVE)) {
        Ok(d) => Ok(Some(d)),
        Err(Unread::Gone) => Ok(None),
        Err(Unread::Bad(e)) => Err(e),
    }
}

/// The archive and the parts of every process but `me`. A file removed
/// by a compaction while this reads means a newer archive holds it: the
/// read starts again (three times at most).
pub(crate) fn read_others(dir: &Path, me: ProcessId, cache: &Cache) -> std::io::Result<Others> {
    let mut out = Others::default();
    for _ in 0..3 {
        out = Others::default();
        let archive = match read_archive(dir, cache) {
            Ok(a) => a,
            Err(e) => {
                out.bad.push(e);
                None
            }
        };
        let absorbed: HashSet<&str> = archive
            .iter()
            .flat_map(|a| a.absorbed.iter().map(String::as_str))
            .collect();
        let mut retry = false;
        let names = process_files(dir)?;
        let mut paths = HashSet::new();
        for name in &names {
            if absorbed.contains(name.as_str()) || process_of(name) == Some(me) {
                continue;
            }
            let path = dir.join(name);
            match cache.read(&path) {
                Ok(d) => out.parts.push(d),
                Err(Unread::Gone) => retry = true,
                Err(Unread::Bad(e)) => out.bad.push(e),
            }
            paths.insert(path);
        }
        let again = read_archive(dir, cache).ok().flatten();
        let generation = |a: &Option<std::sync::Arc<Decoded>>| a.as_ref().map(|a| a.generation);
        if generation(&again) != generation(&archive) {
            retry = true;
        }
        if !retry {
            cache.keep_only(&paths);
            if let Some(a) = archive {
                out.parts.insert(0, a);
            }
            return Ok(out);
        }
    }
    Ok(out)
}

/// What one compaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Compaction {
    /// Files of dead processes folded into the archive.
    pub absorbed: usize,
    /// Files deleted (absorbed now or by an earlier compaction that
    /// stopped before deleting them).
    pub removed: usize,
    /// Whether another process held the lock, so nothing was done.
    pub busy: bool,
}

/// Folds the files of dead processes in `dir` into the archive.
pub(crate) fn compact(dir: &Path, cache: &Cache) -> Result<Compaction, String> {
    let lock_path = dir.join(".lock");
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("{}: {e}", lock_path.display()))?;
    match rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(rustix::io::Errno::WOULDBLOCK) => {
            return Ok(Compaction {
                busy: true,
                ..Compaction::default()
            })
        }
        Err(e) => return Err(format!("{}: {e}", lock_path.display())),
    }
    let mut done = Compaction::default();
    let archive = read_archive(dir, cache)?;
    let names = process_files(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Files an earlier compaction absorbed but did not get to delete.
    let absorbed: HashSet<&str> = archive
        .iter()
        .flat_map(|a| a.absorbed.iter().map(String::as_str))
        .collect();
    for name in names.iter().filter(|n| absorbed.contains(n.as_str())) {
        if fs::remove_file(dir.join(name)).is_ok() {
            done.removed += 1;
        }
    }
    let dead: Vec<&String> = names
        .iter()
        .filter(|n| !absorbed.contains(n.as_str()))
        .filter(|n| process_of(n).is_some_and(|p| !process::alive(p)))
        .collect();
    remove_stale_temporaries(dir);
    let mut parts: Vec<std::sync::Arc<Decoded>> = Vec::new();
    let mut taken: Vec<String> = Vec::new();
    for name in dead {
        match cache.read(&dir.join(name)) {
            Ok(d) => {
                parts.push(d);
                taken.push(name.clone());
            }
            // A dead process's file that does not read is left in place
            // (and reported by every read): deleting it would lose it.
            Err(Unread::Gone | Unread::Bad(_)) => {}
        }
    }
    if taken.is_empty() {
        return Ok(done);
    }
    let all: Vec<&Part> = archive
        .iter()
        .map(|a| &a.part)
        .chain(parts.iter().map(|d| &d.part))
        .collect();
    let merged = Part {
        owner: None,
        families: part::merge(all, &|_| false),
    };
    let generation = archive.as_ref().map_or(0, |a| a.generation) + 1;
    let bytes = format::encode(&merged, generation, &taken);
    replace(dir, ARCHIVE, &bytes, true)
        .map_err(|e| format!("{}: {e}", dir.join(ARCHIVE).display()))?;
    done.absorbed = taken.len();
    for name in &taken {
        if fs::remove_file(dir.join(name)).is_ok() {
            done.removed += 1;
        }
    }
    Ok(done)
}

/// Temporary files of processes that no longer run.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(inner) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
            continue;
        };
        if process_of(inner).is_some_and(|p| !process::alive(p)) {
            let _ = fs::remove_file(entry.path());
        }
    }
}
