//! Firewall marks: the rules that classify traffic for firewall-mark services, kept in the
//! one nftables table lbconverge owns (`table inet lbconverge`, chain `prerouting`, a filter
//! chain at the prerouting hook with mangle priority). Each rule matches destination
//! addresses, source addresses, a protocol and destination ports (each with an optional
//! negation) and sets the service's mark; rules are tried in chain order and the first one
//! that matches decides (every rule ends with `accept`, which leaves this chain only).
//!
//! Desired and live state share these types. Sets of addresses and ports are kept
//! normalized (sorted, merged spans), so that a set read back from the kernel, which nft
//! may print with other prefixes, ranges or order, compares equal to the one written.
//! [`Space`] is the packet set a rule matches, for validation's overlap and containment
//! checks. Pure: no IO.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::family::Family;
use crate::model::ipvs::Protocol;

/// The table's name (family `inet`: IPv4 and IPv6 in one table).
pub const TABLE: &str = "lbconverge";
/// The chain's name.
pub const CHAIN: &str = "prerouting";
/// The chain's priority: `mangle` (NF_IP_PRI_MANGLE), where iptables' mangle table runs.
pub const PRIORITY: i64 = -150;
/// The longest rule comment nft keeps.
pub const COMMENT_MAX: usize = 127;

/// An inclusive span of values.
pub type Span = (u128, u128);

/// A set of values: sorted, disjoint spans, none adjacent to the next.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Spans(Vec<Span>);

impl Spans {
    /// The set of `spans` (in any order, overlapping or not); spans with `first > last` are
    /// left out.
    pub fn new(mut spans: Vec<Span>) -> Self {
        spans.retain(|(a, b)| a <= b);
        spans.sort_unstable();
        let mut out: Vec<Span> = Vec::with_capacity(spans.len());
        for (a, b) in spans {
            match out.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        Spans(out)
    }
    /// Every value from 0 to `max`.
    pub fn full(max: u128) -> Self {
        Spans(vec![(0, max)])
    }
    /// The spans.
    pub fn spans(&self) -> &[Span] {
        &self.0
    }
    /// Returns true if and only if the set has no value.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The values in both sets.
    pub fn intersect(&self, other: &Spans) -> Spans {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < self.0.len() && j < other.0.len() {
            let (a, b) = (self.0[i], other.0[j]);
            let (lo, hi) = (a.0.max(b.0), a.1.min(b.1));
            if lo <= hi {
                out.push((lo, hi));
            }
            if a.1 < b.1 { i += 1 } else { j += 1 }
        }
        Spans(out)
    }
    /// The values of this set that are not in `other`.
    pub fn minus(&self, other: &Spans) -> Spans {
        let mut out = Vec::new();
        for &(a, b) in &self.0 {
            let mut start = Some(a);
            for &(c, d) in other.0.iter().filter(|(c, d)| *d >= a && *c <= b) {
                if let Some(s) = start {
                    if c > s {
                        out.push((s, c - 1));
                    }
                    start = d.checked_add(1).filter(|n| *n <= b);
                }
            }
            if let Some(s) = start {
                out.push((s, b));
            }
        }
        Spans::new(out)
    }
    /// Returns true if and only if every value of `other` is in this set.
    pub fn contains_all(&self, other: &Spans) -> bool {
        other.minus(self).is_empty()
    }
    /// Returns true if and only if the sets share a value.
    pub fn overlaps(&self, other: &Spans) -> bool {
        !self.intersect(other).is_empty()
    }
}

fn addr_value(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    }
}

fn addr_of(family: Family, v: u128) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::from(u32::try_from(v).unwrap_or(u32::MAX))),
        Family::Ipv6 => IpAddr::V6(Ipv6Addr::from(v)),
    }
}

/// The largest address value of a family.
pub fn family_max(family: Family) -> u128 {
    match family {
        Family::Ipv4 => u128::from(u32::MAX),
        Family::Ipv6 => u128::MAX,
    }
}

/// One entry of an address set as nft writes it: an address, a prefix or a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrItem {
    /// One address.
    Addr(IpAddr),
    /// A network, `192.168.0.0/16`.
    Prefix(IpAddr, u8),
    /// Addresses from the first to the last, `10.0.0.1-10.0.0.9`.
    Range(IpAddr, IpAddr),
}

