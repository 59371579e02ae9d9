//! The IPVS messages lbconverge sends and reads, mapped between the model and the typed
//! attribute set of `ipvs_attrs` (netlink-packet-core attributes in a netlink-packet-generic
//! message), and the family-id lookup through netlink-packet-generic's controller types.
//! Pure; byte-level tests below.
//!
//! Facts from a real 6.1 kernel: NEW/SET_SERVICE need the full entry (scheduler, flags,
//! timeout, netmask); destination commands need only the service key; the kernel ORs
//! HASHED into the flags it returns; dumps come in hash order; a GET_SERVICE dump answers
//! with NEW_SERVICE messages and GET_DEST with NEW_DEST.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{DecodeError, Emitable, NLA_HEADER_SIZE, NlaBuffer, NlasIterator, Parseable};
use netlink_packet_generic::constants::CTRL_ATTR_FAMILY_ID;
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::{GenlFamily, GenlHeader, GenlMessage};

pub use super::ipvs_attrs::Cmd;
use super::ipvs_attrs::{DaemonAttr, DestAttr, Inet, IpvsAttr, IpvsMessage, STATS, STATS64, Stats, SvcAttr};
use crate::family::Family;
use crate::model::ipvs::{self, Dest, DestStats, Forwarding, Persistence, Protocol, Service, ServiceKey, Traffic};
use crate::model::sync::{SyncConfig, SyncState};
use crate::model::timeouts::Timeouts;

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// `IP_VS_CONN_F_FWD_MASK` and its values.
const FWD_MASK: u32 = 0x7;

fn af(f: Family) -> u16 {
    match f {
        Family::Ipv4 => AF_INET,
        Family::Ipv6 => AF_INET6,
    }
}

fn inet(ip: &IpAddr) -> Inet {
    let mut octets = [0u8; 16];
    match ip {
        IpAddr::V4(a) => octets[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => octets.copy_from_slice(&a.octets()),
    }
    Inet { octets, len: 16 }
}

fn fwd_code(f: Forwarding) -> u32 {
    match f {
        Forwarding::Nat => 0,
        Forwarding::Local => 1,
        Forwarding::Tun => 2,
        Forwarding::Dr => 3,
    }
}

/// A generic netlink payload: `genlmsghdr` and the attributes of any family's message.
pub fn genl_payload<F: GenlFamily + Emitable + std::fmt::Debug>(family: F) -> Vec<u8> {
    let msg = GenlMessage::from_payload(family);
    let mut buf = vec![0; msg.buffer_len()];
    msg.emit(&mut buf);
    buf
}

fn ipvs(cmd: Cmd, attrs: Vec<IpvsAttr>) -> Vec<u8> {
    genl_payload(IpvsMessage { cmd, attrs })
}

fn key_attrs(key: &ServiceKey) -> Vec<SvcAttr> {
    let af = SvcAttr::Af(af(key.family()));
    match key {
        ServiceKey::Addr { protocol, addr, port } => {
            vec![af, SvcAttr::Protocol(protocol.number()), SvcAttr::Addr(inet(addr)), SvcAttr::Port(*port)]
        }
        ServiceKey::Fwmark { mark, .. } => vec![af, SvcAttr::Fwmark(*mark)],
    }
}

fn netmask(s: &Service) -> u32 {
    let fam = s.key.family();
    let prefix = s.persistence.map_or(fam.host_prefix(), |p| p.granularity);
    match fam {
        Family::Ipv4 => {
            let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix.min(32))) };
            u32::from_ne_bytes(mask.to_be_bytes())
        }
        Family::Ipv6 => u32::from(prefix),
    }
}

fn full_service_attrs(s: &Service) -> Vec<SvcAttr> {
    let mut a = key_attrs(&s.key);
    let timeout = s.persistence.map_or(0, |p| p.timeout);
    a.extend([
        SvcAttr::SchedName(s.scheduler.clone()),
        SvcAttr::Flags(s.flags(), u32::MAX),
        SvcAttr::Timeout(timeout),
        SvcAttr::Netmask(netmask(s)),
    ]);
    a
}

