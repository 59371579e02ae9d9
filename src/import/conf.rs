//! The keepalived.conf grammar as a tree: statements (a keyword and its arguments, one per
//! line) and blocks (`keyword args { ... }`), each with its file and line. `#` and `!`
//! start comments; `"..."` keeps spaces in one argument; `include PATTERN` splices the
//! statements of the matching files in place. Pure: the files come through [`Files`].
//!
//! An included file must look like keepalived configuration: its first statement is one of
//! keepalived's keywords, or an address (a list of VIPs or peers included inside its block).
//! Anything else (`include /etc/shadow`) is refused without quoting a word of it, since
//! every later message could: an unknown keyword is named in the warnings, values end up
//! in the manifest and its problems.
//!
//! One import has a budget ([`Limits`]): blocks nest at most so deep, lines are at most so
//! long, and all the files it reads, includes included, at most so many and so large
//! together; what exceeds it is an error at its place, never a stack overflow, a huge
//! allocation or an include tree that takes hours.

use std::fmt;

use super::expand::{self, Defs, Line};
pub use super::source::{Source, SyntaxError};

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
    /// The line after the keyword up to the end of its last argument, as written (quotes
    /// and backslashes kept): keepalived reads a command's words from it again, with `'`
    /// quotes and escapes, which the arguments above do not keep.
    pub raw: String,
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

/// keepalived's PATH under systemd (the default of systemd's service manager): where it
/// finds a command given by name.
pub const KEEPALIVED_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The importing host as the import sees it: how `include` finds its files and where a
/// program given by name is (the caller does the IO).
pub trait Files {
    /// The files matching `pattern` (a glob), relative to the directory of `from`, sorted.
    fn include(&self, pattern: &str, from: &str) -> Result<Vec<Source>, String>;

    /// The full path of the program `name` as a search of [`KEEPALIVED_PATH`] finds it on
    /// this host (the first executable regular file), or None.
    fn program(&self, _name: &str) -> Option<String> {
        None
    }

    /// The text of this host's interface group names, /etc/iproute2/group (under
    /// `--root`), where keepalived looks a `use_vmac group NAME` up; None without it.
    fn device_groups(&self) -> Option<String> {
        None
    }
}

/// Includes nest at most this deep (a file that includes itself stops here).
const MAX_INCLUDE_DEPTH: usize = 8;

