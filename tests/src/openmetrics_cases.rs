//! OpenMetrics 1.0 text cases the project owns: one or more for each rule
//! the external conformance suite exercises (escaping, `# EOF` framing,
//! metadata order, counters' `_total`/`_created`, histogram buckets,
//! exemplars, timestamps, `NaN`/`Inf` spellings, duplicate series,
//! interleaved families, blank lines, ...).
//!
//! `tests/tests/conformance_own.rs` runs them against
//! `telltale::parse::openmetrics` in the plain `cargo test --workspace`; a
//! peer test checks that Python's `prometheus_client` parser, which agrees
//! with the whole external suite, gives every case the same verdict, so the
//! expectations here are not only telltale's opinion.

/// What a case must come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The text parses into this many families.
    Accept(usize),
    /// The text is rejected at this line (1-based), with a message that
    /// contains this fragment.
    Reject(usize, &'static str),
}

/// One case: a name (`rule_detail`), the exposition and the verdict.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// Unique, names the rule the case is about.
    pub name: &'static str,
    /// The exposition, exactly as a parser receives it.
    pub text: &'static str,
    /// The verdict.
    pub expect: Expect,
}

const fn ok(name: &'static str, families: usize, text: &'static str) -> Case {
    Case {
        name,
        text,
        expect: Expect::Accept(families),
    }
}

const fn bad(name: &'static str, line: usize, fragment: &'static str, text: &'static str) -> Case {
    Case {
        name,
        text,
        expect: Expect::Reject(line, fragment),
    }
}

