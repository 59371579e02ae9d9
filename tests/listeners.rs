//! The daemon's two listeners under slow, oversized and unwelcome clients, driven through
//! their real functions (`control::listen`, `metrics::listen`) on loopback with a stand-in
//! main loop that answers `Event::Status` at once: a client dripping one byte every 1.5 s
//! (control socket) or 4 s (metrics) is cut off at the request deadline while `status` and
//! `/metrics` keep answering others within 1 s; oversized request lines and headers are
//! refused before authentication; clients beyond the bound are refused at once; `--control`
//! leaves what is not its own alone (a regular file, FIFO, directory or symlink at its path,
//! the mode of an existing directory).
//!
//! As root: a non-root client on a socket opened up to 0666 is told that only root may ask
//! (not that no daemon answers), and in a network namespace a second `lbconverge run` on the
//! same state directory is refused naming the first one's PID, the first one answering on
//! a relative `--control` path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Sender, channel};
use std::thread;
use std::time::{Duration, Instant};

use lbconverge::daemon::Event;
use lbconverge::daemon::control;
use lbconverge::daemon::instance::View;
use lbconverge::daemon::metrics;
use lbconverge::daemon::status::{Applied, BackendStatus, CheckStats, ServiceStatus, Status};

/// A fresh directory of this test.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lbc-listeners-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The status the stand-in main loop answers: an instance, a service, a backend, a check.
fn status() -> Status {
    let check = CheckStats {
        check: "http 10.0.0.21:80/".into(),
        probes: 9,
        failures: 1,
        duration_sum_us: 9000,
        duration_buckets: vec![(1000, 9)],
        restarts: 0,
    };
    let backend = BackendStatus {
        name: "a".into(),
        address: "10.0.0.21:80".into(),
        health: "up".into(),
        weight: 1,
        live_weight: Some(1),
        checks: vec![check],
        ..BackendStatus::default()
    };
    let service = ServiceStatus {
        name: "web".into(),
        key: "tcp 10.0.0.100:80".into(),
        backends: vec![backend],
        ..ServiceStatus::default()
    };
    Status {
        node: "lb1".into(),
        manifest: Applied { path: "m.yaml".into(), sha256: "sha256:ab".into(), ..Applied::default() },
        vrrp: vec![View { name: "VI_1".into(), vrid: 10, state: "MASTER".into(), priority: 150, ..View::default() }],
        services: vec![service],
        announced: Vec::new(),
        last_reconcile: None,
        drift_repaired: 0,
        last_drift: None,
        last_rejected: None,
        probe_restarts: 0,
        damaged_state: Vec::new(),
        drains_unknown: false,
        alerts: Vec::new(),
    }
}

/// A main loop that answers every status request at once (and refuses drains), for as long
/// as the listeners hold its sender.
fn main_loop() -> Sender<Event> {
    let (tx, rx) = channel();
    thread::spawn(move || {
        while let Ok(e) = rx.recv() {
            match e {
                Event::Status(reply) => drop(reply.send(status())),
                Event::Drain(_, reply) => drop(reply.send(Err("no such service".into()))),
                _ => {}
            }
        }
    });
    tx
}

/// Runs `f` on a thread; its result and how long it took, or `None` when it took longer
/// than `limit` (the thread is left to finish on its own).
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> Option<(T, Duration)> {
    let (tx, rx) = channel();
    let started = Instant::now();
    thread::spawn(move || drop(tx.send(f())));
    rx.recv_timeout(limit).ok().map(|v| (v, started.elapsed()))
}

/// Asks `status` every 300 ms for `span`; each answer must come within 1 s. The slowest.
fn status_keeps_answering(socket: &Path, span: Duration) -> Duration {
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    while started.elapsed() < span {
        let path = socket.to_path_buf();
        let Some((answer, took)) = within(Duration::from_secs(1), move || control::ask(&path)) else {
            panic!("status took over 1 s, {:?} into the test", started.elapsed());
        };
        assert_eq!(answer.unwrap().node, "lb1");
        slowest = slowest.max(took);
        thread::sleep(Duration::from_millis(300));
    }
    slowest
}

/// A socket whose reads can time out.
trait Timed: Read + Write + Send + 'static {
    fn read_timeout(&self, t: Duration);
}

