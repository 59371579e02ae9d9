//! VRRPv2 over IPsec AH (RFC 2402), as keepalived's `auth_type AH` sends and checks it. Pure:
//! builds whole IPv4 packets and checks received ones, with the instance's sequence numbers
//! passed in; the sockets (IP protocol 51) are [`super::net`]'s.
//!
//! ```text
//! IPv4 header (20, protocol 51) | AH (24) | VRRPv2 message (auth type 2, auth data zero)
//! AH: next header 112 | payload len 4 | reserved 0 | SPI = sender's IPv4 address
//!     | sequence number | HMAC-MD5-96 (12)
//! ```
//!
//! The digest (RFC 2104 HMAC-MD5 truncated to 96 bits, RFC 2403) is keyed with the 8 bytes
//! of `auth_pass` (zero-padded, as for PASS) and covers the IP header with its mutable
//! fields zeroed (TOS, fragment offset, header checksum, and the TTL when unicast), the AH
//! header with the digest zeroed, and the VRRP message. The id and total length are covered:
//! the sender sets a non-zero id itself so that the kernel leaves it.
//!
//! Sequence numbers: one counter per instance, as keepalived keeps it. An accepted advert
//! must carry a number above it and raises it to that number; each advert sent carries the
//! counter plus one; a master hearing a lower-priority advert moves past its number.

use std::net::{IpAddr, Ipv4Addr};

use md5::{Digest, Md5};

use super::VrrpError;
use super::packet::{self, Advert, Auth, DropReason, Expect, TTL};

/// IP protocol number of IPsec AH.
pub const PROTOCOL: u8 = 51;
/// Length of the AH header with its 96-bit digest.
pub const AH_LEN: usize = 24;
/// AH payload length: the header's length in 32-bit words minus 2.
const PAYLOAD_LEN: u8 = 4;
/// Bytes of the digest carried (HMAC-MD5-96).
const ICV_LEN: usize = 12;
/// Where the digest starts in the AH header.
const ICV_AT: usize = 12;
/// An IPv4 header without options.
const IPV4_LEN: usize = 20;
/// Shortest VRRP message behind the AH header: the fixed header and the auth data.
const MIN_VRRP: usize = 16;
/// TOS of the adverts (internetwork control), as keepalived sends them.
const TOS: u8 = 0xc0;
/// The highest sequence number sent; keepalived stops counting there.
const MAX_SEQ: u32 = 0xffff_fffe;
/// MD5's block size, for HMAC.
const BLOCK: usize = 64;

/// HMAC-MD5 (RFC 2104) of the concatenation of `parts` under `key`.
pub fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..16].copy_from_slice(&Md5::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Md5::new();
    inner.update(k.map(|b| b ^ 0x36));
    for p in parts {
        inner.update(p);
    }
    let mut outer = Md5::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// The AH sequence numbers of one instance: the highest sent or accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sequence {
    last: u32,
}

impl Sequence {
    /// The number for the next advert sent (one above the last, up to `0xfffffffe`).
    pub fn next_sent(&mut self) -> u32 {
        if self.last < MAX_SEQ {
            self.last += 1;
        }
        self.last
    }

    /// Accepts `seq` if it is above the last one (and remembers it); false for a replay.
    pub fn accept(&mut self, seq: u32) -> bool {
        let fresh = seq > self.last;
        if fresh {
            self.last = seq;
        }
        fresh
    }

    /// A master heard a lower-priority advert numbered `seq`: its next ones go above it.
    pub fn heard_lower(&mut self, seq: u32) {
        self.last = seq.saturating_add(1);
    }

    /// The last number sent or accepted.
    pub fn last(&self) -> u32 {
        self.last
    }
}

/// An accepted AH advert and its sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heard {
    /// The VRRP advert.
    pub advert: Advert,
    /// Its AH sequence number.
    pub seq: u32,
}

