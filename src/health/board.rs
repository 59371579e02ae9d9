//! Which checks a node runs and what their results mean (pure): every backend of every
//! service the node carries, one check per distinct target (services sharing a backend with
//! the same check settings share one probe), and from the targets' statuses the
//! [`Health`] that `model::desired` takes: backends down, weights set by checks or ramping
//! up after a recovery (`slow_start`), and services below quorum, with keepalived's
//! hysteresis. Time is an argument.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use super::state::Status;
use crate::model::cluster::{Check, CheckKind, Cluster, VirtualService};
use crate::model::{Health, ipvs};

/// What one probe checks: an address and the check's settings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    /// The backend's address.
    pub address: IpAddr,
    /// The check, with its port and timing.
    pub check: Check,
    /// For a data-path check: how the probe goes through IPVS.
    pub via: Option<Via>,
}

/// The path of a data-path check (`via: ipvs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Via {
    /// The VIP the probe dials.
    pub vip: IpAddr,
    /// The mark that steers it through IPVS to this backend alone.
    pub mark: u32,
    /// The director's own address the probe comes from: a DR real server answers it
    /// directly (from the VIP, which the director holds too, the answer would stay on the
    /// real server).
    pub source: IpAddr,
}

impl Target {
    /// Where the probe connects: the backend, or the VIP for a data-path check.
    pub fn dial(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::new(self.via.map_or(self.address, |v| v.vip), self.check.port)
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>, at: &str) -> fmt::Result {
        match &self.check.kind {
            CheckKind::Http { http, .. } if http.method == "GET" => {
                write!(f, "{} {at}{}", self.check.kind.name(), http.path)
            }
            CheckKind::Http { http, .. } => write!(f, "{} {} {at}{}", self.check.kind.name(), http.method, http.path),
            CheckKind::Script { command, .. } => {
                let prog = command.first().map_or("", String::as_str);
                write!(f, "script {} for {at}", crate::text::Escaped(prog))
            }
            CheckKind::Dns { name, qtype } => {
                write!(f, "dns {at} {} {name}", crate::model::dns::qtype_name(*qtype))
            }
            CheckKind::Ping => write!(f, "ping {}", self.address),
            kind => write!(f, "{} {at}", kind.name()),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = ipvs::socket_text(&self.address, self.check.port);
        self.describe(f, &at)?;
        match self.via {
            Some(v) => write!(f, " via ipvs {} mark {}", v.vip, v.mark),
            None => Ok(()),
        }
    }
}

/// A backend of a service, by name.
pub type BackendId = (String, String);

/// A change of a service's quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumChange {
    /// The service.
    pub service: String,
    /// True when it gained quorum, false when it lost it.
    pub gained: bool,
    /// The live weight now.
    pub weight: u64,
    /// The quorum.
    pub quorum: u32,
}

/// The checks of one node and their last results.
#[derive(Debug, Clone, Default)]
pub struct Board {
    /// Target -> the backends it decides.
    fanout: BTreeMap<Target, Vec<BackendId>>,
    /// Backend -> the targets checking it (the reverse of `fanout`).
    checks: BTreeMap<BackendId, Vec<Target>>,
    /// Target -> its status and the weight it set.
    status: BTreeMap<Target, (Status, Option<u32>)>,
    /// The services the node carries, for quorum.
    services: Vec<VirtualService>,
    /// Service name -> its place in `services`.
    by_name: BTreeMap<String, usize>,
    /// Service -> whether it has quorum now.
    quorum: BTreeMap<String, bool>,
    /// Backends ramping up after a recovery, and since when.
    ramps: BTreeMap<BackendId, Duration>,
    /// Backends drained by the operator (weight 0 while up).
    drained: BTreeSet<BackendId>,
}

/// Steps of a slow start: the weight grows by a tenth every tenth of `slow_start`.
const RAMP_STEPS: u32 = 10;

