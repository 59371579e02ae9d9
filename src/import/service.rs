//! keepalived's `virtual_server` and `real_server` blocks as manifest services and backends.
//! Checks stay on each backend here (`health_checks`); the merge lifts a list every backend
//! shares up to the service.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::check::{self, Cascade};
use super::conf::{Item, Loc};
use super::value::{self, Notes};
use crate::family::Family;
use crate::manifest::types::{
    Backend, Duration, Forwarding, GroupEntry, HealthCheck, Persistence, PortSpec, Protocol, Scalar, Scheduler,
    SchedulerFlag, Service, SorryServer,
};

/// One `virtual_server` of one director's file.
#[derive(Debug, Clone)]
pub struct Vs {
    /// The service's name in the manifest: `tcp-VIP-PORT` or `fwmark-N`.
    pub name: String,
    /// Where the block starts.
    pub at: Loc,
    /// The service; backends carry their own check lists.
    pub service: Service,
    /// Where each backend's `real_server` block starts.
    pub backend_at: BTreeMap<String, Loc>,
}

/// The `virtual_server_group`s of a file, by name, as `group:` entries.
pub type Groups = BTreeMap<String, Vec<GroupEntry>>;

/// Every `virtual_server_group NAME { ... }` of the file: each line an address, a range
/// (`10.0.0.1-10`, `A-B`, `A/N`) with its port, or `fwmark N [inet|inet6]`. keepalived
/// skips a bad line and goes on; so does the import, with a warning.
pub fn groups(items: &[Item], notes: &mut Notes) -> Groups {
    let mut out = Groups::new();
    for it in items.iter().filter(|i| i.keyword == "virtual_server_group") {
        let Some(name) = it.arg() else {
            notes.note(&it.at, "`virtual_server_group` needs a name; not imported".into());
            continue;
        };
        let entries: Vec<GroupEntry> = it.children().iter().filter_map(|e| group_entry(e, notes)).collect();
        if out.contains_key(name) {
            notes.note(&it.at, format!("`virtual_server_group {name}` is defined twice; the first is imported"));
        } else if entries.is_empty() {
            notes.note(
                &it.at,
                format!("`virtual_server_group {name}` has no entry the manifest can hold; keepalived ignores it too"),
            );
        } else {
            out.insert(name.to_string(), entries);
        }
    }
    out
}

fn group_entry(e: &Item, notes: &mut Notes) -> Option<GroupEntry> {
    let entry = GroupEntry { vip: None, port: None, fwmark: None, family: None };
    if e.keyword == "fwmark" {
        let mark = whole(e, e.arg()?, notes)?;
        let family = match e.args.get(1).map(String::as_str) {
            None => None,
            Some("inet") => Some(Family::Ipv4),
            Some("inet6") => Some(Family::Ipv6),
            Some(other) => {
                notes.note(
                    &e.at,
                    format!(
                        "fwmark family `{other}` is not inet or inet6; keepalived skips the entry, so does the import"
                    ),
                );
                return None;
            }
        };
        return Some(GroupEntry { fwmark: Some(mark), family, ..entry });
    }
    let port = e.arg().and_then(|p| p.parse::<u32>().ok()).filter(|p| *p != 0);
    let Some(port) = port else {
        notes.note(&e.at, format!("group entry `{}` has no port: a port-0 service (every port, made persistent) has no manifest form; not imported", e.keyword));
        return None;
    };
    Some(GroupEntry { vip: Some(e.keyword.clone()), port: Some(PortSpec::Port(port)), ..entry })
}

