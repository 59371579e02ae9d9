//! A yes/no check of a fast-path tree against the manifest's JSON Schema, for the common
//! case of a manifest that is right. The checked-in schema is compiled once into rules
//! (references resolved, keys sorted), and a tree is checked in one walk that allocates
//! nothing. It may say "no" too often (a keyword or a value it does not know makes a rule
//! that never passes) but never "yes" wrongly: a "no" sends the manifest to the full check
//! (`schema::check`), which finds and describes every problem. The `manifest` fuzz target
//! and `tests/fast_yaml.rs` check that both paths agree.

use std::collections::BTreeMap;
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
    static RULES: OnceLock<Option<Rules>> = OnceLock::new();
    let rules = RULES.get_or_init(|| serde_json::from_str::<Value>(SCHEMA_TEXT).ok().map(|s| Rules::compile(&s)));
    rules.as_ref().is_some_and(|r| r.fits(0, tree))
}

/// The kinds of value a `type` keyword names, as bits.
const NULL: u8 = 1;
const BOOL: u8 = 2;
const INT: u8 = 4;
const STR: u8 = 8;
const SEQ: u8 = 16;
const MAP: u8 = 32;

fn kind(tree: &Tree<'_>) -> u8 {
    match tree {
        Tree::Null => NULL,
        Tree::Bool(_) => BOOL,
        Tree::Int(_) => INT,
        Tree::Str(_) => STR,
        Tree::Seq(_) => SEQ,
        Tree::Map(_) => MAP,
    }
}

/// One schema object, compiled.
#[derive(Default)]
struct Rule {
    /// A keyword or a value this check does not know: the rule never passes.
    unsure: bool,
    /// `type`, as bits.
    kinds: Option<u8>,
    /// `properties`, sorted by key.
    props: Vec<(String, usize)>,
    /// `additionalProperties`: `None` when absent.
    more: Option<usize>,
    required: Vec<String>,
    items: Option<usize>,
    /// `const` (one value) or `enum`.
    values: Option<Vec<Value>>,
    one_of: Vec<usize>,
    any_of: Vec<usize>,
    /// `$ref`.
    refs: Vec<usize>,
    min: Option<i128>,
    max: Option<i128>,
    min_items: Option<usize>,
    max_items: Option<usize>,
}

/// The compiled schema: rule 0 is the root; `true` and `false` schemas are rules too.
struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    fn compile(schema: &Value) -> Rules {
        let mut c = Compiler { root: schema, rules: Vec::new(), defs: BTreeMap::new() };
        c.rule(schema);
        Rules { rules: c.rules }
    }

    fn fits(&self, at: usize, tree: &Tree<'_>) -> bool {
        let Some(r) = self.rules.get(at) else { return false };
        !r.unsure
            && r.kinds.is_none_or(|k| k & kind(tree) != 0)
            && r.refs.iter().all(|&i| self.fits(i, tree))
            && r.values.as_ref().is_none_or(|vs| vs.iter().any(|v| equal(v, tree)))
            && (r.one_of.is_empty() || r.one_of.iter().filter(|&&i| self.fits(i, tree)).count() == 1)
            && (r.any_of.is_empty() || r.any_of.iter().any(|&i| self.fits(i, tree)))
            && self.fits_kind(r, tree)
    }

    /// The keywords that apply to one kind of value.
    fn fits_kind(&self, r: &Rule, tree: &Tree<'_>) -> bool {
        match tree {
            Tree::Int(n) => {
                let n = i128::from(*n);
                r.min.is_none_or(|m| n >= m) && r.max.is_none_or(|m| n <= m)
            }
            Tree::Seq(items) => {
                r.min_items.is_none_or(|m| items.len() >= m)
                    && r.max_items.is_none_or(|m| items.len() <= m)
                    && r.items.is_none_or(|s| items.iter().all(|t| self.fits(s, t)))
            }
            Tree::Map(entries) => {
                r.required.iter().all(|k| entries.iter().any(|(e, _)| e == k))
                    && entries.iter().all(|(k, v)| {
                        match r.props.binary_search_by(|(p, _)| p.as_str().cmp(k.as_ref())) {
                            Ok(i) => self.fits(r.props[i].1, v),
                            Err(_) => r.more.is_none_or(|s| self.fits(s, v)),
                        }
                    })
            }
            _ => true,
        }
    }
}

/// Compiles schema objects into rules, each `$defs` entry once.
struct Compiler<'s> {
    root: &'s Value,
    rules: Vec<Rule>,
    defs: BTreeMap<&'s str, usize>,
}

impl<'s> Compiler<'s> {
    /// Compiles `schema` into a new rule; returns its index.
    fn rule(&mut self, schema: &'s Value) -> usize {
        let at = self.rules.len();
        self.rules.push(Rule::default());
        let rule = match schema {
            Value::Bool(true) => Rule::default(),
            Value::Object(keywords) => self.object(keywords),
            _ => Rule { unsure: true, ..Rule::default() },
        };
        self.rules[at] = rule;
        at
    }

