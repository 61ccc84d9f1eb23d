//! Time windows: a mock clock drives every test, no sleeps. Each test records
//! into metrics and `#[tracked]` functions of its own (`window_*`): the
//! registry is global and tests run in parallel.
#![allow(clippy::float_cmp)] // the values compared are exact in f64

use std::borrow::Cow;
use std::time::Duration;

use telltale::snapshot::{MetricFamily, MetricKind, Series, Value};
use telltale::window::{select, Clock, MockClock, WindowConfig, Windows};
use telltale::{tracked, Counter, Format, Gauge, Histogram, LabelValue, Snapshot};

const SEC: Duration = Duration::from_secs(1);
const MIN: Duration = Duration::from_mins(1);

fn store() -> (MockClock, Windows) {
    // Start on a minute boundary so tumbling buckets are easy to reason about.
    let clock = MockClock::new(Duration::from_mins(16_667));
    let windows = Windows::with_clock(WindowConfig::default(), clock.clone());
    (clock, windows)
}

/// A snapshot of one family with the given series (labels, value).
fn snapshot(
    name: &'static str,
    kind: MetricKind,
    series: &[(&[(&'static str, &'static str)], Value)],
) -> Snapshot {
    Snapshot {
        families: vec![MetricFamily {
            name: Cow::Borrowed(name),
            help: Cow::Borrowed("test"),
            unit: None,
            kind,
            series: series
                .iter()
                .map(|(labels, value)| Series {
                    labels: labels
                        .iter()
                        .map(|&(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v)))
                        .collect(),
                    value: value.clone(),
                    created: None,
                })
                .collect(),
        }],
    }
}

#[test]
fn counter_increase_and_rate_over_sliding_windows() {
    static SENT: Counter = Counter::new("window_sent_total", "Messages sent.");
    let (clock, windows) = store();
    assert_eq!(
        windows.rate("window_sent_total", &[], MIN),
        None,
        "no ticks yet"
    );
    SENT.inc_by(7); // before the first tick: never part of a window
    windows.tick();
    assert_eq!(
        windows.rate("window_sent_total", &[], MIN),
        None,
        "one tick is not a window"
    );
    // 3 per second for 5 minutes, then 1 per second for one minute.
    for s in 0..360 {
        clock.advance(SEC);
        SENT.inc_by(if s < 300 { 3 } else { 1 });
        windows.tick();
    }
    assert_eq!(windows.increase("window_sent_total", &[], MIN), Some(60.0));
    assert_eq!(windows.rate("window_sent", &[], MIN), Some(1.0));
    let five = windows.rate("window_sent_total", &[], 5 * MIN).unwrap();
    assert!(
        (five - (240.0 * 3.0 + 60.0) / 300.0).abs() < 1e-12,
        "{five}"
    );
    assert_eq!(
        windows.increase("window_sent_total", &[], 10 * SEC),
        Some(10.0)
    );
    // The window is the last 60 s ending at the latest tick.
    let view = windows.last(MIN).unwrap();
    assert_eq!(view.span(), MIN);
    assert_eq!(view.last_tick(), clock.now());
    assert_eq!(windows.increase("window_no_such_metric", &[], MIN), None);
}

#[test]
fn a_counter_that_drops_restarted_and_counts_from_zero() {
    let (clock, windows) = store();
    let at = |v: f64| {
        snapshot(
            "window_restarts",
            MetricKind::Counter,
            &[(&[], Value::Counter(v))],
        )
    };
    // 100, 110, 120, then the process restarts: 5, 15.
    for v in [100.0, 110.0, 120.0, 5.0, 15.0] {
        windows.record(at(v));
        clock.advance(10 * SEC);
    }
    let span = Duration::from_secs(40);
    assert_eq!(
        windows.increase("window_restarts_total", &[], span),
        Some(10.0 + 10.0 + 5.0 + 10.0)
    );
    assert_eq!(
        windows.rate("window_restarts", &[], span),
        Some(35.0 / 40.0)
    );
    let summary = windows.summary("window_restarts", &[], span).unwrap();
    assert_eq!(
        (summary.count, summary.sum, summary.min, summary.max),
        (4, 35.0, 5.0, 10.0)
    );
    assert_eq!(summary.mean(), Some(8.75));
}

