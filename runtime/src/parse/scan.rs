//! Reading the pieces of one line: names, label sets, quoted strings,
//! escapes and numbers. Errors are messages; the callers add the line.

use std::fmt::Write as _;

/// A problem on the line being read.
pub(super) type LineResult<T> = Result<T, String>;

/// The escape sequences a quoted string or help text may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Escapes {
    /// OpenMetrics: `\\`, `\"` and `\n`; a backslash before anything else
    /// (or at the end of a help text) is kept as written.
    OpenMetrics,
    /// 0.0.4 label values: `\\`, `\"` and `\n`; anything else is an error.
    PrometheusLabel,
    /// 0.0.4 help texts: `\\` and `\n`; anything else is an error.
    PrometheusHelp,
}

/// How a label set may be laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// OpenMetrics: nothing between the tokens, no trailing comma.
    Tight,
    /// 0.0.4: blanks and tabs around the tokens, an optional trailing comma.
    Loose,
}

/// A position in one line.
#[derive(Debug)]
pub(super) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(text: &'a str) -> Cursor<'a> {
        Cursor { text, pos: 0 }
    }

    /// What is left of the line.
    pub(super) fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    pub(super) fn is_at_end(&self) -> bool {
        self.pos == self.text.len()
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// Consumes `byte` if it is next.
    pub(super) fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes `prefix` if the rest starts with it.
    pub(super) fn eat_str(&mut self, prefix: &str) -> bool {
        if self.rest().starts_with(prefix) {
            self.pos += prefix.len();
            true
        } else {
            false
        }
    }

    /// Consumes blanks and tabs; whether there were any.
    pub(super) fn skip_blanks(&mut self) -> bool {
        !self.take_while(|b| b == b' ' || b == b'\t').is_empty()
    }

    /// Consumes the longest prefix of ASCII bytes matching `keep`.
    pub(super) fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        while self.pos < bytes.len() && keep(bytes[self.pos]) {
            self.pos += 1;
        }
        // Stopping at an ASCII byte or the end keeps the slice on char
        // boundaries: `keep` only ever sees whole ASCII characters first.
        &self.text[start..self.pos]
    }

    /// Consumes everything up to the next space (or the end).
    pub(super) fn take_until_space(&mut self) -> &'a str {
        let rest = self.rest();
        let len = rest.find(' ').unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    /// Consumes everything up to the next blank or tab (or the end).
    pub(super) fn take_until_blank(&mut self) -> &'a str {
        let rest = self.rest();
        let len = rest.find([' ', '\t']).unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    /// Consumes the rest of the line.
    pub(super) fn take_rest(&mut self) -> &'a str {
        let rest = self.rest();
        self.pos = self.text.len();
        rest
    }

    /// Consumes a metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`; `None` (nothing
    /// consumed) when none starts here.
    pub(super) fn metric_name(&mut self) -> Option<&'a str> {
        if !self.peek().is_some_and(is_metric_name_start) {
            return None;
        }
        Some(self.take_while(is_metric_name_char))
    }

    /// Consumes a label name, `[a-zA-Z_][a-zA-Z0-9_]*`; `None` (nothing
    /// consumed) when none starts here.
    pub(super) fn label_name(&mut self) -> Option<&'a str> {
        if !self.peek().is_some_and(is_label_name_start) {
            return None;
        }
        Some(self.take_while(is_label_name_char))
    }

    /// Consumes a double-quoted string (the cursor is on the opening quote)
    /// and returns it unescaped.
    pub(super) fn quoted(&mut self, escapes: Escapes) -> LineResult<String> {
        debug_assert_eq!(self.peek(), Some(b'"'));
        let start = self.pos + 1;
        let bytes = self.text.as_bytes();
        let mut i = start;
        loop {
            match bytes.get(i) {
                None => return Err("a quoted value has no closing `\"`".into()),
                Some(b'"') => break,
                // Skipping the byte after a backslash is enough: no byte of
                // a multi-byte character is a quote or a backslash.
                Some(b'\\') => i += 2,
                Some(_) => i += 1,
            }
        }
        let raw = &self.text[start..i];
        self.pos = i + 1;
        unescape(raw, escapes)
    }

    /// Consumes a label set (the cursor is on `{`) up to and including `}`.
    pub(super) fn labels(
        &mut self,
        layout: Layout,
        escapes: Escapes,
    ) -> LineResult<Vec<(String, String)>> {
        debug_assert_eq!(self.peek(), Some(b'{'));
        self.pos += 1;
        let loose = layout == Layout::Loose;
        let mut labels: Vec<(String, String)> = Vec::new();
        if loose {
            self.skip_blanks();
        }
        if self.eat(b'}') {
            return Ok(labels);
        }
        loop {
            let Some(name) = self.label_name() else {
                return Err(if self.peek() == Some(b'}') {
                    "a label set must not end with a comma".into()
                } else {
                    format!("expected a label name, found {}", excerpt(self.rest()))
                });
            };
            check_label_name(name)?;
            if labels.iter().any(|(k, _)| k == name) {
                return Err(format!("label `{name}` appears twice in one label set"));
            }
            if loose {
                self.skip_blanks();
            }
            if !self.eat(b'=') {
                return Err(format!(
                    "expected `=` after label name `{name}`, found {}",
                    excerpt(self.rest())
                ));
            }
            if loose {
                self.skip_blanks();
            }
            if self.peek() != Some(b'"') {
                return Err(format!(
                    "the value of label `{name}` must be in double quotes, found {}",
                    excerpt(self.rest())
                ));
            }
            let value = self
                .quoted(escapes)
                .map_err(|e| format!("label `{name}`: {e}"))?;
            labels.push((name.to_owned(), value));
            if loose {
                self.skip_blanks();
            }
            if self.eat(b'}') {
                return Ok(labels);
            }
            if !self.eat(b',') {
                return Err(format!(
                    "expected `,` or `}}` after the value of label `{name}`, found {}",
                    excerpt(self.rest())
                ));
            }
            if loose {
                self.skip_blanks();
                if self.eat(b'}') {
                    return Ok(labels);
                }
            }
        }
    }
}

