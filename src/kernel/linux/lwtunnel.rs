//! A route's lightweight tunnel encapsulation over rtnetlink, like `ip route ... encap`:
//! `RTA_ENCAP` nesting the type's attributes (linux/mpls_iptunnel.h, linux/lwtunnel.h)
//! beside `RTA_ENCAP_TYPE`, on a route or inside one path of `RTA_MULTIPATH`; and back from
//! a dump, where the kernel reports every tunnel attribute, 0 for one not set.

use std::net::IpAddr;

use netlink_packet_core::{Emitable, NlaBuffer, ParseableParametrized};
use netlink_packet_route::route::{
    MplsLabel, RouteAttribute, RouteIp6Tunnel, RouteIpTunnel, RouteLwEnCapType, RouteLwTunnelEncap, RouteMplsIpTunnel,
};

use crate::model::net::{Encap, TunnelEncap};

/// `RTA_ENCAP` and `RTA_ENCAP_TYPE` for an encapsulation.
pub fn attributes(e: &Encap) -> [RouteAttribute; 2] {
    let (kind, nested) = match e {
        Encap::Mpls(labels) => (RouteLwEnCapType::Mpls, vec![RouteLwTunnelEncap::Mpls(mpls(labels))]),
        Encap::Ip(t) => (RouteLwEnCapType::Ip, ip(t).into_iter().map(RouteLwTunnelEncap::Ip).collect()),
        Encap::Ip6(t) => (RouteLwEnCapType::Ip6, ip6(t).into_iter().map(RouteLwTunnelEncap::Ip6).collect()),
    };
    [RouteAttribute::Encap(nested), RouteAttribute::EncapType(kind)]
}

/// `MPLS_IPTUNNEL_DST`: the stack as iproute2 writes it, bottom of stack on the last.
fn mpls(labels: &[u32]) -> RouteMplsIpTunnel {
    let last = labels.len().saturating_sub(1);
    let stack = labels
        .iter()
        .enumerate()
        .map(|(n, l)| MplsLabel { label: *l, traffic_class: 0, bottom_of_stack: n == last, ttl: 0 })
        .collect();
    RouteMplsIpTunnel::Destination(stack)
}

fn ip(t: &TunnelEncap) -> Vec<RouteIpTunnel> {
    let v4 = |a: Option<IpAddr>| match a {
        Some(IpAddr::V4(a)) => Some(a),
        _ => None,
    };
    let mut out: Vec<RouteIpTunnel> = t.id.map(RouteIpTunnel::Id).into_iter().collect();
    out.extend(v4(t.dst).map(RouteIpTunnel::Destination));
    out.extend(v4(t.src).map(RouteIpTunnel::Source));
    out.extend(t.tos.map(RouteIpTunnel::Tos));
    out.extend(t.ttl.map(RouteIpTunnel::Ttl));
    out
}

fn ip6(t: &TunnelEncap) -> Vec<RouteIp6Tunnel> {
    let v6 = |a: Option<IpAddr>| match a {
        Some(IpAddr::V6(a)) => Some(a),
        _ => None,
    };
    let mut out: Vec<RouteIp6Tunnel> = t.id.map(RouteIp6Tunnel::Id).into_iter().collect();
    out.extend(v6(t.dst).map(RouteIp6Tunnel::Destination));
    out.extend(v6(t.src).map(RouteIp6Tunnel::Source));
    out.extend(t.tos.map(RouteIp6Tunnel::Tc));
    out.extend(t.ttl.map(RouteIp6Tunnel::Hoplimit));
    out
}

/// The encapsulation among a route's (or a path's) attributes: none when there is none,
/// or when it is of a type lbconverge does not write (then it is not the route written).
pub fn of(attributes: &[RouteAttribute]) -> Option<Option<Encap>> {
    let nested = attributes.iter().find_map(|a| match a {
        RouteAttribute::Encap(n) => Some(n),
        _ => None,
    });
    let Some(nested) = nested else { return Some(None) };
    let kind = attributes.iter().find_map(|a| match a {
        RouteAttribute::EncapType(k) => Some(*k),
        _ => None,
    });
    let nested = nested.iter().map(|p| typed(p, kind)).collect::<Option<Vec<_>>>()?;
    let mut labels = None;
    let (mut t, mut kind) = (TunnelEncap::default(), None);
    let nonzero = |n: u8| Some(n).filter(|n| *n != 0);
    for part in &nested {
        match part {
            RouteLwTunnelEncap::Mpls(RouteMplsIpTunnel::Destination(stack)) => {
                labels = Some(stack.iter().map(|l| l.label).collect());
            }
            RouteLwTunnelEncap::Ip(a) => {
                kind = Some(false);
                match a {
                    RouteIpTunnel::Id(id) => t.id = Some(*id).filter(|id| *id != 0),
                    RouteIpTunnel::Destination(d) => t.dst = Some(IpAddr::V4(*d)).filter(|a| !a.is_unspecified()),
                    RouteIpTunnel::Source(s) => t.src = Some(IpAddr::V4(*s)).filter(|a| !a.is_unspecified()),
                    RouteIpTunnel::Tos(n) => t.tos = nonzero(*n),
                    RouteIpTunnel::Ttl(n) => t.ttl = nonzero(*n),
                    _ => {}
                }
            }
            RouteLwTunnelEncap::Ip6(a) => {
                kind = Some(true);
                match a {
                    RouteIp6Tunnel::Id(id) => t.id = Some(*id).filter(|id| *id != 0),
                    RouteIp6Tunnel::Destination(d) => t.dst = Some(IpAddr::V6(*d)).filter(|a| !a.is_unspecified()),
                    RouteIp6Tunnel::Source(s) => t.src = Some(IpAddr::V6(*s)).filter(|a| !a.is_unspecified()),
                    RouteIp6Tunnel::Tc(n) => t.tos = nonzero(*n),
                    RouteIp6Tunnel::Hoplimit(n) => t.ttl = nonzero(*n),
                    _ => {}
                }
            }
            _ => return None,
        }
    }
    match (labels, kind) {
        (Some(l), None) => Some(Some(Encap::Mpls(l))),
        (None, Some(false)) => Some(Some(Encap::Ip(t))),
        (None, Some(true)) => Some(Some(Encap::Ip6(t))),
        _ => None,
    }
}