impl fmt::Display for AddrItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddrItem::Addr(a) => write!(f, "{a}"),
            AddrItem::Prefix(a, len) => write!(f, "{a}/{len}"),
            AddrItem::Range(a, b) => write!(f, "{a}-{b}"),
        }
    }
}

/// A set of addresses of one family.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AddrSet {
    /// The family of every address.
    pub family: Family,
    /// The addresses as values (IPv4 in the low 32 bits).
    pub spans: Spans,
}

impl AddrSet {
    /// The set of `items`, all of `family`; the first item of another family is the error.
    pub fn of(family: Family, items: &[AddrItem]) -> Result<AddrSet, AddrItem> {
        let mut spans = Vec::with_capacity(items.len());
        for item in items {
            let (a, b) = item_span(*item).filter(|_| item_family(*item) == family).ok_or(*item)?;
            spans.push((a, b));
        }
        Ok(AddrSet { family, spans: Spans::new(spans) })
    }
    /// The set of some single addresses.
    pub fn hosts(family: Family, addrs: &[IpAddr]) -> AddrSet {
        let spans = addrs.iter().map(|a| (addr_value(*a), addr_value(*a))).collect();
        AddrSet { family, spans: Spans::new(spans) }
    }
    /// The set as nft items: each span as an address, a prefix when it is one, or a range.
    pub fn items(&self) -> Vec<AddrItem> {
        let bits: u32 = match self.family {
            Family::Ipv4 => 32,
            Family::Ipv6 => 128,
        };
        self.spans
            .spans()
            .iter()
            .map(|&(a, b)| {
                let (first, last) = (addr_of(self.family, a), addr_of(self.family, b));
                if a == b {
                    return AddrItem::Addr(first);
                }
                let size = b - a;
                let host_bits = (size.wrapping_add(1)).trailing_zeros().min(bits);
                let is_prefix = size.checked_add(1).map_or(a == 0, |n| n.is_power_of_two() && a % n == 0);
                match u8::try_from(bits - host_bits) {
                    Ok(len) if is_prefix => AddrItem::Prefix(first, len),
                    _ => AddrItem::Range(first, last),
                }
            })
            .collect()
    }
}

fn item_family(item: AddrItem) -> Family {
    match item {
        AddrItem::Addr(a) | AddrItem::Prefix(a, _) => Family::of(&a),
        AddrItem::Range(a, b) if Family::of(&a) == Family::of(&b) => Family::of(&a),
        // A range across families is never of the family asked for.
        AddrItem::Range(a, _) => match Family::of(&a) {
            Family::Ipv4 => Family::Ipv6,
            Family::Ipv6 => Family::Ipv4,
        },
    }
}

/// The values an item covers; `None` for a prefix longer than its family or a range that
/// runs backwards.
fn item_span(item: AddrItem) -> Option<Span> {
    match item {
        AddrItem::Addr(a) => Some((addr_value(a), addr_value(a))),
        AddrItem::Prefix(a, len) => {
            let bits = u32::from(Family::of(&a).host_prefix());
            let host = bits.checked_sub(u32::from(len))?;
            let mask = if host == 128 { u128::MAX } else { (1u128 << host) - 1 };
            let first = addr_value(a) & !mask;
            Some((first, first | mask))
        }
        AddrItem::Range(a, b) => Some((addr_value(a), addr_value(b))).filter(|(x, y)| x <= y),
    }
}

/// Parses `192.0.2.1`, `192.168.0.0/16` or `10.0.0.1-10.0.0.9`. A prefix must have no host
/// bits set (`192.168.1.5/24` is refused, as nft refuses it).
pub fn parse_addr_item(s: &str) -> Result<AddrItem, String> {
    let s = s.trim();
    if let Some((a, b)) = s.split_once('-') {
        let (a, b): (IpAddr, IpAddr) = match (a.trim().parse(), b.trim().parse()) {
            (Ok(a), Ok(b)) => (a, b),
            _ => return Err(format!("`{s}` is not an address range like 10.0.0.1-10.0.0.9")),
        };
        if Family::of(&a) != Family::of(&b) {
            return Err(format!("`{s}` mixes IPv4 and IPv6"));
        }
        if addr_value(a) > addr_value(b) {
            return Err(format!("`{s}` runs backwards: its first address is above its last"));
        }
        return Ok(AddrItem::Range(a, b));
    }
    if s.contains('/') {
        let net: ipnet::IpNet =
            s.parse().map_err(|_| format!("`{s}` is not an address, network or range like 192.168.0.0/16"))?;
        if net.network() != net.addr() {
            return Err(format!("`{s}` has host bits set; the network is {}/{}", net.network(), net.prefix_len()));
        }
        return Ok(AddrItem::Prefix(net.addr(), net.prefix_len()));
    }
    s.parse::<IpAddr>()
        .map(AddrItem::Addr)
        .map_err(|_| format!("`{s}` is not an address, network or range like 192.168.0.0/16"))
}