fn is_metric_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}

fn is_metric_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

fn is_label_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_label_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether every character of `text` may be part of a metric name (the
/// empty text included).
pub(super) fn is_metric_name_chars(text: &str) -> bool {
    text.bytes().all(is_metric_name_char)
}

/// Label names starting with `__` are reserved for Prometheus itself.
fn check_label_name(name: &str) -> LineResult<()> {
    if name.starts_with("__") {
        return Err(format!(
            "label name `{name}` is reserved (names starting with `__` are)"
        ));
    }
    Ok(())
}

/// Resolves the escape sequences of `raw`.
pub(super) fn unescape(raw: &str, escapes: Escapes) -> LineResult<String> {
    if !raw.contains('\\') {
        return Ok(raw.to_owned());
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match (chars.next(), escapes) {
            (Some('\\'), _) | (None, Escapes::OpenMetrics) => out.push('\\'),
            (Some('n'), _) => out.push('\n'),
            (Some('"'), Escapes::OpenMetrics | Escapes::PrometheusLabel) => out.push('"'),
            (Some(other), Escapes::OpenMetrics) => {
                out.push('\\');
                out.push(other);
            }
            (Some(other), Escapes::PrometheusLabel | Escapes::PrometheusHelp) => {
                return Err(format!(
                    "invalid escape sequence `\\{}` (only {} are)",
                    if other.is_control() {
                        other.escape_debug().to_string()
                    } else {
                        other.to_string()
                    },
                    if escapes == Escapes::PrometheusHelp {
                        "`\\\\` and `\\n`"
                    } else {
                        "`\\\\`, `\\\"` and `\\n`"
                    }
                ));
            }
            (None, Escapes::PrometheusLabel | Escapes::PrometheusHelp) => {
                return Err("the text ends with a lone `\\`".into());
            }
        }
    }
    Ok(out)
}

/// A decimal number: `[+-]` digits with an optional point and exponent
/// (`1`, `-0.5`, `.5`, `1.`, `1.5e-3`, `2E+10`); no hexadecimal, no `_`,
/// no infinities or NaN.
pub(super) fn real_number(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let mut i = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let mut mantissa = digits(&mut i);
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        mantissa += digits(&mut i);
    }
    if mantissa == 0 {
        return None;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if i != bytes.len() {
        return None;
    }
    text.parse().ok()
}

/// A sample value: a [`real_number`], `[+-]Inf`, `[+-]Infinity` or `NaN`,
/// the words in any case.
pub(super) fn number(text: &str) -> Option<f64> {
    if let Some(value) = real_number(text) {
        return Some(value);
    }
    let (negative, word) = match text.as_bytes().first() {
        Some(b'+') => (false, &text[1..]),
        Some(b'-') => (true, &text[1..]),
        _ => (false, text),
    };
    if word.eq_ignore_ascii_case("inf") || word.eq_ignore_ascii_case("infinity") {
        Some(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        })
    } else if text.eq_ignore_ascii_case("nan") {
        Some(f64::NAN)
    } else {
        None
    }
}

