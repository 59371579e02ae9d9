//! The few raw libc calls no crate wraps for us: socket options shared by the netlink
//! sockets (kernel) and the VRRP sockets (vrrp), user lookup for script checks, giving the
//! heap's free pages back once the daemon has converged, and the daemon's memory lock and
//! realtime scheduling (`run --lock-memory`, `--realtime`, `auto_realtime`), the lower
//! priority of the probe engine's threads, entering a named network namespace, and the
//! time since boot (`startup_delay_after_boot`).

use std::io;
use std::os::fd::AsRawFd;

/// The size of `T` as a socket-address or option length.
pub fn socklen_of<T>() -> libc::socklen_t {
    libc::socklen_t::try_from(std::mem::size_of::<T>()).unwrap_or(libc::socklen_t::MAX)
}

/// `setsockopt(fd, level, name, &value, sizeof(int))`.
pub fn setsockopt_int(
    sock: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    let len = socklen_of::<libc::c_int>();
    // SAFETY: the fd is live for the duration of the call (borrowed from `sock`); `value`
    // outlives it and `len` is its size.
    let r = unsafe { libc::setsockopt(sock.as_raw_fd(), level, name, (&raw const value).cast(), len) };
    if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// The uid and gid of a user, from the system's user database (`getpwnam_r`).
pub fn user_ids(name: &str) -> Option<(u32, u32)> {
    let cname = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: a zeroed passwd is a valid out-parameter; getpwnam_r fills it with pointers
    // into `buf`, which outlives every use of `pw` below.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: cname is NUL-terminated; pw, buf and found are valid for the call.
    let r = unsafe { libc::getpwnam_r(cname.as_ptr(), &raw mut pw, buf.as_mut_ptr(), buf.len(), &raw mut found) };
    (r == 0 && !found.is_null()).then_some((pw.pw_uid, pw.pw_gid))
}

/// Locks every page of this process in memory, now and future (`mlockall`), so that no
/// VRRP timer ever waits for a page to be read back (keepalived's `vrrp_no_swap`).
pub fn lock_memory() -> io::Result<()> {
    // SAFETY: mlockall takes flags only and touches no memory of ours.
    let r = unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) };
    if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// Runs the calling thread under `SCHED_RR` at `priority` (1-99), or back under
/// `SCHED_OTHER` with `None` (keepalived's `vrrp_rt_priority`).
pub fn set_realtime(priority: Option<u8>) -> io::Result<()> {
    let (policy, prio) = match priority {
        Some(p) => (libc::SCHED_RR, libc::c_int::from(p)),
        None => (libc::SCHED_OTHER, 0),
    };
    let param = libc::sched_param { sched_priority: prio };
    // SAFETY: pthread_self is this thread; param is a valid sched_param for the call.
    let r = unsafe { libc::pthread_setschedparam(libc::pthread_self(), policy, &raw const param) };
    if r == 0 { Ok(()) } else { Err(io::Error::from_raw_os_error(r)) }
}

/// The nice value of the calling thread (Linux keeps one per thread).
pub fn thread_nice() -> io::Result<i32> {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let who = libc::id_t::try_from(tid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    // getpriority may return -1 as a value: errno tells an error apart.
    // SAFETY: __errno_location points at this thread's errno.
    unsafe { *libc::__errno_location() = 0 };
    // SAFETY: getpriority reads the scheduler's value for a thread id; no memory of ours.
    let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, who) };
    match io::Error::last_os_error().raw_os_error() {
        Some(0) | None => Ok(nice),
        Some(_) => Err(io::Error::last_os_error()),
    }
}

/// Makes the calling thread (alone) `by` nicer than it is, at most 19: under load the
/// scheduler prefers the others. Giving priority up needs no privilege.
pub fn lower_thread_priority(by: i32) -> io::Result<i32> {
    let nice = thread_nice()?.saturating_add(by).min(19);
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let who = libc::id_t::try_from(tid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: setpriority changes a thread's nice value; no memory of ours is touched.
    let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, who, nice) };
    if r == 0 { Ok(nice) } else { Err(io::Error::last_os_error()) }
}

/// Returns the heap's free pages to the kernel (glibc's `malloc_trim`): what loading a
/// manifest allocated and freed.
#[cfg(target_env = "gnu")]
pub fn trim_heap() {
    // SAFETY: malloc_trim only releases memory malloc holds free; no pointer is touched.
    unsafe { libc::malloc_trim(0) };
}

/// Without glibc there is nothing to trim.
#[cfg(not(target_env = "gnu"))]
pub fn trim_heap() {}

/// Moves the calling thread into the named network namespace (`/run/netns/NAME`, where
/// `ip netns add` keeps it); the threads and processes it starts afterwards are in it too.
pub fn enter_netns(name: &str) -> io::Result<()> {
    let path = std::path::Path::new("/run/netns").join(name);
    let file = std::fs::File::open(path)?;
    // SAFETY: the descriptor is open for the call (borrowed from `file`); setns only
    // changes this thread's namespace.
    let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// How long the system has been up, suspended time included (`CLOCK_BOOTTIME`, what
/// `/proc/uptime` shows); zero if the clock cannot be read.
pub fn uptime() -> std::time::Duration {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a valid out-parameter for the call.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &raw mut t) };
    let secs = u64::try_from(t.tv_sec).unwrap_or(0);
    let nanos = u32::try_from(t.tv_nsec).unwrap_or(0);
    if r == 0 { std::time::Duration::new(secs, nanos) } else { std::time::Duration::ZERO }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realtime_can_be_set_and_taken_back_where_allowed() {
        match set_realtime(Some(1)) {
            Ok(()) => set_realtime(None).unwrap(),
            Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{e}"),
        }
    }
}
