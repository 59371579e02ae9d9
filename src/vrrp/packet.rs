//! The VRRP advert codec: VRRPv2 (RFC 3768, with keepalived's PASS and IPsec AH
//! authentication: the AH header itself is [`super::ah`]'s) and
//! VRRPv3 (RFC 5798, IPv4 and IPv6), plus the reasons a received advert is dropped and their
//! counters. Pure: works on the VRRP payload only; the socket layer owns the IP header and
//! passes in the source, destination and TTL (hop limit) it read.
//!
//! Wire layout (both versions share the first four bytes):
//!
//! ```text
//! v2: ver|type  vrid  prio  count | auth-type  interval(s)   checksum | addrs (4 each) | auth data (8)
//! v3: ver|type  vrid  prio  count | rsvd(4) interval(cs, 12)  checksum | addrs (4 or 16 each)
//! ```
//!
//! Checksums: v2 covers the VRRP message alone. v3 also covers the IPv4/IPv6 pseudo-header
//! (source, destination, protocol 112, length); for unicast the destination is the peer.
//! On receive, a v3 IPv4 advert may also carry one of two variants seen in the field: the
//! checksum over the message alone (keepalived's `v3_checksum_as_v2`, some vendors), or the
//! pseudo-header with 224.0.0.18 as destination on a unicast advert (keepalived 1.3.6 and
//! older, `old_unicast_checksum`). Which one matched is kept in [`Advert::checksum`] so that
//! re-encoding reproduces the bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::VrrpError;
use crate::family::Family;

/// IP protocol number of VRRP.
pub const PROTOCOL: u8 = 112;
/// IPv4 multicast group of VRRP.
pub const MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 multicast group of VRRP.
pub const MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// The only TTL (hop limit) a VRRP packet may arrive with.
pub const TTL: u8 = 255;
/// Largest VRRPv3 max advert interval, in centiseconds (12 bits).
pub const MAX_V3_INTERVAL_CS: u16 = 0x0fff;
/// Largest VRRPv2 advert interval, in centiseconds (255 whole seconds).
pub const MAX_V2_INTERVAL_CS: u16 = 25_500;

const HEADER_LEN: usize = 8;
const AUTH_LEN: usize = 8;
const TYPE_ADVERT: u8 = 1;
const AUTH_NONE: u8 = 0;
const AUTH_PASS: u8 = 1;
const AUTH_AH: u8 = 2;

/// VRRPv2 authentication of an advert (keepalived's `auth_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `PASS` (type 1): the password, zero-padded to 8 bytes, travels in the auth data.
    Pass([u8; 8]),
    /// `AH` (type 2): the auth data is zero and the message travels behind an IPsec AH
    /// header whose HMAC-MD5-96 is keyed with these 8 bytes ([`super::ah`]); not on the
    /// wire itself.
    Ah([u8; 8]),
}

impl Auth {
    /// The auth type byte of a VRRPv2 message.
    fn type_byte(self) -> u8 {
        match self {
            Auth::Pass(_) => AUTH_PASS,
            Auth::Ah(_) => AUTH_AH,
        }
    }

    /// The 8 bytes of auth data the message carries.
    fn data(self) -> [u8; AUTH_LEN] {
        match self {
            Auth::Pass(p) => p,
            Auth::Ah(_) => [0; AUTH_LEN],
        }
    }
}

/// How the checksum of an advert was (or is to be) computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Checksum {
    /// As the RFCs say: v2 over the message, v3 over pseudo-header (real src/dst) + message.
    #[default]
    Standard,
    /// v3 over IPv4 with the message alone (keepalived `v3_checksum_as_v2`).
    MessageOnly,
    /// v3 over IPv4 with 224.0.0.18 as pseudo-header destination even when sent unicast
    /// (keepalived 1.3.6 and older).
    MulticastPseudoHeader,
}

/// One VRRP advertisement, as carried on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    /// 2 or 3.
    pub version: u8,
    /// Virtual router id, 1..=255.
    pub vrid: u8,
    /// Sender's priority: 0 = stopping, 255 = address owner.
    pub priority: u8,
    /// Advert interval in centiseconds (v2 carries whole seconds: seconds x 100).
    pub interval_cs: u16,
    /// The virtual addresses, all of the advert's family.
    pub addresses: Vec<IpAddr>,
    /// v2 authentication; `None` for no authentication and for v3.
    pub auth: Option<Auth>,
    /// Checksum flavour.
    pub checksum: Checksum,
}

impl Advert {
    /// The advert interval as a duration.
    pub fn interval(&self) -> Duration {
        Duration::from_millis(u64::from(self.interval_cs) * 10)
    }
}

/// What a receiving instance expects; anything else is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// 2 or 3.
    pub version: u8,
    /// Virtual router id.
    pub vrid: u8,
    /// Address family of the instance.
    pub family: Family,
    /// v2 authentication; `None` means the peer must send auth type 0.
    pub auth: Option<Auth>,
    /// Configured advert interval in centiseconds; v2 adverts must match it (RFC 3768 7.1),
    /// v3 adverts may differ (the backup adopts the master's).
    pub interval_cs: u16,
}

