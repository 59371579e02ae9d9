//! The fast path's reading of a manifest: a tree of scalars, lists and mappings whose
//! plain text borrows from the manifest. The typed manifest is deserialized straight from
//! it, without the JSON value in between; `into_json` gives that value when a problem has
//! to be described. The deserializer presents a tree exactly as `serde_json::Value`
//! presents the same value (`tests/fast_yaml.rs` compares the typed results), so the
//! fast and the full path cannot build different manifests.

use std::borrow::Cow;
use std::fmt;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, IntoDeserializer, Visitor};
use serde_json::{Map, Value};

/// One node of the tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Tree<'a> {
    /// `~`, `null` or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A decimal integer.
    Int(i64),
    /// Any other scalar.
    Str(Cow<'a, str>),
    /// A list.
    Seq(Vec<Tree<'a>>),
    /// A mapping, in the file's order, without duplicate keys.
    Map(Vec<(Cow<'a, str>, Tree<'a>)>),
}

impl Tree<'_> {
    /// The same value as JSON.
    pub fn into_json(self) -> Value {
        match self {
            Tree::Null => Value::Null,
            Tree::Bool(b) => Value::Bool(b),
            Tree::Int(i) => Value::from(i),
            Tree::Str(s) => Value::String(s.into_owned()),
            Tree::Seq(items) => Value::Array(items.into_iter().map(Tree::into_json).collect()),
            Tree::Map(entries) => {
                let mut map = Map::with_capacity(entries.len());
                for (k, v) in entries {
                    map.insert(k.into_owned(), v.into_json());
                }
                Value::Object(map)
            }
        }
    }
}

/// Whether a mapping's keys repeat: a scan for small mappings, a sort for large ones.
pub fn has_duplicate_keys(entries: &[(Cow<'_, str>, Tree<'_>)]) -> bool {
    if entries.len() <= 16 {
        return entries.iter().enumerate().any(|(i, (k, _))| entries[..i].iter().any(|(o, _)| o == k));
    }
    let mut keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_ref()).collect();
    keys.sort_unstable();
    keys.windows(2).any(|w| w[0] == w[1])
}

/// Why a tree did not deserialize; the caller falls back to the full path, which
/// describes the problem, so only the fact matters.
#[derive(Debug)]
pub struct Mismatch(String);

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Mismatch {}

impl de::Error for Mismatch {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Mismatch(msg.to_string())
    }
}

impl<'de> de::Deserializer<'de> for &'de Tree<'_> {
    type Error = Mismatch;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self {
            Tree::Null => visitor.visit_unit(),
            Tree::Bool(b) => visitor.visit_bool(*b),
            // serde_json keeps a non-negative integer as unsigned.
            Tree::Int(i) => match u64::try_from(*i) {
                Ok(u) => visitor.visit_u64(u),
                Err(_) => visitor.visit_i64(*i),
            },
            Tree::Str(s) => visitor.visit_borrowed_str(s),
            Tree::Seq(items) => {
                let mut access = de::value::SeqDeserializer::new(items.iter());
                let value = visitor.visit_seq(&mut access)?;
                access.end()?;
                Ok(value)
            }
            Tree::Map(entries) => {
                let pairs = entries.iter().map(|(k, v)| (Key(k.as_ref()), v));
                let mut access = de::value::MapDeserializer::new(pairs);
                let value = visitor.visit_map(&mut access)?;
                access.end()?;
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self {
            Tree::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, Mismatch> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        match self {
            // Unit variants only: the manifest has no enums that carry data by name.
            Tree::Str(s) => visitor.visit_enum(BorrowedStrDeserializer::new(s)),
            _ => Err(de::Error::custom("expected a variant name")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

impl<'de> IntoDeserializer<'de, Mismatch> for &'de Tree<'_> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

/// A mapping key: a string to whatever reads it (a field name, a map key, a unit variant).
struct Key<'de>(&'de str);

impl<'de> IntoDeserializer<'de, Mismatch> for Key<'de> {
    type Deserializer = BorrowedStrDeserializer<'de, Mismatch>;

    fn into_deserializer(self) -> Self::Deserializer {
        BorrowedStrDeserializer::new(self.0)
    }
}

/// Deserializes `T` from a tree; any mismatch means "take the full path".
pub fn typed<'de, T: de::Deserialize<'de>>(tree: &'de Tree<'_>) -> Result<T, Mismatch> {
    T::deserialize(tree)
}
