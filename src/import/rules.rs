//! keepalived's `virtual_rules { ... }` as an instance's `rules`: each line
//! `[inet|inet6] [not] [from NET] [to NET] [iif|dev IF] [oif IF] [fwmark N[/M]]
//! [preference|priority|order N] (table|lookup N | [type] blackhole|unreachable|prohibit)
//! [no_track]`, with `tos`/`dsfield`, `ipproto`, `sport`, `dport`, `uidrange`,
//! `tunnel-id`, `realms`, `suppress_prefixlength`, `suppress_ifgroup`, and the actions
//! `goto N`, `nop`, `l3mdev`, the words in any order; `protocol N` as keepalived takes it
//! (see `routes::lines`). What a rule cannot carry (a named table or dsfield) leaves that
//! rule out, with its place. A rule without a preference gets the
//! one keepalived gives it: 16384 for the first of its family in the file, one less for
//! each next.

use super::conf::Item;
use super::routes::Tracking;
use super::value::Notes;
use crate::family::Family;
use crate::manifest::types::{MarkSpec, RuleType, Scalar, VrrpRuleEntry};
use crate::model::net::IP_PROTOCOLS;

/// The first preference keepalived gives a rule that has none.
const FIRST_UNNUMBERED: u32 = 16384;

/// A rule as read, and whether its line gave a preference.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The manifest's rule.
    pub entry: VrrpRuleEntry,
    /// Its line gave the preference.
    pub numbered: bool,
}

/// The rules of a `virtual_rules` block (keepalived tracks every rule).
pub fn block(item: &Item, notes: &mut Notes) -> Vec<Rule> {
    super::routes::lines(item, notes, ("virtual rule", "rules"), line, |_| true)
}

/// Gives the rules without a preference keepalived's, in file order, per family.
pub fn number<'a>(rules: impl Iterator<Item = &'a mut Rule>) {
    let (mut v4, mut v6) = (FIRST_UNNUMBERED, FIRST_UNNUMBERED);
    for r in rules.filter(|r| !r.numbered) {
        let next = if is_v6(&r.entry) { &mut v6 } else { &mut v4 };
        r.entry.priority = *next;
        *next = next.saturating_sub(1);
    }
}

fn is_v6(e: &VrrpRuleEntry) -> bool {
    let addr = |t: &Option<String>| t.as_deref().is_some_and(|t| t.contains(':'));
    e.family == Some(Family::Ipv6) || addr(&e.from) || addr(&e.to)
}

/// One line's rule, and its tracking.
fn line(words: &[&str]) -> Result<(Rule, Tracking), String> {
    let mut r = VrrpRuleEntry::default();
    let (mut numbered, mut t) = (false, Tracking::default());
    let mut it = words.iter().copied();
    while let Some(w) = it.next() {
        let mut value = || it.next().map(str::to_string).ok_or_else(|| format!("`{w}` needs a value"));
        match w {
            "inet" => r.family = Some(Family::Ipv4),
            "inet6" => r.family = Some(Family::Ipv6),
            "not" => r.not = Some(true),
            "from" => r.from = selector(value()?),
            "to" => r.to = selector(value()?),
            "iif" | "dev" => r.iif = Some(value()?),
            "oif" => r.oif = Some(value()?),
            "fwmark" => r.fwmark = Some(mark(value()?)),
            "preference" | "priority" | "order" => {
                let v = value()?;
                r.priority = v.parse().map_err(|_| format!("preference `{v}` is not a whole number"))?;
                numbered = true;
            }
            "table" | "lookup" => r.table = Some(super::routes::table(&value()?)?),
            "type" => action(&mut r, &value()?, &mut it)?,
            "no_track" => t.no_track = true,
            "protocol" => t.protocol = Some(super::routes::protocol(&value()?, false)?),
            _ => further(&mut r, w, &mut it)?,
        }
    }
    if r.family.is_some() && (r.from.is_some() || r.to.is_some()) {
        r.family = None; // the addresses say it
    }
    if r.family == Some(Family::Ipv4) {
        r.family = None; // the default
    }
    Ok((Rule { entry: r, numbered }, t))
}

