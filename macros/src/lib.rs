//! Procedural macros of [telltale](https://docs.rs/telltale): `#[timed]`,
//! `#[tracked]`, `#[telltale::skip]` and `#[derive(LabelValue)]`.
//!
//! Use them through the `telltale` crate, which re-exports them; the code they
//! generate names only `telltale::__private`, whose items are not a public API.
//! This crate only dispatches: `args` and `item` read and check the input,
//! `instrument` and `label_value` generate code.

mod args;
mod case;
mod ctxt;
mod instrument;
mod item;
mod label_value;
mod names;

use proc_macro::TokenStream;

/// Records the latency of every call of a function, or of every method of an
/// `impl` block, into the `function_calls_duration_seconds` histogram.
///
/// See `telltale`'s documentation for the arguments: `name`, `help`,
/// `buckets`, `concurrency`, `labels(..)` and `crate`.
#[proc_macro_attribute]
pub fn timed(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument::expand(args::Kind::Timed, args.into(), item.into()).into()
}

/// Records the latency and the outcome of every call of a function, or of
/// every method of an `impl` block: `function_calls_total` by `result`
/// (`ok`, `error`, `cancelled`) and `error` kind, plus the duration histogram.
///
/// See `telltale`'s documentation for the arguments: those of `#[timed]`
/// plus `ok_if = path` / `error_if = path`.
#[proc_macro_attribute]
pub fn tracked(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument::expand(args::Kind::Tracked, args.into(), item.into()).into()
}

/// Leaves one method of an `#[timed]` or `#[tracked]` `impl` block
/// uninstrumented. On its own it does nothing.
#[proc_macro_attribute]
pub fn skip(args: TokenStream, item: TokenStream) -> TokenStream {
    if let Some(first) = proc_macro2::TokenStream::from(args).into_iter().next() {
        let error = syn::Error::new(first.span(), "#[telltale::skip] takes no arguments")
            .to_compile_error();
        let item = proc_macro2::TokenStream::from(item);
        return quote::quote!(#error #item).into();
    }
    item
}

/// Makes each variant of an enum a static label value (`snake_case` of the
/// variant name unless `#[label(rename = "..")]` or
/// `#[label(rename_all = "..")]` says otherwise).
#[proc_macro_derive(LabelValue, attributes(label))]
pub fn derive_label_value(input: TokenStream) -> TokenStream {
    label_value::derive(input.into()).into()
}