/// The whole IPv4 packet of an AH advert from `src` to `dst` (the group, or a unicast peer
/// when `unicast`) numbered `seq`; `a.auth` must be [`Auth::Ah`].
pub fn seal(a: &Advert, src: Ipv4Addr, dst: Ipv4Addr, seq: u32, unicast: bool) -> Result<Vec<u8>, VrrpError> {
    let problem = |p: &str| VrrpError::Encode { version: a.version, vrid: a.vrid, problem: p.to_string() };
    let Some(Auth::Ah(key)) = a.auth else { return Err(problem("an AH packet needs AH authentication")) };
    let vrrp = packet::encode(a, IpAddr::V4(src), IpAddr::V4(dst))?;
    let total = u16::try_from(IPV4_LEN + AH_LEN + vrrp.len()).map_err(|_| problem("too long for one IPv4 packet"))?;
    let [_, _, id_hi, id_lo] = seq.to_be_bytes();
    let id = if [id_hi, id_lo] == [0, 0] { [0, 1] } else { [id_hi, id_lo] };
    let mut p = Vec::with_capacity(usize::from(total));
    p.extend_from_slice(&[0x45, TOS]);
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&id);
    p.extend_from_slice(&[0, 0, TTL, PROTOCOL, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&[packet::PROTOCOL, PAYLOAD_LEN, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0; ICV_LEN]);
    p.extend_from_slice(&vrrp);
    let icv = digest(&key, &p[..IPV4_LEN], &p[IPV4_LEN..IPV4_LEN + AH_LEN], &vrrp, unicast);
    p[IPV4_LEN + ICV_AT..IPV4_LEN + AH_LEN].copy_from_slice(&icv);
    Ok(p)
}

/// Checks a received AH packet: `header` is its IPv4 header (with any options), `body` what
/// follows it, `ttl` its TTL. In keepalived's order: the AH header, the VRID (another
/// router's adverts are not this one's to count), the digest, the SPI, the VRRP message
/// ([`packet::decode`]) and last the sequence number, which `seqs` then remembers.
pub fn receive(
    header: &[u8],
    body: &[u8],
    ttl: u8,
    expect: &Expect,
    unicast: bool,
    seqs: &mut Sequence,
) -> Result<Heard, DropReason> {
    let (src, dst) = addresses(header).ok_or(DropReason::Truncated)?;
    if body.len() < AH_LEN + MIN_VRRP {
        return Err(DropReason::Truncated);
    }
    let (ah, vrrp) = body.split_at(AH_LEN);
    if ah[0] != packet::PROTOCOL || ah[1] != PAYLOAD_LEN {
        return Err(DropReason::AhMalformed);
    }
    if vrrp[1] != expect.vrid {
        return Err(DropReason::WrongVrid);
    }
    let Some(Auth::Ah(key)) = expect.auth else { return Err(DropReason::AuthTypeMismatch) };
    let icv = digest(&key, header, ah, vrrp, unicast);
    let got = &ah[ICV_AT..];
    if got.iter().zip(icv).fold(0u8, |acc, (a, b)| acc | (a ^ b)) != 0 {
        return Err(DropReason::AhBadDigest);
    }
    if ah[4..8] != src.octets() {
        return Err(DropReason::AhWrongSpi);
    }
    let advert = packet::decode(vrrp, IpAddr::V4(src), IpAddr::V4(dst), ttl, expect)?;
    let seq = u32::from_be_bytes([ah[8], ah[9], ah[10], ah[11]]);
    if !seqs.accept(seq) {
        return Err(DropReason::AhReplay);
    }
    Ok(Heard { advert, seq })
}

/// Source and destination of an IPv4 header.
fn addresses(header: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr)> {
    let src: [u8; 4] = header.get(12..16)?.try_into().ok()?;
    let dst: [u8; 4] = header.get(16..20)?.try_into().ok()?;
    Some((Ipv4Addr::from(src), Ipv4Addr::from(dst)))
}

