//! Prometheus metrics of the running daemon (`run --metrics 127.0.0.1:9469`), in the
//! OpenMetrics text format of `prometheus-client`, made at each scrape from the same
//! [`Status`] `lbconverge status` shows. The listener is a small HTTP/1.1 server that
//! answers `GET /metrics`, and `GET /` with the status page ([`super::page`]); bound to
//! anything but loopback it requires HTTP basic authentication with the `user:password`
//! line of a password file, for both. It serves each connection on a thread of its own, up
//! to [`MAX_CLIENTS`] ([`MAX_PER_ADDRESS`] from one address; beyond, `503` at once), and
//! reads a request against one 2 s deadline with its line and headers capped before
//! authentication (`daemon/serve.rs`): `408`, `414`, `431`, and `413` for a body.
//!
//! Names follow keepalived-exporter's for VRRP (state 0 init, 1 backup, 2 master, 3 fault)
//! and HAProxy's exporter for backends (up, weight, transitions, check failures and check
//! duration); the restarts of a check's crashed probe task (`backend_check_restarts`, and
//! `probe_restarts` for the node) are lbconverge's own. IPVS traffic comes per service
//! (`lbconverge_ipvs_service_*`) and per backend (`lbconverge_ipvs_backend_*`), two families
//! each so that a sum over one never counts a packet twice: the kernel's counters
//! (connections, packets and bytes, in and out) and its rate estimates (`*_per_second`).

use std::io::BufReader;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::mpsc::{Sender, channel};

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::Event;
use super::error::DaemonError;
use super::instance::View;
use super::page;
use super::serve::{self, Deadline, RequestError, Slots};
use super::status::{BackendStatus, CheckStats, Status};
use crate::manifest::revision::FileState;
use crate::model::ipvs::Traffic;
use crate::text::base64;

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
    let commit = s.manifest.commit.as_ref().map_or("", |c| c.id.as_str());
    let committed =
        s.manifest.commit.as_ref().map_or("", |c| if c.file == FileState::Committed { "true" } else { "false" });
    manifest
        .get_or_create(&labels(&[
            ("path", &s.manifest.path),
            ("sha256", &s.manifest.sha256),
            ("commit", commit),
            ("committed", committed),
        ]))
        .set(1);
    let loaded = gauges(&mut r, "manifest_loaded_timestamp_seconds", "When the manifest in force was loaded");
    loaded.get_or_create(&Labels::new()).set(int(s.manifest.since));
    vrrp(&mut r, s);
    backends(&mut r, s);
    checks(&mut r, s);
    ipvs(&mut r, s);
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
    let restarts = totals(&mut r, "probe_restarts", "Health-check probe tasks restarted after a crash");
    restarts.get_or_create(&Labels::new()).set(int(s.probe_restarts));
    let rejected = gauges(&mut r, "manifest_rejected_timestamp_seconds", "When a manifest was last rejected");
    let refused = gauges(
        &mut r,
        "manifest_rejected_destroy_count",
        "IPVS services and destinations the last rejected manifest would have deleted, when the blast-radius guard refused it",
    );
    let limit =
        gauges(&mut r, "manifest_rejected_destroy_limit", "The blast-radius limit that refused it (run --max-destroy)");
    if let Some(rej) = &s.last_rejected {
        rejected.get_or_create(&Labels::new()).set(int(rej.at));
        if let Some(d) = rej.destroy {
            refused.get_or_create(&Labels::new()).set(int(u64::try_from(d.count).unwrap_or(u64::MAX)));
            limit.get_or_create(&Labels::new()).set(int(u64::try_from(d.limit).unwrap_or(u64::MAX)));
        }
    }
    state_files(&mut r, s);
    alerts(&mut r, s);
    let mut out = String::new();
    if encode(&mut out, &r).is_err() {
        out = "# EOF\n".into();
    }
    out
}

