//! The IPVS generic-netlink message set (linux/ip_vs.h), written by hand: requests built
//! from model types and replies parsed into them. Pure; byte-level tests below.
//!
//! Facts from a real 6.1 kernel: NEW/SET_SERVICE need the full entry (scheduler, flags,
//! timeout, netmask); destination commands need only the service key; the kernel ORs
//! HASHED into the flags it returns; dumps come in hash order; a GET_SERVICE dump answers
//! with NEW_SERVICE messages and GET_DEST with NEW_DEST.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::attr::{self, AttrWriter};
use crate::family::Family;
use crate::model::ipvs::{self, Dest, DestStats, Forwarding, Persistence, Protocol, Service, ServiceKey, Traffic};
use crate::model::sync::{SyncConfig, SyncState};

/// `IPVS_GENL_VERSION`.
const VERSION: u8 = 1;

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
}

const CMD_ATTR_SERVICE: u16 = 1;
const CMD_ATTR_DEST: u16 = 2;
const CMD_ATTR_DAEMON: u16 = 3;

const SVC_AF: u16 = 1;
const SVC_PROTOCOL: u16 = 2;
const SVC_ADDR: u16 = 3;
const SVC_PORT: u16 = 4;
const SVC_FWMARK: u16 = 5;
const SVC_SCHED_NAME: u16 = 6;
const SVC_FLAGS: u16 = 7;
const SVC_TIMEOUT: u16 = 8;
const SVC_NETMASK: u16 = 9;
const SVC_STATS: u16 = 10;
const SVC_STATS64: u16 = 12;

const DEST_ADDR: u16 = 1;
const DEST_PORT: u16 = 2;
const DEST_FWD_METHOD: u16 = 3;
const DEST_WEIGHT: u16 = 4;
const DEST_U_THRESH: u16 = 5;
const DEST_L_THRESH: u16 = 6;
const DEST_ACTIVE_CONNS: u16 = 7;
const DEST_INACT_CONNS: u16 = 8;
const DEST_PERSIST_CONNS: u16 = 9;
const DEST_STATS: u16 = 10;
const DEST_ADDR_FAMILY: u16 = 11;
const DEST_STATS64: u16 = 12;

const DAEMON_STATE: u16 = 1;
const DAEMON_MCAST_IFN: u16 = 2;
const DAEMON_SYNC_ID: u16 = 3;
const DAEMON_SYNC_MAXLEN: u16 = 4;
const DAEMON_MCAST_GROUP: u16 = 5;
const DAEMON_MCAST_GROUP6: u16 = 6;
const DAEMON_MCAST_PORT: u16 = 7;
const DAEMON_MCAST_TTL: u16 = 8;

/// `IPVS_STATS_ATTR_CONNS` ..= `IPVS_STATS_ATTR_OUTBPS`, in [`Traffic`]'s field order.
const STATS_CONNS: u16 = 1;

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

