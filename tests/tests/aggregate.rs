//! Aggregation rules, each type driven by a mock clock and checked against
//! figures computed by hand.

use std::sync::Arc;
use std::time::Duration;

use telltale::aggregate::{self, Aggregator, Rule, RuleKind};
use telltale::dynamic;
use telltale::window::{MockClock, WindowConfig, Windows};

struct Fixture {
    clock: MockClock,
    windows: Arc<Windows>,
}

impl Fixture {
    fn new() -> Fixture {
        let clock = MockClock::new(Duration::from_secs(10_000));
        let windows = Arc::new(Windows::with_clock(WindowConfig::default(), clock.clone()));
        Fixture { clock, windows }
    }

    fn start(&self, rules: &[Rule]) -> Aggregator {
        aggregate::start(&self.windows, rules).unwrap_or_else(|e| panic!("{e:#?}"))
    }

    /// Ticks (the rules run after it), then moves the clock a second on.
    fn tick(&self) {
        self.windows.tick();
        self.clock.advance(Duration::from_secs(1));
    }
}

/// The value of `family{labels}` in a fresh snapshot, labels in any order.
fn value(family: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let snapshot = telltale::Snapshot::collect();
    let family = snapshot.family(family)?;
    family.series.iter().find_map(|s| {
        let same =
            s.labels.len() == labels.len() && labels.iter().all(|(k, v)| s.label(k) == Some(*v));
        match (&s.value, same) {
            (telltale::snapshot::Value::Gauge(v), true) => Some(*v),
            _ => None,
        }
    })
}

