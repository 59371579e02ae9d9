//! keepalived interop for the notify FIFO (keepalived's `vrrp_notify_fifo` and its script)
//! and priority-change notifications (`notify_priority_changes`), between network namespaces
//! (real kernel, the project's VRRP lab): one instance run by lbconverge on one director and
//! keepalived on the other, both ways; each daemon writes its events to a FIFO of its own
//! that the test reads, and starts a FIFO script that records its arguments.
//!
//! n1 (150) starts alone and becomes master; n2 (100) joins as backup; n1's link goes down
//! (n1 FAULT, n2 MASTER), comes back (n1 BACKUP, then MASTER again; n2 BACKUP); then each
//! node's track file changes its priority (n1 130 while master, n2 110 while backup) and
//! back; both stop. Checked, whichever daemon runs a node:
//!
//! - the FIFO's lines are keepalived's, byte for byte and in order: `INSTANCE "VI_1" MASTER
//!   150`, ..., `MASTER_PRIORITY 130` / `BACKUP_PRIORITY 110` on a priority change, and
//!   `STOP` at the end (a master hearing a lower priority writes `MASTER_RX_LOWER_PRI`, on a
//!   race of the failback; those lines are left out of the comparison);
//! - the FIFO script was started with the FIFO's path as its last argument and is gone
//!   once the daemon stopped;
//! - the daemon created the FIFO and removed it when it stopped.
//!
//! Needs root, iproute2 and keepalived; namespaces `lbcfifo<pid>-...`, deleted at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::lab::run_dir::RunDir;
use common::lab::vrrp::{DAEMON, Daemon, start_manifest};
use common::lab::{How, Lab, node_v4};

const VIP: &str = "10.88.0.70";
const PRIORITIES: [u8; 2] = [150, 100];
const ADVERT_MS: u64 = 200;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Each node's FIFO, FIFO script and track file (under /run, sealed): `reader.sh` records
/// its pid and arguments in `started`, then waits to be stopped; `prio` holds 0.
fn files(tag: &str) -> RunDir {
    let f = RunDir::new("lbcfifo", tag);
    for n in ["n1", "n2"] {
        f.script(n, "reader.sh", &format!("echo \"$$ $*\" >> {}\nexec sleep 600", f.path(n, "started")));
        std::fs::write(f.path(n, "prio"), "0\n").unwrap();
    }
    f.seal();
    f
}

/// Writes `n` to `node`'s track file in one step (a rename).
fn set_prio(f: &RunDir, node: &str, n: i32) {
    let tmp = f.path(node, "prio.new");
    std::fs::write(&tmp, format!("{n}\n")).unwrap();
    std::fs::rename(tmp, f.path(node, "prio")).unwrap();
}

/// Node `i`'s manifest: its own FIFO, script and track file (each node reads its own file).
fn manifest(f: &RunDir, i: usize) -> String {
    let node = format!("n{}", i + 1);
    let mut m = format!(
        "version: 1
notify_fifos:
  - path: {}
    command: [{}]
track_files:
  prio: {{path: {}, weight: 1}}
nodes:
",
        f.path(&node, "notify.fifo"),
        f.path(&node, "reader.sh"),
        f.path(&node, "prio")
    );
    for j in 0..2 {
        m.push_str(&format!("  n{}: {{roles: [director], addresses: [{}/24], interface: eth0}}\n", j + 1, node_v4(j)));
    }
    m.push_str(&format!(
        "vrrp:
  VI_1:
    vrid: 71
    version: 3
    advert_interval: {ADVERT_MS}ms
    members: {{n1: {{priority: {}}}, n2: {{priority: {}}}}}
    vips: [{VIP}/24]
    track_files: {{prio: {{}}}}
    notify_priority_changes: true
",
        PRIORITIES[0], PRIORITIES[1],
    ));
    m
}

