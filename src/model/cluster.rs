//! The validated cluster: every reference resolved, every default applied, every address
//! parsed. Built by `validate`, read by `desired` and by the daemon.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::ipvs::{Forwarding, Persistence, ServiceKey};
use super::sysctl::SysctlKey;

/// A validated cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    /// Cluster name, if given.
    pub name: Option<String>,
    /// Nodes by name.
    pub nodes: BTreeMap<String, Node>,
    /// VRRP instances by name.
    pub vrrp: BTreeMap<String, VrrpInstance>,
    /// Sync groups by name.
    #[serde(default)]
    pub sync_groups: BTreeMap<String, SyncGroup>,
    /// Track scripts by name.
    pub track_scripts: BTreeMap<String, TrackScript>,
    /// Track files by name.
    pub track_files: BTreeMap<String, TrackFile>,
    /// Tracked processes by name (keepalived's `vrrp_track_process`).
    pub track_processes: BTreeMap<String, crate::vrrp::procs::Spec>,
    /// Virtual services by name.
    pub services: BTreeMap<String, VirtualService>,
    /// The `match` rules of firewall-mark services, in the order the chain tries them.
    #[serde(default)]
    pub marks: Vec<ClassRule>,
    /// Sysctl overrides for directors.
    pub director_sysctls: BTreeMap<SysctlKey, String>,
    /// Sysctl overrides for real servers.
    pub real_server_sysctls: BTreeMap<SysctlKey, String>,
    /// Where announced routes go.
    pub routing: Routing,
    /// Where `run` sends alerts, and which.
    #[serde(default)]
    pub alerts: super::alerts::Alerts,
    /// The FIFOs `run` writes its VRRP and health events to (keepalived's `notify_fifo`).
    #[serde(default)]
    pub notify_fifos: Vec<NotifyFifo>,
}

/// A named pipe `run` writes its events to, one line each in keepalived's format, and the
/// command it starts to read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyFifo {
    /// Its absolute path.
    pub path: PathBuf,
    /// Started with the path appended as its last argument; stopped with the daemon.
    pub command: Option<Vec<String>>,
    /// The events it takes.
    #[serde(default)]
    pub events: FifoEvents,
    /// A reload writes every instance's and sync group's state line to it.
    #[serde(default)]
    pub states_on_reload: bool,
}

/// The events a notify FIFO takes: VRRP lines, the health checks' `VS` / `RS` lines, or
/// both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FifoEvents {
    /// The VRRP instances' and sync groups' lines.
    pub vrrp: bool,
    /// The health checks' lines.
    pub lvs: bool,
}

impl Default for FifoEvents {
    /// VRRP lines only (what a FIFO took before it could take others).
    fn default() -> Self {
        FifoEvents { vrrp: true, lvs: false }
    }
}

/// A `match` rule of a firewall-mark service, as the chain holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassRule {
    /// The service whose mark it sets.
    pub service: String,
    /// The rule.
    pub rule: super::firewall::MarkRule,
}

/// The routing table of announced routes, the wait after withdrawing them on a stop, and
/// what the routing daemon's configuration needs (BGP sessions, BFD).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routing {
    /// Kernel routing table.
    pub table: u32,
    /// Wait after withdrawing on a graceful stop.
    pub drain_time: Duration,
    /// The BGP sessions, when the manifest names them.
    pub bgp: Option<Bgp>,
    /// BFD on the BGP sessions; `None` = off.
    pub bfd: Option<Bfd>,
}

impl Default for Routing {
    fn default() -> Self {
        Routing {
            table: crate::model::announce::DEFAULT_TABLE,
            drain_time: Duration::from_secs(5),
            bgp: None,
            bfd: Some(Bfd::default()),
        }
    }
}

/// The directors' BGP side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bgp {
    /// The directors' AS number.
    pub local_as: u32,
    /// Routers: address and AS number.
    pub peers: Vec<(IpAddr, u32)>,
}

/// BFD timers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bfd {
    /// Transmit and receive interval.
    pub interval: Duration,
    /// Missed packets before down.
    pub multiplier: u8,
}

impl Default for Bfd {
    fn default() -> Self {
        Bfd { interval: Duration::from_millis(100), multiplier: 3 }
    }
}

