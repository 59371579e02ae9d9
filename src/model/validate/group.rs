//! Server groups (`group:`, keepalived's `virtual_server_group`): each entry's VIPs (one
//! address, a range or a network) on each of its ports, and its marks, expanded into the
//! IPVS services of one virtual service, in manifest order, within a bound.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::family::Family;
use crate::manifest::KeyPath;
use crate::manifest::types::{self, GroupEntry, PortSpec};
use crate::model::ipvs::{self, Protocol, ServiceKey};

use super::Cx;

/// The most IPVS services one group expands to: a /24 on four ports fits; more is a
/// firewall mark's job (one IPVS service whatever the addresses).
pub const MAX_GROUP_SERVICES: u128 = 1024;

/// A group's IPVS services, each with the index of the entry it comes from, and the VIPs
/// of its address entries.
pub(super) struct Expanded {
    /// Every IPVS service with its entry's index, in manifest order.
    pub keys: Vec<(ServiceKey, usize)>,
    /// The addresses of the address entries, each once, in order.
    pub vips: Vec<IpAddr>,
}

/// One entry, parsed: a range of addresses on a range of ports, or a mark.
enum Member {
    Addrs { first: IpAddr, count: u128, ports: (u16, u16) },
    Mark { mark: u32, family: Option<Family> },
}

impl Member {
    fn count(&self) -> u128 {
        match self {
            Member::Addrs { count, ports: (lo, hi), .. } => count.saturating_mul(u128::from(hi - lo) + 1),
            Member::Mark { .. } => 1,
        }
    }
}

/// Expands the group at `at` (`services.NAME.group`), recording every problem; None when
/// one is fatal to the whole group.
pub(super) fn expand(cx: &mut Cx, at: &KeyPath, entries: &[GroupEntry], protocol: Protocol) -> Option<Expanded> {
    let parsed: Vec<Option<Member>> = entries.iter().enumerate().map(|(i, e)| entry(cx, &at.index(i), e)).collect();
    let members: Vec<(usize, Member)> = parsed.into_iter().enumerate().filter_map(|(i, m)| Some((i, m?))).collect();
    if members.len() != entries.len() {
        return None;
    }
    let total = members.iter().fold(0u128, |sum, (_, m)| sum.saturating_add(m.count()));
    if total > MAX_GROUP_SERVICES {
        cx.error(
            at,
            format!("the group expands to {total} IPVS services, more than {MAX_GROUP_SERVICES}"),
            Some(
                "split it over several services, or select the traffic with one firewall mark (`fwmark` with `match`)",
            ),
        );
        return None;
    }
    let addr_family = members.iter().find_map(|(_, m)| match m {
        Member::Addrs { first, .. } => Some(Family::of(first)),
        Member::Mark { .. } => None,
    });
    let mixed =
        members.iter().any(|(_, m)| matches!(m, Member::Addrs { first, .. } if Some(Family::of(first)) != addr_family));
    let mut out = Expanded { keys: Vec::new(), vips: Vec::new() };
    for (i, m) in &members {
        match m {
            Member::Addrs { first, count, ports } => addrs(&mut out, *i, *first, *count, *ports, protocol),
            Member::Mark { mark, family } => {
                if mixed && family.is_none() {
                    cx.error(
                        &at.index(*i).key("family"),
                        "the group has IPv4 and IPv6 VIPs, so its mark needs a `family`",
                        Some("add `family: ipv4` or `family: ipv6`"),
                    );
                }
                let family = family.or(addr_family).unwrap_or(Family::Ipv4);
                out.keys.push((ServiceKey::Fwmark { family, mark: *mark }, *i));
            }
        }
    }
    repeats(cx, at, &out.keys);
    Some(out)
}

fn addrs(out: &mut Expanded, i: usize, first: IpAddr, count: u128, (lo, hi): (u16, u16), protocol: Protocol) {
    let mut vips = Vec::new();
    for n in 0..count {
        let Some(addr) = nth(first, n) else { break };
        if !out.vips.contains(&addr) {
            out.vips.push(addr);
        }
        vips.push(addr);
    }
    for addr in vips {
        for port in lo..=hi {
            out.keys.push((ServiceKey::Addr { protocol, addr, port }, i));
        }
    }
}

/// The address `n` after `first`, if there is one.
fn nth(first: IpAddr, n: u128) -> Option<IpAddr> {
    match first {
        IpAddr::V4(a) => {
            let n = u32::try_from(n).ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(u32::from(a).checked_add(n)?)))
        }
        IpAddr::V6(a) => Some(IpAddr::V6(Ipv6Addr::from(u128::from(a).checked_add(n)?))),
    }
}

