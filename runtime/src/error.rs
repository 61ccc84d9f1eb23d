//! The error type of every fallible telltale call.

use std::fmt;

/// What went wrong, and where.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A metric or label name that the exposition formats do not allow.
    InvalidName {
        /// What was being named: "metric", "label".
        what: &'static str,
        /// The name given.
        name: String,
        /// Why it is not allowed.
        reason: String,
    },
    /// The server could not bind its address.
    Bind {
        /// The address, `host:port`.
        addr: String,
        /// The error from the operating system.
        source: std::io::Error,
    },
    /// Any other I/O error.
    Io(std::io::Error),
    /// An invalid configuration value.
    Config(String),
    /// An observation on a dynamic metric with required labels left unbound.
    MissingLabels {
        /// The metric.
        metric: String,
        /// The labels with no value, in declaration order.
        labels: Vec<String>,
    },
    /// A label bound on a dynamic metric that does not declare it.
    UnknownLabel {
        /// The metric.
        metric: String,
        /// The label given.
        label: String,
    },
    /// A metric name registered again with another type or other labels.
    Conflict {
        /// The metric name.
        name: String,
        /// What differs.
        reason: String,
    },
    /// A push endpoint that cannot be started or reached, or a push that
    /// failed.
    Push {
        /// The endpoint's name (its URL, secrets hidden by
        /// [`redact_url`](crate::push::redact_url), when it has no name);
        /// empty for a problem of the push configuration as a whole.
        endpoint: String,
        /// The configuration field at fault (`url`, `timeout`,
        /// `pushgateway.job`), if the problem is one field.
        field: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// A metric source that cannot be started, or whose configuration is
    /// invalid.
    Source {
        /// The source's name; empty for a problem of the sources as a
        /// whole.
        source: String,
        /// The configuration field at fault (`interval`, `command`), if
        /// the problem is one field.
        field: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// A payload that cannot be encoded, or a body that does not decode as
    /// the format it should be in.
    Payload {
        /// The payload's format: `remote-write`, `OTLP`.
        format: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A multi-process backend that cannot be chosen or started.
    Backend {
        /// The backend: `single`, `file`, `redis`.
        backend: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidName { what, name, reason } => {
                write!(f, "invalid {what} name {name:?}: {reason}")
            }
            Error::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Config(msg) => write!(f, "invalid configuration: {msg}"),
            Error::MissingLabels { metric, labels } => {
                write!(
                    f,
                    "metric {metric:?} needs values for the labels {labels:?}"
                )
            }
            Error::UnknownLabel { metric, label } => {
                write!(f, "metric {metric:?} has no label {label:?}")
            }
            Error::Conflict { name, reason } => {
                write!(f, "metric {name:?} is already registered {reason}")
            }
            Error::Push {
                endpoint,
                field,
                reason,
            } => scoped(f, "push endpoint", endpoint, field.as_deref(), reason),
            Error::Source {
                source,
                field,
                reason,
            } => scoped(f, "source", source, field.as_deref(), reason),
            Error::Payload { format, reason } => write!(f, "{format} payload: {reason}"),
            Error::Backend { backend, reason } => write!(f, "{backend} backend: {reason}"),
        }
    }
}

/// `push endpoint "name", field `url`: reason`: what (the name left out
/// when empty, then the word after the first space too), the field if
/// any, and the reason.
fn scoped(
    f: &mut fmt::Formatter<'_>,
    what: &str,
    name: &str,
    field: Option<&str>,
    reason: &str,
) -> fmt::Result {
    if name.is_empty() {
        f.write_str(what.split(' ').next().unwrap_or(what))?;
    } else {
        write!(f, "{what} {name:?}")?;
    }
    if let Some(field) = field {
        write!(f, ", field `{field}`")?;
    }
    write!(f, ": {reason}")
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Bind { source, .. } | Error::Io(source) => Some(source),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

/// Checks a metric name against `[a-zA-Z_:][a-zA-Z0-9_:]*` (and no leading `__`).
pub(crate) const fn metric_name_problem(name: &str) -> Option<&'static str> {
    name_problem(name.as_bytes(), true)
}

const fn name_problem(b: &[u8], colons: bool) -> Option<&'static str> {
    if b.is_empty() {
        return Some("it is empty");
    }
    if b.len() >= 2 && b[0] == b'_' && b[1] == b'_' {
        return Some("names starting with `__` are reserved");
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let ok = c.is_ascii_alphabetic()
            || c == b'_'
            || (colons && c == b':')
            || (i > 0 && c.is_ascii_digit());
        if !ok {
            return Some(if colons {
                "it must match [a-zA-Z_:][a-zA-Z0-9_:]*"
            } else {
                "it must match [a-zA-Z_][a-zA-Z0-9_]*"
            });
        }
        i += 1;
    }
    None
}

/// Checks a label name against `[a-zA-Z_][a-zA-Z0-9_]*` (no leading `__`).
pub(crate) fn check_label_name(name: &str) -> Result<(), Error> {
    match name_problem(name.as_bytes(), false) {
        None => Ok(()),
        Some(reason) => Err(Error::InvalidName {
            what: "label",
            name: name.to_owned(),
            reason: reason.to_owned(),
        }),
    }
}

pub(crate) fn check_metric_name(name: &str) -> Result<(), Error> {
    match metric_name_problem(name) {
        None => Ok(()),
        Some(reason) => Err(Error::InvalidName {
            what: "metric",
            name: name.to_owned(),
            reason: reason.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(metric_name_problem("http_requests_total").is_none());
        assert!(metric_name_problem("a:b").is_none());
        assert!(metric_name_problem("1abc").is_some());
        assert!(metric_name_problem("__x").is_some());
        assert!(metric_name_problem("").is_some());
        assert!(metric_name_problem("a-b").is_some());
        let e = check_metric_name("bad name").unwrap_err().to_string();
        assert!(
            e.contains("\"bad name\"") && e.contains("[a-zA-Z_:]"),
            "{e}"
        );
    }
}