/// Damaged state files (by name in the state directory) and whether the drains are known.
fn state_files(r: &mut Registry, s: &Status) {
    let damaged = totals(
        r,
        "state_file_damaged",
        "Times a state file was found damaged (moved aside, or left in place when it is a directory)",
    );
    for d in &s.damaged_state {
        damaged.get_or_create(&labels(&[("file", &d.name)])).set(int(d.times));
    }
    let unknown = gauges(
        r,
        "drains_unknown",
        "1 if the drains are not known (the drains file was damaged or unreadable at start)",
    );
    unknown.get_or_create(&Labels::new()).set(i64::from(s.drains_unknown));
}

/// What each alert channel did: sent, failed (every retry), dropped unsent, queued now.
fn alerts(r: &mut Registry, s: &Status) {
    let fields: [Field<crate::alert::ChannelStats>; 4] = [
        ("alerts_sent", "Alerts delivered, per destination", true, |c| int(c.sent)),
        ("alerts_failed", "Alerts given up after every retry failed", true, |c| int(c.failed)),
        ("alerts_dropped", "Alerts dropped unsent (a full queue's oldest, or left by a reload)", true, |c| {
            int(c.dropped)
        }),
        ("alerts_queued", "Alerts waiting to be sent", false, |c| int(c.queued)),
    ];
    table(r, &fields, s.alerts.iter().map(|c| (labels(&[("channel", &c.channel)]), c)));
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

const VRRP: [Field<View>; 6] = [
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
    ("vrrp_vips_restored", "VIPs a master found removed by hand and added back", true, |v| int(v.vips_restored)),
];

const BACKENDS: [Field<BackendStatus>; 6] = [
    ("backend_up", "1 if every check of the backend passes (unchecked: 1)", false, |b| {
        i64::from(b.health == "up" || b.health == "unchecked")
    }),
    ("backend_weight", "Weight in the manifest", false, |b| i64::from(b.weight)),
    ("backend_live_weight", "Weight in IPVS as read last (-1: not in IPVS)", false, |b| {
        b.live_weight.map_or(-1, i64::from)
    }),
    ("backend_active_connections", "IPVS active connections", false, |b| i64::from(b.active)),
    ("backend_inactive_connections", "IPVS inactive connections", false, |b| i64::from(b.inactive)),
    ("backend_transitions", "Times the backend turned up or down", true, |b| int(b.transitions)),
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

/// Per check of each backend: failed probes, probe task restarts, and the probes'
/// durations as a histogram.
fn checks(r: &mut Registry, s: &Status) {
    let failures = gauges(r, "backend_check_failures", "Failed probes of the check (since it started)");
    let restarts = gauges(
        r,
        "backend_check_restarts",
        "Times the check's probe task crashed and was restarted (since it started)",
    );
    let mut durations = Histograms::default();
    for svc in &s.services {
        for b in &svc.backends {
            for c in &b.checks {
                let l = labels(&[("service", &svc.name), ("backend", &b.name), ("check", &c.check)]);
                failures.get_or_create(&l).set(int(c.failures));
                restarts.get_or_create(&l).set(int(c.restarts));
                durations.0.push((l, c.into()));
            }
        }
    }
    r.register("backend_check_duration_seconds", "How long the check's probes took (since it started)", durations);
}

/// One IPVS traffic family: name, help, and its values, each by its `direction` label
/// (none when empty).
type TrafficField = (&'static str, &'static str, &'static [(&'static str, fn(&Traffic) -> u64)]);

const TRAFFIC: [TrafficField; 6] = [
    ("connections", "Connections IPVS scheduled (kernel counter)", &[("", |t| t.conns)]),
    (
        "packets",
        "Packets IPVS forwarded (kernel counter; none out under DR and TUN)",
        &[("in", |t| t.in_pkts), ("out", |t| t.out_pkts)],
    ),
    ("bytes", "Bytes IPVS forwarded (kernel counter)", &[("in", |t| t.in_bytes), ("out", |t| t.out_bytes)]),
    ("connections_per_second", "Connection rate, the kernel's estimate", &[("", |t| t.cps)]),
    ("packets_per_second", "Packet rate, the kernel's estimate", &[("in", |t| t.in_pps), ("out", |t| t.out_pps)]),
    ("bytes_per_second", "Byte rate, the kernel's estimate", &[("in", |t| t.in_bps), ("out", |t| t.out_bps)]),
];

