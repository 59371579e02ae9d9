//! keepalived's `virtual_routes { ... }` as an instance's `routes`: each line
//! `[TYPE] [src IP] [to] DEST [via|gw IP [or IP]] [dev IF] [table N|main] [metric|priority|preference N]
//! [onlink] [encap ...] [protocol P] [no_track]`, the words in any order after the type, and a
//! multipath route's paths after them (`nexthop via IP dev IF weight N onlink encap ...`, as
//! many as given); `via A or B` is two paths. What a route cannot carry (`scope`, named
//! tables other than `main`, `realms`, ...) leaves that route out, with its place. The loop
//! over a block's lines serves `virtual_rules` too, and so does the reading of `protocol`.

use super::conf::Item;
use super::value::Notes;
use crate::manifest::types::{NextHopEntry, RouteType, VrrpRouteEntry};

/// The routes of a `virtual_routes` block.
pub fn block(item: &Item, notes: &mut Notes) -> Vec<VrrpRouteEntry> {
    // keepalived tracks only a route with an interface.
    lines(item, notes, ("virtual route", "routes"), line, |r| {
        r.dev.is_some() || r.nexthops.iter().any(|h| h.dev.is_some())
    })
}

/// What a line says beside its entry: `no_track`, and the `protocol` it asks for.
#[derive(Debug, Default)]
pub(super) struct Tracking {
    /// The line says `no_track`.
    pub no_track: bool,
    /// Its `protocol`.
    pub protocol: Option<u8>,
}

/// Reads one line's words: its entry and its tracking, or why not.
pub(super) type LineParser<T> = fn(&[&str]) -> Result<(T, Tracking), String>;

/// keepalived's own route and rule protocol (`RTPROT_KEEPALIVED`).
const RTPROT_KEEPALIVED: u8 = 18;

/// The entries of a `virtual_routes` or `virtual_rules` block, one a line, each with
/// whether it says `no_track`; what a line cannot carry is reported at it. keepalived
/// leaves master when a `tracked` entry without `no_track` is deleted by hand: reported.
/// keepalived replaces the `protocol` of a tracked entry by its own (18), as lbconverge
/// marks every one it holds with its own (77): carried as that. An entry with `no_track`
/// keeps its protocol in keepalived: reported.
pub(super) fn lines<T>(
    item: &Item,
    notes: &mut Notes,
    (what, plural): (&str, &str),
    parse: LineParser<T>,
    tracked: fn(&T) -> bool,
) -> Vec<T> {
    let mut out = Vec::new();
    let mut untracked = true;
    for it in item.children() {
        let words: Vec<&str> = std::iter::once(it.keyword.as_str()).chain(it.args.iter().map(String::as_str)).collect();
        match parse(&words) {
            Ok((r, t)) => {
                untracked &= t.no_track || !tracked(&r);
                if let Some(p) = t.protocol.filter(|p| t.no_track && *p != RTPROT_KEEPALIVED) {
                    let message = format!(
                        "{what} `{}`: keepalived writes it with protocol {p} because it says `no_track`; lbconverge writes every one it holds with its own, 77",
                        words.join(" ")
                    );
                    notes.note(&it.at, message);
                }
                out.push(r);
            }
            Err(why) => notes.note(&it.at, format!("{what} `{}` not imported: {why}", words.join(" "))),
        }
    }
    if !untracked {
        let message = format!(
            "keepalived leaves master when one of these {plural} is deleted by hand; lbconverge puts it back at the next takeover only (keepalived's `no_track`)"
        );
        notes.note(&item.at, message);
    }
    out
}

/// The protocols keepalived names without /etc/iproute2/rt_protos (and its own).
const PROTOCOL_NAMES: [(&str, u8); 16] = [
    ("none", 0),
    ("redirect", 1),
    ("kernel", 2),
    ("boot", 3),
    ("static", 4),
    ("gated", 8),
    ("ra", 9),
    ("mrt", 10),
    ("zebra", 11),
    ("bird", 12),
    ("dnrouted", 13),
    ("xorp", 14),
    ("ntk", 15),
    ("dhcp", 16),
    ("keepalived", 18),
    ("babel", 42),
];

