//! Aggregation rules, one tick's evaluation:
//!
//! | bench | what |
//! |---|---|
//! | `rules_100_over_10k` | 100 rules (50 `rate` of counters, 25 `mean` and 25 simple `moving_average` of gauges) over 10,000 series, each rule matching one family of 100 series |
//! | `rules_10_each_10k` | 10 `rate` rules, each over one family of 10,000 series: ten times the rule-series of the first, to show the cost is linear in rules × series |
//! | `tick_10k` | the tick the rules follow: a snapshot of the same registry and its frame |
//!
//! Windows of 60 s over 61 ticks of a mock clock; the rules read each
//! series at the window's two ends. Target: the first under 5 ms.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use telltale::aggregate::{self, Rule, RuleKind};
use telltale::dynamic;
use telltale::window::{MockClock, WindowConfig, Windows};

fn bench(c: &mut Criterion) {
    // 50 counter families and 50 gauge families of 100 series each.
    let mut counters = Vec::new();
    let mut gauges = Vec::new();
    for f in 0..50 {
        counters.push(
            dynamic::counter(format!("bench_agg_c{f}_total"))
                .required_labels(["id"])
                .register()
                .expect("counter"),
        );
        gauges.push(
            dynamic::gauge(format!("bench_agg_g{f}"))
                .required_labels(["id"])
                .register()
                .expect("gauge"),
        );
    }
    let big = dynamic::counter("bench_agg_big_total")
        .required_labels(["id"])
        .cap(20_000)
        .register()
        .expect("counter");
    let clock = MockClock::new(Duration::from_secs(1_000));
    let windows = Arc::new(Windows::with_clock(WindowConfig::default(), clock.clone()));
    let window = Duration::from_mins(1);
    let mut rules = Vec::new();
    for f in 0..50 {
        rules.push(Rule::rate(format!("bench_agg_c{f}_total")).window(window));
    }
    for f in 0..50 {
        let kind = if f % 2 == 0 {
            RuleKind::Mean
        } else {
            RuleKind::MovingAverage
        };
        rules.push(Rule::new(kind, format!("bench_agg_g{f}")).window(window));
    }
    // Record the series, then 61 ticks of history (the big family is
    // registered but empty, so the first bench does not read it).
    for tick in 0..61_u32 {
        for (f, (counter, gauge)) in counters.iter().zip(&gauges).enumerate() {
            for id in 0..100_u32 {
                let id = id.to_string();
                counter
                    .labels([("id", id.as_str())])
                    .inc_by(u64::from(tick) + f as u64)
                    .expect("inc");
                gauge
                    .labels([("id", id.as_str())])
                    .set(f64::from(tick))
                    .expect("set");
            }
        }
        windows.tick();
        clock.advance(Duration::from_secs(1));
    }
    let aggregator = aggregate::start(&windows, &rules).expect("rules");
    aggregator.evaluate(&windows);
    assert_eq!(
        aggregator.status().iter().map(|s| s.series).sum::<usize>(),
        10_000
    );

    let mut group = c.benchmark_group("aggregate_tick");
    group.bench_function("rules_100_over_10k", |b| {
        b.iter(|| aggregator.evaluate(black_box(&windows)));
    });
    group.bench_function("tick_10k", |b| {
        b.iter(|| {
            clock.advance(Duration::from_secs(1));
            windows.record(telltale::Snapshot::collect());
        });
    });
    aggregator.stop();

    for id in 0..10_000_u32 {
        big.labels([("id", id.to_string())]).inc().expect("inc");
    }
    for _ in 0..61 {
        windows.tick();
        clock.advance(Duration::from_secs(1));
    }
    let ten: Vec<Rule> = (0..10)
        .map(|i| {
            Rule::rate("bench_agg_big_total")
                .window(window)
                .named(format!("bench_agg_big_rate_{i}"))
        })
        .collect();
    let wide = aggregate::start(&windows, &ten).expect("rules");
    wide.evaluate(&windows);
    assert_eq!(
        wide.status().iter().map(|s| s.series).sum::<usize>(),
        100_000
    );
    group.bench_function("rules_10_each_10k", |b| {
        b.iter(|| wide.evaluate(black_box(&windows)));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
