//! Metrics a user declares: [`Counter`], [`Gauge`], [`IntGauge`], [`Histogram`].
//!
//! Each is usable as a `static` (every constructor is `const`) and registers
//! itself on first use; [`register!`](crate::register) also submits it with
//! `inventory` so it appears, at zero, in the first exposition.
//!
//! Names are checked when the metric is built: in a `static` an invalid
//! name is a compile error, and [`Counter::register`] and friends return an
//! [`Error`] for names known only at run time.

use std::borrow::Cow;
use std::sync::atomic::{AtomicI64, AtomicPtr, AtomicU64, Ordering};
use std::sync::Once;

use crate::backend::cells::{Describe, GaugeLine};
use crate::backend::mode::GaugeMode;
use crate::backend::resident;
use crate::collect::registry::{Collect, Desc, Sink};
use crate::collect::snapshot::{HistogramValue, MetricKind, Value};
use crate::error::{check_metric_name, Error};
use crate::store::histogram::{HistogramCells, HISTOGRAM_BUCKETS};
use crate::store::shard::ShardedU64;
use crate::{collect::registry, store::clock};

/// The family of a metric named `name`: for a counter, the name without
/// `_total`.
pub(crate) fn family_name(name: &str, kind: MetricKind) -> &str {
    match kind {
        MetricKind::Counter => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    }
}

/// The unit of a histogram named `name`, from its suffix (`_seconds`, `_bytes`).
pub(crate) fn histogram_unit(name: &str) -> Option<&'static str> {
    ["seconds", "bytes"]
        .into_iter()
        .find(|u| name.ends_with(&format!("_{u}")))
}

/// Panics with what is wrong with `name` as a metric name, at the caller:
/// each public constructor calls this first, so a compile error in a
/// `static` points at the user's call with one note inside telltale.
macro_rules! check_name {
    ($name:expr) => {
        if let Some(message) = crate::error::metric_name_message($name) {
            panic!("{}", message.as_str());
        }
    };
}
pub(crate) use check_name;

/// Registration state shared by every metric type.
#[derive(Debug)]
struct Header {
    name: Cow<'static, str>,
    help: Cow<'static, str>,
    /// Done once the metric is in the registry; a thread that finds it
    /// running waits, so nothing is recorded before a collection can see it.
    registered: Once,
    created: AtomicU64,
}

impl Header {
    const fn new(name: &'static str, help: &'static str) -> Header {
        Header {
            name: Cow::Borrowed(name),
            help: Cow::Borrowed(help),
            registered: Once::new(),
            created: AtomicU64::new(0),
        }
    }

    fn dynamic(
        name: String,
        help: String,
        kind: MetricKind,
        registering: &std::sync::MutexGuard<'static, ()>,
    ) -> Result<Header, Error> {
        check_metric_name(&name)?;
        match registry::check_new(family_name(&name, kind), kind, registering) {
            Ok(()) => {}
            Err(registry::Taken::Exists(_)) => {
                return Err(Error::Conflict {
                    name,
                    reason: "by another metric".to_owned(),
                })
            }
            Err(registry::Taken::Clash(reason)) => return Err(Error::Conflict { name, reason }),
        }
        Ok(Header {
            name: Cow::Owned(name),
            help: Cow::Owned(help),
            registered: Once::new(),
            created: AtomicU64::new(0),
        })
    }

    /// Registers `me` unless it is (see [`Cells`]).
    #[inline]
    fn ensure_registered<T: Cells>(&self, me: &'static T) {
        if !self.registered.is_completed() {
            self.register(me);
        }
    }

    #[cold]
    fn register<T: Cells>(&self, me: &'static T) {
        self.registered.call_once(|| {
            self.created_at();
            // The backend starts first; the cells it gives are in place
            // before a collection can see the metric, and recorded into
            // only once one can.
            crate::collect::start::start();
            me.place();
            registry::register(me);
            me.publish();
        });
    }

    /// How a backend that keeps cells names this metric's (of `kind`).
    fn describe(&self, kind: MetricKind, mode: GaugeMode) -> Describe<'_> {
        Describe {
            family: family_name(&self.name, kind),
            help: &self.help,
            unit: None,
            labels: &[],
            mode,
            created: self.created_at(),
            bounds: &[],
            ticks: false,
            hide_zero: false,
        }
    }

    fn created_at(&self) -> f64 {
        let bits = self.created.load(Ordering::Relaxed);
        if bits != 0 {
            return f64::from_bits(bits);
        }
        let now = clock::unix_now();
        match self
            .created
            .compare_exchange(0, now.to_bits(), Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => now,
            Err(existing) => f64::from_bits(existing),
        }
    }
}

