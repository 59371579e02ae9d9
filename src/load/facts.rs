//! The machine facts validation may use (secret files, environment variables), read from
//! this host; and a wrapper that remembers whether validation asked for any, since a
//! manifest whose validity depends on the host must not be served from the cache.

use std::cell::Cell;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::model::{Facts, FileFact};

/// Facts read from this machine.
pub struct HostFacts;

impl Facts for HostFacts {
    fn secret_file(&self, path: &Path) -> FileFact {
        match std::fs::metadata(path) {
            Ok(m) if !m.is_file() => FileFact::NotRegular,
            Ok(m) => FileFact::Mode(m.permissions().mode()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileFact::Missing,
            Err(e) => FileFact::Unreadable(e.to_string()),
        }
    }
    fn env_is_set(&self, name: &str) -> bool {
        std::env::var_os(name).is_some()
    }
}

/// Facts that remember being asked.
pub struct Recorded<'a> {
    inner: &'a dyn Facts,
    asked: Cell<bool>,
}

impl<'a> Recorded<'a> {
    /// Wraps `inner`.
    pub fn new(inner: &'a dyn Facts) -> Self {
        Recorded { inner, asked: Cell::new(false) }
    }
    /// Returns true if and only if validation asked for any fact.
    pub fn asked(&self) -> bool {
        self.asked.get()
    }
}

impl Facts for Recorded<'_> {
    fn secret_file(&self, path: &Path) -> FileFact {
        self.asked.set(true);
        self.inner.secret_file(path)
    }
    fn env_is_set(&self, name: &str) -> bool {
        self.asked.set(true);
        self.inner.env_is_set(name)
    }
}
