//! The few Linux calls (x86_64 and aarch64 glibc) the scale benchmark's programs make,
//! declared by hand so that they build with `rustc -O` alone (tools/bench-health-scale):
//! no crate, no build step. Included with `#[path]` by floor.rs and backends.rs.

#![allow(dead_code)]

pub const AF_INET: i32 = 2;
pub const SOCK_STREAM: i32 = 1;
pub const SOCK_NONBLOCK: i32 = 0o4000;
pub const SOCK_CLOEXEC: i32 = 0o2000000;
pub const SOL_SOCKET: i32 = 1;
pub const SO_ERROR: i32 = 4;
pub const SO_REUSEADDR: i32 = 2;
pub const SO_REUSEPORT: i32 = 15;
pub const EPOLL_CTL_ADD: i32 = 1;
pub const EPOLL_CTL_DEL: i32 = 2;
pub const EPOLLIN: u32 = 0x1;
pub const EPOLLOUT: u32 = 0x4;
pub const EPOLLERR: u32 = 0x8;
pub const EPOLLHUP: u32 = 0x10;
pub const EPOLLRDHUP: u32 = 0x2000;
pub const EPOLLET: u32 = 1 << 31;
pub const EAGAIN: i32 = 11;
pub const EINPROGRESS: i32 = 115;
pub const EINTR: i32 = 4;
pub const RUSAGE_SELF: i32 = 0;

#[cfg_attr(target_arch = "x86_64", repr(C, packed))]
#[cfg_attr(not(target_arch = "x86_64"), repr(C))]
#[derive(Clone, Copy)]
pub struct EpollEvent {
    pub events: u32,
    pub data: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct SockaddrIn {
    pub family: u16,
    /// Network order.
    pub port: u16,
    /// Network order.
    pub addr: u32,
    pub zero: [u8; 8],
}

impl SockaddrIn {
    /// `a.b.c.d:port` from a host-order address.
    pub fn new(addr: u32, port: u16) -> Self {
        SockaddrIn { family: AF_INET as u16, port: port.to_be(), addr: addr.to_be(), zero: [0; 8] }
    }
}

#[repr(C)]
pub struct Timeval {
    pub sec: i64,
    pub usec: i64,
}

#[repr(C)]
pub struct Rusage {
    pub utime: Timeval,
    pub stime: Timeval,
    pub rest: [i64; 14],
}

extern "C" {
    pub fn socket(domain: i32, ty: i32, proto: i32) -> i32;
    pub fn connect(fd: i32, addr: *const SockaddrIn, len: u32) -> i32;
    pub fn bind(fd: i32, addr: *const SockaddrIn, len: u32) -> i32;
    pub fn listen(fd: i32, backlog: i32) -> i32;
    pub fn accept4(fd: i32, addr: *mut SockaddrIn, len: *mut u32, flags: i32) -> i32;
    pub fn getsockname(fd: i32, addr: *mut SockaddrIn, len: *mut u32) -> i32;
    pub fn getsockopt(fd: i32, level: i32, name: i32, val: *mut i32, len: *mut u32) -> i32;
    pub fn setsockopt(fd: i32, level: i32, name: i32, val: *const i32, len: u32) -> i32;
    pub fn read(fd: i32, buf: *mut u8, n: usize) -> isize;
    pub fn write(fd: i32, buf: *const u8, n: usize) -> isize;
    pub fn close(fd: i32) -> i32;
    pub fn epoll_create1(flags: i32) -> i32;
    pub fn epoll_ctl(ep: i32, op: i32, fd: i32, ev: *mut EpollEvent) -> i32;
    pub fn epoll_wait(ep: i32, evs: *mut EpollEvent, max: i32, timeout_ms: i32) -> i32;
    pub fn getrusage(who: i32, usage: *mut Rusage) -> i32;
    fn __errno_location() -> *mut i32;
}

/// The calling thread's errno.
pub fn errno() -> i32 {
    unsafe { *__errno_location() }
}

/// User plus system CPU of this process so far, in microseconds.
pub fn cpu_us() -> u64 {
    let mut u = Rusage { utime: Timeval { sec: 0, usec: 0 }, stime: Timeval { sec: 0, usec: 0 }, rest: [0; 14] };
    unsafe { getrusage(RUSAGE_SELF, &mut u) };
    let us = |t: &Timeval| (t.sec * 1_000_000 + t.usec) as u64;
    us(&u.utime) + us(&u.stime)
}

/// `a.b.c.d` to a host-order address.
pub fn parse_v4(s: &str) -> Option<u32> {
    let mut out = 0u32;
    let mut parts = 0;
    for p in s.split('.') {
        out = (out << 8) | u32::from(p.parse::<u8>().ok()?);
        parts += 1;
    }
    (parts == 4).then_some(out)
}
