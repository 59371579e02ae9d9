//! Model-based property test on the in-memory kernel: random valid manifests (seeded, so a
//! failure names its seed) and random live states holding hand-made, unowned objects and
//! leftovers of an earlier apply. For every node: plan, apply, re-plan is empty; no object
//! lbconverge neither owns nor declares was touched; an apply interrupted after any write
//! converges on the next run; and the saved plan passes `plan::verify` on that host.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

use std::fmt::Write as _;
use std::time::Duration;

use lbconverge::apply::{self, Options, Silent};
use lbconverge::kernel::{self, mem::MemKernel};
use lbconverge::model::ipvs::{Dest, Service, ServiceKey};
use lbconverge::model::net::{Address, Link};
use lbconverge::model::{self, Health, NoFacts, NodeState};
use lbconverge::plan;
use lbconverge::testkit::Rng;

const CASES: u64 = 60;

/// A random valid manifest: 1-2 directors (VRRP or static), 1-4 real servers, 1-4 services
/// with random forwarding, scheduler, persistence and weights.
fn manifest(rng: &mut Rng) -> String {
    let directors = 1 + rng.below(2) as usize;
    let servers = 1 + rng.below(4) as usize;
    let mut m = String::from("version: 1\nnodes:\n");
    for d in 0..directors {
        let _ = writeln!(m, "  lb{d}: {{roles: [director], addresses: [10.0.0.{}/24], interface: eth0}}", 11 + d);
    }
    for s in 0..servers {
        let _ = writeln!(m, "  rs{s}: {{roles: [real-server], addresses: [10.0.0.{}/24], interface: eth0}}", 21 + s);
    }
    let vrrp = directors == 2 && rng.below(2) == 0;
    if vrrp {
        m.push_str("vrrp:\n  VI_1:\n    vrid: 7\n    members: {lb0: {priority: 100}, lb1: {priority: 90}}\n");
        m.push_str("    vips: [10.0.0.100, 10.0.0.101, 10.0.0.102, 10.0.0.103]\n");
    }
    m.push_str("services:\n");
    for i in 0..1 + rng.below(4) {
        let fwd = ["dr", "nat", "tun"][rng.below(3) as usize];
        let sched = ["rr", "wrr", "wlc", "lc", "sh", "mh"][rng.below(6) as usize];
        let _ = writeln!(
            m,
            "  s{i}:\n    vip: 10.0.0.{}\n    port: {}\n    protocol: {}",
            100 + i,
            80 + rng.below(3),
            ["tcp", "udp"][rng.below(2) as usize]
        );
        let _ = writeln!(m, "    forwarding: {fwd}\n    scheduler: {sched}");
        if !vrrp {
            m.push_str(if directors == 2 && rng.below(2) == 0 {
                "    directors: [lb0, lb1]\n"
            } else {
                "    directors: [lb0]\n"
            });
        }
        if rng.below(3) == 0 {
            let _ = writeln!(m, "    persistence: {{timeout: {}s}}", 10 + rng.below(300));
        }
        m.push_str("    backends:\n");
        let mut any = false;
        for s in 0..servers {
            if rng.below(4) != 0 {
                let _ = writeln!(m, "      rs{s}: {{weight: {}}}", 1 + rng.below(5));
                any = true;
            }
        }
        if !any || rng.below(2) == 0 {
            let _ = writeln!(m, "      outside: {{address: 10.0.0.{}, weight: {}}}", 200 + i, rng.below(3));
        }
    }
    m
}

/// A host for `node`: its own address, hand-made unowned objects, and (at random) a ledger
/// with objects an earlier apply left that the manifest no longer declares.
fn live(rng: &mut Rng, own: &str) -> NodeState {
    let mut s = NodeState::default();
    for l in ["lo", "eth0"] {
        s.links.insert(l.into(), Link::UP);
    }
    let add = |s: &mut NodeState, iface: &str, a: &str| {
        let a = Address::plain(iface, a.parse().unwrap());
        s.addresses.insert(a.key(), a);
    };
    add(&mut s, "lo", "127.0.0.1/8");
    add(&mut s, "eth0", own);
    if rng.below(2) == 0 {
        add(&mut s, "eth0", "10.0.0.250/32"); // a hand-made VIP
    }
    let svc = |port: u16| Service {
        key: ServiceKey::Addr { protocol: model::ipvs::Protocol::Tcp, addr: "10.0.0.240".parse().unwrap(), port },
        scheduler: "rr".into(),
        sched_flags: 0,
        persistence: None,
        one_packet: false,
        dests: Default::default(),
        traffic: Default::default(),
    };
    if rng.below(2) == 0 {
        let mut hand = svc(8080); // keepalived's, say: never ours
        let d = Dest {
            address: "10.0.0.21".parse().unwrap(),
            port: 8080,
            forwarding: model::ipvs::Forwarding::Nat,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
            stats: None,
        };
        hand.dests.insert(d.key(), d);
        s.services.insert(hand.key, hand);
    }
    if rng.below(2) == 0 {
        let old = svc(9090); // ours from an earlier manifest
        s.owned.services.insert(old.key);
        s.services.insert(old.key, old);
        add(&mut s, "lo", "10.0.0.241/32");
        s.owned
            .addresses
            .insert(s.addresses.keys().find(|k| k.address.to_string() == "10.0.0.241/32").unwrap().clone());
    }
    for (k, v) in
        [("net.ipv4.ip_forward", "0"), ("net.ipv4.conf.all.arp_ignore", "0"), ("net.ipv4.conf.all.arp_announce", "0")]
    {
        s.sysctls.insert(k.parse().unwrap(), v.into());
    }
    s
}

