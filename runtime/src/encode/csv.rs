//! The CSV table of [`Format::Csv`](crate::Format::Csv): schema 1.
//!
//! RFC 4180 CSV in UTF-8: a header row, then one row per series, every row
//! ended by CR LF, always these 18 columns in this order:
//!
//! ```text
//! timestamp_ms,name,type,unit,help,labels,value,count,sum,min,max,p50,p90,p95,p99,p999,created,sample_name
//! 1700000000123,function_calls,counter,,Calls.,"function=""fetch"",result=""ok""",3,,,,,,,,,,1700000000.25,function_calls_total
//! 1700000000123,function_calls_duration_seconds,histogram,seconds,Call duration.,"function=""fetch""",,3,0.75,0.125,0.5,0.125,0.4946,0.4946,0.4946,0.4946,,function_calls_duration_seconds
//! 1700000000123,queue_depth,gauge,,,,NaN,,,,,,,,,,,queue_depth
//! ```
//!
//! (Quantiles shortened here: they are written with all their digits.)
//!
//! # Columns
//!
//! | column | content |
//! |---|---|
//! | `timestamp_ms` | time of the export, integer milliseconds since the Unix epoch (UTC); the same on every row |
//! | `name` | the family name; a counter's is without `_total` (`jobs` for a counter declared `jobs_total`) |
//! | `type` | `counter`, `gauge` or `histogram` |
//! | `unit` | the unit (`seconds`, `bytes`), empty when none |
//! | `help` | the help text, unescaped |
//! | `labels` | the labels, see below; empty when the series has none |
//! | `value` | a counter's total or a gauge's value; empty for histograms |
//! | `count` | a histogram's number of observations (integer); empty otherwise |
//! | `sum` | a histogram's sum of observations; empty otherwise |
//! | `min`, `max` | a histogram's exact smallest and largest observation; empty for counters and gauges, with no observation, and for a series read from elsewhere that does not carry them |
//! | `p50` … `p999` | a histogram's estimated 0.5, 0.9, 0.95, 0.99 and 0.999 quantiles (within about 1.1 %, and within `min`..`max` where known); empty when it has no observation, and for counters and gauges |
//! | `created` | when the series was created, seconds since the Unix epoch; empty when unknown |
//! | `sample_name` | the name it was declared with and its samples carry in the text formats: a counter's `<name>_total`, else `name` |
//!
//! Rows come family by family, families sorted by name, series sorted by
//! labels. A family without series has no row. Classic buckets are not in
//! the table (one row per series keeps the columns fixed); use
//! [`Format::Json`](crate::Format::Json) for them.
//!
//! # Fields
//!
//! - Numbers are the shortest decimal text that reads back as the same `f64`
//!   (`3`, `0.25`, `1e-05`, `1.5e+21`), or `NaN`, `+Inf`, `-Inf`.
//! - The `labels` field is the label set as the exposition formats write it
//!   between the braces: `name="value"` pairs joined by `,`, in the metric's
//!   label order, each value escaped as there (`\` as `\\`, `"` as `\"`, line
//!   feed as `\n`; everything else, Unicode included, as it is).
//! - A field containing `,`, `"`, CR or LF is then quoted as RFC 4180 says:
//!   enclosed in `"`, each `"` in it doubled. So a `labels` field is almost
//!   always quoted, and a label `path="a,b"` appears as `"path=""a,b"""`.
//!   Other fields are written as they are. Fields are not guarded against
//!   spreadsheet formula interpretation (a label value starting with `=` is
//!   written as it is), so that every reader gets the values back exactly.
//!
//! # Stability
//!
//! Within schema 1 the columns above keep their names, order and meaning.
//! Future versions may add columns after `sample_name` and new `type` values;
//! read columns by their header name, and ignore columns you do not know.

use std::fmt::Write as _;

use super::text::{write_float, write_labels, FloatStyle, QUANTILES};
use crate::collect::snapshot::{HistogramValue, MetricFamily, MetricKind, Series, Snapshot, Value};

/// The header row, without its line end.
pub const HEADER: &str =
    "timestamp_ms,name,type,unit,help,labels,value,count,sum,min,max,p50,p90,p95,p99,p999,created,sample_name";

/// Appends `snapshot` as a schema-1 CSV table stamped `timestamp_ms` to `out`.
pub(super) fn encode(snapshot: &Snapshot, timestamp_ms: i64, out: &mut String) {
    out.push_str(HEADER);
    out.push_str("\r\n");
    // One scratch buffer for fields that may need quoting.
    let mut field = String::new();
    for family in &snapshot.families {
        for series in &family.series {
            encode_series(family, series, timestamp_ms, &mut field, out);
        }
    }
}

