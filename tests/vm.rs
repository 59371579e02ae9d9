//! Real IPVS in a VM (Debian's kernel under qemu, tests/vm/ipvs-vm): every scheduler and
//! forwarding method, read-back of ipvsadm tables, drift repair, stale plans, partial
//! failure, every example node, end-to-end HTTP through DR, NAT and TUN clusters, health
//! checks driving IPVS under `lbconverge run`, VRRP over an ipvlan (keepalived's `use_ipvlan`,
//! which the host's kernel cannot make), connections kept across a VRRP failover
//! by connection sync, active-active directors announced over BGP through BIRD or FRR, and
//! firewall marks from the manifest steering two client subnets to their services.
//! Each case is a guest script in tests/vm/cases/ that prints PASS/FAIL lines.
//! Needs root (qemu and packages are installed by tools/test); ignored otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::process::Command;
use std::sync::Mutex;

/// One VM at a time: the machine has two cores.
static VM: Mutex<()> = Mutex::new(());

/// Runs `script` (a shell snippet, cwd = the repository copy in the guest) in a fresh VM.
fn in_vm(name: &str, script: &str) {
    in_vm_with(name, script, &[]);
}

/// The same, with host programs copied in at the same paths (with their libraries).
fn in_vm_with(name: &str, script: &str, programs: &[&str]) {
    assert!(common::is_root(), "VM tests need root to install qemu (run tools/test as root)");
    let _one = VM.lock().unwrap_or_else(|e| e.into_inner());
    let root = common::root();
    let bin = env!("CARGO_BIN_EXE_lbconverge");
    let add = |src: String, dst: &str| vec!["--add".to_string(), format!("{src}:{dst}")];
    let mut args: Vec<String> = Vec::new();
    args.extend(add(bin.to_string(), "/usr/local/bin/lbconverge"));
    args.extend(add(root.join("examples").display().to_string(), "/root/repo/examples"));
    args.extend(add(root.join("tests/vm").display().to_string(), "/root/repo/tests/vm"));
    args.extend(add(
        root.join("tests/fixtures/keepalived").display().to_string(),
        "/root/repo/tests/fixtures/keepalived",
    ));
    for p in programs {
        assert!(std::path::Path::new(p).exists(), "{p} is missing on this host (tools/test installs it)");
        args.extend(add((*p).to_string(), p));
    }
    args.extend(["--".into(), "bash".into(), "-c".into(), format!("cd /root/repo && {script}")]);
    let out = Command::new(root.join("tests/vm/ipvs-vm")).args(&args).output().expect("run tests/vm/ipvs-vm");
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{log}");
    assert!(out.status.success() && log.contains("ALL PASSED"), "VM case {name} failed ({}):\n{log}", out.status);
}

fn case(name: &str) {
    in_vm(name, &format!(". tests/vm/cases/{name}.sh"));
}

#[test]
#[ignore = "needs root and qemu: real IPVS in a VM"]
fn every_scheduler_and_forwarding_method() {
    case("features");
}

#[test]
#[ignore = "needs root and qemu: real IPVS in a VM"]
fn ipvsadm_tables_read_back_identically() {
    case("readback");
}

#[test]
#[ignore = "needs root and qemu: real IPVS in a VM"]
fn drift_is_repaired_and_unmanaged_services_survive() {
    case("drift");
}

#[test]
#[ignore = "needs root and qemu: real IPVS in a VM"]
fn stale_plan_is_refused() {
    case("stale");
}

#[test]
#[ignore = "needs root and qemu: real IPVS in a VM"]
fn partial_failure_is_finished_by_a_second_apply() {
    case("partial");
}

#[test]
#[ignore = "needs root and qemu: real IPVS in a VM"]
fn end_to_end_dr_with_backend_removal() {
    case("e2e-dr");
}

#[test]
#[ignore = "needs root and qemu: real IPVS in a VM"]
fn end_to_end_nat() {
    case("e2e-nat");
}

#[test]
#[ignore = "needs root and qemu: real IPVS in a VM"]
fn end_to_end_health_checks() {
    case("e2e-health");
}

#[test]
#[ignore = "needs root and qemu: real IPVS in a VM"]
fn end_to_end_data_path_health_check() {
    case("e2e-health-dr");
}

/// Two cases in one boot (both need keepalived; a boot costs CI time): the health checks
/// beside keepalived's, then VRRP over an ipvlan, which the host's kernel cannot make (no
/// ipvlan driver), with keepalived's `use_ipvlan` as a peer. Each runs in its own subshell
/// (each ends with `finish`); the boot fails if either fails.
#[test]
#[ignore = "needs root, qemu and keepalived: real IPVS in a VM"]
fn health_checks_side_by_side_with_keepalived_and_vrrp_over_an_ipvlan() {
    let script = "(. tests/vm/cases/health-vs-keepalived.sh); h=$?; (. tests/vm/cases/ipvlan.sh); i=$?; \
                  echo \"health-vs-keepalived: exit $h, ipvlan: exit $i\"; [ $h = 0 ] && [ $i = 0 ]";
    in_vm_with("health-vs-keepalived and ipvlan", script, &["/usr/sbin/keepalived"]);
}

#[test]
#[ignore = "needs root, qemu and keepalived: real IPVS in a VM"]
fn keepalived_tables_round_trip_through_import_and_plan() {
    in_vm_with("import", ". tests/vm/cases/import.sh", &["/usr/sbin/keepalived"]);
}

#[test]
#[ignore = "needs root and qemu: real IPVS in a VM"]
fn firewall_marks_from_the_manifest_steer_two_client_subnets_and_drift_is_repaired() {
    case("fwmark");
}