fn dest_attrs(d: &Dest, full: bool) -> Vec<DestAttr> {
    let mut a = vec![DestAttr::Addr(inet(&d.address)), DestAttr::Port(d.port)];
    if full {
        a.extend([
            DestAttr::FwdMethod(fwd_code(d.forwarding)),
            DestAttr::Weight(d.weight),
            DestAttr::UThresh(d.upper_threshold),
            DestAttr::LThresh(d.lower_threshold),
        ]);
    }
    a.push(DestAttr::AddrFamily(af(Family::of(&d.address))));
    a
}

/// `ipvsadm -A` / `-E`: NEW_SERVICE or SET_SERVICE with the full entry.
pub fn service_msg(cmd: Cmd, s: &Service) -> Vec<u8> {
    ipvs(cmd, vec![IpvsAttr::Service(full_service_attrs(s))])
}

/// `ipvsadm -D`, or a GET_DEST dump request: the service key only.
pub fn service_key_msg(cmd: Cmd, key: &ServiceKey) -> Vec<u8> {
    ipvs(cmd, vec![IpvsAttr::Service(key_attrs(key))])
}

/// `ipvsadm -a` / `-e` / `-d`: the service key and the destination (full unless deleting).
pub fn dest_msg(cmd: Cmd, key: &ServiceKey, d: &Dest) -> Vec<u8> {
    ipvs(cmd, vec![IpvsAttr::Service(key_attrs(key)), IpvsAttr::Dest(dest_attrs(d, cmd != Cmd::DelDest))])
}

/// A GET_SERVICE dump request.
pub fn get_services_msg() -> Vec<u8> {
    ipvs(Cmd::GetService, Vec::new())
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("IPVS reply without a valid {what}"))
}

fn malformed(e: DecodeError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("malformed IPVS reply: {e}"))
}

/// The attributes of a reply's first `top` nest, read one at a time: a dump of 50,000
/// destinations is parsed attribute by attribute, without a list per message.
fn nest_attrs(payload: &[u8], top: u16) -> io::Result<NlasIterator<&[u8]>> {
    GenlHeader::parse(payload).map_err(malformed)?;
    let body = payload.get(4..).ok_or_else(|| bad("generic netlink header"))?;
    for nla in NlasIterator::new(body) {
        let nla = nla.map_err(malformed)?;
        if nla.kind() == top {
            return Ok(NlasIterator::new(value_of(nla)));
        }
    }
    Err(bad("nested attribute"))
}

/// An attribute's value, borrowed from the message (not from the `NlaBuffer`).
fn value_of(nla: NlaBuffer<&[u8]>) -> &[u8] {
    let len = usize::from(nla.length());
    nla.into_inner().get(NLA_HEADER_SIZE..len).unwrap_or_default()
}

/// Folds a nest's attributes, parsed by `T`'s parser, into `fields`; the statistics nests
/// are kept unparsed, and only the one that is read is parsed (`traffic`).
fn fold<'a, T, F>(attrs: NlasIterator<&'a [u8]>, mut fields: F, add: fn(&mut F, T)) -> io::Result<(F, Counters<'a>)>
where
    T: for<'b> Parseable<NlaBuffer<&'b [u8]>>,
{
    let mut counters = Counters::default();
    for nla in attrs {
        let nla = nla.map_err(malformed)?;
        match nla.kind() {
            STATS => counters.stats = Some(value_of(nla)),
            STATS64 => counters.stats64 = Some(value_of(nla)),
            _ => add(&mut fields, T::parse(&nla).map_err(malformed)?),
        }
    }
    Ok((fields, counters))
}

/// The statistics nests of a service or destination, unparsed.
#[derive(Default)]
struct Counters<'a> {
    stats: Option<&'a [u8]>,
    stats64: Option<&'a [u8]>,
}

