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

/// What is wrong with a metric or label name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameFault {
    Empty,
    Reserved,
    /// The character at byte `at` (`len` bytes of UTF-8) is not allowed there.
    Char {
        at: usize,
        len: usize,
    },
}

const METRIC_RULE: &str = "a metric name matches [a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL_RULE: &str = "a label name matches [a-zA-Z_][a-zA-Z0-9_]*";

const fn name_fault(b: &[u8], colons: bool) -> Option<NameFault> {
    if b.is_empty() {
        return Some(NameFault::Empty);
    }
    if b.len() >= 2 && b[0] == b'_' && b[1] == b'_' {
        return Some(NameFault::Reserved);
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let ok = c.is_ascii_alphabetic()
            || c == b'_'
            || (colons && c == b':')
            || (i > 0 && c.is_ascii_digit());
        if !ok {
            // The length of the UTF-8 sequence this byte starts.
            let len = match c {
                0xF0.. => 4,
                0xE0.. => 3,
                0xC0.. => 2,
                _ => 1,
            };
            let len = if i + len > b.len() { b.len() - i } else { len };
            return Some(NameFault::Char { at: i, len });
        }
        i += 1;
    }
    None
}

/// The reason as a sentence: what, where, and the rule.
fn describe(name: &str, fault: NameFault, rule: &str) -> String {
    match fault {
        NameFault::Empty => format!("it is empty; {rule}"),
        NameFault::Reserved => format!("names starting with `__` are reserved; {rule}"),
        NameFault::Char { at, len } => {
            let c = name.get(at..at + len).unwrap_or("?");
            if at == 0 {
                format!("it cannot start with '{c}'; {rule}")
            } else {
                format!("'{c}' (byte {at}) is not allowed; {rule}")
            }
        }
    }
}

/// What is wrong with a metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`, no leading
/// `__`), naming the offending character and where it is; `None` when valid.
pub(crate) fn metric_name_problem(name: &str) -> Option<String> {
    name_fault(name.as_bytes(), true).map(|f| describe(name, f, METRIC_RULE))
}

/// A message built at compile time, for a constant constructor's panic.
pub(crate) struct ConstMessage {
    buf: [u8; 256],
    len: usize,
}

impl ConstMessage {
    const fn push(&mut self, s: &[u8]) {
        let mut i = 0;
        while i < s.len() && self.len < self.buf.len() {
            self.buf[self.len] = s[i];
            self.len += 1;
            i += 1;
        }
    }

    const fn push_number(&mut self, mut n: usize) {
        let mut digits = [0u8; 20];
        let mut k = digits.len();
        loop {
            k -= 1;
            digits[k] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(digits.split_at(k).1);
    }

    pub(crate) const fn as_str(&self) -> &str {
        match std::str::from_utf8(self.buf.split_at(self.len).0) {
            Ok(s) => s,
            // Cut inside a character: the text before the name is enough.
            Err(e) => match std::str::from_utf8(self.buf.split_at(e.valid_up_to()).0) {
                Ok(s) => s,
                Err(_) => "invalid metric name",
            },
        }
    }
}

/// What is wrong with `name` as a metric name, as a message naming the
/// offending character and its position (as the run-time check does), for
/// a constant constructor to panic with: a compile error in a `static`,
/// reported at the constructor's call.
pub(crate) const fn metric_name_message(name: &str) -> Option<ConstMessage> {
    let Some(fault) = name_fault(name.as_bytes(), true) else {
        return None;
    };
    let mut m = ConstMessage {
        buf: [0; 256],
        len: 0,
    };
    m.push(b"invalid metric name `");
    let b = name.as_bytes();
    if b.len() > 96 {
        // Cut at the start of a character.
        let mut cut = 96;
        while cut > 0 && b[cut] & 0xC0 == 0x80 {
            cut -= 1;
        }
        m.push(b.split_at(cut).0);
        m.push("…".as_bytes());
    } else {
        m.push(b);
    }
    m.push(b"`: ");
    match fault {
        NameFault::Empty => m.push(b"it is empty"),
        NameFault::Reserved => m.push(b"names starting with `__` are reserved"),
        NameFault::Char { at, len } => {
            let c = b.split_at(at).1.split_at(len).0;
            if at == 0 {
                m.push(b"it cannot start with '");
                m.push(c);
                m.push(b"'");
            } else {
                m.push(b"'");
                m.push(c);
                m.push(b"' (byte ");
                m.push_number(at);
                m.push(b") is not allowed");
            }
        }
    }
    m.push(b"; ");
    m.push(METRIC_RULE.as_bytes());
    Some(m)
}

/// Checks a label name against `[a-zA-Z_][a-zA-Z0-9_]*` (no leading `__`).
pub(crate) fn check_label_name(name: &str) -> Result<(), Error> {
    match name_fault(name.as_bytes(), false) {
        None => Ok(()),
        Some(fault) => Err(Error::InvalidName {
            what: "label",
            name: name.to_owned(),
            reason: describe(name, fault, LABEL_RULE),
        }),
    }
}

pub(crate) fn check_metric_name(name: &str) -> Result<(), Error> {
    match metric_name_problem(name) {
        None => Ok(()),
        Some(reason) => Err(Error::InvalidName {
            what: "metric",
            name: name.to_owned(),
            reason,
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

    #[test]
    fn a_bad_name_is_told_by_its_character_and_position() {
        let rule = "; a metric name matches [a-zA-Z_:][a-zA-Z0-9_:]*";
        assert_eq!(
            metric_name_problem("hits-total").unwrap(),
            format!("'-' (byte 4) is not allowed{rule}")
        );
        assert_eq!(
            metric_name_problem("2xx").unwrap(),
            format!("it cannot start with '2'{rule}")
        );
        assert_eq!(
            metric_name_problem("disk_usé").unwrap(),
            format!("'é' (byte 7) is not allowed{rule}")
        );
        let e = check_label_name("größe").unwrap_err().to_string();
        assert!(
            e.contains("'ö' (byte 2) is not allowed; a label name matches [a-zA-Z_][a-zA-Z0-9_]*"),
            "{e}"
        );
        // The message a constant constructor panics with says the same.
        let message = metric_name_message("hits-total").unwrap();
        assert_eq!(
            message.as_str(),
            format!("invalid metric name `hits-total`: '-' (byte 4) is not allowed{rule}")
        );
        assert!(metric_name_message("hits_total").is_none());
        // A long name is cut at a character, never inside one.
        for long in ["é".repeat(80), format!("a{}", "é".repeat(80))] {
            let message = metric_name_message(&long).unwrap();
            let text = message.as_str();
            assert!(text.starts_with("invalid metric name `"), "{text}");
            assert!(text.contains("…`: "), "{text}");
            assert!(text.ends_with(rule), "{text}");
        }
    }
}
