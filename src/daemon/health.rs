//! Health checks in the daemon: a check's verdict becomes backend transitions (logged, with
//! the service's `notify_up` / `notify_down` and an `RS` line to the notify FIFOs that
//! take `lvs` events; a quorum change likewise runs `quorum_up` / `quorum_down` and writes
//! a `VS` line, [`super::lvs_lines`]), and the services they touch are converged at
//! once by a scoped plan: the desired destinations of those services alone
//! ([`model::scoped_services`]) against their live destinations ([`plan::dest_changes`]),
//! applied without the ledger ([`apply::apply_dests`]). No other part of the node is read
//! or planned, so nothing pending elsewhere (a refused commit, a failed route, a slow
//! sysctl) can hold a failover back.
//!
//! ```text
//! Event::Health -> health_changed (board, logs, hooks, touched) -> flush_health
//!     -> converge(touched): scoped desired -> live dests (state read last, or a dump per
//!        service) -> dest_changes -> apply_dests -> the state read last, patched
//! ```

use std::collections::{BTreeMap, BTreeSet};

use super::{Daemon, Platform};
use crate::alert::Event;
use crate::apply::{self, Options, Outcome, Progress};
use crate::health::Status;
use crate::health::board::{BackendId, QuorumChange};
use crate::health::engine::Report;
use crate::kernel::Kernel;
use crate::model::ipvs::{Dest, DestKey, Service, ServiceKey};
use crate::model::{self, Cluster, Health, NodeState};
use crate::plan::{self, Change};

/// Why a scoped convergence did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ConvergeError {
    /// A service's destinations could not be read.
    #[error("read the destinations of {service}: {source}")]
    Read {
        /// The service.
        service: ServiceKey,
        /// Why.
        source: crate::kernel::KernelError,
    },
    /// The changes could not be applied.
    #[error("{0}")]
    Apply(#[from] apply::ApplyError),
}

impl<K: Kernel, P: Platform> Daemon<K, P> {
    /// Records a health transition; for every backend it turns up or down (a backend is up
    /// when all its checks pass) logs one line and runs the service's notify command. The
    /// services it touches are converged when the queued events have been taken in.
    pub(super) fn health_changed(&mut self, r: &Report) {
        let t = &r.transition;
        let ids = self.board.backends(&r.target).to_vec();
        let before: Vec<bool> = ids.iter().map(|id| self.board.is_up(id)).collect();
        if !self.board.record(&r.target, t.to, t.weight, self.epoch.elapsed()) {
            return;
        }
        let check = r.target.to_string();
        for (id, was) in ids.iter().zip(before) {
            let up = self.board.is_up(id);
            let (service, backend, reason) = (id.0.as_str(), id.1.as_str(), t.reason.as_str());
            match (was, up, t.weight) {
                (false, true, _) => {
                    tracing::info!(subsystem = "health", %service, %backend, %check, %reason, "backend up")
                }
                (true, false, _) => {
                    tracing::warn!(subsystem = "health", %service, %backend, %check, %reason, "backend down")
                }
                (true, true, Some(w)) => {
                    tracing::info!(subsystem = "health", %service, %backend, %check, weight = w, "backend weight")
                }
                _ => continue,
            }
            if was != up {
                *self.record.transitions.entry(id.clone()).or_default() += 1;
                self.notify_backend(id, up);
                self.alert_backend(id, up, &check, reason);
            }
        }
        self.touched.extend(ids.into_iter().map(|(service, _)| service));
    }

    /// Converges the services the recorded transitions touched, if any.
    pub(super) fn flush_health(&mut self) {
        let touched = std::mem::take(&mut self.touched);
        if !touched.is_empty() {
            self.converge_logged(touched);
        }
    }

    /// [`Self::converge`], logged; after a failure the next full reconcile repairs.
    pub(super) fn converge_logged(&mut self, services: BTreeSet<String>) {
        if let Err(e) = self.converge(services) {
            tracing::error!(subsystem = "health", error = %e, "health change not applied; the next reconcile repairs it");
            self.live = None;
        }
    }

