//! Addresses, routes, policy routing rules and links: the rtnetlink side of a node's state.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::list::Keyed;

/// Identifies an address: interface + address/prefix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddrKey {
    /// Interface name.
    pub interface: String,
    /// Address with prefix length.
    pub address: IpNet,
}

impl fmt::Display for AddrKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.address, self.interface)
    }
}

/// An address on an interface, like `ip addr add 192.0.2.1/32 dev lo label lo:0`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Interface name.
    pub interface: String,
    /// Address with prefix length.
    pub address: IpNet,
    /// IPv4 label such as `lo:0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// IPv4 broadcast address (`ip addr add ... broadcast B`); only VRRP VIPs set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broadcast: Option<Ipv4Addr>,
    /// Address scope (`ip addr add ... scope S`) when not global (0); only VRRP VIPs set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<u8>,
    /// Held as a local route (`ip route replace local A dev I table local proto 76`) rather
    /// than as an address: the kernel delivers the VIP's packets to IPVS all the same, but no
    /// routing daemon sees a connected route for it (FRR's zebra would prefer that route over
    /// the announced one). Only the VIPs of `announce: bgp` services on `lo` are held so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub local_route: bool,
    /// Peer, flags and lifetime; only VRRP VIPs set them.
    #[serde(default, skip_serializing_if = "AddrOptions::is_none")]
    pub options: AddrOptions,
}

impl Address {
    /// An address with no label, broadcast or scope: `ip addr add A dev I`.
    pub fn plain(interface: impl Into<String>, address: IpNet) -> Address {
        Address {
            interface: interface.into(),
            address,
            label: None,
            broadcast: None,
            scope: None,
            local_route: false,
            options: AddrOptions::default(),
        }
    }

    /// The address held as a local route: `ip route replace local A dev I table local proto 76`.
    pub fn local_route(interface: impl Into<String>, address: IpNet) -> Address {
        Address { local_route: true, ..Address::plain(interface, address) }
    }

    /// An address with a label (or none) and no broadcast or scope.
    pub fn labelled(interface: impl Into<String>, address: IpNet, label: Option<String>) -> Address {
        Address { label, ..Address::plain(interface, address) }
    }

    /// Its key.
    pub fn key(&self) -> AddrKey {
        AddrKey { interface: self.interface.clone(), address: self.address }
    }
}

impl Keyed for Address {
    type Key = AddrKey;
    fn key(&self) -> AddrKey {
        Address::key(self)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.address, self.interface)?;
        if let Some(l) = &self.label {
            write!(f, " label {l}")?;
        }
        if let Some(b) = &self.broadcast {
            write!(f, " brd {b}")?;
        }
        if let Some(s) = self.scope {
            write!(f, " scope {}", scope_name(s))?;
        }
        write!(f, "{}", self.options)?;
        if self.local_route {
            write!(f, " as a local route")?;
        }
        Ok(())
    }
}

/// `IFA_F_HOMEADDRESS` (linux/if_addr.h): a Mobile IPv6 home address (`ip addr add ... home`).
pub const IFA_F_HOMEADDRESS: u32 = 0x10;
/// `IFA_F_NODAD`: no duplicate address detection (`ip addr add ... nodad`).
pub const IFA_F_NODAD: u32 = 0x02;
/// `IFA_F_MANAGETEMPADDR`: privacy addresses are made from this /64 (`mngtmpaddr`).
pub const IFA_F_MANAGETEMPADDR: u32 = 0x100;
/// `IFA_F_NOPREFIXROUTE`: no route for the address's prefix (`noprefixroute`).
pub const IFA_F_NOPREFIXROUTE: u32 = 0x200;
/// `IFA_F_MCAUTOJOIN`: the node joins the multicast group of the address (`autojoin`).
pub const IFA_F_MCAUTOJOIN: u32 = 0x400;

/// The address flags a VIP may ask for, with the word `ip addr` gives each.
pub const ADDR_FLAGS: [(&str, u32); 4] = [
    ("home", IFA_F_HOMEADDRESS),
    ("mngtmpaddr", IFA_F_MANAGETEMPADDR),
    ("noprefixroute", IFA_F_NOPREFIXROUTE),
    ("autojoin", IFA_F_MCAUTOJOIN),
];

