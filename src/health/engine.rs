//! The probe engine (effects): worker threads of its own ([`Options::threads`], by default
//! one per core), off the daemon's main and VRRP threads and a little nicer than them
//! ([`WORKER_NICE`]), so that VRRP timing never waits behind a check, a slow script or a
//! TLS handshake. Each worker runs a single-thread tokio runtime (its own epoll and timers,
//! no work stealing, no wake-up of another thread per probe: a multi-thread runtime cost a
//! quarter more CPU per check, BENCHMARKS.md) and owns a fixed share of the targets, by a
//! hash of the target, so a target stays on its worker across [`Engine::set`]. One task per
//! target runs the target's [`CheckState`]: it sleeps until the next probe is due, probes,
//! records the outcome, and reports every transition through the callback it was given.
//!
//! A target's state and statistics are its own ([`Slot`], behind a lock only its task and a
//! reader of the statistics take): a probe takes no lock another target's probe waits for.
//! The engine's map of the running checks is touched on [`Engine::set`], [`Engine::stats`]
//! and a restart, never per probe. What a target's probe can build once (an HTTP request
//! without a password) is built when its task starts ([`Prober::prepare`]).
//!
//! [`Engine::set`] replaces the set of targets: targets that stay keep their task and state
//! (a reload loses no check's history), removed ones stop, new ones start spread over their
//! interval (no thundering herd at start or after a reload): each worker spreads its own
//! new targets over their interval.
//!
//! No check freezes silently: the engine joins every task it starts. One that panics (or
//! ends without being stopped) is logged with its check and the panic's message, counted
//! ([`ProbeStats::restarts`], [`Engine::restarts`]) and restarted with its check's state,
//! which lives beside its statistics, not in the task: the verdict carries on where it was.
//! The restarted task probes one interval later at the earliest, so a probe that always
//! panics restarts once per interval, not in a loop. A panic says nothing about the
//! backend: the interrupted probe counts neither as a pass nor as a failure.
//!
//! The probes themselves are a [`Prober`]: [`Probes`] in the daemon, a script of outcomes
//! in tests.
//!
//! Every probe is timed and counted per target ([`ProbeStats`]), whether or not it changes
//! anything; [`Engine::stats`] is a copy for the metrics. A target keeps its statistics as
//! long as it is checked.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::{AbortHandle, Id, JoinError, JoinSet};

use super::board::Target;
use super::probe::{Prepared, Probes};
use super::state::{CheckState, Outcome, Status, Transition};
use super::stats::ProbeStats;

/// A transition of one target, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The target.
    pub target: Target,
    /// What changed.
    pub transition: Transition,
}

/// Where reports go (the daemon's event channel).
pub type Notify = Arc<dyn Fn(Report) + Send + Sync>;

/// What the engine runs for one attempt of a check: [`Probes`] in the daemon; tests give
/// their own outcomes. Generic, not boxed: a probe costs no allocation more than its own.
pub trait Prober: Clone + Send + Sync + 'static {
    /// One attempt of `t`'s check.
    fn probe(&self, t: &Target) -> impl Future<Output = Outcome> + Send;

    /// What `t`'s task builds once and hands to every probe of `t` ([`Prober::probe_prepared`]);
    /// by default nothing.
    fn prepare(&self, t: &Target) -> Prepared {
        let _ = t;
        Prepared::default()
    }

    /// One attempt of `t`'s check with what [`Prober::prepare`] built for it; by default
    /// [`Prober::probe`].
    fn probe_prepared(&self, t: &Target, prepared: &Prepared) -> impl Future<Output = Outcome> + Send {
        let _ = prepared;
        self.probe(t)
    }
}

impl Prober for Probes {
    fn probe(&self, t: &Target) -> impl Future<Output = Outcome> + Send {
        self.run(t)
    }

    fn prepare(&self, t: &Target) -> Prepared {
        Prepared::new(t)
    }

    fn probe_prepared(&self, t: &Target, prepared: &Prepared) -> impl Future<Output = Outcome> + Send {
        self.run_prepared(t, prepared)
    }
}

