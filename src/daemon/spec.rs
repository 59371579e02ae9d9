//! What one VRRP instance on this node runs with, resolved from the cluster: interfaces,
//! priority, peers, the password (read here from its file or environment variable, never
//! logged) and tracking. Two specs compare equal exactly when a running instance can keep
//! running across a manifest reload untouched; two specs of the same router ([`InstanceSpec::router`])
//! change a running instance in place; anything else replaces it.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

use super::error::{DaemonError, SecretError};
use crate::model::cluster::{
    Cluster, FileWeight, InGroup, Member, Notify, Removal, Secret, SyncGroup, TrackFile, TrackScript, Vip, VrrpAuth,
    member_weight_in_group,
};
use crate::model::net::{Address, Vmac};
use crate::vrrp::fsm::Config;
use crate::vrrp::garp::Timing;
use crate::vrrp::packet::Auth;
use crate::vrrp::track::Kind;

/// One VRRP instance of this node.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceSpec {
    /// Instance name.
    pub name: String,
    /// Virtual router id.
    pub vrid: u8,
    /// 2 or 3.
    pub version: u8,
    /// This node's configured priority.
    pub priority: u8,
    /// Advert interval.
    pub advert: Duration,
    /// Preemption.
    pub preempt: bool,
    /// Preempt delay.
    pub preempt_delay: Duration,
    /// Advert interface.
    pub interface: String,
    /// Interface holding the VIPs.
    pub vip_interface: String,
    /// The VIPs its adverts carry.
    pub vips: Vec<Vip>,
    /// The VIPs it holds as master but does not advertise.
    pub excluded: Vec<Vip>,
    /// IPv6 (the instance's family: its VIPs', IPv4 without any).
    pub v6: bool,
    /// Unicast peers (none of them ours); `None` = multicast.
    pub unicast_peers: Option<Vec<IpAddr>>,
    /// v2 authentication: PASS or AH, with its password (zero-padded).
    pub auth: Option<Auth>,
    /// Source address of adverts: the member's `source`, else the node's address of the
    /// family (IPv6 multicast: `None`, the interface's link-local address is used).
    pub source: Option<IpAddr>,
    /// When its master announces the VIPs.
    pub garp: crate::vrrp::garp::Timing,
    /// The routes its master holds.
    pub routes: Vec<crate::model::net::VrrpRoute>,
    /// The policy routing rules its master holds.
    pub rules: Vec<crate::model::net::VrrpRule>,
    /// The notify commands this node runs (its member's own over the instance's).
    pub notify: Notify,
    /// Longest a notify command may run.
    pub notify_timeout: Duration,
    /// Track scripts: name -> (weight and `reverse`, settings).
    pub track_scripts: BTreeMap<String, (FileWeight, TrackScript)>,
    /// Tracked interfaces: name -> weight and `reverse`.
    pub track_interfaces: BTreeMap<String, FileWeight>,
    /// Track files: name -> (weight and `reverse`, the file).
    pub track_files: BTreeMap<String, (FileWeight, TrackFile)>,
    /// Tracked processes: name -> (weight and `reverse`, what is counted).
    pub track_processes: BTreeMap<String, (FileWeight, crate::vrrp::procs::Spec)>,
    /// The IPVS sync daemon it runs: master while master, backup otherwise.
    pub sync: Option<crate::model::sync::SyncConfig>,
    /// The sync group it is in (keepalived's `vrrp_sync_group`).
    pub sync_group: Option<String>,
    /// Its transitions alert (`alerts:`).
    pub alert: bool,
    /// Its virtual MAC, which holds the VIPs (keepalived's `use_vmac`).
    pub vmac: Option<Vmac>,
    /// Adverts go and come on `interface` even with a VMAC (keepalived's `vmac_xmit_base`).
    pub xmit_base: bool,
    /// keepalived's strict mode (see [`crate::model::cluster::VrrpInstance::strict`]).
    pub strict: bool,
    /// How long after the daemon's start the instance starts.
    pub startup_delay: Duration,
    /// How long after the system's boot, at least, the instance starts.
    pub startup_delay_after_boot: Duration,
    /// The node's realtime scheduling on demand for the instance's thread.
    pub auto_realtime: Option<crate::model::cluster::AutoRealtime>,
    /// Its effective priority's changes go to the notify FIFOs (`notify_priority_changes`).
    pub notify_priority_changes: bool,
    /// What a reload that removes it reports (`removal_notify`, `notify_deleted`).
    pub removal: Removal,
    /// Its interfaces may be missing at start: it waits for them in FAULT
    /// (`nodes.N.dynamic_interfaces`).
    pub dynamic_interfaces: bool,
}

