use telltale::LabelValue;

#[derive(LabelValue)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