/// `text` quoted for an error message, cut after 40 characters, `the end of
/// the line` when empty.
pub(super) fn excerpt(text: &str) -> String {
    if text.is_empty() {
        return "the end of the line".into();
    }
    let mut out = String::from("`");
    for (i, c) in text.chars().enumerate() {
        if i == 40 {
            out.push_str("...");
            break;
        }
        let _ = write!(out, "{}", c.escape_debug());
    }
    out.push('`');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        for (text, value) in [
            ("1", 1.0),
            ("-1", -1.0),
            ("+1", 1.0),
            ("1.", 1.0),
            (".5", 0.5),
            ("1.5e3", 1500.0),
            ("1.5E-3", 0.0015),
            ("0000000001.2e-1", 0.12),
            ("9223372036854775808", 9_223_372_036_854_775_808.0),
        ] {
            assert_eq!(real_number(text), Some(value), "{text}");
            assert_eq!(number(text), Some(value), "{text}");
        }
        for text in [
            "", "+", ".", "e1", "1e", "1e+", "1_2", "0x1", "1.1.1", "1z", " 1", "1 ", "Inf", "NaN",
            "0b1", "1,5",
        ] {
            assert_eq!(real_number(text), None, "{text}");
        }
        assert_eq!(number("+Inf"), Some(f64::INFINITY));
        assert_eq!(number("inf"), Some(f64::INFINITY));
        assert_eq!(number("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(number("NaN").unwrap().is_nan());
        assert!(number("nan").unwrap().is_nan());
        for text in ["+NaN", "-nan", "Infinit", "++1", "0x1p-3", "in f"] {
            assert_eq!(number(text), None, "{text}");
        }
    }

    #[test]
    fn escapes() {
        let om = Escapes::OpenMetrics;
        assert_eq!(unescape(r#"a\\b\"c\nd"#, om).unwrap(), "a\\b\"c\nd");
        assert_eq!(unescape(r"\z\t\", om).unwrap(), r"\z\t\");
        assert_eq!(
            unescape(r#"a\\b\"c\nd"#, Escapes::PrometheusLabel).unwrap(),
            "a\\b\"c\nd"
        );
        assert!(unescape(r"\z", Escapes::PrometheusLabel).is_err());
        assert!(unescape(r#"\""#, Escapes::PrometheusHelp).is_err());
        assert!(unescape("\\", Escapes::PrometheusHelp).is_err());
        assert_eq!(unescape("☃ü", om).unwrap(), "☃ü");
    }

    #[test]
    fn label_sets() {
        let read = |text: &str, layout| {
            let mut cursor = Cursor::new(text);
            let labels = cursor.labels(layout, Escapes::OpenMetrics)?;
            Ok::<_, String>((labels, cursor.rest().to_owned()))
        };
        let (labels, rest) = read(r#"{a="1",b="x\"}y"} 1"#, Layout::Tight).unwrap();
        assert_eq!(
            labels,
            [("a".into(), "1".into()), ("b".into(), "x\"}y".into())]
        );
        assert_eq!(rest, " 1");
        assert!(read(r#"{a="1",} 1"#, Layout::Tight).is_err());
        assert!(read(r#"{ a = "1" , } 1"#, Layout::Tight).is_err());
        let (labels, _) = read(r#"{ a = "1" , } 1"#, Layout::Loose).unwrap();
        assert_eq!(labels, [("a".into(), "1".into())]);
        assert!(read(r#"{a="1",a="2"}"#, Layout::Tight).is_err());
        assert!(read(r#"{__a="1"}"#, Layout::Tight).is_err());
        assert!(read(r#"{a="1}"#, Layout::Tight).is_err());
        assert!(read(r"{a=1}", Layout::Tight).is_err());
        assert!(read(r#"{1="1"}"#, Layout::Tight).is_err());
        assert_eq!(read("{}", Layout::Tight).unwrap().0, []);
    }

    #[test]
    fn excerpts() {
        assert_eq!(excerpt(""), "the end of the line");
        assert_eq!(excerpt("a\tb"), "`a\\tb`");
        assert_eq!(excerpt(&"x".repeat(50)), format!("`{}...`", "x".repeat(40)));
    }
}
