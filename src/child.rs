//! Commands that must leave nothing behind (script checks, VRRP track scripts): each runs as
//! the leader of a process group of its own, and when it is done, by exiting or by being
//! timed out, the whole group is killed, so that a child started in the background or one
//! that ignores SIGTERM does not live on.
//!
//! The group is killed while its leader is still a zombie (exited, not yet reaped): as long
//! as the leader is not reaped its pid cannot be reused, so the signal cannot reach another
//! group that took the number. The leader's exit is watched without reaping it: through a
//! pidfd (`pidfd_open`, Linux 5.3) where there is one, polled with `waitid(WNOWAIT)` every
//! 10 ms where there is not.
//!
//! A child that moves itself into another process group or session (`setsid`, a daemon
//! that double-forks) escapes the group; that is the one thing a cgroup would catch and a
//! process group does not.
//!
//! [`Group`] serves both worlds: [`Group::exited`] for tokio (the probe engine),
//! [`Group::wait_exit`] for a plain thread (the track scripts). Dropping a [`Group`] whose
//! leader was not reaped kills the group and leaves the reaping to a thread of its own.

use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// How often a leader's exit is polled where no pidfd can watch it.
const POLL: Duration = Duration::from_millis(10);
/// One wait of a limit too far to be a deadline.
const POLL_FOREVER: Duration = Duration::from_secs(3600);

/// A running command, the leader of its own process group.
#[derive(Debug)]
pub struct Group {
    /// The leader, until it is reaped.
    child: Option<Child>,
    /// The group's id: the leader's pid.
    pgid: libc::pid_t,
    /// Readable once the leader exited, where the kernel has pidfds.
    pidfd: Option<OwnedFd>,
}

impl Group {
    /// Starts `cmd` as the leader of a new process group (`setpgid(0, 0)` in the child,
    /// before it runs the command).
    pub fn spawn(cmd: &mut Command) -> io::Result<Group> {
        let child = cmd.process_group(0).spawn()?;
        let pgid = libc::pid_t::try_from(child.id()).map_err(|_| io::Error::other("pid out of range"))?;
        Ok(Group { child: Some(child), pgid, pidfd: pidfd_open(pgid) })
    }

    /// The leader's pid (the group's id).
    pub fn id(&self) -> u32 {
        self.pgid.unsigned_abs()
    }

    /// Sends `signal` to every process of the group; nothing once the leader was reaped.
    pub fn signal(&self, signal: libc::c_int) {
        if self.child.is_some() {
            // SAFETY: kill takes no pointers; the group is ours and its leader not reaped,
            // so the id names no other group.
            unsafe { libc::kill(-self.pgid, signal) };
        }
    }

