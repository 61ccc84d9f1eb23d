//! Cells that live in a memory-mapped file: `proc-<pid>-<token>.cells`.
//!
//! A metric registered while the file backend runs takes its cells here
//! instead of in the process, so every update is a store into the shared
//! page cache: a process killed with `kill -9` loses none of it, and any
//! other process reads the values as they are now.
//!
//! Layout, little-endian, every entry 64-byte aligned: a header line (the
//! magic `TTLCELL\0`, the layout version `u32`, the owner's `pid: u32` and
//! start `token: u64`, then at byte 24 the end of the entries written so
//! far, `u64`, stored after each entry is whole, at 32 the address the file
//! is mapped at in its writer and at 40 the writer's seconds per clock
//! tick, `f64`), then entries. An entry
//! is a description (its length `u32`, where its cells start in it `u32`,
//! the kind `u8`, the gauge mode `u8`, six bytes of padding, the creation
//! time `f64`, then the family name, help, unit and label pairs as `u32`
//! lengths and UTF-8) followed, at a 64-byte boundary, by its cells:
//!
//! - a counter: 8 shards of 64 bytes, each a `u64` the reader sums;
//! - a gauge: one line holding the value (`f64` bits, or an `i64`), when
//!   it last changed (`f64` Unix seconds, kept by the owner's flush), and
//!   the value that change time belongs to;
//! - a histogram (its description ends with its classic bounds, a `u32`
//!   count and `f64`s): 8 shard addresses, each 0 or where the writer put
//!   one of its exponential shards (`store::histogram`), which point to
//!   their bucket blocks the same way: all in the file, found by
//!   subtracting the writer's base address (header byte 32) from them;
//!   byte 10 of the description says whether it counts clock ticks, whose
//!   length in seconds is header byte 40;
//! - raw: room for those shards and blocks.
//!
//! The file grows in steps (with its blocks allocated, so that a store
//! never meets a full disk) into address space reserved at the start, so a
//! cell never moves; past [`RESERVE`] bytes new metrics keep their cells
//! in the process (and are written out every flush, as the backend does
//! for metrics registered before it started).

// Pointers into a mapping are cast to the cells they hold: the mapping is
// page-aligned, every entry starts on a 64-byte line and its cells on one
// too (readers check both), and the header's end is at byte 24.
#![allow(clippy::cast_ptr_alignment)]

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use rustix::mm::{self, MapFlags, ProtFlags};

use crate::backend::cells::{Describe, GaugeLine};
use crate::backend::file::format::{mode_code, mode_of, Decoded};
use crate::backend::part::{self, Part, PartFamily, PartSeries, ProcessId};
use crate::collect::snapshot::{HistogramValue, MetricKind, Value};
use crate::store::histogram::{self, ExpBuckets, ShardSlots};
use crate::store::mapped;
use crate::store::shard::{ShardedU64, SHARDS};

const MAGIC: &[u8; 8] = b"TTLCELL\0";
/// The layout this telltale writes and reads.
const VERSION: u32 = 1;
const LINE: usize = 64;
/// Where the header keeps the end of the entries.
const END_AT: usize = 24;
/// Address space reserved for one process's file.
pub(crate) const RESERVE: usize = 256 << 20;
/// The file's first size, and the least it grows by.
const FIRST: usize = 64 << 10;

/// What an entry's cells hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    Counter = 1,
    Gauge = 2,
    IntGauge = 3,
    Histogram = 4,
    Raw = 5,
    /// A counter whose cells are elsewhere in the file (inside another
    /// structure): `n` words from an address, `stride` bytes apart.
    CounterRef = 6,
    /// A gauge summed the same way (`i64` words; below zero reads 0).
    GaugeSumRef = 7,
    /// A gauge's `f64` elsewhere in the file: its address, and the bits
    /// that mean "never set" (left out of a read).
    GaugeRef = 8,
    /// A histogram whose shard slots are elsewhere in the file: `n`
    /// slots from an address, `stride` bytes apart.
    HistogramRef = 9,
}

impl Kind {
    fn from_code(code: u8) -> Option<Kind> {
        [
            Kind::Counter,
            Kind::Gauge,
            Kind::IntGauge,
            Kind::Histogram,
            Kind::Raw,
            Kind::CounterRef,
            Kind::GaugeSumRef,
            Kind::GaugeRef,
            Kind::HistogramRef,
        ]
        .into_iter()
        .find(|k| *k as u8 == code)
    }

    /// The cells' size (a raw entry's is its own).
    fn cells(self) -> usize {
        match self {
            Kind::Counter => SHARDS * LINE,
            Kind::Gauge
            | Kind::IntGauge
            | Kind::Histogram
            | Kind::CounterRef
            | Kind::GaugeSumRef
            | Kind::GaugeRef
            | Kind::HistogramRef => LINE,
            Kind::Raw => 0,
        }
    }
}

/// A series: its family and labels.
type SeriesKey = (String, Vec<(String, String)>);

