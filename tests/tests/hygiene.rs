//! Expansions of `#[timed]`, `#[tracked]` and `#[derive(LabelValue)]` are
//! hygienic: they name only absolute paths (so they compile without the
//! prelude and beside a local module called `telltale`), work through a
//! renamed or re-exported runtime with `crate = path`, keep their locals out
//! of the user's way, and leave the user's lints firing on the user's code
//! only (this file denies a set of them; it compiles clean).

#![deny(
    dead_code,
    unused_qualifications,
    unused_variables,
    unused_mut,
    unused_results,
    unused_imports,
    unused_lifetimes,
    single_use_lifetimes,
    trivial_casts,
    unreachable_pub,
    rust_2018_idioms
)]
#![deny(clippy::all, clippy::pedantic)]

use telltale::snapshot::Value;
use telltale::Snapshot;

/// `(result, error) → count` of `function`'s `function_calls_total` series.
fn outcomes(function: &str) -> Vec<(String, String, f64)> {
    let snapshot = Snapshot::collect();
    let Some(calls) = snapshot.family("function_calls") else {
        return Vec::new();
    };
    let mut out: Vec<(String, String, f64)> = calls
        .series
        .iter()
        .filter(|s| s.label("function") == Some(function))
        .map(|s| {
            let Value::Counter(n) = s.value else {
                panic!("function_calls is a counter")
            };
            (
                s.label("result").unwrap_or_default().to_owned(),
                s.label("error").unwrap_or_default().to_owned(),
                n,
            )
        })
        .filter(|(_, _, n)| *n > 0.0)
        .collect();
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out
}

fn durations(function: &str) -> u64 {
    let snapshot = Snapshot::collect();
    snapshot
        .family("function_calls_duration_seconds")
        .and_then(|f| {
            f.series
                .iter()
                .find(|s| s.label("function") == Some(function))
        })
        .map_or(0, |s| match &s.value {
            Value::Histogram(h) => h.count,
            _ => panic!("durations are a histogram"),
        })
}

fn entry(result: &str, error: &str, n: f64) -> (String, String, f64) {
    (result.to_owned(), error.to_owned(), n)
}

mod no_prelude {
    #![no_implicit_prelude]

    #[derive(Debug, ::telltale::LabelValue)]
    pub(crate) enum NoPreludeError {
        Refused,
        #[label(rename = "bad-input")]
        BadInput(::std::string::String),
    }

    #[::telltale::tracked]
    pub(crate) fn hygiene_no_prelude_check(n: u32) -> ::core::result::Result<u32, NoPreludeError> {
        if n == 0 {
            return ::core::result::Result::Err(NoPreludeError::Refused);
        }
        if n > 10 {
            return ::core::result::Result::Err(NoPreludeError::BadInput(
                ::std::string::ToString::to_string("big"),
            ));
        }
        ::core::result::Result::Ok(n)
    }

    #[::telltale::timed(concurrency, labels(kind = kind))]
    pub(crate) fn hygiene_no_prelude_timed(kind: &str) -> usize {
        kind.len()
    }

    #[::telltale::tracked]
    pub(crate) async fn hygiene_no_prelude_async(
        input: &str,
    ) -> ::core::result::Result<u8, ::core::num::ParseIntError> {
        let n: u8 = input.parse()?;
        ::core::result::Result::Ok(n)
    }

    pub(crate) struct NoPreludeStore(pub(crate) u8);

    #[::telltale::tracked(error_if = ::core::option::Option::is_none)]
    impl NoPreludeStore {
        pub(crate) fn get(&self) -> ::core::option::Option<u8> {
            ::core::option::Option::Some(self.0)
        }
    }
}

mod shadowing {
    //! Local items whose names an unhygienic expansion would pick up.

    #![allow(non_camel_case_types, clippy::pedantic)]

    mod telltale {}
    mod core {}
    mod inventory {}
    pub(crate) struct Callsite;
    pub(crate) struct Guard;
    pub(crate) struct Outcome;
    pub(crate) struct Classify;
    pub(crate) struct R;

    #[::telltale::tracked]
    pub(crate) fn hygiene_shadowing(n: u32) -> Result<u32, String> {
        // The macro's own locals are invisible here, so these are the user's.
        let __telltale_result = n + 1;
        let __telltale_guard = __telltale_result * 2;
        let _ = (Callsite, Guard, Outcome, Classify, R);
        Ok(__telltale_guard)
    }

    #[::telltale::timed]
    #[allow(non_snake_case)]
    pub(crate) fn hygiene_shadowing_timed(__TELLTALE_CALLSITE: u32) -> u32 {
        __TELLTALE_CALLSITE
    }
}

mod renamed {
    //! The runtime under another name: a renamed import, a re-export module.

    use ::telltale as tt;

    pub(crate) mod reexport {
        pub(crate) use ::telltale as runtime;
    }

    #[derive(Debug, tt::LabelValue)]
    #[label(crate = tt)]
    pub(crate) enum RenamedError {
        Gone,
    }

    #[tt::tracked(crate = tt)]
    pub(crate) fn hygiene_renamed(gone: bool) -> Result<(), RenamedError> {
        if gone {
            Err(RenamedError::Gone)
        } else {
            Ok(())
        }
    }

