//! The JSON Schema of the manifest: generated from the serde types, checked in as
//! `schemas/lbconverge.schema.json`, and used to check the shape of every manifest before
//! the typed parse, so that all shape problems are reported at once with their key paths.

use schemars::Schema;
use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use serde_json::Value;

use super::Loaded;
use super::problem::{Problem, Severity};
use super::types::Manifest;
use super::yaml::KeyPath;

/// The checked-in schema, as `lbconverge schema` prints it.
pub const SCHEMA_TEXT: &str = include_str!("../../schemas/lbconverge.schema.json");

/// Generates the schema from the Rust types (the test `schema_file_matches_types` proves the
/// checked-in file equals this).
pub fn generate() -> String {
    let settings = SchemaSettings::draft2020_12().with_transform(RecursiveTransform(drop_null_alternative));
    let schema = settings.into_generator().into_root_schema_for::<Manifest>();
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// `Option<T>` means "may be absent", not "may be null": remove the null alternative that
/// schemars adds, so that errors name the real type instead of "not valid under any of".
fn drop_null_alternative(schema: &mut Schema) {
    let Some(obj) = schema.as_object_mut() else { return };
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types[0].clone();
            obj.insert("type".into(), only);
        }
    }
    let Some(Value::Array(any)) = obj.get("anyOf") else { return };
    let rest: Vec<Value> = any.iter().filter(|s| !is_null_schema(s)).cloned().collect();
    if rest.len() == 1 && any.len() == 2 {
        obj.remove("anyOf");
        if let Value::Object(inner) = &rest[0] {
            for (k, v) in inner {
                obj.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
}

/// Checks the shape of a parsed manifest against the schema; returns every problem, located
/// in `loaded`'s file.
pub fn check(loaded: &Loaded, instance: &Value) -> Vec<Problem> {
    let file = loaded.file.as_str();
    let schema: Value = match serde_json::from_str(SCHEMA_TEXT) {
        Ok(v) => v,
        Err(e) => return vec![internal(file, format!("the built-in schema is not JSON: {e}"))],
    };
    let validator = match jsonschema::validator_for(&schema) {
        Ok(v) => v,
        Err(e) => return vec![internal(file, format!("the built-in schema is invalid: {e}"))],
    };
    let mut problems: Vec<Problem> =
        validator.iter_errors(instance).flat_map(|e| describe(loaded, instance, &schema, &e)).collect();
    problems.sort_by(|a, b| (a.pos, &a.path, &a.message).cmp(&(b.pos, &b.path, &b.message)));
    problems.dedup();
    problems
}

fn internal(file: &str, message: String) -> Problem {
    Problem {
        severity: Severity::Error,
        file: file.to_string(),
        pos: None,
        path: KeyPath::root(),
        message,
        hint: Some("this is a bug in lbconverge; please report it".into()),
    }
}

fn describe(loaded: &Loaded, root: &Value, schema: &Value, e: &jsonschema::ValidationError<'_>) -> Vec<Problem> {
    use jsonschema::error::ValidationErrorKind as K;
    let path = KeyPath::from_pointer(e.instance_path().as_str(), root);
    let at = |path: KeyPath, message: String, hint: Option<String>| {
        let mut p = loaded.problem(Severity::Error, path, message);
        p.hint = hint;
        p
    };
    let sub = subschema(schema, e.schema_path().as_str());
    match e.kind() {
        K::AdditionalProperties { unexpected } => {
            let allowed = allowed_keys(schema, sub.as_ref());
            unexpected
                .iter()
                .map(|k| {
                    let hint = suggest(k, &allowed);
                    at(path.name(k), format!("unknown key `{k}`"), Some(hint))
                })
                .collect()
        }
        K::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            vec![at(path.clone(), format!("missing required key `{name}`"), None)]
        }
        K::Type { kind } => {
            let found = kind_of(e.instance());
            let want = type_words(kind);
            vec![at(path, format!("expected {want}, found {found}"), None)]
        }
        K::Enum { options } => {
            let list = enum_list(options);
            let got = short(e.instance());
            vec![at(path, format!("{got} is not allowed here"), Some(format!("use one of: {list}")))]
        }
        K::Minimum { limit } | K::Maximum { limit } => {
            let (lo, hi) = bounds(sub.as_ref());
            let got = short(e.instance());
            let which = if matches!(e.kind(), K::Minimum { .. }) { "below" } else { "above" };
            let hint = range_hint(lo, hi);
            vec![at(path, format!("{got} is {which} the limit {limit}"), Some(hint))]
        }
        K::MinItems { limit } | K::MinProperties { limit } => {
            vec![at(path, format!("needs at least {limit} entr{}", plural_y(*limit)), None)]
        }
        K::OneOfNotValid { .. } | K::AnyOf { .. } => {
            vec![alternatives(e.instance(), schema, sub.as_ref(), |m, h| at(path.clone(), m, Some(h)))]
        }
        _ => vec![at(path, e.to_string(), None)],
    }
}

/// A value that matches none of a `oneOf`/`anyOf`: the allowed words when the alternatives
/// are constants (with a suggestion for a near miss such as `DR`), else the allowed types.
fn alternatives(got: &Value, schema: &Value, sub: Option<&Value>, at: impl Fn(String, String) -> Problem) -> Problem {
    let alts: Vec<Value> = sub
        .and_then(|s| s.get("oneOf").or_else(|| s.get("anyOf")))
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|x| resolve(schema, x).clone()).collect())
        .unwrap_or_default();
    let words: Vec<String> = alts.iter().filter_map(|a| a.get("const")?.as_str().map(str::to_string)).collect();
    if !words.is_empty() && words.len() == alts.len() {
        let text = got.as_str().unwrap_or_default();
        let hint = match words.iter().find(|w| w.eq_ignore_ascii_case(text)) {
            Some(w) => format!("did you mean `{w}`? (words are lower case)"),
            None => format!("use one of: {}", words.join(", ")),
        };
        return at(format!("{} is not allowed here", short(got)), hint);
    }
    let types: Vec<String> = alts.iter().filter_map(|a| a.get("type")?.as_str().map(type_word)).collect();
    let want = if types.is_empty() { "another kind of value".to_string() } else { types.join(" or ") };
    at(format!("expected {want}, found {}", kind_of(got)), "see `lbconverge schema` for this key".to_string())
}

