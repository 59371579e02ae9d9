//! Tracked processes (keepalived's `vrrp_track_process`), pure: which processes match a
//! tracked process's name, path or arguments, how many run, and whether that count is in
//! its quorum, with keepalived's delays. Process events and process tables come in, the
//! tracked processes that changed state go out; time comes in as a `Duration` since an
//! epoch the caller chose.
//!
//! ```text
//! Pattern::matches(&Proc)                  name (comm) or argv[0], then the arguments
//! Table::seed(&[Proc])                     the start: states at once, no delay
//! Table::event(&ProcEvent, now)            exec / comm / fork / exit -> changes
//! Table::resync(&[Proc], now)              after lost events: a new table, with the delays
//! Table::tick(now)                         a delay that ran out -> changes
//! scan_events(&old, &new)                  two /proc tables -> the events between them
//! ```
//!
//! keepalived's rules, kept here: a process matches by its name (`/proc/PID/comm`, at most
//! 15 bytes) unless arguments are given or `full_command` is set, when `argv[0]` must equal
//! the process exactly and the arguments are compared as `param_match` says (exact by
//! default; `partial`: the given arguments start the command's; `initial`: likewise, the
//! last given argument may be the start of the command's). A tracked process is up while
//! the number of matching processes is in `quorum..=quorum_max`. A change caused by a fork
//! of a matching process counts only after `fork_delay`, one caused by an exit only after
//! `terminate_delay`; one caused by an exec or a rename counts at once, and the count
//! coming back before a delay ran out cancels it. A forked child is counted under its
//! parent's tracked processes until it execs or is renamed; a rename leaves
//! `full_command` matches alone. Zombies are not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One process as the tracker sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    /// Its process id (the thread group id).
    pub pid: u32,
    /// Its parent's.
    pub ppid: u32,
    /// Its name, `/proc/PID/comm` without the newline (at most 15 bytes).
    pub comm: Vec<u8>,
    /// Its command line, `/proc/PID/cmdline`: the arguments, each ended by a NUL byte.
    pub cmdline: Vec<u8>,
}

/// What happened to a process (the kernel's process events connector's events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcEvent {
    /// The process ran a new program (`PROC_EVENT_EXEC`), or is new in a scan.
    Exec(Proc),
    /// The process renamed itself (`PROC_EVENT_COMM`).
    Comm(Proc),
    /// `parent` forked `child` (`PROC_EVENT_FORK`, processes only, not threads).
    Fork {
        /// The parent's process id.
        parent: u32,
        /// The child's.
        child: u32,
    },
    /// The process ended (`PROC_EVENT_EXIT`), or is gone from a scan.
    Exit(u32),
}

/// How a tracked process's arguments are compared (keepalived's `param_match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParamMatch {
    /// Not compared (only a name or a path is given).
    Any,
    /// The command's arguments are exactly these.
    Exact,
    /// The command's arguments start with these.
    Partial,
    /// Likewise, and the last one given may be the start of the command's argument.
    Initial,
}

/// What a tracked process looks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pattern {
    /// The process's name, or with `full_command` its `argv[0]` (a path or a name).
    pub process: String,
    /// The arguments after `argv[0]`.
    pub args: Vec<String>,
    /// How they are compared.
    pub param_match: ParamMatch,
    /// Compare `argv[0]` instead of the name (set whenever arguments are compared).
    pub full_command: bool,
}

impl Pattern {
    /// Whether `p` is a matching process.
    pub fn matches(&self, p: &Proc) -> bool {
        if !self.full_command {
            return p.comm == self.process.as_bytes();
        }
        let (argv0, params) = match p.cmdline.iter().position(|b| *b == 0) {
            Some(i) => (&p.cmdline[..i], &p.cmdline[i + 1..]),
            None => (p.cmdline.as_slice(), &[][..]),
        };
        argv0 == self.process.as_bytes() && self.params_match(params)
    }

    /// keepalived's comparison of the arguments, as NUL-ended strings one after another.
    fn params_match(&self, params: &[u8]) -> bool {
        let want: Vec<u8> = self.args.iter().flat_map(|a| a.bytes().chain([0])).collect();
        match self.param_match {
            ParamMatch::Any => true,
            ParamMatch::Exact => params == want.as_slice(),
            ParamMatch::Partial => params.starts_with(&want),
            ParamMatch::Initial => params.starts_with(&want[..want.len().saturating_sub(1)]),
        }
    }
}

