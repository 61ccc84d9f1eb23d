//! The typed view of what `#[timed]` / `#[tracked]` is attached to: one
//! function (free fn or method) or an `impl` block, checked for the forms that
//! cannot be instrumented.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::ext::IdentExt as _;
use syn::{
    Attribute, Block, GenericArgument, ImplItem, Item, ItemFn, ItemImpl, PathArguments, ReturnType,
    Signature, Type, TypeParamBound,
};

use crate::args::Kind;
use crate::attr::two;
use crate::ctxt::Ctxt;
use crate::form::{self, Form};

/// What the attribute sits on.
pub(crate) enum Input {
    /// A free function or a method (the attribute is on the `fn` itself).
    Fn(ItemFn),
    /// An `impl` block, inherent or of a trait: every method is instrumented.
    Impl(ImplBlock),
}

/// An `impl` block with the name its methods are reported under.
pub(crate) struct ImplBlock {
    pub(crate) item: ItemImpl,
    /// Last path segment of the self type, without generics: `Cache` for `impl<K> Cache<K>`.
    pub(crate) self_name: String,
}

/// Reads the item tokens. Problems are recorded in `cx`; `None` means the
/// item cannot be instrumented at all.
pub(crate) fn parse(cx: &mut Ctxt, kind: Kind, tokens: TokenStream) -> Option<Input> {
    let attr = kind.attr();
    let item = match syn::parse2::<Item>(tokens) {
        Ok(item) => item,
        Err(error) => {
            cx.push(error);
            return None;
        }
    };
    let not_fn = |cx: &mut Ctxt, tokens: TokenStream, what: &str| {
        cx.error_spanned_by(
            tokens,
            format!("{attr} applies to a function, a method or an impl block, not to {what}"),
        );
    };
    match item {
        Item::Fn(item) => {
            check_fn(cx, kind, &item.sig, &item.attrs, false);
            check_track_caller(cx, kind, &item.sig, &item.attrs, &item.block);
            Some(Input::Fn(item))
        }
        Item::Impl(item) => {
            for impl_item in &item.items {
                if let ImplItem::Fn(method) = impl_item {
                    if !is_skipped(&method.attrs) && !has_own_attr(&method.attrs) {
                        check_fn(cx, kind, &method.sig, &method.attrs, true);
                        check_track_caller(cx, kind, &method.sig, &method.attrs, &method.block);
                    }
                }
            }
            let self_name = type_name(&item.self_ty);
            Some(Input::Impl(ImplBlock { item, self_name }))
        }
        Item::ForeignMod(item) => {
            cx.error_spanned_by(
                &item.abi,
                format!("{attr} cannot be applied to an `extern` block: its functions have no body to instrument"),
            );
            None
        }
        Item::Struct(s) => {
            not_fn(cx, two(&s.struct_token, &s.ident), "a struct");
            None
        }
        Item::Enum(e) => {
            not_fn(cx, two(&e.enum_token, &e.ident), "an enum");
            None
        }
        Item::Union(u) => {
            not_fn(cx, two(&u.union_token, &u.ident), "a union");
            None
        }
        Item::Const(c) => {
            not_fn(cx, two(&c.const_token, &c.ident), "a const");
            None
        }
        Item::Static(s) => {
            not_fn(cx, two(&s.static_token, &s.ident), "a static");
            None
        }
        Item::Trait(t) => {
            cx.error_spanned_by(
                two(&t.trait_token, &t.ident),
                format!("{attr} cannot be applied to a trait definition: put it on the `impl` of the trait"),
            );
            None
        }
        Item::Verbatim(tokens) => {
            if let Ok(decl) = syn::parse2::<syn::TraitItemFn>(tokens.clone()) {
                cx.error_spanned_by(
                    &decl.sig,
                    format!("{attr} needs a function body: it cannot be applied to a declaration without one"),
                );
            } else {
                not_fn(cx, tokens, "this item");
            }
            None
        }
        Item::Mod(m) => {
            not_fn(cx, two(&m.mod_token, &m.ident), "a module");
            None
        }
        Item::Type(t) => {
            not_fn(cx, two(&t.type_token, &t.ident), "a type alias");
            None
        }
        mut other => {
            strip_attrs(&mut other);
            not_fn(cx, other.to_token_stream(), "this item");
            None
        }
    }
}