fn plural_y(n: u64) -> &'static str {
    if n == 1 { "y" } else { "ies" }
}

fn range_hint(lo: Option<Value>, hi: Option<Value>) -> String {
    match (lo, hi) {
        (Some(lo), Some(hi)) if lo == hi => format!("use {lo}"),
        (Some(lo), Some(hi)) => format!("use a value from {lo} to {hi}"),
        (Some(lo), None) => format!("use a value of at least {lo}"),
        (None, Some(hi)) => format!("use a value of at most {hi}"),
        (None, None) => "use a value inside the allowed range".into(),
    }
}

/// The schema object that holds the failing keyword (the schema path minus the keyword).
fn subschema(schema: &Value, keyword_path: &str) -> Option<Value> {
    let parent = keyword_path.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
    let node = schema.pointer(parent)?;
    Some(resolve(schema, node).clone())
}

fn resolve<'a>(schema: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => schema.pointer(r.trim_start_matches('#')).unwrap_or(node),
        None => node,
    }
}

fn allowed_keys(schema: &Value, sub: Option<&Value>) -> Vec<String> {
    let props = sub.map(|s| resolve(schema, s)).and_then(|s| s.get("properties"));
    props.and_then(Value::as_object).map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

fn bounds(sub: Option<&Value>) -> (Option<Value>, Option<Value>) {
    let get = |k: &str| sub.and_then(|s| s.get(k)).cloned();
    (get("minimum"), get("maximum"))
}

/// "did you mean" for a misspelt key, else the list of allowed keys.
fn suggest(unknown: &str, allowed: &[String]) -> String {
    let best = allowed.iter().map(|a| (edit_distance(unknown, a), a)).filter(|(d, a)| *d <= 2.max(a.len() / 4)).min();
    match best {
        Some((_, a)) => format!("did you mean `{a}`?"),
        None if allowed.is_empty() => "remove it".into(),
        None => format!("remove it, or use one of: {}", allowed.join(", ")),
    }
}

/// Levenshtein distance, for key suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn enum_list(options: &Value) -> String {
    let items = options.as_array().cloned().unwrap_or_default();
    items.iter().map(|v| v.as_str().map(str::to_string).unwrap_or(v.to_string())).collect::<Vec<_>>().join(", ")
}

fn short(v: &Value) -> String {
    let text = match v {
        Value::String(s) => format!("`{s}`"),
        other => other.to_string(),
    };
    if text.len() > 40 { format!("{}...", &text[..text.floor_char_boundary(40)]) } else { text }
}

fn kind_of(v: &Value) -> String {
    match v {
        Value::Null => "nothing (null)".into(),
        Value::Bool(b) => format!("a boolean ({b})"),
        Value::Number(n) if n.is_i64() || n.is_u64() => format!("an integer ({n})"),
        Value::Number(n) => format!("a number ({n})"),
        Value::String(_) => format!("a string ({})", short(v)),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

fn type_word(t: &str) -> String {
    match t {
        "integer" => "an integer".to_string(),
        "object" => "a mapping".to_string(),
        "array" => "a list".to_string(),
        "string" => "a string".to_string(),
        "boolean" => "true or false".to_string(),
        "number" => "a number".to_string(),
        other => other.to_string(),
    }
}

fn type_words(kind: &jsonschema::error::TypeKind) -> String {
    use jsonschema::error::TypeKind;
    let word = |t: &jsonschema::JsonType| type_word(&t.to_string());
    match kind {
        TypeKind::Single(t) => word(t),
        TypeKind::Multiple(set) => set.iter().map(|t| word(&t)).collect::<Vec<_>>().join(" or "),
    }
}
