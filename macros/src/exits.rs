//! Whether a function body can leave early, for `#[tracked]` on a sync
//! `#[track_caller]` function.
//!
//! `#[tracked]` runs a sync body in a closure, so that the value of an early
//! `return` or `?` is classified too. Inside that closure the caller's
//! location is lost, so a `#[track_caller]` function whose body can only end
//! by reaching its tail (or by panicking) is expanded inline instead,
//! `let result = { body };`, in the function's own frame; one whose body can
//! leave early is a compile error. The check errs towards "can leave early":
//! a macro it does not know may expand to a `return`.

use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::visit::Visit;
use syn::{Block, ExprAsync, ExprClosure, ExprReturn, ExprTry, Item, Macro};

/// `true` when `block` has, or may have, an exit of its own besides its tail
/// expression: a `return` or a `?` outside nested closures, async blocks and
/// items, or a macro call that may expand to one.
pub(crate) fn can_exit_early(block: &Block) -> bool {
    let mut exits = Exits(false);
    exits.visit_block(block);
    exits.0
}

struct Exits(bool);

impl<'ast> Visit<'ast> for Exits {
    fn visit_expr_return(&mut self, _: &'ast ExprReturn) {
        self.0 = true;
    }

    fn visit_expr_try(&mut self, _: &'ast ExprTry) {
        self.0 = true;
    }

    // Their `return` and `?` leave them, not the function.
    fn visit_expr_closure(&mut self, _: &'ast ExprClosure) {}

    fn visit_expr_async(&mut self, _: &'ast ExprAsync) {}

    // Their exits are theirs; but a macro defined or imported in the body
    // may take the name of a standard one.
    fn visit_item(&mut self, item: &'ast Item) {
        if matches!(item, Item::Macro(_) | Item::Use(_)) {
            self.0 = true;
        }
    }

    fn visit_macro(&mut self, mac: &'ast Macro) {
        if !never_returns_itself(mac) || has_exit_token(&mac.tokens) {
            self.0 = true;
        }
    }
}

/// Standard library macros whose expansion has no `return` or `?` of its
/// own. Any other macro (`bail!`, `ensure!`, a user's own) may expand to one.
const STD_MACROS: &[&str] = &[
    "assert",
    "assert_eq",
    "assert_ne",
    "cfg",
    "column",
    "concat",
    "dbg",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "env",
    "eprint",
    "eprintln",
    "file",
    "format",
    "format_args",
    "line",
    "matches",
    "module_path",
    "option_env",
    "panic",
    "print",
    "println",
    "stringify",
    "todo",
    "unimplemented",
    "unreachable",
    "vec",
    "write",
    "writeln",
];

/// A standard macro called by its bare name or through `std::`, `core::` or
/// `alloc::`.
fn never_returns_itself(mac: &Macro) -> bool {
    let segments = &mac.path.segments;
    let Some(last) = segments.last() else {
        return false;
    };
    let std_path = match segments.len() {
        1 => mac.path.leading_colon.is_none(),
        2 => ["std", "core", "alloc"]
            .iter()
            .any(|k| segments[0].ident == k),
        _ => false,
    };
    std_path && STD_MACROS.iter().any(|name| last.ident == name)
}

/// A `return`, a `?` or a macro call (`name!(..)`, which may expand to
/// either) anywhere in a macro's arguments. Arguments are not parsed, so one
/// inside a closure there counts too: that only costs the inline expansion,
/// never a missed exit.
fn has_exit_token(tokens: &TokenStream) -> bool {
    let tokens: Vec<TokenTree> = tokens.clone().into_iter().collect();
    tokens.iter().enumerate().any(|(i, tt)| match tt {
        TokenTree::Ident(ident) => {
            let bang = matches!(tokens.get(i + 1), Some(TokenTree::Punct(p))
                if p.as_char() == '!' && p.spacing() == Spacing::Alone);
            let group = matches!(tokens.get(i + 2), Some(TokenTree::Group(_)));
            ident == "return" || (bang && group)
        }
        TokenTree::Punct(punct) => punct.as_char() == '?',
        TokenTree::Group(group) => has_exit_token(&group.stream()),
        TokenTree::Literal(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::can_exit_early;

    fn exits(body: &str) -> bool {
        can_exit_early(&syn::parse_str(body).expect("a block"))
    }

    #[test]
    fn return_and_try_of_the_body_are_exits() {
        assert!(exits("{ if a { return Err(E); } Ok(1) }"));
        assert!(exits("{ let n = s.parse()?; Ok(n) }"));
        assert!(exits("{ match x { Some(v) => v, None => return 0 } }"));
        assert!(exits("{ loop { let v = f()?; break v; } }"));
        assert!(exits("{ g(h()?) }"));
    }

    #[test]
    fn exits_of_nested_closures_async_blocks_and_items_are_theirs() {
        assert!(!exits(
            "{ let f = |x: u8| { if x > 1 { return 0; } x }; f(2) }"
        ));
        assert!(!exits("{ let fut = async { g().await?; Ok(()) }; fut }"));
        assert!(!exits(
            "{ fn inner() -> Option<u8> { Some(g()?) } inner() }"
        ));
        assert!(!exits("{ v.iter().map(|x| x.parse::<u8>()).collect() }"));
    }

    #[test]
    fn std_macros_are_inline_unless_their_arguments_exit() {
        assert!(!exits(
            r#"{ println!("{}", a); assert_eq!(a, 1, "a?"); format!("{a:?}") }"#
        ));
        assert!(!exits(r#"{ std::println!("x"); core::panic!("y") }"#));
        assert!(!exits(r#"{ ::std::println!("x"); 1 }"#));
        assert!(exits(r#"{ println!("{}", f()?); 1 }"#));
        assert!(exits("{ dbg!({ return 1; }); 2 }"));
    }

    #[test]
    fn macros_in_the_arguments_of_std_macros_may_exit() {
        assert!(exits("{ Some(*dbg!(some_or_return!(v.first()))) }"));
        assert!(exits(r#"{ format!("{}", ready!(p)) }"#));
        // `!=` is an operator, not a macro call.
        assert!(!exits("{ assert!(a != b); a }"));
        assert!(!exits("{ assert!(!done); 1 }"));
    }

    #[test]
    fn macros_defined_or_imported_in_the_body_may_shadow_std_ones() {
        assert!(exits(
            "{ macro_rules! assert { ($c:expr) => { if !$c { return Err(()) } } } assert!(x > 0); Ok(x) }"
        ));
        assert!(exits("{ use other::assert; assert!(x > 0); Ok(x) }"));
    }

    #[test]
    fn other_macros_may_exit() {
        assert!(exits(r#"{ bail!("no"); }"#));
        assert!(exits(r#"{ anyhow::ensure!(a, "no"); Ok(()) }"#));
        assert!(exits(r#"{ tracing::info!("x"); 1 }"#));
        assert!(exits(r#"{ my::println!("x"); 1 }"#));
    }

    #[test]
    fn straight_line_bodies_have_no_exit() {
        assert!(!exits("{}"));
        assert!(!exits("{ let x = 1; x + 1 }"));
        assert!(!exits("{ if a { Ok(1) } else { Err(E) } }"));
        assert!(!exits("{ let v = loop { break 3 }; v }"));
    }
}
