//! The one way lbconverge reads a file that comes from outside: the manifest, live-state
//! snapshots, saved plans, its own state files (`drains.json`, `ledger.json`), secret files
//! (VRRP and metrics passwords), CA files, keepalived.conf and its includes, saved
//! `ipvsadm -S` rules, VRRP track files, and the `/proc` files of tracked processes. Every reader of such a file calls [`read`], [`read_text`] or
//! [`first_line`]; nothing else opens one.
//!
//! - The path is looked at first and the file opened only when it is a regular file, so a
//!   device is never opened; the open is non-blocking (`O_NONBLOCK`: a FIFO would hang the
//!   caller in `open` until a writer comes) and `O_CLOEXEC | O_NOCTTY`.
//! - The open descriptor is checked again (`fstat`): what was swapped in between is refused
//!   too. A FIFO, directory, device or socket is an error naming what it is.
//! - At most the kind's limit plus one byte is read: the limit holds while reading, whatever
//!   `stat` said (`/dev/zero` says 0 bytes and never ends).
//! - lbconverge's own state files are never read through a symlink (`O_NOFOLLOW`).
//!
//! ```text
//! read(path, Kind::Manifest)     -> bytes        or ReadError { path, why }
//! read_text(path, Kind::Plan)    -> UTF-8 text   "plan.json: not a regular file (a FIFO)"
//! first_line(path, Kind::Secret) -> a password   "x.pass: larger than the limit of 4 KiB for a secret file"
//! ```

use std::fs::{File, FileType, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// What a file is for: its size limit, whether a symlink may lead to it, and its name in
/// errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The manifest (16 MiB).
    Manifest,
    /// A live-state snapshot, `plan --live` and `import --real-server-snapshots` (256 MiB).
    Snapshot,
    /// A saved plan, `apply --plan` (256 MiB).
    Plan,
    /// `drains.json` in the state directory (16 MiB; never through a symlink).
    Drains,
    /// `ledger.json` in the state directory (64 MiB; never through a symlink).
    Ledger,
    /// A password file: a VRRP PASS password, `run --metrics-password-file`,
    /// `import --password-file` (4 KiB).
    Secret,
    /// A health check's `ca_file` (4 MiB; a system bundle is about 200 KiB).
    CaFile,
    /// keepalived.conf and the files it includes (16 MiB each).
    Keepalived,
    /// Saved `ipvsadm -S -n` rules (64 MiB).
    IpvsadmSave,
    /// A VRRP track file holding a number (4 KiB).
    TrackFile,
    /// A process's `/proc/PID/stat` (4 KiB).
    ProcStat,
    /// A process's `/proc/PID/cmdline` (128 KiB; a longer command line is not matched).
    ProcCmdline,
}

impl Kind {
    /// The most a file of this kind may hold, in bytes.
    pub const fn limit(self) -> u64 {
        match self {
            Kind::Manifest | Kind::Drains | Kind::Keepalived => 16 * MIB,
            Kind::Snapshot | Kind::Plan => 256 * MIB,
            Kind::Ledger | Kind::IpvsadmSave => 64 * MIB,
            Kind::Secret | Kind::TrackFile | Kind::ProcStat => 4 * KIB,
            Kind::ProcCmdline => 128 * KIB,
            Kind::CaFile => 4 * MIB,
        }
    }

    /// What the file should hold, in errors.
    pub const fn what(self) -> &'static str {
        match self {
            Kind::Manifest => "manifest",
            Kind::Snapshot => "snapshot",
            Kind::Plan => "plan file",
            Kind::Drains => "drains file",
            Kind::Ledger => "ledger",
            Kind::Secret => "secret file",
            Kind::CaFile => "CA file",
            Kind::Keepalived => "keepalived configuration",
            Kind::IpvsadmSave => "ipvsadm -S output",
            Kind::TrackFile => "track file",
            Kind::ProcStat => "process status",
            Kind::ProcCmdline => "process command line",
        }
    }

    /// lbconverge's own state files: never read through a symlink.
    const fn own_state(self) -> bool {
        matches!(self, Kind::Drains | Kind::Ledger)
    }
}