/// IPVS traffic per carried service and per backend, as read last (zero when not in IPVS).
/// The counters are the kernel's, which run from when the service or destination was added.
fn ipvs(r: &mut Registry, s: &Status) {
    let services: Vec<(Labels, &Traffic)> =
        s.services.iter().map(|svc| (labels(&[("service", &svc.name)]), &svc.traffic)).collect();
    let backends: Vec<(Labels, &Traffic)> = s
        .services
        .iter()
        .flat_map(|svc| {
            svc.backends.iter().map(move |b| {
                (labels(&[("service", &svc.name), ("backend", &b.name), ("address", &b.address)]), &b.traffic)
            })
        })
        .collect();
    for (level, rows) in [("service", &services), ("backend", &backends)] {
        for (name, help, values) in &TRAFFIC {
            let family = gauges(r, &format!("ipvs_{level}_{name}"), help);
            for (l, t) in rows {
                for (direction, value) in *values {
                    let mut l = l.clone();
                    if !direction.is_empty() {
                        l.push(("direction".into(), (*direction).into()));
                    }
                    family.get_or_create(&l).set(int(value(t)));
                }
            }
        }
    }
}

/// Histograms of counts taken elsewhere (`prometheus-client`'s own histogram observes one
/// value at a time), one per label set.
#[derive(Debug, Default)]
struct Histograms(Vec<(Labels, Observed)>);

/// One histogram: the sum and count, and per bucket its upper bound in seconds and the
/// observations in it alone (not cumulative; the encoder adds them up), `+Inf` last.
#[derive(Debug)]
struct Observed {
    sum: f64,
    count: u64,
    buckets: Vec<(f64, u64)>,
}

impl From<&CheckStats> for Observed {
    /// Microseconds to seconds: exact up to 2^53 µs (285 years).
    fn from(c: &CheckStats) -> Self {
        let mut below = 0;
        let mut buckets: Vec<(f64, u64)> = c
            .duration_buckets
            .iter()
            .map(|(le_us, cumulative)| {
                let n = cumulative.saturating_sub(below);
                below = below.max(*cumulative);
                (*le_us as f64 / 1e6, n)
            })
            .collect();
        buckets.push((f64::INFINITY, c.probes.saturating_sub(below)));
        Observed { sum: c.duration_sum_us as f64 / 1e6, count: c.probes, buckets }
    }
}

