//! The `telltale_push_*` series: one set per running endpoint, by the
//! endpoint's name. Every series of an endpoint exists at zero from its
//! start (an alert on an absent series does not fire for an endpoint that
//! has not pushed yet) and is gone once it stops (a pusher shut down or
//! dropped), so a removed endpoint does not linger in the exposition. An
//! endpoint started again under the same name (a reload) goes on from its
//! earlier counts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, PoisonError};

use crate::collect::registry::{Collect, Desc, Sink};
use crate::collect::snapshot::{MetricKind, Value};

#[derive(Debug, Default)]
struct Counts {
    sent: AtomicU64,
    failed: AtomicU64,
    retries: AtomicU64,
    dropped: AtomicU64,
    queue: AtomicU64,
}

#[derive(Debug, Default)]
struct Entry {
    counts: Arc<Counts>,
    /// Endpoints of this name that run.
    running: usize,
}

static ENDPOINTS: Mutex<BTreeMap<String, Entry>> = Mutex::new(BTreeMap::new());

fn endpoints() -> std::sync::MutexGuard<'static, BTreeMap<String, Entry>> {
    ENDPOINTS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The series of one running endpoint; they leave the exposition when it
/// is [retired](SelfMetrics::retire) or dropped.
#[derive(Debug)]
pub(crate) struct SelfMetrics {
    name: String,
    counts: Arc<Counts>,
    retired: AtomicBool,
}

impl SelfMetrics {
    /// The series of endpoint `name`, exported from now on.
    pub(crate) fn start(name: &str) -> SelfMetrics {
        static REGISTER: Once = Once::new();
        REGISTER.call_once(|| crate::collect::registry::register(&COLLECTOR));
        let mut endpoints = endpoints();
        let entry = endpoints.entry(name.to_owned()).or_default();
        entry.running += 1;
        if entry.running == 1 {
            entry.counts.queue.store(0, Ordering::Relaxed);
        }
        SelfMetrics {
            name: name.to_owned(),
            counts: Arc::clone(&entry.counts),
            retired: AtomicBool::new(false),
        }
    }

    pub(crate) fn sent(&self) {
        self.counts.sent.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn failed(&self) {
        self.counts.failed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn retry(&self) {
        self.counts.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn dropped(&self, n: u64) {
        self.counts.dropped.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn queue(&self, len: usize) {
        self.counts.queue.store(len as u64, Ordering::Relaxed);
    }

    /// The endpoint stopped: its series leave the exposition (once, however
    /// often this is called).
    pub(crate) fn retire(&self) {
        if self.retired.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(entry) = endpoints().get_mut(&self.name) {
            entry.running = entry.running.saturating_sub(1);
        }
    }
}

impl Drop for SelfMetrics {
    fn drop(&mut self) {
        self.retire();
    }
}

#[derive(Debug)]
struct Collector;

static COLLECTOR: Collector = Collector;

const COUNTERS: [(&str, &str); 4] = [
    (
        "telltale_push_sent",
        "Payloads an endpoint accepted, by endpoint.",
    ),
    (
        "telltale_push_failed",
        "Push requests that failed (errors, timeouts, refusals), by endpoint.",
    ),
    (
        "telltale_push_retries",
        "Push requests that were retries, by endpoint.",
    ),
    (
        "telltale_push_dropped",
        "Payloads dropped because an endpoint's queue was full or the endpoint refused them, by endpoint.",
    ),
];

impl Collect for Collector {
    fn shared(&self) -> bool {
        false
    }

    fn collect(&'static self, out: &mut Sink) {
        let running: Vec<(String, Arc<Counts>)> = endpoints()
            .iter()
            .filter(|(_, e)| e.running > 0)
            .map(|(name, e)| (name.clone(), Arc::clone(&e.counts)))
            .collect();
        for (i, (name, help)) in COUNTERS.iter().enumerate() {
            let desc = Desc {
                name,
                help,
                unit: None,
                kind: MetricKind::Counter,
            };
            for (endpoint, counts) in &running {
                let n = [
                    &counts.sent,
                    &counts.failed,
                    &counts.retries,
                    &counts.dropped,
                ][i]
                    .load(Ordering::Relaxed);
                out.push(
                    &desc,
                    vec![("endpoint".to_owned(), endpoint.clone())],
                    Value::Counter(n as f64),
                    None,
                );
            }
        }
        let queue = Desc {
            name: "telltale_push_queue_length",
            help: "Payloads waiting to be pushed, by endpoint.",
            unit: None,
            kind: MetricKind::Gauge,
        };
        for (endpoint, counts) in &running {
            out.push(
                &queue,
                vec![("endpoint".to_owned(), endpoint.clone())],
                Value::Gauge(counts.queue.load(Ordering::Relaxed) as f64),
                None,
            );
        }
    }
}
