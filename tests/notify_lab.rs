//! keepalived interop for what a master runs and holds besides the VIPs its adverts carry,
//! between network namespaces (real kernel, the project's VRRP lab): one instance with
//! per-state notify commands and the generic `notify`, and excluded VIPs of both families
//! (`excluded_vips`, keepalived's `virtual_ipaddress_excluded`), run by lbconverge on one
//! director and keepalived on the other, both ways.
//!
//! n1 (150) starts alone and becomes master; n2 (100) joins as backup; n1's link goes down
//! (n1 FAULT, n2 MASTER with every VIP, excluded ones too), comes back (n1 BACKUP, then
//! MASTER again; n2 BACKUP); both stop. Each node's state-specific command and its generic
//! `notify` append to one log. Checked:
//!
//! - the states each command saw, in order, are keepalived's on both nodes, whichever
//!   daemon runs there (keepalived starts its commands without waiting for them, so only
//!   each command's own order is compared across daemons); lbconverge's log is the exact
//!   interleaving (the state's command, then `notify` with keepalived's arguments);
//! - the master holds the excluded VIPs, the backup none of them, and the peer accepts the
//!   master's adverts: no second master while n1 holds the VIPs, and keepalived reports no
//!   advert whose addresses differ from its own (`vrrp_skip_check_adv_addr` off).
//!
//! Needs root, iproute2 and keepalived; namespaces `lbcnot<pid>-...`, deleted at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::process::Command;
use std::thread;
use std::time::Duration;

use common::lab::run_dir::RunDir;
use common::lab::vrrp::{DAEMON, Daemon, start_manifest};
use common::lab::{How, Lab, node_v4, node_v6};

const VIP: &str = "10.88.0.60";
const EXCLUDED_V4: &str = "10.88.0.61";
const EXCLUDED_V6: &str = "fd88::61";
const PRIORITIES: [u8; 2] = [150, 100];
const ADVERT_MS: u64 = 200;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The notify commands' directory (under /run, sealed): each node's `state.sh` appends
/// `state <its first argument>` and `notify.sh` all its arguments to the node's
/// `notify.log`.
fn scripts(tag: &str) -> RunDir {
    let s = RunDir::new("lbcnot", tag);
    for n in ["n1", "n2"] {
        let log = s.path(n, "notify.log");
        s.script(n, "state.sh", &format!("echo \"state $1\" >> {log}"));
        s.script(n, "notify.sh", &format!("echo \"$*\" >> {log}"));
    }
    s.seal();
    s
}

/// Node `i`'s manifest: its own commands (each node reads its own file).
fn manifest(s: &RunDir, i: usize) -> String {
    let node = format!("n{}", i + 1);
    let state = s.path(&node, "state.sh");
    let mut m = String::from("version: 1\nnodes:\n");
    for j in 0..2 {
        m.push_str(&format!(
            "  n{}: {{roles: [director], addresses: [{}/24, {}/64], interface: eth0}}\n",
            j + 1,
            node_v4(j),
            node_v6(j)
        ));
    }
    m.push_str(&format!(
        "vrrp:
  VI_1:
    vrid: 61
    version: 3
    advert_interval: {ADVERT_MS}ms
    members: {{n1: {{priority: {}}}, n2: {{priority: {}}}}}
    vips: [{VIP}/24]
    excluded_vips: [{EXCLUDED_V4}/32, '{EXCLUDED_V6}/64']
    notify_master: [{state}, master]
    notify_backup: [{state}, backup]
    notify_fault: [{state}, fault]
    notify_stop: [{state}, stop]
    notify: [{}]
",
        PRIORITIES[0],
        PRIORITIES[1],
        s.path(&node, "notify.sh")
    ));
    m
}

/// Node `i`'s keepalived.conf, the same instance.
fn keepalived_conf(s: &RunDir, i: usize) -> String {
    let node = format!("n{}", i + 1);
    let state = s.path(&node, "state.sh");
    format!(
        "global_defs {{
    router_id lbc-{node}
    enable_script_security
    script_user root
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 61
    version 3
    priority {}
    advert_int 0.{}
    virtual_ipaddress {{
        {VIP}/24
    }}
    virtual_ipaddress_excluded {{
        {EXCLUDED_V4}/32
        {EXCLUDED_V6}/64
    }}
    notify_master \"{state} master\"
    notify_backup \"{state} backup\"
    notify_fault \"{state} fault\"
    notify_stop \"{state} stop\"
    notify {}
}}
",
        PRIORITIES[i],
        ADVERT_MS / 100,
        s.path(&node, "notify.sh")
    )
}

