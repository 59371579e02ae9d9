//! What a director does at start and when its own link goes, on the real kernel: two
//! directors in network namespaces (the project's VRRP lab: n1 at priority 150, n2 at 100,
//! VRRPv3 with 100 ms adverts). n2 starts first and holds the VIP; then n1 starts.
//!
//! - `track_scripts.S.init_fail` (keepalived's `init_fail`): n1 tracks a failing weight-0
//!   script that needs 3 failures to count as failed. Without `init_fail` n1 takes the VIP
//!   at once and gives it back when the third failure comes; with it n1 never takes the
//!   VIP, and takes it when the script first passes.
//! - `vrrp.X.startup_delay` (keepalived's `vrrp_startup_delay`): n1 stays silent that long
//!   (n2 keeps the VIP), then preempts; without a delay n1 preempts at once.
//! - `vrrp.X.startup_delay_after_boot` (keepalived's `vrrp_delay_after_boot`): n1 stays
//!   silent until the system has been up that long (2 s from n1's start), then preempts;
//!   with a time the system is past, at once.
//! - `vrrp.X.track_own_interface: false` (keepalived's `dont_track_primary`): n1's cable
//!   pulled, n1 keeps the VIP and logs no FAULT (by default it drops it); once the cable is
//!   back, n2 hears n1 and steps down.
//!
//! Each case runs its control first (the setting off), so it can fail on a build that
//! ignores the setting. Needs root and iproute2; namespaces `lbcsta<pid>-...`, deleted at
//! the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::lab::vrrp::{DAEMON, fast_manifest, holds_on_eth0, start_manifest};
use common::lab::{How, Lab};

const VIP: Ipv4Addr = Ipv4Addr::new(10, 88, 0, 50);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// True when namespace `ns` holds the VIP.
fn held_in(ns: &str) -> bool {
    holds_on_eth0(ns, &VIP.to_string())
}

/// A lab with n2 started alone and holding the VIP.
fn lab_with_n2_master() -> Lab {
    let mut lab = Lab::named("lbcsta", 2);
    start_manifest(&mut lab, 1, &fast_manifest("", ""));
    let n2 = lab.ns("n2");
    lab.wait(ms(4000), "n2 alone to take the VIP", || held_in(&n2));
    lab
}

/// Samples every 10 ms for `span`: the first time n1 holds the VIP, if it does.
fn n1_takes_within(lab: &mut Lab, span: Duration) -> Option<Duration> {
    let (n1, t0) = (lab.ns("n1"), Instant::now());
    while t0.elapsed() < span {
        if held_in(&n1) {
            return Some(t0.elapsed());
        }
        lab.check_running();
        std::thread::sleep(ms(10));
    }
    None
}

fn stop_both(lab: &mut Lab) {
    for n in ["n1", "n2"] {
        lab.stop(n, DAEMON, How::Term);
    }
}

/// n1 tracks `test -e FILE` (weight 0, 3 failures to fail, `init_fail` as given) with
/// FILE absent, after n2 took the VIP. Returns the lab, the file, and when n1 first held
/// the VIP within 1.5 s.
fn init_fail_case(init_fail: bool) -> (Lab, std::path::PathBuf, Option<Duration>) {
    let mut lab = lab_with_n2_master();
    let file = lab.node_dir("n1").join("ok");
    let top = format!(
        "track_scripts:\n  chk:\n    command: [/usr/bin/test, -e, {}]\n    interval: 1s\n    fall: 3\n    rise: 1\n    init_fail: {init_fail}\n\n",
        file.display()
    );
    start_manifest(&mut lab, 0, &fast_manifest(&top, "    track_scripts: {chk: {weight: 0}}\n"));
    let took = n1_takes_within(&mut lab, ms(1500));
    (lab, file, took)
}

#[test]
#[ignore = "needs root: network namespaces"]
fn init_fail_keeps_a_director_out_until_its_script_first_passes() {
    let (mut lab, _, took) = init_fail_case(false);
    let took = took.expect("without init_fail, n1 takes the VIP before its script has failed 3 times");
    eprintln!("init_fail off: n1 took the VIP after {} ms", took.as_millis());
    let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
    lab.wait(ms(5000), "n1 to give the VIP back at its script's third failure", || !held_in(&n1) && held_in(&n2));
    stop_both(&mut lab);
    drop(lab);

    let (mut lab, file, took) = init_fail_case(true);
    assert_eq!(took, None, "with init_fail, n1 held the VIP while its script had never passed");
    let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
    assert!(held_in(&n2), "n2 lost the VIP: {}", lab.addrs("n2"));
    let t0 = Instant::now();
    std::fs::write(&file, "").unwrap();
    lab.wait(ms(3000), "n1 to take the VIP once its script passes", || held_in(&n1) && !held_in(&n2));
    eprintln!("init_fail on: script passing -> n1 master in {} ms", t0.elapsed().as_millis());
    stop_both(&mut lab);
}

