use telltale::LabelSet;

#[derive(LabelSet)]
struct Bucket {
    kind: bool,
    le: u32,
}

fn main() {
    let _ = Bucket { kind: true, le: 1 };
}
