//! The few raw libc calls no crate wraps for us: socket options shared by the netlink
//! sockets (kernel) and the VRRP sockets (vrrp), and user lookup for script checks.

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
