//! The fast YAML path against the full parser: whenever `manifest::fast::parse` gives a
//! value, the full parser must give the same one. Checked on every manifest in the tree,
//! on thousands of mutations of them, and on a table of scalars that look alike but read
//! differently; and the fast path must take the manifests people write (else it is dead).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

use std::path::{Path, PathBuf};

use lbconverge::manifest::{fast, full_value};
use lbconverge::testkit::Rng;

fn full(text: &str) -> Option<serde_json::Value> {
    full_value(text).ok()
}

/// Fails when the fast path gives a value the full parser does not; returns whether the
/// fast path took the text.
fn agree(text: &str, what: &str) -> bool {
    let Some(fast) = fast::parse(text) else { return false };
    match full(text) {
        Some(v) => assert_eq!(fast, v, "{what}: the fast path read another value from:\n{text}"),
        None => panic!("{what}: the fast path took a text the full parser refuses:\n{text}"),
    }
    true
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

fn corpus() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["examples", "tests", "golden", "fuzz/corpus/manifest"] {
        yaml_files(&root.join(dir), &mut files);
    }
    let seeds = root.join("fuzz/corpus/manifest");
    files.extend(std::fs::read_dir(seeds).unwrap().map(|e| e.unwrap().path()));
    files.sort();
    files.dedup();
    files
        .into_iter()
        .filter_map(|p| Some((p.display().to_string(), String::from_utf8(std::fs::read(&p).ok()?).ok()?)))
        .collect()
}

#[test]
fn every_manifest_in_the_tree_reads_the_same() {
    let mut taken = 0;
    for (name, text) in corpus() {
        taken += usize::from(agree(&text, &name));
    }
    assert!(taken > 100, "the fast path took only {taken} files");
}

#[test]
fn the_examples_take_the_fast_path() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    yaml_files(&root.join("examples"), &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(agree(&text, &f.display().to_string()), "{} leaves the fast path", f.display());
    }
}

#[test]
fn mutated_manifests_read_the_same() {
    const PIECES: &[&str] = &[
        " ", "  ", ":", ": ", "-", "- ", "#", " #", "'", "\"", "[", "]", "{", "}", ",", "\n", "\n  ", "\n- ", "0", "1",
        ".", "a", "&a", "*a", "!", "|", ">", "?", "%", "@", "~", "\\", "null", "True", "0x1", "1.5", "<<", "---",
        "...", "é", "\u{200b}", "1e3", "-1", "010", "::1",
    ];
    let mut rng = Rng::new(12);
    let mut taken = 0;
    let mut tried = 0;
    for (name, text) in corpus().into_iter().filter(|(n, _)| n.contains("examples")) {
        for _ in 0..400 {
            let mut t = text.clone();
            for _ in 0..=rng.below(3) {
                let mut at = rng.below(t.len() as u64 + 1) as usize;
                while !t.is_char_boundary(at) {
                    at -= 1;
                }
                match rng.below(3) {
                    0 => t.insert_str(at, PIECES[rng.below(PIECES.len() as u64) as usize]),
                    1 if at < t.len() => {
                        let end = (at + 1..=t.len()).find(|i| t.is_char_boundary(*i)).unwrap_or(t.len());
                        t.replace_range(at..end, "");
                    }
                    _ => {
                        let end = (at + 1..=t.len()).find(|i| t.is_char_boundary(*i)).unwrap_or(t.len());
                        t.replace_range(at..end, PIECES[rng.below(PIECES.len() as u64) as usize]);
                    }
                }
            }
            tried += 1;
            taken += usize::from(agree(&t, &name));
        }
    }
    assert!(taken * 4 > tried, "the fast path took {taken} of {tried} mutations");
}

