//! The probe engine (effects): a tokio runtime on its own thread, so that VRRP timing never
//! waits behind a check, a slow script or a TLS handshake. One task per target runs the
//! target's [`CheckState`]: it sleeps until the next probe is due, probes, records the
//! outcome, and reports every transition through the callback it was given.
//!
//! [`Engine::set`] replaces the set of targets: targets that stay keep their task and state
//! (a reload loses no check's history), removed ones stop, new ones start spread over their
//! interval (no thundering herd at start or after a reload).
//!
//! The probes themselves are a [`Prober`]: [`Probes`] in the daemon, a script of outcomes
//! in tests.
//!
//! Every probe is timed and counted per target ([`ProbeStats`]), whether or not it changes
//! anything; [`Engine::stats`] is a copy for the metrics. A target keeps its statistics as
//! long as it keeps its task.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::AbortHandle;

use super::board::Target;
use super::probe::Probes;
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
}

impl Prober for Probes {
    fn probe(&self, t: &Target) -> impl Future<Output = Outcome> + Send {
        self.run(t)
    }
}

/// Probe statistics of the running targets, shared by the engine's tasks and its owner.
type Tally = Arc<Mutex<BTreeMap<Target, ProbeStats>>>;

/// The running engine; dropping it stops every probe.
pub struct Engine {
    targets: Option<UnboundedSender<Vec<(Target, Status)>>>,
    thread: Option<JoinHandle<()>>,
    tally: Tally,
}

impl Engine {
    /// Starts the engine's thread; `notify` gets every transition.
    pub fn start(notify: Notify) -> std::io::Result<Engine> {
        Engine::start_with(notify, Probes::default())
    }

    /// Starts the engine's thread with these probes; `notify` gets every transition.
    pub fn start_with(notify: Notify, probes: impl Prober) -> std::io::Result<Engine> {
        let (tx, rx) = unbounded_channel();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let tally = Tally::default();
        let shared = tally.clone();
        let thread = std::thread::Builder::new()
            .name("health".into())
            .spawn(move || runtime.block_on(serve(rx, probes, notify, shared)))?;
        Ok(Engine { targets: Some(tx), thread: Some(thread), tally })
    }

    /// How the probes of each running target went so far.
    pub fn stats(&self) -> BTreeMap<Target, ProbeStats> {
        self.tally.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Checks these targets from now on; a new target starts in the status given.
    pub fn set(&self, targets: Vec<(Target, Status)>) {
        if let Some(tx) = &self.targets {
            let _ = tx.send(targets);
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.targets.take();
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("internal error: the health-check thread crashed");
        }
    }
}

async fn serve(mut sets: UnboundedReceiver<Vec<(Target, Status)>>, probes: impl Prober, notify: Notify, tally: Tally) {
    let epoch = Instant::now();
    let mut running: BTreeMap<Target, AbortHandle> = BTreeMap::new();
    while let Some(set) = sets.recv().await {
        let wanted: BTreeMap<Target, Status> = set.into_iter().collect();
        running.retain(|t, task| {
            let keep = wanted.contains_key(t);
            if !keep {
                task.abort();
                tally.lock().unwrap_or_else(PoisonError::into_inner).remove(t);
            }
            keep
        });
        let fresh: Vec<(Target, Status)> = wanted.into_iter().filter(|(t, _)| !running.contains_key(t)).collect();
        let now = epoch.elapsed();
        let n = u32::try_from(fresh.len()).unwrap_or(u32::MAX).max(1);
        for (i, (t, status)) in (0u32..).zip(fresh) {
            let first = now + spread(t.check.interval, i, n);
            let state = CheckState::new(status, first);
            let task = tokio::spawn(watch(t.clone(), state, epoch, probes.clone(), notify.clone(), tally.clone()));
            running.insert(t, task.abort_handle());
        }
    }
    running.values().for_each(AbortHandle::abort);
}

/// The offset of the `i`-th of `n` new checks within the interval.
fn spread(interval: Duration, i: u32, n: u32) -> Duration {
    interval / n * i
}

async fn watch(t: Target, mut state: CheckState, epoch: Instant, probes: impl Prober, notify: Notify, tally: Tally) {
    loop {
        tokio::time::sleep_until((epoch + state.due()).into()).await;
        let started = Instant::now();
        let outcome = probes.probe(&t).await;
        let passed = matches!(outcome, Outcome::Pass { .. });
        let mut stats = tally.lock().unwrap_or_else(PoisonError::into_inner);
        match stats.get_mut(&t) {
            Some(s) => s.record(started.elapsed(), passed),
            None => stats.entry(t.clone()).or_default().record(started.elapsed(), passed),
        }
        drop(stats);
        if let Some(transition) = state.record(&t.check, &outcome, epoch.elapsed()) {
            notify(Report { target: t.clone(), transition });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::stats::BUCKETS_US as BUCKETS;
    use crate::model::cluster::{Check, CheckKind};

    fn tcp_target(port: u16) -> Target {
        let check = Check {
            kind: CheckKind::Tcp,
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

    #[test]
    fn new_checks_are_spread_over_their_interval() {
        let i = Duration::from_secs(6);
        let offsets: Vec<Duration> = (0..3).map(|k| spread(i, k, 3)).collect();
        assert_eq!(offsets, [Duration::ZERO, Duration::from_secs(2), Duration::from_secs(4)]);
    }
}
