//! Desired state for one node, per role and forwarding method (pure).
//!
//! - Director: the IPVS services it carries with their live backends; when it carries any,
//!   `send_redirects=0` on all/default/its interface; `ip_forward=1` with NAT; static VIPs of services that no
//!   VRRP instance owns. VRRP-owned VIPs are listed as delegated: VRRP adds and removes them.
//! - Firewall marks: the `match` rules of the firewall-mark services the director carries,
//!   in the cluster's chain order, as its nftables table (none without rules).
//! - Connection sync: the sync daemon settings of the director's VRRP instance, delegated
//!   like its VIPs (the instance runs the master daemon while master, the backup otherwise).
//! - DR real server: each VIP on `lo` (label `lo:0`) and `arp_ignore>=1`, `arp_announce>=2`
//!   on all and its interface. TUN: the VIP on `tunl0`, the same ARP settings and loose
//!   `rp_filter` on tunl0. NAT: default route via the service's NAT gateway.
//! - Overrides: role sysctls, then node sysctls, win over computed values.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;

use super::cluster::{Backend, Cluster, Node, VirtualService};
use super::ipvs::{Dest, DestKey, Forwarding, Service, ServiceKey};
use super::net::{Address, Link, Route};
use super::state::NodeState;
use super::sysctl::SysctlKey;
use crate::family::Family;

/// Health of backends, as the daemon's checks see it. Offline, everything is up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// (service name, backend name) pairs that are down.
    pub down: BTreeSet<(String, String)>,
    /// Weights a check set (keepalived's `misc_dynamic`), instead of the manifest's.
    pub weights: BTreeMap<(String, String), u32>,
    /// Services whose live weight is below quorum (the daemon applies hysteresis).
    pub below_quorum: BTreeSet<String>,
    /// (service name, backend name) pairs drained by `lbconverge drain`: weight 0 while up.
    pub drained: BTreeSet<(String, String)>,
    /// The daemon runs: the routes of `announce: bgp` services that are not below quorum
    /// are announced. Offline (false) they are left to it.
    pub announcing: bool,
}

impl Health {
    /// Everything up: what `plan` assumes offline.
    pub fn all_up() -> Self {
        Health::default()
    }
    fn is_up(&self, svc: &str, backend: &str) -> bool {
        // The sets are keyed by owned pairs; the common empty case skips building one.
        self.down.is_empty() || !self.down.contains(&(svc.to_string(), backend.to_string()))
    }
    /// The weight of an up backend: 0 when drained, else the one a check set, else the
    /// manifest's.
    pub fn weight(&self, svc: &str, be: &Backend) -> u32 {
        if self.drained.is_empty() && self.weights.is_empty() {
            return be.weight;
        }
        let id = (svc.to_string(), be.name.clone());
        if self.drained.contains(&id) {
            return 0;
        }
        self.weights.get(&id).copied().unwrap_or(be.weight)
    }
}

/// An address a VRRP instance adds and removes, not `apply`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Delegated {
    /// The address as VRRP will hold it.
    pub address: Address,
    /// The instance.
    pub instance: String,
}

/// The IPVS sync daemon a VRRP instance runs: as master while it is master, as backup
/// otherwise. `apply` keeps its settings right; the instance starts and stops it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegatedSync {
    /// The instance.
    pub instance: String,
    /// The settings, whichever the state.
    pub config: crate::model::sync::SyncConfig,
}