/// What a metric does around its registration: take its cells from the
/// backend before it (`place`: the file backend's mapped file, where they
/// are described before any collection can see the metric), and make them
/// the ones it records into after it (`publish`).
trait Cells: Collect + Sized {
    fn place(&'static self);
    fn publish(&'static self) {}
}

/// A monotonically increasing count, sharded so that threads never contend.
///
/// ```
/// static REQUESTS: telltale::Counter = telltale::Counter::new("requests_total", "Requests handled.");
/// telltale::register!(REQUESTS);
///
/// REQUESTS.inc();
/// REQUESTS.inc_by(2);
/// assert_eq!(REQUESTS.get(), 3);
/// ```
#[derive(Debug)]
pub struct Counter {
    header: Header,
    cells: ShardedU64,
    /// The cells a backend keeps (the file backend's mapped file), when
    /// it gave some: used instead of `cells`.
    resident: AtomicPtr<ShardedU64>,
    /// The cells recorded into, once registered (null before): one load
    /// on the hot path says both.
    live: AtomicPtr<ShardedU64>,
}

impl Counter {
    /// A counter named `name` (`_total` is optional: the family is the name
    /// without it). An invalid name fails to compile in a `static`.
    pub const fn new(name: &'static str, help: &'static str) -> Counter {
        check_name!(name);
        Counter {
            header: Header::new(name, help),
            cells: ShardedU64::new(),
            resident: AtomicPtr::new(std::ptr::null_mut()),
            live: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// A counter whose name is known only at run time, registered now and
    /// kept for the rest of the program.
    pub fn register(
        name: impl Into<String>,
        help: impl Into<String>,
    ) -> Result<&'static Counter, Error> {
        let taking = registry::registering();
        let c: &'static Counter = Box::leak(Box::new(Counter {
            header: Header::dynamic(name.into(), help.into(), MetricKind::Counter, &taking)?,
            cells: ShardedU64::new(),
            resident: AtomicPtr::new(std::ptr::null_mut()),
            live: AtomicPtr::new(std::ptr::null_mut()),
        }));
        c.header.register(c);
        Ok(c)
    }

    /// Adds one.
    #[inline]
    pub fn inc(&'static self) {
        self.inc_by(1);
    }

    /// Adds `n`.
    #[inline]
    pub fn inc_by(&'static self, n: u64) {
        let live = self.live.load(Ordering::Acquire);
        // SAFETY: `live` is null or these cells, which live as long as it.
        match unsafe { live.as_ref() } {
            Some(cells) => cells.add(n),
            None => self.inc_first(n),
        }
    }

    #[cold]
    fn inc_first(&'static self, n: u64) {
        self.header.ensure_registered(self);
        self.cells().add(n);
    }

    /// The current total.
    pub fn get(&self) -> u64 {
        self.cells().sum()
    }

    #[inline]
    fn cells(&self) -> &ShardedU64 {
        let p = self.resident.load(Ordering::Acquire);
        // SAFETY: a non-null pointer is a backend's cells, which live for
        // the rest of the process.
        unsafe { p.as_ref() }.unwrap_or(&self.cells)
    }
}

impl Cells for Counter {
    fn place(&'static self) {
        let what = self.header.describe(MetricKind::Counter, GaugeMode::All);
        if let Some(cells) = resident::counter(&what) {
            self.resident
                .store(std::ptr::from_ref(cells).cast_mut(), Ordering::Release);
        }
    }

    fn publish(&'static self) {
        let cells = std::ptr::from_ref(self.cells()).cast_mut();
        self.live.store(cells, Ordering::Release);
    }
}

impl Collect for Counter {
    fn collect(&'static self, out: &mut Sink) {
        out.push(
            &Desc {
                name: family_name(&self.header.name, MetricKind::Counter),
                help: &self.header.help,
                unit: None,
                kind: MetricKind::Counter,
            },
            Vec::new(),
            Value::Counter(self.get() as f64),
            Some(self.header.created_at()),
        );
    }
}

