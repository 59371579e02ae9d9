//! Files lbconverge writes on the host (the ledger, the manifest cache, saved plans), written
//! whole and safely: the bytes go to a new temporary file created exclusively (`O_EXCL`,
//! `O_NOFOLLOW`, mode 0600) in the target's own directory, are synced, and the temporary file
//! is renamed over the target. A symlink planted where a temporary file would go is never
//! followed, a reader never sees half a file, and a failed write leaves nothing behind.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Attempts at a fresh temporary name before giving up (each collision means someone
/// else's file sits where ours would go).
const ATTEMPTS: u32 = 16;

/// Distinguishes temporary files of one process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `bytes`, atomically.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let (tmp, mut file) = create_temp(path)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all()).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Creates a new temporary file beside `path`: `.NAME.PID.N.tmp`, never an existing file
/// nor a symlink.
fn create_temp(path: &Path) -> io::Result<(PathBuf, File)> {
    let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{}.{}.{n}.tmp", name.to_string_lossy(), std::process::id()));
        let opened = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp);
        match opened {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lbc-state-file-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp") || n.ends_with(".tmp~"))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_the_target_whole() {
        let d = scratch("whole");
        let f = d.join("ledger.json");
        write(&f, b"one").unwrap();
        write(&f, b"two").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"two");
        assert!(leftovers(&d).is_empty());
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn planted_symlinks_at_every_old_temporary_name_are_not_followed() {
        let d = scratch("symlink");
        let victim = d.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        for old in ["ledger.json.tmp", "ledger.tmp~", "out.tmp~"] {
            std::os::unix::fs::symlink(&victim, d.join(old)).unwrap();
        }
        // Also where the next temporary names of this process would go.
        let next = COUNTER.load(Ordering::Relaxed);
        for n in next..next + 4 {
            std::os::unix::fs::symlink(&victim, d.join(format!(".ledger.json.{}.{n}.tmp", std::process::id())))
                .unwrap();
        }
        write(&d.join("ledger.json"), b"{}").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(std::fs::read(d.join("ledger.json")).unwrap(), b"{}");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file() {
        let d = scratch("fail");
        let target = d.join("plan.json");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("inside"), "x").unwrap();
        assert!(write(&target, b"{}").is_err());
        assert!(leftovers(&d).is_empty(), "{:?}", leftovers(&d));
        std::fs::remove_dir_all(d).unwrap();
    }
}
