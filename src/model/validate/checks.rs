//! Health check settings: inherited field by field from defaults, service and backend.

use std::time::Duration;

use crate::manifest::KeyPath;
use crate::manifest::types::{CheckType, HealthCheck};
use crate::model::cluster::{Check, CheckKind};

use super::Cx;
use super::vrrp::dur;

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
        tls_verify,
        command
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
    };
    if check.timeout.is_zero() || check.interval.is_zero() {
        cx.error(at, "interval and timeout must be more than 0", None);
    }
    check
}

fn kind(cx: &mut Cx, at: &KeyPath, h: &HealthCheck, t: CheckType) -> CheckKind {
    let path = h.path.clone().unwrap_or_else(|| "/".into());
    if !path.starts_with('/') {
        cx.error(&at.key("path"), format!("`{path}` must start with '/'"), None);
    }
    let expect_status = h.expect_status.clone().unwrap_or_default();
    for (i, s) in expect_status.iter().enumerate() {
        if !(100..=599).contains(s) {
            cx.error(
                &at.key("expect_status").index(i),
                format!("{s} is not an HTTP status code"),
                Some("use codes from 100 to 599"),
            );
        }
    }
    let digest = h.digest.as_ref().map(|d| d.to_ascii_lowercase());
    if let Some(d) = digest.as_ref().filter(|d| d.len() != 32 || !d.chars().all(|c| c.is_ascii_hexdigit())) {
        cx.error(
            &at.key("digest"),
            format!("`{d}` is not an MD5 digest (32 hex digits)"),
            Some("compute it with `curl -s URL | md5sum`"),
        );
    }
    match t {
        CheckType::Tcp => CheckKind::Tcp,
        CheckType::Http => CheckKind::Http { path, host: h.host.clone(), expect_status, digest },
        CheckType::Https => CheckKind::Https {
            path,
            host: h.host.clone(),
            expect_status,
            digest,
            verify: h.tls_verify.unwrap_or(false),
        },
        CheckType::Script => script(cx, at, h),
        CheckType::None => CheckKind::None,
    }
}

fn script(cx: &mut Cx, at: &KeyPath, h: &HealthCheck) -> CheckKind {
    let command = h.command.clone().unwrap_or_default();
    if command.first().is_none_or(|c| c.trim().is_empty()) {
        cx.error(
            &at.key("command"),
            "a script check needs a command",
            Some("command: [/usr/local/bin/check, \"{address}\", \"{port}\"]"),
        );
    }
    CheckKind::Script { command }
}
