//! `alerts:`: mail addresses, the SMTP relay, webhook URLs and headers, each checked at its
//! key path; which VRRP instances and services alert (`alerts.events`, overridden by an
//! instance's or a service's own `alert`).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::manifest::KeyPath;
use crate::manifest::types::{self, AlertEvent};
use crate::model::alerts::{Alerts, Mail, Webhook, WebhookFormat};

use super::{Cx, dur};

/// Headers a webhook may not set: the client writes them itself.
const RESERVED_HEADERS: [&str; 5] = ["host", "content-length", "content-type", "connection", "transfer-encoding"];

/// Validates `alerts:` and the `alert` of every VRRP instance and service.
pub fn alerts(cx: &mut Cx, at: &KeyPath, m: &types::Manifest) -> Alerts {
    let defaults = Alerts::default();
    let Some(a) = &m.alerts else {
        own_flags_without_alerts(cx, m);
        return defaults;
    };
    let mail = a.mail.as_ref().and_then(|mail| self::mail(cx, &at.key("mail"), mail));
    let webhooks = a.webhooks.iter().enumerate().filter_map(|(i, w)| webhook(cx, &at.key("webhooks").index(i), w));
    let webhooks: Vec<Webhook> = webhooks.collect();
    if a.mail.is_none() && a.webhooks.is_empty() {
        let hint = Some("add `mail:` or `webhooks:`, or remove `alerts:`");
        cx.error(at, "nowhere to send alerts: neither `mail` nor `webhooks`", hint);
    }
    let events: BTreeSet<AlertEvent> = match &a.events {
        Some(e) => e.iter().copied().collect(),
        None => [AlertEvent::Vrrp, AlertEvent::Backend, AlertEvent::Quorum].into(),
    };
    let on = |own: Option<bool>, kind| own.unwrap_or(events.contains(&kind));
    let vrrp = m.vrrp.iter().filter(|(_, v)| on(v.alert, AlertEvent::Vrrp)).map(|(n, _)| n.clone()).collect();
    let backend = m.services.iter().filter(|(_, s)| on(s.alert, AlertEvent::Backend)).map(|(n, _)| n.clone());
    let quorum = m.services.iter().filter(|(_, s)| on(s.alert, AlertEvent::Quorum)).map(|(n, _)| n.clone());
    let retry_delay = dur(cx, &at.key("retry_delay"), a.retry_delay.as_ref(), defaults.retry_delay);
    if retry_delay.is_zero() {
        cx.error(&at.key("retry_delay"), "a retry delay of 0 retries at once", Some("give at least 100ms"));
    }
    Alerts {
        mail,
        webhooks,
        vrrp,
        backend: backend.collect(),
        quorum: quorum.collect(),
        retries: a.retries.unwrap_or(defaults.retries),
        retry_delay,
        queue: a.queue.map_or(defaults.queue, |q| usize::try_from(q).unwrap_or(defaults.queue)),
    }
}

/// An instance or service that asks for alerts while there is no `alerts:` section.
fn own_flags_without_alerts(cx: &mut Cx, m: &types::Manifest) {
    let root = KeyPath::root();
    let asked = m.vrrp.iter().filter(|(_, v)| v.alert == Some(true)).map(|(n, _)| root.key("vrrp").name(n));
    let asked: Vec<KeyPath> = asked
        .chain(m.services.iter().filter(|(_, s)| s.alert == Some(true)).map(|(n, _)| root.key("services").name(n)))
        .collect();
    for path in asked {
        let hint = Some("add a top-level `alerts:` with `mail:` or `webhooks:`");
        cx.warn(&path.key("alert"), "alerts are asked for but there is no `alerts:` section; none is sent", hint);
    }
}

fn mail(cx: &mut Cx, at: &KeyPath, m: &types::MailAlerts) -> Option<Mail> {
    let mut ok = address(cx, &at.key("from"), &m.from);
    if m.to.is_empty() {
        cx.error(&at.key("to"), "no recipient", Some("list at least one address, e.g. `to: [ops@example.org]`"));
        ok = false;
    }
    for (i, to) in m.to.iter().enumerate() {
        ok &= address(cx, &at.key("to").index(i), to);
    }
    let server = match host_port(&m.smtp_server, 25) {
        Ok(hp) => Some(hp),
        Err(e) => {
            let hint = Some("write `host`, `host:port`, `address:port` or `[IPv6]:port`, e.g. `smtp.example.org:25`");
            cx.error(&at.key("smtp_server"), e, hint);
            None
        }
    };
    if let Some(h) = &m.helo_name
        && let Err(e) = host_name(h)
    {
        cx.error(&at.key("helo_name"), format!("`{h}` is not a host name: {e}"), Some("e.g. `lb1.example.org`"));
        ok = false;
    }
    let connect_timeout = positive(cx, &at.key("connect_timeout"), m.connect_timeout.as_ref(), 30);
    let timeout = positive(cx, &at.key("timeout"), m.timeout.as_ref(), 30);
    let (host, port) = server?;
    ok.then(|| Mail {
        from: m.from.clone(),
        to: m.to.clone(),
        host,
        port,
        helo_name: m.helo_name.clone(),
        connect_timeout,
        timeout,
    })
}