/// A VIP's kernel options beyond label, broadcast and scope (keepalived's `peer`, `home`,
/// `-nodad`, `mngtmpaddr`, `noprefixroute`, `autojoin`, `preferred_lft`), like `ip addr add
/// 10.0.0.1 peer 10.0.0.2/32 dev ppp0 noprefixroute`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddrOptions {
    /// The other end of a point-to-point link (`IFA_ADDRESS`, the address itself being
    /// `IFA_LOCAL`); the address's prefix length is the peer's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<IpAddr>,
    /// The `IFA_F_*` flags of [`ADDR_FLAGS`] it is added with.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub flags: u32,
    /// IPv6: duplicate address detection runs (keepalived's `-nodad`); VIPs are added with
    /// `nodad` otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dad: bool,
    /// IPv6 preferred lifetime in seconds (`IFA_CACHEINFO`; 0 deprecates the address: the
    /// kernel picks it as no connection's source); none: forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_lft: Option<u32>,
}

impl AddrOptions {
    /// No peer, flag or lifetime.
    pub fn is_none(&self) -> bool {
        *self == AddrOptions::default()
    }
}

impl fmt::Display for AddrOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.peer {
            write!(f, " peer {p}")?;
        }
        for (word, bit) in ADDR_FLAGS {
            if self.flags & bit != 0 {
                write!(f, " {word}")?;
            }
        }
        if self.dad {
            write!(f, " dad")?;
        }
        if let Some(p) = self.preferred_lft {
            write!(f, " preferred_lft {p}")?;
        }
        Ok(())
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The scopes `ip` names (/etc/iproute2/rt_scopes), by number.
pub const SCOPES: [(&str, u8); 5] = [("global", 0), ("site", 200), ("link", 253), ("host", 254), ("nowhere", 255)];

/// A scope as `ip addr` prints it: its name, else its number.
pub fn scope_name(scope: u8) -> String {
    SCOPES.iter().find(|(_, n)| *n == scope).map_or(scope.to_string(), |(name, _)| (*name).to_string())
}

/// A route in the main table, like `ip route replace default via 10.0.0.1`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Destination network; `0.0.0.0/0` or `::/0` for the default route.
    pub destination: IpNet,
    /// Next hop.
    pub gateway: IpAddr,
    /// Outgoing interface, when pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
}

impl Keyed for Route {
    type Key = IpNet;
    fn key(&self) -> IpNet {
        self.destination
    }
}

/// Text for a route destination: `default` for /0.
pub fn destination_text(net: &IpNet) -> String {
    if net.prefix_len() == 0 {
        match net {
            IpNet::V4(_) => "default".into(),
            IpNet::V6(_) => "default (ipv6)".into(),
        }
    } else {
        net.to_string()
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} via {}", destination_text(&self.destination), self.gateway)?;
        if let Some(i) = &self.interface {
            write!(f, " dev {i}")?;
        }
        Ok(())
    }
}

/// What a VRRP route does with what it matches (`ip route add TYPE ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteKind {
    /// Forwarded through `via` / `dev`.
    Unicast,
    /// Dropped silently.
    Blackhole,
    /// Dropped with ICMP unreachable.
    Unreachable,
    /// Dropped with ICMP administratively prohibited.
    Prohibit,
}

impl RouteKind {
    /// Its name, as `ip route` writes it.
    pub fn name(self) -> &'static str {
        match self {
            RouteKind::Unicast => "unicast",
            RouteKind::Blackhole => "blackhole",
            RouteKind::Unreachable => "unreachable",
            RouteKind::Prohibit => "prohibit",
        }
    }
}

/// The routing table lbconverge writes a route to when none is named (`main`).
pub const MAIN_TABLE: u32 = 254;

/// A route a VRRP master holds (keepalived's `virtual_routes`): added once it holds its VIPs,
/// removed before it lets them go, like `ip route replace 10.9.8.0/24 via 10.9.0.1 src
/// 10.9.0.100 table 100 metric 5 proto 77`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VrrpRoute {
    /// Destination network.
    pub to: IpNet,
    /// What it does.
    pub kind: RouteKind,
    /// Next hop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<IpAddr>,
    /// Outgoing interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    /// Preferred source address of what the node sends along it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<IpAddr>,
    /// Routing table ([`MAIN_TABLE`] unless named).
    pub table: u32,
    /// Metric (the kernel's priority); with `to` and `table` it names the route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    /// Its paths when it has several (then no `via` or `dev` of its own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nexthops: Vec<NextHop>,
    /// The next hop is on the link of `dev` whatever its address (`RTNH_F_ONLINK`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub onlink: bool,
    /// Lightweight tunnel encapsulation of what it forwards (`RTA_ENCAP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encap: Option<Encap>,
}

