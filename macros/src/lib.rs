//! Procedural macros of [telltale](https://docs.rs/telltale): `#[timed]`,
//! `#[tracked]`, `#[telltale::skip]`, `#[derive(LabelValue)]` and
//! `#[derive(LabelSet)]`.
//!
//! Use them through the `telltale` crate, which re-exports them; the code they
//! generate names only `telltale::__private` and `::core`, whose items are not
//! a public API. This crate only dispatches: `args`, `item` and `attr` read and
//! check the input, `instrument`, `label_value` and `label_set` generate code.

mod args;
mod attr;
mod case;
mod ctxt;
mod exits;
mod form;
mod instrument;
mod item;
mod label_set;
mod label_value;
mod names;

use proc_macro::TokenStream;

/// Records the duration of every call of a function, or of every method of
/// an `impl` block, in the `function_calls_duration_seconds` histogram
/// (labels `function` and `module`).
///
/// ```
/// use telltale::timed;
///
/// #[timed]
/// fn render(page: &str) -> String {
///     page.to_uppercase()
/// }
///
/// #[timed(concurrency, buckets = [0.001, 0.01, 0.1])]
/// async fn flush() {}
/// # assert_eq!(render("a"), "A");
/// ```
///
/// # Where it goes
///
/// On a free function, a method, an `async fn`, a generic function, or an
/// `impl` block (inherent or of a trait), where it instruments every method
/// and reports each as `Type::method`; mark a method `#[telltale::skip]` to
/// leave it alone. With `async_trait`, put it above or below
/// `#[async_trait]`, or on single methods. Not on a `const fn`, a function
/// without a body, an `extern` block or anything that is not a function.
///
/// # Arguments
///
/// All optional, each at most once:
///
/// | argument | meaning |
/// |---|---|
/// | `name = "render"` | own series `render_duration_seconds` (and `render_concurrent`) instead of the shared `function_calls_*`; the function's doc comment becomes their HELP |
/// | `help = "..."` | with `name`: HELP of the own series, instead of the doc comment |
/// | `buckets = [0.01, 0.1, 1]` | classic `le` bounds, in seconds: positive, finite, strictly increasing |
/// | `concurrency` | also keep a gauge of the calls in flight (`function_calls_concurrent`) |
/// | `labels(key = expr, ...)` | labels computed on each call from the arguments; each `expr` is a `telltale::LabelValue` (a derived enum, `str`, `String`, `bool`, an integer) |
/// | `labels = expr` | instead of `labels(..)`: `expr`, computed on each call from the arguments, is a `telltale::LabelSet` (a struct deriving it) whose labels follow `function` and `module` |
/// | `crate = path` | the path of the runtime when it is renamed or re-exported (default `::telltale`) |
///
/// Series names match `[a-zA-Z_:][a-zA-Z0-9_:]*` without a `__` prefix or a
/// `_total` suffix; label keys match `[a-zA-Z_][a-zA-Z0-9_]*`, without a
/// `__` prefix, and are not `le`, `quantile`, `function`, `module`, `result`
/// or `error`. Every misuse is a compile error pointing at the argument.
///
/// With `labels = expr` the expression is evaluated once, when the call
/// starts, and may move the arguments it names: build the set from `Copy`
/// values (derived enums, `bool`, integers) or borrow (`&str` fields). The
/// label names of a set are checked by its derive; one that clashes with
/// `function`, `module`, `result` or `error` is exported with the prefix
/// `exported_`.
///
/// ```
/// use telltale::{timed, LabelSet, LabelValue};
///
/// #[derive(Clone, Copy, LabelValue)]
/// enum Method {
///     Get,
///     Post,
/// }
///
/// #[derive(LabelSet)]
/// struct Route<'a> {
///     method: Method,
///     path: &'a str,
/// }
///
/// #[timed(labels = Route { method, path })]
/// fn serve(method: Method, path: &str) -> usize {
///     path.len()
/// }
/// # assert_eq!(serve(Method::Get, "/"), 1);
/// ```
///
/// # What it generates
///
/// At the top of the body, a block holding a `static` callsite and its
/// `inventory` registration (so the series exists at zero before the first
/// call) creates a guard; the guard records the duration when it drops, on
/// every way out of the function, panics included. An `async fn` stays an
/// `async fn`; its duration runs from the first poll to completion or drop.
#[proc_macro_attribute]
pub fn timed(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument::expand(args::Kind::Timed, args.into(), item.into()).into()
}

