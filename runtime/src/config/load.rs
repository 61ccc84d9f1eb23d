//! Reading a configuration: the file and everything it includes, each
//! parsed, interpolated and merged into one [`tree`](super::tree), with
//! every mistake found on the way kept as a [`Problem`].

use std::path::{Path, PathBuf};

use toml::de::DeTable;

use super::interpolate::{expand, Lookup};
use super::tree::{self, At, Files, Node, SourceFile, Step, Table, Value};

/// The newest layout of the configuration file; see [`super::migrate`].
pub const CURRENT_VERSION: i64 = 2;
/// The largest configuration file read (each file of an include counts on
/// its own).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// The deepest nesting of tables and arrays accepted.
pub const MAX_DEPTH: usize = 32;
/// The most files one configuration may include, all levels together.
const MAX_FILES: usize = 256;

/// One mistake: where (a place in a file, when known), the key, and what
/// is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) at: Option<At>,
    pub(crate) key: String,
    pub(crate) message: String,
}

/// The files of a configuration merged into one tree.
#[derive(Debug, Clone, Default)]
pub(crate) struct Document {
    pub(crate) files: Files,
    pub(crate) root: Table,
    /// Notes for the user: a file in an older layout, say.
    pub(crate) warnings: Vec<String>,
    /// Values taken out while reading (an unset `${VAR}`), by path.
    pub(crate) removed: Vec<Vec<Step>>,
    /// The directories to watch: each file's, and each glob's.
    pub(crate) dirs: Vec<PathBuf>,
}

/// What is read: a configuration file (its `version` decides whether
/// `${...}` is expanded: version 1 files are read as written), or any
/// struct of the program's own (always expanded, no version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Config,
    Generic,
}

impl Document {
    /// `problem` as one line: `file:line:column: key: what is wrong`.
    pub(crate) fn describe(&self, problem: &Problem) -> String {
        let mut line = match problem.at {
            Some(at) => format!("{}: ", self.files.place(at)),
            // Not in a file (a file that cannot be read): the message names it.
            None => String::new(),
        };
        if !problem.key.is_empty() {
            line.push_str(&problem.key);
            line.push_str(": ");
        }
        line.push_str(&problem.message);
        line
    }
}

/// Reads the file at `path` and what it includes.
pub(crate) fn read(path: &Path, lookup: Lookup<'_>, mode: Mode) -> (Document, Vec<Problem>) {
    let mut reader = Reader::new(lookup, mode);
    let root = reader.file(path, None);
    reader.doc.root = root;
    (reader.doc, reader.problems)
}

/// Reads configuration text named `origin`; includes are relative to `dir`.
pub(crate) fn read_str(
    text: &str,
    origin: &str,
    dir: &Path,
    lookup: Lookup<'_>,
    mode: Mode,
) -> (Document, Vec<Problem>) {
    let mut reader = Reader::new(lookup, mode);
    let root = reader.text(text.to_owned(), origin.to_owned(), dir.join(origin), dir);
    reader.doc.root = root;
    (reader.doc, reader.problems)
}

struct Reader<'a> {
    lookup: Lookup<'a>,
    mode: Mode,
    doc: Document,
    problems: Vec<Problem>,
    /// The files being read, outermost first (to find a cycle).
    chain: Vec<PathBuf>,
}

