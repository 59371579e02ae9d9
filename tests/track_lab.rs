//! Tracked interfaces and track files moving the VIP between two directors, in network
//! namespaces on the real kernel (the project's VRRP lab: n1 at priority 150, n2 at 100,
//! VRRPv3 with 100 ms adverts). Each test sees the failure take effect before the
//! recovery.
//!
//! - `track_interfaces` on a link `trk0` of n1 (a veth) (not its advert interface): weight
//!   -60 set down moves the VIP to n2 (n1 at 90), set up brings it back; weight 0 set down
//!   puts n1 in FAULT; `weight: 60, reverse: true` takes 60 off while trk0 is up (n2
//!   holds the VIP) and none while it is down (n1 takes it); `weight: 0, reverse: true`
//!   is FAULT while trk0 is up.
//! - `track_files`: the number in n1's file times the weight is added: -60 written moves
//!   the VIP to n2, 0 brings it back, and the file removed counts as 0 (keepalived's rule
//!   for a file it cannot open); with weight 0 a number other than 0 is FAULT.
//!
//! Needs root and iproute2; namespaces `lbctrk<pid>-...`, deleted at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::lab::vrrp::{DAEMON, fast_manifest, holds_on_eth0, start_manifest};
use common::lab::{How, Lab, ip};

const VIP: Ipv4Addr = Ipv4Addr::new(10, 88, 0, 50);
/// The tracked link on n1: a veth whose peer stays up, so `ip link set` alone moves it.
const LINK: &str = "trk0";

/// What n1's log says when trk0 puts it in FAULT.
const FAULTED: &str = "faults=[(Interface, \"trk0\")]";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// True when namespace `ns` holds the VIP.
fn held_in(ns: &str) -> bool {
    holds_on_eth0(ns, &VIP.to_string())
}

/// Starts both nodes: n1 with `n1` (what it tracks), n2 with the plain instance.
fn start_pair(lab: &mut Lab, n1: &str) {
    start_manifest(lab, 0, n1);
    start_manifest(lab, 1, &fast_manifest("", ""));
}

fn set_link(lab: &Lab, up: bool) {
    ip(&["-n", &lab.ns("n1"), "link", "set", LINK, if up { "up" } else { "down" }]);
}

/// Waits until the VIP is on `short` only (n1 or n2); returns the time since `t0`.
fn moves_to(lab: &mut Lab, short: &str, t0: Instant, what: &str) -> u128 {
    let (to, from) = (lab.ns(short), lab.ns(if short == "n1" { "n2" } else { "n1" }));
    lab.wait(ms(4000), what, || held_in(&to) && !held_in(&from));
    t0.elapsed().as_millis()
}

/// Runs one interface-tracking scenario: n1 tracks `trk0` as `weight`; `failing_up`: the
/// link counts against n1 while up (reverse). Starts with the link not against n1 and n1
/// master, turns it against n1 (the VIP moves to n2), then back; n1's log has `logged`.
fn interface_scenario(name: &str, weight: &str, failing_up: bool, logged: &str) {
    let mut lab = Lab::named("lbctrk", 2);
    let n1 = lab.ns("n1");
    ip(&["-n", &n1, "link", "add", LINK, "type", "veth", "peer", "name", "trk0p"]);
    ip(&["-n", &n1, "link", "set", "trk0p", "up"]);
    set_link(&lab, !failing_up);
    start_pair(&mut lab, &fast_manifest("", &format!("    track_interfaces: {{{LINK}: {weight}}}\n")));
    moves_to(&mut lab, "n1", Instant::now(), &format!("{name}: n1 to take the VIP"));
    let (fail, recover) = if failing_up { ("up", "down") } else { ("down", "up") };
    let t0 = Instant::now();
    set_link(&lab, failing_up);
    let took = moves_to(&mut lab, "n2", t0, &format!("{name}: the VIP to move to n2 with {LINK} {fail}"));
    eprintln!("{name}: {LINK} {fail} -> VIP on n2 in {took} ms");
    let t1 = Instant::now();
    set_link(&lab, !failing_up);
    let took = moves_to(&mut lab, "n1", t1, &format!("{name}: the VIP back on n1 with {LINK} {recover}"));
    eprintln!("{name}: {LINK} {recover} -> VIP back on n1 in {took} ms");
    let log = lab.log("n1", DAEMON);
    for n in ["n1", "n2"] {
        lab.stop(n, DAEMON, How::Term);
    }
    assert!(log.contains(logged), "{name}: {logged} not logged: {}", common::lab::tail(&log, 20));
}

