//! keepalived's `virtual_routes { ... }` as an instance's `routes`: each line
//! `[TYPE] [src IP] [to] DEST [via|gw IP] [dev IF] [table N|main] [metric|priority|preference N] [no_track]`,
//! the words in any order after the type. What a route cannot carry (a second next hop with
//! `or`, `scope`, `proto`, named tables other than `main`, ...) leaves that route out, with
//! its place.

use super::conf::Item;
use super::value::Notes;
use crate::manifest::types::{RouteType, VrrpRouteEntry};

/// The routes of a `virtual_routes` block.
pub fn block(item: &Item, notes: &mut Notes) -> Vec<VrrpRouteEntry> {
    let mut out = Vec::new();
    let mut untracked = true;
    for it in item.children() {
        let words: Vec<&str> = std::iter::once(it.keyword.as_str()).chain(it.args.iter().map(String::as_str)).collect();
        match line(&words) {
            Ok((r, no_track)) => {
                // keepalived tracks only a route with an interface.
                untracked &= no_track || r.dev.is_none();
                out.push(r);
            }
            Err(why) => notes.note(&it.at, format!("virtual route `{}` not imported: {why}", words.join(" "))),
        }
    }
    if !untracked {
        notes.note(
            &item.at,
            "keepalived leaves master when one of these routes is deleted by hand; lbconverge puts it back at the next takeover only (keepalived's `no_track`)".into(),
        );
    }
    out
}

/// One line's route, and whether it says `no_track`.
fn line(words: &[&str]) -> Result<(VrrpRouteEntry, bool), String> {
    let mut r =
        VrrpRouteEntry { to: String::new(), kind: None, via: None, dev: None, src: None, table: None, metric: None };
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
            "or" => return Err("a second next hop (`or`): a route here has one".into()),
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
    Ok((r, no_track))
}

fn kind(w: &str) -> RouteType {
    match w {
        "blackhole" => RouteType::Blackhole,
        "unreachable" => RouteType::Unreachable,
        _ => RouteType::Prohibit,
    }
}

fn table(v: &str) -> Result<u32, String> {
    match v {
        "main" => Ok(254),
        _ => v.parse().map_err(|_| format!("table `{v}`: only numbered tables and `main` are imported")),
    }
}
