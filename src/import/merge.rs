//! The directors' files merged into one manifest: one service per virtual server, one VRRP
//! instance per router (id and family) with a member per director. The first file given wins where the
//! files differ, and every difference is reported: that drift is why operators migrate.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Serialize;
use serde_json::Value;

use super::conf::Loc;
use super::director::Director;
use super::service::Vs;
use super::value::Notes;
use super::vrrp::Instance;
use super::{Comments, Options, Secret};
use crate::manifest::types::{
    AuthType, Authentication, Backend, HealthCheck, Manifest, Node, RemovalNotify, Role, Service, SyncGroup,
    TrackWeight, VrrpInstance, VrrpMember,
};

/// Merges the directors (and the services of `ipvsadm -S`, each with the director it came
/// from) into one manifest, with a comment naming the source of each item.
pub fn merge(
    directors: &[Director],
    extra: &[(String, Vs)],
    opts: &Options,
    notes: &mut Notes,
) -> (Manifest, Comments) {
    let mut m = Manifest::empty();
    let mut c = Comments::new();
    nodes(&mut m, &mut c, directors, opts, notes);
    scripts(&mut m, &mut c, directors, notes);
    track_files(&mut m, &mut c, directors, notes);
    track_processes(&mut m, &mut c, directors, notes);
    vrrp(&mut m, &mut c, directors, opts, notes);
    sync_groups(&mut m, &mut c, directors, notes);
    services(&mut m, &mut c, directors, extra, opts, notes);
    alerts(&mut m, &mut c, directors, notes);
    notify_fifos(&mut m, &mut c, directors, notes);
    (m, c)
}

fn path(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
}

/// The comment naming where an item was written: `from lvs01.conf:12, lvs02.conf:14`.
fn sources<'a>(places: impl IntoIterator<Item = &'a Loc>) -> String {
    let places: Vec<String> = places.into_iter().map(Loc::to_string).collect();
    format!("from {}", places.join(", "))
}

/// An address without its prefix length (`10.9.0.2/24` -> `10.9.0.2`).
fn bare(address: &str) -> &str {
    address.split('/').next().unwrap_or(address)
}

/// A node of one role.
fn node(role: Role, addresses: Vec<String>, interface: String) -> Node {
    Node {
        roles: vec![role],
        addresses,
        interface,
        vip_label: None,
        sysctls: BTreeMap::new(),
        ipvs_timeouts: None,
        network_namespace: None,
        auto_realtime: None,
        dynamic_interfaces: false,
    }
}

/// Reports each field where `other` differs from `first` (each with its director's name),
/// down to the field inside nested maps and lists (`health_checks[0].interval`).
fn drift<T: Serialize>(notes: &mut Notes, what: &str, first: (&T, &str), other: (&T, &str), at: &Loc) {
    let (a, b) = (serde_json::to_value(first.0).unwrap_or_default(), serde_json::to_value(other.0).unwrap_or_default());
    let mut found = Vec::new();
    differences("", Some(&a), Some(&b), &mut found);
    let show = |v: Option<&Value>| v.map_or("(not set)".to_string(), Value::to_string);
    for (k, x, y) in found {
        let (f, o) = (first.1, other.1);
        let msg = format!(
            "directors differ: {what}: `{k}` is {} on {f} but {} on {o}; the manifest takes {f}'s",
            show(x),
            show(y)
        );
        notes.note(at, msg);
    }
}

type Difference<'a> = (String, Option<&'a Value>, Option<&'a Value>);

fn differences<'a>(at: &str, a: Option<&'a Value>, b: Option<&'a Value>, out: &mut Vec<Difference<'a>>) {
    let join = |k: &str| if at.is_empty() { k.to_string() } else { format!("{at}.{k}") };
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().for_each(|k| differences(&join(k), x.get(k), y.get(k), out));
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) if x.len() == y.len() && x.iter().all(Value::is_object) => {
            (0..x.len()).for_each(|n| differences(&format!("{at}[{n}]"), x.get(n), y.get(n), out));
        }
        (x, y) if x != y => out.push((at.to_string(), x, y)),
        _ => {}
    }
}

// ---- alerts

