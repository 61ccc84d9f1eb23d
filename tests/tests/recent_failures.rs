//! `tracker::recent_failures()` lists every failed call, whatever recorded
//! it: `#[tracked]` functions and methods (their panics too), timers with
//! their metadata, `timer::record` and the tracker API; bounded to the last
//! `RECENT_FAILURES`, oldest first, from any number of threads.

use std::time::{Duration, SystemTime};

use telltale::tracker::{self, Failure, RECENT_FAILURES};
use telltale::{timer, tracked, LabelValue};

#[derive(Debug, LabelValue)]
enum StockError {
    OutOfStock,
}

#[tracked]
fn recent_reserve(n: u32) -> Result<u32, StockError> {
    if n == 0 {
        Err(StockError::OutOfStock)
    } else {
        Ok(n)
    }
}

#[tracked]
fn recent_parse(input: &str) -> Result<u32, std::num::ParseIntError> {
    input.parse()
}

#[tracked]
fn recent_panics() -> Result<(), StockError> {
    panic!("recent_panics panics");
}

struct RecentStore {
    stock: u8,
}

#[tracked]
impl RecentStore {
    fn recent_get(&self) -> Result<u8, StockError> {
        if self.stock == 0 {
            Err(StockError::OutOfStock)
        } else {
            Ok(self.stock)
        }
    }
}

#[tracked]
async fn recent_fetch() -> Result<(), StockError> {
    Err(StockError::OutOfStock)
}

fn of(operation: &str) -> Vec<Failure> {
    tracker::recent_failures()
        .into_iter()
        .filter(|f| f.operation == operation)
        .collect()
}

/// One test, so that no other test of this binary fills the list meanwhile.
#[test]
fn every_failed_call_is_listed_whatever_recorded_it() {
    let before = SystemTime::now();
    recent_reserve(1).unwrap();
    recent_reserve(0).unwrap_err();
    recent_parse("x").unwrap_err();
    recent_parse("7").unwrap();
    std::panic::catch_unwind(recent_panics).unwrap_err();
    RecentStore { stock: 0 }.recent_get().unwrap_err();
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(recent_fetch())
        .unwrap_err();
    drop(
        timer::start("recent_upload")
            .with_metadata("path", "/srv/a.bin")
            .failure("disk_full"),
    );
    drop(timer::start("recent_upload").success());
    drop(timer::start("recent_upload").stop(false));
    timer::record("recent_measured", Duration::from_millis(3), Err("timeout"));
    timer::record("recent_measured", Duration::from_millis(3), Ok(()));
    tracker::record_failure("recent_api", "conflict", &[("remote", "origin")]);
    let after = SystemTime::now();

    // Successes are not listed; each failure once, with its kind as exported.
    let kinds = |op: &str| of(op).into_iter().map(|f| f.kind).collect::<Vec<_>>();
    assert_eq!(kinds("recent_reserve"), ["out_of_stock"]);
    assert_eq!(kinds("recent_parse"), ["ParseIntError"]);
    assert_eq!(kinds("recent_panics"), ["panic"]);
    assert_eq!(kinds("RecentStore::recent_get"), ["out_of_stock"]);
    assert_eq!(kinds("recent_fetch"), ["out_of_stock"]);
    assert_eq!(kinds("recent_upload"), ["disk_full", "error"]);
    assert_eq!(kinds("recent_measured"), ["timeout"]);
    assert_eq!(kinds("recent_api"), ["conflict"]);
    // Metadata where the caller gave some.
    let upload = &of("recent_upload")[0];
    assert_eq!(
        upload.metadata,
        [("path".to_owned(), "/srv/a.bin".to_owned())]
    );
    assert!(of("recent_reserve")[0].metadata.is_empty());
    // Times within the test, oldest first across the ways of recording.
    let all = tracker::recent_failures();
    let ours: Vec<&Failure> = all
        .iter()
        .filter(|f| f.operation.starts_with("recent_") || f.operation.starts_with("RecentStore"))
        .collect();
    assert_eq!(ours.len(), 9, "{ours:?}");
    // The clocks of calls and of API records are read apart: allow a
    // millisecond either side.
    let slack = Duration::from_millis(1);
    for f in &ours {
        assert!(f.at + slack >= before && f.at <= after + slack, "{f:?}");
    }
    for pair in all.windows(2) {
        assert!(pair[0].at <= pair[1].at, "{pair:?}");
    }
    let order: Vec<&str> = ours.iter().map(|f| f.operation.as_str()).collect();
    assert_eq!(order.first(), Some(&"recent_reserve"));
    assert_eq!(order.last(), Some(&"recent_api"));

    // Bounded: many threads failing many times keep the last
    // RECENT_FAILURES, each one complete.
    let threads: Vec<_> = (0..12)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..1_000 {
                    recent_reserve(0).unwrap_err();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    recent_parse("last").unwrap_err();
    let all = tracker::recent_failures();
    assert_eq!(all.len(), RECENT_FAILURES);
    assert!(all.iter().all(
        |f| (f.operation == "recent_reserve" && f.kind == "out_of_stock")
            || f.operation == "recent_parse"
    ));
    assert_eq!(all.last().unwrap().operation, "recent_parse");
}
