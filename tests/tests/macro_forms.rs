//! What `#[timed]` and `#[tracked]` record, form by form, read back through
//! [`telltale::Snapshot`]: exact counts per `result` and `error`, durations,
//! per-call labels and the in-flight gauge.
//!
//! Every test instruments functions of its own (`forms_*`): the registry is
//! global and tests run in parallel.

use std::future::Future;
use std::num::ParseIntError;
use std::pin::pin;
use std::sync::mpsc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use telltale::snapshot::{MetricFamily, Value};
use telltale::{timed, tracked, LabelValue, Snapshot};

// ----- reading the snapshot -------------------------------------------------------

/// `(result, error, count)` of every non-zero `function_calls_total` series of
/// `function` whose labels include `extra`, sorted.
fn outcomes_with(function: &str, extra: &[(&str, &str)]) -> Vec<(String, String, u64)> {
    outcomes_in(&Snapshot::collect(), "function_calls", function, extra)
}

fn outcomes(function: &str) -> Vec<(String, String, u64)> {
    outcomes_with(function, &[])
}

fn outcomes_in(
    snapshot: &Snapshot,
    family: &str,
    function: &str,
    extra: &[(&str, &str)],
) -> Vec<(String, String, u64)> {
    let Some(calls) = snapshot.family(family) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String, u64)> = calls
        .series
        .iter()
        .filter(|s| s.label("function") == Some(function))
        .filter(|s| extra.iter().all(|(k, v)| s.label(k) == Some(v)))
        .map(|s| {
            let Value::Counter(n) = s.value else {
                panic!("{family} is a counter")
            };
            (
                s.label("result").unwrap_or_default().to_owned(),
                s.label("error").unwrap_or_default().to_owned(),
                n as u64,
            )
        })
        .filter(|(_, _, n)| *n > 0)
        .collect();
    out.sort();
    out
}

fn e(result: &str, error: &str, n: u64) -> (String, String, u64) {
    (result.to_owned(), error.to_owned(), n)
}

fn series<'a>(
    family: Option<&'a MetricFamily>,
    function: &str,
) -> Option<&'a telltale::snapshot::Series> {
    family?
        .series
        .iter()
        .find(|s| s.label("function") == Some(function))
}

/// Number of recorded durations of `function`.
fn durations(function: &str) -> u64 {
    durations_in("function_calls_duration_seconds", function)
}

fn durations_in(family: &str, function: &str) -> u64 {
    let snapshot = Snapshot::collect();
    series(snapshot.family(family), function).map_or(0, |s| match &s.value {
        Value::Histogram(h) => h.count,
        _ => panic!("{family} is a histogram"),
    })
}

fn in_flight(family: &str, function: &str) -> i64 {
    let snapshot = Snapshot::collect();
    series(snapshot.family(family), function).map_or(-1, |s| match s.value {
        Value::Gauge(v) => v as i64,
        _ => panic!("{family} is a gauge"),
    })
}

/// Polls a future once with a waker that does nothing.
fn poll_once<F: Future + ?Sized>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    future.poll(&mut cx)
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

// ----- outcomes ---------------------------------------------------------------------

#[derive(Debug, LabelValue)]
enum FetchError {
    Timeout,
    NotFound {
        path: String,
    },
    #[label(rename = "io")]
    Disk(std::io::Error),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Timeout => f.write_str("timed out"),
            FetchError::NotFound { path } => write!(f, "not found: {path}"),
            FetchError::Disk(error) => write!(f, "disk: {error}"),
        }
    }
}

#[tracked]
fn forms_fetch(n: u32) -> Result<u32, FetchError> {
    match n {
        0 => Err(FetchError::Timeout),
        1 => Err(FetchError::NotFound {
            path: "/".to_owned(),
        }),
        2 => Err(FetchError::Disk(std::io::Error::other("disk"))),
        _ => Ok(n),
    }
}

#[test]
fn ok_and_errors_with_a_derived_kind() {
    for n in [5, 6, 0, 1, 1] {
        let _ = forms_fetch(n);
    }
    assert_eq!(forms_fetch(1).unwrap_err().to_string(), "not found: /");
    assert_eq!(forms_fetch(2).unwrap_err().to_string(), "disk: disk");
    assert_eq!(
        outcomes("forms_fetch"),
        [
            e("error", "io", 1),
            e("error", "not_found", 3),
            e("error", "timeout", 1),
            e("ok", "", 2)
        ]
    );
    assert_eq!(durations("forms_fetch"), 7);
}