/// An action word (`type` is optional before it): a drop, `nop`, `goto N`.
fn action<'a>(r: &mut VrrpRuleEntry, w: &str, it: &mut impl Iterator<Item = &'a str>) -> Result<(), String> {
    match w {
        "goto" => {
            let v = it.next().ok_or("`goto` needs a value")?;
            r.goto = Some(v.parse().map_err(|_| format!("goto target `{v}` is not a whole number"))?);
        }
        _ => r.kind = Some(kind(w)?),
    }
    Ok(())
}

/// The selectors and options beyond addresses, interfaces and marks, as the manifest writes
/// them: numbers stay numbers, the rest text.
fn further<'a>(r: &mut VrrpRuleEntry, w: &str, it: &mut impl Iterator<Item = &'a str>) -> Result<(), String> {
    if matches!(w, "blackhole" | "unreachable" | "prohibit" | "nop" | "goto") {
        return action(r, w, it);
    }
    let mut value = || it.next().map(str::to_string).ok_or_else(|| format!("`{w}` needs a value"));
    let whole = |v: &str, what: &str| v.parse::<u64>().map_err(|_| format!("{what} `{v}` is not a whole number"));
    match w {
        "l3mdev" => r.l3mdev = Some(true),
        "tos" | "dsfield" => r.tos = Some(numeric(value()?, "DS field")?),
        "ipproto" => r.ipproto = Some(protocol(value()?)?),
        "sport" => r.sport = Some(number_or_text(value()?)),
        "dport" => r.dport = Some(number_or_text(value()?)),
        "uidrange" => r.uidrange = Some(value()?),
        "tunnel-id" => r.tunnel_id = Some(whole(&value()?, "tunnel-id")?),
        "realms" => r.realms = Some(numeric(value()?, "realm")?),
        "suppress_prefixlength" | "sup_pl" => {
            r.suppress_prefixlength =
                Some(u32::try_from(whole(&value()?, "suppress_prefixlength")?).map_err(|e| e.to_string())?)
        }
        "suppress_ifgroup" | "sup_group" => {
            r.suppress_ifgroup = Some(u32::try_from(whole(&value()?, "suppress_ifgroup")?).map_err(|e| e.to_string())?)
        }
        _ => return Err(format!("`{w}` is not a rule setting the manifest has")),
    }
    Ok(())
}

/// A number, decimal or `0x` hexadecimal (or `FROM/TO` of them), as written; a name
/// (from iproute2's tables) is not carried.
fn numeric(v: String, what: &str) -> Result<Scalar, String> {
    let number =
        |t: &str| t.parse::<u64>().is_ok() || t.strip_prefix("0x").is_some_and(|h| u64::from_str_radix(h, 16).is_ok());
    match v.split('/').all(number) {
        true => Ok(number_or_text(v)),
        false => Err(format!("{what} `{v}` is a name: only numbers are imported")),
    }
}

/// A protocol by number or by a name the manifest knows.
fn protocol(v: String) -> Result<Scalar, String> {
    match v.parse::<u64>().is_ok() || IP_PROTOCOLS.iter().any(|(n, _)| *n == v) {
        true => Ok(number_or_text(v)),
        false => Err(format!("protocol `{v}` is not one the manifest names: write its number")),
    }
}

/// A value in decimal as a number, any other as written.
fn number_or_text(v: String) -> Scalar {
    v.parse().map_or(Scalar::Text(v), Scalar::Int)
}

/// A mark in decimal alone as a number, any other as written.
fn mark(v: String) -> MarkSpec {
    v.parse().map_or(MarkSpec::Text(v), MarkSpec::Mark)
}

/// `all` is no selector; an address alone is a host.
fn selector(v: String) -> Option<String> {
    (v != "all").then_some(v)
}

