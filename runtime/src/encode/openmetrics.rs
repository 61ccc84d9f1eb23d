//! OpenMetrics 1.0 text.
//!
//! ```text
//! # TYPE function_calls counter
//! # HELP function_calls Calls by function and result.
//! function_calls_total{function="fetch",result="ok"} 3
//! function_calls_created{function="fetch",result="ok"} 1700000000.25
//! # TYPE function_calls_duration_seconds histogram
//! # UNIT function_calls_duration_seconds seconds
//! # HELP function_calls_duration_seconds Call duration.
//! function_calls_duration_seconds_bucket{function="fetch",le="0.005"} 1
//! function_calls_duration_seconds_bucket{function="fetch",le="+Inf"} 3
//! function_calls_duration_seconds_count{function="fetch"} 3
//! function_calls_duration_seconds_sum{function="fetch"} 0.75
//! # EOF
//! ```

use super::text::{
    bucket_lines, gauge_lines, labels_text, write_count_line, write_escaped, write_sample_start,
    write_value_line, Escape, Repeated,
};
use crate::collect::snapshot::{MetricFamily, MetricKind, Snapshot, Value};

/// Appends `snapshot` as OpenMetrics 1.0 text to `out`.
pub(super) fn encode(snapshot: &Snapshot, out: &mut String) {
    for family in &snapshot.families {
        encode_family(family, out);
    }
    out.push_str("# EOF\n");
}

/// Appends one family: its metadata, then its series.
pub(super) fn encode_family(family: &MetricFamily, out: &mut String) {
    let name: &str = &family.name;
    header(out, name, &family.help, family.unit, family.kind);
    // Every line of a series has the same labels and the series of a
    // family mostly the same bounds: both are written once and copied.
    let mut scratch = String::new();
    let mut repeated = Repeated::default();
    for series in &family.series {
        let labels = labels_text(&mut scratch, &series.labels);
        match (&series.value, family.kind) {
            (Value::Counter(total) | Value::Gauge(total), MetricKind::Counter) => {
                counter(out, name, labels, (*total, series.created), &mut repeated);
            }
            (Value::Counter(value) | Value::Gauge(value), MetricKind::Gauge) => {
                gauge_lines(out, name, labels, *value);
            }
            (Value::Histogram(histogram), MetricKind::Histogram) => {
                histogram_lines(
                    out,
                    name,
                    labels,
                    &mut repeated,
                    (histogram.count, histogram.sum, series.created),
                    super::text::buckets(histogram),
                );
            }
            // Neither can be written as the other.
            (Value::Histogram(_), MetricKind::Counter | MetricKind::Gauge)
            | (Value::Counter(_) | Value::Gauge(_), MetricKind::Histogram) => {}
        }
    }
}

/// Appends the metadata of a family in the order the specification
/// recommends: `TYPE`, `UNIT`, `HELP`. The family name is the same on all
/// three (no `_total` here).
pub(super) fn header(
    out: &mut String,
    name: &str,
    help: &str,
    unit: Option<&str>,
    kind: MetricKind,
) {
    out.push_str("# TYPE ");
    out.push_str(name);
    out.push(' ');
    out.push_str(kind.as_str());
    out.push('\n');
    if let Some(unit) = unit.filter(|unit| unit_fits(name, unit)) {
        out.push_str("# UNIT ");
        out.push_str(name);
        out.push(' ');
        out.push_str(unit);
        out.push('\n');
    }
    // An empty HELP means the same as no HELP line.
    if !help.is_empty() {
        out.push_str("# HELP ");
        out.push_str(name);
        out.push(' ');
        write_escaped(out, help, Escape::Quoted);
        out.push('\n');
    }
}

/// Appends a counter series with these `labels` (as [`labels_text`] writes
/// them): `_total` and, with a creation time, `_created`. A Total must not be
/// NaN or negative; one bad sample would make a parser reject the whole
/// exposition, so such a series is left out.
#[inline]
pub(super) fn counter(
    out: &mut String,
    name: &str,
    labels: &str,
    (total, created): (f64, Option<f64>),
    repeated: &mut Repeated,
) {
    if total.is_nan() || total < 0.0 {
        return;
    }
    write_sample_start(out, name, "_total", labels, "");
    write_value_line(out, total);
    write_created(out, name, labels, created, repeated);
}

