//! The virtual MAC of a VRRP instance (keepalived's `use_vmac`) or its ipvlan (keepalived's
//! `use_ipvlan`): its name (keepalived's default `vrrp.VRID`, IPv6 `vrrp6.VRID`), an
//! Ethernet base interface on every member, no `vip_interface` beside it (the VIPs go on
//! it), one instance per name on a director, and `xmit_base` with unicast peers
//! (keepalived.conf(5) requires it: a unicast advert is addressed to the peer's base
//! interface and never reaches a socket on its VMAC). An ipvlan takes each member's
//! `ipvlan_address` (needed for IPv4, of the instance's family, one per member), no unicast
//! peers, and one mode per base interface (the kernel keeps one), which holds no VMAC
//! beside (an interface takes macvlans or ipvlans, not both). The VMACs of VIPs
//! (`vip_vmacs`, keepalived's `use_vmac_addr`, and a VIP's `vmac`, its `use_vmac`): named
//! per director as keepalived names them, not on `lo`, never a MAC another instance's VMAC
//! has on the same interface, and a VIP's `vmac` only where it adds one. A MAC of its own
//! as keepalived takes it, one per instance on a director.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;

use crate::manifest::KeyPath;
use crate::manifest::types;
use crate::model::cluster::{IpvlanLink, Member, Node, Vip, VirtualMac, VrrpInstance};
use crate::model::net::{Mac, Vmac};

use super::{Cx, parse};

/// The instance's VMAC or ipvlan, with every member's VIP interface moved onto it.
pub fn vmac(
    cx: &mut Cx,
    path: &KeyPath,
    i: &types::VrrpInstance,
    (vrid, v6): (u8, bool),
    members: &mut BTreeMap<String, Member>,
    nodes: &BTreeMap<String, Node>,
) -> Option<VirtualMac> {
    let (key, name, xmit_base, ipvlan) = match (&i.vmac, &i.ipvlan) {
        (Some(_), Some(_)) => {
            let msg = "`vmac` and `ipvlan` exclude each other: the VIPs go on one interface";
            cx.error(&path.key("ipvlan"), msg, Some("keep one of them"));
            return None;
        }
        (Some(v), None) => ("vmac", v.name.clone(), v.xmit_base.unwrap_or(false), None),
        (None, Some(p)) => ("ipvlan", p.name.clone(), false, Some(ipvlan(cx, path, i, p, v6))),
        (None, None) => {
            addresses_unused(cx, path, i);
            return None;
        }
    };
    let at = path.key(key);
    let what = if ipvlan.is_some() { "ipvlan" } else { "VMAC" };
    let name = name.unwrap_or_else(|| Vmac::default_name(vrid, v6));
    if let Err(e) = parse::interface(&name) {
        let why = format!("an {what}'s name is an interface name of at most 15 bytes");
        cx.error(&at.key("name"), e, Some(&why));
    }
    if i.vip_interface.is_some() && ipvlan.is_none() {
        cx.error(
            &path.key("vip_interface"),
            format!("`vip_interface` and `{key}` exclude each other: the VIPs go on the {what}"),
            Some("remove `vip_interface`; a VIP that belongs elsewhere names its own `interface`"),
        );
    }
    unicast(cx, &at, i.unicast_peers.is_some(), xmit_base, ipvlan.is_some());
    for (node, m) in members.iter_mut() {
        base(cx, &at, (node, what), m, &name, nodes);
        // An ipvlan carries the adverts only: its VIPs stay where they would go without it,
        // as keepalived 2.2.7 holds them (seen in the VM). On the ipvlan, beside a base
        // address of the same subnet, the replies would leave from the base, whose ARP
        // answers the ipvlan takes: after a takeover the client was not reached.
        if ipvlan.is_none() {
            m.vip_interface = name.clone();
        }
    }
    let own = i.vmac.as_ref().filter(|_| ipvlan.is_none());
    let mac = own.and_then(|v| v.mac.as_deref()).and_then(|t| own_mac(cx, &at, t, vrid));
    let (group, netlink_notify) = own.map_or((None, false), |v| (v.group, v.netlink_notify.unwrap_or(false)));
    Some(VirtualMac { name, xmit_base, ipvlan, mac, group, netlink_notify })
}

