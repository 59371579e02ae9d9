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
//! is loaded, checked against the blast-radius guard, its instance specs and secrets
//! resolved and what its instances need opened before anything running is touched; any
//! failure keeps the running configuration whole. Running instances take a changed
//! configuration in place ([`instances`]).
//!
//! Parts: [`health`] (checks to IPVS, scoped), [`reconcile`] (the full pass and the
//! guard), [`status`] (the status model, assembled purely), [`control`] (the socket),
//! [`metrics`] (the Prometheus listener and status page), both bounded so that no client
//! blinds the others, [`lock`] (one daemon per node), and [`state_files`] (damaged state
//! files are moved aside and reported; the daemon runs on).

pub mod control;
mod drains;
pub mod error;
mod fifo;
mod health;
mod hooks;
pub mod instance;
pub mod instances;
pub mod lock;
mod lvs_lines;
pub mod metrics;
pub mod page;
pub mod platform;
pub mod realtime;
mod reconcile;
mod serve;
pub mod signals;
pub mod spec;
mod state_files;
pub mod status;
mod syncgroup;
pub mod systemd;
pub mod tracker;
pub mod trackfile;
pub mod trackproc;
mod vmacs;
mod watch;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

pub use error::{DaemonError, DestroyRefused, InstanceError, SecretError};
pub use health::ConvergeError;
pub use platform::Platform;
pub use reconcile::ReconcileError;

use crate::alert::Alerter;
use crate::health::Board;
use crate::health::engine::{Engine, Report};
use crate::kernel::Kernel;
use crate::kernel::linux::LinuxKernel;
use crate::load::{self, Loader};
use crate::model::drain::Drains;
use crate::model::ipvs::{Service, ServiceKey};
use crate::model::{Cluster, NodeState};
use drains::log_forgotten;
use health::initial_status;
use instances::{Changed, Instances};
use status::Record;

/// How often the daemon looks for a VMAC deleted by hand, to make it again: about what
/// keepalived's link events give, at the cost of one link dump a second (only while an
/// instance has a VMAC).
pub const VMAC_CHECK: Duration = Duration::from_secs(1);

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
    Drain(control::DrainRequest, Sender<control::DrainReply>),
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
    /// Take commits that delete more than `max_destroy` IPVS services and destinations.
    pub allow_destroy: bool,
    /// The blast-radius limit of a commit (`--max-destroy`).
    pub max_destroy: usize,
    /// Lock the daemon's memory (`--lock-memory`, like keepalived's `vrrp_no_swap`).
    pub lock_memory: bool,
    /// Run the VRRP threads SCHED_RR at this priority (`--realtime`, like keepalived's
    /// `vrrp_rt_priority`).
    pub realtime: Option<u8>,
    /// The probe engine's worker threads (`--health-threads`); `None`: one per core.
    pub health_threads: Option<std::num::NonZeroUsize>,
}

impl DaemonOptions {
    /// Options for `manifest` with the defaults of `lbconverge run`.
    pub fn new(manifest: PathBuf, state_dir: PathBuf) -> Self {
        DaemonOptions {
            manifest,
            node: None,
            state_dir,
            resync: Duration::from_secs(30),
            control: None,
            metrics: None,
            metrics_credentials: None,
            require_committed: false,
            allow_destroy: false,
            max_destroy: crate::apply::Options::default().max_destroy,
            lock_memory: false,
            realtime: None,
            health_threads: None,
        }
    }
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
    /// Services whose health changed, not converged yet.
    touched: std::collections::BTreeSet<String>,
    /// The configuration in force passed the blast-radius guard: its deletions are asked for.
    destroy_approved: bool,
    /// When the next slow-start step is due (since `epoch`).
    ramp_due: Option<Duration>,
    /// When the VMACs are next checked for one deleted by hand ([`vmacs::repair`]).
    next_vmac_check: Instant,
    /// What `status` reports besides the live objects.
    record: Record,
    /// Backends the operator drained, as kept in the state directory.
    drains: Drains,
    /// Where alerts go (`alerts:`), shared with the VRRP threads.
    alerts: Alerter,
    /// The notify FIFOs (`notify_fifos:`), shared with the VRRP threads.
    fifos: fifo::Fifos,
}

