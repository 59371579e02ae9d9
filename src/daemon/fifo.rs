//! The notify FIFOs (`notify_fifos`, keepalived's `notify_fifo` / `vrrp_notify_fifo` /
//! `lvs_notify_fifo`): the daemon writes each event as one line, in keepalived's words, to
//! every FIFO that takes its kind (`events`: VRRP, the health checks' `lvs`, or both), and
//! runs each FIFO's reading command for as long as the FIFO is configured.
//!
//! - VRRP lines ([`word_line`], [`group_line`], [`priority_line`],
//!   [`lower_priority_line`]): `INSTANCE "VI_1" MASTER 150`, `GROUP "G1" BACKUP 0`,
//!   `INSTANCE "VI_1" MASTER_PRIORITY 130`, `INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150`,
//!   each ending in a newline, as keepalived writes them. The instance threads write them
//!   as the events happen, after queueing the event's notify commands (keepalived's
//!   order); on a reload, the FIFOs with `states_on_reload` get every instance's and
//!   group's current state line ([`Fifos::write_states`]).
//! - The health checks' lines (`VS ...`, `RS ...`, [`super::lvs_lines`]) come from the
//!   daemon's thread ([`Fifos::write_lvs`]), with the same never-waiting write.
//! - Never waiting: a FIFO is opened read-write and non-blocking, as keepalived opens it, so
//!   neither the open nor a write ever waits for a reader; a line too long for the pipe's
//!   room is dropped (logged once until a write succeeds again), never half written (a line
//!   is shorter than PIPE_BUF, so each write is whole or nothing).
//! - Ownership: a missing FIFO is created (mode 0644) and removed when it is no longer
//!   configured or the daemon stops, if it is still the one created; an existing path is
//!   used only when it is a FIFO owned by the daemon's user (not through a symlink), and is
//!   left in place.
//! - The command (keepalived's `notify_fifo_script`) starts once the FIFO is open, with the
//!   FIFO's path as its last argument, in a process group of its own; it is not restarted
//!   when it ends (logged); it is stopped (SIGTERM, then SIGKILL after 2 s) after its FIFO
//!   was removed and closed, so that a reader sees the last lines, then the end.

use std::ffi::CString;
use std::fs::File;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::model::cluster::NotifyFifo;
use crate::vrrp::fsm::State;

/// How long a stopped command has between SIGTERM and SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);
/// How often a command's watcher looks for a stop while the command runs.
const WATCH: Duration = Duration::from_millis(200);

/// A state as keepalived's notify names it (the instance's stop is `STOP`).
pub fn state_word(s: State) -> &'static str {
    match s {
        State::Master => "MASTER",
        State::Backup => "BACKUP",
        State::Fault => "FAULT",
        State::Initialize => "STOP",
    }
}

/// An instance's event with keepalived's word for it: `INSTANCE "VI_1" MASTER 150`; a
/// state ([`state_word`]), or `DELETED` / `FAULT` for an instance a reload removed
/// (`removal_notify`).
pub fn word_line(name: &str, word: &str, priority: u8) -> String {
    format!("INSTANCE \"{name}\" {word} {priority}\n")
}

/// A sync group's state change: `GROUP "G1" BACKUP 0` (keepalived gives a group priority 0).
pub fn group_line(name: &str, to: State) -> String {
    format!("GROUP \"{name}\" {} 0\n", state_word(to))
}

/// An instance's new effective priority (`notify_priority_changes`): `MASTER_PRIORITY`
/// while master, `BACKUP_PRIORITY` in any other state, as keepalived words it.
pub fn priority_line(name: &str, state: State, priority: u8) -> String {
    let what = if state == State::Master { "MASTER_PRIORITY" } else { "BACKUP_PRIORITY" };
    format!("INSTANCE \"{name}\" {what} {priority}\n")
}

/// A master heard a lower priority (two masters after a partition): keepalived's
/// `MASTER_RX_LOWER_PRI` line, with the master's own priority.
pub fn lower_priority_line(name: &str, priority: u8) -> String {
    format!("INSTANCE \"{name}\" MASTER_RX_LOWER_PRI {priority}\n")
}

