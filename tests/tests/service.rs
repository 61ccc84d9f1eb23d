//! The service loop: counts by result, the failure-streak gauge, durations,
//! schedules, shutdown, the failure limit and panics, on a paused clock.
#![allow(clippy::float_cmp)] // counts and streaks compared are whole numbers

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use telltale::service::{run_forever, Schedule, ServiceConfig, ServiceSummary};
use telltale::snapshot::{HistogramValue, Value};
use telltale::Snapshot;
use tokio::sync::watch;
use tokio::time::{sleep, Instant};

/// The value of `family`'s series for `service` (and `result`, if given).
fn value(family: &str, service: &str, result: Option<&str>) -> Option<Value> {
    let snapshot = Snapshot::collect();
    let family = snapshot.family(family)?;
    family
        .series
        .iter()
        .find(|s| s.label("service") == Some(service) && s.label("result") == result)
        .map(|s| s.value.clone())
}

fn number(family: &str, service: &str, result: Option<&str>) -> f64 {
    match value(family, service, result) {
        Some(Value::Counter(v) | Value::Gauge(v)) => v,
        other => panic!("{family}{{service={service}}}: {other:?}"),
    }
}

fn cycles(service: &str, result: &str) -> f64 {
    number("service_cycles", service, Some(result))
}

fn streak(service: &str) -> f64 {
    number("service_consecutive_failures", service, None)
}

fn durations(service: &str) -> HistogramValue {
    match value("service_cycle_duration_seconds", service, None) {
        Some(Value::Histogram(h)) => h,
        other => panic!("durations of {service}: {other:?}"),
    }
}

/// A shutdown signal the cycle can pull, and the future the loop watches.
fn shutdown_pair() -> (watch::Sender<bool>, impl Future<Output = ()>) {
    let (tx, mut rx) = watch::channel(false);
    (tx, async move {
        rx.changed().await.ok();
    })
}

