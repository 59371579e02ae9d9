//! The files the CLI reads and writes besides the manifest: live-state snapshots and saved
//! plans. Errors name the file and, where the parser knows it, line and column.

use std::path::Path;

use crate::manifest::{self, Problem};
use crate::model::NodeState;
use crate::plan::{FORMAT_VERSION, Plan};

use super::CliError;

fn read_text(path: &Path, what: &str) -> Result<String, CliError> {
    let meta =
        std::fs::metadata(path).map_err(|e| CliError::File(format!("{}: cannot read {what}: {e}", path.display())))?;
    if meta.len() > manifest::MAX_BYTES * 16 {
        return Err(CliError::File(format!("{}: {what} is too large ({} bytes)", path.display(), meta.len())));
    }
    let bytes =
        std::fs::read(path).map_err(|e| CliError::File(format!("{}: cannot read {what}: {e}", path.display())))?;
    String::from_utf8(bytes).map_err(|_| CliError::File(format!("{}: {what} is not UTF-8 text", path.display())))
}

/// Reads a live-state snapshot (the YAML `lbconverge show` prints).
pub fn load_snapshot(path: &Path) -> Result<NodeState, CliError> {
    let text = read_text(path, "snapshot")?;
    let file = path.display().to_string();
    if text.trim().is_empty() {
        return Ok(NodeState::default());
    }
    serde_saphyr::from_str_with_options::<NodeState>(&text, manifest::options()).map_err(|e| {
        let mut p: Problem = manifest::saphyr_problem(&file, &e);
        p.hint = Some("a snapshot has the keys services, addresses, routes, links, sysctls and owned, as `lbconverge show` prints them".into());
        CliError::File(p.to_string())
    })
}

/// Reads a saved plan (`plan --out`).
pub fn load_plan(path: &Path) -> Result<Plan, CliError> {
    let text = read_text(path, "plan file")?;
    let plan: Plan = serde_json::from_str(&text).map_err(|e| {
        CliError::File(format!(
            "{}:{}:{}: error: not a plan file: {e}\n  hint: make one with `lbconverge plan MANIFEST --out FILE`",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    if plan.format_version != FORMAT_VERSION {
        return Err(CliError::File(format!(
            "{}: plan format {} is not supported (this lbconverge reads format {FORMAT_VERSION})",
            path.display(),
            plan.format_version
        )));
    }
    Ok(plan)
}

/// Writes a file whole, through a temporary file and a rename.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), CliError> {
    let tmp = path.with_extension("tmp~");
    let err = |e: std::io::Error| CliError::File(format!("{}: cannot write: {e}", path.display()));
    std::fs::write(&tmp, text).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}
