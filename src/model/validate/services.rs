//! Virtual services: key, scheduler, persistence, ownership (VRRP or explicit directors),
//! backends and their checks, and the cross-service rules.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::family::Family;
use crate::manifest::KeyPath;
use crate::manifest::types::{self, Manifest, SchedulerFlag};
use crate::model::cluster::{Backend, Check, CheckKind, Node, SorryServer, VirtualService, VrrpInstance};
use crate::model::ipvs::{self, Forwarding, Persistence, Protocol, ServiceKey};

use super::{Cx, checks, group, parse, unknown_node_hint};

/// Default size of the kernel's `mh` table (CONFIG_IP_VS_MH_TAB_INDEX=12).
const MH_TABLE_DEFAULT: u32 = 4093;

/// Validates every service, then that no two share a key.
pub fn services(
    cx: &mut Cx,
    at: &KeyPath,
    m: &Manifest,
    nodes: &BTreeMap<String, Node>,
    vrrp: &BTreeMap<String, VrrpInstance>,
) -> BTreeMap<String, VirtualService> {
    let mut out = BTreeMap::new();
    let mut keys: BTreeMap<ServiceKey, String> = BTreeMap::new();
    for (name, s) in &m.services {
        let path = at.name(name);
        let Some((vs, entries)) = service(cx, &path, name, s, m, nodes, vrrp) else { continue };
        for (key, entry) in vs.keys().iter().zip(entries.iter().map(Some).chain(std::iter::repeat(None))) {
            let Some(first) = keys.insert(*key, name.clone()) else { continue };
            if first == *name {
                continue; // an entry of its own group repeats it: said with the group
            }
            let at = entry.map_or(path.clone(), |i| path.key("group").index(*i));
            cx.error(
                &at,
                format!("service `{name}` duplicates service `{first}` ({key})"),
                Some("merge the two, or change the VIP, port, protocol or mark"),
            );
        }
        out.insert(name.clone(), vs);
    }
    out
}

struct Base {
    key: ServiceKey,
    vips: Vec<IpAddr>,
    /// A server group's IPVS services with the index of their entry (empty: one key).
    group: Vec<(ServiceKey, usize)>,
}

impl Base {
    fn keys(&self) -> Vec<ServiceKey> {
        if self.group.is_empty() { vec![self.key] } else { self.group.iter().map(|(k, _)| *k).collect() }
    }
}

#[allow(clippy::too_many_arguments)]
fn service(
    cx: &mut Cx,
    path: &KeyPath,
    name: &str,
    s: &types::Service,
    m: &Manifest,
    nodes: &BTreeMap<String, Node>,
    vrrp: &BTreeMap<String, VrrpInstance>,
) -> Option<(VirtualService, Vec<usize>)> {
    let d = &m.defaults;
    let base = key(cx, path, s, d)?;
    let scheduler = s.scheduler.or(d.scheduler).unwrap_or(types::Scheduler::Wlc);
    let sched_flags = sched_flags(cx, &path.key("scheduler_flags"), scheduler, &s.scheduler_flags);
    let persistence = persistence(cx, path, s.persistence.as_ref().or(d.persistence.as_ref()), base.key.family());
    let one_packet = s.one_packet.unwrap_or(false);
    if one_packet && matches!(base.key, ServiceKey::Addr { protocol: Protocol::Tcp, .. }) {
        cx.warn(
            &path.key("one_packet"),
            "one-packet scheduling is meant for UDP; a TCP service schedules every packet on its own",
            None,
        );
    }
    let announce_bgp = s.announce == Some(types::Announce::Bgp);
    let (vrrp_instance, directors) = if announce_bgp {
        bgp_ownership(cx, path, s, &base, nodes, vrrp)
    } else {
        ownership(cx, path, s, &base, nodes, vrrp)
    };
    let forwarding = fwd(s.forwarding.or(d.forwarding).unwrap_or(types::Forwarding::Dr));
    let backends = backends(cx, path, s, m, &base, forwarding, nodes);
    let nat_gateway = nat_gateway(cx, path, s, &backends);
    let sorry = sorry(cx, &path.key("sorry_server"), s.sorry_server.as_ref(), &base, forwarding);
    let vs = VirtualService {
        name: name.to_string(),
        key: base.key,
        group: base.group.iter().map(|(k, _)| *k).collect(),
        vips: base.vips.clone(),
        scheduler: sched_name(scheduler).to_string(),
        sched_flags,
        persistence,
        one_packet,
        vrrp_instance,
        announce_bgp,
        directors,
        nat_gateway,
        backends,
        sorry,
        quorum: s.quorum.unwrap_or(1),
        hysteresis: s.hysteresis.unwrap_or(0),
        slow_start: super::dur(cx, &path.key("slow_start"), s.slow_start.as_ref(), std::time::Duration::ZERO),
        notify_up: checks::hook(cx, &path.key("notify_up"), s.notify_up.as_ref()),
        notify_down: checks::hook(cx, &path.key("notify_down"), s.notify_down.as_ref()),
        quorum_up: checks::hook(cx, &path.key("quorum_up"), s.quorum_up.as_ref()),
        quorum_down: checks::hook(cx, &path.key("quorum_down"), s.quorum_down.as_ref()),
    };
    mh_table(cx, path, &vs, d.mh_table_size.unwrap_or(MH_TABLE_DEFAULT));
    if announce_bgp {
        bgp_rules(cx, path, &vs);
    }
    dr_subnets(cx, path, &vs, nodes);
    static_vips(cx, path, &vs, nodes);
    group_rules(cx, path, s, &vs, &base);
    Some((vs, base.group.iter().map(|(_, i)| *i).collect()))
}

