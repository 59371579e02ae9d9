//! The daemon's state files never decide whether VRRP runs (DESIGN §4.8). `drains.json` and
//! `ledger.json` are checked at start (before anything reads them), at every reload and
//! after a reconcile pass that failed: each is read through [`crate::files`] (never through
//! a symlink, never blocking, size capped) and parsed. One that is damaged (not JSON of its
//! kind, not a regular file, a symlink, over its limit) is reported (an error in the log,
//! `status`, the `lbconverge_state_file_damaged` metric) and moved aside to
//! `<name>.damaged-<unix time>`, kept for the operator to look at, so that the daemon can
//! write a good one. Renaming deletes nothing, so a FIFO, socket or device node there is
//! moved aside too; a directory is left in place (lbconverge did not create it and never
//! moves or deletes what it did not create) and reported at every check. An I/O error (no
//! permission) is reported and the file left alone: it may read next time. The daemon runs
//! in every case:
//!
//! - drains: damaged at start, they are unknown: none is in force, `status` and the
//!   `lbconverge_drains_unknown` metric say so, and the operator drains again what must
//!   stay drained. Damaged at a reload, the daemon still holds them and writes them back.
//! - ledger: lost, it is empty, the safe default. lbconverge deletes only what the ledger
//!   says it owns, so it then deletes nothing it cannot prove it created. What the manifest
//!   declares and the kernel holds is adopted again by the next apply; what the lost
//!   ledger owned and the manifest no longer declares stays in the kernel (`plan` shows it
//!   as not managed), and the values sysctls had before lbconverge first set them are lost
//!   with it (a sysctl later dropped from the manifest keeps its value).
//!
//! ```text
//! check(state_dir, now) -> [Found { file, problem, moved_to }]   (nothing when all is well)
//! ```

use std::path::{Path, PathBuf};

use super::status::{DamagedState, Record};
use super::{Daemon, Platform};
use crate::files::{self, Kind};
use crate::kernel::Kernel;
use crate::kernel::linux::ledger;
use crate::load;

/// Parses a state file's text, keeping only whether it parsed.
type Parse = fn(&str) -> Result<(), serde_json::Error>;

/// The state files, their kind, and how each is parsed.
const FILES: [(&str, Kind, Parse); 2] = [
    (load::drains::FILE, Kind::Drains, |t| load::drains::parse(t).map(drop)),
    (ledger::FILE, Kind::Ledger, |t| ledger::parse(t).map(drop)),
];

/// Attempts at a free `.damaged-` name (two damages in one second get `-1`, `-2`, ...).
const ATTEMPTS: u32 = 16;

/// A state file found damaged, and what was done with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The file's name in the state directory (`drains.json`).
    pub name: &'static str,
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub problem: String,
    /// Where it was moved; `None`: left in place (the reason is in `left`).
    pub moved_to: Option<PathBuf>,
    /// Why it was left in place, when it was.
    pub left: Option<String>,
}

/// Checks the state files in `state_dir`, moving the damaged ones aside (see the module
/// docs); returns what it found. Never blocks, never fails.
pub fn check(state_dir: &Path, now: u64) -> Vec<Found> {
    FILES.iter().filter_map(|(name, kind, parse)| check_one(state_dir, name, *kind, *parse, now)).collect()
}

fn check_one(dir: &Path, name: &'static str, kind: Kind, parse: Parse, now: u64) -> Option<Found> {
    let path = dir.join(name);
    let (problem, damaged) = match files::read_text(&path, kind) {
        Ok(text) => (parse(&text).err().map(|e| format!("not a {} ({e})", kind.what()))?, true),
        Err(e) if e.is_missing() => return None,
        Err(e) => (e.why.to_string(), e.is_unusable()),
    };
    let (moved_to, left) = match damaged {
        true => match move_aside(&path, now) {
            Ok(to) => (Some(to), None),
            Err(why) => (None, Some(why)),
        },
        false => (None, Some("it may read next time".to_string())),
    };
    Some(Found { name, path, problem, moved_to, left })
}

/// Renames `path` to `<name>.damaged-<now>` beside it; a directory is left in place.
fn move_aside(path: &Path, now: u64) -> Result<PathBuf, String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("cannot look at it: {e}"))?;
    if meta.is_dir() {
        return Err("a directory is left in place: lbconverge did not create it".into());
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    for n in 0..ATTEMPTS {
        let suffix = if n == 0 { String::new() } else { format!("-{n}") };
        let to = path.with_file_name(format!("{name}.damaged-{now}{suffix}"));
        if std::fs::symlink_metadata(&to).is_ok() {
            continue;
        }
        return std::fs::rename(path, &to).map(|()| to).map_err(|e| format!("cannot move it aside: {e}"));
    }
    Err(format!("cannot move it aside: {ATTEMPTS} names `{name}.damaged-{now}*` are taken"))
}