/// How much nicer than the thread that starts the engine its workers run: on a host with
/// few cores and many checks, the scheduler gives VRRP's threads (and the daemon's, which
/// applies what the checks found) the core first.
pub const WORKER_NICE: i32 = 5;

/// The name of the engine's worker threads, numbered from 0: `health-0`, `health-1`, ...
pub const WORKER_NAME: &str = "health";

/// How the engine runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Worker threads that run the probes; `None`: [`default_threads`].
    pub threads: Option<NonZeroUsize>,
}

/// The default number of worker threads: one per core this process may run on.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// One running check, as its task and the engine share it: the state of its verdict and
/// its probes so far. A restarted task takes both over.
#[derive(Debug)]
struct Slot {
    state: CheckState,
    stats: ProbeStats,
    /// The check was removed: its task, if it is still probing, stops after this probe.
    removed: bool,
}

/// A check's [`Slot`], shared by its task and the engine; each its own lock.
type Cell = Arc<Mutex<Slot>>;

fn lock(cell: &Mutex<Slot>) -> MutexGuard<'_, Slot> {
    cell.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the engine's tasks and its owner share.
#[derive(Debug, Default)]
struct Shared {
    /// The running checks (not locked by a probe: only by a change, a restart, the stats).
    checks: Mutex<BTreeMap<Target, Cell>>,
    /// Probe tasks restarted since the engine started, removed checks' included.
    restarts: AtomicU64,
}

impl Shared {
    fn checks(&self) -> MutexGuard<'_, BTreeMap<Target, Cell>> {
        self.checks.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One worker: its thread, and the channel its set of targets comes on.
struct Worker {
    targets: Option<UnboundedSender<Vec<(Target, Status)>>>,
    thread: Option<JoinHandle<()>>,
}

/// The running engine; dropping it stops every probe.
pub struct Engine {
    workers: Vec<Worker>,
    shared: Arc<Shared>,
}

impl Engine {
    /// True while every worker runs (a worker's loop ends only when the engine is dropped;
    /// a crash of a loop itself stops its checks, and the daemon's watchdog with it).
    pub fn is_alive(&self) -> bool {
        self.workers.iter().all(|w| w.thread.as_ref().is_some_and(|t| !t.is_finished()))
    }

    /// Starts the engine's threads; `notify` gets every transition.
    pub fn start(notify: Notify) -> std::io::Result<Engine> {
        Engine::start_with(notify, Probes::default())
    }

    /// Starts the engine's threads with these probes; `notify` gets every transition.
    pub fn start_with(notify: Notify, probes: impl Prober) -> std::io::Result<Engine> {
        Engine::start_configured(notify, probes, Options::default())
    }

    /// Starts the engine's threads as `options` say, with these probes; `notify` gets
    /// every transition.
    pub fn start_configured(notify: Notify, probes: impl Prober, options: Options) -> std::io::Result<Engine> {
        let threads = options.threads.map_or_else(default_threads, NonZeroUsize::get);
        let shared = Arc::<Shared>::default();
        let mut engine = Engine { workers: Vec::with_capacity(threads), shared: shared.clone() };
        // Time zero of every check's clock.
        let epoch = Instant::now();
        for i in 0..threads {
            let (tx, rx) = unbounded_channel();
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let tasks = Tasks::new(probes.clone(), notify.clone(), shared.clone(), epoch);
            let thread = std::thread::Builder::new().name(format!("{WORKER_NAME}-{i}")).spawn(move || {
                lower_priority();
                runtime.block_on(serve(rx, tasks));
            })?;
            // Pushed at once: if a later one fails, dropping the engine stops the earlier.
            engine.workers.push(Worker { targets: Some(tx), thread: Some(thread) });
        }
        Ok(engine)
    }

    /// The engine's worker threads.
    pub fn threads(&self) -> usize {
        self.workers.len()
    }

    /// How the probes of each running target went so far.
    pub fn stats(&self) -> BTreeMap<Target, ProbeStats> {
        self.shared.checks().iter().map(|(t, cell)| (t.clone(), lock(cell).stats.clone())).collect()
    }

    /// Probe tasks that crashed and were restarted since the engine started, those of
    /// checks removed since included.
    pub fn restarts(&self) -> u64 {
        self.shared.restarts.load(Ordering::Relaxed)
    }

