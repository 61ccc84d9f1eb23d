//! The house rule, checked: imports run one way.
//!
//! Reads the sources of the runtime (`runtime/src`) and the macros
//! (`macros/src`) and finds, for every file, the files it names: paths
//! starting with `crate::`, `super::` or `self::`, paths starting with a
//! child module the file declares (`mod x;` then `x::..`), and the child
//! modules themselves (declaring `mod x;` is using it). A path resolves to the
//! file of its longest module prefix (an inline `mod tests { .. }` belongs to
//! its file). Comments and string literals are not read, nor is code under
//! `#[cfg(test)]` (a unit test may drive the whole stack, as an integration
//! test does; it is not part of what users compile).
//!
//! Two rules follow:
//!
//! 1. **No cycles**: no file reaches itself through the files it names. As a
//!    consequence, code never names the crate root's re-exports
//!    (`crate::Counter`) but the module that defines them, and a folder's
//!    `mod.rs` is a facade (declarations and re-exports) whose children do not
//!    name it: what they share lives in a sibling file.
//! 2. **Layers** (runtime only): a file may name files of its own layer or a
//!    lower one, never a higher one. The layers, lowest first, are
//!    [`LAYERS`]; lib.rs and `__private` (what generated code names) are the
//!    facades above them all.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The runtime's layers, lowest first: each entry lists the modules of one
/// layer, as paths below `runtime/src` (`store` is the folder and all in it;
/// `config/duration` one file). A file belongs to the longest entry that is
/// a prefix of its module path.
const LAYERS: &[&[&str]] = &[
    &["error", "store", "config/duration", "config/env"],
    &["collect"],
    &["backend"],
    &["metric"],
    &["encode", "parse"],
    &["query", "resources", "service"],
    &["aggregate"],
    &["sources"],
    &["export"],
    &["system"],
    &["config"],
    &["lib", "__private"],
];