fn encode_series(
    family: &MetricFamily,
    series: &Series,
    timestamp_ms: i64,
    field: &mut String,
    out: &mut String,
) {
    let histogram = match (&series.value, family.kind) {
        (Value::Counter(_) | Value::Gauge(_), MetricKind::Counter | MetricKind::Gauge) => None,
        (Value::Histogram(histogram), MetricKind::Histogram) => Some(histogram),
        // Neither can be written as the other.
        (Value::Histogram(_), MetricKind::Counter | MetricKind::Gauge)
        | (Value::Counter(_) | Value::Gauge(_), MetricKind::Histogram) => return,
    };
    // Writing into a `String` cannot fail.
    let _ = write!(out, "{timestamp_ms},");
    write_field(out, &family.name);
    out.push(',');
    out.push_str(family.kind.as_str());
    out.push(',');
    write_field(out, family.unit.unwrap_or(""));
    out.push(',');
    write_field(out, &family.help);
    out.push(',');
    field.clear();
    write_labels(field, &series.labels);
    write_field(out, field);
    out.push(',');
    match (&series.value, histogram) {
        (_, Some(histogram)) => write_histogram(out, histogram),
        (Value::Counter(value) | Value::Gauge(value), None) => {
            write_float(out, *value, FloatStyle::Value);
            // count, sum, min, max and the quantiles are empty.
            out.push_str(",,,,,,,,,");
        }
        (Value::Histogram(_), None) => return,
    }
    out.push(',');
    if let Some(created) = series.created {
        write_float(out, created, FloatStyle::Value);
    }
    out.push(',');
    write_field(out, &family.sample_name());
    out.push_str("\r\n");
}

/// `value` (empty), `count`, `sum`, `min`, `max` and the quantiles.
fn write_histogram(out: &mut String, histogram: &HistogramValue) {
    let _ = write!(out, ",{},", histogram.count);
    write_float(out, histogram.sum, FloatStyle::Value);
    for extreme in [histogram.exponential.min, histogram.exponential.max] {
        out.push(',');
        if let Some(extreme) = extreme {
            write_float(out, extreme, FloatStyle::Value);
        }
    }
    for (_, q) in QUANTILES {
        out.push(',');
        if let Some(value) = histogram.quantile(q) {
            write_float(out, value, FloatStyle::Value);
        }
    }
}

