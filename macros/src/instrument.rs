//! Expansion of `#[timed]` and `#[tracked]`: turns checked input into code.
//! Nothing here reports errors; `args` and `item` did the checking.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::visit_mut::VisitMut;
use syn::{
    Attribute, Block, Expr, GenericArgument, Ident, ImplItem, LitStr, PathArguments, ReturnType,
    Signature, Stmt, Type, TypeParamBound,
};

use crate::args::{self, Args, Kind, Predicate};
use crate::ctxt::Ctxt;
use crate::form::{self, BoxedAsync, Form};
use crate::item::{self, Input};

/// Entry point of both attributes.
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut cx = Ctxt::new();
    let args = match args::parse(&mut cx, kind, args) {
        Ok(args) => Some(args),
        Err(error) => {
            cx.push(error);
            None
        }
    };
    let input = item::parse(&mut cx, kind, item.clone());
    if let (Some(args), Some(input)) = (&args, &input) {
        if kind == Kind::Tracked && args.predicate.is_none() {
            item::check_option_returns(&mut cx, input);
        }
    }
    match (cx.check(), args, input) {
        (Ok(()), Some(args), Some(input)) => Expander::new(kind, &args).input(input),
        (Err(errors), ..) => {
            // The item unchanged beside the errors: one mistake, one error.
            let errors = errors.to_compile_error();
            quote!(#errors #item)
        }
        (Ok(()), ..) => item,
    }
}

struct Expander<'a> {
    kind: Kind,
    args: &'a Args,
    /// `::telltale` or the path given with `crate = ..`.
    krate: TokenStream,
    /// The local alias of `<krate>::__private` every expansion imports.
    private: Ident,
    callsite: Ident,
    guard: Ident,
    result: Ident,
}

/// The location of `tokens` with the hygiene of the macro's own code, for
/// generated code that may fail to type-check because of the user's tokens:
/// the error points at them, but lints treat the code as the macro's.
pub(crate) fn at(tokens: &dyn quote::ToTokens) -> Span {
    tokens
        .to_token_stream()
        .into_iter()
        .next()
        .map_or_else(Span::mixed_site, |tt| {
            tt.span().resolved_at(Span::mixed_site())
        })
}

impl<'a> Expander<'a> {
    fn new(kind: Kind, args: &'a Args) -> Self {
        let site = Span::mixed_site();
        let krate = args.krate.as_ref().map_or_else(
            || quote_spanned!(site=> ::telltale),
            ToTokens::to_token_stream,
        );
        Expander {
            kind,
            args,
            krate,
            private: Ident::new("__telltale_private", site),
            callsite: Ident::new("__TELLTALE_CALLSITE", site),
            guard: Ident::new("__telltale_guard", site),
            result: Ident::new("__telltale_result", site),
        }
    }

    fn input(&self, input: Input) -> TokenStream {
        match input {
            Input::Fn(mut item) => {
                let function = item.sig.ident.unraw().to_string();
                let docs = doc_comment(&item.attrs);
                let body = self.body(&docs, &item.attrs, &item.sig, &item.block, &function, None);
                replace_body(&mut item.block, body);
                item.into_token_stream()
            }
            Input::Impl(mut block) => {
                let impl_docs = doc_comment(&block.item.attrs);
                for impl_item in &mut block.item.items {
                    let ImplItem::Fn(method) = impl_item else {
                        continue;
                    };
                    if item::is_skipped(&method.attrs) {
                        method.attrs.retain(|attr| !item::is_skip_attr(attr));
                        continue;
                    }
                    let function = format!("{}::{}", block.self_name, method.sig.ident.unraw());
                    // A method with its own attribute: its own arguments and
                    // doc comment, with the impl's name for it.
                    let own = if item::has_own_attr(&method.attrs) {
                        let Some((index, kind, args)) = item::own_method_args(method) else {
                            continue;
                        };
                        method.attrs.remove(index);
                        Some((kind, args, doc_comment(&method.attrs)))
                    } else {
                        None
                    };
                    let own_expander = own
                        .as_ref()
                        .map(|(kind, args, _)| Expander::new(*kind, args));
                    let (expander, docs) = match (&own_expander, &own) {
                        (Some(e), Some((_, _, docs))) => (e, docs),
                        _ => (self, &impl_docs),
                    };
                    let body = expander.body(
                        docs,
                        &method.attrs,
                        &method.sig,
                        &method.block,
                        &function,
                        Some(&block.item.generics),
                    );
                    replace_body(&mut method.block, body);
                }
                block.item.into_token_stream()
            }
        }
    }

