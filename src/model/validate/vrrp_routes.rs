//! The routes a VRRP master holds (`vrrp.X.routes`, keepalived's `virtual_routes`): a
//! destination network without host bits, a next hop of its family, `via` / `dev` only for
//! a unicast route (which needs one of them), a source the master holds whenever it holds
//! the route (a VIP of the instance, or an address of every member), a table the kernel lets a route into, and no
//! route named twice. A multipath route's `nexthops` (two or more, each going somewhere,
//! weights 1..256) replace its own `via` and `dev`. `onlink` needs `via` and `dev`; `encap`
//! (see `route_encap`) goes on a unicast route or on each path of a multipath one. The pieces a rule shares with a route
//! (networks, addresses of one family, interfaces, tables) are here for `vrrp_rules`.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::manifest::KeyPath;
use crate::manifest::types::{NextHopEntry, RouteType, VrrpRouteEntry};
use crate::model::net::{MAIN_TABLE, NextHop, RouteKind, VrrpRoute, route_metric};

use super::{Cx, parse};

/// The instance's routes; `held` are the addresses its master holds whenever it holds them
/// (VIPs, excluded ones, addresses every member has).
pub(super) fn routes(cx: &mut Cx, path: &KeyPath, entries: &[VrrpRouteEntry], held: &[IpAddr]) -> Vec<VrrpRoute> {
    let mut out: Vec<VrrpRoute> = Vec::new();
    let mut names = BTreeSet::new();
    for (n, e) in entries.iter().enumerate() {
        let at = path.key("routes").index(n);
        let Some(r) = route(cx, &at, e, held) else { continue };
        if !names.insert((r.to, r.table, r.metric)) {
            let msg = format!("route {r} is listed twice (a route is named by `to`, `table` and `metric`)");
            cx.error(&at, msg, Some("remove one, or give them different tables or metrics"));
            continue;
        }
        out.push(r);
    }
    out
}

fn route(cx: &mut Cx, at: &KeyPath, e: &VrrpRouteEntry, held: &[IpAddr]) -> Option<VrrpRoute> {
    let to = destination(cx, &at.key("to"), &e.to)?;
    let kind = match e.kind.unwrap_or(RouteType::Unicast) {
        RouteType::Unicast => RouteKind::Unicast,
        RouteType::Blackhole => RouteKind::Blackhole,
        RouteType::Unreachable => RouteKind::Unreachable,
        RouteType::Prohibit => RouteKind::Prohibit,
    };
    let via = e.via.as_deref().and_then(|v| address(cx, &at.key("via"), v, to));
    interface(cx, &at.key("dev"), e.dev.as_deref());
    next_hop(cx, at, kind, e)?;
    let nexthops = nexthops(cx, at, kind, e, to)?;
    let src = e.src.as_deref().and_then(|s| address(cx, &at.key("src"), s, to));
    if let Some(s) = src.filter(|s| !held.contains(s)) {
        let hint = "a route's source must be held whenever the route is: one of the instance's `vips` or `excluded_vips`, or an address every member has";
        cx.error(
            &at.key("src"),
            format!("{s} is neither a VIP of the instance nor an address of every member"),
            Some(hint),
        );
    }
    let table = e.table.unwrap_or(MAIN_TABLE);
    self::table(cx, &at.key("table"), table);
    let onlink = e.onlink.unwrap_or(false);
    if onlink && !e.nexthops.is_empty() {
        cx.error(
            &at.key("onlink"),
            "a multipath route is onlink by its paths",
            Some("set `onlink` on each path that needs it"),
        );
    } else if onlink {
        onlink_needs(cx, &at.key("onlink"), e.via.is_some(), e.dev.is_some());
    }
    let encap = match &e.encap {
        Some(_) if kind != RouteKind::Unicast => {
            let msg = format!("a {} route forwards nothing to encapsulate", kind.name());
            cx.error(&at.key("encap"), msg, Some("remove `encap`, or make it a unicast route"));
            None
        }
        Some(_) if !e.nexthops.is_empty() => {
            let hint = "set `encap` on each path (the kernel ignores a multipath route's own)";
            cx.error(&at.key("encap"), "a multipath route is encapsulated by its paths", Some(hint));
            None
        }
        Some(x) => super::route_encap::encap(cx, &at.key("encap"), x),
        None => None,
    };
    let dev = e.dev.clone();
    let metric = route_metric(&to, e.metric);
    Some(VrrpRoute { to, kind, via, dev, src, table, metric, nexthops, onlink, encap })
}

/// `onlink` says where the next hop is: it needs both.
fn onlink_needs(cx: &mut Cx, at: &KeyPath, via: bool, dev: bool) {
    if !(via && dev) {
        let hint = "name the next hop (`via`) and the link it is on (`dev`), or remove `onlink`";
        cx.error(at, "`onlink` needs `via` and `dev`", Some(hint));
    }
}

/// An interface name, when there is one.
pub(super) fn interface(cx: &mut Cx, at: &KeyPath, name: Option<&str>) {
    if let Some(Err(err)) = name.map(parse::interface) {
        cx.error(at, err, None);
    }
}

