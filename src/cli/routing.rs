//! The routing daemon's side of `announce: bgp` (`lbconverge show --routing bird|frr`): a
//! configuration snippet for one director that reads the routes lbconverge announces from
//! their kernel table and exports them over BGP, with BFD on each session. Pure; the BGP
//! peers and AS numbers come from `routing.bgp`, or are placeholders to fill in without it.
//! FRR is refused with its reason ([`FRR_CANNOT`]).

use std::fmt::Write as _;

use clap::ValueEnum;

use crate::model::Cluster;
use crate::model::announce::PROTOCOL;
use crate::model::cluster::{Node, Routing};

/// The routing daemons a snippet is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoutingDaemon {
    /// BIRD 2 (Debian's `bird2`).
    Bird,
    /// FRR: refused with the reason (zebra prefers the VIP's connected route on `lo`).
    Frr,
}

/// The snippet for `node`, or why there is none.
pub fn snippet(c: &Cluster, node: &str, daemon: RoutingDaemon) -> Result<String, String> {
    let n = c.nodes.get(node).ok_or_else(|| format!("no node `{node}` in the manifest"))?;
    let vips: Vec<String> = c
        .services
        .values()
        .filter(|s| s.announce_bgp && s.directors.contains(&n.name))
        .flat_map(|s| s.vips.iter().map(move |v| format!("{v} (service {})", s.name)))
        .collect();
    if vips.is_empty() {
        return Err(format!("node `{node}` carries no service with `announce: bgp`"));
    }
    match daemon {
        RoutingDaemon::Bird => Ok(bird(&c.routing, n, &vips)),
        RoutingDaemon::Frr => Err(FRR_CANNOT.to_string()),
    }
}

/// Why there is no FRR configuration (found by running FRR 8.4 on the directors of the VM's
/// BGP lab): the announced VIP is also an address on `lo`, so zebra holds a connected route
/// for it, which wins over the route `ip import-table` brings from the kernel table; bgpd's
/// `redistribute table` only sends selected routes, so the VIP is never announced.
const FRR_CANNOT: &str = "FRR cannot announce these VIPs: each is also an address on lo, zebra prefers that \
connected route over the one imported from the kernel table, and `redistribute table` sends only the \
preferred route (FRR 9.1's `redistribute table-direct` would, but is not tested here); use --routing bird";

fn header(out: &mut String, what: &str, table: u32, n: &Node, vips: &[String]) {
    let _ = writeln!(out, "{what} on director {}, written by `lbconverge show --routing`.", n.name);
    let _ =
        writeln!(out, "lbconverge keeps a host route for each VIP below in kernel table {table} (proto {PROTOCOL})");
    let _ = writeln!(out, "while this director is healthy for its service; this exports what it finds over BGP.");
    for v in vips {
        let _ = writeln!(out, "  {v}");
    }
}

fn commented(text: &str, mark: &str) -> String {
    text.lines().map(|l| format!("{mark} {l}").trim_end().to_string() + "\n").collect()
}

fn router_id(n: &Node) -> String {
    n.address_of(false).map_or("ROUTER_ID".to_string(), |a| a.to_string())
}

/// The routers (address, AS) and the directors' AS, as the manifest names them or as
/// placeholders to fill in.
fn sessions(r: &Routing) -> (String, Vec<(String, String)>) {
    match &r.bgp {
        Some(b) => (b.local_as.to_string(), b.peers.iter().map(|(a, n)| (a.to_string(), n.to_string())).collect()),
        None => ("LOCAL_AS".to_string(), vec![("ROUTER_ADDRESS".to_string(), "ROUTER_AS".to_string())]),
    }
}

fn bird(r: &Routing, n: &Node, vips: &[String]) -> String {
    let mut head = String::new();
    header(&mut head, "BIRD 2", r.table, n, vips);
    let mut out = commented(&head, "#");
    let table = r.table;
    let _ = write!(
        out,
        "router id {};

ipv4 table lbconverge4;
ipv6 table lbconverge6;

protocol device {{}}

# The VIP routes, read from kernel table {table} (`learn`: they are lbconverge's, not BIRD's).
protocol kernel lbconverge_vips4 {{
    kernel table {table};
    learn;
    scan time 2;
    ipv4 {{ table lbconverge4; import all; export none; }};
}}

protocol kernel lbconverge_vips6 {{
    kernel table {table};
    learn;
    scan time 2;
    ipv6 {{ table lbconverge6; import all; export none; }};
}}
",
        router_id(n)
    );
    if let Some(b) = &r.bfd {
        let (ms, mult) = (b.interval_ms(), b.multiplier);
        let _ = write!(
            out,
            "
# BFD: a router with BFD on its side drops this director within {} ms of its last packet.
protocol bfd lbconverge_bfd {{
    interface \"*\" {{ min rx interval {ms} ms; min tx interval {ms} ms; multiplier {mult}; }};
}}
",
            ms * u128::from(mult)
        );
    }
    let (local_as, peers) = sessions(r);
    let placeholder = r.bgp.is_none();
    let _ = writeln!(
        out,
        "\n# One session per router{}.",
        if placeholder { ": fill in its address and the AS numbers" } else { " (routing.bgp)" }
    );
    let bfd = if r.bfd.is_some() { "\n    bfd on;" } else { "" };
    for (i, (address, asn)) in peers.iter().enumerate() {
        let _ = write!(
            out,
            "protocol bgp uplink{} {{
    local as {local_as};
    neighbor {address} as {asn};
    hold time 9;{bfd}
    ipv4 {{ table lbconverge4; import none; export all; next hop self; }};
    ipv6 {{ table lbconverge6; import none; export all; next hop self; }};
}}
",
            i + 1
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_director_carrying_an_announced_service_gets_a_snippet() {
        let text = "version: 1
nodes:
  d1: {roles: [director], addresses: [10.7.0.3/24], interface: eth0}
  rs1: {roles: [real-server], addresses: [10.7.0.11/24], interface: eth0}
routing: {table: 260}
services:
  web: {vip: 10.9.0.100, port: 80, scheduler: mh, announce: bgp, directors: [d1], backends: {rs1: {}}}
";
        let loaded = crate::manifest::parse("m.yaml", ".".into(), text.as_bytes()).unwrap();
        let c = crate::model::validate(&loaded, &crate::model::NoFacts).unwrap().cluster;
        let bird = snippet(&c, "d1", RoutingDaemon::Bird).unwrap();
        assert!(bird.contains("kernel table 260;"), "{bird}");
        assert!(bird.contains("#   10.9.0.100 (service web)\n"), "{bird}");
        assert!(bird.contains("router id 10.7.0.3;"), "{bird}");
        assert_eq!(snippet(&c, "d1", RoutingDaemon::Frr).unwrap_err(), FRR_CANNOT);
        assert_eq!(
            snippet(&c, "rs1", RoutingDaemon::Bird).unwrap_err(),
            "node `rs1` carries no service with `announce: bgp`"
        );
    }
}
