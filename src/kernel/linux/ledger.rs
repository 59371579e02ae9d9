//! The ownership ledger on disk: `<state dir>/ledger.json`, replaced atomically.

use std::io;
use std::path::PathBuf;

use crate::kernel::{KResult, KernelError};
use crate::model::Ledger;

/// Default state directory.
pub const DEFAULT_DIR: &str = "/var/lib/lbconverge";

/// A ledger file.
pub struct FileLedger {
    path: PathBuf,
}

impl FileLedger {
    /// The ledger in `dir`.
    pub fn new(dir: PathBuf) -> Self {
        FileLedger { path: dir.join("ledger.json") }
    }

    /// Reads it; a missing file is an empty ledger.
    pub fn load(&self) -> KResult<Ledger> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Ledger::default()),
            Err(e) => return Err(KernelError::io("read ledger", self.path.display().to_string(), e)),
        };
        serde_json::from_str(&text).map_err(|e| {
            let err = io::Error::new(io::ErrorKind::InvalidData, e.to_string());
            KernelError::io("read ledger", self.path.display().to_string(), err)
                .with_hint("the file is damaged; move it away and apply again (lbconverge then owns only what the manifest declares)")
        })
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