/// A `virtual_server` block, or None (with a warning) when the manifest cannot express it.
pub fn virtual_server(item: &Item, cascade: &Cascade, groups: &Groups, notes: &mut Notes) -> Option<Vs> {
    let mut s = empty();
    let mut own = cascade.clone();
    let mut servers = Vec::new();
    let mut sorry_method = None;
    for it in item.children() {
        match it.keyword.as_str() {
            "real_server" => servers.push(it),
            "sorry_server_lvs_method" => sorry_method = forwarding(it, notes),
            _ if own.read(it, notes) => {}
            _ => setting(&mut s, it, notes),
        }
    }
    if let (Some(sorry), Some(m)) = (s.sorry_server.as_mut(), sorry_method) {
        sorry.forwarding = Some(m);
    }
    let name = key(item, &mut s, groups, notes)?;
    let mut vs = Vs { name, at: item.at.clone(), service: s, backend_at: BTreeMap::new() };
    for rs in servers {
        real_server(&mut vs, rs, &own, notes);
    }
    Some(vs)
}

/// A service with keepalived's defaults (`wlc`, NAT) and nothing else.
pub(super) fn empty() -> Service {
    Service {
        announce: None,
        vip: None,
        port: None,
        protocol: None,
        fwmark: None,
        group: None,
        family: None,
        vips: Vec::new(),
        matches: None,
        scheduler: Some(Scheduler::Wlc),
        scheduler_flags: Vec::new(),
        forwarding: Some(Forwarding::Nat),
        persistence: None,
        one_packet: None,
        directors: None,
        nat_gateway: None,
        health_check: None,
        health_checks: None,
        slow_start: None,
        notify_up: None,
        notify_down: None,
        quorum_up: None,
        quorum_down: None,
        inhibit_on_failure: None,
        sorry_server: None,
        quorum: None,
        hysteresis: None,
        alert: None,
        backends: BTreeMap::new(),
    }
}

/// `virtual_server IP PORT` or `virtual_server fwmark N`: fills the key, returns the name.
fn key(item: &Item, s: &mut Service, groups: &Groups, notes: &mut Notes) -> Option<String> {
    let proto = match s.protocol {
        Some(Protocol::Udp) | None => "udp",
        Some(Protocol::Sctp) => "sctp",
        Some(Protocol::Tcp) => "tcp",
    };
    match item.args.as_slice() {
        [f, mark] if f == "fwmark" => {
            s.fwmark = Some(whole(item, mark, notes)?);
            s.protocol = None;
            Some(format!("fwmark-{mark}"))
        }
        [ip, port] if ip.parse::<IpAddr>().is_ok() => {
            if s.protocol.is_none() {
                notes.note(&item.at, "`virtual_server` without `protocol`: keepalived makes it UDP (and counts it an error); imported as UDP".into());
                s.protocol = Some(Protocol::Udp);
            }
            s.vip = Some(ip.clone());
            s.port = Some(whole(item, port, notes)?);
            s.family = None;
            Some(format!("{proto}-{ip}-{port}"))
        }
        [g, name] if g == "group" => match groups.get(name) {
            Some(entries) => group_key(item, s, entries.clone(), name, notes),
            None => {
                notes.note(&item.at, format!("`virtual_server group {name}`: the file has no such `virtual_server_group` (keepalived drops the service); not imported"));
                None
            }
        },
        _ => {
            notes.note(&item.at, "`virtual_server` needs `IP PORT` or `fwmark N`; not imported".into());
            None
        }
    }
}

/// `virtual_server group NAME`: the group's entries; a group of marks alone has no
/// protocol (keepalived ignores it there).
fn group_key(item: &Item, s: &mut Service, entries: Vec<GroupEntry>, name: &str, notes: &mut Notes) -> Option<String> {
    let marks_only = entries.iter().all(|e| e.vip.is_none());
    s.group = Some(entries);
    if marks_only {
        s.protocol = None;
        return Some(format!("fwmark-group-{name}"));
    }
    if s.protocol.is_none() {
        notes.note(
            &item.at,
            "`virtual_server` without `protocol`: keepalived makes it UDP (and counts it an error); imported as UDP"
                .into(),
        );
        s.protocol = Some(Protocol::Udp);
    }
    let proto = match s.protocol {
        Some(Protocol::Sctp) => "sctp",
        Some(Protocol::Tcp) => "tcp",
        _ => "udp",
    };
    Some(format!("{proto}-group-{name}"))
}

