use telltale::tracked;

#[tracked(concurrency, name = "a", concurrency)]
fn work() -> Result<(), String> {
    Ok(())
}

fn main() {
    let _ = work();
}
