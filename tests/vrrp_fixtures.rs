//! The VRRP codec and state machine against real keepalived 2.2.7 traffic: the vrrp-lab
//! captures in `tests/fixtures/vrrp/` (see its README). For every VRRP packet in every capture:
//! it decodes with what the keepalived config behind the capture expects, and re-encodes to
//! the same bytes. Then every truncation and single-bit flip is dropped without a panic, and
//! the backup's state machine, fed the master's adverts at their capture times, predicts when
//! keepalived's backup took over.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

use std::collections::BTreeSet;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use lbconverge::family::Family;
use lbconverge::vrrp::fsm::{Action, Config, Fsm, Input, State};
use lbconverge::vrrp::packet::{self, Advert, Checksum, DropReason, Expect};

/// Each capture with the number of VRRP packets in it (as `check_fixtures.py` counts them).
const CAPTURES: [(&str, usize); 9] = [
    ("vrrp-v2-pass-auth", 11),
    ("vrrp-v2-prio0-shutdown", 8),
    ("vrrp-v2-unicast", 11),
    ("vrrp-v2-vmac", 8),
    ("vrrp-v3-ipv4", 11),
    ("vrrp-v3-ipv4-fast", 13),
    ("vrrp-v3-ipv6", 11),
    ("vrrp-v3-ipv6-prio0", 8),
    ("vrrp-v3-unicast", 6),
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vrrp")
}

// ---------------------------------------------------------------- pcap -> VRRP payloads

/// One VRRP packet as the receiving socket sees it.
#[derive(Debug, Clone)]
struct Captured {
    at: Duration,
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    payload: Vec<u8>,
}

fn u16_be(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_be_bytes([b[at], b[at + 1]]))
}

/// The records of a classic libpcap file (either byte order, micro- or nanosecond stamps).
fn pcap_records(file: &[u8]) -> Vec<(Duration, &[u8])> {
    let magic: [u8; 4] = file[..4].try_into().unwrap();
    let (le, nanos) = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => (true, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (true, true),
        [0xa1, 0xb2, 0xc3, 0xd4] => (false, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => (false, true),
        m => panic!("not a classic pcap file: magic {m:02x?}"),
    };
    let word = |at: usize| {
        let w: [u8; 4] = file[at..at + 4].try_into().unwrap();
        if le { u32::from_le_bytes(w) } else { u32::from_be_bytes(w) }
    };
    assert_eq!(word(20), 1, "link type must be Ethernet");
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= file.len() {
        let (sec, frac, incl) = (word(at), word(at + 4), word(at + 8) as usize);
        let frac = if nanos { Duration::from_nanos(u64::from(frac)) } else { Duration::from_micros(u64::from(frac)) };
        out.push((Duration::from_secs(u64::from(sec)) + frac, &file[at + 16..at + 16 + incl]));
        at += 16 + incl;
    }
    assert_eq!(at, file.len(), "trailing bytes in the pcap file");
    out
}

/// Ethernet (optionally 802.1Q-tagged) -> IPv4/IPv6 -> the VRRP payload, if it is VRRP.
fn vrrp_of(at: Duration, frame: &[u8]) -> Option<Captured> {
    let mut off = 12;
    let mut ethertype = u16_be(frame, off);
    if ethertype == 0x8100 {
        off += 4;
        ethertype = u16_be(frame, off);
    }
    let ip = &frame[off + 2..];
    match ethertype {
        0x0800 => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let fragmented = u16_be(ip, 6) & 0x3fff != 0;
            if ip[9] != packet::PROTOCOL || fragmented {
                return None;
            }
            let src = IpAddr::from(<[u8; 4]>::try_from(&ip[12..16]).unwrap());
            let dst = IpAddr::from(<[u8; 4]>::try_from(&ip[16..20]).unwrap());
            // The total length, not the frame: short frames carry Ethernet padding.
            let payload = ip[ihl..u16_be(ip, 2)].to_vec();
            Some(Captured { at, src, dst, ttl: ip[8], payload })
        }
        0x86dd => {
            if ip[6] != packet::PROTOCOL {
                return None;
            }
            let src = IpAddr::from(<[u8; 16]>::try_from(&ip[8..24]).unwrap());
            let dst = IpAddr::from(<[u8; 16]>::try_from(&ip[24..40]).unwrap());
            let payload = ip[40..40 + u16_be(ip, 4)].to_vec();
            Some(Captured { at, src, dst, ttl: ip[7], payload })
        }
        _ => None,
    }
}

fn captured(name: &str) -> Vec<Captured> {
    let file = fs::read(dir().join(format!("{name}.pcap"))).unwrap();
    pcap_records(&file).into_iter().filter_map(|(at, frame)| vrrp_of(at, frame)).collect()
}

// ---------------------------------------------------------------- keepalived config -> Expect

