//! `${VAR}` in string values: environment variables, defaults, required
//! variables and secrets read from files.
//!
//! | written                | becomes                                                  |
//! |------------------------|----------------------------------------------------------|
//! | `${VAR}`               | the variable's value; an error when it is unset          |
//! | `${VAR:-default}`      | the value, or `default` when unset or empty              |
//! | `${VAR:?message}`      | the value; an error naming `VAR` and `message` when unset or empty |
//! | `${file:/run/secret}`  | the file's content, trailing newlines trimmed            |
//! | `$$`                   | one `$`                                                  |
//!
//! A `$` followed by anything else stays as written. A relative
//! `${file:...}` path is relative to the directory of the file it is
//! written in. A value that took text from a variable or a file is a
//! secret: errors, `Debug`, `telltale config show` and the API mask it.

use std::path::Path;

/// Looks a variable up.
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The most bytes a `${file:...}` secret may have.
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// An interpolated string: its text, and whether any of it came from a
/// variable or a file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Expanded {
    pub(crate) text: String,
    pub(crate) secret: bool,
}

/// Expands `text`; `dir` is where relative `${file:...}` paths start.
///
/// # Errors
///
/// What is wrong, without the value of any variable: an unset variable
/// (naming it, and the message of `${VAR:?message}`), an unterminated
/// `${`, an empty or invalid name, a file that cannot be read.
pub(crate) fn expand(text: &str, lookup: Lookup<'_>, dir: &Path) -> Result<Expanded, String> {
    if !text.contains('$') {
        return Ok(Expanded {
            text: text.to_owned(),
            secret: false,
        });
    }
    let mut out = String::with_capacity(text.len());
    let mut secret = false;
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(after) = after.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let Some(body) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let Some(end) = body.find('}') else {
            return Err(format!(
                "`${{` at character {} is not closed by `}}` (write `$$` for a literal `$`)",
                text[..text.len() - rest.len() + i].chars().count() + 1
            ));
        };
        let expr = &body[..end];
        rest = &body[end + 1..];
        if let Some(path) = expr.strip_prefix("file:") {
            out.push_str(&read_secret(path, dir)?);
            secret = true;
            continue;
        }
        let (name, op) = match expr.find(":-").into_iter().chain(expr.find(":?")).min() {
            Some(at) => (&expr[..at], Some((&expr[at..at + 2], &expr[at + 2..]))),
            None => (expr, None),
        };
        check_name(name)?;
        let value = lookup(name);
        match (value, op) {
            (Some(value), None) => {
                out.push_str(&value);
                secret = true;
            }
            (Some(value), Some(_)) if !value.is_empty() => {
                out.push_str(&value);
                secret = true;
            }
            (_, Some((":-", default))) => out.push_str(default),
            (_, Some((_, message))) => {
                let message = if message.is_empty() {
                    "must be set".to_owned()
                } else {
                    message.to_owned()
                };
                return Err(format!("${{{name}}} is unset or empty: {message}"));
            }
            (None, None) => {
                return Err(format!(
                    "environment variable {name} is not set (write ${{{name}:-default}} to give a default)"
                ));
            }
        }
    }
    out.push_str(rest);
    Ok(Expanded { text: out, secret })
}

fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`${{{name}}}`: a variable name is letters, digits and `_`, not starting with a digit"
        ))
    }
}

fn read_secret(path: &str, dir: &Path) -> Result<String, String> {
    if path.is_empty() {
        return Err("`${file:}` names no file".to_owned());
    }
    let full = dir.join(path);
    let size = std::fs::metadata(&full)
        .map_err(|e| format!("cannot read the secret file {}: {e}", full.display()))?
        .len();
    if size > MAX_SECRET_FILE {
        return Err(format!(
            "the secret file {} has {size} bytes; at most {MAX_SECRET_FILE} are read",
            full.display()
        ));
    }
    let text = std::fs::read_to_string(&full)
        .map_err(|e| format!("cannot read the secret file {}: {e}", full.display()))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Result<Expanded, String> {
        let lookup = |name: &str| match name {
            "HOST" => Some("db.internal".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        expand(text, &lookup, Path::new("/nonexistent"))
    }

    #[test]
    fn every_form() {
        let plain = run("no dollars").unwrap();
        assert_eq!((plain.text.as_str(), plain.secret), ("no dollars", false));
        let host = run("postgres://${HOST}:5432").unwrap();
        assert_eq!(host.text, "postgres://db.internal:5432");
        assert!(host.secret);
        let default = run("${MISSING:-fallback} ${EMPTY:-e}").unwrap();
        assert_eq!(default.text, "fallback e");
        assert!(!default.secret, "defaults are written in the file");
        assert_eq!(run("cost: $$5, $x, a$").unwrap().text, "cost: $5, $x, a$");
        assert_eq!(run("$${HOST}").unwrap().text, "${HOST}");
        assert_eq!(run("${HOST:?needed}").unwrap().text, "db.internal");
    }

    #[test]
    fn mistakes_name_the_variable_not_values() {
        let error = run("${TOKEN:?set it to the API token}").unwrap_err();
        assert!(
            error.contains("${TOKEN}") && error.contains("set it to the API token"),
            "{error}"
        );
        let error = run("${EMPTY:?}").unwrap_err();
        assert!(
            error.contains("EMPTY") && error.contains("must be set"),
            "{error}"
        );
        let error = run("x${MISSING}").unwrap_err();
        assert!(error.contains("MISSING is not set"), "{error}");
        let error = run("abc ${HOST").unwrap_err();
        assert!(
            error.contains("character 5") && error.contains("not closed"),
            "{error}"
        );
        assert!(run("${1X}").unwrap_err().contains("variable name"));
        assert!(run("${}").is_err());
        assert!(run("${file:}").is_err());
    }

    #[test]
    fn secrets_from_files_lose_their_trailing_newline() {
        let dir = std::env::temp_dir().join(format!("telltale-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("token"), "s3cret\n").unwrap();
        let lookup = |_: &str| None;
        let out = expand("Bearer ${file:token}", &lookup, &dir).unwrap();
        assert_eq!(out.text, "Bearer s3cret");
        assert!(out.secret);
        let error = expand("${file:absent}", &lookup, &dir).unwrap_err();
        assert!(error.contains("absent"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