impl Serialize for AddrSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.items().iter().map(ToString::to_string))
    }
}

impl<'de> Deserialize<'de> for AddrSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let texts = Vec::<String>::deserialize(d)?;
        let items =
            texts.iter().map(|t| parse_addr_item(t)).collect::<Result<Vec<_>, _>>().map_err(D::Error::custom)?;
        let family = items.first().map_or(Family::Ipv4, |i| item_family(*i));
        AddrSet::of(family, &items).map_err(|i| D::Error::custom(format!("`{i}` is not {family} like the first entry")))
    }
}

/// A set of ports (0 to 65535).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortSet(pub Spans);

impl PortSet {
    /// The set of these ports and inclusive ranges.
    pub fn of(ranges: &[(u16, u16)]) -> PortSet {
        PortSet(Spans::new(ranges.iter().map(|&(a, b)| (u128::from(a), u128::from(b))).collect()))
    }
    /// The ports as inclusive ranges.
    pub fn ranges(&self) -> Vec<(u16, u16)> {
        let port = |v: u128| u16::try_from(v).unwrap_or(u16::MAX);
        self.0.spans().iter().map(|&(a, b)| (port(a), port(b))).collect()
    }
}

/// One port or a range, as files write them: `443` or `"8000-8099"`.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum PortText {
    One(u16),
    Range(String),
}

impl Serialize for PortSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.ranges()
                .into_iter()
                .map(|(a, b)| if a == b { PortText::One(a) } else { PortText::Range(format!("{a}-{b}")) }),
        )
    }
}

impl<'de> Deserialize<'de> for PortSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let items = Vec::<PortText>::deserialize(d)?;
        let mut ranges = Vec::with_capacity(items.len());
        for item in items {
            ranges.push(match item {
                PortText::One(p) => (p, p),
                PortText::Range(t) => parse_port_range(&t).map_err(D::Error::custom)?,
            });
        }
        Ok(PortSet::of(&ranges))
    }
}

/// Parses `8000-8099` (or one port) into an inclusive range.
pub fn parse_port_range(t: &str) -> Result<(u16, u16), String> {
    let bad = || format!("`{t}` is not a port or a port range like 8000-8099");
    let (a, b) = t.split_once('-').unwrap_or((t, t));
    let (a, b): (u16, u16) = (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?);
    if a > b {
        return Err(format!("`{t}` runs backwards: its first port is above its last"));
    }
    Ok((a, b))
}

/// Packet and byte counters of a live rule (never desired, never compared).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hits {
    /// Packets the rule matched.
    pub packets: u64,
    /// Bytes of those packets.
    pub bytes: u64,
}

/// One rule of the chain: its conditions and the mark it sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkRule {
    /// The rule's comment: where it comes from, `services.NAME.match[I]`.
    pub comment: String,
    /// The mark set on matching packets.
    pub mark: u32,
    /// The addresses' family (`ip` or `ip6` header).
    pub family: Family,
    /// The protocol the packet must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// A protocol the packet must not have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_protocol: Option<Protocol>,
    /// Destination addresses the packet must have one of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<AddrSet>,
    /// Destination addresses the packet must have none of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_destination: Option<AddrSet>,
    /// Source addresses the packet must have one of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<AddrSet>,
    /// Source addresses the packet must have none of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_source: Option<AddrSet>,
    /// Destination ports the packet must have one of (with `protocol`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<PortSet>,
    /// Destination ports the packet must have none of (with `protocol`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_ports: Option<PortSet>,
    /// What the rule matched so far (live state only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hits: Option<Hits>,
}

