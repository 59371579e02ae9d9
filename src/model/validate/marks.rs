//! The `match` rules of firewall-mark services: each parsed into a [`MarkRule`], then all of
//! them put in the one order the chain tries them in (first match wins):
//!
//! 1. lower `order` first (default 0);
//! 2. among equal `order`, a rule whose traffic lies inside another's comes before it
//!    (specific before general: the source-restricted rule to port 443 before the rule for
//!    every source to port 443);
//! 3. otherwise by mark, then service name, then position in its `match` list.
//!
//! Two rules of different marks with the same `order` that overlap without one containing
//! the other are an error (the overlap's mark would depend on the services' names), and so
//! is a rule that an earlier rule of another mark leaves no packet to (it never matches).

use std::collections::BTreeMap;

use crate::family::Family;
use crate::manifest::KeyPath;
use crate::manifest::types::{self, Manifest, MatchRule, PortSpec};
use crate::model::cluster::{ClassRule, VirtualService};
use crate::model::firewall::{self, AddrSet, MarkRule, PortSet, Space};
use crate::model::ipvs::{Forwarding, ServiceKey};

use super::Cx;

/// One parsed rule with what ordering it needs.
struct Entry {
    service: String,
    index: usize,
    order: i32,
    path: KeyPath,
    rule: MarkRule,
    space: Space,
}

impl Entry {
    fn tie_key(&self) -> (u32, &str, usize) {
        (self.rule.mark, &self.service, self.index)
    }
    fn name(&self) -> String {
        format!("services.{}.match[{}] (mark {})", self.service, self.index, self.rule.mark)
    }
}

/// Every `match` rule of the manifest, in chain order.
pub fn marks(cx: &mut Cx, at: &KeyPath, m: &Manifest, services: &BTreeMap<String, VirtualService>) -> Vec<ClassRule> {
    let mut entries = Vec::new();
    for (name, s) in &m.services {
        let (Some(rules), Some(vs)) = (&s.matches, services.get(name)) else { continue };
        if !vs.group.is_empty() {
            continue; // refused with the group's rules
        }
        let path = at.name(name).key("match");
        let ServiceKey::Fwmark { family, mark } = vs.key else {
            cx.error(
                &path,
                "`match` belongs to firewall-mark services",
                Some("a service with `vip` is selected by its VIP, port and protocol; remove `match`"),
            );
            continue;
        };
        for (i, r) in rules.iter().enumerate() {
            let p = path.index(i);
            if let Some(rule) = rule(cx, &p, vs, family, mark, name, i, r) {
                let space = rule.space();
                entries.push(Entry {
                    service: name.clone(),
                    index: i,
                    order: r.order.unwrap_or(0),
                    path: p,
                    rule,
                    space,
                });
            }
        }
    }
    let ordered = order(cx, entries);
    shadowed(cx, &ordered);
    ordered.into_iter().map(|e| ClassRule { service: e.service, rule: e.rule }).collect()
}

#[allow(clippy::too_many_arguments)]
fn rule(
    cx: &mut Cx,
    at: &KeyPath,
    vs: &VirtualService,
    family: Family,
    mark: u32,
    service: &str,
    index: usize,
    r: &MatchRule,
) -> Option<MarkRule> {
    let mut ok = true;
    let mut addrs = |cx: &mut Cx, path: KeyPath, list: &Option<Vec<String>>| match list {
        None => None,
        Some(l) => {
            let set = addr_set(cx, &path, l, family);
            ok &= set.is_some();
            set
        }
    };
    let destination = match &r.destination {
        Some(_) => addrs(cx, at.key("destination"), &r.destination),
        None if vs.vips.is_empty() => {
            cx.error(
                at,
                "a rule needs a `destination`, or the service's `vips` to default to",
                Some("list the VIPs the mark is for under the service's `vips`, or give `destination:`"),
            );
            return None;
        }
        None => Some(AddrSet::hosts(family, &vs.vips)),
    };
    let not = r.not.clone().unwrap_or(types::MatchNot { destination: None, ports: None, protocol: None, source: None });
    let not_at = at.key("not");
    let source = addrs(cx, at.key("source"), &r.source);
    let not_destination = addrs(cx, not_at.key("destination"), &not.destination);
    let not_source = addrs(cx, not_at.key("source"), &not.source);
    let protocol = r.protocol.map(super::proto);
    let ports = port_set(cx, &at.key("ports"), r.ports.as_deref(), protocol.is_some());
    let not_ports = port_set(cx, &not_at.key("ports"), not.ports.as_deref(), protocol.is_some());
    if !ok || ports.is_err() || not_ports.is_err() {
        return None;
    }
    let rule = MarkRule {
        comment: firewall::comment_for(service, index),
        mark,
        family,
        protocol,
        not_protocol: not.protocol.map(super::proto),
        destination,
        not_destination,
        source,
        not_source,
        ports: ports.ok().flatten(),
        not_ports: not_ports.ok().flatten(),
        hits: None,
    };
    if rule.space().is_empty() {
        cx.error(at, "this rule matches no packet: `not` excludes everything it names", None);
        return None;
    }
    outside_vips(cx, at, vs, &rule);
    Some(rule)
}

