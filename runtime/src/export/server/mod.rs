//! The HTTP endpoint a scraper reads: `GET /metrics` on `127.0.0.1:9464`.
//!
//! ```no_run
//! # async fn example() -> Result<(), telltale::Error> {
//! let server = telltale::server::start(telltale::server::ServerConfig::default()).await?;
//! println!("metrics at {}", server.url().as_deref().unwrap_or("(disabled)"));
//! // ... run the service ...
//! server.stop().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Paths
//!
//! | path (defaults) | answers |
//! |---|---|
//! | `/metrics` | every registered metric, in the negotiated format |
//! | `/metrics.json`, `/metrics.csv` | the same as [`Format::Json`](crate::Format::Json) / [`Format::Csv`](crate::Format::Csv) |
//! | `/health` | `200 ok`: the server is up (never needs credentials) |
//! | `/api/...` | the JSON API of a running [`System`](crate::system::System) |
//! | `/dashboard` | a page showing that API: health, operations with their latency percentiles and success rates, recent failures, exporters |
//!
//! The suffixed paths follow [`ServerConfig::path`]: with `path = "/m"` they are
//! `/m.json` and `/m.csv`. Only `GET` and `HEAD` are answered; other methods
//! on these paths get `405 Method Not Allowed`, other paths `404 Not Found`.
//!
//! # Formats
//!
//! On the metrics path the format is, in order of precedence:
//!
//! 1. the `format` query parameter: `?format=prometheus`, `openmetrics`,
//!    `json` or `csv` (any other value is `400 Bad Request`). A scraper that
//!    cannot choose its `Accept` header picks a format this way; Prometheus
//!    2.x, which always prefers OpenMetrics, reads the 0.0.4 text with
//!    `params: { format: [prometheus] }` in its scrape config;
//! 2. the `Accept` header, as [`Format::negotiate`](crate::Format::negotiate) reads it: OpenMetrics
//!    when asked for, JSON or CSV when named explicitly and preferred, else
//!    the Prometheus text 0.0.4.
//!
//! Each response carries the format's `Content-Type` and `Vary: Accept,
//! Accept-Encoding`, or `Vary: Accept-Encoding` alone when the path or the
//! `format` parameter fixed the format.
//!
//! # Compression
//!
//! When the request's `Accept-Encoding` accepts `gzip` (or `*`) with a
//! quality above zero, the body is gzip-compressed and sent with
//! `Content-Encoding: gzip`; [`ServerConfig::gzip`] turns this off.
//!
//! # Limits
//!
//! - At most [`ServerConfig::max_connections`] connections are served at once. A
//!   connection beyond the cap is answered at once with `503 Service
//!   Unavailable`, `Retry-After: 1` and `Connection: close`, then closed, so
//!   a scraper sees a clear error instead of a hang. (At most 64 such answers
//!   are in progress at a time; past that, extra connections are closed
//!   without one.)
//! - A request's headers must arrive within [`ServerConfig::header_read_timeout`]
//!   of its first byte, and a connection on which nothing is read or written
//!   for [`ServerConfig::idle_timeout`] (an idle keep-alive connection, a client
//!   that stopped sending or reading) is closed.
//! - A request head (request line and headers) is limited to 64 KiB and 100
//!   headers; a longer one, however long its URI, is answered with `431
//!   Request Header Fields Too Large` and the connection closed. (A client
//!   still sending the rest of a huge head may see only the close.)
//!
//! # Credentials
//!
//! With [`ServerConfig::bearer_token`] or [`ServerConfig::basic_auth`] set, every path
//! but the health path needs an `Authorization` header carrying one of them
//! (`Bearer <token>` or `Basic <base64 of user:password>`); without it, or
//! with a wrong one, the answer is `401 Unauthorized` with a
//! `WWW-Authenticate` challenge for each scheme configured. Credentials are
//! compared in constant time. The health path stays open so that load
//! balancers and orchestrators can probe it without a secret; set
//! [`ServerConfig::health_path`] to `""` to turn it off.
//!
//! # Self-metrics
//!
//! The server counts its own work with two families:
//! `telltale_server_scrapes_total{format, encoding}` (one per exposition
//! sent, `encoding` = `gzip` or `identity`; a `HEAD` request, answered
//! without one, is not counted) and
//! `telltale_server_rejected_total{reason}` (`connection_limit`,
//! `unauthorized`, `header_timeout`, `idle_timeout`). A scrape counts itself:
//! its own exposition already includes it.
//!
//! It speaks HTTP/1.1 with keep-alive, on the Tokio runtime that called
//! [`start`]. An exposition is rendered (and compressed) inline on that
//! runtime's worker thread, so with a large registry each scrape's cost is
//! paid on it.

