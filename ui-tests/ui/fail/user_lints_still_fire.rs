// User lints keep firing on instrumented code, and only on the user's code.
#![deny(dead_code, unused_variables)]

use telltale::{timed, tracked};

#[timed]
fn never_called() {}

#[tracked]
fn ignores_its_argument(request: u32) -> Result<(), String> {
    Ok(())
}

fn main() {
    let _ = ignores_its_argument(1);
}
