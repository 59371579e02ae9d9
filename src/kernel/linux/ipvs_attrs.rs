//! The IPVS generic-netlink attribute set (linux/ip_vs.h) on the rust-netlink traits: each
//! attribute set is an enum that netlink-packet-core writes (`Nla`) and reads
//! (`Parseable<NlaBuffer>`), and the message is a netlink-packet-generic family
//! (`GenlFamily`). Which attribute has which number and wire type is the only hand-written
//! netlink part. Pure.
//!
//! Speed: a nest's length is counted once per write (`emit_all`), not at every level as the
//! slice writer of netlink-packet-core does, and the attributes a 6.1 kernel sends with
//! every destination (tunnel settings, statistics) are typed, so that a dump part costs no
//! allocation beyond its attribute lists.

use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable, ErrorContext, NLA_F_NESTED, NLA_HEADER_SIZE, Nla, NlaBuffer, NlasIterator,
    Parseable, ParseableParametrized, parse_string, parse_u8, parse_u16, parse_u16_be, parse_u32, parse_u64,
};
use netlink_packet_generic::{GenlFamily, GenlHeader};

/// `IPVS_GENL_NAME`.
pub const FAMILY_NAME: &str = "IPVS";
/// `IPVS_GENL_VERSION`.
pub const VERSION: u8 = 1;

/// IPVS commands (`IPVS_CMD_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Cmd {
    NewService = 1,
    SetService = 2,
    DelService = 3,
    GetService = 4,
    NewDest = 5,
    SetDest = 6,
    DelDest = 7,
    GetDest = 8,
    NewDaemon = 9,
    DelDaemon = 10,
    GetDaemon = 11,
    SetConfig = 12,
    GetConfig = 13,
}

impl Cmd {
    const ALL: [Cmd; 13] = [
        Cmd::NewService,
        Cmd::SetService,
        Cmd::DelService,
        Cmd::GetService,
        Cmd::NewDest,
        Cmd::SetDest,
        Cmd::DelDest,
        Cmd::GetDest,
        Cmd::NewDaemon,
        Cmd::DelDaemon,
        Cmd::GetDaemon,
        Cmd::SetConfig,
        Cmd::GetConfig,
    ];

    fn of(code: u8) -> Result<Cmd, DecodeError> {
        Cmd::ALL.into_iter().find(|c| *c as u8 == code).ok_or_else(|| format!("unknown IPVS command {code}").into())
    }
}

/// An address attribute (`union nf_inet_addr`): up to 16 bytes, as many as were sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Inet {
    /// The bytes, zero after `len`.
    pub octets: [u8; 16],
    /// How many bytes the attribute held (4 or 16 from a kernel).
    pub len: u8,
}

impl Inet {
    /// The bytes that were sent.
    pub fn bytes(&self) -> &[u8] {
        &self.octets[..usize::from(self.len)]
    }

    fn parse(b: &[u8]) -> Inet {
        let mut octets = [0u8; 16];
        let n = b.len().min(16);
        octets[..n].copy_from_slice(&b[..n]);
        Inet { octets, len: u8::try_from(n).unwrap_or(16) }
    }
}

/// A statistics nest (`IPVS_STATS_ATTR_CONNS` ..= `OUTBPS`), in that order: connections,
/// packets in and out, bytes in and out, and the five rates. `STATS` carries the counters
/// and rates as u32 and the bytes as u64; `STATS64` carries every value as a u64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats(pub [u64; 10]);

/// `IPVS_STATS_ATTR_PAD`: alignment only.
const STATS_PAD: u16 = 11;

impl Stats {
    /// The values as written: all u64 in `STATS64`; in `STATS` the bytes (and any value
    /// past u32) as u64, the rest as u32.
    fn counters(&self, wide: bool) -> [Counter; 10] {
        std::array::from_fn(|i| {
            let value = self.0[i];
            Counter { index: i, value, wide: wide || i == 3 || i == 4 || u32::try_from(value).is_err() }
        })
    }

    fn value_len(&self, wide: bool) -> usize {
        list_len(&self.counters(wide))
    }