#[test]
fn gauge_moving_average_and_summary() {
    static QUEUE: Gauge = Gauge::new("window_queue_depth", "Queued jobs.");
    let (clock, windows) = store();
    QUEUE.set(1_000.0);
    windows.tick();
    for v in 1..=10 {
        clock.advance(SEC);
        QUEUE.set(f64::from(v));
        windows.tick();
    }
    // The ten values after the window's start: 1..=10.
    assert_eq!(
        windows.average("window_queue_depth", &[], 10 * SEC),
        Some(5.5)
    );
    assert_eq!(
        windows.average("window_queue_depth", &[], 4 * SEC),
        Some(8.5)
    );
    let s = windows
        .summary("window_queue_depth", &[], 10 * SEC)
        .unwrap();
    assert_eq!((s.count, s.sum, s.min, s.max), (10, 55.0, 1.0, 10.0));
    assert_eq!(s.quantile(0.5), Some(5.0));
    assert_eq!(s.quantile(0.9), Some(9.0));
    assert_eq!(s.quantile(1.0), Some(10.0));
    assert_eq!(s.kind, MetricKind::Gauge);
}

#[derive(Debug, LabelValue)]
enum PayError {
    Declined,
    Timeout,
}

#[tracked]
fn window_pay(outcome: u8) -> Result<(), PayError> {
    match outcome {
        0 => Ok(()),
        1 => Err(PayError::Declined),
        _ => Err(PayError::Timeout),
    }
}

#[test]
fn success_rate_and_failure_breakdown_over_one_and_five_minutes() {
    let (clock, windows) = store();
    window_pay(2).unwrap_err(); // before the first tick
    windows.tick();
    // Minutes 1-4: every second 1 ok; every 10 s a declined payment.
    for s in 1..=240 {
        clock.advance(SEC);
        window_pay(0).unwrap();
        if s % 10 == 0 {
            window_pay(1).unwrap_err();
        }
        windows.tick();
    }
    // Minute 5: every second 1 ok and 1 timeout.
    for _ in 0..60 {
        clock.advance(SEC);
        window_pay(0).unwrap();
        window_pay(2).unwrap_err();
        windows.tick();
    }
    assert_eq!(windows.success_rate("window_pay", MIN), Some(0.5));
    let five = windows.success_rate("window_pay", 5 * MIN).unwrap();
    assert!(
        (five - 300.0 / (300.0 + 24.0 + 60.0)).abs() < 1e-12,
        "{five}"
    );
    assert_eq!(
        windows.failure_breakdown("window_pay", MIN),
        [("timeout".to_string(), 60)].into_iter().collect()
    );
    assert_eq!(
        windows.failure_breakdown("window_pay", 5 * MIN),
        [("declined".to_string(), 24), ("timeout".to_string(), 60)]
            .into_iter()
            .collect()
    );
    // Nothing happened in an operation never called, or before any tick.
    assert_eq!(windows.success_rate("window_never_called", MIN), None);
    assert!(windows
        .failure_breakdown("window_never_called", MIN)
        .is_empty());
    // The calls' latency histogram counts the window's calls.
    let latency = windows
        .summary(
            "function_calls_duration_seconds",
            &[("function", "window_pay")],
            MIN,
        )
        .unwrap();
    assert_eq!(latency.count, 120);
}

struct WindowInventory {
    open: bool,
}

#[tracked]
impl WindowInventory {
    fn window_reserve(&self, n: u32) -> Result<u32, PayError> {
        if n == 0 || !self.open {
            Err(PayError::Declined)
        } else {
            Ok(n)
        }
    }
}

#[tracked]
fn window_reserve(n: u32) -> Result<u32, PayError> {
    if n == 0 {
        Err(PayError::Timeout)
    } else {
        Ok(n)
    }
}

#[test]
fn an_operation_is_named_by_its_whole_label_or_by_its_method_name() {
    let (clock, windows) = store();
    windows.tick();
    clock.advance(SEC);
    WindowInventory { open: true }.window_reserve(1).unwrap();
    WindowInventory { open: true }
        .window_reserve(0)
        .unwrap_err();
    WindowInventory { open: true }.window_reserve(2).unwrap();
    WindowInventory { open: true }.window_reserve(3).unwrap();
    window_reserve(0).unwrap_err();
    windows.tick();
    // The method's label is Type::method: that names it alone.
    assert_eq!(
        windows.success_rate("WindowInventory::window_reserve", MIN),
        Some(0.75)
    );
    // The method's name alone adds up every function and method of that name.
    assert_eq!(windows.success_rate("window_reserve", MIN), Some(0.6));
    assert_eq!(
        windows.failure_breakdown("window_reserve", MIN),
        [("declined".to_string(), 1), ("timeout".to_string(), 1)]
            .into_iter()
            .collect()
    );
    // A name that is only a suffix of a label is not a method's name.
    assert_eq!(windows.success_rate("reserve", MIN), None);
    assert_eq!(windows.success_rate("Inventory::window_reserve", MIN), None);
}

