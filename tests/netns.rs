//! Real-kernel tests in throwaway network namespaces (root; the host kernel needs no IPVS):
//! addresses with labels, IPv6 without DAD, default routes, sysctls on an interface whose
//! name has a dot, the ARP-safe order checked against the kernel after every change, and
//! the `apply` CLI converging a real server (its ledger written without following a planted
//! symlink). Each test unshares its own thread into a fresh
//! namespace, which disappears with the thread. Without root they are ignored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use lbconverge::apply::{self, Options, Outcome, Progress};
use lbconverge::kernel::linux::LinuxKernel;
use lbconverge::kernel::{self, Addrs, Routes, Sysctls};
use lbconverge::model::announce::Announced;
use lbconverge::model::net::{Address, Route};
use lbconverge::model::sysctl::SysctlKey;
use lbconverge::model::{self, Health, NoFacts};
use lbconverge::plan::{self, Change};

/// Moves this test's thread into a new, empty network namespace with `lo` up and the given
/// veth interfaces (each paired with `<name>-p`, both up).
fn fresh_netns(ifaces: &[&str]) {
    assert!(common::is_root(), "network-namespace tests need root (run tools/test as root)");
    // SAFETY: unshare has no memory-safety preconditions; it moves only this thread.
    let r = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(r, 0, "unshare(CLONE_NEWNET): {}", std::io::Error::last_os_error());
    sh(&["ip", "link", "set", "lo", "up"]);
    for i in ifaces {
        let peer = format!("{}-p", i.replace('.', "_"));
        sh(&["ip", "link", "add", i, "type", "veth", "peer", "name", &peer]);
        sh(&["ip", "link", "set", i, "up"]);
        sh(&["ip", "link", "set", &peer, "up"]);
    }
}

fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().expect("run command");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn state_dir() -> tempdir::Dir {
    tempdir::Dir::new()
}