/// A DR or TUN real server holds only the service's `vips`: traffic to other destinations
/// reaches it, but nothing there answers.
fn outside_vips(cx: &mut Cx, at: &KeyPath, vs: &VirtualService, rule: &MarkRule) {
    let (Some(dst), false) = (&rule.destination, vs.vips.is_empty()) else { return };
    if !vs.backends.iter().any(|b| matches!(b.forwarding, Forwarding::Dr | Forwarding::Tun)) {
        return;
    }
    let vips = AddrSet::hosts(rule.family, &vs.vips);
    if !vips.spans.contains_all(&dst.spans) {
        cx.warn(
            &at.key("destination"),
            "it reaches addresses that are not among the service's `vips`; DR and TUN real servers hold only `vips`, so they drop that traffic",
            Some("add those addresses to `vips`, or narrow `destination`"),
        );
    }
}

fn addr_set(cx: &mut Cx, at: &KeyPath, list: &[String], family: Family) -> Option<AddrSet> {
    let mut items = Vec::with_capacity(list.len());
    let mut ok = true;
    for (i, text) in list.iter().enumerate() {
        match firewall::parse_addr_item(text) {
            Ok(item) if AddrSet::of(family, &[item]).is_ok() => items.push(item),
            Ok(_) => {
                cx.error(
                    &at.index(i),
                    format!("`{text}` is not {family}, the family of this firewall-mark service"),
                    None,
                );
                ok = false;
            }
            Err(e) => {
                cx.error(&at.index(i), e, None);
                ok = false;
            }
        }
    }
    if !ok {
        return None;
    }
    AddrSet::of(family, &items).ok()
}

/// A list of ports and ranges; an error (recorded) when one is bad or there is no protocol.
fn port_set(cx: &mut Cx, at: &KeyPath, list: Option<&[PortSpec]>, has_protocol: bool) -> Result<Option<PortSet>, ()> {
    let Some(list) = list else { return Ok(None) };
    if !has_protocol {
        cx.error(at, "ports need a `protocol`: tcp, udp or sctp", Some("add `protocol: tcp` to the rule"));
        return Err(());
    }
    let mut ranges = Vec::with_capacity(list.len());
    let mut ok = true;
    for (i, p) in list.iter().enumerate() {
        let parsed = match p {
            PortSpec::Port(n) => u16::try_from(*n)
                .ok()
                .filter(|n| *n > 0)
                .map(|n| (n, n))
                .ok_or_else(|| format!("port {n} is not from 1 to 65535")),
            PortSpec::Range(t) => firewall::parse_port_range(t),
        };
        match parsed {
            Ok(r) => ranges.push(r),
            Err(e) => {
                cx.error(&at.index(i), e, None);
                ok = false;
            }
        }
    }
    if ok { Ok(Some(PortSet::of(&ranges))) } else { Err(()) }
}