/// Every case, grouped by rule.
pub const CASES: &[Case] = &[
    // ---------------------------------------------------------- framing
    ok("eof_with_newline", 1, "a 1\n# EOF\n"),
    ok("eof_without_newline", 1, "a 1\n# EOF"),
    ok("eof_only", 0, "# EOF\n"),
    bad("eof_missing", 2, "missing `# EOF`", "a 1\n"),
    bad("eof_missing_empty_text", 1, "missing `# EOF`", ""),
    bad("eof_text_after", 3, "text after `# EOF`", "a 1\n# EOF\nb 2\n"),
    bad("eof_two_newlines", 3, "text after `# EOF`", "a 1\n# EOF\n\n"),
    bad("eof_with_trailing_text", 2, "`# EOF` must be alone", "a 1\n# EOF x\n"),
    bad("blank_line_between_samples", 2, "blank line", "a 1\n\nb 2\n# EOF\n"),
    bad("blank_line_first", 1, "blank line", "\na 1\n# EOF\n"),
    bad("carriage_return", 1, "invalid value", "a 1\r\n# EOF\n"),
    bad("comment_line", 1, "is not a metadata line", "# a comment\na 1\n# EOF\n"),
    // ------------------------------------------------------------ names
    ok("name_with_colon", 1, "a:b_c 1\n# EOF\n"),
    bad("name_with_dash", 1, "expected one space before the value", "a-b 1\n# EOF\n"),
    bad("name_starting_with_digit", 1, "expected a metric name", "1a 1\n# EOF\n"),
    bad("label_name_with_colon", 1, "expected `=` after label name `b`", "a{b:c=\"1\"} 1\n# EOF\n"),
    bad("label_name_reserved", 1, "reserved", "a{__b=\"1\"} 1\n# EOF\n"),
    bad("label_name_twice", 1, "appears twice", "a{b=\"1\",b=\"2\"} 1\n# EOF\n"),
    // ----------------------------------------------------------- labels
    ok("labels_empty_braces", 1, "a{} 1\n# EOF\n"),
    ok("label_value_empty", 1, "a{b=\"\"} 1\n# EOF\n"),
    ok(
        "label_value_with_hash_and_braces",
        1,
        "a{b=\"x # } {\"} 1\n# EOF\n",
    ),
    bad("labels_trailing_comma", 1, "must not end with a comma", "a{b=\"1\",} 1\n# EOF\n"),
    bad("labels_missing_comma", 1, "expected `,` or `}`", "a{b=\"1\" c=\"2\"} 1\n# EOF\n"),
    bad("labels_space_after_comma", 1, "expected a label name", "a{b=\"1\", c=\"2\"} 1\n# EOF\n"),
    bad("label_value_unquoted", 1, "must be in double quotes", "a{b=1} 1\n# EOF\n"),
    bad("label_value_single_quotes", 1, "must be in double quotes", "a{b='1'} 1\n# EOF\n"),
    bad("label_missing_equals", 1, "expected `=`", "a{b\"1\"} 1\n# EOF\n"),
    bad("label_value_unterminated", 1, "no closing `\"`", "a{b=\"1} 1\n# EOF\n"),
    // ---------------------------------------------------------- escaping
    ok(
        "escaping_label_values",
        1,
        "a{b=\"back\\\\slash\",c=\"quo\\\"te\",d=\"new\\nline\"} 1\n# EOF\n",
    ),
    ok(
        "escaping_help",
        1,
        "# HELP a back\\\\slash quo\\\"te new\\nline\n# TYPE a gauge\na 1\n# EOF\n",
    ),
    ok("escaping_other_backslash_kept", 1, "a{b=\"x\\ty\"} 1\n# EOF\n"),
    bad("escaping_raw_quote_in_value", 1, "expected `,` or `}`", "a{b=\"x\"y\"} 1\n# EOF\n"),
    // ---------------------------------------------------------- metadata
    ok("metadata_type_help_unit", 1, "# TYPE a_seconds gauge\n# UNIT a_seconds seconds\n# HELP a_seconds Help.\na_seconds 1\n# EOF\n"),
    ok("metadata_help_before_type", 1, "# HELP a Help.\n# TYPE a gauge\na 1\n# EOF\n"),
    ok("metadata_without_samples", 1, "# TYPE a gauge\n# HELP a Help.\n# EOF\n"),
    ok("metadata_empty_help", 1, "# TYPE a gauge\n# HELP a \na 1\n# EOF\n"),
    ok("metadata_none", 2, "a 1\nb 2\n# EOF\n"),
    ok("type_unknown", 1, "# TYPE a unknown\na 1\n# EOF\n"),
    bad("type_untyped", 1, "`untyped` is the 0.0.4 type", "# TYPE a untyped\na 1\n# EOF\n"),
    bad("type_invalid", 1, "unknown metric type `thing`", "# TYPE a thing\na 1\n# EOF\n"),
    bad("type_twice", 2, "second `# TYPE`", "# TYPE a gauge\n# TYPE a gauge\na 1\n# EOF\n"),
    bad("help_twice", 2, "second `# HELP`", "# HELP a x\n# HELP a y\na 1\n# EOF\n"),
    bad("metadata_after_samples", 3, "after its samples", "# TYPE a gauge\na 1\n# HELP a late\n# EOF\n"),
    bad("unit_not_suffix", 1, "not the suffix", "# UNIT a seconds\na 1\n# EOF\n"),
    bad("unit_on_info", 2, "cannot have a unit", "# TYPE a_seconds info\n# UNIT a_seconds seconds\na_seconds_info 1\n# EOF\n"),
    bad("unit_twice", 3, "second `# UNIT`", "# TYPE a_s gauge\n# UNIT a_s s\n# UNIT a_s s\na_s 1\n# EOF\n"),
    bad("type_without_kind", 1, "needs a space and a type", "# TYPE a\na 1\n# EOF\n"),
    bad("help_without_name", 1, "needs a metric name", "# HELP\n# EOF\n"),
    bad("metadata_for_other_family", 3, "appears again", "# TYPE a gauge\n# HELP b x\na 1\n# EOF\n"),
    // ---------------------------------------------------------- counters
    ok("counter_total_and_created", 1, "# TYPE a counter\na_total 1\na_created 1700000000\n# EOF\n"),
    ok("counter_total_float", 1, "# TYPE a counter\na_total 1.5\n# EOF\n"),
    ok("counter_total_uint64_max", 1, "# TYPE a counter\na_total 18446744073709551615\n# EOF\n"),
    ok("counter_total_inf", 1, "# TYPE a counter\na_total +Inf\n# EOF\n"),
    bad("counter_without_total", 2, "family `a` appears again", "# TYPE a counter\na 1\n# EOF\n"),
    bad("counter_negative", 2, "must not be NaN or negative", "# TYPE a counter\na_total -1\n# EOF\n"),
    bad("counter_nan", 2, "must not be NaN or negative", "# TYPE a counter\na_total NaN\n# EOF\n"),
    bad("counter_created_clash", 2, "`a_created`", "# TYPE a counter\n# TYPE a_created gauge\na_total 1\n# EOF\n"),
    // -------------------------------------------------- gauges and values
    ok("gauge_negative_float", 1, "# TYPE a gauge\na -1.5e3\n# EOF\n"),
    ok("gauge_leading_dot", 1, "# TYPE a gauge\na .5\n# EOF\n"),
    ok("gauge_leading_zeros", 1, "# TYPE a gauge\na 0001.500\n# EOF\n"),
    ok("value_nan", 1, "a NaN\n# EOF\n"),
    ok("value_plus_inf", 1, "a +Inf\n# EOF\n"),
    ok("value_minus_inf", 1, "a -Inf\n# EOF\n"),
    bad("value_missing", 1, "needs a space and a value", "a\n# EOF\n"),
    bad("value_two_spaces", 1, "expected a value after one space", "a  1\n# EOF\n"),
    bad("value_trailing_space", 1, "expected a timestamp", "a 1 \n# EOF\n"),
    bad("value_tab", 1, "expected one space", "a\t1\n# EOF\n"),
    bad("value_two_dots", 1, "invalid value", "a 1.2.3\n# EOF\n"),
    bad("value_decimal_comma", 1, "invalid value", "a 1,5\n# EOF\n"),
    bad("value_hex", 1, "invalid value", "a 0x1\n# EOF\n"),
    bad("value_word", 1, "invalid value", "a one\n# EOF\n"),
    // The grammar spells infinity `inf` or `infinity` with an optional sign,
    // and NaN `nan`, all case-insensitive; NaN takes no sign.
    ok("value_infinity_spelled_out", 1, "a Infinity\n# EOF\n"),
    ok("value_inf_lowercase", 1, "a -inf\n# EOF\n"),
    ok("value_nan_lowercase", 1, "a nan\n# EOF\n"),
    bad("value_plus_nan", 1, "invalid value", "a +NaN\n# EOF\n"),
    // --------------------------------------------------------- timestamps
    ok("timestamp_integer_and_float", 1, "a 1 0\na{b=\"c\"} 1 1.5\n# EOF\n"),
    ok("timestamp_negative", 1, "a 1 -1\n# EOF\n"),
    ok("timestamp_repeated_series_with_timestamps", 1, "a 1 1\na 2 2\n# EOF\n"),
    ok("timestamp_equal", 1, "a 1 1\na 2 1\n# EOF\n"),
    bad("timestamp_going_back", 2, "goes back", "a 1 2\na 2 1\n# EOF\n"),
    bad("timestamp_then_none", 2, "timestamp", "a 1 1\na 2\n# EOF\n"),
    bad("timestamp_none_then_some", 2, "timestamp", "a 0\na 0 0\n# EOF\n"),
    bad("timestamp_nan", 1, "invalid timestamp", "a 1 NaN\n# EOF\n"),
    bad("timestamp_inf", 1, "invalid timestamp", "a 1 +Inf\n# EOF\n"),
    bad("timestamp_word", 1, "invalid timestamp", "a 1 later\n# EOF\n"),
    bad("timestamp_hex", 1, "invalid timestamp", "a 1 0x1\n# EOF\n"),
    // ----------------------------------------- series and family grouping
    ok("series_label_sets_differ", 1, "# TYPE a gauge\na{b=\"1\"} 1\na{b=\"2\"} 2\n# EOF\n"),
    ok("families_one_after_another", 2, "# TYPE a gauge\na 1\n# TYPE b gauge\nb 2\n# EOF\n"),
    bad("series_duplicate", 3, "duplicate series", "# TYPE a gauge\na{b=\"1\"} 1\na{b=\"1\"} 2\n# EOF\n"),
    bad("series_duplicate_label_order", 3, "duplicate series", "# TYPE a gauge\na{b=\"1\",c=\"2\"} 1\na{c=\"2\",b=\"1\"} 2\n# EOF\n"),
    bad("families_interleaved", 3, "appears again", "a 1\nb 1\na{c=\"d\"} 2\n# EOF\n"),
    bad("families_interleaved_with_type", 5, "appears again", "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{c=\"d\"} 2\n# EOF\n"),
    bad("family_name_repeated", 3, "after its samples", "# TYPE a gauge\na 1\n# TYPE a gauge\n# EOF\n"),
    bad("histogram_metric_not_contiguous", 6, "not together", "# TYPE a histogram\na_bucket{b=\"1\",le=\"+Inf\"} 0\na_bucket{b=\"2\",le=\"+Inf\"} 0\na_count{b=\"2\"} 0\na_sum{b=\"2\"} 0\na_count{b=\"1\"} 0\n# EOF\n"),
    // --------------------------------------------------------- histograms
    ok("histogram_canonical", 1, "# TYPE a histogram\na_bucket{le=\"0.1\"} 1\na_bucket{le=\"1.0\"} 3\na_bucket{le=\"+Inf\"} 4\na_count 4\na_sum 2.5\na_created 1700000000\n# EOF\n"),
    ok("histogram_only_inf_bucket", 1, "# TYPE a histogram\na_bucket{le=\"+Inf\"} 0\na_count 0\na_sum 0\n# EOF\n"),
    ok("histogram_noncanonical_le", 1, "# TYPE a histogram\na_bucket{le=\"1e-04\"} 0\na_bucket{le=\"+Inf\"} 0\n# EOF\n"),
    ok("histogram_negative_bucket_without_sum_and_count", 1, "# TYPE a histogram\na_bucket{le=\"-1.0\"} 1\na_bucket{le=\"+Inf\"} 2\n# EOF\n"),
    bad("histogram_count_without_sum", 4, "`a_count` without `a_sum`", "# TYPE a histogram\na_bucket{le=\"-1.0\"} 1\na_bucket{le=\"+Inf\"} 2\na_count 2\n# EOF\n"),
    ok("gaugehistogram", 1, "# TYPE a gaugehistogram\na_bucket{le=\"1.0\"} 1\na_bucket{le=\"+Inf\"} 2\na_gcount 2\na_gsum 1.5\n# EOF\n"),
    bad("histogram_without_inf", 4, "no `le=\"+Inf\"` bucket", "# TYPE a histogram\na_bucket{le=\"1.0\"} 1\na_count 1\na_sum 1\n# EOF\n"),
    bad("histogram_le_decreasing", 3, "`le` values must increase", "# TYPE a histogram\na_bucket{le=\"2.0\"} 1\na_bucket{le=\"1.0\"} 1\na_bucket{le=\"+Inf\"} 1\n# EOF\n"),
    bad("histogram_counts_decreasing", 3, "must not decrease", "# TYPE a histogram\na_bucket{le=\"1.0\"} 2\na_bucket{le=\"+Inf\"} 1\n# EOF\n"),
    bad("histogram_count_not_inf", 3, "but the `+Inf` bucket is", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1\na_count 2\na_sum 1\n# EOF\n"),
    bad("histogram_sum_without_count", 3, "`a_sum` without `a_count`", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1\na_sum 1\n# EOF\n"),
    bad("histogram_bucket_without_le", 2, "has no `le` label", "# TYPE a histogram\na_bucket 1\n# EOF\n"),
    bad("histogram_le_not_a_number", 2, "`le` must be a number", "# TYPE a histogram\na_bucket{le=\"x\"} 1\na_bucket{le=\"+Inf\"} 1\n# EOF\n"),
    bad("histogram_inf_spelled_inf", 2, "`+Inf`", "# TYPE a histogram\na_bucket{le=\"Inf\"} 1\n# EOF\n"),
    bad("histogram_fractional_count", 2, "whole number", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1.5\n# EOF\n"),
    bad("histogram_negative_bucket_with_sum", 5, "must not be NaN or negative", "# TYPE a histogram\na_bucket{le=\"-1.0\"} 1\na_bucket{le=\"+Inf\"} 1\na_count 1\na_sum -1\n# EOF\n"),
    bad("histogram_plain_sample", 2, "family `a` appears again", "# TYPE a histogram\na 1\n# EOF\n"),
    // `a_count` is not a gauge histogram's sample: it starts a family of its own.
    ok("gaugehistogram_then_count_family", 2, "# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} 1\na_count 1\n# EOF\n"),
    // --------------------------------------------------------- summaries
    ok("summary_quantiles", 1, "# TYPE a summary\na{quantile=\"0.5\"} 1\na{quantile=\"0.99\"} 2\na_count 3\na_sum 4\n# EOF\n"),
    ok("summary_count_and_sum_only", 1, "# TYPE a summary\na_count 3\na_sum 4\n# EOF\n"),
    bad("summary_without_quantile", 2, "`quantile`", "# TYPE a summary\na 0\n# EOF\n"),
    bad("summary_quantile_above_one", 2, "`quantile`", "# TYPE a summary\na{quantile=\"1.5\"} 0\n# EOF\n"),
    bad("summary_negative_count", 2, "whole number", "# TYPE a summary\na_count -1\na_sum 0\n# EOF\n"),
    // --------------------------------------------------- info and stateset
    ok("info", 1, "# TYPE a info\na_info{version=\"1\"} 1\n# EOF\n"),
    ok("stateset", 1, "# TYPE a stateset\na{a=\"on\"} 1\na{a=\"off\"} 0\n# EOF\n"),
    bad("info_value_not_one", 2, "an info sample is 1", "# TYPE a info\na_info 2\n# EOF\n"),
    bad("stateset_value_two", 2, "0 or 1", "# TYPE a stateset\na{a=\"on\"} 2\n# EOF\n"),
    bad("stateset_without_own_label", 2, "stateset", "# TYPE a stateset\na{b=\"on\"} 1\n# EOF\n"),
    // ---------------------------------------------------------- exemplars
    ok("exemplar_on_counter", 1, "# TYPE a counter\na_total 1 # {trace_id=\"abc\"} 0.5\n# EOF\n"),
    ok("exemplar_with_timestamp", 1, "# TYPE a counter\na_total 1 # {trace_id=\"abc\"} 0.5 1700000000.5\n# EOF\n"),
    ok("exemplar_empty_labels", 1, "# TYPE a counter\na_total 1 # {} 0.5\n# EOF\n"),
    ok("exemplar_on_bucket", 1, "# TYPE a histogram\na_bucket{le=\"1.0\"} 1 # {id=\"x\"} 0.5\na_bucket{le=\"+Inf\"} 1\n# EOF\n"),
    ok("exemplar_label_value_with_hash", 1, "# TYPE a counter\na_total 1 # {id=\"x # y\"} 0.5\n# EOF\n"),
    bad("exemplar_on_gauge", 2, "exemplar on `a`", "# TYPE a gauge\na 1 # {id=\"x\"} 0.5\n# EOF\n"),
    bad("exemplar_on_histogram_count", 3, "exemplar on `a_count`", "# TYPE a histogram\na_bucket{le=\"+Inf\"} 1\na_count 1 # {id=\"x\"} 0.5\na_sum 1\n# EOF\n"),
    // Label names and values of 128 characters are the most an exemplar may carry.
    ok("exemplar_longest", 1, "# TYPE a counter\na_total 1 # {id=\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"} 0.5\n# EOF\n"),
    bad("exemplar_too_long", 2, "at most 128", "# TYPE a counter\na_total 1 # {id=\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"} 0.5\n# EOF\n"),
    bad("exemplar_without_value", 2, "exemplar's value", "# TYPE a counter\na_total 1 # {id=\"x\"}\n# EOF\n"),
    bad("exemplar_without_labels", 2, "expected an exemplar", "# TYPE a counter\na_total 1 # 0.5\n# EOF\n"),
    bad("exemplar_timestamp_nan", 2, "invalid timestamp", "# TYPE a counter\na_total 1 # {id=\"x\"} 0.5 NaN\n# EOF\n"),
];
