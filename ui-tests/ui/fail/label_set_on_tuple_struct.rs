use telltale::LabelSet;

#[derive(LabelSet)]
struct Route(&'static str, bool);

fn main() {
    let _ = Route("/", true);
}
