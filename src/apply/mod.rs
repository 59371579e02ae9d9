//! Executes a plan against a kernel, in order, and reports each change. The only writer of
//! kernel state. Stops at the first failure and names it; running apply again finishes the
//! job because the next plan starts from whatever was applied. Destinations are drained
//! (weight 0) before deletion and deleted once idle, or when the drain timeout passes.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::kernel::{IpvsOp, KResult, Kernel, KernelError};
use crate::model::Ledger;
use crate::model::ipvs::{Dest, DestKey, Protocol, Service, ServiceKey};
use crate::model::sync::{SyncConfig, SyncState};
use crate::plan::{Change, Plan};

/// How apply behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Wait at most this long for draining destinations to go idle, then delete them anyway;
    /// `None`: do not wait, leave busy ones draining for the next apply.
    pub drain_timeout: Option<Duration>,
    /// How often to re-read connection counters while waiting.
    pub poll: Duration,
    /// Allow deleting more than `max_destroy` services and destinations.
    pub allow_destroy: bool,
    /// The blast-radius limit.
    pub max_destroy: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { drain_timeout: None, poll: Duration::from_millis(500), allow_destroy: false, max_destroy: 10 }
    }
}

/// What happened to one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Done,
    /// Weight set to 0; still has connections, so it was not deleted yet.
    Draining {
        /// Active + inactive connections left.
        connections: u64,
    },
}

/// Receives progress, to print it.
pub trait Progress {
    /// A change is about to run.
    fn start(&mut self, index: usize, total: usize, change: &Change);
    /// A change finished.
    fn done(&mut self, index: usize, change: &Change, outcome: &Outcome);
}

/// Progress that goes nowhere.
pub struct Silent;

impl Progress for Silent {
    fn start(&mut self, _: usize, _: usize, _: &Change) {}
    fn done(&mut self, _: usize, _: &Change, _: &Outcome) {}
}

/// What an apply did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Changes carried out.
    pub applied: usize,
    /// Objects left draining (still have connections).
    pub draining: usize,
}

