//! Health check settings: inherited field by field from defaults, service and backend.

use std::time::Duration;

use crate::manifest::KeyPath;
use crate::manifest::types::{CheckAuth, CheckType, HealthCheck, StatusSpec, Via};
use crate::model::cluster::{Check, CheckKind, HttpCheck, Secret, TcpCheck, TlsCheck, UdpCheck};

use super::{Cx, FileFact, dur};

/// Overlays `over` on `base`, field by field.
pub fn merge(base: &HealthCheck, over: &HealthCheck) -> HealthCheck {
    macro_rules! pick {
        ($($f:ident),*) => { HealthCheck { $($f: over.$f.clone().or_else(|| base.$f.clone())),* } };
    }
    pick!(
        kind,
        interval,
        timeout,
        retries,
        retry_delay,
        rise,
        fall,
        port,
        path,
        host,
        method,
        headers,
        body,
        auth,
        expect_status,
        digest,
        body_regex,
        tls_verify,
        ca_file,
        command,
        dynamic,
        user,
        query_name,
        query_type,
        payload,
        require_reply,
        expect_reply,
        min_reply_length,
        max_reply_length,
        send,
        send_hex,
        expect,
        via
    )
}

/// Resolves a merged check for a backend on `port`; `present` says whether any level wrote
/// a `health_check` block (without one there is no check, as in keepalived).
pub fn resolve(cx: &mut Cx, at: &KeyPath, h: &HealthCheck, present: bool, port: u16) -> Check {
    let kind_name = h.kind.unwrap_or(if present { CheckType::Tcp } else { CheckType::None });
    let kind = kind(cx, at, h, kind_name);
    let check_port = match h.port.map(|p| u16::try_from(p).unwrap_or(0)) {
        Some(p) => p,
        None if port == 0 && !matches!(kind, CheckKind::None | CheckKind::Script { .. } | CheckKind::Ping) => {
            cx.error(
                &at.key("port"),
                "this backend has no one port (a firewall-mark service, or a group of several ports), so its check needs one",
                Some("set health_check.port"),
            );
            0
        }
        None => port,
    };
    let check = Check {
        kind,
        port: check_port,
        interval: dur(cx, &at.key("interval"), h.interval.as_ref(), Duration::from_secs(6)),
        timeout: dur(cx, &at.key("timeout"), h.timeout.as_ref(), Duration::from_secs(3)),
        retries: h.retries.unwrap_or(1),
        retry_delay: dur(cx, &at.key("retry_delay"), h.retry_delay.as_ref(), Duration::from_secs(1)),
        rise: h.rise.unwrap_or(1),
        fall: h.fall.unwrap_or(1),
        via_ipvs: h.via == Some(Via::Ipvs),
    };
    if check.via_ipvs && matches!(check.kind, CheckKind::Script { .. } | CheckKind::Ping | CheckKind::None) {
        cx.error(&at.key("via"), "only tcp, http, https, dns and udp checks can go through IPVS", None);
    }
    if check.timeout.is_zero() || check.interval.is_zero() {
        cx.error(at, "interval and timeout must be more than 0", None);
    }
    check
}

fn kind(cx: &mut Cx, at: &KeyPath, h: &HealthCheck, t: CheckType) -> CheckKind {
    match t {
        CheckType::Tcp => CheckKind::Tcp(tcp(cx, at, h)),
        CheckType::Http => CheckKind::Http { http: Box::new(http(cx, at, h)), tls: None },
        CheckType::Https => CheckKind::Http { http: Box::new(http(cx, at, h)), tls: Some(tls(cx, at, h)) },
        CheckType::Script => script(cx, at, h),
        CheckType::Dns => dns(cx, at, h),
        CheckType::Udp => udp(cx, at, h),
        CheckType::Ping => CheckKind::Ping,
        CheckType::None => CheckKind::None,
    }
}