/// The writing side: this process's file, mapped.
#[derive(Debug)]
pub(crate) struct Arena {
    path: PathBuf,
    /// Address space reserved, the most the file grows to.
    reserve: usize,
    /// The owner's pid (a forked child has another).
    pid: u32,
    file: fs::File,
    base: *mut u8,
    grow: Mutex<Grow>,
    /// Gauges with cells here, for their change times.
    gauges: Mutex<Vec<&'static GaugeLine>>,
    /// The families and labels with cells here, which the process's
    /// flushed file leaves out.
    resident: Mutex<HashSet<SeriesKey>>,
}

// SAFETY: `base` points to a mapping that lives as long as the process (an
// arena is never dropped while running: it sits in a static) and is only
// written under `grow`'s lock or through atomics.
unsafe impl Send for Arena {}
unsafe impl Sync for Arena {}

#[derive(Debug)]
struct Grow {
    /// Bytes of the file mapped (its length).
    mapped: usize,
    /// End of the entries.
    end: usize,
}

/// The file name of process `p`'s cells.
pub(crate) fn file_name(p: ProcessId) -> String {
    format!("proc-{}.cells", p.key())
}

impl Arena {
    /// Creates this process's file in `dir` and maps it.
    pub(crate) fn create(dir: &Path, me: ProcessId) -> Result<Arena, String> {
        Self::create_in(dir, me, RESERVE)
    }

