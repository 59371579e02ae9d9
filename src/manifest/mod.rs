//! The manifest file: reading it, parsing the YAML (with locations), checking its shape
//! against the JSON Schema, and the typed parse. This is the only module that reads the
//! manifest file; everything after it works on values.

// A Problem is the whole diagnostic (file, position, path, message, hint) and is built once
// per failed parse; boxing it would only add noise.
#![allow(clippy::result_large_err)]

pub mod problem;
pub mod schema;
pub mod types;
pub mod yaml;

use std::path::{Path, PathBuf};

pub use problem::{Problem, Problems, Severity};
pub use types::Manifest;
pub use yaml::{KeyPath, Located, Pos};

/// Manifests larger than this are refused before parsing.
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;

/// A manifest parsed and shape-checked, with what later layers need to locate problems.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file name as the user gave it.
    pub file: String,
    /// The directory relative paths in the manifest (secret files) are resolved against.
    pub dir: PathBuf,
    /// The located YAML tree, for mapping key paths to lines.
    pub tree: Located,
    /// The typed manifest.
    pub manifest: Manifest,
}

impl Loaded {
    /// Makes a problem at `path`, located in this file.
    pub fn problem(&self, severity: Severity, path: KeyPath, message: String) -> Problem {
        Problem {
            severity,
            file: self.file.clone(),
            pos: Some(yaml::locate(&self.tree, &path)),
            path,
            message,
            hint: None,
        }
    }
}

/// Reads and parses the manifest at `path`.
pub fn load(path: &Path) -> Result<Loaded, Problems> {
    let file = path.display().to_string();
    let bytes = read(path, &file)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse(&file, dir, &bytes)
}

fn read(path: &Path, file: &str) -> Result<Vec<u8>, Problems> {
    let whole = |message: String, hint: Option<String>| {
        Problems(vec![Problem {
            severity: Severity::Error,
            file: file.to_string(),
            pos: None,
            path: KeyPath::root(),
            message,
            hint,
        }])
    };
    let meta = std::fs::metadata(path).map_err(|e| whole(format!("cannot read: {e}"), None))?;
    if meta.is_dir() {
        return Err(whole("is a directory, not a manifest file".into(), None));
    }
    if meta.len() > MAX_BYTES {
        let msg = format!("is {} bytes; a manifest may be at most {MAX_BYTES} bytes", meta.len());
        return Err(whole(msg, Some("check that this is the right file".into())));
    }
    std::fs::read(path).map_err(|e| whole(format!("cannot read: {e}"), None))
}

/// Parses manifest bytes; `file` names them in problems.
pub fn parse(file: &str, dir: PathBuf, bytes: &[u8]) -> Result<Loaded, Problems> {
    let text = utf8(file, bytes).map_err(|p| Problems(vec![p]))?;
    let tree = parse_tree(file, text).map_err(|p| Problems(vec![p]))?;
    expect_mapping(file, &tree).map_err(|p| Problems(vec![p]))?;
    let shape = schema::check(file, &tree);
    if !shape.is_empty() {
        return Err(Problems(shape));
    }
    let manifest = serde_saphyr::from_str_with_options::<Manifest>(text, options())
        .map_err(|e| Problems(vec![saphyr_problem(file, &e)]))?;
    Ok(Loaded { file: file.to_string(), dir, tree, manifest })
}

/// Parser options: strict booleans (`no`/`on` stay strings), duplicate keys are errors,
/// budgets (depth 64, bounded alias replay, 4M nodes) against hostile input.
pub fn options() -> serde_saphyr::Options {
    // Room for 10,000 services x 4 backends; alias replay stays capped at its default.
    let mut budget = serde_saphyr::budget::Budget::default();
    budget.max_nodes = 4_000_000;
    budget.max_events = 16_000_000;
    serde_saphyr::options! {
        strict_booleans: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        with_snippet: false,
        budget: Some(budget),
    }
}

