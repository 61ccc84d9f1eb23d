//! A stream of metric values: one batch per tick of the window ticker, with
//! every matching series or ([`Filter::changes_only`]) only those whose value
//! changed since the subscriber's last batch.
//!
//! Every tick of the window ticker ([`crate::window::start`]) publishes the
//! snapshot it took once, shared; each subscriber
//! filters it on its own side. Publishing never waits for a subscriber: a
//! consumer that falls more than [`BUFFERED_TICKS`] behind skips the batches
//! it missed and receives [`StreamItem::Lagged`] with their number instead,
//! so a slow consumer never slows recording or the ticker.
//!
//! ```
//! use telltale::stream::{self, Filter, StreamExt, StreamItem};
//! use telltale::snapshot::MetricKind;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let mut values = stream::subscribe(Filter::default().kind(MetricKind::Counter));
//! static JOBS: telltale::Counter = telltale::Counter::new("stream_doc_jobs_total", "Jobs.");
//! JOBS.inc();
//! stream::publish_now(); // what each tick of the window ticker does
//! match values.next().await {
//!     Some(StreamItem::Batch(batch)) => {
//!         assert!(batch.values.iter().any(|v| v.name == "stream_doc_jobs"));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! # });
//! ```

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::SystemTime;

use tokio::sync::broadcast;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::Stream;

/// `next()` and the other combinators of a stream, re-exported so that a
/// subscriber needs no `tokio-stream` dependency of its own.
pub use tokio_stream::StreamExt;

use crate::collect::snapshot::{names_family, MetricKind, Snapshot, Value};

/// Batches a subscriber may fall behind before it skips some.
pub const BUFFERED_TICKS: usize = 16;

fn sender() -> &'static broadcast::Sender<Arc<(SystemTime, Snapshot)>> {
    static SENDER: OnceLock<broadcast::Sender<Arc<(SystemTime, Snapshot)>>> = OnceLock::new();
    SENDER.get_or_init(|| broadcast::channel(BUFFERED_TICKS).0)
}

/// Publishes a snapshot taken at `at` to every subscriber (the ticker calls
/// this once per tick). Cheap when nobody subscribes.
pub fn publish(at: SystemTime, snapshot: Snapshot) {
    let tx = sender();
    if tx.receiver_count() > 0 {
        let _ = tx.send(Arc::new((at, snapshot)));
    }
}

/// Whether anyone subscribes (the ticker skips copying its snapshot if not).
pub fn has_subscribers() -> bool {
    sender().receiver_count() > 0
}

/// Takes a snapshot now and publishes it.
pub fn publish_now() {
    if sender().receiver_count() > 0 {
        publish(SystemTime::now(), Snapshot::collect());
    }
}

/// Which series a subscriber wants. Empty parts match everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    names: Vec<String>,
    kinds: Vec<MetricKind>,
    labels: Vec<(String, String)>,
    changes_only: bool,
}

impl Filter {
    /// Only the family this names: its family name or one of its sample
    /// names (`orders` or `orders_total`; see
    /// [`names_family`](crate::snapshot::names_family)); may repeat.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.names.push(name.into());
        self
    }

    /// Only families of this kind; may repeat.
    #[must_use]
    pub fn kind(mut self, kind: MetricKind) -> Self {
        self.kinds.push(kind);
        self
    }

    /// Only series with this label value; all given labels must match.
    #[must_use]
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.push((key.into(), value.into()));
        self
    }

    /// Only the series whose value changed since this subscriber's last
    /// batch, or that were not in it (so every series in the first batch).
    /// A series that is no longer exported is not reported.
    #[must_use]
    pub fn changes_only(mut self) -> Self {
        self.changes_only = true;
        self
    }

    fn batch(&self, at: SystemTime, snapshot: &Snapshot) -> Batch {
        let mut values = Vec::new();
        for f in &snapshot.families {
            if !self.names.is_empty()
                && !self.names.iter().any(|n| names_family(n, &f.name, f.kind))
            {
                continue;
            }
            if !self.kinds.is_empty() && !self.kinds.contains(&f.kind) {
                continue;
            }
            for s in &f.series {
                if self
                    .labels
                    .iter()
                    .all(|(k, v)| s.label(k) == Some(v.as_str()))
                {
                    values.push(MetricValue {
                        name: f.name.to_string(),
                        kind: f.kind,
                        unit: f.unit,
                        labels: s
                            .labels
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect(),
                        value: s.value.clone(),
                    });
                }
            }
        }
        Batch { at, values }
    }
}

/// One series' value at a tick.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricValue {
    /// The family name (counters without `_total`).
    pub name: String,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// The unit, when the name carries one.
    pub unit: Option<&'static str>,
    /// The series' labels.
    pub labels: Vec<(String, String)>,
    /// Its value.
    pub value: Value,
}

