//! The probes (effects, on tokio): one attempt of a check against its target, bounded by
//! the check's timeout (one deadline for the whole attempt, not per read), giving an
//! [`Outcome`] whose failure says why in a few words (`connect refused`, `timeout after 3s`,
//! `status 503, want 200-299`, `exit 1`). Text from the server in a reason is escaped
//! ([`crate::text`]). A basic-auth password is read at every probe and never appears in
//! a reason. Script checks run in a process group of their own, killed whole when
//! they end or time out ([`crate::child`]); DNS query ids, ping ids and default UDP payloads
//! are random.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::board::{Target, Via};
use super::state::Outcome;
use super::{datagram, dns, http, stream, tls};
use crate::child::Group;
use crate::model::cluster::{CheckKind, HttpCheck, Secret, TcpCheck, TlsCheck, UdpCheck};
use crate::model::validate::parse::duration_text;

/// After a script's timeout, how long SIGTERM has before SIGKILL (keepalived: 2 s).
const TERM_GRACE: Duration = Duration::from_secs(2);

/// What probes share: TLS client settings, built once per distinct TLS setting.
#[derive(Default, Clone)]
pub struct Probes {
    tls: Arc<Mutex<BTreeMap<TlsCheck, Arc<rustls::ClientConfig>>>>,
}

/// What a target's probes share, built once when its check starts: the HTTP request, unless
/// it carries a password (read at every probe).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prepared {
    request: Option<Box<str>>,
}

impl Prepared {
    /// What `t`'s probes can share.
    pub fn new(t: &Target) -> Self {
        let request = match &t.check.kind {
            CheckKind::Http { http, .. } if http.auth.is_none() => {
                let addr = t.dial();
                Some(http::request(http, &default_host(addr), None).into_boxed_str())
            }
            _ => None,
        };
        Prepared { request }
    }
}

/// The `Host` of a check without `host`: the address and port it connects to.
fn default_host(addr: SocketAddr) -> String {
    crate::model::ipvs::socket_text(&addr.ip(), addr.port())
}

impl Probes {
    /// Runs one attempt of `t`'s check.
    pub async fn run(&self, t: &Target) -> Outcome {
        self.run_prepared(t, &Prepared::default()).await
    }

    /// Runs one attempt of `t`'s check with what [`Prepared::new`] built for `t` (or
    /// nothing: then it builds what it needs).
    pub async fn run_prepared(&self, t: &Target, prepared: &Prepared) -> Outcome {
        let limit = t.check.timeout;
        let (addr, via) = (t.dial(), t.via.as_ref());
        match &t.check.kind {
            CheckKind::Script { command, dynamic, user } => {
                return script(command, *dynamic, user, SocketAddr::new(t.address, t.check.port), limit).await;
            }
            // Its own deadline, so that a timeout can name the datagrams it ignored.
            // Boxed: a check's task keeps only a pointer between probes, not the exchange's
            // state (a thousand idle checks should cost little memory).
            CheckKind::Dns { name, qtype } => return Box::pin(dns_query(addr, via, name, *qtype, limit)).await,
            CheckKind::Udp(c) => return Box::pin(udp(addr, via, c, limit)).await,
            CheckKind::Ping => return Box::pin(ping(t.address, limit)).await,
            CheckKind::Tcp(c) if c.send.is_some() || c.expect.is_some() => {
                return Box::pin(tcp_exchange(addr, via, c, limit)).await;
            }
            _ => {}
        }
        // One deadline for the whole attempt: connection, TLS handshake and every read.
        let attempt = async {
            match &t.check.kind {
                CheckKind::Tcp(_) => tcp(addr, via).await.map(|_| Outcome::PASS).unwrap_or_else(|e| e),
                CheckKind::Http { http, tls } => {
                    Box::pin(self.http(addr, via, http, tls.as_ref(), prepared.request.as_deref())).await
                }
                CheckKind::Script { .. }
                | CheckKind::Dns { .. }
                | CheckKind::Udp(_)
                | CheckKind::Ping
                | CheckKind::None => Outcome::PASS,
            }
        };
        match tokio::time::timeout(limit, attempt).await {
            Ok(o) => o,
            Err(_) => Outcome::Fail(format!("timeout after {}", duration_text(limit))),
        }
    }

