//! What `#[derive(LabelValue)]` and `#[derive(LabelSet)]` share: running the
//! derive, reading the `#[label(..)]` helper attribute, and the path of the
//! runtime's `__private` module.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt as _;
use syn::{Attribute, DeriveInput, Expr, ExprLit, Lit, LitStr, Meta, Path, Token};

use crate::ctxt::Ctxt;

/// Runs a derive: `expand` reads the item (reporting into the context) and
/// returns the impls, or `None` when the item cannot have them. Errors are
/// emitted beside the impls, which are well-formed whatever the errors are,
/// so code that uses the type is free of follow-up errors: one mistake, one
/// error.
pub(crate) fn derive(
    input: TokenStream,
    expand: impl FnOnce(&mut Ctxt, &DeriveInput) -> Option<TokenStream>,
) -> TokenStream {
    let input = match syn::parse2::<DeriveInput>(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let mut cx = Ctxt::new();
    let impls = expand(&mut cx, &input);
    match cx.check() {
        Ok(()) => impls.unwrap_or_default(),
        Err(errors) => {
            let errors = errors.to_compile_error();
            quote!(#errors #impls)
        }
    }
}

/// Two tokens to point an error at (`struct Foo` rather than the whole item).
pub(crate) fn two(a: &dyn ToTokens, b: &dyn ToTokens) -> TokenStream {
    let mut tokens = a.to_token_stream();
    b.to_tokens(&mut tokens);
    tokens
}

/// The items of every `#[label(..)]` among `attrs`, in order.
pub(crate) fn label_items(cx: &mut Ctxt, attrs: &[Attribute]) -> Vec<Meta> {
    let mut items = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("label")) {
        match attr.parse_args_with(syn::punctuated::Punctuated::<Meta, Token![,]>::parse_terminated)
        {
            Ok(metas) => items.extend(metas),
            Err(error) => cx.push(error),
        }
    }
    items
}

/// The key of one item, unraw'd (`""` for a path with several segments,
/// which no key matches).
pub(crate) fn key(meta: &Meta) -> String {
    meta.path()
        .get_ident()
        .map(|i| i.unraw().to_string())
        .unwrap_or_default()
}

/// The key as written, for error messages.
pub(crate) fn key_text(meta: &Meta) -> String {
    meta.path().to_token_stream().to_string().replace(' ', "")
}

/// The string of `key = "..."`, or an error saying how to write it.
pub(crate) fn string_value<'m>(cx: &mut Ctxt, meta: &'m Meta, example: &str) -> Option<&'m LitStr> {
    match meta {
        Meta::NameValue(syn::MetaNameValue {
            value: Expr::Lit(ExprLit {
                lit: Lit::Str(lit), ..
            }),
            ..
        }) => Some(lit),
        Meta::NameValue(nv) => {
            cx.error_spanned_by(&nv.value, format!("expected a string literal: `{example}`"));
            None
        }
        _ => {
            cx.error_spanned_by(meta, format!("expected `{example}`"));
            None
        }
    }
}

/// The path of `crate = path::to::telltale`, or an error.
pub(crate) fn crate_path(cx: &mut Ctxt, meta: &Meta) -> Option<Path> {
    match meta {
        Meta::NameValue(syn::MetaNameValue {
            value: Expr::Path(p),
            ..
        }) if p.qself.is_none() => Some(p.path.clone()),
        _ => {
            cx.error_spanned_by(meta, "expected `crate = path::to::telltale`");
            None
        }
    }
}

/// `<crate>::__private`, spanned at `site`: `::telltale` unless the item
/// names its crate with `crate = path::to::telltale`.
pub(crate) fn private_path(krate: Option<&Path>, site: Span) -> TokenStream {
    let krate = krate.map_or_else(
        || quote_spanned!(site=> ::telltale),
        ToTokens::to_token_stream,
    );
    quote_spanned!(site=> #krate::__private)
}

/// A flag written as a bare key (`skip`), or an error.
pub(crate) fn flag(cx: &mut Ctxt, meta: &Meta) -> bool {
    if let Meta::Path(_) = meta {
        true
    } else {
        let key = key_text(meta);
        cx.error_spanned_by(
            meta,
            format!("`{key}` is a flag and takes no value: write `{key}`"),
        );
        false
    }
}
