//! Golden tests: for every example x node (against the empty host) and every case in
//! golden/cases.txt, the text plan and the JSON plan are compared whole with the files in
//! golden/. Also `validate` output per example. `LBCONVERGE_BLESS=1` rewrites them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use common::{assert_no_mismatch, check_golden, examples, lbconverge, root, stem};

fn nodes_of(example: &std::path::Path) -> Vec<String> {
    let loaded = lbconverge::manifest::load(example).unwrap();
    loaded.manifest.nodes.keys().cloned().collect()
}

fn plan_case(example: &str, node: Option<&str>, snapshot: &str, mismatches: &mut Vec<String>) {
    let manifest = format!("examples/{example}.yaml");
    let live = format!("examples/live/{snapshot}.yaml");
    let label = node.unwrap_or("auto");
    for (format, ext) in [("text", "txt"), ("json", "json")] {
        let mut args = vec!["plan", manifest.as_str(), "--live", live.as_str(), "--format", format];
        if let Some(n) = node {
            args.extend(["--node", n]);
        }
        let out = lbconverge(&args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            mismatches.push(format!("plan {args:?} failed ({}): {stderr}", out.status));
            continue;
        }
        if let Some(m) = check_golden(&format!("golden/{example}/{label}@{snapshot}.{ext}"), &stdout) {
            mismatches.push(m);
        }
    }
}

#[test]
fn plans_match_goldens() {
    let mut mismatches = Vec::new();
    for ex in examples() {
        let example = stem(&ex);
        for node in nodes_of(&ex) {
            plan_case(&example, Some(&node), "empty", &mut mismatches);
        }
    }
    let cases = std::fs::read_to_string(root().join("golden/cases.txt")).unwrap();
    for line in cases.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let node = (f[1] != "-").then_some(f[1]);
        plan_case(f[0], node, f[2], &mut mismatches);
    }
    assert_no_mismatch(mismatches);
}

#[test]
fn validate_matches_goldens() {
    let mut mismatches = Vec::new();
    for ex in examples() {
        let rel = format!("examples/{}.yaml", stem(&ex));
        let out = lbconverge(&["validate", &rel]);
        let text = format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(m) = check_golden(&format!("golden/{}/validate.txt", stem(&ex)), &text) {
            mismatches.push(m);
        }
    }
    assert_no_mismatch(mismatches);
}