impl Bfd {
    /// The interval in whole milliseconds.
    pub fn interval_ms(&self) -> u128 {
        self.interval.as_millis()
    }
}

/// A node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Its name.
    pub name: String,
    /// Has the director role.
    pub director: bool,
    /// Has the real-server role.
    pub real_server: bool,
    /// Its own addresses with prefix.
    pub addresses: Vec<IpNet>,
    /// Client-facing interface.
    pub interface: String,
    /// Label for DR VIPs on `lo`.
    pub vip_label: String,
    /// Node sysctl overrides.
    pub sysctls: BTreeMap<SysctlKey, String>,
    /// IPVS timeouts of a director, its own over the defaults (0: left alone).
    pub ipvs_timeouts: crate::model::timeouts::Timeouts,
    /// The named network namespace its kernel objects live in (`None`: the host's).
    pub network_namespace: Option<String>,
    /// Realtime scheduling on demand for its VRRP threads.
    pub auto_realtime: Option<AutoRealtime>,
    /// Its VRRP instances' interfaces may be missing (`dynamic_interfaces`).
    pub dynamic_interfaces: bool,
}

/// keepalived's `max_auto_priority` / `min_auto_priority_delay`: a VRRP thread whose timer
/// fires more than `delay` late goes SCHED_RR at 1, then one higher each time, up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoRealtime {
    /// The highest SCHED_RR priority, 1-99.
    pub max: u8,
    /// How late a timer may fire before the priority goes up.
    pub delay: Duration,
}

impl Node {
    /// The node's first address of a family.
    pub fn address_of(&self, v6: bool) -> Option<IpAddr> {
        self.addresses.iter().map(IpNet::addr).find(|a| a.is_ipv6() == v6)
    }
    /// Role names, for display.
    pub fn role_names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.director {
            v.push("director");
        }
        if self.real_server {
            v.push("real-server");
        }
        v
    }
}

/// Where a password comes from (VRRP PASS, a check's basic authentication).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Secret {
    /// The first line of a file.
    File(PathBuf),
    /// An environment variable.
    Env(String),
}

/// The kind of VRRPv2 authentication (keepalived's `auth_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum VrrpAuth {
    /// The password in the advert (`PASS`).
    Pass,
    /// IPsec AH with HMAC-MD5-96 keyed with the password (`AH`); IPv4 only.
    Ah,
}

/// A VRRP instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VrrpInstance {
    /// Its name.
    pub name: String,
    /// Virtual router id.
    pub vrid: u8,
    /// 2 or 3.
    pub version: u8,
    /// Advert interval.
    pub advert: Duration,
    /// Members by node name.
    pub members: BTreeMap<String, Member>,
    /// Preemption.
    pub preempt: bool,
    /// Delay before preempting after start.
    pub preempt_delay: Duration,
    /// VRRPv2 authentication: its kind and where its password is.
    pub auth: Option<(VrrpAuth, Secret)>,
    /// Unicast peer addresses; `None` for multicast.
    pub unicast_peers: Option<Vec<IpAddr>>,
    /// The VIPs its adverts carry, all of one family (none: a master that holds nothing).
    pub vips: Vec<Vip>,
    /// The VIPs the master holds but its adverts do not carry (keepalived's
    /// `virtual_ipaddress_excluded`), of either family.
    #[serde(default)]
    pub excluded: Vec<Vip>,
    /// The routes its master holds (keepalived's `virtual_routes`).
    #[serde(default)]
    pub routes: Vec<super::net::VrrpRoute>,
    /// The policy routing rules its master holds (keepalived's `virtual_rules`).
    pub rules: Vec<super::net::VrrpRule>,
    /// When its master announces its VIPs (gratuitous ARPs / unsolicited NAs).
    pub garp: crate::vrrp::garp::Timing,
    /// The notify commands of every member (a member's own are in [`Member::notify`]).
    pub notify: Notify,
    /// Longest a notify command may run before it is killed.
    pub notify_timeout: Duration,
    /// Connection sync: the settings every member shares (`None`: no sync).
    pub connection_sync: Option<ConnectionSync>,
    /// Each member goes to FAULT while its own advert interface is down (keepalived's
    /// default; `false`: `dont_track_primary`).
    pub track_own_interface: bool,
    /// Its virtual MAC (keepalived's `use_vmac`): the VIPs go on it.
    #[serde(default)]
    pub vmac: Option<VirtualMac>,
    /// A VMAC on each other interface its VIPs go on, and on the advert interface for the
    /// other family's (keepalived's `use_vmac_addr`); each member's are in
    /// [`Member::vip_vmacs`].
    #[serde(default)]
    pub vip_vmacs: bool,
    /// keepalived's strict mode: a master ignores lower-priority adverts and sends no
    /// lower-priority announcements; the owner (priority 255) ignores every advert.
    #[serde(default)]
    pub strict: bool,
    /// Accept mode as written (`None`: true, false with `strict`); see [`Self::accepts`].
    #[serde(default)]
    pub accept: Option<bool>,
    /// How long after the daemon starts the instance starts.
    #[serde(default)]
    pub startup_delay: Duration,
    /// How long after the system booted, at least, the instance starts.
    #[serde(default)]
    pub startup_delay_after_boot: Duration,
    /// Its effective priority's changes are written to the notify FIFOs too.
    #[serde(default)]
    pub notify_priority_changes: bool,
    /// What a reload that removes it reports.
    #[serde(default)]
    pub removal: Removal,
}

