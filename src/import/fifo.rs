//! keepalived's notify FIFOs as the manifest's `notify_fifos`: `notify_fifo`,
//! `vrrp_notify_fifo` and `lvs_notify_fifo` (`FIFO [user [group]]`), each with its
//! `*_script` (the command that reads it, given the FIFO as its last argument);
//! `fifo_write_vrrp_states_on_reload` (`states_on_reload` on every FIFO taking VRRP lines);
//! and `notify_priority_changes` (global `vrrp_notify_priority_changes`, per sync group, per
//! instance), which keepalived settles per instance: the instance's own, else its sync
//! group's, else the global one.
//!
//! As keepalived does: `notify_fifo` gets the VRRP lines and, when the file has virtual
//! servers (keepalived runs its checker only then), the checker's `VS` / `RS` lines
//! (`events: [vrrp, lvs]`); `vrrp_notify_fifo` the VRRP lines (the default), and
//! `lvs_notify_fifo` the checker's (`events: [lvs]`), never opened without virtual servers.
//! A `vrrp_notify_fifo` or `lvs_notify_fifo` with the path of `notify_fifo` is ignored (its
//! script with it); an `lvs_notify_fifo` with the path of `vrrp_notify_fifo` is that FIFO,
//! taking both, with the VRRP script when both have one. A script without its FIFO runs
//! nothing.

use super::conf::{Item, Loc};
use super::value::Notes;
use super::vrrp::{Globals, Instance, SyncGroupConf};
use crate::manifest::types::{FifoEvent, NotifyFifo};

/// Why a script without its FIFO is not imported.
const NO_FIFO: &str = "keepalived starts a FIFO's script only with its FIFO, and this file names no such FIFO";
/// Why an `lvs_notify_fifo` without virtual servers is not imported.
const NO_CHECKER: &str =
    "keepalived runs its checker, which opens `lvs_notify_fifo`, only for virtual servers, and this file has none";
/// Why the script of an `lvs_notify_fifo` that is the `vrrp_notify_fifo` is not imported.
const ONE_SCRIPT: &str = "keepalived runs only the VRRP script of a FIFO that is both `vrrp_notify_fifo` and `lvs_notify_fifo`: lbconverge runs the one command";

/// Which of keepalived's FIFOs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `notify_fifo`.
    Global,
    /// `vrrp_notify_fifo`.
    Vrrp,
    /// `lvs_notify_fifo`.
    Lvs,
}

/// The FIFOs of a director's file, with where the first is written; `services`: the file
/// has virtual servers (keepalived's checker runs and writes its lines).
pub fn fifos(g: &Globals, services: bool, notes: &mut Notes) -> Option<(Vec<NotifyFifo>, Loc)> {
    let mut out: Vec<(NotifyFifo, Loc, Kind)> = Vec::new();
    let kinds = [(&g.fifos.global, Kind::Global), (&g.fifos.vrrp, Kind::Vrrp), (&g.fifos.lvs, Kind::Lvs)];
    for (conf, kind) in kinds {
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
        if kind == Kind::Lvs && !services {
            notes.met(it, NO_CHECKER);
            if let Some(s) = &conf.script {
                notes.met(s, NO_CHECKER);
            }
            continue;
        }
        match out.iter_mut().find(|(f, ..)| f.path == path) {
            Some((_, _, Kind::Global)) => {
                let why = format!(
                    "keepalived ignores a `{}` with the path of `notify_fifo`, and its script with it: lbconverge writes the one FIFO",
                    it.keyword
                );
                notes.met(it, &why);
            }
            Some((f, ..)) => {
                owner(it, notes);
                f.events = Some(vec![FifoEvent::Vrrp, FifoEvent::Lvs]);
                match (&f.command, &conf.script) {
                    (Some(_), Some(s)) => notes.met(s, ONE_SCRIPT),
                    (None, Some(s)) => f.command = Some(super::vrrp::notify(s, g, notes)),
                    _ => {}
                }
            }
            None => {
                owner(it, notes);
                let command = conf.script.as_ref().map(|s| super::vrrp::notify(s, g, notes));
                let events = match kind {
                    Kind::Global if services => Some(vec![FifoEvent::Vrrp, FifoEvent::Lvs]),
                    Kind::Global | Kind::Vrrp => None,
                    Kind::Lvs => Some(vec![FifoEvent::Lvs]),
                };
                let fifo = NotifyFifo { path: path.to_string(), command, events, states_on_reload: None };
                out.push((fifo, it.at.clone(), kind));
            }
        }
    }
    let mut out: Vec<(NotifyFifo, Loc)> = out.into_iter().map(|(f, at, _)| (f, at)).collect();
    states_on_reload(g, &mut out, notes);
    let at = out.first()?.1.clone();
    Some((out.into_iter().map(|(f, _)| f).collect(), at))
}

/// `fifo_write_vrrp_states_on_reload`: every FIFO taking VRRP lines gets the states on a
/// reload, as keepalived writes them to `notify_fifo` and `vrrp_notify_fifo`.
fn states_on_reload(g: &Globals, out: &mut [(NotifyFifo, Loc)], notes: &mut Notes) {
    let Some(it) = &g.fifos.states_on_reload else { return };
    let mut vrrp = out.iter_mut().filter(|(f, _)| takes_vrrp(f)).peekable();
    if vrrp.peek().is_none() {
        notes.met(it, "keepalived writes the states to its VRRP FIFOs, and this file has none");
    }
    vrrp.for_each(|(f, _)| f.states_on_reload = Some(true));
}

/// True when the FIFO gets the VRRP lines (`events` not given means `[vrrp]`).
pub fn takes_vrrp(f: &NotifyFifo) -> bool {
    f.events.as_ref().is_none_or(|e| e.contains(&FifoEvent::Vrrp))
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
/// sync group's, else the global one); only `true` is written, and only with a FIFO taking
/// VRRP lines to write to (`has_fifo`; without one keepalived writes nothing either).
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
            let why = "keepalived writes priority changes to its VRRP notify FIFOs only, and this file has none";
            notes.met_at("notify_priority_changes", &i.at, why);
        }
    }
}
