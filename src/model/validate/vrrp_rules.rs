//! The policy routing rules a VRRP master holds (`vrrp.X.rules`, keepalived's
//! `virtual_rules`): a priority below the kernel's `main` rule, `from` / `to` networks (or
//! addresses) of one family, which `family` may only repeat, interfaces by name, a
//! firewall mark with an optional mask, either a table or a type, and no rule twice.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::family::Family;
use crate::manifest::KeyPath;
use crate::manifest::types::{MarkSpec, RuleType, VrrpRuleEntry};
use crate::model::net::{Fwmark, RuleAction, VrrpRule};

use super::Cx;
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
    let action = action(cx, at, e)?;
    Some(VrrpRule {
        priority: e.priority,
        v6,
        not: e.not.unwrap_or(false),
        from,
        to,
        iif: e.iif.clone(),
        oif: e.oif.clone(),
        fwmark,
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

/// Either a table or a type.
fn action(cx: &mut Cx, at: &KeyPath, e: &VrrpRuleEntry) -> Option<RuleAction> {
    match (e.table, e.kind) {
        (Some(0), _) => {
            cx.error(&at.key("table"), "table 0 is no table", Some("name the table the packets are looked up in"));
            None
        }
        (Some(t), None) => Some(RuleAction::Table(t)),
        (None, Some(RuleType::Blackhole)) => Some(RuleAction::Blackhole),
        (None, Some(RuleType::Unreachable)) => Some(RuleAction::Unreachable),
        (None, Some(RuleType::Prohibit)) => Some(RuleAction::Prohibit),
        (Some(_), Some(_)) => {
            cx.error(
                at,
                "a rule has a `table` or a `type`, not both",
                Some("a rule that drops looks nothing up: remove one"),
            );
            None
        }
        (None, None) => {
            cx.error(
                at,
                "a rule needs a `table` or a `type`",
                Some("name the table the packets are looked up in (`table: 100`), or `type: blackhole`"),
            );
            None
        }
    }
}
