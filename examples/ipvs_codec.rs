//! Times the IPVS codec on the host, without a kernel (issue 12, item 3): encoding the
//! NEW_SERVICE and NEW_DEST requests of 10,000 services x 4 destinations, and parsing a dump
//! of them as a 6.1 kernel sends it (HASHED flags, connection counters, both statistics
//! nests, tunnel settings). Prints the minimum of `RUNS` (default 11) runs of each, in ms.
//!
//! Usage: `cargo run --release --example ipvs_codec [SERVICES]`

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use lbconverge::family::Family;
use lbconverge::kernel::linux::ipvs_codec::{self, Cmd};
use lbconverge::model::ipvs::{Dest, Forwarding, Service, ServiceKey, Traffic};

/// One attribute: length, type, value, padding to 4 (the example's own writer, so that the
/// same input serves any codec).
fn tlv(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = u16::try_from(4 + value.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    out.resize(out.len().next_multiple_of(4), 0);
}

fn nest(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    tlv(out, kind | 0x8000, body);
}

/// A statistics nest: u32 counters and rates with u64 bytes, or every value a u64.
fn stats(wide: bool) -> Vec<u8> {
    let mut s = Vec::new();
    for kind in 1..=10u16 {
        if wide || kind == 4 || kind == 5 {
            tlv(&mut s, kind, &u64::from(kind).to_ne_bytes());
        } else {
            tlv(&mut s, kind, &u32::from(kind).to_ne_bytes());
        }
    }
    s
}

fn service(i: u32) -> Service {
    let addr = std::net::Ipv4Addr::from(0x0a00_0000 + i);
    Service {
        key: format!("tcp {addr}:80").parse().unwrap_or(ServiceKey::Fwmark { family: Family::Ipv4, mark: i + 1 }),
        scheduler: "wrr".into(),
        sched_flags: 0,
        persistence: None,
        one_packet: false,
        dests: BTreeMap::new(),
        traffic: Traffic::default(),
    }
}

fn dest(i: u32, j: u32) -> Dest {
    Dest {
        address: std::net::IpAddr::V4(std::net::Ipv4Addr::from(0xac10_0000 + i * 4 + j)),
        port: 8080,
        forwarding: Forwarding::Dr,
        weight: 1 + j,
        upper_threshold: 0,
        lower_threshold: 0,
        stats: None,
    }
}

/// A NEW_DEST dump part as a 6.1 kernel sends it.
fn dest_reply(d: &Dest) -> Vec<u8> {
    let mut a = Vec::new();
    let std::net::IpAddr::V4(v4) = d.address else { return a };
    let mut addr = [0u8; 16];
    addr[..4].copy_from_slice(&v4.octets());
    tlv(&mut a, 1, &addr);
    tlv(&mut a, 2, &d.port.to_be_bytes());
    for (kind, v) in [(3u16, 3u32), (4, d.weight), (5, 0), (6, 0), (7, 12), (8, 34), (9, 5)] {
        tlv(&mut a, kind, &v.to_ne_bytes());
    }
    nest(&mut a, 10, &stats(false));
    tlv(&mut a, 11, &2u16.to_ne_bytes());
    nest(&mut a, 12, &stats(true));
    tlv(&mut a, 13, &[0]);
    tlv(&mut a, 14, &0u16.to_be_bytes());
    tlv(&mut a, 15, &0u16.to_ne_bytes());
    let mut msg = vec![Cmd::NewDest as u8, 1, 0, 0];
    nest(&mut msg, 2, &a);
    msg
}

/// A NEW_SERVICE dump part as a 6.1 kernel sends it (HASHED in the flags, both nests).
fn service_reply(s: &Service) -> Vec<u8> {
    let mut msg = ipvs_codec::service_msg(Cmd::NewService, s);
    let mut extra = Vec::new();
    nest(&mut extra, 10, &stats(false));
    nest(&mut extra, 12, &stats(true));
    let grown = u16::from_ne_bytes([msg[4], msg[5]]) + u16::try_from(extra.len()).unwrap_or(0);
    msg[4..6].copy_from_slice(&grown.to_ne_bytes());
    msg.extend_from_slice(&extra);
    msg
}

fn min_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let runs: usize = std::env::var("RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(11);
    let services: Vec<Service> = (0..n).map(service).collect();
    let dests: Vec<Vec<Dest>> = (0..n).map(|i| (0..4).map(|j| dest(i, j)).collect()).collect();
    let encode = min_of(runs, || {
        for (s, ds) in services.iter().zip(&dests) {
            black_box(ipvs_codec::service_msg(Cmd::NewService, s));
            for d in ds {
                black_box(ipvs_codec::dest_msg(Cmd::NewDest, &s.key, d));
            }
        }
    });
    let parts: Vec<(Vec<u8>, Vec<Vec<u8>>)> =
        services.iter().zip(&dests).map(|(s, ds)| (service_reply(s), ds.iter().map(dest_reply).collect())).collect();
    let mut bad = 0usize;
    let parse = min_of(runs, || {
        for (s, ds) in &parts {
            bad += usize::from(black_box(ipvs_codec::parse_service(s)).is_err());
            for d in ds {
                bad += usize::from(black_box(ipvs_codec::parse_dest(d, Family::Ipv4)).is_err());
            }
        }
    });
    let msgs = n as usize * 5;
    println!("encode {msgs} requests: {:.1} ms", encode.as_secs_f64() * 1e3);
    println!("parse {msgs} dump parts: {:.1} ms ({bad} failed)", parse.as_secs_f64() * 1e3);
}