/// The FIFOs in force, shared by the daemon and its VRRP threads.
#[derive(Clone, Default)]
pub struct Fifos(Arc<Mutex<Vec<Open>>>);

/// One FIFO as the daemon holds it.
struct Open {
    spec: NotifyFifo,
    /// The open FIFO; `None` when it could not be had (logged).
    file: Option<File>,
    /// The FIFO was created by the daemon: (device, inode) of what it created.
    created: Option<(u64, u64)>,
    /// The running command's watcher.
    command: Option<Watcher>,
    /// A line was dropped and no write succeeded since (logged once).
    full: bool,
}

impl Fifos {
    /// No FIFO.
    pub fn new() -> Self {
        Fifos::default()
    }

    /// Makes `specs` the FIFOs in force: one with the same path and command keeps running
    /// (taking its new `events` and `states_on_reload`); one no longer given is removed
    /// and its command stopped; a new one is opened (created when missing) and its command
    /// started. Failures are logged, never returned: a FIFO costs a log line, not a
    /// failover.
    pub fn configure(&self, specs: &[NotifyFifo]) {
        let same = |o: &Open, s: &NotifyFifo| o.spec.path == s.path && o.spec.command == s.command;
        let gone: Vec<Open> = {
            let mut open = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            let (keep, gone): (Vec<Open>, Vec<Open>) = open.drain(..).partition(|o| specs.iter().any(|s| same(o, s)));
            *open = keep;
            for s in specs {
                match open.iter_mut().find(|o| same(o, s)) {
                    Some(o) => o.spec = s.clone(),
                    None => open.push(Open::start(s.clone())),
                }
            }
            gone
        };
        gone.into_iter().for_each(Open::close);
    }

    /// Writes a VRRP `line` to every FIFO that takes VRRP events; never waits.
    pub fn write(&self, line: &str) {
        self.write_to(|f| f.events.vrrp, line);
    }

    /// Writes a health checks' `line` (`VS ...`, `RS ...`) to every FIFO that takes them;
    /// never waits.
    pub fn write_lvs(&self, line: &str) {
        self.write_to(|f| f.events.lvs, line);
    }

    /// Writes a VRRP state `line` a reload repeats to every FIFO with `states_on_reload`;
    /// never waits.
    pub fn write_states(&self, line: &str) {
        self.write_to(|f| f.events.vrrp && f.states_on_reload, line);
    }

    /// True when a FIFO wants the states written on a reload.
    pub fn wants_states(&self) -> bool {
        let open = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        open.iter().any(|o| o.spec.events.vrrp && o.spec.states_on_reload)
    }

    fn write_to(&self, takes: impl Fn(&NotifyFifo) -> bool, line: &str) {
        let mut open = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for o in open.iter_mut().filter(|o| takes(&o.spec)) {
            o.write(line);
        }
    }

    /// Removes and closes every FIFO, then stops their commands.
    pub fn stop(&self) {
        self.configure(&[]);
    }
}

impl Open {
    fn start(spec: NotifyFifo) -> Open {
        let mut o = Open { spec, file: None, created: None, command: None, full: false };
        let path = o.spec.path.clone();
        let created = match make_fifo(&path) {
            Ok(made) => made,
            Err(e) => {
                tracing::error!(fifo = %path.display(), error = %e, "notify FIFO not created; not used");
                return o;
            }
        };
        match open_fifo(&path) {
            Ok(f) => {
                o.created = created.then(|| identity(&f)).flatten();
                o.file = Some(f);
            }
            Err(e) => {
                tracing::error!(fifo = %path.display(), error = %e, "notify FIFO not opened; not used");
                if created {
                    let _ = std::fs::remove_file(&path);
                }
                return o;
            }
        }
        tracing::info!(fifo = %path.display(), created, "notify FIFO open");
        o.command = o.spec.command.as_ref().and_then(|argv| Watcher::start(argv, &path));
        o
    }

