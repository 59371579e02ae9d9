//! Hostile and broken backends against the probe engine, through `lbconverge check` on
//! loopback (no root needed): servers that drip a body in one-byte chunks, never end a
//! chunk-size line or a header, or put terminal escapes where the status line should be, a
//! DNS server that answers with a bare header, TCP replies to a `tcp` check's `expect` that
//! never match (one byte per write, or a flood), and script checks whose children ignore
//! SIGTERM or outlive their leader. Each case is bounded in time and in the CPU the
//! `check` process spends (its rusage, from `wait4`), and a well-behaved check run beside
//! the hostile ones is not held up by them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A loopback server; it stops on drop.
struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A TCP server on 127.0.0.1 that hands every connection, its request read, to `answer`
/// on a thread of its own.
fn http_server(answer: fn(&mut TcpStream)) -> Server {
    tcp_server(answer, true)
}

/// A TCP server on 127.0.0.1 that hands every connection to `answer` on a thread of its
/// own, after reading an HTTP request from it when `request`.
fn tcp_server(answer: fn(&mut TcpStream), request: bool) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::spawn(move || {
        while !flag.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((mut s, _)) => {
                    std::thread::spawn(move || {
                        s.set_nonblocking(false).unwrap();
                        s.set_nodelay(true).unwrap();
                        s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
                        if !request || read_request(&mut s) {
                            answer(&mut s);
                        }
                    });
                }
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    });
    Server { port, stop, thread: Some(thread) }
}

fn read_request(s: &mut TcpStream) -> bool {
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    true
}

/// Writes `piece` again and again until `total` bytes went out or the client left.
fn repeat(s: &mut TcpStream, piece: &[u8], total: usize) {
    let buf = piece.repeat((64 * 1024 / piece.len()).max(1));
    let mut sent = 0;
    while sent < total {
        if s.write_all(&buf).is_err() {
            return;
        }
        sent += buf.len();
    }
}

/// 200, chunked, a body of 1 MiB - 1 in one-byte chunks, each chunk its own write.
fn one_byte_chunks(s: &mut TcpStream) {
    if s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").is_err() {
        return;
    }
    for _ in 0..(1024 * 1024 - 1) {
        if s.write_all(b"1\r\nx\r\n").is_err() {
            return;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n");
}

/// 200, chunked, then a chunk-size line that never ends (64 MiB of zeros).
fn endless_chunk_size(s: &mut TcpStream) {
    if s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1").is_ok() {
        repeat(s, b"0", 64 << 20);
    }
}

/// 200, chunked, then a chunk extension that never ends.
fn endless_chunk_extension(s: &mut TcpStream) {
    if s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;name=").is_ok() {
        repeat(s, b"v", 64 << 20);
    }
}

/// A status line, then a header line that never ends, one byte per write: the reader's line
/// bound (8 KiB) or its read bound (4096 reads) ends it, whichever the scheduling reaches first.
fn endless_header(s: &mut TcpStream) {
    if s.write_all(b"HTTP/1.1 200 OK\r\nX-Pad: ").is_err() {
        return;
    }
    for _ in 0..(64 << 20) {
        if s.write_all(b"a").is_err() {
            return;
        }
    }
}

/// Headers without end: a million short header lines.
fn endless_headers(s: &mut TcpStream) {
    if s.write_all(b"HTTP/1.1 200 OK\r\n").is_ok() {
        repeat(s, b"X: y\r\n", 64 << 20);
    }
}

