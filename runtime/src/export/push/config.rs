//! The push configuration: endpoints, their protocol, schedule, retries and
//! queue. Every type deserializes (unknown fields are errors; missing ones
//! take the documented defaults), so a configuration file can carry it.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::config::duration;
use crate::error::Error;
use serde::Deserialize;

/// Every endpoint the [`Pusher`](super::Pusher) pushes to, and how long its
/// shutdown may take.
///
/// ```
/// use std::time::Duration;
/// use telltale::push::{EndpointConfig, PushConfig};
///
/// let config: PushConfig = toml::from_str(r#"
///     shutdown_timeout = "2s"
///
///     [[endpoints]]
///     name = "gateway"
///     protocol = "pushgateway"
///     url = "http://127.0.0.1:9091"
///     interval = "30s"
///     pushgateway = { job = "nightly", grouping = { instance = "db/1" } }
///
///     [[endpoints]]
///     protocol = "remote_write"
///     url = "http://127.0.0.1:9090/api/v1/write"
///     headers = { Authorization = "Bearer secret" }
///     retry = { max_attempts = 5, initial_backoff = "200ms" }
/// "#).unwrap();
/// assert_eq!(config.endpoints.len(), 2);
/// assert_eq!(config.endpoints[0].interval, Duration::from_secs(30));
/// assert_eq!(config.endpoints[1].timeout, Duration::from_secs(10)); // the default
/// assert_eq!(config.endpoints[1].retry.initial_backoff, Duration::from_millis(200));
/// assert_eq!(config.shutdown_timeout, Duration::from_secs(2));
///
/// // Unknown fields are refused.
/// assert!(toml::from_str::<PushConfig>("endpoint = []").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushConfig {
    /// The endpoints; each runs on its own tasks with its own queue.
    pub endpoints: Vec<EndpointConfig>,
    /// How long [`Pusher::shutdown`](super::Pusher::shutdown) waits for the
    /// final push (and the Pushgateway deletes) before it stops every task
    /// anyway. Default 5 s.
    #[serde(deserialize_with = "duration::deserialize")]
    pub shutdown_timeout: Duration,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            endpoints: Vec::new(),
            shutdown_timeout: Duration::from_secs(5),
        }
    }
}

/// The wire protocol of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// A Prometheus Pushgateway: the Prometheus 0.0.4 text of the latest
    /// snapshot, `PUT` or `POST` to `/metrics/job/<job>/<label>/<value>...`
    /// under the URL. Only the latest snapshot is ever queued.
    Pushgateway,
    /// Prometheus remote-write 1.0: a snappy-compressed protobuf
    /// `WriteRequest` per interval, `POST`ed to the URL as given (for
    /// Prometheus: `http://host:9090/api/v1/write`). Batches queue up while
    /// the endpoint fails and are sent in order once it answers.
    RemoteWrite,
    /// OTLP/HTTP with protobuf bodies, cumulative temporality, `POST`ed to
    /// `<url>/v1/metrics` when the URL has no path (or `/`), else to the URL
    /// as given. Batches queue like remote-write's.
    Otlp,
}

