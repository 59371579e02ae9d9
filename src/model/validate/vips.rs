//! The VIPs of a VRRP instance in every form keepalived takes: a bare address, or an
//! address with its own interface (`dev`), label, broadcast (`brd`), scope, peer, address
//! flags, preferred lifetime and `no_track`. Each option is checked where it is written;
//! options keepalived or the kernel ignore on a family (label, broadcast, scope on IPv6;
//! home, mngtmpaddr, `-nodad`, preferred_lft on IPv4) are errors here, so that nothing in the
//! manifest is silently dropped.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

use crate::manifest::KeyPath;
use crate::manifest::types::{Scalar, VipEntry, VipSpec};
use crate::model::cluster::{Member, Node, Vip};
use crate::model::net::{
    AddrOptions, IFA_F_HOMEADDRESS, IFA_F_MANAGETEMPADDR, IFA_F_MCAUTOJOIN, IFA_F_NOPREFIXROUTE, SCOPES,
};

use super::{Cx, parse};

/// The VIPs of `list` at `at`, each checked, none listed twice (in `list` or in `others`).
pub fn entries(cx: &mut Cx, at: &KeyPath, list: &[VipEntry], others: &[Vip]) -> Vec<Vip> {
    let mut out: Vec<Vip> = Vec::new();
    for (n, entry) in list.iter().enumerate() {
        let Some(v) = entry_at(cx, &at.index(n), entry) else { continue };
        if out.iter().chain(others).any(|o| o.addr() == v.addr()) {
            cx.error(&at.index(n), format!("VIP {} is listed twice", v.addr()), Some("list each address once"));
            continue;
        }
        out.push(v);
    }
    out
}

fn entry_at(cx: &mut Cx, at: &KeyPath, entry: &VipEntry) -> Option<Vip> {
    match entry {
        VipEntry::Address(s) => match parse::vip(s) {
            Ok(net) => Some(Vip::plain(net)),
            Err(e) => {
                cx.error(at, e, None);
                None
            }
        },
        VipEntry::Detailed(d) => detailed(cx, at, d),
    }
}

/// A VIP with options; `None` when its address is not one (the options are still checked).
fn detailed(cx: &mut Cx, at: &KeyPath, d: &VipSpec) -> Option<Vip> {
    let parsed = parse::vip(&d.address).map_err(|e| cx.error(&at.key("address"), e, None)).ok();
    let (options, peer_len) = parsed.map(|n| options(cx, at, d, n)).unwrap_or_default();
    // With a peer, the address's prefix length is the peer's.
    let net = parsed.map(|n| peer_len.and_then(|len| IpNet::new(n.addr(), len).ok()).unwrap_or(n));
    if let Some(Err(e)) = d.interface.as_deref().map(parse::interface) {
        cx.error(&at.key("interface"), e, None);
    }
    let v6 = net.is_some_and(|n| n.addr().is_ipv6());
    for (key, set) in [("label", d.label.is_some()), ("broadcast", d.broadcast.is_some()), ("scope", d.scope.is_some())]
    {
        if v6 && set {
            let msg = format!("an IPv6 address has no {key} (keepalived ignores it)");
            cx.error(&at.key(key), msg, Some(&format!("remove `{key}` from this VIP")));
        }
    }
    let broadcast = match (net, &d.broadcast) {
        (Some(IpNet::V4(n)), Some(b)) if d.peer.is_none() => broadcast(cx, &at.key("broadcast"), n, b),
        _ => None,
    };
    let scope = d.scope.as_ref().filter(|_| !v6).and_then(|s| scope(cx, &at.key("scope"), s));
    Some(Vip {
        net: net?,
        interface: d.interface.clone(),
        label: d.label.clone().filter(|_| !v6),
        broadcast,
        scope: scope.filter(|s| *s != 0),
        options,
        no_track: d.no_track.unwrap_or(false),
        vmac: d.vmac.unwrap_or(false),
    })
}