#[test]
#[ignore = "needs root: network namespaces"]
fn a_tracked_interface_with_a_weight_moves_the_vip_down_and_back_up() {
    interface_scenario("weight -60", "{weight: -60}", false, "priority=Some(90)");
}

#[test]
#[ignore = "needs root: network namespaces"]
fn a_tracked_interface_with_weight_0_faults_the_master_while_down() {
    interface_scenario("weight 0", "{weight: 0}", false, FAULTED);
}

#[test]
#[ignore = "needs root: network namespaces"]
fn a_reversed_tracked_interface_lowers_the_priority_while_up() {
    interface_scenario("weight 60 reverse", "{weight: 60, reverse: true}", true, "priority=Some(90)");
}

#[test]
#[ignore = "needs root: network namespaces"]
fn a_reversed_tracked_interface_with_weight_0_faults_the_master_while_up() {
    interface_scenario("weight 0 reverse", "{weight: 0, reverse: true}", true, FAULTED);
}

/// n1 tracks a file of its own directory with `use_weight`; returns the lab and the file.
fn file_lab(use_weight: &str, initial: &str) -> (Lab, std::path::PathBuf) {
    let mut lab = Lab::named("lbctrk", 2);
    let file = lab.node_dir("n1").join("weight");
    std::fs::write(&file, initial).unwrap();
    let top = format!("track_files:\n  load: {{path: {}}}\n\n", file.display());
    start_pair(&mut lab, &fast_manifest(&top, &format!("    track_files: {{load: {use_weight}}}\n")));
    (lab, file)
}

/// n1 tracks a file with `use_weight`, starting at 0 (n1 master): writing `failing` moves
/// the VIP to n2, 0 brings it back. Returns the lab and the file for more steps.
fn file_scenario(name: &str, use_weight: &str, failing: &str) -> (Lab, std::path::PathBuf) {
    let (mut lab, file) = file_lab(use_weight, "0\n");
    moves_to(&mut lab, "n1", Instant::now(), &format!("{name}: n1 to take the VIP at 0"));
    let t0 = Instant::now();
    std::fs::write(&file, format!("{failing}\n")).unwrap();
    let took = moves_to(&mut lab, "n2", t0, &format!("{name}: the VIP to move to n2 at {failing}"));
    eprintln!("{name}: file {failing} -> VIP on n2 in {took} ms");
    let t1 = Instant::now();
    std::fs::write(&file, "0\n").unwrap();
    let took = moves_to(&mut lab, "n1", t1, &format!("{name}: the VIP back on n1 at 0"));
    eprintln!("{name}: file 0 -> VIP back on n1 in {took} ms");
    (lab, file)
}

#[test]
#[ignore = "needs root: network namespaces"]
fn a_track_files_number_moves_the_vip_and_a_removed_file_counts_as_0() {
    let (mut lab, file) = file_scenario("the file's weight", "{}", "-60");
    std::fs::write(&file, "-60\n").unwrap();
    moves_to(&mut lab, "n2", Instant::now(), "the VIP on n2 at -60 again");
    let t2 = Instant::now();
    std::fs::remove_file(&file).unwrap();
    let took = moves_to(&mut lab, "n1", t2, "the VIP back on n1 with the file removed (0)");
    eprintln!("file removed -> VIP back on n1 in {took} ms");
    for n in ["n1", "n2"] {
        lab.stop(n, DAEMON, How::Term);
    }
}

#[test]
#[ignore = "needs root: network namespaces"]
fn a_track_file_with_weight_0_faults_the_master_while_its_number_is_not_0() {
    let (mut lab, _) = file_scenario("weight 0", "{weight: 0}", "1");
    let log = lab.log("n1", DAEMON);
    for n in ["n1", "n2"] {
        lab.stop(n, DAEMON, How::Term);
    }
    assert!(log.contains("FAULT"), "{}", common::lab::tail(&log, 30));
}