    fn emit(&self, wide: bool, buffer: &mut [u8]) {
        emit_all(&self.counters(wide), buffer);
    }

    /// Reads a statistics nest's value.
    pub fn parse(nest: &[u8]) -> Result<Stats, DecodeError> {
        let mut s = Stats::default();
        for nla in NlasIterator::new(nest) {
            let nla = nla?;
            let i = usize::from(nla.kind());
            if i == 0 || i > s.0.len() {
                continue;
            }
            let v = nla.value();
            s.0[i - 1] = if v.len() >= 8 { parse_u64(&v[..8])? } else { u64::from(parse_u32(v)?) };
        }
        Ok(s)
    }
}

/// One value of a statistics nest, as it is written.
struct Counter {
    index: usize,
    value: u64,
    wide: bool,
}

impl Nla for Counter {
    fn value_len(&self) -> usize {
        if self.wide { 8 } else { 4 }
    }
    fn kind(&self) -> u16 {
        u16::try_from(self.index + 1).unwrap_or(STATS_PAD)
    }
    fn emit_value(&self, buffer: &mut [u8]) {
        if self.wide {
            put(buffer, &self.value.to_ne_bytes());
        } else {
            put(buffer, &u32::try_from(self.value).unwrap_or(u32::MAX).to_ne_bytes());
        }
    }
}

/// A service's attributes (`IPVS_SVC_ATTR_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum SvcAttr {
    Af(u16),
    Protocol(u16),
    Addr(Inet),
    /// Network order on the wire.
    Port(u16),
    Fwmark(u32),
    SchedName(String),
    /// The flags and the mask of the flags being set.
    Flags(u32, u32),
    Timeout(u32),
    /// IPv4: the mask in network order; IPv6: the prefix length.
    Netmask(u32),
    Stats(Stats),
    PeName(String),
    Stats64(Stats),
    Other(DefaultNla),
}

/// A destination's attributes (`IPVS_DEST_ATTR_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum DestAttr {
    Addr(Inet),
    /// Network order on the wire.
    Port(u16),
    FwdMethod(u32),
    Weight(u32),
    UThresh(u32),
    LThresh(u32),
    ActiveConns(u32),
    InactConns(u32),
    PersistConns(u32),
    Stats(Stats),
    AddrFamily(u16),
    Stats64(Stats),
    TunType(u8),
    /// Network order on the wire.
    TunPort(u16),
    TunFlags(u16),
    Other(DefaultNla),
}

/// A connection-sync daemon's attributes (`IPVS_DAEMON_ATTR_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum DaemonAttr {
    State(u32),
    McastIfn(String),
    SyncId(u32),
    SyncMaxlen(u16),
    /// Network order.
    McastGroup([u8; 4]),
    McastGroup6([u8; 16]),
    McastPort(u16),
    McastTtl(u8),
    Other(DefaultNla),
}

/// The top-level attributes of an IPVS message (`IPVS_CMD_ATTR_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum IpvsAttr {
    Service(Vec<SvcAttr>),
    Dest(Vec<DestAttr>),
    Daemon(Vec<DaemonAttr>),
    TimeoutTcp(u32),
    TimeoutTcpFin(u32),
    TimeoutUdp(u32),
    Other(DefaultNla),
}

impl IpvsAttr {
    /// `IPVS_CMD_ATTR_SERVICE`.
    pub const SERVICE: u16 = 1;
    /// `IPVS_CMD_ATTR_DEST`.
    pub const DEST: u16 = 2;
    /// `IPVS_CMD_ATTR_DAEMON`.
    pub const DAEMON: u16 = 3;
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP`.
    pub const TIMEOUT_TCP: u16 = 4;
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN`.
    pub const TIMEOUT_TCP_FIN: u16 = 5;
    /// `IPVS_CMD_ATTR_TIMEOUT_UDP`.
    pub const TIMEOUT_UDP: u16 = 6;
}

/// `IPVS_SVC_ATTR_STATS` and `IPVS_DEST_ATTR_STATS`: the statistics nest with u32 counters.
pub const STATS: u16 = 10;
/// `IPVS_SVC_ATTR_STATS64` and `IPVS_DEST_ATTR_STATS64`: the statistics nest with u64 counters.
pub const STATS64: u16 = 12;

