//! Which series a rule reads: `metric`, `metric{label="value", ...}`, or a
//! configured source's metric, `SOURCE.METRIC{...}`.

use std::fmt;

/// A series selector: a metric of the program's own (`source` `None`) or
/// of a configured source, and label matchers that must all hold.
///
/// ```
/// use telltale::aggregate::Selector;
///
/// let s: Selector = "api_health.response_time{region=\"eu\"}".parse()?;
/// assert_eq!(s.source.as_deref(), Some("api_health"));
/// assert_eq!(s.metric, "response_time");
/// assert_eq!(s.matchers, [("region".to_owned(), "eu".to_owned())]);
/// let own: Selector = "function_calls_duration_seconds{function=\"fetch\"}".parse()?;
/// assert_eq!(own.source, None);
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Selector {
    /// The source whose metric it is (`SOURCE.` before the metric), or
    /// `None` for the program's own.
    pub source: Option<String>,
    /// The metric (family) name; a counter with or without `_total`.
    pub metric: String,
    /// `label = value` pairs every selected series has.
    pub matchers: Vec<(String, String)>,
}

impl Selector {
    /// The program's own metric `metric`, every series.
    pub fn metric(metric: impl Into<String>) -> Selector {
        Selector {
            source: None,
            metric: metric.into(),
            matchers: Vec::new(),
        }
    }

    /// Only the series that also have `label = value`.
    #[must_use]
    pub fn with(mut self, label: impl Into<String>, value: impl Into<String>) -> Selector {
        self.matchers.push((label.into(), value.into()));
        self
    }

    /// Whether a series with `labels` is selected.
    pub(crate) fn matches<K: AsRef<str>, V: AsRef<str>>(&self, labels: &[(K, V)]) -> bool {
        self.matchers.iter().all(|(k, v)| {
            labels
                .iter()
                .any(|(lk, lv)| lk.as_ref() == k && lv.as_ref() == v)
        })
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(source) = &self.source {
            write!(f, "{source}.")?;
        }
        f.write_str(&self.metric)?;
        if !self.matchers.is_empty() {
            f.write_str("{")?;
            for (i, (k, v)) in self.matchers.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{k}={v:?}")?;
            }
            f.write_str("}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Selector {
    type Err = String;

    fn from_str(text: &str) -> Result<Selector, String> {
        let text = text.trim();
        let (head, matchers) = match text.find('{') {
            Some(open) => {
                let Some(body) = text[open + 1..].strip_suffix('}') else {
                    return Err(format!("{text:?}: a `{{` needs a closing `}}` at the end"));
                };
                (&text[..open], parse_matchers(body)?)
            }
            None => (text, Vec::new()),
        };
        let (source, metric) = match head.split_once('.') {
            Some((source, metric)) => (Some(source.trim()), metric.trim()),
            None => (None, head.trim()),
        };
        if let Some(source) = source {
            if source.is_empty() {
                return Err(format!("{text:?}: no source name before the `.`"));
            }
        }
        if let Some(reason) = crate::error::metric_name_problem(metric) {
            return Err(format!(
                "{text:?}: the metric name {metric:?} is invalid: {reason}"
            ));
        }
        Ok(Selector {
            source: source.map(str::to_owned),
            metric: metric.to_owned(),
            matchers,
        })
    }
}

/// `a="x", b="y"`.
fn parse_matchers(body: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = body.trim();
    while !rest.is_empty() {
        let Some((name, after)) = rest.split_once('=') else {
            return Err(format!("label matcher {rest:?}: write name=\"value\""));
        };
        let name = name.trim();
        crate::error::check_label_name(name).map_err(|e| e.to_string())?;
        let after = after.trim_start();
        let Some(quoted) = after.strip_prefix('"') else {
            return Err(format!(
                "label matcher {name}: the value must be in double quotes"
            ));
        };
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => value.push(other),
                    None => break,
                },
                '"' => {
                    end = Some(i);
                    break;
                }
                c => value.push(c),
            }
        }
        let Some(end) = end else {
            return Err(format!(
                "label matcher {name}: the value's quote is not closed"
            ));
        };
        out.push((name.to_owned(), value));
        rest = quoted[end + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_parse_and_print() {
        let s: Selector = "jobs_total{queue=\"mail\", kind=\"a \\\"b\\\"\"}"
            .parse()
            .unwrap();
        assert_eq!(s.source, None);
        assert_eq!(s.metric, "jobs_total");
        assert_eq!(s.matchers[1], ("kind".to_owned(), "a \"b\"".to_owned()));
        assert!(s.matches(&[("queue", "mail"), ("kind", "a \"b\""), ("x", "y")]));
        assert!(!s.matches(&[("queue", "mail")]));
        assert_eq!(s.to_string().parse::<Selector>().unwrap(), s);
        for bad in ["", "a-b", "x{", "x{a=b}", "x{a=\"b}", ".x", "x{1a=\"b\"}"] {
            assert!(bad.parse::<Selector>().is_err(), "{bad:?}");
        }
    }
}