fn key(cx: &mut Cx, path: &KeyPath, s: &types::Service, d: &types::Defaults) -> Option<Base> {
    if let Some(entries) = &s.group {
        return group_key(cx, path, s, d, entries);
    }
    match (&s.vip, s.fwmark) {
        (Some(_), Some(_)) => {
            cx.error(
                path,
                "a service has a `vip` or a `fwmark`, not both",
                Some("for a mark that matches several VIPs, list them under `vips`"),
            );
            None
        }
        (None, None) => {
            cx.error(path, "a service needs a `vip` (with `port`), a `fwmark` or a `group`", None);
            None
        }
        (Some(vip), None) => vip_key(cx, path, s, d, vip),
        (None, Some(mark)) => mark_key(cx, path, s, mark),
    }
}

fn vip_key(cx: &mut Cx, path: &KeyPath, s: &types::Service, d: &types::Defaults, vip: &str) -> Option<Base> {
    if !s.vips.is_empty() || s.family.is_some() {
        cx.error(
            path,
            "`vips` and `family` belong to firewall-mark services",
            Some("remove them, or use `fwmark` instead of `vip`"),
        );
    }
    let addr = parse::address(vip).map_err(|e| cx.error(&path.key("vip"), e, None)).ok();
    let Some(port) = s.port else {
        cx.error(path, "missing required key `port`", Some("a VIP service needs a port from 1 to 65535"));
        return None;
    };
    let protocol = super::proto(s.protocol.or(d.protocol).unwrap_or(types::Protocol::Tcp));
    let key = ServiceKey::Addr { protocol, addr: addr?, port: u16::try_from(port).ok()? };
    Some(Base { key, vips: vec![addr?], group: Vec::new() })
}

/// `group:` instead of `vip`, `port` and `fwmark`; `vips` names the VIPs its marks match.
fn group_key(
    cx: &mut Cx,
    path: &KeyPath,
    s: &types::Service,
    d: &types::Defaults,
    entries: &[types::GroupEntry],
) -> Option<Base> {
    if s.vip.is_some() || s.port.is_some() || s.fwmark.is_some() || s.family.is_some() {
        cx.error(
            path,
            "`group` replaces `vip`, `port`, `fwmark` and `family`",
            Some("list each VIP and port, or mark, as an entry of `group`"),
        );
    }
    let protocol = group::protocol(cx, path, s, d);
    let at = path.key("group");
    let expanded = group::expand(cx, &at, entries, protocol)?;
    let mut vips = expanded.vips;
    let has_marks = expanded.keys.iter().any(|(k, _)| k.vip_port().is_none());
    if !s.vips.is_empty() && !has_marks {
        cx.error(
            &path.key("vips"),
            "`vips` names the VIPs a group's marks match, and this group has no mark",
            Some("remove `vips`: the group's VIPs are its entries"),
        );
    }
    for (i, v) in s.vips.iter().enumerate() {
        match parse::address(v) {
            Ok(a) if !vips.contains(&a) => vips.push(a),
            Ok(_) => {}
            Err(e) => cx.error(&path.key("vips").index(i), e, None),
        }
    }
    let (key, _) = *expanded.keys.first()?;
    Some(Base { key, vips, group: expanded.keys })
}

