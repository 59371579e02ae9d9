//! `lbconverge run`: the daemon. VRRP instances run on their own threads; the main thread is
//! the single writer of kernel state besides the VIPs VRRP moves: it re-reads the live state
//! and re-plans on every tick (level-triggered), and events (a changed manifest, SIGHUP) only
//! cut the wait short. SIGTERM/SIGINT stop every instance gracefully (priority-0 advert, VIPs
//! removed).
//!
//! ```text
//! signals ───┐                         ┌─> instance threads (VRRP timers, sockets, VIPs via Addrs)
//! manifest ──┼─> events ─> main loop ──┼─> tracker threads (scripts, links) -> priorities
//! resync ────┤                         ├─> health engine (tokio thread): probes -> Report events
//! health ────┘                         └─> reconcile: snapshot -> desired(Health) -> plan -> apply
//! ```
//!
//! A health transition is applied at once against the live state read last (one IPVS
//! write per flip, no re-read of the whole kernel); the periodic resync reads everything
//! and repairs drift. Start-up never flaps a healthy cluster: a backend already serving
//! (in IPVS with a weight) stays until its checks say otherwise; one that is not joins after
//! its first passing check.
//!
//! [`Daemon`] is generic over the kernel and the [`Platform`]: [`run`] drives it on this
//! host; tests drive it on the in-memory kernel. A reload is transactional: the new manifest
//! is loaded, its instance specs and secrets resolved and its new instances opened before
//! anything running is touched; any failure keeps the running configuration whole.

mod drains;
pub mod error;
mod hooks;
pub mod instance;
pub mod instances;
pub mod metrics;
pub mod page;
pub mod platform;
pub mod signals;
pub mod spec;
pub mod status;
pub mod systemd;
pub mod tracker;
mod watch;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

pub use error::{DaemonError, InstanceError, SecretError};
pub use platform::Platform;

use crate::apply::{self, Options, Outcome, Progress};
use crate::health::board::{BackendId, QuorumChange};
use crate::health::engine::{Engine, Report};
use crate::health::stats::ProbeStats;
use crate::health::{Board, Status};
use crate::kernel::linux::LinuxKernel;
use crate::kernel::{self, Kernel};
use crate::load::{self, Loader};
use crate::model::drain::Drains;
use crate::model::ipvs::{Service, ServiceKey};
use crate::model::{self, Cluster, NodeState};
use crate::plan::{self, Change};
use drains::log_forgotten;
use instances::{Changed, Instances};

/// The shortest `--resync`: a shorter one would only re-read the kernel in a busy loop.
pub const MIN_RESYNC: Duration = Duration::from_secs(1);

/// What wakes the main loop.
#[derive(Debug, Clone)]
pub enum Event {
    /// Stop gracefully.
    Stop,
    /// Re-read the manifest.
    Reload,
    /// A health check changed its verdict.
    Health(Box<Report>),
    /// `lbconverge status` or a metrics scrape asks; the answer goes back on the channel.
    Status(Sender<status::Status>),
    /// `lbconverge drain` or `undrain`; what was done goes back on the channel.
    Drain(status::DrainRequest, Sender<status::DrainReply>),
}

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// The manifest.
    pub manifest: PathBuf,
    /// The node, when not found by this host's addresses.
    pub node: Option<String>,
    /// State directory (the ledger, drains).
    pub state_dir: PathBuf,
    /// Re-read the kernel and re-plan at least this often.
    pub resync: Duration,
    /// The control socket `lbconverge status` asks on; `None`: no socket.
    pub control: Option<PathBuf>,
    /// Where to serve Prometheus metrics, if anywhere.
    pub metrics: Option<std::net::SocketAddr>,
    /// The `user:password` line of `--metrics-password-file` (basic authentication).
    pub metrics_credentials: Option<String>,
    /// Apply only manifests that are exactly a committed file (`--require-committed`).
    pub require_committed: bool,
}