/// keepalived's `auth_pass` as it goes on the wire: the first 8 bytes, zero-padded.
pub fn password(pass: &str) -> [u8; 8] {
    let mut out = [0u8; 8];
    for (o, b) in out.iter_mut().zip(pass.bytes()) {
        *o = b;
    }
    out
}

/// Why a received packet was dropped. Declared in the order [`decode`] checks them; the
/// socket layer's unicast check, then the IPsec AH ones ([`super::ah::receive`]) come last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, thiserror::Error)]
pub enum DropReason {
    /// TTL / hop limit not 255: sent from off-link or forwarded (RFC 5798 7.1).
    #[error("TTL/hop limit is not 255")]
    TtlNot255,
    /// Shorter than the fixed header, or than its address count (and v2 auth data) need.
    #[error("packet is truncated")]
    Truncated,
    /// Version is neither 2 nor 3.
    #[error("unknown VRRP version")]
    BadVersion,
    /// Type is not ADVERTISEMENT (1).
    #[error("packet type is not ADVERTISEMENT")]
    BadType,
    /// A valid version, but not the instance's.
    #[error("VRRP version differs from ours")]
    VersionMismatch,
    /// Source and destination of different families, another family than the instance's,
    /// or VRRPv2 over IPv6.
    #[error("address family differs from ours")]
    WrongFamily,
    /// Longer than its address count (and v2 auth data) say.
    #[error("length does not match the address count")]
    LengthMismatch,
    /// No accepted checksum flavour verifies.
    #[error("bad checksum")]
    BadChecksum,
    /// Another virtual router's advert.
    #[error("VRID is not ours")]
    WrongVrid,
    /// v2 auth type other than 0 (none), 1 (PASS) or 2 (AH).
    #[error("unknown authentication type")]
    UnknownAuthType,
    /// v2 auth type differs from the instance's.
    #[error("authentication type differs from ours")]
    AuthTypeMismatch,
    /// v2 PASS password differs from the instance's.
    #[error("password differs from ours")]
    AuthMismatch,
    /// Advert interval of zero.
    #[error("advert interval is zero")]
    ZeroInterval,
    /// v2 advert interval differs from the instance's (RFC 3768 7.1).
    #[error("VRRPv2 advert interval differs from ours")]
    IntervalMismatch,
    /// Unicast mode: the sender is not a configured peer (checked by the socket layer).
    #[error("sender is not a configured unicast peer")]
    UnknownPeer,
    /// AH: shorter than an AH header and a VRRP header, or an AH header not for VRRP
    /// (next header not 112, or a length other than HMAC-MD5-96's).
    #[error("IPsec AH header is malformed or not for VRRP")]
    AhMalformed,
    /// AH: the HMAC-MD5-96 does not verify (another key, or a changed packet).
    #[error("IPsec AH digest does not verify")]
    AhBadDigest,
    /// AH: the SPI is not the sender's address (keepalived's rule).
    #[error("IPsec AH SPI is not the sender's address")]
    AhWrongSpi,
    /// AH: a sequence number not above the last one seen (a replay, or an old packet).
    #[error("IPsec AH sequence number already seen")]
    AhReplay,
}

impl DropReason {
    /// Every reason, in check order.
    pub const ALL: [DropReason; 19] = [
        DropReason::TtlNot255,
        DropReason::Truncated,
        DropReason::BadVersion,
        DropReason::BadType,
        DropReason::VersionMismatch,
        DropReason::WrongFamily,
        DropReason::LengthMismatch,
        DropReason::BadChecksum,
        DropReason::WrongVrid,
        DropReason::UnknownAuthType,
        DropReason::AuthTypeMismatch,
        DropReason::AuthMismatch,
        DropReason::ZeroInterval,
        DropReason::IntervalMismatch,
        DropReason::UnknownPeer,
        DropReason::AhMalformed,
        DropReason::AhBadDigest,
        DropReason::AhWrongSpi,
        DropReason::AhReplay,
    ];

    /// A stable snake_case name, for metrics and status output.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::TtlNot255 => "ttl_not_255",
            DropReason::Truncated => "truncated",
            DropReason::BadVersion => "bad_version",
            DropReason::BadType => "bad_type",
            DropReason::VersionMismatch => "version_mismatch",
            DropReason::WrongFamily => "wrong_family",
            DropReason::LengthMismatch => "length_mismatch",
            DropReason::BadChecksum => "bad_checksum",
            DropReason::WrongVrid => "wrong_vrid",
            DropReason::UnknownAuthType => "unknown_auth_type",
            DropReason::AuthTypeMismatch => "auth_type_mismatch",
            DropReason::AuthMismatch => "auth_mismatch",
            DropReason::ZeroInterval => "zero_interval",
            DropReason::IntervalMismatch => "interval_mismatch",
            DropReason::UnknownPeer => "unknown_peer",
            DropReason::AhMalformed => "ah_malformed",
            DropReason::AhBadDigest => "ah_bad_digest",
            DropReason::AhWrongSpi => "ah_wrong_spi",
            DropReason::AhReplay => "ah_replay",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Dropped packets per reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DropCounters {
    counts: [u64; DropReason::ALL.len()],
}

impl DropCounters {
    /// All counters at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one drop.
    pub fn bump(&mut self, reason: DropReason) {
        let c = &mut self.counts[reason.index()];
        *c = c.saturating_add(1);
    }

