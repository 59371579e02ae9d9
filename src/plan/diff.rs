//! The diff between desired and live state, subsystem by subsystem. Objects lbconverge does
//! not own (not desired, not in the ledger) are never changed, only noted.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;

use super::change::{Change, Note};
use crate::model::firewall::MarkTable;
use crate::model::ipvs::{Dest, DestKey, Service, ServiceKey};
use crate::model::net::{AddrKey, Address};
use crate::model::sync::SyncState;
use crate::model::sysctl::{self, SysctlKey};
use crate::model::timeouts::Timeouts;
use crate::model::{Desired, Ledger, NodeState};

/// Unordered changes, notes, and the ledger after apply.
pub struct Diff {
    pub changes: Vec<Change>,
    pub notes: Vec<Note>,
    pub ledger: Ledger,
}

/// Diffs every subsystem.
pub fn diff(desired: &Desired, live: &NodeState) -> Diff {
    let mut d = Diff { changes: Vec::new(), notes: Vec::new(), ledger: Ledger::default() };
    sysctls(&mut d, desired, live);
    links(&mut d, desired, live);
    addresses(&mut d, desired, live);
    routes(&mut d, desired, live);
    ipvs_timeouts(&mut d, desired, live);
    services(&mut d, desired, live);
    sync_daemons(&mut d, desired, live);
    announced(&mut d, desired, live);
    firewall(&mut d, desired, live);
    d.notes.sort();
    d
}

/// The value the kernel acts on: for max-semantics keys on an interface, the larger of the
/// interface's and `all`'s value.
fn effective(key: &SysctlKey, live: &NodeState) -> Option<i64> {
    let own = live.sysctls.get(key).and_then(|v| v.trim().parse::<i64>().ok());
    let all = match key.conf_interface() {
        Some(i) if i != "all" && sysctl::is_max_semantics(key.leaf()) => key.with_interface("all"),
        _ => None,
    };
    let all = all.and_then(|k| live.sysctls.get(&k)).and_then(|v| v.trim().parse::<i64>().ok());
    match (own, all) {
        (Some(o), Some(a)) => Some(o.max(a)),
        (o, a) => o.or(a),
    }
}

fn sysctl_ok(desired: &Desired, key: &SysctlKey, want: &str, live: &NodeState) -> bool {
    if desired.at_least.contains(key) {
        let want: i64 = want.parse().unwrap_or(i64::MAX);
        return effective(key, live).is_some_and(|e| e >= want);
    }
    live.sysctls.get(key).is_some_and(|v| v.trim() == want.trim())
}

fn sysctls(d: &mut Diff, desired: &Desired, live: &NodeState) {
    for (key, want) in &desired.state.sysctls {
        let now = live.sysctls.get(key).cloned();
        if !sysctl_ok(desired, key, want, live) {
            d.changes.push(Change::SetSysctl { key: key.clone(), from: now.clone(), to: want.clone() });
        }
        let prior = live.owned.sysctls.get(key).cloned().or(now);
        if let Some(p) = prior {
            d.ledger.sysctls.insert(key.clone(), p);
        }
    }
    for (key, prior) in &live.owned.sysctls {
        if desired.state.sysctls.contains_key(key) {
            continue;
        }
        let now = live.sysctls.get(key);
        if now.is_some_and(|n| n.trim() != prior.trim()) {
            d.changes.push(Change::SetSysctl { key: key.clone(), from: now.cloned(), to: prior.clone() });
        }
    }
}

fn links(d: &mut Diff, desired: &Desired, live: &NodeState) {
    for (name, want) in &desired.state.links {
        let now = live.links.get(name);
        if want.up && !now.is_some_and(|l| l.up) {
            d.changes.push(Change::LinkUp { interface: name.clone(), exists: now.is_some() });
        }
    }
}

fn addresses(d: &mut Diff, desired: &Desired, live: &NodeState) {
    let delegated: BTreeSet<AddrKey> = desired.delegated.iter().map(|g| g.address.key()).collect();
    for (key, want) in &desired.state.addresses {
        match live.addresses.get(key) {
            None => d.changes.push(Change::AddAddress { address: want.clone() }),
            Some(now) if now.label != want.label || now.local_route != want.local_route => {
                d.changes.push(Change::ReplaceAddress { from: now.clone(), to: want.clone() })
            }
            Some(_) => {}
        }
        d.ledger.addresses.insert(key.clone());
    }
    for g in &desired.delegated {
        let present = live.addresses.contains_key(&g.address.key());
        d.notes.push(Note::Vrrp { address: g.address.clone(), instance: g.instance.clone(), present });
    }
    vrrp_routes(d, desired, live);
    for (key, now) in &live.addresses {
        if desired.state.addresses.contains_key(key) || delegated.contains(key) {
            continue;
        }
        if live.owned.addresses.contains(key) {
            d.changes.push(Change::DelAddress { address: now.clone() });
        } else if looks_like_vip(now) {
            d.notes.push(Note::Unmanaged { object: format!("address {now}") });
        }
    }
}

