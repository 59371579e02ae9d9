//! VMACs of VIPs on a second LAN (keepalived's `use_vmac_addr` and a VIP's `use_vmac`)
//! between network namespaces (real kernel, the project's VRRP lab with a second bridge):
//! the instance runs on eth0, a VIP lives on eth1, and after a failover the client on
//! eth1's LAN reaches it through the very neighbour entry it learned from the old master
//! (pinned, so it cannot be updated).
//!
//! - A VIP's `vmac` (IPv4 instance, VRID 51): both directors make `vrrp.51` with
//!   00:00:5e:00:01:33 on eth1 (private macvlan, up, keepalived's sysctls; eth1's
//!   `arp_ignore`/`arp_filter`); the master holds the eth1 VIP on it and the other VIP on
//!   eth0; the client's ARP answer on eth1's LAN carries the virtual MAC; n1 dies (both
//!   cables), n2 takes over and the pinned entry still works; a graceful stop removes the
//!   link.
//! - `vip_vmacs` on an IPv6 instance (VRID 52) with an IPv6 VIP on eth1 and an IPv4
//!   excluded VIP on eth0 (the other family): `vrrp.52` with 00:00:5e:00:02:34 on eth1 and
//!   `vrrp1.52` with 00:00:5e:00:01:34 on eth0, as keepalived names them; the client's
//!   neighbour entries of both carry the virtual MACs and work after the failover.
//! - keepalived as the old master (`10.89.0.50/24 dev eth1 use_vmac`), lbconverge as the
//!   backup with the VIP's `vmac`: keepalived's VIP answers with 00:00:5e:00:01:33 from its
//!   own `vrrp.51` (eth1's `arp_announce=2` set by hand, which keepalived leaves out); it
//!   dies, lbconverge takes over and the pinned entry works.
//!
//! Needs root, iproute2, busybox (ping) and keepalived; namespaces `lbcvv<pid>-...`,
//! deleted at the end (the lab's guard).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::time::Duration;

use common::lab::netns::{holds, link, run};
use common::lab::vrrp::{DAEMON, Daemon, Params, start_manifest};
use common::lab::{CLIENT, How, Lab, SWITCH, ip};

/// The second LAN's bridge in the switch namespace.
const BR1: &str = "br1";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A lab with n1, n2 and the client on a second bridge too: each has eth1 there, n1
/// 10.89.0.11/24 fd89::11/64, n2 .12, the client .100; switch ports `n1b`, `n2b`, `clientb`.
fn two_lans() -> Lab {
    let lab = Lab::named("lbcvv", 2);
    let sw = lab.ns(SWITCH);
    ip(&["-n", &sw, "link", "add", BR1, "type", "bridge", "stp_state", "0", "mcast_snooping", "0"]);
    ip(&["-n", &sw, "link", "set", BR1, "up"]);
    for (short, last) in [("n1", 0x11), ("n2", 0x12), (CLIENT, 0x64)] {
        let ns = lab.ns(short);
        let port = format!("{short}b");
        let mac = format!("02:89:00:00:00:{last:02x}");
        ip(&[
            "link", "add", "eth1", "netns", &ns, "address", &mac, "type", "veth", "peer", "name", &port, "netns", &sw,
        ]);
        ip(&["-n", &sw, "link", "set", &port, "master", BR1, "up"]);
        let host = if short == CLIENT { 100 } else { last - 0x11 + 11 };
        ip(&["-n", &ns, "addr", "add", &format!("10.89.0.{host}/24"), "dev", "eth1"]);
        ip(&["-n", &ns, "addr", "add", &format!("fd89::{host}/64"), "dev", "eth1"]);
        ip(&["-n", &ns, "link", "set", "eth1", "up"]);
    }
    lab
}

fn sysctl(ns: &str, key: &str) -> String {
    run(ns, &["sysctl", "-n", key]).1.trim().to_string()
}

/// The client's neighbour entry of `addr`.
fn neighbour(lab: &Lab, addr: &str) -> String {
    run(&lab.ns(CLIENT), &["ip", "neigh", "show", addr]).1.trim().to_string()
}

fn ping(lab: &Lab, addr: &str) -> (bool, String) {
    run(&lab.ns(CLIENT), &["busybox", "ping", "-c", "1", "-W", "1", addr])
}

/// Asserts the VMAC `dev` of `ns`: a private macvlan with `mac` on `parent`, up.
fn is_vmac(ns: &str, dev: &str, mac: &str, parent: &str) {
    let l = link(ns, dev).unwrap_or_else(|| panic!("{ns} has no {dev}"));
    assert!(l.contains(&format!("link/ether {mac}")), "the virtual MAC:\n{l}");
    assert!(l.contains("macvlan mode private"), "a private macvlan:\n{l}");
    assert!(l.contains(&format!("{dev}@{parent}")) && l.contains(",UP"), "on {parent}, up:\n{l}");
}