/// The attributes that mark a method of an instrumented impl block as left
/// alone: `#[skip]`, `#[telltale::skip]`, or `#[<path>::skip]` for any other
/// path to the runtime (a renamed import, a re-export), but not the tool
/// attribute `#[rustfmt::skip]`.
pub(crate) fn is_skip_attr(attr: &Attribute) -> bool {
    let path = attr.path();
    let is_skip = path.segments.last().is_some_and(|s| s.ident == "skip");
    let is_rustfmt = path.segments.first().is_some_and(|s| s.ident == "rustfmt");
    is_skip && !is_rustfmt && matches!(attr.meta, syn::Meta::Path(_))
}

pub(crate) fn is_skipped(attrs: &[Attribute]) -> bool {
    attrs.iter().any(is_skip_attr)
}

/// `#[timed]` or `#[tracked]` (bare or qualified) among the attributes.
fn own_attr(attrs: &[Attribute]) -> Option<&Attribute> {
    attrs.iter().find(|attr| {
        let path = attr.path();
        path.segments.len() <= 2
            && path
                .segments
                .last()
                .is_some_and(|s| s.ident == "timed" || s.ident == "tracked")
    })
}

/// A method of an instrumented impl block with its own `#[timed]` or
/// `#[tracked]`, when that attribute and the method check clean: the
/// attribute's position, kind and arguments, so the impl block expands the
/// method with them (and its `Type::method` name). `None` leaves the
/// attribute to expand, and report, on its own.
pub(crate) fn own_method_args(
    method: &syn::ImplItemFn,
) -> Option<(usize, Kind, crate::args::Args)> {
    // Only telltale's own (bare or `telltale::`): another crate's `tracked`
    // is left to that crate.
    let index = method.attrs.iter().position(|attr| {
        path_is(attr.path(), |names| {
            matches!(
                names,
                ["timed" | "tracked"] | ["telltale", "timed" | "tracked"]
            )
        })
    })?;
    let attr = &method.attrs[index];
    let kind = match attr.path().segments.last()?.ident.to_string().as_str() {
        "timed" => Kind::Timed,
        _ => Kind::Tracked,
    };
    let tokens = match &attr.meta {
        syn::Meta::Path(_) => TokenStream::new(),
        syn::Meta::List(list) => list.tokens.clone(),
        syn::Meta::NameValue(_) => return None,
    };
    let mut cx = Ctxt::new();
    let args = crate::args::parse(&mut cx, kind, tokens).ok()?;
    let mut rest = method.attrs.clone();
    rest.remove(index);
    check_fn(&mut cx, kind, &method.sig, &rest, false);
    check_track_caller(&mut cx, kind, &method.sig, &rest, &method.block);
    if kind == Kind::Tracked && args.predicate.is_none() {
        if let ReturnType::Type(_, ty) = &method.sig.output {
            if is_option(ty) || is_boxed_future_of_option(ty) {
                return None;
            }
        }
    }
    cx.check().ok()?;
    Some((index, kind, args))
}

/// A method with its own `#[timed]`/`#[tracked]` inside an instrumented impl
/// block is left to that attribute.
pub(crate) fn has_own_attr(attrs: &[Attribute]) -> bool {
    own_attr(attrs).is_some()
}

fn check_fn(cx: &mut Ctxt, kind: Kind, sig: &Signature, attrs: &[Attribute], in_impl: bool) {
    let attr = kind.attr();
    if let Some(constness) = &sig.constness {
        let hint = if in_impl {
            "; mark the method `#[telltale::skip]` to leave it alone"
        } else {
            ""
        };
        cx.error_spanned_by(
            two(constness, &sig.fn_token),
            format!("{attr} cannot be applied to a `const fn`: it may run at compile time, where nothing is measured{hint}"),
        );
    }
    if !in_impl {
        if let Some(other) = own_attr(attrs) {
            cx.error_spanned_by(
                other,
                "a function can carry only one of #[timed] and #[tracked] (#[tracked] records the duration too)",
            );
        }
    }
}