/// Terminal escape sequences where the status line should be.
fn escapes(s: &mut TcpStream) {
    let _ = s.write_all(b"\x1b[2J\x1b]0;owned\x07\x1b[31mHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
}

/// A reply that never matches, one byte per write, 200 us apart.
fn drip(s: &mut TcpStream) {
    for _ in 0..100_000 {
        if s.write_all(b"x").is_err() {
            return;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// A reply that never matches and never ends, as fast as it goes.
fn flood(s: &mut TcpStream) {
    repeat(s, b"no match here ", 64 << 20);
}

/// 200 `ok\n`, 300 ms late: a well-behaved check that waits while the hostile ones run.
fn late_ok(s: &mut TcpStream) {
    std::thread::sleep(Duration::from_millis(300));
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
}

/// A UDP DNS server on 127.0.0.1: `answer` makes the reply to a query (None: no reply);
/// the ids of the queries it got are kept.
fn dns_server(answer: fn(&[u8]) -> Option<Vec<u8>>) -> (Server, Arc<Mutex<Vec<u16>>>) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let port = sock.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let ids = Arc::new(Mutex::new(Vec::new()));
    let (flag, seen) = (stop.clone(), ids.clone());
    let thread = std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while !flag.load(Ordering::SeqCst) {
            let Ok((n, from)) = sock.recv_from(&mut buf) else { continue };
            if n >= 12 {
                seen.lock().unwrap().push(u16::from_be_bytes([buf[0], buf[1]]));
            }
            if let Some(reply) = answer(&buf[..n]) {
                let _ = sock.send_to(&reply, from);
            }
        }
    });
    (Server { port, stop, thread: Some(thread) }, ids)
}

/// The query's header alone, as a response: QR set, NOERROR, QDCOUNT 0.
fn bare_header(q: &[u8]) -> Option<Vec<u8>> {
    let mut a = q.get(..12)?.to_vec();
    a[2] |= 0x80;
    a[3] = 0x80;
    a[4..12].fill(0);
    Some(a)
}

/// The query echoed as a NOERROR response (question included, no records).
fn proper(q: &[u8]) -> Option<Vec<u8>> {
    let mut a = q.to_vec();
    *a.get_mut(2)? |= 0x80;
    a[3] = 0x80;
    Some(a)
}

/// One service per check, all on the backend 127.0.0.1; `checks` are (service, check).
fn manifest(checks: &[(&str, String)], timeout: &str) -> String {
    let mut m = format!(
        "version: 1\nnodes:\n  lb: {{roles: [director], addresses: [127.0.0.1/8], interface: lo}}\n\
         defaults:\n  forwarding: nat\n  health_check: {{timeout: {timeout}}}\nservices:\n"
    );
    for (i, (name, check)) in checks.iter().enumerate() {
        m.push_str(&format!(
            "  {name}:\n    vip: 127.0.0.200\n    port: {}\n    directors: [lb]\n    backends:\n      \
             b: {{address: 127.0.0.1, port: 80, health_check: {check}}}\n",
            1000 + i
        ));
    }
    m
}

/// What one `lbconverge check` run printed and cost.
struct Run {
    stdout: Vec<u8>,
    stderr: String,
    code: i32,
    wall: Duration,
    cpu: Duration,
}

impl Run {
    /// The JSON rows by service: (result, reason, latency in ms).
    fn rows(&self) -> BTreeMap<String, (String, String, f64)> {
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", String::from_utf8_lossy(&self.stdout), self.stderr));
        rows.iter()
            .map(|r| {
                let s = |k: &str| r[k].as_str().unwrap().to_string();
                (s("service"), (s("result"), s("reason"), r["latency_ms"].as_f64().unwrap()))
            })
            .collect()
    }
}

fn tmp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lbc-hostile-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `lbconverge check` on `manifest`; its CPU time (user + system) comes from `wait4`,
/// which also reaps it (hence no `Child::wait`).
#[allow(clippy::zombie_processes)]
fn check(name: &str, manifest: &str, format: &str) -> Run {
    let dir = tmp_dir(name);
    let (file, out) = (dir.join("m.yaml"), dir.join("stdout"));
    std::fs::write(&file, manifest).unwrap();
    let started = Instant::now();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_lbconverge"))
        .arg("check")
        .arg(&file)
        .args(["--node", "lb", "--format", format])
        .env("NO_COLOR", "1")
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(dir.join("stderr")).unwrap())
        .spawn()
        .unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid out-parameter.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; status and usage are valid for the call.
    let r = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    let wall = started.elapsed();
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    let run = Run {
        stdout: std::fs::read(&out).unwrap(),
        stderr: std::fs::read_to_string(dir.join("stderr")).unwrap(),
        code: if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 },
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
    };
    let _ = std::fs::remove_dir_all(dir);
    run
}

fn http_check(port: u16, extra: &str) -> String {
    format!("{{type: http, port: {port}, path: /{extra}}}")
}