#[tracked]
fn forms_parse(input: &str) -> Result<u32, ParseIntError> {
    input.parse()
}

#[tracked]
fn forms_read(path: &str) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

#[test]
fn errors_without_a_derived_kind_are_named_by_their_type() {
    assert!(forms_parse("1").is_ok());
    assert!(forms_parse("one").is_err());
    assert!(forms_parse("").is_err());
    assert!(forms_read("/nonexistent/telltale/forms").is_err());
    assert_eq!(
        outcomes("forms_parse"),
        [e("error", "ParseIntError", 2), e("ok", "", 1)]
    );
    assert_eq!(outcomes("forms_read"), [e("error", "io::Error", 1)]);
}

#[tracked]
fn forms_plain(n: u32) -> u32 {
    n * 2
}

#[tracked(error_if = Option::is_none)]
fn forms_option(n: u32) -> Option<u32> {
    n.checked_sub(1)
}

#[test]
fn values_that_are_not_results_are_ok_and_options_say_which_fail() {
    assert_eq!(forms_plain(2), 4);
    assert_eq!(forms_option(0), None);
    assert_eq!(forms_option(2), Some(1));
    assert_eq!(outcomes("forms_plain"), [e("ok", "", 1)]);
    // An `Option` needs `ok_if`/`error_if` (ui/fail/tracked_option_without_predicate.rs).
    assert_eq!(
        outcomes("forms_option"),
        [e("error", "is_none", 1), e("ok", "", 1)]
    );
}

#[tracked]
fn forms_panics(fail: bool) -> Result<u8, String> {
    assert!(!fail, "forms_panics was asked to fail");
    Ok(1)
}

#[test]
fn a_panic_is_counted_and_propagates_unchanged() {
    assert_eq!(forms_panics(false), Ok(1));
    let caught = std::panic::catch_unwind(|| forms_panics(true)).expect_err("the panic propagates");
    let message = caught
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| caught.downcast_ref::<&str>().copied());
    assert_eq!(message, Some("forms_panics was asked to fail"));
    assert_eq!(
        outcomes("forms_panics"),
        [e("error", "panic", 1), e("ok", "", 1)]
    );
    assert_eq!(durations("forms_panics"), 2);
}

// ----- async ------------------------------------------------------------------------

#[tracked]
async fn forms_async(input: &str) -> Result<u32, FetchError> {
    tokio::task::yield_now().await;
    let n: u32 = input.parse().map_err(|_| FetchError::NotFound {
        path: input.to_owned(),
    })?;
    Ok(n)
}

#[tracked]
async fn forms_waits(gate: tokio::sync::oneshot::Receiver<()>) -> Result<(), FetchError> {
    gate.await.map_err(|_| FetchError::Timeout)
}

#[test]
fn async_calls_are_counted_when_they_complete() {
    block_on(async {
        assert_eq!(forms_async("3").await.ok(), Some(3));
        assert!(forms_async("x").await.is_err());
    });
    assert_eq!(
        outcomes("forms_async"),
        [e("error", "not_found", 1), e("ok", "", 1)]
    );
}

#[test]
fn a_future_dropped_before_completion_is_cancelled() {
    let (_keep_open, gate) = tokio::sync::oneshot::channel::<()>();
    {
        let mut future = pin!(forms_waits(gate));
        assert!(poll_once(future.as_mut()).is_pending());
        assert!(poll_once(future.as_mut()).is_pending());
        // Dropped here, after two polls.
    }
    // A future never polled never started: nothing to count.
    let (_tx, gate) = tokio::sync::oneshot::channel::<()>();
    drop(forms_waits(gate));
    assert_eq!(outcomes("forms_waits"), [e("cancelled", "", 1)]);
    assert_eq!(durations("forms_waits"), 1);
}

// ----- control flow -----------------------------------------------------------------

#[derive(Debug, PartialEq, LabelValue)]
enum InputError {
    Empty,
    NotANumber,
}

impl From<ParseIntError> for InputError {
    fn from(_: ParseIntError) -> Self {
        InputError::NotANumber
    }
}

