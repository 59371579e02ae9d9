//! Convergence on the in-memory kernel: for every example, node and live snapshot,
//! plan -> apply -> plan again is empty; a second apply writes nothing; a failure injected
//! on any write stops apply with an error naming the change, and a re-plan finishes the job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::path::Path;
use std::time::Duration;

use lbconverge::apply::{self, ApplyError, Options, Silent};
use lbconverge::kernel::{self, mem::MemKernel};
use lbconverge::model::{self, Desired, Health, NoFacts};
use lbconverge::plan::{self, Plan};

fn desired_all(example: &Path) -> Vec<Desired> {
    let loaded = lbconverge::manifest::load(example).unwrap();
    let cluster = model::validate(&loaded, &NoFacts).unwrap().cluster;
    cluster.nodes.keys().map(|n| model::desired(&cluster, n, &Health::all_up()).unwrap()).collect()
}

fn snapshots() -> Vec<(String, model::NodeState)> {
    let mut v: Vec<_> = std::fs::read_dir(common::root().join("examples/live"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (common::stem(&p), lbconverge::cli::files::load_snapshot(&p).unwrap()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn opts() -> Options {
    Options { drain_timeout: Some(Duration::ZERO), allow_destroy: true, ..Options::default() }
}

fn plan_now(k: &mut MemKernel, d: &Desired) -> Plan {
    let live = kernel::snapshot(k, &d.sysctl_scope()).unwrap();
    plan::plan(d, &live)
}

#[test]
fn every_example_converges_from_every_snapshot() {
    let mut cases = 0;
    for ex in common::examples() {
        for d in desired_all(&ex) {
            for (name, snap) in snapshots() {
                let mut k = MemKernel::from_state(snap);
                let first = plan_now(&mut k, &d);
                apply::apply(&first, &mut k, &opts(), &mut Silent)
                    .unwrap_or_else(|e| panic!("{} {} @{name}: {e}", ex.display(), d.node));
                let second = plan_now(&mut k, &d);
                assert!(second.is_empty(), "{} {} @{name}: not converged: {:?}", ex.display(), d.node, second.changes);
                let writes = k.writes;
                apply::apply(&second, &mut k, &opts(), &mut Silent).unwrap();
                assert_eq!(k.writes, writes, "{} {} @{name}: a no-op apply wrote", ex.display(), d.node);
                cases += 1;
            }
        }
    }
    assert!(cases >= 8 * 4, "only {cases} cases ran");
}

#[test]
fn failure_on_any_write_is_named_and_finished_by_a_second_apply() {
    let ex = common::root().join("examples/lvs-dr-pair.yaml");
    let d = desired_all(&ex).into_iter().find(|d| d.node == "lvs01").unwrap();
    let (_, snap) = snapshots().into_iter().find(|(n, _)| n == "drifted").unwrap();
    let total_writes = {
        let mut k = MemKernel::from_state(snap.clone());
        let p = plan_now(&mut k, &d);
        apply::apply(&p, &mut k, &opts(), &mut Silent).unwrap();
        k.writes
    };
    assert!(total_writes >= 5);
    for n in 1..=total_writes {
        let mut k = MemKernel::from_state(snap.clone());
        k.fail_write = Some((n, 1));
        let p = plan_now(&mut k, &d);
        let err = apply::apply(&p, &mut k, &opts(), &mut Silent).unwrap_err();
        let ApplyError::Change { index, total, applied, ref source } = err else { panic!("{err}") };
        assert_eq!(applied, index - 1);
        assert_eq!(total, p.changes.len());
        assert!(source.to_string().contains("Operation not permitted"), "{err}");
        k.fail_write = None;
        let again = plan_now(&mut k, &d);
        apply::apply(&again, &mut k, &opts(), &mut Silent).unwrap();
        assert!(plan_now(&mut k, &d).is_empty(), "write {n}: not finished by a second apply");
    }
}

#[test]
fn blast_radius_guard_refuses_without_allow_destroy() {
    let ex = common::root().join("examples/lvs-dr-pair.yaml");
    let d = desired_all(&ex).into_iter().find(|d| d.node == "lvs01").unwrap();
    let (_, snap) = snapshots().into_iter().find(|(n, _)| n == "drifted").unwrap();
    let mut k = MemKernel::from_state(snap);
    let p = plan_now(&mut k, &d);
    let strict = Options { max_destroy: 1, allow_destroy: false, ..opts() };
    let err = apply::apply(&p, &mut k, &strict, &mut Silent).unwrap_err();
    assert!(matches!(err, ApplyError::BlastRadius { count: 3, limit: 1 }), "{err}");
    assert_eq!(k.writes, 0, "a refused apply must not touch the kernel");
}

#[test]
fn busy_destination_is_left_draining_without_a_timeout() {
    let ex = common::root().join("examples/lvs-dr-pair.yaml");
    let d = desired_all(&ex).into_iter().find(|d| d.node == "lvs01").unwrap();
    let (_, snap) = snapshots().into_iter().find(|(n, _)| n == "drifted").unwrap();
    let mut k = MemKernel::from_state(snap);
    let p = plan_now(&mut k, &d);
    let no_wait = Options { drain_timeout: None, allow_destroy: true, ..Options::default() };
    let report = apply::apply(&p, &mut k, &no_wait, &mut Silent).unwrap();
    assert_eq!(report.draining, 2, "the extra destination and the old service keep draining");
    let svc: lbconverge::model::ipvs::ServiceKey = "tcp 172.16.40.160:80".parse().unwrap();
    let extra = &k.state.services[&svc].dests.values().find(|x| x.address.to_string() == "172.16.40.23").unwrap();
    assert_eq!(extra.weight, 0);
    // Connections finish; the next apply deletes what drained.
    for s in k.state.services.values_mut() {
        for dst in s.dests.values_mut() {
            dst.stats = Some(Default::default());
        }
    }
    let p2 = plan_now(&mut k, &d);
    apply::apply(&p2, &mut k, &no_wait, &mut Silent).unwrap();
    assert!(plan_now(&mut k, &d).is_empty());
}

/// The firewall-mark table of the fwmark example on the in-memory kernel: made by one
/// write, a rule edited and one deleted behind lbconverge's back are repaired by one more
/// write that replaces the table whole, and a table lbconverge never owned is left alone by
/// a node that declares none.
#[test]
fn drifted_firewall_marks_are_replaced_whole_and_an_unowned_table_is_left_alone() {
    let ex = common::root().join("examples/fwmark.yaml");
    let all = desired_all(&ex);
    let d = all.iter().find(|d| d.node == "director1").unwrap();
    let (_, empty) = snapshots().into_iter().find(|(n, _)| n == "empty").unwrap();
    let mut k = MemKernel::from_state(empty.clone());
    let first = plan_now(&mut k, d);
    apply::apply(&first, &mut k, &opts(), &mut Silent).unwrap();
    let table = k.state.firewall.clone().expect("the table is made");
    let marks: Vec<u32> = table.rules.iter().map(|r| r.mark).collect();
    assert_eq!(marks, [100, 200, 300], "inside sources (200) before every source (300)");
    assert!(k.ledger.firewall, "owned once made");
    assert!(plan_now(&mut k, d).is_empty());

    let rules = &mut k.state.firewall.as_mut().unwrap().rules;
    rules[1].source = None;
    rules.remove(2);
    let repair = plan_now(&mut k, d);
    assert_eq!(repair.changes.len(), 1, "{:?}", repair.changes);
    assert!(
        repair.changes[0].to_string().starts_with("nftables table inet lbconverge: 1 to add, 1 to change, 0 to remove"),
        "{}",
        repair.changes[0]
    );
    let writes = k.writes;
    apply::apply(&repair, &mut k, &opts(), &mut Silent).unwrap();
    assert_eq!(k.writes, writes + 1, "one transaction");
    assert_eq!(k.state.firewall.as_ref(), Some(&table));
    assert!(plan_now(&mut k, d).is_empty());

    let rs = all.iter().find(|d| d.node == "rs1").unwrap();
    let mut foreign = empty;
    foreign.firewall = Some(table);
    let mut k = MemKernel::from_state(foreign);
    let p = plan_now(&mut k, rs);
    assert!(!p.changes.iter().any(|c| c.to_string().contains("nftables")), "{:?}", p.changes);
    assert!(p.notes.iter().any(|n| n.to_string() == "nftables table inet lbconverge: not owned by lbconverge"));
}
