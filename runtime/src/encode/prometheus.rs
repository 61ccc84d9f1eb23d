//! The Prometheus text format, version 0.0.4.
//!
//! ```text
//! # HELP function_calls_total Calls by function and result.
//! # TYPE function_calls_total counter
//! function_calls_total{function="fetch",result="ok"} 3
//! # HELP function_calls_duration_seconds Call duration.
//! # TYPE function_calls_duration_seconds histogram
//! function_calls_duration_seconds_bucket{function="fetch",le="0.005"} 1
//! function_calls_duration_seconds_bucket{function="fetch",le="+Inf"} 3
//! function_calls_duration_seconds_sum{function="fetch"} 0.75
//! function_calls_duration_seconds_count{function="fetch"} 3
//! ```

use super::text::{
    bucket_lines, gauge_lines, labels_text, write_count_line, write_escaped, write_sample_start,
    write_value_line, Escape, Repeated,
};
use crate::collect::snapshot::{MetricFamily, MetricKind, Snapshot, Value};

/// Appends `snapshot` as Prometheus 0.0.4 text to `out`.
pub(super) fn encode(snapshot: &Snapshot, out: &mut String) {
    for family in &snapshot.families {
        encode_family(family, out);
    }
}

/// Appends one family: its metadata, then its series.
pub(super) fn encode_family(family: &MetricFamily, out: &mut String) {
    header(out, &family.name, &family.help, family.kind);
    // Every line of a histogram series has the same labels and the series
    // of a family mostly the same bounds: both are written once and copied.
    let mut scratch = String::new();
    let mut repeated = Repeated::default();
    for series in &family.series {
        let labels = labels_text(&mut scratch, &series.labels);
        match (&series.value, family.kind) {
            (Value::Counter(value) | Value::Gauge(value), MetricKind::Counter) => {
                counter(out, &family.name, labels, *value);
            }
            (Value::Counter(value) | Value::Gauge(value), _) => {
                gauge_lines(out, &family.name, labels, *value);
            }
            (Value::Histogram(histogram), MetricKind::Histogram) => {
                histogram_lines(
                    out,
                    &family.name,
                    labels,
                    &mut repeated,
                    (histogram.count, histogram.sum),
                    super::text::buckets(histogram),
                );
            }
            // A distribution cannot be written as one number.
            (Value::Histogram(_), MetricKind::Counter | MetricKind::Gauge) => {}
        }
    }
}

/// Appends the `HELP` (unless `help` is empty) and `TYPE` lines of a family.
/// In 0.0.4 a counter is one sample whose name, on every line, is the family
/// name with `_total`.
pub(super) fn header(out: &mut String, name: &str, help: &str, kind: MetricKind) {
    let suffix = counter_suffix(kind);
    if !help.is_empty() {
        out.push_str("# HELP ");
        out.push_str(name);
        out.push_str(suffix);
        out.push(' ');
        write_escaped(out, help, Escape::Help004);
        out.push('\n');
    }
    out.push_str("# TYPE ");
    out.push_str(name);
    out.push_str(suffix);
    out.push(' ');
    out.push_str(kind.as_str());
    out.push('\n');
}

fn counter_suffix(kind: MetricKind) -> &'static str {
    match kind {
        MetricKind::Counter => "_total",
        MetricKind::Gauge | MetricKind::Histogram => "",
    }
}

/// Appends a counter series with these `labels` (as [`labels_text`] writes them).
#[inline]
pub(super) fn counter(out: &mut String, name: &str, labels: &str, total: f64) {
    write_sample_start(out, name, "_total", labels, "");
    write_value_line(out, total);
}

/// Appends a histogram series: its `buckets` (cumulative, increasing `le`,
/// without `+Inf`), the `+Inf` bucket, `_sum` and `_count`.
pub(super) fn histogram_lines(
    out: &mut String,
    name: &str,
    labels: &str,
    repeated: &mut Repeated,
    (count, sum): (u64, f64),
    buckets: impl Iterator<Item = (f64, u64)>,
) {
    bucket_lines(out, name, labels, repeated, count, buckets);
    write_sample_start(out, name, "_sum", labels, "");
    write_value_line(out, sum);
    write_sample_start(out, name, "_count", labels, "");
    write_count_line(out, count);
}

