//! [`Loader`] and [`Loaded`]: a configuration file read with everything it
//! includes, interpolated, merged, deserialized and checked, every mistake
//! reported at once with its place.

use std::collections::BTreeMap;
use std::fmt;
use std::fmt::Write as _;
use std::path::Path;

use serde::de::DeserializeOwned;

use super::de::{from_table, DeError};
use super::env::Env;
use super::file::{Config, Secrets, CONFIG_FILE_VAR};
use super::load::{self, Document, Mode, Problem};
use super::tree::{self, Node, Table, Value};
use crate::error::Error;

/// Reads configuration files: where `${VAR}` looks variables up.
///
/// ```
/// use telltale::config::Loader;
///
/// let loaded = Loader::with_vars([("PORT", "9100")])
///     .load_str("version = 2\n[server]\nport = \"${PORT}\"\n", "app.toml")?;
/// assert_eq!(loaded.config().server.port, 9100);
/// # Ok::<(), telltale::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Loader {
    /// `None`: the process environment.
    vars: Option<BTreeMap<String, String>>,
}

impl fmt::Debug for Loader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Option<Vec<&String>> = self.vars.as_ref().map(|v| v.keys().collect());
        f.debug_struct("Loader").field("vars", &names).finish()
    }
}

impl Loader {
    /// A loader whose `${VAR}` reads the process environment.
    pub fn new() -> Loader {
        Loader::default()
    }

    /// A loader whose `${VAR}` reads only `vars` (for tests, and for
    /// embedders with their own variables).
    pub fn with_vars<I, K, V>(vars: I) -> Loader
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Loader {
            vars: Some(
                vars.into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        }
    }

    fn lookup(&self, name: &str) -> Option<String> {
        match &self.vars {
            Some(vars) => vars.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }

    /// Reads the file at `path` with what it includes, and checks it.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] listing every mistake, one a line, each as
    /// `file:line:column: key: what is wrong`.
    pub fn load(&self, path: impl AsRef<Path>) -> Result<Loaded, Error> {
        let lookup = |name: &str| self.lookup(name);
        let (doc, problems) = load::read(path.as_ref(), &lookup, Mode::Config);
        finish(doc, problems)
    }

    /// Reads configuration text named `origin` in errors; an `include` is
    /// relative to the current directory.
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load).
    pub fn load_str(&self, text: &str, origin: &str) -> Result<Loaded, Error> {
        let lookup = |name: &str| self.lookup(name);
        let (doc, problems) = load::read_str(text, origin, Path::new("."), &lookup, Mode::Config);
        finish(doc, problems)
    }
}

/// A configuration read from files: the [`Config`], and what it was read
/// from (the files, where each value came from, the warnings).
#[derive(Clone)]
pub struct Loaded {
    config: Config,
    doc: Document,
    secrets: Vec<String>,
    hash: String,
}

