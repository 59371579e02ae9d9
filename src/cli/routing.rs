//! The routing daemon's side of `announce: bgp` (`lbconverge show --routing bird|frr`): a
//! configuration for one director that reads the routes lbconverge announces from their
//! kernel table and exports them over BGP, with BFD on each session. Pure; the BGP peers and
//! AS numbers come from `routing.bgp`, or are placeholders to fill in without it.
//!
//! FRR (8.4, Debian bookworm's): zebra imports the kernel table (`ip import-table`) and
//! bgpd redistributes what zebra selected from it. That works because lbconverge holds an
//! announced VIP as a local route, not as an address on `lo`: zebra would hold a connected
//! route for such an address, which always wins over an imported one, so `redistribute
//! table` would send nothing (zebra 8.4 ignores `noprefixroute`; that came with FRR 10).

use std::fmt::Write as _;
use std::net::IpAddr;

use clap::ValueEnum;

use crate::model::Cluster;
use crate::model::announce::PROTOCOL;
use crate::model::cluster::{Node, Routing};

/// The routing daemons a snippet is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoutingDaemon {
    /// BIRD 2 (Debian's `bird2`).
    Bird,
    /// FRR 8.4 (zebra, bgpd, bfdd; Debian's `frr`): IPv4 VIPs only.
    Frr,
}

