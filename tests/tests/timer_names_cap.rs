//! Past `timer::MAX_NAMES` distinct names, new operations and error kinds
//! are recorded as `"other"` (its own test binary: it fills the table).
#![allow(clippy::float_cmp)]

use telltale::snapshot::Value;
use telltale::{timer, tracker, Snapshot};

fn total(s: &Snapshot, function: &str, error: &str) -> f64 {
    s.family("function_calls")
        .unwrap()
        .series
        .iter()
        .filter(|x| x.label("function") == Some(function) && x.label("error") == Some(error))
        .map(|x| match x.value {
            Value::Counter(v) => v,
            _ => f64::NAN,
        })
        .sum()
}

#[test]
fn names_past_the_cap_become_other() {
    for i in 0..timer::MAX_NAMES {
        tracker::record_success(&format!("cap_op_{i}"), &[]);
    }
    // The table is full: new names share "other"; known names keep theirs.
    assert_eq!(timer::operation("cap_op_new_a").name(), "other");
    tracker::record_success("cap_op_new_a", &[]);
    tracker::record_success("cap_op_new_b", &[]);
    tracker::record_success("cap_op_7", &[]);
    for i in 0..timer::MAX_NAMES {
        tracker::record_failure("cap_op_0", &format!("cap_kind_{i}"), &[]);
    }
    tracker::record_failure("cap_op_0", "cap_kind_new", &[]);
    let s = Snapshot::collect();
    assert_eq!(total(&s, "other", ""), 2.0);
    assert_eq!(total(&s, "cap_op_7", ""), 2.0);
    assert_eq!(total(&s, "cap_op_new_a", ""), 0.0);
    assert_eq!(total(&s, "cap_op_0", "other"), 1.0);
    assert_eq!(total(&s, "cap_op_0", "cap_kind_5"), 1.0);
}
