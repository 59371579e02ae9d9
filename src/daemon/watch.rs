//! Watches the manifest with inotify (the `notify` crate) and asks for a reload when its
//! content changes, however it was written: in place, an editor's write-and-rename, `git
//! checkout` (unlink, then create), `git pull`, or a symlink swap anywhere on its path
//! (`current -> releases/N`). Nothing is polled: the thread sleeps until the kernel reports
//! a change in one of the watched directories, waits until the manifest's entries are quiet
//! for [`QUIET`] (a file being written is not read half-way), then compares the file's
//! identity (device, inode, size, times) and only when that moved reads and hashes it
//! (through [`crate::files`]: a FIFO or a device is never opened, the size limit holds).
//! A deleted manifest is logged once; the last good one stays in force. One that cannot be
//! a manifest (a FIFO, a device, too large, unreadable) is logged with that reason and
//! asks for a reload, which refuses it with the same reason and shows it in `status`.
//!
//! Watched: the manifest's directory, the directory its path resolves to, the directory
//! of every symlink on the way (where a swap shows up), and the git directory when the
//! file is in a work tree: a commit or checkout that changes the revision but not the file
//! (HEAD moved) asks for a reload too, so the applied commit is never stale. The set is
//! computed again after every change, so a swapped symlink moves the watch along.
//!
//! Only the entries that decide what the manifest reads count (its [`Scope`]): in each
//! watched directory the name on the manifest's path (the file, its resolved name, each
//! symlink), the directories themselves, and anything in the git directory. A log file
//! beside the manifest, written every millisecond, neither wakes a look nor delays one;
//! nor does opening or reading a file (the watcher's own read included). A manifest
//! rewritten without pause is still looked at every [`LATEST`], so a reload comes at most
//! that long (plus the look) after its last change, whatever else happens around it.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode, Watcher};

use super::Event;
use super::error::DaemonError;
use crate::load::git;

/// The git directory of the manifest's work tree and the commit its HEAD names.
type Head = (PathBuf, String);

/// How long the manifest's entries must be quiet before it is looked at.
pub const QUIET: Duration = Duration::from_millis(50);

/// The longest a change waits for quiet: a manifest written without pause is looked at
/// this often.
pub const LATEST: Duration = Duration::from_millis(500);

/// What the kernel reports, as `notify` hands it over.
type Raw = notify::Result<notify::Event>;

/// The watched directories, each with the names of its entries that can change what the
/// manifest reads; `None`: every entry (the git directory).
type Scope = BTreeMap<PathBuf, Option<BTreeSet<OsString>>>;

/// What identifies one version of the file without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

/// The manifest as last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// Nothing at the path (or not yet looked at).
    Missing,
    /// Something that cannot be a manifest, and why: a FIFO, a device, a directory, a file
    /// over the size limit, one that cannot be read ([`crate::files`]).
    Unusable(String),
    /// A file: its stamp, content hash, and the commit its work tree's HEAD names (a
    /// checkout or commit changes the revision without changing the file).
    File(Stamp, String, Option<String>),
}

/// How many times a watcher read the manifest whole (nothing is polled: tests count).
pub type Reads = Arc<AtomicU64>;

/// Starts the watching thread; it ends when the daemon's event channel closes.
pub fn start(path: PathBuf, tx: Sender<Event>) -> Result<Reads, DaemonError> {
    let reads = Reads::default();
    let (raw_tx, raw_rx) = channel::<Raw>();
    let watcher = notify::recommended_watcher(move |e: Raw| {
        let _ = raw_tx.send(e);
    })
    .map_err(|source| DaemonError::Watch { path: path.clone(), source })?;
    let git = git::head(&path);
    let seen = look(&path, &Seen::Missing, &reads, git.as_ref());
    let counted = reads.clone();
    super::spawn("manifest-watch".into(), move || watch(&path, watcher, &raw_rx, (seen, git), &tx, &counted))?;
    Ok(reads)
}

