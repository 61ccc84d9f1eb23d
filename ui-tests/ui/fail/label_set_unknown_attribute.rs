use telltale::LabelSet;

#[derive(LabelSet)]
struct Http {
    #[label(name = "code")]
    status: u16,
}

fn main() {
    let _ = Http { status: 200 };
}