/// A tracked process: what it looks for, its quorum and its delays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spec {
    /// The processes it counts.
    pub pattern: Pattern,
    /// The fewest matching processes for up (0 with `quorum_max` 0: up while none runs).
    pub quorum: u32,
    /// The most.
    pub quorum_max: u32,
    /// How long a count changed by a fork waits before it counts.
    pub fork_delay: Duration,
    /// How long a count changed by an exit waits before it counts.
    pub terminate_delay: Duration,
}

impl Spec {
    fn in_quorum(&self, count: usize) -> bool {
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        (self.quorum..=self.quorum_max).contains(&count)
    }
}

/// A tracked process that changed state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Its name.
    pub name: String,
    /// Its new state: the count is in its quorum.
    pub up: bool,
    /// The number of matching processes now.
    pub count: usize,
}

/// What caused a count to change: it decides the delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    Exec,
    Fork,
    Exit,
}

#[derive(Debug, Clone)]
struct Watch {
    spec: Spec,
    pids: BTreeSet<u32>,
    up: bool,
    /// When a delayed change counts.
    pending: Option<Duration>,
}

impl Watch {
    /// The state after a change of the count: at once, or after the cause's delay.
    fn settle(&mut self, name: &str, cause: Cause, now: Duration) -> Option<Change> {
        let want = self.spec.in_quorum(self.pids.len());
        if want == self.up {
            self.pending = None;
            return None;
        }
        let delay = match cause {
            Cause::Exec => Duration::ZERO,
            Cause::Fork => self.spec.fork_delay,
            Cause::Exit => self.spec.terminate_delay,
        };
        if !delay.is_zero() {
            self.pending.get_or_insert(now.saturating_add(delay));
            return None;
        }
        self.pending = None;
        self.up = want;
        Some(Change { name: name.to_string(), up: want, count: self.pids.len() })
    }
}

/// Every tracked process's matching processes and state.
#[derive(Debug, Clone)]
pub struct Table {
    watches: BTreeMap<String, Watch>,
}

impl Table {
    /// Tracked processes, each down until [`Table::seed`].
    pub fn new(specs: impl IntoIterator<Item = (String, Spec)>) -> Table {
        let watch = |spec| Watch { spec, pids: BTreeSet::new(), up: false, pending: None };
        Table { watches: specs.into_iter().map(|(n, s)| (n, watch(s))).collect() }
    }

    /// Counts the processes running at the start; every state is set at once.
    pub fn seed(&mut self, procs: &[Proc]) {
        for w in self.watches.values_mut() {
            w.pids = procs.iter().filter(|p| w.spec.pattern.matches(p)).map(|p| p.pid).collect();
            w.up = w.spec.in_quorum(w.pids.len());
            w.pending = None;
        }
    }

    /// Counts again from a whole table (after events were lost): a count that gained its
    /// quorum waits `fork_delay`, one that lost it `terminate_delay`, as keepalived does.
    pub fn resync(&mut self, procs: &[Proc], now: Duration) -> Vec<Change> {
        let mut out = Vec::new();
        for (name, w) in &mut self.watches {
            w.pids = procs.iter().filter(|p| w.spec.pattern.matches(p)).map(|p| p.pid).collect();
            let cause = if w.spec.in_quorum(w.pids.len()) { Cause::Fork } else { Cause::Exit };
            out.extend(w.settle(name, cause, now));
        }
        out
    }

    /// Feeds one process event.
    pub fn event(&mut self, e: &ProcEvent, now: Duration) -> Vec<Change> {
        let mut out = Vec::new();
        for (name, w) in &mut self.watches {
            let (changed, cause) = match e {
                ProcEvent::Exec(p) => (Self::place(w, p), Cause::Exec),
                ProcEvent::Comm(p) if !w.spec.pattern.full_command => (Self::place(w, p), Cause::Exec),
                ProcEvent::Comm(_) => (false, Cause::Exec),
                ProcEvent::Fork { parent, child } => (w.pids.contains(parent) && w.pids.insert(*child), Cause::Fork),
                ProcEvent::Exit(pid) => (w.pids.remove(pid), Cause::Exit),
            };
            if changed {
                out.extend(w.settle(name, cause, now));
            }
        }
        out
    }