/// One IPVS generic-netlink message: the command and its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsMessage {
    /// The command (`genlmsghdr.cmd`).
    pub cmd: Cmd,
    /// The top-level attributes.
    pub attrs: Vec<IpvsAttr>,
}

fn put(buffer: &mut [u8], bytes: &[u8]) {
    let n = bytes.len().min(buffer.len());
    buffer[..n].copy_from_slice(&bytes[..n]);
}

fn put_str(buffer: &mut [u8], s: &str) {
    put(buffer, s.as_bytes());
    if let Some(last) = buffer.get_mut(s.len()) {
        *last = 0;
    }
}

/// Writes `attrs` one after the other, each value's length counted once.
fn emit_all<T: Nla>(attrs: &[T], buffer: &mut [u8]) {
    let mut at = 0;
    for a in attrs {
        let len = a.value_len();
        let total = NLA_HEADER_SIZE + len.next_multiple_of(4);
        let Some(slot) = buffer.get_mut(at..at + total) else { return };
        // The type with its flags in one write: netlink-packet-core's flag setters each
        // rewrite the type from its masked value, so setting both flags keeps only the last.
        slot[2..4].copy_from_slice(&a.kind().to_ne_bytes());
        NlaBuffer::new(&mut *slot).set_length(u16::try_from(NLA_HEADER_SIZE + len).unwrap_or(u16::MAX));
        let (value, pad) = slot[NLA_HEADER_SIZE..].split_at_mut(len);
        a.emit_value(value);
        pad.fill(0);
        at += total;
    }
}

fn list_len<T: Nla>(attrs: &[T]) -> usize {
    attrs.iter().map(|a| NLA_HEADER_SIZE + a.value_len().next_multiple_of(4)).sum()
}

/// Parses the attributes of a nest with `T`'s parser.
fn parse_list<T>(nest: &[u8]) -> Result<Vec<T>, DecodeError>
where
    T: for<'a> Parseable<NlaBuffer<&'a [u8]>>,
{
    NlasIterator::new(nest).map(|nla| T::parse(&nla?)).collect()
}

