use telltale::timed;

#[timed(nmae = "render_calls")]
fn render() {}

fn main() {
    render();
}
