//! Views: the text and JSON forms of a plan. The text is a contract (golden tests compare it
//! whole): terraform-style `+` / `~` / `-` lines in execution order, notes about what is left
//! alone, and a summary line. Colour only marks the symbols, and only when asked.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::model::NodeState;
use crate::model::ipvs::{Dest, Family, Forwarding, Persistence, Protocol, Service, ServiceKey, flag_names};
use crate::model::net::{Address, destination_text};
use crate::plan::{Action, Change, Note, Plan};

/// Renders a plan as text; `source` says where the live state came from.
pub fn plan_text(plan: &Plan, source: &str, color: bool) -> String {
    let mut out = String::new();
    let roles = plan.roles.join(", ");
    let _ = writeln!(out, "Node {} ({roles}), live state from {source}", plan.node);
    if !plan.changes.is_empty() {
        out.push_str("\nChanges, in the order apply makes them:\n\n");
        for c in &plan.changes {
            let _ = writeln!(out, "  {} {}", symbol(c.action(), color), change_text(c));
        }
    }
    if !plan.notes.is_empty() {
        out.push_str("\nLeft alone:\n\n");
        for n in &plan.notes {
            let eq = paint("=", "2", color);
            let _ = writeln!(out, "  {eq} {}", note_text(n));
        }
    }
    if plan.changes.is_empty() {
        out.push_str("\nNo changes: the kernel already matches the manifest.\n");
    } else {
        let s = plan.summary;
        let _ = writeln!(out, "\nPlan: {} to add, {} to change, {} to destroy.", s.add, s.change, s.destroy);
    }
    out
}

/// The last line of a text plan: the counts, or that nothing changes.
pub fn summary_line(plan: &Plan) -> String {
    let s = plan.summary;
    if plan.changes.is_empty() {
        format!("Node {}: no changes.", plan.node)
    } else {
        format!("Node {}: {} to add, {} to change, {} to destroy.", plan.node, s.add, s.change, s.destroy)
    }
}