    /// The new body of one function; `docs` is the HELP of an own series
    /// without `help = ..` (the impl block's doc comment for its methods).
    fn body(
        &self,
        docs: &str,
        attrs: &[Attribute],
        sig: &Signature,
        block: &Block,
        function: &str,
        outer: Option<&syn::Generics>,
    ) -> TokenStream {
        let form = form::form(self.kind, attrs, sig, block);
        let errors = self.errors(sig, outer, matches!(form, Form::Boxed(..)));
        let header = self.header(docs, function, &errors);
        match form {
            Form::Async => self.async_fn(&header, sig, block),
            Form::Boxed(prefix, boxed) => self.boxed_future(&header, sig, prefix, boxed),
            form @ (Form::GuardOnly | Form::Inline | Form::Closure) => {
                self.sync_fn(&header, form, sig, block)
            }
        }
    }

    /// `use <crate>::__private as __telltale_private;`, pointing at the
    /// user's `crate = path` when there is one.
    fn use_private(&self) -> TokenStream {
        let span = self
            .args
            .krate
            .as_ref()
            .map_or_else(Span::mixed_site, |k| at(k));
        let Expander { krate, private, .. } = self;
        quote_spanned!(span=> use #krate::__private as #private;)
    }

    /// The `use`, the callsite `static` and its registration. They go in a
    /// block of their own, so the user's body sees none of these names.
    fn header(&self, docs: &str, function: &str, errors: &TokenStream) -> TokenStream {
        let site = Span::mixed_site();
        let Expander {
            private: p,
            callsite,
            ..
        } = self;
        let args = self.args;
        let name = args
            .name
            .as_ref()
            .map_or_else(|| "function_calls".to_owned(), LitStr::value);
        let help = match (&args.help, &args.name) {
            (Some(help), _) => help.value(),
            (None, Some(_)) => docs.to_owned(),
            (None, None) => String::new(),
        };
        let tracked = self.kind == Kind::Tracked;
        let concurrency = args.concurrency;
        let buckets = args
            .buckets
            .iter()
            .map(|b| proc_macro2::Literal::f64_unsuffixed(*b));
        let label_names = args.labels.iter().map(|l| &l.name);
        let labeled = !args.labels.is_empty() || args.label_set.is_some();
        let use_private = self.use_private();
        quote_spanned! {site=>
            #use_private
            static #callsite: #p::Callsite = #p::Callsite::new(&#p::CallsiteMeta {
                name: #name,
                help: #help,
                function: #function,
                module: ::core::module_path!(),
                tracked: #tracked,
                concurrency: #concurrency,
                buckets: &[#(#buckets),*],
                label_names: &[#(#label_names),*],
                labeled: #labeled,
                errors: #errors,
            });
            #p::inventory::submit! { #p::Registration::callsite(&#callsite) }
        }
    }

    /// The `errors` of the callsite's metadata: a function naming the error
    /// kinds a `#[tracked]` function can report, so they are exported at zero
    /// from the start, or `None` when its error type cannot be named outside
    /// the function (it mentions `Self`, a generic parameter or a lifetime,
    /// or the return type is an alias of `Result`).
    fn errors(&self, sig: &Signature, outer: Option<&syn::Generics>, boxed: bool) -> TokenStream {
        let site = Span::mixed_site();
        let p = &self.private;
        let none = quote_spanned!(site=> ::core::option::Option::None);
        if self.kind != Kind::Tracked {
            return none;
        }
        if let Some(predicate) = &self.args.predicate {
            let kind = predicate
                .path()
                .segments
                .last()
                .map_or_else(String::new, |s| s.ident.unraw().to_string());
            return quote_spanned! {site=> ::core::option::Option::Some({
                fn __telltale_errors() -> #p::ErrorKind {
                    #p::ErrorKind::Label(#kind)
                }
                __telltale_errors
            })};
        }
        // The future's output where the boxed future is what is classified
        // (`async_trait`), else the return type.
        let classified = if boxed {
            future_output(sig)
        } else {
            return_type(sig)
        };
        let Some(error) = classified.and_then(|ty| result_error(&ty)) else {
            return none;
        };
        let mut params: Vec<String> = Vec::new();
        for generics in std::iter::once(&sig.generics).chain(outer) {
            for param in &generics.params {
                match param {
                    syn::GenericParam::Type(t) => params.push(t.ident.to_string()),
                    syn::GenericParam::Const(c) => params.push(c.ident.to_string()),
                    syn::GenericParam::Lifetime(_) => {}
                }
            }
        }
        if !nameable_outside(error.to_token_stream(), &params) {
            return none;
        }
        let use_private = self.use_private();
        quote_spanned! {site=> ::core::option::Option::Some({
            fn __telltale_errors() -> #p::ErrorKind {
                #use_private
                use #p::{ErrorsLabeled as _, ErrorsNamed as _};
                (&&#p::ErrorsOf::<#error>(::core::marker::PhantomData)).__telltale_errors()
            }
            __telltale_errors
        })}
    }

