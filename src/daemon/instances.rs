//! The set of VRRP instances this node runs, and how a new configuration replaces it
//! without a gap: [`Instances::stage`] opens everything the new configuration needs beside
//! what runs (instances whose spec is unchanged are kept; instances of the same router with
//! other settings get an update with whatever it needs opened; new routers are prepared and
//! parked) and fails with nothing changed; only then [`Instances::commit`] stops the
//! instances that went away or became another router, hands the updates to their running
//! instances (which keep their state and VIPs), and lets the new ones run.
//!
//! A VIP can move from one instance to another in one reload; the one that lets go of it
//! must not delete it after the one that takes it over (if master here) added it. So the
//! instances that stop end before any update is handed over, and when an updated instance
//! takes over a VIP, the commit waits until every update has been taken, then has it add
//! back what is missing.
//!
//! The notify commands of a stopped instance (its `notify_stop` last) finish on their own
//! thread; a daemon that stops waits for them, each bounded by its timeout.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use super::error::DaemonError;
use super::fifo::Fifos;
use super::hooks::Draining;
use super::instance::{self, Control, Running, Update};
use super::platform::Platform;
use super::signals::Stoppers;
use super::spec::{self, GroupSpec, InstanceSpec};
use super::syncgroup::{self, SharedGroup};
use super::tracker::{self, Tracker};
use crate::alert::Alerter;
use crate::model::net::Address;

/// How long a commit waits for the running instances to take their updates before it has
/// them reclaim moved VIPs anyway (an instance thread answers within microseconds).
const TAKEN_WITHIN: Duration = Duration::from_secs(1);

/// The running instances, the signal thread's handles on them, and their tracking.
pub struct Instances {
    running: Vec<Running>,
    stoppers: Stoppers,
    tracker: Option<Tracker>,
    /// `SCHED_RR` priority of the instance threads (`run --realtime`).
    realtime: Option<u8>,
    /// The notify commands of stopped instances that may still run.
    draining: Vec<Draining>,
    /// The sync groups, by name.
    groups: BTreeMap<String, SharedGroup>,
    /// Where the instances alert their transitions.
    alerts: Alerter,
    /// Where the instances and groups write their events.
    fifos: Fifos,
    /// When the daemon started: an instance's `startup_delay` counts from then.
    started: std::time::Instant,
}

/// A new configuration's instances: the specs, updates for running instances (by index),
/// and the instances not running yet, parked.
pub struct Staged {
    specs: Vec<InstanceSpec>,
    groups: Vec<GroupSpec>,
    updates: Vec<(usize, Update)>,
    fresh: Vec<Running>,
}

/// What ran before a reload, for [`Instances::write_states`].
pub struct Before {
    names: Vec<String>,
    groups: Vec<SharedGroup>,
}

/// What a commit did, by number of instances.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changed {
    /// Left running untouched.
    pub kept: usize,
    /// Changed in place, still running.
    pub updated: usize,
    /// Started.
    pub started: usize,
    /// Stopped (gone, or replaced by another router).
    pub stopped: usize,
}

impl Instances {
    /// No instances; `stoppers` is kept up to date for the signal thread; instance threads
    /// run under `SCHED_RR` at `realtime` when given, alert their transitions through
    /// `alerts` and write their events to `fifos`.
    pub fn new(stoppers: Stoppers, realtime: Option<u8>, (alerts, fifos): (Alerter, Fifos)) -> Self {
        Instances {
            running: Vec::new(),
            stoppers,
            tracker: None,
            realtime,
            draining: Vec::new(),
            groups: BTreeMap::new(),
            alerts,
            fifos,
            started: std::time::Instant::now(),
        }
    }

    /// The running instances.
    pub fn running(&self) -> &[Running] {
        &self.running
    }

    /// The running instance of the same router as `s`.
    fn same_router(&self, s: &InstanceSpec) -> Option<usize> {
        self.running.iter().position(|r| r.spec.router() == s.router())
    }

    /// Prepares the updates and the new instances of `specs`; on any failure, nothing that
    /// runs is touched and what was prepared ends untouched.
    pub fn stage(
        &self,
        specs: Vec<InstanceSpec>,
        groups: Vec<GroupSpec>,
        platform: &dyn Platform,
    ) -> Result<Staged, DaemonError> {
        let mut staged = Staged { specs: Vec::new(), groups, updates: Vec::new(), fresh: Vec::new() };
        for s in &specs {
            match self.same_router(s) {
                Some(i) if self.running[i].spec == *s => {}
                Some(i) => {
                    staged.updates.push((i, instance::stage_update(&self.running[i].spec, s.clone(), platform)?))
                }
                None => {
                    // keepalived delays its instances at its start only, not on a reload:
                    // both delays say "not before", from the daemon's start and the boot.
                    let since_start = s.startup_delay.saturating_sub(self.started.elapsed());
                    let since_boot = s.startup_delay_after_boot.saturating_sub(crate::sys::uptime());
                    let wait = since_start.max(since_boot);
                    let run = (self.realtime, wait);
                    staged.fresh.push(instance::prepare(
                        s.clone(),
                        platform,
                        run,
                        (self.alerts.clone(), self.fifos.clone()),
                    )?)
                }
            }
        }
        staged.specs = specs;
        Ok(staged)
    }

