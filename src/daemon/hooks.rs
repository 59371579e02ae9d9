//! Commands the daemon runs on events, never through a shell.
//!
//! - Per service, `notify_up` / `notify_down` when a backend changes and `quorum_up` /
//!   `quorum_down` when the service gains or loses quorum ([`run`]): `{name}` placeholders
//!   in the arguments are replaced, and the daemon does not wait (a thread reaps the child).
//! - Per VRRP instance, the commands of its transitions (`notify_master`, ..., `notify`) go
//!   to a [`Serial`] queue: one thread per instance runs them one after another in the
//!   order given, each in a process group of its own and waited for up to its timeout,
//!   past which the group gets SIGTERM and then SIGKILL. The instance's thread only
//!   queues, so VRRP never waits for a command, and a later command never overtakes an
//!   earlier one (keepalived starts each without waiting, so its scripts may run out of
//!   order). Every run is logged: start, exit status, timeout. A command of an event that
//!   may come with every advert (`notify_master_rx_lower_pri`) is queued with
//!   [`Serial::push_once`]: never while one of its event is waiting or running, so a
//!   flood of adverts cannot fill the queue and push out the transitions' commands.

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Commands one queue holds at most while one runs: beyond them a command is skipped with
/// an error, so that an instance flapping while its command hangs cannot grow memory
/// without bound.
pub const QUEUE: usize = 64;
/// How long a timed-out command's process group has between SIGTERM and SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);
/// Environment a command does not inherit: loader and field-splitting overrides (keepalived
/// drops the same ones).
pub(super) const DROPPED_ENV: [&str; 3] = ["IFS", "LD_PRELOAD", "LD_LIBRARY_PATH"];

/// Starts `argv` with `{key}` replaced by its value in every argument, plus `extra`
/// arguments; `event` names it in the log when it cannot start.
pub fn run(argv: &[String], vars: &[(&str, String)], extra: &[String], event: &str) {
    let args: Vec<String> = argv.iter().map(|a| substitute(a, vars)).chain(extra.iter().cloned()).collect();
    let Some((prog, rest)) = args.split_first() else { return };
    match std::process::Command::new(prog).args(rest).stdin(std::process::Stdio::null()).spawn() {
        Ok(mut child) => {
            let reaped = std::thread::Builder::new().name("hook".into()).spawn(move || child.wait());
            if let Err(e) = reaped {
                tracing::warn!(%event, command = %prog, error = %e, "command started, not reaped");
            }
        }
        Err(e) => tracing::warn!(%event, command = %prog, error = %e, "command not started"),
    }
}

fn substitute(arg: &str, vars: &[(&str, String)]) -> String {
    vars.iter().fold(arg.to_string(), |a, (k, v)| a.replace(&format!("{{{k}}}"), v))
}

/// One command of a [`Serial`] queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// What it runs for, as the manifest names it: `notify_master`, `notify`, ...
    pub event: &'static str,
    /// Program and arguments.
    pub argv: Vec<String>,
    /// How long it may run.
    pub timeout: Duration,
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this status.
    Exit(i32),
    /// A signal ended it.
    Signal(i32),
    /// It ran past its timeout and was killed with its process group.
    TimedOut,
    /// It could not be started (the reason).
    NotStarted(String),
}

/// The commands of one owner (a VRRP instance), run one at a time in the order they were
/// pushed, on a thread of its own that starts with the first command.
pub struct Serial {
    owner: String,
    tx: Option<SyncSender<(Job, bool)>>,
    thread: Option<JoinHandle<()>>,
    started: bool,
    /// The events queued with [`Serial::push_once`] whose command has not ended.
    once: Pending,
}

/// Events with a command waiting or running, shared with the queue's thread.
type Pending = Arc<Mutex<BTreeSet<&'static str>>>;

impl Serial {
    /// An empty queue of `owner`'s commands (the name in the log and the thread's name).
    pub fn new(owner: &str) -> Serial {
        Serial { owner: owner.to_string(), tx: None, thread: None, started: false, once: Pending::default() }
    }