/// The daemon: one node's configuration, its kernel, and its VRRP instances.
pub struct Daemon<K: Kernel, P: Platform> {
    opts: DaemonOptions,
    loader: Loader,
    kernel: K,
    platform: P,
    cluster: Cluster,
    node: String,
    instances: Instances,
    board: Board,
    engine: Engine,
    /// The live state read last, kept up to date by the health fast path; `None` when
    /// only a full read can tell.
    live: Option<NodeState>,
    next_resync: Instant,
    /// Time zero of the pure parts' clocks (slow-start ramps).
    epoch: Instant,
    /// Health transitions recorded and not applied yet.
    health_pending: bool,
    /// When the next slow-start step is due (since `epoch`).
    ramp_due: Option<Duration>,
    /// What `status` reports besides the live objects.
    record: Record,
    /// Backends the operator drained, as kept in the state directory.
    drains: Drains,
}

/// The daemon's own history, for `status`.
#[derive(Debug, Default)]
struct Record {
    applied: status::Applied,
    last_reconcile: Option<status::Reconciled>,
    drift_repaired: u64,
    last_drift: Option<String>,
    last_rejected: Option<status::Rejected>,
    /// The manifest or the checks asked for changes since the last reconcile: they are not
    /// drift.
    asked: bool,
    /// Backend -> times it turned up or down.
    transitions: BTreeMap<BackendId, u64>,
}

/// Runs the daemon on this host until SIGTERM or SIGINT.
pub fn run(opts: DaemonOptions) -> Result<(), DaemonError> {
    let mut sd = systemd::Notifier::from_env();
    signals::block();
    let (tx, rx) = channel();
    let stoppers = signals::Stoppers::default();
    signals::listen(tx.clone(), stoppers.clone())?;
    let _reads = watch::start(opts.manifest.clone(), tx.clone())?;
    if let Some(path) = &opts.control {
        status::listen(path, tx.clone())?;
    }
    if let Some(addr) = opts.metrics {
        metrics::listen(addr, opts.metrics_credentials.clone(), tx.clone())?;
    }
    let kernel = LinuxKernel::new(opts.state_dir.clone());
    let mut d = Daemon::start(opts, kernel, platform::Linux, stoppers, tx)?;
    d.serve(&rx, &mut sd);
    sd.stopping();
    d.stop();
    tracing::info!(subsystem = "daemon", "lbconverge run stopped");
    Ok(())
}

impl<K: Kernel, P: Platform> Daemon<K, P> {
    /// Loads the manifest, finds this node, starts its VRRP instances and its health
    /// checks; `stoppers` is kept up to date with the instances' control channels, and
    /// health transitions arrive on `events`.
    pub fn start(
        opts: DaemonOptions,
        mut kernel: K,
        platform: P,
        stoppers: signals::Stoppers,
        events: Sender<Event>,
    ) -> Result<Self, DaemonError> {
        load::remove_old_cache(&opts.state_dir);
        let loader = Loader::new().require_committed(opts.require_committed);
        let (m, live) = load::with_live(&loader, &opts.manifest, opts.node.as_deref(), &mut kernel)?;
        log_warnings(&m.validated.warnings);
        let node = load::pick_node(&m.validated.cluster, opts.node.as_deref(), &live, "this host")?;
        load::preflight(&opts.manifest, &m.validated.cluster, &node, &live, true)?;
        tracing::info!(subsystem = "daemon", node = %node, manifest = %opts.manifest.display(), revision = %m.revision, "lbconverge run starting");
        let cluster = m.validated.cluster;
        let mut drains = load::drains::read(&opts.state_dir).map_err(load::LoadError::from)?;
        log_forgotten(&drains.forget_unknown(&cluster));
        let mut instances = Instances::new(stoppers);
        let staged = instances.stage(spec::specs(&cluster, &node)?, &platform)?;
        let mut board = Board::new(&cluster, &node, None, |ids| initial_status(&cluster, &live.services, ids));
        board.set_drained(drains.active(crate::utc::unix_now()));
        let notify = Arc::new(move |r| drop(events.send(Event::Health(Box::new(r)))));
        let engine = Engine::start(notify).map_err(|source| DaemonError::Spawn { thread: "health".into(), source })?;
        instances.commit(staged, &platform);
        engine.set(board.targets());
        tracing::info!(subsystem = "health", checks = board.targets().len(), "health checks starting");
        let (next_resync, epoch) = (Instant::now(), Instant::now());
        let applied = applied(&opts.manifest, m.revision);
        Ok(Daemon {
            opts,
            loader,
            kernel,
            platform,
            cluster,
            node,
            instances,
            board,
            engine,
            live: None,
            next_resync,
            epoch,
            health_pending: false,
            ramp_due: None,
            record: Record { applied, asked: true, ..Record::default() },
            drains,
        })
    }

