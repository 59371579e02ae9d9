//! A VMAC with a MAC of its own, an interface group and `netlink_notify` (keepalived's
//! `use_vmac [NAME] MAC [netlink_notify_msg] [group ID]`) between network namespaces (real
//! kernel, the project's VRRP lab), VRID 51, the MAC written with five octets
//! (`02:00:00:0a:00`, the VRID its sixth: 02:00:00:0a:00:33):
//!
//! - two lbconverge directors: both VMACs have the MAC and group 7 (`ip -j -d link`), `show`
//!   lists them so; the VIP answers ARP with the MAC, the client's entry is pinned, a cable
//!   pull on the master moves the VIP to the backup and back, the client reaching it through
//!   the same entry each time; with `netlink_notify` (n1) an `ip monitor link` sees an
//!   RTM_NEWLINK for eth0 after the VMAC is up and after it is removed, without it (n2) none
//!   (a veth has no unicast filter: the kernel turns it promiscuous for the VMAC silently);
//! - keepalived 2.2.7 as the peer (`use_vmac 02:00:00:0a:00`) on n1 or on n2: one master,
//!   the same MAC on both VMACs, the VIP answering ARP with it whichever is master, a cable
//!   pull moving the VIP both ways with the client's entry pinned.
//!
//! Needs root, iproute2, busybox (ping, arping) and keepalived; namespaces
//! `lbcvmm<pid>-...`, deleted at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::thread;
use std::time::Duration;

use common::lab::netns::run;
use common::lab::vrrp::{DAEMON, Params, lbconverge_bin, start_manifest};
use common::lab::{CLIENT, How, Lab};

/// The MAC as written (five octets) and as the VMACs of VRID 51 have it.
const WRITTEN: &str = "02:00:00:0a:00";
const OWN: &str = "02:00:00:0a:00:33";
const VIP: &str = "10.88.0.50";
const MONITOR: &str = "monitor";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `ip -j -d link show dev vrrp.51` in `ns`, or `None` without the link.
fn vmac_json(ns: &str) -> Option<String> {
    let (ok, text) = run(ns, &["ip", "-j", "-d", "link", "show", "dev", "vrrp.51"]);
    ok.then_some(text)
}

fn holds(ns: &str, vip: &str) -> bool {
    run(ns, &["ip", "-br", "addr", "show", "dev", "vrrp.51"]).1.contains(&format!("{vip}/"))
}

fn reach(lab: &mut Lab, what: &str) {
    let client = lab.ns(CLIENT);
    lab.wait(ms(2000), what, || run(&client, &["busybox", "ping", "-c", "1", "-W", "1", VIP]).0);
}

/// The MACs that answer the client's broadcast ARP requests for the VIP, each once.
fn arp_answers(lab: &Lab) -> Vec<String> {
    let out = run(&lab.ns(CLIENT), &["busybox", "arping", "-b", "-c", "3", "-w", "2", "-I", "eth0", VIP]).1;
    let mut macs: Vec<String> = out
        .lines()
        .filter(|l| l.contains("reply from"))
        .filter_map(|l| l.split_once('[').and_then(|(_, r)| r.split_once(']')).map(|(m, _)| m.to_lowercase()))
        .collect();
    macs.sort();
    macs.dedup();
    macs
}

fn pin(lab: &Lab) {
    let pin = ["ip", "neigh", "replace", VIP, "lladdr", OWN, "dev", "eth0", "nud", "permanent"];
    assert!(run(&lab.ns(CLIENT), &pin).0, "pin the client's entry");
}

/// The manifest of the instance with a VMAC of MAC [`WRITTEN`] and `extra` settings.
fn manifest(extra: &str) -> String {
    format!("{}    vmac: {{mac: \"{WRITTEN}\"{extra}}}\n", Params::v3_fast().advert(ms(200)).manifest())
}

/// The lines `ip -o monitor link` printed on node `n` after the first one that `from`
/// matches: those about eth0.
fn eth0_after(lab: &Lab, n: &str, from: impl Fn(&str) -> bool) -> Vec<String> {
    let log = lab.log(n, MONITOR);
    let after = log.lines().skip_while(|l| !from(l)).skip(1);
    after.filter(|l| l.contains(" eth0@")).map(String::from).collect()
}

fn vmac_up(l: &str) -> bool {
    l.contains(" vrrp.51@eth0: <") && l.contains(",UP")
}

