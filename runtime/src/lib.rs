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
//!
//! ## How it fits together
//!
//! The folders of `runtime/src` follow the data, from the hot path to the
//! exporters; a module only imports modules of its own layer or one below
//! it, and no two files import each other (`tests/tests/architecture.rs`
//! checks both, and its `LAYERS` is this list, lowest first):
//!
//! | layer | folder | what |
//! |---|---|---|
//! | store | `store/`, `error.rs`, `config/{duration,env}.rs` | the clock and Unix times, per-thread shards, publish-once pointers, label hashing, histogram cells; the crate's error; duration and environment parsing every section uses |
//! | collect | `collect/` | the registry (what `inventory` and first use register), [`Snapshot`], and the visitor storage hands series to (`TextFormat` and `SeriesWriter`, crate-private); the hooks run once before the first recording |
//! | backend | `backend/` | where shared metrics' values go beyond this process: the choice, gauge modes, the file and Redis backends; a backend stands in for the shared metrics in collect's registry (its delegate) and reads their cells a flush interval at a time |
//! | metric | `metric/` | label traits, [`Counter`], [`Gauge`], [`Histogram`], [`Family`], callsites, dynamic metrics, build info: they write their series into collect's builder or visitor, never naming an encoder |
//! | encode, parse | `encode/`, `parse/` | Prometheus, OpenMetrics, JSON, CSV and OTLP bodies (the text encoders implement collect's visitor); the strict parsers |
//! | query | `query/`, `resources/`, `service.rs` | windows, timers, the tracker, the stream; resource sampling; the service loop |
//! | sources | `sources/` | metrics from outside the program: the `Source` trait, the scheduler and breakers, exec sources; their last good batches published into collect's registry |
//! | export | `export/` | `server/` (HTTP) and `push/` (transports) |
//! | system | `system.rs` | [`System`](crate::system::System): windows, resources, exporters and the JSON API together |
//! | config | `config/` | the file, whose sections are the structs the code above uses |
//!
//! Lower layers reach higher ones only through a hook the higher one
//! installs (the server's `/api` is answered by whatever `System` plugs in).
//! A new exporter goes into `export/` (a transport) and, for a new body,
//! `encode/`; a new encoder implements collect's visitor in `encode/`; a new
//! metric source or backend gets its own folder and cargo feature at the
//! layer it needs (sources above query, backends above collect), and a line in
//! `LAYERS`. Each optional dependency sits behind a cargo feature named
//! after what it adds (see the README's feature table); the core needs none.
//! A new push protocol is a file in `export/push/protocol/` implementing
//! the one `Wire` trait (route, headers, body, which statuses to retry, how
//! much backlog to keep); the endpoint does the rest alike for all.
//!
//! Names keep one meaning: each `*Config` is the settings of one thing
//! ([`ServerConfig`](crate::server::ServerConfig),
//! [`PushConfig`](crate::push::PushConfig),
//! [`SystemConfig`](crate::system::SystemConfig), and
//! [`config::Config`], the file that holds them);
//! a `start` function launches something that runs until it is stopped (a
//! server, a pusher, a system, a window ticker, a [`Timer`](crate::timer::Timer)).
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Docs link to items of every feature; a build without some of them has
// nothing to link to. The links are checked by the documentation build
// with every feature on (`.ci/run`, and docs.rs).
#![cfg_attr(
    not(all(
        feature = "server",
        feature = "json",
        feature = "resources",
        feature = "push",
        feature = "tls",
        feature = "config",
        feature = "stream",
        feature = "service",
        feature = "sources"
    )),
    allow(rustdoc::broken_intra_doc_links)
)]

#[cfg(feature = "aggregate")]
#[cfg_attr(docsrs, doc(cfg(feature = "aggregate")))]
pub mod aggregate;
pub mod backend;
mod collect;
pub mod config;
pub mod encode;
mod error;
#[cfg(any(feature = "server", feature = "push"))]
mod export;
mod metric;
pub mod parse;
mod query;
#[cfg(feature = "resources")]
#[cfg_attr(docsrs, doc(cfg(feature = "resources")))]
pub mod resources;
#[cfg(feature = "service")]
#[cfg_attr(docsrs, doc(cfg(feature = "service")))]
pub mod service;
#[cfg(feature = "sources")]
#[cfg_attr(docsrs, doc(cfg(feature = "sources")))]
pub mod sources;
mod store;
#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
pub mod system;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use collect::snapshot;
#[cfg(feature = "push")]
#[cfg_attr(docsrs, doc(cfg(feature = "push")))]
pub use export::push;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub use export::server;
pub use metric::{dynamic, family, labels};
#[cfg(feature = "stream")]
#[cfg_attr(docsrs, doc(cfg(feature = "stream")))]
pub use query::stream;
pub use query::{timer, tracker, window};

pub use collect::snapshot::Snapshot;
pub use encode::{render, Format};
pub use error::Error;
pub use metric::build_info::{set_build_info, BuildInfo};
pub use metric::family::{set_default_cardinality_cap, Family};
pub use metric::labels::{BoundedLabelValue, LabelSet, LabelStr, LabelValue};
pub use metric::standalone::{Counter, Gauge, Histogram, HistogramTimer, IntGauge};
/// The old name of [`FUNCTION_CALL_BUCKETS`].
#[doc(hidden)]
pub use store::histogram::FUNCTION_CALL_BUCKETS as DEFAULT_BUCKETS;
/// The old name of [`HISTOGRAM_BUCKETS`].
#[doc(hidden)]
pub use store::histogram::HISTOGRAM_BUCKETS as DEFAULT_HISTOGRAM_BUCKETS;
pub use store::histogram::{FUNCTION_CALL_BUCKETS, HISTOGRAM_BUCKETS};
pub use telltale_macros::{skip, timed, tracked, LabelSet, LabelValue};
