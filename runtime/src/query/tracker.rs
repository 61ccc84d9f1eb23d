//! Success and failure tracking by API, beside `#[tracked]`.
//!
//! An operation recorded here is counted in `function_calls_total` with
//! `function` = its name, exactly as a `#[tracked]` function is, so the two
//! agree: [`crate::window`] queries (`success_rate`, `failure_breakdown`)
//! and the exposition see one operation. Metadata never becomes a label (it
//! would create series); the last failures, with their metadata, are kept in
//! a bounded list for inspection.
//!
//! ```
//! use telltale::tracker;
//!
//! tracker::record_success("git.commit", &[("files", "3")]);
//! tracker::record_failure("git.push", "authentication_error", &[("repo", "origin")]);
//!
//! let last = tracker::recent_failures();
//! assert_eq!(last.last().unwrap().kind, "authentication_error");
//! let text = telltale::render(telltale::Format::Prometheus);
//! assert!(text.contains(
//!     r#"function_calls_total{function="git.push",module="",result="error",error="authentication_error"} 1"#
//! ));
//! ```

use crate::metric::callsite::Outcome;
use crate::metric::failures;
use crate::query::timer::{kind, operation};

pub use crate::metric::failures::{recent_failures, Failure, RECENT_FAILURES};

/// Records a success of `operation`. Its metadata is accepted for symmetry
/// with [`record_failure`] and not kept: successes are only counted.
pub fn record_success(operation_name: &str, _metadata: &[(&str, &str)]) {
    operation(operation_name).count(Outcome::Ok);
}

/// Records a failure of `operation` with an error kind.
pub fn record_failure(operation_name: &str, error_kind: &str, metadata: &[(&str, &str)]) {
    operation(operation_name).count(Outcome::Error(kind(error_kind)));
    failures::push_reported(
        operation_name,
        error_kind,
        metadata
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_failures_keep_the_last_256_and_metadata_is_never_a_label() {
        assert_eq!(RECENT_FAILURES, 256);
        for i in 0..RECENT_FAILURES + 44 {
            let n = i.to_string();
            record_failure("tracker_unit_op", "tracker_unit_kind", &[("attempt", &n)]);
        }
        let recent = recent_failures();
        assert_eq!(recent.len(), RECENT_FAILURES);
        // Other tests may record failures meanwhile: this test's last one is
        // still among the newest.
        let last = recent
            .iter()
            .rev()
            .find(|f| f.operation == "tracker_unit_op")
            .expect("a failure of tracker_unit_op");
        let expected = (RECENT_FAILURES + 43).to_string();
        assert_eq!(
            last.metadata,
            [("attempt".to_owned(), expected)],
            "{recent:?}"
        );
        let text = crate::encode::render(crate::encode::Format::Prometheus);
        let calls = format!(
            r#"function_calls_total{{function="tracker_unit_op",module="",result="error",error="tracker_unit_kind"}} {}"#,
            RECENT_FAILURES + 44
        );
        assert!(text.contains(&calls), "{text}");
        assert!(!text.contains("attempt"), "{text}");
    }
}