impl Counters<'_> {
    /// `STATS64` (every value a u64, Linux 4.1+), else the older `STATS`; zero when neither
    /// came.
    fn traffic(&self) -> io::Result<Traffic> {
        let Some(nest) = self.stats64.or(self.stats) else { return Ok(Traffic::default()) };
        let Stats([conns, in_pkts, out_pkts, in_bytes, out_bytes, cps, in_pps, out_pps, in_bps, out_bps]) =
            Stats::parse(nest).map_err(malformed)?;
        Ok(Traffic { conns, in_pkts, out_pkts, in_bytes, out_bytes, cps, in_pps, out_pps, in_bps, out_bps })
    }
}

fn addr_of(family: u16, bytes: &[u8]) -> io::Result<IpAddr> {
    match family {
        AF_INET => {
            let b: [u8; 4] = bytes.get(..4).and_then(|b| b.try_into().ok()).ok_or_else(|| bad("address"))?;
            Ok(IpAddr::V4(Ipv4Addr::from(b)))
        }
        AF_INET6 => {
            let b: [u8; 16] = bytes.get(..16).and_then(|b| b.try_into().ok()).ok_or_else(|| bad("address"))?;
            Ok(IpAddr::V6(Ipv6Addr::from(b)))
        }
        _ => Err(bad("address family")),
    }
}

/// What a service reply holds, each attribute read once.
#[derive(Default)]
struct SvcFields {
    af: Option<u16>,
    protocol: Option<u16>,
    addr: Option<Inet>,
    port: Option<u16>,
    fwmark: Option<u32>,
    sched: Option<String>,
    flags: u32,
    timeout: u32,
    netmask: Option<u32>,
}

impl SvcFields {
    fn add(&mut self, a: SvcAttr) {
        match a {
            SvcAttr::Af(v) => self.af = Some(v),
            SvcAttr::Protocol(v) => self.protocol = Some(v),
            SvcAttr::Addr(v) => self.addr = Some(v),
            SvcAttr::Port(v) => self.port = Some(v),
            SvcAttr::Fwmark(v) => self.fwmark = Some(v),
            SvcAttr::SchedName(v) => self.sched = Some(v),
            SvcAttr::Flags(v, _) => self.flags = v,
            SvcAttr::Timeout(v) => self.timeout = v,
            SvcAttr::Netmask(v) => self.netmask = Some(v),
            SvcAttr::Stats(_) | SvcAttr::Stats64(_) | SvcAttr::PeName(_) | SvcAttr::Other(_) => {}
        }
    }
}

fn service_key(f: &SvcFields) -> io::Result<ServiceKey> {
    let fam_code = f.af.ok_or_else(|| bad("family"))?;
    let family = if fam_code == AF_INET6 { Family::Ipv6 } else { Family::Ipv4 };
    if let Some(mark) = f.fwmark.filter(|m| *m != 0) {
        return Ok(ServiceKey::Fwmark { family, mark });
    }
    let protocol = f.protocol.and_then(Protocol::from_number).ok_or_else(|| bad("protocol"))?;
    let addr = addr_of(fam_code, f.addr.as_ref().ok_or_else(|| bad("address"))?.bytes())?;
    let port = f.port.ok_or_else(|| bad("port"))?;
    Ok(ServiceKey::Addr { protocol, addr, port })
}

/// Parses a NEW_SERVICE reply (part of a GET_SERVICE dump), without destinations.
pub fn parse_service(payload: &[u8]) -> io::Result<Service> {
    let (f, counters) = fold(nest_attrs(payload, IpvsAttr::SERVICE)?, SvcFields::default(), SvcFields::add)?;
    let key = service_key(&f)?;
    let netmask = f.netmask.unwrap_or(u32::MAX);
    let granularity = match key.family() {
        Family::Ipv4 => u8::try_from(u32::from_be_bytes(netmask.to_ne_bytes()).count_ones()).unwrap_or(32),
        Family::Ipv6 => u8::try_from(netmask).unwrap_or(128),
    };
    let flags = f.flags;
    Ok(Service {
        key,
        scheduler: f.sched.unwrap_or_default(),
        sched_flags: flags & ipvs::SCHED_FLAGS,
        persistence: (flags & ipvs::F_PERSISTENT != 0).then_some(Persistence { timeout: f.timeout, granularity }),
        one_packet: flags & ipvs::F_ONEPACKET != 0,
        dests: Default::default(),
        traffic: counters.traffic()?,
    })
}

