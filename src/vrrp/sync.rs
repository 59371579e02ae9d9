//! Sync groups (keepalived's `vrrp_sync_group`): VRRP instances of one director that change
//! state together, such as the outside VIP and the inside gateway of an LVS-NAT director.
//! Pure: each member reports its [`Status`] after every change, and the group answers with
//! the orders for its members ([`super::fsm::Input::Sync`]) and the group notify commands
//! due. keepalived's rules (vrrp_sync.c), which this follows:
//!
//! - a member in FAULT puts every member in FAULT (a master among them sends its priority-0
//!   advert); the group leaves FAULT, every member to BACKUP, once no member has a fault of
//!   its own;
//! - a member that leaves MASTER for BACKUP (a higher priority was heard) takes every member
//!   to BACKUP, releasing their VIPs without a priority-0 advert;
//! - a member whose master down timer expires only wants MASTER; the group becomes MASTER,
//!   every member with it, when every member wants MASTER (or is MASTER): it prefers BACKUP
//!   to thrashing. While the group is MASTER, a member that wants MASTER becomes it at once.
//!
//! The group's own state starts once every member has started: MASTER when all are master
//! (a reload that puts running masters in a group keeps them), FAULT when one has a fault,
//! BACKUP otherwise. When every member has stopped, the group is stopped (`notify_stop`).
//! A group state change's notify commands are due once every member is in that state, so
//! that they run after the members' own, as keepalived runs them; a change that comes
//! before that runs the earlier one first.

use std::collections::BTreeMap;

use super::fsm::State;

/// What a member reports to its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// Its state.
    pub state: State,
    /// Its own tracking reports FAULT (not only its group's).
    pub own_fault: bool,
    /// Its master down timer expired: it would be master but for its group.
    pub wants_master: bool,
}

impl Status {
    /// A member not started yet.
    pub const INIT: Status = Status { state: State::Initialize, own_fault: false, wants_master: false };
}

/// What the group decided on a report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moves {
    /// The group's state change, with its reason, for the log.
    pub transition: Option<(State, State, String)>,
    /// Members to order to a state (the reporting one among them), in name order.
    pub orders: Vec<(String, State)>,
    /// Group notify commands due now, for these states in order (`Initialize`: stop).
    pub notify: Vec<State>,
}

/// One sync group of one director.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    name: String,
    members: BTreeMap<String, Status>,
    state: State,
    /// The last state change whose notify commands wait for every member to arrive.
    pending: Option<State>,
}

impl Group {
    /// A group of these member instances, none started.
    pub fn new(name: &str, members: impl IntoIterator<Item = String>) -> Group {
        let members = members.into_iter().map(|m| (m, Status::INIT)).collect();
        Group { name: name.to_string(), members, state: State::Initialize, pending: None }
    }

    /// The group's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The group's state (`Initialize` before every member started and after all stopped).
    pub fn state(&self) -> State {
        self.state
    }

    /// Takes a member's new status; returns what follows. A name not in the group changes
    /// nothing.
    pub fn report(&mut self, member: &str, status: Status) -> Moves {
        let Some(slot) = self.members.get_mut(member) else { return Moves::default() };
        let before = std::mem::replace(slot, status);
        let mut moves = Moves::default();
        let started = self.members.values().all(|m| m.state != State::Initialize);
        let stopped = self.members.values().all(|m| m.state == State::Initialize);
        if stopped && self.state != State::Initialize {
            self.move_to(State::Initialize, format!("every member stopped ({member} last)"), &mut moves);
        } else if started {
            self.decide(member, before, status, &mut moves);
        }
        self.flush(&mut moves);
        moves
    }

