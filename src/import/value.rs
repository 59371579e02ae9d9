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

/// A command, keepalived's `<STRING>|<QUOTED-STRING> [username [groupname]]`: the first
/// argument split at spaces (keepalived runs it without a shell, split the same way); a
/// user after it is reported, since lbconverge decides who runs it.
pub fn command(it: &Item, notes: &mut Notes) -> Vec<String> {
    let words: Vec<String> = it.arg().unwrap_or_default().split_whitespace().map(str::to_string).collect();
    if words.iter().any(|w| w.contains(['|', '>', '<', ';', '&', '$', '`'])) {
        notes.note(
            &it.at,
            format!(
                "`{}` looks like a shell command line; lbconverge runs commands without a shell: wrap it in a script",
                it.keyword
            ),
        );
    }
    if words.is_empty() {
        notes.note(&it.at, format!("`{}` has no command", it.keyword));
    }
    if let Some(user) = it.args.get(1) {
        notes.note(
            &it.at,
            format!(
                "`{}` runs as user `{user}` in keepalived; lbconverge runs it as its own user (script checks: `user`)",
                it.keyword
            ),
        );
    }
    words
}

/// A keepalived flag with an optional `<BOOL>` argument (`inhibit_on_failure`, `alpha`).
pub fn flag(it: &Item) -> bool {
    !matches!(it.arg().map(str::to_ascii_lowercase).as_deref(), Some("false" | "no" | "off" | "0"))
}
