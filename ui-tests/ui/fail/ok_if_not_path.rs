use telltale::tracked;

#[tracked(ok_if = |n: &i64| *n >= 0)]
fn balance() -> i64 {
    1
}

fn main() {
    let _ = balance();
}
