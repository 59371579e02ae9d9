//! Watches the manifest with inotify (the `notify` crate) and asks for a reload when its
//! content changes, however it was written: in place, an editor's write-and-rename, `git
//! checkout` (unlink, then create), `git pull`, or a symlink swap anywhere on its path
//! (`current -> releases/N`). Nothing is polled: the thread sleeps until the kernel reports
//! a change in one of the watched directories, waits until they are quiet for
//! [`QUIET`] (a file being written is never read half-way), then compares the file's
//! identity (device, inode, size, times) and only when that moved reads and hashes it.
//! A deleted manifest is logged once; the last good one stays in force.
//!
//! Watched: the manifest's directory, the directory its path resolves to, the directory
//! of every symlink on the way (where a swap shows up), and the git directory when the
//! file is in a work tree: a commit or checkout that changes the revision but not the file
//! (HEAD moved) asks for a reload too, so the applied commit is never stale. The set is
//! computed again after every change, so a swapped symlink moves the watch along.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use super::Event;
use super::error::DaemonError;
use crate::load::git;

/// The git directory of the manifest's work tree and the commit its HEAD names.
type Head = (PathBuf, String);

/// How long the watched directories must be quiet before the manifest is looked at.
pub const QUIET: Duration = Duration::from_millis(50);

/// What identifies one version of the file without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

/// The manifest as last seen: its stamp, content hash, and the commit its work tree's
/// HEAD names (a checkout or commit changes the revision without changing the file);
/// `None` while it is missing.
type Seen = Option<(Stamp, String, Option<String>)>;

/// How many times a watcher read the manifest whole (nothing is polled: tests count).
pub type Reads = Arc<AtomicU64>;

/// Starts the watching thread; it ends when the daemon's event channel closes.
pub fn start(path: PathBuf, tx: Sender<Event>) -> Result<Reads, DaemonError> {
    let reads = Reads::default();
    let (raw_tx, raw_rx) = channel::<()>();
    let watcher = notify::recommended_watcher(move |_: notify::Result<notify::Event>| {
        let _ = raw_tx.send(());
    })
    .map_err(|source| DaemonError::Watch { path: path.clone(), source })?;
    let git = git::head(&path);
    let seen = look(&path, &None, &reads, git.as_ref());
    let counted = reads.clone();
    super::spawn("manifest-watch".into(), move || watch(&path, watcher, &raw_rx, (seen, git), &tx, &counted))?;
    Ok(reads)
}

fn watch(
    path: &Path,
    mut watcher: impl Watcher,
    raw: &Receiver<()>,
    (mut seen, git): (Seen, Option<Head>),
    tx: &Sender<Event>,
    reads: &Reads,
) {
    let mut dirs = rewatch(&mut watcher, path, git.as_ref(), BTreeSet::new());
    while raw.recv().is_ok() {
        while raw.recv_timeout(QUIET).is_ok() {}
        // One look at the work tree per change serves both the watch set and the revision.
        let git = git::head(path);
        dirs = rewatch(&mut watcher, path, git.as_ref(), dirs);
        let now = look(path, &seen, reads, git.as_ref());
        let changed = match (&seen, &now) {
            (Some(_), None) => {
                tracing::warn!(manifest = %path.display(), "manifest is gone; the last good one stays in force");
                false
            }
            (Some((_, old, old_head)), Some((_, new, new_head))) => old != new || old_head != new_head,
            (None, Some(_)) => true,
            (None, None) => false,
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

/// The file's stamp and hash, and the commit `git` (the work tree's, looked at now) names;
/// the hash is carried over without reading when the stamp did not move.
fn look(path: &Path, before: &Seen, reads: &Reads, git: Option<&Head>) -> Seen {
    let m = std::fs::metadata(path).ok().filter(std::fs::Metadata::is_file)?;
    let stamp = Stamp {
        dev: m.dev(),
        ino: m.ino(),
        size: m.size(),
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
    };
    let head = git.map(|(_, id)| id.clone());
    if let Some((s, hash, _)) = before
        && *s == stamp
    {
        return Some((stamp, hash.clone(), head));
    }
    let bytes = crate::manifest::read(path).ok()?;
    reads.fetch_add(1, Ordering::Relaxed);
    Some((stamp, crate::manifest::revision::sha256(&bytes), head))
}

/// Watches the directories that can change `path` (see the module docs), dropping those
/// that no longer can; returns the set now watched.
fn rewatch(w: &mut impl Watcher, path: &Path, git: Option<&Head>, old: BTreeSet<PathBuf>) -> BTreeSet<PathBuf> {
    let new = dirs(path, git);
    for d in old.difference(&new) {
        let _ = w.unwatch(d);
    }
    for d in &new {
        // A watch on a directory replaced since (a swapped symlink's target) is renewed.
        let _ = w.unwatch(d);
        if let Err(e) = w.watch(d, RecursiveMode::NonRecursive) {
            tracing::warn!(directory = %d.display(), error = %e, "cannot watch");
        }
    }
    new
}

/// The directories whose entries decide what `path` reads (and its revision: `git`).
fn dirs(path: &Path, git: Option<&Head>) -> BTreeSet<PathBuf> {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = BTreeSet::new();
    let mut add = |d: Option<&Path>| {
        if let Some(d) = d.and_then(|d| std::fs::canonicalize(d).ok()) {
            out.insert(d);
        }
    };
    add(abs.parent());
    add(std::fs::canonicalize(&abs).ok().as_deref().and_then(Path::parent));
    for a in abs.ancestors() {
        if std::fs::symlink_metadata(a).is_ok_and(|m| m.file_type().is_symlink()) {
            add(a.parent());
        }
    }
    // Git writes HEAD, the index and COMMIT_EDITMSG here on every checkout and commit.
    add(git.map(|(git_dir, _)| git_dir.as_path()));
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
