//! What the control socket ([`super::control`]) and the metrics listener
//! ([`super::metrics`]) share so that no client can blind the others: each connection is
//! served on a thread of its own, up to a bound in all and per peer ([`Slots`]; beyond it
//! the listener refuses at once, on its accepting thread); a request is read against one
//! overall deadline, not a timeout per read ([`Deadline`]), in lines of capped length
//! ([`read_line`]); the answer is written against a deadline too, and the connection is
//! closed so that the client reads it whole ([`finish`]).
//!
//! ```text
//! accept ──> refused peer / no slot? ──yes──> short answer, close (never waits)
//!              │ no
//!              └──> thread: request (2 s in all, capped) ──> main loop ──> answer (10 s) ──> close
//! ```

use std::collections::HashMap;
use std::hash::Hash;
use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a client has to send its whole request (line and headers).
pub const READ_DEADLINE: Duration = Duration::from_secs(2);
/// How long a client has to take its whole answer.
pub const WRITE_DEADLINE: Duration = Duration::from_secs(10);
/// How long the main loop has to answer a request (it answers between two passes).
pub const ANSWER_DEADLINE: Duration = Duration::from_secs(10);
/// A connection thread's stack: rendering a status is shallow; small, since `run
/// --lock-memory` locks every thread's whole stack.
const STACK: usize = 256 << 10;
/// After the answer: what a client may still send (read and dropped) before the close, so
/// that the close does not reset the connection under an answer not yet read.
const LINGER_BYTES: usize = 1 << 20;
/// ... and for how long.
const LINGER: Duration = Duration::from_millis(500);

/// Why a request could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The deadline passed before the request was whole.
    #[error("request not complete within {} s", READ_DEADLINE.as_secs())]
    TimedOut,
    /// A line was longer than allowed.
    #[error("{what} over {limit} bytes")]
    TooLong {
        /// What was too long (`request line`, `headers`).
        what: &'static str,
        /// The cap.
        limit: usize,
    },
    /// More header lines than allowed.
    #[error("more than {limit} header lines")]
    TooMany {
        /// The cap.
        limit: usize,
    },
    /// The client closed before the request was whole.
    #[error("the client closed the connection before the end of its request")]
    Closed,
    /// The socket failed.
    #[error("read the request: {0}")]
    Io(io::Error),
}

impl From<io::Error> for RequestError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => RequestError::TimedOut,
            _ => RequestError::Io(e),
        }
    }
}

/// The connections being served, in all and per peer; a [`Slot`] gives its place back
/// when dropped.
pub struct Slots<K: Eq + Hash> {
    taken: Arc<Mutex<Taken<K>>>,
    total: usize,
    per_peer: usize,
}

/// The count in all, and per peer (peers with none are not kept).
struct Taken<K> {
    total: usize,
    by_peer: HashMap<K, usize>,
}

/// One connection's place among the [`Slots`].
pub struct Slot<K: Eq + Hash> {
    taken: Arc<Mutex<Taken<K>>>,
    peer: K,
}

/// Why a connection got no slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// Every slot is taken.
    Total(usize),
    /// This peer holds as many as one peer may.
    Peer(usize),
}

impl std::fmt::Display for Full {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Full::Total(n) => write!(f, "busy: {n} requests in progress, the most served at once; try again"),
            Full::Peer(n) => {
                write!(f, "busy: {n} requests from this address in progress, the most one address gets; try again")
            }
        }
    }
}

impl<K: Eq + Hash + Clone> Slots<K> {
    /// At most `total` connections at once, `per_peer` of them from one peer.
    pub fn new(total: usize, per_peer: usize) -> Self {
        Slots { taken: Arc::new(Mutex::new(Taken { total: 0, by_peer: HashMap::new() })), total, per_peer }
    }

    /// A slot for a connection from `peer`, unless the bounds are reached.
    pub fn take(&self, peer: K) -> Result<Slot<K>, Full> {
        let mut t = self.taken.lock().unwrap_or_else(PoisonError::into_inner);
        if t.total >= self.total {
            return Err(Full::Total(self.total));
        }
        let mine = t.by_peer.entry(peer.clone()).or_insert(0);
        if *mine >= self.per_peer {
            return Err(Full::Peer(self.per_peer));
        }
        *mine += 1;
        t.total += 1;
        Ok(Slot { taken: Arc::clone(&self.taken), peer })
    }
}

