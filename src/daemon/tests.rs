//! The daemon on the in-memory kernel: reconcile after drift, reloads that keep unchanged
//! instances, reloads that validate but cannot run (the running instances and their VIPs
//! stay, the reason is logged, a later good manifest takes over without a gap), and stop.
//! VRRP runs for real on its threads: a lone member becomes master after Master_Down and
//! adds its VIP to the in-memory kernel, running its notify commands in order. Bad input:
//! damaged state files at start and at reload, a manifest swapped for a FIFO or a device,
//! a drain for `u64::MAX` seconds.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod dynif;
mod vip_vmacs;

use super::platform::mem::{MemPlatform, Sent};
use super::{Daemon, DaemonError, DaemonOptions};
use crate::kernel::mem::{MemKernel, Shared};
use crate::load::LoadError;
use crate::logging::{Format, SUBSYSTEMS};
use crate::model::NodeState;
use crate::model::net::{Address, Link};

const FAST_VIP: &str = "10.0.0.100/24";
const PASS_VIP: &str = "10.0.0.101/24";

/// The start of every test manifest: the one director, lb1, on eth0.
const NODE: &str = "version: 1
cluster: daemon-test
nodes:
  lb1:
    roles: [director]
    addresses: [10.0.0.11/24]
    interface: eth0
";

/// A v3 instance with 50 ms adverts (master within ~0.2 s) holding FAST_VIP, a v2 PASS
/// instance holding PASS_VIP whose password is in `secret`, and one service on FAST_VIP.
fn manifest(fast_interface: &str, secret: &str, extra_service: bool) -> String {
    let mut m = format!(
        "{NODE}vrrp:
  VI_FAST:
    vrid: 10
    advert_interval: 50ms
    members:
      lb1: {{priority: 150, interface: {fast_interface}}}
    vips: [{FAST_VIP}]
  VI_PASS:
    vrid: 11
    version: 2
    advert_interval: 1s
    members:
      lb1: {{priority: 150}}
    authentication: {{type: pass, password_file: {secret}}}
    vips: [{PASS_VIP}]
services:
  web:
    vip: 10.0.0.100
    port: 80
    backends:
      rs1: {{address: 10.0.0.21}}
"
    );
    if extra_service {
        m.push_str("  mail:\n    vip: 10.0.0.100\n    port: 25\n    backends:\n      rs1: {address: 10.0.0.21}\n");
    }
    m
}