/// The values of one tick.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// When the tick's snapshot was taken.
    pub at: SystemTime,
    /// The values that matched the filter.
    pub values: Vec<MetricValue>,
}

/// What a [`MetricStream`] yields.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    /// A tick's values.
    Batch(Batch),
    /// The consumer fell behind: this many batches were skipped.
    Lagged(u64),
}

/// Subscribes to every later tick's values that match `filter`.
pub fn subscribe(filter: Filter) -> MetricStream {
    MetricStream {
        inner: BroadcastStream::new(sender().subscribe()),
        filter,
        last: HashMap::new(),
    }
}

/// A series' identity within a subscriber's stream.
type SeriesKey = (String, Vec<(String, String)>);

/// An async [`Stream`] of [`StreamItem`]s (see [`subscribe`]).
pub struct MetricStream {
    inner: BroadcastStream<Arc<(SystemTime, Snapshot)>>,
    filter: Filter,
    /// With [`Filter::changes_only`]: each series of the last batch received
    /// (before dropping the unchanged ones) with its value; no more series
    /// than one batch holds.
    last: HashMap<SeriesKey, Value>,
}

impl MetricStream {
    /// Keeps the values that differ from the last batch's (or were not in
    /// it), and remembers this batch in its place.
    fn keep_changes(&mut self, batch: &mut Batch) {
        let previous = std::mem::take(&mut self.last);
        let last = &mut self.last;
        batch.values.retain(|v| {
            let key = (v.name.clone(), v.labels.clone());
            let changed = previous.get(&key) != Some(&v.value);
            last.insert(key, v.value.clone());
            changed
        });
    }
}