    /// [`create`](Self::create) with room for `reserve` bytes at most.
    fn create_in(dir: &Path, me: ProcessId, reserve: usize) -> Result<Arena, String> {
        let path = dir.join(file_name(me));
        let shown = path.display().to_string();
        let problem = |e: &dyn std::fmt::Display| format!("{shown}: {e}");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| problem(&e))?;
        // SAFETY: a fresh reservation, no access allowed, at an address the
        // kernel picks.
        let base = unsafe {
            mm::mmap_anonymous(
                std::ptr::null_mut(),
                reserve,
                ProtFlags::empty(),
                MapFlags::PRIVATE | MapFlags::NORESERVE,
            )
        }
        .map_err(|e| problem(&e))?
        .cast::<u8>();
        let arena = Arena {
            path,
            reserve,
            pid: std::process::id(),
            file,
            base,
            grow: Mutex::new(Grow { mapped: 0, end: 0 }),
            gauges: Mutex::new(Vec::new()),
            resident: Mutex::new(HashSet::new()),
        };
        {
            let mut grow = arena.grow.lock().unwrap_or_else(PoisonError::into_inner);
            arena.map_to(&mut grow, LINE).map_err(|e| problem(&e))?;
            let mut header = [0u8; LINE];
            header[..8].copy_from_slice(MAGIC);
            header[8..12].copy_from_slice(&VERSION.to_le_bytes());
            header[12..16].copy_from_slice(&me.pid.to_le_bytes());
            header[16..24].copy_from_slice(&me.token.to_le_bytes());
            header[32..40].copy_from_slice(&(arena.base as u64).to_le_bytes());
            let tick = crate::store::clock::seconds_per_tick();
            header[40..48].copy_from_slice(&tick.to_bits().to_le_bytes());
            // SAFETY: the first line is mapped and no reader trusts it
            // before its end is stored.
            unsafe { std::ptr::copy_nonoverlapping(header.as_ptr(), arena.base, LINE) };
            grow.end = LINE;
            arena.end_cell().store(LINE as u64, Ordering::Release);
        }
        Ok(arena)
    }

    /// The path of the file.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn end_cell(&self) -> &AtomicU64 {
        // SAFETY: the header line is mapped for the arena's life; byte 24
        // is 8-aligned.
        unsafe { &*self.base.add(END_AT).cast::<AtomicU64>() }
    }

    /// Makes at least `len` bytes of the file mapped.
    fn map_to(&self, grow: &mut Grow, len: usize) -> std::io::Result<()> {
        if len <= grow.mapped {
            return Ok(());
        }
        if len > self.reserve {
            return Err(std::io::Error::other("the cells file is full"));
        }
        let new = len
            .max(grow.mapped * 2)
            .clamp(FIRST.min(self.reserve), self.reserve);
        allocate(&self.file, grow.mapped, new)?;
        // SAFETY: `[mapped, new)` lies inside this arena's reservation, and
        // nothing refers to it yet.
        unsafe {
            mm::mmap(
                self.base.add(grow.mapped).cast(),
                new - grow.mapped,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED | MapFlags::FIXED,
                &self.file,
                grow.mapped as u64,
            )?;
        }
        grow.mapped = new;
        Ok(())
    }

    /// Writes an entry describing `what` (none for raw room), of `kind`,
    /// with `cells` bytes of cells aligned to `align` (64 or more), and
    /// returns them.
    fn entry(
        &self,
        kind: Kind,
        what: Option<&Describe<'_>>,
        cells: usize,
        align: usize,
    ) -> Option<*mut u8> {
        self.entry_with(kind, what, cells, align, &[])
    }

    /// [`entry`](Self::entry) whose cells start with `init` (written
    /// before a reader can see the entry).
    fn entry_with(
        &self,
        kind: Kind,
        what: Option<&Describe<'_>>,
        cells: usize,
        align: usize,
        init: &[u8],
    ) -> Option<*mut u8> {
        let mut text = Vec::with_capacity(64);
        let mut head = [0u8; 24];
        if let Some(what) = what {
            for s in [what.family, what.help, what.unit.unwrap_or("")] {
                push_str(&mut text, s);
            }
            text.extend_from_slice(&(what.labels.len() as u32).to_le_bytes());
            for (k, v) in what.labels {
                push_str(&mut text, k);
                push_str(&mut text, v);
            }
            if kind == Kind::Histogram {
                text.extend_from_slice(&(what.bounds.len() as u32).to_le_bytes());
                for b in what.bounds {
                    text.extend_from_slice(&b.to_bits().to_le_bytes());
                }
            }
            head[9] = mode_code(what.mode);
            head[10] = u8::from(what.ticks);
            head[11] = u8::from(what.hide_zero);
            head[16..24].copy_from_slice(&what.created.to_bits().to_le_bytes());
        }
        head[8] = kind as u8;
        if std::process::id() != self.pid {
            // A child forked from the owner shares the mapping but not the
            // lock that orders appends: its new metrics keep their cells.
            return None;
        }
        if what.is_some_and(|w| part::is_local(w.family)) {
            // telltale's own series are each process's: never shared.
            return None;
        }
        let mut grow = self.grow.lock().unwrap_or_else(PoisonError::into_inner);
        let at = grow.end;
        // Entries start on a line; the cells on a multiple of `align`.
        let align = align.max(LINE);
        let cells_at = (at + 24 + text.len()).next_multiple_of(align) - at;
        let len = cells_at + cells.next_multiple_of(LINE);
        head[..4].copy_from_slice(&u32::try_from(len).ok()?.to_le_bytes());
        head[4..8].copy_from_slice(&u32::try_from(cells_at).ok()?.to_le_bytes());
        if let Err(e) = self.map_to(&mut grow, at + len) {
            crate::backend::status::problem(&format!("{}: {e}", self.path.display()));
            return None;
        }
        // SAFETY: `[at, at + len)` is mapped, past the end readers trust,
        // and written by this thread alone (under `grow`); the cells after
        // the description are still the file's zeros.
        let cells = unsafe {
            let start = self.base.add(at);
            std::ptr::copy_nonoverlapping(head.as_ptr(), start, head.len());
            std::ptr::copy_nonoverlapping(text.as_ptr(), start.add(24), text.len());
            let cells = start.add(cells_at);
            std::ptr::copy_nonoverlapping(init.as_ptr(), cells, init.len().min(len - cells_at));
            cells
        };
        if let Some(what) = what {
            // Before the entry is seen: the flushed file leaves it out from
            // the first read that can find it here.
            let key = (
                what.family.to_owned(),
                what.labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            );
            self.resident
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key);
        }
        grow.end = at + len;
        self.end_cell().store(grow.end as u64, Ordering::Release);
        Some(cells)
    }

    /// Whether this process owns the file (not a child forked from it).
    pub(crate) fn owned_here(&self) -> bool {
        std::process::id() == self.pid
    }

    /// Cells for a counter, or `None` when the file is full.
    pub(crate) fn counter(&self, what: &Describe<'_>) -> Option<&'static ShardedU64> {
        let cells = self.entry(Kind::Counter, Some(what), Kind::Counter.cells(), LINE)?;
        // SAFETY: 8 zeroed, 64-aligned lines that stay mapped for the rest
        // of the process: the layout of a `ShardedU64` at zero.
        Some(unsafe { &*cells.cast::<ShardedU64>() })
    }

    /// A line for a gauge (`int`: an `i64` one), or `None` when the file
    /// is full.
    pub(crate) fn gauge(&self, what: &Describe<'_>, int: bool) -> Option<&'static GaugeLine> {
        let kind = if int { Kind::IntGauge } else { Kind::Gauge };
        let cells = self.entry(kind, Some(what), kind.cells(), LINE)?;
        // SAFETY: a zeroed, 64-aligned line that stays mapped for the rest
        // of the process.
        let line: &'static GaugeLine = unsafe { &*cells.cast::<GaugeLine>() };
        line.changed
            .store(what.created.to_bits(), Ordering::Relaxed);
        self.gauges
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line);
        Some(line)
    }

    /// Describes a counter (`gauge`: a gauge summed, as `i64`s) whose
    /// cells are `n` words from `from`, `stride` bytes apart, all in this
    /// file (inside a structure [`alloc`](mapped::Mapped::alloc) gave).
    /// `false` when the file is full.
    pub(crate) fn sum_of(
        &self,
        what: &Describe<'_>,
        gauge: bool,
        from: &AtomicU64,
        stride: usize,
        n: usize,
    ) -> bool {
        let kind = if gauge {
            Kind::GaugeSumRef
        } else {
            Kind::CounterRef
        };
        let mut init = [0u8; 24];
        init[..8].copy_from_slice(&(std::ptr::from_ref(from) as u64).to_le_bytes());
        init[8..16].copy_from_slice(&(stride as u64).to_le_bytes());
        init[16..].copy_from_slice(&(n as u64).to_le_bytes());
        self.entry_with(kind, Some(what), kind.cells(), LINE, &init)
            .is_some()
    }

    /// Describes a gauge whose `f64` is at `cell` (in this file), left
    /// out while its bits are `unset`.
    pub(crate) fn gauge_at(&self, what: &Describe<'_>, cell: &AtomicU64, unset: u64) -> bool {
        let mut init = [0u8; 16];
        init[..8].copy_from_slice(&(std::ptr::from_ref(cell) as u64).to_le_bytes());
        init[8..].copy_from_slice(&unset.to_le_bytes());
        self.entry_with(Kind::GaugeRef, Some(what), LINE, LINE, &init)
            .is_some()
    }

    /// Describes a histogram whose `n` shard slots are at `from` (in this
    /// file), `stride` bytes apart.
    pub(crate) fn histogram_at(
        &self,
        what: &Describe<'_>,
        from: &std::sync::atomic::AtomicPtr<histogram::HistShard>,
        stride: usize,
        n: usize,
    ) -> bool {
        let mut init = [0u8; 24];
        init[..8].copy_from_slice(&(std::ptr::from_ref(from) as u64).to_le_bytes());
        init[8..16].copy_from_slice(&(stride as u64).to_le_bytes());
        init[16..].copy_from_slice(&(n as u64).to_le_bytes());
        self.entry_with(Kind::HistogramRef, Some(what), LINE, LINE, &init)
            .is_some()
    }

    /// Slots for a histogram's shards (which then come from
    /// [`alloc`](mapped::Mapped::alloc)), or `None` when the file is full.
    pub(crate) fn histogram(&self, what: &Describe<'_>) -> Option<&'static ShardSlots> {
        let cells = self.entry(Kind::Histogram, Some(what), Kind::Histogram.cells(), LINE)?;
        // SAFETY: a zeroed, 64-aligned line that stays mapped: 8 null
        // pointers.
        Some(unsafe { &*cells.cast::<ShardSlots>() })
    }

    /// Stamps `now` on every gauge whose value changed since the last call.
    pub(crate) fn stamp_changes(&self, now: f64) {
        for line in self
            .gauges
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            line.stamp(now);
        }
    }

    /// Whether the series `family{labels}` has its cells here.
    pub(crate) fn holds(&self, family: &str, labels: &[(String, String)]) -> bool {
        let resident = self.resident.lock().unwrap_or_else(PoisonError::into_inner);
        // Owned key: the set is small next to a flush's other work.
        resident.contains(&(family.to_owned(), labels.to_vec()))
    }
}

