//! Label values: the [`LabelValue`] trait and its implementations.

use std::borrow::Cow;
use std::fmt;

/// A type whose values can be label values of a series.
///
/// Derive it on an enum with `#[derive(LabelValue)]`: each variant becomes a
/// static label value, in snake_case unless renamed with
/// `#[label(rename = "...")]` or `#[label(rename_all = "...")]`.
/// `#[tracked]` uses it for the `error` label of a function whose error type
/// derives it.
///
/// ```
/// use telltale::LabelValue;
///
/// #[derive(LabelValue)]
/// enum FetchError {
///     Timeout,
///     #[label(rename = "missing")]
///     NotFound,
///     Io(std::io::Error),
/// }
///
/// assert_eq!(&*FetchError::Timeout.label_value(), "timeout");
/// assert_eq!(&*FetchError::NotFound.label_value(), "missing");
/// ```
pub trait LabelValue {
    /// Every value of the type, in index order, when the set is finite and
    /// known at compile time (derived enums, `bool`); `None` otherwise.
    const BOUNDED: Option<&'static [&'static str]> = None;

    /// The label text of this value. Derived enums, `str`, `bool` and the
    /// integer types never allocate.
    fn label_value(&self) -> LabelStr<'_>;

    /// The index of `self` in [`BOUNDED`](Self::BOUNDED) (0 when unbounded).
    fn bounded_index(&self) -> usize {
        0
    }
}

/// A [`LabelValue`] type with a finite set of values known at compile time,
/// such as a derived enum or `bool`.
pub trait BoundedLabelValue: LabelValue {
    /// Every value, in index order.
    const VALUES: &'static [&'static str];
    /// The index of `self` in [`VALUES`](Self::VALUES).
    fn index(&self) -> usize;
}

/// The text of a label value: borrowed, or formatted in place.
#[derive(Clone, Copy)]
pub struct LabelStr<'a>(Repr<'a>);

#[derive(Clone, Copy)]
enum Repr<'a> {
    Borrowed(&'a str),
    Inline { buf: [u8; 40], len: u8 },
}

impl<'a> LabelStr<'a> {
    /// A label value that lives for the whole program.
    pub const fn from_static(s: &'static str) -> LabelStr<'static> {
        LabelStr(Repr::Borrowed(s))
    }

    /// A label value borrowed from `s`.
    pub const fn borrowed(s: &'a str) -> Self {
        LabelStr(Repr::Borrowed(s))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Borrowed(s) => s,
            // Inline buffers are only ever filled with ASCII digits and '-'.
            Repr::Inline { buf, len } => {
                std::str::from_utf8(&buf[..usize::from(*len)]).unwrap_or_default()
            }
        }
    }

    fn integer(negative: bool, mut magnitude: u128) -> LabelStr<'static> {
        let mut buf = [0u8; 40];
        let mut pos = buf.len();
        loop {
            pos -= 1;
            buf[pos] = b'0' + (magnitude % 10) as u8;
            magnitude /= 10;
            if magnitude == 0 {
                break;
            }
        }
        if negative {
            pos -= 1;
            buf[pos] = b'-';
        }
        let len = buf.len() - pos;
        buf.copy_within(pos.., 0);
        LabelStr(Repr::Inline {
            buf,
            len: len as u8,
        })
    }
}

impl std::ops::Deref for LabelStr<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for LabelStr<'_> {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for LabelStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for LabelStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for LabelStr<'_> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl<T: LabelValue + ?Sized> LabelValue for &T {
    const BOUNDED: Option<&'static [&'static str]> = T::BOUNDED;
    fn label_value(&self) -> LabelStr<'_> {
        (**self).label_value()
    }
    fn bounded_index(&self) -> usize {
        (**self).bounded_index()
    }
}

impl LabelValue for str {
    fn label_value(&self) -> LabelStr<'_> {
        LabelStr::borrowed(self)
    }
}

impl LabelValue for String {
    fn label_value(&self) -> LabelStr<'_> {
        LabelStr::borrowed(self)
    }
}

impl LabelValue for Cow<'_, str> {
    fn label_value(&self) -> LabelStr<'_> {
        LabelStr::borrowed(self)
    }
}