/// The first director's mail settings; another director's that differ are reported.
fn alerts(m: &mut Manifest, c: &mut Comments, directors: &[Director], notes: &mut Notes) {
    let mut with = directors.iter().filter_map(|d| d.alerts.as_ref().map(|(a, at)| (d, a, at)));
    let Some((first, a, at)) = with.next() else { return };
    for (d, other, at) in with {
        drift(notes, "alerts", (a, &first.name), (other, &d.name), at);
    }
    c.insert(path(&["alerts"]), sources([at]));
    m.alerts = Some(a.clone());
}

/// The first director's notify FIFOs; another director's that differ are reported.
fn notify_fifos(m: &mut Manifest, c: &mut Comments, directors: &[Director], notes: &mut Notes) {
    let mut with = directors.iter().filter_map(|d| d.notify_fifos.as_ref().map(|(f, at)| (d, f, at)));
    let Some((first, f, at)) = with.next() else { return };
    for (d, other, at) in with {
        drift(notes, "notify_fifos", (f, &first.name), (other, &d.name), at);
    }
    c.insert(path(&["notify_fifos"]), sources([at]));
    m.notify_fifos = f.clone();
}

// ---- nodes

fn nodes(m: &mut Manifest, c: &mut Comments, directors: &[Director], opts: &Options, notes: &mut Notes) {
    for (n, d) in directors.iter().enumerate() {
        if m.nodes.contains_key(&d.name) {
            notes
                .note(&d.named_at, format!("two files name director `{}`; give each file its own `router_id`", d.name));
            continue;
        }
        let node = director_node(d, n, opts, notes);
        c.insert(path(&["nodes", &d.name]), format!("director: {}", d.file));
        m.nodes.insert(d.name.clone(), node);
    }
    for rs in &opts.real_servers {
        let node = node(Role::RealServer, rs.addresses.clone(), rs.interface.clone());
        c.insert(path(&["nodes", &rs.name]), format!("real server: from {}", rs.file));
        m.nodes.insert(rs.name.clone(), node);
    }
}

fn director_node(d: &Director, n: usize, opts: &Options, notes: &mut Notes) -> Node {
    let told = opts.interfaces.get(&d.name).cloned();
    let interface = told.or_else(|| d.instances.iter().find_map(|i| i.interface.clone())).unwrap_or_else(|| {
        notes.note(
            &d.named_at,
            format!(
                "director `{}`: no VRRP interface in its file; wrote `eth0`: pass --interface {}=NAME",
                d.name, d.name
            ),
        );
        "eth0".into()
    });
    let mut addresses = opts.addresses.get(&d.name).cloned().unwrap_or_default();
    for v6 in [false, true] {
        let needed = d.instances.iter().any(|i| i.vips.iter().any(|v| v.address().contains(':') == v6));
        let have = addresses.iter().any(|a| a.contains(':') == v6);
        if (needed || (!v6 && addresses.is_empty())) && !have {
            addresses.push(own_address(d, n, v6, notes));
        }
    }
    for (src, i) in d.instances.iter().filter_map(|i| i.unicast_src.as_ref().map(|s| (s, i))) {
        if !addresses.iter().any(|a| bare(a) == src) {
            let (a, whence) = with_prefix(src, i);
            let msg = format!(
                "director `{}`: address {a} taken from vrrp_instance `{}`'s advert source ({whence}): check it, or pass --address {}={a}",
                d.name, i.name, d.name
            );
            notes.note(&i.at, msg);
            addresses.push(a);
        }
    }
    Node {
        ipvs_timeouts: d.timeouts.clone(),
        network_namespace: d.network_namespace.clone(),
        auto_realtime: d.auto_realtime.clone(),
        dynamic_interfaces: d.dynamic_interfaces,
        ..node(Role::Director, addresses, interface)
    }
}

/// The director's address of one family: its `unicast_src_ip` (with the prefix of a VIP
/// written with one), else a documentation-range placeholder; either way, a warning.
fn own_address(d: &Director, n: usize, v6: bool, notes: &mut Notes) -> String {
    let src =
        d.instances.iter().filter_map(|i| i.unicast_src.as_ref().map(|s| (s, i))).find(|(s, _)| s.contains(':') == v6);
    if let Some((src, i)) = src {
        let (a, whence) = with_prefix(src, i);
        notes.note(
            &i.at,
            format!(
                "director `{}`: address {a} taken from `unicast_src_ip` / `mcast_src_ip` ({whence}): check it, or pass --address {}={a}",
                d.name, d.name
            ),
        );
        return a;
    }
    let a = if v6 { format!("2001:db8::{}/64", 10 + n) } else { format!("192.0.2.{}/24", 10 + n) };
    notes.note(&d.named_at, format!("director `{}`: its own address is not in its file; wrote the placeholder {a}: pass --address {}=ADDRESS/PREFIX", d.name, d.name));
    a
}

