use telltale::LabelValue;

#[derive(LabelValue)]
#[label(rename_all = "snake")]
enum Status {
    NotFound,
}

fn main() {
    let _ = Status::NotFound;
}
