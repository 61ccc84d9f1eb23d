//! The arguments of `#[timed(..)]` and `#[tracked(..)]`: parsed into a typed
//! [`Args`], rejecting unknown, duplicate and ill-formed arguments.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream, Parser as _};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitStr, Meta, Path, Token};

use crate::ctxt::Ctxt;
use crate::names;

/// Which attribute is being expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[timed]`: duration only.
    Timed,
    /// `#[tracked]`: outcome and duration.
    Tracked,
}

impl Kind {
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Kind::Timed => "#[timed]",
            Kind::Tracked => "#[tracked]",
        }
    }
}

/// Checked arguments of one attribute.
#[derive(Default)]
pub(crate) struct Args {
    /// `name = "..."`: the series base name.
    pub(crate) name: Option<LitStr>,
    /// `help = "..."`.
    pub(crate) help: Option<LitStr>,
    /// `buckets = [..]`: validated bounds, in seconds.
    pub(crate) buckets: Vec<f64>,
    /// `concurrency`.
    pub(crate) concurrency: bool,
    /// `labels(key = expr, ...)`, in order.
    pub(crate) labels: Vec<LabelArg>,
    /// `labels = expr`: a value implementing `LabelSet`.
    pub(crate) label_set: Option<Expr>,
    /// `ok_if = path` or `error_if = path`.
    pub(crate) predicate: Option<Predicate>,
    /// `crate = path`.
    pub(crate) krate: Option<Path>,
}

/// One `key = expr` of `labels(..)`.
pub(crate) struct LabelArg {
    /// The label name, unraw'd.
    pub(crate) name: String,
    /// The key as the user wrote it (an identifier or a string literal).
    pub(crate) key: TokenStream,
    /// Evaluated at function entry.
    pub(crate) value: Expr,
}

impl Parse for LabelArg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let (name, key) = if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            (lit.value(), lit.into_token_stream())
        } else {
            let ident = input.call(syn::Ident::parse_any)?;
            (ident.unraw().to_string(), ident.into_token_stream())
        };
        input.parse::<Token![=]>()?;
        let value = input.parse()?;
        Ok(LabelArg { name, key, value })
    }
}

/// How a non-`Result` return value is classified.
pub(crate) enum Predicate {
    /// `ok_if = path`: `path(&result)` true means ok.
    OkIf(Path),
    /// `error_if = path`: `path(&result)` true means error.
    ErrorIf(Path),
}

impl Predicate {
    pub(crate) fn path(&self) -> &Path {
        match self {
            Predicate::OkIf(path) | Predicate::ErrorIf(path) => path,
        }
    }
}

const ARGUMENTS: &str =
    "`name`, `help`, `buckets`, `concurrency`, `labels`, `ok_if`, `error_if`, `crate`";

/// The arguments an attribute knows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Name,
    Help,
    Buckets,
    Concurrency,
    Labels,
    OkIf,
    ErrorIf,
    Crate,
}

impl Key {
    fn text(self) -> &'static str {
        match self {
            Key::Name => "name",
            Key::Help => "help",
            Key::Buckets => "buckets",
            Key::Concurrency => "concurrency",
            Key::Labels => "labels",
            Key::OkIf => "ok_if",
            Key::ErrorIf => "error_if",
            Key::Crate => "crate",
        }
    }

    fn of(text: &str) -> Option<Key> {
        Some(match text {
            "name" => Key::Name,
            "help" => Key::Help,
            "buckets" => Key::Buckets,
            "concurrency" => Key::Concurrency,
            "labels" => Key::Labels,
            "ok_if" => Key::OkIf,
            "error_if" => Key::ErrorIf,
            "crate" => Key::Crate,
            _ => return None,
        })
    }
}

/// Parses the attribute's argument tokens. A syntax error is returned at
/// once; every other problem is recorded in `cx` and the argument skipped.
pub(crate) fn parse(cx: &mut Ctxt, kind: Kind, tokens: TokenStream) -> syn::Result<Args> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens)?;
    let mut args = Args::default();
    let mut seen: Vec<Key> = Vec::new();
    // An unknown argument may be a misspelt `name`.
    let mut unknown = false;
    for meta in metas {
        let Some(key) = known_key(cx, &meta) else {
            unknown = true;
            continue;
        };
        if seen.contains(&key) {
            duplicate(cx, key, &meta, &args);
            continue;
        }
        seen.push(key);
        apply(cx, kind, key, &meta, &mut args);
    }
    // Only when `name` is absent: an invalid or misspelt one has its own error.
    let name_absent = !unknown && !seen.contains(&Key::Name);
    if let (Some(help), true) = (&args.help, name_absent) {
        cx.error_spanned_by(
            help,
            "`help` sets the HELP of the function's own series, so it needs `name = \"...\"`; \
             the shared `function_calls_*` series keep their own HELP",
        );
    }
    Ok(args)
}