/// What a node's kernel should hold, plus what the plan needs to judge it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// Node name.
    pub node: String,
    /// Role names.
    pub roles: Vec<&'static str>,
    /// The state to converge to (its ledger is empty).
    pub state: NodeState,
    /// Sysctls satisfied by any effective value at least the desired one (ARP settings).
    pub at_least: BTreeSet<SysctlKey>,
    /// VRRP-managed addresses.
    pub delegated: Vec<Delegated>,
    /// VRRP-managed routes, with their instance.
    pub delegated_routes: Vec<(crate::model::net::VrrpRoute, String)>,
    /// VRRP-managed policy routing rules, with their instance.
    pub delegated_rules: Vec<(crate::model::net::VrrpRule, String)>,
    /// The VMACs the daemon makes for VRRP instances, with their instance.
    pub delegated_vmacs: Vec<(crate::model::net::Vmac, String)>,
    /// The VRRP-managed sync daemon.
    pub sync: Option<DelegatedSync>,
    /// Routes `lbconverge run` announces while healthy, when planned offline.
    pub announce_delegated: BTreeSet<crate::model::announce::Announced>,
    /// Destinations left out because their backend failed its health check.
    pub failed: Failed,
}

impl Desired {
    /// The sysctls a plan for this state depends on.
    pub fn sysctl_scope(&self) -> BTreeSet<SysctlKey> {
        self.state.sysctls.keys().cloned().collect()
    }
}

/// The sysctls to read for a manifest: those of `node`, or, before the node is known (it is
/// picked by the host's addresses), of every node it could be.
pub fn sysctl_scope(cluster: &Cluster, node: Option<&str>) -> BTreeSet<SysctlKey> {
    let names: Vec<&String> = match node {
        Some(n) => cluster.nodes.keys().filter(|k| k.as_str() == n).collect(),
        None => cluster.nodes.keys().collect(),
    };
    names.into_iter().filter_map(|n| desired(cluster, n, &Health::all_up())).flat_map(|d| d.sysctl_scope()).collect()
}

/// Computes the desired state of `node`.
pub fn desired(cluster: &Cluster, node: &str, health: &Health) -> Option<Desired> {
    let n = cluster.nodes.get(node)?;
    let mut b = Builder::default();
    if n.director {
        director(&mut b, cluster, n, health);
        b.state.ipvs_timeouts = (!n.ipvs_timeouts.is_unset()).then_some(n.ipvs_timeouts);
    }
    if n.real_server {
        real_server(&mut b, cluster, n);
    }
    overrides(&mut b, cluster, n);
    b.state.node = Some(node.to_string());
    b.delegated.sort();
    b.delegated.dedup();
    Some(Desired {
        node: node.to_string(),
        roles: n.role_names(),
        state: b.state,
        at_least: b.at_least,
        delegated: b.delegated,
        delegated_routes: b.delegated_routes,
        delegated_rules: b.delegated_rules,
        delegated_vmacs: b.delegated_vmacs,
        sync: b.sync,
        announce_delegated: b.announce_delegated,
        failed: b.failed,
    })
}

#[derive(Default)]
struct Builder {
    state: NodeState,
    at_least: BTreeSet<SysctlKey>,
    delegated: Vec<Delegated>,
    delegated_routes: Vec<(crate::model::net::VrrpRoute, String)>,
    delegated_rules: Vec<(crate::model::net::VrrpRule, String)>,
    delegated_vmacs: Vec<(crate::model::net::Vmac, String)>,
    sync: Option<DelegatedSync>,
    announce_delegated: BTreeSet<crate::model::announce::Announced>,
    failed: Failed,
}

impl Builder {
    fn sysctl(&mut self, key: SysctlKey, value: &str) {
        self.at_least.remove(&key);
        self.state.sysctls.insert(key, value.to_string());
    }
    fn sysctl_at_least(&mut self, key: SysctlKey, value: u32) {
        let cur = self.state.sysctls.get(&key).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
        if value >= cur {
            self.state.sysctls.insert(key.clone(), value.to_string());
        }
        self.at_least.insert(key);
    }
    fn address(&mut self, a: Address) {
        self.state.addresses.insert(a.key(), a);
    }
}

fn host(ip: IpAddr) -> IpNet {
    IpNet::new(ip, Family::of(&ip).host_prefix()).unwrap_or(IpNet::from(ip))
}

