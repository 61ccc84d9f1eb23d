use telltale::LabelSet;

#[derive(LabelSet)]
struct Route {
    method: &'static str,
    #[label(rename = "method")]
    verb: &'static str,
}

fn main() {
    let _ = Route { method: "GET", verb: "GET" };
}
