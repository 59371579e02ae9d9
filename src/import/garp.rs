//! keepalived's announcement timing (`vrrp_garp_*`, `vrrp_gna_interval`, `vrrp_min_garp`,
//! `garp_group`, and an instance's `garp_master_*` / `garp_lower_prio_*`) as the manifest's
//! `garp_*` keys of one instance: keepalived's effective values, each written only where it
//! differs from what the manifest would take without it.

use super::conf::Item;
use super::value::{self, Notes};
use crate::manifest::types::Duration;

/// The settings as written, in `global_defs` or in one `vrrp_instance` (seconds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Written {
    repeat: Option<u32>,
    delay: Option<f64>,
    refresh: Option<f64>,
    refresh_repeat: Option<u32>,
    lower_repeat: Option<u32>,
    lower_delay: Option<f64>,
    interval: Option<f64>,
    na_interval: Option<f64>,
}

/// A `garp_group`: the gaps it sets on its interfaces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Group {
    interfaces: Vec<String>,
    interval: Option<f64>,
    na_interval: Option<f64>,
}

/// The manifest's keys of one instance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Keys {
    /// `garp_repeat`.
    pub repeat: Option<u32>,
    /// `garp_delay`.
    pub delay: Option<Duration>,
    /// `garp_refresh`.
    pub refresh: Option<Duration>,
    /// `garp_refresh_repeat`.
    pub refresh_repeat: Option<u32>,
    /// `garp_lower_priority_repeat`.
    pub lower_repeat: Option<u32>,
    /// `garp_lower_priority_delay`.
    pub lower_delay: Option<Duration>,
    /// `garp_interval`.
    pub interval: Option<Duration>,
    /// `gna_interval`.
    pub na_interval: Option<Duration>,
}

/// Reads a `global_defs` keyword of announcement timing; false when `it` is not one.
pub fn global(it: &Item, g: &mut Written, notes: &mut Notes) -> bool {
    match it.keyword.as_str() {
        "vrrp_garp_master_repeat" => g.repeat = value::number(it, notes),
        "vrrp_garp_master_delay" => g.delay = secs(it, notes),
        "vrrp_garp_master_refresh" => g.refresh = secs(it, notes),
        "vrrp_garp_master_refresh_repeat" => g.refresh_repeat = value::number(it, notes),
        "vrrp_garp_lower_prio_repeat" => g.lower_repeat = value::number(it, notes),
        "vrrp_garp_lower_prio_delay" => g.lower_delay = secs(it, notes),
        "vrrp_garp_interval" => g.interval = gap(it, notes),
        "vrrp_gna_interval" => g.na_interval = gap(it, notes),
        "vrrp_min_garp" if value::flag(it) => min_garp(g),
        "vrrp_min_garp" => {}
        _ => return false,
    }
    true
}

/// keepalived's `vrrp_min_garp`: one message, no second burst, no refresh (a refresh of no
/// message), each unless written before it; what is written after it wins.
fn min_garp(g: &mut Written) {
    g.repeat.get_or_insert(1);
    g.delay.get_or_insert(0.0);
    g.refresh.get_or_insert(0.0);
    g.refresh_repeat.get_or_insert(0);
}

/// Reads an instance's keyword of announcement timing; false when `it` is not one.
pub fn instance(it: &Item, i: &mut Written, notes: &mut Notes) -> bool {
    match it.keyword.as_str() {
        "garp_master_repeat" => i.repeat = value::number(it, notes),
        "garp_master_delay" => i.delay = secs(it, notes),
        "garp_master_refresh" => i.refresh = secs(it, notes),
        "garp_master_refresh_repeat" => i.refresh_repeat = value::number(it, notes),
        "garp_lower_prio_repeat" => i.lower_repeat = value::number(it, notes),
        "garp_lower_prio_delay" => i.lower_delay = secs(it, notes),
        _ => return false,
    }
    true
}

/// `garp_group { garp_interval S; gna_interval S; interface IF | interfaces { IF ... } }`.
pub fn group(item: &Item, notes: &mut Notes) -> Group {
    let mut g = Group::default();
    for it in item.children() {
        match it.keyword.as_str() {
            "garp_interval" => g.interval = gap(it, notes),
            "gna_interval" => g.na_interval = gap(it, notes),
            "interface" => g.interfaces.extend(it.arg().map(str::to_string)),
            "interfaces" => g.interfaces.extend(it.children().iter().map(|c| c.keyword.clone())),
            _ => notes.unsupported(it, "not a `garp_group` setting"),
        }
    }
    if g.interfaces.is_empty() {
        notes.note(&item.at, "`garp_group` names no interface; keepalived ignores it, and so does the import".into());
    }
    g
}

/// The manifest keys of an instance on `interface` (None: the node's own) with `mine`
/// written in it, under `globals` and `groups`.
pub fn keys(mine: &Written, globals: &Written, groups: &[Group], interface: Option<&str>) -> Keys {
    let repeat = mine.repeat.or(globals.repeat).unwrap_or(5);
    let delay = mine.delay.or(globals.delay).unwrap_or(5.0);
    let refresh = mine.refresh.or(globals.refresh).unwrap_or(0.0);
    let refresh_repeat = mine.refresh_repeat.or(globals.refresh_repeat).unwrap_or(1);
    // keepalived's lower-priority defaults come from the globals, not the instance's own.
    let lower_repeat = mine.lower_repeat.or(globals.lower_repeat).or(globals.repeat).unwrap_or(5);
    let lower_delay = mine.lower_delay.or(globals.lower_delay).or(globals.delay).unwrap_or(5.0);
    let group = groups.iter().find(|g| interface.is_some_and(|i| g.interfaces.iter().any(|x| x == i)));
    let interval = group.and_then(|g| g.interval).or(globals.interval).unwrap_or(0.0);
    let na_interval = group.and_then(|g| g.na_interval).or(globals.na_interval).unwrap_or(0.0);
    // A refresh of no message is none.
    let positive = refresh > 0.0 && refresh_repeat > 0;
    Keys {
        repeat: (repeat != 5).then_some(repeat.max(1)),
        delay: (delay != 5.0).then(|| text(delay)),
        refresh: positive.then(|| text(refresh)),
        refresh_repeat: (positive && refresh_repeat != 1).then_some(refresh_repeat),
        lower_repeat: (lower_repeat != repeat.max(1)).then_some(lower_repeat),
        lower_delay: (lower_delay != delay).then(|| text(lower_delay)),
        interval: (interval > 0.0).then(|| text(interval)),
        na_interval: (na_interval > 0.0).then(|| text(na_interval)),
    }
}

fn secs(it: &Item, notes: &mut Notes) -> Option<f64> {
    value::seconds(it, notes).and(it.arg()).and_then(|a| a.parse().ok())
}

/// A gap between two announcements: the manifest takes at most 1s (keepalived warns
/// from 1s on).
fn gap(it: &Item, notes: &mut Notes) -> Option<f64> {
    let s = secs(it, notes)?;
    if s > 1.0 {
        notes.note(&it.at, format!("`{}` {s}: the manifest's gaps are at most 1s; imported as 1s", it.keyword));
        return Some(1.0);
    }
    Some(s)
}

fn text(s: f64) -> Duration {
    Duration::Text(format!("{s}s"))
}
