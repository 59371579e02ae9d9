//! A real-server stand-in for the health-check benchmark (tests/vm/bench/health.sh): four
//! threads accept on 0.0.0.0:PORT (every address of the namespace), answer a one-line HTTP
//! 200 to whatever they read, and close. No fork per connection (busybox httpd forks, which
//! under emulation would measure the server, not the checkers). Std only; built by
//! tools/bench-health with rustc.

use std::io::{Read, Write};
use std::net::TcpListener;

fn main() {
    let port = std::env::args().nth(1).unwrap_or_else(|| "8080".into());
    let listener = TcpListener::bind(format!("0.0.0.0:{port}")).expect("bind");
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

fn serve(listener: &TcpListener) {
    let mut buf = [0u8; 1024];
    for conn in listener.incoming() {
        let Ok(mut s) = conn else { continue };
        let _ = s.set_read_timeout(Some(std::time::Duration::from_millis(200)));
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
    }
}