/// A route's metric as the kernel keeps it: the one it gives a route without one (0 for
/// IPv4, 1024 for IPv6: `IP6_RT_PRIO_USER`) is none, so that a route written either way
/// reads back as written and names one route.
pub fn route_metric(to: &IpNet, metric: Option<u32>) -> Option<u32> {
    let default = if to.addr().is_ipv6() { 1024 } else { 0 };
    metric.filter(|m| *m != default)
}

/// The `rtm_protocol` of the routes VRRP masters hold (`ip route ... proto 77`), beside the
/// announced routes' 76.
pub const VRRP_ROUTE_PROTOCOL: u8 = 77;

impl fmt::Display for VrrpRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind != RouteKind::Unicast {
            write!(f, "{} ", self.kind.name())?;
        }
        write!(f, "{}", self.to)?;
        if let Some(v) = self.via {
            write!(f, " via {v}")?;
        }
        if let Some(d) = &self.dev {
            write!(f, " dev {d}")?;
        }
        if let Some(s) = self.src {
            write!(f, " src {s}")?;
        }
        if self.table != MAIN_TABLE {
            write!(f, " table {}", self.table)?;
        }
        if let Some(m) = self.metric {
            write!(f, " metric {m}")?;
        }
        if let Some(e) = &self.encap {
            write!(f, " {e}")?;
        }
        if self.onlink {
            write!(f, " onlink")?;
        }
        for h in &self.nexthops {
            write!(f, " {h}")?;
        }
        Ok(())
    }
}

/// One path of a multipath route (`nexthop via 10.0.0.1 dev eth0 weight 2`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextHop {
    /// Next hop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<IpAddr>,
    /// Outgoing interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    /// Its share of the flows against the other paths' (1..=256).
    pub weight: u16,
    /// The next hop is on the link of `dev` whatever its address (`RTNH_F_ONLINK`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub onlink: bool,
    /// Lightweight tunnel encapsulation of what goes this way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encap: Option<Encap>,
}

impl fmt::Display for NextHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "nexthop")?;
        if let Some(v) = self.via {
            write!(f, " via {v}")?;
        }
        if let Some(d) = &self.dev {
            write!(f, " dev {d}")?;
        }
        write!(f, " weight {}", self.weight)?;
        if let Some(e) = &self.encap {
            write!(f, " {e}")?;
        }
        if self.onlink {
            write!(f, " onlink")?;
        }
        Ok(())
    }
}

/// A route's lightweight tunnel encapsulation (`ip route add ... encap ...`): MPLS labels
/// pushed, or the tunnel metadata (`ip`, `ip6`) a collect-metadata tunnel device sends
/// the packet with.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum Encap {
    /// `encap mpls 200/300`: the label stack, outermost first (`LWTUNNEL_ENCAP_MPLS`).
    Mpls(Vec<u32>),
    /// `encap ip id 1 dst 10.0.0.9`: IPv4 tunnel metadata (`LWTUNNEL_ENCAP_IP`).
    Ip(TunnelEncap),
    /// `encap ip6 id 1 dst fd00::9`: IPv6 tunnel metadata (`LWTUNNEL_ENCAP_IP6`).
    Ip6(TunnelEncap),
}

/// Tunnel metadata of an `ip` / `ip6` encapsulation; the kernel reports 0 for each one not
/// set, and so 0 is none here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TunnelEncap {
    /// Tunnel key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Outer destination address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst: Option<IpAddr>,
    /// Outer source address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<IpAddr>,
    /// Outer TOS (IPv6: traffic class).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos: Option<u8>,
    /// Outer TTL (IPv6: hop limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u8>,
}