/// The client reaches `addr` and learned `mac` for it; then its entry is pinned on `dev`.
fn reached_and_pinned(lab: &Lab, addr: &str, mac: &str, dev: &str) {
    let (ok, out) = ping(lab, addr);
    assert!(ok, "the client reaches {addr}: {out}");
    let entry = neighbour(lab, addr);
    assert!(entry.contains(&format!("lladdr {mac}")), "{addr} answered with the virtual MAC: {entry}");
    let pin = ["ip", "neigh", "replace", addr, "lladdr", mac, "dev", dev, "nud", "permanent"];
    assert!(run(&lab.ns(CLIENT), &pin).0, "pin the client's entry of {addr}");
}

/// n1 dies: its daemon is killed and both its cables are pulled (its stale VIPs and
/// VMACs stay, unreachable).
fn n1_dies(lab: &mut Lab) {
    lab.stop("n1", DAEMON, How::Crash);
    ip(&["-n", &lab.ns(SWITCH), "link", "set", "n1b", "down"]);
}

/// The client reaches `addr` through its pinned entry, which still says `mac`.
fn still_reached(lab: &Lab, addr: &str, mac: &str) {
    let (ok, out) = ping(lab, addr);
    assert!(ok, "the client reaches {addr} on the new master through its old entry: {out}");
    assert!(neighbour(lab, addr).contains(&format!("lladdr {mac} PERMANENT")), "{}", neighbour(lab, addr));
}

/// [`Params::v3_fast`]'s manifest with a VIP `10.89.0.50/24` on eth1 with `vmac: true`.
fn vip_option_manifest() -> String {
    let m = Params::v3_fast().manifest();
    let vip = "{address: 10.89.0.50/24, interface: eth1, vmac: true}";
    let out = m.replace("    vips: [10.88.0.50/24]\n", &format!("    vips: [10.88.0.50/24, {vip}]\n"));
    assert_ne!(out, m, "the manifest's VIP line changed: {m}");
    out
}

#[test]
#[ignore = "needs root: network namespaces"]
fn a_vip_on_a_second_lan_answers_with_the_virtual_mac_from_its_vmac_and_moves_with_it() {
    let mut lab = two_lans();
    let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
    let m = vip_option_manifest();
    start_manifest(&mut lab, 0, &m);
    lab.wait(ms(3000), "n1 to hold the eth1 VIP on vrrp.51", || holds(&n1, "vrrp.51", "10.89.0.50"));
    start_manifest(&mut lab, 1, &m);
    lab.wait(ms(3000), "n2 to make its vrrp.51", || link(&n2, "vrrp.51").is_some());
    std::thread::sleep(ms(300));
    for ns in [&n1, &n2] {
        is_vmac(ns, "vrrp.51", "00:00:5e:00:01:33", "eth1");
        for (key, want) in [("arp_ignore", "1"), ("accept_local", "1"), ("rp_filter", "0")] {
            assert_eq!(sysctl(ns, &format!("net.ipv4.conf.vrrp/51.{key}")), want, "vrrp.51 {key}");
        }
        assert_eq!(sysctl(ns, "net.ipv6.conf.vrrp/51.disable_ipv6"), "1", "no IPv6 on an IPv4 VMAC");
        for key in ["arp_ignore", "arp_filter"] {
            assert_eq!(sysctl(ns, &format!("net.ipv4.conf.eth1.{key}")), "1", "eth1 {key}");
        }
        assert!(link(ns, "vrrp1.51").is_none(), "one VMAC: the instance's VIP on eth0 has none");
    }
    assert!(holds(&n1, "eth0", "10.88.0.50"), "the VIP without `vmac` stays on eth0");
    assert!(!holds(&n1, "eth1", "10.89.0.50"), "nothing on the VMAC's parent");
    assert!(!holds(&n2, "vrrp.51", "10.89.0.50"), "the backup holds nothing");
    reached_and_pinned(&lab, "10.89.0.50", "00:00:5e:00:01:33", "eth1");
    n1_dies(&mut lab);
    lab.wait(ms(3000), "n2 to take over on its vrrp.51", || holds(&n2, "vrrp.51", "10.89.0.50"));
    still_reached(&lab, "10.89.0.50", "00:00:5e:00:01:33");
    lab.stop("n2", DAEMON, How::Term);
    assert!(link(&n2, "vrrp.51").is_none(), "a graceful stop removes the VMAC");
}