/// A value that goes up and down, as an `f64`.
///
/// ```
/// static TEMPERATURE: telltale::Gauge = telltale::Gauge::new("temperature_celsius", "Room temperature.");
/// TEMPERATURE.set(21.5);
/// TEMPERATURE.add(0.5);
/// TEMPERATURE.dec();
/// assert_eq!(TEMPERATURE.get(), 21.0);
/// ```
#[derive(Debug)]
pub struct Gauge {
    header: Header,
    bits: AtomicU64,
    mode: GaugeMode,
    /// The line a backend keeps, when it gave one: used instead of `bits`.
    resident: AtomicPtr<GaugeLine>,
    /// The value's cell, once registered (null before).
    live: AtomicPtr<AtomicU64>,
}

impl Gauge {
    /// A gauge named `name`, starting at zero.
    pub const fn new(name: &'static str, help: &'static str) -> Gauge {
        check_name!(name);
        Gauge {
            header: Header::new(name, help),
            bits: AtomicU64::new(0),
            mode: GaugeMode::All,
            resident: AtomicPtr::new(std::ptr::null_mut()),
            live: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// How a multi-process [backend](crate::backend) combines this gauge's
    /// values from several processes (default [`GaugeMode::All`]: one
    /// series per process, with a `pid` label).
    #[must_use]
    pub const fn multiprocess_mode(mut self, mode: GaugeMode) -> Gauge {
        self.mode = mode;
        self
    }

    /// A gauge whose name is known only at run time, registered now.
    pub fn register(
        name: impl Into<String>,
        help: impl Into<String>,
    ) -> Result<&'static Gauge, Error> {
        let taking = registry::registering();
        let g: &'static Gauge = Box::leak(Box::new(Gauge {
            header: Header::dynamic(name.into(), help.into(), MetricKind::Gauge, &taking)?,
            bits: AtomicU64::new(0),
            mode: GaugeMode::All,
            resident: AtomicPtr::new(std::ptr::null_mut()),
            live: AtomicPtr::new(std::ptr::null_mut()),
        }));
        g.header.register(g);
        Ok(g)
    }

    /// Sets the value.
    #[inline]
    pub fn set(&'static self, v: f64) {
        self.cell().store(v.to_bits(), Ordering::Relaxed);
    }

    /// Adds `v` (negative to subtract).
    #[inline]
    pub fn add(&'static self, v: f64) {
        let bits = self.cell();
        let mut cur = bits.load(Ordering::Relaxed);
        loop {
            let new = (f64::from_bits(cur) + v).to_bits();
            match bits.compare_exchange_weak(cur, new, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Subtracts `v`.
    #[inline]
    pub fn sub(&'static self, v: f64) {
        self.add(-v);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&'static self) {
        self.add(1.0);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&'static self) {
        self.add(-1.0);
    }

    /// The current value.
    pub fn get(&self) -> f64 {
        f64::from_bits(self.bits().load(Ordering::Relaxed))
    }

    #[inline]
    fn bits(&self) -> &AtomicU64 {
        let p = self.resident.load(Ordering::Acquire);
        // SAFETY: a non-null pointer is a backend's line, which lives for
        // the rest of the process.
        unsafe { p.as_ref() }.map_or(&self.bits, |line| &line.value)
    }

    /// The cell recorded into, registering the gauge on first use.
    #[inline]
    fn cell(&'static self) -> &'static AtomicU64 {
        let live = self.live.load(Ordering::Acquire);
        // SAFETY: `live` is null or a cell that lives as long as `self`.
        match unsafe { live.as_ref() } {
            Some(cell) => cell,
            None => self.cell_first(),
        }
    }

    #[cold]
    fn cell_first(&'static self) -> &'static AtomicU64 {
        self.header.ensure_registered(self);
        self.bits()
    }
}

impl Cells for Gauge {
    fn place(&'static self) {
        let what = self.header.describe(MetricKind::Gauge, self.mode);
        if let Some(line) = resident::gauge(&what, false) {
            self.resident
                .store(std::ptr::from_ref(line).cast_mut(), Ordering::Release);
        }
    }

    fn publish(&'static self) {
        let cell = std::ptr::from_ref(self.bits()).cast_mut();
        self.live.store(cell, Ordering::Release);
    }
}

impl Collect for Gauge {
    fn collect(&'static self, out: &mut Sink) {
        if self.mode != GaugeMode::All {
            crate::backend::mode::note(&self.header.name, self.mode);
        }
        out.push(
            &Desc {
                name: &self.header.name,
                help: &self.header.help,
                unit: None,
                kind: MetricKind::Gauge,
            },
            Vec::new(),
            Value::Gauge(self.get()),
            None,
        );
    }
}

/// A value that goes up and down, as an `i64`.
///
/// ```
/// static QUEUED: telltale::IntGauge = telltale::IntGauge::new("jobs_queued", "Jobs waiting.");
/// QUEUED.add(5);
/// QUEUED.dec();
/// assert_eq!(QUEUED.get(), 4);
/// ```
#[derive(Debug)]
pub struct IntGauge {
    header: Header,
    value: AtomicI64,
    mode: GaugeMode,
    /// The line a backend keeps, when it gave one: used instead of `value`.
    resident: AtomicPtr<GaugeLine>,
    /// The value's cell, once registered (null before).
    live: AtomicPtr<AtomicI64>,
}

impl IntGauge {
    /// An integer gauge named `name`, starting at zero.
    pub const fn new(name: &'static str, help: &'static str) -> IntGauge {
        check_name!(name);
        IntGauge {
            header: Header::new(name, help),
            value: AtomicI64::new(0),
            mode: GaugeMode::All,
            resident: AtomicPtr::new(std::ptr::null_mut()),
            live: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// How a multi-process [backend](crate::backend) combines this gauge's
    /// values from several processes (default [`GaugeMode::All`]).
    #[must_use]
    pub const fn multiprocess_mode(mut self, mode: GaugeMode) -> IntGauge {
        self.mode = mode;
        self
    }

    /// An integer gauge whose name is known only at run time, registered now.
    pub fn register(
        name: impl Into<String>,
        help: impl Into<String>,
    ) -> Result<&'static IntGauge, Error> {
        let taking = registry::registering();
        let g: &'static IntGauge = Box::leak(Box::new(IntGauge {
            header: Header::dynamic(name.into(), help.into(), MetricKind::Gauge, &taking)?,
            value: AtomicI64::new(0),
            mode: GaugeMode::All,
            resident: AtomicPtr::new(std::ptr::null_mut()),
            live: AtomicPtr::new(std::ptr::null_mut()),
        }));
        g.header.register(g);
        Ok(g)
    }

    /// Sets the value.
    #[inline]
    pub fn set(&'static self, v: i64) {
        self.cell().store(v, Ordering::Relaxed);
    }

    /// Adds `v` (wrapping).
    #[inline]
    pub fn add(&'static self, v: i64) {
        self.cell().fetch_add(v, Ordering::Relaxed);
    }

    /// Subtracts `v` (wrapping).
    #[inline]
    pub fn sub(&'static self, v: i64) {
        self.add(v.wrapping_neg());
    }

    /// Adds one.
    #[inline]
    pub fn inc(&'static self) {
        self.add(1);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&'static self) {
        self.add(-1);
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.value().load(Ordering::Relaxed)
    }

    #[inline]
    fn value(&self) -> &AtomicI64 {
        let p = self.resident.load(Ordering::Acquire);
        // SAFETY: a non-null pointer is a backend's line, which lives for
        // the rest of the process.
        unsafe { p.as_ref() }.map_or(&self.value, GaugeLine::int)
    }

    /// The cell recorded into, registering the gauge on first use.
    #[inline]
    fn cell(&'static self) -> &'static AtomicI64 {
        let live = self.live.load(Ordering::Acquire);
        // SAFETY: `live` is null or a cell that lives as long as `self`.
        match unsafe { live.as_ref() } {
            Some(cell) => cell,
            None => self.cell_first(),
        }
    }

    #[cold]
    fn cell_first(&'static self) -> &'static AtomicI64 {
        self.header.ensure_registered(self);
        self.value()
    }
}

impl Cells for IntGauge {
    fn place(&'static self) {
        let what = self.header.describe(MetricKind::Gauge, self.mode);
        if let Some(line) = resident::gauge(&what, true) {
            self.resident
                .store(std::ptr::from_ref(line).cast_mut(), Ordering::Release);
        }
    }

    fn publish(&'static self) {
        let cell = std::ptr::from_ref(self.value()).cast_mut();
        self.live.store(cell, Ordering::Release);
    }
}

impl Collect for IntGauge {
    fn collect(&'static self, out: &mut Sink) {
        if self.mode != GaugeMode::All {
            crate::backend::mode::note(&self.header.name, self.mode);
        }
        out.push(
            &Desc {
                name: &self.header.name,
                help: &self.header.help,
                unit: None,
                kind: MetricKind::Gauge,
            },
            Vec::new(),
            Value::Gauge(self.get() as f64),
            None,
        );
    }
}

/// A distribution of observations in base-2 exponential buckets (fine
/// enough for quantiles within 2 % relative error), exported with classic
/// `le` buckets.
///
/// ```
/// static SIZES: telltale::Histogram =
///     telltale::Histogram::new("response_size_bytes", "Response sizes.")
///         .with_buckets(&[100.0, 1_000.0, 10_000.0]);
/// SIZES.observe(512.0);
/// SIZES.observe(2_048.0);
/// let v = SIZES.value();
/// assert_eq!(v.count, 2);
/// assert_eq!(v.sum, 2_560.0);
/// assert_eq!(v.buckets, vec![(100.0, 0), (1_000.0, 1), (10_000.0, 2)]);
/// ```
#[derive(Debug)]
pub struct Histogram {
    header: Header,
    buckets: &'static [f64],
    cells: HistogramCells,
}

impl Histogram {
    /// A histogram named `name` with [`HISTOGRAM_BUCKETS`].
    pub const fn new(name: &'static str, help: &'static str) -> Histogram {
        check_name!(name);
        Histogram {
            header: Header::new(name, help),
            buckets: HISTOGRAM_BUCKETS,
            cells: HistogramCells::new(),
        }
    }

    /// The same histogram exported with these classic bounds, which must be
    /// finite and strictly increasing (a compile error in a `static` otherwise).
    #[must_use]
    pub const fn with_buckets(mut self, buckets: &'static [f64]) -> Histogram {
        if let Some(problem) = bucket_problem(buckets) {
            panic!("{}", problem);
        }
        self.buckets = buckets;
        self
    }

    /// A histogram whose name is known only at run time, with the default
    /// buckets ([`HISTOGRAM_BUCKETS`]), registered now and kept for the rest
    /// of the program (like [`Counter::register`] and [`Gauge::register`]).
    pub fn register(
        name: impl Into<String>,
        help: impl Into<String>,
    ) -> Result<&'static Histogram, Error> {
        Histogram::register_with_buckets(name, help, HISTOGRAM_BUCKETS)
    }

    /// A histogram whose name and buckets are known only at run time.
    pub fn register_with_buckets(
        name: impl Into<String>,
        help: impl Into<String>,
        buckets: &[f64],
    ) -> Result<&'static Histogram, Error> {
        let taking = registry::registering();
        let header = Header::dynamic(name.into(), help.into(), MetricKind::Histogram, &taking)?;
        if let Some(problem) = bucket_problem(buckets) {
            return Err(Error::Config(format!(
                "buckets of histogram {:?}: {problem}",
                header.name
            )));
        }
        let h: &'static Histogram = Box::leak(Box::new(Histogram {
            header,
            buckets: Box::leak(buckets.to_vec().into_boxed_slice()),
            cells: HistogramCells::new(),
        }));
        h.header.register(h);
        Ok(h)
    }

    /// Records one observation. Negative and `NaN` observations are ignored.
    #[inline]
    pub fn observe(&'static self, v: f64) {
        self.header.ensure_registered(self);
        self.cells.record(v);
    }

    /// Starts timing; the guard observes the elapsed seconds when dropped.
    #[inline]
    pub fn start_timer(&'static self) -> HistogramTimer {
        HistogramTimer {
            histogram: self,
            start: clock::now(),
        }
    }

    /// The current distribution.
    pub fn value(&self) -> HistogramValue {
        histogram_value(&self.cells, self.buckets)
    }
}