impl Protocol {
    /// The name used in configuration files and status reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Pushgateway => "pushgateway",
            Protocol::RemoteWrite => "remote_write",
            Protocol::Otlp => "otlp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One endpoint.
///
/// Durations in a configuration file are strings with a unit (`"250ms"`,
/// `"15s"`, `"2m"`, `"1h"`) or a number of seconds (`15`, `0.5`).
///
/// URLs are `http://` or `https://`. Over TLS the collector's certificate
/// must chain to one of Mozilla's roots (`webpki-roots`) or to a certificate
/// of [`ca_file`](Self::ca_file).
///
/// `Debug` shows the names of the [`headers`](Self::headers) but not their
/// values, which often are credentials:
///
/// ```
/// use telltale::push::EndpointConfig;
///
/// let mut endpoint = EndpointConfig::remote_write("http://127.0.0.1:9090/api/v1/write");
/// endpoint.headers.insert("Authorization".into(), "Bearer s3cret".into());
/// let debug = format!("{endpoint:?}");
/// assert!(debug.contains("Authorization") && !debug.contains("s3cret"), "{debug}");
/// ```
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// The endpoint's name in status reports, errors and the `endpoint`
    /// label of the `telltale_push_*` series; the URL when empty. Names
    /// must be unique.
    #[serde(default)]
    pub name: String,
    /// The protocol.
    pub protocol: Protocol,
    /// The URL: the Pushgateway's base URL (`http://host:9091`), the
    /// remote-write URL, or the OTLP receiver's base or full URL.
    pub url: String,
    /// Time between two pushes (default 15 s; above zero, at most one day).
    /// The first push happens right after the start.
    #[serde(
        default = "default_interval",
        deserialize_with = "duration::deserialize"
    )]
    pub interval: Duration,
    /// How long one request may take, connection included (default 10 s;
    /// above zero, at most one day).
    #[serde(
        default = "default_timeout",
        deserialize_with = "duration::deserialize"
    )]
    pub timeout: Duration,
    /// Extra request headers, e.g. `Authorization`. Their values are never
    /// shown by `Debug` (of this configuration, or of a running
    /// [`Pusher`](super::Pusher)).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// How a failed request is retried.
    #[serde(default)]
    pub retry: RetryPolicy,
    /// How many payloads wait at most while the endpoint fails (default 64;
    /// at least 1). When a new one arrives at a full queue the oldest is
    /// dropped and counted. A Pushgateway endpoint keeps only the latest
    /// payload whatever this says (it replaces the older one, which loses
    /// nothing: the values are cumulative).
    #[serde(default = "default_queue_size")]
    pub queue_size: usize,
    /// Options of [`Protocol::Pushgateway`].
    #[serde(default)]
    pub pushgateway: PushgatewayOptions,
    /// Options of [`Protocol::Otlp`].
    #[serde(default)]
    pub otlp: OtlpEndpointOptions,
    /// For an `https://` URL: a PEM file of certificates to trust besides
    /// the built-in roots (Mozilla's, from `webpki-roots`; the system's trust
    /// store and `SSL_CERT_FILE` are not read), for a collector whose
    /// certificate a private CA signed. A relative path is taken from the
    /// working directory. Read when the endpoint starts; a file that cannot
    /// be read or holds no certificate is an error then.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
}

impl fmt::Debug for EndpointConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// The header names, each with a placeholder for its value.
        struct Redacted<'a>(&'a BTreeMap<String, String>);
        impl fmt::Debug for Redacted<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.keys().map(|name| (name, format_args!("<redacted>"))))
                    .finish()
            }
        }
        let EndpointConfig {
            name,
            protocol,
            url,
            interval,
            timeout,
            headers,
            retry,
            queue_size,
            pushgateway,
            otlp,
            ca_file,
        } = self;
        f.debug_struct("EndpointConfig")
            .field("name", name)
            .field("protocol", protocol)
            .field("url", &redact_url(url))
            .field("interval", interval)
            .field("timeout", timeout)
            .field("headers", &Redacted(headers))
            .field("retry", retry)
            .field("queue_size", queue_size)
            .field("pushgateway", pushgateway)
            .field("otlp", otlp)
            .field("ca_file", ca_file)
            .finish()
    }
}

