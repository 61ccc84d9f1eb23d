use telltale::tracked;

#[tracked(concurrency = true)]
fn work() -> Result<(), String> {
    Ok(())
}

fn main() {
    let _ = work();
}