/// Node `i`'s keepalived.conf, the same instance.
fn keepalived_conf(f: &RunDir, i: usize) -> String {
    let node = format!("n{}", i + 1);
    format!(
        "global_defs {{
    router_id lbc-{node}
    enable_script_security
    script_user root
    vrrp_notify_fifo {}
    vrrp_notify_fifo_script {}
    vrrp_notify_priority_changes true
}}
vrrp_track_file prio {{
    file {}
    weight 1
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 71
    version 3
    priority {}
    advert_int 0.{}
    virtual_ipaddress {{
        {VIP}/24
    }}
    track_file {{
        prio
    }}
}}
",
        f.path(&node, "notify.fifo"),
        f.path(&node, "reader.sh"),
        f.path(&node, "prio"),
        PRIORITIES[i],
        ADVERT_MS / 100,
    )
}

/// Reads a FIFO from when it appears until told to stop: everything the daemon wrote.
struct Reader {
    text: Arc<Mutex<Vec<u8>>>,
    stop: Arc<Mutex<bool>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Reader {
    fn start(path: String) -> Reader {
        let (text, stop) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(false)));
        let (t, s) = (text.clone(), stop.clone());
        let thread = thread::spawn(move || {
            let end = Instant::now() + Duration::from_secs(10);
            while !std::fs::metadata(&path).is_ok_and(|m| m.file_type().is_fifo()) {
                assert!(Instant::now() < end, "no FIFO at {path}");
                thread::sleep(ms(5));
            }
            let mut file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&path).unwrap();
            let mut buf = [0u8; 4096];
            loop {
                match file.read(&mut buf) {
                    Ok(n) if n > 0 => t.lock().unwrap().extend_from_slice(&buf[..n]),
                    _ if *s.lock().unwrap() => return,
                    _ => thread::sleep(ms(5)),
                }
            }
        });
        Reader { text, stop, thread: Some(thread) }
    }

    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.text.lock().unwrap()).lines().map(str::to_string).collect()
    }

    fn finish(mut self) -> Vec<String> {
        *self.stop.lock().unwrap() = true;
        self.thread.take().unwrap().join().unwrap();
        self.lines()
    }
}

fn start(lab: &mut Lab, f: &RunDir, i: usize, d: Daemon) -> Reader {
    let node = lab.nodes()[i].clone();
    let short = format!("n{}", i + 1);
    let reader = Reader::start(f.path(&short, "notify.fifo"));
    match d {
        Daemon::Keepalived => {
            lab.keepalived(&node, DAEMON, &keepalived_conf(f, i));
        }
        Daemon::Lbconverge => {
            start_manifest(lab, i, &manifest(f, i));
        }
    }
    lab.set_active(&node, true);
    reader
}

