use telltale::LabelValue;

#[derive(LabelValue)]
enum Never {}

fn main() {}
