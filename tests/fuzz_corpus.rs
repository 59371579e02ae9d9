//! The fuzz inputs kept in the repository, replayed through the fuzz targets' own bodies
//! (`fuzz/targets.rs`, shared with the libFuzzer binaries) with plain `cargo test`, no
//! instrumentation: every seed of `fuzz/corpus/TARGET/` and every crash ever found,
//! minimized, in `fuzz/regressions/TARGET/`. Each file runs under `catch_unwind`; a panic
//! fails the test and names the file. The seeds of the binary targets (VRRP adverts, IPVS
//! netlink replies) are built here from the codecs; `LBCONVERGE_BLESS=1` writes them into
//! the corpus.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

#[path = "../fuzz/targets.rs"]
mod targets;

use std::collections::BTreeMap;
use std::fs;
use std::net::IpAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use lbconverge::family::Family;
use lbconverge::kernel::linux::ipvs_attrs::{DestAttr, Inet, IpvsAttr, IpvsMessage, Stats, SvcAttr};
use lbconverge::kernel::linux::ipvs_codec::{self, Cmd};
use lbconverge::model::ipvs::{Dest, Forwarding, Persistence, Service, ServiceKey};
use lbconverge::vrrp::packet::{self, Advert, Checksum};
use netlink_packet_generic::ctrl::nlas::{GenlCtrlAttrs, OpAttrs};
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Runs `target` on every file of `dir` (missing: none); returns the number of files and one
/// line per file that panicked: its path and the panic message. Runs on a thread with the
/// 8 MiB stack of a main thread (the CLI's, and the fuzzers'): a test thread has 2 MiB, which
/// the deepest-nested manifests outgrow in an unoptimized build.
fn replay_dir(dir: &Path, target: fn(&[u8])) -> (usize, Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else { return (0, Vec::new()) };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    files.sort();
    let replay = move || {
        let mut failures = Vec::new();
        for file in &files {
            let bytes = fs::read(file).unwrap();
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| target(&bytes))) {
                let msg = payload
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| payload.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)");
                failures.push(format!("{}: {msg}", file.display()));
            }
        }
        (files.len(), failures)
    };
    std::thread::Builder::new().stack_size(8 << 20).spawn(replay).unwrap().join().unwrap()
}

/// Replays `fuzz/KIND/TARGET/` for every target.
fn replay_all(kind: &str) -> (usize, Vec<String>) {
    let mut total = 0;
    let mut failures = Vec::new();
    for (name, target) in targets::TARGETS {
        let (n, f) = replay_dir(&fuzz_dir().join(kind).join(name), target);
        total += n;
        failures.extend(f);
    }
    (total, failures)
}

#[test]
fn every_corpus_file_runs_without_a_panic() {
    let (n, failures) = replay_all("corpus");
    assert!(failures.is_empty(), "{} of {n} corpus inputs panicked:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(n, files_in("corpus"), "every corpus file was replayed");
    assert!(n >= 50, "only {n} corpus files: the corpus is gone?");
    for (name, _) in targets::TARGETS {
        let dir = fuzz_dir().join("corpus").join(name);
        assert!(fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some()), "{} has no seeds", dir.display());
    }
}

#[test]
fn every_crash_found_so_far_is_fixed() {
    let (n, failures) = replay_all("regressions");
    assert!(failures.is_empty(), "{} of {n} regression inputs panicked:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(
        n,
        files_in("regressions"),
        "every regression file was replayed (a target's folder without its target?)"
    );
    assert!(n >= 1, "no regression inputs: fuzz/regressions is gone?");
}

/// The files under `fuzz/KIND/` in folders (one per target), counted independently of the
/// replay: a folder whose target went missing shows as a difference.
fn files_in(kind: &str) -> usize {
    let Ok(dirs) = fs::read_dir(fuzz_dir().join(kind)) else { return 0 };
    dirs.map(|d| d.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|d| fs::read_dir(d).unwrap().filter(|f| f.as_ref().unwrap().path().is_file()).count())
        .sum()
}

