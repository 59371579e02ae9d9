//! A sync group as the daemon runs it: the pure decisions of [`crate::vrrp::sync::Group`]
//! behind a lock its member instances share, their control channels to carry the group's
//! orders, and one notify queue for the group and its members. Each member reports its
//! status after every change ([`Shared::report`]); the orders for the other members go
//! out on their channels, the reporting member takes its own at once. The members' notify
//! commands and the group's go to the one queue, so they run one at a time in keepalived's
//! order: the members' own commands, then the group's (`notify` with
//! `GROUP <name> <STATE> 0` appended, as keepalived passes a group's priority), after which
//! the group's line goes to the notify FIFOs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::fifo::{self, Fifos, state_word as shown};
use super::hooks::{Draining, Job, Serial};
use super::instance::{Control, ControlTx};
use super::spec::GroupSpec;
use crate::vrrp::fsm::State;
use crate::vrrp::sync::{Group, Status};

/// A group shared by its member instances.
pub type SharedGroup = Arc<Mutex<Shared>>;

/// The group's decisions, its members' channels and its notify queue.
pub struct Shared {
    spec: GroupSpec,
    core: Group,
    controls: BTreeMap<String, ControlTx>,
    queue: Option<Serial>,
    /// Where the group's state changes are written.
    fifos: Fifos,
}

/// Locks a shared group, also one a crashed thread held.
pub fn lock(g: &SharedGroup) -> std::sync::MutexGuard<'_, Shared> {
    g.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A group of `spec`'s members, none started, no channel known yet; its state changes go
/// to `fifos`.
pub fn new(spec: GroupSpec, fifos: Fifos) -> SharedGroup {
    let core = Group::new(&spec.name, spec.members.iter().cloned());
    let queue = Some(Serial::new(&spec.name));
    Arc::new(Mutex::new(Shared { spec, core, controls: BTreeMap::new(), queue, fifos }))
}

/// An order for a member, with its reason.
pub type Order = (State, String);

impl Shared {
    /// What the group runs with.
    pub fn spec(&self) -> &GroupSpec {
        &self.spec
    }

    /// The members' control channels, by instance name.
    pub fn set_controls(&mut self, controls: BTreeMap<String, ControlTx>) {
        self.controls = controls;
    }

    /// Queues a member's notify command behind the group's and its members' earlier ones.
    pub fn push(&mut self, job: Job) {
        match &mut self.queue {
            Some(q) => q.push(job),
            None => {
                tracing::error!(group = %self.spec.name, event = %job.event, "notify command skipped: the group stopped")
            }
        }
    }

    /// Takes `member`'s new status: logs a group state change, queues the group's notify
    /// commands due, sends the orders for the other members, and returns the member's own.
    pub fn report(&mut self, member: &str, status: Status) -> Option<Order> {
        let moves = self.core.report(member, status);
        let why = match &moves.transition {
            Some((from, to, reason)) => {
                let (from, to) = (shown(*from), shown(*to));
                tracing::info!(group = %self.spec.name, %from, %to, %reason, "vrrp sync group transition");
                format!("sync group {}: {reason}", self.spec.name)
            }
            None => format!("sync group {} is {}", self.spec.name, shown(self.core.state())),
        };
        for state in moves.notify {
            for job in group_jobs(&self.spec, state) {
                self.push(job);
            }
            self.fifos.write(&fifo::group_line(&self.spec.name, state));
        }
        let mut own = None;
        for (name, to) in moves.orders {
            match (name == member, self.controls.get(&name)) {
                (true, _) => own = Some((to, why.clone())),
                (false, Some(c)) => c.send(Control::Sync(to, why.clone())),
                (false, None) => {
                    tracing::warn!(group = %self.spec.name, instance = %name, "sync group member not running")
                }
            }
        }
        own
    }

    /// Writes the group's state line to the FIFOs with `states_on_reload` (a reload
    /// asks); nothing before its members made it enter a state.
    pub fn write_state(&self) {
        let state = self.core.state();
        if state != State::Initialize {
            self.fifos.write_states(&fifo::group_line(&self.spec.name, state));
        }
    }

    /// Takes no more commands; the queued ones still run, and the returned handle waits
    /// for them.
    pub fn close(&mut self) -> Draining {
        self.queue.take().map(Serial::close).unwrap_or_default()
    }
}

/// The group's commands for entering `state`, in keepalived's order: the state's own, then
/// `notify` with `GROUP <name> <STATE> 0` appended.
pub fn group_jobs(spec: &GroupSpec, state: State) -> Vec<Job> {
    let n = &spec.notify;
    let (event, own) = match state {
        State::Master => ("notify_master", &n.master),
        State::Backup => ("notify_backup", &n.backup),
        State::Fault => ("notify_fault", &n.fault),
        State::Initialize => ("notify_stop", &n.stop),
    };
    let timeout = spec.notify_timeout;
    let mut jobs: Vec<Job> = own.iter().map(|argv| Job { event, argv: argv.clone(), timeout }).collect();
    if let Some(cmd) = &n.generic {
        let extra = ["GROUP", &spec.name, shown(state), "0"].map(str::to_string);
        jobs.push(Job { event: "notify", argv: [cmd.as_slice(), &extra].concat(), timeout });
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cluster::Notify;
    use std::time::Duration;

    #[test]
    fn group_commands_follow_keepalived_order_and_arguments() {
        let spec = GroupSpec {
            name: "G1".into(),
            members: vec!["OUT".into(), "IN".into()],
            notify: Notify {
                master: Some(vec!["/bin/master".into()]),
                generic: Some(vec!["/bin/notify".into(), "--x".into()]),
                ..Notify::default()
            },
            notify_timeout: Duration::from_secs(5),
        };
        let shown: Vec<String> =
            group_jobs(&spec, State::Master).iter().map(|j| format!("{}: {}", j.event, j.argv.join(" "))).collect();
        assert_eq!(shown, ["notify_master: /bin/master", "notify: /bin/notify --x GROUP G1 MASTER 0"]);
        let stop: Vec<String> = group_jobs(&spec, State::Initialize).iter().map(|j| j.argv.join(" ")).collect();
        assert_eq!(stop, ["/bin/notify --x GROUP G1 STOP 0"]);
    }
}
