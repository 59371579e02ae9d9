//! Watches the manifest file: polls it every second and asks for a reload when its content
//! changes (any way of writing it: in place, rename over, git checkout).

use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::time::Duration;

use super::Event;
use super::error::DaemonError;

const POLL: Duration = Duration::from_secs(1);

/// Starts the watching thread; it ends when the daemon's event channel closes.
pub fn start(path: PathBuf, tx: Sender<Event>) -> Result<(), DaemonError> {
    let watch = move || {
        let mut last = fingerprint(&path);
        loop {
            std::thread::sleep(POLL);
            let now = fingerprint(&path);
            if now != last && now.is_some() {
                last = now;
                if tx.send(Event::Reload).is_err() {
                    return;
                }
            }
        }
    };
    super::spawn("manifest-watch".into(), watch).map(drop)
}

fn fingerprint(path: &Path) -> Option<Vec<u8>> {
    use sha2::{Digest, Sha256};
    std::fs::read(path).ok().map(|b| Sha256::digest(&b).to_vec())
}
