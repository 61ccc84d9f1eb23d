//! Expressions of `expression` rules: `+ - * /`, parentheses, numbers,
//! `min(a, b)`, `max(a, b)`, `abs(x)`, `clamp(x, lo, hi)`, and names (a
//! rule's output, or a metric's value at the latest tick; `SOURCE.METRIC`
//! for a source's).

use std::collections::BTreeSet;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Number(f64),
    Name(String),
    Neg(Box<Expr>),
    Binary(Op, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Min,
    Max,
    Abs,
    Clamp,
}

impl Func {
    fn arity(self) -> usize {
        match self {
            Func::Abs => 1,
            Func::Min | Func::Max => 2,
            Func::Clamp => 3,
        }
    }
}

/// The deepest nesting of parentheses and calls accepted.
const MAX_DEPTH: usize = 64;

impl Expr {
    /// The names the expression reads.
    pub(crate) fn names(&self) -> BTreeSet<&str> {
        let mut out = BTreeSet::new();
        self.walk(&mut out);
        out
    }

    fn walk<'a>(&'a self, out: &mut BTreeSet<&'a str>) {
        match self {
            Expr::Number(_) => {}
            Expr::Name(n) => {
                out.insert(n);
            }
            Expr::Neg(e) => e.walk(out),
            Expr::Binary(_, a, b) => {
                a.walk(out);
                b.walk(out);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.walk(out)),
        }
    }
}

/// Parses `text`; an error says what is wrong and at which character.
pub(crate) fn parse(text: &str) -> Result<Expr, String> {
    let mut p = Parser {
        chars: text.char_indices().collect(),
        at: 0,
        text,
        depth: 0,
    };
    let expr = p.sum()?;
    p.space();
    if let Some(&(i, c)) = p.chars.get(p.at) {
        return Err(format!(
            "unexpected {c:?} at character {}",
            char_at(text, i)
        ));
    }
    Ok(expr)
}

fn char_at(text: &str, byte: usize) -> usize {
    text[..byte].chars().count() + 1
}

struct Parser<'a> {
    chars: Vec<(usize, char)>,
    at: usize,
    text: &'a str,
    depth: usize,
}

