//! Health check settings: inherited field by field from defaults, service and backend.

use std::time::Duration;

use crate::manifest::KeyPath;
use crate::manifest::types::{CheckType, HealthCheck, StatusSpec, Via};
use crate::model::cluster::{Check, CheckKind, HttpCheck, TlsCheck};

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
        None if port == 0 && !matches!(kind, CheckKind::None | CheckKind::Script { .. }) => {
            cx.error(
                &at.key("port"),
                "this backend has no port (firewall-mark service), so its check needs one",
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
    if check.via_ipvs && matches!(check.kind, CheckKind::Script { .. } | CheckKind::None) {
        cx.error(&at.key("via"), "only tcp, http, https and dns checks can go through IPVS", None);
    }
    if check.timeout.is_zero() || check.interval.is_zero() {
        cx.error(at, "interval and timeout must be more than 0", None);
    }
    check
}

fn kind(cx: &mut Cx, at: &KeyPath, h: &HealthCheck, t: CheckType) -> CheckKind {
    match t {
        CheckType::Tcp => CheckKind::Tcp,
        CheckType::Http => CheckKind::Http { http: http(cx, at, h), tls: None },
        CheckType::Https => CheckKind::Http { http: http(cx, at, h), tls: Some(tls(cx, at, h)) },
        CheckType::Script => script(cx, at, h),
        CheckType::Dns => dns(cx, at, h),
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
    HttpCheck {
        path,
        host: h.host.clone(),
        expect_status: statuses(cx, &at.key("expect_status"), h.expect_status.as_deref()),
        digest,
        body_regex: h.body_regex.clone(),
    }
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
