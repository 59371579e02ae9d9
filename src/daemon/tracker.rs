//! Tracking for the running VRRP instances: each track script runs on its own thread (so a
//! slow script delays nothing else; each runs in a process group of its own, killed whole
//! when it ends or times out), link states are polled every 100 ms, and whenever an
//! instance's effective priority changes it gets a `Priority` control message. Track files
//! are read at start and then on every change by one watching thread ([`super::trackfile`]);
//! tracked processes are counted at start and then followed by one thread
//! ([`super::trackproc`]). The same link poll watches every instance's wire interfaces
//! ([`super::spec::InstanceSpec::wire_interfaces`]): one that appears, goes or is made again
//! (a new index) gets the instance a [`Control::Rebind`], so that it opens its wire again by
//! name, or waits in FAULT for the interface. A reload
//! restarts tracking with the states the objects had ([`Known`]): a failing script stays
//! failing, and no instance's priority moves because of the reload itself.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::error::DaemonError;
use super::instance::{Control, ControlTx, Running};
use super::trackfile::{self, FileReport};
use super::trackproc;
use crate::child::Group;
use crate::kernel::Addrs;
use crate::kernel::Processes;
use crate::model::cluster::TrackScript;
use crate::model::net::Link;
use crate::vrrp::procs::{Change, Spec};
use crate::vrrp::track::{Kind, Tracking};

const LINK_POLL: Duration = Duration::from_millis(100);
/// How long a killed track script has to be gone before it is left to a reaper thread.
const KILL_WAIT: Duration = Duration::from_secs(1);

/// The last state of every tracked object (true: succeeding / up), by kind and name.
pub type Known = BTreeMap<(Kind, String), bool>;

/// The running tracker threads.
pub struct Tracker {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    coordinator: Option<JoinHandle<Known>>,
}

impl Tracker {
    /// Stops every tracker thread, waits for them, and returns the objects' last states.
    pub fn stop(mut self) -> Known {
        self.halt()
    }

    fn halt(&mut self) -> Known {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            if t.join().is_err() {
                tracing::error!("internal error: a tracker thread crashed");
            }
        }
        match self.coordinator.take().map(JoinHandle::join) {
            Some(Ok(known)) => known,
            Some(Err(_)) => {
                tracing::error!("internal error: the tracker thread crashed");
                Known::new()
            }
            None => Known::new(),
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.halt();
    }
}

struct Watched {
    tracking: Tracking,
    /// It tracks anything: only then does it get priorities.
    tracks: bool,
    ifaces: Vec<String>,
    /// Its wire interfaces, with the index each had at the last poll (`None`: missing).
    wired: BTreeMap<String, Option<u32>>,
    control: ControlTx,
    last: Option<u8>,
}

/// Starts tracking for the instances that track anything, and the watch on every instance's
/// wire interfaces; link states are read through `addrs`. Objects start in their `known` state; an object never seen starts succeeding,
/// a script with `init_fail` failing.
pub fn start(
    running: &[Running],
    addrs: Box<dyn Addrs + Send>,
    processes: &dyn Fn() -> Box<dyn Processes + Send>,
    known: &Known,
) -> Result<Tracker, DaemonError> {
    let stop = Arc::new(AtomicBool::new(false));
    let (proc_tx, proc_rx) = channel::<Change>();
    let specs: BTreeMap<String, Spec> =
        running.iter().flat_map(|r| r.spec.track_processes.iter()).map(|(n, (_, s))| (n.clone(), s.clone())).collect();
    let procs = (!specs.is_empty()).then(|| trackproc::Watch::new(specs, processes()));
    let proc_states = procs.as_ref().map(trackproc::Watch::states).unwrap_or_default();
    let (tx, rx) = channel::<(String, bool)>();
    let (file_tx, file_rx) = channel::<FileReport>();
    let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut values: BTreeMap<String, i64> = BTreeMap::new();
    let mut scripts: BTreeMap<String, TrackScript> = BTreeMap::new();
    let mut watched = Vec::new();
    let was_up = |kind: Kind, name: &str, init: bool| known.get(&(kind, name.to_string())).copied().unwrap_or(init);
    for r in running {
        let mut t = Tracking::new(r.spec.priority);
        for (name, (w, s)) in &r.spec.track_scripts {
            t = t.with_script(name, w.weight, w.reverse, s.rise, s.fall, was_up(Kind::Script, name, !s.init_fail));
            scripts.insert(name.clone(), s.clone());
        }
        for (name, w) in &r.spec.track_interfaces {
            t = t.with_interface(name, w.weight, w.reverse, was_up(Kind::Interface, name, true));
        }
        for (name, (w, f)) in &r.spec.track_files {
            let value = *values.entry(name.clone()).or_insert_with(|| {
                if !known.contains_key(&(Kind::File, name.clone())) {
                    trackfile::init(name, f);
                }
                trackfile::read_value(name, &f.path).unwrap_or(0)
            });
            t = t.with_file(name, w.weight, w.reverse, value);
            files.insert(name.clone(), f.path.clone());
        }
        for (name, (w, _)) in &r.spec.track_processes {
            t = t.with_process(name, w.weight, w.reverse, proc_states.get(name).copied().unwrap_or(false));
        }
        let last = t.effective_priority();
        let ifaces = r.spec.track_interfaces.keys().cloned().collect();
        let wired = r.spec.wire_interfaces().into_iter().map(|i| (i.to_string(), None)).collect();
        let (tracks, control) = (r.spec.tracks(), r.control.clone());
        watched.push(Watched { tracking: t, tracks, ifaces, wired, control, last });
    }
    let mut tracker = Tracker { stop, threads: Vec::new(), coordinator: None };
    if watched.is_empty() {
        return Ok(tracker);
    }
    // On a failure to start a thread, those already started stop when `tracker` is dropped.
    for (name, s) in scripts {
        let (tx, flag) = (tx.clone(), tracker.stop.clone());
        tracker.threads.push(super::spawn(format!("track-{name}"), move || run_track_script(&name, &s, &tx, &flag))?);
    }
    if !files.is_empty() {
        tracker.threads.push(trackfile::start(files.clone(), file_tx, tracker.stop.clone())?);
    }
    if let Some(p) = procs {
        tracker.threads.push(trackproc::start(p, proc_tx, tracker.stop.clone())?);
    }
    let flag = tracker.stop.clone();
    let files: Vec<String> = files.into_keys().collect();
    tracker.coordinator =
        Some(super::spawn("tracker".into(), move || coordinate(watched, (rx, file_rx, proc_rx), addrs, flag, files))?);
    Ok(tracker)
}