/// What a reload that removes a VRRP instance (or makes it another router) reports to its
/// notify commands and FIFOs (`removal_notify`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Removal {
    /// `notify_stop` and `STOP`, as when the daemon stops.
    #[default]
    Stop,
    /// `FAULT` to `notify` and the FIFOs, no `notify_fault`; nothing when in FAULT
    /// already (keepalived's default).
    Fault,
    /// `DELETED`, and this command first when set (keepalived's `notify_deleted`).
    Deleted(Option<Vec<String>>),
}

/// A VRRP instance's virtual MAC (keepalived's `use_vmac`): a macvlan on each member's
/// advert interface, with the router's VRRP MAC, holding the VIPs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualMac {
    /// Its interface name.
    pub name: String,
    /// Adverts are sent and heard on the base interface rather than on the VMAC
    /// (keepalived's `vmac_xmit_base`).
    pub xmit_base: bool,
    /// Its own MAC rather than the VRRP one (keepalived's `use_vmac MAC`).
    pub mac: Option<crate::model::net::Mac>,
    /// Its interface group (keepalived's `use_vmac group`).
    pub group: Option<u32>,
    /// The parent's group set again after it is made and removed (keepalived's
    /// `use_vmac netlink_notify_msg`).
    pub netlink_notify: bool,
    /// An L2 ipvlan rather than a macvlan (keepalived's `use_ipvlan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipvlan: Option<IpvlanLink>,
}

/// The settings of an instance's ipvlan (keepalived's `use_ipvlan`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpvlanLink {
    /// Its mode flag.
    pub mode: crate::manifest::types::IpvlanMode,
    /// Member -> the address it puts on its ipvlan (its adverts' source).
    pub addresses: BTreeMap<String, IpNet>,
}

/// A VIP of a VRRP instance with its options (keepalived's `dev`, `label`, `brd`, `scope`,
/// `peer`, the address flags, `preferred_lft`, `no_track`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Vip {
    /// The address with its prefix.
    pub net: IpNet,
    /// Its own interface, when not the instance's VIP interface.
    pub interface: Option<String>,
    /// IPv4 label.
    pub label: Option<String>,
    /// IPv4 broadcast address.
    pub broadcast: Option<std::net::Ipv4Addr>,
    /// Scope, when not global.
    pub scope: Option<u8>,
    /// Peer, address flags, preferred lifetime.
    #[serde(default, skip_serializing_if = "crate::model::net::AddrOptions::is_none")]
    pub options: crate::model::net::AddrOptions,
    /// Its interface is not tracked and a master does not add it back when it is removed by
    /// hand (keepalived's `no_track`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_track: bool,
    /// It goes on a VMAC of its interface (keepalived's VIP option `use_vmac`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub vmac: bool,
}