/// The replay can fail: an input that panics is caught and named, and the others still run.
#[test]
fn a_panicking_input_is_caught_and_named() {
    let dir = std::env::temp_dir().join(format!("lbconverge-fuzz-replay-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("fine"), b"ok").unwrap();
    fs::write(dir.join("boom"), b"\xff").unwrap();
    let (n, failures) = replay_dir(&dir, |data| assert!(data != b"\xff", "this input crashes"));
    fs::remove_dir_all(&dir).unwrap();
    assert_eq!(n, 2);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("boom") && failures[0].ends_with("this input crashes"), "{failures:?}");
}

/// The seeds made from the codecs go through their targets, decode where they should (so
/// they really seed the deep paths), and are in the corpus (`LBCONVERGE_BLESS=1` writes them).
#[test]
fn generated_seeds_decode_and_are_in_the_corpus() {
    let bless = lbconverge::testkit::blessing();
    let mut stale = Vec::new();
    for (target, seeds) in generated_seeds() {
        let run = targets::TARGETS.iter().find(|(n, _)| *n == target).unwrap().1;
        for (name, bytes) in seeds {
            run(&bytes);
            let path = fuzz_dir().join("corpus").join(target).join(format!("seed-{name}"));
            if bless {
                fs::write(&path, &bytes).unwrap();
            } else if fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(stale.is_empty(), "seeds missing or changed (LBCONVERGE_BLESS=1 rewrites them):\n{}", stale.join("\n"));
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// Seeds by target, each named.
fn generated_seeds() -> BTreeMap<&'static str, Vec<(String, Vec<u8>)>> {
    BTreeMap::from([
        ("vrrp", vrrp_seeds()),
        ("ipvs_netlink", ipvs_seeds()),
        ("http_response", http_seeds()),
        ("dns_answer", dns_seeds()),
    ])
}

// Flag bits of an `http_response` input's first byte (see `targets::http_response`).
const WANT_BODY: u8 = 1;
const CLOSE: u8 = 2;

/// Responses as servers send them, each read in pieces of a few sizes: every kind of body
/// framing, interim answers, bodies the check passes (`hello`), what is not HTTP, and each
/// bound just passed. Each seed that should parse whole does.
fn http_seeds() -> Vec<(String, Vec<u8>)> {
    use lbconverge::health::http::Reader;
    let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    let responses: [(&str, u8, String, bool); 12] = [
        ("length", WANT_BODY, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello".into(), true),
        ("head-only", 0, "HTTP/1.0 503 Service Unavailable\r\nContent-Length: 5\r\n\r\nbusy!".into(), true),
        ("chunked", WANT_BODY, format!("{chunked}2\r\nhe\r\n3;x=\"y\"\r\nllo\r\n0\r\nTrailer: t\r\n\r\n"), true),
        ("until-close", WANT_BODY | CLOSE, "HTTP/1.0 200 OK\nConnection: close\n\nhello".into(), true),
        (
            "interim",
            WANT_BODY,
            "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n".into(),
            true,
        ),
        ("not-http", 0, "SSH-2.0-OpenSSH_9.2p1\r\n".into(), false),
        ("escapes", 0, "\x1b[2J\x1b]0;owned\x07HTTP/1.1 200 OK\r\n\r\n".into(), false),
        ("bad-length", WANT_BODY, "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n".into(), false),
        ("body-over", WANT_BODY, format!("{chunked}100001\r\n"), false),
        ("many-headers", 0, format!("HTTP/1.1 200 OK\r\n{}\r\n", "X: y\r\n".repeat(101)), false),
        ("long-chunk-line", WANT_BODY, format!("{chunked}1;{}\r\n", "e".repeat(1030)), false),
        ("cut-short", WANT_BODY | CLOSE, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhel".into(), false),
    ];
    let mut out = Vec::new();
    for (name, flags, text, parses) in responses {
        let mut r = Reader::new(flags & WANT_BODY != 0);
        let done =
            r.feed(text.as_bytes()).and_then(|d| if !d && flags & CLOSE != 0 { r.eof().map(|()| true) } else { Ok(d) });
        assert_eq!(done.is_ok(), parses, "seed {name}: {done:?}");
        for step in [1u8, 7, 255] {
            out.push((format!("{name}-{step}"), [&[flags, step - 1][..], text.as_bytes()].concat()));
        }
    }
    out
}

/// Answers to the queries of the `dns_answer` target: right ones (the question echoed, in
/// another case too, with a record), refusals, and wrong ones (bare header, other question,
/// other id, a query sent back, a compressed question).
fn dns_seeds() -> Vec<(String, Vec<u8>)> {
    use lbconverge::health::{Outcome, dns};
    let (id, qtype, name) = (0x5a17u16, 1u16, "ok.test.");
    let head = [&id.to_be_bytes()[..], &qtype.to_be_bytes(), &[1]].concat();
    let query = dns::query(id, name, qtype);
    let answer = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut a = query.clone();
        a[2] |= 0x80;
        a[3] = 0x80;
        f(&mut a);
        a
    };
    let record = [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1];
    let answers: [(&str, Vec<u8>, Option<Outcome>); 8] = [
        ("noerror", answer(&|_| {}), Some(Outcome::PASS)),
        (
            "noerror-record-upper",
            answer(&|a| {
                a[12..].make_ascii_uppercase();
                a[7] = 1;
                a.extend_from_slice(&record);
            }),
            Some(Outcome::PASS),
        ),
        ("nxdomain", answer(&|a| a[3] = 0x83), Some(Outcome::Fail("DNS answer NXDOMAIN".into()))),
        (
            "bare-header",
            answer(&|a| {
                a.truncate(12);
                a[5] = 0;
            }),
            None,
        ),
        ("other-question", answer(&|a| a[13] = b'k'), None),
        ("other-id", answer(&|a| a[0] ^= 0xff), None),
        ("query-echoed", query.clone(), None),
        (
            "compressed-question",
            answer(&|a| {
                a.truncate(12);
                a.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
            }),
            None,
        ),
    ];
    let mut out = Vec::new();
    for (seed, bytes, want) in answers {
        if let Some(want) = want {
            assert_eq!(dns::judge(&query, &bytes), Ok(want), "seed {seed}");
        }
        out.push((seed.to_string(), [&head[..], &bytes].concat()));
    }
    out
}

// Flag bits of a `vrrp` input's first byte (see `targets::vrrp`).
const V3: u8 = 1;
const V6: u8 = 2;
const PASS: u8 = 4;
const UNICAST: u8 = 8;

/// A `vrrp` input: the context header, then the payload.
fn vrrp_input(flags: u8, vrid: u8, seconds: u8, pass: &str, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![flags, vrid, seconds];
    b.extend_from_slice(&packet::password(pass));
    b.extend_from_slice(payload);
    b
}

/// keepalived 2.2.7's adverts (from the captures behind src/vrrp/packet.rs's tests) whose
/// addresses match the fuzz target's, and adverts of every kind the encoder makes.
fn vrrp_seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = vec![
        (
            "keepalived-v2-pass".into(),
            vrrp_input(PASS, 51, 1, "vl-secr", &hex("21339601 0101c1fc 0a580032 766c2d7365637200")),
        ),
        (
            "keepalived-v2-prio0".into(),
            vrrp_input(PASS, 51, 1, "vl-secr", &hex("21330001 010157fd 0a580032 766c2d7365637200")),
        ),
        ("keepalived-v3".into(), vrrp_input(V3, 51, 1, "", &hex("31339601 006442eb 0a580032"))),
        ("keepalived-v3-unicast".into(), vrrp_input(V3 | UNICAST, 51, 1, "", &hex("31339601 0064189a 0a580032"))),
        (
            "keepalived-v3-ipv6".into(),
            vrrp_input(
                V3 | V6,
                52,
                1,
                "",
                &hex("31349602 00643df2 fe800000000000000000000000000052 fd880000000000000000000000000050"),
            ),
        ),
    ];
    let advert = |version, interval_cs, addresses: Vec<IpAddr>, auth: Option<&str>, checksum| Advert {
        version,
        vrid: 7,
        priority: 100,
        interval_cs,
        addresses,
        auth: auth.map(|p| packet::Auth::Pass(packet::password(p))),
        checksum,
    };
    let v4 = vec![ip("192.0.2.1"), ip("192.0.2.2")];
    let many: Vec<IpAddr> = (1..=20).map(|i| ip(&format!("198.51.100.{i}"))).collect();
    let v6 = vec![ip("2001:db8::1"), ip("fe80::1")];
    let cases = [
        ("v2-none", 0, advert(2, 300, v4.clone(), None, Checksum::Standard)),
        ("v2-pass-many", PASS, advert(2, 100, many.clone(), Some("secret"), Checksum::Standard)),
        ("v3-many", V3, advert(3, 4095, many, None, Checksum::Standard)),
        ("v3-message-only", V3, advert(3, 100, v4.clone(), None, Checksum::MessageOnly)),
        ("v3-unicast-old", V3 | UNICAST, advert(3, 100, v4.clone(), None, Checksum::MulticastPseudoHeader)),
        ("v3-no-address", V3, advert(3, 1, Vec::new(), None, Checksum::Standard)),
        ("v3-ipv6", V3 | V6, advert(3, 100, v6.clone(), None, Checksum::Standard)),
        ("v3-ipv6-unicast", V3 | V6 | UNICAST, advert(3, 25, v6, None, Checksum::Standard)),
    ];
    for (name, flags, a) in cases {
        let head: [u8; targets::VRRP_HEADER] =
            vrrp_input(flags, a.vrid, (a.interval_cs / 100) as u8, "secret", &[]).try_into().unwrap();
        let (src, dst, ttl, expect) = targets::vrrp_context(&head);
        let bytes = packet::encode(&a, src, dst).unwrap();
        assert_eq!(packet::decode(&bytes, src, dst, ttl, &expect), Ok(a.clone()), "seed {name}");
        out.push((name.into(), [&head[..], &bytes].concat()));
    }
    out
}

/// A netlink message: header (length, type, flags, sequence, port id) and payload.
fn nlmsg(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&(16 + payload.len() as u32).to_ne_bytes());
    b.extend_from_slice(&kind.to_ne_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    b.extend_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes());
    b.extend_from_slice(payload);
    b.resize((b.len() + 3) & !3, 0);
    b
}

const IPVS_FAMILY: u16 = 0x1b;
const F_MULTI: u16 = 0x2;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;

/// IPVS replies as the kernel sends them (NEW_SERVICE and NEW_DEST messages of a dump, with
/// the counters and statistics the requests lack), the controller's family reply, acks and
/// errors, one per datagram or several.
fn ipvs_seeds() -> Vec<(String, Vec<u8>)> {
    let svc = |key: &str, scheduler: &str, persistence: Option<Persistence>, sched_flags, one_packet| Service {
        key: key.parse::<ServiceKey>().unwrap(),
        scheduler: scheduler.into(),
        sched_flags,
        persistence,
        one_packet,
        dests: BTreeMap::new(),
        traffic: Default::default(),
    };
    let services = [
        (
            "tcp-v4-persistent",
            svc("tcp 192.0.2.10:80", "wrr", Some(Persistence { timeout: 300, granularity: 24 }), 0, false),
        ),
        ("udp-v6", svc("udp [2001:db8::10]:53", "sh", None, 0x18, true)),
        ("sctp-v4", svc("sctp 192.0.2.11:9", "mh", None, 0x8, false)),
        ("fwmark-v4", svc("fwmark 7", "wlc", Some(Persistence { timeout: 60, granularity: 32 }), 0, false)),
        ("fwmark-v6", svc("fwmark 9 ipv6", "rr", Some(Persistence { timeout: 60, granularity: 64 }), 0, false)),
    ];
    let dest = |addr: &str, forwarding, weight| Dest {
        address: ip(addr),
        port: 8080,
        forwarding,
        weight,
        upper_threshold: 100,
        lower_threshold: 10,
        stats: None,
    };
    let dests = [
        ("dr-v4", ServiceKey::Fwmark { family: Family::Ipv4, mark: 7 }, dest("192.0.2.21", Forwarding::Dr, 5)),
        ("nat-v4", "tcp 192.0.2.10:80".parse().unwrap(), dest("10.0.0.21", Forwarding::Nat, 1)),
        ("tun-v6", "udp [2001:db8::10]:53".parse().unwrap(), dest("2001:db8::21", Forwarding::Tun, 0)),
        ("local-v4", "tcp 192.0.2.10:80".parse().unwrap(), dest("127.0.0.1", Forwarding::Local, 2)),
    ];
    let mut out = Vec::new();
    let mut dump = Vec::new();
    for (name, s) in &services {
        let payload = ipvs_codec::service_msg(Cmd::NewService, s);
        out.push((format!("service-{name}"), nlmsg(IPVS_FAMILY, F_MULTI, 1, &payload)));
        dump.extend(nlmsg(IPVS_FAMILY, F_MULTI, 1, &payload));
    }
    dump.extend(nlmsg(NLMSG_DONE, F_MULTI, 1, &0i32.to_ne_bytes()));
    out.push(("service-dump".into(), dump));
    for (name, key, d) in &dests {
        let payload = ipvs_codec::dest_msg(Cmd::NewDest, key, d);
        out.push((format!("dest-{name}"), nlmsg(IPVS_FAMILY, F_MULTI, 2, &payload)));
    }
    // What a 6.1 kernel adds: HASHED in the flags, statistics nests, connection counters.
    let stats = Stats(std::array::from_fn(|i| i as u64 + 1));
    let v4 = |b: [u8; 4]| Inet { octets: [b[0], b[1], b[2], b[3], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], len: 16 };
    let service = IpvsMessage {
        cmd: Cmd::NewService,
        attrs: vec![IpvsAttr::Service(vec![
            SvcAttr::Af(2),
            SvcAttr::Protocol(6),
            SvcAttr::Addr(v4([192, 0, 2, 10])),
            SvcAttr::Port(443),
            SvcAttr::SchedName("wlc".into()),
            SvcAttr::Flags(0x3, u32::MAX),
            SvcAttr::Timeout(300),
            SvcAttr::Netmask(u32::from_ne_bytes([255, 255, 255, 0])),
            SvcAttr::Stats(stats),
            SvcAttr::Stats64(stats),
            SvcAttr::PeName("sip".into()),
        ])],
    };
    out.push(("kernel-service".into(), nlmsg(IPVS_FAMILY, F_MULTI, 3, &ipvs_codec::genl_payload(service))));
    let dest = IpvsMessage {
        cmd: Cmd::NewDest,
        attrs: vec![IpvsAttr::Dest(vec![
            DestAttr::Addr(v4([10, 0, 0, 21])),
            DestAttr::Port(443),
            DestAttr::FwdMethod(3),
            DestAttr::Weight(7),
            DestAttr::UThresh(0),
            DestAttr::LThresh(0),
            DestAttr::ActiveConns(12),
            DestAttr::InactConns(34),
            DestAttr::PersistConns(5),
            DestAttr::Stats(stats),
            DestAttr::Stats64(stats),
            DestAttr::AddrFamily(2),
            DestAttr::TunType(0),
            DestAttr::TunPort(0),
            DestAttr::TunFlags(0),
        ])],
    };
    out.push(("kernel-dest".into(), nlmsg(IPVS_FAMILY, F_MULTI, 4, &ipvs_codec::genl_payload(dest))));
    // The generic netlink controller's answer to CTRL_CMD_GETFAMILY "IPVS".
    let ops = (1..=8).map(|cmd| vec![OpAttrs::Id(cmd), OpAttrs::Flags(0xe)]).collect();
    let ctrl = GenlCtrl {
        cmd: GenlCtrlCmd::NewFamily,
        nlas: vec![
            GenlCtrlAttrs::FamilyName("IPVS".into()),
            GenlCtrlAttrs::FamilyId(IPVS_FAMILY),
            GenlCtrlAttrs::Version(1),
            GenlCtrlAttrs::HdrSize(0),
            GenlCtrlAttrs::MaxAttr(10),
            GenlCtrlAttrs::Ops(ops),
        ],
    };
    out.push(("ctrl-family".into(), nlmsg(0x10, 0, 5, &ipvs_codec::genl_payload(ctrl))));
    assert_ipvs_seeds_decode(&out, &services, &dests);
    // An ack (errno 0) and an error (EEXIST) echoing a capped request header.
    let echoed = nlmsg(IPVS_FAMILY, 0x405, 6, &[]);
    for (name, errno) in [("ack", 0i32), ("error-eexist", -17)] {
        let payload = [&errno.to_ne_bytes()[..], &echoed].concat();
        out.push((name.into(), nlmsg(NLMSG_ERROR, 0x100, 6, &payload)));
    }
    out
}

/// Every IPVS seed is a netlink message that decodes to what it was made from, so that it
/// seeds the parsers' deep paths rather than their first error.
fn assert_ipvs_seeds_decode(
    seeds: &[(String, Vec<u8>)],
    services: &[(&str, Service)],
    dests: &[(&str, ServiceKey, Dest)],
) {
    let payloads = |name: &str| -> Vec<Vec<u8>> {
        let (_, bytes) = seeds.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no seed {name}"));
        let msgs = lbconverge::kernel::linux::nl::split(bytes).unwrap_or_else(|e| panic!("seed {name}: {e}"));
        msgs.into_iter().map(|m| m.payload).collect()
    };
    for (name, s) in services {
        let got = ipvs_codec::parse_service(&payloads(&format!("service-{name}"))[0]);
        assert_eq!(got.ok().as_ref(), Some(s), "seed service-{name}");
    }
    assert_eq!(payloads("service-dump").len(), services.len() + 1, "the dump: every service, then DONE");
    for (name, key, d) in dests {
        // A request carries no counters; the parser reads absent ones as zero.
        let got = ipvs_codec::parse_dest(&payloads(&format!("dest-{name}"))[0], key.family());
        assert_eq!(got.ok().map(|g| Dest { stats: None, ..g }).as_ref(), Some(d), "seed dest-{name}");
    }
    let kernel = ipvs_codec::parse_service(&payloads("kernel-service")[0]).expect("seed kernel-service");
    assert_eq!(kernel.key.to_string(), "tcp 192.0.2.10:443");
    let d = ipvs_codec::parse_dest(&payloads("kernel-dest")[0], Family::Ipv4).expect("seed kernel-dest");
    assert_eq!((d.weight, d.stats.map(|s| s.active)), (7, Some(12)), "seed kernel-dest");
    assert_eq!(ipvs_codec::parse_family_id(&payloads("ctrl-family")[0]).ok(), Some(IPVS_FAMILY), "seed ctrl-family");
}