#[test]
#[ignore = "needs root and qemu: real IPVS in a VM"]
fn end_to_end_tun() {
    case("e2e-tun");
}

#[test]
#[ignore = "needs root and qemu: real IPVS in a VM"]
fn connections_survive_a_failover_with_connection_sync_and_are_cut_without() {
    let held = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("lbc-held");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let built = Command::new(rustc)
        .args(["-O", "--edition", "2021", "tests/vm/held.rs", "-o"])
        .arg(&held)
        .current_dir(common::root())
        .status()
        .expect("run rustc");
    assert!(built.success(), "tests/vm/held.rs did not build");
    let held = held.display().to_string();
    in_vm_with("sync", &format!("export HELD={held}; . tests/vm/cases/sync.sh"), &[&held]);
}

#[test]
#[ignore = "needs root, qemu and bird2: real IPVS in a VM"]
fn active_active_directors_are_announced_over_bgp_and_withdrawn_when_unhealthy_or_stopping() {
    in_vm_with("bgp", ". tests/vm/cases/bgp.sh", &["/usr/sbin/bird", "/usr/sbin/birdc"]);
}

/// The same case with FRR 8.4 on the directors (zebra, bfdd, bgpd loaded with `show --routing
/// frr` as printed); the router stays BIRD.
#[test]
#[ignore = "needs root, qemu, bird2 and frr: real IPVS in a VM"]
fn active_active_directors_are_announced_over_bgp_through_frr_and_bfd_drops_a_dead_one() {
    let frr = ["/usr/lib/frr/zebra", "/usr/lib/frr/bfdd", "/usr/lib/frr/bgpd", "/usr/bin/vtysh"];
    let programs: Vec<&str> = ["/usr/sbin/bird", "/usr/sbin/birdc"].into_iter().chain(frr).collect();
    in_vm_with("bgp-frr", "DIRECTORS=frr . tests/vm/cases/bgp.sh", &programs);
}

/// What the examples' nodes need of their host besides the kernel (`plan` checks it):
/// every command they name, as a root-owned stub, and every password variable, set.
fn example_host_setup() -> String {
    fn walk(v: &serde_json::Value, key: &str, out: &mut std::collections::BTreeSet<(bool, String)>) {
        match v {
            serde_json::Value::Object(m) => m.iter().for_each(|(k, v)| walk(v, k, out)),
            serde_json::Value::Array(a)
                if key == "command" || key.starts_with("notify") || key.starts_with("quorum_") =>
            {
                if let Some(p) = a.first().and_then(|p| p.as_str()).filter(|p| p.starts_with('/')) {
                    out.insert((true, p.to_string()));
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, key, out)),
            serde_json::Value::String(s) if key == "password_env" => {
                out.insert((false, s.clone()));
            }
            _ => {}
        }
    }
    let mut needs = std::collections::BTreeSet::new();
    for ex in common::examples() {
        let loaded = lbconverge::manifest::load(&ex).unwrap();
        walk(&serde_json::to_value(&loaded.manifest).unwrap(), "", &mut needs);
    }
    // The guest's root directory comes writable by everyone; script security refuses that.
    let mut s = String::from("chmod go-w /\n");
    for (command, what) in needs {
        if command {
            s += &format!(
                "[ -x {what} ] || {{ mkdir -p $(dirname {what}); printf '#!/bin/sh\\nexit 0\\n' > {what}; chmod 755 {what}; }}\n"
            );
        } else {
            s += &format!("export {what}=lbc-test\n");
        }
    }
    s
}

/// The guest script that applies every example on every node, each node in its own
/// namespace with the node's addresses on its interface.
fn every_example_script() -> String {
    let mut s = String::from(". tests/vm/lib.sh\nmodprobe ip_vs\nmodprobe ipip\n");
    s += &example_host_setup();
    let mut i = 0;
    for ex in common::examples() {
        let name = common::stem(&ex);
        let loaded = lbconverge::manifest::load(&ex).unwrap();
        for (node, n) in &loaded.manifest.nodes {
            i += 1;
            let ns = format!("n{i}");
            s += &format!(
                "host {ns}\nfor i in eth0 eth1; do ip -n {ns} link add $i type dummy; ip -n {ns} link set $i up; done\n"
            );
            for a in &n.addresses {
                let flag = if a.contains(':') { " nodad" } else { "" };
                s += &format!("ip -n {ns} addr add {a} dev {}{flag}\n", n.interface);
            }
            let m = format!("examples/{name}.yaml");
            s +=
                &format!("exit_is \"apply {name} {node}\" 0 lbc {ns} apply {m} --node {node} --auto-approve --quiet\n");
            s += &format!(
                "exit_is \"plan {name} {node}: no changes\" 0 lbc {ns} plan {m} --node {node} --detailed-exitcode\n"
            );
            s += &format!(
                "ip netns exec {ns} ipvsadm -S -n | sort > /tmp/a; ip netns exec {ns} lbconverge show --format ipvsadm | sort > /tmp/b\n"
            );
            s += &format!("same_file \"ipvsadm agrees with show on {name} {node}\" /tmp/a /tmp/b\n");
        }
    }
    s + "finish\n"
}

#[test]
#[ignore = "needs root and qemu: real IPVS in a VM"]
fn every_example_node_converges() {
    in_vm("every example node", &every_example_script());
}

#[test]
#[ignore = "needs root and qemu: real IPVS in a VM"]
fn gitops_commits_reach_ipvs_invalid_ones_are_rejected_and_drain_shows_everywhere() {
    in_vm_with("gitops", ". tests/vm/cases/gitops.sh", &["/usr/bin/git"]);
}