impl MarkRule {
    /// Returns true if and only if both rules match the same packets the same way and set
    /// the same mark with the same comment (counters aside).
    pub fn same(&self, other: &MarkRule) -> bool {
        self.without_hits() == other.without_hits()
    }
    /// The rule without its counters.
    pub fn without_hits(&self) -> MarkRule {
        MarkRule { hits: None, ..self.clone() }
    }
    /// The packets the rule matches, for overlap and containment checks.
    pub fn space(&self) -> Space {
        let max = family_max(self.family);
        let set = |is: &Option<AddrSet>, not: &Option<AddrSet>| {
            let base = is.as_ref().map_or_else(|| Spans::full(max), |s| s.spans.clone());
            not.as_ref().map_or(base.clone(), |n| base.minus(&n.spans))
        };
        let all_ports = Spans::full(u128::from(u16::MAX));
        let mut ports = self.ports.as_ref().map_or(all_ports, |p| p.0.clone());
        if let Some(n) = &self.not_ports {
            ports = ports.minus(&n.0);
        }
        let mut protocols = self.protocol.map_or(Space::ANY_PROTOCOL, proto_bit);
        if let Some(p) = self.not_protocol {
            protocols &= !proto_bit(p);
        }
        Space {
            family: self.family,
            protocols,
            destination: set(&self.destination, &self.not_destination),
            source: set(&self.source, &self.not_source),
            ports,
        }
    }
}

fn proto_bit(p: Protocol) -> u8 {
    match p {
        Protocol::Tcp => 1,
        Protocol::Udp => 2,
        Protocol::Sctp => 4,
    }
}

/// The packets a rule matches: a product of one set per header field. Packets of other
/// protocols than TCP, UDP and SCTP have one bit of their own and any port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Space {
    /// Address family.
    pub family: Family,
    /// Protocols as bits: TCP 1, UDP 2, SCTP 4, any other 8.
    pub protocols: u8,
    /// Destination addresses.
    pub destination: Spans,
    /// Source addresses.
    pub source: Spans,
    /// Destination ports.
    pub ports: Spans,
}

impl Space {
    /// Every protocol.
    pub const ANY_PROTOCOL: u8 = 15;

    /// Returns true if and only if no packet is in it.
    pub fn is_empty(&self) -> bool {
        self.protocols == 0 || self.destination.is_empty() || self.source.is_empty() || self.ports.is_empty()
    }
    /// Returns true if and only if some packet is in both.
    pub fn overlaps(&self, other: &Space) -> bool {
        self.family == other.family
            && self.protocols & other.protocols != 0
            && self.destination.overlaps(&other.destination)
            && self.source.overlaps(&other.source)
            && self.ports.overlaps(&other.ports)
    }
    /// Returns true if and only if every packet of `other` is in this one.
    pub fn contains(&self, other: &Space) -> bool {
        other.is_empty()
            || (self.family == other.family
                && other.protocols & !self.protocols == 0
                && self.destination.contains_all(&other.destination)
                && self.source.contains_all(&other.source)
                && self.ports.contains_all(&other.ports))
    }
}

/// The table lbconverge owns, as far as it writes it: the rules of its one chain, in order.
/// Read from the kernel, `foreign` says what else is there (another chain, a set, a chain
/// hooked elsewhere, a rule lbconverge does not write): any of it makes the table differ
/// from every desired one, so that it is replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkTable {
    /// The rules, in chain order.
    #[serde(default)]
    pub rules: Vec<MarkRule>,
    /// What the table holds that lbconverge does not write, as nft lists it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign: Vec<String>,
    /// The drops of VRRP masters without accept mode, in chain order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drops: Vec<DropRule>,
}

/// The chain of [`DropRule`]s on the input hook.
pub const VRRP_IN: &str = "vrrp_in";
/// The chain of [`DropRule`]s on the output hook.
pub const VRRP_OUT: &str = "vrrp_out";
/// Their priority: keepalived's (its `nftables` default), before the filter tables (0) and
/// IPVS (NF_IP_PRI_NAT_SRC - 2) see the packet.
pub const VRRP_PRIORITY: i64 = -1;
/// The comment of the rule in both chains that lets IPv6 neighbour discovery through.
pub const ND_COMMENT: &str = "neighbour discovery";