fn holds(ns: &str) -> bool {
    let out = Command::new("ip").args(["-n", ns, "addr", "show", "dev", "eth0"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).contains(&format!(" {VIP}/"))
}

/// Waits until `reader` has seen `line`.
fn wait_line(lab: &mut Lab, reader: &Reader, line: &str) {
    lab.wait(ms(5000), line, || reader.lines().iter().any(|l| l == line));
}

fn gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

fn scenario(d: [Daemon; 2]) {
    let tag = format!("{}{}", d[0] as u8, d[1] as u8);
    let f = files(&tag);
    let mut lab = Lab::named("lbcfifo", 2);
    let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
    eprintln!("== notify FIFO: n1 {:?} (150), n2 {:?} (100)", d[0], d[1]);
    let r1 = start(&mut lab, &f, 0, d[0]);
    lab.wait(ms(5000), "n1 to hold the VIP alone", || holds(&n1));
    let r2 = start(&mut lab, &f, 1, d[1]);
    wait_line(&mut lab, &r2, "INSTANCE \"VI_1\" BACKUP 100");
    thread::sleep(ms(ADVERT_MS * 5));

    lab.link("n1", false);
    lab.wait(ms(5000), "n2 to hold the VIP, n1 not", || holds(&n2) && !holds(&n1));
    wait_line(&mut lab, &r1, "INSTANCE \"VI_1\" FAULT 150");
    lab.link("n1", true);
    lab.wait(ms(5000), "n1 to hold the VIP again, n2 not", || holds(&n1) && !holds(&n2));
    thread::sleep(ms(ADVERT_MS * 5));

    // Priority changes: n1 stays master at 130, n2 stays backup at 110.
    set_prio(&f, "n1", -20);
    wait_line(&mut lab, &r1, "INSTANCE \"VI_1\" MASTER_PRIORITY 130");
    set_prio(&f, "n2", 10);
    wait_line(&mut lab, &r2, "INSTANCE \"VI_1\" BACKUP_PRIORITY 110");
    set_prio(&f, "n1", 0);
    wait_line(&mut lab, &r1, "INSTANCE \"VI_1\" MASTER_PRIORITY 150");
    set_prio(&f, "n2", 0);
    wait_line(&mut lab, &r2, "INSTANCE \"VI_1\" BACKUP_PRIORITY 100");
    thread::sleep(ms(ADVERT_MS * 3));

    let started: Vec<String> = ["n1", "n2"].iter().map(|n| f.read(n, "started")).collect();
    for n in ["n2", "n1"] {
        lab.stop(n, DAEMON, How::Term);
    }
    thread::sleep(ms(300));
    let seen = [r1.finish(), r2.finish()];

    let want = [
        vec![
            "BACKUP 150",
            "MASTER 150",
            "FAULT 150",
            "BACKUP 150",
            "MASTER 150",
            "MASTER_PRIORITY 130",
            "MASTER_PRIORITY 150",
            "STOP 150",
        ],
        vec!["BACKUP 100", "MASTER 100", "BACKUP 100", "BACKUP_PRIORITY 110", "BACKUP_PRIORITY 100", "STOP 100"],
    ];
    for (i, node) in ["n1", "n2"].iter().enumerate() {
        let lines: Vec<&String> = seen[i].iter().filter(|l| !l.contains("MASTER_RX_LOWER_PRI")).collect();
        let want: Vec<String> = want[i].iter().map(|w| format!("INSTANCE \"VI_1\" {w}")).collect();
        eprintln!("   {node} ({:?}): {}", d[i], seen[i].join(" | "));
        assert_eq!(lines, want.iter().collect::<Vec<_>>(), "{node} ({:?}): the FIFO's lines", d[i]);
        let fifo = f.path(node, "notify.fifo");
        let script = started[i].lines().collect::<Vec<_>>();
        assert_eq!(script.len(), 1, "{node} ({:?}): the FIFO script started once: {script:?}", d[i]);
        let (pid, args) = script[0].split_once(' ').unwrap();
        assert_eq!(args, fifo, "{node} ({:?}): the FIFO script's arguments", d[i]);
        let t = Instant::now();
        while !gone(pid) {
            assert!(t.elapsed() < ms(3000), "{node} ({:?}): the FIFO script {pid} outlived its daemon", d[i]);
            thread::sleep(ms(10));
        }
        assert!(!Path::new(&fifo).exists(), "{node} ({:?}): the FIFO it created is still there", d[i]);
    }
}

#[test]
#[ignore = "needs root: network namespaces and keepalived"]
fn fifo_lines_lbconverge_master_keepalived_backup() {
    scenario([Daemon::Lbconverge, Daemon::Keepalived]);
}

#[test]
#[ignore = "needs root: network namespaces and keepalived"]
fn fifo_lines_keepalived_master_lbconverge_backup() {
    scenario([Daemon::Keepalived, Daemon::Lbconverge]);
}

#[test]
fn the_lab_manifests_validate() {
    let f = RunDir::at(std::env::temp_dir().join(format!("lbcfifo-validate-{}", std::process::id())));
    for i in 0..2 {
        let m = f.dir.join(format!("m{i}.yaml"));
        std::fs::write(&m, manifest(&f, i)).unwrap();
        let out = common::lbconverge(&["validate", m.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}