/// Appends `text` as one RFC 4180 field: quoted, with `"` doubled, when it
/// contains `,`, `"`, CR or LF; as it is otherwise.
fn write_field(out: &mut String, text: &str) {
    if !text
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
    {
        out.push_str(text);
        return;
    }
    out.push('"');
    let mut start = 0;
    for (i, byte) in text.bytes().enumerate() {
        if byte == b'"' {
            // Up to and including the quote, then the quote again.
            out.push_str(&text[start..=i]);
            out.push('"');
            start = i + 1;
        }
    }
    out.push_str(&text[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use crate::collect::snapshot::{HistogramValue, MetricFamily, MetricKind, Snapshot, Value};
    use crate::encode::fixture::{family, histogram, series};
    use crate::encode::{encode_at, Format};
    use crate::store::histogram::from_values;

    fn csv(families: Vec<MetricFamily>) -> String {
        let mut out = String::new();
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        encode_at(&Snapshot { families }, Format::Csv, at, &mut out);
        out
    }

    /// A strict RFC 4180 reader: rows of fields; every row must end in CR LF.
    fn read(text: &str) -> Result<Vec<Vec<String>>, String> {
        let mut rows = Vec::new();
        let mut row = Vec::new();
        let mut field = String::new();
        let mut chars = text.chars().peekable();
        let mut quoted_field = false;
        while let Some(c) = chars.next() {
            match c {
                '"' if field.is_empty() && !quoted_field => {
                    quoted_field = true;
                    loop {
                        match chars.next() {
                            None => return Err("unterminated quoted field".into()),
                            Some('"') if chars.peek() == Some(&'"') => {
                                chars.next();
                                field.push('"');
                            }
                            Some('"') => break,
                            Some(c) => field.push(c),
                        }
                    }
                }
                '"' => return Err(format!("stray quote after {field:?}")),
                ',' => {
                    row.push(std::mem::take(&mut field));
                    quoted_field = false;
                }
                '\r' => {
                    if chars.next() != Some('\n') {
                        return Err("CR without LF".into());
                    }
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                    quoted_field = false;
                }
                '\n' => return Err("LF without CR".into()),
                c if quoted_field => return Err(format!("{c:?} after a closing quote")),
                c => field.push(c),
            }
        }
        if !field.is_empty() || !row.is_empty() {
            return Err("last row without CR LF".into());
        }
        Ok(rows)
    }

    #[test]
    fn header_only_for_an_empty_snapshot() {
        assert_eq!(csv(vec![]), format!("{}\r\n", super::HEADER));
        assert_eq!(super::HEADER.split(',').count(), 18);
    }

    #[test]
    fn rows_of_counters_gauges_and_histograms() {
        let mut calls = family(
            "function_calls",
            "Calls, \"by\" function.",
            MetricKind::Counter,
            vec![
                series(
                    &[("function", "fetch"), ("result", "ok")],
                    Value::Counter(3.0),
                ),
                series(&[("path", "a,b\\c\nd")], Value::Counter(0.5)),
            ],
        );
        calls.series[0].created = Some(1_700_000_000.25);
        let mut duration = family(
            "d_seconds",
            "",
            MetricKind::Histogram,
            vec![series(&[], histogram(3, 0.75, &[(0.1, 0), (0.25, 2)]))],
        );
        duration.unit = Some("seconds");
        let depth = family(
            "depth",
            "Depth.",
            MetricKind::Gauge,
            vec![
                series(&[], Value::Gauge(f64::NAN)),
                series(&[("q", "")], Value::Gauge(-1e-5)),
            ],
        );
        let none = family("none", "No series.", MetricKind::Counter, vec![]);
        let out = csv(vec![calls, duration, depth, none]);
        let expected = [
            super::HEADER,
            r#"1700000000123,function_calls,counter,,"Calls, ""by"" function.","function=""fetch"",result=""ok""",3,,,,,,,,,,1700000000.25,function_calls_total"#,
            r#"1700000000123,function_calls,counter,,"Calls, ""by"" function.","path=""a,b\\c\nd""",0.5,,,,,,,,,,,function_calls_total"#,
            "1700000000123,d_seconds,histogram,seconds,,,,3,0.75,,,,,,,,,d_seconds",
            "1700000000123,depth,gauge,,Depth.,,NaN,,,,,,,,,,,depth",
            r#"1700000000123,depth,gauge,,Depth.,"q=""""",-1e-05,,,,,,,,,,,depth"#,
            "",
        ]
        .join("\r\n");
        assert_eq!(out, expected);
        let rows = read(&out).unwrap();
        assert!(rows.iter().all(|row| row.len() == 18), "{rows:?}");
        assert_eq!(rows[2][5], "path=\"a,b\\\\c\\nd\"");
        assert_eq!(rows[1][4], "Calls, \"by\" function.");
    }

    #[test]
    fn histogram_quantiles_and_extremes() {
        let mut value =
            HistogramValue::from_exponential(from_values([0.001, 0.002, 0.004, 0.008, 1.0]), &[]);
        value.exponential.min = Some(0.001);
        value.exponential.max = Some(1.0);
        let out = csv(vec![family(
            "h",
            "",
            MetricKind::Histogram,
            vec![series(&[("a", "1")], Value::Histogram(value.clone()))],
        )]);
        let rows = read(&out).unwrap();
        assert_eq!(rows.len(), 2);
        let row = &rows[1];
        assert_eq!(
            &row[6..11],
            &["", "5", &value.sum.to_string(), "0.001", "1"]
        );
        for (column, q) in (11..16).zip([0.5, 0.9, 0.95, 0.99, 0.999]) {
            assert_eq!(
                row[column].parse::<f64>().ok(),
                value.quantile(q),
                "{}",
                rows[0][column]
            );
        }
        assert_eq!(row[16], "");
    }

    #[test]
    fn field_quoting() {
        let mut out = String::new();
        for text in ["plain", "", "a,b", "q\"q", "cr\rlf\n", "ü☃"] {
            super::write_field(&mut out, text);
            out.push('|');
        }
        assert_eq!(out, "plain||\"a,b\"|\"q\"\"q\"|\"cr\rlf\n\"|ü☃|");
    }

    #[test]
    fn the_reader_rejects_what_is_not_rfc_4180() {
        assert!(read("a,b\n").is_err());
        assert!(read("a,\"b\r\n").is_err());
        assert!(read("a,b\"c\r\n").is_err());
        assert!(read("a,\"b\"c\r\n").is_err());
        assert!(read("a,b").is_err());
        assert_eq!(
            read("a,\"b,\"\"\r\n\",\r\n").unwrap(),
            vec![vec!["a".to_owned(), "b,\"\r\n".to_owned(), String::new()]]
        );
    }
}
