//! keepalived's process-wide settings as node keys, against the real kernel (the project's
//! VRRP lab):
//!
//! - `nodes.N.network_namespace` (keepalived's `net_namespace`): `lbconverge run` started in
//!   this test's own network namespace, for a node whose namespace is the lab's n1, enters
//!   it: the daemon's process is in n1's namespace, the VIP is on n1's eth0 and in no
//!   interface of the namespace it was started in, and a graceful stop takes it away.
//! - `nodes.N.auto_realtime` (keepalived's `max_auto_priority` / `min_auto_priority_delay`):
//!   the VRRP thread of a master runs SCHED_OTHER while its timers are on time; the daemon
//!   stopped (SIGSTOP) past the delay and let go, its thread is SCHED_RR at 1, then 2 at the
//!   next late timer, and stays at the maximum after that.
//!
//! Needs root and iproute2; namespaces `lbcglob<pid>-...`, deleted at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::time::Duration;

use common::lab::vrrp::{DAEMON, lbconverge_bin, start_manifest};
use common::lab::{How, Lab, node_v4};

const VIP: &str = "10.88.0.50";

/// One director n1 of VRRPv3 (100 ms adverts) holding the VIP, with `node_extra` under n1.
fn manifest(node_extra: &str) -> String {
    format!(
        "version: 1\nnodes:\n  n1:\n    roles: [director]\n    addresses: [{}/24]\n    interface: eth0\n{node_extra}\
         vrrp:\n  VI_1:\n    vrid: 51\n    version: 3\n    advert_interval: 100ms\n    members: {{n1: {{priority: 150}}}}\n    vips: [{VIP}/24]\n",
        node_v4(0)
    )
}

fn holds_vip(addrs: &str) -> bool {
    addrs.contains(&format!("{VIP}/24"))
}

/// The addresses of eth0 in namespace `ns`.
fn eth0(ns: &str) -> String {
    common::lab::ip(&["-n", ns, "-br", "addr", "show", "dev", "eth0"])
}

#[test]
#[ignore = "needs root: network namespaces"]
fn run_started_outside_enters_the_nodes_network_namespace_and_holds_the_vip_only_there() {
    let mut lab = Lab::named("lbcglob", 1);
    let ns = lab.ns("n1");
    let node_dir = lab.node_dir("n1");
    let file = node_dir.join("manifest.yaml");
    std::fs::write(&file, manifest(&format!("    network_namespace: {ns}\n"))).unwrap();
    let state = node_dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    // The lab starts processes in a node's namespace: nsenter takes this one back to the
    // namespace of the test itself, where nothing of the lab is.
    let here = format!("--net=/proc/{}/ns/net", std::process::id());
    let argv: Vec<String> = [
        "nsenter",
        &here,
        &lbconverge_bin(),
        "--state-dir",
        &state.display().to_string(),
        "run",
        &file.display().to_string(),
        "--node",
        "n1",
        "--control",
        &node_dir.join("control.sock").display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let pid = lab.spawn("n1", DAEMON, &argv, &[]);
    lab.wait(Duration::from_secs(5), "the VIP on n1's eth0", || holds_vip(&eth0(&ns)));
    let inode = |path: &str| std::fs::metadata(path).map(|m| std::os::unix::fs::MetadataExt::ino(&m)).unwrap();
    let (daemon, target) = (inode(&format!("/proc/{pid}/ns/net")), inode(&format!("/run/netns/{ns}")));
    assert_eq!(daemon, target, "the daemon is not in n1's namespace");
    assert_ne!(inode("/proc/self/ns/net"), target, "the test itself runs in n1's namespace");
    let outside = common::lab::ip(&["-br", "addr", "show"]);
    assert!(!holds_vip(&outside), "the VIP is in the namespace run was started in:\n{outside}");
    let log = lab.log("n1", DAEMON);
    assert!(log.contains("entered the node's network namespace"), "{log}");
    lab.stop("n1", DAEMON, How::Term);
    assert!(!holds_vip(&lab.addrs("n1")), "a graceful stop leaves the VIP: {}", lab.addrs("n1"));
}

/// The scheduling policy and realtime priority of the daemon's thread named `name`, from
/// /proc/PID/task/TID/stat (fields 41 and 40).
fn thread_scheduling(pid: u32, name: &str) -> Option<(u32, u32)> {
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
        let after: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        // `after` starts at field 3 (state).
        return Some((after[41 - 3].parse().ok()?, after[40 - 3].parse().ok()?));
    }
    None
}

#[test]
#[ignore = "needs root: network namespaces, SCHED_RR"]
fn auto_realtime_makes_a_late_vrrp_thread_sched_rr_one_step_at_a_time_up_to_the_maximum() {
    const SCHED_OTHER: u32 = 0;
    const SCHED_RR: u32 = 2;
    let mut lab = Lab::named("lbcglob", 1);
    let pid = start_manifest(&mut lab, 0, &manifest("    auto_realtime: {max_priority: 2, delay: 200ms}\n"));
    let ns = lab.ns("n1");
    lab.wait(Duration::from_secs(5), "the VIP on n1", || holds_vip(&eth0(&ns)));
    // On time (a second of 100 ms adverts): normal scheduling.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(thread_scheduling(pid, "vrrp-VI_1"), Some((SCHED_OTHER, 0)));
    let late = |lab: &mut Lab| {
        lab.signal("n1", DAEMON, libc::SIGSTOP);
        std::thread::sleep(Duration::from_millis(600));
        lab.signal("n1", DAEMON, libc::SIGCONT);
        std::thread::sleep(Duration::from_millis(300));
    };
    for want in [1, 2, 2] {
        late(&mut lab);
        assert_eq!(thread_scheduling(pid, "vrrp-VI_1"), Some((SCHED_RR, want)), "{}", lab.log("n1", DAEMON));
    }
    let log = lab.log("n1", DAEMON);
    assert_eq!(log.matches("vrrp timer fired late: thread now SCHED_RR").count(), 2, "{log}");
    lab.check_running();
}