fn director(b: &mut Builder, c: &Cluster, n: &Node, health: &Health) {
    let carried: Vec<&VirtualService> = c.services.values().filter(|s| s.directors.contains(&n.name)).collect();
    probe_services(b, c, n, &carried);
    if !carried.is_empty() {
        for iface in ["all", "default", n.interface.as_str()] {
            b.sysctl(SysctlKey::ipv4_conf(iface, "send_redirects"), "0");
        }
    }
    for vs in carried {
        for svc in services_and_failed(vs, health, &mut b.failed) {
            b.state.services.insert(svc.key, svc);
        }
        forward(b, vs);
        if vs.announce_bgp {
            announce(b, c, vs, health);
        } else if vs.vrrp_instance.is_none() {
            // A VIP that is the director's own address (classic LVS-NAT) is already held.
            for vip in vs.vips.iter().filter(|v| !n.addresses.iter().any(|a| a.addr() == **v)) {
                b.address(Address::plain(n.interface.clone(), host(*vip)));
            }
        }
    }
    marks(b, c, n);
    for inst in c.vrrp.values() {
        let Some(m) = inst.members.get(&n.name) else { continue };
        for vip in inst.held() {
            let address = inst.placed(m, vip).address(&m.vip_interface);
            b.delegated.push(Delegated { address, instance: inst.name.clone() });
        }
        b.delegated_routes.extend(inst.routes.iter().map(|r| (r.clone(), inst.name.clone())));
        b.delegated_rules.extend(inst.rules.iter().map(|r| (r.clone(), inst.name.clone())));
        if let Some(v) = inst.vmac_of(&n.name) {
            vmac_base(b, &v);
            b.delegated_vmacs.push((v, inst.name.clone()));
        }
        if let Some(address) = inst.ipvlan_address_of(&n.name) {
            b.delegated.push(Delegated { address, instance: inst.name.clone() });
        }
        for v in &m.vip_vmacs {
            vmac_base(b, v);
            b.delegated_vmacs.push((v.clone(), inst.name.clone()));
        }
        if let Some(config) = inst.sync_config(&n.name) {
            b.sync = Some(DelegatedSync { instance: inst.name.clone(), config });
        }
    }
}

/// The interface under an IPv4 VMAC must never tie a VIP to its own MAC: it answers no ARP
/// for the VIPs on the VMAC (`arp_ignore=1`, `arp_filter=1`, as keepalived sets), and its
/// own ARP requests (for a reply routed out of it, sent from a VIP) name its own address,
/// not the VIP (`arp_announce=2`, which keepalived does not set: a neighbour would learn
/// the VIP at the base's MAC). A higher value stays. An ipvlan has the base's MAC: nothing
/// to set (keepalived sets nothing either).
fn vmac_base(b: &mut Builder, v: &crate::model::net::Vmac) {
    if !v.ipv6 && v.ipvlan.is_none() {
        b.sysctl_at_least(SysctlKey::ipv4_conf(&v.parent, "arp_ignore"), 1);
        b.sysctl_at_least(SysctlKey::ipv4_conf(&v.parent, "arp_filter"), 1);
        b.sysctl_at_least(SysctlKey::ipv4_conf(&v.parent, "arp_announce"), 2);
    }
}

/// The director's firewall-mark table: the rules of the services it carries, in the
/// cluster's chain order; no table when there are none.
fn marks(b: &mut Builder, c: &Cluster, n: &Node) {
    let carried = |svc: &str| c.services.get(svc).is_some_and(|vs| vs.directors.contains(&n.name));
    let rules: Vec<_> = c.marks.iter().filter(|r| carried(&r.service)).map(|r| r.rule.clone()).collect();
    let drops = no_accept_drops(c, n);
    if !rules.is_empty() || !drops.is_empty() {
        b.state.firewall = Some(crate::model::firewall::MarkTable { rules, foreign: Vec::new(), drops });
    }
}