    /// True once the leader exited (it is not reaped).
    pub fn has_exited(&self) -> io::Result<bool> {
        if self.child.is_none() {
            return Ok(true);
        }
        let mut info: libc::siginfo_t = unsafe_zeroed_siginfo();
        let id = libc::id_t::from(self.pgid.unsigned_abs());
        // SAFETY: info is a valid siginfo_t for the kernel to fill.
        let r = unsafe { libc::waitid(libc::P_PID, id, &raw mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: waitid filled info (si_pid is 0 when the child has not exited).
        Ok(unsafe { info.si_pid() } != 0)
    }

    /// Waits up to `limit` for the leader to exit, on this thread; true when it did.
    pub fn wait_exit(&self, limit: Duration) -> io::Result<bool> {
        let deadline = Instant::now().checked_add(limit);
        loop {
            if self.has_exited()? {
                return Ok(true);
            }
            let left = deadline.map_or(POLL_FOREVER, |d| d.saturating_duration_since(Instant::now()));
            if left.is_zero() {
                return Ok(false);
            }
            match &self.pidfd {
                Some(fd) => poll_readable(fd, left)?,
                None => std::thread::sleep(left.min(POLL)),
            }
        }
    }

    /// Waits for the leader to exit, on tokio (bound it with a timeout).
    pub async fn exited(&self) -> io::Result<()> {
        // Where the pidfd cannot be watched, the exit is polled.
        let watched = self.pidfd.as_ref().and_then(|fd| {
            // SAFETY: the pidfd is this group's, open as long as the group lives, which this
            // borrow outlasts; the AsyncFd ends with this call.
            unsafe { tokio::io::unix::AsyncFd::register_with_interest(fd.as_fd(), tokio::io::Interest::READABLE) }.ok()
        });
        loop {
            if self.has_exited()? {
                return Ok(());
            }
            match &watched {
                Some(fd) => fd.readable().await?.clear_ready(),
                None => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// Kills what is left of the group and reaps the leader: its exit status. Call it
    /// once the leader exited ([`Group::exited`], [`Group::wait_exit`]); before, it waits
    /// for the SIGKILL to take the leader.
    pub fn finish(mut self) -> io::Result<ExitStatus> {
        self.signal(libc::SIGKILL);
        match self.child.take() {
            Some(mut child) => child.wait(),
            None => Err(io::Error::other("already reaped")),
        }
    }
}

impl Group {
    /// Reaps the leader without signalling the group: what it started may outlive it (a
    /// notify command that starts a service). Its exit status.
    pub fn reap(mut self) -> io::Result<ExitStatus> {
        match self.child.take() {
            Some(mut child) => child.wait(),
            None => Err(io::Error::other("already reaped")),
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal(libc::SIGKILL);
        if let Some(mut child) = self.child.take()
            && !matches!(child.try_wait(), Ok(Some(_)))
        {
            // The SIGKILL takes effect in a moment: reaped off this thread.
            let reaper = std::thread::Builder::new().name("reap".into()).spawn(move || child.wait());
            if let Err(e) = reaper {
                tracing::warn!(error = %e, "a killed command is not reaped");
            }
        }
    }
}

/// A pidfd for `pid`: readable once the process exits. None where the kernel has none.
fn pidfd_open(pid: libc::pid_t) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags; it returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = libc::c_int::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: fd is a new descriptor that nothing else owns.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Waits up to `limit` for `fd` to be readable.
fn poll_readable(fd: &OwnedFd, limit: Duration) -> io::Result<()> {
    let mut p = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    let ms = libc::c_int::try_from(limit.as_millis().max(1)).unwrap_or(libc::c_int::MAX);
    // SAFETY: p is one valid pollfd for the call.
    let r = unsafe { libc::poll(&raw mut p, 1, ms) };
    match r {
        -1 if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => Ok(()),
        -1 => Err(io::Error::last_os_error()),
        _ => Ok(()),
    }
}

fn unsafe_zeroed_siginfo() -> libc::siginfo_t {
    // SAFETY: siginfo_t is plain data; all zeros is a valid value (si_pid 0).
    unsafe { std::mem::zeroed() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("/bin/sh");
        c.args(["-c", script]).stdin(std::process::Stdio::null());
        c
    }

    /// Whether a process with `marker` in its command line shows up within a second.
    fn seen(marker: &str) -> bool {
        let t = Instant::now();
        while crate::testkit::pids_with(marker).is_empty() {
            if t.elapsed() > Duration::from_secs(1) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }

    fn gone(marker: &str) -> bool {
        let t = Instant::now();
        while !crate::testkit::pids_with(marker).is_empty() {
            if t.elapsed() > Duration::from_secs(2) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }

    #[test]
    fn the_group_dies_with_its_leader_and_the_status_is_kept() {
        let marker = format!("59.{}1", std::process::id());
        let g = Group::spawn(&mut sh(&format!("sleep {marker} & exit 3"))).unwrap();
        assert!(g.wait_exit(Duration::from_secs(5)).unwrap());
        // Polled: a scan of /proc that meets the child inside its exec reads an empty cmdline.
        assert!(seen(&marker), "the background child runs until the group is killed");
        assert_eq!(g.finish().unwrap().code(), Some(3));
        assert!(gone(&marker), "left behind: {:?}", crate::testkit::pids_with(&marker));
    }

    #[test]
    fn a_group_that_ignores_sigterm_is_killed_and_a_dropped_one_too() {
        let marker = format!("59.{}2", std::process::id());
        let g = Group::spawn(&mut sh(&format!("trap '' TERM; sleep {marker} & sleep {marker}"))).unwrap();
        assert!(!g.wait_exit(Duration::from_millis(100)).unwrap());
        g.signal(libc::SIGTERM);
        assert!(!g.wait_exit(Duration::from_millis(100)).unwrap(), "SIGTERM is ignored");
        drop(g);
        assert!(gone(&marker), "left behind: {:?}", crate::testkit::pids_with(&marker));
    }

    #[test]
    fn tokio_waits_for_the_leader_without_reaping_it() {
        let marker = format!("59.{}3", std::process::id());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let g = Group::spawn(&mut sh(&format!("sleep {marker} & sleep 0.2"))).unwrap();
        let t = Instant::now();
        rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), g.exited()).await }).unwrap().unwrap();
        assert!(t.elapsed() >= Duration::from_millis(150), "{:?}", t.elapsed());
        assert!(g.has_exited().unwrap());
        assert!(g.finish().unwrap().success());
        assert!(gone(&marker), "left behind: {:?}", crate::testkit::pids_with(&marker));
    }
}