impl std::fmt::Debug for MetricStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricStream")
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl Stream for MetricStream {
    type Item = StreamItem;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<StreamItem>> {
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(shared))) => {
                let (at, snapshot) = &*shared;
                let mut batch = self.filter.batch(*at, snapshot);
                if self.filter.changes_only {
                    self.keep_changes(&mut batch);
                }
                Poll::Ready(Some(StreamItem::Batch(batch)))
            }
            Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(n)))) => {
                Poll::Ready(Some(StreamItem::Lagged(n)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StreamExt;
    use super::*;

    static A: crate::metric::standalone::Counter =
        crate::metric::standalone::Counter::new("stream_test_a_total", "t");
    static G: crate::metric::standalone::Gauge =
        crate::metric::standalone::Gauge::new("stream_test_g", "t");

    /// The next batch with values; other tests publish on the same channel
    /// (empty batches, lags) meanwhile.
    async fn next_values(s: &mut MetricStream) -> Batch {
        loop {
            match s.next().await {
                Some(StreamItem::Batch(b)) if !b.values.is_empty() => return b,
                Some(_) => {}
                None => panic!("stream ended"),
            }
        }
    }

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn batches_carry_only_what_the_filter_selects() {
        run(async {
            let mut by_name = subscribe(Filter::default().name("stream_test_a"));
            // The same family by its sample name, as windows take it.
            let mut by_sample_name = subscribe(Filter::default().name("stream_test_a_total"));
            let mut gauges = subscribe(
                Filter::default()
                    .kind(MetricKind::Gauge)
                    .name("stream_test_g"),
            );
            A.inc_by(3);
            G.set(1.5);
            publish_now();
            let b = next_values(&mut by_name).await;
            assert_eq!(b.values.len(), 1);
            assert_eq!(b.values[0].value, Value::Counter(3.0));
            let by_sample = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                next_values(&mut by_sample_name),
            )
            .await
            .expect("the sample name selects the family");
            assert_eq!(by_sample, b);
            let b = next_values(&mut gauges).await;
            let names: Vec<&str> = b.values.iter().map(|v| v.name.as_str()).collect();
            assert_eq!(names, ["stream_test_g"]);
            assert_eq!(b.values[0].value, Value::Gauge(1.5));
            let mut none = subscribe(Filter::default().name("stream_test_a").label("no", "such"));
            publish_now();
            loop {
                match none.next().await {
                    Some(StreamItem::Batch(b)) => break assert!(b.values.is_empty()),
                    Some(StreamItem::Lagged(_)) => {}
                    None => panic!("stream ended"),
                }
            }
        });
    }

    #[test]
    fn changes_only_sends_a_series_again_only_when_its_value_changed() {
        // Publishes until a batch with values arrives: a batch lost to a lag
        // (other tests publish on the same channel) only delays a change,
        // since a subscriber compares with what it last received. After a
        // lag it reads on without publishing: publishing at the back of a
        // full buffer would push out the very batch it is about to read.
        async fn next_change(s: &mut MetricStream) -> Batch {
            publish_now();
            loop {
                match s.next().await {
                    Some(StreamItem::Batch(b)) if !b.values.is_empty() => return b,
                    Some(StreamItem::Batch(_)) => publish_now(),
                    Some(StreamItem::Lagged(_)) => {}
                    None => panic!("stream ended"),
                }
            }
        }
        run(async {
            static C: crate::metric::standalone::Counter =
                crate::metric::standalone::Counter::new("stream_test_c_total", "t");
            static H: crate::metric::standalone::Gauge =
                crate::metric::standalone::Gauge::new("stream_test_h", "t");
            let mut changes = subscribe(
                Filter::default()
                    .name("stream_test_c")
                    .name("stream_test_h")
                    .changes_only(),
            );
            C.inc();
            H.set(2.0);
            // The first time, every series is new.
            let b = next_change(&mut changes).await;
            let mut names: Vec<&str> = b.values.iter().map(|v| v.name.as_str()).collect();
            names.sort_unstable();
            assert_eq!(names, ["stream_test_c", "stream_test_h"]);
            // Unchanged: an empty batch.
            publish_now();
            loop {
                match changes.next().await {
                    Some(StreamItem::Batch(b)) => break assert!(b.values.is_empty(), "{b:?}"),
                    Some(StreamItem::Lagged(_)) => {}
                    None => panic!("stream ended"),
                }
            }
            C.inc();
            let b = next_change(&mut changes).await;
            assert_eq!(b.values.len(), 1, "{b:?}");
            assert_eq!(b.values[0].name, "stream_test_c");
            assert_eq!(b.values[0].value, Value::Counter(2.0));
            // A value that returns to an earlier one is a change too.
            H.set(3.0);
            let b = next_change(&mut changes).await;
            assert_eq!(b.values.len(), 1, "{b:?}");
            assert_eq!(b.values[0].value, Value::Gauge(3.0));
            H.set(2.0);
            let b = next_change(&mut changes).await;
            assert_eq!(b.values[0].value, Value::Gauge(2.0));
        });
    }

    #[test]
    fn changes_only_keeps_one_batch_and_sends_returning_series_again() {
        let value = |name: &str, v: f64| MetricValue {
            name: name.to_owned(),
            kind: MetricKind::Gauge,
            unit: None,
            labels: vec![("k".to_owned(), "v".to_owned())],
            value: Value::Gauge(v),
        };
        let mut s = subscribe(Filter::default().changes_only());
        let mut changes = |values: Vec<MetricValue>| {
            let mut batch = Batch {
                at: SystemTime::now(),
                values,
            };
            s.keep_changes(&mut batch);
            let names: Vec<String> = batch.values.into_iter().map(|v| v.name).collect();
            (names, s.last.len())
        };
        let (sent, kept) = changes(vec![value("a", 1.0), value("b", 1.0)]);
        assert_eq!((sent, kept), (vec!["a".to_owned(), "b".to_owned()], 2));
        // `b` goes missing: only `a` is remembered.
        let (sent, kept) = changes(vec![value("a", 1.0)]);
        assert_eq!((sent, kept), (vec![], 1));
        // `b` returns with its old value: new again.
        let (sent, kept) = changes(vec![value("a", 1.0), value("b", 1.0)]);
        assert_eq!((sent, kept), (vec!["b".to_owned()], 2));
    }

    #[test]
    fn the_window_ticker_publishes_each_tick() {
        run(async {
            static B: crate::metric::standalone::Counter =
                crate::metric::standalone::Counter::new("stream_test_b_total", "t");
            let mut values = subscribe(Filter::default().name("stream_test_b"));
            B.inc();
            crate::query::window::Windows::new(crate::query::window::WindowConfig::default())
                .tick();
            let b = next_values(&mut values).await;
            assert_eq!(b.values[0].value, Value::Counter(1.0));
        });
    }

    #[test]
    fn a_consumer_that_falls_behind_is_told_how_much_it_missed() {
        run(async {
            let mut slow = subscribe(Filter::default().name("stream_test_a"));
            // The publisher never waits for the consumer.
            for _ in 0..(BUFFERED_TICKS + 24) {
                // Whole snapshots, like the ticker's: a `changes_only`
                // subscriber of another test sees no series go missing.
                publish(SystemTime::now(), Snapshot::collect());
            }
            match slow.next().await {
                Some(StreamItem::Lagged(n)) => assert!(n >= 24, "{n}"),
                other => panic!("{other:?}"),
            }
            // Then the batches still buffered arrive.
            assert!(matches!(slow.next().await, Some(StreamItem::Batch(_))));
        });
    }
}
