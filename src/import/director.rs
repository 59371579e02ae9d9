//! One director's keepalived.conf, read into manifest pieces: its name (`router_id`), VRRP
//! instances, `vrrp_script`s, track files, tracked processes and virtual services, each with where it was written.

use std::collections::BTreeMap;

use super::check::Cascade;
use super::conf::{Item, Loc};
use super::service::{self, Vs};
use super::value::Notes;
use super::vrrp::{self, Globals, Instance};
use crate::manifest::types::{TrackFile, TrackProcess, TrackScript, TrackWeight};

/// What one director's configuration holds.
#[derive(Debug, Clone)]
pub struct Director {
    /// The node's name: `router_id`, else its config id ([`config_id`]).
    pub name: String,
    /// The top file, as given.
    pub file: String,
    /// Where the name comes from.
    pub named_at: Loc,
    /// `vrrp_instance`s, in file order.
    pub instances: Vec<Instance>,
    /// `vrrp_script`s by name.
    pub scripts: BTreeMap<String, (TrackScript, Loc)>,
    /// `track_file`s (and the deprecated `vrrp_track_file`) by name.
    pub files: BTreeMap<String, (TrackFile, Loc)>,
    /// `vrrp_track_process`es by name.
    pub processes: BTreeMap<String, (TrackProcess, Loc)>,
    /// `virtual_server`s, in file order.
    pub services: Vec<Vs>,
    /// `global_defs { lvs_timeouts }`.
    pub timeouts: Option<crate::manifest::types::IpvsTimeouts>,
    /// `vrrp_sync_group`s, in file order.
    pub groups: Vec<vrrp::SyncGroupConf>,
    /// `global_defs`' mail settings as `alerts:`, with where they are.
    pub alerts: Option<(crate::manifest::types::Alerts, Loc)>,
    /// `global_defs { net_namespace }`.
    pub network_namespace: Option<String>,
    /// `global_defs { max_auto_priority min_auto_priority_delay }`.
    pub auto_realtime: Option<crate::manifest::types::AutoRealtime>,
    /// `global_defs { dynamic_interfaces }`.
    pub dynamic_interfaces: bool,
    /// `global_defs`' notify FIFOs as `notify_fifos:`, with where the first is.
    pub notify_fifos: Option<(Vec<crate::manifest::types::NotifyFifo>, Loc)>,
}

/// Reads one director's parsed file, read for config id `id`.
pub fn read(file: &str, id: &str, items: &[Item], notes: &mut Notes) -> Director {
    let mut g = Globals::default();
    for it in items.iter().filter(|i| i.keyword == "global_defs") {
        vrrp::globals(it, &mut g, notes);
    }
    g.garp_groups = items.iter().filter(|i| i.keyword == "garp_group").map(|i| super::garp::group(i, notes)).collect();
    // Only a vrrp_script with a `script` can be tracked: keepalived removes one without.
    let has_script = |i: &&Item| i.children().iter().any(|c| c.keyword == "script");
    let weights: BTreeMap<String, TrackWeight> =
        (items.iter().filter(|i| i.keyword == "vrrp_script").filter(has_script))
            .filter_map(|i| Some((i.arg()?.to_string(), vrrp::script_default(i))))
            .collect();
    let named_at = Loc { file: file.to_string(), line: 1, column: 1 };
    let (name, named_at) = g.router_id.clone().unwrap_or_else(|| (id.to_string(), named_at));
    let mut d = Director {
        name,
        file: file.to_string(),
        named_at,
        instances: vec![],
        scripts: BTreeMap::new(),
        files: BTreeMap::new(),
        processes: BTreeMap::new(),
        services: vec![],
        timeouts: g.timeouts.clone(),
        groups: vec![],
        alerts: None,
        network_namespace: None,
        auto_realtime: g.auto_realtime(notes),
        dynamic_interfaces: g.dynamic_interfaces,
        notify_fifos: None,
    };
    d.alerts = super::alerts::alerts(&g.mail, &d.name, notes);
    let cascade = Cascade::with_script_user(g.script_user.clone());
    let groups = service::groups(items, notes);
    for it in items {
        top(&mut d, it, &g, &weights, (&cascade, &groups), notes);
    }
    d.notify_fifos = super::fifo::fifos(&g, !d.services.is_empty(), notes);
    let vrrp_fifo = d.notify_fifos.as_ref().is_some_and(|(f, _)| f.iter().any(super::fifo::takes_vrrp));
    super::fifo::priority_changes(&mut d.instances, &d.groups, &g, vrrp_fifo, notes);
    super::vmac_names::settle(&mut d.instances, g.vmac_prefix.as_deref());
    super::rules::number(d.instances.iter_mut().flat_map(|i| i.rules.iter_mut()));
    if let Some((name, _, at)) = g.sync.as_ref().filter(|(n, ..)| !d.instances.iter().any(|i| i.name == *n)) {
        notes.note(at, format!("`lvs_sync_daemon` names vrrp_instance `{name}`, which this file lacks; not imported"));
    }
    d
}

fn top(
    d: &mut Director,
    it: &Item,
    g: &Globals,
    weights: &BTreeMap<String, TrackWeight>,
    (cascade, groups): (&Cascade, &service::Groups),
    notes: &mut Notes,
) {
    match it.keyword.as_str() {
        "global_defs" => {}
        "net_namespace" => d.network_namespace = super::value::name(it, notes),
        "vrrp_script" => {
            if let Some((name, s)) = vrrp::script(it, notes) {
                d.scripts.insert(name, (s, it.at.clone()));
            }
        }
        "track_file" | "vrrp_track_file" => {
            if let Some((name, f)) = vrrp::track_file(it, notes) {
                d.files.insert(name, (f, it.at.clone()));
            }
        }
        "vrrp_track_process" => {
            if let Some((name, p)) = vrrp::track_process(it, notes) {
                d.processes.insert(name, (p, it.at.clone()));
            }
        }
        "vrrp_instance" => d.instances.extend(vrrp::instance(it, g, weights, notes)),
        "virtual_server" => d.services.extend(service::virtual_server(it, cascade, groups, notes)),
        "vrrp_sync_group" => d.groups.extend(vrrp::sync_group(it, g, weights, notes)),
        "garp_group" => {}           // read first, with the globals
        "virtual_server_group" => {} // read first: a service may name a group defined after it
        _ => notes.unsupported(it, "lbconverge's manifest has no such section"),
    }
}

/// The config id a director's file is read for unless `--config-id` says otherwise:
/// what its name says of the host (keepalived's own default is the host name's first
/// label). `/etc/keepalived/lvs01.conf` -> `lvs01`; a file named `keepalived.conf` says
/// it with its directory: `lvs01/keepalived.conf` -> `lvs01`.
pub fn config_id(file: &str) -> String {
    let mut parts = file.rsplit('/');
    let base = parts.next().unwrap_or(file);
    let stem = base.strip_suffix(".conf").unwrap_or(base);
    match (stem, parts.next()) {
        ("keepalived", Some(dir)) if !dir.is_empty() && dir != "." && dir != ".." => dir.to_string(),
        _ => stem.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_files_config_id_is_its_name_or_its_directorys() {
        let id = super::config_id;
        assert_eq!(id("/etc/keepalived/lvs01.conf"), "lvs01");
        assert_eq!(id("lvs02.conf"), "lvs02");
        assert_eq!(id("conf/lvs01/keepalived.conf"), "lvs01");
        assert_eq!(id("keepalived.conf"), "keepalived");
        assert_eq!(id("./keepalived.conf"), "keepalived");
        assert_eq!(id("lvs03"), "lvs03");
    }
}
