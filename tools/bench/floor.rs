//! The floor of the health-check benchmark (issue 29, tools/bench-health-scale): the least
//! a program can do for N TCP or HTTP checks a second on this kernel, to measure the probe
//! engine against. One thread, one epoll set, every buffer and table allocated before the
//! loop, no state machine beyond "connecting / reading", no timer wheel: the checks of N
//! targets start on fixed slots spread evenly over the interval, as the engine spreads
//! new checks.
//!
//! The socket work of one check is the engine's, nothing more:
//! - tcp: socket (non-blocking), connect, epoll add (edge-triggered, in+out), wait
//!   writable, SO_ERROR, close.
//! - http: the same connect, then write one fixed GET request, read the response into a
//!   fixed buffer until its header ends (or the server closes), check the status line
//!   says 200, close.
//!
//! A check still in flight when its next slot comes is closed and counted as a timeout
//! (the floor's timeout is the interval). A check started more than TOLERANCE after its
//! slot is late: a missed deadline. CPU is getrusage's user + system time of this process
//! over the window that follows the warm-up.
//!
//! Usage: floor tcp|http FIRST_ADDRESS N PORT [INTERVAL_MS=1000] [WINDOW_S=20] [WARMUP_S=3]
//! [TOLERANCE_MS=100]; targets are FIRST_ADDRESS + 0 .. N-1. Prints one `FLOOR` line.
//! Built with `rustc -O` (std and the calls in sys.rs only).

#[path = "sys.rs"]
mod sys;

use std::time::Instant;
use sys::*;

