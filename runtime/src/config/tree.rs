//! The configuration as a tree that remembers where each value came from:
//! the parsed files, merged in order, each value with its file and byte
//! offset, and whether it holds a secret (a value taken from an environment
//! variable or a file).

use std::fmt::Write as _;
use std::path::PathBuf;

use toml::de::{DeTable, DeValue};

/// A file read into the configuration: its name as errors show it, and its
/// text, to turn byte offsets into lines and columns.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    pub(crate) path: PathBuf,
    pub(crate) name: String,
    pub(crate) text: String,
}

/// Where a value or a key starts: a file (an index into [`Files`]) and a
/// byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct At {
    pub(crate) file: usize,
    pub(crate) offset: usize,
}

/// The files of one configuration, the including file first.
#[derive(Debug, Clone, Default)]
pub(crate) struct Files {
    pub(crate) list: Vec<SourceFile>,
}

impl Files {
    /// `file:line:column` of `at`.
    pub(crate) fn place(&self, at: At) -> String {
        match self.list.get(at.file) {
            Some(file) => {
                let (line, column) = line_and_column(&file.text, at.offset);
                format!("{}:{line}:{column}", file.name)
            }
            None => "<unknown>".to_owned(),
        }
    }

    /// `file:line` of `at`.
    pub(crate) fn line(&self, at: At) -> String {
        match self.list.get(at.file) {
            Some(file) => format!("{}:{}", file.name, line_and_column(&file.text, at.offset).0),
            None => "<unknown>".to_owned(),
        }
    }
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
pub(crate) fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// A value of the tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    /// A TOML date or time, as written.
    Datetime(String),
    Array(Vec<Node>),
    Table(Table),
    /// Taken out because it was wrong: skipped by the deserializer, so that
    /// the rest can be checked; array indices stay as written.
    Removed,
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) value: Value,
    pub(crate) at: At,
    /// Holds text from an environment variable or a file: never shown.
    pub(crate) secret: bool,
    /// A string written with `${...}`: read as a number or boolean where
    /// one is expected (TOML has no unquoted substitution).
    pub(crate) interpolated: bool,
}

/// A key and its value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) key_at: At,
    pub(crate) node: Node,
}

/// A table: its entries in the order they were written.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Table {
    pub(crate) entries: Vec<Entry>,
}

impl Table {
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.entries
            .iter()
            .find(|e| e.key == key && e.node.value != Value::Removed)
            .map(|e| &e.node)
    }

    pub(crate) fn get_entry_mut(&mut self, key: &str) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|e| e.key == key)
    }

    /// Takes `key` out, returning its entry.
    pub(crate) fn take(&mut self, key: &str) -> Option<Entry> {
        let i = self.entries.iter().position(|e| e.key == key)?;
        Some(self.entries.remove(i))
    }

    /// The entries the deserializer sees.
    pub(crate) fn live(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(|e| e.node.value != Value::Removed)
    }
}

/// Converts a parsed file into a tree, its offsets in file `file`.
pub(crate) fn from_toml(table: &DeTable<'_>, file: usize) -> Table {
    let mut entries: Vec<Entry> = table
        .iter()
        .map(|(key, value)| Entry {
            key: key.get_ref().to_string(),
            key_at: At {
                file,
                offset: key.span().start,
            },
            node: node(value.get_ref(), value.span().start, file),
        })
        .collect();
    entries.sort_by_key(|e| e.key_at.offset);
    Table { entries }
}

fn node(value: &DeValue<'_>, offset: usize, file: usize) -> Node {
    let value = match value {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => Value::Integer(n),
            // Out of i64's range: kept as text, so the error can say so.
            Err(_) => Value::Datetime(i.to_string()),
        },
        DeValue::Float(f) => Value::Float(parse_float(f.as_str())),
        DeValue::Boolean(b) => Value::Boolean(*b),
        DeValue::Datetime(d) => Value::Datetime(d.to_string()),
        DeValue::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| node(item.get_ref(), item.span().start, file))
                .collect(),
        ),
        DeValue::Table(table) => Value::Table(from_toml(table, file)),
    };
    Node {
        value,
        at: At { file, offset },
        secret: false,
        interpolated: false,
    }
}

