//! The lbconverge side of the health-check scale benchmark (issue 29; run by
//! tools/bench-health-scale, which also runs the floor, tools/bench/floor.rs, against the
//! same servers). The host has no IPVS, so `lbconverge run` cannot start here; this drives
//! what `run` runs for the checks instead, through the library's public API only: the
//! manifest loaded and validated, the node's targets from [`Board`], the real [`Engine`]
//! with the real probes, its reports and [`Engine::stats`]. Nothing here knows how the
//! engine schedules its probes, so it measures any engine behind that API unchanged.
//!
//! What it measures, one `LBC` line each (every time runs from just before the command that
//! causes it):
//! - `fill`: the time until every target is Up, from the engine's start (none when they are
//!   not all Up within the limit: the steady figures follow, the transitions are skipped).
//! - `steady`: over WINDOW seconds after WARMUP: checks done (the probes counted by the
//!   engine's statistics), CPU (getrusage, user + system, the whole process) per 1,000.
//!   `--mark CMD` runs at the window's start (`$1` = `start`) and end (`end`): the servers
//!   count missed deadlines over the same window.
//! - `one-dead`: the time from `--kill-one CMD` (run with the middle target's address as
//!   `$1`) until that target is reported Down; then `--revive-one CMD` and its way back Up.
//! - `all-fail NAME`: for each `--fail-all NAME=CMD`, the time from the command until the
//!   first and the last target is reported Down, and the CPU in between; then
//!   `--revive-all CMD` and the time until all are Up again.
//!
//! Usage: health_scale MANIFEST NODE [--warmup S] [--window S] [--kill-one CMD]
//! [--revive-one CMD] [--fail-all NAME=CMD]... [--revive-all CMD] [--mark CMD] [--limit S]
//! (commands run with `sh -c`). Built by `cargo bench --bench health_scale --no-run`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // a bench tool

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lbconverge::health::engine::{Engine, Report};
use lbconverge::health::{Board, Status, Target};
use lbconverge::model::validate::{NoFacts, validate};

#[derive(Default)]
struct Args {
    manifest: String,
    node: String,
    warmup: u64,
    window: u64,
    limit: u64,
    kill_one: Option<String>,
    revive_one: Option<String>,
    fail_all: Vec<(String, String)>,
    revive_all: Option<String>,
    mark: Option<String>,
}

fn args() -> Args {
    let mut a = Args { warmup: 3, window: 20, limit: 120, ..Args::default() };
    let mut it = std::env::args().skip(1).filter(|s| s != "--bench");
    let mut positional = Vec::new();
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage(&format!("{arg} wants a value")));
        match arg.as_str() {
            "--warmup" => a.warmup = value().parse().unwrap_or_else(|_| usage("--warmup: seconds")),
            "--window" => a.window = value().parse().unwrap_or_else(|_| usage("--window: seconds")),
            "--limit" => a.limit = value().parse().unwrap_or_else(|_| usage("--limit: seconds")),
            "--kill-one" => a.kill_one = Some(value()),
            "--revive-one" => a.revive_one = Some(value()),
            "--revive-all" => a.revive_all = Some(value()),
            "--mark" => a.mark = Some(value()),
            "--fail-all" => {
                let v = value();
                let (name, cmd) = v.split_once('=').unwrap_or_else(|| usage("--fail-all NAME=CMD"));
                a.fail_all.push((name.to_string(), cmd.to_string()));
            }
            _ => positional.push(arg),
        }
    }
    let [manifest, node] = <[String; 2]>::try_from(positional).unwrap_or_else(|_| usage("MANIFEST NODE"));
    Args { manifest, node, ..a }
}

fn usage(why: &str) -> ! {
    eprintln!("health_scale: {why}");
    eprintln!(
        "usage: health_scale MANIFEST NODE [--warmup S] [--window S] [--kill-one CMD] [--revive-one CMD] \
         [--fail-all NAME=CMD]... [--revive-all CMD] [--mark CMD] [--limit S]"
    );
    std::process::exit(2);
}

/// The targets `node` checks under the manifest, each starting Unknown.
fn targets(manifest: &str, node: &str) -> Vec<(Target, Status)> {
    let loaded = lbconverge::manifest::load(std::path::Path::new(manifest)).unwrap_or_else(|p| {
        eprintln!("{p}");
        std::process::exit(1)
    });
    let v = validate(&loaded, &NoFacts).unwrap_or_else(|p| {
        eprintln!("{p}");
        std::process::exit(1)
    });
    Board::new(&v.cluster, node, None, |_| Status::Unknown).targets()
}

/// Every report, as it came, with its time.
type Log = Arc<Mutex<Vec<(Instant, Report)>>>;

/// The targets' statuses from the reports, and when each last changed.
struct Watch {
    log: Log,
    seen: usize,
    status: HashMap<Target, (Status, Instant)>,
}

impl Watch {
    /// Takes the new reports; false when there were none.
    fn catch_up(&mut self) -> bool {
        let log = self.log.lock().unwrap();
        let news = log.len() > self.seen;
        for (at, r) in &log[self.seen..] {
            self.status.insert(r.target.clone(), (r.transition.to, *at));
        }
        self.seen = log.len();
        news
    }

    fn count(&self, s: Status, since: Instant) -> usize {
        self.status.values().filter(|(st, at)| *st == s && *at >= since).count()
    }