/// `#[tracked]` without `ok_if`/`error_if` on functions returning `Option`:
/// whether `None` is a failure is the user's to say, so each such function
/// (every such method of an impl block) is an error at its return type.
pub(crate) fn check_option_returns(cx: &mut Ctxt, input: &Input) {
    let mut check = |sig: &Signature, in_impl: bool| {
        let ReturnType::Type(_, ty) = &sig.output else {
            return;
        };
        if !is_option(ty) && !is_boxed_future_of_option(ty) {
            return;
        }
        let hint = if in_impl {
            "; on a method of an impl block, put the attribute with its argument on the method (or mark it `#[telltale::skip]`)"
        } else {
            ""
        };
        cx.error_spanned_by(
            ty,
            format!("#[tracked] cannot tell whether an `Option` is a success: add `error_if = Option::is_none` (a `None` counts as result=\"error\", error=\"is_none\") or `ok_if = ..` with a `fn(&Option<_>) -> bool`{hint}"),
        );
    };
    match input {
        Input::Fn(item) => check(&item.sig, false),
        Input::Impl(block) => {
            for impl_item in &block.item.items {
                if let ImplItem::Fn(method) = impl_item {
                    if !is_skipped(&method.attrs) && !has_own_attr(&method.attrs) {
                        check(&method.sig, true);
                    }
                }
            }
        }
    }
}

/// Whether the segment names of `path` satisfy `test`.
fn path_is(path: &syn::Path, test: impl Fn(&[&str]) -> bool) -> bool {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    test(&names)
}

/// Whether `ty` is written `Option<_>` (or `std::option::Option<_>`,
/// `core::option::Option<_>`); an alias of it is not seen.
fn is_option(ty: &Type) -> bool {
    match ty {
        Type::Paren(p) => is_option(&p.elem),
        Type::Group(g) => is_option(&g.elem),
        Type::Path(p) if p.qself.is_none() => path_is(&p.path, |names| {
            matches!(names, ["Option"] | ["std" | "core", "option", "Option"])
        }),
        _ => false,
    }
}

/// Whether `ty` is `Pin<Box<dyn Future<Output = Option<_>>>>` (what
/// `async_trait` makes of an `async fn` returning `Option`).
fn is_boxed_future_of_option(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => p.path.segments.last().is_some_and(|last| {
            let PathArguments::AngleBracketed(args) = &last.arguments else {
                return false;
            };
            (last.ident == "Pin" || last.ident == "Box")
                && args.args.iter().any(
                    |arg| matches!(arg, GenericArgument::Type(inner) if is_boxed_future_of_option(inner)),
                )
        }),
        Type::TraitObject(object) => object.bounds.iter().any(|bound| {
            let TypeParamBound::Trait(bound) = bound else {
                return false;
            };
            bound.path.segments.last().is_some_and(|last| {
                let PathArguments::AngleBracketed(args) = &last.arguments else {
                    return false;
                };
                last.ident == "Future"
                    && args.args.iter().any(|arg| {
                        matches!(arg, GenericArgument::AssocType(a) if a.ident == "Output" && is_option(&a.ty))
                    })
            })
        }),
        _ => false,
    }
}

/// `#[track_caller]` on a function whose body `#[tracked]` runs in a closure
/// (to see the value of an early `return` or `?`): the closure would be the
/// caller of everything in the body, so the attribute is refused rather than
/// silently lost.
fn check_track_caller(
    cx: &mut Ctxt,
    kind: Kind,
    sig: &Signature,
    attrs: &[Attribute],
    block: &Block,
) {
    let Some(track_caller) = track_caller_attr(attrs) else {
        return;
    };
    if matches!(form::form(kind, attrs, sig, block), Form::Closure) {
        cx.error_spanned_by(
            track_caller,
            "#[tracked] cannot keep #[track_caller] on this function: its body can leave early \
             (a `return`, a `?`, or a macro other than the standard ones, which may expand to \
             either), so #[tracked] runs it in a closure to see the value it leaves with, and \
             the caller's location would be lost; end the body in one expression, or use #[timed]",
        );
    }
}

fn track_caller_attr(attrs: &[Attribute]) -> Option<&Attribute> {
    attrs
        .iter()
        .find(|attr| attr.path().is_ident("track_caller"))
}

/// The name a method is reported under: the last segment of the self type.
fn type_name(ty: &Type) -> String {
    match ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .map_or_else(String::new, |s| s.ident.unraw().to_string()),
        Type::Reference(r) => type_name(&r.elem),
        Type::Group(g) => type_name(&g.elem),
        Type::Paren(p) => type_name(&p.elem),
        other => other.to_token_stream().to_string().replace(' ', ""),
    }
}

fn strip_attrs(item: &mut Item) {
    match item {
        Item::Use(i) => i.attrs.clear(),
        Item::Macro(i) => i.attrs.clear(),
        Item::ExternCrate(i) => i.attrs.clear(),
        Item::TraitAlias(i) => i.attrs.clear(),
        _ => {}
    }
}
