use telltale::LabelSet;

struct Http {
    status: u16,
}

#[derive(LabelSet)]
struct Request {
    #[label(flatten)]
    http: Http,
}

fn main() {
    let _ = Request {
        http: Http { status: 200 },
    }
    .http
    .status;
}
