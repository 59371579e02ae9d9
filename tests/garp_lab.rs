//! What a VRRP master holds and says beyond its VIPs, between network namespaces (real
//! kernel, the project's VRRP lab): what the client's side of the switch sees of its
//! gratuitous ARPs, where its adverts come from, and the routes it holds.
//!
//! - A takeover with `garp_repeat: 3`, `garp_interval: 100ms`, `garp_delay: 1s`,
//!   `garp_refresh: 2s`, `garp_refresh_repeat: 2`: three announcements at least 100 ms
//!   apart, three more a second later, then two every two seconds (the first refresh
//!   `garp_delay + garp_refresh` after the takeover, keepalived's rule), and nothing from the
//!   backup.
//! - A second, lower master (n2, deaf to VRRP by an nftables rule, so it takes the VIP
//!   while n1 holds it): n1 hears its adverts and reclaims the VIP with
//!   `garp_lower_priority_repeat` announcements (as keepalived, at each such advert, and
//!   again `garp_lower_priority_delay` later); before, it was quiet (no refresh, no second
//!   burst), and once n2 hears again and steps down, it is quiet again. n1 also runs its
//!   `notify_master_rx_lower_pri` (no argument added) for those adverts, and no more after.
//! - `members.n1.source`: n1's adverts leave from that address, not the node's first one
//!   (tcpdump on the switch).
//! - `routes`: the master holds its three routes (via a next hop; blackhole in table 100;
//!   on an interface with a VIP as source and a metric), the backup none; a master that
//!   stops removes them and the new master adds them; a commit that drops one and changes
//!   another is taken in place, the VIP held.
//!
//! - `rules` and a multipath route (`nexthops`): the master holds its rules (IPv4 and
//!   IPv6: a source, a negated mark with a mask on an incoming interface as a blackhole,
//!   a destination with an outgoing interface, a mark alone) and its two-path route, the
//!   backup neither; they move with a failover; a commit that drops two rules, adds one
//!   and drops the route is taken in place; a rule added by hand is left alone.
//!
//! - `track_processes`: a master whose weight-0 tracked process is killed goes to FAULT
//!   and its VIP leaves; the process started again brings the VIP back (the /proc scan).
//!
//! Needs root, iproute2, nftables and tcpdump; namespaces `lbcgarp<pid>-...` (and
//! `lbcrules<pid>-...`, `lbctp<pid>-...`),
//! deleted at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::net::Ipv4Addr;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::lab::vrrp::{DAEMON, Params, start_manifest};
use common::lab::{How, Lab, SWITCH, arp, node_mac};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const VIP: Ipv4Addr = Ipv4Addr::new(10, 88, 0, 50);

/// The lab's manifest (v3, 100 ms adverts, n1 150 / n2 100) with `extra` appended to the
/// instance and `edit` applied to the text.
fn manifest(extra: &str, edit: impl Fn(String) -> String) -> String {
    let m = Params::v3_fast().manifest();
    edit(format!("{m}{extra}"))
}

/// Starts `lbconverge run` on node `i` with `manifest` (each node its own file).
fn start(lab: &mut Lab, i: usize, manifest: &str) {
    start_manifest(lab, i, manifest);
}

/// The times (since `t0`) of the gratuitous ARPs for the VIP from node `i`.
fn announcements(p: &arp::Prober, i: usize, t0: Instant) -> Vec<Duration> {
    p.seen().into_iter().filter(|s| s.gratuitous && s.mac == node_mac(i) && s.t >= t0).map(|s| s.t - t0).collect()
}

