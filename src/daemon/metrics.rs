//! Prometheus metrics of the running daemon (`run --metrics 127.0.0.1:9469`), in the
//! OpenMetrics text format of `prometheus-client`, made at each scrape from the same
//! [`Status`] `lbconverge status` shows. The listener is a small HTTP/1.1 server on its own
//! thread that answers `GET /metrics`; bound to anything but loopback it requires HTTP basic
//! authentication with the `user:password` line of a password file.
//!
//! Names follow keepalived-exporter's for VRRP (state 0 init, 1 backup, 2 master, 3 fault)
//! and HAProxy's exporter for backends.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{Sender, channel};
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::Event;
use super::error::DaemonError;
use super::instance::View;
use super::status::{BackendStatus, Status};

type Labels = Vec<(String, String)>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect()
}

/// A gauge family registered under `name`.
fn gauges(r: &mut Registry, name: &str, help: &str) -> Family<Labels, Gauge> {
    let f = Family::<Labels, Gauge>::default();
    r.register(name, help, f.clone());
    f
}

/// A family of running totals since the daemon started. Gauges, not OpenMetrics counters:
/// those are written `# TYPE x counter` over samples named `x_total`, which the Prometheus
/// text format (and `promtool check metrics`) reads as two different metrics.
fn totals(r: &mut Registry, name: &str, help: &str) -> Family<Labels, Gauge> {
    gauges(r, name, &format!("{help} (since the daemon started)"))
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The metrics text for a status.
pub fn render(s: &Status) -> String {
    let mut r = Registry::with_prefix("lbconverge");
    let build = gauges(&mut r, "build_info", "lbconverge version (always 1)");
    build.get_or_create(&labels(&[("version", env!("CARGO_PKG_VERSION"))])).set(1);
    let manifest = gauges(&mut r, "manifest_info", "The manifest in force (always 1)");
    manifest.get_or_create(&labels(&[("path", &s.manifest.path), ("sha256", &s.manifest.sha256)])).set(1);
    let loaded = gauges(&mut r, "manifest_loaded_timestamp_seconds", "When the manifest in force was loaded");
    loaded.get_or_create(&Labels::new()).set(int(s.manifest.since));
    vrrp(&mut r, s);
    backends(&mut r, s);
    let reconcile = Family::<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    r.register("reconcile_duration_seconds", "How long the last reconcile pass took", reconcile.clone());
    let failed = gauges(&mut r, "reconcile_failed", "1 if the last reconcile pass failed");
    if let Some(last) = &s.last_reconcile {
        reconcile
            .get_or_create(&Labels::new())
            .set(f64::from(u32::try_from(last.duration_ms).unwrap_or(u32::MAX)) / 1000.0);
        failed.get_or_create(&Labels::new()).set(i64::from(last.error.is_some()));
    }
    let drift = totals(&mut r, "drift_repaired", "Changes reconcile made that no manifest change asked for");
    drift.get_or_create(&Labels::new()).set(int(s.drift_repaired));
    let rejected = gauges(&mut r, "manifest_rejected_timestamp_seconds", "When a manifest was last rejected");
    if let Some(rej) = &s.last_rejected {
        rejected.get_or_create(&Labels::new()).set(int(rej.at));
    }
    let mut out = String::new();
    if encode(&mut out, &r).is_err() {
        out = "# EOF\n".into();
    }
    out
}

/// One metric of a table: name, help, whether it is a running total, and its value.
type Field<T> = (&'static str, &'static str, bool, fn(&T) -> i64);

/// Registers one family per field and sets it for every labelled row.
fn table<'a, T: 'a>(r: &mut Registry, fields: &[Field<T>], rows: impl Iterator<Item = (Labels, &'a T)>) {
    let families: Vec<Family<Labels, Gauge>> = fields
        .iter()
        .map(|(name, help, total, _)| if *total { totals(r, name, help) } else { gauges(r, name, help) })
        .collect();
    for (l, row) in rows {
        for (family, (_, _, _, value)) in families.iter().zip(fields) {
            family.get_or_create(&l).set(value(row));
        }
    }
}

const VRRP: [Field<View>; 5] = [
    ("vrrp_state", "VRRP state: 0 init, 1 backup, 2 master, 3 fault", false, |v| match v.state.as_str() {
        "BACKUP" => 1,
        "MASTER" => 2,
        "FAULT" => 3,
        _ => 0,
    }),
    ("vrrp_effective_priority", "Priority after tracking (0 in fault)", false, |v| {
        i64::from(v.effective_priority.unwrap_or(0))
    }),
    ("vrrp_transitions", "VRRP state changes", true, |v| int(v.transitions)),
    ("vrrp_adverts_sent", "VRRP adverts sent", true, |v| int(v.adverts_sent)),
    ("vrrp_adverts_received", "VRRP adverts received and accepted", true, |v| int(v.adverts_received)),
];

const BACKENDS: [Field<BackendStatus>; 5] = [
    ("backend_up", "1 if every check of the backend passes (unchecked: 1)", false, |b| {
        i64::from(b.health == "up" || b.health == "unchecked")
    }),
    ("backend_weight", "Weight in the manifest", false, |b| i64::from(b.weight)),
    ("backend_live_weight", "Weight in IPVS as read last (-1: not in IPVS)", false, |b| {
        b.live_weight.map_or(-1, i64::from)
    }),
    ("backend_active_connections", "IPVS active connections", false, |b| i64::from(b.active)),
    ("backend_inactive_connections", "IPVS inactive connections", false, |b| i64::from(b.inactive)),
];

fn vrrp(r: &mut Registry, s: &Status) {
    let rows = s.vrrp.iter().map(|v| (labels(&[("instance", &v.name), ("vrid", &v.vrid.to_string())]), v));
    table(r, &VRRP, rows);
    let dropped = totals(r, "vrrp_packets_dropped", "VRRP packets dropped, by reason");
    for v in &s.vrrp {
        for (reason, n) in &v.dropped {
            dropped.get_or_create(&labels(&[("instance", &v.name), ("reason", reason)])).set(int(*n));
        }
    }
}

fn backends(r: &mut Registry, s: &Status) {
    let rows = s.services.iter().flat_map(|svc| {
        svc.backends
            .iter()
            .map(move |b| (labels(&[("service", &svc.name), ("backend", &b.name), ("address", &b.address)]), b))
    });
    table(r, &BACKENDS, rows);
}

/// Serves `GET /metrics` on `addr`. A non-loopback address needs `credentials` (the
/// `user:password` line of a password file), checked as HTTP basic authentication.
pub fn listen(addr: SocketAddr, credentials: Option<String>, events: Sender<Event>) -> Result<(), DaemonError> {
    if !addr.ip().is_loopback() && credentials.is_none() {
        return Err(DaemonError::MetricsOpen {
            addr,
            source: std::io::Error::other("a non-loopback address needs --metrics-password-file"),
        });
    }
    let listener = TcpListener::bind(addr).map_err(|source| DaemonError::MetricsOpen { addr, source })?;
    let expected = credentials.map(|c| format!("Basic {}", base64(c.trim().as_bytes())));
    let serve = move || {
        for conn in listener.incoming().flatten() {
            if let Err(e) = answer(conn, expected.as_deref(), &events) {
                tracing::debug!(subsystem = "metrics", error = %e, "scrape not answered");
            }
        }
    };
    super::spawn("metrics".into(), serve).map(drop)
}

fn answer(mut conn: TcpStream, expected: Option<&str>, events: &Sender<Event>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    let mut authorization = None;
    for _ in 0..100 {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("authorization")
        {
            authorization = Some(v.trim().to_string());
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("");
    let (code, kind, body) = if expected.is_some_and(|e| authorization.as_deref() != Some(e)) {
        (401, "text/plain", "authentication required\n".to_string())
    } else if !request.starts_with("GET ") {
        (405, "text/plain", "only GET\n".to_string())
    } else if path == "/metrics" {
        let (tx, rx) = channel();
        events.send(Event::Status(tx)).map_err(std::io::Error::other)?;
        let status = rx.recv_timeout(Duration::from_secs(10)).map_err(std::io::Error::other)?;
        (200, "application/openmetrics-text; version=1.0.0; charset=utf-8", render(&status))
    } else {
        (404, "text/plain", "see /metrics\n".to_string())
    };
    let reason = match code {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    let auth = if code == 401 { "WWW-Authenticate: Basic realm=\"lbconverge\"\r\n" } else { "" };
    let head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n{auth}Connection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes())?;
    conn.write_all(body.as_bytes())
}

/// Standard base64 with padding (for the basic-auth header).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[usize::try_from((n >> (18 - 6 * i)) & 63).unwrap_or(0)]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_becomes_one_sample_per_instance_and_backend() {
        let view = View {
            name: "VI_1".into(),
            vrid: 10,
            state: "MASTER".into(),
            effective_priority: Some(90),
            transitions: 2,
            ..View::default()
        };
        let backend = |name: &str, health: &str, live| BackendStatus {
            name: name.into(),
            address: "10.0.0.21:80".into(),
            health: health.into(),
            weight: 3,
            live_weight: live,
            active: 7,
            inactive: 1,
        };
        let s = Status {
            node: "lb1".into(),
            manifest: super::super::status::Applied { path: "m.yaml".into(), sha256: "sha256:ab".into(), since: 5 },
            vrrp: vec![view],
            services: vec![super::super::status::ServiceStatus {
                name: "web".into(),
                key: "tcp 10.0.0.100:80".into(),
                backends: vec![backend("a", "up", Some(3)), backend("b", "down", None)],
            }],
            last_reconcile: None,
            drift_repaired: 4,
            last_drift: None,
            last_rejected: None,
        };
        let text = render(&s);
        for want in [
            "lbconverge_vrrp_state{instance=\"VI_1\",vrid=\"10\"} 2",
            "lbconverge_vrrp_effective_priority{instance=\"VI_1\",vrid=\"10\"} 90",
            "lbconverge_vrrp_transitions{instance=\"VI_1\",vrid=\"10\"} 2",
            "lbconverge_backend_up{service=\"web\",backend=\"a\",address=\"10.0.0.21:80\"} 1",
            "lbconverge_backend_up{service=\"web\",backend=\"b\",address=\"10.0.0.21:80\"} 0",
            "lbconverge_backend_live_weight{service=\"web\",backend=\"b\",address=\"10.0.0.21:80\"} -1",
            "lbconverge_drift_repaired 4",
            "lbconverge_manifest_info{path=\"m.yaml\",sha256=\"sha256:ab\"} 1",
        ] {
            assert!(text.lines().any(|l| l == want), "{want} missing:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn base64_matches_rfc_4648() {
        for (i, o) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")]
        {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }
}