/// A scratch directory with the manifest, its secrets and the state directory.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("lbc-daemon-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("state")).unwrap();
        let s = Scratch { dir };
        s.secret("good-password", "lbc-ok\n");
        s.secret("bad-password", "123456789\n");
        s.write(&manifest("eth0", "good-password", false));
        s
    }
    fn secret(&self, name: &str, text: &str) {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    fn write(&self, text: &str) {
        std::fs::write(self.dir.join("manifest.yaml"), text).unwrap();
    }
    fn opts(&self) -> DaemonOptions {
        DaemonOptions::new(self.dir.join("manifest.yaml"), self.dir.join("state"))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A host with `lo` and `eth0` up and the node's address on eth0.
fn host() -> Shared {
    let mut state = NodeState::default();
    for l in ["lo", "eth0"] {
        state.links.insert(l.into(), Link::UP);
    }
    let a = Address::plain("eth0", "10.0.0.11/24".parse().unwrap());
    state.addresses.insert(a.key(), a);
    Shared::new(MemKernel::from_state(state))
}

fn start(s: &Scratch, k: &Shared) -> Daemon<Shared, MemPlatform> {
    let (events, _) = std::sync::mpsc::channel();
    Daemon::start(s.opts(), k.clone(), MemPlatform::new(k.clone()), Default::default(), events).unwrap()
}

fn holds(k: &Shared, vip: &str) -> bool {
    let net = vip.parse().unwrap();
    k.lock().state.addresses.values().any(|a| a.interface == "eth0" && a.address == net)
}

/// How often the kernel was asked to delete `vip`.
fn deletions(k: &Shared, vip: &str) -> usize {
    let what = format!("delete address {vip} on eth0");
    k.lock().history.iter().filter(|h| h.starts_with(&what)).count()
}

fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `f` with the daemon's log captured on this thread; returns the log.
fn logged(f: impl FnOnce()) -> String {
    logged_as(Format::Text, tracing::Level::INFO, f)
}

/// Runs `f` with the daemon's log at `level` and up captured on this thread, in `format`
/// as `lbconverge run` writes it; returns the log.
fn logged_as(format: Format, level: tracing::Level, f: impl FnOnce()) -> String {
    crate::logging::capture::logged(crate::logging::Formatter::new(format), level, f)
}

#[test]
fn reconcile_repairs_drift() {
    let (s, k) = (Scratch::new("drift"), host());
    let mut d = start(&s, &k);
    let first = d.reconcile().unwrap().expect("the empty kernel needs the service");
    assert!(first.applied > 0);
    assert_eq!(k.lock().state.services.len(), 1);
    assert!(d.reconcile().unwrap().is_none(), "converged");
    k.lock().state.services.clear();
    let repaired = d.reconcile().unwrap().expect("drift is repaired");
    assert_eq!(repaired.applied, 2, "the service and its destination");
    assert_eq!(k.lock().state.services.len(), 1);
    assert!(d.reconcile().unwrap().is_none());
    d.stop();
}

#[test]
fn reconcile_repairs_a_deleted_or_edited_firewall_mark_rule() {
    let (s, k) = (Scratch::new("marks"), host());
    let marked = "  marked:\n    fwmark: 100\n    vips: [10.0.0.100]\n    match:\n      - {protocol: tcp, ports: [443]}\n      - {protocol: udp, ports: [443]}\n    backends:\n      rs1: {address: 10.0.0.21}\n";
    s.write(&(manifest("eth0", "good-password", false) + marked));
    let mut d = start(&s, &k);
    d.reconcile().unwrap().expect("the empty kernel needs the service and its marks");
    let table = k.lock().state.firewall.clone().expect("the marks are set");
    assert_eq!(table.rules.len(), 2);
    assert!(d.reconcile().unwrap().is_none(), "converged");
    k.lock().state.firewall.as_mut().unwrap().rules.remove(0);
    let repaired = d.reconcile().unwrap().expect("a deleted rule is drift");
    assert_eq!(repaired.applied, 1, "one transaction");
    assert_eq!(k.lock().state.firewall.as_ref(), Some(&table));
    k.lock().state.firewall.as_mut().unwrap().rules[1].mark = 7;
    d.reconcile().unwrap().expect("an edited rule is drift");
    assert_eq!(k.lock().state.firewall.as_ref(), Some(&table));
    k.lock().state.firewall = None;
    d.reconcile().unwrap().expect("a deleted table is drift");
    assert_eq!(k.lock().state.firewall.as_ref(), Some(&table));
    assert!(d.reconcile().unwrap().is_none());
    d.stop();
}

#[test]
fn reconcile_repairs_ipvs_timeouts_set_by_hand() {
    use crate::kernel::IpvsTimeouts;
    use crate::model::timeouts::Timeouts;
    let (s, k) = (Scratch::new("timeouts"), host());
    let m = manifest("eth0", "good-password", false);
    let with =
        m.replace("    interface: eth0\nvrrp:", "    interface: eth0\n    ipvs_timeouts: {tcp: 10m, udp: 20s}\nvrrp:");
    assert_ne!(m, with);
    s.write(&with);
    let mut d = start(&s, &k);
    d.reconcile().unwrap().expect("the empty kernel needs the service and the timeouts");
    assert_eq!(k.lock().state.ipvs_timeouts, Some(Timeouts { tcp: 600, tcp_fin: 120, udp: 20 }));
    assert!(d.reconcile().unwrap().is_none(), "converged");
    k.lock().set_timeouts(&Timeouts { udp: 300, ..Timeouts::default() }).unwrap();
    let repaired = d.reconcile().unwrap().expect("a timeout set by hand is drift");
    assert_eq!(repaired.applied, 1, "one write");
    assert_eq!(k.lock().state.ipvs_timeouts, Some(Timeouts { tcp: 600, tcp_fin: 120, udp: 20 }));
    d.stop();
}

#[test]
fn status_shows_instances_backends_the_manifest_drift_and_a_rejected_reload() {
    let (s, k) = (Scratch::new("status"), host());
    let mut d = start(&s, &k);
    wait_for("VI_FAST to be master", Duration::from_secs(2), || {
        d.status().vrrp.iter().any(|v| v.name == "VI_FAST" && v.state == "MASTER")
    });
    d.reconcile().unwrap();
    let st = d.status();
    assert_eq!(st.node, "lb1");
    assert!(st.manifest.sha256.starts_with("sha256:") && st.manifest.path.ends_with("manifest.yaml"));
    let fast = st.vrrp.iter().find(|v| v.name == "VI_FAST").unwrap();
    assert_eq!((fast.vrid, fast.priority, fast.effective_priority), (10, 150, Some(150)));
    assert_eq!(fast.master, Some("10.0.0.11".parse().unwrap()));
    assert!(fast.transitions >= 2 && fast.adverts_sent >= 1, "{fast:?}");
    let web = &st.services[0];
    assert_eq!((web.name.as_str(), web.key.as_str()), ("web", "tcp 10.0.0.100:80"));
    let rs1 = &web.backends[0];
    assert_eq!(
        (rs1.address.as_str(), rs1.health.as_str(), rs1.weight, rs1.live_weight),
        ("10.0.0.21:80", "unchecked", 1, Some(1))
    );
    assert_eq!(st.drift_repaired, 0, "the first pass applies the manifest, not drift");
    let last = st.last_reconcile.clone().unwrap();
    assert_eq!((last.changes, last.error.clone()), (5, None), "3 sysctls, the service, its destination");
    k.lock().state.services.clear();
    d.reconcile().unwrap();
    let st = d.status();
    assert_eq!(st.drift_repaired, 2);
    assert!(st.last_drift.as_deref().unwrap().contains("10.0.0.21:80"), "{:?}", st.last_drift);
    s.write("version: 1\nnodes: {}\n");
    d.reload_logged();
    let rejected = d.status().last_rejected.unwrap();
    assert_eq!(rejected.reason, "node `lb1` is no longer in the manifest");
    assert_eq!(d.status().manifest, st.manifest, "the manifest in force is still the old one");
    let text = super::status::text(&d.status());
    assert!(text.contains("vrrp VI_FAST (vrid 10): MASTER, priority 150 (effective 150), master 10.0.0.11"), "{text}");
    assert!(text.contains("  rs1 10.0.0.21:80: unchecked, weight 1 (weight 1 live), 0 active, 0 inactive"), "{text}");
    d.stop();
}

#[test]
fn reload_keeps_unchanged_instances_and_their_vips() {
    let (s, k) = (Scratch::new("keep"), host());
    let mut d = start(&s, &k);
    wait_for("VI_FAST to take its VIP", Duration::from_secs(2), || holds(&k, FAST_VIP));
    assert!(d.alive() && d.engine.is_alive(), "every VRRP thread and the checks' thread run");
    let before = deletions(&k, FAST_VIP);
    s.write(&manifest("eth0", "good-password", true));
    let changed = d.reload().unwrap();
    assert_eq!((changed.kept, changed.started, changed.stopped), (2, 0, 0));
    d.reconcile().unwrap();
    assert_eq!(k.lock().state.services.len(), 2, "the new service is applied");
    assert!(holds(&k, FAST_VIP));
    assert_eq!(deletions(&k, FAST_VIP), before, "the VIP was never removed");
    d.stop();
}

#[test]
fn serve_settles_once_converged_and_after_every_reload() {
    let (s, k) = (Scratch::new("settle"), host());
    let platform = MemPlatform::new(k.clone());
    let settled = platform.settled.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut d = Daemon::start(s.opts(), k.clone(), platform, Default::default(), tx.clone()).unwrap();
    assert_eq!(settled.load(std::sync::atomic::Ordering::Relaxed), 0, "not before the first reconcile");
    for e in [super::Event::Reload, super::Event::Reload, super::Event::Stop] {
        tx.send(e).unwrap();
    }
    d.serve(&rx, &mut super::systemd::Notifier::none());
    assert_eq!(settled.load(std::sync::atomic::Ordering::Relaxed), 3, "start-up and two reloads");
    assert_eq!(k.lock().state.services.len(), 1, "converged before settling");
    d.stop();
}

#[test]
fn reloads_that_cannot_run_keep_everything_and_a_good_one_follows_without_a_gap() {
    let (s, k) = (Scratch::new("bad"), host());
    let mut d = start(&s, &k);
    wait_for("VI_FAST to take its VIP", Duration::from_secs(2), || holds(&k, FAST_VIP));
    let (fast, pass) = (deletions(&k, FAST_VIP), deletions(&k, PASS_VIP));

    s.write(&manifest("eth0", "bad-password", false));
    let e = d.reload().unwrap_err();
    assert!(matches!(&e, DaemonError::Load(LoadError::Manifest(_))), "{e}");
    assert!(e.to_string().contains("the password is 9 bytes; VRRPv2 PASS carries at most 8"), "{e}");
    let log = logged(|| d.reload_logged());
    assert!(log.contains("manifest not reloaded; the running configuration stays in force"), "{log}");
    assert!(log.contains("password_file: secret file"), "{log}");

    s.write(&manifest("eth9", "good-password", false));
    let e = d.reload().unwrap_err();
    assert!(e.to_string().contains("interface eth9 does not exist (the host has: eth0, lo)"), "{e}");

    assert_eq!(d.instances().len(), 2);
    assert!(holds(&k, FAST_VIP));
    s.write(&manifest("eth0", "good-password", false));
    let changed = d.reload().unwrap();
    assert_eq!((changed.kept, changed.started, changed.stopped), (2, 0, 0));
    assert!(holds(&k, FAST_VIP));
    assert_eq!((deletions(&k, FAST_VIP), deletions(&k, PASS_VIP)), (fast, pass), "no VIP was ever removed");
    d.stop();
}

#[test]
fn another_router_is_replaced_and_stop_releases_every_vip() {
    let (s, k) = (Scratch::new("stop"), host());
    let stoppers = super::signals::Stoppers::default();
    let (events, _) = std::sync::mpsc::channel();
    let mut d = Daemon::start(s.opts(), k.clone(), MemPlatform::new(k.clone()), stoppers.clone(), events).unwrap();
    wait_for("VI_FAST to take its VIP", Duration::from_secs(2), || holds(&k, FAST_VIP));
    s.write(&manifest("eth0", "good-password", false).replace("vrid: 11", "vrid: 12"));
    let mut changed = None;
    let log = logged(|| changed = Some(d.reload().unwrap()));
    let changed = changed.unwrap();
    assert_eq!((changed.kept, changed.updated, changed.started, changed.stopped), (1, 0, 1, 1), "VI_PASS restarts");
    assert!(log.contains("vrrp instance is another router now; handing over and replacing it"), "{log}");
    assert!(log.contains("changed=vrid 11 -> 12"), "{log}");
    assert!(holds(&k, FAST_VIP));
    assert_eq!(stoppers.lock().unwrap().len(), 2);
    d.stop();
    assert!(!holds(&k, FAST_VIP), "released on stop");
    assert!(!holds(&k, PASS_VIP));
    assert!(stoppers.lock().unwrap().is_empty(), "the signal thread holds no stale instance");
}

/// A started daemon whose VI_FAST holds its VIP, and what its wires sent.
fn start_master(s: &Scratch, k: &Shared) -> (Daemon<Shared, MemPlatform>, Arc<Mutex<Vec<Sent>>>) {
    let platform = MemPlatform::new(k.clone());
    let sent = platform.sent.clone();
    let (events, _) = std::sync::mpsc::channel();
    let d = Daemon::start(s.opts(), k.clone(), platform, Default::default(), events).unwrap();
    wait_for("VI_FAST to take its VIP", Duration::from_secs(2), || holds(k, FAST_VIP));
    (d, sent)
}

/// VI_FAST's view (the first instance by name).
fn fast_view(d: &Daemon<Shared, MemPlatform>) -> super::instance::View {
    d.instances()[0].view.lock().unwrap().clone()
}

fn announced(sent: &Mutex<Vec<Sent>>, vip: &str) -> usize {
    let ip: std::net::IpAddr = vip.split('/').next().unwrap().parse().unwrap();
    sent.lock().unwrap().iter().filter(|s| **s == Sent::Announce(ip)).count()
}

#[test]
fn commits_change_a_running_instance_in_place_without_touching_its_vips() {
    let (s, k) = (Scratch::new("inplace"), host());
    let (mut d, sent) = start_master(&s, &k);
    let (before, transitions) = (deletions(&k, FAST_VIP), fast_view(&d).transitions);
    let base = manifest("eth0", "good-password", false);
    let added = "10.0.0.102/24";
    let two_vips = base.replace("vips: [10.0.0.100/24]", &format!("vips: [10.0.0.100/24, {added}]"));
    s.write(&two_vips);
    let mut changed = None;
    let log = logged(|| changed = Some(d.reload().unwrap()));
    let changed = changed.unwrap();
    assert_eq!((changed.kept, changed.updated, changed.started, changed.stopped), (1, 1, 0, 0));
    assert!(log.contains("vrrp instance changed in place"), "{log}");
    assert!(log.contains("changed=vips +10.0.0.102/24"), "{log}");
    wait_for("the added VIP", Duration::from_millis(100), || holds(&k, added));
    wait_for("the added VIP announced", Duration::from_millis(100), || announced(&sent, added) > 0);
    // Priority, interval, preemption and the password of the other instance, in one commit.
    s.secret("other-password", "lbc-new\n");
    let settings = manifest("eth0", "other-password", false)
        .replace("vips: [10.0.0.100/24]", &format!("vips: [10.0.0.100/24, {added}]"))
        .replace("lb1: {priority: 150, interface: eth0}", "lb1: {priority: 200, interface: eth0}")
        .replace("advert_interval: 50ms", "advert_interval: 70ms\n    preempt_delay: 1s");
    s.write(&settings);
    let changed = d.reload().unwrap();
    assert_eq!((changed.kept, changed.updated, changed.started, changed.stopped), (0, 2, 0, 0));
    wait_for("priority 200 in the view", Duration::from_millis(200), || fast_view(&d).effective_priority == Some(200));
    s.write(&base);
    d.reload().unwrap();
    wait_for("the removed VIP to go", Duration::from_millis(100), || !holds(&k, added));
    std::thread::sleep(Duration::from_millis(300));
    let v = fast_view(&d);
    assert_eq!((v.state.as_str(), v.transitions, v.priority), ("MASTER", transitions, 150), "{v:?}");
    assert!(holds(&k, FAST_VIP));
    assert_eq!(deletions(&k, FAST_VIP), before, "the first VIP was never removed");
    d.stop();
}

/// The address `vip` as the in-memory kernel holds it on eth0.
fn held_as(k: &Shared, vip: &str) -> Option<Address> {
    let net = vip.parse().unwrap();
    k.lock().state.addresses.values().find(|a| a.interface == "eth0" && a.address == net).cloned()
}

#[test]
fn a_commit_that_changes_a_vips_label_or_scope_re_adds_it_and_excluded_vips_are_held_and_announced() {
    let (s, k) = (Scratch::new("vipforms"), host());
    let (mut d, sent) = start_master(&s, &k);
    assert_eq!(held_as(&k, FAST_VIP).unwrap().label, None);
    let (excluded, excluded6) = ("10.0.0.200/32", "fd00::100/64");
    let with = |scope: &str| {
        let options = "vips: [{address: 10.0.0.100/24, label: 'eth0:1', broadcast: '+'}]";
        let held = format!("excluded_vips: [{{address: {excluded}, scope: {scope}}}, {excluded6}]");
        manifest("eth0", "good-password", false).replace("vips: [10.0.0.100/24]", &format!("{options}\n    {held}"))
    };
    s.write(&with("host"));
    let log = logged(|| assert_eq!(d.reload().unwrap().updated, 1));
    let want = "changed=vips -10.0.0.100/24 +10.0.0.100/24 label eth0:1 brd 10.0.0.255, excluded_vips +10.0.0.200/32 scope host +fd00::100/64";
    assert!(log.contains(want), "{log}");
    wait_for("the VIP with its new label", Duration::from_millis(200), || {
        held_as(&k, FAST_VIP).is_some_and(|a| a.label.as_deref() == Some("eth0:1"))
    });
    assert_eq!(held_as(&k, FAST_VIP).unwrap().broadcast, Some("10.0.0.255".parse().unwrap()));
    wait_for("the excluded VIPs", Duration::from_millis(200), || {
        held_as(&k, excluded).is_some_and(|a| a.scope == Some(254)) && held_as(&k, excluded6).is_some()
    });
    wait_for("the excluded VIP announced", Duration::from_millis(200), || announced(&sent, excluded6) > 0);
    s.write(&with("link"));
    let log = logged(|| assert_eq!(d.reload().unwrap().updated, 1));
    assert!(log.contains("changed=excluded_vips -10.0.0.200/32 scope host +10.0.0.200/32 scope link"), "{log}");
    wait_for("the new scope", Duration::from_millis(200), || {
        held_as(&k, excluded).is_some_and(|a| a.scope == Some(253))
    });
    assert_eq!(fast_view(&d).state, "MASTER");
    s.write(&manifest("eth0", "good-password", false));
    d.reload().unwrap();
    wait_for("the label to go", Duration::from_millis(200), || {
        held_as(&k, FAST_VIP).is_some_and(|a| a.label.is_none())
    });
    wait_for("the excluded VIPs to go", Duration::from_millis(200), || {
        held_as(&k, excluded).is_none() && held_as(&k, excluded6).is_none()
    });
    d.stop();
}

#[test]
fn an_instance_without_vips_becomes_master_and_holds_nothing() {
    let (s, k) = (Scratch::new("novips"), host());
    let before = k.lock().state.addresses.len();
    let text = manifest("eth0", "good-password", false)
        .replace("    vips: [10.0.0.100/24]\n", "    notify_master: [/bin/true]\n")
        .replace("    vip: 10.0.0.100\n", "    vip: 10.0.0.101\n");
    s.write(&text);
    let (events, _) = std::sync::mpsc::channel();
    let platform = MemPlatform::new(k.clone());
    let d = Daemon::start(s.opts(), k.clone(), platform, Default::default(), events).unwrap();
    wait_for("VI_FAST to become master", Duration::from_secs(2), || fast_view(&d).state == "MASTER");
    let pass = usize::from(holds(&k, PASS_VIP));
    let now = k.lock().state.addresses.len();
    assert_eq!(now, before + pass, "VI_FAST added no address");
    d.stop();
}

#[test]
fn an_instance_with_a_startup_delay_stays_in_init_that_long_after_the_daemon_starts() {
    let (s, k) = (Scratch::new("startup-delay"), host());
    let text = manifest("eth0", "good-password", false).replace(
        "    advert_interval: 50ms
",
        "    advert_interval: 50ms
    startup_delay: 600ms
",
    );
    s.write(&text);
    let t = Instant::now();
    let mut d = start(&s, &k);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(fast_view(&d).state, "INIT", "still waiting out its startup delay");
    assert!(!holds(&k, FAST_VIP));
    wait_for("VI_FAST to become master", Duration::from_secs(2), || fast_view(&d).state == "MASTER");
    let took = t.elapsed();
    // 600 ms, then backup for 3 x 50 ms + skew (~0.2 s).
    assert!(took >= Duration::from_millis(750), "master after {took:?}");
    // A commit keeps it running: the delay counts from the daemon's start only.
    s.write(&text.replace("startup_delay: 600ms", "startup_delay: 5s"));
    d.reload().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(fast_view(&d).state, "MASTER");
    d.stop();
}

#[test]
fn an_instance_with_a_startup_delay_after_boot_stays_in_init_until_the_system_is_that_old() {
    let (s, k) = (Scratch::new("after-boot"), host());
    // 600 ms from now in the system's life; a delay already over would not delay.
    let after = crate::sys::uptime() + Duration::from_millis(600);
    let key = format!("    startup_delay_after_boot: {}ms\n", after.as_millis());
    s.write(
        &manifest("eth0", "good-password", false)
            .replace("    advert_interval: 50ms\n", &format!("    advert_interval: 50ms\n{key}")),
    );
    let t = Instant::now();
    let d = start(&s, &k);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(fast_view(&d).state, "INIT", "still waiting for the system to be old enough");
    wait_for("VI_FAST to become master", Duration::from_secs(2), || fast_view(&d).state == "MASTER");
    assert!(t.elapsed() >= Duration::from_millis(750), "master after {:?}", t.elapsed());
    d.stop();
    // The same key once the system is older: no delay.
    let (s, k) = (Scratch::new("after-boot-over"), host());
    s.write(
        &manifest("eth0", "good-password", false)
            .replace("    advert_interval: 50ms\n", "    advert_interval: 50ms\n    startup_delay_after_boot: 1s\n"),
    );
    let t = Instant::now();
    let d = start(&s, &k);
    wait_for("VI_FAST to become master", Duration::from_secs(2), || fast_view(&d).state == "MASTER");
    assert!(t.elapsed() < Duration::from_millis(600), "master after {:?}", t.elapsed());
    d.stop();
}

#[test]
fn a_master_adds_back_a_vip_removed_by_hand_within_an_advert_interval() {
    let (s, k) = (Scratch::new("repair"), host());
    let (d, sent) = start_master(&s, &k);
    let announced_before = announced(&sent, FAST_VIP);
    let net = FAST_VIP.parse().unwrap();
    k.lock().state.addresses.retain(|_, a| a.address != net);
    assert!(!holds(&k, FAST_VIP));
    let t = Instant::now();
    wait_for("the VIP to come back", Duration::from_millis(200), || holds(&k, FAST_VIP));
    eprintln!("restored after {} ms (adverts every 50 ms)", t.elapsed().as_millis());
    wait_for("its announcement", Duration::from_millis(100), || announced(&sent, FAST_VIP) > announced_before);
    assert_eq!(fast_view(&d).vips_restored, 1);
    assert_eq!(fast_view(&d).state, "MASTER");
    d.stop();
}

#[test]
fn a_reload_keeps_what_tracking_knows() {
    let (s, k) = (Scratch::new("track"), host());
    let tracked = |priority: u16| {
        manifest("eth0", "good-password", false)
            .replace("lb1: {priority: 150, interface: eth0}", &format!("lb1: {{priority: {priority}, interface: eth0}}"))
            .replace(
                "vrrp:\n  VI_FAST:\n",
                "track_scripts:\n  failing:\n    command: [/bin/false]\n    interval: 100ms\nvrrp:\n  VI_FAST:\n    track_scripts:\n      failing: {weight: -60}\n",
            )
    };
    s.write(&tracked(150));
    let mut d = start(&s, &k);
    wait_for("tracking to lower VI_FAST", Duration::from_secs(2), || fast_view(&d).effective_priority == Some(90));
    s.write(&tracked(160));
    let changed = d.reload().unwrap();
    assert_eq!(changed.updated, 1);
    let seen = (0..40)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(5));
            fast_view(&d).effective_priority
        })
        .collect::<Vec<_>>();
    assert!(seen.iter().all(|p| *p == Some(100)), "the failing script stays failing across the reload: {seen:?}");
    d.stop();
}

