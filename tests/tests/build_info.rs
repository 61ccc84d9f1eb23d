//! What `build_info` says without `telltale::build_info!()`, and with it.
//! One test: the binary's first render must be the one without.

use telltale::snapshot::Series;
use telltale::Snapshot;

fn build_info() -> Series {
    Snapshot::collect()
        .family("build_info")
        .expect("build_info is always exported")
        .series[0]
        .clone()
}

#[test]
fn build_info_labels_without_and_with_the_macro() {
    let before = build_info();
    // Not called: version, commit and branch are empty; the service is the
    // executable's name (or OTEL_SERVICE_NAME); telltale_version is telltale's.
    assert_eq!(before.label("version"), Some(""));
    assert_eq!(before.label("commit"), Some(""));
    assert_eq!(before.label("branch"), Some(""));
    let exe = std::env::current_exe().unwrap();
    let stem = exe.file_stem().unwrap().to_string_lossy().into_owned();
    let expected = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or(stem);
    assert_eq!(before.label("service_name"), Some(expected.as_str()));
    assert!(before
        .label("telltale_version")
        .is_some_and(|v| !v.is_empty()));

    telltale::build_info!();
    let after = build_info();
    assert_eq!(after.label("version"), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(after.label("service_name"), Some(env!("CARGO_PKG_NAME")));
    assert_eq!(
        after.label("commit"),
        Some(option_env!("TELLTALE_COMMIT").unwrap_or(""))
    );
}
