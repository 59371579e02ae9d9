//! Interfaces that come and go under the VRRP daemon, on the real kernel (the project's VRRP
//! lab: n1 at priority 200 on `dyn0`, a veth of its own to the lab's bridge; n2 at 100 on
//! its eth0; VRRPv3 with 100 ms adverts, VIP 10.88.0.50/24). Each recovery is observed only
//! after the failure before it.
//!
//! - With `dynamic_interfaces`: n1 starts without dyn0 and is in FAULT, `status` naming the
//!   missing interface, while n2 holds the VIP; dyn0 made, n1 binds to it and takes the
//!   VIP; dyn0 deleted, n1 is in FAULT (the VIP went with the link) and n2 takes over;
//!   dyn0 made again (a new index), n1 binds again and takes the VIP back.
//! - Without the key, in the same namespaces: n1 starts with dyn0; deleted and made again,
//!   n1 goes to FAULT and back to master, its socket opened again on the new link (before,
//!   its socket stayed bound to the index that was gone: back in MASTER its adverts failed
//!   with ENODEV, n2 never heard it, and both held the VIP).
//!
//! Needs root and iproute2; namespaces `lbcdyn<pid>-...`, deleted at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::lab::netns;
use common::lab::vrrp::{DAEMON, start_manifest};
use common::lab::{BRIDGE, How, Lab, SWITCH, ip};

const VIP: Ipv4Addr = Ipv4Addr::new(10, 88, 0, 50);
/// n1's VRRP interface, made and deleted by the test.
const LINK: &str = "dyn0";
/// Its peer, a port of the lab's bridge.
const PEER: &str = "n1dyn";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The manifest; n1 has `dynamic_interfaces` when `dynamic`.
fn manifest(dynamic: bool) -> String {
    let key = if dynamic { "    dynamic_interfaces: true\n" } else { "" };
    format!(
        "version: 1
cluster: dynif-lab
nodes:
  n1:
    roles: [director]
    addresses: [10.88.0.11/24]
    interface: eth0
{key}  n2:
    roles: [director]
    addresses: [10.88.0.12/24]
    interface: eth0
vrrp:
  VI_1:
    vrid: 52
    version: 3
    advert_interval: 100ms
    members:
      n1: {{priority: 200, interface: {LINK}}}
      n2: {{priority: 100}}
    vips: [{VIP}/24]
"
    )
}

/// True when `dev` in namespace `ns` holds the VIP.
fn held(ns: &str, dev: &str) -> bool {
    let out = Command::new("ip").args(["-n", ns, "-br", "addr", "show", "dev", dev]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).contains(&format!("{VIP}/"))
}

/// Makes dyn0 in n1: a veth whose peer is a port of the bridge, up.
fn make_link(lab: &Lab) {
    let (n1, sw) = (lab.ns("n1"), lab.ns(SWITCH));
    ip(&["link", "add", LINK, "netns", &n1, "type", "veth", "peer", "name", PEER, "netns", &sw]);
    ip(&["-n", &sw, "link", "set", PEER, "master", BRIDGE, "up"]);
    netns::sysctl(&n1, &format!("net.ipv4.conf.{LINK}.rp_filter"), "0");
    ip(&["-n", &n1, "link", "set", LINK, "up"]);
}

fn delete_link(lab: &Lab) {
    ip(&["-n", &lab.ns("n1"), "link", "del", LINK]);
}

fn index(lab: &Lab) -> String {
    let out = ip(&["-n", &lab.ns("n1"), "-o", "link", "show", LINK]);
    out.split(':').next().unwrap_or_default().to_string()
}

