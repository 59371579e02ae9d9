//! VRRP failover benchmark on the lab (`tests/common/lab.rs`), run by `tools/bench-vrrp`:
//! how long from the master's death until the backup holds the VIP and until a client (a new
//! TCP connection to VIP:80 every 10 ms, 2 ms under tools/bench-vrrp) is served by the backup; for VRRPv2 with 1 s adverts
//! (PASS auth) and VRRPv3 with 100 ms adverts, priorities 150/100, after a crash (SIGKILL +
//! link down) and a graceful stop (SIGTERM); an lbconverge pair and a keepalived pair in the
//! same run. Also the resident memory of each daemon with one instance (keepalived: parent
//! plus VRRP child). Prints markdown tables.
//!
//! Each run waits until n1 is master and serves the client, then lets 1 s plus a
//! pseudo-random part of an advert interval pass (fixed seed: the same offsets every time),
//! fails n1 at t0, measures, and restores n1 (which preempts again).
//!
//! It is a benchmark, not a test: `tools/test` skips it by name (`--skip vrrp_failover_bench`),
//! so it never shows as passed without having run. Environment: `RUNS` (default 5),
//! `VRRP_BENCH_IMPLS` (default `lbconverge,keepalived`). A daemon that fails is reported in
//! the table and fails the run after the tables are printed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;
use std::time::{Duration, Instant};

use common::lab::sampler::Sampler;
use common::lab::vrrp::{self, DAEMON, Daemon, Params};
use common::lab::{CLIENT, How, Lab, http};
use lbconverge::testkit::Rng;

/// One measured series.
struct Series {
    params: Params,
    how: How,
    daemon: Daemon,
    vip_ms: Vec<u64>,
    served_ms: Vec<u64>,
}

/// Resident memory of one daemon pair, KiB.
struct Rss {
    daemon: Daemon,
    master: u64,
    backup: u64,
}

/// What one daemon/config combination produced.
enum Outcome {
    Done(Vec<Series>, Rss),
    Failed(Daemon, Params, String),
}

#[test]
#[ignore = "benchmark: run tools/bench-vrrp (root, keepalived)"]
fn vrrp_failover_bench() {
    let runs: usize = std::env::var("RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let impls = daemons();
    let mut outcomes = Vec::new();
    for p in [Params::v2_pass(), Params::v3_fast()] {
        for &d in &impls {
            outcomes.push(measure(&p, d, runs));
        }
    }
    print_tables(&outcomes, runs);
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|o| {
            if let Outcome::Failed(d, p, e) = o { Some(format!("{} {}: {e}", d.name(), p.label())) } else { None }
        })
        .collect();
    assert!(failed.is_empty(), "benchmark incomplete:\n{}", failed.join("\n"));
}

fn daemons() -> Vec<Daemon> {
    let list = std::env::var("VRRP_BENCH_IMPLS").unwrap_or_else(|_| "lbconverge,keepalived".into());
    list.split(',')
        .map(|s| match s.trim() {
            "lbconverge" => Daemon::Lbconverge,
            "keepalived" => Daemon::Keepalived,
            other => panic!("VRRP_BENCH_IMPLS: unknown daemon {other:?} (lbconverge, keepalived)"),
        })
        .collect()
}

/// Runs both failure kinds for one daemon and config; a panic becomes `Failed`.
fn measure(p: &Params, d: Daemon, runs: usize) -> Outcome {
    eprintln!("== {} pair, {}", d.name(), p.label());
    match catch_unwind(AssertUnwindSafe(|| bench_pair(p, d, runs))) {
        Ok((series, rss)) => Outcome::Done(series, rss),
        Err(e) => {
            let msg = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()));
            Outcome::Failed(d, p.clone(), summary(&msg.unwrap_or_default()))
        }
    }
}

/// The first two non-empty lines of a panic message (what failed, and the first line of the
/// daemon's log it quotes), fit for a table cell.
fn summary(msg: &str) -> String {
    let lines: Vec<&str> = msg.lines().map(str::trim).filter(|l| !l.is_empty()).take(2).collect();
    if lines.is_empty() { "panicked".into() } else { lines.join(" ").replace('|', "/") }
}

struct Bench {
    s: Sampler,
    lab: Lab,
    p: Params,
    d: Daemon,
    target: SocketAddr,
    rng: Rng,
}

fn bench_pair(p: &Params, d: Daemon, runs: usize) -> (Vec<Series>, Rss) {
    let mut lab = Lab::new(2);
    let s = lab.sampler(p.vip_addr());
    let any: SocketAddr = "[::]:80".parse().unwrap();
    lab.http("n1", any);
    lab.http("n2", any);
    let mut b = Bench { s, lab, p: p.clone(), d, target: p.vip_socket(80), rng: Rng::new(0x9e37_79b9_7f4a_7c15) };
    vrrp::start(&mut b.lab, 1, d, p);
    vrrp::start(&mut b.lab, 0, d, p);
    b.wait_n1_serves();
    thread::sleep(Duration::from_secs(2));
    let rss = Rss { daemon: d, master: b.lab.rss_kib("n1", DAEMON), backup: b.lab.rss_kib("n2", DAEMON) };
    let series = [How::Crash, How::Term].into_iter().map(|how| b.series(how, runs)).collect();
    (series, rss)
}

