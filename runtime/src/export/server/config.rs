//! The server's configuration: [`ServerConfig`] and [`BasicAuth`].

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::config::duration;
use crate::config::env::Env;
use crate::error::Error;

/// Where and how to serve metrics. [`ServerConfig::default`] serves
/// `http://127.0.0.1:9464/metrics`.
///
/// Every field can be set in code, in the `[server]` table of a TOML file
/// and from a `TELLTALE_SERVER_*` environment variable (see
/// [`crate::config`] and [`ServerConfig::apply_env`]).
///
/// ```
/// use std::time::Duration;
///
/// let config = telltale::server::ServerConfig {
///     port: 0, // any free port; `Server::local_addr` tells which
///     bearer_token: Some("s3cret".to_owned()),
///     idle_timeout: Duration::from_secs(30),
///     ..Default::default()
/// };
/// assert_eq!(config.host, "127.0.0.1");
/// assert_eq!(config.path, "/metrics");
/// assert_eq!(config.max_connections, 256);
/// // Secrets stay out of logs.
/// assert!(!format!("{config:?}").contains("s3cret"));
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// The address or host name to listen on. Default `"127.0.0.1"`; use
    /// `"0.0.0.0"` or `"::"` to accept scrapes from other machines.
    pub host: String,
    /// The TCP port. Default `9464`; `0` picks a free port.
    pub port: u16,
    /// The path metrics are served on; must start with `/`. Default
    /// `"/metrics"`. `<path>.json` and `<path>.csv` serve JSON and CSV.
    pub path: String,
    /// Whether to serve at all. Default `true`; when `false`, [`start`](super::start)
    /// binds nothing and returns a handle that does nothing.
    pub enabled: bool,
    /// The path of the health check, answered `200 ok` without credentials.
    /// Default `"/health"`; `""` turns it off.
    pub health_path: String,
    /// How long a request's head (request line and headers) may take to
    /// arrive, counted from its first byte. Default 10 s. In TOML a string
    /// with a unit (`"10s"`, `"500ms"`) or whole seconds.
    #[serde(deserialize_with = "duration::deserialize")]
    pub header_read_timeout: Duration,
    /// How long a connection may go without a byte read or written before
    /// it is closed: the time an idle keep-alive connection is kept, and the
    /// longest stall of a client that stopped sending or reading. Default
    /// 90 s.
    #[serde(deserialize_with = "duration::deserialize")]
    pub idle_timeout: Duration,
    /// The most connections served at once; one more is answered `503` and
    /// closed. Default 256; at least 1.
    pub max_connections: usize,
    /// Whether to gzip responses for clients whose `Accept-Encoding` allows
    /// it. Default `true`.
    pub gzip: bool,
    /// A token every request but the health check must present as
    /// `Authorization: Bearer <token>`. Default `None`. Must not be empty.
    pub bearer_token: Option<String>,
    /// A user name and password every request but the health check must
    /// present with HTTP basic authentication. Default `None`. When both
    /// this and [`bearer_token`](ServerConfig::bearer_token) are set, either is
    /// accepted.
    pub basic_auth: Option<BasicAuth>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: "127.0.0.1".to_owned(),
            port: 9464,
            path: "/metrics".to_owned(),
            enabled: true,
            health_path: "/health".to_owned(),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(90),
            max_connections: 256,
            gzip: true,
            bearer_token: None,
            basic_auth: None,
        }
    }
}

impl fmt::Debug for ServerConfig {
    /// Like a derived `Debug`, with the token and password replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("path", &self.path)
            .field("enabled", &self.enabled)
            .field("health_path", &self.health_path)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_connections", &self.max_connections)
            .field("gzip", &self.gzip)
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "***"))
            .field("basic_auth", &self.basic_auth)
            .finish()
    }
}

/// HTTP basic authentication credentials: `[server.basic_auth]` with
/// `username` and `password` in TOML, `TELLTALE_SERVER_BASIC_AUTH=user:password`
/// in the environment.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// The user name; must not contain `:`.
    pub username: String,
    /// The password.
    pub password: String,
}

impl fmt::Debug for BasicAuth {
    /// Shows the user name only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

impl ServerConfig {
    /// The path JSON is served on: [`path`](ServerConfig::path) + `.json`.
    pub fn json_path(&self) -> String {
        format!("{}.json", self.path)
    }

    /// The path CSV is served on: [`path`](ServerConfig::path) + `.csv`.
    pub fn csv_path(&self) -> String {
        format!("{}.csv", self.path)
    }