/// An instance's advert source with a prefix: its own, else its VIPs', else a guess; and
/// which it is.
fn with_prefix(src: &str, i: &Instance) -> (String, &'static str) {
    let from_vips = i.vips.iter().find_map(|v| v.address().split_once('/').map(|(_, p)| p.to_string()));
    let (prefix, whence) = match (&i.unicast_src_prefix, from_vips) {
        (Some(p), _) => (p.clone(), "with its prefix"),
        (None, Some(p)) => (p, "prefix from the VIPs"),
        (None, None) => ((if src.contains(':') { "64" } else { "24" }).to_string(), "prefix a guess"),
    };
    (format!("{src}/{prefix}"), whence)
}

// ---- track scripts

fn scripts(m: &mut Manifest, c: &mut Comments, directors: &[Director], notes: &mut Notes) {
    let mut first: BTreeMap<String, &str> = BTreeMap::new();
    for d in directors {
        for (name, (s, at)) in &d.scripts {
            match m.track_scripts.get(name) {
                None => {
                    m.track_scripts.insert(name.clone(), s.clone());
                    first.insert(name.clone(), &d.name);
                    c.insert(path(&["track_scripts", name]), format!("from {at}"));
                }
                Some(have) => drift(notes, &format!("vrrp_script `{name}`"), (have, first[name]), (s, &d.name), at),
            }
        }
    }
}

/// Every director's `track_file`s, the first director's where they differ (reported).
fn track_files(m: &mut Manifest, c: &mut Comments, directors: &[Director], notes: &mut Notes) {
    let mut first: BTreeMap<String, &str> = BTreeMap::new();
    for d in directors {
        for (name, (f, at)) in &d.files {
            match m.track_files.get(name) {
                None => {
                    m.track_files.insert(name.clone(), f.clone());
                    first.insert(name.clone(), &d.name);
                    c.insert(path(&["track_files", name]), format!("from {at}"));
                }
                Some(have) => drift(notes, &format!("track_file `{name}`"), (have, first[name]), (f, &d.name), at),
            }
        }
    }
}

/// Every director's `vrrp_track_process`es, the first director's where they differ
/// (reported).
fn track_processes(m: &mut Manifest, c: &mut Comments, directors: &[Director], notes: &mut Notes) {
    let mut first: BTreeMap<String, &str> = BTreeMap::new();
    for d in directors {
        for (name, (p, at)) in &d.processes {
            match m.track_processes.get(name) {
                None => {
                    m.track_processes.insert(name.clone(), p.clone());
                    first.insert(name.clone(), &d.name);
                    c.insert(path(&["track_processes", name]), format!("from {at}"));
                }
                Some(have) => {
                    drift(notes, &format!("vrrp_track_process `{name}`"), (have, first[name]), (p, &d.name), at);
                }
            }
        }
    }
}

// ---- VRRP

/// One VRRP router across the directors: its id, its family, and which of a director's
/// instances with that id and family it is (keepalived runs one id per family on each
/// interface, so a file may hold two: the first of each director's go together).
type RouterKey = (u32, bool, usize);

/// The directors' instances grouped by router, each director's in its file's order.
fn routers(directors: &[Director]) -> BTreeMap<RouterKey, Vec<(&Director, &Instance)>> {
    let mut out: BTreeMap<RouterKey, Vec<(&Director, &Instance)>> = BTreeMap::new();
    for d in directors {
        let mut seen: BTreeMap<(u32, bool), usize> = BTreeMap::new();
        for i in &d.instances {
            let n = seen.entry((i.vrid.unwrap_or(0), i.ipv6())).or_default();
            out.entry((i.vrid.unwrap_or(0), i.ipv6(), *n)).or_default().push((d, i));
            *n += 1;
        }
    }
    out
}

fn vrrp(m: &mut Manifest, c: &mut Comments, directors: &[Director], opts: &Options, notes: &mut Notes) {
    for group in routers(directors).values() {
        let Some((_, first)) = group.first() else { continue };
        let name = first.name.clone();
        let inst = instance(m, group, opts, notes);
        c.insert(path(&["vrrp", &name]), sources(group.iter().map(|(_, i)| &i.at)));
        m.vrrp.insert(name, inst);
    }
}

