//! VRRP on the wire (effects): raw IP protocol-112 sockets (51 for VRRPv2 over IPsec AH, as
//! keepalived listens: an AH instance hears only AH packets) bound to one interface, joined to
//! 224.0.0.18 / ff02::12 (multicast) or talking to peers (unicast), TTL / hop limit 255 on
//! send, and the received TTL, source and destination for the codec's checks.
//!
//! IPv4 is sent through an `IPPROTO_RAW` socket with our own IP header (as keepalived does:
//! TOS 0xc0, TTL 255, a fixed source), so the source used for the v3 checksum is exactly the
//! one on the wire; AH packets come whole from [`super::ah::seal`], since their digest covers
//! the IP header. IPv6 is sent from a socket bound to the source address (link-local for
//! multicast, as RFC 5798 requires).

use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};

use super::packet::{MULTICAST_V4, MULTICAST_V6, PROTOCOL, TTL};

/// A received VRRP packet with what the codec checks.
#[derive(Debug, Clone)]
pub struct Received {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6).
    pub ttl: u8,
    /// The IPv4 header as received, with any options (empty for IPv6).
    pub header: Vec<u8>,
    /// What follows the IP header: the VRRP message (behind its AH header for AH).
    pub payload: Vec<u8>,
}

/// The sockets of one VRRP instance.
pub struct VrrpSocket {
    recv: Socket,
    send: Socket,
    /// Our source address.
    pub source: IpAddr,
    ifindex: u32,
}

impl VrrpSocket {
    /// Opens the sockets for `iface` (index `ifindex`) sending from `source`; multicast
    /// unless `unicast`; hearing IPsec AH (protocol 51) instead of VRRP when `ah` (IPv4).
    pub fn open(iface: &str, ifindex: u32, source: IpAddr, unicast: bool, ah: bool) -> io::Result<Self> {
        match source {
            IpAddr::V4(src) => Self::open_v4(iface, ifindex, src, unicast, ah),
            IpAddr::V6(src) => Self::open_v6(iface, ifindex, src, unicast),
        }
    }

    fn open_v4(iface: &str, ifindex: u32, src: Ipv4Addr, unicast: bool, ah: bool) -> io::Result<Self> {
        let protocol = if ah { super::ah::PROTOCOL } else { PROTOCOL };
        let recv = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(i32::from(protocol))))?;
        recv.bind_device(Some(iface.as_bytes()))?;
        if !unicast {
            recv.join_multicast_v4_n(&MULTICAST_V4, &InterfaceIndexOrAddress::Index(ifindex))?;
        }
        let send = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(libc::IPPROTO_RAW)))?;
        send.bind_device(Some(iface.as_bytes()))?;
        send.set_multicast_loop_v4(false)?;
        Ok(VrrpSocket { recv, send, source: IpAddr::V4(src), ifindex })
    }

    fn open_v6(iface: &str, ifindex: u32, src: Ipv6Addr, unicast: bool) -> io::Result<Self> {
        let recv = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::from(i32::from(PROTOCOL))))?;
        recv.bind_device(Some(iface.as_bytes()))?;
        if !unicast {
            recv.join_multicast_v6(&MULTICAST_V6, ifindex)?;
        }
        crate::sys::setsockopt_int(&recv, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 1)?;
        crate::sys::setsockopt_int(&recv, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
        let send = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::from(i32::from(PROTOCOL))))?;
        send.bind_device(Some(iface.as_bytes()))?;
        let scope = if src.is_unicast_link_local() { ifindex } else { 0 };
        send.bind(&SockAddr::from(SocketAddrV6::new(src, 0, 0, scope)))?;
        send.set_multicast_if_v6(ifindex)?;
        send.set_multicast_hops_v6(u32::from(TTL))?;
        send.set_unicast_hops_v6(u32::from(TTL))?;
        send.set_multicast_loop_v6(false)?;
        send.set_recv_buffer_size(1)?;
        Ok(VrrpSocket { recv, send, source: IpAddr::V6(src), ifindex })
    }

    /// Sends one VRRP message to `dst` (the group, or a unicast peer).
    pub fn send(&self, payload: &[u8], dst: IpAddr) -> io::Result<()> {
        match (self.source, dst) {
            (IpAddr::V4(src), IpAddr::V4(d)) => {
                let pkt = ipv4_packet(src, d, payload);
                self.send.send_to(&pkt, &SockAddr::from(SocketAddr::new(dst, 0)))?;
            }
            (IpAddr::V6(_), IpAddr::V6(d)) => {
                let scope = if d.is_multicast() || d.is_unicast_link_local() { self.ifindex } else { 0 };
                self.send.send_to(payload, &SockAddr::from(SocketAddrV6::new(d, 0, 0, scope)))?;
            }
            _ => return Err(io::Error::new(io::ErrorKind::InvalidInput, "source and destination families differ")),
        }
        Ok(())
    }

    /// Sends one whole IPv4 packet we built (an AH advert) to `dst`; the kernel fills in the
    /// header checksum.
    pub fn send_packet(&self, packet: &[u8], dst: IpAddr) -> io::Result<()> {
        if !matches!((self.source, dst), (IpAddr::V4(_), IpAddr::V4(_))) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "whole packets are IPv4 only"));
        }
        self.send.send_to(packet, &SockAddr::from(SocketAddr::new(dst, 0)))?;
        Ok(())
    }

    /// The receiving socket's descriptor, for [`poll`].
    pub fn raw_fd(&self) -> libc::c_int {
        self.recv.as_raw_fd()
    }

    /// Reads one packet (call when [`poll`] says the socket is readable).
    pub fn recv(&self) -> io::Result<Received> {
        match self.source {
            IpAddr::V4(_) => recv_v4(&self.recv),
            IpAddr::V6(_) => recv_v6(&self.recv),
        }
    }
}