/// The objects of `s` that lbconverge may not touch: neither owned nor declared.
fn foreign(s: &NodeState, declared: &model::Ledger) -> (Vec<Service>, Vec<Address>) {
    let mine_svc = |k: &ServiceKey| s.owned.services.contains(k) || declared.services.contains(k);
    let services = s.services.values().filter(|v| !mine_svc(&v.key)).cloned().map(|mut v| {
        v.dests.values_mut().for_each(|d| d.stats = None);
        v
    });
    let addrs = s.addresses.iter().filter(|(k, _)| !s.owned.addresses.contains(k) && !declared.addresses.contains(k));
    (services.collect(), addrs.map(|(_, a)| a.clone()).collect())
}

fn opts() -> Options {
    Options { drain_timeout: Some(Duration::ZERO), allow_destroy: true, ..Options::default() }
}

#[test]
fn random_manifests_converge_from_random_hosts_without_touching_what_is_not_ours() {
    let mut nodes_checked = 0;
    for seed in 1..=CASES {
        let mut rng = Rng::new(seed);
        let text = manifest(&mut rng);
        let loaded = lbconverge::manifest::parse("random.yaml", ".".into(), text.as_bytes()).unwrap();
        let cluster = match model::validate(&loaded, &NoFacts) {
            Ok(v) => v.cluster,
            Err(p) => panic!("seed {seed}: the generator made an invalid manifest:\n{p}\n{text}"),
        };
        for (name, node) in &cluster.nodes {
            let d = model::desired(&cluster, name, &Health::all_up()).unwrap();
            let host = live(&mut rng, &node.addresses[0].to_string());
            let mut k = MemKernel::from_state(host.clone());
            let first = plan::plan(&d, &kernel::snapshot(&mut k, &d.sysctl_scope()).unwrap());
            let mut stamped = first.clone();
            stamped.stamp(node.addresses.clone(), &lbconverge::manifest::revision::Revision::of(b"random"), Vec::new());
            let now = kernel::snapshot(&mut k, &stamped.sysctl_scope()).unwrap();
            stamped.pin_live(&now);
            stamped.seal();
            let why = plan::verify::verify(&stamped, &now);
            assert!(why.is_empty(), "seed {seed} {name}: a fresh plan fails verify: {why:?}");
            let before = foreign(&host, &first.ledger);
            apply::apply(&first, &mut k, &opts(), &mut Silent).unwrap_or_else(|e| panic!("seed {seed} {name}: {e}"));
            let after = kernel::snapshot(&mut k, &d.sysctl_scope()).unwrap();
            assert!(plan::plan(&d, &after).is_empty(), "seed {seed} {name}: not converged\n{text}");
            assert_eq!(foreign(&after, &first.ledger), before, "seed {seed} {name}: an object not ours changed");
            interrupted(seed, name, &d, &host, k.writes);
            nodes_checked += 1;
        }
    }
    assert!(nodes_checked >= CASES * 2, "only {nodes_checked} nodes");
}

/// A failure on every write in turn: the next plan and apply finish the job.
fn interrupted(seed: u64, name: &str, d: &model::Desired, host: &NodeState, writes: usize) {
    for n in 1..=writes {
        let mut k = MemKernel::from_state(host.clone());
        k.fail_write = Some((n, 1));
        let p = plan::plan(d, &kernel::snapshot(&mut k, &d.sysctl_scope()).unwrap());
        assert!(apply::apply(&p, &mut k, &opts(), &mut Silent).is_err(), "seed {seed} {name}: write {n} did not fail");
        k.fail_write = None;
        let again = plan::plan(d, &kernel::snapshot(&mut k, &d.sysctl_scope()).unwrap());
        apply::apply(&again, &mut k, &opts(), &mut Silent)
            .unwrap_or_else(|e| panic!("seed {seed} {name} after {n}: {e}"));
        let done = plan::plan(d, &kernel::snapshot(&mut k, &d.sysctl_scope()).unwrap());
        assert!(done.is_empty(), "seed {seed} {name}: interrupted at write {n}, not converged: {:?}", done.changes);
    }
}
