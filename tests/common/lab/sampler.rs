//! Who holds the VIP, every 10 ms: one rtnetlink socket per node, opened inside the node's
//! namespace, asked for an address dump (like `ip -o addr show`) on every tick. The samples
//! answer "when did n2 first hold it" and "was there ever a dual master".
//!
//! A node only counts for the dual-master check while the lab says its VRRP daemon is
//! *active*: a SIGKILLed daemon leaves its VIP on the interface (keepalived and any daemon
//! that is killed do), which is a stale address on a dead node, not a second master.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::netns;

/// The sampling period: 10 ms, or `LBC_LAB_SAMPLE_MS` (the benchmark samples faster so
/// that takeover times are not rounded to the 10 ms grid).
pub fn period() -> Duration {
    let ms = std::env::var("LBC_LAB_SAMPLE_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    Duration::from_millis(ms)
}

/// One tick: which nodes held the VIP and which were active (bit i = node i).
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// When the last node's answer arrived.
    pub t: Instant,
    /// Nodes whose namespace had the VIP.
    pub held: u32,
    /// Nodes whose VRRP daemon the lab considered running at that moment.
    pub active: u32,
}

impl Sample {
    /// Nodes that held the VIP while active.
    pub fn masters(&self) -> u32 {
        self.held & self.active
    }
}

/// A run of consecutive samples in which two or more active nodes held the VIP.
#[derive(Debug, Clone)]
pub struct Overlap {
    /// First and last sample of the run.
    pub first: Instant,
    /// Last sample of the run.
    pub last: Instant,
    /// How many samples the run spans.
    pub samples: usize,
    /// The nodes that held it (bit mask, union over the run).
    pub nodes: u32,
}

/// A running sampler; it stops on drop.
pub struct Sampler {
    names: Vec<String>,
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Starts sampling `vip` in each `(node, namespace)`; `active[i]` is node i's flag.
    pub fn start(nodes: &[(String, String)], vip: IpAddr, active: Arc<Vec<AtomicBool>>) -> Sampler {
        let mut socks: Vec<AddrSocket> = nodes.iter().map(|(_, ns)| AddrSocket::open_in(ns)).collect();
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, st2) = (samples.clone(), stop.clone());
        let thread = thread::Builder::new()
            .name("vip-sampler".into())
            .spawn(move || sample_loop(&mut socks, vip, &active, &s2, &st2))
            .expect("spawn the VIP sampler");
        let names = nodes.iter().map(|(n, _)| n.clone()).collect();
        let s = Sampler { names, samples, stop, thread: Some(thread) };
        s.wait_first_sample();
        s
    }

    fn wait_first_sample(&self) {
        let end = Instant::now() + Duration::from_secs(2);
        while self.samples.lock().unwrap().is_empty() {
            assert!(Instant::now() < end, "the VIP sampler took no sample in 2 s");
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// A copy of the samples so far.
    pub fn samples(&self) -> Vec<Sample> {
        self.samples.lock().unwrap().clone()
    }

    /// Bit of `node` in the masks. Panics on an unknown node.
    pub fn bit(&self, node: &str) -> u32 {
        let i = self.names.iter().position(|n| n == node).unwrap_or_else(|| panic!("unknown node {node}"));
        1 << i
    }

    /// The node names, in bit order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The latest sample.
    pub fn last(&self) -> Sample {
        *self.samples.lock().unwrap().last().expect("at least one sample")
    }

    /// Time of the first sample at or after `after` in which `node` held the VIP
    /// (`present`) or did not (`!present`).
    pub fn first(&self, node: &str, present: bool, after: Instant) -> Option<Instant> {
        let bit = self.bit(node);
        let s = self.samples.lock().unwrap();
        s.iter().find(|x| x.t >= after && ((x.held & bit) != 0) == present).map(|x| x.t)
    }

    /// True if the latest sample shows `node` as the only node holding the VIP.
    pub fn sole_holder(&self, node: &str) -> bool {
        self.last().held == self.bit(node)
    }

    /// Every run of samples with two or more active holders.
    pub fn dual_master(&self) -> Vec<Overlap> {
        overlaps(&self.samples.lock().unwrap())
    }

    /// Names of the nodes in `mask`.
    pub fn describe(&self, mask: u32) -> String {
        let v: Vec<&str> =
            self.names.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, n)| n.as_str()).collect();
        if v.is_empty() { "nobody".into() } else { v.join("+") }
    }

    /// Stops the thread (also done on drop).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Groups the samples with two or more active holders into runs.
pub fn overlaps(samples: &[Sample]) -> Vec<Overlap> {
    let mut out: Vec<Overlap> = Vec::new();
    let mut in_run = false;
    for s in samples {
        let m = s.masters();
        if m.count_ones() < 2 {
            in_run = false;
            continue;
        }
        match out.last_mut() {
            Some(o) if in_run => {
                o.last = s.t;
                o.samples += 1;
                o.nodes |= m;
            }
            _ => out.push(Overlap { first: s.t, last: s.t, samples: 1, nodes: m }),
        }
        in_run = true;
    }
    out
}