/// The sync groups: one per name, from the first director that has it, with each member
/// named as the manifest names its instance (the first director's name for its router);
/// another director's differing group is reported.
fn sync_groups(m: &mut Manifest, c: &mut Comments, directors: &[Director], notes: &mut Notes) {
    let mut merged_name: BTreeMap<(&str, &str), String> = BTreeMap::new();
    for group in routers(directors).values() {
        let Some((_, first)) = group.first() else { continue };
        for (d, i) in group {
            merged_name.insert((&d.name, &i.name), first.name.clone());
        }
    }
    let mut first: BTreeMap<String, &str> = BTreeMap::new();
    for d in directors {
        for g in &d.groups {
            let group = sync_group(d, g, &merged_name, notes);
            match m.sync_groups.get(&g.name) {
                None => {
                    m.sync_groups.insert(g.name.clone(), group);
                    first.insert(g.name.clone(), &d.name);
                    c.insert(path(&["sync_groups", &g.name]), format!("from {}", g.at));
                }
                Some(have) => {
                    let what = format!("vrrp_sync_group `{}`", g.name);
                    drift(notes, &what, (have, first[&g.name]), (&group, &d.name), &g.at);
                }
            }
        }
    }
}

fn sync_group(
    d: &Director,
    g: &super::vrrp::SyncGroupConf,
    merged_name: &BTreeMap<(&str, &str), String>,
    notes: &mut Notes,
) -> SyncGroup {
    let mut instances = Vec::new();
    for name in &g.instances {
        match d.instances.iter().find(|i| i.name == *name) {
            Some(i) => instances.extend(merged_name.get(&(d.name.as_str(), i.name.as_str())).cloned()),
            None => notes.note(
                &g.at,
                format!("vrrp_sync_group `{}` names vrrp_instance `{name}`, which {} lacks; keepalived ignores it, and so does the import", g.name, d.file),
            ),
        }
    }
    let [notify_master, notify_backup, notify_fault, notify_stop, notify] = g.notify.clone();
    SyncGroup {
        instances,
        track_scripts: g.track_scripts.clone(),
        track_interfaces: g.track_interfaces.clone(),
        track_files: g.track_files.clone(),
        track_processes: g.track_processes.clone(),
        tracking_weight: g.tracking_weight.then_some(true),
        notify_master,
        notify_backup,
        notify_fault,
        notify_stop,
        notify,
        notify_timeout: None,
    }
}

/// One director's view of an instance, without its member-specific parts.
fn shared(i: &Instance, opts: &Options) -> VrrpInstance {
    VrrpInstance {
        vrid: i.vrid.unwrap_or(0),
        version: Some(i.version),
        interface: None,
        vip_interface: i.vip_interface.clone(),
        advert_interval: i.advert.clone(),
        members: BTreeMap::new(),
        preempt: (!i.preempt).then_some(false),
        preempt_delay: i.preempt_delay.clone(),
        authentication: i.password.as_ref().map(|_| authentication(&i.name, i.ah, opts)),
        unicast_peers: None,
        vips: i.vips.clone(),
        excluded_vips: i.excluded.clone(),
        routes: i.routes.clone(),
        rules: i.rules.iter().map(|r| r.entry.clone()).collect(),
        track_scripts: i.track_scripts.clone(),
        track_interfaces: i.track_interfaces.clone(),
        track_files: i.track_files.clone(),
        track_processes: i.track_processes.clone(),
        track_own_interface: i.dont_track_primary.then_some(false),
        vmac: i.vmac.clone(),
        garp_repeat: i.garp.repeat,
        garp_delay: i.garp.delay.clone(),
        garp_refresh: i.garp.refresh.clone(),
        garp_refresh_repeat: i.garp.refresh_repeat,
        garp_lower_priority_repeat: i.garp.lower_repeat,
        garp_lower_priority_delay: i.garp.lower_delay.clone(),
        garp_interval: i.garp.interval.clone(),
        gna_interval: i.garp.na_interval.clone(),
        strict: i.strict.then_some(true),
        accept: i.accept,
        startup_delay: i.startup_delay.clone(),
        startup_delay_after_boot: i.startup_delay_after_boot.clone(),
        notify_master: i.notify_master.clone(),
        notify_backup: i.notify_backup.clone(),
        notify_fault: i.notify_fault.clone(),
        notify_stop: i.notify_stop.clone(),
        notify: i.notify.clone(),
        notify_master_rx_lower_pri: i.notify_master_rx_lower_pri.clone(),
        notify_timeout: None,
        notify_priority_changes: i.notify_priority_changes,
        removal_notify: i.notify_deleted.is_some().then_some(RemovalNotify::Deleted),
        notify_deleted: i.notify_deleted.clone().flatten(),
        connection_sync: i.connection_sync.clone(),
        alert: i.alert,
    }
}

