//! Keeps docs/conformance.md true: every test it names exists, every test named after a
//! checklist ID is listed under that ID, every "done" rule has a test, and (when the checklist is
//! beside the repository) every checklist ID has a row.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(fs::read_to_string(&path).unwrap());
        }
    }
}

/// Every `fn name` in src/, tests/, fuzz/ and the stores' crates (stores/).
fn function_names(root: &Path) -> BTreeSet<String> {
    let mut sources = Vec::new();
    for dir in ["src", "tests", "fuzz/fuzz_targets", "stores"] {
        rust_files(&root.join(dir), &mut sources);
    }
    let mut names = BTreeSet::new();
    for source in sources {
        for part in source.split("fn ").skip(1) {
            let name: String = part.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                names.insert(name);
            }
        }
    }
    names
}

/// The checklist ID a test name starts with, e.g. `az04_...` -> `AZ-04`, `par01_...` -> `PAR-01`.
fn id_of(test: &str) -> Option<String> {
    let letters: String = test.chars().take_while(|c| c.is_ascii_lowercase()).collect();
    let rest = &test[letters.len()..];
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let known = [
        "az", "pk", "ac", "tk", "cc", "rt", "rv", "in", "md", "rs", "jwt", "dp", "par", "ca", "ri", "prm", "reg", "dg",
        "fapi", "sec",
    ];
    (known.contains(&letters.as_str()) && digits.len() == 2 && rest[2..].starts_with('_'))
        .then(|| format!("{}-{digits}", letters.to_uppercase()))
}

struct Row {
    status: String,
    tests: Vec<String>,
}

fn rows(doc: &str) -> BTreeMap<String, Row> {
    let mut rows = BTreeMap::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 5
            || !cells[1].contains('-')
            || !cells[1].chars().next().is_some_and(|c| c.is_ascii_uppercase())
        {
            continue;
        }
        let tests = cells[3].split('`').skip(1).step_by(2).map(str::to_owned).collect();
        rows.insert(cells[1].to_owned(), Row { status: cells[2].to_owned(), tests });
    }
    rows
}

#[test]
fn conformance_doc_matches_the_tests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = fs::read_to_string(root.join("docs/conformance.md")).expect("docs/conformance.md");
    let rows = rows(&doc);
    let functions = function_names(root);
    let mut problems = Vec::new();

    for (id, row) in &rows {
        for test in &row.tests {
            if !functions.contains(test) {
                problems.push(format!("{id}: names `{test}`, which does not exist"));
            }
        }
        if row.status.starts_with("done") && row.tests.is_empty() {
            problems.push(format!("{id}: marked done without a test"));
        }
    }
    for name in &functions {
        if let Some(id) = id_of(name) {
            match rows.get(&id) {
                Some(row) if row.tests.contains(name) => {}
                Some(_) => problems.push(format!("`{name}` is not listed under {id}")),
                None => problems.push(format!("`{name}` pins {id}, which has no row")),
            }
        }
    }
    // Test names cited anywhere else on the page (vectors, attack classes) must exist too.
    for cited in doc.split('`').skip(1).step_by(2) {
        let looks_like_test =
            cited.contains('_') && cited.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if looks_like_test && !functions.contains(cited) {
            problems.push(format!("cites `{cited}`, which does not exist"));
        }
    }
    let checklist = root.join("../shared/SPEC-CHECKLIST.md");
    if let Ok(text) = fs::read_to_string(checklist) {
        for id in rows_ids(&text) {
            if !rows.contains_key(&id) {
                problems.push(format!("checklist ID {id} has no row"));
            }
        }
    }
    assert!(problems.is_empty(), "docs/conformance.md is stale:\n{}", problems.join("\n"));
}

fn rows_ids(checklist: &str) -> Vec<String> {
    checklist
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(' ').next())
        .filter(|id| id.contains('-') && id.chars().last().is_some_and(|c| c.is_ascii_digit()))
        .map(str::to_owned)
        .collect()
}
