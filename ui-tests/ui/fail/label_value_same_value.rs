use telltale::LabelValue;

#[derive(LabelValue)]
enum FetchError {
    #[label(rename = "timeout")]
    ConnectTimeout,
    #[label(rename = "timeout")]
    ReadTimeout,
    Io,
}

fn main() {
    let _ = (
        FetchError::ConnectTimeout,
        FetchError::ReadTimeout,
        FetchError::Io,
    );
}