    /// Checks these targets from now on; a new target starts in the status given.
    pub fn set(&self, targets: Vec<(Target, Status)>) {
        let mut shares: Vec<Vec<(Target, Status)>> = self.workers.iter().map(|_| Vec::new()).collect();
        for (t, status) in targets {
            if let Some(share) = shares.get_mut(worker_of(&t, self.workers.len())) {
                share.push((t, status));
            }
        }
        for (w, share) in self.workers.iter().zip(shares) {
            if let Some(tx) = &w.targets {
                let _ = tx.send(share);
            }
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        for w in &mut self.workers {
            w.targets.take();
        }
        for w in &mut self.workers {
            if let Some(t) = w.thread.take()
                && t.join().is_err()
            {
                tracing::error!("internal error: a health-check thread crashed");
            }
        }
    }
}

/// The worker of `workers` that checks `t`: the same for the same target, whatever else
/// is checked (SipHash with fixed keys: the same in every run).
fn worker_of(t: &Target, workers: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    t.hash(&mut h);
    let n = u64::try_from(workers).unwrap_or(1).max(1);
    usize::try_from(h.finish() % n).unwrap_or(0)
}

/// A worker starting: [`WORKER_NICE`] nicer than the thread that started the engine.
fn lower_priority() {
    if let Err(e) = crate::sys::lower_thread_priority(WORKER_NICE) {
        tracing::warn!(subsystem = "health", error = %e, "could not lower a probe worker's priority");
    }
}

/// Takes each new set of targets, and each task that ends, until the engine is dropped
/// (then dropping the tasks aborts every probe).
async fn serve(mut sets: UnboundedReceiver<Vec<(Target, Status)>>, mut tasks: Tasks<impl Prober>) {
    loop {
        tokio::select! {
            set = sets.recv() => match set {
                Some(set) => tasks.set(set),
                None => break,
            },
            Some(done) = tasks.joins.join_next_with_id() => tasks.ended(done),
        }
    }
}

/// The probe tasks of one worker's checks, on the worker's thread.
struct Tasks<P> {
    joins: JoinSet<()>,
    running: BTreeMap<Target, AbortHandle>,
    /// Time zero of the checks' clocks.
    epoch: Instant,
    probes: P,
    notify: Notify,
    shared: Arc<Shared>,
}

impl<P: Prober> Tasks<P> {
    fn new(probes: P, notify: Notify, shared: Arc<Shared>, epoch: Instant) -> Self {
        Tasks { joins: JoinSet::new(), running: BTreeMap::new(), epoch, probes, notify, shared }
    }

    /// Checks these targets (this worker's share) from now on (see [`Engine::set`]).
    fn set(&mut self, set: Vec<(Target, Status)>) {
        let wanted: BTreeMap<Target, Status> = set.into_iter().collect();
        let mut checks = self.shared.checks();
        self.running.retain(|t, task| {
            let keep = wanted.contains_key(t);
            if !keep {
                task.abort();
                if let Some(cell) = checks.remove(t) {
                    lock(&cell).removed = true;
                }
            }
            keep
        });
        let fresh: Vec<(Target, Status)> = wanted.into_iter().filter(|(t, _)| !self.running.contains_key(t)).collect();
        let now = self.epoch.elapsed();
        let n = u32::try_from(fresh.len()).unwrap_or(u32::MAX).max(1);
        let mut starts = Vec::with_capacity(fresh.len());
        for (i, (t, status)) in (0u32..).zip(fresh) {
            let first = now + spread(t.check.interval, i, n);
            let slot = Slot { state: CheckState::new(status, first), stats: ProbeStats::default(), removed: false };
            let cell = Arc::new(Mutex::new(slot));
            checks.insert(t.clone(), cell.clone());
            starts.push((t, cell, first));
        }
        drop(checks);
        for (t, cell, first) in starts {
            self.spawn(t, cell, first);
        }
    }

    /// Starts `t`'s task, its first probe at `first`.
    fn spawn(&mut self, t: Target, cell: Cell, first: Duration) {
        let task = watch(t.clone(), cell, first, self.epoch, self.probes.clone(), self.notify.clone());
        let handle = self.joins.spawn(task);
        self.running.insert(t, handle);
    }

