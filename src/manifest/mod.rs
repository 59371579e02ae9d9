//! The manifest file: reading it, parsing the YAML (with locations), checking its shape
//! against the JSON Schema, and the typed parse. This is the only module that reads the
//! manifest file; everything after it works on values.

// A Problem is the whole diagnostic (file, position, path, message, hint) and is built once
// per failed parse; boxing it would only add noise.
#![allow(clippy::result_large_err)]

pub mod fast;
pub mod problem;
pub mod revision;
pub mod schema;
pub mod shape;
pub mod tree;
pub mod types;
pub mod yaml;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use problem::{Problem, Problems, Severity};
pub use types::Manifest;
pub use yaml::{KeyPath, Located, Pos};

/// Manifests larger than this are refused while reading ([`crate::files::Kind::Manifest`]).
pub const MAX_BYTES: u64 = crate::files::Kind::Manifest.limit();

/// A manifest parsed and shape-checked, with what later layers need to locate problems.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file name as the user gave it.
    pub file: String,
    /// The directory relative paths in the manifest (secret files) are resolved against.
    pub dir: PathBuf,
    /// The typed manifest.
    pub manifest: Manifest,
    /// The text, kept to locate problems.
    text: String,
    /// The located YAML tree, built only when a problem needs a line number.
    tree: OnceLock<Option<Located>>,
}

impl Loaded {
    /// The line and column of a key path (or of its deepest existing ancestor).
    pub fn locate(&self, path: &KeyPath) -> Option<Pos> {
        let tree = self.tree.get_or_init(|| parse_tree(&self.file, &self.text).ok());
        tree.as_ref().map(|t| yaml::locate(t, path))
    }

    /// Makes a problem at `path`, located in this file.
    pub fn problem(&self, severity: Severity, path: KeyPath, message: String) -> Problem {
        Problem { severity, file: self.file.clone(), pos: self.locate(&path), path, message, hint: None }
    }
}

/// Reads and parses the manifest at `path`.
pub fn load(path: &Path) -> Result<Loaded, Problems> {
    let file = path.display().to_string();
    let bytes = read(path)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse(&file, dir, &bytes)
}

/// Reads a manifest file whole through [`crate::files`]: not blocking on a FIFO, refusing
/// anything but a regular file and more than [`MAX_BYTES`].
pub fn read(path: &Path) -> Result<Vec<u8>, Problems> {
    crate::files::read(path, crate::files::Kind::Manifest).map_err(|e| {
        let hint =
            matches!(e.why, crate::files::Why::TooLarge { .. }).then(|| "check that this is the right file".into());
        Problems(vec![Problem {
            severity: Severity::Error,
            file: path.display().to_string(),
            pos: None,
            path: KeyPath::root(),
            message: e.why.to_string(),
            hint,
        }])
    })
}

/// Parses manifest bytes; `file` names them in problems.
///
/// A manifest in [`fast`]'s subset that fits the schema ([`shape::fits`]) is deserialized
/// straight from the fast path's tree. Anything else takes the full path, which finds and
/// describes every problem: the text becomes a JSON value (through the fast path or the full
/// YAML parser), its shape is checked against the schema and it is converted to the typed
/// manifest. Line numbers are computed only when a problem needs them. Anything the full
/// parser cannot take into a value (a parse error, a non-string key) goes through the
/// located tree, which gives the precise message.
pub fn parse(file: &str, dir: PathBuf, bytes: &[u8]) -> Result<Loaded, Problems> {
    parse_with(file, dir, bytes, true)
}

/// [`parse`], and where the full path alone (without the typed fast path) disagrees with
/// it on the same bytes, if it does: the two must build the same manifest or report the
/// same problems (asserted by `tests/fast_yaml.rs` and the `manifest` fuzz target).
#[doc(hidden)]
pub fn parse_and_compare(file: &str, dir: PathBuf, bytes: &[u8]) -> (Result<Loaded, Problems>, Option<String>) {
    let fast = parse_with(file, dir.clone(), bytes, true);
    let full = parse_with(file, dir, bytes, false);
    let differ = match (&fast, &full) {
        (Ok(a), Ok(b)) => {
            let (a, b) = (serde_json::to_string(&a.manifest).ok(), serde_json::to_string(&b.manifest).ok());
            (a != b).then(|| format!("the two paths built different manifests:\n{a:?}\n{b:?}"))
        }
        (Err(a), Err(b)) => {
            let (a, b) = (a.to_string(), b.to_string());
            (a != b).then(|| format!("the two paths found different problems:\n{a}\n{b}"))
        }
        (Ok(_), Err(p)) => Some(format!("the typed fast path accepts what the full path refuses:\n{p}")),
        (Err(p), Ok(_)) => Some(format!("the typed fast path refuses what the full path accepts:\n{p}")),
    };
    (fast, differ)
}