/// A track file (keepalived's `track_file`) moves the priority by its number times the
/// weight, read on every change through inotify: written in place, replaced by a rename,
/// removed (0). What cannot be a number never stops the daemon: garbage and an empty file
/// count as 0, a FIFO or a directory put in its place counts as 0 without hanging the
/// tracker, a number out of range is ignored. `init_file` creates the missing file.
#[test]
fn a_track_file_moves_the_priority_and_bad_contents_do_no_harm() {
    let (s, k) = (Scratch::new("track-file"), host());
    let file = s.dir.join("prio");
    let maint = s.dir.join("maint");
    s.write(&manifest("eth0", "good-password", false).replace(
        "vrrp:\n  VI_FAST:\n",
        &format!(
            "track_files:\n  prio: {{path: {}, weight: -2}}\n  maint: {{path: {}, weight: 0, init_file: {{value: 0}}}}\nvrrp:\n  VI_FAST:\n    track_files:\n      prio: {{}}\n      maint: {{}}\n",
            file.display(),
            maint.display()
        ),
    ));
    std::fs::write(&file, "10\n").unwrap();
    let d = start(&s, &k);
    let prio = |d: &Daemon<Shared, MemPlatform>| fast_view(d).effective_priority;
    wait_for("the number read at start", Duration::from_secs(1), || prio(&d) == Some(130));
    assert_eq!(std::fs::read_to_string(&maint).unwrap(), "0\n", "init_file created the missing file");
    std::fs::write(&file, "25").unwrap();
    wait_for("a write in place", Duration::from_secs(1), || prio(&d) == Some(100));
    let tmp = s.dir.join("prio.new");
    std::fs::write(&tmp, "0x10").unwrap();
    std::fs::rename(&tmp, &file).unwrap();
    wait_for("a rename over it", Duration::from_secs(1), || prio(&d) == Some(118));
    std::fs::write(&file, "99999999999").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(prio(&d), Some(118), "a number out of range is ignored");
    std::fs::write(&file, "garbage").unwrap();
    wait_for("garbage as 0", Duration::from_secs(1), || prio(&d) == Some(150));
    std::fs::write(&file, "5").unwrap();
    wait_for("5 again", Duration::from_secs(1), || prio(&d) == Some(140));
    std::fs::remove_file(&file).unwrap();
    wait_for("a removed file as 0", Duration::from_secs(1), || prio(&d) == Some(150));
    let fifo = std::ffi::CString::new(file.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    std::fs::write(&maint, "1").unwrap();
    wait_for("maint not 0: FAULT", Duration::from_secs(1), || prio(&d).is_none());
    std::fs::write(&maint, "0").unwrap();
    wait_for("maint 0 again, the FIFO as 0", Duration::from_secs(1), || prio(&d) == Some(150));
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();
    std::fs::write(file.with_extension("x"), "7").unwrap();
    std::fs::remove_dir(&file).unwrap();
    std::fs::write(&file, "3").unwrap();
    wait_for("a file again after a directory", Duration::from_secs(1), || prio(&d) == Some(144));
    d.stop();
}

/// Tracked processes (keepalived's `vrrp_track_process`) move the priority by their
/// quorum: counted at start, then followed by their events. A weight-0 tracked process
/// out of quorum puts the instance in FAULT (its VIP leaves) only after its
/// `terminate_delay`, and back when it runs again; a process with other arguments does not
/// count.
#[test]
fn a_tracked_process_moves_the_priority_and_faults_past_its_delay() {
    let (s, k) = (Scratch::new("track-process"), host());
    s.write(&manifest("eth0", "good-password", false).replace(
        "vrrp:\n  VI_FAST:\n",
        "track_processes:\n  web: {process: nginx, quorum: 2, weight: -40}\n  guard: {process: /usr/bin/sleep, args: ['1000', lbc-guard], terminate_delay: 400ms}\nvrrp:\n  VI_FAST:\n    track_processes:\n      web: {}\n      guard: {}\n",
    ));
    let platform = MemPlatform::new(k.clone());
    let procs = platform.processes.clone();
    procs.start(100, &["/usr/sbin/nginx", "-g", "daemon off;"]);
    procs.start(200, &["/usr/bin/sleep", "1000", "lbc-guard"]);
    let (events, _) = std::sync::mpsc::channel();
    let d = Daemon::start(s.opts(), k.clone(), platform, Default::default(), events).unwrap();
    let prio = |d: &Daemon<Shared, MemPlatform>| fast_view(d).effective_priority;
    wait_for("one nginx of a quorum of 2: -40", Duration::from_secs(1), || prio(&d) == Some(110));
    procs.start(101, &["nginx"]);
    wait_for("two: in quorum", Duration::from_secs(1), || prio(&d) == Some(150));
    wait_for("VI_FAST to take its VIP", Duration::from_secs(2), || holds(&k, FAST_VIP));
    procs.start(201, &["/usr/bin/sleep", "1000", "other"]);
    procs.end(200);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(prio(&d), Some(150), "within terminate_delay; other arguments do not count");
    wait_for("the guard gone: FAULT", Duration::from_secs(1), || prio(&d).is_none());
    wait_for("the VIP to leave", Duration::from_secs(1), || !holds(&k, FAST_VIP));
    procs.start(202, &["/usr/bin/sleep", "1000", "lbc-guard"]);
    wait_for("the guard back", Duration::from_secs(1), || prio(&d) == Some(150));
    wait_for("the VIP back", Duration::from_secs(2), || holds(&k, FAST_VIP));
    d.stop();
}

/// A track script with `init_fail` (keepalived's) starts failing: its weight applies from
/// the start until `rise` runs have succeeded.
#[test]
fn a_track_script_with_init_fail_starts_failing_until_it_rises() {
    let (s, k) = (Scratch::new("init-fail"), host());
    s.write(&manifest("eth0", "good-password", false).replace(
        "vrrp:\n  VI_FAST:\n",
        "track_scripts:\n  passing:\n    command: [/bin/true]\n    interval: 100ms\n    rise: 4\n    init_fail: true\nvrrp:\n  VI_FAST:\n    track_scripts:\n      passing: {weight: -60}\n",
    ));
    let d = start(&s, &k);
    wait_for("the failing weight at start", Duration::from_secs(1), || fast_view(&d).effective_priority == Some(90));
    wait_for("the script to rise", Duration::from_secs(2), || fast_view(&d).effective_priority == Some(150));
    d.stop();
}

/// The member's own interface is tracked as keepalived tracks it: its link going down puts
/// the instance in FAULT, its return lets it be master again; with `track_own_interface:
/// false` (keepalived's `dont_track_primary`) the instance stays master through it.
#[test]
fn the_own_interface_going_down_faults_the_instance_unless_it_is_not_tracked() {
    for (tracked, name) in [(true, "own-if"), (false, "own-if-off")] {
        let (s, k) = (Scratch::new(name), host());
        if !tracked {
            s.write(
                &manifest("eth0", "good-password", false).replace(
                    "    vips: [10.0.0.100/24]\n",
                    "    vips: [10.0.0.100/24]\n    track_own_interface: false\n",
                ),
            );
        }
        let d = start(&s, &k);
        wait_for("VI_FAST master", Duration::from_secs(2), || fast_view(&d).state == "MASTER");
        // Set down, then a pulled cable: up but without carrier (keepalived faults on both).
        for down in [Link { up: false, carrier: true }, Link { up: true, carrier: false }] {
            k.lock().state.links.insert("eth0".into(), down);
            if tracked {
                wait_for("VI_FAST in FAULT", Duration::from_secs(2), || fast_view(&d).state == "FAULT");
                k.lock().state.links.insert("eth0".into(), Link::UP);
                wait_for("VI_FAST master again", Duration::from_secs(2), || fast_view(&d).state == "MASTER");
            } else {
                std::thread::sleep(Duration::from_millis(400));
                assert_eq!(fast_view(&d).state, "MASTER", "an untracked own interface does not fault the instance");
            }
        }
        d.stop();
    }
}

/// A VIP's peer, address flags and preferred lifetime reach the kernel, and a commit that
/// changes them removes and re-adds the VIP in place.
#[test]
fn a_vips_peer_flags_and_lifetime_reach_the_kernel_and_a_commit_changing_them_re_adds_it() {
    use crate::model::net::{IFA_F_MANAGETEMPADDR, IFA_F_NOPREFIXROUTE};
    let (s, k) = (Scratch::new("vip-options"), host());
    let (mut d, _) = start_master(&s, &k);
    let with = |v6: &str| {
        let held = format!(
            "excluded_vips: [{{address: 10.0.0.1, peer: 10.0.0.2/32, noprefixroute: true}}, {{address: 'fd00::5/64', {v6}}}]"
        );
        manifest("eth0", "good-password", false)
            .replace("vips: [10.0.0.100/24]", &format!("vips: [10.0.0.100/24]\n    {held}"))
    };
    s.write(&with("mngtmpaddr: true, preferred_lft: 0"));
    let log = logged(|| assert_eq!(d.reload().unwrap().updated, 1));
    let want = "changed=excluded_vips +10.0.0.1/32 peer 10.0.0.2 noprefixroute +fd00::5/64 mngtmpaddr preferred_lft 0";
    assert!(log.contains(want), "{log}");
    wait_for("the VIPs with their options", Duration::from_millis(200), || {
        held_as(&k, "fd00::5/64").is_some() && held_as(&k, "10.0.0.1/32").is_some()
    });
    let p2p = held_as(&k, "10.0.0.1/32").unwrap().options;
    assert_eq!((p2p.peer, p2p.flags), (Some("10.0.0.2".parse().unwrap()), IFA_F_NOPREFIXROUTE));
    let v6 = held_as(&k, "fd00::5/64").unwrap().options;
    assert_eq!((v6.flags, v6.preferred_lft), (IFA_F_MANAGETEMPADDR, Some(0)));
    s.write(&with("dad: true, preferred_lft: forever"));
    let log = logged(|| assert_eq!(d.reload().unwrap().updated, 1));
    assert!(log.contains("changed=excluded_vips -fd00::5/64 mngtmpaddr preferred_lft 0 +fd00::5/64 dad"), "{log}");
    wait_for("the VIP without its flag and lifetime", Duration::from_millis(200), || {
        held_as(&k, "fd00::5/64").is_some_and(|a| a.options.is_none())
    });
    assert_eq!(fast_view(&d).state, "MASTER");
    d.stop();
}

/// A VIP on an interface of its own tracks that interface, as keepalived does: its link
/// going down puts the instance in FAULT. A `no_track` VIP does not, and a master does not
/// add it back when it is removed by hand (keepalived reinstates it at the next transition
/// to master only), while it does add back a tracked one.
#[test]
fn a_vips_own_interface_faults_the_instance_and_a_no_track_vip_neither_faults_nor_comes_back() {
    for (no_track, name) in [(false, "vip-if"), (true, "vip-if-no-track")] {
        let (s, k) = (Scratch::new(name), host());
        k.lock().state.links.insert("eth1".into(), Link::UP);
        let vip = format!("{{address: 10.9.0.1/32, interface: eth1, no_track: {no_track}}}");
        let vips = format!("vips: [10.0.0.100/24, {vip}]");
        s.write(&manifest("eth0", "good-password", false).replace("vips: [10.0.0.100/24]", &vips));
        let d = start(&s, &k);
        wait_for("VI_FAST master", Duration::from_secs(2), || fast_view(&d).state == "MASTER");
        wait_for("the VIP on eth1", Duration::from_millis(200), || held_on(&k, "eth1", "10.9.0.1/32"));
        k.lock().state.links.insert("eth1".into(), Link { up: true, carrier: false });
        if no_track {
            std::thread::sleep(Duration::from_millis(400));
            assert_eq!(fast_view(&d).state, "MASTER", "a no_track VIP's interface is not tracked");
        } else {
            wait_for("VI_FAST in FAULT", Duration::from_secs(2), || fast_view(&d).state == "FAULT");
        }
        k.lock().state.links.insert("eth1".into(), Link::UP);
        wait_for("VI_FAST master again", Duration::from_secs(2), || fast_view(&d).state == "MASTER");
        wait_for("the VIP on eth1 again", Duration::from_millis(200), || held_on(&k, "eth1", "10.9.0.1/32"));
        let net = "10.9.0.1/32".parse().unwrap();
        k.lock().state.addresses.retain(|_, a| a.address != net);
        if no_track {
            std::thread::sleep(Duration::from_millis(300));
            assert!(!held_on(&k, "eth1", "10.9.0.1/32"), "a no_track VIP removed by hand stays removed");
            assert_eq!(fast_view(&d).vips_restored, 0);
        } else {
            wait_for("the VIP back", Duration::from_millis(300), || held_on(&k, "eth1", "10.9.0.1/32"));
        }
        assert_eq!(fast_view(&d).state, "MASTER");
        d.stop();
    }
}

/// Two v3 instances with 50 ms adverts, both lone masters soon: VI_ONE with `one` and
/// VI_TWO with `two` (left out when empty).
fn two_instances(one: &[&str], two: &[&str]) -> String {
    let mut m = String::from(
        "version: 1\ncluster: daemon-test\nnodes:\n  lb1:\n    roles: [director]\n    addresses: [10.0.0.11/24]\n    interface: eth0\nvrrp:\n",
    );
    for (name, vrid, vips) in [("VI_ONE", 21, one), ("VI_TWO", 22, two)] {
        if !vips.is_empty() {
            m.push_str(&format!(
                "  {name}:\n    vrid: {vrid}\n    advert_interval: 50ms\n    members:\n      lb1: {{priority: 150}}\n    vips: [{}]\n",
                vips.join(", ")
            ));
        }
    }
    m
}

/// A VIP that one commit moves from one instance to another that is master here stays: the
/// instance that lets go of it (changed in place, or stopped) never deletes it after the one
/// that takes it over added it, whichever of their threads runs first. Each move ten times.
#[test]
fn a_vip_moved_between_instances_in_one_commit_stays_on_the_master() {
    let (s, k) = (Scratch::new("move"), host());
    let (a, b, moved) = ("10.0.0.110/24", "10.0.0.111/24", "10.0.0.112/24");
    s.write(&two_instances(&[a, moved], &[b]));
    let mut d = start(&s, &k);
    let both = |k: &Shared| holds(k, a) && holds(k, b) && holds(k, moved);
    wait_for("two masters", Duration::from_secs(2), || both(&k));
    let mut commit = |one: &[&str], two: &[&str]| {
        s.write(&two_instances(one, two));
        d.reload().unwrap();
        // The updates are taken on the instances' threads: give them time, then look.
        std::thread::sleep(Duration::from_millis(30));
        holds(&k, moved)
    };
    for _ in 0..10 {
        assert!(commit(&[a], &[b, moved]), "{moved} lost moving from VI_ONE to VI_TWO, both changed in place");
        assert!(commit(&[a, moved], &[b]), "{moved} lost moving from VI_TWO to VI_ONE, both changed in place");
    }
    for _ in 0..10 {
        assert!(commit(&[a, moved], &[]), "{moved} lost moving to VI_ONE from VI_TWO, which was removed");
        // VI_TWO starts again (as backup), takes the VIP from VI_ONE when master.
        commit(&[a], &[b, moved]);
        wait_for("the new VI_TWO to become master", Duration::from_secs(2), || both(&k));
    }
    d.stop();
}

#[test]
fn start_fails_whole_when_an_instance_cannot_open() {
    let (s, k) = (Scratch::new("start"), host());
    s.write(&manifest("eth9", "good-password", false));
    let (events, _) = std::sync::mpsc::channel();
    let e = Daemon::start(s.opts(), k.clone(), MemPlatform::new(k.clone()), Default::default(), events).err().unwrap();
    assert!(e.to_string().contains("vrrp.VI_FAST.members.lb1: interface eth9 does not exist"), "{e}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!holds(&k, FAST_VIP) && !holds(&k, PASS_VIP), "nothing runs");
    assert!(k.lock().history.is_empty(), "nothing was written: {:?}", k.lock().history);
}

/// Services on two backends at 127.0.0.1 checked over TCP every 50 ms: `web` plain, `inh`
/// with inhibit_on_failure, `q` with quorum 2 and a sorry server. The same backend with the
/// same check in three services is one probe.
fn health_manifest(p1: u16, p2: u16) -> String {
    let mut m = String::from(
        "version: 1
nodes:
  lb1: {roles: [director], addresses: [10.0.0.11/24], interface: eth0}
defaults:
  forwarding: nat
  health_check: {type: tcp, interval: 50ms, timeout: 500ms, retries: 0}
services:
",
    );
    for (name, port, extra) in [
        ("web", 80, ""),
        ("inh", 81, "    inhibit_on_failure: true\n"),
        ("q", 82, "    quorum: 2\n    sorry_server: {address: 127.0.0.9, port: 80}\n"),
    ] {
        m.push_str(&format!(
            "  {name}:\n    vip: 10.0.0.100\n    port: {port}\n    directors: [lb1]\n{extra}    backends:\n      a: {{address: 127.0.0.1, port: {p1}}}\n      b: {{address: 127.0.0.1, port: {p2}}}\n"
        ));
    }
    m
}

/// Destinations of the service on `port`: (backend port, weight).
fn dests(k: &Shared, port: u16) -> Vec<(u16, u32)> {
    let k = k.lock();
    let svc = k.state.services.values().find(|s| s.key.to_string().ends_with(&format!(":{port}")));
    svc.map(|s| s.dests.values().map(|d| (d.port, d.weight)).collect()).unwrap_or_default()
}

/// Pairs sorted as the kernel keeps destinations (by port here).
fn sorted<const N: usize>(mut v: [(u16, u32); N]) -> Vec<(u16, u32)> {
    v.sort();
    v.to_vec()
}

/// Handles the daemon's events until `cond` holds.
fn pump(
    d: &mut Daemon<Shared, MemPlatform>,
    rx: &std::sync::mpsc::Receiver<super::Event>,
    what: &str,
    mut cond: impl FnMut() -> bool,
) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < Duration::from_secs(5), "{what}: not within 5s");
        if let Ok(e) = rx.recv_timeout(Duration::from_millis(20)) {
            d.handle(e);
        }
    }
}

