//! `lbconverge run`: the daemon. VRRP instances run on their own threads; the main thread is
//! the single writer of kernel state besides the VIPs VRRP moves: it re-reads the live state
//! and re-plans on every tick (level-triggered), and events (a changed manifest, SIGHUP) only
//! cut the wait short. SIGTERM/SIGINT stop every instance gracefully (priority-0 advert, VIPs
//! removed).
//!
//! ```text
//! signals ──┐                         ┌─> instance thread (VRRP timers, sockets, VIPs)
//! manifest ─┼─> events ─> main loop ──┼─> tracker threads (scripts, links) -> priorities
//! resync ───┘                         └─> reconcile: snapshot -> desired -> plan -> apply
//! ```

pub mod instance;
mod signals;
pub mod spec;
pub mod tracker;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::time::Duration;

use crate::apply::{self, Options, Outcome, Progress};
use crate::cli::{CliError, cache, pick_node, view};
use crate::kernel::{self, linux::LinuxKernel};
use crate::model::{self, Cluster, Health};
use crate::plan::{self, Change};

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The manifest or node is unusable.
    #[error("{0}")]
    Manifest(#[from] CliError),
    /// Configuration the daemon cannot run with.
    #[error("{0}")]
    Config(String),
    /// A VRRP password could not be read.
    #[error("VRRP instance {instance}: password: {cause}")]
    Secret {
        /// The instance.
        instance: String,
        /// Why.
        cause: String,
    },
    /// A VRRP instance could not start.
    #[error("VRRP instance {instance}: {cause}")]
    Instance {
        /// The instance.
        instance: String,
        /// Why.
        cause: String,
    },
}

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

struct Daemon {
    opts: DaemonOptions,
    kernel: LinuxKernel,
    cluster: Cluster,
    node: String,
    running: Vec<instance::Running>,
    stoppers: signals::Stoppers,
    tracker: Option<tracker::Tracker>,
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(opts: DaemonOptions) -> Result<(), DaemonError> {
    signals::block();
    let (tx, rx) = channel();
    let stoppers = signals::Stoppers::default();
    signals::listen(tx.clone(), stoppers.clone());
    watch_manifest(opts.manifest.clone(), tx);
    let mut kernel = LinuxKernel::new(opts.state_dir.clone());
    let cluster = cache::load_validated(&opts.manifest, &opts.state_dir)?.cluster;
    let objects = kernel::snapshot_objects(&mut kernel).map_err(CliError::from)?;
    let node = pick_node(&cluster, opts.node.as_deref(), &objects, "this host")?;
    tracing::info!(node = %node, manifest = %opts.manifest.display(), "lbconverge run starting");
    let mut d = Daemon { opts, kernel, cluster, node, running: Vec::new(), stoppers, tracker: None };
    d.start_instances(Vec::new())?;
    d.reconcile();
    loop {
        match rx.recv_timeout(d.opts.resync) {
            Ok(Event::Stop) | Err(RecvTimeoutError::Disconnected) => break,
            Ok(Event::Reload) => d.reload(),
            Err(RecvTimeoutError::Timeout) => {}
        }
        d.reconcile();
    }
    d.stop();
    tracing::info!("lbconverge run stopped");
    Ok(())
}

impl Daemon {
    /// Starts the instances of the current cluster, keeping those in `keep` whose spec did
    /// not change (the others are stopped first).
    fn start_instances(&mut self, keep: Vec<instance::Running>) -> Result<(), DaemonError> {
        let specs = spec::specs(&self.cluster, &self.node)?;
        let (same, changed): (Vec<_>, Vec<_>) = keep.into_iter().partition(|r| specs.contains(&r.spec));
        for r in changed {
            tracing::info!(instance = %r.spec.name, "vrrp instance changed or removed; stopping it");
            r.stop();
        }
        let fresh: Vec<_> = specs.into_iter().filter(|s| !same.iter().any(|r| &r.spec == s)).collect();
        let mut running = same;
        for s in fresh {
            tracing::info!(instance = %s.name, vrid = s.vrid, interface = %s.interface, "vrrp instance starting");
            running.push(instance::start(s)?);
        }
        self.running = running;
        *self.stoppers.lock().unwrap_or_else(|e| e.into_inner()) =
            self.running.iter().map(|r| r.control.clone()).collect();
        if let Some(t) = self.tracker.take() {
            t.stop();
        }
        self.tracker = Some(tracker::start(&self.running));
        Ok(())
    }

    /// Re-reads the manifest; a bad one is reported and the running configuration kept.
    fn reload(&mut self) {
        let cluster = match cache::load_validated(&self.opts.manifest, &self.opts.state_dir) {
            Ok(v) => v.cluster,
            Err(e) => {
                tracing::error!("manifest not reloaded, keeping the running configuration:\n{e}");
                return;
            }
        };
        if !cluster.nodes.contains_key(&self.node) {
            tracing::error!(node = %self.node, "manifest not reloaded: this node is no longer in it");
            return;
        }
        tracing::info!("manifest reloaded");
        self.cluster = cluster;
        let keep = std::mem::take(&mut self.running);
        if let Err(e) = self.start_instances(keep) {
            tracing::error!("{e}");
        }
    }

    /// One level-triggered pass: read the kernel, plan, apply.
    fn reconcile(&mut self) {
        let Some(desired) = model::desired(&self.cluster, &self.node, &Health::all_up()) else { return };
        let live = match kernel::snapshot(&mut self.kernel, &kernel::desired_scope(&desired)) {
            Ok(l) => l,
            Err(e) => return tracing::error!("reconcile: read the kernel: {e}"),
        };
        let p = plan::plan(&desired, &live);
        if p.is_empty() {
            return tracing::debug!("reconcile: no changes");
        }
        tracing::info!("reconcile: {}", view::summary_line(&p));
        match apply::apply(&p, &mut self.kernel, &Options::default(), &mut LogProgress) {
            Ok(r) => tracing::info!(applied = r.applied, draining = r.draining, "reconcile: applied"),
            Err(e) => tracing::error!("reconcile: {e}"),
        }
    }

    /// Every instance is asked to stop at once (each sends its priority-0 advert without
    /// waiting for the others), then the tracker stops.
    fn stop(self) {
        for r in &self.running {
            r.request_stop();
        }
        for r in self.running {
            r.join();
        }
        if let Some(t) = self.tracker {
            t.stop();
        }
    }
}

/// Logs each change apply makes.
struct LogProgress;

impl Progress for LogProgress {
    fn start(&mut self, _: usize, _: usize, _: &Change) {}
    fn done(&mut self, _: usize, c: &Change, outcome: &Outcome) {
        tracing::info!(change = %view::change_text(c), outcome = ?outcome, "applied");
    }
}

/// Polls the manifest every second and asks for a reload when its content changes
/// (any way of writing it: in place, rename over, git checkout).
fn watch_manifest(path: PathBuf, tx: Sender<Event>) {
    std::thread::spawn(move || {
        let mut last = fingerprint(&path);
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let now = fingerprint(&path);
            if now != last && now.is_some() {
                last = now;
                if tx.send(Event::Reload).is_err() {
                    return;
                }
            }
        }
    });
}

fn fingerprint(path: &Path) -> Option<Vec<u8>> {
    use sha2::{Digest, Sha256};
    std::fs::read(path).ok().map(|b| Sha256::digest(&b).to_vec())
}
