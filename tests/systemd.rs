//! The systemd unit (`dist/systemd/lbconverge.service`) passes `systemd-analyze verify` with
//! no warning, and `lbconverge run` speaks the notify protocol to a real `NOTIFY_SOCKET`:
//! READY=1 only once the first reconcile has converged the node, WATCHDOG=1 at half of
//! WATCHDOG_USEC, STOPPING=1 on SIGTERM; `lbconverge status` asks it over its control
//! socket, and its Prometheus metrics pass `promtool check metrics`. The second test needs root (a network namespace); without root it is ignored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The unit with `ExecStart` pointing at the binary under test, in `dir`.
fn unit_in(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(common::root().join("dist/systemd/lbconverge.service")).unwrap();
    let text = text.replace("/usr/sbin/lbconverge", env!("CARGO_BIN_EXE_lbconverge"));
    let path = dir.join("lbconverge.service");
    std::fs::write(&path, edit(text)).unwrap();
    path
}

/// `systemd-analyze verify`: exit code and everything it printed.
fn verify(unit: &Path) -> (Option<i32>, String) {
    let out = Command::new("systemd-analyze").arg("verify").arg(unit).output().expect("run systemd-analyze");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lbc-systemd-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn the_unit_file_verifies_without_a_warning() {
    let found = Command::new("systemd-analyze").arg("--version").output().is_ok_and(|o| o.status.success());
    if common::skip_unless(found, "the_unit_file_verifies_without_a_warning", "no systemd-analyze here") {
        return;
    }
    let dir = scratch("verify");
    let (code, text) = verify(&unit_in(&dir, |t| t));
    assert_eq!((code, text.trim()), (Some(0), ""), "the unit has problems");
    // The check can fail: a misspelt setting is reported (systemd still exits 0 for it).
    let (_, text) = verify(&unit_in(&dir, |t| t.replace("Type=notify", "Type=notifyy")));
    assert!(text.contains("Failed to parse service type"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Kills the daemon if the test fails before it stops it.
struct Reaper(u32);

impl Drop for Reaper {
    fn drop(&mut self) {
        // SAFETY: kill with a PID this test started.
        unsafe { libc::kill(i32::try_from(self.0).unwrap(), libc::SIGKILL) };
    }
}

/// One HTTP GET on the loopback listener; the whole response.
fn scrape(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    write!(c, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    out
}

/// Receives notify messages until `want` (a line) arrives; returns everything received.
fn until(sock: &UnixDatagram, want: &str, limit: Duration) -> Vec<String> {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        sock.set_read_timeout(Some(limit.saturating_sub(started.elapsed()).max(Duration::from_millis(1)))).unwrap();
        let Ok(len) = sock.recv(&mut buf) else { break };
        let msg = String::from_utf8_lossy(&buf[..len]).into_owned();
        let done = msg.lines().any(|l| l == want);
        got.push(msg);
        if done {
            return got;
        }
    }
    panic!("no {want} within {limit:?}; got {got:?}");
}

#[test]
#[ignore = "needs root: network namespaces"]
fn run_tells_systemd_it_is_ready_after_converging_and_pings_the_watchdog() {
    assert!(common::is_root(), "needs root (run tools/test as root)");
    // SAFETY: unshare has no memory-safety preconditions; it moves only this thread.
    assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare");
    let sh = |args: &[&str]| assert!(Command::new(args[0]).args(&args[1..]).status().unwrap().success(), "{args:?}");
    sh(&["ip", "link", "set", "lo", "up"]);
    sh(&["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-p"]);
    sh(&["ip", "link", "set", "eth0", "up"]);
    sh(&["ip", "addr", "add", "172.16.40.21/24", "dev", "eth0"]);
    let dir = scratch("notify");
    let socket = dir.join("notify");
    let listener = UnixDatagram::bind(&socket).unwrap();
    // Real server nginx01 of the DR example: converging it puts the VIP on lo.
    let mut child = Command::new(env!("CARGO_BIN_EXE_lbconverge"))
        .args(["--state-dir", dir.join("state").to_str().unwrap(), "run", "examples/lvs-dr-pair.yaml"])
        .args(["--control", dir.join("run/control.sock").to_str().unwrap()])
        .args(["--metrics", "127.0.0.1:19469"])
        .current_dir(common::root())
        .env("NOTIFY_SOCKET", &socket)
        .env("WATCHDOG_USEC", "400000")
        .env("LBCONVERGE_LOG", "warn")
        .spawn()
        .unwrap();
    let daemon = Reaper(child.id());
    let ready = until(&listener, "READY=1", Duration::from_secs(10));
    let lo = Command::new("ip").args(["-o", "addr", "show", "dev", "lo"]).output().unwrap();
    let lo = String::from_utf8_lossy(&lo.stdout).into_owned();
    assert!(lo.contains("172.16.40.160/32"), "READY came before the node converged: {lo}");
    let last = ready.last().unwrap();
    assert!(last.contains("STATUS=node nginx01: 0 VRRP instances, 0 services; converged"), "{last}");
    // Pings at half the watchdog interval: every gap between two of five is well under the
    // 400 ms after which systemd would kill it.
    until(&listener, "WATCHDOG=1", Duration::from_secs(2));
    let mut gaps = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        until(&listener, "WATCHDOG=1", Duration::from_secs(2));
        gaps.push(t.elapsed());
    }
    let longest = gaps.iter().max().copied().unwrap_or_default();
    assert!(
        longest < Duration::from_millis(330),
        "a ping came {longest:?} after the one before (gaps {gaps:?}); the watchdog is 400 ms, pings are due every 200 ms"
    );
    let control = dir.join("run/control.sock");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&control).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the control socket is root's only");
    let status = common::lbconverge(&["status", "--format", "json", "--control", control.to_str().unwrap()]);
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json["node"], "nginx01");
    assert!(json["manifest"]["sha256"].as_str().unwrap().starts_with("sha256:"), "{json}");
    assert_eq!(json["last_reconcile"]["error"], serde_json::Value::Null, "{json}");
    let text = common::lbconverge(&["status", "--control", control.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.starts_with("Node nginx01, manifest examples/lvs-dr-pair.yaml (sha256:"), "{text}");
    let metrics = scrape("127.0.0.1:19469", "/metrics");
    assert!(metrics.starts_with("HTTP/1.1 200 OK\r\n"), "{metrics}");
    let body = metrics.split_once("\r\n\r\n").unwrap().1.to_string();
    for want in [
        "lbconverge_build_info{version=",
        "lbconverge_manifest_info{path=\"examples/lvs-dr-pair.yaml\",sha256=\"sha256:",
        "lbconverge_reconcile_failed 0",
        "lbconverge_drift_repaired 0",
    ] {
        assert!(body.contains(want), "{want} missing:\n{body}");
    }
    assert!(scrape("127.0.0.1:19469", "/nothing").starts_with("HTTP/1.1 404"));
    let promtool = Command::new("promtool").arg("--version").output().is_ok_and(|o| o.status.success());
    if !common::skip_unless(promtool, "promtool check metrics", "no promtool (Debian's prometheus package)") {
        let mut check = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut check.stdin.take().unwrap(), body.as_bytes()).unwrap();
        let out = check.wait_with_output().unwrap();
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && said.trim().is_empty(), "promtool: {said}\n{body}");
    }
    // SAFETY: kill with a PID we started and still own.
    unsafe { libc::kill(i32::try_from(child.id()).unwrap(), libc::SIGTERM) };
    until(&listener, "STOPPING=1", Duration::from_secs(5));
    assert!(child.wait().unwrap().success());
    std::mem::forget(daemon);
    let gone = common::lbconverge(&["status", "--control", control.to_str().unwrap()]);
    assert_eq!(gone.status.code(), Some(1), "no daemon: exit 1");
    assert!(String::from_utf8_lossy(&gone.stderr).contains("no lbconverge daemon answers on"));
    std::fs::remove_dir_all(&dir).unwrap();
}
