//! The `Source` trait, what a run's failure says, a source's schedule, and
//! the static registration of sources.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::batch::Batch;
use super::breaker::BreakerConfig;
use crate::error::Error;

/// Metrics that come from outside the program: a command, a database, a
/// service. Each source runs on its own schedule on tokio
/// ([`SourceOptions`]); a run fills a [`Batch`], and a scrape serves the
/// last good batch of every source.
///
/// A run that takes longer than the timeout is cut off (its future is
/// dropped), a run that panics is caught; both count as failures, and
/// neither delays a scrape, another source or the recording of metrics.
///
/// ```
/// use telltale::sources::{Batch, Source, SourceError, SourceOptions};
///
/// struct QueueDepth;
///
/// impl Source for QueueDepth {
///     fn name(&self) -> &str {
///         "queue_depth"
///     }
///
///     async fn collect(&self, batch: &mut Batch) -> Result<(), SourceError> {
///         let depth = 42.0; // read it from wherever it lives
///         batch
///             .gauge("queue_depth", "Jobs waiting.", &[("queue", "mail")], depth)
///             .map_err(SourceError::parse)
///     }
/// }
///
/// // Run by every `telltale::sources::start` of the process:
/// telltale::register_source!(|| QueueDepth);
/// ```
pub trait Source: Send + Sync + 'static {
    /// The source's name: the `source` label of its `telltale_source_*`
    /// series. Unique among the sources that run together.
    fn name(&self) -> &str;

    /// Its schedule, timeout and breaker.
    fn options(&self) -> SourceOptions {
        SourceOptions::default()
    }

    /// One run: reads the source and adds its series to `batch`.
    fn collect(&self, batch: &mut Batch) -> impl Future<Output = Result<(), SourceError>> + Send;
}

/// A source's schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceOptions {
    /// Time between the starts of two runs (default 60 s). A run that takes
    /// longer delays the next one, never overlaps it.
    pub interval: Duration,
    /// The longest a run may take (default 10 s, and never longer than
    /// the interval).
    pub timeout: Duration,
    /// How long the last good batch is served after it was read, while
    /// later runs fail or the breaker is open (default three intervals);
    /// after that the source's series are gone until a run succeeds, so
    /// a dashboard shows a gap rather than an old number.
    pub stale_after: Option<Duration>,
    /// The circuit breaker.
    pub breaker: BreakerConfig,
    /// Labels added to every series of the source.
    pub labels: Vec<(String, String)>,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            interval: Duration::from_mins(1),
            timeout: Duration::from_secs(10),
            stale_after: None,
            breaker: BreakerConfig::default(),
            labels: Vec::new(),
        }
    }
}

impl SourceOptions {
    /// The timeout, at most the interval.
    pub(crate) fn effective_timeout(&self) -> Duration {
        self.timeout.min(self.interval)
    }

    /// These options for the scheduler of a source that keeps its own
    /// timeout (and reports it better): the scheduler's cut-off comes half
    /// a second after it.
    pub(crate) fn with_grace(&self) -> SourceOptions {
        let mut options = self.clone();
        options.timeout = self.effective_timeout() + Duration::from_millis(500);
        options.interval = options.interval.max(options.timeout);
        options
    }

    /// How long a good batch is served: `stale_after`, or three intervals.
    pub(crate) fn effective_stale_after(&self) -> Duration {
        self.stale_after.unwrap_or(self.interval.saturating_mul(3))
    }
}

/// Why a run failed, as the `kind` label of `telltale_source_errors_total`
/// says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "json", derive(serde::Serialize))]
#[cfg_attr(feature = "json", serde(rename_all = "snake_case"))]
pub enum ErrorKind {
    /// The run took longer than its timeout.
    Timeout,
    /// A command exited with a non-zero status or was killed.
    ExitStatus,
    /// The output was not valid in its format, or not valid metrics.
    Parse,
    /// The source could not be reached (a command that cannot start, a
    /// database that refuses connections).
    Connect,
    /// A database query failed.
    Query,
    /// The run panicked.
    Panic,
    /// A command printed more than its cap.
    OutputTooLarge,
}

impl ErrorKind {
    /// Every kind, in label order.
    pub const ALL: [ErrorKind; 7] = [
        ErrorKind::Timeout,
        ErrorKind::ExitStatus,
        ErrorKind::Parse,
        ErrorKind::Connect,
        ErrorKind::Query,
        ErrorKind::Panic,
        ErrorKind::OutputTooLarge,
    ];

    /// The `kind` label's value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::ExitStatus => "exit_status",
            ErrorKind::Parse => "parse",
            ErrorKind::Connect => "connect",
            ErrorKind::Query => "query",
            ErrorKind::Panic => "panic",
            ErrorKind::OutputTooLarge => "output_too_large",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed run: its kind and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    /// The kind, for `telltale_source_errors_total`.
    pub kind: ErrorKind,
    /// What happened, in words (the source's last error).
    pub message: String,
}

