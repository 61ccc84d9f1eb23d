//! The JSON document of [`Format::Json`](crate::Format::Json): schema 1.
//!
//! One JSON object per export, written without insignificant whitespace and
//! followed by one line feed. Every member listed below is always present, in
//! the order listed (a consumer may rely on the names and types; the order is
//! given so that two exports of the same snapshot are byte-identical).
//!
//! ```json
//! {"schema":1,"timestamp_ms":1700000000123,"families":[
//!   {"name":"function_calls","sample_name":"function_calls_total","type":"counter","unit":null,"help":"Calls by function and result.",
//!    "series":[
//!      {"labels":{"function":"fetch","result":"ok"},"value":3,"created":1700000000.25}]},
//!   {"name":"function_calls_duration_seconds","sample_name":"function_calls_duration_seconds","type":"histogram","unit":"seconds","help":"Call duration.",
//!    "series":[
//!      {"labels":{"function":"fetch"},"count":3,"sum":0.75,"min":0.125,"max":0.5,
//!       "quantiles":{"p50":0.125,"p90":0.4946,"p95":0.4946,"p99":0.4946,"p999":0.4946},
//!       "buckets":[{"le":0.1,"count":0},{"le":0.25,"count":2},{"le":"+Inf","count":3}],
//!       "created":null}]},
//!   {"name":"queue_depth","sample_name":"queue_depth","type":"gauge","unit":null,"help":"",
//!    "series":[{"labels":{},"value":"NaN","created":null}]}]}
//! ```
//!
//! (Line breaks added here for reading, the encoder writes none but the last;
//! quantiles shortened: they are written with all their digits.)
//!
//! # Members
//!
//! The document:
//!
//! | member | type | meaning |
//! |---|---|---|
//! | `schema` | integer | `1`, the version of this schema |
//! | `timestamp_ms` | integer | time of the export, milliseconds since the Unix epoch (UTC) |
//! | `families` | array | the families, sorted by name |
//!
//! A family:
//!
//! | member | type | meaning |
//! |---|---|---|
//! | `name` | string | the family name; a counter's is without `_total` (`jobs` for a counter declared `jobs_total`) |
//! | `sample_name` | string | the name it was declared with and its samples carry in the text formats: a counter's `<name>_total`, else `name` (a histogram's samples add `_bucket`, `_count`, `_sum` to it) |
//! | `type` | string | `"counter"`, `"gauge"` or `"histogram"` |
//! | `unit` | string or `null` | the unit (`"seconds"`, `"bytes"`), `null` when none |
//! | `help` | string | the help text, unescaped (`""` when none) |
//! | `series` | array | the series, sorted by labels (may be empty) |
//!
//! A series of a counter or a gauge:
//!
//! | member | type | meaning |
//! |---|---|---|
//! | `labels` | object | label name → label value (strings), in the metric's label order |
//! | `value` | number | the counter's total or the gauge's value |
//! | `created` | number or `null` | when the series was created, seconds since the Unix epoch |
//!
//! A series of a histogram:
//!
//! | member | type | meaning |
//! |---|---|---|
//! | `labels` | object | as above |
//! | `count` | integer | number of observations |
//! | `sum` | number | sum of the observations |
//! | `min`, `max` | number or `null` | the exact smallest and largest observation (every histogram keeps them); `null` with no observation, or for a series read from elsewhere that does not carry them (parsed text, a source, the Redis backend) |
//! | `quantiles` | object | `p50`, `p90`, `p95`, `p99`, `p999`: estimated quantiles (within about 1.1 %, and within `min`..`max` where those are known), each `null` when there is no observation |
//! | `buckets` | array | classic buckets, cumulative, increasing `le`: `{"le": number, "count": integer}`, the last one `{"le": "+Inf", "count": <count>}` |
//! | `created` | number or `null` | as above |
//!
//! # Numbers and strings
//!
//! - A finite number is written as the shortest decimal text that reads back
//!   as the same `f64` (`3`, `0.25`, `1e-05`, `1.5e+21`); `-0` is written `0`.
//! - JSON has no non-finite numbers: `NaN`, `+Inf` and `-Inf` are written as
//!   the strings `"NaN"`, `"+Inf"` and `"-Inf"` wherever a number may be
//!   (a consumer reading a number member should accept these three strings).
//! - Strings (names, help, label names and values) are any Unicode text,
//!   written as it is except that `"` and `\` are escaped as `\"` and `\\`,
//!   and the control characters U+0000..U+001F as `\b`, `\f`, `\n`, `\r`,
//!   `\t` or `\u00XX`. The document is always valid JSON (RFC 8259) in UTF-8.
//!
//! # Stability
//!
//! Within schema `1`, future versions of telltale may add members (to the
//! document, a family or a series) and new `type` values, and may add
//! families and series; they will not remove, rename or retype a member, nor
//! change its meaning. A change that would is a new `schema` number.
//! Consumers should ignore members they do not know.

