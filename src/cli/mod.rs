//! The command line: argument parsing (clap), one function per command, and the error type
//! printed once by `main`. Commands turn arguments into values, call the pure core and the
//! kernel layer, and hand results to the views.

mod apply_cmd;
mod check_cmd;
pub mod exit;
pub mod files;
pub mod import_cmd;
mod routing;
mod show_cmd;
pub mod view;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use exit::Exit;

use crate::apply::ApplyError;
use crate::daemon::control::DrainRequest;
use crate::load::{self, LoadError, Loader};
use crate::manifest;
use crate::manifest::revision::Revision;
use crate::model::{self, Cluster, Health, NodeState, Validated};
use crate::plan;

/// lbconverge: converge Linux LVS nodes (IPVS, VIPs, sysctls, VRRP) to one YAML manifest.
#[derive(Debug, Parser)]
#[command(name = "lbconverge", version, about, long_about = None, disable_help_subcommand = true)]
pub struct Cli {
    /// Where lbconverge keeps its ledger of owned objects on this host.
    #[arg(long, global = true, env = "LBCONVERGE_STATE_DIR", default_value = crate::kernel::linux::ledger::DEFAULT_DIR)]
    pub state_dir: PathBuf,
    /// Log lines on stderr: `text`, or `json` (one object per line); each names its subsystem.
    /// The level is set by LBCONVERGE_LOG (default: info).
    #[arg(long, global = true, value_enum, env = "LBCONVERGE_LOG_FORMAT", default_value_t = crate::logging::Format::Text)]
    pub log_format: crate::logging::Format,
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
    /// Run every health check of this node once, now, and print the results.
    Check(check_cmd::CheckArgs),
    /// The daemon: run this node's VRRP instances and health checks, and keep its kernel
    /// converged.
    Run(RunArgs),
    /// Print the manifest's JSON Schema.
    Schema,
    /// Ask the running daemon what it is doing: VRRP, backends, the manifest in force.
    Status(StatusArgs),
    /// Drain a backend without editing the manifest: the running daemon sets its weight to
    /// 0 (its connections finish, no new ones) until `undrain` or the end of --for. Kept
    /// across daemon restarts; `plan` and `apply` show and keep it.
    Drain(DrainArgs),
    /// End a drain: the backend gets its weight back.
    Undrain(UndrainArgs),
    /// Turn another tool's configuration into a manifest: `import keepalived FILE...`.
    Import(import_cmd::ImportArgs),
}

/// `drain` arguments.
#[derive(Debug, Args)]
pub struct DrainArgs {
    /// The service's name in the manifest.
    pub service: String,
    /// The backend's name in the service.
    pub backend: String,
    /// End the drain by itself after this long (e.g. 30m, 1h); default: until undrained.
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    pub for_: Option<std::time::Duration>,
    /// Why, shown by `status` and `plan`.
    #[arg(long, default_value = "")]
    pub reason: String,
    /// The daemon's control socket.
    #[arg(long, env = "LBCONVERGE_CONTROL", default_value = crate::daemon::control::DEFAULT_SOCKET)]
    pub control: PathBuf,
}

/// `undrain` arguments.
#[derive(Debug, Args)]
pub struct UndrainArgs {
    /// The service's name in the manifest.
    pub service: String,
    /// The backend's name in the service.
    pub backend: String,
    /// The daemon's control socket.
    #[arg(long, env = "LBCONVERGE_CONTROL", default_value = crate::daemon::control::DEFAULT_SOCKET)]
    pub control: PathBuf,
}

/// `status` arguments.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatusFormat::Text)]
    pub format: StatusFormat,
    /// The daemon's control socket.
    #[arg(long, env = "LBCONVERGE_CONTROL", default_value = crate::daemon::control::DEFAULT_SOCKET)]
    pub control: PathBuf,
}

/// `status --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFormat {
    /// For people.
    Text,
    /// For programs.
    Json,
}