#[tracked]
fn forms_early(input: &str) -> Result<u32, InputError> {
    if input.is_empty() {
        return Err(InputError::Empty);
    }
    let n: u32 = input.parse()?;
    if n > 100 {
        return Ok(100);
    }
    Ok(n)
}

#[tracked]
async fn forms_early_async(input: &str) -> Result<u32, InputError> {
    if input.is_empty() {
        return Err(InputError::Empty);
    }
    Ok(input.parse::<u32>()?)
}

#[test]
fn early_return_and_question_mark() {
    assert_eq!(forms_early("7"), Ok(7));
    assert_eq!(forms_early("700"), Ok(100));
    assert_eq!(forms_early(""), Err(InputError::Empty));
    assert_eq!(forms_early("seven"), Err(InputError::NotANumber));
    assert_eq!(forms_early("-1"), Err(InputError::NotANumber));
    assert_eq!(
        outcomes("forms_early"),
        [
            e("error", "empty", 1),
            e("error", "not_a_number", 2),
            e("ok", "", 2)
        ]
    );
    block_on(async {
        assert_eq!(forms_early_async("").await, Err(InputError::Empty));
        assert_eq!(forms_early_async("x").await, Err(InputError::NotANumber));
        assert_eq!(forms_early_async("1").await, Ok(1));
    });
    assert_eq!(
        outcomes("forms_early_async"),
        [
            e("error", "empty", 1),
            e("error", "not_a_number", 1),
            e("ok", "", 1)
        ]
    );
}

// ----- arguments --------------------------------------------------------------------

// `ok_if` / `error_if` predicates take the result by reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_positive(n: &i64) -> bool {
    *n > 0
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_overdrawn(n: &i64) -> bool {
    *n < 0
}

#[tracked(ok_if = is_positive)]
fn forms_ok_if(n: i64) -> i64 {
    n
}

#[tracked(error_if = is_overdrawn)]
fn forms_error_if(n: i64) -> i64 {
    n
}

#[tracked(error_if = Option::is_none)]
fn forms_error_if_none(n: Option<u8>) -> Option<u8> {
    n
}

#[test]
fn ok_if_and_error_if_classify_other_return_types() {
    for n in [1, 2, 0, -3] {
        let _ = forms_ok_if(n);
        let _ = forms_error_if(n);
    }
    let _ = forms_error_if_none(None);
    let _ = forms_error_if_none(Some(1));
    assert_eq!(
        outcomes("forms_ok_if"),
        [e("error", "is_positive", 2), e("ok", "", 2)]
    );
    assert_eq!(
        outcomes("forms_error_if"),
        [e("error", "is_overdrawn", 1), e("ok", "", 3)]
    );
    assert_eq!(
        outcomes("forms_error_if_none"),
        [e("error", "is_none", 1), e("ok", "", 1)]
    );
}

#[derive(Clone, Copy, Debug, LabelValue)]
enum Method {
    Get,
    Post,
}

#[tracked(labels(method = method, route = route, big = size > 10))]
fn forms_labeled(method: Method, route: &str, size: usize) -> Result<(), FetchError> {
    if route == "/missing" {
        return Err(FetchError::NotFound {
            path: route.to_owned(),
        });
    }
    let _ = (method, size);
    Ok(())
}

#[test]
fn per_call_labels_split_the_series() {
    let _ = forms_labeled(Method::Get, "/a", 1);
    let _ = forms_labeled(Method::Get, "/a", 1);
    let _ = forms_labeled(Method::Post, "/a", 50);
    let _ = forms_labeled(Method::Get, "/missing", 1);
    let get_a = [("method", "get"), ("route", "/a"), ("big", "false")];
    let post_a = [("method", "post"), ("route", "/a"), ("big", "true")];
    let missing = [("method", "get"), ("route", "/missing")];
    assert_eq!(outcomes_with("forms_labeled", &get_a), [e("ok", "", 2)]);
    assert_eq!(outcomes_with("forms_labeled", &post_a), [e("ok", "", 1)]);
    assert_eq!(
        outcomes_with("forms_labeled", &missing),
        [e("error", "not_found", 1)]
    );
    // Label order: function, module, then the labels in declaration order.
    let snapshot = Snapshot::collect();
    let s = series(snapshot.family("function_calls"), "forms_labeled").unwrap();
    let names: Vec<&str> = s.labels.iter().map(|(k, _)| k.as_ref()).collect();
    assert_eq!(
        names,
        ["function", "module", "method", "route", "big", "result", "error"]
    );
}