    /// Passes a decode result through, counting it if it is a drop.
    pub fn count<T>(&mut self, result: Result<T, DropReason>) -> Option<T> {
        result.map_err(|r| self.bump(r)).ok()
    }

    /// Drops counted for one reason.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.counts[reason.index()]
    }

    /// Drops counted in all.
    pub fn total(&self) -> u64 {
        self.counts.iter().fold(0u64, |a, c| a.saturating_add(*c))
    }

    /// The non-zero counters, in [`DropReason::ALL`] order.
    pub fn list(&self) -> Vec<(DropReason, u64)> {
        DropReason::ALL.iter().map(|r| (*r, self.get(*r))).filter(|(_, n)| *n > 0).collect()
    }
}

/// Encodes an advert into a VRRP payload (no IP header) with its checksum, for a packet from
/// `src` to `dst` (the multicast group, or the peer when unicast).
pub fn encode(a: &Advert, src: IpAddr, dst: IpAddr) -> Result<Vec<u8>, VrrpError> {
    let (family, count) =
        encodable(a, src, dst).map_err(|problem| VrrpError::Encode { version: a.version, vrid: a.vrid, problem })?;
    let mut b = Vec::with_capacity(wire_len(a.version, family, usize::from(count)));
    b.extend_from_slice(&[(a.version << 4) | TYPE_ADVERT, a.vrid, a.priority, count]);
    if a.version == 2 {
        let auth_type = a.auth.map_or(AUTH_NONE, Auth::type_byte);
        // encodable() checked interval_cs / 100 <= 255.
        b.extend_from_slice(&[auth_type, u8::try_from(a.interval_cs / 100).unwrap_or(u8::MAX)]);
    } else {
        b.extend_from_slice(&a.interval_cs.to_be_bytes());
    }
    b.extend_from_slice(&[0, 0]);
    for addr in &a.addresses {
        match addr {
            IpAddr::V4(v) => b.extend_from_slice(&v.octets()),
            IpAddr::V6(v) => b.extend_from_slice(&v.octets()),
        }
    }
    if a.version == 2 {
        b.extend_from_slice(&a.auth.map_or([0; AUTH_LEN], Auth::data));
    }
    let sum = !fold(sum16(&b, checksum_base(a.checksum, a.version, src, dst, b.len())));
    b[6..8].copy_from_slice(&sum.to_be_bytes());
    Ok(b)
}

/// Checks that an advert can go on the wire; returns its family and address count.
fn encodable(a: &Advert, src: IpAddr, dst: IpAddr) -> Result<(Family, u8), String> {
    let family =
        pair_family(src, dst).ok_or_else(|| format!("source {src} and destination {dst} are of different families"))?;
    match a.version {
        2 if family == Family::Ipv6 => return Err("VRRPv2 carries only IPv4".into()),
        2 if !a.interval_cs.is_multiple_of(100) || !(100..=MAX_V2_INTERVAL_CS).contains(&a.interval_cs) => {
            return Err(format!("VRRPv2 interval must be whole seconds from 1 to 255, not {} cs", a.interval_cs));
        }
        2 => {}
        3 if !(1..=MAX_V3_INTERVAL_CS).contains(&a.interval_cs) => {
            return Err(format!("VRRPv3 interval must be 1 to {MAX_V3_INTERVAL_CS} cs, not {}", a.interval_cs));
        }
        3 if a.auth.is_some() => return Err("VRRPv3 has no authentication".into()),
        3 => {}
        v => return Err(format!("unknown version {v}")),
    }
    if a.checksum != Checksum::Standard && (a.version != 3 || family != Family::Ipv4) {
        return Err(format!("checksum flavour {:?} exists only for VRRPv3 over IPv4", a.checksum));
    }
    if let Some(bad) = a.addresses.iter().find(|x| Family::of(x) != family) {
        return Err(format!("address {bad} is not of the packet's family ({family:?})"));
    }
    let count =
        u8::try_from(a.addresses.len()).map_err(|_| format!("{} addresses, at most 255 fit", a.addresses.len()))?;
    Ok((family, count))
}

