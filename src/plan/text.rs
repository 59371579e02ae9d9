//! The words of a plan: one line per change (`Display for Change`), per note, and the
//! summary line. The text is a contract (golden tests compare whole plans); the views add
//! symbols and colour, the daemon's log uses the same lines.

use std::fmt::{self, Write as _};
use std::net::IpAddr;

use serde::Serialize;

use super::{Change, Note, Plan};
use crate::family::Family;
use crate::model::firewall::{DropRule, MarkRule, MarkTable};
use crate::model::ipvs::{Dest, Persistence, Service, flag_names};
use crate::model::net::{Address, destination_text};
use crate::model::sync::{SyncConfig, ipvsadm_line};
use crate::model::timeouts::Timeouts;

impl Plan {
    /// One line: the node and the counts, or that nothing changes.
    pub fn summary_line(&self) -> String {
        let s = self.summary;
        if self.changes.is_empty() {
            format!("Node {}: no changes.", self.node)
        } else {
            format!("Node {}: {} to add, {} to change, {} to destroy.", self.node, s.add, s.change, s.destroy)
        }
    }
}

/// One line describing a change, without its symbol: `ipvs service tcp 192.0.2.1:80:
/// scheduler wlc`.
impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&change_text(self))
    }
}

fn change_text(c: &Change) -> String {
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
        Change::DelDest { service, dest, failed: true } => {
            format!("ipvs destination {} in {service}: delete (its health check failed)", dest.key())
        }
        Change::DelDest { service, dest, failed: false } => {
            format!("ipvs destination {} in {service}: {}", dest.key(), drain_text(dest))
        }
        Change::SetSyncDaemon { state, from, to } => format!("ipvs {state} sync daemon: {}", sync_diff(from, to)),
        Change::StopSyncDaemon { state, config } => format!("ipvs {}", ipvsadm_line(*state, config)),
        Change::Announce { route } | Change::Withdraw { route } => format!("announced route {route}"),
        Change::SetFirewall { from: None, to } => {
            format!(
                "{FIREWALL} (chain {}, {}), in one transaction",
                crate::model::firewall::CHAIN,
                rules(to.rules.len())
            ) + &drop_count(to)
        }
        Change::SetFirewall { from: Some(from), to } => {
            let (mut add, mut change, mut remove) = (0, 0, 0);
            for r in rule_changes(Some(from), to) {
                match r {
                    RuleChange::Add { .. } | RuleChange::AddDrop { .. } => add += 1,
                    RuleChange::Change { .. } | RuleChange::Move { .. } => change += 1,
                    RuleChange::Remove { .. } | RuleChange::RemoveForeign { .. } | RuleChange::RemoveDrop { .. } => {
                        remove += 1
                    }
                }
            }
            format!("{FIREWALL}: {add} to add, {change} to change, {remove} to remove, replaced in one transaction")
        }
        Change::SetIpvsTimeouts { from, to } => timeouts_text(from.as_ref(), to),
        Change::DelFirewall { table } => {
            format!("{FIREWALL} ({})", rules(table.rules.len() + table.foreign.len() + table.drops.len()))
        }
    }
}

/// The IPVS timeouts as plans name them.
pub const TIMEOUTS: &str = "ipvs timeouts";

/// `ipvs timeouts: udp 300s -> 10s (ipvsadm --set 0 0 10)`: each timeout that changes, then
/// the write.
fn timeouts_text(from: Option<&Timeouts>, to: &Timeouts) -> String {
    let mut parts = Vec::new();
    let now = from.map(Timeouts::fields);
    for (i, (name, want)) in to.fields().into_iter().enumerate() {
        match now.map(|n| n[i].1) {
            _ if want == 0 => {}
            Some(had) if had == want => {}
            Some(had) => parts.push(format!("{name} {had}s -> {want}s")),
            None => parts.push(format!("{name} {want}s")),
        }
    }
    format!("{TIMEOUTS}: {} (ipvsadm --set {} {} {})", parts.join(", "), to.tcp, to.tcp_fin, to.udp)
}

/// The firewall-mark table as plans name it.
pub const FIREWALL: &str = "nftables table inet lbconverge";

/// `; VRRP no-accept drops in chains vrrp_in and vrrp_out: N rules`, when there are some.
fn drop_count(t: &MarkTable) -> String {
    if t.drops.is_empty() {
        return String::new();
    }
    use crate::model::firewall::{VRRP_IN, VRRP_OUT};
    format!(" with VRRP no-accept drops (chains {VRRP_IN}, {VRRP_OUT}, {})", rules(t.drops.len()))
}

fn rules(n: usize) -> String {
    if n == 1 { "1 rule".into() } else { format!("{n} rules") }
}