/// A daemon on [`health_manifest`] whose two backends are live listeners.
struct Health {
    s: Scratch,
    k: Shared,
    l1: std::net::TcpListener,
    l2: std::net::TcpListener,
    p1: u16,
    p2: u16,
    rx: std::sync::mpsc::Receiver<super::Event>,
    d: Daemon<Shared, MemPlatform>,
}

fn health_daemon(name: &str) -> Health {
    let (s, k) = (Scratch::new(name), host());
    let l1 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let l2 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (p1, p2) = (l1.local_addr().unwrap().port(), l2.local_addr().unwrap().port());
    s.write(&health_manifest(p1, p2));
    let (tx, rx) = std::sync::mpsc::channel();
    let d = Daemon::start(s.opts(), k.clone(), MemPlatform::new(k.clone()), Default::default(), tx).unwrap();
    Health { s, k, l1, l2, p1, p2, rx, d }
}

#[test]
fn health_checks_take_a_dead_backend_out_and_put_it_back_one_write_per_flip() {
    let Health { s, k, l1, l2, p1, p2, rx, mut d } = health_daemon("health");
    assert_eq!(d.board().targets().len(), 2, "three services, two probes");
    d.reconcile().unwrap();
    assert_eq!(dests(&k, 80), [], "alpha: no backend before its first passing check");
    assert_eq!(dests(&k, 81), sorted([(p1, 0), (p2, 0)]), "inhibit_on_failure: in at weight 0");
    assert_eq!(dests(&k, 82), [(80, 1)], "below quorum: the sorry server");
    pump(&mut d, &rx, "both backends up", || dests(&k, 80).len() == 2);
    pump(&mut d, &rx, "quorum gained", || dests(&k, 82) == sorted([(p1, 1), (p2, 1)]));
    assert_eq!(dests(&k, 81), sorted([(p1, 1), (p2, 1)]));

    let before = k.lock().history.len();
    drop(l2);
    pump(&mut d, &rx, "b out", || dests(&k, 80) == [(p1, 1)]);
    pump(&mut d, &rx, "sorry server in", || dests(&k, 82) == [(80, 1)]);
    assert_eq!(dests(&k, 81), sorted([(p1, 1), (p2, 0)]), "inhibited, not removed");
    let writes: Vec<String> = k.lock().history[before..].to_vec();
    assert!(writes.iter().all(|w| w.contains("destination")), "only IPVS destination writes: {writes:?}");
    let on = |port: u16| writes.iter().filter(|w| w.ends_with(&format!(":{port}"))).count();
    assert_eq!(on(81), 1, "inhibit: one write (weight 0): {writes:?}");
    assert_eq!(on(80), 1, "a failed backend is deleted at once, one write: {writes:?}");

    let l2 = std::net::TcpListener::bind(("127.0.0.1", p2)).unwrap();
    pump(&mut d, &rx, "b back", || dests(&k, 80) == sorted([(p1, 1), (p2, 1)]));
    pump(&mut d, &rx, "quorum back", || dests(&k, 82) == sorted([(p1, 1), (p2, 1)]));
    assert_eq!(dests(&k, 81), sorted([(p1, 1), (p2, 1)]));
    d.stop();

    // A restart with a healthy cluster writes nothing to IPVS.
    let before = k.lock().history.len();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut d = Daemon::start(s.opts(), k.clone(), MemPlatform::new(k.clone()), Default::default(), tx).unwrap();
    assert!(d.reconcile().unwrap().is_none(), "nothing to change");
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(300) {
        if let Ok(e) = rx.recv_timeout(Duration::from_millis(20)) {
            d.handle(e);
        }
    }
    assert_eq!(k.lock().history[before..], [] as [String; 0], "no write after a restart");
    d.stop();
    drop((l1, l2));
}

/// [`health_manifest`] with `n` more services (`extra0`..), one backend each on `p1`: a
/// commit that drops them deletes `2 n` IPVS objects.
fn with_extra_services(m: &str, n: u16, p1: u16) -> String {
    let mut m = m.to_string();
    for i in 0..n {
        m.push_str(&format!(
            "  extra{i}:\n    vip: 10.0.0.100\n    port: {}\n    directors: [lb1]\n    backends:\n      a: {{address: 127.0.0.1, port: {p1}}}\n",
            1000 + i
        ));
    }
    m
}

#[test]
fn a_commit_deleting_more_than_the_limit_is_refused_whole_and_health_goes_on() {
    let Health { s, k, l1, l2, p1, p2, rx, d } = health_daemon("guard");
    d.stop();
    let plain = health_manifest(p1, p2);
    s.write(&with_extra_services(&plain, 7, p1));
    let (tx, rx2) = std::sync::mpsc::channel();
    let mut d = Daemon::start(s.opts(), k.clone(), MemPlatform::new(k.clone()), Default::default(), tx).unwrap();
    drop(rx);
    d.reconcile().unwrap();
    pump(&mut d, &rx2, "both backends up", || dests(&k, 80).len() == 2);
    assert_eq!(k.lock().state.services.len(), 10);
    let in_force = d.status().manifest;

    s.write(&plain);
    let mut refused = None;
    let log = logged(|| {
        d.reload_logged();
        refused = d.status().last_rejected;
    });
    let refused = refused.expect("the commit is refused");
    assert_eq!(refused.destroy, Some(super::status::DestroyCount { count: 14, limit: 10 }));
    assert!(
        refused.reason.contains("would delete 14 IPVS services and destinations, more than the limit of 10"),
        "{refused:?}"
    );
    assert!(refused.reason.contains("run --allow-destroy"), "{refused:?}");
    assert!(log.contains("manifest not reloaded; the running configuration stays in force"), "{log}");
    assert_eq!(d.status().manifest, in_force);
    assert!(d.reconcile().unwrap().is_none(), "the configuration in force stays converged");
    assert_eq!(k.lock().state.services.len(), 10);
    let metrics = super::metrics::render(&d.status());
    assert!(metrics.contains("lbconverge_manifest_rejected_destroy_count 14"), "{metrics}");

    // Health failover goes on under the configuration in force.
    drop(l2);
    pump(&mut d, &rx2, "b out", || dests(&k, 80) == [(p1, 1)]);

    // Allowed, the same commit is taken and converged.
    d.stop();
    let opts = super::DaemonOptions { max_destroy: 14, ..s.opts() };
    let (tx, _rx3) = std::sync::mpsc::channel();
    s.write(&with_extra_services(&plain, 7, p1));
    let mut d = Daemon::start(opts, k.clone(), MemPlatform::new(k.clone()), Default::default(), tx).unwrap();
    d.reconcile().unwrap();
    s.write(&plain);
    d.reload().unwrap();
    d.reconcile().unwrap();
    assert_eq!(k.lock().state.services.len(), 3, "the seven services are deleted");
    d.stop();
    drop(l1);
}

#[test]
fn health_transitions_are_applied_while_the_full_reconcile_fails() {
    let Health { s, k, l1, l2, p1, p2, rx, d } = health_daemon("scoped");
    let plain = health_manifest(p1, p2);
    d.stop();
    s.write(&with_extra_services(&plain, 7, p1));
    let (tx, rx2) = std::sync::mpsc::channel();
    let mut d = Daemon::start(s.opts(), k.clone(), MemPlatform::new(k.clone()), Default::default(), tx).unwrap();
    drop(rx);
    d.reconcile().unwrap();
    pump(&mut d, &rx2, "both backends up", || dests(&k, 80).len() == 2);
    d.stop();
    // Restarted on a manifest without the seven services: its first reconcile is refused
    // by the guard, every time.
    s.write(&plain);
    let (tx, rx2) = std::sync::mpsc::channel();
    let mut d = Daemon::start(s.opts(), k.clone(), MemPlatform::new(k.clone()), Default::default(), tx).unwrap();
    let e = d.reconcile().unwrap_err();
    assert!(e.to_string().contains("more than the limit of 10"), "{e}");
    drop(l2);
    pump(&mut d, &rx2, "b out of web", || dests(&k, 80) == [(p1, 1)]);
    assert_eq!(dests(&k, 81), sorted([(p1, 1), (p2, 0)]), "inhibited");
    assert!(d.reconcile().is_err(), "the full pass still refuses");
    assert_eq!(k.lock().state.services.len(), 10, "nothing else was touched");
    d.stop();
    drop(l1);
}

#[test]
fn status_counts_backend_transitions_probes_and_the_ipvs_traffic_read_last() {
    use crate::model::ipvs::{DestKey, Traffic};
    let Health { s: _scratch, k, l1, l2, p1, p2, rx, mut d } = health_daemon("counts");
    d.reconcile().unwrap();
    pump(&mut d, &rx, "both backends up", || dests(&k, 80).len() == 2);
    drop(l2);
    pump(&mut d, &rx, "b out", || dests(&k, 80) == [(p1, 1)]);
    let web = "tcp 10.0.0.100:80".parse().unwrap();
    let t = Traffic {
        conns: 5,
        in_pkts: 50,
        out_pkts: 40,
        in_bytes: 5000,
        out_bytes: 60_000,
        cps: 1,
        ..Traffic::default()
    };
    assert!(k.lock().pass_traffic(&web, &DestKey { addr: "127.0.0.1".parse().unwrap(), port: p1 }, &t));
    assert!(d.status().services[0].traffic.is_zero(), "status shows the kernel as read last");
    assert!(d.reconcile().unwrap().is_none(), "counters are no drift");
    let st = d.status();
    let svc = st.services.iter().find(|s| s.name == "web").unwrap();
    assert_eq!(svc.traffic, t);
    let (a, b) = (&svc.backends[0], &svc.backends[1]);
    assert_eq!((a.traffic, b.traffic), (t, Traffic::default()), "b is no longer in IPVS");
    assert_eq!((a.transitions, b.transitions), (1, 2), "a: up; b: up, down");
    for (be, port, down) in [(a, p1, false), (b, p2, true)] {
        let [c] = be.checks.as_slice() else { panic!("one check per backend: {be:?}") };
        assert_eq!(c.check, format!("tcp 127.0.0.1:{port}"));
        assert!(c.probes >= 1 && (c.failures >= 1) == down && c.failures <= c.probes, "{c:?}");
        assert!(c.duration_buckets.last().is_some_and(|(_, n)| *n <= c.probes), "{c:?}");
    }
    let text = super::status::text(&st);
    assert!(
        text.contains("  traffic: 5 conns, 50 packets in, 40 out, 5000 bytes in, 60000 out; now 1 conns/s"),
        "{text}"
    );
    assert!(text.contains(&format!("    check tcp 127.0.0.1:{p2}: ")), "{text}");
    let metrics = super::metrics::render(&st);
    let want = format!(
        "lbconverge_ipvs_backend_bytes{{service=\"web\",backend=\"a\",address=\"127.0.0.1:{p1}\",direction=\"out\"}} 60000"
    );
    assert!(metrics.lines().any(|l| l == want), "{want}:\n{metrics}");
    d.stop();
    drop(l1);
}

