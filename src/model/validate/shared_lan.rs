//! Two VRRP instances on one network must not share a VRID: their adverts reach each other's
//! members (multicast, or a raw socket that sees every VRRP packet on the link), so two pairs
//! of directors with the same VRID on one LAN disturb each other although no node holds both.

use std::collections::BTreeMap;

use ipnet::IpNet;

use crate::manifest::KeyPath;
use crate::model::cluster::{Node, VrrpInstance};

use super::Cx;

/// Reports an instance whose VRID and family another instance already uses on a network one
/// of its members' advert interfaces shares with one of the other's members. The same VRID
/// on the same interface of one node is `vrid_unique`'s; two instances that both send their
/// adverts only to unicast peers do not meet.
pub fn vrid_per_network(
    cx: &mut Cx,
    at: &KeyPath,
    instances: &BTreeMap<String, VrrpInstance>,
    nodes: &BTreeMap<String, Node>,
) {
    let list: Vec<(&String, &VrrpInstance)> = instances.iter().collect();
    for (n, (name, i)) in list.iter().enumerate() {
        let mut earlier = list[..n].iter().filter(|(_, e)| meet(e, i));
        if let Some((first, net, a, b)) = earlier.find_map(|(f, e)| shared(e, i, nodes).map(|s| (f, s.0, s.1, s.2))) {
            let msg = format!(
                "VRID {} is also used by instance `{first}` on network {net} (`{first}` on {a}, \
                 `{name}` on {b}): their adverts would reach each other's directors",
                i.vrid
            );
            cx.error(&at.name(name).key("vrid"), msg, Some("give every instance on one network its own VRID"));
        }
    }
}

/// Same VRID and family, not both unicast-only, and no node's interface in both (that is
/// `vrid_unique`'s error already).
fn meet(a: &VrrpInstance, b: &VrrpInstance) -> bool {
    let one_interface = a.members.iter().any(|(n, m)| b.members.get(n).is_some_and(|o| o.interface == m.interface));
    a.vrid == b.vrid
        && a.is_v6() == b.is_v6()
        && !(a.unicast_peers.is_some() && b.unicast_peers.is_some())
        && !one_interface
}

/// The first network (and the two members' interfaces, `node/interface`) an advert interface
/// of `a` shares with one of `b`.
fn shared(a: &VrrpInstance, b: &VrrpInstance, nodes: &BTreeMap<String, Node>) -> Option<(IpNet, String, String)> {
    for (na, ma) in &a.members {
        for (nb, mb) in &b.members {
            let net = networks(nodes.get(na), &ma.interface).find(|x| {
                networks(nodes.get(nb), &mb.interface).any(|y| x.contains(&y.addr()) || y.contains(&x.addr()))
            });
            if let Some(net) = net {
                return Some((net.trunc(), format!("{na}/{}", ma.interface), format!("{nb}/{}", mb.interface)));
            }
        }
    }
    None
}

/// The node's own networks on `interface`: its addresses when it is the node's interface (the
/// manifest gives no addresses for other interfaces).
fn networks<'a>(node: Option<&'a Node>, interface: &'a str) -> impl Iterator<Item = &'a IpNet> + 'a {
    node.filter(|n| n.interface == interface).into_iter().flat_map(|n| n.addresses.iter())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// Two pairs: lb1/lb2 with `a`, lb3/lb4 (addresses `net34`) with `b`, both VRID 7.
    fn errors(net34: &str, a: &str, b: &str) -> Vec<String> {
        let text = format!(
            "version: 1
nodes:
  lb1: {{roles: [director], addresses: [10.0.0.11/24], interface: eth0}}
  lb2: {{roles: [director], addresses: [10.0.0.12/24], interface: eth0}}
  lb3: {{roles: [director], addresses: [{net34}3/24], interface: eth0}}
  lb4: {{roles: [director], addresses: [{net34}4/24], interface: eth0}}
vrrp:
  a:
    vrid: 7
    members: {{lb1: {{priority: 150}}, lb2: {{priority: 100}}}}
    vips: [{a}]
  b:
    vrid: 7
    members: {{lb3: {{priority: 150}}, lb4: {{priority: 100}}}}
    vips: [{b}]
"
        );
        let loaded = crate::manifest::parse("m.yaml", PathBuf::from("."), text.as_bytes()).unwrap();
        match crate::model::validate(&loaded, &crate::model::NoFacts) {
            Ok(_) => Vec::new(),
            Err(p) => p.0.iter().map(|p| format!("{}: {}", p.path, p.message)).collect(),
        }
    }

    #[test]
    fn one_vrid_twice_on_one_network_is_refused_at_the_second_instance() {
        assert_eq!(
            errors("10.0.0.1", "10.0.0.100", "10.0.0.101"),
            ["vrrp.b.vrid: VRID 7 is also used by instance `a` on network 10.0.0.0/24 (`a` on lb1/eth0, \
              `b` on lb3/eth0): their adverts would reach each other's directors"]
        );
    }

    #[test]
    fn other_networks_families_or_unicast_pairs_do_not_meet() {
        assert!(errors("10.0.1.1", "10.0.0.100", "10.0.1.101").is_empty());
        assert!(errors("10.0.0.1", "10.0.0.100", "fd00::101").is_empty());
        let a = "10.0.0.100]\n    unicast_peers: [lb1, lb2";
        let b = "10.0.0.101]\n    unicast_peers: [lb3, lb4";
        assert!(errors("10.0.0.1", a, b).is_empty());
    }
}