    /// Waits until `n` targets have turned `s` since `since`, or `limit` has passed; the
    /// time of the first and of the last such change.
    fn wait(&mut self, s: Status, n: usize, since: Instant, limit: Duration) -> Option<(Duration, Duration)> {
        loop {
            if self.catch_up() && self.count(s, since) >= n {
                let times = self.status.values().filter(|(st, at)| *st == s && *at >= since).map(|(_, at)| *at - since);
                let (first, last) = times.fold((Duration::MAX, Duration::ZERO), |(f, l), t| (f.min(t), l.max(t)));
                return Some((first, last));
            }
            if since.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for one target to turn `s` since `since`.
    fn wait_one(&mut self, t: &Target, s: Status, since: Instant, limit: Duration) -> Option<Duration> {
        loop {
            let _ = self.catch_up();
            if let Some((st, at)) = self.status.get(t)
                && *st == s
                && *at >= since
            {
                return Some(*at - since);
            }
            if since.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn cpu() -> Duration {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let d = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    d(u.ru_utime) + d(u.ru_stime)
}

fn probes(engine: &Engine) -> u64 {
    engine.stats().values().map(|s| s.probes).sum()
}

/// Runs `cmd` with `sh -c`, `arg` as `$1`; a failure ends the benchmark.
fn sh(cmd: &str, arg: &str) {
    let ok = std::process::Command::new("sh").args(["-c", cmd, "sh", arg]).status().is_ok_and(|s| s.success());
    if !ok {
        eprintln!("health_scale: `{cmd}` failed");
        std::process::exit(1);
    }
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("none".into(), |d| d.as_millis().to_string())
}

fn main() {
    let a = args();
    let set = targets(&a.manifest, &a.node);
    let n = set.len();
    let limit = Duration::from_secs(a.limit);
    let log: Log = Arc::default();
    let sink = log.clone();
    let engine = Engine::start(Arc::new(move |r| sink.lock().unwrap().push((Instant::now(), r)))).unwrap();
    let mut watch = Watch { log, seen: 0, status: HashMap::new() };
    let middle = set[n / 2].0.clone();
    let start = Instant::now();
    engine.set(set);
    let fill = watch.wait(Status::Up, n, start, limit).map(|(_, last)| last);
    println!("LBC fill n={n} all_up_ms={} up={}", ms(fill), watch.count(Status::Up, start));
    steady(&engine, &a, n);
    // Overloaded: the steady figures say by how much; the transitions would only time out.
    if fill.is_none() {
        return;
    }
    if let Some(kill) = &a.kill_one {
        let addr = middle.address.to_string();
        let t = Instant::now();
        sh(kill, &addr);
        let down = watch.wait_one(&middle, Status::Down, t, limit);
        let others_down = watch.count(Status::Down, t).saturating_sub(usize::from(down.is_some()));
        let up = a.revive_one.as_ref().and_then(|revive| {
            let t = Instant::now();
            sh(revive, &addr);
            watch.wait_one(&middle, Status::Up, t, limit)
        });
        println!(
            "LBC one-dead n={n} target={middle} detect_ms={} others_down={others_down} back_up_ms={}",
            ms(down),
            ms(up)
        );
    }
    for (name, cmd) in &a.fail_all {
        let (t, cpu0) = (Instant::now(), cpu());
        sh(cmd, "");
        let down = watch.wait(Status::Down, n, t, limit);
        let (took, cpu_ms) = (t.elapsed(), (cpu() - cpu0).as_millis());
        let downs = watch.count(Status::Down, t);
        let up = a.revive_all.as_ref().and_then(|revive| {
            let t = Instant::now();
            sh(revive, "");
            watch.wait(Status::Up, n, t, limit).map(|(_, last)| last)
        });
        println!(
            "LBC all-fail:{name} n={n} first_down_ms={} all_down_ms={} down={downs} cpu_ms={cpu_ms} cores={:.2} \
             all_up_again_ms={}",
            ms(down.map(|d| d.0)),
            ms(down.map(|d| d.1)),
            cpu_ms as f64 / 1000.0 / took.as_secs_f64(),
            ms(up)
        );
    }
}

/// CPU per check over the window, after the warm-up.
fn steady(engine: &Engine, a: &Args, n: usize) {
    std::thread::sleep(Duration::from_secs(a.warmup));
    if let Some(mark) = &a.mark {
        sh(mark, "start");
    }
    let probes0 = probes(engine);
    let (t, cpu0) = (Instant::now(), cpu());
    std::thread::sleep(Duration::from_secs(a.window));
    let (secs, cpu_ms) = (t.elapsed().as_secs_f64(), (cpu() - cpu0).as_secs_f64() * 1000.0);
    let checks = probes(engine) - probes0;
    if let Some(mark) = &a.mark {
        sh(mark, "end");
    }
    let down = engine.stats().values().map(|s| s.failures).sum::<u64>();
    println!(
        "LBC steady n={n} window_s={secs:.1} checks={checks} failures_total={down} checks_per_s={:.0} cpu_ms={cpu_ms:.0} \
         cpu_ms_per_1000_checks={:.1} cores={:.2}",
        checks as f64 / secs,
        cpu_ms * 1000.0 / checks.max(1) as f64,
        cpu_ms / 1000.0 / secs
    );
}