#[test]
fn several_checks_per_backend_all_must_pass_and_notify_commands_run() {
    let (s, k) = (Scratch::new("multi"), host());
    let l1 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let l2 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (p1, p2) = (l1.local_addr().unwrap().port(), l2.local_addr().unwrap().port());
    let log = s.dir.join("hooks.log");
    let hook = |event: &str| {
        format!(
            "[/bin/sh, -c, 'echo {event} $1 $2 >> {}', hook, \"{{service}}/{{backend}}\", \"{{address}}:{{port}}\"]",
            log.display()
        )
    };
    let quorum_hook = |event: &str| {
        format!("[/bin/sh, -c, 'echo {event} $1 >> {}', hook, \"{{service}} {{weight}}\"]", log.display())
    };
    s.write(&format!(
        "version: 1
nodes:
  lb1: {{roles: [director], addresses: [10.0.0.11/24], interface: eth0}}
services:
  web:
    vip: 10.0.0.100
    port: 80
    forwarding: nat
    directors: [lb1]
    health_check: {{type: tcp, interval: 50ms, timeout: 500ms, retries: 0}}
    health_checks: [{{port: {p1}}}, {{port: {p2}}}]
    notify_up: {}
    notify_down: {}
    quorum_up: {}
    quorum_down: {}
    backends:
      a: {{address: 127.0.0.1, port: 8080}}
",
        hook("up"),
        hook("down"),
        quorum_hook("quorum-up"),
        quorum_hook("quorum-down")
    ));
    let (tx, rx) = std::sync::mpsc::channel();
    let mut d = Daemon::start(s.opts(), k.clone(), MemPlatform::new(k.clone()), Default::default(), tx).unwrap();
    assert_eq!(d.board().targets().len(), 2, "one backend, two checks");
    d.reconcile().unwrap();
    pump(&mut d, &rx, "a up once both checks passed", || dests(&k, 80) == [(8080, 1)]);
    drop(l2);
    pump(&mut d, &rx, "a down when one of its checks fails", || dests(&k, 80).is_empty());
    let logged = || std::fs::read_to_string(&log).unwrap_or_default();
    let t = Instant::now();
    while !logged().contains("down web/a") || !logged().contains("quorum-down web 0") {
        assert!(t.elapsed() < Duration::from_secs(5), "hooks: {}", logged());
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(logged().contains("down web/a 127.0.0.1:8080"), "{}", logged());
    assert_eq!(
        logged().matches("up web/a").count(),
        1,
        "one notify_up for the backend, not one per check: {}",
        logged()
    );
    d.stop();
    drop(l1);
}

/// A lone instance with a command for every state (lb1's own `notify_master` over the
/// instance's) and the generic `notify`; each appends its name and arguments to `log`.
/// `stop` names the `notify_stop` command.
fn notify_manifest(log: &std::path::Path, stop: &str) -> String {
    let cmd = |name: &str, wait: &str| {
        format!(
            "[/bin/sh, -c, '{wait}{{ printf {name}; printf \" [%s]\" \"$@\"; echo; }} >> {}', {name}, 'a b', c]",
            log.display()
        )
    };
    let generic =
        format!("[/bin/sh, -c, '{{ printf notify; printf \" [%s]\" \"$@\"; echo; }} >> {}', notify]", log.display());
    format!(
        "version: 1
nodes:
  lb1: {{roles: [director], addresses: [10.0.0.11/24], interface: eth0}}
vrrp:
  VI_N:
    vrid: 20
    advert_interval: 50ms
    members:
      lb1: {{priority: 150, notify_master: {}}}
    vips: [10.0.0.120/24]
    notify_master: {}
    notify_backup: {}
    notify_fault: {}
    notify_stop: {}
    notify: {generic}
    notify_timeout: 5s
",
        cmd("master", "sleep 0.3; "),
        cmd("instance-master", ""),
        cmd("backup", ""),
        cmd("fault", ""),
        cmd(stop, ""),
    )
}

/// The daemon runs an instance's notify commands on its transitions: the state's own (the
/// member's over the instance's) with its arguments, then the generic `notify` with
/// keepalived's `INSTANCE NAME STATE PRIORITY`, one at a time in the order of the
/// transitions (a slow `notify_master` is not overtaken by the `notify_fault` after it);
/// a reload takes a changed command in place; stop runs `notify_stop` and waits for it.
#[test]
fn notify_commands_run_per_state_in_order_and_stop_runs_notify_stop() {
    let (s, k) = (Scratch::new("notify"), host());
    let out = s.dir.join("notify.log");
    s.write(&notify_manifest(&out, "stop"));
    let mut d = start(&s, &k);
    let view = |d: &Daemon<Shared, MemPlatform>| d.instances()[0].view.lock().unwrap().clone();
    wait_for("VI_N to be master", Duration::from_secs(2), || view(&d).state == "MASTER");
    // While the master's command still runs (0.3 s), tracking reports FAULT, then recovers.
    let control = d.instances()[0].control.clone();
    control.send(super::instance::Control::Priority(None));
    wait_for("VI_N in FAULT", Duration::from_secs(1), || view(&d).state == "FAULT");
    control.send(super::instance::Control::Priority(Some(150)));
    wait_for("VI_N master again", Duration::from_secs(2), || {
        let v = view(&d);
        v.state == "MASTER" && v.transitions == 5
    });
    s.write(&notify_manifest(&out, "stop2"));
    let mut changed = None;
    let log = logged(|| changed = Some(d.reload().unwrap()));
    assert_eq!(changed.map(|c| (c.updated, c.started, c.stopped)), Some((1, 0, 0)), "{log}");
    assert!(log.contains("changed=notify_stop"), "{log}");
    assert_eq!(view(&d).state, "MASTER", "the instance kept its state");
    d.stop();
    let lines = std::fs::read_to_string(&out).unwrap();
    let want = [
        "backup [a b] [c]",
        "notify [INSTANCE] [VI_N] [BACKUP] [150]",
        "master [a b] [c]",
        "notify [INSTANCE] [VI_N] [MASTER] [150]",
        "fault [a b] [c]",
        "notify [INSTANCE] [VI_N] [FAULT] [150]",
        "backup [a b] [c]",
        "notify [INSTANCE] [VI_N] [BACKUP] [150]",
        "master [a b] [c]",
        "notify [INSTANCE] [VI_N] [MASTER] [150]",
        "stop2 [a b] [c]",
        "notify [INSTANCE] [VI_N] [STOP] [150]",
    ];
    assert_eq!(lines.lines().collect::<Vec<_>>(), want, "stop waited for every command");
}

/// A reload that removes an instance tells its commands what `removal_notify` says:
/// STOP by default (`notify_stop`), keepalived's FAULT (to `notify` alone), or DELETED
/// (`notify_deleted`, keepalived's); the generic `notify` gets the same word. A daemon stop
/// is STOP whatever it says.
#[test]
fn a_reload_that_removes_an_instance_tells_what_removal_notify_says() {
    let cases = [
        ("stop", ["stop [a b] [c]", "notify [INSTANCE] [VI_N] [STOP] [150]"]),
        ("fault", ["notify [INSTANCE] [VI_N] [FAULT] [150]", ""]),
        ("deleted", ["deleted [x]", "notify [INSTANCE] [VI_N] [DELETED] [150]"]),
    ];
    let extra = |name: &str, out: &std::path::Path| match name {
        "fault" => "    removal_notify: fault\n".to_string(),
        "deleted" => format!(
            "    notify_deleted: [/bin/sh, -c, '{{ printf deleted; printf \" [%s]\" \"$@\"; echo; }} >> {}', deleted, x]\n",
            out.display()
        ),
        _ => String::new(),
    };
    for (name, want) in cases {
        let (s, k) = (Scratch::new(&format!("removal-{name}")), host());
        let out = s.dir.join("notify.log");
        s.write(
            &notify_manifest(&out, "stop")
                .replace("    notify_timeout: 5s\n", &format!("    notify_timeout: 5s\n{}", extra(name, &out))),
        );
        let mut d = start(&s, &k);
        let view = |d: &Daemon<Shared, MemPlatform>| d.instances()[0].view.lock().unwrap().clone();
        wait_for("VI_N to be master", Duration::from_secs(2), || view(&d).state == "MASTER");
        s.write("version: 1\nnodes:\n  lb1: {roles: [director], addresses: [10.0.0.11/24], interface: eth0}\n");
        let changed = d.reload().unwrap();
        assert_eq!((changed.updated, changed.started, changed.stopped), (0, 0, 1), "{name}");
        let told =
            || std::fs::read_to_string(&out).unwrap_or_default().lines().skip(4).map(String::from).collect::<Vec<_>>();
        let want: Vec<&str> = want.into_iter().filter(|w| !w.is_empty()).collect();
        wait_for("the removal's commands", Duration::from_secs(3), || told().len() >= want.len());
        d.stop();
        assert_eq!(told(), want, "{name}: after BACKUP and MASTER");
    }
}

/// Every line the daemon logs on its main thread, from start through reconciles (drift
/// repaired), a rejected and an accepted reload, health transitions (the fast path) and
/// quorum, to stop, is one JSON object naming a known subsystem, and each kind of line names
/// the right one whatever module it comes from.
#[test]
fn every_logged_line_is_json_naming_its_subsystem() {
    let log = logged_as(Format::Json, tracing::Level::TRACE, || {
        let (s, k) = (Scratch::new("logs"), host());
        let mut d = start(&s, &k);
        d.reconcile_logged();
        d.reconcile_logged();
        k.lock().state.services.clear();
        d.reconcile_logged();
        s.write(&manifest("eth0", "bad-password", false));
        d.reload_logged();
        s.write(&manifest("eth0", "good-password", true));
        d.reload_logged();
        d.stop();

        let (s, k) = (Scratch::new("logs-health"), host());
        let l1 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let l2 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        s.write(&health_manifest(l1.local_addr().unwrap().port(), l2.local_addr().unwrap().port()));
        let (tx, rx) = std::sync::mpsc::channel();
        let mut d = Daemon::start(s.opts(), k.clone(), MemPlatform::new(k.clone()), Default::default(), tx).unwrap();
        d.reconcile_logged();
        pump(&mut d, &rx, "both backends up", || dests(&k, 80).len() == 2);
        pump(&mut d, &rx, "quorum gained", || dests(&k, 82).len() == 2);
        drop(l2);
        pump(&mut d, &rx, "b out", || dests(&k, 80).len() == 1);
        pump(&mut d, &rx, "sorry server in", || dests(&k, 82) == [(80, 1)]);
        d.stop();
    });
    let mut seen: Vec<(String, String)> = Vec::new();
    for line in log.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let subsystem = v["subsystem"].as_str().unwrap_or_default();
        assert!(SUBSYSTEMS.contains(&subsystem), "unknown subsystem: {line}");
        assert!(v["fields"].is_object() && v["fields"].get("subsystem").is_none(), "{line}");
        assert!(v["timestamp"].as_str().is_some_and(|t| t.len() == 24 && t.ends_with('Z')), "{line}");
        seen.push((v["message"].as_str().unwrap_or_default().to_string(), subsystem.to_string()));
    }
    let of = |message: &str| -> Vec<&str> {
        let mut s: Vec<&str> = seen.iter().filter(|(m, _)| m.starts_with(message)).map(|(_, s)| s.as_str()).collect();
        s.sort_unstable();
        s.dedup();
        s
    };
    for (message, want) in [
        ("lbconverge run starting", vec!["daemon"]),
        ("manifest and kernel read", vec!["manifest"]),
        ("vrrp instance starting", vec!["vrrp"]),
        ("health checks starting", vec!["health"]),
        ("applied", vec!["reconcile"]),
        ("no changes", vec!["reconcile"]),
        ("manifest not reloaded", vec!["manifest"]),
        ("manifest reloaded", vec!["manifest"]),
        ("backend up", vec!["health"]),
        ("backend down", vec!["health"]),
        ("quorum gained", vec!["health"]),
        ("quorum lost", vec!["health"]),
        ("health changes of", vec!["health"]),
    ] {
        assert_eq!(of(message), want, "{message}:\n{log}");
    }
    assert_eq!(of("Node lb1:"), ["reconcile"], "a whole plan's summary line comes from the full pass only:\n{log}");
}

fn drain_request(backend: &str, drain: bool, for_secs: Option<u64>) -> super::control::DrainRequest {
    super::control::DrainRequest {
        service: "web".into(),
        backend: backend.into(),
        drain,
        for_secs,
        reason: "disk swap".into(),
    }
}

fn ask(d: &mut Daemon<Shared, MemPlatform>, req: super::control::DrainRequest) -> Result<String, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    d.handle(super::Event::Drain(req, tx));
    rx.recv().unwrap()
}