impl Vip {
    /// A VIP with no options.
    pub fn plain(net: IpNet) -> Vip {
        Vip {
            net,
            interface: None,
            label: None,
            broadcast: None,
            scope: None,
            options: crate::model::net::AddrOptions::default(),
            no_track: false,
            vmac: false,
        }
    }

    /// The address without its prefix.
    pub fn addr(&self) -> IpAddr {
        self.net.addr()
    }

    /// The address as a master holds it: on its own interface, else on `vip_interface`.
    pub fn address(&self, vip_interface: &str) -> crate::model::net::Address {
        crate::model::net::Address {
            interface: self.interface.clone().unwrap_or_else(|| vip_interface.to_string()),
            address: self.net,
            label: self.label.clone(),
            broadcast: self.broadcast,
            scope: self.scope,
            local_route: false,
            options: self.options,
        }
    }
}

impl std::fmt::Display for Vip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.net)?;
        if let Some(i) = &self.interface {
            write!(f, " dev {i}")?;
        }
        if let Some(l) = &self.label {
            write!(f, " label {l}")?;
        }
        if let Some(b) = &self.broadcast {
            write!(f, " brd {b}")?;
        }
        if let Some(s) = self.scope {
            write!(f, " scope {}", crate::model::net::scope_name(s))?;
        }
        write!(f, "{}", self.options)?;
        if self.no_track {
            write!(f, " no_track")?;
        }
        if self.vmac {
            write!(f, " use_vmac")?;
        }
        Ok(())
    }
}

/// The sync daemon settings of an instance; each member runs them on the interface named
/// here, else on its advert interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionSync {
    /// Interface for every member, when the manifest names one.
    pub interface: Option<String>,
    /// Sync id.
    pub sync_id: u8,
    /// Largest message payload.
    pub max_len: Option<u16>,
    /// Multicast group.
    pub group: Option<IpAddr>,
    /// UDP port.
    pub port: Option<u16>,
    /// Multicast TTL.
    pub ttl: Option<u8>,
}

impl VrrpInstance {
    /// True for an IPv6 instance (its adverts go over IPv6); an instance without VIPs is IPv4.
    pub fn is_v6(&self) -> bool {
        self.vips.first().is_some_and(|v| v.addr().is_ipv6())
    }

    /// Whether `member`, as master, accepts packets addressed to the VIPs (RFC 5798 accept
    /// mode): always at priority 255 (the address owner), else as written, else unless
    /// strict (keepalived's defaults).
    pub fn accepts(&self, member: &str) -> bool {
        let owner = self.members.get(member).is_some_and(|m| m.priority == 255);
        owner || self.accept.unwrap_or(!self.strict)
    }

    /// Every address the master holds: the advertised VIPs, then the excluded ones.
    pub fn held(&self) -> impl Iterator<Item = &Vip> {
        self.vips.iter().chain(&self.excluded)
    }

    /// The VMAC `member` makes, on its advert interface.
    pub fn vmac_of(&self, member: &str) -> Option<crate::model::net::Vmac> {
        let v = self.vmac.as_ref()?;
        let m = self.members.get(member)?;
        if let Some(ipvlan) = &v.ipvlan {
            return Some(crate::model::net::Vmac::ipvlan(&v.name, &m.interface, ipvlan.mode));
        }
        Some(crate::model::net::Vmac {
            mac: v.mac,
            group: v.group,
            netlink_notify: v.netlink_notify,
            ..crate::model::net::Vmac::vrrp(&v.name, &m.interface, self.vrid, self.is_v6())
        })
    }

    /// The address `member` puts on its ipvlan, on it.
    pub fn ipvlan_address_of(&self, member: &str) -> Option<crate::model::net::Address> {
        let v = self.vmac.as_ref()?;
        let net = *v.ipvlan.as_ref()?.addresses.get(member)?;
        Some(crate::model::net::Address::plain(v.name.clone(), net))
    }

