//! What every text encoder writes the same way: escaping, label lists,
//! sample lines, numbers, and which histogram buckets are exported.

use std::fmt::{self, Write as _};

use crate::collect::snapshot::HistogramValue;

/// The quantiles [`Format::Json`] and [`Format::Csv`] write, with their names.
pub(super) const QUANTILES: [(&str, f64); 5] = [
    ("p50", 0.5),
    ("p90", 0.9),
    ("p95", 0.95),
    ("p99", 0.99),
    ("p999", 0.999),
];

/// Which characters a piece of text must escape.
#[derive(Clone, Copy)]
pub(super) enum Escape {
    /// `\`, line feed and `"`: label values in both formats, OpenMetrics HELP.
    Quoted,
    /// `\` and line feed only: Prometheus 0.0.4 HELP.
    Help004,
}

/// Appends `text`, escaped, to `out`.
pub(super) fn write_escaped(out: &mut String, text: &str, escape: Escape) {
    let mut start = 0;
    // Only ASCII bytes are replaced, and no byte of a multi-byte UTF-8
    // sequence is ASCII, so every slice boundary below is a char boundary.
    for (i, byte) in text.bytes().enumerate() {
        let replacement = match byte {
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'"' if matches!(escape, Escape::Quoted) => "\\\"",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        out.push_str(replacement);
        start = i + 1;
    }
    out.push_str(&text[start..]);
}

/// Appends a label set as it is written between braces: `name="value"`
/// pairs joined by `,`, each value escaped. Empty for an empty set.
pub(super) fn write_labels(
    out: &mut String,
    labels: &[(
        std::borrow::Cow<'static, str>,
        std::borrow::Cow<'static, str>,
    )],
) {
    for (i, (key, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(key);
        out.push_str("=\"");
        write_escaped(out, value, Escape::Quoted);
        out.push('"');
    }
}

/// `labels` written by [`write_labels`] into `scratch`, which is cleared
/// first: the label text of a series with several lines, written once and
/// copied to each.
pub(super) fn labels_text<'a>(
    scratch: &'a mut String,
    labels: &[(
        std::borrow::Cow<'static, str>,
        std::borrow::Cow<'static, str>,
    )],
) -> &'a str {
    scratch.clear();
    write_labels(scratch, labels);
    scratch
}

// The line writers below are `#[inline]`: they run for every sample line, called
// from the format modules, which may be other codegen units.

/// Appends `name` + `suffix`, then, in braces when either is non-empty, the
/// series' `labels` (as [`labels_text`] wrote them) and an `extra` label
/// (a bucket's `le`, as [`LeLabels`] writes it), then a space: everything
/// of a sample line before its value.
#[inline]
pub(super) fn write_sample_start(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &str,
    extra: &str,
) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() || !extra.is_empty() {
        out.push('{');
        out.push_str(labels);
        if !labels.is_empty() && !extra.is_empty() {
            out.push(',');
        }
        out.push_str(extra);
        out.push('}');
    }
    out.push(' ');
}

/// Appends a gauge series with these `labels` (as [`labels_text`] writes
/// them), the same in both text formats.
#[inline]
pub(super) fn gauge_lines(out: &mut String, name: &str, labels: &str, value: f64) {
    write_sample_start(out, name, "", labels, "");
    write_value_line(out, value);
}

/// Appends the `_bucket` lines of a histogram series: its `buckets`
/// (cumulative, increasing `le`, without `+Inf`), then `+Inf` at `count`.
/// Returns whether a bound is below zero.
pub(super) fn bucket_lines(
    out: &mut String,
    name: &str,
    labels: &str,
    repeated: &mut Repeated,
    count: u64,
    buckets: impl Iterator<Item = (f64, u64)>,
) -> bool {
    let mut negative = false;
    for (i, (le, n)) in buckets
        .chain(std::iter::once((f64::INFINITY, count)))
        .enumerate()
    {
        negative |= le < 0.0;
        write_sample_start(out, name, "_bucket", labels, repeated.le(i, le));
        write_count_line(out, n);
    }
    negative
}