/// What a server group's service cannot do, and the families it mixes: keepalived lets a
/// group hold IPv4 and IPv6 VIPs only when every real server (and the sorry server) is
/// tunnelled, the one forwarding that crosses families.
fn group_rules(cx: &mut Cx, path: &KeyPath, s: &types::Service, vs: &VirtualService, base: &Base) {
    let Some((first, _)) = base.group.first() else { return };
    if s.matches.is_some() {
        let msg = "`match` belongs to a service with one `fwmark`; a group's marks are matched by rules of their own";
        cx.error(&path.key("match"), msg, Some("give each marked traffic a firewall-mark service of its own"));
    }
    let Some((other, i)) = base.group.iter().find(|(k, _)| k.family() != first.family()) else { return };
    let all_tun = vs.backends.iter().all(|b| b.forwarding == Forwarding::Tun)
        && vs.sorry.as_ref().is_none_or(|x| x.forwarding == Forwarding::Tun);
    if !all_tun {
        let msg = format!(
            "the group mixes {} ({first}) and {} ({other}); only `tun` real servers serve both families",
            first.family(),
            other.family()
        );
        let hint = format!("put the {} entries in a service of their own, or use `forwarding: tun`", other.family());
        cx.error(&path.key("group").index(*i), msg, Some(&hint));
    }
}

fn mark_key(cx: &mut Cx, path: &KeyPath, s: &types::Service, mark: u64) -> Option<Base> {
    if u32::try_from(mark).is_ok_and(|m| ipvs::PROBE_MARKS.contains(&m)) {
        cx.error(
            &path.key("fwmark"),
            format!(
                "marks {} to {} are lbconverge's own (data-path health checks)",
                ipvs::PROBE_MARKS.start(),
                ipvs::PROBE_MARKS.end()
            ),
            Some("use another mark"),
        );
    }
    if s.port.is_some() || s.protocol.is_some() {
        cx.error(
            path,
            "a firewall-mark service has no `port` or `protocol`",
            Some("the mark selects the traffic; set ports on the backends"),
        );
    }
    let mut vips = Vec::new();
    for (i, v) in s.vips.iter().enumerate() {
        match parse::address(v) {
            Ok(a) => vips.push(a),
            Err(e) => cx.error(&path.key("vips").index(i), e, None),
        }
    }
    let family = s.family.or_else(|| vips.first().map(Family::of)).unwrap_or(Family::Ipv4);
    if vips.iter().any(|v| Family::of(v) != family) {
        cx.error(&path.key("vips"), format!("every VIP of this {family} service must be {family}"), None);
    }
    Some(Base { key: ServiceKey::Fwmark { family, mark: u32::try_from(mark).ok()? }, vips, group: Vec::new() })
}

/// The model forwarding method for a manifest one.
pub fn fwd(f: types::Forwarding) -> Forwarding {
    match f {
        types::Forwarding::Dr => Forwarding::Dr,
        types::Forwarding::Nat => Forwarding::Nat,
        types::Forwarding::Tun => Forwarding::Tun,
    }
}

/// The kernel name of a scheduler.
pub fn sched_name(s: types::Scheduler) -> &'static str {
    use types::Scheduler as S;
    match s {
        S::Rr => "rr",
        S::Wrr => "wrr",
        S::Lc => "lc",
        S::Wlc => "wlc",
        S::Lblc => "lblc",
        S::Lblcr => "lblcr",
        S::Dh => "dh",
        S::Sh => "sh",
        S::Sed => "sed",
        S::Nq => "nq",
        S::Mh => "mh",
        S::Fo => "fo",
        S::Ovf => "ovf",
    }
}

