//! `lbconverge status`: what the running daemon is doing, asked over a local control socket.
//!
//! ```text
//! lbconverge status ── "status\n" ──> control socket (0600, root) ──> Event::Status
//!                  <── JSON Status ───────────────────────────────── main loop: Daemon::status()
//! ```
//!
//! The main loop answers between two passes, so the answer is one consistent picture: the
//! VRRP instances as their threads last showed them, every carried service's backends with
//! health, manifest weight and the live weight and connections read last, the applied
//! manifest, the last reconcile, drift repaired, and the last rejected manifest. Services and
//! backends carry the IPVS traffic counters and rates read last; backends their up/down
//! transitions and each check's probes, failures, duration histogram and probe task restarts.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Sender, channel};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Event;
use super::error::DaemonError;
use super::instance::View;
use crate::model::ipvs::Traffic;

/// Where the daemon listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/lbconverge/control.sock";

/// The whole answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// This node.
    pub node: String,
    /// The manifest in force.
    pub manifest: Applied,
    /// VRRP instances of this node.
    pub vrrp: Vec<View>,
    /// Services this node carries.
    pub services: Vec<ServiceStatus>,
    /// VIP routes announced for BGP, as the kernel held them at the last read
    /// (`10.9.0.100/32 table 250`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub announced: Vec<String>,
    /// The last full reconcile pass.
    pub last_reconcile: Option<Reconciled>,
    /// Changes made by reconcile passes that no manifest change asked for.
    pub drift_repaired: u64,
    /// The last of them.
    pub last_drift: Option<String>,
    /// The last manifest that was not taken, and why.
    pub last_rejected: Option<Rejected>,
    /// Health-check probe tasks that crashed and were restarted since the daemon started
    /// (those of checks removed since included).
    #[serde(default)]
    pub probe_restarts: u64,
}

/// The manifest in force.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// Its path.
    pub path: String,
    /// SHA-256 of the bytes applied (`sha256:...`).
    pub sha256: String,
    /// The git commit they came from, when the manifest is in a git work tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<crate::manifest::revision::Commit>,
    /// When it was loaded (seconds since the Unix epoch).
    pub since: u64,
}

/// One service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStatus {
    /// Manifest name.
    pub name: String,
    /// IPVS key (`tcp 10.0.0.100:80`).
    pub key: String,
    /// Backends in manifest order.
    pub backends: Vec<BackendStatus>,
    /// Traffic through its IPVS service as read last (zero when not in IPVS).
    #[serde(default)]
    pub traffic: Traffic,
}

/// One backend.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendStatus {
    /// Manifest name.
    pub name: String,
    /// `address:port`.
    pub address: String,
    /// `up`, `down`, `unknown` (not checked yet) or `unchecked` (no checks).
    pub health: String,
    /// Weight in the manifest.
    pub weight: u32,
    /// Weight in IPVS as read last; `None` when not in IPVS.
    pub live_weight: Option<u32>,
    /// Active connections.
    pub active: u32,
    /// Inactive connections.
    pub inactive: u32,
    /// The operator's drain, when it is drained (weight 0 while up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain: Option<crate::model::drain::Drain>,
    /// Traffic through its IPVS destination as read last (zero when not in IPVS).
    #[serde(default)]
    pub traffic: Traffic,
    /// Times it turned up or down since the daemon started.
    #[serde(default)]
    pub transitions: u64,
    /// Its checks' probes, one entry per check.
    #[serde(default)]
    pub checks: Vec<CheckStats>,
}

/// The probes of one check of a backend, since the check started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckStats {
    /// The check and its target (`http 10.0.0.21:80/health`).
    pub check: String,
    /// Probes run, retries included.
    pub probes: u64,
    /// Probes that failed.
    pub failures: u64,
    /// Their durations added up, in microseconds.
    pub duration_sum_us: u64,
    /// `[bound, probes]` pairs: the probes that took at most `bound` microseconds
    /// (cumulative, like Prometheus' `le`); `probes` is the `+Inf` bucket.
    pub duration_buckets: Vec<(u64, u64)>,
    /// Times its probe task crashed and was restarted.
    #[serde(default)]
    pub restarts: u64,
}