static WINDOW_NAMED: Counter = Counter::new("window_named_orders_total", "Orders.");
static WINDOW_NAMED_LATENCY: Histogram = Histogram::new("window_named_latency_seconds", "Latency.");

#[test]
fn a_metric_is_named_by_its_family_name_or_any_of_its_sample_names() {
    let (clock, windows) = store();
    windows.tick();
    clock.advance(SEC);
    WINDOW_NAMED.inc_by(3);
    WINDOW_NAMED_LATENCY.observe(0.5);
    windows.tick();
    for name in ["window_named_orders", "window_named_orders_total"] {
        assert_eq!(windows.increase(name, &[], MIN), Some(3.0), "{name}");
        assert_eq!(windows.select(Some(name), &[]).families.len(), 1, "{name}");
    }
    // A sample suffix of another kind names nothing.
    assert_eq!(
        windows.increase("window_named_orders_count", &[], MIN),
        None
    );
    for name in [
        "window_named_latency_seconds",
        "window_named_latency_seconds_count",
        "window_named_latency_seconds_bucket",
    ] {
        let summary = windows.summary(name, &[], MIN).unwrap();
        assert_eq!(summary.count, 1, "{name}");
    }
    assert!(windows
        .summary("window_named_latency_seconds_total", &[], MIN)
        .is_none());
}

#[tracked]
async fn window_slow_op(fail: bool) -> Result<(), PayError> {
    if fail {
        return Err(PayError::Timeout);
    }
    std::future::pending::<()>().await;
    Ok(())
}

#[test]
fn cancelled_calls_are_neither_success_nor_failure() {
    let (clock, windows) = store();
    windows.tick();
    clock.advance(SEC);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        window_slow_op(true).await.unwrap_err();
        // Dropped before completing: cancelled.
        let fut = Box::pin(window_slow_op(false));
        let _ = futures::poll!(fut);
    });
    windows.tick();
    assert_eq!(windows.success_rate("window_slow_op", MIN), Some(0.0));
    assert_eq!(
        windows.failure_breakdown("window_slow_op", MIN),
        [("timeout".to_string(), 1)].into_iter().collect()
    );
}

#[test]
fn histogram_summary_is_the_difference_of_both_ends() {
    static LATENCY: Histogram = Histogram::new("window_latency_seconds", "Latency.");
    let (clock, windows) = store();
    // Old observations, outside the window: very large ones.
    for _ in 0..1_000 {
        LATENCY.observe(50.0);
    }
    windows.tick();
    clock.advance(30 * SEC);
    windows.tick();
    // In the window: 1 ms .. 1000 ms.
    for i in 1..=1_000 {
        LATENCY.observe(f64::from(i) / 1_000.0);
    }
    clock.advance(30 * SEC);
    windows.tick();
    let s = windows
        .summary("window_latency_seconds", &[], 30 * SEC)
        .unwrap();
    assert_eq!(s.kind, MetricKind::Histogram);
    assert_eq!(s.count, 1_000);
    assert!((s.sum - 500.5).abs() < 1e-9, "{}", s.sum);
    assert!((s.mean().unwrap() - 0.5005).abs() < 1e-12);
    // min and max are bucket bounds: within one bucket (2.2 %) outside the truth.
    assert!(s.min <= 0.001 && s.min > 0.001 / 1.022, "{}", s.min);
    assert!(s.max >= 1.0 && s.max < 1.022, "{}", s.max);
    for (q, exact) in [(0.5, 0.5), (0.9, 0.9), (0.99, 0.99), (0.999, 0.999)] {
        let got = s.quantile(q).unwrap();
        assert!((got / exact - 1.0).abs() < 0.011, "q{q}: {got}");
    }
    // Histograms rank by the observations recorded in the window.
    let busiest = windows.top(MetricKind::Histogram, usize::MAX, 30 * SEC);
    let mine = busiest
        .iter()
        .find(|r| r.family == "window_latency_seconds")
        .unwrap();
    assert_eq!(mine.value, 1_000.0);
    // Over the whole history, the old observations come back.
    let all = windows
        .summary("window_latency_seconds", &[], 60 * SEC)
        .unwrap();
    assert_eq!(all.count, 1_000);
    let h = windows
        .last(61 * SEC)
        .unwrap()
        .histogram("window_latency_seconds", &[])
        .unwrap();
    assert_eq!(
        h.count(),
        1_000,
        "the window starts at the first tick, after the old ones"
    );
    // A window where nothing was recorded is empty.
    clock.advance(SEC);
    windows.tick();
    let quiet = windows.summary("window_latency_seconds", &[], SEC).unwrap();
    assert_eq!(
        (quiet.count, quiet.mean(), quiet.quantile(0.5)),
        (0, None, None)
    );
    assert!(quiet.min.is_nan());
}

