// Bodies that never reach their end (a loop without `break`, a panic) under
// `#[tracked]`, run inline (with `#[track_caller]`) or in the closure: no
// warning, and a panic is still counted.

#![deny(warnings, unused_qualifications)]

use telltale::snapshot::Value;
use telltale::tracked;

#[tracked]
#[track_caller]
#[allow(dead_code)]
fn serve_forever() -> Result<(), String> {
    loop {
        std::thread::park();
    }
}

#[tracked]
#[allow(dead_code)]
fn run_forever() {
    loop {
        std::thread::park();
    }
}

#[tracked]
#[allow(dead_code)]
async fn serve_async() {
    loop {
        std::future::pending::<()>().await;
    }
}

#[tracked]
#[track_caller]
fn not_yet() -> Result<u8, String> {
    unimplemented!("not yet")
}

#[tracked]
fn not_yet_either() -> Result<u8, String> {
    unimplemented!("not yet")
}

#[tracked]
#[track_caller]
fn by_match(flag: bool) -> Result<u8, String> {
    match flag {
        true => Ok(1),
        false => panic!("refused"),
    }
}

fn errors(function: &str) -> f64 {
    let snapshot = telltale::Snapshot::collect();
    let calls = snapshot.family("function_calls").expect("function_calls");
    calls
        .series
        .iter()
        .filter(|s| s.label("function") == Some(function) && s.label("error") == Some("panic"))
        .map(|s| match s.value {
            Value::Counter(n) => n,
            _ => unreachable!("function_calls is a counter"),
        })
        .sum()
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    assert!(std::panic::catch_unwind(not_yet).is_err());
    assert!(std::panic::catch_unwind(not_yet_either).is_err());
    assert_eq!(by_match(true), Ok(1));
    assert!(std::panic::catch_unwind(|| by_match(false)).is_err());
    let _ = std::panic::take_hook();
    assert_eq!(errors("not_yet"), 1.0);
    assert_eq!(errors("not_yet_either"), 1.0);
    assert_eq!(errors("by_match"), 1.0);
}