#[test]
fn hostile_http_servers_cost_bounded_time_and_cpu_and_delay_no_other_check() {
    let servers = [
        ("one-byte-chunks", http_server(one_byte_chunks)),
        ("endless-chunk-size", http_server(endless_chunk_size)),
        ("endless-chunk-extension", http_server(endless_chunk_extension)),
        ("endless-header", http_server(endless_header)),
        ("endless-headers", http_server(endless_headers)),
    ];
    let good = http_server(late_ok);
    // The body is wanted (a regex), so the chunked bodies are read.
    let mut checks: Vec<(&str, String)> =
        servers.iter().map(|(name, s)| (*name, http_check(s.port, ", body_regex: \"^x\""))).collect();
    checks.push(("well-behaved", http_check(good.port, "")));
    let run = check("http", &manifest(&checks, "3s"), "json");
    let rows = run.rows();
    eprintln!("wall {:?}, cpu {:?}: {rows:#?}", run.wall, run.cpu);
    assert_eq!(rows["well-behaved"].0, "up", "{rows:?}");
    assert!(rows["well-behaved"].2 < 700.0, "the well-behaved check waited for the hostile ones: {rows:?}");
    for (name, _) in &servers {
        let (result, reason, latency) = &rows[*name];
        assert_eq!(result, "down", "{name}: {rows:?}");
        assert!(!reason.starts_with("timeout"), "{name} ran into its timeout: {reason}");
        assert!(*latency < 3000.0, "{name} took {latency} ms");
    }
    assert!(rows["endless-chunk-size"].1.contains("chunk-size line"), "{rows:?}");
    assert!(rows["endless-chunk-extension"].1.contains("chunk-size line"), "{rows:?}");
    // One byte per write: whether 8 KiB of line or 4096 reads come first depends on how the
    // kernel coalesces the writes (CI saw both); either bound ends it.
    let header = &rows["endless-header"].1;
    assert!(header.contains("header line") || header.contains("4096 reads"), "{rows:?}");
    assert!(rows["endless-headers"].1.contains("header lines"), "{rows:?}");
    assert!(run.wall < Duration::from_secs(3), "the check run took {:?}", run.wall);
    assert!(run.cpu < Duration::from_millis(300), "the check run spent {:?} of CPU", run.cpu);
}

#[test]
fn a_tcp_reply_that_never_matches_is_bounded_in_reads_and_bytes() {
    let (drips, floods) = (tcp_server(drip, false), tcp_server(flood, false));
    let expect = |port: u16| format!("{{type: tcp, port: {port}, send: \"PING\\r\\n\", expect: \"^OK\"}}");
    let checks = [("drip", expect(drips.port)), ("flood", expect(floods.port))];
    let run = check("tcp-expect", &manifest(&checks, "3s"), "json");
    let rows = run.rows();
    eprintln!("wall {:?}, cpu {:?}: {rows:#?}", run.wall, run.cpu);
    let want = [("drip", "` does not match /^OK/ in 256 reads"), ("flood", "` does not match /^OK/ in 4 KiB")];
    for (name, end) in want {
        let (result, reason, latency) = &rows[name];
        assert_eq!(result, "down", "{name}: {rows:?}");
        assert!(reason.starts_with("reply `") && reason.ends_with(end), "{name}: {reason}");
        assert!(*latency < 1000.0, "{name} took {latency} ms");
    }
    assert!(run.cpu < Duration::from_millis(300), "the check run spent {:?} of CPU", run.cpu);
}

#[test]
fn a_status_line_of_terminal_escapes_is_printed_escaped() {
    let server = http_server(escapes);
    let run = check("escapes", &manifest(&[("web", http_check(server.port, ""))], "2s"), "text");
    let text = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.code, 1, "{text}{}", run.stderr);
    assert!(
        !run.stdout.iter().any(|b| *b == 0x1b || *b == 0x07),
        "raw control characters reach the terminal: {text:?}"
    );
    assert!(text.contains(r"not an HTTP response: `\x1b[2J\x1b]0;owned\x07\x1b[31mHTTP/1.1"), "{text}");
}

#[test]
fn a_dns_answer_without_the_question_fails_with_the_reason() {
    let (server, _) = dns_server(bare_header);
    let check_yaml = format!("{{type: dns, port: {}, query_name: ok.test, query_type: A}}", server.port);
    let run = check("dns-bare", &manifest(&[("dns", check_yaml)], "2s"), "json");
    let rows = run.rows();
    let (result, reason, _) = &rows["dns"];
    assert_eq!(result, "down", "{rows:?}");
    assert!(reason.contains("question"), "{reason}");
}

