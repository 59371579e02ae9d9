//! Health checks against real servers in network namespaces (root), through the
//! `lbconverge check` CLI run inside the lab's client namespace: every check type up and
//! down, a slow server (timeout), a wrong status, a wrong digest, a chunked body with a
//! regex, a certificate from an unknown CA, one from the configured CA, no verification, DNS
//! NOERROR and NXDOMAIN, UDP replies that fit or not, silence with and without a reply
//! required, a closed UDP port (ICMP port unreachable), ping of a host and of no one,
//! scripts that pass, fail, set a weight and hang.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use common::backends;
use common::lab::vrrp::lbconverge_bin;
use common::lab::{CLIENT, Lab, node_v4};

/// One service per case, so that every backend can have its own check on the same servers.
const CASES: &[(&str, &str, &str, &str, &str)] = &[
    // name, node, check, result, reason
    ("tcp-up", "n1", "{type: tcp, port: 8080}", "up", ""),
    ("tcp-down", "n2", "{type: tcp, port: 8080}", "down", "connect refused"),
    ("http-ok", "n1", "{type: http, port: 8080, path: /health}", "up", ""),
    ("http-503", "n1", "{type: http, port: 8080, path: /busy}", "down", "status 503, want 200-299"),
    ("http-404-wanted", "n1", "{type: http, port: 8080, path: /x, expect_status: [\"400-404\"]}", "up", ""),
    ("http-slow", "n1", "{type: http, port: 8080, path: /slow}", "down", "timeout after 1s"),
    (
        "http-digest",
        "n1",
        "{type: http, port: 8080, path: /health, digest: eff5bc1ef8ec9d03e640fc4370f5eacd}",
        "up",
        "",
    ),
    (
        "http-digest-bad",
        "n1",
        "{type: http, port: 8080, path: /busy, digest: eff5bc1ef8ec9d03e640fc4370f5eacd}",
        "down",
        "status 503, want 200-299",
    ),
    (
        "http-digest-wrong",
        "n1",
        "{type: http, port: 8080, path: /health, digest: \"00000000000000000000000000000000\"}",
        "down",
        "body digest eff5bc1ef8ec9d03e640fc4370f5eacd, want 00000000000000000000000000000000",
    ),
    ("http-chunked", "n1", "{type: http, port: 8080, path: /chunked, body_regex: \"^ok\"}", "up", ""),
    ("https-ca", "n1", "{type: https, port: 8443, path: /health, ca_file: CA}", "up", ""),
    (
        "https-unknown-ca",
        "n1",
        "{type: https, port: 9443, path: /health, ca_file: CA}",
        "down",
        "TLS: certificate: UnknownIssuer",
    ),
    ("https-system-ca", "n1", "{type: https, port: 8443, path: /health}", "down", "TLS: certificate: UnknownIssuer"),
    ("https-no-verify", "n1", "{type: https, port: 9443, path: /health, tls_verify: false}", "up", ""),
    ("https-plain-server", "n1", "{type: https, port: 8080, tls_verify: false}", "down", "timeout after 1s"),
    ("dns-ok", "n1", "{type: dns, port: 5353, query_name: ok.test, query_type: A}", "up", ""),
    ("dns-nx", "n1", "{type: dns, port: 5353, query_name: no.test}", "down", "DNS answer NXDOMAIN"),
    ("udp-echo", "n1", "{type: udp, port: 5400, payload: \"6c 6263\", expect_reply: \"3c 31 3e 6c\"}", "up", ""),
    (
        "udp-echo-length",
        "n1",
        "{type: udp, port: 5400, require_reply: true, max_reply_length: 5}",
        "down",
        "reply of 11 bytes, want 0 to 5",
    ),
    (
        "udp-echo-wrong",
        "n1",
        "{type: udp, port: 5400, payload: 6c, expect_reply: 3c32}",
        "down",
        "reply `<1>l` differs at byte 1",
    ),
    ("udp-silent", "n1", "{type: udp, port: 5401}", "up", ""),
    ("udp-silent-reply", "n1", "{type: udp, port: 5401, require_reply: true}", "down", "no reply within 1s"),
    ("udp-closed", "n2", "{type: udp, port: 5401}", "down", "port unreachable"),
    ("ping-up", "n1", "{type: ping}", "up", ""),
    ("ping-nobody", "n3", "{type: ping}", "down", "no echo reply within 1s"),
    ("script-up", "n1", "{type: script, command: [/bin/sh, -c, \"test $0 = 10.88.0.11\", \"{address}\"]}", "up", ""),
    (
        "script-down",
        "n2",
        "{type: script, command: [/bin/sh, -c, \"test $0 = 10.88.0.11\", \"{address}\"]}",
        "down",
        "exit 1",
    ),
    ("script-dynamic", "n1", "{type: script, dynamic: true, command: [/bin/sh, -c, \"exit 7\"]}", "up", "weight 5"),
    ("script-hangs", "n1", "{type: script, command: [/bin/sh, -c, \"sleep 5\"]}", "down", "timeout after 1s"),
];

fn manifest(ca: &str) -> String {
    let mut m = String::from(
        "version: 1\nnodes:\n  lb: {roles: [director], addresses: [10.88.0.100/24], interface: eth0}\n\
         defaults:\n  forwarding: nat\n  health_check: {timeout: 1s}\nservices:\n",
    );
    for (i, (name, node, check, _, _)) in CASES.iter().enumerate() {
        let addr = node_v4(usize::from(node.as_bytes()[1] - b'1'));
        let check = check.replace("CA", ca);
        m.push_str(&format!(
            "  {name}:\n    vip: 10.88.0.200\n    port: {}\n    directors: [lb]\n    backends:\n      b: {{address: {addr}, port: 80, health_check: {check}}}\n",
            1000 + i
        ));
    }
    m
}

#[test]
#[ignore = "needs root: network namespaces"]
fn every_check_type_against_real_servers() {
    let lab = Lab::new(2);
    let servers = backends::start(&lab.ns("n1"), node_v4(0));
    assert!(backends::reachable(&lab.ns(CLIENT), SocketAddr::new(node_v4(0), 8080)));
    let ca = lab.dir().join("ca.pem");
    std::fs::write(&ca, &servers.ca_pem).unwrap();
    let file = lab.dir().join("health.yaml");
    std::fs::write(&file, manifest(&ca.display().to_string())).unwrap();
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &lab.ns(CLIENT), &lbconverge_bin(), "check"])
        .arg(&file)
        .args(["--node", "lb", "--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "some checks fail: {stderr}");
    assert!(!out.stdout.is_empty(), "no output: {stderr}");
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let got: BTreeMap<String, (String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["service"].as_str().unwrap().to_string(),
                (r["result"].as_str().unwrap().into(), r["reason"].as_str().unwrap().into()),
            )
        })
        .collect();
    let mut wrong = Vec::new();
    for (name, _, _, result, reason) in CASES {
        let want = (result.to_string(), reason.to_string());
        if got.get(*name) != Some(&want) {
            wrong.push(format!("{name}: got {:?}, want {want:?}", got.get(*name)));
        }
    }
    assert!(wrong.is_empty(), "{} of {} checks wrong:\n{}", wrong.len(), CASES.len(), wrong.join("\n"));
    let slowest = rows.iter().filter_map(|r| r["latency_ms"].as_f64()).fold(0.0, f64::max);
    assert!(slowest < 3500.0, "the checks ran one after another? slowest {slowest} ms");
}
