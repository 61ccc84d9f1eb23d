use telltale::LabelValue;

#[derive(LabelValue)]
enum Status {
    #[label(name = "fine")]
    Ok,
    Failed,
}

fn main() {
    let _ = (Status::Ok, Status::Failed);
}