fn http(cx: &mut Cx, at: &KeyPath, h: &HealthCheck) -> HttpCheck {
    let path = h.path.clone().unwrap_or_else(|| "/".into());
    if !path.starts_with('/') || path.contains(|c: char| c.is_ascii_whitespace() || c.is_control()) {
        cx.error(&at.key("path"), format!("`{path}` is not a request path"), Some("start it with '/', without spaces"));
    }
    if let Some(host) =
        h.host.as_ref().filter(|v| v.is_empty() || v.contains(|c: char| c.is_whitespace() || c.is_control()))
    {
        cx.error(&at.key("host"), format!("`{host}` is not a host name"), None);
    }
    let digest = h.digest.as_ref().map(|d| d.to_ascii_lowercase());
    if let Some(d) = digest.as_ref().filter(|d| d.len() != 32 || !d.chars().all(|c| c.is_ascii_hexdigit())) {
        cx.error(
            &at.key("digest"),
            format!("`{d}` is not an MD5 digest (32 hex digits)"),
            Some("compute it with `curl -s URL | md5sum`"),
        );
    }
    if let Some(Err(e)) = h.body_regex.as_ref().map(|r| regex_lite::Regex::new(r)) {
        cx.error(&at.key("body_regex"), format!("not a regular expression: {e}"), None);
    }
    let method = method(cx, at, h);
    HttpCheck {
        path,
        host: h.host.clone(),
        headers: headers(cx, &at.key("headers"), h),
        body: request_body(cx, &at.key("body"), h.body.as_ref(), &method),
        auth: h.auth.as_ref().and_then(|a| auth(cx, &at.key("auth"), a)),
        method,
        expect_status: statuses(cx, &at.key("expect_status"), h.expect_status.as_deref()),
        digest,
        body_regex: h.body_regex.clone(),
    }
}

/// The most bytes of a request body or of what a TCP check sends.
pub const MAX_SEND: usize = 64 * 1024;
/// The most request headers a check may add.
const MAX_HEADERS: usize = 64;

/// An HTTP token (RFC 9110 5.6.2): method and header names.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The request method: a token of at most 32 characters, not CONNECT; HEAD without the
/// settings that judge a body.
fn method(cx: &mut Cx, at: &KeyPath, h: &HealthCheck) -> String {
    let method = h.method.clone().unwrap_or_else(|| "GET".into());
    if !is_token(&method) || method.len() > 32 {
        let shown = crate::manifest::yaml::shown(&method);
        cx.error(&at.key("method"), format!("`{shown}` is not an HTTP method"), Some("GET, HEAD, POST, OPTIONS, ..."));
    } else if method.eq_ignore_ascii_case("CONNECT") {
        cx.error(&at.key("method"), "CONNECT opens a tunnel, it checks nothing", Some("use GET, HEAD or POST"));
    }
    if method == "HEAD" {
        for (key, set) in [("digest", h.digest.is_some()), ("body_regex", h.body_regex.is_some())] {
            if set {
                cx.error(&at.key(key), "a HEAD answer has no body to judge", Some("use GET, or leave this out"));
            }
        }
    }
    method
}

/// Request headers: tokens for names, no control characters but tab in values, none of
/// the headers lbconverge writes itself.
fn headers(cx: &mut Cx, at: &KeyPath, h: &HealthCheck) -> Vec<(String, String)> {
    let Some(map) = &h.headers else { return Vec::new() };
    if map.len() > MAX_HEADERS {
        cx.error(at, format!("{} headers; a check sends at most {MAX_HEADERS}", map.len()), None);
    }
    let mut seen = std::collections::BTreeSet::new();
    for (name, value) in map {
        let place = at.name(name);
        let lower = name.to_ascii_lowercase();
        if !is_token(name) {
            let shown = crate::manifest::yaml::shown(name);
            cx.error(&place, format!("`{shown}` is not a header name"), Some("letters, digits and `-`"));
        } else if let Some(fix) = reserved_header(&lower, h.auth.is_some()) {
            cx.error(&place, format!("lbconverge writes `{name}` itself"), Some(fix));
        } else if !seen.insert(lower) {
            cx.error(&place, format!("`{name}` twice (header names ignore case)"), None);
        }
        if value.chars().any(|c| c.is_control() && c != '\t') || value.len() > 4096 {
            cx.error(&place, "a header value is one line of at most 4 KiB, without control characters", None);
        }
    }
    map.iter().map(|(k, v)| (k.clone(), v.trim_matches([' ', '\t']).to_string())).collect()
}

