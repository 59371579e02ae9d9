//! The few raw libc calls no crate wraps for us: socket options shared by the netlink
//! sockets (kernel) and the VRRP sockets (vrrp), user lookup for script checks, and giving
//! the memory of start-up back once the daemon has converged.

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

/// Gives the kernel back what start-up or a reload touched and the steady state does not
/// need: the pages of this process's own executable (code and read-only data, read again
/// from the page cache or disk when next run; `MADV_PAGEOUT`, Linux 5.4) and, with glibc,
/// the free pages of the heap. Pages another process maps too are left alone by the
/// kernel. Returns the bytes of executable mappings advised.
pub fn release_cold_memory() -> io::Result<usize> {
    let exe = std::fs::read_link("/proc/self/exe")?;
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let mut advised = 0;
    for (start, len) in read_only_ranges(&maps, &exe.to_string_lossy()) {
        // SAFETY: the range is one whole mapping of this process with no write permission;
        // MADV_PAGEOUT only drops clean pages, which the next access reads back unchanged.
        if unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_PAGEOUT) } != 0 {
            return Err(io::Error::last_os_error());
        }
        advised += len;
    }
    trim_heap();
    Ok(advised)
}

/// Returns the heap's free pages to the kernel (glibc's `malloc_trim`).
#[cfg(target_env = "gnu")]
fn trim_heap() {
    // SAFETY: malloc_trim only releases memory malloc holds free; no pointer is touched.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(not(target_env = "gnu"))]
fn trim_heap() {}

/// The `(start, length)` of each mapping of the file `exe` without write permission, from
/// the text of `/proc/PID/maps` (`start-end perms offset dev inode   path`).
fn read_only_ranges(maps: &str, exe: &str) -> Vec<(usize, usize)> {
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.splitn(6, ' ');
            let range = fields.next()?;
            let perms = fields.next()?;
            let path = fields.nth(3)?.trim_start();
            let (start, end) = range.split_once('-')?;
            let start = usize::from_str_radix(start, 16).ok()?;
            let end = usize::from_str_radix(end, 16).ok()?;
            (path == exe && !perms.contains('w') && end > start).then_some((start, end - start))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_ranges_are_the_executables_unwritable_mappings() {
        let maps = "\
55d0c0000000-55d0c0100000 r--p 00000000 fd:01 1234                       /usr/sbin/lbconverge
55d0c0100000-55d0c0b00000 r-xp 00100000 fd:01 1234                       /usr/sbin/lbconverge
55d0c0b00000-55d0c0b02000 rw-p 00b00000 fd:01 1234                       /usr/sbin/lbconverge
55d0c0b02000-55d0c0b03000 r--p 00000000 fd:01 99                         /usr/sbin/lbconverge-other
7f0000000000-7f0000200000 r-xp 00000000 fd:01 77                         /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000300000-7f0000321000 rw-p 00000000 00:00 0                          [heap]
7f0000400000-7f0000401000 r-xp 00000000 00:00 0 
";
        let want = vec![(0x55d0_c000_0000, 0x10_0000), (0x55d0_c010_0000, 0xa0_0000)];
        assert_eq!(read_only_ranges(maps, "/usr/sbin/lbconverge"), want);
    }

    #[test]
    fn a_replaced_executable_is_still_found() {
        let maps = "1000-3000 r-xp 00000000 fd:01 1234 /usr/sbin/lbconverge (deleted)\n";
        assert_eq!(read_only_ranges(maps, "/usr/sbin/lbconverge (deleted)"), vec![(0x1000, 0x2000)]);
        assert_eq!(read_only_ranges(maps, "/usr/sbin/lbconverge"), vec![]);
    }

    #[test]
    fn release_cold_memory_advises_this_test_binary() {
        let advised = release_cold_memory().unwrap_or(0);
        assert!(advised > 0, "no executable mapping advised");
    }
}
