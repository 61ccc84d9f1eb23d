//! `#[derive(LabelSet)]`: reads the struct and the `#[label(..)]` attributes
//! of its fields into a typed view, checks the label names, then generates
//! the `LabelSet` impl.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote_spanned, ToTokens};
use syn::ext::IdentExt as _;
use syn::{Attribute, Data, DeriveInput, Fields, Ident, LitStr, Path, Type, WherePredicate};

use crate::attr::{self, two};
use crate::ctxt::Ctxt;
use crate::instrument::at;
use crate::names;

/// Entry point of the derive.
pub(crate) fn derive(input: TokenStream) -> TokenStream {
    attr::derive(input, |cx, input| {
        Struct::from_input(cx, input).map(|view| view.expand(input))
    })
}

/// The struct as the derive sees it.
struct Struct<'a> {
    krate: Option<Path>,
    /// The fields that carry labels, in declaration order (skipped ones left out).
    fields: Vec<Field<'a>>,
}

struct Field<'a> {
    member: &'a Ident,
    ty: &'a Type,
    role: Role,
}

enum Role {
    /// One label: the field's type implements `LabelValue`.
    Label(String),
    /// `#[label(flatten)]`: the field's type implements `LabelSet`, whose
    /// labels are spliced in here.
    Flatten,
}

/// `#[label(..)]` on one field.
#[derive(Default)]
struct FieldAttrs {
    rename: Option<LitStr>,
    skip: bool,
    flatten: bool,
}

const NOT_A_STRUCT: &str = "#[derive(LabelSet)] applies to structs with named fields: each field is one label, named after the field";

