mod metrics {}

#[telltale::tracked(crate = metrics::telltale)]
fn work() -> Result<(), String> {
    Ok(())
}

fn main() {
    let _ = work();
}
