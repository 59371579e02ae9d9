//! The notify FIFOs (`notify_fifos`, keepalived's `notify_fifo` / `vrrp_notify_fifo` /
//! `lvs_notify_fifo`): each an absolute path of its own, its reading command absolute, its
//! events listed once each (`[vrrp]` when not given), `states_on_reload` only with `vrrp`
//! events; and the instances whose priority changes would go to a FIFO when there is none.

use std::path::{Component, Path, PathBuf};

use crate::manifest::KeyPath;
use crate::manifest::types;
use crate::model::cluster::{Cluster, FifoEvents, NotifyFifo};

use super::Cx;
use super::checks::hook;

/// The FIFOs, each checked at its index.
pub fn fifos(cx: &mut Cx, at: &KeyPath, fifos: &[types::NotifyFifo]) -> Vec<NotifyFifo> {
    let mut out: Vec<NotifyFifo> = Vec::new();
    for (n, f) in fifos.iter().enumerate() {
        let here = at.index(n);
        let path = PathBuf::from(&f.path);
        if !is_file_path(&f.path) {
            let hint = "write the FIFO's absolute path, such as /run/lbconverge/notify.fifo";
            cx.error(&here.key("path"), format!("`{}` is not an absolute path to a file", f.path), Some(hint));
        } else if let Some(first) = out.iter().position(|o| o.path == path) {
            let msg = format!("`{}` is also the path of notify_fifos[{first}]", f.path);
            cx.error(&here.key("path"), msg, Some("give each FIFO a path of its own, or remove this one"));
        }
        let command = hook(cx, &here.key("command"), f.command.as_ref());
        let events = events(cx, &here.key("events"), f.events.as_deref());
        let states_on_reload = f.states_on_reload.unwrap_or(false);
        if states_on_reload && !events.vrrp {
            cx.error(
                &here.key("states_on_reload"),
                "the states written on a reload are VRRP lines, and this FIFO takes no `vrrp` events",
                Some("add `vrrp` to `events`, or remove `states_on_reload`"),
            );
        }
        out.push(NotifyFifo { path, command, events, states_on_reload });
    }
    out
}

/// A FIFO's `events`: each once, at least one; `[vrrp]` when not given.
fn events(cx: &mut Cx, at: &KeyPath, given: Option<&[types::FifoEvent]>) -> FifoEvents {
    let Some(list) = given else { return FifoEvents::default() };
    if list.is_empty() {
        let hint = "list `vrrp`, `lvs` or both, or remove the FIFO";
        cx.error(at, "the FIFO takes no events: nothing would be written to it", Some(hint));
    }
    for (n, e) in list.iter().enumerate() {
        if list[..n].contains(e) {
            let word = if *e == types::FifoEvent::Vrrp { "vrrp" } else { "lvs" };
            cx.error(&at.index(n), format!("`{word}` is listed twice"), Some("list each kind of event once"));
        }
    }
    FifoEvents { vrrp: list.contains(&types::FifoEvent::Vrrp), lvs: list.contains(&types::FifoEvent::Lvs) }
}

/// An absolute path naming a file: no `..`, not ending in `/`.
fn is_file_path(text: &str) -> bool {
    let p = Path::new(text);
    p.is_absolute()
        && !text.ends_with('/')
        && p.file_name().is_some()
        && !p.components().any(|c| c == Component::ParentDir)
}