/// A sync group as this node runs it: its members here, its notify commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    /// Its name.
    pub name: String,
    /// The member instances this node runs.
    pub members: Vec<String>,
    /// Its notify commands (`notify` gets `GROUP <name> <STATE> 0`).
    pub notify: Notify,
    /// Longest a notify command may run.
    pub notify_timeout: Duration,
}

impl InstanceSpec {
    /// True for an IPv6 instance.
    pub fn is_v6(&self) -> bool {
        self.v6
    }

    /// What makes it this virtual router on the wire: VRID, interface, version and family.
    /// A reload that changes any of these replaces the instance; any other change is made
    /// to the running instance in place.
    pub fn router(&self) -> (u8, &str, u8, bool, Option<(&Vmac, bool)>) {
        (self.vrid, &self.interface, self.version, self.is_v6(), self.vmac.as_ref().map(|v| (v, self.xmit_base)))
    }

    /// The interface adverts are sent and heard on: the VMAC, unless there is none or
    /// `xmit_base`.
    pub fn advert_interface(&self) -> &str {
        match &self.vmac {
            Some(v) if !self.xmit_base => &v.name,
            _ => &self.interface,
        }
    }

    /// When a master announces its VIPs once more after taking over: one advert interval
    /// later, with a VMAC that sends its adverts from the base interface (`xmit_base`).
    /// Then nothing but the announcements carries the VRRP MAC as a source, and an old
    /// master that still held the VIPs when the first ones came may have answered them
    /// from its own VMAC (keepalived sets `accept_local=1` there, so it answers a
    /// gratuitous ARP from the VIP), teaching the switches the MAC at its port until the
    /// second burst (`garp_delay`, 5 s). By one advert interval later it has heard the new
    /// master and let the VIPs go.
    pub fn relearn_after(&self) -> Option<Duration> {
        (self.vmac.is_some() && self.xmit_base).then_some(self.advert)
    }

    /// True when it holds addresses of the family other than its adverts' (a VMAC of an
    /// IPv4 instance keeps IPv6 on for them).
    pub fn other_family_held(&self) -> bool {
        self.excluded.iter().any(|v| v.addr().is_ipv6() != self.v6)
    }

    /// What its wire is opened with: when a reload changes it, a new wire is opened beside
    /// the running one before anything changes.
    pub fn wire_key(&self) -> (&str, Option<IpAddr>, bool, bool) {
        (&self.vip_interface, self.source, self.unicast_peers.is_some(), self.is_ah())
    }

    /// True when its adverts travel over IPsec AH (IP protocol 51).
    pub fn is_ah(&self) -> bool {
        matches!(self.auth, Some(Auth::Ah(_)))
    }

    /// The interfaces its wire is opened on, each once: its own, its advert interface (the
    /// VMAC), its VIP interface and the VIPs' own. While one is missing the instance is in
    /// FAULT; one re-created (a new index) gets it a new wire, bound by name.
    pub fn wire_interfaces(&self) -> Vec<&str> {
        let mut out: Vec<&str> = vec![&self.interface, self.advert_interface(), &self.vip_interface];
        let own = self.vips.iter().chain(&self.excluded).filter_map(|v| v.interface.as_deref());
        out.extend(own);
        let mut seen = Vec::new();
        out.retain(|i| {
            let first = !seen.contains(i);
            seen.push(*i);
            first
        });
        out
    }

    /// Every VIP, advertised then excluded, as the address a master holds: on its own
    /// interface, else on the VIP interface, with its label, broadcast and scope.
    pub fn vip_addresses(&self) -> Vec<Address> {
        self.vip_addresses_tracked(true)
    }