    fn write(&mut self, line: &str) {
        let Some(f) = &mut self.file else { return };
        match f.write(line.as_bytes()) {
            Ok(n) if n == line.len() => self.full = false,
            Ok(_) | Err(_) if self.full => {}
            Ok(n) => {
                self.full = true;
                tracing::warn!(fifo = %self.spec.path.display(), written = n, "notify FIFO line cut short");
            }
            Err(e) => {
                self.full = true;
                let reason = match e.kind() {
                    std::io::ErrorKind::WouldBlock => {
                        "the FIFO is full: its reader is not keeping up, or there is none".to_string()
                    }
                    _ => e.to_string(),
                };
                tracing::warn!(fifo = %self.spec.path.display(), line = %line.trim_end(), %reason, "notify FIFO line dropped; more may follow until a write succeeds");
            }
        }
    }

    /// Removes the FIFO if it is still the one the daemon created, closes it, then stops
    /// its command (which then reads the last lines and the end).
    fn close(mut self) {
        let path = &self.spec.path;
        if let (Some(made), Ok(now)) = (self.created, std::fs::symlink_metadata(path))
            && (now.dev(), now.ino()) == made
            && let Err(e) = std::fs::remove_file(path)
        {
            tracing::warn!(fifo = %path.display(), error = %e, "notify FIFO not removed");
        }
        self.file = None;
        tracing::info!(fifo = %path.display(), "notify FIFO closed");
        if let Some(w) = self.command.take() {
            w.stop();
        }
    }
}

/// Creates the FIFO when missing: true when it did.
fn make_fifo(path: &Path) -> std::io::Result<bool> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: `c` is a NUL-terminated path that lives across the call.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o644) } == 0 {
        return Ok(true);
    }
    match std::io::Error::last_os_error() {
        e if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        e => Err(e),
    }
}

/// Opens the FIFO read-write and non-blocking (the open never waits for a reader, and a
/// write never fails for lack of one), not through a symlink; refuses what is not a FIFO
/// owned by this process's user.
fn open_fifo(path: &Path) -> std::io::Result<File> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)?;
    let m = f.metadata()?;
    // SAFETY: geteuid takes no arguments and cannot fail.
    let me = unsafe { libc::geteuid() };
    use std::os::unix::fs::FileTypeExt;
    if !m.file_type().is_fifo() {
        return Err(std::io::Error::other("it is not a FIFO; remove it or choose another path"));
    }
    if m.uid() != me {
        return Err(std::io::Error::other(format!("it is owned by uid {}, not {me}: not ours to write", m.uid())));
    }
    Ok(f)
}

/// (device, inode) of an open file.
fn identity(f: &File) -> Option<(u64, u64)> {
    f.metadata().ok().map(|m| (m.dev(), m.ino()))
}

/// A FIFO's command, watched on a thread of its own that logs its end and reaps it, and
/// stops it when told.
struct Watcher {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl Watcher {
    fn start(argv: &[String], fifo: &Path) -> Option<Watcher> {
        let (prog, args) = argv.split_first()?;
        let mut c = std::process::Command::new(prog);
        c.args(args).arg(fifo).stdin(Stdio::null());
        for v in super::hooks::DROPPED_ENV {
            c.env_remove(v);
        }
        let command = argv.join(" ");
        let group = match crate::child::Group::spawn(&mut c) {
            Ok(g) => g,
            Err(e) => {
                tracing::error!(fifo = %fifo.display(), %command, error = %e, "notify FIFO command not started");
                return None;
            }
        };
        tracing::info!(fifo = %fifo.display(), %command, pid = group.id(), "notify FIFO command started");
        let (stop, rx) = channel();
        let name = fifo.display().to_string();
        let watched = super::spawn("fifo-command".into(), move || watch(&name, &command, group, &rx));
        match watched {
            Ok(thread) => Some(Watcher { stop, thread }),
            Err(e) => {
                tracing::error!(fifo = %fifo.display(), error = %e, "notify FIFO command not watched; stopped");
                None
            }
        }
    }

