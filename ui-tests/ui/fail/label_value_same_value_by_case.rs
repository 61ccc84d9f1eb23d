use telltale::LabelValue;

#[derive(LabelValue)]
enum Status {
    HttpError,
    HTTPError,
}

fn main() {
    let _ = (Status::HttpError, Status::HTTPError);
}