    /// An http(s) check: `request` is the one built once for the target, if it was.
    async fn http(
        &self,
        addr: SocketAddr,
        via: Option<&Via>,
        c: &HttpCheck,
        tls: Option<&TlsCheck>,
        request: Option<&str>,
    ) -> Outcome {
        let stream = match tcp(addr, via).await {
            Ok(s) => s,
            Err(o) => return o,
        };
        let built;
        let request = match request {
            Some(r) => r,
            None => {
                let password = match c.auth.as_ref().map(|(_, secret)| password(secret)).transpose() {
                    Ok(p) => p,
                    Err(e) => return Outcome::Fail(e),
                };
                built = http::request(c, &default_host(addr), password.as_deref());
                built.as_str()
            }
        };
        let Some(tls) = tls else { return exchange(stream, request, c).await };
        let config = match self.client_config(tls) {
            Ok(cfg) => cfg,
            Err(e) => return Outcome::Fail(e),
        };
        let name = server_name(c.host.as_deref(), addr.ip());
        match tokio_rustls::TlsConnector::from(config).connect(name, stream).await {
            Ok(s) => exchange(s, request, c).await,
            Err(e) => Outcome::Fail(format!("TLS: {}", tls::explain(&e))),
        }
    }

    fn client_config(&self, t: &TlsCheck) -> Result<Arc<rustls::ClientConfig>, String> {
        let mut cache = self.tls.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = cache.get(t) {
            return Ok(c.clone());
        }
        let c = Arc::new(tls::client_config(t)?);
        cache.insert(t.clone(), c.clone());
        Ok(c)
    }
}

/// A check's basic-auth password, read at every probe (a changed file is used at once):
/// the first line of its file (through [`crate::files`]) or its environment variable. A
/// failure names the file or the variable, never the text.
fn password(s: &Secret) -> Result<String, String> {
    let text = match s {
        Secret::File(path) => {
            crate::files::first_line(path, crate::files::Kind::Secret).map_err(|e| format!("password file {e}"))?
        }
        Secret::Env(var) => std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))?,
    };
    let place = || match s {
        Secret::File(path) => format!("password file {}", path.display()),
        Secret::Env(var) => format!("environment variable {var}"),
    };
    crate::model::password::basic_problem(&text).map_err(|(why, _)| format!("{}: {why}", place()))?;
    Ok(text.trim_end_matches(['\r', '\n']).to_string())
}

/// A `tcp` check that sends and expects: connects, sends `send`, then reads until the
/// reply matches `expect` ([`stream`]), all within `limit`. Without `expect` it passes once
/// what it sends is written.
async fn tcp_exchange(addr: SocketAddr, via: Option<&Via>, c: &TcpCheck, limit: Duration) -> Outcome {
    let deadline = tokio::time::Instant::now() + limit;
    let timeout = || Outcome::Fail(format!("timeout after {}", duration_text(limit)));
    let mut s = match tokio::time::timeout_at(deadline, tcp(addr, via)).await {
        Ok(Ok(s)) => s,
        Ok(Err(o)) => return o,
        Err(_) => return timeout(),
    };
    if let Some(bytes) = &c.send {
        match tokio::time::timeout_at(deadline, s.write_all(bytes)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Outcome::Fail(format!("send: {e}")),
            Err(_) => return timeout(),
        }
    }
    let Some(expect) = &c.expect else { return Outcome::PASS };
    let re = match regex_lite::Regex::new(expect) {
        Ok(re) => re,
        Err(e) => return Outcome::Fail(format!("expect: {e}")),
    };
    let mut reply = [0u8; stream::MAX_REPLY];
    let mut got = 0;
    let end = 'read: {
        for _ in 0..stream::MAX_READS {
            let n = match tokio::time::timeout_at(deadline, s.read(&mut reply[got..])).await {
                Ok(Ok(0)) => break 'read stream::End::Closed,
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Outcome::Fail(format!("read reply: {e}")),
                Err(_) => break 'read stream::End::Timeout(limit),
            };
            got += n;
            if stream::matches(&re, &reply[..got]) {
                return Outcome::PASS;
            }
            if got == reply.len() {
                break 'read stream::End::Full;
            }
        }
        stream::End::Reads
    };
    Outcome::Fail(stream::failure(expect, &reply[..got], end))
}

/// Connects; for a data-path check from the director's address, marked for IPVS.
async fn tcp(addr: SocketAddr, via: Option<&Via>) -> Result<TcpStream, Outcome> {
    let Some(via) = via else { return TcpStream::connect(addr).await.map_err(|e| Outcome::Fail(connect_error(&e))) };
    let sock = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4() } else { tokio::net::TcpSocket::new_v6() };
    let sock = sock.map_err(|e| Outcome::Fail(format!("open socket: {e}")))?;
    set_mark(&sock, via.mark)?;
    sock.bind(SocketAddr::new(via.source, 0)).map_err(|e| Outcome::Fail(format!("bind to {}: {e}", via.source)))?;
    sock.connect(addr).await.map_err(|e| Outcome::Fail(connect_error(&e)))
}

