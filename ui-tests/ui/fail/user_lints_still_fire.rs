// User lints keep firing on instrumented code, and only on the user's code.
#![deny(dead_code, unused_variables, unreachable_code)]

use telltale::{timed, tracked};

#[timed]
fn never_called() {}

#[tracked]
fn ignores_its_argument(request: u32) -> Result<(), String> {
    Ok(())
}

// The user's unreachable code is reported; the macro's own code after a body
// that never ends is not.
#[tracked]
fn gives_up() -> Result<u8, String> {
    panic!("no");
    Ok(1)
}

fn main() {
    let _ = ignores_its_argument(1);
    let _ = gives_up();
}
