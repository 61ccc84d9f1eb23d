//! Process and system resources: CPU, memory, file descriptors, threads, disk and network I/O, sampled periodically and exported as series.
//!
//! [`sample`] reads everything once; [`monitor`] samples at an interval on a
//! background thread until [`Monitor::stop`] (or drop); [`last`] returns the
//! latest sample. Once a sample exists, every exposition carries it:
//!
//! | series | type | what |
//! |---|---|---|
//! | `process_cpu_seconds_total` | counter | user + system CPU time |
//! | `process_cpu_usage_ratio` | gauge | CPU time per wall-clock second since the previous sample (1.0 = one core busy) |
//! | `process_resident_memory_bytes` | gauge | resident set size |
//! | `process_virtual_memory_bytes` | gauge | virtual memory size |
//! | `process_open_fds` | gauge | open file descriptors (Linux) |
//! | `process_max_fds` | gauge | soft limit on open file descriptors (Linux) |
//! | `process_threads` | gauge | threads of the process (Linux) |
//! | `process_start_time_seconds` | gauge | start time, Unix seconds |
//! | `process_disk_read_bytes_total` | counter | bytes fetched from storage |
//! | `process_disk_written_bytes_total` | counter | bytes sent to storage |
//! | `process_io_read_bytes_total` | counter | bytes passed to read syscalls, page-cache hits included (Linux `rchar`) |
//! | `process_io_written_bytes_total` | counter | bytes passed to write syscalls (Linux `wchar`) |
//! | `process_network_receive_bytes_total` | counter | bytes received, summed over interfaces (see below) |
//! | `process_network_transmit_bytes_total` | counter | bytes sent, summed over interfaces (see below) |
//! | `system_cpu_usage_ratio` | gauge | busy share of all CPUs since the previous sample, 0..1 |
//! | `system_load1`, `system_load5`, `system_load15` | gauge | load averages (not on Windows) |
//! | `system_memory_total_bytes`, `system_memory_used_bytes`, `system_memory_available_bytes` | gauge | physical memory |
//! | `system_filesystem_size_bytes{path}`, `..._free_bytes`, `..._avail_bytes`, `..._used_bytes`, `..._used_ratio` | gauge | the file system holding each path of [`set_disk_paths`] (default `/`) |
//! | `system_network_receive_bytes_total{interface}`, `..._transmit_bytes_total`, `..._receive_packets_total`, `..._transmit_packets_total` | counter | per network interface |
//! | `telltale_resource_sample_errors_total` | counter | samples that failed |
//!
//! The process names are the ones Prometheus client libraries use, so
//! existing dashboards work unchanged.
//!
//! ## What each platform reports
//!
//! - **Linux**: everything. Process figures come from `/proc/self`
//!   (`stat`, `io`, `fd/`, `limits`) through the `procfs` crate. No kernel
//!   reports network traffic per process: the process network counters are
//!   those of `/proc/self/net/dev`, i.e. of the process's network namespace
//!   — per container in a container, per system otherwise. The disk counters
//!   are `read_bytes` / `write_bytes` of `/proc/self/io`, which count storage
//!   I/O and so stay at 0 for files on tmpfs; `rchar` / `wchar` count every
//!   byte passed to a read or write call.
//! - **macOS, Windows, BSDs**: through the `sysinfo` crate; open and maximum
//!   file descriptors, threads and `rchar` / `wchar` are `None` (and not
//!   exported), the process network counters are system-wide, and on
//!   Windows the disk counters count all I/O and load averages are `None`.
//!
//! ```
//! let s = telltale::resources::sample().unwrap();
//! assert!(s.process.resident_memory_bytes > 0);
//! assert!(s.process.cpu_seconds >= 0.0);
//! let text = telltale::render(telltale::Format::Prometheus);
//! assert!(text.contains("process_resident_memory_bytes "));
//! ```

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::collect::registry::{Collect, Desc, Registration, Sink};
use crate::collect::snapshot::{MetricKind, Value};
use crate::error::Error;

/// One reading of the process and the system.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// When the sample was taken, in seconds since the Unix epoch.
    pub taken_at: f64,
    /// This process.
    pub process: ProcessSample,
    /// The system (or, for network counters on Linux, the network namespace).
    pub system: SystemSample,
}

