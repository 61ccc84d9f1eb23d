use telltale::timed;

#[timed(help = "Renders a page.")]
fn render() {}

fn main() {
    render();
}