/// The drops of the VRRP instances this director is a member of without accept mode: per
/// instance and family, packets to its VIPs (input) and from them (output), in chain order.
fn no_accept_drops(c: &Cluster, n: &Node) -> Vec<crate::model::firewall::DropRule> {
    use crate::model::firewall::{AddrSet, DropRule};
    let mut out = Vec::new();
    for inst in c.vrrp.values().filter(|i| i.members.contains_key(&n.name) && !i.accepts(&n.name)) {
        for family in [Family::Ipv4, Family::Ipv6] {
            let addrs: Vec<std::net::IpAddr> =
                inst.held().map(|v| v.addr()).filter(|a| a.is_ipv6() == (family == Family::Ipv6)).collect();
            if addrs.is_empty() {
                continue;
            }
            let addresses = AddrSet::hosts(family, &addrs);
            let comment = format!("vrrp.{} accept: false", inst.name);
            for inbound in [true, false] {
                out.push(DropRule { comment: comment.clone(), inbound, addresses: addresses.clone(), hits: None });
            }
        }
    }
    // In chain order: vrrp_in's, then vrrp_out's.
    out.sort_by_key(|d| !d.inbound);
    out
}

/// `announce: bgp`: the VIP on `lo` as a local route (every director holds it; routers, not
/// ARP, pick one; a local route rather than an address, so that no routing daemon sees a
/// connected route for the VIP that would win over the announced one), and its host route in the routing table while the service holds its quorum and some
/// backend takes new connections (not all drained).
fn announce(b: &mut Builder, c: &Cluster, vs: &VirtualService, health: &Health) {
    let serving = vs.backends.iter().any(|be| health.is_up(&vs.name, &be.name) && health.weight(&vs.name, be) > 0);
    let healthy = serving && !health.below_quorum.contains(&vs.name);
    for vip in &vs.vips {
        b.address(Address::local_route("lo", host(*vip)));
        let route = crate::model::announce::Announced { destination: host(*vip), table: c.routing.table };
        if !health.announcing {
            b.announce_delegated.insert(route);
        } else if healthy {
            b.state.announced.insert(route);
        }
    }
}

/// A backend as a data-path check reaches it: address, check port, forwarding.
pub type ProbePath = (IpAddr, u16, Forwarding);

/// The firewall marks of the data-path checks (`via: ipvs`): one per distinct backend path
/// over the whole cluster, in order, from [`crate::model::ipvs::PROBE_MARKS`].
pub fn probe_marks(c: &Cluster) -> BTreeMap<ProbePath, u32> {
    let paths: BTreeSet<ProbePath> = c
        .services
        .values()
        .flat_map(|vs| &vs.backends)
        .flat_map(|be| be.checks.iter().filter(|ck| ck.via_ipvs).map(move |ck| (be.address, ck.port, be.forwarding)))
        .collect();
    let marks = crate::model::ipvs::PROBE_MARKS;
    paths.into_iter().zip(*marks.start()..=*marks.end()).collect()
}

/// The firewall-mark services that carry the data-path checks of the services a director
/// carries: each sends marked probes to its one backend. A DR or TUN real server answers
/// from the VIP, an address the director holds too, so the director's interface accepts
/// packets from its own addresses (`accept_local`).
fn probe_services(b: &mut Builder, c: &Cluster, n: &Node, carried: &[&VirtualService]) {
    let marks = probe_marks(c);
    let any_v4 = carried
        .iter()
        .flat_map(|vs| &vs.backends)
        .any(|be| be.address.is_ipv4() && be.checks.iter().any(|ck| ck.via_ipvs));
    if any_v4 {
        b.sysctl(SysctlKey::ipv4_conf(&n.interface, "accept_local"), "1");
    }
    for vs in carried {
        for be in &vs.backends {
            for ck in be.checks.iter().filter(|ck| ck.via_ipvs) {
                let Some(mark) = marks.get(&(be.address, ck.port, be.forwarding)) else { continue };
                let key = ServiceKey::Fwmark { family: Family::of(&be.address), mark: *mark };
                let dest = Dest {
                    address: be.address,
                    port: ck.port,
                    forwarding: be.forwarding,
                    weight: 1,
                    upper_threshold: 0,
                    lower_threshold: 0,
                    stats: None,
                };
                let svc = Service {
                    key,
                    scheduler: "rr".into(),
                    sched_flags: 0,
                    persistence: None,
                    one_packet: false,
                    dests: BTreeMap::from([(dest.key(), dest)]),
                    traffic: Default::default(),
                };
                b.state.services.insert(key, svc);
            }
        }
    }
}