impl fmt::Display for Encap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (t, names) = match self {
            Encap::Mpls(labels) => {
                let text: Vec<String> = labels.iter().map(u32::to_string).collect();
                return write!(f, "encap mpls {}", text.join("/"));
            }
            Encap::Ip(t) => (t, ["ip", "tos", "ttl"]),
            Encap::Ip6(t) => (t, ["ip6", "tc", "hoplimit"]),
        };
        write!(f, "encap {}", names[0])?;
        if let Some(id) = t.id {
            write!(f, " id {id}")?;
        }
        if let Some(a) = t.dst {
            write!(f, " dst {a}")?;
        }
        if let Some(a) = t.src {
            write!(f, " src {a}")?;
        }
        if let Some(n) = t.tos {
            write!(f, " {} {n}", names[1])?;
        }
        if let Some(n) = t.ttl {
            write!(f, " {} {n}", names[2])?;
        }
        Ok(())
    }
}

/// What a policy routing rule does with a packet it matches (`ip rule add ... TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    /// Looks the packet up in a routing table.
    Table(u32),
    /// Drops it silently.
    Blackhole,
    /// Drops it with ICMP unreachable.
    Unreachable,
    /// Drops it with ICMP administratively prohibited.
    Prohibit,
    /// Goes on with the rules from this priority.
    Goto(u32),
    /// Does nothing (the packet goes on to the next rule).
    Nop,
    /// Looks the packet up in the table of its interface's VRF.
    L3mdev,
}

/// IP protocols by the names /etc/protocols gives them.
pub const IP_PROTOCOLS: [(&str, u8); 10] = [
    ("icmp", 1),
    ("igmp", 2),
    ("tcp", 6),
    ("udp", 17),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("ipv6-icmp", 58),
    ("sctp", 132),
    ("udplite", 136),
];

/// A firewall mark a rule matches, with its mask (none: all 32 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fwmark {
    /// The mark.
    pub mark: u32,
    /// The bits compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<u32>,
}

/// A policy routing rule a VRRP master holds (keepalived's `virtual_rules`): added with its
/// routes, removed with them, like `ip rule add from 10.9.0.0/24 iif eth1 fwmark 5/0xff
/// lookup 100 pref 100 proto 77`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VrrpRule {
    /// Its preference: rules are tried from the lowest.
    pub priority: u32,
    /// IPv6 (its addresses', or said without them).
    pub v6: bool,
    /// Matches what it does not match otherwise (`ip rule add not ...`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not: bool,
    /// Source network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<IpNet>,
    /// Destination network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<IpNet>,
    /// Incoming interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iif: Option<String>,
    /// Outgoing interface (of locally sent packets bound to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oif: Option<String>,
    /// Firewall mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<Fwmark>,
    /// Further selectors and table options.
    #[serde(default, skip_serializing_if = "RuleOptions::is_none")]
    pub options: RuleOptions,
    /// What it does.
    pub action: RuleAction,
}

/// A rule's selectors beyond addresses, interfaces and marks, and the options of a table
/// rule (`ip rule add tos 0x10 ipproto tcp sport 1024-65534 dport 443 uidrange 0-999
/// tun_id 7 lookup 100 realms 1/2 suppress_prefixlength 0 suppress_ifgroup 5`). The
/// kernel reports each only when set, and so does a dump's reading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleOptions {
    /// DS field (type of service) matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos: Option<u8>,
    /// IP protocol matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipproto: Option<u8>,
    /// Source ports matched, first to last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sport: Option<(u16, u16)>,
    /// Destination ports matched, first to last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dport: Option<(u16, u16)>,
    /// User ids of the local sockets matched, first to last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uidrange: Option<(u32, u32)>,
    /// Tunnel id matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunnel_id: Option<u64>,
    /// Realms given to what a table rule matches (`FRA_FLOW`): from, to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realms: Option<(u16, u16)>,
    /// A table rule ignores the routes of this prefix length or shorter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppress_prefixlength: Option<u32>,
    /// A table rule ignores the routes through interfaces of this group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppress_ifgroup: Option<u32>,
}

impl RuleOptions {
    /// None set.
    pub fn is_none(&self) -> bool {
        *self == RuleOptions::default()
    }

