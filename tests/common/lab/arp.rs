//! Who answers ARP for an address, asked every 10 ms from a lab namespace: a packet socket
//! on its eth0 broadcasts `who-has TARGET tell CLIENT` and records every reply for TARGET
//! addressed to the client (the answering node's MAC says who), and every gratuitous ARP
//! for it (a master's announcement). The asking namespace's own kernel is not involved, so
//! its neighbour cache (empty, stale or failed) changes nothing.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::netns;

const ETH_P_ARP: u16 = 0x0806;
const ARP_REQUEST: u16 = 1;
const ARP_REPLY: u16 = 2;
const BROADCAST: [u8; 6] = [0xff; 6];

/// One ARP packet about the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// When it was read.
    pub t: Instant,
    /// The sender's hardware address: the node that answered or announced.
    pub mac: [u8; 6],
    /// A gratuitous ARP (sender and target address both the target) rather than an
    /// answer to our request.
    pub gratuitous: bool,
    /// An ARP reply (an answer, also one to a request of ours that named the target as
    /// its sender, which counts as gratuitous).
    pub reply: bool,
}

/// The asking side: who we are on the wire.
#[derive(Debug, Clone, Copy)]
pub struct Asker {
    /// Our hardware address.
    pub mac: [u8; 6],
    /// Our IPv4 address.
    pub ip: Ipv4Addr,
}

/// A running ARP prober; stops on drop.
pub struct Prober {
    seen: Arc<Mutex<Vec<Seen>>>,
    asked: Arc<Mutex<Vec<Instant>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Prober {
    /// Starts asking for `target` on `ifname` inside `ns` every `period`, as `me`.
    pub fn start(ns: &str, ifname: &str, me: Asker, target: Ipv4Addr, period: Duration) -> Prober {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let asked = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, a2, st2, name) = (seen.clone(), asked.clone(), stop.clone(), ifname.to_string());
        let (tx, rx) = mpsc::channel();
        let thread = netns::spawn_in(ns, "arp-prober", move || match PacketSocket::open(&name) {
            Ok(sock) => {
                let _ = tx.send(Ok(()));
                probe_loop(&sock, me, target, period, &s2, &a2, &st2);
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        });
        match rx.recv() {
            Ok(Ok(())) => Prober { seen, asked, stop, thread: Some(thread) },
            Ok(Err(e)) => panic!("ARP prober on {ifname} in {ns}: {e}"),
            Err(_) => panic!("ARP prober thread in {ns} died"),
        }
    }

    /// Every answer and announcement so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// When the first answer to our requests from `mac` at or after `after` arrived.
    pub fn first_answer(&self, mac: [u8; 6], after: Instant) -> Option<Instant> {
        self.seen().into_iter().find(|s| !s.gratuitous && s.mac == mac && s.t >= after).map(|s| s.t)
    }

    /// When the first gratuitous ARP from `mac` at or after `after` arrived.
    pub fn first_announcement(&self, mac: [u8; 6], after: Instant) -> Option<Instant> {
        self.seen().into_iter().find(|s| s.gratuitous && s.mac == mac && s.t >= after).map(|s| s.t)
    }

    /// How many requests went out at or after `after`.
    pub fn asked_since(&self, after: Instant) -> usize {
        self.asked.lock().unwrap().iter().filter(|t| **t >= after).count()
    }

    /// Stops the thread (also done on drop).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.stop();
    }
}

fn probe_loop(
    sock: &PacketSocket,
    me: Asker,
    target: Ipv4Addr,
    period: Duration,
    seen: &Mutex<Vec<Seen>>,
    asked: &Mutex<Vec<Instant>>,
    stop: &AtomicBool,
) {
    let request = request(me, target);
    let mut next = Instant::now();
    let mut buf = [0u8; 1500];
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now >= next {
            if let Err(e) = sock.send(&request) {
                panic!("send an ARP request for {target}: {e}");
            }
            asked.lock().unwrap().push(now);
            next = (next + period).max(now);
        }
        if !sock.readable(next.saturating_duration_since(Instant::now())) {
            continue;
        }
        // Everything queued, without blocking.
        while let Some(n) = sock.recv(&mut buf) {
            if let Some((mac, gratuitous, reply)) = about(&buf[..n], me, target) {
                seen.lock().unwrap().push(Seen { t: Instant::now(), mac, gratuitous, reply });
            }
        }
    }
}