/// keepalived's keywords (sorted): an included file must start with one of them (or with an
/// address, for a list of VIPs or peers) to be read as keepalived configuration.
const KEYWORDS: &[&str] = &[
    "BFD_CHECK",
    "DNS_CHECK",
    "FILE_CHECK",
    "HTTP_GET",
    "MISC_CHECK",
    "PING_CHECK",
    "SMTP_CHECK",
    "SSL_GET",
    "TCP_CHECK",
    "UDP_CHECK",
    "accept",
    "advert_int",
    "alpha",
    "auth_pass",
    "auth_type",
    "authentication",
    "bfd_instance",
    "bfd_priority",
    "bind_if",
    "bind_port",
    "bindto",
    "checker_no_swap",
    "checker_priority",
    "checker_rt_priority",
    "connect_ip",
    "connect_port",
    "connect_timeout",
    "debug",
    "default_interface",
    "delay_before_retry",
    "delay_loop",
    "digest",
    "dont_track_primary",
    "dynamic_interfaces",
    "enable_script_security",
    "enable_sni",
    "enable_traps",
    "fall",
    "fifo_write_vrrp_states_on_reload",
    "file_path",
    "fwmark",
    "garp_group",
    "garp_interval",
    "garp_lower_prio_delay",
    "garp_lower_prio_repeat",
    "garp_master_delay",
    "garp_master_refresh",
    "garp_master_refresh_repeat",
    "garp_master_repeat",
    "global_defs",
    "gna_interval",
    "group",
    "group_name",
    "ha_suspend",
    "helo_name",
    "higher_prio_send_advert",
    "host",
    "http_protocol",
    "hysteresis",
    "id",
    "include",
    "inhibit_on_failure",
    "instance",
    "interface",
    "interval",
    "ip_family",
    "kernel_rx_buf_size",
    "lb_algo",
    "lb_kind",
    "linkbeat_use_polling",
    "lower_prio_no_advert",
    "lthreshold",
    "lvs_flush",
    "lvs_flush_onstop",
    "lvs_method",
    "lvs_notify_fifo",
    "lvs_notify_fifo_script",
    "lvs_sched",
    "lvs_sync_daemon",
    "lvs_timeouts",
    "max_auto_priority",
    "maxlen",
    "mcast_src_ip",
    "misc_dynamic",
    "misc_path",
    "misc_timeout",
    "name",
    "namespace_with_ipsets",
    "native_ipv6",
    "nb_get_retry",
    "net_namespace",
    "net_namespace_ipvs",
    "nftables",
    "no_accept",
    "nopreempt",
    "notification_email",
    "notification_email_from",
    "notify",
    "notify_backup",
    "notify_down",
    "notify_fault",
    "notify_fifo",
    "notify_fifo_script",
    "notify_master",
    "notify_master_rx_lower_pri",
    "notify_priority_changes",
    "notify_script",
    "notify_stop",
    "notify_up",
    "omega",
    "ops",
    "path",
    "persistence_engine",
    "persistence_granularity",
    "persistence_timeout",
    "port",
    "preempt",
    "preempt_delay",
    "priority",
    "protocol",
    "quorum",
    "quorum_down",
    "quorum_up",
    "real_server",
    "regex",
    "retry",
    "rise",
    "router_id",
    "script",
    "script_user",
    "skip_check_adv_addr",
    "smtp_alert",
    "smtp_alert_checker",
    "smtp_alert_vrrp",
    "smtp_connect_timeout",
    "smtp_helo_name",
    "smtp_server",
    "sni_name",
    "sorry_server",
    "sorry_server_inhibit",
    "sorry_server_lvs_method",
    "source_ip",
    "state",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "status_code",
    "strict_mode",
    "timeout",
    "track_bfd",
    "track_file",
    "track_interface",
    "track_process",
    "track_script",
    "track_src_ip",
    "ttl",
    "type",
    "unicast_peer",
    "unicast_src_ip",
    "unicast_ttl",
    "url",
    "use_ipvlan",
    "use_pid_dir",
    "use_vmac",
    "use_vmac_addr",
    "user",
    "uthreshold",
    "version",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "virtual_router_id",
    "virtual_routes",
    "virtual_rules",
    "virtual_server",
    "virtual_server_group",
    "virtualhost",
    "vmac_prefix",
    "vmac_xmit_base",
    "vrrp_check_unicast_src",
    "vrrp_delay_after_boot",
    "vrrp_garp_interval",
    "vrrp_garp_lower_prio_delay",
    "vrrp_garp_lower_prio_repeat",
    "vrrp_garp_master_delay",
    "vrrp_garp_master_refresh",
    "vrrp_garp_master_refresh_repeat",
    "vrrp_garp_master_repeat",
    "vrrp_gna_interval",
    "vrrp_higher_prio_send_advert",
    "vrrp_instance",
    "vrrp_ipsets",
    "vrrp_iptables",
    "vrrp_lower_prio_no_advert",
    "vrrp_mcast_group4",
    "vrrp_mcast_group6",
    "vrrp_min_garp",
    "vrrp_no_swap",
    "vrrp_notify_fifo",
    "vrrp_notify_fifo_script",
    "vrrp_notify_priority_changes",
    "vrrp_priority",
    "vrrp_rt_priority",
    "vrrp_script",
    "vrrp_skip_check_adv_addr",
    "vrrp_startup_delay",
    "vrrp_strict",
    "vrrp_sync_group",
    "vrrp_track_file",
    "vrrp_track_process",
    "vrrp_version",
    "warmup",
    "weight",
];

/// The budget of one import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Blocks nest at most this deep (keepalived's own files nest 4 or 5 deep).
    pub depth: usize,
    /// A line holds at most this many bytes.
    pub line: usize,
    /// At most this many files are read, the first one and every include counted.
    pub files: usize,
    /// All of them hold at most this many bytes together.
    pub bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { depth: 64, line: 64 << 10, files: 512, bytes: 64 << 20 }
    }
}

/// Parses a file and the files it includes, within the default [`Limits`].
pub fn parse(src: &Source, files: &dyn Files) -> Result<Vec<Item>, SyntaxError> {
    Walk::new(files, Limits::default()).parse(src)
}

