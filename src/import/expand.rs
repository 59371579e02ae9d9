//! keepalived's line-level preprocessing, done before the grammar sees a line (as
//! keepalived's `read_line` does it): `@ID LINE` keeps LINE only when ID is the director's
//! config id and `@^ID LINE` only when it is not; `$NAME=VALUE` defines a parameter (a
//! VALUE ending in `\` continues on the next lines: a multi-line definition); `$NAME`
//! (followed by white space, `,`, `)` or the end of the line) and `${NAME}` anywhere are
//! replaced by the value when the line is read, again and again until none is left, so
//! that a value may name another parameter. An undefined parameter stays as written.
//! Predefined: `${_INSTANCE}` (the config id), `${_PWD}` (the file's directory),
//! `${_HASH}` and `${_BANG}`.
//!
//! Lines with none of this reach the grammar untouched (their columns are the file's);
//! a line made by a replacement keeps the number of the line that used the parameter.
//! Pure, and bounded: expansions nest at most [`MAX_NESTING`] deep, a line grows to at
//! most the import's line limit, a file expands to at most its byte budget, and the
//! replacing in one file copies at most that budget's bytes (a file of lines that each
//! double a parameter ten times would otherwise take hours).

use std::collections::BTreeMap;

use super::source::{Source, SyntaxError};

/// Multi-line expansions nest at most this deep (a parameter that uses itself stops here).
pub const MAX_NESTING: usize = 16;

/// Replacements on one line stop here (`$A=x $A` would grow forever).
const MAX_REPLACEMENTS: usize = 4096;

/// One line as the grammar reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The 1-based number of the file's line it comes from.
    pub no: u32,
    /// Its text.
    pub text: String,
}

/// The parameters defined so far in one director's files (includes share them), and the
/// director's config id.
#[derive(Debug, Clone, Default)]
pub struct Defs {
    config_id: String,
    values: BTreeMap<String, Vec<String>>,
    /// Where the first conditional line was, once one is seen.
    pub first_conditional: Option<(String, u32)>,
}

impl Defs {
    /// No parameters yet, for the director whose config id is `config_id`.
    pub fn new(config_id: &str) -> Self {
        Defs { config_id: config_id.to_string(), ..Defs::default() }
    }
}

/// What one file's lines are being expanded with.
struct Run<'a> {
    src: &'a Source,
    defs: &'a mut Defs,
    max_line: usize,
    budget: usize,
    /// The bytes replacing may still copy in this file.
    work: usize,
    out: Vec<Line>,
}

/// The lines of `src` after conditionals and parameters, with `defs` updated.
pub fn expand(src: &Source, defs: &mut Defs, max_line: usize, budget: usize) -> Result<Vec<Line>, SyntaxError> {
    let mut run = Run { src, defs, max_line, budget, work: budget, out: Vec::new() };
    let mut collecting: Option<String> = None;
    for (n, text) in src.text.lines().enumerate() {
        let no = u32::try_from(n + 1).unwrap_or(u32::MAX);
        if let Some(name) = collecting.take() {
            collecting = run.continue_definition(name, text);
            run.out.push(Line { no, text: String::new() });
            continue;
        }
        collecting = run.line(no, text, 0)?;
    }
    Ok(run.out)
}

