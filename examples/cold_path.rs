//! Times the cold path of one manifest on this host, phase by phase (issue 12): the YAML
//! read into a tree by the fast path and into a value by the full parser, the tree's
//! schema check and typed read, the whole `manifest::parse` and `model::validate`; then,
//! for the first node, its desired state, and a no-op plan against a live state equal to
//! it (what follows the kernel read in `plan`). Prints the minimum of RUNS runs (default
//! 9) in milliseconds.
//!
//!   cargo run --release --example cold_path -- MANIFEST
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: bad input may stop it

use std::time::Instant;

use lbconverge::load::facts::HostFacts;
use lbconverge::manifest;

fn ms(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: cold_path MANIFEST");
    let runs: usize = std::env::var("RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(9);
    let bytes = std::fs::read(&path).unwrap();
    let text = std::str::from_utf8(&bytes).unwrap();
    let tree = manifest::fast::tree(text).expect("the fast path does not take this manifest");
    assert!(manifest::shape::fits(&tree), "the manifest does not fit the schema");
    let mut best = [f64::MAX; 8];
    for _ in 0..runs {
        let loaded = manifest::parse(&path, ".".into(), &bytes).unwrap();
        let cluster = lbconverge::model::validate(&loaded, &HostFacts).unwrap().cluster;
        let node = cluster.nodes.keys().next().unwrap().clone();
        let health = lbconverge::model::Health::all_up();
        let desired = lbconverge::model::desired(&cluster, &node, &health).unwrap();
        let live = desired.state.clone();
        let times = [
            ms(|| drop(manifest::fast::tree(text))),
            ms(|| drop(manifest::full_value(text).unwrap())),
            ms(|| assert!(manifest::shape::fits(&tree))),
            ms(|| drop(manifest::tree::typed::<manifest::Manifest>(&tree).unwrap())),
            ms(|| drop(manifest::parse(&path, ".".into(), &bytes).unwrap())),
            ms(|| drop(lbconverge::model::validate(&loaded, &HostFacts).unwrap())),
            ms(|| drop(lbconverge::model::desired(&cluster, &node, &health).unwrap())),
            ms(|| {
                let p = lbconverge::plan::plan(&desired, &live);
                drop(lbconverge::cli::view::plan_text(&p, "live", false));
            }),
        ];
        for (b, t) in best.iter_mut().zip(times) {
            *b = b.min(t);
        }
    }
    println!(
        "{path}: min of {runs} runs, ms: YAML fast path {:.1} (full parser {:.1}), schema {:.1}, types {:.1}; parse (all three) {:.1}, validate {:.1}; desired {:.1}, no-op plan {:.1}",
        best[0], best[1], best[2], best[3], best[4], best[5], best[6], best[7]
    );
}