impl<K: Eq + Hash> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut t = self.taken.lock().unwrap_or_else(PoisonError::into_inner);
        t.total = t.total.saturating_sub(1);
        if let Some(n) = t.by_peer.get_mut(&self.peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                t.by_peer.remove(&self.peer);
            }
        }
    }
}

/// Serves one connection on a thread of its own (named `name`), which holds `slot` until
/// it ends. A thread that cannot be started drops the connection.
pub fn spawn<K: Eq + Hash + Send + 'static>(name: &str, slot: Slot<K>, serve: impl FnOnce() + Send + 'static) {
    let started = std::thread::Builder::new().name(name.into()).stack_size(STACK).spawn(move || {
        serve();
        drop(slot);
    });
    if let Err(e) = started {
        tracing::warn!(error = %e, thread = name, "connection not served: no thread");
    }
}

/// A stream socket whose reads and writes can time out.
pub trait Timed {
    /// Like `set_read_timeout`.
    fn read_timeout(&self, t: Option<Duration>) -> io::Result<()>;
    /// Like `set_write_timeout`.
    fn write_timeout(&self, t: Option<Duration>) -> io::Result<()>;
    /// Like `shutdown(Write)`.
    fn shut_write(&self) -> io::Result<()>;
    /// Like `set_nonblocking`.
    fn nonblocking(&self, on: bool) -> io::Result<()>;
}

macro_rules! timed {
    ($t:ty) => {
        impl Timed for $t {
            fn read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
                self.set_read_timeout(t)
            }
            fn write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
                self.set_write_timeout(t)
            }
            fn shut_write(&self) -> io::Result<()> {
                self.shutdown(Shutdown::Write)
            }
            fn nonblocking(&self, on: bool) -> io::Result<()> {
                self.set_nonblocking(on)
            }
        }
    };
}
timed!(UnixStream);
timed!(TcpStream);

/// A socket read and written against one deadline for everything: each read or write may
/// wait only for what is left of it, then fails with `TimedOut`.
pub struct Deadline<'a, S> {
    sock: &'a S,
    until: Instant,
}

impl<'a, S: Timed> Deadline<'a, S> {
    /// Reads and writes on `sock` until `after` from now.
    pub fn new(sock: &'a S, after: Duration) -> Self {
        Deadline { sock, until: Instant::now() + after }
    }

    /// What is left, or `TimedOut`.
    fn left(&self) -> io::Result<Duration> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() { Err(io::ErrorKind::TimedOut.into()) } else { Ok(left) }
    }
}

/// A timeout of a socket read or write (`EAGAIN`) as `TimedOut`.
fn timed_out(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::WouldBlock { io::ErrorKind::TimedOut.into() } else { e }
}

impl<S: Timed> Read for Deadline<'_, S>
where
    for<'s> &'s S: Read,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.read_timeout(Some(self.left()?))?;
        let mut sock = self.sock;
        sock.read(buf).map_err(timed_out)
    }
}

impl<S: Timed> Write for Deadline<'_, S>
where
    for<'s> &'s S: Write,
{
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sock.write_timeout(Some(self.left()?))?;
        let mut sock = self.sock;
        sock.write(buf).map_err(timed_out)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One line ending in `\n`, at most `limit` bytes with it (`what` names it in the error);
/// bytes past the line stay in the reader.
pub fn read_line(r: &mut impl BufRead, limit: usize, what: &'static str) -> Result<Vec<u8>, RequestError> {
    let mut line = Vec::new();
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Err(RequestError::Closed);
        }
        let (take, done) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if line.len() + take > limit {
            return Err(RequestError::TooLong { what, limit });
        }
        line.extend_from_slice(&buf[..take]);
        r.consume(take);
        if done {
            return Ok(line);
        }
    }
}

