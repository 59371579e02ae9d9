//! Views: the text and JSON forms of a plan. The text is a contract (golden tests compare it
//! whole): terraform-style `+` / `~` / `-` lines in execution order, notes about what is left
//! alone, and a summary line. Colour only marks the symbols, and only when asked.

use std::fmt::Write as _;

use crate::family::Family;
use crate::model::NodeState;
use crate::model::ipvs::{Forwarding, Protocol, Service, ServiceKey, flag_names};
use crate::plan::text::granularity_text;
use crate::plan::{Action, Plan};

/// Renders a plan as text; `source` says where the live state came from.
pub fn plan_text(plan: &Plan, source: &str, color: bool) -> String {
    let mut out = String::new();
    let roles = plan.roles.join(", ");
    let _ = writeln!(out, "Node {} ({roles}), live state from {source}", plan.node);
    let _ = writeln!(out, "Manifest {}", plan.revision());
    if !plan.changes.is_empty() {
        out.push_str("\nChanges, in the order apply makes them:\n\n");
        for c in &plan.changes {
            let _ = writeln!(out, "  {} {}", symbol(c.action(), color), c);
            for r in crate::plan::text::firewall_details(c) {
                let _ = writeln!(out, "      {} {r}", symbol(r.action(), color));
            }
        }
    }
    if !plan.notes.is_empty() {
        out.push_str("\nLeft alone:\n\n");
        for n in &plan.notes {
            let eq = paint("=", "2", color);
            let _ = writeln!(out, "  {eq} {}", n);
        }
    }
    if !plan.drained.is_empty() {
        out.push_str("\nDrained with `lbconverge drain` (weight 0 until undrained):\n\n");
        for d in &plan.drained {
            let _ = writeln!(out, "  {} {d}", paint("~", "33", color));
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

/// The firewall-mark table as `nft list table inet lbconverge` prints it; nothing when
/// there is no table.
pub fn nft_table(state: &NodeState) -> String {
    state.firewall.as_ref().map(crate::model::firewall::MarkTable::nft_text).unwrap_or_default()
}

/// The IPVS sync daemons as `ipvsadm -L --daemon` prints them, master first.
pub fn ipvsadm_daemons(state: &NodeState) -> String {
    state.sync_daemons.iter().map(|(s, c)| crate::model::sync::ipvsadm_line(*s, c) + "\n").collect()
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