/// Appends a histogram series: its `buckets` (cumulative, increasing `le`,
/// without `+Inf`), the `+Inf` bucket, `_count`, `_sum` and `_created`.
pub(super) fn histogram_lines(
    out: &mut String,
    name: &str,
    labels: &str,
    repeated: &mut Repeated,
    (count, sum, created): (u64, f64, Option<f64>),
    buckets: impl Iterator<Item = (f64, u64)>,
) {
    let negative_bucket = bucket_lines(out, name, labels, repeated, count, buckets);
    // `_sum` is a counter: never NaN or negative, and absent when a
    // bucket is below zero. `_count` is there exactly when `_sum` is.
    if !negative_bucket && !sum.is_nan() && sum >= 0.0 {
        write_sample_start(out, name, "_count", labels, "");
        write_count_line(out, count);
        write_sample_start(out, name, "_sum", labels, "");
        write_value_line(out, sum);
    }
    write_created(out, name, labels, created, repeated);
}

/// Appends the `_created` sample of a counter or histogram series with these
/// `labels` (as [`labels_text`] wrote them), when it has a (finite) creation
/// time.
fn write_created(
    out: &mut String,
    name: &str,
    labels: &str,
    created: Option<f64>,
    repeated: &mut Repeated,
) {
    if let Some(created) = created.filter(|created| created.is_finite()) {
        write_sample_start(out, name, "_created", labels, "");
        out.push_str(repeated.created(created));
    }
}

/// Whether `unit` may be declared for the family `name`: a non-empty run of
/// metric-name characters that the name ends with, after an underscore.
fn unit_fits(name: &str, unit: &str) -> bool {
    !unit.is_empty()
        && unit
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
        && name
            .strip_suffix(unit)
            .is_some_and(|stem| stem.len() > 1 && stem.ends_with('_'))
}

#[cfg(test)]
mod tests {
    use crate::collect::snapshot::{MetricFamily, MetricKind, Series, Snapshot, Value};
    use crate::encode::fixture::{family, histogram, series};
    use crate::encode::{encode, Format};

    fn text(families: Vec<MetricFamily>) -> String {
        let mut out = String::new();
        encode(&Snapshot { families }, Format::OpenMetrics, &mut out);
        out
    }

    fn created(mut series: Series, at: f64) -> Series {
        series.created = Some(at);
        series
    }

    #[test]
    fn empty_snapshot_is_just_eof() {
        assert_eq!(text(vec![]), "# EOF\n");
    }

    #[test]
    fn counter_family_has_total_and_created_samples() {
        let out = text(vec![family(
            "function_calls",
            "Calls by function and result.",
            MetricKind::Counter,
            vec![
                created(
                    series(
                        &[
                            ("function", "fetch"),
                            ("result", "error"),
                            ("error", "timeout"),
                        ],
                        Value::Counter(2.0),
                    ),
                    1_700_000_000.25,
                ),
                series(
                    &[("function", "fetch"), ("result", "ok"), ("error", "")],
                    Value::Counter(0.0),
                ),
                created(series(&[("function", "f")], Value::Counter(0.5)), 1e9),
            ],
        )]);
        assert_eq!(
            out,
            "# TYPE function_calls counter\n\
             # HELP function_calls Calls by function and result.\n\
             function_calls_total{function=\"fetch\",result=\"error\",error=\"timeout\"} 2\n\
             function_calls_created{function=\"fetch\",result=\"error\",error=\"timeout\"} 1700000000.25\n\
             function_calls_total{function=\"fetch\",result=\"ok\",error=\"\"} 0\n\
             function_calls_total{function=\"f\"} 0.5\n\
             function_calls_created{function=\"f\"} 1000000000\n\
             # EOF\n"
        );
    }

    #[test]
    fn counter_without_labels() {
        let out = text(vec![family(
            "a",
            "help",
            MetricKind::Counter,
            vec![series(&[], Value::Counter(1.0))],
        )]);
        assert_eq!(out, "# TYPE a counter\n# HELP a help\na_total 1\n# EOF\n");
    }