#[cfg(test)]
mod tests {
    use crate::collect::snapshot::{MetricFamily, MetricKind, Series, Snapshot, Value};
    use crate::encode::fixture::{family, histogram, series};
    use crate::encode::{encode, Format};

    fn text(families: Vec<MetricFamily>) -> String {
        let mut out = String::new();
        encode(&Snapshot { families }, Format::Prometheus, &mut out);
        out
    }

    #[test]
    fn empty_snapshot_is_empty_text() {
        assert_eq!(text(vec![]), "");
    }

    #[test]
    fn counter_is_named_total_everywhere() {
        let out = text(vec![family(
            "function_calls",
            "Calls by function and result.",
            MetricKind::Counter,
            vec![
                series(
                    &[
                        ("function", "fetch"),
                        ("result", "error"),
                        ("error", "timeout"),
                    ],
                    Value::Counter(2.0),
                ),
                Series {
                    created: Some(1_700_000_000.5),
                    ..series(
                        &[("function", "fetch"), ("result", "ok"), ("error", "")],
                        Value::Counter(0.0),
                    )
                },
            ],
        )]);
        assert_eq!(
            out,
            "# HELP function_calls_total Calls by function and result.\n\
             # TYPE function_calls_total counter\n\
             function_calls_total{function=\"fetch\",result=\"error\",error=\"timeout\"} 2\n\
             function_calls_total{function=\"fetch\",result=\"ok\",error=\"\"} 0\n"
        );
    }

    #[test]
    fn gauge_without_labels_and_special_values() {
        let out = text(vec![
            family(
                "a",
                "A gauge.",
                MetricKind::Gauge,
                vec![series(&[], Value::Gauge(1.5))],
            ),
            family(
                "b",
                "Odd values.",
                MetricKind::Gauge,
                vec![
                    series(&[("v", "nan")], Value::Gauge(f64::NAN)),
                    series(&[("v", "pos")], Value::Gauge(f64::INFINITY)),
                    series(&[("v", "neg")], Value::Gauge(f64::NEG_INFINITY)),
                    series(&[("v", "tiny")], Value::Gauge(-2.5e-9)),
                    series(&[("v", "huge")], Value::Gauge(6.02e23)),
                ],
            ),
        ]);
        assert_eq!(
            out,
            "# HELP a A gauge.\n\
             # TYPE a gauge\n\
             a 1.5\n\
             # HELP b Odd values.\n\
             # TYPE b gauge\n\
             b{v=\"nan\"} NaN\n\
             b{v=\"pos\"} +Inf\n\
             b{v=\"neg\"} -Inf\n\
             b{v=\"tiny\"} -2.5e-09\n\
             b{v=\"huge\"} 6.02e+23\n"
        );
    }

    #[test]
    fn help_escapes_backslash_and_newline_only() {
        let out = text(vec![family(
            "g",
            "Path C:\\dir\\ \"quoted\"\nsecond line ü ☃",
            MetricKind::Gauge,
            vec![],
        )]);
        assert_eq!(
            out,
            "# HELP g Path C:\\\\dir\\\\ \"quoted\"\\nsecond line ü ☃\n# TYPE g gauge\n"
        );
    }