fn sched_flags(cx: &mut Cx, at: &KeyPath, sched: types::Scheduler, flags: &[SchedulerFlag]) -> u32 {
    let mut bits = 0;
    for (i, f) in flags.iter().enumerate() {
        let (needs, bit, name) = match f {
            SchedulerFlag::ShFallback => (types::Scheduler::Sh, ipvs::F_SCHED1, "sh-fallback"),
            SchedulerFlag::ShPort => (types::Scheduler::Sh, ipvs::F_SCHED2, "sh-port"),
            SchedulerFlag::MhFallback => (types::Scheduler::Mh, ipvs::F_SCHED1, "mh-fallback"),
            SchedulerFlag::MhPort => (types::Scheduler::Mh, ipvs::F_SCHED2, "mh-port"),
        };
        if sched != needs {
            let msg =
                format!("flag `{name}` belongs to scheduler `{}`, not `{}`", sched_name(needs), sched_name(sched));
            cx.error(&at.index(i), msg, None);
        }
        bits |= bit;
    }
    bits
}

fn persistence(cx: &mut Cx, path: &KeyPath, p: Option<&types::Persistence>, family: Family) -> Option<Persistence> {
    let p = p?;
    let at = path.key("persistence");
    let timeout = super::dur(cx, &at.key("timeout"), Some(&p.timeout), std::time::Duration::ZERO);
    let secs = timeout.as_secs();
    if timeout.subsec_nanos() != 0 || !(1..=u64::from(u32::MAX / 1000)).contains(&secs) {
        cx.error(&at.key("timeout"), "persistence timeout must be whole seconds, at least 1s", None);
    }
    let granularity = match &p.granularity {
        None => family.host_prefix(),
        Some(g) => parse::granularity(g, family == Family::Ipv6).unwrap_or_else(|e| {
            cx.error(&at.key("granularity"), e, None);
            family.host_prefix()
        }),
    };
    Some(Persistence { timeout: u32::try_from(secs).unwrap_or(0), granularity })
}

fn ownership(
    cx: &mut Cx,
    path: &KeyPath,
    s: &types::Service,
    base: &Base,
    nodes: &BTreeMap<String, Node>,
    vrrp: &BTreeMap<String, VrrpInstance>,
) -> (Option<String>, Vec<String>) {
    let owners = holders(base, vrrp);
    if owners.len() > 1 {
        let names: Vec<&str> = owners.iter().map(|i| i.name.as_str()).collect();
        cx.error(
            path,
            format!("the service's VIPs are held by several VRRP instances: {}", names.join(", ")),
            Some("put all VIPs of a service in one instance"),
        );
    }
    let owner = owners.first();
    let explicit = s.directors.as_ref().map(|list| directors(cx, &path.key("directors"), list, nodes));
    match (owner, explicit) {
        (Some(i), None) => (Some(i.name.clone()), i.members.keys().cloned().collect()),
        (Some(i), Some(list)) => {
            vrrp_directors(cx, &path.key("directors"), i, &list);
            (Some(i.name.clone()), list)
        }
        (None, Some(list)) if s.directors.as_ref().is_some_and(Vec::is_empty) => {
            cx.error(&path.key("directors"), "no directors carry this service", None);
            (None, list)
        }
        (None, Some(list)) => (None, list),
        (None, None) => {
            let what = base.vips.first().map_or("this firewall mark".to_string(), |v| format!("VIP {v}"));
            let msg = format!("{what} is held by no VRRP instance and the service lists no `directors`");
            cx.error(
                path,
                msg,
                Some("add the VIP to a VRRP instance's `vips`, or list the directors that carry it under `directors`"),
            );
            (None, Vec::new())
        }
    }
}

/// The VRRP instances that hold one of the service's VIPs.
fn holders<'a>(base: &Base, vrrp: &'a BTreeMap<String, VrrpInstance>) -> Vec<&'a VrrpInstance> {
    vrrp.values().filter(|i| base.vips.iter().any(|v| i.held().any(|iv| iv.addr() == *v))).collect()
}

/// `announce: bgp`: the listed directors hold the VIP all at once, so no VRRP instance may
/// hold it too.
fn bgp_ownership(
    cx: &mut Cx,
    path: &KeyPath,
    s: &types::Service,
    base: &Base,
    nodes: &BTreeMap<String, Node>,
    vrrp: &BTreeMap<String, VrrpInstance>,
) -> (Option<String>, Vec<String>) {
    for i in holders(base, vrrp) {
        let msg = format!("VRRP instance `{}` holds this VIP, but `announce: bgp` has every director hold it", i.name);
        cx.error(&path.key("announce"), msg, Some("remove the VIP from the instance, or announce the service by VRRP"));
    }
    if base.keys().iter().any(|k| k.vip_port().is_none()) {
        let msg = "a firewall-mark service has no one VIP to announce";
        cx.error(&path.key("announce"), msg, Some("announce a service with `vip` and `port`"));
    }
    match s.directors.as_ref() {
        Some(list) if !list.is_empty() => (None, directors(cx, &path.key("directors"), list, nodes)),
        _ => {
            let msg = "`announce: bgp` needs the directors that hold the VIP and announce it";
            cx.error(&path.key("directors"), msg, Some("list them: `directors: [lvs01, lvs02]`"));
            (None, Vec::new())
        }
    }
}