    /// The interface and family of the VMAC that holds `vip` on member `m`, when one of its
    /// own does (keepalived's `use_vmac_addr` and a VIP's `use_vmac`): the interface it
    /// would go on otherwise (the advert interface for a VIP on the instance's VMAC), when
    /// that is not the advert interface or the VIP is of the other family, or the VIP asks.
    /// A VIP of the instance's family on the instance's VMAC stays there.
    pub fn vip_vmac_base(&self, m: &Member, vip: &Vip) -> Option<(String, bool)> {
        let v6 = vip.addr().is_ipv6();
        let same_family = v6 == self.is_v6();
        let on = vip.interface.as_deref().unwrap_or(&m.vip_interface);
        let on_vmac = self.vmac.as_ref().is_some_and(|v| v.name == on);
        if on_vmac && same_family {
            return None;
        }
        let base = if on_vmac { m.interface.as_str() } else { on };
        let elsewhere = base != m.interface || !same_family;
        (vip.vmac || (self.vip_vmacs && elsewhere)).then(|| (base.to_string(), v6))
    }

    /// `vip` as member `m` holds it: on its VMAC ([`Self::vip_vmac_base`]) when one holds it.
    pub fn placed(&self, m: &Member, vip: &Vip) -> Vip {
        let Some((parent, v6)) = self.vip_vmac_base(m, vip) else { return vip.clone() };
        let vmac = m.vip_vmacs.iter().find(|v| v.parent == parent && v.ipv6 == v6);
        Vip { interface: vmac.map(|v| v.name.clone()).or_else(|| vip.interface.clone()), ..vip.clone() }
    }

    /// The notify commands `member` runs: its own, else the instance's.
    pub fn notify_of(&self, member: &str) -> Notify {
        match self.members.get(member) {
            Some(m) => m.notify.over(&self.notify),
            None => self.notify.clone(),
        }
    }

    /// The sync daemon settings `member` runs with, when the instance syncs connections.
    pub fn sync_config(&self, member: &str) -> Option<crate::model::sync::SyncConfig> {
        let cs = self.connection_sync.as_ref()?;
        let m = self.members.get(member)?;
        Some(crate::model::sync::SyncConfig {
            interface: cs.interface.clone().unwrap_or_else(|| m.interface.clone()),
            sync_id: cs.sync_id,
            max_len: cs.max_len,
            group: cs.group,
            port: cs.port,
            ttl: cs.ttl,
        })
    }
}

/// A member of a VRRP instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Priority 1..255.
    pub priority: u8,
    /// Advert interface on this member.
    pub interface: String,
    /// Interface holding the VIPs on this member.
    pub vip_interface: String,
    /// The source of this member's adverts, when not the default.
    #[serde(default)]
    pub source: Option<IpAddr>,
    /// Track script name -> weight and `reverse`: the instance's, with this member's over them.
    pub track_scripts: BTreeMap<String, FileWeight>,
    /// Tracked interface -> weight and `reverse`: the instance's, with this member's over them.
    pub track_interfaces: BTreeMap<String, FileWeight>,
    /// Track file -> weight and `reverse`, the file's where the instance gives none.
    pub track_files: BTreeMap<String, FileWeight>,
    /// Tracked process -> weight and `reverse`, the tracked process's where the instance
    /// gives none.
    pub track_processes: BTreeMap<String, FileWeight>,
    /// This member's own notify commands, each instead of the instance's.
    pub notify: Notify,
    /// The VMACs its VIPs on other interfaces or of the other family go on (keepalived's
    /// `use_vmac_addr` and a VIP's `use_vmac`), named as keepalived names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vip_vmacs: Vec<crate::model::net::Vmac>,
}

/// VRRP instances that change state together on each of their directors (keepalived's
/// `vrrp_sync_group`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncGroup {
    /// Its name.
    pub name: String,
    /// The member instances, in manifest order.
    pub instances: Vec<String>,
    /// Track script name -> weight and `reverse`, added to every member instance.
    pub track_scripts: BTreeMap<String, FileWeight>,
    /// Tracked interface -> weight and `reverse`, added to every member instance.
    pub track_interfaces: BTreeMap<String, FileWeight>,
    /// Track file -> weight and `reverse`, added to every member instance.
    pub track_files: BTreeMap<String, FileWeight>,
    /// Tracked process -> weight and `reverse`, added to every member instance.
    pub track_processes: BTreeMap<String, FileWeight>,
    /// Keep the weights of the members' own tracked objects; otherwise keepalived's rule
    /// applies ([`member_weight_in_group`]).
    pub tracking_weight: bool,
    /// The group's notify commands (`notify` gets `GROUP <name> <STATE> 0`).
    pub notify: Notify,
    /// Longest a group notify command may run.
    pub notify_timeout: Duration,
}