    fn object(&mut self, keywords: &'s Map<String, Value>) -> Rule {
        let mut r = Rule::default();
        for (name, arg) in keywords {
            let known = match name.as_str() {
                "$ref" => self.reference(arg).map(|i| r.refs.push(i)).is_some(),
                "type" => kinds(arg).map(|k| r.kinds = Some(k)).is_some(),
                "properties" => self.properties(arg).map(|p| r.props = p).is_some(),
                "additionalProperties" => Some(self.rule(arg)).map(|i| r.more = Some(i)).is_some(),
                "required" => strings(arg).map(|k| r.required = k).is_some(),
                "items" => Some(self.rule(arg)).map(|i| r.items = Some(i)).is_some(),
                "const" => scalar(arg).map(|v| r.values = Some(vec![v])).is_some(),
                "enum" => {
                    arg.as_array().and_then(|a| a.iter().map(scalar).collect()).map(|v| r.values = Some(v)).is_some()
                }
                "oneOf" => self.list(arg).map(|l| r.one_of = l).is_some(),
                "anyOf" => self.list(arg).map(|l| r.any_of = l).is_some(),
                "minimum" => integer(arg).map(|m| r.min = Some(m)).is_some(),
                "maximum" => integer(arg).map(|m| r.max = Some(m)).is_some(),
                "minItems" => count(arg).map(|m| r.min_items = Some(m)).is_some(),
                "maxItems" => count(arg).map(|m| r.max_items = Some(m)).is_some(),
                "format" => arg.as_str().is_some_and(|f| UNASSERTED_FORMATS.contains(&f)),
                other => ANNOTATIONS.contains(&other),
            };
            r.unsure |= !known;
        }
        if keywords.contains_key("const") && keywords.contains_key("enum") {
            r.unsure = true; // both would have to hold; rare enough to leave to the full check
        }
        r
    }

    /// `#/$defs/NAME`, compiled once.
    fn reference(&mut self, arg: &'s Value) -> Option<usize> {
        let name = arg.as_str()?.strip_prefix("#/$defs/")?;
        if let Some(&i) = self.defs.get(name) {
            return Some(i);
        }
        let def = self.root.get("$defs")?.get(name)?;
        // The index is known before the body is compiled, so a schema that refers to
        // itself ends.
        let at = self.rules.len();
        self.defs.insert(name, at);
        Some(self.rule(def)).filter(|i| *i == at)
    }

    fn properties(&mut self, arg: &'s Value) -> Option<Vec<(String, usize)>> {
        let mut props: Vec<(String, usize)> = arg.as_object()?.iter().map(|(k, s)| (k.clone(), self.rule(s))).collect();
        props.sort_by(|a, b| a.0.cmp(&b.0));
        Some(props)
    }

    fn list(&mut self, arg: &'s Value) -> Option<Vec<usize>> {
        let all = arg.as_array()?;
        (!all.is_empty()).then(|| all.iter().map(|s| self.rule(s)).collect())
    }
}

fn kinds(arg: &Value) -> Option<u8> {
    let bit = |t: &Value| match t.as_str()? {
        "null" => Some(NULL),
        "boolean" => Some(BOOL),
        "integer" | "number" => Some(INT),
        "string" => Some(STR),
        "array" => Some(SEQ),
        "object" => Some(MAP),
        _ => None,
    };
    match arg {
        Value::Array(ts) => ts.iter().try_fold(0, |acc, t| Some(acc | bit(t)?)),
        t => bit(t),
    }
}

fn strings(arg: &Value) -> Option<Vec<String>> {
    arg.as_array()?.iter().map(|v| v.as_str().map(str::to_string)).collect()
}

/// A `const` or `enum` value this check can compare: a scalar.
fn scalar(v: &Value) -> Option<Value> {
    (!v.is_array() && !v.is_object()).then(|| v.clone())
}

fn integer(arg: &Value) -> Option<i128> {
    arg.as_i64().map(i128::from).or_else(|| arg.as_u64().map(i128::from))
}

fn count(arg: &Value) -> Option<usize> {
    arg.as_u64().and_then(|n| usize::try_from(n).ok())
}

/// A tree scalar equal to a JSON scalar.
fn equal(v: &Value, tree: &Tree<'_>) -> bool {
    match (v, tree) {
        (Value::Null, Tree::Null) => true,
        (Value::Bool(a), Tree::Bool(b)) => a == b,
        (Value::Number(a), Tree::Int(b)) => a.as_i64() == Some(*b),
        (Value::String(a), Tree::Str(b)) => a == b,
        _ => false,
    }
}
