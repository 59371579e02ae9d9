//! `lbconverge run`: the daemon. VRRP instances run on their own threads; the main thread is
//! the single writer of kernel state besides the VIPs VRRP moves: it re-reads the live state
//! and re-plans on every tick (level-triggered), and events (a changed manifest, SIGHUP) only
//! cut the wait short. SIGTERM/SIGINT stop every instance gracefully (priority-0 advert, VIPs
//! removed).
//!
//! ```text
//! signals ──┐                         ┌─> instance threads (VRRP timers, sockets, VIPs via Addrs)
//! manifest ─┼─> events ─> main loop ──┼─> tracker threads (scripts, links) -> priorities
//! resync ───┘                         └─> reconcile: snapshot -> desired -> plan -> apply
//! ```
//!
//! [`Daemon`] is generic over the kernel and the [`Platform`]: [`run`] drives it on this
//! host; tests drive it on the in-memory kernel. A reload is transactional: the new manifest
//! is loaded, its instance specs and secrets resolved and its new instances opened before
//! anything running is touched; any failure keeps the running configuration whole.

pub mod error;
pub mod instance;
pub mod instances;
pub mod platform;
pub mod signals;
pub mod spec;
pub mod tracker;
mod watch;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

pub use error::{DaemonError, InstanceError, SecretError};
pub use platform::Platform;

use crate::apply::{self, Options, Outcome, Progress, Report};
use crate::kernel::linux::LinuxKernel;
use crate::kernel::{self, Kernel};
use crate::load::{self, Loader};
use crate::model::{self, Cluster, Health};
use crate::plan::{self, Change};
use instances::{Changed, Instances};

/// The shortest `--resync`: a shorter one would only re-read the kernel in a busy loop.
pub const MIN_RESYNC: Duration = Duration::from_secs(1);

/// What wakes the main loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Stop gracefully.
    Stop,
    /// Re-read the manifest.
    Reload,
}

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// The manifest.
    pub manifest: PathBuf,
    /// The node, when not found by this host's addresses.
    pub node: Option<String>,
    /// Ledger and cache directory.
    pub state_dir: PathBuf,
    /// Re-read the kernel and re-plan at least this often.
    pub resync: Duration,
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
}

/// Runs the daemon on this host until SIGTERM or SIGINT.
pub fn run(opts: DaemonOptions) -> Result<(), DaemonError> {
    signals::block();
    let (tx, rx) = channel();
    let stoppers = signals::Stoppers::default();
    signals::listen(tx.clone(), stoppers.clone())?;
    watch::start(opts.manifest.clone(), tx)?;
    let kernel = LinuxKernel::new(opts.state_dir.clone());
    let mut d = Daemon::start(opts, kernel, platform::Linux, stoppers)?;
    d.serve(&rx);
    d.stop();
    tracing::info!("lbconverge run stopped");
    Ok(())
}

impl<K: Kernel, P: Platform> Daemon<K, P> {
    /// Loads the manifest, finds this node and starts its VRRP instances; `stoppers` is
    /// kept up to date with their control channels.
    pub fn start(
        opts: DaemonOptions,
        mut kernel: K,
        platform: P,
        stoppers: signals::Stoppers,
    ) -> Result<Self, DaemonError> {
        let loader = Loader::cached(&opts.state_dir);
        let (validated, live) = load::with_live(&loader, &opts.manifest, opts.node.as_deref(), &mut kernel)?;
        log_warnings(&validated.warnings);
        let node = load::pick_node(&validated.cluster, opts.node.as_deref(), &live, "this host")?;
        tracing::info!(node = %node, manifest = %opts.manifest.display(), "lbconverge run starting");
        let cluster = validated.cluster;
        let mut instances = Instances::new(stoppers);
        let staged = instances.stage(spec::specs(&cluster, &node)?, &platform)?;
        instances.commit(staged, &platform);
        Ok(Daemon { opts, loader, kernel, platform, cluster, node, instances })
    }

    /// Reconciles, then handles events until a stop (or the event channel closes),
    /// reconciling after each event and at least every `resync`.
    pub fn serve(&mut self, events: &Receiver<Event>) {
        self.reconcile_logged();
        loop {
            match events.recv_timeout(self.opts.resync) {
                Ok(Event::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Ok(Event::Reload) => self.reload_logged(),
                Err(RecvTimeoutError::Timeout) => {}
            }
            self.reconcile_logged();
        }
    }

    /// Re-reads the manifest and switches to it, all or nothing: on any error the running
    /// configuration and every instance stay exactly as they were.
    pub fn reload(&mut self) -> Result<Changed, DaemonError> {
        let validated = self.loader.load(&self.opts.manifest)?;
        if !validated.cluster.nodes.contains_key(&self.node) {
            return Err(DaemonError::NodeGone { node: self.node.clone() });
        }
        let staged = self.instances.stage(spec::specs(&validated.cluster, &self.node)?, &self.platform)?;
        log_warnings(&validated.warnings);
        self.cluster = validated.cluster;
        Ok(self.instances.commit(staged, &self.platform))
    }

    fn reload_logged(&mut self) {
        match self.reload() {
            Ok(c) => {
                tracing::info!(kept = c.kept, started = c.started, stopped = c.stopped, "manifest reloaded")
            }
            Err(e) => tracing::error!(
                error = %one_line(&e.to_string()),
                "manifest not reloaded; the running configuration stays in force"
            ),
        }
    }

    /// One level-triggered pass: read the kernel, plan, apply. `None` when nothing had to
    /// change.
    pub fn reconcile(&mut self) -> Result<Option<Report>, ReconcileError> {
        let desired = model::desired(&self.cluster, &self.node, &Health::all_up())
            .ok_or_else(|| ReconcileError::NoNode(self.node.clone()))?;
        let live = kernel::snapshot(&mut self.kernel, &desired.sysctl_scope())?;
        let p = plan::plan(&desired, &live);
        if p.is_empty() {
            return Ok(None);
        }
        tracing::info!("reconcile: {}", p.summary_line());
        Ok(Some(apply::apply(&p, &mut self.kernel, &Options::default(), &mut LogProgress)?))
    }

    fn reconcile_logged(&mut self) {
        match self.reconcile() {
            Ok(None) => tracing::debug!("reconcile: no changes"),
            Ok(Some(r)) => tracing::info!(applied = r.applied, draining = r.draining, "reconcile: applied"),
            Err(e) => tracing::error!("reconcile: {e}"),
        }
    }

    /// The running VRRP instances.
    pub fn instances(&self) -> &[instance::Running] {
        self.instances.running()
    }

    /// Stops every instance gracefully.
    pub fn stop(self) {
        self.instances.stop();
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

fn log_warnings(warnings: &[crate::manifest::Problem]) {
    for w in warnings {
        tracing::warn!("{}", one_line(&w.to_string()));
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
