//! The HTTP/1.1 side of `http` and `https` checks (pure): the request (method, headers,
//! body, basic authentication), an incremental reader of the response, and the verdict.
//!
//! The reader takes the bytes as they come, each byte once: a line (status, header,
//! chunk size, trailer) is looked at only when its end arrives, a body chunk is copied once,
//! and only a line split across two reads is kept between them. Everything is bounded, and
//! what is over a bound fails the check at once, naming the bound: the status line (1 KiB),
//! each header line (8 KiB), the number of header lines (100), the head (16 KiB), each
//! chunk-size line with its extensions (1 KiB), the body (1 MiB, read only when the check
//! looks at it) and the whole response (2 MiB, in at most 4,096 reads, which the probe
//! counts). The time is bounded by the probe: the check's timeout covers the connection,
//! the TLS handshake and every read together.
//! Whatever of the answer a reason quotes is escaped ([`crate::text`]).

use std::fmt::Write as _;

use md5::{Digest, Md5};

use super::state::Outcome;
use crate::model::cluster::HttpCheck;
use crate::text::Excerpt;

/// The longest status line (`HTTP/1.1 200 OK`), its line end included.
pub const MAX_STATUS_LINE: usize = 1024;
/// The longest header or trailer line, its line end included.
pub const MAX_HEADER_LINE: usize = 8 * 1024;
/// The most header lines of one head (and of the trailers).
pub const MAX_HEADERS: usize = 100;
/// The largest response head (interim 1xx heads included).
pub const MAX_HEAD: usize = 16 * 1024;
/// The longest chunk-size line, extensions and line end included.
pub const MAX_CHUNK_LINE: usize = 1024;
/// The largest body read (for `digest` and `body_regex`).
pub const MAX_BODY: usize = 1024 * 1024;
/// The most bytes of one response read, whatever they are.
pub const MAX_RESPONSE: usize = 2 * 1024 * 1024;
/// The most reads one response may take (the probe counts them): each costs a system call,
/// and a server writing one byte at a time must not make the probe engine spend a system
/// call per byte up to [`MAX_RESPONSE`]. A real response of 2 MiB takes a few hundred.
pub const MAX_READS: usize = 4096;

/// How much of a line from the server a reason quotes.
const QUOTED: usize = 40;
/// The most body bytes reserved before they come (a server may announce more than it sends).
const RESERVE: usize = 64 * 1024;

/// The request: `method path` with `Host`, the default `User-Agent` and `Accept` unless
/// the check sets its own, the check's headers, basic authentication when `password` is
/// given (the check's `auth`), the body with its `Content-Length` (0 for a POST, PUT or
/// PATCH without one), closing the connection after the answer.
pub fn request(c: &HttpCheck, default_host: &str, password: Option<&str>) -> String {
    let host = c.host.as_deref().unwrap_or(default_host);
    let body = c.body.as_deref().unwrap_or_default();
    let mut r =
        String::with_capacity(160 + body.len() + c.headers.iter().map(|(k, v)| k.len() + v.len() + 4).sum::<usize>());
    let _ = write!(r, "{} {} HTTP/1.1\r\nHost: {host}\r\n", c.method, c.path);
    let has = |name: &str| c.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    for (name, value) in [("User-Agent", "lbconverge-check"), ("Accept", "*/*")] {
        if !has(name) {
            let _ = write!(r, "{name}: {value}\r\n");
        }
    }
    for (name, value) in &c.headers {
        let _ = write!(r, "{name}: {value}\r\n");
    }
    if let (Some((user, _)), Some(password)) = (&c.auth, password) {
        let _ = write!(r, "Authorization: Basic {}\r\n", crate::text::base64(format!("{user}:{password}").as_bytes()));
    }
    if c.body.is_some() || matches!(c.method.as_str(), "POST" | "PUT" | "PATCH") {
        let _ = write!(r, "Content-Length: {}\r\n", body.len());
    }
    r.push_str("Connection: close\r\n\r\n");
    r.push_str(body);
    r
}

