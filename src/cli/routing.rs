//! The routing daemon's side of `announce: bgp` (`lbconverge show --routing bird|frr`): a
//! configuration snippet for one director that reads the routes lbconverge announces from
//! their kernel table and exports them over BGP. Pure; the BGP peers and AS numbers are the
//! operator's, left as placeholders to fill in.

use std::fmt::Write as _;

use clap::ValueEnum;

use crate::model::Cluster;
use crate::model::announce::PROTOCOL;
use crate::model::cluster::Node;

/// The routing daemons a snippet is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoutingDaemon {
    /// BIRD 2 (Debian's `bird2`).
    Bird,
    /// FRR (Debian's `frr`): zebra imports the table, bgpd redistributes it.
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
    Ok(match daemon {
        RoutingDaemon::Bird => bird(c.routing.table, n, &vips),
        RoutingDaemon::Frr => frr(c.routing.table, n, &vips),
    })
}

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

fn bird(table: u32, n: &Node, vips: &[String]) -> String {
    let mut head = String::new();
    header(&mut head, "BIRD 2", table, n, vips);
    let mut out = commented(&head, "#");
    let id = router_id(n);
    let _ = write!(
        out,
        "router id {id};

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

# One session per router: fill in its address and the AS numbers.
protocol bgp uplink1 {{
    local {id} as LOCAL_AS;
    neighbor ROUTER_ADDRESS as ROUTER_AS;
    hold time 9;
    ipv4 {{ table lbconverge4; import none; export all; next hop self; }};
    ipv6 {{ table lbconverge6; import none; export all; next hop self; }};
}}
"
    );
    out
}

fn frr(table: u32, n: &Node, vips: &[String]) -> String {
    let mut head = String::new();
    header(&mut head, "FRR", table, n, vips);
    let mut out = commented(&head, "!");
    let id = router_id(n);
    let _ = write!(
        out,
        "! zebra copies kernel table {table} into its RIB as \"table\" routes (import-table takes
! tables 1 to 252); bgpd redistributes them.
ip import-table {table}
ipv6 import-table {table}
!
! One neighbor per router: fill in its address and the AS numbers.
router bgp LOCAL_AS
 bgp router-id {id}
 no bgp ebgp-requires-policy
 timers bgp 3 9
 neighbor ROUTER_ADDRESS remote-as ROUTER_AS
 address-family ipv4 unicast
  redistribute table {table}
 exit-address-family
 address-family ipv6 unicast
  redistribute table {table}
 exit-address-family
!
"
    );
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
        let frr = snippet(&c, "d1", RoutingDaemon::Frr).unwrap();
        assert!(frr.contains("ip import-table 260\n") && frr.contains("redistribute table 260"), "{frr}");
        assert_eq!(
            snippet(&c, "rs1", RoutingDaemon::Bird).unwrap_err(),
            "node `rs1` carries no service with `announce: bgp`"
        );
    }
}
