//! The `build_info` gauge: always 1, labelled with what was built.

use std::sync::RwLock;

use crate::collect::registry::{Collect, Desc, Registration, Sink};
use crate::collect::snapshot::{MetricKind, Value};

/// What the `build_info` series says about the running program.
///
/// ```
/// telltale::set_build_info(telltale::BuildInfo {
///     version: "1.2.3".into(),
///     commit: "abc123".into(),
///     ..telltale::BuildInfo::default()
/// });
/// let text = telltale::render(telltale::Format::Prometheus);
/// assert!(text.contains(r#"version="1.2.3""#));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildInfo {
    /// The program's version (`version` label).
    pub version: String,
    /// The commit it was built from (`commit` label).
    pub commit: String,
    /// The branch it was built from (`branch` label).
    pub branch: String,
    /// The service's name (`service_name` label). When empty, the
    /// `OTEL_SERVICE_NAME` environment variable, else the executable's name.
    pub service_name: String,
}

static INFO: RwLock<Option<BuildInfo>> = RwLock::new(None);

/// Sets what `build_info` reports.
pub fn set_build_info(info: BuildInfo) {
    if let Ok(mut slot) = INFO.write() {
        *slot = Some(info);
    }
}

/// Sets `build_info` from the calling crate's Cargo metadata: `version` from
/// `CARGO_PKG_VERSION`, `service_name` from `CARGO_PKG_NAME`, `commit` and
/// `branch` from the `TELLTALE_COMMIT` / `TELLTALE_BRANCH` environment
/// variables at compile time when set.
///
/// ```
/// telltale::build_info!();
/// assert!(telltale::render(telltale::Format::Prometheus).contains("build_info{"));
/// ```
#[macro_export]
macro_rules! build_info {
    () => {
        $crate::set_build_info($crate::BuildInfo {
            version: ::core::env!("CARGO_PKG_VERSION").into(),
            commit: ::core::option_env!("TELLTALE_COMMIT").unwrap_or("").into(),
            branch: ::core::option_env!("TELLTALE_BRANCH").unwrap_or("").into(),
            service_name: ::core::env!("CARGO_PKG_NAME").into(),
        })
    };
}

/// Not zero-sized: the registry tells metrics apart by address, and
/// zero-sized statics may share one.
struct BuildInfoMetric(#[allow(dead_code)] u8);

static METRIC: BuildInfoMetric = BuildInfoMetric(0);

inventory::submit! { Registration::of(&METRIC) }

fn default_service_name() -> String {
    if let Ok(name) = std::env::var("OTEL_SERVICE_NAME") {
        if !name.is_empty() {
            return name;
        }
    }
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default()
}

impl Collect for BuildInfoMetric {
    fn collect(&'static self, out: &mut Sink) {
        // Every process of a multi-process backend says 1: one series.
        crate::backend::mode::note("build_info", crate::backend::mode::GaugeMode::Max);
        let info = INFO.read().ok().and_then(|i| i.clone()).unwrap_or_default();
        let service_name = if info.service_name.is_empty() {
            default_service_name()
        } else {
            info.service_name
        };
        out.push(
            &Desc {
                name: "build_info",
                help: "Information about the running program; always 1.",
                unit: None,
                kind: MetricKind::Gauge,
            },
            vec![
                ("version".into(), info.version),
                ("commit".into(), info.commit),
                ("branch".into(), info.branch),
                ("service_name".into(), service_name),
                ("telltale_version".into(), env!("CARGO_PKG_VERSION").into()),
            ],
            Value::Gauge(1.0),
            None,
        );
    }
}