#[timed(concurrency)]
fn forms_in_flight(entered: &mpsc::Sender<()>, release: &mpsc::Receiver<()>) {
    entered.send(()).unwrap();
    release.recv().unwrap();
}

#[tracked(concurrency)]
async fn forms_in_flight_async(gate: tokio::sync::oneshot::Receiver<()>) -> Result<(), FetchError> {
    gate.await.map_err(|_| FetchError::Timeout)
}

#[test]
fn the_concurrency_gauge_rises_while_calls_are_in_flight() {
    assert_eq!(
        in_flight("function_calls_concurrent", "forms_in_flight"),
        0,
        "registered at zero"
    );
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            forms_in_flight(&entered_tx, &release_rx);
            forms_in_flight(&entered_tx, &release_rx);
        });
        entered_rx.recv().unwrap();
        assert_eq!(in_flight("function_calls_concurrent", "forms_in_flight"), 1);
        release_tx.send(()).unwrap();
        entered_rx.recv().unwrap();
        assert_eq!(in_flight("function_calls_concurrent", "forms_in_flight"), 1);
        release_tx.send(()).unwrap();
        worker.join().unwrap();
    });
    assert_eq!(in_flight("function_calls_concurrent", "forms_in_flight"), 0);
    assert_eq!(durations("forms_in_flight"), 2);

    // Async: two futures in flight at once, then one completes and one is dropped.
    let (tx1, gate1) = tokio::sync::oneshot::channel();
    let (_tx2, gate2) = tokio::sync::oneshot::channel();
    let mut first = Box::pin(forms_in_flight_async(gate1));
    let mut second = Box::pin(forms_in_flight_async(gate2));
    assert!(poll_once(first.as_mut()).is_pending());
    assert!(poll_once(second.as_mut()).is_pending());
    assert_eq!(
        in_flight("function_calls_concurrent", "forms_in_flight_async"),
        2
    );
    tx1.send(()).unwrap();
    assert!(poll_once(first.as_mut()).is_ready());
    assert_eq!(
        in_flight("function_calls_concurrent", "forms_in_flight_async"),
        1
    );
    drop(second);
    assert_eq!(
        in_flight("function_calls_concurrent", "forms_in_flight_async"),
        0
    );
    assert_eq!(
        outcomes("forms_in_flight_async"),
        [e("cancelled", "", 1), e("ok", "", 1)]
    );
}

/// Counts the widgets.
///
/// A second paragraph.
#[tracked(name = "forms_widgets", buckets = [0.5, 1, 2.5])]
fn forms_own_name(n: u32) -> Result<u32, FetchError> {
    Ok(n)
}

#[timed(name = "forms_render", help = "Rendering time.")]
fn forms_own_help() {}

#[test]
fn own_series_name_help_and_buckets() {
    let _ = forms_own_name(1);
    forms_own_help();
    let snapshot = Snapshot::collect();
    assert_eq!(
        outcomes_in(&snapshot, "forms_widgets", "forms_own_name", &[]),
        [e("ok", "", 1)]
    );
    let widgets = snapshot.family("forms_widgets").unwrap();
    assert_eq!(widgets.help, "Counts the widgets. A second paragraph.");
    let durations = snapshot.family("forms_widgets_duration_seconds").unwrap();
    assert_eq!(durations.help, "Counts the widgets. A second paragraph.");
    let Value::Histogram(h) = &durations.series[0].value else {
        panic!("histogram")
    };
    let bounds: Vec<f64> = h.buckets.iter().map(|(le, _)| *le).collect();
    assert_eq!(bounds, [0.5, 1.0, 2.5]);
    assert_eq!(h.count, 1);
    let render = snapshot.family("forms_render_duration_seconds").unwrap();
    assert_eq!(render.help, "Rendering time.");
    assert!(series(snapshot.family("function_calls"), "forms_own_name").is_none());
}

// ----- forms ------------------------------------------------------------------------

#[timed]
fn forms_timed_only() -> Result<(), FetchError> {
    Err(FetchError::Timeout)
}

#[test]
fn timed_records_durations_but_no_outcomes() {
    let _ = forms_timed_only();
    let _ = forms_timed_only();
    assert_eq!(durations("forms_timed_only"), 2);
    assert_eq!(outcomes("forms_timed_only"), []);
}

