//! A tiny HTTP/1.0 server that answers every request with its node's name, and the client
//! side: a prober that opens a new TCP connection to VIP:port every 10 ms (each may live
//! 0.5 s, like the team's earlier `measure.py probe`) and records who answered, plus a
//! one-shot GET. Both run as threads inside a lab namespace; their sockets stay there.

use std::io::{self, ErrorKind, Read, Write};
use std::mem;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::netns;

/// The prober's connection rate: every 10 ms, or `LBC_LAB_SAMPLE_MS`.
pub fn probe_period() -> Duration {
    let ms = std::env::var("LBC_LAB_SAMPLE_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    Duration::from_millis(ms)
}
/// How long one probe connection may take before it counts as failed.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// A server thread; stops on drop.
pub struct Server {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts answering `body` on `addr` inside `ns`. The socket is bound with
    /// IP_FREEBIND, so `addr` may be a VIP the node does not hold yet.
    pub fn start(ns: &str, addr: SocketAddr, body: &str) -> Server {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let (st, body) = (stop.clone(), body.to_string());
        let thread = netns::spawn_in(ns, "http-server", move || match listen(addr) {
            Ok(l) => {
                let _ = tx.send(Ok(()));
                serve(&l, &body, &st);
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        });
        match rx.recv() {
            Ok(Ok(())) => Server { stop, thread: Some(thread) },
            Ok(Err(e)) => panic!("http server on {addr} in {ns}: {e}"),
            Err(_) => panic!("http server thread in {ns} died"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// socket + IP(V6)_FREEBIND (+ dual stack for `[::]`) + bind + listen.
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let fd = new_socket(addr.ip())?;
    let (level, opt) = match addr {
        SocketAddr::V4(_) => (libc::IPPROTO_IP, libc::IP_FREEBIND),
        SocketAddr::V6(_) => (libc::IPPROTO_IPV6, libc::IPV6_FREEBIND),
    };
    setsockopt(&fd, level, opt, 1)?;
    setsockopt(&fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    if addr.is_ipv6() {
        setsockopt(&fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 0)?;
    }
    let (sa, len) = sockaddr(addr);
    // SAFETY: sa is a valid sockaddr of length len.
    if unsafe { libc::bind(fd.as_raw_fd(), (&raw const sa).cast(), len) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: plain listen(2) on our socket.
    if unsafe { libc::listen(fd.as_raw_fd(), 128) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let l = TcpListener::from(fd);
    l.set_nonblocking(true)?;
    Ok(l)
}

fn serve(l: &TcpListener, body: &str, stop: &AtomicBool) {
    let reply =
        format!("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}\n", body.len() + 1);
    while !stop.load(Ordering::SeqCst) {
        if !wait_fd(l.as_raw_fd(), libc::POLLIN, Duration::from_millis(20)) {
            continue;
        }
        while let Ok((s, _)) = l.accept() {
            answer(s, reply.as_bytes());
        }
    }
}

/// Reads the request head (up to 100 ms), writes the reply, closes. Reading first keeps the
/// close from turning into a reset that could eat the reply.
fn answer(mut s: TcpStream, reply: &[u8]) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buf = [0u8; 1024];
    let mut got = Vec::new();
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let _ = s.write_all(reply);
    let _ = s.shutdown(std::net::Shutdown::Write);
}

/// One probe connection's outcome.
#[derive(Debug, Clone)]
pub struct Probe {
    /// When the connection was opened.
    pub started: Instant,
    /// When it finished (answer complete, error, or timeout).
    pub done: Instant,
    /// The answering node's name, or why it failed.
    pub answer: Result<String, String>,
}

/// A running prober; stops on drop.
pub struct Prober {
    results: Arc<Mutex<Vec<Probe>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Prober {
    /// Starts probing `target` from inside `ns`.
    pub fn start(ns: &str, target: SocketAddr) -> Prober {
        let results = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, st) = (results.clone(), stop.clone());
        let thread = netns::spawn_in(ns, "http-prober", move || probe_loop(target, &r, &st));
        Prober { results, stop, thread: Some(thread) }
    }

    /// When the first answer from `node` that finished at or after `after` arrived.
    pub fn first_answer(&self, node: &str, after: Instant) -> Option<Instant> {
        let r = self.results.lock().unwrap();
        r.iter().find(|p| p.done >= after && p.answer.as_deref() == Ok(node)).map(|p| p.done)
    }

    /// A copy of every result so far.
    pub fn results(&self) -> Vec<Probe> {
        self.results.lock().unwrap().clone()
    }

    /// Stops probing (also done on drop); connections in flight are abandoned.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Conn {
    s: TcpStream,
    started: Instant,
    sent: bool,
    buf: Vec<u8>,
}

const REQUEST: &[u8] = b"GET /node HTTP/1.0\r\nHost: vip\r\n\r\n";

fn probe_loop(target: SocketAddr, out: &Mutex<Vec<Probe>>, stop: &AtomicBool) {
    let mut conns: Vec<Conn> = Vec::new();
    let mut next = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now >= next {
            match connect_nonblocking(target) {
                Ok(s) => conns.push(Conn { s, started: now, sent: false, buf: Vec::new() }),
                Err(e) => record(out, now, Err(e.to_string())),
            }
            next = (next + probe_period()).max(now);
        }
        poll_conns(&mut conns, next.saturating_duration_since(Instant::now()).min(Duration::from_millis(5)));
        conns.retain_mut(|c| match step(c) {
            None => true,
            Some(answer) => {
                record(out, c.started, answer);
                false
            }
        });
    }
}

fn record(out: &Mutex<Vec<Probe>>, started: Instant, answer: Result<String, String>) {
    out.lock().unwrap().push(Probe { started, done: Instant::now(), answer });
}

fn poll_conns(conns: &mut [Conn], timeout: Duration) {
    let mut fds: Vec<libc::pollfd> = conns
        .iter()
        .map(|c| libc::pollfd {
            fd: c.s.as_raw_fd(),
            events: if c.sent { libc::POLLIN } else { libc::POLLOUT },
            revents: 0,
        })
        .collect();
    let ms = i32::try_from(timeout.as_millis()).unwrap_or(5);
    // SAFETY: fds is a valid array of fds.len() pollfd structs.
    unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
}

/// Advances one connection without blocking: Some(outcome) once it is finished.
fn step(c: &mut Conn) -> Option<Result<String, String>> {
    if c.started.elapsed() > PROBE_TIMEOUT {
        return Some(Err("timeout".into()));
    }
    if !c.sent {
        match c.s.take_error() {
            Ok(Some(e)) | Err(e) => return Some(Err(e.to_string())),
            Ok(None) => {}
        }
        if !wait_fd(c.s.as_raw_fd(), libc::POLLOUT, Duration::ZERO) {
            return None;
        }
        if let Err(e) = c.s.write_all(REQUEST) {
            return Some(Err(e.to_string()));
        }
        c.sent = true;
    }
    read_some(c)
}

fn read_some(c: &mut Conn) -> Option<Result<String, String>> {
    let mut buf = [0u8; 2048];
    loop {
        match c.s.read(&mut buf) {
            Ok(0) => return Some(body(&c.buf)),
            Ok(n) => c.buf.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return None,
            Err(e) => return Some(Err(e.to_string())),
        }
    }
}

/// The node name from a complete HTTP/1.0 reply.
fn body(reply: &[u8]) -> Result<String, String> {
    let text = String::from_utf8_lossy(reply);
    if !text.starts_with("HTTP/1.0 200") {
        return Err(format!("bad reply {:?}", text.chars().take(40).collect::<String>()));
    }
    Ok(text.split_once("\r\n\r\n").map(|(_, b)| b.trim().to_string()).unwrap_or_default())
}

/// One GET from inside `ns`; the answering node's name, or the error.
pub fn get(ns: &str, target: SocketAddr, timeout: Duration) -> Result<String, String> {
    netns::run_in(ns, move || {
        let mut s = TcpStream::connect_timeout(&target, timeout).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
        s.write_all(REQUEST).map_err(|e| e.to_string())?;
        let mut reply = Vec::new();
        s.read_to_end(&mut reply).map_err(|e| e.to_string())?;
        body(&reply)
    })
}

fn new_socket(ip: IpAddr) -> io::Result<std::os::fd::OwnedFd> {
    let domain = if ip.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    // SAFETY: plain socket(2); the result is checked before use.
    let fd = unsafe { libc::socket(domain, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is fresh and owned by nobody else.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

fn connect_nonblocking(target: SocketAddr) -> io::Result<TcpStream> {
    let fd = new_socket(target.ip())?;
    let s = TcpStream::from(fd);
    s.set_nonblocking(true)?;
    let (sa, len) = sockaddr(target);
    // SAFETY: sa is a valid sockaddr of length len.
    let r = unsafe { libc::connect(s.as_raw_fd(), (&raw const sa).cast(), len) };
    let e = io::Error::last_os_error();
    if r != 0 && e.raw_os_error() != Some(libc::EINPROGRESS) {
        return Err(e);
    }
    Ok(s)
}

fn setsockopt(fd: &impl AsRawFd, level: i32, opt: i32, v: i32) -> io::Result<()> {
    // SAFETY: v lives for the call and its size is passed.
    let r = unsafe {
        libc::setsockopt(fd.as_raw_fd(), level, opt, (&raw const v).cast(), mem::size_of::<i32>() as libc::socklen_t)
    };
    if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// True if `fd` is ready for `events` within `timeout`.
fn wait_fd(fd: i32, events: i16, timeout: Duration) -> bool {
    let mut p = libc::pollfd { fd, events, revents: 0 };
    let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: p is one valid pollfd.
    unsafe { libc::poll(&mut p, 1, ms) == 1 }
}

/// A sockaddr_storage holding `a`, and its length.
fn sockaddr(a: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let len = match a {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(v4.ip().octets()) },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in and suitably aligned.
            unsafe { (&raw mut ss).cast::<libc::sockaddr_in>().write(sin) };
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr { s6_addr: v6.ip().octets() },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in6 and suitably aligned.
            unsafe { (&raw mut ss).cast::<libc::sockaddr_in6>().write(sin6) };
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}
