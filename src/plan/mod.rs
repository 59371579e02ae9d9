//! The plan: the ordered kernel operations that take a node from its live state to its
//! desired state, the notes about what is left alone, and the ownership ledger after apply.
//! Pure: a function of two values. A saved plan (`plan --out`) is this value as JSON.

pub mod change;
mod diff;
pub mod order;
pub mod text;
pub mod verify;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use change::{Action, Change, Note};

use crate::manifest::revision::{Commit, Revision};
use crate::model::drain::Drain;
use crate::model::ipvs::{Dest, DestKey, Service, ServiceKey};
use crate::model::sysctl::SysctlKey;
use crate::model::{Desired, Ledger, NodeState};

/// Version of the plan's JSON structure.
pub const FORMAT_VERSION: u32 = 2;

/// Counts of changes by action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Changes that create.
    pub add: usize,
    /// Changes that update in place.
    pub change: usize,
    /// Changes that destroy.
    pub destroy: usize,
}

/// A plan for one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Always [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The node planned for.
    pub node: String,
    /// Its addresses: `apply --plan` refuses a host that holds none of them.
    pub node_addresses: Vec<ipnet::IpNet>,
    /// SHA-256 of the manifest the plan was made from (`sha256:...`).
    pub manifest_sha256: String,
    /// The git commit that manifest came from, when it is in a git work tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_commit: Option<Commit>,
    /// Its roles.
    pub roles: Vec<String>,
    /// Fingerprint of the live state the plan was computed against.
    pub live_fingerprint: String,
    /// Kernel operations, in execution order. In JSON each carries its `action` too.
    #[serde(with = "with_action")]
    pub changes: Vec<Change>,
    /// Objects shown but not changed.
    pub notes: Vec<Note>,
    /// Backends drained by `lbconverge drain` on this host: planned at weight 0.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drained: Vec<Drain>,
    /// What lbconverge owns once the plan is applied.
    pub ledger: Ledger,
    /// Declared objects found in place, owned from now on without a change.
    pub adopted: Ledger,
    /// Counts by action.
    pub summary: Summary,
    /// The manifest the plan was made from, when it was written out (`plan --out`):
    /// `apply --plan` plans it again and refuses a plan that is not what it gives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Carried>,
    /// SHA-256 of this plan's JSON with this field empty: `apply --plan` refuses an edited file.
    pub digest: String,
}

/// A manifest carried in a saved plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Carried {
    /// Where it was read (relative paths in it are taken from its directory).
    pub path: String,
    /// Its text.
    pub text: String,
}