impl Cells for Histogram {
    fn place(&'static self) {
        let what = Describe {
            unit: histogram_unit(&self.header.name),
            bounds: self.buckets,
            ..self.header.describe(MetricKind::Histogram, GaugeMode::All)
        };
        if let Some(slots) = resident::histogram(&what) {
            self.cells.place(slots);
        }
    }
}

pub(crate) const fn bucket_problem(buckets: &[f64]) -> Option<&'static str> {
    let mut i = 0;
    while i < buckets.len() {
        if !buckets[i].is_finite() {
            return Some("bucket bounds must be finite (+Inf is always added)");
        }
        if i > 0 && buckets[i] <= buckets[i - 1] {
            return Some("bucket bounds must be strictly increasing");
        }
        i += 1;
    }
    None
}

pub(crate) fn histogram_value(cells: &HistogramCells, bounds: &[f64]) -> HistogramValue {
    HistogramValue::from_exponential(cells.read(), bounds)
}

impl Collect for Histogram {
    fn collect(&'static self, out: &mut Sink) {
        out.push(
            &Desc {
                name: &self.header.name,
                help: &self.header.help,
                unit: histogram_unit(&self.header.name),
                kind: MetricKind::Histogram,
            },
            Vec::new(),
            Value::Histogram(self.value()),
            Some(self.header.created_at()),
        );
    }
}

