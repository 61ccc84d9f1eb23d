// Generic functions: type and lifetime parameters, where clauses, `impl Trait`
// arguments, const generics.

#![deny(warnings, unused_qualifications)]

use std::fmt::Debug;

use telltale::{timed, tracked};

#[tracked]
fn largest<T: PartialOrd + Copy>(items: &[T]) -> Result<T, String> {
    let mut best = *items.first().ok_or("empty")?;
    for &item in items {
        if item > best {
            best = item;
        }
    }
    Ok(best)
}

#[timed]
fn longest<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.len() >= b.len() {
        a
    } else {
        b
    }
}

#[tracked(error_if = Option::is_none)]
fn split_first<'a, T>(items: &'a mut [T]) -> Option<&'a mut T>
where
    T: Debug,
{
    items.first_mut()
}

#[tracked]
fn describe(value: impl Debug) -> String {
    format!("{value:?}")
}

#[timed]
fn sum<const N: usize>(values: [u32; N]) -> u32 {
    values.iter().sum()
}

fn main() {
    assert_eq!(largest(&[1, 5, 3]), Ok(5));
    assert!(largest::<u8>(&[]).is_err());
    assert_eq!(longest("ab", "c"), "ab");
    let mut items = [1, 2];
    *split_first(&mut items).unwrap() = 9;
    assert_eq!(items, [9, 2]);
    assert_eq!(describe(1), "1");
    assert_eq!(sum([1, 2, 3]), 6);
}