    /// `let __telltale_guard = { <header> __TELLTALE_CALLSITE.enter(..) };`
    fn enter(&self, header: &TokenStream) -> TokenStream {
        let site = Span::mixed_site();
        let Expander {
            private: p,
            callsite,
            guard,
            ..
        } = self;
        if let Some(set) = &self.args.label_set {
            // Spanned at the expression, so a value that is not a label set
            // is reported there.
            let labels = quote_spanned!(at(set)=> &(#set));
            return quote_spanned!(site=> let #guard = { #header #callsite.enter_set(#labels) };);
        }
        if self.args.labels.is_empty() {
            return quote_spanned!(site=> let #guard = { #header #callsite.enter() };);
        }
        let values = self.args.labels.iter().map(|label| {
            let value = &label.value;
            // Every token at the expression, so a missing `LabelValue` impl
            // is reported there and nowhere else.
            let p = Ident::new(&p.to_string(), at(value));
            quote_spanned! {at(value)=>
                ::core::convert::AsRef::<str>::as_ref(&#p::LabelValue::label_value(&(#value)))
            }
        });
        quote_spanned!(site=> let #guard = { #header #callsite.enter_labeled(&[#(#values),*]) };)
    }

    /// `__telltale_guard.finish(<outcome of __telltale_result>);`
    fn finish(&self) -> TokenStream {
        let site = Span::mixed_site();
        let Expander {
            private: p,
            guard,
            result,
            ..
        } = self;
        let use_private = self.use_private();
        let outcome = match &self.args.predicate {
            None => quote_spanned! {site=> {
                #use_private
                use #p::{ClassifyLabeled as _, ClassifyOther as _, ClassifyResult as _};
                (&&#p::Classify(&#result)).__telltale_outcome()
            }},
            Some(predicate) => {
                let path = predicate.path();
                let kind = path
                    .segments
                    .last()
                    .map_or_else(String::new, |s| s.ident.unraw().to_string());
                let error = quote_spanned!(site=> #p::Outcome::Error(#p::ErrorKind::Label(#kind)));
                let ok = quote_spanned!(site=> #p::Outcome::Ok);
                let (then, otherwise) = match predicate {
                    Predicate::OkIf(_) => (ok, error),
                    Predicate::ErrorIf(_) => (error, ok),
                };
                let result = Ident::new(&result.to_string(), at(path));
                let test = quote_spanned!(at(path)=> #path(&#result));
                quote_spanned!(site=> { #use_private if #test { #then } else { #otherwise } })
            }
        };
        quote_spanned!(site=> #guard.finish(#outcome);)
    }

    fn sync_fn(
        &self,
        header: &TokenStream,
        form: Form<'_>,
        sig: &Signature,
        block: &Block,
    ) -> TokenStream {
        let site = Span::mixed_site();
        let enter = self.enter(header);
        if matches!(form, Form::GuardOnly) {
            // The guard records the duration when it drops, on every exit
            // (a function returning `!` can only leave by unwinding, which
            // the guard counts as a panic). It is the body's first local, so
            // it drops last; the body's statements stay in the user's braces.
            let stmts = &block.stmts;
            return quote_spanned!(site=> #enter #(#stmts)*);
        }
        let Expander { result, .. } = self;
        let finish = self.finish();
        let annotation = result_annotation(sig);
        if matches!(form, Form::Inline) {
            // In the function's own frame, so `#[track_caller]` still
            // applies. The user's braces keep the tail-expression rules of
            // their edition.
            // A body that never ends (a `loop`, a panic) makes what follows
            // unreachable: that is the macro's code, not the user's, so the
            // lint is allowed on the first statement after it (the one the
            // lint would point at) and nowhere else.
            return quote_spanned! {site=>
                #enter
                let #result #annotation = #block;
                #[allow(unreachable_code)]
                let () = { #finish };
                #result
            };
        }
        let call = Ident::new("__telltale_call", site);
        let closure = return_type(sig).map_or_else(
            || quote_spanned!(site=> move || #block),
            |ty| quote_spanned!(site=> move || -> #ty #block),
        );
        // Passing the closure to an `FnOnce` parameter makes it an `FnOnce`
        // closure, so a body may return borrows of what it captured.
        quote_spanned! {site=>
            #[inline(always)]
            fn #call<R, F: ::core::ops::FnOnce() -> R>(__telltale_body: F) -> R {
                __telltale_body()
            }
            #enter
            let #result #annotation = #call(#closure);
            #finish
            #result
        }
    }

    fn async_fn(&self, header: &TokenStream, sig: &Signature, block: &Block) -> TokenStream {
        let site = Span::mixed_site();
        let enter = self.enter(header);
        if self.kind == Kind::Timed {
            let stmts = &block.stmts;
            return quote_spanned!(site=> #enter #(#stmts)*);
        }
        let Expander { result, .. } = self;
        let finish = self.finish();
        let ret = return_type(sig);
        let annotation = result_annotation(sig);
        // An early `return` of type R fixes the block's type, so `?` in the
        // body converts errors into the function's error type.
        let typed_return = ret.as_ref().map(|ty| {
            let value = Ident::new("__telltale_ret", site);
            quote_spanned! {site=>
                if let ::core::option::Option::Some(#value) = ::core::option::Option::None::<#ty> {
                    return #value;
                }
            }
        });
        // The body's statements go into the future's block, keeping the
        // user's braces, so no lint sees a block nested in a block.
        let mut body = block.clone();
        if let Some(typed_return) = typed_return {
            body.stmts
                .insert(0, Stmt::Expr(Expr::Verbatim(typed_return), None));
        }
        quote_spanned! {site=>
            #enter
            let #result #annotation = async move #body.await;
            #finish
            #result
        }
    }

    /// A function desugared by `async_trait`: its body ends in
    /// `Box::pin(async move { .. })`; the inner future is instrumented.
    fn boxed_future(
        &self,
        header: &TokenStream,
        sig: &Signature,
        prefix: &[Stmt],
        boxed: BoxedAsync<'_>,
    ) -> TokenStream {
        let site = Span::mixed_site();
        let enter = self.enter(header);
        let BoxedAsync { func, future } = boxed;
        let instrumented = if self.kind == Kind::Timed {
            let stmts = &future.block.stmts;
            let (attrs, async_token, capture) =
                (&future.attrs, &future.async_token, &future.capture);
            quote_spanned!(site=> #(#attrs)* #async_token #capture { #enter #(#stmts)* })
        } else {
            let Expander { result, .. } = self;
            let finish = self.finish();
            let annotation = future_output(sig).map(|ty| quote_spanned!(site=> : #ty));
            quote_spanned! {site=>
                async move {
                    #enter
                    let #result #annotation = #future.await;
                    #finish
                    #result
                }
            }
        };
        quote_spanned!(site=> #(#prefix)* #func(#instrumented))
    }
}

/// Replaces a block's statements with generated tokens, keeping its braces.
fn replace_body(block: &mut Block, body: TokenStream) {
    block.stmts = vec![Stmt::Expr(Expr::Verbatim(body), None)];
}

/// The doc comment, its lines trimmed and joined by spaces.
fn doc_comment(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        if let syn::Meta::NameValue(nv) = &attr.meta {
            if nv.path.is_ident("doc") {
                if let Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) = &nv.value
                {
                    let value = s.value();
                    lines.extend(
                        value
                            .lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .map(str::to_owned),
                    );
                }
            }
        }
    }
    lines.join(" ")
}

/// `: R` for the variable holding the body's value, `: ()` for a function
/// without a return type: a body that never ends (a `loop`) leaves the type
/// open otherwise, and classification would guess a `Result`.
fn result_annotation(sig: &Signature) -> TokenStream {
    let site = Span::mixed_site();
    return_type(sig).map_or_else(
        || quote_spanned!(site=> : ()),
        |ty| quote_spanned!(site=> : #ty),
    )
}

/// The declared return type, with every `impl Trait` replaced by `_` so it
/// can annotate a closure or a `let`; `None` for `()`.
fn return_type(sig: &Signature) -> Option<Type> {
    match &sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => {
            let mut ty = (**ty).clone();
            ImplTraitToInfer.visit_type_mut(&mut ty);
            Some(ty)
        }
    }
}

struct ImplTraitToInfer;

impl VisitMut for ImplTraitToInfer {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(it) = ty {
            *ty = Type::Infer(syn::TypeInfer {
                underscore_token: syn::Token![_](it.span()),
            });
            return;
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }
}

/// `E` of a return type written `Result<T, E>` (any path ending in `Result`
/// with two type arguments).
fn result_error(ty: &Type) -> Option<Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let types: Vec<&Type> = args
        .args
        .iter()
        .filter_map(|a| match a {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .collect();
    match types.as_slice() {
        [_, error] => Some((*error).clone()),
        _ => None,
    }
}

/// Whether a type written with these tokens can be named in an item of its
/// own: no `Self`, no `_`, no `impl`, no lifetime, no generic parameter.
fn nameable_outside(tokens: TokenStream, params: &[String]) -> bool {
    tokens.into_iter().all(|tt| match tt {
        proc_macro2::TokenTree::Ident(i) => {
            let i = i.to_string();
            i != "Self" && i != "impl" && i != "_" && !params.contains(&i)
        }
        proc_macro2::TokenTree::Punct(p) => p.as_char() != '\'' && p.as_char() != '_',
        proc_macro2::TokenTree::Group(g) => nameable_outside(g.stream(), params),
        proc_macro2::TokenTree::Literal(_) => true,
    })
}

/// `R` of a `Pin<Box<dyn Future<Output = R> + ..>>` return type.
fn future_output(sig: &Signature) -> Option<Type> {
    let ReturnType::Type(_, ty) = &sig.output else {
        return None;
    };
    let mut found = None;
    find_output(ty, &mut found);
    let mut ty = found?;
    ImplTraitToInfer.visit_type_mut(&mut ty);
    Some(ty)
}

fn find_output(ty: &Type, found: &mut Option<Type>) {
    match ty {
        Type::Path(p) => {
            for segment in &p.path.segments {
                if let PathArguments::AngleBracketed(args) = &segment.arguments {
                    for arg in &args.args {
                        if let GenericArgument::Type(inner) = arg {
                            find_output(inner, found);
                        }
                    }
                }
            }
        }
        Type::TraitObject(object) => {
            for bound in &object.bounds {
                let TypeParamBound::Trait(bound) = bound else {
                    continue;
                };
                let Some(last) = bound.path.segments.last() else {
                    continue;
                };
                if last.ident != "Future" {
                    continue;
                }
                if let PathArguments::AngleBracketed(args) = &last.arguments {
                    for arg in &args.args {
                        if let GenericArgument::AssocType(assoc) = arg {
                            if assoc.ident == "Output" {
                                *found = Some(assoc.ty.clone());
                            }
                        }
                    }
                }
            }
        }
        Type::Group(g) => find_output(&g.elem, found),
        Type::Paren(p) => find_output(&p.elem, found),
        _ => {}
    }
}
