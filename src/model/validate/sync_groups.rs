//! Sync groups (keepalived's `vrrp_sync_group`): each member instance exists and is in one
//! group only; the members have the same directors (a group moves together on each
//! director that runs it, so an instance missing on one of them could not follow); group
//! tracking (scripts, interfaces, files, processes) and notify commands are checked like an
//! instance's. A group of one instance is accepted with a warning, as keepalived does.
//! Unless the group keeps weights (`tracking_weight`), a member's own weighted tracked
//! objects follow keepalived's rule ([`member_weight_in_group`]), each with a warning, as
//! keepalived logs it; the group's own objects keep their weights, as in keepalived.

use std::collections::BTreeMap;

use crate::manifest::KeyPath;
use crate::manifest::types;
use crate::model::cluster::{FileWeight, InGroup, SyncGroup, VrrpInstance, member_weight_in_group};
use crate::vrrp::track::Kind;

use super::Cx;

/// Validates every sync group against the validated instances.
pub fn sync_groups(
    cx: &mut Cx,
    at: &KeyPath,
    groups: &BTreeMap<String, types::SyncGroup>,
    instances: &BTreeMap<String, VrrpInstance>,
    (scripts, m_files, m_procs): super::vrrp::Tracked<'_>,
) -> BTreeMap<String, SyncGroup> {
    let mut first: BTreeMap<&str, &str> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (name, g) in groups {
        let path = at.name(name);
        members(cx, &path, name, g, instances, &mut first);
        super::vrrp::tracked(cx, &path, &g.track_scripts, &g.track_interfaces, scripts);
        super::vrrp::known_files_processes(cx, &path, (&g.track_files, &g.track_processes), (m_files, m_procs));
        let tracking_weight = g.tracking_weight.unwrap_or(false);
        if !tracking_weight {
            member_weights(cx, name, g, instances);
        }
        let notify = super::vrrp::notify(
            cx,
            &path,
            [&g.notify_master, &g.notify_backup, &g.notify_fault, &g.notify_stop, &g.notify, &None],
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
                // A track file weighs 1 unless it says, a tracked process 0, as an instance's.
                track_files: super::vrrp::used_weights(&g.track_files, m_files, 1),
                track_processes: super::vrrp::used_weights(&g.track_processes, m_procs, 0),
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

/// A member's own weighted tracked objects in a group without `tracking_weight`, each
/// warned about as keepalived's rule treats it ([`member_weight_in_group`]).
fn member_weights(cx: &mut Cx, name: &str, g: &types::SyncGroup, instances: &BTreeMap<String, VrrpInstance>) {
    for inst in g.instances.iter().filter_map(|i| instances.get(i)) {
        for (node, m) in &inst.members {
            let p = KeyPath::root().key("vrrp").name(&inst.name).key("members").name(node);
            let kinds = [
                (Kind::Script, &m.track_scripts),
                (Kind::Interface, &m.track_interfaces),
                (Kind::File, &m.track_files),
                (Kind::Process, &m.track_processes),
            ];
            for (kind, objects) in kinds {
                for (o, w) in objects.iter().filter(|(_, w)| w.weight != 0) {
                    let (msg, hint) = weight_warning(kind, o, *w, name);
                    cx.warn(&p, msg, Some(hint));
                }
            }
        }
    }
}

/// The warning, and its hint, for a member's weighted `kind` `o` in sync group `group`.
fn weight_warning(kind: Kind, o: &str, w: FileWeight, group: &str) -> (String, &'static str) {
    let weight = if w.reverse { format!("{} reverse", w.weight) } else { w.weight.to_string() };
    let when = if w.reverse { "success" } else { "failure" };
    match member_weight_in_group(kind, w) {
        InGroup::Zeroed => (
            format!(
                "weight {weight} of {kind} `{o}` counts as 0 in sync group `{group}`: its {when} puts the group in FAULT (keepalived's rule)"
            ),
            "set `tracking_weight: true` on the group to keep weights, or write weight 0",
        ),
        InGroup::Dropped => (
            format!(
                "{kind} `{o}` with weight {weight} is not tracked in sync group `{group}`: keepalived ignores a member's weighted {kind}s there"
            ),
            "write weight 0 (its failure puts the group in FAULT), track it under the group's own tracking, or set `tracking_weight: true` on the group",
        ),
        InGroup::Kept => (
            format!(
                "weight {weight} of {kind} `{o}` moves this member's priority alone in sync group `{group}` (keepalived keeps it): members of differing priorities can split the group"
            ),
            "write weight 0 (its failure puts the group in FAULT), or track it under the group's own tracking",
        ),
    }
}
