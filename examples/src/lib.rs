//! A small instrumented service used by the `quickstart` binary and by the
//! peer tests.
//!
//! The [`demo`] module holds a handful of functions annotated with
//! `#[timed]` and `#[tracked]`: sync and async, failing with several error
//! kinds, falling back to the error type's name, panicking, being cancelled,
//! and methods of an instrumented `impl` block. [`drive`] calls them with
//! deterministic pseudo-random inputs and records, independently of
//! telltale, every outcome it observed, so a test can compare what a real
//! peer scraped with what really happened ([`tally`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Mutex, Once, PoisonError};
use std::time::Duration;

pub mod demo;

use demo::{DemoError, Inventory};

/// The `module` label of every series the demo functions produce.
pub const MODULE: &str = demo::MODULE;

/// Text that every panic raised on purpose by the demo starts with.
pub const PANIC_MARKER: &str = "telltale demo: simulated panic";

/// How long [`drive`] waits between iterations when it runs forever.
pub const PACE: Duration = Duration::from_millis(25);

/// How long [`drive`] lets `demo::resolve` run before dropping its future.
const RESOLVE_DEADLINE: Duration = Duration::from_millis(10);

/// One `function_calls_total` series, as the driver observed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Outcome {
    /// The `function` label: the function's name.
    pub function: &'static str,
    /// The `result` label: `ok`, `error` or `cancelled`.
    pub result: &'static str,
    /// The `error` label: the error kind, empty unless `result` is `error`.
    pub error: &'static str,
}

/// Everything [`drive`] has done since the process started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Calls of `#[tracked]` functions by outcome.
    pub calls: BTreeMap<Outcome, u64>,
    /// Calls of every instrumented function (tracked or timed), whatever
    /// their outcome: the expected `_count` of its duration histogram.
    pub timings: BTreeMap<&'static str, u64>,
    /// Iterations of the driver loop completed.
    pub iterations: u64,
}

impl Tally {
    /// Calls of `function` that ended with `result` and `error`.
    pub fn calls(&self, function: &str, result: &str, error: &str) -> u64 {
        self.calls
            .iter()
            .filter(|(o, _)| o.function == function && o.result == result && o.error == error)
            .map(|(_, n)| *n)
            .sum()
    }

    /// Calls of `function` whatever their outcome.
    pub fn total(&self, function: &str) -> u64 {
        self.timings.get(function).copied().unwrap_or(0)
    }
}

static TALLY: Mutex<Tally> = Mutex::new(Tally {
    calls: BTreeMap::new(),
    timings: BTreeMap::new(),
    iterations: 0,
});

/// A copy of everything [`drive`] has done so far in this process.
pub fn tally() -> Tally {
    TALLY.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

fn record(function: &'static str, result: &'static str, error: &'static str) {
    let mut tally = TALLY.lock().unwrap_or_else(PoisonError::into_inner);
    *tally
        .calls
        .entry(Outcome {
            function,
            result,
            error,
        })
        .or_insert(0) += 1;
    *tally.timings.entry(function).or_insert(0) += 1;
}

fn record_timed(function: &'static str) {
    let mut tally = TALLY.lock().unwrap_or_else(PoisonError::into_inner);
    *tally.timings.entry(function).or_insert(0) += 1;
}

fn record_result<T, E>(
    function: &'static str,
    result: &Result<T, E>,
    kind: impl Fn(&E) -> &'static str,
) {
    match result {
        Ok(_) => record(function, "ok", ""),
        Err(e) => record(function, "error", kind(e)),
    }
}

/// Every `#[tracked]` function of the demo, by its `function` label.
pub const TRACKED: &[&str] = &[
    demo::names::FETCH_PAGE,
    demo::names::PARSE_QUANTITY,
    demo::names::FLAKY_STEP,
    demo::names::RESOLVE,
    demo::names::RESERVE,
    demo::names::RESTOCK,
];

/// Every `#[timed]` function of the demo, by its `function` label.
pub const TIMED: &[&str] = &[demo::names::CHECKSUM, demo::names::RENDER_PAGE];

/// A tiny linear congruential generator: deterministic inputs without a
/// dependency. Not for anything but a demo.
#[derive(Debug, Clone)]
pub struct Lcg(u64);

impl Lcg {
    /// A generator starting from `seed`.
    pub const fn new(seed: u64) -> Self {
        Lcg(seed)
    }

    /// The next 31 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// A pseudo-random number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The seed [`drive`] starts from: every run makes the same calls.
pub const SEED: u64 = 0x7e11_7a1e;

/// Inputs `demo::parse_quantity` is given: numbers, and text that is not one.
const QUANTITIES: &[&str] = &["3", "12", " 7 ", "40", "x9", "", "99999999999", "5"];

/// Installs (once) a panic hook that keeps the demo's own panics quiet and
/// passes every other panic to the hook that was there before.
pub fn quiet_demo_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            if message.is_some_and(|m| m.starts_with(PANIC_MARKER)) {
                return;
            }
            previous(info);
        }));
    });
}

