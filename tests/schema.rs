//! The checked-in JSON Schema equals the one generated from the manifest types, and it
//! describes every key and every enum value (editors show the descriptions).
//! `LBCONVERGE_BLESS=1 cargo test --test schema` rewrites it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

use serde_json::Value;

#[test]
fn schema_file_matches_types() {
    let generated = lbconverge::manifest::schema::generate();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/lbconverge.schema.json");
    if lbconverge::testkit::blessing() {
        std::fs::write(path, &generated).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(path).unwrap();
    assert!(
        on_disk == generated,
        "schemas/lbconverge.schema.json is out of date with src/manifest/types.rs; run LBCONVERGE_BLESS=1 cargo test --test schema"
    );
}

/// Every key and every enum value of the schema carries a description, for editors' hover
/// and completion text. Offenders are named by their JSON pointer in the generated schema
/// (which `schema_file_matches_types` proves equal to the checked-in file).
///
/// What counts is what yaml-language-server (VS Code's YAML extension, and the YAML server of
/// most other editors) shows, as its yamlSchemaService.ts, yamlHover.ts and yamlCompletion.ts
/// do it. On a key it shows the first `description` among the schemas
/// that match the key's value. A `{"description": ..., "$ref": ...}` property is resolved by
/// copying in the definition's keywords the property lacks (`description` is not a constraint,
/// so the property is not rewritten into an `allOf`): its own description wins, else the
/// definition's shows. For values, completion and hover show the `description` of a `oneOf`
/// alternative's `const`; a plain `enum` has per-value text only in `enumDescriptions` (or
/// `markdownEnumDescriptions`), else every value shows the description of the whole enum,
/// which then documents the values only if it names each of them (`` `value` ``).
#[test]
fn every_key_and_enum_value_is_described() {
    let schema: Value = serde_json::from_str(&lbconverge::manifest::schema::generate()).unwrap();
    let offenders = undescribed(&schema);
    assert!(
        offenders.is_empty(),
        "schema entries without a description (document the Rust types they come from, then \
         LBCONVERGE_BLESS=1 cargo test --test schema):\n  {}",
        offenders.join("\n  ")
    );
}

/// The check itself finds each kind of offender, and accepts each documented shape.
#[test]
fn undescribed_finds_every_kind_of_offender() {
    let schema = serde_json::json!({
        "description": "root",
        "properties": {
            "bare": {"type": "string"},
            "own": {"description": "own text", "$ref": "#/$defs/Mute"},
            "inherited": {"$ref": "#/$defs/Said"},
            "silent": {"$ref": "#/$defs/Mute"},
            "properties": {"description": "a key named like a keyword", "type": "object",
                           "properties": {"a/b": {"type": "integer"}}},
            "map": {"description": "a map", "additionalProperties": {"properties": {"deep": {}}}}
        },
        "$defs": {
            "Mute": {"type": "string"},
            "Said": {"description": "said", "type": "string"},
            "Plain": {"description": "no word named", "enum": ["x", "y"]},
            "Named": {"description": "`x` or `y`", "enum": ["x", "y"]},
            "Listed": {"description": "listed", "enum": ["x", "y"], "enumDescriptions": ["X", "Y"]},
            "Short": {"description": "one short", "enum": ["x", "y"], "enumDescriptions": ["X"]},
            "Alts": {"description": "alts", "oneOf": [{"const": "x", "description": "X"}, {"const": "y"}]}
        }
    });
    let mut got = undescribed(&schema);
    got.sort();
    let want = [
        "/$defs/Alts/oneOf/1: value `y` undocumented",
        "/$defs/Mute: definition without a description",
        "/$defs/Plain/enum: value `x` undocumented",
        "/$defs/Plain/enum: value `y` undocumented",
        "/$defs/Short/enum: value `x` undocumented",
        "/$defs/Short/enum: value `y` undocumented",
        "/properties/bare: key without a description",
        "/properties/map/additionalProperties/properties/deep: key without a description",
        "/properties/properties/properties/a~1b: key without a description",
        "/properties/silent: key without a description",
    ];
    assert_eq!(got, want);
}

/// Every offender in `schema`, by JSON pointer: the root or a definition without a
/// description, a key (an entry of any `properties`, at any depth) without one, and an enum
/// value without one.
fn undescribed(schema: &Value) -> Vec<String> {
    let mut offenders = Vec::new();
    if !described(schema) {
        offenders.push("(root): no description".to_string());
    }
    for (name, def) in schema.get("$defs").and_then(Value::as_object).into_iter().flatten() {
        if !described(def) {
            offenders.push(format!("/$defs/{}: definition without a description", escape(name)));
        }
    }
    walk(schema, schema, "", &mut offenders);
    offenders
}

fn described(schema: &Value) -> bool {
    schema.get("description").and_then(Value::as_str).is_some_and(|d| !d.trim().is_empty())
}

/// An enum value as written in a manifest.
fn word(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
}

/// A JSON pointer token: `~` and `/` escaped.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The definition a local `$ref` points to.
fn target<'a>(root: &'a Value, schema: &Value) -> Option<&'a Value> {
    let r = schema.get("$ref")?.as_str()?;
    root.pointer(r.strip_prefix('#')?)
}

