//! The set of VRRP instances this node runs, and how a new configuration replaces it
//! without a gap: [`Instances::stage`] opens everything the new configuration needs beside
//! what runs (instances whose spec is unchanged are kept, new ones are prepared and parked)
//! and fails with nothing changed; only then [`Instances::commit`] stops the instances that
//! changed or went away and lets the new ones run.

use super::error::DaemonError;
use super::instance::{self, Running};
use super::platform::Platform;
use super::signals::Stoppers;
use super::spec::InstanceSpec;
use super::tracker::{self, Tracker};

/// The running instances, the signal thread's handles on them, and their tracking.
pub struct Instances {
    running: Vec<Running>,
    stoppers: Stoppers,
    tracker: Option<Tracker>,
}

/// A new configuration's instances: the specs, and those not running yet, parked.
pub struct Staged {
    specs: Vec<InstanceSpec>,
    fresh: Vec<Running>,
}

/// What a commit did, by number of instances.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changed {
    /// Left running untouched.
    pub kept: usize,
    /// Started.
    pub started: usize,
    /// Stopped (changed or gone).
    pub stopped: usize,
}

impl Instances {
    /// No instances; `stoppers` is kept up to date for the signal thread.
    pub fn new(stoppers: Stoppers) -> Self {
        Instances { running: Vec::new(), stoppers, tracker: None }
    }

    /// The running instances.
    pub fn running(&self) -> &[Running] {
        &self.running
    }

    /// Prepares the instances of `specs` that do not run yet; on any failure, nothing that
    /// runs is touched and what was prepared ends untouched.
    pub fn stage(&self, specs: Vec<InstanceSpec>, platform: &dyn Platform) -> Result<Staged, DaemonError> {
        let fresh = specs
            .iter()
            .filter(|s| !self.running.iter().any(|r| &r.spec == *s))
            .map(|s| instance::prepare(s.clone(), platform))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Staged { specs, fresh })
    }

    /// Replaces the running set with the staged one: stops the instances that changed or
    /// went away (each sends its priority-0 advert at once), then lets the new ones run, and
    /// restarts tracking when the set changed.
    pub fn commit(&mut self, staged: Staged, platform: &dyn Platform) -> Changed {
        let (keep, gone): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.running).into_iter().partition(|r| staged.specs.contains(&r.spec));
        let changed = Changed { kept: keep.len(), started: staged.fresh.len(), stopped: gone.len() };
        for r in &gone {
            tracing::info!(instance = %r.spec.name, "vrrp instance changed or removed; stopping it");
            r.request_stop();
        }
        gone.into_iter().for_each(Running::join);
        for r in &staged.fresh {
            tracing::info!(instance = %r.spec.name, vrid = r.spec.vrid, interface = %r.spec.interface, "vrrp instance starting");
            r.go();
        }
        self.running = keep.into_iter().chain(staged.fresh).collect();
        self.publish();
        if changed.started + changed.stopped > 0 || self.tracker.is_none() {
            self.restart_tracker(platform);
        }
        changed
    }

    /// Every instance is asked to stop at once (each sends its priority-0 advert without
    /// waiting for the others), then the tracker stops.
    pub fn stop(mut self) {
        self.running.iter().for_each(Running::request_stop);
        std::mem::take(&mut self.running).into_iter().for_each(Running::join);
        self.publish();
        if let Some(t) = self.tracker.take() {
            t.stop();
        }
    }

    /// Gives the signal thread the control channels of the running instances.
    fn publish(&self) {
        *self.stoppers.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            self.running.iter().map(|r| r.control.clone()).collect();
    }

    fn restart_tracker(&mut self, platform: &dyn Platform) {
        if let Some(t) = self.tracker.take() {
            t.stop();
        }
        let started = platform.addrs().map_err(DaemonError::from).and_then(|a| tracker::start(&self.running, a));
        match started {
            Ok(t) => self.tracker = Some(t),
            Err(e) => tracing::error!(error = %e, "tracking not started; instances run at their configured priority"),
        }
    }
}
