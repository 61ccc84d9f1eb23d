// #[tracked] on an `impl Trait for Type` block, and #[timed] on one method of
// another trait impl.

#![deny(warnings, unused_qualifications)]

use std::fmt;

use telltale::{timed, tracked};

trait Handler {
    fn handle(&self, request: &str) -> Result<String, fmt::Error>;
    fn name(&self) -> &'static str;
}

struct Echo;

#[tracked]
impl Handler for Echo {
    fn handle(&self, request: &str) -> Result<String, fmt::Error> {
        Ok(request.to_owned())
    }

    fn name(&self) -> &'static str {
        "echo"
    }
}

struct Loud;

impl fmt::Display for Loud {
    #[timed]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LOUD")
    }
}

fn main() {
    assert_eq!(Echo.handle("hi").unwrap(), "hi");
    assert_eq!(Echo.name(), "echo");
    assert_eq!(Loud.to_string(), "LOUD");
}
