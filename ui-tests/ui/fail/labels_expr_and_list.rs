use telltale::{tracked, LabelSet};

#[derive(LabelSet)]
struct Route {
    path: &'static str,
}

#[tracked(labels = Route { path }, labels(method = "GET"))]
fn serve(path: &'static str) -> Result<(), String> {
    let _ = path;
    Ok(())
}

fn main() {
    let _ = serve("/");
}
