//! keepalived's checkers (`TCP_CHECK`, `HTTP_GET`, `SSL_GET`, `MISC_CHECK`, `DNS_CHECK`,
//! `UDP_CHECK`, `PING_CHECK`) as manifest health checks, with keepalived's defaults written
//! out where lbconverge's differ, and the settings that cascade from `virtual_server` to
//! `real_server` to checker.

use super::conf::Item;
use super::value::{self, Notes};
use crate::manifest::types::{CheckType, Duration, HealthCheck, StatusSpec};

/// Settings a `virtual_server` or `real_server` passes down to its checkers.
#[derive(Debug, Clone, Default)]
pub struct Cascade {
    interval: Option<Duration>,
    timeout: Option<Duration>,
    retries: Option<u32>,
    retry_delay: Option<Duration>,
    host: Option<String>,
    script_user: Option<String>,
}

impl Cascade {
    /// The top of the cascade: only the global `script_user`.
    pub fn with_script_user(script_user: Option<String>) -> Self {
        Cascade { script_user, ..Cascade::default() }
    }

    /// Reads one cascading setting; false when `it` is not one.
    pub fn read(&mut self, it: &Item, notes: &mut Notes) -> bool {
        match it.keyword.as_str() {
            "delay_loop" => self.interval = value::seconds(it, notes),
            "connect_timeout" => self.timeout = value::seconds(it, notes),
            "retry" => self.retries = value::number(it, notes),
            "nb_get_retry" => {
                notes.note(&it.at, "`nb_get_retry` is the old spelling of `retry` (keepalived reports it as deprecated and honours it); imported as `retries`".into());
                self.retries = value::number(it, notes);
            }
            "delay_before_retry" => self.retry_delay = value::seconds(it, notes),
            "virtualhost" => self.host = it.arg().map(str::to_string),
            "warmup" => notes.unsupported(it, "lbconverge spreads new checks over their interval by itself"),
            _ => return false,
        }
        true
    }

    /// A check of `kind` with keepalived's defaults, then this cascade's settings.
    fn start(&self, kind: CheckType) -> HealthCheck {
        let interval = self.interval.clone().unwrap_or(Duration::Text("60s".into()));
        let (retries, retry_delay) = match kind {
            CheckType::Http | CheckType::Https => (1, Duration::Text("3s".into())),
            CheckType::Script => (0, Duration::Text("1s".into())),
            CheckType::Dns => (3, interval.clone()),
            _ => (1, Duration::Text("1s".into())),
        };
        let timeout = match kind {
            CheckType::Script => interval.clone(),
            _ => self.timeout.clone().unwrap_or(Duration::Text("5s".into())),
        };
        let web = matches!(kind, CheckType::Http | CheckType::Https);
        HealthCheck {
            kind: Some(kind),
            interval: Some(interval),
            timeout: Some(timeout),
            retries: Some(self.retries.unwrap_or(retries)),
            retry_delay: Some(self.retry_delay.clone().unwrap_or(retry_delay)),
            host: self.host.clone().filter(|_| web),
            tls_verify: (kind == CheckType::Https).then_some(false),
            ..HealthCheck::default()
        }
    }
}

/// A checker block, or None when `it` is not a checker. Several `url`s give several checks.
pub fn checker(it: &Item, cascade: &Cascade, notes: &mut Notes) -> Option<Vec<HealthCheck>> {
    let kind = match it.keyword.as_str() {
        "TCP_CHECK" => CheckType::Tcp,
        "HTTP_GET" => CheckType::Http,
        "SSL_GET" => CheckType::Https,
        "MISC_CHECK" => CheckType::Script,
        "DNS_CHECK" => CheckType::Dns,
        "UDP_CHECK" => CheckType::Udp,
        "PING_CHECK" => CheckType::Ping,
        "SMTP_CHECK" | "BFD_CHECK" | "FILE_CHECK" => {
            notes
                .unsupported(it, "lbconverge has no such check; the real server is checked by its other checkers only");
            return Some(Vec::new());
        }
        _ => return None,
    };
    let mut own = cascade.clone();
    let mut urls = Vec::new();
    let mut rest = Vec::new();
    for s in it.children() {
        if s.keyword == "url" {
            urls.push(s);
        } else if !own.read(s, notes) {
            rest.push(s);
        }
    }
    let mut check = own.start(kind);
    for s in rest {
        setting(&mut check, s, notes);
    }
    if kind == CheckType::Script && check.user.is_none() {
        check.user.clone_from(&cascade.script_user);
    }
    if urls.is_empty() {
        return Some(vec![check]);
    }
    Some(urls.iter().map(|u| url(&check, u, notes)).collect())
}

fn setting(c: &mut HealthCheck, it: &Item, notes: &mut Notes) {
    match it.keyword.as_str() {
        "connect_port" => c.port = value::number(it, notes),
        "sni_name" => sni(c, it, notes),
        "misc_path" => c.command = Some(value::command(it, notes)),
        "misc_timeout" => c.timeout = value::seconds(it, notes),
        "misc_dynamic" => c.dynamic = Some(true),
        "user" => c.user = it.arg().map(str::to_string),
        "type" => c.query_type = it.arg().map(str::to_string),
        "name" => c.query_name = it.arg().map(str::to_string),
        "payload" => c.payload = Some(it.args.join(" ")),
        "require_reply" => {
            c.require_reply = Some(true);
            c.expect_reply = (!it.args.is_empty()).then(|| it.args.join(" "));
        }
        "min_reply_length" => c.min_reply_length = value::number(it, notes),
        "max_reply_length" => c.max_reply_length = value::number(it, notes),
        "http_protocol" | "enable_sni" => {}
        "connect_ip" | "bindto" | "bind_port" | "bind_if" | "source_ip" => {
            notes.unsupported(it, "lbconverge probes the real server's own address from the director's")
        }
        _ => notes.unsupported(it, "not a check setting the manifest has"),
    }
}

/// One `url { }` of an HTTP or SSL checker: a check of its own over the checker's settings.
fn url(base: &HealthCheck, u: &Item, notes: &mut Notes) -> HealthCheck {
    let mut c = base.clone();
    for it in u.children() {
        match it.keyword.as_str() {
            "path" => c.path = it.arg().map(str::to_string),
            "digest" => c.digest = it.arg().map(str::to_ascii_lowercase),
            "status_code" => c.expect_status = Some(statuses(it)),
            "regex" => c.body_regex = it.arg().map(str::to_string),
            "virtualhost" => c.host = it.arg().map(str::to_string),
            _ => notes.unsupported(it, "not an HTTP check setting the manifest has"),
        }
    }
    c
}

/// `sni_name`: lbconverge sends one name as both Host and SNI.
fn sni(c: &mut HealthCheck, it: &Item, notes: &mut Notes) {
    match (&c.host, it.arg()) {
        (None, name) => c.host = name.map(str::to_string),
        (Some(host), Some(name)) if host != name => {
            notes.note(&it.at, format!("`sni_name {name}` differs from the virtualhost `{host}`; lbconverge sends `{host}` as both Host and SNI"))
        }
        _ => {}
    }
}

fn statuses(it: &Item) -> Vec<StatusSpec> {
    let one = |a: &str| match a.parse::<u16>() {
        Ok(code) => StatusSpec::Code(code),
        Err(_) => StatusSpec::Range(a.to_string()),
    };
    it.args.iter().flat_map(|a| a.split(',')).filter(|a| !a.is_empty()).map(one).collect()
}