/// What is wrong with a response, as a check's reason says it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// The first line is not an HTTP/1.x status line; the text is an escaped excerpt.
    #[error("not an HTTP response: `{0}`")]
    NotHttp(String),
    /// The status line is longer than [`MAX_STATUS_LINE`].
    #[error("status line over 1 KiB")]
    StatusLine,
    /// A header or trailer line is longer than [`MAX_HEADER_LINE`].
    #[error("header line over 8 KiB")]
    HeaderLine,
    /// More than [`MAX_HEADERS`] header (or trailer) lines.
    #[error("over 100 header lines")]
    Headers,
    /// The head is larger than [`MAX_HEAD`].
    #[error("response head over 16 KiB")]
    Head,
    /// A `Content-Length` that is not a number; the text is an escaped excerpt.
    #[error("bad Content-Length `{0}`")]
    Length(String),
    /// A chunk-size line is longer than [`MAX_CHUNK_LINE`].
    #[error("chunk-size line over 1 KiB")]
    ChunkLine,
    /// A chunk size that is not a hexadecimal number; the text is an escaped excerpt.
    #[error("bad chunk size `{0}`")]
    ChunkSize(String),
    /// A chunk's data is not followed by a line end.
    #[error("chunk not followed by CRLF")]
    ChunkEnd,
    /// The body is larger than [`MAX_BODY`].
    #[error("body over 1 MiB")]
    Body,
    /// The response is larger than [`MAX_RESPONSE`].
    #[error("response over 2 MiB")]
    Response,
    /// The response took more than [`MAX_READS`] reads.
    #[error("response in over 4096 reads")]
    Reads,
    /// The connection closed before any status line.
    #[error("connection closed before a response")]
    ClosedBeforeResponse,
    /// The connection closed inside the head.
    #[error("connection closed inside the response head")]
    ClosedInHead,
    /// The connection closed before `Content-Length` bytes of body came.
    #[error("connection closed after {got} of {want} body bytes")]
    ClosedInBody {
        /// Body bytes read.
        got: usize,
        /// `Content-Length`.
        want: usize,
    },
    /// The connection closed inside a chunked body.
    #[error("connection closed inside a chunked body")]
    ClosedInChunks,
}

/// Where the reader is in the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before or inside the status line.
    Status,
    /// Inside the header lines.
    Headers,
    /// A body of known length: bytes still to come.
    Length(usize),
    /// A body that ends when the connection closes.
    UntilClose,
    /// Inside a chunk-size line.
    ChunkSize,
    /// Inside a chunk: bytes still to come.
    ChunkData(usize),
    /// After a chunk's data, before its line end; true once its CR came.
    ChunkEnd(bool),
    /// Inside the trailer lines.
    Trailers,
    /// The response is complete.
    Done,
}

/// An incremental reader of one HTTP/1.x response (see the module's documentation).
#[derive(Debug)]
pub struct Reader {
    state: State,
    /// A line begun in an earlier read, when one is.
    line: Vec<u8>,
    /// The body read so far, when the check wants it.
    body: Vec<u8>,
    want_body: bool,
    status: u16,
    chunked: bool,
    length: Option<usize>,
    /// Bytes of heads so far.
    head: usize,
    /// Header (or trailer) lines of this head so far.
    lines: usize,
    /// Bytes taken so far.
    taken: usize,
}

impl Reader {
    /// A reader for one response; the body is kept when `want_body`.
    pub fn new(want_body: bool) -> Self {
        Reader {
            state: State::Status,
            line: Vec::new(),
            body: Vec::new(),
            want_body,
            status: 0,
            chunked: false,
            length: None,
            head: 0,
            lines: 0,
            taken: 0,
        }
    }

    /// The status code; 0 before the status line.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The body read (empty when the check does not want it).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// True once a status line was read.
    pub fn has_status(&self) -> bool {
        self.status != 0
    }