    /// Replaces the running set with the staged one: stops the instances that went away
    /// or became another router (each sends its priority-0 advert at once and releases its
    /// VIPs), updates the others in place, then lets the new ones run, and restarts tracking
    /// (with the objects' known states) when anything changed.
    pub fn commit(&mut self, staged: Staged, platform: &dyn Platform) -> Changed {
        let Staged { specs, groups, updates, fresh } = staged;
        let mut changed = Changed { updated: updates.len(), started: fresh.len(), ..Changed::default() };
        let mut updates: BTreeMap<usize, Update> = updates.into_iter().collect();
        let (mut keep, mut gone) = (Vec::new(), Vec::new());
        for (i, r) in std::mem::take(&mut self.running).into_iter().enumerate() {
            match specs.iter().any(|s| s.router() == r.spec.router()) {
                true => keep.push((r, updates.remove(&i))),
                false => gone.push(r),
            }
        }
        changed.kept = keep.len() - changed.updated;
        changed.stopped = gone.len();
        let mut released: Vec<Address> = gone.iter().flat_map(|r| r.spec.vip_addresses()).collect();
        for (r, u) in keep.iter().filter_map(|(r, u)| Some((r, u.as_ref()?))) {
            released.extend(without(r.spec.vip_addresses(), &u.spec.vip_addresses()));
        }
        self.draining.retain(|d| !d.is_finished());
        self.draining.extend(stop(gone, &fresh));
        hand_over(&mut keep, &released);
        let mut fresh = fresh;
        self.regroup(groups, keep.iter_mut().map(|(r, _)| r).chain(fresh.iter_mut()));
        for r in &fresh {
            tracing::info!(instance = %r.spec.name, vrid = r.spec.vrid, interface = %r.spec.interface, "vrrp instance starting");
            r.go();
        }
        self.running = keep.into_iter().map(|(r, _)| r).chain(fresh).collect();
        self.publish();
        if changed.updated + changed.started + changed.stopped > 0 || self.tracker.is_none() {
            self.restart_tracker(platform);
        }
        changed
    }

    /// Replaces the sync groups by `specs` (a group whose spec is unchanged is kept, with
    /// its state), gives each group its members' channels, and tells each instance whose
    /// group changed which one it is in now. A replaced group's queued notify commands
    /// finish on their own.
    fn regroup<'a>(&mut self, specs: Vec<GroupSpec>, running: impl Iterator<Item = &'a mut Running>) {
        let mut old = std::mem::take(&mut self.groups);
        for s in specs {
            let g = match old.remove(&s.name) {
                Some(g) if *syncgroup::lock(&g).spec() == s => g,
                _ => {
                    tracing::info!(group = %s.name, members = %s.members.join(","), "vrrp sync group set up");
                    syncgroup::new(s, self.fifos.clone())
                }
            };
            let name = syncgroup::lock(&g).spec().name.clone();
            self.groups.insert(name, g);
        }
        for name in old.keys() {
            tracing::info!(group = %name, "vrrp sync group removed");
        }
        let running: Vec<&mut Running> = running.collect();
        for g in self.groups.values() {
            let mut shared = syncgroup::lock(g);
            let members = shared.spec().members.clone();
            let controls = running.iter().filter(|r| members.contains(&r.spec.name));
            shared.set_controls(controls.map(|r| (r.spec.name.clone(), r.control.clone())).collect());
        }
        for r in running {
            let want = r.spec.sync_group.as_ref().and_then(|n| self.groups.get(n)).cloned();
            let same = match (&want, &r.group) {
                (Some(a), Some(b)) => std::sync::Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            };
            if !same {
                r.group = want.clone();
                r.control.send(Control::Join(want));
            }
        }
    }

    /// Every instance is asked to stop at once (each sends its priority-0 advert without
    /// waiting for the others), then the tracker stops; last, the notify commands still
    /// queued or running (`notify_stop` among them) are waited for.
    pub fn stop(mut self) {
        self.running.iter().for_each(Running::request_stop);
        let stopped: Vec<Draining> = std::mem::take(&mut self.running).into_iter().map(Running::join).collect();
        self.publish();
        if let Some(t) = self.tracker.take() {
            t.stop();
        }
        let groups: Vec<Draining> =
            std::mem::take(&mut self.groups).values().map(|g| syncgroup::lock(g).close()).collect();
        std::mem::take(&mut self.draining).into_iter().chain(stopped).chain(groups).for_each(Draining::wait);
    }

    /// The instances and sync groups running now, for [`Self::write_states`] after a
    /// reload.
    pub fn before(&self) -> Before {
        Before {
            names: self.running.iter().map(|r| r.spec.name.clone()).collect(),
            groups: self.groups.values().cloned().collect(),
        }
    }

    /// After a reload, for the FIFOs with `states_on_reload`: every sync group kept from
    /// `before` writes its state line at once, then every instance that ran before and
    /// still runs writes its own from its thread (keepalived's order). Those new in the
    /// reload write their states as they enter them.
    pub fn write_states(&self, before: &Before) {
        let kept = self.groups.values().filter(|g| before.groups.iter().any(|b| std::sync::Arc::ptr_eq(b, g)));
        kept.for_each(|g| syncgroup::lock(g).write_state());
        let kept = self.running.iter().filter(|r| before.names.contains(&r.spec.name));
        kept.for_each(|r| r.control.send(Control::WriteState));
    }

    /// Gives the signal thread the control channels of the running instances.
    fn publish(&self) {
        *self.stoppers.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            self.running.iter().map(|r| r.control.clone()).collect();
    }

    fn restart_tracker(&mut self, platform: &dyn Platform) {
        let known = self.tracker.take().map(Tracker::stop).unwrap_or_default();
        let started = platform
            .addrs()
            .map_err(DaemonError::from)
            .and_then(|a| tracker::start(&self.running, a, &|| platform.processes(), &known));
        match started {
            Ok(t) => self.tracker = Some(t),
            Err(e) => tracing::error!(error = %e, "tracking not started; instances run at their configured priority"),
        }
    }
}

