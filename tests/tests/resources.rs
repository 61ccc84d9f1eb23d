//! The resource monitor against the operating system: memory touched shows
//! in RSS, bytes written to a file in the disk counters, bytes sent over
//! loopback in the `lo` counters; periodic sampling starts and stops; the
//! series render and parse.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use telltale::resources::{self, Sample};

const MB: u64 = 1024 * 1024;

fn sample() -> Sample {
    resources::sample().expect("a resource sample")
}

#[test]
fn a_sample_has_the_basic_figures() {
    let s = sample();
    assert_eq!(s.process.pid, std::process::id());
    assert!(s.process.resident_memory_bytes > 0);
    assert!(s.process.virtual_memory_bytes >= s.process.resident_memory_bytes);
    assert!(s.process.cpu_seconds >= 0.0);
    assert!(s.process.start_time_seconds > 1.0e9 && s.process.start_time_seconds <= s.taken_at);
    assert!(s.system.memory_total_bytes > 0);
    assert!(s.system.memory_used_bytes <= s.system.memory_total_bytes);
    assert!(s.system.memory_available_bytes <= s.system.memory_total_bytes);
    assert!(!s.system.interfaces.is_empty());
    let root = s.system.disks.iter().find(|d| d.path == "/");
    let root = root.expect("`/` is reported by default");
    assert!(root.total_bytes > 0 && root.used_bytes <= root.total_bytes);
    assert!((0.0..=100.0).contains(&root.used_percent));
    if cfg!(target_os = "linux") {
        let fds = s.process.open_fds.expect("open fds on Linux");
        assert!(fds >= 3, "stdin, stdout, stderr at least: {fds}");
        if let Some(max) = s.process.max_fds {
            assert!(max >= fds);
        }
        assert!(s.process.threads.expect("threads on Linux") >= 1);
        assert!(s.system.load_average.is_some());
    }
}

#[test]
fn resident_memory_grows_after_touching_100_mb() {
    let before = sample().process.resident_memory_bytes;
    let len = 100 * MB as usize;
    // Zeroed by the allocator without touching the pages; writing one byte
    // of each page below maps it.
    let mut block: Vec<u8> = vec![0; len];
    for i in (0..len).step_by(4096) {
        block[i] = (i % 251) as u8 + 1;
    }
    std::hint::black_box(&mut block);
    let after = sample().process.resident_memory_bytes;
    assert!(
        after >= before + 80 * MB,
        "RSS went from {before} to {after} after touching 100 MB"
    );
    drop(block);
}

#[cfg(target_os = "linux")]
#[test]
fn bytes_written_to_a_file_appear_in_the_write_counters() {
    let path = std::env::temp_dir().join(format!("telltale-resources-{}", std::process::id()));
    let before = sample().process;
    {
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0x5au8; MB as usize];
        for _ in 0..8 {
            f.write_all(&chunk).unwrap();
        }
        f.sync_all().unwrap();
    }
    let after = sample().process;
    std::fs::remove_file(&path).ok();

    // `wchar` counts every byte passed to write(2): always the 8 MB.
    let wchar = after.io_written_bytes.unwrap() - before.io_written_bytes.unwrap();
    assert!(wchar >= 8 * MB, "wchar grew by {wchar}");
    // `write_bytes` counts what reached storage: after sync_all, the 8 MB
    // on a disk-backed file system (ext4, xfs, btrfs: this machine's temp
    // dir is ext4). On tmpfs nothing reaches storage, and some overlay
    // setups account the writeback elsewhere; the counter then stays put and
    // only wchar can show the bytes, checked above.
    let disk = after.disk_written_bytes.unwrap() - before.disk_written_bytes.unwrap();
    if disk > 0 {
        assert!(disk >= 8 * MB, "write_bytes grew by only {disk}");
    } else {
        eprintln!("write_bytes did not move: {path:?} is not disk-backed");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn bytes_sent_over_loopback_appear_in_the_lo_counters() {
    let lo = |s: &Sample| {
        s.system
            .interfaces
            .iter()
            .find(|i| i.name == "lo")
            .cloned()
            .expect("a loopback interface named lo")
    };
    let before = sample();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let reader = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut total = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match conn.read(&mut buf).unwrap() {
                0 => return total,
                n => total += n as u64,
            }
        }
    });
    let mut conn = TcpStream::connect(addr).unwrap();
    let payload = vec![7u8; 4 * MB as usize];
    conn.write_all(&payload).unwrap();
    drop(conn);
    assert_eq!(reader.join().unwrap(), 4 * MB);
    let after = sample();

    let (b, a) = (lo(&before), lo(&after));
    // Loopback traffic is both sent and received on `lo`.
    assert!(a.transmitted_bytes - b.transmitted_bytes >= 4 * MB);
    assert!(a.received_bytes - b.received_bytes >= 4 * MB);
    assert!(a.transmitted_packets > b.transmitted_packets);
    // The process figures sum the namespace's interfaces, `lo` included.
    let p = |s: &Sample| {
        (
            s.process.network_received_bytes,
            s.process.network_transmitted_bytes,
        )
    };
    assert!(p(&after).0 - p(&before).0 >= 4 * MB);
    assert!(p(&after).1 - p(&before).1 >= 4 * MB);
}