fn webhook(cx: &mut Cx, at: &KeyPath, w: &types::Webhook) -> Option<Webhook> {
    let parsed = match url(&w.url) {
        Ok(u) => Some(u),
        Err(e) => {
            let hint = Some("e.g. `http://10.0.0.9:9093/api/v2/alerts` or `https://hooks.example.org/lb`");
            cx.error(&at.key("url"), format!("`{}` is not a webhook URL: {e}", w.url), hint);
            None
        }
    };
    let mut ok = true;
    for (name, value) in &w.headers {
        ok &= header(cx, &at.key("headers").name(name), name, value);
    }
    let timeout = positive(cx, &at.key("timeout"), w.timeout.as_ref(), 10);
    let ca_file = w.ca_file.as_ref().map(|f| cx.manifest_dir().join(f));
    if ca_file.is_some() && parsed.as_ref().is_some_and(|u| !u.0) {
        cx.error(&at.key("ca_file"), "a CA file is for an `https` URL", Some("remove `ca_file` or use `https://`"));
        ok = false;
    }
    let (tls, host, port, path) = parsed?;
    let format = match w.format {
        None | Some(types::WebhookFormat::Json) => WebhookFormat::Json,
        Some(types::WebhookFormat::Alertmanager) => WebhookFormat::Alertmanager,
        Some(types::WebhookFormat::Slack) => WebhookFormat::Slack,
    };
    let headers = w.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let ca_file: Option<PathBuf> = ca_file;
    ok.then(|| Webhook { url: w.url.clone(), tls, host, port, path, format, headers, timeout, ca_file })
}

/// A duration above zero, in whole seconds by default.
fn positive(cx: &mut Cx, at: &KeyPath, d: Option<&types::Duration>, default_secs: u64) -> Duration {
    let d = dur(cx, at, d, Duration::from_secs(default_secs));
    if d.is_zero() {
        cx.error(at, "a timeout of 0 never waits", Some("give a duration such as 10s"));
    }
    d
}

fn header(cx: &mut Cx, at: &KeyPath, name: &str, value: &str) -> bool {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        cx.error(at, format!("`{name}` is not a header name"), Some("letters, digits and `-`, e.g. `Authorization`"));
        return false;
    }
    if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        cx.error(at, format!("the `{name}` header is written by lbconverge itself"), Some("remove it"));
        return false;
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        cx.error(at, "a header value may not hold a line break or a control character", None);
        return false;
    }
    true
}

/// Checks a mail address (`user@domain`, as SMTP's `MAIL FROM:<...>` carries it).
fn address(cx: &mut Cx, at: &KeyPath, a: &str) -> bool {
    match mail_address(a) {
        Ok(()) => true,
        Err(e) => {
            cx.error(
                at,
                format!("`{a}` is not a mail address: {e}"),
                Some("write it as user@domain, e.g. lb@example.org"),
            );
            false
        }
    }
}

/// `user@domain`: a local part of printable ASCII without spaces, `<`, `>`, `,` or quotes,
/// and a host name (or `[address]` literal) for the domain.
pub fn mail_address(a: &str) -> Result<(), String> {
    if a.contains(['<', '>']) {
        return Err("the address alone is written, without a display name or `<>`".into());
    }
    let Some((local, domain)) = a.rsplit_once('@') else { return Err("no `@`".into()) };
    let bad = |c: char| !c.is_ascii_graphic() || "<>,;:\"()[]\\@".contains(c);
    if local.is_empty() {
        return Err("nothing before the `@`".into());
    }
    if let Some(c) = local.chars().find(|c| bad(*c)) {
        return Err(format!("`{}` before the `@`", c.escape_default()));
    }
    if local.len() > 64 {
        return Err("more than 64 characters before the `@`".into());
    }
    match domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        Some(lit) => lit
            .trim_start_matches("IPv6:")
            .parse::<std::net::IpAddr>()
            .map(drop)
            .map_err(|_| format!("`{domain}` is not an address literal")),
        None => host_name(domain),
    }
}

