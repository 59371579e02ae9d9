//! A yes/no check of a fast-path tree against the manifest's JSON Schema, for the common
//! case of a manifest that is right: it walks the tree once, with the keywords the
//! checked-in schema uses, and allocates nothing. It may say "no" too often (any keyword
//! or value it does not know is a "no") but never "yes" wrongly: a "no" sends the manifest
//! to the full check (`schema::check`), which finds and describes every problem. The
//! `manifest` fuzz target and `tests/fast_yaml.rs` check that both paths agree.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::schema::SCHEMA_TEXT;
use super::tree::Tree;

/// Keywords that do not constrain a value.
const ANNOTATIONS: &[&str] =
    &["$schema", "$defs", "title", "description", "default", "examples", "enumDescriptions", "$comment"];

/// `format`s that the full check does not assert (schemars' names of Rust integer types).
const UNASSERTED_FORMATS: &[&str] = &["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"];

/// Whether `tree` is valid under the built-in schema; `false` when unsure.
pub fn fits(tree: &Tree<'_>) -> bool {
    static SCHEMA: OnceLock<Option<Value>> = OnceLock::new();
    match SCHEMA.get_or_init(|| serde_json::from_str(SCHEMA_TEXT).ok()) {
        Some(root) => Check { root }.fits(root, tree),
        None => false,
    }
}

/// The schema being walked, for `$ref`.
struct Check<'s> {
    root: &'s Value,
}

impl<'s> Check<'s> {
    fn fits(&self, schema: &'s Value, tree: &Tree<'_>) -> bool {
        match schema {
            Value::Bool(b) => *b,
            Value::Object(keywords) => keywords.iter().all(|(k, v)| self.keyword(keywords, k, v, tree)),
            _ => false,
        }
    }

    fn keyword(&self, all: &'s Map<String, Value>, name: &str, arg: &'s Value, tree: &Tree<'_>) -> bool {
        match name {
            "$ref" => self.resolve(arg).is_some_and(|s| self.fits(s, tree)),
            "type" => has_type(arg, tree),
            "properties" => {
                arg.as_object().is_some_and(|p| self.properties(Some(p), all.get("additionalProperties"), tree))
            }
            "additionalProperties" => all.contains_key("properties") || self.properties(None, Some(arg), tree),
            "required" => required(arg, tree),
            "items" => match tree {
                Tree::Seq(items) => items.iter().all(|t| self.fits(arg, t)),
                _ => true,
            },
            "const" => equal(arg, tree),
            "enum" => arg.as_array().is_some_and(|a| a.iter().any(|v| equal(v, tree))),
            "oneOf" => arg.as_array().is_some_and(|a| a.iter().filter(|s| self.fits(s, tree)).count() == 1),
            "anyOf" => arg.as_array().is_some_and(|a| a.iter().any(|s| self.fits(s, tree))),
            "minimum" => number(arg, tree, |limit, n| n >= limit),
            "maximum" => number(arg, tree, |limit, n| n <= limit),
            "minItems" => count(arg, tree, |limit, n| n >= limit),
            "maxItems" => count(arg, tree, |limit, n| n <= limit),
            "format" => arg.as_str().is_some_and(|f| UNASSERTED_FORMATS.contains(&f)),
            _ => ANNOTATIONS.contains(&name),
        }
    }

    /// The schema a `$ref` names: `#/$defs/NAME` (others are "unsure").
    fn resolve(&self, arg: &Value) -> Option<&'s Value> {
        let name = arg.as_str()?.strip_prefix("#/$defs/")?;
        if name.contains(['/', '~']) {
            return None;
        }
        self.root.get("$defs")?.get(name)
    }

    /// Each key that `properties` names fits its schema, and each other key fits
    /// `additionalProperties` when there is one (both keywords in one pass).
    fn properties(&self, props: Option<&'s Map<String, Value>>, more: Option<&'s Value>, tree: &Tree<'_>) -> bool {
        let Tree::Map(entries) = tree else { return true };
        entries.iter().all(|(k, v)| match (props.and_then(|p| p.get(k.as_ref())), more) {
            (Some(s), _) | (None, Some(s)) => self.fits(s, v),
            (None, None) => true,
        })
    }
}

fn has_type(arg: &Value, tree: &Tree<'_>) -> bool {
    let is = |t: &str| match t {
        "null" => matches!(tree, Tree::Null),
        "boolean" => matches!(tree, Tree::Bool(_)),
        "integer" | "number" => matches!(tree, Tree::Int(_)),
        "string" => matches!(tree, Tree::Str(_)),
        "array" => matches!(tree, Tree::Seq(_)),
        "object" => matches!(tree, Tree::Map(_)),
        _ => false,
    };
    match arg {
        Value::String(t) => is(t),
        Value::Array(ts) => ts.iter().any(|t| t.as_str().is_some_and(is)),
        _ => false,
    }
}

fn required(arg: &Value, tree: &Tree<'_>) -> bool {
    let Tree::Map(entries) = tree else { return true };
    let present = |name: &Value| name.as_str().is_some_and(|n| entries.iter().any(|(k, _)| k == n));
    arg.as_array().is_some_and(|names| names.iter().all(present))
}

/// A scalar equal to a JSON scalar (collections are never equal: unsure).
fn equal(v: &Value, tree: &Tree<'_>) -> bool {
    match (v, tree) {
        (Value::Null, Tree::Null) => true,
        (Value::Bool(a), Tree::Bool(b)) => a == b,
        (Value::Number(a), Tree::Int(b)) => a.as_i64() == Some(*b),
        (Value::String(a), Tree::Str(b)) => a == b,
        _ => false,
    }
}

/// A bound on an integer; other values pass (the keyword constrains numbers only), and a
/// bound that is not an integer is "unsure".
fn number(arg: &Value, tree: &Tree<'_>, ok: impl Fn(i128, i128) -> bool) -> bool {
    let Tree::Int(n) = tree else { return true };
    let limit = arg.as_i64().map(i128::from).or_else(|| arg.as_u64().map(i128::from));
    limit.is_some_and(|l| ok(l, i128::from(*n)))
}

/// A bound on a list's length; other values pass.
fn count(arg: &Value, tree: &Tree<'_>, ok: impl Fn(u64, u64) -> bool) -> bool {
    let Tree::Seq(items) = tree else { return true };
    arg.as_u64().is_some_and(|l| ok(l, items.len() as u64))
}