    /// Reconciles, then handles events until a stop (or the event channel closes),
    /// reconciling fully at least every `resync`. Tells systemd (`sd`) it is ready after
    /// the first reconcile, and pings its watchdog while every VRRP thread is alive.
    pub fn serve(&mut self, events: &Receiver<Event>, sd: &mut systemd::Notifier) {
        let mut ready = false;
        loop {
            if Instant::now() >= self.next_resync {
                let ok = self.reconcile_logged();
                match ready {
                    false => {
                        sd.ready(&self.status_line(ok));
                        self.platform.settle();
                    }
                    true => sd.status(&self.status_line(ok)),
                }
                ready = true;
            }
            sd.tick(self.alive());
            // A slow start's next step, once due, is applied; then the one after is due.
            if self.ramp_due.is_some_and(|r| self.epoch.elapsed() >= r) {
                self.converge_logged();
            }
            self.ramp_due = self.board.next_ramp_step(self.epoch.elapsed());
            let wake = self.ramp_due.map_or(self.next_resync, |r| (self.epoch + r).min(self.next_resync));
            let wake = sd.ping_due().map_or(wake, |p| p.min(wake));
            let wake = self.drain_end().map_or(wake, |d| d.min(wake));
            let go_on = match events.recv_timeout(wake.saturating_duration_since(Instant::now())) {
                Ok(e) => self.handle_queued(e, events),
                Err(RecvTimeoutError::Timeout) => true,
                Err(RecvTimeoutError::Disconnected) => false,
            };
            if !go_on {
                return;
            }
            self.expire_drains();
        }
    }

    /// Handles one event; false for a stop.
    pub fn handle(&mut self, e: Event) -> bool {
        let go_on = self.absorb(e);
        self.flush_health();
        go_on
    }

    /// Handles `first` and every event already queued behind it, then applies the health
    /// transitions among them in one pass (a thousand backends passing their first check
    /// at start-up are one plan, not a thousand).
    fn handle_queued(&mut self, first: Event, events: &Receiver<Event>) -> bool {
        let mut go_on = self.absorb(first);
        while go_on && let Ok(e) = events.try_recv() {
            go_on = self.absorb(e);
        }
        self.flush_health();
        go_on
    }

    /// Takes in one event; health transitions are recorded, applied by [`Self::flush_health`].
    fn absorb(&mut self, e: Event) -> bool {
        match e {
            Event::Stop => return false,
            Event::Reload => {
                self.reload_logged();
                self.reconcile_logged();
                self.platform.settle();
            }
            Event::Health(r) => self.health_changed(&r),
            Event::Status(reply) => {
                let _ = reply.send(self.status());
            }
            Event::Drain(req, reply) => {
                let _ = reply.send(self.drain(&req));
            }
        }
        true
    }

    /// Applies the recorded health transitions, if any.
    fn flush_health(&mut self) {
        if std::mem::take(&mut self.health_pending) {
            self.converge_logged();
        }
    }

