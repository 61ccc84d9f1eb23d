use telltale::tracked;

#[tracked(ok_if = Option::is_some, error_if = Option::is_none)]
fn find() -> Option<u8> {
    None
}

fn main() {
    let _ = find();
}