impl Cluster {
    /// The sync group instance `name` is in.
    pub fn sync_group_of(&self, name: &str) -> Option<&SyncGroup> {
        self.sync_groups.values().find(|g| g.instances.iter().any(|i| i == name))
    }
}

/// The commands a VRRP instance runs on its transitions (keepalived's notify scripts), as
/// an instance or one member writes them. Each is an argument list whose program is an
/// absolute path; none goes through a shell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notify {
    /// On becoming master (`notify_master`).
    pub master: Option<Vec<String>>,
    /// On becoming backup (`notify_backup`).
    pub backup: Option<Vec<String>>,
    /// On entering FAULT (`notify_fault`).
    pub fault: Option<Vec<String>>,
    /// When the instance stops (`notify_stop`).
    pub stop: Option<Vec<String>>,
    /// On every transition, after the state's own command, with
    /// `INSTANCE <name> <STATE> <priority>` appended (`notify`).
    pub generic: Option<Vec<String>>,
    /// When a master hears a lower priority, without arguments added
    /// (`notify_master_rx_lower_pri`; an instance's only, never a sync group's).
    pub master_rx_lower_pri: Option<Vec<String>>,
}

impl Notify {
    /// Every command with its manifest key, in the manifest's order.
    pub fn keyed(&self) -> [(&'static str, Option<&Vec<String>>); 6] {
        [
            ("notify_master", self.master.as_ref()),
            ("notify_backup", self.backup.as_ref()),
            ("notify_fault", self.fault.as_ref()),
            ("notify_stop", self.stop.as_ref()),
            ("notify", self.generic.as_ref()),
            ("notify_master_rx_lower_pri", self.master_rx_lower_pri.as_ref()),
        ]
    }

    /// These commands where set, `base`'s elsewhere (a member's over its instance's).
    pub fn over(&self, base: &Notify) -> Notify {
        let pick = |own: &Option<Vec<String>>, theirs: &Option<Vec<String>>| own.clone().or_else(|| theirs.clone());
        Notify {
            master: pick(&self.master, &base.master),
            backup: pick(&self.backup, &base.backup),
            fault: pick(&self.fault, &base.fault),
            stop: pick(&self.stop, &base.stop),
            generic: pick(&self.generic, &base.generic),
            master_rx_lower_pri: pick(&self.master_rx_lower_pri, &base.master_rx_lower_pri),
        }
    }

    /// True when no command is set.
    pub fn is_empty(&self) -> bool {
        self.keyed().iter().all(|(_, c)| c.is_none())
    }
}

/// A track file (keepalived's `track_file`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackFile {
    /// Absolute path.
    pub path: std::path::PathBuf,
    /// Written when tracking starts: the number, and whether over an existing file.
    pub init: Option<(i32, bool)>,
}

/// How an instance uses a tracked object (script, interface, file or process): weight and
/// `reverse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileWeight {
    /// The priority change (a file: multiplies its number).
    pub weight: i32,
    /// Subtract instead of add (weight 0: FAULT while it succeeds; a file: at 0).
    pub reverse: bool,
}

/// What becomes of a member instance's own tracked object in a sync group without
/// `tracking_weight`: keepalived's rule (its `vrrp_complete_instance`), which logs each
/// change at load, as `validate` warns of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InGroup {
    /// Tracked as written: weight 0, or a tracked process (keepalived leaves those alone).
    Kept,
    /// Tracked with weight 0, so its failure puts the group in FAULT: an interface, or a
    /// track file of weight 1 (keepalived's default weight).
    Zeroed,
    /// Not tracked at all: a script, or a track file of another weight.
    Dropped,
}