    #[test]
    fn label_values_escape_backslash_quote_newline() {
        let out = text(vec![family(
            "g",
            "h",
            MetricKind::Gauge,
            vec![
                series(&[("path", "C:\\DIR\\FILE.TXT")], Value::Gauge(1.0)),
                series(
                    &[("error", "Cannot find file:\n\"FILE.TXT\"")],
                    Value::Gauge(2.0),
                ),
                series(&[("text", "grüße ☃ {a} # \t")], Value::Gauge(3.0)),
                series(&[("a", ""), ("b", "\\\\n")], Value::Gauge(4.0)),
            ],
        )]);
        assert_eq!(
            out,
            "# HELP g h\n\
             # TYPE g gauge\n\
             g{path=\"C:\\\\DIR\\\\FILE.TXT\"} 1\n\
             g{error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 2\n\
             g{text=\"grüße ☃ {a} # \t\"} 3\n\
             g{a=\"\",b=\"\\\\\\\\n\"} 4\n"
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
        assert_eq!(out, "# TYPE g gauge\ng 0\n");
    }

    #[test]
    fn empty_families_write_their_metadata() {
        let out = text(vec![
            family("c", "A counter.", MetricKind::Counter, vec![]),
            family("h_seconds", "A histogram.", MetricKind::Histogram, vec![]),
        ]);
        assert_eq!(
            out,
            "# HELP c_total A counter.\n\
             # TYPE c_total counter\n\
             # HELP h_seconds A histogram.\n\
             # TYPE h_seconds histogram\n"
        );
    }

    #[test]
    fn histogram_has_cumulative_buckets_then_inf_sum_count() {
        let out = text(vec![family(
            "function_calls_duration_seconds",
            "Call duration.",
            MetricKind::Histogram,
            vec![
                series(
                    &[("function", "fetch"), ("module", "app")],
                    histogram(
                        7,
                        3.25,
                        &[(0.005, 1), (0.01, 2), (0.25, 4), (1.0, 6), (10.0, 6)],
                    ),
                ),
                series(
                    &[("function", "idle"), ("module", "app")],
                    histogram(
                        0,
                        0.0,
                        &[(0.005, 0), (0.01, 0), (0.25, 0), (1.0, 0), (10.0, 0)],
                    ),
                ),
            ],
        )]);
        assert_eq!(
            out,
            "# HELP function_calls_duration_seconds Call duration.\n\
             # TYPE function_calls_duration_seconds histogram\n\
             function_calls_duration_seconds_bucket{function=\"fetch\",module=\"app\",le=\"0.005\"} 1\n\
             function_calls_duration_seconds_bucket{function=\"fetch\",module=\"app\",le=\"0.01\"} 2\n\
             function_calls_duration_seconds_bucket{function=\"fetch\",module=\"app\",le=\"0.25\"} 4\n\
             function_calls_duration_seconds_bucket{function=\"fetch\",module=\"app\",le=\"1.0\"} 6\n\
             function_calls_duration_seconds_bucket{function=\"fetch\",module=\"app\",le=\"10.0\"} 6\n\
             function_calls_duration_seconds_bucket{function=\"fetch\",module=\"app\",le=\"+Inf\"} 7\n\
             function_calls_duration_seconds_sum{function=\"fetch\",module=\"app\"} 3.25\n\
             function_calls_duration_seconds_count{function=\"fetch\",module=\"app\"} 7\n\
             function_calls_duration_seconds_bucket{function=\"idle\",module=\"app\",le=\"0.005\"} 0\n\
             function_calls_duration_seconds_bucket{function=\"idle\",module=\"app\",le=\"0.01\"} 0\n\
             function_calls_duration_seconds_bucket{function=\"idle\",module=\"app\",le=\"0.25\"} 0\n\
             function_calls_duration_seconds_bucket{function=\"idle\",module=\"app\",le=\"1.0\"} 0\n\
             function_calls_duration_seconds_bucket{function=\"idle\",module=\"app\",le=\"10.0\"} 0\n\
             function_calls_duration_seconds_bucket{function=\"idle\",module=\"app\",le=\"+Inf\"} 0\n\
             function_calls_duration_seconds_sum{function=\"idle\",module=\"app\"} 0\n\
             function_calls_duration_seconds_count{function=\"idle\",module=\"app\"} 0\n"
        );
    }

    #[test]
    fn histogram_series_with_other_bounds_and_escaped_labels() {
        let out = text(vec![family(
            "h",
            "",
            MetricKind::Histogram,
            vec![
                series(&[("k", "a\"b")], histogram(3, 1.5, &[(0.5, 1), (1.0, 2)])),
                series(
                    &[("k", "c")],
                    histogram(18_446_744_073_709_551_615, 0.0, &[(2.0, 0)]),
                ),
                series(&[], histogram(0, 0.0, &[(0.5, 0), (1.0, 0)])),
            ],
        )]);
        assert_eq!(
            out,
            "# TYPE h histogram\n\
             h_bucket{k=\"a\\\"b\",le=\"0.5\"} 1\n\
             h_bucket{k=\"a\\\"b\",le=\"1.0\"} 2\n\
             h_bucket{k=\"a\\\"b\",le=\"+Inf\"} 3\n\
             h_sum{k=\"a\\\"b\"} 1.5\n\
             h_count{k=\"a\\\"b\"} 3\n\
             h_bucket{k=\"c\",le=\"2.0\"} 0\n\
             h_bucket{k=\"c\",le=\"+Inf\"} 18446744073709551615\n\
             h_sum{k=\"c\"} 0\n\
             h_count{k=\"c\"} 18446744073709551615\n\
             h_bucket{le=\"0.5\"} 0\n\
             h_bucket{le=\"1.0\"} 0\n\
             h_bucket{le=\"+Inf\"} 0\n\
             h_sum 0\n\
             h_count 0\n"
        );
    }

    #[test]
    fn histogram_without_labels_or_buckets() {
        let out = text(vec![family(
            "h",
            "H.",
            MetricKind::Histogram,
            vec![series(&[], histogram(2, 0.5, &[]))],
        )]);
        assert_eq!(
            out,
            "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.5\nh_count 2\n"
        );
    }

    #[test]
    fn histogram_skips_unwritable_buckets() {
        // NaN, a repeated `le`, a decreasing `le` and an explicit +Inf bucket
        // would each make the histogram invalid; only the +Inf the encoder
        // writes from the count remains.
        let out = text(vec![family(
            "h",
            "H.",
            MetricKind::Histogram,
            vec![series(
                &[],
                histogram(
                    3,
                    1e6,
                    &[
                        (f64::NAN, 0),
                        (-1.0, 0),
                        (0.5, 1),
                        (0.5, 1),
                        (0.25, 1),
                        (1e6, 2),
                        (f64::INFINITY, 3),
                    ],
                ),
            )],
        )]);
        assert_eq!(
            out,
            "# HELP h H.\n\
             # TYPE h histogram\n\
             h_bucket{le=\"-1.0\"} 0\n\
             h_bucket{le=\"0.5\"} 1\n\
             h_bucket{le=\"1e+06\"} 2\n\
             h_bucket{le=\"+Inf\"} 3\n\
             h_sum 1000000\n\
             h_count 3\n"
        );
    }

    #[test]
    fn build_info_gauge() {
        let out = text(vec![family(
            "build_info",
            "Build information of this service.",
            MetricKind::Gauge,
            vec![series(
                &[
                    ("version", "0.1.0"),
                    ("commit", "abc123"),
                    ("service_name", "quickstart"),
                ],
                Value::Gauge(1.0),
            )],
        )]);
        assert_eq!(
            out,
            "# HELP build_info Build information of this service.\n\
             # TYPE build_info gauge\n\
             build_info{version=\"0.1.0\",commit=\"abc123\",service_name=\"quickstart\"} 1\n"
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
        ]);
        assert_eq!(
            out,
            "# HELP c_total C.\n# TYPE c_total counter\nc_total 4\n# HELP g G.\n# TYPE g gauge\n"
        );
    }

    #[test]
    fn appends_to_the_buffer() {
        let mut out = String::from("keep\n");
        let snapshot = Snapshot {
            families: vec![family(
                "g",
                "G.",
                MetricKind::Gauge,
                vec![series(&[], Value::Gauge(1.0))],
            )],
        };
        encode(&snapshot, Format::Prometheus, &mut out);
        assert_eq!(out, "keep\n# HELP g G.\n# TYPE g gauge\ng 1\n");
    }
}