fn whole<T: std::str::FromStr>(item: &Item, word: &str, notes: &mut Notes) -> Option<T> {
    let v = word.parse().ok();
    if v.is_none() {
        notes.note(&item.at, format!("`{word}` is not a whole number; this `{}` is not imported", item.keyword));
    }
    v
}

fn setting(s: &mut Service, it: &Item, notes: &mut Notes) {
    match it.keyword.as_str() {
        "lb_algo" | "lvs_sched" => s.scheduler = parse_enum(it, notes).or(s.scheduler),
        "lb_kind" | "lvs_method" => s.forwarding = forwarding(it, notes).or(s.forwarding),
        "protocol" => s.protocol = parse_enum(it, notes),
        "persistence_timeout" => persistence(s, it, notes),
        "persistence_granularity" => {
            let p =
                s.persistence.get_or_insert(Persistence { timeout: Duration::Text("360s".into()), granularity: None });
            p.granularity = it.arg().map(|g| Scalar::Text(g.to_string()));
        }
        "ops" => s.one_packet = Some(true),
        "quorum" => s.quorum = value::number(it, notes),
        "hysteresis" => s.hysteresis = value::number(it, notes),
        "quorum_up" => s.quorum_up = Some(value::command(it, notes)),
        "quorum_down" => s.quorum_down = Some(value::command(it, notes)),
        "inhibit_on_failure" => s.inhibit_on_failure = value::flag(it).then_some(true),
        "smtp_alert" => {
            s.alert = Some(value::flag(it));
            if s.alert == Some(false) {
                let why = "`alert: false` silences the service's backends too (keepalived still mails their changes)";
                notes.note(&it.at, why.into());
            }
        }
        "sorry_server" => s.sorry_server = sorry(it, notes),
        "sh-port" | "sh-fallback" | "mh-port" | "mh-fallback" => flag(s, it),
        "ip_family" => s.family = parse_enum(&family_word(it), notes),
        "alpha" => {}
        "nat_mask" => notes.unsupported(
            it,
            "keepalived 1.x's netmask of NAT services; keepalived 2 does not know the keyword and ignores it",
        ),
        _ => notes.unsupported(it, "not a service setting the manifest has"),
    }
}

fn family_word(it: &Item) -> Item {
    let word = if it.arg() == Some("inet6") { "ipv6" } else { "ipv4" };
    Item { args: vec![word.into()], ..it.clone() }
}

fn flag(s: &mut Service, it: &Item) {
    let f = match it.keyword.as_str() {
        "sh-port" => SchedulerFlag::ShPort,
        "sh-fallback" => SchedulerFlag::ShFallback,
        "mh-port" => SchedulerFlag::MhPort,
        _ => SchedulerFlag::MhFallback,
    };
    if !s.scheduler_flags.contains(&f) {
        s.scheduler_flags.push(f);
        s.scheduler_flags.sort();
    }
}

fn persistence(s: &mut Service, it: &Item, notes: &mut Notes) {
    let timeout = match it.arg() {
        None => Some(Duration::Text("360s".into())),
        Some(z) if z.parse::<f64>().is_ok_and(|v| v == 0.0) => {
            notes.note(&it.at, "`persistence_timeout 0`: keepalived refuses 0 (its range is 1 to 2678400 seconds) and runs the service without it; imported without it (a service without `persistence` has none)".into());
            None
        }
        Some(_) => value::seconds(it, notes),
    };
    if let Some(timeout) = timeout {
        let granularity = s.persistence.take().and_then(|p| p.granularity);
        s.persistence = Some(Persistence { timeout, granularity });
    }
}

/// A lowercase serde enum from the first argument (`wlc`, `TCP`, ...).
fn parse_enum<T: serde::de::DeserializeOwned>(it: &Item, notes: &mut Notes) -> Option<T> {
    let word = it.arg().unwrap_or_default().to_ascii_lowercase();
    let v = serde_json::from_value(serde_json::Value::String(word.clone())).ok();
    if v.is_none() {
        notes.note(&it.at, format!("`{} {word}` is not supported; not imported", it.keyword));
    }
    v
}