    /// The selectors as `ip rule` writes them, each with a leading space.
    fn selectors(&self) -> String {
        let range = |(a, b): (u16, u16)| if a == b { a.to_string() } else { format!("{a}-{b}") };
        let mut out = String::new();
        if let Some(t) = self.tos {
            out.push_str(&format!(" tos {t:#04x}"));
        }
        if let Some(p) = self.ipproto {
            out.push_str(&format!(" ipproto {p}"));
        }
        if let Some(p) = self.sport {
            out.push_str(&format!(" sport {}", range(p)));
        }
        if let Some(p) = self.dport {
            out.push_str(&format!(" dport {}", range(p)));
        }
        if let Some((a, b)) = self.uidrange {
            out.push_str(&format!(" uidrange {a}-{b}"));
        }
        if let Some(t) = self.tunnel_id {
            out.push_str(&format!(" tunnel-id {t}"));
        }
        out
    }

    /// The table options as `ip rule` writes them, each with a leading space.
    fn table_options(&self) -> String {
        let mut out = String::new();
        if let Some((from, to)) = self.realms {
            out.push_str(&format!(" realms {from}/{to}"));
        }
        if let Some(n) = self.suppress_prefixlength {
            out.push_str(&format!(" suppress_prefixlength {n}"));
        }
        if let Some(g) = self.suppress_ifgroup {
            out.push_str(&format!(" suppress_ifgroup {g}"));
        }
        out
    }
}

impl fmt::Display for VrrpRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.v6 {
            write!(f, "-6 ")?;
        }
        write!(f, "priority {}", self.priority)?;
        if self.not {
            write!(f, " not")?;
        }
        match self.from {
            Some(n) => write!(f, " from {n}")?,
            None => write!(f, " from all")?,
        }
        if let Some(n) = self.to {
            write!(f, " to {n}")?;
        }
        if let Some(i) = &self.iif {
            write!(f, " iif {i}")?;
        }
        if let Some(o) = &self.oif {
            write!(f, " oif {o}")?;
        }
        if let Some(m) = self.fwmark {
            write!(f, " fwmark {:#x}", m.mark)?;
            if let Some(k) = m.mask {
                write!(f, "/{k:#x}")?;
            }
        }
        write!(f, "{}", self.options.selectors())?;
        match self.action {
            RuleAction::Table(t) => write!(f, " table {t}")?,
            RuleAction::Blackhole => write!(f, " blackhole")?,
            RuleAction::Unreachable => write!(f, " unreachable")?,
            RuleAction::Prohibit => write!(f, " prohibit")?,
            RuleAction::Goto(p) => write!(f, " goto {p}")?,
            RuleAction::Nop => write!(f, " nop")?,
            RuleAction::L3mdev => write!(f, " l3mdev")?,
        }
        write!(f, "{}", self.options.table_options())
    }
}

/// A network interface's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// Administratively up.
    pub up: bool,
    /// It has carrier (`IFF_RUNNING`: a cable plugged in, a veth peer up). Read from the
    /// kernel, never planned; snapshots without it mean true.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub carrier: bool,
}

impl Link {
    /// Up with carrier.
    pub const UP: Link = Link { up: true, carrier: true };

    /// Up and with carrier: what VRRP needs to send and hear on it (keepalived's
    /// `IFF_UP && IFF_RUNNING`).
    pub fn running(&self) -> bool {
        self.up && self.carrier
    }
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// A VRRP virtual MAC interface (keepalived's `use_vmac`): a private-mode macvlan on
/// `parent` with the VRRP MAC of its router, like `ip link add vrrp.51 link eth0 address
/// 00:00:5e:00:01:33 type macvlan mode private`. The VIPs of its instance go on it, so that
/// they answer ARP / neighbour solicitations with a MAC that moves with them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vmac {
    /// Its interface name.
    pub name: String,
    /// The interface it sits on.
    pub parent: String,
    /// The virtual router id: the MAC's last byte.
    pub vrid: u8,
    /// An IPv6 router's (00:00:5e:00:02:VRID rather than 00:00:5e:00:01:VRID).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ipv6: bool,
    /// Not a macvlan but an L2 ipvlan in this mode (keepalived's `use_ipvlan`), like `ip
    /// link add NAME link PARENT type ipvlan mode l2 MODE`: it has its parent's MAC, so
    /// `vrid` is 0 and `ipv6` false (the kernel knows neither).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipvlan: Option<crate::manifest::types::IpvlanMode>,
    /// Its own MAC rather than the VRRP one (keepalived's `use_vmac MAC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<Mac>,
    /// Its interface group (`ip link set group`, keepalived's `use_vmac group`); read back
    /// when not 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<u32>,
    /// After making it and after removing it, set the parent's group again to its own
    /// value, so that the kernel tells listeners about the parent (keepalived's
    /// `netlink_notify_msg`). Never read back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub netlink_notify: bool,
}

