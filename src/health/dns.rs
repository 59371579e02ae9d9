//! The DNS side of `dns` checks (pure): a query with recursion desired, and the verdict on
//! a datagram from the server. An answer is the server's when it carries the query's id
//! (random per query, so that no one off the path can forge one) and QR; anything else is
//! ignored, and the reason of a timeout names what was ignored. The answer passes with RCODE
//! 0 (NOERROR, as keepalived's DNS_CHECK) and the question asked echoed: QDCOUNT 1, the same
//! name (case aside), type and class.

use std::fmt::Write as _;

use super::state::Outcome;
use crate::model::dns::qtype_name;
use crate::text::Excerpt;

/// The bytes of a DNS header.
const HEADER: usize = 12;

/// A query for `name` (with its trailing dot) of type `qtype`, class IN.
pub fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD; 1 question
    for label in name.trim_end_matches('.').split('.').filter(|l| !l.is_empty()) {
        q.push(u8::try_from(label.len()).unwrap_or(63).min(63));
        q.extend_from_slice(&label.as_bytes()[..label.len().min(63)]);
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&[0, 1]);
    q
}

const RCODES: [&str; 11] = [
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
    "NOTZONE",
];

/// The verdict on `answer` to `query` (as [`query`] made it): `Err` with what it is for a
/// datagram that is not the answer (too short, another id, not a response), which the probe
/// ignores.
pub fn judge(query: &[u8], answer: &[u8]) -> Result<Outcome, String> {
    let (Some(h), Some(q)) = (answer.get(..HEADER), query.get(..HEADER)) else {
        return Err(format!("a datagram of {} bytes", answer.len()));
    };
    let (id, want) = (u16::from_be_bytes([h[0], h[1]]), u16::from_be_bytes([q[0], q[1]]));
    if id != want {
        return Err(format!("an answer with id {id:#06x}, not {want:#06x}"));
    }
    if h[2] & 0x80 == 0 {
        return Err("a datagram that is not a response (QR 0)".into());
    }
    let rcode = usize::from(h[3] & 0x0f);
    if rcode != 0 {
        let name = RCODES.get(rcode).map_or_else(|| format!("RCODE {rcode}"), |s| (*s).to_string());
        return Ok(Outcome::Fail(format!("DNS answer {name}")));
    }
    Ok(match question_problem(&query[HEADER..], answer) {
        None => Outcome::PASS,
        Some(p) => Outcome::Fail(format!("DNS answer {p}")),
    })
}

/// What is wrong with the question section of `answer`, asked `asked` (name, type, class).
fn question_problem(asked: &[u8], answer: &[u8]) -> Option<String> {
    let count = u16::from_be_bytes([answer[4], answer[5]]);
    if count != 1 {
        return Some(format!("without the question asked (QDCOUNT {count}, want 1)"));
    }
    let name_len = asked.len().saturating_sub(4);
    let echoed = answer.get(HEADER..HEADER + asked.len());
    match echoed {
        Some(e) if e[..name_len].eq_ignore_ascii_case(&asked[..name_len]) && e[name_len..] == asked[name_len..] => None,
        _ => {
            Some(format!("for another question: {}, asked {}", question_text(&answer[HEADER..]), question_text(asked)))
        }
    }
}

/// A question section as text: `ok.test. A` (`IN` class left out), escaped and bounded.
fn question_text(q: &[u8]) -> String {
    let mut name = Vec::new();
    let mut at = 0;
    loop {
        match q.get(at).copied() {
            Some(0) => {
                at += 1;
                break;
            }
            Some(len @ 1..=63) if name.len() < 255 => {
                let Some(label) = q.get(at + 1..at + 1 + usize::from(len)) else {
                    return format!("`{}` (cut short)", Excerpt { bytes: &name, limit: 255 });
                };
                name.extend_from_slice(label);
                name.push(b'.');
                at += 1 + usize::from(len);
            }
            Some(_) => return format!("`{}` (not a plain name)", Excerpt { bytes: &name, limit: 255 }),
            None => return format!("`{}` (cut short)", Excerpt { bytes: &name, limit: 255 }),
        }
    }
    if name.is_empty() {
        name.push(b'.');
    }
    let mut text = format!("`{}`", Excerpt { bytes: &name, limit: 255 });
    match q.get(at..at + 4) {
        Some(tc) => {
            let _ = write!(text, " {}", qtype_name(u16::from_be_bytes([tc[0], tc[1]])));
            let class = u16::from_be_bytes([tc[2], tc[3]]);
            if class != 1 {
                let _ = write!(text, " class {class}");
            }
        }
        None => text.push_str(" (no type and class)"),
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_encoded_as_the_rfc_says() {
        let q = query(0x1234, "example.com.", 6);
        let want: Vec<u8> =
            [&[0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0][..], b"\x07example\x03com\x00", &[0, 6, 0, 1]].concat();
        assert_eq!(q, want);
        assert_eq!(&query(1, ".", 2)[12..], &[0, 0, 2, 0, 1]);
    }

    #[test]
    fn answers_are_judged_by_id_qr_rcode_and_question() {
        let q = query(7, "ok.test.", 1);
        assert_eq!(judge(&q, &q), Err("a datagram that is not a response (QR 0)".into()));
        let mut a = q.clone();
        a[2] |= 0x80;
        assert_eq!(judge(&q, &a), Ok(Outcome::PASS));
        assert_eq!(judge(&query(8, "ok.test.", 1), &a), Err("an answer with id 0x0007, not 0x0008".into()));
        assert_eq!(judge(&q, &a[..5]), Err("a datagram of 5 bytes".into()));
        a[3] = 0x03;
        assert_eq!(judge(&q, &a), Ok(Outcome::Fail("DNS answer NXDOMAIN".into())));
        a[3] = 0x0f;
        assert_eq!(judge(&q, &a), Ok(Outcome::Fail("DNS answer RCODE 15".into())));
        a[3] = 0x80;
        let upper: Vec<u8> = a.iter().map(u8::to_ascii_uppercase).collect();
        assert_eq!(judge(&q, &upper), Ok(Outcome::PASS), "names compare without case");
    }

    #[test]
    fn an_answer_must_echo_the_question_asked() {
        let q = query(7, "ok.test.", 1);
        let answer = |mut a: Vec<u8>| {
            a[2] |= 0x80;
            a
        };
        let bare = answer(q[..12].iter().enumerate().map(|(i, b)| if (4..12).contains(&i) { 0 } else { *b }).collect());
        assert_eq!(
            judge(&q, &bare),
            Ok(Outcome::Fail("DNS answer without the question asked (QDCOUNT 0, want 1)".into()))
        );
        let other = answer(query(7, "evil.test.", 1));
        assert_eq!(
            judge(&q, &other),
            Ok(Outcome::Fail("DNS answer for another question: `evil.test.` A, asked `ok.test.` A".into()))
        );
        let other_type = answer(query(7, "ok.test.", 28));
        assert_eq!(
            judge(&q, &other_type),
            Ok(Outcome::Fail("DNS answer for another question: `ok.test.` AAAA, asked `ok.test.` A".into()))
        );
        let mut escaped = answer(query(7, "o\x1bk.test.", 1));
        escaped.truncate(escaped.len() - 3);
        assert_eq!(
            judge(&q, &escaped),
            Ok(Outcome::Fail(
                "DNS answer for another question: `o\\x1bk.test.` (no type and class), asked `ok.test.` A".into()
            ))
        );
    }
}