impl EncodeMetric for Histograms {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (l, h) in &self.0 {
            encoder.encode_family(l)?.encode_histogram::<NoLabelSet>(h.sum, h.count, &h.buckets, None)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Connections served at once; the next gets a `503` at once.
pub const MAX_CLIENTS: usize = 32;
/// Connections served at once from one client address (an IPv6 client: its /64).
pub const MAX_PER_ADDRESS: usize = 8;
/// The longest request line, its line end included.
pub const MAX_REQUEST_LINE: usize = 8192;
/// The most header lines, and their bytes in all.
pub const MAX_HEADERS: (usize, usize) = (64, 16 << 10);

/// Serves `GET /metrics` and the status page on `addr`. A non-loopback address needs
/// `credentials` (the `user:password` line of a password file), checked as HTTP basic
/// authentication.
///
/// Up to [`MAX_CLIENTS`] connections are served at once, [`MAX_PER_ADDRESS`] from one
/// client address, each on its own thread; more get a `503` at once. A request has
/// 2 s (`serve::READ_DEADLINE`) in all for its line and headers, which are capped
/// ([`MAX_REQUEST_LINE`], [`MAX_HEADERS`]) before authentication; a body is refused.
pub fn listen(addr: SocketAddr, credentials: Option<String>, events: Sender<Event>) -> Result<(), DaemonError> {
    if !addr.ip().is_loopback() && credentials.is_none() {
        return Err(DaemonError::MetricsOpen {
            addr,
            source: std::io::Error::other("a non-loopback address needs --metrics-password-file"),
        });
    }
    let listener = TcpListener::bind(addr).map_err(|source| DaemonError::MetricsOpen { addr, source })?;
    let expected: Option<Arc<str>> = credentials.map(|c| format!("Basic {}", base64(c.trim().as_bytes())).into());
    let slots = Slots::new(MAX_CLIENTS, MAX_PER_ADDRESS);
    let serve = move || {
        loop {
            match listener.accept() {
                Ok((conn, peer)) => admit(conn, peer, &slots, expected.clone(), &events),
                Err(e) => serve::accept_failed("metrics", &e),
            }
        }
    };
    super::spawn("metrics".into(), serve).map(drop)
}

/// The address a client is counted under: itself, or for IPv6 its /64 (one host often
/// holds a whole /64).
fn client_key(peer: SocketAddr) -> IpAddr {
    match peer.ip() {
        IpAddr::V6(a) if a.to_ipv4_mapped().is_none() => IpAddr::V6(Ipv6Addr::from(u128::from(a) & (u128::MAX << 64))),
        IpAddr::V6(a) => IpAddr::V4(a.to_ipv4_mapped().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED)),
        v4 => v4,
    }
}

/// Hands a new connection to a thread of its own, or answers `503` at once when the
/// bounds are reached.
fn admit(conn: TcpStream, peer: SocketAddr, slots: &Slots<IpAddr>, expected: Option<Arc<str>>, events: &Sender<Event>) {
    match slots.take(client_key(peer)) {
        Err(full) => {
            let body = format!("{full}\n");
            serve::refuse(&conn, response(503, "text/plain", &body, "Retry-After: 1\r\n").as_bytes());
        }
        Ok(slot) => {
            let events = events.clone();
            serve::spawn("metrics-client", slot, move || {
                if let Err(e) = answer(&conn, expected.as_deref(), &events) {
                    tracing::debug!(error = %e, %peer, "scrape not answered");
                }
            });
        }
    }
}

/// What a request said that matters here.
#[derive(Debug, Default)]
struct Request {
    /// The request line (`GET /metrics HTTP/1.1`).
    line: String,
    /// The `Authorization` header.
    authorization: Option<String>,
    /// A `Content-Length` other than 0, or a `Transfer-Encoding`.
    body: bool,
}

/// Reads the request line and headers within 2 s (`serve::READ_DEADLINE`) in all, capped.
fn read_request(conn: &TcpStream) -> Result<Request, RequestError> {
    let mut reader = BufReader::new(Deadline::new(conn, serve::READ_DEADLINE));
    let line = serve::read_line(&mut reader, MAX_REQUEST_LINE, "request line")?;
    let mut req = Request { line: String::from_utf8_lossy(&line).trim().to_string(), ..Request::default() };
    let (max_lines, max_bytes) = MAX_HEADERS;
    let mut left = max_bytes;
    for _ in 0..=max_lines {
        let line = serve::read_line(&mut reader, left.min(MAX_REQUEST_LINE), "headers").map_err(|e| match e {
            RequestError::TooLong { .. } => RequestError::TooLong { what: "headers", limit: max_bytes },
            e => e,
        })?;
        left -= line.len();
        let line = String::from_utf8_lossy(&line);
        let line = line.trim();
        if line.is_empty() {
            return Ok(req);
        }
        let (k, v) = line.split_once(':').unwrap_or((line, ""));
        let v = v.trim();
        if k.eq_ignore_ascii_case("authorization") {
            req.authorization = Some(v.to_string());
        } else if (k.eq_ignore_ascii_case("content-length") && v != "0") || k.eq_ignore_ascii_case("transfer-encoding")
        {
            req.body = true;
        }
    }
    Err(RequestError::TooMany { limit: max_lines })
}

/// Answers one connection: one request, one response, then the connection is closed.
fn answer(conn: &TcpStream, expected: Option<&str>, events: &Sender<Event>) -> std::io::Result<()> {
    let text = |code, body: &str| (code, "text/plain", format!("{body}\n"));
    let (code, kind, body) = match read_request(conn) {
        Err(RequestError::Closed) => return Ok(()),
        Err(RequestError::Io(e)) => return Err(e),
        Err(e @ RequestError::TimedOut) => text(408, &e.to_string()),
        Err(e @ RequestError::TooLong { what: "request line", .. }) => text(414, &e.to_string()),
        Err(e) => text(431, &e.to_string()),
        Ok(req) if req.body => text(413, "a request body is not taken"),
        Ok(req) if expected.is_some_and(|e| req.authorization.as_deref() != Some(e)) => {
            text(401, "authentication required")
        }
        Ok(req) if !req.line.starts_with("GET ") => text(405, "only GET"),
        Ok(req) => {
            let target = req.line.split_whitespace().nth(1).unwrap_or("");
            get(target.split_once('?').map_or(target, |(p, _)| p), events)
        }
    };
    let extra = match code {
        401 => "WWW-Authenticate: Basic realm=\"lbconverge\"\r\n",
        405 => "Allow: GET\r\n",
        503 => "Retry-After: 1\r\n",
        _ => "",
    };
    serve::finish(conn, response(code, kind, &body, extra).as_bytes())
}

/// A whole HTTP/1.1 response that closes the connection; `extra` are header lines.
fn response(code: u16, kind: &str, body: &str, extra: &str) -> String {
    let reason = match code {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    };
    format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    )
}