fn parse_float(text: &str) -> f64 {
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    match cleaned.as_str() {
        "inf" | "+inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        "nan" | "+nan" | "-nan" => f64::NAN,
        other => other.parse().unwrap_or(f64::NAN),
    }
}

/// Merges `over` into `base`: tables key by key, arrays of tables whose
/// elements have a `name` by that name (an element of `over` named as one
/// of `base` merges into it, others are appended), anything else replaced.
pub(crate) fn merge(base: &mut Table, over: Table) {
    // Keys by position, so that a table of many keys merges in linear time.
    let mut index: std::collections::HashMap<String, usize> = base
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.key.clone(), i))
        .collect();
    for entry in over.entries {
        let Some(&at) = index.get(&entry.key) else {
            index.insert(entry.key.clone(), base.entries.len());
            base.entries.push(entry);
            continue;
        };
        let existing = &mut base.entries[at];
        match (&mut existing.node.value, entry.node.value) {
            (Value::Table(into), Value::Table(from)) => merge(into, from),
            (Value::Array(into), Value::Array(from))
                if named_tables(into) && named_tables(&from) =>
            {
                for item in from {
                    let name = name_of(&item).map(str::to_owned);
                    let same = name.and_then(|name| {
                        into.iter_mut()
                            .find(|existing| name_of(existing) == Some(name.as_str()))
                    });
                    match (same, item.value) {
                        (Some(existing), Value::Table(from)) => {
                            if let Value::Table(into) = &mut existing.value {
                                merge(into, from);
                            }
                        }
                        (_, value) => into.push(Node { value, ..item }),
                    }
                }
            }
            (_, value) => {
                existing.node = Node {
                    value,
                    ..entry.node
                };
                existing.key_at = entry.key_at;
            }
        }
    }
}

/// Whether every element is a table with a string `name` (and there is one).
fn named_tables(items: &[Node]) -> bool {
    !items.is_empty() && items.iter().all(|item| name_of(item).is_some())
}

fn name_of(node: &Node) -> Option<&str> {
    match &node.value {
        Value::Table(table) => match &table.get("name")?.value {
            Value::String(name) => Some(name),
            _ => None,
        },
        _ => None,
    }
}

/// One step of a path into the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// `a.b[2].c`.
pub(crate) fn dotted(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                let plain = !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if plain {
                    out.push_str(key);
                } else {
                    let _ = write!(out, "{key:?}");
                }
            }
            Step::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
    out
}

/// Parses `a.b[2].c` (as [`dotted`] writes it, plain keys only).
pub(crate) fn parse_path(text: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for part in text.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            steps.push(Step::Key(key.to_owned()));
        }
        while let Some(inner) = rest.strip_prefix('[') {
            let Some(end) = inner.find(']') else { break };
            if let Ok(i) = inner[..end].parse() {
                steps.push(Step::Index(i));
            }
            rest = &inner[end + 1..];
        }
    }
    steps
}

/// The node at `path`, counting array indices over the elements the
/// deserializer sees (a removed element is skipped), with the path as
/// written (indices as in the file); or the deepest node on the way there,
/// and its path, when the path goes further than the tree.
pub(crate) fn find<'a>(root: &'a Table, path: &[Step]) -> (Option<&'a Node>, Vec<Step>) {
    let mut written = Vec::new();
    let mut here: Option<&Node> = None;
    let mut table = Some(root);
    for step in path {
        let next = match (step, here.map(|n| &n.value), table) {
            (Step::Key(key), _, Some(table)) => {
                table.get(key).map(|node| (Step::Key(key.clone()), node))
            }
            (Step::Index(i), Some(Value::Array(items)), _) => items
                .iter()
                .enumerate()
                .filter(|(_, n)| n.value != Value::Removed)
                .nth(*i)
                .map(|(at, node)| (Step::Index(at), node)),
            _ => None,
        };
        let Some((step, node)) = next else { break };
        written.push(step);
        table = match &node.value {
            Value::Table(t) => Some(t),
            _ => None,
        };
        here = Some(node);
    }
    (here, written)
}

