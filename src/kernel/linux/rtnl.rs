//! Links (VRRP VMACs made and removed), addresses, default routes, announced VIP routes and
//! the routes and policy routing rules VRRP masters hold over rtnetlink, like `ip link` /
//! `ip addr` / `ip route` / `ip rule`. Messages come from
//! netlink-packet-route; the socket is our synchronous one.

use std::collections::BTreeMap;
use std::io;
use std::net::IpAddr;

use ipnet::IpNet;
use netlink_packet_core::{Emitable, Parseable};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::IpProtocol;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope, CacheInfo,
};
use netlink_packet_route::link::{
    InfoData, InfoIpVlan, InfoKind, InfoMacVlan, IpVlanFlags, IpVlanMode, LinkAttribute, LinkFlags, LinkInfo,
    LinkMessage, MacVlanMode,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteNextHop, RouteNextHopFlags,
    RouteProtocol, RouteRealm, RouteScope, RouteType,
};
use netlink_packet_route::rule::{
    RuleAction as Action, RuleAttribute, RuleFlags, RuleMessage, RulePortRange, RuleUidRange,
};

use super::lwtunnel;
use super::modules;
use super::nl::{self, NlSocket, Request};
use crate::kernel::{Addrs, KResult, KernelError, Routes};
use crate::manifest::types::IpvlanMode;
use crate::model::announce::{self, Announced};
use crate::model::net::{
    ADDR_FLAGS, AddrOptions, Address, Fwmark, IFA_F_NODAD, Link, NextHop, Route, RouteKind, RuleAction, RuleOptions,
    VRRP_ROUTE_PROTOCOL, Vmac, VrrpRoute, VrrpRule, route_metric,
};

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
const RTM_NEWROUTE: u16 = 24;
const RTM_DELROUTE: u16 = 25;
const RTM_GETROUTE: u16 = 26;
const RTM_NEWRULE: u16 = 32;
const RTM_DELRULE: u16 = 33;
const RTM_GETRULE: u16 = 34;
/// The kernel's `local` routing table (`ip route show table local`).
const RT_TABLE_LOCAL: u8 = 255;

/// An rtnetlink connection. Interface indices are remembered from the last link dump, so
/// a VRRP takeover adds its VIPs without a lookup; an address write that finds its cached
/// index gone (the interface was re-created) looks it up again once.
pub struct Rtnl {
    sock: NlSocket,
    indices: BTreeMap<String, u32>,
}

fn emit<T: Emitable>(m: &T) -> Vec<u8> {
    let mut buf = vec![0; m.buffer_len()];
    m.emit(&mut buf);
    buf
}

