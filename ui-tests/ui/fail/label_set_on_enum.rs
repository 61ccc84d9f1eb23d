use telltale::LabelSet;

#[derive(LabelSet)]
enum Method {
    Get,
    Post,
}

fn main() {
    let _ = (Method::Get, Method::Post);
}