/// The routes and rules VRRP masters hold and the VMACs of VRRP instances: shown, never
/// changed (the daemon adds and removes them).
fn vrrp_routes(d: &mut Diff, desired: &Desired, live: &NodeState) {
    for (route, instance) in &desired.delegated_routes {
        let present = live.vrrp_routes.contains(route);
        d.notes.push(Note::VrrpRoute { route: route.clone(), instance: instance.clone(), present });
    }
    for (rule, instance) in &desired.delegated_rules {
        let present = live.vrrp_rules.contains(rule);
        d.notes.push(Note::VrrpRule { rule: rule.clone(), instance: instance.clone(), present });
    }
    for (vmac, instance) in &desired.delegated_vmacs {
        let present = live.vmacs.iter().any(|l| vmac.is(l));
        d.notes.push(Note::Vmac { vmac: vmac.clone(), instance: instance.clone(), present });
    }
}

/// Host addresses outside loopback and link-local ranges: what a hand-made VIP looks like.
fn looks_like_vip(a: &Address) -> bool {
    let ip = a.address.addr();
    let host = a.address.prefix_len() == crate::family::Family::of(&ip).host_prefix();
    let special = match ip {
        std::net::IpAddr::V4(v4) => v4.is_loopback() || v4.is_link_local(),
        std::net::IpAddr::V6(v6) => v6.is_loopback() || v6.is_unicast_link_local(),
    };
    host && !special
}

fn routes(d: &mut Diff, desired: &Desired, live: &NodeState) {
    for (dest, want) in &desired.state.routes {
        let now = live.routes.get(dest);
        let same = now
            .is_some_and(|n| n.gateway == want.gateway && (want.interface.is_none() || n.interface == want.interface));
        if !same {
            d.changes.push(Change::SetRoute { route: want.clone(), from: now.cloned() });
        }
        let prior = match live.owned.routes.get(dest) {
            Some(p) => p.clone(),
            None => now.cloned(),
        };
        d.ledger.routes.insert(*dest, prior);
    }
    for (dest, prior) in &live.owned.routes {
        if desired.state.routes.contains_key(dest) {
            continue;
        }
        release_route(d, dest, prior.as_ref(), live);
    }
}

fn release_route(d: &mut Diff, dest: &IpNet, prior: Option<&crate::model::net::Route>, live: &NodeState) {
    let now = live.routes.get(dest);
    match (prior, now) {
        (Some(p), Some(n)) if p.gateway == n.gateway => {}
        (Some(p), n) => d.changes.push(Change::SetRoute { route: p.clone(), from: n.cloned() }),
        (None, Some(n)) => d.changes.push(Change::DelRoute { route: n.clone() }),
        (None, None) => {}
    }
}

fn services(d: &mut Diff, desired: &Desired, live: &NodeState) {
    for (key, want) in &desired.state.services {
        match live.services.get(key) {
            None => {
                d.changes.push(Change::AddService { service: want.settings_only() });
                for dest in want.dests.values() {
                    d.changes.push(Change::AddDest { service: *key, dest: dest.clone() });
                }
            }
            Some(now) => edit_service(d, want, now, &desired.failed),
        }
        d.ledger.services.insert(*key);
    }
    for (key, now) in &live.services {
        if desired.state.services.contains_key(key) {
            continue;
        }
        if live.owned.services.contains(key) {
            d.changes.push(Change::DelService { service: now.clone() });
        } else {
            d.notes.push(Note::Unmanaged { object: format!("ipvs service {key}") });
        }
    }
}

fn edit_service(d: &mut Diff, want: &Service, now: &Service, failed: &BTreeSet<(ServiceKey, DestKey)>) {
    if !want.same_settings(now) {
        d.changes.push(Change::EditService { from: now.settings_only(), to: want.settings_only() });
    }
    dests(&mut d.changes, want, &now.dests, failed);
}

/// The changes that take a service's live destinations `now` to those `want` has.
pub fn dests(
    out: &mut Vec<Change>,
    want: &Service,
    now: &BTreeMap<DestKey, Dest>,
    failed: &BTreeSet<(ServiceKey, DestKey)>,
) {
    for (k, w) in &want.dests {
        match now.get(k) {
            None => out.push(Change::AddDest { service: want.key, dest: w.clone() }),
            Some(n) if !w.same_settings(n) => {
                out.push(Change::EditDest { service: want.key, from: n.clone(), to: w.clone() })
            }
            Some(_) => {}
        }
    }
    for (k, n) in now {
        if !want.dests.contains_key(k) {
            let failed = failed.contains(&(want.key, *k));
            out.push(Change::DelDest { service: want.key, dest: n.clone(), failed });
        }
    }
}