/// `SO_MARK`: the director's IPVS sends the probe to the one backend of the mark's service.
fn set_mark(sock: &impl std::os::fd::AsRawFd, mark: u32) -> Result<(), Outcome> {
    let value = libc::c_int::from_ne_bytes(mark.to_ne_bytes());
    crate::sys::setsockopt_int(sock, libc::SOL_SOCKET, libc::SO_MARK, value)
        .map_err(|e| Outcome::Fail(format!("mark the probe {mark}: {e}")))
}

fn connect_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connect refused".into(),
        _ => format!("connect: {e}"),
    }
}

/// The TLS server name: the `host` setting when it is a DNS name, else the address.
fn server_name(host: Option<&str>, ip: IpAddr) -> rustls::pki_types::ServerName<'static> {
    host.map(|h| h.rsplit_once(':').filter(|(_, p)| p.parse::<u16>().is_ok()).map_or(h, |(n, _)| n))
        .and_then(|h| rustls::pki_types::ServerName::try_from(h.to_string()).ok())
        .unwrap_or(rustls::pki_types::ServerName::IpAddress(ip.into()))
}

/// How many bytes one read of a response takes at most. The buffer lives in the probe's
/// (boxed) future: one allocation with it, freed with it.
const READ_BUF: usize = 8192;

/// Sends the request and judges the answer, reading the body only when the check needs it.
/// Each byte is read and looked at once ([`http::Reader`]), in at most [`http::MAX_READS`]
/// reads; the caller's timeout bounds the whole exchange.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, request: &str, c: &HttpCheck) -> Outcome {
    if let Err(e) = s.write_all(request.as_bytes()).await {
        return Outcome::Fail(format!("send request: {e}"));
    }
    let want_body = http::wants_body(c);
    let mut reader = http::Reader::new(want_body);
    let mut buf = [0u8; READ_BUF];
    for _ in 0..http::MAX_READS {
        let n = match s.read(&mut buf).await {
            Ok(n) => n,
            // A TLS server that closes without close_notify after a whole answer is common.
            Err(e) if reader.has_status() && e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Outcome::Fail(format!("read response: {e}")),
        };
        let done = if n == 0 { reader.eof().map(|()| true) } else { reader.feed(&buf[..n]) };
        match done {
            Ok(true) => return http::judge(c, reader.status(), want_body.then(|| reader.body())),
            Ok(false) => {}
            Err(e) => return Outcome::Fail(e.to_string()),
        }
    }
    Outcome::Fail(http::ResponseError::Reads.to_string())
}

/// One DNS query and its answer, within `limit`. Datagrams that are not the answer (another
/// id, not a response) are ignored; a timeout names the last of them.
async fn dns_query(addr: SocketAddr, via: Option<&Via>, name: &str, qtype: u16, limit: Duration) -> Outcome {
    let deadline = tokio::time::Instant::now() + limit;
    let sock = match udp_socket(addr, via).await {
        Ok(s) => s,
        Err(o) => return o,
    };
    let query = dns::query(query_id(), name, qtype);
    if let Err(e) = sock.send(&query).await {
        return Outcome::Fail(format!("send query: {e}"));
    }
    let mut buf = [0u8; 1500];
    let (mut ignored, mut last) = (0u32, String::new());
    loop {
        match tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await {
            Ok(Ok(n)) => match dns::judge(&query, &buf[..n]) {
                Ok(o) => return o,
                Err(what) => (ignored, last) = (ignored.saturating_add(1), what),
            },
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                return Outcome::Fail("port unreachable".into());
            }
            Ok(Err(e)) => return Outcome::Fail(format!("receive answer: {e}")),
            Err(_) if ignored == 0 => return Outcome::Fail(format!("timeout after {}", duration_text(limit))),
            Err(_) => {
                let (limit, s) = (duration_text(limit), if ignored == 1 { "" } else { "s" });
                return Outcome::Fail(format!("timeout after {limit}; ignored {ignored} datagram{s}, the last {last}"));
            }
        }
    }
}

/// A UDP socket connected to `addr`; for a data-path check from the director's address,
/// marked for IPVS. Connected, so that ICMP errors come back as errors of `recv`.
async fn udp_socket(addr: SocketAddr, via: Option<&Via>) -> Result<UdpSocket, Outcome> {
    let any = if addr.is_ipv4() { IpAddr::from([0, 0, 0, 0]) } else { IpAddr::from(std::net::Ipv6Addr::UNSPECIFIED) };
    let bind = SocketAddr::new(via.map_or(any, |v| v.source), 0);
    let sock = UdpSocket::bind(bind).await.map_err(|e| Outcome::Fail(format!("open UDP socket: {e}")))?;
    if let Some(Err(o)) = via.map(|v| set_mark(&sock, v.mark)) {
        return Err(o);
    }
    sock.connect(addr).await.map_err(|e| Outcome::Fail(connect_error(&e)))?;
    Ok(sock)
}

