//! VRRP with a virtual MAC (keepalived's `use_vmac`) between network namespaces (real
//! kernel, the project's VRRP lab): the VIP answers ARP with 00:00:5e:00:01:VRID, adverts
//! leave from that MAC, and after a failover the client reaches the VIP through the very
//! neighbour entry it learned from the old master (pinned, so it cannot be updated).
//!
//! - IPv4, default name `vrrp.51`: the master holds the VIP on the VMAC; the client's ARP
//!   answer and the adverts on the switch carry the virtual MAC; both directors have the
//!   link (up) with keepalived's sysctls, and `show` lists it; the base interface answers
//!   no ARP for the VIP;
//!   n1 crashes, n2 takes over, the client's pinned entry still works; a graceful stop
//!   removes the link.
//! - IPv6 with `xmit_base` and a name: the VIP answers neighbour solicitations with
//!   00:00:5e:00:02:34, the adverts leave from the base interface's own MAC.
//! - IPv6 with the default name `vrrp6.52`: the VMAC holds the base's link-local address
//!   and no address of its own MAC; adverts leave from the VMAC with that source, the
//!   backup hears them on its VMAC and stays backup.
//!
//! - A VMAC deleted by hand (`ip link del`) on the master: the instance goes FAULT, the
//!   daemon makes the link again with its sysctls (logged), and the VIP comes back on it;
//!   the client's pinned entry works again.
//! - keepalived as the peer (`use_vmac`, with and without `vmac_xmit_base`), lbconverge on
//!   n1 or on n2; and unicast peers (`xmit_base`) with lbconverge on both or keepalived on
//!   either; one set of namespaces for all the cases of a test: each accepts the other's
//!   adverts (one master, never two), the VIP answers ARP with 00:00:5e:00:01:33
//!   whichever is master, a cable pull on the master and its return move the VIP both ways
//!   with the client's pinned entry working throughout, both send their adverts from the
//!   same MAC (the VRRP MAC, or with `xmit_base` the base interface's own), unicast ones
//!   from base address to base address; an lbconverge master with `xmit_base` answers no
//!   gratuitous ARP request for its VIP (a keepalived one does: README, VMAC).
//!
//! Needs root, iproute2, tcpdump, busybox (ping) and keepalived; namespaces
//! `lbcvmac<pid>-...`, deleted at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::lab::arp::{Asker, Prober};
use common::lab::netns::{holds, link, run};
use common::lab::vrrp::{DAEMON, Daemon, Params, lbconverge_bin, start_manifest};
use common::lab::{CLIENT, CLIENT_MAC, How, Lab, SWITCH};

/// The VRRP MAC of VRID 51, and n1's and n2's own.
const VMAC51: &str = "00:00:5e:00:01:33";
const N1_MAC: &str = "02:88:00:00:00:11";
const N2_MAC: &str = "02:88:00:00:00:12";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Starts `lbconverge run` on node `i` with `manifest`.
fn start(lab: &mut Lab, i: usize, manifest: &str) {
    start_manifest(lab, i, manifest);
}

fn sysctl(ns: &str, key: &str) -> String {
    run(ns, &["sysctl", "-n", key]).1.trim().to_string()
}

/// The client's neighbour entry of `ip`.
fn neighbour(lab: &Lab, ip: &str) -> String {
    run(&lab.ns(CLIENT), &["ip", "neigh", "show", ip]).1.trim().to_string()
}

fn ping(lab: &Lab, ip: &str) -> (bool, String) {
    run(&lab.ns(CLIENT), &["busybox", "ping", "-c", "1", "-W", "1", ip])
}

/// The lines of a capture on the switch, with link-level headers.
fn captured(lab: &mut Lab, pcap: &std::path::Path) -> String {
    lab.stop(SWITCH, "tcpdump", How::Term);
    let read = Command::new("tcpdump").args(["-r", pcap.to_str().unwrap(), "-nn", "-e"]).output().unwrap();
    String::from_utf8_lossy(&read.stdout).into_owned()
}

