//! The policy routing rules a VRRP master holds (`vrrp.X.rules`, keepalived's
//! `virtual_rules`): a priority below the kernel's `main` rule, `from` / `to` networks (or
//! addresses) of one family, which `family` may only repeat, interfaces by name, a
//! firewall mark with an optional mask, the further selectors (tos, ipproto, ports,
//! uidrange, tunnel id) as the kernel takes them, one action (a table, a type, a goto
//! forward, l3mdev), realms and suppressors on a table rule only, and no rule twice.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::family::Family;
use crate::manifest::KeyPath;
use crate::manifest::types::{MarkSpec, RuleType, Scalar, VrrpRuleEntry};
use crate::model::net::{Fwmark, IP_PROTOCOLS, RuleAction, RuleOptions, VrrpRule};

use super::Cx;
use super::parse::number;
use super::vrrp_routes::{destination, interface};

/// The highest priority a rule may have: the kernel's `main` rule is 32766.
const LAST_PRIORITY: u32 = 32765;

/// The instance's rules.
pub(super) fn rules(cx: &mut Cx, path: &KeyPath, entries: &[VrrpRuleEntry]) -> Vec<VrrpRule> {
    let mut out: Vec<VrrpRule> = Vec::new();
    for (n, e) in entries.iter().enumerate() {
        let at = path.key("rules").index(n);
        let Some(r) = rule(cx, &at, e) else { continue };
        if out.contains(&r) {
            cx.error(&at, format!("rule {r} is listed twice"), Some("remove one"));
            continue;
        }
        out.push(r);
    }
    out
}

fn rule(cx: &mut Cx, at: &KeyPath, e: &VrrpRuleEntry) -> Option<VrrpRule> {
    if !(1..=LAST_PRIORITY).contains(&e.priority) {
        let msg = format!("priority {} is out of range", e.priority);
        let hint = "a rule's priority is 1 to 32765: 0 is the kernel's `local` rule, 32766 and 32767 its `main` and `default` rules";
        cx.error(&at.key("priority"), msg, Some(hint));
    }
    let from = e.from.as_deref().map(|t| network(cx, &at.key("from"), t));
    let to = e.to.as_deref().map(|t| network(cx, &at.key("to"), t));
    let (from, to) = (from.unwrap_or(Some(None))?, to.unwrap_or(Some(None))?);
    let v6 = family(cx, at, e.family, [from, to])?;
    interface(cx, &at.key("iif"), e.iif.as_deref());
    interface(cx, &at.key("oif"), e.oif.as_deref());
    let fwmark = match &e.fwmark {
        Some(MarkSpec::Mark(mark)) => Some(Fwmark { mark: *mark, mask: None }),
        Some(MarkSpec::Text(t)) => Some(fwmark(cx, &at.key("fwmark"), t)?),
        None => None,
    };
    let options = options(cx, at, e, v6);
    let action = action(cx, at, e)?;
    if let RuleAction::Goto(target) = action
        && target <= e.priority
    {
        let msg = format!("goto {target} is not after the rule's own priority {}", e.priority);
        cx.error(&at.key("goto"), msg, Some("a rule jumps forward only: give a priority above its own"));
    }
    table_options_need_a_table(cx, at, e, action);
    Some(VrrpRule {
        priority: e.priority,
        v6,
        not: e.not.unwrap_or(false),
        from,
        to,
        iif: e.iif.clone(),
        oif: e.oif.clone(),
        fwmark,
        options,
        action,
    })
}

/// A network, or an address alone (a host).
fn network(cx: &mut Cx, at: &KeyPath, text: &str) -> Option<Option<IpNet>> {
    if let Ok(a) = text.parse::<IpAddr>() {
        return Some(Some(IpNet::from(a)));
    }
    if text == "default" {
        cx.error(at, "`default` is no source or destination of a rule", Some("leave the key out to match any"));
        return None;
    }
    destination(cx, at, text).map(Some)
}

/// IPv6 or not: the addresses' family, which `family` may repeat; IPv4 without either.
fn family(cx: &mut Cx, at: &KeyPath, said: Option<Family>, nets: [Option<IpNet>; 2]) -> Option<bool> {
    let mut found = nets.iter().flatten().map(|n| n.addr().is_ipv6());
    let first = found.next();
    if first.is_some() && found.any(|v6| Some(v6) != first) {
        cx.error(at, "`from` and `to` are of two families", Some("a rule is IPv4 or IPv6: write both of one family"));
        return None;
    }
    match (first, said) {
        (Some(v6), Some(f)) if v6 != (f == Family::Ipv6) => {
            let msg =
                format!("`family: {}` differs from the family of its addresses", if v6 { "ipv4" } else { "ipv6" });
            cx.error(&at.key("family"), msg, Some("leave `family` out: the addresses say it"));
            None
        }
        (Some(v6), _) => Some(v6),
        (None, f) => Some(f == Some(Family::Ipv6)),
    }
}

