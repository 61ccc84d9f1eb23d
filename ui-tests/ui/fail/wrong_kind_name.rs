use telltale::timed;

#[timed(name = 5)]
fn render() {}

fn main() {
    render();
}