impl fmt::Debug for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded")
            .field("files", &self.files())
            .field("hash", &self.hash)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Loaded {
    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The configuration, taken.
    pub fn into_config(self) -> Config {
        self.config
    }

    /// The files read, the including file first, then each include in the
    /// order read.
    pub fn files(&self) -> Vec<&Path> {
        self.doc
            .files
            .list
            .iter()
            .map(|f| f.path.as_path())
            .collect()
    }

    /// A hash of the files' contents (16 hex digits): equal for equal
    /// files, to tell which configuration is running.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Notes on the files, such as a file in an older layout.
    pub fn warnings(&self) -> &[String] {
        &self.doc.warnings
    }

    /// The merged configuration as TOML, each value followed by the file
    /// and line it came from, secrets shown as `"***"`: every value from a
    /// variable or a file, and wherever they came from the values of keys
    /// naming a credential (`token`, `password`, `secret`,
    /// `authorization`, `api_key`, `connection_string`) and of `headers`
    /// and `env` tables.
    ///
    /// ```
    /// let loaded = telltale::config::Loader::with_vars([("TOKEN", "s3cret")])
    ///     .load_str("version = 2\n[server]\nport = 9100\nbearer_token = \"${TOKEN}\"\n", "app.toml")?;
    /// let shown = loaded.show();
    /// assert!(shown.contains("port = 9100  # app.toml:3"), "{shown}");
    /// assert!(shown.contains("bearer_token = \"***\"  # app.toml:4"), "{shown}");
    /// assert!(!shown.contains("s3cret"));
    /// # Ok::<(), telltale::Error>(())
    /// ```
    pub fn show(&self) -> String {
        let mut out = String::new();
        show_table(&mut out, &self.doc, &self.doc.root, &mut Vec::new());
        out
    }

    /// Where the value at `key` (`server.port`,
    /// `custom_metrics.sources[0].interval`) was written: `file:line:column`.
    pub fn origin(&self, key: &str) -> Option<String> {
        let path = tree::parse_path(key);
        let (node, written) = tree::find(&self.doc.root, &path);
        let node = node?;
        (written.len() == path.len()).then(|| self.doc.files.place(node.at))
    }

    /// A file of the configuration that was read empty, if any.
    #[cfg(feature = "reload")]
    pub(crate) fn empty_file(&self) -> Option<&Path> {
        self.doc
            .files
            .list
            .iter()
            .find(|f| f.text.is_empty())
            .map(|f| f.path.as_path())
    }

    /// The directories to watch for changes: every file's, every glob's.
    #[cfg(feature = "reload")]
    pub(crate) fn watch_dirs(&self) -> &[std::path::PathBuf] {
        &self.doc.dirs
    }

    /// `text` with every secret of the configuration masked.
    pub fn redact(&self, text: &str) -> String {
        tree::redact(text, &self.secrets)
    }
}

impl Config {
    /// Reads a configuration from TOML text; `origin` (a file name, say)
    /// names the text in error messages. `${VAR}` reads the process
    /// environment; `include` is relative to the current directory. See
    /// [`Loader`] for more.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] listing every mistake (not only the first), one a
    /// line: `origin:line:column: key: what is wrong`.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Config, Error> {
        Loader::new()
            .load_str(text, origin)
            .map(Loaded::into_config)
    }

    /// Reads a configuration from a TOML file and what it includes; see
    /// [`Loader::load`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, Error> {
        Loader::new().load(path).map(Loaded::into_config)
    }

    /// The configuration of a process: the defaults, overridden by the TOML
    /// file named by `$TELLTALE_CONFIG` (if that variable is set), overridden
    /// by the process's `TELLTALE_*` variables; then validated.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), telltale::Error> {
    /// let config = telltale::config::Config::load()?;
    /// let server = telltale::server::start(config.server).await?;
    /// # server.stop().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn load() -> Result<Config, Error> {
        let env = Env::from_process();
        let mut config = match env.peek(CONFIG_FILE_VAR) {
            Some(path) if !path.is_empty() => Config::from_file(path)?,
            _ => Config::default(),
        };
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }
}

/// The most problems reported for one configuration: past this, the
/// rest of the file is not checked (a file of thousands of mistakes is
/// not a configuration).
const MAX_PROBLEMS: usize = 100;

/// Deserializes a `T` from the document, taking out each wrong value (and
/// recording its problem) so the rest can be checked; `None` when even
/// that fails. `removed` holds the paths taken out (the reader's first).
fn deserialize_all<T: DeserializeOwned>(
    doc: &mut Document,
    problems: &mut Vec<Problem>,
    removed: &mut Vec<Vec<tree::Step>>,
) -> Option<T> {
    removed.extend(doc.removed.iter().cloned());
    // Each round takes one wrong value out, so the rounds are bounded by
    // the values of the document, and by MAX_PROBLEMS.
    loop {
        let error = match from_table::<T>(&mut doc.root) {
            Ok(value) => return Some(value),
            Err(error) => error,
        };
        let path = error.path.clone().unwrap_or_default();
        // A table missing a key that was taken out for its own mistake: that
        // mistake is reported already.
        let follows = error
            .message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .is_some_and(|field| {
                let mut taken = path.clone();
                taken.push(tree::Step::Key(field.to_owned()));
                removed.contains(&taken)
            });
        if !follows {
            if problems.len() >= MAX_PROBLEMS {
                problems.push(Problem {
                    at: None,
                    key: String::new(),
                    message: format!("more mistakes follow; the first {MAX_PROBLEMS} are shown"),
                });
                return None;
            }
            problems.push(problem_of(&error));
        }
        if path.is_empty() || !tree::remove(&mut doc.root, &path) {
            return None;
        }
        removed.push(path);
    }
}

