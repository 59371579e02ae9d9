//! Reading keepalived values (numbers, seconds, commands) and collecting what the import
//! could not carry over: every such note names its `file:line`.

use std::fmt;
use std::str::FromStr;

use super::conf::{Files, Item, KEEPALIVED_PATH, Loc};
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

/// The warnings of an import, in the order found, and the host it asks where a program
/// given by name is.
#[derive(Default)]
pub struct Notes<'a> {
    /// Every warning.
    pub warnings: Vec<Warning>,
    /// Settings lbconverge's fixed behaviour already meets, by keyword: where they are
    /// written and why nothing needs carrying (said in the manifest, not warned about).
    pub met: std::collections::BTreeMap<String, (Vec<Loc>, String)>,
    host: Option<&'a dyn Files>,
}

impl fmt::Debug for Notes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notes").field("warnings", &self.warnings).finish_non_exhaustive()
    }
}

impl<'a> Notes<'a> {
    /// The host's interface group names ([`super::conf::Files::device_groups`]).
    pub fn device_groups(&self) -> Option<String> {
        self.host.and_then(|h| h.device_groups())
    }

    /// Notes of an import that finds programs on `host`.
    pub fn with_host(host: &'a dyn Files) -> Self {
        Notes { warnings: Vec::new(), met: Default::default(), host: Some(host) }
    }

    /// A keyword whose effect lbconverge always has: said in the manifest's header.
    pub fn met(&mut self, it: &Item, why: &str) {
        self.met_at(&it.keyword, &it.at, why);
    }

    /// A keyword written at `at` that lbconverge's fixed behaviour already equals.
    pub fn met_at(&mut self, keyword: &str, at: &Loc, why: &str) {
        let entry = self.met.entry(keyword.to_string()).or_insert_with(|| (Vec::new(), why.to_string()));
        entry.0.push(at.clone());
    }

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
/// lbconverge runs a program without a shell: a command line that needs one becomes
/// `/bin/sh -c LINE` ([`shell`]), a program given by name its full path ([`resolve`]),
/// each with a warning.
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
    let argv = match argv.iter().position(|w| w.contains(SHELL)) {
        Some(n) => shell(it, &text, (&argv, n), notes),
        None => resolve(it, argv, notes),
    };
    Command { argv, user, group }
}

/// Characters that make a command line the shell's: redirections, pipes, lists,
/// variables and command substitution.
const SHELL: [char; 7] = ['|', '>', '<', ';', '&', '$', '`'];

/// A command line that needs a shell, as `/bin/sh -c LINE`. keepalived itself runs a line
/// that starts with `<` (`</dev/tcp/...`) through /bin/sh; any other line it runs without
/// a shell, handing `|`, `&&` or `>` to the program as words, which is rarely what was
/// meant: both are reported.
fn shell(it: &Item, line: &str, (argv, n): (&[String], usize), notes: &mut Notes) -> Vec<String> {
    let kw = &it.keyword;
    let word = |k: usize| shown(argv.get(k).map(String::as_str).unwrap_or_default());
    let how = match (line.trim_start().starts_with('<'), n) {
        (true, _) => "keepalived runs a command that starts with `<` through /bin/sh, and so does the import: `/bin/sh -c` with the line as its argument".to_string(),
        (false, 0) => format!("keepalived starts no shell for it (it looks for a program named `{}`); imported as `/bin/sh -c` with the line as its argument, which runs it as written: check that this is what the director should run", word(0)),
        (false, _) => format!("keepalived starts no shell for it (it hands `{}` to `{}` as an argument); imported as `/bin/sh -c` with the line as its argument, which runs it as written: check that this is what the director should run", word(n), word(0)),
    };
    let dash = if line.contains("/dev/tcp/") || line.contains("/dev/udp/") {
        "; `/dev/tcp` is a bash feature: where /bin/sh is dash (Debian, Ubuntu) the line fails under keepalived and lbconverge alike, and a TCP check may be what was meant"
    } else {
        ""
    };
    notes.note(&it.at, format!("`{kw}` is a shell command line: {how}{dash}"));
    vec!["/bin/sh".into(), "-c".into(), line.to_string()]
}