impl LabelValue for bool {
    const BOUNDED: Option<&'static [&'static str]> = Some(&["false", "true"]);
    fn label_value(&self) -> LabelStr<'_> {
        LabelStr::from_static(if *self { "true" } else { "false" })
    }
    fn bounded_index(&self) -> usize {
        usize::from(*self)
    }
}

impl BoundedLabelValue for bool {
    const VALUES: &'static [&'static str] = &["false", "true"];
    fn index(&self) -> usize {
        usize::from(*self)
    }
}

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl LabelValue for $t {
            fn label_value(&self) -> LabelStr<'_> {
                LabelStr::integer(false, u128::try_from(*self).unwrap_or(u128::MAX))
            }
        }
    )*};
}
macro_rules! signed {
    ($($t:ty),*) => {$(
        impl LabelValue for $t {
            fn label_value(&self) -> LabelStr<'_> {
                LabelStr::integer(*self < 0, i128::try_from(*self).unwrap_or(i128::MAX).unsigned_abs())
            }
        }
    )*};
}
unsigned!(u8, u16, u32, u64, u128, usize);
signed!(i8, i16, i32, i64, i128, isize);

/// A set of labels: a struct whose fields are label values, usually derived
/// with `#[derive(LabelSet)]`.
///
/// When every field is bounded (derived enums, `bool`, nested bounded sets)
/// the set has a known [`CARDINALITY`](Self::CARDINALITY) and a mixed-radix
/// [`index`](Self::index), and a [`Family`](crate::Family) keyed by it is a
/// dense array: no hash, no allocation, no lock per call.
pub trait LabelSet {
    /// Number of distinct label sets when every field is bounded.
    const CARDINALITY: Option<usize>;

    /// Appends the label names, in order.
    fn names(out: &mut Vec<&'static str>);

    /// Calls `f` with each label value, in the order of [`names`](Self::names).
    fn visit(&self, f: &mut dyn FnMut(&str));

    /// The mixed-radix index of this set, in `0..CARDINALITY` (the first
    /// field is the most significant digit); 0 when unbounded.
    fn index(&self) -> usize;

    /// For bounded sets: appends each label's value table, in order (an
    /// empty table for an unbounded label).
    fn value_tables(out: &mut Vec<&'static [&'static str]>);
}

/// `()` is the empty label set.
impl LabelSet for () {
    const CARDINALITY: Option<usize> = Some(1);
    fn names(_: &mut Vec<&'static str>) {}
    fn visit(&self, _: &mut dyn FnMut(&str)) {}
    fn index(&self) -> usize {
        0
    }
    fn value_tables(_: &mut Vec<&'static [&'static str]>) {}
}

/// Helpers the `LabelSet` derive calls in constant context.
#[doc(hidden)]
pub mod derive_support {
    use super::LabelValue;

    /// The number of values of a label type, if bounded.
    pub const fn value_cardinality<T: LabelValue + ?Sized>() -> Option<usize> {
        match T::BOUNDED {
            Some(values) => Some(values.len()),
            None => None,
        }
    }

    /// The product of the parts' cardinalities; `None` if any is unbounded
    /// or the product overflows.
    pub const fn product(parts: &[Option<usize>]) -> Option<usize> {
        let mut total: usize = 1;
        let mut i = 0;
        while i < parts.len() {
            match parts[i] {
                Some(n) => match total.checked_mul(n) {
                    Some(t) => total = t,
                    None => return None,
                },
                None => return None,
            }
            i += 1;
        }
        Some(total)
    }

    /// The radix of one digit: its cardinality, or 1 when unbounded (the
    /// index is then unused).
    pub const fn radix(cardinality: Option<usize>) -> usize {
        match cardinality {
            Some(n) => n,
            None => 1,
        }
    }
}

/// Makes label names safe to export, the way Prometheus treats a target's
/// labels that collide with its own: characters outside `[a-zA-Z0-9_]` become
/// `_` (and a name that is empty or starts with a digit or `__` gets the
/// prefix `x_`), and a name that is
/// `reserved` or already taken by an earlier label gets the prefix
/// `exported_` until it is free. Names that were fine are returned unchanged.
pub(crate) fn export_names(
    reserved: &[&str],
    names: &[&'static str],
) -> Vec<std::borrow::Cow<'static, str>> {
    let mut out: Vec<std::borrow::Cow<'static, str>> = Vec::with_capacity(names.len());
    for &name in names {
        let mut fixed: std::borrow::Cow<'static, str> = if crate::error::check_label_name(name)
            .is_ok()
        {
            std::borrow::Cow::Borrowed(name)
        } else {
            let mut s: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) || s.starts_with("__") {
                s.insert_str(0, "x_");
            }
            std::borrow::Cow::Owned(s)
        };
        while reserved.contains(&&*fixed) || out.contains(&fixed) {
            fixed = std::borrow::Cow::Owned(format!("exported_{fixed}"));
        }
        out.push(fixed);
    }
    out
}