/// The argument `meta` gives, or `None` (an error recorded) for one the
/// attribute does not know.
fn known_key(cx: &mut Ctxt, meta: &Meta) -> Option<Key> {
    let path = meta.path();
    let text = match path.get_ident() {
        Some(ident) => ident.unraw().to_string(),
        None => path_text(path),
    };
    let key = path.get_ident().and(Key::of(&text));
    if key.is_none() {
        cx.error_spanned_by(
            path,
            format!("unknown argument `{text}`; expected one of {ARGUMENTS}"),
        );
    }
    key
}

/// Records the error of an argument given twice (or of both forms of
/// `labels`).
fn duplicate(cx: &mut Ctxt, key: Key, meta: &Meta, args: &Args) {
    let mixed = key == Key::Labels
        && match meta {
            Meta::NameValue(_) => !args.labels.is_empty(),
            Meta::List(_) => args.label_set.is_some(),
            Meta::Path(_) => false,
        };
    let message = if mixed {
        "`labels = expr` and `labels(key = expr, ...)` cannot be used together: put every label in the label set, or list them all in `labels(..)`"
            .to_owned()
    } else {
        format!(
            "duplicate argument `{}`: each argument may appear once",
            key.text()
        )
    };
    cx.error_spanned_by(meta.path(), message);
}

/// Checks the argument `meta` (of key `key`) and sets it in `args`.
fn apply(cx: &mut Ctxt, kind: Kind, key: Key, meta: &Meta, args: &mut Args) {
    match key {
        Key::Name => {
            if let Some(lit) = string_value(cx, meta, "name = \"my_series\"") {
                match names::check_series_name(&lit.value()) {
                    Ok(()) => args.name = Some(lit),
                    Err(message) => cx.error_spanned_by(&lit, message),
                }
            }
        }
        Key::Help => args.help = string_value(cx, meta, "help = \"what the function does\""),
        Key::Buckets => {
            if let Some(value) = name_value(cx, meta, "buckets = [0.005, 0.05, 0.5]") {
                args.buckets = buckets(cx, value);
            }
        }
        Key::Concurrency => {
            if let Meta::Path(_) = meta {
                args.concurrency = true;
            } else {
                cx.error_spanned_by(
                    meta,
                    "`concurrency` is a flag and takes no value: write `concurrency`",
                );
            }
        }
        Key::Labels => match meta {
            Meta::List(list) => args.labels = labels(cx, list),
            Meta::NameValue(nv) => args.label_set = Some(nv.value.clone()),
            Meta::Path(_) => cx.error_spanned_by(
                meta,
                "`labels` needs a value: `labels = expr` with a label set, or `labels(key = expr, ...)`",
            ),
        },
        Key::OkIf | Key::ErrorIf => predicate(cx, kind, key, meta, args),
        Key::Crate => {
            let Some(value) = name_value(cx, meta, "crate = path::to::telltale") else {
                return;
            };
            match expr_path(value) {
                Some(krate) => args.krate = Some(krate),
                None => cx.error_spanned_by(
                    value,
                    "`crate` expects the path of the telltale crate, for example `crate = my_metrics::telltale`",
                ),
            }
        }
    }
}

/// Checks `ok_if = path` or `error_if = path` and sets it.
fn predicate(cx: &mut Ctxt, kind: Kind, key: Key, meta: &Meta, args: &mut Args) {
    let ok_if = key == Key::OkIf;
    let key = key.text();
    let path = meta.path();
    if kind == Kind::Timed {
        cx.error_spanned_by(
            path,
            format!("`{key}` only applies to #[tracked]: #[timed] records durations, not outcomes"),
        );
        return;
    }
    let example = format!("{key} = Option::is_some");
    let Some(value) = name_value(cx, meta, &example) else {
        return;
    };
    let Some(pred_path) = expr_path(value) else {
        cx.error_spanned_by(
            value,
            format!(
                "`{key}` expects the path of a function `fn(&R) -> bool`, for example `{example}`"
            ),
        );
        return;
    };
    if args.predicate.is_some() {
        cx.error_spanned_by(
            path,
            "`ok_if` and `error_if` cannot be used together: give one of them",
        );
        return;
    }
    args.predicate = Some(if ok_if {
        Predicate::OkIf(pred_path)
    } else {
        Predicate::ErrorIf(pred_path)
    });
}

