//! Held connections for the connection-sync failover case (tests/vm/cases/sync.sh): opens N
//! TCP connections to ADDR:PORT (an echo service that first sends one line, the backend's
//! name), then on every connection sends a numbered line every 100 ms for SECONDS and
//! expects it echoed within 20 s. Touches READY once all are open and greeted. Prints
//! `survived S of N` (connections that never failed), then one line per backend, and the
//! first error of each failed connection. Std only; tests/vm.rs builds it with rustc.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, addr, n, secs, ready] = args.as_slice() else {
        eprintln!("usage: held ADDR:PORT N SECONDS READY_FILE");
        std::process::exit(2);
    };
    let n: usize = n.parse().unwrap_or(100);
    let until = Instant::now() + Duration::from_secs(secs.parse().unwrap_or(20));
    let mut greeted = Vec::new();
    for _ in 0..n {
        match open(addr) {
            Ok(c) => greeted.push(c),
            Err(e) => {
                println!("connect failed: {e}");
                std::process::exit(1);
            }
        }
    }
    let _ = std::fs::write(ready, "ready\n");
    let workers: Vec<_> = greeted.into_iter().map(|(who, s, r)| std::thread::spawn(move || (who, talk(s, r, until)))).collect();
    let results: Vec<(String, Result<u32, String>)> =
        workers.into_iter().map(|w| w.join().unwrap_or(("?".into(), Err("thread".into())))).collect();
    let survived = results.iter().filter(|(_, r)| r.is_ok()).count();
    println!("survived {survived} of {n}");
    let mut backends = std::collections::BTreeMap::<String, (usize, usize)>::new();
    for (who, r) in &results {
        let e = backends.entry(who.clone()).or_default();
        e.0 += 1;
        e.1 += usize::from(r.is_ok());
    }
    for (who, (all, ok)) in backends {
        println!("backend {who}: {ok} of {all} survived");
    }
    for (who, r) in results.iter().filter(|(_, r)| r.is_err()).take(3) {
        println!("failed ({who}): {}", r.as_ref().err().map_or("", String::as_str));
    }
}

type Conn = (String, TcpStream, BufReader<TcpStream>);

fn open(addr: &str) -> std::io::Result<Conn> {
    let s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut r = BufReader::new(s.try_clone()?);
    let mut who = String::new();
    r.read_line(&mut who)?;
    Ok((who.trim().to_string(), s, r))
}

/// Pings until `until`; the number of echoes, or the first failure.
fn talk(mut s: TcpStream, mut r: BufReader<TcpStream>, until: Instant) -> Result<u32, String> {
    let mut k = 0u32;
    while Instant::now() < until {
        let line = format!("ping {k}\n");
        s.write_all(line.as_bytes()).map_err(|e| format!("ping {k}: send: {e}"))?;
        let mut back = String::new();
        match r.read_line(&mut back) {
            Ok(0) => return Err(format!("ping {k}: closed by the peer")),
            Ok(_) if back == line => {}
            Ok(_) => return Err(format!("ping {k}: echoed {back:?}")),
            Err(e) => return Err(format!("ping {k}: receive: {e}")),
        }
        k += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(k)
}