/// A VMAC with unicast peers needs `xmit_base`; an ipvlan takes none.
fn unicast(cx: &mut Cx, at: &KeyPath, unicast: bool, xmit_base: bool, ipvlan: bool) {
    if unicast && ipvlan {
        cx.error(
            at,
            "an ipvlan with `unicast_peers` is not carried: the adverts would reach the peers' base interfaces, not their ipvlans",
            Some("send the adverts multicast (remove `unicast_peers`), or use `vmac` with `xmit_base: true`"),
        );
    } else if unicast && !xmit_base {
        cx.error(
            at,
            "a VMAC with `unicast_peers` needs `xmit_base: true`: a unicast advert goes to the peer's base interface and is never heard on its VMAC, so both directors would be master",
            Some("add `xmit_base: true` to `vmac` (keepalived: `vmac_xmit_base`), or send the adverts multicast"),
        );
    }
}

/// The ipvlan's mode and its members' addresses: an IPv4 instance needs one per member, of
/// its family, each member its own.
fn ipvlan(cx: &mut Cx, path: &KeyPath, i: &types::VrrpInstance, p: &types::Ipvlan, v6: bool) -> IpvlanLink {
    let mut addresses: BTreeMap<String, IpNet> = BTreeMap::new();
    for (node, m) in &i.members {
        let at = path.key("members").name(node);
        let Some(text) = &m.ipvlan_address else {
            if !v6 {
                let msg = format!(
                    "member `{node}` has no `ipvlan_address`: an IPv4 ipvlan sends its adverts from an address of its own (keepalived: \"IPv4 ipvlan requires a source ip address\")"
                );
                cx.error(&at, msg, Some("add `ipvlan_address: 192.0.2.21/24`, an address no other host has"));
            }
            continue;
        };
        let at = at.key("ipvlan_address");
        let net = match parse::vip(text) {
            Ok(n) => n,
            Err(e) => {
                cx.error(&at, e, Some("an address, like 192.0.2.21 or 192.0.2.21/24"));
                continue;
            }
        };
        if net.addr().is_ipv6() != v6 {
            let family = if v6 { "IPv6" } else { "IPv4" };
            cx.error(
                &at,
                format!("{text} is not of the instance's family ({family})"),
                Some("give an address of the VIPs' family"),
            );
        } else if let Some((other, _)) = addresses.iter().find(|(_, a)| a.addr() == net.addr()) {
            let msg = format!("member `{other}` has the ipvlan address {} already", net.addr());
            cx.error(&at, msg, Some("give each member an address of its own"));
        } else {
            addresses.insert(node.clone(), net);
        }
    }
    IpvlanLink { mode: p.mode.unwrap_or_default(), addresses }
}

/// `ipvlan_address` without `ipvlan` would be ignored: an error.
fn addresses_unused(cx: &mut Cx, path: &KeyPath, i: &types::VrrpInstance) {
    for node in i.members.iter().filter(|(_, m)| m.ipvlan_address.is_some()).map(|(n, _)| n) {
        let at = path.key("members").name(node).key("ipvlan_address");
        cx.error(
            &at,
            "`ipvlan_address` without `ipvlan` does nothing",
            Some("add `ipvlan: {}` to the instance, or remove the address"),
        );
    }
}

/// A MAC of the VMAC's own, refused where keepalived ignores it.
fn own_mac(cx: &mut Cx, at: &KeyPath, text: &str, vrid: u8) -> Option<Mac> {
    Mac::parse(text, vrid)
        .inspect_err(|e| {
            let hint = "write a unicast MAC of six octets (`02:00:00:0a:00:01`), or five for the VRID as the sixth, not a VRRP one (00:00:5e:00:01/02:XX); or remove `mac` for the VRRP MAC";
            cx.error(&at.key("mac"), e, Some(hint));
        })
        .ok()
}

/// A member's base interface: an Ethernet one (not `lo`), not the VMAC's own name.
fn base(cx: &mut Cx, at: &KeyPath, (node, what): (&str, &str), m: &Member, name: &str, nodes: &BTreeMap<String, Node>) {
    if m.interface == "lo" {
        let msg = format!("member `{node}` sends its adverts on lo, which has no MAC address to put a {what} on");
        cx.error(at, msg, Some(&format!("a {what} goes on the Ethernet interface the VRRP peers share")));
    }
    let own = nodes.get(node).map(|n| n.interface.as_str());
    if m.interface == name || own == Some(name) {
        let msg = format!("the {what}'s name `{name}` is an interface of node `{node}`");
        cx.error(&at.key("name"), msg, Some(&format!("name the {what} after no existing interface, e.g. vrrp.<vrid>")));
    }
}

