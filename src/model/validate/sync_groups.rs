//! Sync groups (keepalived's `vrrp_sync_group`): each member instance exists and is in one
//! group only; the members have the same directors (a group moves together on each
//! director that runs it, so an instance missing on one of them could not follow); group
//! tracking and notify commands are checked like an instance's. A group of one instance
//! is accepted with a warning, as keepalived does; weighted tracking of a member counts as
//! weight 0 unless the group keeps weights (`tracking_weight`), which is said with a
//! warning, as keepalived says it.

use std::collections::BTreeMap;

use crate::manifest::KeyPath;
use crate::manifest::types;
use crate::model::cluster::{FileWeight, SyncGroup, TrackScript, VrrpInstance};

use super::Cx;

/// Validates every sync group against the validated instances.
pub fn sync_groups(
    cx: &mut Cx,
    at: &KeyPath,
    groups: &BTreeMap<String, types::SyncGroup>,
    instances: &BTreeMap<String, VrrpInstance>,
    scripts: &BTreeMap<String, TrackScript>,
) -> BTreeMap<String, SyncGroup> {
    let mut first: BTreeMap<&str, &str> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (name, g) in groups {
        let path = at.name(name);
        members(cx, &path, name, g, instances, &mut first);
        super::vrrp::tracked(cx, &path, &g.track_scripts, &g.track_interfaces, scripts);
        let tracking_weight = g.tracking_weight.unwrap_or(false);
        if !tracking_weight {
            ignored_weights(cx, at, name, g, instances);
        }
        let notify = super::vrrp::notify(
            cx,
            &path,
            [&g.notify_master, &g.notify_backup, &g.notify_fault, &g.notify_stop, &g.notify],
        );
        let weights = |m: &BTreeMap<String, types::TrackWeight>| {
            m.iter().map(|(k, w)| (k.clone(), super::vrrp::track_weight(w))).collect()
        };
        out.insert(
            name.clone(),
            SyncGroup {
                name: name.clone(),
                instances: g.instances.clone(),
                track_scripts: weights(&g.track_scripts),
                track_interfaces: weights(&g.track_interfaces),
                tracking_weight,
                notify,
                notify_timeout: super::vrrp::notify_timeout(cx, &path.key("notify_timeout"), g.notify_timeout.as_ref()),
            },
        );
    }
    out
}

/// Each member exists, is named once and is in no other group; all have the same
/// directors; a group of one is warned about.
fn members<'a>(
    cx: &mut Cx,
    path: &KeyPath,
    name: &'a str,
    g: &'a types::SyncGroup,
    instances: &BTreeMap<String, VrrpInstance>,
    first: &mut BTreeMap<&'a str, &'a str>,
) {
    let at = path.key("instances");
    let mut directors: Option<(&str, Vec<&String>)> = None;
    for (n, member) in g.instances.iter().enumerate() {
        let Some(inst) = instances.get(member) else {
            let known: Vec<&str> = instances.keys().map(String::as_str).collect();
            let hint = match known.is_empty() {
                true => "define it under `vrrp`".to_string(),
                false => format!("name an instance under `vrrp` (defined: {})", known.join(", ")),
            };
            cx.error(&at.index(n), format!("unknown VRRP instance `{member}`"), Some(&hint));
            continue;
        };
        match first.get(member.as_str()) {
            Some(other) if *other == name => {
                cx.error(
                    &at.index(n),
                    format!("instance `{member}` is named twice in this group"),
                    Some("name it once"),
                );
                continue;
            }
            Some(other) => {
                let msg =
                    format!("instance `{member}` is already in sync group `{other}`; an instance is in one group only");
                cx.error(&at.index(n), msg, Some("merge the two groups, or take it out of one"));
                continue;
            }
            None => {
                first.insert(member, name);
            }
        }
        let nodes: Vec<&String> = inst.members.keys().collect();
        match &directors {
            None => directors = Some((member, nodes)),
            Some((f, fnodes)) if *fnodes != nodes => {
                let list = |v: &[&String]| v.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
                let msg = format!(
                    "instance `{member}` runs on {} but `{f}` on {}: the members of a sync group move together on each director, so they need the same directors",
                    list(&nodes),
                    list(fnodes)
                );
                cx.error(&at.index(n), msg, Some("give every member instance the same `members`, or split the group"));
            }
            Some(_) => {}
        }
    }
    if g.instances.len() == 1 {
        cx.warn(
            &at,
            format!("sync group `{name}` has one instance: it behaves as the instance alone, plus the group's tracking and notify commands"),
            Some("add the instances that must move with it, or drop the group"),
        );
    }
}

/// Weighted tracking of a member instance, or of the group: without `tracking_weight` each
/// weight counts as 0 (keepalived ignores weights in a sync group).
fn ignored_weights(
    cx: &mut Cx,
    at: &KeyPath,
    name: &str,
    g: &types::SyncGroup,
    instances: &BTreeMap<String, VrrpInstance>,
) {
    let hint = Some("set `tracking_weight: true` on the group to keep weights, or write weight 0");
    let group = at.name(name);
    let own =
        g.track_scripts.iter().map(|(o, w)| (group.key("track_scripts").name(o), o, super::vrrp::track_weight(w)));
    let own = own.chain(
        g.track_interfaces
            .iter()
            .map(|(o, w)| (group.key("track_interfaces").name(o), o, super::vrrp::track_weight(w))),
    );
    let mut weighted: Vec<(KeyPath, String, FileWeight)> =
        own.filter(|(_, _, w)| w.weight != 0).map(|(p, o, w)| (p, o.clone(), w)).collect();
    for inst in g.instances.iter().filter_map(|i| instances.get(i)) {
        for (node, m) in &inst.members {
            let objects = m.track_scripts.iter().chain(&m.track_interfaces).filter(|(_, w)| w.weight != 0);
            for (o, w) in objects {
                let p = KeyPath::root().key("vrrp").name(&inst.name).key("members").name(node);
                weighted.push((p, o.clone(), *w));
            }
        }
    }
    for (p, o, w) in weighted {
        let (weight, when) =
            if w.reverse { (format!("{} reverse", w.weight), "success") } else { (w.weight.to_string(), "failure") };
        let msg = format!(
            "weight {weight} of `{o}` counts as 0 in sync group `{name}`: its {when} puts the group in FAULT (keepalived's rule)"
        );
        cx.warn(&p, msg, hint);
    }
}