/// ECMP spreads one client's packets over the directors by a hash only the router knows,
/// and a router change moves flows between them: every director must send a flow to the
/// same backend, which only the hashing schedulers do; persistence templates live on one
/// director.
fn bgp_rules(cx: &mut Cx, path: &KeyPath, vs: &VirtualService) {
    if !matches!(vs.scheduler.as_str(), "mh" | "sh") {
        let msg = format!(
            "scheduler `{}` lets each director pick another backend for the same flow, and ECMP moves flows between directors",
            vs.scheduler
        );
        cx.error(
            &path.key("scheduler"),
            msg,
            Some("use `mh` (Maglev hashing) or `sh` with `announce: bgp`: every director then picks the same backend"),
        );
    }
    if vs.persistence.is_some() {
        cx.warn(
            &path.key("persistence"),
            "persistence is kept per director; with `announce: bgp` a client whose flows reach another director may land on another backend",
            Some("rely on the hashing scheduler for stickiness (`mh` hashes the source address)"),
        );
    }
}

/// `directors` beside a VRRP instance: every member may become master and receive the
/// VIP's traffic, so each must carry the service; the list then says nothing new.
fn vrrp_directors(cx: &mut Cx, at: &KeyPath, i: &VrrpInstance, list: &[String]) {
    for (n, d) in list.iter().enumerate() {
        if !i.members.contains_key(d) {
            let msg = format!("director `{d}` is not a member of VRRP instance `{}`, which holds this VIP", i.name);
            cx.error(&at.index(n), msg, None);
        }
    }
    let left_out: Vec<&str> = i.members.keys().filter(|m| !list.contains(m)).map(String::as_str).collect();
    if !left_out.is_empty() {
        let msg = format!(
            "VRRP instance `{}` holds this VIP, so {} would receive its traffic as master without carrying the service",
            i.name,
            left_out.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
        );
        cx.error(at, msg, Some("remove `directors`: a service whose VIP VRRP holds is carried by every member"));
    } else if list.len() == i.members.len() {
        cx.warn(
            at,
            format!("`directors` repeats the members of VRRP instance `{}`, which holds this VIP", i.name),
            Some("remove it: a service whose VIP VRRP holds is carried by every member"),
        );
    }
}

/// A static VIP (no VRRP) is added to every director that carries it: it may be a node's
/// own address only when that node is the one director (the classic LVS-NAT director).
fn static_vips(cx: &mut Cx, path: &KeyPath, vs: &VirtualService, nodes: &BTreeMap<String, Node>) {
    if vs.vrrp_instance.is_some() {
        return;
    }
    let at = match (vs.group.is_empty(), vs.key.vip_port()) {
        (false, _) => path.key("group"),
        (true, Some(_)) => path.key("vip"),
        (true, None) => path.key("vips"),
    };
    for vip in &vs.vips {
        let Some(owner) = nodes.values().find(|n| n.addresses.iter().any(|a| a.addr() == *vip)) else { continue };
        if vs.directors.len() == 1 && vs.directors[0] == owner.name {
            continue;
        }
        let msg = if vs.directors.contains(&owner.name) {
            format!("VIP {vip} is director `{}`'s own address, but the other directors would add it too", owner.name)
        } else {
            format!("VIP {vip} is node `{}`'s address; the directors would add it and take its traffic", owner.name)
        };
        cx.error(&at, msg, Some("use an address no node has as the VIP"));
    }
}

