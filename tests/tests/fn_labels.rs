//! `#[timed(labels = expr)]` / `#[tracked(labels = expr)]`: the label set
//! computed from the arguments at entry keys the function's series, its
//! labels after `function` and `module`.
//!
//! Every test instruments functions of its own (`fn_labels_*`): the registry
//! is global and tests run in parallel.

use telltale::snapshot::{Series, Value};
use telltale::{timed, tracked, LabelSet, LabelValue, Snapshot};

#[derive(Clone, Copy, Debug, LabelValue)]
enum Method {
    Get,
    Post,
}

#[derive(LabelSet)]
struct Route {
    method: Method,
}

#[derive(LabelSet)]
struct Page<'a> {
    #[label(flatten)]
    route: Route,
    #[label(rename = "page")]
    path: &'a str,
}

#[derive(Debug, LabelValue)]
enum FetchError {
    Timeout,
}

/// The series of `family` for `function`, each as its label pairs and value.
fn series_of(family: &str, function: &str) -> Vec<(Vec<(String, String)>, Value)> {
    let snapshot = Snapshot::collect();
    let Some(family) = snapshot.family(family) else {
        return Vec::new();
    };
    family
        .series
        .iter()
        .filter(|s| s.label("function") == Some(function))
        .map(|s: &Series| {
            (
                s.labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                s.value.clone(),
            )
        })
        .collect()
}

/// `function_calls_total` of `function` with `labels`, by `result` and `error`.
fn calls(function: &str, labels: &[(&str, &str)], result: &str, error: &str) -> u64 {
    let snapshot = Snapshot::collect();
    let Some(family) = snapshot.family("function_calls") else {
        return 0;
    };
    family
        .series
        .iter()
        .filter(|s| s.label("function") == Some(function))
        .filter(|s| labels.iter().all(|(k, v)| s.label(k) == Some(v)))
        .filter(|s| s.label("result") == Some(result) && s.label("error") == Some(error))
        .map(|s| match s.value {
            Value::Counter(n) => n as u64,
            ref other => panic!("function_calls is a counter, got {other:?}"),
        })
        .sum()
}

fn names(labels: &[(String, String)]) -> Vec<&str> {
    labels.iter().map(|(k, _)| k.as_str()).collect()
}

#[tracked(labels = Route { method: m })]
fn fn_labels_route(m: Method, fail: bool) -> Result<(), FetchError> {
    if fail {
        Err(FetchError::Timeout)
    } else {
        Ok(())
    }
}

#[test]
fn tracked_series_carry_the_set_labels() {
    fn_labels_route(Method::Get, false).unwrap();
    fn_labels_route(Method::Get, false).unwrap();
    fn_labels_route(Method::Post, false).unwrap();
    fn_labels_route(Method::Post, true).unwrap_err();

    let get = [("method", "get")];
    let post = [("method", "post")];
    assert_eq!(calls("fn_labels_route", &get, "ok", ""), 2);
    assert_eq!(calls("fn_labels_route", &get, "error", "timeout"), 0);
    assert_eq!(calls("fn_labels_route", &post, "ok", ""), 1);
    assert_eq!(calls("fn_labels_route", &post, "error", "timeout"), 1);

    let series = series_of("function_calls", "fn_labels_route");
    assert!(!series.is_empty());
    for (labels, _) in &series {
        assert_eq!(
            names(labels),
            ["function", "module", "method", "result", "error"]
        );
        assert_eq!(labels[1].1, module_path!());
    }
    let durations = series_of("function_calls_duration_seconds", "fn_labels_route");
    let mut methods: Vec<&str> = durations
        .iter()
        .map(|(labels, _)| {
            assert_eq!(names(labels), ["function", "module", "method"]);
            labels[2].1.as_str()
        })
        .collect();
    methods.sort_unstable();
    assert_eq!(methods, ["get", "post"]);
    for (_, value) in &durations {
        let Value::Histogram(h) = value else {
            panic!("durations are a histogram")
        };
        assert!(h.count == 2, "two calls per method, got {}", h.count);
    }
}

#[timed(labels = Page { route: Route { method }, path }, concurrency)]
fn fn_labels_page(method: Method, path: &str) -> usize {
    path.len()
}

#[test]
fn timed_series_carry_flattened_and_renamed_labels() {
    assert_eq!(fn_labels_page(Method::Post, "/a"), 2);
    assert_eq!(fn_labels_page(Method::Post, "/b"), 2);
    assert_eq!(fn_labels_page(Method::Post, "/b"), 2);

    let durations = series_of("function_calls_duration_seconds", "fn_labels_page");
    let mut seen: Vec<(String, u64)> = durations
        .iter()
        .map(|(labels, value)| {
            assert_eq!(names(labels), ["function", "module", "method", "page"]);
            assert_eq!(labels[2].1, "post");
            let Value::Histogram(h) = value else {
                panic!("durations are a histogram")
            };
            (labels[3].1.clone(), h.count)
        })
        .collect();
    seen.sort();
    assert_eq!(seen, [("/a".to_owned(), 1), ("/b".to_owned(), 2)]);

    let in_flight = series_of("function_calls_concurrent", "fn_labels_page");
    assert_eq!(in_flight.len(), 2);
    for (labels, value) in in_flight {
        assert_eq!(names(&labels), ["function", "module", "method", "page"]);
        assert_eq!(value, Value::Gauge(0.0));
    }
}

#[tracked(labels = Route { method: if body.is_empty() { Method::Get } else { Method::Post } })]
async fn fn_labels_async(body: Vec<u8>) -> Result<usize, std::io::Error> {
    tokio::task::yield_now().await;
    Ok(body.len())
}

#[test]
fn async_functions_compute_the_set_at_entry() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(fn_labels_async(Vec::new())).unwrap(), 0);
    assert_eq!(rt.block_on(fn_labels_async(vec![1, 2])).unwrap(), 2);
    assert_eq!(rt.block_on(fn_labels_async(vec![3])).unwrap(), 1);
    assert_eq!(calls("fn_labels_async", &[("method", "get")], "ok", ""), 1);
    assert_eq!(calls("fn_labels_async", &[("method", "post")], "ok", ""), 2);
}

struct Handler {
    method: Method,
}

#[tracked(labels = Route { method: self.method })]
impl Handler {
    fn fn_labels_handle(&self, ok: bool) -> Result<(), FetchError> {
        if ok {
            Ok(())
        } else {
            Err(FetchError::Timeout)
        }
    }
}

#[test]
fn impl_blocks_give_every_method_the_set() {
    let get = Handler {
        method: Method::Get,
    };
    get.fn_labels_handle(true).unwrap();
    get.fn_labels_handle(false).unwrap_err();
    let function = "Handler::fn_labels_handle";
    assert_eq!(calls(function, &[("method", "get")], "ok", ""), 1);
    assert_eq!(calls(function, &[("method", "get")], "error", "timeout"), 1);
}

#[tracked(labels = Route { method: Method::Get })]
fn fn_labels_rendered() -> Result<(), FetchError> {
    Ok(())
}

#[test]
fn the_labels_reach_the_exposition() {
    fn_labels_rendered().unwrap();
    let text = telltale::render(telltale::Format::Prometheus);
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("function_calls_total{") && l.contains(r#"function="fn_labels_rendered""#)
        })
        .expect("a function_calls_total line");
    assert!(
        line.contains(&format!(
            r#"function="fn_labels_rendered",module="{}",method="get",result="ok",error="""#,
            module_path!()
        )),
        "{line}"
    );
}