/// Every problem as one error, one a line, secrets masked.
fn failure(doc: &Document, problems: &[Problem], secrets: &[String]) -> Error {
    let mut sorted: Vec<&Problem> = problems.iter().collect();
    // By place; what has none (the note that more follow) last.
    sorted.sort_by_key(|p| p.at.map_or((usize::MAX, 0), |at| (at.file, at.offset)));
    let lines: Vec<String> = sorted.iter().map(|p| doc.describe(p)).collect();
    Error::Config(tree::redact(&lines.join("\n"), secrets))
}

/// Deserializes and checks the configuration; all problems, or the result.
fn finish(mut doc: Document, mut problems: Vec<Problem>) -> Result<Loaded, Error> {
    let secrets = tree::secrets(&doc.root);
    let mut removed = Vec::new();
    let config = deserialize_all::<Config>(&mut doc, &mut problems, &mut removed);
    if let Some(config) = &config {
        for (key, message) in config.problems() {
            let path = tree::parse_path(&key);
            let (node, written) = tree::find(&doc.root, &path);
            let mut shown = written.clone();
            shown.extend_from_slice(&path[written.len()..]);
            // A value taken out for its own mistake took its default: what
            // is then found wrong with it (or with the table holding it, as
            // a whole) is no second mistake.
            let follows = removed
                .iter()
                .any(|r| shown.starts_with(r) || (!shown.is_empty() && r.starts_with(&shown)));
            if follows {
                continue;
            }
            problems.push(Problem {
                at: node.map(|n| n.at),
                key: tree::dotted(&shown),
                message,
            });
        }
    }
    let Some(mut config) = config.filter(|_| problems.is_empty()) else {
        return Err(failure(&doc, &problems, &secrets));
    };
    config.secrets = Secrets(std::sync::Arc::new(secrets.clone()));
    let hash = hash(&doc);
    Ok(Loaded {
        config,
        doc,
        secrets,
        hash,
    })
}

/// Deserializes a `T` from TOML text, as the configuration file is read:
/// `${VAR}` interpolated from the process environment, `include`s merged
/// (relative to the current directory), every mistake reported.
///
/// `origin` names the text in error messages: a file name, or something like
/// `"<built-in>"`. An error is an [`Error::Config`] whose lines read
/// `origin:line:column: key: what is wrong`, for example
/// `telltale.toml:3:8: server.port: invalid type: string "x", expected u16`.
///
/// ```
/// #[derive(Debug, serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct Section {
///     size: u32,
///     name: String,
/// }
///
/// let error = telltale::config::from_toml_str::<Section>("sise = 3\nname = 4\n", "app.toml")
///     .unwrap_err()
///     .to_string();
/// assert!(error.contains("app.toml:1:1: sise: unknown key `sise`: did you mean `size`?"), "{error}");
/// assert!(error.contains("app.toml:2:8: name: invalid type: integer `4`"), "{error}");
/// ```
pub fn from_toml_str<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, Error> {
    let lookup = |name: &str| std::env::var(name).ok();
    let (doc, problems) = load::read_str(text, origin, Path::new("."), &lookup, Mode::Generic);
    generic(doc, problems)
}

/// Reads and deserializes a TOML file (and what it includes) as
/// [`from_toml_str`] does; an unreadable file is an [`Error::Config`]
/// naming it and the reason.
pub fn from_file<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<T, Error> {
    let lookup = |name: &str| std::env::var(name).ok();
    let (doc, problems) = load::read(path.as_ref(), &lookup, Mode::Generic);
    generic(doc, problems)
}