mod tempdir {
    //! A temporary directory removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Self {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static N: AtomicUsize = AtomicUsize::new(0);
            let p = std::env::temp_dir().join(format!(
                "lbc-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
#[ignore = "needs root: network namespaces"]
fn addresses_with_labels_and_ipv6_without_dad() {
    fresh_netns(&["eth0"]);
    let dir = state_dir();
    let mut k = LinuxKernel::new(dir.0.clone());
    let vip = Address::labelled("lo", "192.0.2.10/32".parse().unwrap(), Some("lo:0".into()));
    let vip6 = Address::plain("lo", "2001:db8::10/128".parse().unwrap());
    k.add_address(&vip).unwrap();
    k.add_address(&vip6).unwrap();
    let listed = k.addresses().unwrap();
    assert!(listed.contains(&vip), "{listed:?}");
    assert!(listed.contains(&vip6), "{listed:?}");
    assert!(sh(&["ip", "-4", "addr", "show", "dev", "lo"]).contains("192.0.2.10/32 scope global lo:0"));
    let v6 = sh(&["ip", "-6", "addr", "show", "dev", "lo"]);
    assert!(v6.contains("2001:db8::10/128") && !v6.contains("tentative"), "{v6}");
    let again = k.add_address(&vip).unwrap_err();
    assert_eq!(again.raw_errno(), Some(17), "{again}");
    assert!(again.to_string().starts_with("add address 192.0.2.10/32 on lo label lo:0: File exists"), "{again}");
    let missing = Address { interface: "eth9".into(), ..vip.clone() };
    let e = k.add_address(&missing).unwrap_err();
    assert!(e.to_string().contains("interface eth9 does not exist"), "{e}");
    k.del_address(&vip).unwrap();
    assert!(!k.addresses().unwrap().contains(&vip));
    assert_eq!(k.del_address(&vip).unwrap_err().raw_errno(), Some(99));
}

/// An `announce: bgp` VIP is held as a local route (no address for a routing daemon to see a
/// connected route of): read back as such, delivered locally, and no announced route.
#[test]
#[ignore = "needs root: network namespaces"]
fn a_vip_held_as_a_local_route_is_read_back_delivered_locally_and_not_announced() {
    fresh_netns(&["eth0"]);
    let dir = state_dir();
    let mut k = LinuxKernel::new(dir.0.clone());
    let vip = Address::local_route("lo", "203.0.113.10/32".parse().unwrap());
    let vip6 = Address::local_route("lo", "2001:db8::10/128".parse().unwrap());
    let route = Announced { destination: "203.0.113.10/32".parse().unwrap(), table: 250 };
    k.add_address(&vip).unwrap();
    k.add_address(&vip6).unwrap();
    k.announce(&route).unwrap();
    let listed = k.addresses().unwrap();
    assert!(listed.contains(&vip) && listed.contains(&vip6), "{listed:?}");
    assert!(!listed.contains(&Address::plain("lo", vip.address)), "{listed:?}");
    assert_eq!(k.announced().unwrap(), vec![route]);
    assert!(!sh(&["ip", "addr", "show", "dev", "lo"]).contains("203.0.113.10"));
    let local = sh(&["ip", "route", "show", "table", "local", "proto", "76"]);
    assert_eq!(local, "local 203.0.113.10 dev lo scope host \n");
    assert!(sh(&["ip", "route", "get", "203.0.113.10"]).starts_with("local 203.0.113.10 dev lo"));
    let v6 = sh(&["ip", "-6", "route", "get", "2001:db8::10"]);
    assert!(v6.starts_with("local 2001:db8::10 ") && v6.contains(" dev lo "), "{v6}");
    k.del_address(&vip).unwrap();
    assert!(!k.addresses().unwrap().contains(&vip));
    assert!(!sh(&["ip", "route", "show", "table", "local", "proto", "76"]).contains("203.0.113.10"));
    assert_eq!(k.del_address(&vip).unwrap_err().raw_errno(), Some(3), "no such route");
    assert_eq!(k.announced().unwrap(), vec![route]);
}

#[test]
#[ignore = "needs root: network namespaces"]
fn default_routes_are_set_replaced_and_deleted() {
    fresh_netns(&["eth0"]);
    sh(&["ip", "addr", "add", "10.10.0.11/24", "dev", "eth0"]);
    let dir = state_dir();
    let mut k = LinuxKernel::new(dir.0.clone());
    let r1 = Route {
        destination: "0.0.0.0/0".parse().unwrap(),
        gateway: "10.10.0.1".parse().unwrap(),
        interface: Some("eth0".into()),
    };
    let r2 = Route { gateway: "10.10.0.254".parse().unwrap(), ..r1.clone() };
    k.set_route(&r1).unwrap();
    assert_eq!(k.routes().unwrap(), vec![r1.clone()]);
    k.set_route(&r2).unwrap();
    assert_eq!(k.routes().unwrap(), vec![r2.clone()]);
    assert!(sh(&["ip", "route", "show", "default"]).contains("default via 10.10.0.254 dev eth0"));
    k.del_route(&r2).unwrap();
    assert!(k.routes().unwrap().is_empty());
}

#[test]
#[ignore = "needs root: network namespaces"]
fn sysctls_on_an_interface_with_a_dot() {
    fresh_netns(&["eth0.100"]);
    let dir = state_dir();
    let mut k = LinuxKernel::new(dir.0.clone());
    let key: SysctlKey = "net.ipv4.conf.eth0/100.arp_ignore".parse().unwrap();
    k.write(&key, "1").unwrap();
    assert_eq!(k.read(&key).unwrap().as_deref(), Some("1"));
    assert_eq!(std::fs::read_to_string("/proc/sys/net/ipv4/conf/eth0.100/arp_ignore").unwrap().trim(), "1");
    let bad = k.write(&key, "one").unwrap_err();
    assert!(bad.to_string().contains("takes an integer"), "{bad}");
    let gone: SysctlKey = "net.ipv4.conf.eth7.arp_ignore".parse().unwrap();
    assert_eq!(k.read(&gone).unwrap(), None);
    let e = k.write(&gone, "1").unwrap_err();
    assert!(e.to_string().contains("interface eth7 does not exist"), "{e}");
}

/// Checks, after every change, that a VIP on `lo` is never there while ARP is relaxed.
struct ArpGuard {
    k: LinuxKernel,
    checked: usize,
}

impl ArpGuard {
    fn effective(&mut self, leaf: &str) -> i64 {
        let get = |k: &mut LinuxKernel, i: &str| {
            k.read(&SysctlKey::ipv4_conf(i, leaf)).unwrap().unwrap().parse::<i64>().unwrap()
        };
        get(&mut self.k, "all").max(get(&mut self.k, "eth0"))
    }
}

impl Progress for ArpGuard {
    fn start(&mut self, _: usize, _: usize, _: &Change) {}
    fn done(&mut self, _: usize, c: &Change, _: &Outcome) {
        let vip_on_lo = self
            .k
            .addresses()
            .unwrap()
            .iter()
            .any(|a| a.interface == "lo" && a.address.to_string() == "172.16.40.160/32");
        if vip_on_lo {
            assert!(
                self.effective("arp_ignore") >= 1 && self.effective("arp_announce") >= 2,
                "VIP on lo with relaxed ARP after {c:?}"
            );
        }
        self.checked += 1;
    }
}

fn desired_for(manifest: &str, node: &str) -> model::Desired {
    let loaded = lbconverge::manifest::load(&common::root().join(manifest)).unwrap();
    let cluster = model::validate(&loaded, &NoFacts).unwrap().cluster;
    model::desired(&cluster, node, &Health::all_up()).unwrap()
}

#[test]
#[ignore = "needs root: network namespaces"]
fn arp_safe_order_holds_on_a_real_kernel_both_ways() {
    fresh_netns(&["eth0"]);
    for (i, leaf) in [("all", "arp_ignore"), ("all", "arp_announce"), ("eth0", "arp_ignore"), ("eth0", "arp_announce")]
    {
        std::fs::write(format!("/proc/sys/net/ipv4/conf/{i}/{leaf}"), "0").unwrap();
    }
    let dir = state_dir();
    let d = desired_for("examples/lvs-dr-pair.yaml", "nginx01");
    let mut k = LinuxKernel::new(dir.0.clone());
    let live = kernel::snapshot(&mut k, &d.sysctl_scope()).unwrap();
    let p = plan::plan(&d, &live);
    let mut guard = ArpGuard { k: LinuxKernel::new(dir.0.clone()), checked: 0 };
    apply::apply(&p, &mut k, &Options::default(), &mut guard).unwrap();
    assert_eq!(guard.checked, 5);
    // Leaving DR: nothing desired any more; the VIP goes first, then ARP is restored.
    let mut gone = d.clone();
    gone.state = model::NodeState::default();
    gone.at_least.clear();
    let live = kernel::snapshot(&mut k, &gone.sysctl_scope()).unwrap();
    let p = plan::plan(&gone, &live);
    assert!(matches!(p.changes.first(), Some(Change::DelAddress { .. })), "{:?}", p.changes);
    apply::apply(&p, &mut k, &Options::default(), &mut guard).unwrap();
    assert_eq!(guard.checked, 10);
    assert_eq!(guard.effective("arp_ignore"), 0, "restored to the value found before");
}

#[test]
#[ignore = "needs root: network namespaces"]
fn apply_cli_converges_a_real_server_and_then_has_nothing_to_do() {
    fresh_netns(&["eth0"]);
    sh(&["ip", "addr", "add", "172.16.40.21/24", "dev", "eth0"]);
    let dir = state_dir();
    let sd = dir.0.to_string_lossy().into_owned();
    let run = |args: &[&str]| {
        let mut all = vec!["--state-dir", sd.as_str()];
        all.extend_from_slice(args);
        common::lbconverge(&all)
    };
    // Where the ledger's temporary file used to go, a symlink to a file it must not touch.
    let victim = dir.0.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, dir.0.join("ledger.json.tmp")).unwrap();
    let out = run(&["apply", "examples/lvs-dr-pair.yaml", "--auto-approve"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious", "the planted symlink was followed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Node nginx01 (real-server), live state from this host's kernel"), "{text}");
    assert!(text.contains("+ address 172.16.40.160/32 on lo label lo:0: done"), "{text}");
    let again = run(&["plan", "examples/lvs-dr-pair.yaml", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stdout));
    let ledger: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.0.join("ledger.json")).unwrap()).unwrap();
    assert!(ledger.contains_key("addresses") && ledger.contains_key("sysctls"), "{ledger:?}");
    let no_confirm = run(&["apply", "examples/lvs-dr-pair.yaml", "--node", "nginx01"]);
    assert_eq!(no_confirm.status.code(), Some(0), "nothing to do needs no confirmation");
}

/// `apply --plan` on a real kernel: a plan file re-sealed after tampering (so its digest
/// matches, as a careful attacker would do) is still refused with nothing changed — a
/// delete of the node's own address slipped in, sysctls moved after the VIP, a ledger
/// claiming the node's address, another address added to the changes and the ledger (no
/// manifest gives it: the plan is planned again from the manifest it carries), the manifest
/// taken out, the node's addresses changed (called what it is, not stale) — and the
/// untouched plan then applies.
#[test]
#[ignore = "needs root: network namespaces"]
fn apply_plan_refuses_resealed_tampered_plans_on_a_real_kernel() {
    fresh_netns(&["eth0"]);
    sh(&["ip", "addr", "add", "172.16.40.21/24", "dev", "eth0"]);
    let dir = state_dir();
    let sd = dir.0.to_string_lossy().into_owned();
    let file = dir.0.join("plan.json");
    let f = file.to_string_lossy().into_owned();
    let run = |args: &[&str]| {
        let mut all = vec!["--state-dir", sd.as_str()];
        all.extend_from_slice(args);
        common::lbconverge(&all)
    };
    let made = run(&["plan", "examples/lvs-dr-pair.yaml", "--out", &f]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let good: plan::Plan = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let own = Address::plain("eth0", "172.16.40.21/24".parse().unwrap());
    let mut deletes_own = good.clone();
    deletes_own.changes.push(Change::DelAddress { address: own.clone() });
    let mut reordered = good.clone();
    let sysctl = reordered.changes.remove(0);
    reordered.changes.push(sysctl);
    let mut claims = good.clone();
    claims.ledger.addresses.insert(own.key());
    // An address of another node added to the changes and to the ledger: it fits the live
    // state and the ledger claims only what the plan makes, but no manifest gives it.
    let foreign = Address::plain("lo", "172.16.40.99/32".parse().unwrap());
    let mut adds = good.clone();
    let at = adds.changes.iter().position(|c| matches!(c, Change::AddAddress { .. })).unwrap();
    adds.changes.insert(at, Change::AddAddress { address: foreign.clone() });
    adds.ledger.addresses.insert(foreign.key());
    let mut bare = good.clone();
    bare.manifest = None;
    let mut elsewhere = good.clone();
    elsewhere.node_addresses = vec!["10.99.0.1/24".parse().unwrap()];
    let cases = [
        (deletes_own, "lbconverge does not own it; it is left alone"),
        (reordered, "not the ARP-safe order `plan` makes"),
        (claims, "the ledger claims address 172.16.40.21/24"),
        (adds, "its changes are not what the manifest it carries gives on this host"),
        (bare, "it carries no manifest to check it against"),
        (elsewhere, "it was made for node `nginx01` (10.99.0.1/24), and this host holds none of its addresses"),
    ];
    for (mut p, why) in cases {
        p.seal();
        std::fs::write(&file, lbconverge::cli::view::plan_json(&p)).unwrap();
        let out = run(&["apply", "--plan", &f, "--auto-approve"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{why}: {stderr}");
        assert!(stderr.contains("refusing this plan; nothing was changed") && stderr.contains(why), "{stderr}");
        let addrs = sh(&["ip", "-o", "addr", "show"]);
        assert!(addrs.contains("172.16.40.21/24") && !addrs.contains("172.16.40.160"), "{why}: {addrs}");
        assert!(!dir.0.join("ledger.json").exists(), "{why}: a ledger was stored");
    }
    std::fs::write(&file, lbconverge::cli::view::plan_json(&good)).unwrap();
    let out = run(&["apply", "--plan", &f, "--auto-approve"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(sh(&["ip", "-o", "addr", "show", "dev", "lo"]).contains("172.16.40.160/32"));
}

/// The firewall-mark table through the real `nft` (nftables package) on the host kernel:
/// the director of the fwmark example gets its three rules in one transaction and reads
/// them back as written (counters aside); a rule deleted and one edited with `nft` read
/// back as drift that the plan replaces; deleting removes the table only, and a table of
/// someone else's is never touched.
#[test]
#[ignore = "needs root: network namespaces"]
fn the_firewall_table_is_replaced_whole_read_back_and_other_tables_stay() {
    use lbconverge::kernel::Firewall;
    fresh_netns(&[]);
    let nft = |script: &str| {
        let mut child = Command::new("nft")
            .args(["-f", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("nft (tools/test installs nftables)");
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), script.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success(), "nft -f: {script}");
    };
    nft(
        "table inet other {\n chain input {\n  type filter hook input priority 0; policy accept;\n  tcp dport 9999 drop\n }\n}\n",
    );
    let other = sh(&["nft", "list", "table", "inet", "other"]);
    let dir = state_dir();
    let mut k = LinuxKernel::new(dir.0.clone());
    assert_eq!(k.firewall().unwrap(), None, "no table yet");
    let d = desired_for("examples/fwmark.yaml", "director1");
    let want = d.state.firewall.clone().expect("the director has rules");
    k.set_firewall(&want).unwrap();
    let listed = sh(&["nft", "list", "table", "inet", "lbconverge"]);
    assert!(listed.contains("type filter hook prerouting priority mangle; policy accept;"), "{listed}");
    assert!(
        listed.contains("ip daddr 192.168.10.101 ip saddr 192.168.0.0/16 tcp dport 443 counter packets 0 bytes 0 meta mark set 0x000000c8 accept comment \"services.https-inside.match[0]\""),
        "{listed}"
    );
    let back = k.firewall().unwrap().expect("the table is there");
    assert!(back.same(&want), "read back:\n{back:?}\nwritten:\n{want:?}");
    assert!(back.rules.iter().all(|r| r.hits == Some(Default::default())), "counted from zero");

    // Drift: the inside rule deleted, the web rule's mark edited, a rule added by hand.
    let handle = |mark: &str| {
        let chain = sh(&["nft", "-a", "list", "chain", "inet", "lbconverge", "prerouting"]);
        chain.lines().find(|l| l.contains(mark)).and_then(|l| l.split_whitespace().last()).unwrap().to_string()
    };
    let h200 = handle("0x000000c8");
    sh(&["nft", "delete", "rule", "inet", "lbconverge", "prerouting", "handle", &h200]);
    let h100 = handle("0x00000064");
    let edited = "ip daddr 192.168.10.100 tcp dport { 80, 443 } meta mark set 7 accept";
    let mut args = vec!["nft", "replace", "rule", "inet", "lbconverge", "prerouting", "handle", &h100];
    args.extend(edited.split(' '));
    args.extend(["comment", "\"services.web-mark.match[0]\""]);
    sh(&args);
    sh(&["nft", "add", "rule", "inet", "lbconverge", "prerouting", "ip", "saddr", "203.0.113.9", "drop"]);
    let drifted = k.firewall().unwrap().unwrap();
    assert_eq!(drifted.rules.len(), 2, "{drifted:?}");
    assert_eq!(drifted.rules[0].mark, 7);
    assert_eq!(drifted.foreign.len(), 1, "{drifted:?}");
    let mut live = kernel::snapshot(&mut k, &Default::default()).unwrap();
    live.owned.firewall = true;
    let mut only_marks = d.clone();
    only_marks.state = model::NodeState { firewall: Some(want.clone()), ..Default::default() };
    let p = plan::plan(&only_marks, &live);
    let changes: Vec<String> = p.changes.iter().map(ToString::to_string).collect();
    assert_eq!(
        changes,
        ["nftables table inet lbconverge: 1 to add, 1 to change, 1 to remove, replaced in one transaction"]
    );
    let Change::SetFirewall { to, .. } = &p.changes[0] else { panic!("{:?}", p.changes) };
    k.set_firewall(to).unwrap();
    assert!(k.firewall().unwrap().unwrap().same(&want));
    live = kernel::snapshot(&mut k, &Default::default()).unwrap();
    live.owned.firewall = true;
    assert!(plan::plan(&only_marks, &live).is_empty());

    k.del_firewall().unwrap();
    assert_eq!(k.firewall().unwrap(), None);
    assert_eq!(k.del_firewall().unwrap_err().raw_errno(), Some(libc::ENOENT));
    assert_eq!(sh(&["nft", "list", "table", "inet", "other"]), other, "someone else's table is untouched");
}

/// The manifest of [`a_master_puts_its_vips_on_with_their_options_holds_excluded_ones_unadvertised_and_runs_without_vips`]:
/// VI_FORMS advertises two IPv4 VIPs with options (one on eth1) and holds an IPv4 and an
/// IPv6 address it does not advertise; VI_CLOUD has no VIP, only a command on takeover.
/// (A scope other than global goes on a VIP outside the node's own subnet: the kernel
/// refuses a secondary address whose scope differs from its primary's.)
fn vip_forms_manifest(marker: &std::path::Path) -> String {
    format!(
        "version: 1
nodes:
  lb1: {{roles: [director], addresses: [10.0.0.11/24], interface: eth0}}
vrrp:
  VI_FORMS:
    vrid: 10
    advert_interval: 100ms
    members: {{lb1: {{priority: 150}}}}
    vips:
      - {{address: 10.0.0.100/24, label: 'eth0:1', broadcast: '+'}}
      - {{address: 10.0.1.100/24, interface: eth1, label: 'eth1:7', broadcast: 10.0.1.254, scope: link}}
    excluded_vips: [{{address: 10.0.0.200/32, scope: host}}, 'fd00::200/64']
  VI_CLOUD:
    vrid: 11
    advert_interval: 100ms
    members: {{lb1: {{priority: 150}}}}
    notify_master: [/usr/bin/touch, {}]
",
        marker.display()
    )
}

/// Every address of this namespace as `ip -j addr` reports it: (interface, address, the
/// whole `addr_info` object).
fn ip_addresses() -> Vec<(String, String, serde_json::Value)> {
    let links: Vec<serde_json::Value> = serde_json::from_str(&sh(&["ip", "-j", "addr", "show"])).unwrap();
    let mut out = Vec::new();
    for l in links {
        let name = l["ifname"].as_str().unwrap_or_default().to_string();
        for a in l["addr_info"].as_array().cloned().unwrap_or_default() {
            out.push((name.clone(), a["local"].as_str().unwrap_or_default().to_string(), a));
        }
    }
    out
}

fn ip_address(local: &str) -> Option<(String, serde_json::Value)> {
    ip_addresses().into_iter().find(|(_, l, _)| l == local).map(|(i, _, a)| (i, a))
}

/// The first VRRP advert of `vrid` that arrives on `iface` within 3 s: (count, addresses).
fn advert_on(iface: &str, vrid: u8) -> (u8, Vec<std::net::Ipv4Addr>) {
    const ETH_P_IP: u16 = 0x0800;
    // SAFETY: plain socket calls on a descriptor this function owns and closes; every
    // pointer passed points at a live local of the size given.
    unsafe {
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_DGRAM, i32::from(ETH_P_IP.to_be()));
        assert!(fd >= 0, "AF_PACKET socket: {}", std::io::Error::last_os_error());
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_IP.to_be();
        let name = std::ffi::CString::new(iface).unwrap();
        sll.sll_ifindex = libc::if_nametoindex(name.as_ptr()) as i32;
        let len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
        assert_eq!(libc::bind(fd, (&raw const sll).cast(), len), 0, "bind {iface}");
        let tv = libc::timeval { tv_sec: 0, tv_usec: 200_000 };
        let tvl = std::mem::size_of::<libc::timeval>() as u32;
        libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, (&raw const tv).cast(), tvl);
        let started = std::time::Instant::now();
        let mut buf = [0u8; 2048];
        while started.elapsed() < std::time::Duration::from_secs(3) {
            let n = libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0);
            let Ok(n) = usize::try_from(n) else { continue };
            let p = &buf[..n];
            let ihl = usize::from(p[0] & 0x0f) * 4;
            if p[9] != 112 || n < ihl + 8 || p[ihl + 1] != vrid {
                continue;
            }
            let count = p[ihl + 3];
            let addrs = p[ihl + 8..].chunks_exact(4).take(usize::from(count)).map(|c| [c[0], c[1], c[2], c[3]].into());
            let out = (count, addrs.collect());
            libc::close(fd);
            return out;
        }
        libc::close(fd);
        panic!("no VRRP advert of VRID {vrid} on {iface} within 3 s");
    }
}

/// Kills the daemon this test started (by its pid) when the test ends, even on a panic.
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !cond() {
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{what}: not within 5 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
#[ignore = "needs root: network namespaces"]
fn a_master_puts_its_vips_on_with_their_options_holds_excluded_ones_unadvertised_and_runs_without_vips() {
    fresh_netns(&["eth0", "eth1"]);
    sh(&["ip", "addr", "add", "10.0.0.11/24", "dev", "eth0"]);
    let dir = state_dir();
    let (manifest, marker) = (dir.0.join("m.yaml"), dir.0.join("vi-cloud-master"));
    std::fs::write(&manifest, vip_forms_manifest(&marker)).unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_lbconverge"));
    c.args(["--state-dir"]).arg(dir.0.join("state")).arg("run").arg(&manifest);
    c.args(["--node", "lb1", "--control", "none"]).env("NO_COLOR", "1");
    c.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let _daemon = Daemon(c.spawn().unwrap());
    wait_until("VI_FORMS to take its VIPs", || ip_address("10.0.0.100").is_some() && ip_address("fd00::200").is_some());
    let (iface, a) = ip_address("10.0.0.100").unwrap();
    assert_eq!(iface, "eth0");
    assert_eq!((a["prefixlen"].as_u64(), a["label"].as_str()), (Some(24), Some("eth0:1")), "{a}");
    assert_eq!((a["broadcast"].as_str(), a["scope"].as_str()), (Some("10.0.0.255"), Some("global")), "{a}");
    let (iface, a) = ip_address("10.0.1.100").unwrap();
    assert_eq!(iface, "eth1", "a VIP with its own interface goes on it");
    assert_eq!(
        (a["label"].as_str(), a["broadcast"].as_str(), a["scope"].as_str()),
        (Some("eth1:7"), Some("10.0.1.254"), Some("link")),
        "{a}"
    );
    let (iface, a) = ip_address("10.0.0.200").unwrap();
    assert_eq!((iface.as_str(), a["prefixlen"].as_u64(), a["scope"].as_str()), ("eth0", Some(32), Some("host")), "{a}");
    assert_eq!(ip_address("fd00::200").unwrap().0, "eth0");
    let (count, addrs) = advert_on("eth0-p", 10);
    assert_eq!(
        (count, addrs),
        (2, vec!["10.0.0.100".parse().unwrap(), "10.0.1.100".parse().unwrap()]),
        "excluded VIPs are not advertised"
    );
    wait_until("VI_CLOUD's notify_master", || marker.exists());
    assert_eq!(advert_on("eth0-p", 11), (0, vec![]), "an instance without VIPs advertises none");
}

/// VRRP without accept mode (`strict`, keepalived's `vrrp_strict`) through the real `nft`:
/// chains vrrp_in and vrrp_out at priority -1 drop every packet to and from the VIPs (a ping
/// of a VIP held here gets no answer, one of the node's own address does), IPv6 neighbour
/// discovery let through; read back as written, and gone with the table.
#[test]
#[ignore = "needs root: network namespaces"]
fn no_accept_vips_are_dropped_in_the_lbconverge_table_and_read_back() {
    use lbconverge::kernel::Firewall;
    fresh_netns(&["eth0"]);
    let dir = state_dir();
    let manifest = dir.0.join("strict.yaml");
    std::fs::write(
        &manifest,
        "version: 1
nodes:
  lvs01: {roles: [director], addresses: [10.9.0.2/24, 2001:db8::2/64], interface: eth0}
vrrp:
  VI_STRICT:
    vrid: 51
    version: 2
    advert_interval: 1s
    strict: true
    members: {lvs01: {priority: 100}}
    vips: [10.9.0.100/24]
  VI_V6:
    vrid: 52
    accept: false
    members: {lvs01: {priority: 100}}
    vips: [2001:db8::100/64]
  VI_OPEN:
    vrid: 53
    members: {lvs01: {priority: 100}}
    vips: [10.9.0.101/24]
",
    )
    .unwrap();
    let d = desired_for(manifest.to_str().unwrap(), "lvs01");
    let want = d.state.firewall.clone().expect("no-accept drops");
    assert_eq!(want.drops.len(), 4, "{want:?}");
    let mut k = LinuxKernel::new(dir.0.clone());
    k.set_firewall(&want).unwrap();
    let listed = sh(&["nft", "list", "table", "inet", "lbconverge"]);
    for line in [
        "type filter hook input priority filter - 1; policy accept;",
        "type filter hook output priority filter - 1; policy accept;",
        "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept comment \"neighbour discovery\"",
        "ip daddr 10.9.0.100 counter packets 0 bytes 0 drop comment \"vrrp.VI_STRICT accept: false\"",
        "ip saddr 10.9.0.100 counter packets 0 bytes 0 drop comment \"vrrp.VI_STRICT accept: false\"",
        "ip6 daddr 2001:db8::100 counter packets 0 bytes 0 drop comment \"vrrp.VI_V6 accept: false\"",
    ] {
        assert!(listed.contains(line), "{line}\n{listed}");
    }
    assert!(!listed.contains("10.9.0.101"), "VI_OPEN accepts: {listed}");
    let back = k.firewall().unwrap().expect("the table is there");
    assert!(back.same(&want), "read back:\n{back:?}\nwritten:\n{want:?}");
    let mut live = kernel::snapshot(&mut k, &Default::default()).unwrap();
    live.owned.firewall = true;
    let mut only = d.clone();
    only.state = model::NodeState { firewall: Some(want.clone()), ..Default::default() };
    assert!(plan::plan(&only, &live).is_empty(), "read back, nothing to change");

    // The VIPs held as a master holds them: the no-accept one answers nothing.
    sh(&["ip", "addr", "add", "10.9.0.2/24", "dev", "eth0"]);
    for vip in ["10.9.0.100/24", "10.9.0.101/24"] {
        sh(&["ip", "addr", "add", vip, "dev", "eth0"]);
    }
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let ping = |a: &str| {
        let to = std::net::SocketAddr::new(a.parse().unwrap(), port);
        std::net::TcpStream::connect_timeout(&to, std::time::Duration::from_millis(500)).is_ok()
    };
    assert!(!ping("10.9.0.100"), "a no-accept VIP answers");
    assert!(ping("10.9.0.101") && ping("10.9.0.2"), "other addresses answer");
    let counted = k.firewall().unwrap().unwrap();
    assert!(counted.drops.iter().any(|d| d.hits.is_some_and(|h| h.packets > 0)), "{counted:?}");

    k.del_firewall().unwrap();
    assert_eq!(k.firewall().unwrap(), None);
    assert!(ping("10.9.0.100"), "answers once the table is gone");
}

/// The manifest of [`a_master_puts_its_vips_on_with_peer_flags_and_lifetimes_and_plan_has_nothing_to_do`]:
/// keepalived's further VIP options, IPv4 advertised and IPv6 excluded.
const VIP_OPTIONS: &str = "version: 1
nodes:
  lb1: {roles: [director], addresses: [10.0.0.11/24], interface: eth0}
vrrp:
  VI_OPTS:
    vrid: 10
    advert_interval: 100ms
    members: {lb1: {priority: 150}}
    vips:
      - {address: 10.0.2.1, peer: 10.0.2.2}
      - {address: 10.0.3.1/24, noprefixroute: true}
      - {address: 10.0.4.1/24, interface: eth1, no_track: true}
    excluded_vips:
      - {address: 'fd00::1/64', mngtmpaddr: true, home: true, preferred_lft: 0}
      - {address: 'fd00:1::1/64', dad: true, preferred_lft: 600}
      - {address: 'fd00:2::1', peer: 'fd00:2::2'}
      - {address: 'ff05::77', autojoin: true}
";

/// keepalived's VIP options beyond label, broadcast and scope on a real kernel: `lbconverge
/// run` adds a point-to-point VIP with its peer, one without a prefix route, IPv6 ones with
/// flags and preferred lifetimes (0: deprecated), one with DAD, a multicast one joined;
/// `ip -j addr` reads each back, the kernel layer reads them as written, a `no_track` VIP's
/// interface losing carrier leaves the instance master, and `plan` has nothing to do.
#[test]
#[ignore = "needs root: network namespaces"]
fn a_master_puts_its_vips_on_with_peer_flags_and_lifetimes_and_plan_has_nothing_to_do() {
    fresh_netns(&["eth0", "eth1"]);
    sh(&["ip", "addr", "add", "10.0.0.11/24", "dev", "eth0"]);
    let dir = state_dir();
    let manifest = dir.0.join("m.yaml");
    std::fs::write(&manifest, VIP_OPTIONS).unwrap();
    let state = dir.0.join("state");
    let mut c = Command::new(env!("CARGO_BIN_EXE_lbconverge"));
    c.arg("--state-dir").arg(&state).arg("run").arg(&manifest);
    c.args(["--node", "lb1", "--control", "none"]).env("NO_COLOR", "1");
    c.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let _daemon = Daemon(c.spawn().unwrap());
    let all = ["10.0.2.1", "10.0.3.1", "10.0.4.1", "fd00::1", "fd00:1::1", "fd00:2::1", "ff05::77"];
    wait_until("VI_OPTS to take its VIPs", || all.iter().all(|a| ip_address(a).is_some()));
    let (_, a) = ip_address("10.0.2.1").unwrap();
    assert_eq!((a["address"].as_str(), a["prefixlen"].as_u64()), (Some("10.0.2.2"), Some(32)), "{a}");
    let (_, a) = ip_address("10.0.3.1").unwrap();
    assert_eq!(a["noprefixroute"].as_bool(), Some(true), "{a}");
    assert_eq!(sh(&["ip", "route", "show", "10.0.3.0/24"]).trim(), "", "no prefix route");
    let (_, a) = ip_address("fd00::1").unwrap();
    let flags = ["mngtmpaddr", "home", "deprecated", "nodad"].map(|f| a[f].as_bool());
    assert_eq!((flags, a["preferred_life_time"].as_u64()), ([Some(true); 4], Some(0)), "{a}");
    let (_, a) = ip_address("fd00:1::1").unwrap();
    let left = a["preferred_life_time"].as_u64().unwrap();
    assert!(a["nodad"].as_bool().is_none() && (500..=600).contains(&left), "DAD runs, 600 s preferred: {a}");
    assert_eq!(ip_address("fd00:2::1").unwrap().1["address"].as_str(), Some("fd00:2::2"));
    assert_eq!(ip_address("ff05::77").unwrap().1["autojoin"].as_bool(), Some(true));
    let read = LinuxKernel::new(dir.0.join("k")).addresses().unwrap();
    let p2p = read.iter().find(|r| r.address == "10.0.2.1/32".parse().unwrap()).unwrap();
    assert_eq!(p2p.options.peer, Some("10.0.2.2".parse().unwrap()), "{p2p:?}");
    let deprecated = read.iter().find(|r| r.address == "fd00::1/64".parse().unwrap()).unwrap();
    assert_eq!(deprecated.to_string(), "fd00::1/64 on eth0 home mngtmpaddr preferred_lft 0");
    // The no_track VIP's interface loses carrier: the instance stays master.
    sh(&["ip", "link", "set", "eth1-p", "down"]);
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert!(ip_address("10.0.2.1").is_some(), "VI_OPTS stays master: eth1 is not tracked");
    let sd = state.to_string_lossy().into_owned();
    let again = common::lbconverge(&["--state-dir", &sd, "plan", manifest.to_str().unwrap(), "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stdout));
}

/// keepalived's further rule selectors and actions on a real kernel: each rule added as a
/// master adds it, read back by `ip -j rule` with its selector, and by the kernel layer
/// exactly as written (what `plan` compares to say a rule is present), then deleted.
#[test]
#[ignore = "needs root: network namespaces"]
fn vrrp_rules_with_further_selectors_and_actions_are_read_back_as_written() {
    use lbconverge::model::net::{RuleAction, RuleOptions, VrrpRule};
    fresh_netns(&["eth0"]);
    let dir = state_dir();
    let mut k = LinuxKernel::new(dir.0.clone());
    let rule = |priority: u32, v6: bool, options: RuleOptions, action: RuleAction| VrrpRule {
        priority,
        v6,
        not: false,
        from: None,
        to: None,
        iif: None,
        oif: None,
        fwmark: None,
        options,
        action,
    };
    let o = RuleOptions::default;
    let rules = [
        rule(2002, false, RuleOptions { tos: Some(0x10), ..o() }, RuleAction::Table(101)),
        rule(2003, false, o(), RuleAction::Goto(2010)),
        rule(2004, false, o(), RuleAction::Nop),
        rule(2005, false, RuleOptions { uidrange: Some((1000, 1999)), ..o() }, RuleAction::Table(101)),
        rule(
            2006,
            false,
            RuleOptions { ipproto: Some(6), sport: Some((1024, 65534)), dport: Some((80, 88)), ..o() },
            RuleAction::Table(101),
        ),
        rule(2007, false, o(), RuleAction::L3mdev),
        rule(2008, false, RuleOptions { tunnel_id: Some(7), ..o() }, RuleAction::Table(102)),
        rule(
            2009,
            false,
            RuleOptions { realms: Some((1, 2)), suppress_prefixlength: Some(0), suppress_ifgroup: Some(5), ..o() },
            RuleAction::Table(102),
        ),
        rule(
            2011,
            true,
            RuleOptions { tos: Some(0xb8), ipproto: Some(17), dport: Some((53, 53)), ..o() },
            RuleAction::Table(101),
        ),
        rule(2012, true, o(), RuleAction::Nop),
    ];
    for r in &rules {
        k.add_vrrp_rule(r).unwrap_or_else(|e| panic!("{r}: {e}"));
    }
    let mut read = k.vrrp_rules().unwrap();
    read.sort();
    let mut want = rules.to_vec();
    want.sort();
    assert_eq!(read, want, "read back as written");
    let shown: Vec<serde_json::Value> = serde_json::from_str(&sh(&["ip", "-j", "rule", "show"])).unwrap();
    let at = |p: u64| shown.iter().find(|r| r["priority"].as_u64() == Some(p)).cloned().unwrap_or_default();
    assert_eq!(at(2002)["tos"].as_str(), Some("0x10"), "{shown:?}");
    assert_eq!(at(2003)["goto"].as_u64(), Some(2010));
    assert!(at(2004).get("nop").is_some() && at(2007).get("l3mdev").is_some(), "{shown:?}");
    assert_eq!((at(2005)["uid_start"].as_u64(), at(2005)["uid_end"].as_u64()), (Some(1000), Some(1999)));
    let r = at(2006);
    assert_eq!(
        (r["ipproto"].as_str(), r["sport_start"].as_u64(), r["dport_end"].as_u64()),
        (Some("tcp"), Some(1024), Some(88))
    );
    assert_eq!(at(2008)["tun_id"].as_u64(), Some(7));
    let r = at(2009);
    assert_eq!(
        (r["flow_from"].as_str(), r["flow_to"].as_str(), r["suppress_prefixlen"].as_u64()),
        (Some("1"), Some("2"), Some(0))
    );
    let v6: Vec<serde_json::Value> = serde_json::from_str(&sh(&["ip", "-6", "-j", "rule", "show"])).unwrap();
    let r = v6.iter().find(|r| r["priority"].as_u64() == Some(2011)).unwrap();
    // `ip` names DS field 0xb8 after /etc/iproute2/rt_dsfield: EF (expedited forwarding).
    assert_eq!((r["tos"].as_str(), r["dport"].as_u64()), (Some("EF"), Some(53)), "{r}");
    for r in &rules {
        k.del_vrrp_rule(r).unwrap_or_else(|e| panic!("delete {r}: {e}"));
    }
    assert!(k.vrrp_rules().unwrap().is_empty());
}

/// keepalived's route options `onlink` and `encap` on a real kernel: `lbconverge run` as
/// master adds plain and multipath routes, IPv4 and IPv6, with the option on the route or on
/// a path (`ip` and `ip6` tunnel metadata: this kernel has no MPLS or ILA tunnels); `ip -j
/// route` shows each flag and encapsulation, the kernel layer reads them back exactly as
/// validated, `plan` says each is held and has nothing to do, and a stop removes them.
#[test]
#[ignore = "needs root: network namespaces"]
fn a_master_adds_onlink_and_encapsulated_routes_read_back_as_written_and_removes_them() {
    fresh_netns(&["eth0", "eth1"]);
    sh(&["ip", "addr", "add", "10.0.0.11/24", "dev", "eth0"]);
    let dir = state_dir();
    let manifest = dir.0.join("m.yaml");
    std::fs::write(&manifest, ROUTE_OPTIONS).unwrap();
    let state = dir.0.join("state");
    let mut c = Command::new(env!("CARGO_BIN_EXE_lbconverge"));
    c.arg("--state-dir").arg(&state).arg("run").arg(&manifest);
    c.args(["--node", "lb1", "--control", "none"]).env("NO_COLOR", "1");
    c.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let mut daemon = Daemon(c.spawn().unwrap());
    let ours = || -> Vec<serde_json::Value> {
        serde_json::from_str(&sh(&["ip", "-j", "-d", "route", "show", "table", "all", "proto", "77"])).unwrap()
    };
    let dsts = ["10.50.0.0/16", "10.51.0.0/16", "10.52.0.0/16", "fd00:51::/64", "fd00:52::/64"];
    wait_until("VI_ROUTES to add its routes", || ours().len() == dsts.len());
    let shown = ours();
    // `ip -j` writes an encapsulation's `dst` beside the route's: the text carries both.
    let text = sh(&["ip", "-d", "route", "show", "table", "all", "proto", "77"]);
    let at = |d: &str| shown.iter().find(|r| r["dst"].as_str() == Some(d)).cloned().unwrap_or_default();
    let flags = |v: &serde_json::Value| v["flags"].as_array().cloned().unwrap_or_default();
    assert_eq!(flags(&at("10.50.0.0/16")), ["onlink"], "{shown:?}");
    // An encapsulated route's `dst` in JSON is the encapsulation's (the last key wins).
    let r = at("10.0.0.50");
    assert_eq!(
        (r["encap"].as_str(), r["id"].as_u64(), r["ttl"].as_u64(), r["tos"].as_u64()),
        (Some("ip"), Some(7), Some(64), Some(16)),
        "{r}"
    );
    assert!(text.contains("encap ip id 7 src 10.0.0.11 dst 10.0.0.50 ttl 64 tos 16 via 10.0.0.1 dev eth0"), "{text}");
    let hops = at("10.52.0.0/16")["nexthops"].as_array().cloned().unwrap();
    let onlink = hops.iter().find(|h| h["dev"].as_str() == Some("eth1")).unwrap();
    assert_eq!(
        (flags(onlink), onlink["encap"].as_str(), onlink["id"].as_u64()),
        (vec!["onlink".into()], Some("ip6"), Some(9)),
        "{onlink}"
    );
    assert!(
        text.contains("encap ip6 id 9 src :: dst fd00:9::50 hoplimit 0 tc 0 via 10.99.0.1 dev eth1 weight 1 onlink"),
        "{text}"
    );
    let r = at("fd00:9::50");
    assert_eq!(
        (flags(&r), r["encap"].as_str(), r["hoplimit"].as_u64(), r["tc"].as_u64()),
        (vec!["onlink".into()], Some("ip6"), Some(3), Some(184)),
        "{r}"
    );
    let hops = at("fd00:52::/64")["nexthops"].as_array().cloned().unwrap();
    assert!(hops.iter().all(|h| flags(h) == ["onlink"]), "{hops:?}");
    assert!(
        text.contains("encap ip id 5 src 0.0.0.0 dst 10.0.0.60 ttl 0 tos 0 via fd00:99::2 dev eth1 weight 1 onlink"),
        "{text}"
    );
    let desired = desired_for(manifest.to_str().unwrap(), "lb1");
    let mut want: Vec<_> = desired.delegated_routes.iter().map(|(r, _)| r.clone()).collect();
    want.sort();
    let mut k = LinuxKernel::new(dir.0.join("k"));
    let mut read = k.vrrp_routes().unwrap();
    read.sort();
    assert_eq!(read, want, "read back as written");
    // This kernel has no MPLS tunnels: the route is refused by name, with the kernel's reason.
    let mpls = lbconverge::model::net::VrrpRoute {
        to: "10.53.0.0/16".parse().unwrap(),
        via: Some("10.0.0.1".parse().unwrap()),
        dev: Some("eth0".into()),
        onlink: false,
        encap: Some(lbconverge::model::net::Encap::Mpls(vec![200, 300])),
        ..want[0].clone()
    };
    let err = k.add_vrrp_route(&mpls).unwrap_err().to_string();
    assert!(err.contains("add vrrp route 10.53.0.0/16 via 10.0.0.1 dev eth0 encap mpls 200/300"), "{err}");
    let sd = state.to_string_lossy().into_owned();
    let plan = common::lbconverge(&["--state-dir", &sd, "plan", manifest.to_str().unwrap(), "--detailed-exitcode"]);
    let said = String::from_utf8_lossy(&plan.stdout).into_owned();
    assert_eq!(plan.status.code(), Some(0), "{said}");
    assert_eq!((said.matches("(held here now)").count(), said.contains("not held")), (6, false), "{said}");
    // SAFETY: a signal to the daemon this test started, by its pid.
    assert_eq!(unsafe { libc::kill(daemon.0.id() as i32, libc::SIGTERM) }, 0);
    assert!(daemon.0.wait().unwrap().success());
    assert_eq!(ours(), Vec::<serde_json::Value>::new(), "a stop removes them");
}

const ROUTE_OPTIONS: &str = "version: 1
nodes:
  lb1: {roles: [director], addresses: [10.0.0.11/24], interface: eth0}
vrrp:
  VI_ROUTES:
    vrid: 12
    advert_interval: 100ms
    members: {lb1: {priority: 150}}
    vips: [10.0.0.100/24]
    routes:
      - {to: 10.50.0.0/16, via: 10.99.0.1, dev: eth1, onlink: true}
      - {to: 10.51.0.0/16, via: 10.0.0.1, dev: eth0, encap: {type: ip, id: 7, dst: 10.0.0.50, src: 10.0.0.11, tos: 0x10, ttl: 64}}
      - to: 10.52.0.0/16
        table: 100
        nexthops:
          - {via: 10.99.0.1, dev: eth1, onlink: true, encap: {type: ip6, id: 9, dst: 'fd00:9::50'}}
          - {via: 10.0.0.1, dev: eth0, weight: 2}
      - {to: 'fd00:51::/64', via: 'fd00:99::1', dev: eth1, onlink: true, encap: {type: ip6, dst: 'fd00:9::50', tos: 184, ttl: 3}}
      - to: 'fd00:52::/64'
        nexthops:
          - {via: 'fd00:99::1', dev: eth1, onlink: true}
          - {via: 'fd00:99::2', dev: eth1, onlink: true, encap: {type: ip, id: 5, dst: 10.0.0.60}}
";