/// What a destination reply holds, each attribute read once.
#[derive(Default)]
struct DestFields {
    addr: Option<Inet>,
    port: Option<u16>,
    family: Option<u16>,
    fwd: u32,
    weight: u32,
    upper: u32,
    lower: u32,
    active: u32,
    inactive: u32,
    persistent: u32,
}

impl DestFields {
    fn add(&mut self, a: DestAttr) {
        match a {
            DestAttr::Addr(v) => self.addr = Some(v),
            DestAttr::Port(v) => self.port = Some(v),
            DestAttr::AddrFamily(v) => self.family = Some(v),
            DestAttr::FwdMethod(v) => self.fwd = v,
            DestAttr::Weight(v) => self.weight = v,
            DestAttr::UThresh(v) => self.upper = v,
            DestAttr::LThresh(v) => self.lower = v,
            DestAttr::ActiveConns(v) => self.active = v,
            DestAttr::InactConns(v) => self.inactive = v,
            DestAttr::PersistConns(v) => self.persistent = v,
            DestAttr::Stats(_) | DestAttr::Stats64(_) => {}
            DestAttr::TunType(_) | DestAttr::TunPort(_) | DestAttr::TunFlags(_) | DestAttr::Other(_) => {}
        }
    }
}

/// Parses a NEW_DEST reply (part of a GET_DEST dump) of a service of `family`.
pub fn parse_dest(payload: &[u8], family: Family) -> io::Result<Dest> {
    let (f, counters) = fold(nest_attrs(payload, IpvsAttr::DEST)?, DestFields::default(), DestFields::add)?;
    let forwarding = match f.fwd & FWD_MASK {
        0 => Forwarding::Nat,
        1 => Forwarding::Local,
        2 => Forwarding::Tun,
        3 => Forwarding::Dr,
        _ => return Err(bad("forwarding method")),
    };
    let fam = f.family.unwrap_or(af(family));
    Ok(Dest {
        address: addr_of(fam, f.addr.as_ref().ok_or_else(|| bad("address"))?.bytes())?,
        port: f.port.ok_or_else(|| bad("port"))?,
        forwarding,
        weight: f.weight,
        upper_threshold: f.upper,
        lower_threshold: f.lower,
        stats: Some(DestStats {
            active: f.active,
            inactive: f.inactive,
            persistent: f.persistent,
            traffic: counters.traffic()?,
        }),
    })
}

/// `ipvsadm --start-daemon`: NEW_DAEMON with the settings given (the kernel picks the rest).
/// The group goes in network order, the port and the rest in host order.
pub fn start_daemon_msg(state: SyncState, c: &SyncConfig) -> Vec<u8> {
    let mut a = vec![
        DaemonAttr::State(state.code()),
        DaemonAttr::McastIfn(c.interface.clone()),
        DaemonAttr::SyncId(u32::from(c.sync_id)),
    ];
    a.extend(c.max_len.map(DaemonAttr::SyncMaxlen));
    a.extend(c.group.map(|g| match g {
        IpAddr::V4(g) => DaemonAttr::McastGroup(g.octets()),
        IpAddr::V6(g) => DaemonAttr::McastGroup6(g.octets()),
    }));
    a.extend(c.port.map(DaemonAttr::McastPort));
    a.extend(c.ttl.map(DaemonAttr::McastTtl));
    ipvs(Cmd::NewDaemon, vec![IpvsAttr::Daemon(a)])
}