fn generic<T: DeserializeOwned>(mut doc: Document, mut problems: Vec<Problem>) -> Result<T, Error> {
    let secrets = tree::secrets(&doc.root);
    match deserialize_all::<T>(&mut doc, &mut problems, &mut Vec::new()) {
        Some(value) if problems.is_empty() => Ok(value),
        _ => Err(failure(&doc, &problems, &secrets)),
    }
}

fn problem_of(error: &DeError) -> Problem {
    let key = error.path.as_deref().map(tree::dotted).unwrap_or_default();
    Problem {
        at: error.at,
        key,
        message: error.message.trim_end().to_owned(),
    }
}

/// FNV-1a over every file's name and text.
fn hash(doc: &Document) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for file in &doc.files.list {
        for byte in file
            .name
            .bytes()
            .chain([0])
            .chain(file.text.bytes())
            .chain([0])
        {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

fn show_table(out: &mut String, doc: &Document, table: &Table, path: &mut Vec<String>) {
    let mut subtables = Vec::new();
    for entry in table.live() {
        match &entry.node.value {
            Value::Table(_) => subtables.push(entry),
            Value::Array(items) if is_table_array(items) => subtables.push(entry),
            _ => {
                let sensitive =
                    sensitive(&entry.key) || path.last().is_some_and(|t| holds_secrets(t));
                let value = if sensitive && !matches!(entry.node.value, Value::Boolean(_)) {
                    "\"***\"".to_owned()
                } else {
                    inline(&entry.node)
                };
                let _ = writeln!(
                    out,
                    "{} = {value}  # {}",
                    key(&entry.key),
                    doc.files.line(entry.node.at)
                );
            }
        }
    }
    for entry in subtables {
        path.push(key(&entry.key));
        match &entry.node.value {
            Value::Table(sub) => {
                let _ = writeln!(
                    out,
                    "\n[{}]  # {}",
                    path.join("."),
                    doc.files.line(entry.key_at)
                );
                show_table(out, doc, sub, path);
            }
            Value::Array(items) => {
                for item in items.iter().filter(|i| i.value != Value::Removed) {
                    if let Value::Table(sub) = &item.value {
                        let _ = writeln!(
                            out,
                            "\n[[{}]]  # {}",
                            path.join("."),
                            doc.files.line(item.at)
                        );
                        show_table(out, doc, sub, path);
                    }
                }
            }
            _ => {}
        }
        path.pop();
    }
}

/// Keys whose values are credentials wherever they came from: masked by
/// [`Loaded::show`] even when written in the file itself.
fn sensitive(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "token",
        "password",
        "secret",
        "authorization",
        "api_key",
        "connection_string",
    ]
    .iter()
    .any(|word| key.contains(word))
}

/// Tables whose every value may be a credential: HTTP headers and a
/// command's environment.
fn holds_secrets(table: &str) -> bool {
    matches!(table, "headers" | "env")
}

fn is_table_array(items: &[Node]) -> bool {
    let live: Vec<&Node> = items.iter().filter(|i| i.value != Value::Removed).collect();
    !live.is_empty() && live.iter().all(|i| matches!(i.value, Value::Table(_)))
}

fn key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_owned()
    } else {
        quote(key)
    }
}

fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A value as inline TOML, secrets masked.
fn inline(node: &Node) -> String {
    match &node.value {
        Value::String(_) if node.secret => "\"***\"".to_owned(),
        Value::String(s) => quote(s),
        Value::Integer(n) => n.to_string(),
        Value::Float(f) if f.is_nan() => "nan".to_owned(),
        Value::Float(f) if f.is_infinite() => if *f > 0.0 { "inf" } else { "-inf" }.to_owned(),
        Value::Float(f) => {
            let text = f.to_string();
            if text.contains(['.', 'e']) {
                text
            } else {
                format!("{text}.0")
            }
        }
        Value::Boolean(b) => b.to_string(),
        Value::Datetime(d) => d.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .filter(|i| i.value != Value::Removed)
                .map(inline)
                .collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Table(table) => {
            let parts: Vec<String> = table
                .live()
                .map(|e| format!("{} = {}", key(&e.key), inline(&e.node)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
        Value::Removed => "\"\"".to_owned(),
    }
}