fn decode_err(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

fn family_of(ip: &IpAddr) -> AddressFamily {
    if ip.is_ipv4() { AddressFamily::Inet } else { AddressFamily::Inet6 }
}

impl Rtnl {
    /// Connects to rtnetlink.
    pub fn open() -> KResult<Self> {
        let sock = NlSocket::open(netlink_sys::protocols::NETLINK_ROUTE)
            .map_err(|e| KernelError::io("open", "rtnetlink socket", e))?;
        Ok(Rtnl { sock, indices: BTreeMap::new() })
    }

    fn dump(&mut self, kind: u16, payload: Vec<u8>, what: &str) -> KResult<Vec<nl::Msg>> {
        self.sock.dump(Request { kind, flags: 0, payload }).map_err(|e| KernelError::io("list", what, e))
    }

    /// Interface index -> (name, up).
    fn link_table(&mut self) -> KResult<BTreeMap<u32, (String, Link)>> {
        let mut out = BTreeMap::new();
        for m in self.dump(RTM_GETLINK, emit(&LinkMessage::default()), "links")? {
            let msg =
                LinkMessage::parse(&m.payload[..]).map_err(|e| KernelError::io("parse", "link", decode_err(e)))?;
            let name = msg.attributes.iter().find_map(|a| match a {
                LinkAttribute::IfName(n) => Some(n.clone()),
                _ => None,
            });
            if let Some(name) = name {
                let flags = msg.header.flags;
                let link = Link { up: flags.contains(LinkFlags::Up), carrier: flags.contains(LinkFlags::Running) };
                out.insert(msg.header.index, (name, link));
            }
        }
        self.indices = out.iter().map(|(i, (n, _))| (n.clone(), *i)).collect();
        Ok(out)
    }

    fn index_of(&mut self, name: &str, op: &str, object: &str) -> KResult<u32> {
        if let Some(i) = self.indices.get(name) {
            return Ok(*i);
        }
        self.link_table()?;
        self.indices.get(name).copied().ok_or_else(|| {
            KernelError::errno(op, object, libc::ENODEV)
                .with_hint(format!("interface {name} does not exist on this host"))
        })
    }

    /// Sends an address request for `a` by its interface's cached index, looking the index up
    /// again once if the kernel no longer knows it.
    fn address_request(&mut self, kind: u16, flags: u16, op: &str, a: &Address) -> KResult<()> {
        let object = a.to_string();
        let send = |r: &mut Rtnl, index: u32| {
            let req = Request { kind, flags, payload: emit(&address_msg(a, index, kind == RTM_NEWADDR)) };
            r.sock.request(req).map_err(|e| KernelError::io(op, object.as_str(), e))
        };
        let cached = self.indices.contains_key(&a.interface);
        let index = self.index_of(&a.interface, op, &object)?;
        match send(self, index) {
            Err(e) if cached && e.is(libc::ENODEV) => {
                self.indices.clear();
                let index = self.index_of(&a.interface, op, &object)?;
                send(self, index)
            }
            other => other,
        }
    }

    /// An interface's index and hardware address, like `ip link show dev NAME`.
    pub fn link_details(&mut self, name: &str) -> KResult<(u32, Vec<u8>)> {
        for m in self.dump(RTM_GETLINK, emit(&LinkMessage::default()), "links")? {
            let msg =
                LinkMessage::parse(&m.payload[..]).map_err(|e| KernelError::io("parse", "link", decode_err(e)))?;
            let named = msg.attributes.iter().any(|a| matches!(a, LinkAttribute::IfName(n) if n == name));
            if !named {
                continue;
            }
            let mac = msg.attributes.iter().find_map(|a| match a {
                LinkAttribute::Address(m) => Some(m.clone()),
                _ => None,
            });
            return Ok((msg.header.index, mac.unwrap_or_default()));
        }
        Err(KernelError::errno("look up", name, libc::ENODEV)
            .with_hint(format!("interface {name} does not exist on this host")))
    }
}

impl Addrs for Rtnl {
    fn links(&mut self) -> KResult<BTreeMap<String, Link>> {
        Ok(self.link_table()?.into_values().collect())
    }

    fn indexed_links(&mut self) -> KResult<BTreeMap<String, (u32, Link)>> {
        Ok(self.link_table()?.into_iter().map(|(i, (name, link))| (name, (i, link))).collect())
    }

    /// An IPv4 label equal to the interface name is no label. The addresses held as local
    /// routes come first, so that an address with the same key wins where the list is keyed.
    fn addresses(&mut self) -> KResult<Vec<Address>> {
        let links = self.link_table()?;
        let mut out: Vec<Address> = self.route_dump()?.iter().filter_map(|m| local_route_of(m, &links)).collect();
        for m in self.dump(RTM_GETADDR, emit(&AddressMessage::default()), "addresses")? {
            let msg = AddressMessage::parse(&m.payload[..])
                .map_err(|e| KernelError::io("parse", "address", decode_err(e)))?;
            if let Some(a) = address_of(&msg, &links) {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// IPv6 addresses are added with `nodad`.
    fn add_address(&mut self, a: &Address) -> KResult<()> {
        if a.local_route {
            let msg = self.local_route_msg(a, "add address")?;
            return self.route_write(RTM_NEWROUTE, &msg, "add address", a);
        }
        self.address_request(RTM_NEWADDR, nl::F_CREATE | nl::F_EXCL, "add address", a)
    }

    fn del_address(&mut self, a: &Address) -> KResult<()> {
        if a.local_route {
            let msg = self.local_route_msg(a, "delete address")?;
            return self.route_write(RTM_DELROUTE, &msg, "delete address", a);
        }
        self.address_request(RTM_DELADDR, 0, "delete address", a)
    }

    /// Loads `ipip` / `ip6_tunnel` first when `tunl0` / `ip6tnl0` is missing.
    fn link_up(&mut self, name: &str) -> KResult<()> {
        let module = match name {
            "tunl0" => Some("ipip"),
            "ip6tnl0" => Some("ip6_tunnel"),
            _ => None,
        };
        if let Some(m) = module.filter(|_| !self.link_table().is_ok_and(|t| t.values().any(|(n, _)| n == name))) {
            modules::load(m).map_err(|e| {
                KernelError::io("set link up", name, e).with_hint(format!("load the module by hand: modprobe {m}"))
            })?;
        }
        let index = self.index_of(name, "set link up", name)?;
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        let req = Request { kind: RTM_NEWLINK, flags: 0, payload: emit(&msg) };
        self.sock.request(req).map_err(|e| KernelError::io("set link up", name, e))
    }

    /// Private macvlans, their parents named from the same dump.
    fn vmacs(&mut self) -> KResult<Vec<Vmac>> {
        let mut names = BTreeMap::new();
        let mut found = Vec::new();
        for m in self.dump(RTM_GETLINK, emit(&LinkMessage::default()), "links")? {
            let msg =
                LinkMessage::parse(&m.payload[..]).map_err(|e| KernelError::io("parse", "link", decode_err(e)))?;
            let name = msg.attributes.iter().find_map(|a| match a {
                LinkAttribute::IfName(n) => Some(n.clone()),
                _ => None,
            });
            if let Some(name) = name {
                names.insert(msg.header.index, name.clone());
                let macvlan = private_macvlan(&msg).map(|(parent, mac)| (parent, Ok(mac)));
                let ipvlan = l2_ipvlan(&msg).map(|(parent, mode)| (parent, Err(mode)));
                found.extend(macvlan.or(ipvlan).map(|(parent, kind)| (name, parent, kind, group_of(&msg))));
            }
        }
        let vmac = |(name, parent, kind, group): (String, u32, Result<Vec<u8>, IpvlanMode>, u32)| {
            let parent = names.get(&parent)?;
            let v = match kind {
                Ok(mac) => Vmac::from_mac(&name, parent, &mac)?,
                Err(mode) => Vmac::ipvlan(&name, parent, mode),
            };
            Some(Vmac { group: (group != 0).then_some(group), ..v })
        };
        Ok(found.into_iter().filter_map(vmac).collect())
    }

    /// `ip link add NAME link PARENT address MAC [group G] type macvlan mode private`, down.
    fn add_vmac(&mut self, v: &Vmac) -> KResult<()> {
        let object = v.to_string();
        let parent = self.index_of(&v.parent, "add VMAC", &object)?;
        let req = Request { kind: RTM_NEWLINK, flags: nl::F_CREATE | nl::F_EXCL, payload: emit(&new_vmac(v, parent)) };
        self.sock.request(req).map_err(|e| {
            let e = KernelError::io("add VMAC", object.as_str(), e);
            match v.ipvlan {
                Some(_) if e.is(libc::EOPNOTSUPP) => e.with_hint(
                    "this kernel has no ipvlan driver (CONFIG_IPVLAN, module ipvlan): load it, or use `vmac`",
                ),
                _ => e,
            }
        })?;
        self.indices.clear();
        Ok(())
    }

    /// `ip link del NAME`.
    fn del_vmac(&mut self, v: &Vmac) -> KResult<()> {
        let object = v.to_string();
        self.link_table()?;
        let index = self.index_of(&v.name, "delete VMAC", &object)?;
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        let req = Request { kind: RTM_DELLINK, flags: 0, payload: emit(&msg) };
        self.sock.request(req).map_err(|e| KernelError::io("delete VMAC", object.as_str(), e))?;
        self.indices.clear();
        Ok(())
    }

    /// `ip link set NAME group G` with the group the link has (read first, like keepalived's
    /// cached one).
    fn renotify_link(&mut self, name: &str) -> KResult<()> {
        let op = "renotify link";
        self.link_table()?;
        let index = self.index_of(name, op, name)?;
        let mut group = 0;
        for m in self.dump(RTM_GETLINK, emit(&LinkMessage::default()), "links")? {
            let msg =
                LinkMessage::parse(&m.payload[..]).map_err(|e| KernelError::io("parse", "link", decode_err(e)))?;
            if msg.header.index == index {
                group = group_of(&msg);
            }
        }
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.attributes = vec![LinkAttribute::Group(group)];
        let req = Request { kind: RTM_NEWLINK, flags: 0, payload: emit(&msg) };
        self.sock.request(req).map_err(|e| KernelError::io(op, name, e))
    }
}

impl Routes for Rtnl {
    fn routes(&mut self) -> KResult<Vec<Route>> {
        let links = self.link_table()?;
        Ok(self.route_dump()?.iter().filter_map(|m| default_route(m, &links)).collect())
    }

    fn set_route(&mut self, r: &Route) -> KResult<()> {
        let msg = self.route_msg(r, "set route")?;
        self.route_write(RTM_NEWROUTE, &msg, "set route", r)
    }

    fn del_route(&mut self, r: &Route) -> KResult<()> {
        let msg = self.route_msg(r, "delete route")?;
        self.route_write(RTM_DELROUTE, &msg, "delete route", r)
    }

    fn announced(&mut self) -> KResult<Vec<Announced>> {
        Ok(self.route_dump()?.iter().filter_map(announced_route).collect())
    }

    fn announce(&mut self, r: &Announced) -> KResult<()> {
        let msg = self.announced_msg(r, "announce route")?;
        self.route_write(RTM_NEWROUTE, &msg, "announce route", r)
    }

    fn withdraw(&mut self, r: &Announced) -> KResult<()> {
        let msg = self.announced_msg(r, "withdraw route")?;
        self.route_write(RTM_DELROUTE, &msg, "withdraw route", r)
    }

    fn vrrp_routes(&mut self) -> KResult<Vec<VrrpRoute>> {
        let links = self.link_table()?;
        Ok(self.route_dump()?.iter().filter_map(|m| vrrp_route(m, &links)).collect())
    }

    fn add_vrrp_route(&mut self, r: &VrrpRoute) -> KResult<()> {
        let msg = self.vrrp_route_msg(r, "add vrrp route")?;
        self.route_write(RTM_NEWROUTE, &msg, "add vrrp route", r)
    }

    fn del_vrrp_route(&mut self, r: &VrrpRoute) -> KResult<()> {
        let msg = self.vrrp_route_msg(r, "delete vrrp route")?;
        self.route_write(RTM_DELROUTE, &msg, "delete vrrp route", r)
    }

    /// Rules of both families (one dump with AF_UNSPEC), protocol 77.
    fn vrrp_rules(&mut self) -> KResult<Vec<VrrpRule>> {
        let parts = self.dump(RTM_GETRULE, emit(&RuleMessage::default()), "rules")?;
        let mut out = Vec::new();
        for m in parts {
            let msg =
                RuleMessage::parse(&m.payload[..]).map_err(|e| KernelError::io("parse", "rule", decode_err(e)))?;
            out.extend(vrrp_rule(&msg));
        }
        Ok(out)
    }

    /// Exclusive: the kernel would add a second copy of a rule otherwise; EEXIST is no error.
    fn add_vrrp_rule(&mut self, r: &VrrpRule) -> KResult<()> {
        let req = Request { kind: RTM_NEWRULE, flags: nl::F_CREATE | nl::F_EXCL, payload: emit(&rule_msg(r)) };
        match self.sock.request(req).map_err(|e| KernelError::io("add vrrp rule", r.to_string(), e)) {
            Err(e) if e.is(libc::EEXIST) => Ok(()),
            other => other,
        }
    }

    fn del_vrrp_rule(&mut self, r: &VrrpRule) -> KResult<()> {
        let req = Request { kind: RTM_DELRULE, flags: 0, payload: emit(&rule_msg(r)) };
        self.sock.request(req).map_err(|e| KernelError::io("delete vrrp rule", r.to_string(), e))
    }
}

/// `ip rule add ... proto 77`: selectors, the action, its table in the attribute (tables
/// above 255 need it).
fn rule_msg(r: &VrrpRule) -> RuleMessage {
    let mut msg = RuleMessage::default();
    let h = &mut msg.header;
    h.family = if r.v6 { AddressFamily::Inet6 } else { AddressFamily::Inet };
    h.src_len = r.from.map_or(0, |n| n.prefix_len());
    h.dst_len = r.to.map_or(0, |n| n.prefix_len());
    if r.not {
        h.flags = RuleFlags::Invert;
    }
    let a = &mut msg.attributes;
    a.push(RuleAttribute::Priority(r.priority));
    a.push(RuleAttribute::Protocol(RouteProtocol::from(VRRP_ROUTE_PROTOCOL)));
    a.extend(r.from.map(|n| RuleAttribute::Source(n.addr())));
    a.extend(r.to.map(|n| RuleAttribute::Destination(n.addr())));
    a.extend(r.iif.clone().map(RuleAttribute::Iifname));
    a.extend(r.oif.clone().map(RuleAttribute::Oifname));
    if let Some(m) = r.fwmark {
        a.push(RuleAttribute::FwMark(m.mark));
        a.extend(m.mask.map(RuleAttribute::FwMask));
    }
    rule_options(&mut msg, &r.options);
    let (h, a) = (&mut msg.header, &mut msg.attributes);
    h.action = match r.action {
        RuleAction::Table(t) => {
            h.table = u8::try_from(t).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
            a.push(RuleAttribute::Table(t));
            Action::ToTable
        }
        RuleAction::Blackhole => Action::Blackhole,
        RuleAction::Unreachable => Action::Unreachable,
        RuleAction::Prohibit => Action::Prohibit,
        RuleAction::Goto(p) => {
            a.push(RuleAttribute::Goto(p));
            Action::Goto
        }
        RuleAction::Nop => Action::Nop,
        RuleAction::L3mdev => {
            a.push(RuleAttribute::L3MDev(true));
            Action::ToTable
        }
    };
    msg
}

/// The further selectors (`tos` in the header) and table options of a rule.
fn rule_options(msg: &mut RuleMessage, o: &RuleOptions) {
    msg.header.tos = o.tos.unwrap_or(0);
    let a = &mut msg.attributes;
    a.extend(o.ipproto.map(|p| RuleAttribute::IpProtocol(IpProtocol::from(p))));
    let ports = |(start, end): (u16, u16)| RulePortRange { start, end };
    a.extend(o.sport.map(|p| RuleAttribute::SourcePortRange(ports(p))));
    a.extend(o.dport.map(|p| RuleAttribute::DestinationPortRange(ports(p))));
    a.extend(o.uidrange.map(|(start, end)| RuleAttribute::UidRange(RuleUidRange { start, end })));
    a.extend(o.tunnel_id.map(RuleAttribute::TunId));
    a.extend(o.realms.map(|(source, destination)| RuleAttribute::Realm(RouteRealm { source, destination })));
    a.extend(o.suppress_prefixlength.map(RuleAttribute::SuppressPrefixLen));
    a.extend(o.suppress_ifgroup.map(RuleAttribute::SuppressIfGroup));
}

/// Reads one attribute of the further selectors and table options; false when it is none.
fn rule_option(o: &mut RuleOptions, a: &RuleAttribute) -> bool {
    match a {
        RuleAttribute::IpProtocol(p) => o.ipproto = Some(u8::from(*p)),
        RuleAttribute::SourcePortRange(p) => o.sport = Some((p.start, p.end)),
        RuleAttribute::DestinationPortRange(p) => o.dport = Some((p.start, p.end)),
        RuleAttribute::UidRange(u) => o.uidrange = Some((u.start, u.end)),
        RuleAttribute::TunId(t) => o.tunnel_id = Some(*t),
        RuleAttribute::Realm(r) => o.realms = Some((r.source, r.destination)),
        // The kernel reports -1 (unset) for both suppressors of every rule.
        RuleAttribute::SuppressPrefixLen(n) => o.suppress_prefixlength = Some(*n).filter(|n| *n != u32::MAX),
        RuleAttribute::SuppressIfGroup(g) => o.suppress_ifgroup = Some(*g).filter(|g| *g != u32::MAX),
        _ => return false,
    }
    true
}

/// A VRRP master's rule from a rule dump: protocol 77, an action lbconverge writes. A mask
/// of all ones is no mask (the kernel reports one whenever a mark is set).
fn vrrp_rule(msg: &RuleMessage) -> Option<VrrpRule> {
    let h = &msg.header;
    let mut r = VrrpRule {
        priority: 0,
        v6: h.family == AddressFamily::Inet6,
        not: h.flags.contains(RuleFlags::Invert),
        from: None,
        to: None,
        iif: None,
        oif: None,
        fwmark: None,
        options: RuleOptions { tos: Some(h.tos).filter(|t| *t != 0), ..RuleOptions::default() },
        action: RuleAction::Table(u32::from(h.table)),
    };
    let (mut ours, mut mark, mut mask, mut l3mdev, mut target) = (false, None, None, false, 0);
    for a in &msg.attributes {
        if rule_option(&mut r.options, a) {
            continue;
        }
        match a {
            RuleAttribute::L3MDev(on) => l3mdev = *on,
            RuleAttribute::Goto(p) => target = *p,
            RuleAttribute::Protocol(p) => ours = u8::from(*p) == VRRP_ROUTE_PROTOCOL,
            RuleAttribute::Priority(p) => r.priority = *p,
            RuleAttribute::Source(s) => r.from = IpNet::new(*s, h.src_len).ok(),
            RuleAttribute::Destination(d) => r.to = IpNet::new(*d, h.dst_len).ok(),
            RuleAttribute::Iifname(i) => r.iif = Some(i.clone()),
            RuleAttribute::Oifname(o) => r.oif = Some(o.clone()),
            RuleAttribute::FwMark(m) => mark = Some(*m),
            RuleAttribute::FwMask(m) => mask = Some(*m).filter(|m| *m != u32::MAX),
            RuleAttribute::Table(t) => r.action = RuleAction::Table(*t),
            _ => {}
        }
    }
    r.fwmark = mark.map(|mark| Fwmark { mark, mask });
    r.action = match h.action {
        Action::ToTable if l3mdev => RuleAction::L3mdev,
        Action::ToTable => r.action,
        Action::Blackhole => RuleAction::Blackhole,
        Action::Unreachable => RuleAction::Unreachable,
        Action::Prohibit => RuleAction::Prohibit,
        Action::Goto => RuleAction::Goto(target),
        Action::Nop => RuleAction::Nop,
        _ => return None,
    };
    ours.then_some(r)
}

impl Rtnl {
    /// Every route of every table, like `ip route show table all`.
    fn route_dump(&mut self) -> KResult<Vec<RouteMessage>> {
        let parts = self.dump(RTM_GETROUTE, emit(&RouteMessage::default()), "routes")?;
        parts
            .iter()
            .map(|m| RouteMessage::parse(&m.payload[..]).map_err(|e| KernelError::io("parse", "route", decode_err(e))))
            .collect()
    }

    /// Sends one route change (`NEWROUTE` replaces, `DELROUTE` deletes).
    fn route_write(&mut self, kind: u16, msg: &RouteMessage, op: &str, object: &dyn std::fmt::Display) -> KResult<()> {
        let flags = if kind == RTM_NEWROUTE { nl::F_CREATE | nl::F_REPLACE } else { 0 };
        let req = Request { kind, flags, payload: emit(msg) };
        self.sock.request(req).map_err(|e| KernelError::io(op, object.to_string(), e))
    }
}

/// An announced route from a route dump: lbconverge's protocol, a unicast host route, any
/// table (the local routes of the same protocol are addresses, [`local_route_of`]).
fn announced_route(msg: &RouteMessage) -> Option<Announced> {
    let h = &msg.header;
    if u8::from(h.protocol) != announce::PROTOCOL || h.kind != RouteType::Unicast {
        return None;
    }
    let mut table = u32::from(h.table);
    let mut destination = None;
    for a in &msg.attributes {
        match a {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(d) => destination = route_ip(d),
            _ => {}
        }
    }
    let destination = IpNet::new(destination?, h.destination_prefix_length).ok()?;
    Some(Announced { destination, table })
}

/// An address held as a local route, from a route dump: lbconverge's protocol, type local,
/// table local.
fn local_route_of(msg: &RouteMessage, links: &BTreeMap<u32, (String, Link)>) -> Option<Address> {
    let h = &msg.header;
    if u8::from(h.protocol) != announce::PROTOCOL || h.kind != RouteType::Local {
        return None;
    }
    let mut table = u32::from(h.table);
    let mut destination = None;
    let mut interface = None;
    for a in &msg.attributes {
        match a {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(d) => destination = route_ip(d),
            RouteAttribute::Oif(i) => interface = links.get(i).map(|(n, _)| n.clone()),
            _ => {}
        }
    }
    if table != u32::from(RT_TABLE_LOCAL) {
        return None;
    }
    Some(Address::local_route(interface?, IpNet::new(destination?, h.destination_prefix_length).ok()?))
}

impl Rtnl {
    /// `local A dev I table local proto 76 scope host`: an address held as a local route.
    fn local_route_msg(&mut self, a: &Address, op: &str) -> KResult<RouteMessage> {
        let mut msg = RouteMessage::default();
        let h = &mut msg.header;
        h.address_family = family_of(&a.address.addr());
        h.destination_prefix_length = a.address.prefix_len();
        h.table = RT_TABLE_LOCAL;
        h.protocol = RouteProtocol::from(announce::PROTOCOL);
        h.scope = RouteScope::Host;
        h.kind = RouteType::Local;
        msg.attributes.push(RouteAttribute::Destination(RouteAddress::from(a.address.addr())));
        let index = self.index_of(&a.interface, op, &a.to_string())?;
        msg.attributes.push(RouteAttribute::Oif(index));
        Ok(msg)
    }

    /// `VIP dev lo table T proto 76`: the table in the attribute (tables above 255 need it).
    fn announced_msg(&mut self, r: &Announced, op: &str) -> KResult<RouteMessage> {
        let mut msg = RouteMessage::default();
        let h = &mut msg.header;
        h.address_family = family_of(&r.destination.addr());
        h.destination_prefix_length = r.destination.prefix_len();
        h.table = u8::try_from(r.table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
        h.protocol = RouteProtocol::from(announce::PROTOCOL);
        h.scope = RouteScope::Link;
        h.kind = RouteType::Unicast;
        msg.attributes.push(RouteAttribute::Destination(RouteAddress::from(r.destination.addr())));
        msg.attributes.push(RouteAttribute::Table(r.table));
        let lo = self.index_of("lo", op, &r.to_string())?;
        msg.attributes.push(RouteAttribute::Oif(lo));
        Ok(msg)
    }

    /// A VRRP master's route: its type, table (in the attribute: tables above 255 need it),
    /// protocol 77, scope link without a next hop, `onlink` in the header's flags (as the
    /// kernel reports a single path's), its encapsulation.
    fn vrrp_route_msg(&mut self, r: &VrrpRoute, op: &str) -> KResult<RouteMessage> {
        let mut msg = RouteMessage::default();
        let h = &mut msg.header;
        if r.onlink {
            h.flags = RouteFlags::Onlink;
        }
        h.address_family = family_of(&r.to.addr());
        h.destination_prefix_length = r.to.prefix_len();
        h.table = u8::try_from(r.table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
        h.protocol = RouteProtocol::from(VRRP_ROUTE_PROTOCOL);
        let gateway = r.via.is_some() || r.nexthops.iter().any(|n| n.via.is_some());
        h.scope = match (r.kind, gateway) {
            (RouteKind::Unicast, false) => RouteScope::Link,
            _ => RouteScope::Universe,
        };
        h.kind = match r.kind {
            RouteKind::Unicast => RouteType::Unicast,
            RouteKind::Blackhole => RouteType::BlackHole,
            RouteKind::Unreachable => RouteType::Unreachable,
            RouteKind::Prohibit => RouteType::Prohibit,
        };
        if r.to.prefix_len() > 0 {
            msg.attributes.push(RouteAttribute::Destination(RouteAddress::from(r.to.addr())));
        }
        msg.attributes.push(RouteAttribute::Table(r.table));
        if let Some(v) = r.via {
            msg.attributes.push(RouteAttribute::Gateway(RouteAddress::from(v)));
        }
        if let Some(d) = &r.dev {
            let index = self.index_of(d, op, &r.to_string())?;
            msg.attributes.push(RouteAttribute::Oif(index));
        }
        if let Some(src) = r.src {
            msg.attributes.push(RouteAttribute::PrefSource(RouteAddress::from(src)));
        }
        if let Some(m) = r.metric {
            msg.attributes.push(RouteAttribute::Priority(m));
        }
        msg.attributes.extend(r.encap.iter().flat_map(lwtunnel::attributes));
        if !r.nexthops.is_empty() {
            let hops = r.nexthops.iter().map(|n| self.next_hop(n, op, r)).collect::<KResult<Vec<_>>>()?;
            msg.attributes.push(RouteAttribute::MultiPath(hops));
        }
        Ok(msg)
    }

    /// One path of a multipath route: the kernel's `hops` is the weight less one; `onlink`
    /// in its flags; its encapsulation among its attributes.
    fn next_hop(&mut self, n: &NextHop, op: &str, r: &VrrpRoute) -> KResult<RouteNextHop> {
        let mut hop = RouteNextHop::default();
        hop.hops = u8::try_from(n.weight.saturating_sub(1)).unwrap_or(u8::MAX);
        if n.onlink {
            hop.flags = RouteNextHopFlags::Onlink;
        }
        hop.attributes.extend(n.encap.iter().flat_map(lwtunnel::attributes));
        if let Some(d) = &n.dev {
            hop.interface_index = self.index_of(d, op, &r.to_string())?;
        }
        hop.attributes.extend(n.via.map(|v| RouteAttribute::Gateway(RouteAddress::from(v))));
        Ok(hop)
    }

    fn route_msg(&mut self, r: &Route, op: &str) -> KResult<RouteMessage> {
        let mut msg = RouteMessage::default();
        let h = &mut msg.header;
        h.address_family = family_of(&r.gateway);
        h.destination_prefix_length = r.destination.prefix_len();
        h.table = RouteHeader::RT_TABLE_MAIN;
        h.protocol = RouteProtocol::Boot;
        h.scope = RouteScope::Universe;
        h.kind = RouteType::Unicast;
        if r.destination.prefix_len() > 0 {
            msg.attributes.push(RouteAttribute::Destination(RouteAddress::from(r.destination.addr())));
        }
        msg.attributes.push(RouteAttribute::Gateway(RouteAddress::from(r.gateway)));
        if let Some(i) = &r.interface {
            let index = self.index_of(i, op, &r.to_string())?;
            msg.attributes.push(RouteAttribute::Oif(index));
        }
        Ok(msg)
    }
}

/// `ip addr add|del`: the address as `IFA_LOCAL`, its peer (or itself) as `IFA_ADDRESS`;
/// an add also carries the broadcast, label, flags (IPv6: `nodad` unless DAD is asked for)
/// and the IPv6 preferred lifetime (`IFA_CACHEINFO`, valid forever).
fn address_msg(a: &Address, index: u32, adding: bool) -> AddressMessage {
    let ip = a.address.addr();
    let mut msg = AddressMessage::default();
    msg.header.family = family_of(&ip);
    msg.header.prefix_len = a.address.prefix_len();
    msg.header.index = index;
    msg.header.scope = AddressScope::from(a.scope.unwrap_or(0));
    msg.attributes.push(AddressAttribute::Local(ip));
    msg.attributes.push(AddressAttribute::Address(a.options.peer.unwrap_or(ip)));
    if !adding {
        return msg;
    }
    if let Some(b) = a.broadcast {
        msg.attributes.push(AddressAttribute::Broadcast(b));
    }
    if let (Some(l), false) = (&a.label, ip.is_ipv6()) {
        msg.attributes.push(AddressAttribute::Label(l.clone()));
    }
    let mut flags = a.options.flags;
    if ip.is_ipv6() && !a.options.dad {
        flags |= IFA_F_NODAD;
    }
    if flags != 0 {
        // The header keeps the low byte (kernels before IFA_FLAGS read only it).
        msg.header.flags = AddressHeaderFlags::from_bits_retain(u8::try_from(flags & 0xff).unwrap_or(0));
        msg.attributes.push(AddressAttribute::Flags(AddressFlags::from_bits_retain(flags)));
    }
    if let (Some(p), true) = (a.options.preferred_lft, ip.is_ipv6()) {
        let mut info = CacheInfo::default();
        info.ifa_preferred = p;
        info.ifa_valid = FOREVER;
        msg.attributes.push(AddressAttribute::CacheInfo(info));
    }
    msg
}

/// A lifetime of all ones: forever.
const FOREVER: u32 = u32::MAX;

/// A private macvlan's parent index and hardware address.
/// The request that makes `v` on the interface of index `parent`: a private macvlan with
/// the VRRP MAC, or an L2 ipvlan with its mode flag (as keepalived's `use_ipvlan` makes it).
fn new_vmac(v: &Vmac, parent: u32) -> LinkMessage {
    let mut msg = LinkMessage::default();
    let info = match v.ipvlan {
        None => vec![
            LinkInfo::Kind(InfoKind::MacVlan),
            LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(MacVlanMode::Private)])),
        ],
        Some(mode) => vec![
            LinkInfo::Kind(InfoKind::IpVlan),
            LinkInfo::Data(InfoData::IpVlan(vec![
                InfoIpVlan::Mode(IpVlanMode::L2),
                InfoIpVlan::Flags(ipvlan_flags(mode)),
            ])),
        ],
    };
    msg.attributes = vec![LinkAttribute::IfName(v.name.clone()), LinkAttribute::Link(parent)];
    if v.ipvlan.is_none() {
        msg.attributes.push(LinkAttribute::Address(v.mac().to_vec()));
    }
    msg.attributes.push(LinkAttribute::LinkInfo(info));
    msg.attributes.extend(v.group.map(LinkAttribute::Group));
    msg
}

fn ipvlan_flags(mode: IpvlanMode) -> IpVlanFlags {
    match mode {
        IpvlanMode::Bridge => IpVlanFlags::empty(),
        IpvlanMode::Private => IpVlanFlags::Private,
        IpvlanMode::Vepa => IpVlanFlags::Vepa,
    }
}

/// The parent and mode flag of an L2 ipvlan (the kind keepalived's `use_ipvlan` makes).
fn l2_ipvlan(msg: &LinkMessage) -> Option<(u32, IpvlanMode)> {
    let info = msg.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(i) => Some(i),
        _ => None,
    })?;
    if !info.iter().any(|i| matches!(i, LinkInfo::Kind(InfoKind::IpVlan))) {
        return None;
    }
    let data = info.iter().find_map(|i| match i {
        LinkInfo::Data(InfoData::IpVlan(d)) => Some(d),
        _ => None,
    })?;
    if !data.iter().any(|d| matches!(d, InfoIpVlan::Mode(IpVlanMode::L2))) {
        return None;
    }
    let flags = data.iter().find_map(|d| match d {
        InfoIpVlan::Flags(f) => Some(*f),
        _ => None,
    });
    let mode = match flags.unwrap_or_else(IpVlanFlags::empty) {
        f if f.contains(IpVlanFlags::Private) => IpvlanMode::Private,
        f if f.contains(IpVlanFlags::Vepa) => IpvlanMode::Vepa,
        _ => IpvlanMode::Bridge,
    };
    let parent = msg.attributes.iter().find_map(|a| match a {
        LinkAttribute::Link(p) => Some(*p),
        _ => None,
    })?;
    Some((parent, mode))
}

fn group_of(msg: &LinkMessage) -> u32 {
    msg.attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::Group(g) => Some(*g),
            _ => None,
        })
        .unwrap_or(0)
}

