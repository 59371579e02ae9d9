//! The virtual MAC of a VRRP instance (keepalived's `use_vmac`) or its ipvlan (keepalived's
//! `use_ipvlan`): its name (keepalived's default `vrrp.VRID`, IPv6 `vrrp6.VRID`), an
//! Ethernet base interface on every member, no `vip_interface` beside it (the VIPs go on
//! it), one instance per name on a director, and `xmit_base` with unicast peers
//! (keepalived.conf(5) requires it: a unicast advert is addressed to the peer's base
//! interface and never reaches a socket on its VMAC). An ipvlan takes each member's
//! `ipvlan_address` (needed for IPv4, of the instance's family, one per member), no unicast
//! peers, and one mode per base interface (the kernel keeps one), which holds no VMAC
//! beside (an interface takes macvlans or ipvlans, not both).

use std::collections::BTreeMap;

use ipnet::IpNet;

use crate::manifest::KeyPath;
use crate::manifest::types;
use crate::model::cluster::{IpvlanLink, Member, Node, VirtualMac, VrrpInstance};
use crate::model::net::Vmac;

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
    if i.vip_interface.is_some() {
        cx.error(
            &path.key("vip_interface"),
            format!("`vip_interface` and `{key}` exclude each other: the VIPs go on the {what}"),
            Some("remove `vip_interface`; a VIP that belongs elsewhere names its own `interface`"),
        );
    }
    unicast(cx, &at, i.unicast_peers.is_some(), xmit_base, ipvlan.is_some());
    for (node, m) in members.iter_mut() {
        base(cx, &at, (node, what), m, &name, nodes);
        m.vip_interface = name.clone();
    }
    Some(VirtualMac { name, xmit_base, ipvlan })
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

/// Two instances of one director cannot share a VMAC name: each needs its own link. The
/// ipvlans on one base interface share one mode, and no VMAC sits beside them.
pub fn names_unique(cx: &mut Cx, at: &KeyPath, instances: &BTreeMap<String, VrrpInstance>) {
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