/// Two instances of one director cannot share a VMAC name (each needs its own link) nor
/// a MAC of their own (one client's entry would point at both). The ipvlans on one base
/// interface share one mode, and no VMAC sits beside them.
pub fn names_unique(cx: &mut Cx, at: &KeyPath, instances: &BTreeMap<String, VrrpInstance>) {
    macs_unique(cx, at, instances);
    let mut first: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for (name, i) in instances {
        let Some(v) = &i.vmac else { continue };
        for node in i.members.keys() {
            match first.get(&(node.as_str(), v.name.as_str())) {
                Some(other) => {
                    let msg = format!(
                        "instance `{other}` already has the VMAC `{}` on director `{node}`; each instance needs its own",
                        v.name
                    );
                    let key = if v.ipvlan.is_some() { "ipvlan" } else { "vmac" };
                    cx.error(&at.name(name).key(key), msg, Some(&format!("give one of them another `{key}.name`")));
                    break;
                }
                None => {
                    first.insert((node, &v.name), name);
                }
            }
        }
    }
    kinds_per_base(cx, at, instances);
    one_link_local_ipvlan(cx, at, instances);
}

/// An IPv6 ipvlan without an address of its own takes the base interface's link-local
/// address, and the kernel lets one ipvlan of an interface hold an address: one per base
/// interface of a director.
fn one_link_local_ipvlan(cx: &mut Cx, at: &KeyPath, instances: &BTreeMap<String, VrrpInstance>) {
    let mut first: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for (name, i) in instances.iter().filter(|(_, i)| i.is_v6()) {
        let Some(p) = i.vmac.as_ref().and_then(|v| v.ipvlan.as_ref()) else { continue };
        for (node, m) in i.members.iter().filter(|(n, _)| !p.addresses.contains_key(*n)) {
            let Some(other) = first.get(&(node.as_str(), m.interface.as_str())) else {
                first.insert((node, &m.interface), name);
                continue;
            };
            let msg = format!(
                "instance `{other}` has an IPv6 ipvlan without `ipvlan_address` on {} of director `{node}` already: both would take its link-local address, which one ipvlan only may hold",
                m.interface
            );
            let fix = format!("give member `{node}` an `ipvlan_address` in one of them");
            cx.error(&at.name(name).key("ipvlan"), msg, Some(&fix));
            break;
        }
    }
}

/// On one director's base interface: VMACs only, or ipvlans of one mode only.
fn kinds_per_base(cx: &mut Cx, at: &KeyPath, instances: &BTreeMap<String, VrrpInstance>) {
    let mut first: BTreeMap<(&str, &str), (&str, Option<types::IpvlanMode>)> = BTreeMap::new();
    for (name, i) in instances {
        let Some(v) = &i.vmac else { continue };
        let kind = v.ipvlan.as_ref().map(|p| p.mode);
        for (node, m) in &i.members {
            let (other, had) = *first.entry((node, &m.interface)).or_insert((name, kind));
            if had == kind {
                continue;
            }
            let shown = |k: Option<types::IpvlanMode>| {
                k.map_or("a VMAC".to_string(), |m| format!("an ipvlan in mode {}", m.name()))
            };
            let msg = format!(
                "instance `{other}` has {} on {} of director `{node}`, this one {}: the kernel keeps one ipvlan mode per interface (the last ipvlan made sets it for all), and an interface takes VMACs or ipvlans, not both",
                shown(had),
                m.interface,
                shown(kind)
            );
            let key = if kind.is_some() { "ipvlan" } else { "vmac" };
            cx.error(
                &at.name(name).key(key),
                msg,
                Some("use the same kind (and ipvlan mode) for every instance on that interface"),
            );
            break;
        }
    }
}

