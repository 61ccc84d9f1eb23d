//! `#[derive(LabelValue)]`: reads the enum and its `#[label(..)]` attributes
//! into a typed view, checks it, then generates the two trait impls.

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;
use syn::ext::IdentExt as _;
use syn::{Attribute, Data, DeriveInput, Fields, Ident, LitStr, Path};

use crate::attr::{self, two};
use crate::case::RenameRule;
use crate::ctxt::Ctxt;

/// Entry point of the derive.
pub(crate) fn derive(input: TokenStream) -> TokenStream {
    attr::derive(input, |cx, input| {
        Enum::from_input(cx, input).map(|view| view.expand(input))
    })
}

/// The enum as the derive sees it.
struct Enum<'a> {
    krate: Option<Path>,
    variants: Vec<Variant<'a>>,
}

struct Variant<'a> {
    ident: &'a Ident,
    fields: &'a Fields,
    /// The label value.
    value: String,
}

/// `#[label(..)]` on the enum.
#[derive(Default)]
struct EnumAttrs {
    rename_all: Option<RenameRule>,
    krate: Option<Path>,
}

impl<'a> Enum<'a> {
    fn from_input(cx: &mut Ctxt, input: &'a DeriveInput) -> Option<Self> {
        let data = match &input.data {
            Data::Enum(data) => data,
            Data::Struct(s) => {
                cx.error_spanned_by(
                    two(&s.struct_token, &input.ident),
                    "#[derive(LabelValue)] applies to enums only: each variant becomes one label value",
                );
                return None;
            }
            Data::Union(u) => {
                cx.error_spanned_by(
                    two(&u.union_token, &input.ident),
                    "#[derive(LabelValue)] applies to enums only: each variant becomes one label value",
                );
                return None;
            }
        };
        let attrs = enum_attrs(cx, &input.attrs);
        if data.variants.is_empty() {
            cx.error_spanned_by(
                two(&data.enum_token, &input.ident),
                "#[derive(LabelValue)] needs at least one variant: an enum without variants has no label value",
            );
            return None;
        }
        let rule = attrs.rename_all.unwrap_or(RenameRule::Snake);
        let mut variants: Vec<Variant<'a>> = Vec::new();
        for variant in &data.variants {
            let rename = variant_rename(cx, &variant.attrs);
            let value = match &rename {
                Some(lit) => lit.value(),
                None => rule.apply(&variant.ident.unraw().to_string()),
            };
            if let Some(first) = variants.iter().find(|v| v.value == value) {
                let message = format!(
                    "label value \"{value}\" is already used by variant `{}`; give this one another with #[label(rename = \"...\")]",
                    first.ident.unraw()
                );
                match &rename {
                    Some(lit) => cx.error_spanned_by(lit, message),
                    None => cx.error_spanned_by(&variant.ident, message),
                }
            }
            variants.push(Variant {
                ident: &variant.ident,
                fields: &variant.fields,
                value,
            });
        }
        Some(Enum {
            krate: attrs.krate,
            variants,
        })
    }

    fn expand(&self, input: &DeriveInput) -> TokenStream {
        let site = Span::mixed_site();
        let p = attr::private_path(self.krate.as_ref(), site);
        let ident = &input.ident;
        let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
        let patterns: Vec<TokenStream> = self
            .variants
            .iter()
            .map(|v| {
                let variant = v.ident;
                match v.fields {
                    Fields::Unit => quote_spanned!(site=> Self::#variant),
                    Fields::Named(_) => quote_spanned!(site=> Self::#variant { .. }),
                    Fields::Unnamed(_) => quote_spanned!(site=> Self::#variant(..)),
                }
            })
            .collect();
        let values: Vec<&str> = self.variants.iter().map(|v| v.value.as_str()).collect();
        let indices = 0..self.variants.len();
        let usize = quote_spanned!(site=> ::core::primitive::usize);
        let str = quote_spanned!(site=> ::core::primitive::str);
        quote_spanned! {site=>
            #[automatically_derived]
            impl #impl_generics #p::LabelValue for #ident #ty_generics #where_clause {
                const BOUNDED: ::core::option::Option<&'static [&'static #str]> =
                    ::core::option::Option::Some(<Self as #p::BoundedLabelValue>::VALUES);

                #[inline]
                fn label_value(&self) -> #p::LabelStr<'_> {
                    #p::LabelStr::from_static(match self {
                        #(#patterns => #values,)*
                    })
                }

                #[inline]
                fn bounded_index(&self) -> #usize {
                    <Self as #p::BoundedLabelValue>::index(self)
                }
            }

            #[automatically_derived]
            impl #impl_generics #p::BoundedLabelValue for #ident #ty_generics #where_clause {
                const VALUES: &'static [&'static #str] = &[#(#values),*];

                #[inline]
                fn index(&self) -> #usize {
                    match self {
                        #(#patterns => #indices,)*
                    }
                }
            }
        }
    }
}

fn enum_attrs(cx: &mut Ctxt, attrs: &[Attribute]) -> EnumAttrs {
    let mut out = EnumAttrs::default();
    let mut seen: Vec<String> = Vec::new();
    for meta in attr::label_items(cx, attrs) {
        let key = attr::key(&meta);
        if matches!(key.as_str(), "rename_all" | "crate") && seen.contains(&key) {
            cx.error_spanned_by(meta.path(), format!("duplicate `label` attribute `{key}`"));
            continue;
        }
        seen.push(key.clone());
        match key.as_str() {
            "rename_all" => {
                let Some(lit) = attr::string_value(cx, &meta, "rename_all = \"kebab-case\"") else {
                    continue;
                };
                match RenameRule::from_name(&lit.value()) {
                    Some(rule) => out.rename_all = Some(rule),
                    None => cx.error_spanned_by(
                        lit,
                        format!(
                            "unknown case \"{}\"; expected one of {}",
                            lit.value(),
                            RenameRule::NAMES
                                .iter()
                                .map(|n| format!("\"{n}\""))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ),
                }
            }
            "crate" => {
                if let Some(path) = attr::crate_path(cx, &meta) {
                    out.krate = Some(path);
                }
            }
            "rename" => cx.error_spanned_by(
                meta.path(),
                "`rename` belongs on a variant; on the enum, use `rename_all = \"...\"`",
            ),
            _ => cx.error_spanned_by(
                meta.path(),
                format!(
                    "unknown `label` attribute `{}`; on the enum, expected `rename_all` or `crate`",
                    attr::key_text(&meta)
                ),
            ),
        }
    }
    out
}

fn variant_rename(cx: &mut Ctxt, attrs: &[Attribute]) -> Option<LitStr> {
    let mut rename: Option<LitStr> = None;
    for meta in attr::label_items(cx, attrs) {
        if meta.path().is_ident("rename") {
            let Some(lit) = attr::string_value(cx, &meta, "rename = \"not_found\"") else {
                continue;
            };
            if rename.is_some() {
                cx.error_spanned_by(meta.path(), "duplicate `label` attribute `rename`");
            } else if lit.value().is_empty() {
                cx.error_spanned_by(lit, "a label value cannot be empty");
            } else {
                rename = Some(lit.clone());
            }
        } else if meta.path().is_ident("rename_all") {
            cx.error_spanned_by(
                meta.path(),
                "`rename_all` belongs on the enum; on a variant, use `rename = \"...\"`",
            );
        } else {
            cx.error_spanned_by(
                meta.path(),
                format!(
                    "unknown `label` attribute `{}`; on a variant, expected `rename`",
                    attr::key_text(&meta)
                ),
            );
        }
    }
    rename
}
