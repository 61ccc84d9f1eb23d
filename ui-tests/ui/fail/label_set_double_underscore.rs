use telltale::LabelSet;

#[derive(LabelSet)]
struct Internal {
    __name: &'static str,
}

fn main() {
    let _ = Internal { __name: "x" };
}