fn forwarding(it: &Item, notes: &mut Notes) -> Option<Forwarding> {
    if it.args.len() > 1 {
        notes.note(&it.at, format!("`{}` options {:?} are not supported (IP-in-IP only)", it.keyword, &it.args[1..]));
    }
    match it.arg().map(str::to_ascii_uppercase).as_deref() {
        Some("DR") => Some(Forwarding::Dr),
        Some("NAT") => Some(Forwarding::Nat),
        Some("TUN") => Some(Forwarding::Tun),
        _ => {
            notes.note(&it.at, format!("`{}` must be DR, NAT or TUN; not imported", it.keyword));
            None
        }
    }
}

fn sorry(it: &Item, notes: &mut Notes) -> Option<SorryServer> {
    let address = it.arg()?.to_string();
    let port = it.args.get(1).and_then(|p| p.parse().ok());
    if address.parse::<IpAddr>().is_err() {
        notes.note(&it.at, format!("sorry_server `{address}` is not an address; not imported"));
        return None;
    }
    Some(SorryServer { address, port, forwarding: None })
}

/// A `real_server IP [PORT]` block, added to `vs` under its address (or `address:port`
/// when the service has the address twice), with `address:` since it is no node.
fn real_server(vs: &mut Vs, it: &Item, cascade: &Cascade, notes: &mut Notes) {
    let Some(ip) = it.arg().and_then(|a| a.parse::<IpAddr>().ok()) else {
        notes.note(&it.at, "`real_server` needs an address; not imported".into());
        return;
    };
    let port: Option<u32> = it.args.get(1).and_then(|p| p.parse().ok());
    let mut b = Backend {
        address: Some(ip.to_string()),
        port: port.filter(|p| Some(*p) != vs.service.port && *p != 0),
        weight: None,
        forwarding: None,
        health_check: None,
        health_checks: None,
        inhibit_on_failure: None,
    };
    let mut own = cascade.clone();
    let mut checks = Vec::new();
    for s in it.children() {
        if let Some(found) = check::checker(s, &own, notes) {
            checks.extend(found);
        } else if !own.read(s, notes) {
            let at = (ip, port.or(vs.service.port));
            backend_setting(&mut vs.service, &mut b, s, at, notes);
        }
    }
    dr_port(vs, &mut b, it, notes);
    group_port(vs, &mut b, &mut checks, it, notes);
    generalize_checks(&mut checks, ip, port.or(vs.service.port));
    b.health_checks = (!checks.is_empty()).then_some(checks);
    let name = backend_name(vs, ip, port, &mut b);
    vs.backend_at.insert(name.clone(), it.at.clone());
    vs.service.backends.insert(name, b);
}

fn backend_setting(s: &mut Service, b: &mut Backend, it: &Item, at: (IpAddr, Option<u32>), notes: &mut Notes) {
    match it.keyword.as_str() {
        "weight" => b.weight = value::number::<u32>(it, notes).filter(|w| *w != 1),
        "inhibit_on_failure" => b.inhibit_on_failure = Some(value::flag(it)),
        "lvs_method" | "lb_kind" => b.forwarding = forwarding(it, notes).filter(|f| Some(*f) != s.forwarding),
        "notify_up" => per_service(&mut s.notify_up, it, at, notes),
        "notify_down" => per_service(&mut s.notify_down, it, at, notes),
        "alpha" => {}
        "smtp_alert" => notes.unsupported(it, "alerts are chosen per service (its `alert`), not per backend"),
        _ => notes.unsupported(it, "not a real-server setting the manifest has"),
    }
}

