//! Bringing a configuration file of an older layout (its `version` key) to
//! the current one, keeping its comments, order and formatting.
//!
//! | version | layout |
//! |---------|--------|
//! | 1       | the file before `version` existed: a file without the key is version 1; strings are read as written |
//! | 2       | `version` and `include` at the top; `${...}` in strings is expanded, `$$` is one `$`; sections as in version 1 |
//!
//! Every later change of a key (a rename, a move) is a step here, so a file
//! of any version keeps loading (with a warning) and
//! `telltale config migrate FILE` rewrites it.

use std::fmt::Write as _;

use toml_edit::{value, DocumentMut, Item};

use super::load::CURRENT_VERSION;
use crate::error::Error;

/// A migrated file: its new text, the versions, and what changed, one line
/// each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The file's text in the current layout.
    pub text: String,
    /// The version the file was in.
    pub from: i64,
    /// The version it is in now ([`CURRENT_VERSION`]).
    pub to: i64,
    /// What changed, one line each; empty when the file was current.
    pub changes: Vec<String>,
}

/// One step: from the version it is listed with to the next.
type Step = fn(&mut DocumentMut, &mut Vec<String>);

/// The steps, in order: `STEPS[i]` takes version `i + 1` to `i + 2`.
const STEPS: &[Step] = &[version_1_to_2];

/// Version 2 adds the `version` key and reads `${...}` in strings: every
/// `$` of a version 1 string becomes `$$`, so that it keeps its meaning
/// (a PostgreSQL `$$` quote, a shell's `$HOME`). No key moved.
fn version_1_to_2(doc: &mut DocumentMut, changes: &mut Vec<String>) {
    set_version(doc, 2);
    changes.push("added `version = 2` (version 1 files have no `version` key)".to_owned());
    let mut escaped = Vec::new();
    escape_table(doc.as_table_mut(), &mut String::new(), &mut escaped);
    for key in escaped {
        changes.push(format!(
            "{key}: `$` written as `$$` (version 2 expands `${{...}}`; the value is unchanged)"
        ));
    }
}

fn escape_table(table: &mut toml_edit::Table, path: &mut String, escaped: &mut Vec<String>) {
    for (key, item) in table.iter_mut() {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key.get());
        escape_item(item, path, escaped);
        path.truncate(len);
    }
}

fn escape_item(item: &mut Item, path: &mut String, escaped: &mut Vec<String>) {
    match item {
        Item::Value(value) => escape_value(value, path, escaped),
        Item::Table(table) => escape_table(table, path, escaped),
        Item::ArrayOfTables(tables) => {
            for (i, table) in tables.iter_mut().enumerate() {
                let len = path.len();
                let _ = write!(path, "[{i}]");
                escape_table(table, path, escaped);
                path.truncate(len);
            }
        }
        Item::None => {}
    }
}

fn escape_value(value: &mut toml_edit::Value, path: &mut String, escaped: &mut Vec<String>) {
    match value {
        toml_edit::Value::String(text) if text.value().contains('$') => {
            let decor = text.decor().clone();
            let mut replaced = toml_edit::Formatted::new(text.value().replace('$', "$$"));
            *replaced.decor_mut() = decor;
            *text = replaced;
            escaped.push(path.clone());
        }
        toml_edit::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                let _ = write!(path, "[{i}]");
                escape_value(item, path, escaped);
                path.truncate(len);
            }
        }
        toml_edit::Value::InlineTable(table) => {
            for (key, item) in table.iter_mut() {
                let len = path.len();
                path.push('.');
                path.push_str(key.get());
                escape_value(item, path, escaped);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn set_version(doc: &mut DocumentMut, version: i64) {
    match doc.get_mut("version") {
        Some(Item::Value(existing)) => {
            let decor = existing.decor().clone();
            *existing = toml_edit::Value::from(version);
            *existing.decor_mut() = decor;
        }
        _ => {
            doc.insert("version", value(version));
        }
    }
}

/// Rewrites `text` (a configuration file named `origin` in errors) in the
/// current layout.
///
/// ```
/// let old = "# the agent's settings\n[server]\nport = 9100 # the scrape port\n";
/// let migration = telltale::config::migrate(old, "agent.toml")?;
/// assert_eq!((migration.from, migration.to), (1, 2));
/// assert!(migration.text.starts_with("version = 2\n"));
/// assert!(migration.text.contains("port = 9100 # the scrape port"));
/// let again = telltale::config::migrate(&migration.text, "agent.toml")?;
/// assert!(again.changes.is_empty());
/// # Ok::<(), telltale::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Config`] when `text` is not TOML, or its `version` is not a
/// known one.
pub fn migrate(text: &str, origin: &str) -> Result<Migration, Error> {
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        let at = e
            .span()
            .map(|s| {
                let (line, column) = super::tree::line_and_column(text, s.start);
                format!(":{line}:{column}")
            })
            .unwrap_or_default();
        Error::Config(format!("{origin}{at}: {}", e.message()))
    })?;
    let from = match doc.get("version") {
        None => 1,
        Some(item) => match item.as_integer() {
            Some(n) if (1..=CURRENT_VERSION).contains(&n) => n,
            _ => {
                return Err(Error::Config(format!(
                    "{origin}: version: must be a whole number from 1 to {CURRENT_VERSION}"
                )))
            }
        },
    };
    let mut changes = Vec::new();
    for step in STEPS.iter().skip((from - 1) as usize) {
        step(&mut doc, &mut changes);
    }
    let text = if changes.is_empty() {
        text.to_owned()
    } else {
        doc.to_string()
    };
    Ok(Migration {
        text,
        from,
        to: CURRENT_VERSION,
        changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_is_one_step_per_version() {
        assert_eq!(STEPS.len() as i64, CURRENT_VERSION - 1);
    }

    #[test]
    fn dollars_of_version_1_strings_are_doubled_so_they_keep_their_meaning() {
        let old = "[[custom_metrics.sources]]\nname = \"pg\"\nqueries = [{ sql = \"SELECT $$a$$, $1\" }]\ncommand = [\"sh\", \"-c\", \"echo $HOME\"] # kept\n";
        let migration = migrate(old, "v1.toml").unwrap();
        assert!(
            migration.text.contains(r#"sql = "SELECT $$$$a$$$$, $$1""#),
            "{}",
            migration.text
        );
        assert!(
            migration.text.contains(r#""echo $$HOME"] # kept"#),
            "{}",
            migration.text
        );
        assert_eq!(migration.changes.len(), 3, "{:?}", migration.changes);
        assert!(
            migration.changes[1].starts_with("custom_metrics.sources[0].queries[0].sql:"),
            "{:?}",
            migration.changes
        );
    }

    #[test]
    fn a_newer_or_odd_version_is_refused() {
        for text in ["version = 99\n", "version = \"2\"\n", "version = 0\n"] {
            let error = migrate(text, "x.toml").unwrap_err().to_string();
            assert!(error.contains("x.toml: version"), "{error}");
        }
        let error = migrate("[server\n", "x.toml").unwrap_err().to_string();
        assert!(error.contains("x.toml:1:"), "{error}");
    }
}