    /// Re-reads the manifest and switches to it, all or nothing: on any error the running
    /// configuration and every instance stay exactly as they were.
    pub fn reload(&mut self) -> Result<Changed, DaemonError> {
        let load::Manifest { validated, revision } = self.loader.load(&self.opts.manifest)?;
        if !validated.cluster.nodes.contains_key(&self.node) {
            return Err(DaemonError::NodeGone { node: self.node.clone() });
        }
        let host = self.host_view()?;
        load::preflight(&self.opts.manifest, &validated.cluster, &self.node, &host, true)?;
        let staged = self.instances.stage(spec::specs(&validated.cluster, &self.node)?, &self.platform)?;
        log_warnings(&validated.warnings);
        let serving = self.serving();
        let cluster = validated.cluster;
        let board = Board::new(&cluster, &self.node, Some(&self.board), |ids| initial_status(&cluster, &serving, ids));
        self.cluster = cluster;
        let changed = self.instances.commit(staged, &self.platform);
        let forgotten = self.drains.forget_unknown(&self.cluster);
        if !forgotten.is_empty() {
            log_forgotten(&forgotten);
            let _ = self.save_drains();
        }
        self.record.applied = applied(&self.opts.manifest, revision);
        self.record.asked = true;
        self.board = board;
        self.refresh_drained(crate::utc::unix_now());
        self.engine.set(self.board.targets());
        Ok(changed)
    }

    /// This host's addresses and interfaces, what a reload's preflight needs to see.
    fn host_view(&mut self) -> Result<NodeState, DaemonError> {
        let addresses = self.kernel.addresses()?.into_iter().map(|a| (a.key(), a)).collect();
        Ok(NodeState { addresses, links: self.kernel.links()?, ..NodeState::default() })
    }

    /// The IPVS services now: from the state read last, else from the kernel.
    fn serving(&mut self) -> BTreeMap<ServiceKey, Service> {
        match &self.live {
            Some(l) => l.services.clone(),
            None => self.kernel.services().map(|v| v.into_iter().map(|s| (s.key, s)).collect()).unwrap_or_default(),
        }
    }

    fn reload_logged(&mut self) {
        match self.reload() {
            Ok(c) => {
                let a = &self.record.applied;
                let commit = a.commit.as_ref().map_or(String::new(), ToString::to_string);
                let (kept, updated, started, stopped) = (c.kept, c.updated, c.started, c.stopped);
                tracing::info!(subsystem = "manifest", sha256 = %a.sha256, %commit, kept, updated, started, stopped, "manifest reloaded")
            }
            Err(e) => {
                let reason = one_line(&e.to_string());
                tracing::error!(subsystem = "manifest", error = %reason, "manifest not reloaded; the running configuration stays in force");
                self.record.last_rejected = Some(status::Rejected { at: crate::utc::unix_now(), reason });
            }
        }
    }

    /// What this node's kernel should hold, given the checks' verdicts.
    fn desired(&mut self) -> Result<model::Desired, ReconcileError> {
        let (mut health, quorum) = self.board.health(self.epoch.elapsed());
        health.announcing = true;
        for q in &quorum {
            self.quorum_changed(q);
        }
        model::desired(&self.cluster, &self.node, &health).ok_or_else(|| ReconcileError::NoNode(self.node.clone()))
    }

    /// One level-triggered pass: read the whole kernel, plan, apply. `None` when nothing
    /// had to change.
    pub fn reconcile(&mut self) -> Result<Option<apply::Report>, ReconcileError> {
        let started = Instant::now();
        let (result, changes) = self.reconcile_pass();
        let error = result.as_ref().err().map(ToString::to_string);
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let at = crate::utc::unix_now();
        self.record.last_reconcile = Some(status::Reconciled { at, duration_ms, changes: changes.len(), error });
        if !std::mem::take(&mut self.record.asked) && !changes.is_empty() {
            self.record.drift_repaired += u64::try_from(changes.len()).unwrap_or(u64::MAX);
            self.record.last_drift = changes.last().cloned();
        }
        result
    }

    /// [`Self::reconcile`] without the record: the result and the changes planned.
    fn reconcile_pass(&mut self) -> (Result<Option<apply::Report>, ReconcileError>, Vec<String>) {
        match self.reconcile_inner() {
            Ok((r, changes)) => (Ok(r), changes),
            Err(e) => (Err(e), Vec::new()),
        }
    }