/// `run` arguments.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The manifest file; changes to it are picked up within a second (or on SIGHUP).
    pub manifest: PathBuf,
    /// The manifest node this host is. Default: the node whose address this host holds.
    #[arg(long)]
    pub node: Option<String>,
    /// Re-read the kernel and repair drift at least this often (at least 1s).
    #[arg(long, default_value = "30s", value_parser = parse_resync)]
    pub resync: std::time::Duration,
    /// The control socket `lbconverge status` asks on (mode 0600; `none`: no socket).
    #[arg(long, env = "LBCONVERGE_CONTROL", default_value = crate::daemon::control::DEFAULT_SOCKET)]
    pub control: PathBuf,
    /// Serve Prometheus metrics on this address (e.g. 127.0.0.1:9469); off unless given.
    #[arg(long)]
    pub metrics: Option<std::net::SocketAddr>,
    /// A file whose first line is `user:password`: metrics need HTTP basic authentication
    /// (required for a non-loopback --metrics).
    #[arg(long)]
    pub metrics_password_file: Option<PathBuf>,
    /// Apply only manifests that are exactly a file of the checked-out git commit; others
    /// are rejected like invalid ones (the running configuration stays).
    #[arg(long)]
    pub require_committed: bool,
    /// Take commits that delete more IPVS services and destinations than --max-destroy.
    #[arg(long, env = "LBCONVERGE_ALLOW_DESTROY")]
    pub allow_destroy: bool,
    /// A commit that would delete more IPVS services and destinations than this is refused
    /// whole (the running configuration stays, `status` says why).
    #[arg(long, env = "LBCONVERGE_MAX_DESTROY", default_value_t = 10)]
    pub max_destroy: usize,
    /// Lock the daemon's memory so that VRRP never waits for a page (like keepalived's
    /// vrrp_no_swap; needs CAP_IPC_LOCK or a high enough RLIMIT_MEMLOCK).
    #[arg(long, env = "LBCONVERGE_LOCK_MEMORY")]
    pub lock_memory: bool,
    /// Run the VRRP threads SCHED_RR at this priority, 1-99 (like keepalived's
    /// vrrp_rt_priority; needs CAP_SYS_NICE).
    #[arg(long, env = "LBCONVERGE_REALTIME", value_name = "PRIORITY", value_parser = clap::value_parser!(u8).range(1..=99))]
    pub realtime: Option<u8>,
    /// Threads that run the health checks' probes, 1-1024 (default: one per core); they
    /// run a little nicer than the VRRP threads.
    #[arg(long, env = "LBCONVERGE_HEALTH_THREADS", value_name = "N", value_parser = parse_health_threads)]
    pub health_threads: Option<std::num::NonZeroUsize>,
}

/// `--health-threads`: 1 to 1024.
fn parse_health_threads(s: &str) -> Result<std::num::NonZeroUsize, String> {
    s.parse::<std::num::NonZeroUsize>()
        .ok()
        .filter(|n| n.get() <= 1024)
        .ok_or_else(|| format!("`{s}` is not a number of threads from 1 to 1024"))
}

/// A duration argument in the manifest's notation (`500ms`, `30s`, `5m`, `1h`).
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    crate::model::validate::parse::duration(&crate::manifest::types::Duration::Text(s.to_string()))
}

/// `--resync`: a duration of at least [`crate::daemon::MIN_RESYNC`] (a shorter one would
/// only re-read the kernel in a busy loop).
fn parse_resync(s: &str) -> Result<std::time::Duration, String> {
    let d = parse_duration(s)?;
    let min = crate::daemon::MIN_RESYNC;
    if d < min {
        return Err(format!(
            "{s} is too short: the daemon re-reads the whole kernel state each time; use at least {}s",
            min.as_secs()
        ));
    }
    Ok(d)
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
    /// Refuse a manifest that is not exactly a file of the checked-out git commit.
    #[arg(long)]
    pub require_committed: bool,
}