/// Records the outcome and the duration of every call of a function, or of
/// every method of an `impl` block: `function_calls_total` by `result` and
/// `error`, and the `function_calls_duration_seconds` histogram.
///
/// ```
/// use telltale::{tracked, LabelValue};
///
/// #[derive(Debug, LabelValue)]
/// enum FetchError {
///     Timeout,
///     NotFound,
/// }
///
/// /// Fetches one page.
/// #[tracked]
/// async fn fetch(url: &str) -> Result<String, FetchError> {
///     if url.is_empty() {
///         return Err(FetchError::NotFound); // error="not_found"
///     }
///     Ok(url.to_owned())
/// }
///
/// #[tracked]
/// fn parse(input: &str) -> Result<u32, std::num::ParseIntError> {
///     let n: u32 = input.parse()?; // error="ParseIntError"
///     Ok(n)
/// }
///
/// #[tracked(error_if = Option::is_none)]
/// fn lookup(key: u32) -> Option<u32> {
///     key.checked_sub(1)
/// }
/// # assert!(parse("x").is_err());
/// # assert_eq!(lookup(0), None);
/// ```
///
/// # Outcomes
///
/// - `Ok(_)` → `result="ok", error=""`.
/// - `Err(e)` → `result="error"`, and `error` is `e`'s label value when its
///   type derives `LabelValue` (`error="not_found"`), otherwise the short
///   name of its type (`ParseIntError`, `io::Error`). The choice is made at
///   compile time; nothing is looked up at run time.
/// - Any other return type → `result="ok"`, unless `ok_if = path` or
///   `error_if = path` names a `fn(&R) -> bool`: then a failed call is
///   `result="error"` with the predicate's name as `error` (`is_none`).
/// - `Option<_>` needs one of them: without it, `#[tracked]` is a compile
///   error at the return type suggesting `error_if = Option::is_none`
///   (whether a `None` is a failure is the function's to say). An alias of
///   `Option` is not recognised and counts as any other type.
/// - A panic passing through → `result="error", error="panic"`; the panic
///   continues unchanged.
/// - An `async fn` whose future is dropped before it completes (after its
///   first poll) → `result="cancelled"`.
///
/// Early `return` and `?` are counted with the value they return.
///
/// # Arguments
///
/// Those of [`macro@timed`], plus `ok_if = path` or `error_if = path` (one of
/// them, a path to a function, not a closure). With `name = "fetch"` the
/// series are `fetch_total` and `fetch_duration_seconds`.
///
/// # What it generates
///
/// As for [`macro@timed`], then the body runs in a closure (an `async`
/// block for an `async fn`, the boxed future for `async_trait`) whose result
/// is classified and handed to the guard before it is returned, so that early
/// `return`s and `?`s are classified too.
///
/// On a sync function with `#[track_caller]`, the closure would hide the
/// caller's location, so the body runs inline in the function's own frame
/// instead. That needs a body that can only end at its tail: no `return`, no
/// `?`, and no macro call other than the standard library's (`format!`,
/// `assert!`, ...), since another macro may expand to either. Anything else
/// is a compile error pointing at `#[track_caller]`. A `#[track_caller]`
/// inherited from a trait's declaration is invisible to the macro: repeat it
/// on the method. A standard macro's name taken over by a macro defined
/// elsewhere in the module is not seen either. Arguments the inline body does
/// not move out are dropped after the call is recorded.
#[proc_macro_attribute]
pub fn tracked(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument::expand(args::Kind::Tracked, args.into(), item.into()).into()
}

/// Leaves one method of a `#[timed]` or `#[tracked]` `impl` block
/// uninstrumented. The attribute is removed by the block's macro; on its own
/// it does nothing.
///
/// ```
/// struct Cache;
///
/// #[telltale::tracked]
/// impl Cache {
///     fn load(&self) -> Result<u8, std::io::Error> {
///         Ok(self.peek())
///     }
///
///     #[telltale::skip]
///     fn peek(&self) -> u8 {
///         0
///     }
/// }
/// # assert_eq!(Cache.load().unwrap(), 0);
/// ```
///
/// Any path-only attribute ending in `skip` counts (`#[skip]` after
/// `use telltale::skip`, `#[tt::skip]` with a renamed import), except
/// `#[rustfmt::skip]`.
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