/// The notify commands of a manifest instance, in one order.
fn notify_slots(v: &mut VrrpInstance) -> [&mut Option<Vec<String>>; 6] {
    [
        &mut v.notify_master,
        &mut v.notify_backup,
        &mut v.notify_fault,
        &mut v.notify_stop,
        &mut v.notify,
        &mut v.notify_master_rx_lower_pri,
    ]
}

/// The notify commands of a manifest member, in the same order.
fn member_notify_slots(m: &mut VrrpMember) -> [&mut Option<Vec<String>>; 6] {
    [
        &mut m.notify_master,
        &mut m.notify_backup,
        &mut m.notify_fault,
        &mut m.notify_stop,
        &mut m.notify,
        &mut m.notify_master_rx_lower_pri,
    ]
}

/// The notify commands of one director's instance, in the order of [`notify_slots`].
fn notify_commands(i: &Instance) -> [&Option<Vec<String>>; 6] {
    [&i.notify_master, &i.notify_backup, &i.notify_fault, &i.notify_stop, &i.notify, &i.notify_master_rx_lower_pri]
}

/// A notify command every director writes alike stays on the instance; one they write
/// differently (or only some of them write) goes to each member that has it, exactly as
/// each director ran it.
fn notify_per_member(out: &mut VrrpInstance, group: &[(&Director, &Instance)]) {
    let Some((_, first)) = group.first() else { return };
    for n in 0..6 {
        if group.iter().all(|(_, i)| notify_commands(i)[n] == notify_commands(first)[n]) {
            continue;
        }
        *notify_slots(out)[n] = None;
        for (d, i) in group {
            if let Some(m) = out.members.get_mut(&d.name) {
                *member_notify_slots(m)[n] = notify_commands(i)[n].clone();
            }
        }
    }
}

fn authentication(instance: &str, ah: bool, opts: &Options) -> Authentication {
    let (password_file, password_env) = match opts.passwords.get(instance) {
        Some(Secret::File(p)) => (Some(p.clone()), None),
        Some(Secret::Env(e)) => (None, Some(e.clone())),
        None => (None, Some(super::default_password_env(instance))),
    };
    let kind = if ah { AuthType::Ah } else { AuthType::Pass };
    Authentication { kind, password_file, password_env }
}

fn instance(m: &Manifest, group: &[(&Director, &Instance)], opts: &Options, notes: &mut Notes) -> VrrpInstance {
    let (d0, i0) = group[0];
    let mut out = shared(i0, opts);
    let mut peers = BTreeSet::new();
    for (d, i) in group {
        if i.name != i0.name {
            notes.note(
                &i.at,
                format!(
                    "directors differ: VRRP router {} is `{}` on {} but `{}` on {}; named `{}`",
                    i0.vrid.unwrap_or(0),
                    i0.name,
                    d0.name,
                    i.name,
                    d.name,
                    i0.name
                ),
            );
        }
        if i.ah != i0.ah && i.password.is_some() && i0.password.is_some() {
            notes.note(&i.at, format!("directors differ: vrrp_instance `{}`: `auth_type` differs between {} and {}; they cannot talk to each other today", i0.name, d0.name, d.name));
        }
        if i.password != i0.password {
            notes.note(&i.at, format!("directors differ: vrrp_instance `{}`: `auth_pass` differs between {} and {}; they cannot talk to each other today", i0.name, d0.name, d.name));
        }
        let view = shared(i, opts);
        let (mut a, mut b) = (out.clone(), view.clone());
        (a.track_scripts, b.track_scripts, a.track_interfaces, b.track_interfaces) = Default::default();
        (a.members, b.members) = Default::default();
        for slot in notify_slots(&mut a).into_iter().chain(notify_slots(&mut b)) {
            *slot = None;
        }
        drift(notes, &format!("vrrp_instance `{}`", i0.name), (&a, &d0.name), (&b, &d.name), &i.at);
        out.members.insert(d.name.clone(), member(m, d, i, &out, notes));
        // The advert source alone (`mcast_src_ip`, or `unicast_src_ip` without peers) is
        // multicast, as keepalived runs it.
        if !i.unicast_peers.is_empty() {
            peers.extend(i.unicast_src.iter().chain(&i.unicast_peers).cloned());
        }
    }
    if !peers.is_empty() {
        out.unicast_peers = Some(unicast(m, group, &peers));
    }
    notify_per_member(&mut out, group);
    out.removal_notify = removal_notify(&out, group);
    out
}