/// The VMACs of the VIPs that go on one of their own (`vip_vmacs`, a VIP's `vmac`), named
/// on each member as keepalived names them: the first of [`Vmac::vip_names`] that no
/// interface of the director named in the manifest has, nor a VMAC named before it
/// (instances in name order, their VIPs in order). One per interface and family.
pub fn vip_vmacs(
    cx: &mut Cx,
    at: &KeyPath,
    written: &BTreeMap<String, types::VrrpInstance>,
    instances: &mut BTreeMap<String, VrrpInstance>,
    nodes: &BTreeMap<String, Node>,
) {
    for (name, i) in instances.iter() {
        if let Some(w) = written.get(name) {
            vip_options(cx, &at.name(name), w, i);
        }
    }
    let mut macs = instance_macs(instances);
    for node in nodes.keys() {
        let mut taken = names_on(node, instances, nodes);
        for (name, i) in instances.iter_mut() {
            let vrid = i.vrid;
            let bases: Vec<(String, bool)> = match i.members.get(node) {
                Some(m) => i.held().filter_map(|v| i.vip_vmac_base(m, v)).collect(),
                None => continue,
            };
            let Some(m) = i.members.get_mut(node) else { continue };
            for (parent, v6) in bases {
                if m.vip_vmacs.iter().any(|v| v.parent == parent && v.ipv6 == v6) {
                    continue;
                }
                if parent == "lo" {
                    continue; // refused by `vip_options`
                }
                let Some(vmac_name) = Vmac::vip_names(vrid, v6).find(|n| !taken.contains(n)) else { continue };
                taken.insert(vmac_name.clone());
                let v = Vmac::vrrp(&vmac_name, &parent, vrid, v6);
                same_mac(cx, &at.name(name), (node, name), &v, &mut macs);
                m.vip_vmacs.push(v);
            }
        }
    }
}

/// A VIP's `vmac`: not beside the instance's `vip_vmacs` (keepalived 2.2 reports "use_vmac_addr
/// specified and use_vmac specified for VIP"), nor on a VIP the instance's VMAC holds
/// already ("use_vmac specified for VIP/eVIP and vrrp instance"); and no VIP's VMAC on `lo`.
fn vip_options(cx: &mut Cx, at: &KeyPath, w: &types::VrrpInstance, i: &VrrpInstance) {
    for (key, list) in [("vips", &w.vips), ("excluded_vips", &w.excluded_vips)] {
        for (n, entry) in list.iter().enumerate() {
            let here = at.key(key).index(n);
            let Some(vip) = parse::vip(entry.address()).ok().and_then(|net| i.held().find(|v| v.addr() == net.addr()))
            else {
                continue;
            };
            if let Some(node) = i.members.iter().find_map(|(node, m)| on_lo(i, m, vip).then_some(node)) {
                let msg = format!("this VIP would go on a VMAC of lo on director `{node}`, and lo has no MAC address");
                cx.error(&here, msg, Some("give the VIP an Ethernet `interface`, or drop `vip_vmacs` / its `vmac`"));
            }
            if !vip.vmac {
                continue;
            }
            if on_instance_vmac(i, vip) {
                let msg = "this VIP is of the instance's family on its advert interface, where the instance's `vmac` has its VRRP MAC already (keepalived: \"use_vmac specified for VIP/eVIP and vrrp instance\")";
                cx.error(&here.key("vmac"), msg, Some("remove the VIP's `vmac`"));
            } else if w.vip_vmacs == Some(true) {
                let msg = "`vmac` on a VIP and `vip_vmacs` on its instance exclude each other (keepalived: \"use_vmac_addr specified and use_vmac specified for VIP\")";
                let hint = "remove the VIP's `vmac`: `vip_vmacs` gives every VIP off the advert interface a VMAC";
                cx.error(&here.key("vmac"), msg, Some(hint));
            }
        }
    }
}

/// True when member `m` would put `vip` on a VMAC of `lo`.
fn on_lo(i: &VrrpInstance, m: &Member, vip: &Vip) -> bool {
    i.vip_vmac_base(m, vip).is_some_and(|(parent, _)| parent == "lo")
}

/// True when `vip`, of the instance's family, goes on the instance's own VMAC or its base
/// interface on some member: a VMAC of its own there would have the same MAC.
fn on_instance_vmac(i: &VrrpInstance, vip: &Vip) -> bool {
    let Some(v) = &i.vmac else { return false };
    let on = |m: &Member| vip.interface.as_deref().unwrap_or(&m.vip_interface).to_string();
    let base = |m: &Member| if on(m) == v.name { m.interface.clone() } else { on(m) };
    vip.addr().is_ipv6() == i.is_v6() && i.members.values().any(|m| base(m) == m.interface)
}

/// The interface names of `node` the manifest knows: its own, its members' advert and VIP
/// interfaces, their tracked ones, the VIPs' own and every instance's VMAC there.
fn names_on(
    node: &str,
    instances: &BTreeMap<String, VrrpInstance>,
    nodes: &BTreeMap<String, Node>,
) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = nodes.get(node).map(|n| n.interface.clone()).into_iter().collect();
    for i in instances.values() {
        let Some(m) = i.members.get(node) else { continue };
        out.extend([m.interface.clone(), m.vip_interface.clone()]);
        out.extend(m.track_interfaces.keys().cloned());
        out.extend(i.held().filter_map(|v| v.interface.clone()));
        out.extend(i.vmac.as_ref().map(|v| v.name.clone()));
    }
    out
}