/// Shortens a `core::any::type_name` to the readable name used as the
/// `error` label of an error type that does not derive [`LabelValue`].
///
/// Every path in the name is cut to its last segment, except that a last
/// segment named `Error` keeps the nearest module before it that is not
/// itself named `error`: `std::io::error::Error` → `io::Error`,
/// `core::num::error::ParseIntError` → `ParseIntError`,
/// `alloc::boxed::Box<dyn core::error::Error + Send + Sync>` →
/// `Box<dyn Error + Send + Sync>`, `anyhow::Error` → `anyhow::Error`.
pub fn readable_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut path: Vec<&str> = Vec::new();
    let mut rest = full;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        if end == 0 {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let token = &rest[..end];
        rest = &rest[end..];
        path.clear();
        path.extend(token.split("::").filter(|s| !s.is_empty()));
        match path.as_slice() {
            [] => out.push_str(token),
            [.., module, last] if *last == "Error" && path.len() > 2 => {
                // `std::io::error::Error`: skip modules named `error`.
                let module = path[..path.len() - 1]
                    .iter()
                    .rev()
                    .find(|m| !m.eq_ignore_ascii_case("error"))
                    .copied()
                    .unwrap_or(module);
                if module == "core" || module == "std" || module == "alloc" {
                    out.push_str(last);
                } else {
                    out.push_str(module);
                    out.push_str("::");
                    out.push_str(last);
                }
            }
            [first, last] if *last == "Error" => {
                if *first == "core" || *first == "std" || *first == "alloc" {
                    out.push_str(last);
                } else {
                    out.push_str(first);
                    out.push_str("::");
                    out.push_str(last);
                }
            }
            [.., last] => out.push_str(last),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_format_inline() {
        assert_eq!(&*0u8.label_value(), "0");
        assert_eq!(&*42u64.label_value(), "42");
        assert_eq!(&*(-7i32).label_value(), "-7");
        assert_eq!(
            &*i128::MIN.label_value(),
            "-170141183460469231731687303715884105728"
        );
        assert_eq!(
            &*u128::MAX.label_value(),
            "340282366920938463463374607431768211455"
        );
    }

    #[test]
    fn strings_and_bools() {
        assert_eq!(&*"GET".label_value(), "GET");
        assert_eq!(&*String::from("x").label_value(), "x");
        assert_eq!(&*true.label_value(), "true");
        assert_eq!(bool::VALUES[false.index()], "false");
    }

    #[test]
    fn exported_names_are_valid_and_distinct() {
        let names = ["method", "function", "method", "a-b", "9x", "__x", "le"];
        let out = export_names(&["function", "le"], &names);
        assert_eq!(
            out,
            [
                "method",
                "exported_function",
                "exported_method",
                "a_b",
                "x_9x",
                "x___x",
                "exported_le"
            ]
        );
        assert!(matches!(
            export_names(&[], &["ok"])[0],
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn readable_names() {
        assert_eq!(readable_type_name("std::io::error::Error"), "io::Error");
        assert_eq!(
            readable_type_name("core::num::error::ParseIntError"),
            "ParseIntError"
        );
        assert_eq!(readable_type_name("anyhow::Error"), "anyhow::Error");
        assert_eq!(
            readable_type_name("serde_json::error::Error"),
            "serde_json::Error"
        );
        assert_eq!(readable_type_name("core::fmt::Error"), "fmt::Error");
        assert_eq!(
            readable_type_name(
                "alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>"
            ),
            "Box<dyn Error + Send + Sync>"
        );
        assert_eq!(readable_type_name("my_app::FetchError"), "FetchError");
        assert_eq!(readable_type_name("()"), "()");
        assert_eq!(readable_type_name("&str"), "&str");
    }
}
