//! The fast path for the YAML manifests are written in: block mappings and sequences,
//! one-line flow collections, plain and quoted one-line scalars, comments. It builds a
//! [`Tree`] that borrows the text, in one pass, about 20 times faster than the full
//! parser reads a 10,000-service manifest into a JSON value.
//!
//! It accepts a strict subset and gives up (returns `None`) on anything else: anchors,
//! aliases, tags, block scalars, multi-line scalars, tabs, floats, unusual spellings of
//! null and booleans, duplicate keys, sizes near the full parser's budgets, and every
//! error. The full parser then takes the file, so values, messages and locations stay
//! the full parser's. The rule `parse(text) == Some(v)` implies "the full parser gives
//! `v`" is checked by `tests/fast_yaml.rs` and by the `manifest` fuzz target.

use std::borrow::Cow;

use serde_json::Value;

use super::tree::{Tree, has_duplicate_keys};

/// At most this many nodes (keys, scalars, collections): the full parser's budget is 4
/// million nodes and 16 million events.
const MAX_NODES: usize = 3_000_000;
/// At most this nesting (the full parser's limit is 64).
const MAX_DEPTH: usize = 48;
/// At most this length of a key (the full parser looks ahead 1,024 characters for one).
const MAX_KEY: usize = 512;

/// Parses `text` into a JSON value when it is in the subset; `None` means "use the full
/// parser".
pub fn parse(text: &str) -> Option<Value> {
    tree(text).map(Tree::into_json)
}

/// Parses `text` into a tree when it is in the subset (a mapping at the top).
pub fn tree(text: &str) -> Option<Tree<'_>> {
    let lines = lines(text)?;
    let mut block = Block { lines, at: 0, nodes: 0 };
    if block.lines.first()?.indent != 0 {
        return None;
    }
    let tree = block.node(0, 0)?;
    (block.at == block.lines.len() && matches!(tree, Tree::Map(_))).then_some(tree)
}

/// A line with content: its indentation and the text after it (comments included).
#[derive(Clone, Copy)]
struct Line<'a> {
    indent: usize,
    text: &'a str,
}

/// The lines that hold content, or `None` for characters the subset leaves to the full
/// parser (tabs, carriage returns, other control and non-printable characters, a byte
/// order mark, directives, document markers other than a first `---`).
fn lines(text: &str) -> Option<Vec<Line<'_>>> {
    if text.bytes().any(|b| (b < 0x20 && b != b'\n') || b == 0x7f) {
        return None;
    }
    if !text.is_ascii() && text.chars().any(unusual) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 32);
    for raw in text.split('\n') {
        let body = raw.trim_start_matches(' ');
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let indent = raw.len() - body.len();
        if indent == 0 && (raw.starts_with("---") || raw.starts_with("...") || raw.starts_with('%')) {
            if out.is_empty() && raw.strip_prefix("---").is_some_and(is_blank) {
                continue;
            }
            return None;
        }
        out.push(Line { indent, text: body });
    }
    Some(out)
}

/// Characters YAML does not print, or treats as line breaks or markers.
fn unusual(c: char) -> bool {
    matches!(c, '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')
}

/// Nothing but spaces and a comment.
fn is_blank(rest: &str) -> bool {
    let t = rest.trim_start_matches(' ');
    t.is_empty() || (t.starts_with('#') && t.len() < rest.len())
}

/// A block sequence entry: `-` alone or followed by a space.
fn is_entry(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// The block parser: the lines and the next one to read.
struct Block<'a> {
    lines: Vec<Line<'a>>,
    at: usize,
    nodes: usize,
}

