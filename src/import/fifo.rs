//! keepalived's notify FIFOs as the manifest's `notify_fifos`: `notify_fifo` and
//! `vrrp_notify_fifo` (`FIFO [user [group]]`), each with its `*_script` (the command that
//! reads it, given the FIFO as its last argument); and `notify_priority_changes` (global
//! `vrrp_notify_priority_changes`, per sync group, per instance), which keepalived settles
//! per instance: the instance's own, else its sync group's, else the global one.
//!
//! As keepalived does: a `vrrp_notify_fifo` with the path of `notify_fifo` is ignored (its
//! script with it); a script without its FIFO runs nothing. `notify_fifo` also gets the
//! checker's `VS` / `RS` lines in keepalived, which lbconverge does not write: reported when
//! the file has virtual servers. `lvs_notify_fifo` stays unsupported for that reason.

use super::conf::{Item, Loc};
use super::value::Notes;
use super::vrrp::{Globals, Instance, SyncGroupConf};
use crate::manifest::types::NotifyFifo;

/// Why a script without its FIFO is not imported.
const NO_FIFO: &str = "keepalived starts a FIFO's script only with its FIFO, and this file names no such FIFO";

/// The FIFOs of a director's file, with where the first is written; `services`: the file
/// has virtual servers (whose checker lines keepalived writes to `notify_fifo`).
pub fn fifos(g: &Globals, services: bool, notes: &mut Notes) -> Option<(Vec<NotifyFifo>, Loc)> {
    let mut out: Vec<(NotifyFifo, Loc)> = Vec::new();
    for (conf, global) in [(&g.fifos.global, true), (&g.fifos.vrrp, false)] {
        let Some(it) = &conf.fifo else {
            if let Some(s) = &conf.script {
                notes.met(s, NO_FIFO);
            }
            continue;
        };
        let Some(path) = it.arg() else {
            notes.note(&it.at, format!("`{}` needs a FIFO path; not imported", it.keyword));
            continue;
        };
        if out.iter().any(|(f, _)| f.path == path) {
            notes.met(it, "keepalived ignores a `vrrp_notify_fifo` with the path of `notify_fifo`, and its script with it: lbconverge writes the one FIFO");
            continue;
        }
        owner(it, notes);
        if global && services {
            notes.note(&it.at, format!("`notify_fifo {path}` also gets keepalived's checker lines (`VS ...`, `RS ...`), which lbconverge does not write; only its VRRP lines are carried"));
        }
        let command = conf.script.as_ref().map(|s| super::vrrp::notify(s, g, notes));
        out.push((NotifyFifo { path: path.to_string(), command }, it.at.clone()));
    }
    let at = out.first()?.1.clone();
    Some((out.into_iter().map(|(f, _)| f).collect(), at))
}

/// `FIFO user [group]`: keepalived makes a FIFO it creates that user's; lbconverge's is
/// root's, mode 0644 (any user may read it). Root is carried exactly; another user is
/// reported.
fn owner(it: &Item, notes: &mut Notes) {
    if let Some(user) = it.args.get(1).filter(|u| u.as_str() != "root" && u.as_str() != "0") {
        notes.note(
            &it.at,
            format!("`{}`: keepalived makes the FIFO it creates `{user}`'s; lbconverge's is root's with mode 0644, which any user may read but only root write", it.keyword),
        );
    }
}

/// Settles each instance's `notify_priority_changes` as keepalived does (its own, else its
/// sync group's, else the global one); only `true` is written, and only with a FIFO to
/// write to (without one keepalived writes nothing either).
pub fn priority_changes(
    instances: &mut [Instance],
    groups: &[SyncGroupConf],
    g: &Globals,
    has_fifo: bool,
    notes: &mut Notes,
) {
    for i in instances.iter_mut() {
        let group = groups.iter().find(|s| s.instances.contains(&i.name)).and_then(|s| s.priority_changes);
        let on = i.notify_priority_changes.or(group).or(g.fifos.priority_changes).unwrap_or(false);
        i.notify_priority_changes = (on && has_fifo).then_some(true);
        if on && !has_fifo {
            let why = "keepalived writes priority changes to notify FIFOs only, and this file has none";
            notes.met_at("notify_priority_changes", &i.at, why);
        }
    }
}