/// keepalived's rule for a member's own weighted tracked object in a sync group without
/// `sync_group_tracking_weight` (see [`InGroup`]).
pub fn member_weight_in_group(kind: crate::vrrp::track::Kind, w: FileWeight) -> InGroup {
    use crate::vrrp::track::Kind;
    match (kind, w.weight) {
        (_, 0) | (Kind::Process, _) => InGroup::Kept,
        (Kind::Interface, _) | (Kind::File, 1) => InGroup::Zeroed,
        (Kind::Script | Kind::File, _) => InGroup::Dropped,
    }
}

/// A track script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackScript {
    /// Command and arguments.
    pub command: Vec<String>,
    /// Time between runs.
    pub interval: Duration,
    /// Run timeout.
    pub timeout: Duration,
    /// Successes to count as up.
    pub rise: u32,
    /// Failures to count as down.
    pub fall: u32,
    /// Failing until `rise` runs succeed (keepalived's `init_fail`).
    pub init_fail: bool,
}

/// A virtual service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualService {
    /// Its name.
    pub name: String,
    /// IPVS key (of a server group: its first IPVS service).
    pub key: ServiceKey,
    /// A server group's IPVS services, expanded, in manifest order (empty for a service
    /// with one key): each has the service's settings and backends.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group: Vec<ServiceKey>,
    /// VIPs real servers hold and VRRP owns (the VIP itself, or those a mark matches).
    pub vips: Vec<IpAddr>,
    /// Scheduler name.
    pub scheduler: String,
    /// Scheduler flag bits.
    pub sched_flags: u32,
    /// Persistence.
    pub persistence: Option<Persistence>,
    /// One-packet scheduling.
    pub one_packet: bool,
    /// The VRRP instance that owns the VIPs, if any.
    pub vrrp_instance: Option<String>,
    /// `announce: bgp`: every director holds the VIPs and announces them while healthy.
    pub announce_bgp: bool,
    /// Directors that carry the service.
    pub directors: Vec<String>,
    /// NAT gateway for real servers' default route.
    pub nat_gateway: Option<IpAddr>,
    /// Real servers.
    pub backends: Vec<Backend>,
    /// Sorry server.
    pub sorry: Option<SorryServer>,
    /// Minimum live weight.
    pub quorum: u32,
    /// Quorum hysteresis.
    pub hysteresis: u32,
    /// A recovered backend's weight ramps up over this long (zero: at once).
    pub slow_start: Duration,
    /// Runs when a backend comes up.
    pub notify_up: Option<Vec<String>>,
    /// Runs when a backend goes down.
    pub notify_down: Option<Vec<String>>,
    /// Runs when the service regains quorum.
    pub quorum_up: Option<Vec<String>>,
    /// Runs when the service loses quorum.
    pub quorum_down: Option<Vec<String>>,
}

impl VirtualService {
    /// Every IPVS service of this service: its key, or each of its group's.
    pub fn keys(&self) -> &[ServiceKey] {
        if self.group.is_empty() { std::slice::from_ref(&self.key) } else { &self.group }
    }

    /// The port of `be`'s destination in the IPVS service `key` (one of [`Self::keys`]).
    pub fn dest_port(&self, key: &ServiceKey, be: &Backend) -> u16 {
        if !be.port_follows {
            return be.port;
        }
        key.vip_port().map_or(0, |(_, port)| port)
    }
}

/// A real server of a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backend {
    /// Backend name (a node name or a label).
    pub name: String,
    /// The manifest node, if it is one.
    pub node: Option<String>,
    /// Address.
    pub address: IpAddr,
    /// Port.
    pub port: u16,
    /// Weight.
    pub weight: u32,
    /// Forwarding method.
    pub forwarding: Forwarding,
    /// Health checks; the backend is up only when all pass (none: always up).
    pub checks: Vec<Check>,
    /// Kept at weight 0 when it fails, instead of removed.
    pub inhibit_on_failure: bool,
    /// In a server group, the destination's port is each IPVS service's own (its virtual
    /// port; 0 under a mark), as a DR real server or one given no port takes it; `port` is
    /// then only what checks and hooks see.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub port_follows: bool,
}

/// The sorry server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SorryServer {
    /// Address.
    pub address: IpAddr,
    /// Port.
    pub port: u16,
    /// Forwarding method.
    pub forwarding: Forwarding,
}

