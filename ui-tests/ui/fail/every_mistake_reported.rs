// Independent mistakes are all reported at once, each at its own tokens.
use telltale::timed;

#[timed(nmae = "render", buckets = [2, 1], concurrency = 1)]
fn render() {}

fn main() {
    render();
}
