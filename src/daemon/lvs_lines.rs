//! The health checks' lines for the notify FIFOs that take `lvs` events, as keepalived's
//! checker writes them to `notify_fifo` and `lvs_notify_fifo` (pure):
//!
//! ```text
//! VS [10.0.0.100]:tcp:80 UP                              a service gained quorum
//! VS FWM 7 DOWN                                          a mark service lost it
//! RS [10.0.0.21]:tcp:8080 [10.0.0.100]:tcp:80 DOWN       a backend went down
//! RS [2001:db8::21]:udp:53 [2001:db8::100]:udp:53 UP     IPv6: brackets, as keepalived
//! ```
//!
//! A service is written as keepalived writes its virtual server: `[VIP]:PROTO:PORT`, `FWM
//! N` for a firewall mark, and `[NAME]:0` for a server group, where keepalived has the
//! group's name and lbconverge the service's (the group has no name of its own in the
//! manifest). A backend is `[ADDRESS]:PROTO:PORT` with the service's protocol, `none` under
//! a mark (the manifest keeps no protocol there; keepalived prints `none` too when its
//! virtual server has none), and port 0 in a group when the backend's port follows each
//! VIP's (keepalived's real server without a port). Each line ends in a newline, and
//! nothing follows it (keepalived 2.2 to 2.4; its code after 2.4.3 also writes the NUL
//! that ends its string).

use crate::model::cluster::{Backend, VirtualService};
use crate::model::ipvs::ServiceKey;

/// A service gained (`up`) or lost its quorum: `VS [10.0.0.100]:tcp:80 UP`.
pub fn service_line(vs: &VirtualService, up: bool) -> String {
    format!("VS {} {}\n", service_text(vs), word(up))
}

/// A backend of a service went up or down: `RS [10.0.0.21]:tcp:80 [10.0.0.100]:tcp:80 UP`.
pub fn backend_line(vs: &VirtualService, be: &Backend, up: bool) -> String {
    let port = if be.port_follows { 0 } else { be.port };
    format!("RS [{}]:{}:{port} {} {}\n", be.address, protocol(vs), service_text(vs), word(up))
}

fn word(up: bool) -> &'static str {
    if up { "UP" } else { "DOWN" }
}

/// The service as keepalived names its virtual server.
fn service_text(vs: &VirtualService) -> String {
    if !vs.group.is_empty() {
        return format!("[{}]:0", vs.name);
    }
    match vs.key {
        ServiceKey::Addr { protocol, addr, port } => format!("[{addr}]:{}:{port}", protocol.name()),
        ServiceKey::Fwmark { mark, .. } => format!("FWM {mark}"),
    }
}

/// The service's protocol as keepalived prints it for its real servers: that of its (first)
/// address, `none` for marks alone.
fn protocol(vs: &VirtualService) -> &'static str {
    let addr = vs.keys().iter().find_map(|k| match k {
        ServiceKey::Addr { protocol, .. } => Some(protocol.name()),
        ServiceKey::Fwmark { .. } => None,
    });
    addr.unwrap_or("none")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const MANIFEST: &str = "version: 1
nodes:
  lb1: {roles: [director], addresses: [10.0.0.11/24, 2001:db8::11/64], interface: eth0}
defaults: {forwarding: nat}
services:
  web:
    directors: [lb1]
    vip: 10.0.0.100
    port: 80
    backends:
      rs1: {address: 10.0.0.21, port: 8080}
  dns6:
    directors: [lb1]
    vip: 2001:db8::100
    port: 53
    protocol: udp
    backends:
      rs1: {address: 2001:db8::21}
  marked:
    directors: [lb1]
    fwmark: 7
    vips: [10.0.0.101]
    backends:
      rs1: {address: 10.0.0.21, port: 443}
  farm:
    directors: [lb1]
    protocol: tcp
    group:
      - {vip: 10.0.0.102, port: 80}
      - {vip: 10.0.0.103, port: 8080}
    backends:
      rs1: {address: 10.0.0.21}
      rs2: {address: 10.0.0.22, port: 9000}
";

    fn services() -> std::collections::BTreeMap<String, VirtualService> {
        let loaded = crate::manifest::parse("m.yaml", PathBuf::from("."), MANIFEST.as_bytes()).unwrap();
        crate::model::validate(&loaded, &crate::model::NoFacts).unwrap().cluster.services
    }

    fn lines(vs: &VirtualService, up: bool) -> Vec<String> {
        let mut out = vec![service_line(vs, up)];
        out.extend(vs.backends.iter().map(|b| backend_line(vs, b, up)));
        out
    }

    #[test]
    fn ipv4_and_ipv6_services_are_written_as_keepalived_writes_them() {
        let s = services();
        assert_eq!(
            lines(&s["web"], true),
            ["VS [10.0.0.100]:tcp:80 UP\n", "RS [10.0.0.21]:tcp:8080 [10.0.0.100]:tcp:80 UP\n"]
        );
        assert_eq!(
            lines(&s["dns6"], false),
            ["VS [2001:db8::100]:udp:53 DOWN\n", "RS [2001:db8::21]:udp:53 [2001:db8::100]:udp:53 DOWN\n"]
        );
    }

    #[test]
    fn mark_and_group_services_are_written_as_keepalived_writes_them() {
        let s = services();
        assert_eq!(lines(&s["marked"], false), ["VS FWM 7 DOWN\n", "RS [10.0.0.21]:none:443 FWM 7 DOWN\n"]);
        assert_eq!(
            lines(&s["farm"], true),
            ["VS [farm]:0 UP\n", "RS [10.0.0.21]:tcp:0 [farm]:0 UP\n", "RS [10.0.0.22]:tcp:9000 [farm]:0 UP\n",]
        );
    }
}
