//! The DNS side of `dns` checks (pure): a query with recursion desired, and the verdict on
//! the answer: the same id, QR set, RCODE 0 (NOERROR), as keepalived's DNS_CHECK.

use super::state::Outcome;

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

/// The verdict on an answer to query `id`; `None` for a datagram that is not the answer
/// (another id, too short, not a response), which the probe ignores.
pub fn judge(id: u16, answer: &[u8]) -> Option<Outcome> {
    let h = answer.get(..12)?;
    if u16::from_be_bytes([h[0], h[1]]) != id || h[2] & 0x80 == 0 {
        return None;
    }
    let rcode = usize::from(h[3] & 0x0f);
    Some(match rcode {
        0 => Outcome::PASS,
        n => Outcome::Fail(format!(
            "DNS answer {}",
            RCODES.get(n).map_or_else(|| format!("RCODE {n}"), |s| (*s).to_string())
        )),
    })
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
    fn answers_are_judged_by_id_qr_and_rcode() {
        let mut a = query(7, ".", 6);
        assert_eq!(judge(7, &a), None, "a query, not an answer");
        a[2] |= 0x80;
        assert_eq!(judge(7, &a), Some(Outcome::PASS));
        assert_eq!(judge(8, &a), None, "another id");
        a[3] = 0x03;
        assert_eq!(judge(7, &a), Some(Outcome::Fail("DNS answer NXDOMAIN".into())));
        a[3] = 0x0f;
        assert_eq!(judge(7, &a), Some(Outcome::Fail("DNS answer RCODE 15".into())));
        assert_eq!(judge(7, &a[..5]), None);
    }
}
