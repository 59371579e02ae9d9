//! The machine facts validation may use: secret file permissions and environment variables.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::model::{Facts, FileFact};

/// Facts read from this machine.
pub struct HostFacts;

impl Facts for HostFacts {
    fn secret_file(&self, path: &Path) -> FileFact {
        match std::fs::metadata(path) {
            Ok(m) => FileFact::Mode(m.permissions().mode()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileFact::Missing,
            Err(e) => FileFact::Unreadable(e.to_string()),
        }
    }
    fn env_is_set(&self, name: &str) -> bool {
        std::env::var_os(name).is_some()
    }
}