    #[test]
    fn counters_that_the_spec_forbids_are_skipped() {
        let out = text(vec![family(
            "c",
            "C.",
            MetricKind::Counter,
            vec![
                series(&[("v", "nan")], Value::Counter(f64::NAN)),
                series(&[("v", "neg")], Value::Counter(-1.0)),
                series(&[("v", "inf")], Value::Counter(f64::INFINITY)),
                created(series(&[("v", "ok")], Value::Counter(3.0)), f64::NAN),
            ],
        )]);
        assert_eq!(
            out,
            "# TYPE c counter\n\
             # HELP c C.\n\
             c_total{v=\"inf\"} +Inf\n\
             c_total{v=\"ok\"} 3\n\
             # EOF\n"
        );
    }

    #[test]
    fn gauges_and_special_values() {
        let out = text(vec![family(
            "g",
            "G.",
            MetricKind::Gauge,
            vec![
                series(&[("v", "nan")], Value::Gauge(f64::NAN)),
                series(&[("v", "pos")], Value::Gauge(f64::INFINITY)),
                series(&[("v", "neg")], Value::Gauge(f64::NEG_INFINITY)),
                series(&[("v", "int")], Value::Gauge(-17.0)),
                series(&[("v", "float")], Value::Gauge(1.2)),
                series(&[("v", "small")], Value::Gauge(1.89e-7)),
            ],
        )]);
        assert_eq!(
            out,
            "# TYPE g gauge\n\
             # HELP g G.\n\
             g{v=\"nan\"} NaN\n\
             g{v=\"pos\"} +Inf\n\
             g{v=\"neg\"} -Inf\n\
             g{v=\"int\"} -17\n\
             g{v=\"float\"} 1.2\n\
             g{v=\"small\"} 1.89e-07\n\
             # EOF\n"
        );
    }

    #[test]
    fn unit_only_when_the_name_ends_with_it() {
        let mut with_unit = family(
            "request_duration_seconds",
            "Time.",
            MetricKind::Gauge,
            vec![],
        );
        with_unit.unit = Some("seconds");
        let mut counter_unit = family("cpu_seconds", "CPU.", MetricKind::Counter, vec![]);
        counter_unit.unit = Some("seconds");
        let mut not_a_suffix = family("requests", "Requests.", MetricKind::Gauge, vec![]);
        not_a_suffix.unit = Some("seconds");
        let mut no_underscore = family("xseconds", "X.", MetricKind::Gauge, vec![]);
        no_underscore.unit = Some("seconds");
        let mut whole_name = family("seconds", "S.", MetricKind::Gauge, vec![]);
        whole_name.unit = Some("seconds");
        let mut empty = family("a_", "A.", MetricKind::Gauge, vec![]);
        empty.unit = Some("");
        let mut bad_chars = family("a_b c", "A.", MetricKind::Gauge, vec![]);
        bad_chars.unit = Some("b c");
        let out = text(vec![
            with_unit,
            counter_unit,
            not_a_suffix,
            no_underscore,
            whole_name,
            empty,
            bad_chars,
        ]);
        assert_eq!(
            out,
            "# TYPE request_duration_seconds gauge\n\
             # UNIT request_duration_seconds seconds\n\
             # HELP request_duration_seconds Time.\n\
             # TYPE cpu_seconds counter\n\
             # UNIT cpu_seconds seconds\n\
             # HELP cpu_seconds CPU.\n\
             # TYPE requests gauge\n\
             # HELP requests Requests.\n\
             # TYPE xseconds gauge\n\
             # HELP xseconds X.\n\
             # TYPE seconds gauge\n\
             # HELP seconds S.\n\
             # TYPE a_ gauge\n\
             # HELP a_ A.\n\
             # TYPE a_b c gauge\n\
             # HELP a_b c A.\n\
             # EOF\n"
        );
    }

    #[test]
    fn help_escapes_backslash_quote_newline() {
        let out = text(vec![family(
            "g",
            "Path C:\\dir\\ \"quoted\"\nsecond line ü ☃ \t",
            MetricKind::Gauge,
            vec![],
        )]);
        assert_eq!(
            out,
            "# TYPE g gauge\n\
             # HELP g Path C:\\\\dir\\\\ \\\"quoted\\\"\\nsecond line ü ☃ \t\n\
             # EOF\n"
        );
    }

    #[test]
    fn empty_help_writes_no_help_line() {
        let out = text(vec![family(
            "g",
            "",
            MetricKind::Gauge,
            vec![series(&[], Value::Gauge(0.0))],
        )]);
        assert_eq!(out, "# TYPE g gauge\ng 0\n# EOF\n");
    }