/// `ipvsadm --stop-daemon`: DEL_DAEMON with the state only.
pub fn stop_daemon_msg(state: SyncState) -> Vec<u8> {
    ipvs(Cmd::DelDaemon, vec![IpvsAttr::Daemon(vec![DaemonAttr::State(state.code())])])
}

/// A GET_DAEMON dump request.
pub fn get_daemons_msg() -> Vec<u8> {
    ipvs(Cmd::GetDaemon, Vec::new())
}

/// Parses one daemon of a GET_DAEMON dump (older kernels report the state, interface and
/// id only).
pub fn parse_daemon(payload: &[u8]) -> io::Result<(SyncState, SyncConfig)> {
    let (mut state, mut interface, mut id) = (None, None, None);
    let (mut max_len, mut group, mut port, mut ttl) = (None, None, None, None);
    for nla in nest_attrs(payload, IpvsAttr::DAEMON)? {
        match DaemonAttr::parse(&nla.map_err(malformed)?).map_err(malformed)? {
            DaemonAttr::State(v) => state = SyncState::from_code(v),
            DaemonAttr::McastIfn(v) => interface = Some(v),
            DaemonAttr::SyncId(v) => id = Some(v),
            DaemonAttr::SyncMaxlen(v) => max_len = Some(v),
            DaemonAttr::McastGroup(g) => group = Some(IpAddr::V4(g.into())),
            DaemonAttr::McastGroup6(g) => group = group.or(Some(IpAddr::V6(g.into()))),
            DaemonAttr::McastPort(v) => port = Some(v),
            DaemonAttr::McastTtl(v) => ttl = Some(v),
            DaemonAttr::Other(_) => {}
        }
    }
    let state = state.ok_or_else(|| bad("daemon state"))?;
    let interface = interface.ok_or_else(|| bad("daemon interface"))?;
    let sync_id = u8::try_from(id.ok_or_else(|| bad("sync id"))?).map_err(|_| bad("sync id"))?;
    Ok((state, SyncConfig { interface, sync_id, max_len, group, port, ttl }))
}

/// `ipvsadm --set`: SET_CONFIG with the timeouts that are set (a 0 is left out; the kernel
/// would leave that one as it is anyway).
pub fn set_config_msg(t: &Timeouts) -> Vec<u8> {
    let attrs = [
        (t.tcp, IpvsAttr::TimeoutTcp as fn(u32) -> IpvsAttr),
        (t.tcp_fin, IpvsAttr::TimeoutTcpFin),
        (t.udp, IpvsAttr::TimeoutUdp),
    ];
    ipvs(Cmd::SetConfig, attrs.into_iter().filter(|(v, _)| *v != 0).map(|(v, attr)| attr(v)).collect())
}

/// A GET_CONFIG request (not a dump: one answer).
pub fn get_config_msg() -> Vec<u8> {
    ipvs(Cmd::GetConfig, Vec::new())
}

/// Parses the answer to GET_CONFIG: the three timeouts as top-level attributes.
pub fn parse_config(payload: &[u8]) -> io::Result<Timeouts> {
    GenlHeader::parse(payload).map_err(malformed)?;
    let body = payload.get(4..).ok_or_else(|| bad("generic netlink header"))?;
    let (mut tcp, mut tcp_fin, mut udp) = (None, None, None);
    for nla in NlasIterator::new(body) {
        match IpvsAttr::parse(&nla.map_err(malformed)?).map_err(malformed)? {
            IpvsAttr::TimeoutTcp(v) => tcp = Some(v),
            IpvsAttr::TimeoutTcpFin(v) => tcp_fin = Some(v),
            IpvsAttr::TimeoutUdp(v) => udp = Some(v),
            _ => {}
        }
    }
    Ok(Timeouts {
        tcp: tcp.ok_or_else(|| bad("tcp timeout"))?,
        tcp_fin: tcp_fin.ok_or_else(|| bad("tcp fin timeout"))?,
        udp: udp.ok_or_else(|| bad("udp timeout"))?,
    })
}

