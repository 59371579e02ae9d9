//! Which version of the manifest is in force: the SHA-256 of its bytes and, when the file
//! lives in a git work tree, the commit it came from. Plain data and its words; reading
//! git is the host's business (`load::git`).
//!
//! ```text
//! Revision { sha256: "sha256:…", git: Some(Commit { id, subject, file: Committed }) }
//!   Display -> "sha256:… (commit 1a2b3c4d5e6f \"Raise web weights\")"
//! ```

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The manifest bytes in force and where they came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    /// SHA-256 of the bytes (`sha256:HEX`).
    pub sha256: String,
    /// The git commit, when the file is in a git work tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<Commit>,
}

/// The commit checked out in the manifest's work tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commit {
    /// Its full id (hex).
    pub id: String,
    /// The first line of its message.
    pub subject: String,
    /// How the bytes read compare with the file in that commit.
    pub file: FileState,
}

/// The manifest's bytes against the checked-out commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileState {
    /// The same bytes as in the commit.
    Committed,
    /// The file differs from the commit (edited, not committed yet).
    Modified,
    /// The commit does not hold the file.
    Untracked,
}

impl Revision {
    /// The revision of `bytes`, without git.
    pub fn of(bytes: &[u8]) -> Self {
        Revision { sha256: sha256(bytes), git: None }
    }

    /// The bytes are exactly those of a commit.
    pub fn committed(&self) -> bool {
        self.git.as_ref().is_some_and(|c| c.file == FileState::Committed)
    }
}

/// `sha256:HEX` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(71);
    s.push_str("sha256:");
    for b in Sha256::digest(bytes) {
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl std::fmt::Display for FileState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileState::Committed => "committed",
            FileState::Modified => "modified since the commit",
            FileState::Untracked => "not in the commit",
        })
    }
}

impl Commit {
    /// The first 12 hex digits of the id, as plans, logs and the status page show it.
    pub fn short_id(&self) -> &str {
        self.id.get(..12).unwrap_or(&self.id)
    }
}

impl std::fmt::Display for Commit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "commit {} {:?}", self.short_id(), self.subject)?;
        match self.file {
            FileState::Committed => Ok(()),
            other => write!(f, ", file {other}"),
        }
    }
}

impl std::fmt::Display for Revision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.sha256)?;
        match &self.git {
            Some(c) => write!(f, " ({c})"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        let mut r = Revision::of(b"abc");
        assert_eq!(r.sha256, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(!r.committed());
        r.git = Some(Commit {
            id: "0123456789abcdef0123456789abcdef01234567".into(),
            subject: "Raise \"web\" weights".into(),
            file: FileState::Modified,
        });
        assert_eq!(
            r.to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad \
             (commit 0123456789ab \"Raise \\\"web\\\" weights\", file modified since the commit)"
        );
        assert!(!r.committed());
    }
}