fn parse_with(file: &str, dir: PathBuf, bytes: &[u8], typed_fast_path: bool) -> Result<Loaded, Problems> {
    let one = |p: Problem| Problems(vec![p]);
    let text = utf8(file, bytes).map_err(one)?;
    precheck(file, text).map_err(one)?;
    let loaded =
        |manifest| Loaded { file: file.to_string(), dir, manifest, text: text.to_string(), tree: OnceLock::new() };
    let tree = fast::tree(text);
    if typed_fast_path && let Some(manifest) = tree.as_ref().and_then(fits_and_reads) {
        return Ok(loaded(manifest));
    }
    let value = match tree.map(|t| Ok(t.into_json())).unwrap_or_else(|| full_value(text)) {
        Ok(v) => v,
        Err(_) => yaml::to_json(&parse_tree(file, text).map_err(one)?),
    };
    let mut draft = loaded(Manifest::empty());
    expect_mapping(&draft, &value).map_err(one)?;
    let shape = schema::check(&draft, &value);
    if !shape.is_empty() {
        return Err(Problems(shape));
    }
    draft.manifest = match serde_json::from_value::<Manifest>(value) {
        Ok(m) => m,
        Err(_) => serde_saphyr::from_str_with_options::<Manifest>(text, options())
            .map_err(|e| Problems(vec![saphyr_problem(file, &e)]))?,
    };
    Ok(draft)
}

/// The typed manifest of a tree that fits the schema; `None` sends it to the full path.
fn fits_and_reads(tree: &tree::Tree<'_>) -> Option<Manifest> {
    if !shape::fits(tree) {
        return None;
    }
    tree::typed(tree).ok()
}

/// The full YAML parser's reading of `text` as a JSON value (what [`fast::parse`] must
/// agree with).
pub fn full_value(text: &str) -> Result<serde_json::Value, serde_saphyr::Error> {
    serde_saphyr::from_str_with_options::<serde_json::Value>(text, options())
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
    std::str::from_utf8(bytes).map_err(|e| Problem {
        severity: Severity::Error,
        file: file.to_string(),
        pos: Some(pos_at(bytes, e.valid_up_to())),
        path: KeyPath::root(),
        message: "the file is not UTF-8 text (is it a binary file?)".into(),
        hint: Some("a manifest is a YAML text file encoded in UTF-8".into()),
    })
}

/// The 1-based line and column (in characters) of byte offset `at`.
fn pos_at(bytes: &[u8], at: usize) -> Pos {
    let before = &bytes[..at.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let start = before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    Pos { line: line as u64, column: column as u64 }
}

/// Empty files and files with NUL bytes (binaries) are refused before parsing.
fn precheck(file: &str, text: &str) -> Result<(), Problem> {
    if text.trim().is_empty() {
        return Err(empty(file));
    }
    let Some(at) = text.find('\0') else { return Ok(()) };
    Err(Problem {
        severity: Severity::Error,
        file: file.to_string(),
        pos: Some(pos_at(text.as_bytes(), at)),
        path: KeyPath::root(),
        message: "the file contains NUL bytes (is it a binary file?)".into(),
        hint: Some("a manifest is a YAML text file encoded in UTF-8".into()),
    })
}

fn parse_tree(file: &str, text: &str) -> Result<Located, Problem> {
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

fn expect_mapping(loaded: &Loaded, value: &serde_json::Value) -> Result<(), Problem> {
    match value {
        serde_json::Value::Object(_) => Ok(()),
        serde_json::Value::Null => Err(empty(&loaded.file)),
        _ => Err(Problem {
            severity: Severity::Error,
            file: loaded.file.clone(),
            pos: loaded.locate(&KeyPath::root()),
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
