// Expansions name only absolute paths: they compile in a module without the
// prelude, beside a local module called `telltale`.

#![deny(warnings, unused_qualifications)]
#![no_implicit_prelude]

mod telltale {}

#[::telltale::tracked]
fn parse(input: &str) -> ::core::result::Result<u32, ::core::num::ParseIntError> {
    input.parse()
}

#[::telltale::timed(concurrency, labels(input = input))]
fn timed(input: &str) {}

#[::telltale::tracked(ok_if = ::core::option::Option::is_some)]
async fn later() -> ::core::option::Option<u8> {
    ::core::option::Option::Some(1)
}

struct Unit;

#[::telltale::tracked]
impl Unit {
    fn get(&self) -> u8 {
        1
    }
}

#[derive(::telltale::LabelValue)]
enum Kind {
    First,
    Second(u8),
}

#[derive(::telltale::LabelSet)]
struct Labels<'a, T> {
    kind: Kind,
    name: &'a str,
    value: T,
    #[label(flatten)]
    nested: Nested,
    #[label(skip)]
    _skipped: (),
}

#[derive(::telltale::LabelSet)]
struct Nested {
    on: bool,
}

#[derive(::telltale::LabelSet)]
struct Empty {}

#[::telltale::tracked(labels = Labels { kind: Kind::First, name: input, value: 1u8, nested: Nested { on: true }, _skipped: () })]
fn labelled(input: &str) -> ::core::result::Result<(), ()> {
    ::core::result::Result::Ok(())
}

fn main() {
    ::std::assert!(parse("1").is_ok());
    timed("x");
    let _ = later();
    ::std::assert_eq!(Unit.get(), 1);
    let _ = (Kind::First, Kind::Second(0));
    ::std::assert!(labelled("x").is_ok());
    ::std::assert_eq!(<Labels<'_, u8> as ::telltale::LabelSet>::CARDINALITY, ::core::option::Option::None);
    ::std::assert_eq!(<Empty as ::telltale::LabelSet>::CARDINALITY, ::core::option::Option::Some(1));
}