/// True when namespace `ns` holds the VIP.
fn held_in(ns: &str) -> bool {
    let out = Command::new("ip").args(["-n", ns, "-br", "addr", "show", "dev", "eth0"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).contains(&format!("{VIP}/"))
}

fn holds(lab: &Lab, i: usize) -> bool {
    held_in(&lab.ns(&lab.nodes()[i]))
}

/// Those of `times` within `[from, to)`.
fn within(times: &[Duration], from: u64, to: u64) -> Vec<Duration> {
    times.iter().copied().filter(|t| *t >= ms(from) && *t < ms(to)).collect()
}

fn shown(times: &[Duration]) -> String {
    times.iter().map(|t| format!("{}", t.as_millis())).collect::<Vec<_>>().join(" ")
}

#[test]
#[ignore = "needs root: network namespaces"]
fn a_takeover_announces_in_bursts_spaced_delayed_and_refreshed() {
    let mut lab = Lab::named("lbcgarp", 2);
    let prober = lab.arp_prober(VIP);
    let extra = "    garp_repeat: 3\n    garp_interval: 100ms\n    garp_delay: 1s\n    garp_refresh: 2s\n    garp_refresh_repeat: 2\n";
    let m = manifest(extra, |m| m);
    start(&mut lab, 1, &m);
    let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
    lab.wait(ms(3000), "n2 to take the VIP alone", || held_in(&n2));
    let t0 = Instant::now();
    start(&mut lab, 0, &m);
    lab.wait(ms(3000), "n1 to preempt", || held_in(&n1) && !held_in(&n2));
    thread::sleep(ms(5600).saturating_sub(t0.elapsed()));
    let seen = announcements(&prober, 0, t0);
    let first = *seen.first().unwrap_or_else(|| panic!("n1 announced nothing"));
    let rel: Vec<Duration> = seen.iter().map(|t| *t - first).collect();
    eprintln!("n1's announcements, ms after its first: {}", shown(&rel));
    let burst = within(&rel, 0, 900);
    assert_eq!(burst.len(), 3, "three at the takeover: {}", shown(&rel));
    for w in burst.windows(2) {
        assert!(w[1] - w[0] >= ms(90), "announcements at least garp_interval apart: {}", shown(&rel));
    }
    assert_eq!(within(&rel, 900, 1900).len(), 3, "three more after garp_delay: {}", shown(&rel));
    assert_eq!(within(&rel, 1900, 2800).len(), 0, "nothing before the first refresh: {}", shown(&rel));
    assert_eq!(within(&rel, 2800, 3800).len(), 2, "a refresh of two at delay + refresh: {}", shown(&rel));
    assert_eq!(within(&rel, 4800, 5400).len(), 2, "and every refresh after it: {}", shown(&rel));
    let from_n2 = announcements(&prober, 1, t0 + first + ms(100));
    assert!(from_n2.is_empty(), "the backup announces nothing: {}", shown(&from_n2));
    for n in ["n1", "n2"] {
        lab.stop(n, DAEMON, How::Term);
    }
}

/// Makes namespace `ns` deaf to VRRP (an nftables input rule dropping protocol 112), or
/// not.
fn deaf(ns: &str, on: bool) {
    let nft = |args: &[&str]| {
        let out = Command::new("ip").args(["netns", "exec", ns, "nft"]).args(args).output().unwrap();
        assert!(out.status.success(), "nft {args:?} in {ns}: {}", String::from_utf8_lossy(&out.stderr));
    };
    if on {
        nft(&["add table inet lbcgarp"]);
        nft(&["add chain inet lbcgarp in { type filter hook input priority 0; }"]);
        nft(&["add rule inet lbcgarp in ip protocol 112 drop"]);
    } else {
        nft(&["delete table inet lbcgarp"]);
    }
}

#[test]
#[ignore = "needs root: network namespaces"]
fn a_master_hearing_a_lower_master_reclaims_its_vip() {
    let mut lab = Lab::named("lbcgarp", 2);
    let prober = lab.arp_prober(VIP);
    let lower_log = lab.dir().join("lower.log");
    let extra = format!(
        "    garp_repeat: 1\n    garp_delay: 0s\n    garp_lower_priority_repeat: 2\n    garp_lower_priority_delay: 500ms\n    notify_master_rx_lower_pri: [/bin/sh, -c, 'echo \"lower $#\" >> {}']\n",
        lower_log.display()
    );
    let m = manifest(&extra, |m| m);
    let lowers = || std::fs::read_to_string(&lower_log).unwrap_or_default().lines().count();
    let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
    start(&mut lab, 0, &m);
    lab.wait(ms(3000), "n1 to hold the VIP", || held_in(&n1));
    // n2 hears nothing: it becomes a second master, whose lower-priority adverts n1 hears.
    deaf(&n2, true);
    thread::sleep(ms(1000));
    let quiet_from = Instant::now();
    thread::sleep(ms(1000));
    let t0 = Instant::now();
    start(&mut lab, 1, &m);
    lab.set_active("n2", false);
    lab.wait(ms(3000), "n2 to become a second master", || held_in(&n2));
    thread::sleep(ms(600));
    let before: Vec<Duration> = announcements(&prober, 0, quiet_from).into_iter().filter(|t| *t < ms(1000)).collect();
    let after = announcements(&prober, 0, t0);
    eprintln!("n1's announcements, ms after n2 started: {}", shown(&after));
    assert!(before.is_empty(), "n1 was quiet before a second master spoke: {}", shown(&before));
    let n2_master = t0.elapsed().saturating_sub(ms(600));
    let reclaims = within(&after, 0, n2_master.as_millis() as u64 + 300).len();
    assert!(reclaims >= 2, "n1 reclaims the VIP on hearing the lower master: {}", shown(&after));
    // And runs notify_master_rx_lower_pri, with no argument added, for the lower adverts.
    let ran = lowers();
    eprintln!("n1 ran notify_master_rx_lower_pri {ran} times while n2 was a second master");
    assert!(ran >= 1, "n1 ran notify_master_rx_lower_pri");
    assert!(std::fs::read_to_string(&lower_log).unwrap().lines().all(|l| l == "lower 0"));
    deaf(&n2, false);
    lab.set_active("n2", true);
    lab.wait(ms(2000), "n2 to step down", || !held_in(&n2));
    thread::sleep(ms(800));
    let settled = Instant::now();
    thread::sleep(ms(1000));
    let late = announcements(&prober, 0, settled);
    assert!(late.is_empty(), "once the lower master stepped down, n1 is quiet again: {}", shown(&late));
    let settled_runs = lowers();
    thread::sleep(ms(500));
    assert_eq!(lowers(), settled_runs, "no notify_master_rx_lower_pri once n2 stepped down");
    assert!(held_in(&n1), "n1 kept the VIP");
    for n in ["n1", "n2"] {
        lab.stop(n, DAEMON, How::Term);
    }
}

#[test]
#[ignore = "needs root: network namespaces and tcpdump"]
fn a_members_source_is_where_its_adverts_come_from() {
    let mut lab = Lab::named("lbcgarp", 2);
    let source = "10.88.0.201";
    let ns = lab.ns("n1");
    let out = Command::new("ip").args(["-n", &ns, "addr", "add", &format!("{source}/24"), "dev", "eth0"]).output();
    assert!(out.unwrap().status.success(), "add {source} to n1");
    let m = manifest("", |m| {
        m.replacen("addresses: [10.88.0.11/24,", &format!("addresses: [10.88.0.11/24, {source}/24,"), 1)
            .replace("n1: {priority: 150}", &format!("n1: {{priority: 150, source: {source}}}"))
    });
    let pcap = lab.dir().join("adverts.pcap");
    lab.capture(&pcap, "ip proto 112");
    start(&mut lab, 0, &m);
    start(&mut lab, 1, &m);
    let n1 = lab.ns("n1");
    lab.wait(ms(3000), "n1 to hold the VIP", || held_in(&n1));
    thread::sleep(ms(1000));
    lab.stop(SWITCH, "tcpdump", How::Term);
    let read = Command::new("tcpdump").args(["-r", pcap.to_str().unwrap(), "-nn"]).output().unwrap();
    let text = String::from_utf8_lossy(&read.stdout);
    let from = |a: &str| text.lines().filter(|l| l.contains(&format!("{a} > 224.0.0.18"))).count();
    eprintln!(
        "adverts from {source}: {}, from 10.88.0.11: {}, from n2: {}",
        from(source),
        from("10.88.0.11"),
        from("10.88.0.12")
    );
    assert!(from(source) >= 5, "n1's adverts leave from its source:\n{text}");
    assert_eq!(from("10.88.0.11"), 0, "none from n1's first address:\n{text}");
    let n2_state = lab.log("n2", DAEMON);
    assert!(!holds(&lab, 1), "n2 accepted n1's adverts from {source} and stayed backup:\n{n2_state}");
    for n in ["n1", "n2"] {
        lab.stop(n, DAEMON, How::Term);
    }
}

/// The routes of `ns` that VRRP masters hold (protocol 77), sorted, one per line.
fn vrrp_routes(ns: &str) -> String {
    let mut lines: Vec<String> = ["-4", "-6"]
        .iter()
        .flat_map(|f| {
            let out = Command::new("ip")
                .args(["-n", ns, f, "route", "show", "table", "all", "proto", "77"])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).lines().map(|l| l.trim().to_string()).collect::<Vec<_>>()
        })
        .collect();
    lines.sort();
    lines.join("\n")
}

