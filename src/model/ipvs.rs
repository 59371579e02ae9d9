//! IPVS objects as lbconverge sees them: virtual services and their destinations, in the
//! same shape for desired and live state. Flags use the kernel's bit values
//! (`IP_VS_SVC_F_*` in linux/ip_vs.h) so the netlink codec maps them one to one.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::family::Family;

use super::list::{self, Keyed};

/// `IP_VS_SVC_F_PERSISTENT`.
pub const F_PERSISTENT: u32 = 0x1;
/// `IP_VS_SVC_F_HASHED`: set by the kernel on every service; never compared.
pub const F_HASHED: u32 = 0x2;
/// `IP_VS_SVC_F_ONEPACKET`.
pub const F_ONEPACKET: u32 = 0x4;
/// `IP_VS_SVC_F_SCHED1`: `sh-fallback` / `mh-fallback`.
pub const F_SCHED1: u32 = 0x8;
/// `IP_VS_SVC_F_SCHED2`: `sh-port` / `mh-port`.
pub const F_SCHED2: u32 = 0x10;
/// `IP_VS_SVC_F_SCHED3`.
pub const F_SCHED3: u32 = 0x20;
/// The scheduler flag bits.
pub const SCHED_FLAGS: u32 = F_SCHED1 | F_SCHED2 | F_SCHED3;

/// Transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// IPPROTO_TCP (6).
    Tcp,
    /// IPPROTO_UDP (17).
    Udp,
    /// IPPROTO_SCTP (132).
    Sctp,
}

impl Protocol {
    /// The IP protocol number.
    pub fn number(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }
    /// The protocol with this IP protocol number.
    pub fn from_number(n: u16) -> Option<Protocol> {
        match n {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            132 => Some(Protocol::Sctp),
            _ => None,
        }
    }
    /// The lower-case name: `tcp`, `udp`, `sctp`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// What identifies a virtual service in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceKey {
    /// Protocol + VIP + port.
    Addr {
        /// Transport protocol.
        protocol: Protocol,
        /// Virtual IP.
        addr: IpAddr,
        /// Virtual port.
        port: u16,
    },
    /// Firewall mark + family.
    Fwmark {
        /// Address family.
        family: Family,
        /// The mark.
        mark: u32,
    },
}

impl ServiceKey {
    /// The VIP and port of an address service; `None` for a firewall-mark service.
    pub fn vip_port(&self) -> Option<(IpAddr, u16)> {
        match self {
            ServiceKey::Addr { addr, port, .. } => Some((*addr, *port)),
            ServiceKey::Fwmark { .. } => None,
        }
    }
    /// Address family of the service.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }
}

/// Formats `addr:port` with brackets around IPv6 addresses.
pub fn socket_text(addr: &IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

fn parse_socket(s: &str) -> Option<(IpAddr, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    Some((host.parse().ok()?, port.parse().ok()?))
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr { protocol, addr, port } => {
                write!(f, "{} {}", protocol.name(), socket_text(addr, *port))
            }
            ServiceKey::Fwmark { family, mark } => write!(f, "fwmark {mark} {family}"),
        }
    }
}

impl FromStr for ServiceKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a service key like `tcp 192.0.2.1:80` or `fwmark 7 ipv4`");
        let mut words = s.split_whitespace();
        let (first, second, third) = (words.next(), words.next(), words.next());
        if words.next().is_some() {
            return Err(bad());
        }
        match (first, second, third) {
            (Some("fwmark"), Some(mark), fam) => {
                let mark = mark.parse().map_err(|_| bad())?;
                let family = match fam {
                    None | Some("ipv4") => Family::Ipv4,
                    Some("ipv6") => Family::Ipv6,
                    _ => return Err(bad()),
                };
                Ok(ServiceKey::Fwmark { family, mark })
            }
            (Some(proto), Some(sock), None) => {
                let protocol = match proto {
                    "tcp" => Protocol::Tcp,
                    "udp" => Protocol::Udp,
                    "sctp" => Protocol::Sctp,
                    _ => return Err(bad()),
                };
                let (addr, port) = parse_socket(sock).ok_or_else(bad)?;
                Ok(ServiceKey::Addr { protocol, addr, port })
            }
            _ => Err(bad()),
        }
    }
}

impl Serialize for ServiceKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ServiceKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// Firewall marks lbconverge gives its own per-backend services for data-path health
/// checks (`via: ipvs`); manifests may not use them.
pub const PROBE_MARKS: std::ops::RangeInclusive<u32> = 0x4C42_0000..=0x4C42_FFFF;

/// How the director forwards to a destination (`IP_VS_CONN_F_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Forwarding {
    /// Direct routing, `-g` (`IP_VS_CONN_F_DROUTE`).
    Dr,
    /// Masquerading, `-m` (`IP_VS_CONN_F_MASQ`).
    Nat,
    /// Tunnelling, `-i` (`IP_VS_CONN_F_TUNNEL`).
    Tun,
    /// Local node (`IP_VS_CONN_F_LOCALNODE`), chosen by the kernel for local addresses.
    Local,
}

