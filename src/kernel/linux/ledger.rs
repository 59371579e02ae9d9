//! The ownership ledger on disk: `<state dir>/ledger.json`, read through [`crate::files`]
//! (never through a symlink, never blocking, size capped) and replaced atomically.
//!
//! A missing ledger is an empty one, which is the safe default: lbconverge deletes only
//! what the ledger says it owns, so without one it deletes nothing it cannot prove it
//! created (what a lost ledger owned is left in the kernel and shown as unmanaged).

use std::io;
use std::path::PathBuf;

use crate::files::{self, Kind, Why};
use crate::kernel::{KResult, KernelError};
use crate::model::Ledger;

/// Default state directory.
pub const DEFAULT_DIR: &str = "/var/lib/lbconverge";

/// The file's name in the state directory.
pub const FILE: &str = "ledger.json";

/// What to do about a damaged ledger.
const HINT: &str = "the file is damaged; move it away and apply again (lbconverge then owns only what the manifest declares); `lbconverge run` moves it aside by itself at its start or reload";

/// A ledger file.
pub struct FileLedger {
    path: PathBuf,
}

impl FileLedger {
    /// The ledger in `dir`.
    pub fn new(dir: PathBuf) -> Self {
        FileLedger { path: dir.join(FILE) }
    }

    /// Reads it; a missing file is an empty ledger.
    pub fn load(&self) -> KResult<Ledger> {
        let err = |e| KernelError::io("read ledger", self.path.display().to_string(), e);
        let text = match files::read_text(&self.path, Kind::Ledger) {
            Ok(t) => t,
            Err(e) if e.is_missing() => return Ok(Ledger::default()),
            Err(files::ReadError { why: Why::Io(e), .. }) => return Err(err(e)),
            Err(e) => return Err(err(io::Error::new(io::ErrorKind::InvalidData, e.why)).with_hint(HINT)),
        };
        parse(&text).map_err(|e| err(io::Error::new(io::ErrorKind::InvalidData, e)).with_hint(HINT))
    }

    /// Replaces it, atomically and without following a planted symlink
    /// ([`crate::state_file`]).
    pub fn store(&self, ledger: &Ledger) -> KResult<()> {
        let err = |e| KernelError::io("write ledger", self.path.display().to_string(), e);
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let text = serde_json::to_string_pretty(ledger).map_err(|e| err(io::Error::other(e)))?;
        crate::state_file::write(&self.path, (text + "\n").as_bytes()).map_err(err)
    }
}

/// Parses the text of a ledger file.
pub fn parse(text: &str) -> Result<Ledger, serde_json::Error> {
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_ledger_is_an_error_naming_it_at_once_and_a_missing_one_is_empty() {
        let dir = std::env::temp_dir().join(format!("lbc-ledger-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let l = FileLedger::new(dir.clone());
        assert_eq!(l.load().unwrap(), Ledger::default());
        l.store(&Ledger::default()).unwrap();
        assert_eq!(l.load().unwrap(), Ledger::default());
        let p = dir.join(FILE).display().to_string();
        std::fs::write(dir.join(FILE), "garbage").unwrap();
        let e = l.load().unwrap_err().to_string();
        assert!(e.starts_with(&format!("read ledger {p}: expected value at line 1 column 1\n  hint: ")), "{e}");
        std::fs::remove_file(dir.join(FILE)).unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.join(FILE)).unwrap();
        let t = std::time::Instant::now();
        let e = l.load().unwrap_err().to_string();
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
        assert!(
            e.starts_with(&format!("read ledger {p}: a symlink; lbconverge never reads its ledger through a symlink")),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