fn default_interval() -> Duration {
    Duration::from_secs(15)
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_queue_size() -> usize {
    64
}

impl EndpointConfig {
    /// An endpoint of `protocol` at `url`, every other field at its default.
    ///
    /// ```
    /// use std::time::Duration;
    /// use telltale::push::{EndpointConfig, Protocol};
    ///
    /// let mut endpoint = EndpointConfig::new(Protocol::RemoteWrite, "http://127.0.0.1:9090/api/v1/write");
    /// endpoint.interval = Duration::from_secs(5);
    /// assert_eq!(endpoint.queue_size, 64);
    /// ```
    pub fn new(protocol: Protocol, url: impl Into<String>) -> Self {
        EndpointConfig {
            name: String::new(),
            protocol,
            url: url.into(),
            interval: default_interval(),
            timeout: default_timeout(),
            headers: BTreeMap::new(),
            retry: RetryPolicy::default(),
            queue_size: default_queue_size(),
            pushgateway: PushgatewayOptions::default(),
            otlp: OtlpEndpointOptions::default(),
            ca_file: None,
        }
    }

    /// A Pushgateway endpoint at `url` (its base URL) pushing as `job`.
    pub fn pushgateway(url: impl Into<String>, job: impl Into<String>) -> Self {
        let mut config = Self::new(Protocol::Pushgateway, url);
        config.pushgateway.job = job.into();
        config
    }

    /// A remote-write endpoint at `url`.
    pub fn remote_write(url: impl Into<String>) -> Self {
        Self::new(Protocol::RemoteWrite, url)
    }

    /// An OTLP/HTTP endpoint at `url`.
    pub fn otlp(url: impl Into<String>) -> Self {
        Self::new(Protocol::Otlp, url)
    }

    /// The same configuration with this name.
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The name reports use: [`name`](Self::name), or, when empty, the URL
    /// with its secrets hidden (see [`redact_url`]).
    pub fn display_name(&self) -> Cow<'_, str> {
        if self.name.is_empty() {
            redact_url(&self.url)
        } else {
            Cow::Borrowed(&self.name)
        }
    }
}

/// How a failed request is retried: exponential backoff with jitter.
///
/// The `n`-th retry waits `initial_backoff × multiplier^(n-1)`, at most
/// `max_backoff`, shortened by a random share of up to `jitter` of itself
/// (so with `jitter = 0.2` the wait is 80 % to 100 % of the backoff).
/// Retries stop after `max_attempts` requests in all, or when the next wait
/// would end past `max_elapsed` since the first request, whichever comes
/// first. What was not delivered stays queued and is tried again at the next
/// interval (Pushgateway, remote-write, OTLP alike), so the policy bounds the
/// effort per interval, not how long data survives an outage: that is the
/// queue's bound.
///
/// Connection errors and timeouts are retried, and so are these statuses:
///
/// | protocol | retried statuses |
/// |---|---|
/// | remote-write, Pushgateway | 408, 429, every 5xx |
/// | OTLP | 429, 502, 503, 504 (as the OTLP/HTTP specification says) |
///
/// Any other status is final and the payload is dropped (counted as
/// rejected): the endpoint refused it and would refuse it again. When a
/// retried answer carries `Retry-After` in seconds (`Retry-After: 30`), the
/// next wait is at least that long, though never longer than `max_backoff`;
/// the HTTP-date form of `Retry-After` is ignored.
///
/// `initial_backoff` and `max_backoff` may be at most one day
/// ([`push::start`](super::start) refuses more).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Requests per payload and interval at most, the first included
    /// (default 3; 1 means no retry).
    pub max_attempts: u32,
    /// Time after the first request past which no retry starts (default:
    /// none, only `max_attempts` counts).
    #[serde(deserialize_with = "duration::option::deserialize")]
    pub max_elapsed: Option<Duration>,
    /// The wait before the first retry (default 100 ms).
    #[serde(deserialize_with = "duration::deserialize")]
    pub initial_backoff: Duration,
    /// The longest wait between two requests (default 5 s).
    #[serde(deserialize_with = "duration::deserialize")]
    pub max_backoff: Duration,
    /// Growth of the wait from one retry to the next (default 2; at least 1).
    pub multiplier: f64,
    /// Share of each wait taken off at random, 0 ..= 1 (default 0.2).
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            max_elapsed: None,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            multiplier: 2.0,
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 for the first retry), with
    /// `random` in `0.0..1.0` choosing the jitter.
    ///
    /// ```
    /// use std::time::Duration;
    /// use telltale::push::RetryPolicy;
    ///
    /// let policy = RetryPolicy { jitter: 0.0, ..RetryPolicy::default() };
    /// assert_eq!(policy.backoff(1, 0.5), Duration::from_millis(100));
    /// assert_eq!(policy.backoff(3, 0.5), Duration::from_millis(400));
    /// assert_eq!(policy.backoff(30, 0.5), Duration::from_secs(5)); // the cap
    /// ```
    pub fn backoff(&self, retry: u32, random: f64) -> Duration {
        let exponent = retry.saturating_sub(1).min(1024);
        let growth = self.multiplier.max(1.0).powi(exponent as i32);
        let cap = self.max_backoff.as_secs_f64();
        let base = (self.initial_backoff.as_secs_f64() * growth).min(cap);
        let jitter = self.jitter.clamp(0.0, 1.0) * random.clamp(0.0, 1.0);
        let wait = base * (1.0 - jitter);
        if wait.is_finite() && wait > 0.0 {
            // Above `Duration::MAX` only when the cap is about that large.
            Duration::try_from_secs_f64(wait).unwrap_or(self.max_backoff)
        } else {
            Duration::ZERO
        }
    }
}

