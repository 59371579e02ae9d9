//! A small synchronous netlink socket: frames requests, sends many per datagram, and matches
//! acknowledgements and dump parts to requests by sequence number. Used for rtnetlink and
//! generic netlink (IPVS). Pipelining: up to `WINDOW` requests are in flight, so a large
//! apply costs a few system calls per thousand kernel operations instead of two per operation.

use std::io;

use netlink_sys::Socket;

/// `NLM_F_REQUEST`.
pub const F_REQUEST: u16 = 0x1;
/// `NLM_F_MULTI`.
pub const F_MULTI: u16 = 0x2;
/// `NLM_F_ACK`.
pub const F_ACK: u16 = 0x4;
/// `NLM_F_REPLACE`.
pub const F_REPLACE: u16 = 0x100;
/// `NLM_F_EXCL`.
pub const F_EXCL: u16 = 0x200;
/// `NLM_F_CREATE`.
pub const F_CREATE: u16 = 0x400;
/// `NLM_F_DUMP`.
pub const F_DUMP: u16 = 0x300;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const HDR: usize = 16;
/// Requests in flight at most (their acknowledgements must fit the receive buffer).
const WINDOW: usize = 256;
/// Bytes per sent datagram at most.
const SEND_CHUNK: usize = 48 * 1024;

/// One message received: its type, flags, sequence number and payload.
#[derive(Debug, Clone)]
pub struct Msg {
    /// `nlmsg_type`.
    pub kind: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// Bytes after the header.
    pub payload: Vec<u8>,
}

/// A request: message type, flags and payload (the header is added when sent).
#[derive(Debug, Clone)]
pub struct Request {
    /// `nlmsg_type` (a generic netlink family id, or `RTM_*`).
    pub kind: u16,
    /// Flags besides `NLM_F_REQUEST`.
    pub flags: u16,
    /// Payload.
    pub payload: Vec<u8>,
}

/// A bound netlink socket.
pub struct NlSocket {
    sock: Socket,
    seq: u32,
    rx: Vec<u8>,
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

impl NlSocket {
    /// Opens a socket of `protocol` (`NETLINK_ROUTE`, `NETLINK_GENERIC`).
    pub fn open(protocol: isize) -> io::Result<Self> {
        let mut sock = Socket::new(protocol)?;
        sock.bind_auto()?;
        // Errors need not echo the whole request back.
        let _ = sock.set_cap_ack(true);
        grow_receive_buffer(&sock);
        Ok(NlSocket { sock, seq: 1, rx: vec![0; 256 * 1024] })
    }

    fn frame(&mut self, r: &Request, out: &mut Vec<u8>) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        let len = u32::try_from(HDR + r.payload.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_ne_bytes());
        out.extend_from_slice(&r.kind.to_ne_bytes());
        out.extend_from_slice(&(r.flags | F_REQUEST).to_ne_bytes());
        out.extend_from_slice(&self.seq.to_ne_bytes());
        out.extend_from_slice(&0u32.to_ne_bytes());
        out.extend_from_slice(&r.payload);
        out.resize(align4(out.len()), 0);
        self.seq
    }

    fn send_all(&self, buf: &[u8]) -> io::Result<()> {
        let sent = self.sock.send(buf, 0)?;
        if sent != buf.len() {
            return Err(io::Error::other(format!("netlink sent {sent} of {} bytes", buf.len())));
        }
        Ok(())
    }