/// Calls the demo functions in a loop: `iterations` times, or forever (one
/// iteration every [`PACE`]) when `None`.
///
/// The inputs come from an [`Lcg`] seeded with [`SEED`], so the same number
/// of iterations always makes the same calls with the same outcomes. Every
/// outcome is added to the process-wide [`tally`]. The demo's panics are
/// caught here; install [`quiet_demo_panics`] to keep them off the terminal.
pub async fn drive(iterations: Option<u64>) {
    let mut rng = Lcg::new(SEED);
    let mut inventory = Inventory::new(20);
    let mut done = 0_u64;
    while iterations.is_none_or(|n| done < n) {
        step(&mut rng, &mut inventory).await;
        done += 1;
        TALLY
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iterations += 1;
        if iterations.is_none() {
            tokio::time::sleep(PACE).await;
        }
    }
}

/// One iteration of the driver loop.
async fn step(rng: &mut Lcg, inventory: &mut Inventory) {
    // An async call failing with several error kinds.
    let page = demo::fetch_page(rng.below(1000)).await;
    record_result(demo::names::FETCH_PAGE, &page, DemoError::kind);

    if let Ok(page) = page {
        // An async timed call, then a sync one.
        let html = demo::render_page(&page).await;
        record_timed(demo::names::RENDER_PAGE);
        let _sum = demo::checksum(html.as_bytes());
        record_timed(demo::names::CHECKSUM);
    }

    // A sync call whose error type does not derive LabelValue.
    let text = QUANTITIES[rng.below(QUANTITIES.len() as u64) as usize];
    let quantity = demo::parse_quantity(text);
    record_result(demo::names::PARSE_QUANTITY, &quantity, |_| "ParseIntError");

    // Methods of an instrumented impl block.
    if let Ok(quantity) = quantity {
        let reserved = inventory.reserve(quantity);
        record_result(demo::names::RESERVE, &reserved, DemoError::kind);
    }
    if rng.below(4) == 0 {
        inventory.restock(rng.below(30) as u32);
        record(demo::names::RESTOCK, "ok", "");
    }

    // A call that panics now and then; the panic is caught here.
    let n = rng.next_u64();
    match std::panic::catch_unwind(AssertUnwindSafe(|| demo::flaky_step(n))) {
        Ok(_) => record(demo::names::FLAKY_STEP, "ok", ""),
        Err(_) => record(demo::names::FLAKY_STEP, "error", "panic"),
    }

    // An async call whose future is sometimes dropped before it completes.
    match with_deadline(demo::resolve(rng.next_u64())).await {
        Some(resolved) => record_result(demo::names::RESOLVE, &resolved, DemoError::kind),
        None => record(demo::names::RESOLVE, "cancelled", ""),
    }
}

/// Runs `future` for at most [`RESOLVE_DEADLINE`]; `None` when it was dropped
/// unfinished.
async fn with_deadline<F: Future>(future: F) -> Option<F::Output> {
    tokio::time::timeout(RESOLVE_DEADLINE, future).await.ok()
}
