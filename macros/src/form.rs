//! How an instrumented function's body is wrapped: the one fact that both
//! validation (`item`) and expansion (`instrument`) need, kept apart so that
//! neither imports the other.

use syn::{Attribute, Block, Expr, ExprAsync, ReturnType, Signature, Stmt, Type};

use crate::args::Kind;
use crate::exits;

/// How an instrumented function's body is wrapped.
#[derive(Clone, Copy)]
pub(crate) enum Form<'a> {
    /// An `async fn`: the body becomes an `async` block.
    Async,
    /// An `async_trait` method: the boxed future is instrumented.
    Boxed(&'a [Stmt], BoxedAsync<'a>),
    /// `#[timed]`, or a function returning `!`: only the guard, no result
    /// to classify.
    GuardOnly,
    /// `#[tracked]` with `#[track_caller]` on a body that can only end at its
    /// tail: the body runs in the function's own frame.
    Inline,
    /// `#[tracked]` otherwise: the body runs in a closure, which sees every
    /// exit (`return`, `?`, whatever a macro expands to).
    Closure,
}

/// The one decision of how a body is wrapped, for the expansion and for the
/// check that refuses a `#[track_caller]` the closure would hide.
pub(crate) fn form<'a>(
    kind: Kind,
    attrs: &[Attribute],
    sig: &Signature,
    block: &'a Block,
) -> Form<'a> {
    if sig.asyncness.is_some() {
        return Form::Async;
    }
    if let Some((prefix, boxed)) = boxed_async_block(block) {
        return Form::Boxed(prefix, boxed);
    }
    if kind == Kind::Timed || returns_never(sig) {
        return Form::GuardOnly;
    }
    if has_track_caller(attrs) && !exits::can_exit_early(block) {
        Form::Inline
    } else {
        Form::Closure
    }
}

/// `-> !`: the function never returns a value to classify.
fn returns_never(sig: &Signature) -> bool {
    matches!(&sig.output, ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)))
}

/// `#[track_caller]` among the function's own attributes (one inherited from
/// a trait's declaration is not visible here).
pub(crate) fn has_track_caller(attrs: &[Attribute]) -> bool {
    attrs
        .iter()
        .any(|attr| attr.path().is_ident("track_caller"))
}

#[derive(Clone, Copy)]
pub(crate) struct BoxedAsync<'a> {
    /// `Box::pin` as written.
    pub(crate) func: &'a Expr,
    pub(crate) future: &'a ExprAsync,
}

/// Splits a body ending in `Box::pin(async move { .. })` (what `async_trait`
/// generates) into the statements before it and that call.
fn boxed_async_block(block: &Block) -> Option<(&[Stmt], BoxedAsync<'_>)> {
    let (last, prefix) = block.stmts.split_last()?;
    let Stmt::Expr(Expr::Call(call), None) = last else {
        return None;
    };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    let mut segments = func.path.segments.iter().rev();
    let is_box_pin = segments
        .next()
        .is_some_and(|s| s.ident == "pin" && s.arguments.is_none())
        && segments.next().is_some_and(|s| s.ident == "Box");
    if !is_box_pin || call.args.len() != 1 {
        return None;
    }
    let Some(Expr::Async(future)) = call.args.first() else {
        return None;
    };
    future.capture?;
    Some((
        prefix,
        BoxedAsync {
            func: &call.func,
            future,
        },
    ))
}