impl Plan {
    /// Returns true if and only if applying the plan changes nothing in the kernel.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Computes the plan that takes `live` to `desired`.
pub fn plan(desired: &Desired, live: &NodeState) -> Plan {
    let diff = diff::diff(desired, live);
    let changes = order::order(diff.changes);
    let summary = summarize(&changes);
    Plan {
        format_version: FORMAT_VERSION,
        node: desired.node.clone(),
        node_addresses: Vec::new(),
        manifest_sha256: String::new(),
        manifest_commit: None,
        roles: desired.roles.iter().map(|r| r.to_string()).collect(),
        live_fingerprint: String::new(),
        adopted: adopted(&diff.ledger, &live.owned, &changes),
        changes,
        notes: diff.notes,
        drained: Vec::new(),
        ledger: diff.ledger,
        summary,
        manifest: None,
        digest: String::new(),
    }
}

/// The destination changes that take the live destinations of the services in `live` to
/// those of the same services in `desired`, in apply order: the scoped plan of a health
/// transition or a drain. Services missing on either side, and service settings, are the
/// full plan's business.
pub fn dest_changes(
    desired: &BTreeMap<ServiceKey, Service>,
    live: &BTreeMap<ServiceKey, BTreeMap<DestKey, Dest>>,
    failed: &BTreeSet<(ServiceKey, DestKey)>,
) -> Vec<Change> {
    let mut changes = Vec::new();
    for (key, now) in live {
        if let Some(want) = desired.get(key) {
            diff::dests(&mut changes, want, now, failed);
        }
    }
    order::order(changes)
}

/// The objects the ledger claims that were not owned and that no change makes or alters.
fn adopted(after: &Ledger, owned: &Ledger, changes: &[Change]) -> Ledger {
    let touched = verify::touched(changes);
    let new = |name: String, owned: bool| !owned && !touched.contains(&name);
    Ledger {
        services: after
            .services
            .iter()
            .filter(|k| new(format!("ipvs service {k}"), owned.services.contains(k)))
            .copied()
            .collect(),
        addresses: after
            .addresses
            .iter()
            .filter(|k| new(format!("address {}", k.address), owned.addresses.contains(k)))
            .cloned()
            .collect(),
        routes: after
            .routes
            .iter()
            .filter(|(d, _)| new(format!("route {d}"), owned.routes.contains_key(d)))
            .map(|(d, r)| (*d, r.clone()))
            .collect(),
        sysctls: after
            .sysctls
            .iter()
            .filter(|(k, _)| new(format!("sysctl {k}"), owned.sysctls.contains_key(k)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        sync_daemons: after
            .sync_daemons
            .iter()
            .filter(|s| new(format!("sync daemon {s}"), owned.sync_daemons.contains(s)))
            .copied()
            .collect(),
        announced: after
            .announced
            .iter()
            .filter(|r| new(format!("announced route {r}"), owned.announced.contains(r)))
            .copied()
            .collect(),
        firewall: after.firewall && new(text::FIREWALL.to_string(), owned.firewall),
        ipvs_timeouts: after.ipvs_timeouts.filter(|_| new(text::TIMEOUTS.to_string(), owned.ipvs_timeouts.is_some())),
    }
}

impl Plan {
    /// Records the node's addresses, the manifest's revision and the drains planned for.
    /// The digest is left to [`Plan::seal`]: only a plan that is written out needs one.
    pub fn stamp(&mut self, node_addresses: Vec<ipnet::IpNet>, manifest: &Revision, drained: Vec<Drain>) {
        self.node_addresses = node_addresses;
        self.drained = drained;
        self.manifest_sha256.clone_from(&manifest.sha256);
        self.manifest_commit.clone_from(&manifest.git);
    }

    /// The manifest the plan was made from.
    pub fn revision(&self) -> Revision {
        Revision { sha256: self.manifest_sha256.clone(), git: self.manifest_commit.clone() }
    }

    /// Records the fingerprint of the live state the plan was made against, which `apply
    /// --plan` compares with the host's state then. Only a plan that is written out needs
    /// it, so [`plan`] leaves it empty: it costs a serialization of the whole live state (a
    /// third of a no-op plan of 10,000 services).
    pub fn pin_live(&mut self, live: &NodeState) {
        self.live_fingerprint = fingerprint(live, &self.sysctl_scope());
    }

    /// Sets the digest over the plan's content.
    pub fn seal(&mut self) {
        self.digest.clear();
        self.digest = verify::digest_of(self);
    }
}

impl Plan {
    /// The sysctls this plan depends on: those it writes and those owned after it, with
    /// their `all` counterparts. `apply --plan` reads these to check the plan is not stale.
    pub fn sysctl_scope(&self) -> BTreeSet<SysctlKey> {
        let mut keys: BTreeSet<SysctlKey> = self.ledger.sysctls.keys().cloned().collect();
        for c in &self.changes {
            if let Change::SetSysctl { key, .. } = c {
                keys.insert(key.clone());
            }
        }
        crate::model::sysctl::with_all_variants(&keys)
    }
}

/// A fingerprint of what a plan depends on: the live state's settings and ownership, with
/// sysctls limited to `scope`; not the connection counters, which change all the time.
pub fn fingerprint(live: &NodeState, scope: &BTreeSet<SysctlKey>) -> String {
    let mut stable = live.clone();
    stable.firewall = stable.firewall.as_ref().map(crate::model::firewall::MarkTable::without_hits);
    for svc in stable.services.values_mut() {
        svc.traffic = crate::model::ipvs::Traffic::default();
        for d in svc.dests.values_mut() {
            d.stats = None;
        }
    }
    stable.node = None;
    stable.sysctls.retain(|k, _| scope.contains(k));
    let json = serde_json::to_vec(&stable).unwrap_or_default();
    let hex: String = Sha256::digest(&json).iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Counts of `changes` by action.
pub fn summarize(changes: &[Change]) -> Summary {
    let mut s = Summary::default();
    for c in changes {
        match c.action() {
            Action::Create => s.add += 1,
            Action::Update => s.change += 1,
            Action::Delete => s.destroy += 1,
        }
    }
    s
}

mod with_action {
    //! Changes in JSON: `{"action": "create", "op": "add_service", ...}`. The action is
    //! derived from the op; it is written for readers and checked when read back.
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::Value;

    use super::{Action, Change};

    /// A change with its action in front, written straight to the output; a firewall
    /// change also lists what it does rule by rule (derived, dropped when read back).
    #[derive(Serialize)]
    struct Tagged<'a> {
        action: Action,
        #[serde(flatten)]
        change: &'a Change,
        #[serde(skip_serializing_if = "Option::is_none")]
        rules: Option<Vec<crate::plan::text::RuleChange>>,
    }

    pub fn serialize<S: Serializer>(changes: &[Change], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(changes.iter().map(|change| {
            let rules = matches!(change, Change::SetFirewall { .. } | Change::DelFirewall { .. })
                .then(|| crate::plan::text::firewall_details(change));
            Tagged { action: change.action(), change, rules }
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Change>, D::Error> {
        let items = Vec::<Value>::deserialize(d)?;
        items.into_iter().enumerate().map(|(i, v)| one(i, v).map_err(D::Error::custom)).collect()
    }

    fn one(i: usize, mut v: Value) -> Result<Change, String> {
        let action = v.as_object_mut().and_then(|m| m.remove("action"));
        if let Some(m) = v.as_object_mut() {
            m.remove("rules");
        }
        let change: Change = serde_json::from_value(v).map_err(|e| format!("changes[{i}]: {e}"))?;
        let stated: Option<Action> =
            action.map(serde_json::from_value).transpose().map_err(|e| format!("changes[{i}].action: {e}"))?;
        match stated {
            Some(a) if a != change.action() => Err(format!("changes[{i}]: action {a:?} does not match its op")),
            _ => Ok(change),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::net::Address;
    use crate::model::sysctl::SysctlKey;

    fn desired_empty() -> Desired {
        Desired {
            node: "web".into(),
            roles: vec![],
            state: NodeState::default(),
            at_least: BTreeSet::new(),
            delegated: vec![],
            delegated_routes: vec![],
            delegated_rules: vec![],
            delegated_vmacs: vec![],
            sync: None,
            announce_delegated: BTreeSet::new(),
            failed: BTreeSet::new(),
        }
    }

    fn lo_vip() -> Address {
        Address::labelled("lo", "192.0.2.10/32".parse().unwrap(), Some("lo:0".into()))
    }

    fn sync_config(id: u8) -> crate::model::sync::SyncConfig {
        crate::model::sync::SyncConfig {
            interface: "eth0".into(),
            sync_id: id,
            max_len: None,
            group: None,
            port: None,
            ttl: None,
        }
    }

    #[test]
    fn a_sync_daemon_is_left_to_its_instance_restarted_with_new_settings_and_stopped_once_undeclared() {
        use crate::model::DelegatedSync;
        use crate::model::sync::SyncState::{Backup, Master};
        let mut d = desired_empty();
        d.sync = Some(DelegatedSync { instance: "VI_1".into(), config: sync_config(10) });
        let own = Address::plain("eth0", "10.0.0.1/24".parse().unwrap());
        let mut live = NodeState::default();
        live.addresses.insert(own.key(), own.clone());
        let verified = |mut p: Plan, live: &NodeState| {
            p.node_addresses = vec![own.address];
            p.pin_live(live);
            p.seal();
            verify::verify(&p, live)
        };
        let p = plan(&d, &live);
        assert!(p.changes.is_empty(), "the instance starts it, not apply: {:?}", p.changes);
        assert_eq!(
            p.notes.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["ipvs sync daemon (mcast=eth0, syncid=10): managed by VRRP instance VI_1 (none running here now)"]
        );
        assert_eq!(p.ledger.sync_daemons, [Master, Backup].into(), "both states are owned");
        assert_eq!(p.adopted.sync_daemons, p.ledger.sync_daemons);
        assert_eq!(verified(p.clone(), &live), Vec::<String>::new());

        let kernel_said = crate::model::sync::SyncConfig { max_len: Some(1472), port: Some(8848), ..sync_config(10) };
        live.sync_daemons.insert(Backup, kernel_said.clone());
        live.owned.sync_daemons = [Master, Backup].into();
        let p = plan(&d, &live);
        assert!(p.changes.is_empty(), "the kernel's defaults meet unset settings: {:?}", p.changes);
        assert!(p.notes[0].to_string().ends_with("(backup running here now)"), "{:?}", p.notes);

        d.sync = Some(DelegatedSync { instance: "VI_1".into(), config: sync_config(11) });
        let p = plan(&d, &live);
        assert_eq!(
            p.changes,
            [Change::SetSyncDaemon { state: Backup, from: kernel_said.clone(), to: sync_config(11) }]
        );
        assert_eq!(p.changes[0].to_string(), "ipvs backup sync daemon: syncid 10 -> 11");
        assert_eq!(verified(p.clone(), &live), Vec::<String>::new());

        let p = plan(&desired_empty(), &live);
        assert_eq!(p.changes, [Change::StopSyncDaemon { state: Backup, config: kernel_said.clone() }]);
        assert_eq!(p.changes[0].to_string(), "ipvs backup sync daemon (mcast=eth0, syncid=10, maxlen=1472, port=8848)");
        assert!(p.ledger.sync_daemons.is_empty());

        live.owned.sync_daemons.clear();
        let p = plan(&desired_empty(), &live);
        assert!(p.changes.is_empty(), "a daemon lbconverge never owned is left alone");
        assert_eq!(
            p.notes[0].to_string(),
            "ipvs backup sync daemon (mcast=eth0, syncid=10, maxlen=1472, port=8848): not owned by lbconverge"
        );
    }

    #[test]
    fn a_route_is_announced_by_the_daemon_left_to_it_offline_and_withdrawn_first_once_undeclared() {
        use crate::model::announce::Announced;
        let route = Announced { destination: "10.9.0.100/32".parse().unwrap(), table: 250 };
        let mut running = desired_empty();
        running.state.announced.insert(route);
        running.state.addresses.insert(lo_vip().key(), lo_vip());
        let mut live = NodeState::default();
        let p = plan(&running, &live);
        assert_eq!(p.changes.last(), Some(&Change::Announce { route }), "announced after the rest is in place");
        assert_eq!(p.changes.last().unwrap().to_string(), "announced route 10.9.0.100/32 table 250");

        let mut offline = desired_empty();
        offline.announce_delegated.insert(route);
        live.announced.insert(route);
        live.owned.announced.insert(route);
        let p = plan(&offline, &live);
        assert!(p.changes.is_empty(), "an offline plan leaves the daemon's route alone: {:?}", p.changes);
        assert!(p.notes[0].to_string().ends_with("(announced here now)"), "{:?}", p.notes);
        assert_eq!(p.ledger.announced, [route].into());

        live.addresses.insert(lo_vip().key(), lo_vip());
        live.owned.addresses.insert(lo_vip().key());
        let p = plan(&desired_empty(), &live);
        assert_eq!(p.changes[0], Change::Withdraw { route }, "withdrawn before anything else goes");
        assert!(matches!(p.changes[1], Change::DelAddress { .. }));
        live.owned.announced.clear();
        let p = plan(&desired_empty(), &live);
        assert!(!p.changes.contains(&Change::Withdraw { route }), "a route lbconverge never owned stays");
    }

    fn mark_table(source: &str) -> crate::model::firewall::MarkTable {
        let rule: crate::model::firewall::MarkRule = serde_json::from_value(serde_json::json!({
            "comment": "services.in.match[0]", "mark": 200, "family": "ipv4", "protocol": "tcp",
            "destination": ["192.168.10.101"], "source": [source], "ports": [443]
        }))
        .unwrap();
        let out = crate::model::firewall::MarkRule {
            comment: "services.out.match[0]".into(),
            mark: 300,
            source: None,
            ..rule.clone()
        };
        crate::model::firewall::MarkTable { rules: vec![rule, out], foreign: vec![], drops: vec![] }
    }

    #[test]
    fn the_firewall_table_is_made_kept_replaced_when_drifted_and_deleted_once_undeclared() {
        let mut d = desired_empty();
        d.state.firewall = Some(mark_table("192.168.0.0/16"));
        let mut live = NodeState::default();
        let p = plan(&d, &live);
        assert_eq!(p.changes, [Change::SetFirewall { from: None, to: mark_table("192.168.0.0/16") }]);
        assert_eq!(p.changes[0].action(), Action::Create);
        assert_eq!(
            p.changes[0].to_string(),
            "nftables table inet lbconverge (chain prerouting, 2 rules), in one transaction"
        );
        let details: Vec<String> = text::firewall_details(&p.changes[0]).iter().map(ToString::to_string).collect();
        assert_eq!(
            details,
            [
                "rule 1: ip daddr 192.168.10.101 ip saddr 192.168.0.0/16 tcp dport 443 -> mark 200 (services.in.match[0])",
                "rule 2: ip daddr 192.168.10.101 tcp dport 443 -> mark 300 (services.out.match[0])"
            ]
        );
        assert!(p.ledger.firewall);

        // In place, with counters: nothing to do.
        let mut counted = mark_table("192.168.0.0/16");
        counted.rules[0].hits = Some(crate::model::firewall::Hits { packets: 9, bytes: 540 });
        live.firewall = Some(counted);
        live.owned.firewall = true;
        assert!(plan(&d, &live).is_empty());

        // A rule edited by hand, one deleted, one added: the table is replaced whole.
        let mut drifted = mark_table("10.0.0.0/8");
        drifted.rules.remove(1);
        drifted.foreign.push("rule {\"expr\":[]}".into());
        live.firewall = Some(drifted.clone());
        let p = plan(&d, &live);
        assert_eq!(p.changes, [Change::SetFirewall { from: Some(drifted.clone()), to: mark_table("192.168.0.0/16") }]);
        assert_eq!(
            p.changes[0].to_string(),
            "nftables table inet lbconverge: 1 to add, 1 to change, 1 to remove, replaced in one transaction"
        );
        let details: Vec<String> = text::firewall_details(&p.changes[0]).iter().map(ToString::to_string).collect();
        assert_eq!(
            details,
            [
                "rule 1 (services.in.match[0]): source 10.0.0.0/8 -> 192.168.0.0/16",
                "rule 2: ip daddr 192.168.10.101 tcp dport 443 -> mark 300 (services.out.match[0])",
                "not written by lbconverge: rule {\"expr\":[]}"
            ]
        );
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["changes"][0]["op"], "set_firewall");
        assert_eq!(json["changes"][0]["rules"][0]["action"], "change");
        let back: Plan = serde_json::from_value(json).unwrap();
        assert_eq!(back, p, "the rule list is derived and dropped when read");

        // Undeclared: an owned table goes, another one stays.
        let p = plan(&desired_empty(), &live);
        assert_eq!(p.changes, [Change::DelFirewall { table: drifted }]);
        assert!(!p.ledger.firewall);
        live.owned.firewall = false;
        let p = plan(&desired_empty(), &live);
        assert!(p.changes.is_empty());
        assert_eq!(p.notes[0].to_string(), "nftables table inet lbconverge: not owned by lbconverge");
    }

    #[test]
    fn ipvs_timeouts_are_set_kept_repaired_and_restored_once_undeclared() {
        use crate::model::timeouts::Timeouts;
        let mut d = desired_empty();
        d.state.ipvs_timeouts = Some(Timeouts { tcp: 600, tcp_fin: 0, udp: 20 });
        let mut live = NodeState { ipvs_timeouts: Some(Timeouts::LINUX), ..NodeState::default() };
        let p = plan(&d, &live);
        let to = Timeouts { tcp: 600, tcp_fin: 0, udp: 20 };
        assert_eq!(p.changes, [Change::SetIpvsTimeouts { from: Some(Timeouts::LINUX), to }]);
        assert_eq!(p.changes[0].action(), Action::Update);
        assert_eq!(
            p.changes[0].to_string(),
            "ipvs timeouts: tcp 900s -> 600s, udp 300s -> 20s (ipvsadm --set 600 0 20)"
        );
        let before = Timeouts { tcp: 900, tcp_fin: 0, udp: 300 };
        assert_eq!(p.ledger.ipvs_timeouts, Some(before), "the values found before, tcpfin not owned");
        let problems: Vec<String> = verify::verify(&sealed(p.clone()), &live)
            .into_iter()
            .filter(|e| !e.contains("holds none of its addresses"))
            .collect();
        assert!(problems.is_empty(), "{problems:?}");
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["changes"][0]["op"], "set_ipvs_timeouts");
        assert_eq!(json["changes"][0]["to"]["udp"], 20);

        // In place (tcpfin whatever it is): nothing to do; one changed by hand: set again.
        live.ipvs_timeouts = Some(Timeouts { tcp: 600, tcp_fin: 45, udp: 20 });
        live.owned.ipvs_timeouts = Some(before);
        assert!(plan(&d, &live).is_empty());
        assert_eq!(plan(&d, &live).ledger.ipvs_timeouts, Some(before), "the first value found is kept");
        live.ipvs_timeouts = Some(Timeouts { tcp: 600, tcp_fin: 45, udp: 300 });
        let p = plan(&d, &live);
        assert_eq!(p.changes[0].to_string(), "ipvs timeouts: udp 300s -> 20s (ipvsadm --set 600 0 20)");

        // udp undeclared: back to the value found before; tcp stays.
        d.state.ipvs_timeouts = Some(Timeouts { tcp: 600, ..Timeouts::default() });
        live.ipvs_timeouts = Some(Timeouts { tcp: 600, tcp_fin: 45, udp: 20 });
        let p = plan(&d, &live);
        assert_eq!(p.changes[0].to_string(), "ipvs timeouts: udp 20s -> 300s (ipvsadm --set 600 0 300)");
        assert_eq!(p.ledger.ipvs_timeouts, Some(Timeouts { tcp: 900, ..Timeouts::default() }));

        // Never declared: left alone; ip_vs not loaded: a fresh kernel's values are the prior.
        assert!(plan(&desired_empty(), &NodeState { ipvs_timeouts: Some(to), ..NodeState::default() }).is_empty());
        d.state.ipvs_timeouts = Some(Timeouts { udp: 20, ..Timeouts::default() });
        let p = plan(&d, &NodeState::default());
        assert_eq!(p.changes[0].to_string(), "ipvs timeouts: udp 20s (ipvsadm --set 0 0 20)");
        assert_eq!(p.ledger.ipvs_timeouts, Some(Timeouts { udp: 300, ..Timeouts::default() }));
    }

    /// `p` with a digest, as `plan --out` writes it.
    fn sealed(mut p: Plan) -> Plan {
        p.seal();
        p
    }

    #[test]
    fn marks_are_set_after_new_services_and_removed_before_old_services_go() {
        let svc = |mark| crate::model::ipvs::Service {
            key: ServiceKey::Fwmark { family: crate::family::Family::Ipv4, mark },
            scheduler: "rr".into(),
            sched_flags: 0,
            persistence: None,
            one_packet: false,
            dests: BTreeMap::new(),
            traffic: Default::default(),
        };
        let mut d = desired_empty();
        d.state.services.insert(svc(200).key, svc(200));
        d.state.firewall = Some(mark_table("192.168.0.0/16"));
        let mut live = NodeState::default();
        live.services.insert(svc(9).key, svc(9));
        live.owned.services.insert(svc(9).key);
        let p = plan(&d, &live);
        let kinds: Vec<&str> = p
            .changes
            .iter()
            .map(|c| match c {
                Change::AddService { .. } => "add service",
                Change::SetFirewall { .. } => "marks",
                Change::DelService { .. } => "delete service",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["add service", "marks", "delete service"]);
    }

    #[test]
    fn leaving_dr_removes_the_vip_before_relaxing_arp() {
        let mut live = NodeState::default();
        let ignore = SysctlKey::ipv4_conf("all", "arp_ignore");
        live.addresses.insert(lo_vip().key(), lo_vip());
        live.sysctls.insert(ignore.clone(), "1".into());
        live.owned.addresses.insert(lo_vip().key());
        live.owned.sysctls.insert(ignore.clone(), "0".into());
        let p = plan(&desired_empty(), &live);
        assert_eq!(
            p.changes,
            vec![
                Change::DelAddress { address: lo_vip() },
                Change::SetSysctl { key: ignore, from: Some("1".into()), to: "0".into() },
            ]
        );
        assert!(p.ledger.is_empty());
    }

    #[test]
    fn becoming_dr_tightens_arp_before_adding_the_vip() {
        let ignore = SysctlKey::ipv4_conf("all", "arp_ignore");
        let mut d = desired_empty();
        d.state.addresses.insert(lo_vip().key(), lo_vip());
        d.state.sysctls.insert(ignore.clone(), "1".into());
        d.at_least.insert(ignore.clone());
        let mut live = NodeState::default();
        live.sysctls.insert(ignore.clone(), "0".into());
        let p = plan(&d, &live);
        assert_eq!(
            p.changes,
            vec![
                Change::SetSysctl { key: ignore, from: Some("0".into()), to: "1".into() },
                Change::AddAddress { address: lo_vip() }
            ]
        );
    }

    #[test]
    fn stricter_live_arp_setting_is_accepted_and_interface_uses_the_max_with_all() {
        let all = SysctlKey::ipv4_conf("all", "arp_ignore");
        let eth = SysctlKey::ipv4_conf("eth0", "arp_ignore");
        let mut d = desired_empty();
        for k in [&all, &eth] {
            d.state.sysctls.insert(k.clone(), "1".into());
            d.at_least.insert(k.clone());
        }
        let mut live = NodeState::default();
        live.sysctls.insert(all, "2".into());
        live.sysctls.insert(eth, "0".into());
        assert!(plan(&d, &live).is_empty());
    }

    #[test]
    fn saved_plan_round_trips_through_json() {
        let mut live = NodeState::default();
        live.addresses.insert(lo_vip().key(), lo_vip());
        live.owned.addresses.insert(lo_vip().key());
        let p = plan(&desired_empty(), &live);
        let text = serde_json::to_string(&p).unwrap();
        assert!(text.contains("\"action\":\"delete\""));
        let back: Plan = serde_json::from_str(&text).unwrap();
        assert_eq!(back, p);
        let lying = text.replace("\"action\":\"delete\"", "\"action\":\"create\"");
        assert!(serde_json::from_str::<Plan>(&lying).is_err());
    }
}