/// The last reconcile pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciled {
    /// When it ended (seconds since the Unix epoch).
    pub at: u64,
    /// How long it took.
    pub duration_ms: u64,
    /// Changes applied.
    pub changes: usize,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// A manifest that was not taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// When (seconds since the Unix epoch).
    pub at: u64,
    /// Why.
    pub reason: String,
}

/// Listens on `path` (its directory made 0700, the socket 0600) and turns each request into
/// an [`Event::Status`]; only root (or the daemon's own user) is answered.
pub fn listen(path: &Path, events: Sender<Event>) -> Result<(), DaemonError> {
    let fail = |source| DaemonError::Control { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(fail)?;
    }
    // A socket another daemon answers on is never taken over; a stale one is replaced.
    if UnixStream::connect(path).is_ok() {
        return Err(fail(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            "another lbconverge daemon answers on it (give this one --control PATH)",
        )));
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(fail(e)),
        _ => {}
    }
    let listener = UnixListener::bind(path).map_err(fail)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(fail)?;
    let serve = move || {
        for conn in listener.incoming().flatten() {
            if let Err(e) = answer(conn, &events) {
                tracing::debug!(error = %e, "status request not answered");
            }
        }
    };
    super::spawn("control".into(), serve).map(drop)
}

/// Answers one connection: one request line, one JSON document.
fn answer(conn: UnixStream, events: &Sender<Event>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(2)))?;
    if !peer_allowed(&conn) {
        return (&conn).write_all(b"{\"error\": \"only root may ask\"}\n");
    }
    let mut line = String::new();
    BufReader::new(&conn).take(4096).read_line(&mut line)?;
    let line = line.trim();
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    let reply = match verb {
        "drain" => drain_reply(rest, events)?,
        "status" => {
            let (tx, rx) = channel();
            if events.send(Event::Status(tx)).is_err() {
                return Err(std::io::Error::other("the daemon is stopping"));
            }
            let status = rx.recv_timeout(Duration::from_secs(10)).map_err(std::io::Error::other)?;
            serde_json::to_string(&status).map_err(std::io::Error::other)?
        }
        other => format!("{{\"error\": \"unknown request {:?}\"}}", other.chars().take(40).collect::<String>()),
    };
    (&conn).write_all(reply.as_bytes())?;
    (&conn).write_all(b"\n")
}

/// What `lbconverge drain` and `undrain` ask the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrainRequest {
    /// Service name.
    pub service: String,
    /// Backend name.
    pub backend: String,
    /// True to drain, false to undrain.
    pub drain: bool,
    /// How long the drain lasts (seconds); `None`: until undrained.
    pub for_secs: Option<u64>,
    /// Why.
    pub reason: String,
}

/// The daemon's answer to a drain request: what it did, or why not.
pub type DrainReply = Result<String, String>;

/// Hands a `drain {json}` request to the main loop; its answer as `{"ok": ...}` or
/// `{"error": ...}`.
fn drain_reply(json: &str, events: &Sender<Event>) -> std::io::Result<String> {
    let reply: DrainReply = match serde_json::from_str::<DrainRequest>(json) {
        Err(e) => Err(format!("not a drain request: {e}")),
        Ok(req) => {
            let (tx, rx) = channel();
            if events.send(Event::Drain(req, tx)).is_err() {
                return Err(std::io::Error::other("the daemon is stopping"));
            }
            rx.recv_timeout(Duration::from_secs(10)).map_err(std::io::Error::other)?
        }
    };
    let v = match reply {
        Ok(done) => serde_json::json!({ "ok": done }),
        Err(why) => serde_json::json!({ "error": why }),
    };
    Ok(v.to_string())
}