#[tracked]
fn forms_generic<T: std::str::FromStr>(input: &str) -> Result<T, T::Err> {
    input.parse()
}

#[test]
fn every_instance_of_a_generic_fn_shares_one_callsite() {
    assert_eq!(forms_generic::<u8>("1").ok(), Some(1));
    assert!(forms_generic::<u8>("300").is_err());
    assert_eq!(forms_generic::<f64>("1.5").ok(), Some(1.5));
    assert!(forms_generic::<bool>("maybe").is_err());
    assert_eq!(
        outcomes("forms_generic"),
        [
            e("error", "ParseBoolError", 1),
            e("error", "ParseIntError", 1),
            e("ok", "", 2)
        ]
    );
}

struct FormsStore {
    items: Vec<u32>,
}

#[tracked]
impl FormsStore {
    fn push(&mut self, n: u32) -> Result<(), FetchError> {
        if n == 0 {
            return Err(FetchError::Timeout);
        }
        self.items.push(n);
        Ok(())
    }

    #[tracked(error_if = Option::is_none)]
    fn first(&self) -> Option<&u32> {
        self.items.first()
    }

    #[telltale::skip]
    fn len(&self) -> usize {
        self.items.len()
    }
}

trait Shape {
    fn area(&self) -> u32;
}

struct FormsSquare(u32);

#[timed]
impl Shape for FormsSquare {
    fn area(&self) -> u32 {
        self.0 * self.0
    }
}

#[test]
fn impl_blocks_report_type_and_method() {
    let mut store = FormsStore { items: Vec::new() };
    store.push(1).unwrap();
    assert!(store.push(0).is_err());
    assert_eq!(store.first(), Some(&1));
    assert_eq!(store.len(), 1);
    assert_eq!(FormsSquare(2).area(), 4);
    assert_eq!(
        outcomes("FormsStore::push"),
        [e("error", "timeout", 1), e("ok", "", 1)]
    );
    assert_eq!(outcomes("FormsStore::first"), [e("ok", "", 1)]);
    assert_eq!(durations("FormsStore::len"), 0, "skipped");
    assert_eq!(durations("FormsSquare::area"), 1);
}

#[async_trait]
trait Backend {
    async fn get(&self, key: u32) -> Result<u32, FetchError>;
}

fn is_even(n: u32) -> bool {
    n.is_multiple_of(2)
}

struct FormsOuter;
struct FormsInner;
struct FormsMethod;

#[tracked]
#[async_trait]
impl Backend for FormsOuter {
    async fn get(&self, key: u32) -> Result<u32, FetchError> {
        if key == 0 {
            return Err(FetchError::Timeout);
        }
        Ok(key)
    }
}

#[async_trait]
#[tracked]
impl Backend for FormsInner {
    async fn get(&self, key: u32) -> Result<u32, FetchError> {
        if key == 0 {
            return Err(FetchError::Timeout);
        }
        Ok(key)
    }
}

#[async_trait]
impl Backend for FormsMethod {
    #[tracked(labels(even = is_even(key)))]
    async fn get(&self, key: u32) -> Result<u32, FetchError> {
        tokio::task::yield_now().await;
        if key == 0 {
            return Err(FetchError::Timeout);
        }
        Ok(key)
    }
}

#[test]
fn async_trait_in_either_order_and_on_a_method() {
    let backends: [(&(dyn Backend + Sync), &str); 3] = [
        (&FormsOuter, "FormsOuter::get"),
        (&FormsInner, "FormsInner::get"),
        (&FormsMethod, "get"),
    ];
    block_on(async {
        for (backend, _) in backends {
            for key in [0, 1, 2] {
                let _ = backend.get(key).await;
            }
        }
    });
    for (_, function) in &backends[..2] {
        assert_eq!(
            outcomes(function),
            [e("error", "timeout", 1), e("ok", "", 2)],
            "{function}"
        );
    }
    assert_eq!(
        outcomes_with("get", &[("even", "true")]),
        [e("error", "timeout", 1), e("ok", "", 1)]
    );
    assert_eq!(outcomes_with("get", &[("even", "false")]), [e("ok", "", 1)]);

    // A boxed future of async_trait dropped after one poll is cancelled too.
    {
        let mut pending = FormsMethod.get(5);
        assert!(poll_once(pending.as_mut()).is_pending());
    }
    assert_eq!(
        outcomes_with("get", &[("even", "false"), ("result", "cancelled")]),
        [e("cancelled", "", 1)]
    );
}

