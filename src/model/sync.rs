//! IPVS connection synchronisation: the kernel's sync daemons, like `ipvsadm --start-daemon`.
//! A network namespace runs at most one per [`SyncState`]: the master sends the connections
//! it schedules over multicast, the backup installs the ones it hears, so that a director
//! taking over a VIP already knows where each flow goes.
//!
//! Settings left unset take the kernel's value (group 224.0.0.81, port 8848, TTL 1, packets
//! sized by the interface's MTU), which the kernel reports back; a desired [`SyncConfig`] is
//! met by any live one that agrees on everything it sets ([`SyncConfig::met_by`]).

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The role of a sync daemon (`IP_VS_STATE_MASTER` / `IP_VS_STATE_BACKUP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncState {
    /// Sends this director's connections.
    Master,
    /// Installs the connections a master sends.
    Backup,
}

impl SyncState {
    /// Both states, master first (the order `ipvsadm -L --daemon` prints).
    pub const ALL: [SyncState; 2] = [SyncState::Master, SyncState::Backup];

    /// The kernel's code.
    pub fn code(self) -> u32 {
        match self {
            SyncState::Master => 1,
            SyncState::Backup => 2,
        }
    }

    /// The state of a kernel code.
    pub fn from_code(code: u32) -> Option<SyncState> {
        match code {
            1 => Some(SyncState::Master),
            2 => Some(SyncState::Backup),
            _ => None,
        }
    }

    /// `master` / `backup`.
    pub fn word(self) -> &'static str {
        match self {
            SyncState::Master => "master",
            SyncState::Backup => "backup",
        }
    }
}

impl fmt::Display for SyncState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// How a sync daemon runs: its interface and sync id, and optionally the packet size and
/// the multicast group, port and TTL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// The interface sync messages go out of (master) or are received on (backup).
    pub interface: String,
    /// Sync id, 0..255: a backup installs only what a master with the same id sends.
    pub sync_id: u8,
    /// Largest sync message payload, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<u16>,
    /// Multicast group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<IpAddr>,
    /// UDP port (the master sends from it; the backup listens on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Multicast TTL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u8>,
}

impl SyncConfig {
    /// Returns true if and only if `live` runs as this asks: same interface and id, and the
    /// same value for every optional setting this one sets.
    pub fn met_by(&self, live: &SyncConfig) -> bool {
        fn same<T: PartialEq>(want: Option<T>, have: Option<T>) -> bool {
            want.is_none() || want == have
        }
        self.interface == live.interface
            && self.sync_id == live.sync_id
            && same(self.max_len, live.max_len)
            && same(self.group, live.group)
            && same(self.port, live.port)
            && same(self.ttl, live.ttl)
    }

    /// The settings as `ipvsadm -L --daemon` shows them, inside its parentheses:
    /// `mcast=eth0, syncid=10, maxlen=1472, group=224.0.0.81, port=8848, ttl=1`.
    pub fn ipvsadm_text(&self) -> String {
        let mut s = format!("mcast={}, syncid={}", self.interface, self.sync_id);
        if let Some(v) = self.max_len {
            s += &format!(", maxlen={v}");
        }
        if let Some(v) = self.group {
            s += &format!(", group={v}");
        }
        if let Some(v) = self.port {
            s += &format!(", port={v}");
        }
        if let Some(v) = self.ttl {
            s += &format!(", ttl={v}");
        }
        s
    }
}

/// One daemon as `ipvsadm -L --daemon` prints it: `master sync daemon (mcast=eth0, syncid=10)`.
pub fn ipvsadm_line(state: SyncState, c: &SyncConfig) -> String {
    format!("{state} sync daemon ({})", c.ipvsadm_text())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> SyncConfig {
        SyncConfig { interface: "eth1".into(), sync_id: 10, max_len: None, group: None, port: None, ttl: None }
    }

    #[test]
    fn unset_settings_accept_the_kernels_values_and_set_ones_must_match() {
        let live = SyncConfig {
            max_len: Some(1472),
            group: Some("224.0.0.81".parse().unwrap()),
            port: Some(8848),
            ttl: Some(1),
            ..cfg()
        };
        assert!(cfg().met_by(&live));
        assert!(!SyncConfig { port: Some(8849), ..cfg() }.met_by(&live));
        assert!(!SyncConfig { sync_id: 11, ..cfg() }.met_by(&live));
        assert!(!SyncConfig { interface: "eth0".into(), ..cfg() }.met_by(&live));
        assert_eq!(
            ipvsadm_line(SyncState::Backup, &live),
            "backup sync daemon (mcast=eth1, syncid=10, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)"
        );
    }
}