    /// A task ended. Aborted, its check was removed; anything else is a crash: logged,
    /// counted, and its check restarted.
    fn ended(&mut self, done: Result<(Id, ()), JoinError>) {
        let (id, panic) = match done {
            Err(e) if e.is_cancelled() => return,
            Err(e) => (e.id(), Some(panic_text(e))),
            Ok((id, ())) => (id, None),
        };
        let running = self.running.iter().find(|(_, task)| task.id() == id).map(|(t, _)| t.clone());
        match (running, panic) {
            (Some(t), panic) => {
                let why = panic.map_or("ended without being stopped".to_string(), |p| format!("panicked: {p}"));
                self.restart(t, &why);
            }
            (None, Some(p)) => {
                tracing::error!(subsystem = "health", panic = %p, "a removed check's probe task panicked")
            }
            // A task ends by itself when its check was removed while it probed.
            (None, None) => {}
        }
    }

    /// Counts and logs `t`'s crash, and starts its task again, with the state it had,
    /// one interval from now at the earliest.
    fn restart(&mut self, t: Target, why: &str) {
        let retry = self.epoch.elapsed() + t.check.interval;
        let Some(cell) = self.shared.checks().get(&t).cloned() else {
            self.running.remove(&t);
            return;
        };
        let (first, restarts) = {
            let mut slot = lock(&cell);
            slot.stats.restarts = slot.stats.restarts.saturating_add(1);
            (slot.state.due().max(retry), slot.stats.restarts)
        };
        self.shared.restarts.fetch_add(1, Ordering::Relaxed);
        log_restart(&t, why, restarts);
        self.spawn(t, cell, first);
    }
}

/// The crash of `t`'s task, its `restarts`-th.
fn log_restart(t: &Target, why: &str, restarts: u64) {
    tracing::error!(
        subsystem = "health", check = %t, cause = %why, restarts, restart_in = ?t.check.interval,
        "internal error: a health check's probe task crashed; restarting it"
    );
}

/// A panic's message, when it has one.
fn panic_text(e: JoinError) -> String {
    match e.try_into_panic() {
        Ok(p) => match p.downcast::<String>() {
            Ok(s) => *s,
            Err(p) => p.downcast_ref::<&str>().map_or("(no message)".to_string(), |s| (*s).to_string()),
        },
        Err(e) => e.to_string(),
    }
}

/// The offset of the `i`-th of `n` new checks within the interval.
fn spread(interval: Duration, i: u32, n: u32) -> Duration {
    interval / n * i
}

/// Checks `t` from `first` on, as long as it is running.
async fn watch(t: Target, cell: Cell, first: Duration, epoch: Instant, probes: impl Prober, notify: Notify) {
    let prepared = probes.prepare(&t);
    let mut due = first;
    loop {
        tokio::time::sleep_until((epoch + due).into()).await;
        let started = Instant::now();
        let outcome = probes.probe_prepared(&t, &prepared).await;
        let ended = Instant::now();
        let Some((next, transition)) = record(&cell, &t, &outcome, ended - started, ended - epoch) else {
            return;
        };
        if let Some(transition) = transition {
            notify(Report { target: t.clone(), transition });
        }
        due = next;
    }
}

/// Records a probe of `t` that took `took`: when the next is due, and the transition if
/// there is one; `None` when `t` is no longer checked.
fn record(
    cell: &Mutex<Slot>,
    t: &Target,
    outcome: &Outcome,
    took: Duration,
    now: Duration,
) -> Option<(Duration, Option<Transition>)> {
    let mut slot = lock(cell);
    if slot.removed {
        return None;
    }
    slot.stats.record(took, matches!(outcome, Outcome::Pass { .. }));
    let transition = slot.state.record(&t.check, outcome, now);
    Some((slot.state.due(), transition))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::stats::BUCKETS_US as BUCKETS;
    use crate::model::cluster::{Check, CheckKind};
    use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

    fn tcp_target(port: u16) -> Target {
        let check = Check {
            kind: CheckKind::Tcp(Default::default()),
            port,
            interval: Duration::from_millis(50),
            timeout: Duration::from_millis(500),
            retries: 0,
            retry_delay: Duration::from_millis(10),
            rise: 1,
            fall: 1,
            via_ipvs: false,
        };
        Target { address: "127.0.0.1".parse().unwrap(), check, via: None }
    }

    fn wait_for(reports: &Mutex<Vec<Report>>, n: usize) -> Vec<Report> {
        let t = Instant::now();
        while reports.lock().unwrap().len() < n {
            assert!(t.elapsed() < Duration::from_secs(5), "{:?}", reports.lock().unwrap());
            std::thread::sleep(Duration::from_millis(5));
        }
        reports.lock().unwrap().clone()
    }

    #[test]
    fn a_listener_going_away_and_coming_back_is_reported_and_a_reload_keeps_state() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let reports = Arc::new(Mutex::new(Vec::new()));
        let sink = reports.clone();
        let engine = Engine::start(Arc::new(move |r| sink.lock().unwrap().push(r))).unwrap();
        let t = tcp_target(port);
        engine.set(vec![(t.clone(), Status::Unknown)]);
        let got = wait_for(&reports, 1);
        assert_eq!((got[0].transition.from, got[0].transition.to), (Status::Unknown, Status::Up));
        engine.set(vec![(t.clone(), Status::Unknown)]);
        drop(listener);
        let got = wait_for(&reports, 2);
        assert_eq!((got[1].transition.from, got[1].transition.to), (Status::Up, Status::Down), "kept Up across set");
        assert_eq!(got[1].transition.reason, "connect refused");
        let again = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let got = wait_for(&reports, 3);
        assert_eq!(got[2].transition.to, Status::Up);
        engine.set(Vec::new());
        drop(again);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(reports.lock().unwrap().len(), 3, "a removed target is no longer probed");
    }

