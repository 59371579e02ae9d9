//! Text that came from outside, made safe to print: the one escaping rule for everything
//! lbconverge shows an operator that it did not write itself (a server's status line or
//! headers quoted in a check's reason, names from a manifest, errors carrying file
//! contents). Control characters and the invisible ones that change how text reads are
//! written as escapes, so such text can neither move the cursor, recolour or retitle a
//! terminal, ring its bell, forge a line, nor reorder what surrounds it.
//!
//! - `\n`, `\r`, `\t` as themselves escaped; other ASCII controls and DEL as `\x1b`;
//! - C1 controls, bidirectional overrides and isolates, zero-width characters and the
//!   byte-order mark as `\u{202e}`;
//! - from bytes: what is not UTF-8 as `\xff`, byte by byte.
//!
//! Everything else is printed as it is (a backslash too: an escape here only ever stands
//! for a character that could not be shown). The status page escapes HTML on top of this;
//! JSON output needs nothing, its encoder escapes control characters itself.

use std::borrow::Cow;
use std::fmt;

/// Control characters and the invisible ones that change how text reads (bidirectional
/// overrides and isolates, zero-width characters, byte-order mark).
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// Writes `c` escaped (when [`is_hidden`]) or as it is.
fn write_char(f: &mut impl fmt::Write, c: char) -> fmt::Result {
    match c {
        '\n' => f.write_str("\\n"),
        '\r' => f.write_str("\\r"),
        '\t' => f.write_str("\\t"),
        c if c.is_ascii_control() => write!(f, "\\x{:02x}", u32::from(c)),
        c if is_hidden(c) => write!(f, "\\u{{{:x}}}", u32::from(c)),
        c => f.write_char(c),
    }
}

/// Writes `s` with every [`is_hidden`] character escaped.
pub fn write_escaped(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    s.chars().try_for_each(|c| write_char(f, c))
}

/// Writes `b` as text: UTF-8 with [`is_hidden`] characters escaped, any other byte as `\xNN`.
pub fn write_escaped_bytes(f: &mut impl fmt::Write, b: &[u8]) -> fmt::Result {
    for chunk in b.utf8_chunks() {
        write_escaped(f, chunk.valid())?;
        chunk.invalid().iter().try_for_each(|byte| write!(f, "\\x{byte:02x}"))?;
    }
    Ok(())
}

/// `s` safe to print on one line; borrowed when nothing needed escaping.
pub fn escaped(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let _ = write_escaped(&mut out, s);
    Cow::Owned(out)
}

/// `b` as text safe to print on one line (see [`write_escaped_bytes`]).
pub fn escaped_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 8);
    let _ = write_escaped_bytes(&mut out, b);
    out
}

/// Lines of text safe to print: every line of `s` escaped, the line breaks kept (output
/// whose fields are one line each, like `status`'s text, keeps its shape; a field that
/// carried a line break of its own still cannot carry anything else).
pub fn escaped_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_hidden(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write_escaped(&mut out, line);
    }
    Cow::Owned(out)
}

/// Shows its text escaped (see [`write_escaped`]), for `format!` arguments.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0)
    }
}

/// Shows bytes from outside as escaped text (see [`write_escaped_bytes`]), at most `limit`
/// bytes of them and `...` when there were more.
#[derive(Debug, Clone, Copy)]
pub struct Excerpt<'a> {
    /// The bytes.
    pub bytes: &'a [u8],
    /// How many of them to show.
    pub limit: usize,
}

impl fmt::Display for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.bytes.get(..self.limit).unwrap_or(self.bytes);
        // A cut inside a character leaves the start of one: not shown as bytes.
        let partial = shown
            .utf8_chunks()
            .last()
            .map(|c| c.invalid())
            .filter(|b| std::str::from_utf8(b).is_err_and(|e| e.error_len().is_none()))
            .map_or(0, <[u8]>::len);
        let shown = if shown.len() < self.bytes.len() { &shown[..shown.len() - partial] } else { shown };
        write_escaped_bytes(f, shown)?;
        if shown.len() < self.bytes.len() { f.write_str("...") } else { Ok(()) }
    }
}

/// Standard base64 with padding (basic authentication, RFC 2047 mail headers).
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[usize::try_from((n >> (18 - 6 * i)) & 63).unwrap_or(0)]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_invisible_characters_are_escaped_and_nothing_else() {
        assert_eq!(escaped("plain text, ünïcode and a \\ backslash"), "plain text, ünïcode and a \\ backslash");
        assert!(matches!(escaped("plain"), Cow::Borrowed(_)));
        assert_eq!(escaped("\x1b[2J\x1b]0;title\x07 red"), "\\x1b[2J\\x1b]0;title\\x07 red");
        assert_eq!(escaped("a\nb\rc\td\0e\x7f"), "a\\nb\\rc\\td\\x00e\\x7f");
        assert_eq!(
            escaped("http\u{202e}ptth \u{85} \u{200b} \u{feff}"),
            "http\\u{202e}ptth \\u{85} \\u{200b} \\u{feff}"
        );
        assert_eq!(Escaped("\x1b").to_string(), "\\x1b");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_shown_byte_by_byte() {
        assert_eq!(escaped_bytes(b"ok \xff\xfe \xc3\xa9 \x1b"), "ok \\xff\\xfe é \\x1b");
    }

    #[test]
    fn lines_keep_their_breaks() {
        assert_eq!(escaped_lines("one \x1b[31m\ntwo\r\n"), "one \\x1b[31m\ntwo\\r\n");
        assert!(matches!(escaped_lines("one\ntwo\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn excerpts_are_bounded_and_say_so() {
        let e = |b: &[u8], limit| Excerpt { bytes: b, limit }.to_string();
        assert_eq!(e(b"SSH-2.0-OpenSSH", 40), "SSH-2.0-OpenSSH");
        assert_eq!(e(b"SSH-2.0-OpenSSH", 3), "SSH...");
        assert_eq!(e("aé".as_bytes(), 2), "a...", "no half character");
        assert_eq!(e(b"a\xff\xffb", 3), "a\\xff\\xff...");
    }

    #[test]
    fn base64_matches_rfc_4648() {
        for (i, o) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")]
        {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }
}
