//! Reading keepalived values (numbers, seconds, commands) and collecting what the import
//! could not carry over: every such note names its `file:line`.

use std::fmt;
use std::str::FromStr;

use super::conf::{Item, Loc};
use crate::manifest::types::Duration;

/// Something the operator must know about the import.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    /// Where it comes from (none for whole-import notes).
    pub at: Option<Loc>,
    /// What happened and why.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            Some(at) => write!(f, "{at}: warning: {}", self.message),
            None => write!(f, "warning: {}", self.message),
        }
    }
}

/// The warnings of an import, in the order found.
#[derive(Debug, Default)]
pub struct Notes {
    /// Every warning.
    pub warnings: Vec<Warning>,
}

impl Notes {
    /// A keyword the manifest cannot express.
    pub fn unsupported(&mut self, it: &Item, why: &str) {
        self.note(&it.at, format!("`{}` not imported: {why}", shown(&it.keyword)));
    }

    /// Any other warning at a place.
    pub fn note(&mut self, at: &Loc, message: String) {
        self.warnings.push(Warning { at: Some(at.clone()), message });
    }

    /// A warning about the whole import.
    pub fn general(&mut self, message: String) {
        self.warnings.push(Warning { at: None, message });
    }
}

/// Words longer than this are cut in messages.
const SHOWN_CHARS: usize = 64;

/// A word from a keepalived file as a message shows it: invisible characters escaped, cut
/// after [`SHOWN_CHARS`] characters.
pub fn shown(word: &str) -> String {
    let cut: String = word.chars().take(SHOWN_CHARS).collect();
    let more = if cut.len() < word.len() { "…" } else { "" };
    format!("{}{more}", crate::manifest::yaml::shown(&cut))
}

/// The block's name (its first argument).
pub fn name(it: &Item, notes: &mut Notes) -> Option<String> {
    let n = it.arg().map(str::to_string);
    if n.is_none() {
        notes.note(&it.at, format!("`{}` without a name; not imported", it.keyword));
    }
    n
}

/// The first argument as a number.
pub fn number<T: FromStr>(it: &Item, notes: &mut Notes) -> Option<T> {
    let v = it.arg().and_then(|a| a.parse().ok());
    if v.is_none() {
        notes.note(&it.at, format!("`{}` needs a whole number; not imported", it.keyword));
    }
    v
}

/// The first argument as seconds (keepalived writes durations in seconds, maybe decimal).
pub fn seconds(it: &Item, notes: &mut Notes) -> Option<Duration> {
    let v = it.arg().filter(|a| a.parse::<f64>().is_ok_and(|s| s.is_finite() && s >= 0.0));
    if v.is_none() {
        notes.note(&it.at, format!("`{}` needs a number of seconds; not imported", it.keyword));
    }
    v.map(|s| Duration::Text(format!("{s}s")))
}

/// A command as keepalived reads it: `<STRING>|<QUOTED-STRING> [username [groupname]]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Command {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// The user written after it.
    pub user: Option<String>,
    /// The group written after the user.
    pub group: Option<String>,
}

impl Command {
    /// True when it names no user, or root (and no group, or root's).
    pub fn runs_as_root(&self) -> bool {
        self.user.as_deref().is_none_or(|u| u == "root") && self.group.as_deref().is_none_or(|g| g == "root")
    }
}

/// Reads a command the way keepalived does: the statement's text is split into words
/// (`"` and `'` quote, a backslash is kept with the character after it), the first word
/// is the command and is split again into its program and arguments (quotes, and
/// backslash escapes such as `\t` or `\'`), the next ones are a user and a group.
/// keepalived runs a command that is not an executable file through `sh -c`; lbconverge
/// never does, so shell syntax and a program without its full path are reported.
pub fn script(it: &Item, notes: &mut Notes) -> Command {
    let outer = match words(&it.raw, false) {
        Some(w) => w,
        None => {
            notes.note(&it.at, format!("`{}`: a quote is not closed; its words are taken as written", it.keyword));
            it.args.clone()
        }
    };
    let mut rest = outer.into_iter();
    let text = rest.next().unwrap_or_default();
    let argv = words(&text, true).unwrap_or_else(|| text.split_whitespace().map(str::to_string).collect());
    let (user, group) = (rest.next(), rest.next());
    if argv.iter().any(|w| w.contains(['|', '>', '<', ';', '&', '$', '`'])) {
        notes.note(
            &it.at,
            format!(
                "`{}` looks like a shell command line; lbconverge runs commands without a shell: wrap it in a script",
                it.keyword
            ),
        );
    }
    match argv.first() {
        None => notes.note(&it.at, format!("`{}` has no command", it.keyword)),
        Some(prog) if !prog.starts_with('/') => notes.note(
            &it.at,
            format!(
                "`{}`: `{prog}` is not a full path; keepalived searches PATH, lbconverge does not: write the program's full path",
                it.keyword
            ),
        ),
        Some(_) => {}
    }
    Command { argv, user, group }
}