impl Forwarding {
    /// The word ipvsadm -L prints.
    pub fn ipvsadm_word(self) -> &'static str {
        match self {
            Forwarding::Dr => "Route",
            Forwarding::Nat => "Masq",
            Forwarding::Tun => "Tunnel",
            Forwarding::Local => "Local",
        }
    }
    /// The lbconverge word.
    pub fn word(self) -> &'static str {
        match self {
            Forwarding::Dr => "dr",
            Forwarding::Nat => "nat",
            Forwarding::Tun => "tun",
            Forwarding::Local => "local",
        }
    }
}

/// Client persistence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Persistence {
    /// Seconds a client sticks to its real server.
    pub timeout: u32,
    /// Prefix length of the client network that sticks together (32/128: per address).
    pub granularity: u8,
}

/// Connection counters of a live destination (never part of desired state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestStats {
    /// Active connections.
    #[serde(default)]
    pub active: u32,
    /// Inactive connections.
    #[serde(default)]
    pub inactive: u32,
    /// Persistence templates.
    #[serde(default)]
    pub persistent: u32,
    /// Traffic through the destination (left out of files while all zero).
    #[serde(default, skip_serializing_if = "Traffic::is_zero")]
    pub traffic: Traffic,
}

/// Traffic counters and rates of a live service or destination, like `ipvsadm -Ln --stats`
/// and `--rate` (the kernel's `IPVS_STATS_ATTR_*`). Counters run from when the kernel
/// object was added; rates are the kernel's estimates, per second. Never desired state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Traffic {
    /// Connections scheduled (`Conns`).
    pub conns: u64,
    /// Packets in, client to server (`InPkts`).
    pub in_pkts: u64,
    /// Packets out, server to client (`OutPkts`; none seen under DR or TUN).
    pub out_pkts: u64,
    /// Bytes in (`InBytes`).
    pub in_bytes: u64,
    /// Bytes out (`OutBytes`).
    pub out_bytes: u64,
    /// Connections per second (`CPS`).
    pub cps: u64,
    /// Packets in per second (`InPPS`).
    pub in_pps: u64,
    /// Packets out per second (`OutPPS`).
    pub out_pps: u64,
    /// Bytes in per second (`InBPS`).
    pub in_bps: u64,
    /// Bytes out per second (`OutBPS`).
    pub out_bps: u64,
}

impl Traffic {
    /// Returns true if and only if every counter and rate is zero.
    pub fn is_zero(&self) -> bool {
        *self == Traffic::default()
    }

    /// Both added up, field by field (saturating), as a service's counters sum its
    /// destinations'.
    #[must_use]
    pub fn plus(&self, o: &Traffic) -> Traffic {
        Traffic {
            conns: self.conns.saturating_add(o.conns),
            in_pkts: self.in_pkts.saturating_add(o.in_pkts),
            out_pkts: self.out_pkts.saturating_add(o.out_pkts),
            in_bytes: self.in_bytes.saturating_add(o.in_bytes),
            out_bytes: self.out_bytes.saturating_add(o.out_bytes),
            cps: self.cps.saturating_add(o.cps),
            in_pps: self.in_pps.saturating_add(o.in_pps),
            out_pps: self.out_pps.saturating_add(o.out_pps),
            in_bps: self.in_bps.saturating_add(o.in_bps),
            out_bps: self.out_bps.saturating_add(o.out_bps),
        }
    }
}

/// Identifies a destination inside its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DestKey {
    /// Real server address.
    pub addr: IpAddr,
    /// Real server port.
    pub port: u16,
}

impl fmt::Display for DestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&socket_text(&self.addr, self.port))
    }
}

/// A real server of a virtual service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dest {
    /// Real server address.
    pub address: IpAddr,
    /// Real server port.
    pub port: u16,
    /// Forwarding method.
    pub forwarding: Forwarding,
    /// Weight.
    pub weight: u32,
    /// Upper connection threshold (0: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub upper_threshold: u32,
    /// Lower connection threshold (0: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lower_threshold: u32,
    /// Live counters; absent in desired state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<DestStats>,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

impl Dest {
    /// Its key.
    pub fn key(&self) -> DestKey {
        DestKey { addr: self.address, port: self.port }
    }
    /// Returns true if and only if the settings (not the counters) are equal.
    pub fn same_settings(&self, other: &Dest) -> bool {
        self.forwarding == other.forwarding
            && self.weight == other.weight
            && self.upper_threshold == other.upper_threshold
            && self.lower_threshold == other.lower_threshold
    }
    /// Active plus inactive connections (0 when unknown).
    pub fn connections(&self) -> u64 {
        self.stats.map_or(0, |s| u64::from(s.active) + u64::from(s.inactive))
    }
}

impl Keyed for Dest {
    type Key = DestKey;
    fn key(&self) -> DestKey {
        Dest::key(self)
    }
}