#[test]
#[ignore = "needs root: network namespaces"]
fn a_vmac_of_its_own_mac_answers_with_it_and_a_failover_needs_no_arp_update() {
    let mut lab = Lab::named("lbcvmm", 2);
    let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
    for n in ["n1", "n2"] {
        lab.spawn(n, MONITOR, &["ip", "-o", "monitor", "link"].map(String::from), &[]);
    }
    thread::sleep(ms(300));
    start_manifest(&mut lab, 0, &manifest(", group: 7, netlink_notify: true"));
    lab.wait(ms(3000), "n1 to hold the VIP on vrrp.51", || holds(&n1, VIP));
    start_manifest(&mut lab, 1, &manifest(", group: 7"));
    lab.wait(ms(3000), "n2 to make its vrrp.51", || vmac_json(&n2).is_some());
    thread::sleep(ms(500));
    for ns in [&n1, &n2] {
        let l = vmac_json(ns).unwrap();
        for part in
            [format!("\"address\":\"{OWN}\""), "\"group\":\"7\"".into(), "\"info_data\":{\"mode\":\"private\"".into()]
        {
            assert!(l.contains(&part), "{ns}: {part}:\n{l}");
        }
    }
    let state = lab.node_dir("n2").join("show-state");
    let (ok, shown) = run(&n2, &[&lbconverge_bin(), "--state-dir", state.to_str().unwrap(), "show"]);
    let listed = shown.split("vmacs:").nth(1).unwrap_or_default();
    assert!(ok && listed.contains(&format!("mac: {OWN}")) && listed.contains("group: 7"), "show:\n{shown}");
    let told = eth0_after(&lab, "n1", vmac_up);
    assert!(
        !told.is_empty(),
        "netlink_notify: an RTM_NEWLINK for eth0 after the VMAC is up:\n{}",
        lab.log("n1", MONITOR)
    );
    let silent = eth0_after(&lab, "n2", vmac_up);
    assert!(silent.is_empty(), "without netlink_notify the kernel tells nothing of eth0: {silent:#?}");
    reach(&mut lab, "the client to reach the VIP");
    assert_eq!(arp_answers(&lab), [OWN], "the VIP answers ARP with the VMAC's own MAC");
    let entry = run(&lab.ns(CLIENT), &["ip", "neigh", "show", VIP]).1;
    assert!(entry.contains(&format!("lladdr {OWN}")), "the client learned the MAC: {entry}");
    pin(&lab);
    lab.link("n1", false);
    lab.wait(ms(3000), "n2 to take over on its vrrp.51", || holds(&n2, VIP));
    reach(&mut lab, "the client to reach n2 through its pinned entry");
    assert_eq!(arp_answers(&lab), [OWN], "n2 answers with the same MAC");
    lab.link("n1", true);
    lab.wait(ms(5000), "n1 to take the VIP back", || holds(&n1, VIP));
    lab.wait(ms(3000), "n2 to let go of the VIP", || !holds(&n2, VIP));
    reach(&mut lab, "the client to reach n1 again through its pinned entry");
    for n in ["n1", "n2"] {
        lab.stop(n, DAEMON, How::Term);
    }
    assert!(vmac_json(&n1).is_none() && vmac_json(&n2).is_none(), "a graceful stop removes the VMACs");
    thread::sleep(ms(300));
    let deleted = |l: &str| l.starts_with("Deleted") && l.contains(" vrrp.51@eth0:");
    assert!(!eth0_after(&lab, "n1", deleted).is_empty(), "netlink_notify: eth0 told after the removal too");
    assert!(eth0_after(&lab, "n2", deleted).is_empty(), "without it, nothing of eth0 after the removal");
    for n in ["n1", "n2"] {
        lab.stop(n, MONITOR, How::Term);
    }
}

#[test]
#[ignore = "needs root: network namespaces and keepalived"]
fn keepalived_takes_the_same_own_mac_and_shares_the_router() {
    let mut lab = Lab::named("lbcvmm", 2);
    let p = Params::v3_fast().advert(ms(200)).vmac(false);
    for ka in [0, 1] {
        let lb = 1 - ka;
        let label = format!("keepalived on n{}, lbconverge on n{}", ka + 1, lb + 1);
        let conf = p.keepalived_conf(ka).replace("    use_vmac\n", &format!("    use_vmac {WRITTEN}\n"));
        assert!(conf.contains(WRITTEN), "{conf}");
        let m = p.manifest().replace("    vmac: {}\n", &format!("    vmac: {{mac: \"{WRITTEN}\"}}\n"));
        let nodes = lab.nodes().to_vec();
        let start = |lab: &mut Lab, i: usize| {
            if i == ka {
                lab.keepalived(&nodes[i], DAEMON, &conf);
                lab.set_active(&nodes[i], true);
            } else {
                start_manifest(lab, i, &m);
            }
        };
        let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
        start(&mut lab, 0);
        lab.wait(ms(3000), "n1 to hold the VIP on vrrp.51", || holds(&n1, VIP));
        start(&mut lab, 1);
        lab.wait(ms(3000), "n2 to make its vrrp.51", || vmac_json(&n2).is_some());
        for ns in [&n1, &n2] {
            let l = vmac_json(ns).unwrap();
            assert!(l.contains(&format!("\"address\":\"{OWN}\"")), "{label}: {ns} has the MAC:\n{l}");
        }
        for _ in 0..20 {
            assert!(holds(&n1, VIP) && !holds(&n2, VIP), "{label}: one master, n1");
            thread::sleep(ms(50));
        }
        reach(&mut lab, &format!("{label}: the client to reach the VIP"));
        assert_eq!(arp_answers(&lab), [OWN], "{label}: n1 answers with the MAC");
        pin(&lab);
        lab.link("n1", false);
        lab.wait(ms(3000), "n2 to take over", || holds(&n2, VIP));
        reach(&mut lab, &format!("{label}: the client to reach n2 through its pinned entry"));
        assert_eq!(arp_answers(&lab), [OWN], "{label}: n2 answers with the MAC");
        pin(&lab);
        lab.link("n1", true);
        lab.wait(ms(5000), "n1 to take the VIP back", || holds(&n1, VIP));
        lab.wait(ms(3000), "n2 to let go of the VIP", || !holds(&n2, VIP));
        reach(&mut lab, &format!("{label}: the client to reach n1 again through its pinned entry"));
        eprintln!("{label}: lbconverge n{} on keepalived's own MAC: fine", lb + 1);
        for n in ["n1", "n2"] {
            lab.stop(n, DAEMON, How::Term);
        }
        assert!(vmac_json(&n1).is_none() && vmac_json(&n2).is_none(), "{label}: both removed their VMAC");
        assert!(run(&lab.ns(CLIENT), &["ip", "neigh", "flush", "dev", "eth0"]).0, "unpin the client's entry");
    }
}