fn inet(ip: &IpAddr) -> [u8; 16] {
    let mut b = [0u8; 16];
    match ip {
        IpAddr::V4(a) => b[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => b.copy_from_slice(&a.octets()),
    }
    b
}

fn fwd_code(f: Forwarding) -> u32 {
    match f {
        Forwarding::Nat => 0,
        Forwarding::Local => 1,
        Forwarding::Tun => 2,
        Forwarding::Dr => 3,
    }
}

fn header(cmd: Cmd) -> AttrWriter {
    AttrWriter::with_prefix(&[cmd as u8, VERSION, 0, 0])
}

fn key_attrs(w: &mut AttrWriter, key: &ServiceKey) {
    w.u16(SVC_AF, af(key.family()));
    match key {
        ServiceKey::Addr { protocol, addr, port } => {
            w.u16(SVC_PROTOCOL, protocol.number()).put(SVC_ADDR, &inet(addr)).be16(SVC_PORT, *port);
        }
        ServiceKey::Fwmark { mark, .. } => {
            w.u32(SVC_FWMARK, *mark);
        }
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

fn full_service_attrs(w: &mut AttrWriter, s: &Service) {
    key_attrs(w, &s.key);
    let mut flags = [0u8; 8];
    flags[..4].copy_from_slice(&s.flags().to_ne_bytes());
    flags[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    let timeout = s.persistence.map_or(0, |p| p.timeout);
    w.str(SVC_SCHED_NAME, &s.scheduler).put(SVC_FLAGS, &flags).u32(SVC_TIMEOUT, timeout).u32(SVC_NETMASK, netmask(s));
}

fn dest_attrs(w: &mut AttrWriter, d: &Dest, full: bool) {
    w.put(DEST_ADDR, &inet(&d.address)).be16(DEST_PORT, d.port);
    if full {
        w.u32(DEST_FWD_METHOD, fwd_code(d.forwarding))
            .u32(DEST_WEIGHT, d.weight)
            .u32(DEST_U_THRESH, d.upper_threshold)
            .u32(DEST_L_THRESH, d.lower_threshold);
    }
    w.u16(DEST_ADDR_FAMILY, af(Family::of(&d.address)));
}

/// `ipvsadm -A` / `-E`: NEW_SERVICE or SET_SERVICE with the full entry.
pub fn service_msg(cmd: Cmd, s: &Service) -> Vec<u8> {
    let mut w = header(cmd);
    w.nest(CMD_ATTR_SERVICE, |n| full_service_attrs(n, s));
    w.buf
}

/// `ipvsadm -D`, or a GET_DEST dump request: the service key only.
pub fn service_key_msg(cmd: Cmd, key: &ServiceKey) -> Vec<u8> {
    let mut w = header(cmd);
    w.nest(CMD_ATTR_SERVICE, |n| key_attrs(n, key));
    w.buf
}

/// `ipvsadm -a` / `-e` / `-d`: the service key and the destination (full unless deleting).
pub fn dest_msg(cmd: Cmd, key: &ServiceKey, d: &Dest) -> Vec<u8> {
    let mut w = header(cmd);
    w.nest(CMD_ATTR_SERVICE, |n| key_attrs(n, key));
    w.nest(CMD_ATTR_DEST, |n| dest_attrs(n, d, cmd != Cmd::DelDest));
    w.buf
}

/// A GET_SERVICE dump request.
pub fn get_services_msg() -> Vec<u8> {
    header(Cmd::GetService).buf
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("IPVS reply without a valid {what}"))
}

fn nested(payload: &[u8], top: u16) -> io::Result<Vec<(u16, &[u8])>> {
    let body = payload.get(4..).ok_or_else(|| bad("generic netlink header"))?;
    let outer = attr::parse(body)?;
    attr::parse(attr::find(&outer, top).ok_or_else(|| bad("nested attribute"))?)
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

/// Parses a NEW_SERVICE reply (part of a GET_SERVICE dump), without destinations.
pub fn parse_service(payload: &[u8]) -> io::Result<Service> {
    let a = nested(payload, CMD_ATTR_SERVICE)?;
    let fam_code = attr::get_u16(&a, SVC_AF).ok_or_else(|| bad("family"))?;
    let family = if fam_code == AF_INET6 { Family::Ipv6 } else { Family::Ipv4 };
    let key = match attr::get_u32(&a, SVC_FWMARK).filter(|m| *m != 0) {
        Some(mark) => ServiceKey::Fwmark { family, mark },
        None => {
            let proto =
                attr::get_u16(&a, SVC_PROTOCOL).and_then(Protocol::from_number).ok_or_else(|| bad("protocol"))?;
            let addr = addr_of(fam_code, attr::find(&a, SVC_ADDR).ok_or_else(|| bad("address"))?)?;
            let port = attr::get_be16(&a, SVC_PORT).ok_or_else(|| bad("port"))?;
            ServiceKey::Addr { protocol: proto, addr, port }
        }
    };
    let flags =
        attr::find(&a, SVC_FLAGS).and_then(|b| Some(u32::from_ne_bytes(b.get(..4)?.try_into().ok()?))).unwrap_or(0);
    let netmask = attr::get_u32(&a, SVC_NETMASK).unwrap_or(u32::MAX);
    let granularity = match family {
        Family::Ipv4 => u8::try_from(u32::from_be_bytes(netmask.to_ne_bytes()).count_ones()).unwrap_or(32),
        Family::Ipv6 => u8::try_from(netmask).unwrap_or(128),
    };
    let timeout = attr::get_u32(&a, SVC_TIMEOUT).unwrap_or(0);
    Ok(Service {
        key,
        scheduler: attr::get_str(&a, SVC_SCHED_NAME).unwrap_or_default(),
        sched_flags: flags & ipvs::SCHED_FLAGS,
        persistence: (flags & ipvs::F_PERSISTENT != 0).then_some(Persistence { timeout, granularity }),
        one_packet: flags & ipvs::F_ONEPACKET != 0,
        dests: Default::default(),
        traffic: traffic(&a, SVC_STATS64, SVC_STATS)?,
    })
}

/// The traffic counters of a service or destination: the nested `STATS64` attribute (every
/// value a u64, Linux 4.1+), else the older `STATS` (u32 counters and rates, u64 bytes);
/// zero when neither is there.
fn traffic(a: &[(u16, &[u8])], stats64: u16, stats: u16) -> io::Result<Traffic> {
    let Some(nest) = attr::find(a, stats64).or_else(|| attr::find(a, stats)) else { return Ok(Traffic::default()) };
    let s = attr::parse(nest)?;
    let v = |i: u16| attr::get_u64(&s, STATS_CONNS + i).or_else(|| attr::get_u32(&s, STATS_CONNS + i).map(u64::from));
    let [conns, in_pkts, out_pkts, in_bytes, out_bytes, cps, in_pps, out_pps, in_bps, out_bps] =
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(|i| v(i).unwrap_or(0));
    Ok(Traffic { conns, in_pkts, out_pkts, in_bytes, out_bytes, cps, in_pps, out_pps, in_bps, out_bps })
}

/// Parses a NEW_DEST reply (part of a GET_DEST dump) of a service of `family`.
pub fn parse_dest(payload: &[u8], family: Family) -> io::Result<Dest> {
    let a = nested(payload, CMD_ATTR_DEST)?;
    let fam = attr::get_u16(&a, DEST_ADDR_FAMILY).unwrap_or(af(family));
    let forwarding = match attr::get_u32(&a, DEST_FWD_METHOD).unwrap_or(0) & FWD_MASK {
        0 => Forwarding::Nat,
        1 => Forwarding::Local,
        2 => Forwarding::Tun,
        3 => Forwarding::Dr,
        _ => return Err(bad("forwarding method")),
    };
    let stats = DestStats {
        active: attr::get_u32(&a, DEST_ACTIVE_CONNS).unwrap_or(0),
        inactive: attr::get_u32(&a, DEST_INACT_CONNS).unwrap_or(0),
        persistent: attr::get_u32(&a, DEST_PERSIST_CONNS).unwrap_or(0),
        traffic: traffic(&a, DEST_STATS64, DEST_STATS)?,
    };
    Ok(Dest {
        address: addr_of(fam, attr::find(&a, DEST_ADDR).ok_or_else(|| bad("address"))?)?,
        port: attr::get_be16(&a, DEST_PORT).ok_or_else(|| bad("port"))?,
        forwarding,
        weight: attr::get_u32(&a, DEST_WEIGHT).unwrap_or(0),
        upper_threshold: attr::get_u32(&a, DEST_U_THRESH).unwrap_or(0),
        lower_threshold: attr::get_u32(&a, DEST_L_THRESH).unwrap_or(0),
        stats: Some(stats),
    })
}

/// `ipvsadm --start-daemon`: NEW_DAEMON with the settings given (the kernel picks the rest).
/// The group goes in network order, the port and the rest in host order.
pub fn start_daemon_msg(state: SyncState, c: &SyncConfig) -> Vec<u8> {
    let mut w = header(Cmd::NewDaemon);
    w.nest(CMD_ATTR_DAEMON, |n| {
        n.u32(DAEMON_STATE, state.code()).str(DAEMON_MCAST_IFN, &c.interface).u32(DAEMON_SYNC_ID, u32::from(c.sync_id));
        if let Some(v) = c.max_len {
            n.u16(DAEMON_SYNC_MAXLEN, v);
        }
        match c.group {
            Some(IpAddr::V4(g)) => {
                n.put(DAEMON_MCAST_GROUP, &g.octets());
            }
            Some(IpAddr::V6(g)) => {
                n.put(DAEMON_MCAST_GROUP6, &g.octets());
            }
            None => {}
        }
        if let Some(v) = c.port {
            n.u16(DAEMON_MCAST_PORT, v);
        }
        if let Some(v) = c.ttl {
            n.u8(DAEMON_MCAST_TTL, v);
        }
    });
    w.buf
}

/// `ipvsadm --stop-daemon`: DEL_DAEMON with the state only.
pub fn stop_daemon_msg(state: SyncState) -> Vec<u8> {
    let mut w = header(Cmd::DelDaemon);
    w.nest(CMD_ATTR_DAEMON, |n| {
        n.u32(DAEMON_STATE, state.code());
    });
    w.buf
}

/// A GET_DAEMON dump request.
pub fn get_daemons_msg() -> Vec<u8> {
    header(Cmd::GetDaemon).buf
}

/// Parses one daemon of a GET_DAEMON dump (older kernels report the state, interface and
/// id only).
pub fn parse_daemon(payload: &[u8]) -> io::Result<(SyncState, SyncConfig)> {
    let a = nested(payload, CMD_ATTR_DAEMON)?;
    let state = attr::get_u32(&a, DAEMON_STATE).and_then(SyncState::from_code).ok_or_else(|| bad("daemon state"))?;
    let interface = attr::get_str(&a, DAEMON_MCAST_IFN).ok_or_else(|| bad("daemon interface"))?;
    let id = attr::get_u32(&a, DAEMON_SYNC_ID).ok_or_else(|| bad("sync id"))?;
    let group = match (attr::find(&a, DAEMON_MCAST_GROUP), attr::find(&a, DAEMON_MCAST_GROUP6)) {
        (Some(b), _) => Some(addr_of(AF_INET, b)?),
        (None, Some(b)) => Some(addr_of(AF_INET6, b)?),
        (None, None) => None,
    };
    let config = SyncConfig {
        interface,
        sync_id: u8::try_from(id).map_err(|_| bad("sync id"))?,
        max_len: attr::get_u16(&a, DAEMON_SYNC_MAXLEN),
        group,
        port: attr::get_u16(&a, DAEMON_MCAST_PORT),
        ttl: attr::find(&a, DAEMON_MCAST_TTL).and_then(|b| b.first().copied()),
    };
    Ok((state, config))
}

/// Generic netlink controller: the family-id lookup (`CTRL_CMD_GETFAMILY`).
pub fn getfamily_msg(name: &str) -> Vec<u8> {
    let mut w = AttrWriter::with_prefix(&[3, 1, 0, 0]);
    w.str(2, name);
    w.buf
}

/// Reads `CTRL_ATTR_FAMILY_ID` from a controller reply.
pub fn parse_family_id(payload: &[u8]) -> io::Result<u16> {
    let a = attr::parse(payload.get(4..).ok_or_else(|| bad("generic netlink header"))?)?;
    attr::get_u16(&a, 1).ok_or_else(|| bad("family id"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

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
        let a = nested(&m, CMD_ATTR_SERVICE).unwrap();
        assert_eq!(attr::get_u16(&a, SVC_AF), Some(2));
        assert_eq!(attr::get_u16(&a, SVC_PROTOCOL), Some(6));
        assert_eq!(attr::find(&a, SVC_ADDR).unwrap(), &[192, 0, 2, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(attr::find(&a, SVC_PORT).unwrap(), &[0, 80]);
        assert_eq!(attr::find(&a, SVC_SCHED_NAME).unwrap(), b"wrr\0");
        let flags = attr::find(&a, SVC_FLAGS).unwrap();
        assert_eq!(u32::from_ne_bytes(flags[..4].try_into().unwrap()), ipvs::F_PERSISTENT);
        assert_eq!(u32::from_ne_bytes(flags[4..].try_into().unwrap()), u32::MAX);
        assert_eq!(attr::get_u32(&a, SVC_TIMEOUT), Some(300));
        // IPv4 netmask is a __be32: 255.255.255.0 on the wire
        assert_eq!(attr::find(&a, SVC_NETMASK).unwrap(), &[255, 255, 255, 0]);
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
        let a = nested(&del, CMD_ATTR_DEST).unwrap();
        assert!(attr::find(&a, DEST_WEIGHT).is_none());
        assert_eq!(attr::get_be16(&a, DEST_PORT), Some(443));
    }

    /// One netlink attribute, byte by byte: length, type, value, padding to 4.
    fn tlv(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut b = u16::try_from(4 + value.len()).unwrap().to_ne_bytes().to_vec();
        b.extend_from_slice(&kind.to_ne_bytes());
        b.extend_from_slice(value);
        b.resize(b.len().div_ceil(4) * 4, 0);
        b
    }

    /// A NEW_DEST reply for 10.0.0.21:80 as the kernel sends one, with these nested
    /// attributes (type, bytes) after the entry.
    fn dest_reply(nests: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let d = Dest {
            address: "10.0.0.21".parse().unwrap(),
            port: 80,
            forwarding: Forwarding::Dr,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
            stats: None,
        };
        let mut w = header(Cmd::NewDest);
        w.nest(CMD_ATTR_DEST, |n| {
            dest_attrs(n, &d, true);
            n.u32(DEST_ACTIVE_CONNS, 2);
            for (kind, bytes) in nests {
                n.put(*kind | 0x8000, bytes);
            }
        });
        w.buf
    }

    #[test]
    fn traffic_is_read_from_the_nested_stats64_attribute_else_from_stats() {
        // STATS64: every counter and rate a u64 (in_pkts past 2^32), OUTPKTS absent (DR).
        let mut stats64 = tlv(1, &7u64.to_ne_bytes());
        for (kind, v) in [(2u16, 5_000_000_000u64), (4, 310_000_000_000), (5, 0), (6, 3), (7, 40), (9, 5200)] {
            stats64.extend(tlv(kind, &v.to_ne_bytes()));
        }
        stats64.extend(tlv(11, &[])); // IPVS_STATS_ATTR_PAD, ignored
        let d = parse_dest(&dest_reply(&[(DEST_STATS64, stats64.clone())]), Family::Ipv4).unwrap();
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
        let mut stats = tlv(1, &9u32.to_ne_bytes());
        stats.extend(tlv(3, &11u32.to_ne_bytes()));
        stats.extend(tlv(5, &1234u64.to_ne_bytes()));
        stats.extend(tlv(10, &99u32.to_ne_bytes()));
        let old = parse_dest(&dest_reply(&[(DEST_STATS, stats.clone())]), Family::Ipv4).unwrap();
        let want_old = Traffic { conns: 9, out_pkts: 11, out_bytes: 1234, out_bps: 99, ..Traffic::default() };
        assert_eq!(old.stats.unwrap().traffic, want_old);
        let both = parse_dest(&dest_reply(&[(DEST_STATS, stats), (DEST_STATS64, stats64.clone())]), Family::Ipv4);
        assert_eq!(both.unwrap().stats.unwrap().traffic, want);
        assert!(parse_dest(&dest_reply(&[]), Family::Ipv4).unwrap().stats.unwrap().traffic.is_zero());
        // A service carries its own counters the same way.
        let mut svc = service_msg(Cmd::NewService, &web());
        let mut w = AttrWriter::default();
        w.put(SVC_STATS64 | 0x8000, &stats64);
        // Grow the SERVICE nest (right after the genl header) by the stats attribute.
        let nest_len = u16::from_ne_bytes([svc[4], svc[5]]) + u16::try_from(w.buf.len()).unwrap();
        svc[4..6].copy_from_slice(&nest_len.to_ne_bytes());
        svc.extend_from_slice(&w.buf);
        assert_eq!(parse_service(&svc).unwrap().traffic, want);
        // A nest cut short is a malformed reply, not zeros.
        let cut = &stats64[..stats64.len() - 8];
        let mut bad = cut.to_vec();
        bad[0] = 200; // the first attribute claims more bytes than the nest holds
        assert!(parse_dest(&dest_reply(&[(DEST_STATS64, bad)]), Family::Ipv4).is_err());
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
        let inner = nested(&msg, CMD_ATTR_DAEMON).unwrap();
        assert_eq!(attr::find(&inner, DAEMON_MCAST_GROUP), Some(&[239, 1, 2, 3][..]), "network order");
        assert_eq!(attr::get_u16(&inner, DAEMON_MCAST_PORT), Some(8850), "host order, as ipvsadm sends it");
        let bare = SyncConfig { max_len: None, group: None, port: None, ttl: None, ..c };
        let (_, back) = parse_daemon(&as_reply(start_daemon_msg(SyncState::Backup, &bare))).unwrap();
        assert_eq!(back, bare, "what is not sent is not invented");
        let stop = stop_daemon_msg(SyncState::Backup);
        assert_eq!(stop[0], 10, "IPVS_CMD_DEL_DAEMON");
        let inner = nested(&stop, CMD_ATTR_DAEMON).unwrap();
        assert_eq!(inner.len(), 1);
        assert_eq!(attr::get_u32(&inner, DAEMON_STATE), Some(2));
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