/// What the operating system says about this process.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessSample {
    /// The process id.
    pub pid: u32,
    /// User plus system CPU time, in seconds.
    pub cpu_seconds: f64,
    /// CPU seconds per wall-clock second since the previous sample, as a
    /// percentage of one core (200.0 = two cores busy); `None` on the first
    /// sample.
    pub cpu_percent: Option<f64>,
    /// Resident set size, in bytes.
    pub resident_memory_bytes: u64,
    /// Virtual memory size, in bytes.
    pub virtual_memory_bytes: u64,
    /// Open file descriptors (Linux only).
    pub open_fds: Option<u64>,
    /// Soft limit on open file descriptors; `None` when unlimited or not
    /// reported (Linux only).
    pub max_fds: Option<u64>,
    /// Threads of the process (Linux only).
    pub threads: Option<u64>,
    /// When the process started, in seconds since the Unix epoch.
    pub start_time_seconds: f64,
    /// Bytes the process caused to be fetched from storage.
    pub disk_read_bytes: Option<u64>,
    /// Bytes the process caused to be sent to storage.
    pub disk_written_bytes: Option<u64>,
    /// Bytes passed to `read`-like calls, cache hits included (Linux `rchar`).
    pub io_read_bytes: Option<u64>,
    /// Bytes passed to `write`-like calls (Linux `wchar`).
    pub io_written_bytes: Option<u64>,
    /// Bytes received over every interface the process sees: its network
    /// namespace's on Linux, the system's elsewhere.
    pub network_received_bytes: u64,
    /// Bytes sent over every interface the process sees (see
    /// [`network_received_bytes`](Self::network_received_bytes)).
    pub network_transmitted_bytes: u64,
}

/// What the operating system says about the machine.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemSample {
    /// Busy share of all CPUs since the previous sample, in percent
    /// (0..=100); `None` on the first sample.
    pub cpu_percent: Option<f64>,
    /// Load averages over 1, 5 and 15 minutes; `None` on Windows.
    pub load_average: Option<[f64; 3]>,
    /// Physical memory, in bytes.
    pub memory_total_bytes: u64,
    /// Physical memory in use, in bytes.
    pub memory_used_bytes: u64,
    /// Physical memory available to new allocations without swapping, in bytes.
    pub memory_available_bytes: u64,
    /// The file systems holding the paths of [`set_disk_paths`], in that
    /// order; a path whose file system cannot be read is left out.
    pub disks: Vec<DiskSample>,
    /// Per-interface network counters, sorted by interface name.
    pub interfaces: Vec<InterfaceSample>,
}

/// Usage of the file system that holds a path.
#[derive(Debug, Clone, PartialEq)]
pub struct DiskSample {
    /// The path, as given to [`set_disk_paths`].
    pub path: String,
    /// Size of the file system, in bytes.
    pub total_bytes: u64,
    /// Free bytes, including those reserved for the superuser.
    pub free_bytes: u64,
    /// Bytes available to unprivileged users.
    pub available_bytes: u64,
    /// Bytes in use (`total - free`).
    pub used_bytes: u64,
    /// Used share in percent as `df` shows it: `used / (used + available)`.
    pub used_percent: f64,
}

/// Counters of one network interface since it came up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceSample {
    /// The interface name (`lo`, `eth0`).
    pub name: String,
    /// Bytes received.
    pub received_bytes: u64,
    /// Bytes sent.
    pub transmitted_bytes: u64,
    /// Packets received.
    pub received_packets: u64,
    /// Packets sent.
    pub transmitted_packets: u64,
}

/// The state kept between samples: the previous CPU readings and the
/// `sysinfo` handles (which compute rates from their previous refresh).
struct Sampler {
    system: sysinfo::System,
    /// When the system CPU figures were first refreshed; the first refresh
    /// gives no usage.
    cpu_primed: bool,
    /// Process CPU seconds and when they were read, at the previous sample.
    previous: Option<(Instant, f64)>,
    #[cfg(target_os = "linux")]
    start_time_seconds: Option<f64>,
    #[cfg(not(target_os = "linux"))]
    networks: sysinfo::Networks,
    #[cfg(not(unix))]
    disks: sysinfo::Disks,
}

static SAMPLER: Mutex<Option<Sampler>> = Mutex::new(None);
static LAST: RwLock<Option<Sample>> = RwLock::new(None);
static DISK_PATHS: RwLock<Vec<PathBuf>> = RwLock::new(Vec::new());
static DISK_PATHS_SET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static ERRORS: AtomicU64 = AtomicU64::new(0);