impl Found {
    /// Logs it as an error: the daemon runs on.
    fn log(&self) {
        let file = self.path.display();
        match (&self.moved_to, &self.left) {
            (Some(to), _) => {
                tracing::error!(%file, problem = %self.problem, moved_to = %to.display(), "state file damaged; moved aside, the daemon runs on")
            }
            (None, why) => {
                let left = why.as_deref().unwrap_or_default();
                tracing::error!(%file, problem = %self.problem, %left, "state file damaged; left in place, the daemon runs on")
            }
        }
    }
}

impl Record {
    /// Notes a damaged state file for `status` and the metrics: one entry per file, the
    /// latest finding and how many there were.
    fn damaged(&mut self, f: &Found, at: u64) {
        let file = f.path.display().to_string();
        let times = self.damaged_state.iter().find(|d| d.file == file).map_or(0, |d| d.times);
        self.damaged_state.retain(|d| d.file != file);
        self.damaged_state.push(DamagedState {
            file,
            name: f.name.to_string(),
            problem: f.problem.clone(),
            at,
            moved_to: f.moved_to.as_ref().map(|p| p.display().to_string()),
            left: f.left.clone(),
            times: times.saturating_add(1),
        });
        self.damaged_state.sort_by(|a, b| a.file.cmp(&b.file));
    }
}

/// Checks the state files at start, before anything reads them; records what it found in
/// `record`. Returns the drains, or `None` when they are unknown.
pub(super) fn at_start(state_dir: &Path, record: &mut Record) -> Option<crate::model::drain::Drains> {
    let now = crate::utc::unix_now();
    let found = check(state_dir, now);
    for f in &found {
        f.log();
        record.damaged(f, now);
    }
    let read = match found.iter().any(|f| f.name == load::drains::FILE) {
        true => None,
        false => load::drains::read(state_dir).map_err(|e| tracing::error!("{e}")).ok(),
    };
    if read.is_none() {
        tracing::error!("the drains are unknown: none is in force; drain again what must stay drained");
        record.drains_unknown = true;
    }
    read
}

impl<K: Kernel, P: Platform> Daemon<K, P> {
    /// Checks the state files (at a reload, after a failed reconcile): damaged ones are
    /// reported and moved aside; the drains the daemon holds are written back.
    pub(super) fn check_state_files(&mut self) {
        let now = crate::utc::unix_now();
        let found = check(&self.opts.state_dir, now);
        for f in &found {
            f.log();
            self.record.damaged(f, now);
        }
        if found.iter().any(|f| f.name == load::drains::FILE && f.moved_to.is_some()) {
            let _ = self.save_drains();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testkit::Scratch;

    fn names(d: &Scratch) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        v.sort();
        v
    }

    #[test]
    fn good_and_missing_files_are_left_alone() {
        let d = Scratch::new("state-files-good").unwrap();
        assert!(check(d.path(), 7).is_empty());
        std::fs::write(d.join("drains.json"), "{\"drains\": []}").unwrap();
        std::fs::write(d.join("ledger.json"), "{}").unwrap();
        assert!(check(d.path(), 7).is_empty());
        assert_eq!(names(&d), ["drains.json", "ledger.json"]);
    }

    #[test]
    fn damaged_files_move_aside_and_a_directory_stays() {
        let d = Scratch::new("state-files-damaged").unwrap();
        std::fs::write(d.join("drains.json"), "garbage").unwrap();
        std::os::unix::fs::symlink("/dev/zero", d.join("ledger.json")).unwrap();
        let found = check(d.path(), 7);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].problem, "not a drains file (expected value at line 1 column 1)");
        assert_eq!(found[0].moved_to, Some(d.join("drains.json.damaged-7")));
        assert_eq!(found[1].problem, "a symlink; lbconverge never reads its ledger through a symlink");
        assert_eq!(names(&d), ["drains.json.damaged-7", "ledger.json.damaged-7"]);
        assert_eq!(std::fs::read_link(d.join("ledger.json.damaged-7")).unwrap(), Path::new("/dev/zero"));
        // Again in the same second: the first one is kept.
        std::fs::write(d.join("drains.json"), "[]").unwrap();
        assert_eq!(check(d.path(), 7)[0].moved_to, Some(d.join("drains.json.damaged-7-1")));
        std::fs::create_dir(d.join("ledger.json")).unwrap();
        let found = check(d.path(), 8);
        assert_eq!(found[0].problem, "not a regular file (a directory)");
        assert_eq!(
            (found[0].moved_to.as_ref(), found[0].left.as_deref()),
            (None, Some("a directory is left in place: lbconverge did not create it"))
        );
        assert!(d.join("ledger.json").is_dir());
    }
}