    /// True once the response is complete: the head, and the body when it is wanted.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Takes the next bytes of the response; `Ok(true)` once it is complete (bytes after it
    /// are not looked at).
    pub fn feed(&mut self, data: &[u8]) -> Result<bool, ResponseError> {
        self.taken = self.taken.saturating_add(data.len());
        if self.taken > MAX_RESPONSE {
            return Err(ResponseError::Response);
        }
        let mut rest = data;
        while !rest.is_empty() && self.state != State::Done {
            let used = match self.state {
                State::Status | State::Headers | State::ChunkSize | State::Trailers => self.take_line(rest)?,
                State::Length(left) | State::ChunkData(left) => self.take_body(rest, left)?,
                State::UntilClose => self.take_body(rest, usize::MAX)?,
                State::ChunkEnd(cr) => {
                    self.state = match (cr, rest[0]) {
                        (false, b'\r') => State::ChunkEnd(true),
                        (_, b'\n') => State::ChunkSize,
                        _ => return Err(ResponseError::ChunkEnd),
                    };
                    1
                }
                State::Done => rest.len(),
            };
            rest = &rest[used..];
        }
        Ok(self.is_done())
    }

    /// The connection closed: `Ok(())` when that completes the response (or it was
    /// complete), else what is missing.
    pub fn eof(&mut self) -> Result<(), ResponseError> {
        match self.state {
            State::Done => Ok(()),
            State::UntilClose => {
                self.state = State::Done;
                Ok(())
            }
            State::Status if self.line.is_empty() && self.head == 0 => Err(ResponseError::ClosedBeforeResponse),
            State::Status => {
                let line = std::mem::take(&mut self.line);
                parse_status(trim_cr(&line))?;
                Err(ResponseError::ClosedInHead)
            }
            State::Headers => Err(ResponseError::ClosedInHead),
            State::Length(left) => {
                let want = self.length.unwrap_or_default();
                Err(ResponseError::ClosedInBody { got: want.saturating_sub(left), want })
            }
            State::ChunkSize | State::ChunkData(_) | State::ChunkEnd(_) | State::Trailers => {
                Err(ResponseError::ClosedInChunks)
            }
        }
    }

    /// The most bytes a line may have in the current state, and the error past it.
    fn line_limit(&self) -> (usize, ResponseError) {
        match self.state {
            State::Status => (MAX_STATUS_LINE, ResponseError::StatusLine),
            State::ChunkSize => (MAX_CHUNK_LINE, ResponseError::ChunkLine),
            _ => (MAX_HEADER_LINE, ResponseError::HeaderLine),
        }
    }

    /// Takes bytes of a line from `data`; handles the line when its end is there. Returns
    /// the bytes used.
    fn take_line(&mut self, data: &[u8]) -> Result<usize, ResponseError> {
        let (limit, too_long) = self.line_limit();
        let end = data.iter().position(|b| *b == b'\n');
        let used = end.map_or(data.len(), |e| e + 1);
        if self.line.len() + used > limit {
            return Err(too_long);
        }
        if matches!(self.state, State::Status | State::Headers) {
            self.head += used;
            if self.head > MAX_HEAD {
                return Err(ResponseError::Head);
            }
        }
        let Some(end) = end else {
            self.line.extend_from_slice(data);
            return Ok(used);
        };
        if self.line.is_empty() {
            self.on_line(trim_cr(&data[..end]))?;
        } else {
            let mut line = std::mem::take(&mut self.line);
            line.extend_from_slice(&data[..end]);
            let r = self.on_line(trim_cr(&line));
            line.clear();
            self.line = line;
            r?;
        }
        Ok(used)
    }

