//! `lbconverge apply`: plan against this host's kernel (or load a saved plan and check it is
//! not stale), show it, ask for confirmation on a terminal, execute it and report each change.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::{CliError, Exit, files, plan_for, view};
use crate::apply::{self, Options, Outcome, Progress};
use crate::kernel::linux::LinuxKernel;
use crate::plan::{self, Change, Plan};

/// `apply` arguments.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 success (also when nothing had to change), 1 error (a failed change is named; run apply again to finish)."
)]
pub struct ApplyArgs {
    /// The manifest file (not with --plan).
    #[arg(required_unless_present = "plan", conflicts_with = "plan")]
    pub manifest: Option<PathBuf>,
    /// The manifest node this host is. Default: the node whose address this host holds.
    #[arg(long)]
    pub node: Option<String>,
    /// Apply a plan saved by `plan --out`; refused if this host changed since.
    #[arg(long, value_name = "PLANFILE")]
    pub plan: Option<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Wait up to this long (e.g. 30s, 5m) for draining destinations to go idle, then delete
    /// them anyway. Without it, busy ones are left at weight 0 for the next apply.
    #[arg(long, value_name = "DURATION", value_parser = super::parse_duration)]
    pub drain_timeout: Option<Duration>,
    /// Allow deleting more IPVS services and destinations than --max-destroy.
    #[arg(long)]
    pub allow_destroy: bool,
    /// The blast-radius limit: most services + destinations one apply may delete.
    #[arg(long, default_value_t = 10)]
    pub max_destroy: usize,
    /// Print only the summary, not each change.
    #[arg(long, short)]
    pub quiet: bool,
    /// Refuse a manifest that is not exactly a file of the checked-out git commit (with
    /// --plan: a plan whose manifest was not).
    #[arg(long)]
    pub require_committed: bool,
}

/// Runs `apply`.
pub fn run(a: &ApplyArgs, state_dir: &Path) -> Result<Exit, CliError> {
    let mut k = LinuxKernel::new(state_dir.to_path_buf());
    let (p, source) = match &a.plan {
        Some(file) => (saved_plan(file, &mut k, a.require_committed)?, file.display().to_string()),
        None => fresh_plan(a, &mut k, state_dir)?,
    };
    if a.quiet {
        println!("{}", p.summary_line());
    } else {
        print!("{}", view::plan_text(&p, &source, color()));
    }
    if p.is_empty() {
        return record_ownership(&p, &mut k);
    }
    confirm(a.auto_approve)?;
    execute(&p, &mut k, a)
}

fn color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn fresh_plan(a: &ApplyArgs, k: &mut LinuxKernel, state_dir: &Path) -> Result<(Plan, String), CliError> {
    let manifest = a.manifest.as_deref().ok_or_else(|| CliError::Usage("give a MANIFEST or --plan FILE".into()))?;
    crate::load::remove_old_cache(state_dir);
    let loader = crate::load::Loader::new().require_committed(a.require_committed);
    let inputs = super::manifest_and_kernel(&loader, manifest, a.node.as_deref(), k, state_dir)?;
    Ok((plan_for(manifest, &inputs, a.node.as_deref())?, inputs.live.source))
}

/// A saved plan, checked before anything is touched: it is for this host, this host has
/// not changed since, it fits the live state, and it is exactly what the manifest it
/// carries gives on this host.
fn saved_plan(file: &Path, k: &mut LinuxKernel, require_committed: bool) -> Result<Plan, CliError> {
    let p = files::load_plan(file)?;
    let refused = |why: Vec<String>| files::FileError::PlanRefused { path: file.to_path_buf(), why };
    let live = crate::kernel::snapshot(k, &p.sysctl_scope())?;
    if let Some(why) = plan::verify::other_host(&p, &live) {
        return Err(refused(vec![why]).into());
    }
    let now = plan::fingerprint(&live, &p.sysctl_scope());
    if now != p.live_fingerprint {
        let (path, then) = (file.to_path_buf(), p.live_fingerprint);
        return Err(files::FileError::StalePlan { path, then, now }.into());
    }
    let why = plan::verify::verify(&p, &live);
    if !why.is_empty() {
        return Err(refused(why).into());
    }
    remade(&p, &live, require_committed).map_err(|why| refused(vec![why]))?;
    println!("Plan {} from manifest {}", file.display(), p.revision());
    Ok(p)
}

