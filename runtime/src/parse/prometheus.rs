//! Prometheus text format 0.0.4 lines.

use super::family::{Assembler, Dialect, Metadata};
use super::scan::{self, excerpt, Cursor, Escapes, Layout, LineResult};
use super::types::{FamilyKind, ParseError, ParsedFamily, ParsedSample};

pub(super) fn parse(text: &str) -> Result<Vec<ParsedFamily>, ParseError> {
    let mut assembler = Assembler::new(Dialect::Prometheus);
    let mut lines = 0;
    for (index, line) in text.split_terminator('\n').enumerate() {
        let number = index + 1;
        lines = number;
        let at = |message: String| ParseError::new(number, message);
        let mut cursor = Cursor::new(line);
        cursor.skip_blanks();
        if cursor.is_at_end() {
            continue;
        }
        if cursor.eat(b'#') {
            if let Some((name, metadata)) = comment(&mut cursor).map_err(at)? {
                assembler.metadata(number, name, metadata)?;
            }
        } else {
            assembler.sample(number, sample(&mut cursor).map_err(at)?)?;
        }
    }
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(ParseError::new(lines, "the text must end with a line feed"));
    }
    assembler.finish()
}

/// The rest of a line that starts with `#`: `None` for a plain comment.
fn comment<'a>(cursor: &mut Cursor<'a>) -> LineResult<Option<(&'a str, Metadata)>> {
    cursor.skip_blanks();
    let keyword = cursor.take_until_blank();
    if keyword != "HELP" && keyword != "TYPE" {
        return Ok(None);
    }
    if !cursor.skip_blanks() || cursor.is_at_end() {
        return Err(format!("`# {keyword}` needs a metric name"));
    }
    let name = cursor.metric_name().ok_or_else(|| {
        format!(
            "expected a metric name after `# {keyword}`, found {}",
            excerpt(cursor.rest())
        )
    })?;
    let separated = cursor.skip_blanks();
    if !separated && !cursor.is_at_end() {
        return Err(format!(
            "expected a blank after the metric name `{name}`, found {}",
            excerpt(cursor.rest())
        ));
    }
    if keyword == "HELP" {
        let help = scan::unescape(cursor.take_rest(), Escapes::PrometheusHelp)?;
        return Ok(Some((name, Metadata::Help(help))));
    }
    let kind = match cursor.take_until_blank() {
        "counter" => FamilyKind::Counter,
        "gauge" => FamilyKind::Gauge,
        "histogram" => FamilyKind::Histogram,
        "summary" => FamilyKind::Summary,
        "untyped" => FamilyKind::Unknown,
        "" => return Err(format!("`# TYPE {name}` needs a type")),
        other => {
            return Err(format!(
                "unknown metric type {} (0.0.4 has `counter`, `gauge`, `histogram`, \
                 `summary` and `untyped`)",
                excerpt(other)
            ))
        }
    };
    cursor.skip_blanks();
    if !cursor.is_at_end() {
        return Err(format!(
            "unexpected {} after the type",
            excerpt(cursor.rest())
        ));
    }
    Ok(Some((name, Metadata::Type(kind))))
}

/// `name [{labels}] value [timestamp]`, blanks between the parts.
fn sample(cursor: &mut Cursor<'_>) -> LineResult<ParsedSample> {
    let name = cursor
        .metric_name()
        .ok_or_else(|| format!("expected a metric name, found {}", excerpt(cursor.rest())))?;
    let mut separated = cursor.skip_blanks();
    let labels = if cursor.peek() == Some(b'{') {
        let labels = cursor.labels(Layout::Loose, Escapes::PrometheusLabel)?;
        separated = cursor.skip_blanks();
        labels
    } else {
        Vec::new()
    };
    if cursor.is_at_end() {
        return Err(format!("`{name}` has no value"));
    }
    if !separated {
        return Err(format!(
            "expected a blank before the value of `{name}`, found {}",
            excerpt(cursor.rest())
        ));
    }
    let text = cursor.take_until_blank();
    let value = scan::number(text).ok_or_else(|| format!("invalid value {}", excerpt(text)))?;
    cursor.skip_blanks();
    let timestamp = if cursor.is_at_end() {
        None
    } else {
        let text = cursor.take_until_blank();
        cursor.skip_blanks();
        Some(milliseconds(text)?)
    };
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
        exemplar: None,
    })
}

/// A 0.0.4 timestamp: an integer number of milliseconds.
fn milliseconds(text: &str) -> LineResult<f64> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "invalid timestamp {}; a 0.0.4 timestamp is an integer number of milliseconds",
            excerpt(text)
        ));
    }
    text.parse::<i64>()
        .map(|ms| ms as f64)
        .map_err(|_| format!("timestamp {} is out of range", excerpt(text)))
}