fn watch(
    path: &Path,
    mut watcher: impl Watcher,
    raw: &Receiver<Raw>,
    (mut seen, git): (Seen, Option<Head>),
    tx: &Sender<Event>,
    reads: &Reads,
) {
    let mut scope = rewatch(&mut watcher, path, git.as_ref(), Scope::new());
    while let Ok(e) = raw.recv() {
        if !concerns(&scope, &e) {
            continue;
        }
        settle(raw, &scope);
        // One look at the work tree per change serves both the watch set and the revision.
        let git = git::head(path);
        scope = rewatch(&mut watcher, path, git.as_ref(), scope);
        let now = look(path, &seen, reads, git.as_ref());
        let changed = match (&seen, &now) {
            (_, Seen::Missing) => {
                if seen != Seen::Missing {
                    tracing::warn!(manifest = %path.display(), "manifest is gone; the last good one stays in force");
                }
                false
            }
            (Seen::File(_, old, old_head), Seen::File(_, new, new_head)) => old != new || old_head != new_head,
            (_, Seen::Unusable(why)) if seen == now => {
                tracing::debug!(manifest = %path.display(), reason = %why, "manifest still unusable");
                false
            }
            // The reload refuses it with the same reason and records it for `status`.
            (_, Seen::Unusable(why)) => {
                tracing::warn!(manifest = %path.display(), reason = %why, "manifest unusable; the last good one stays in force");
                true
            }
            (_, Seen::File(..)) => true,
        };
        seen = now;
        if changed {
            tracing::info!(manifest = %path.display(), "manifest changed");
            if tx.send(Event::Reload).is_err() {
                return;
            }
        }
    }
}

