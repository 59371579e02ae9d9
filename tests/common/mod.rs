//! Helpers shared by the integration tests: run the binary, compare whole outputs with
//! golden files (`LBCONVERGE_BLESS=1` rewrites them), skip root/VM tests visibly, and the
//! VRRP lab in network namespaces ([`lab`]).
#![allow(dead_code)]

pub mod backends;
pub mod lab;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `lbconverge` with `args` from the repository root, colour off.
pub fn lbconverge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lbconverge"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        // The examples are in this repository: their plans must not name its commit, so
        // git's GIT_DIR points at no repository.
        .env("GIT_DIR", "/nonexistent")
        .output()
        .expect("run lbconverge")
}

/// True when goldens should be rewritten instead of compared (`LBCONVERGE_BLESS=1`).
pub fn blessing() -> bool {
    lbconverge::testkit::blessing()
}

/// Compares `got` with the golden file at `rel` (relative to the root); returns a report of
/// the difference, or `None` when equal (or when blessing, after writing the file).
pub fn check_golden(rel: &str, got: &str) -> Option<String> {
    let path = root().join(rel);
    if blessing() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(&path, got).unwrap();
        return None;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if want == got {
        return None;
    }
    let diff = similar::TextDiff::from_lines(&want, got);
    Some(format!("--- {rel} (golden)\n+++ {rel} (got)\n{}", diff.unified_diff().context_radius(3)))
}

/// Fails with every collected mismatch.
pub fn assert_no_mismatch(mismatches: Vec<String>) {
    assert!(
        mismatches.is_empty(),
        "{} golden mismatch(es); rerun with LBCONVERGE_BLESS=1 if the change is intended:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// Every example manifest, sorted.
pub fn examples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    v
}

/// The file stem as a string.
pub fn stem(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

/// Reports a skipped test on stderr in a form CI logs show; returns true when skipping.
/// As root (CI, where tools/test installs every tool) nothing is skipped: a missing tool
/// fails the test instead of letting it pass untested.
pub fn skip_unless(cond: bool, test: &str, reason: &str) -> bool {
    assert!(cond || !is_root(), "{test}: {reason}; as root, tools/test installs it: a test never passes untested");
    if !cond {
        eprintln!("SKIPPED {test}: {reason}");
    }
    !cond
}

/// Returns true if and only if running as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc_geteuid() == 0 }
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}