/// A route's or rule's `protocol`: a number 0..255 or, where `named`, a built-in name.
pub(super) fn protocol(v: &str, named: bool) -> Result<u8, String> {
    let name = PROTOCOL_NAMES.iter().find(|(n, _)| named && *n == v).map(|(_, p)| *p);
    name.or_else(|| v.parse().ok())
        .ok_or_else(|| format!("protocol `{v}`: only numbers 0..255 and iproute2's built-in names are imported"))
}

/// One line's route, and its tracking.
fn line(words: &[&str]) -> Result<(VrrpRouteEntry, Tracking), String> {
    let mut r = VrrpRouteEntry {
        to: String::new(),
        kind: None,
        via: None,
        dev: None,
        src: None,
        table: None,
        metric: None,
        nexthops: Vec::new(),
        onlink: None,
        encap: None,
    };
    let mut t = Tracking::default();
    let mut or = None;
    let mut it = words.iter().copied().peekable();
    while let Some(w) = it.next() {
        let mut value = || it.next().map(str::to_string).ok_or_else(|| format!("`{w}` needs a value"));
        match w {
            "blackhole" | "unreachable" | "prohibit" if r.kind.is_none() && r.to.is_empty() => r.kind = Some(kind(w)),
            "src" => r.src = Some(value()?),
            "to" => r.to = value()?,
            "via" | "gw" => r.via = Some(value()?),
            "dev" | "oif" => r.dev = Some(value()?),
            "table" => r.table = Some(table(&value()?)?),
            "metric" | "priority" | "preference" => {
                let v = value()?;
                r.metric = Some(v.parse().map_err(|_| format!("metric `{v}` is not a whole number"))?);
            }
            "no_track" => t.no_track = true,
            "protocol" => t.protocol = Some(protocol(&value()?, true)?),
            "onlink" => r.onlink = Some(true),
            "encap" => r.encap = Some(super::encap::parse(&mut it)?),
            "or" if or.is_some() => {
                return Err("a second `or`, which keepalived ignores: write the paths as `nexthop`s".into());
            }
            "or" => or = Some(value()?),
            "nexthop" if or.is_some() => return Err("`nexthop` beside `or`, which keepalived refuses".into()),
            "nexthop" => {
                let rest: Vec<&str> = it.by_ref().collect();
                r.nexthops = nexthops(&rest)?;
            }
            _ if r.to.is_empty() && (w.contains('/') || w.parse::<std::net::IpAddr>().is_ok() || w == "default") => {
                r.to = w.to_string();
            }
            _ => return Err(format!("`{w}` is not a route setting the manifest has")),
        }
    }
    if r.to.is_empty() {
        return Err("no destination".into());
    }
    if !r.to.contains('/') && r.to != "default" {
        r.to = format!("{}/{}", r.to, if r.to.contains(':') { 128 } else { 32 });
    }
    if r.to == "0.0.0.0/0" {
        r.to = "default".into();
    }
    if let Some(second) = or {
        either(&mut r, second)?;
    }
    if let [one] = r.nexthops.as_slice() {
        // One path is a plain route (its weight means nothing alone).
        if r.via.is_some() || r.dev.is_some() || r.onlink.is_some() || r.encap.is_some() {
            return Err("`via`, `dev`, `onlink` or `encap` beside `nexthop`".into());
        }
        (r.via, r.dev, r.onlink, r.encap) = (one.via.clone(), one.dev.clone(), one.onlink, one.encap.clone());
        r.nexthops.clear();
    }
    Ok((r, t))
}

/// keepalived's deprecated `via A or B`: two paths of equal weight, the first `via A` out of
/// the route's `dev` (keepalived's `RTA_OIF`, which the kernel holds the first path to), the
/// second `via B` wherever the kernel finds B. The route's `onlink` and `encap` stay on the
/// route in keepalived, where the kernel ignores them beside paths: so they are refused.
fn either(r: &mut VrrpRouteEntry, second: String) -> Result<(), String> {
    let Some(first) = r.via.take() else { return Err("`or` without `via`".into()) };
    if r.onlink.is_some() || r.encap.is_some() {
        return Err("`onlink` or `encap` beside `or`: keepalived sets them on the route, not on its paths".into());
    }
    let path = |via, dev| NextHopEntry { via: Some(via), dev, weight: None, onlink: None, encap: None };
    r.nexthops = vec![path(first, r.dev.take()), path(second, None)];
    Ok(())
}