/// The few keepalived settings the tests need, read from the config behind a capture.
#[derive(Debug)]
struct Keepalived {
    version: u8,
    vrid: u8,
    priority: u8,
    advert_cs: u16,
    auth_pass: Option<String>,
    vips: Vec<IpAddr>,
}

fn keepalived(name: &str, node: &str) -> Keepalived {
    let text = fs::read_to_string(dir().join(format!("configs/{name}/{node}.conf"))).unwrap();
    let mut k = Keepalived { version: 2, vrid: 0, priority: 100, advert_cs: 100, auth_pass: None, vips: Vec::new() };
    let mut in_vips = false;
    for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[..] {
            ["}"] => in_vips = false,
            [vip] if in_vips => k.vips.push(vip.split('/').next().unwrap().parse().unwrap()),
            ["virtual_ipaddress", "{"] => in_vips = true,
            ["vrrp_version", v] => k.version = v.parse().unwrap(),
            ["virtual_router_id", v] => k.vrid = v.parse().unwrap(),
            ["priority", v] => k.priority = v.parse().unwrap(),
            ["advert_int", v] => k.advert_cs = (v.parse::<f64>().unwrap() * 100.0).round() as u16,
            ["auth_pass", v] => k.auth_pass = Some(v.to_string()),
            _ => {}
        }
    }
    assert!(k.vrid > 0 && !k.vips.is_empty(), "{name}/{node}: {k:?}");
    k
}

fn expect(k: &Keepalived) -> Expect {
    Expect {
        version: k.version,
        vrid: k.vrid,
        family: Family::of(&k.vips[0]),
        auth: k.auth_pass.as_deref().map(|p| packet::Auth::Pass(packet::password(p))),
        interval_cs: k.advert_cs,
    }
}

/// The lab nodes' addresses (vrrp-lab README topology): IPv4 and link-local IPv6.
fn node_addrs(node: &str) -> [IpAddr; 2] {
    let (v4, v6) = if node == "n1" { (11, 0x11) } else { (12, 0x12) };
    [IpAddr::V4(Ipv4Addr::new(10, 88, 0, v4)), IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0x88, 0xff, 0xfe00, v6))]
}

// ---------------------------------------------------------------- tests

#[test]
fn every_fixture_packet_decodes_and_re_encodes_byte_for_byte() {
    let mut total = 0;
    for (name, count) in CAPTURES {
        let k1 = keepalived(name, "n1");
        let k2 = keepalived(name, "n2");
        let e = expect(&k1);
        assert_eq!(e, expect(&k2), "{name}: both nodes expect the same");
        let packets = captured(name);
        assert_eq!(packets.len(), count, "{name}: VRRP packets found");
        for (i, p) in packets.iter().enumerate() {
            let a = packet::decode(&p.payload, p.src, p.dst, p.ttl, &e)
                .unwrap_or_else(|r| panic!("{name} #{i}: dropped: {r}"));
            let again = packet::encode(&a, p.src, p.dst).unwrap();
            assert_eq!(again, p.payload, "{name} #{i}: re-encoded {a:?}");
            assert_eq!(a.checksum, Checksum::Standard, "{name} #{i}");
            assert_eq!(a.addresses, k1.vips, "{name} #{i}: the configured VIPs, in order");
            assert_eq!(a.interval_cs, k1.advert_cs, "{name} #{i}");
            // Who sent it: n1 at its priority (or 0 when stopping), n2 at its own.
            let sender = if node_addrs("n1").contains(&p.src) { &k1 } else { &k2 };
            assert!(
                node_addrs("n1").contains(&p.src) || node_addrs("n2").contains(&p.src),
                "{name} #{i}: from {}",
                p.src
            );
            assert!(a.priority == sender.priority || a.priority == 0, "{name} #{i}: priority {}", a.priority);
            total += 1;
        }
    }
    assert_eq!(total, 87);
}

#[test]
fn captures_show_what_their_scenario_says() {
    let prio0 = |name: &str| captured(name).iter().filter(|p| p.payload[2] == 0).count();
    assert_eq!(prio0("vrrp-v2-prio0-shutdown"), 1);
    assert_eq!(prio0("vrrp-v2-vmac"), 1);
    assert_eq!(prio0("vrrp-v3-ipv6-prio0"), 1);
    assert_eq!(prio0("vrrp-v2-pass-auth"), 0, "SIGKILL sends nothing");
    for name in ["vrrp-v2-unicast", "vrrp-v3-unicast"] {
        assert!(captured(name).iter().all(|p| !p.dst.is_multicast()), "{name}: unicast to the peer");
    }
    for name in ["vrrp-v3-ipv6", "vrrp-v3-ipv6-prio0"] {
        for p in captured(name) {
            assert_eq!(p.dst, IpAddr::V6(packet::MULTICAST_V6));
            assert!(matches!(p.src, IpAddr::V6(s) if s.segments()[0] == 0xfe80), "link-local source");
        }
    }
    for (name, _) in CAPTURES {
        assert!(captured(name).iter().all(|p| p.ttl == packet::TTL), "{name}");
    }
}