/// Runs a track script every `interval` until stopped, sending each result.
fn run_track_script(name: &str, s: &TrackScript, tx: &Sender<(String, bool)>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let started = Instant::now();
        let ok = run_script(&s.command, s.timeout);
        if tx.send((name.to_string(), ok)).is_err() {
            return;
        }
        while started.elapsed() < s.interval && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Runs a track command; true when it exits 0 within `timeout`. It runs as the leader of a
/// process group of its own ([`Group`]): past the timeout the group is killed, and when the
/// command ends, whatever it left running in its group is killed too.
pub fn run_script(cmd: &[String], timeout: Duration) -> bool {
    let Some((prog, args)) = cmd.split_first() else { return false };
    let Ok(group) = Group::spawn(Command::new(prog).args(args).stdin(std::process::Stdio::null())) else {
        return false;
    };
    match group.wait_exit(timeout) {
        Ok(true) => group.finish().is_ok_and(|s| s.success()),
        // Timed out, or cannot be waited for: dropping the group kills it.
        Ok(false) | Err(_) => {
            group.signal(libc::SIGKILL);
            if group.wait_exit(KILL_WAIT).unwrap_or(false) {
                let _ = group.finish();
            }
            false
        }
    }
}

/// Feeds script results and link states to each instance's tracking until stopped;
/// returns the objects' last states.
fn coordinate(
    mut watched: Vec<Watched>,
    (rx, file_rx, proc_rx): (Receiver<(String, bool)>, Receiver<FileReport>, Receiver<Change>),
    mut addrs: Box<dyn Addrs + Send>,
    stop: Arc<AtomicBool>,
    files: Vec<String>,
) -> Known {
    for w in watched.iter().filter(|w| w.tracks) {
        w.control.send(Control::Priority(w.last));
    }
    if let Ok(links) = addrs.indexed_links() {
        for w in &mut watched {
            rewired(w, &links);
        }
    }
    while !stop.load(Ordering::SeqCst) {
        match rx.recv_timeout(LINK_POLL) {
            Ok((name, ok)) => watched.iter_mut().for_each(|w| {
                let _ = w.tracking.script_result(&name, ok);
            }),
            Err(RecvTimeoutError::Timeout) => {}
            // No track script runs (interfaces only): links are still polled.
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(LINK_POLL),
        }
        for (name, value) in file_rx.try_iter() {
            for w in &mut watched {
                if let Ok(Some(flip)) = w.tracking.file_value(&name, value) {
                    tracing::info!(track_file = %name, value, "{flip}");
                }
            }
        }
        for c in proc_rx.try_iter() {
            for w in &mut watched {
                if let Ok(Some(flip)) = w.tracking.process_state(&c.name, c.up) {
                    tracing::info!(track_process = %c.name, count = c.count, "{flip}");
                }
            }
        }
        if let Ok(links) = addrs.indexed_links() {
            for w in &mut watched {
                for name in &w.ifaces {
                    let up = links.get(name).is_some_and(|(_, l)| l.running());
                    let _ = w.tracking.interface_state(name, up);
                }
                if rewired(w, &links) {
                    w.control.send(Control::Rebind);
                }
            }
        }
        publish(&mut watched);
    }
    let states = watched.iter().flat_map(|w| w.tracking.states());
    let mut known: Known = states.map(|((kind, name), up)| ((kind, name.to_string()), up)).collect();
    // A file seen is not initialised again by a reload.
    known.extend(files.into_iter().map(|f| ((Kind::File, f), true)));
    known
}

/// Takes the indices of `w`'s wire interfaces from `links`; true when one changed (appeared,
/// went, or was made again).
fn rewired(w: &mut Watched, links: &BTreeMap<String, (u32, Link)>) -> bool {
    let mut changed = false;
    for (name, index) in &mut w.wired {
        let now = links.get(name).map(|(i, _)| *i);
        changed |= *index != now;
        *index = now;
    }
    changed
}

fn publish(watched: &mut [Watched]) {
    for w in watched.iter_mut().filter(|w| w.tracks) {
        let now = w.tracking.effective_priority();
        if now != w.last {
            tracing::info!(priority = ?now, faults = ?w.tracking.faults(), "vrrp effective priority changed");
            w.last = now;
            w.control.send(Control::Priority(now));
        }
    }
}