/// Writes `answer` within [`WRITE_DEADLINE`], then closes the connection gracefully: the
/// sending side first, then what the client still sends is read and dropped (at most 1 MiB
/// for at most 500 ms) so that the close does not reset the connection before the client
/// has read the answer.
pub fn finish<S: Timed>(sock: &S, answer: &[u8]) -> io::Result<()>
where
    for<'s> &'s S: Read + Write,
{
    Deadline::new(sock, WRITE_DEADLINE).write_all(answer)?;
    linger(sock)
}

/// Closes the sending side and reads what the client still sends, within bounds.
fn linger<S: Timed>(sock: &S) -> io::Result<()>
where
    for<'s> &'s S: Read,
{
    sock.shut_write()?;
    let mut drop = [0u8; 8192];
    let mut read = Deadline::new(sock, LINGER).take(u64::try_from(LINGER_BYTES).unwrap_or(u64::MAX));
    while read.read(&mut drop).unwrap_or(0) > 0 {}
    Ok(())
}

/// Answers a connection the accepting thread will not serve (a refused peer, no slot)
/// without ever waiting: what the client already sent is read and dropped, `answer` is
/// written if the socket takes it at once, and the connection is closed.
pub fn refuse<S: Timed>(sock: &S, answer: &[u8])
where
    for<'s> &'s S: Read + Write,
{
    if sock.nonblocking(true).is_err() {
        return;
    }
    let mut drop = [0u8; 8192];
    let mut reader = sock;
    for _ in 0..8 {
        if !matches!(reader.read(&mut drop), Ok(n) if n > 0) {
            break;
        }
    }
    let mut writer = sock;
    let _ = writer.write_all(answer);
    let _ = sock.shut_write();
}

/// Why the main loop gave no answer to a request: it did not in time, or it is gone.
pub fn no_answer(e: RecvTimeoutError) -> String {
    match e {
        RecvTimeoutError::Timeout => {
            format!("the daemon's main loop did not answer within {} s", ANSWER_DEADLINE.as_secs())
        }
        RecvTimeoutError::Disconnected => "the daemon is stopping".into(),
    }
}

/// Pauses an accepting loop after a failed `accept` (out of descriptors, say), so that it
/// does not spin.
pub fn accept_failed(listener: &'static str, e: &io::Error) {
    tracing::warn!(error = %e, listener, "accept failed; pausing 100 ms");
    std::thread::sleep(Duration::from_millis(100));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_bound_the_total_and_each_peer_and_come_back_when_dropped() {
        let slots = Slots::new(3, 2);
        let a1 = slots.take("a").unwrap();
        let _a2 = slots.take("a").unwrap();
        assert_eq!(slots.take("a").err(), Some(Full::Peer(2)));
        let _b1 = slots.take("b").unwrap();
        assert_eq!(slots.take("c").err(), Some(Full::Total(3)));
        drop(a1);
        let _c1 = slots.take("c").unwrap();
        assert_eq!(slots.take("a").err(), Some(Full::Total(3)));
    }

    #[test]
    fn a_line_is_read_whole_or_refused_at_its_cap() {
        let mut r = io::BufReader::with_capacity(4, &b"GET / HTTP/1.1\r\nHost: x\r\n"[..]);
        assert_eq!(read_line(&mut r, 16, "request line").unwrap(), b"GET / HTTP/1.1\r\n");
        assert_eq!(read_line(&mut r, 9, "header").unwrap(), b"Host: x\r\n");
        assert!(matches!(read_line(&mut r, 9, "header"), Err(RequestError::Closed)));
        let mut r = io::BufReader::with_capacity(4, &b"0123456789\n"[..]);
        let e = read_line(&mut r, 10, "request line").unwrap_err();
        assert_eq!(e.to_string(), "request line over 10 bytes");
    }

    #[test]
    fn the_deadline_covers_all_reads_not_each() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let dripper = std::thread::spawn(move || {
            for _ in 0..10 {
                if b.write_all(b"x").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let started = Instant::now();
        let mut r = io::BufReader::new(Deadline::new(&a, Duration::from_millis(350)));
        assert!(matches!(read_line(&mut r, 100, "line"), Err(RequestError::TimedOut)));
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(340) && took < Duration::from_millis(600), "{took:?}");
        drop(r);
        drop(a);
        dripper.join().unwrap();
    }
}
