use telltale::tracked;

#[tracked(labels(route = route, le = "1"))]
fn serve(route: &str) -> Result<(), String> {
    let _ = route;
    Ok(())
}

fn main() {
    let _ = serve("/");
}
