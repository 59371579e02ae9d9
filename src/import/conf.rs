//! The keepalived.conf grammar as a tree: statements (a keyword and its arguments, one per
//! line) and blocks (`keyword args { ... }`), each with its file and line. `#` and `!`
//! start comments; `"..."` keeps spaces in one argument; `include PATTERN` splices the
//! statements of the matching files in place. Pure: the files come through [`Files`].

use std::fmt;

/// Where a statement starts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Loc {
    /// The file as the user named it (or as an include resolved it).
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column of the keyword.
    pub column: u32,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One statement, with its block when it opens one.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The first word.
    pub keyword: String,
    /// The other words of the line, quotes removed.
    pub args: Vec<String>,
    /// The statements between `{` and `}`, when the statement opens a block.
    pub block: Option<Vec<Item>>,
    /// Where the keyword is.
    pub at: Loc,
}

impl Item {
    /// The first argument, if any.
    pub fn arg(&self) -> Option<&str> {
        self.args.first().map(String::as_str)
    }

    /// The block's statements (none when the statement has no block).
    pub fn children(&self) -> &[Item] {
        self.block.as_deref().unwrap_or(&[])
    }
}

/// One source file.
#[derive(Debug, Clone)]
pub struct Source {
    /// The name shown in locations.
    pub name: String,
    /// Its text.
    pub text: String,
}

/// How `include` finds its files (the caller does the IO).
pub trait Files {
    /// The files matching `pattern` (a glob), relative to the directory of `from`, sorted.
    fn include(&self, pattern: &str, from: &str) -> Result<Vec<Source>, String>;
}

/// A file that cannot be read as keepalived.conf.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct SyntaxError {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Includes nest at most this deep (a file that includes itself stops here).
const MAX_INCLUDE_DEPTH: usize = 8;

/// Parses a file and the files it includes.
pub fn parse(src: &Source, files: &dyn Files) -> Result<Vec<Item>, SyntaxError> {
    parse_at(src, files, 0)
}

fn parse_at(src: &Source, files: &dyn Files, depth: usize) -> Result<Vec<Item>, SyntaxError> {
    let tokens = tokenize(src)?;
    let mut pos = 0;
    let items = block(src, &tokens, &mut pos, files, depth, None)?;
    Ok(items)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Open,
    Close,
    Newline,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: u32,
    column: u32,
}

fn syntax(src: &Source, line: u32, column: u32, message: impl Into<String>) -> SyntaxError {
    SyntaxError { file: src.name.clone(), line, column, message: message.into() }
}

fn tokenize(src: &Source) -> Result<Vec<Token>, SyntaxError> {
    let mut out = Vec::new();
    for (n, text) in src.text.lines().enumerate() {
        let line = u32::try_from(n + 1).unwrap_or(u32::MAX);
        line_tokens(src, text, line, &mut out)?;
        out.push(Token { tok: Tok::Newline, line, column: 1 });
    }
    Ok(out)
}

fn line_tokens(src: &Source, text: &str, line: u32, out: &mut Vec<Token>) -> Result<(), SyntaxError> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let push = |tok| Token { tok, line, column };
        match c {
            _ if c.is_whitespace() => i += 1,
            '#' | '!' => break,
            '{' => {
                out.push(push(Tok::Open));
                i += 1;
            }
            '}' => {
                out.push(push(Tok::Close));
                i += 1;
            }
            '"' => {
                let end = chars[i + 1..].iter().position(|&c| c == '"').ok_or_else(|| {
                    syntax(src, line, column, "this quote is not closed on its line; add the closing `\"`")
                })?;
                out.push(push(Tok::Word(chars[i + 1..i + 1 + end].iter().collect())));
                i += end + 2;
            }
            _ if c.is_control() => {
                return Err(syntax(src, line, column, format!("control character U+{:04X}; remove it", u32::from(c))));
            }
            _ => {
                let len =
                    chars[i..].iter().position(|&c| c.is_whitespace() || "{}\"".contains(c)).unwrap_or(chars.len() - i);
                out.push(push(Tok::Word(chars[i..i + len].iter().collect())));
                i += len;
            }
        }
    }
    Ok(())
}

/// Reads statements until the end of the tokens (top level) or the `}` that closes `open`.
fn block(
    src: &Source,
    t: &[Token],
    pos: &mut usize,
    files: &dyn Files,
    depth: usize,
    open: Option<&Token>,
) -> Result<Vec<Item>, SyntaxError> {
    let mut items = Vec::new();
    while let Some(tok) = t.get(*pos) {
        *pos += 1;
        match &tok.tok {
            Tok::Newline => {}
            Tok::Close if open.is_some() => return Ok(items),
            Tok::Close => return Err(syntax(src, tok.line, tok.column, "this `}` closes no block; remove it")),
            Tok::Open => return Err(syntax(src, tok.line, tok.column, "a `{` must follow a keyword")),
            Tok::Word(w) => {
                let item = statement(src, t, pos, files, depth, w, tok)?;
                items.extend(item);
            }
        }
    }
    match open {
        Some(o) => Err(syntax(src, o.line, o.column, "this `{` is never closed; add a `}`")),
        None => Ok(items),
    }
}

