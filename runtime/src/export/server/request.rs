//! Requests: routing, authentication, negotiation of format and encoding, the `/api` hook and the dashboard page.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{
    HeaderMap, HeaderValue, ACCEPT, ACCEPT_ENCODING, ALLOW, AUTHORIZATION, CACHE_CONTROL,
    CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE, VARY, WWW_AUTHENTICATE,
    X_CONTENT_TYPE_OPTIONS,
};
use hyper::{Method, Request, Response, StatusCode};

use crate::encode::Format;

use super::config::ServerConfig;
use super::self_metrics::{
    count_rejection, EncodingLabel, FormatLabel, Rejection, ScrapeLabels, SCRAPES,
};

/// Where a request's path leads.
pub(super) enum Route<'a> {
    Health,
    /// A metrics path; `Some` when its suffix fixes the format.
    Metrics(Option<Format>),
    /// `/api/<path>`, with the path after `/api/`.
    Api(&'a str),
    /// The dashboard page over the API.
    Dashboard,
    /// `/dashboard/`: sent to `/dashboard`, whose page's links are
    /// relative to it.
    DashboardSlash,
    /// `/-/reload`: reload the configuration, when something serves it.
    Reload,
    NotFound,
}

/// What a request is answered from.
pub(super) struct Handler {
    pub(super) path: String,
    pub(super) json_path: String,
    pub(super) csv_path: String,
    pub(super) health_path: Option<String>,
    pub(super) gzip: bool,
    pub(super) auth: Auth,
    /// Length of the last exposition, to size the next buffer in one go.
    pub(super) last_len: AtomicUsize,
}

/// The credentials a request must present, if any.
pub(super) struct Auth {
    pub(super) bearer: Option<Box<[u8]>>,
    /// `user:password`, as basic authentication encodes it.
    pub(super) basic: Option<Box<[u8]>>,
    pub(super) challenge: Vec<HeaderValue>,
}

impl Auth {
    fn new(config: &ServerConfig) -> Auth {
        let bearer = config
            .bearer_token
            .as_ref()
            .map(|token| token.as_bytes().into());
        let basic = config.basic_auth.as_ref().map(|basic| {
            format!("{}:{}", basic.username, basic.password)
                .into_bytes()
                .into()
        });
        let mut challenge = Vec::new();
        if bearer.is_some() {
            challenge.push(HeaderValue::from_static("Bearer realm=\"telltale\""));
        }
        if basic.is_some() {
            challenge.push(HeaderValue::from_static(
                "Basic realm=\"telltale\", charset=\"UTF-8\"",
            ));
        }
        Auth {
            bearer,
            basic,
            challenge,
        }
    }

    /// Whether `headers` carry acceptable credentials (always, when none are
    /// configured).
    fn allows(&self, headers: &HeaderMap) -> bool {
        if self.bearer.is_none() && self.basic.is_none() {
            return true;
        }
        let mut allowed = false;
        for value in headers.get_all(AUTHORIZATION) {
            let value = value.as_bytes();
            let Some(space) = value.iter().position(|b| *b == b' ') else {
                continue;
            };
            let (scheme, rest) = value.split_at(space);
            let credentials = rest.trim_ascii();
            if scheme.eq_ignore_ascii_case(b"bearer") {
                if let Some(token) = &self.bearer {
                    allowed |= constant_time_eq(credentials, token);
                }
            } else if scheme.eq_ignore_ascii_case(b"basic") {
                if let Some(expected) = &self.basic {
                    if let Ok(decoded) =
                        base64::engine::general_purpose::STANDARD.decode(credentials)
                    {
                        allowed |= constant_time_eq(&decoded, expected);
                    }
                }
            }
        }
        allowed
    }
}

/// Compares `given` with `secret` in a time that depends on the secret's
/// length only, not on where they first differ.
pub(super) fn constant_time_eq(given: &[u8], secret: &[u8]) -> bool {
    let mut difference = u8::from(given.len() != secret.len());
    for (i, expected) in secret.iter().enumerate() {
        let byte = given.get(i).copied().unwrap_or(!*expected);
        difference |= std::hint::black_box(byte ^ expected);
    }
    difference == 0
}

impl Handler {
    pub(super) fn new(config: &ServerConfig) -> Handler {
        Handler {
            path: config.path.clone(),
            json_path: config.json_path(),
            csv_path: config.csv_path(),
            health_path: (!config.health_path.is_empty()).then(|| config.health_path.clone()),
            gzip: config.gzip,
            auth: Auth::new(config),
            last_len: AtomicUsize::new(0),
        }
    }

