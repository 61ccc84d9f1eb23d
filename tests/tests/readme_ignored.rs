//! The README says which tests are ignored in the plain run and why: every
//! ignore attribute's reason in the workspace's tests is one of its rows.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_ignore_reason_is_in_the_readme() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = fs::read_to_string(root.join("README.md")).expect("README.md");
    let mut files = Vec::new();
    for dir in [
        "tests", "examples", "runtime", "macros", "ui-tests", "benches",
    ] {
        rust_files(&root.join(dir), &mut files);
    }
    let marker = concat!("#[ignore", " = \"");
    let mut reasons = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).expect("source file");
        for (at, _) in text.match_indices(marker) {
            let rest = &text[at + marker.len()..];
            let reason = &rest[..rest.find('"').expect("a closed reason")];
            reasons.push((reason.to_owned(), file.clone()));
        }
    }
    assert!(
        reasons.len() >= 15,
        "found only {} ignored tests",
        reasons.len()
    );
    let missing: Vec<String> = reasons
        .iter()
        .filter(|(reason, _)| !readme.contains(&format!("| {reason} |")))
        .map(|(reason, file)| format!("`{reason}` ({})", file.display()))
        .collect();
    assert!(
        missing.is_empty(),
        "ignore reasons without a row in the README's table:\n{}",
        missing.join("\n")
    );
}