impl SourceError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl fmt::Display) -> SourceError {
        SourceError {
            kind,
            message: message.to_string(),
        }
    }

    /// A [`ErrorKind::Parse`] error: output that is not valid metrics.
    pub fn parse(message: impl fmt::Display) -> SourceError {
        SourceError::new(ErrorKind::Parse, message)
    }

    /// A [`ErrorKind::Connect`] error.
    pub fn connect(message: impl fmt::Display) -> SourceError {
        SourceError::new(ErrorKind::Connect, message)
    }

    /// A [`ErrorKind::Query`] error.
    pub fn query(message: impl fmt::Display) -> SourceError {
        SourceError::new(ErrorKind::Query, message)
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for SourceError {}

/// A run's future, boxed.
pub(crate) type Run<'a> = Pin<Box<dyn Future<Output = Result<(), SourceError>> + Send + 'a>>;

/// A [`Source`] behind a pointer: what the scheduler runs.
pub(crate) trait DynSource: Send + Sync + 'static {
    fn name(&self) -> &str;
    fn options(&self) -> SourceOptions;
    fn run<'a>(&'a self, batch: &'a mut Batch) -> Run<'a>;
}

impl<S: Source> DynSource for S {
    fn name(&self) -> &str {
        Source::name(self)
    }

    fn options(&self) -> SourceOptions {
        Source::options(self)
    }

    fn run<'a>(&'a self, batch: &'a mut Batch) -> Run<'a> {
        Box::pin(self.collect(batch))
    }
}

/// A source of any type, ready to run: from [`SourceBox::new`], or from a
/// [`register_source!`](crate::register_source) entry.
#[derive(Clone)]
pub struct SourceBox(pub(crate) Arc<dyn DynSource>);

impl SourceBox {
    /// Boxes `source`.
    pub fn new<S: Source>(source: S) -> SourceBox {
        SourceBox(Arc::new(source))
    }

    /// The source's name.
    pub fn name(&self) -> &str {
        self.0.name()
    }
}

impl fmt::Debug for SourceBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SourceBox").field(&self.0.name()).finish()
    }
}

/// A source registered with [`register_source!`](crate::register_source).
pub struct Registration {
    make: fn() -> SourceBox,
}

impl Registration {
    /// The entry of a source that `make` builds (when sources start).
    #[doc(hidden)]
    pub const fn new(make: fn() -> SourceBox) -> Registration {
        Registration { make }
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration").finish_non_exhaustive()
    }
}

inventory::collect!(Registration);

/// Every source registered with [`register_source!`](crate::register_source),
/// built now.
pub(crate) fn registered() -> Vec<SourceBox> {
    inventory::iter::<Registration>
        .into_iter()
        .map(|r| (r.make)())
        .collect()
}

/// Registers a source, built by the closure or function given, for every
/// [`sources::start`](crate::sources::start) of the process (as
/// `inventory` collects it before `main`).
///
/// ```
/// use telltale::sources::{Batch, Source, SourceError};
///
/// struct Up;
/// impl Source for Up {
///     fn name(&self) -> &str { "up" }
///     async fn collect(&self, batch: &mut Batch) -> Result<(), SourceError> {
///         batch.gauge("thing_up", "", &[], 1.0).map_err(SourceError::parse)
///     }
/// }
/// telltale::register_source!(|| Up);
/// ```
#[macro_export]
macro_rules! register_source {
    ($make:expr $(,)?) => {
        $crate::__private::inventory::submit! {
            $crate::sources::Registration::new(|| $crate::sources::SourceBox::new(($make)()))
        }
    };
}

fn source_error(source: &str, field: Option<&str>, reason: impl Into<String>) -> Error {
    Error::Source {
        source: source.to_owned(),
        field: field.map(str::to_owned),
        reason: reason.into(),
    }
}

/// Checks a source's name and schedule.
pub(crate) fn check(name: &str, options: &SourceOptions) -> Result<(), Error> {
    let err = |field: &str, reason: String| source_error(name, Some(field), reason);
    if name.is_empty() {
        return Err(source_error(name, Some("name"), "a source needs a name"));
    }
    if options.interval.is_zero() {
        return Err(err("interval", "must be above zero".into()));
    }
    if options.timeout.is_zero() {
        return Err(err("timeout", "must be above zero".into()));
    }
    let day = Duration::from_hours(24);
    for (field, d) in [
        ("interval", Some(options.interval)),
        ("timeout", Some(options.timeout)),
        ("stale_after", options.stale_after),
    ] {
        if d.is_some_and(|d| d > day) {
            return Err(err(
                field,
                format!("{d:?} is more than the limit of one day"),
            ));
        }
    }
    if let Some((field, reason)) = options.breaker.problem() {
        return Err(err(field, reason));
    }
    for (label, _) in &options.labels {
        crate::error::check_label_name(label).map_err(|e| err("labels", e.to_string()))?;
    }
    Ok(())
}