/// Times a span of code into a [`Histogram`], in seconds, when dropped.
#[derive(Debug)]
#[must_use = "dropping the timer records the elapsed time"]
pub struct HistogramTimer {
    histogram: &'static Histogram,
    start: u64,
}

impl Drop for HistogramTimer {
    fn drop(&mut self) {
        let nanos = clock::nanos_between(self.start, clock::now());
        self.histogram.observe(nanos as f64 * 1e-9);
    }
}

/// Submits metrics declared as `static`s with `inventory`, so that they
/// appear in the first exposition before they are first used.
///
/// ```
/// static HITS: telltale::Counter = telltale::Counter::new("cache_hits_total", "Cache hits.");
/// static SIZE: telltale::IntGauge = telltale::IntGauge::new("cache_entries", "Entries cached.");
/// telltale::register!(HITS, SIZE);
///
/// let text = telltale::render(telltale::Format::Prometheus);
/// assert!(text.contains("cache_hits_total 0\n"));
/// ```
#[macro_export]
macro_rules! register {
    ($($metric:path),+ $(,)?) => {
        $(
            $crate::__private::inventory::submit! {
                $crate::__private::Registration::metric(&$metric)
            }
        )+
    };
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // the values compared are exact in f64
mod tests {
    use super::*;

    #[test]
    fn two_threads_and_more_lose_no_update() {
        static C: Counter = Counter::new("test_lost_updates_total", "t");
        static H: Histogram = Histogram::new("test_lost_updates_hist", "t");
        for threads in [2usize, 4, 16] {
            let before = (C.get(), H.value());
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(|| {
                        for i in 0..1_000_000u64 {
                            C.inc();
                            H.observe((i % 1000) as f64);
                        }
                    });
                }
            });
            let after = H.value();
            assert_eq!(C.get() - before.0, threads as u64 * 1_000_000);
            assert_eq!(after.count - before.1.count, threads as u64 * 1_000_000);
            // Each thread adds 1000 * (0 + 1 + ... + 999) = 499_500_000: exact in f64.
            assert_eq!(after.sum - before.1.sum, threads as f64 * 499_500_000.0);
        }
    }

    #[test]
    fn runtime_names_are_checked() {
        let e = Counter::register("bad name", "x").unwrap_err();
        assert!(
            e.to_string().contains("invalid metric name \"bad name\""),
            "{e}"
        );
        assert!(Gauge::register("9lives", "x").is_err());
        let e = Histogram::register_with_buckets("ok_hist", "x", &[2.0, 1.0]).unwrap_err();
        assert!(e.to_string().contains("strictly increasing"), "{e}");
        let c = Counter::register("runtime_named_total", "x").unwrap();
        c.inc();
        assert_eq!(c.get(), 1);
        // Names whose samples would collide with an existing family's.
        let e = Gauge::register("runtime_named_created", "x").unwrap_err();
        assert!(
            e.to_string().contains("counter family \"runtime_named\""),
            "{e}"
        );
        assert!(Counter::register("runtime_named_total", "again").is_err());
        // `register(name, help)` as for the others, with the default buckets.
        let d = Histogram::register("runtime_default_hist", "x").unwrap();
        d.observe(0.3);
        let bounds: Vec<f64> = d.value().buckets.iter().map(|&(le, _)| le).collect();
        assert_eq!(bounds, HISTOGRAM_BUCKETS);
        let h = Histogram::register_with_buckets("runtime_hist", "x", &[1.0]).unwrap();
        h.observe(0.5);
        assert!(Gauge::register("runtime_hist_count", "x").is_err());
        assert!(Counter::register("runtime_hist_bucket", "x").is_err());
    }

    #[test]
    fn gauges() {
        static G: Gauge = Gauge::new("test_gauge", "t");
        static I: IntGauge = IntGauge::new("test_int_gauge", "t");
        G.set(1.5);
        G.inc();
        G.sub(0.25);
        assert_eq!(G.get(), 2.25);
        I.set(10);
        I.sub(3);
        I.inc();
        assert_eq!(I.get(), 8);
    }
}