/// `MARK` or `MARK/MASK`, each decimal or `0x` hexadecimal.
fn fwmark(cx: &mut Cx, at: &KeyPath, text: &str) -> Option<Fwmark> {
    let number = |t: &str| match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => t.parse::<u32>().ok(),
    };
    let (mark, mask) = match text.split_once('/') {
        Some((m, k)) => (number(m), Some(number(k))),
        None => (number(text), None),
    };
    match (mark, mask) {
        (Some(mark), None) => Some(Fwmark { mark, mask: None }),
        (Some(mark), Some(Some(k))) => Some(Fwmark { mark, mask: Some(k) }),
        _ => {
            let hint = "a 32-bit number, decimal or 0x hexadecimal, optionally with a mask: `5`, `0x10/0xf0`";
            cx.error(at, format!("`{text}` is not a firewall mark"), Some(hint));
            None
        }
    }
}

/// One of a table, a type, a goto and l3mdev.
fn action(cx: &mut Cx, at: &KeyPath, e: &VrrpRuleEntry) -> Option<RuleAction> {
    let l3mdev = e.l3mdev.unwrap_or(false).then_some(RuleAction::L3mdev);
    let kind = e.kind.map(|k| match k {
        RuleType::Blackhole => RuleAction::Blackhole,
        RuleType::Unreachable => RuleAction::Unreachable,
        RuleType::Prohibit => RuleAction::Prohibit,
        RuleType::Nop => RuleAction::Nop,
    });
    let said: Vec<RuleAction> =
        [e.table.map(RuleAction::Table), kind, e.goto.map(RuleAction::Goto), l3mdev].into_iter().flatten().collect();
    match said[..] {
        [RuleAction::Table(0)] => {
            cx.error(&at.key("table"), "table 0 is no table", Some("name the table the packets are looked up in"));
            None
        }
        [one] => Some(one),
        [_, _, ..] => {
            cx.error(
                at,
                "a rule has one of `table`, `type`, `goto` and `l3mdev`",
                Some("a rule does one thing with what it matches: keep one"),
            );
            None
        }
        [] => {
            cx.error(
                at,
                "a rule needs a `table`, a `type`, a `goto` or `l3mdev`",
                Some("name the table the packets are looked up in (`table: 100`), or `type: blackhole`"),
            );
            None
        }
    }
}

/// `realms` and the suppressors apply to a lookup: keepalived refuses them on another action.
fn table_options_need_a_table(cx: &mut Cx, at: &KeyPath, e: &VrrpRuleEntry, action: RuleAction) {
    if matches!(action, RuleAction::Table(_)) {
        return;
    }
    let set = [
        ("realms", e.realms.is_some()),
        ("suppress_prefixlength", e.suppress_prefixlength.is_some()),
        ("suppress_ifgroup", e.suppress_ifgroup.is_some()),
    ];
    for (key, _) in set.iter().filter(|(_, on)| *on) {
        let msg = format!("`{key}` applies to a table lookup, and this rule has no `table`");
        cx.error(&at.key(key), msg, Some(&format!("give the rule a `table`, or remove `{key}`")));
    }
}

/// The further selectors and table options, each checked at its key.
fn options(cx: &mut Cx, at: &KeyPath, e: &VrrpRuleEntry, v6: bool) -> RuleOptions {
    let max_len = if v6 { 128 } else { 32 };
    RuleOptions {
        tos: e.tos.as_ref().and_then(|t| tos(cx, &at.key("tos"), t, v6)),
        ipproto: e.ipproto.as_ref().and_then(|p| ipproto(cx, &at.key("ipproto"), p)),
        sport: e.sport.as_ref().and_then(|p| port_range(cx, &at.key("sport"), p)),
        dport: e.dport.as_ref().and_then(|p| port_range(cx, &at.key("dport"), p)),
        uidrange: e.uidrange.as_deref().and_then(|u| uidrange(cx, &at.key("uidrange"), u)),
        tunnel_id: within(cx, &at.key("tunnel_id"), e.tunnel_id, 1, u64::MAX, "a tunnel id"),
        realms: e.realms.as_ref().and_then(|r| realms(cx, &at.key("realms"), r, v6)),
        suppress_prefixlength: within(
            cx,
            &at.key("suppress_prefixlength"),
            e.suppress_prefixlength,
            0,
            max_len,
            "a prefix length of the rule's family",
        ),
        suppress_ifgroup: within(
            cx,
            &at.key("suppress_ifgroup"),
            e.suppress_ifgroup,
            0,
            0x7fff_ffff,
            "an interface group",
        ),
    }
}