/// Kind of health check.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CheckKind {
    /// TCP connect, then what is sent and expected (keepalived `TCP_CHECK`).
    Tcp(TcpCheck),
    /// An HTTP request, over TLS when `tls` is set (keepalived `HTTP_GET`, `SSL_GET`).
    Http {
        /// The request and what the answer must be (boxed: the largest kind by far).
        http: Box<HttpCheck>,
        /// TLS settings for https.
        tls: Option<TlsCheck>,
    },
    /// A command (keepalived `MISC_CHECK`).
    Script {
        /// Command and arguments with `{address}` / `{port}` placeholders.
        command: Vec<String>,
        /// keepalived's `misc_dynamic`: exit 2..255 is up with weight = code - 2.
        dynamic: bool,
        /// The user it runs as.
        user: String,
    },
    /// A DNS query over UDP (keepalived `DNS_CHECK`).
    Dns {
        /// The name queried, with its trailing dot.
        name: String,
        /// The record type, as its number (SOA = 6).
        qtype: u16,
    },
    /// A UDP datagram (keepalived `UDP_CHECK`).
    Udp(UdpCheck),
    /// An ICMP or ICMPv6 echo (keepalived `PING_CHECK`).
    Ping,
    /// No check.
    None,
}

/// A UDP check's datagram and what a reply must be.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UdpCheck {
    /// The datagram sent; `None`: 8 random bytes per probe.
    pub payload: Option<Vec<u8>>,
    /// A reply is needed to pass.
    pub require_reply: bool,
    /// What the reply must match over the shorter of the two: (value, mask) per byte.
    pub expect: Vec<(u8, u8)>,
    /// Reply length bounds, inclusive, when a reply is required.
    pub reply_length: (u16, u16),
}

/// A TCP check's exchange: nothing (a connect alone), or bytes sent and a reply expected.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TcpCheck {
    /// Sent once connected.
    pub send: Option<Vec<u8>>,
    /// A regular expression the first reply bytes must match.
    pub expect: Option<String>,
}

/// An HTTP(S) check's request and expectations.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HttpCheck {
    /// Request method (`GET`, `HEAD`, `POST`, ...).
    pub method: String,
    /// Path.
    pub path: String,
    /// Host header and TLS server name; `None`: `address:port`.
    pub host: Option<String>,
    /// Further request headers, in the manifest's (sorted) order.
    pub headers: Vec<(String, String)>,
    /// Request body, sent with its `Content-Length`.
    pub body: Option<String>,
    /// Basic authentication: the user and where the password is.
    pub auth: Option<(String, Secret)>,
    /// Accepted status ranges, inclusive (default 200-299).
    pub expect_status: Vec<(u16, u16)>,
    /// MD5 of the body, lower-case hex.
    pub digest: Option<String>,
    /// A regular expression the body must match.
    pub body_regex: Option<String>,
}

/// How an https check treats the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TlsCheck {
    /// Verify the certificate chain and name.
    pub verify: bool,
    /// The CAs to verify against instead of the system's.
    pub ca_file: Option<std::path::PathBuf>,
}

impl CheckKind {
    /// The kind's name as the manifest writes it: `tcp`, `http`, `https`, `script`, `dns`,
    /// `udp`, `ping`, `none`.
    pub fn name(&self) -> &'static str {
        match self {
            CheckKind::Tcp(_) => "tcp",
            CheckKind::Http { tls: None, .. } => "http",
            CheckKind::Http { tls: Some(_), .. } => "https",
            CheckKind::Script { .. } => "script",
            CheckKind::Dns { .. } => "dns",
            CheckKind::Udp(_) => "udp",
            CheckKind::Ping => "ping",
            CheckKind::None => "none",
        }
    }
}

/// A resolved health check.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Check {
    /// What to do.
    pub kind: CheckKind,
    /// Port probed.
    pub port: u16,
    /// Time between checks.
    pub interval: Duration,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Extra attempts.
    pub retries: u32,
    /// Pause between attempts.
    pub retry_delay: Duration,
    /// Successes to mark up.
    pub rise: u32,
    /// Failures to mark down.
    pub fall: u32,
    /// The probe goes to the VIP through IPVS to this backend (`via: ipvs`).
    pub via_ipvs: bool,
}