impl Timed for UnixStream {
    fn read_timeout(&self, t: Duration) {
        self.set_read_timeout(Some(t)).unwrap();
    }
}

impl Timed for TcpStream {
    fn read_timeout(&self, t: Duration) {
        self.set_read_timeout(Some(t)).unwrap();
    }
}

/// A client that writes `bytes` one at a time, `every` apart, as long as the daemon has
/// not answered; what it read and when the daemon ended the connection (since it
/// connected).
fn drip<S: Timed>(mut conn: S, bytes: &'static [u8], every: Duration) -> thread::JoinHandle<(String, Duration)> {
    thread::spawn(move || {
        let started = Instant::now();
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        'drip: for b in bytes {
            if conn.write_all(&[*b]).is_err() {
                break;
            }
            conn.read_timeout(every);
            loop {
                match conn.read(&mut buf) {
                    Ok(0) => break 'drip,
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                        break;
                    }
                    Err(_) => break 'drip,
                }
            }
        }
        conn.read_timeout(Duration::from_secs(3));
        let _ = conn.read_to_end(&mut out);
        (String::from_utf8_lossy(&out).into_owned(), started.elapsed())
    })
}

/// Opens a control socket in a fresh directory, answered by a stand-in main loop.
fn control_socket(name: &str) -> PathBuf {
    let path = scratch(name).join("run/control.sock");
    control::listen(&path, main_loop()).unwrap();
    path
}

/// Removes the directory [`control_socket`] made (the listener thread keeps its socket).
fn remove_control_socket(path: &Path) {
    std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap()).unwrap();
}

