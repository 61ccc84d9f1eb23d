use telltale::LabelSet;

#[derive(LabelSet)]
struct Http {
    status: u16,
}

#[derive(LabelSet)]
struct Request {
    #[label(flatten, rename = "http")]
    http: Http,
    path: &'static str,
}

fn main() {
    let _ = Request {
        http: Http { status: 200 },
        path: "/",
    };
}