/// A timer on CLOCK_MONOTONIC (timerfd). Unlike a poll timeout, whose slack the kernel
/// scales to 0.1% of the wait (0.6 ms on a 609 ms VRRP skew), a timerfd expires within the
/// thread's timer slack (50 us).
pub struct Timer(OwnedFd);

impl Timer {
    /// A disarmed timer.
    pub fn new() -> io::Result<Self> {
        // SAFETY: timerfd_create returns a new descriptor or -1; only a valid one is owned.
        let fd = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor nobody else owns.
        Ok(Timer(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Fires once, `after` from now (at least 1 ns: zero would disarm it).
    pub fn arm(&self, after: Duration) -> io::Result<()> {
        let after = after.max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
            it_value: libc::timespec {
                tv_sec: after.as_secs().min(i64::MAX as u64) as libc::time_t,
                tv_nsec: libc::c_long::from(after.subsec_nanos() as i32),
            },
        };
        // SAFETY: the fd is ours and live; spec is a valid itimerspec; no old value wanted.
        let r = unsafe { libc::timerfd_settime(self.0.as_raw_fd(), 0, &raw const spec, std::ptr::null_mut()) };
        if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
    }

    /// Clears an expiry (after [`poll`] says it is readable).
    pub fn clear(&self) {
        let mut n: u64 = 0;
        // SAFETY: reading the 8-byte expiry counter of our own non-blocking timerfd.
        unsafe { libc::read(self.0.as_raw_fd(), (&raw mut n).cast(), 8) };
    }

    /// Its descriptor, for [`poll`].
    pub fn raw_fd(&self) -> libc::c_int {
        self.0.as_raw_fd()
    }
}

/// Waits until one of `fds` is readable (or `timeout` passes); which are readable.
pub fn poll(fds: &[libc::c_int], timeout: Option<Duration>) -> io::Result<Vec<bool>> {
    let mut pfd: Vec<libc::pollfd> =
        fds.iter().map(|fd| libc::pollfd { fd: *fd, events: libc::POLLIN, revents: 0 }).collect();
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: libc::c_long::from(t.subsec_nanos() as i32),
    });
    let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: pfd holds pfd.len() valid entries; ts_ptr is null or points to ts, alive here.
    let r = unsafe { libc::ppoll(pfd.as_mut_ptr(), pfd.len() as libc::nfds_t, ts_ptr, std::ptr::null()) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted { Ok(vec![false; fds.len()]) } else { Err(e) };
    }
    Ok(pfd.iter().map(|p| p.revents & (libc::POLLIN | libc::POLLERR) != 0).collect())
}