impl Bench {
    /// n1 is the only master and the client gets its answer from n1.
    fn wait_n1_serves(&mut self) {
        let limit = self.p.master_down(150) * 2 + Duration::from_secs(5);
        let (s, bit, ns, target) = (&self.s, self.s.bit("n1"), self.lab.ns(CLIENT), self.target);
        self.lab.wait(limit, "n1 to be master and serve the client", || {
            s.last().masters() == bit && http::get(&ns, target, Duration::from_millis(300)).as_deref() == Ok("n1")
        });
    }

    fn series(&mut self, how: How, runs: usize) -> Series {
        let mut out = Series { params: self.p.clone(), how, daemon: self.d, vip_ms: Vec::new(), served_ms: Vec::new() };
        for run in 1..=runs {
            let (vip, served) = self.one_run(how);
            eprintln!("   {how:?} run {run}: VIP on n2 {vip} ms, client served by n2 {served} ms");
            out.vip_ms.push(vip);
            out.served_ms.push(served);
        }
        out
    }

    /// Fails n1 as `how` says, measures, brings n1 back; (VIP on n2, client served by n2) in ms.
    fn one_run(&mut self, how: How) -> (u64, u64) {
        self.wait_n1_serves();
        let offset = self.p.advert.mul_f64(self.rng.fraction());
        thread::sleep(Duration::from_millis(700) + offset);
        let prober = self.lab.prober(self.target);
        thread::sleep(Duration::from_millis(300));
        let (t0, _) = self.lab.stop("n1", DAEMON, how);
        let (s, pr) = (&self.s, &prober);
        let limit = self.p.master_down(100) + Duration::from_secs(5);
        self.lab.wait(limit, "n2 to hold the VIP and serve the client", || {
            s.first("n2", true, t0).is_some() && pr.first_answer("n2", t0).is_some()
        });
        let vip = self.s.first("n2", true, t0).unwrap() - t0;
        let served = prober.first_answer("n2", t0).unwrap() - t0;
        drop(prober);
        self.restore(how);
        (vip.as_millis() as u64, served.as_millis() as u64)
    }

    fn restore(&mut self, how: How) {
        if how == How::Crash {
            self.lab.del_addr("n1", &self.p.vip);
            self.lab.link("n1", true);
        }
        thread::sleep(Duration::from_millis(300));
        vrrp::start(&mut self.lab, 0, self.d, &self.p);
        let t1 = Instant::now();
        self.wait_n1_serves();
        eprintln!("   n1 back as master after {} ms", t1.elapsed().as_millis());
    }
}

// ---------------------------------------------------------------------- report

fn stats(v: &[u64]) -> String {
    let mut s = v.to_vec();
    s.sort_unstable();
    match s.len() {
        0 => "-".into(),
        n => {
            let median = if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2 };
            format!("{} / {} / {}", s[0], median, s[n - 1])
        }
    }
}

fn expected(p: &Params, how: How) -> String {
    let (mdi, skew) = (p.master_down(100).as_millis(), p.skew(100).as_millis());
    match how {
        How::Term => format!("{skew}"),
        _ => format!("{}..{}", mdi - p.advert.as_millis(), mdi),
    }
}

fn failure(how: How) -> &'static str {
    match how {
        How::Crash => "crash (SIGKILL + link down)",
        How::Kill => "SIGKILL",
        How::Term => "graceful stop (SIGTERM)",
    }
}

fn print_tables(outcomes: &[Outcome], runs: usize) {
    println!("\n## VRRP failover, ms after the master's death (min / median / max of {runs} runs)\n");
    println!("| adverts | failure | daemons | VIP on n2 | client served by n2 | RFC |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for o in outcomes {
        match o {
            Outcome::Done(series, _) => {
                for s in series {
                    let (v, c) = (stats(&s.vip_ms), stats(&s.served_ms));
                    println!(
                        "| {} | {} | {} pair | {v} | {c} | {} |",
                        s.params.label(),
                        failure(s.how),
                        s.daemon.name(),
                        expected(&s.params, s.how)
                    );
                }
            }
            Outcome::Failed(d, p, e) => println!("| {} | - | {} pair | failed: {e} | | |", p.label(), d.name()),
        }
    }
    println!("\n## Resident memory with one VRRP instance (VmRSS, KiB)\n");
    println!("| daemon | adverts | master (n1) | backup (n2) |");
    println!("| --- | --- | --- | --- |");
    for o in outcomes {
        if let Outcome::Done(series, r) = o {
            let label = series.first().map(|s| s.params.label()).unwrap_or_default();
            let what = match r.daemon {
                Daemon::Keepalived => "keepalived (parent + VRRP child)",
                Daemon::Lbconverge => "lbconverge run",
            };
            println!("| {what} | {label} | {} | {} |", r.master, r.backup);
        }
    }
    for o in outcomes {
        if let Outcome::Done(series, _) = o {
            for s in series {
                println!(
                    "raw {} {} {:?}: vip {:?} served {:?}",
                    s.daemon.name(),
                    s.params.label(),
                    s.how,
                    s.vip_ms,
                    s.served_ms
                );
            }
        }
    }
}