/// An import under way: how files are found, its budget and what it used so far (files,
/// bytes). Every file of one import is parsed by one walk, so the budget is the import's.
pub struct Walk<'a> {
    files: &'a dyn Files,
    limits: Limits,
    read: std::cell::Cell<(usize, usize)>,
    /// The parameters of the director being parsed (its includes share them).
    defs: std::cell::RefCell<Defs>,
}

impl<'a> Walk<'a> {
    /// A walk finding includes through `files`, within `limits`.
    pub fn new(files: &'a dyn Files, limits: Limits) -> Self {
        Walk { files, limits, read: std::cell::Cell::new((0, 0)), defs: Default::default() }
    }

    /// Parses a file and the files it includes, counted against the budget, with no
    /// config id (no `@ID` line is kept, every `@^ID` line is).
    pub fn parse(&self, src: &Source) -> Result<Vec<Item>, SyntaxError> {
        self.parse_as(src, "")
    }

    /// Parses one director's file and the files it includes, counted against the budget,
    /// its `@ID` lines read for `config_id` (see [`super::expand`]).
    pub fn parse_as(&self, src: &Source, config_id: &str) -> Result<Vec<Item>, SyntaxError> {
        *self.defs.borrow_mut() = Defs::new(config_id);
        self.charge(src, None)?;
        parse_at(src, self, 0)
    }

    /// Where the last file parsed (with its includes) first had an `@ID` line.
    pub fn first_conditional(&self) -> Option<Loc> {
        let at = self.defs.borrow().first_conditional.clone();
        at.map(|(file, line)| Loc { file, line, column: 1 })
    }

    /// `src`'s lines after conditionals and parameters.
    fn expand(&self, src: &Source) -> Result<Vec<Line>, SyntaxError> {
        let mut defs = self.defs.borrow_mut();
        expand::expand(src, &mut defs, self.limits.line, self.limits.bytes)
    }

    /// Counts `src` against the budget; the error is at `from` (the include that read it).
    fn charge(&self, src: &Source, from: Option<(&Source, &Token)>) -> Result<(), SyntaxError> {
        let (files, bytes) = self.read.get();
        let used = (files.saturating_add(1), bytes.saturating_add(src.text.len()));
        self.read.set(used);
        let over = if used.0 > self.limits.files {
            format!(
                "this import reads more than {} files (includes included); do includes include each other?",
                self.limits.files
            )
        } else if used.1 > self.limits.bytes {
            format!("this import reads more than {} bytes (includes included)", self.limits.bytes)
        } else {
            return Ok(());
        };
        Err(match from {
            Some((s, t)) => syntax(s, t.line, t.column, format!("{over}: stopping at {}", src.name)),
            None => syntax(src, 1, 1, over),
        })
    }
}

fn parse_at(src: &Source, walk: &Walk, depth: usize) -> Result<Vec<Item>, SyntaxError> {
    let lines = walk.expand(src)?;
    parse_tokens(src, &lines, &tokenize(src, &lines, walk.limits.line)?, walk, depth)
}

fn parse_tokens(
    src: &Source,
    lines: &[Line],
    tokens: &[Token],
    walk: &Walk,
    depth: usize,
) -> Result<Vec<Item>, SyntaxError> {
    let mut pos = 0;
    let cx = Cx { src, lines, walk, include_depth: depth };
    cx.block(tokens, &mut pos, None, 0)
}

/// True when `word`, the first of a file, starts keepalived configuration: a keyword of
/// keepalived's, or an address (a file of VIPs or peers included inside their block).
fn recognised(word: &str) -> bool {
    KEYWORDS.binary_search(&word).is_ok()
        || word.parse::<std::net::IpAddr>().is_ok()
        || word.parse::<ipnet::IpNet>().is_ok()
}

/// One file being parsed.
struct Cx<'a> {
    src: &'a Source,
    /// The file's lines as the grammar reads them, for [`Item::raw`].
    lines: &'a [Line],
    walk: &'a Walk<'a>,
    include_depth: usize,
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
    /// The index of its line in the expanded lines.
    idx: usize,
    line: u32,
    column: u32,
    /// The character index (0-based) just after it on its line.
    end: usize,
}

fn syntax(src: &Source, line: u32, column: u32, message: impl Into<String>) -> SyntaxError {
    SyntaxError { file: src.name.clone(), line, column, message: message.into() }
}