const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: backend\r\nUser-Agent: lbconverge-check\r\nAccept: */*\r\nConnection: close\r\n\r\n";

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Idle,
    Connecting,
    Reading,
}

#[derive(Default)]
struct Counts {
    checks: u64,
    passes: u64,
    failures: u64,
    timeouts: u64,
    late: u64,
    /// socket() or epoll_ctl() refused (file descriptors exhausted: raise `ulimit -n`).
    errors: u64,
}

struct Floor {
    http: bool,
    ep: i32,
    first: u32,
    port: u16,
    fd: Vec<i32>,
    phase: Vec<Phase>,
    buf: [u8; 4096],
    counts: Counts,
    measuring: bool,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: u64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (Some(kind), Some(first), Some(n), Some(port)) = (
        args.get(1),
        args.get(2).and_then(|s| parse_v4(s)),
        args.get(3).and_then(|s| s.parse::<usize>().ok()),
        args.get(4).and_then(|s| s.parse::<u16>().ok()),
    ) else {
        eprintln!("usage: floor tcp|http FIRST_ADDRESS N PORT [INTERVAL_MS] [WINDOW_S] [WARMUP_S] [TOLERANCE_MS]");
        std::process::exit(2);
    };
    let (interval_ms, window_s, warmup_s, tolerance_ms) = (arg(5, 1000), arg(6, 20), arg(7, 3), arg(8, 100));
    let ep = unsafe { epoll_create1(0) };
    assert!(ep >= 0, "epoll_create1: errno {}", errno());
    let mut f = Floor {
        http: kind == "http",
        ep,
        first,
        port,
        fd: vec![-1; n],
        phase: vec![Phase::Idle; n],
        buf: [0; 4096],
        counts: Counts::default(),
        measuring: false,
    };
    let mut events = vec![EpollEvent { events: 0, data: 0 }; 1024];
    let t0 = Instant::now();
    let interval_ns = u128::from(interval_ms) * 1_000_000;
    let (warmup_ns, end_ns) = (u128::from(warmup_s) * 1_000_000_000, u128::from(warmup_s + window_s) * 1_000_000_000);
    let tolerance_ns = u128::from(tolerance_ms) * 1_000_000;
    let due = |s: u128| s * interval_ns / n as u128;
    let (mut slot, mut cpu0, mut measured_from) = (0u128, 0u64, 0u128);
    loop {
        let now = t0.elapsed().as_nanos();
        if now >= end_ns {
            break;
        }
        if !f.measuring && now >= warmup_ns {
            (f.measuring, cpu0, measured_from) = (true, cpu_us(), now);
        }
        while due(slot) <= now {
            let i = (slot % n as u128) as usize;
            if f.measuring && now - due(slot) > tolerance_ns {
                f.counts.late += 1;
            }
            if f.phase[i] != Phase::Idle {
                f.finish(i, false);
                f.count(|c| c.timeouts += 1);
            }
            f.start(i);
            slot += 1;
        }
        let wait_ms = (due(slot) - now).div_ceil(1_000_000).min(1000) as i32;
        let got = unsafe { epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, wait_ms) };
        for e in events.iter().take(got.max(0) as usize) {
            let (i, flags) = (e.data as usize, e.events);
            f.ready(i, flags);
        }
    }
    let cpu_ms = (cpu_us() - cpu0) as f64 / 1000.0;
    let secs = (t0.elapsed().as_nanos() - measured_from) as f64 / 1e9;
    let c = &f.counts;
    println!(
        "FLOOR kind={kind} n={n} interval_ms={interval_ms} window_s={secs:.1} checks={} passes={} failures={} \
         timeouts={} late={} errors={} checks_per_s={:.0} cpu_ms={cpu_ms:.0} cpu_ms_per_1000_checks={:.1} cores={:.2}",
        c.checks,
        c.passes,
        c.failures,
        c.timeouts,
        c.late,
        c.errors,
        c.checks as f64 / secs,
        cpu_ms * 1000.0 / (c.checks.max(1) as f64),
        cpu_ms / 1000.0 / secs,
    );
}

impl Floor {
    fn count(&mut self, f: impl FnOnce(&mut Counts)) {
        if self.measuring {
            f(&mut self.counts);
        }
    }

    /// Starts target `i`'s check: a non-blocking connect.
    fn start(&mut self, i: usize) {
        let fd = unsafe { socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) };
        if fd < 0 {
            self.count(|c| c.errors += 1);
            return;
        }
        let addr = SockaddrIn::new(self.first + i as u32, self.port);
        let r = unsafe { connect(fd, &addr, std::mem::size_of::<SockaddrIn>() as u32) };
        self.fd[i] = fd;
        self.phase[i] = Phase::Connecting;
        if r != 0 && errno() != EINPROGRESS {
            self.finish(i, false);
            return;
        }
        let mut ev = EpollEvent { events: EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, data: i as u64 };
        if unsafe { epoll_ctl(self.ep, EPOLL_CTL_ADD, fd, &mut ev) } != 0 {
            self.count(|c| c.errors += 1);
            self.finish(i, false);
        }
    }

    /// Target `i`'s socket is ready.
    fn ready(&mut self, i: usize, flags: u32) {
        let fd = self.fd[i];
        if self.phase[i] == Phase::Connecting {
            if flags & (EPOLLOUT | EPOLLERR | EPOLLHUP) == 0 {
                return;
            }
            let (mut err, mut len) = (0i32, 4u32);
            unsafe { getsockopt(fd, SOL_SOCKET, SO_ERROR, &mut err, &mut len) };
            if err != 0 || !self.http {
                self.finish(i, err == 0);
                return;
            }
            if unsafe { write(fd, REQUEST.as_ptr(), REQUEST.len()) } != REQUEST.len() as isize {
                self.finish(i, false);
                return;
            }
            self.phase[i] = Phase::Reading;
            if flags & (EPOLLIN | EPOLLRDHUP) == 0 {
                return;
            }
        }
        if self.phase[i] == Phase::Reading {
            self.read(i);
        }
    }

    /// Reads what target `i`'s server sent; finishes at the end of the header or at EOF.
    fn read(&mut self, i: usize) {
        loop {
            let n = unsafe { read(self.fd[i], self.buf.as_mut_ptr(), self.buf.len()) };
            if n < 0 {
                if errno() != EAGAIN {
                    self.finish(i, false);
                }
                return;
            }
            let got = &self.buf[..n as usize];
            if n == 0 || got.windows(4).any(|w| w == b"\r\n\r\n") {
                let ok = got.len() >= 12 && got.starts_with(b"HTTP/1.") && &got[9..12] == b"200";
                self.finish(i, ok);
                return;
            }
        }
    }

    fn finish(&mut self, i: usize, pass: bool) {
        unsafe { close(self.fd[i]) };
        self.fd[i] = -1;
        self.phase[i] = Phase::Idle;
        self.count(|c| {
            c.checks += 1;
            if pass { c.passes += 1 } else { c.failures += 1 }
        });
    }
}