/// (director, interface, VRID, IPv6) -> instance, of every instance's own VMAC.
type Macs = BTreeMap<(String, String, u8, bool), String>;

fn instance_macs(instances: &BTreeMap<String, VrrpInstance>) -> Macs {
    let mut out = Macs::new();
    for (name, i) in instances {
        for node in i.members.keys() {
            if let Some(v) = i.vmac_of(node) {
                out.insert((node.clone(), v.parent, v.vrid, v.ipv6), name.clone());
            }
        }
    }
    out
}

/// Two VMACs of one MAC on one interface of a director (keepalived: "uses same VMAC as VRRP
/// instance"): the second is refused.
fn same_mac(cx: &mut Cx, at: &KeyPath, (node, instance): (&str, &str), v: &Vmac, macs: &mut Macs) {
    let key = (node.to_string(), v.parent.clone(), v.vrid, v.ipv6);
    match macs.get(&key) {
        Some(other) if other != instance => {
            let msg = format!(
                "the VMAC {v} of a VIP on director `{node}` has the MAC of instance `{other}`'s VMAC on {}",
                v.parent
            );
            cx.error(at, msg, Some("give the instances different `vrid`s"));
        }
        _ => {
            macs.insert(key, instance.to_string());
        }
    }
}

fn macs_unique(cx: &mut Cx, at: &KeyPath, instances: &BTreeMap<String, VrrpInstance>) {
    let mut first: BTreeMap<(&str, Mac), &str> = BTreeMap::new();
    for (name, i) in instances {
        let Some(mac) = i.vmac.as_ref().and_then(|v| v.mac) else { continue };
        for node in i.members.keys() {
            if let Some(other) = first.get(&(node.as_str(), mac)) {
                let msg = format!(
                    "instance `{other}` already has the VMAC MAC {mac} on director `{node}`; each instance needs its own"
                );
                cx.error(&at.name(name).key("vmac").key("mac"), msg, Some("give one of them another `vmac.mac`"));
                break;
            }
            first.insert((node, mac), name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vip_vmacs_take_keepalived_names_in_its_order() {
        let v4: Vec<String> = Vmac::vip_names(5, false).take(3).collect();
        assert_eq!(v4, ["vrrp.5", "vrrp1.5", "vrrp2.5"]);
        let v6: Vec<String> = Vmac::vip_names(5, true).take(8).collect();
        assert_eq!(v6, ["vrrp.5", "vrrp6.5", "vrrp1.5", "vrrp2.5", "vrrp3.5", "vrrp4.5", "vrrp5.5", "vrrp7.5"]);
    }

    /// Each director names its own: a name one of its interfaces has is skipped, one
    /// VMAC per interface and family, the instance's own VMAC name taken first.
    #[test]
    fn each_director_names_its_vip_vmacs_past_its_own_interfaces() {
        let m = "version: 1
nodes:
  lb1: {roles: [director], addresses: [10.0.0.11/24], interface: eth0}
  lb2: {roles: [director], addresses: [10.0.0.12/24], interface: vrrp.7}
vrrp:
  VI_7:
    vrid: 7
    members: {lb1: {priority: 150}, lb2: {priority: 100}}
    vips: [10.0.0.7/24, {address: 10.0.1.7/24, interface: eth1}, {address: 10.0.1.8/24, interface: eth1}]
    excluded_vips: [fd00::7/64]
    vip_vmacs: true
";
        let loaded = crate::manifest::parse("m.yaml", std::path::PathBuf::from("."), m.as_bytes()).unwrap();
        let cluster = crate::model::validate(&loaded, &crate::model::NoFacts).unwrap().cluster;
        let names = |node: &str| -> Vec<String> {
            cluster.vrrp["VI_7"].members[node].vip_vmacs.iter().map(ToString::to_string).collect()
        };
        assert_eq!(names("lb1"), ["vrrp.7 (00:00:5e:00:01:07 on eth1)", "vrrp6.7 (00:00:5e:00:02:07 on eth0)"]);
        assert_eq!(names("lb2"), ["vrrp1.7 (00:00:5e:00:01:07 on eth1)", "vrrp6.7 (00:00:5e:00:02:07 on vrrp.7)"]);
    }
}
