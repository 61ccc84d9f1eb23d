use telltale::timed;

// One mistake, one error: the misspelt `name` is reported, not also the
// `help` that needs it.
#[timed(nmae = "render_page", help = "Renders a page.")]
fn render() {}

#[timed(name = "2xx", help = "Renders a page.")]
fn render_again() {}

fn main() {
    render();
    render_again();
}
