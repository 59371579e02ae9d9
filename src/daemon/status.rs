//! `lbconverge status`: what the running daemon is doing, asked over the control socket
//! ([`super::control`]), and the same picture for `/metrics` and the status page.
//!
//! The main loop answers between two passes, so the answer is one consistent picture: the
//! VRRP instances as their threads last showed them, every carried service's backends with
//! health, manifest weight and the live weight and connections read last, the applied
//! manifest, the last reconcile, drift repaired, the last rejected manifest, and state files
//! found damaged (with whether the drains are known). Services and backends carry the IPVS
//! traffic counters and rates read last; backends their up/down transitions and each
//! check's probes, failures, duration histogram and probe task restarts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::instance::View;
use crate::health::Board;
use crate::health::board::{BackendId, Target};
use crate::health::stats::ProbeStats;
use crate::model::cluster::VirtualService;
use crate::model::drain::Drains;
use crate::model::ipvs::{DestKey, Traffic};
use crate::model::{Cluster, NodeState};

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
    /// Changes made by reconcile passes that no manifest change asked for, and VMACs made
    /// again after a deletion by hand.
    pub drift_repaired: u64,
    /// The last of them.
    pub last_drift: Option<String>,
    /// The last manifest that was not taken, and why.
    pub last_rejected: Option<Rejected>,
    /// Health-check probe tasks that crashed and were restarted since the daemon started
    /// (those of checks removed since included).
    #[serde(default)]
    pub probe_restarts: u64,
    /// State files found damaged since the daemon started, and what was done with each
    /// (`daemon::state_files`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub damaged_state: Vec<DamagedState>,
    /// The drains are not known: `drains.json` was damaged or unreadable at start, so no
    /// drain made before is in force.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drains_unknown: bool,
    /// What each alert channel (`mail`, `webhook`) did since the daemon started.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<crate::alert::ChannelStats>,
}

/// A state file found damaged, and what was done with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DamagedState {
    /// The file.
    pub file: String,
    /// Its name in the state directory (`drains.json`, `ledger.json`).
    pub name: String,
    /// What was wrong with it, last time.
    pub problem: String,
    /// When it was last found damaged (seconds since the Unix epoch).
    pub at: u64,
    /// Where it was moved aside, last time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_to: Option<String>,
    /// Why it was left in place, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left: Option<String>,
    /// How many times it was found damaged since the daemon started.
    pub times: u64,
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
    /// When the blast-radius guard refused it: what it would have deleted, and the limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroy: Option<DestroyCount>,
}

/// IPVS services and destinations a refused manifest would have deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestroyCount {
    /// Deletions.
    pub count: usize,
    /// `run --max-destroy`.
    pub limit: usize,
}

/// The daemon's own history, for `status`.
#[derive(Debug, Default)]
pub struct Record {
    /// The manifest in force.
    pub applied: Applied,
    /// The last full reconcile pass.
    pub last_reconcile: Option<Reconciled>,
    /// Changes made by reconcile passes that nothing asked for, and VMACs made again.
    pub drift_repaired: u64,
    /// The last of them.
    pub last_drift: Option<String>,
    /// The last manifest not taken.
    pub last_rejected: Option<Rejected>,
    /// State files found damaged, one entry per file.
    pub damaged_state: Vec<DamagedState>,
    /// The drains are not known (see [`Status::drains_unknown`]).
    pub drains_unknown: bool,
    /// The manifest or the checks asked for changes since the last reconcile: they are not
    /// drift.
    pub asked: bool,
    /// Backend -> times it turned up or down.
    pub transitions: BTreeMap<BackendId, u64>,
}

/// Each running check's probes so far.
pub type Probed = BTreeMap<Target, ProbeStats>;

/// What a status is made of, as the main loop holds it.
pub struct Sources<'a> {
    /// This node.
    pub node: &'a str,
    /// The configuration in force.
    pub cluster: &'a Cluster,
    /// The daemon's history.
    pub record: &'a Record,
    /// The VRRP instances as their threads last showed them.
    pub vrrp: Vec<View>,
    /// The checks' verdicts.
    pub board: &'a Board,
    /// The checks' probes.
    pub probes: &'a Probed,
    /// The operator's drains.
    pub drains: &'a Drains,
    /// The live state read last.
    pub live: Option<&'a NodeState>,
    /// Now, in seconds since the Unix epoch.
    pub now: u64,
    /// Probe tasks restarted after a crash, since the daemon started.
    pub probe_restarts: u64,
    /// What the alert channels did.
    pub alerts: Vec<crate::alert::ChannelStats>,
}