/// `notify_up` / `notify_down` are per service in the manifest: written with
/// [`generalize`], one command serves every backend.
fn per_service(slot: &mut Option<Vec<String>>, it: &Item, (ip, port): (IpAddr, Option<u32>), notes: &mut Notes) {
    let cmd = generalize(value::command(it, notes), ip, port);
    match slot {
        Some(have) if *have != cmd => notes.note(
            &it.at,
            format!("`{}` differs between real servers; the manifest has one per service (`{{backend}}` is substituted): kept `{}`", it.keyword, have.join(" ")),
        ),
        _ => *slot = Some(cmd),
    }
}

/// The real server's address (and `address:port`, and its port) written in a command
/// become `{address}` (`{address}:{port}`, `{port}`), which lbconverge substitutes per
/// backend: the same command for this backend, one command for all of them.
fn generalize(words: Vec<String>, ip: IpAddr, port: Option<u32>) -> Vec<String> {
    let addr = ip.to_string();
    let port = port.map(|p| p.to_string());
    let general = |w: String| match &port {
        Some(p) if w == format!("{addr}:{p}") || w == format!("[{addr}]:{p}") => "{address}:{port}".to_string(),
        Some(p) if w == *p => "{port}".to_string(),
        _ if w == addr => "{address}".to_string(),
        _ => w,
    };
    words.into_iter().map(general).collect()
}

/// Script checks get [`generalize`]d commands (`{port}` only where the check probes the
/// backend's own port).
fn generalize_checks(checks: &mut [crate::manifest::types::HealthCheck], ip: IpAddr, port: Option<u32>) {
    for c in checks.iter_mut() {
        let port = port.filter(|_| c.port.is_none());
        c.command = c.command.take().map(|words| generalize(words, ip, port));
    }
}

/// DR cannot change the port: the kernel forwards to the VIP's port whatever the entry says.
fn dr_port(vs: &Vs, b: &mut Backend, it: &Item, notes: &mut Notes) {
    let dr = b.forwarding.or(vs.service.forwarding) == Some(Forwarding::Dr);
    if let (true, Some(p), Some(vport)) = (dr, b.port, vs.service.port) {
        notes.note(
            &it.at,
            format!(
                "a DR real server cannot take port {p}: packets keep the VIP's port {vport}; imported with port {vport}"
            ),
        );
        b.port = None;
    }
}

/// In a group, keepalived gives a DR or TUN real server each virtual port whatever its own
/// (and warns when they differ); its checkers still probe its own port. A port that is not
/// every virtual port of the group goes to the checks, and the backend's destinations
/// follow the virtual ports.
fn group_port(vs: &Vs, b: &mut Backend, checks: &mut [HealthCheck], it: &Item, notes: &mut Notes) {
    let Some(entries) = &vs.service.group else { return };
    let tunnelled = matches!(b.forwarding.or(vs.service.forwarding), Some(Forwarding::Dr | Forwarding::Tun));
    let Some(p) = b.port.filter(|_| tunnelled) else { return };
    let ports: Vec<u32> = entries
        .iter()
        .filter_map(|e| match e.port {
            Some(PortSpec::Port(n)) => Some(n),
            _ => None,
        })
        .collect();
    if ports.iter().all(|v| *v == p) {
        return;
    }
    notes.note(&it.at, format!("a DR or TUN real server of a group takes each virtual port, not its own {p} (keepalived warns the same); imported without `port`, its checks on port {p}"));
    b.port = None;
    for c in checks.iter_mut().filter(|c| c.port.is_none()) {
        c.port = Some(p);
    }
}

/// The backend's name: its address, or `address:port` when the service has the address twice.
pub(super) fn backend_name(vs: &Vs, ip: IpAddr, port: Option<u32>, b: &mut Backend) -> String {
    let plain = ip.to_string();
    b.address = Some(plain.clone());
    if !vs.service.backends.contains_key(&plain) {
        return plain;
    }
    match (Family::of(&ip), port.unwrap_or(0)) {
        (Family::Ipv6, p) => format!("[{plain}]:{p}"),
        (Family::Ipv4, p) => format!("{plain}:{p}"),
    }
}