impl Parser<'_> {
    fn space(&mut self) {
        while self
            .chars
            .get(self.at)
            .is_some_and(|(_, c)| c.is_whitespace())
        {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.space();
        self.chars.get(self.at).map(|&(_, c)| c)
    }

    fn position(&self) -> usize {
        self.chars
            .get(self.at)
            .map_or(self.text.chars().count() + 1, |&(i, _)| {
                char_at(self.text, i)
            })
    }

    fn sum(&mut self) -> Result<Expr, String> {
        let mut left = self.product()?;
        while let Some(c @ ('+' | '-')) = self.peek() {
            self.at += 1;
            let right = self.product()?;
            let op = if c == '+' { Op::Add } else { Op::Sub };
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while let Some(c @ ('*' | '/')) = self.peek() {
            self.at += 1;
            let right = self.unary()?;
            let op = if c == '*' { Op::Mul } else { Op::Div };
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek() == Some('-') {
            self.at += 1;
            self.nest()?;
            let inner = self.unary();
            self.depth -= 1;
            return Ok(Expr::Neg(Box::new(inner?)));
        }
        self.atom()
    }

    fn nest(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    fn atom(&mut self) -> Result<Expr, String> {
        let position = self.position();
        match self.peek() {
            None => Err(format!("an operand is missing at character {position}")),
            Some('(') => {
                self.at += 1;
                self.nest()?;
                let inner = self.sum();
                self.depth -= 1;
                let inner = inner?;
                if self.peek() != Some(')') {
                    return Err(format!("the `(` at character {position} is not closed"));
                }
                self.at += 1;
                Ok(inner)
            }
            Some(c) if c.is_ascii_digit() || c == '.' => {
                let start = self.at;
                while self
                    .chars
                    .get(self.at)
                    .is_some_and(|(_, c)| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E'))
                {
                    // An exponent's sign.
                    if matches!(self.chars[self.at].1, 'e' | 'E')
                        && self
                            .chars
                            .get(self.at + 1)
                            .is_some_and(|(_, c)| matches!(c, '+' | '-'))
                    {
                        self.at += 1;
                    }
                    self.at += 1;
                }
                let literal: String = self.chars[start..self.at].iter().map(|&(_, c)| c).collect();
                literal
                    .parse::<f64>()
                    .map(Expr::Number)
                    .map_err(|_| format!("{literal:?} at character {position} is not a number"))
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = self.at;
                while self
                    .chars
                    .get(self.at)
                    .is_some_and(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '.'))
                {
                    self.at += 1;
                }
                let name: String = self.chars[start..self.at].iter().map(|&(_, c)| c).collect();
                if self.peek() != Some('(') {
                    return Ok(Expr::Name(name));
                }
                let func = match name.as_str() {
                    "min" => Func::Min,
                    "max" => Func::Max,
                    "abs" => Func::Abs,
                    "clamp" => Func::Clamp,
                    other => {
                        return Err(format!(
                            "unknown function {other:?} at character {position} (known: min, max, abs, clamp)"
                        ))
                    }
                };
                self.at += 1;
                self.nest()?;
                let mut args = Vec::new();
                if self.peek() != Some(')') {
                    loop {
                        match self.sum() {
                            Ok(arg) => args.push(arg),
                            Err(e) => {
                                self.depth -= 1;
                                return Err(e);
                            }
                        }
                        if self.peek() == Some(',') {
                            self.at += 1;
                            continue;
                        }
                        break;
                    }
                }
                self.depth -= 1;
                if self.peek() != Some(')') {
                    return Err(format!(
                        "the call of {name} at character {position} is not closed"
                    ));
                }
                self.at += 1;
                if args.len() != func.arity() {
                    return Err(format!(
                        "{name} takes {} argument{}, given {}",
                        func.arity(),
                        if func.arity() == 1 { "" } else { "s" },
                        args.len()
                    ));
                }
                Ok(Expr::Call(func, args))
            }
            Some(c) => Err(format!("unexpected {c:?} at character {position}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unnecessary_box_returns)] // what Expr::Binary holds
    fn num(x: f64) -> Box<Expr> {
        Box::new(Expr::Number(x))
    }

    #[test]
    fn precedence_parentheses_and_functions() {
        assert_eq!(
            parse("1 + 2 * 3").unwrap(),
            Expr::Binary(
                Op::Add,
                num(1.0),
                Box::new(Expr::Binary(Op::Mul, num(2.0), num(3.0)))
            )
        );
        assert_eq!(
            parse("(1 + 2) * -3").unwrap(),
            Expr::Binary(
                Op::Mul,
                Box::new(Expr::Binary(Op::Add, num(1.0), num(2.0))),
                Box::new(Expr::Neg(num(3.0)))
            )
        );
        let e = parse("clamp(errors / calls * 100, 0, 1e2) + api.latency").unwrap();
        let names: Vec<&str> = e.names().into_iter().collect();
        assert_eq!(names, ["api.latency", "calls", "errors"]);
        assert_eq!(parse("2.5e-1").unwrap(), Expr::Number(0.25));
    }

    #[test]
    fn mistakes_say_where() {
        for (text, expected) in [
            ("1 +", "missing at character 4"),
            ("(1 + 2", "not closed"),
            ("foo(1)", "unknown function \"foo\""),
            ("min(1)", "min takes 2 arguments, given 1"),
            ("1 2", "unexpected '2' at character 3"),
            ("1 $ 2", "unexpected '$' at character 3"),
            ("1..2", "not a number"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
        let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(&deep).unwrap_err().contains("nested deeper"));
        let negs = "-".repeat(10_000) + "1";
        assert!(parse(&negs).unwrap_err().contains("nested deeper"));
    }
}