/// The kernel options of the VIP `net` (peer, flags, lifetime), each refused where the
/// kernel or keepalived would drop it, and the peer's prefix length.
fn options(cx: &mut Cx, at: &KeyPath, d: &VipSpec, net: IpNet) -> (AddrOptions, Option<u8>) {
    let v6 = net.addr().is_ipv6();
    let set = |b: Option<bool>| b.unwrap_or(false);
    let words = [("home", d.home, IFA_F_HOMEADDRESS), ("mngtmpaddr", d.mngtmpaddr, IFA_F_MANAGETEMPADDR)];
    let mut flags = 0;
    for (key, on, bit) in words.into_iter().chain([("noprefixroute", d.noprefixroute, IFA_F_NOPREFIXROUTE)]) {
        if set(on) && !v6 && bit != IFA_F_NOPREFIXROUTE {
            let msg = format!("an IPv4 address takes no `{key}` (the kernel ignores it)");
            cx.error(&at.key(key), msg, Some(&format!("remove `{key}` from this VIP")));
        } else if set(on) {
            flags |= bit;
        }
    }
    if set(d.mngtmpaddr) && v6 && net.prefix_len() != 64 {
        let msg = format!("`mngtmpaddr` needs a /64 VIP, not /{} (the kernel refuses it)", net.prefix_len());
        cx.error(&at.key("mngtmpaddr"), msg, Some("write the VIP with /64, or remove `mngtmpaddr`"));
    }
    if set(d.autojoin) && !net.addr().is_multicast() {
        let msg = format!("`autojoin` joins a multicast group, and {} is not one (the kernel refuses it)", net.addr());
        cx.error(&at.key("autojoin"), msg, Some("remove `autojoin`, or give a multicast address"));
    } else if set(d.autojoin) {
        flags |= IFA_F_MCAUTOJOIN;
    }
    if set(d.dad) && !v6 {
        let msg = "an IPv4 address has no duplicate address detection (keepalived ignores `-nodad` on it)";
        cx.error(&at.key("dad"), msg, Some("remove `dad` from this VIP"));
    }
    let preferred_lft = d.preferred_lft.as_ref().and_then(|p| lifetime(cx, &at.key("preferred_lft"), p, v6));
    let peer = d.peer.as_ref().and_then(|p| peer(cx, &at.key("peer"), net, p));
    if peer.is_some() && d.broadcast.is_some() {
        let msg = "a VIP with a peer has no broadcast address (keepalived ignores `brd` then)";
        cx.error(&at.key("broadcast"), msg, Some("remove `broadcast` or `peer`"));
    }
    let options = AddrOptions { peer: peer.map(|(ip, _)| ip), flags, dad: set(d.dad) && v6, preferred_lft };
    (options, peer.map(|(_, len)| len))
}

/// The peer of `net` with its prefix length: same family, `net` itself written without a
/// prefix (the prefix is the peer's).
fn peer(cx: &mut Cx, at: &KeyPath, net: IpNet, text: &str) -> Option<(IpAddr, u8)> {
    let p = parse::vip(text).map_err(|e| cx.error(at, e, None)).ok()?;
    if p.addr().is_ipv6() != net.addr().is_ipv6() {
        let msg = format!("peer {} is not of the VIP's family ({})", p.addr(), net.addr());
        cx.error(at, msg, Some("give a peer of the same family as the address"));
        return None;
    }
    if net.prefix_len() != net.max_prefix_len() {
        let msg = format!("a VIP with a peer takes its prefix length from the peer, not /{}", net.prefix_len());
        let hint = format!("write the address without a prefix and the peer as {}/{}", p.addr(), net.prefix_len());
        cx.error(at, msg, Some(&hint));
        return None;
    }
    Some((p.addr(), p.prefix_len()))
}

/// `forever` or seconds (at most 4294967294: all ones is forever), on an IPv6 VIP only.
fn lifetime(cx: &mut Cx, at: &KeyPath, p: &Scalar, v6: bool) -> Option<u32> {
    if !v6 {
        let msg = "an IPv4 VIP takes no `preferred_lft` (keepalived sets it on IPv6 addresses only)";
        cx.error(at, msg, Some("remove `preferred_lft` from this VIP"));
        return None;
    }
    match p {
        Scalar::Text(t) if t.trim() == "forever" => None,
        Scalar::Int(n) if (0..i64::from(u32::MAX)).contains(n) => u32::try_from(*n).ok(),
        Scalar::Int(n) if *n == i64::from(u32::MAX) => None,
        other => {
            let msg = format!("`{}` is not a preferred lifetime", other.render());
            cx.error(at, msg, Some("write `forever` or a number of seconds (0 deprecates the VIP)"));
            None
        }
    }
}