impl Board {
    /// The checks of `node`; each new target starts in the status `initial` gives it (Up for
    /// a backend already serving, Unknown otherwise). Targets of `previous` that are still
    /// checked keep their status, and services their quorum.
    pub fn new(
        cluster: &Cluster,
        node: &str,
        previous: Option<&Board>,
        initial: impl Fn(&[BackendId]) -> Status,
    ) -> Board {
        let services: Vec<VirtualService> =
            cluster.services.values().filter(|s| s.directors.iter().any(|d| d == node)).cloned().collect();
        let mut fanout: BTreeMap<Target, Vec<BackendId>> = BTreeMap::new();
        let marks = crate::model::desired::probe_marks(cluster);
        let own = cluster.nodes.get(node);
        for vs in &services {
            for be in &vs.backends {
                for check in &be.checks {
                    let via = check.via_ipvs.then(|| via(vs, be, check, &marks, own)).flatten();
                    let t = Target { address: be.address, check: check.clone(), via };
                    fanout.entry(t).or_default().push((vs.name.clone(), be.name.clone()));
                }
            }
        }
        let status = fanout
            .iter()
            .map(|(t, ids)| {
                let kept = previous.and_then(|p| p.status.get(t).copied());
                (t.clone(), kept.unwrap_or((initial(ids), None)))
            })
            .collect();
        let quorum = previous.map(|p| p.quorum.clone()).unwrap_or_default();
        let ramps = previous.map(|p| p.ramps.clone()).unwrap_or_default();
        let drained = previous.map(|p| p.drained.clone()).unwrap_or_default();
        let mut checks: BTreeMap<BackendId, Vec<Target>> = BTreeMap::new();
        for (t, ids) in &fanout {
            ids.iter().for_each(|id| checks.entry(id.clone()).or_default().push(t.clone()));
        }
        let by_name = services.iter().enumerate().map(|(i, vs)| (vs.name.clone(), i)).collect();
        Board { fanout, checks, status, services, by_name, quorum, ramps, drained }
    }

    fn service(&self, name: &str) -> Option<&VirtualService> {
        self.by_name.get(name).and_then(|i| self.services.get(*i))
    }

    /// The statuses and weights of the targets checking a backend.
    fn results(&self, id: &BackendId) -> impl Iterator<Item = (Status, Option<u32>)> + '_ {
        let targets = self.checks.get(id).map_or(&[][..], Vec::as_slice);
        targets.iter().map(|t| self.status.get(t).copied().unwrap_or((Status::Unknown, None)))
    }

    /// Every target with its status, for the probe engine.
    pub fn targets(&self) -> Vec<(Target, Status)> {
        self.status.iter().map(|(t, (s, _))| (t.clone(), *s)).collect()
    }

    /// The backends a target decides.
    pub fn backends(&self, t: &Target) -> &[BackendId] {
        self.fanout.get(t).map_or(&[], Vec::as_slice)
    }

    /// Records a target's new status at `now`; false when the target is not on the board
    /// (a result that arrived after a reload removed it). A backend recovering from Down in
    /// a service with `slow_start` starts ramping up.
    pub fn record(&mut self, t: &Target, status: Status, weight: Option<u32>, now: Duration) -> bool {
        let Some(s) = self.status.get_mut(t) else { return false };
        let recovered = s.0 == Status::Down && status == Status::Up;
        *s = (status, weight);
        let ids = self.fanout.get(t).cloned().unwrap_or_default();
        for id in ids {
            let slow = self.service(&id.0).is_some_and(|vs| !vs.slow_start.is_zero());
            if recovered && slow {
                self.ramps.insert(id, now);
            } else if status != Status::Up {
                self.ramps.remove(&id);
            }
        }
        true
    }

    /// The targets checking a backend.
    pub fn checks_of(&self, id: &BackendId) -> Vec<&Target> {
        self.checks.get(id).map(|ts| ts.iter().collect()).unwrap_or_default()
    }

    /// Returns true if and only if every check of the backend passes.
    pub fn is_up(&self, id: &BackendId) -> bool {
        self.results(id).all(|(s, _)| s == Status::Up)
    }

    /// The backend's health as `status` shows it: `None` when it has no checks; `Down` if
    /// any check fails, `Up` if all pass, else `Unknown`.
    pub fn status_of(&self, id: &BackendId) -> Option<Status> {
        let mine: Vec<Status> = self.results(id).map(|(s, _)| s).collect();
        match mine {
            m if m.is_empty() => None,
            m if m.contains(&Status::Down) => Some(Status::Down),
            m if m.iter().all(|s| *s == Status::Up) => Some(Status::Up),
            _ => Some(Status::Unknown),
        }
    }

    /// When the next ramping weight changes, if any backend is ramping.
    pub fn next_ramp_step(&self, now: Duration) -> Option<Duration> {
        self.ramps
            .iter()
            .filter_map(|(id, since)| {
                let slow = self.slow_start(&id.0)?;
                let step = slow / RAMP_STEPS;
                let k = u32::try_from((now.saturating_sub(*since)).as_nanos() / step.as_nanos().max(1)).ok()?;
                Some(*since + step * (k + 1))
            })
            .min()
    }

    /// The services with a backend ramping up.
    pub fn ramping(&self) -> BTreeSet<String> {
        self.ramps.keys().map(|(service, _)| service.clone()).collect()
    }

    fn slow_start(&self, service: &str) -> Option<Duration> {
        self.service(service).map(|vs| vs.slow_start).filter(|d| !d.is_zero())
    }

    /// The health `model::desired` takes at `now` for the services in `scope` (all when
    /// `None`), and their quorum changes since they were last asked. A health flip asks
    /// for the services it touches: its cost does not grow with the services the node
    /// carries.
    pub fn health(&mut self, scope: Option<&BTreeSet<String>>, now: Duration) -> (Health, Vec<QuorumChange>) {
        let picked: Vec<usize> = match scope {
            None => (0..self.services.len()).collect(),
            Some(names) => names.iter().filter_map(|n| self.by_name.get(n).copied()).collect(),
        };
        let mut h = Health::default();
        for vs in picked.iter().filter_map(|i| self.services.get(*i)) {
            for be in &vs.backends {
                self.backend_health(&(vs.name.clone(), be.name.clone()), &mut h);
            }
        }
        self.ramp(&mut h, scope, now);
        h.drained = self.drained.iter().filter(|id| scope.is_none_or(|s| s.contains(&id.0))).cloned().collect();
        let mut changes = Vec::new();
        for vs in picked.iter().filter_map(|i| self.services.get(*i)) {
            changes.extend(quorum(vs, &h, &mut self.quorum));
            if self.quorum.get(&vs.name) == Some(&false) {
                h.below_quorum.insert(vs.name.clone());
            }
        }
        (h, changes)
    }

    /// A backend's part of the health: down unless every check passes; the smallest
    /// weight a passing check set.
    fn backend_health(&self, id: &BackendId, h: &mut Health) {
        for (status, weight) in self.results(id) {
            if status != Status::Up {
                h.down.insert(id.clone());
            } else if let Some(w) = weight {
                h.weights.entry(id.clone()).and_modify(|x| *x = (*x).min(w)).or_insert(w);
            }
        }
    }
}

