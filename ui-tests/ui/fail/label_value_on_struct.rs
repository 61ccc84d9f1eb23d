use telltale::LabelValue;

#[derive(LabelValue)]
struct Status {
    code: u16,
}

fn main() {}
