use telltale::{timed, tracked};

#[tracked]
#[timed]
fn work() -> Result<(), String> {
    Ok(())
}

fn main() {
    let _ = work();
}