#[test]
#[ignore = "needs root: network namespaces and tcpdump"]
fn the_vip_answers_with_the_virtual_mac_and_a_failover_needs_no_arp_update() {
    let mut lab = Lab::named("lbcvmac", 2);
    let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
    let m = format!("{}    vmac: {{}}\n", Params::v3_fast().manifest());
    let pcap = lab.dir().join("adverts.pcap");
    lab.capture(&pcap, "ip proto 112");
    start(&mut lab, 0, &m);
    lab.wait(ms(3000), "n1 to hold the VIP on vrrp.51", || holds(&n1, "vrrp.51", "10.88.0.50"));
    start(&mut lab, 1, &m);
    lab.wait(ms(3000), "n2 to create its vrrp.51", || link(&n2, "vrrp.51").is_some());
    thread::sleep(ms(300));
    for ns in [&n1, &n2] {
        let l = link(ns, "vrrp.51").unwrap();
        assert!(l.contains("link/ether 00:00:5e:00:01:33"), "the virtual MAC:\n{l}");
        assert!(l.contains("macvlan mode private"), "a private macvlan:\n{l}");
        assert!(l.contains("vrrp.51@eth0") && l.contains(",UP"), "on eth0, up:\n{l}");
        for (key, want) in [("arp_ignore", "1"), ("accept_local", "1"), ("rp_filter", "0")] {
            assert_eq!(sysctl(ns, &format!("net.ipv4.conf.vrrp/51.{key}")), want, "vrrp.51 {key}");
        }
        for (key, want) in [("arp_ignore", "1"), ("arp_filter", "1"), ("arp_announce", "2")] {
            assert_eq!(sysctl(ns, &format!("net.ipv4.conf.eth0.{key}")), want, "eth0 {key}");
        }
    }
    assert!(!holds(&n2, "vrrp.51", "10.88.0.50"), "the backup holds nothing");
    let state = lab.dir().join("show-state");
    let bin = lbconverge_bin();
    let (ok, shown) = run(&n2, &[&bin, "--state-dir", state.to_str().unwrap(), "show"]);
    assert!(ok, "show: {shown}");
    let listed = shown.split("vmacs:").nth(1).unwrap_or_default();
    for part in ["name: vrrp.51", "parent: eth0", "vrid: 51"] {
        assert!(listed.contains(part), "show lists the VMAC ({part}):\n{shown}");
    }
    assert!(!holds(&n1, "eth0", "10.88.0.50"), "nothing on the base interface");
    let (ok, out) = ping(&lab, "10.88.0.50");
    assert!(ok, "the client reaches the VIP: {out}");
    let entry = neighbour(&lab, "10.88.0.50");
    assert!(entry.contains("lladdr 00:00:5e:00:01:33"), "the VIP answered ARP with the virtual MAC: {entry}");
    let adverts = captured(&mut lab, &pcap);
    let from = |mac: &str| adverts.lines().filter(|l| l.starts_with_mac(mac)).count();
    assert!(from("00:00:5e:00:01:33") >= 3, "adverts leave from the virtual MAC:\n{adverts}");
    assert_eq!(from("02:88:00:00:00:11"), 0, "none from n1's own MAC:\n{adverts}");
    // Pin the entry the client learned: it can no longer be updated by any ARP.
    let client = lab.ns(CLIENT);
    let pin =
        ["ip", "neigh", "replace", "10.88.0.50", "lladdr", "00:00:5e:00:01:33", "dev", "eth0", "nud", "permanent"];
    assert!(run(&client, &pin).0, "pin the client's entry");
    lab.stop("n1", DAEMON, How::Crash);
    lab.wait(ms(3000), "n2 to take over on its vrrp.51", || holds(&n2, "vrrp.51", "10.88.0.50"));
    let (ok, out) = ping(&lab, "10.88.0.50");
    assert!(ok, "the client reaches the new master through its old entry: {out}");
    assert!(neighbour(&lab, "10.88.0.50").contains("lladdr 00:00:5e:00:01:33 PERMANENT"));
    lab.stop("n2", DAEMON, How::Term);
    assert!(link(&n2, "vrrp.51").is_none(), "a graceful stop removes the VMAC");
    assert_eq!(
        sysctl(&n2, "net.ipv4.conf.eth0.arp_filter"),
        "1",
        "the base's sysctls stay, like any other the ledger holds"
    );
}