/// How to set a header lbconverge writes itself, when `name` (lower case) is one.
fn reserved_header(name: &str, auth: bool) -> Option<&'static str> {
    match name {
        "host" => Some("set `host` (the Host header and the TLS server name)"),
        "content-length" | "transfer-encoding" => Some("the request's framing follows `body`"),
        "connection" => Some("a check closes its connection after each answer"),
        "authorization" if auth => Some("give either `auth` or an Authorization header"),
        _ => None,
    }
}

/// The request body: at most [`MAX_SEND`] bytes, not with GET, HEAD or TRACE.
fn request_body(cx: &mut Cx, at: &KeyPath, body: Option<&String>, method: &str) -> Option<String> {
    let body = body?;
    if matches!(method, "GET" | "HEAD" | "TRACE") {
        cx.error(at, format!("a {method} request carries no body"), Some("set `method: POST` (or PUT)"));
    }
    if body.len() > MAX_SEND {
        cx.error(at, format!("{} bytes; a request body is at most 64 KiB", body.len()), None);
    }
    Some(body.clone())
}

/// Basic authentication: a user without `:` or control characters, and exactly one
/// source of the password.
fn auth(cx: &mut Cx, at: &KeyPath, a: &CheckAuth) -> Option<(String, Secret)> {
    if a.user.contains(':') || a.user.chars().any(char::is_control) {
        let shown = crate::manifest::yaml::shown(&a.user);
        cx.error(
            &at.key("user"),
            format!("`{shown}` is not a basic-auth user name"),
            Some("no `:`, no control characters"),
        );
    }
    let secret = match (&a.password_file, &a.password_env) {
        (Some(f), None) => {
            let path = cx.manifest_dir().join(f);
            super::secret_file(cx, &at.key("password_file"), &path, crate::model::password::basic_problem);
            Secret::File(path)
        }
        (None, Some(v)) => {
            super::env_name(cx, &at.key("password_env"), v);
            Secret::Env(v.clone())
        }
        _ => {
            let hint = "the password is never written in the manifest itself";
            cx.error(at, "give exactly one of `password_file` and `password_env`", Some(hint));
            return None;
        }
    };
    Some((a.user.clone(), secret))
}

/// A TCP check's exchange: `send` (text) or `send_hex`, and `expect` (a regular expression).
fn tcp(cx: &mut Cx, at: &KeyPath, h: &HealthCheck) -> TcpCheck {
    let send = match (&h.send, &h.send_hex) {
        (Some(_), Some(_)) => {
            cx.error(&at.key("send_hex"), "give one of `send` and `send_hex`", None);
            None
        }
        (Some(t), None) => Some(t.as_bytes().to_vec()),
        (None, Some(hx)) => hex(hx, false)
            .map_err(|e| {
                let fix = "hex digits in pairs, groups apart by spaces, as keepalived's: \"0a 1b2c\"";
                cx.error(&at.key("send_hex"), e, Some(fix));
            })
            .ok()
            .map(|b| b.into_iter().map(|(v, _)| v).collect()),
        (None, None) => None,
    };
    let key = if h.send.is_some() { "send" } else { "send_hex" };
    match send.as_ref().map(Vec::len) {
        Some(0) => cx.error(&at.key(key), "empty", Some("leave it out to send nothing")),
        Some(n) if n > MAX_SEND => cx.error(&at.key(key), format!("{n} bytes; a check sends at most 64 KiB"), None),
        _ => {}
    }
    if let Some(Err(e)) = h.expect.as_ref().map(|r| regex_lite::Regex::new(r)) {
        cx.error(&at.key("expect"), format!("not a regular expression: {e}"), None);
    }
    TcpCheck { send, expect: h.expect.clone() }
}