#[test]
fn scalars_that_look_alike_read_the_same() {
    const SCALARS: &[&str] = &[
        "10.0.0.1",
        "10.0.0.0/8",
        "1.0.0",
        "1..2",
        "1.5",
        "1_000",
        "0x10",
        "0x",
        "0xG",
        "0o10",
        "0o",
        "0b101",
        "0b",
        "010",
        "00",
        "0",
        "-0",
        "-01",
        "+1",
        "-1",
        "1e3",
        "1e",
        "1E",
        "12e",
        "1e+3",
        ".5",
        "5.",
        ".",
        "-",
        "--",
        "1-2",
        "200-299",
        "1-",
        "-1-2",
        "1-2-3",
        "01-2",
        "1:30",
        "12:00",
        "2001:db8::1",
        "::1",
        "fe80::1%eth0",
        "10s",
        "1.5s",
        "100ms",
        "1m30s",
        "5h",
        "Yes",
        "On",
        "off",
        "no",
        "y",
        "N",
        "true",
        "True",
        "TRUE",
        "tRUE",
        "false",
        "False",
        "null",
        "Null",
        "NULL",
        "nulL",
        "~",
        "inf",
        "Inf",
        ".inf",
        "nan",
        "NaN",
        ".NaN",
        "infinity",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "a#b",
        "a #b",
        "a:b",
        "a: b",
        "a, b",
        "a]b",
        "a}b",
        "a[b",
        "'x'",
        "'it''s'",
        "\"a\\tb\"",
        "\"a\\x41\"",
        "\"a\\u0041\"",
        "\"\"",
        "''",
        "é",
        "a\u{200b}b",
        "<<",
        "=",
        "a b  ",
        "[a, b]",
        "[a, [b]]",
        "{a: 1}",
        "{a: 1, a: 2}",
        "[a,]",
        "{a}",
        "{a: }",
        "[]",
        "{}",
        "[ ]",
        "{'a': 1}",
        "::1/128",
        "::",
        ":::",
        "::g",
        "1::/64",
        "2001:db8::/32",
        "::ffff:10.0.0.1",
        "a::b",
        "fe80::1/",
        "-x",
        "-/x",
        "-inf",
        "-Inf",
        "-nan",
        "-true",
        "-null",
        "-x:y",
        "-x y",
        "-",
        "-:",
        "-a#b",
        ":a",
        ":",
        "a:",
        "{\"a\": 1}",
        "{a: [1, {b: c}]}",
        "[a: b]",
        "[-1, +1]",
        "[a#b]",
        "[ a , b ]",
    ];
    let mut taken = 0;
    for s in SCALARS {
        for doc in [
            format!("k: {s}\n"),
            format!("k:\n  - {s}\n"),
            format!("k: [{s}]\n"),
            format!("k: {{v: {s}}}\n"),
            format!("{s}: 1\n"),
            format!("k:\n- {s}: 1\n"),
            format!("k: {{{s}: 1}}\n"),
        ] {
            taken += usize::from(agree(&doc, s));
        }
    }
    assert!(taken > 300, "the fast path took only {taken} documents");
}

#[test]
fn block_layouts_read_the_same() {
    const DOCS: &[&str] = &[
        "a:\n- 1\n- 2\nb: 3\n",
        "a:\n  - 1\n  - 2\nb: 3\n",
        "a:\n  - x: 1\n    y: 2\n  - - 3\n    - 4\n",
        "a:\n  - x:\n    y: 2\n",
        "a:\n  - x:\n      y: 2\n",
        "a:\n- x:\n  - 1\n",
        "a:\n  -\n    x: 1\n  -\n  - 2\n",
        "---\na: 1\n",
        "--- # c\na: 1\n",
        "a: 1\n---\nb: 2\n",
        "a: 1\n...\n",
        "a: 1\n  b: 2\n",
        "a: x\n  y\n",
        "a:\n    b: 1\n  c: 2\n",
        "a: 1 # c\n# c\n  # c\nb: 2\n",
        "a: 'x' # c\nb: \"y\"#c\n",
        "a: [1,\n  2]\n",
        "a: 1\na: 2\n",
        "a:\n  b: 1\n  b: 2\n",
        " a: 1\n",
        "a: |\n  x\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "- 1\n",
        "x\n",
        "a: b: c\n",
        "a:b: 1\n",
        "? a\n: 1\n",
        "a:   \n  b: 1\n",
        "a: -\n",
        "a:\n  - - - 1\n",
        "'a b': 1\n\"c\": 2\n",
        "'a': 1\n'a': 2\n",
    ];
    let mut taken = 0;
    for doc in DOCS {
        taken += usize::from(agree(doc, doc));
    }
    assert!(taken >= 14, "the fast path took only {taken} layouts");
}

#[test]
fn deep_and_large_documents_are_left_to_the_full_parser_near_its_budgets() {
    let deep = format!("a: {}1{}\n", "[".repeat(60), "]".repeat(60));
    assert!(!agree(&deep, "60 nested flows"));
    let mut nested = String::from("a:\n");
    for i in 1..70 {
        nested.push_str(&format!("{}b:\n", "  ".repeat(i)));
    }
    assert!(!agree(&nested, "70 nested mappings"));
}