/// keepalived's no-accept mode (RFC 5798 Accept_Mode false; keepalived's `vrrp_strict`
/// default): every packet to (inbound) or from (outbound) the VIPs of an instance is
/// dropped, except IPv6 neighbour discovery (a rule of its own before these). The VIPs
/// are listed whether this node is master or not: a VIP that is not on it never reaches
/// its input hook and is never a source it sends from, so the packets dropped are those
/// keepalived drops with its set filled on takeover, and no firewall write comes between a
/// takeover and the VIPs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropRule {
    /// The rule's comment: `vrrp.NAME accept: false`.
    pub comment: String,
    /// True in [`VRRP_IN`] (destination), false in [`VRRP_OUT`] (source).
    pub inbound: bool,
    /// The VIPs (one family).
    pub addresses: AddrSet,
    /// What the rule matched so far (live state only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hits: Option<Hits>,
}

impl DropRule {
    /// The rule without its counters.
    pub fn without_hits(&self) -> DropRule {
        DropRule { hits: None, ..self.clone() }
    }
    /// The chain it is in.
    pub fn chain(&self) -> &'static str {
        if self.inbound { VRRP_IN } else { VRRP_OUT }
    }
    /// The rule as nft prints it.
    pub fn nft_text(&self) -> String {
        let ip = match self.addresses.family {
            Family::Ipv4 => "ip",
            Family::Ipv6 => "ip6",
        };
        let field = if self.inbound { "daddr" } else { "saddr" };
        let items: Vec<String> = self.addresses.items().iter().map(ToString::to_string).collect();
        let set = if items.len() == 1 { items.join("") } else { format!("{{ {} }}", items.join(", ")) };
        let hits = self.hits.map(|h| format!(" packets {} bytes {}", h.packets, h.bytes)).unwrap_or_default();
        format!("{ip} {field} {set} counter{hits} drop comment \"{}\"", self.comment)
    }
}

impl MarkTable {
    /// Returns true if and only if both tables hold the same rules in the same order and
    /// nothing else (counters aside).
    pub fn same(&self, other: &MarkTable) -> bool {
        self.foreign.is_empty()
            && other.foreign.is_empty()
            && self.rules.len() == other.rules.len()
            && self.rules.iter().zip(&other.rules).all(|(a, b)| a.same(b))
            && self.without_hits().drops == other.without_hits().drops
    }
    /// The table without counters.
    pub fn without_hits(&self) -> MarkTable {
        MarkTable {
            rules: self.rules.iter().map(MarkRule::without_hits).collect(),
            foreign: self.foreign.clone(),
            drops: self.drops.iter().map(DropRule::without_hits).collect(),
        }
    }
    /// True when some drop is of IPv6 addresses: then neighbour discovery is let through.
    pub fn has_v6_drops(&self) -> bool {
        self.drops.iter().any(|d| d.addresses.family == Family::Ipv6)
    }
    /// The table as `nft list table inet lbconverge` prints it (the text `nft -f` reads).
    pub fn nft_text(&self) -> String {
        let mut out = format!(
            "table inet {TABLE} {{\n\tchain {CHAIN} {{\n\t\ttype filter hook prerouting priority mangle; policy accept;\n"
        );
        for r in &self.rules {
            out.push_str(&format!("\t\t{}\n", r.nft_text()));
        }
        out.push_str("\t}\n");
        for (chain, hook) in [(VRRP_IN, "input"), (VRRP_OUT, "output")] {
            if self.drops.is_empty() {
                break;
            }
            out.push_str(&format!(
                "\tchain {chain} {{\n\t\ttype filter hook {hook} priority filter - 1; policy accept;\n"
            ));
            if self.has_v6_drops() {
                out.push_str(&format!(
                    "\t\ticmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert }} accept comment \"{ND_COMMENT}\"\n"
                ));
            }
            for d in self.drops.iter().filter(|d| d.chain() == chain) {
                out.push_str(&format!("\t\t{}\n", d.nft_text()));
            }
            out.push_str("\t}\n");
        }
        out.push_str("}\n");
        for f in &self.foreign {
            out.push_str(&format!("# not written by lbconverge: {f}\n"));
        }
        out
    }
}

