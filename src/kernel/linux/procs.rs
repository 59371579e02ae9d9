//! This host's processes ([`Processes`]): the table read from `/proc/PID/stat` and
//! `/proc/PID/cmdline` (through [`crate::files`], with its limits; zombies left out), and
//! the kernel's process events connector (`NETLINK_CONNECTOR`, group `CN_IDX_PROC`: fork,
//! exec, comm and exit events, threads left out). Where the connector cannot be had (no
//! `CAP_NET_ADMIN`, a network namespace other than the first, a kernel without
//! `CONFIG_PROC_EVENTS`), [`open`] falls back to scanning `/proc` at an interval and giving
//! the events between two scans ([`scan_events`]), and says which in [`Processes::events_source`].

use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use netlink_sys::{Socket, SocketAddr};

use crate::files::{self, Kind};
use crate::kernel::{KResult, KernelError, Processes};
use crate::vrrp::procs::{Proc, ProcEvent, scan_events};

const NETLINK_CONNECTOR: isize = 11;
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
const PROC_CN_MCAST_LISTEN: u32 = 1;
const NLMSG_DONE: u16 = 3;
const PROC_EVENT_FORK: u32 = 0x0000_0001;
const PROC_EVENT_EXEC: u32 = 0x0000_0002;
const PROC_EVENT_COMM: u32 = 0x0000_0200;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;
/// Where `proc_event.what` and `proc_event.event_data` start in a datagram: after the
/// 16-byte `nlmsghdr` and the 20-byte `cn_msg`; `what`, `cpu` and an 8-byte timestamp.
const WHAT: usize = 36;
const DATA: usize = 52;

/// One process from `/proc/PID`, `None` when it is gone, a zombie or unreadable.
pub fn read_proc(pid: u32) -> Option<Proc> {
    let dir = Path::new("/proc").join(pid.to_string());
    let stat = files::read(&dir.join("stat"), Kind::ProcStat).ok()?;
    let (comm, state, ppid) = parse_stat(&stat)?;
    if state == b'Z' {
        return None;
    }
    let cmdline = files::read(&dir.join("cmdline"), Kind::ProcCmdline).ok()?;
    Some(Proc { pid, ppid, comm, cmdline })
}

/// The name, state and parent of `/proc/PID/stat`: `PID (NAME) S PPID ...`; the name may
/// hold spaces and parentheses, so it ends at the last `)`.
fn parse_stat(stat: &[u8]) -> Option<(Vec<u8>, u8, u32)> {
    let open = stat.iter().position(|b| *b == b'(')?;
    let close = stat.iter().rposition(|b| *b == b')')?;
    let comm = stat.get(open + 1..close)?.to_vec();
    let rest = std::str::from_utf8(stat.get(close + 1..)?).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    let state = *fields.next()?.as_bytes().first()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((comm, state, ppid))
}

/// Every process in `/proc` now.
pub fn read_all() -> KResult<Vec<Proc>> {
    let dir = std::fs::read_dir("/proc").map_err(|e| KernelError::io("list", "/proc", e))?;
    let pids = dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok());
    Ok(pids.filter_map(read_proc).collect())
}

/// The process source of this host: the connector, else a scan every `interval`.
pub fn open(interval: Duration) -> Box<dyn Processes + Send> {
    match Connector::open() {
        Ok(c) => Box::new(c),
        Err(e) => {
            tracing::info!(error = %e, "process events connector unavailable; tracked processes are scanned from /proc");
            Box::new(Scan { interval, last: None, table: BTreeMap::new() })
        }
    }
}

/// The kernel's process events connector.
pub struct Connector {
    sock: Socket,
    buf: Vec<u8>,
}