/// Runs the daemon on this host until SIGTERM or SIGINT. The state directory's lock comes
/// first: a second daemon of this node stops there, before it touches anything.
pub fn run(opts: DaemonOptions) -> Result<(), DaemonError> {
    let _lock = lock::take(&opts.state_dir)?;
    // Before any thread or socket: everything started from here on is in the namespace.
    let loader = Loader::new().require_committed(opts.require_committed);
    crate::load::enter_namespace(&loader, &opts.manifest, opts.node.as_deref())?;
    let mut sd = systemd::Notifier::from_env();
    signals::block();
    let (tx, rx) = channel();
    let stoppers = signals::Stoppers::default();
    signals::listen(tx.clone(), stoppers.clone())?;
    let _reads = watch::start(opts.manifest.clone(), tx.clone())?;
    if let Some(path) = &opts.control {
        control::listen(path, tx.clone())?;
    }
    if let Some(addr) = opts.metrics {
        metrics::listen(addr, opts.metrics_credentials.clone(), tx.clone())?;
    }
    scheduling(&opts)?;
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
        // Before anything reads them: damaged state files are moved aside, never a reason
        // not to run.
        let mut record = Record { asked: true, ..Record::default() };
        let drains = state_files::at_start(&opts.state_dir, &mut record);
        let loader = Loader::new().require_committed(opts.require_committed);
        let (m, live) = load::with_live(&loader, &opts.manifest, opts.node.as_deref(), &mut kernel)?;
        log_warnings(&m.validated.warnings);
        let node = load::pick_node(&m.validated.cluster, opts.node.as_deref(), &live, "this host")?;
        load::preflight(&opts.manifest, &m.validated.cluster, &node, &live, true)?;
        tracing::info!(subsystem = "daemon", node = %node, manifest = %opts.manifest.display(), revision = %m.revision, "lbconverge run starting");
        let cluster = m.validated.cluster;
        auto_realtime_allowed(&cluster, &node);
        let mut drains = drains.unwrap_or_default();
        log_forgotten(&drains.forget_unknown(&cluster));
        let alerts = Alerter::new();
        alerts.configure(&cluster.alerts, &node, cluster.name.as_deref());
        let fifos = fifo::Fifos::new();
        fifos.configure(&cluster.notify_fifos);
        let mut instances = Instances::new(stoppers, opts.realtime, (alerts.clone(), fifos.clone()));
        let specs = (spec::specs(&cluster, &node)?, spec::groups(&cluster, &node));
        let staged = vmacs::stage(&mut kernel, &instances, specs, &platform)?;
        let mut board = Board::new(&cluster, &node, None, |ids| initial_status(&cluster, &live.services, ids));
        board.set_drained(drains.active(crate::utc::unix_now()));
        let notify = Arc::new(move |r| drop(events.send(Event::Health(Box::new(r)))));
        let engine_options = crate::health::engine::Options { threads: opts.health_threads };
        let engine = Engine::start_configured(notify, crate::health::probe::Probes::default(), engine_options)
            .map_err(|source| DaemonError::Spawn { thread: "health".into(), source })?;
        instances.commit(staged, &platform);
        engine.set(board.targets());
        tracing::info!(subsystem = "health", checks = board.targets().len(), "health checks starting");
        let (next_resync, epoch) = (Instant::now(), Instant::now());
        record.applied = applied(&opts.manifest, m.revision);
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
            touched: Default::default(),
            destroy_approved: false,
            ramp_due: None,
            next_vmac_check: Instant::now() + VMAC_CHECK,
            record,
            drains,
            alerts,
            fifos,
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
            if self.vmac_check_due().is_some_and(|due| Instant::now() >= due) {
                self.repair_vmacs();
            }
            // A slow start's next step, once due, is applied; then the one after is due.
            if self.ramp_due.is_some_and(|r| self.epoch.elapsed() >= r) {
                let ramping = self.board.ramping();
                self.converge_logged(ramping);
            }
            self.ramp_due = self.board.next_ramp_step(self.epoch.elapsed());
            let wake = self.ramp_due.map_or(self.next_resync, |r| (self.epoch + r).min(self.next_resync));
            let wake = sd.ping_due().map_or(wake, |p| p.min(wake));
            let wake = self.vmac_check_due().map_or(wake, |v| v.min(wake));
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

    /// Re-reads the manifest and switches to it, all or nothing: on any error the running
    /// configuration and every instance stay exactly as they were.
    pub fn reload(&mut self) -> Result<Changed, DaemonError> {
        let load::Manifest { validated, revision, .. } = self.loader.load(&self.opts.manifest)?;
        if !validated.cluster.nodes.contains_key(&self.node) {
            return Err(DaemonError::NodeGone { node: self.node.clone() });
        }
        self.same_namespace(&validated.cluster)?;
        let host = self.host_view()?;
        load::preflight(&self.opts.manifest, &validated.cluster, &self.node, &host, true)?;
        self.destroy_guard(&validated.cluster)?;
        let specs = (spec::specs(&validated.cluster, &self.node)?, spec::groups(&validated.cluster, &self.node));
        let before = vmacs::running(self.instances.running());
        let staged = vmacs::stage(&mut self.kernel, &self.instances, specs, &self.platform)?;
        log_warnings(&validated.warnings);
        let serving = self.serving();
        let cluster = validated.cluster;
        let board = Board::new(&cluster, &self.node, Some(&self.board), |ids| initial_status(&cluster, &serving, ids));
        self.cluster = cluster;
        self.alerts.configure(&self.cluster.alerts, &self.node, self.cluster.name.as_deref());
        self.fifos.configure(&self.cluster.notify_fifos);
        let ran = self.instances.before();
        let changed = self.instances.commit(staged, &self.platform);
        if self.fifos.wants_states() {
            self.instances.write_states(&ran);
        }
        vmacs::remove(&mut self.kernel, &before, &vmacs::running(self.instances.running()));
        let forgotten = self.drains.forget_unknown(&self.cluster);
        if !forgotten.is_empty() {
            log_forgotten(&forgotten);
            let _ = self.save_drains();
        }
        self.record.applied = applied(&self.opts.manifest, revision);
        self.record.asked = true;
        // It passed the blast-radius guard: its deletions are asked for.
        self.destroy_approved = true;
        self.board = board;
        self.refresh_drained(crate::utc::unix_now());
        self.engine.set(self.board.targets());
        Ok(changed)
    }

    /// A reload keeps the node in the network namespace the daemon started in.
    fn same_namespace(&self, new: &Cluster) -> Result<(), DaemonError> {
        let of = |c: &Cluster| c.nodes.get(&self.node).and_then(|n| n.network_namespace.clone());
        let (from, to) = (of(&self.cluster), of(new));
        if from == to {
            return Ok(());
        }
        let shown = |n: Option<String>| n.unwrap_or_else(|| "none".into());
        Err(DaemonError::NamespaceChanged { node: self.node.clone(), from: shown(from), to: shown(to) })
    }

    /// This host's addresses, interfaces and VMACs, what a reload's preflight needs to see.
    fn host_view(&mut self) -> Result<NodeState, DaemonError> {
        let addresses = self.kernel.addresses()?.into_iter().map(|a| (a.key(), a)).collect();
        let vmacs = self.kernel.vmacs()?.into_iter().collect();
        Ok(NodeState { addresses, links: self.kernel.links()?, vmacs, ..NodeState::default() })
    }

    /// The IPVS services now: from the state read last, else from the kernel.
    fn serving(&mut self) -> BTreeMap<ServiceKey, Service> {
        match &self.live {
            Some(l) => l.services.clone(),
            None => self.kernel.services().map(|v| v.into_iter().map(|s| (s.key, s)).collect()).unwrap_or_default(),
        }
    }

    fn reload_logged(&mut self) {
        self.check_state_files();
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
                let destroy = match &e {
                    DaemonError::DestroyRefused(r) => Some(status::DestroyCount { count: r.count, limit: r.limit }),
                    _ => None,
                };
                self.record.last_rejected = Some(status::Rejected { at: crate::utc::unix_now(), reason, destroy });
            }
        }
    }

    /// What `lbconverge status` shows.
    pub fn status(&self) -> status::Status {
        let lock = |r: &instance::Running| r.view.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        status::assemble(&status::Sources {
            node: &self.node,
            cluster: &self.cluster,
            record: &self.record,
            vrrp: self.instances.running().iter().map(lock).collect(),
            board: &self.board,
            probes: &self.engine.stats(),
            drains: &self.drains,
            live: self.live.as_ref(),
            now: crate::utc::unix_now(),
            probe_restarts: self.engine.restarts(),
            alerts: self.alerts.stats(),
        })
    }

    /// True while every VRRP instance thread and the health checks' thread run: systemd's
    /// watchdog restarts a daemon that lost one (nothing freezes silently).
    fn alive(&self) -> bool {
        self.instances.running().iter().all(instance::Running::is_alive) && self.engine.is_alive()
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

    /// Makes again the VMACs deleted by hand ([`vmacs::repair`]); the next check is due in
    /// [`VMAC_CHECK`]. Returns the names made again.
    pub fn repair_vmacs(&mut self) -> Vec<String> {
        self.next_vmac_check = Instant::now() + VMAC_CHECK;
        let made = vmacs::repair(&mut self.kernel, self.instances.running(), &self.platform);
        if !made.is_empty() {
            self.record.drift_repaired += u64::try_from(made.len()).unwrap_or(u64::MAX);
            self.record.last_drift = made.last().map(|n| format!("make VMAC {n} again"));
        }
        made
    }

    /// When the VMACs are next checked; `None` while no running instance has one.
    fn vmac_check_due(&self) -> Option<Instant> {
        let any = |r: &instance::Running| r.spec.vmac.is_some() || !r.spec.vip_vmacs.is_empty();
        self.instances.running().iter().any(any).then_some(self.next_vmac_check)
    }

    /// Withdraws every announced route and waits the drain time for the routers to move
    /// the traffic away, then stops the checks, then every instance gracefully, then
    /// removes their VMACs.
    pub fn stop(mut self) {
        self.withdraw_all();
        drop(self.engine);
        let held = vmacs::running(self.instances.running());
        self.instances.stop();
        self.fifos.stop();
        vmacs::remove(&mut self.kernel, &held, &Default::default());
        self.alerts.stop();
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

/// `--lock-memory` and `--realtime`: the memory is locked now; realtime scheduling is
/// tried on this thread (and taken back) so that a missing privilege fails the start with
/// its fix, before any VRRP thread asks for it.
fn scheduling(opts: &DaemonOptions) -> Result<(), DaemonError> {
    if opts.lock_memory {
        crate::sys::lock_memory().map_err(|source| DaemonError::Scheduling {
            what: "lock memory (--lock-memory)".into(),
            source,
            hint: "it needs CAP_IPC_LOCK (the packaged unit has it) or a RLIMIT_MEMLOCK above the daemon's size",
        })?;
        tracing::info!(subsystem = "daemon", "memory locked");
    }
    if let Some(p) = opts.realtime {
        let fail = |source| DaemonError::Scheduling {
            what: format!("run VRRP threads SCHED_RR at priority {p} (--realtime)"),
            source,
            hint: "it needs CAP_SYS_NICE and no RestrictRealtime=yes in the unit (the packaged unit allows it)",
        };
        crate::sys::set_realtime(Some(p)).map_err(fail)?;
        crate::sys::set_realtime(None).map_err(fail)?;
    }
    Ok(())
}

/// `nodes.N.auto_realtime`: realtime scheduling is tried on this thread (and taken back) so
/// that a missing privilege is logged with its fix at start, not first at a late timer.
/// Not fatal (keepalived only warns): the VRRP threads then keep normal scheduling.
fn auto_realtime_allowed(cluster: &Cluster, node: &str) {
    let Some(a) = cluster.nodes.get(node).and_then(|n| n.auto_realtime) else { return };
    let tried = crate::sys::set_realtime(Some(1)).and_then(|()| crate::sys::set_realtime(None));
    match tried {
        Ok(()) => {
            tracing::info!(subsystem = "vrrp", max_priority = a.max, delay = ?a.delay, "VRRP threads go SCHED_RR when their timers fire late (auto_realtime)")
        }
        Err(e) => {
            tracing::error!(subsystem = "vrrp", error = %e, "auto_realtime: realtime scheduling is refused (it needs CAP_SYS_NICE and no RestrictRealtime=yes); the VRRP threads keep normal scheduling")
        }
    }
}

/// The manifest at `path`, of `revision`, applied now.
fn applied(path: &std::path::Path, revision: crate::manifest::revision::Revision) -> status::Applied {
    status::Applied {
        path: path.display().to_string(),
        sha256: revision.sha256,
        commit: revision.git,
        since: crate::utc::unix_now(),
    }
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

fn log_warnings(warnings: &[crate::manifest::Problem]) {
    for w in warnings {
        tracing::warn!(subsystem = "manifest", "{}", one_line(&w.to_string()));
    }
}

/// A multi-line message (a manifest's problems) on one log line.
fn one_line(s: &str) -> String {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
}