/// An IPVS service listed twice (overlapping ranges): an error at the later entry.
fn repeats(cx: &mut Cx, at: &KeyPath, keys: &[(ServiceKey, usize)]) {
    let mut seen: BTreeMap<ServiceKey, usize> = BTreeMap::new();
    for (key, i) in keys {
        match seen.get(key) {
            Some(first) => {
                let msg = format!("entry {i} repeats {key} of entry {first}");
                cx.error(&at.index(*i), msg, Some("the entries of a group must not overlap"));
            }
            None => {
                seen.insert(*key, *i);
            }
        }
    }
}

fn entry(cx: &mut Cx, at: &KeyPath, e: &GroupEntry) -> Option<Member> {
    match (&e.vip, e.fwmark) {
        (Some(_), Some(_)) => {
            cx.error(at, "a group entry has a `vip` (with `port`) or a `fwmark`, not both", None);
            None
        }
        (None, None) => {
            cx.error(at, "a group entry needs a `vip` with `port`, or a `fwmark`", None);
            None
        }
        (Some(vip), None) => addr_entry(cx, at, e, vip),
        (None, Some(mark)) => mark_entry(cx, at, e, mark),
    }
}

fn addr_entry(cx: &mut Cx, at: &KeyPath, e: &GroupEntry, vip: &str) -> Option<Member> {
    if e.family.is_some() {
        cx.error(&at.key("family"), "`family` belongs to a mark entry; a VIP says its own", Some("remove it"));
    }
    let range = range(vip).map_err(|(msg, hint)| cx.error(&at.key("vip"), msg, hint.as_deref()));
    let ports = match &e.port {
        None => {
            let hint = "every VIP of a group needs its port: `port: 80` or a range `port: \"8000-8009\"`";
            cx.error(at, "missing required key `port`", Some(hint));
            return None;
        }
        Some(p) => port(p).map_err(|msg| cx.error(&at.key("port"), msg, None)),
    };
    let ((first, count), ports) = (range.ok()?, ports.ok()?);
    Some(Member::Addrs { first, count, ports })
}

fn mark_entry(cx: &mut Cx, at: &KeyPath, e: &GroupEntry, mark: u64) -> Option<Member> {
    if e.port.is_some() {
        cx.error(&at.key("port"), "a mark entry has no `port`", Some("the mark selects the traffic; remove `port`"));
    }
    let mark = u32::try_from(mark).ok()?;
    if ipvs::PROBE_MARKS.contains(&mark) {
        let msg = format!(
            "marks {} to {} are lbconverge's own (data-path health checks)",
            ipvs::PROBE_MARKS.start(),
            ipvs::PROBE_MARKS.end()
        );
        cx.error(&at.key("fwmark"), msg, Some("use another mark"));
        return None;
    }
    Some(Member::Mark { mark, family: e.family })
}

fn port(p: &PortSpec) -> Result<(u16, u16), String> {
    let (lo, hi) = match p {
        PortSpec::Port(n) => {
            let n = u16::try_from(*n).map_err(|_| format!("port {n} is not from 1 to 65535"))?;
            (n, n)
        }
        PortSpec::Range(t) => crate::model::firewall::parse_port_range(t)?,
    };
    if lo == 0 {
        return Err("port 0 is not a virtual port; use ports from 1 to 65535".into());
    }
    Ok((lo, hi))
}

type RangeError = (String, Option<String>);

/// A VIP, a range (`A-LAST`, the last octet or IPv6 group; `A-B`) or a network (`A/N`):
/// its first address and how many.
pub fn range(text: &str) -> Result<(IpAddr, u128), RangeError> {
    let plain = |m: String| (m, None);
    if let Some((addr, len)) = text.split_once('/') {
        return network(text, addr, len).map_err(plain);
    }
    let Some((a, b)) = text.split_once('-') else {
        let addr: IpAddr = text.parse().map_err(|_| plain(format!("`{text}` is not an IP address")))?;
        return Ok((addr, 1));
    };
    let start: IpAddr = a.parse().map_err(|_| plain(format!("`{a}` in `{text}` is not an IP address")))?;
    let full = match start {
        IpAddr::V4(_) => b.contains('.'),
        IpAddr::V6(_) => b.contains(':'),
    };
    let end = if full { full_end(text, start, b).map_err(plain)? } else { short_end(text, start, b)? };
    let count = bits(end).checked_sub(bits(start)).map(|d| d + 1);
    count
        .map(|c| (start, c))
        .ok_or_else(|| plain(format!("`{text}` runs backwards: its end {end} is below its start {start}")))
}

fn bits(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    }
}

