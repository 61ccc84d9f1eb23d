// Every argument, each on its own and all together.

#![deny(warnings, unused_qualifications)]

use telltale::{timed, tracked, LabelValue};

#[derive(Clone, Copy, Debug, LabelValue)]
enum Method {
    Get,
    Post,
}

/// Serves one request.
///
/// The doc comment becomes the HELP of the function's own series.
#[tracked(name = "http_handler", concurrency)]
fn serve(path: &str) -> Result<usize, std::io::Error> {
    Ok(path.len())
}

#[timed(name = "render_pass", help = "Time spent rendering one frame.")]
fn render() {}

#[timed(buckets = [0.0001, 0.001, 0.01, 1])]
fn quick() {}

#[tracked(labels(method = method, path = path))]
fn route(method: Method, path: &str) -> Result<(), String> {
    let _ = (method, path);
    Ok(())
}

fn is_positive(n: &i64) -> bool {
    *n > 0
}

#[tracked(ok_if = is_positive)]
fn balance(n: i64) -> i64 {
    n
}

#[tracked(error_if = Option::is_none)]
fn find(n: Option<u8>) -> Option<u8> {
    n
}

mod metrics {
    pub use telltale as runtime;
}

#[tracked(crate = metrics::runtime)]
fn through_reexport() -> Result<(), String> {
    Ok(())
}

/// Everything at once.
#[tracked(
    name = "everything",
    help = "All the arguments.",
    buckets = [0.5, 1.0, 2.5],
    concurrency,
    labels(method = method, r#type = "kind"),
    error_if = Option::is_none,
    crate = ::telltale,
)]
fn everything(method: Method) -> Option<()> {
    let _ = method;
    Some(())
}

fn main() {
    assert_eq!(serve("/").unwrap(), 1);
    render();
    quick();
    route(Method::Get, "/a").unwrap();
    route(Method::Post, "/b").unwrap();
    assert_eq!(balance(-1), -1);
    assert_eq!(find(None), None);
    through_reexport().unwrap();
    assert_eq!(everything(Method::Get), Some(()));

    let snapshot = telltale::Snapshot::collect();
    let handler = snapshot.family("http_handler").expect("own series");
    assert_eq!(
        handler.help,
        "Serves one request. The doc comment becomes the HELP of the function's own series."
    );
    assert!(snapshot.family("http_handler_concurrent").is_some());
    assert!(snapshot.family("render_pass_duration_seconds").is_some());
    let calls = snapshot.family("function_calls").expect("function_calls");
    assert!(calls
        .series
        .iter()
        .any(|s| s.label("function") == Some("route")
            && s.label("method") == Some("post")
            && s.label("path") == Some("/b")));
    assert!(
        calls
            .series
            .iter()
            .any(|s| s.label("function") == Some("balance")
                && s.label("error") == Some("is_positive"))
    );
    assert!(calls
        .series
        .iter()
        .any(|s| s.label("function") == Some("find") && s.label("error") == Some("is_none")));
    let everything = snapshot.family("everything").expect("everything");
    assert!(everything
        .series
        .iter()
        .any(|s| s.label("type") == Some("kind")));
}