#[test]
fn tumbling_buckets_are_aligned_and_sliding_windows_are_not() {
    static EVENTS: Counter = Counter::new("window_events_total", "Events.");
    let (clock, windows) = store(); // at a minute boundary
    windows.tick();
    // Minute k gets k+1 events per second, for three minutes and 30 s.
    for s in 0..210u64 {
        clock.advance(SEC);
        EVENTS.inc_by(s / 60 + 1);
        windows.tick();
    }
    let minutes = windows.tumbling(MIN, 5);
    assert_eq!(minutes.len(), 3, "three completed minutes");
    let per_minute: Vec<f64> = minutes
        .iter()
        .map(|v| v.increase("window_events_total", &[]).unwrap())
        .collect();
    assert_eq!(per_minute, vec![60.0, 120.0, 180.0]);
    for (i, v) in minutes.iter().enumerate() {
        assert_eq!(v.span(), MIN);
        assert_eq!(v.first_tick().as_secs() % 60, 0);
        assert_eq!(v.rate("window_events", &[]), Some((i + 1) as f64));
    }
    // The sliding minute ends now: 30 s at 4/s and 30 s at 3/s.
    assert_eq!(
        windows.increase("window_events_total", &[], MIN),
        Some(30.0 * 4.0 + 30.0 * 3.0)
    );
    assert_eq!(windows.tumbling(MIN, 1).len(), 1);
    assert!(windows.tumbling(MIN, 0).is_empty());
}

#[test]
fn label_filter_top_n_and_export() {
    let (clock, windows) = store();
    let requests = |a: f64, b: f64, c: f64| Snapshot {
        families: [
            snapshot(
                "window_requests",
                MetricKind::Counter,
                &[
                    (&[("route", "/a"), ("method", "GET")], Value::Counter(a)),
                    (&[("route", "/b"), ("method", "GET")], Value::Counter(b)),
                    (&[("route", "/b"), ("method", "POST")], Value::Counter(c)),
                ],
            ),
            snapshot(
                "window_temperature",
                MetricKind::Gauge,
                &[
                    (&[("room", "x")], Value::Gauge(20.0)),
                    (&[("room", "y")], Value::Gauge(b)),
                ],
            ),
        ]
        .into_iter()
        .flat_map(|s| s.families)
        .collect(),
    };
    windows.record(requests(1_000.0, 0.0, 0.0));
    clock.advance(MIN);
    windows.record(requests(1_010.0, 50.0, 30.0));
    assert_eq!(
        windows.increase("window_requests", &[("route", "/b")], MIN),
        Some(80.0)
    );
    assert_eq!(
        windows.increase(
            "window_requests",
            &[("route", "/b"), ("method", "GET")],
            MIN
        ),
        Some(50.0)
    );
    assert_eq!(
        windows.increase("window_requests", &[("route", "/c")], MIN),
        None
    );

    // Counters rank by increase, not by total: /a has the largest total.
    let top = windows.top(MetricKind::Counter, 2, MIN);
    let routes: Vec<(&str, f64)> = top
        .iter()
        .map(|r| {
            (
                r.labels
                    .iter()
                    .find(|(k, _)| k == "method")
                    .unwrap()
                    .1
                    .as_str(),
                r.value,
            )
        })
        .collect();
    assert_eq!(routes, vec![("GET", 50.0), ("POST", 30.0)]);
    assert_eq!(top[0].family, "window_requests");
    // Gauges rank by their current value.
    let hot = windows.top(MetricKind::Gauge, 1, MIN);
    assert_eq!(hot[0].labels, vec![("room".to_string(), "y".to_string())]);
    assert_eq!(hot[0].value, 50.0);

    // Export of the selection, encoded in any format.
    let mut text = String::new();
    telltale::encode::encode(&windows.export(&top), Format::Prometheus, &mut text);
    assert!(
        text.contains("window_requests_total{route=\"/b\",method=\"GET\"} 50\n"),
        "{text}"
    );
    assert!(
        text.contains("window_requests_total{route=\"/b\",method=\"POST\"} 30\n"),
        "{text}"
    );
    assert!(!text.contains("/a"), "{text}");
    let picked = windows.select(Some("window_requests_total"), &[("method", "GET")]);
    assert_eq!(picked.families.len(), 1);
    assert_eq!(picked.families[0].series.len(), 2);
    let mut om = String::new();
    telltale::encode::encode(&picked, Format::OpenMetrics, &mut om);
    assert!(
        om.ends_with("# EOF\n") && om.contains("route=\"/a\""),
        "{om}"
    );
    assert!(windows
        .select(None, &[("room", "x")])
        .family("window_temperature")
        .is_some());
    assert!(select(&Snapshot::default(), None, &[]).families.is_empty());
}