    pub(super) fn route<'a>(&self, path: &'a str) -> Route<'a> {
        if path == self.path {
            Route::Metrics(None)
        } else if path == self.json_path {
            Route::Metrics(Some(Format::Json))
        } else if path == self.csv_path {
            Route::Metrics(Some(Format::Csv))
        } else if self.health_path.as_deref() == Some(path) {
            Route::Health
        } else if let Some(api) = path.strip_prefix("/api/") {
            Route::Api(api)
        } else if path == "/dashboard" {
            Route::Dashboard
        } else if path == "/dashboard/" {
            Route::DashboardSlash
        } else if path == "/-/reload" {
            Route::Reload
        } else {
            Route::NotFound
        }
    }

    /// The answer to `request`: [`respond`](Self::respond)'s, or for
    /// `POST /-/reload` (credentials checked), the reload's.
    pub(super) async fn serve<B>(&self, request: &Request<B>) -> Response<Full<Bytes>> {
        let reload = matches!(self.route(request.uri().path()), Route::Reload)
            && matches!(*request.method(), Method::POST | Method::PUT)
            && self.auth.allows(request.headers());
        if !reload {
            return self.respond(request);
        }
        let hook = RELOAD
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        match hook {
            None => plain(
                StatusCode::NOT_FOUND,
                "Not Found: no configuration file is loaded for reloading\n",
            ),
            Some(hook) => match hook().await {
                Ok(summary) => plain(StatusCode::OK, format!("{summary}\n")),
                Err(error) => plain(StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n")),
            },
        }
    }

    pub(super) fn respond<B>(&self, request: &Request<B>) -> Response<Full<Bytes>> {
        let readable = request.method() == Method::GET || request.method() == Method::HEAD;
        let route = self.route(request.uri().path());
        if !matches!(route, Route::Health) && !self.auth.allows(request.headers()) {
            count_rejection(Rejection::Unauthorized);
            let mut response = plain(StatusCode::UNAUTHORIZED, "Unauthorized\n");
            for challenge in &self.auth.challenge {
                response
                    .headers_mut()
                    .append(WWW_AUTHENTICATE, challenge.clone());
            }
            return response;
        }
        match route {
            Route::Api(path) if readable => {
                let (status, body) = api(path);
                let mut response = Response::new(Full::new(Bytes::from(body)));
                *response.status_mut() =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                response
            }
            Route::NotFound | Route::Api(_) => plain(StatusCode::NOT_FOUND, "Not Found\n"),
            Route::Reload => {
                let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
                response
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("POST, PUT"));
                response
            }
            Route::Health | Route::Metrics(_) | Route::Dashboard if !readable => {
                let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
                response
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
                response
            }
            Route::Health => plain(StatusCode::OK, "ok\n"),
            Route::Dashboard => dashboard(),
            Route::DashboardSlash => {
                let mut response = plain(StatusCode::PERMANENT_REDIRECT, "See /dashboard\n");
                response.headers_mut().insert(
                    hyper::header::LOCATION,
                    hyper::header::HeaderValue::from_static("/dashboard"),
                );
                response
            }
            Route::Metrics(fixed) => self.metrics(request, fixed),
        }
    }

    fn metrics<B>(&self, request: &Request<B>, fixed: Option<Format>) -> Response<Full<Bytes>> {
        // Whether the `Accept` header chose the format.
        let mut negotiated = false;
        let format = match fixed {
            Some(format) => format,
            None => match format_parameter(request.uri().query()) {
                Ok(Some(format)) => format,
                Ok(None) => {
                    negotiated = true;
                    Format::negotiate(accept_header(request).as_deref())
                }
                Err(given) => {
                    return plain(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "Unknown format {given:?}: use format=prometheus, openmetrics, json or csv\n"
                        ),
                    )
                }
            },
        };
        let gzip = self.gzip && accepts_gzip(request.headers());
        let encoding = if gzip {
            EncodingLabel::Gzip
        } else {
            EncodingLabel::Identity
        };
        // Counted before the metrics are read, so a scrape counts itself. A
        // HEAD request is rendered (and compressed) too, for its
        // Content-Length, but is sent no exposition and not counted.
        if request.method() != Method::HEAD {
            SCRAPES
                .labels(ScrapeLabels {
                    format: format_label(format),
                    encoding,
                })
                .inc();
        }
        let text = self.render(format);
        let body = if gzip {
            Bytes::from(crate::encode::gzip::gzip(text.as_bytes()))
        } else {
            Bytes::from(text)
        };
        // hyper sends only the headers (with the body's Content-Length) to a
        // HEAD request.
        let mut response = Response::new(Full::new(body));
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        headers.insert(
            VARY,
            HeaderValue::from_static(if negotiated {
                "Accept, Accept-Encoding"
            } else {
                "Accept-Encoding"
            }),
        );
        if gzip {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
    }

    /// Every registered metric, in `format`.
    pub(super) fn render(&self, format: Format) -> String {
        let hint = self.last_len.load(Ordering::Relaxed);
        let mut out = String::with_capacity(hint + hint / 8);
        crate::encode::render_into(format, &mut out);
        self.last_len.store(out.len(), Ordering::Relaxed);
        out
    }
}

/// The dashboard page: one self-contained HTML document (no outside
/// resources) whose script reads `/api/dashboard/*` every 5 seconds.
pub(super) const DASHBOARD: &str = include_str!("dashboard.html");