use std::fmt::Write as _;

use super::text::{buckets, write_float, FloatStyle, QUANTILES};
use crate::collect::snapshot::{HistogramValue, MetricFamily, MetricKind, Series, Snapshot, Value};

/// Appends `snapshot` as a schema-1 JSON document stamped `timestamp_ms` to `out`.
pub(super) fn encode(snapshot: &Snapshot, timestamp_ms: i64, out: &mut String) {
    // Writing into a `String` cannot fail.
    let _ = write!(
        out,
        "{{\"schema\":1,\"timestamp_ms\":{timestamp_ms},\"families\":["
    );
    for (i, family) in snapshot.families.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        encode_family(family, out);
    }
    out.push_str("]}\n");
}

fn encode_family(family: &MetricFamily, out: &mut String) {
    out.push_str("{\"name\":");
    write_string(out, &family.name);
    out.push_str(",\"sample_name\":");
    write_string(out, &family.sample_name());
    out.push_str(",\"type\":\"");
    out.push_str(family.kind.as_str());
    out.push_str("\",\"unit\":");
    match family.unit {
        Some(unit) => write_string(out, unit),
        None => out.push_str("null"),
    }
    out.push_str(",\"help\":");
    write_string(out, &family.help);
    out.push_str(",\"series\":[");
    let mut first = true;
    for series in &family.series {
        let written = match (&series.value, family.kind) {
            (
                Value::Counter(value) | Value::Gauge(value),
                MetricKind::Counter | MetricKind::Gauge,
            ) => {
                start_series(out, series, &mut first);
                out.push_str(",\"value\":");
                write_number(out, *value);
                true
            }
            (Value::Histogram(histogram), MetricKind::Histogram) => {
                start_series(out, series, &mut first);
                write_histogram(out, histogram);
                true
            }
            // Neither can be written as the other.
            (Value::Histogram(_), MetricKind::Counter | MetricKind::Gauge)
            | (Value::Counter(_) | Value::Gauge(_), MetricKind::Histogram) => false,
        };
        if written {
            out.push_str(",\"created\":");
            write_optional_number(out, series.created);
            out.push('}');
        }
    }
    out.push_str("]}");
}

/// Opens a series object and writes its labels.
fn start_series(out: &mut String, series: &Series, first: &mut bool) {
    if !*first {
        out.push(',');
    }
    *first = false;
    out.push_str("{\"labels\":{");
    for (i, (key, value)) in series.labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        write_string(out, value);
    }
    out.push('}');
}

fn write_histogram(out: &mut String, histogram: &HistogramValue) {
    let _ = write!(out, ",\"count\":{}", histogram.count);
    out.push_str(",\"sum\":");
    write_number(out, histogram.sum);
    out.push_str(",\"min\":");
    write_optional_number(out, histogram.exponential.min);
    out.push_str(",\"max\":");
    write_optional_number(out, histogram.exponential.max);
    out.push_str(",\"quantiles\":{");
    for (i, (name, q)) in QUANTILES.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(name);
        out.push_str("\":");
        write_optional_number(out, histogram.quantile(*q));
    }
    out.push_str("},\"buckets\":[");
    for (le, count) in buckets(histogram) {
        out.push_str("{\"le\":");
        write_number(out, le);
        let _ = write!(out, ",\"count\":{count}}},");
    }
    let _ = write!(out, "{{\"le\":\"+Inf\",\"count\":{}}}]", histogram.count);
}

/// A number, or `"NaN"`, `"+Inf"`, `"-Inf"`.
fn write_number(out: &mut String, value: f64) {
    if value.is_finite() {
        write_float(out, value, FloatStyle::Value);
    } else {
        out.push('"');
        write_float(out, value, FloatStyle::Value);
        out.push('"');
    }
}

fn write_optional_number(out: &mut String, value: Option<f64>) {
    match value {
        Some(value) => write_number(out, value),
        None => out.push_str("null"),
    }
}