fn forward(b: &mut Builder, vs: &VirtualService) {
    let nat = vs.backends.iter().any(|be| be.forwarding == Forwarding::Nat)
        || vs.sorry.as_ref().is_some_and(|s| s.forwarding == Forwarding::Nat);
    if !nat {
        return;
    }
    let families: BTreeSet<Family> = vs.keys().iter().map(ServiceKey::family).collect();
    for family in families {
        match family {
            Family::Ipv4 => b.sysctl(SysctlKey::from_parts(["net", "ipv4", "ip_forward"]), "1"),
            Family::Ipv6 => b.sysctl(SysctlKey::from_parts(["net", "ipv6", "conf", "all", "forwarding"]), "1"),
        }
    }
}

/// Destinations a failed check left out, by service.
pub type Failed = BTreeSet<(ServiceKey, DestKey)>;

/// The IPVS services of `vs` (one, or one per member of its server group), with the
/// destinations its failed backends leave out added to `failed`: a backend's one health
/// verdict moves it in every one of them.
fn services_and_failed(vs: &VirtualService, health: &Health, failed: &mut Failed) -> Vec<Service> {
    for be in vs.backends.iter().filter(|be| !be.inhibit_on_failure && !health.is_up(&vs.name, &be.name)) {
        for key in vs.keys() {
            failed.insert((*key, DestKey { addr: be.address, port: vs.dest_port(key, be) }));
        }
    }
    vs.keys().iter().map(|key| ipvs_service(vs, key, health)).collect()
}

/// The IPVS services `node` carries among the services named `names` (every member of a
/// server group), and the destinations their failed backends leave out: the desired side
/// of the scoped plan a health transition or a drain applies ([`crate::plan::dest_changes`]),
/// without the rest of the node.
pub fn scoped_services(
    cluster: &Cluster,
    node: &str,
    health: &Health,
    names: &BTreeSet<String>,
) -> (BTreeMap<ServiceKey, Service>, Failed) {
    let mut failed = Failed::new();
    let services = names
        .iter()
        .filter_map(|n| cluster.services.get(n))
        .filter(|vs| vs.directors.iter().any(|d| d == node))
        .flat_map(|vs| services_and_failed(vs, health, &mut failed))
        .map(|s| (s.key, s))
        .collect();
    (services, failed)
}

/// The IPVS service `key` (one of `vs`'s keys) a director holds given backend health.
fn ipvs_service(vs: &VirtualService, key: &ServiceKey, health: &Health) -> Service {
    let mut dests: BTreeMap<_, _> =
        vs.backends.iter().filter_map(|be| dest_for(vs, key, be, health)).map(|d| (d.key(), d)).collect();
    if let Some(s) = vs.sorry.as_ref().filter(|_| health.below_quorum.contains(&vs.name)) {
        let port = if vs.group.is_empty() || s.forwarding == Forwarding::Nat && s.port != 0 {
            s.port
        } else {
            key.vip_port().map_or(0, |(_, p)| p)
        };
        let d = Dest {
            address: s.address,
            port,
            forwarding: s.forwarding,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
            stats: None,
        };
        dests = BTreeMap::from([(d.key(), d)]);
    }
    Service {
        key: *key,
        scheduler: vs.scheduler.clone(),
        sched_flags: vs.sched_flags,
        persistence: vs.persistence,
        one_packet: vs.one_packet,
        dests,
        traffic: Default::default(),
    }
}