fn series(family: &str) -> usize {
    telltale::Snapshot::collect()
        .family(family)
        .map_or(0, |f| f.series.len())
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn rate_and_increase_wait_for_a_whole_window_then_follow_the_counter() {
    let fx = Fixture::new();
    let jobs = dynamic::counter("agg_jobs_total")
        .help("Jobs.")
        .register()
        .unwrap();
    let aggregator = fx.start(&[
        Rule::rate("agg_jobs_total").window(Duration::from_secs(10)),
        Rule::new(RuleKind::Increase, "agg_jobs_total").window(Duration::from_secs(10)),
    ]);
    // 4 jobs a second.
    for _ in 0..10 {
        jobs.inc_by(4).unwrap();
        fx.tick();
    }
    // Nine seconds of history: too little for a ten-second window.
    assert_eq!(value("agg_jobs_rate", &[]), None);
    assert_eq!(aggregator.status()[0].series, 0);
    jobs.inc_by(4).unwrap();
    fx.tick();
    assert!(
        close(value("agg_jobs_rate", &[]), 4.0),
        "{:?}",
        value("agg_jobs_rate", &[])
    );
    assert!(close(value("agg_jobs_increase", &[]), 40.0));
    // Then 1 a second: the window slides.
    for _ in 0..5 {
        jobs.inc().unwrap();
        fx.tick();
    }
    assert!(close(
        value("agg_jobs_increase", &[]),
        5.0 * 4.0 + 5.0 * 1.0
    ));
    assert!(close(value("agg_jobs_rate", &[]), 2.5));
    assert!(aggregator.status().iter().all(|s| s.error.is_none()));
}

#[test]
fn a_counter_that_restarts_counts_from_zero() {
    let fx = Fixture::new();
    let restarts = dynamic::gauge("agg_placeholder_gauge").register().unwrap();
    let _ = restarts;
    // A counter read from outside (a source, or a process that restarted)
    // drops: hand-made snapshots stand for what a scrape would read.
    let snapshot = |v: f64| telltale::Snapshot {
        families: vec![telltale::snapshot::MetricFamily {
            name: "agg_ext_requests".into(),
            help: "Requests.".into(),
            unit: None,
            kind: telltale::snapshot::MetricKind::Counter,
            series: vec![telltale::snapshot::Series {
                labels: vec![("host".into(), "a".into())],
                value: telltale::snapshot::Value::Counter(v),
                created: None,
            }],
        }],
    };
    let _counter = dynamic::counter("agg_ext_requests_total")
        .register()
        .unwrap();
    let _aggregator = fx.start(&[
        Rule::new(RuleKind::Increase, "agg_ext_requests_total").window(Duration::from_secs(5))
    ]);
    for v in [100.0, 110.0, 120.0, 5.0, 15.0, 25.0] {
        fx.windows.record(snapshot(v));
        fx.clock.advance(Duration::from_secs(1));
    }
    // 110 -> 120 is 10; the drop to 5 counts 5; then 10 and 10; from 100
    // to 110 as well: 10 + 10 + 5 + 10 + 10.
    assert!(
        close(value("agg_ext_requests_increase", &[("host", "a")]), 45.0),
        "{:?}",
        value("agg_ext_requests_increase", &[("host", "a")])
    );
}

#[test]
fn gauge_mean_min_max_sum_count_and_percentiles_over_the_window() {
    let fx = Fixture::new();
    let depth = dynamic::gauge("agg_depth")
        .help("Depth.")
        .register()
        .unwrap();
    let window = Duration::from_secs(4);
    let _aggregator = fx.start(&[
        Rule::new(RuleKind::Mean, "agg_depth").window(window),
        Rule::new(RuleKind::Min, "agg_depth").window(window),
        Rule::new(RuleKind::Max, "agg_depth").window(window),
        Rule::new(RuleKind::Sum, "agg_depth").window(window),
        Rule::new(RuleKind::Count, "agg_depth").window(window),
        Rule::percentile("agg_depth", [50.0, 90.0]).window(window),
        Rule::new(RuleKind::MovingAverage, "agg_depth").window(window),
    ]);
    for v in [9.0, 2.0, 4.0, 6.0, 8.0] {
        depth.set(v).unwrap();
        fx.tick();
    }
    // The window's ticks after its start: 2, 4, 6, 8.
    assert!(close(value("agg_depth_mean", &[]), 5.0));
    assert!(close(value("agg_depth_moving_average", &[]), 5.0));
    assert!(close(value("agg_depth_min", &[]), 2.0));
    assert!(close(value("agg_depth_max", &[]), 8.0));
    assert!(close(value("agg_depth_sum", &[]), 20.0));
    assert!(close(value("agg_depth_count", &[]), 4.0));
    // quantile_over_time: rank q * (n - 1) between neighbours.
    assert!(close(
        value("agg_depth_percentile", &[("quantile", "0.5")]),
        5.0
    ));
    assert!(close(
        value("agg_depth_percentile", &[("quantile", "0.9")]),
        7.4
    ));
    assert_eq!(
        series("agg_depth_percentile"),
        2,
        "one family, a quantile label"
    );
}

#[test]
fn an_exponential_moving_average_halves_the_distance_every_half_life() {
    let fx = Fixture::new();
    let load = dynamic::gauge("agg_load").register().unwrap();
    let _aggregator = fx.start(&[Rule::new(RuleKind::MovingAverage, "agg_load")
        .window(Duration::from_secs(1))
        .half_life(Duration::from_secs(2))
        .named("agg_load_ema")]);
    load.set(0.0).unwrap();
    fx.tick();
    fx.tick();
    load.set(10.0).unwrap();
    for n in 1..=6_i32 {
        fx.tick();
        let expected = 10.0 * (1.0 - 2f64.powf(-f64::from(n) / 2.0));
        let got = value("agg_load_ema", &[]);
        assert!(
            close(got, expected),
            "after {n} s: {got:?}, expected {expected}"
        );
    }
}

#[test]
fn histogram_percentiles_interpolate_the_classic_buckets_of_the_window() {
    let fx = Fixture::new();
    let latency = dynamic::histogram("agg_latency_seconds")
        .buckets(&[1.0, 2.0, 4.0, 8.0])
        .required_labels(["route"])
        .register()
        .unwrap();
    let window = Duration::from_secs(5);
    let _aggregator = fx.start(&[
        Rule::percentile("agg_latency_seconds{route=\"/a\"}", [50.0, 95.0, 99.0]).window(window),
        Rule::new(RuleKind::Mean, "agg_latency_seconds")
            .window(window)
            .named("agg_latency_mean"),
        Rule::new(RuleKind::Count, "agg_latency_seconds")
            .window(window)
            .by(Vec::<String>::new())
            .named("agg_latency_observations"),
    ]);
    let a = latency.labels([("route", "/a")]);
    let b = latency.labels([("route", "/b")]);
    // Before the window: slow calls that the window must not count.
    for _ in 0..10 {
        a.observe(7.0).unwrap();
    }
    fx.tick();
    for _ in 0..5 {
        // Four calls a second: 0.5, 1.5, 1.5, 3.
        for v in [0.5, 1.5, 1.5, 3.0] {
            a.observe(v).unwrap();
        }
        b.observe(6.0).unwrap();
        fx.tick();
    }
    // 20 observations: 5 <= 1, 15 <= 2, 20 <= 4.
    let p = |q: &str| {
        value(
            "agg_latency_seconds_percentile",
            &[("route", "/a"), ("quantile", q)],
        )
    };
    assert!(close(p("0.5"), 1.0 + (10.0 - 5.0) / 10.0), "{:?}", p("0.5"));
    assert!(
        close(p("0.95"), 2.0 + 2.0 * (19.0 - 15.0) / 5.0),
        "{:?}",
        p("0.95")
    );
    assert!(
        close(p("0.99"), 2.0 + 2.0 * (19.8 - 15.0) / 5.0),
        "{:?}",
        p("0.99")
    );
    assert_eq!(series("agg_latency_seconds_percentile"), 3, "only route /a");
    assert!(close(
        value("agg_latency_mean", &[("route", "/a")]),
        (0.5 + 3.0 + 3.0) / 4.0
    ));
    assert!(close(value("agg_latency_mean", &[("route", "/b")]), 6.0));
    // `by = []`: every series summed into one.
    assert!(close(value("agg_latency_observations", &[]), 25.0));
}

#[test]
fn ratios_and_expressions_match_series_by_their_labels() {
    let fx = Fixture::new();
    let calls = dynamic::counter("agg_calls_total")
        .required_labels(["op", "result"])
        .register()
        .unwrap();
    let window = Duration::from_secs(4);
    let _aggregator = fx.start(&[
        Rule::ratio("agg_calls_total{result=\"error\"}", "agg_calls_total")
            .by(["op"])
            .window(window)
            .named("agg_error_ratio"),
        Rule::expression("agg_error_percent", "clamp(agg_error_ratio * 100, 0, 30)"),
        Rule::expression(
            "agg_ok_per_error",
            "(1 - agg_error_ratio) / agg_error_ratio",
        ),
        Rule::expression("agg_constant", "max(abs(-2), 1.5) + 1"),
    ]);
    let ok = |op: &str| calls.labels([("op", op), ("result", "ok")]);
    let err = |op: &str| calls.labels([("op", op), ("result", "error")]);
    for _ in 0..5 {
        ok("read").inc_by(3).unwrap();
        err("read").inc().unwrap();
        ok("write").inc_by(2).unwrap();
        // `write` has an error series that never grows: a ratio of 0.
        err("write").inc_by(0).unwrap();
        ok("idle").inc_by(0).unwrap();
        fx.tick();
    }
    assert!(close(value("agg_error_ratio", &[("op", "read")]), 0.25));
    assert!(close(value("agg_error_ratio", &[("op", "write")]), 0.0));
    // No call at all: division by zero, no sample.
    assert_eq!(value("agg_error_ratio", &[("op", "idle")]), None);
    assert!(close(value("agg_error_percent", &[("op", "read")]), 25.0));
    assert!(close(value("agg_ok_per_error", &[("op", "read")]), 3.0));
    assert_eq!(
        value("agg_ok_per_error", &[("op", "write")]),
        None,
        "x / 0 gives no sample"
    );
    assert!(close(value("agg_constant", &[]), 3.0));
}

#[test]
fn tumbling_windows_export_the_last_completed_one() {
    let fx = Fixture::new();
    let events = dynamic::counter("agg_events_total").register().unwrap();
    let _aggregator = fx.start(&[Rule::new(RuleKind::Increase, "agg_events_total")
        .tumbling(Duration::from_secs(10))
        .named("agg_events_per_10s")]);
    // The clock starts at 10,000 s, on a ten-second boundary: ticks at
    // 10,000 ... 10,009 make one bucket, complete at 10,010.
    for n in 0..10 {
        events.inc_by(n).unwrap();
        fx.tick();
    }
    assert_eq!(
        value("agg_events_per_10s", &[]),
        None,
        "no bucket completed yet"
    );
    events.inc_by(100).unwrap();
    fx.tick(); // 10,010: the bucket [10,000, 10,010) is complete
               // From the tick at 10,000 (after 0) to the one at 10,010 (after 100):
               // 1 + ... + 9 + 100.
    assert!(
        close(value("agg_events_per_10s", &[]), 145.0),
        "{:?}",
        value("agg_events_per_10s", &[])
    );
    for _ in 0..5 {
        events.inc_by(1000).unwrap();
        fx.tick();
    }
    assert!(
        close(value("agg_events_per_10s", &[]), 145.0),
        "unchanged until the next bucket completes"
    );
}

#[test]
fn mistakes_are_errors_at_start_and_the_other_rules_are_not_touched() {
    let fx = Fixture::new();
    let _hits = dynamic::counter("agg_hits_total").register().unwrap();
    let _level = dynamic::gauge("agg_level").register().unwrap();
    let errors = aggregate::start(
        &fx.windows,
        &[
            Rule::percentile("agg_hits_total", [99.0]),
            Rule::rate("agg_level"),
            Rule::rate("agg_missing_total"),
            Rule::expression("agg_x", "agg_y + 1"),
            Rule::expression("agg_y", "agg_x * 2"),
            Rule::expression("agg_z", "agg_nowhere / 2"),
            Rule::rate("agg_hits_total").window(Duration::from_hours(72)),
        ],
    )
    .unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    for want in [
        "rule 0: source: a percentile rule cannot read a counter",
        "rule 1: source: a rate rule cannot read a gauge",
        "rule 2: source: the program exports no metric \"agg_missing_total\"",
        "rules read each other in a cycle: agg_x -> agg_y -> agg_x",
        "rule 5: expression: \"agg_nowhere\" is neither a rule nor a metric",
        "rule 6: window: 259200s is longer than the windows keep (86400s)",
    ] {
        assert!(text.iter().any(|t| t.contains(want)), "{want}:\n{text:#?}");
    }
    // A rule of a type that a source's metric turns out not to fit exports
    // nothing and says why; the others go on.
    let aggregator = fx.start(&[Rule::rate("agg_hits_total").window(Duration::from_secs(2))]);
    for _ in 0..3 {
        fx.tick();
    }
    assert_eq!(aggregator.status()[0].error, None);
    aggregator.stop();
    assert_eq!(
        series("agg_hits_rate"),
        0,
        "a stopped aggregator's series go"
    );
}

#[test]
fn memory_is_bounded_by_rules_times_matched_series() {
    let fx = Fixture::new();
    let queue = dynamic::gauge("agg_queue")
        .required_labels(["id"])
        .cap(20_000)
        .register()
        .unwrap();
    for i in 0..10_000 {
        queue
            .labels([("id", i.to_string())])
            .set(f64::from(i))
            .unwrap();
    }
    let aggregator = fx.start(&[
        Rule::new(RuleKind::Mean, "agg_queue").window(Duration::from_secs(2)),
        Rule::new(RuleKind::MovingAverage, "agg_queue")
            .window(Duration::from_secs(2))
            .half_life(Duration::from_secs(30))
            .named("agg_queue_ema"),
    ]);
    let mut held = Vec::new();
    for round in 0..6 {
        for i in (0..10_000).step_by(1000) {
            queue
                .labels([("id", i.to_string())])
                .set(f64::from(round))
                .unwrap();
        }
        fx.tick();
        held.push(aggregator.held_series());
    }
    // Mean outputs + EMA outputs + EMA states: 3 x 10,000, however long it runs.
    assert_eq!(held.last(), Some(&30_000), "{held:?}");
    assert_eq!(held[held.len() - 2], held[held.len() - 1], "{held:?}");
    assert_eq!(series("agg_queue_mean"), 10_000);
}

fn snapshot_of(family: telltale::snapshot::MetricFamily) -> telltale::Snapshot {
    telltale::Snapshot {
        families: vec![family],
    }
}

#[test]
fn a_source_s_histogram_is_read_from_its_classic_buckets() {
    use telltale::snapshot::{HistogramValue, MetricFamily, MetricKind, Series, Value};
    let fx = Fixture::new();
    let _registered = dynamic::histogram("agg_src_rt")
        .buckets(&[0.1, 0.5])
        .register()
        .unwrap();
    let window = Duration::from_secs(3);
    let _aggregator = fx.start(&[
        Rule::percentile("agg_src_rt", [50.0, 90.0]).window(window),
        Rule::new(RuleKind::Mean, "agg_src_rt").window(window),
    ]);
    // What a source reads: classic buckets only, growing by one batch (1
    // at most 0.1, 2 more at most 0.5, 1 more above; sum 1.5) a tick.
    for n in 1..=5_u64 {
        fx.windows.record(snapshot_of(MetricFamily {
            name: "agg_src_rt".into(),
            help: "Response time.".into(),
            unit: None,
            kind: MetricKind::Histogram,
            series: vec![Series {
                labels: vec![],
                value: Value::Histogram(HistogramValue {
                    count: 4 * n,
                    sum: 1.5 * n as f64,
                    buckets: vec![(0.1, n), (0.5, 3 * n)],
                    exponential: telltale::__private::histogram::ExpBuckets::default(),
                }),
                created: None,
            }],
        }));
        fx.clock.advance(Duration::from_secs(1));
    }
    // Three batches in the window: 3 <= 0.1, 9 <= 0.5, 12 in all.
    let p = |q: &str| value("agg_src_rt_percentile", &[("quantile", q)]);
    assert!(
        close(p("0.5"), 0.1 + 0.4 * (6.0 - 3.0) / 6.0),
        "{:?}",
        p("0.5")
    );
    assert!(
        close(p("0.9"), 0.5),
        "in the +Inf bucket: the highest bound, {:?}",
        p("0.9")
    );
    assert!(close(value("agg_src_rt_mean", &[]), 1.5 * 3.0 / 12.0));
}

#[test]
fn a_counter_first_seen_within_the_window_counts_from_zero() {
    use telltale::snapshot::{MetricFamily, MetricKind, Series, Value};
    let fx = Fixture::new();
    let _registered = dynamic::counter("agg_late_total")
        .required_labels(["id"])
        .register()
        .unwrap();
    let _aggregator =
        fx.start(&[Rule::new(RuleKind::Increase, "agg_late_total").window(Duration::from_secs(4))]);
    let series = |id: &str, v: f64| Series {
        labels: vec![("id".into(), id.to_owned().into())],
        value: Value::Counter(v),
        created: None,
    };
    for t in 0..6 {
        let mut all = vec![series("early", 10.0 * f64::from(t))];
        if t >= 3 {
            // Seen first at 3 (counting 3), then 5, then 9.
            all.push(series("late", [3.0, 5.0, 9.0][t as usize - 3]));
        }
        // Gone at 4, back at 5: a new run, counted from zero.
        if t != 4 {
            all.push(series(
                "gap",
                if t < 4 { 100.0 + f64::from(t) } else { 2.0 },
            ));
        }
        fx.windows.record(snapshot_of(MetricFamily {
            name: "agg_late".into(),
            help: "h".into(),
            unit: None,
            kind: MetricKind::Counter,
            series: all,
        }));
        fx.clock.advance(Duration::from_secs(1));
    }
    assert!(close(value("agg_late_increase", &[("id", "early")]), 40.0));
    assert!(
        close(value("agg_late_increase", &[("id", "late")]), 9.0),
        "{:?}",
        value("agg_late_increase", &[("id", "late")])
    );
    assert!(
        close(value("agg_late_increase", &[("id", "gap")]), 2.0),
        "{:?}",
        value("agg_late_increase", &[("id", "gap")])
    );
}

#[test]
fn tumbling_windows_with_ticks_between_boundaries() {
    let clock = MockClock::new(Duration::from_millis(20_000_300));
    let fx = Fixture {
        windows: Arc::new(Windows::with_clock(WindowConfig::default(), clock.clone())),
        clock,
    };
    let events = dynamic::counter("agg_offset_total").register().unwrap();
    let _aggregator = fx.start(&[Rule::new(RuleKind::Increase, "agg_offset_total")
        .tumbling(Duration::from_secs(10))
        .named("agg_offset_per_10s")]);
    // Ticks at 20,000.3, 20,001.3, ...: the store began within the bucket
    // [20,000, 20,010), which is never exported.
    for _ in 0..11 {
        events.inc().unwrap();
        fx.tick();
    }
    assert_eq!(
        value("agg_offset_per_10s", &[]),
        None,
        "a bucket the store began within"
    );
    // [20,010, 20,020): from the tick at 20,010.3 to the one at 20,020.3.
    for _ in 0..10 {
        events.inc_by(2).unwrap();
        fx.tick();
    }
    assert!(
        close(value("agg_offset_per_10s", &[]), 20.0),
        "{:?}",
        value("agg_offset_per_10s", &[])
    );
}