/// Runs `script` (one outcome per cycle, each cycle taking `took`) and
/// stops after its last cycle; records the streak gauge seen as each cycle
/// starts.
async fn run_script(
    config: &ServiceConfig,
    script: &[Result<(), &'static str>],
    took: Duration,
) -> (
    Result<ServiceSummary, telltale::service::TooManyFailures<&'static str>>,
    Vec<f64>,
) {
    let (stop, shutdown) = shutdown_pair();
    let seen = RefCell::new(Vec::new());
    let mut calls = 0;
    let name = config.name().to_owned();
    let out = run_forever(config, shutdown, || {
        seen.borrow_mut().push(streak(&name));
        let outcome = script[calls];
        calls += 1;
        if calls == script.len() {
            stop.send(true).unwrap();
        }
        async move {
            sleep(took).await;
            outcome
        }
    })
    .await;
    (out, seen.into_inner())
}

#[tokio::test(start_paused = true)]
async fn scripted_cycles_are_counted_by_result_with_the_failure_streak() {
    let script = [
        Ok(()),
        Err("a"),
        Err("b"),
        Ok(()),
        Err("c"),
        Err("d"),
        Err("e"),
        Ok(()),
        Err("f"),
    ];
    let config = ServiceConfig::new("svc_scripted", Duration::from_secs(1));
    let (out, seen) = run_script(&config, &script, Duration::from_millis(200)).await;
    let summary = out.unwrap();
    assert_eq!(
        (
            summary.cycles,
            summary.failures,
            summary.consecutive_failures,
            summary.interrupted
        ),
        (9, 6, 1, false)
    );
    assert_eq!(cycles("svc_scripted", "ok"), 3.0);
    assert_eq!(cycles("svc_scripted", "error"), 6.0);
    // The streak as each cycle starts: after the cycle before it.
    assert_eq!(seen, [0.0, 0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 3.0, 0.0]);
    assert_eq!(streak("svc_scripted"), 1.0, "the last cycle failed");

    let h = durations("svc_scripted");
    assert_eq!(h.count, 9);
    assert!((h.sum - 9.0 * 0.2).abs() < 0.01, "sum {}", h.sum);
    let last_ok = number(
        "service_last_success_timestamp_seconds",
        "svc_scripted",
        None,
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(last_ok > now - 60.0 && last_ok <= now, "{last_ok} vs {now}");
}

#[tokio::test(start_paused = true)]
async fn series_appear_at_zero_and_an_early_shutdown_runs_no_cycle() {
    let config = ServiceConfig::new("svc_idle", Duration::from_secs(1));
    let summary = run_forever(&config, async {}, || async { Ok::<(), &str>(()) })
        .await
        .unwrap();
    assert_eq!(summary, ServiceSummary::default());
    assert_eq!(cycles("svc_idle", "ok"), 0.0);
    assert_eq!(cycles("svc_idle", "error"), 0.0);
    assert_eq!(streak("svc_idle"), 0.0);
    assert_eq!(durations("svc_idle").count, 0);
    let text = telltale::render(telltale::Format::Prometheus);
    assert!(text.contains(r#"service_consecutive_failures{service="svc_idle"} 0"#));
    assert!(text.contains(r#"service_cycles_total{service="svc_idle",result="error"} 0"#));
}

#[tokio::test(start_paused = true)]
async fn shutdown_while_waiting_stops_at_once() {
    let config = ServiceConfig::new("svc_waiting", Duration::from_hours(1));
    let t0 = Instant::now();
    let summary = run_forever(&config, sleep(Duration::from_secs(10)), || async {
        sleep(Duration::from_secs(1)).await;
        Ok::<(), &str>(())
    })
    .await
    .unwrap();
    assert_eq!(summary.cycles, 1);
    assert_eq!(t0.elapsed(), Duration::from_secs(10), "not the hour's wait");
    assert_eq!(cycles("svc_waiting", "ok"), 1.0);
}

#[tokio::test(start_paused = true)]
async fn shutdown_during_a_cycle_lets_it_finish_by_default() {
    let config = ServiceConfig::new("svc_finish", Duration::from_secs(1));
    let t0 = Instant::now();
    let summary = run_forever(&config, sleep(Duration::from_secs(1)), || async {
        sleep(Duration::from_secs(5)).await;
        Err::<(), _>("late")
    })
    .await
    .unwrap();
    assert_eq!((summary.cycles, summary.failures), (1, 1));
    assert!(!summary.interrupted);
    assert_eq!(t0.elapsed(), Duration::from_secs(5));
    assert_eq!(cycles("svc_finish", "error"), 1.0);
    assert_eq!(streak("svc_finish"), 1.0);
    assert_eq!(durations("svc_finish").count, 1);
}

#[tokio::test(start_paused = true)]
async fn cancel_on_shutdown_drops_the_running_cycle_unrecorded() {
    let config = ServiceConfig::new("svc_cancel", Duration::from_secs(1)).cancel_on_shutdown(true);
    let t0 = Instant::now();
    let summary = run_forever(&config, sleep(Duration::from_millis(2500)), || async {
        sleep(Duration::from_secs(1)).await;
        Ok::<(), &str>(())
    })
    .await
    .unwrap();
    // Cycles at 0 s and 2 s; the second is cancelled at 2.5 s.
    assert_eq!((summary.cycles, summary.interrupted), (1, true));
    assert_eq!(t0.elapsed(), Duration::from_millis(2500));
    assert_eq!(cycles("svc_cancel", "ok"), 1.0);
    assert_eq!(durations("svc_cancel").count, 1);
}

#[tokio::test(start_paused = true)]
async fn two_services_keep_separate_series() {
    let a = ServiceConfig::new("svc_pair_a", Duration::from_millis(100));
    let b = ServiceConfig::new("svc_pair_b", Duration::from_millis(300));
    let ((ra, _), (rb, _)) = tokio::join!(
        run_script(&a, &[Ok(()), Ok(()), Err("x")], Duration::from_millis(10)),
        run_script(&b, &[Err("y"), Err("z")], Duration::from_millis(50)),
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!((ra.cycles, ra.failures), (3, 1));
    assert_eq!((rb.cycles, rb.failures), (2, 2));
    assert_eq!(cycles("svc_pair_a", "ok"), 2.0);
    assert_eq!(cycles("svc_pair_a", "error"), 1.0);
    assert_eq!(cycles("svc_pair_b", "ok"), 0.0);
    assert_eq!(cycles("svc_pair_b", "error"), 2.0);
    assert_eq!(streak("svc_pair_a"), 1.0);
    assert_eq!(streak("svc_pair_b"), 2.0);
    assert_eq!(durations("svc_pair_a").count, 3);
    assert_eq!(durations("svc_pair_b").count, 2);
    assert!((durations("svc_pair_b").sum - 0.1).abs() < 0.005);
    // No success yet: the timestamp is exported at zero.
    assert_eq!(
        number("service_last_success_timestamp_seconds", "svc_pair_b", None),
        0.0
    );
}

#[tokio::test(start_paused = true)]
async fn the_failure_limit_stops_the_loop_with_the_last_error() {
    let script = [
        Ok(()),
        Err("a"),
        Err("b"),
        Ok(()),
        Err("c"),
        Err("d"),
        Err("e"),
        Ok(()), // never run
    ];
    let config =
        ServiceConfig::new("svc_limit", Duration::from_secs(1)).max_consecutive_failures(3);
    let (out, seen) = run_script(&config, &script, Duration::ZERO).await;
    let err = out.unwrap_err();
    assert_eq!(err.last_error, "e");
    assert_eq!(
        (
            err.summary.cycles,
            err.summary.failures,
            err.summary.consecutive_failures
        ),
        (7, 5, 3)
    );
    assert_eq!(seen.len(), 7);
    assert_eq!(streak("svc_limit"), 3.0, "the streak stays at the stop");
    assert_eq!(cycles("svc_limit", "error"), 5.0);
    assert_eq!(
        err.to_string(),
        "service loop stopped after 3 consecutive failures; last error: e"
    );
}

/// Start times (from the first start) of four cycles taking `took` each.
async fn starts(name: &str, schedule: Schedule, took: Duration) -> Vec<Duration> {
    let config = ServiceConfig::new(name, Duration::from_secs(1)).schedule(schedule);
    let (stop, shutdown) = shutdown_pair();
    let t0 = Instant::now();
    let seen = Rc::new(RefCell::new(Vec::new()));
    run_forever(&config, shutdown, || {
        seen.borrow_mut().push(t0.elapsed());
        if seen.borrow().len() == 4 {
            stop.send(true).unwrap();
        }
        async move {
            sleep(took).await;
            Ok::<(), &str>(())
        }
    })
    .await
    .unwrap();
    Rc::try_unwrap(seen).unwrap().into_inner()
}

#[tokio::test(start_paused = true)]
async fn fixed_delay_waits_after_each_cycle_and_fixed_rate_keeps_the_beat() {
    let ms = Duration::from_millis;
    assert_eq!(
        starts("svc_delay", Schedule::FixedDelay, ms(300)).await,
        [ms(0), ms(1300), ms(2600), ms(3900)]
    );
    assert_eq!(
        starts("svc_rate", Schedule::FixedRate, ms(300)).await,
        [ms(0), ms(1000), ms(2000), ms(3000)]
    );
    // An overrun starts the next cycle at once; missed beats are skipped.
    assert_eq!(
        starts("svc_overrun", Schedule::FixedRate, ms(2500)).await,
        [ms(0), ms(2500), ms(5000), ms(7500)]
    );
}

#[tokio::test(start_paused = true)]
async fn a_panicking_cycle_is_recorded_then_propagates() {
    let task = tokio::spawn(async {
        let config = ServiceConfig::new("svc_panic", Duration::from_secs(1));
        let mut calls = 0;
        run_forever(&config, std::future::pending(), || {
            calls += 1;
            let n = calls;
            async move {
                sleep(Duration::from_millis(100)).await;
                assert!(n < 2, "cycle {n} panics");
                Ok::<(), &str>(())
            }
        })
        .await
    });
    let err = task.await.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(cycles("svc_panic", "ok"), 1.0);
    assert_eq!(cycles("svc_panic", "error"), 1.0);
    assert_eq!(streak("svc_panic"), 1.0);
    assert_eq!(durations("svc_panic").count, 2);
}