    #[test]
    fn label_values_escape_backslash_quote_newline() {
        // The escapes of the conformance suite's `escaping` and
        // `label_escaping` cases, plus Unicode, `#` and braces.
        let out = text(vec![family(
            "a",
            "help",
            MetricKind::Counter,
            vec![
                series(&[("foo", "b\"a\nr")], Value::Counter(1.0)),
                series(&[("foo", "b\\a\\z")], Value::Counter(2.0)),
                series(&[("foo", "\\\\\n"), ("bar", "baz")], Value::Counter(3.0)),
                series(&[("foo", "} foo # bar # ")], Value::Counter(4.0)),
                series(&[("foo", "☃ grüße \u{0}")], Value::Counter(5.0)),
            ],
        )]);
        assert_eq!(
            out,
            "# TYPE a counter\n\
             # HELP a help\n\
             a_total{foo=\"b\\\"a\\nr\"} 1\n\
             a_total{foo=\"b\\\\a\\\\z\"} 2\n\
             a_total{foo=\"\\\\\\\\\\n\",bar=\"baz\"} 3\n\
             a_total{foo=\"} foo # bar # \"} 4\n\
             a_total{foo=\"☃ grüße \u{0}\"} 5\n\
             # EOF\n"
        );
    }

    #[test]
    fn histogram_has_buckets_count_sum_created() {
        let mut h = family(
            "function_calls_duration_seconds",
            "Call duration.",
            MetricKind::Histogram,
            vec![
                created(
                    series(
                        &[("function", "fetch"), ("module", "app")],
                        histogram(
                            7,
                            3.25,
                            &[(0.005, 1), (0.01, 2), (0.25, 4), (1.0, 6), (10.0, 6)],
                        ),
                    ),
                    1_520_430_000.123,
                ),
                series(
                    &[("function", "idle"), ("module", "app")],
                    histogram(0, 0.0, &[(1.0, 0)]),
                ),
            ],
        );
        h.unit = Some("seconds");
        let out = text(vec![h]);
        assert_eq!(
            out,
            "# TYPE function_calls_duration_seconds histogram\n\
             # UNIT function_calls_duration_seconds seconds\n\
             # HELP function_calls_duration_seconds Call duration.\n\
             function_calls_duration_seconds_bucket{function=\"fetch\",module=\"app\",le=\"0.005\"} 1\n\
             function_calls_duration_seconds_bucket{function=\"fetch\",module=\"app\",le=\"0.01\"} 2\n\
             function_calls_duration_seconds_bucket{function=\"fetch\",module=\"app\",le=\"0.25\"} 4\n\
             function_calls_duration_seconds_bucket{function=\"fetch\",module=\"app\",le=\"1.0\"} 6\n\
             function_calls_duration_seconds_bucket{function=\"fetch\",module=\"app\",le=\"10.0\"} 6\n\
             function_calls_duration_seconds_bucket{function=\"fetch\",module=\"app\",le=\"+Inf\"} 7\n\
             function_calls_duration_seconds_count{function=\"fetch\",module=\"app\"} 7\n\
             function_calls_duration_seconds_sum{function=\"fetch\",module=\"app\"} 3.25\n\
             function_calls_duration_seconds_created{function=\"fetch\",module=\"app\"} 1520430000.123\n\
             function_calls_duration_seconds_bucket{function=\"idle\",module=\"app\",le=\"1.0\"} 0\n\
             function_calls_duration_seconds_bucket{function=\"idle\",module=\"app\",le=\"+Inf\"} 0\n\
             function_calls_duration_seconds_count{function=\"idle\",module=\"app\"} 0\n\
             function_calls_duration_seconds_sum{function=\"idle\",module=\"app\"} 0\n\
             # EOF\n"
        );
    }