/// Gives the file real blocks for `[from, to)` (growing it to `to`), so
/// that a store into a mapped cell never meets a full disk (which would
/// kill the process with `SIGBUS`): a full disk is an error here instead.
fn allocate(file: &fs::File, from: usize, to: usize) -> std::io::Result<()> {
    match rustix::fs::fallocate(
        file,
        rustix::fs::FallocateFlags::empty(),
        from as u64,
        (to - from) as u64,
    ) {
        Ok(()) => Ok(()),
        // A file system without it: write the zeros.
        Err(rustix::io::Errno::OPNOTSUPP) => {
            let zeros = vec![0u8; 64 << 10];
            let mut at = from;
            while at < to {
                let n = (to - at).min(zeros.len());
                std::os::unix::fs::FileExt::write_all_at(file, &zeros[..n], at as u64)?;
                at += n;
            }
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

impl mapped::Mapped for Arena {
    fn alloc(&self, bytes: usize, align: usize) -> Option<std::ptr::NonNull<u8>> {
        std::ptr::NonNull::new(self.entry(Kind::Raw, None, bytes, align)?)
    }
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

// ----- reading ----------------------------------------------------------------------

/// A read-only mapping of another process's file, unmapped when dropped.
struct View {
    ptr: *mut u8,
    len: usize,
}

impl Drop for View {
    fn drop(&mut self) {
        // SAFETY: `ptr..ptr + len` is this mapping, no longer referred to.
        let _ = unsafe { mm::munmap(self.ptr.cast(), self.len) };
    }
}

impl View {
    fn bytes(&self, at: usize, n: usize) -> Result<&[u8], String> {
        let end = at.checked_add(n).filter(|e| *e <= self.len);
        match end {
            // SAFETY: in bounds of the mapping; these bytes (descriptions,
            // the header) are not written again once their end is stored.
            Some(_) => Ok(unsafe { std::slice::from_raw_parts(self.ptr.add(at), n) }),
            None => Err(format!("an entry runs past the end of the file (at {at})")),
        }
    }

    /// The `u64` cell at `at` (8-aligned, in bounds: checked by callers).
    fn cell(&self, at: usize) -> u64 {
        // SAFETY: callers check `at + 8 <= len` and alignment; the writer
        // updates the cell with atomics.
        unsafe { (*self.ptr.add(at).cast::<AtomicU64>()).load(Ordering::Relaxed) }
    }
}

struct Reader<'a> {
    map: &'a View,
    at: usize,
    end: usize,
}

impl Reader<'_> {
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        if self.at + n > self.end {
            return Err(format!("an entry is cut short (at {})", self.at));
        }
        let b = self.map.bytes(self.at, n)?;
        self.at += n;
        Ok(b)
    }

    fn str(&mut self) -> Result<String, String> {
        let n = self.u32()? as usize;
        let at = self.at;
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| format!("a name is not UTF-8 (at {at})"))
    }
}

