// `#[track_caller]` keeps working under `#[tracked]` when the body can only
// end at its tail: the body runs in the function's own frame, so the
// location it reports (and a panic inside it) is the caller's. The outcome
// is still classified.

#![deny(warnings, unused_qualifications)]

use std::panic::Location;

use telltale::snapshot::Value;
use telltale::{tracked, LabelValue};

#[derive(Debug, LabelValue)]
enum CheckError {
    Missing,
}

#[tracked]
#[track_caller]
fn checked(value: Option<u8>) -> Result<&'static Location<'static>, CheckError> {
    match value {
        Some(_) => Ok(Location::caller()),
        None => Err(CheckError::Missing),
    }
}

struct Store;

#[tracked]
impl Store {
    #[track_caller]
    fn get(&self) -> &'static Location<'static> {
        // A standard macro keeps the body inline.
        let _ = format!("{}", 1 + 1);
        Location::caller()
    }
}

// `#[track_caller]` above `#[tracked]` is seen too.
#[track_caller]
#[tracked]
fn first(values: &[u8]) -> u8 {
    // Option::expect is #[track_caller] too: its panic names `first`'s caller.
    *values.first().expect("a value")
}

fn calls(function: &str, result: &str) -> f64 {
    let snapshot = telltale::Snapshot::collect();
    let calls = snapshot.family("function_calls").expect("function_calls");
    calls
        .series
        .iter()
        .filter(|s| s.label("function") == Some(function) && s.label("result") == Some(result))
        .map(|s| match s.value {
            Value::Counter(n) => n,
            _ => unreachable!("function_calls is a counter"),
        })
        .sum()
}

fn main() {
    let (location, line) = (checked(Some(1)).unwrap(), line!());
    assert_eq!((location.file(), location.line()), (file!(), line));
    assert!(matches!(checked(None), Err(CheckError::Missing)));
    assert_eq!(calls("checked", "ok"), 1.0);
    assert_eq!(calls("checked", "error"), 1.0);

    let (location, line) = (Store.get(), line!());
    assert_eq!((location.file(), location.line()), (file!(), line));
    assert_eq!(calls("Store::get", "ok"), 1.0);

    let hook_location = std::sync::Arc::new(std::sync::Mutex::new(None));
    let seen = hook_location.clone();
    std::panic::set_hook(Box::new(move |info| {
        *seen.lock().unwrap() = info.location().map(|l| (l.file().to_owned(), l.line()));
    }));
    let (panicked, line) = (std::panic::catch_unwind(|| first(&[])), line!());
    let _ = std::panic::take_hook();
    assert!(panicked.is_err());
    assert_eq!(
        hook_location.lock().unwrap().clone(),
        Some((file!().to_owned(), line))
    );
    assert_eq!(calls("first", "ok"), 0.0);
    assert_eq!(calls("first", "error"), 1.0);
}