impl Nla for SvcAttr {
    fn value_len(&self) -> usize {
        use SvcAttr::*;
        match self {
            Af(_) | Protocol(_) | Port(_) => 2,
            Fwmark(_) | Timeout(_) | Netmask(_) => 4,
            Flags(..) => 8,
            Addr(a) => a.bytes().len(),
            SchedName(s) | PeName(s) => s.len() + 1,
            Stats(s) => s.value_len(false),
            Stats64(s) => s.value_len(true),
            Other(nla) => nla.value_len(),
        }
    }
    fn kind(&self) -> u16 {
        use SvcAttr::*;
        match self {
            Af(_) => 1,
            Protocol(_) => 2,
            Addr(_) => 3,
            Port(_) => 4,
            Fwmark(_) => 5,
            SchedName(_) => 6,
            Flags(..) => 7,
            Timeout(_) => 8,
            Netmask(_) => 9,
            Stats(_) => STATS | NLA_F_NESTED,
            PeName(_) => 11,
            Stats64(_) => STATS64 | NLA_F_NESTED,
            Other(nla) => nla.kind(),
        }
    }
    fn emit_value(&self, buffer: &mut [u8]) {
        use SvcAttr::*;
        match self {
            Af(v) | Protocol(v) => put(buffer, &v.to_ne_bytes()),
            Port(v) => put(buffer, &v.to_be_bytes()),
            Fwmark(v) | Timeout(v) | Netmask(v) => put(buffer, &v.to_ne_bytes()),
            Flags(flags, mask) => {
                put(buffer, &flags.to_ne_bytes());
                put(&mut buffer[4..], &mask.to_ne_bytes());
            }
            Addr(a) => put(buffer, a.bytes()),
            SchedName(s) | PeName(s) => put_str(buffer, s),
            Stats(s) => s.emit(false, buffer),
            Stats64(s) => s.emit(true, buffer),
            Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for SvcAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        use SvcAttr::*;
        let v = buf.value();
        Ok(match buf.kind() {
            1 => Af(parse_u16(v).context("IPVS_SVC_ATTR_AF")?),
            2 => Protocol(parse_u16(v).context("IPVS_SVC_ATTR_PROTOCOL")?),
            3 => Addr(Inet::parse(v)),
            4 => Port(parse_u16_be(v).context("IPVS_SVC_ATTR_PORT")?),
            5 => Fwmark(parse_u32(v).context("IPVS_SVC_ATTR_FWMARK")?),
            6 => SchedName(parse_string(v).context("IPVS_SVC_ATTR_SCHED_NAME")?),
            7 if v.len() >= 8 => Flags(parse_u32(&v[..4])?, parse_u32(&v[4..8])?),
            8 => Timeout(parse_u32(v).context("IPVS_SVC_ATTR_TIMEOUT")?),
            9 => Netmask(parse_u32(v).context("IPVS_SVC_ATTR_NETMASK")?),
            STATS => Stats(self::Stats::parse(v).context("IPVS_SVC_ATTR_STATS")?),
            11 => PeName(parse_string(v).context("IPVS_SVC_ATTR_PE_NAME")?),
            STATS64 => Stats64(self::Stats::parse(v).context("IPVS_SVC_ATTR_STATS64")?),
            _ => Other(DefaultNla::parse(buf)?),
        })
    }
}

impl Nla for DestAttr {
    fn value_len(&self) -> usize {
        use DestAttr::*;
        match self {
            TunType(_) => 1,
            Port(_) | AddrFamily(_) | TunPort(_) | TunFlags(_) => 2,
            FwdMethod(_) | Weight(_) | UThresh(_) | LThresh(_) | ActiveConns(_) | InactConns(_) | PersistConns(_) => 4,
            Addr(a) => a.bytes().len(),
            Stats(s) => s.value_len(false),
            Stats64(s) => s.value_len(true),
            Other(nla) => nla.value_len(),
        }
    }
    fn kind(&self) -> u16 {
        use DestAttr::*;
        match self {
            Addr(_) => 1,
            Port(_) => 2,
            FwdMethod(_) => 3,
            Weight(_) => 4,
            UThresh(_) => 5,
            LThresh(_) => 6,
            ActiveConns(_) => 7,
            InactConns(_) => 8,
            PersistConns(_) => 9,
            Stats(_) => STATS | NLA_F_NESTED,
            AddrFamily(_) => 11,
            Stats64(_) => STATS64 | NLA_F_NESTED,
            TunType(_) => 13,
            TunPort(_) => 14,
            TunFlags(_) => 15,
            Other(nla) => nla.kind(),
        }
    }
    fn emit_value(&self, buffer: &mut [u8]) {
        use DestAttr::*;
        match self {
            TunType(v) => put(buffer, &[*v]),
            Port(v) | TunPort(v) => put(buffer, &v.to_be_bytes()),
            AddrFamily(v) | TunFlags(v) => put(buffer, &v.to_ne_bytes()),
            FwdMethod(v) | Weight(v) | UThresh(v) | LThresh(v) | ActiveConns(v) | InactConns(v) | PersistConns(v) => {
                put(buffer, &v.to_ne_bytes())
            }
            Addr(a) => put(buffer, a.bytes()),
            Stats(s) => s.emit(false, buffer),
            Stats64(s) => s.emit(true, buffer),
            Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DestAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        use DestAttr::*;
        let v = buf.value();
        let u32_of = |what: &'static str| parse_u32(v).context(what);
        Ok(match buf.kind() {
            1 => Addr(Inet::parse(v)),
            2 => Port(parse_u16_be(v).context("IPVS_DEST_ATTR_PORT")?),
            3 => FwdMethod(u32_of("IPVS_DEST_ATTR_FWD_METHOD")?),
            4 => Weight(u32_of("IPVS_DEST_ATTR_WEIGHT")?),
            5 => UThresh(u32_of("IPVS_DEST_ATTR_U_THRESH")?),
            6 => LThresh(u32_of("IPVS_DEST_ATTR_L_THRESH")?),
            7 => ActiveConns(u32_of("IPVS_DEST_ATTR_ACTIVE_CONNS")?),
            8 => InactConns(u32_of("IPVS_DEST_ATTR_INACT_CONNS")?),
            9 => PersistConns(u32_of("IPVS_DEST_ATTR_PERSIST_CONNS")?),
            STATS => Stats(self::Stats::parse(v).context("IPVS_DEST_ATTR_STATS")?),
            11 => AddrFamily(parse_u16(v).context("IPVS_DEST_ATTR_ADDR_FAMILY")?),
            STATS64 => Stats64(self::Stats::parse(v).context("IPVS_DEST_ATTR_STATS64")?),
            13 => TunType(parse_u8(v).context("IPVS_DEST_ATTR_TUN_TYPE")?),
            14 => TunPort(parse_u16_be(v).context("IPVS_DEST_ATTR_TUN_PORT")?),
            15 => TunFlags(parse_u16(v).context("IPVS_DEST_ATTR_TUN_FLAGS")?),
            _ => Other(DefaultNla::parse(buf)?),
        })
    }
}

impl Nla for DaemonAttr {
    fn value_len(&self) -> usize {
        use DaemonAttr::*;
        match self {
            McastTtl(_) => 1,
            SyncMaxlen(_) | McastPort(_) => 2,
            State(_) | SyncId(_) | McastGroup(_) => 4,
            McastGroup6(_) => 16,
            McastIfn(s) => s.len() + 1,
            Other(nla) => nla.value_len(),
        }
    }
    fn kind(&self) -> u16 {
        use DaemonAttr::*;
        match self {
            State(_) => 1,
            McastIfn(_) => 2,
            SyncId(_) => 3,
            SyncMaxlen(_) => 4,
            McastGroup(_) => 5,
            McastGroup6(_) => 6,
            McastPort(_) => 7,
            McastTtl(_) => 8,
            Other(nla) => nla.kind(),
        }
    }
    fn emit_value(&self, buffer: &mut [u8]) {
        use DaemonAttr::*;
        match self {
            McastTtl(v) => put(buffer, &[*v]),
            SyncMaxlen(v) | McastPort(v) => put(buffer, &v.to_ne_bytes()),
            State(v) | SyncId(v) => put(buffer, &v.to_ne_bytes()),
            McastGroup(g) => put(buffer, g),
            McastGroup6(g) => put(buffer, g),
            McastIfn(s) => put_str(buffer, s),
            Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DaemonAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        use DaemonAttr::*;
        let v = buf.value();
        let fixed = |what: &'static str| -> Result<[u8; 16], DecodeError> {
            let n = if buf.kind() == 5 { 4 } else { 16 };
            let b = v.get(..n).ok_or_else(|| DecodeError::from(format!("{what}: {} bytes, not {n}", v.len())))?;
            let mut out = [0u8; 16];
            out[..n].copy_from_slice(b);
            Ok(out)
        };
        Ok(match buf.kind() {
            1 => State(parse_u32(v).context("IPVS_DAEMON_ATTR_STATE")?),
            2 => McastIfn(parse_string(v).context("IPVS_DAEMON_ATTR_MCAST_IFN")?),
            3 => SyncId(parse_u32(v).context("IPVS_DAEMON_ATTR_SYNC_ID")?),
            4 => SyncMaxlen(parse_u16(v).context("IPVS_DAEMON_ATTR_SYNC_MAXLEN")?),
            5 => {
                let b = fixed("IPVS_DAEMON_ATTR_MCAST_GROUP")?;
                McastGroup([b[0], b[1], b[2], b[3]])
            }
            6 => McastGroup6(fixed("IPVS_DAEMON_ATTR_MCAST_GROUP6")?),
            7 => McastPort(parse_u16(v).context("IPVS_DAEMON_ATTR_MCAST_PORT")?),
            8 => McastTtl(parse_u8(v).context("IPVS_DAEMON_ATTR_MCAST_TTL")?),
            _ => Other(DefaultNla::parse(buf)?),
        })
    }
}

impl Nla for IpvsAttr {
    fn value_len(&self) -> usize {
        match self {
            IpvsAttr::Service(a) => list_len(a),
            IpvsAttr::Dest(a) => list_len(a),
            IpvsAttr::Daemon(a) => list_len(a),
            IpvsAttr::TimeoutTcp(_) | IpvsAttr::TimeoutTcpFin(_) | IpvsAttr::TimeoutUdp(_) => 4,
            IpvsAttr::Other(nla) => nla.value_len(),
        }
    }
    fn kind(&self) -> u16 {
        match self {
            IpvsAttr::Service(_) => IpvsAttr::SERVICE | NLA_F_NESTED,
            IpvsAttr::Dest(_) => IpvsAttr::DEST | NLA_F_NESTED,
            IpvsAttr::Daemon(_) => IpvsAttr::DAEMON | NLA_F_NESTED,
            IpvsAttr::TimeoutTcp(_) => IpvsAttr::TIMEOUT_TCP,
            IpvsAttr::TimeoutTcpFin(_) => IpvsAttr::TIMEOUT_TCP_FIN,
            IpvsAttr::TimeoutUdp(_) => IpvsAttr::TIMEOUT_UDP,
            IpvsAttr::Other(nla) => nla.kind(),
        }
    }
    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            IpvsAttr::Service(a) => emit_all(a, buffer),
            IpvsAttr::Dest(a) => emit_all(a, buffer),
            IpvsAttr::Daemon(a) => emit_all(a, buffer),
            IpvsAttr::TimeoutTcp(v) | IpvsAttr::TimeoutTcpFin(v) | IpvsAttr::TimeoutUdp(v) => {
                put(buffer, &v.to_ne_bytes())
            }
            IpvsAttr::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for IpvsAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            IpvsAttr::SERVICE => IpvsAttr::Service(parse_list(v).context("IPVS_CMD_ATTR_SERVICE")?),
            IpvsAttr::DEST => IpvsAttr::Dest(parse_list(v).context("IPVS_CMD_ATTR_DEST")?),
            IpvsAttr::DAEMON => IpvsAttr::Daemon(parse_list(v).context("IPVS_CMD_ATTR_DAEMON")?),
            IpvsAttr::TIMEOUT_TCP => IpvsAttr::TimeoutTcp(parse_u32(v).context("IPVS_CMD_ATTR_TIMEOUT_TCP")?),
            IpvsAttr::TIMEOUT_TCP_FIN => {
                IpvsAttr::TimeoutTcpFin(parse_u32(v).context("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN")?)
            }
            IpvsAttr::TIMEOUT_UDP => IpvsAttr::TimeoutUdp(parse_u32(v).context("IPVS_CMD_ATTR_TIMEOUT_UDP")?),
            _ => IpvsAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        FAMILY_NAME
    }
    fn command(&self) -> u8 {
        self.cmd as u8
    }
    fn version(&self) -> u8 {
        VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        list_len(&self.attrs)
    }
    fn emit(&self, buffer: &mut [u8]) {
        emit_all(&self.attrs, buffer);
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        Ok(IpvsMessage { cmd: Cmd::of(header.cmd)?, attrs: parse_list(buf).context("IPVS message")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(base: u64) -> Stats {
        Stats(std::array::from_fn(|i| base + i as u64))
    }

    /// Every attribute of every set, written and read back.
    fn everything() -> Vec<IpvsAttr> {
        let addr = Inet::parse(&[192, 0, 2, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let other = DefaultNla::new(40 | netlink_packet_core::NLA_F_NET_BYTEORDER, vec![1, 2, 3]);
        vec![
            IpvsAttr::Service(vec![
                SvcAttr::Af(2),
                SvcAttr::Protocol(6),
                SvcAttr::Addr(addr),
                SvcAttr::Port(443),
                SvcAttr::Fwmark(7),
                SvcAttr::SchedName("wlc".into()),
                SvcAttr::Flags(3, u32::MAX),
                SvcAttr::Timeout(300),
                SvcAttr::Netmask(0x00ff_ffff),
                SvcAttr::Stats(stats(1)),
                SvcAttr::PeName("sip".into()),
                SvcAttr::Stats64(stats(5_000_000_000)),
                SvcAttr::Other(other.clone()),
            ]),
            IpvsAttr::Dest(vec![
                DestAttr::Addr(Inet::parse(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x21])),
                DestAttr::Port(8080),
                DestAttr::FwdMethod(3),
                DestAttr::Weight(5),
                DestAttr::UThresh(100),
                DestAttr::LThresh(10),
                DestAttr::ActiveConns(12),
                DestAttr::InactConns(34),
                DestAttr::PersistConns(5),
                DestAttr::Stats(stats(20)),
                DestAttr::AddrFamily(10),
                DestAttr::Stats64(stats(1 << 40)),
                DestAttr::TunType(1),
                DestAttr::TunPort(6081),
                DestAttr::TunFlags(2),
                DestAttr::Other(other.clone()),
            ]),
            IpvsAttr::Daemon(vec![
                DaemonAttr::State(1),
                DaemonAttr::McastIfn("eth1".into()),
                DaemonAttr::SyncId(10),
                DaemonAttr::SyncMaxlen(1400),
                DaemonAttr::McastGroup([239, 1, 2, 3]),
                DaemonAttr::McastGroup6([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12]),
                DaemonAttr::McastPort(8850),
                DaemonAttr::McastTtl(2),
                DaemonAttr::Other(other.clone()),
            ]),
            IpvsAttr::Other(other),
        ]
    }

    #[test]
    fn every_attribute_of_every_set_round_trips() {
        let msg = IpvsMessage { cmd: Cmd::NewService, attrs: everything() };
        let mut buf = vec![0xaa; msg.buffer_len()];
        msg.emit(&mut buf);
        let back = IpvsMessage::parse_with_param(&buf, GenlHeader { cmd: 1, version: VERSION }).unwrap();
        assert_eq!(back, msg);
        // An unknown attribute with both flags keeps both (found by the ipvs_netlink fuzzer).
        let both = DefaultNla::new(0x3f09 | NLA_F_NESTED | netlink_packet_core::NLA_F_NET_BYTEORDER, vec![9; 4]);
        let msg2 = IpvsMessage { cmd: Cmd::NewDest, attrs: vec![IpvsAttr::Dest(vec![DestAttr::Other(both)])] };
        let mut buf2 = vec![0; msg2.buffer_len()];
        msg2.emit(&mut buf2);
        assert_eq!(IpvsMessage::parse_with_param(&buf2, GenlHeader { cmd: 5, version: VERSION }).unwrap(), msg2);
        // The slice writer of netlink-packet-core writes the same bytes (it counts lengths again).
        let mut theirs = vec![0x55; msg.buffer_len()];
        msg.attrs.as_slice().emit(&mut theirs);
        assert_eq!(buf, theirs);
    }

    #[test]
    fn a_narrow_stats_nest_writes_u32_counters_and_u64_bytes() {
        let mut buf = vec![0; stats(0).value_len(false)];
        stats(0).emit(false, &mut buf);
        assert_eq!(buf.len(), 8 * 8 + 2 * 12);
        let kinds: Vec<(u16, usize)> =
            NlasIterator::new(&buf[..]).map(|n| n.map(|n| (n.kind(), n.value().len())).unwrap()).collect();
        let want: Vec<(u16, usize)> = (1..=10).map(|k| (k, if k == 4 || k == 5 { 8 } else { 4 })).collect();
        assert_eq!(kinds, want);
    }

    #[test]
    fn malformed_values_are_errors_naming_the_attribute() {
        // A 2-byte weight.
        let buf = [12, 0, 2, 0x80, 6, 0, 4, 0, 1, 0, 0, 0];
        let err = IpvsMessage::parse_with_param(&buf, GenlHeader { cmd: 5, version: 1 }).unwrap_err();
        assert!(format!("{err:?}").contains("IPVS_DEST_ATTR_WEIGHT"), "{err:?}");
        assert!(IpvsMessage::parse_with_param(&[], GenlHeader { cmd: 99, version: 1 }).is_err());
    }
}