    /// The addresses of its VIPs, excluded ones too, without the `no_track` ones unless
    /// `untracked`.
    pub fn vip_addresses_tracked(&self, untracked: bool) -> Vec<Address> {
        let vips = self.vips.iter().chain(&self.excluded).filter(|v| untracked || !v.no_track);
        vips.map(|v| v.address(&self.vip_interface)).collect()
    }

    /// The addresses its adverts carry.
    pub fn advertised(&self) -> Vec<IpAddr> {
        self.vips.iter().map(Vip::addr).collect()
    }

    /// True when the instance tracks scripts or interfaces.
    pub fn tracks(&self) -> bool {
        !self.track_scripts.is_empty()
            || !self.track_interfaces.is_empty()
            || !self.track_files.is_empty()
            || !self.track_processes.is_empty()
    }

    /// The state machine's settings, with `primary` as the adverts' source.
    pub fn fsm_config(&self, primary: IpAddr) -> Config {
        Config {
            preempt: self.preempt,
            preempt_delay: self.preempt_delay,
            synced: self.sync_group.is_some(),
            advert_on_lower: !self.strict,
            owner_ignores_adverts: self.strict,
            ..Config::new(self.version, self.priority, self.advert, primary)
        }
    }
}

/// What a reload changes in a running instance, for the log: `priority 150 -> 200`,
/// `vips +10.0.0.2/24`, ... (never the password itself). Empty when nothing changed.
pub fn changes(old: &InstanceSpec, new: &InstanceSpec) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = |name: &str, a: String, b: String| {
        if a != b {
            out.push(format!("{name} {a} -> {b}"));
        }
    };
    field("name", old.name.clone(), new.name.clone());
    field("priority", old.priority.to_string(), new.priority.to_string());
    field("advert_interval", format!("{:?}", old.advert), format!("{:?}", new.advert));
    field("preempt", old.preempt.to_string(), new.preempt.to_string());
    field("preempt_delay", format!("{:?}", old.preempt_delay), format!("{:?}", new.preempt_delay));
    field("vip_interface", old.vip_interface.clone(), new.vip_interface.clone());
    field("source", format!("{:?}", old.source), format!("{:?}", new.source));
    field("notify_timeout", format!("{:?}", old.notify_timeout), format!("{:?}", new.notify_timeout));
    field("strict", old.strict.to_string(), new.strict.to_string());
    field("startup_delay", format!("{:?}", old.startup_delay), format!("{:?}", new.startup_delay));
    let after_boot = |s: &InstanceSpec| format!("{:?}", s.startup_delay_after_boot);
    field("startup_delay_after_boot", after_boot(old), after_boot(new));
    field("auto_realtime", format!("{:?}", old.auto_realtime), format!("{:?}", new.auto_realtime));
    field("dynamic_interfaces", old.dynamic_interfaces.to_string(), new.dynamic_interfaces.to_string());
    changed_garp(&mut out, &old.garp, &new.garp);
    list_changes(&mut out, "vips", &old.vips, &new.vips);
    list_changes(&mut out, "excluded_vips", &old.excluded, &new.excluded);
    let mut changed = |name: &str, differs: bool| {
        if differs {
            out.push(name.to_string());
        }
    };
    changed("unicast_peers", old.unicast_peers != new.unicast_peers);
    changed("routes", old.routes != new.routes);
    changed("rules", old.rules != new.rules);
    changed("authentication", old.auth != new.auth);
    changed("removal_notify", old.removal != new.removal);
    for ((key, a), (_, b)) in old.notify.keyed().into_iter().zip(new.notify.keyed()) {
        changed(key, a != b);
    }
    changed("track_scripts", old.track_scripts != new.track_scripts);
    changed("track_interfaces", old.track_interfaces != new.track_interfaces);
    changed("track_files", old.track_files != new.track_files);
    changed("track_processes", old.track_processes != new.track_processes);
    changed("connection_sync", old.sync != new.sync);
    if old.sync_group != new.sync_group {
        out.push(format!("sync_group {:?} -> {:?}", old.sync_group, new.sync_group));
    }
    out
}

/// `garp_delay 5s -> 2s`, one entry per announcement setting that changed.
fn changed_garp(out: &mut Vec<String>, old: &Timing, new: &Timing) {
    let (a, b) = (garp_fields(old), garp_fields(new));
    for ((name, x), (_, y)) in a.into_iter().zip(b) {
        if x != y {
            out.push(format!("{name} {x} -> {y}"));
        }
    }
}