/// A part as its type reads it. netlink-packet-route parses the parts inside a path of
/// `RTA_MULTIPATH` by the route's own encapsulation type, which a multipath route does not
/// have: they come as raw attributes, read again here by the path's `RTA_ENCAP_TYPE`.
fn typed(part: &RouteLwTunnelEncap, kind: Option<RouteLwEnCapType>) -> Option<RouteLwTunnelEncap> {
    let (RouteLwTunnelEncap::Other(raw), Some(kind)) = (part, kind) else { return Some(part.clone()) };
    let mut buf = vec![0u8; raw.buffer_len()];
    raw.emit(&mut buf);
    RouteLwTunnelEncap::parse_with_param(&NlaBuffer::new_checked(&buf[..]).ok()?, kind).ok()
}

#[cfg(test)]
mod tests {
    use netlink_packet_core::Parseable;
    use netlink_packet_route::AddressFamily;
    use netlink_packet_route::route::{RouteMessage, RouteNextHop, RouteType};

    use super::*;

    fn wire(a: &RouteAttribute) -> Vec<u8> {
        let mut buf = vec![0u8; a.buffer_len()];
        a.emit(&mut buf);
        buf
    }

    /// What the kernel reads, byte for byte as iproute2 sends `encap mpls 200/300`:
    /// RTA_ENCAP (22) nesting MPLS_IPTUNNEL_DST (1) with two big-endian label entries, the
    /// second with the bottom-of-stack bit, and RTA_ENCAP_TYPE (21) = LWTUNNEL_ENCAP_MPLS (1).
    #[test]
    fn an_mpls_stack_is_sent_as_iproute2_sends_it_and_read_back() {
        let [encap, kind] = attributes(&Encap::Mpls(vec![200, 300]));
        let label = |l: u32, bos: u32| ((l << 12) | (bos << 8)).to_be_bytes();
        let mut nested = vec![12, 0, 1, 0];
        nested.extend(label(200, 0));
        nested.extend(label(300, 1));
        let mut want = vec![16, 0, 22, 0];
        want.extend(&nested);
        assert_eq!(wire(&encap), want);
        assert_eq!(wire(&kind), [6, 0, 21, 0, 1, 0, 0, 0]);
        let param = (AddressFamily::Inet, RouteType::Unicast, RouteLwEnCapType::Mpls);
        let back = RouteAttribute::parse_with_param(&NlaBuffer::new(&want[..]), param).unwrap();
        assert_eq!(of(&[back, kind]), Some(Some(Encap::Mpls(vec![200, 300]))));
    }

    /// LWTUNNEL_IP_ID (1) is big-endian, like the kernel's `be64` tunnel id.
    #[test]
    fn tunnel_metadata_round_trips_and_the_kernels_zeros_are_none() {
        let t =
            TunnelEncap { id: Some(7), dst: Some("10.9.0.50".parse().unwrap()), ttl: Some(64), ..Default::default() };
        let [encap, _] = attributes(&Encap::Ip(t));
        let bytes = wire(&encap);
        assert_eq!(&bytes[4..16], [12, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 7]);
        let zeros = RouteAttribute::Encap(vec![
            RouteLwTunnelEncap::Ip(RouteIpTunnel::Id(7)),
            RouteLwTunnelEncap::Ip(RouteIpTunnel::Destination("10.9.0.50".parse().unwrap())),
            RouteLwTunnelEncap::Ip(RouteIpTunnel::Source(std::net::Ipv4Addr::UNSPECIFIED)),
            RouteLwTunnelEncap::Ip(RouteIpTunnel::Tos(0)),
            RouteLwTunnelEncap::Ip(RouteIpTunnel::Ttl(64)),
        ]);
        assert_eq!(of(&[zeros]), Some(Some(Encap::Ip(t))));
        assert_eq!(of(&[]), Some(None));
    }

    /// A path's encapsulation inside a multipath route, as the kernel dumps it, reads back.
    #[test]
    fn a_paths_encapsulation_in_a_multipath_route_reads_back() {
        let t = TunnelEncap { id: Some(9), dst: Some("fd00:9::50".parse().unwrap()), ..Default::default() };
        let mut hop = RouteNextHop::default();
        hop.attributes.extend(attributes(&Encap::Ip6(t)));
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet;
        msg.attributes.push(RouteAttribute::MultiPath(vec![hop]));
        let mut buf = vec![0u8; msg.buffer_len()];
        msg.emit(&mut buf);
        let back = RouteMessage::parse(&buf[..]).unwrap();
        let hops = back.attributes.iter().find_map(|a| match a {
            RouteAttribute::MultiPath(h) => Some(h.clone()),
            _ => None,
        });
        assert_eq!(of(&hops.unwrap()[0].attributes), Some(Some(Encap::Ip6(t))));
    }
}