/// Checks `schema` (at `at`) and every subschema below it: the entries of `properties`, the
/// values of a plain `enum`, and `const` alternatives of a `oneOf`/`anyOf`. Walks schema
/// keywords only, so that a key named like a keyword (`properties`, `enum`) is not mistaken
/// for one.
fn walk(root: &Value, schema: &Value, at: &str, offenders: &mut Vec<String>) {
    let Some(obj) = schema.as_object() else { return };
    if let Some(values) = obj.get("enum").and_then(Value::as_array) {
        let per_value = ["enumDescriptions", "markdownEnumDescriptions"].iter().any(|k| {
            let texts = obj.get(*k).and_then(Value::as_array);
            texts.is_some_and(|t| {
                t.len() == values.len() && t.iter().all(|d| d.as_str().is_some_and(|d| !d.trim().is_empty()))
            })
        });
        let text = obj.get("description").and_then(Value::as_str).unwrap_or_default();
        for v in values {
            let word = word(v);
            if !per_value && !text.contains(&format!("`{word}`")) {
                offenders.push(format!("{at}/enum: value `{word}` undocumented"));
            }
        }
    }
    for (key, sub) in obj {
        let here = format!("{at}/{}", escape(key));
        match key.as_str() {
            "properties" => {
                for (name, prop) in sub.as_object().into_iter().flatten() {
                    let p = format!("{here}/{}", escape(name));
                    if !described(prop) && !target(root, prop).is_some_and(described) {
                        offenders.push(format!("{p}: key without a description"));
                    }
                    walk(root, prop, &p, offenders);
                }
            }
            "$defs" | "definitions" | "patternProperties" | "dependentSchemas" => {
                for (name, s) in sub.as_object().into_iter().flatten() {
                    walk(root, s, &format!("{here}/{}", escape(name)), offenders);
                }
            }
            "oneOf" | "anyOf" | "allOf" | "prefixItems" => {
                for (i, s) in sub.as_array().into_iter().flatten().enumerate() {
                    let p = format!("{here}/{i}");
                    if key != "allOf" && s.get("const").is_some() && !described(s) {
                        offenders.push(format!("{p}: value `{}` undocumented", word(&s["const"])));
                    }
                    walk(root, s, &p, offenders);
                }
            }
            "items"
            | "additionalProperties"
            | "unevaluatedProperties"
            | "propertyNames"
            | "contains"
            | "not"
            | "if"
            | "then"
            | "else" => walk(root, sub, &here, offenders),
            _ => {}
        }
    }
}
