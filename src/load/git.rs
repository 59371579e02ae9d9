//! The git commit a manifest file comes from, read with `gix` (no `git` process, no
//! parsing of `.git` by hand): the repository is discovered upwards from the file's real
//! directory (honouring `GIT_DIR` and `GIT_CEILING_DIRECTORIES`), and the bytes read are
//! compared with the file's blob in the checked-out commit by their git object id.
//!
//! ```text
//! commit_of("/etc/lb/cluster.yaml", bytes) -> Ok(None)            not in a work tree
//!                                          -> Ok(Some(Commit { id, subject, file }))
//!                                          -> Err(GitError)        a repository, unreadable
//! ```

use std::path::{Path, PathBuf};

use crate::manifest::revision::{Commit, FileState};

/// A git repository was found but could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the git repository of {}: {reason}", path.display())]
pub struct GitError {
    /// The manifest.
    pub path: PathBuf,
    /// What failed.
    pub reason: String,
}

/// The commit checked out in the work tree holding `path`, and how `bytes` compare with
/// the file in it; `None` when `path` is in no git work tree.
pub fn commit_of(path: &Path, bytes: &[u8]) -> Result<Option<Commit>, GitError> {
    let fail = |reason: String| GitError { path: path.to_path_buf(), reason };
    let Some((repo, rel)) = work_tree_of(path) else { return Ok(None) };
    let commit = repo.head_commit().map_err(|e| fail(format!("HEAD: {e}")))?;
    let subject = commit.message().map_err(|e| fail(format!("commit message: {e}")))?.summary().to_string();
    let tree = commit.tree().map_err(|e| fail(format!("commit tree: {e}")))?;
    let entry = tree.lookup_entry_by_path(&rel).map_err(|e| fail(format!("{}: {e}", rel.display())))?;
    let blob = gix::objs::compute_hash(repo.object_hash(), gix::objs::Kind::Blob, bytes)
        .map_err(|e| fail(format!("hash: {e}")))?;
    let file = match entry {
        Some(e) if e.mode().is_blob() && e.object_id() == blob => FileState::Committed,
        Some(e) if e.mode().is_blob() => FileState::Modified,
        _ => FileState::Untracked,
    };
    Ok(Some(Commit { id: commit.id.to_string(), subject: subject.trim().to_string(), file }))
}

/// The git directory of the work tree holding `path`, and the commit its HEAD names
/// (empty before the first commit): what the manifest watch also keeps an eye on, since
/// a checkout or commit can change the revision without changing the file.
pub fn head(path: &Path) -> Option<(PathBuf, String)> {
    let (repo, _) = work_tree_of(path)?;
    let id = repo.head_id().map(|id| id.to_string()).unwrap_or_default();
    Some((repo.git_dir().to_path_buf(), id))
}

/// The repository whose work tree holds `path` (resolved), and `path` inside it.
fn work_tree_of(path: &Path) -> Option<(gix::Repository, PathBuf)> {
    let real = std::fs::canonicalize(path).ok()?;
    // Ceiling directories that are not above this file only end the search (as with git).
    let opts = gix::discover::upwards::Options { match_ceiling_dir_or_error: false, ..Default::default() };
    let repo = gix::ThreadSafeRepository::discover_with_environment_overrides_opts(real.parent()?, opts, |o, _| o)
        .ok()?
        .to_thread_local();
    let workdir = std::fs::canonicalize(repo.workdir()?).ok()?;
    let rel = real.strip_prefix(&workdir).ok()?.to_path_buf();
    Some((repo, rel))
}