/// One crate's sources: file (relative to `src`) → text without comments
/// and string contents.
struct Crate {
    files: BTreeMap<String, String>,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read_crate(src: &Path) -> Crate {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, base, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(base)
                    .expect("under src")
                    .to_string_lossy()
                    .replace('\\', "/");
                let text = fs::read_to_string(&path).expect("source file");
                out.insert(rel, without_tests(&strip(&text)));
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(src, src, &mut files);
    // Files of modules declared under `#[cfg(test)]` (`mod tests;`) are
    // test code too; their declarations are gone from the stripped text.
    let declared: BTreeSet<Vec<String>> = files
        .iter()
        .flat_map(|(file, text)| {
            declared_children(text).into_iter().map(|child| {
                let mut path = module_of(file);
                path.push(child);
                path
            })
        })
        .collect();
    files.retain(|file, _| {
        let path = module_of(file);
        path.is_empty() || declared.contains(&path)
    });
    Crate { files }
}

/// The text without the items under `#[cfg(test)]`: the attribute and the
/// item after it (a `mod x;`, a `mod x { .. }`, a `use ..;`, a `fn`) are
/// blanked.
fn without_tests(text: &str) -> String {
    let mut out = text.to_owned();
    let marker = "#[cfg(test)]";
    while let Some(at) = out.find(marker) {
        let b = out.as_bytes();
        let mut i = at + marker.len();
        let mut depth = 0usize;
        while i < b.len() {
            match b[i] {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    i += 1;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        let end = i.min(b.len());
        let blank: String = out[at..end]
            .chars()
            .map(|c| if c == '\n' { c } else { ' ' })
            .collect();
        out.replace_range(at..end, &blank);
    }
    out
}

/// The child modules a file declares with `mod x;`.
fn declared_children(text: &str) -> BTreeSet<String> {
    let b = text.as_bytes();
    let mut children = BTreeSet::new();
    for (at, _) in text.match_indices("mod ") {
        if at > 0 && is_ident(b[at - 1]) {
            continue;
        }
        let rest = &text[at + 4..];
        let n = rest.bytes().take_while(|&c| is_ident(c)).count();
        if n > 0 && rest[n..].trim_start().starts_with(';') {
            children.insert(rest[..n].to_owned());
        }
    }
    children
}

/// The text with comments removed and the contents of string and char
/// literals blanked (raw strings included), so that only code is read.
fn strip(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                out.push(' ');
            }
            b'r' if (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
                && (i == 0 || !is_ident(b[i - 1])) =>
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                j += 1;
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                while j < b.len() && !b[j..].starts_with(&close) {
                    j += 1;
                }
                i = j + close.len();
                out.push_str("\"\"");
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                out.push_str("\"\"");
            }
            b'\'' => {
                // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
                let rest = &text[i + 1..];
                let close = if rest.starts_with('\\') {
                    rest.get(2..).and_then(|r| r.find('\'')).map(|n| n + 2)
                } else {
                    rest.chars()
                        .next()
                        .filter(|_| {
                            rest[rest.chars().next().map_or(0, char::len_utf8)..].starts_with('\'')
                        })
                        .map(char::len_utf8)
                };
                if let Some(n) = close {
                    i += n + 2;
                    out.push_str("' '");
                } else {
                    out.push('\'');
                    i += 1;
                }
            }
            _ => {
                let ch = text[i..].chars().next().expect("a char");
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    out
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The module path of a file: `metric/family.rs` → `[metric, family]`.
fn module_of(file: &str) -> Vec<String> {
    let mut parts: Vec<String> = file
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_owned)
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] {
        parts.clear();
    }
    if parts == ["private"] {
        parts = vec!["__private".to_owned()];
    }
    parts
}

/// The path segments starting at byte `at` of `text`, expanded over use
/// groups: `a::{b, c::d}` gives `[a, b]` and `[a, c, d]`.
fn paths_at(text: &str, at: usize, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let b = text.as_bytes();
    let mut segs = prefix.to_vec();
    let mut i = at;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < b.len() && b[i] == b'{' {
            i += 1;
            loop {
                i = paths_at(text, i, &segs, out);
                while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b',') {
                    i += 1;
                }
                if i >= b.len() || b[i] == b'}' {
                    return i + 1;
                }
            }
        }
        let start = i;
        while i < b.len() && is_ident(b[i]) {
            i += 1;
        }
        if i == start {
            out.push(segs);
            return i;
        }
        segs.push(text[start..i].to_owned());
        if text[i..].starts_with("::") {
            i += 2;
        } else {
            out.push(segs);
            return i;
        }
    }
}