/// The chain order: by `order`, then specific before general, then by mark, service and
/// position. Reports rules of different marks and equal `order` that overlap with neither
/// inside the other.
fn order(cx: &mut Cx, mut entries: Vec<Entry>) -> Vec<Entry> {
    entries.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.tie_key().cmp(&b.tie_key())));
    let mut out = Vec::with_capacity(entries.len());
    let mut rest = entries.into_iter().peekable();
    while let Some(first) = rest.next() {
        let mut group = vec![first];
        while let Some(next) = rest.next_if(|e| e.order == group[0].order) {
            group.push(next);
        }
        ambiguous(cx, &group);
        out.extend(specific_first(group));
    }
    out
}

/// Rules of one `order` in tie-key order, each placed after every rule strictly inside it.
fn specific_first(mut group: Vec<Entry>) -> Vec<Entry> {
    let mut out = Vec::with_capacity(group.len());
    while !group.is_empty() {
        let strictly_inside = |a: &Entry, b: &Entry| b.space.contains(&a.space) && !a.space.contains(&b.space);
        let next = (0..group.len())
            .find(|&i| !group.iter().enumerate().any(|(j, o)| j != i && strictly_inside(o, &group[i])))
            .unwrap_or(0);
        out.push(group.remove(next));
    }
    out
}

fn ambiguous(cx: &mut Cx, group: &[Entry]) {
    for (i, a) in group.iter().enumerate() {
        for b in &group[i + 1..] {
            let partial = !a.space.contains(&b.space) && !b.space.contains(&a.space);
            if a.rule.mark != b.rule.mark && partial && a.space.overlaps(&b.space) {
                cx.error(
                    &b.path,
                    format!(
                        "it overlaps {} and neither holds all the other's traffic, so the mark of the traffic they share is not decided",
                        a.name()
                    ),
                    Some("set `order` on one of them (lower goes first), or carve the shared traffic out of one with `not`"),
                );
            }
        }
    }
}