/// `who-has target tell me`, broadcast, padded to the Ethernet minimum.
fn request(me: Asker, target: Ipv4Addr) -> [u8; 60] {
    let mut f = [0u8; 60];
    f[0..6].copy_from_slice(&BROADCAST);
    f[6..12].copy_from_slice(&me.mac);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    f[14..16].copy_from_slice(&1u16.to_be_bytes()); // Ethernet
    f[16..18].copy_from_slice(&0x0800u16.to_be_bytes()); // IPv4
    f[18] = 6;
    f[19] = 4;
    f[20..22].copy_from_slice(&ARP_REQUEST.to_be_bytes());
    f[22..28].copy_from_slice(&me.mac);
    f[28..32].copy_from_slice(&me.ip.octets());
    // target hardware address: zero
    f[38..42].copy_from_slice(&target.octets());
    f
}

/// For an ARP frame whose sender address is `target`: the sender's MAC, whether it is
/// gratuitous and whether it is a reply; `None` for anything else (our own requests, other
/// addresses, replies to someone else).
fn about(f: &[u8], me: Asker, target: Ipv4Addr) -> Option<([u8; 6], bool, bool)> {
    if f.len() < 42 || f[12..14] != ETH_P_ARP.to_be_bytes() || f[18] != 6 || f[19] != 4 {
        return None;
    }
    let op = u16::from_be_bytes([f[20], f[21]]);
    let mac: [u8; 6] = f[22..28].try_into().ok()?;
    let (spa, tpa) = (&f[28..32], &f[38..42]);
    if spa != target.octets() {
        return None;
    }
    if tpa == target.octets() {
        return Some((mac, true, op == ARP_REPLY));
    }
    (op == ARP_REPLY && tpa == me.ip.octets()).then_some((mac, false, true))
}

/// An AF_PACKET socket for ARP frames, bound to one interface.
struct PacketSocket {
    fd: OwnedFd,
    ifindex: i32,
}

impl PacketSocket {
    fn open(ifname: &str) -> io::Result<PacketSocket> {
        let name = std::ffi::CString::new(ifname).map_err(io::Error::other)?;
        // SAFETY: name is a valid NUL-terminated string for the call.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if ifindex == 0 {
            return Err(io::Error::last_os_error());
        }
        let proto = i32::from(ETH_P_ARP.to_be());
        // SAFETY: plain socket(2); the result is checked before use.
        let fd =
            unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, proto) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is fresh and owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let s = PacketSocket { fd, ifindex: ifindex as i32 };
        let sa = s.link_addr(&[0; 6]);
        // SAFETY: sa is a valid sockaddr_ll for the call.
        let r = unsafe {
            libc::bind(
                s.fd.as_raw_fd(),
                (&raw const sa).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(s)
    }

    fn link_addr(&self, mac: &[u8; 6]) -> libc::sockaddr_ll {
        let mut addr = [0u8; 8];
        addr[..6].copy_from_slice(mac);
        libc::sockaddr_ll {
            sll_family: libc::AF_PACKET as u16,
            sll_protocol: ETH_P_ARP.to_be(),
            sll_ifindex: self.ifindex,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 6,
            sll_addr: addr,
        }
    }

    fn send(&self, frame: &[u8]) -> io::Result<()> {
        let sa = self.link_addr(&BROADCAST);
        // SAFETY: frame and sa are valid for the lengths passed.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&raw const sa).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
    }

    /// True if a frame is waiting within `timeout`.
    fn readable(&self, timeout: Duration) -> bool {
        let mut p = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: p is one valid pollfd.
        unsafe { libc::poll(&mut p, 1, ms) == 1 }
    }

    /// One received frame (not one we sent), or `None` when nothing is queued.
    fn recv(&self, buf: &mut [u8]) -> Option<usize> {
        loop {
            // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
            let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            // SAFETY: buf and from are valid for the lengths passed.
            let n = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    0,
                    (&raw mut from).cast(),
                    &mut len,
                )
            };
            if n < 0 {
                return None;
            }
            if from.sll_pkttype != libc::PACKET_OUTGOING {
                return Some(n as usize);
            }
        }
    }
}
