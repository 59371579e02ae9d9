//! Real servers for health-check tests, run as threads inside a lab namespace: HTTP on 8080,
//! HTTPS on 8443 with a certificate from a test CA (its PEM is [`Backends::ca_pem`]) and on
//! 9443 with a self-signed one, a DNS responder on UDP 5353, a UDP echo on 5400 (answers
//! `<1>` and the datagram) and a UDP sink on 5401 (never answers). Certificates are made at
//! start with rcgen; nothing secret is kept.
//!
//! HTTP paths: `/health` 200 `ok\n`; `/busy` 503; `/slow` 200 after 3 s; `/chunked` 200
//! `ok\n` in two chunks; anything else 404. DNS: `ok.test.` NOERROR, other names NXDOMAIN.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::lab::netns;

/// The servers of one namespace; they stop on drop.
pub struct Backends {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// The test CA that signed the 8443 certificate.
    pub ca_pem: String,
}

impl Drop for Backends {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A certificate chain and key for rustls.
type Identity = (Vec<rustls::pki_types::CertificateDer<'static>>, rustls::pki_types::PrivateKeyDer<'static>);

/// The test CA's PEM, a certificate for `ip` it signed, and a self-signed one for `ip`.
fn certificates(ip: IpAddr) -> (String, Identity, Identity) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "lbconverge test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let leaf = |signed: bool| -> Identity {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.subject_alt_names = vec![rcgen::SanType::IpAddress(ip)];
        let cert = if signed { p.signed_by(&key, &ca).unwrap() } else { p.self_signed(&key).unwrap() };
        let der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        (vec![cert.der().clone()], der)
    };
    (ca.pem(), leaf(true), leaf(false))
}

fn tls_config(id: Identity) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let c = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(id.0, id.1)
        .unwrap();
    Arc::new(c)
}

/// Starts the servers on `ip` inside namespace `ns`.
pub fn start(ns: &str, ip: IpAddr) -> Backends {
    let stop = Arc::new(AtomicBool::new(false));
    let (ca_pem, signed, own) = certificates(ip);
    let mut threads = Vec::new();
    let tls = [None, Some(tls_config(signed)), Some(tls_config(own))];
    for (port, tls) in [8080, 8443, 9443].into_iter().zip(tls) {
        let st = stop.clone();
        let listener = netns::run_in(ns, move || TcpListener::bind(SocketAddr::new(ip, port))).unwrap();
        listener.set_nonblocking(true).unwrap();
        threads.push(std::thread::spawn(move || accept(&listener, tls, &st)));
    }
    let st = stop.clone();
    let udp = netns::run_in(ns, move || UdpSocket::bind(SocketAddr::new(ip, 5353))).unwrap();
    udp.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    threads.push(std::thread::spawn(move || dns(&udp, &st)));
    for (port, answer) in [(5400, true), (5401, false)] {
        let st = stop.clone();
        let udp = netns::run_in(ns, move || UdpSocket::bind(SocketAddr::new(ip, port))).unwrap();
        udp.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        threads.push(std::thread::spawn(move || echo(&udp, answer, &st)));
    }
    Backends { stop, threads, ca_pem }
}

fn accept(l: &TcpListener, tls: Option<Arc<rustls::ServerConfig>>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match l.accept() {
            Ok((s, _)) => {
                let tls = tls.clone();
                std::thread::spawn(move || {
                    let _ = s.set_nonblocking(false);
                    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                    match tls {
                        None => serve(s),
                        Some(cfg) => {
                            if let Ok(conn) = rustls::ServerConnection::new(cfg) {
                                serve(rustls::StreamOwned::new(conn, s));
                            }
                        }
                    }
                });
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn serve<S: Read + Write>(mut s: S) {
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&req);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
    let answer = match path.as_str() {
        "/health" => ok(200, "ok\n"),
        "/busy" => ok(503, "busy\n"),
        "/slow" => {
            std::thread::sleep(Duration::from_secs(3));
            ok(200, "ok\n")
        }
        "/chunked" => {
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\no\r\n2\r\nk\n\r\n0\r\n\r\n".to_string()
        }
        _ => ok(404, "no\n"),
    };
    let _ = s.write_all(answer.as_bytes());
    let _ = s.flush();
}

fn ok(status: u16, body: &str) -> String {
    format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
}

fn dns(sock: &UdpSocket, stop: &AtomicBool) {
    let mut buf = [0u8; 512];
    while !stop.load(Ordering::SeqCst) {
        let Ok((n, from)) = sock.recv_from(&mut buf) else { continue };
        if n < 13 {
            continue;
        }
        let name = qname(&buf[12..n]);
        let rcode = if name == "ok.test." { 0 } else { 3 };
        let mut answer = buf[..n].to_vec();
        answer[2] = 0x81; // QR, RD
        answer[3] = 0x80 | rcode; // RA
        let _ = sock.send_to(&answer, from);
    }
}

/// UDP 5400 answers `<1>` and what it got; 5401 takes datagrams and never answers.
fn echo(sock: &UdpSocket, answer: bool, stop: &AtomicBool) {
    let mut buf = [0u8; 512];
    while !stop.load(Ordering::SeqCst) {
        let Ok((n, from)) = sock.recv_from(&mut buf) else { continue };
        if answer {
            let _ = sock.send_to(&[b"<1>", &buf[..n]].concat(), from);
        }
    }
}

fn qname(mut q: &[u8]) -> String {
    let mut name = String::new();
    while let Some((&len, rest)) = q.split_first() {
        if len == 0 {
            break;
        }
        let label = rest.get(..usize::from(len)).unwrap_or_default();
        name.push_str(&String::from_utf8_lossy(label));
        name.push('.');
        q = &rest[label.len()..];
    }
    name
}

/// A TCP connection attempt to `addr`, for tests that want to be sure a server is up.
pub fn reachable(ns: &str, addr: SocketAddr) -> bool {
    netns::run_in(ns, move || TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok())
}