/// Makes each variant of an enum a static label value, for the `error` label
/// of `#[tracked]`, for `labels(..)` and for the fields of a label set.
///
/// ```
/// use telltale::{BoundedLabelValue, LabelValue};
///
/// #[derive(Debug, LabelValue)]
/// enum FetchError {
///     Timeout,                    // "timeout"
///     NotFound { path: String },  // "not_found"
///     Io(std::io::Error),         // "io"
///     HTTPError,                  // "http_error"
///     #[label(rename = "tls")]
///     TlsHandshake,               // "tls"
/// }
///
/// #[derive(LabelValue)]
/// #[label(rename_all = "kebab-case")]
/// enum Method {
///     Get,                        // "get"
///     MustRevalidate,             // "must-revalidate"
/// }
///
/// assert_eq!(&*FetchError::HTTPError.label_value(), "http_error");
/// assert_eq!(Method::VALUES, ["get", "must-revalidate"]);
/// ```
///
/// Unit, tuple and struct variants are all one value each, whatever their
/// fields hold. Values are the variant names in `snake_case` unless
/// `#[label(rename_all = "..")]` on the enum says `kebab-case`, `lowercase`,
/// `UPPERCASE`, `SCREAMING_SNAKE_CASE`, `SCREAMING-KEBAB-CASE`, `camelCase`
/// or `PascalCase`; `#[label(rename = "..")]` on a variant sets its value.
/// Words split at case changes, with acronyms kept whole (`HTTPError` →
/// `http_error`). `#[label(crate = path)]` names a renamed runtime.
///
/// It generates `LabelValue` (no allocation, no lookup: a `match` returning
/// a `&'static str`; its `BOUNDED` table and `bounded_index` make the enum a
/// bounded label of a [`LabelSet`](derive@LabelSet)) and `BoundedLabelValue`
/// (the value table and the variant's index). Generic enums get both impls
/// for all their parameters.
///
/// Structs, unions, enums without variants and two variants with the same
/// value are compile errors.
#[proc_macro_derive(LabelValue, attributes(label))]
pub fn derive_label_value(input: TokenStream) -> TokenStream {
    label_value::derive(input.into()).into()
}

/// Makes a struct a set of labels: each field is one label, named after the
/// field, whose value is the field's [`LabelValue`](derive@LabelValue).
/// Use it to key a `telltale::Family`, or as the labels of an instrumented
/// function with `#[timed(labels = expr)]` / `#[tracked(labels = expr)]`.
///
/// ```
/// use telltale::{LabelSet, LabelValue};
///
/// #[derive(Clone, Copy, LabelValue)]
/// enum Method {
///     Get,
///     Post,
///     Put,
/// }
///
/// #[derive(Clone, Copy, LabelValue)]
/// enum Status {
///     Ok,
///     Error,
/// }
///
/// #[derive(LabelSet)]
/// struct Http {
///     method: Method,
///     #[label(rename = "status_class")]
///     status: Status,
/// }
///
/// #[derive(LabelSet)]
/// struct Request<'a> {
///     #[label(flatten)]
///     http: Http,
///     r#type: &'a str,    // label `type`
///     #[label(skip)]
///     started: std::time::Instant,
/// }
///
/// let mut names = Vec::new();
/// Request::names(&mut names);
/// assert_eq!(names, ["method", "status_class", "type"]);
///
/// // Every field of `Http` is bounded: 3 × 2 label sets, each with its own
/// // index, the first field the most significant digit.
/// assert_eq!(Http::CARDINALITY, Some(6));
/// assert_eq!(Http { method: Method::Put, status: Status::Error }.index(), 2 * 2 + 1);
/// // A `&str` can take any value: `Request` has no known cardinality.
/// assert_eq!(Request::CARDINALITY, None);
///
/// let request = Request {
///     http: Http { method: Method::Post, status: Status::Ok },
///     r#type: "api",
///     started: std::time::Instant::now(),
/// };
/// let mut values = Vec::new();
/// request.visit(&mut |v| values.push(v.to_owned()));
/// assert_eq!(values, ["post", "ok", "api"]);
/// ```
///
/// # Fields
///
/// - A plain field is one label. Its type implements `LabelValue`: a derived
///   enum, `bool`, an integer, `&str`, `String`, `Cow<str>`. The label name
///   is the field name, with `r#` removed.
/// - `#[label(rename = "name")]` gives the label another name.
/// - `#[label(skip)]` leaves the field out.
/// - `#[label(flatten)]` splices in the labels of a field whose type is
///   itself a `LabelSet`, at the field's position.
///
/// `#[label(crate = path)]` on the struct names a renamed runtime.
///
/// # Cardinality
///
/// When every label is bounded (derived enums, `bool`, flattened sets made
/// of those), `CARDINALITY` is the product of the fields' numbers of values
/// and `index` is the set's mixed-radix number in `0..CARDINALITY`, the
/// first field the most significant digit: a family keyed by the set is a
/// dense array, looked up without hashing. Otherwise `CARDINALITY` is `None`.
///
/// # Checks
///
/// Label names match `[a-zA-Z_][a-zA-Z0-9_]*`, do not start with `__`, are
/// not `le` or `quantile` (which the exposition formats use) and are unique
/// within the struct; each mistake is a compile error at the field or the
/// `rename` string. A name a flattened set repeats can only be seen at run
/// time, where the repeat is exported with the prefix `exported_`. Tuple structs, unit structs, enums and unions
/// are compile errors, as are unknown `label(..)` keys and `flatten` with
/// `rename`. Generic structs are supported: each field whose type involves a
/// type parameter gets the bound it needs.
#[proc_macro_derive(LabelSet, attributes(label))]
pub fn derive_label_set(input: TokenStream) -> TokenStream {
    label_set::derive(input.into()).into()
}