/// A virtual service with its destinations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ServiceRepr", into = "ServiceRepr")]
pub struct Service {
    /// Its key.
    pub key: ServiceKey,
    /// Scheduler name (`rr`, `wlc`, ...).
    pub scheduler: String,
    /// Scheduler flag bits (`F_SCHED1..3`).
    pub sched_flags: u32,
    /// Persistence, if any.
    pub persistence: Option<Persistence>,
    /// One-packet scheduling.
    pub one_packet: bool,
    /// Destinations by key.
    pub dests: BTreeMap<DestKey, Dest>,
    /// Live traffic through the service; zero in desired state.
    pub traffic: Traffic,
}

impl Service {
    /// The kernel flag word (without HASHED).
    pub fn flags(&self) -> u32 {
        let mut f = self.sched_flags & SCHED_FLAGS;
        if self.persistence.is_some() {
            f |= F_PERSISTENT;
        }
        if self.one_packet {
            f |= F_ONEPACKET;
        }
        f
    }
    /// Returns true if and only if the service settings (not the destinations) are equal.
    pub fn same_settings(&self, other: &Service) -> bool {
        self.scheduler == other.scheduler && self.flags() == other.flags() && self.persistence == other.persistence
    }
    /// A copy without destinations or counters, for plan changes.
    pub fn settings_only(&self) -> Service {
        Service { dests: BTreeMap::new(), traffic: Traffic::default(), ..self.clone() }
    }
    /// Scheduler flag names as the user writes them, for this scheduler.
    pub fn flag_names(&self) -> Vec<String> {
        flag_names(&self.scheduler, self.sched_flags)
    }
}

impl Keyed for Service {
    type Key = ServiceKey;
    fn key(&self) -> ServiceKey {
        self.key
    }
}

/// Scheduler flag names for a scheduler and a flag word.
pub fn flag_names(scheduler: &str, flags: u32) -> Vec<String> {
    let named = |n: u32| match (scheduler, n) {
        ("sh" | "mh", 1) => format!("{scheduler}-fallback"),
        ("sh" | "mh", 2) => format!("{scheduler}-port"),
        _ => format!("flag-{n}"),
    };
    [(F_SCHED1, 1), (F_SCHED2, 2), (F_SCHED3, 3)]
        .into_iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| named(n))
        .collect()
}

/// The flag bit a scheduler flag name stands for.
pub fn flag_bit(name: &str) -> Option<u32> {
    match name {
        "sh-fallback" | "mh-fallback" | "flag-1" => Some(F_SCHED1),
        "sh-port" | "mh-port" | "flag-2" => Some(F_SCHED2),
        "flag-3" => Some(F_SCHED3),
        _ => None,
    }
}

/// The file shape of a service: key fields flattened, destinations as a list.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceRepr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    protocol: Option<Protocol>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fwmark: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    family: Option<Family>,
    scheduler: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    scheduler_flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    persistence: Option<Persistence>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    one_packet: bool,
    #[serde(default)]
    destinations: Vec<Dest>,
    #[serde(default, skip_serializing_if = "Traffic::is_zero")]
    traffic: Traffic,
}

impl From<Service> for ServiceRepr {
    fn from(s: Service) -> Self {
        let flags = s.flag_names();
        let mut r = ServiceRepr {
            protocol: None,
            address: None,
            port: None,
            fwmark: None,
            family: None,
            scheduler: s.scheduler,
            scheduler_flags: flags,
            persistence: s.persistence,
            one_packet: s.one_packet,
            destinations: s.dests.into_values().collect(),
            traffic: s.traffic,
        };
        match s.key {
            ServiceKey::Addr { protocol, addr, port } => {
                (r.protocol, r.address, r.port) = (Some(protocol), Some(addr), Some(port));
            }
            ServiceKey::Fwmark { family, mark } => (r.fwmark, r.family) = (Some(mark), Some(family)),
        }
        r
    }
}

impl TryFrom<ServiceRepr> for Service {
    type Error = String;
    fn try_from(r: ServiceRepr) -> Result<Self, String> {
        let key = match (r.fwmark, r.protocol, r.address, r.port) {
            (Some(mark), None, None, None) => ServiceKey::Fwmark { family: r.family.unwrap_or(Family::Ipv4), mark },
            (None, protocol, Some(addr), Some(port)) if r.family.is_none() => {
                ServiceKey::Addr { protocol: protocol.unwrap_or(Protocol::Tcp), addr, port }
            }
            _ => {
                return Err(
                    "a service has either `fwmark` (and `family`) or `address` and `port` (and `protocol`)".into()
                );
            }
        };
        let mut sched_flags = 0;
        for name in &r.scheduler_flags {
            sched_flags |= flag_bit(name).ok_or_else(|| format!("unknown scheduler flag `{name}`"))?;
        }
        let dests = list::into_map(r.destinations).map_err(|k| format!("destination {k} is listed twice"))?;
        Ok(Service {
            key,
            scheduler: r.scheduler,
            sched_flags,
            persistence: r.persistence,
            one_packet: r.one_packet,
            dests,
            traffic: r.traffic,
        })
    }
}