#[test]
fn a_drain_sets_weight_zero_at_once_survives_a_restart_and_ends_by_undrain_or_by_itself() {
    let (s, k) = (Scratch::new("drain"), host());
    let mut d = start(&s, &k);
    d.reconcile().unwrap();
    assert_eq!(dests(&k, 80), [(80, 1)]);
    let done = ask(&mut d, drain_request("rs1", true, None)).unwrap();
    assert!(done.starts_with("drained backend rs1 of service web, since "), "{done}");
    assert_eq!(dests(&k, 80), [(80, 0)], "weight 0 at once, the destination kept");
    let rs1 = d.status().services[0].backends[0].clone();
    assert_eq!((rs1.drain.as_ref().map(|x| x.reason.as_str()), rs1.live_weight), (Some("disk swap"), Some(0)));
    assert!(super::status::text(&d.status()).contains("    drained: backend rs1 of service web, since "));
    // Requests that name nothing are refused with what there is.
    assert_eq!(
        ask(&mut d, drain_request("rs9", true, None)),
        Err("service `web` has no backend `rs9` (backends: rs1)".into())
    );
    assert_eq!(
        ask(&mut d, super::control::DrainRequest { service: "www".into(), ..drain_request("rs1", true, None) }),
        Err("the manifest has no service `www` (services: web)".into())
    );
    // A resync does not undo it, and neither does a restart.
    d.reconcile().unwrap();
    assert_eq!(dests(&k, 80), [(80, 0)]);
    d.stop();
    let mut d = start(&s, &k);
    d.reconcile().unwrap();
    assert_eq!(dests(&k, 80), [(80, 0)], "the drain was kept in the state directory");
    assert_eq!(ask(&mut d, drain_request("rs1", false, None)), Ok("undrained backend rs1 of service web".into()));
    assert_eq!(dests(&k, 80), [(80, 1)]);
    assert_eq!(ask(&mut d, drain_request("rs1", false, None)), Err("backend rs1 of service web is not drained".into()));
    // A drain for a second ends by itself.
    ask(&mut d, drain_request("rs1", true, Some(1))).unwrap();
    assert_eq!(dests(&k, 80), [(80, 0)]);
    wait_for("the drain to end", Duration::from_secs(3), || {
        d.expire_drains();
        dests(&k, 80) == [(80, 1)]
    });
    assert!(d.status().services[0].backends[0].drain.is_none());
    assert_eq!(crate::load::drains::read(&s.dir.join("state")).unwrap(), Default::default());
    d.stop();
}

/// The sync daemons running in `k`, as `ipvsadm -L --daemon` lists them.
fn sync_daemons(k: &Shared) -> Vec<String> {
    let st = k.lock().state.sync_daemons.clone();
    st.iter().map(|(s, c)| crate::model::sync::ipvsadm_line(*s, c)).collect()
}

#[test]
fn connection_sync_runs_backup_then_master_with_the_vip_follows_a_reload_in_place_and_stops_with_the_daemon() {
    let s = Scratch::new("sync");
    let with_sync = |id: u32| {
        manifest("eth0", "good-password", false).replace(
            "    vips: [10.0.0.100/24]\n",
            &format!("    vips: [10.0.0.100/24]\n    connection_sync: {{sync_id: {id}}}\n"),
        )
    };
    s.write(&with_sync(10));
    let k = host();
    let mut d = start(&s, &k);
    let line = |state: &str, id: u32| {
        format!("{state} sync daemon (mcast=eth0, syncid={id}, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)")
    };
    wait_for("VI_FAST to take its VIP", Duration::from_secs(2), || holds(&k, FAST_VIP));
    wait_for("the master daemon", Duration::from_secs(1), || sync_daemons(&k) == [line("master", 10)]);
    let switches: Vec<String> = k.lock().history.iter().filter(|h| h.contains("sync daemon")).cloned().collect();
    assert_eq!(
        switches,
        ["start backup sync daemon", "stop backup sync daemon", "start master sync daemon"],
        "a starting instance is backup first"
    );
    let view = d.status().vrrp.into_iter().find(|v| v.name == "VI_FAST").unwrap();
    assert_eq!(view.connection_sync.as_deref(), Some("master sync daemon (mcast=eth0, syncid=10)"));
    assert!(d.status().vrrp.iter().any(|v| v.name == "VI_PASS" && v.connection_sync.is_none()));

    let before = deletions(&k, FAST_VIP);
    s.write(&with_sync(11));
    d.reload().unwrap();
    wait_for("the restarted instance's master daemon", Duration::from_secs(2), || {
        sync_daemons(&k) == [line("master", 11)]
    });
    d.reconcile().unwrap();
    assert_eq!(k.lock().ledger.sync_daemons.len(), 2, "both states are owned");
    let changes: Vec<String> = k.lock().history.iter().filter(|h| h.contains("sync daemon")).cloned().collect();
    assert_eq!(
        changes[3..],
        ["stop master sync daemon", "start master sync daemon"],
        "changed in place: the master's daemon restarts with the new settings; the reconcile left it alone"
    );
    assert_eq!(deletions(&k, FAST_VIP), before, "the VIP stayed");
    d.stop();
    assert_eq!(sync_daemons(&k), Vec::<String>::new(), "stopped with its instance");
}

/// The generic `notify` alone, as keepalived configurations most often have it: its runs
/// keep the order of the transitions even when the MASTER run is slow, and stopping is
/// keepalived's STOP (not INIT), waited for.
#[test]
fn the_generic_notify_keeps_the_order_of_the_transitions() {
    let (s, k) = (Scratch::new("notify-generic"), host());
    let out = s.dir.join("notify.log");
    s.write(&format!(
        "version: 1
nodes:
  lb1: {{roles: [director], addresses: [10.0.0.11/24], interface: eth0}}
vrrp:
  VI_G:
    vrid: 21
    advert_interval: 50ms
    members: {{lb1: {{priority: 150}}}}
    vips: [10.0.0.121/24]
    notify: [/bin/sh, -c, 'case $3 in MASTER) sleep 0.3;; esac; echo \"$1 $2 $3 $4\" >> {}', notify]
",
        out.display()
    ));
    let d = start(&s, &k);
    let view = |d: &Daemon<Shared, MemPlatform>| d.instances()[0].view.lock().unwrap().clone();
    wait_for("VI_G to be master", Duration::from_secs(2), || view(&d).state == "MASTER");
    let control = d.instances()[0].control.clone();
    control.send(super::instance::Control::Priority(None));
    wait_for("VI_G in FAULT", Duration::from_secs(1), || view(&d).state == "FAULT");
    control.send(super::instance::Control::Priority(Some(150)));
    wait_for("VI_G master again", Duration::from_secs(2), || view(&d).state == "MASTER" && view(&d).transitions == 5);
    d.stop();
    let lines = std::fs::read_to_string(&out).unwrap_or_default();
    let want = [
        "INSTANCE VI_G BACKUP 150",
        "INSTANCE VI_G MASTER 150",
        "INSTANCE VI_G FAULT 150",
        "INSTANCE VI_G BACKUP 150",
        "INSTANCE VI_G MASTER 150",
        "INSTANCE VI_G STOP 150",
    ];
    assert_eq!(lines.lines().collect::<Vec<_>>(), want);
}

/// Puts at `p` one of the things a file from outside can be instead of what it should.
fn damage(p: &std::path::Path, how: &str) {
    match how {
        "garbage" => std::fs::write(p, "\0garbage{").unwrap(),
        "fifo" => crate::testkit::mkfifo(p).unwrap(),
        "directory" => {
            std::fs::create_dir(p).unwrap();
            std::fs::write(p.join("inside"), "not lbconverge's").unwrap();
        }
        "dev-zero" => std::os::unix::fs::symlink("/dev/zero", p).unwrap(),
        // Sparse, over every limit that applies here (16 MiB, the ledger's 64 MiB).
        "huge" => std::fs::File::create(p).unwrap().set_len(65 << 20).unwrap(),
        _ => unreachable!("{how}"),
    }
}

/// What `status` says a state file damaged in `how` had wrong with it.
fn problem_of(file: &str, how: &str) -> String {
    let what = if file == "drains.json" { "drains file" } else { "ledger" };
    match how {
        "garbage" => format!("not a {what} (expected value at line 1 column 1)"),
        "fifo" => "not a regular file (a FIFO)".into(),
        "directory" => "not a regular file (a directory)".into(),
        "dev-zero" => format!("a symlink; lbconverge never reads its {what} through a symlink"),
        "huge" => format!("larger than the limit of {} MiB for a {what}", if file == "drains.json" { 16 } else { 64 }),
        _ => unreachable!("{how}"),
    }
}

/// A damaged drains.json or ledger.json never stops the daemon: it starts at once, holds its
/// VIP, reports the file (log, status, metrics) and moves it aside; a directory, which it
/// did not create, is left where it is. Damaged drains are unknown; a lost ledger is empty.
#[test]
fn damaged_state_files_at_start_are_reported_moved_aside_and_the_vip_is_held() {
    for file in ["drains.json", "ledger.json"] {
        for how in ["garbage", "fifo", "directory", "dev-zero", "huge"] {
            let case = format!("{file} as {how}");
            let (s, k) = (Scratch::new(&format!("damaged-{file}-{how}")), host());
            let path = s.dir.join("state").join(file);
            damage(&path, how);
            crate::testkit::unblock_later(&path, Duration::from_secs(2));
            let t = Instant::now();
            let mut d = None;
            let log = logged(|| d = Some(start(&s, &k)));
            let mut d = d.unwrap();
            assert!(t.elapsed() < Duration::from_secs(1), "{case}: start took {:?}", t.elapsed());
            wait_for(&format!("{case}: VI_FAST to take its VIP"), Duration::from_secs(2), || holds(&k, FAST_VIP));
            let removed = deletions(&k, FAST_VIP);
            let problem = problem_of(file, how);
            assert!(log.contains("state file damaged") && log.contains(&problem), "{case}: {log}");
            let st = d.status();
            assert_eq!(st.damaged_state.len(), 1, "{case}: {:?}", st.damaged_state);
            let found = &st.damaged_state[0];
            assert_eq!(
                (found.name.as_str(), found.problem.as_str(), found.times),
                (file, problem.as_str(), 1),
                "{case}"
            );
            if how == "directory" {
                assert_eq!(found.moved_to, None, "{case}");
                assert!(path.join("inside").is_file(), "{case}: what lbconverge did not create stays");
            } else {
                let to = found.moved_to.clone().unwrap_or_else(|| panic!("{case}: not moved: {found:?}"));
                assert!(to.contains(&format!("{file}.damaged-")), "{case}: {to}");
                assert!(std::fs::symlink_metadata(&to).is_ok(), "{case}: {to} is not there");
                assert!(std::fs::symlink_metadata(&path).is_err(), "{case}: still at {}", path.display());
            }
            assert_eq!(st.drains_unknown, file == "drains.json", "{case}");
            let text = super::status::text(&st);
            assert!(text.contains(&format!("damaged state file {}: {problem}", path.display())), "{case}: {text}");
            let metrics = super::metrics::render(&st);
            let want = format!("lbconverge_state_file_damaged{{file=\"{file}\"}} 1");
            assert!(metrics.contains(&want), "{case}: {metrics}");
            let unknown = format!("lbconverge_drains_unknown {}", i32::from(file == "drains.json"));
            assert!(metrics.contains(&unknown), "{case}: {metrics}");
            d.reconcile().unwrap();
            assert!(holds(&k, FAST_VIP) && deletions(&k, FAST_VIP) == removed, "{case}");
            d.stop();
        }
    }
}

/// Damaged while the daemon runs: the next reload (whatever becomes of the manifest) moves
/// the file aside and writes back the drains the daemon holds; the VIP never moves.
#[test]
fn state_files_damaged_while_running_are_moved_aside_at_reload_and_the_drains_written_back() {
    let (s, k) = (Scratch::new("damaged-reload"), host());
    let mut d = start(&s, &k);
    d.reconcile().unwrap();
    wait_for("VI_FAST to take its VIP", Duration::from_secs(2), || holds(&k, FAST_VIP));
    let removed = deletions(&k, FAST_VIP);
    ask(&mut d, drain_request("rs1", true, None)).unwrap();
    let state = s.dir.join("state");
    let held = crate::load::drains::read(&state).unwrap();
    std::fs::write(state.join("drains.json"), "[1, 2").unwrap();
    std::fs::create_dir(state.join("ledger.json")).unwrap();
    let log = logged(|| {
        d.handle(super::Event::Reload);
    });
    assert!(log.contains("state file damaged; moved aside"), "{log}");
    assert!(log.contains("state file damaged; left in place"), "{log}");
    let st = d.status();
    let names: Vec<&str> = st.damaged_state.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["drains.json", "ledger.json"]);
    assert!(!st.drains_unknown, "the daemon still knows its drains");
    assert_eq!(crate::load::drains::read(&state).unwrap(), held, "written back");
    assert_eq!(dests(&k, 80), [(80, 0)], "still drained");
    // Found again at the next reload: counted, still reported.
    d.handle(super::Event::Reload);
    let ledger = d.status().damaged_state.into_iter().find(|f| f.name == "ledger.json").unwrap();
    assert_eq!((ledger.times, ledger.moved_to), (2, None));
    assert!(holds(&k, FAST_VIP) && deletions(&k, FAST_VIP) == removed);
    d.stop();
}

/// The manifest swapped for something that is no manifest: the reload is refused at once
/// with the true reason, recorded for `status`, and the VIP stays; a good one follows.
#[test]
fn a_reload_of_a_manifest_swapped_for_a_fifo_dev_zero_or_a_huge_file_is_refused_at_once() {
    let (s, k) = (Scratch::new("manifest-swapped"), host());
    let mut d = start(&s, &k);
    wait_for("VI_FAST to take its VIP", Duration::from_secs(2), || holds(&k, FAST_VIP));
    let removed = deletions(&k, FAST_VIP);
    let m = s.dir.join("manifest.yaml");
    let cases = [
        ("fifo", "not a regular file (a FIFO)"),
        ("dev-zero", "not a regular file (a character device)"),
        ("directory", "not a regular file (a directory)"),
        ("huge", "larger than the limit of 16 MiB for a manifest"),
    ];
    for (how, want) in cases {
        let _ = std::fs::remove_file(&m).or_else(|_| std::fs::remove_dir_all(&m));
        damage(&m, how);
        crate::testkit::unblock_later(&m, Duration::from_secs(2));
        let t = Instant::now();
        let log = logged(|| {
            d.handle(super::Event::Reload);
        });
        assert!(t.elapsed() < Duration::from_secs(1), "{how}: the reload took {:?}", t.elapsed());
        assert!(log.contains("manifest not reloaded; the running configuration stays in force"), "{how}: {log}");
        assert!(log.contains(&format!("{}: error: {want}", m.display())), "{how}: {log}");
        let rejected = d.status().last_rejected.unwrap();
        assert!(rejected.reason.contains(want), "{how}: {}", rejected.reason);
        assert!(holds(&k, FAST_VIP), "{how}");
    }
    let _ = std::fs::remove_file(&m);
    s.write(&manifest("eth0", "good-password", false));
    d.reload().unwrap();
    assert!(holds(&k, FAST_VIP) && deletions(&k, FAST_VIP) == removed, "the VIP never moved");
    d.stop();
}