/// The 96-bit digest of a packet: its IP header with the mutable fields zeroed, its AH
/// header with the digest zeroed, and the VRRP message.
fn digest(key: &[u8; 8], header: &[u8], ah: &[u8], vrrp: &[u8], unicast: bool) -> [u8; ICV_LEN] {
    let mut ip = header.to_vec();
    for at in [1, 6, 7, 10, 11] {
        ip[at] = 0;
    }
    if unicast {
        ip[8] = 0;
    }
    let mut ah = ah.to_vec();
    ah[ICV_AT..].fill(0);
    let full = hmac_md5(key, &[&ip, &ah, vrrp]);
    let mut out = [0u8; ICV_LEN];
    out.copy_from_slice(&full[..ICV_LEN]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::Family;
    use crate::vrrp::packet::{Checksum, password};

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    const KEY: [u8; 8] = *b"vl-secr\0";
    const N1: Ipv4Addr = Ipv4Addr::new(10, 88, 0, 11);
    const N2: Ipv4Addr = Ipv4Addr::new(10, 88, 0, 12);
    const MC: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

    // Built by hand: IPv4 header (TOS c0, length 64, id 7, TTL 255, protocol 51, checksum
    // left to the kernel), AH (next header 112, length 4, SPI 10.88.0.11, sequence 7,
    // HMAC-MD5-96 computed apart with another HMAC implementation), VRRPv2 (VRID 51,
    // priority 150, auth type 2, interval 1 s, checksum 3c40, 10.88.0.50, zero auth data).
    const MC_HEADER: &str = "45c0 0040 0007 0000 ff 33 0000 0a58000b e0000012";
    const MC_AH: &str = "70 04 0000 0a58000b 00000007 bf56602863372ae2c24721f2";
    const VRRP: &str = "21 33 96 01 02 01 3c40 0a580032 0000000000000000";
    // The same to the unicast peer 10.88.0.12: the TTL is left out of the digest.
    const UC_HEADER: &str = "45c0 0040 0007 0000 ff 33 0000 0a58000b 0a58000c";
    const UC_AH: &str = "70 04 0000 0a58000b 00000007 5a841c6a19e302ae5153b3e2";

    // Real keepalived 2.2.7 packets (a vrrp-lab style capture, VRID 51, `auth_pass vl-secr`):
    // n1 (priority 150) to the group with sequence 1, then n2 (100), master after n1 was
    // killed, going on from the last number it heard (3) with 4; and n1 to its unicast peer.
    const KA_N1_SEQ1: &str = "45c0004000010000ff33d0540a58000be0000012 700400000a58000b00000001faeb0630dfe202d5f5ee6ed4 2133960102013c400a5800320000000000000000";
    const KA_N2_SEQ4: &str = "45c0004000010000ff33d0530a58000ce0000012 700400000a58000c00000004521ac79371ffa1adba966bfb 2133640102016e400a5800320000000000000000";
    const KA_N1_UNICAST: &str = "45c0004000010000ff33a6030a58000b0a58000c 700400000a58000b000000018509f4fa9333c8e9d109187d 2133960102013c400a5800320000000000000000";

    fn advert() -> Advert {
        Advert {
            version: 2,
            vrid: 51,
            priority: 150,
            interval_cs: 100,
            addresses: vec![IpAddr::V4(Ipv4Addr::new(10, 88, 0, 50))],
            auth: Some(Auth::Ah(KEY)),
            checksum: Checksum::Standard,
        }
    }

    fn expect() -> Expect {
        Expect { version: 2, vrid: 51, family: Family::Ipv4, auth: Some(Auth::Ah(KEY)), interval_cs: 100 }
    }

    fn mc_packet() -> Vec<u8> {
        [hex(MC_HEADER), hex(MC_AH), hex(VRRP)].concat()
    }

    /// Splits a packet as the socket layer does.
    fn split(p: &[u8]) -> (&[u8], &[u8]) {
        p.split_at(IPV4_LEN)
    }

    #[test]
    fn hmac_md5_matches_rfc_2202() {
        let cases: [(&[u8], &[u8], &str); 3] = [
            (&[0x0b; 16], b"Hi There", "9294727a3638bb1c13f48ef8158bfc9d"),
            (b"Jefe", b"what do ya want for nothing?", "750c783e6ab0b503eaa86e310a5db738"),
            (
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd",
            ),
        ];
        for (key, data, want) in cases {
            assert_eq!(hmac_md5(key, &[data]).to_vec(), hex(want));
            let (a, b) = data.split_at(3);
            assert_eq!(hmac_md5(key, &[a, b]).to_vec(), hex(want), "parts are concatenated");
        }
    }

    #[test]
    fn seal_builds_the_packet_by_hand() {
        assert_eq!(seal(&advert(), N1, MC, 7, false).unwrap(), mc_packet());
        let uc = [hex(UC_HEADER), hex(UC_AH), hex(VRRP)].concat();
        assert_eq!(seal(&advert(), N1, N2, 7, true).unwrap(), uc);
        // The id is never 0 (the kernel would fill it in after the digest).
        assert_eq!(seal(&advert(), N1, MC, 0x1_0000, false).unwrap()[4..6], [0, 1]);
        let pass = Advert { auth: Some(Auth::Pass(KEY)), ..advert() };
        assert!(matches!(seal(&pass, N1, MC, 1, false), Err(VrrpError::Encode { .. })));
    }

    #[test]
    fn keepalived_packets_verify_and_seal_reproduces_them() {
        let mut seqs = Sequence::default();
        let p = hex(KA_N1_SEQ1);
        let (h, b) = split(&p);
        assert_eq!(receive(h, b, 255, &expect(), false, &mut seqs).unwrap(), Heard { advert: advert(), seq: 1 });
        let n2 = hex(KA_N2_SEQ4);
        let (h, b) = split(&n2);
        let heard = receive(h, b, 255, &expect(), false, &mut seqs).unwrap();
        assert_eq!((heard.advert.priority, heard.seq), (100, 4));
        let uc = hex(KA_N1_UNICAST);
        let (h, b) = split(&uc);
        assert!(receive(h, b, 255, &expect(), true, &mut Sequence::default()).is_ok());
        // Byte for byte but for the header checksum, which the kernel fills in.
        let zero_sum = |mut p: Vec<u8>| {
            p[10..12].copy_from_slice(&[0, 0]);
            p
        };
        assert_eq!(seal(&advert(), N1, MC, 1, false).unwrap(), zero_sum(p));
        assert_eq!(seal(&advert(), N1, N2, 1, true).unwrap(), zero_sum(uc));
    }

    #[test]
    fn a_good_digest_is_accepted_and_its_sequence_remembered() {
        let p = mc_packet();
        let (h, b) = split(&p);
        let mut seqs = Sequence::default();
        let heard = receive(h, b, 255, &expect(), false, &mut seqs).unwrap();
        assert_eq!(heard, Heard { advert: advert(), seq: 7 });
        assert_eq!(seqs.last(), 7);
        // The kernel's header checksum, TOS and fragment bits are not covered.
        let mut q = p.clone();
        q[1] = 0;
        q[6] = 0x40;
        q[10..12].copy_from_slice(&[0x12, 0x34]);
        let (h, b) = split(&q);
        let mut fresh = Sequence::default();
        assert!(receive(h, b, 255, &expect(), false, &mut fresh).is_ok());
        let uc = [hex(UC_HEADER), hex(UC_AH), hex(VRRP)].concat();
        let (h, b) = split(&uc);
        assert!(receive(h, b, 255, &expect(), true, &mut Sequence::default()).is_ok());
    }

    #[test]
    fn a_bad_digest_is_dropped() {
        let p = mc_packet();
        let mut seqs = Sequence::default();
        let wrong_key = Expect { auth: Some(Auth::Ah(password("other"))), ..expect() };
        let (h, b) = split(&p);
        assert_eq!(receive(h, b, 255, &wrong_key, false, &mut seqs), Err(DropReason::AhBadDigest));
        // Any covered byte changed: the id, the TTL of a multicast advert, the priority.
        for at in [5, 8, IPV4_LEN + 8 + 3, IPV4_LEN + AH_LEN + 2, p.len() - 1] {
            let mut q = p.clone();
            q[at] ^= 1;
            let (h, b) = split(&q);
            assert_eq!(receive(h, b, 255, &expect(), false, &mut seqs), Err(DropReason::AhBadDigest), "byte {at}");
        }
        // A unicast receiver leaves the TTL out, a multicast one does not.
        let (h, b) = split(&p);
        assert_eq!(receive(h, b, 255, &expect(), true, &mut seqs), Err(DropReason::AhBadDigest));
        assert_eq!(seqs.last(), 0, "nothing dropped is remembered");
    }

    #[test]
    fn a_replayed_or_older_sequence_number_is_dropped() {
        let mut seqs = Sequence::default();
        let at = |seq: u32| seal(&advert(), N1, MC, seq, false).unwrap();
        let hear = |p: &[u8], seqs: &mut Sequence| {
            let (h, b) = split(p);
            receive(h, b, 255, &expect(), false, seqs).map(|h| h.seq)
        };
        assert_eq!(hear(&at(10), &mut seqs), Ok(10));
        assert_eq!(hear(&at(10), &mut seqs), Err(DropReason::AhReplay));
        assert_eq!(hear(&at(9), &mut seqs), Err(DropReason::AhReplay));
        assert_eq!(hear(&at(11), &mut seqs), Ok(11));
        // What we send goes on from what we heard.
        assert_eq!(seqs.next_sent(), 12);
        assert_eq!(hear(&at(12), &mut seqs), Err(DropReason::AhReplay));
        seqs.heard_lower(20);
        assert_eq!(seqs.next_sent(), 22);
    }

    #[test]
    fn a_wrong_spi_is_dropped() {
        // A packet sealed by 10.88.0.12 but received with 10.88.0.11 as its SPI, re-digested.
        let mut p = seal(&advert(), N2, MC, 3, false).unwrap();
        p[IPV4_LEN + 4..IPV4_LEN + 8].copy_from_slice(&N1.octets());
        let icv = digest(&KEY, &p[..IPV4_LEN], &p[IPV4_LEN..IPV4_LEN + AH_LEN], &p[IPV4_LEN + AH_LEN..], false);
        p[IPV4_LEN + ICV_AT..IPV4_LEN + AH_LEN].copy_from_slice(&icv);
        let (h, b) = split(&p);
        assert_eq!(receive(h, b, 255, &expect(), false, &mut Sequence::default()), Err(DropReason::AhWrongSpi));
    }

    #[test]
    fn malformed_and_foreign_packets_are_dropped_before_the_digest() {
        let p = mc_packet();
        let mut seqs = Sequence::default();
        let mut drop_of = |q: &[u8], e: &Expect| {
            let (h, b) = split(q);
            receive(h, b, 255, e, false, &mut seqs).unwrap_err()
        };
        for n in IPV4_LEN..p.len() {
            assert!(matches!(drop_of(&p[..n], &expect()), DropReason::Truncated | DropReason::AhBadDigest), "{n}");
        }
        let mut not_vrrp = p.clone();
        not_vrrp[IPV4_LEN] = 6;
        assert_eq!(drop_of(&not_vrrp, &expect()), DropReason::AhMalformed);
        assert_eq!(drop_of(&p, &Expect { vrid: 52, ..expect() }), DropReason::WrongVrid);
        assert_eq!(drop_of(&p, &Expect { auth: None, ..expect() }), DropReason::AuthTypeMismatch);
        let pass = Expect { auth: Some(Auth::Pass(KEY)), ..expect() };
        assert_eq!(drop_of(&p, &pass), DropReason::AuthTypeMismatch);
        let (h, b) = split(&p);
        assert_eq!(receive(&h[..19], b, 255, &expect(), false, &mut seqs), Err(DropReason::Truncated));
        assert_eq!(receive(h, b, 254, &expect(), false, &mut seqs), Err(DropReason::TtlNot255));
    }

    #[test]
    fn the_sequence_stops_below_the_top() {
        let mut s = Sequence::default();
        s.heard_lower(MAX_SEQ - 2);
        assert_eq!((s.next_sent(), s.next_sent()), (MAX_SEQ, MAX_SEQ));
        s.heard_lower(u32::MAX);
        assert_eq!(s.next_sent(), u32::MAX);
        assert!(!s.accept(u32::MAX));
    }

    #[test]
    fn random_bodies_never_panic() {
        let mut rng = crate::testkit::Rng::new(0xa4_0051);
        let p = mc_packet();
        for _ in 0..5_000 {
            let mut q = p.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(q.len() as u64) as usize;
                q[at] = rng.byte();
            }
            q.truncate(IPV4_LEN + rng.below((q.len() - IPV4_LEN + 1) as u64) as usize);
            let (h, b) = split(&q);
            let _ = receive(h, b, 255, &expect(), rng.below(2) == 0, &mut Sequence::default());
        }
    }
}