/// n1 started with `key` (an instance's line, made just before n1 starts) after n2 took the
/// VIP; when n1 first held it (within 4 s).
fn startup_case(key: impl FnOnce() -> String) -> Option<Duration> {
    let mut lab = lab_with_n2_master();
    start_manifest(&mut lab, 0, &fast_manifest("", &key()));
    let took = n1_takes_within(&mut lab, ms(4000));
    stop_both(&mut lab);
    took
}

#[test]
#[ignore = "needs root: network namespaces"]
fn startup_delay_keeps_a_director_silent_that_long_then_it_preempts() {
    let took = startup_case(|| "    startup_delay: 0s\n".into()).expect("without a delay n1 preempts n2");
    eprintln!("startup_delay 0s: n1 preempted after {} ms", took.as_millis());
    assert!(took < ms(1500), "without a delay n1 took {took:?} to preempt");
    let took = startup_case(|| "    startup_delay: 2s\n".into()).expect("n1 preempts once its delay is over");
    eprintln!("startup_delay 2s: n1 preempted after {} ms", took.as_millis());
    assert!(took >= ms(1900), "n1 preempted after {took:?}, inside its 2 s delay");
}

/// How long this system has been up (`/proc/uptime`).
fn uptime() -> Duration {
    let text = std::fs::read_to_string("/proc/uptime").unwrap();
    Duration::from_secs_f64(text.split_whitespace().next().unwrap().parse().unwrap())
}

#[test]
#[ignore = "needs root: network namespaces"]
fn startup_delay_after_boot_keeps_a_director_silent_until_the_system_is_that_old() {
    let past = || "    startup_delay_after_boot: 1s\n".to_string();
    let took = startup_case(past).expect("with the boot long past n1 preempts n2");
    eprintln!("startup_delay_after_boot long past: n1 preempted after {} ms", took.as_millis());
    assert!(took < ms(1500), "with the boot long past n1 took {took:?} to preempt");
    let soon = || format!("    startup_delay_after_boot: {}ms\n", (uptime() + ms(2000)).as_millis());
    let took = startup_case(soon).expect("n1 preempts once the system is old enough");
    eprintln!("startup_delay_after_boot uptime + 2s: n1 preempted after {} ms", took.as_millis());
    assert!(took >= ms(1900), "n1 preempted after {took:?}, 2 s before the system was old enough");
}

/// n1 (with `instance` added to its manifest's instance) master over n2, then its cable pulled for 1.5 s: whether
/// n1 held the VIP throughout, and n1's log. The cable comes back and one master is left.
fn cable_case(instance: &str) -> (bool, String) {
    let mut lab = lab_with_n2_master();
    start_manifest(&mut lab, 0, &fast_manifest("", instance));
    let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
    lab.wait(ms(4000), "n1 to preempt n2", || held_in(&n1) && !held_in(&n2));
    lab.link("n1", false);
    lab.wait(ms(4000), "n2 to take over from n1 without its cable", || held_in(&n2));
    let t0 = Instant::now();
    let mut kept = true;
    while t0.elapsed() < ms(1500) {
        kept &= held_in(&n1);
        std::thread::sleep(ms(10));
    }
    lab.link("n1", true);
    lab.wait(ms(4000), "one master, n1, once the cable is back", || held_in(&n1) && !held_in(&n2));
    let log = lab.log("n1", DAEMON);
    stop_both(&mut lab);
    (kept, log)
}

#[test]
#[ignore = "needs root: network namespaces"]
fn a_director_not_tracking_its_own_interface_keeps_its_vip_without_a_cable() {
    let (kept, log) = cable_case("");
    assert!(!kept, "by default n1 should leave MASTER without its cable");
    assert!(log.contains("FAULT"), "{}", common::lab::tail(&log, 30));
    let (kept, log) = cable_case("    track_own_interface: false\n");
    assert!(kept, "n1 dropped the VIP: {}", common::lab::tail(&log, 30));
    assert!(!log.contains("FAULT"), "n1 logged a FAULT: {}", common::lab::tail(&log, 30));
}
