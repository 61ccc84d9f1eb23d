// `labels = expr`: a label set computed from the arguments, on #[timed] and
// #[tracked], sync and async, free fns, methods and impl blocks; the series
// carry its labels after `function` and `module`.

#![deny(warnings, unused_qualifications)]

use telltale::{timed, tracked, LabelSet, LabelValue};

#[derive(Clone, Copy, Debug, LabelValue)]
enum Method {
    Get,
    Post,
}

#[derive(LabelSet)]
struct Route<'a> {
    method: Method,
    path: &'a str,
}

#[derive(LabelSet)]
struct Tenant {
    tenant: u32,
}

#[tracked(labels = Route { method, path })]
fn serve(method: Method, path: &str) -> Result<usize, String> {
    if path.is_empty() {
        return Err("empty".to_owned());
    }
    Ok(path.len())
}

#[timed(labels = Tenant { tenant: id % 10 }, concurrency)]
fn render(id: u32) -> u32 {
    id
}

#[tracked(labels = Route { method: Method::Get, path: &url[..1] }, error_if = Option::is_none)]
async fn fetch(url: String) -> Option<usize> {
    Some(url.len())
}

// A method: the set may read `self`.
struct Shard {
    id: u32,
}

impl Shard {
    #[timed(labels = Tenant { tenant: self.id })]
    fn flush(&self) -> u32 {
        self.id
    }
}

// An impl block: every method gets the block's labels.
struct Store;

#[tracked(labels = Tenant { tenant: 7 })]
impl Store {
    fn get(&self, key: u32) -> Result<u32, std::num::TryFromIntError> {
        u8::try_from(key).map(u32::from)
    }

    fn put(&self, key: u32) {
        let _ = key;
    }
}

// A label set held in a variable or built by a function.
fn route_of(path: &str) -> Route<'_> {
    Route {
        method: Method::Post,
        path,
    }
}

#[tracked(labels = route_of(path))]
fn post(path: &str) -> Result<(), std::io::Error> {
    let _ = path;
    Ok(())
}

fn main() {
    assert_eq!(serve(Method::Get, "/a"), Ok(2));
    serve(Method::Post, "").unwrap_err();
    assert_eq!(render(42), 42);
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(rt.block_on(fetch("/x".to_owned())), Some(2));
    assert_eq!(Shard { id: 3 }.flush(), 3);
    assert_eq!(Store.get(1).unwrap(), 1);
    Store.get(1000).unwrap_err();
    Store.put(1);
    post("/p").unwrap();

    let snapshot = telltale::Snapshot::collect();
    let calls = snapshot.family("function_calls").expect("function_calls");
    let find = |function: &str, result: &str| {
        calls
            .series
            .iter()
            // Not the kinds at zero every labeled series has from the start.
            .find(|s| {
                s.label("function") == Some(function)
                    && s.label("result") == Some(result)
                    && s.value != telltale::snapshot::Value::Counter(0.0)
            })
            .unwrap_or_else(|| panic!("no {function} {result} series"))
    };
    let names = |s: &telltale::snapshot::Series| -> Vec<String> {
        s.labels.iter().map(|(k, _)| k.to_string()).collect()
    };
    let ok = find("serve", "ok");
    assert_eq!(ok.label("method"), Some("get"));
    assert_eq!(ok.label("path"), Some("/a"));
    assert_eq!(
        names(ok),
        ["function", "module", "method", "path", "result", "error"]
    );
    let error = find("serve", "error");
    assert_eq!(error.label("method"), Some("post"));
    assert_eq!(error.label("path"), Some(""));
    assert_eq!(find("fetch", "ok").label("path"), Some("/"));
    assert_eq!(find("Store::get", "error").label("tenant"), Some("7"));
    assert_eq!(find("post", "ok").label("method"), Some("post"));

    let durations = snapshot
        .family("function_calls_duration_seconds")
        .expect("durations");
    for (function, label, value) in [
        ("render", "tenant", "2"),
        ("flush", "tenant", "3"),
        ("Store::put", "tenant", "7"),
    ] {
        assert!(
            durations
                .series
                .iter()
                .any(|s| s.label("function") == Some(function) && s.label(label) == Some(value)),
            "{function} {label}={value}"
        );
    }
    assert!(snapshot.family("function_calls_concurrent").is_some());
}