/// Label and value texts that repeat from series to series of a family,
/// written once and copied: the `le="..."` labels of the buckets, by bucket
/// index, and the last creation time written.
#[derive(Default)]
pub(super) struct Repeated {
    les: Vec<(u64, String)>,
    created: (u64, String),
}

impl Repeated {
    /// The `le` label of bucket `i`, whose bound is `le`.
    pub(super) fn le(&mut self, i: usize, le: f64) -> &str {
        if self.les.len() <= i {
            self.les
                .resize_with(i + 1, || (f64::NAN.to_bits(), String::new()));
        }
        let (bits, text) = &mut self.les[i];
        if *bits != le.to_bits() || text.is_empty() {
            text.clear();
            text.push_str("le=\"");
            write_float(text, le, FloatStyle::Canonical);
            text.push('"');
            *bits = le.to_bits();
        }
        text
    }

    /// `created` as a sample value, with its line feed.
    pub(super) fn created(&mut self, created: f64) -> &str {
        let (bits, text) = &mut self.created;
        if *bits != created.to_bits() || text.is_empty() {
            text.clear();
            write_value_line(text, created);
            *bits = created.to_bits();
        }
        text
    }
}

/// Appends a line feed-terminated sample value.
pub(super) fn write_value_line(out: &mut String, value: f64) {
    write_float(out, value, FloatStyle::Value);
    out.push('\n');
}

/// Appends a line feed-terminated integer sample value.
#[inline]
pub(super) fn write_count_line(out: &mut String, count: u64) {
    write_digits(out, count);
    out.push('\n');
}

/// Appends the decimal digits of `n`.
#[inline]
pub(super) fn write_digits(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // SAFETY: `digits[at..]` holds ASCII digits only.
    out.push_str(unsafe { std::str::from_utf8_unchecked(&digits[at..]) });
}

/// The cumulative classic buckets of `histogram` that are exported, by every
/// format (the text formats, JSON, remote-write and OTLP's explicit bounds
/// alike): `le` not NaN, not `+Inf` (each format adds that bucket from the
/// count) and strictly increasing; a bound that is not is skipped. A leading
/// `-Inf` is kept (it counts the observations equal to `-Inf`). Registered
/// histograms only have finite bounds; the rule matters for snapshots built
/// by hand.
pub(crate) fn buckets(histogram: &HistogramValue) -> impl Iterator<Item = (f64, u64)> + '_ {
    exported_bounds(histogram.buckets.iter().copied())
}

/// The buckets of `all` that are exported, by the rule of [`buckets`].
pub(crate) fn exported_bounds(
    all: impl Iterator<Item = (f64, u64)>,
) -> impl Iterator<Item = (f64, u64)> {
    let mut previous = f64::NEG_INFINITY;
    let mut first = true;
    all.filter(move |&(le, _)| {
        let keep = !le.is_nan() && le != f64::INFINITY && (first || le > previous);
        if keep {
            previous = le;
            first = false;
        }
        keep
    })
}

/// How [`write_float`] lays out a finite number.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FloatStyle {
    /// Sample values: plain decimal for decimal exponents -4 ..= 20
    /// (`0.0001`, `1234567`, `5`), scientific outside (`1e-05`, `1e+21`).
    Value,
    /// `le` and `quantile` label values, as the OpenMetrics "Canonical
    /// Numbers" section asks: Go's `%g` with the shortest precision (scientific
    /// for decimal exponents below -4 or from 6 up), with `.0` appended when
    /// the text has neither a point nor an exponent (`1.0`, `0.005`,
    /// `100000.0`, `1e+06`, `1e-05`).
    Canonical,
}