/// The comment of the rule made from `match` entry `index` of service `service`: its key
/// path, with characters nft would print ambiguously replaced, at most [`COMMENT_MAX`] bytes.
pub fn comment_for(service: &str, index: usize) -> String {
    let raw = format!("services.{service}.match[{index}]");
    let mut out: String =
        raw.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' { c } else { '_' }).collect();
    out.truncate(COMMENT_MAX);
    out
}

/// A set in nft's syntax: one item bare, several in braces.
fn set_text(items: Vec<String>) -> String {
    match items.as_slice() {
        [one] => one.clone(),
        _ => format!("{{ {} }}", items.join(", ")),
    }
}

fn addrs_text(s: &AddrSet) -> String {
    set_text(s.items().iter().map(ToString::to_string).collect())
}

fn ports_text(p: &PortSet) -> String {
    set_text(p.ranges().iter().map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect())
}

impl MarkRule {
    /// The rule's matches in nft's syntax, without the statements:
    /// `ip daddr 192.168.10.101 ip saddr 192.168.0.0/16 tcp dport 443`.
    pub fn match_text(&self) -> String {
        let ip = match self.family {
            Family::Ipv4 => "ip",
            Family::Ipv6 => "ip6",
        };
        let mut parts = Vec::new();
        if let (Some(p), None, None) = (self.protocol, &self.ports, &self.not_ports) {
            parts.push(format!("meta l4proto {}", p.name()));
        }
        if let Some(p) = self.not_protocol {
            parts.push(format!("meta l4proto != {}", p.name()));
        }
        for (field, is, not) in
            [("daddr", &self.destination, &self.not_destination), ("saddr", &self.source, &self.not_source)]
        {
            if let Some(s) = is {
                parts.push(format!("{ip} {field} {}", addrs_text(s)));
            }
            if let Some(s) = not {
                parts.push(format!("{ip} {field} != {}", addrs_text(s)));
            }
        }
        let proto = self.protocol.map_or("th", Protocol::name);
        if let Some(p) = &self.ports {
            parts.push(format!("{proto} dport {}", ports_text(p)));
        }
        if let Some(p) = &self.not_ports {
            parts.push(format!("{proto} dport != {}", ports_text(p)));
        }
        parts.join(" ")
    }

    /// The whole rule in nft's syntax, counters included when read from the kernel.
    pub fn nft_text(&self) -> String {
        let counter = self.hits.map_or(String::new(), |h| format!(" counter packets {} bytes {}", h.packets, h.bytes));
        format!("{}{counter} meta mark set {} accept comment \"{}\"", self.match_text(), self.mark, self.comment)
    }
}

