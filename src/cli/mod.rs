//! The command line: argument parsing (clap), one function per command, and the error type
//! printed once by `main`. Commands turn arguments into values, call the pure core and the
//! kernel layer, and hand results to the views.

mod apply_cmd;
pub mod cache;
pub mod exit;
pub mod facts;
pub mod files;
mod show_cmd;
pub mod view;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use exit::Exit;

use crate::manifest::{self, Problems};
use crate::model::{self, Cluster, Health, NodeState};
use crate::plan;

/// lbconverge: converge Linux LVS nodes (IPVS, VIPs, sysctls, VRRP) to one YAML manifest.
#[derive(Debug, Parser)]
#[command(name = "lbconverge", version, about, long_about = None, disable_help_subcommand = true)]
pub struct Cli {
    /// Where lbconverge keeps its ledger of owned objects on this host.
    #[arg(long, global = true, env = "LBCONVERGE_STATE_DIR", default_value = crate::kernel::linux::ledger::DEFAULT_DIR)]
    pub state_dir: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a manifest: YAML, schema, references and rules. Prints every problem.
    Validate(ValidateArgs),
    /// Show what apply would change on a node, without changing anything.
    Plan(PlanArgs),
    /// Change this host's kernel to match the manifest (or a saved plan).
    Apply(apply_cmd::ApplyArgs),
    /// Print this host's live state: a snapshot `plan --live` reads, JSON, or ipvsadm rules.
    Show(show_cmd::ShowArgs),
    /// The daemon: run this node's VRRP instances and keep its kernel converged.
    Run(RunArgs),
    /// Print the manifest's JSON Schema.
    Schema,
}

/// `run` arguments.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The manifest file; changes to it are picked up within a second (or on SIGHUP).
    pub manifest: PathBuf,
    /// The manifest node this host is. Default: the node whose address this host holds.
    #[arg(long)]
    pub node: Option<String>,
    /// Re-read the kernel and repair drift at least this often.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub resync: std::time::Duration,
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    crate::model::validate::parse::duration(&crate::manifest::types::Duration::Text(s.to_string()))
}

/// `validate` arguments.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The manifest file.
    pub manifest: PathBuf,
}

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Human-readable, terraform style.
    Text,
    /// The plan as JSON (documented in the README; the saved-plan format).
    Json,
}