/// A routing table the kernel lets a route or a rule use: not its own.
pub(super) fn table(cx: &mut Cx, at: &KeyPath, table: u32) {
    if matches!(table, 0 | 253 | 255) {
        let msg = format!("table {table} is the kernel's own (`unspec`, `default` or `local`)");
        cx.error(at, msg, Some("use `main` (254, the default) or a table of your own (1..252, 256 and up)"));
    }
}

/// A multipath route's paths: none, or two or more of a unicast route without its own
/// `via` / `dev`, each going somewhere.
fn nexthops(cx: &mut Cx, at: &KeyPath, kind: RouteKind, e: &VrrpRouteEntry, to: IpNet) -> Option<Vec<NextHop>> {
    if e.nexthops.is_empty() {
        return Some(Vec::new());
    }
    let here = at.key("nexthops");
    if e.nexthops.len() < 2 {
        cx.error(
            &here,
            "a multipath route needs two or more `nexthops`",
            Some("write the one path as the route's own `via` and `dev`"),
        );
        return None;
    }
    if kind != RouteKind::Unicast {
        cx.error(
            &here,
            format!("a {} route has no next hop", kind.name()),
            Some("remove `nexthops`, or make it a unicast route"),
        );
        return None;
    }
    let mut out: Vec<NextHop> =
        e.nexthops.iter().enumerate().filter_map(|(n, h)| path(cx, &here.index(n), h, to)).collect();
    if out.len() != e.nexthops.len() {
        return None;
    }
    let before = out.len();
    out.sort();
    out.dedup_by(|a, b| (&a.via, &a.dev) == (&b.via, &b.dev));
    if out.len() != before {
        cx.error(&here, "a path is listed twice", Some("give each path its own `via` or `dev`"));
        return None;
    }
    Some(out)
}

fn path(cx: &mut Cx, at: &KeyPath, h: &NextHopEntry, to: IpNet) -> Option<NextHop> {
    if h.via.is_none() && h.dev.is_none() {
        cx.error(at, "a path needs `via` or `dev`", Some("name the next hop or the interface"));
        return None;
    }
    let via = match h.via.as_deref() {
        Some(v) => Some(address(cx, &at.key("via"), v, to)?),
        None => None,
    };
    interface(cx, &at.key("dev"), h.dev.as_deref());
    let weight = h.weight.unwrap_or(1);
    if !(1..=256).contains(&weight) {
        cx.error(&at.key("weight"), format!("weight {weight} is out of range"), Some("a path's weight is 1 to 256"));
        return None;
    }
    let onlink = h.onlink.unwrap_or(false);
    if onlink {
        onlink_needs(cx, &at.key("onlink"), via.is_some(), h.dev.is_some());
    }
    let encap = h.encap.as_ref().and_then(|x| super::route_encap::encap(cx, &at.key("encap"), x));
    Some(NextHop { via, dev: h.dev.clone(), weight, onlink, encap })
}

/// A unicast route goes somewhere (`via` and/or `dev`); the others go nowhere.
fn next_hop(cx: &mut Cx, at: &KeyPath, kind: RouteKind, e: &VrrpRouteEntry) -> Option<()> {
    let has = e.via.is_some() || e.dev.is_some();
    if has && !e.nexthops.is_empty() {
        let hint = "move them into `nexthops` (each path has its own `via` and `dev`)";
        cx.error(at, "a multipath route has no `via` or `dev` of its own", Some(hint));
        return None;
    }
    match (kind, has || !e.nexthops.is_empty()) {
        (RouteKind::Unicast, false) => {
            cx.error(
                at,
                "a unicast route needs `via` or `dev`",
                Some("name the next hop or the interface, or set `type: blackhole`"),
            );
            None
        }
        (RouteKind::Unicast, true) | (_, false) => Some(()),
        (k, true) => {
            let msg = format!("a {} route has no next hop: `via` and `dev` do nothing", k.name());
            cx.error(at, msg, Some("remove `via` and `dev`, or make it a unicast route"));
            None
        }
    }
}

/// A network written with its prefix length (or `default`), without host bits.
pub(super) fn destination(cx: &mut Cx, at: &KeyPath, text: &str) -> Option<IpNet> {
    let net = match text {
        "default" => Ok(IpNet::V4(ipnet::Ipv4Net::default())),
        t => t.parse::<IpNet>(),
    };
    let Ok(net) = net else {
        cx.error(
            at,
            format!("`{text}` is not a network"),
            Some("write it with its prefix length: `10.9.8.0/24`, `fd00:9::/64`, `default`"),
        );
        return None;
    };
    if net.trunc() != net {
        let msg = format!("{net} has host bits set");
        cx.error(at, msg, Some(&format!("the network is {}", net.trunc())));
        return None;
    }
    Some(net)
}

/// An address of the family of `to`.
pub(super) fn address(cx: &mut Cx, at: &KeyPath, text: &str, to: IpNet) -> Option<IpAddr> {
    let Ok(a) = text.parse::<IpAddr>() else {
        cx.error(at, format!("`{text}` is not an IP address"), Some("write the address alone, without a prefix"));
        return None;
    };
    if a.is_ipv6() != to.addr().is_ipv6() {
        cx.error(at, format!("{a} is not of the family of {to}"), Some("a route's addresses are all of one family"));
        return None;
    }
    Some(a)
}
