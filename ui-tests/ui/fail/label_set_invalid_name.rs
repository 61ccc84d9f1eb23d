// Rust accepts non-ASCII identifiers; label names are ASCII only.
use telltale::LabelSet;

#[derive(LabelSet)]
struct Parcel {
    größe: u32,
}

fn main() {
    let _ = Parcel { größe: 1 };
}