/// A JSON string literal: `"` and `\` escaped, control characters escaped,
/// everything else as it is.
fn write_string(out: &mut String, text: &str) {
    out.push('"');
    let mut start = 0;
    // Only ASCII bytes are replaced; no byte of a multi-byte UTF-8 sequence
    // is ASCII, so every slice boundary is a char boundary.
    for (i, byte) in text.bytes().enumerate() {
        let short = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        if short.is_empty() {
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.push_str(short);
        }
        start = i + 1;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::time::{Duration, UNIX_EPOCH};

    use crate::collect::snapshot::{HistogramValue, MetricFamily, MetricKind, Snapshot, Value};
    use crate::encode::fixture::{family, histogram, series};
    use crate::encode::{encode_at, Format};
    use crate::store::histogram::from_values;

    fn json(families: Vec<MetricFamily>) -> String {
        let mut out = String::new();
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        encode_at(&Snapshot { families }, Format::Json, at, &mut out);
        out
    }

    #[test]
    fn empty_snapshot() {
        assert_eq!(
            json(vec![]),
            "{\"schema\":1,\"timestamp_ms\":1700000000123,\"families\":[]}\n"
        );
    }

    #[test]
    fn counters_gauges_and_histograms() {
        let mut calls = family(
            "function_calls",
            "Calls \"by\" function.",
            MetricKind::Counter,
            vec![
                series(
                    &[("function", "fetch"), ("result", "ok")],
                    Value::Counter(3.0),
                ),
                series(&[("function", "f\\g"), ("result", "")], Value::Counter(0.5)),
            ],
        );
        calls.series[0].created = Some(1_700_000_000.25);
        let mut duration = family(
            "d_seconds",
            "",
            MetricKind::Histogram,
            vec![series(
                &[("function", "fetch")],
                histogram(3, 0.75, &[(0.1, 0), (0.25, 2)]),
            )],
        );
        duration.unit = Some("seconds");
        let depth = family(
            "depth",
            "Depth.",
            MetricKind::Gauge,
            vec![
                series(&[], Value::Gauge(f64::NAN)),
                series(&[("q", "a")], Value::Gauge(f64::NEG_INFINITY)),
                series(&[("q", "b")], Value::Gauge(-1e-5)),
                series(&[("q", "c")], Value::Gauge(f64::INFINITY)),
            ],
        );
        let empty = family("none", "No series.", MetricKind::Counter, vec![]);
        let out = json(vec![calls, duration, depth, empty]);
        let expected = concat!(
            r#"{"schema":1,"timestamp_ms":1700000000123,"families":["#,
            r#"{"name":"function_calls","sample_name":"function_calls_total","type":"counter","unit":null,"help":"Calls \"by\" function.","series":["#,
            r#"{"labels":{"function":"fetch","result":"ok"},"value":3,"created":1700000000.25},"#,
            r#"{"labels":{"function":"f\\g","result":""},"value":0.5,"created":null}]},"#,
            r#"{"name":"d_seconds","sample_name":"d_seconds","type":"histogram","unit":"seconds","help":"","series":["#,
            r#"{"labels":{"function":"fetch"},"count":3,"sum":0.75,"min":null,"max":null,"#,
            r#""quantiles":{"p50":null,"p90":null,"p95":null,"p99":null,"p999":null},"#,
            r#""buckets":[{"le":0.1,"count":0},{"le":0.25,"count":2},{"le":"+Inf","count":3}],"#,
            r#""created":null}]},"#,
            r#"{"name":"depth","sample_name":"depth","type":"gauge","unit":null,"help":"Depth.","series":["#,
            r#"{"labels":{},"value":"NaN","created":null},"#,
            r#"{"labels":{"q":"a"},"value":"-Inf","created":null},"#,
            r#"{"labels":{"q":"b"},"value":-1e-05,"created":null},"#,
            r#"{"labels":{"q":"c"},"value":"+Inf","created":null}]},"#,
            r#"{"name":"none","sample_name":"none_total","type":"counter","unit":null,"help":"No series.","series":[]}]}"#,
            "\n"
        );
        assert_eq!(out, expected);
        // And it is JSON.
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed["families"][2]["series"][2]["value"], -1e-5);
    }

    #[test]
    fn mismatched_values_are_skipped() {
        let out = json(vec![
            family(
                "c",
                "",
                MetricKind::Counter,
                vec![
                    series(&[("a", "1")], histogram(1, 1.0, &[])),
                    series(&[("a", "2")], Value::Counter(1.0)),
                ],
            ),
            family(
                "h",
                "",
                MetricKind::Histogram,
                vec![series(&[], Value::Gauge(1.0))],
            ),
        ]);
        assert_eq!(
            out,
            concat!(
                r#"{"schema":1,"timestamp_ms":1700000000123,"families":["#,
                r#"{"name":"c","sample_name":"c_total","type":"counter","unit":null,"help":"","series":["#,
                r#"{"labels":{"a":"2"},"value":1,"created":null}]},"#,
                r#"{"name":"h","sample_name":"h","type":"histogram","unit":null,"help":"","series":[]}]}"#,
                "\n"
            )
        );
    }

    #[test]
    fn control_characters_and_unicode_are_valid_json() {
        let mut all = String::new();
        for c in (0u32..0x80).filter_map(char::from_u32) {
            all.push(c);
        }
        all.push_str("ü☃\u{2028}\u{2029}\u{10FFFF}\u{FEFF}");
        let out = json(vec![MetricFamily {
            name: Cow::Borrowed("x"),
            help: Cow::Owned(all.clone()),
            unit: None,
            kind: MetricKind::Gauge,
            series: vec![crate::collect::snapshot::Series {
                labels: vec![(Cow::Borrowed("k"), Cow::Owned(all.clone()))],
                value: Value::Gauge(1.0),
                created: None,
            }],
        }]);
        // No raw control character anywhere but the final line feed.
        assert!(!out[..out.len() - 1].bytes().any(|b| b < 0x20), "{out}");
        assert!(out.contains(r"\u0000\u0001"));
        assert!(out.contains(r"\b\t\n\u000b\f\r"));
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed["families"][0]["help"], all.as_str());
        assert_eq!(
            parsed["families"][0]["series"][0]["labels"]["k"],
            all.as_str()
        );
    }

    #[test]
    fn quantiles_and_extremes_of_a_real_store() {
        let values = [0.001, 0.002, 0.004, 0.008, 1.0];
        let exponential = from_values(values);
        let value = HistogramValue::from_exponential(exponential, &[0.005, 0.5]);
        // A value read from text or another process may carry no extremes.
        let mut without_extremes = value.clone();
        without_extremes.exponential.min = None;
        without_extremes.exponential.max = None;
        let out = json(vec![family(
            "h",
            "",
            MetricKind::Histogram,
            vec![
                series(&[("a", "1")], Value::Histogram(value.clone())),
                series(&[("a", "2")], Value::Histogram(without_extremes)),
            ],
        )]);
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        let first = &parsed["families"][0]["series"][0];
        assert_eq!(first["count"], 5);
        // An f64 store keeps its exact extremes, and quantiles stay within them.
        assert_eq!(first["min"], 0.001);
        assert_eq!(first["max"], 1.0);
        for (name, _) in super::QUANTILES {
            let q = first["quantiles"][name].as_f64().unwrap();
            assert!((0.001..=1.0).contains(&q), "{name} {q}");
        }
        // One observation: every quantile is that observation.
        let one = HistogramValue::from_exponential(from_values([1.5]), &[1.0]);
        let out = json(vec![family(
            "one",
            "",
            MetricKind::Histogram,
            vec![series(&[], Value::Histogram(one))],
        )]);
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        let only = &parsed["families"][0]["series"][0];
        assert_eq!((&only["min"], &only["max"]), (&1.5.into(), &1.5.into()));
        for (name, _) in super::QUANTILES {
            assert_eq!(only["quantiles"][name], 1.5, "{name}");
        }
        for (name, q) in super::QUANTILES {
            let expected = value.quantile(q).unwrap();
            assert_eq!(first["quantiles"][name].as_f64(), Some(expected), "{name}");
        }
        // Nearest rank of 5 observations: p50 is the 3rd (0.004), p90 and up the 5th (1.0).
        let p50 = first["quantiles"]["p50"].as_f64().unwrap();
        assert!((p50 / 0.004 - 1.0).abs() < 0.011, "{p50}");
        let p999 = first["quantiles"]["p999"].as_f64().unwrap();
        assert!((p999 - 1.0).abs() < 0.011, "{p999}");
        assert_eq!(
            first["buckets"],
            serde_json::json!([
                {"le": 0.005, "count": 3},
                {"le": 0.5, "count": 4},
                {"le": "+Inf", "count": 5},
            ])
        );
        let second = &parsed["families"][0]["series"][1];
        assert_eq!(second["min"], serde_json::Value::Null);
        assert_eq!(second["max"], serde_json::Value::Null);
    }
}