/// One request line and the whole answer on the control socket, with a 3 s limit.
fn control_exchange(path: &Path, request: &[u8]) -> String {
    let mut c = UnixStream::connect(path).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let _ = c.write_all(request);
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_dripping_client_does_not_delay_status_on_the_control_socket() {
    let path = control_socket("drip");
    let drippers: Vec<_> =
        (0..3).map(|_| drip(UnixStream::connect(&path).unwrap(), b"status\n", Duration::from_millis(1500))).collect();
    let slowest = status_keeps_answering(&path, Duration::from_secs(3));
    for d in drippers {
        let (said, ended) = d.join().unwrap();
        assert!(ended < Duration::from_millis(3200), "the dripping client was served for {ended:?}");
        assert!(said.contains("\"error\"") && said.contains("within 2 s"), "{said}");
    }
    eprintln!("control socket: slowest status under 3 dripping clients: {slowest:?}");
    remove_control_socket(&path);
}

#[test]
fn an_oversized_request_line_is_refused_on_the_control_socket() {
    let path = control_socket("oversized");
    let huge: &'static [u8] = Box::leak(vec![b'a'; 100_000].into_boxed_slice());
    let Some((said, took)) = within(Duration::from_secs(2), {
        let path = path.clone();
        move || control_exchange(&path, huge)
    }) else {
        panic!("a 100 kB request line was not answered within 2 s");
    };
    assert!(said.contains("\"error\"") && said.contains("over 8192 bytes"), "{said}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert_eq!(control::ask(&path).unwrap().node, "lb1");
    remove_control_socket(&path);
}

#[test]
fn control_clients_beyond_the_bound_are_refused_at_once() {
    let path = control_socket("bound");
    // Every slot held by a client that never finishes its line.
    let held: Vec<UnixStream> = (0..16)
        .map(|_| {
            let mut c = UnixStream::connect(&path).unwrap();
            c.write_all(b"sta").unwrap();
            c
        })
        .collect();
    thread::sleep(Duration::from_millis(200));
    let Some((said, took)) = within(Duration::from_secs(1), {
        let path = path.clone();
        move || control_exchange(&path, b"status\n")
    }) else {
        panic!("the 17th client waited over 1 s instead of being refused");
    };
    assert!(said.contains("\"error\"") && said.contains("busy"), "{said}");
    eprintln!("control socket: 17th client refused in {took:?}");
    drop(held);
    // The slots come back with the clients gone.
    let started = Instant::now();
    while control::ask(&path).is_err() {
        assert!(started.elapsed() < Duration::from_secs(3), "no slot came back");
        thread::sleep(Duration::from_millis(50));
    }
    remove_control_socket(&path);
}

#[test]
fn control_refuses_to_replace_what_is_not_a_stale_socket() {
    let dir = scratch("paths");
    let file = dir.join("notes.txt");
    std::fs::write(&file, "keep me\n").unwrap();
    let err = control::listen(&file, main_loop()).unwrap_err().to_string();
    assert!(err.contains("not a socket") && err.contains("regular file"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me\n", "the file was touched");

    let sub = dir.join("a-directory");
    std::fs::create_dir(&sub).unwrap();
    let err = control::listen(&sub, main_loop()).unwrap_err().to_string();
    assert!(err.contains("not a socket") && err.contains("directory"), "{err}");
    assert!(sub.is_dir());

    let fifo = dir.join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let err = within(Duration::from_secs(2), {
        let fifo = fifo.clone();
        move || control::listen(&fifo, main_loop()).unwrap_err().to_string()
    })
    .expect("listen on a FIFO's path blocked")
    .0;
    assert!(err.contains("not a socket") && err.contains("FIFO"), "{err}");
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());

    // A symlink is refused even when it points at a stale socket.
    let stale = dir.join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let link = dir.join("link.sock");
    std::os::unix::fs::symlink(&stale, &link).unwrap();
    let err = control::listen(&link, main_loop()).unwrap_err().to_string();
    assert!(err.contains("not a socket") && err.contains("symlink"), "{err}");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());

    // A stale socket (nobody answers) is replaced; a live one is not.
    control::listen(&stale, main_loop()).unwrap();
    assert_eq!(control::ask(&stale).unwrap().node, "lb1");
    let err = control::listen(&stale, main_loop()).unwrap_err().to_string();
    assert!(err.contains("another lbconverge daemon answers on it"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn control_leaves_an_existing_directory_alone_and_makes_a_missing_one_private() {
    let dir = scratch("modes");
    // Like /tmp: sticky and writable by everyone.
    let shared = dir.join("tmp");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let socket = shared.join("x.sock");
    control::listen(&socket, main_loop()).unwrap();
    let mode = std::fs::metadata(&shared).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o1777, "the existing directory's mode was changed");
    assert_eq!(std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(control::ask(&socket).unwrap().node, "lb1");

    let made = dir.join("new/run");
    control::listen(&made.join("control.sock"), main_loop()).unwrap();
    for d in [dir.join("new"), made] {
        assert_eq!(std::fs::metadata(&d).unwrap().permissions().mode() & 0o777, 0o700, "{}", d.display());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A free loopback port (bound and released; the listener binds it next).
fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// Serves metrics on a fresh loopback port, answered by a stand-in main loop.
fn metrics_port(credentials: Option<&str>) -> SocketAddr {
    let addr = free_port();
    metrics::listen(addr, credentials.map(str::to_string), main_loop()).unwrap();
    addr
}

/// Connects to `addr` from loopback address `from`.
fn connect_from(from: &str, addr: SocketAddr) -> TcpStream {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.bind(&SocketAddr::new(from.parse().unwrap(), 0).into()).unwrap();
    s.connect(&addr.into()).unwrap();
    s.into()
}

/// Sends `request` from loopback address `from` and reads the whole response (3 s limit).
fn http_from(from: &str, addr: SocketAddr, request: &[u8]) -> String {
    let mut c = connect_from(from, addr);
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let _ = c.write_all(request);
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn http(addr: SocketAddr, request: &[u8]) -> String {
    http_from("127.0.0.1", addr, request)
}

/// Scrapes `/metrics` every 300 ms for `span`; each must answer 200 within 1 s. The slowest.
fn metrics_keep_answering(addr: SocketAddr, span: Duration) -> Duration {
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    while started.elapsed() < span {
        let Some((said, took)) = within(Duration::from_secs(1), move || http(addr, b"GET /metrics HTTP/1.1\r\n\r\n"))
        else {
            panic!("/metrics took over 1 s, {:?} into the test", started.elapsed());
        };
        assert!(said.starts_with("HTTP/1.1 200 OK\r\n"), "{said}");
        slowest = slowest.max(took);
        thread::sleep(Duration::from_millis(300));
    }
    slowest
}

#[test]
fn a_dripping_client_does_not_delay_metrics() {
    let addr = metrics_port(None);
    let drippers: Vec<_> = (0..3)
        .map(|_| drip(TcpStream::connect(addr).unwrap(), b"GET /metrics HTTP/1.1\r\n\r\n", Duration::from_secs(4)))
        .collect();
    let slowest = metrics_keep_answering(addr, Duration::from_secs(3));
    // The status page too, rendered on a connection thread's own (small) stack.
    let page = http(addr, b"GET / HTTP/1.1\r\n\r\n");
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n") && page.contains("<td>VI_1</td>"), "{page}");
    for d in drippers {
        let (said, ended) = d.join().unwrap();
        assert!(ended < Duration::from_millis(4500), "the dripping client was served for {ended:?}");
        assert!(said.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{said}");
    }
    eprintln!("metrics: slowest scrape under 3 dripping clients: {slowest:?}");
}

#[test]
fn oversized_requests_are_refused_before_authentication() {
    let addr = metrics_port(Some("ops:secret"));
    let line = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(100_000));
    let said = http(addr, line.as_bytes());
    assert!(said.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{said}");
    let many = format!("GET /metrics HTTP/1.1\r\n{}\r\n", "X-A: b\r\n".repeat(200));
    let said = http(addr, many.as_bytes());
    assert!(said.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "{said}");
    let long = format!("GET /metrics HTTP/1.1\r\n{}\r\n", format!("X-A: {}\r\n", "b".repeat(4000)).repeat(5));
    let said = http(addr, long.as_bytes());
    assert!(said.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "{said}");
    let body = "GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
    let said = http(addr, body.as_bytes());
    assert!(said.starts_with("HTTP/1.1 413 Content Too Large\r\n"), "{said}");
    let anonymous = http(addr, b"GET /metrics HTTP/1.1\r\n\r\n");
    assert!(anonymous.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{anonymous}");
}

#[test]
fn metrics_clients_beyond_the_bounds_are_refused_at_once() {
    let addr = metrics_port(None);
    // One address holds 8 connections: its 9th is refused, another address is served.
    let held: Vec<TcpStream> = (0..8).map(|_| hold_from("127.0.0.1", addr)).collect();
    thread::sleep(Duration::from_millis(200));
    let Some((said, took)) = within(Duration::from_secs(1), move || http(addr, b"GET /metrics HTTP/1.1\r\n\r\n"))
    else {
        panic!("the 9th client of one address waited over 1 s");
    };
    assert!(said.starts_with("HTTP/1.1 503 Service Unavailable\r\n") && said.contains("Retry-After: "), "{said}");
    eprintln!("metrics: 9th connection from one address refused in {took:?}");
    let other = http_from("127.0.0.2", addr, b"GET /metrics HTTP/1.1\r\n\r\n");
    assert!(other.starts_with("HTTP/1.1 200 OK\r\n"), "{other}");
    drop(held);
    wait_for_a_slot(addr);
    // 32 in all: the next address is refused too. Each attempt on a listener of its own:
    // the threads of connections just dropped may not have given their slots back yet.
    // Held connections end at the 2 s request deadline, so an attempt counts only if it
    // asked within 1.5 s of its first hold.
    for attempt in 1..=3 {
        let addr = metrics_port(None);
        let first = Instant::now();
        let held: Vec<TcpStream> = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"]
            .iter()
            .flat_map(|from| (0..8).map(move |_| hold_from(from, addr)))
            .collect();
        thread::sleep(Duration::from_millis(200));
        let said = http_from("127.0.0.5", addr, b"GET /metrics HTTP/1.1\r\n\r\n");
        if first.elapsed() > Duration::from_millis(1500) && attempt < 3 {
            eprintln!("metrics: attempt {attempt} took {:?}, the host is too slow; again", first.elapsed());
            continue;
        }
        assert!(said.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{said}");
        drop(held);
        wait_for_a_slot(addr);
        break;
    }
}

/// A connection from `from` that sent part of a request line and holds its slot.
fn hold_from(from: &str, addr: SocketAddr) -> TcpStream {
    let mut c = connect_from(from, addr);
    c.write_all(b"GET /met").unwrap();
    c
}

/// Scrapes until one is served; fails after 3 s.
fn wait_for_a_slot(addr: SocketAddr) {
    let started = Instant::now();
    while !http(addr, b"GET /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200") {
        assert!(started.elapsed() < Duration::from_secs(3), "no slot came back");
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
#[ignore = "needs root: setuid to nobody"]
fn a_non_root_client_is_told_only_root_may_ask() {
    use std::os::unix::process::CommandExt;
    assert!(common::is_root(), "needs root (run tools/test as root)");
    let path = control_socket("nonroot");
    // What an admin opening the socket up would do.
    std::fs::set_permissions(path.parent().unwrap(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(path.parent().unwrap().parent().unwrap(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    for args in [vec!["status"], vec!["drain", "web", "a"], vec!["undrain", "web", "a"]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lbconverge"))
            .args(&args)
            .arg("--control")
            .arg(&path)
            .uid(65534)
            .gid(65534)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("only root (or the daemon's user) may ask"), "{args:?}: {stderr}");
        assert!(!stderr.contains("no lbconverge daemon answers"), "{args:?}: {stderr}");
        eprintln!("{args:?} as nobody: {}", stderr.trim());
    }
    // Root is still answered.
    assert_eq!(control::ask(&path).unwrap().node, "lb1");
    remove_control_socket(&path);
}

/// Kills a daemon this test started if the test fails before it stops it.
struct Reaper(u32);

impl Drop for Reaper {
    fn drop(&mut self) {
        // SAFETY: kill with a PID this test started.
        unsafe { libc::kill(i32::try_from(self.0).unwrap(), libc::SIGKILL) };
    }
}

#[test]
#[ignore = "needs root: network namespaces"]
fn a_second_run_on_the_same_state_directory_is_refused_naming_the_first() {
    assert!(common::is_root(), "needs root (run tools/test as root)");
    // SAFETY: unshare has no memory-safety preconditions; it moves only this thread.
    assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare");
    let sh = |args: &[&str]| {
        assert!(std::process::Command::new(args[0]).args(&args[1..]).status().unwrap().success(), "{args:?}")
    };
    sh(&["ip", "link", "set", "lo", "up"]);
    sh(&["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-p"]);
    sh(&["ip", "link", "set", "eth0", "up"]);
    sh(&["ip", "addr", "add", "172.16.40.21/24", "dev", "eth0"]);
    let dir = scratch("lock");
    let manifest = common::root().join("examples/lvs-dr-pair.yaml");
    let run = |control: &str| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_lbconverge"));
        c.args(["--state-dir", "state", "run"]).arg(&manifest).args(["--control", control]);
        c.current_dir(&dir).env("LBCONVERGE_LOG", "warn").env("NO_COLOR", "1");
        c.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
        c
    };
    // The first one answers on a relative path, taken from its working directory.
    let mut first = run("control.sock").spawn().unwrap();
    let reaper = Reaper(first.id());
    let socket = dir.join("control.sock");
    let started = Instant::now();
    while control::ask(&socket).is_err() {
        assert!(first.try_wait().unwrap().is_none(), "the first daemon ended");
        assert!(started.elapsed() < Duration::from_secs(10), "the first daemon did not answer on control.sock");
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(control::ask(&socket).unwrap().node, "nginx01");

    let mut second = run("second/control.sock").spawn().unwrap();
    let second_reaper = Reaper(second.id());
    let started = Instant::now();
    let exit = loop {
        if let Some(s) = second.try_wait().unwrap() {
            break s;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "a second daemon ran on the same state directory");
        thread::sleep(Duration::from_millis(20));
    };
    std::mem::forget(second_reaper);
    let mut stderr = String::new();
    second.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(exit.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("PID {}", first.id())), "the refusal names the first daemon: {stderr}");
    assert!(!dir.join("second").exists(), "the second daemon opened its control socket");
    eprintln!("second run refused in {:?}: {}", started.elapsed(), stderr.trim());
    let pid = std::fs::read_to_string(dir.join("state/run.lock")).unwrap_or_default();
    assert_eq!(pid.trim(), first.id().to_string(), "the lock file names the first daemon");

    // The first one runs on, and stops cleanly.
    assert_eq!(control::ask(&socket).unwrap().node, "nginx01");
    // SAFETY: kill with a PID we started and still own.
    unsafe { libc::kill(i32::try_from(first.id()).unwrap(), libc::SIGTERM) };
    assert!(first.wait().unwrap().success());
    std::mem::forget(reaper);
    std::fs::remove_dir_all(&dir).unwrap();
}