/// An error that ends a command; printed once by `main`.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The manifest, or which node this host is, is unusable.
    #[error("{0}")]
    Load(#[from] LoadError),
    /// Wrong or missing arguments, or a refused confirmation.
    #[error("{0}")]
    Usage(String),
    /// A snapshot, plan or output file could not be used.
    #[error("{0}")]
    File(#[from] files::FileError),
    /// The kernel refused or failed.
    #[error("{0}")]
    Kernel(#[from] crate::kernel::KernelError),
    /// apply stopped.
    #[error("{err}{hint}", err = .0, hint = resume_hint(.0))]
    Apply(#[from] ApplyError),
    /// The daemon stopped with an error.
    #[error("{0}")]
    Daemon(#[from] crate::daemon::DaemonError),
    /// `status` got no answer.
    #[error("{0}")]
    Status(#[from] crate::daemon::control::AskError),
}

/// After a failed change, what to do next.
fn resume_hint(e: &ApplyError) -> &'static str {
    match e {
        ApplyError::Change { .. } => "\n  run apply again to finish; the next plan starts from what was applied",
        _ => "",
    }
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
        Command::Check(a) => check_cmd::run(&a, &cli.state_dir),
        Command::Run(a) => {
            let opts = crate::daemon::DaemonOptions {
                manifest: a.manifest,
                node: a.node,
                state_dir: cli.state_dir,
                resync: a.resync,
                control: Some(a.control).filter(|c| c.as_os_str() != "none"),
                metrics: a.metrics,
                metrics_credentials: a.metrics_password_file.as_deref().map(read_credentials).transpose()?,
                require_committed: a.require_committed,
                allow_destroy: a.allow_destroy,
                max_destroy: a.max_destroy,
                lock_memory: a.lock_memory,
                realtime: a.realtime,
                health_threads: a.health_threads,
            };
            crate::daemon::run(opts)?;
            Ok(Exit::Ok)
        }
        Command::Status(a) => {
            let s = crate::daemon::control::ask(&a.control)?;
            match a.format {
                StatusFormat::Text => print!("{}", crate::daemon::status::text(&s)),
                StatusFormat::Json => println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default()),
            }
            Ok(Exit::Ok)
        }
        Command::Drain(a) => {
            let for_secs = a.for_.map(|d| d.as_secs().max(1));
            let req = DrainRequest { service: a.service, backend: a.backend, drain: true, for_secs, reason: a.reason };
            println!("{}", crate::daemon::control::ask_drain(&a.control, &req)?);
            Ok(Exit::Ok)
        }
        Command::Undrain(a) => {
            let req = DrainRequest {
                service: a.service,
                backend: a.backend,
                drain: false,
                for_secs: None,
                reason: String::new(),
            };
            println!("{}", crate::daemon::control::ask_drain(&a.control, &req)?);
            Ok(Exit::Ok)
        }
        Command::Import(a) => import_cmd::run(&a),
        Command::Schema => {
            print!("{}", manifest::schema::SCHEMA_TEXT);
            Ok(Exit::Ok)
        }
    }
}

/// The `user:password` first line of a metrics password file (a secret file read through
/// [`crate::files`]: regular, at most 4 KiB, opened without blocking; not readable by others).
fn read_credentials(path: &std::path::Path) -> Result<String, CliError> {
    let bad = |why: String| CliError::Usage(format!("--metrics-password-file {}: {why}", path.display()));
    let line = crate::files::first_line(path, crate::files::Kind::Secret).map_err(|e| bad(e.why.to_string()))?;
    let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
    if std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o077 != 0 {
        return Err(bad(format!("readable by others; chmod 600 {}", path.display())));
    }
    match line.split_once(':') {
        Some((u, p)) if !u.is_empty() && !p.is_empty() => Ok(line),
        _ => Err(bad("the first line must be user:password".into())),
    }
}

/// Loads and validates a manifest, printing warnings to stderr.
fn load_warned(path: &std::path::Path, require_committed: bool) -> Result<(Cluster, Revision, Vec<u8>), CliError> {
    let m = Loader::new().require_committed(require_committed).load(path)?;
    Ok((warned(m.validated), m.revision, m.bytes))
}

/// Prints the warnings of a validated manifest to stderr.
fn warned(v: Validated) -> Cluster {
    for w in &v.warnings {
        eprintln!("{w}");
    }
    v.cluster
}

fn validate(a: &ValidateArgs) -> Result<Exit, CliError> {
    let (c, _, _) = load_warned(&a.manifest, false)?;
    println!(
        "{}: valid ({} nodes, {} VRRP instances, {} services)",
        a.manifest.display(),
        c.nodes.len(),
        c.vrrp.len(),
        c.services.len()
    );
    Ok(Exit::Ok)
}

/// A manifest read, and the live state to plan it against.
pub struct Inputs {
    /// The validated cluster.
    pub cluster: Cluster,
    /// The revision of the manifest read.
    pub revision: Revision,
    /// The manifest's bytes.
    pub bytes: Vec<u8>,
    /// The live state.
    pub live: Live,
    /// Backends drained on this host (none for a snapshot).
    pub drains: crate::model::drain::Drains,
}

/// Where a plan's live state comes from.
pub struct Live {
    /// The state.
    pub state: NodeState,
    /// How to name it in output.
    pub source: String,
    /// It is this host's kernel (not a snapshot): the host itself is checked too.
    pub on_host: bool,
}

/// Node, desired state and plan for the manifest at `path` against the live state, after
/// checking that the host can carry the node (nothing is planned for a host that cannot).
pub fn plan_for(path: &std::path::Path, inputs: &Inputs, node: Option<&str>) -> Result<plan::Plan, CliError> {
    let (cluster, live) = (&inputs.cluster, &inputs.live);
    let node = load::pick_node(cluster, node, &live.state, &live.source)?;
    load::preflight(path, cluster, &node, &live.state, live.on_host)?;
    let now = crate::utc::unix_now();
    let mut drains = inputs.drains.clone();
    drains.forget_unknown(cluster);
    drains.expire(now);
    let health = Health { drained: drains.active(now), ..Health::all_up() };
    let desired = model::desired(cluster, &node, &health).ok_or_else(|| load::unknown_node(cluster, &node))?;
    let mut p = plan::plan(&desired, &live.state);
    let addresses = cluster.nodes.get(&node).map(|n| n.addresses.clone()).unwrap_or_default();
    p.stamp(addresses, &inputs.revision, drains.drains);
    Ok(p)
}

fn plan_cmd(a: &PlanArgs, state_dir: &std::path::Path) -> Result<Exit, CliError> {
    let inputs = match &a.live {
        Some(snapshot) => {
            let (cluster, revision, bytes) = load_warned(&a.manifest, a.require_committed)?;
            let state = files::load_snapshot(snapshot)?;
            let live = Live { state, source: snapshot.display().to_string(), on_host: false };
            Inputs { cluster, revision, bytes, live, drains: crate::model::drain::Drains::default() }
        }
        None => {
            let mut k = crate::kernel::linux::LinuxKernel::new(state_dir.to_path_buf());
            crate::load::remove_old_cache(state_dir);
            let loader = Loader::new().require_committed(a.require_committed);
            manifest_and_kernel(&loader, &a.manifest, a.node.as_deref(), &mut k, state_dir)?
        }
    };
    let mut p = plan_for(&a.manifest, &inputs, a.node.as_deref())?;
    if a.out.is_some() {
        p.manifest = Some(carried(&a.manifest, &inputs.bytes)?);
    }
    if a.out.is_some() || a.format == PlanFormat::Json {
        p.pin_live(&inputs.live.state);
        p.seal();
    }
    emit_plan(&p, &inputs.live.source, a)
}

/// The manifest a saved plan carries: its absolute path and its text.
fn carried(path: &std::path::Path, bytes: &[u8]) -> Result<plan::Carried, CliError> {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|_| CliError::Usage(format!("{}: the manifest is not UTF-8", path.display())))?;
    Ok(plan::Carried { path: abs.display().to_string(), text })
}

/// Loads the manifest (with `loader`) while reading this host's kernel (the node's network
/// namespace's, when `--node` names a node that has one).
pub fn manifest_and_kernel(
    loader: &Loader,
    manifest: &std::path::Path,
    node: Option<&str>,
    k: &mut crate::kernel::linux::LinuxKernel,
    state_dir: &std::path::Path,
) -> Result<Inputs, CliError> {
    load::enter_namespace(loader, manifest, node)?;
    let (m, state) = load::with_live(loader, manifest, node, k)?;
    let live = Live { state, source: "this host's kernel".into(), on_host: true };
    let drains = load::drains::read(state_dir).map_err(LoadError::from)?;
    Ok(Inputs { cluster: warned(m.validated), revision: m.revision, bytes: m.bytes, live, drains })
}

fn emit_plan(p: &plan::Plan, source: &str, a: &PlanArgs) -> Result<Exit, CliError> {
    if let Some(out) = &a.out {
        files::write(out, &view::plan_json(p))?;
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