/// Marks the entry or element at `path` (indices as written) removed;
/// whether something was there to remove.
pub(crate) fn remove(root: &mut Table, path: &[Step]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut value: Option<&mut Value> = None;
    let mut table: Option<&mut Table> = Some(root);
    for step in parents {
        let next = match (step, value, table) {
            (Step::Key(key), _, Some(t)) => t.get_entry_mut(key).map(|e| &mut e.node.value),
            (Step::Index(i), Some(Value::Array(items)), _) => {
                items.get_mut(*i).map(|n| &mut n.value)
            }
            _ => None,
        };
        let Some(next) = next else { return false };
        if let Value::Table(t) = next {
            table = Some(t);
            value = None;
        } else {
            table = None;
            value = Some(next);
        }
    }
    let target = match (last, value, table) {
        (Step::Key(key), _, Some(t)) => t.get_entry_mut(key).map(|e| &mut e.node.value),
        (Step::Index(i), Some(Value::Array(items)), _) => items.get_mut(*i).map(|n| &mut n.value),
        _ => None,
    };
    match target {
        Some(target) if *target != Value::Removed => {
            *target = Value::Removed;
            true
        }
        _ => false,
    }
}

/// Every secret text of the tree, longest first.
pub(crate) fn secrets(root: &Table) -> Vec<String> {
    fn walk(node: &Node, out: &mut Vec<String>) {
        match &node.value {
            Value::String(s) if node.secret && !s.is_empty() => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|n| walk(n, out)),
            Value::Table(t) => t.entries.iter().for_each(|e| walk(&e.node, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    root.entries.iter().for_each(|e| walk(&e.node, &mut out));
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

/// `text` with every secret replaced by `***`. Secrets shorter than three
/// characters are left, as they would make most text unreadable.
pub(crate) fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| s.chars().count() >= 3) {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, file: usize) -> Table {
        let table = DeTable::parse(text).unwrap();
        from_toml(table.get_ref(), file)
    }

    #[test]
    fn tables_merge_key_by_key_and_named_arrays_by_name() {
        let mut base = parse(
            "[server]\nport = 1\nhost = \"a\"\n[[s]]\nname = \"x\"\nv = 1\n[[s]]\nname = \"y\"\n",
            0,
        );
        let over = parse(
            "[server]\nport = 2\n[[s]]\nname = \"x\"\nv = 3\nw = 4\n[[s]]\nname = \"z\"\n",
            1,
        );
        merge(&mut base, over);
        let server = match &base.get("server").unwrap().value {
            Value::Table(t) => t.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(server.get("port").unwrap().value, Value::Integer(2));
        assert_eq!(server.get("port").unwrap().at.file, 1);
        assert_eq!(server.get("host").unwrap().value, Value::String("a".into()));
        let Value::Array(items) = &base.get("s").unwrap().value else {
            panic!()
        };
        let names: Vec<_> = items.iter().filter_map(name_of).collect();
        assert_eq!(names, ["x", "y", "z"]);
        let Value::Table(x) = &items[0].value else {
            panic!()
        };
        assert_eq!(x.get("v").unwrap().value, Value::Integer(3));
        assert_eq!(x.get("w").unwrap().value, Value::Integer(4));
    }

    #[test]
    fn paths_find_and_remove_by_written_index() {
        let mut root = parse("[[s]]\nname = \"a\"\n[[s]]\nname = \"b\"\nport = 3\n", 0);
        assert!(remove(&mut root, &parse_path("s[0]")));
        let (node, written) = find(&root, &parse_path("s[0].port"));
        assert_eq!(node.unwrap().value, Value::Integer(3));
        assert_eq!(dotted(&written), "s[1].port");
        let (node, written) = find(&root, &parse_path("s[0].missing"));
        assert!(matches!(node.unwrap().value, Value::Table(_)));
        assert_eq!(dotted(&written), "s[1]");
        assert!(!remove(&mut root, &parse_path("s[0]")), "already removed");
    }

    #[test]
    fn secrets_are_redacted_longest_first() {
        let secrets = vec![
            "s3cret-long".to_owned(),
            "s3cret".to_owned(),
            "ab".to_owned(),
        ];
        assert_eq!(
            redact("token s3cret-long and s3cret, ab", &secrets),
            "token *** and ***, ab"
        );
    }
}