impl fmt::Display for MarkRule {
    /// `ip daddr 192.168.10.101 tcp dport 443 -> mark 300 (services.https.match[0])`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> mark {} ({})", self.match_text(), self.mark, self.comment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(v: &[(u128, u128)]) -> Spans {
        Spans::new(v.to_vec())
    }

    #[test]
    fn spans_merge_intersect_and_subtract() {
        assert_eq!(spans(&[(5, 9), (1, 3), (4, 4), (20, 30)]).spans(), &[(1, 9), (20, 30)]);
        assert_eq!(spans(&[(1, 10)]).intersect(&spans(&[(0, 2), (5, 6), (9, 20)])).spans(), &[(1, 2), (5, 6), (9, 10)]);
        assert_eq!(spans(&[(1, 10)]).minus(&spans(&[(0, 2), (5, 6), (9, 20)])).spans(), &[(3, 4), (7, 8)]);
        assert_eq!(Spans::full(u128::MAX).minus(&spans(&[(u128::MAX, u128::MAX)])).spans(), &[(0, u128::MAX - 1)]);
        assert!(spans(&[(1, 10)]).contains_all(&spans(&[(2, 3), (10, 10)])));
        assert!(!spans(&[(1, 10)]).contains_all(&spans(&[(2, 11)])));
    }

    #[test]
    fn address_sets_print_prefixes_ranges_and_addresses() {
        let items = ["192.168.10.100", "10.0.0.1-10.0.0.9", "172.16.0.0/12", "10.0.0.10-10.0.0.255"]
            .map(|s| parse_addr_item(s).unwrap());
        let set = AddrSet::of(Family::Ipv4, &items).unwrap();
        let shown: Vec<String> = set.items().iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.0.1-10.0.0.255", "172.16.0.0/12", "192.168.10.100"]);
        let all = AddrSet::of(Family::Ipv4, &[parse_addr_item("0.0.0.0/0").unwrap()]).unwrap();
        assert_eq!(all.items(), [AddrItem::Prefix("0.0.0.0".parse().unwrap(), 0)]);
        let v6 = AddrSet::of(Family::Ipv6, &[parse_addr_item("::/0").unwrap()]).unwrap();
        assert_eq!(v6.items(), [AddrItem::Prefix("::".parse().unwrap(), 0)]);
        assert!(parse_addr_item("192.168.1.5/24").unwrap_err().contains("the network is 192.168.1.0/24"));
        assert!(parse_addr_item("10.0.0.9-10.0.0.1").is_err());
        assert!(AddrSet::of(Family::Ipv4, &[parse_addr_item("2001:db8::1").unwrap()]).is_err());
        let yaml: AddrSet = serde_json::from_str(r#"["10.0.0.0/25", "10.0.0.128/25"]"#).unwrap();
        assert_eq!(serde_json::to_string(&yaml).unwrap(), r#"["10.0.0.0/24"]"#);
    }

    #[test]
    fn port_sets_read_and_write_numbers_and_ranges() {
        let p: PortSet = serde_json::from_str(r#"[443, "8000-8099", 80, "8100-8100"]"#).unwrap();
        assert_eq!(p.ranges(), [(80, 80), (443, 443), (8000, 8100)]);
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"[80,443,"8000-8100"]"#);
        assert!(parse_port_range("90-80").is_err());
    }

    fn rule(dst: &str, src: Option<&str>, ports: &[(u16, u16)]) -> MarkRule {
        let set = |s: &str| AddrSet::of(Family::Ipv4, &[parse_addr_item(s).unwrap()]).unwrap();
        MarkRule {
            comment: "c".into(),
            mark: 1,
            family: Family::Ipv4,
            protocol: Some(Protocol::Tcp),
            not_protocol: None,
            destination: Some(set(dst)),
            not_destination: None,
            source: src.map(set),
            not_source: None,
            ports: (!ports.is_empty()).then(|| PortSet::of(ports)),
            not_ports: None,
            hits: None,
        }
    }

    #[test]
    fn a_rule_with_a_source_is_inside_the_same_rule_for_every_source() {
        let inside = rule("192.168.10.101", Some("192.168.0.0/16"), &[(443, 443)]).space();
        let everyone = rule("192.168.10.101", None, &[(443, 443)]).space();
        let web = rule("192.168.10.101", None, &[(80, 80), (443, 443)]).space();
        assert!(everyone.contains(&inside) && !inside.contains(&everyone));
        assert!(web.contains(&everyone));
        let other_port = rule("192.168.10.101", None, &[(8443, 8443)]).space();
        assert!(!other_port.overlaps(&everyone));
        let mut not_inside = rule("192.168.10.101", None, &[(443, 443)]);
        not_inside.not_source = inside_set();
        assert!(!not_inside.space().overlaps(&inside));
        assert!(everyone.contains(&not_inside.space()));
    }

    fn inside_set() -> Option<AddrSet> {
        Some(AddrSet::of(Family::Ipv4, &[parse_addr_item("192.168.0.0/16").unwrap()]).unwrap())
    }

    #[test]
    fn rules_print_as_nft_writes_them() {
        let mut r = rule("192.168.10.101", Some("192.168.0.0/16"), &[(443, 443), (8000, 8099)]);
        r.mark = 200;
        r.comment = comment_for("https \"in\"", 0);
        assert_eq!(
            r.nft_text(),
            "ip daddr 192.168.10.101 ip saddr 192.168.0.0/16 tcp dport { 443, 8000-8099 } meta mark set 200 accept comment \"services.https__in_.match[0]\""
        );
        r.ports = None;
        r.not_source = inside_set();
        r.source = None;
        assert_eq!(
            r.to_string(),
            "meta l4proto tcp ip daddr 192.168.10.101 ip saddr != 192.168.0.0/16 -> mark 200 (services.https__in_.match[0])"
        );
    }
}