fn dest_for(vs: &VirtualService, key: &ServiceKey, be: &Backend, health: &Health) -> Option<Dest> {
    let up = health.is_up(&vs.name, &be.name);
    if !up && !be.inhibit_on_failure {
        return None;
    }
    let weight = if up { health.weight(&vs.name, be) } else { 0 };
    Some(Dest {
        address: be.address,
        port: vs.dest_port(key, be),
        forwarding: be.forwarding,
        weight,
        upper_threshold: 0,
        lower_threshold: 0,
        stats: None,
    })
}

fn real_server(b: &mut Builder, c: &Cluster, n: &Node) {
    for vs in c.services.values() {
        if vs.directors.contains(&n.name) {
            continue; // a director holds the VIP itself
        }
        for be in vs.backends.iter().filter(|be| be.node.as_deref() == Some(&n.name)) {
            match be.forwarding {
                Forwarding::Dr => dr(b, n, vs),
                Forwarding::Tun => tun(b, n, vs),
                Forwarding::Nat => nat(b, vs),
                Forwarding::Local => {}
            }
        }
    }
}

fn arp(b: &mut Builder, n: &Node) {
    for iface in ["all", n.interface.as_str()] {
        b.sysctl_at_least(SysctlKey::ipv4_conf(iface, "arp_ignore"), 1);
        b.sysctl_at_least(SysctlKey::ipv4_conf(iface, "arp_announce"), 2);
    }
}

fn dr(b: &mut Builder, n: &Node, vs: &VirtualService) {
    for vip in &vs.vips {
        let label = vip.is_ipv4().then(|| n.vip_label.clone());
        b.address(Address::labelled("lo", host(*vip), label));
        if vip.is_ipv4() {
            arp(b, n);
        }
    }
}

fn tun(b: &mut Builder, n: &Node, vs: &VirtualService) {
    for vip in &vs.vips {
        let iface = if vip.is_ipv4() { "tunl0" } else { "ip6tnl0" };
        b.state.links.insert(iface.to_string(), Link::UP);
        b.address(Address::plain(iface, host(*vip)));
        if vip.is_ipv4() {
            arp(b, n);
            b.sysctl(SysctlKey::ipv4_conf("tunl0", "rp_filter"), "2");
        }
    }
}

fn nat(b: &mut Builder, vs: &VirtualService) {
    let Some(gw) = vs.nat_gateway else { return };
    let destination = match gw {
        IpAddr::V4(_) => IpNet::V4(ipnet::Ipv4Net::default()),
        IpAddr::V6(_) => IpNet::V6(ipnet::Ipv6Net::default()),
    };
    b.state.routes.insert(destination, Route { destination, gateway: gw, interface: None });
}

