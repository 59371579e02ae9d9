//! The located YAML tree: a manifest parsed once into a tree whose every node knows its
//! line and column, plus the index from key paths (`services.http.port`) to locations.
//!
//! Parsing enforces the resource budgets (alias bombs, nesting depth, size) and rejects
//! duplicate keys; the tree then feeds the JSON Schema check and locates semantic errors.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A position in a file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, serde::Serialize, serde::Deserialize)]
pub struct Pos {
    /// Line, from 1.
    pub line: u64,
    /// Column, from 1.
    pub column: u64,
}

/// A YAML node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// Where the node starts.
    pub pos: Pos,
    /// The node.
    pub node: Node,
}

/// A YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `~`, `null` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i128),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Located>),
    /// A mapping, in file order.
    Map(Vec<(String, Located)>),
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        i128::try_from(v).map(Node::Int).map_err(|_| E::custom("integer too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(located(item));
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<KeyText>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((key.0, located(value)));
        }
        Ok(Node::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

fn located(s: Spanned<Node>) -> Located {
    let pos = Pos { line: s.referenced.line(), column: s.referenced.column() };
    Located { pos, node: s.value }
}

/// A mapping key of any scalar type, kept as text.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Node::deserialize(d)? {
            Node::Str(s) => Ok(KeyText(s)),
            Node::Int(i) => Ok(KeyText(i.to_string())),
            Node::Bool(b) => Ok(KeyText(b.to_string())),
            Node::Float(f) => Ok(KeyText(f.to_string())),
            Node::Null => Ok(KeyText("null".into())),
            Node::Seq(_) | Node::Map(_) => Err(de::Error::custom("a mapping key must be a scalar")),
        }
    }
}

/// A mapping key in a key path: the manifest's own key names are static text, names from
/// the manifest are shared, so that extending a path (once per checked value) copies
/// pointers, not text.
#[derive(Clone)]
pub enum Name {
    /// A key of the manifest's schema: `services`, `port`.
    Static(&'static str),
    /// A name the manifest gives: a service, a node, a backend.
    Shared(std::sync::Arc<str>),
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            Name::Static(s) => s,
            Name::Shared(s) => s,
        }
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Name {}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (**self).cmp(&**other)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl serde::Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Name::Shared(s.into()))
    }
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Step {
    /// A mapping key.
    Key(Name),
    /// A sequence index.
    Index(usize),
}

/// A key path such as `services.http.backends.nginx01.port` or `nodes.a.addresses[0]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct KeyPath(pub Vec<Step>);

impl KeyPath {
    /// The empty path: the document root.
    pub fn root() -> Self {
        KeyPath(Vec::new())
    }
    /// This path extended by a key of the schema (`port`).
    pub fn key(&self, k: &'static str) -> Self {
        self.then(Step::Key(Name::Static(k)))
    }
    /// This path extended by a name the manifest gives (a service's, a node's).
    pub fn name(&self, k: &str) -> Self {
        self.then(Step::Key(Name::Shared(k.into())))
    }
    fn then(&self, step: Step) -> Self {
        let mut v = Vec::with_capacity(self.0.len() + 1);
        v.extend_from_slice(&self.0);
        v.push(step);
        KeyPath(v)
    }
    /// This path extended by an index.
    pub fn index(&self, i: usize) -> Self {
        self.then(Step::Index(i))
    }
    /// The path without its last step.
    pub fn parent(&self) -> Option<KeyPath> {
        let mut v = self.0.clone();
        v.pop().map(|_| KeyPath(v))
    }
    /// Builds a path from a JSON Pointer (`/services/http/port`) into `root`.
    pub fn from_pointer(pointer: &str, root: &serde_json::Value) -> Self {
        let mut path = KeyPath::root();
        let mut node = Some(root);
        for raw in pointer.split('/').skip(1) {
            let seg = raw.replace("~1", "/").replace("~0", "~");
            let (step, next) = match node {
                Some(serde_json::Value::Array(items)) => match seg.parse::<usize>() {
                    Ok(i) => (Step::Index(i), items.get(i)),
                    Err(_) => (Step::Key(Name::Shared(seg.into())), None),
                },
                Some(serde_json::Value::Object(map)) => (Step::Key(Name::Shared(seg.as_str().into())), map.get(&seg)),
                _ => (Step::Key(Name::Shared(seg.into())), None),
            };
            node = next;
            path.0.push(step);
        }
        path
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(top level)");
        }
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(k) if i == 0 => write_name(f, k)?,
                Step::Key(k) => {
                    f.write_str(".")?;
                    write_name(f, k)?
                }
                Step::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Writes text with control and invisible formatting characters escaped, so that a name
/// can never forge a line or reorder text in a message ([`crate::text`]'s rule).
pub fn write_name(f: &mut impl fmt::Write, k: &str) -> fmt::Result {
    crate::text::write_escaped(f, k)
}

/// [`write_name`] into a string.
pub fn shown(k: &str) -> String {
    let mut s = String::with_capacity(k.len());
    let _ = write_name(&mut s, k);
    s
}

/// Control characters and the invisible ones that change how text reads (bidirectional
/// overrides, zero-width characters, byte-order mark): [`crate::text::is_hidden`].
pub fn is_hidden(c: char) -> bool {
    crate::text::is_hidden(c)
}

fn child<'a>(node: &'a Located, step: &Step) -> Option<&'a Located> {
    match (&node.node, step) {
        (Node::Map(entries), Step::Key(k)) => entries.iter().find(|(ek, _)| **ek == **k).map(|(_, v)| v),
        (Node::Seq(items), Step::Index(i)) => items.get(*i),
        _ => None,
    }
}

/// Finds the node at `path`, or the deepest existing ancestor, and returns its position.
pub fn locate(root: &Located, path: &KeyPath) -> Pos {
    let mut node = root;
    for step in &path.0 {
        match child(node, step) {
            Some(next) => node = next,
            None => break,
        }
    }
    node.pos
}

/// Converts the tree into a JSON value for the schema check. Floats that JSON cannot hold
/// (NaN, infinity) become strings, which the schema then rejects with a type error.
pub fn to_json(node: &Located) -> serde_json::Value {
    use serde_json::Value;
    match &node.node {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(*b),
        Node::Int(i) => int_json(*i),
        Node::Float(f) => {
            serde_json::Number::from_f64(*f).map(Value::Number).unwrap_or_else(|| Value::String(f.to_string()))
        }
        Node::Str(s) => Value::String(s.clone()),
        Node::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        Node::Map(entries) => Value::Object(entries.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

fn int_json(i: i128) -> serde_json::Value {
    if let Ok(v) = i64::try_from(i) {
        return v.into();
    }
    if let Ok(v) = u64::try_from(i) {
        return v.into();
    }
    serde_json::Value::String(i.to_string())
}