#[test]
fn rings_stay_bounded_after_many_ticks() {
    static BUSY: Counter = Counter::new("window_busy_total", "Busy.");
    let config = WindowConfig {
        tick: SEC,
        fine_retention: Duration::from_secs(30),
        coarse_step: Duration::from_secs(10),
        coarse_retention: Duration::from_mins(2),
    };
    assert_eq!((config.fine_capacity(), config.coarse_capacity()), (32, 13));
    let clock = MockClock::new(Duration::ZERO);
    let windows = Windows::with_clock(config, clock.clone());
    let mut settled = None;
    for s in 0..2_000u64 {
        BUSY.inc();
        windows.tick();
        assert!(windows.fine_len() <= 32 && windows.coarse_len() <= 13);
        if s == 500 {
            settled = Some(windows.stored_bytes());
        }
        clock.advance(SEC);
    }
    assert_eq!((windows.fine_len(), windows.coarse_len()), (32, 13));
    // Bounded by series and ring length, not by uptime (the registry may
    // gain series from other tests meanwhile: allow for that, not for 4x).
    assert!(
        windows.stored_bytes() < settled.unwrap() * 2,
        "{} vs {settled:?}",
        windows.stored_bytes()
    );
    // Short windows come from the fine ring, long ones from the coarse ring.
    assert_eq!(
        windows.increase("window_busy_total", &[], 30 * SEC),
        Some(30.0)
    );
    let two_minutes = windows.last(2 * MIN).unwrap();
    assert!(two_minutes.span() >= 2 * MIN && two_minutes.span() <= 2 * MIN + 10 * SEC);
    assert_eq!(
        two_minutes.increase("window_busy_total", &[]),
        Some(two_minutes.span().as_secs_f64())
    );
    // Nothing older than the coarse ring's reach is kept.
    let all = windows.last(Duration::from_secs(100_000)).unwrap();
    assert!(all.span() <= Duration::from_secs(130));
    // A tick at a time already stored is ignored.
    let before = windows.fine_len();
    windows.tick();
    assert_eq!(windows.fine_len(), before);
}

#[test]
fn the_background_ticker_ticks_and_stops() {
    let ticker = telltale::window::start(WindowConfig::default());
    let windows = ticker.windows().clone();
    ticker.stop();
    ticker.stop();
    // The first tick runs at once; none after stop.
    let after = windows.fine_len();
    assert!(after <= 1);
    drop(ticker);
    assert_eq!(windows.fine_len(), after);

    // A fast ticker keeps ticking until stopped, then never again.
    let config = WindowConfig {
        tick: Duration::from_millis(10),
        fine_retention: SEC,
        ..WindowConfig::default()
    };
    let ticker = telltale::window::start(config);
    let windows = ticker.windows().clone();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while windows.fine_len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} ticks in 10 s at one per 10 ms",
            windows.fine_len()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    ticker.stop();
    let stopped = windows.fine_len();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(windows.fine_len(), stopped, "ticks after stop");
}