    #[test]
    fn histogram_le_values_are_canonical() {
        // The `le` values of the specification's histogram example.
        let out = text(vec![family(
            "foo",
            "",
            MetricKind::Histogram,
            vec![series(
                &[],
                histogram(
                    17,
                    324_789.3,
                    &[
                        (0.0, 0),
                        (1e-5, 0),
                        (0.0001, 5),
                        (0.1, 8),
                        (1.0, 10),
                        (10.0, 11),
                        (100_000.0, 11),
                        (1e6, 15),
                        (1e23, 16),
                        (1.1e23, 17),
                    ],
                ),
            )],
        )]);
        assert_eq!(
            out,
            "# TYPE foo histogram\n\
             foo_bucket{le=\"0.0\"} 0\n\
             foo_bucket{le=\"1e-05\"} 0\n\
             foo_bucket{le=\"0.0001\"} 5\n\
             foo_bucket{le=\"0.1\"} 8\n\
             foo_bucket{le=\"1.0\"} 10\n\
             foo_bucket{le=\"10.0\"} 11\n\
             foo_bucket{le=\"100000.0\"} 11\n\
             foo_bucket{le=\"1e+06\"} 15\n\
             foo_bucket{le=\"1e+23\"} 16\n\
             foo_bucket{le=\"1.1e+23\"} 17\n\
             foo_bucket{le=\"+Inf\"} 17\n\
             foo_count 17\n\
             foo_sum 324789.3\n\
             # EOF\n"
        );
    }

    #[test]
    fn histogram_with_negative_bucket_or_bad_sum_has_no_sum_or_count() {
        let out = text(vec![family(
            "h",
            "H.",
            MetricKind::Histogram,
            vec![
                series(
                    &[("case", "negative_le")],
                    histogram(3, -5.0, &[(-1.0, 1), (1.0, 2)]),
                ),
                series(&[("case", "negative_sum")], histogram(1, -0.5, &[(1.0, 1)])),
                series(&[("case", "nan_sum")], histogram(1, f64::NAN, &[])),
                series(&[("case", "inf_sum")], histogram(1, f64::INFINITY, &[])),
            ],
        )]);
        assert_eq!(
            out,
            "# TYPE h histogram\n\
             # HELP h H.\n\
             h_bucket{case=\"negative_le\",le=\"-1.0\"} 1\n\
             h_bucket{case=\"negative_le\",le=\"1.0\"} 2\n\
             h_bucket{case=\"negative_le\",le=\"+Inf\"} 3\n\
             h_bucket{case=\"negative_sum\",le=\"1.0\"} 1\n\
             h_bucket{case=\"negative_sum\",le=\"+Inf\"} 1\n\
             h_bucket{case=\"nan_sum\",le=\"+Inf\"} 1\n\
             h_bucket{case=\"inf_sum\",le=\"+Inf\"} 1\n\
             h_count{case=\"inf_sum\"} 1\n\
             h_sum{case=\"inf_sum\"} +Inf\n\
             # EOF\n"
        );
    }

    #[test]
    fn empty_families_write_their_metadata() {
        let out = text(vec![
            family("c", "A counter.", MetricKind::Counter, vec![]),
            family("g", "", MetricKind::Gauge, vec![]),
        ]);
        assert_eq!(
            out,
            "# TYPE c counter\n# HELP c A counter.\n# TYPE g gauge\n# EOF\n"
        );
    }

    #[test]
    fn mismatched_value_kinds_do_not_break_the_text() {
        let out = text(vec![
            family(
                "c",
                "C.",
                MetricKind::Counter,
                vec![series(&[], Value::Gauge(4.0))],
            ),
            family(
                "g",
                "G.",
                MetricKind::Gauge,
                vec![series(&[], histogram(1, 1.0, &[]))],
            ),
            family(
                "h",
                "H.",
                MetricKind::Histogram,
                vec![series(&[], Value::Gauge(1.0))],
            ),
        ]);
        assert_eq!(
            out,
            "# TYPE c counter\n# HELP c C.\nc_total 4\n\
             # TYPE g gauge\n# HELP g G.\n\
             # TYPE h histogram\n# HELP h H.\n\
             # EOF\n"
        );
    }

    #[test]
    fn no_blank_lines_and_one_eof() {
        let out = text(vec![
            family(
                "a",
                "x\n\ny",
                MetricKind::Gauge,
                vec![series(&[("l", "\n")], Value::Gauge(1.0))],
            ),
            family(
                "b",
                "B.",
                MetricKind::Histogram,
                vec![series(&[], histogram(0, 0.0, &[]))],
            ),
        ]);
        assert!(!out.contains("\n\n"), "{out}");
        assert!(!out.starts_with('\n'));
        assert_eq!(out.matches("# EOF").count(), 1);
        assert!(out.ends_with("\n# EOF\n"));
    }
}