/// What a reload's removal of the instance reports, as keepalived does: `deleted` with
/// `notify_deleted`, else FAULT to `notify` and the FIFOs (keepalived's default), written
/// only when something would tell it from lbconverge's STOP: a `notify_stop` or `notify`
/// command, or a notify FIFO taking VRRP lines.
fn removal_notify(out: &VrrpInstance, group: &[(&Director, &Instance)]) -> Option<RemovalNotify> {
    let told = |c: [&Option<Vec<String>>; 2]| c.iter().any(|c| c.is_some());
    let commands =
        told([&out.notify_stop, &out.notify]) || out.members.values().any(|m| told([&m.notify_stop, &m.notify]));
    let fifo =
        group.iter().any(|(d, _)| d.notify_fifos.as_ref().is_some_and(|(f, _)| f.iter().any(super::fifo::takes_vrrp)));
    out.removal_notify.or((commands || fifo).then_some(RemovalNotify::Fault))
}

fn member(m: &Manifest, d: &Director, i: &Instance, out: &VrrpInstance, notes: &mut Notes) -> VrrpMember {
    let node_if = m.nodes.get(&d.name).map(|n| n.interface.clone());
    let interface = i.interface.clone().filter(|f| Some(f) != node_if.as_ref());
    type Weights = BTreeMap<String, TrackWeight>;
    let own = |mine: &Weights, theirs: &Weights, what: &str, notes: &mut Notes| -> Weights {
        for missing in theirs.keys().filter(|k| !mine.contains_key(*k)) {
            notes.note(&i.at, format!("directors differ: vrrp_instance `{}`: {} does not track {what} `{missing}`; the manifest tracks it on every member", i.name, d.name));
        }
        let differs = |(k, w): &(&String, &TrackWeight)| theirs.get(*k) != Some(*w);
        mine.iter().filter(differs).map(|(k, w)| (k.clone(), w.clone())).collect()
    };
    VrrpMember {
        priority: i.priority,
        interface,
        source: source(m, d, i),
        track_scripts: own(&i.track_scripts, &out.track_scripts, "script", notes),
        track_interfaces: own(&i.track_interfaces, &out.track_interfaces, "interface", notes),
        notify_master: None,
        notify_backup: None,
        notify_fault: None,
        notify_stop: None,
        notify: None,
        notify_master_rx_lower_pri: None,
    }
}

/// The member's advert source: its `unicast_src_ip` / `mcast_src_ip` when that is not the
/// node's first address of the family (which is the default).
fn source(m: &Manifest, d: &Director, i: &Instance) -> Option<String> {
    let src = i.unicast_src.as_ref()?;
    let v6 = src.contains(':');
    let first = m.nodes.get(&d.name)?.addresses.iter().map(|a| bare(a)).find(|a| a.contains(':') == v6);
    (first != Some(src.as_str())).then(|| src.clone())
}

/// Unicast peers: every member by name, and the peer addresses that are no member's.
fn unicast(m: &Manifest, group: &[(&Director, &Instance)], peers: &BTreeSet<String>) -> Vec<String> {
    let members: Vec<String> = group.iter().map(|(d, _)| d.name.clone()).collect();
    let member_addr = |p: &String| {
        let ip = p.parse::<IpAddr>().ok();
        members
            .iter()
            .any(|n| m.nodes.get(n).is_some_and(|node| node.addresses.iter().any(|a| bare(a).parse().ok() == ip)))
    };
    let mut out = members.clone();
    out.extend(peers.iter().filter(|p| !member_addr(p)).cloned());
    out
}

// ---- services

