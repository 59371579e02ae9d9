//! Nodes and sysctl overrides.

use std::collections::BTreeMap;

use crate::manifest::KeyPath;
use crate::manifest::types::{self, Role};
use crate::model::cluster::Node;
use crate::model::sysctl::SysctlKey;
use crate::model::timeouts::Timeouts;

use super::{Cx, parse};

/// Validates every node.
pub fn nodes(cx: &mut Cx, at: &KeyPath, nodes: &BTreeMap<String, types::Node>) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    let defaults = cx.loaded.manifest.defaults.ipvs_timeouts.as_ref();
    let shared = timeouts(cx, &KeyPath::root().key("defaults").key("ipvs_timeouts"), defaults);
    for (name, n) in nodes {
        let path = at.name(name);
        if let Some(node) = node(cx, &path, name, n, &shared) {
            out.insert(name.clone(), node);
        }
    }
    own_addresses_unique(cx, at, &out);
    out
}

fn node(cx: &mut Cx, path: &KeyPath, name: &str, n: &types::Node, shared: &Timeouts) -> Option<Node> {
    let mut addresses = Vec::new();
    for (i, a) in n.addresses.iter().enumerate() {
        match parse::net_with_prefix(a) {
            Ok(net) => addresses.push(net),
            Err(e) => cx.error(
                &path.key("addresses").index(i),
                e,
                Some("write the node's address with its prefix length, e.g. 192.0.2.11/24"),
            ),
        }
    }
    if let Err(e) = parse::interface(&n.interface) {
        cx.error(&path.key("interface"), e, None);
    }
    let vip_label = n.vip_label.clone().unwrap_or_else(|| "lo:0".into());
    if let Err(e) = parse::label(&vip_label, "lo") {
        cx.error(&path.key("vip_label"), e, Some("use a label like lo:0"));
    }
    let mut seen = Vec::new();
    for (i, r) in n.roles.iter().enumerate() {
        if seen.contains(r) {
            cx.error(&path.key("roles").index(i), format!("role `{}` is listed twice", role_name(*r)), None);
        }
        seen.push(*r);
    }
    let sysctls = sysctl_map(cx, &path.key("sysctls"), &n.sysctls);
    let ipvs_timeouts = node_timeouts(cx, path, n, shared);
    if let Some(ns) = &n.network_namespace
        && let Err(e) = namespace_name(ns)
    {
        let hint = Some("name the namespace as `ip netns list` shows it (a file in /run/netns)");
        cx.error(&path.key("network_namespace"), e, hint);
    }
    let auto_realtime = n.auto_realtime.as_ref().and_then(|a| auto_realtime(cx, path, n, a));
    Some(Node {
        name: name.to_string(),
        director: n.roles.contains(&Role::Director),
        real_server: n.roles.contains(&Role::RealServer),
        addresses,
        interface: n.interface.clone(),
        vip_label,
        sysctls,
        ipvs_timeouts,
        network_namespace: n.network_namespace.clone(),
        auto_realtime,
        dynamic_interfaces: n.dynamic_interfaces,
    })
}

/// A name `ip netns` can have: a file name in /run/netns.
fn namespace_name(name: &str) -> Result<(), String> {
    let bad = name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) || name.len() > 255;
    if bad { Err(format!("`{name}` is not a network namespace name")) } else { Ok(()) }
}

/// `nodes.N.auto_realtime`: only a director has VRRP threads; the delay is keepalived's
/// range, above 0 up to 10s.
fn auto_realtime(
    cx: &mut Cx,
    path: &KeyPath,
    n: &types::Node,
    a: &types::AutoRealtime,
) -> Option<crate::model::cluster::AutoRealtime> {
    let at = path.key("auto_realtime");
    if !n.roles.contains(&Role::Director) {
        let hint = Some("remove it, or give the node the director role");
        cx.error(&at, "only a director runs VRRP threads", hint);
    }
    let max = a.max_priority.unwrap_or(99);
    if !(1..=99).contains(&max) {
        cx.error(&at.key("max_priority"), format!("{max} is not a SCHED_RR priority"), Some("use 1 to 99"));
    }
    let delay = match a.delay.as_ref().map(parse::duration) {
        None => std::time::Duration::from_secs(1),
        Some(Ok(d)) if !d.is_zero() && d <= std::time::Duration::from_secs(10) => d,
        Some(Ok(d)) => {
            let text = parse::duration_text(d);
            let hint = Some("more than 0 and at most 10s (keepalived's range), e.g. 1s");
            cx.error(&at.key("delay"), format!("{text} is not a usable delay"), hint);
            return None;
        }
        Some(Err(e)) => {
            cx.error(&at.key("delay"), e, Some("a duration such as 500ms or 1s"));
            return None;
        }
    };
    Some(crate::model::cluster::AutoRealtime { max, delay })
}

