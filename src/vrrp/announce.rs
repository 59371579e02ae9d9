//! Telling the network a VIP moved (effects): gratuitous ARP requests for IPv4 and
//! unsolicited neighbour advertisements for IPv6, sent from the interface that now holds the
//! VIP, as keepalived does (ARP request with sender = target = VIP, broadcast; NA to ff02::1
//! with the Override flag and our link-layer address).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV6};
use std::os::fd::AsRawFd;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

const ETH_P_ARP: u16 = 0x0806;

/// The gratuitous ARP request announcing `vip` at `mac`.
pub fn garp_payload(vip: Ipv4Addr, mac: [u8; 6]) -> Vec<u8> {
    let mut p = vec![0, 1, 8, 0, 6, 4, 0, 1];
    p.extend_from_slice(&mac);
    p.extend_from_slice(&vip.octets());
    p.extend_from_slice(&[0xff; 6]);
    p.extend_from_slice(&vip.octets());
    p
}

/// The unsolicited neighbour advertisement announcing `vip` at `mac` (checksum 0: the kernel
/// computes ICMPv6 checksums on raw ICMPv6 sockets).
pub fn na_payload(vip: Ipv6Addr, mac: [u8; 6]) -> Vec<u8> {
    let mut p = vec![136, 0, 0, 0, 0x20, 0, 0, 0];
    p.extend_from_slice(&vip.octets());
    p.extend_from_slice(&[2, 1]);
    p.extend_from_slice(&mac);
    p
}

/// Announces VIPs out of one interface; the ARP socket is opened once, ahead of the takeover.
pub struct Announcer {
    arp: Socket,
    ifindex: u32,
    mac: [u8; 6],
}

impl Announcer {
    /// An announcer for interface `ifindex` with hardware address `mac`.
    pub fn new(ifindex: u32, mac: [u8; 6]) -> io::Result<Self> {
        let arp = Socket::new(Domain::PACKET, Type::DGRAM, Some(Protocol::from(i32::from(ETH_P_ARP.to_be()))))?;
        Ok(Announcer { arp, ifindex, mac })
    }

    /// Sends `count` announcements of `vip`.
    pub fn announce(&self, vip: IpAddr, count: u32) -> io::Result<()> {
        match vip {
            IpAddr::V4(v4) => send_garp(&self.arp, v4, self.ifindex, self.mac, count),
            IpAddr::V6(v6) => send_na(v6, self.ifindex, self.mac, count),
        }
    }
}

fn send_garp(s: &Socket, vip: Ipv4Addr, ifindex: u32, mac: [u8; 6], count: u32) -> io::Result<()> {
    // SAFETY: a zeroed sockaddr_ll with its fields set is a valid link-layer address.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = u16::try_from(libc::AF_PACKET).unwrap_or_default();
    sll.sll_protocol = ETH_P_ARP.to_be();
    sll.sll_ifindex = ifindex as i32;
    sll.sll_halen = 6;
    sll.sll_addr[..6].copy_from_slice(&[0xff; 6]);
    let payload = garp_payload(vip, mac);
    for _ in 0..count {
        // SAFETY: the fd is live, payload and sll outlive the call, lengths are theirs.
        let r = unsafe {
            libc::sendto(
                s.as_raw_fd(),
                payload.as_ptr().cast(),
                payload.len(),
                0,
                (&raw const sll).cast(),
                crate::sys::socklen_of::<libc::sockaddr_ll>(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn send_na(vip: Ipv6Addr, ifindex: u32, mac: [u8; 6], count: u32) -> io::Result<()> {
    let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
    s.bind(&SockAddr::from(SocketAddrV6::new(vip, 0, 0, 0)))?;
    s.set_multicast_if_v6(ifindex)?;
    s.set_multicast_hops_v6(255)?;
    let all_nodes = SockAddr::from(SocketAddrV6::new(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1), 0, 0, ifindex));
    let payload = na_payload(vip, mac);
    for _ in 0..count {
        s.send_to(&payload, &all_nodes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garp_is_a_request_with_sender_equal_target() {
        let p = garp_payload(Ipv4Addr::new(10, 88, 0, 50), [2, 0x88, 0, 0, 0, 0x11]);
        assert_eq!(p.len(), 28);
        assert_eq!(&p[6..8], &[0, 1], "request");
        assert_eq!(&p[14..18], &p[24..28], "sender IP = target IP");
        assert_eq!(&p[18..24], &[0xff; 6]);
    }

    #[test]
    fn na_has_override_and_target_lladdr() {
        let p = na_payload("fd88::50".parse().unwrap(), [2, 0x88, 0, 0, 0, 0x11]);
        assert_eq!(p.len(), 32);
        assert_eq!(p[0], 136);
        assert_eq!(p[4], 0x20, "Override only");
        assert_eq!(&p[24..26], &[2, 1]);
    }
}