/// A delegated sync daemon runs in whichever state its instance chose: a live one with other
/// settings is restarted in that state, and both states are owned. Without one, owned
/// daemons stop and others are left alone.
fn sync_daemons(d: &mut Diff, desired: &Desired, live: &NodeState) {
    if let Some(s) = &desired.sync {
        for (state, now) in live.sync_daemons.iter().filter(|(_, now)| !s.config.met_by(now)) {
            d.changes.push(Change::SetSyncDaemon { state: *state, from: now.clone(), to: s.config.clone() });
        }
        let running = live.sync_daemons.keys().copied().collect();
        d.notes.push(Note::Sync { settings: s.config.ipvsadm_text(), instance: s.instance.clone(), running });
        d.ledger.sync_daemons.extend(SyncState::ALL);
        return;
    }
    for (state, now) in &live.sync_daemons {
        if live.owned.sync_daemons.contains(state) {
            d.changes.push(Change::StopSyncDaemon { state: *state, config: now.clone() });
        } else {
            d.notes.push(Note::Unmanaged { object: format!("ipvs {}", crate::model::sync::ipvsadm_line(*state, now)) });
        }
    }
}

/// Routes the daemon decided on are announced; offline, those it would announce are left to
/// it; an owned route nobody announces is withdrawn.
fn announced(d: &mut Diff, desired: &Desired, live: &NodeState) {
    for r in &desired.state.announced {
        if !live.announced.contains(r) {
            d.changes.push(Change::Announce { route: *r });
        }
    }
    for r in &desired.announce_delegated {
        d.notes.push(Note::Announce { route: *r, present: live.announced.contains(r) });
    }
    d.ledger.announced.extend(desired.state.announced.iter().chain(&desired.announce_delegated).copied());
    for r in &live.announced {
        if desired.state.announced.contains(r) || desired.announce_delegated.contains(r) {
            continue;
        }
        if live.owned.announced.contains(r) {
            d.changes.push(Change::Withdraw { route: *r });
        } else {
            d.notes.push(Note::Unmanaged { object: format!("announced route {r}") });
        }
    }
}

/// The firewall-mark table is replaced whole when it differs from the desired one in any
/// way (a rule edited, deleted or added by hand, another chain); the table's name is
/// lbconverge's, so a desired table takes the one in place. Without desired rules, an
/// owned table is deleted and any other left alone. Changes carry no counters, so that a
/// saved plan stays what the manifest gives while traffic flows.
fn firewall(d: &mut Diff, desired: &Desired, live: &NodeState) {
    match (&desired.state.firewall, &live.firewall) {
        (Some(want), now) => {
            if !now.as_ref().is_some_and(|n| n.same(want)) {
                let from = now.as_ref().map(MarkTable::without_hits);
                d.changes.push(Change::SetFirewall { from, to: want.without_hits() });
            }
            d.ledger.firewall = true;
        }
        (None, Some(now)) if live.owned.firewall => d.changes.push(Change::DelFirewall { table: now.without_hits() }),
        (None, Some(_)) => d.notes.push(Note::Unmanaged { object: crate::plan::text::FIREWALL.to_string() }),
        (None, None) => {}
    }
}

/// IPVS timeouts, field by field: a declared one is set when the kernel differs, and the
/// ledger keeps the value found before lbconverge first set it (a fresh kernel's when
/// `ip_vs` is not loaded yet); an owned one no longer declared goes back to that value, as
/// an undeclared sysctl does. Timeouts lbconverge never set are left alone.
fn ipvs_timeouts(d: &mut Diff, desired: &Desired, live: &NodeState) {
    let want = desired.state.ipvs_timeouts.unwrap_or_default();
    let owned = live.owned.ipvs_timeouts.unwrap_or_default();
    let now = live.ipvs_timeouts;
    let restore = owned.zip(&want, |prior, w| if w == 0 { prior } else { 0 });
    let to = want.zip(&restore, |w, r| if w == 0 { r } else { w });
    if !to.is_unset() && !now.is_some_and(|n| to.held_by(&n)) {
        d.changes.push(Change::SetIpvsTimeouts { from: now, to });
    }
    let found = now.unwrap_or(Timeouts::LINUX);
    let prior = owned.zip(&found, |o, f| if o == 0 { f } else { o });
    let kept = want.zip(&prior, |w, p| if w == 0 { 0 } else { p });
    d.ledger.ipvs_timeouts = (!kept.is_unset()).then_some(kept);
}