/// Plans the manifest `p` carries again against `live` (the state it was pinned to) with
/// the drains it lists: any difference from `p` refuses it, so a plan file can only do what
/// some manifest would do.
fn remade(p: &Plan, live: &crate::model::NodeState, require_committed: bool) -> Result<(), String> {
    let Some(m) = &p.manifest else {
        return Err("it carries no manifest to check it against (made by an earlier lbconverge); make it again with `lbconverge plan MANIFEST --out FILE`".into());
    };
    if crate::manifest::revision::sha256(m.text.as_bytes()) != p.manifest_sha256 {
        return Err("the manifest it carries is not the one whose SHA-256 it names".into());
    }
    if require_committed && !p.revision().committed() {
        return Err(format!(
            "its manifest was not a committed file ({}); --require-committed applies only committed manifests",
            p.revision()
        ));
    }
    let path = Path::new(&m.path);
    let cluster = crate::load::Loader::validate(path, m.text.as_bytes())
        .map_err(|e| format!("the manifest it carries does not validate: {e}"))?
        .cluster;
    crate::load::preflight(path, &cluster, &p.node, live, true).map_err(|e| e.to_string())?;
    let drained = p.drained.iter().map(|d| (d.service.clone(), d.backend.clone())).collect();
    let health = crate::model::Health { drained, ..crate::model::Health::all_up() };
    let desired = crate::model::desired(&cluster, &p.node, &health)
        .ok_or_else(|| format!("the manifest it carries has no node `{}`", p.node))?;
    let again = plan::plan(&desired, live);
    let addresses = cluster.nodes.get(&p.node).map(|n| n.addresses.clone()).unwrap_or_default();
    plan::verify::same_as(p, &again, &addresses)
}

/// With no kernel change to make, apply still records what lbconverge owns.
fn record_ownership(p: &Plan, k: &mut LinuxKernel) -> Result<Exit, CliError> {
    use crate::kernel::LedgerStore;
    if k.load()? != p.ledger {
        k.store(&p.ledger)?;
    }
    Ok(Exit::Ok)
}

fn confirm(auto: bool) -> Result<(), CliError> {
    if auto {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage("apply needs confirmation: run it on a terminal, or pass --auto-approve".into()));
    }
    print!("\nApply these changes? Only 'yes' is accepted: ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if answer.trim() == "yes" { Ok(()) } else { Err(CliError::Usage("apply cancelled; nothing was changed".into())) }
}

fn execute(p: &Plan, k: &mut LinuxKernel, a: &ApplyArgs) -> Result<Exit, CliError> {
    let opts = Options {
        drain_timeout: a.drain_timeout,
        allow_destroy: a.allow_destroy,
        max_destroy: a.max_destroy,
        ..Options::default()
    };
    println!("\nApplying {} changes to node {}:", p.changes.len(), p.node);
    let mut progress = Printer { quiet: a.quiet, color: color() };
    let started = std::time::Instant::now();
    match apply::apply(p, k, &opts, &mut progress) {
        Ok(r) => {
            tracing::debug!(ms = started.elapsed().as_millis(), "applied");
            let mut writes = format!("{} netlink and {} sysctl writes", k.netlink_writes, k.sysctl_writes);
            if k.nft_writes > 0 {
                writes +=
                    &format!(", {} nftables transaction{}", k.nft_writes, if k.nft_writes == 1 { "" } else { "s" });
            }
            match r.draining {
                0 => println!("\nApply complete: {} changes ({writes}).", r.applied),
                n => println!(
                    "\nApply complete: {} changes ({writes}), {n} still draining (run apply again, or use --drain-timeout).",
                    r.applied
                ),
            }
            Ok(Exit::Ok)
        }
        Err(e) => Err(e.into()),
    }
}

/// Prints each change as it completes.
struct Printer {
    quiet: bool,
    color: bool,
}

impl Progress for Printer {
    fn start(&mut self, _: usize, _: usize, _: &Change) {}
    fn done(&mut self, _: usize, c: &Change, outcome: &Outcome) {
        if self.quiet {
            return;
        }
        let sym = view::symbol(c.action(), self.color);
        match outcome {
            Outcome::Done => println!("  {sym} {}: done", c),
            Outcome::Draining { connections } => {
                println!(
                    "  {sym} {}: left draining at weight 0 ({})",
                    c.object_text(),
                    crate::plan::text::connections(*connections)
                )
            }
        }
    }
}