    /// Takes up to `left` body bytes from `data`. Returns the bytes used.
    fn take_body(&mut self, data: &[u8], left: usize) -> Result<usize, ResponseError> {
        let used = data.len().min(left);
        if self.body.len() + used > MAX_BODY {
            return Err(ResponseError::Body);
        }
        self.body.extend_from_slice(&data[..used]);
        self.state = match self.state {
            State::Length(_) if used == left => State::Done,
            State::Length(_) => State::Length(left - used),
            State::ChunkData(_) if used == left => State::ChunkEnd(false),
            State::ChunkData(_) => State::ChunkData(left - used),
            other => other,
        };
        Ok(used)
    }

    /// A whole line, its line end cut off.
    fn on_line(&mut self, line: &[u8]) -> Result<(), ResponseError> {
        match self.state {
            // Empty lines before the status line are tolerated (RFC 9112 2.2).
            State::Status if line.is_empty() => {}
            State::Status => {
                self.status = parse_status(line)?;
                (self.state, self.lines, self.chunked, self.length) = (State::Headers, 0, false, None);
            }
            State::Headers if line.is_empty() => self.end_of_head()?,
            State::Headers => {
                self.count_line()?;
                self.header(line)?;
            }
            State::ChunkSize => {
                let size = parse_chunk_size(line)?;
                if size > MAX_BODY - self.body.len() {
                    return Err(ResponseError::Body);
                }
                self.state = if size == 0 { State::Trailers } else { State::ChunkData(size) };
            }
            State::Trailers if line.is_empty() => self.state = State::Done,
            State::Trailers => self.count_line()?,
            _ => {}
        }
        Ok(())
    }

    fn count_line(&mut self) -> Result<(), ResponseError> {
        self.lines += 1;
        if self.lines > MAX_HEADERS { Err(ResponseError::Headers) } else { Ok(()) }
    }

    /// A header line: only the framing ones matter.
    fn header(&mut self, line: &[u8]) -> Result<(), ResponseError> {
        let Some(colon) = line.iter().position(|b| *b == b':') else { return Ok(()) };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"transfer-encoding") {
            self.chunked = value.windows(7).any(|w| w.eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case(b"content-length") {
            let n = std::str::from_utf8(value).ok().filter(|v| v.bytes().all(|b| b.is_ascii_digit()));
            let n = n.and_then(|v| v.parse::<usize>().ok());
            self.length = Some(n.ok_or_else(|| ResponseError::Length(quote(value)))?);
        }
        Ok(())
    }

    /// The blank line after the headers: what comes next.
    fn end_of_head(&mut self) -> Result<(), ResponseError> {
        self.state = match (self.status, self.want_body) {
            // An interim answer (100 Continue, 103 Early Hints): the real one follows.
            (100..=199, _) if self.status != 101 => State::Status,
            (_, false) | (204 | 304, _) => State::Done,
            _ if self.chunked => State::ChunkSize,
            _ => match self.length {
                Some(n) if n > MAX_BODY => return Err(ResponseError::Body),
                Some(0) => State::Done,
                Some(n) => {
                    // What is announced is reserved up to a point: the rest as it comes.
                    self.body.reserve_exact(n.min(RESERVE));
                    State::Length(n)
                }
                None => State::UntilClose,
            },
        };
        Ok(())
    }
}

/// `line` without the CR of a CRLF.
fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// An escaped excerpt of a line from the server, for a reason.
fn quote(line: &[u8]) -> String {
    Excerpt { bytes: line, limit: QUOTED }.to_string()
}

/// The code of `HTTP/1.x SSS reason`.
fn parse_status(line: &[u8]) -> Result<u16, ResponseError> {
    let code = match line {
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', v, b' ', a, b, c, rest @ ..]
            if v.is_ascii_digit()
                && [a, b, c].iter().all(|d| d.is_ascii_digit())
                && matches!(rest.first(), None | Some(b' ')) =>
        {
            [a, b, c].iter().fold(0u16, |n, d| n * 10 + u16::from(**d - b'0'))
        }
        _ => 0,
    };
    if (100..=999).contains(&code) { Ok(code) } else { Err(ResponseError::NotHttp(quote(line))) }
}

/// The size of a chunk-size line (hexadecimal, then perhaps `;extensions`).
fn parse_chunk_size(line: &[u8]) -> Result<usize, ResponseError> {
    let digits = line.split(|b| *b == b';').next().unwrap_or_default().trim_ascii();
    let bad = || ResponseError::ChunkSize(quote(line));
    if digits.is_empty() {
        return Err(bad());
    }
    digits.iter().try_fold(0usize, |n, d| {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return Err(bad()),
        };
        // Past the body bound is too big whatever it is: no overflow.
        Ok(n.saturating_mul(16).saturating_add(usize::from(v)))
    })
}