    #[test]
    fn every_probe_is_counted_timed_and_its_failure_tallied_until_the_target_goes() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (up, down) =
            (tcp_target(listener.local_addr().unwrap().port()), tcp_target(closed.local_addr().unwrap().port()));
        drop(closed);
        let engine = Engine::start(Arc::new(|_| {})).unwrap();
        engine.set(vec![(up.clone(), Status::Unknown), (down.clone(), Status::Unknown)]);
        let t = Instant::now();
        while engine.stats().values().filter(|s| s.probes >= 3).count() < 2 {
            assert!(t.elapsed() < Duration::from_secs(5), "{:?}", engine.stats());
            std::thread::sleep(Duration::from_millis(10));
        }
        let stats = engine.stats();
        for (target, failing) in [(&up, false), (&down, true)] {
            let s = &stats[target];
            assert_eq!(s.counts.iter().sum::<u64>(), s.probes, "one bucket per probe: {s:?}");
            assert_eq!(s.failures, if failing { s.probes } else { 0 }, "{s:?}");
            assert!(s.cumulative()[BUCKETS.len() - 1].1 == s.probes, "a local connect takes under 10 s: {s:?}");
        }
        engine.set(vec![(up.clone(), Status::Up)]);
        let t = Instant::now();
        while engine.stats().contains_key(&down) {
            assert!(t.elapsed() < Duration::from_secs(5));
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(engine.stats()[&up].probes >= stats[&up].probes, "a kept target keeps its counts");
    }

    /// Passes and fails by turns (a transition at every probe with rise and fall 1), and
    /// panics at the probes numbered in `panics` (from 1), or at every one from `always_from`.
    #[derive(Clone, Default)]
    struct Scripted {
        probes: Arc<AtomicU32>,
        panics: Vec<u32>,
        always_from: Option<u32>,
    }

    impl Prober for Scripted {
        fn probe(&self, _: &Target) -> impl Future<Output = Outcome> + Send {
            let n = self.probes.fetch_add(1, SeqCst) + 1;
            let panics = self.panics.contains(&n) || self.always_from.is_some_and(|f| n >= f);
            async move {
                assert!(!panics, "probe {n} panics on purpose");
                if n % 2 == 1 { Outcome::PASS } else { Outcome::Fail("scripted".into()) }
            }
        }
    }

    #[test]
    fn a_probe_task_that_panics_is_restarted_with_its_state_and_the_verdict_keeps_moving() {
        restarts_with_state(Options::default());
    }