/// Accepted statuses as inclusive ranges (default 200-299).
fn statuses(cx: &mut Cx, at: &KeyPath, specs: Option<&[StatusSpec]>) -> Vec<(u16, u16)> {
    let Some(specs) = specs else { return vec![(200, 299)] };
    let mut out = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let range = match spec {
            StatusSpec::Code(c) => Some((*c, *c)),
            StatusSpec::Range(r) => {
                r.split_once('-').and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
            }
        };
        match range {
            Some((a, b)) if (100..=599).contains(&a) && (a..=599).contains(&b) => out.push((a, b)),
            _ => cx.error(
                &at.index(i),
                format!("{} is not an HTTP status code or range", spec_text(spec)),
                Some("use codes from 100 to 599, or ranges like \"200-399\""),
            ),
        }
    }
    out
}

fn spec_text(s: &StatusSpec) -> String {
    match s {
        StatusSpec::Code(c) => c.to_string(),
        StatusSpec::Range(r) => format!("`{r}`"),
    }
}

fn tls(cx: &mut Cx, at: &KeyPath, h: &HealthCheck) -> TlsCheck {
    let ca_file = h.ca_file.as_ref().map(|f| cx.manifest_dir().join(f));
    if let Some(path) = &ca_file {
        let problem = match cx.facts.secret_file(path) {
            FileFact::Missing => Some("does not exist"),
            FileFact::NotRegular => Some("is not a regular file"),
            FileFact::Unreadable(_) => Some("cannot be read"),
            FileFact::Mode(_) => None,
        };
        if let Some(p) = problem {
            cx.error(
                &at.key("ca_file"),
                format!("CA file {} {p}", path.display()),
                Some("a PEM file of CA certificates"),
            );
        }
    }
    TlsCheck { verify: h.tls_verify.unwrap_or(true), ca_file }
}

fn script(cx: &mut Cx, at: &KeyPath, h: &HealthCheck) -> CheckKind {
    let command = h.command.clone().unwrap_or_default();
    let user = h.user.clone().unwrap_or_else(|| DEFAULT_SCRIPT_USER.to_string());
    match command.first().map(|c| c.trim()) {
        None | Some("") => cx.error(
            &at.key("command"),
            "a script check needs a command",
            Some("command: [/usr/local/bin/check, \"{address}\", \"{port}\"]"),
        ),
        Some(prog) if !prog.starts_with('/') => cx.error(
            &at.key("command").index(0),
            format!("`{prog}` is not an absolute path"),
            Some("the daemon runs commands without a shell or PATH; give the full path"),
        ),
        Some(_) => {}
    }
    if user.is_empty() || user.chars().any(|c| c.is_whitespace() || c == ':' || c.is_control()) {
        cx.error(&at.key("user"), format!("`{}` is not a user name", crate::manifest::yaml::shown(&user)), None);
    }
    CheckKind::Script { command, dynamic: h.dynamic.unwrap_or(false), user }
}

/// A command the daemon runs (`notify_up`, a VRRP `notify`, a track script, ...): absolute,
/// since it runs without a shell or PATH. Whether it exists and is safe on the node is
/// checked there, by `plan` (the node checks of `model::preflight`).
pub fn hook(cx: &mut Cx, at: &KeyPath, command: Option<&Vec<String>>) -> Option<Vec<String>> {
    let command = command?;
    match command.first().map(|c| c.trim()) {
        None | Some("") => cx.error(at, "the command is empty", None),
        Some(prog) if !prog.starts_with('/') => cx.error(
            &at.index(0),
            format!("`{prog}` is not an absolute path"),
            Some("the daemon runs commands without a shell or PATH; give the full path"),
        ),
        Some(_) => {}
    }
    Some(command.clone())
}

/// The user script checks run as when none is given.
pub const DEFAULT_SCRIPT_USER: &str = "nobody";