/// A rule whose every packet an earlier rule takes never matches.
fn shadowed(cx: &mut Cx, ordered: &[Entry]) {
    for (i, e) in ordered.iter().enumerate() {
        let Some(first) = ordered[..i].iter().find(|o| o.space.contains(&e.space)) else { continue };
        let msg = format!("this rule never matches: {} comes first and takes all of its traffic", first.name());
        if first.rule.mark == e.rule.mark {
            cx.warn(&e.path, msg, Some("remove it"));
        } else {
            cx.error(&e.path, msg, Some("give it a lower `order` than the other, or remove one of them"));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::manifest;
    use crate::model::{Health, NoFacts};

    const HEAD: &str = "version: 1
nodes:
  lb: {roles: [director], addresses: [10.0.0.11/24], interface: eth0}
  rs1: {roles: [real-server], addresses: [10.0.0.21/24], interface: eth0}
  rs2: {roles: [real-server], addresses: [10.0.0.22/24], interface: eth0}
services:
";

    fn service(name: &str, mark: u32, vip: &str, rules: &str) -> String {
        format!(
            "  {name}:\n    fwmark: {mark}\n    vips: [{vip}]\n    directors: [lb]\n    match:\n{rules}    backends: {{rs1: {{}}}}\n"
        )
    }

    fn validate(services: &str) -> Result<crate::model::Cluster, String> {
        let text = format!("{HEAD}{services}");
        let loaded = manifest::parse("m.yaml", ".".into(), text.as_bytes()).map_err(|p| p.to_string())?;
        crate::model::validate(&loaded, &NoFacts).map(|v| v.cluster).map_err(|p| p.to_string())
    }

    fn marks_in_order(c: &crate::model::Cluster) -> Vec<u32> {
        c.marks.iter().map(|r| r.rule.mark).collect()
    }

    /// The seed's rules on one VIP: 80 and 443 marked 100, 443 from 192.168.0.0/16 marked
    /// 200, every other 443 marked 300. Whatever the services are named, the inside rule
    /// comes first, then the rest of 443, then what is left of 100.
    #[test]
    fn specific_rules_go_before_the_rules_that_contain_them() {
        let all = [
            service("a-web", 100, "10.0.0.100", "      - {protocol: tcp, ports: [80, 443]}\n"),
            service("b-in", 200, "10.0.0.100", "      - {protocol: tcp, ports: [443], source: [192.168.0.0/16]}\n"),
            service("c-out", 300, "10.0.0.100", "      - {protocol: tcp, ports: [443]}\n"),
        ];
        let c = validate(&all.concat()).unwrap();
        assert_eq!(marks_in_order(&c), [200, 300, 100]);
        let reversed: String = all.iter().rev().cloned().collect();
        assert_eq!(marks_in_order(&validate(&reversed).unwrap()), [200, 300, 100]);
        assert_eq!(c.marks[0].rule.comment, "services.b-in.match[0]");
        let text = c.marks.iter().map(|r| r.rule.to_string()).collect::<Vec<_>>().join("\n");
        assert_eq!(
            text,
            "ip daddr 10.0.0.100 ip saddr 192.168.0.0/16 tcp dport 443 -> mark 200 (services.b-in.match[0])
ip daddr 10.0.0.100 tcp dport 443 -> mark 300 (services.c-out.match[0])
ip daddr 10.0.0.100 tcp dport { 80, 443 } -> mark 100 (services.a-web.match[0])"
        );
    }

    #[test]
    fn order_puts_a_rule_first_and_disjoint_rules_go_by_mark() {
        let s = [
            service("web", 100, "10.0.0.100", "      - {protocol: tcp, ports: [80]}\n"),
            service("dns", 50, "10.0.0.101", "      - {protocol: udp, ports: [53]}\n"),
            service("late", 10, "10.0.0.102", "      - {protocol: tcp, ports: [80], order: 5}\n"),
        ];
        assert_eq!(marks_in_order(&validate(&s.concat()).unwrap()), [50, 100, 10]);
    }

    #[test]
    fn partial_overlaps_need_order_and_shadowed_rules_are_refused() {
        let by_source = service("a", 100, "10.0.0.100", "      - {source: [192.168.0.0/16]}\n");
        let by_port = service("b", 200, "10.0.0.100", "      - {protocol: tcp, ports: [443]}\n");
        let e = validate(&[by_source.clone(), by_port.clone()].concat()).unwrap_err();
        assert!(e.contains("services.b.match[0]: it overlaps services.a.match[0] (mark 100)"), "{e}");
        assert!(e.contains("hint: set `order` on one of them"), "{e}");
        let ordered = by_port.replace("ports: [443]}", "ports: [443], order: -1}");
        assert_eq!(marks_in_order(&validate(&[by_source.clone(), ordered].concat()).unwrap()), [200, 100]);
        let carved = by_port.replace("ports: [443]}", "ports: [443], not: {source: [192.168.0.0/16]}}");
        assert_eq!(marks_in_order(&validate(&[by_source.clone(), carved].concat()).unwrap()), [100, 200]);
        let late = service("c", 300, "10.0.0.100", "      - {source: [192.168.1.0/24], order: 1}\n");
        let e = validate(&[by_source, late].concat()).unwrap_err();
        assert!(
            e.contains("services.c.match[0]: this rule never matches: services.a.match[0] (mark 100) comes first"),
            "{e}"
        );
    }

    #[test]
    fn the_director_carries_its_services_rules_and_a_real_server_none() {
        let s = [
            service("in", 200, "10.0.0.100", "      - {protocol: tcp, ports: [443], source: [192.168.0.0/16]}\n"),
            service("out", 300, "10.0.0.100", "      - {protocol: tcp, ports: [443]}\n"),
        ];
        let c = validate(&s.concat()).unwrap();
        let d = crate::model::desired(&c, "lb", &Health::all_up()).unwrap();
        let table = d.state.firewall.expect("a table on the director");
        assert_eq!(table.rules.iter().map(|r| r.mark).collect::<Vec<_>>(), [200, 300]);
        let rs = crate::model::desired(&c, "rs1", &Health::all_up()).unwrap();
        assert_eq!(rs.state.firewall, None);
        let plain = validate(&service("x", 7, "10.0.0.100", "").replace("    match:\n", "")).unwrap();
        assert_eq!(crate::model::desired(&plain, "lb", &Health::all_up()).unwrap().state.firewall, None);
    }
}