/// A file from outside could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{}: {why}", path.display())]
pub struct ReadError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub why: Why,
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Why {
    /// It could not be opened or read (missing, no permission, an I/O error).
    #[error("cannot read: {0}")]
    Io(#[source] io::Error),
    /// One of lbconverge's own state files is a symlink.
    #[error("a symlink; lbconverge never reads its {0} through a symlink")]
    Symlink(&'static str),
    /// It is a FIFO, directory, device or socket.
    #[error("not a regular file ({0})")]
    NotRegular(&'static str),
    /// It holds more than its kind's limit.
    #[error("larger than the limit of {} for a {what}", size(*limit))]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
        /// What the file should hold.
        what: &'static str,
    },
    /// It is not UTF-8 text.
    #[error("not UTF-8 text (is it a binary file?)")]
    NotUtf8,
}

impl ReadError {
    /// True when there is no file at the path (a state file not written yet).
    pub fn is_missing(&self) -> bool {
        matches!(&self.why, Why::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }

    /// True when the file is there but is not what lbconverge can read: a symlink where
    /// one is refused, not a regular file, too large or not text. (An I/O error is not: the
    /// same file may read next time.)
    pub fn is_unusable(&self) -> bool {
        !matches!(self.why, Why::Io(_))
    }
}

/// Reads the file at `path` whole, as a file of `kind` (see the module docs).
pub fn read(path: &Path, kind: Kind) -> Result<Vec<u8>, ReadError> {
    let fail = |why| ReadError { path: path.to_path_buf(), why };
    let (file, len) = open(path, kind).map_err(fail)?;
    let limit = kind.limit();
    // A regular file that says it is too large is (no need to read it to know); one that
    // says it is small may still grow while it is read: the limit is enforced by `take`.
    if len > limit {
        return Err(fail(Why::TooLarge { limit, what: kind.what() }));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| fail(Why::Io(e)))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(fail(Why::TooLarge { limit, what: kind.what() }));
    }
    Ok(bytes)
}

/// Reads the file at `path` whole as UTF-8 text.
pub fn read_text(path: &Path, kind: Kind) -> Result<String, ReadError> {
    let bytes = read(path, kind)?;
    String::from_utf8(bytes).map_err(|_| ReadError { path: path.to_path_buf(), why: Why::NotUtf8 })
}

/// The first line of a file (a password file: the rest is ignored, the limit still holds).
pub fn first_line(path: &Path, kind: Kind) -> Result<String, ReadError> {
    let text = read_text(path, kind)?;
    Ok(text.lines().next().unwrap_or_default().to_string())
}

/// Opens `path` for reading if it is a regular file, without blocking; returns it and the
/// size its descriptor says it has.
fn open(path: &Path, kind: Kind) -> Result<(File, u64), Why> {
    // A look before opening: a device is never opened (opening one can have effects).
    let looked = if kind.own_state() { std::fs::symlink_metadata(path) } else { std::fs::metadata(path) };
    regular(&looked.map_err(Why::Io)?, kind)?;
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY;
    if kind.own_state() {
        flags |= libc::O_NOFOLLOW;
    }
    let file = OpenOptions::new().read(true).custom_flags(flags).open(path).map_err(|e| {
        match e.raw_os_error() {
            // Swapped for a symlink since the look.
            Some(libc::ELOOP) if kind.own_state() => Why::Symlink(kind.what()),
            // Swapped for a socket since the look.
            Some(libc::ENXIO) => Why::NotRegular("a socket"),
            _ => Why::Io(e),
        }
    })?;
    // What counts is the descriptor: the path may have been swapped since the look.
    let meta = file.metadata().map_err(Why::Io)?;
    regular(&meta, kind)?;
    Ok((file, meta.len()))
}

fn regular(m: &Metadata, kind: Kind) -> Result<(), Why> {
    let t = m.file_type();
    match () {
        _ if t.is_file() => Ok(()),
        _ if t.is_symlink() => Err(Why::Symlink(kind.what())),
        _ => Err(Why::NotRegular(described(t))),
    }
}

/// `a FIFO`, `a directory`, ...
fn described(t: FileType) -> &'static str {
    match () {
        _ if t.is_dir() => "a directory",
        _ if t.is_fifo() => "a FIFO",
        _ if t.is_char_device() => "a character device",
        _ if t.is_block_device() => "a block device",
        _ if t.is_socket() => "a socket",
        _ => "not a file",
    }
}

/// `16 MiB`, `4 KiB`, `100 bytes`.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b >= KIB && b % KIB == 0 => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{Scratch, mkfifo};
    use std::time::{Duration, Instant};

    /// Reads `p` as `kind`, asserting it answers within a second; returns the error text.
    fn refused(p: &Path, kind: Kind) -> String {
        let t = Instant::now();
        let e = read(p, kind).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(1), "{} took {:?}", p.display(), t.elapsed());
        assert!(e.is_unusable(), "{e}");
        e.to_string()
    }

    #[test]
    fn fifos_directories_devices_and_sockets_are_refused_at_once_naming_what_they_are() {
        let s = Scratch::new("files-types").unwrap();
        let fifo = s.join("cluster.yaml");
        mkfifo(&fifo).unwrap();
        let zero = s.join("zero.yaml");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let sock = s.join("sock.yaml");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        for kind in [Kind::Manifest, Kind::Secret, Kind::Keepalived] {
            let d = s.path().display();
            assert_eq!(refused(&fifo, kind), format!("{d}/cluster.yaml: not a regular file (a FIFO)"));
            assert_eq!(refused(&zero, kind), format!("{d}/zero.yaml: not a regular file (a character device)"));
            assert_eq!(refused(s.path(), kind), format!("{d}: not a regular file (a directory)"));
            assert_eq!(refused(&sock, kind), format!("{d}/sock.yaml: not a regular file (a socket)"));
        }
    }

    #[test]
    fn state_files_are_never_read_through_a_symlink() {
        let s = Scratch::new("files-symlink").unwrap();
        std::fs::write(s.join("real.json"), "{}").unwrap();
        std::os::unix::fs::symlink(s.join("real.json"), s.join("drains.json")).unwrap();
        assert_eq!(read(&s.join("drains.json"), Kind::Manifest).unwrap(), b"{}", "others may be symlinks");
        let e = refused(&s.join("drains.json"), Kind::Drains);
        assert!(e.ends_with("drains.json: a symlink; lbconverge never reads its drains file through a symlink"), "{e}");
    }

    #[test]
    fn the_limit_holds_while_reading_and_is_named() {
        let s = Scratch::new("files-limit").unwrap();
        let p = s.join("x.pass");
        std::fs::write(&p, vec![b'a'; 4096]).unwrap();
        assert_eq!(read(&p, Kind::Secret).unwrap().len(), 4096, "the limit itself is allowed");
        std::fs::write(&p, vec![b'a'; 4097]).unwrap();
        assert_eq!(
            refused(&p, Kind::Secret),
            format!("{}: larger than the limit of 4 KiB for a secret file", p.display())
        );
        // A regular file whose `stat` says 0 bytes and which holds more: the limit holds
        // while reading (a device that says 0 and never ends is refused before it is opened).
        let smaps = Path::new("/proc/self/smaps");
        assert_eq!(std::fs::metadata(smaps).unwrap().len(), 0);
        assert_eq!(refused(smaps, Kind::Secret), "/proc/self/smaps: larger than the limit of 4 KiB for a secret file");
        assert_eq!(size(16 * MIB), "16 MiB");
        assert_eq!(size(100), "100 bytes");
    }

    #[test]
    fn missing_files_text_and_first_lines() {
        let s = Scratch::new("files-text").unwrap();
        let e = read(&s.join("none"), Kind::Drains).unwrap_err();
        assert!(e.is_missing() && !e.is_unusable(), "{e}");
        assert!(e.to_string().ends_with("none: cannot read: No such file or directory (os error 2)"), "{e}");
        let p = s.join("pass");
        std::fs::write(&p, "secret\r\nrest\n").unwrap();
        assert_eq!(first_line(&p, Kind::Secret).unwrap(), "secret");
        std::fs::write(&p, b"caf\xe9\n").unwrap();
        assert_eq!(
            read_text(&p, Kind::Secret).unwrap_err().to_string(),
            format!("{}: not UTF-8 text (is it a binary file?)", p.display())
        );
    }
}
