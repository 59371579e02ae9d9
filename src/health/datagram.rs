//! The datagram checks' protocol side (pure): the verdict of a `udp` check on a reply, as
//! keepalived's `UDP_CHECK` gives it (length bounds, then the expected bytes over the
//! shorter of the two, `x` digits matching anything), and the ICMP and ICMPv6 echo of a
//! `ping` check: the request, and whether a packet is its reply.

use super::state::Outcome;
use crate::model::cluster::UdpCheck;
use crate::text::Excerpt;

/// The verdict on `reply` to a UDP check.
pub fn judge_udp(c: &UdpCheck, reply: &[u8]) -> Outcome {
    let (min, max) = (usize::from(c.reply_length.0), usize::from(c.reply_length.1));
    if c.require_reply && !(min..=max).contains(&reply.len()) {
        return Outcome::Fail(format!("reply of {} bytes, want {min} to {max}", reply.len()));
    }
    let differs = c.expect.iter().zip(reply).position(|((v, m), got)| got & m != v & m);
    match differs {
        Some(at) => Outcome::Fail(format!("reply `{}` differs at byte {at}", Excerpt { bytes: reply, limit: 32 })),
        None => Outcome::PASS,
    }
}

/// ICMP echo request / reply types for IPv4 and IPv6.
const ECHO_V4: (u8, u8) = (8, 0);
const ECHO_V6: (u8, u8) = (128, 129);

/// An echo request with `id`, `seq` and `data`. For IPv4 with its checksum; the kernel
/// fills ICMPv6's (it covers a pseudo-header only the kernel knows).
pub fn echo_request(v6: bool, id: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let kind = if v6 { ECHO_V6.0 } else { ECHO_V4.0 };
    let mut p = vec![kind, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(data);
    if !v6 {
        let sum = checksum(&p);
        p[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    p
}

/// Whether `packet` (as a raw socket gives it: IPv4 with its IP header, IPv6 without) is
/// the reply to `request`: echo reply type, same id, sequence and data.
pub fn is_echo_reply(v6: bool, request: &[u8], packet: &[u8]) -> bool {
    let icmp = if v6 {
        packet
    } else {
        let header = usize::from(packet.first().map_or(0, |b| b & 0x0f)) * 4;
        packet.get(header..).unwrap_or_default()
    };
    let reply = if v6 { ECHO_V6.1 } else { ECHO_V4.1 };
    icmp.first() == Some(&reply) && icmp.get(4..) == request.get(4..)
}

/// The Internet checksum (RFC 1071).
fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 =
        bytes.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(require_reply: bool, expect: &str, bounds: (u16, u16)) -> UdpCheck {
        let expect = crate::model::validate::checks::hex(expect, true).unwrap();
        UdpCheck { payload: None, require_reply, expect, reply_length: bounds }
    }

    #[test]
    fn a_reply_is_judged_by_its_length_and_the_bytes_expected() {
        let c = check(true, "50 4f 4e 47 0x", (2, 255));
        assert_eq!(judge_udp(&c, b"PONG\x07 and more"), Outcome::PASS);
        assert_eq!(judge_udp(&c, b"PO"), Outcome::PASS, "compared over the shorter");
        assert_eq!(judge_udp(&c, b"PONG\x17"), Outcome::Fail("reply `PONG\\x17` differs at byte 4".into()));
        assert_eq!(judge_udp(&c, b"P"), Outcome::Fail("reply of 1 bytes, want 2 to 255".into()));
        assert_eq!(
            judge_udp(&check(false, "", (0, 255)), &[0; 300]),
            Outcome::PASS,
            "bounds only with a reply required"
        );
    }

    #[test]
    fn keepalived_hex_strings_read_as_keepalived_reads_them() {
        let bytes =
            |t| crate::model::validate::checks::hex(t, false).unwrap().into_iter().map(|(v, _)| v).collect::<Vec<_>>();
        assert_eq!(bytes("Ab12f 3 456 546443123"), [0xab, 0x12, 0x0f, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x03]);
        assert!(crate::model::validate::checks::hex("0g", false).is_err());
        assert!(crate::model::validate::checks::hex("0x", false).is_err(), "x only where replies are matched");
        assert_eq!(crate::model::validate::checks::hex("x", true).unwrap(), [(0, 0xf0)], "a lone x: high half 0");
    }

    #[test]
    fn echo_requests_carry_a_valid_checksum_and_replies_are_recognised() {
        let req = echo_request(false, 0x1234, 7, b"lbc");
        assert_eq!(checksum(&req), 0, "a packet with its checksum sums to 0");
        let mut reply = vec![0x45; 20];
        reply.extend_from_slice(&req);
        reply[20] = 0;
        assert!(is_echo_reply(false, &req, &reply));
        reply[27] = 8;
        assert!(!is_echo_reply(false, &req, &reply), "another sequence");
        let req6 = echo_request(true, 1, 1, b"x");
        let mut reply6 = req6.clone();
        reply6[0] = 129;
        assert!(is_echo_reply(true, &req6, &reply6) && !is_echo_reply(true, &req6, &req6));
    }
}
