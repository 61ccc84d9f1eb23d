use telltale::tracked;

#[tracked(labels(route = route, route = "again"))]
fn serve(route: &str) -> Result<(), String> {
    let _ = route;
    Ok(())
}

fn main() {
    let _ = serve("/");
}