/// One statement starting with `keyword` (at `start`); `include` yields the included items.
fn statement(
    src: &Source,
    t: &[Token],
    pos: &mut usize,
    files: &dyn Files,
    depth: usize,
    keyword: &str,
    start: &Token,
) -> Result<Vec<Item>, SyntaxError> {
    let mut args = Vec::new();
    while let Some(Token { tok: Tok::Word(w), .. }) = t.get(*pos) {
        args.push(w.clone());
        *pos += 1;
    }
    let at = Loc { file: src.name.clone(), line: start.line, column: start.column };
    let block_items = match t.get(*pos) {
        Some(open @ Token { tok: Tok::Open, .. }) => {
            *pos += 1;
            Some(block(src, t, pos, files, depth, Some(open))?)
        }
        _ => None,
    };
    if keyword == "include" && block_items.is_none() {
        return include(src, files, depth, &args, start);
    }
    Ok(vec![Item { keyword: keyword.to_string(), args, block: block_items, at }])
}

fn include(
    src: &Source,
    files: &dyn Files,
    depth: usize,
    args: &[String],
    start: &Token,
) -> Result<Vec<Item>, SyntaxError> {
    let [pattern] = args else {
        return Err(syntax(src, start.line, start.column, "`include` takes one file name or pattern"));
    };
    if depth >= MAX_INCLUDE_DEPTH {
        let msg = format!("includes nest deeper than {MAX_INCLUDE_DEPTH} files; does a file include itself?");
        return Err(syntax(src, start.line, start.column, msg));
    }
    let found = files.include(pattern, &src.name).map_err(|e| syntax(src, start.line, start.column, e))?;
    let mut items = Vec::new();
    for f in &found {
        items.extend(parse_at(f, files, depth + 1)?);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoFiles;
    impl Files for NoFiles {
        fn include(&self, pattern: &str, _: &str) -> Result<Vec<Source>, String> {
            match pattern {
                "more/*.conf" => Ok(vec![src("more/a.conf", "real_server 10.0.0.2 80 {\n weight 3\n}\n")]),
                "loop.conf" => Ok(vec![src("loop.conf", "include loop.conf\n")]),
                _ => Err(format!("no file matches `{pattern}`")),
            }
        }
    }

    fn src(name: &str, text: &str) -> Source {
        Source { name: name.into(), text: text.into() }
    }

    fn parse_text(text: &str) -> Result<Vec<Item>, SyntaxError> {
        parse(&src("k.conf", text), &NoFiles)
    }

    #[test]
    fn statements_blocks_quotes_comments_and_one_line_blocks() {
        let text = "# top\nglobal_defs { router_id lvs01 }\n! bang\nvirtual_server 10.0.0.1 80 {\n  lb_algo wlc # trailing\n  real_server 10.0.0.2 80 {\n    MISC_CHECK {\n      misc_path \"/bin/check a b\"\n    }\n  }\n}\n";
        let items = parse_text(text).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].keyword, "global_defs");
        assert_eq!(items[0].children()[0].args, ["lvs01"]);
        let vs = &items[1];
        assert_eq!(
            (vs.keyword.as_str(), vs.args.clone(), vs.at.line),
            ("virtual_server", vec!["10.0.0.1".into(), "80".into()], 4)
        );
        assert_eq!(vs.children()[0].args, ["wlc"]);
        let misc = &vs.children()[1].children()[0].children()[0];
        assert_eq!((misc.keyword.as_str(), misc.args.clone()), ("misc_path", vec!["/bin/check a b".to_string()]));
        assert_eq!(misc.at.to_string(), "k.conf:8");
    }

    #[test]
    fn includes_are_spliced_in_place_with_their_own_locations() {
        let items = parse_text("virtual_server 10.0.0.1 80 {\n  include more/*.conf\n}\n").unwrap();
        let rs = &items[0].children()[0];
        assert_eq!(rs.keyword, "real_server");
        assert_eq!(rs.at.to_string(), "more/a.conf:1");
    }

    #[test]
    fn broken_files_are_errors_with_their_place_and_fix() {
        let err = |t: &str| parse_text(t).unwrap_err().to_string();
        assert_eq!(err("a {\n b\n"), "k.conf:1:3: this `{` is never closed; add a `}`");
        assert_eq!(err("a\n}\n"), "k.conf:2:1: this `}` closes no block; remove it");
        assert_eq!(err("x \"open\n"), "k.conf:1:3: this quote is not closed on its line; add the closing `\"`");
        assert_eq!(err("include nothing/*\n"), "k.conf:1:1: no file matches `nothing/*`");
        assert!(err("include loop.conf\n").contains("includes nest deeper than 8 files"));
        assert_eq!(err("{\n"), "k.conf:1:1: a `{` must follow a keyword");
    }
}