    fn decide(&mut self, member: &str, before: Status, now: Status, moves: &mut Moves) {
        let faulty: Vec<&String> = self.members.iter().filter(|(_, s)| s.own_fault).map(|(n, _)| n).collect();
        if let Some(first) = faulty.first() {
            if self.state != State::Fault {
                let why = format!("{first} is in FAULT");
                self.move_to(State::Fault, why, moves);
                self.order_all(State::Fault, moves);
            }
            return;
        }
        match self.state {
            State::Fault => {
                self.move_to(State::Backup, format!("no member is in FAULT ({member} recovered)"), moves);
                self.order_all(State::Backup, moves);
            }
            State::Initialize => {
                let all_master = self.members.values().all(|s| s.state == State::Master);
                let to = if all_master { State::Master } else { State::Backup };
                let why = if all_master { "every member is master" } else { "every member started" };
                self.move_to(to, why.to_string(), moves);
                self.order_all(to, moves);
            }
            State::Master if before.state == State::Master && now.state == State::Backup => {
                self.move_to(State::Backup, format!("{member} left MASTER"), moves);
                self.order_all(State::Backup, moves);
            }
            State::Master if now.wants_master => moves.orders.push((member.to_string(), State::Master)),
            State::Backup if self.members.values().all(|s| s.wants_master || s.state == State::Master) => {
                self.move_to(State::Master, "every member wants MASTER".to_string(), moves);
                self.order_all(State::Master, moves);
            }
            State::Master | State::Backup => {}
        }
    }

    /// Orders every member not already in `to` to it; FAULT to every member, so that each
    /// is held there until the group leaves FAULT.
    fn order_all(&self, to: State, moves: &mut Moves) {
        for (name, s) in &self.members {
            if s.state != to || to == State::Fault {
                moves.orders.push((name.clone(), to));
            }
        }
    }

    fn move_to(&mut self, to: State, why: String, moves: &mut Moves) {
        if let Some(p) = self.pending.take() {
            moves.notify.push(p);
        }
        moves.transition = Some((self.state, to, why));
        self.state = to;
        self.pending = Some(to);
    }

