use telltale::timed;

#[timed(name = "2xx-responses")]
fn respond() {}

fn main() {
    respond();
}