fn private_macvlan(msg: &LinkMessage) -> Option<(u32, Vec<u8>)> {
    let info = msg.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(i) => Some(i),
        _ => None,
    })?;
    let private = info.iter().any(|i| {
        matches!(i, LinkInfo::Data(InfoData::MacVlan(d)) if d.iter().any(|m| matches!(m, InfoMacVlan::Mode(MacVlanMode::Private))))
    });
    let macvlan = info.iter().any(|i| matches!(i, LinkInfo::Kind(InfoKind::MacVlan)));
    if !(private && macvlan) {
        return None;
    }
    let mut parent = None;
    let mut mac = None;
    for a in &msg.attributes {
        match a {
            LinkAttribute::Link(p) => parent = Some(*p),
            LinkAttribute::Address(m) => mac = Some(m.clone()),
            _ => {}
        }
    }
    Some((parent?, mac?))
}

fn address_of(msg: &AddressMessage, links: &BTreeMap<u32, (String, Link)>) -> Option<Address> {
    let (iface, _) = links.get(&msg.header.index)?;
    let (mut local, mut address, mut label, mut flags, mut preferred) = (None, None, None, 0, FOREVER);
    for a in &msg.attributes {
        match a {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            AddressAttribute::Label(l) => label = Some(l.clone()),
            AddressAttribute::Flags(f) => flags = f.bits(),
            AddressAttribute::CacheInfo(c) => preferred = c.ifa_preferred,
            _ => {}
        }
    }
    let ip = local.or(address)?;
    let net = IpNet::new(ip, msg.header.prefix_len).ok()?;
    let label = label.filter(|l| l != iface);
    let options = AddrOptions {
        peer: address.filter(|p| local.is_some() && *p != ip),
        flags: ADDR_FLAGS.iter().fold(0, |acc, (_, bit)| acc | (flags & bit)),
        // Only what lbconverge writes is read: DAD is a past event, not a setting.
        dad: false,
        preferred_lft: Some(preferred).filter(|p| *p != FOREVER && ip.is_ipv6()),
    };
    Some(Address { options, ..Address::labelled(iface.clone(), net, label) })
}