/// A director's IPVS timeouts, its own over `defaults.ipvs_timeouts`; only directors hold
/// IPVS tables, so a node without the role may not set them.
fn node_timeouts(cx: &mut Cx, path: &KeyPath, n: &types::Node, shared: &Timeouts) -> Timeouts {
    let own = timeouts(cx, &path.key("ipvs_timeouts"), n.ipvs_timeouts.as_ref());
    if n.ipvs_timeouts.is_some() && !n.roles.contains(&Role::Director) {
        let hint = Some("IPVS timeouts belong to the nodes with the director role");
        cx.error(&path.key("ipvs_timeouts"), "only a director has IPVS timeouts", hint);
    }
    own.zip(shared, |o, s| if o == 0 { s } else { o })
}

/// Parses IPVS timeouts: whole seconds from 0 (leave the kernel's value) to the kernel's limit.
fn timeouts(cx: &mut Cx, at: &KeyPath, t: Option<&types::IpvsTimeouts>) -> Timeouts {
    let Some(t) = t else { return Timeouts::default() };
    let mut one = |name: &'static str, d: &Option<types::Duration>| {
        let d = d.as_ref()?;
        match parse::duration(d).and_then(whole_seconds) {
            Ok(s) => Some(s),
            Err(e) => {
                let hint = "IPVS timeouts are whole seconds, e.g. 15m, 120s or 0 to leave the kernel's value";
                cx.error(&at.key(name), e, Some(hint));
                None
            }
        }
    };
    Timeouts {
        tcp: one("tcp", &t.tcp).unwrap_or(0),
        tcp_fin: one("tcp_fin", &t.tcp_fin).unwrap_or(0),
        udp: one("udp", &t.udp).unwrap_or(0),
    }
}

fn whole_seconds(d: std::time::Duration) -> Result<u32, String> {
    let text = parse::duration_text(d);
    if d.subsec_nanos() != 0 {
        return Err(format!("{text} is not a whole number of seconds"));
    }
    match u32::try_from(d.as_secs()) {
        Ok(s) if s <= Timeouts::MAX => Ok(s),
        _ => Err(format!("{text} is more than the kernel takes ({}s)", Timeouts::MAX)),
    }
}

fn own_addresses_unique(cx: &mut Cx, at: &KeyPath, nodes: &BTreeMap<String, Node>) {
    let mut owner: BTreeMap<std::net::IpAddr, &str> = BTreeMap::new();
    for (name, n) in nodes {
        for (i, a) in n.addresses.iter().enumerate() {
            if let Some(first) = owner.insert(a.addr(), name) {
                let msg = format!("address {} is also node `{first}`'s address", a.addr());
                cx.error(&at.name(name).key("addresses").index(i), msg, Some("every node needs its own address"));
            }
        }
    }
}

/// The manifest name of a role.
pub fn role_name(r: Role) -> &'static str {
    match r {
        Role::Director => "director",
        Role::RealServer => "real-server",
    }
}

/// Parses a map of sysctl overrides.
pub fn sysctl_map(cx: &mut Cx, at: &KeyPath, m: &BTreeMap<String, types::Scalar>) -> BTreeMap<SysctlKey, String> {
    let mut out = BTreeMap::new();
    for (k, v) in m {
        let value = v.render();
        match k.parse::<SysctlKey>() {
            Err(e) => cx.error(&at.name(k), e, Some("write sysctl names as sysctl(8) does; an interface with dots is written with '/': net.ipv4.conf.eth0/100.arp_ignore")),
            Ok(_) if value.is_empty() || value.contains('\n') => {
                cx.error(&at.name(k), "a sysctl value must be one non-empty line", None)
            }
            Ok(key) => {
                out.insert(key, value);
            }
        }
    }
    out
}

/// Parses the per-role overrides: (director, real-server).
pub fn role_sysctls(
    cx: &mut Cx,
    m: &BTreeMap<Role, BTreeMap<String, types::Scalar>>,
) -> (BTreeMap<SysctlKey, String>, BTreeMap<SysctlKey, String>) {
    let at = KeyPath::root().key("role_sysctls");
    let mut get = |r: Role| match m.get(&r) {
        Some(map) => sysctl_map(cx, &at.key(role_name(r)), map),
        None => BTreeMap::new(),
    };
    (get(Role::Director), get(Role::RealServer))
}