/// The snippet for `node`, or why there is none.
pub fn snippet(c: &Cluster, node: &str, daemon: RoutingDaemon) -> Result<String, String> {
    let n = c.nodes.get(node).ok_or_else(|| format!("no node `{node}` in the manifest"))?;
    let vips: Vec<(IpAddr, &str)> = c
        .services
        .values()
        .filter(|s| s.announce_bgp && s.directors.contains(&n.name))
        .flat_map(|s| s.vips.iter().map(move |v| (*v, s.name.as_str())))
        .collect();
    if vips.is_empty() {
        return Err(format!("node `{node}` carries no service with `announce: bgp`"));
    }
    let listed: Vec<String> = vips.iter().map(|(v, s)| format!("{v} (service {s})")).collect();
    match daemon {
        RoutingDaemon::Bird => Ok(bird(&c.routing, n, &listed)),
        RoutingDaemon::Frr => frr(&c.routing, n, &vips, &listed),
    }
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

/// The highest kernel table FRR 8.4's zebra imports (`ip import-table (1-252)`).
const FRR_LAST_TABLE: u32 = 252;

/// FRR 8.4: zebra imports the kernel table, bgpd redistributes it through a prefix list of
/// the VIPs, one session per router with a BFD profile. IPv4 only: zebra 8.4 has no
/// `ipv6 import-table`.
fn frr(r: &Routing, n: &Node, vips: &[(IpAddr, &str)], listed: &[String]) -> Result<String, String> {
    if let Some((v, s)) = vips.iter().find(|(v, _)| v.is_ipv6()) {
        return Err(format!(
            "FRR 8.4 cannot announce {v} (service {s}): its zebra imports only IPv4 routes from a kernel table \
(`ip import-table`, no IPv6 form); use --routing bird"
        ));
    }
    if r.table > FRR_LAST_TABLE {
        return Err(format!(
            "FRR 8.4 cannot read routing.table {}: its zebra imports kernel tables 1..{FRR_LAST_TABLE} only; \
set routing.table to one of those (250 is the default) or use --routing bird",
            r.table
        ));
    }
    let mut head = String::new();
    header(&mut head, "FRR 8.4", r.table, n, listed);
    for line in [
        "zebra imports that table (it also installs those routes in the main table, via lo: harmless,",
        "the local table comes first) and bgpd sends them on, the VIPs only. It works because",
        "lbconverge holds these VIPs as local routes, not addresses on lo: zebra would prefer the",
        "connected route of such an address and send nothing.",
        "Load it whole into running zebra, bgpd and bfdd: vtysh -f FILE (or use it as frr.conf).",
    ] {
        let _ = writeln!(head, "{line}");
    }
    let mut out = commented(&head, "!");
    let table = r.table;
    let _ = write!(
        out,
        "frr defaults traditional\n!\n! The VIP routes, read from kernel table {table}.\nip import-table {table}\n!\n"
    );
    for (i, (v, _)) in vips.iter().enumerate() {
        let _ = writeln!(out, "ip prefix-list lbconverge-vips seq {} permit {v}/32", (i + 1) * 5);
    }
    out.push_str(
        "!
route-map lbconverge-vips permit 10
 match ip address prefix-list lbconverge-vips
exit
!
route-map lbconverge-none deny 10
exit
!
",
    );
    if let Some(b) = &r.bfd {
        let (ms, mult) = (b.interval_ms(), b.multiplier);
        let _ = write!(
            out,
            "! BFD: a router with BFD on its side drops this director within {} ms of its last packet.
! (FRR 8.4 re-creates the session once, when its BGP session first comes up and bgpd learns
! the interface: a router that resets BGP when BFD goes down does so once after a start.)
bfd
 profile lbconverge
  detect-multiplier {mult}
  receive-interval {ms}
  transmit-interval {ms}
 exit
exit
!
",
            ms * u128::from(mult)
        );
    }
    let (local_as, peers) = sessions(r);
    let placeholder = r.bgp.is_none();
    let _ = writeln!(
        out,
        "! One session per router{}.",
        if placeholder { ": fill in its address and the AS numbers" } else { " (routing.bgp)" }
    );
    let _ = write!(out, "router bgp {local_as}\n bgp router-id {}\n no bgp default ipv4-unicast\n", router_id(n));
    for (address, asn) in &peers {
        let _ = write!(out, " neighbor {address} remote-as {asn}\n neighbor {address} timers 3 9\n");
        if r.bfd.is_some() {
            let _ = writeln!(out, " neighbor {address} bfd profile lbconverge");
        }
    }
    let _ = write!(out, " !\n address-family ipv4 unicast\n  redistribute table {table} route-map lbconverge-vips\n");
    for (address, _) in &peers {
        let _ = write!(
            out,
            "  neighbor {address} activate
  neighbor {address} next-hop-self
  neighbor {address} route-map lbconverge-none in
  neighbor {address} route-map lbconverge-vips out
"
        );
    }
    out.push_str(" exit-address-family\nexit\n");
    Ok(out)
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
        assert!(snippet(&c, "d1", RoutingDaemon::Frr).unwrap_err().contains("routing.table 260"));
        assert_eq!(
            snippet(&c, "rs1", RoutingDaemon::Bird).unwrap_err(),
            "node `rs1` carries no service with `announce: bgp`"
        );
    }

    #[test]
    fn frr_refuses_what_its_zebra_cannot_import() {
        let manifest = |table: u32, vip: &str| {
            format!(
                "version: 1
nodes:
  d1: {{roles: [director], addresses: [10.7.0.3/24, 'fd00:7::3/64'], interface: eth0}}
  rs1: {{roles: [real-server], addresses: [10.7.0.11/24, 'fd00:7::11/64'], interface: eth0}}
routing: {{table: {table}}}
services:
  web: {{vip: '{vip}', port: 80, scheduler: mh, announce: bgp, directors: [d1], backends: {{rs1: {{}}}}}}
"
            )
        };
        let frr = |text: String| {
            let loaded = crate::manifest::parse("m.yaml", ".".into(), text.as_bytes()).unwrap();
            let c = crate::model::validate(&loaded, &crate::model::NoFacts).unwrap().cluster;
            snippet(&c, "d1", RoutingDaemon::Frr)
        };
        let v6 = frr(manifest(250, "fd00:9::100")).unwrap_err();
        assert!(
            v6.starts_with("FRR 8.4 cannot announce fd00:9::100 (service web): its zebra imports only IPv4"),
            "{v6}"
        );
        let high = frr(manifest(253 + 100, "10.9.0.100")).unwrap_err();
        assert!(
            high.starts_with("FRR 8.4 cannot read routing.table 353: its zebra imports kernel tables 1..252"),
            "{high}"
        );
        let ok = frr(manifest(252, "10.9.0.100")).unwrap();
        assert!(ok.contains("ip import-table 252\n"), "{ok}");
        assert!(ok.contains("ip prefix-list lbconverge-vips seq 5 permit 10.9.0.100/32\n"), "{ok}");
    }
}