/// Root, or the user the daemon runs as.
fn peer_allowed(conn: &UnixStream) -> bool {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred { pid: 0, uid: u32::MAX, gid: 0 };
    let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::ucred>()).unwrap_or(0);
    // SAFETY: cred and len are valid out pointers of the sizes given, for our own socket.
    let r = unsafe {
        libc::getsockopt(conn.as_raw_fd(), libc::SOL_SOCKET, libc::SO_PEERCRED, (&raw mut cred).cast(), &raw mut len)
    };
    // SAFETY: geteuid has no preconditions.
    r == 0 && (cred.uid == 0 || cred.uid == unsafe { libc::geteuid() })
}

use std::io::Read as _;

/// Why `lbconverge status` got no answer.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    /// No daemon listens there.
    #[error("no lbconverge daemon answers on {}: {source}", path.display())]
    NotRunning {
        /// The socket.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The daemon refused the request.
    #[error("{reason}")]
    Refused {
        /// Why.
        reason: String,
    },
    /// The answer was not a status.
    #[error("the daemon on {} answered something else: {answer}", path.display())]
    BadAnswer {
        /// The socket.
        path: PathBuf,
        /// What it said.
        answer: String,
    },
}

/// Asks the daemon listening on `path` for its status.
pub fn ask(path: &Path) -> Result<Status, AskError> {
    let text = request(path, "status")?;
    serde_json::from_str(&text)
        .map_err(|_| AskError::BadAnswer { path: path.to_path_buf(), answer: text.trim().chars().take(200).collect() })
}

/// Asks the daemon listening on `path` to drain or undrain a backend; what it did.
pub fn ask_drain(path: &Path, req: &DrainRequest) -> Result<String, AskError> {
    let json = serde_json::to_string(req).unwrap_or_default();
    let text = request(path, &format!("drain {json}"))?;
    let bad = || AskError::BadAnswer { path: path.to_path_buf(), answer: text.trim().chars().take(200).collect() };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|_| bad())?;
    match (v.get("ok").and_then(|x| x.as_str()), v.get("error").and_then(|x| x.as_str())) {
        (Some(done), _) => Ok(done.to_string()),
        (None, Some(why)) => Err(AskError::Refused { reason: why.to_string() }),
        _ => Err(bad()),
    }
}

/// Sends one request line; the whole answer.
fn request(path: &Path, line: &str) -> Result<String, AskError> {
    let not_running = |source| AskError::NotRunning { path: path.to_path_buf(), source };
    let mut conn = UnixStream::connect(path).map_err(not_running)?;
    conn.set_read_timeout(Some(Duration::from_secs(15))).map_err(not_running)?;
    conn.write_all(format!("{line}\n").as_bytes()).map_err(not_running)?;
    let mut text = String::new();
    conn.take(64 << 20).read_to_string(&mut text).map_err(not_running)?;
    Ok(text)
}

/// The text form of a status.
pub fn text(s: &Status) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "Node {}, manifest {} ({})", s.node, s.manifest.path, s.manifest.sha256);
    if let Some(c) = &s.manifest.commit {
        let _ = writeln!(out, "applied {c}");
    }
    for v in &s.vrrp {
        let eff = v.effective_priority.map_or("fault".to_string(), |p| p.to_string());
        let master = v.master.map_or("-".to_string(), |m| m.to_string());
        let _ = writeln!(
            out,
            "vrrp {} (vrid {}): {}, priority {} (effective {eff}), master {master}, {} transitions, last: {}",
            v.name, v.vrid, v.state, v.priority, v.transitions, v.last_reason
        );
        if let Some(sync) = &v.connection_sync {
            let _ = writeln!(out, "  connection sync: {sync}");
        }
    }
    for svc in &s.services {
        let _ = writeln!(out, "service {} ({})", svc.name, svc.key);
        let _ = writeln!(out, "  traffic: {}", traffic_text(&svc.traffic));
        for b in &svc.backends {
            let live = b.live_weight.map_or("not in ipvs".to_string(), |w| format!("weight {w} live"));
            let _ = writeln!(
                out,
                "  {} {}: {}, weight {} ({live}), {} active, {} inactive",
                b.name, b.address, b.health, b.weight, b.active, b.inactive
            );
            if let Some(d) = &b.drain {
                let _ = writeln!(out, "    drained: {d}");
            }
            let _ = writeln!(out, "    traffic: {}; {} up/down transitions", traffic_text(&b.traffic), b.transitions);
            for c in &b.checks {
                let _ = writeln!(out, "    check {}: {}", c.check, probes_text(c));
            }
        }
    }
    for r in &s.announced {
        let _ = writeln!(out, "announced route {r}");
    }
    match &s.last_reconcile {
        Some(r) => {
            let how = r.error.as_ref().map_or("ok".to_string(), |e| format!("failed: {e}"));
            let _ = writeln!(out, "last reconcile: {} changes in {} ms, {how}", r.changes, r.duration_ms);
        }
        None => out.push_str("last reconcile: none yet\n"),
    }
    let _ = writeln!(
        out,
        "drift repaired: {}{}",
        s.drift_repaired,
        s.last_drift.as_ref().map_or(String::new(), |d| format!(" (last: {d})"))
    );
    if let Some(r) = &s.last_rejected {
        let _ = writeln!(out, "last rejected manifest: {}", r.reason.lines().next().unwrap_or_default());
    }
    if s.probe_restarts > 0 {
        let _ = writeln!(out, "health-check probe tasks restarted after a crash: {} (see the log)", s.probe_restarts);
    }
    out
}

