//! VRRP track files (keepalived's `track_file`): each file's directory is watched with
//! inotify (the `notify` crate, as the manifest is), and the file is read again whenever an
//! entry of that name is closed after a write, moved or removed (keepalived's events). Reading goes through
//! [`crate::files`] (a FIFO or a device is never opened, at most 4 KiB is read): a missing
//! or unusable file counts as 0, as keepalived counts a file it cannot open, and is logged;
//! the number is parsed as keepalived parses it ([`parse_file_value`]). A directory that
//! cannot be watched (it does not exist yet) is tried again every second, and the file is
//! read when its watch starts.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher};

use super::error::DaemonError;
use crate::files::{self, Kind};
use crate::model::cluster::TrackFile;
use crate::vrrp::track::parse_file_value;

/// How often the thread looks at its stop flag.
const TICK: Duration = Duration::from_millis(100);
/// How often an unwatched directory is tried again.
const RETRY: Duration = Duration::from_secs(1);

/// A new number read from a track file, by the file's name.
pub type FileReport = (String, i64);

/// The number in the file at `path` now, as keepalived counts it; `None` when the number is
/// out of range (the last number stays). Everything unusable is logged.
pub fn read_value(name: &str, path: &Path) -> Option<i64> {
    match files::read(path, Kind::TrackFile) {
        Ok(bytes) => {
            let v = parse_file_value(&bytes);
            if v.is_none() {
                tracing::warn!(track_file = name, path = %path.display(), "track file holds a number out of range; ignored");
            }
            v
        }
        Err(e) if e.is_missing() => {
            tracing::debug!(track_file = name, path = %path.display(), "track file missing; counts as 0");
            Some(0)
        }
        Err(e) => {
            tracing::warn!(track_file = name, error = %e, "track file unusable; counts as 0");
            Some(0)
        }
    }
}

/// Writes a track file's `init_file` number: when the file is missing, or always with
/// `overwrite`. A failure is logged; tracking goes on with what the file holds.
pub fn init(name: &str, f: &TrackFile) {
    let Some((value, overwrite)) = f.init else { return };
    if !overwrite && std::fs::symlink_metadata(&f.path).is_ok() {
        return;
    }
    if let Err(e) = std::fs::write(&f.path, format!("{value}\n")) {
        tracing::warn!(track_file = name, path = %f.path.display(), error = %e, "track file not initialised");
    }
}

/// Starts the thread that watches `tracked` (name -> path) and sends each file's number
/// when it changes, until `stop`.
pub fn start(
    tracked: BTreeMap<String, PathBuf>,
    tx: Sender<FileReport>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, DaemonError> {
    super::spawn("track-files".into(), move || watch(&tracked, &tx, &stop))
}

/// The directory and the entry name of each tracked file.
fn places(tracked: &BTreeMap<String, PathBuf>) -> Vec<(String, PathBuf, PathBuf, OsString)> {
    let split = |(n, p): (&String, &PathBuf)| {
        let dir = p.parent()?.to_path_buf();
        Some((n.clone(), p.clone(), dir, p.file_name()?.to_os_string()))
    };
    tracked.iter().filter_map(split).collect()
}

fn watch(tracked: &BTreeMap<String, PathBuf>, tx: &Sender<FileReport>, stop: &AtomicBool) {
    let (raw_tx, raw_rx) = channel::<notify::Result<notify::Event>>();
    let mut watcher = match notify::recommended_watcher(move |e| {
        let _ = raw_tx.send(e);
    }) {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(error = %e, "track files cannot be watched; they keep the numbers read at start");
            return;
        }
    };
    let places = places(tracked);
    let mut watched: BTreeMap<PathBuf, bool> = places.iter().map(|(_, _, d, _)| (d.clone(), false)).collect();
    let mut last_try: Option<Instant> = None;
    while !stop.load(Ordering::SeqCst) {
        if last_try.is_none_or(|t| t.elapsed() >= RETRY) && watched.values().any(|w| !w) {
            last_try = Some(Instant::now());
            for (dir, ok) in watched.iter_mut().filter(|(_, ok)| !**ok) {
                *ok = watcher.watch(dir, RecursiveMode::NonRecursive).is_ok();
                if *ok {
                    // What was written before the watch started.
                    let here = places.iter().filter(|(_, _, d, _)| d == dir);
                    here.for_each(|(n, p, _, _)| send(tx, n, p));
                } else {
                    tracing::debug!(dir = %dir.display(), "track file directory cannot be watched yet");
                }
            }
        }
        let Ok(event) = raw_rx.recv_timeout(TICK) else { continue };
        let Ok(event) = event else {
            // Lost events: read every file again.
            places.iter().for_each(|(n, p, _, _)| send(tx, n, p));
            continue;
        };
        // As keepalived: a file written and closed, moved or removed; not a write under
        // way (a truncated file is not read half-written).
        let counts = matches!(
            event.kind,
            EventKind::Access(AccessKind::Close(AccessMode::Write))
                | EventKind::Remove(_)
                | EventKind::Modify(ModifyKind::Name(_))
        );
        if !counts {
            continue;
        }
        for (n, p, dir, entry) in &places {
            let hit = event.paths.iter().any(|e| e.parent() == Some(dir.as_path()) && e.file_name() == Some(entry));
            let gone = event.paths.iter().any(|e| e == dir);
            if gone {
                watched.insert(dir.clone(), false);
            }
            if hit || gone {
                send(tx, n, p);
            }
        }
    }
}

fn send(tx: &Sender<FileReport>, name: &str, path: &Path) {
    if let Some(v) = read_value(name, path) {
        let _ = tx.send((name.to_string(), v));
    }
}
