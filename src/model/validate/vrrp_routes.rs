//! The routes a VRRP master holds (`vrrp.X.routes`, keepalived's `virtual_routes`): a
//! destination network without host bits, a next hop of its family, `via` / `dev` only for
//! a unicast route (which needs one of them), a source the master holds whenever it holds
//! the route (a VIP of the instance, or an address of every member), a table the kernel lets a route into, and no
//! route named twice.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::manifest::KeyPath;
use crate::manifest::types::{RouteType, VrrpRouteEntry};
use crate::model::net::{MAIN_TABLE, RouteKind, VrrpRoute};

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
    if let Some(Err(err)) = e.dev.as_deref().map(parse::interface) {
        cx.error(&at.key("dev"), err, None);
    }
    next_hop(cx, at, kind, e)?;
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
    if matches!(table, 0 | 253 | 255) {
        let msg = format!("table {table} is the kernel's own (`unspec`, `default` or `local`)");
        cx.error(
            &at.key("table"),
            msg,
            Some("use `main` (254, the default) or a table of your own (1..252, 256 and up)"),
        );
    }
    Some(VrrpRoute { to, kind, via, dev: e.dev.clone(), src, table, metric: e.metric })
}

/// A unicast route goes somewhere (`via` and/or `dev`); the others go nowhere.
fn next_hop(cx: &mut Cx, at: &KeyPath, kind: RouteKind, e: &VrrpRouteEntry) -> Option<()> {
    let has = e.via.is_some() || e.dev.is_some();
    match (kind, has) {
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

fn destination(cx: &mut Cx, at: &KeyPath, text: &str) -> Option<IpNet> {
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

fn address(cx: &mut Cx, at: &KeyPath, text: &str, to: IpNet) -> Option<IpAddr> {
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
