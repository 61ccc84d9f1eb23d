use telltale::{tracked, LabelValue};

#[derive(Debug, LabelValue)]
enum ParseError {
    NotANumber,
}

impl From<std::num::ParseIntError> for ParseError {
    fn from(_: std::num::ParseIntError) -> Self {
        ParseError::NotANumber
    }
}

#[tracked]
#[track_caller]
fn parse(input: &str) -> Result<u8, ParseError> {
    Ok(input.parse()?)
}

struct Store;

#[tracked]
impl Store {
    #[track_caller]
    fn get(&self, key: &str) -> Option<u8> {
        if key.is_empty() {
            return None;
        }
        Some(1)
    }
}

fn main() {
    let _ = parse("1");
    let _ = Store.get("a");
}