/// Decodes and checks a received VRRP payload against what this instance expects. Never
/// panics: any input is either an advert or a drop reason.
pub fn decode(
    payload: &[u8],
    src: IpAddr,
    dst: IpAddr,
    ttl_or_hop_limit: u8,
    expect: &Expect,
) -> Result<Advert, DropReason> {
    if ttl_or_hop_limit != TTL {
        return Err(DropReason::TtlNot255);
    }
    let &[ver_type, vrid, priority, count, b4, b5, _, _, ..] = payload else {
        return Err(DropReason::Truncated);
    };
    let version = ver_type >> 4;
    if version != 2 && version != 3 {
        return Err(DropReason::BadVersion);
    }
    if ver_type & 0x0f != TYPE_ADVERT {
        return Err(DropReason::BadType);
    }
    if version != expect.version {
        return Err(DropReason::VersionMismatch);
    }
    let family = match pair_family(src, dst) {
        Some(f) if f == expect.family && !(version == 2 && f == Family::Ipv6) => f,
        _ => return Err(DropReason::WrongFamily),
    };
    let want = wire_len(version, family, usize::from(count));
    if payload.len() < want {
        return Err(DropReason::Truncated);
    }
    if payload.len() > want {
        return Err(DropReason::LengthMismatch);
    }
    let checksum = verify_checksum(payload, version, family, src, dst)?;
    if vrid != expect.vrid {
        return Err(DropReason::WrongVrid);
    }
    let addr_end = HEADER_LEN + usize::from(count) * family.addr_len();
    let (auth, interval_cs) = auth_and_interval(version, [b4, b5], &payload[addr_end..], expect)?;
    let addresses = payload[HEADER_LEN..addr_end].chunks_exact(family.addr_len()).filter_map(parse_addr).collect();
    Ok(Advert { version, vrid, priority, interval_cs, addresses, auth, checksum })
}

/// Reads and checks bytes 4-5 (v2: auth type and seconds; v3: centiseconds) and the v2 auth
/// data.
fn auth_and_interval(
    version: u8,
    [b4, b5]: [u8; 2],
    auth_data: &[u8],
    expect: &Expect,
) -> Result<(Option<Auth>, u16), DropReason> {
    let (auth, interval_cs) = if version == 2 {
        (check_auth(b4, auth_data, expect)?, u16::from(b5) * 100)
    } else {
        (None, u16::from_be_bytes([b4, b5]) & MAX_V3_INTERVAL_CS)
    };
    if interval_cs == 0 {
        return Err(DropReason::ZeroInterval);
    }
    if version == 2 && interval_cs != expect.interval_cs {
        return Err(DropReason::IntervalMismatch);
    }
    Ok((auth, interval_cs))
}

/// Checks v2 authentication; returns the instance's when the type matches (and, for PASS,
/// the password). An AH advert's digest is checked before, by [`super::ah`]; like
/// keepalived, its auth data is not looked at.
fn check_auth(auth_type: u8, data: &[u8], expect: &Expect) -> Result<Option<Auth>, DropReason> {
    if ![AUTH_NONE, AUTH_PASS, AUTH_AH].contains(&auth_type) {
        return Err(DropReason::UnknownAuthType);
    }
    match (auth_type, expect.auth) {
        (AUTH_NONE, None) => Ok(None),
        (AUTH_PASS, Some(Auth::Pass(want))) => {
            let got: [u8; 8] = data.try_into().map_err(|_| DropReason::Truncated)?;
            if got == want { Ok(Some(Auth::Pass(got))) } else { Err(DropReason::AuthMismatch) }
        }
        (AUTH_AH, Some(ah @ Auth::Ah(_))) => Ok(Some(ah)),
        _ => Err(DropReason::AuthTypeMismatch),
    }
}

/// Finds the checksum flavour that verifies, if any.
fn verify_checksum(
    payload: &[u8],
    version: u8,
    family: Family,
    src: IpAddr,
    dst: IpAddr,
) -> Result<Checksum, DropReason> {
    let candidates: &[Checksum] = match (version, family) {
        (3, Family::Ipv4) if dst.is_multicast() => &[Checksum::Standard, Checksum::MessageOnly],
        (3, Family::Ipv4) => &[Checksum::Standard, Checksum::MessageOnly, Checksum::MulticastPseudoHeader],
        _ => &[Checksum::Standard],
    };
    candidates
        .iter()
        .copied()
        .find(|c| fold(sum16(payload, checksum_base(*c, version, src, dst, payload.len()))) == 0xffff)
        .ok_or(DropReason::BadChecksum)
}

/// The one's complement sum the checksum starts from: zero, or the pseudo-header's.
fn checksum_base(flavour: Checksum, version: u8, src: IpAddr, dst: IpAddr, len: usize) -> u64 {
    match (version, flavour) {
        (2, _) | (_, Checksum::MessageOnly) => 0,
        (_, Checksum::Standard) => pseudo_header_sum(src, dst, len),
        (_, Checksum::MulticastPseudoHeader) => pseudo_header_sum(src, IpAddr::V4(MULTICAST_V4), len),
    }
}

