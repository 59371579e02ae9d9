//! The fast YAML path against the full parser: whenever `manifest::fast::parse` gives a
//! value, the full parser must give the same one. Checked on every manifest in the tree,
//! on thousands of mutations of them, and on a table of scalars that look alike but read
//! differently; and the fast path must take the manifests people write (else it is dead).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

use std::path::{Path, PathBuf};

use lbconverge::manifest::{self, fast, full_value, shape};
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

/// The typed fast path (tree -> shape check -> typed manifest) and the full path (value ->
/// JSON Schema -> typed manifest) must give the same manifest, or the same problems;
/// returns whether the typed fast path took the text.
fn same_outcome(text: &str, what: &str) -> bool {
    let (_, differ) = manifest::parse_and_compare("m.yaml", ".".into(), text.as_bytes());
    if let Some(why) = differ {
        panic!("{what}: {why}\nfrom:\n{text}");
    }
    fast::tree(text).is_some_and(|t| shape::fits(&t))
}

/// A value as block YAML (what people write), keys plain when they can be.
fn block(v: &serde_json::Value, indent: usize, out: &mut String) {
    use serde_json::Value;
    let pad = " ".repeat(indent);
    let nested =
        |v: &Value| matches!(v, Value::Object(m) if !m.is_empty()) || matches!(v, Value::Array(a) if !a.is_empty());
    let line = |head: String, v: &Value, out: &mut String| {
        if nested(v) {
            out.push_str(&format!("{pad}{head}\n"));
            block(v, indent + 2, out);
        } else {
            out.push_str(&format!("{pad}{head} {}\n", serde_json::to_string(v).unwrap()));
        }
    };
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let plain = k.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
                    && k.starts_with(|c: char| c.is_ascii_alphabetic());
                let key = if plain { k.clone() } else { serde_json::to_string(k).unwrap() };
                line(format!("{key}:"), v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| line("-".into(), v, out)),
        scalar => out.push_str(&format!("{}\n", serde_json::to_string(scalar).unwrap())),
    }
}

/// Changes one node of `v`: another value, a key removed, or a key added.
fn mutate(v: &mut serde_json::Value, rng: &mut Rng) {
    use serde_json::{Value, json};
    let values = [
        json!(0),
        json!(1),
        json!(-1),
        json!(2),
        json!(255),
        json!(256),
        json!(1024),
        json!(65535),
        json!(65536),
        json!(4294967295u64),
        json!(4294967296u64),
        json!(""),
        json!("x"),
        json!("rr"),
        json!("DR"),
        json!("dr"),
        json!("tcp"),
        json!("5s"),
        json!("10.0.0.1"),
        json!(true),
        json!(false),
        json!(null),
        json!([]),
        json!({}),
        json!(["a"]),
        json!({"a": 1}),
        json!([1]),
    ];
    let stop = rng.below(3) == 0;
    match v {
        Value::Object(m) if !m.is_empty() && !stop => {
            let i = rng.below(m.len() as u64) as usize;
            let key = m.keys().nth(i).unwrap().clone();
            match rng.below(8) {
                0 => drop(m.shift_remove(&key)),
                1 => drop(m.insert(["bogus", "weigth", "port", "vip"][rng.below(4) as usize].into(), json!(1))),
                _ => mutate(m.get_mut(&key).unwrap(), rng),
            }
        }
        Value::Array(a) if !a.is_empty() && !stop => {
            let i = rng.below(a.len() as u64) as usize;
            mutate(&mut a[i], rng);
        }
        // Half the time a value of the same kind, which more often still fits.
        _ => {
            let same: Vec<&Value> =
                values.iter().filter(|x| std::mem::discriminant(*x) == std::mem::discriminant(v)).collect();
            *v = match rng.below(2) {
                0 if !same.is_empty() => same[rng.below(same.len() as u64) as usize].clone(),
                _ => values[rng.below(values.len() as u64) as usize].clone(),
            };
        }
    }
}

#[test]
fn the_typed_fast_path_builds_what_the_full_path_builds() {
    let mut rng = Rng::new(7);
    let (mut tried, mut quick, mut refused) = (0, 0, 0);
    for (name, text) in corpus() {
        let took = same_outcome(&text, &name);
        quick += usize::from(took);
        let Some(value) = fast::parse(&text) else { continue };
        if !name.contains("examples") {
            continue;
        }
        for _ in 0..150 {
            let mut v = value.clone();
            for _ in 0..=rng.below(2) {
                // Below the top: a manifest stays a mapping.
                let top = v.as_object_mut().unwrap();
                let key = top.keys().nth(rng.below(top.len() as u64) as usize).unwrap().clone();
                mutate(top.get_mut(&key).unwrap(), &mut rng);
            }
            let mut doc = String::new();
            block(&v, 0, &mut doc);
            tried += 1;
            let took = same_outcome(&doc, &name);
            quick += usize::from(took);
            refused += usize::from(!took && fast::tree(&doc).is_some());
        }
    }
    assert!(
        quick > 600 && refused > 2000,
        "{tried} mutations: {quick} took the typed fast path, {refused} did not fit"
    );
}

#[test]
fn the_shape_check_refuses_what_the_schema_refuses() {
    let base = "version: 1\nnodes:\n  d1: {roles: [director], addresses: [10.0.0.2/24], interface: eth0}\nservices:\n  web:\n    vip: 10.0.0.10\n    port: 80\n    backends:\n      a: {address: 10.0.0.21}\n";
    assert!(shape::fits(&fast::tree(base).unwrap()), "the base manifest must fit");
    for (from, to) in [
        ("port: 80", "port: 0"),
        ("port: 80", "port: 65536"),
        ("port: 80", "port: '80'"),
        ("port: 80", "port: 80\n    weigth: 1"),
        ("version: 1", "version: 2"),
        ("version: 1\n", ""),
        ("roles: [director]", "roles: []"),
        ("roles: [director]", "roles: [Director]"),
        ("{address: 10.0.0.21}", "{address: 10.0.0.21, weight: -1}"),
        ("{address: 10.0.0.21}", "{address: [10.0.0.21]}"),
        ("interface: eth0", "interface: null"),
    ] {
        let text = base.replacen(from, to, 1);
        let tree = fast::tree(&text).unwrap();
        assert!(!shape::fits(&tree), "`{to}` fits the shape check:\n{text}");
        assert!(manifest::parse("m.yaml", ".".into(), text.as_bytes()).is_err(), "`{to}` was accepted");
    }
}