#[test]
#[ignore = "needs root: network namespaces"]
fn vip_vmacs_give_a_second_lans_vip_and_the_other_familys_their_own_vmacs() {
    let mut lab = two_lans();
    let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
    let base = Params::v3_ipv6().manifest();
    let extra = "    vips: [fd88::50/64, {address: fd89::50/64, interface: eth1}]\n    excluded_vips: [10.88.0.52/24]\n    vip_vmacs: true\n";
    let m = base.replace("    vips: [fd88::50/64]\n", extra);
    assert_ne!(m, base, "the manifest's VIP line changed: {base}");
    start_manifest(&mut lab, 0, &m);
    lab.wait(ms(3000), "n1 to hold the eth1 VIP on vrrp.52", || holds(&n1, "vrrp.52", "fd89::50"));
    start_manifest(&mut lab, 1, &m);
    lab.wait(ms(3000), "n2 to make its VMACs", || link(&n2, "vrrp1.52").is_some());
    std::thread::sleep(ms(300));
    for ns in [&n1, &n2] {
        is_vmac(ns, "vrrp.52", "00:00:5e:00:02:34", "eth1");
        is_vmac(ns, "vrrp1.52", "00:00:5e:00:01:34", "eth0");
        assert_eq!(sysctl(ns, "net.ipv6.conf.vrrp/52.addr_gen_mode"), "1", "no link-local of the VRRP MAC");
        assert_eq!(sysctl(ns, "net.ipv4.conf.vrrp1/52.arp_ignore"), "1");
    }
    assert!(holds(&n1, "eth0", "fd88::50"), "the instance's own VIP stays on eth0");
    assert!(holds(&n1, "vrrp1.52", "10.88.0.52"), "the other family's VIP on its VMAC");
    reached_and_pinned(&lab, "fd89::50", "00:00:5e:00:02:34", "eth1");
    reached_and_pinned(&lab, "10.88.0.52", "00:00:5e:00:01:34", "eth0");
    n1_dies(&mut lab);
    lab.wait(ms(3000), "n2 to take over", || holds(&n2, "vrrp.52", "fd89::50") && holds(&n2, "vrrp1.52", "10.88.0.52"));
    still_reached(&lab, "fd89::50", "00:00:5e:00:02:34");
    still_reached(&lab, "10.88.0.52", "00:00:5e:00:01:34");
    lab.stop("n2", DAEMON, How::Term);
    assert!(link(&n2, "vrrp.52").is_none() && link(&n2, "vrrp1.52").is_none(), "a graceful stop removes both");
}

#[test]
#[ignore = "needs root and keepalived: network namespaces"]
fn keepalived_with_a_vips_use_vmac_hands_over_to_lbconverge_without_a_neighbour_update() {
    let mut lab = two_lans();
    let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
    let p = Params { extra_vips: vec!["10.89.0.50/24 dev eth1 use_vmac".into()], ..Params::v3_fast() };
    // keepalived leaves eth1's `arp_announce` at 0: the kernel's ARP request for the client,
    // answering the ping, would leave eth1 naming the VIP with eth1's own MAC, and the
    // client would learn that (lbconverge sets 2 under its VMACs; README, VMAC).
    common::lab::netns::sysctl(&n1, "net.ipv4.conf.eth1.arp_announce", "2");
    common::lab::vrrp::start(&mut lab, 0, Daemon::Keepalived, &p);
    lab.wait(ms(5000), "keepalived on n1 to hold the eth1 VIP on vrrp.51", || holds(&n1, "vrrp.51", "10.89.0.50"));
    is_vmac(&n1, "vrrp.51", "00:00:5e:00:01:33", "eth1");
    start_manifest(&mut lab, 1, &vip_option_manifest());
    lab.wait(ms(3000), "n2 to make its vrrp.51", || link(&n2, "vrrp.51").is_some());
    std::thread::sleep(ms(500));
    assert!(holds(&n1, "vrrp.51", "10.89.0.50") && !holds(&n2, "vrrp.51", "10.89.0.50"), "one master: keepalived");
    is_vmac(&n2, "vrrp.51", "00:00:5e:00:01:33", "eth1");
    reached_and_pinned(&lab, "10.89.0.50", "00:00:5e:00:01:33", "eth1");
    n1_dies(&mut lab);
    lab.wait(ms(3000), "lbconverge on n2 to take over on its vrrp.51", || holds(&n2, "vrrp.51", "10.89.0.50"));
    still_reached(&lab, "10.89.0.50", "00:00:5e:00:01:33");
    lab.stop("n2", DAEMON, How::Term);
}