/// Generic netlink controller: the family-id lookup (`CTRL_CMD_GETFAMILY`).
pub fn getfamily_msg(name: &str) -> Vec<u8> {
    genl_payload(GenlCtrl { cmd: GenlCtrlCmd::GetFamily, nlas: vec![GenlCtrlAttrs::FamilyName(name.to_string())] })
}

/// Reads `CTRL_ATTR_FAMILY_ID` from a controller reply. Only that attribute is parsed, so a
/// kernel that sends controller attributes netlink-packet-generic does not know still works.
pub fn parse_family_id(payload: &[u8]) -> io::Result<u16> {
    let body = payload.get(4..).ok_or_else(|| bad("generic netlink header"))?;
    for nla in NlasIterator::new(body) {
        let nla = nla.map_err(malformed)?;
        if nla.kind() == CTRL_ATTR_FAMILY_ID
            && let Ok(GenlCtrlAttrs::FamilyId(id)) = GenlCtrlAttrs::parse(&nla)
        {
            return Ok(id);
        }
    }
    Err(bad("family id"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use netlink_packet_core::ParseableParametrized;

    use super::*;

    /// The typed attributes of a payload.
    fn attrs(payload: &[u8]) -> Vec<IpvsAttr> {
        GenlMessage::<IpvsMessage>::parse_with_param(payload, 0).unwrap().payload.attrs
    }

    fn service_nest(payload: &[u8]) -> Vec<SvcAttr> {
        attrs(payload).into_iter().find_map(|a| if let IpvsAttr::Service(v) = a { Some(v) } else { None }).unwrap()
    }

    fn dest_nest(payload: &[u8]) -> Vec<DestAttr> {
        attrs(payload).into_iter().find_map(|a| if let IpvsAttr::Dest(v) = a { Some(v) } else { None }).unwrap()
    }

    #[test]
    fn timeouts_are_top_level_u32s_and_a_zero_is_left_out() {
        let set = set_config_msg(&Timeouts { tcp: 0, tcp_fin: 30, udp: 10 });
        // genl header: cmd 12 (SET_CONFIG), version 1; then TIMEOUT_TCP_FIN (5) = 30 and
        // TIMEOUT_UDP (6) = 10, native-endian u32s.
        let mut want = vec![12, 1, 0, 0, 8, 0, 5, 0];
        want.extend(30u32.to_ne_bytes());
        want.extend([8, 0, 6, 0]);
        want.extend(10u32.to_ne_bytes());
        assert_eq!(set, want);
        assert_eq!(get_config_msg(), [13, 1, 0, 0]);
        let reply = ipvs(
            Cmd::SetConfig,
            vec![IpvsAttr::TimeoutTcp(900), IpvsAttr::TimeoutTcpFin(120), IpvsAttr::TimeoutUdp(300)],
        );
        assert_eq!(parse_config(&reply).unwrap(), Timeouts::LINUX);
        assert!(parse_config(&ipvs(Cmd::SetConfig, vec![IpvsAttr::TimeoutTcp(900)])).is_err());
    }

    fn web() -> Service {
        Service {
            key: "tcp 192.0.2.10:80".parse().unwrap(),
            scheduler: "wrr".into(),
            sched_flags: 0,
            persistence: Some(Persistence { timeout: 300, granularity: 24 }),
            one_packet: false,
            dests: BTreeMap::new(),
            traffic: Traffic::default(),
        }
    }

    /// What the kernel sends back for a service is what we sent, plus HASHED.
    fn as_reply(mut msg: Vec<u8>) -> Vec<u8> {
        msg[0] = Cmd::NewService as u8;
        msg
    }

    #[test]
    fn new_service_bytes() {
        let m = service_msg(Cmd::NewService, &web());
        // genl header, then SERVICE nest (type 1 | NLA_F_NESTED)
        assert_eq!(&m[..4], &[1, 1, 0, 0]);
        assert_eq!(u16::from_ne_bytes([m[6], m[7]]), 0x8001);
        let mut v4 = [0u8; 16];
        v4[..4].copy_from_slice(&[192, 0, 2, 10]);
        let want = vec![
            SvcAttr::Af(2),
            SvcAttr::Protocol(6),
            SvcAttr::Addr(Inet { octets: v4, len: 16 }),
            SvcAttr::Port(80),
            SvcAttr::SchedName("wrr".into()),
            SvcAttr::Flags(ipvs::F_PERSISTENT, u32::MAX),
            SvcAttr::Timeout(300),
            // IPv4 netmask is a __be32: 255.255.255.0 on the wire
            SvcAttr::Netmask(u32::from_ne_bytes([255, 255, 255, 0])),
        ];
        assert_eq!(service_nest(&m), want);
        // On the wire: the address attribute (16 bytes), then the port in network order.
        let at = 4 + 4 + 8 + 8; // genl header, SERVICE nest header, AF, PROTOCOL
        assert_eq!(&m[at..at + 4], &[20, 0, 3, 0]);
        assert_eq!(&m[at + 20..at + 26], &[6, 0, 4, 0, 0, 80]);
        assert_eq!(m.len(), 8 + 8 + 8 + 20 + 8 + 8 + 12 + 8 + 8);
    }

    #[test]
    fn service_round_trips_through_a_reply() {
        for s in [
            web(),
            Service {
                key: "fwmark 7 ipv6".parse().unwrap(),
                scheduler: "sh".into(),
                sched_flags: ipvs::F_SCHED1 | ipvs::F_SCHED2,
                persistence: None,
                one_packet: true,
                dests: BTreeMap::new(),
                traffic: Traffic::default(),
            },
        ] {
            assert_eq!(parse_service(&as_reply(service_msg(Cmd::NewService, &s))).unwrap(), s);
        }
    }

    #[test]
    fn dest_round_trips_and_delete_carries_only_the_key() {
        let d = Dest {
            address: "2001:db8::21".parse().unwrap(),
            port: 443,
            forwarding: Forwarding::Tun,
            weight: 5,
            upper_threshold: 100,
            lower_threshold: 10,
            stats: Some(DestStats::default()),
        };
        let key: ServiceKey = "tcp [2001:db8::10]:443".parse().unwrap();
        let msg = dest_msg(Cmd::NewDest, &key, &d);
        assert_eq!(parse_dest(&msg, Family::Ipv6).unwrap(), d);
        let del = dest_msg(Cmd::DelDest, &key, &d);
        let a = dest_nest(&del);
        assert_eq!(a.len(), 3, "{a:?}");
        assert!(a.contains(&DestAttr::Port(443)));
    }

    /// A NEW_DEST reply for 10.0.0.21:80 as the kernel sends one, with these attributes
    /// after the entry.
    fn dest_reply(extra: Vec<DestAttr>) -> Vec<u8> {
        let d = Dest {
            address: "10.0.0.21".parse().unwrap(),
            port: 80,
            forwarding: Forwarding::Dr,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
            stats: None,
        };
        let mut a = dest_attrs(&d, true);
        a.push(DestAttr::ActiveConns(2));
        a.extend(extra);
        ipvs(Cmd::NewDest, vec![IpvsAttr::Dest(a)])
    }

    #[test]
    fn traffic_is_read_from_the_nested_stats64_attribute_else_from_stats() {
        // STATS64: every counter and rate a u64 (in_pkts past 2^32).
        let stats64 = Stats([7, 5_000_000_000, 0, 310_000_000_000, 0, 3, 40, 0, 5200, 0]);
        let d = parse_dest(&dest_reply(vec![DestAttr::Stats64(stats64)]), Family::Ipv4).unwrap();
        let want = Traffic {
            conns: 7,
            in_pkts: 5_000_000_000,
            in_bytes: 310_000_000_000,
            cps: 3,
            in_pps: 40,
            in_bps: 5200,
            ..Traffic::default()
        };
        assert_eq!(d.stats.unwrap(), DestStats { active: 2, traffic: want, ..DestStats::default() });
        // The older STATS: u32 counters and rates, u64 bytes; STATS64 wins when both come.
        let stats = Stats([9, 0, 11, 0, 1234, 0, 0, 0, 0, 99]);
        let old = parse_dest(&dest_reply(vec![DestAttr::Stats(stats)]), Family::Ipv4).unwrap();
        let want_old = Traffic { conns: 9, out_pkts: 11, out_bytes: 1234, out_bps: 99, ..Traffic::default() };
        assert_eq!(old.stats.unwrap().traffic, want_old);
        let both = dest_reply(vec![DestAttr::Stats(stats), DestAttr::Stats64(stats64)]);
        assert_eq!(parse_dest(&both, Family::Ipv4).unwrap().stats.unwrap().traffic, want);
        assert!(parse_dest(&dest_reply(vec![]), Family::Ipv4).unwrap().stats.unwrap().traffic.is_zero());
        // A service carries its own counters the same way.
        let mut a = full_service_attrs(&web());
        a.push(SvcAttr::Stats64(stats64));
        assert_eq!(parse_service(&ipvs(Cmd::NewService, vec![IpvsAttr::Service(a)])).unwrap().traffic, want);
        // A nest cut short is a malformed reply, not zeros: the first counter of the
        // statistics nest (the last attribute) claims more bytes than the nest holds.
        let mut bad = dest_reply(vec![DestAttr::Stats64(stats64)]);
        let at = bad.len() - 10 * 12;
        bad[at] = 200;
        assert!(parse_dest(&bad, Family::Ipv4).is_err());
        assert!(matches!(attrs(&dest_reply(vec![]))[..], [IpvsAttr::Dest(_)]));
    }

    #[test]
    fn a_sync_daemon_round_trips_through_a_reply_and_stop_carries_only_the_state() {
        let c = SyncConfig {
            interface: "eth1".into(),
            sync_id: 10,
            max_len: Some(1400),
            group: Some("239.1.2.3".parse().unwrap()),
            port: Some(8850),
            ttl: Some(2),
        };
        let msg = start_daemon_msg(SyncState::Master, &c);
        assert_eq!(msg[0], 9, "IPVS_CMD_NEW_DAEMON");
        let (state, back) = parse_daemon(&as_reply(msg.clone())).unwrap();
        assert_eq!((state, back), (SyncState::Master, c.clone()));
        // The group in network order, the port in host order, as ipvsadm sends it.
        let group = [8, 0, 5, 0, 239, 1, 2, 3];
        assert!(msg.windows(8).any(|w| w == group), "{msg:?}");
        let mut port = vec![6, 0, 7, 0];
        port.extend(8850u16.to_ne_bytes());
        port.extend([0, 0]);
        assert!(msg.windows(8).any(|w| w == port), "{msg:?}");
        let bare = SyncConfig { max_len: None, group: None, port: None, ttl: None, ..c };
        let (_, back) = parse_daemon(&as_reply(start_daemon_msg(SyncState::Backup, &bare))).unwrap();
        assert_eq!(back, bare, "what is not sent is not invented");
        let stop = stop_daemon_msg(SyncState::Backup);
        assert_eq!(stop[0], 10, "IPVS_CMD_DEL_DAEMON");
        assert_eq!(attrs(&stop), vec![IpvsAttr::Daemon(vec![DaemonAttr::State(2)])]);
        assert!(parse_daemon(&as_reply(get_daemons_msg())).is_err(), "a reply without a daemon is an error");
    }

    #[test]
    fn truncated_replies_are_errors_not_panics() {
        let m = service_msg(Cmd::NewService, &web());
        for cut in 0..m.len() {
            let _ = parse_service(&m[..cut]);
            let _ = parse_dest(&m[..cut], Family::Ipv4);
        }
        assert!(parse_service(&[1, 1]).is_err());
    }
}