impl Connector {
    /// Opens the connector and asks for process events (needs `CAP_NET_ADMIN` in the first
    /// network namespace).
    pub fn open() -> KResult<Connector> {
        let fail = |e| KernelError::io("listen to", "the process events connector", e);
        let mut sock = Socket::new(NETLINK_CONNECTOR).map_err(fail)?;
        sock.bind(&SocketAddr::new(0, CN_IDX_PROC)).map_err(fail)?;
        let mut msg = Vec::with_capacity(40);
        msg.extend_from_slice(&40u32.to_ne_bytes());
        msg.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        msg.extend_from_slice(&0u16.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(&std::process::id().to_ne_bytes());
        for word in [CN_IDX_PROC, CN_VAL_PROC, 0, 0] {
            msg.extend_from_slice(&word.to_ne_bytes());
        }
        msg.extend_from_slice(&4u16.to_ne_bytes());
        msg.extend_from_slice(&0u16.to_ne_bytes());
        msg.extend_from_slice(&PROC_CN_MCAST_LISTEN.to_ne_bytes());
        sock.send(&msg, 0).map_err(fail)?;
        sock.set_non_blocking(true).map_err(fail)?;
        Ok(Connector { sock, buf: vec![0; 4096] })
    }

    /// Waits up to `wait` for the socket to be readable.
    fn wait(&self, wait: Duration) -> std::io::Result<()> {
        let mut pfd = libc::pollfd { fd: self.sock.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let ms = libc::c_int::try_from(wait.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd for the duration of the call.
        let r = unsafe { libc::poll(&raw mut pfd, 1, ms) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        Ok(())
    }
}

/// A native-endian u32 at `at`.
fn word(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

/// The event in one connector datagram, processes only; `None` for anything else.
fn decode(d: &[u8]) -> Option<ProcEvent> {
    let (what, pid, tgid) = (word(d, WHAT)?, word(d, DATA)?, word(d, DATA + 4)?);
    match what {
        PROC_EVENT_FORK => {
            let (child, child_tgid) = (word(d, DATA + 8)?, word(d, DATA + 12)?);
            (child == child_tgid).then_some(ProcEvent::Fork { parent: tgid, child })
        }
        PROC_EVENT_EXEC if pid == tgid => read_proc(pid).map(ProcEvent::Exec),
        PROC_EVENT_COMM if pid == tgid => read_proc(pid).map(ProcEvent::Comm),
        PROC_EVENT_EXIT if pid == tgid => Some(ProcEvent::Exit(pid)),
        _ => None,
    }
}

impl Processes for Connector {
    fn processes(&mut self) -> KResult<Vec<Proc>> {
        read_all()
    }

    fn process_events(&mut self, wait: Duration) -> KResult<Option<Vec<ProcEvent>>> {
        let fail = |e| KernelError::io("read", "process events", e);
        self.wait(wait).map_err(fail)?;
        let mut out = Vec::new();
        loop {
            let mut buf = &mut self.buf[..];
            match self.sock.recv_from(&mut buf, 0) {
                // Only the kernel (port 0) sends process events.
                Ok((n, from)) if from.port_number() == 0 => out.extend(self.buf.get(..n).and_then(decode)),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(Some(out)),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => return Ok(None),
                Err(e) => return Err(fail(e)),
            }
        }
    }

    fn events_source(&self) -> String {
        "the process events connector".into()
    }
}

/// `/proc` scanned every `interval`.
pub struct Scan {
    interval: Duration,
    last: Option<Instant>,
    table: BTreeMap<u32, Proc>,
}

impl Processes for Scan {
    fn processes(&mut self) -> KResult<Vec<Proc>> {
        let all = read_all()?;
        self.table = all.iter().map(|p| (p.pid, p.clone())).collect();
        self.last = Some(Instant::now());
        Ok(all)
    }

    fn process_events(&mut self, wait: Duration) -> KResult<Option<Vec<ProcEvent>>> {
        let due = self.last.map_or(Duration::ZERO, |l| self.interval.saturating_sub(l.elapsed()));
        if due > wait {
            std::thread::sleep(wait);
            return Ok(Some(Vec::new()));
        }
        std::thread::sleep(due);
        let old = std::mem::take(&mut self.table);
        self.processes()?;
        Ok(Some(scan_events(&old, &self.table)))
    }

    fn events_source(&self) -> String {
        format!("a /proc scan every {:?}", self.interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_the_name_state_and_parent() {
        assert_eq!(parse_stat(b"42 (sleep) S 7 42 42 0"), Some((b"sleep".to_vec(), b'S', 7)));
        assert_eq!(parse_stat(b"9 (a) b) (c) Z 1 9"), Some((b"a) b) (c".to_vec(), b'Z', 1)), "to the last )");
        assert_eq!(parse_stat(b"9 (x"), None);
        assert_eq!(parse_stat(b""), None);
        assert_eq!(parse_stat(b"9 (x) S notanumber"), None);
    }

    #[test]
    fn this_process_reads_from_proc() {
        let me = read_proc(std::process::id()).unwrap();
        assert!(!me.comm.is_empty());
        assert!(me.cmdline.ends_with(&[0]), "{:?}", me.cmdline);
        assert!(read_all().unwrap().iter().any(|p| p.pid == std::process::id()));
        assert_eq!(read_proc(u32::MAX), None);
    }

    #[test]
    fn connector_datagrams_decode_to_process_events() {
        let dgram = |what: u32, data: &[u32]| {
            let mut d = vec![0u8; DATA];
            d[WHAT..WHAT + 4].copy_from_slice(&what.to_ne_bytes());
            data.iter().for_each(|w| d.extend_from_slice(&w.to_ne_bytes()));
            d
        };
        assert_eq!(decode(&dgram(PROC_EVENT_FORK, &[5, 5, 9, 9])), Some(ProcEvent::Fork { parent: 5, child: 9 }));
        assert_eq!(decode(&dgram(PROC_EVENT_FORK, &[5, 5, 10, 9])), None, "a thread");
        assert_eq!(decode(&dgram(PROC_EVENT_EXIT, &[9, 9, 0, 0])), Some(ProcEvent::Exit(9)));
        assert_eq!(decode(&dgram(PROC_EVENT_EXIT, &[10, 9, 0, 0])), None, "a thread's exit");
        let me = std::process::id();
        assert!(matches!(decode(&dgram(PROC_EVENT_EXEC, &[me, me])), Some(ProcEvent::Exec(p)) if p.pid == me));
        assert_eq!(decode(&dgram(0x4, &[1, 1])), None, "a uid change");
        assert_eq!(decode(&[0; 10]), None, "short");
    }

    /// (root) The connector reports a child's exec and exit; the scan reports them too.
    #[test]
    #[ignore = "needs root: the process events connector"]
    fn both_sources_see_a_process_come_and_go() {
        let mut sources: Vec<Box<dyn Processes + Send>> = vec![
            Box::new(Connector::open().unwrap()),
            Box::new(Scan { interval: Duration::from_millis(50), last: None, table: BTreeMap::new() }),
        ];
        for s in &mut sources {
            s.processes().unwrap();
            let mut child = std::process::Command::new("sleep").arg("0.3").spawn().unwrap();
            let pid = child.id();
            let mut seen = Vec::new();
            let until = Instant::now() + Duration::from_secs(2);
            while Instant::now() < until && !seen.contains(&ProcEvent::Exit(pid)) {
                seen.extend(s.process_events(Duration::from_millis(50)).unwrap().unwrap_or_default());
                if child.try_wait().unwrap().is_some() && seen.iter().any(|e| matches!(e, ProcEvent::Exec(_))) {
                    seen.extend(s.process_events(Duration::from_millis(100)).unwrap().unwrap_or_default());
                }
            }
            let _ = child.wait();
            let exec = seen.iter().any(|e| matches!(e, ProcEvent::Exec(p) if p.pid == pid && p.comm == b"sleep"));
            assert!(exec, "{}: no exec of sleep in {seen:?}", s.events_source());
            assert!(seen.contains(&ProcEvent::Exit(pid)), "{}: no exit in {seen:?}", s.events_source());
        }
    }
}