/// Answers a path below `/api/`: status code and JSON body.
pub(crate) type ApiHandler = fn(&str) -> (u16, String);

/// What answers `/api/...`: set by the first [`System`](crate::system::System)
/// that starts (the server does not know the system; the system plugs
/// itself in).
pub(super) static API: std::sync::OnceLock<ApiHandler> = std::sync::OnceLock::new();

/// Makes `handler` answer `/api/...` from now on (the first call wins).
pub(crate) fn serve_api(handler: ApiHandler) {
    let _ = API.set(handler);
}

/// What `POST /-/reload` runs: a reload, answering a summary of what
/// changed, or why nothing did.
pub(crate) type ReloadHook = std::sync::Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>> + Send>>
        + Send
        + Sync,
>;

/// What answers `POST /-/reload`: set by the configuration that watches
/// its file (the server does not know configurations; they plug in).
static RELOAD: std::sync::RwLock<Option<ReloadHook>> = std::sync::RwLock::new(None);

#[cfg(feature = "reload")]
/// Makes `hook` answer `POST /-/reload` from now on (`None`: nothing does,
/// and the path is `404`).
pub(crate) fn serve_reload(hook: Option<ReloadHook>) {
    *RELOAD
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = hook;
}

/// Answers one fixed path below `/api/`, whatever the system: status and
/// JSON body.
pub(crate) type ApiRoute = fn() -> (u16, String);

/// Paths below `/api/` answered by a layer above the system (`config`).
static ROUTES: std::sync::RwLock<Vec<(&'static str, ApiRoute)>> =
    std::sync::RwLock::new(Vec::new());

#[cfg(feature = "reload")]
/// Makes `route` answer `/api/<path>` from now on (replacing an earlier
/// route of that path).
pub(crate) fn serve_api_route(path: &'static str, route: ApiRoute) {
    let mut routes = ROUTES
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    routes.retain(|(p, _)| *p != path);
    routes.push((path, route));
}

/// The answer to `/api/<path>`; 503 while nothing serves the API.
pub(super) fn api(path: &str) -> (u16, String) {
    let route = ROUTES
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, route)| *route);
    if let Some(route) = route {
        return route();
    }
    match API.get() {
        Some(handler) => handler(path),
        None => (
            503,
            r#"{"error":"no telltale System is running"}"#.to_owned(),
        ),
    }
}

pub(super) fn dashboard() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(DASHBOARD.as_bytes())));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The page's own inline script and style, and requests to this server;
    // nothing else, and no framing.
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) fn format_label(format: Format) -> FormatLabel {
    match format {
        Format::Prometheus => FormatLabel::Prometheus,
        Format::OpenMetrics => FormatLabel::OpenMetrics,
        Format::Json => FormatLabel::Json,
        Format::Csv => FormatLabel::Csv,
    }
}

/// The value of the first `format` query parameter: `Ok(None)` when there
/// is none, `Err(value)` when it names no format.
pub(super) fn format_parameter(query: Option<&str>) -> Result<Option<Format>, String> {
    let Some(query) = query else {
        return Ok(None);
    };
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "format" {
            return Format::from_name(value)
                .map(Some)
                .ok_or_else(|| value.chars().take(64).collect());
        }
    }
    Ok(None)
}

/// Whether an `Accept-Encoding` header list accepts gzip: `gzip` (or
/// `x-gzip`) with a quality above zero, or, when gzip is not named, `*`
/// with a quality above zero. A quality that does not parse or lies outside
/// 0..=1 counts as 0, as in [`Format::negotiate`].
pub(super) fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip: Option<f64> = None;
    let mut any: Option<f64> = None;
    for value in headers.get_all(ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for coding in value.split(',') {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let mut quality = 1.0_f64;
            for parameter in parts {
                if let Some((key, value)) = parameter.split_once('=') {
                    if key.trim().eq_ignore_ascii_case("q") {
                        quality = value.trim().parse().unwrap_or(0.0);
                        if !(0.0..=1.0).contains(&quality) {
                            quality = 0.0;
                        }
                    }
                }
            }
            let slot = if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
                &mut gzip
            } else if name == "*" {
                &mut any
            } else {
                continue;
            };
            *slot = Some(slot.map_or(quality, |q| q.max(quality)));
        }
    }
    gzip.or(any).is_some_and(|quality| quality > 0.0)
}

/// The `Accept` header, several of them joined with commas as HTTP allows;
/// values that are not text are ignored.
pub(super) fn accept_header<B>(request: &Request<B>) -> Option<Cow<'_, str>> {
    let mut values = request
        .headers()
        .get_all(ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok());
    let first = values.next()?;
    match values.next() {
        None => Some(Cow::Borrowed(first)),
        Some(second) => {
            let mut joined = format!("{first},{second}");
            for value in values {
                joined.push(',');
                joined.push_str(value);
            }
            Some(Cow::Owned(joined))
        }
    }
}

pub(super) fn plain(status: StatusCode, text: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(text.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