fn kind(w: &str) -> Result<RuleType, String> {
    match w {
        "blackhole" => Ok(RuleType::Blackhole),
        "unreachable" => Ok(RuleType::Unreachable),
        "prohibit" => Ok(RuleType::Prohibit),
        "nop" => Ok(RuleType::Nop),
        _ => {
            Err(format!("rule type `{w}`: only `blackhole`, `unreachable`, `prohibit`, `nop` and `goto` are imported"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<(Rule, bool), String> {
        line(&text.split_whitespace().collect::<Vec<_>>()).map(|(r, t)| (r, t.no_track))
    }

    #[test]
    fn a_line_carries_its_selectors_action_and_preference_in_any_order() {
        let (r, no_track) =
            parsed("not iif eth1 from 10.9.0.0/24 fwmark 0x10/0xf0 lookup 100 order 7 no_track").unwrap();
        assert!(no_track && r.numbered);
        let e = r.entry;
        assert_eq!((e.priority, e.not, e.table), (7, Some(true), Some(100)));
        assert_eq!((e.from.as_deref(), e.iif.as_deref()), (Some("10.9.0.0/24"), Some("eth1")));
        assert_eq!(e.fwmark, Some(MarkSpec::Text("0x10/0xf0".into())));
        let (r, _) = parsed("fwmark 5 type prohibit inet6").unwrap();
        assert_eq!(
            (r.entry.fwmark, r.entry.kind, r.entry.family),
            (Some(MarkSpec::Mark(5)), Some(RuleType::Prohibit), Some(Family::Ipv6))
        );
        let (r, _) = parsed("inet from all to 192.0.2.1 table main priority 3").unwrap();
        assert_eq!(
            (r.entry.from, r.entry.to.as_deref(), r.entry.family, r.entry.table),
            (None, Some("192.0.2.1"), None, Some(254))
        );
    }

    #[test]
    fn what_a_rule_cannot_carry_leaves_it_out_with_the_reason() {
        for (text, why) in [
            ("from 10.9.0.0/24 protocol bird table 100", "protocol `bird`: only numbers"),
            ("from 10.9.0.0/24 tos lowdelay table 100", "DS field `lowdelay` is a name"),
            ("from 10.9.0.0/24 realms cosmos/2 table 100", "realm `cosmos/2` is a name"),
            ("ipproto ospf table 100", "protocol `ospf` is not one the manifest names"),
            ("from 10.9.0.0/24 goto x preference 10", "goto target `x` is not a whole number"),
            ("from 10.9.0.0/24 table local", "only numbered tables and `main`"),
            ("from 10.9.0.0/24 type nat", "rule type `nat`"),
            ("from", "`from` needs a value"),
        ] {
            let err = parsed(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn the_further_selectors_and_actions_are_carried() {
        let (r, _) = parsed("tos 0x10 ipproto tcp sport 1024-65534 dport 80 uidrange 0-999 tunnel-id 7 lookup 100 realms 1/2 sup_pl 0 sup_group 5 order 9").unwrap();
        let e = r.entry;
        assert_eq!((e.tos, e.ipproto), (Some(Scalar::Text("0x10".into())), Some(Scalar::Text("tcp".into()))));
        assert_eq!((e.sport, e.dport), (Some(Scalar::Text("1024-65534".into())), Some(Scalar::Int(80))));
        assert_eq!((e.uidrange.as_deref(), e.tunnel_id, e.table), (Some("0-999"), Some(7), Some(100)));
        assert_eq!(
            (e.realms, e.suppress_prefixlength, e.suppress_ifgroup),
            (Some(Scalar::Text("1/2".into())), Some(0), Some(5))
        );
        let actions =
            ["goto 20 order 10", "type goto 20 order 10", "nop order 10", "type nop order 10", "l3mdev order 10"];
        let got: Vec<_> =
            actions.iter().map(|t| parsed(t).unwrap().0.entry).map(|e| (e.goto, e.kind, e.l3mdev)).collect();
        let nop = (None, Some(RuleType::Nop), None);
        assert_eq!(got, [(Some(20), None, None), (Some(20), None, None), nop, nop, (None, None, Some(true))]);
    }

    #[test]
    fn rules_without_a_preference_get_keepaliveds_per_family() {
        let mut rules: Vec<Rule> = [
            "from 10.1.0.0/16 table 1",
            "from fd00::/64 table 1",
            "table 1 preference 5",
            "to 10.2.0.0/16 table 1",
            "table 2 inet6",
        ]
        .iter()
        .map(|t| parsed(t).unwrap().0)
        .collect();
        number(rules.iter_mut());
        let got: Vec<u32> = rules.iter().map(|r| r.entry.priority).collect();
        assert_eq!(got, [16384, 16384, 5, 16383, 16383]);
    }
}
