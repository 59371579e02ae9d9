//! What a check costs the probe engine: CPU time of the engine's threads per 1,000 TCP and
//! HTTP checks against a server on loopback (in a thread of this process, not counted).
//! A measurement, not a test (12 s a protocol), so a bench target: `cargo bench --bench
//! engine_cpu [tcp|http]`; each case prints
//! `cpu_ms_per_1000`, the probes run and those that took over 250 ms. BENCHMARKS.md records the numbers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lbconverge::health::engine::Engine;
use lbconverge::health::{Status, Target};
use lbconverge::model::cluster::{Check, CheckKind, HttpCheck};

/// Checks per second: 1,000 targets, each once a second (`ENGINE_CPU_TARGETS` sets another
/// number).
fn target_count() -> u32 {
    std::env::var("ENGINE_CPU_TARGETS").ok().and_then(|n| n.parse().ok()).unwrap_or(1000)
}
/// How long the measurement runs after a warm-up interval.
const RUN: Duration = Duration::from_secs(10);

/// CPU time (user + system) of this process's threads whose name starts with `health`.
fn engine_cpu() -> Duration {
    let tick = 1_000_000_000 / u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap();
    let mut ns = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = task.unwrap().path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else { continue };
        if !comm.starts_with("health") {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else { continue };
        let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
        // After the name: state is field 3; utime and stime are fields 14 and 15.
        let (utime, stime): (u64, u64) = (fields[11].parse().unwrap(), fields[12].parse().unwrap());
        ns += (utime + stime) * tick;
    }
    Duration::from_nanos(ns)
}

/// A server on loopback that accepts connections one after another; with `http`, it reads
/// each request's head and answers 200 with an empty body.
fn server(http: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { continue };
            if !http {
                continue;
            }
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    port
}

/// [`target_count`] distinct targets with the same probe: they differ only in `retry_delay`,
/// which a passing check never uses.
fn targets(port: u16, kind: &CheckKind) -> Vec<(Target, Status)> {
    (0..target_count())
        .map(|i| {
            let check = Check {
                kind: kind.clone(),
                port,
                interval: Duration::from_secs(1),
                timeout: Duration::from_secs(1),
                retries: 0,
                retry_delay: Duration::from_millis(1000 + u64::from(i)),
                rise: 1,
                fall: 1,
                via_ipvs: false,
            };
            (Target { address: "127.0.0.1".parse().unwrap(), check, via: None }, Status::Unknown)
        })
        .collect()
}

fn measure(name: &str, kind: CheckKind, http: bool) {
    let port = server(http);
    let engine = Engine::start(Arc::new(|_| {})).unwrap();
    engine.set(targets(port, &kind));
    std::thread::sleep(Duration::from_secs(2));
    let totals = |e: &Engine| {
        let s = e.stats();
        let probes: u64 = s.values().map(|s| s.probes).sum();
        let failures: u64 = s.values().map(|s| s.failures).sum();
        let slow: u64 = s.values().map(|s| s.counts[8..].iter().sum::<u64>()).sum();
        (probes, failures, slow)
    };
    let (p0, f0, s0) = totals(&engine);
    let (cpu0, t0) = (engine_cpu(), Instant::now());
    std::thread::sleep(RUN);
    let (cpu, wall) = (engine_cpu() - cpu0, t0.elapsed());
    let (p1, f1, s1) = totals(&engine);
    let probes = p1 - p0;
    let per_1000 = cpu.as_secs_f64() * 1000.0 * 1000.0 / probes as f64;
    println!(
        "{name}: probes={probes} in {:.1}s ({:.0}/s) failures={} over_250ms={} cpu_ms={} cpu_ms_per_1000={per_1000:.1}",
        wall.as_secs_f64(),
        probes as f64 / wall.as_secs_f64(),
        f1 - f0,
        s1 - s0,
        cpu.as_millis(),
    );
    assert!(probes > 0);
}

fn main() {
    let only = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    if only.as_deref().is_none_or(|o| o == "tcp") {
        tcp_checks_cpu_per_thousand();
    }
    if only.as_deref().is_none_or(|o| o == "http") {
        http_checks_cpu_per_thousand();
    }
}

fn tcp_checks_cpu_per_thousand() {
    measure("tcp", CheckKind::Tcp(Default::default()), false);
}

fn http_checks_cpu_per_thousand() {
    let http = HttpCheck {
        method: "GET".into(),
        path: "/health".into(),
        host: None,
        headers: Vec::new(),
        body: None,
        auth: None,
        expect_status: vec![(200, 299)],
        digest: None,
        body_regex: None,
    };
    measure("http", CheckKind::Http { http: Box::new(http), tls: None }, true);
}