    /// Stops the command, and waits (at most the grace) until it is gone.
    fn stop(self) {
        let _ = self.stop.send(());
        if self.thread.join().is_err() {
            tracing::error!("internal error: a notify FIFO command's watcher crashed");
        }
    }
}

/// Waits for the command to end or for a stop; on a stop, SIGTERM, the grace, SIGKILL.
fn watch(fifo: &str, command: &str, group: crate::child::Group, stop: &std::sync::mpsc::Receiver<()>) {
    loop {
        if group.wait_exit(WATCH).unwrap_or(true) {
            let status = group.finish().map_or_else(|e| e.to_string(), |s| s.to_string());
            return tracing::warn!(%fifo, %command, %status, "notify FIFO command ended; not restarted");
        }
        if !matches!(stop.try_recv(), Err(std::sync::mpsc::TryRecvError::Empty)) {
            group.signal(libc::SIGTERM);
            let _ = group.wait_exit(TERM_GRACE);
            let _ = group.finish();
            return tracing::info!(%fifo, %command, "notify FIFO command stopped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::FileTypeExt;
    use std::path::PathBuf;
    use std::time::Instant;

    #[test]
    fn lines_are_keepalived_words() {
        assert_eq!(word_line("VI_1", state_word(State::Master), 150), "INSTANCE \"VI_1\" MASTER 150\n");
        assert_eq!(word_line("VI_1", state_word(State::Backup), 100), "INSTANCE \"VI_1\" BACKUP 100\n");
        assert_eq!(word_line("VI_1", state_word(State::Fault), 100), "INSTANCE \"VI_1\" FAULT 100\n");
        assert_eq!(word_line("VI_1", state_word(State::Initialize), 100), "INSTANCE \"VI_1\" STOP 100\n");
        assert_eq!(word_line("VI_1", "DELETED", 100), "INSTANCE \"VI_1\" DELETED 100\n");
        assert_eq!(group_line("G1", State::Backup), "GROUP \"G1\" BACKUP 0\n");
        assert_eq!(group_line("G1", State::Initialize), "GROUP \"G1\" STOP 0\n");
        assert_eq!(priority_line("VI_1", State::Master, 130), "INSTANCE \"VI_1\" MASTER_PRIORITY 130\n");
        assert_eq!(priority_line("VI_1", State::Backup, 110), "INSTANCE \"VI_1\" BACKUP_PRIORITY 110\n");
        assert_eq!(priority_line("VI_1", State::Fault, 90), "INSTANCE \"VI_1\" BACKUP_PRIORITY 90\n");
        assert_eq!(lower_priority_line("VI_1", 150), "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 150\n");
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lbc-fifo-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn fifo(path: &Path, command: Option<Vec<String>>) -> NotifyFifo {
        NotifyFifo { path: path.to_path_buf(), command, events: Default::default(), states_on_reload: false }
    }

    fn reader(path: &Path) -> File {
        std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).unwrap()
    }

    #[test]
    fn each_fifo_gets_the_events_it_takes_and_keeps_running_when_only_they_change() {
        use crate::model::cluster::FifoEvents;
        let dir = scratch("events");
        let paths: Vec<PathBuf> = ["vrrp", "lvs", "both"].iter().map(|n| dir.join(format!("{n}.fifo"))).collect();
        let with = |p: &Path, vrrp, lvs, states_on_reload| NotifyFifo {
            events: FifoEvents { vrrp, lvs },
            states_on_reload,
            ..fifo(p, None)
        };
        let fifos = Fifos::new();
        fifos.configure(&[
            with(&paths[0], true, false, false),
            with(&paths[1], false, true, false),
            with(&paths[2], true, true, true),
        ]);
        let mut readers: Vec<File> = paths.iter().map(|p| reader(p)).collect();
        assert!(fifos.wants_states());
        fifos.write(&word_line("VI_1", state_word(State::Master), 150));
        fifos.write_lvs("VS [10.0.0.1]:tcp:80 UP\n");
        fifos.write_states(&group_line("G1", State::Backup));
        // The first FIFO now takes the states too: the same FIFO, still open.
        fifos.configure(&[
            with(&paths[0], true, false, true),
            with(&paths[1], false, true, false),
            with(&paths[2], true, true, true),
        ]);
        fifos.write_states(&word_line("VI_1", state_word(State::Master), 150));
        fifos.stop();
        let text: Vec<String> = readers
            .iter_mut()
            .map(|r| {
                let mut t = String::new();
                r.read_to_string(&mut t).unwrap();
                t
            })
            .collect();
        assert_eq!(
            text,
            [
                "INSTANCE \"VI_1\" MASTER 150\nINSTANCE \"VI_1\" MASTER 150\n",
                "VS [10.0.0.1]:tcp:80 UP\n",
                "INSTANCE \"VI_1\" MASTER 150\nVS [10.0.0.1]:tcp:80 UP\nGROUP \"G1\" BACKUP 0\nINSTANCE \"VI_1\" MASTER 150\n",
            ]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_fifo_is_created_written_in_order_and_removed() {
        let dir = scratch("order");
        let path = dir.join("notify.fifo");
        let fifos = Fifos::new();
        fifos.configure(&[fifo(&path, None)]);
        assert!(std::fs::metadata(&path).unwrap().file_type().is_fifo());
        let mut reader = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&path).unwrap();
        fifos.write(&word_line("VI_1", state_word(State::Backup), 100));
        fifos.write(&word_line("VI_1", state_word(State::Master), 100));
        fifos.write(&group_line("G1", State::Master));
        fifos.stop();
        assert!(!path.exists(), "the FIFO the daemon created is removed");
        let mut text = String::new();
        reader.read_to_string(&mut text).unwrap();
        assert_eq!(text, "INSTANCE \"VI_1\" BACKUP 100\nINSTANCE \"VI_1\" MASTER 100\nGROUP \"G1\" MASTER 0\n");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_fifo_nobody_reads_never_blocks_a_write() {
        let dir = scratch("full");
        let path = dir.join("notify.fifo");
        let fifos = Fifos::new();
        fifos.configure(&[fifo(&path, None)]);
        let line = word_line("VI_1", state_word(State::Master), 100);
        let t0 = Instant::now();
        // Far more than a pipe holds (64 KiB by default): the rest is dropped at once.
        for _ in 0..20_000 {
            fifos.write(&line);
        }
        assert!(t0.elapsed() < Duration::from_secs(2), "writes waited {:?}", t0.elapsed());
        fifos.stop();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_existing_path_that_is_not_a_fifo_is_left_alone() {
        let dir = scratch("file");
        let path = dir.join("notify.fifo");
        std::fs::write(&path, "mine\n").unwrap();
        let fifos = Fifos::new();
        fifos.configure(&[fifo(&path, Some(vec!["/bin/true".into()]))]);
        fifos.write("INSTANCE \"VI_1\" MASTER 100\n");
        fifos.stop();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine\n");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_existing_fifo_is_used_and_left_in_place() {
        let dir = scratch("existing");
        let path = dir.join("notify.fifo");
        assert!(make_fifo(&path).unwrap());
        let fifos = Fifos::new();
        fifos.configure(&[fifo(&path, None)]);
        fifos.stop();
        assert!(std::fs::metadata(&path).unwrap().file_type().is_fifo());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_command_gets_the_path_and_is_stopped_with_its_fifo() {
        let dir = scratch("command");
        let path = dir.join("notify.fifo");
        let out = dir.join("out");
        // Records its arguments, then reads the FIFO until its end.
        let script = "echo \"$@\" > \"$0\"; cat \"$1\" >> \"$0\"";
        let argv = vec!["/bin/sh".into(), "-c".into(), script.into(), out.display().to_string()];
        let fifos = Fifos::new();
        fifos.configure(&[fifo(&path, Some(argv.clone()))]);
        fifos.write(&word_line("VI_1", state_word(State::Master), 100));
        let t = Instant::now();
        while !std::fs::read_to_string(&out).unwrap_or_default().contains("MASTER") {
            assert!(t.elapsed() < Duration::from_secs(5), "the command did not read the FIFO");
            std::thread::sleep(Duration::from_millis(10));
        }
        // The same settings again: nothing restarts.
        fifos.configure(&[fifo(&path, Some(argv))]);
        let t0 = Instant::now();
        fifos.stop();
        assert!(t0.elapsed() < TERM_GRACE, "the command was not stopped at once: {:?}", t0.elapsed());
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(text, format!("{}\nINSTANCE \"VI_1\" MASTER 100\n", path.display()));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
