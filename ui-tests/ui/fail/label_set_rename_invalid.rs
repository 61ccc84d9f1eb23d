use telltale::LabelSet;

#[derive(LabelSet)]
struct Http {
    #[label(rename = "status-class")]
    status: u16,
}

fn main() {
    let _ = Http { status: 200 };
}
