use telltale::timed;

#[timed]
struct Page {
    body: String,
}

fn main() {
    let page = Page {
        body: String::new(),
    };
    let _ = page.body;
}
