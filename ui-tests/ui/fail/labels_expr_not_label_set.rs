use telltale::tracked;

struct Route {
    path: &'static str,
}

#[tracked(labels = Route { path })]
fn serve(path: &'static str) -> Result<(), String> {
    let _ = path;
    Ok(())
}

fn main() {
    let _ = serve("/");
    let _ = Route { path: "/" }.path;
}