fn full_end(text: &str, start: IpAddr, b: &str) -> Result<IpAddr, String> {
    let end: IpAddr = b.parse().map_err(|_| format!("`{b}` in `{text}` is not an IP address"))?;
    if Family::of(&end) != Family::of(&start) {
        return Err(format!("`{text}` starts and ends in different address families"));
    }
    Ok(end)
}

/// keepalived's short form: the end replaces the last octet (decimal, up to 255) or the
/// last IPv6 group (hex, up to ffff).
fn short_end(text: &str, start: IpAddr, b: &str) -> Result<IpAddr, RangeError> {
    let bad = || (format!("`{b}` in `{text}` is not the range's last octet (or IPv6 group)"), None);
    match start {
        IpAddr::V4(a) => {
            let last: u32 = b.parse().map_err(|_| bad())?;
            let Ok(last) = u8::try_from(last) else {
                let [x, y, z, _] = a.octets();
                let msg =
                    format!("`{text}` crosses the last octet: the short form `A-N` ends at most at {x}.{y}.{z}.255");
                let hint = format!(
                    "write the end in full, like `{a}-{}`",
                    Ipv4Addr::from(u32::from(a).saturating_add(last - u32::from(a.octets()[3])))
                );
                return Err((msg, Some(hint)));
            };
            let [x, y, z, _] = a.octets();
            Ok(IpAddr::V4(Ipv4Addr::new(x, y, z, last)))
        }
        IpAddr::V6(a) => {
            let last = u16::from_str_radix(b, 16).map_err(|_| bad())?;
            let mut seg = a.segments();
            seg[7] = last;
            Ok(IpAddr::V6(Ipv6Addr::from(seg)))
        }
    }
}

fn network(text: &str, addr: &str, len: &str) -> Result<(IpAddr, u128), String> {
    let addr: IpAddr = addr.parse().map_err(|_| format!("`{text}` is not an IP network like 10.0.0.8/29"))?;
    let len: u8 = len.parse().map_err(|_| format!("`{text}` is not an IP network like 10.0.0.8/29"))?;
    let net = ipnet::IpNet::new(addr, len).map_err(|_| format!("`{text}` has a prefix longer than its address"))?;
    if net.trunc().addr() != addr {
        return Err(format!("`{text}` has host bits set; the network is {}", net.trunc()));
    }
    let count = bits(net.broadcast()) - bits(net.network()) + 1;
    Ok((addr, count))
}

/// The protocol of the group's address entries; a group of marks alone has none.
pub(super) fn protocol(cx: &mut Cx, path: &KeyPath, s: &types::Service, d: &types::Defaults) -> Protocol {
    let entries = s.group.as_deref().unwrap_or_default();
    if s.protocol.is_some() && entries.iter().all(|e| e.vip.is_none()) {
        cx.error(
            &path.key("protocol"),
            "a group of marks alone has no `protocol`",
            Some("the marks select the traffic; remove `protocol`"),
        );
    }
    super::proto(s.protocol.or(d.protocol).unwrap_or(types::Protocol::Tcp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_count(t: &str) -> (String, u128) {
        let (a, n) = range(t).unwrap();
        (a.to_string(), n)
    }

    #[test]
    fn ranges_in_keepaliveds_forms_and_networks() {
        assert_eq!(first_count("10.0.0.1"), ("10.0.0.1".into(), 1));
        assert_eq!(first_count("10.0.0.1-10"), ("10.0.0.1".into(), 10));
        assert_eq!(first_count("10.0.0.250-10.0.1.5"), ("10.0.0.250".into(), 12));
        assert_eq!(first_count("10.0.0.8/29"), ("10.0.0.8".into(), 8));
        assert_eq!(first_count("2001:db8::1-f"), ("2001:db8::1".into(), 15));
        assert_eq!(first_count("2001:db8::/126"), ("2001:db8::".into(), 4));
    }

    #[test]
    fn bad_ranges_say_why() {
        let err = |t: &str| range(t).unwrap_err().0;
        assert_eq!(err("10.0.0.10-5"), "`10.0.0.10-5` runs backwards: its end 10.0.0.5 is below its start 10.0.0.10");
        assert_eq!(
            err("10.0.0.250-300"),
            "`10.0.0.250-300` crosses the last octet: the short form `A-N` ends at most at 10.0.0.255"
        );
        assert_eq!(
            range("10.0.0.250-300").unwrap_err().1.unwrap(),
            "write the end in full, like `10.0.0.250-10.0.1.44`"
        );
        assert_eq!(err("10.0.0.9/29"), "`10.0.0.9/29` has host bits set; the network is 10.0.0.8/29");
        assert_eq!(
            err("10.0.0.1-2001:db8::1"),
            "`2001:db8::1` in `10.0.0.1-2001:db8::1` is not the range's last octet (or IPv6 group)"
        );
    }
}