/// A command's words ([`script`]); a user other than root after it is reported, since
/// lbconverge runs these commands as root (script checks: their `user`).
pub fn command(it: &Item, notes: &mut Notes) -> Vec<String> {
    let c = script(it, notes);
    if !c.runs_as_root() {
        let who = [c.user.as_deref(), c.group.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(":");
        notes.note(
            &it.at,
            format!(
                "`{}` runs as `{who}` in keepalived; lbconverge runs it as root (script checks: `user`)",
                it.keyword
            ),
        );
    }
    c.argv
}

/// keepalived's splitting of a string into words (`alloc_strvec_quoted_escaped`): runs of
/// white space separate words; `"` and `'` quote (removed; spaces inside are kept); a
/// backslash takes the character after it literally (`\"` neither opens nor closes a
/// quote). With `escapes` the pair becomes what it stands for (`\n`, `\t`, `\101`,
/// `\x41`, `\cA`, `\\`, ...), without them both characters are kept. `None` when a quote
/// is not closed or a backslash ends the text.
pub fn words(text: &str, escapes: bool) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(char::is_ascii_whitespace).is_some() {}
        if chars.peek().is_none() {
            return Some(out);
        }
        let mut word = String::new();
        let mut quote = None;
        while let Some(c) = chars.next() {
            match (c, quote) {
                ('\\', _) => {
                    let next = chars.next()?;
                    if escapes {
                        word.push(escaped(next, &mut chars));
                    } else {
                        word.extend(['\\', next]);
                    }
                }
                (q, Some(open)) if q == open => quote = None,
                (_, Some(_)) => word.push(c),
                ('"' | '\'', None) => quote = Some(c),
                (w, None) if w.is_ascii_whitespace() => break,
                (_, None) => word.push(c),
            }
        }
        if quote.is_some() {
            return None;
        }
        out.push(word);
    }
}

/// The character a backslash and `c` (and what follows it) stand for, as keepalived reads
/// them.
fn escaped(c: char, rest: &mut std::iter::Peekable<std::str::Chars<'_>>) -> char {
    let digits = |rest: &mut std::iter::Peekable<std::str::Chars<'_>>, first: u32, radix: u32, max: usize| {
        let mut v = first;
        for _ in 1..max {
            match rest.peek().and_then(|d| d.to_digit(radix)) {
                Some(d) => {
                    v = v * radix + d;
                    rest.next();
                }
                None => break,
            }
        }
        char::from(u8::try_from(v & 0xff).unwrap_or(0))
    };
    match c {
        'x' if rest.peek().is_some_and(char::is_ascii_hexdigit) => {
            let first = rest.next().and_then(|d| d.to_digit(16)).unwrap_or(0);
            digits(rest, first, 16, 2)
        }
        'c' if rest.peek().is_some() => {
            rest.next().map_or('c', |n| char::from(u8::try_from(u32::from(n) & 0x1f).unwrap_or(0)))
        }
        '0'..='7' => digits(rest, c.to_digit(8).unwrap_or(0), 8, 3),
        'a' => '\u{7}',
        'b' => '\u{8}',
        'E' => '\u{1b}',
        'f' => '\u{c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\u{b}',
        other => other,
    }
}