    /// The pending notify is due once every member is in the group's state.
    fn flush(&mut self, moves: &mut Moves) {
        if let Some(p) = self.pending
            && self.members.values().all(|s| s.state == p)
        {
            moves.notify.push(p);
            self.pending = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(state: State) -> Status {
        Status { state, own_fault: false, wants_master: false }
    }

    fn fault() -> Status {
        Status { state: State::Fault, own_fault: true, wants_master: false }
    }

    fn wants() -> Status {
        Status { state: State::Backup, own_fault: false, wants_master: true }
    }

    fn orders(m: &Moves) -> Vec<(&str, State)> {
        m.orders.iter().map(|(n, s)| (n.as_str(), *s)).collect()
    }

    /// A group of OUT and IN, both started as backups.
    fn started() -> Group {
        let mut g = Group::new("G", ["IN".to_string(), "OUT".to_string()]);
        assert_eq!(g.report("OUT", st(State::Backup)), Moves::default(), "IN has not started");
        let m = g.report("IN", st(State::Backup));
        assert_eq!(m.transition.map(|t| (t.0, t.1)), Some((State::Initialize, State::Backup)));
        assert_eq!((m.orders, m.notify), (vec![], vec![State::Backup]), "notify_backup at start, as keepalived");
        g
    }

    #[test]
    fn master_waits_until_every_member_wants_it() {
        let mut g = started();
        assert_eq!(g.report("OUT", wants()), Moves::default(), "IN still hears a master");
        let m = g.report("IN", wants());
        assert_eq!(m.transition.as_ref().map(|t| t.2.as_str()), Some("every member wants MASTER"));
        assert_eq!(orders(&m), [("IN", State::Master), ("OUT", State::Master)]);
        assert!(m.notify.is_empty(), "the group notify waits for the members");
        assert!(g.report("IN", st(State::Master)).notify.is_empty());
        assert_eq!(g.report("OUT", st(State::Master)).notify, [State::Master]);
        assert_eq!(g.state(), State::Master);
    }

    #[test]
    fn a_member_that_hears_a_master_again_no_longer_wants_it() {
        let mut g = started();
        g.report("OUT", wants());
        g.report("OUT", st(State::Backup));
        assert_eq!(g.report("IN", wants()), Moves::default());
        assert_eq!(g.state(), State::Backup);
    }

    fn master() -> Group {
        let mut g = started();
        g.report("OUT", wants());
        g.report("IN", wants());
        g.report("IN", st(State::Master));
        g.report("OUT", st(State::Master));
        g
    }

    #[test]
    fn one_member_in_fault_takes_every_member_to_fault_and_back_to_backup() {
        let mut g = master();
        let m = g.report("IN", fault());
        assert_eq!(m.transition, Some((State::Master, State::Fault, "IN is in FAULT".to_string())));
        assert_eq!(orders(&m), [("IN", State::Fault), ("OUT", State::Fault)], "each is held in FAULT");
        assert_eq!(g.report("OUT", st(State::Fault)).notify, [State::Fault]);
        // Both fail, one recovers: the group stays in FAULT.
        assert_eq!(g.report("OUT", fault()), Moves::default());
        assert_eq!(g.report("IN", st(State::Fault)), Moves::default());
        let m = g.report("OUT", st(State::Fault));
        assert_eq!(m.transition.as_ref().map(|t| t.1), Some(State::Backup));
        assert_eq!(orders(&m), [("IN", State::Backup), ("OUT", State::Backup)]);
        g.report("IN", st(State::Backup));
        assert_eq!(g.report("OUT", st(State::Backup)).notify, [State::Backup]);
    }

    #[test]
    fn a_member_preempted_takes_every_member_to_backup() {
        let mut g = master();
        let m = g.report("OUT", st(State::Backup));
        assert_eq!(m.transition, Some((State::Master, State::Backup, "OUT left MASTER".to_string())));
        assert_eq!(orders(&m), [("IN", State::Backup)]);
        assert_eq!(g.report("IN", st(State::Backup)).notify, [State::Backup]);
    }

    #[test]
    fn a_member_that_has_not_followed_yet_is_not_a_member_leaving() {
        let mut g = started();
        g.report("OUT", wants());
        g.report("IN", wants());
        // OUT became master; IN reports again before it took its order.
        g.report("OUT", st(State::Master));
        assert_eq!(g.report("IN", wants()), Moves { orders: vec![("IN".into(), State::Master)], ..Moves::default() });
        assert_eq!(g.state(), State::Master);
    }

    #[test]
    fn running_masters_put_in_a_group_stay_masters() {
        let mut g = Group::new("G", ["IN".to_string(), "OUT".to_string()]);
        g.report("IN", st(State::Master));
        let m = g.report("OUT", st(State::Master));
        assert_eq!((m.transition.map(|t| t.1), m.orders, m.notify), (Some(State::Master), vec![], vec![State::Master]));
        // A master and a backup put in a group: the group is BACKUP, the master follows.
        let mut g = Group::new("G", ["IN".to_string(), "OUT".to_string()]);
        g.report("IN", st(State::Master));
        assert_eq!(orders(&g.report("OUT", st(State::Backup))), [("IN", State::Backup)]);
    }

    #[test]
    fn a_group_whose_members_stop_is_stopped() {
        let mut g = master();
        assert_eq!(g.report("IN", Status::INIT), Moves::default(), "no order while members stop");
        let m = g.report("OUT", Status::INIT);
        assert_eq!(m.transition.map(|t| t.1), Some(State::Initialize));
        assert_eq!(m.notify, [State::Initialize]);
        assert_eq!(g.report("nobody", fault()), Moves::default());
    }

    #[test]
    fn a_change_before_the_members_arrived_runs_the_earlier_notify_first() {
        let mut g = master();
        g.report("IN", fault());
        let m = g.report("IN", fault());
        assert!(m.notify.is_empty(), "OUT has not followed");
        // IN recovers before OUT reported FAULT.
        let m = g.report("IN", Status { state: State::Fault, own_fault: false, wants_master: false });
        assert_eq!(m.notify, [State::Fault]);
        assert_eq!(g.state(), State::Backup);
    }
}