impl Run<'_> {
    fn error(&self, no: u32, message: String) -> SyntaxError {
        SyntaxError { file: self.src.name.clone(), line: no, column: 1, message }
    }

    /// One line read from the file or from a multi-line value; returns the name of a
    /// multi-line definition it starts.
    fn line(&mut self, no: u32, text: &str, nesting: usize) -> Result<Option<String>, SyntaxError> {
        let body = decomment(text);
        if !body.starts_with('@') && !body.contains('$') {
            self.push(no, text.to_string())?;
            return Ok(None);
        }
        let Some(body) = self.conditional(no, body) else {
            self.push(no, String::new())?;
            return Ok(None);
        };
        if let Some((name, value)) = definition(&body) {
            self.push(no, String::new())?;
            return Ok(self.define(name, value));
        }
        let (first, rest) = self.substitute(no, &body)?;
        self.push(no, first)?;
        for more in rest {
            if nesting >= MAX_NESTING {
                let msg = format!("multi-line parameters nest deeper than {MAX_NESTING} here; does one use itself?");
                return Err(self.error(no, msg));
            }
            if self.line(no, &more, nesting + 1)?.is_some() {
                return Err(self.error(no, "a multi-line parameter's value starts another multi-line definition; keepalived cannot read that either".into()));
            }
        }
        Ok(None)
    }

    fn push(&mut self, no: u32, text: String) -> Result<(), SyntaxError> {
        self.budget = self.budget.checked_sub(text.len() + 1).ok_or_else(|| {
            self.error(no, "parameter substitution makes this file larger than the import's budget".into())
        })?;
        self.out.push(Line { no, text });
        Ok(())
    }

    /// `@ID LINE` / `@^ID LINE`: the line without its condition, or None when it is not
    /// this director's.
    fn conditional(&mut self, no: u32, body: String) -> Option<String> {
        if !body.starts_with('@') {
            return Some(body);
        }
        let cond = &body[1..];
        self.defs.first_conditional.get_or_insert_with(|| (self.src.name.clone(), no));
        let (negated, cond) = cond.strip_prefix('^').map_or((false, cond), |c| (true, c));
        let (id, rest) = cond.split_once([' ', '\t'])?;
        ((id == self.defs.config_id) != negated).then(|| rest.trim_start().to_string())
    }

    /// Stores a definition; a value ending in `\` starts a multi-line one (its name returned).
    fn define(&mut self, name: String, value: String) -> Option<String> {
        match value.strip_suffix('\\') {
            Some(first) => {
                let first = first.trim_end();
                let lines = if first.is_empty() { vec![] } else { vec![first.to_string()] };
                self.defs.values.insert(name.clone(), lines);
                Some(name)
            }
            None => {
                self.defs.values.insert(name, vec![value]);
                None
            }
        }
    }

    /// A further line of a multi-line definition; an empty line or one without a
    /// trailing `\` ends it.
    fn continue_definition(&mut self, name: String, text: &str) -> Option<String> {
        let body = decomment(text);
        let (line, more) = match body.strip_suffix('\\') {
            Some(l) => (l.trim_end().to_string(), true),
            None => (body, false),
        };
        if let Some(v) = self.defs.values.get_mut(&name).filter(|_| !line.is_empty()) {
            v.push(line);
        }
        more.then_some(name)
    }

    /// Replaces every parameter of `body`; a multi-line one (only at the end of a line)
    /// gives its further lines.
    fn substitute(&mut self, no: u32, body: &str) -> Result<(String, Vec<String>), SyntaxError> {
        let mut text = body.to_string();
        let mut rest = Vec::new();
        let mut from = 0;
        let mut count = 0;
        while let Some(at) = text.get(from..).and_then(|t| t.find('$')).map(|k| k + from) {
            let Some((len, name)) = reference(&text[at..]) else {
                from = at + 1;
                continue;
            };
            let whole_line = at + len == text.len();
            let Some(value) = self.value(&name, whole_line) else {
                from = at + 1;
                continue;
            };
            count += 1;
            if count > MAX_REPLACEMENTS || text.len() - len + value[0].len() > self.max_line {
                let msg = format!("parameter substitution does not end on this line (does `${name}` use itself?)");
                return Err(self.error(no, msg));
            }
            self.work = self.work.checked_sub(text.len()).ok_or_else(|| {
                self.error(no, "parameter substitution in this file copies more than the import's budget of bytes; do parameters double each other?".into())
            })?;
            text.replace_range(at..at + len, &value[0]);
            let mut more = value[1..].to_vec();
            more.append(&mut rest);
            rest = more;
            from = at;
        }
        Ok((text, rest))
    }

    /// A parameter's lines (a predefined one's, or one defined so far); a multi-line one
    /// only where the reference ends the line, as in keepalived.
    fn value(&self, name: &str, whole_line: bool) -> Option<Vec<String>> {
        let pwd = || self.src.name.rsplit_once('/').map_or(".", |(d, _)| d).to_string();
        let defined = self.defs.values.get(name).cloned();
        let v = defined.or_else(|| match name {
            "_INSTANCE" => Some(vec![self.defs.config_id.clone()]),
            "_PWD" => Some(vec![pwd()]),
            "_HASH" => Some(vec!["#".into()]),
            "_BANG" => Some(vec!["!".into()]),
            _ => None,
        })?;
        match v.len() {
            0 => Some(vec![String::new()]),
            1 => Some(v),
            _ if whole_line => Some(v),
            _ => None,
        }
    }
}

/// keepalived's `decomment`: without leading and trailing white space, cut at a `#` or
/// `!` outside double quotes.
fn decomment(text: &str) -> String {
    let mut quoted = false;
    let mut end = text.len();
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '#' | '!' if !quoted => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    text[..end].trim().to_string()
}

/// `$NAME=VALUE` (no space before `=`): the name and the value (leading white space
/// removed). keepalived reads a line that starts with `$` but is not this as a line.
fn definition(body: &str) -> Option<(String, String)> {
    let rest = body.strip_prefix('$')?;
    let (name, value) = rest.split_once('=')?;
    let first = name.chars().next()?;
    let valid =
        (first.is_ascii_alphabetic() || first == '_') && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| (name.to_string(), value.trim_start().to_string()))
}