/// A program given by name takes the full path a search of keepalived's PATH finds on
/// this host (with a warning to check it on the directors); one it does not find is kept
/// as written, with a warning to write its full path.
fn resolve(it: &Item, mut argv: Vec<String>, notes: &mut Notes) -> Vec<String> {
    let kw = &it.keyword;
    let Some(prog) = argv.first().cloned() else {
        notes.note(&it.at, format!("`{kw}` has no command"));
        return argv;
    };
    if prog.contains('/') {
        return argv;
    }
    let shown_prog = shown(&prog);
    match notes.host.and_then(|h| h.program(&prog)) {
        Some(full) => {
            notes.note(&it.at, format!("`{kw}`: `{shown_prog}` is given by name; keepalived finds it in its PATH ({KEEPALIVED_PATH}), which on this host gives {}: imported as that; check that the directors have it there", shown(&full)));
            argv[0] = full;
        }
        None => notes.note(&it.at, format!("`{kw}`: `{shown_prog}` is given by name and keepalived's PATH ({KEEPALIVED_PATH}) holds no such program on this host; kept as written: write its full path (keepalived disables a command it cannot find)")),
    }
    argv
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

    /// A host with a few programs in keepalived's PATH.
    struct Host;
    impl super::super::conf::Files for Host {
        fn include(&self, p: &str, _: &str) -> Result<Vec<super::super::conf::Source>, String> {
            Err(p.to_string())
        }
        fn program(&self, name: &str) -> Option<String> {
            match name {
                "killall" | "pidof" | "systemctl" => Some(format!("/usr/bin/{name}")),
                _ => None,
            }
        }
    }

    fn read_on_host(raw: &str) -> (Vec<String>, Vec<String>) {
        let mut notes = Notes::with_host(&Host);
        let c = script(&item(raw), &mut notes);
        (c.argv, notes.warnings.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn programs_given_by_name_take_the_path_keepalived_finds() {
        for (raw, want) in [
            ("\"killall -0 haproxy\"", &["/usr/bin/killall", "-0", "haproxy"][..]),
            ("\"pidof haproxy\"", &["/usr/bin/pidof", "haproxy"]),
            ("\"systemctl is-active haproxy\"", &["/usr/bin/systemctl", "is-active", "haproxy"]),
        ] {
            let (got, notes) = read_on_host(raw);
            assert_eq!(got, argv(want), "{raw}");
            let prog = raw.trim_matches('"').split(' ').next().unwrap();
            assert_eq!(
                notes,
                [format!(
                    "k.conf:1: warning: `notify_master`: `{prog}` is given by name; keepalived finds it in its PATH ({KEEPALIVED_PATH}), which on this host gives /usr/bin/{prog}: imported as that; check that the directors have it there"
                )]
            );
        }
        let (got, notes) = read_on_host("\"haproxy-check --fast\"");
        assert_eq!(got, argv(&["haproxy-check", "--fast"]), "not found: kept as written");
        assert_eq!(
            notes,
            [format!(
                "k.conf:1: warning: `notify_master`: `haproxy-check` is given by name and keepalived's PATH ({KEEPALIVED_PATH}) holds no such program on this host; kept as written: write its full path (keepalived disables a command it cannot find)"
            )]
        );
        let (got, notes) = read_on_host("/usr/local/bin/x");
        assert_eq!((got, notes), (argv(&["/usr/local/bin/x"]), vec![]), "a full path is kept, silently");
    }

    #[test]
    fn command_lines_that_need_a_shell_run_under_sh_c() {
        let (got, notes) = read_on_host("\"</dev/tcp/127.0.0.1/80\"");
        assert_eq!(got, argv(&["/bin/sh", "-c", "</dev/tcp/127.0.0.1/80"]));
        assert!(notes[0].contains("keepalived runs a command that starts with `<` through /bin/sh"), "{notes:?}");
        assert!(notes[0].contains("`/dev/tcp` is a bash feature"), "{notes:?}");
        for (raw, op, prog) in [
            ("\"pidof haproxy | wc -l\"", "|", "pidof"),
            ("\"/bin/a && /bin/b\"", "&&", "/bin/a"),
            ("\"/bin/a /x; /bin/b\"", "/x;", "/bin/a"),
            ("'/bin/echo $(hostname) > /run/x'", "$(hostname)", "/bin/echo"),
        ] {
            let (got, notes) = read_on_host(raw);
            let line = raw.trim_matches(['"', '\''].as_slice());
            assert_eq!(got, argv(&["/bin/sh", "-c", line]), "{raw}");
            assert_eq!(notes.len(), 1, "{raw}: {notes:?}");
            let want = format!(
                "keepalived starts no shell for it (it hands `{op}` to `{prog}` as an argument); imported as `/bin/sh -c`"
            );
            assert!(notes[0].contains(&want), "{raw}: {notes:?}");
        }
        let (got, notes) = read_on_host("\"/bin/a; /bin/b\"");
        assert_eq!(got, argv(&["/bin/sh", "-c", "/bin/a; /bin/b"]));
        assert!(notes[0].contains("(it looks for a program named `/bin/a;`)"), "{notes:?}");
    }

    #[test]
    fn a_user_other_than_root_is_reported() {
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
