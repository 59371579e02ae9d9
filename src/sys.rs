//! The few raw libc socket calls the socket crates do not offer, shared by the netlink
//! sockets (kernel) and the VRRP sockets (vrrp), with their sizes computed once.

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