    /// Queues a command behind the ones before it; never waits. A full queue skips it
    /// with an error.
    pub fn push(&mut self, job: Job) {
        self.send(job, false);
    }

    /// Queues a command as [`Serial::push`] does, unless a command of its event is still
    /// waiting or running (then it is skipped, logged at debug level): for events that
    /// may come many times a second.
    pub fn push_once(&mut self, job: Job) {
        let event = job.event;
        if !self.once.lock().unwrap_or_else(PoisonError::into_inner).insert(event) {
            return tracing::debug!(instance = %self.owner, %event, "notify command skipped: the last one has not ended");
        }
        if !self.send(job, true) {
            self.once.lock().unwrap_or_else(PoisonError::into_inner).remove(event);
        }
    }

    /// Queues `job`; false when it was skipped (logged).
    fn send(&mut self, job: Job, once: bool) -> bool {
        if !self.started {
            self.start();
        }
        let Some(tx) = &self.tx else {
            tracing::error!(instance = %self.owner, event = %job.event, "notify command skipped: no thread runs it");
            return false;
        };
        match tx.try_send((job, once)) {
            Ok(()) => return true,
            Err(TrySendError::Full((job, _))) => tracing::error!(
                instance = %self.owner,
                event = %job.event,
                command = %job.argv.join(" "),
                waiting = QUEUE,
                "notify command skipped: the commands before it have not finished"
            ),
            Err(TrySendError::Disconnected((job, _))) => {
                tracing::error!(instance = %self.owner, event = %job.event, "notify command skipped: its thread ended")
            }
        }
        false
    }

    fn start(&mut self) {
        self.started = true;
        let (tx, rx) = sync_channel(QUEUE);
        let (owner, once) = (self.owner.clone(), self.once.clone());
        match std::thread::Builder::new().name(format!("notify-{owner}")).spawn(move || drain(&owner, &rx, &once)) {
            Ok(t) => (self.tx, self.thread) = (Some(tx), Some(t)),
            Err(e) => tracing::error!(instance = %self.owner, error = %e, "notify thread not started"),
        }
    }

    /// Takes no more commands; the queued ones still run, and the returned handle waits
    /// for them.
    pub fn close(mut self) -> Draining {
        self.tx = None;
        Draining(self.thread.take())
    }
}

/// A closed [`Serial`] queue whose commands may still be running. Dropping it leaves them
/// to finish on their own.
#[derive(Default)]
pub struct Draining(Option<JoinHandle<()>>);