/// Renders a plan as JSON (the saved-plan format).
pub fn plan_json(plan: &Plan) -> String {
    let mut s = serde_json::to_string_pretty(plan).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// The coloured symbol of an action.
pub fn symbol(a: Action, color: bool) -> String {
    let code = match a {
        Action::Create => "32",
        Action::Update => "33",
        Action::Delete => "31",
    };
    paint(&a.symbol().to_string(), code, color)
}

fn paint(s: &str, code: &str, color: bool) -> String {
    if color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
}

/// One line describing a change (without its symbol).
pub fn change_text(c: &Change) -> String {
    match c {
        Change::SetSysctl { key, from, to } => {
            format!("sysctl {key}: {} -> {to}", from.as_deref().unwrap_or("(unread)"))
        }
        Change::LinkUp { interface, exists } => {
            let was = if *exists { "down" } else { "absent" };
            format!("link {interface}: {was} -> up")
        }
        Change::AddAddress { address } | Change::DelAddress { address } => format!("address {address}"),
        Change::ReplaceAddress { from, to } => {
            format!("address {} on {}: label {} -> {}", to.address, to.interface, label(from), label(to))
        }
        Change::SetRoute { route, from: None } => format!("route {route}"),
        Change::SetRoute { route, from: Some(f) } => {
            format!("route {}: via {} -> via {}", destination_text(&route.destination), f.gateway, route.gateway)
        }
        Change::DelRoute { route } => format!("route {route}"),
        Change::AddService { service } => format!("ipvs service {}: {}", service.key, settings(service)),
        Change::EditService { from, to } => format!("ipvs service {}: {}", to.key, service_diff(from, to)),
        Change::DelService { service } => del_service(service),
        Change::AddDest { service, dest } => {
            format!("ipvs destination {} in {service}: {}, weight {}", dest.key(), dest.forwarding.word(), dest.weight)
        }
        Change::EditDest { service, from, to } => {
            format!("ipvs destination {} in {service}: {}", to.key(), dest_diff(from, to))
        }
        Change::DelDest { service, dest } => {
            format!("ipvs destination {} in {service}: {}", dest.key(), drain_text(dest))
        }
    }
}

fn label(a: &Address) -> &str {
    a.label.as_deref().unwrap_or("(none)")
}

fn del_service(s: &Service) -> String {
    let n = s.dests.len();
    let what = match n {
        0 => "delete".to_string(),
        1 => "drain its destination, then delete once idle".to_string(),
        _ => format!("drain its {n} destinations, then delete once idle"),
    };
    format!("ipvs service {}: {what}", s.key)
}

/// "1 connection", "3 connections".
pub fn connections(n: u64) -> String {
    if n == 1 { "1 connection".into() } else { format!("{n} connections") }
}

/// The object a change is about, without the change itself.
pub fn object_text(c: &Change) -> String {
    match c {
        Change::DelDest { service, dest } => format!("ipvs destination {} in {service}", dest.key()),
        Change::DelService { service } => format!("ipvs service {}", service.key),
        other => change_text(other),
    }
}

fn drain_text(d: &Dest) -> String {
    let conns = match d.connections() {
        0 => String::new(),
        n => format!(", {} now", connections(n)),
    };
    if d.weight == 0 {
        format!("delete once idle (weight already 0{conns})")
    } else {
        format!("drain (weight {} -> 0{conns}), then delete once idle", d.weight)
    }
}

fn persistence_text(p: Option<&Persistence>, family: Family) -> String {
    let Some(p) = p else { return "none".into() };
    let mut s = format!("{}s", p.timeout);
    if p.granularity != family.host_prefix() {
        let _ = write!(s, " per {}", granularity_text(p.granularity, family));
    }
    s
}

/// A persistence granularity as ipvsadm shows it: a dotted mask for IPv4, `/N` for IPv6.
pub fn granularity_text(prefix: u8, family: Family) -> String {
    match family {
        Family::Ipv4 => match ipnet::Ipv4Net::new(std::net::Ipv4Addr::UNSPECIFIED, prefix) {
            Ok(n) => IpAddr::V4(n.netmask()).to_string(),
            Err(_) => format!("/{prefix}"),
        },
        Family::Ipv6 => format!("/{prefix}"),
    }
}

fn flags_text(scheduler: &str, flags: u32) -> String {
    let names = flag_names(scheduler, flags);
    if names.is_empty() { "none".into() } else { names.join(" ") }
}

fn settings(s: &Service) -> String {
    let mut parts = vec![format!("scheduler {}", s.scheduler)];
    if s.sched_flags != 0 {
        parts.push(format!("flags {}", flags_text(&s.scheduler, s.sched_flags)));
    }
    if s.persistence.is_some() {
        parts.push(format!("persistence {}", persistence_text(s.persistence.as_ref(), s.key.family())));
    }
    if s.one_packet {
        parts.push("one-packet".into());
    }
    parts.join(", ")
}

fn service_diff(from: &Service, to: &Service) -> String {
    let fam = to.key.family();
    let mut parts = Vec::new();
    if from.scheduler != to.scheduler {
        parts.push(format!("scheduler {} -> {}", from.scheduler, to.scheduler));
    }
    if from.sched_flags != to.sched_flags {
        parts.push(format!(
            "flags {} -> {}",
            flags_text(&from.scheduler, from.sched_flags),
            flags_text(&to.scheduler, to.sched_flags)
        ));
    }
    if from.persistence != to.persistence {
        let (a, b) = (persistence_text(from.persistence.as_ref(), fam), persistence_text(to.persistence.as_ref(), fam));
        parts.push(format!("persistence {a} -> {b}"));
    }
    if from.one_packet != to.one_packet {
        parts.push(format!("one-packet {} -> {}", on_off(from.one_packet), on_off(to.one_packet)));
    }
    parts.join(", ")
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

fn dest_diff(from: &Dest, to: &Dest) -> String {
    let mut parts = Vec::new();
    if from.forwarding != to.forwarding {
        parts.push(format!("forwarding {} -> {}", from.forwarding.word(), to.forwarding.word()));
    }
    if from.weight != to.weight {
        parts.push(format!("weight {} -> {}", from.weight, to.weight));
    }
    if from.upper_threshold != to.upper_threshold {
        parts.push(format!("upper threshold {} -> {}", from.upper_threshold, to.upper_threshold));
    }
    if from.lower_threshold != to.lower_threshold {
        parts.push(format!("lower threshold {} -> {}", from.lower_threshold, to.lower_threshold));
    }
    parts.join(", ")
}

fn note_text(n: &Note) -> String {
    match n {
        Note::Vrrp { address, instance, present } => {
            let now = if *present { "held here now" } else { "not held here now" };
            format!("address {address}: managed by VRRP instance {instance} ({now})")
        }
        Note::Unmanaged { object } => format!("{object}: not owned by lbconverge"),
    }
}

/// A live state as the snapshot YAML `plan --live` reads.
pub fn snapshot_yaml(state: &NodeState) -> String {
    let body = serde_saphyr::to_string(state).unwrap_or_else(|e| format!("# cannot render: {e}\n"));
    format!("# lbconverge live state snapshot (lbconverge show)\n{body}")
}

/// A live state as JSON.
pub fn snapshot_json(state: &NodeState) -> String {
    let mut s = serde_json::to_string_pretty(state).unwrap_or_default();
    s.push('\n');
    s
}

/// IPVS rules as `ipvsadm -S -n` prints them (services sorted, not in hash order).
pub fn ipvsadm_rules(state: &NodeState) -> String {
    let mut out = String::new();
    for s in state.services.values() {
        let svc = ipvsadm_service(&s.key);
        let _ = writeln!(out, "-A {svc}{}", ipvsadm_settings(s));
        for d in s.dests.values() {
            let tun = if d.forwarding == Forwarding::Tun { " --tun-type ipip" } else { "" };
            let _ = writeln!(out, "-a {svc} -r {} {} -w {}{tun}", d.key(), fwd_switch(d.forwarding), d.weight);
        }
    }
    out
}

fn ipvsadm_service(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr { protocol, addr, port } => {
            let p = match protocol {
                Protocol::Tcp => "-t",
                Protocol::Udp => "-u",
                Protocol::Sctp => "--sctp-service",
            };
            format!("{p} {}", crate::model::ipvs::socket_text(addr, *port))
        }
        ServiceKey::Fwmark { family: Family::Ipv4, mark } => format!("-f {mark}"),
        ServiceKey::Fwmark { family: Family::Ipv6, mark } => format!("-f {mark} -6"),
    }
}

/// Service options in ipvsadm 1.31's order: scheduler, persistence, one-packet, flags.
fn ipvsadm_settings(s: &Service) -> String {
    let mut out = format!(" -s {}", s.scheduler);
    if let Some(p) = &s.persistence {
        let _ = write!(out, " -p {}", p.timeout);
        let fam = s.key.family();
        if p.granularity != fam.host_prefix() {
            let mask = match fam {
                Family::Ipv4 => granularity_text(p.granularity, fam),
                Family::Ipv6 => p.granularity.to_string(),
            };
            let _ = write!(out, " -M {mask}");
        }
    }
    if s.one_packet {
        out.push_str(" -o");
    }
    let flags = flag_names(&s.scheduler, s.sched_flags);
    if !flags.is_empty() {
        let _ = write!(out, " -b {}", flags.join(","));
    }
    out
}

fn fwd_switch(f: Forwarding) -> &'static str {
    match f {
        Forwarding::Dr | Forwarding::Local => "-g",
        Forwarding::Nat => "-m",
        Forwarding::Tun => "-i",
    }
}