impl<'a> Block<'a> {
    fn peek(&self) -> Option<Line<'a>> {
        self.lines.get(self.at).copied()
    }

    fn count(&mut self) -> Option<()> {
        self.nodes += 1;
        (self.nodes <= MAX_NODES).then_some(())
    }

    /// The block node that starts at the current line, indented `indent`.
    fn node(&mut self, indent: usize, depth: usize) -> Option<Tree<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.count()?;
        let line = self.peek()?;
        if is_entry(line.text) { self.sequence(indent, depth) } else { self.mapping(indent, depth) }
    }

    /// A block mapping whose keys are indented `indent`.
    fn mapping(&mut self, indent: usize, depth: usize) -> Option<Tree<'a>> {
        let mut map = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent || is_entry(line.text) {
                return None;
            }
            let (key, rest) = match split_key(line.text) {
                Split::Key(k, rest) => (k, rest),
                Split::NotKey | Split::Unsupported => return None,
            };
            self.count()?;
            self.at += 1;
            let value = self.value(rest, indent, true, depth)?;
            map.push((key, value));
        }
        (!has_duplicate_keys(&map)).then_some(Tree::Map(map))
    }

    /// A block sequence whose `-` are indented `indent`.
    fn sequence(&mut self, indent: usize, depth: usize) -> Option<Tree<'a>> {
        let mut items = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent < indent || (line.indent == indent && !is_entry(line.text)) {
                break;
            }
            if line.indent > indent {
                return None;
            }
            let after = &line.text[1..];
            let content = after.trim_start_matches(' ');
            let column = indent + 1 + after.len() - content.len();
            let nested = !content.is_empty() && (is_entry(content) || matches!(split_key(content), Split::Key(..)));
            if nested {
                // `- key: v` and `- - v`: the rest of the line starts a node at its column.
                self.lines[self.at] = Line { indent: column, text: content };
                items.push(self.node(column, depth + 1)?);
            } else {
                self.at += 1;
                items.push(self.value(after, indent, false, depth)?);
            }
        }
        Some(Tree::Seq(items))
    }

    /// The value after `key:` or `-` (`rest`, comments included) on a line indented
    /// `indent`; `in_map` lets a sequence at the same indentation be the value.
    fn value(&mut self, rest: &'a str, indent: usize, in_map: bool, depth: usize) -> Option<Tree<'a>> {
        if is_blank(rest) {
            return match self.peek() {
                Some(next) if next.indent > indent => self.node(next.indent, depth + 1),
                Some(next) if in_map && next.indent == indent && is_entry(next.text) => {
                    self.count()?;
                    self.sequence(indent, depth + 1)
                }
                _ => {
                    self.count()?;
                    Some(Tree::Null)
                }
            };
        }
        if !rest.starts_with(' ') {
            return None;
        }
        let text = rest.trim_start_matches(' ');
        let (value, tail) = inline(text, depth, &mut self.nodes, false)?;
        if !is_blank(tail) {
            return None;
        }
        // A more indented next line would continue a scalar, or be an error.
        match self.peek() {
            Some(next) if next.indent > indent => None,
            _ => Some(value),
        }
    }
}

/// How a line starts.
enum Split<'a> {
    /// `key:` and what follows the colon.
    Key(Cow<'a, str>, &'a str),
    /// No key: a scalar or a flow collection.
    NotKey,
    /// A key the subset does not take (not a string, `<<`, too long).
    Unsupported,
}

fn split_key(text: &str) -> Split<'_> {
    if text.starts_with('\'') || text.starts_with('"') {
        let Some((key, after)) = quoted(text) else { return Split::Unsupported };
        return match after.strip_prefix(':') {
            Some(rest) if rest.is_empty() || rest.starts_with(' ') => Split::Key(key, rest),
            _ => Split::NotKey,
        };
    }
    let content = &text[..comment(text).unwrap_or(text.len())];
    let Some(colon) = key_colon(content) else { return Split::NotKey };
    let key = &content[..colon];
    if key.is_empty() || key.len() > MAX_KEY || key.ends_with(' ') || key == "<<" || has(key, b'#') {
        return Split::Unsupported;
    }
    match plain(key, false) {
        Some(Tree::Str(k)) => Split::Key(k, &text[colon + 1..]),
        _ => Split::Unsupported,
    }
}

/// A value on one line, after a block key or `-` or inside a flow collection (`in_flow`):
/// a flow collection, a quoted or a plain scalar; returns it and what follows it.
fn inline<'t>(text: &'t str, depth: usize, nodes: &mut usize, in_flow: bool) -> Option<(Tree<'t>, &'t str)> {
    *nodes += 1;
    if *nodes > MAX_NODES || depth > MAX_DEPTH {
        return None;
    }
    match text.as_bytes().first()? {
        b'[' | b'{' => flow(text, depth + 1, nodes),
        b'\'' | b'"' => quoted(text).map(|(s, rest)| (Tree::Str(s), rest)),
        _ => {
            // A plain scalar ends at a comment; in a flow collection also at an indicator,
            // and one that would open a collection or a comment is left to the full parser.
            let end = if in_flow { find(text, b",]}[{#") } else { comment(text) };
            let end = end.unwrap_or(text.len());
            let scalar = text[..end].trim_end_matches(' ');
            let opens = in_flow && matches!(text[end..].chars().next(), Some('[' | '{' | '#'));
            if opens || key_colon(scalar).is_some() {
                return None;
            }
            Some((plain(scalar, in_flow)?, &text[scalar.len()..]))
        }
    }
}

