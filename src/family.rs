//! The IP address family: one type for the manifest (a firewall-mark service's `family`),
//! the model (IPVS services, addresses) and VRRP (an instance and its adverts).

use std::fmt;
use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// IPv4 (AF_INET, 4-byte addresses) or IPv6 (AF_INET6, 16-byte addresses); `ipv4` and
/// `ipv6` in files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(description = "Address family of a firewall-mark service: `ipv4` or `ipv6`.")]
#[schemars(extend("enumDescriptions" = ["IPv4 (AF_INET).", "IPv6 (AF_INET6)."]))]
#[allow(missing_docs)] // Variant docs would turn the schema's enum into a oneOf.
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    /// The family of an address.
    pub fn of(ip: &IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }
    /// Host prefix length: 32 or 128.
    pub fn host_prefix(self) -> u8 {
        match self {
            Family::Ipv4 => 32,
            Family::Ipv6 => 128,
        }
    }
    /// Bytes of an address: 4 or 16.
    pub fn addr_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        })
    }
}