    /// Receives one datagram and splits it into messages.
    fn recv(&mut self) -> io::Result<Vec<Msg>> {
        let n = loop {
            let mut slice = &mut self.rx[..];
            match self.sock.recv(&mut slice, libc::MSG_TRUNC) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
                Ok(n) if n > self.rx.len() => {
                    return Err(io::Error::other(format!("netlink message of {n} bytes was truncated")));
                }
                Ok(n) => break n,
            }
        };
        split(&self.rx[..n])
    }

    /// Sends requests with `NLM_F_ACK`, pipelined; returns one result per request sent, in
    /// order. After the first error no further requests are sent (those in flight still
    /// get their answers).
    pub fn pipeline(&mut self, reqs: &[Request]) -> io::Result<Vec<io::Result<()>>> {
        let mut results: Vec<Option<io::Result<()>>> = Vec::with_capacity(reqs.len());
        let (mut base, mut sent, mut answered, mut failed) = (0u32, 0usize, 0usize, false);
        loop {
            if !failed && sent < reqs.len() && sent - answered < WINDOW {
                sent = self.send_window(reqs, sent, WINDOW - (sent - answered), &mut base)?;
                results.resize_with(sent, || None);
                continue;
            }
            if answered == sent {
                break;
            }
            for m in self.recv()? {
                let i = m.seq.wrapping_sub(base) as usize;
                if m.kind == NLMSG_ERROR && i < sent && results[i].is_none() {
                    let r = ack_result(&m.payload);
                    failed |= r.is_err();
                    results[i] = Some(r);
                    answered += 1;
                }
            }
        }
        Ok(results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect())
    }

    /// Frames and sends up to `room` requests from `start`; returns the index after the last.
    fn send_window(&mut self, reqs: &[Request], start: usize, room: usize, base: &mut u32) -> io::Result<usize> {
        let mut buf = Vec::with_capacity(SEND_CHUNK + 4096);
        let mut i = start;
        while i < reqs.len() && i - start < room && buf.len() < SEND_CHUNK {
            let mut r = reqs[i].clone();
            r.flags |= F_ACK;
            let seq = self.frame(&r, &mut buf);
            if i == 0 {
                *base = seq;
            }
            i += 1;
        }
        self.send_all(&buf)?;
        Ok(i)
    }

    /// Sends one request with `NLM_F_ACK` and waits for its acknowledgement.
    pub fn request(&mut self, r: Request) -> io::Result<()> {
        let mut v = self.pipeline(std::slice::from_ref(&r))?;
        v.pop().unwrap_or(Ok(()))
    }

    /// Sends a request that is answered by data messages (not a dump), like the generic
    /// netlink family lookup; returns those messages.
    pub fn dump_one(&mut self, r: Request) -> io::Result<Vec<Msg>> {
        let mut buf = Vec::new();
        let mut r = r;
        r.flags |= F_ACK;
        let seq = self.frame(&r, &mut buf);
        self.send_all(&buf)?;
        let mut parts = Vec::new();
        loop {
            for m in self.recv()? {
                match m.kind {
                    _ if m.seq != seq => {}
                    NLMSG_ERROR => return ack_result(&m.payload).map(|()| parts),
                    NLMSG_DONE => return done_result(&m.payload).map(|()| parts),
                    _ => parts.push(m),
                }
            }
        }
    }

    /// Sends a dump request; returns the payloads of every part until `NLMSG_DONE`.
    pub fn dump(&mut self, mut r: Request) -> io::Result<Vec<Msg>> {
        r.flags |= F_DUMP;
        let mut buf = Vec::new();
        let seq = self.frame(&r, &mut buf);
        self.send_all(&buf)?;
        let mut parts = Vec::new();
        loop {
            for m in self.recv()? {
                if m.seq != seq {
                    continue;
                }
                match m.kind {
                    NLMSG_DONE => return done_result(&m.payload).map(|()| parts),
                    NLMSG_ERROR => return ack_result(&m.payload).map(|()| parts),
                    _ => parts.push(m),
                }
            }
        }
    }
}

/// Room for a full window of acknowledgements: SO_RCVBUFFORCE as root (past rmem_max),
/// else SO_RCVBUF.
fn grow_receive_buffer(sock: &Socket) {
    const SIZE: libc::c_int = 8 * 1024 * 1024;
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        if crate::sys::setsockopt_int(sock, libc::SOL_SOCKET, opt, SIZE).is_ok() {
            return;
        }
    }
}

fn errno_of(payload: &[u8]) -> i32 {
    payload.get(..4).map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

fn ack_result(payload: &[u8]) -> io::Result<()> {
    match errno_of(payload) {
        0 => Ok(()),
        e => Err(io::Error::from_raw_os_error(-e)),
    }
}

fn done_result(payload: &[u8]) -> io::Result<()> {
    match errno_of(payload) {
        e if e < 0 => Err(io::Error::from_raw_os_error(-e)),
        _ => Ok(()),
    }
}

/// Splits a datagram into messages; rejects malformed lengths.
pub fn split(mut data: &[u8]) -> io::Result<Vec<Msg>> {
    let mut out = Vec::new();
    while data.len() >= HDR {
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        if len < HDR || len > data.len() {
            return Err(io::Error::other(format!("malformed netlink message length {len}")));
        }
        out.push(Msg {
            kind: u16::from_ne_bytes([data[4], data[5]]),
            flags: u16::from_ne_bytes([data[6], data[7]]),
            seq: u32::from_ne_bytes([data[8], data[9], data[10], data[11]]),
            payload: data[HDR..len].to_vec(),
        });
        data = &data[align4(len).min(data.len())..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_rejects_bad_lengths_and_reads_good_ones() {
        let mut good = Vec::new();
        good.extend_from_slice(&20u32.to_ne_bytes());
        good.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        good.extend_from_slice(&0u16.to_ne_bytes());
        good.extend_from_slice(&7u32.to_ne_bytes());
        good.extend_from_slice(&0u32.to_ne_bytes());
        good.extend_from_slice(&(-17i32).to_ne_bytes());
        let m = split(&good).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].seq, 7);
        assert_eq!(ack_result(&m[0].payload).unwrap_err().raw_os_error(), Some(17));
        let mut bad = good.clone();
        bad[0] = 200;
        assert!(split(&bad).is_err());
        bad[0] = 3;
        assert!(split(&bad).is_err());
    }
}