/// Sum of the IPv4 (src, dst, 0, proto, len16) or IPv6 (src, dst, len32, 0, 0, 0, next
/// header) pseudo-header. Both come to the same 16-bit words apart from the zero padding.
fn pseudo_header_sum(src: IpAddr, dst: IpAddr, len: usize) -> u64 {
    let len = len as u64;
    addr_sum(src) + addr_sum(dst) + u64::from(PROTOCOL) + (len >> 16) + (len & 0xffff)
}

fn addr_sum(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(a) => sum16(&a.octets(), 0),
        IpAddr::V6(a) => sum16(&a.octets(), 0),
    }
}

/// Adds `data` as big-endian 16-bit words (odd tail padded with zero) to `acc`.
fn sum16(data: &[u8], acc: u64) -> u64 {
    let words = data.chunks(2).map(|c| (u64::from(c[0]) << 8) | c.get(1).map_or(0, |b| u64::from(*b)));
    acc + words.sum::<u64>()
}

/// Folds a one's complement sum into 16 bits.
fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    u16::try_from(acc).unwrap_or(u16::MAX)
}

fn pair_family(src: IpAddr, dst: IpAddr) -> Option<Family> {
    let f = Family::of(&src);
    (f == Family::of(&dst)).then_some(f)
}

fn wire_len(version: u8, family: Family, count: usize) -> usize {
    HEADER_LEN + count * family.addr_len() + if version == 2 { AUTH_LEN } else { 0 }
}