    #[reexport::runtime::timed(crate = self::reexport::runtime)]
    pub(crate) fn hygiene_reexported() -> u8 {
        7
    }

    pub(crate) struct Renamed(pub(crate) u8);

    #[tt::tracked(crate = crate::renamed::tt)]
    impl Renamed {
        pub(crate) fn hygiene_method(&self) -> Result<u8, RenamedError> {
            Ok(self.0)
        }

        #[tt::skip]
        pub(crate) fn skipped(&self) -> u8 {
            self.0 + 1
        }
    }
}

mod lints {
    //! Instrumented code under strict lints, with everything used.

    #![deny(clippy::complexity, clippy::perf, clippy::style, clippy::unwrap_used)]

    /// Doubles.
    #[deny(dead_code)]
    #[telltale::tracked]
    pub(crate) fn hygiene_lints(n: u32) -> Result<u32, std::num::TryFromIntError> {
        let m = u16::try_from(n)?;
        Ok(u32::from(m) * 2)
    }
}

#[test]
fn no_implicit_prelude_module_compiles_and_counts() {
    assert_eq!(no_prelude::hygiene_no_prelude_check(1).ok(), Some(1));
    assert!(no_prelude::hygiene_no_prelude_check(0).is_err());
    assert!(matches!(
        no_prelude::hygiene_no_prelude_check(11),
        Err(no_prelude::NoPreludeError::BadInput(input)) if input == "big"
    ));
    assert_eq!(no_prelude::hygiene_no_prelude_timed("abc"), 3);
    let parsed = futures::executor::block_on(no_prelude::hygiene_no_prelude_async("5"));
    assert_eq!(parsed, Ok(5));
    assert_eq!(no_prelude::NoPreludeStore(1).get(), Some(1));

    assert_eq!(
        outcomes("hygiene_no_prelude_check"),
        [
            entry("error", "bad-input", 1.0),
            entry("error", "refused", 1.0),
            entry("ok", "", 1.0)
        ]
    );
    assert_eq!(durations("hygiene_no_prelude_timed"), 1);
    assert_eq!(outcomes("hygiene_no_prelude_async"), [entry("ok", "", 1.0)]);
    assert_eq!(outcomes("NoPreludeStore::get"), [entry("ok", "", 1.0)]);
}

#[test]
fn local_items_do_not_capture_the_expansion() {
    assert_eq!(shadowing::hygiene_shadowing(1), Ok(4));
    assert_eq!(shadowing::hygiene_shadowing_timed(3), 3);
    assert_eq!(outcomes("hygiene_shadowing"), [entry("ok", "", 1.0)]);
    assert_eq!(durations("hygiene_shadowing_timed"), 1);
}

#[test]
fn crate_path_reaches_a_renamed_or_reexported_runtime() {
    assert!(renamed::hygiene_renamed(false).is_ok());
    assert!(renamed::hygiene_renamed(true).is_err());
    assert_eq!(renamed::hygiene_reexported(), 7);
    assert_eq!(renamed::Renamed(1).hygiene_method().ok(), Some(1));
    assert_eq!(renamed::Renamed(1).skipped(), 2);

    assert_eq!(
        outcomes("hygiene_renamed"),
        [entry("error", "gone", 1.0), entry("ok", "", 1.0)]
    );
    assert_eq!(durations("hygiene_reexported"), 1);
    assert_eq!(outcomes("Renamed::hygiene_method"), [entry("ok", "", 1.0)]);
    assert_eq!(
        durations("Renamed::skipped"),
        0,
        "#[tt::skip] leaves the method alone"
    );
}

#[test]
fn strict_lints_compile_clean() {
    assert_eq!(lints::hygiene_lints(2), Ok(4));
    assert!(lints::hygiene_lints(1 << 20).is_err());
    assert_eq!(
        outcomes("hygiene_lints"),
        [entry("error", "TryFromIntError", 1.0), entry("ok", "", 1.0)]
    );
}

/// Primitive type names shadowed by the user's own types do not reach the
/// derives' generated code.
mod shadowed_primitives {
    #![allow(non_camel_case_types, dead_code)]

    pub(crate) struct usize;
    pub(crate) struct str;

    #[derive(Debug, Clone, Copy, ::telltale::LabelValue)]
    pub(crate) enum ShadowKind {
        Read,
        Write,
    }

    #[derive(Debug, Clone, Copy, ::telltale::LabelSet)]
    pub(crate) struct ShadowLabels {
        pub(crate) kind: ShadowKind,
    }
}

#[test]
fn derives_survive_shadowed_primitive_names() {
    use shadowed_primitives::{ShadowKind, ShadowLabels};
    use telltale::{BoundedLabelValue, LabelSet};
    assert_eq!(ShadowKind::VALUES, ["read", "write"]);
    assert_eq!(ShadowKind::Write.index(), 1);
    assert_eq!(ShadowLabels::CARDINALITY, Some(2));
    assert_eq!(
        ShadowLabels {
            kind: ShadowKind::Write
        }
        .index(),
        1
    );
}