#[test]
#[ignore = "needs root: network namespaces and tcpdump"]
fn an_ipv6_vip_answers_with_the_virtual_mac_and_adverts_leave_from_the_base() {
    let mut lab = Lab::named("lbcvmac", 2);
    let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
    let m = format!("{}    vmac: {{name: vip52, xmit_base: true}}\n", Params::v3_ipv6().manifest());
    let pcap = lab.dir().join("adverts.pcap");
    lab.capture(&pcap, "ip6 proto 112");
    start(&mut lab, 0, &m);
    start(&mut lab, 1, &m);
    lab.wait(ms(3000), "n1 to hold the VIP on vip52", || holds(&n1, "vip52", "fd88::50"));
    let l = link(&n2, "vip52").expect("the backup has its VMAC too");
    assert!(l.contains("link/ether 00:00:5e:00:02:34"), "the IPv6 virtual MAC:\n{l}");
    let (ok, out) = ping(&lab, "fd88::50");
    assert!(ok, "the client reaches the VIP: {out}");
    let entry = neighbour(&lab, "fd88::50");
    assert!(entry.contains("lladdr 00:00:5e:00:02:34"), "the VIP answered with the virtual MAC: {entry}");
    thread::sleep(ms(500));
    let adverts = captured(&mut lab, &pcap);
    let from = |mac: &str| adverts.lines().filter(|l| l.starts_with_mac(mac)).count();
    assert!(from("02:88:00:00:00:11") >= 3, "xmit_base: adverts leave from eth0's MAC:\n{adverts}");
    assert_eq!(from("00:00:5e:00:02:34"), 0, "none from the VMAC:\n{adverts}");
    assert!(!holds(&n2, "vip52", "fd88::50"), "n2 heard n1 on eth0 and stayed backup");
    for n in ["n1", "n2"] {
        lab.stop(n, DAEMON, How::Term);
    }
    assert!(link(&n1, "vip52").is_none() && link(&n2, "vip52").is_none(), "a graceful stop removes the VMAC");
}

#[test]
#[ignore = "needs root: network namespaces and tcpdump"]
fn ipv6_adverts_leave_from_the_vmac_with_the_base_link_local_source() {
    let mut lab = Lab::named("lbcvmac", 2);
    let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
    let m = format!("{}    vmac: {{}}\n", Params::v3_ipv6().manifest());
    let pcap = lab.dir().join("adverts.pcap");
    lab.capture(&pcap, "ip6 proto 112");
    start(&mut lab, 0, &m);
    start(&mut lab, 1, &m);
    lab.wait(ms(3000), "n1 to hold the VIP on vrrp6.52", || holds(&n1, "vrrp6.52", "fd88::50"));
    thread::sleep(ms(800));
    for ns in [&n1, &n2] {
        let addrs = run(ns, &["ip", "-6", "addr", "show", "dev", "vrrp6.52"]).1;
        assert!(addrs.contains("inet6 fe80::88:ff:fe00:1"), "the base's link-local, to send adverts from:\n{addrs}");
        assert!(!addrs.contains("fe80::200:5eff"), "no link-local of the VRRP MAC (it would clash):\n{addrs}");
    }
    let adverts = captured(&mut lab, &pcap);
    let from = |mac: &str| adverts.lines().filter(|l| l.starts_with_mac(mac)).count();
    assert!(from("00:00:5e:00:02:34") >= 5, "adverts leave from the VMAC:\n{adverts}");
    assert!(adverts.contains("fe80::88:ff:fe00:11 > ff02::12"), "from eth0's link-local address:\n{adverts}");
    assert_eq!(from("02:88:00:00:00:11") + from("02:88:00:00:00:12"), 0, "none from a base MAC:\n{adverts}");
    assert!(!holds(&n2, "vrrp6.52", "fd88::50"), "n2 heard n1 on its VMAC and stayed backup");
    let (ok, out) = ping(&lab, "fd88::50");
    assert!(ok, "the client reaches the VIP: {out}");
    assert!(neighbour(&lab, "fd88::50").contains("lladdr 00:00:5e:00:02:34"));
    for n in ["n1", "n2"] {
        lab.stop(n, DAEMON, How::Term);
    }
}