    fn restarts_with_state(options: Options) {
        let reports = Arc::new(Mutex::new(Vec::new()));
        let sink = reports.clone();
        let prober = Scripted { panics: vec![3], ..Scripted::default() };
        let notify: Notify = Arc::new(move |r| sink.lock().unwrap().push(r));
        let engine = Engine::start_configured(notify, prober.clone(), options).unwrap();
        let t = tcp_target(1);
        engine.set(vec![(t.clone(), Status::Unknown)]);
        // 1 pass: up; 2 fail: down; 3 panics; 4 fail: still down; 5 pass: up; 6 fail: down.
        let got = wait_for(&reports, 4);
        let moves: Vec<(Status, Status)> = got[..4].iter().map(|r| (r.transition.from, r.transition.to)).collect();
        let (up, down, unknown) = (Status::Up, Status::Down, Status::Unknown);
        assert_eq!(moves, [(unknown, up), (up, down), (down, up), (up, down)], "the state survived the panic");
        assert_eq!(engine.stats()[&t].restarts, 1, "{:?}", engine.stats());
        assert_eq!(engine.restarts(), 1);
        assert!(engine.stats()[&t].probes >= 5, "the probes after the restart count: {:?}", engine.stats());
    }

    #[test]
    fn a_probe_that_keeps_panicking_is_restarted_at_most_once_per_interval() {
        let prober = Scripted { always_from: Some(2), ..Scripted::default() };
        let engine = Engine::start_with(Arc::new(|_| {}), prober.clone()).unwrap();
        let t =
            Target { check: Check { interval: Duration::from_millis(100), ..tcp_target(1).check }, ..tcp_target(1) };
        engine.set(vec![(t.clone(), Status::Unknown)]);
        std::thread::sleep(Duration::from_millis(1050));
        let restarts = engine.stats()[&t].restarts;
        // Probes at 0 (passes) and 100 ms (panics), then one restart each 100 ms: 9 or so.
        assert!((3..=11).contains(&restarts), "{restarts} restarts in 1 s");
        let probes = u64::from(prober.probes.load(SeqCst));
        assert!(probes <= restarts + 3, "{probes} probes for {restarts} restarts");
        engine.set(Vec::new());
        std::thread::sleep(Duration::from_millis(300));
        let (total, after) = (engine.restarts(), prober.probes.load(SeqCst));
        assert!(total >= restarts && engine.stats().is_empty(), "the node's total keeps a removed check's");
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!((engine.restarts(), prober.probes.load(SeqCst)), (total, after), "a removed check stays stopped");
    }

    #[test]
    fn a_crash_is_logged_with_its_check_and_its_panic() {
        let logged = crate::logging::capture::logged(
            crate::logging::Formatter::new(crate::logging::Format::Text),
            tracing::Level::INFO,
            || log_restart(&tcp_target(8080), "panicked: index out of bounds", 2),
        );
        for want in
            ["ERROR health: internal error", "check=tcp 127.0.0.1:8080 ", "cause=panicked: index out of bounds "]
        {
            assert!(logged.contains(want), "{want} missing: {logged}");
        }
        assert!(logged.contains("restarts=2") && logged.contains("restart_in=50ms"), "{logged}");
    }

    /// Blocks its worker for `hold` at every probe (a stand-in for CPU work), noting the
    /// thread it ran on (id, name, nice value), and passes.
    #[derive(Clone)]
    struct Blocking {
        hold: Duration,
        seen: Arc<Mutex<std::collections::HashMap<std::thread::ThreadId, (String, i32)>>>,
    }

    impl Prober for Blocking {
        fn probe(&self, _: &Target) -> impl Future<Output = Outcome> + Send {
            let me = std::thread::current();
            let nice = crate::sys::thread_nice().unwrap();
            self.seen.lock().unwrap().insert(me.id(), (me.name().unwrap_or("").to_string(), nice));
            std::thread::sleep(self.hold);
            async { Outcome::PASS }
        }
    }

    /// `n` distinct targets probed every 50 ms.
    fn many(n: u16) -> Vec<(Target, Status)> {
        (1..=n).map(|p| (tcp_target(p), Status::Unknown)).collect()
    }

