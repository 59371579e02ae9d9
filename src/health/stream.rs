//! The `tcp` check's exchange (pure): what the server's reply so far means when the check
//! `expect`s one. The probe reads at most [`MAX_REPLY`] bytes in at most [`MAX_READS`]
//! reads, within the check's timeout, and asks after each read whether the reply matches;
//! how it ended when it never did ([`End`]) is the reason of the failure, quoting the reply
//! escaped ([`crate::text`]).

use std::time::Duration;

use crate::model::validate::parse::duration_text;
use crate::text::Excerpt;

/// The most reply bytes read (a banner or a line; a regex over more is not a check).
pub const MAX_REPLY: usize = 4096;
/// The most reads one reply may take: a server writing a byte at a time must not make the
/// probe match the expression again for every byte.
pub const MAX_READS: usize = 256;

/// How much of a reply a reason quotes.
const QUOTED: usize = 40;

/// True when `reply` (at least one byte) matches `expect`; bytes that are not UTF-8 are
/// read as U+FFFD.
pub fn matches(expect: &regex_lite::Regex, reply: &[u8]) -> bool {
    !reply.is_empty() && expect.is_match(&String::from_utf8_lossy(reply))
}

/// How a reply that did not match ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The server closed the connection.
    Closed,
    /// [`MAX_REPLY`] bytes came.
    Full,
    /// [`MAX_READS`] reads came.
    Reads,
    /// The check's timeout passed.
    Timeout(Duration),
}

/// The reason of a check whose `reply` never matched `expect`.
pub fn failure(expect: &str, reply: &[u8], end: End) -> String {
    let quoted = Excerpt { bytes: reply, limit: QUOTED };
    let expect = crate::text::Escaped(expect);
    match (end, reply.is_empty()) {
        (End::Closed, true) => "connection closed before a reply".into(),
        (End::Timeout(t), true) => format!("timeout after {}: no reply", duration_text(t)),
        (End::Closed, false) => format!("reply `{quoted}` does not match /{expect}/; connection closed"),
        (End::Full, _) => format!("reply `{quoted}` does not match /{expect}/ in 4 KiB"),
        (End::Reads, _) => format!("reply `{quoted}` does not match /{expect}/ in {MAX_READS} reads"),
        (End::Timeout(t), false) => {
            format!("timeout after {}: reply `{quoted}` does not match /{expect}/", duration_text(t))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_matches_once_it_came_and_fits() {
        let re = regex_lite::Regex::new(r"^\+PONG\r?$").unwrap();
        assert!(!matches(&re, b"+PO"));
        assert!(matches(&re, b"+PONG\r"));
        let any = regex_lite::Regex::new("").unwrap();
        assert!(!matches(&any, b""), "no reply is no match, even for an empty expression");
        assert!(matches(&any, b"x"));
        assert!(matches(&regex_lite::Regex::new("^SSH-2").unwrap(), b"SSH-2.0-x\xff\xfe"));
    }

    #[test]
    fn failures_say_how_the_reply_ended_and_quote_it_escaped() {
        let t = Duration::from_secs(1);
        assert_eq!(failure("^OK", b"", End::Closed), "connection closed before a reply");
        assert_eq!(failure("^OK", b"", End::Timeout(t)), "timeout after 1s: no reply");
        assert_eq!(
            failure("^OK", b"-ERR no\r\n", End::Closed),
            "reply `-ERR no\\r\\n` does not match /^OK/; connection closed"
        );
        assert_eq!(
            failure("^OK", b"-ERR\x1b[2J", End::Timeout(t)),
            "timeout after 1s: reply `-ERR\\x1b[2J` does not match /^OK/"
        );
        assert_eq!(
            failure("^OK", &[b'a'; 4096], End::Full),
            format!("reply `{}...` does not match /^OK/ in 4 KiB", "a".repeat(40))
        );
        assert_eq!(failure("x\ny", b"z", End::Reads), "reply `z` does not match /x\\ny/ in 256 reads");
    }
}
