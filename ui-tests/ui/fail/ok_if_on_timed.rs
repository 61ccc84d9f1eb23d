use telltale::timed;

#[timed(ok_if = Option::is_some)]
fn find() -> Option<u8> {
    None
}

fn main() {
    let _ = find();
}