impl Board {
    /// The backends the operator drained; their weight is 0 while they are up.
    pub fn set_drained(&mut self, drained: BTreeSet<BackendId>) {
        self.drained = drained;
    }

    /// Applies the slow-start ramps of the services in `scope` at `now` (ramps that are
    /// over are dropped).
    fn ramp(&mut self, h: &mut Health, scope: Option<&BTreeSet<String>>, now: Duration) {
        let mut done = Vec::new();
        for (id, since) in self.ramps.iter().filter(|(id, _)| scope.is_none_or(|s| s.contains(&id.0))) {
            let (Some(slow), Some(vs)) = (self.slow_start(&id.0), self.service(&id.0)) else {
                done.push(id.clone());
                continue;
            };
            let Some(be) = vs.backends.iter().find(|b| b.name == id.1) else { continue };
            let elapsed = now.saturating_sub(*since);
            if elapsed >= slow {
                done.push(id.clone());
                continue;
            }
            let full = u64::from(h.weight(&id.0, be));
            let steps = u64::try_from(elapsed.as_nanos() * u128::from(RAMP_STEPS) / slow.as_nanos()).unwrap_or(0) + 1;
            let w = (full * steps).div_ceil(u64::from(RAMP_STEPS)).max(1);
            h.weights.insert(id.clone(), u32::try_from(w).unwrap_or(u32::MAX));
        }
        for id in done {
            self.ramps.remove(&id);
        }
    }
}

/// The path of a backend's data-path check from this director, when it has all it needs.
fn via(
    vs: &VirtualService,
    be: &crate::model::cluster::Backend,
    check: &Check,
    marks: &BTreeMap<crate::model::desired::ProbePath, u32>,
    own: Option<&crate::model::cluster::Node>,
) -> Option<Via> {
    let (vip, _) = vs.key.vip_port()?;
    let mark = *marks.get(&(be.address, check.port, be.forwarding))?;
    let source = own?.address_of(vip.is_ipv6())?;
    Some(Via { vip, mark, source })
}