/// `value` when in `min..=max`; an error at `at` otherwise.
fn within<T: PartialOrd + Copy + std::fmt::Display>(
    cx: &mut Cx,
    at: &KeyPath,
    value: Option<T>,
    min: T,
    max: T,
    what: &str,
) -> Option<T> {
    let v = value?;
    if v < min || v > max {
        cx.error(at, format!("{v} is not {what}"), Some(&format!("give {min}..{max}")));
        return None;
    }
    Some(v)
}

/// The DS field: ECN bits clear; IPv4 the TOS bits only (the kernel's checks).
fn tos(cx: &mut Cx, at: &KeyPath, t: &Scalar, v6: bool) -> Option<u8> {
    let allowed: u8 = if v6 { 0xfc } else { 0x1c };
    match number(t).and_then(|n| u8::try_from(n).ok()) {
        Some(0) => None,
        Some(n) if n & !allowed == 0 => Some(n),
        _ => {
            let hint = if v6 {
                "a DS field 0..0xfc with the two ECN bits clear, such as 0x10 or 0xb8"
            } else {
                "an IPv4 TOS value with bits of 0x1c only: 0x04, 0x08, 0x10, ..."
            };
            cx.error(at, format!("`{}` is not a TOS value the kernel takes here", t.render()), Some(hint));
            None
        }
    }
}

fn ipproto(cx: &mut Cx, at: &KeyPath, p: &Scalar) -> Option<u8> {
    let named = |t: &str| IP_PROTOCOLS.iter().find(|(n, _)| *n == t.trim()).map(|(_, v)| *v);
    let found = match p {
        Scalar::Text(t) => named(t).or_else(|| number(p).and_then(|n| u8::try_from(n).ok())),
        Scalar::Int(_) => number(p).and_then(|n| u8::try_from(n).ok()),
    };
    match found {
        Some(n) if n > 0 => Some(n),
        _ => {
            let names: Vec<&str> = IP_PROTOCOLS.iter().map(|(n, _)| *n).collect();
            cx.error(
                at,
                format!("`{}` is not an IP protocol", p.render()),
                Some(&format!("use one of {} or a number 1..255", names.join(", "))),
            );
            None
        }
    }
}

/// `N` or `FIRST-LAST`, 1..65534 (the kernel refuses 0 and 65535 in a port range).
fn port_range(cx: &mut Cx, at: &KeyPath, p: &Scalar) -> Option<(u16, u16)> {
    let text = p.render();
    let (a, b) = text.split_once('-').unwrap_or((&text, &text));
    let port = |t: &str| t.trim().parse::<u16>().ok().filter(|n| (1..=65534).contains(n));
    match (port(a), port(b)) {
        (Some(a), Some(b)) if a <= b => Some((a, b)),
        _ => {
            let hint = "a port 1..65534 or a range `FIRST-LAST` (the kernel refuses 0 and 65535 in a rule)";
            cx.error(at, format!("`{text}` is not a port or port range"), Some(hint));
            None
        }
    }
}

/// `FIRST-LAST` user ids, the last below 4294967295 (the kernel's "no uid").
fn uidrange(cx: &mut Cx, at: &KeyPath, text: &str) -> Option<(u32, u32)> {
    let parsed =
        text.split_once('-').and_then(|(a, b)| Some((a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?)));
    match parsed {
        Some((a, b)) if a <= b && b < u32::MAX => Some((a, b)),
        _ => {
            cx.error(
                at,
                format!("`{text}` is not a uid range"),
                Some("write `FIRST-LAST`, such as `1000-1999`, below 4294967295"),
            );
            None
        }
    }
}

/// IPv4 realms `TO` or `FROM/TO`, each 0..65535.
fn realms(cx: &mut Cx, at: &KeyPath, r: &Scalar, v6: bool) -> Option<(u16, u16)> {
    if v6 {
        cx.error(
            at,
            "an IPv6 rule has no realms (keepalived and the kernel give realms to IPv4 only)",
            Some("remove `realms`"),
        );
        return None;
    }
    let text = r.render();
    let realm = |t: &str| t.trim().parse::<u16>().ok();
    let parsed = match text.split_once('/') {
        Some((from, to)) => realm(from).zip(realm(to)),
        None => realm(&text).map(|to| (0, to)),
    };
    if parsed.is_none() {
        cx.error(
            at,
            format!("`{text}` is not a realm or `FROM/TO` realms"),
            Some("write numbers 0..65535: `2` or `1/2`"),
        );
    }
    parsed
}