#[test]
#[ignore = "needs root: network namespaces"]
fn the_master_holds_its_routes_and_hands_them_over() {
    let mut lab = Lab::named("lbcgarp", 2);
    let routes = "    routes:\n      - {to: 10.77.0.0/16, via: 10.88.0.100}\n      - {to: 10.78.0.0/16, type: blackhole, table: 100}\n      - {to: 10.79.0.0/24, dev: eth0, src: 10.88.0.50, metric: 5}\n";
    let m = manifest(routes, |m| m);
    let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
    start(&mut lab, 0, &m);
    lab.wait(ms(3000), "n1 to hold the VIP", || held_in(&n1));
    start(&mut lab, 1, &m);
    thread::sleep(ms(800));
    let want = "10.77.0.0/16 via 10.88.0.100 dev eth0\n10.79.0.0/24 dev eth0 scope link src 10.88.0.50 metric 5\nblackhole 10.78.0.0/16 table 100";
    assert_eq!(vrrp_routes(&n1), want, "the master holds its three routes");
    assert_eq!(vrrp_routes(&n2), "", "the backup holds none");
    lab.stop("n1", DAEMON, How::Term);
    lab.wait(ms(3000), "n2 to take over", || held_in(&n2));
    thread::sleep(ms(200));
    assert_eq!(vrrp_routes(&n1), "", "a master that stops removes its routes");
    assert_eq!(vrrp_routes(&n2), want, "the new master holds them");
    // A commit that drops one route and changes another's metric: taken in place.
    let fewer = manifest("    routes:\n      - {to: 10.77.0.0/16, via: 10.88.0.100, metric: 9}\n", |m| m);
    std::fs::write(lab.node_dir("n2").join("manifest.yaml"), fewer).unwrap();
    let n2b = n2.clone();
    lab.wait(ms(3000), "the commit to reach n2's routes", || vrrp_routes(&n2b).contains("metric 9"));
    assert_eq!(vrrp_routes(&n2), "10.77.0.0/16 via 10.88.0.100 dev eth0 metric 9");
    assert!(held_in(&n2), "n2 kept the VIP through the commit");
    lab.stop("n2", DAEMON, How::Term);
    assert_eq!(vrrp_routes(&n2), "", "and removes what is left when it stops");
}

