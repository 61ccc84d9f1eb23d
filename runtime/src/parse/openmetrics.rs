//! OpenMetrics 1.0 lines.

use super::family::{Assembler, Dialect, Metadata};
use super::scan::{self, excerpt, Cursor, Escapes, Layout, LineResult};
use super::types::{FamilyKind, ParseError, ParsedExemplar, ParsedFamily, ParsedSample};

/// The most characters (Unicode scalar values) an exemplar's label names
/// and values may have together.
const EXEMPLAR_LABELS_MAX_CHARS: usize = 128;

pub(super) fn parse(text: &str) -> Result<Vec<ParsedFamily>, ParseError> {
    let mut assembler = Assembler::new(Dialect::OpenMetrics);
    let mut eof = None;
    let mut lines = 0;
    // A line feed ends each line; the last one (after `# EOF`) may lack it.
    for (index, line) in text.split_terminator('\n').enumerate() {
        let number = index + 1;
        lines = number;
        let at = |message: String| ParseError::new(number, message);
        if let Some(eof) = eof {
            return Err(at(format!("text after `# EOF` (line {eof})")));
        }
        if line.is_empty() {
            return Err(at("blank line; OpenMetrics text has none".into()));
        }
        if line == "# EOF" {
            eof = Some(number);
        } else if line.starts_with('#') {
            let (name, metadata) = metadata(line).map_err(at)?;
            assembler.metadata(number, name, metadata)?;
        } else {
            assembler.sample(number, sample(line).map_err(at)?)?;
        }
    }
    if eof.is_none() {
        return Err(ParseError::new(
            lines + 1,
            "missing `# EOF` at the end of the text",
        ));
    }
    assembler.finish()
}

/// `# TYPE name type`, `# HELP name text` or `# UNIT name unit`.
fn metadata(line: &str) -> LineResult<(&str, Metadata)> {
    let keyword = line
        .strip_prefix("# ")
        .and_then(|rest| {
            ["TYPE", "HELP", "UNIT"].into_iter().find(|keyword| {
                rest.strip_prefix(keyword)
                    .is_some_and(|after| after.is_empty() || after.starts_with(' '))
            })
        })
        .ok_or_else(|| {
            if line.starts_with("# EOF") {
                "`# EOF` must be alone on its line".to_owned()
            } else {
                format!(
                    "{} is not a metadata line; OpenMetrics has only `# TYPE`, `# HELP`, \
                     `# UNIT` and `# EOF`",
                    excerpt(line)
                )
            }
        })?;
    let mut cursor = Cursor::new(&line[2 + keyword.len()..]);
    let what = match keyword {
        "TYPE" => "type",
        "HELP" => "help text",
        _ => "unit",
    };
    if !cursor.eat(b' ') {
        return Err(format!("`# {keyword}` needs a metric name and a {what}"));
    }
    let name = cursor.metric_name().ok_or_else(|| {
        format!(
            "expected a metric name after `# {keyword} `, found {}",
            excerpt(cursor.rest())
        )
    })?;
    if !cursor.eat(b' ') {
        return Err(if cursor.is_at_end() {
            format!("`# {keyword} {name}` needs a space and a {what} after the name")
        } else {
            format!(
                "expected one space after the metric name `{name}`, found {}",
                excerpt(cursor.rest())
            )
        });
    }
    let text = cursor.take_rest();
    let metadata = match keyword {
        "TYPE" => Metadata::Type(kind(text)?),
        "HELP" => Metadata::Help(scan::unescape(text, Escapes::OpenMetrics)?),
        _ => {
            if !scan::is_metric_name_chars(text) {
                return Err(format!(
                    "unit {} may only have the characters of a metric name",
                    excerpt(text)
                ));
            }
            Metadata::Unit(text.to_owned())
        }
    };
    Ok((name, metadata))
}