/// `notify_priority_changes` without a FIFO writes nothing: a warning at the instance.
pub fn priority_changes(cx: &mut Cx, at: &KeyPath, c: &Cluster) {
    if c.notify_fifos.iter().any(|f| f.events.vrrp) {
        return;
    }
    let (message, hint) = match c.notify_fifos.is_empty() {
        true => (
            "no `notify_fifos` to write the priority changes to: only the FIFOs get them",
            "add a FIFO under the top-level `notify_fifos`, or remove this key",
        ),
        false => (
            "no `notify_fifos` takes `vrrp` events to write the priority changes to: only those FIFOs get them",
            "add `vrrp` to a FIFO's `events`, or remove this key",
        ),
    };
    for i in c.vrrp.values().filter(|i| i.notify_priority_changes) {
        cx.warn(&at.name(&i.name).key("notify_priority_changes"), message, Some(hint));
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    fn problems(text: &str) -> Vec<String> {
        let loaded = crate::manifest::parse("m.yaml", PathBuf::from("."), text.as_bytes()).unwrap();
        match crate::model::validate(&loaded, &crate::model::NoFacts) {
            Ok(v) => v.warnings.iter().map(|p| format!("warning {}: {}", p.path, p.message)).collect(),
            Err(p) => p.0.iter().map(|p| format!("{}: {}", p.path, p.message)).collect(),
        }
    }

    fn manifest(fifos: &str, instance: &str) -> String {
        format!(
            "version: 1
{fifos}nodes:
  lb1: {{roles: [director], addresses: [10.0.0.11/24], interface: eth0}}
  lb2: {{roles: [director], addresses: [10.0.0.12/24], interface: eth0}}
vrrp:
  VI_1:
    vrid: 10
    members: {{lb1: {{priority: 150}}, lb2: {{priority: 100}}}}
    vips: [10.0.0.100]
{instance}"
        )
    }

    #[test]
    fn fifos_are_absolute_file_paths_of_their_own_with_absolute_commands() {
        let fifos = "notify_fifos:
  - {path: /run/lb/notify.fifo, command: [/usr/local/bin/reader, -v]}
  - {path: run/notify.fifo}
  - {path: /run/lb/}
  - {path: /run/lb/../x.fifo}
  - {path: /run/lb/notify.fifo, command: [reader]}
  - {path: /run/lb/other.fifo, command: []}
";
        assert_eq!(
            problems(&manifest(fifos, "")),
            [
                "notify_fifos[1].path: `run/notify.fifo` is not an absolute path to a file",
                "notify_fifos[2].path: `/run/lb/` is not an absolute path to a file",
                "notify_fifos[3].path: `/run/lb/../x.fifo` is not an absolute path to a file",
                "notify_fifos[4].path: `/run/lb/notify.fifo` is also the path of notify_fifos[0]",
                "notify_fifos[4].command[0]: `reader` is not an absolute path",
                "notify_fifos[5].command: the command is empty",
            ]
        );
    }

    #[test]
    fn events_are_listed_once_each_and_states_on_reload_needs_vrrp_events() {
        let fifos = "notify_fifos:
  - {path: /run/lb/a.fifo, events: []}
  - {path: /run/lb/b.fifo, events: [lvs, vrrp, lvs]}
  - {path: /run/lb/c.fifo, events: [lvs], states_on_reload: true}
";
        assert_eq!(
            problems(&manifest(fifos, "")),
            [
                "notify_fifos[0].events: the FIFO takes no events: nothing would be written to it",
                "notify_fifos[1].events[2]: `lvs` is listed twice",
                "notify_fifos[2].states_on_reload: the states written on a reload are VRRP lines, and this FIFO takes no `vrrp` events",
            ]
        );
        let fifos = "notify_fifos:
  - {path: /run/lb/a.fifo}
  - {path: /run/lb/b.fifo, events: [lvs, vrrp], states_on_reload: true}
  - {path: /run/lb/c.fifo, events: [lvs]}
";
        let loaded = crate::manifest::parse("m.yaml", PathBuf::from("."), manifest(fifos, "").as_bytes()).unwrap();
        let c = crate::model::validate(&loaded, &crate::model::NoFacts).unwrap().cluster;
        let got: Vec<(bool, bool, bool)> =
            c.notify_fifos.iter().map(|f| (f.events.vrrp, f.events.lvs, f.states_on_reload)).collect();
        assert_eq!(got, [(true, false, false), (true, true, true), (false, true, false)]);
    }

    #[test]
    fn priority_changes_without_a_fifo_taking_vrrp_events_are_a_warning() {
        let changes = "    notify_priority_changes: true\n";
        let fifos = "notify_fifos: [{path: /run/lb/lvs.fifo, events: [lvs]}]\n";
        assert_eq!(
            problems(&manifest(fifos, changes)),
            [
                "warning vrrp.VI_1.notify_priority_changes: no `notify_fifos` takes `vrrp` events to write the priority changes to: only those FIFOs get them"
            ]
        );
    }

    #[test]
    fn priority_changes_without_a_fifo_are_a_warning_and_with_one_are_carried() {
        let changes = "    notify_priority_changes: true\n";
        assert_eq!(
            problems(&manifest("", changes)),
            [
                "warning vrrp.VI_1.notify_priority_changes: no `notify_fifos` to write the priority changes to: only the FIFOs get them"
            ]
        );
        let fifos = "notify_fifos: [{path: /run/lb/notify.fifo}]\n";
        let text = manifest(fifos, changes);
        assert_eq!(problems(&text), Vec::<String>::new());
        let loaded = crate::manifest::parse("m.yaml", PathBuf::from("."), text.as_bytes()).unwrap();
        let c = crate::model::validate(&loaded, &crate::model::NoFacts).unwrap().cluster;
        assert!(c.vrrp["VI_1"].notify_priority_changes);
        assert_eq!(c.notify_fifos[0].path, PathBuf::from("/run/lb/notify.fifo"));
        assert_eq!(c.notify_fifos[0].command, None);
    }
}
