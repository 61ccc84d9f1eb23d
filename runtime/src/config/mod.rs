//! Configuration from code, from a TOML file and from environment variables.
//!
//! Every section of [`Config`] is a plain struct with public fields and a
//! [`Default`], so code can build it with `..Default::default()`. The same
//! structs deserialize from TOML (missing keys take their defaults, unknown
//! keys are errors), and [`Env`] overrides single values from `TELLTALE_*`
//! environment variables. The usual order is: defaults, then the file, then
//! the environment, which is what [`Config::load`] does.
//!
//! ```
//! use telltale::config::{Config, Env};
//!
//! let mut config = Config::from_toml_str(
//!     r#"
//!     [server]
//!     port = 9100
//!     header_read_timeout = "5s"
//!     "#,
//!     "telltale.toml",
//! )?;
//! config.apply_env(Env::from_pairs([("TELLTALE_SERVER_HOST", "0.0.0.0")]))?;
//! assert_eq!(config.server.port, 9100);
//! assert_eq!(config.server.host, "0.0.0.0");
//! assert_eq!(config.server.header_read_timeout, std::time::Duration::from_secs(5));
//!
//! // A mistake names the file, the line and column, and the key.
//! let error = Config::from_toml_str("[server]\nport = \"x\"\n", "telltale.toml").unwrap_err();
//! let message = error.to_string();
//! assert!(message.contains("telltale.toml:2:8"), "{message}");
//! assert!(message.contains("server.port"), "{message}");
//! # Ok::<(), telltale::Error>(())
//! ```
//!
//! # The file
//!
//! With the `config` feature a file is read by [`Loader`] (which
//! [`Config::from_file`] and [`Config::from_toml_str`] use):
//!
//! - `version = 2` names the layout ([`CURRENT_VERSION`]); a file without it
//!   is version 1, loads with a warning ([`Loaded::warnings`]), and
//!   [`migrate`] (`telltale config migrate`) rewrites it, keeping comments.
//! - `include = ["base.toml", "sources.d/*.toml"]` reads other files first,
//!   in order (globs sorted, paths relative to the including file); tables
//!   merge key by key, arrays of tables merge by `name`, the including file
//!   is applied last; a cycle is an error naming the chain.
//! - Any string may hold `${VAR}`, `${VAR:-default}`, `${VAR:?message}`,
//!   `${file:PATH}` and `$$` (see [`interpolate`]); what came from a
//!   variable or a file is masked in errors, in `Debug` and in
//!   [`Loaded::show`].
//! - Every mistake is reported at once, sorted by place, one a line:
//!   `file:line:column: key: what is wrong`, unknown keys with a
//!   did-you-mean, and the checks each section's code makes
//!   ([`Config::problems`]).
//!
//! ```
//! use telltale::config::Loader;
//!
//! let error = Loader::with_vars([("PORT", "9100")])
//!     .load_str("version = 2\n[server]\nport = \"${PORT}\"\nhots = \"a\"\nmax_connections = 0\n", "app.toml")
//!     .unwrap_err()
//!     .to_string();
//! assert!(error.contains("app.toml:4:1: server.hots: unknown key `hots`: did you mean `host`?"), "{error}");
//! assert!(error.contains("app.toml:5:19: server.max_connections: must be at least 1"), "{error}");
//! ```
//!
//! With the `reload` feature, [`reload::Live`] runs what a file describes
//! and reloads it when it changes, on SIGHUP and on `POST /-/reload`.
//!
//! # Durations
//!
//! A duration is written as a string with a unit, `"250ms"`, `"30s"`, `"2m"`,
//! `"1h"` (a decimal fraction such as `"1.5s"` is allowed), or as a bare
//! integer, which counts **seconds** (`header_read_timeout = 30`). The same
//! spellings work in environment variables (`TELLTALE_SERVER_IDLE_TIMEOUT=90s`
//! or `=90`). See [`parse_duration`].
//!
//! # Environment variables
//!
//! A variable is named `TELLTALE_<SECTION>_<KEY>`, the key in upper case:
//! `TELLTALE_SERVER_PORT`, `TELLTALE_SERVER_MAX_CONNECTIONS`. Booleans are
//! `true`/`false`, `1`/`0`, `yes`/`no` or `on`/`off`. A value that does not
//! parse is an [`Error::Config`](crate::Error::Config) naming the variable and the value, and so is
//! a `TELLTALE_SERVER_*` variable that names no key (a typo would otherwise
//! be ignored silently). The variables of each section are listed on its
//! `apply_env` ([`server::ServerConfig::apply_env`](crate::server::ServerConfig::apply_env)).
//!
//! [`Env`] takes the variables as pairs, so tests and embedders can pass
//! their own; [`Env::from_process`] reads the process environment.

#[cfg(feature = "config")]
mod de;
pub mod duration;
pub(crate) mod env;
#[cfg(feature = "config")]
mod file;
#[cfg(feature = "config")]
pub mod interpolate;
#[cfg(feature = "config")]
mod load;
#[cfg(feature = "config")]
mod loaded;
#[cfg(feature = "config")]
mod migrate;
#[cfg(feature = "reload")]
#[cfg_attr(docsrs, doc(cfg(feature = "reload")))]
pub mod reload;
#[cfg(feature = "config")]
mod tree;

pub use duration::{format_duration, parse_duration};
pub use env::Env;
#[cfg(feature = "config")]
#[cfg_attr(docsrs, doc(cfg(feature = "config")))]
pub use file::{Config, CONFIG_FILE_VAR};
#[cfg(feature = "config")]
#[cfg_attr(docsrs, doc(cfg(feature = "config")))]
pub use load::{CURRENT_VERSION, MAX_DEPTH, MAX_FILE_BYTES};
#[cfg(feature = "config")]
#[cfg_attr(docsrs, doc(cfg(feature = "config")))]
pub use loaded::{from_file, from_toml_str, Loaded, Loader};
#[cfg(feature = "config")]
#[cfg_attr(docsrs, doc(cfg(feature = "config")))]
pub use migrate::{migrate, Migration};