#[test]
fn fixture_packets_are_dropped_for_the_right_reasons() {
    let name = "vrrp-v2-pass-auth";
    let p = &captured(name)[0];
    let e = expect(&keepalived(name, "n1"));
    let decode = |e: &Expect| packet::decode(&p.payload, p.src, p.dst, p.ttl, e);
    assert_eq!(packet::decode(&p.payload, p.src, p.dst, 64, &e), Err(DropReason::TtlNot255));
    assert_eq!(decode(&Expect { vrid: 52, ..e.clone() }), Err(DropReason::WrongVrid));
    let wrong = Some(packet::Auth::Pass(packet::password("wrong")));
    assert_eq!(decode(&Expect { auth: wrong, ..e.clone() }), Err(DropReason::AuthMismatch));
    assert_eq!(decode(&Expect { auth: None, ..e.clone() }), Err(DropReason::AuthTypeMismatch));
    assert_eq!(decode(&Expect { interval_cs: 200, ..e.clone() }), Err(DropReason::IntervalMismatch));
    assert_eq!(decode(&Expect { version: 3, ..e.clone() }), Err(DropReason::VersionMismatch));
    let v3 = &captured("vrrp-v3-unicast")[0];
    let e3 = expect(&keepalived("vrrp-v3-unicast", "n1"));
    // The v3 checksum covers the destination: the same bytes sent to another peer fail.
    let elsewhere = IpAddr::V4(Ipv4Addr::new(10, 88, 0, 13));
    assert_eq!(packet::decode(&v3.payload, v3.src, elsewhere, 255, &e3), Err(DropReason::BadChecksum));
}

/// Every truncation and single-bit flip of every distinct fixture packet is dropped with a
/// reason; a one's complement checksum catches every single-bit error.
#[test]
fn truncated_or_flipped_fixture_packets_are_dropped_without_panic() {
    let mut seen = BTreeSet::new();
    let mut mutants = 0;
    for (name, _) in CAPTURES {
        let e = expect(&keepalived(name, "n1"));
        for p in captured(name) {
            if !seen.insert((p.src, p.dst, p.payload.clone())) {
                continue;
            }
            for n in 0..p.payload.len() {
                assert!(packet::decode(&p.payload[..n], p.src, p.dst, p.ttl, &e).is_err());
                mutants += 1;
            }
            for bit in 0..p.payload.len() * 8 {
                let mut b = p.payload.clone();
                b[bit / 8] ^= 1 << (bit % 8);
                let r = packet::decode(&b, p.src, p.dst, p.ttl, &e);
                assert!(r.is_err(), "{name}: flip of bit {bit} accepted: {r:?}");
                mutants += 1;
            }
        }
    }
    assert_eq!(seen.len(), 14, "distinct (src, dst, payload) across the captures");
    assert_eq!(
        mutants, 2628,
        "len truncations + 8 x len flips of each distinct packet (5 of 20 bytes, 6 of 12, 3 of 40)"
    );
}

/// n2's state machine, fed n1's adverts at their capture times, takes over when keepalived's
/// n2 did: its first advert comes after the predicted moment, within scheduling noise.
#[test]
fn backup_state_machine_predicts_keepalived_takeover() {
    for (name, _) in CAPTURES {
        let k2 = keepalived(name, "n2");
        let packets = captured(name);
        let n2 = node_addrs("n2");
        let primary = if k2.vips[0].is_ipv6() { n2[1] } else { n2[0] };
        let cfg = Config::new(k2.version, k2.priority, Duration::from_millis(u64::from(k2.advert_cs) * 10), primary);
        let mut fsm = Fsm::new(cfg).unwrap();
        let first = packets[0].at;
        fsm.step(Input::Startup, first - Duration::from_micros(1));
        let e = expect(&k2);
        let mut predicted = None;
        for p in &packets {
            while let Some(d) = fsm.next_deadline().filter(|d| *d <= p.at && predicted.is_none()) {
                let acts = fsm.step(Input::Tick, d);
                if acts.contains(&Action::TakeVips) {
                    predicted = Some(d);
                }
            }
            if n2.contains(&p.src) {
                let taken = predicted.unwrap_or_else(|| {
                    panic!("{name}: keepalived's n2 advertised at {:?}, we are still {}", p.at - first, fsm.state())
                });
                let late =
                    p.at.checked_sub(taken)
                        .unwrap_or_else(|| panic!("{name}: predicted {taken:?} after keepalived's {:?}", p.at));
                assert!(late < Duration::from_millis(10), "{name}: keepalived took over {late:?} after the prediction");
                assert_eq!(fsm.state(), State::Master);
                break;
            }
            let a: Advert = packet::decode(&p.payload, p.src, p.dst, p.ttl, &e).unwrap();
            fsm.step(Input::advert(p.src, &a), p.at);
        }
        assert!(predicted.is_some(), "{name}: n2 never took over");
    }
}