fn start(lab: &mut Lab, s: &RunDir, i: usize, d: Daemon) {
    let node = lab.nodes()[i].clone();
    match d {
        Daemon::Keepalived => {
            lab.keepalived(&node, DAEMON, &keepalived_conf(s, i));
        }
        Daemon::Lbconverge => {
            start_manifest(lab, i, &manifest(s, i));
        }
    }
    lab.set_active(&node, true);
}

/// What namespace `ns` holds of the three VIPs: (advertised, excluded IPv4, excluded IPv6).
fn held(ns: &str) -> (bool, bool, bool) {
    let out = Command::new("ip").args(["-n", ns, "addr", "show", "dev", "eth0"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let has = |a: &str| text.contains(&format!(" {a}/"));
    (has(VIP), has(EXCLUDED_V4), has(EXCLUDED_V6))
}

fn all(ns: &str) -> bool {
    held(ns) == (true, true, true)
}

fn none(ns: &str) -> bool {
    held(ns) == (false, false, false)
}

/// What one kind of line of a notify log saw, in order: the states of the `state` lines
/// (the state-specific commands), or the `INSTANCE` lines of the generic `notify` whole.
fn seen(log: &str, generic: bool) -> Vec<String> {
    log.lines()
        .filter_map(|l| match (generic, l.split_whitespace().collect::<Vec<_>>().as_slice()) {
            (false, ["state", s]) => Some(s.to_uppercase()),
            (true, ["INSTANCE", ..]) => Some(l.to_string()),
            _ => None,
        })
        .collect()
}

fn scenario(d: [Daemon; 2]) {
    let tag = format!("{}{}", d[0] as u8, d[1] as u8);
    let s = scripts(&tag);
    let mut lab = Lab::named("lbcnot", 2);
    let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
    eprintln!("== notify and excluded VIPs: n1 {:?} (150), n2 {:?} (100)", d[0], d[1]);
    start(&mut lab, &s, 0, d[0]);
    lab.wait(ms(5000), "n1 to hold its three VIPs alone", || all(&n1));
    start(&mut lab, &s, 1, d[1]);
    // n2 hears n1's adverts: it stays backup, holding nothing, for 10 advert intervals
    // past its own master-down time.
    let end = std::time::Instant::now() + ms(ADVERT_MS * 14);
    while std::time::Instant::now() < end {
        assert!(all(&n1) && none(&n2), "n1 alone holds the VIPs: n1 {:?}, n2 {:?}", held(&n1), held(&n2));
        thread::sleep(ms(10));
    }

    // Failure: n1's cable is pulled; n2 takes all three.
    lab.link("n1", false);
    lab.wait(ms(5000), "n2 to hold the three VIPs, n1 none", || all(&n2) && none(&n1));
    thread::sleep(ms(ADVERT_MS * 5));
    assert!(all(&n2) && none(&n1), "the failure held: n2 {:?}, n1 {:?}", held(&n2), held(&n1));

    // Recovery: n1 comes back and preempts.
    lab.link("n1", true);
    lab.wait(ms(5000), "n1 to hold the three VIPs again, n2 none", || all(&n1) && none(&n2));
    thread::sleep(ms(ADVERT_MS * 5));
    // The backup first: a master that stops first hands over (priority 0), and the backup
    // would become master before its own stop.
    for n in ["n2", "n1"] {
        lab.stop(n, DAEMON, How::Term);
    }
    thread::sleep(ms(300));

    let want =
        [vec!["BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER", "STOP"], vec!["BACKUP", "MASTER", "BACKUP", "STOP"]];
    for (i, node) in ["n1", "n2"].iter().enumerate() {
        let log = s.read(node, "notify.log");
        eprintln!("   {node} ({:?}): {}", d[i], log.lines().collect::<Vec<_>>().join(" | "));
        // keepalived passes the priority in every state, FAULT too.
        let generic: Vec<String> = want[i].iter().map(|st| format!("INSTANCE VI_1 {st} {}", PRIORITIES[i])).collect();
        assert_eq!(seen(&log, false), want[i], "{node} ({:?}): the states its commands saw:\n{log}", d[i]);
        assert_eq!(seen(&log, true), generic, "{node} ({:?}): what `notify` saw:\n{log}", d[i]);
        if d[i] == Daemon::Lbconverge {
            let exact: Vec<String> = want[i]
                .iter()
                .zip(&generic)
                .flat_map(|(st, g)| [format!("state {}", st.to_lowercase()), g.clone()])
                .collect();
            assert_eq!(log.lines().collect::<Vec<_>>(), exact, "{node}: lbconverge's order");
        } else {
            let said = lab.log(node, DAEMON);
            for bad in ["not present in MASTER advert", "invalid ip address count", "address list"] {
                assert!(
                    !said.contains(bad),
                    "{node}: keepalived found the adverts' addresses wrong (`{bad}`):\n{said}"
                );
            }
        }
    }
}

#[test]
#[ignore = "needs root: network namespaces and keepalived"]
fn notify_order_and_excluded_vips_lbconverge_master_keepalived_backup() {
    scenario([Daemon::Lbconverge, Daemon::Keepalived]);
}

#[test]
#[ignore = "needs root: network namespaces and keepalived"]
fn notify_order_and_excluded_vips_keepalived_master_lbconverge_backup() {
    scenario([Daemon::Keepalived, Daemon::Lbconverge]);
}

const REMOVED_VIP: &str = "10.88.0.62";

/// n1 alone with VI_1 and VI_2 (VI_2 with every notify command; `deleted`: keepalived's
/// `notify_deleted` with a script), as keepalived.conf and as the manifest lbconverge's
/// import makes of it; `keep_vi2: false`: the configuration a reload takes, VI_1 alone.
fn removal_config(s: &RunDir, d: Daemon, deleted: bool, keep_vi2: bool) -> String {
    let (state, notify) = (s.path("n1", "state.sh"), s.path("n1", "notify.sh"));
    match d {
        Daemon::Keepalived => {
            let instance = |name: &str, vrid: u8, vip: &str, extra: &str| {
                format!(
                    "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    version 3\n    priority 150\n    advert_int 0.2\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n{extra}}}\n"
                )
            };
            let mut extra = format!(
                "    notify_master \"{state} master\"\n    notify_backup \"{state} backup\"\n    notify_fault \"{state} fault\"\n    notify_stop \"{state} stop\"\n    notify {notify}\n"
            );
            if deleted {
                extra.push_str(&format!("    notify_deleted \"{state} deleted\"\n"));
            }
            let mut c = "global_defs {\n    router_id lbc-n1\n    enable_script_security\n    script_user root\n}\n"
                .to_string();
            c.push_str(&instance("VI_1", 61, VIP, ""));
            if keep_vi2 {
                c.push_str(&instance("VI_2", 62, REMOVED_VIP, &extra));
            }
            c
        }
        Daemon::Lbconverge => {
            let (v4, v6) = (node_v4(0), node_v6(0));
            let mut m = format!(
                "version: 1\nnodes:\n  n1: {{roles: [director], addresses: [{v4}/24, {v6}/64], interface: eth0}}\nvrrp:\n  VI_1:\n    vrid: 61\n    advert_interval: 200ms\n    members: {{n1: {{priority: 150}}}}\n    vips: [{VIP}/24]\n"
            );
            if keep_vi2 {
                m.push_str(&format!(
                    "  VI_2:\n    vrid: 62\n    advert_interval: 200ms\n    members: {{n1: {{priority: 150}}}}\n    vips: [{REMOVED_VIP}/24]\n    notify_master: [{state}, master]\n    notify_backup: [{state}, backup]\n    notify_fault: [{state}, fault]\n    notify_stop: [{state}, stop]\n    notify: [{notify}]\n"
                ));
                m.push_str(&match deleted {
                    true => format!("    notify_deleted: [{state}, deleted]\n"),
                    false => "    removal_notify: fault\n".to_string(),
                });
            }
            m
        }
    }
}

/// Runs `d` on n1 with VI_1 and VI_2, both master, then reloads without VI_2 and stops;
/// returns VI_2's notify log.
fn removal_run(d: Daemon, deleted: bool) -> String {
    let s = scripts(&format!("rm{}{}", d as u8, u8::from(deleted)));
    let mut lab = Lab::named("lbcnot", 1);
    let n1 = lab.ns("n1");
    let holds = |vip: &str| {
        let out = Command::new("ip").args(["-n", &n1, "addr", "show", "dev", "eth0"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).contains(&format!(" {vip}/"))
    };
    let file = match d {
        Daemon::Keepalived => {
            lab.keepalived("n1", DAEMON, &removal_config(&s, d, deleted, true));
            lab.node_dir("n1").join(format!("{DAEMON}.conf"))
        }
        Daemon::Lbconverge => {
            start_manifest(&mut lab, 0, &removal_config(&s, d, deleted, true));
            lab.node_dir("n1").join("manifest.yaml")
        }
    };
    lab.wait(ms(5000), "n1 master of VI_1 and VI_2", || holds(VIP) && holds(REMOVED_VIP));
    let told = |s: &RunDir| s.read("n1", "notify.log").lines().count();
    lab.wait(ms(3000), "VI_2's BACKUP and MASTER commands", || told(&s) >= 4);
    std::fs::write(&file, removal_config(&s, d, deleted, false)).unwrap();
    lab.signal("n1", DAEMON, libc::SIGHUP);
    lab.wait(ms(5000), "VI_2's VIP to go with the reload", || !holds(REMOVED_VIP));
    lab.wait(ms(3000), "the removal's commands", || told(&s) >= if deleted { 6 } else { 5 });
    thread::sleep(ms(300));
    assert!(holds(VIP), "VI_1 kept its VIP through the reload");
    lab.stop("n1", DAEMON, How::Term);
    s.read("n1", "notify.log")
}

/// A reload that removes a master instance tells its commands what keepalived tells them:
/// FAULT to `notify` alone by default (`removal_notify: fault`, as the import writes it;
/// `notify_fault` does not run), DELETED with `notify_deleted` (and its script);
/// keepalived and lbconverge alike, lbconverge in exactly keepalived's order (the state's
/// command, then `notify`).
#[test]
#[ignore = "needs root: network namespaces and keepalived"]
fn a_reload_that_removes_an_instance_tells_what_keepalived_tells() {
    for deleted in [false, true] {
        let last = if deleted { "DELETED" } else { "FAULT" };
        let generic: Vec<String> =
            ["BACKUP", "MASTER", last].iter().map(|st| format!("INSTANCE VI_2 {st} 150")).collect();
        let want = if deleted { vec!["BACKUP", "MASTER", "DELETED"] } else { vec!["BACKUP", "MASTER"] };
        for d in [Daemon::Keepalived, Daemon::Lbconverge] {
            let log = removal_run(d, deleted);
            eprintln!("   {d:?}, notify_deleted {deleted}: {}", log.lines().collect::<Vec<_>>().join(" | "));
            assert_eq!(seen(&log, false), want, "{d:?}: the states VI_2's commands saw:\n{log}");
            assert_eq!(seen(&log, true), generic, "{d:?}: what VI_2's `notify` saw:\n{log}");
            if d == Daemon::Lbconverge {
                let mut exact: Vec<String> = want
                    .iter()
                    .zip(&generic)
                    .flat_map(|(st, g)| [format!("state {}", st.to_lowercase()), g.clone()])
                    .collect();
                if !deleted {
                    exact.push(generic[2].clone());
                }
                assert_eq!(log.lines().collect::<Vec<_>>(), exact, "lbconverge's order");
            }
        }
    }
}

#[test]
fn the_lab_manifests_validate() {
    let s = RunDir::at(std::env::temp_dir().join(format!("lbcnot-validate-{}", std::process::id())));
    for i in 0..2 {
        let m = s.dir.join(format!("m{i}.yaml"));
        std::fs::write(&m, manifest(&s, i)).unwrap();
        let out = common::lbconverge(&["validate", m.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}