/// What a firewall change does to one rule. Rules are told apart by their comment (the key
/// path of the `match` entry they come from).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum RuleChange {
    /// A new rule at `position` (1-based, in the new table).
    Add {
        /// Its position.
        position: usize,
        /// The rule.
        rule: MarkRule,
    },
    /// A rule whose conditions or mark change.
    Change {
        /// Its position in the new table.
        position: usize,
        /// The live rule.
        from: Box<MarkRule>,
        /// The new rule.
        to: Box<MarkRule>,
    },
    /// A rule that comes before rules it followed.
    Move {
        /// Its position in the new table.
        position: usize,
        /// Its position in the live table.
        was: usize,
        /// The rule.
        rule: MarkRule,
    },
    /// A rule that goes.
    Remove {
        /// The live rule.
        rule: MarkRule,
    },
    /// A VRRP no-accept drop that comes.
    AddDrop {
        /// The drop.
        rule: DropRule,
    },
    /// A VRRP no-accept drop that goes.
    RemoveDrop {
        /// The live drop.
        rule: DropRule,
    },
    /// Something in the table that lbconverge does not write, which goes.
    RemoveForeign {
        /// What nft lists.
        item: String,
    },
}

/// The rule-level differences between the live table `from` and `to`.
pub fn rule_changes(from: Option<&MarkTable>, to: &MarkTable) -> Vec<RuleChange> {
    let live: &[MarkRule] = from.map_or(&[], |t| t.rules.as_slice());
    let mut used = vec![false; live.len()];
    let mut out = Vec::new();
    let mut last = None;
    for (p, want) in to.rules.iter().enumerate() {
        let position = p + 1;
        let found = (0..live.len()).find(|&j| !used[j] && live[j].comment == want.comment);
        let Some(j) = found else {
            out.push(RuleChange::Add { position, rule: want.clone() });
            continue;
        };
        used[j] = true;
        if !live[j].same(want) {
            out.push(RuleChange::Change { position, from: Box::new(live[j].clone()), to: Box::new(want.clone()) });
        } else if last.is_some_and(|l| j < l) {
            out.push(RuleChange::Move { position, was: j + 1, rule: want.clone() });
        }
        last = Some(last.map_or(j, |l: usize| l.max(j)));
    }
    for (_, r) in live.iter().enumerate().filter(|(j, _)| !used[*j]) {
        out.push(RuleChange::Remove { rule: r.clone() });
    }
    let live_drops: Vec<DropRule> = from.map_or(Vec::new(), |t| t.without_hits().drops);
    let want_drops = to.without_hits().drops;
    out.extend(want_drops.iter().filter(|d| !live_drops.contains(d)).map(|d| RuleChange::AddDrop { rule: d.clone() }));
    out.extend(
        live_drops.iter().filter(|d| !want_drops.contains(d)).map(|d| RuleChange::RemoveDrop { rule: d.clone() }),
    );
    for f in from.map_or(&[][..], |t| t.foreign.as_slice()) {
        out.push(RuleChange::RemoveForeign { item: f.clone() });
    }
    out
}

impl RuleChange {
    /// Its symbol, as the plan's.
    pub fn action(&self) -> super::Action {
        match self {
            RuleChange::Add { .. } | RuleChange::AddDrop { .. } => super::Action::Create,
            RuleChange::Change { .. } | RuleChange::Move { .. } => super::Action::Update,
            RuleChange::Remove { .. } | RuleChange::RemoveForeign { .. } | RuleChange::RemoveDrop { .. } => {
                super::Action::Delete
            }
        }
    }
}

impl fmt::Display for RuleChange {
    /// `rule 2: ip daddr 192.168.10.101 tcp dport 443 -> mark 300 (services.x.match[0])`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleChange::Add { position, rule } => write!(f, "rule {position}: {rule}"),
            RuleChange::Change { position, from, to } => {
                write!(f, "rule {position} ({}): {}", to.comment, rule_diff(from, to))
            }
            RuleChange::Move { position, was, rule } => {
                write!(f, "rule {position} ({}): moved from {was}", rule.comment)
            }
            RuleChange::Remove { rule } => write!(f, "{rule}"),
            RuleChange::AddDrop { rule } | RuleChange::RemoveDrop { rule } => {
                write!(f, "chain {}: {}", rule.chain(), rule.without_hits().nft_text())
            }
            RuleChange::RemoveForeign { item } => write!(f, "not written by lbconverge: {item}"),
        }
    }
}

/// The detail lines of a firewall change: one per rule it adds, changes or removes.
pub fn firewall_details(c: &Change) -> Vec<RuleChange> {
    match c {
        Change::SetFirewall { from, to } => rule_changes(from.as_ref(), to),
        Change::DelFirewall { table } => rule_changes(Some(table), &MarkTable::default()),
        _ => Vec::new(),
    }
}

