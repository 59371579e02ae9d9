//! One daemon per node: `lbconverge run` takes an exclusive lock (`flock`) on
//! `<state-dir>/run.lock` before anything else touches the kernel or VRRP, and holds it
//! until it ends, however it ends (the kernel releases it with the process). A second
//! `run` on the same state directory is refused, naming the first one's PID, which the
//! lock file holds.
//!
//! The lock file is the state directory's: it is opened without following a symlink, must
//! be a regular file, and is rewritten only when lbconverge made it (it is new, or holds
//! nothing but a PID); a file of anything else is locked as it is and left untouched.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use super::error::DaemonError;

/// The lock file's name in the state directory.
pub const LOCK_FILE: &str = "run.lock";
/// The most a PID file of lbconverge's holds.
const PID_BYTES: u64 = 32;

/// The held lock; the next `run` may take it once this is dropped (or the process ends).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

/// Takes `<state_dir>/run.lock` for this process, creating the state directory (0700) if
/// it is missing, and records this PID in it.
pub fn take(state_dir: &Path) -> Result<RunLock, DaemonError> {
    let path = state_dir.join(LOCK_FILE);
    let fail = |source| DaemonError::Lock { path: path.clone(), source };
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(state_dir).map_err(fail)?;
    let (mut file, created) = open(&path).map_err(fail)?;
    if !file.metadata().map_err(fail)?.is_file() {
        return Err(fail(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file")));
    }
    // SAFETY: flock on a descriptor this function owns; it takes no pointer.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::WouldBlock {
            return Err(DaemonError::AlreadyRunning { lock: path.clone(), pid: holder(&mut file) });
        }
        return Err(fail(e));
    }
    if created
        || holder_text(&mut file).is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_whitespace()))
    {
        record_pid(&mut file).map_err(fail)?;
    } else {
        tracing::warn!(lock = %path.display(), "the lock file holds something lbconverge did not write: locked as it is, this PID not recorded in it");
    }
    Ok(RunLock { _file: file })
}

/// Opens the lock file, never through a symlink and never blocking (a FIFO); whether it
/// was created now.
fn open(path: &Path) -> io::Result<(File, bool)> {
    let flags = libc::O_NOFOLLOW | libc::O_NONBLOCK;
    let new = OpenOptions::new().read(true).write(true).create_new(true).mode(0o644).custom_flags(flags).open(path);
    match new {
        Ok(f) => Ok((f, true)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let f = OpenOptions::new().read(true).write(true).custom_flags(flags).open(path).map_err(|e| {
                match e.raw_os_error() {
                    Some(libc::ELOOP) => io::Error::new(io::ErrorKind::InvalidInput, "a symlink; it is never followed"),
                    _ => e,
                }
            })?;
            Ok((f, false))
        }
        Err(e) => Err(e),
    }
}

/// The lock file's text, if it is as short as a PID file.
fn holder_text(file: &mut File) -> Option<String> {
    let mut text = String::new();
    file.rewind().ok()?;
    (&*file).take(PID_BYTES + 1).read_to_string(&mut text).ok()?;
    (u64::try_from(text.len()).ok()? <= PID_BYTES).then_some(text)
}

/// The PID the lock file names.
fn holder(file: &mut File) -> Option<u32> {
    holder_text(file)?.trim().parse().ok()
}

/// Replaces the lock file's text with this PID.
fn record_pid(file: &mut File) -> io::Result<()> {
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(format!("{}\n", std::process::id()).as_bytes())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(LOCK_FILE)
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lbc-lock-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_second_taker_is_refused_naming_the_first_and_may_take_it_once_released() {
        let dir = scratch("twice").join("state");
        let first = take(&dir).unwrap();
        assert_eq!(std::fs::read_to_string(path(&dir)).unwrap(), format!("{}\n", std::process::id()));
        // flock locks belong to the open file: a second open, even in this process, is refused.
        let err = take(&dir).unwrap_err();
        assert!(matches!(err, DaemonError::AlreadyRunning { pid: Some(p), .. } if p == std::process::id()), "{err}");
        let text = err.to_string();
        assert!(text.contains(&format!("PID {}", std::process::id())) && text.contains("run.lock"), "{text}");
        drop(first);
        let again = take(&dir).unwrap();
        drop(again);
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_missing_state_directory_is_made_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("made").join("a/state");
        let _lock = take(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        std::fs::remove_dir_all(dir.parent().unwrap().parent().unwrap()).unwrap();
    }

    #[test]
    fn a_symlink_or_a_fifo_is_refused_and_not_followed() {
        let dir = scratch("symlink");
        let target = dir.join("elsewhere");
        std::fs::write(&target, "precious\n").unwrap();
        std::os::unix::fs::symlink(&target, path(&dir)).unwrap();
        let err = take(&dir).unwrap_err().to_string();
        assert!(err.contains("symlink"), "{err}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");

        std::fs::remove_file(path(&dir)).unwrap();
        let c = std::ffi::CString::new(path(&dir).to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = take(&dir).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_lbconverge_did_not_write_is_locked_but_never_truncated() {
        let dir = scratch("foreign");
        let text = "notes someone keeps here, longer than any PID file\n";
        std::fs::write(path(&dir), text).unwrap();
        let lock = take(&dir).unwrap();
        assert_eq!(std::fs::read_to_string(path(&dir)).unwrap(), text);
        assert!(matches!(take(&dir), Err(DaemonError::AlreadyRunning { pid: None, .. })));
        drop(lock);
        // A PID file of an earlier run is rewritten.
        std::fs::write(path(&dir), "1\n").unwrap();
        let _lock = take(&dir).unwrap();
        assert_eq!(std::fs::read_to_string(path(&dir)).unwrap(), format!("{}\n", std::process::id()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