/// A VRRP master's route from a route dump: protocol 77, any table.
fn vrrp_route(msg: &RouteMessage, links: &BTreeMap<u32, (String, Link)>) -> Option<VrrpRoute> {
    let h = &msg.header;
    if u8::from(h.protocol) != VRRP_ROUTE_PROTOCOL {
        return None;
    }
    let kind = match h.kind {
        RouteType::Unicast => RouteKind::Unicast,
        RouteType::BlackHole => RouteKind::Blackhole,
        RouteType::Unreachable => RouteKind::Unreachable,
        RouteType::Prohibit => RouteKind::Prohibit,
        _ => return None,
    };
    let (mut table, mut to, mut via, mut dev, mut src, mut metric) = (u32::from(h.table), None, None, None, None, None);
    let mut nexthops = Vec::new();
    for a in &msg.attributes {
        match a {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(d) => to = route_ip(d),
            RouteAttribute::Gateway(g) => via = route_ip(g),
            RouteAttribute::Oif(i) => dev = links.get(i).map(|(n, _)| n.clone()),
            RouteAttribute::PrefSource(s) => src = route_ip(s),
            RouteAttribute::Priority(p) => metric = Some(*p),
            RouteAttribute::MultiPath(hops) => {
                nexthops = hops.iter().map(|n| next_hop_of(n, links)).collect::<Option<Vec<_>>>()?;
            }
            _ => {}
        }
    }
    nexthops.sort();
    let encap = lwtunnel::of(&msg.attributes)?;
    let onlink = nexthops.is_empty() && h.flags.contains(RouteFlags::Onlink);
    let unspecified = if h.address_family == AddressFamily::Inet6 {
        IpAddr::from(std::net::Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::from(std::net::Ipv4Addr::UNSPECIFIED)
    };
    let to = IpNet::new(to.unwrap_or(unspecified), h.destination_prefix_length).ok()?;
    let metric = route_metric(&to, metric);
    Some(VrrpRoute { to, kind, via, dev, src, table, metric, nexthops, onlink, encap })
}

/// One path of a multipath route from a dump (none with an encapsulation lbconverge does
/// not write).
fn next_hop_of(n: &RouteNextHop, links: &BTreeMap<u32, (String, Link)>) -> Option<NextHop> {
    let via = n.attributes.iter().find_map(|a| match a {
        RouteAttribute::Gateway(g) => route_ip(g),
        _ => None,
    });
    let dev = links.get(&n.interface_index).map(|(d, _)| d.clone());
    let (onlink, encap) = (n.flags.contains(RouteNextHopFlags::Onlink), lwtunnel::of(&n.attributes)?);
    Some(NextHop { via, dev, weight: u16::from(n.hops) + 1, onlink, encap })
}

fn route_ip(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn default_route(msg: &RouteMessage, links: &BTreeMap<u32, (String, Link)>) -> Option<Route> {
    let h = &msg.header;
    let table = msg.attributes.iter().find_map(|a| match a {
        RouteAttribute::Table(t) => Some(*t),
        _ => None,
    });
    let main = u32::from(RouteHeader::RT_TABLE_MAIN);
    if h.destination_prefix_length != 0 || h.kind != RouteType::Unicast || table.unwrap_or(u32::from(h.table)) != main {
        return None;
    }
    let mut gateway = None;
    let mut oif = None;
    for a in &msg.attributes {
        match a {
            RouteAttribute::Gateway(g) => gateway = route_ip(g),
            RouteAttribute::Oif(i) => oif = links.get(i).map(|(n, _)| n.clone()),
            _ => {}
        }
    }
    let gateway = gateway?;
    let destination = match gateway {
        IpAddr::V4(_) => IpNet::V4(ipnet::Ipv4Net::default()),
        IpAddr::V6(_) => IpNet::V6(ipnet::Ipv6Net::default()),
    };
    Some(Route { destination, gateway, interface: oif })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request as the kernel reads it back: `ip link add` of an L2 ipvlan with the mode flag.
    #[test]
    fn an_ipvlan_request_reads_back_as_the_ipvlan_it_makes() {
        for mode in [IpvlanMode::Bridge, IpvlanMode::Private, IpvlanMode::Vepa] {
            let v = Vmac::ipvlan("ipv.1", "eth0", mode);
            let bytes = emit(&new_vmac(&v, 7));
            let back = LinkMessage::parse(&bytes[..]).unwrap();
            assert_eq!(l2_ipvlan(&back), Some((7, mode)), "{mode:?}");
            assert_eq!(private_macvlan(&back), None, "no macvlan");
            let mac = back.attributes.iter().any(|a| matches!(a, LinkAttribute::Address(_)));
            assert!(!mac, "the parent's MAC: none given");
        }
        let macvlan = Vmac::from_mac("vrrp.51", "eth0", &[0, 0, 0x5e, 0, 1, 51]).unwrap();
        let bytes = emit(&new_vmac(&macvlan, 7));
        let back = LinkMessage::parse(&bytes[..]).unwrap();
        assert_eq!(private_macvlan(&back), Some((7, macvlan.mac().to_vec())));
        assert_eq!(l2_ipvlan(&back), None);
    }
}