    /// Overrides fields from environment variables:
    ///
    /// | variable | field | example |
    /// |---|---|---|
    /// | `TELLTALE_SERVER_HOST` | [`host`](ServerConfig::host) | `0.0.0.0` |
    /// | `TELLTALE_SERVER_PORT` | [`port`](ServerConfig::port) | `9464` |
    /// | `TELLTALE_SERVER_PATH` | [`path`](ServerConfig::path) | `/metrics` |
    /// | `TELLTALE_SERVER_ENABLED` | [`enabled`](ServerConfig::enabled) | `false` |
    /// | `TELLTALE_SERVER_HEALTH_PATH` | [`health_path`](ServerConfig::health_path) | `/healthz`, or empty for none |
    /// | `TELLTALE_SERVER_HEADER_READ_TIMEOUT` | [`header_read_timeout`](ServerConfig::header_read_timeout) | `10s` |
    /// | `TELLTALE_SERVER_IDLE_TIMEOUT` | [`idle_timeout`](ServerConfig::idle_timeout) | `90s` |
    /// | `TELLTALE_SERVER_MAX_CONNECTIONS` | [`max_connections`](ServerConfig::max_connections) | `256` |
    /// | `TELLTALE_SERVER_GZIP` | [`gzip`](ServerConfig::gzip) | `true` |
    /// | `TELLTALE_SERVER_BEARER_TOKEN` | [`bearer_token`](ServerConfig::bearer_token) | a token, or empty for none |
    /// | `TELLTALE_SERVER_BASIC_AUTH` | [`basic_auth`](ServerConfig::basic_auth) | `user:password`, or empty for none |
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the variable and its value when the value
    /// does not parse (the value of a secret is not repeated).
    ///
    /// ```
    /// use telltale::config::Env;
    ///
    /// let mut config = telltale::server::ServerConfig::default();
    /// config.apply_env(&mut Env::from_pairs([
    ///     ("TELLTALE_SERVER_PORT", "9100"),
    ///     ("TELLTALE_SERVER_BASIC_AUTH", "prometheus:pa:ss"),
    /// ]))?;
    /// assert_eq!(config.port, 9100);
    /// let auth = config.basic_auth.unwrap();
    /// assert_eq!((auth.username.as_str(), auth.password.as_str()), ("prometheus", "pa:ss"));
    /// # Ok::<(), telltale::Error>(())
    /// ```
    pub fn apply_env(&mut self, env: &mut Env) -> Result<(), Error> {
        env.string("TELLTALE_SERVER_HOST", &mut self.host);
        env.with("TELLTALE_SERVER_PORT", &mut self.port, |value| {
            value
                .trim()
                .parse::<u16>()
                .map_err(|e| format!("expected a port number from 0 to 65535 ({e})"))
        })?;
        env.string("TELLTALE_SERVER_PATH", &mut self.path);
        env.bool("TELLTALE_SERVER_ENABLED", &mut self.enabled)?;
        env.string("TELLTALE_SERVER_HEALTH_PATH", &mut self.health_path);
        env.duration(
            "TELLTALE_SERVER_HEADER_READ_TIMEOUT",
            &mut self.header_read_timeout,
        )?;
        env.duration("TELLTALE_SERVER_IDLE_TIMEOUT", &mut self.idle_timeout)?;
        env.with(
            "TELLTALE_SERVER_MAX_CONNECTIONS",
            &mut self.max_connections,
            |value| match value.trim().parse::<usize>() {
                Ok(0) => Err("must be at least 1".to_owned()),
                Ok(n) => Ok(n),
                Err(e) => Err(format!("expected a number of connections ({e})")),
            },
        )?;
        env.bool("TELLTALE_SERVER_GZIP", &mut self.gzip)?;
        env.optional_string("TELLTALE_SERVER_BEARER_TOKEN", &mut self.bearer_token);
        if let Some(value) = env.get("TELLTALE_SERVER_BASIC_AUTH") {
            self.basic_auth = if value.is_empty() {
                None
            } else {
                let (username, password) = value.split_once(':').ok_or_else(|| {
                    Error::Config(
                        "environment variable TELLTALE_SERVER_BASIC_AUTH: expected \
                         user:password (the value is not repeated here)"
                            .to_owned(),
                    )
                })?;
                Some(BasicAuth {
                    username: username.to_owned(),
                    password: password.to_owned(),
                })
            };
        }
        Ok(())
    }

    /// Checks the fields [`start`](super::start) would refuse.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the field: a path not starting with `/` (or
    /// holding `?` or `#`), a health path equal to a metrics path, no
    /// connections allowed, a zero timeout, an empty bearer token, a basic
    /// auth user name with `:`.
    pub fn validate(&self) -> Result<(), Error> {
        match self.problems().into_iter().next() {
            Some((field, message)) => Err(Error::Config(format!("server.{field}: {message}"))),
            None => Ok(()),
        }
    }

    /// Every field [`validate`](Self::validate) refuses, each with what is
    /// wrong (`("max_connections", "must be at least 1")`), in field order.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if !self.path.starts_with('/') {
            problems.push((
                "path",
                format!("the metrics path must start with '/', got {:?}", self.path),
            ));
        } else if self.path.contains(['?', '#']) {
            problems.push((
                "path",
                format!(
                    "the metrics path must not contain '?' or '#', got {:?}",
                    self.path
                ),
            ));
        }
        if !self.health_path.is_empty() {
            if !self.health_path.starts_with('/') || self.health_path.contains(['?', '#']) {
                problems.push((
                    "health_path",
                    format!(
                        "must be empty or a path starting with '/', got {:?}",
                        self.health_path
                    ),
                ));
            } else if [self.path.clone(), self.json_path(), self.csv_path()]
                .contains(&self.health_path)
            {
                problems.push((
                    "health_path",
                    format!("{:?} is also a metrics path", self.health_path),
                ));
            }
        }
        if self.max_connections == 0 {
            problems.push(("max_connections", "must be at least 1".to_owned()));
        }
        if self.header_read_timeout.is_zero() {
            problems.push(("header_read_timeout", "must be above zero".to_owned()));
        }
        if self.idle_timeout.is_zero() {
            problems.push(("idle_timeout", "must be above zero".to_owned()));
        }
        if self.bearer_token.as_deref() == Some("") {
            problems.push((
                "bearer_token",
                "is empty; leave it unset to serve without a token".to_owned(),
            ));
        }
        if let Some(basic) = &self.basic_auth {
            if basic.username.contains(':') {
                problems.push((
                    "basic_auth.username",
                    format!(
                        "{:?} contains ':', which basic authentication cannot carry",
                        basic.username
                    ),
                ));
            }
        }
        problems
    }
}