impl Vmac {
    /// The L2 ipvlan named `name` on `parent`, in `mode`.
    pub fn ipvlan(name: &str, parent: &str, mode: crate::manifest::types::IpvlanMode) -> Vmac {
        Vmac { ipvlan: Some(mode), ..Vmac::vrrp(name, parent, 0, false) }
    }

    /// keepalived's name: `vrrp.VRID`, IPv6 `vrrp6.VRID`.
    pub fn default_name(vrid: u8, ipv6: bool) -> String {
        if ipv6 { format!("vrrp6.{vrid}") } else { format!("vrrp.{vrid}") }
    }

    /// The names keepalived tries, in order, for a VMAC of a VIP (`use_vmac_addr`, a VIP's
    /// `use_vmac`): `vrrp.VRID`, then `vrrpN.VRID` for N = 1, 2, ... (IPv6: 6 first, then
    /// 1, 2, ..., skipping 6), the first no other interface has.
    pub fn vip_names(vrid: u8, ipv6: bool) -> impl Iterator<Item = String> {
        let numbers = (1u16..).filter(move |n| !ipv6 || *n != 6);
        let numbers = ipv6.then_some(6).into_iter().chain(numbers);
        std::iter::once(format!("vrrp.{vrid}")).chain(numbers.map(move |n| format!("vrrp{n}.{vrid}")))
    }

    /// Its VRRP VMAC: keepalived's settings, no MAC or group of its own.
    pub fn vrrp(name: &str, parent: &str, vrid: u8, ipv6: bool) -> Vmac {
        Vmac {
            name: name.into(),
            parent: parent.into(),
            vrid,
            ipv6,
            mac: None,
            group: None,
            netlink_notify: false,
            ipvlan: None,
        }
    }

    /// Its MAC address: its own, else the VRRP one (RFC 5798 §7.3).
    pub fn mac(&self) -> [u8; 6] {
        match self.mac {
            Some(Mac(own)) => own,
            None => [0, 0, 0x5e, 0, if self.ipv6 { 2 } else { 1 }, self.vrid],
        }
    }

    /// The VMAC a private macvlan named `name` on `parent` with hardware address `mac` is:
    /// with a VRRP MAC, that router's; with another, one of its own MAC (its VRID the
    /// MAC's last byte).
    pub fn from_mac(name: &str, parent: &str, mac: &[u8]) -> Option<Vmac> {
        let bytes: [u8; 6] = mac.try_into().ok()?;
        let ipv6 = match bytes {
            [0, 0, 0x5e, 0, 1, _] => false,
            [0, 0, 0x5e, 0, 2, _] => true,
            _ => return Some(Vmac { mac: Some(Mac(bytes)), ..Vmac::vrrp(name, parent, bytes[5], false) }),
        };
        Some(Vmac::vrrp(name, parent, bytes[5], ipv6))
    }

    /// Whether `live`, read from the kernel, is this VMAC: its name, parent and MAC, and
    /// its group when this one sets one.
    pub fn is(&self, live: &Vmac) -> bool {
        let group = self.group.is_none_or(|g| g == live.group.unwrap_or(0));
        let same_kind = self.ipvlan == live.ipvlan;
        self.name == live.name && self.parent == live.parent && self.mac() == live.mac() && group && same_kind
    }

    /// Its MAC as `ip link` writes it.
    pub fn mac_text(&self) -> String {
        self.mac().map(|b| format!("{b:02x}")).join(":")
    }
}

impl fmt::Display for Vmac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(mode) = self.ipvlan {
            return write!(f, "{} (ipvlan l2 {} on {})", self.name, mode.name(), self.parent);
        }
        write!(f, "{} ({} on {}", self.name, self.mac_text(), self.parent)?;
        match self.group {
            Some(g) => write!(f, ", group {g})"),
            None => write!(f, ")"),
        }
    }
}

