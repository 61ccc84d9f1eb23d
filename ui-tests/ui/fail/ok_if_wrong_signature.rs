use telltale::tracked;

fn is_small(n: u8) -> bool {
    n < 10
}

#[tracked(ok_if = is_small)]
fn size() -> String {
    String::new()
}

fn main() {
    let _ = size();
}