/// The status (pure): every carried service with its backends, the VRRP instances, the
/// announced routes read last and the daemon's history.
pub fn assemble(s: &Sources) -> Status {
    let services = s
        .cluster
        .services
        .values()
        .filter(|vs| vs.directors.iter().any(|d| d == s.node))
        .map(|vs| service_status(s, vs))
        .collect();
    let r = s.record;
    Status {
        node: s.node.to_string(),
        manifest: r.applied.clone(),
        vrrp: s.vrrp.clone(),
        services,
        announced: s.live.map(|l| l.announced.iter().map(ToString::to_string).collect()).unwrap_or_default(),
        last_reconcile: r.last_reconcile.clone(),
        drift_repaired: r.drift_repaired,
        last_drift: r.last_drift.clone(),
        last_rejected: r.last_rejected.clone(),
        probe_restarts: s.probe_restarts,
        damaged_state: r.damaged_state.clone(),
        drains_unknown: r.drains_unknown,
        alerts: s.alerts.clone(),
    }
}

fn service_status(s: &Sources, vs: &VirtualService) -> ServiceStatus {
    let live = s.live.and_then(|l| l.services.get(&vs.key));
    let backends = vs
        .backends
        .iter()
        .map(|be| {
            let dest = live.and_then(|l| l.dests.get(&DestKey { addr: be.address, port: vs.dest_port(&vs.key, be) }));
            let stats = dest.and_then(|d| d.stats).unwrap_or_default();
            let id = (vs.name.clone(), be.name.clone());
            BackendStatus {
                name: be.name.clone(),
                address: std::net::SocketAddr::new(be.address, be.port).to_string(),
                health: s.board.status_of(&id).map_or("unchecked".to_string(), |h| h.to_string()),
                weight: be.weight,
                live_weight: dest.map(|d| d.weight),
                active: stats.active,
                inactive: stats.inactive,
                traffic: stats.traffic,
                transitions: s.record.transitions.get(&id).copied().unwrap_or(0),
                drain: s.drains.of(&vs.name, &be.name, s.now).cloned(),
                checks: check_stats(s, &id),
            }
        })
        .collect();
    let traffic = live.map(|l| l.traffic).unwrap_or_default();
    ServiceStatus { name: vs.name.clone(), key: key_text(vs), backends, traffic }
}

/// The service's IPVS key; a server group's first, with how many more it has (their
/// backends and traffic are the first one's).
fn key_text(vs: &VirtualService) -> String {
    match vs.group.len() {
        0 | 1 => vs.key.to_string(),
        n => format!("{} and {} more of its group", vs.key, n - 1),
    }
}

/// The probes of each check of a backend.
fn check_stats(s: &Sources, id: &BackendId) -> Vec<CheckStats> {
    let checks = s.board.checks_of(id).into_iter();
    checks
        .map(|t| {
            let p = s.probes.get(t).cloned().unwrap_or_default();
            CheckStats {
                check: t.to_string(),
                probes: p.probes,
                failures: p.failures,
                duration_sum_us: p.duration_sum_us,
                duration_buckets: p.cumulative(),
                restarts: p.restarts,
            }
        })
        .collect()
}

/// The text form of a status; what came from outside (paths, errors, reasons) shows its
/// control characters escaped ([`crate::text::escaped_lines`]).
pub fn text(s: &Status) -> String {
    crate::text::escaped_lines(&lines(s)).into_owned()
}

fn lines(s: &Status) -> String {
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
        if let Some(why) = &v.waiting {
            let _ = writeln!(out, "  waiting: {why}");
        }
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
    if s.drains_unknown {
        out.push_str("drains: unknown (the drains file was damaged or unreadable at start); drain again what must stay drained\n");
    }
    for a in &s.alerts {
        let last = a.last_error.as_ref().map_or(String::new(), |e| format!("; last failure: {e}"));
        let _ = writeln!(
            out,
            "alerts {}: {} sent, {} failed, {} dropped, {} queued{last}",
            a.channel, a.sent, a.failed, a.dropped, a.queued
        );
    }
    for d in &s.damaged_state {
        let done = match (&d.moved_to, &d.left) {
            (Some(to), _) => format!("moved to {to}"),
            (None, left) => format!("left in place: {}", left.as_deref().unwrap_or_default()),
        };
        let _ = writeln!(out, "damaged state file {}: {}; {done} ({} times)", d.file, d.problem, d.times);
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
            damaged_state: Vec::new(),
            drains_unknown: false,
            alerts: Vec::new(),
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

    #[test]
    fn text_from_outside_is_shown_escaped() {
        let s = Status {
            node: "lb1".into(),
            manifest: Applied { path: "/etc/lbc/\x1b]0;x\x07.yaml".into(), ..Applied::default() },
            vrrp: Vec::new(),
            services: Vec::new(),
            announced: Vec::new(),
            last_reconcile: None,
            drift_repaired: 0,
            last_drift: None,
            last_rejected: Some(Rejected { at: 0, reason: "line 1: `\x1b[2J`\nline 2".into(), destroy: None }),
            probe_restarts: 0,
            damaged_state: Vec::new(),
            drains_unknown: false,
            alerts: Vec::new(),
        };
        let t = text(&s);
        assert!(!t.chars().any(|c| c != '\n' && crate::text::is_hidden(c)), "{t:?}");
        assert!(t.starts_with("Node lb1, manifest /etc/lbc/\\x1b]0;x\\x07.yaml ("), "{t}");
        assert!(t.contains("last rejected manifest: line 1: `\\x1b[2J`\n"), "{t}");
    }
}