/// Sets the paths whose file systems are reported (`system_filesystem_*`
/// series, [`SystemSample::disks`]). The default is `/` (`C:\` on Windows).
/// An empty list reports none.
pub fn set_disk_paths<P: AsRef<Path>>(paths: &[P]) {
    let paths = paths.iter().map(|p| p.as_ref().to_path_buf()).collect();
    *DISK_PATHS.write().unwrap_or_else(PoisonError::into_inner) = paths;
    DISK_PATHS_SET.store(true, Ordering::Release);
}

fn disk_paths() -> Vec<PathBuf> {
    if DISK_PATHS_SET.load(Ordering::Acquire) {
        DISK_PATHS
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    } else if cfg!(windows) {
        vec![PathBuf::from("C:\\")]
    } else {
        vec![PathBuf::from("/")]
    }
}

/// Reads the process and the system now, and keeps the result as the
/// [`last`] sample. CPU percentages are over the time since the previous
/// sample, whoever took it. A failure is counted in
/// `telltale_resource_sample_errors_total`; a figure the platform does not
/// report is `None` rather than an error.
pub fn sample() -> Result<Sample, Error> {
    let result = std::panic::catch_unwind(AssertUnwindSafe(take_sample)).unwrap_or_else(|_| {
        Err(Error::Io(std::io::Error::other(
            "resource sampling panicked",
        )))
    });
    match &result {
        Ok(s) => *LAST.write().unwrap_or_else(PoisonError::into_inner) = Some(s.clone()),
        Err(_) => {
            ERRORS.fetch_add(1, Ordering::Relaxed);
        }
    }
    result
}

/// The latest successful sample, taken by [`sample`] or a [`Monitor`].
pub fn last() -> Option<Sample> {
    LAST.read().unwrap_or_else(PoisonError::into_inner).clone()
}

/// How many calls of [`sample`] (a [`Monitor`]'s included) have failed.
pub fn sample_errors() -> u64 {
    ERRORS.load(Ordering::Relaxed)
}

