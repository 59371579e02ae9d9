//! A real-server stand-in for the health-check benchmark (tests/vm/bench/health.sh): four
//! threads accept on 0.0.0.0:PORT (every address of the namespace), answer a one-line HTTP
//! 200 to whatever they read, and close. No fork per connection (busybox httpd forks, which
//! under emulation would measure the server, not the checkers). With COUNT_FILE, the number
//! of connections accepted so far (the checks that reached a server) is written there every
//! 100 ms (atomically: a reader never sees half a number), so that the benchmark divides CPU
//! by the checks done, not by the checks due. Std only; built by tools/bench-health with rustc.
//! Usage: lbc-sink [PORT=8080] [COUNT_FILE]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};

static ACCEPTED: AtomicU64 = AtomicU64::new(0);

fn main() {
    let port = std::env::args().nth(1).unwrap_or_else(|| "8080".into());
    let listener = TcpListener::bind(format!("0.0.0.0:{port}")).expect("bind");
    if let Some(path) = std::env::args().nth(2) {
        std::thread::spawn(move || publish(&path));
    }
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let l = listener.try_clone().expect("clone listener");
            std::thread::spawn(move || serve(&l))
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
}

/// Writes the count of accepted connections to `path` every 100 ms.
fn publish(path: &str) {
    let tmp = format!("{path}.tmp");
    loop {
        let n = ACCEPTED.load(Ordering::Relaxed);
        if std::fs::write(&tmp, format!("{n}\n")).is_ok() {
            let _ = std::fs::rename(&tmp, path);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn serve(listener: &TcpListener) {
    let mut buf = [0u8; 1024];
    for conn in listener.incoming() {
        let Ok(mut s) = conn else { continue };
        ACCEPTED.fetch_add(1, Ordering::Relaxed);
        let _ = s.set_read_timeout(Some(std::time::Duration::from_millis(200)));
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
    }
}