fn kind(text: &str) -> LineResult<FamilyKind> {
    Ok(match text {
        "counter" => FamilyKind::Counter,
        "gauge" => FamilyKind::Gauge,
        "histogram" => FamilyKind::Histogram,
        "gaugehistogram" => FamilyKind::GaugeHistogram,
        "summary" => FamilyKind::Summary,
        "info" => FamilyKind::Info,
        "stateset" => FamilyKind::StateSet,
        "unknown" => FamilyKind::Unknown,
        "untyped" => {
            return Err("`untyped` is the 0.0.4 type; OpenMetrics calls it `unknown`".into());
        }
        _ => return Err(format!("unknown metric type {}", excerpt(text))),
    })
}

/// `name[{labels}] value [timestamp] [# {labels} value [timestamp]]`.
fn sample(line: &str) -> LineResult<ParsedSample> {
    let mut cursor = Cursor::new(line);
    let name = cursor
        .metric_name()
        .ok_or_else(|| format!("expected a metric name, found {}", excerpt(line)))?;
    let labels = if cursor.peek() == Some(b'{') {
        cursor.labels(Layout::Tight, Escapes::OpenMetrics)?
    } else {
        Vec::new()
    };
    if !cursor.eat(b' ') {
        return Err(if cursor.is_at_end() {
            format!("`{name}` needs a space and a value")
        } else {
            format!(
                "expected one space before the value of `{name}`, found {}",
                excerpt(cursor.rest())
            )
        });
    }
    let value = value(cursor.take_until_space())?;
    let mut timestamp = None;
    let mut exemplar = None;
    if cursor.eat(b' ') {
        if cursor.peek() == Some(b'#') {
            exemplar = Some(self::exemplar(&mut cursor)?);
        } else {
            timestamp = Some(self::timestamp(cursor.take_until_space())?);
            if cursor.eat(b' ') {
                exemplar = Some(self::exemplar(&mut cursor)?);
            }
        }
    }
    if !cursor.is_at_end() {
        return Err(format!(
            "unexpected {} at the end of the line",
            excerpt(cursor.rest())
        ));
    }
    Ok(ParsedSample {
        name: name.to_owned(),
        labels,
        value,
        timestamp,
        exemplar,
    })
}

fn value(text: &str) -> LineResult<f64> {
    if text.is_empty() {
        return Err("expected a value after one space".into());
    }
    scan::number(text).ok_or_else(|| format!("invalid value {}", excerpt(text)))
}

fn timestamp(text: &str) -> LineResult<f64> {
    if text.is_empty() {
        return Err("expected a timestamp after one space".into());
    }
    match scan::real_number(text) {
        Some(timestamp) if timestamp.is_finite() => Ok(timestamp),
        _ => Err(format!(
            "invalid timestamp {}; a timestamp is a finite decimal number of seconds",
            excerpt(text)
        )),
    }
}

/// `# {labels} value [timestamp]`, after the space that follows the value or
/// the timestamp.
fn exemplar(cursor: &mut Cursor<'_>) -> LineResult<ParsedExemplar> {
    if !(cursor.eat_str("# ") && cursor.peek() == Some(b'{')) {
        return Err(format!(
            "expected an exemplar `# {{labels}} value`, found {}",
            excerpt(cursor.rest())
        ));
    }
    let labels = cursor
        .labels(Layout::Tight, Escapes::OpenMetrics)
        .map_err(|e| format!("exemplar: {e}"))?;
    let chars: usize = labels
        .iter()
        .map(|(k, v)| k.chars().count() + v.chars().count())
        .sum();
    if chars > EXEMPLAR_LABELS_MAX_CHARS {
        return Err(format!(
            "exemplar labels have {chars} characters; at most {EXEMPLAR_LABELS_MAX_CHARS} are \
             allowed"
        ));
    }
    if !cursor.eat(b' ') {
        return Err(format!(
            "expected one space and the exemplar's value, found {}",
            excerpt(cursor.rest())
        ));
    }
    let value = value(cursor.take_until_space()).map_err(|e| format!("exemplar: {e}"))?;
    let timestamp = if cursor.eat(b' ') {
        Some(timestamp(cursor.take_until_space()).map_err(|e| format!("exemplar: {e}"))?)
    } else {
        None
    };
    Ok(ParsedExemplar {
        labels,
        value,
        timestamp,
    })
}
