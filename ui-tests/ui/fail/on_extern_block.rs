use telltale::timed;

#[timed]
extern "C" {
    fn abs(x: i32) -> i32;
}

fn main() {
    let _ = unsafe { abs(-1) };
}
