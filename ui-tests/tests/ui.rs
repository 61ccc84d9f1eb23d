//! Compile-pass and compile-fail cases of telltale's macros.
//!
//! `ui/pass/*.rs` must compile and run; `ui/fail/*.rs` must fail to compile
//! with exactly the diagnostics in the `.stderr` beside them. Regenerate
//! those with `TRYBUILD=overwrite cargo test -p telltale-ui-tests` and read
//! every changed one before committing.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/fail/*.rs");
}
