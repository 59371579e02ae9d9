//! A manifest written as YAML the way people write it: block maps, short maps and lists in
//! flow style on one line, a `#` comment above the items that have one, strings quoted only
//! where YAML would read them as something else. Deterministic: the same value gives the
//! same bytes.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

/// Comments to write above items, by key path.
pub type Comments = BTreeMap<Vec<String>, String>;

/// Flow style is used when the line stays within this width.
const WIDTH: usize = 100;

/// The YAML text of `v` (a map), with `comments`.
pub fn yaml(v: &Value, comments: &Comments) -> String {
    let mut out = String::new();
    if let Value::Object(map) = v {
        block_map(&mut out, map, 0, &mut Vec::new(), comments);
    }
    out
}

fn block_map(
    out: &mut String,
    map: &serde_json::Map<String, Value>,
    indent: usize,
    path: &mut Vec<String>,
    comments: &Comments,
) {
    let pad = " ".repeat(indent);
    for (k, v) in map {
        path.push(k.clone());
        if let Some(c) = comments.get(path) {
            for line in c.lines() {
                let _ = writeln!(out, "{pad}# {line}");
            }
        }
        let key = scalar(k);
        let inner_comment =
            comments.range(path.clone()..).take_while(|(p, _)| p.starts_with(path)).any(|(p, _)| p.len() > path.len());
        let one_line = flow(v).filter(|f| !inner_comment && indent + key.len() + 2 + f.len() <= WIDTH);
        match one_line {
            Some(f) => {
                let _ = writeln!(out, "{pad}{key}: {f}");
            }
            None => {
                let _ = writeln!(out, "{pad}{key}:");
                block(out, v, indent + 2, path, comments);
            }
        }
        path.pop();
    }
}

fn block(out: &mut String, v: &Value, indent: usize, path: &mut Vec<String>, comments: &Comments) {
    match v {
        Value::Object(map) => block_map(out, map, indent, path, comments),
        Value::Array(items) => {
            let pad = " ".repeat(indent);
            for item in items {
                match flow(item).filter(|f| indent + 2 + f.len() <= WIDTH) {
                    Some(f) => {
                        let _ = writeln!(out, "{pad}- {f}");
                    }
                    None => {
                        let mut inner = String::new();
                        block(&mut inner, item, indent + 2, path, comments);
                        let _ = write!(out, "{pad}- {}", inner.get(indent + 2..).unwrap_or_default());
                    }
                }
            }
        }
        other => {
            let _ = writeln!(out, "{}{}", " ".repeat(indent), scalar_value(other));
        }
    }
}

/// The one-line form of a value.
fn flow(v: &Value) -> Option<String> {
    Some(match v {
        Value::Object(map) => {
            let parts: Option<Vec<String>> =
                map.iter().map(|(k, v)| Some(format!("{}: {}", scalar(k), flow(v)?))).collect();
            format!("{{{}}}", parts?.join(", "))
        }
        Value::Array(items) => {
            let parts: Option<Vec<String>> = items.iter().map(flow).collect();
            format!("[{}]", parts?.join(", "))
        }
        other => scalar_value(other),
    })
}

fn scalar_value(v: &Value) -> String {
    match v {
        Value::String(s) => scalar(s),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// A string, plain when YAML reads it back as the same string, else double-quoted.
fn scalar(s: &str) -> String {
    if plain(s) { s.to_string() } else { Value::String(s.to_string()).to_string() }
}

fn plain(s: &str) -> bool {
    let Some(first) = s.chars().next() else { return false };
    let word = ["true", "false", "yes", "no", "on", "off", "null", "y", "n"].contains(&s.to_ascii_lowercase().as_str());
    let number = s.parse::<f64>().is_ok() || s.starts_with("0x") || s.starts_with("0o") || s.starts_with('.');
    (first.is_ascii_alphanumeric() || first == '/')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "._/@+-".contains(c))
        && !word
        && !number
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_flow_long_ones_block_comments_above_and_odd_strings_quoted() {
        let v = serde_json::json!({
            "nodes": {"lvs01": {"roles": ["director"], "addresses": ["10.9.0.2/24"]}},
            "services": {"tcp-fd00::1-80": {"port": 80, "vip": "fd00::1", "flags": ["yes", "1.5", "6s"],
                "checks": [{"type": "http", "path": "/a really long path that goes on and on and on and on and on and on and on"}]}}
        });
        let mut c = Comments::new();
        c.insert(vec!["nodes".into(), "lvs01".into()], "director: lvs01.conf".into());
        let want = "\
nodes:
  # director: lvs01.conf
  lvs01: {roles: [director], addresses: [10.9.0.2/24]}
services:
  \"tcp-fd00::1-80\":
    port: 80
    vip: \"fd00::1\"
    flags: [\"yes\", \"1.5\", 6s]
    checks:
      - type: http
        path: \"/a really long path that goes on and on and on and on and on and on and on\"
";
        assert_eq!(yaml(&v, &c), want);
    }

    /// Every example manifest, written by this emitter, reads back as the same manifest.
    #[test]
    fn every_example_reads_back_the_same() {
        let examples = [
            include_str!("../../examples/fwmark.yaml"),
            include_str!("../../examples/http-https-wlc.yaml"),
            include_str!("../../examples/ipv6.yaml"),
            include_str!("../../examples/lvs-dr-pair.yaml"),
            include_str!("../../examples/lvs-wrr-ha.yaml"),
            include_str!("../../examples/nat.yaml"),
            include_str!("../../examples/tun.yaml"),
            include_str!("../../examples/web-vrrp-only.yaml"),
        ];
        for text in examples {
            let m: crate::manifest::types::Manifest = serde_saphyr::from_str(text).unwrap();
            let v = serde_json::to_value(&m).unwrap();
            let back: crate::manifest::types::Manifest = serde_saphyr::from_str(&yaml(&v, &Comments::new())).unwrap();
            assert_eq!(serde_json::to_value(&back).unwrap(), v);
        }
    }
}