/// The inline module path (`mod tests { .. }` nesting) at each position
/// where it changes: a sorted list of (byte offset, names).
fn inline_modules(text: &str) -> Vec<(usize, Vec<String>)> {
    let b = text.as_bytes();
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut marks = vec![(0, Vec::new())];
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if stack.last().is_some_and(|&(_, d)| d == depth) {
                    stack.pop();
                    marks.push((i, stack.iter().map(|(n, _)| n.clone()).collect()));
                }
            }
            b'm' if text[i..].starts_with("mod ") && (i == 0 || !is_ident(b[i - 1])) => {
                let rest = &text[i + 4..];
                let name_len = rest.bytes().take_while(|&c| is_ident(c)).count();
                let after = rest[name_len..].trim_start();
                if name_len > 0 && after.starts_with('{') {
                    let open = i + 4 + name_len + (rest[name_len..].len() - after.len());
                    stack.push((rest[..name_len].to_owned(), depth));
                    depth += 1;
                    marks.push((open, stack.iter().map(|(n, _)| n.clone()).collect()));
                    i = open + 1;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    marks
}

/// Every file each file names, by the rules in the module docs.
fn edges(krate: &Crate) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeMap<Vec<String>, String> = krate
        .files
        .keys()
        .map(|f| (module_of(f), f.clone()))
        .collect();
    let resolve = |segs: &[String]| -> Option<String> {
        (0..=segs.len())
            .rev()
            .find_map(|n| modules.get(&segs[..n]).cloned())
    };
    let mut all = BTreeMap::new();
    for (file, text) in &krate.files {
        let me = module_of(file);
        let b = text.as_bytes();
        let marks = inline_modules(text);
        let inline_at = |pos: usize| -> Vec<String> {
            let k = marks.partition_point(|&(p, _)| p <= pos);
            marks[k.saturating_sub(1)].1.clone()
        };
        let children = declared_children(text);
        let mut named: Vec<Vec<String>> = Vec::new();
        for child in &children {
            let mut path = me.clone();
            path.push(child.clone());
            named.push(path);
        }
        let mut i = 0;
        while i < b.len() {
            let boundary = i == 0 || !(is_ident(b[i - 1]) || b[i - 1] == b':' || b[i - 1] == b'$');
            if !boundary || !is_ident(b[i]) {
                i += 1;
                continue;
            }
            let n = text[i..].bytes().take_while(|&c| is_ident(c)).count();
            let word = &text[i..i + n];
            let after = i + n;
            if !text[after..].starts_with("::") {
                i = after;
                continue;
            }
            let here: Vec<String> = me.iter().cloned().chain(inline_at(i)).collect();
            let mut found = Vec::new();
            match word {
                "crate" => {
                    paths_at(text, after + 2, &[], &mut found);
                }
                "self" => {
                    paths_at(text, after + 2, &here, &mut found);
                }
                "super" => {
                    let mut base = here.clone();
                    let mut j = i;
                    while text[j..].starts_with("super::") {
                        base.pop();
                        j += "super::".len();
                    }
                    paths_at(text, j, &base, &mut found);
                }
                child if children.contains(child) && inline_at(i).is_empty() => {
                    paths_at(text, i, &me, &mut found);
                }
                _ => {}
            }
            named.extend(found);
            i = after;
        }
        let targets: BTreeSet<String> = named
            .iter()
            .filter_map(|p| resolve(p))
            .filter(|t| t != file)
            .collect();
        all.insert(file.clone(), targets);
    }
    all
}

/// The strongly connected components with more than one file.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Kosaraju: finish order on the graph, then components on its reverse.
    fn visit<'a>(
        v: &'a str,
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        seen: &mut BTreeSet<&'a str>,
        order: &mut Vec<&'a str>,
    ) {
        if !seen.insert(v) {
            return;
        }
        for w in edges.get(v).into_iter().flatten() {
            visit(w, edges, seen, order);
        }
        order.push(v);
    }
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    for v in edges.keys() {
        visit(v, edges, &mut seen, &mut order);
    }
    let mut reverse: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (v, ws) in edges {
        for w in ws {
            reverse.entry(w.clone()).or_default().insert(v.clone());
        }
    }
    let mut assigned = BTreeSet::new();
    let mut components = Vec::new();
    for &v in order.iter().rev() {
        if assigned.contains(v) {
            continue;
        }
        let mut component = Vec::new();
        let mut stack = vec![v.to_owned()];
        while let Some(x) = stack.pop() {
            if !assigned.insert(x.clone()) {
                continue;
            }
            for w in reverse.get(&x).into_iter().flatten() {
                if !assigned.contains(w) {
                    stack.push(w.clone());
                }
            }
            component.push(x);
        }
        if component.len() > 1 {
            component.sort();
            components.push(component);
        }
    }
    components
}

