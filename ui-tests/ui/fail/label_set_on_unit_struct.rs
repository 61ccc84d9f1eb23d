use telltale::LabelSet;

#[derive(LabelSet)]
struct Nothing;

fn main() {
    let _ = Nothing;
}