/// A `udp` check (keepalived's `UDP_CHECK`): sends the payload (or 8 random bytes) and
/// waits until the timeout. An ICMP error fails it; a reply is judged
/// ([`datagram::judge_udp`]); silence passes unless a reply is required.
async fn udp(addr: SocketAddr, via: Option<&Via>, c: &UdpCheck, limit: Duration) -> Outcome {
    let sock = match udp_socket(addr, via).await {
        Ok(s) => s,
        Err(o) => return o,
    };
    let payload = c.payload.clone().unwrap_or_else(|| random_bytes::<8>().to_vec());
    if let Err(e) = sock.send(&payload).await {
        return Outcome::Fail(datagram_error("send", &e));
    }
    let mut buf = vec![0u8; 65536];
    match tokio::time::timeout(limit, sock.recv(&mut buf)).await {
        Ok(Ok(n)) => datagram::judge_udp(c, &buf[..n]),
        Ok(Err(e)) => Outcome::Fail(datagram_error("receive", &e)),
        Err(_) if c.require_reply => Outcome::Fail(format!("no reply within {}", duration_text(limit))),
        Err(_) => Outcome::PASS,
    }
}

/// What an ICMP error on a connected datagram socket means.
fn datagram_error(doing: &str, e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => "port unreachable".into(),
        Some(libc::EHOSTUNREACH) => "host unreachable".into(),
        Some(libc::ENETUNREACH) => "network unreachable".into(),
        _ => format!("{doing}: {e}"),
    }
}

/// A `ping` check (keepalived's `PING_CHECK`): one ICMP or ICMPv6 echo request on a raw
/// socket connected to the backend (the kernel hands it only that address's packets),
/// passing on the matching echo reply within the timeout.
async fn ping(address: IpAddr, limit: Duration) -> Outcome {
    let v6 = address.is_ipv6();
    let sock = match raw_icmp(address) {
        Ok(s) => s,
        Err(e) => return Outcome::Fail(format!("open ICMP socket: {e}")),
    };
    let [a, b, c, d] = random_bytes::<4>();
    let request = datagram::echo_request(v6, u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]), b"lbconverge");
    let exchange = async {
        sock.async_io(tokio::io::Interest::WRITABLE, |s| s.send(&request)).await?;
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1500];
        loop {
            let n = sock.async_io(tokio::io::Interest::READABLE, |s| s.recv(&mut buf)).await?;
            // SAFETY: recv initialised the first n bytes.
            let got: Vec<u8> = buf[..n].iter().map(|b| unsafe { b.assume_init() }).collect();
            if datagram::is_echo_reply(v6, &request, &got) {
                return Ok::<_, std::io::Error>(());
            }
        }
    };
    match tokio::time::timeout(limit, exchange).await {
        Ok(Ok(())) => Outcome::PASS,
        Ok(Err(e)) => Outcome::Fail(datagram_error("ping", &e)),
        Err(_) => Outcome::Fail(format!("no echo reply within {}", duration_text(limit))),
    }
}

/// A raw ICMP (or ICMPv6) socket connected to `address`, non-blocking, on tokio's reactor.
fn raw_icmp(address: IpAddr) -> std::io::Result<tokio::io::unix::AsyncFd<socket2::Socket>> {
    use socket2::{Domain, Protocol, Socket, Type};
    let (domain, proto) =
        if address.is_ipv6() { (Domain::IPV6, Protocol::ICMPV6) } else { (Domain::IPV4, Protocol::ICMPV4) };
    let s = Socket::new(domain, Type::RAW, Some(proto))?;
    s.set_nonblocking(true)?;
    s.connect(&SocketAddr::new(address, 0).into())?;
    // SAFETY: the AsyncFd owns the socket, whose descriptor stays open and the same until
    // the AsyncFd drops it.
    unsafe { tokio::io::unix::AsyncFd::register(s) }.map_err(|e| std::io::Error::other(e.to_string()))
}