fn sample_loop(
    socks: &mut [AddrSocket],
    vip: IpAddr,
    active: &[AtomicBool],
    out: &Mutex<Vec<Sample>>,
    stop: &AtomicBool,
) {
    let mut next = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let mut held = 0;
        for (i, s) in socks.iter_mut().enumerate() {
            match s.has(vip) {
                Ok(true) => held |= 1 << i,
                Ok(false) => {}
                Err(e) => panic!("address dump for the VIP sampler: {e}"),
            }
        }
        let act = active.iter().enumerate().filter(|(_, a)| a.load(Ordering::SeqCst)).fold(0, |m, (i, _)| m | 1 << i);
        out.lock().unwrap().push(Sample { t: Instant::now(), held, active: act });
        next += period();
        let now = Instant::now();
        if next > now {
            thread::sleep(next - now);
        } else {
            next = now;
        }
    }
}

/// An rtnetlink socket bound to one namespace, for address dumps.
pub struct AddrSocket {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;

impl AddrSocket {
    /// Opens the socket inside namespace `ns`.
    pub fn open_in(ns: &str) -> AddrSocket {
        netns::run_in(ns, || {
            // SAFETY: plain socket(2) call; the result is checked before use.
            let fd =
                unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE) };
            assert!(fd >= 0, "netlink socket: {}", io::Error::last_os_error());
            // SAFETY: fd is a fresh descriptor that nothing else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            AddrSocket { fd, seq: 0, buf: vec![0; 64 * 1024] }
        })
    }

    /// True if `ip` is configured on any interface of the namespace.
    pub fn has(&mut self, ip: IpAddr) -> io::Result<bool> {
        self.seq = self.seq.wrapping_add(1);
        self.send_dump(ip)?;
        let want = octets(ip);
        let mut found = false;
        loop {
            // SAFETY: buf is valid for buf.len() bytes for the duration of the call.
            let n = unsafe { libc::recv(self.fd.as_raw_fd(), self.buf.as_mut_ptr().cast(), self.buf.len(), 0) };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            match scan(&self.buf[..n as usize], self.seq, &want)? {
                Scan::More(f) => found |= f,
                Scan::Done(f) => return Ok(found || f),
            }
        }
    }

    fn send_dump(&self, ip: IpAddr) -> io::Result<()> {
        let family = if ip.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 } as u8;
        let mut req = [0u8; 24];
        req[0..4].copy_from_slice(&24u32.to_ne_bytes());
        req[4..6].copy_from_slice(&RTM_GETADDR.to_ne_bytes());
        let flags = (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16;
        req[6..8].copy_from_slice(&flags.to_ne_bytes());
        req[8..12].copy_from_slice(&self.seq.to_ne_bytes());
        req[16] = family;
        // SAFETY: req is valid for its length; an unconnected netlink socket sends to the kernel.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) };
        if n < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
    }
}

fn octets(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

enum Scan {
    More(bool),
    Done(bool),
}

/// Walks the netlink messages of one datagram: did any RTM_NEWADDR of dump `seq` carry
/// `want`, and did the dump end?
fn scan(mut b: &[u8], seq: u32, want: &[u8]) -> io::Result<Scan> {
    let mut found = false;
    while b.len() >= 16 {
        let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let kind = u16::from_ne_bytes([b[4], b[5]]);
        let mseq = u32::from_ne_bytes([b[8], b[9], b[10], b[11]]);
        if len < 16 || len > b.len() {
            return Err(io::Error::other(format!("bad netlink message length {len}")));
        }
        if mseq == seq {
            match kind {
                NLMSG_DONE => return Ok(Scan::Done(found)),
                NLMSG_ERROR => return Err(nl_error(&b[16..len])),
                RTM_NEWADDR => found |= addr_matches(&b[16..len], want),
                _ => {}
            }
        }
        b = &b[((len + 3) & !3).min(b.len())..];
    }
    Ok(Scan::More(found))
}

fn nl_error(payload: &[u8]) -> io::Error {
    let code = payload.get(..4).map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]])).unwrap_or(0);
    if code == 0 { io::Error::other("netlink dump ended with an ACK") } else { io::Error::from_raw_os_error(-code) }
}

/// ifaddrmsg (8 bytes) then attributes; IFA_LOCAL (IPv4) or IFA_ADDRESS equal to `want`.
fn addr_matches(msg: &[u8], want: &[u8]) -> bool {
    let mut a = msg.get(8..).unwrap_or(&[]);
    while a.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([a[0], a[1]]));
        let kind = u16::from_ne_bytes([a[2], a[3]]);
        if len < 4 || len > a.len() {
            return false;
        }
        if (kind == IFA_ADDRESS || kind == IFA_LOCAL) && &a[4..len] == want {
            return true;
        }
        a = &a[((len + 3) & !3).min(a.len())..];
    }
    false
}
