//! # telltale
//!
//! Instrumentation for Rust services. Put `#[timed]` or `#[tracked]` on a
//! function and it reports its latency distribution (and, for `#[tracked]`,
//! its calls by result and error kind) as Prometheus / OpenMetrics series:
//!
//! | series | type | labels |
//! |---|---|---|
//! | `function_calls_total` | counter (`#[tracked]`) | `function`, `module`, `result` = `ok` / `error` / `cancelled`, `error` |
//! | `function_calls_duration_seconds` | histogram | `function`, `module` |
//! | `function_calls_concurrent` | gauge (`concurrency`) | `function`, `module` |
//! | `build_info` | gauge = 1 | `version`, `commit`, `branch`, `service_name`, `telltale_version` |
//!
//! Every instrumented function in the binary appears in the first exposition,
//! at zero, before it is ever called (one with per-call `labels` appears with
//! its first call, when its label values are known).
//!
//! ```
//! use telltale::{tracked, LabelValue};
//!
//! #[derive(Debug, LabelValue)]
//! enum FetchError { Timeout, NotFound }
//!
//! /// Fetches one page.
//! #[tracked]
//! fn fetch(url: &str) -> Result<String, FetchError> {
//!     if url.is_empty() { return Err(FetchError::NotFound); }
//!     Ok(format!("<html>{url}</html>"))
//! }
//!
//! fetch("a").unwrap();
//! fetch("").unwrap_err();
//! let text = telltale::render(telltale::Format::Prometheus);
//! assert!(text.contains(r#"function="fetch""#));
//! assert!(text.contains(r#"result="error",error="not_found""#));
//! ```
//!
//! ## Error kinds
//!
//! A failed call's `error` label is the variant of its error type when that
//! type derives [`LabelValue`] (chosen at compile time). For any other error
//! type it is the type's readable name (see [`labels::readable_type_name`]):
//! `std::io::Error` becomes `io::Error`, `core::num::ParseIntError` becomes
//! `ParseIntError`. A panic passing through a `#[tracked]` function counts as
//! `result="error", error="panic"` and keeps unwinding; an async call whose
//! future is dropped before it completes counts as `result="cancelled"`.
#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod collect;
pub mod config;
pub mod encode;
mod error;
mod export;
mod metric;
pub mod parse;
mod query;
pub mod resources;
pub mod service;
mod store;
pub mod system;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use collect::snapshot;
pub use export::{push, server};
pub use metric::{dynamic, family, labels};
pub use query::{stream, timer, tracker, window};
#[doc(hidden)]
pub use store::histogram;

pub use collect::snapshot::Snapshot;
pub use encode::{render, Format};
pub use error::Error;
pub use metric::build_info::{set_build_info, BuildInfo};
pub use metric::callsite::DEFAULT_BUCKETS;
pub use metric::family::{set_default_cardinality_cap, Family};
pub use metric::labels::{BoundedLabelValue, LabelSet, LabelStr, LabelValue};
pub use metric::standalone::{
    Counter, Gauge, Histogram, HistogramTimer, IntGauge, DEFAULT_HISTOGRAM_BUCKETS,
};
pub use telltale_macros::{skip, timed, tracked, LabelSet, LabelValue};