/// Serves until the queued `events` end with a stop.
fn serve_queued(d: &mut Daemon<Shared, MemPlatform>, events: Vec<super::Event>) {
    let (tx, rx) = std::sync::mpsc::channel();
    for e in events {
        tx.send(e).unwrap();
    }
    tx.send(super::Event::Stop).unwrap();
    d.serve(&rx, &mut super::systemd::Notifier::none());
}

/// A drain `for_secs` of u64::MAX over the control socket saturates: the main loop does not
/// panic on the far end (`Instant + Duration`), and neither does the next start, which reads
/// it back from the state directory; nor one from a drains.json with the largest times.
#[test]
fn a_drain_for_u64_max_seconds_panics_neither_the_main_loop_nor_the_next_start() {
    let (s, k) = (Scratch::new("drain-forever"), host());
    let mut d = start(&s, &k);
    let (reply, answer) = std::sync::mpsc::channel();
    serve_queued(&mut d, vec![super::Event::Drain(drain_request("rs1", true, Some(u64::MAX)), reply)]);
    let done = answer.recv().unwrap().unwrap();
    assert!(done.starts_with("drained backend rs1 of service web, since "), "{done}");
    assert_eq!(dests(&k, 80), [(80, 0)]);
    d.stop();
    let state = s.dir.join("state");
    assert_eq!(crate::load::drains::read(&state).unwrap().drains[0].until, Some(u64::MAX), "saturated");
    let mut d = start(&s, &k);
    serve_queued(&mut d, vec![]);
    assert_eq!(dests(&k, 80), [(80, 0)], "still drained after a restart");
    d.stop();
    let max = u64::MAX;
    let text = format!(
        "{{\"drains\": [{{\"service\": \"web\", \"backend\": \"rs1\", \"since\": {max}, \"until\": {max}}}]}}\n"
    );
    std::fs::write(state.join("drains.json"), text).unwrap();
    let mut d = start(&s, &k);
    serve_queued(&mut d, vec![]);
    assert_eq!(dests(&k, 80), [(80, 0)]);
    assert!(super::status::text(&d.status()).contains("    drained: backend rs1 of service web, since "));
    d.stop();
}