#[test]
#[ignore = "needs root: network namespaces"]
fn a_vmac_deleted_by_hand_is_made_again_with_its_sysctls_and_the_vip() {
    let mut lab = Lab::named("lbcvmac", 2);
    let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
    let m = Params::v3_fast().vmac(false).manifest();
    start(&mut lab, 0, &m);
    lab.wait(ms(3000), "n1 to hold the VIP on vrrp.51", || holds(&n1, "vrrp.51", "10.88.0.50"));
    start(&mut lab, 1, &m);
    lab.wait(ms(3000), "n2 to create its vrrp.51", || link(&n2, "vrrp.51").is_some());
    let (ok, out) = ping(&lab, "10.88.0.50");
    assert!(ok, "the client reaches the VIP: {out}");
    let pin = ["ip", "neigh", "replace", "10.88.0.50", "lladdr", VMAC51, "dev", "eth0", "nud", "permanent"];
    assert!(run(&lab.ns(CLIENT), &pin).0, "pin the client's entry");
    assert!(run(&n1, &["ip", "link", "del", "vrrp.51"]).0, "delete n1's VMAC by hand");
    lab.wait(ms(3000), "n1 to make vrrp.51 again", || link(&n1, "vrrp.51").is_some_and(|l| l.contains(",UP")));
    let l = link(&n1, "vrrp.51").unwrap();
    assert!(l.contains(&format!("link/ether {VMAC51}")) && l.contains("macvlan mode private"), "the same VMAC:\n{l}");
    for (key, want) in [("arp_ignore", "1"), ("accept_local", "1"), ("rp_filter", "0"), ("promote_secondaries", "1")] {
        assert_eq!(sysctl(&n1, &format!("net.ipv4.conf.vrrp/51.{key}")), want, "vrrp.51 {key} set again");
    }
    lab.wait(ms(5000), "n1 to hold the VIP on its new vrrp.51", || holds(&n1, "vrrp.51", "10.88.0.50"));
    lab.wait(ms(3000), "n2 to let go of the VIP", || !holds(&n2, "vrrp.51", "10.88.0.50"));
    let back = Instant::now();
    reach(&mut lab, "10.88.0.50", "the client to reach the VIP through its pinned entry again");
    eprintln!("the client reached n1 again {:?} after it held the VIP", back.elapsed());
    assert_eq!(arp_answers(&lab), [VMAC51], "the VIP answers ARP with the VRRP MAC again");
    let log = lab.log("n1", DAEMON);
    assert!(log.contains("VMAC removed by hand; making it again (drift)"), "logged:\n{}", common::lab::tail(&log, 30));
    for n in ["n1", "n2"] {
        lab.stop(n, DAEMON, How::Term);
    }
}

/// One interop case: `ka` is the node keepalived runs on (0 or 1), lbconverge on the
/// other; `None`: lbconverge on both.
struct Interop {
    params: Params,
    ka: Option<usize>,
}

impl Interop {
    fn new(params: Params, ka: Option<usize>) -> Interop {
        Interop { params: params.advert(ms(200)), ka }
    }

    fn daemon(&self, i: usize) -> Daemon {
        if self.ka == Some(i) { Daemon::Keepalived } else { Daemon::Lbconverge }
    }
}

#[test]
#[ignore = "needs root: network namespaces, tcpdump and keepalived"]
fn keepalived_and_lbconverge_share_a_vmac_router_and_fail_over_both_ways() {
    let mut lab = Lab::named("lbcvmac", 2);
    for xmit_base in [false, true] {
        for ka in [1, 0] {
            interop(&mut lab, &Interop::new(Params::v3_fast().vmac(xmit_base), Some(ka)));
        }
    }
    for ka in [1, 0] {
        interop(&mut lab, &Interop::new(Params::v3_ipv6().vmac(true), Some(ka)));
    }
}