/// Returns true if and only if the check needs the body.
pub fn wants_body(c: &HttpCheck) -> bool {
    c.digest.is_some() || c.body_regex.is_some()
}

/// The verdict on a status and, when the check looks at it, the body.
pub fn judge(c: &HttpCheck, status: u16, body: Option<&[u8]>) -> Outcome {
    if !c.expect_status.iter().any(|(a, b)| (*a..=*b).contains(&status)) {
        return Outcome::Fail(format!("status {status}, want {}", ranges(&c.expect_status)));
    }
    let body = body.unwrap_or_default();
    if let Some(want) = &c.digest {
        let mut got = String::with_capacity(32);
        Md5::digest(body).iter().for_each(|b| {
            let _ = write!(got, "{b:02x}");
        });
        if &got != want {
            return Outcome::Fail(format!("body digest {got}, want {want}"));
        }
    }
    if let Some(re) = &c.body_regex {
        let matched = regex_lite::Regex::new(re).is_ok_and(|r| r.is_match(&String::from_utf8_lossy(body)));
        if !matched {
            return Outcome::Fail(format!("body does not match /{re}/"));
        }
    }
    Outcome::PASS
}

fn ranges(r: &[(u16, u16)]) -> String {
    let parts: Vec<String> = r.iter().map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check() -> HttpCheck {
        HttpCheck {
            method: "GET".into(),
            path: "/health".into(),
            host: None,
            headers: Vec::new(),
            body: None,
            auth: None,
            expect_status: vec![(200, 299)],
            digest: None,
            body_regex: None,
        }
    }

    #[test]
    fn request_has_host_and_closes() {
        let r = request(&check(), "10.0.0.21:80", None);
        assert_eq!(
            r,
            "GET /health HTTP/1.1\r\nHost: 10.0.0.21:80\r\nUser-Agent: lbconverge-check\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        let named = HttpCheck { host: Some("www.example.com".into()), ..check() };
        assert!(request(&named, "x", None).contains("\r\nHost: www.example.com\r\n"));
    }

    #[test]
    fn method_headers_body_and_basic_auth_are_in_the_request() {
        let c = HttpCheck {
            method: "POST".into(),
            headers: vec![("Accept".into(), "application/json".into()), ("X-Probe".into(), "1".into())],
            body: Some("{\"ping\":1}".into()),
            auth: Some(("ops".into(), crate::model::cluster::Secret::Env("P".into()))),
            ..check()
        };
        assert_eq!(
            request(&c, "10.0.0.21:80", Some("open sesame")),
            "POST /health HTTP/1.1\r\nHost: 10.0.0.21:80\r\nUser-Agent: lbconverge-check\r\n\
             Accept: application/json\r\nX-Probe: 1\r\nAuthorization: Basic b3BzOm9wZW4gc2VzYW1l\r\n\
             Content-Length: 10\r\nConnection: close\r\n\r\n{\"ping\":1}"
        );
        let empty_post = HttpCheck { method: "PUT".into(), ..check() };
        assert!(request(&empty_post, "x", None).contains("\r\nContent-Length: 0\r\n"));
        let head = HttpCheck { method: "HEAD".into(), ..check() };
        assert!(request(&head, "x", None).starts_with("HEAD /health HTTP/1.1\r\n"));
        assert!(!request(&head, "x", None).contains("Content-Length"));
    }

    #[test]
    fn a_head_answer_is_complete_without_its_announced_body() {
        // HEAD is never judged on a body (validation refuses digest and body_regex with it).
        let (r, done) = read(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n", 100, false, false);
        assert_eq!((r.status(), done), (200, Ok(true)));
    }

    /// Feeds `bytes` in pieces of `step` bytes, then the end of the connection when
    /// `close`; the reader, and the first error.
    fn read(bytes: &[u8], step: usize, want_body: bool, close: bool) -> (Reader, Result<bool, ResponseError>) {
        let mut r = Reader::new(want_body);
        for piece in bytes.chunks(step) {
            match r.feed(piece) {
                Ok(true) => return (r, Ok(true)),
                Ok(false) => {}
                Err(e) => return (r, Err(e)),
            }
        }
        let end = if close { r.eof().map(|()| true) } else { Ok(r.is_done()) };
        (r, end)
    }

    /// Every piece size gives the same result.
    fn every_step(bytes: &[u8], want_body: bool, close: bool) -> (u16, Result<Vec<u8>, ResponseError>) {
        let (r, first) = read(bytes, bytes.len().max(1), want_body, close);
        let want = (r.status(), first.map(|_| r.body().to_vec()));
        for step in [1, 2, 3, 7, 64] {
            let (r, got) = read(bytes, step, want_body, close);
            assert_eq!((r.status(), got.map(|_| r.body().to_vec())), want, "in pieces of {step}");
        }
        want
    }

    #[test]
    fn heads_are_read_in_any_pieces_and_the_body_only_when_wanted() {
        let full = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nX: y\r\n\r\nbusy!";
        assert_eq!(every_step(full, false, false), (503, Ok(Vec::new())));
        assert_eq!(every_step(full, true, false), (503, Ok(b"busy!".to_vec())));
        let (r, done) = read(&full[..20], 20, false, false);
        assert_eq!((r.status(), done), (0, Ok(false)));
        let lf_only = b"HTTP/1.0 200 OK\nContent-Length: 2\n\nok";
        assert_eq!(every_step(lf_only, true, false), (200, Ok(b"ok".to_vec())));
        let until_close = b"HTTP/1.0 200 OK\r\n\r\nall of it";
        assert_eq!(every_step(until_close, true, true), (200, Ok(b"all of it".to_vec())));
        let interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
        assert_eq!(every_step(interim, true, false), (204, Ok(Vec::new())));
    }

    #[test]
    fn chunked_bodies_decode_and_truncation_is_noticed() {
        let b =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nT: x\r\n\r\n";
        assert_eq!(every_step(b, true, false), (200, Ok(b"Wikipedia".to_vec())));
        assert_eq!(every_step(&b[..60], true, true).1, Err(ResponseError::ClosedInChunks));
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert_eq!(every_step(bad, true, false).1, Err(ResponseError::ChunkSize("zz".into())));
        let unended = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX";
        assert_eq!(every_step(unended, true, false).1, Err(ResponseError::ChunkEnd));
        let huge = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffffff\r\n";
        assert_eq!(every_step(huge, true, false).1, Err(ResponseError::Body));
    }

    #[test]
    fn every_line_and_size_is_bounded() {
        let over = |prefix: &[u8], fill: u8, n: usize| [prefix, &vec![fill; n][..]].concat();
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        let cases: [(Vec<u8>, ResponseError); 8] = [
            (over(b"HTTP/1.1 200 ", b'x', MAX_STATUS_LINE), ResponseError::StatusLine),
            (over(b"HTTP/1.1 200 OK\r\nX: ", b'a', MAX_HEADER_LINE), ResponseError::HeaderLine),
            ([&b"HTTP/1.1 200 OK\r\n"[..], &b"X: y\r\n".repeat(101)].concat(), ResponseError::Headers),
            (
                [&b"HTTP/1.1 200 OK\r\n"[..], &[over(b"X: ", b'a', 200), b"\r\n".to_vec()].concat().repeat(90)]
                    .concat(),
                ResponseError::Head,
            ),
            (over(chunked, b'0', MAX_CHUNK_LINE + 1), ResponseError::ChunkLine),
            (over(&[&chunked[..], b"1;e="].concat(), b'v', MAX_CHUNK_LINE), ResponseError::ChunkLine),
            (over(b"HTTP/1.1 200 OK\r\nContent-Length: 1048577\r\n\r\n", b'x', 0), ResponseError::Body),
            (over(b"HTTP/1.1 200 OK\r\n\r\n", b'x', MAX_BODY + 1), ResponseError::Body),
        ];
        for (bytes, want) in cases {
            assert_eq!(every_step(&bytes, true, false).1, Err(want.clone()), "{want}");
        }
        let many = [&chunked[..], &b"1\r\nx\r\n".repeat(MAX_RESPONSE / 6 + 1)].concat();
        assert_eq!(read(&many, 8192, true, false).1, Err(ResponseError::Response));
    }

    #[test]
    fn what_is_quoted_from_the_server_is_escaped_and_short() {
        let (_, got) = read(b"\x1b[2J\x1b]0;owned\x07HTTP/1.1 200 OK\r\n\r\n", 100, false, false);
        assert_eq!(got, Err(ResponseError::NotHttp("\\x1b[2J\\x1b]0;owned\\x07HTTP/1.1 200 OK".into())));
        let (_, got) = read(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3 and more text here\r\n", 100, false, false);
        assert_eq!(got, Err(ResponseError::NotHttp("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3 a...".into())));
        let (_, got) = read(b"HTTP/1.1 200 OK\r\nContent-Length: \x1b[31m\r\n\r\n", 100, true, false);
        assert_eq!(got, Err(ResponseError::Length("\\x1b[31m".into())));
        let (mut r, _) = read(b"SSH-2.0-OpenSSH", 100, false, false);
        assert_eq!(r.eof(), Err(ResponseError::NotHttp("SSH-2.0-OpenSSH".into())));
        assert_eq!(Reader::new(false).eof(), Err(ResponseError::ClosedBeforeResponse));
        let (mut r, _) = read(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", 100, true, false);
        assert_eq!(r.eof(), Err(ResponseError::ClosedInBody { got: 2, want: 5 }));
    }

    #[test]
    fn each_byte_is_looked_at_once() {
        // A megabyte-sized chunked body in one-byte chunks, fed in one-byte reads: linear
        // work (the old reader decoded the whole buffer again after every read).
        let body = b"1\r\nx\r\n".repeat(300_000);
        let bytes = [&b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"[..], &body, b"0\r\n\r\n"].concat();
        let started = std::time::Instant::now();
        let (r, done) = read(&bytes, 1, true, false);
        assert_eq!((done, r.body().len()), (Ok(true), 300_000));
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    }

    #[test]
    fn verdicts_name_what_is_wrong() {
        let c = HttpCheck { expect_status: vec![(200, 299), (301, 301)], ..check() };
        assert_eq!(judge(&c, 204, None), Outcome::PASS);
        assert_eq!(judge(&c, 404, None), Outcome::Fail("status 404, want 200-299, 301".into()));
        let c = HttpCheck { digest: Some("5d41402abc4b2a76b9719d911017c592".into()), ..check() };
        assert_eq!(judge(&c, 200, Some(b"hello")), Outcome::PASS);
        assert!(matches!(judge(&c, 200, Some(b"hellO")), Outcome::Fail(m) if m.starts_with("body digest ")));
        let c = HttpCheck { body_regex: Some("^ok( |$)".into()), ..check() };
        assert_eq!(judge(&c, 200, Some(b"ok fine")), Outcome::PASS);
        assert_eq!(judge(&c, 200, Some(b"not ok")), Outcome::Fail("body does not match /^ok( |$)/".into()));
    }
}