fn tokenize(src: &Source, lines: &[Line], max_line: usize) -> Result<Vec<Token>, SyntaxError> {
    let mut out = Vec::new();
    for (idx, Line { no: line, text }) in lines.iter().enumerate() {
        let line = *line;
        if text.len() > max_line {
            return Err(syntax(
                src,
                line,
                1,
                format!("this line is {} bytes long, more than the limit of {max_line}", text.len()),
            ));
        }
        line_tokens(src, text, (idx, line), &mut out)?;
        out.push(Token { tok: Tok::Newline, idx, line, column: 1, end: 0 });
    }
    Ok(out)
}

fn line_tokens(src: &Source, text: &str, (idx, line): (usize, u32), out: &mut Vec<Token>) -> Result<(), SyntaxError> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let push = |tok, len: usize| Token { tok, idx, line, column, end: i + len };
        match c {
            _ if c.is_whitespace() => i += 1,
            '#' | '!' => break,
            '{' => {
                out.push(push(Tok::Open, 1));
                i += 1;
            }
            '}' => {
                out.push(push(Tok::Close, 1));
                i += 1;
            }
            '"' => {
                let end = chars[i + 1..].iter().position(|&c| c == '"').ok_or_else(|| {
                    syntax(src, line, column, "this quote is not closed on its line; add the closing `\"`")
                })?;
                if let Some(k) = chars[i + 1..i + 1 + end].iter().position(|c| c.is_control() && *c != '\t') {
                    let at = u32::try_from(i + 2 + k).unwrap_or(u32::MAX);
                    let c = u32::from(chars[i + 1 + k]);
                    return Err(syntax(src, line, at, format!("control character U+{c:04X} in quotes; remove it")));
                }
                out.push(push(Tok::Word(chars[i + 1..i + 1 + end].iter().collect()), end + 2));
                i += end + 2;
            }
            _ if c.is_control() => {
                return Err(syntax(src, line, column, format!("control character U+{:04X}; remove it", u32::from(c))));
            }
            _ => {
                let len = chars[i..]
                    .iter()
                    .position(|&c| c.is_whitespace() || c.is_control() || "{}\"".contains(c))
                    .unwrap_or(chars.len() - i);
                out.push(push(Tok::Word(chars[i..i + len].iter().collect()), len));
                i += len;
            }
        }
    }
    Ok(())
}