/// Stops the instances that went away or are replaced by one of `fresh` (another router
/// of the same name), and waits until they have ended: their VIPs are released. Returns
/// their notify commands still running.
fn stop(gone: Vec<Running>, fresh: &[Running]) -> Vec<Draining> {
    for r in &gone {
        match fresh.iter().find(|n| n.spec.name == r.spec.name) {
            Some(n) => {
                let why = spec::replaced_because(&r.spec, &n.spec);
                tracing::warn!(instance = %r.spec.name, changed = %why, "vrrp instance is another router now; handing over and replacing it")
            }
            None => tracing::info!(instance = %r.spec.name, "vrrp instance removed; stopping it"),
        }
        r.request_removal();
    }
    gone.into_iter().map(Running::join).collect()
}

/// Hands each update to its running instance. When one takes over a VIP that another
/// instance let go of (`released`), the one that let go may delete it after the other added
/// it, whichever thread runs first: once every update has been taken, the instances that
/// took such a VIP add back what is missing ([`Control::Reclaim`]).
fn hand_over(keep: &mut [(Running, Option<Update>)], released: &[Address]) {
    let (taken, taken_rx) = channel();
    let mut reclaim = Vec::new();
    for (r, u) in keep.iter_mut() {
        let Some(mut u) = u.take() else { continue };
        let what = spec::changes(&r.spec, &u.spec).join(", ");
        tracing::info!(instance = %u.spec.name, vrid = u.spec.vrid, changed = %what, "vrrp instance changed in place");
        if without(u.spec.vip_addresses(), &r.spec.vip_addresses()).iter().any(|a| released.contains(a)) {
            reclaim.push(r.control.clone());
        }
        r.spec = u.spec.clone();
        u.taken = Some(taken.clone());
        r.control.send(Control::Reconfigure(Box::new(u)));
    }
    drop(taken);
    if !reclaim.is_empty() {
        wait_taken(&taken_rx);
        reclaim.iter().for_each(|c| c.send(Control::Reclaim));
    }
}

/// `a` without the addresses in `b`.
fn without(a: Vec<Address>, b: &[Address]) -> Vec<Address> {
    a.into_iter().filter(|x| !b.contains(x)).collect()
}

/// Waits until every update handed over has been taken (each instance drops its sender
/// then), for at most [`TAKEN_WITHIN`].
fn wait_taken(rx: &Receiver<()>) {
    let end = Instant::now() + TAKEN_WITHIN;
    loop {
        match rx.recv_timeout(end.saturating_duration_since(Instant::now())) {
            Ok(()) => {}
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {
                return tracing::warn!(
                    "vrrp instances did not take their updates within 1s; reclaiming moved VIPs now"
                );
            }
        }
    }
}