    fn reconcile_inner(&mut self) -> Result<(Option<apply::Report>, Vec<String>), ReconcileError> {
        self.next_resync = Instant::now() + self.opts.resync;
        self.live = None;
        let desired = self.desired()?;
        let live = kernel::snapshot(&mut self.kernel, &desired.sysctl_scope())?;
        let p = plan::plan(&desired, &live);
        if p.is_empty() {
            self.live = Some(live);
            return Ok((None, Vec::new()));
        }
        tracing::info!("{}", p.summary_line());
        let changes = p.changes.iter().map(ToString::to_string).collect();
        let report = apply::apply(&p, &mut self.kernel, &Options::default(), &mut LogProgress)?;
        // Read once more, so that the next health transition has a state to plan against.
        self.live = kernel::snapshot(&mut self.kernel, &desired.sysctl_scope()).ok();
        Ok((Some(report), changes))
    }

    /// Records a health transition; for every backend it turns up or down (a backend is up
    /// when all its checks pass) logs one line and runs the service's notify command. The
    /// change is applied when the queued events have been taken in.
    fn health_changed(&mut self, r: &Report) {
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
            }
        }
        self.health_pending = true;
    }

    fn converge_logged(&mut self) {
        if let Err(e) = self.converge_fast() {
            tracing::error!(subsystem = "health", "{e}; reading the whole kernel");
            self.reconcile_logged();
        }
    }

    /// Runs the service's `notify_up` / `notify_down` for a backend.
    fn notify_backend(&self, (service, backend): &BackendId, up: bool) {
        let Some(vs) = self.cluster.services.get(service) else { return };
        let Some(cmd) = (if up { &vs.notify_up } else { &vs.notify_down }) else { return };
        let Some(be) = vs.backends.iter().find(|b| &b.name == backend) else { return };
        let vars = [
            ("service", service.clone()),
            ("backend", backend.clone()),
            ("address", be.address.to_string()),
            ("port", be.port.to_string()),
        ];
        hooks::run(cmd, &vars, &[], if up { "notify_up" } else { "notify_down" });
    }

    /// Logs a quorum change and runs the service's `quorum_up` / `quorum_down`.
    fn quorum_changed(&self, q: &QuorumChange) {
        log_quorum(q);
        let Some(vs) = self.cluster.services.get(&q.service) else { return };
        let (cmd, event) = if q.gained { (&vs.quorum_up, "quorum_up") } else { (&vs.quorum_down, "quorum_down") };
        if let Some(cmd) = cmd {
            hooks::run(cmd, &[("service", q.service.clone()), ("weight", q.weight.to_string())], &[], event);
        }
    }

    /// Applies what the checks changed against the live state read last: IPVS destination
    /// changes only, then updates that state with what was done (no kernel read). Anything
    /// else (no state read yet, other changes, a failure) falls back to a full reconcile.
    fn converge_fast(&mut self) -> Result<(), ReconcileError> {
        let desired = self.desired()?;
        let Some(mut live) = self.live.take() else { return self.reconcile().map(drop) };
        let p = plan::plan(&desired, &live);
        if p.is_empty() {
            self.live = Some(live);
            return Ok(());
        }
        if !p
            .changes
            .iter()
            .all(|c| matches!(c, Change::AddDest { .. } | Change::EditDest { .. } | Change::DelDest { .. }))
        {
            // The checks asked for more than destinations (an announced route): not drift.
            self.record.asked = true;
            return self.reconcile().map(drop);
        }
        tracing::info!(subsystem = "health", "{}", p.summary_line());
        let mut done = Recorded::default();
        apply::apply(&p, &mut self.kernel, &Options::default(), &mut done)?;
        for (c, outcome) in &done.0 {
            patch(&mut live, c, outcome);
        }
        live.owned = p.ledger;
        self.live = Some(live);
        Ok(())
    }

    /// One reconcile pass, logged; true when it finished.
    fn reconcile_logged(&mut self) -> bool {
        match self.reconcile() {
            Ok(None) => tracing::debug!("no changes"),
            Ok(Some(r)) => tracing::info!(applied = r.applied, draining = r.draining, "applied"),
            Err(e) => {
                tracing::error!("{e}");
                return false;
            }
        }
        true
    }

    /// What `lbconverge status` shows.
    pub fn status(&self) -> status::Status {
        let vrrp = self
            .instances
            .running()
            .iter()
            .map(|r| r.view.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone())
            .collect();
        let probes = self.engine.stats();
        let services = self
            .cluster
            .services
            .values()
            .filter(|s| s.directors.contains(&self.node))
            .map(|vs| self.service_status(vs, &probes))
            .collect();
        status::Status {
            node: self.node.clone(),
            manifest: self.record.applied.clone(),
            vrrp,
            services,
            announced: self
                .live
                .as_ref()
                .map(|l| l.announced.iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
            last_reconcile: self.record.last_reconcile.clone(),
            drift_repaired: self.record.drift_repaired,
            last_drift: self.record.last_drift.clone(),
            last_rejected: self.record.last_rejected.clone(),
            probe_restarts: self.engine.restarts(),
        }
    }

    fn service_status(&self, vs: &model::cluster::VirtualService, probes: &Probed) -> status::ServiceStatus {
        let live = self.live.as_ref().and_then(|l| l.services.get(&vs.key));
        let backends = vs
            .backends
            .iter()
            .map(|be| {
                let dest =
                    live.and_then(|s| s.dests.get(&crate::model::ipvs::DestKey { addr: be.address, port: be.port }));
                let stats = dest.and_then(|d| d.stats).unwrap_or_default();
                let id = (vs.name.clone(), be.name.clone());
                let health = self.board.status_of(&id);
                let drain = self.drains.of(&vs.name, &be.name, crate::utc::unix_now()).cloned();
                status::BackendStatus {
                    name: be.name.clone(),
                    address: std::net::SocketAddr::new(be.address, be.port).to_string(),
                    health: health.map_or("unchecked".to_string(), |h| h.to_string()),
                    weight: be.weight,
                    live_weight: dest.map(|d| d.weight),
                    active: stats.active,
                    inactive: stats.inactive,
                    traffic: stats.traffic,
                    transitions: self.record.transitions.get(&id).copied().unwrap_or(0),
                    drain,
                    checks: self.check_stats(&id, probes),
                }
            })
            .collect();
        let traffic = live.map(|s| s.traffic).unwrap_or_default();
        status::ServiceStatus { name: vs.name.clone(), key: vs.key.to_string(), backends, traffic }
    }

    /// The probes of each check of a backend.
    fn check_stats(&self, id: &BackendId, probes: &Probed) -> Vec<status::CheckStats> {
        let checks = self.board.checks_of(id).into_iter();
        checks
            .map(|t| {
                let p = probes.get(t).cloned().unwrap_or_default();
                status::CheckStats {
                    check: t.to_string(),
                    probes: p.probes,
                    failures: p.failures,
                    duration_sum_us: p.duration_sum_us,
                    duration_buckets: p.cumulative(),
                    restarts: p.restarts,
                }
            })
            .collect()
    }

    /// True while every VRRP instance thread runs.
    fn alive(&self) -> bool {
        self.instances.running().iter().all(instance::Running::is_alive)
    }

    /// What `systemctl status` shows.
    fn status_line(&self, reconciled: bool) -> String {
        let carried = self.cluster.services.values().filter(|s| s.directors.contains(&self.node)).count();
        let last = if reconciled { "converged" } else { "last reconcile failed (see the log)" };
        format!("node {}: {} VRRP instances, {carried} services; {last}", self.node, self.instances.running().len())
    }

    /// The running VRRP instances.
    pub fn instances(&self) -> &[instance::Running] {
        self.instances.running()
    }

    /// The checks and their last verdicts.
    pub fn board(&self) -> &Board {
        &self.board
    }

    /// Withdraws every announced route and waits the drain time for the routers to move
    /// the traffic away, then stops the checks, then every instance gracefully.
    pub fn stop(mut self) {
        self.withdraw_all();
        drop(self.engine);
        self.instances.stop();
    }

    fn withdraw_all(&mut self) {
        let owned = self.kernel.load().map(|l| l.announced).unwrap_or_default();
        let live = self.kernel.announced().unwrap_or_default();
        let mut withdrawn = 0;
        for r in live.iter().filter(|r| owned.contains(r)) {
            match self.kernel.withdraw(r) {
                Ok(()) => withdrawn += 1,
                Err(e) => tracing::error!(subsystem = "daemon", error = %e, "route not withdrawn"),
            }
        }
        if withdrawn > 0 {
            let wait = self.cluster.routing.drain_time;
            tracing::info!(subsystem = "daemon", routes = withdrawn, drain_time = ?wait, "routes withdrawn; waiting for the routers");
            std::thread::sleep(wait);
        }
    }
}