struct Merged {
    service: Service,
    from: Vec<(String, Loc)>,
    backend_from: BTreeMap<String, Vec<Loc>>,
}

fn services(
    m: &mut Manifest,
    c: &mut Comments,
    directors: &[Director],
    extra: &[(String, Vs)],
    opts: &Options,
    notes: &mut Notes,
) {
    let mut out: BTreeMap<String, Merged> = BTreeMap::new();
    for d in directors {
        for vs in &d.services {
            add(&mut out, &d.name, vs, notes);
        }
    }
    for (dir, vs) in extra {
        if out.contains_key(&vs.name) {
            notes.note(&vs.at, format!("service `{}` is also in keepalived.conf; keepalived's is imported", vs.name));
        } else {
            add(&mut out, dir, vs, notes);
        }
    }
    let all: BTreeSet<&str> = directors.iter().map(|d| d.name.as_str()).collect();
    for (name, mut g) in out {
        real_server_names(&mut g, &opts.real_servers);
        only_some(&g, &all, &name, notes);
        owners(m, &mut g);
        nat_gateway(m, &name, &mut g, notes);
        if let (Some(mark), true) = (g.service.fwmark, g.service.vips.is_empty()) {
            let msg = format!(
                "service `{name}`: keepalived does not say which VIPs firewall mark {mark} matches; add them under `vips:` so that real servers hold them and VRRP decides which director carries the service"
            );
            notes.note(&g.from[0].1, msg);
        }
        let marks_in_group = g.service.group.iter().flatten().any(|e| e.fwmark.is_some());
        if marks_in_group && g.service.vips.is_empty() {
            let msg = format!(
                "service `{name}`: keepalived does not say which VIPs the firewall marks of its group match; add them under `vips:` so that real servers hold them"
            );
            notes.note(&g.from[0].1, msg);
        }
        lift_checks(&mut g.service);
        c.insert(path(&["services", &name]), sources(g.from.iter().map(|(_, at)| at)));
        for (b, at) in &g.backend_from {
            c.insert(path(&["services", &name, "backends", b]), sources(at));
        }
        m.services.insert(name, g.service);
    }
}

fn add(out: &mut BTreeMap<String, Merged>, dir: &str, vs: &Vs, notes: &mut Notes) {
    let Some(g) = out.get_mut(&vs.name) else {
        let backend_from = vs.backend_at.iter().map(|(b, at)| (b.clone(), vec![at.clone()])).collect();
        out.insert(
            vs.name.clone(),
            Merged { service: vs.service.clone(), from: vec![(dir.to_string(), vs.at.clone())], backend_from },
        );
        return;
    };
    let first = g.from[0].0.clone();
    let what = format!("service `{}`", vs.name);
    let (mut a, mut b) = (g.service.clone(), vs.service.clone());
    (a.backends, b.backends) = Default::default();
    drift(notes, &what, (&a, &first), (&b, dir), &vs.at);
    for (name, be) in &vs.service.backends {
        let at = vs.backend_at.get(name).cloned().unwrap_or_else(|| vs.at.clone());
        backend(g, name, be, (&first, dir), &at, &what, notes);
    }
    for name in g.service.backends.keys().filter(|b| !vs.service.backends.contains_key(*b)) {
        notes.note(
            &vs.at,
            format!("directors differ: {what}: backend `{name}` is on {first} but not on {dir}; the manifest has it"),
        );
    }
    g.from.push((dir.to_string(), vs.at.clone()));
}

fn backend(g: &mut Merged, name: &str, be: &Backend, who: (&str, &str), at: &Loc, what: &str, notes: &mut Notes) {
    match g.service.backends.get(name) {
        Some(have) => drift(notes, &format!("{what} backend `{name}`"), (have, who.0), (be, who.1), at),
        None => {
            notes.note(
                at,
                format!(
                    "directors differ: {what}: backend `{name}` is on {} but not on {}; the manifest has it",
                    who.1, who.0
                ),
            );
            g.service.backends.insert(name.to_string(), be.clone());
        }
    }
    g.backend_from.entry(name.to_string()).or_default().push(at.clone());
}