/// Options of a Pushgateway endpoint.
///
/// The grouping key is the job and the grouping labels: the URL path is
/// `/metrics/job/<job>/<label>/<value>...` (labels in name order), a value
/// that contains `/` or is empty written as `<label>@base64/<base64url>` as
/// the Pushgateway documents, any other value percent-encoded. The
/// Pushgateway adds the grouping labels to every pushed series.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushgatewayOptions {
    /// The `job` of the grouping key (default `telltale`; not empty).
    pub job: String,
    /// The other labels of the grouping key.
    pub grouping: BTreeMap<String, String>,
    /// `PUT` (replace the whole group, the default) or `POST` (replace only
    /// the metrics of the same names).
    pub method: PushMethod,
    /// Delete the group when the pusher shuts down (default false: the last
    /// values stay on the gateway, which is what a batch job wants).
    pub delete_on_shutdown: bool,
}

impl Default for PushgatewayOptions {
    fn default() -> Self {
        PushgatewayOptions {
            job: "telltale".to_owned(),
            grouping: BTreeMap::new(),
            method: PushMethod::Put,
            delete_on_shutdown: false,
        }
    }
}

/// How a push replaces what a Pushgateway group holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PushMethod {
    /// Replace every metric of the group.
    #[default]
    Put,
    /// Replace only the metrics with the names pushed.
    Post,
}

/// Options of an OTLP endpoint.
///
/// The request is built with [`OtlpOptions::default`](super::OtlpOptions)
/// (resource `service.name` = the executable's name and the
/// `telemetry.sdk.*` attributes, scope `telltale`), these resource
/// attributes added or replacing, the time of the export set to the time of
/// the collection, and sums and histograms with cumulative temporality.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpEndpointOptions {
    /// Compress request bodies with gzip (`Content-Encoding: gzip`).
    pub gzip: bool,
    /// Resource attributes (`service.name`, `deployment.environment`, ...).
    pub resource_attributes: BTreeMap<String, String>,
    /// Send histograms as OTLP exponential histograms (scale 5, the store's
    /// own buckets) instead of explicit-bucket histograms with the classic
    /// bounds (the default, which every receiver understands).
    pub exponential_histograms: bool,
}