/// `lbconverge status` of n1, as text.
fn status(lab: &Lab) -> String {
    let control: PathBuf = lab.node_dir("n1").join("control.sock");
    let out = common::lbconverge(&["status", "--control", control.to_str().unwrap()]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until the VIP is on n1's dyn0 and not on n2 (`on_n1`), or the other way round;
/// returns the time since `t0` in ms.
fn vip_on(lab: &mut Lab, on_n1: bool, t0: Instant, what: &str) -> u128 {
    let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
    lab.wait(ms(6000), what, || {
        let (a, b) = (held(&n1, LINK), held(&n2, "eth0"));
        if on_n1 { a && !b } else { b && !a }
    });
    t0.elapsed().as_millis()
}

/// Waits until n1's status shows VI_1 in FAULT waiting for dyn0.
fn n1_faults(lab: &mut Lab, what: &str) {
    let mut last = String::new();
    let end = Instant::now() + ms(4000);
    while Instant::now() < end {
        last = status(lab);
        if last.contains("VI_1 (vrid 52): FAULT")
            && last.contains(&format!("  waiting: interface {LINK} does not exist"))
        {
            return;
        }
        std::thread::sleep(ms(50));
    }
    panic!("{what}: n1's status does not show FAULT waiting for {LINK}:\n{last}");
}

#[test]
#[ignore = "needs root: network namespaces"]
fn an_interface_missing_deleted_and_made_again_under_the_daemon() {
    let mut lab = Lab::named("lbcdyn", 2);
    let n1 = lab.ns("n1");
    for k in ["all", "default"] {
        netns::sysctl(&n1, &format!("net.ipv4.conf.{k}.rp_filter"), "0");
    }

    // dynamic_interfaces: n1 starts without dyn0.
    start_manifest(&mut lab, 1, &manifest(false));
    vip_on(&mut lab, false, Instant::now(), "n2 to hold the VIP alone");
    start_manifest(&mut lab, 0, &manifest(true));
    n1_faults(&mut lab, "at start without dyn0");
    assert!(held(&lab.ns("n2"), "eth0"), "n2 keeps the VIP while n1 waits");
    let t0 = Instant::now();
    make_link(&lab);
    let took = vip_on(&mut lab, true, t0, "n1 to take the VIP once dyn0 exists");
    eprintln!("dynamic: dyn0 made (index {}) -> n1 master in {took} ms", index(&lab));
    let t1 = Instant::now();
    delete_link(&lab);
    let took = vip_on(&mut lab, false, t1, "n2 to take over with n1's dyn0 deleted");
    eprintln!("dynamic: dyn0 deleted -> n2 master in {took} ms");
    n1_faults(&mut lab, "with dyn0 deleted");
    let t2 = Instant::now();
    make_link(&lab);
    let took = vip_on(&mut lab, true, t2, "n1 to take the VIP back on dyn0 made again");
    eprintln!("dynamic: dyn0 made again (index {}) -> n1 master in {took} ms", index(&lab));
    assert!(status(&lab).contains("VI_1 (vrid 52): MASTER"), "{}", status(&lab));
    lab.stop("n1", DAEMON, How::Term);

    // Without the key: dyn0 exists at start, then goes and comes back under the daemon.
    start_manifest(&mut lab, 0, &manifest(false));
    vip_on(&mut lab, true, Instant::now(), "n1 (no key) to take the VIP");
    let t3 = Instant::now();
    delete_link(&lab);
    let took = vip_on(&mut lab, false, t3, "n2 to take over with dyn0 deleted (no key)");
    eprintln!("no key: dyn0 deleted -> n2 master in {took} ms");
    let t4 = Instant::now();
    make_link(&lab);
    let took = vip_on(&mut lab, true, t4, "n1 (no key) to take the VIP back on dyn0 made again");
    eprintln!("no key: dyn0 made again -> n1 master in {took} ms");
    // Both keep hearing each other: n2 stays backup.
    std::thread::sleep(ms(1000));
    assert!(held(&n1, LINK) && !held(&lab.ns("n2"), "eth0"), "the VIP stays on n1 alone");
    let log = lab.log("n1", DAEMON);
    for n in ["n1", "n2"] {
        lab.stop(n, DAEMON, How::Term);
    }
    let again = ["vrrp instance waits for its interface (FAULT)", "vrrp instance bound to its interfaces"];
    assert!(
        again.iter().all(|l| log.contains(l)),
        "n1 waited, then opened its socket again: {}",
        common::lab::tail(&log, 30)
    );
}