#[test]
#[ignore = "needs root: network namespaces, tcpdump and keepalived"]
fn unicast_peers_with_a_vmac_send_from_the_base_and_fail_over_both_ways() {
    let mut lab = Lab::named("lbcvmac", 2);
    for ka in [None, Some(1), Some(0)] {
        interop(&mut lab, &Interop::new(Params::v3_fast().vmac(true).unicast(), ka));
    }
}

/// The virtual router of a case: its VMAC's default name in lbconverge and in keepalived
/// (which names an IPv6 one `vrrp.VRID` too, while that name is free), VIP and MAC.
struct Router {
    vmac: &'static str,
    keepalived_vmac: &'static str,
    vip: &'static str,
    mac: &'static str,
}

const V4: Router = Router { vmac: "vrrp.51", keepalived_vmac: "vrrp.51", vip: "10.88.0.50", mac: VMAC51 };
const V6: Router = Router { vmac: "vrrp6.52", keepalived_vmac: "vrrp.52", vip: "fd88::50", mac: "00:00:5e:00:02:34" };

impl Router {
    /// The VMAC's name on node `i` of case `c`.
    fn on(&self, c: &Interop, i: usize) -> &'static str {
        if c.daemon(i) == Daemon::Keepalived { self.keepalived_vmac } else { self.vmac }
    }
}

/// One case in `lab`, which is left as it was found (both daemons stopped, their VMACs
/// gone, the client's entry unpinned), for the next case.
fn interop(lab: &mut Lab, c: &Interop) {
    let label = format!("{} (n1 {}, n2 {})", c.params.label(), c.daemon(0).name(), c.daemon(1).name());
    eprintln!("case: {label}");
    let r = if c.params.ipv6() { &V6 } else { &V4 };
    let (v1, v2) = (r.on(c, 0), r.on(c, 1));
    let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
    // On n2's switch port: what n2 sends and what reaches it, unicast or not.
    let pcap = lab.dir().join(format!("{}.pcap", label.replace(|c: char| !c.is_ascii_alphanumeric(), "-")));
    lab.capture_on("n2", &pcap, "ip proto 112 or ip6 proto 112");
    common::lab::vrrp::start(lab, 0, c.daemon(0), &c.params);
    lab.wait(ms(3000), "n1 to hold the VIP on its VMAC", || holds(&n1, v1, r.vip));
    common::lab::vrrp::start(lab, 1, c.daemon(1), &c.params);
    lab.wait(ms(3000), "n2 to create its VMAC", || link(&n2, v2).is_some());
    one_master(lab, (v1, v2), r.vip, &label);
    let (ok, out) = ping(lab, r.vip);
    assert!(ok, "{label}: the client reaches the VIP: {out}");
    assert_eq!(answers(lab, r), [r.mac], "{label}: n1 answers for the VIP with the VRRP MAC");
    gratuitous(lab, c, 0, &label);
    let pin = ["ip", "neigh", "replace", r.vip, "lladdr", r.mac, "dev", "eth0", "nud", "permanent"];
    assert!(run(&lab.ns(CLIENT), &pin).0, "pin the client's entry");
    // A cable pull on n1: n2 takes over; n1's return: n1 takes the VIP back (preemption).
    lab.link("n1", false);
    lab.wait(ms(3000), "n2 to take over on its VMAC", || holds(&n2, v2, r.vip));
    lab.wait(ms(3000), "n1 to let go of the VIP", || !holds(&n1, v1, r.vip));
    reach(lab, r.vip, &format!("{label}: the client to reach n2 through its pinned entry"));
    assert_eq!(answers(lab, r), [r.mac], "{label}: n2 answers for the VIP with the VRRP MAC");
    assert!(run(&lab.ns(CLIENT), &pin).0, "pin the client's entry again");
    gratuitous(lab, c, 1, &label);
    lab.link("n1", true);
    lab.wait(ms(5000), "n1 to take the VIP back", || holds(&n1, v1, r.vip));
    let back = format!("{label}: the client to reach n1 again through its pinned entry");
    if c.daemon(0) == Daemon::Keepalived && c.params.ipv6() {
        // keepalived as the IPv6 xmit_base master taking back: its old master (lbconverge
        // here, keepalived in its own pairs) may still hold the switch's entry for the VRRP
        // MAC until keepalived's next announcement; CI saw over 2 s. Measured, not bounded
        // at lbconverge's 2 s (see README, VMAC).
        reach_within(lab, r.vip, &back, ms(8000));
    } else {
        reach(lab, r.vip, &back);
    }
    one_master(lab, (v1, v2), r.vip, &label);
    assert_eq!(answers(lab, r), [r.mac], "{label}: n1 answers for the VIP with the VRRP MAC again");
    adverts_on_the_wire(c, r, &label, &captured(lab, &pcap));
    for n in ["n1", "n2"] {
        lab.stop(n, DAEMON, How::Term);
    }
    assert!(link(&n1, v1).is_none() && link(&n2, v2).is_none(), "{label}: both removed their VMAC");
    assert!(run(&lab.ns(CLIENT), &["ip", "neigh", "flush", "dev", "eth0"]).0, "unpin the client's entry");
}