fn utf8<'a>(file: &str, bytes: &'a [u8]) -> Result<&'a str, Problem> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = good.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        let start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&good[start..]).chars().count() as u64 + 1;
        Problem {
            severity: Severity::Error,
            file: file.to_string(),
            pos: Some(Pos { line, column }),
            path: KeyPath::root(),
            message: "the file is not UTF-8 text (is it a binary file?)".into(),
            hint: Some("a manifest is a YAML text file encoded in UTF-8".into()),
        }
    })
}

fn parse_tree(file: &str, text: &str) -> Result<Located, Problem> {
    if text.trim().is_empty() {
        return Err(empty(file));
    }
    if let Some(at) = text.find('\0') {
        let line = text[..at].matches('\n').count() as u64 + 1;
        let column = text[..at].rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
        return Err(Problem {
            severity: Severity::Error,
            file: file.to_string(),
            pos: Some(Pos { line, column }),
            path: KeyPath::root(),
            message: "the file contains NUL bytes (is it a binary file?)".into(),
            hint: Some("a manifest is a YAML text file encoded in UTF-8".into()),
        });
    }
    let spanned: serde_saphyr::Spanned<yaml::Node> =
        serde_saphyr::from_str_with_options(text, options()).map_err(|e| saphyr_problem(file, &e))?;
    let pos = Pos { line: spanned.referenced.line(), column: spanned.referenced.column() };
    Ok(Located { pos, node: spanned.value })
}

fn empty(file: &str) -> Problem {
    Problem {
        severity: Severity::Error,
        file: file.to_string(),
        pos: None,
        path: KeyPath::root(),
        message: "the manifest is empty".into(),
        hint: Some("start with `version: 1` and a `nodes:` mapping".into()),
    }
}

fn expect_mapping(file: &str, tree: &Located) -> Result<(), Problem> {
    match &tree.node {
        yaml::Node::Map(_) => Ok(()),
        yaml::Node::Null => Err(empty(file)),
        _ => Err(Problem {
            severity: Severity::Error,
            file: file.to_string(),
            pos: Some(tree.pos),
            path: KeyPath::root(),
            message: "the manifest must be a mapping of keys (version, nodes, services, ...)".into(),
            hint: Some("start with `version: 1` and a `nodes:` mapping".into()),
        }),
    }
}

/// Turns a YAML parser error into a located problem.
pub fn saphyr_problem(file: &str, e: &serde_saphyr::Error) -> Problem {
    let pos = e.location().filter(|l| l.line() > 0).map(|l| Pos { line: l.line(), column: l.column() });
    let mut message = e.without_snippet().to_string();
    if let Some(p) = pos {
        // The parser appends its own position; ours is in front already.
        for suffix in
            [format!(" at line {} column {}", p.line, p.column), format!(" at line {}, column {}", p.line, p.column)]
        {
            if let Some(stripped) = message.strip_suffix(&suffix) {
                message = stripped.to_string();
            }
        }
    }
    let (message, hint) = explain(message);
    Problem { severity: Severity::Error, file: file.to_string(), pos, path: KeyPath::root(), message, hint }
}

/// Rewrites parser messages meant for developers into ones meant for operators.
fn explain(message: String) -> (String, Option<String>) {
    const DUP: &str = ", set DuplicateKeyPolicy in Options if acceptable";
    if let Some(m) = message.strip_suffix(DUP) {
        return (m.to_string(), Some("a key may appear only once in a mapping; remove or rename one of them".into()));
    }
    if message.starts_with("budget breached") || message.contains("recursion limit exceeded") {
        let hint = "a manifest may nest at most 64 levels, hold at most 4 million values, and expand aliases to at most a million; this looks like an alias bomb or a generated file";
        let short = message.split(" at line ").next().unwrap_or(&message).to_string();
        return (format!("the document is too large or too deeply nested ({short})"), Some(hint.into()));
    }
    (message, None)
}