impl<'a> Reader<'a> {
    fn new(lookup: Lookup<'a>, mode: Mode) -> Reader<'a> {
        Reader {
            lookup,
            mode,
            doc: Document::default(),
            problems: Vec::new(),
            chain: Vec::new(),
        }
    }

    fn problem(&mut self, at: Option<At>, key: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            at,
            key: key.to_owned(),
            message: message.into(),
        });
    }

    /// The tree of the file at `path`, includes merged in; `from` is where
    /// it was included.
    fn file(&mut self, path: &Path, from: Option<At>) -> Table {
        let name = path.display().to_string();
        let bytes = match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => Err(format!("{name} is a directory, not a file")),
            Ok(meta) if meta.len() > MAX_FILE_BYTES => Err(format!(
                "{name} has {} bytes; a configuration file may have at most {MAX_FILE_BYTES}",
                meta.len()
            )),
            Ok(_) => std::fs::read(path)
                .map_err(|e| format!("cannot read the configuration file {name}: {e}")),
            Err(e) => Err(format!("cannot read the configuration file {name}: {e}")),
        };
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(message) => {
                self.problem(from, "", message);
                return Table::default();
            }
        };
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let good = e.utf8_error().valid_up_to();
                let bytes = e.into_bytes();
                let prefix = String::from_utf8_lossy(&bytes[..good]).into_owned();
                let (line, column) = tree::line_and_column(&prefix, good);
                self.problem(
                    from,
                    "",
                    format!(
                        "{name}:{line}:{column}: not UTF-8 text (byte {good} is not valid UTF-8)"
                    ),
                );
                return Table::default();
            }
        };
        let dir = path.parent().map_or_else(PathBuf::new, Path::to_path_buf);
        self.text(text, name, path.to_path_buf(), &dir)
    }

    fn text(&mut self, text: String, name: String, path: PathBuf, dir: &Path) -> Table {
        let file = self.doc.files.list.len();
        self.doc.files.list.push(SourceFile {
            path: path.clone(),
            name,
            text,
        });
        let text = &self.doc.files.list[file].text;
        if let Some(offset) = too_deep(text) {
            let at = At { file, offset };
            self.problem(
                Some(at),
                "",
                format!("tables or arrays nested deeper than {MAX_DEPTH} levels"),
            );
            return Table::default();
        }
        let parsed = match DeTable::parse(text) {
            Ok(parsed) => tree::from_toml(parsed.get_ref(), file),
            Err(e) => {
                let at = At {
                    file,
                    offset: e.span().map_or(0, |s| s.start),
                };
                let key = key_at(text, at.offset).unwrap_or_default();
                let message = e.message().trim_end().to_owned();
                self.problem(Some(at), &key, message);
                return Table::default();
            }
        };
        let mut own = parsed;
        if !self.doc.dirs.iter().any(|d| d == dir) {
            self.doc.dirs.push(dir.to_path_buf());
        }
        let version = match self.mode {
            Mode::Config => self.version(&mut own, file),
            Mode::Generic => CURRENT_VERSION,
        };
        if version >= 2 {
            self.interpolate(&mut own, &mut Vec::new(), dir);
        }
        let includes = self.includes(&mut own, dir);
        let canonical = std::fs::canonicalize(&path).unwrap_or(path);
        self.chain.push(canonical);
        let mut merged = Table::default();
        for (include, at) in includes {
            let canonical = std::fs::canonicalize(&include).unwrap_or_else(|_| include.clone());
            if let Some(start) = self.chain.iter().position(|p| *p == canonical) {
                let mut names: Vec<String> = self.chain[start..]
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect();
                names.push(canonical.display().to_string());
                self.problem(
                    Some(at),
                    "include",
                    format!("include cycle: {}", names.join(" -> ")),
                );
                continue;
            }
            if self.doc.files.list.len() >= MAX_FILES {
                self.problem(
                    Some(at),
                    "include",
                    format!("more than {MAX_FILES} files included"),
                );
                break;
            }
            let table = self.file(&include, Some(at));
            tree::merge(&mut merged, table);
        }
        self.chain.pop();
        tree::merge(&mut merged, own);
        merged
    }

    /// Expands `${...}` in every string under `table`.
    fn interpolate(&mut self, table: &mut Table, path: &mut Vec<Step>, dir: &Path) {
        for entry in &mut table.entries {
            path.push(Step::Key(entry.key.clone()));
            self.interpolate_node(&mut entry.node, path, dir);
            path.pop();
        }
    }

    fn interpolate_node(&mut self, node: &mut Node, path: &mut Vec<Step>, dir: &Path) {
        match &mut node.value {
            Value::String(text) => match expand(text, self.lookup, dir) {
                Ok(expanded) => {
                    node.interpolated |= *text != expanded.text;
                    *text = expanded.text;
                    node.secret |= expanded.secret;
                }
                Err(message) => {
                    self.problem(Some(node.at), &tree::dotted(path), message);
                    node.value = Value::Removed;
                    self.doc.removed.push(path.clone());
                }
            },
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    path.push(Step::Index(i));
                    self.interpolate_node(item, path, dir);
                    path.pop();
                }
            }
            Value::Table(table) => self.interpolate(table, path, dir),
            _ => {}
        }
    }

    /// Takes the `version` key out of `table`, checking it; the version
    /// the file is read as.
    fn version(&mut self, table: &mut Table, file: usize) -> i64 {
        let name = self.doc.files.list[file].name.clone();
        let old = |n: i64| {
            format!(
                "{name} is read as version {n} (its strings as written, without `${{...}}`); \
                 `telltale config migrate {name}` brings it to version {CURRENT_VERSION}"
            )
        };
        let Some(entry) = table.take("version") else {
            self.doc
                .warnings
                .push(format!("{name} has no `version` key: {}", old(1)));
            return 1;
        };
        match entry.node.value {
            Value::Integer(n) if (1..=CURRENT_VERSION).contains(&n) => {
                if n < CURRENT_VERSION {
                    self.doc.warnings.push(old(n));
                }
                n
            }
            Value::Integer(n) if n > CURRENT_VERSION => {
                self.problem(
                    Some(entry.node.at),
                    "version",
                    format!(
                        "version {n} is newer than this telltale, which reads versions 1 to {CURRENT_VERSION}"
                    ),
                );
                CURRENT_VERSION
            }
            _ => {
                self.problem(
                    Some(entry.node.at),
                    "version",
                    format!("must be a whole number from 1 to {CURRENT_VERSION}"),
                );
                CURRENT_VERSION
            }
        }
    }

    /// Takes the `include` key out of `table`: the files it names, in
    /// order (each glob's matches sorted), and where each was named.
    fn includes(&mut self, table: &mut Table, dir: &Path) -> Vec<(PathBuf, At)> {
        let Some(entry) = table.take("include") else {
            return Vec::new();
        };
        let patterns: Vec<(String, At)> = match entry.node.value {
            Value::String(s) => vec![(s, entry.node.at)],
            Value::Array(items) => items
                .into_iter()
                .filter_map(|item| match item.value {
                    Value::String(s) => Some((s, item.at)),
                    Value::Removed => None,
                    _ => {
                        self.problem(
                            Some(item.at),
                            "include",
                            "must be a file name or a glob (a string)",
                        );
                        None
                    }
                })
                .collect(),
            Value::Removed => Vec::new(),
            _ => {
                self.problem(
                    Some(entry.node.at),
                    "include",
                    "must be a list of file names or globs, e.g. include = [\"base.toml\", \"sources.d/*.toml\"]",
                );
                Vec::new()
            }
        };
        let mut files = Vec::new();
        for (pattern, at) in patterns {
            let full = dir.join(&pattern);
            if !pattern.contains(['*', '?', '[']) {
                files.push((full, at));
                continue;
            }
            // The directory as written, the pattern as a glob.
            let text = format!(
                "{}/{pattern}",
                glob::Pattern::escape(&dir.to_string_lossy())
            );
            if let Some(parent) = full.parent() {
                let plain = !parent.to_string_lossy().contains(['*', '?', '[']);
                if plain && !self.doc.dirs.iter().any(|d| d == parent) {
                    self.doc.dirs.push(parent.to_path_buf());
                }
            }
            match glob::glob(&text) {
                Ok(paths) => {
                    let mut matched: Vec<PathBuf> = paths
                        .filter_map(Result::ok)
                        .filter(|p| p.is_file())
                        .collect();
                    matched.sort();
                    files.extend(matched.into_iter().map(|p| (p, at)));
                }
                Err(e) => self.problem(
                    Some(at),
                    "include",
                    format!("the glob {pattern:?} is invalid: {e}"),
                ),
            }
        }
        files
    }
}