/// The MACs the VIP answers the client with: ARP (see [`arp_answers`]); IPv6: the entry a
/// ping teaches the client once its own is gone (so it is left unpinned).
fn answers(lab: &Lab, r: &Router) -> Vec<String> {
    if r.vip.contains('.') {
        return arp_answers(lab);
    }
    let client = lab.ns(CLIENT);
    let _ = run(&client, &["ip", "neigh", "del", r.vip, "dev", "eth0"]);
    let (ok, out) = ping(lab, r.vip);
    assert!(ok, "the client reaches the VIP: {out}");
    let entry = neighbour(lab, r.vip);
    entry.split_whitespace().skip_while(|w| *w != "lladdr").nth(1).map(String::from).into_iter().collect()
}

/// Both send their adverts from the same MAC, the VRRP MAC or with `xmit_base` the base
/// interface's own; unicast ones from the base address to the peer's.
fn adverts_on_the_wire(c: &Interop, r: &Router, label: &str, wire: &str) {
    let adverts: Vec<&str> = wire.lines().filter(|l| l.contains("VRRP")).collect();
    let from = |mac: &str| adverts.iter().filter(|l| l.starts_with_mac(mac)).count();
    let all = adverts.join("\n");
    if c.params.vmac == Some(true) {
        assert!(from(N1_MAC) >= 3 && from(N2_MAC) >= 3, "{label}: xmit_base: from each base MAC:\n{all}");
        assert_eq!(from(r.mac), 0, "{label}: none from the VRRP MAC:\n{all}");
    } else {
        assert!(from(r.mac) >= 6, "{label}: adverts from the VRRP MAC:\n{all}");
        assert_eq!(from(N1_MAC) + from(N2_MAC), 0, "{label}: none from a base MAC:\n{all}");
    }
    if c.params.unicast {
        let sent = |a: &str, b: &str| adverts.iter().filter(|l| l.contains(&format!(": {a} > {b}: VRRP"))).count();
        assert!(sent("10.88.0.11", "10.88.0.12") >= 3, "{label}: n1 to n2, base addresses:\n{all}");
        assert!(sent("10.88.0.12", "10.88.0.11") >= 3, "{label}: n2 to n1 while master:\n{all}");
        assert!(!all.contains("224.0.0.18"), "{label}: no multicast advert:\n{all}");
    }
}

