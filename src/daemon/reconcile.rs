//! The daemon's full reconcile pass, level-triggered: read the whole kernel, compute the
//! node's desired state from the configuration in force and the checks' verdicts, plan,
//! apply. It runs at start, after every reload and at least every `--resync`, and repairs
//! drift; health transitions do not wait for it ([`super::health`]).
//!
//! The blast-radius guard (`run --max-destroy`, `--allow-destroy`) is applied to a commit
//! before it is taken ([`Daemon::destroy_guard`]): a reload that would delete more IPVS
//! services and destinations than allowed is refused whole, like an invalid manifest. A
//! configuration that passed it (or the first reconcile, which has nothing earlier to
//! compare with) is then converged without asking again.

use std::time::Instant;

use super::error::DestroyRefused;
use super::{Daemon, Platform, status};
use crate::apply::{self, Outcome, Progress};
use crate::kernel::{self, Kernel};
use crate::model::{self, Cluster, Health, NodeState};
use crate::plan::{self, Change};

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

impl<K: Kernel, P: Platform> Daemon<K, P> {
    /// One level-triggered pass: read the whole kernel, plan, apply. `None` when nothing
    /// had to change.
    pub fn reconcile(&mut self) -> Result<Option<apply::Report>, ReconcileError> {
        let started = Instant::now();
        let (result, changes) = match self.reconcile_inner() {
            Ok((r, changes)) => (Ok(r), changes),
            Err(e) => (Err(e), Vec::new()),
        };
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

    /// One reconcile pass, logged; true when it finished.
    pub(super) fn reconcile_logged(&mut self) -> bool {
        match self.reconcile() {
            Ok(None) => tracing::debug!("no changes"),
            Ok(Some(r)) => tracing::info!(applied = r.applied, draining = r.draining, "applied"),
            Err(e) => {
                tracing::error!("{e}");
                // A state file damaged while running (the ledger) is moved aside now, so
                // that the next pass can run.
                self.check_state_files();
                return false;
            }
        }
        true
    }

    fn reconcile_inner(&mut self) -> Result<(Option<apply::Report>, Vec<String>), ReconcileError> {
        self.next_resync = Instant::now() + self.opts.resync;
        self.live = None;
        let health = self.health_now(None);
        let desired = model::desired(&self.cluster, &self.node, &health)
            .ok_or_else(|| ReconcileError::NoNode(self.node.clone()))?;
        let live = kernel::snapshot(&mut self.kernel, &desired.sysctl_scope())?;
        let p = plan::plan(&desired, &live);
        if p.is_empty() {
            self.live = Some(live);
            return Ok((None, Vec::new()));
        }
        tracing::info!("{}", p.summary_line());
        let changes = p.changes.iter().map(ToString::to_string).collect();
        let opts = self.apply_options();
        let report = apply::apply(&p, &mut self.kernel, &opts, &mut LogProgress)?;
        // The configuration in force has passed the guard: later passes need not ask.
        self.destroy_approved = true;
        // Read once more, so that the next health transition has a state to plan against.
        self.live = kernel::snapshot(&mut self.kernel, &desired.sysctl_scope()).ok();
        Ok((Some(report), changes))
    }

    /// Refuses `next` when taking it would delete more IPVS services and destinations than
    /// `run` allows, counting only what the configuration in force would not delete too
    /// (its own pending deletions, draining destinations, are not the commit's).
    pub(super) fn destroy_guard(&mut self, next: &Cluster) -> Result<(), super::DaemonError> {
        if self.opts.allow_destroy {
            return Ok(());
        }
        let live = NodeState { services: self.serving(), owned: self.kernel.load()?, ..NodeState::default() };
        let deletes = |c: &Cluster| {
            model::desired(c, &self.node, &Health::all_up())
                .map(|d| apply::destroyed(&plan::plan(&d, &live).changes))
                .unwrap_or_default()
        };
        let count = deletes(next).difference(&deletes(&self.cluster)).count();
        if count > self.opts.max_destroy {
            return Err(DestroyRefused { count, limit: self.opts.max_destroy }.into());
        }
        Ok(())
    }
}

/// Logs each change apply makes.
pub(super) struct LogProgress;

impl Progress for LogProgress {
    fn start(&mut self, _: usize, _: usize, _: &Change) {}
    fn done(&mut self, _: usize, c: &Change, outcome: &Outcome) {
        tracing::info!(change = %c, outcome = ?outcome, "applied");
    }
}