/// The paths after the first `nexthop`: each `via IP`, `dev IF`, `weight N` (keepalived
/// writes the rest of the line as paths).
fn nexthops(words: &[&str]) -> Result<Vec<NextHopEntry>, String> {
    let empty = || NextHopEntry { via: None, dev: None, weight: None, onlink: None, encap: None };
    let mut out: Vec<NextHopEntry> = vec![empty()];
    let mut it = words.iter().copied().peekable();
    while let Some(w) = it.next() {
        let mut value = || it.next().map(str::to_string).ok_or_else(|| format!("`{w}` needs a value"));
        let Some(hop) = out.last_mut() else { break };
        match w {
            "nexthop" => out.push(empty()),
            "onlink" => hop.onlink = Some(true),
            "encap" => hop.encap = Some(super::encap::parse(&mut it)?),
            "via" => hop.via = Some(value()?),
            "dev" => hop.dev = Some(value()?),
            "weight" => {
                let v = value()?;
                let n = v.parse::<u16>().ok().filter(|n| (1..=256).contains(n));
                hop.weight = Some(n.ok_or_else(|| format!("weight `{v}` is not 1 to 256"))?);
            }
            _ => return Err(format!("`{w}` is not a setting of a path the manifest has")),
        }
    }
    if out.iter().any(|h| h.via.is_none() && h.dev.is_none()) {
        return Err("a `nexthop` without `via` or `dev`".into());
    }
    for h in &mut out {
        h.weight = h.weight.filter(|w| *w != 1);
    }
    Ok(out)
}

fn kind(w: &str) -> RouteType {
    match w {
        "blackhole" => RouteType::Blackhole,
        "unreachable" => RouteType::Unreachable,
        _ => RouteType::Prohibit,
    }
}

/// A numbered table, or `main`.
pub(super) fn table(v: &str) -> Result<u32, String> {
    match v {
        "main" => Ok(254),
        _ => v.parse().map_err(|_| format!("table `{v}`: only numbered tables and `main` are imported")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<VrrpRouteEntry, String> {
        line(&text.split_whitespace().collect::<Vec<_>>()).map(|(r, _)| r)
    }

    #[test]
    fn nexthops_are_a_multipath_route_and_one_alone_a_plain_route() {
        let r = parsed("10.21.0.0/16 table 100 nexthop via 10.9.0.1 dev eth0 weight 1 nexthop via 10.9.1.1 weight 3 nexthop dev eth1").unwrap();
        let hop = |via: Option<&str>, dev: Option<&str>, weight| NextHopEntry {
            via: via.map(String::from),
            dev: dev.map(String::from),
            weight,
            onlink: None,
            encap: None,
        };
        assert_eq!(
            r.nexthops,
            [
                hop(Some("10.9.0.1"), Some("eth0"), None),
                hop(Some("10.9.1.1"), None, Some(3)),
                hop(None, Some("eth1"), None)
            ]
        );
        assert_eq!(r.table, Some(100));
        let one = parsed("10.23.0.0/16 nexthop via 10.9.0.9 dev eth0 weight 4").unwrap();
        assert_eq!((one.via.as_deref(), one.dev.as_deref(), one.nexthops.len()), (Some("10.9.0.9"), Some("eth0"), 0));
        for (text, why) in [
            ("10.24.0.0/16 nexthop via 10.9.0.1 realms 2 nexthop via 10.9.0.5", "`realms` is not a setting of a path"),
            ("10.24.0.0/16 nexthop via 10.9.0.1 weight 0 nexthop via 10.9.0.5", "weight `0` is not 1 to 256"),
            ("10.24.0.0/16 nexthop weight 2 nexthop via 10.9.0.5", "without `via` or `dev`"),
            ("10.24.0.0/16 via 10.9.0.1 nexthop via 10.9.0.5", "beside `nexthop`"),
        ] {
            let err = parsed(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