/// The answer to another query: the id turned around.
fn other_id(q: &[u8]) -> Option<Vec<u8>> {
    let mut a = proper(q)?;
    a[0] ^= 0xff;
    Some(a)
}

#[test]
fn a_dns_answer_with_another_id_is_ignored_and_the_timeout_says_so() {
    let (server, _) = dns_server(other_id);
    let check_yaml = format!("{{type: dns, port: {}, query_name: ok.test, query_type: A}}", server.port);
    let run = check("dns-other-id", &manifest(&[("dns", check_yaml)], "1s"), "json");
    let rows = run.rows();
    let (result, reason, _) = &rows["dns"];
    assert_eq!(result, "down", "{rows:?}");
    assert!(reason.starts_with("timeout after 1s; ignored 1 datagram, the last an answer with id 0x"), "{reason}");
}

#[test]
fn dns_queries_use_unpredictable_ids() {
    let (server, ids) = dns_server(proper);
    let checks: Vec<(String, String)> = (0..8)
        .map(|i| {
            let c = format!("{{type: dns, port: {}, query_name: q{i}.test, query_type: A}}", server.port);
            (format!("dns{i}"), c)
        })
        .collect();
    let checks: Vec<(&str, String)> = checks.iter().map(|(n, c)| (n.as_str(), c.clone())).collect();
    let run = check("dns-ids", &manifest(&checks, "2s"), "json");
    assert!(run.rows().values().all(|r| r.0 == "up"), "{:?}", run.rows());
    let mut ids = ids.lock().unwrap().clone();
    assert_eq!(ids.len(), 8, "{ids:?}");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 8, "two queries with one id: {ids:?}");
    let consecutive = ids.windows(2).all(|w| w[1] == w[0] + 1);
    assert!(!consecutive, "the ids count up: {ids:?}");
}

/// Waits up to a second for the marked processes to go; kills any left (so that a failure
/// leaves nothing behind) and returns their pids.
fn left_behind(marker: &str) -> Vec<i32> {
    let t = Instant::now();
    let mut left = lbconverge::testkit::pids_with(marker);
    while !left.is_empty() && t.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(20));
        left = lbconverge::testkit::pids_with(marker);
    }
    for pid in &left {
        // SAFETY: kill has no memory preconditions; these are the test's own leftovers.
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    left
}

/// A sleep whose command line names this test run: `sleep 61.<pid><n>`.
fn marked_sleep(n: u32) -> String {
    format!("61.{}{n}", std::process::id())
}

#[test]
fn script_checks_leave_no_process_behind() {
    let (hang, bg) = (marked_sleep(1), marked_sleep(2));
    // Ignores SIGTERM (and so do its children), runs into the 1 s timeout.
    let stubborn = format!("trap '' TERM; sleep {hang} & sleep {hang}");
    // Exits at once, leaving a child in the background.
    let quick = format!("sleep {bg} & exit 0");
    let script = |s: &str| format!("{{type: script, command: [/bin/sh, -c, \"{s}\"]}}");
    let checks = [("stubborn", script(&stubborn)), ("quick", script(&quick))];
    let run = check("scripts", &manifest(&checks, "1s"), "json");
    let rows = run.rows();
    assert_eq!(rows["stubborn"].0, "down", "{rows:?}");
    assert_eq!(rows["quick"].0, "up", "{rows:?}");
    let left: Vec<i32> = [&hang, &bg].iter().flat_map(|m| left_behind(m)).collect();
    assert!(left.is_empty(), "processes left behind: {left:?} ({rows:?})");
    assert!(run.wall < Duration::from_secs(5), "{:?}", run.wall);
}

#[test]
fn a_track_script_leaves_no_process_behind_after_its_timeout() {
    let marker = marked_sleep(3);
    let argv: Vec<String> =
        ["/bin/sh", "-c", &format!("trap '' TERM; sleep {marker} & sleep {marker}")].map(String::from).to_vec();
    let t = Instant::now();
    assert!(!lbconverge::daemon::tracker::run_script(&argv, Duration::from_millis(300)));
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    let left = left_behind(&marker);
    assert!(left.is_empty(), "processes left behind: {left:?}");
}
