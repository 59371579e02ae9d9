//! keepalived's `virtual_routes { ... }` as an instance's `routes`: each line
//! `[TYPE] [src IP] [to] DEST [via|gw IP] [dev IF] [table N|main] [metric|priority|preference N] [no_track]`,
//! the words in any order after the type, and a multipath route's paths after them
//! (`nexthop via IP dev IF weight N`, as many as given). What a route cannot carry (a second
//! next hop with `or`, `scope`, `proto`, named tables other than `main`, `onlink`, ...)
//! leaves that route out, with its place. The loop over a block's lines serves
//! `virtual_rules` too.

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

/// Reads one line's words: its entry and whether it says `no_track`, or why not.
pub(super) type LineParser<T> = fn(&[&str]) -> Result<(T, bool), String>;

/// The entries of a `virtual_routes` or `virtual_rules` block, one a line, each with
/// whether it says `no_track`; what a line cannot carry is reported at it. keepalived
/// leaves master when a `tracked` entry without `no_track` is deleted by hand: reported.
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
            Ok((r, no_track)) => {
                untracked &= no_track || !tracked(&r);
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

/// One line's route, and whether it says `no_track`.
fn line(words: &[&str]) -> Result<(VrrpRouteEntry, bool), String> {
    let mut r = VrrpRouteEntry {
        to: String::new(),
        kind: None,
        via: None,
        dev: None,
        src: None,
        table: None,
        metric: None,
        nexthops: Vec::new(),
    };
    let mut no_track = false;
    let mut it = words.iter().copied();
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
            "no_track" => no_track = true,
            "or" => return Err("a second next hop (`or`): a route here has one, or `nexthops`".into()),
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
    if let [one] = r.nexthops.as_slice() {
        // One path is a plain route (its weight means nothing alone).
        if r.via.is_some() || r.dev.is_some() {
            return Err("`via` or `dev` beside `nexthop`".into());
        }
        (r.via, r.dev) = (one.via.clone(), one.dev.clone());
        r.nexthops.clear();
    }
    Ok((r, no_track))
}

/// The paths after the first `nexthop`: each `via IP`, `dev IF`, `weight N` (keepalived
/// writes the rest of the line as paths).
fn nexthops(words: &[&str]) -> Result<Vec<NextHopEntry>, String> {
    let mut out: Vec<NextHopEntry> = vec![NextHopEntry { via: None, dev: None, weight: None }];
    let mut it = words.iter().copied();
    while let Some(w) = it.next() {
        let mut value = || it.next().map(str::to_string).ok_or_else(|| format!("`{w}` needs a value"));
        let Some(hop) = out.last_mut() else { break };
        match w {
            "nexthop" => out.push(NextHopEntry { via: None, dev: None, weight: None }),
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
            ("10.24.0.0/16 nexthop via 10.9.0.1 onlink nexthop via 10.9.0.5", "`onlink` is not a setting of a path"),
            ("10.24.0.0/16 nexthop via 10.9.0.1 weight 0 nexthop via 10.9.0.5", "weight `0` is not 1 to 256"),
            ("10.24.0.0/16 nexthop weight 2 nexthop via 10.9.0.5", "without `via` or `dev`"),
            ("10.24.0.0/16 via 10.9.0.1 nexthop via 10.9.0.5", "beside `nexthop`"),
        ] {
            let err = parsed(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