/// The offset of the first bracket or brace nested more than
/// [`MAX_DEPTH`] deep (outside strings and comments), if any; a header
/// `[a.b.c]` counts its dotted parts.
fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0_usize;
    let mut i = 0;
    let mut line_start = true;
    let mut after_equals = false;
    let mut key_dots = 0_usize;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' => {
                let triple = bytes.get(i..i + 3) == Some(&[c, c, c][..]);
                i += if triple { 3 } else { 1 };
                while i < bytes.len() {
                    if c == b'"' && bytes[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if triple {
                        if bytes.get(i..i + 3) == Some(&[c, c, c][..]) {
                            i += 3;
                            break;
                        }
                    } else if bytes[i] == c || bytes[i] == b'\n' {
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                line_start = false;
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                if line_start && c == b'[' && depth == 1 {
                    // A table header: its dotted parts count as levels.
                    let end = text[i..].find(['\n', ']']).map_or(text.len(), |n| i + n);
                    let dots = text[i..end].matches('.').count();
                    if dots + 1 > MAX_DEPTH {
                        return Some(i);
                    }
                }
                if depth > MAX_DEPTH {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'.' if depth == 0 && !after_equals => {
                // Dotted keys `a.b.c = 1` nest too: the dots of a key
                // (a value's, after its `=`, do not count).
                key_dots += 1;
                if key_dots + 1 > MAX_DEPTH {
                    return Some(i);
                }
            }
            b'=' if depth == 0 => after_equals = true,
            b'\n' => {
                after_equals = false;
                key_dots = 0;
            }
            _ => {}
        }
        line_start = c == b'\n' || (line_start && (c == b' ' || c == b'\t'));
        i += 1;
    }
    None
}

/// The dotted key that the line holding byte `offset` assigns, prefixed by
/// the table the line is in: `server.port` for `port = "x"` under
/// `[server]`. `None` when the line assigns nothing.
pub(crate) fn key_at(text: &str, offset: usize) -> Option<String> {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let line = &text[line_start..line_end];
    let key = line.split_once('=').and_then(|(key, _)| {
        let key = key.trim();
        let valid = !key.is_empty() && !key.starts_with(['[', '#']);
        valid.then(|| unquote_key(key))
    })?;
    let table = text[..line_start].lines().rev().find_map(|line| {
        let line = line.trim();
        let header = line
            .strip_prefix("[[")
            .and_then(|rest| rest.split_once("]]"))
            .or_else(|| line.strip_prefix('[').and_then(|rest| rest.split_once(']')))?;
        Some(unquote_key(header.0.trim()))
    });
    Some(match table {
        Some(table) if !table.is_empty() => format!("{table}.{key}"),
        _ => key,
    })
}

/// `"a b".c` → `a b.c`: a TOML dotted key with its quotes removed.
fn unquote_key(key: &str) -> String {
    key.split('.')
        .map(|part| part.trim().trim_matches(|c| c == '"' || c == '\''))
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_their_table() {
        let text = "top = 1\n[server]\nport = \"x\"\n[[list]]\n\"quoted key\" = 2\n";
        assert_eq!(key_at(text, 2).as_deref(), Some("top"));
        let port = text.find("\"x\"").unwrap();
        assert_eq!(key_at(text, port).as_deref(), Some("server.port"));
        let quoted = text.find("2\n").unwrap();
        assert_eq!(key_at(text, quoted).as_deref(), Some("list.quoted key"));
        assert_eq!(key_at(text, text.find("[server]").unwrap()), None);
    }

    #[test]
    fn nesting_is_bounded_outside_strings() {
        assert_eq!(too_deep("a = [[1], [2]]\n[x.y]\nb = \"[[[[[[[[\"\n"), None);
        let deep = format!("a = {}{}", "[".repeat(40), "]".repeat(40));
        assert_eq!(too_deep(&deep), Some(4 + MAX_DEPTH));
        let header = format!("[{}]\n", vec!["t"; 40].join("."));
        assert_eq!(too_deep(&header), Some(0));
        let dotted = format!("{} = 1\n", vec!["k"; 40].join("."));
        assert!(too_deep(&dotted).is_some());
        let strings = format!(
            "a = '''{}'''\nb = \"\\\"{}\"\n# {}\n",
            "[".repeat(99),
            "{".repeat(99),
            "[".repeat(99)
        );
        assert_eq!(too_deep(&strings), None);
        let dots = ".".repeat(40);
        let comments = format!("[server] # {dots}\na = 1.5 # {dots}\nb = \"{dots}\"\n");
        assert_eq!(too_deep(&comments), None);
    }
}
