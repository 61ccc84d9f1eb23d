// `impl Trait` in return position, alone and nested in a `Result`, sync and
// async.

#![deny(warnings, unused_qualifications)]

use std::fmt::Display;

use telltale::{timed, tracked};

#[tracked]
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

#[tracked]
fn parsed(input: &str) -> Result<impl Display, std::num::ParseIntError> {
    let n: i64 = input.parse()?;
    Ok(n * 2)
}

#[timed]
fn boxed() -> impl Fn(u32) -> u32 {
    |x| x + 1
}

#[tracked]
async fn later(input: &str) -> Result<impl Display + '_, std::num::ParseIntError> {
    let _: u8 = input.parse()?;
    Ok(input)
}

fn main() {
    assert_eq!(evens(5).collect::<Vec<_>>(), [0, 2, 4]);
    assert_eq!(parsed("21").unwrap().to_string(), "42");
    assert!(parsed("x").is_err());
    assert_eq!(boxed()(1), 2);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(later("7")).unwrap().to_string(), "7");
}
