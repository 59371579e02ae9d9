//! The BGP sessions and BFD timers of `routing:`, which `show --routing` prints into the
//! routing daemon's configuration.

use std::net::IpAddr;
use std::time::Duration;

use crate::manifest::KeyPath;
use crate::manifest::types;
use crate::model::Cluster;
use crate::model::cluster::{Bfd, Bgp};

use super::{Cx, dur};

/// The directors' AS number and their routers.
pub fn bgp(cx: &mut Cx, at: &KeyPath, b: &types::Bgp) -> Bgp {
    let local_as = asn(cx, &at.key("local_as"), b.local_as);
    if b.peers.is_empty() {
        cx.error(&at.key("peers"), "no router to announce to", Some("list each router as {address: ..., as: ...}"));
    }
    let mut peers: Vec<(IpAddr, u32)> = Vec::new();
    for (n, p) in b.peers.iter().enumerate() {
        let path = at.key("peers").index(n);
        let number = asn(cx, &path.key("as"), p.asn);
        match p.address.parse::<IpAddr>() {
            Ok(a) if peers.iter().any(|(q, _)| *q == a) => {
                cx.error(&path.key("address"), format!("router {a} is listed twice"), None)
            }
            Ok(a) => peers.push((a, number)),
            Err(_) => cx.error(
                &path.key("address"),
                format!("`{}` is not an IP address", p.address),
                Some("give the router's address on the directors' network, such as 10.7.0.1"),
            ),
        }
    }
    Bgp { local_as, peers }
}

fn asn(cx: &mut Cx, at: &KeyPath, n: u64) -> u32 {
    match u32::try_from(n) {
        Ok(v) if v > 0 => v,
        _ => {
            cx.error(at, format!("AS number {n} is out of range"), Some("AS numbers are 1..4294967295"));
            1
        }
    }
}

/// BFD timers: on unless `enabled: false`.
pub fn bfd(cx: &mut Cx, at: &KeyPath, b: Option<&types::Bfd>) -> Option<Bfd> {
    let default = Bfd::default();
    let Some(b) = b else { return Some(default) };
    let interval = dur(cx, &at.key("interval"), b.interval.as_ref(), default.interval);
    if !(Duration::from_millis(10)..=Duration::from_secs(60)).contains(&interval)
        || !interval.subsec_nanos().is_multiple_of(1_000_000)
    {
        let msg = format!("BFD interval {interval:?} is not 10ms..60s in whole milliseconds");
        cx.error(&at.key("interval"), msg, Some("100ms with multiplier 3 detects a dead director in 300ms"));
    }
    let multiplier = b.multiplier.unwrap_or(u32::from(default.multiplier));
    if !(2..=255).contains(&multiplier) {
        cx.error(&at.key("multiplier"), format!("multiplier {multiplier} is not 2..255"), None);
    }
    let multiplier = u8::try_from(multiplier).unwrap_or(default.multiplier);
    b.enabled.unwrap_or(true).then_some(Bfd { interval, multiplier })
}

/// Warns at the first `announce: bgp` service when `routing.bgp` does not name the sessions:
/// the routing daemon's configuration `show --routing` prints then has placeholders.
pub fn sessions_named(cx: &mut Cx, at: &KeyPath, c: &Cluster) {
    let Some(first) = c.services.values().find(|s| s.announce_bgp) else { return };
    if c.routing.bgp.is_none() {
        cx.warn(
            &at.name(&first.name).key("announce"),
            "`routing.bgp` does not name the BGP sessions: the configuration `show --routing` prints has placeholders",
            Some("add routing: {bgp: {local_as: ..., peers: [{address: ..., as: ...}]}}"),
        );
    }
}