/// Appends `value` to `out`: `NaN`, `+Inf`, `-Inf`, or the shortest decimal
/// digits that read back as exactly `value`, laid out per `style`.
pub(crate) fn write_float(out: &mut String, value: f64, style: FloatStyle) {
    if value.is_nan() {
        out.push_str("NaN");
        return;
    }
    if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    if style == FloatStyle::Value && value.fract() == 0.0 && value.abs() < 1e15 {
        // Exact integer: its digits are already the shortest round-trip text.
        // (This also writes -0.0 as `0`.)
        if value <= -1.0 {
            out.push('-');
        }
        write_digits(out, value.abs() as u64);
        return;
    }
    let decimal = Decimal::of(value);
    let scientific_from = match style {
        FloatStyle::Value => 21,
        FloatStyle::Canonical => 6,
    };
    if decimal.exponent < -4 || decimal.exponent >= scientific_from {
        decimal.write_scientific(out);
    } else {
        decimal.write_plain(out, style == FloatStyle::Canonical);
    }
}

/// A finite `f64` as its shortest round-trip decimal digits:
/// `±d.ddd × 10^exponent`.
pub(super) struct Decimal {
    negative: bool,
    /// ASCII digits, first one non-zero unless the value is zero; at most 17.
    digits: [u8; 24],
    len: usize,
    exponent: i32,
}

impl Decimal {
    pub(super) fn of(value: f64) -> Decimal {
        // `{:e}` without a precision prints the shortest digits that
        // round-trip, like `-1.2345e-7` or `5e0`.
        let mut buf = StackBuf::<40>::new();
        let _ = write!(buf, "{value:e}");
        let text = buf.as_bytes();
        let mut decimal = Decimal {
            negative: false,
            digits: [0; 24],
            len: 0,
            exponent: 0,
        };
        let mut i = 0;
        if text.first() == Some(&b'-') {
            decimal.negative = true;
            i = 1;
        }
        while i < text.len() && text[i] != b'e' {
            if text[i].is_ascii_digit() && decimal.len < decimal.digits.len() {
                decimal.digits[decimal.len] = text[i];
                decimal.len += 1;
            }
            i += 1;
        }
        let mut exponent_negative = false;
        let mut exponent = 0_i32;
        for &byte in text.get(i + 1..).unwrap_or(&[]) {
            match byte {
                b'-' => exponent_negative = true,
                b'0'..=b'9' => exponent = exponent * 10 + i32::from(byte - b'0'),
                _ => {}
            }
        }
        decimal.exponent = if exponent_negative {
            -exponent
        } else {
            exponent
        };
        if decimal.len == 0 {
            decimal.digits[0] = b'0';
            decimal.len = 1;
        }
        decimal
    }

    pub(super) fn digits(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.digits[..self.len]).unwrap_or("0")
    }

    /// `d.ddde±XX`, the exponent with at least two digits (Go's `%e`).
    pub(super) fn write_scientific(&self, out: &mut String) {
        let digits = self.digits();
        if self.negative {
            out.push('-');
        }
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if self.exponent < 0 { '-' } else { '+' });
        let magnitude = self.exponent.unsigned_abs();
        if magnitude < 10 {
            out.push('0');
        }
        let _ = write!(out, "{magnitude}");
    }

    /// Positional notation; `point_zero` appends `.0` to integers.
    pub(super) fn write_plain(&self, out: &mut String, point_zero: bool) {
        let digits = self.digits();
        if self.negative {
            out.push('-');
        }
        if self.exponent < 0 {
            out.push_str("0.");
            for _ in 0..(-self.exponent - 1) {
                out.push('0');
            }
            out.push_str(digits);
            return;
        }
        let integer_len = self.exponent as usize + 1;
        if digits.len() > integer_len {
            out.push_str(&digits[..integer_len]);
            out.push('.');
            out.push_str(&digits[integer_len..]);
        } else {
            out.push_str(digits);
            for _ in digits.len()..integer_len {
                out.push('0');
            }
            if point_zero {
                out.push_str(".0");
            }
        }
    }
}

/// A fixed-size `fmt::Write` target on the stack.
pub(super) struct StackBuf<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> StackBuf<N> {
    pub(super) fn new() -> Self {
        StackBuf {
            bytes: [0; N],
            len: 0,
        }
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl<const N: usize> fmt::Write for StackBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > N {
            return Err(fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}