fn take_sample() -> Result<Sample, Error> {
    let mut guard = SAMPLER.lock().unwrap_or_else(PoisonError::into_inner);
    let sampler = guard.get_or_insert_with(Sampler::new);
    let now = Instant::now();
    let taken_at = unix_now();

    let mut process = sampler.process()?;
    if let Some((then, cpu)) = sampler.previous {
        let wall = now.duration_since(then).as_secs_f64();
        if wall > 0.0 {
            process.cpu_percent = Some(((process.cpu_seconds - cpu) / wall * 100.0).max(0.0));
        }
    }
    sampler.previous = Some((now, process.cpu_seconds));

    let system = sampler.system();
    let network = system.interfaces.iter().fold((0u64, 0u64), |(rx, tx), i| {
        (
            rx.saturating_add(i.received_bytes),
            tx.saturating_add(i.transmitted_bytes),
        )
    });
    process.network_received_bytes = network.0;
    process.network_transmitted_bytes = network.1;
    Ok(Sample {
        taken_at,
        process,
        system,
    })
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Sampler {
    fn new() -> Sampler {
        Sampler {
            system: sysinfo::System::new(),
            cpu_primed: false,
            previous: None,
            #[cfg(target_os = "linux")]
            start_time_seconds: None,
            #[cfg(not(target_os = "linux"))]
            networks: sysinfo::Networks::new(),
            #[cfg(not(unix))]
            disks: sysinfo::Disks::new(),
        }
    }

    #[cfg(target_os = "linux")]
    fn process(&mut self) -> Result<ProcessSample, Error> {
        use procfs::process::{LimitValue, Process};
        let me = Process::myself().map_err(proc_error)?;
        let stat = me.stat().map_err(proc_error)?;
        let ticks = procfs::ticks_per_second() as f64;
        let start_time_seconds = if let Some(t) = self.start_time_seconds {
            t
        } else {
            let boot = procfs::boot_time_secs().map_err(proc_error)?;
            let t = boot as f64 + stat.starttime as f64 / ticks;
            self.start_time_seconds = Some(t);
            t
        };
        let io = me.io().ok();
        Ok(ProcessSample {
            pid: std::process::id(),
            cpu_seconds: (stat.utime + stat.stime) as f64 / ticks,
            cpu_percent: None,
            resident_memory_bytes: stat.rss.saturating_mul(procfs::page_size()),
            virtual_memory_bytes: stat.vsize,
            open_fds: me.fd_count().ok().map(|n| n as u64),
            max_fds: me
                .limits()
                .ok()
                .and_then(|l| match l.max_open_files.soft_limit {
                    LimitValue::Value(v) => Some(v),
                    LimitValue::Unlimited => None,
                }),
            threads: u64::try_from(stat.num_threads).ok(),
            start_time_seconds,
            disk_read_bytes: io.as_ref().map(|io| io.read_bytes),
            disk_written_bytes: io.as_ref().map(|io| io.write_bytes),
            io_read_bytes: io.as_ref().map(|io| io.rchar),
            io_written_bytes: io.as_ref().map(|io| io.wchar),
            network_received_bytes: 0,
            network_transmitted_bytes: 0,
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn process(&mut self) -> Result<ProcessSample, Error> {
        use sysinfo::{ProcessRefreshKind, ProcessesToUpdate};
        let pid = sysinfo::get_current_pid().map_err(|e| Error::Io(std::io::Error::other(e)))?;
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            false,
            ProcessRefreshKind::nothing()
                .with_cpu()
                .with_memory()
                .with_disk_usage(),
        );
        let p = self
            .system
            .process(pid)
            .ok_or_else(|| Error::Io(std::io::Error::other("the current process is not listed")))?;
        let disk = p.disk_usage();
        Ok(ProcessSample {
            pid: std::process::id(),
            cpu_seconds: p.accumulated_cpu_time() as f64 / 1000.0,
            cpu_percent: None,
            resident_memory_bytes: p.memory(),
            virtual_memory_bytes: p.virtual_memory(),
            open_fds: None,
            max_fds: None,
            threads: None,
            start_time_seconds: p.start_time() as f64,
            disk_read_bytes: Some(disk.total_read_bytes),
            disk_written_bytes: Some(disk.total_written_bytes),
            io_read_bytes: None,
            io_written_bytes: None,
            network_received_bytes: 0,
            network_transmitted_bytes: 0,
        })
    }

    fn system(&mut self) -> SystemSample {
        use sysinfo::{CpuRefreshKind, MemoryRefreshKind};
        self.system
            .refresh_cpu_specifics(CpuRefreshKind::nothing().with_cpu_usage());
        let cpu_percent = if self.cpu_primed {
            Some(f64::from(self.system.global_cpu_usage()).clamp(0.0, 100.0))
        } else {
            self.cpu_primed = true;
            None
        };
        self.system
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        let load_average = if cfg!(windows) {
            None
        } else {
            let l = sysinfo::System::load_average();
            Some([l.one, l.five, l.fifteen])
        };
        let disks = disk_paths().iter().filter_map(|p| self.disk(p)).collect();
        SystemSample {
            cpu_percent,
            load_average,
            memory_total_bytes: self.system.total_memory(),
            memory_used_bytes: self.system.used_memory(),
            memory_available_bytes: self.system.available_memory(),
            disks,
            interfaces: self.interfaces(),
        }
    }

    #[cfg(target_os = "linux")]
    #[allow(clippy::unused_self)]
    fn interfaces(&mut self) -> Vec<InterfaceSample> {
        let Ok(devices) = procfs::net::dev_status() else {
            return Vec::new();
        };
        let mut out: Vec<InterfaceSample> = devices
            .into_values()
            .map(|d| InterfaceSample {
                name: d.name,
                received_bytes: d.recv_bytes,
                transmitted_bytes: d.sent_bytes,
                received_packets: d.recv_packets,
                transmitted_packets: d.sent_packets,
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    #[cfg(not(target_os = "linux"))]
    fn interfaces(&mut self) -> Vec<InterfaceSample> {
        self.networks.refresh(true);
        let mut out: Vec<InterfaceSample> = self
            .networks
            .list()
            .iter()
            .map(|(name, d)| InterfaceSample {
                name: name.clone(),
                received_bytes: d.total_received(),
                transmitted_bytes: d.total_transmitted(),
                received_packets: d.total_packets_received(),
                transmitted_packets: d.total_packets_transmitted(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    #[cfg(unix)]
    #[allow(clippy::unused_self, clippy::unnecessary_cast, clippy::cast_lossless)]
    fn disk(&mut self, path: &Path) -> Option<DiskSample> {
        let v = rustix::fs::statvfs(path).ok()?;
        let block = v.f_frsize as u64;
        Some(disk_sample(
            path,
            (v.f_blocks as u64).saturating_mul(block),
            (v.f_bfree as u64).saturating_mul(block),
            (v.f_bavail as u64).saturating_mul(block),
        ))
    }

    /// The disk whose mount point is the longest prefix of `path`.
    #[cfg(not(unix))]
    fn disk(&mut self, path: &Path) -> Option<DiskSample> {
        self.disks.refresh(true);
        let d = self
            .disks
            .list()
            .iter()
            .filter(|d| path.starts_with(d.mount_point()))
            .max_by_key(|d| d.mount_point().as_os_str().len())?;
        Some(disk_sample(
            path,
            d.total_space(),
            d.available_space(),
            d.available_space(),
        ))
    }
}

fn disk_sample(path: &Path, total: u64, free: u64, available: u64) -> DiskSample {
    let used = total.saturating_sub(free);
    let denominator = used.saturating_add(available);
    DiskSample {
        path: path.to_string_lossy().into_owned(),
        total_bytes: total,
        free_bytes: free,
        available_bytes: available,
        used_bytes: used,
        used_percent: if denominator == 0 {
            0.0
        } else {
            used as f64 / denominator as f64 * 100.0
        },
    }
}

#[cfg(target_os = "linux")]
#[allow(clippy::needless_pass_by_value)]
fn proc_error(e: procfs::ProcError) -> Error {
    Error::Io(std::io::Error::other(e.to_string()))
}

// ---------------------------------------------------------------------------
// Periodic sampling.

/// Periodic sampling on a background thread, started by [`monitor`]. Stops
/// on [`stop`](Monitor::stop) or when dropped.
#[derive(Debug)]
pub struct Monitor {
    interval: Duration,
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// Starts sampling every `interval` (at least 1 ms) on a background thread,
/// the first sample at once. Every sample becomes the [`last`] one and is
/// exported; a failed sample is counted and the thread goes on.
///
/// ```
/// use std::time::Duration;
/// let m = telltale::resources::monitor(Duration::from_millis(50));
/// while telltale::resources::last().is_none() {
///     std::thread::sleep(Duration::from_millis(5));
/// }
/// m.stop();
/// m.stop(); // idempotent
/// assert!(!m.is_running());
/// ```
#[must_use = "sampling stops when the Monitor is dropped: keep it (in `main`, or in the service's state) for as long as sampling should run"]
pub fn monitor(interval: Duration) -> Monitor {
    let interval = interval.max(Duration::from_millis(1));
    let stop = Arc::new((Mutex::new(false), Condvar::new()));
    let signal = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("telltale-resources".into())
        .spawn(move || run(interval, &signal))
        .ok();
    Monitor {
        interval,
        stop,
        thread: Mutex::new(thread),
    }
}

fn run(interval: Duration, signal: &(Mutex<bool>, Condvar)) {
    let (lock, wake) = signal;
    loop {
        // Errors are counted by `sample`; the loop goes on regardless.
        let _ = sample();
        let deadline = Instant::now() + interval;
        let mut stopped = lock.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if *stopped {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            stopped = wake
                .wait_timeout(stopped, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl Monitor {
    /// Stops sampling and waits for the thread to end. Calling it again
    /// does nothing.
    pub fn stop(&self) {
        let (lock, wake) = &*self.stop;
        *lock.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }

    /// Whether the sampling thread is still running.
    pub fn is_running(&self) -> bool {
        self.thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|t| !t.is_finished())
    }

    /// The sampling interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------
// Export.

/// Not zero-sized: the registry tells metrics apart by address, and
/// zero-sized statics may share one.
struct ResourceMetrics(#[allow(dead_code)] u8);

static METRICS: ResourceMetrics = ResourceMetrics(0);

inventory::submit! { Registration::of(&METRICS) }

impl Collect for ResourceMetrics {
    /// Values of this process alone: a multi-process backend leaves them
    /// out of what it merges.
    fn shared(&self) -> bool {
        false
    }

    fn collect(&'static self, out: &mut Sink) {
        let errors = sample_errors();
        let Some(s) = last() else {
            if errors > 0 {
                push_errors(out, errors);
            }
            return;
        };
        push_errors(out, errors);
        export(&s, out);
    }
}

fn push_errors(out: &mut Sink, errors: u64) {
    out.push(
        &Desc {
            name: "telltale_resource_sample_errors",
            help: "Resource samples that failed.",
            unit: None,
            kind: MetricKind::Counter,
        },
        vec![],
        Value::Counter(errors as f64),
        None,
    );
}

fn gauge(out: &mut Sink, name: &str, help: &str, unit: Option<&'static str>, value: f64) {
    out.push(
        &Desc {
            name,
            help,
            unit,
            kind: MetricKind::Gauge,
        },
        vec![],
        Value::Gauge(value),
        None,
    );
}

fn export(s: &Sample, out: &mut Sink) {
    export_process(&s.process, out);
    export_system(&s.system, out);
    for disk in &s.system.disks {
        export_disk(disk, out);
    }
    for interface in &s.system.interfaces {
        export_interface(interface, out);
    }
}

/// The `process_*` series.
fn export_process(p: &ProcessSample, out: &mut Sink) {
    let created = Some(p.start_time_seconds);
    let counter = |out: &mut Sink, name: &str, help: &str, unit, value: f64| {
        out.push(
            &Desc {
                name,
                help,
                unit,
                kind: MetricKind::Counter,
            },
            vec![],
            Value::Counter(value),
            created,
        );
    };
    let seconds = Some("seconds");
    let bytes = Some("bytes");
    counter(
        out,
        "process_cpu_seconds",
        "Total user and system CPU time spent, in seconds.",
        seconds,
        p.cpu_seconds,
    );
    if let Some(pct) = p.cpu_percent {
        gauge(
            out,
            "process_cpu_usage_ratio",
            "CPU seconds per second over the last sampling interval (1 = one core).",
            Some("ratio"),
            pct / 100.0,
        );
    }
    gauge(
        out,
        "process_resident_memory_bytes",
        "Resident memory size, in bytes.",
        bytes,
        p.resident_memory_bytes as f64,
    );
    gauge(
        out,
        "process_virtual_memory_bytes",
        "Virtual memory size, in bytes.",
        bytes,
        p.virtual_memory_bytes as f64,
    );
    if let Some(n) = p.open_fds {
        gauge(
            out,
            "process_open_fds",
            "Number of open file descriptors.",
            None,
            n as f64,
        );
    }
    if let Some(n) = p.max_fds {
        gauge(
            out,
            "process_max_fds",
            "Maximum number of open file descriptors.",
            None,
            n as f64,
        );
    }
    if let Some(n) = p.threads {
        gauge(
            out,
            "process_threads",
            "Number of OS threads in the process.",
            None,
            n as f64,
        );
    }
    gauge(
        out,
        "process_start_time_seconds",
        "Start time of the process since the Unix epoch, in seconds.",
        seconds,
        p.start_time_seconds,
    );
    let io = [
        (
            "process_disk_read_bytes",
            "Bytes the process caused to be read from storage.",
            p.disk_read_bytes,
        ),
        (
            "process_disk_written_bytes",
            "Bytes the process caused to be written to storage.",
            p.disk_written_bytes,
        ),
        (
            "process_io_read_bytes",
            "Bytes passed to read calls, page-cache hits included.",
            p.io_read_bytes,
        ),
        (
            "process_io_written_bytes",
            "Bytes passed to write calls.",
            p.io_written_bytes,
        ),
        (
            "process_network_receive_bytes",
            "Bytes received over the interfaces the process sees (its network namespace on Linux, the system elsewhere).",
            Some(p.network_received_bytes),
        ),
        (
            "process_network_transmit_bytes",
            "Bytes sent over the interfaces the process sees (its network namespace on Linux, the system elsewhere).",
            Some(p.network_transmitted_bytes),
        ),
    ];
    for (name, help, value) in io {
        if let Some(v) = value {
            counter(out, name, help, bytes, v as f64);
        }
    }
}

/// The `system_*` series of the whole machine.
fn export_system(sys: &SystemSample, out: &mut Sink) {
    let bytes = Some("bytes");
    if let Some(pct) = sys.cpu_percent {
        gauge(
            out,
            "system_cpu_usage_ratio",
            "Busy share of all CPUs over the last sampling interval, 0 to 1.",
            Some("ratio"),
            pct / 100.0,
        );
    }
    if let Some([one, five, fifteen]) = sys.load_average {
        gauge(out, "system_load1", "1-minute load average.", None, one);
        gauge(out, "system_load5", "5-minute load average.", None, five);
        gauge(
            out,
            "system_load15",
            "15-minute load average.",
            None,
            fifteen,
        );
    }
    gauge(
        out,
        "system_memory_total_bytes",
        "Physical memory, in bytes.",
        bytes,
        sys.memory_total_bytes as f64,
    );
    gauge(
        out,
        "system_memory_used_bytes",
        "Physical memory in use, in bytes.",
        bytes,
        sys.memory_used_bytes as f64,
    );
    gauge(
        out,
        "system_memory_available_bytes",
        "Physical memory available without swapping, in bytes.",
        bytes,
        sys.memory_available_bytes as f64,
    );
}

/// One series of each figure `(name, help, unit, value)`, all of `kind`
/// with the one label `label`.
fn labeled<const N: usize>(
    out: &mut Sink,
    kind: MetricKind,
    (label, value_of_label): (&str, &str),
    figures: [(&str, &str, Option<&'static str>, f64); N],
) {
    for (name, help, unit, value) in figures {
        let value = match kind {
            MetricKind::Counter => Value::Counter(value),
            _ => Value::Gauge(value),
        };
        out.push(
            &Desc {
                name,
                help,
                unit,
                kind,
            },
            vec![(label.to_owned(), value_of_label.to_owned())],
            value,
            None,
        );
    }
}

/// The `system_filesystem_*` series of one watched path.
fn export_disk(d: &DiskSample, out: &mut Sink) {
    let bytes = Some("bytes");
    let figures = [
        (
            "system_filesystem_size_bytes",
            "Size of the file system holding the path, in bytes.",
            bytes,
            d.total_bytes as f64,
        ),
        (
            "system_filesystem_free_bytes",
            "Free bytes of the file system holding the path, reserved blocks included.",
            bytes,
            d.free_bytes as f64,
        ),
        (
            "system_filesystem_avail_bytes",
            "Bytes of the file system holding the path available to unprivileged users.",
            bytes,
            d.available_bytes as f64,
        ),
        (
            "system_filesystem_used_bytes",
            "Bytes in use on the file system holding the path.",
            bytes,
            d.used_bytes as f64,
        ),
        (
            "system_filesystem_used_ratio",
            "Used share of the file system holding the path, as df shows it, 0 to 1.",
            Some("ratio"),
            d.used_percent / 100.0,
        ),
    ];
    labeled(out, MetricKind::Gauge, ("path", &d.path), figures);
}

/// The `system_network_*` series of one interface.
fn export_interface(i: &InterfaceSample, out: &mut Sink) {
    let bytes = Some("bytes");
    let figures = [
        (
            "system_network_receive_bytes",
            "Bytes received on the interface.",
            bytes,
            i.received_bytes,
        ),
        (
            "system_network_transmit_bytes",
            "Bytes sent on the interface.",
            bytes,
            i.transmitted_bytes,
        ),
        (
            "system_network_receive_packets",
            "Packets received on the interface.",
            None,
            i.received_packets,
        ),
        (
            "system_network_transmit_packets",
            "Packets sent on the interface.",
            None,
            i.transmitted_packets,
        ),
    ];
    #[allow(clippy::cast_precision_loss)] // byte and packet counts far below 2^53
    let figures = figures.map(|(name, help, unit, value)| (name, help, unit, value as f64));
    labeled(out, MetricKind::Counter, ("interface", &i.name), figures);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn used_percent_is_df_style() {
        let d = disk_sample(Path::new("/x"), 100, 30, 20);
        assert_eq!(d.used_bytes, 70);
        assert!((d.used_percent - 70.0 / 90.0 * 100.0).abs() < 1e-9);
        assert!(disk_sample(Path::new("/"), 0, 0, 0).used_percent.abs() < f64::EPSILON);
    }

    #[test]
    fn second_sample_has_cpu_figures() {
        sample().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let s = sample().unwrap();
        assert!(s.process.cpu_percent.is_some());
        assert!(s.system.cpu_percent.is_some());
        assert!(s.process.start_time_seconds > 1.0e9);
        assert!(s.process.start_time_seconds <= s.taken_at);
    }
}
