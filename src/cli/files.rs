//! The files the CLI reads and writes besides the manifest: live-state snapshots and saved
//! plans, read through [`crate::files`]. Errors name the file and, where the parser knows
//! it, line and column.

use std::path::{Path, PathBuf};

use crate::files::{Kind, ReadError};
use crate::manifest::{self, Problem};
use crate::model::NodeState;
use crate::plan::{FORMAT_VERSION, Plan};

/// A snapshot, plan or output file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read: missing, not a regular file, too large, not text
    /// ([`crate::files`]).
    #[error("{0}")]
    Read(#[from] ReadError),
    /// A snapshot that does not parse (located, with a hint).
    #[error("{0}")]
    Snapshot(Box<Problem>),
    /// A plan file that does not parse.
    #[error(
        "{}:{line}:{column}: error: not a plan file: {source}\n  hint: make one with `lbconverge plan MANIFEST --out FILE`",
        path.display()
    )]
    NotAPlan {
        /// The file.
        path: PathBuf,
        /// Line of the problem.
        line: usize,
        /// Column of the problem.
        column: usize,
        /// The JSON parser's message.
        source: serde_json::Error,
    },
    /// A plan file of another format version.
    #[error("{}: plan format {found} is not supported (this lbconverge reads format {FORMAT_VERSION})", path.display())]
    PlanVersion {
        /// The file.
        path: PathBuf,
        /// Its format version.
        found: u32,
    },
    /// A plan that does not fit this host or was edited; nothing was changed.
    #[error(
        "{}: error: refusing this plan; nothing was changed:{}\n  hint: make a new plan on this host with `lbconverge plan MANIFEST --out FILE`",
        path.display(),
        why.iter().map(|w| format!("\n  - {w}")).collect::<String>()
    )]
    PlanRefused {
        /// The file.
        path: PathBuf,
        /// Every reason, one sentence each.
        why: Vec<String>,
    },
    /// The host changed since the plan was made.
    #[error(
        "{path}: stale plan: this host's live state changed since the plan was made ({then} then, {now} now); nothing was changed\n  hint: make a new plan with `lbconverge plan MANIFEST --out {path}`",
        path = path.display()
    )]
    StalePlan {
        /// The file.
        path: PathBuf,
        /// The fingerprint the plan was made against.
        then: String,
        /// The fingerprint now.
        now: String,
    },
    /// An output file could not be written.
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Reads a live-state snapshot (the YAML `lbconverge show` prints).
pub fn load_snapshot(path: &Path) -> Result<NodeState, FileError> {
    let text = crate::files::read_text(path, Kind::Snapshot)?;
    parse_snapshot(&path.display().to_string(), &text)
}

/// Parses the text of a snapshot; `file` names it in problems. Empty text is an empty host.
pub fn parse_snapshot(file: &str, text: &str) -> Result<NodeState, FileError> {
    if text.trim().is_empty() {
        return Ok(NodeState::default());
    }
    serde_saphyr::from_str_with_options::<NodeState>(text, manifest::options()).map_err(|e| {
        let mut p: Problem = manifest::saphyr_problem(file, &e);
        p.hint = Some("a snapshot has the keys services, addresses, routes, links, sysctls, announced, vrrp_routes, vrrp_rules, vmacs, sync_daemons, ipvs_timeouts, firewall and owned, as `lbconverge show` prints them".into());
        FileError::Snapshot(Box::new(p))
    })
}

/// Reads a saved plan (`plan --out`).
pub fn load_plan(path: &Path) -> Result<Plan, FileError> {
    let text = crate::files::read_text(path, Kind::Plan)?;
    parse_plan(path, &text)
}

/// Parses the text of a saved plan; `path` names it in errors.
pub fn parse_plan(path: &Path, text: &str) -> Result<Plan, FileError> {
    let plan: Plan = serde_json::from_str(text).map_err(|source| FileError::NotAPlan {
        path: path.to_path_buf(),
        line: source.line(),
        column: source.column(),
        source,
    })?;
    if plan.format_version != FORMAT_VERSION {
        return Err(FileError::PlanVersion { path: path.to_path_buf(), found: plan.format_version });
    }
    if plan.digest != crate::plan::verify::digest(&plan) {
        let why = vec!["the file is not what `plan --out` wrote: its digest does not match its content".to_string()];
        return Err(FileError::PlanRefused { path: path.to_path_buf(), why });
    }
    Ok(plan)
}

/// Writes a file whole and safely (see [`crate::state_file`]).
pub fn write(path: &Path, text: &str) -> Result<(), FileError> {
    crate::state_file::write(path, text.as_bytes())
        .map_err(|source| FileError::Write { path: path.to_path_buf(), source })
}