/// Why an apply stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Too many deletions for the blast-radius guard.
    #[error(
        "this apply would delete {count} IPVS services and destinations, more than the limit of {limit}\n  hint: check the plan; if it is right, pass --allow-destroy (or raise --max-destroy)"
    )]
    BlastRadius {
        /// Deletions planned.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A change failed.
    #[error("change {index} of {total} failed ({applied} applied before it): {source}")]
    Change {
        /// 1-based index of the failed change.
        index: usize,
        /// Number of changes in the plan.
        total: usize,
        /// Changes applied before it.
        applied: usize,
        /// The kernel's error.
        #[source]
        source: KernelError,
    },
    /// The ledger could not be written.
    #[error("record ownership: {0}")]
    Ledger(#[source] KernelError),
}

/// The services and destinations `changes` delete, as (service, destination) with `None`
/// for the service itself; a backend that failed its check is not a deletion the guard is
/// for.
pub fn destroyed(changes: &[Change]) -> BTreeSet<(ServiceKey, Option<DestKey>)> {
    let mut out = BTreeSet::new();
    for c in changes {
        match c {
            Change::DelService { service } => {
                out.insert((service.key, None));
                out.extend(service.dests.keys().map(|d| (service.key, Some(*d))));
            }
            Change::DelDest { service, dest, failed: false } => {
                out.insert((*service, Some(dest.key())));
            }
            _ => {}
        }
    }
    out
}

/// Number of services and destinations a plan deletes (the blast-radius guard's count).
pub fn destroy_count(plan: &Plan) -> usize {
    destroyed(&plan.changes).len()
}

/// Refuses more deletions than the options allow.
fn guard(changes: &[Change], opts: &Options) -> Result<(), ApplyError> {
    let count = destroyed(changes).len();
    if count > opts.max_destroy && !opts.allow_destroy {
        return Err(ApplyError::BlastRadius { count, limit: opts.max_destroy });
    }
    Ok(())
}

/// Applies `plan` to `k`, keeping the ownership ledger: everything owned before or after
/// while it runs, the plan's ledger once it is done.
pub fn apply(
    plan: &Plan,
    k: &mut dyn Kernel,
    opts: &Options,
    progress: &mut dyn Progress,
) -> Result<Report, ApplyError> {
    guard(&plan.changes, opts)?;
    let before = k.load().map_err(ApplyError::Ledger)?;
    k.store(&union(&before, &plan.ledger)).map_err(ApplyError::Ledger)?;
    let mut final_ledger = plan.ledger.clone();
    let report = run(&plan.changes, k, opts, progress, &mut final_ledger)?;
    k.store(&final_ledger).map_err(ApplyError::Ledger)?;
    Ok(report)
}

/// Applies destination changes of services lbconverge owns already (a health transition,
/// a drain): no service is made or deleted, so the ledger stays as it is.
pub fn apply_dests(
    changes: &[Change],
    k: &mut dyn Kernel,
    opts: &Options,
    progress: &mut dyn Progress,
) -> Result<Report, ApplyError> {
    guard(changes, opts)?;
    let mut unused = Ledger::default();
    run(changes, k, opts, progress, &mut unused)
}

/// Carries out `changes` in order: runs of plain IPVS writes pipelined, the rest one by
/// one; a service left draining stays in `ledger`.
fn run(
    changes: &[Change],
    k: &mut dyn Kernel,
    opts: &Options,
    progress: &mut dyn Progress,
    ledger: &mut Ledger,
) -> Result<Report, ApplyError> {
    let total = changes.len();
    let mut report = Report::default();
    let mut i = 0;
    while i < total {
        let run = ipvs_run(&changes[i..]);
        let done = if run > 0 {
            batch(k, &changes[i..i + run], i, total, &mut report, progress)?
        } else {
            single(k, &changes[i], i, total, opts, &mut report, progress, ledger)?
        };
        i += done;
    }
    Ok(report)
}

/// The IPVS write a change is, when it needs no draining.
fn ipvs_op(c: &Change) -> Option<IpvsOp> {
    match c {
        Change::AddService { service } => Some(IpvsOp::AddService(service.clone())),
        Change::EditService { to, .. } => Some(IpvsOp::EditService(to.clone())),
        Change::AddDest { service, dest } => Some(IpvsOp::AddDest(*service, dest.clone())),
        Change::EditDest { service, to, .. } => Some(IpvsOp::EditDest(*service, to.clone())),
        _ => None,
    }
}

/// How many changes from the start are plain IPVS writes (sent together, pipelined).
fn ipvs_run(changes: &[Change]) -> usize {
    changes.iter().take_while(|c| ipvs_op(c).is_some()).count()
}

fn batch(
    k: &mut dyn Kernel,
    run: &[Change],
    offset: usize,
    total: usize,
    report: &mut Report,
    progress: &mut dyn Progress,
) -> Result<usize, ApplyError> {
    let ops: Vec<IpvsOp> = run.iter().filter_map(ipvs_op).collect();
    for (j, c) in run.iter().enumerate() {
        progress.start(offset + j + 1, total, c);
    }
    let fail = |index: usize, applied: usize, source| ApplyError::Change { index, total, applied, source };
    let results = k.batch(&ops).map_err(|e| fail(offset + 1, report.applied, e))?;
    for (j, r) in results.into_iter().enumerate() {
        r.map_err(|e| fail(offset + j + 1, report.applied, e))?;
        progress.done(offset + j + 1, &run[j], &Outcome::Done);
        report.applied += 1;
    }
    Ok(run.len())
}

#[allow(clippy::too_many_arguments)]
fn single(
    k: &mut dyn Kernel,
    change: &Change,
    i: usize,
    total: usize,
    opts: &Options,
    report: &mut Report,
    progress: &mut dyn Progress,
    ledger: &mut Ledger,
) -> Result<usize, ApplyError> {
    progress.start(i + 1, total, change);
    let outcome = execute(k, change, opts).map_err(|source| ApplyError::Change {
        index: i + 1,
        total,
        applied: report.applied,
        source,
    })?;
    if let (Outcome::Draining { .. }, Change::DelService { service }) = (&outcome, change) {
        ledger.services.insert(service.key);
    }
    if matches!(outcome, Outcome::Draining { .. }) {
        report.draining += 1;
    }
    progress.done(i + 1, change, &outcome);
    report.applied += 1;
    Ok(1)
}

/// Everything owned before or after: kept while an apply runs, so an interrupted apply
/// never forgets an object it may have created or not yet deleted.
fn union(a: &Ledger, b: &Ledger) -> Ledger {
    let mut u = b.clone();
    u.services.extend(a.services.iter().copied());
    u.addresses.extend(a.addresses.iter().cloned());
    for (k, v) in &a.routes {
        u.routes.insert(*k, v.clone());
    }
    for (k, v) in &a.sysctls {
        u.sysctls.insert(k.clone(), v.clone());
    }
    u.sync_daemons.extend(a.sync_daemons.iter().copied());
    u.announced.extend(a.announced.iter().copied());
    u.firewall |= a.firewall;
    u.ipvs_timeouts = u.ipvs_timeouts.or(a.ipvs_timeouts);
    u
}

fn execute(k: &mut dyn Kernel, c: &Change, opts: &Options) -> KResult<Outcome> {
    match c {
        Change::SetSysctl { key, to, .. } => k.write(key, to),
        Change::LinkUp { interface, .. } => k.link_up(interface),
        Change::AddAddress { address } => k.add_address(address),
        Change::ReplaceAddress { from, to } => k.del_address(from).and_then(|()| k.add_address(to)),
        Change::DelAddress { address } => k.del_address(address),
        Change::SetRoute { route, .. } => k.set_route(route),
        Change::DelRoute { route } => k.del_route(route),
        Change::AddService { service } => k.add_service(service),
        Change::EditService { to, .. } => k.edit_service(to),
        Change::AddDest { service, dest } => k.add_dest(service, dest),
        Change::EditDest { service, to, .. } => k.edit_dest(service, to),
        Change::DelDest { service, dest, failed: true } => k.del_dest(service, &dest.key()),
        Change::DelDest { service, dest, failed: false } => return del_dest(k, service, dest, opts),
        Change::DelService { service } => return del_service(k, service, opts),
        Change::SetSyncDaemon { state, to, .. } => restart_sync_daemon(k, *state, to),
        Change::StopSyncDaemon { state, .. } => k.stop_sync_daemon(*state),
        Change::Announce { route } => k.announce(route),
        Change::Withdraw { route } => k.withdraw(route),
        Change::SetFirewall { to, .. } => k.set_firewall(to),
        Change::DelFirewall { .. } => k.del_firewall(),
        Change::SetIpvsTimeouts { to, .. } => k.set_timeouts(to),
    }
    .map(|()| Outcome::Done)
}

/// Stops the daemon of `state` (gone already is fine: its instance may have switched it)
/// and starts it with `config`.
fn restart_sync_daemon(k: &mut dyn Kernel, state: SyncState, config: &SyncConfig) -> KResult<()> {
    match k.stop_sync_daemon(state) {
        Err(e) if !e.is(libc::ESRCH) => return Err(e),
        _ => {}
    }
    k.start_sync_daemon(state, config)
}

fn quiesce(k: &mut dyn Kernel, svc: &ServiceKey, d: &Dest) -> KResult<()> {
    if d.weight == 0 {
        return Ok(());
    }
    k.edit_dest(svc, &Dest { weight: 0, stats: None, ..d.clone() })
}

/// UDP has no connection end to wait for; its entries only time out, so it is not drained.
fn drains(svc: &ServiceKey) -> bool {
    !matches!(svc, ServiceKey::Addr { protocol: Protocol::Udp, .. })
}

fn del_dest(k: &mut dyn Kernel, svc: &ServiceKey, d: &Dest, opts: &Options) -> KResult<Outcome> {
    quiesce(k, svc, d)?;
    let busy = if drains(svc) { wait_idle(k, svc, &[d.key()], opts)? } else { 0 };
    if busy > 0 {
        return Ok(Outcome::Draining { connections: busy });
    }
    k.del_dest(svc, &d.key()).map(|()| Outcome::Done)
}

fn del_service(k: &mut dyn Kernel, s: &Service, opts: &Options) -> KResult<Outcome> {
    for d in s.dests.values() {
        quiesce(k, &s.key, d)?;
    }
    let keys: Vec<DestKey> = s.dests.keys().copied().collect();
    let busy = if drains(&s.key) && !keys.is_empty() { wait_idle(k, &s.key, &keys, opts)? } else { 0 };
    if busy > 0 {
        return Ok(Outcome::Draining { connections: busy });
    }
    k.del_service(&s.key).map(|()| Outcome::Done)
}

/// Polls until the destinations have no connections; returns the connections left (0 when
/// idle, or when the drain timeout passed and they may be deleted anyway).
fn wait_idle(k: &mut dyn Kernel, svc: &ServiceKey, keys: &[DestKey], opts: &Options) -> KResult<u64> {
    let deadline = opts.drain_timeout.map(|t| Instant::now() + t);
    loop {
        let busy: u64 = k.dests(svc)?.iter().filter(|d| keys.contains(&d.key())).map(Dest::connections).sum();
        match deadline {
            _ if busy == 0 => return Ok(0),
            None => return Ok(busy),
            Some(t) if Instant::now() >= t => return Ok(0),
            Some(_) => std::thread::sleep(opts.poll),
        }
    }
}