/// `url` as telltale shows it: the user and password before an `@`, every
/// query value and any fragment replaced by `***`
/// (`http://***@h/v1/metrics?api_key=***`), since each may carry a secret.
/// Status reports, `Debug`, error messages and the name of an unnamed
/// endpoint (its `endpoint` label) show this; requests go to the URL as
/// given.
///
/// ```
/// use telltale::push::redact_url;
///
/// assert_eq!(redact_url("http://h:4318/v1/metrics?key=s3cret&flag"), "http://h:4318/v1/metrics?key=***&***");
/// assert_eq!(redact_url("http://user:pa55@h/w"), "http://***@h/w");
/// assert_eq!(redact_url("http://h:9091"), "http://h:9091");
/// ```
pub fn redact_url(url: &str) -> Cow<'_, str> {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(authority_len);
    let (path, query, fragment) = {
        let (before_fragment, fragment) = match after.split_once('#') {
            Some((before, fragment)) => (before, Some(fragment)),
            None => (after, None),
        };
        match before_fragment.split_once('?') {
            Some((path, query)) => (path, Some(query), fragment),
            None => (before_fragment, None, fragment),
        }
    };
    let user = authority.rfind('@');
    if user.is_none() && query.is_none() && fragment.is_none() {
        return Cow::Borrowed(url);
    }
    let mut out = String::from(&url[..authority_start]);
    match user {
        Some(at) => {
            out.push_str("***");
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    out.push_str(path);
    if let Some(query) = query {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((key, _)) => {
                    out.push_str(key);
                    out.push_str("=***");
                }
                None if pair.is_empty() => {}
                None => out.push_str("***"),
            }
        }
    }
    if fragment.is_some() {
        out.push_str("#***");
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let config: PushConfig = toml::from_str(
            "shutdown_timeout = 0.25\n[[endpoints]]\nprotocol = \"otlp\"\nurl = \"http://x\"\n\
             retry = { max_elapsed = \"3s\" }\n",
        )
        .unwrap();
        assert_eq!(config.shutdown_timeout, Duration::from_millis(250));
        assert_eq!(
            config.endpoints[0].retry.max_elapsed,
            Some(Duration::from_secs(3))
        );
        let bad = toml::from_str::<PushConfig>(
            "[[endpoints]]\nprotocol = \"otlp\"\nurl = \"http://x\"\ninterval = \"soon\"\n",
        )
        .unwrap_err();
        assert!(bad.to_string().contains("soon"), "{bad}");
        let unknown = toml::from_str::<PushConfig>(
            "[[endpoints]]\nprotocol = \"otlp\"\nurl = \"http://x\"\nintervall = \"1s\"\n",
        )
        .unwrap_err();
        assert!(unknown.to_string().contains("intervall"), "{unknown}");
        let method: PushgatewayOptions = toml::from_str("method = \"POST\"").unwrap();
        assert_eq!(method.method, PushMethod::Post);
    }

    #[test]
    fn backoff_schedule_stays_within_its_bounds() {
        let policy = RetryPolicy::default();
        let mut previous_max = Duration::ZERO;
        for retry in 1..=20 {
            let base = (0.1 * 2f64.powi(retry as i32 - 1)).min(5.0);
            let low = policy.backoff(retry, 0.999_999);
            let high = policy.backoff(retry, 0.0);
            assert!(
                (high.as_secs_f64() - base).abs() < 1e-9,
                "{retry}: {high:?}"
            );
            assert!(low.as_secs_f64() >= base * 0.8 - 1e-9, "{retry}: {low:?}");
            for _ in 0..50 {
                let wait = policy.backoff(retry, fastrand::f64());
                assert!(wait >= low && wait <= high, "{retry}: {wait:?}");
            }
            assert!(high >= previous_max);
            previous_max = high;
        }
        assert_eq!(policy.backoff(u32::MAX, 0.0), Duration::from_secs(5));
        let odd = RetryPolicy {
            multiplier: f64::NAN,
            jitter: 7.0,
            ..RetryPolicy::default()
        };
        assert!(odd.backoff(3, 0.5) <= Duration::from_secs(5));
    }

    #[test]
    fn backoff_with_no_cap_to_speak_of_does_not_panic() {
        let unbounded = RetryPolicy {
            max_backoff: Duration::MAX,
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        for retry in [1, 60, 70, 200, 1_025, u32::MAX] {
            let wait = unbounded.backoff(retry, 0.0);
            assert!(wait >= Duration::from_millis(100), "{retry}: {wait:?}");
        }
        assert_eq!(unbounded.backoff(200, 0.0), Duration::MAX);
        let huge_start = RetryPolicy {
            initial_backoff: Duration::MAX,
            max_backoff: Duration::MAX,
            ..RetryPolicy::default()
        };
        assert_eq!(huge_start.backoff(1, 0.0), Duration::MAX);
        let _ = huge_start.backoff(200, 0.5);
    }

    #[test]
    fn debug_shows_header_names_not_values() {
        let config: PushConfig = toml::from_str(
            "[[endpoints]]\nprotocol = \"remote_write\"\nurl = \"http://x/w\"\n\
             headers = { Authorization = \"Bearer s3cret\", X-Scope-OrgID = \"tenant-7\" }\n",
        )
        .unwrap();
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("s3cret") && !debug.contains("tenant-7"),
            "{debug}"
        );
        assert!(
            debug
                .contains(r#"headers: {"Authorization": <redacted>, "X-Scope-OrgID": <redacted>}"#),
            "{debug}"
        );
        let pretty = format!("{config:#?}");
        assert!(!pretty.contains("s3cret"), "{pretty}");
        assert!(pretty.contains("url: \"http://x/w\""), "{pretty}");
    }

    #[test]
    fn shown_urls_hide_credentials_query_values_and_fragments() {
        for (url, shown) in [
            ("http://h:9091", "http://h:9091"),
            ("http://h/x/y", "http://h/x/y"),
            ("http://h/w?key=k3y", "http://h/w?key=***"),
            ("http://h/w?key=", "http://h/w?key=***"),
            ("http://h/w?a=b=c&d=e", "http://h/w?a=***&d=***"),
            ("http://h/w?AKIAK3Y", "http://h/w?***"),
            ("http://h/w?a%3Dk3y", "http://h/w?***"),
            ("http://h/w?", "http://h/w?"),
            ("http://h/w?a=1&&b=2", "http://h/w?a=***&&b=***"),
            ("http://h/x#token=k3y", "http://h/x#***"),
            ("http://h/w?a=1#f?b=k3y", "http://h/w?a=***#***"),
            ("http://user:k3y@h:1/w", "http://***@h:1/w"),
            ("http://k3y@h?x=1", "http://***@h?x=***"),
            ("https://h/p@k3y", "https://h/p@k3y"),
            ("not a url?k=k3y", "not a url?k=***"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn a_ca_file_is_read_from_toml() {
        let config: PushConfig = toml::from_str(
            "[[endpoints]]\nprotocol = \"otlp\"\nurl = \"https://collector:4318\"\n\
             ca_file = \"/etc/ssl/private-ca.pem\"\n",
        )
        .unwrap();
        assert_eq!(
            config.endpoints[0].ca_file.as_deref(),
            Some(std::path::Path::new("/etc/ssl/private-ca.pem"))
        );
    }
}

/// A field of an endpoint's configuration that is refused, and why; an
/// [`Error::Push`] once the endpoint is named ([`at`](Self::at)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    /// The field: `url`, `retry.jitter`, `pushgateway.grouping.zone`.
    pub(crate) field: String,
    /// What is wrong with it.
    pub(crate) reason: String,
}

impl FieldError {
    pub(crate) fn new(field: impl Into<String>, reason: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The error of endpoint `endpoint` (its display name).
    pub(crate) fn at(self, endpoint: &str) -> Error {
        Error::Push {
            endpoint: endpoint.to_owned(),
            field: Some(self.field),
            reason: self.reason,
        }
    }
}