fn directors(cx: &mut Cx, at: &KeyPath, list: &[String], nodes: &BTreeMap<String, Node>) -> Vec<String> {
    let mut out = Vec::new();
    for (i, d) in list.iter().enumerate() {
        match nodes.get(d) {
            None => cx.error(&at.index(i), format!("unknown node `{d}`"), Some(&unknown_node_hint(d, nodes))),
            Some(n) if !n.director => {
                cx.error(&at.index(i), format!("node `{d}` is not a director"), Some("add `director` to its roles"))
            }
            Some(_) if out.contains(d) => cx.error(&at.index(i), format!("director `{d}` is listed twice"), None),
            Some(_) => out.push(d.clone()),
        }
    }
    out
}

fn backends(
    cx: &mut Cx,
    path: &KeyPath,
    s: &types::Service,
    m: &Manifest,
    base: &Base,
    forwarding: Forwarding,
    nodes: &BTreeMap<String, Node>,
) -> Vec<Backend> {
    let mut out: Vec<Backend> = Vec::new();
    for (name, b) in &s.backends {
        let at = path.key("backends").name(name);
        let Some(be) = backend(cx, &at, name, b, s, m, base, forwarding, nodes) else { continue };
        if let Some(first) = out.iter().find(|o| o.address == be.address && o.port == be.port) {
            let msg = format!("backend `{name}` has the same address and port as `{}`", first.name);
            cx.error(&at, msg, None);
            continue;
        }
        out.push(be);
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn backend(
    cx: &mut Cx,
    at: &KeyPath,
    name: &str,
    b: &types::Backend,
    s: &types::Service,
    m: &Manifest,
    base: &Base,
    svc_fwd: Forwarding,
    nodes: &BTreeMap<String, Node>,
) -> Option<Backend> {
    let family = base.key.family();
    let (node, address) = backend_address(cx, at, name, b, family, nodes)?;
    let forwarding = b.forwarding.map(fwd).unwrap_or(svc_fwd);
    if Family::of(&address) != family && forwarding != Forwarding::Tun {
        cx.error(
            at,
            format!("backend {address} is not {family} like its service; only `tun` forwarding crosses families"),
            None,
        );
    }
    let (port, check_port, port_follows) = if base.group.is_empty() {
        let (port, check_port) = backend_port(cx, at, b, base, forwarding);
        (port, check_port, false)
    } else {
        group_backend_port(cx, at, b, base, forwarding)
    };
    let weight = b.weight.or(m.defaults.weight).unwrap_or(1);
    let checks = backend_checks(cx, at, m, s, b, check_port);
    let inhibit_on_failure =
        b.inhibit_on_failure.or(s.inhibit_on_failure).or(m.defaults.inhibit_on_failure).unwrap_or(false);
    let through_ipvs = checks.iter().any(|c| c.via_ipvs);
    if through_ipvs && !base.group.is_empty() {
        cx.error(
            at,
            "a check `via: ipvs` goes to one VIP and port, and a group has many",
            Some("use `via: direct`, or a service of its own for the data-path check"),
        );
    } else if through_ipvs && (!matches!(forwarding, Forwarding::Dr | Forwarding::Tun) || base.key.vip_port().is_none())
    {
        cx.error(
            at,
            "a check `via: ipvs` needs a service with a VIP and port, and dr or tun forwarding",
            Some("a NAT real server is checked on its own address already; use `via: direct`"),
        );
    }
    Some(Backend {
        name: name.to_string(),
        node,
        address,
        port,
        weight,
        forwarding,
        checks,
        inhibit_on_failure,
        port_follows,
    })
}

/// A backend's checks: `health_check` inherited field by field from defaults, service and
/// backend; with a `health_checks` list (the backend's, else the service's), one check per
/// item over that. Checks of type `none` are left out.
fn backend_checks(
    cx: &mut Cx,
    at: &KeyPath,
    m: &types::Manifest,
    s: &types::Service,
    b: &types::Backend,
    port: u16,
) -> Vec<Check> {
    let present = m.defaults.health_check.is_some() || s.health_check.is_some() || b.health_check.is_some();
    if !present && b.health_checks.is_none() && s.health_checks.is_none() {
        return Vec::new();
    }
    let empty = types::HealthCheck::default();
    let merged = [&m.defaults.health_check, &s.health_check, &b.health_check]
        .into_iter()
        .fold(empty.clone(), |acc, h| checks::merge(&acc, h.as_deref().unwrap_or(&empty)));
    let service_path = at.parent().and_then(|p| p.parent()).unwrap_or_default();
    let list = match (&b.health_checks, &s.health_checks) {
        (Some(l), _) => Some((l, at.key("health_checks"))),
        (None, Some(l)) => Some((l, service_path.key("health_checks"))),
        (None, None) => None,
    };
    let resolved = match list {
        Some((items, path)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| checks::resolve(cx, &path.index(i), &checks::merge(&merged, item), true, port))
            .collect(),
        None => {
            let path = if b.health_check.is_some() { at.clone() } else { service_path };
            vec![checks::resolve(cx, &path.key("health_check"), &merged, present, port)]
        }
    };
    resolved.into_iter().filter(|c| c.kind != CheckKind::None).collect()
}

fn backend_address(
    cx: &mut Cx,
    at: &KeyPath,
    name: &str,
    b: &types::Backend,
    family: Family,
    nodes: &BTreeMap<String, Node>,
) -> Option<(Option<String>, IpAddr)> {
    let explicit = b.address.as_ref().map(|a| parse::address(a).map_err(|e| cx.error(&at.key("address"), e, None)));
    match (nodes.get(name), explicit) {
        (_, Some(Err(()))) => None,
        (Some(n), addr) => {
            if !n.real_server {
                cx.error(
                    at,
                    format!("node `{name}` is a backend but not a real server"),
                    Some("add `real-server` to its roles"),
                );
            }
            let addr = match addr {
                Some(Ok(a)) => Some(a),
                _ => n.address_of(family == Family::Ipv6).or(n.addresses.first().map(|a| a.addr())),
            };
            addr.map(|a| (Some(name.to_string()), a))
        }
        (None, Some(Ok(a))) => Some((None, a)),
        (None, None) => {
            let hint = format!("{}; for a server outside the manifest give `address:`", unknown_node_hint(name, nodes));
            cx.error(at, format!("unknown node `{name}`"), Some(&hint));
            None
        }
    }
}

/// The backend's port in IPVS, and the port its checks use by default.
fn backend_port(cx: &mut Cx, at: &KeyPath, b: &types::Backend, base: &Base, forwarding: Forwarding) -> (u16, u16) {
    let svc_port = match base.key {
        ServiceKey::Addr { port, .. } => port,
        ServiceKey::Fwmark { .. } => 0,
    };
    let port = b.port.and_then(|p| u16::try_from(p).ok()).unwrap_or(svc_port);
    if port == 0 && svc_port != 0 {
        cx.error(&at.key("port"), "port 0 is only for firewall-mark services", Some("use a port from 1 to 65535"));
    }
    let remaps = svc_port != 0 && port != svc_port;
    if remaps && matches!(forwarding, Forwarding::Dr | Forwarding::Tun) {
        let msg = format!("{} forwarding cannot change the port ({svc_port} -> {port})", forwarding.word());
        cx.error(&at.key("port"), msg, Some("use the service's port, or `forwarding: nat`"));
    }
    if svc_port == 0 && port != 0 && matches!(forwarding, Forwarding::Dr | Forwarding::Tun) {
        let msg = format!(
            "a firewall-mark service's {} real server receives each packet on its own port; port {port} is not used by IPVS (set to 0, as keepalived does)",
            forwarding.word()
        );
        cx.warn(&at.key("port"), msg, Some("checks still use it by default; to say so, set health_check.port instead"));
        return (0, port);
    }
    (port, port)
}

/// A server group backend's port, the port its checks use by default, and whether its
/// destination port follows each IPVS service's (keepalived's way): a `nat` backend given
/// a port keeps it everywhere; otherwise each destination takes its service's virtual port
/// (0 under a mark). A `dr` or `tun` backend cannot take another port than the virtual one.
fn group_backend_port(
    cx: &mut Cx,
    at: &KeyPath,
    b: &types::Backend,
    base: &Base,
    forwarding: Forwarding,
) -> (u16, u16, bool) {
    let ports: std::collections::BTreeSet<u16> =
        base.group.iter().filter_map(|(k, _)| k.vip_port()).map(|(_, p)| p).collect();
    let only = if ports.len() == 1 { ports.first().copied().unwrap_or(0) } else { 0 };
    let Some(port) = b.port.and_then(|p| u16::try_from(p).ok()) else { return (only, only, true) };
    if port == 0 && !ports.is_empty() {
        cx.error(&at.key("port"), "port 0 is only for firewall-mark services", Some("use a port from 1 to 65535"));
    }
    if forwarding == Forwarding::Nat {
        return (port, port, false);
    }
    if ports.iter().any(|p| *p != port) {
        let list: Vec<String> = ports.iter().map(u16::to_string).collect();
        let msg = format!(
            "{} forwarding cannot change the port: the group's virtual ports are {} and this backend's is {port}",
            forwarding.word(),
            list.join(", ")
        );
        cx.error(
            &at.key("port"),
            msg,
            Some("leave `port` out (each destination takes its virtual port); for the checks set health_check.port"),
        );
    }
    (port, port, true)
}

fn nat_gateway(cx: &mut Cx, path: &KeyPath, s: &types::Service, backends: &[Backend]) -> Option<IpAddr> {
    let g = s.nat_gateway.as_ref()?;
    let addr = parse::address(g).map_err(|e| cx.error(&path.key("nat_gateway"), e, None)).ok()?;
    if !backends.iter().any(|b| b.forwarding == Forwarding::Nat) {
        cx.warn(&path.key("nat_gateway"), "no backend of this service uses NAT, so the gateway is not used", None);
    }
    Some(addr)
}

fn sorry(
    cx: &mut Cx,
    at: &KeyPath,
    s: Option<&types::SorryServer>,
    base: &Base,
    svc_fwd: Forwarding,
) -> Option<SorryServer> {
    let s = s?;
    let address = parse::address(&s.address).map_err(|e| cx.error(&at.key("address"), e, None)).ok()?;
    let default_port = match base.key {
        ServiceKey::Addr { port, .. } if base.group.is_empty() => port,
        _ => 0,
    };
    let port = s.port.and_then(|p| u16::try_from(p).ok()).unwrap_or(default_port);
    Some(SorryServer { address, port, forwarding: s.forwarding.map(fwd).unwrap_or(svc_fwd) })
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn mh_table(cx: &mut Cx, path: &KeyPath, vs: &VirtualService, table: u32) {
    if vs.scheduler != "mh" {
        return;
    }
    let g = vs.backends.iter().map(|b| b.weight).fold(0, gcd);
    let slots: u64 = vs.backends.iter().map(|b| u64::from(b.weight / g.max(1))).sum();
    if slots > u64::from(table) {
        let msg = format!("the mh table has {table} slots but the weights need {slots} (sum of weights / their gcd)");
        cx.error(
            &path.key("backends"),
            msg,
            Some("lower the weights (or their ratio), or set defaults.mh_table_size to your kernel's table size"),
        );
    }
}

fn dr_subnets(cx: &mut Cx, path: &KeyPath, vs: &VirtualService, nodes: &BTreeMap<String, Node>) {
    // Directors by the DR backends off their subnets: one warning per group, so that 5,000
    // servers behind two directors are two lines at most, not 10,000.
    let mut groups: BTreeMap<Vec<usize>, Vec<&str>> = BTreeMap::new();
    for d in vs.directors.iter().filter_map(|d| nodes.get(d)) {
        let off: Vec<usize> = (0..vs.backends.len())
            .filter(|&i| {
                let b = &vs.backends[i];
                b.forwarding == Forwarding::Dr && !d.addresses.iter().any(|net| net.contains(&b.address))
            })
            .collect();
        if !off.is_empty() {
            groups.entry(off).or_default().push(&d.name);
        }
    }
    for (off, directors) in groups {
        let off: Vec<&Backend> = off.iter().map(|&i| &vs.backends[i]).collect();
        let whom = match directors.as_slice() {
            [one] => format!("director `{one}`"),
            many => format!("directors {}", many.iter().map(|d| format!("`{d}`")).collect::<Vec<_>>().join(", ")),
        };
        let (at, what) = match off.as_slice() {
            [b] => (path.key("backends").name(&b.name), format!("DR real server {} is", b.address)),
            many => {
                let first: Vec<String> = many.iter().take(3).map(|b| b.address.to_string()).collect();
                let more = if many.len() > 3 { ", ..." } else { "" };
                (path.key("backends"), format!("{} DR real servers ({}{more}) are", many.len(), first.join(", ")))
            }
        };
        let msg = format!("{what} not on a subnet of {whom}; direct routing needs both on one link");
        cx.warn(&at, msg, Some("use `forwarding: tun` or `nat` for servers behind a router"));
    }
}