impl Cx<'_> {
    /// Reads statements until the end of the tokens (top level) or the `}` that closes
    /// `open`, `nesting` blocks deep.
    fn block(
        &self,
        t: &[Token],
        pos: &mut usize,
        open: Option<&Token>,
        nesting: usize,
    ) -> Result<Vec<Item>, SyntaxError> {
        let src = self.src;
        if let Some(o) = open.filter(|_| nesting > self.walk.limits.depth) {
            let msg = format!("blocks nest deeper than {} here; is a `}}` missing?", self.walk.limits.depth);
            return Err(syntax(src, o.line, o.column, msg));
        }
        let mut items = Vec::new();
        while let Some(tok) = t.get(*pos) {
            *pos += 1;
            match &tok.tok {
                Tok::Newline => {}
                Tok::Close if open.is_some() => return Ok(items),
                Tok::Close => return Err(syntax(src, tok.line, tok.column, "this `}` closes no block; remove it")),
                Tok::Open => return Err(syntax(src, tok.line, tok.column, "a `{` must follow a keyword")),
                Tok::Word(w) => items.extend(self.statement(t, pos, w, tok, nesting)?),
            }
        }
        match open {
            Some(o) => Err(syntax(src, o.line, o.column, "this `{` is never closed; add a `}`")),
            None => Ok(items),
        }
    }

    /// One statement starting with `keyword` (at `start`); `include` yields the included items.
    fn statement(
        &self,
        t: &[Token],
        pos: &mut usize,
        keyword: &str,
        start: &Token,
        nesting: usize,
    ) -> Result<Vec<Item>, SyntaxError> {
        let mut args = Vec::new();
        let mut last = start.end;
        while let Some(Token { tok: Tok::Word(w), end, .. }) = t.get(*pos) {
            args.push(w.clone());
            last = *end;
            *pos += 1;
        }
        let raw = self.raw(start, last);
        let at = Loc { file: self.src.name.clone(), line: start.line, column: start.column };
        // keepalived takes a `{` that starts a later line as the block of the statement
        // before it (`global_defs` on one line, `{` on the next).
        let next = (*pos..t.len()).find(|&n| t[n].tok != Tok::Newline).unwrap_or(t.len());
        let block_items = match t.get(next) {
            Some(open @ Token { tok: Tok::Open, .. }) => {
                *pos = next + 1;
                Some(self.block(t, pos, Some(open), nesting + 1)?)
            }
            _ => None,
        };
        if keyword == "include" && block_items.is_none() {
            return self.include(&args, start);
        }
        Ok(vec![Item { keyword: keyword.to_string(), args, raw, block: block_items, at }])
    }

    /// The text of `start`'s line from the end of `start` to character `end`, trimmed.
    fn raw(&self, start: &Token, end: usize) -> String {
        let line = self.lines.get(start.idx).map(|l| l.text.as_str()).unwrap_or_default();
        line.chars().skip(start.end).take(end.saturating_sub(start.end)).collect::<String>().trim().to_string()
    }

    fn include(&self, args: &[String], start: &Token) -> Result<Vec<Item>, SyntaxError> {
        let src = self.src;
        let [pattern] = args else {
            return Err(syntax(src, start.line, start.column, "`include` takes one file name or pattern"));
        };
        if self.include_depth >= MAX_INCLUDE_DEPTH {
            let msg = format!("includes nest deeper than {MAX_INCLUDE_DEPTH} files; does a file include itself?");
            return Err(syntax(src, start.line, start.column, msg));
        }
        let found =
            self.walk.files.include(pattern, &src.name).map_err(|e| syntax(src, start.line, start.column, e))?;
        for f in &found {
            self.walk.charge(f, Some((src, start)))?;
        }
        let mut items = Vec::new();
        for f in &found {
            let lines = self.walk.expand(f)?;
            let tokens = tokenize(f, &lines, self.walk.limits.line)?;
            let first = tokens.iter().find_map(|t| match &t.tok {
                Tok::Word(w) => Some((w, t.line)),
                _ => None,
            });
            // Not keepalived configuration (`include /etc/shadow`): nothing of it is
            // imported, and nothing of it is shown.
            if let Some((_, line)) = first.filter(|(w, _)| !recognised(w)) {
                let msg = format!(
                    "`include {pattern}`: {} is not keepalived configuration (line {line} does not start with a keepalived keyword); nothing of it is imported or shown",
                    f.name
                );
                return Err(syntax(src, start.line, start.column, msg));
            }
            items.extend(parse_tokens(f, &lines, &tokens, self.walk, self.include_depth + 1)?);
        }
        Ok(items)
    }
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
                "/etc/shadow" => Ok(vec![src("/etc/shadow", "\nroot:$6$salt$hash:19000:0:99999:7:::\n")]),
                "token" => Ok(vec![src("token", "hunter2\n")]),
                "vips.conf" => Ok(vec![src("vips.conf", "# VIPs\n10.0.0.100/24 dev eth0\n10.0.0.101\n")]),
                "cond.conf" => Ok(vec![src("cond.conf", "@lvs01 ${VIP}/24\n@^lvs01 10.0.0.200/24\n")]),
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
    fn a_brace_on_the_line_after_its_keyword_opens_its_block() {
        let items = parse_text("global_defs\n{\n  router_id lvs01\n}\nvrrp_instance VI_1\n\n  {\n  unicast_peer\n  {\n    10.0.0.2\n  }\n}\n").unwrap();
        assert_eq!(items.iter().map(|i| i.keyword.as_str()).collect::<Vec<_>>(), ["global_defs", "vrrp_instance"]);
        assert_eq!(items[0].children()[0].args, ["lvs01"]);
        let peers = &items[1].children()[0];
        assert_eq!((peers.keyword.as_str(), peers.children()[0].keyword.as_str()), ("unicast_peer", "10.0.0.2"));
        assert_eq!(items[1].at.to_string(), "k.conf:5");
    }

    #[test]
    fn an_included_file_shares_the_parameters_and_config_id_of_its_director() {
        let text = "$VIP=10.0.0.9\nvrrp_instance VI_1 {\n  virtual_ipaddress {\n    include cond.conf\n  }\n}\n";
        let walk = Walk::new(&NoFiles, Limits::default());
        for (id, want, conditional) in
            [("lvs01", "10.0.0.9/24", Some("cond.conf:1")), ("lvs02", "10.0.0.200/24", Some("cond.conf:1"))]
        {
            let items = walk.parse_as(&src("k.conf", text), id).unwrap();
            let vips = items[0].children()[0].children();
            assert_eq!(vips.iter().map(|v| v.keyword.as_str()).collect::<Vec<_>>(), [want], "{id}");
            assert_eq!(walk.first_conditional().map(|l| l.to_string()).as_deref(), conditional);
        }
        walk.parse_as(&src("k.conf", "global_defs {\n}\n"), "lvs01").unwrap();
        assert_eq!(walk.first_conditional(), None, "each director starts afresh");
    }

    #[test]
    fn includes_are_spliced_in_place_with_their_own_locations() {
        let items = parse_text("virtual_server 10.0.0.1 80 {\n  include more/*.conf\n}\n").unwrap();
        let rs = &items[0].children()[0];
        assert_eq!(rs.keyword, "real_server");
        assert_eq!(rs.at.to_string(), "more/a.conf:1");
    }

    #[test]
    fn an_included_file_that_is_not_keepalived_configuration_is_refused_unquoted() {
        let err = |t: &str| parse_text(t).unwrap_err().to_string();
        let shadow = err("global_defs {\n}\ninclude /etc/shadow\n");
        assert_eq!(
            shadow,
            "k.conf:3:1: `include /etc/shadow`: /etc/shadow is not keepalived configuration (line 2 does not start with a keepalived keyword); nothing of it is imported or shown"
        );
        let token = err("vrrp_instance VI_1 {\n  include token\n}\n");
        assert!(token.starts_with("k.conf:2:3: `include token`: token is not keepalived configuration"), "{token}");
        assert!(!shadow.contains("root") && !token.contains("hunter2"));
        // A list of VIPs included inside its block is keepalived configuration.
        let items = parse_text("vrrp_instance VI_1 {\n  virtual_ipaddress {\n    include vips.conf\n  }\n}\n").unwrap();
        let vips = items[0].children()[0].children();
        assert_eq!(vips.iter().map(|v| v.keyword.as_str()).collect::<Vec<_>>(), ["10.0.0.100/24", "10.0.0.101"]);
        assert!(KEYWORDS.windows(2).all(|w| w[0] < w[1]), "KEYWORDS must stay sorted");
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
        assert_eq!(err("a b\0c\n"), "k.conf:1:4: control character U+0000; remove it");
        assert_eq!(err("a \"b\0c\"\n"), "k.conf:1:5: control character U+0000 in quotes; remove it");
    }

    /// Every include matches every file: without a budget, 100 files 8 includes deep are
    /// 100^8 parses.
    struct Everything;
    impl Files for Everything {
        fn include(&self, _: &str, _: &str) -> Result<Vec<Source>, String> {
            Ok((0..100).map(|i| src(&format!("d/{i}.conf"), "vrrp_instance X {\n}\ninclude d/*.conf\n")).collect())
        }
    }

    #[test]
    fn an_import_has_a_budget_of_depth_line_length_files_and_bytes() {
        let deep = "a {\n".repeat(100_000);
        let started = std::time::Instant::now();
        assert_eq!(
            parse_text(&deep).unwrap_err().to_string(),
            "k.conf:65:3: blocks nest deeper than 64 here; is a `}` missing?"
        );
        let long = format!("a {}\n", "x".repeat(100 << 10));
        assert_eq!(
            parse_text(&long).unwrap_err().to_string(),
            "k.conf:1:1: this line is 102402 bytes long, more than the limit of 65536"
        );
        let e = parse(&src("k.conf", "include d/*.conf\n"), &Everything).unwrap_err().to_string();
        assert!(e.contains("this import reads more than 512 files (includes included)"), "{e}");
        assert!(e.ends_with("stopping at d/0.conf") || e.contains("stopping at d/"), "{e}");
        let small = Limits { bytes: 100, ..Limits::default() };
        let e = Walk::new(&Everything, small).parse(&src("k.conf", "include d/*.conf\n")).unwrap_err().to_string();
        assert!(e.contains("this import reads more than 100 bytes (includes included): stopping at d/"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    }
}