#[test]
fn the_monitor_samples_until_stopped() {
    let m = resources::monitor(Duration::from_millis(20));
    assert!(m.is_running());
    assert_eq!(m.interval(), Duration::from_millis(20));
    let start = resources::last().map_or(0.0, |s| s.taken_at);
    let deadline = Instant::now() + Duration::from_secs(5);
    // Wait for two samples taken by the monitor after it started.
    let mut seen = Vec::new();
    while seen.len() < 2 && Instant::now() < deadline {
        if let Some(s) = resources::last() {
            if s.taken_at > start && !seen.contains(&s.taken_at) {
                seen.push(s.taken_at);
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(seen.len(), 2, "the monitor took fewer than two samples");
    let t = Instant::now();
    m.stop();
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "stop waits at most a tick"
    );
    assert!(!m.is_running());
    m.stop();
    drop(m);

    // A monitor with a long interval stops at once on drop.
    let m = resources::monitor(Duration::from_secs(1000));
    let t = Instant::now();
    drop(m);
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[test]
fn disk_paths_can_be_chosen() {
    let dir = std::env::temp_dir();
    resources::set_disk_paths(&[std::path::Path::new("/"), dir.as_path()]);
    let s = sample();
    let paths: Vec<&str> = s.system.disks.iter().map(|d| d.path.as_str()).collect();
    assert!(paths.contains(&"/"));
    assert!(paths.contains(&dir.to_string_lossy().as_ref()), "{paths:?}");
    // A path that does not exist is left out, and sampling still succeeds.
    resources::set_disk_paths(&["/", "/no/such/path/for/telltale"]);
    let s = sample();
    assert_eq!(s.system.disks.len(), 1);
    resources::set_disk_paths(&["/"]);
}

#[test]
fn the_series_render_and_parse() {
    sample();
    std::thread::sleep(Duration::from_millis(10));
    sample();
    let text = telltale::render(telltale::Format::Prometheus);
    let families = telltale::parse::prometheus(&text).expect("valid exposition");
    let value = |name: &str| {
        families
            .iter()
            .flat_map(|f| f.samples.iter())
            .find(|s| s.name == name)
            .map(|s| s.value)
    };
    for name in [
        "process_cpu_seconds_total",
        "process_cpu_usage_ratio",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_start_time_seconds",
        "process_network_receive_bytes_total",
        "process_network_transmit_bytes_total",
        "system_cpu_usage_ratio",
        "system_memory_total_bytes",
        "system_memory_used_bytes",
        "system_memory_available_bytes",
        "telltale_resource_sample_errors_total",
    ] {
        assert!(value(name).is_some(), "{name} missing from\n{text}");
    }
    if cfg!(target_os = "linux") {
        for name in [
            "process_open_fds",
            "process_max_fds",
            "process_threads",
            "process_disk_read_bytes_total",
            "process_disk_written_bytes_total",
            "process_io_read_bytes_total",
            "process_io_written_bytes_total",
            "system_load1",
            "system_load5",
            "system_load15",
        ] {
            assert!(value(name).is_some(), "{name} missing from\n{text}");
        }
    }
    assert!(value("process_resident_memory_bytes").unwrap() > 0.0);
    let ratio = value("system_cpu_usage_ratio").unwrap();
    assert!((0.0..=1.0).contains(&ratio), "{ratio}");
    let labelled = |name: &str, label: &str| {
        families
            .iter()
            .flat_map(|f| f.samples.iter())
            .filter(|s| s.name == name)
            .filter_map(|s| s.label(label).map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert!(labelled("system_filesystem_size_bytes", "path").contains(&"/".to_owned()));
    assert!(!labelled("system_filesystem_avail_bytes", "path").is_empty());
    assert!(!labelled("system_network_receive_bytes_total", "interface").is_empty());
    assert!(!labelled("system_network_transmit_bytes_total", "interface").is_empty());
    if cfg!(target_os = "linux") {
        assert!(
            labelled("system_network_receive_bytes_total", "interface").contains(&"lo".to_owned())
        );
    }
    let types: Vec<(&str, &str)> = families
        .iter()
        .map(|f| (f.name.as_str(), f.kind.as_str()))
        .collect();
    assert!(types.contains(&("process_cpu_seconds_total", "counter")));
    assert!(types.contains(&("process_resident_memory_bytes", "gauge")));

    // OpenMetrics too, with units where the names end with them.
    let om = telltale::render(telltale::Format::OpenMetrics);
    let parsed = telltale::parse::openmetrics(&om).expect("valid OpenMetrics");
    let cpu = parsed
        .iter()
        .find(|f| f.name == "process_cpu_seconds")
        .expect("process_cpu_seconds family");
    assert_eq!(cpu.unit.as_deref(), Some("seconds"));
}