fn dns(cx: &mut Cx, at: &KeyPath, h: &HealthCheck) -> CheckKind {
    let mut name = h.query_name.clone().unwrap_or_else(|| ".".into());
    if !name.ends_with('.') {
        name.push('.');
    }
    let labels_ok = name == "." || name.trim_end_matches('.').split('.').all(|l| !l.is_empty() && l.len() <= 63);
    if !labels_ok || name.len() > 254 || !name.is_ascii() {
        cx.error(&at.key("query_name"), format!("`{name}` is not a DNS name"), None);
    }
    let qtype = h.query_type.as_deref().unwrap_or("SOA");
    let code = crate::model::dns::qtype(qtype).unwrap_or_else(|| {
        cx.error(
            &at.key("query_type"),
            format!("`{qtype}` is not a record type this check knows"),
            Some("one of A, AAAA, NS, SOA, MX, TXT, SRV, PTR, CNAME"),
        );
        0
    });
    CheckKind::Dns { name, qtype: code }
}

fn udp(cx: &mut Cx, at: &KeyPath, h: &HealthCheck) -> CheckKind {
    let mut bytes = |key: &'static str, text: Option<&String>, wild: bool| {
        text.and_then(|t| {
            hex(t, wild)
                .map_err(|e| {
                    let fix = "hex digits in pairs, groups apart by spaces, as keepalived's: \"0a 1b2c\"";
                    cx.error(&at.key(key), e, Some(fix));
                })
                .ok()
        })
    };
    let payload = bytes("payload", h.payload.as_ref(), false).map(|b| b.into_iter().map(|(v, _)| v).collect());
    let expect = bytes("expect_reply", h.expect_reply.as_ref(), true).unwrap_or_default();
    let mut length = |key: &'static str, v: Option<u32>, default: u16| {
        v.map_or(default, |n| {
            u16::try_from(n).ok().filter(|n| *n <= 65507).unwrap_or_else(|| {
                cx.error(&at.key(key), format!("{n} is longer than a UDP datagram can be (65507)"), None);
                default
            })
        })
    };
    let reply_length =
        (length("min_reply_length", h.min_reply_length, 0), length("max_reply_length", h.max_reply_length, 255));
    if reply_length.0 > reply_length.1 {
        cx.error(&at.key("min_reply_length"), "more than max_reply_length", None);
    }
    if payload.as_ref().is_some_and(Vec::is_empty) {
        cx.error(&at.key("payload"), "empty", Some("leave it out for 8 random bytes"));
    }
    let require_reply = h.require_reply.unwrap_or(false) || !expect.is_empty();
    CheckKind::Udp(UdpCheck { payload, require_reply, expect, reply_length })
}

/// keepalived's hex strings: groups apart by spaces, two digits a byte and a group's odd
/// last digit a byte of its own (`Ab12f 3` is AB 12 0F 03); with `wild`, an `x` digit
/// matches anything. Each byte as (value, mask).
pub fn hex(text: &str, wild: bool) -> Result<Vec<(u8, u8)>, String> {
    let mut out = Vec::new();
    for group in text.split_ascii_whitespace() {
        let digits: Vec<char> = group.chars().collect();
        for pair in digits.chunks(2) {
            // A lone digit is the low half; the high half must be 0.
            let mut byte = (0u8, if pair.len() == 1 { 0xf } else { 0 });
            for c in pair {
                let (v, m) = match c.to_digit(16) {
                    Some(d) => (u8::try_from(d).unwrap_or(0), 0xf),
                    None if wild && c.eq_ignore_ascii_case(&'x') => (0, 0),
                    None => return Err(format!("`{}` is not a hex digit", crate::text::Escaped(&c.to_string()))),
                };
                byte = ((byte.0 << 4) | v, (byte.1 << 4) | m);
            }
            out.push(byte);
        }
    }
    if out.len() > 65507 {
        return Err(format!("{} bytes: more than a UDP datagram holds", out.len()));
    }
    Ok(out)
}