/// A flow collection that closes on this line; returns it and what follows it.
fn flow<'t>(text: &'t str, depth: usize, nodes: &mut usize) -> Option<(Tree<'t>, &'t str)> {
    if depth > MAX_DEPTH {
        return None;
    }
    let is_map = text.starts_with('{');
    let close = if is_map { '}' } else { ']' };
    let mut rest = text[1..].trim_start_matches(' ');
    let mut map = Vec::new();
    let mut items = Vec::new();
    let done = |map: Vec<_>, items: Vec<_>| match is_map {
        true => (!has_duplicate_keys(&map)).then_some(Tree::Map(map)),
        false => Some(Tree::Seq(items)),
    };
    if let Some(after) = rest.strip_prefix(close) {
        return Some((done(map, items)?, after));
    }
    loop {
        if is_map {
            let (key, after) = flow_key(rest)?;
            *nodes += 1;
            let (value, after) = inline(after.trim_start_matches(' '), depth, nodes, true)?;
            map.push((key, value));
            rest = after;
        } else {
            let (value, after) = inline(rest, depth, nodes, true)?;
            items.push(value);
            rest = after;
        }
        rest = rest.trim_start_matches(' ');
        if let Some(after) = rest.strip_prefix(close) {
            return Some((done(map, items)?, after));
        }
        rest = rest.strip_prefix(',')?.trim_start_matches(' ');
        if rest.starts_with(close) || rest.starts_with(',') {
            return None;
        }
    }
}

/// `key: ` inside a flow mapping; returns the key and what follows `: `.
fn flow_key(text: &str) -> Option<(Cow<'_, str>, &str)> {
    if text.starts_with('\'') || text.starts_with('"') {
        let (key, after) = quoted(text)?;
        return Some((key, after.strip_prefix(": ")?));
    }
    let end = find(text, b":,[]{}#")?;
    let key = &text[..end];
    let after = text[end..].strip_prefix(": ")?;
    if key.is_empty() || key.len() > MAX_KEY || key.ends_with(' ') || key == "<<" {
        return None;
    }
    match plain(key, true)? {
        Tree::Str(k) => Some((k, after)),
        _ => None,
    }
}

/// A quoted scalar that closes on this line; returns its text and what follows it.
fn quoted(text: &str) -> Option<(Cow<'_, str>, &str)> {
    let quote = text.chars().next()?;
    let body = &text[1..];
    // Without escapes or doubled quotes, the text is borrowed.
    let end = if quote == '"' { find(body, b"\"\\") } else { find(body, b"'") };
    if let Some(i) = end
        && body[i..].starts_with(quote)
        && !body[i + 1..].starts_with(quote)
    {
        return Some((Cow::Borrowed(&body[..i]), &body[i + 1..]));
    }
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' if quote == '\'' => {
                if body[i + 1..].starts_with('\'') {
                    chars.next();
                    out.push('\'');
                } else {
                    return Some((Cow::Owned(out), &body[i + 1..]));
                }
            }
            '"' if quote == '"' => return Some((Cow::Owned(out), &body[i + 1..])),
            '\\' if quote == '"' => out.push(escape(chars.next()?.1)?),
            c => out.push(c),
        }
    }
    None
}

/// The escapes of double-quoted scalars that the subset takes.
fn escape(c: char) -> Option<char> {
    match c {
        '\\' => Some('\\'),
        '"' => Some('"'),
        '/' => Some('/'),
        'n' => Some('\n'),
        't' => Some('\t'),
        _ => None,
    }
}