/// Updates a service's quorum from its live weight: lost below `quorum - hysteresis`,
/// gained at `quorum + hysteresis` (quorum clamped to the total weight, hysteresis to
/// quorum - 1, as keepalived does). Returns the change, if any.
fn quorum(vs: &VirtualService, h: &Health, state: &mut BTreeMap<String, bool>) -> Option<QuorumChange> {
    let total: u64 = vs.backends.iter().map(|b| u64::from(h.weight(&vs.name, b))).sum();
    let live: u64 = vs
        .backends
        .iter()
        .filter(|b| !h.down.contains(&(vs.name.clone(), b.name.clone())))
        .map(|b| u64::from(h.weight(&vs.name, b)))
        .sum();
    let q = u64::from(vs.quorum).min(total);
    let hy = u64::from(vs.hysteresis).min(q.saturating_sub(1));
    let has = match state.get(&vs.name) {
        None => live >= q,
        Some(true) => live >= q.saturating_sub(hy),
        Some(false) => live >= q + hy,
    };
    let before = state.insert(vs.name.clone(), has);
    let change = QuorumChange { service: vs.name.clone(), gained: has, weight: live, quorum: vs.quorum };
    (before.is_some_and(|b| b != has) || (before.is_none() && !has)).then_some(change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest;
    use crate::model::{self, NoFacts};

    const MANIFEST: &str = "version: 1
nodes:
  lb1: {roles: [director], addresses: [10.0.0.11/24], interface: eth0}
  web1: {roles: [real-server], addresses: [10.0.0.21/24], interface: eth0}
  web2: {roles: [real-server], addresses: [10.0.0.22/24], interface: eth0}
services:
  http:
    vip: 10.0.0.100
    port: 80
    directors: [lb1]
    health_check: {type: tcp}
    quorum: 3
    hysteresis: 1
    sorry_server: {address: 10.0.0.99, port: 80}
    backends:
      web1: {weight: 2}
      web2: {weight: 2}
  slow:
    vip: 10.0.0.102
    port: 80
    directors: [lb1]
    health_check: {type: tcp, port: 8080}
    slow_start: 10s
    backends:
      web1: {weight: 10}
  alt:
    vip: 10.0.0.101
    port: 80
    directors: [lb1]
    health_check: {type: tcp}
    backends:
      web1: {}
      outside: {address: 10.0.0.50, health_check: {type: none}}
";

    fn cluster() -> Cluster {
        let loaded = manifest::parse("m.yaml", ".".into(), MANIFEST.as_bytes()).unwrap();
        model::validate(&loaded, &NoFacts).unwrap().cluster
    }

    fn target(board: &Board, at: &str) -> Target {
        board.targets().into_iter().map(|(t, _)| t).find(|t| t.to_string() == format!("tcp {at}")).unwrap()
    }

    #[test]
    fn one_probe_per_distinct_target_and_no_probe_without_a_check() {
        let b = Board::new(&cluster(), "lb1", None, |_| Status::Unknown);
        let names: Vec<String> = b.targets().iter().map(|(t, _)| t.to_string()).collect();
        assert_eq!(names, ["tcp 10.0.0.21:80", "tcp 10.0.0.21:8080", "tcp 10.0.0.22:80"]);
        let web1 = target(&b, "10.0.0.21:80");
        assert_eq!(b.backends(&web1), [("alt".to_string(), "web1".to_string()), ("http".into(), "web1".into())]);
        assert!(Board::new(&cluster(), "web1", None, |_| Status::Up).targets().is_empty(), "not a director");
    }

    #[test]
    fn unknown_and_down_targets_are_down_and_a_pass_brings_them_up() {
        let mut b = Board::new(&cluster(), "lb1", None, |_| Status::Unknown);
        let (h, _) = b.health(None, Duration::ZERO);
        assert_eq!(h.down.len(), 4);
        let web1 = target(&b, "10.0.0.21:80");
        assert!(b.record(&web1, Status::Up, Some(7), Duration::ZERO));
        let (h, _) = b.health(None, Duration::ZERO);
        let down: Vec<_> = h.down.iter().map(|(s, b)| format!("{s}/{b}")).collect();
        assert_eq!(down, ["http/web2", "slow/web1"]);
        assert_eq!(h.weights.get(&("alt".to_string(), "web1".to_string())), Some(&7));
    }

    #[test]
    fn quorum_with_hysteresis_and_the_previous_board_kept_on_reload() {
        let mut b = Board::new(&cluster(), "lb1", None, |_| Status::Up);
        let (h, changes) = b.health(None, Duration::ZERO);
        assert!(h.below_quorum.is_empty() && changes.is_empty(), "weight 4 >= quorum 3");
        let web2 = target(&b, "10.0.0.22:80");
        b.record(&web2, Status::Down, None, Duration::ZERO);
        let (h, _) = b.health(None, Duration::ZERO);
        assert!(h.below_quorum.is_empty(), "2 is not below quorum 3 - hysteresis 1");
        let web1 = target(&b, "10.0.0.21:80");
        b.record(&web1, Status::Down, None, Duration::ZERO);
        let (h, changes) = b.health(None, Duration::ZERO);
        assert_eq!(h.below_quorum.iter().collect::<Vec<_>>(), ["http"], "alt keeps its unchecked backend");
        assert_eq!(changes, [QuorumChange { service: "http".into(), gained: false, weight: 0, quorum: 3 }]);
        b.record(&web1, Status::Up, None, Duration::ZERO);
        let (h, changes) = b.health(None, Duration::ZERO);
        assert!(h.below_quorum.contains("http") && changes.is_empty(), "2 is below quorum 3 + hysteresis 1");
        b.record(&web2, Status::Up, None, Duration::ZERO);
        let (h, changes) = b.health(None, Duration::ZERO);
        assert!(h.below_quorum.is_empty());
        assert_eq!(changes, [QuorumChange { service: "http".into(), gained: true, weight: 4, quorum: 3 }]);
        let mut again = Board::new(&cluster(), "lb1", Some(&b), |_| Status::Unknown);
        assert_eq!(again.targets(), b.targets(), "statuses kept across a reload");
        let (h2, changes) = again.health(None, Duration::ZERO);
        assert_eq!((h2, changes), (h, vec![]));
    }

    #[test]
    fn a_scoped_health_is_the_whole_health_of_its_services_alone() {
        let mut b = Board::new(&cluster(), "lb1", None, |_| Status::Up);
        let (web1, web2) = (target(&b, "10.0.0.21:80"), target(&b, "10.0.0.22:80"));
        b.record(&web1, Status::Down, None, Duration::ZERO);
        b.record(&web2, Status::Down, None, Duration::ZERO);
        b.set_drained(BTreeSet::from([("http".to_string(), "web2".to_string()), ("slow".into(), "web1".into())]));
        let alt = BTreeSet::from(["alt".to_string()]);
        let (h, changes) = b.health(Some(&alt), Duration::ZERO);
        let down: Vec<_> = h.down.iter().map(|(s, b)| format!("{s}/{b}")).collect();
        assert_eq!(down, ["alt/web1"], "only the scope's backends");
        assert!(h.drained.is_empty() && h.below_quorum.is_empty() && changes.is_empty(), "{h:?} {changes:?}");
        let http = BTreeSet::from(["http".to_string(), "alt".into()]);
        let (scoped, changes) = b.health(Some(&http), Duration::ZERO);
        assert_eq!(
            changes.iter().map(|c| c.service.as_str()).collect::<Vec<_>>(),
            ["http"],
            "http's quorum asked first now"
        );
        let (all, again) = b.health(None, Duration::ZERO);
        assert!(again.is_empty(), "a change is reported once: {again:?}");
        let mine = |id: &BackendId| http.contains(&id.0);
        assert_eq!(scoped.down, all.down.iter().filter(|id| mine(id)).cloned().collect());
        assert_eq!(scoped.drained, all.drained.iter().filter(|id| mine(id)).cloned().collect());
        assert_eq!(scoped.below_quorum, all.below_quorum);
        assert_eq!(all.drained.len(), 2);
    }

    #[test]
    fn slow_start_ramps_a_recovered_backend_in_tenths() {
        let secs = Duration::from_secs;
        let mut b = Board::new(&cluster(), "lb1", None, |_| Status::Up);
        let t = b.targets().into_iter().map(|(t, _)| t).find(|t| t.check.port == 8080).unwrap();
        let slow = ("slow".to_string(), "web1".to_string());
        assert_eq!(b.health(None, secs(0)).0.weights.get(&slow), None, "at start-up: no ramp");
        b.record(&t, Status::Down, None, secs(50));
        b.record(&t, Status::Up, None, secs(100));
        assert_eq!(b.health(None, secs(100)).0.weights.get(&slow), Some(&1));
        assert_eq!(b.health(None, secs(105)).0.weights.get(&slow), Some(&6));
        assert_eq!(b.next_ramp_step(secs(105)), Some(secs(106)));
        assert_eq!(b.health(None, secs(110)).0.weights.get(&slow), None, "full weight");
        assert_eq!(b.next_ramp_step(secs(110)), None);
    }
}