/// The policy routing rules of `ns` that VRRP masters hold (protocol 77), IPv4 then IPv6,
/// one per line (`ip rule show` lists every rule: those of protocol 77 are kept).
fn vrrp_rules(ns: &str) -> String {
    ["-4", "-6"]
        .iter()
        .flat_map(|f| {
            let out = Command::new("ip").args(["-n", ns, f, "rule", "show"]).output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.lines()
                .filter(|l| l.contains("proto 77"))
                .map(|l| format!("{f} {}", l.trim().replace('\t', " ")))
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The routes of `ns` of protocol 77 to `to`, one line each (`ip -o`: a multipath route's
/// paths on its line).
fn vrrp_route_to(ns: &str, to: &str) -> String {
    let out =
        Command::new("ip").args(["-o", "-n", ns, "route", "show", "table", "all", "proto", "77", to]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .map(|l| l.replace('\t', " ").replace(" \\", "").split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
#[ignore = "needs root: network namespaces"]
fn the_master_holds_its_rules_and_multipath_routes_and_hands_them_over() {
    let mut lab = Lab::named("lbcrules", 2);
    let extra = "    routes:\n      - {to: 10.76.0.0/16, table: 100, nexthops: [{via: 10.88.0.100}, {via: 10.88.0.101, dev: eth0, weight: 3}]}\n    rules:\n      - {priority: 100, from: 10.77.1.0/24, table: 100}\n      - {priority: 101, not: true, iif: eth0, fwmark: 0x10/0xf0, type: blackhole}\n      - {priority: 102, to: 'fd00:78::/64', oif: eth0, table: 200}\n      - {priority: 103, family: ipv6, fwmark: 5, table: 300}\n";
    let m = manifest(extra, |m| m);
    let (n1, n2) = (lab.ns("n1"), lab.ns("n2"));
    start(&mut lab, 0, &m);
    lab.wait(ms(3000), "n1 to hold the VIP", || held_in(&n1));
    start(&mut lab, 1, &m);
    thread::sleep(ms(800));
    let rules = [
        "-4 100: from 10.77.1.0/24 lookup 100 proto 77",
        "-4 101: not from all fwmark 0x10/0xf0 iif eth0 blackhole proto 77",
        "-6 102: from all to fd00:78::/64 oif eth0 lookup 200 proto 77",
        "-6 103: from all fwmark 0x5 lookup 300 proto 77",
    ]
    .join("\n");
    let multipath =
        "10.76.0.0/16 table 100 nexthop via 10.88.0.100 dev eth0 weight 1 nexthop via 10.88.0.101 dev eth0 weight 3";
    assert_eq!(vrrp_rules(&n1), rules, "the master holds its rules");
    assert_eq!(vrrp_route_to(&n1, "10.76.0.0/16"), multipath, "and its multipath route");
    assert_eq!(vrrp_rules(&n2), "", "the backup holds no rule");
    assert_eq!(vrrp_route_to(&n2, "10.76.0.0/16"), "", "nor the route");
    lab.stop("n1", DAEMON, How::Term);
    lab.wait(ms(3000), "n2 to take over", || held_in(&n2));
    thread::sleep(ms(200));
    assert_eq!(vrrp_rules(&n1), "", "a master that stops removes its rules");
    assert_eq!(vrrp_route_to(&n1, "10.76.0.0/16"), "", "and its multipath route");
    assert_eq!(vrrp_rules(&n2), rules, "the new master holds them");
    assert_eq!(vrrp_route_to(&n2, "10.76.0.0/16"), multipath);
    // A rule added by hand with another protocol is not the daemon's: it stays.
    let hand = Command::new("ip")
        .args(["-n", &n2, "rule", "add", "from", "10.77.9.0/24", "lookup", "100", "pref", "101"])
        .status()
        .unwrap();
    assert!(hand.success());
    // A commit that drops two rules and changes one: taken in place.
    let fewer = manifest(
        "    rules:\n      - {priority: 100, from: 10.77.1.0/24, table: 100}\n      - {priority: 104, from: 10.77.2.0/24, table: 100}\n",
        |m| m,
    );
    std::fs::write(lab.node_dir("n2").join("manifest.yaml"), fewer).unwrap();
    let n2b = n2.clone();
    lab.wait(ms(3000), "the commit to reach n2's rules", || vrrp_rules(&n2b).contains("104:"));
    let left = "-4 100: from 10.77.1.0/24 lookup 100 proto 77\n-4 104: from 10.77.2.0/24 lookup 100 proto 77";
    assert_eq!(vrrp_rules(&n2), left);
    assert_eq!(vrrp_route_to(&n2, "10.76.0.0/16"), "", "the dropped multipath route is gone");
    assert!(held_in(&n2), "n2 kept the VIP through the commit");
    lab.stop("n2", DAEMON, How::Term);
    assert_eq!(vrrp_rules(&n2), "", "and removes what is left when it stops");
    let all = Command::new("ip").args(["-n", &n2, "rule", "show"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&all.stdout).contains("from 10.77.9.0/24 lookup 100"),
        "the hand-made rule is left alone"
    );
}

/// A sleeper with distinctive arguments, started by the test; killed and reaped on drop.
struct Sleeper(std::process::Child);

impl Sleeper {
    fn start(marker: &str) -> Sleeper {
        Sleeper(Command::new("sleep").arg(marker).spawn().unwrap())
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `track_processes` (keepalived's `vrrp_track_process`) on the real kernel: n1 runs as
/// master while a `sleep 999.PID` runs (weight 0: FAULT without it). Killing it
/// puts n1 in FAULT and its VIP leaves; starting it again brings the VIP back. In a network
/// namespace other than the first the process events connector cannot be had, so this is
/// the /proc scan, and the log says so.
#[test]
#[ignore = "needs root: network namespaces"]
fn a_tracked_process_gone_faults_the_master_and_its_return_brings_the_vip_back() {
    let mut lab = Lab::named("lbctp", 2);
    // A distinctive argument sleep takes: 999.PID seconds.
    let marker = format!("999.{}", std::process::id());
    let tracked = format!("track_processes:\n  guard: {{process: sleep, args: ['{marker}']}}\n\nvrrp:\n");
    let m = manifest("    track_processes: {guard: {}}\n", |m| m.replacen("\nvrrp:\n", &format!("\n{tracked}"), 1));
    let guard = Sleeper::start(&marker);
    start(&mut lab, 0, &m);
    let n1 = lab.ns("n1");
    lab.wait(ms(3000), "n1 to take the VIP with its guard running", || held_in(&n1));
    let t0 = Instant::now();
    drop(guard);
    lab.wait(ms(3000), "the VIP to leave n1 with its guard gone", || !held_in(&n1));
    eprintln!("guard killed -> VIP gone in {} ms", t0.elapsed().as_millis());
    let t1 = Instant::now();
    let _guard = Sleeper::start(&marker);
    lab.wait(ms(3000), "the VIP back on n1 with its guard again", || held_in(&n1));
    eprintln!("guard started -> VIP back in {} ms", t1.elapsed().as_millis());
    let log = lab.log("n1", DAEMON);
    assert!(log.contains("scanned from /proc"), "the fallback is logged: {}", common::lab::tail(&log, 20));
    assert!(log.contains("track process guard is out of quorum"), "{}", common::lab::tail(&log, 20));
    lab.stop("n1", DAEMON, How::Term);
}