/// Waits until the manifest's entries in `scope` were quiet for [`QUIET`], or [`LATEST`]
/// passed since the change that woke the watcher; events elsewhere change nothing.
fn settle(raw: &Receiver<Raw>, scope: &Scope) {
    let latest = Instant::now() + LATEST;
    let mut quiet = Instant::now() + QUIET;
    loop {
        let left = quiet.min(latest).saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        match raw.recv_timeout(left) {
            Ok(e) if concerns(scope, &e) => quiet = Instant::now() + QUIET,
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Whether `e` can change what the manifest reads: a change of an entry in `scope`, of a
/// watched directory itself, or one the kernel could not say (an error, a lost queue).
/// Opening and reading a file change nothing.
fn concerns(scope: &Scope, e: &Raw) -> bool {
    let Ok(e) = e else { return true };
    if matches!(e.kind, EventKind::Access(a) if a != AccessKind::Close(AccessMode::Write)) {
        return false;
    }
    e.need_rescan() || e.paths.is_empty() || e.paths.iter().any(|p| in_scope(scope, p))
}

/// `p` is a watched directory or an entry of one that can change what the manifest reads.
fn in_scope(scope: &Scope, p: &Path) -> bool {
    let entry = |names: &Option<BTreeSet<OsString>>| {
        names.as_ref().is_none_or(|n| p.file_name().is_some_and(|f| n.contains(f)))
    };
    scope.contains_key(p) || p.parent().and_then(|d| scope.get(d)).is_some_and(entry)
}

/// The file's stamp and hash, and the commit `git` (the work tree's, looked at now) names;
/// the hash is carried over without reading when the stamp did not move. Nothing here
/// blocks: a FIFO or a device is seen by its stamp and never opened, and the file is read
/// through [`crate::files`].
fn look(path: &Path, before: &Seen, reads: &Reads, git: Option<&Head>) -> Seen {
    let m = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Seen::Missing,
        Err(e) => return Seen::Unusable(format!("cannot read: {e}")),
    };
    let stamp = Stamp {
        dev: m.dev(),
        ino: m.ino(),
        size: m.size(),
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
    };
    let head = git.map(|(_, id)| id.clone());
    if let Seen::File(s, hash, _) = before
        && *s == stamp
    {
        return Seen::File(stamp, hash.clone(), head);
    }
    match crate::files::read(path, crate::files::Kind::Manifest) {
        Ok(bytes) => {
            reads.fetch_add(1, Ordering::Relaxed);
            Seen::File(stamp, crate::manifest::revision::sha256(&bytes), head)
        }
        Err(e) if e.is_missing() => Seen::Missing,
        Err(e) => Seen::Unusable(e.why.to_string()),
    }
}

/// Watches the directories that can change `path` (see the module docs), dropping those
/// that no longer can; returns the scope now watched.
fn rewatch(w: &mut impl Watcher, path: &Path, git: Option<&Head>, old: Scope) -> Scope {
    let new = scope(path, git);
    for d in old.keys().filter(|d| !new.contains_key(*d)) {
        let _ = w.unwatch(d);
    }
    for d in new.keys() {
        // A watch on a directory replaced since (a swapped symlink's target) is renewed.
        let _ = w.unwatch(d);
        if let Err(e) = w.watch(d, RecursiveMode::NonRecursive) {
            tracing::warn!(directory = %d.display(), error = %e, "cannot watch");
        }
    }
    new
}

/// The directories whose entries decide what `path` reads (and its revision: `git`), and
/// those entries.
fn scope(path: &Path, git: Option<&Head>) -> Scope {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = Scope::new();
    // `p`'s name in its directory; every entry of it when `p` has no name (`..`).
    let mut entry = |p: &Path| {
        let Some(dir) = p.parent().and_then(|d| std::fs::canonicalize(d).ok()) else { return };
        match (out.entry(dir).or_insert_with(|| Some(BTreeSet::new())), p.file_name()) {
            (Some(names), Some(name)) => {
                names.insert(name.to_os_string());
            }
            (all, None) => *all = None,
            (None, Some(_)) => {}
        }
    };
    entry(&abs);
    if let Ok(resolved) = std::fs::canonicalize(&abs) {
        entry(&resolved);
    }
    for a in abs.ancestors() {
        if std::fs::symlink_metadata(a).is_ok_and(|m| m.file_type().is_symlink()) {
            entry(a);
        }
    }
    // Git writes HEAD, the index and COMMIT_EDITMSG here on every checkout and commit.
    if let Some(d) = git.and_then(|(git_dir, _)| std::fs::canonicalize(git_dir).ok()) {
        out.insert(d, None);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// A scratch directory with a watched manifest.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let d = std::env::temp_dir().join(format!("lbc-watch-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            Scratch(d)
        }
        fn path(&self, p: &str) -> PathBuf {
            self.0.join(p)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn started(manifest: &Path) -> Receiver<Event> {
        counted(manifest).0
    }

    fn counted(manifest: &Path) -> (Receiver<Event>, Reads) {
        let (tx, rx) = channel();
        let reads = start(manifest.to_path_buf(), tx).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        (rx, reads)
    }

    /// The reload that follows `change`, and how long after it.
    fn reload_after(rx: &Receiver<Event>, change: impl FnOnce()) -> Option<Duration> {
        let t = Instant::now();
        change();
        rx.recv_timeout(Duration::from_secs(3)).ok().map(|e| {
            assert!(matches!(e, Event::Reload), "{e:?}");
            t.elapsed()
        })
    }

    fn quiet(rx: &Receiver<Event>) -> bool {
        rx.recv_timeout(QUIET * 6).is_err()
    }

    #[test]
    fn every_way_of_writing_the_manifest_is_seen_and_nothing_else() {
        let s = Scratch::new("ways");
        let m = s.path("cluster.yaml");
        std::fs::write(&m, "version: 1\n").unwrap();
        let rx = started(&m);
        let took = reload_after(&rx, || std::fs::write(&m, "version: 1 # in place\n").unwrap());
        assert!(took.is_some(), "an in-place write was missed");
        let renamed = reload_after(&rx, || {
            std::fs::write(s.path(".cluster.yaml.swp"), "version: 1 # editor\n").unwrap();
            std::fs::rename(s.path(".cluster.yaml.swp"), &m).unwrap();
        });
        assert!(renamed.is_some(), "a write-and-rename was missed");
        let checkout = reload_after(&rx, || {
            std::fs::remove_file(&m).unwrap();
            std::fs::write(&m, "version: 1 # checkout\n").unwrap();
        });
        assert!(checkout.is_some(), "an unlink-and-create was missed");
        std::fs::write(s.path("other.yaml"), "unrelated\n").unwrap();
        assert!(quiet(&rx), "a file beside it is not the manifest");
        let same = std::fs::read(&m).unwrap();
        std::fs::write(&m, same).unwrap();
        assert!(quiet(&rx), "the same content again is no change");
        std::fs::remove_file(&m).unwrap();
        assert!(quiet(&rx), "a deleted manifest is not reloaded");
        let back = reload_after(&rx, || std::fs::write(&m, "version: 1 # back\n").unwrap());
        assert!(back.is_some(), "the manifest coming back was missed");
    }

    #[test]
    fn an_unchanged_manifest_is_never_read_again() {
        let s = Scratch::new("idle");
        let m = s.path("cluster.yaml");
        std::fs::write(&m, "version: 1\n").unwrap();
        let (rx, reads) = counted(&m);
        assert_eq!(reads.load(Ordering::Relaxed), 1, "read once at start");
        std::thread::sleep(Duration::from_millis(2500));
        std::fs::write(s.path("editor.swp"), "x").unwrap();
        assert!(quiet(&rx));
        // 2.5 s idle and a file written beside it: a 1 s poller would have read it twice.
        assert_eq!(reads.load(Ordering::Relaxed), 1, "the unchanged manifest was read again");
        assert!(reload_after(&rx, || std::fs::write(&m, "version: 1 # new\n").unwrap()).is_some());
        assert_eq!(reads.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_symlink_swap_on_the_path_is_seen_and_followed() {
        let s = Scratch::new("swap");
        for r in ["r1", "r2", "r3"] {
            std::fs::create_dir_all(s.path(&format!("releases/{r}"))).unwrap();
            std::fs::write(s.path(&format!("releases/{r}/cluster.yaml")), format!("version: 1 # {r}\n")).unwrap();
        }
        std::os::unix::fs::symlink("releases/r1", s.path("current")).unwrap();
        let rx = started(&s.path("current/cluster.yaml"));
        let swap = |to: &str| {
            std::os::unix::fs::symlink(to, s.path("current.new")).unwrap();
            std::fs::rename(s.path("current.new"), s.path("current")).unwrap();
        };
        assert!(reload_after(&rx, || swap("releases/r2")).is_some(), "the first swap was missed");
        let in_r2 = s.path("releases/r2/cluster.yaml");
        assert!(reload_after(&rx, || std::fs::write(&in_r2, "version: 1 # r2 edited\n").unwrap()).is_some());
        std::fs::write(s.path("releases/r1/cluster.yaml"), "version: 1 # r1 edited\n").unwrap();
        assert!(quiet(&rx), "the release no longer current is not the manifest");
        assert!(reload_after(&rx, || swap("releases/r3")).is_some(), "the second swap was missed");
    }

    /// Runs `write` every 10 ms on a thread until the returned guard is dropped.
    fn busy(write: impl Fn(u32) + Send + 'static) -> impl Drop {
        struct Stop(Arc<std::sync::atomic::AtomicBool>, Option<std::thread::JoinHandle<()>>);
        impl Drop for Stop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
                self.1.take().unwrap().join().unwrap();
            }
        }
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let t = std::thread::spawn(move || {
            for i in 0.. {
                if flag.load(Ordering::Relaxed) {
                    return;
                }
                write(i);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        Stop(stop, Some(t))
    }

    #[test]
    fn a_file_written_without_pause_beside_the_manifest_does_not_delay_a_reload() {
        let s = Scratch::new("busy");
        let m = s.path("cluster.yaml");
        std::fs::write(&m, "version: 1\n").unwrap();
        let (rx, reads) = counted(&m);
        let log = s.path("lbconverge.log");
        let _writer = busy(move |i| {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
            writeln!(f, "line {i}").unwrap();
        });
        assert!(quiet(&rx), "a log file is not the manifest");
        let took = reload_after(&rx, || std::fs::write(&m, "version: 1 # changed\n").unwrap());
        let took = took.expect("no reload while the file beside it is written every 10 ms");
        assert!(took < Duration::from_secs(1), "the reload came {took:?} after the change");
        assert_eq!(reads.load(Ordering::Relaxed), 2, "read at start and once after the change");
    }

    #[test]
    fn a_manifest_rewritten_without_pause_is_still_reloaded_within_a_second() {
        let s = Scratch::new("rewritten");
        let m = s.path("cluster.yaml");
        std::fs::write(&m, "version: 1\n").unwrap();
        let rx = started(&m);
        let t = Instant::now();
        let path = m.clone();
        let _writer = busy(move |i| std::fs::write(&path, format!("version: 1 # {i}\n")).unwrap());
        let first = rx.recv_timeout(Duration::from_secs(3));
        assert!(matches!(first, Ok(Event::Reload)), "no reload while the manifest is rewritten every 10 ms");
        assert!(t.elapsed() < Duration::from_secs(1), "the first reload came {:?} after the first change", t.elapsed());
    }

    #[test]
    fn only_changes_of_the_manifests_entries_concern_it() {
        use notify::event::{CreateKind, DataChange, ModifyKind, RemoveKind, RenameMode};
        let names = ["cluster.yaml", "current"].map(OsString::from).into();
        let scope: Scope = [(PathBuf::from("/etc/lbc"), Some(names)), (PathBuf::from("/srv/repo/.git"), None)].into();
        let ev = |kind, paths: &[&str]| -> Raw {
            Ok(paths.iter().fold(notify::Event::new(kind), |e, p| e.add_path(PathBuf::from(p))))
        };
        let (file, data) = (EventKind::Create(CreateKind::File), EventKind::Modify(ModifyKind::Data(DataChange::Any)));
        let rename = |mode| EventKind::Modify(ModifyKind::Name(mode));
        let access = |a| EventKind::Access(a);
        let yes = [
            ev(file, &["/etc/lbc/cluster.yaml"]),
            ev(data, &["/etc/lbc/cluster.yaml"]),
            ev(access(AccessKind::Close(AccessMode::Write)), &["/etc/lbc/cluster.yaml"]),
            ev(rename(RenameMode::Both), &["/etc/lbc/.cluster.yaml.swp", "/etc/lbc/cluster.yaml"]),
            ev(rename(RenameMode::To), &["/etc/lbc/current"]),
            ev(EventKind::Remove(RemoveKind::Folder), &["/etc/lbc"]),
            ev(file, &["/srv/repo/.git/index.lock"]),
            Ok(notify::Event::new(EventKind::Other).set_flag(notify::event::Flag::Rescan)),
            Err(notify::Error::generic("lost")),
        ];
        for e in &yes {
            assert!(concerns(&scope, e), "{e:?}");
        }
        let no = [
            ev(data, &["/etc/lbc/lbconverge.log"]),
            ev(rename(RenameMode::From), &["/etc/lbc/.cluster.yaml.swp"]),
            ev(access(AccessKind::Open(AccessMode::Any)), &["/etc/lbc/cluster.yaml"]),
            ev(access(AccessKind::Close(AccessMode::Read)), &["/etc/lbc/cluster.yaml"]),
            ev(access(AccessKind::Open(AccessMode::Any)), &["/etc/lbc"]),
            ev(file, &["/etc/other/cluster.yaml"]),
            ev(file, &["/etc/lbc/cluster.yaml.d/x"]),
        ];
        for e in &no {
            assert!(!concerns(&scope, e), "{e:?}");
        }
    }

    /// Something that cannot be a manifest in its place (a FIFO, a device, a file over the
    /// limit) is looked at without opening it, asks for a reload (which refuses it with the
    /// same reason), and the watcher goes on: a good file after it is seen.
    #[test]
    fn what_cannot_be_a_manifest_is_never_opened_and_asks_for_a_reload_with_its_reason() {
        let s = Scratch::new("unusable");
        let m = s.path("cluster.yaml");
        std::fs::write(&m, "version: 1\n").unwrap();
        let rx = started(&m);
        let fifo = || {
            std::fs::remove_file(&m).unwrap();
            crate::testkit::mkfifo(&m).unwrap();
        };
        assert!(reload_after(&rx, fifo).is_some(), "a FIFO in place of the manifest was not reported");
        let reads = Reads::default();
        let seen = look(&m, &Seen::Missing, &reads, None);
        assert_eq!(seen, Seen::Unusable("not a regular file (a FIFO)".into()));
        let zero = || {
            std::fs::remove_file(&m).unwrap();
            std::os::unix::fs::symlink("/dev/zero", &m).unwrap();
        };
        assert!(reload_after(&rx, zero).is_some(), "/dev/zero in place of the manifest was not reported");
        let seen = look(&m, &Seen::Missing, &reads, None);
        assert_eq!(seen, Seen::Unusable("not a regular file (a character device)".into()));
        let huge = || {
            std::fs::remove_file(&m).unwrap();
            std::fs::File::create(&m).unwrap().set_len(17 << 20).unwrap();
        };
        assert!(reload_after(&rx, huge).is_some(), "a manifest over the limit was not reported");
        let seen = look(&m, &Seen::Missing, &reads, None);
        assert_eq!(seen, Seen::Unusable("larger than the limit of 16 MiB for a manifest".into()));
        assert_eq!(reads.load(Ordering::Relaxed), 0, "nothing was read whole");
        assert!(reload_after(&rx, || std::fs::write(&m, "version: 1 # back\n").unwrap()).is_some());
        std::fs::remove_file(&m).unwrap();
        assert_eq!(look(&m, &Seen::Missing, &reads, None), Seen::Missing);
    }

    fn git(dir: &Path, args: &[&str]) {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=T", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(dir)
            .env_remove("GIT_DIR")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    #[test]
    fn a_commit_that_leaves_the_file_alone_still_moves_the_revision() {
        let s = Scratch::new("git");
        let m = s.path("cluster.yaml");
        std::fs::write(&m, "version: 1\n").unwrap();
        git(&s.0, &["init", "-q"]);
        let rx = started(&m);
        // `git add` and `commit` write only under .git: the file is untouched, its revision
        // becomes "committed".
        let committed = reload_after(&rx, || {
            git(&s.0, &["add", "cluster.yaml"]);
            git(&s.0, &["commit", "-q", "-m", "first"]);
        });
        assert!(committed.is_some(), "the commit of the manifest was missed");
        let _ = rx.recv_timeout(QUIET * 6);
        std::fs::write(s.path("README"), "x").unwrap();
        let other = reload_after(&rx, || {
            git(&s.0, &["add", "README"]);
            git(&s.0, &["commit", "-q", "-m", "second"]);
        });
        assert!(other.is_some(), "HEAD moved: the applied commit must follow");
        let _ = rx.recv_timeout(QUIET * 6);
        git(&s.0, &["status", "--short"]);
        assert!(quiet(&rx), "git status moves nothing");
    }
}