impl<'a> Struct<'a> {
    fn from_input(cx: &mut Ctxt, input: &'a DeriveInput) -> Option<Self> {
        let fields = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(fields) => fields,
                Fields::Unnamed(_) => {
                    cx.error_spanned_by(
                        two(&data.struct_token, &input.ident),
                        format!("{NOT_A_STRUCT}; a tuple struct has no field names to use as label names"),
                    );
                    return None;
                }
                Fields::Unit => {
                    cx.error_spanned_by(
                        two(&data.struct_token, &input.ident),
                        format!("{NOT_A_STRUCT}; a unit struct has no labels (`()` is the empty label set)"),
                    );
                    return None;
                }
            },
            Data::Enum(data) => {
                cx.error_spanned_by(
                    two(&data.enum_token, &input.ident),
                    format!("{NOT_A_STRUCT}; to make the variants of an enum the values of one label, derive `LabelValue`"),
                );
                return None;
            }
            Data::Union(data) => {
                cx.error_spanned_by(two(&data.union_token, &input.ident), NOT_A_STRUCT);
                return None;
            }
        };
        let krate = struct_attrs(cx, &input.attrs);
        // Each label name with the tokens it came from, for duplicates.
        let mut seen: Vec<(String, &'a Ident)> = Vec::new();
        let mut out: Vec<Field<'a>> = Vec::new();
        for field in &fields.named {
            let Some(member) = &field.ident else {
                continue;
            };
            let attrs = field_attrs(cx, &field.attrs);
            if attrs.skip {
                continue;
            }
            if attrs.flatten {
                out.push(Field {
                    member,
                    ty: &field.ty,
                    role: Role::Flatten,
                });
                continue;
            }
            let name = attrs
                .rename
                .as_ref()
                .map_or_else(|| member.unraw().to_string(), LitStr::value);
            let at_name = |cx: &mut Ctxt, message: String| match &attrs.rename {
                Some(lit) => cx.error_spanned_by(lit, message),
                None => cx.error_spanned_by(member, message),
            };
            if let Err(message) = names::check_label_set_name(&name) {
                at_name(cx, message);
            } else if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
                at_name(
                    cx,
                    format!(
                        "duplicate label `{name}`: field `{}` already has this name; give one of them another with #[label(rename = \"...\")]",
                        first.unraw()
                    ),
                );
            } else {
                seen.push((name.clone(), member));
            }
            out.push(Field {
                member,
                ty: &field.ty,
                role: Role::Label(name),
            });
        }
        Some(Struct { krate, fields: out })
    }

    fn expand(&self, input: &DeriveInput) -> TokenStream {
        let site = Span::mixed_site();
        let p = attr::private_path(self.krate.as_ref(), site);
        let ident = &input.ident;
        let out = Ident::new("__telltale_out", site);
        let f = Ident::new("__telltale_f", site);
        let index = Ident::new("__telltale_index", site);
        let usize = quote_spanned!(site=> ::core::primitive::usize);
        let str = quote_spanned!(site=> ::core::primitive::str);
        let option = quote_spanned!(site=> ::core::option::Option);

        let mut cardinalities = Vec::new();
        let mut names = Vec::new();
        let mut visits = Vec::new();
        let mut digits = Vec::new();
        let mut tables = Vec::new();
        for field in &self.fields {
            let Field { member, ty, .. } = field;
            // Every use of the field's type is spanned at it, so a type that
            // is not a label value (or set) is reported at the field.
            let span = at(ty);
            match &field.role {
                Role::Label(name) => {
                    // Only `<Ty as LabelValue>::..` names the type, so a type
                    // that is not a label value is one error, not several.
                    let value = quote_spanned!(span=> <#ty as #p::LabelValue>);
                    let cardinality = quote_spanned! {span=>
                        match #value::BOUNDED {
                            #option::Some(__telltale_values) => #option::Some(__telltale_values.len()),
                            #option::None => #option::None,
                        }
                    };
                    cardinalities.push(cardinality.clone());
                    names.push(quote_spanned!(site=> #out.push(#name);));
                    visits.push(quote_spanned! {span=>
                        #f(&*#value::label_value(&self.#member));
                    });
                    digits.push(quote_spanned! {span=>
                        let #index = #index
                            .wrapping_mul(#p::radix(#cardinality))
                            .wrapping_add(#value::bounded_index(&self.#member));
                    });
                    tables.push(quote_spanned! {span=>
                        #out.push(match #value::BOUNDED {
                            #option::Some(__telltale_values) => __telltale_values,
                            #option::None => &[],
                        });
                    });
                }
                Role::Flatten => {
                    let set = quote_spanned!(span=> <#ty as #p::LabelSet>);
                    cardinalities.push(quote_spanned!(span=> #set::CARDINALITY));
                    names.push(quote_spanned!(span=> #set::names(#out);));
                    visits.push(quote_spanned!(span=> #set::visit(&self.#member, #f);));
                    digits.push(quote_spanned! {span=>
                        let #index = #index
                            .wrapping_mul(#p::radix(#set::CARDINALITY))
                            .wrapping_add(#set::index(&self.#member));
                    });
                    tables.push(quote_spanned!(span=> #set::value_tables(#out);));
                }
            }
        }

        // Parameters a struct without labels leaves unused are not named.
        let (out_param, f_param) = if self.fields.is_empty() {
            (quote_spanned!(site=> _), quote_spanned!(site=> _))
        } else {
            (out.to_token_stream(), f.to_token_stream())
        };
        let index_body = if self.fields.is_empty() {
            quote_spanned!(site=> 0)
        } else {
            quote_spanned!(site=> let #index: #usize = 0; #(#digits)* #index)
        };

        let (impl_generics, ty_generics, _) = input.generics.split_for_impl();
        let where_clause = self.where_clause(input, &p);
        let vec = quote_spanned!(site=> #p::Vec);
        quote_spanned! {site=>
            #[automatically_derived]
            impl #impl_generics #p::LabelSet for #ident #ty_generics #where_clause {
                const CARDINALITY: #option<#usize> = #p::product(&[#(#cardinalities),*]);

                #[inline]
                fn names(#out_param: &mut #vec<&'static #str>) {
                    #(#names)*
                }

                #[inline]
                fn visit(&self, #f_param: &mut dyn ::core::ops::FnMut(&#str)) {
                    #(#visits)*
                }

                #[inline]
                fn index(&self) -> #usize {
                    #index_body
                }

                fn value_tables(#out_param: &mut #vec<&'static [&'static #str]>) {
                    #(#tables)*
                }
            }
        }
    }

    /// The struct's own where clause, plus `Field: LabelValue` (or
    /// `Field: LabelSet` when flattened) for each field whose type involves
    /// a type parameter.
    fn where_clause(&self, input: &DeriveInput, p: &TokenStream) -> Option<syn::WhereClause> {
        let params: Vec<&Ident> = input.generics.type_params().map(|t| &t.ident).collect();
        let mut clause = input.generics.where_clause.clone();
        for field in &self.fields {
            if !mentions(field.ty.to_token_stream(), &params) {
                continue;
            }
            let ty = field.ty;
            let span = at(ty);
            // The whole predicate at the field's type, so an unmet bound is
            // reported there.
            let p = respan(p.clone(), span);
            let predicate: WherePredicate = match field.role {
                Role::Label(_) => syn::parse_quote_spanned!(span=> #ty: #p::LabelValue),
                Role::Flatten => syn::parse_quote_spanned!(span=> #ty: #p::LabelSet),
            };
            clause
                .get_or_insert_with(|| syn::WhereClause {
                    where_token: syn::Token![where](Span::mixed_site()),
                    predicates: syn::punctuated::Punctuated::new(),
                })
                .predicates
                .push(predicate);
        }
        clause
    }
}

/// `tokens` with every span set to `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let TokenTree::Group(group) = &tt {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                tt = TokenTree::Group(inner);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

/// Whether `tokens` name one of `params` anywhere.
fn mentions(tokens: TokenStream, params: &[&Ident]) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(ident) => params.iter().any(|p| **p == ident),
        TokenTree::Group(group) => mentions(group.stream(), params),
        TokenTree::Punct(_) | TokenTree::Literal(_) => false,
    })
}

/// `#[label(crate = path)]` on the struct.
fn struct_attrs(cx: &mut Ctxt, attrs: &[Attribute]) -> Option<Path> {
    let mut krate: Option<Path> = None;
    for meta in attr::label_items(cx, attrs) {
        match attr::key(&meta).as_str() {
            "crate" => {
                if krate.is_some() {
                    cx.error_spanned_by(meta.path(), "duplicate `label` attribute `crate`");
                } else {
                    krate = attr::crate_path(cx, &meta);
                }
            }
            "rename" | "skip" | "flatten" => cx.error_spanned_by(
                meta.path(),
                format!(
                    "`{}` belongs on a field: #[label({}..)] on the struct only takes `crate`",
                    attr::key_text(&meta),
                    attr::key_text(&meta),
                ),
            ),
            _ => cx.error_spanned_by(
                meta.path(),
                format!(
                    "unknown `label` attribute `{}`; on the struct, expected `crate`",
                    attr::key_text(&meta)
                ),
            ),
        }
    }
    krate
}

/// `#[label(rename = "..")]`, `#[label(skip)]`, `#[label(flatten)]` on a field.
fn field_attrs(cx: &mut Ctxt, attrs: &[Attribute]) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    let mut seen: Vec<String> = Vec::new();
    // The first key that took effect, to say which two clash.
    let mut given: Option<String> = None;
    for meta in attr::label_items(cx, attrs) {
        let key = attr::key(&meta);
        let known = matches!(key.as_str(), "rename" | "skip" | "flatten");
        if !known {
            cx.error_spanned_by(
                meta.path(),
                format!(
                    "unknown `label` attribute `{}`; on a field, expected `rename`, `skip` or `flatten`",
                    attr::key_text(&meta)
                ),
            );
            continue;
        }
        if seen.contains(&key) {
            cx.error_spanned_by(meta.path(), format!("duplicate `label` attribute `{key}`"));
            continue;
        }
        seen.push(key.clone());
        if let Some(other) = &given {
            let message = match (other.as_str(), key.as_str()) {
                ("skip", _) | (_, "skip") => format!(
                    "`skip` leaves the field out of the label set: it cannot be combined with `{}`",
                    if key == "skip" { other } else { &key }
                ),
                _ => "`flatten` splices in the labels of the field's own label set, which keep their names: it cannot be combined with `rename`".to_owned(),
            };
            cx.error_spanned_by(meta.path(), message);
            continue;
        }
        match key.as_str() {
            "rename" => {
                let Some(lit) = attr::string_value(cx, &meta, "rename = \"method\"") else {
                    continue;
                };
                out.rename = Some(lit.clone());
            }
            "skip" => {
                if !attr::flag(cx, &meta) {
                    continue;
                }
                out.skip = true;
            }
            "flatten" => {
                if !attr::flag(cx, &meta) {
                    continue;
                }
                out.flatten = true;
            }
            _ => unreachable!("checked above"),
        }
        given = Some(key);
    }
    out
}