    /// Applies what the checks and drains ask of `services`: destination changes only,
    /// planned against their destinations alone; then updates the state read last with
    /// what was done. A service that announces its VIP over BGP is then reconciled whole
    /// (its route follows its backends), after its destinations are in place.
    pub(super) fn converge(&mut self, services: BTreeSet<String>) -> Result<(), ConvergeError> {
        let health = self.health_now(Some(&services));
        let (desired, failed) = model::scoped_services(&self.cluster, &self.node, &health, &services);
        let live = self.live_dests(desired.keys())?;
        let changes = plan::dest_changes(&desired, &live, &failed);
        if !changes.is_empty() {
            let (sum, n) = (plan::summarize(&changes), services.len());
            let (add, change, destroy) = (sum.add, sum.change, sum.destroy);
            tracing::info!(
                subsystem = "health",
                "health changes of {n} services: {add} to add, {change} to change, {destroy} to destroy"
            );
            let mut done = Recorded::default();
            let opts = self.apply_options();
            apply::apply_dests(&changes, &mut self.kernel, &opts, &mut done)?;
            if let Some(live) = &mut self.live {
                done.0.iter().for_each(|(c, outcome)| patch(live, c, outcome));
            }
        }
        if services.iter().any(|s| self.cluster.services.get(s).is_some_and(|vs| vs.announce_bgp)) {
            self.record.asked = true;
            self.reconcile_logged();
        }
        Ok(())
    }

    /// The checks' health now, of the services in `scope` (all when `None`); runs the
    /// quorum hooks of those whose quorum changed (once: this is the only caller of
    /// [`crate::health::Board::health`]).
    pub(super) fn health_now(&mut self, scope: Option<&BTreeSet<String>>) -> Health {
        let (mut health, quorum) = self.board.health(scope, self.epoch.elapsed());
        health.announcing = true;
        quorum.iter().for_each(|q| self.quorum_changed(q));
        health
    }

    /// The live destinations of `keys`: from the state read last, or read per service.
    /// A service missing from the kernel is left out (the full reconcile adds it).
    fn live_dests<'a>(
        &mut self,
        keys: impl Iterator<Item = &'a ServiceKey>,
    ) -> Result<BTreeMap<ServiceKey, BTreeMap<DestKey, Dest>>, ConvergeError> {
        let mut out = BTreeMap::new();
        for key in keys {
            let dests = match &self.live {
                Some(l) => match l.services.get(key) {
                    Some(s) => s.dests.clone(),
                    None => continue,
                },
                None => match self.kernel.dests(key) {
                    Ok(v) => v.into_iter().map(|d| (d.key(), d)).collect(),
                    Err(e) if e.is(libc::ENOENT) || e.is(libc::ESRCH) => continue,
                    Err(source) => return Err(ConvergeError::Read { service: *key, source }),
                },
            };
            out.insert(*key, dests);
        }
        Ok(out)
    }

    /// Runs the service's `notify_up` / `notify_down` for a backend, then writes its `RS`
    /// line to the FIFOs (keepalived's order; the write never waits).
    fn notify_backend(&self, (service, backend): &BackendId, up: bool) {
        let Some(vs) = self.cluster.services.get(service) else { return };
        let Some(be) = vs.backends.iter().find(|b| &b.name == backend) else { return };
        if let Some(cmd) = if up { &vs.notify_up } else { &vs.notify_down } {
            let vars = [
                ("service", service.clone()),
                ("backend", backend.clone()),
                ("address", be.address.to_string()),
                ("port", be.port.to_string()),
            ];
            super::hooks::run(cmd, &vars, &[], if up { "notify_up" } else { "notify_down" });
        }
        self.fifos.write_lvs(&super::lvs_lines::backend_line(vs, be, up));
    }

    /// Alerts a backend going up or down, when its service alerts.
    fn alert_backend(&self, (service, backend): &BackendId, up: bool, check: &str, reason: &str) {
        if !self.cluster.alerts.backend.contains(service) {
            return;
        }
        let Some(be) =
            self.cluster.services.get(service).and_then(|vs| vs.backends.iter().find(|b| &b.name == backend))
        else {
            return;
        };
        self.alerts.send(Event::Backend {
            service: service.clone(),
            backend: backend.clone(),
            address: std::net::SocketAddr::new(be.address, be.port).to_string(),
            up,
            check: check.to_string(),
            reason: reason.to_string(),
        });
    }

    /// Logs a quorum change, alerts it, runs the service's `quorum_up` / `quorum_down` and
    /// writes its `VS` line to the FIFOs.
    fn quorum_changed(&self, q: &QuorumChange) {
        log_quorum(q);
        if self.cluster.alerts.quorum.contains(&q.service) {
            let (weight, quorum) = (q.weight, u64::from(q.quorum));
            self.alerts.send(Event::Quorum { service: q.service.clone(), gained: q.gained, weight, quorum });
        }
        let Some(vs) = self.cluster.services.get(&q.service) else { return };
        let (cmd, event) = if q.gained { (&vs.quorum_up, "quorum_up") } else { (&vs.quorum_down, "quorum_down") };
        if let Some(cmd) = cmd {
            super::hooks::run(cmd, &[("service", q.service.clone()), ("weight", q.weight.to_string())], &[], event);
        }
        self.fifos.write_lvs(&super::lvs_lines::service_line(vs, q.gained));
    }

    /// How the daemon applies: no waiting for drains, and the blast-radius guard as `run`
    /// was told, lifted once the configuration in force passed it.
    pub(super) fn apply_options(&self) -> Options {
        Options {
            allow_destroy: self.opts.allow_destroy || self.destroy_approved,
            max_destroy: self.opts.max_destroy,
            ..Options::default()
        }
    }
}

