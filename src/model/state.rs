//! The state of one node's kernel, as far as lbconverge cares: IPVS services, addresses,
//! routes, links, sysctls and the firewall-mark table, plus the ledger of what lbconverge
//! owns. Desired and live state share this type, so the plan is a pure function of two
//! values. Its YAML form is the live-state snapshot format (`lbconverge show`, `plan
//! --live`).

use std::collections::BTreeMap;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::firewall::MarkTable;
use super::ipvs::{Service, ServiceKey};
use super::list;
use super::net::{AddrKey, Address, Link, Route};
use super::sync::{SyncConfig, SyncState};
use super::sysctl::SysctlKey;

/// The state of one node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeState {
    /// The manifest node this state belongs to, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// IPVS virtual services with their destinations.
    #[serde(default, with = "list", skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<ServiceKey, Service>,
    /// Interface addresses.
    #[serde(default, with = "list", skip_serializing_if = "BTreeMap::is_empty")]
    pub addresses: BTreeMap<AddrKey, Address>,
    /// Routes of the main table that matter (default routes).
    #[serde(default, with = "list", skip_serializing_if = "BTreeMap::is_empty")]
    pub routes: BTreeMap<IpNet, Route>,
    /// Interfaces by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, Link>,
    /// Sysctl values as /proc/sys prints them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<SysctlKey, String>,
    /// Routes announced for BGP (`ip route show proto 76 table all`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub announced: std::collections::BTreeSet<super::announce::Announced>,
    /// Routes VRRP masters hold (`ip route show proto 77 table all`): the daemon's; a plan
    /// shows them, never changes them.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub vrrp_routes: std::collections::BTreeSet<super::net::VrrpRoute>,
    /// Policy routing rules VRRP masters hold (`ip rule show proto 77`): the daemon's; a
    /// plan shows them, never changes them.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub vrrp_rules: std::collections::BTreeSet<super::net::VrrpRule>,
    /// VRRP virtual MAC interfaces (`ip -d link show type macvlan`, those with a VRRP MAC):
    /// the daemon's; a plan shows them, never changes them.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub vmacs: std::collections::BTreeSet<super::net::Vmac>,
    /// IPVS connection sync daemons by state (`ipvsadm -L --daemon`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sync_daemons: BTreeMap<SyncState, SyncConfig>,
    /// IPVS connection timeouts (`ipvsadm -L --timeout`); none when IPVS is not loaded. In
    /// desired state a 0 leaves that timeout as the kernel has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipvs_timeouts: Option<super::timeouts::Timeouts>,
    /// The nftables table of firewall marks (`table inet lbconverge`); none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall: Option<MarkTable>,
    /// What lbconverge owns on this node (live state only).
    #[serde(default, skip_serializing_if = "Ledger::is_empty")]
    pub owned: Ledger,
}

/// What lbconverge has applied on a node, so that removing an object from the manifest
/// removes it from the kernel, while objects it never declared are left alone. For sysctls
/// and routes it keeps the value found before lbconverge first changed them, to restore it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    /// Owned IPVS services.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub services: std::collections::BTreeSet<ServiceKey>,
    /// Owned addresses.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub addresses: std::collections::BTreeSet<AddrKey>,
    /// Owned routes, with the route they replaced (none: there was no such route).
    #[serde(default, with = "prior_routes", skip_serializing_if = "BTreeMap::is_empty")]
    pub routes: BTreeMap<IpNet, Option<Route>>,
    /// Owned sysctls, with their value before lbconverge set them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<SysctlKey, String>,
    /// Owned announced routes.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub announced: std::collections::BTreeSet<super::announce::Announced>,
    /// Owned connection sync daemons (a VRRP instance starts and stops them).
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub sync_daemons: std::collections::BTreeSet<SyncState>,
    /// Owned IPVS timeouts, each with its value before lbconverge set it (0: not owned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipvs_timeouts: Option<super::timeouts::Timeouts>,
    /// The nftables table `inet lbconverge` is lbconverge's (it made or took it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub firewall: bool,
}

impl Ledger {
    /// Returns true if and only if lbconverge owns nothing.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
            && self.addresses.is_empty()
            && self.routes.is_empty()
            && self.sysctls.is_empty()
            && self.sync_daemons.is_empty()
            && self.announced.is_empty()
            && !self.firewall
            && self.ipvs_timeouts.is_none()
    }
}

mod prior_routes {
    //! Owned routes as a list of `{destination, prior}`.
    use std::collections::BTreeMap;

    use ipnet::IpNet;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::model::net::Route;

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        destination: IpNet,
        #[serde(default)]
        prior: Option<Route>,
    }

    pub fn serialize<S: Serializer>(m: &BTreeMap<IpNet, Option<Route>>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter().map(|(d, p)| Entry { destination: *d, prior: p.clone() }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<IpNet, Option<Route>>, D::Error> {
        let v = Vec::<Entry>::deserialize(d)?;
        Ok(v.into_iter().map(|e| (e.destination, e.prior)).collect())
    }
}
