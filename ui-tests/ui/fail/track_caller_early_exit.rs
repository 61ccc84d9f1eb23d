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

macro_rules! log {
    ($($t:tt)*) => {};
}

// A macro other than the standard ones may expand to a `return`.
#[tracked]
#[track_caller]
fn logged(x: u8) -> u8 {
    log!("x = {}", x);
    x
}

fn main() {
    let _ = logged(1);
    let _ = parse("1");
    let _ = Store.get("a");
}
