//! Sysctls under /proc/sys, read and written as files: the key is a path, so interfaces
//! with dots in their names (eth0.100) need no escaping. Values are checked before writing.

use std::io;
use std::path::PathBuf;

use super::modules;
use crate::kernel::{KResult, KernelError};
use crate::model::sysctl::SysctlKey;

/// /proc/sys.
pub struct ProcSys {
    root: PathBuf,
}

impl Default for ProcSys {
    fn default() -> Self {
        ProcSys { root: PathBuf::from("/proc/sys") }
    }
}

/// Returns an error message when `value` cannot be written to `key`.
pub fn check_value(key: &SysctlKey, value: &str) -> Result<(), String> {
    let numeric = key.conf_interface().is_some()
        || matches!(key.leaf(), "ip_forward")
        || key.proc_path().starts_with("net/ipv4/vs/");
    if value.is_empty() || value.contains(['\n', '\0']) {
        return Err(format!("`{value}` is not a single-line value"));
    }
    if numeric && value.parse::<i64>().is_err() {
        return Err(format!("{key} takes an integer, not `{value}`"));
    }
    Ok(())
}

impl ProcSys {
    fn path(&self, key: &SysctlKey) -> PathBuf {
        self.root.join(key.proc_path())
    }

    /// Reads a value; `None` when it does not exist.
    pub fn read(&self, key: &SysctlKey) -> KResult<Option<String>> {
        match std::fs::read_to_string(self.path(key)) {
            Ok(v) => Ok(Some(v.trim().to_string())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(KernelError::io("read sysctl", key.to_string(), e)),
        }
    }

    /// Writes a value; loads `ip_vs` first for `net.ipv4.vs.*` when it is missing.
    pub fn write(&self, key: &SysctlKey, value: &str) -> KResult<()> {
        check_value(key, value).map_err(|m| {
            KernelError::io("write sysctl", key.to_string(), io::Error::new(io::ErrorKind::InvalidInput, m))
        })?;
        let path = self.path(key);
        if !path.exists() && key.proc_path().starts_with("net/ipv4/vs/") {
            let _ = modules::load("ip_vs");
        }
        std::fs::write(&path, value).map_err(|e| {
            let err = KernelError::io("write sysctl", key.to_string(), e);
            match key.conf_interface() {
                Some(i) if !path.exists() => err.with_hint(format!("interface {i} does not exist on this host")),
                _ => err,
            }
        })
    }
}
