//! Where the values of shared metrics live: in this process (`single`,
//! the default), in one file per process in a shared directory (`file`),
//! or in a Redis server (`redis`), so that a pre-forking server, a pool of
//! workers or many short batch processes export one set of series.
//!
//! Every user metric is shared: static [`Counter`](crate::Counter)s,
//! gauges and histograms, families, `#[timed]`/`#[tracked]` callsites,
//! dynamic metrics. telltale's own `telltale_*` series, process
//! resources, source batches and aggregation outputs stay per process.
//! Recording is the same on every backend: it adds to relaxed-atomic
//! cells. With the file backend running, every metric first used from
//! then on has those cells in this process's mapped file, so other
//! processes read them as they are and `kill -9` loses none of its
//! updates; every other metric keeps its cells in the process, and a
//! multi-process backend writes their values out every flush interval
//! (and when the process exits). A collection in any process merges
//! every process's values: counters and histograms summed, gauges by
//! their [`GaugeMode`].
//!
//! The backend is chosen once, before the first metric records: by
//! [`load`] in code, else by the configuration file's `[backend]`
//! section, else by `TELLTALE_BACKEND` (`single`, `file`, `redis`) and
//! `TELLTALE_BACKEND_CONFIG` (a JSON or TOML file of the options), read
//! at the first recording or collection. Choosing another one later is an
//! error.
//!
//! ```
//! use telltale::backend::{self, Backend};
//!
//! backend::load(Backend::Single)?; // the default
//! assert_eq!(backend::current(), Backend::Single);
//! # Ok::<(), telltale::Error>(())
//! ```

pub(crate) mod cells;
mod choice;
#[cfg(any(feature = "backend-file", feature = "backend-redis"))]
mod delegate;
mod exit;
#[cfg(feature = "backend-file")]
pub mod file;
mod kind;
pub(crate) mod mode;
mod options;
#[cfg(any(feature = "backend-file", feature = "backend-redis"))]
mod part;
#[cfg(feature = "backend-file")]
mod process;
#[cfg(feature = "backend-redis")]
pub mod redis;
pub(crate) mod resident;
mod start;
#[cfg_attr(
    not(any(feature = "backend-file", feature = "backend-redis")),
    allow(dead_code)
)]
mod status;

#[cfg(all(
    feature = "reload",
    any(feature = "backend-file", feature = "backend-redis")
))]
pub(crate) use choice::choose;
pub use choice::{current, from_env, load};
pub use exit::flush;
pub use kind::{Backend, FileOptions, RedisOptions};
pub use mode::GaugeMode;
#[cfg(any(feature = "backend-file", feature = "backend-redis"))]
pub use options::BackendSection;
pub use status::{status, Status};