fn describe_cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> String {
    cycles(edges)
        .iter()
        .map(|c| {
            let inside: Vec<String> = c
                .iter()
                .flat_map(|v| {
                    edges[v]
                        .iter()
                        .filter(|w| c.contains(w))
                        .map(move |w| format!("  {v} -> {w}"))
                })
                .collect();
            format!("cycle of {} files:\n{}", c.len(), inside.join("\n"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn layer_of(file: &str) -> usize {
    let mut path = module_of(file);
    if path.is_empty() {
        path.push("lib".to_owned());
    }
    let matches = |entry: &str| {
        let parts: Vec<&str> = entry.split('/').collect();
        path.len() >= parts.len() && path.iter().zip(&parts).all(|(a, b)| a == b)
    };
    LAYERS
        .iter()
        .enumerate()
        .flat_map(|(layer, entries)| entries.iter().map(move |e| (layer, *e)))
        .filter(|&(_, entry)| matches(entry))
        .max_by_key(|&(_, entry)| entry.split('/').count())
        .map_or_else(
            || panic!("{file} has no layer in LAYERS"),
            |(layer, _)| layer,
        )
}

#[test]
fn no_file_of_the_runtime_reaches_itself() {
    let krate = read_crate(&workspace().join("runtime/src"));
    assert!(krate.files.len() > 30, "read {} files", krate.files.len());
    let edges = edges(&krate);
    let found = describe_cycles(&edges);
    assert!(found.is_empty(), "import cycles in runtime/src:\n{found}");
}

#[test]
fn no_file_of_the_macros_reaches_itself() {
    let krate = read_crate(&workspace().join("macros/src"));
    let edges = edges(&krate);
    let found = describe_cycles(&edges);
    assert!(found.is_empty(), "import cycles in macros/src:\n{found}");
}

#[test]
fn runtime_imports_run_down_the_layers() {
    let krate = read_crate(&workspace().join("runtime/src"));
    let mut upward = Vec::new();
    for (file, targets) in edges(&krate) {
        for target in targets {
            if layer_of(&target) > layer_of(&file) {
                upward.push(format!("{file} -> {target}"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that run up the layers ({LAYERS:?}):\n{}",
        upward.join("\n")
    );
}

// The checker's own tests: it must see what it is meant to see.

fn crate_of(files: &[(&str, &str)]) -> Crate {
    Crate {
        files: files
            .iter()
            .map(|&(f, t)| (f.to_owned(), without_tests(&strip(t))))
            .collect(),
    }
}

#[test]
fn the_checker_skips_test_code() {
    let krate = crate_of(&[
        ("lib.rs", "mod a;\nmod b;"),
        (
            "a.rs",
            "pub fn f() {}\n#[cfg(test)]\nmod tests { use crate::b::g; fn t() { g(); } }",
        ),
        ("b.rs", "pub fn g() { crate::a::f(); }"),
    ]);
    let e = edges(&krate);
    assert!(e["a.rs"].is_empty(), "{:?}", e["a.rs"]);
    assert_eq!(e["b.rs"].iter().collect::<Vec<_>>(), ["a.rs"]);
}

#[test]
fn the_checker_sees_crate_super_child_and_group_paths() {
    let krate = crate_of(&[
        ("lib.rs", "mod a;\nmod b;\npub use a::X;"),
        ("a/mod.rs", "mod c;\npub use c::Y;\nuse crate::{b::Z, b};"),
        ("a/c.rs", "use super::super::b::Z;\nfn f() { self::g(); }"),
        ("b.rs", "// crate::a::X in a comment\nconst S: &str = \"crate::a\";\nmod tests { use super::*; }"),
    ]);
    let e = edges(&krate);
    let names = |f: &str| e[f].iter().cloned().collect::<Vec<_>>();
    assert_eq!(names("lib.rs"), ["a/mod.rs", "b.rs"]);
    assert_eq!(names("a/mod.rs"), ["a/c.rs", "b.rs"]);
    assert_eq!(names("a/c.rs"), ["b.rs"]);
    assert!(names("b.rs").is_empty(), "{:?}", names("b.rs"));
    assert!(cycles(&e).is_empty());
}

#[test]
fn the_checker_finds_a_cycle_through_a_parent() {
    let krate = crate_of(&[
        ("lib.rs", "mod a;"),
        ("a/mod.rs", "mod c;\npub struct Shared;"),
        ("a/c.rs", "use super::Shared;"),
    ]);
    let found = cycles(&edges(&krate));
    assert_eq!(found, [vec!["a/c.rs".to_owned(), "a/mod.rs".to_owned()]]);
}

#[test]
fn the_checker_finds_a_name_taken_through_the_root() {
    let krate = crate_of(&[
        ("lib.rs", "mod a;\nmod b;\npub use a::X;"),
        ("a.rs", "pub struct X;"),
        ("b.rs", "fn f(_: crate::X) {}"),
    ]);
    let found = cycles(&edges(&krate));
    assert_eq!(found, [vec!["b.rs".to_owned(), "lib.rs".to_owned()]]);
}