/// A VMAC's own MAC address (keepalived's `use_vmac MAC`), written `02:00:00:0a:00:01`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// keepalived's `use_vmac` MAC: six octets of one or two hex digits, or five and the
    /// VRID as the sixth. Neither multicast nor an RFC 5798 VRRP MAC (00:00:5e:00:01:XX,
    /// 00:00:5e:00:02:XX): keepalived ignores those, reporting them.
    pub fn parse(text: &str, vrid: u8) -> Result<Mac, String> {
        let octets = text.strip_suffix(':').filter(|t| t.split(':').count() == 5).unwrap_or(text);
        let parsed: Result<Vec<u8>, _> = octets
            .split(':')
            .map(|o| match o.len() {
                1 | 2 if o.bytes().all(|b| b.is_ascii_hexdigit()) => u8::from_str_radix(o, 16).map_err(|_| ()),
                _ => Err(()),
            })
            .collect();
        let mut bytes = parsed.map_err(|()| format!("`{text}` is not a MAC address"))?;
        match bytes.len() {
            5 => bytes.push(vrid),
            6 => {}
            _ => return Err(format!("`{text}` is not a MAC address: it has {} octets, not 6 or 5", bytes.len())),
        }
        let mac: [u8; 6] = bytes.try_into().map_err(|_| format!("`{text}` is not a MAC address"))?;
        if mac[0] & 1 == 1 {
            return Err(format!("`{text}` is a multicast MAC address"));
        }
        if matches!(mac, [0, 0, 0x5e, 0, 1 | 2, _]) {
            return Err(format!("`{text}` is an RFC 5798 VRRP MAC address, the VMAC's own when no MAC is written"));
        }
        Ok(Mac(mac))
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.map(|b| format!("{b:02x}")).join(":"))
    }
}

impl Serialize for Mac {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mac {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Mac, D::Error> {
        let text = String::deserialize(d)?;
        let parsed = text.split(':').map(|o| u8::from_str_radix(o, 16)).collect::<Result<Vec<u8>, _>>();
        let bytes = parsed.ok().and_then(|b| <[u8; 6]>::try_from(b).ok());
        bytes.map(Mac).ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a MAC address")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vmac_mac_of_its_own_as_keepalived_takes_it() {
        let mac = |t: &str| Mac::parse(t, 0x33).map(|m| m.to_string());
        assert_eq!(mac("02:11:22:33:44:55").as_deref(), Ok("02:11:22:33:44:55"));
        assert_eq!(mac("2:A:b:3:4").as_deref(), Ok("02:0a:0b:03:04:33"), "five octets: the VRID as the sixth");
        assert_eq!(mac("02:11:22:33:44:").as_deref(), Ok("02:11:22:33:44:33"), "keepalived takes the colon after five");
        for bad in ["02:11:22:33", "02:11:22:33:44:55:66", "02:11::33:44:55", "02:111:22:33:44", "02:11:22:33:44:55:"] {
            assert!(mac(bad).unwrap_err().contains("is not a MAC address"), "{bad}");
        }
        assert!(mac("03:00:00:00:00:01").unwrap_err().contains("multicast"));
        assert!(mac("00:00:5e:00:01:07").unwrap_err().contains("RFC 5798"));
        assert!(mac("00:00:5e:00:02").unwrap_err().contains("RFC 5798"));
        assert!(mac("00:00:5e:00:03:07").is_ok(), "only the VRRP prefixes");
        let own = Vmac { mac: Some(Mac([2, 0, 0, 0xa, 0, 1])), ..Vmac::vrrp("vm", "eth0", 9, false) };
        let live = Vmac::from_mac("vm", "eth0", &[2, 0, 0, 0xa, 0, 1]).unwrap();
        assert!(own.is(&live) && own != live, "the same link: read back, its VRID is the MAC's last byte");
        assert!(!Vmac { group: Some(7), ..own.clone() }.is(&live), "a group it should have");
        assert!(own.is(&Vmac { group: Some(7), ..live.clone() }), "no group set: any");
        assert_eq!(Vmac { group: Some(7), ..own }.to_string(), "vm (02:00:00:0a:00:01 on eth0, group 7)");
    }
}