/// A reference at the start of `text` (which starts with `$`): its length and name.
/// `${NAME}` anywhere; `$NAME` only before white space, `,`, `)` or the end.
fn reference(text: &str) -> Option<(usize, String)> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let starts = |n: &str| n.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if let Some(inner) = text.strip_prefix("${") {
        let close = inner.find('}')?;
        let name = &inner[..close];
        return (starts(name) && name.chars().all(is_name)).then(|| (close + 3, name.to_string()));
    }
    let name: String = text[1..].chars().take_while(|&c| is_name(c)).collect();
    let after = text[1 + name.len()..].chars().next();
    let ends = after.is_none_or(|c| c == ' ' || c == '\t' || c == ',' || c == ')');
    (starts(&name) && ends).then(|| (name.len() + 1, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, text: &str) -> Vec<String> {
        let src = Source { name: "/etc/keepalived/k.conf".into(), text: text.into() };
        let lines = expand(&src, &mut Defs::new(id), 1 << 16, 1 << 20).unwrap();
        lines.into_iter().filter(|l| !l.text.trim().is_empty()).map(|l| format!("{}: {}", l.no, l.text)).collect()
    }

    #[test]
    fn conditional_lines_are_kept_for_their_config_id_only() {
        let text = "@lvs01 router_id one\n@lvs02 router_id two\n  @^lvs01   priority 100\n@lvs01\nplain\n";
        assert_eq!(run("lvs01", text), ["1: router_id one", "5: plain"]);
        assert_eq!(run("lvs02", text), ["2: router_id two", "3: priority 100", "5: plain"]);
    }

    #[test]
    fn parameters_are_replaced_when_used_with_their_value_at_that_time() {
        let text = "$BASE=10.2.${SUB}\n$SUB=0\n${BASE}.100/32\n$SUB=10\n${BASE}.100/32\n@lvs01 $PRIO=240\n@lvs02 $PRIO=200\npriority $PRIO\nkeep $UNDEF ${UNDEF} $5 ${_INSTANCE} ${_PWD}\nmisc \"$HOME/x\"\n";
        assert_eq!(
            run("lvs02", text),
            [
                "3: 10.2.0.100/32",
                "5: 10.2.10.100/32",
                "8: priority 200",
                "9: keep $UNDEF ${UNDEF} $5 lvs02 /etc/keepalived",
                "10: misc \"$HOME/x\""
            ]
        );
    }

    #[test]
    fn multi_line_parameters_expand_to_their_lines_at_the_place_of_use() {
        let text = "$INST= \\\nvrrp_instance VI_${NUM} { \\\n  @lvs01 priority 130 \\\n  @lvs02 priority 120 \\\n}\n$NUM=0\n$INST\n$NUM=1\n$INST\n";
        assert_eq!(
            run("lvs02", text),
            [
                "7: vrrp_instance VI_0 {",
                "7: priority 120",
                "7: }",
                "9: vrrp_instance VI_1 {",
                "9: priority 120",
                "9: }"
            ]
        );
    }

    /// Ten parameters that each double the one before make a 32 KiB line of 1023
    /// replacements: 5000 such lines would copy 80 GB.
    #[test]
    fn replacing_has_a_budget_of_work() {
        let mut text = format!("$A0={}\n", "x".repeat(31));
        for n in 1..=10 {
            text += &format!("$A{n}=$A{m} $A{m}\n", m = n - 1);
        }
        text += &"$A10\n".repeat(5000);
        let src = Source { name: "k.conf".into(), text };
        let started = std::time::Instant::now();
        let e = expand(&src, &mut Defs::new("x"), 1 << 16, 64 << 20).unwrap_err().to_string();
        assert!(e.contains("copies more than the import's budget of bytes"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    }

    #[test]
    fn a_parameter_that_uses_itself_is_an_error_at_its_place() {
        let src = Source { name: "k.conf".into(), text: "$A=x $A\nrouter_id $A\n".into() };
        let e = expand(&src, &mut Defs::new("x"), 1 << 16, 64 << 20).unwrap_err().to_string();
        assert_eq!(e, "k.conf:2:1: parameter substitution does not end on this line (does `$A` use itself?)");
        let src = Source { name: "k.conf".into(), text: "$B= \\\n$B\n\n$B\n".into() };
        let e = expand(&src, &mut Defs::new("x"), 1 << 16, 64 << 20).unwrap_err().to_string();
        assert!(e.starts_with("k.conf:4:1: parameter substitution does not end on this line"), "{e}");
        let src = Source { name: "k.conf".into(), text: "$B= \\\na \\\n$B\n\n$B\n".into() };
        let e = expand(&src, &mut Defs::new("x"), 1 << 16, 64 << 20).unwrap_err().to_string();
        assert!(e.starts_with("k.conf:5:1: multi-line parameters nest deeper than 16 here"), "{e}");
    }
}
