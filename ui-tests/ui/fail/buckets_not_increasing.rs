use telltale::timed;

#[timed(buckets = [0.1, 0.5, 0.25, 1.0])]
fn render() {}

fn main() {
    render();
}
