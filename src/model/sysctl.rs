//! Sysctl names. A key is kept as its /proc/sys path (`net/ipv4/conf/eth0.100/arp_ignore`)
//! and shown in sysctl(8) style (`net.ipv4.conf.eth0/100.arp_ignore`), so interface names
//! with dots never need guessing.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A sysctl, by its path under /proc/sys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SysctlKey {
    parts: Vec<String>,
}

impl SysctlKey {
    /// A key from path components; none may be empty or contain `/`.
    pub fn from_parts<I: IntoIterator<Item = S>, S: Into<String>>(parts: I) -> Self {
        SysctlKey { parts: parts.into_iter().map(Into::into).collect() }
    }
    /// `net.ipv4.conf.<iface>.<leaf>`.
    pub fn ipv4_conf(iface: &str, leaf: &str) -> Self {
        Self::from_parts(["net", "ipv4", "conf", iface, leaf])
    }
    /// The path relative to /proc/sys.
    pub fn proc_path(&self) -> String {
        self.parts.join("/")
    }
    /// The last component (`arp_ignore`).
    pub fn leaf(&self) -> &str {
        self.parts.last().map_or("", String::as_str)
    }
    /// For `net.ipvX.conf.<iface>.<leaf>`: the interface (`all`, `default` or a name).
    pub fn conf_interface(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [net, _, conf, iface, _] if net == "net" && conf == "conf" => Some(iface),
            _ => None,
        }
    }
    /// The same leaf for interface `all` (for keys under `net.ipvX.conf`).
    pub fn with_interface(&self, iface: &str) -> Option<SysctlKey> {
        self.conf_interface()?;
        let mut parts = self.parts.clone();
        parts[3] = iface.to_string();
        Some(SysctlKey { parts })
    }
}

impl fmt::Display for SysctlKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self.parts.iter().map(|p| p.replace('.', "/")).collect();
        f.write_str(&shown.join("."))
    }
}

impl FromStr for SysctlKey {
    type Err = String;
    /// Parses sysctl(8) style (`net.ipv4.conf.eth0/100.arp_ignore`) or a /proc/sys path.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let parts: Vec<String> = if let Some(path) = s.strip_prefix("/proc/sys/") {
            path.split('/').map(str::to_string).collect()
        } else {
            s.split('.').map(|p| p.replace('/', ".")).collect()
        };
        let ok = parts.len() >= 2
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p != "."
                    && p != ".."
                    && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:@+".contains(c))
            });
        if ok { Ok(SysctlKey { parts }) } else { Err(format!("`{s}` is not a sysctl name like net.ipv4.ip_forward")) }
    }
}

impl Serialize for SysctlKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SysctlKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// Sysctls whose effective value for an interface is the maximum of `all` and the interface
/// (`IN_DEV_MAXCONF` in the kernel).
pub fn is_max_semantics(leaf: &str) -> bool {
    matches!(leaf, "arp_ignore" | "arp_announce" | "rp_filter")
}

/// `keys` plus the `all` counterparts of their max-semantics sysctls, which decide their
/// effective values.
pub fn with_all_variants(keys: &BTreeSet<SysctlKey>) -> BTreeSet<SysctlKey> {
    let mut out = keys.clone();
    out.extend(keys.iter().filter(|k| is_max_semantics(k.leaf())).filter_map(|k| k.with_interface("all")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_interface_round_trips() {
        let k: SysctlKey = "net.ipv4.conf.eth0/100.arp_ignore".parse().unwrap();
        assert_eq!(k.proc_path(), "net/ipv4/conf/eth0.100/arp_ignore");
        assert_eq!(k.to_string(), "net.ipv4.conf.eth0/100.arp_ignore");
        assert_eq!(k.conf_interface(), Some("eth0.100"));
        let p: SysctlKey = "/proc/sys/net/ipv4/conf/eth0.100/arp_ignore".parse().unwrap();
        assert_eq!(p, k);
    }

    #[test]
    fn rejects_traversal() {
        assert!("net.ipv4./...x".parse::<SysctlKey>().is_err());
        assert!("/proc/sys/net/../../etc/passwd".parse::<SysctlKey>().is_err());
        assert!("ip_forward".parse::<SysctlKey>().is_err());
    }
}
