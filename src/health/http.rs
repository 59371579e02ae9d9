//! The HTTP/1.1 side of `http` and `https` checks (pure): the request, the response head,
//! a chunked body, and the verdict. Bounded: a head over 16 KiB or a body over 1 MiB fails
//! the check instead of growing without end.

use md5::{Digest, Md5};

use super::state::Outcome;
use crate::model::cluster::HttpCheck;

/// The largest response head read.
pub const MAX_HEAD: usize = 16 * 1024;
/// The largest body read (for `digest` and `body_regex`).
pub const MAX_BODY: usize = 1024 * 1024;

/// The request: `GET path` with `Host`, closing the connection after the answer.
pub fn request(c: &HttpCheck, default_host: &str) -> String {
    let host = c.host.as_deref().unwrap_or(default_host);
    format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: lbconverge-check\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        c.path
    )
}

/// A response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The status code.
    pub status: u16,
    /// Bytes of the head, up to and including the blank line.
    pub len: usize,
    /// `Transfer-Encoding: chunked`.
    pub chunked: bool,
    /// `Content-Length`.
    pub length: Option<usize>,
}

/// Parses the head at the start of `buf`; `Ok(None)` when more bytes are needed.
pub fn head(buf: &[u8]) -> Result<Option<Head>, String> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > MAX_HEAD { Err("response head over 16 KiB".into()) } else { Ok(None) };
    };
    let text = std::str::from_utf8(&buf[..end]).map_err(|_| "response head is not text".to_string())?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|r| r.get(2..5))
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| format!("not an HTTP response: `{}`", status_line.chars().take(40).collect::<String>()))?;
    let mut h = Head { status, len: end + 4, chunked: false, length: None };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            h.chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            h.length = Some(value.parse().map_err(|_| format!("bad Content-Length `{value}`"))?);
        }
    }
    Ok(Some(h))
}

/// Decodes a chunked body; `Ok(None)` when more bytes are needed.
pub fn dechunk(mut buf: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = buf.windows(2).position(|w| w == b"\r\n") else { return Ok(None) };
        let size_text = std::str::from_utf8(&buf[..eol]).map_err(|_| "bad chunk size".to_string())?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| format!("bad chunk size `{size_text}`"))?;
        if out.len() + size > MAX_BODY {
            return Err("body over 1 MiB".into());
        }
        let data = eol + 2;
        if size == 0 {
            return Ok(Some(out));
        }
        let Some(chunk) = buf.get(data..data + size) else { return Ok(None) };
        out.extend_from_slice(chunk);
        match buf.get(data + size..data + size + 2) {
            Some(b"\r\n") => buf = &buf[data + size + 2..],
            Some(_) => return Err("chunk not followed by CRLF".into()),
            None => return Ok(None),
        }
    }
}

/// Returns true if and only if the check needs the body.
pub fn wants_body(c: &HttpCheck) -> bool {
    c.digest.is_some() || c.body_regex.is_some()
}

/// The body once complete: `Ok(None)` when more bytes are needed. `done` says the
/// connection closed (which ends a body without length).
pub fn body(h: &Head, rest: &[u8], done: bool) -> Result<Option<Vec<u8>>, String> {
    if h.chunked {
        return match dechunk(rest)? {
            None if done => Err("connection closed inside a chunked body".into()),
            other => Ok(other),
        };
    }
    match h.length {
        Some(n) if n > MAX_BODY => Err("body over 1 MiB".into()),
        Some(n) if rest.len() >= n => Ok(Some(rest[..n].to_vec())),
        Some(n) if done => Err(format!("connection closed after {} of {n} body bytes", rest.len())),
        Some(_) => Ok(None),
        None if rest.len() > MAX_BODY => Err("body over 1 MiB".into()),
        None => Ok(done.then(|| rest.to_vec())),
    }
}

/// The verdict on a status and, when the check looks at it, the body.
pub fn judge(c: &HttpCheck, status: u16, body: Option<&[u8]>) -> Outcome {
    if !c.expect_status.iter().any(|(a, b)| (*a..=*b).contains(&status)) {
        return Outcome::Fail(format!("status {status}, want {}", ranges(&c.expect_status)));
    }
    let body = body.unwrap_or_default();
    if let Some(want) = &c.digest {
        let got: String = Md5::digest(body).iter().map(|b| format!("{b:02x}")).collect();
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
            path: "/health".into(),
            host: None,
            expect_status: vec![(200, 299)],
            digest: None,
            body_regex: None,
        }
    }

    #[test]
    fn request_has_host_and_closes() {
        let r = request(&check(), "10.0.0.21:80");
        assert_eq!(
            r,
            "GET /health HTTP/1.1\r\nHost: 10.0.0.21:80\r\nUser-Agent: lbconverge-check\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        let named = HttpCheck { host: Some("www.example.com".into()), ..check() };
        assert!(request(&named, "x").contains("\r\nHost: www.example.com\r\n"));
    }

    #[test]
    fn heads_are_parsed_incrementally_and_bounded() {
        let full = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nX: y\r\n\r\nbusy!";
        assert_eq!(head(&full[..20]), Ok(None));
        let h = head(full).unwrap().unwrap();
        assert_eq!((h.status, h.length, h.chunked), (503, Some(5), false));
        assert_eq!(&full[h.len..], b"busy!");
        assert!(head(b"SSH-2.0-OpenSSH\r\n\r\n").unwrap_err().starts_with("not an HTTP response"));
        assert_eq!(head(&vec![b'x'; MAX_HEAD + 1]), Err("response head over 16 KiB".into()));
        let h = head(b"HTTP/1.0 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n").unwrap().unwrap();
        assert!(h.chunked);
    }

    #[test]
    fn chunked_bodies_decode_and_truncation_is_noticed() {
        let b = b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\n";
        assert_eq!(dechunk(b), Ok(Some(b"Wikipedia".to_vec())));
        assert_eq!(dechunk(&b[..12]), Ok(None));
        assert!(dechunk(b"zz\r\n").is_err());
        let h = Head { status: 200, len: 0, chunked: true, length: None };
        assert!(body(&h, &b[..12], true).is_err());
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