/// Each running check's probes so far.
type Probed = BTreeMap<crate::health::Target, ProbeStats>;

/// The manifest at `path`, of `revision`, applied now.
fn applied(path: &std::path::Path, revision: crate::manifest::revision::Revision) -> status::Applied {
    status::Applied {
        path: path.display().to_string(),
        sha256: revision.sha256,
        commit: revision.git,
        since: crate::utc::unix_now(),
    }
}

/// Why a reconcile pass did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The running cluster has no such node (cannot happen after a successful start).
    #[error("node `{0}` is not in the running configuration")]
    NoNode(String),
    /// The live state could not be read.
    #[error("read the kernel: {0}")]
    Read(#[from] kernel::KernelError),
    /// The plan could not be applied.
    #[error("{0}")]
    Apply(#[from] apply::ApplyError),
}

/// Starts a named thread of the daemon.
fn spawn<T: Send + 'static>(
    name: String,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<std::thread::JoinHandle<T>, DaemonError> {
    std::thread::Builder::new()
        .name(name.clone())
        .spawn(f)
        .map_err(|source| DaemonError::Spawn { thread: name, source })
}

/// A new check starts Up when one of its backends is serving (in IPVS with a weight): a
/// daemon restart never flaps a healthy cluster. Otherwise it is Unknown, and the backend
/// joins after its first passing check.
fn initial_status(cluster: &Cluster, serving: &BTreeMap<ServiceKey, Service>, ids: &[BackendId]) -> Status {
    let up = ids.iter().any(|(svc, be)| {
        let Some(vs) = cluster.services.get(svc) else { return false };
        let Some(b) = vs.backends.iter().find(|b| &b.name == be) else { return false };
        let key = crate::model::ipvs::DestKey { addr: b.address, port: b.port };
        serving.get(&vs.key).and_then(|s| s.dests.get(&key)).is_some_and(|d| d.weight > 0)
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
            svc.dests.insert(dest.key(), crate::model::ipvs::Dest { weight: 0, ..dest.clone() });
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

fn log_warnings(warnings: &[crate::manifest::Problem]) {
    for w in warnings {
        tracing::warn!(subsystem = "manifest", "{}", one_line(&w.to_string()));
    }
}

/// A multi-line message (a manifest's problems) on one log line.
fn one_line(s: &str) -> String {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
}

/// Logs each change apply makes.
struct LogProgress;

impl Progress for LogProgress {
    fn start(&mut self, _: usize, _: usize, _: &Change) {}
    fn done(&mut self, _: usize, c: &Change, outcome: &Outcome) {
        tracing::info!(change = %c, outcome = ?outcome, "applied");
    }
}

/// Logs each change apply makes and keeps what was done.
#[derive(Default)]
struct Recorded(Vec<(Change, Outcome)>);

impl Progress for Recorded {
    fn start(&mut self, _: usize, _: usize, _: &Change) {}
    fn done(&mut self, i: usize, c: &Change, outcome: &Outcome) {
        LogProgress.done(i, c, outcome);
        self.0.push((c.clone(), outcome.clone()));
    }
}
