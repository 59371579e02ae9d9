//! Netlink attributes (TLV, 4-byte aligned): a writer with nesting and a reader. Pure.

use std::io;

/// `NLA_F_NESTED`.
const F_NESTED: u16 = 0x8000;
/// Type bits of `nla_type` (without the nested / byte-order flags).
const TYPE_MASK: u16 = 0x3fff;

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Writes attributes into a buffer.
#[derive(Debug, Default)]
pub struct AttrWriter {
    /// The bytes written so far.
    pub buf: Vec<u8>,
}

impl AttrWriter {
    /// A writer that appends to `prefix` (e.g. a fixed header).
    pub fn with_prefix(prefix: &[u8]) -> Self {
        AttrWriter { buf: prefix.to_vec() }
    }
    /// Appends one attribute.
    pub fn put(&mut self, kind: u16, data: &[u8]) -> &mut Self {
        let len = u16::try_from(4 + data.len()).unwrap_or(u16::MAX);
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.buf.resize(align4(self.buf.len()), 0);
        self
    }
    /// A host-order u8.
    pub fn u8(&mut self, kind: u16, v: u8) -> &mut Self {
        self.put(kind, &[v])
    }
    /// A host-order u16.
    pub fn u16(&mut self, kind: u16, v: u16) -> &mut Self {
        self.put(kind, &v.to_ne_bytes())
    }
    /// A host-order u32.
    pub fn u32(&mut self, kind: u16, v: u32) -> &mut Self {
        self.put(kind, &v.to_ne_bytes())
    }
    /// A network-order u16 (ports).
    pub fn be16(&mut self, kind: u16, v: u16) -> &mut Self {
        self.put(kind, &v.to_be_bytes())
    }
    /// A NUL-terminated string.
    pub fn str(&mut self, kind: u16, s: &str) -> &mut Self {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.put(kind, &v)
    }
    /// A nested attribute whose contents `f` writes.
    pub fn nest(&mut self, kind: u16, f: impl FnOnce(&mut AttrWriter)) -> &mut Self {
        let mut inner = AttrWriter::default();
        f(&mut inner);
        self.put(kind | F_NESTED, &inner.buf)
    }
}

/// Reads the attributes of `data` into (type, payload) pairs.
pub fn parse(mut data: &[u8]) -> io::Result<Vec<(u16, &[u8])>> {
    let mut out = Vec::new();
    while data.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([data[0], data[1]]));
        let kind = u16::from_ne_bytes([data[2], data[3]]) & TYPE_MASK;
        if len < 4 || len > data.len() {
            return Err(io::Error::other(format!("malformed netlink attribute (type {kind}, length {len})")));
        }
        out.push((kind, &data[4..len]));
        data = &data[align4(len).min(data.len())..];
    }
    Ok(out)
}

/// Finds an attribute's payload.
pub fn find<'a>(attrs: &[(u16, &'a [u8])], kind: u16) -> Option<&'a [u8]> {
    attrs.iter().find(|(k, _)| *k == kind).map(|(_, v)| *v)
}

/// Reads a host-order u16.
pub fn get_u16(attrs: &[(u16, &[u8])], kind: u16) -> Option<u16> {
    find(attrs, kind).and_then(|b| Some(u16::from_ne_bytes(b.get(..2)?.try_into().ok()?)))
}

/// Reads a host-order u32.
pub fn get_u32(attrs: &[(u16, &[u8])], kind: u16) -> Option<u32> {
    find(attrs, kind).and_then(|b| Some(u32::from_ne_bytes(b.get(..4)?.try_into().ok()?)))
}

/// Reads a host-order u64.
pub fn get_u64(attrs: &[(u16, &[u8])], kind: u16) -> Option<u64> {
    find(attrs, kind).and_then(|b| Some(u64::from_ne_bytes(b.get(..8)?.try_into().ok()?)))
}

/// Reads a network-order u16.
pub fn get_be16(attrs: &[(u16, &[u8])], kind: u16) -> Option<u16> {
    find(attrs, kind).and_then(|b| Some(u16::from_be_bytes(b.get(..2)?.try_into().ok()?)))
}

/// Reads a string, up to its NUL.
pub fn get_str(attrs: &[(u16, &[u8])], kind: u16) -> Option<String> {
    let b = find(attrs, kind)?;
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    Some(String::from_utf8_lossy(&b[..end]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_aligned_and_reads_back() {
        let mut w = AttrWriter::default();
        w.str(6, "rr").be16(4, 80).nest(1, |n| {
            n.u32(5, 7);
        });
        assert_eq!(w.buf.len(), 8 + 8 + 12);
        assert_eq!(&w.buf[..8], &[7, 0, 6, 0, b'r', b'r', 0, 0]);
        let attrs = parse(&w.buf).unwrap();
        assert_eq!(get_str(&attrs, 6).as_deref(), Some("rr"));
        assert_eq!(get_be16(&attrs, 4), Some(80));
        let inner = parse(find(&attrs, 1).unwrap()).unwrap();
        assert_eq!(get_u32(&inner, 5), Some(7));
    }

    #[test]
    fn rejects_truncated_attributes() {
        assert!(parse(&[9, 0, 1, 0, 1, 2]).is_err());
        assert!(parse(&[2, 0, 1, 0]).is_err());
        assert_eq!(get_u32(&parse(&[6, 0, 1, 0, 1, 2, 0, 0]).unwrap(), 1), None);
    }
}