    #[test]
    fn probes_run_on_as_many_nicer_worker_threads_as_configured() {
        let seen = Arc::new(Mutex::new(std::collections::HashMap::new()));
        let prober = Blocking { hold: Duration::from_millis(20), seen: seen.clone() };
        let threads = NonZeroUsize::new(3);
        let engine = Engine::start_configured(Arc::new(|_| {}), prober, Options { threads }).unwrap();
        assert_eq!(engine.threads(), 3);
        engine.set(many(30));
        std::thread::sleep(Duration::from_millis(600));
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3, "every worker probes, no other thread does: {seen:?}");
        assert!(!seen.contains_key(&std::thread::current().id()));
        let nice = (crate::sys::thread_nice().unwrap() + WORKER_NICE).min(19);
        let mut names: Vec<&str> = seen.values().map(|(name, _)| name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["health-0", "health-1", "health-2"]);
        assert!(seen.values().all(|(_, n)| *n == nice), "workers run at nice {nice}: {seen:?}");
        drop(engine);
        let one =
            Engine::start_configured(Arc::new(|_| {}), Scripted::default(), Options { threads: NonZeroUsize::new(1) });
        assert_eq!(one.unwrap().threads(), 1);
        assert_eq!(Engine::start(Arc::new(|_| {})).unwrap().threads(), default_threads(), "one per core by default");
    }

    #[test]
    fn a_worker_busy_with_a_slow_probe_holds_back_no_other_workers_checks() {
        // Target 1 blocks its worker for 300 ms a probe; the others, on other workers,
        // keep their 50 ms interval.
        #[derive(Clone)]
        struct OneSlow(Arc<Mutex<BTreeMap<u16, u32>>>);
        impl Prober for OneSlow {
            fn probe(&self, t: &Target) -> impl Future<Output = Outcome> + Send {
                *self.0.lock().unwrap().entry(t.check.port).or_default() += 1;
                if t.check.port == 1 {
                    std::thread::sleep(Duration::from_millis(300));
                }
                async { Outcome::PASS }
            }
        }
        let probes = Arc::new(Mutex::new(BTreeMap::new()));
        let options = Options { threads: NonZeroUsize::new(4) };
        let engine = Engine::start_configured(Arc::new(|_| {}), OneSlow(probes.clone()), options).unwrap();
        let targets = many(8);
        let slow_worker = worker_of(&targets[0].0, 4);
        engine.set(targets.clone());
        std::thread::sleep(Duration::from_millis(1000));
        let probes = probes.lock().unwrap().clone();
        for (t, _) in &targets[1..] {
            if worker_of(t, 4) != slow_worker {
                let n = probes.get(&t.check.port).copied().unwrap_or(0);
                assert!(n >= 12, "{t} probed {n} times in 1 s at a 50 ms interval: {probes:?}");
            }
        }
        assert!(targets.iter().filter(|(t, _)| worker_of(t, 4) != slow_worker).count() >= 3);
    }

    #[test]
    fn a_target_stays_on_its_worker_whatever_else_is_checked() {
        let targets = many(64);
        let workers: Vec<usize> = targets.iter().map(|(t, _)| worker_of(t, 4)).collect();
        assert_eq!(workers, targets.iter().rev().map(|(t, _)| worker_of(t, 4)).rev().collect::<Vec<_>>());
        for w in 0..4 {
            let n = workers.iter().filter(|x| **x == w).count();
            assert!((8..=24).contains(&n), "worker {w} has {n} of 64 targets: {workers:?}");
        }
        assert!(targets.iter().all(|(t, _)| worker_of(t, 1) == 0));
    }

    #[test]
    fn a_panic_on_one_of_many_workers_restarts_its_check_with_its_state() {
        restarts_with_state(Options { threads: NonZeroUsize::new(4) });
    }

    #[test]
    fn new_checks_are_spread_over_their_interval() {
        let i = Duration::from_secs(6);
        let offsets: Vec<Duration> = (0..3).map(|k| spread(i, k, 3)).collect();
        assert_eq!(offsets, [Duration::ZERO, Duration::from_secs(2), Duration::from_secs(4)]);
    }
}