/// What changes between two rules with the same comment, field by field.
fn rule_diff(from: &MarkRule, to: &MarkRule) -> String {
    let fields = |r: &MarkRule| -> Vec<(&'static str, String)> {
        let opt = |v: Option<String>| v.unwrap_or_else(|| "any".into());
        let proto = |p: Option<crate::model::ipvs::Protocol>| p.map(|p| p.name().to_string());
        let no = |v: Option<String>| v.unwrap_or_else(|| "none".into());
        let addrs = |a: &Option<crate::model::firewall::AddrSet>| {
            a.as_ref().map(|s| s.items().iter().map(ToString::to_string).collect::<Vec<_>>().join(","))
        };
        let ports = |p: &Option<crate::model::firewall::PortSet>| {
            p.as_ref().map(|s| {
                s.ranges()
                    .iter()
                    .map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") })
                    .collect::<Vec<_>>()
                    .join(",")
            })
        };
        vec![
            ("family", r.family.to_string()),
            ("protocol", opt(proto(r.protocol))),
            ("not protocol", no(proto(r.not_protocol))),
            ("destination", opt(addrs(&r.destination))),
            ("not destination", no(addrs(&r.not_destination))),
            ("source", opt(addrs(&r.source))),
            ("not source", no(addrs(&r.not_source))),
            ("ports", opt(ports(&r.ports))),
            ("not ports", no(ports(&r.not_ports))),
            ("mark", r.mark.to_string()),
        ]
    };
    let (a, b) = (fields(from), fields(to));
    a.iter()
        .zip(&b)
        .filter(|(x, y)| x.1 != y.1)
        .map(|((name, x), (_, y))| format!("{name} {x} -> {y}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a restart changes, setting by setting (`syncid 9 -> 10`); only what `to` sets.
fn sync_diff(from: &SyncConfig, to: &SyncConfig) -> String {
    fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
        v.map_or_else(|| "(unread)".to_string(), |v| v.to_string())
    }
    let mut parts = Vec::new();
    if from.interface != to.interface {
        parts.push(format!("mcast {} -> {}", from.interface, to.interface));
    }
    if from.sync_id != to.sync_id {
        parts.push(format!("syncid {} -> {}", from.sync_id, to.sync_id));
    }
    let optional = [
        ("maxlen", from.max_len.map(u32::from), to.max_len.map(u32::from)),
        ("port", from.port.map(u32::from), to.port.map(u32::from)),
        ("ttl", from.ttl.map(u32::from), to.ttl.map(u32::from)),
    ];
    for (name, a, b) in optional {
        if let Some(b) = b.filter(|b| Some(*b) != a) {
            parts.push(format!("{name} {} -> {b}", opt(a)));
        }
    }
    if let Some(g) = to.group.filter(|g| Some(*g) != from.group) {
        parts.push(format!("group {} -> {g}", opt(from.group)));
    }
    parts.join(", ")
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

impl Change {
    /// The object a change is about; for removals without the change itself.
    pub fn object_text(&self) -> String {
        match self {
            Change::DelDest { service, dest, .. } => format!("ipvs destination {} in {service}", dest.key()),
            Change::DelService { service } => format!("ipvs service {}", service.key),
            other => change_text(other),
        }
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

/// One line about an object left alone.
impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&note_text(self))
    }
}

fn note_text(n: &Note) -> String {
    match n {
        Note::Vrrp { address, instance, present } => {
            let now = if *present { "held here now" } else { "not held here now" };
            format!("address {address}: managed by VRRP instance {instance} ({now})")
        }
        Note::VrrpRoute { route, instance, present } => {
            let now = if *present { "held here now" } else { "not held here now" };
            format!("route {route}: managed by VRRP instance {instance} ({now})")
        }
        Note::VrrpRule { rule, instance, present } => {
            let now = if *present { "held here now" } else { "not held here now" };
            format!("rule {rule}: managed by VRRP instance {instance} ({now})")
        }
        Note::Vmac { vmac, instance, present } => {
            let now = if *present { "present here now" } else { "not present here now" };
            format!("VMAC {vmac}: managed by VRRP instance {instance} ({now})")
        }
        Note::Sync { settings, instance, running } => {
            let now = match running.as_slice() {
                [] => "none running here now".to_string(),
                states => {
                    let names: Vec<&str> = states.iter().map(|s| s.word()).collect();
                    format!("{} running here now", names.join(" and "))
                }
            };
            format!("ipvs sync daemon ({settings}): managed by VRRP instance {instance} ({now})")
        }
        Note::Announce { route, present } => {
            let now = if *present { "announced here now" } else { "not announced here now" };
            format!("announced route {route}: announced by `lbconverge run` while the service holds its quorum ({now})")
        }
        Note::Unmanaged { object } => format!("{object}: not owned by lbconverge"),
    }
}
