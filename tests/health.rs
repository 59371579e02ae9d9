//! Health checks against real servers in network namespaces (root), through the
//! `lbconverge check` CLI run inside the lab's client namespace: every check type up and
//! down, a slow server (timeout), a wrong status, a wrong digest, a chunked body with a
//! regex, a certificate from an unknown CA, one from the configured CA, no verification, DNS
//! NOERROR and NXDOMAIN, UDP replies that fit or not, silence with and without a reply
//! required, a closed UDP port (ICMP port unreachable), ping of a host and of no one,
//! scripts that pass, fail, set a weight and hang; HTTP requests with a method, a body and
//! headers against python3's http.server (a POST-only path, one that needs headers, a HEAD
//! whose announced body never comes, OPTIONS), basic authentication against busybox httpd
//! (a password from a file and from the environment, a wrong one, none), and TCP exchanges
//! with a line protocol (a reply that matches, one that does not, a server that answers and
//! closes, one that closes at once, a silent one, a banner). No password appears in the
//! output or the log.
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
    // HTTP requests (python3's http.server on 8081, busybox httpd with basic auth on 8082).
    (
        "post",
        "n1",
        "{type: http, port: 8081, path: /post, method: POST, body: ping, headers: {Content-Type: text/plain}}",
        "up",
        "",
    ),
    ("post-as-get", "n1", "{type: http, port: 8081, path: /post}", "down", "status 405, want 200-299"),
    (
        "post-other-body",
        "n1",
        "{type: http, port: 8081, path: /post, method: POST, body: pong, headers: {Content-Type: text/plain}}",
        "down",
        "status 400, want 200-299",
    ),
    (
        "headers",
        "n1",
        "{type: http, port: 8081, path: /headers, headers: {X-Probe: \"yes\", Accept: application/json}}",
        "up",
        "",
    ),
    (
        "headers-missing",
        "n1",
        "{type: http, port: 8081, path: /headers, headers: {X-Probe: \"no\"}}",
        "down",
        "status 403, want 200-299",
    ),
    ("head-no-body-wait", "n1", "{type: http, port: 8081, path: /head, method: HEAD}", "up", ""),
    ("options", "n1", "{type: http, port: 8081, path: /opts, method: OPTIONS, expect_status: [204]}", "up", ""),
    ("auth-file", "n1", "{type: http, port: 8082, path: /secret/, auth: {user: ops, password_file: PWOK}}", "up", ""),
    (
        "auth-env",
        "n1",
        "{type: http, port: 8082, path: /secret/, auth: {user: ops, password_env: LBCCHK_PW}}",
        "up",
        "",
    ),
    (
        "auth-wrong",
        "n1",
        "{type: http, port: 8082, path: /secret/, auth: {user: ops, password_file: PWBAD}}",
        "down",
        "status 401, want 200-299",
    ),
    ("auth-none", "n1", "{type: http, port: 8082, path: /secret/}", "down", "status 401, want 200-299"),
    // TCP exchanges (python3 on 6380-6383).
    ("tcp-pong", "n1", r#"{type: tcp, port: 6380, send: "PING\r\n", expect: "^\\+PONG\r\n"}"#, "up", ""),
    ("tcp-pong-hex", "n1", r#"{type: tcp, port: 6380, send_hex: "50494e47 0d0a", expect: "PONG"}"#, "up", ""),
    (
        "tcp-mismatch",
        "n1",
        r#"{type: tcp, port: 6380, send: "HELLO\r\n", expect: "^\\+PONG"}"#,
        "down",
        r"timeout after 1s: reply `-ERR unknown\r\n` does not match /^\+PONG/",
    ),
    (
        "tcp-server-closes",
        "n1",
        r#"{type: tcp, port: 6380, send: "QUIT\r\n", expect: "^\\+PONG"}"#,
        "down",
        r"reply `+BYE\r\n` does not match /^\+PONG/; connection closed",
    ),
    ("tcp-closed-at-once", "n1", "{type: tcp, port: 6381, expect: OK}", "down", "connection closed before a reply"),
    ("tcp-silent", "n1", "{type: tcp, port: 6382, expect: OK}", "down", "timeout after 1s: no reply"),
    ("tcp-banner", "n1", r#"{type: tcp, port: 6383, expect: "^SSH-2\\.0-"}"#, "up", ""),
    ("tcp-send-only", "n1", r#"{type: tcp, port: 6380, send: "QUIT\r\n"}"#, "up", ""),
];

fn manifest(ca: &str, password_ok: &str, password_bad: &str) -> String {
    let mut m = String::from(
        "version: 1\nnodes:\n  lb: {roles: [director], addresses: [10.88.0.100/24], interface: eth0}\n\
         defaults:\n  forwarding: nat\n  health_check: {timeout: 1s}\nservices:\n",
    );
    for (i, (name, node, check, _, _)) in CASES.iter().enumerate() {
        let addr = node_v4(usize::from(node.as_bytes()[1] - b'1'));
        let check = check.replace("CA", ca).replace("PWOK", password_ok).replace("PWBAD", password_bad);
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
    let _python = Spawned::python(&lab, "n1");
    let _httpd = Spawned::busybox_httpd(&lab, "n1");
    let listens = |port| backends::reachable(&lab.ns(CLIENT), SocketAddr::new(node_v4(0), port));
    for port in [8081, 8082, 6380] {
        let started = std::time::Instant::now();
        while !listens(port) {
            assert!(started.elapsed() < std::time::Duration::from_secs(5), "nothing listens on {port}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    let ca = lab.dir().join("ca.pem");
    std::fs::write(&ca, &servers.ca_pem).unwrap();
    let secret = |name: &str, text: &str| {
        let p = lab.dir().join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        p.display().to_string()
    };
    let (ok, bad) = (secret("ok.pass", "s3cret\n"), secret("bad.pass", "guess\n"));
    let file = lab.dir().join("health.yaml");
    std::fs::write(&file, manifest(&ca.display().to_string(), &ok, &bad)).unwrap();
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &lab.ns(CLIENT), &lbconverge_bin(), "check"])
        .arg(&file)
        .args(["--node", "lb", "--format", "json"])
        .env("LBCCHK_PW", "s3cret")
        .output()
        .unwrap();
    for secret in ["s3cret", "guess", "czNjcmV0"] {
        assert!(!String::from_utf8_lossy(&out.stdout).contains(secret), "a password in the output");
        assert!(!String::from_utf8_lossy(&out.stderr).contains(secret), "a password in the log");
    }
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

/// A server process started in a lab namespace; killed (by its PID) on drop.
struct Spawned(std::process::Child);

impl Spawned {
    /// tests/fixtures/servers/request_checks.py on the first node's address, once it says
    /// it is ready.
    fn python(lab: &Lab, ns: &str) -> Spawned {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/servers/request_checks.py");
        let mut child = std::process::Command::new("ip")
            .args(["netns", "exec", &lab.ns(ns), "python3", script, &node_v4(0).to_string()])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        assert_eq!(line, "ready\n");
        Spawned(child)
    }

    /// busybox httpd on port 8082, `/secret/` behind basic auth for `ops` / `s3cret`.
    fn busybox_httpd(lab: &Lab, ns: &str) -> Spawned {
        let root = lab.dir().join("www");
        std::fs::create_dir_all(root.join("secret")).unwrap();
        std::fs::write(root.join("secret/index.html"), "ok\n").unwrap();
        let conf = lab.dir().join("httpd.conf");
        std::fs::write(&conf, "/secret:ops:s3cret\n").unwrap();
        let child = std::process::Command::new("ip")
            .args(["netns", "exec", &lab.ns(ns), "busybox", "httpd", "-f", "-p"])
            .arg(format!("{}:8082", node_v4(0)))
            .arg("-h")
            .arg(&root)
            .arg("-c")
            .arg(&conf)
            .spawn()
            .unwrap();
        Spawned(child)
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