impl Draining {
    /// True once every queued command has ended.
    pub fn is_finished(&self) -> bool {
        self.0.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Waits until every queued command has ended (each is bounded by its timeout).
    pub fn wait(self) {
        if let Some(t) = self.0
            && t.join().is_err()
        {
            tracing::error!("internal error: a notify thread crashed");
        }
    }
}

fn drain(owner: &str, rx: &Receiver<(Job, bool)>, pending: &Mutex<BTreeSet<&'static str>>) {
    while let Ok((job, once)) = rx.recv() {
        run_waiting(owner, &job);
        if once {
            pending.lock().unwrap_or_else(PoisonError::into_inner).remove(job.event);
        }
    }
}

/// Runs one command to its end, or to its timeout and then kills its process group; logs
/// the start and how it ended.
pub fn run_waiting(owner: &str, job: &Job) -> Ended {
    let (event, command) = (job.event, job.argv.join(" "));
    let Some((prog, args)) = job.argv.split_first() else { return Ended::NotStarted("no command".into()) };
    let mut c = std::process::Command::new(prog);
    c.args(args).stdin(Stdio::null());
    for v in DROPPED_ENV {
        c.env_remove(v);
    }
    let t0 = Instant::now();
    let group = match crate::child::Group::spawn(&mut c) {
        Ok(g) => g,
        Err(e) => {
            tracing::warn!(instance = %owner, %event, %command, error = %e, "notify command not started");
            return Ended::NotStarted(e.to_string());
        }
    };
    tracing::info!(instance = %owner, %event, %command, pid = group.id(), "notify command started");
    let ended = match group.wait_exit(job.timeout) {
        Ok(true) => ended(group.reap()),
        _ => {
            group.signal(libc::SIGTERM);
            let _ = group.wait_exit(TERM_GRACE);
            let _ = group.finish();
            Ended::TimedOut
        }
    };
    let elapsed_ms = t0.elapsed().as_millis();
    match &ended {
        Ended::Exit(0) => {
            tracing::info!(instance = %owner, %event, %command, elapsed_ms, "notify command ended: exit 0")
        }
        Ended::Exit(code) => {
            tracing::warn!(instance = %owner, %event, %command, elapsed_ms, "notify command failed: exit {code}")
        }
        Ended::Signal(sig) => {
            tracing::warn!(instance = %owner, %event, %command, elapsed_ms, "notify command killed by signal {sig}")
        }
        Ended::TimedOut => tracing::warn!(
            instance = %owner,
            %event,
            %command,
            timeout_ms = job.timeout.as_millis(),
            "notify command timed out; killed with its process group"
        ),
        Ended::NotStarted(why) => {
            tracing::warn!(instance = %owner, %event, %command, error = %why, "notify command lost")
        }
    }
    ended
}

/// How a reaped command ended.
fn ended(status: std::io::Result<std::process::ExitStatus>) -> Ended {
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => Ended::Exit(code),
            (None, Some(sig)) => Ended::Signal(sig),
            (None, None) => Ended::Exit(-1),
        },
        Err(e) => Ended::NotStarted(format!("wait: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced_in_every_argument() {
        let vars = [("service", "web".to_string()), ("port", "80".to_string())];
        assert_eq!(substitute("{service}:{port}/{other}", &vars), "web:80/{other}");
    }

    #[test]
    fn the_command_runs_with_its_arguments() {
        let dir = std::env::temp_dir().join(format!("lbc-hooks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        let argv: Vec<String> =
            ["/bin/sh", "-c", "echo \"$@\" > \"$0\"", out.to_str().unwrap(), "{service}"].map(String::from).to_vec();
        run(&argv, &[("service", "web".into())], &["DOWN".into()], "test");
        let t = std::time::Instant::now();
        while std::fs::read_to_string(&out).unwrap_or_default() != "web DOWN\n" {
            assert!(t.elapsed() < std::time::Duration::from_secs(5), "the hook did not run");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("lbc-hooks-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// `/bin/sh -c SCRIPT hook ARGS...`: the arguments are `$1`, `$2`, ...
    fn sh(script: &str, args: &[&str]) -> Vec<String> {
        ["/bin/sh", "-c", script, "hook"].iter().chain(args).map(|a| a.to_string()).collect()
    }

    fn job(event: &'static str, argv: Vec<String>) -> Job {
        Job { event, argv, timeout: Duration::from_secs(10) }
    }

    fn log(f: impl FnOnce()) -> String {
        crate::logging::capture::logged(
            crate::logging::Formatter::new(crate::logging::Format::Text),
            tracing::Level::INFO,
            f,
        )
    }

    #[test]
    fn a_queue_runs_its_commands_one_at_a_time_in_the_order_given_and_never_waits() {
        let dir = scratch("serial");
        let out = dir.join("out");
        let out = out.to_str().unwrap();
        let mut q = Serial::new("VI_1");
        let pushed = Instant::now();
        // The master's command is slow; the backup's, queued right after it, must wait.
        q.push(job("notify_master", sh("sleep 0.3; echo master >> \"$1\"", &[out])));
        q.push(job("notify_backup", sh("echo backup >> \"$1\"", &[out])));
        let generic = sh("echo \"notify $2 $3 $4 $5\" >> \"$1\"", &[out, "INSTANCE", "VI_1", "BACKUP", "100"]);
        q.push(job("notify", generic));
        assert!(pushed.elapsed() < Duration::from_millis(100), "push waited {:?}", pushed.elapsed());
        q.close().wait();
        assert!(pushed.elapsed() >= Duration::from_millis(300));
        assert_eq!(std::fs::read_to_string(out).unwrap(), "master\nbackup\nnotify INSTANCE VI_1 BACKUP 100\n");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_event_pushed_once_is_not_queued_again_while_its_command_waits_or_runs() {
        let dir = scratch("once");
        let out = dir.join("out");
        let out = out.to_str().unwrap();
        let mut q = Serial::new("VI_1");
        let lower = || job("notify_master_rx_lower_pri", sh("sleep 0.2; echo lower >> \"$1\"", &[out]));
        // A flood of lower-priority adverts while the first command runs: one more is
        // never queued, and a transition's command still is.
        for _ in 0..(QUEUE * 2) {
            q.push_once(lower());
        }
        q.push(job("notify_backup", sh("echo backup >> \"$1\"", &[out])));
        let t = Instant::now();
        while std::fs::read_to_string(out).unwrap_or_default() != "lower\nbackup\n" {
            assert!(t.elapsed() < Duration::from_secs(5), "{:?}", std::fs::read_to_string(out));
            std::thread::sleep(Duration::from_millis(10));
        }
        // Once it has ended, the event is queued again.
        q.push_once(lower());
        q.close().wait();
        assert_eq!(std::fs::read_to_string(out).unwrap(), "lower\nbackup\nlower\n");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_command_past_its_timeout_is_killed_with_its_process_group() {
        let dir = scratch("timeout");
        let pidfile = dir.join("pid");
        // It ignores SIGTERM, and so does the child it leaves in the background: only the
        // group's SIGKILL after the grace ends them.
        let argv = sh("trap '' TERM; sleep 30 & echo $! > \"$1\"; wait", &[pidfile.to_str().unwrap()]);
        let t0 = Instant::now();
        let mut ended = None;
        let logged = log(|| {
            let j = Job { event: "notify_master", argv, timeout: Duration::from_millis(200) };
            ended = Some(run_waiting("VI_1", &j));
        });
        let took = t0.elapsed();
        assert_eq!(ended, Some(Ended::TimedOut));
        assert!(took >= TERM_GRACE && took < TERM_GRACE + Duration::from_secs(3), "{took:?}");
        assert!(logged.contains("notify command started"), "{logged}");
        assert!(logged.contains("notify command timed out; killed with its process group"), "{logged}");
        assert!(logged.contains("instance=VI_1") && logged.contains("event=notify_master"), "{logged}");
        let pid = std::fs::read_to_string(&pidfile).unwrap().trim().to_string();
        let gone = || match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            // Killed, waiting for whoever adopted it to reap it.
            Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
        };
        let t = Instant::now();
        while !gone() {
            assert!(t.elapsed() < Duration::from_secs(2), "the background child {pid} survived");
            std::thread::sleep(Duration::from_millis(10));
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn how_each_command_ended_is_logged() {
        let mut ended = Vec::new();
        let logged = log(|| {
            ended.push(run_waiting("VI_1", &job("notify_backup", sh("exit 0", &[]))));
            ended.push(run_waiting("VI_1", &job("notify_fault", sh("exit 3", &[]))));
            ended.push(run_waiting("VI_1", &job("notify_stop", sh("kill -9 $$", &[]))));
            ended.push(run_waiting("VI_1", &job("notify", vec!["/nonexistent/notify".into()])));
        });
        assert_eq!(ended[..3], [Ended::Exit(0), Ended::Exit(3), Ended::Signal(9)]);
        assert!(matches!(&ended[3], Ended::NotStarted(e) if e.contains("No such file")), "{:?}", ended[3]);
        for line in [
            "notify command ended: exit 0",
            "notify command failed: exit 3",
            "notify command killed by signal 9",
            "notify command not started",
        ] {
            assert!(logged.contains(line), "{line}: {logged}");
        }
    }
}
