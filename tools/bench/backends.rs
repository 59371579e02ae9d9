//! The real servers of the scale benchmark (tools/bench-health-scale): one program serves
//! every backend address of its namespace on one port (listening on 0.0.0.0; the addresses
//! are local there), as TCP and HTTP backends at once: a connection that sends nothing and
//! closes is a TCP check; one that sends a request gets `HTTP/1.1 200` and is closed. THREADS
//! threads (default 2), each with its own SO_REUSEPORT listener and epoll set, non-blocking:
//! a slow client never holds up the others.
//!
//! It stamps each backend address's arrivals, so that the benchmark counts missed deadlines
//! from outside the checker: an arrival more than INTERVAL + TOLERANCE after the address's
//! previous one is a miss, and so is an address silent for that long when asked.
//! Commands on standard input, one a line:
//! - `reset`: forget every stamp and count (the start of a measured window);
//! - `report`: print `SERVER arrivals=.. misses=.. max_gap_ms=.. silent=..`.
//!
//! Usage: backends FIRST_ADDRESS N PORT [INTERVAL_MS=1000] [TOLERANCE_MS=100] [THREADS=2].
//! Built with `rustc -O` (std and the calls in sys.rs only).

#[path = "sys.rs"]
mod sys;

use std::io::BufRead;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;
use sys::*;

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";

struct Stamps {
    t0: Instant,
    first: u32,
    /// Per address: the last arrival, in ms since t0, plus 1 (0: none since the reset).
    last: Vec<AtomicU64>,
    /// When the window started (ms since t0).
    reset_at: AtomicU64,
    arrivals: AtomicU64,
    misses: AtomicU64,
    max_gap: AtomicU64,
    limit_ms: u64,
}

impl Stamps {
    fn now(&self) -> u64 {
        self.t0.elapsed().as_millis() as u64 + 1
    }

    fn arrive(&self, addr: u32) {
        let Some(slot) = addr.checked_sub(self.first).and_then(|i| self.last.get(i as usize)) else { return };
        let now = self.now();
        let prev = slot.swap(now, Relaxed);
        self.arrivals.fetch_add(1, Relaxed);
        if prev != 0 {
            let gap = now - prev;
            self.max_gap.fetch_max(gap, Relaxed);
            if gap > self.limit_ms {
                self.misses.fetch_add(1, Relaxed);
            }
        }
    }

    fn reset(&self) {
        self.last.iter().for_each(|s| s.store(0, Relaxed));
        for c in [&self.arrivals, &self.misses, &self.max_gap] {
            c.store(0, Relaxed);
        }
        self.reset_at.store(self.now(), Relaxed);
    }

    fn report(&self) -> String {
        let now = self.now();
        let since = self.reset_at.load(Relaxed);
        let silent = self
            .last
            .iter()
            .filter(|s| now.saturating_sub(s.load(Relaxed).max(since)) > self.limit_ms)
            .count();
        format!(
            "SERVER arrivals={} misses={} max_gap_ms={} silent={silent}",
            self.arrivals.load(Relaxed),
            self.misses.load(Relaxed),
            self.max_gap.load(Relaxed)
        )
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: u64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (Some(first), Some(n), Some(port)) = (
        args.get(1).and_then(|s| parse_v4(s)),
        args.get(2).and_then(|s| s.parse::<usize>().ok()),
        args.get(3).and_then(|s| s.parse::<u16>().ok()),
    ) else {
        eprintln!("usage: backends FIRST_ADDRESS N PORT [INTERVAL_MS] [TOLERANCE_MS] [THREADS]");
        std::process::exit(2);
    };
    let stamps = Arc::new(Stamps {
        t0: Instant::now(),
        first,
        last: (0..n).map(|_| AtomicU64::new(0)).collect(),
        reset_at: AtomicU64::new(0),
        arrivals: AtomicU64::new(0),
        misses: AtomicU64::new(0),
        max_gap: AtomicU64::new(0),
        limit_ms: arg(4, 1000) + arg(5, 100),
    });
    for _ in 0..arg(6, 2) {
        let listener = listen_on(port);
        let s = stamps.clone();
        std::thread::spawn(move || serve(listener, &s));
    }
    println!("SERVER ready n={n} port={port}");
    for line in std::io::stdin().lock().lines() {
        match line.as_deref().map(str::trim) {
            Ok("reset") => stamps.reset(),
            Ok("report") => println!("{}", stamps.report()),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    // Standard input closed: the benchmark is over; the threads end with the process.
}

fn listen_on(port: u16) -> i32 {
    let one = 1i32;
    let fd = unsafe { socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) };
    let addr = SockaddrIn::new(0, port);
    let ok = fd >= 0
        && unsafe { setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, 4) } == 0
        && unsafe { setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, 4) } == 0
        && unsafe { bind(fd, &addr, std::mem::size_of::<SockaddrIn>() as u32) } == 0
        && unsafe { listen(fd, 65535) } == 0;
    if !ok {
        eprintln!("backends: listen on 0.0.0.0:{port}: errno {}", errno());
        std::process::exit(1);
    }
    fd
}

/// One thread: accepts on its listener, stamps, answers.
fn serve(listener: i32, stamps: &Stamps) {
    let ep = unsafe { epoll_create1(0) };
    let mut ev = EpollEvent { events: EPOLLIN, data: u64::MAX };
    unsafe { epoll_ctl(ep, EPOLL_CTL_ADD, listener, &mut ev) };
    let mut events = vec![EpollEvent { events: 0, data: 0 }; 1024];
    let mut buf = [0u8; 4096];
    loop {
        let got = unsafe { epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, -1) };
        for e in events.iter().take(got.max(0) as usize) {
            let data = e.data;
            if data == u64::MAX {
                accept_all(ep, listener, stamps);
            } else {
                answer(data as i32, &mut buf);
            }
        }
    }
}

fn accept_all(ep: i32, listener: i32, stamps: &Stamps) {
    loop {
        let fd = unsafe { accept4(listener, std::ptr::null_mut(), std::ptr::null_mut(), SOCK_NONBLOCK | SOCK_CLOEXEC) };
        if fd < 0 {
            return;
        }
        let mut local = SockaddrIn::new(0, 0);
        let mut len = std::mem::size_of::<SockaddrIn>() as u32;
        if unsafe { getsockname(fd, &mut local, &mut len) } == 0 {
            stamps.arrive(u32::from_be(local.addr));
        }
        let mut ev = EpollEvent { events: EPOLLIN | EPOLLRDHUP | EPOLLET, data: fd as u64 };
        if unsafe { epoll_ctl(ep, EPOLL_CTL_ADD, fd, &mut ev) } != 0 {
            unsafe { close(fd) };
        }
    }
}

/// A connection is readable: a request gets the response; EOF or an error closes it.
fn answer(fd: i32, buf: &mut [u8]) {
    let n = unsafe { read(fd, buf.as_mut_ptr(), buf.len()) };
    if n < 0 && errno() == EAGAIN {
        return;
    }
    if n > 0 {
        unsafe { write(fd, RESPONSE.as_ptr(), RESPONSE.len()) };
    }
    unsafe { close(fd) };
}