fn overrides(b: &mut Builder, c: &Cluster, n: &Node) {
    let mut layers = Vec::new();
    if n.director {
        layers.push(&c.director_sysctls);
    }
    if n.real_server {
        layers.push(&c.real_server_sysctls);
    }
    layers.push(&n.sysctls);
    for layer in layers {
        for (k, v) in layer {
            b.sysctl(k.clone(), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest;
    use crate::model::NoFacts;

    #[test]
    fn a_static_vip_that_is_the_directors_own_address_is_not_added_again() {
        let text = "version: 1
nodes: {lb: {roles: [director], addresses: [10.0.0.11/24], interface: eth0}}
services:
  web:
    vip: 10.0.0.11
    port: 80
    directors: [lb]
    forwarding: nat
    backends:
      a: {address: 10.0.0.21}
";
        let loaded = manifest::parse("m.yaml", ".".into(), text.as_bytes()).unwrap();
        let cluster = crate::model::validate(&loaded, &NoFacts).unwrap().cluster;
        let d = desired(&cluster, "lb", &Health::all_up()).unwrap();
        assert!(d.state.addresses.is_empty(), "{:?}", d.state.addresses);
        assert_eq!(d.state.services.len(), 1);
    }

    #[test]
    fn a_failed_backend_leaves_or_stays_at_weight_0_by_its_own_inhibit_setting() {
        let text = "version: 1
nodes: {lb: {roles: [director], addresses: [10.0.0.11/24], interface: eth0}}
services:
  web:
    vip: 10.0.0.100
    port: 80
    directors: [lb]
    forwarding: nat
    inhibit_on_failure: true
    backends:
      a: {address: 10.0.0.21, weight: 3}
      b: {address: 10.0.0.22, weight: 3, inhibit_on_failure: false}
";
        let loaded = manifest::parse("m.yaml", ".".into(), text.as_bytes()).unwrap();
        let cluster = crate::model::validate(&loaded, &NoFacts).unwrap().cluster;
        let mut health = Health::all_up();
        for be in ["a", "b"] {
            health.down.insert(("web".into(), be.into()));
        }
        let d = desired(&cluster, "lb", &health).unwrap();
        let svc = d.state.services.values().next().unwrap();
        let weights: Vec<(String, u32)> = svc.dests.values().map(|x| (x.address.to_string(), x.weight)).collect();
        assert_eq!(weights, [("10.0.0.21".to_string(), 0)], "a inhibited at weight 0, b removed");
        let failed: Vec<String> = d.failed.iter().map(|(_, k)| k.to_string()).collect();
        assert_eq!(failed, ["10.0.0.22:80"], "b leaves as failed: deleted at once");
    }
}

#[cfg(test)]
mod probe_tests {
    use super::*;
    use crate::manifest;
    use crate::model::NoFacts;

    #[test]
    fn a_data_path_check_gets_a_marked_service_per_backend_and_accept_local() {
        let text = "version: 1
nodes:
  lb: {roles: [director], addresses: [10.0.0.11/24], interface: eth0}
  rs1: {roles: [real-server], addresses: [10.0.0.21/24], interface: eth0}
  rs2: {roles: [real-server], addresses: [10.0.0.22/24], interface: eth0}
services:
  web:
    vip: 10.0.0.100
    port: 80
    directors: [lb]
    health_check: {type: http, via: ipvs}
    backends: {rs1: {}, rs2: {}}
  web2:
    vip: 10.0.0.101
    port: 80
    directors: [lb]
    health_check: {type: http, via: ipvs}
    backends: {rs1: {}}
";
        let loaded = manifest::parse("m.yaml", ".".into(), text.as_bytes()).unwrap();
        let cluster = crate::model::validate(&loaded, &NoFacts).unwrap().cluster;
        let marks: Vec<u32> = probe_marks(&cluster).into_values().collect();
        assert_eq!(marks, [0x4C42_0000, 0x4C42_0001], "one mark per backend path, shared by both services");
        let d = desired(&cluster, "lb", &Health::all_up()).unwrap();
        let marked: Vec<String> = d
            .state
            .services
            .values()
            .filter(|s| matches!(s.key, ServiceKey::Fwmark { .. }))
            .map(|s| format!("{} -> {}", s.key, s.dests.keys().map(ToString::to_string).collect::<Vec<_>>().join(",")))
            .collect();
        assert_eq!(marked, ["fwmark 1279393792 ipv4 -> 10.0.0.21:80", "fwmark 1279393793 ipv4 -> 10.0.0.22:80"]);
        let accept = SysctlKey::ipv4_conf("eth0", "accept_local");
        assert_eq!(d.state.sysctls.get(&accept).map(String::as_str), Some("1"));
        let rs = desired(&cluster, "rs1", &Health::all_up()).unwrap();
        assert!(!rs.state.sysctls.contains_key(&accept), "only on the director");
    }
}