/// A plain scalar's value under the full parser's rules, for the spellings the subset
/// takes: `~` and `null`, `true` and `false` in three cases, decimal integers, and strings
/// that no rule could read as anything else.
fn plain(s: &str, in_flow: bool) -> Option<Tree<'_>> {
    let first = *s.as_bytes().first()?;
    match s {
        "~" | "null" | "Null" | "NULL" => return Some(Tree::Null),
        "true" | "True" | "TRUE" => return Some(Tree::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Tree::Bool(false)),
        _ => {}
    }
    if ipv6ish(s) {
        return Some(Tree::Str(Cow::Borrowed(s)));
    }
    if first == b'-' && s.as_bytes().get(1).is_some_and(|b| b.is_ascii_alphabetic() || *b == b'/') {
        // `-x`, a command's option: a string unless the rest is a word the parser reads.
        return plain(&s[1..], in_flow).filter(|t| matches!(t, Tree::Str(_))).map(|_| Tree::Str(Cow::Borrowed(s)));
    }
    if first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.') {
        return numeric(s);
    }
    if b"?:,[]{}#&*!|>'\"%@`".contains(&first) || (in_flow && has(s, b':')) {
        return None;
    }
    if ["null", "true", "false", "inf", "nan", "infinity"].iter().any(|w| s.eq_ignore_ascii_case(w)) {
        return None;
    }
    Some(Tree::Str(Cow::Borrowed(s)))
}

/// A plain scalar that starts like a number: a decimal integer, or one of the strings that
/// look numeric but are not (addresses, networks, durations); anything else is left to the
/// full parser.
fn numeric(s: &str) -> Option<Tree<'_>> {
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    if digits(unsigned) {
        if unsigned.len() > 1 && unsigned.starts_with('0') {
            return None;
        }
        return s.parse::<i64>().ok().map(Tree::Int);
    }
    (ipv4ish(s) || duration(s) || range(s)).then_some(Tree::Str(Cow::Borrowed(s)))
}

/// `10.0.0.1`, `10.0.0.0/8`, `1.0.0`: digits in three or more dotted parts, and a prefix.
fn ipv4ish(s: &str) -> bool {
    let (addr, prefix) = s.split_once('/').unwrap_or((s, "1"));
    addr.split('.').count() >= 3 && addr.split('.').all(digits) && digits(prefix)
}

/// `2001:db8::1`, `::1/128`, `fe80::1`: hexadecimal groups and at least two colons, with
/// a dotted tail and a prefix.
fn ipv6ish(s: &str) -> bool {
    if !has(s, b':') {
        return false;
    }
    let (addr, prefix) = s.split_once('/').unwrap_or((s, "1"));
    addr.bytes().filter(|b| *b == b':').count() >= 2
        && addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        && digits(prefix)
}

/// `200-299`: two decimal numbers joined by a dash; `10.0.0.1-10`, `10.0.0.1-10.0.0.9`:
/// an address range (a server group's VIPs).
fn range(s: &str) -> bool {
    s.split_once('-').is_some_and(|(a, b)| {
        (digits(a) && digits(b)) || (ipv4ish(a) && !a.contains('/') && (digits(b) || ipv4ish(b) && !b.contains('/')))
    })
}

/// `5s`, `1.5s`, `100ms`: digits, at most one fraction, then lower-case letters.
fn duration(s: &str) -> bool {
    let number = s.trim_end_matches(|c: char| c.is_ascii_lowercase());
    if number.len() == s.len() || !s.as_bytes()[0].is_ascii_digit() {
        return false;
    }
    let (whole, frac) = number.split_once('.').unwrap_or((number, "0"));
    digits(whole) && digits(frac)
}

/// One or more decimal digits and nothing else.
fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `s` holds the byte `b`.
fn has(s: &str, b: u8) -> bool {
    s.as_bytes().contains(&b)
}

/// The first of the ASCII bytes `set` in `s`.
fn find(s: &str, set: &[u8]) -> Option<usize> {
    s.bytes().position(|b| set.contains(&b))
}

/// Where a comment starts: the first ` #`.
fn comment(s: &str) -> Option<usize> {
    s.as_bytes().windows(2).position(|w| w == b" #")
}

/// The colon that ends a key: the first `:` followed by a space or the end of `s`.
fn key_colon(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    (0..b.len()).find(|&i| b[i] == b':' && b.get(i + 1).is_none_or(|n| *n == b' '))
}