/// `12 conns, 340 packets in, 300 out, 25100 bytes in, 1200000 out; now 1 conns/s, ...`.
fn traffic_text(t: &Traffic) -> String {
    format!(
        "{} conns, {} packets in, {} out, {} bytes in, {} out; now {} conns/s, {} packets/s in, {} out, {} bytes/s in, {} out",
        t.conns, t.in_pkts, t.out_pkts, t.in_bytes, t.out_bytes, t.cps, t.in_pps, t.out_pps, t.in_bps, t.out_bps
    )
}

/// `120 probes, 3 failed, 1.2 ms on average`, and `; its probe task restarted 2 times`
/// when it crashed.
fn probes_text(c: &CheckStats) -> String {
    let mean = c.duration_sum_us.checked_div(c.probes).unwrap_or(0);
    let restarts =
        if c.restarts > 0 { format!("; its probe task restarted {} times", c.restarts) } else { String::new() };
    format!("{} probes, {} failed, {}.{} ms on average{restarts}", c.probes, c.failures, mean / 1000, mean % 1000 / 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crashed_probe_task_shows_in_the_text_and_only_then() {
        let check = |restarts| CheckStats {
            check: "tcp 10.0.0.21:80".into(),
            probes: 10,
            failures: 1,
            duration_sum_us: 12_000,
            duration_buckets: Vec::new(),
            restarts,
        };
        assert_eq!(probes_text(&check(0)), "10 probes, 1 failed, 1.2 ms on average");
        assert_eq!(probes_text(&check(2)), "10 probes, 1 failed, 1.2 ms on average; its probe task restarted 2 times");
        let backend = BackendStatus { checks: vec![check(2)], ..BackendStatus::default() };
        let service = ServiceStatus { backends: vec![backend], ..ServiceStatus::default() };
        let mut s = Status {
            node: "lb1".into(),
            manifest: Applied::default(),
            vrrp: Vec::new(),
            services: vec![service],
            announced: Vec::new(),
            last_reconcile: None,
            drift_repaired: 0,
            last_drift: None,
            last_rejected: None,
            probe_restarts: 0,
        };
        assert!(!text(&s).contains("probe tasks restarted"), "{}", text(&s));
        s.probe_restarts = 3;
        assert!(
            text(&s).ends_with("health-check probe tasks restarted after a crash: 3 (see the log)\n"),
            "{}",
            text(&s)
        );
        let json: serde_json::Value = serde_json::to_value(&s).unwrap();
        assert_eq!(
            (json["probe_restarts"].as_u64(), json["services"][0]["backends"][0]["checks"][0]["restarts"].as_u64()),
            (Some(3), Some(2))
        );
    }
}