/// A server group of seven IPVS services (three VIPs on two ports, and a mark) on two
/// backends at 127.0.0.1, checked over TCP every 50 ms: `a` NAT on its own port, `b` DR
/// whose destinations follow each virtual port (0 under the mark), checked on `p2`.
fn group_manifest(p1: u16, p2: u16) -> String {
    format!(
        "version: 1
nodes:
  lb1: {{roles: [director], addresses: [10.0.0.11/24], interface: eth0}}
defaults:
  health_check: {{type: tcp, interval: 50ms, timeout: 500ms, retries: 0}}
services:
  web:
    group:
      - {{vip: 10.0.0.100-102, port: \"80-81\"}}
      - {{fwmark: 7}}
    directors: [lb1]
    backends:
      a: {{address: 127.0.0.1, port: {p1}, forwarding: nat}}
      b: {{address: 127.0.0.2, health_check: {{port: {p2}}}}}
"
    )
}

/// Every IPVS service of the in-memory kernel with its destinations: `key -> port,port`.
fn tables(k: &Shared) -> Vec<String> {
    let k = k.lock();
    let dests = |s: &crate::model::ipvs::Service| s.dests.keys().map(ToString::to_string).collect::<Vec<_>>();
    k.state.services.values().map(|s| format!("{} -> {}", s.key, dests(s).join(","))).collect()
}

#[test]
fn one_check_moves_a_backend_in_every_ipvs_service_of_its_group() {
    let (s, k) = (Scratch::new("group"), host());
    let l1 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let l2 = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    let (p1, p2) = (l1.local_addr().unwrap().port(), l2.local_addr().unwrap().port());
    s.write(&group_manifest(p1, p2));
    let (tx, rx) = std::sync::mpsc::channel();
    let mut d = Daemon::start(s.opts(), k.clone(), MemPlatform::new(k.clone()), Default::default(), tx).unwrap();
    assert_eq!(d.board().targets().len(), 2, "seven IPVS services, one probe per backend");
    d.reconcile().unwrap();
    assert_eq!(k.lock().state.services.len(), 7);
    let with = |addr: &str| tables(&k).iter().filter(|t| t.contains(addr)).count();
    pump(&mut d, &rx, "both backends in all seven", || with("127.0.0.1:") == 7 && with("127.0.0.2:") == 7);
    let t = tables(&k);
    assert!(t.contains(&format!("tcp 10.0.0.101:81 -> 127.0.0.1:{p1},127.0.0.2:81")), "{t:#?}");
    assert!(t.contains(&format!("fwmark 7 ipv4 -> 127.0.0.1:{p1},127.0.0.2:0")), "{t:#?}");

    let before = k.lock().history.len();
    drop(l2);
    pump(&mut d, &rx, "b out of all seven", || with("127.0.0.2:") == 0);
    assert_eq!(with("127.0.0.1:"), 7, "a stays everywhere");
    let writes: Vec<String> = k.lock().history[before..].to_vec();
    assert_eq!(writes.len(), 7, "one deletion per IPVS service: {writes:#?}");
    assert!(writes.iter().all(|w| w.contains("127.0.0.2")), "{writes:#?}");

    let l2 = std::net::TcpListener::bind(("127.0.0.2", p2)).unwrap();
    pump(&mut d, &rx, "b back in all seven", || with("127.0.0.2:") == 7);
    d.stop();
    drop((l1, l2));
}

fn held_on(k: &Shared, interface: &str, vip: &str) -> bool {
    let net = vip.parse().unwrap();
    k.lock().state.addresses.values().any(|a| a.interface == interface && a.address == net)
}

fn vmacs(k: &Shared) -> Vec<String> {
    k.lock().state.vmacs.iter().map(ToString::to_string).collect()
}

fn sysctl(k: &Shared, key: &str) -> Option<String> {
    k.lock().state.sysctls.get(&key.parse().unwrap()).cloned()
}

/// `vmac` on VI_FAST (default name) and, with `xmit_base`, a named one on VI_PASS.
fn vmac_manifest(s: &Scratch) -> String {
    manifest("eth0", "good-password", false)
        .replace("    vips: [10.0.0.100/24]\n", "    vips: [10.0.0.100/24]\n    vmac: {}\n")
        .replace(
            "    vips: [10.0.0.101/24]\n",
            "    vips: [10.0.0.101/24]\n    vmac: {name: pass.mac, xmit_base: true}\n",
        )
        .replace("good-password", &s.dir.join("good-password").display().to_string())
}

#[test]
fn a_vmac_is_made_before_its_instance_holds_the_vips_and_removed_with_it() {
    let (s, k) = (Scratch::new("vmac"), host());
    s.write(&vmac_manifest(&s));
    let mut d = start(&s, &k);
    assert_eq!(
        vmacs(&k),
        ["pass.mac (00:00:5e:00:01:0b on eth0)", "vrrp.10 (00:00:5e:00:01:0a on eth0)"],
        "both made at start"
    );
    assert_eq!(k.lock().state.links.get("vrrp.10"), Some(&Link::UP), "up before any state");
    for (key, want) in [("arp_ignore", "1"), ("accept_local", "1"), ("rp_filter", "0"), ("promote_secondaries", "1")] {
        assert_eq!(sysctl(&k, &format!("net.ipv4.conf.vrrp/10.{key}")).as_deref(), Some(want), "{key}");
    }
    assert_eq!(sysctl(&k, "net.ipv6.conf.vrrp/10.disable_ipv6").as_deref(), Some("1"));
    let pass_local = sysctl(&k, "net.ipv4.conf.pass/mac.accept_local");
    assert_eq!(pass_local.as_deref(), Some("0"), "xmit_base: no packet from a local source on the VMAC");
    wait_for("VI_FAST to take its VIP on its VMAC", Duration::from_secs(2), || held_on(&k, "vrrp.10", FAST_VIP));
    assert!(!held_on(&k, "eth0", FAST_VIP), "nothing on the base interface");
    d.reconcile().unwrap();
    for key in ["arp_ignore", "arp_filter"] {
        assert_eq!(sysctl(&k, &format!("net.ipv4.conf.eth0.{key}")).as_deref(), Some("1"), "the base's {key}");
    }
    // A reload that drops VI_PASS's VMAC removes it; VI_FAST keeps its own and its VIP.
    s.write(&vmac_manifest(&s).replace("    vmac: {name: pass.mac, xmit_base: true}\n", ""));
    d.reload().unwrap();
    assert_eq!(vmacs(&k), ["vrrp.10 (00:00:5e:00:01:0a on eth0)"]);
    assert!(!k.lock().state.links.contains_key("pass.mac"));
    assert!(held_on(&k, "vrrp.10", FAST_VIP), "the VIP stayed");
    d.stop();
    assert!(vmacs(&k).is_empty(), "the stop removes the VMACs");
    assert!(!k.lock().state.links.contains_key("vrrp.10"));
}

/// `ipvlan` in private mode on VI_FAST, lb1's address on it `addr`.
fn ipvlan_manifest(s: &Scratch, addr: &str) -> String {
    manifest("eth0", &s.dir.join("good-password").display().to_string(), false)
        .replace(
            "    vips: [10.0.0.100/24]\n",
            "    vips: [10.0.0.100/24]\n    ipvlan: {name: ipv.fast, mode: private}\n",
        )
        .replace(
            "lb1: {priority: 150, interface: eth0}",
            &format!("lb1: {{priority: 150, interface: eth0, ipvlan_address: {addr}}}"),
        )
}

#[test]
fn an_ipvlan_is_made_with_its_mode_and_address_the_vips_stay_on_the_base_and_it_goes_at_stop() {
    let (s, k) = (Scratch::new("ipvlan"), host());
    s.write(&ipvlan_manifest(&s, "10.0.0.31/24"));
    let mut d = start(&s, &k);
    assert_eq!(vmacs(&k), ["ipv.fast (ipvlan l2 private on eth0)"], "made at start");
    assert_eq!(k.lock().state.links.get("ipv.fast"), Some(&Link::UP), "up before any state");
    assert!(held_on(&k, "ipv.fast", "10.0.0.31/24"), "its address, the adverts' source");
    assert_eq!(sysctl(&k, "net.ipv6.conf.ipv/fast.disable_ipv6").as_deref(), Some("1"), "keepalived's: no IPv6");
    assert_eq!(sysctl(&k, "net.ipv4.conf.ipv/fast.arp_ignore"), None, "the parent's MAC: no ARP settings");
    // The ipvlan carries the adverts only; the VIPs stay on eth0, as keepalived holds them.
    wait_for("VI_FAST to take its VIP on eth0", Duration::from_secs(2), || held_on(&k, "eth0", FAST_VIP));
    assert!(!held_on(&k, "ipv.fast", FAST_VIP), "no VIP on the ipvlan");
    d.reconcile().unwrap();
    assert_eq!(sysctl(&k, "net.ipv4.conf.eth0.arp_ignore"), None, "the base keeps its ARP settings");
    // A reload with another address moves it; the VIP stays.
    s.write(&ipvlan_manifest(&s, "10.0.0.32/24"));
    d.reload().unwrap();
    assert!(held_on(&k, "ipv.fast", "10.0.0.32/24") && !held_on(&k, "ipv.fast", "10.0.0.31/24"), "moved");
    assert!(held_on(&k, "eth0", FAST_VIP), "the VIP stayed");
    d.stop();
    assert!(vmacs(&k).is_empty(), "the stop removes the ipvlan");
    assert!(!k.lock().state.links.contains_key("ipv.fast"));
}

#[test]
fn a_master_with_an_xmit_base_vmac_announces_once_more_an_advert_interval_after_taking_over() {
    let (s, k) = (Scratch::new("vmac-relearn"), host());
    s.write(&vmac_manifest(&s).replace("    vmac: {}\n", "    vmac: {xmit_base: true}\n"));
    let platform = MemPlatform::new(k.clone());
    let sent = platform.sent.clone();
    let (events, _) = std::sync::mpsc::channel();
    let d = Daemon::start(s.opts(), k.clone(), platform, Default::default(), events).unwrap();
    wait_for("VI_FAST to take its VIP on its VMAC", Duration::from_secs(2), || held_on(&k, "vrrp.10", FAST_VIP));
    wait_for("the takeover's burst", Duration::from_millis(200), || announced(&sent, FAST_VIP) >= 5);
    let t0 = Instant::now();
    assert_eq!(announced(&sent, FAST_VIP), 5, "garp_repeat at once");
    wait_for("one more", Duration::from_millis(500), || announced(&sent, FAST_VIP) == 6);
    assert!(t0.elapsed() >= Duration::from_millis(20), "about an advert interval (50 ms) later: {:?}", t0.elapsed());
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(announced(&sent, FAST_VIP), 6, "only one, until garp_delay");
    d.stop();
}

#[test]
fn a_vmac_deleted_by_hand_puts_its_instance_in_fault_and_comes_back_with_its_sysctls_and_vips() {
    let (s, k) = (Scratch::new("vmac-gone"), host());
    s.write(&vmac_manifest(&s));
    let mut d = start(&s, &k);
    wait_for("VI_FAST to take its VIP on its VMAC", Duration::from_secs(2), || held_on(&k, "vrrp.10", FAST_VIP));
    assert!(d.repair_vmacs().is_empty(), "nothing to repair");
    let gone = k.lock().state.vmacs.iter().find(|v| v.name == "vrrp.10").cloned().unwrap();
    crate::kernel::Addrs::del_vmac(&mut *k.lock(), &gone).unwrap();
    let fast = |d: &Daemon<Shared, MemPlatform>| {
        let r = d.instances().iter().find(|r| r.spec.name == "VI_FAST").unwrap();
        r.view.lock().unwrap().state.clone()
    };
    wait_for("VI_FAST to go FAULT without its VMAC", Duration::from_secs(2), || fast(&d) == "FAULT");
    assert_eq!(d.repair_vmacs(), ["vrrp.10"]);
    assert!(vmacs(&k).contains(&"vrrp.10 (00:00:5e:00:01:0a on eth0)".to_string()), "made again");
    assert_eq!(k.lock().state.links.get("vrrp.10"), Some(&Link::UP));
    assert_eq!(sysctl(&k, "net.ipv4.conf.vrrp/10.arp_ignore").as_deref(), Some("1"), "with its sysctls");
    wait_for("VI_FAST to hold its VIP again", Duration::from_secs(3), || held_on(&k, "vrrp.10", FAST_VIP));
    assert_eq!(fast(&d), "MASTER");
    assert_eq!(d.status().last_drift.as_deref(), Some("make VMAC vrrp.10 again"), "counted as drift");
    assert!(d.repair_vmacs().is_empty(), "once");
    d.stop();
}

#[test]
fn a_vmac_name_taken_by_another_interface_stops_the_start_and_is_left_alone() {
    let (s, k) = (Scratch::new("vmac-taken"), host());
    s.write(&vmac_manifest(&s));
    k.lock().state.links.insert("vrrp.10".into(), Link::UP);
    let (events, _) = std::sync::mpsc::channel();
    let e = Daemon::start(s.opts(), k.clone(), MemPlatform::new(k.clone()), Default::default(), events).err().unwrap();
    assert!(e.to_string().contains("interface vrrp.10 exists on this host and is not a VMAC"), "{e}");
    assert!(k.lock().state.links.contains_key("vrrp.10") && vmacs(&k).is_empty(), "left alone, nothing made");
}

/// The writes of routes and rules (`add vrrp route ...`, `delete vrrp rule ...`), in order.
fn routing_writes(k: &Shared) -> Vec<String> {
    k.lock()
        .history
        .iter()
        .filter(|h| h.contains(" vrrp r"))
        .map(|h| h.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn a_master_holds_its_rules_after_its_routes_changes_them_in_place_and_releases_them_first() {
    let (s, k) = (Scratch::new("rules"), host());
    let extra = "    vips: [10.0.0.100/24]\n    routes:\n      - {to: 10.9.0.0/16, table: 100, nexthops: [{via: 10.0.0.1}, {via: 10.0.0.2, dev: eth0, weight: 3, onlink: true, encap: {type: mpls, labels: [200]}}]}\n      - {to: 10.8.0.0/16, via: 192.0.2.1, dev: eth0, onlink: true, encap: {type: ip, id: 7, dst: 10.0.0.50}}\n    rules:\n      - {priority: 100, from: 10.0.0.100, table: 100}\n      - {priority: 101, family: ipv6, fwmark: 0x10/0xf0, type: blackhole}\n";
    let text = manifest("eth0", "good-password", false).replacen("    vips: [10.0.0.100/24]\n", extra, 1);
    s.write(&text);
    let (mut d, _) = start_master(&s, &k);
    wait_for("the rules", Duration::from_millis(200), || k.lock().state.vrrp_rules.len() == 2);
    let rules: Vec<String> = k.lock().state.vrrp_rules.iter().map(ToString::to_string).collect();
    assert_eq!(
        rules,
        ["priority 100 from 10.0.0.100/32 table 100", "-6 priority 101 from all fwmark 0x10/0xf0 blackhole"]
    );
    let routes: Vec<String> = k.lock().state.vrrp_routes.iter().map(ToString::to_string).collect();
    assert_eq!(
        routes,
        [
            "10.8.0.0/16 via 192.0.2.1 dev eth0 encap ip id 7 dst 10.0.0.50 onlink",
            "10.9.0.0/16 table 100 nexthop via 10.0.0.1 weight 1 nexthop via 10.0.0.2 dev eth0 weight 3 encap mpls 200 onlink"
        ],
        "onlink and encap on the route and on a path"
    );
    let adds: Vec<String> = routing_writes(&k).into_iter().filter(|w| w.starts_with("add")).collect();
    assert_eq!(adds, ["add vrrp route", "add vrrp route", "add vrrp rule", "add vrrp rule"], "routes first");
    // A commit that drops one rule and the route, and adds a rule: in place.
    let fewer = "    vips: [10.0.0.100/24]\n    rules:\n      - {priority: 100, from: 10.0.0.100, table: 100}\n      - {priority: 102, to: 10.8.0.0/16, iif: eth0, not: true, table: 200}\n";
    s.write(&manifest("eth0", "good-password", false).replacen("    vips: [10.0.0.100/24]\n", fewer, 1));
    let changed = d.reload().unwrap();
    assert_eq!(changed.updated, 1);
    let rules: Vec<String> = k.lock().state.vrrp_rules.iter().map(ToString::to_string).collect();
    assert_eq!(
        rules,
        ["priority 100 from 10.0.0.100/32 table 100", "priority 102 not from all to 10.8.0.0/16 iif eth0 table 200"]
    );
    assert!(k.lock().state.vrrp_routes.is_empty(), "the dropped routes are gone");
    assert_eq!(fast_view(&d).state, "MASTER");
    k.lock().history.clear();
    d.stop();
    assert!(k.lock().state.vrrp_rules.is_empty(), "stop releases the rules");
    // Leaving MASTER and then the instance's end each release what it holds (a rule
    // already gone is no error): deletes only, of rules only (the route went with the reload).
    let writes = routing_writes(&k);
    assert!(writes.len() >= 2 && writes.iter().all(|w| w == "delete vrrp rule"), "{writes:?}");
}

/// Reads what is in a FIFO now (opened non-blocking), as lines.
fn fifo_lines(r: &mut std::fs::File) -> Vec<String> {
    use std::io::Read;
    let mut buf = Vec::new();
    let _ = r.read_to_end(&mut buf);
    String::from_utf8(buf).unwrap().lines().map(str::to_string).collect()
}

fn fifo_reader(p: &std::path::Path) -> std::fs::File {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(p).unwrap()
}

/// The health side writes keepalived's checker lines to the FIFOs that take `lvs` events,
/// and only to those: an `RS` line per backend and service when a backend goes up or down,
/// a `VS` line when a service gains or loses quorum, in the order the transitions happen.
#[test]
fn health_transitions_write_keepalived_checker_lines_to_the_fifos_taking_lvs_events() {
    let (s, k) = (Scratch::new("lvs-fifo"), host());
    let l1 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let l2 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (p1, p2) = (l1.local_addr().unwrap().port(), l2.local_addr().unwrap().port());
    let (lvs, vrrp) = (s.dir.join("lvs.fifo"), s.dir.join("vrrp.fifo"));
    let fifos =
        format!("notify_fifos:\n  - {{path: {}, events: [lvs]}}\n  - {{path: {}}}\n", lvs.display(), vrrp.display());
    s.write(&format!("{}{fifos}", health_manifest(p1, p2)));
    let (tx, rx) = std::sync::mpsc::channel();
    let mut d = Daemon::start(s.opts(), k.clone(), MemPlatform::new(k.clone()), Default::default(), tx).unwrap();
    let (mut lvs_r, mut vrrp_r) = (fifo_reader(&lvs), fifo_reader(&vrrp));
    d.reconcile().unwrap();
    pump(&mut d, &rx, "both backends up", || dests(&k, 80).len() == 2);
    pump(&mut d, &rx, "quorum gained", || dests(&k, 82) == sorted([(p1, 1), (p2, 1)]));
    let rs = |port: u16, svc: u16, up: &str| format!("RS [127.0.0.1]:tcp:{port} [10.0.0.100]:tcp:{svc} {up}");
    let vs = |svc: u16, up: &str| format!("VS [10.0.0.100]:tcp:{svc} {up}");
    let mut got = fifo_lines(&mut lvs_r);
    // Before the first check: no quorum (a quorum_down, as the notify commands have it).
    assert_eq!(got[..3], [vs(81, "DOWN"), vs(82, "DOWN"), vs(80, "DOWN")], "{got:#?}");
    got.sort();
    let mut want: Vec<String> = [80, 81, 82].iter().flat_map(|&svc| [rs(p1, svc, "UP"), rs(p2, svc, "UP")]).collect();
    want.extend([80, 81, 82].iter().flat_map(|&svc| [vs(svc, "UP"), vs(svc, "DOWN")]));
    want.sort();
    assert_eq!(got, want);

    drop(l2);
    pump(&mut d, &rx, "sorry server in", || dests(&k, 82) == [(80, 1)]);
    // One probe decides b in the three services (in the order of their names), then `q`
    // is below its quorum of 2; `web` and `inh` keep theirs of 1.
    assert_eq!(fifo_lines(&mut lvs_r), [rs(p2, 81, "DOWN"), rs(p2, 82, "DOWN"), rs(p2, 80, "DOWN"), vs(82, "DOWN")]);
    assert_eq!(fifo_lines(&mut vrrp_r), [] as [String; 0], "the VRRP FIFO takes no checker lines");
    d.stop();
    drop(l1);
}

/// A sync group of the two instances of [`manifest`] (both masters once VI_PASS's slow
/// Master_Down passed) and two FIFOs, the first with `states_on_reload`.
fn states_manifest(on: &std::path::Path, off: &std::path::Path) -> String {
    format!(
        "{}sync_groups:\n  G1: {{instances: [VI_FAST, VI_PASS]}}\nnotify_fifos:\n  - {{path: {}, states_on_reload: true}}\n  - {{path: {}}}\n",
        manifest("eth0", "good-password", false),
        on.display(),
        off.display()
    )
}

/// A reload writes every instance's and sync group's current state line to the FIFOs
/// with `states_on_reload` (keepalived's `fifo_write_vrrp_states_on_reload`): the group's
/// first, then the instances', as their transitions wrote them; the other FIFOs get nothing.
#[test]
fn a_reload_writes_every_state_to_the_fifos_with_states_on_reload() {
    let (s, k) = (Scratch::new("fifo-states"), host());
    let (on, off) = (s.dir.join("on.fifo"), s.dir.join("off.fifo"));
    s.write(&states_manifest(&on, &off));
    let mut d = start(&s, &k);
    let (mut on_r, mut off_r) = (fifo_reader(&on), fifo_reader(&off));
    let master = "INSTANCE \"VI_PASS\" MASTER 150";
    let mut seen = Vec::new();
    wait_for("both masters", Duration::from_secs(6), || {
        seen.extend(fifo_lines(&mut on_r));
        seen.iter().any(|l| l == master) && seen.iter().any(|l| l == "INSTANCE \"VI_FAST\" MASTER 150")
    });
    assert!(seen.iter().any(|l| l == "GROUP \"G1\" MASTER 0"), "{seen:#?}");
    assert_eq!(fifo_lines(&mut off_r).len(), seen.len(), "both FIFOs took the transitions");
    d.reload().unwrap();
    let mut got = Vec::new();
    wait_for("the states", Duration::from_secs(2), || {
        got.extend(fifo_lines(&mut on_r));
        got.len() >= 3
    });
    std::thread::sleep(Duration::from_millis(100));
    got.extend(fifo_lines(&mut on_r));
    assert_eq!(got[0], "GROUP \"G1\" MASTER 0", "{got:#?}");
    got[1..].sort();
    assert_eq!(got[1..], ["INSTANCE \"VI_FAST\" MASTER 150", master], "{got:#?}");
    assert_eq!(fifo_lines(&mut off_r), [] as [String; 0], "only the FIFO with states_on_reload");
    d.stop();
}

/// An advert of VRID 30 from `src` with `priority`, carrying 10.0.0.130.
fn advert_from(src: &str, priority: u8) -> (std::net::IpAddr, Vec<u8>) {
    use crate::vrrp::packet::{Advert, Checksum, encode};
    let src: std::net::IpAddr = src.parse().unwrap();
    let a = Advert {
        version: 3,
        vrid: 30,
        priority,
        interval_cs: 5,
        addresses: vec!["10.0.0.130".parse().unwrap()],
        auth: None,
        checksum: Checksum::default(),
    };
    (src, encode(&a, src, "224.0.0.18".parse().unwrap()).unwrap())
}

/// A master that hears a lower priority runs `notify_master_rx_lower_pri` with no argument
/// added (keepalived's), and for an equal priority from a lower address too; a flood of
/// such adverts while the command runs queues it no second time, and once it has ended
/// the next advert runs it again; the master stays master throughout.
#[test]
fn a_master_hearing_a_lower_priority_runs_notify_master_rx_lower_pri_never_twice_at_once() {
    let (s, k) = (Scratch::new("rx-lower"), host());
    let out = s.dir.join("lower.log");
    s.write(&format!(
        "version: 1
nodes:
  lb1: {{roles: [director], addresses: [10.0.0.11/24], interface: eth0}}
vrrp:
  VI_L:
    vrid: 30
    advert_interval: 50ms
    members:
      lb1: {{priority: 150}}
    vips: [10.0.0.130/24]
    notify_master_rx_lower_pri: [/bin/sh, -c, 'sleep 0.3; echo \"lower $#\" >> {}', x]
",
        out.display()
    ));
    let platform = MemPlatform::new(k.clone());
    let (events, _) = std::sync::mpsc::channel();
    let d = Daemon::start(s.opts(), k.clone(), platform.clone(), Default::default(), events).unwrap();
    let view = |d: &Daemon<Shared, MemPlatform>| d.instances()[0].view.lock().unwrap().clone();
    wait_for("VI_L to be master", Duration::from_secs(2), || view(&d).state == "MASTER");
    let lines = || std::fs::read_to_string(&out).unwrap_or_default();
    for _ in 0..20 {
        let (src, a) = advert_from("10.0.0.12", 100);
        platform.hear(30, src, &a).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    wait_for("the command to run", Duration::from_secs(2), || lines() == "lower 0\n");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(lines(), "lower 0\n", "the flood queued it once");
    // Equal priority from a lower address: still the lower router, by keepalived's test.
    let (src, a) = advert_from("10.0.0.5", 150);
    platform.hear(30, src, &a).unwrap();
    wait_for("the command to run again", Duration::from_secs(2), || lines() == "lower 0\nlower 0\n");
    assert_eq!(view(&d).state, "MASTER");
    d.stop();
}