fn path_text(path: &Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

/// The value of `key = value`, or an error saying how to write it.
fn name_value<'a>(cx: &mut Ctxt, meta: &'a Meta, example: &str) -> Option<&'a Expr> {
    if let Meta::NameValue(nv) = meta {
        Some(&nv.value)
    } else {
        let key = path_text(meta.path());
        cx.error_spanned_by(meta, format!("`{key}` needs a value: write `{example}`"));
        None
    }
}

fn string_value(cx: &mut Ctxt, meta: &Meta, example: &str) -> Option<LitStr> {
    let value = name_value(cx, meta, example)?;
    if let Expr::Lit(ExprLit {
        lit: Lit::Str(lit), ..
    }) = value
    {
        Some(lit.clone())
    } else {
        cx.error_spanned_by(value, format!("expected a string literal: `{example}`"));
        None
    }
}

/// A plain path expression (no `<T as Trait>::` qualifier).
fn expr_path(value: &Expr) -> Option<Path> {
    match value {
        Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => Some(p.path.clone()),
        _ => None,
    }
}

fn buckets(cx: &mut Ctxt, value: &Expr) -> Vec<f64> {
    let Expr::Array(array) = value else {
        cx.error_spanned_by(
            value,
            "expected an array of bucket bounds in seconds: `buckets = [0.005, 0.05, 0.5]`",
        );
        return Vec::new();
    };
    if array.elems.is_empty() {
        cx.error_spanned_by(array, "`buckets` needs at least one bound");
        return Vec::new();
    }
    let mut bounds: Vec<f64> = Vec::new();
    for elem in &array.elems {
        let parsed = match elem {
            Expr::Lit(ExprLit {
                lit: Lit::Float(f), ..
            }) => f.base10_parse::<f64>(),
            Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            }) => i.base10_parse::<f64>(),
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => {
                cx.error_spanned_by(
                    elem,
                    "bucket bounds are durations in seconds and must be greater than zero",
                );
                return Vec::new();
            }
            _ => {
                cx.error_spanned_by(
                    elem,
                    "expected a number literal (seconds), like `0.25` or `1`",
                );
                return Vec::new();
            }
        };
        let bound = match parsed {
            Ok(bound) => bound,
            Err(error) => {
                cx.push(error);
                return Vec::new();
            }
        };
        if !bound.is_finite() {
            cx.error_spanned_by(
                elem,
                "bucket bounds must be finite (the `+Inf` bucket is always added)",
            );
            return Vec::new();
        }
        if bound <= 0.0 {
            cx.error_spanned_by(
                elem,
                "bucket bounds are durations in seconds and must be greater than zero",
            );
            return Vec::new();
        }
        if let Some(&prev) = bounds.last() {
            if bound <= prev {
                cx.error_spanned_by(
                    elem,
                    format!(
                        "bucket bounds must be strictly increasing: {bound} comes after {prev}"
                    ),
                );
                return Vec::new();
            }
        }
        bounds.push(bound);
    }
    bounds
}

fn labels(cx: &mut Ctxt, list: &syn::MetaList) -> Vec<LabelArg> {
    let parsed = match list.parse_args_with(Punctuated::<LabelArg, Token![,]>::parse_terminated) {
        Ok(parsed) => parsed,
        Err(error) => {
            cx.push(error);
            return Vec::new();
        }
    };
    if parsed.is_empty() {
        cx.error_spanned_by(list, "`labels(..)` needs at least one `key = expr`");
        return Vec::new();
    }
    let mut labels: Vec<LabelArg> = Vec::new();
    for label in parsed {
        if let Err(message) = names::check_label_name(&label.name) {
            cx.error_spanned_by(&label.key, message);
        } else if labels.iter().any(|l| l.name == label.name) {
            cx.error_spanned_by(&label.key, format!("duplicate label `{}`", label.name));
        } else {
            labels.push(label);
        }
    }
    labels
}
