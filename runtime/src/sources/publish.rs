//! The last good batch of every running source, and the registry entry
//! that exports them beside the program's own metrics.
//!
//! A family only one source exports is written straight into a render's
//! text, as the program's own families are; a family several sources
//! export is merged series by series, the first source (by name) keeping a
//! series the others also have.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex, Once, PoisonError};
use std::time::{Duration, Instant};

use super::batch::{Batch, BatchFamily};
use crate::collect::registry::{self, Collect, Desc, Sink};
use crate::collect::snapshot::Value;
use crate::collect::visit::SeriesWriter;

/// A source's last good batch.
#[derive(Debug, Clone)]
struct Published {
    batch: Arc<Batch>,
    /// When it was read.
    at: Instant,
    /// How long it is served.
    stale_after: Duration,
}

impl Published {
    fn fresh(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.at) <= self.stale_after
    }
}

static PUBLISHED: Mutex<BTreeMap<String, Published>> = Mutex::new(BTreeMap::new());

fn published() -> std::sync::MutexGuard<'static, BTreeMap<String, Published>> {
    PUBLISHED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Serves `batch` as the source `source`'s, read now, until `stale_after`
/// has passed.
pub(crate) fn publish(source: &str, batch: Batch, stale_after: Duration) {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        registry::register(&PUBLISHER);
        #[cfg(feature = "aggregate")]
        crate::aggregate::set_source_scope(scope);
    });
    published().insert(
        source.to_owned(),
        Published {
            batch: Arc::new(batch),
            at: Instant::now(),
            stale_after,
        },
    );
}

/// The label sets (sorted) of the series of family `family` (with or
/// without `_total`) that `source` serves now; `None` when it serves none.
#[cfg(feature = "aggregate")]
fn scope(source: &str, family: &str) -> Option<std::collections::HashSet<Vec<(String, String)>>> {
    let published = published();
    let batch = &published
        .get(source)
        .filter(|p| p.fresh(Instant::now()))?
        .batch;
    let family = batch
        .families
        .get(family)
        .or_else(|| batch.families.get(family.trim_end_matches("_total")))?;
    Some(family.series.keys().cloned().collect())
}

/// Stops serving the series of `source`.
pub(crate) fn withdraw(source: &str) {
    published().remove(source);
}

/// Whether `source` has a batch that is still served.
pub(crate) fn is_served(source: &str) -> bool {
    published()
        .get(source)
        .is_some_and(|p| p.fresh(Instant::now()))
}

/// Drops the batches that are stale, so that their memory goes too.
pub(crate) fn drop_stale() {
    let now = Instant::now();
    published().retain(|_, p| p.fresh(now));
}

struct Publisher;

static PUBLISHER: Publisher = Publisher;

impl Collect for Publisher {
    /// Values of this process alone: a multi-process backend leaves them
    /// out of what it merges.
    fn shared(&self) -> bool {
        false
    }

    fn collect(&'static self, out: &mut Sink) {
        let now = Instant::now();
        // The batches, without holding the lock while writing.
        let batches: Vec<Arc<Batch>> = published()
            .values()
            .filter(|p| p.fresh(now))
            .map(|p| Arc::clone(&p.batch))
            .collect();
        let mut owners: BTreeMap<&str, usize> = BTreeMap::new();
        for batch in &batches {
            for name in batch.families.keys() {
                *owners.entry(name).or_default() += 1;
            }
        }
        let shared: BTreeSet<&str> = owners
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(name, _)| *name)
            .collect();
        let mut seen: HashSet<(&str, &[(String, String)])> = HashSet::new();
        for batch in &batches {
            for (name, family) in &batch.families {
                let desc = Desc {
                    name,
                    help: &family.help,
                    unit: family.unit,
                    kind: family.kind,
                };
                let alone = !shared.contains(name.as_str())
                    && out.text_family(name, &family.help, family.unit, family.kind, |w| {
                        write_family(family, w);
                    });
                if alone {
                    continue;
                }
                out.declare(&desc);
                for (key, (labels, value)) in &family.series {
                    if seen.insert((name, key)) {
                        out.push(&desc, labels.clone(), value.clone(), None);
                    }
                }
            }
        }
    }
}

fn write_family(family: &BatchFamily, w: &mut dyn SeriesWriter) {
    for (labels, value) in family.series.values() {
        w.begin_series();
        for (k, v) in labels {
            w.label(k, v);
        }
        match value {
            Value::Counter(total) => w.counter(*total, None),
            Value::Gauge(v) => w.gauge(*v),
            Value::Histogram(h) => {
                w.histogram((h.count, h.sum, None), &mut h.buckets.iter().copied());
            }
        }
    }
}