/// Backends at a real server's address take the name of its node (from its snapshot).
fn real_server_names(g: &mut Merged, real_servers: &[super::RealServer]) {
    let names: Vec<(String, String)> = g
        .service
        .backends
        .iter()
        .filter_map(|(k, b)| {
            let addr = b.address.clone().unwrap_or_else(|| k.clone());
            let rs = real_servers.iter().find(|r| r.addresses.iter().any(|a| bare(a) == addr))?;
            (!g.service.backends.contains_key(&rs.name)).then(|| (k.clone(), rs.name.clone()))
        })
        .collect();
    for (old, new) in names {
        if let Some(mut b) = g.service.backends.remove(&old) {
            b.address = None;
            g.service.backends.insert(new.clone(), b);
        }
        if let Some(at) = g.backend_from.remove(&old) {
            g.backend_from.insert(new, at);
        }
    }
}

fn only_some(g: &Merged, all: &BTreeSet<&str>, name: &str, notes: &mut Notes) {
    let have: BTreeSet<&str> = g.from.iter().map(|(d, _)| d.as_str()).collect();
    if all.len() > 1 && have.len() < all.len() {
        let missing: Vec<&str> = all.difference(&have).copied().collect();
        notes.note(
            &g.from[0].1,
            format!("directors differ: service `{name}` is not in the files of {}", missing.join(", ")),
        );
    }
}

/// A service whose VIP no VRRP instance holds is carried by the directors that define it.
fn owners(m: &Manifest, g: &mut Merged) {
    let held =
        |vip: &str| m.vrrp.values().any(|i| i.vips.iter().chain(&i.excluded_vips).any(|v| bare(v.address()) == vip));
    if g.service.vip.as_deref().is_some_and(held) {
        return;
    }
    // A group's entries start with an address (`10.0.0.1-10`, `10.0.0.8/29`).
    let first = |v: &String| v.split(['-', '/']).next().map(str::to_string);
    let entries = g.service.group.iter().flatten();
    if entries.filter_map(|e| e.vip.as_ref().and_then(first)).any(|v| held(&v)) {
        return;
    }
    let dirs: BTreeSet<String> = g.from.iter().map(|(d, _)| d.clone()).collect();
    g.service.directors = Some(dirs.into_iter().collect());
}

/// A NAT service's real servers route their replies through a VRRP VIP of their own subnet
/// (the classic LVS-NAT gateway VIP): when exactly one VIP's network holds them all, it is
/// the service's `nat_gateway`.
fn nat_gateway(m: &Manifest, name: &str, g: &mut Merged, notes: &mut Notes) {
    if g.service.forwarding != Some(crate::manifest::types::Forwarding::Nat) || g.service.backends.is_empty() {
        return;
    }
    let addrs: Vec<IpAddr> = g.service.backends.values().filter_map(|b| b.address.as_deref()?.parse().ok()).collect();
    let nets = m
        .vrrp
        .values()
        .flat_map(|i| i.vips.iter().chain(&i.excluded_vips))
        .filter_map(|v| v.address().parse::<ipnet::IpNet>().ok());
    let fits: BTreeSet<IpAddr> = nets
        .filter(|n| addrs.len() == g.service.backends.len() && addrs.iter().all(|a| n.contains(a)))
        .map(|n| n.addr())
        .collect();
    if let (1, Some(gw)) = (fits.len(), fits.first()) {
        g.service.nat_gateway = Some(gw.to_string());
        notes.note(&g.from[0].1, format!("NAT service `{name}`: VRRP VIP {gw} is on its real servers' subnet; written as its `nat_gateway` (the real servers' default route)"));
    }
}

/// Checks every backend shares go up to the service; the others stay on their backend.
fn lift_checks(s: &mut Service) {
    let lists: Vec<Option<Vec<HealthCheck>>> = s.backends.values().map(|b| b.health_checks.clone()).collect();
    let shared = lists.first().cloned().flatten().filter(|first| lists.iter().all(|l| l.as_ref() == Some(first)));
    if let Some(list) = shared {
        (s.health_check, s.health_checks) = one_or_many(list);
        s.backends.values_mut().for_each(|b| b.health_checks = None);
        return;
    }
    for b in s.backends.values_mut() {
        if let Some(list) = b.health_checks.take() {
            (b.health_check, b.health_checks) = one_or_many(list);
        }
    }
}

fn one_or_many(mut list: Vec<HealthCheck>) -> (Option<Box<HealthCheck>>, Option<Vec<HealthCheck>>) {
    match list.len() {
        1 => (list.pop().map(Box::new), None),
        _ => (None, Some(list)),
    }
}
