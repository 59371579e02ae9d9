//! Keyed collections written as lists: files hold `[a, b]`, memory holds a `BTreeMap` keyed
//! by each item's identity, so order is deterministic and duplicates are caught on read.

use std::collections::BTreeMap;
use std::fmt::Display;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An item that knows its identity.
pub trait Keyed {
    /// The identity type.
    type Key: Ord + Clone + Display;
    /// The identity.
    fn key(&self) -> Self::Key;
}

/// Builds a map from items; returns the first duplicate key as an error.
pub fn into_map<T: Keyed>(items: Vec<T>) -> Result<BTreeMap<T::Key, T>, T::Key> {
    let mut map = BTreeMap::new();
    for item in items {
        let k = item.key();
        if map.insert(k.clone(), item).is_some() {
            return Err(k);
        }
    }
    Ok(map)
}

/// `#[serde(with = "list")]` for `BTreeMap<K, T>` fields written as lists.
pub fn serialize<S: Serializer, T: Keyed + Serialize>(map: &BTreeMap<T::Key, T>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(map.values())
}

/// See [`serialize`].
pub fn deserialize<'de, D: Deserializer<'de>, T: Keyed + Deserialize<'de>>(
    d: D,
) -> Result<BTreeMap<T::Key, T>, D::Error> {
    let items = Vec::<T>::deserialize(d)?;
    into_map(items).map_err(|k| serde::de::Error::custom(format!("`{k}` is listed twice")))
}