/// What `GET path` answers: code, content type and body. `/metrics` and the status page
/// (`/`, `/index.html`) are made from a status asked of the main loop (`503` if it does
/// not answer in time); anything else is 404.
fn get(path: &str, events: &Sender<Event>) -> (u16, &'static str, String) {
    let (kind, view): (&'static str, fn(&Status) -> String) = match path {
        "/metrics" => ("application/openmetrics-text; version=1.0.0; charset=utf-8", render),
        "/" | "/index.html" => ("text/html; charset=utf-8", page::render),
        _ => return (404, "text/plain", "see / or /metrics\n".to_string()),
    };
    let (tx, rx) = channel();
    if events.send(Event::Status(tx)).is_err() {
        return (503, "text/plain", "the daemon is stopping\n".into());
    }
    match rx.recv_timeout(serve::ANSWER_DEADLINE) {
        Ok(status) => (200, kind, view(&status)),
        Err(e) => (503, "text/plain", format!("{}\n", serve::no_answer(e))),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::Duration;

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
            ..BackendStatus::default()
        };
        let s = Status {
            node: "lb1".into(),
            announced: Vec::new(),
            manifest: super::super::status::Applied {
                path: "m.yaml".into(),
                sha256: "sha256:ab".into(),
                commit: None,
                since: 5,
            },
            vrrp: vec![view],
            services: vec![super::super::status::ServiceStatus {
                name: "web".into(),
                key: "tcp 10.0.0.100:80".into(),
                backends: vec![backend("a", "up", Some(3)), backend("b", "down", None)],
                ..super::super::status::ServiceStatus::default()
            }],
            last_reconcile: None,
            drift_repaired: 4,
            last_drift: None,
            last_rejected: None,
            probe_restarts: 0,
            damaged_state: Vec::new(),
            drains_unknown: false,
            alerts: Vec::new(),
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
            "lbconverge_manifest_info{path=\"m.yaml\",sha256=\"sha256:ab\",commit=\"\",committed=\"\"} 1",
        ] {
            assert!(text.lines().any(|l| l == want), "{want} missing:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }

    /// A service whose backend `a` has a check that probed 9 times (5 in 0.5 ms, 3 in 5 ms,
    /// one 20 s, past every bound; 2 failed) and turned up or down 3 times; `b` has no check.
    fn carrying_traffic() -> Status {
        let mut probes = crate::health::stats::ProbeStats::default();
        for (us, n, passed) in [(500, 5, true), (5_000, 2, true), (5_000, 1, false), (20_000_000, 1, false)] {
            for _ in 0..n {
                probes.record(Duration::from_micros(us), passed);
            }
        }
        let check = CheckStats {
            check: "http 10.0.0.21:80/health".into(),
            probes: probes.probes,
            failures: probes.failures,
            duration_sum_us: probes.duration_sum_us,
            duration_buckets: probes.cumulative(),
            restarts: 2,
        };
        let t = |k: u64| Traffic {
            conns: 12 * k,
            in_pkts: 340 * k,
            out_pkts: 300 * k,
            in_bytes: 25_100 * k,
            out_bytes: 1_200_000 * k,
            cps: k,
            in_pps: 3 * k,
            out_pps: 2 * k,
            in_bps: 200 * k,
            out_bps: 100 * k,
        };
        let backend = |name: &str, address: &str, k| BackendStatus {
            name: name.into(),
            address: address.into(),
            traffic: t(k),
            ..BackendStatus::default()
        };
        let a = BackendStatus { transitions: 3, checks: vec![check], ..backend("a", "10.0.0.21:80", 2) };
        let service = super::super::status::ServiceStatus {
            name: "web".into(),
            key: "tcp 10.0.0.100:80".into(),
            backends: vec![a, backend("b", "10.0.0.22:80", 1)],
            traffic: t(3),
        };
        Status { services: vec![service], probe_restarts: 5, ..bare("lb1") }
    }

    #[test]
    fn checks_transitions_and_ipvs_traffic_become_their_families() {
        let text = render(&carrying_traffic());
        let (a, b) = ("service=\"web\",backend=\"a\"", "service=\"web\",backend=\"b\"");
        let check = format!("{a},check=\"http 10.0.0.21:80/health\"");
        let h = "lbconverge_backend_check_duration_seconds";
        for want in [
            format!("lbconverge_backend_transitions{{{a},address=\"10.0.0.21:80\"}} 3"),
            format!("lbconverge_backend_transitions{{{b},address=\"10.0.0.22:80\"}} 0"),
            format!("lbconverge_backend_check_failures{{{check}}} 2"),
            format!("lbconverge_backend_check_restarts{{{check}}} 2"),
            "lbconverge_probe_restarts 5".into(),
            format!("# TYPE {h} histogram"),
            format!("{h}_bucket{{le=\"0.001\",{check}}} 5"),
            format!("{h}_bucket{{le=\"0.0025\",{check}}} 5"),
            format!("{h}_bucket{{le=\"0.005\",{check}}} 8"),
            format!("{h}_bucket{{le=\"10.0\",{check}}} 8"),
            format!("{h}_bucket{{le=\"+Inf\",{check}}} 9"),
            format!("{h}_count{{{check}}} 9"),
            format!("{h}_sum{{{check}}} 20.0175"),
            "lbconverge_ipvs_service_connections{service=\"web\"} 36".into(),
            "lbconverge_ipvs_service_packets{service=\"web\",direction=\"in\"} 1020".into(),
            "lbconverge_ipvs_service_packets{service=\"web\",direction=\"out\"} 900".into(),
            "lbconverge_ipvs_service_bytes{service=\"web\",direction=\"out\"} 3600000".into(),
            "lbconverge_ipvs_service_connections_per_second{service=\"web\"} 3".into(),
            "lbconverge_ipvs_service_bytes_per_second{service=\"web\",direction=\"in\"} 600".into(),
            format!("lbconverge_ipvs_backend_connections{{{a},address=\"10.0.0.21:80\"}} 24"),
            format!("lbconverge_ipvs_backend_bytes{{{a},address=\"10.0.0.21:80\",direction=\"in\"}} 50200"),
            format!("lbconverge_ipvs_backend_packets_per_second{{{b},address=\"10.0.0.22:80\",direction=\"out\"}} 2"),
        ] {
            assert!(text.lines().any(|l| l == want), "{want} missing:\n{text}");
        }
        assert_eq!(text.matches("_bucket{").count(), crate::health::stats::BUCKETS_US.len() + 1, "b has no check");
        assert!(!text.contains("backend=\"b\",check="), "{text}");
        promtool_passes(&text);
    }

    /// `promtool check metrics` (Debian's prometheus package) finds nothing to say, when it is
    /// installed.
    fn promtool_passes(text: &str) {
        use std::process::{Command, Stdio};
        let Ok(mut child) = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        else {
            eprintln!("no promtool: the output is not linted");
            return;
        };
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && said.trim().is_empty(), "promtool: {said}\n{text}");
    }

    /// A node with nothing but a hostile name.
    fn bare(node: &str) -> Status {
        Status {
            node: node.into(),
            announced: Vec::new(),
            manifest: super::super::status::Applied::default(),
            vrrp: Vec::new(),
            services: Vec::new(),
            last_reconcile: None,
            drift_repaired: 0,
            last_drift: None,
            last_rejected: None,
            probe_restarts: 0,
            damaged_state: Vec::new(),
            drains_unknown: false,
            alerts: Vec::new(),
        }
    }

    /// Sends `request` to [`answer`] over loopback, with a main loop answering `status`;
    /// returns the whole response.
    fn exchange(request: &str, expected: Option<&str>, status: Status) -> String {
        use std::io::Read;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        client.write_all(request.as_bytes()).unwrap();
        let (tx, rx) = channel();
        let main_loop = std::thread::spawn(move || {
            while let Ok(Event::Status(reply)) = rx.recv() {
                reply.send(status.clone()).unwrap();
            }
        });
        let (conn, _) = listener.accept().unwrap();
        answer(&conn, expected, &tx).unwrap();
        drop(tx);
        main_loop.join().unwrap();
        let mut out = String::new();
        client.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn the_status_page_is_served_at_the_root_and_unknown_paths_are_404() {
        let page = exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n", None, bare("<lb1>"));
        let (head, body) = page.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.contains("\r\nContent-Type: text/html; charset=utf-8\r\n"), "{head}");
        assert!(head.contains(&format!("\r\nContent-Length: {}\r\n", body.len())), "{head}");
        assert!(body.starts_with("<!DOCTYPE html>") && body.contains("<h1>lbconverge on &lt;lb1&gt;</h1>"), "{body}");
        let index = exchange("GET /index.html?x=1 HTTP/1.1\r\n\r\n", None, bare("lb1"));
        assert!(index.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/html"), "{index}");
        let metrics = exchange("GET /metrics HTTP/1.1\r\n\r\n", None, bare("lb1"));
        assert!(metrics.contains("Content-Type: application/openmetrics-text"), "{metrics}");
        for path in ["/nope", "/index.htm", "//"] {
            let nope = exchange(&format!("GET {path} HTTP/1.1\r\n\r\n"), None, bare("lb1"));
            assert!(nope.starts_with("HTTP/1.1 404 Not Found\r\n"), "{path}: {nope}");
        }
    }

    #[test]
    fn the_status_page_needs_the_same_authentication_as_the_metrics() {
        let basic = format!("Basic {}", base64(b"ops:secret"));
        let anonymous = exchange("GET / HTTP/1.1\r\n\r\n", Some(&basic), bare("lb1"));
        assert!(anonymous.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{anonymous}");
        assert!(anonymous.contains("WWW-Authenticate: Basic realm=\"lbconverge\""), "{anonymous}");
        assert!(!anonymous.contains("lb1"), "{anonymous}");
        let authed = exchange(&format!("GET / HTTP/1.1\r\nAuthorization: {basic}\r\n\r\n"), Some(&basic), bare("lb1"));
        assert!(authed.starts_with("HTTP/1.1 200 OK\r\n") && authed.contains("lbconverge on lb1"), "{authed}");
    }
}