/// A keepalived flag with an optional `<BOOL>` argument (`inhibit_on_failure`, `alpha`).
pub fn flag(it: &Item) -> bool {
    !matches!(it.arg().map(str::to_ascii_lowercase).as_deref(), Some("false" | "no" | "off" | "0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The statement `keyword RAW` as the grammar reads it.
    fn item(raw: &str) -> Item {
        let src = super::super::conf::Source { name: "k.conf".into(), text: format!("notify_master {raw}\n") };
        let items = super::super::conf::parse(&src, &NoIncludes).unwrap();
        items.into_iter().next().unwrap()
    }

    struct NoIncludes;
    impl super::super::conf::Files for NoIncludes {
        fn include(&self, p: &str, _: &str) -> Result<Vec<super::super::conf::Source>, String> {
            Err(p.to_string())
        }
    }

    fn read(raw: &str) -> (Command, Vec<String>) {
        let mut notes = Notes::default();
        let c = script(&item(raw), &mut notes);
        (c, notes.warnings.iter().map(ToString::to_string).collect())
    }

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn commands_are_split_as_keepalived_splits_them() {
        type Case<'a> = (&'a str, &'a [&'a str], Option<&'a str>, Option<&'a str>);
        let cases: &[Case] = &[
            ("/usr/local/bin/switch.sh", &["/usr/local/bin/switch.sh"], None, None),
            ("\"/usr/local/bin/switch.sh master\"", &["/usr/local/bin/switch.sh", "master"], None, None),
            ("/path/script.sh root", &["/path/script.sh"], Some("root"), None),
            ("\"/path/script.sh a  b\" root wheel", &["/path/script.sh", "a", "b"], Some("root"), Some("wheel")),
            // A single-quoted command (the grammar's own words would split it).
            ("'/usr/bin/logger -t vrrp' root", &["/usr/bin/logger", "-t", "vrrp"], Some("root"), None),
            // Quotes inside the command keep spaces in one argument; an escaped quote is
            // a quote character, and neither opens nor closes one.
            (
                "\"/bin/notify 'two words' \\\"and more\\\" x\"",
                &["/bin/notify", "two words", "\"and", "more\"", "x"],
                None,
                None,
            ),
            // Escapes, as keepalived reads them in a command.
            ("\"/bin/notify a\\tb \\x41\\101 \\\\ c\\ d\"", &["/bin/notify", "a\tb", "AA", "\\", "c d"], None, None),
        ];
        for (raw, want, user, group) in cases {
            let (c, notes) = read(raw);
            assert_eq!(c.argv, argv(want), "{raw}");
            assert_eq!((c.user.as_deref(), c.group.as_deref()), (*user, *group), "{raw}");
            assert!(notes.is_empty(), "{raw}: {notes:?}");
        }
    }

    #[test]
    fn what_lbconverge_runs_differently_is_reported() {
        let (c, notes) = read("\"systemctl restart haproxy\"");
        assert_eq!(c.argv, argv(&["systemctl", "restart", "haproxy"]));
        assert_eq!(
            notes,
            [
                "k.conf:1: warning: `notify_master`: `systemctl` is not a full path; keepalived searches PATH, lbconverge does not: write the program's full path"
            ]
        );
        let (_, notes) = read("\"/bin/echo master > /run/state\"");
        assert!(notes[0].contains("looks like a shell command line"), "{notes:?}");
        let (c, notes) = read("\"/bin/echo 'open\"");
        assert_eq!(c.argv, argv(&["/bin/echo", "'open"]), "an open quote inside: the words as written");
        assert!(notes.is_empty(), "{notes:?}");
        let mut n = Notes::default();
        assert_eq!(command(&item("/bin/true nobody"), &mut n), argv(&["/bin/true"]));
        assert_eq!(command(&item("/bin/true root root"), &mut n), argv(&["/bin/true"]));
        let said: Vec<String> = n.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            said,
            [
                "k.conf:1: warning: `notify_master` runs as `nobody` in keepalived; lbconverge runs it as root (script checks: `user`)"
            ]
        );
    }

    #[test]
    fn words_follow_keepalived_quotes_and_escapes() {
        assert_eq!(words("  a \"b c\"d 'e \"f' ", true), Some(argv(&["a", "b cd", "e \"f"])));
        assert_eq!(words("a\\\"b \\n", false), Some(argv(&["a\\\"b", "\\n"])), "kept without escapes");
        assert_eq!(words("\\cA\\E\\777", true), Some(vec!["\u{1}\u{1b}\u{ff}".to_string()]));
        assert_eq!(words("'open", true), None);
        assert_eq!(words("end\\", true), None);
        assert_eq!(words("   ", true), Some(vec![]));
    }
}