fn parse_addr(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(b).ok().map(IpAddr::from),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Rng;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    // Real keepalived 2.2.7 adverts from the vrrp-lab captures (tests/fixtures/vrrp/).
    const V2_N1: &str = "21 33 96 01 01 01 c1fc 0a580032 766c2d7365637200";
    const V2_PRIO0: &str = "21 33 00 01 01 01 57fd 0a580032 766c2d7365637200";
    const V3_N1: &str = "31 33 96 01 0064 42eb 0a580032";
    const V3_UNICAST: &str = "31 33 96 01 0064 189a 0a580032";
    const V3_FAST_N2: &str = "31 33 64 01 000a 7544 0a580032";
    const V3_V6_N1: &str = "31 34 96 02 0064 3df2 fe800000000000000000000000000052 fd880000000000000000000000000050";

    fn v2_expect() -> Expect {
        Expect {
            version: 2,
            vrid: 51,
            family: Family::Ipv4,
            auth: Some(Auth::Pass(password("vl-secr"))),
            interval_cs: 100,
        }
    }

    fn v3_expect() -> Expect {
        Expect { version: 3, vrid: 51, family: Family::Ipv4, auth: None, interval_cs: 100 }
    }

    fn v6_expect() -> Expect {
        Expect { version: 3, vrid: 52, family: Family::Ipv6, auth: None, interval_cs: 100 }
    }

    const N1: &str = "10.88.0.11";
    const N2: &str = "10.88.0.12";
    const MC: &str = "224.0.0.18";
    const N1_LL: &str = "fe80::88:ff:fe00:11";

    fn roundtrip(bytes: &[u8], src: IpAddr, dst: IpAddr, e: &Expect) -> Advert {
        let a = decode(bytes, src, dst, 255, e).unwrap();
        assert_eq!(encode(&a, src, dst).unwrap(), bytes, "re-encoding {a:?}");
        a
    }

    #[test]
    fn v2_pass_advert_from_keepalived() {
        let a = roundtrip(&hex(V2_N1), ip(N1), ip(MC), &v2_expect());
        assert_eq!((a.version, a.vrid, a.priority, a.interval_cs), (2, 51, 150, 100));
        assert_eq!(a.addresses, vec![ip("10.88.0.50")]);
        assert_eq!(a.auth, Some(Auth::Pass(*b"vl-secr\0")));
        assert_eq!(a.interval(), Duration::from_secs(1));
        assert_eq!(roundtrip(&hex(V2_PRIO0), ip(N1), ip(MC), &v2_expect()).priority, 0);
    }

    #[test]
    fn v3_adverts_from_keepalived() {
        let a = roundtrip(&hex(V3_N1), ip(N1), ip(MC), &v3_expect());
        assert_eq!((a.version, a.priority, a.interval_cs, a.checksum), (3, 150, 100, Checksum::Standard));
        let fast = roundtrip(&hex(V3_FAST_N2), ip(N2), ip(MC), &v3_expect());
        assert_eq!((fast.priority, fast.interval()), (100, Duration::from_millis(100)));
        let six = roundtrip(&hex(V3_V6_N1), ip(N1_LL), ip("ff02::12"), &v6_expect());
        assert_eq!(six.addresses, vec![ip("fe80::52"), ip("fd88::50")]);
    }

    #[test]
    fn v3_unicast_checksum_uses_the_peer_as_destination() {
        let a = roundtrip(&hex(V3_UNICAST), ip(N1), ip(N2), &v3_expect());
        assert_eq!(a.checksum, Checksum::Standard);
        // The multicast advert's bytes do not verify when sent to the peer, and vice versa...
        let mc = hex(V3_N1);
        // ...except as the keepalived <= 1.3.6 unicast variant, which is exactly that.
        let old = roundtrip(&mc, ip(N1), ip(N2), &v3_expect());
        assert_eq!(old.checksum, Checksum::MulticastPseudoHeader);
        assert_eq!(decode(&hex(V3_UNICAST), ip(N1), ip(MC), 255, &v3_expect()), Err(DropReason::BadChecksum));
    }

    #[test]
    fn v3_message_only_checksum_is_accepted_and_reproduced() {
        let mut a = decode(&hex(V3_N1), ip(N1), ip(MC), 255, &v3_expect()).unwrap();
        a.checksum = Checksum::MessageOnly;
        let bytes = encode(&a, ip(N1), ip(MC)).unwrap();
        assert_eq!(fold(sum16(&bytes, 0)), 0xffff, "sums to zero without a pseudo-header");
        assert_eq!(roundtrip(&bytes, ip(N1), ip(MC), &v3_expect()), a);
        // Not for IPv6, where the kernel always includes the pseudo-header.
        let mut six = hex(V3_V6_N1);
        six[6..8].copy_from_slice(&[0, 0]);
        let s = !fold(sum16(&six, 0));
        six[6..8].copy_from_slice(&s.to_be_bytes());
        assert_eq!(decode(&six, ip(N1_LL), ip("ff02::12"), 255, &v6_expect()), Err(DropReason::BadChecksum));
    }

    #[test]
    fn each_drop_reason_is_reachable() {
        let v2 = hex(V2_N1);
        let (s, d) = (ip(N1), ip(MC));
        let e = v2_expect();
        let with = |f: &dyn Fn(&mut Expect)| {
            let mut e = v2_expect();
            f(&mut e);
            e
        };
        let flip = |b: &[u8], i: usize| {
            let mut b = b.to_vec();
            b[i] ^= 1;
            b
        };
        let resum = |mut b: Vec<u8>, f: &dyn Fn(&mut Vec<u8>)| {
            f(&mut b);
            b[6..8].copy_from_slice(&[0, 0]);
            let c = !fold(sum16(&b, 0));
            b[6..8].copy_from_slice(&c.to_be_bytes());
            b
        };
        let cases: Vec<(DropReason, Result<Advert, DropReason>)> = vec![
            (DropReason::TtlNot255, decode(&v2, s, d, 254, &e)),
            (DropReason::Truncated, decode(&v2[..7], s, d, 255, &e)),
            (DropReason::Truncated, decode(&v2[..19], s, d, 255, &e)),
            (DropReason::BadVersion, decode(&resum(v2.clone(), &|b| b[0] = 0x41), s, d, 255, &e)),
            (DropReason::BadType, decode(&resum(v2.clone(), &|b| b[0] = 0x22), s, d, 255, &e)),
            (DropReason::VersionMismatch, decode(&v2, s, d, 255, &with(&|e| e.version = 3))),
            (DropReason::WrongFamily, decode(&v2, s, ip("ff02::12"), 255, &e)),
            (
                DropReason::WrongFamily,
                decode(&v2, ip("fe80::1"), ip("ff02::12"), 255, &with(&|e| e.family = Family::Ipv6)),
            ),
            (DropReason::LengthMismatch, decode(&[v2.clone(), vec![0, 0]].concat(), s, d, 255, &e)),
            (DropReason::BadChecksum, decode(&flip(&v2, 2), s, d, 255, &e)),
            (DropReason::WrongVrid, decode(&v2, s, d, 255, &with(&|e| e.vrid = 52))),
            (DropReason::UnknownAuthType, decode(&resum(v2.clone(), &|b| b[4] = 3), s, d, 255, &e)),
            (DropReason::AuthTypeMismatch, decode(&resum(v2.clone(), &|b| b[4] = 2), s, d, 255, &e)),
            (DropReason::AuthTypeMismatch, decode(&v2, s, d, 255, &with(&|e| e.auth = None))),
            (DropReason::AuthTypeMismatch, decode(&resum(v2.clone(), &|b| b[4] = 0), s, d, 255, &e)),
            (
                DropReason::AuthMismatch,
                decode(&v2, s, d, 255, &with(&|e| e.auth = Some(Auth::Pass(password("other"))))),
            ),
            (DropReason::ZeroInterval, decode(&resum(v2.clone(), &|b| b[5] = 0), s, d, 255, &e)),
            (DropReason::IntervalMismatch, decode(&v2, s, d, 255, &with(&|e| e.interval_cs = 200))),
        ];
        for (want, got) in cases {
            assert_eq!(got, Err(want));
        }
        let v3 = resum(hex(V3_N1), &|b| b[4..6].copy_from_slice(&[0xf0, 0]));
        assert_eq!(decode(&v3, ip(N1), ip(MC), 255, &v3_expect()), Err(DropReason::ZeroInterval));
    }

    #[test]
    fn v2_without_auth_and_v3_reserved_bits() {
        let a = Advert {
            version: 2,
            vrid: 7,
            priority: 100,
            interval_cs: 300,
            addresses: vec![ip("192.0.2.1")],
            auth: None,
            checksum: Checksum::Standard,
        };
        let e = Expect { version: 2, vrid: 7, family: Family::Ipv4, auth: None, interval_cs: 300 };
        let bytes = encode(&a, ip("192.0.2.2"), ip(MC)).unwrap();
        assert_eq!(bytes.len(), 20);
        assert_eq!(&bytes[12..], &[0; 8], "auth data is zero with no authentication");
        assert_eq!(roundtrip(&bytes, ip("192.0.2.2"), ip(MC), &e), a);
        // v3: the 4 reserved bits are ignored on receive (RFC 5798 5.2.7).
        let mut v3 = hex(V3_N1);
        v3[4] |= 0xa0;
        v3[6..8].copy_from_slice(&[0, 0]);
        let c = !fold(sum16(&v3, pseudo_header_sum(ip(N1), ip(MC), v3.len())));
        v3[6..8].copy_from_slice(&c.to_be_bytes());
        assert_eq!(decode(&v3, ip(N1), ip(MC), 255, &v3_expect()).unwrap().interval_cs, 100);
    }

    #[test]
    fn encode_refuses_what_cannot_go_on_the_wire() {
        let ok = Advert {
            version: 3,
            vrid: 1,
            priority: 100,
            interval_cs: 100,
            addresses: vec![ip("192.0.2.1")],
            auth: None,
            checksum: Checksum::Standard,
        };
        let (s4, d4, s6, d6) = (ip("192.0.2.2"), ip(MC), ip("fe80::1"), ip("ff02::12"));
        assert!(encode(&ok, s4, d4).is_ok());
        let bad: Vec<(Advert, IpAddr, IpAddr)> = vec![
            (ok.clone(), s4, d6),
            (ok.clone(), s6, d6),
            (Advert { version: 4, ..ok.clone() }, s4, d4),
            (Advert { interval_cs: 0, ..ok.clone() }, s4, d4),
            (Advert { interval_cs: 4096, ..ok.clone() }, s4, d4),
            (Advert { auth: Some(Auth::Pass([0; 8])), ..ok.clone() }, s4, d4),
            (Advert { auth: Some(Auth::Ah([0; 8])), ..ok.clone() }, s4, d4),
            (Advert { addresses: vec![ip("192.0.2.1"); 256], ..ok.clone() }, s4, d4),
            (Advert { version: 2, interval_cs: 150, ..ok.clone() }, s4, d4),
            (Advert { version: 2, interval_cs: 25_600, ..ok.clone() }, s4, d4),
            (Advert { version: 2, checksum: Checksum::MessageOnly, ..ok.clone() }, s4, d4),
            (Advert { version: 2, addresses: vec![ip("fe80::5")], ..ok.clone() }, s6, d6),
            (Advert { addresses: vec![], checksum: Checksum::MessageOnly, ..ok.clone() }, s6, d6),
        ];
        for (a, s, d) in bad {
            assert!(matches!(encode(&a, s, d), Err(VrrpError::Encode { .. })), "{a:?} {s} {d}");
        }
        let msg = encode(&Advert { interval_cs: 0, ..ok }, s4, d4).unwrap_err().to_string();
        assert_eq!(msg, "encode VRRPv3 advert for VRID 1: VRRPv3 interval must be 1 to 4095 cs, not 0");
    }

    #[test]
    fn password_is_truncated_and_zero_padded() {
        assert_eq!(password("vl-secr"), *b"vl-secr\0");
        assert_eq!(password("0123456789"), *b"01234567");
        assert_eq!(password(""), [0; 8]);
    }

    /// Every truncation and every single-bit flip of a valid advert is dropped (a one's
    /// complement sum catches every single-bit error), never a panic; with the checksum
    /// repaired after the flip, decoding reaches the later checks and still never panics.
    #[test]
    fn truncations_and_bit_flips_never_panic() {
        let cases = [
            (hex(V2_N1), ip(N1), ip(MC), v2_expect()),
            (hex(V3_N1), ip(N1), ip(MC), v3_expect()),
            (hex(V3_UNICAST), ip(N1), ip(N2), v3_expect()),
            (hex(V3_V6_N1), ip(N1_LL), ip("ff02::12"), v6_expect()),
        ];
        for (bytes, s, d, e) in &cases {
            for n in 0..bytes.len() {
                assert!(decode(&bytes[..n], *s, *d, 255, e).is_err());
            }
            for bit in 0..bytes.len() * 8 {
                let mut b = bytes.clone();
                b[bit / 8] ^= 1 << (bit % 8);
                assert!(decode(&b, *s, *d, 255, e).is_err(), "flip of bit {bit}");
                if !(48..64).contains(&bit) {
                    let base = checksum_base(Checksum::Standard, b[0] >> 4, *s, *d, b.len());
                    b[6..8].copy_from_slice(&[0, 0]);
                    let c = !fold(sum16(&b, base));
                    b[6..8].copy_from_slice(&c.to_be_bytes());
                    let _ = decode(&b, *s, *d, 255, e);
                }
            }
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = Rng::new(0x5eed_1234_abcd_0001);
        let srcs = [(ip(N1), ip(MC)), (ip(N1), ip(N2)), (ip(N1_LL), ip("ff02::12")), (ip(N1), ip("ff02::12"))];
        let expects = [v2_expect(), v3_expect(), v6_expect()];
        for _ in 0..20_000 {
            let len = rng.below(80) as usize;
            let mut b: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            if len > 0 && rng.below(2) == 0 {
                b[0] = if rng.below(2) == 0 { 0x21 } else { 0x31 };
            }
            let (s, d) = srcs[rng.below(4) as usize];
            if len >= 8 && rng.below(2) == 0 {
                b[6..8].copy_from_slice(&[0, 0]);
                let c = !fold(sum16(&b, checksum_base(Checksum::Standard, b[0] >> 4, s, d, b.len())));
                b[6..8].copy_from_slice(&c.to_be_bytes());
            }
            let _ = decode(&b, s, d, 255, &expects[rng.below(3) as usize]);
        }
    }

    #[test]
    fn random_adverts_round_trip() {
        let mut rng = Rng::new(0x0dd_ba11_cafe_f00d);
        for _ in 0..5_000 {
            let version = 2 + rng.below(2) as u8;
            let six = version == 3 && rng.below(2) == 0;
            let n = rng.below(20) as usize;
            let addresses: Vec<IpAddr> = (0..n)
                .map(|_| {
                    if six {
                        IpAddr::from(Ipv6Addr::from((u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())))
                    } else {
                        IpAddr::from(Ipv4Addr::from(rng.next_u64() as u32))
                    }
                })
                .collect();
            let (src, dst) = if six {
                (ip(N1_LL), ip("ff02::12"))
            } else {
                (ip(N1), if rng.below(2) == 0 { ip(MC) } else { ip(N2) })
            };
            let interval_cs = if version == 2 { 100 * (1 + rng.below(255) as u16) } else { 1 + rng.below(4095) as u16 };
            let key = password(&format!("{:x}", rng.next_u64()));
            let auth = match (version, rng.below(3)) {
                (2, 0) => Some(Auth::Pass(key)),
                (2, 1) => Some(Auth::Ah(key)),
                _ => None,
            };
            let checksum = match (six || version == 2, rng.below(3)) {
                (true, _) | (_, 0) => Checksum::Standard,
                (_, 1) => Checksum::MessageOnly,
                _ if dst.is_multicast() => Checksum::Standard,
                _ => Checksum::MulticastPseudoHeader,
            };
            let a = Advert {
                version,
                vrid: 1 + rng.below(255) as u8,
                priority: rng.byte(),
                interval_cs,
                addresses,
                auth,
                checksum,
            };
            let e = Expect { version, vrid: a.vrid, family: Family::of(&src), auth, interval_cs };
            let bytes = encode(&a, src, dst).unwrap();
            let back = decode(&bytes, src, dst, 255, &e).unwrap();
            // A MessageOnly/MulticastPseudoHeader sum may coincide with the standard one.
            assert_eq!(Advert { checksum: a.checksum, ..back.clone() }, a);
            assert_eq!(encode(&back, src, dst).unwrap(), bytes);
        }
    }

    #[test]
    fn drop_counters_count_and_list_in_order() {
        let mut c = DropCounters::new();
        assert_eq!(c.list(), vec![]);
        c.bump(DropReason::WrongVrid);
        c.bump(DropReason::TtlNot255);
        c.bump(DropReason::WrongVrid);
        assert_eq!(c.count::<()>(Err(DropReason::BadChecksum)), None);
        assert_eq!(c.count(Ok(5)), Some(5));
        assert_eq!(
            c.list(),
            vec![(DropReason::TtlNot255, 1), (DropReason::BadChecksum, 1), (DropReason::WrongVrid, 2)]
        );
        assert_eq!((c.get(DropReason::WrongVrid), c.total()), (2, 4));
        let names: Vec<&str> = DropReason::ALL.iter().map(|r| r.name()).collect();
        assert_eq!(names.len(), DropReason::ALL.len());
        assert!(DropReason::ALL.iter().enumerate().all(|(i, r)| r.index() == i), "ALL is in declaration order");
        assert_eq!(DropReason::AuthMismatch.to_string(), "password differs from ours");
    }
}
