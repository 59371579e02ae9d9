//! `lbconverge check`: runs every health check of this node once, now, all at the same
//! time, and prints a table (service, backend, check, result, latency, reason) or JSON.
//! Operators use it before enabling the daemon and when a backend will not come up. The
//! table shows text from outside (a server's answer quoted in a reason) escaped
//! ([`crate::text`]); JSON escapes it by itself.
//! Exit 0 when every check passes, 1 when one fails (or on any error).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};

use super::{CliError, Exit};
use crate::health::probe::Probes;
use crate::health::{Board, Outcome, Status, Target};
use crate::load::{self, Loader};

/// Output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// An aligned table.
    Text,
    /// A JSON array, one object per service and backend.
    Json,
}

/// `check` arguments.
#[derive(Debug, Args)]
#[command(after_help = "Exit codes: 0 every check passed, 1 a check failed or an error.")]
pub struct CheckArgs {
    /// The manifest file.
    pub manifest: PathBuf,
    /// The manifest node whose checks to run. Default: the node whose address this host holds.
    #[arg(long)]
    pub node: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
}

/// One line of the result.
#[derive(Debug, Clone, serde::Serialize)]
struct Row {
    service: String,
    backend: String,
    check: String,
    result: &'static str,
    latency_ms: f64,
    reason: String,
}

/// Runs `check`.
pub fn run(a: &CheckArgs, state_dir: &std::path::Path) -> Result<Exit, CliError> {
    let mut k = crate::kernel::linux::LinuxKernel::new(state_dir.to_path_buf());
    load::enter_namespace(&Loader::new(), &a.manifest, a.node.as_deref())?;
    let (m, live) = load::with_live(&Loader::new(), &a.manifest, a.node.as_deref(), &mut k)?;
    let cluster = super::warned(m.validated);
    let node = load::pick_node(&cluster, a.node.as_deref(), &live, "this host")?;
    let board = Board::new(&cluster, &node, None, |_| Status::Unknown);
    let results = probe_all(board.targets().into_iter().map(|(t, _)| t).collect())
        .map_err(|e| CliError::Usage(format!("cannot start the probes: {e}")))?;
    let mut rows: Vec<Row> = results
        .iter()
        .flat_map(|(t, outcome, took)| board.backends(t).iter().map(move |id| row(id, t, outcome, *took)))
        .collect();
    rows.sort_by(|x, y| (&x.service, &x.backend, &x.check).cmp(&(&y.service, &y.backend, &y.check)));
    let text = match a.format {
        CheckFormat::Text => table(&node, &rows),
        CheckFormat::Json => serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n",
    };
    print!("{text}");
    Ok(if rows.iter().all(|r| r.result == "up") { Exit::Ok } else { Exit::Error })
}

/// Every probe once, concurrently, on a runtime of this command's own.
fn probe_all(targets: Vec<Target>) -> std::io::Result<Vec<(Target, Outcome, Duration)>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let probes = Probes::default();
    Ok(runtime.block_on(async {
        let tasks: Vec<_> = targets
            .into_iter()
            .map(|t| {
                let probes = probes.clone();
                tokio::spawn(async move {
                    let started = Instant::now();
                    let outcome = probes.run(&t).await;
                    (t, outcome, started.elapsed())
                })
            })
            .collect();
        let mut out = Vec::with_capacity(tasks.len());
        for task in tasks {
            if let Ok(r) = task.await {
                out.push(r);
            }
        }
        out
    }))
}

fn row((service, backend): &(String, String), t: &Target, o: &Outcome, took: Duration) -> Row {
    let (result, reason) = match o {
        Outcome::Pass { weight: None } => ("up", String::new()),
        Outcome::Pass { weight: Some(w) } => ("up", format!("weight {w}")),
        Outcome::Fail(why) => ("down", why.clone()),
    };
    let latency_ms = (took.as_secs_f64() * 10_000.0).round() / 10.0;
    Row { service: service.clone(), backend: backend.clone(), check: t.to_string(), result, latency_ms, reason }
}

fn table(node: &str, rows: &[Row]) -> String {
    let mut out =
        format!("Checks of node {node}: {} of {} up\n\n", rows.iter().filter(|r| r.result == "up").count(), rows.len());
    if rows.is_empty() {
        out.push_str("This node carries no service with a health check.\n");
        return out;
    }
    let header = ["SERVICE", "BACKEND", "CHECK", "RESULT", "LATENCY", "REASON"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            let latency = format!("{:.1}ms", r.latency_ms);
            let shown = |t: &str| crate::text::escaped(t).into_owned();
            [shown(&r.service), shown(&r.backend), shown(&r.check), r.result.into(), latency, shown(&r.reason)]
        })
        .collect();
    let width = |i: usize| cells.iter().map(|c| c[i].len()).chain([header[i].len()]).max().unwrap_or(0);
    let widths: Vec<usize> = (0..6).map(width).collect();
    let line = |c: &[&str]| {
        let mut l = String::new();
        for (i, cell) in c.iter().enumerate() {
            let _ = if i + 1 < c.len() { write!(l, "{cell:<w$}  ", w = widths[i]) } else { write!(l, "{cell}") };
        }
        l.trim_end().to_string() + "\n"
    };
    out.push_str(&line(&header));
    for c in &cells {
        out.push_str(&line(&c.iter().map(String::as_str).collect::<Vec<_>>()));
    }
    out
}