/// A new check starts Up when one of its backends is serving (in IPVS with a weight, in
/// any IPVS service of a group): a daemon restart never flaps a healthy cluster. Otherwise
/// it is Unknown, and the backend joins after its first passing check.
pub(super) fn initial_status(cluster: &Cluster, serving: &BTreeMap<ServiceKey, Service>, ids: &[BackendId]) -> Status {
    let up = ids.iter().any(|(svc, be)| {
        let Some(vs) = cluster.services.get(svc) else { return false };
        let Some(b) = vs.backends.iter().find(|b| &b.name == be) else { return false };
        vs.keys().iter().any(|k| {
            let key = DestKey { addr: b.address, port: vs.dest_port(k, b) };
            serving.get(k).and_then(|s| s.dests.get(&key)).is_some_and(|d| d.weight > 0)
        })
    });
    if up { Status::Up } else { Status::Unknown }
}

/// The live state after a destination change apply made, without reading the kernel.
fn patch(live: &mut NodeState, c: &Change, outcome: &Outcome) {
    let (key, dest) = match c {
        Change::AddDest { service, dest } | Change::DelDest { service, dest, .. } => (service, dest),
        Change::EditDest { service, to, .. } => (service, to),
        _ => return,
    };
    let Some(svc) = live.services.get_mut(key) else { return };
    match (c, outcome) {
        (Change::DelDest { .. }, Outcome::Done) => {
            svc.dests.remove(&dest.key());
        }
        (Change::DelDest { .. }, Outcome::Draining { .. }) => {
            svc.dests.insert(dest.key(), Dest { weight: 0, ..dest.clone() });
        }
        _ => {
            svc.dests.insert(dest.key(), dest.clone());
        }
    }
}

fn log_quorum(q: &QuorumChange) {
    if q.gained {
        tracing::info!(subsystem = "health", service = %q.service, weight = q.weight, quorum = q.quorum, "quorum gained");
    } else {
        tracing::warn!(subsystem = "health", service = %q.service, weight = q.weight, quorum = q.quorum, "quorum lost");
    }
}

/// Logs each change apply makes and keeps what was done.
#[derive(Default)]
struct Recorded(Vec<(Change, Outcome)>);

impl Progress for Recorded {
    fn start(&mut self, _: usize, _: usize, _: &Change) {}
    fn done(&mut self, i: usize, c: &Change, outcome: &Outcome) {
        super::reconcile::LogProgress.done(i, c, outcome);
        self.0.push((c.clone(), outcome.clone()));
    }
}