/// An IPv4 header (TOS 0xc0, TTL 255, protocol 112) plus the VRRP message; the kernel fills
/// in the total length, the id and the header checksum.
fn ipv4_packet(src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x45, 0xc0, 0, 0, 0, 0, 0, 0, TTL, PROTOCOL, 0, 0];
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}

fn recv_v4(s: &Socket) -> io::Result<Received> {
    let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
    let (n, _) = s.recv_from(&mut buf)?;
    // SAFETY: recv_from initialised the first n bytes.
    let data: Vec<u8> = buf[..n].iter().map(|b| unsafe { b.assume_init() }).collect();
    parse_ipv4(&data).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "short IPv4 packet"))
}

/// Splits a received IPv4 packet into header facts and payload.
pub fn parse_ipv4(data: &[u8]) -> Option<Received> {
    let ihl = usize::from(data.first()? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*data.get(2)?, *data.get(3)?])).min(data.len());
    if ihl < 20 || total < ihl {
        return None;
    }
    let addr = |at: usize| -> Option<IpAddr> {
        let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
        Some(IpAddr::V4(Ipv4Addr::from(b)))
    };
    Some(Received {
        src: addr(12)?,
        dst: addr(16)?,
        ttl: *data.get(8)?,
        header: data[..ihl].to_vec(),
        payload: data[ihl..total].to_vec(),
    })
}

fn recv_v6(s: &Socket) -> io::Result<Received> {
    let mut buf = [0u8; 2048];
    // u64 elements: the kernel's cmsghdr needs 8-byte alignment.
    let mut ctrl = [0u64; 32];
    // SAFETY: zeroed sockaddr_in6 is a valid value for the kernel to overwrite.
    let mut from: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: zeroed msghdr, then every pointer set to live buffers sized as declared.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&raw mut from).cast();
    msg.msg_namelen = crate::sys::socklen_of::<libc::sockaddr_in6>();
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&ctrl);
    // SAFETY: msg points to valid buffers for the duration of the call.
    let n = unsafe { libc::recvmsg(s.as_raw_fd(), &raw mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let (dst, ttl) = v6_ancillary(&msg);
    Ok(Received {
        src: IpAddr::V6(Ipv6Addr::from(from.sin6_addr.s6_addr)),
        dst: IpAddr::V6(dst.unwrap_or(Ipv6Addr::UNSPECIFIED)),
        ttl: ttl.unwrap_or(0),
        header: Vec::new(),
        payload: buf[..n as usize].to_vec(),
    })
}

/// Destination (IPV6_PKTINFO) and hop limit (IPV6_HOPLIMIT) from the control messages.
fn v6_ancillary(msg: &libc::msghdr) -> (Option<Ipv6Addr>, Option<u8>) {
    let (mut dst, mut hops) = (None, None);
    // SAFETY: CMSG_* walk the control buffer the kernel filled, within msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c);
            match ((*c).cmsg_level, (*c).cmsg_type) {
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                    let info = std::ptr::read_unaligned(data.cast::<libc::in6_pktinfo>());
                    dst = Some(Ipv6Addr::from(info.ipi6_addr.s6_addr));
                }
                (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => {
                    let h = std::ptr::read_unaligned(data.cast::<libc::c_int>());
                    hops = u8::try_from(h).ok();
                }
                _ => {}
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    (dst, hops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_parse_and_build() {
        let p = ipv4_packet(Ipv4Addr::new(10, 0, 0, 1), MULTICAST_V4, &[0x31, 1, 2, 3]);
        let mut with_len = p.clone();
        with_len[3] = p.len() as u8;
        let r = parse_ipv4(&with_len).unwrap();
        assert_eq!(r.src, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(r.dst, IpAddr::V4(MULTICAST_V4));
        assert_eq!(r.ttl, 255);
        assert_eq!(r.payload, vec![0x31, 1, 2, 3]);
        assert_eq!(r.header, with_len[..20]);
        assert!(parse_ipv4(&[0x41, 0, 0, 20]).is_none());
        assert!(parse_ipv4(&[]).is_none());
    }
}