/// A DNS host name: labels of letters, digits and `-`, not starting or ending with `-`.
pub fn host_name(h: &str) -> Result<(), String> {
    if h.is_empty() {
        return Err("empty".into());
    }
    if h.len() > 253 {
        return Err("longer than 253 characters".into());
    }
    for label in h.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("the label `{label}` is empty or longer than 63 characters"));
        }
        if let Some(c) = label.chars().find(|c| !c.is_ascii_alphanumeric() && *c != '-') {
            return Err(format!("`{}` in `{label}`", c.escape_default()));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("the label `{label}` starts or ends with `-`"));
        }
    }
    Ok(())
}

/// `host`, `host:port`, `address`, `address:port`, `[IPv6]` or `[IPv6]:port`; an IPv6
/// address alone needs no brackets.
pub fn host_port(s: &str, default_port: u16) -> Result<(String, u16), String> {
    if let Ok(ip) = s.parse::<std::net::IpAddr>() {
        return Ok((ip.to_string(), default_port));
    }
    let (host, port) = match s.strip_prefix('[') {
        Some(rest) => {
            let (ip, after) = rest.split_once(']').ok_or_else(|| format!("`{s}`: no `]` after the IPv6 address"))?;
            let ip: std::net::Ipv6Addr = ip.parse().map_err(|_| format!("`{ip}` is not an IPv6 address"))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| format!("`{s}`: `{p}` after `]`"))?),
            };
            (ip.to_string(), port)
        }
        None => match s.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (s.to_string(), None),
        },
    };
    let port = match port {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("`{p}` is not a port (1..65535)")),
        },
    };
    if host.parse::<std::net::IpAddr>().is_err() {
        host_name(&host).map_err(|e| format!("`{host}` is not a host name: {e}"))?;
    }
    Ok((host, port))
}

/// `http://host[:port][/path]` or `https://...`: (tls, host, port, path).
pub fn url(u: &str) -> Result<(bool, String, u16, String), String> {
    let (tls, rest) = match u.split_once("://") {
        Some(("http", rest)) => (false, rest),
        Some(("https", rest)) => (true, rest),
        Some((scheme, _)) => return Err(format!("the scheme `{scheme}` is not `http` or `https`")),
        None => return Err("no `http://` or `https://`".into()),
    };
    if let Some(c) = u.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!("`{}` in it (encode it as %XX)", c.escape_default()));
    }
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let path = if path.starts_with('?') { format!("/{path}") } else { path };
    if authority.contains('@') {
        return Err("credentials in the URL; give them as an `Authorization` header".into());
    }
    if path.contains('#') {
        return Err("a `#fragment` is not sent to a server".into());
    }
    if authority.is_empty() {
        return Err("no host".into());
    }
    let (host, port) = host_port(authority, if tls { 443 } else { 80 })?;
    Ok((tls, host, port, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let ok = |u: &str| url(u).unwrap();
        assert_eq!(ok("http://10.0.0.9:9093/api/v2/alerts"), (false, "10.0.0.9".into(), 9093, "/api/v2/alerts".into()));
        assert_eq!(ok("https://hooks.example.org"), (true, "hooks.example.org".into(), 443, "/".into()));
        assert_eq!(ok("http://[fd00::9]:8080?x=1"), (false, "fd00::9".into(), 8080, "/?x=1".into()));
        for bad in [
            "ftp://x/",
            "10.0.0.9/x",
            "http://",
            "http://a b/",
            "http://u:p@h/",
            "http://h:0/",
            "http://h:99999/",
            "http://-h/",
        ] {
            assert!(url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mail_addresses() {
        for good in ["lb@example.org", "a.b+c@mail.example.org", "root@[10.0.0.1]", "x@localhost"] {
            assert_eq!(mail_address(good), Ok(()), "{good}");
        }
        for bad in ["lb", "@example.org", "lb@", "l b@example.org", "<lb@example.org>", "lb@exa_mple.org", "lb@ex..org"]
        {
            assert!(mail_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn smtp_servers() {
        assert_eq!(host_port("10.0.0.25", 25), Ok(("10.0.0.25".into(), 25)));
        assert_eq!(host_port("smtp.example.org:587", 25), Ok(("smtp.example.org".into(), 587)));
        assert_eq!(host_port("fd00::25", 25), Ok(("fd00::25".into(), 25)));
        assert_eq!(host_port("[fd00::25]:2525", 25), Ok(("fd00::25".into(), 2525)));
        assert!(host_port("smtp:x", 25).is_err());
        assert!(host_port("[fd00::25", 25).is_err());
    }
}