/// Reads a process's cells file: its owner and every metric in it at its
/// value now. `Err` when it cannot be opened; `Ok(Err(..))` when it is
/// not a cells file this telltale reads, with what is wrong.
pub(crate) fn read(path: &Path) -> std::io::Result<Result<Decoded, String>> {
    let file = fs::File::open(path)?;
    let mut outcome = Err(String::new());
    // The owner may grow the file between the length read here and the
    // end read from the mapping: map it again (its end stays inside the
    // file's length, which grows first).
    for _ in 0..3 {
        let len = usize::try_from(file.metadata()?.len()).unwrap_or(usize::MAX);
        if len < LINE {
            return Ok(Err("the file is cut short (no header)".to_owned()));
        }
        let len = len.min(RESERVE);
        // SAFETY: a fresh read-only shared mapping of the file, unmapped by
        // `View`'s drop.
        let ptr = unsafe {
            mm::mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ,
                MapFlags::SHARED,
                &file,
                0,
            )
        }?
        .cast::<u8>();
        let map = View { ptr, len };
        outcome = decode(&map);
        let grown = file.metadata()?.len() > len as u64;
        if outcome.is_ok() || !grown {
            break;
        }
    }
    Ok(outcome)
}

fn decode(map: &View) -> Result<Decoded, String> {
    let header = map.bytes(0, LINE)?;
    if &header[..8] != MAGIC {
        return Err("not a telltale cells file".to_owned());
    }
    let version = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    if version != VERSION {
        return Err(format!(
            "cells layout version {version}, this telltale reads version {VERSION}"
        ));
    }
    let word = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&header[at..at + 8]);
        u64::from_le_bytes(b)
    };
    let owner = ProcessId {
        pid: u32::from_le_bytes([header[12], header[13], header[14], header[15]]),
        token: word(16),
    };
    // SAFETY: 8-aligned, inside the header line; Acquire pairs with the
    // writer's Release after each whole entry.
    let end = unsafe { (*map.ptr.add(END_AT).cast::<AtomicU64>()).load(Ordering::Acquire) };
    let end = usize::try_from(end).unwrap_or(usize::MAX);
    if end > map.len || end < LINE {
        return Err(format!(
            "the end of the entries ({end}) is past the file ({})",
            map.len
        ));
    }
    let writer = Writer {
        map,
        end,
        base: word(32),
        tick: f64::from_bits(word(40)),
    };
    let mut families: Vec<PartFamily> = Vec::new();
    let mut at = LINE;
    while at < end {
        let (found, next) = writer.entry(at)?;
        if let Some((family, series)) = found {
            if let Some(f) = families.iter_mut().find(|f| f.name == family.name) {
                f.series.push(series);
            } else {
                let mut family = family;
                family.series.push(series);
                families.push(family);
            }
        }
        at = next;
    }
    Ok(Decoded {
        part: Part {
            owner: Some(owner),
            families,
        },
        ..Decoded::default()
    })
}

/// Another process's file as read: its entries up to `end`, where it was
/// mapped in that process, and its clock's seconds per tick.
struct Writer<'a> {
    map: &'a View,
    end: usize,
    base: u64,
    tick: f64,
}