/// Whether master `i` answers a gratuitous ARP request for the VIP (the sender address
/// the VIP: what a new master sends on taking over, which reaches the old master before
/// it has heard the new one's advert). An answer leaves the VMAC with the VRRP MAC as its
/// source and teaches the switch the MAC at the old master's port. lbconverge with
/// `xmit_base` never answers (`accept_local=0` on the VMAC); keepalived does (its
/// `accept_local=1`; see README, VMAC), and so does lbconverge without `xmit_base`, whose
/// adverts from the VMAC correct the switch at once.
fn gratuitous(lab: &Lab, c: &Interop, i: usize, label: &str) {
    if c.params.ipv6() {
        return; // an unsolicited neighbour advertisement asks for no answer
    }
    let vip: std::net::Ipv4Addr = "10.88.0.50".parse().unwrap();
    let me = Asker { mac: CLIENT_MAC, ip: vip };
    let t0 = Instant::now();
    let mut asker = Prober::start(&lab.ns(CLIENT), "eth0", me, vip, ms(50));
    thread::sleep(ms(300));
    asker.stop();
    let vmac = [0, 0, 0x5e, 0, 1, 51];
    let answered = asker.seen().iter().filter(|s| s.reply && s.mac == vmac).count();
    let (who, asked) = (format!("n{} ({})", i + 1, c.daemon(i).name()), asker.asked_since(t0));
    eprintln!("{label}: {who} answered {answered} of {asked} gratuitous ARP requests for its VIP");
    if c.daemon(i) == Daemon::Lbconverge && c.params.vmac == Some(true) {
        assert_eq!(answered, 0, "{label}: {who} answers no gratuitous ARP for its VIP");
    }
}

/// Waits up to 2 s for the client's ping to the VIP to be answered (a takeover's first
/// packets may still go to the old master's port until the new one's frames reach the
/// switch).
fn reach(lab: &mut Lab, vip: &str, what: &str) {
    reach_within(lab, vip, what, ms(2000));
}

/// [`reach`] with a bound of `limit`; the time taken is printed either way.
fn reach_within(lab: &mut Lab, vip: &str, what: &str, limit: Duration) {
    let t0 = Instant::now();
    let client = lab.ns(CLIENT);
    let ping = || run(&client, &["busybox", "ping", "-c", "1", "-W", "1", vip]).0;
    lab.wait(limit, what, ping);
    eprintln!("{what}: {:?}", t0.elapsed());
}

/// The MACs that answer the client's ARP requests for the VIP (three, broadcast), each
/// once: which interfaces answer, not which entry the client happened to learn (keepalived
/// leaves the base's `arp_announce` at 0, so its ARP requests for a reply sent from the
/// VIP teach the client the base's MAC; see README, VMAC).
fn arp_answers(lab: &Lab) -> Vec<String> {
    let out = run(&lab.ns(CLIENT), &["busybox", "arping", "-b", "-c", "3", "-w", "2", "-I", "eth0", "10.88.0.50"]).1;
    let mut macs: Vec<String> = out
        .lines()
        .filter(|l| l.contains("reply from"))
        .filter_map(|l| l.split_once('[').and_then(|(_, r)| r.split_once(']')).map(|(m, _)| m.to_lowercase()))
        .collect();
    macs.sort();
    macs.dedup();
    macs
}

/// For a second, n1 holds the VIP on its VMAC and n2 holds it nowhere: each daemon accepts
/// the other's adverts.
fn one_master(lab: &mut Lab, (v1, v2): (&str, &str), vip: &str, label: &str) {
    let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
    lab.wait(ms(3000), "n2 to hold no VIP", || !holds(&n2, v2, vip));
    for _ in 0..20 {
        assert!(holds(&n1, v1, vip), "{label}: n1 stays master");
        assert!(!holds(&n2, v2, vip) && !holds(&n2, "eth0", vip), "{label}: two masters");
        thread::sleep(ms(50));
    }
}

/// A tcpdump `-e` line's source MAC.
trait SourceMac {
    fn starts_with_mac(&self, mac: &str) -> bool;
}

impl SourceMac for str {
    /// `12:00:00.000000 00:00:5e:00:01:33 > 01:00:5e:00:00:12, ...`
    fn starts_with_mac(&self, mac: &str) -> bool {
        self.split_whitespace().nth(1) == Some(mac)
    }
}
