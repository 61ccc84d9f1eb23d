use telltale::LabelSet;

#[derive(LabelSet)]
struct Summary {
    #[label(rename = "quantile")]
    q: u32,
}

fn main() {
    let _ = Summary { q: 1 };
}