/// `plan` arguments.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 success (with --detailed-exitcode: no changes), 1 error, 2 changes (with --detailed-exitcode)."
)]
pub struct PlanArgs {
    /// The manifest file.
    pub manifest: PathBuf,
    /// The manifest node to plan for. Default: the node whose address this host (or the
    /// --live snapshot) holds.
    #[arg(long)]
    pub node: Option<String>,
    /// Plan against this live-state snapshot (the YAML `lbconverge show` prints) instead of
    /// this host's kernel. Needs no root and no IPVS.
    #[arg(long, value_name = "SNAPSHOT")]
    pub live: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Also save the plan (JSON, with a fingerprint of the live state) for `apply --plan`.
    #[arg(long, value_name = "PLANFILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when there are changes, 0 when there are none.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// An error that ends a command; printed once by `main`.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The manifest has problems.
    #[error("{0}")]
    Manifest(Problems),
    /// Wrong or missing arguments.
    #[error("{0}")]
    Usage(String),
    /// A snapshot, plan or output file could not be used.
    #[error("{0}")]
    File(String),
    /// The kernel refused or failed.
    #[error("{0}")]
    Kernel(#[from] crate::kernel::KernelError),
    /// apply stopped.
    #[error("{0}")]
    Apply(String),
    /// The daemon stopped with an error.
    #[error("{0}")]
    Daemon(String),
}

/// Parses arguments; usage errors exit 1 (not clap's 2, which means "changes").
pub fn parse_args() -> Result<Cli, Exit> {
    Cli::try_parse().map_err(|e| {
        let _ = e.print();
        if e.use_stderr() { Exit::Error } else { Exit::Ok }
    })
}

/// Runs a command.
pub fn run(cli: Cli) -> Result<Exit, CliError> {
    match cli.command {
        Command::Validate(a) => validate(&a),
        Command::Plan(a) => plan_cmd(&a, &cli.state_dir),
        Command::Apply(a) => apply_cmd::run(&a, &cli.state_dir),
        Command::Show(a) => show_cmd::run(&a, &cli.state_dir),
        Command::Run(a) => {
            let opts = crate::daemon::DaemonOptions {
                manifest: a.manifest,
                node: a.node,
                state_dir: cli.state_dir,
                resync: a.resync,
            };
            crate::daemon::run(opts).map(|()| Exit::Ok).map_err(|e| CliError::Daemon(e.to_string()))
        }
        Command::Schema => {
            print!("{}", manifest::schema::SCHEMA_TEXT);
            Ok(Exit::Ok)
        }
    }
}

/// Loads and validates a manifest, printing warnings to stderr.
pub fn load_cluster(path: &std::path::Path) -> Result<Cluster, CliError> {
    let loaded = manifest::load(path).map_err(CliError::Manifest)?;
    let v = model::validate(&loaded, &facts::HostFacts).map_err(CliError::Manifest)?;
    for w in &v.warnings {
        eprintln!("{w}");
    }
    Ok(v.cluster)
}

fn validate(a: &ValidateArgs) -> Result<Exit, CliError> {
    let c = load_cluster(&a.manifest)?;
    println!(
        "{}: valid ({} nodes, {} VRRP instances, {} services)",
        a.manifest.display(),
        c.nodes.len(),
        c.vrrp.len(),
        c.services.len()
    );
    Ok(Exit::Ok)
}

/// Picks the manifest node: `--node`, else the one whose address the live state holds.
pub fn pick_node(c: &Cluster, asked: Option<&str>, live: &NodeState, source: &str) -> Result<String, CliError> {
    let names = || c.nodes.keys().cloned().collect::<Vec<_>>().join(", ");
    if let Some(n) = asked {
        if c.nodes.contains_key(n) {
            return Ok(n.to_string());
        }
        return Err(CliError::Usage(format!("node `{n}` is not in the manifest (nodes: {})", names())));
    }
    let held: Vec<_> = live.addresses.keys().map(|k| k.address.addr()).collect();
    let found: Vec<&String> =
        c.nodes.values().filter(|n| n.addresses.iter().any(|a| held.contains(&a.addr()))).map(|n| &n.name).collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(CliError::Usage(format!(
            "{source} holds no address of a manifest node; pass --node NAME (one of: {})",
            names()
        ))),
        many => Err(CliError::Usage(format!(
            "{source} holds addresses of several nodes ({}); pass --node NAME",
            many.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Where a plan's live state comes from.
pub struct Live {
    /// The state.
    pub state: NodeState,
    /// How to name it in output.
    pub source: String,
}

/// Node, desired state and plan for a manifest against the live state.
pub fn plan_for(cluster: &Cluster, node: Option<&str>, live: &Live) -> Result<plan::Plan, CliError> {
    let node = pick_node(cluster, node, &live.state, &live.source)?;
    let desired = model::desired(cluster, &node, &Health::all_up())
        .ok_or_else(|| CliError::Usage(format!("node `{node}` is not in the manifest")))?;
    Ok(plan::plan(&desired, &live.state))
}

/// The sysctls to read for a manifest: those of every node it could be (the node is picked
/// after reading the host's addresses).
pub fn cluster_scope(
    cluster: &Cluster,
    node: Option<&str>,
) -> std::collections::BTreeSet<crate::model::sysctl::SysctlKey> {
    let names: Vec<&String> = match node {
        Some(n) => cluster.nodes.keys().filter(|k| k.as_str() == n).collect(),
        None => cluster.nodes.keys().collect(),
    };
    names
        .into_iter()
        .filter_map(|n| model::desired(cluster, n, &Health::all_up()))
        .flat_map(|d| crate::kernel::desired_scope(&d))
        .collect()
}

fn plan_cmd(a: &PlanArgs, state_dir: &std::path::Path) -> Result<Exit, CliError> {
    let (cluster, live) = match &a.live {
        Some(snapshot) => {
            let cluster = load_cluster(&a.manifest)?;
            let state = files::load_snapshot(snapshot)?;
            (cluster, Live { state, source: snapshot.display().to_string() })
        }
        None => {
            let mut k = crate::kernel::linux::LinuxKernel::new(state_dir.to_path_buf());
            manifest_and_kernel(&a.manifest, a.node.as_deref(), &mut k, state_dir)?
        }
    };
    let p = plan_for(&cluster, a.node.as_deref(), &live)?;
    emit_plan(&p, &live.source, a)
}

/// Loads the manifest (through the cache) on one thread while this one reads the kernel;
/// the sysctls, which depend on the manifest, are read last.
pub fn manifest_and_kernel(
    manifest: &std::path::Path,
    node: Option<&str>,
    k: &mut crate::kernel::linux::LinuxKernel,
    state_dir: &std::path::Path,
) -> Result<(Cluster, Live), CliError> {
    let started = std::time::Instant::now();
    let (validated, objects) = std::thread::scope(|s| {
        let m = s.spawn(|| cache::load_validated(manifest, state_dir));
        let objects = crate::kernel::snapshot_objects(k);
        (m.join(), objects)
    });
    let validated = validated.map_err(|_| CliError::Usage("the manifest reader crashed".into()))??;
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "manifest and kernel read");
    for w in &validated.warnings {
        eprintln!("{w}");
    }
    let cluster = validated.cluster;
    let state = crate::kernel::add_sysctls(k, objects?, &cluster_scope(&cluster, node))?;
    Ok((cluster, Live { state, source: "this host's kernel".into() }))
}

fn emit_plan(p: &plan::Plan, source: &str, a: &PlanArgs) -> Result<Exit, CliError> {
    if let Some(out) = &a.out {
        files::write_atomic(out, &view::plan_json(p))?;
    }
    let color =
        a.format == PlanFormat::Text && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let text = match a.format {
        PlanFormat::Text => view::plan_text(p, source, color),
        PlanFormat::Json => view::plan_json(p),
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    Ok(if a.detailed_exitcode && !p.is_empty() { Exit::Changes } else { Exit::Ok })
}