#[tracked]
fn forms_never_called() -> Result<(), FetchError> {
    Ok(())
}

#[test]
fn instrumented_functions_are_registered_before_their_first_call() {
    let never: fn() -> Result<(), FetchError> = forms_never_called;
    let snapshot = Snapshot::collect();
    let calls = series(snapshot.family("function_calls"), "forms_never_called");
    assert!(calls.is_some(), "registered at startup");
    assert!(matches!(calls.unwrap().value, Value::Counter(n) if n == 0.0));
    let _ = never;
}

struct FormsSiblings {
    fail: bool,
}

#[tracked]
impl FormsSiblings {
    fn read(&self) -> Result<u8, FetchError> {
        if self.fail {
            return Err(FetchError::Timeout);
        }
        Ok(1)
    }

    fn write(&self) -> Result<u8, FetchError> {
        if self.fail {
            return Err(FetchError::Timeout);
        }
        Ok(2)
    }

    fn parse(&self, s: &str) -> Result<u8, std::num::ParseIntError> {
        if self.fail {
            return Ok(0);
        }
        s.parse()
    }

    #[tracked(error_if = Option::is_none)]
    fn first(&self) -> Option<u8> {
        (!self.fail).then_some(1)
    }
}

#[tracked]
fn forms_generic_error<E: std::fmt::Debug>(e: Option<E>) -> Result<(), E> {
    e.map_or(Ok(()), Err)
}

/// Every error kind a function can report exists at zero from the start,
/// alike for every method of an impl (one called, one not), for a labeled
/// error type, a named one and an `error_if` predicate. A method with its own
/// attribute in an instrumented impl keeps its `Type::method` name.
#[test]
fn error_kinds_exist_at_zero_for_every_method_alike() {
    let zero = |function: &str| -> Vec<(String, String)> {
        let s = Snapshot::collect();
        let mut kinds: Vec<(String, String)> = s
            .family("function_calls")
            .unwrap()
            .series
            .iter()
            .filter(|x| x.label("function") == Some(function))
            .filter(|x| x.value == Value::Counter(0.0))
            .map(|x| {
                (
                    x.label("result").unwrap().to_owned(),
                    x.label("error").unwrap().to_owned(),
                )
            })
            .collect();
        kinds.sort();
        kinds
    };
    let kinds = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(r, e)| ((*r).to_owned(), (*e).to_owned()))
            .collect()
    };
    // Before any call.
    for method in ["FormsSiblings::read", "FormsSiblings::write"] {
        assert_eq!(
            zero(method),
            kinds(&[
                ("error", "io"),
                ("error", "not_found"),
                ("error", "timeout"),
                ("ok", "")
            ]),
            "{method}"
        );
    }
    assert_eq!(
        zero("FormsSiblings::parse"),
        kinds(&[("error", "ParseIntError"), ("ok", "")])
    );
    assert_eq!(
        zero("FormsSiblings::first"),
        kinds(&[("error", "is_none"), ("ok", "")])
    );
    // One sibling fails: the other still has every kind at zero.
    FormsSiblings { fail: true }.read().unwrap_err();
    assert_eq!(outcomes("FormsSiblings::read"), [e("error", "timeout", 1)]);
    assert_eq!(
        zero("FormsSiblings::read"),
        kinds(&[("error", "io"), ("error", "not_found"), ("ok", "")])
    );
    assert_eq!(
        zero("FormsSiblings::write"),
        kinds(&[
            ("error", "io"),
            ("error", "not_found"),
            ("error", "timeout"),
            ("ok", "")
        ])
    );
    assert_eq!(FormsSiblings { fail: false }.first(), Some(1));
    assert_eq!(outcomes("FormsSiblings::first"), [e("ok", "", 1)]);
    assert_eq!(FormsSiblings { fail: false }.write().unwrap(), 2);
    assert_eq!(FormsSiblings { fail: false }.parse("3"), Ok(3));
    // An error type that is a generic parameter is only known once it happens.
    forms_generic_error::<u8>(None).unwrap();
    assert_eq!(zero("forms_generic_error"), kinds(&[]));
}