/// `+` (host part all ones), `-` (all zeros), or an IPv4 address.
fn broadcast(cx: &mut Cx, at: &KeyPath, net: ipnet::Ipv4Net, text: &str) -> Option<Ipv4Addr> {
    let computed = match text.trim() {
        "+" => Some(net.broadcast()),
        "-" => Some(net.network()),
        other => {
            return match parse::address(other) {
                Ok(IpAddr::V4(b)) => Some(b),
                Ok(IpAddr::V6(_)) | Err(_) => {
                    let msg = format!("`{other}` is not an IPv4 broadcast address");
                    cx.error(at, msg, Some("write an IPv4 address, `+` (host bits set) or `-` (host bits clear)"));
                    None
                }
            };
        }
    };
    if net.prefix_len() > 30 {
        let msg = format!("a /{} address has no broadcast to compute with `{text}`", net.prefix_len());
        cx.error(at, msg, Some("give the VIP a prefix of /30 or shorter, or write the broadcast address"));
        return None;
    }
    computed
}

/// A scope name from /etc/iproute2/rt_scopes or a number 0..255.
fn scope(cx: &mut Cx, at: &KeyPath, s: &Scalar) -> Option<u8> {
    let found = match s {
        Scalar::Int(n) => u8::try_from(*n).ok(),
        Scalar::Text(t) => SCOPES.iter().find(|(name, _)| *name == t.trim()).map(|(_, n)| *n),
    };
    if found.is_none() {
        let names: Vec<&str> = SCOPES.iter().map(|(name, _)| *name).collect();
        let msg = format!("`{}` is not an address scope", s.render());
        cx.error(at, msg, Some(&format!("use one of {} or a number 0..255", names.join(", "))));
    }
    found
}

/// Each label names the interface its VIP goes on, on every member: `eth0` or `eth0:...`.
pub fn labels(cx: &mut Cx, path: &KeyPath, lists: [(&'static str, &[Vip]); 2], members: &BTreeMap<String, Member>) {
    for (key, vips) in lists {
        for (n, v) in vips.iter().enumerate() {
            let Some(label) = &v.label else { continue };
            let mut interfaces: Vec<&str> = match &v.interface {
                Some(i) => vec![i],
                None => members.values().map(|m| m.vip_interface.as_str()).collect(),
            };
            interfaces.sort_unstable();
            interfaces.dedup();
            if let Some(Err(e)) = interfaces.iter().map(|i| parse::label(label, i)).find(Result::is_err) {
                let hint = match interfaces.len() {
                    1 => "a label is the interface's name, or the name, a colon and a suffix (`eth0:1`)",
                    _ => "the members put this VIP on different interfaces: give it its own `interface`",
                };
                cx.error(&path.key(key).index(n).key("label"), e, Some(hint));
            }
        }
    }
}

/// A scoped VIP in the subnet of a member's own address on the same interface: the kernel
/// makes it a secondary of that address and refuses any other scope than the primary's
/// (EINVAL, "Invalid scope value"); the node's addresses are global.
pub fn scopes(
    cx: &mut Cx,
    path: &KeyPath,
    lists: [(&'static str, &[Vip]); 2],
    members: &BTreeMap<String, Member>,
    nodes: &BTreeMap<String, Node>,
) {
    for (key, vips) in lists {
        for (n, v) in vips.iter().enumerate().filter(|(_, v)| v.scope.is_some()) {
            let own = members.iter().filter_map(|(name, m)| {
                let node = nodes.get(name)?;
                let on = v.interface.as_deref().unwrap_or(&m.vip_interface);
                let same = |a: &&IpNet| a.prefix_len() == v.net.prefix_len() && a.contains(&v.addr());
                node.addresses.iter().find(same).filter(|_| on == node.interface).map(|a| (name, *a))
            });
            if let Some((name, a)) = own.into_iter().next() {
                let msg = format!(
                    "VIP {} is in the subnet of node `{name}`'s address {a}, and the kernel gives it that address's scope (global)",
                    v.net
                );
                let hint = "remove `scope`, or give the VIP a prefix of its own (such as /32)";
                cx.error(&path.key(key).index(n).key("scope"), msg, Some(hint));
            }
        }
    }
}