    /// Counts `p` in `w` or not, as it matches; true when that changed the count.
    fn place(w: &mut Watch, p: &Proc) -> bool {
        if w.spec.pattern.matches(p) { w.pids.insert(p.pid) } else { w.pids.remove(&p.pid) }
    }

    /// The delayed changes whose time has come.
    pub fn tick(&mut self, now: Duration) -> Vec<Change> {
        let mut out = Vec::new();
        for (name, w) in &mut self.watches {
            if w.pending.is_some_and(|at| at <= now) {
                w.pending = None;
                let want = w.spec.in_quorum(w.pids.len());
                if want != w.up {
                    w.up = want;
                    out.push(Change { name: name.clone(), up: want, count: w.pids.len() });
                }
            }
        }
        out
    }

    /// When [`Table::tick`] has something to do next.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.watches.values().filter_map(|w| w.pending).min()
    }

    /// Each tracked process's state (true: in its quorum) and count, in name order.
    pub fn states(&self) -> impl Iterator<Item = (&str, bool, usize)> {
        self.watches.iter().map(|(n, w)| (n.as_str(), w.up, w.pids.len()))
    }
}

/// The events between two scans of the process table (pid -> process): gone is an exit;
/// new is a fork when its parent was there with the same name and command line (a
/// process that forked itself), else an exec; a name or command line that changed is an
/// exec. In pid order, exits first.
pub fn scan_events(old: &BTreeMap<u32, Proc>, new: &BTreeMap<u32, Proc>) -> Vec<ProcEvent> {
    let mut out: Vec<ProcEvent> =
        old.keys().filter(|pid| !new.contains_key(pid)).map(|pid| ProcEvent::Exit(*pid)).collect();
    for (pid, p) in new {
        match old.get(pid) {
            Some(was) if was.comm == p.comm && was.cmdline == p.cmdline => {}
            Some(_) => out.push(ProcEvent::Exec(p.clone())),
            None => match old.get(&p.ppid) {
                Some(parent) if parent.comm == p.comm && parent.cmdline == p.cmdline => {
                    out.push(ProcEvent::Fork { parent: p.ppid, child: *pid });
                }
                _ => out.push(ProcEvent::Exec(p.clone())),
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(pid: u32, comm: &str, argv: &[&str]) -> Proc {
        let cmdline = argv.iter().flat_map(|a| a.bytes().chain([0])).collect();
        Proc { pid, ppid: 1, comm: comm.as_bytes().to_vec(), cmdline }
    }

    fn pattern(process: &str, args: &[&str], param_match: ParamMatch, full_command: bool) -> Pattern {
        let args = args.iter().map(|a| a.to_string()).collect();
        Pattern { process: process.into(), args, param_match, full_command }
    }

    fn spec(p: Pattern, quorum: u32, quorum_max: u32, fork: u64, terminate: u64) -> Spec {
        Spec {
            pattern: p,
            quorum,
            quorum_max,
            fork_delay: Duration::from_secs(fork),
            terminate_delay: Duration::from_secs(terminate),
        }
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn a_name_matches_the_process_name_exactly() {
        let p = pattern("haproxy", &[], ParamMatch::Any, false);
        assert!(p.matches(&proc(1, "haproxy", &["/usr/sbin/haproxy", "-f", "x"])));
        assert!(!p.matches(&proc(1, "haproxy2", &["haproxy"])), "no prefix match (pgrep ^haproxy$)");
        assert!(!p.matches(&proc(1, "hap", &["haproxy"])), "the name, not argv[0]");
        assert!(!p.matches(&proc(1, "haproxy\n", &[])));
    }

    #[test]
    fn a_full_command_matches_argv0_then_the_arguments_as_param_match_says() {
        let full = pattern("/usr/sbin/haproxy", &[], ParamMatch::Any, true);
        assert!(full.matches(&proc(1, "haproxy", &["/usr/sbin/haproxy", "-f", "x"])));
        assert!(!full.matches(&proc(1, "haproxy", &["haproxy"])), "argv[0] exactly");
        assert!(!full.matches(&proc(1, "kthreadd", &[])), "a kernel thread has no command line");
        let none = pattern("sleep", &[], ParamMatch::Exact, true);
        assert!(none.matches(&proc(1, "sleep", &["sleep"])), "param_match, no arguments: none allowed");
        assert!(!none.matches(&proc(1, "sleep", &["sleep", "5"])));
        let exact = pattern("sleep", &["1000", "x"], ParamMatch::Exact, true);
        assert!(exact.matches(&proc(1, "sleep", &["sleep", "1000", "x"])));
        assert!(!exact.matches(&proc(1, "sleep", &["sleep", "1000", "x", "y"])), "exact: no more");
        assert!(!exact.matches(&proc(1, "sleep", &["sleep", "1000"])), "exact: no fewer");
        assert!(!exact.matches(&proc(1, "sleep", &["sleep", "1000", "xy"])));
        let partial = pattern("sleep", &["1000", "x"], ParamMatch::Partial, true);
        assert!(partial.matches(&proc(1, "sleep", &["sleep", "1000", "x", "y"])));
        assert!(!partial.matches(&proc(1, "sleep", &["sleep", "1000", "xy"])), "partial: whole arguments");
        assert!(!partial.matches(&proc(1, "sleep", &["sleep", "1000"])));
        let initial = pattern("sleep", &["1000", "x"], ParamMatch::Initial, true);
        assert!(initial.matches(&proc(1, "sleep", &["sleep", "1000", "xy", "z"])), "initial: the last may go on");
        assert!(!initial.matches(&proc(1, "sleep", &["sleep", "100", "x"])), "only the last");
        assert!(!initial.matches(&proc(1, "sleep", &["sleep", "1000"])));
    }

    fn sleeper(quorum: u32, quorum_max: u32, fork: u64, terminate: u64) -> Table {
        let p = pattern("sleep", &[], ParamMatch::Any, false);
        Table::new([("sl".to_string(), spec(p, quorum, quorum_max, fork, terminate))])
    }

    fn ups(changes: Vec<Change>) -> Vec<(bool, usize)> {
        changes.into_iter().map(|c| (c.up, c.count)).collect()
    }

    #[test]
    fn the_state_is_the_count_in_the_quorum() {
        let mut t = sleeper(2, 3, 0, 0);
        t.seed(&[proc(10, "sleep", &["sleep"]), proc(11, "bash", &["bash"])]);
        assert_eq!(t.states().collect::<Vec<_>>(), vec![("sl", false, 1)]);
        let exec = |pid| ProcEvent::Exec(proc(pid, "sleep", &["sleep"]));
        assert_eq!(ups(t.event(&exec(12), S(1))), vec![(true, 2)], "quorum reached");
        assert_eq!(ups(t.event(&exec(12), S(1))), vec![], "the same process again");
        assert_eq!(ups(t.event(&exec(13), S(1))), vec![]);
        assert_eq!(ups(t.event(&exec(14), S(1))), vec![(false, 4)], "above quorum_max");
        assert_eq!(ups(t.event(&ProcEvent::Exit(14), S(2))), vec![(true, 3)]);
        assert_eq!(ups(t.event(&ProcEvent::Exit(99), S(2))), vec![], "an untracked exit");
        let renamed = ProcEvent::Exec(proc(13, "perl", &["perl"]));
        assert_eq!(ups(t.event(&renamed, S(3))), vec![], "exec of another program: 2 left");
        assert_eq!(ups(t.event(&ProcEvent::Exit(12), S(3))), vec![(false, 1)]);
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn quorum_max_0_is_up_while_none_runs() {
        let mut t = sleeper(0, 0, 0, 0);
        t.seed(&[]);
        assert_eq!(t.states().next(), Some(("sl", true, 0)));
        assert_eq!(ups(t.event(&ProcEvent::Exec(proc(5, "sleep", &[])), S(0))), vec![(false, 1)]);
    }

    #[test]
    fn a_fork_counts_after_fork_delay_and_an_exit_after_terminate_delay() {
        let mut t = sleeper(2, 2, 5, 3);
        t.seed(&[proc(10, "sleep", &["sleep"])]);
        let fork = ProcEvent::Fork { parent: 10, child: 11 };
        assert_eq!(ups(t.event(&fork, S(100))), vec![], "quorum by a fork: not yet");
        assert_eq!(t.next_deadline(), Some(S(105)));
        assert_eq!(ups(t.tick(S(104))), vec![]);
        assert_eq!(ups(t.tick(S(105))), vec![(true, 2)], "after fork_delay");
        assert_eq!(ups(t.event(&ProcEvent::Exit(11), S(200))), vec![], "lost by an exit: not yet");
        assert_eq!(ups(t.event(&ProcEvent::Exec(proc(12, "sleep", &[])), S(201))), vec![], "back: cancelled");
        assert_eq!(t.next_deadline(), None);
        assert_eq!(ups(t.tick(S(210))), vec![]);
        assert_eq!(ups(t.event(&ProcEvent::Exit(12), S(300))), vec![]);
        assert_eq!(ups(t.tick(S(303))), vec![(false, 1)], "after terminate_delay");
        let untracked = ProcEvent::Fork { parent: 99, child: 100 };
        assert_eq!(ups(t.event(&untracked, S(400))), vec![], "a fork of an untracked process");
        assert_eq!(ups(t.event(&ProcEvent::Exec(proc(13, "sleep", &[])), S(400))), vec![(true, 2)], "an exec: at once");
        assert_eq!(ups(t.event(&ProcEvent::Fork { parent: 13, child: 14 }, S(401))), vec![]);
        assert_eq!(ups(t.event(&ProcEvent::Exit(14), S(402))), vec![], "the fork's exit cancels its delay");
        assert_eq!(ups(t.tick(S(500))), vec![]);
    }

    #[test]
    fn a_rename_moves_a_name_match_and_leaves_a_full_command_alone() {
        let by_name = ("n".to_string(), spec(pattern("worker", &[], ParamMatch::Any, false), 1, u32::MAX, 0, 0));
        let by_cmd = ("c".to_string(), spec(pattern("/bin/w", &[], ParamMatch::Any, true), 1, u32::MAX, 0, 0));
        let mut t = Table::new([by_name, by_cmd]);
        t.seed(&[proc(7, "worker", &["/bin/w"])]);
        let renamed = ProcEvent::Comm(proc(7, "idle", &["/bin/w"]));
        let changes = t.event(&renamed, S(1));
        assert_eq!(changes, vec![Change { name: "n".into(), up: false, count: 0 }]);
        assert_eq!(t.states().collect::<Vec<_>>(), vec![("c", true, 1), ("n", false, 0)]);
    }

    #[test]
    fn a_resync_applies_the_delays() {
        let mut t = sleeper(1, 1, 2, 4);
        t.seed(&[]);
        assert!(t.resync(&[proc(3, "sleep", &[])], S(10)).is_empty());
        assert_eq!(ups(t.tick(S(12))), vec![(true, 1)]);
        assert!(t.resync(&[], S(20)).is_empty());
        assert_eq!(ups(t.tick(S(24))), vec![(false, 0)]);
        let mut quick = sleeper(1, 1, 0, 0);
        quick.seed(&[]);
        assert_eq!(ups(quick.resync(&[proc(3, "sleep", &[])], S(1))), vec![(true, 1)]);
    }

    #[test]
    fn scans_give_the_events_between_them() {
        let table = |ps: Vec<Proc>| ps.into_iter().map(|p| (p.pid, p)).collect::<BTreeMap<_, _>>();
        let mut child = proc(11, "sleep", &["sleep", "9"]);
        child.ppid = 10;
        let mut other = proc(12, "sh", &["sh"]);
        other.ppid = 10;
        let old = table(vec![proc(10, "sleep", &["sleep", "9"]), proc(20, "gone", &[]), proc(30, "a", &["a"])]);
        let new = table(vec![proc(10, "sleep", &["sleep", "9"]), child, other.clone(), proc(30, "b", &["b"])]);
        assert_eq!(
            scan_events(&old, &new),
            vec![
                ProcEvent::Exit(20),
                ProcEvent::Fork { parent: 10, child: 11 },
                ProcEvent::Exec(other),
                ProcEvent::Exec(proc(30, "b", &["b"])),
            ]
        );
        assert!(scan_events(&new, &new).is_empty());
    }
}