impl Writer<'_> {
    /// The `u64` at the writer's address `addr`, if it lies in the file's
    /// entries.
    fn word(&self, addr: u64) -> Option<u64> {
        let at = usize::try_from(addr.checked_sub(self.base)?).ok()?;
        (at >= LINE && at.is_multiple_of(8) && at + 8 <= self.end).then(|| self.map.cell(at))
    }

    /// The entry at `at`: its family (without series) and its series
    /// (none for raw room), and where the next entry starts.
    fn entry(&self, at: usize) -> Result<(Option<(PartFamily, PartSeries)>, usize), String> {
        let (map, end) = (self.map, self.end);
        let head = map.bytes(at, 24)?;
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let cells_at = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let kind = Kind::from_code(head[8])
            .ok_or_else(|| format!("an entry of unknown kind {} (at {at})", head[8]))?;
        let mode = mode_of(head[9])
            .ok_or_else(|| format!("an unknown gauge mode {} (at {at})", head[9]))?;
        let ticks = head[10] == 1;
        let hide_zero = head[11] == 1;
        let mut b = [0u8; 8];
        b.copy_from_slice(&head[16..24]);
        let created = f64::from_bits(u64::from_le_bytes(b));
        let sized = match kind {
            Kind::Raw => cells_at <= len,
            _ => cells_at + kind.cells() == len,
        };
        if len == 0
            || !len.is_multiple_of(LINE)
            || !cells_at.is_multiple_of(LINE)
            || !sized
            || at + len > end
        {
            return Err(format!("a damaged entry (at {at})"));
        }
        if kind == Kind::Raw {
            return Ok((None, at + len));
        }
        let mut r = Reader {
            map,
            at: at + 24,
            end: at + cells_at,
        };
        let name = r.str()?;
        let help = r.str()?;
        let unit = r.str()?;
        let n = r.u32()? as usize;
        let mut labels = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            labels.push((r.str()?, r.str()?));
        }
        let cells = at + cells_at;
        let (metric_kind, value, changed) = match kind {
            Kind::Counter => {
                let sum =
                    (0..SHARDS).fold(0u64, |acc, s| acc.wrapping_add(map.cell(cells + s * LINE)));
                (MetricKind::Counter, Value::Counter(sum as f64), 0.0)
            }
            Kind::Gauge | Kind::IntGauge => {
                let bits = map.cell(cells);
                let value = if kind == Kind::Gauge {
                    f64::from_bits(bits)
                } else {
                    bits as i64 as f64
                };
                let changed = f64::from_bits(map.cell(cells + 8));
                (MetricKind::Gauge, Value::Gauge(value), changed)
            }
            Kind::CounterRef | Kind::GaugeSumRef => {
                let (from, stride, n) =
                    (map.cell(cells), map.cell(cells + 8), map.cell(cells + 16));
                let mut sum = 0u64;
                for i in 0..n.min(64) {
                    let addr = stride
                        .checked_mul(i)
                        .and_then(|o| from.checked_add(o))
                        .and_then(|a| self.word(a))
                        .ok_or_else(|| format!("{name:?} points outside the file (at {at})"))?;
                    sum = sum.wrapping_add(addr);
                }
                if kind == Kind::CounterRef {
                    (MetricKind::Counter, Value::Counter(sum as f64), 0.0)
                } else {
                    let v = (sum as i64).max(0) as f64;
                    (MetricKind::Gauge, Value::Gauge(v), 0.0)
                }
            }
            Kind::GaugeRef => {
                let (from, unset) = (map.cell(cells), map.cell(cells + 8));
                let bits = self
                    .word(from)
                    .ok_or_else(|| format!("{name:?} points outside the file (at {at})"))?;
                if bits == unset {
                    return Ok((None, at + len));
                }
                (MetricKind::Gauge, Value::Gauge(f64::from_bits(bits)), 0.0)
            }
            Kind::Histogram | Kind::HistogramRef | Kind::Raw => {
                let bounds = (0..r.u32()?)
                    .map(|_| {
                        let b = r.take(8)?;
                        let mut w = [0u8; 8];
                        w.copy_from_slice(b);
                        Ok(f64::from_bits(u64::from_le_bytes(w)))
                    })
                    .collect::<Result<Vec<f64>, String>>()?;
                let slots: Vec<u64> = if kind == Kind::HistogramRef {
                    let (from, stride, n) =
                        (map.cell(cells), map.cell(cells + 8), map.cell(cells + 16));
                    (0..n.min(64))
                        .map(|i| {
                            stride
                                .checked_mul(i)
                                .and_then(|o| from.checked_add(o))
                                .and_then(|a| self.word(a))
                                .unwrap_or(u64::MAX)
                        })
                        .collect()
                } else {
                    (0..SHARDS as u64)
                        .map(|s| map.cell(cells + s as usize * 8))
                        .collect()
                };
                let exp = self.histogram(&slots, ticks).ok_or_else(|| {
                    format!("histogram {name:?} points outside the file (at {at})")
                })?;
                let value = HistogramValue::from_exponential(exp, &bounds);
                (MetricKind::Histogram, Value::Histogram(value), 0.0)
            }
        };
        let zero = match &value {
            Value::Counter(v) | Value::Gauge(v) => *v == 0.0,
            Value::Histogram(h) => h.count == 0,
        };
        if hide_zero && zero {
            return Ok((None, at + len));
        }
        let family = PartFamily {
            name,
            help,
            unit: (!unit.is_empty()).then_some(unit),
            kind: metric_kind,
            mode,
            series: Vec::new(),
        };
        let series = PartSeries {
            labels,
            value,
            created: (metric_kind != MetricKind::Gauge).then_some(created),
            changed,
        };
        Ok((Some((family, series)), at + len))
    }

    /// The histogram whose shards are at the writer's addresses `shards`
    /// (0: none yet).
    fn histogram(&self, shards: &[u64], ticks: bool) -> Option<ExpBuckets> {
        let mut out = ExpBuckets::default();
        for &shard in shards {
            if shard == 0 {
                continue;
            }
            // The whole shard lies in the file.
            self.word(shard.checked_add(histogram::SHARD_BYTES as u64 - 8)?)?;
            histogram::read_foreign(shard, &|a| self.word(a), &mut out, ticks)?;
        }
        Some(if ticks {
            out.ticks_to_seconds(self.tick)
        } else {
            out
        })
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // times and counts stored and read back exactly
mod tests {
    use super::*;
    use crate::backend::mode::GaugeMode;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("telltale-arena-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn describe<'a>(family: &'a str, labels: &'a [(&'a str, &'a str)]) -> Describe<'a> {
        Describe {
            family,
            help: "Help.",
            unit: None,
            labels,
            mode: GaugeMode::Max,
            created: 1_600_000_000.5,
            bounds: &[],
            ticks: false,
            hide_zero: false,
        }
    }

    #[test]
    fn cells_written_here_read_back_from_the_file_as_they_are_now() {
        let dir = temp("read");
        let me = ProcessId { pid: 7, token: 9 };
        let arena = Arena::create(&dir, me).unwrap();
        let jobs = arena.counter(&describe("jobs", &[])).unwrap();
        let busy = arena
            .gauge(&describe("busy", &[("pool", "a")]), false)
            .unwrap();
        let slots = arena.gauge(&describe("slots", &[]), true).unwrap();
        jobs.add(41);
        jobs.add(1);
        busy.value.store(2.5f64.to_bits(), Ordering::Relaxed);
        slots.value.store((-3i64) as u64, Ordering::Relaxed);
        arena.stamp_changes(1_700_000_000.0);
        let read = read(arena.path()).unwrap().unwrap();
        assert_eq!(read.part.owner, Some(me));
        let names: Vec<&str> = read.part.families.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["jobs", "busy", "slots"]);
        let jobs_read = &read.part.families[0];
        assert_eq!(jobs_read.kind, MetricKind::Counter);
        assert_eq!(jobs_read.series[0].value, Value::Counter(42.0));
        assert_eq!(jobs_read.series[0].created, Some(1_600_000_000.5));
        let busy_read = &read.part.families[1];
        assert_eq!(busy_read.mode, GaugeMode::Max);
        assert_eq!(
            busy_read.series[0].labels,
            [("pool".to_owned(), "a".to_owned())]
        );
        assert_eq!(busy_read.series[0].value, Value::Gauge(2.5));
        assert_eq!(busy_read.series[0].changed, 1_700_000_000.0);
        assert_eq!(read.part.families[2].series[0].value, Value::Gauge(-3.0));
        // An unchanged gauge keeps its change time.
        arena.stamp_changes(1_800_000_000.0);
        let again = super::read(arena.path()).unwrap().unwrap();
        assert_eq!(again.part.families[1].series[0].changed, 1_700_000_000.0);
        assert!(arena.holds("busy", &[("pool".to_owned(), "a".to_owned())]));
        assert!(!arena.holds("busy", &[]));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn histogram_shards_and_buckets_live_in_the_file_and_read_back_alike() {
        use crate::store::histogram::HistogramCells;
        // The one arena of this test binary that mapped cells come from.
        static ARENA: std::sync::OnceLock<Arena> = std::sync::OnceLock::new();
        let dir = temp("hist");
        let arena =
            ARENA.get_or_init(|| Arena::create(&dir, ProcessId { pid: 3, token: 3 }).unwrap());
        crate::store::mapped::install(arena);
        let sizes: &'static HistogramCells = Box::leak(Box::new(HistogramCells::new()));
        sizes.place(
            arena
                .histogram(&Describe {
                    bounds: &[1.0, 10.0],
                    ..describe("sizes", &[])
                })
                .unwrap(),
        );
        let durations: &'static HistogramCells = Box::leak(Box::new(HistogramCells::new()));
        durations.place(
            arena
                .histogram(&Describe {
                    ticks: true,
                    bounds: &[0.001],
                    ..describe("durations_seconds", &[("f", "g")])
                })
                .unwrap(),
        );
        for v in [0.5, 5.0, 5.0, 50.0, 0.0, 1e30] {
            sizes.record(v);
        }
        // Another thread writes another shard.
        std::thread::spawn(|| sizes.record(2.0)).join().unwrap();
        let shard = crate::store::shard::current();
        for t in [10, 1_000, 1_000_000] {
            durations.record_ticks_in(shard, t);
        }
        let read = read(&dir.join(file_name(ProcessId { pid: 3, token: 3 })))
            .unwrap()
            .unwrap();
        let Value::Histogram(h) = &read.part.families[0].series[0].value else {
            panic!("{:?}", read.part)
        };
        assert_eq!(read.part.families[0].kind, MetricKind::Histogram);
        assert_eq!((h.count, h.sum), (7, 62.5 + 1e30));
        assert_eq!(h.buckets, [(1.0, 2), (10.0, 5)]);
        assert_eq!(
            h.exponential,
            sizes.read(),
            "the same buckets as in the process"
        );
        assert_eq!(
            (h.exponential.min, h.exponential.max),
            (Some(0.0), Some(1e30))
        );
        let Value::Histogram(d) = &read.part.families[1].series[0].value else {
            panic!("{:?}", read.part)
        };
        assert_eq!(
            read.part.families[1].series[0].labels,
            [("f".to_owned(), "g".to_owned())]
        );
        assert_eq!(d.count, 3);
        assert_eq!(
            d.exponential,
            durations.read_ticks(),
            "ticks in seconds, as in the process"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn telltale_s_own_series_are_never_kept_in_the_file() {
        let dir = temp("own");
        let arena = Arena::create(&dir, ProcessId { pid: 5, token: 5 }).unwrap();
        assert!(arena
            .counter(&describe("telltale_config_reloads", &[]))
            .is_none());
        assert!(arena.counter(&describe("reloads", &[])).is_some());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_file_grows_without_moving_a_cell() {
        let dir = temp("grow");
        let arena = Arena::create(&dir, ProcessId { pid: 1, token: 1 }).unwrap();
        let names: Vec<String> = (0..400).map(|i| format!("c{i}")).collect();
        let cells: Vec<&ShardedU64> = names
            .iter()
            .map(|n| arena.counter(&describe(n, &[])).unwrap())
            .collect();
        for (i, c) in cells.iter().enumerate() {
            c.add(i as u64);
        }
        assert!(fs::metadata(arena.path()).unwrap().len() > FIRST as u64);
        let read = read(arena.path()).unwrap().unwrap();
        assert_eq!(read.part.families.len(), 400);
        for (i, f) in read.part.families.iter().enumerate() {
            assert_eq!(f.name, format!("c{i}"));
            assert_eq!(f.series[0].value, Value::Counter(i as f64));
        }
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_full_file_gives_no_more_cells_and_keeps_those_it_gave() {
        let dir = temp("full");
        let arena = Arena::create_in(&dir, ProcessId { pid: 4, token: 4 }, FIRST).unwrap();
        let names: Vec<String> = (0..200).map(|i| format!("c{i}")).collect();
        let given: Vec<&ShardedU64> = names
            .iter()
            .map_while(|n| arena.counter(&describe(n, &[])))
            .collect();
        // 64 KiB hold the header and 113 entries of 576 bytes (a line of
        // description, eight of cells).
        assert_eq!(given.len(), (FIRST - LINE) / (9 * LINE));
        assert!(arena.counter(&describe("more", &[])).is_none());
        let said = crate::backend::status::status().error.unwrap_or_default();
        assert!(said.contains("the cells file is full"), "{said}");
        for c in &given {
            c.add(3);
        }
        let read = read(arena.path()).unwrap().unwrap();
        assert_eq!(read.part.families.len(), given.len());
        assert!(read
            .part
            .families
            .iter()
            .all(|f| f.series[0].value == Value::Counter(3.0)));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_damaged_file_says_what_is_wrong() {
        let dir = temp("bad");
        let path = dir.join("proc-1-1.cells");
        fs::write(&path, b"short").unwrap();
        assert!(read(&path).unwrap().unwrap_err().contains("cut short"));
        fs::write(&path, [0u8; 64]).unwrap();
        assert!(read(&path)
            .unwrap()
            .unwrap_err()
            .contains("not a telltale cells file"));
        let mut other = [0u8; 64];
        other[..8].copy_from_slice(MAGIC);
        other[8..12].copy_from_slice(&2u32.to_le_bytes());
        fs::write(&path, other).unwrap();
        assert!(read(&path).unwrap().unwrap_err().contains("version 2"));
        // An end past the file.
        other[8..12].copy_from_slice(&VERSION.to_le_bytes());
        other[24..32].copy_from_slice(&4096u64.to_le_bytes());
        fs::write(&path, other).unwrap();
        assert!(read(&path).unwrap().unwrap_err().contains("past the file"));
        // A whole file cut in the middle of an entry.
        let arena = Arena::create(&dir, ProcessId { pid: 2, token: 2 }).unwrap();
        arena.counter(&describe("jobs", &[("a", "b")])).unwrap();
        let mut bytes = fs::read(arena.path()).unwrap();
        bytes.truncate(LINE + 40);
        let cut = dir.join("proc-3-3.cells");
        fs::write(&cut, &bytes).unwrap();
        let e = read(&cut).unwrap().unwrap_err();
        assert!(
            e.contains("past the file") || e.contains("cut short"),
            "{e}"
        );
        // Damage inside an entry: an unknown kind.
        let mut bytes = fs::read(arena.path()).unwrap();
        bytes[LINE + 8] = 99;
        fs::write(&cut, &bytes).unwrap();
        assert!(read(&cut).unwrap().unwrap_err().contains("unknown kind 99"));
        let _ = fs::remove_dir_all(&dir);
    }
}
