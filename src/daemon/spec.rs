//! What one VRRP instance on this node runs with, resolved from the cluster: interfaces,
//! priority, peers, the password (read here from its file or environment variable, never
//! logged) and tracking. Two specs compare equal exactly when a running instance can keep
//! running across a manifest reload.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

use super::DaemonError;
use crate::model::cluster::{Cluster, Secret, TrackScript};

/// One VRRP instance of this node.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceSpec {
    /// Instance name.
    pub name: String,
    /// Virtual router id.
    pub vrid: u8,
    /// 2 or 3.
    pub version: u8,
    /// This node's configured priority.
    pub priority: u8,
    /// Advert interval.
    pub advert: Duration,
    /// Preemption.
    pub preempt: bool,
    /// Preempt delay.
    pub preempt_delay: Duration,
    /// Advert interface.
    pub interface: String,
    /// Interface holding the VIPs.
    pub vip_interface: String,
    /// The VIPs.
    pub vips: Vec<IpNet>,
    /// Unicast peers (none of them ours); `None` = multicast.
    pub unicast_peers: Option<Vec<IpAddr>>,
    /// v2 PASS password, zero-padded.
    pub auth: Option<[u8; 8]>,
    /// Source address of adverts (IPv4: the node's address; IPv6 multicast: `None`, the
    /// interface's link-local address is used).
    pub source: Option<IpAddr>,
    /// Gratuitous ARPs / NAs per burst.
    pub garp_repeat: u32,
    /// Notify command.
    pub notify: Option<Vec<String>>,
    /// Track scripts: name -> (weight, settings).
    pub track_scripts: BTreeMap<String, (i32, TrackScript)>,
    /// Tracked interfaces: name -> weight.
    pub track_interfaces: BTreeMap<String, i32>,
}

impl InstanceSpec {
    /// True for an IPv6 instance.
    pub fn is_v6(&self) -> bool {
        self.vips.first().is_some_and(|v| v.addr().is_ipv6())
    }
}

/// The specs of every instance `node` is a member of.
pub fn specs(cluster: &Cluster, node: &str) -> Result<Vec<InstanceSpec>, DaemonError> {
    let Some(n) = cluster.nodes.get(node) else {
        return Err(DaemonError::Config(format!("node `{node}` is not in the manifest")));
    };
    let mut out = Vec::new();
    for inst in cluster.vrrp.values() {
        let Some(m) = inst.members.get(node) else { continue };
        let v6 = inst.vips.first().is_some_and(|v| v.addr().is_ipv6());
        let own: Vec<IpAddr> = n.addresses.iter().map(IpNet::addr).collect();
        let peers = inst.unicast_peers.as_ref().map(|p| p.iter().copied().filter(|a| !own.contains(a)).collect());
        let source = match (v6, &inst.unicast_peers) {
            (true, None) => None,
            _ => n.address_of(v6),
        };
        let track_scripts = inst
            .track_scripts
            .iter()
            .filter_map(|(name, w)| cluster.track_scripts.get(name).map(|s| (name.clone(), (*w, s.clone()))))
            .collect();
        out.push(InstanceSpec {
            name: inst.name.clone(),
            vrid: inst.vrid,
            version: inst.version,
            priority: m.priority,
            advert: inst.advert,
            preempt: inst.preempt,
            preempt_delay: inst.preempt_delay,
            interface: m.interface.clone(),
            vip_interface: m.vip_interface.clone(),
            vips: inst.vips.clone(),
            unicast_peers: peers,
            auth: inst.auth.as_ref().map(|s| password(&inst.name, s)).transpose()?,
            source,
            garp_repeat: inst.garp_repeat,
            notify: inst.notify.clone(),
            track_scripts,
            track_interfaces: inst.track_interfaces.clone(),
        });
    }
    Ok(out)
}

/// Reads a PASS password: the first line of its file, or its environment variable.
fn password(instance: &str, s: &Secret) -> Result<[u8; 8], DaemonError> {
    let secret_err = |cause: String| DaemonError::Secret { instance: instance.to_string(), cause };
    let text = match s {
        Secret::Env(var) => {
            std::env::var(var).map_err(|_| secret_err(format!("environment variable {var} is not set")))?
        }
        Secret::File(path) => std::fs::read_to_string(path)
            .map_err(|e| secret_err(format!("{}: {e}", path.display())))?
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    let text = text.trim_end_matches(['\r', '\n']);
    if text.is_empty() || text.len() > 8 {
        return Err(secret_err(format!("the password must be 1 to 8 bytes (it is {})", text.len())));
    }
    Ok(crate::vrrp::packet::password(text))
}