/// `N` bytes from the kernel's random source; where that fails, from the standard
/// library's hasher, which the kernel's randomness keys afresh for every use.
fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // SAFETY: getrandom writes at most b.len() bytes into b.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), libc::GRND_NONBLOCK) };
    if usize::try_from(n).is_ok_and(|n| n == N) {
        return b;
    }
    use std::hash::{BuildHasher, Hasher};
    for chunk in b.chunks_mut(8) {
        let h = std::collections::hash_map::RandomState::new().build_hasher().finish().to_ne_bytes();
        chunk.copy_from_slice(&h[..chunk.len()]);
    }
    b
}

/// A query id no one can guess ([`random_bytes`]).
fn query_id() -> u16 {
    u16::from_ne_bytes(random_bytes::<2>())
}

/// Runs a script check: `{address}` and `{port}` substituted, no shell, as the leader of a
/// process group of its own ([`Group`]), as `user` when the daemon runs as root. Past the
/// timeout the group gets SIGTERM, then SIGKILL after [`TERM_GRACE`]; when the script ends,
/// whatever it left running in its group is killed.
async fn script(command: &[String], dynamic: bool, user: &str, addr: SocketAddr, limit: Duration) -> Outcome {
    let argv: Vec<String> = command
        .iter()
        .map(|a| a.replace("{address}", &addr.ip().to_string()).replace("{port}", &addr.port().to_string()))
        .collect();
    let Some((prog, args)) = argv.split_first() else { return Outcome::Fail("no command".into()) };
    let mut c = std::process::Command::new(prog);
    c.args(args).stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null());
    c.stderr(std::process::Stdio::null());
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let Some((uid, gid)) = crate::sys::user_ids(user) else {
            return Outcome::Fail(format!("user `{user}` does not exist"));
        };
        std::os::unix::process::CommandExt::uid(&mut c, uid);
        std::os::unix::process::CommandExt::gid(&mut c, gid);
    }
    let group = match Group::spawn(&mut c) {
        Ok(g) => g,
        Err(e) => return Outcome::Fail(format!("start {prog}: {e}")),
    };
    match tokio::time::timeout(limit, group.exited()).await {
        Ok(Ok(())) => match group.finish() {
            Ok(s) => exit_outcome(s.code(), std::os::unix::process::ExitStatusExt::signal(&s), dynamic),
            Err(e) => Outcome::Fail(format!("wait for {prog}: {e}")),
        },
        // Dropping the group kills it.
        Ok(Err(e)) => Outcome::Fail(format!("wait for {prog}: {e}")),
        Err(_) => {
            group.signal(libc::SIGTERM);
            if !matches!(tokio::time::timeout(TERM_GRACE, group.exited()).await, Ok(Ok(()))) {
                group.signal(libc::SIGKILL);
                let _ = tokio::time::timeout(TERM_GRACE, group.exited()).await;
            }
            if group.has_exited().unwrap_or(false) {
                let _ = group.finish();
            }
            Outcome::Fail(format!("timeout after {}", duration_text(limit)))
        }
    }
}

/// keepalived's MISC_CHECK rule: 0 up, 1 down; 2..255 down, or with `misc_dynamic` up with
/// weight code - 2.
fn exit_outcome(code: Option<i32>, signal: Option<i32>, dynamic: bool) -> Outcome {
    match (code, signal) {
        (Some(0), _) => Outcome::PASS,
        (Some(c @ 2..=255), _) if dynamic => Outcome::Pass { weight: u32::try_from(c - 2).ok() },
        (Some(c), _) => Outcome::Fail(format!("exit {c}")),
        (None, Some(sig)) => Outcome::Fail(format!("killed by signal {sig}")),
        (None, None) => Outcome::Fail("ended without a status".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_misc_check() {
        assert_eq!(exit_outcome(Some(0), None, false), Outcome::PASS);
        assert_eq!(exit_outcome(Some(1), None, true), Outcome::Fail("exit 1".into()));
        assert_eq!(exit_outcome(Some(7), None, false), Outcome::Fail("exit 7".into()));
        assert_eq!(exit_outcome(Some(7), None, true), Outcome::Pass { weight: Some(5) });
        assert_eq!(exit_outcome(Some(2), None, true), Outcome::Pass { weight: Some(0) });
        assert_eq!(exit_outcome(None, Some(9), false), Outcome::Fail("killed by signal 9".into()));
    }

    #[test]
    fn the_server_name_is_the_host_setting_or_the_address() {
        let ip: IpAddr = "10.0.0.21".parse().unwrap();
        assert_eq!(
            format!("{:?}", server_name(Some("www.example.com:8443"), ip)),
            format!("{:?}", rustls::pki_types::ServerName::try_from("www.example.com").unwrap())
        );
        assert!(matches!(server_name(None, ip), rustls::pki_types::ServerName::IpAddress(_)));
    }
}