mod config;
mod connection;
mod lifecycle;
mod request;
mod self_metrics;

/// The old name of [`ServerConfig`], kept for code written against it.
#[doc(hidden)]
pub use config::ServerConfig as Config;
pub use config::{BasicAuth, ServerConfig};
pub use lifecycle::{start, Server};
pub(crate) use request::serve_api;
#[cfg(feature = "reload")]
pub(crate) use request::{serve_api_route, serve_reload, ReloadHook};

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use base64::Engine as _;
    use bytes::Bytes;
    use http_body_util::Full;
    use hyper::header::{
        HeaderMap, HeaderValue, ACCEPT_ENCODING, ALLOW, CONTENT_ENCODING, CONTENT_TYPE, VARY,
        WWW_AUTHENTICATE,
    };
    use hyper::{Method, Request, Response, StatusCode};

    use super::config::{BasicAuth, ServerConfig};
    use super::request::{accepts_gzip, constant_time_eq, format_parameter, Handler, Route};
    use super::self_metrics::{EncodingLabel, FormatLabel, ScrapeLabels, SCRAPES};
    use crate::config::env::Env;
    use crate::encode::Format;

    #[test]
    fn defaults_are_the_documented_ones() {
        let mut config = ServerConfig::default();
        assert_eq!(
            (config.host.as_str(), config.port, config.path.as_str()),
            ("127.0.0.1", 9464, "/metrics")
        );
        assert_eq!(config.header_read_timeout, Duration::from_secs(10));
        assert_eq!(config.idle_timeout, Duration::from_secs(90));
        assert_eq!(config.max_connections, 256);
        // The variables table gives the same defaults as text.
        let mut env = Env::from_pairs([
            ("TELLTALE_SERVER_HEADER_READ_TIMEOUT", "10s"),
            ("TELLTALE_SERVER_IDLE_TIMEOUT", "90s"),
        ]);
        config.apply_env(&mut env).unwrap();
        assert_eq!(
            format!("{config:?}"),
            format!("{:?}", ServerConfig::default())
        );
    }

    fn endpoint() -> Handler {
        Handler::new(&ServerConfig::default())
    }

    fn request(method: Method, uri: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap()
    }

    fn content_type(response: &Response<Full<Bytes>>) -> &str {
        response.headers()[CONTENT_TYPE].to_str().unwrap()
    }

    #[test]
    fn default_config() {
        let config = ServerConfig::default();
        assert_eq!(config.host, "127.0.0.1");
        assert_eq!(config.port, 9464);
        assert_eq!(config.path, "/metrics");
        assert_eq!(config.health_path, "/health");
        assert_eq!(config.max_connections, 256);
        assert!(config.enabled && config.gzip);
        assert_eq!(config.bearer_token, None);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn routes_and_methods() {
        let endpoint = endpoint();
        let ok = endpoint.respond(&request(Method::GET, "/metrics", &[]));
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(content_type(&ok), Format::Prometheus.content_type());
        assert_eq!(ok.headers()[VARY], "Accept, Accept-Encoding");
        assert!(ok.headers().get(CONTENT_ENCODING).is_none());

        let query = endpoint.respond(&request(Method::GET, "/metrics?x=1", &[]));
        assert_eq!(query.status(), StatusCode::OK);
        let head = endpoint.respond(&request(Method::HEAD, "/metrics", &[]));
        assert_eq!(head.status(), StatusCode::OK);
        let json = endpoint.respond(&request(Method::GET, "/metrics.json", &[]));
        assert_eq!(content_type(&json), Format::Json.content_type());
        let csv = endpoint.respond(&request(Method::GET, "/metrics.csv", &[]));
        assert_eq!(content_type(&csv), Format::Csv.content_type());
        let health = endpoint.respond(&request(Method::GET, "/health", &[]));
        assert_eq!(health.status(), StatusCode::OK);

        for path in [
            "/",
            "/metrics/",
            "/metric",
            "/other",
            "/METRICS",
            "/metrics.xml",
        ] {
            let response = endpoint.respond(&request(Method::GET, path, &[]));
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let response = endpoint.respond(&request(Method::POST, "/other", &[]));
        assert_eq!(response.status(), StatusCode::NOT_FOUND);

        for path in ["/metrics", "/metrics.json", "/health", "/dashboard"] {
            for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
                let response = endpoint.respond(&request(method.clone(), path, &[]));
                assert_eq!(
                    response.status(),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}"
                );
                assert_eq!(response.headers()[ALLOW], "GET, HEAD");
            }
        }
    }

    #[test]
    fn format_parameter_overrides_accept() {
        let endpoint = endpoint();
        let om_accept = [("accept", "application/openmetrics-text")];
        let cases = [
            ("/metrics?format=prometheus", Format::Prometheus),
            ("/metrics?a=b&format=PROMETHEUS", Format::Prometheus),
            ("/metrics?format=openmetrics", Format::OpenMetrics),
            ("/metrics?format=json", Format::Json),
            ("/metrics?format=csv&format=json", Format::Csv),
            // The suffix fixes the format.
            ("/metrics.json?format=csv", Format::Json),
        ];
        for (uri, format) in cases {
            let response = endpoint.respond(&request(Method::GET, uri, &om_accept));
            assert_eq!(response.status(), StatusCode::OK, "{uri}");
            assert_eq!(content_type(&response), format.content_type(), "{uri}");
        }
        let bad = endpoint.respond(&request(Method::GET, "/metrics?format=xml", &[]));
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert_eq!(format_parameter(Some("format=")), Err(String::new()));
        assert_eq!(format_parameter(Some("formats=json")), Ok(None));
        assert_eq!(format_parameter(None), Ok(None));
    }

    #[test]
    fn negotiates_by_accept() {
        let endpoint = endpoint();
        let om = endpoint.respond(&request(
            Method::GET,
            "/metrics",
            &[(
                "accept",
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
            )],
        ));
        assert_eq!(content_type(&om), Format::OpenMetrics.content_type());
        let text = endpoint.respond(&request(
            Method::GET,
            "/metrics",
            &[("accept", "text/plain")],
        ));
        assert_eq!(content_type(&text), Format::Prometheus.content_type());
        // Two Accept headers count as one list.
        let split = endpoint.respond(&request(
            Method::GET,
            "/metrics",
            &[
                ("accept", "text/plain;q=0.5"),
                ("accept", "application/openmetrics-text"),
            ],
        ));
        assert_eq!(content_type(&split), Format::OpenMetrics.content_type());
        let json = endpoint.respond(&request(
            Method::GET,
            "/metrics",
            &[("accept", "application/json")],
        ));
        assert_eq!(content_type(&json), Format::Json.content_type());
    }

    #[test]
    fn gzip_acceptance() {
        let accepts = |values: &[&str]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
            }
            accepts_gzip(&headers)
        };
        assert!(accepts(&["gzip"]));
        assert!(accepts(&["deflate, gzip;q=0.5"]));
        assert!(accepts(&["br", "GZIP"]));
        assert!(accepts(&["x-gzip"]));
        assert!(accepts(&["*"]));
        assert!(accepts(&["gzip;q=0.001"]));
        assert!(!accepts(&[]));
        assert!(!accepts(&["identity"]));
        assert!(!accepts(&["gzip;q=0"]));
        assert!(
            !accepts(&["gzip;q=0.0, *"]),
            "an explicit gzip;q=0 wins over *"
        );
        assert!(!accepts(&["*;q=0"]));
        assert!(!accepts(&["gzip;q=nonsense"]));
        assert!(accepts(&["gzip;q=1.0"]));
        // A quality outside 0..=1 counts as 0.
        for bad in ["2", "1.5", "inf", "-inf", "NaN", "-0.5", "1e3"] {
            assert!(!accepts(&[&format!("gzip;q={bad}")]), "gzip;q={bad}");
            assert!(!accepts(&[&format!("*;q={bad}")]), "*;q={bad}");
            assert!(!accepts(&[&format!("gzip;q={bad}, *")]), "gzip;q={bad}, *");
        }
    }

    #[test]
    fn vary_names_accept_only_when_it_chose_the_format() {
        let endpoint = endpoint();
        for (uri, vary) in [
            ("/metrics", "Accept, Accept-Encoding"),
            ("/metrics?x=1", "Accept, Accept-Encoding"),
            ("/metrics.json", "Accept-Encoding"),
            ("/metrics.csv", "Accept-Encoding"),
            ("/metrics.json?format=csv", "Accept-Encoding"),
            ("/metrics?format=openmetrics", "Accept-Encoding"),
        ] {
            for method in [Method::GET, Method::HEAD] {
                let response = endpoint.respond(&request(
                    method.clone(),
                    uri,
                    &[("accept", "application/json")],
                ));
                assert_eq!(response.status(), StatusCode::OK, "{method} {uri}");
                assert_eq!(response.headers()[VARY], vary, "{method} {uri}");
            }
        }
    }

    #[test]
    fn head_is_not_counted_as_a_scrape() {
        // No other test scrapes CSV with gzip.
        let scrapes = || {
            SCRAPES
                .labels(ScrapeLabels {
                    format: FormatLabel::Csv,
                    encoding: EncodingLabel::Gzip,
                })
                .get()
        };
        let endpoint = endpoint();
        let gzip = [("accept-encoding", "gzip")];
        let before = scrapes();
        let head = endpoint.respond(&request(Method::HEAD, "/metrics.csv", &gzip));
        assert_eq!(head.status(), StatusCode::OK);
        // The headers are those of the GET: same encoding, same type.
        assert_eq!(head.headers()[CONTENT_ENCODING], "gzip");
        assert_eq!(content_type(&head), Format::Csv.content_type());
        assert_eq!(scrapes(), before, "HEAD counted as a scrape");
        let get = endpoint.respond(&request(Method::GET, "/metrics.csv", &gzip));
        assert_eq!(get.status(), StatusCode::OK);
        assert_eq!(scrapes(), before + 1, "GET not counted");
    }

    #[test]
    fn compresses_when_accepted() {
        use std::io::Read as _;
        let endpoint = endpoint();
        let response = endpoint.respond(&request(
            Method::GET,
            "/metrics",
            &[("accept-encoding", "gzip")],
        ));
        assert_eq!(response.headers()[CONTENT_ENCODING], "gzip");
        let off = Handler::new(&ServerConfig {
            gzip: false,
            ..ServerConfig::default()
        });
        let plain = off.respond(&request(
            Method::GET,
            "/metrics",
            &[("accept-encoding", "gzip")],
        ));
        assert!(plain.headers().get(CONTENT_ENCODING).is_none());

        let text = "a_total 1\n".repeat(100);
        let compressed = crate::encode::gzip::gzip(text.as_bytes());
        assert!(compressed.len() < text.len() / 4);
        let mut decoded = String::new();
        flate2::read::GzDecoder::new(compressed.as_slice())
            .read_to_string(&mut decoded)
            .unwrap();
        assert_eq!(decoded, text);
    }

    #[test]
    fn credentials() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secreT", b"secret"));
        assert!(!constant_time_eq(b"secret!", b"secret"));
        assert!(!constant_time_eq(b"secre", b"secret"));
        assert!(!constant_time_eq(b"", b"secret"));
        // A missing byte is compared as a byte that differs, even when the
        // secret holds 0xff.
        assert!(!constant_time_eq(b"", b"\xff"));

        let endpoint = Handler::new(&ServerConfig {
            bearer_token: Some("tok".to_owned()),
            basic_auth: Some(BasicAuth {
                username: "user".to_owned(),
                password: "pa:ss".to_owned(),
            }),
            ..ServerConfig::default()
        });
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("user:pa:ss")
        );
        for good in ["Bearer tok", "bearer  tok ", basic.as_str()] {
            let response = endpoint.respond(&request(
                Method::GET,
                "/metrics",
                &[("authorization", good)],
            ));
            assert_eq!(response.status(), StatusCode::OK, "{good}");
        }
        for bad in [
            "Bearer tok2",
            "Bearer",
            "Basic dXNlcjpwYXNz",
            "tok",
            "Basic !!",
        ] {
            let response =
                endpoint.respond(&request(Method::GET, "/metrics", &[("authorization", bad)]));
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{bad}");
            let challenges: Vec<_> = response
                .headers()
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .collect();
            assert_eq!(challenges.len(), 2);
        }
        // 401 before 404, so paths are not probed without credentials.
        let response = endpoint.respond(&request(Method::GET, "/nope", &[]));
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let health = endpoint.respond(&request(Method::GET, "/health", &[]));
        assert_eq!(health.status(), StatusCode::OK);
        // The dashboard page is behind the same credentials as `/metrics`.
        let page = endpoint.respond(&request(Method::GET, "/dashboard", &[]));
        assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
        let page = endpoint.respond(&request(
            Method::GET,
            "/dashboard",
            &[("authorization", "Bearer tok")],
        ));
        assert_eq!(page.status(), StatusCode::OK);
        // With a trailing slash: sent to the page (its links are relative).
        let slash = endpoint.respond(&request(
            Method::GET,
            "/dashboard/",
            &[("authorization", "Bearer tok")],
        ));
        assert_eq!(slash.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(slash.headers()["location"], "/dashboard");
    }

    #[test]
    fn validation_names_the_field() {
        let cases: Vec<(ServerConfig, &str)> = vec![
            (
                ServerConfig {
                    path: "metrics".to_owned(),
                    ..ServerConfig::default()
                },
                "\"metrics\"",
            ),
            (
                ServerConfig {
                    path: "/m?x".to_owned(),
                    ..ServerConfig::default()
                },
                "'?'",
            ),
            (
                ServerConfig {
                    health_path: "/metrics.json".to_owned(),
                    ..ServerConfig::default()
                },
                "health_path",
            ),
            (
                ServerConfig {
                    health_path: "health".to_owned(),
                    ..ServerConfig::default()
                },
                "health_path",
            ),
            (
                ServerConfig {
                    max_connections: 0,
                    ..ServerConfig::default()
                },
                "max_connections",
            ),
            (
                ServerConfig {
                    header_read_timeout: Duration::ZERO,
                    ..ServerConfig::default()
                },
                "header_read_timeout",
            ),
            (
                ServerConfig {
                    idle_timeout: Duration::ZERO,
                    ..ServerConfig::default()
                },
                "idle_timeout",
            ),
            (
                ServerConfig {
                    bearer_token: Some(String::new()),
                    ..ServerConfig::default()
                },
                "bearer_token",
            ),
            (
                ServerConfig {
                    basic_auth: Some(BasicAuth {
                        username: "a:b".to_owned(),
                        password: String::new(),
                    }),
                    ..ServerConfig::default()
                },
                "basic_auth.username",
            ),
        ];
        for (config, needle) in cases {
            let message = config.validate().unwrap_err().to_string();
            assert!(message.contains(needle), "{message} should name {needle}");
        }
        let empty_health = ServerConfig {
            health_path: String::new(),
            ..ServerConfig::default()
        };
        assert!(empty_health.validate().is_ok());
        assert!(matches!(
            Handler::new(&empty_health).route("/health"),
            Route::NotFound
        ));
    }

    #[test]
    fn remembers_the_exposition_size() {
        let endpoint = endpoint();
        let text = endpoint.render(Format::OpenMetrics);
        assert!(text.ends_with("# EOF\n"));
        assert_eq!(endpoint.last_len.load(Ordering::Relaxed), text.len());
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let config = ServerConfig {
            bearer_token: Some("tok-123".to_owned()),
            basic_auth: Some(BasicAuth {
                username: "scraper".to_owned(),
                password: "pw-456".to_owned(),
            }),
            ..ServerConfig::default()
        };
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("tok-123") && !debug.contains("pw-456"),
            "{debug}"
        );
        assert!(debug.contains("scraper"));
    }
}