fn garp_fields(t: &Timing) -> [(&'static str, String); 8] {
    let d = |d: Duration| format!("{d:?}");
    [
        ("garp_repeat", t.repeat.to_string()),
        ("garp_delay", d(t.delay)),
        ("garp_refresh", d(t.refresh)),
        ("garp_refresh_repeat", t.refresh_repeat.to_string()),
        ("garp_lower_priority_repeat", t.lower_repeat.to_string()),
        ("garp_lower_priority_delay", d(t.lower_delay)),
        ("garp_interval", d(t.arp_interval)),
        ("gna_interval", d(t.na_interval)),
    ]
}

/// `vips -10.0.0.1/24 +10.0.0.1/24 label eth0:1`: a VIP whose options changed is removed
/// and added again.
fn list_changes(out: &mut Vec<String>, name: &str, old: &[Vip], new: &[Vip]) {
    let added = new.iter().filter(|v| !old.contains(v)).map(|v| format!("+{v}"));
    let removed: Vec<String> = old.iter().filter(|v| !new.contains(v)).map(|v| format!("-{v}")).collect();
    let all: Vec<String> = removed.into_iter().chain(added).collect();
    if !all.is_empty() {
        out.push(format!("{name} {}", all.join(" ")));
    }
}

/// Why a running instance is replaced by `new` of the same name instead of changed in
/// place: which of [`InstanceSpec::router`]'s parts differ.
pub fn replaced_because(old: &InstanceSpec, new: &InstanceSpec) -> String {
    let (a, b) = (old.router(), new.router());
    let family = |v6: bool| if v6 { "IPv6" } else { "IPv4" };
    let mut why = Vec::new();
    if a.0 != b.0 {
        why.push(format!("vrid {} -> {}", a.0, b.0));
    }
    if a.1 != b.1 {
        why.push(format!("interface {} -> {}", a.1, b.1));
    }
    if a.2 != b.2 {
        why.push(format!("version {} -> {}", a.2, b.2));
    }
    if a.3 != b.3 {
        why.push(format!("family {} -> {}", family(a.3), family(b.3)));
    }
    if a.4 != b.4 {
        let shown = |v: Option<(&Vmac, bool)>| match v {
            Some((v, base)) => format!("{v}{}", if base { " xmit_base" } else { "" }),
            None => "none".to_string(),
        };
        why.push(format!("vmac {} -> {}", shown(a.4), shown(b.4)));
    }
    why.join(", ")
}

/// The specs of every instance `node` is a member of.
pub fn specs(cluster: &Cluster, node: &str) -> Result<Vec<InstanceSpec>, DaemonError> {
    let Some(n) = cluster.nodes.get(node) else {
        return Err(DaemonError::NodeGone { node: node.to_string() });
    };
    let mut out = Vec::new();
    for inst in cluster.vrrp.values() {
        let Some(m) = inst.members.get(node) else { continue };
        let v6 = inst.is_v6();
        let own: Vec<IpAddr> = n.addresses.iter().map(IpNet::addr).collect();
        let peers = inst.unicast_peers.as_ref().map(|p| p.iter().copied().filter(|a| !own.contains(a)).collect());
        let source = match (m.source, v6, &inst.unicast_peers) {
            (Some(s), ..) => Some(s),
            (None, true, None) => None,
            _ => n.address_of(v6),
        };
        let group = cluster.sync_group_of(&inst.name);
        let [scripts, mut interfaces, files, processes] = tracked_in_group(m, group);
        for i in vip_interfaces(inst, m) {
            interfaces.entry(i.to_string()).or_insert(FileWeight { weight: 0, reverse: false });
        }
        if inst.track_own_interface {
            interfaces.entry(m.interface.clone()).or_insert(FileWeight { weight: 0, reverse: false });
            // The VMAC is the instance's interface too: gone (deleted by hand), the instance
            // is in FAULT until the daemon has made it again, as in keepalived.
            if let Some(v) = &inst.vmac {
                interfaces.entry(v.name.clone()).or_insert(FileWeight { weight: 0, reverse: false });
            }
        }
        let track_scripts = scripts
            .iter()
            .filter_map(|(name, w)| cluster.track_scripts.get(name).map(|s| (name.clone(), (*w, s.clone()))))
            .collect();
        out.push(InstanceSpec {
            name: inst.name.clone(),
            vrid: inst.vrid,
            version: inst.version,
            priority: m.priority,
            advert: inst.advert,
            preempt: inst.preempt,
            preempt_delay: inst.preempt_delay,
            interface: m.interface.clone(),
            vip_interface: m.vip_interface.clone(),
            vips: inst.vips.clone(),
            excluded: inst.excluded.clone(),
            v6,
            unicast_peers: peers,
            auth: inst
                .auth
                .as_ref()
                .map(authentication)
                .transpose()
                .map_err(|source| DaemonError::Secret { instance: inst.name.clone(), source })?,
            source,
            garp: inst.garp,
            routes: inst.routes.clone(),
            rules: inst.rules.clone(),
            notify: inst.notify_of(node),
            notify_timeout: inst.notify_timeout,
            track_scripts,
            track_interfaces: interfaces,
            track_files: files
                .into_iter()
                .filter_map(|(name, w)| cluster.track_files.get(&name).map(|f| (name, (w, f.clone()))))
                .collect(),
            track_processes: processes
                .into_iter()
                .filter_map(|(name, w)| cluster.track_processes.get(&name).map(|p| (name, (w, p.clone()))))
                .collect(),
            sync: inst.sync_config(node),
            sync_group: group.map(|g| g.name.clone()),
            alert: cluster.alerts.vrrp.contains(&inst.name),
            vmac: inst.vmac_of(node),
            xmit_base: inst.vmac.as_ref().is_some_and(|v| v.xmit_base),
            strict: inst.strict,
            startup_delay: inst.startup_delay,
            startup_delay_after_boot: inst.startup_delay_after_boot,
            auto_realtime: n.auto_realtime,
            notify_priority_changes: inst.notify_priority_changes,
            removal: inst.removal.clone(),
            dynamic_interfaces: n.dynamic_interfaces,
        });
    }
    Ok(out)
}

/// The interfaces a member's VIPs put it in FAULT by, as keepalived tracks them: each VIP's
/// (excluded ones too) but a `no_track` one's, and, when the instance does not track its
/// own interface (`dont_track_primary`), none on that interface or its VMAC.
fn vip_interfaces<'a>(inst: &'a crate::model::cluster::VrrpInstance, m: &'a Member) -> Vec<&'a str> {
    let vmac = inst.vmac.as_ref().map(|v| v.name.as_str());
    let primary = |i: &str| i == m.interface || Some(i) == vmac;
    let on = inst.held().filter(|v| !v.no_track).map(|v| v.interface.as_deref().unwrap_or(&m.vip_interface));
    on.filter(|i| inst.track_own_interface || !primary(i)).collect()
}

type Weights = BTreeMap<String, FileWeight>;

/// A member's tracked scripts, interfaces, files and processes in its sync group (or its
/// own without one): its own, by keepalived's rule unless the group keeps weights
/// ([`member_weight_in_group`]: zeroed, dropped or kept), with the group's beside them. An
/// object both track takes the group's weight and `reverse`, unless the member's weight
/// is 0 (keepalived's `add_vrrp_to_track_script` and the like).
fn tracked_in_group(m: &Member, group: Option<&SyncGroup>) -> [Weights; 4] {
    let own = [&m.track_scripts, &m.track_interfaces, &m.track_files, &m.track_processes];
    let Some(g) = group else { return own.map(Weights::clone) };
    let theirs = [&g.track_scripts, &g.track_interfaces, &g.track_files, &g.track_processes];
    let kinds = [Kind::Script, Kind::Interface, Kind::File, Kind::Process];
    std::array::from_fn(|n| {
        let mut out: Weights = own[n]
            .iter()
            .filter_map(|(k, w)| match (g.tracking_weight, member_weight_in_group(kinds[n], *w)) {
                (true, _) | (false, InGroup::Kept) => Some((k.clone(), *w)),
                (false, InGroup::Zeroed) => Some((k.clone(), FileWeight { weight: 0, ..*w })),
                (false, InGroup::Dropped) => None,
            })
            .collect();
        for (k, w) in theirs[n] {
            match out.get_mut(k) {
                Some(mine) if mine.weight == 0 => {}
                Some(mine) => *mine = *w,
                None => {
                    out.insert(k.clone(), *w);
                }
            }
        }
        out
    })
}

/// The sync groups `node` runs a member of, with those members.
pub fn groups(cluster: &Cluster, node: &str) -> Vec<GroupSpec> {
    let runs = |i: &String| cluster.vrrp.get(i).is_some_and(|v| v.members.contains_key(node));
    cluster
        .sync_groups
        .values()
        .map(|g| GroupSpec {
            name: g.name.clone(),
            members: g.instances.iter().filter(|i| runs(i)).cloned().collect(),
            notify: g.notify.clone(),
            notify_timeout: g.notify_timeout,
        })
        .filter(|g| !g.members.is_empty())
        .collect()
}

/// The authentication of an instance, with its password read.
fn authentication((kind, secret): &(VrrpAuth, Secret)) -> Result<Auth, SecretError> {
    let key = password(secret)?;
    Ok(match kind {
        VrrpAuth::Pass => Auth::Pass(key),
        VrrpAuth::Ah => Auth::Ah(key),
    })
}

/// Reads a PASS password or AH key: the first line of its file, or its environment variable.
fn password(s: &Secret) -> Result<[u8; 8], SecretError> {
    let text = match s {
        Secret::Env(var) => std::env::var(var).map_err(|_| SecretError::EnvUnset { var: var.clone() })?,
        Secret::File(path) => crate::files::first_line(path, crate::files::Kind::Secret)?,
    };
    let text = crate::model::password::usable(&text).map_err(|len| SecretError::Length { len })?;
    Ok(crate::vrrp::packet::password(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two members of sync group G1: VI_A tracks one object of each kind with a weight,
    /// and the group tracks a file and a process of its own.
    fn group_manifest(tracking_weight: bool) -> String {
        format!(
            "version: 1
nodes:
  lb1: {{roles: [director], addresses: [10.0.0.11/24], interface: eth0}}
track_scripts:
  chk: {{command: [/bin/true]}}
  chk0: {{command: [/bin/true]}}
track_files:
  prio: {{path: /run/prio}}
  heavy: {{path: /run/heavy, weight: 5}}
  maint: {{path: /run/maint}}
track_processes:
  web: {{process: nginx, weight: -30}}
  db: {{process: postgres}}
vrrp:
  VI_A:
    vrid: 10
    members: {{lb1: {{priority: 150}}}}
    vips: [10.0.0.100/24]
    track_scripts: {{chk: {{weight: -20}}, chk0: {{}}}}
    track_interfaces: {{eth1: {{weight: 10, reverse: true}}}}
    track_files: {{prio: {{}}, heavy: {{}}}}
    track_processes: {{web: {{}}}}
  VI_B:
    vrid: 11
    members: {{lb1: {{priority: 150}}}}
    vips: [10.0.0.101/24]
sync_groups:
  G1:
    instances: [VI_A, VI_B]
    tracking_weight: {tracking_weight}
    track_files: {{maint: {{weight: 0}}}}
    track_processes: {{db: {{}}}}
"
        )
    }

    fn group_specs(tracking_weight: bool) -> Vec<InstanceSpec> {
        let text = group_manifest(tracking_weight);
        let loaded = crate::manifest::parse("m.yaml", std::path::PathBuf::from("."), text.as_bytes()).unwrap();
        let cluster = crate::model::validate(&loaded, &crate::model::NoFacts).unwrap().cluster;
        specs(&cluster, "lb1").unwrap()
    }

    /// name=weight[r] of every tracked object of a spec, by kind.
    fn tracked(s: &InstanceSpec) -> [String; 4] {
        let one = |(n, w): (&String, &FileWeight)| format!("{n}={}{}", w.weight, if w.reverse { "r" } else { "" });
        let list = |v: Vec<String>| v.join(" ");
        [
            list(s.track_scripts.iter().map(|(n, (w, _))| one((n, w))).collect()),
            list(s.track_interfaces.iter().map(one).collect()),
            list(s.track_files.iter().map(|(n, (w, _))| one((n, w))).collect()),
            list(s.track_processes.iter().map(|(n, (w, _))| one((n, w))).collect()),
        ]
    }

    #[test]
    fn sync_group_members_track_the_groups_files_and_processes_and_follow_keepalived_on_weights() {
        let specs = group_specs(false);
        // keepalived without sync_group_tracking_weight: a weighted script is dropped, a
        // weighted interface and a file of weight 1 count 0, a file of another weight is
        // dropped, a process keeps its weight; the group's own objects are added to every
        // member as written. (eth0 is the own interface, FAULT on down.)
        assert_eq!(tracked(&specs[0]), ["chk0=0", "eth0=0 eth1=0r", "maint=0 prio=0", "db=0 web=-30"]);
        assert_eq!(tracked(&specs[1]), ["", "eth0=0", "maint=0", "db=0"]);
        // With it every weight stays.
        let kept = group_specs(true);
        assert_eq!(tracked(&kept[0]), ["chk=-20 chk0=0", "eth0=0 eth1=10r", "heavy=5 maint=0 prio=1", "db=0 web=-30"]);
        assert_eq!(tracked(&kept[1]), ["", "eth0=0", "maint=0", "db=0"]);
    }

    /// The one instance of a VRRPv2 manifest authenticated by `kind`, its key then read from
    /// `file` (validation without the host's facts finds no file).
    fn authenticated(kind: &str, file: &std::path::Path) -> InstanceSpec {
        let text = format!(
            "version: 1
nodes:
  lb1: {{roles: [director], addresses: [10.0.0.11/24], interface: eth0}}
vrrp:
  VI_A:
    vrid: 10
    version: 2
    members: {{lb1: {{priority: 150}}}}
    authentication: {{type: {kind}, password_env: LBC_UNUSED}}
    vips: [10.0.0.100/24]
"
        );
        let loaded = crate::manifest::parse("m.yaml", std::path::PathBuf::from("."), text.as_bytes()).unwrap();
        let mut cluster = crate::model::validate(&loaded, &crate::model::NoFacts).unwrap().cluster;
        for inst in cluster.vrrp.values_mut() {
            inst.auth = inst.auth.take().map(|(kind, _)| (kind, Secret::File(file.to_path_buf())));
        }
        specs(&cluster, "lb1").unwrap().remove(0)
    }

    #[test]
    fn ah_is_keyed_with_the_password_and_switching_to_it_opens_another_wire() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("lbc-spec-ah-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("key");
        std::fs::write(&key, "vl-secr\n").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (ah, pass) = (authenticated("ah", &key), authenticated("pass", &key));
        assert_eq!((ah.auth, ah.is_ah()), (Some(Auth::Ah(*b"vl-secr\0")), true));
        assert_eq!((pass.auth, pass.is_ah()), (Some(Auth::Pass(*b"vl-secr\0")), false));
        // Protocol 51 is heard on another socket: a reload between them opens a new wire.
        assert_ne!(ah.wire_key(), pass.wire_key());
        assert_eq!(changes(&pass, &ah), ["authentication"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_password_file_must_be_a_regular_file_and_a_fifo_does_not_block() {
        let dir = std::env::temp_dir().join(format!("lbc-spec-fifo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        crate::testkit::mkfifo(&fifo).unwrap();
        let started = std::time::Instant::now();
        let e = password(&Secret::File(fifo.clone())).unwrap_err();
        assert_eq!(e.to_string(), format!("{}: not a regular file (a FIFO)", fifo.display()));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let e = password(&Secret::File(dir.clone())).unwrap_err();
        assert_eq!(e.to_string(), format!("{}: not a regular file (a directory)", dir.display()));
        std::fs::write(dir.join("nine"), "123456789\nsecond line\n").unwrap();
        let e = password(&Secret::File(dir.join("nine"))).unwrap_err();
        assert_eq!(e.to_string(), "the password must be 1 to 8 bytes (it is 9 bytes)");
        std::fs::write(dir.join("ok"), "secret\r\nsecond line\n").unwrap();
        assert_eq!(password(&Secret::File(dir.join("ok"))).unwrap(), *b"secret\0\0");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
