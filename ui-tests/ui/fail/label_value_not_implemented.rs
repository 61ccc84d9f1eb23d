use telltale::tracked;

struct Route;

#[tracked(labels(route = route))]
fn serve(route: Route) -> Result<(), String> {
    let _ = route;
    Ok(())
}

fn main() {
    let _ = serve(Route);
}
