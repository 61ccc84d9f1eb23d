use telltale::tracked;

#[tracked(name = "requests_total")]
fn request() -> Result<(), String> {
    Ok(())
}

fn main() {
    let _ = request();
}
