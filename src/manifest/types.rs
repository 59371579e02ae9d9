//! The manifest file format, v1: serde types that mirror the YAML file one to one.
//!
//! Nothing here interprets values: addresses, durations and sysctl names stay the strings the
//! user wrote, so that `model::validate` can report every problem at once with its key path.
//! The JSON Schema in `schemas/lbconverge.schema.json` is generated from these types.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::family::Family;

/// A whole cluster: nodes, VRRP instances and virtual services.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "lbconverge manifest v1")]
pub struct Manifest {
    /// Manifest format version; must be 1.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// Name of the cluster, shown in plans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Values inherited by every service, backend and health check.
    #[serde(default)]
    pub defaults: Defaults,
    /// Every machine of the cluster, by name.
    pub nodes: BTreeMap<String, Node>,
    /// Sysctl overrides for every node of a role.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub role_sysctls: BTreeMap<Role, BTreeMap<String, Scalar>>,
    /// Checks that VRRP instances track (keepalived's `vrrp_script`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub track_scripts: BTreeMap<String, TrackScript>,
    /// Files holding a number that VRRP instances track (keepalived's `track_file`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub track_files: BTreeMap<String, TrackFile>,
    /// Processes that VRRP instances track by their number (keepalived's
    /// `vrrp_track_process`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub track_processes: BTreeMap<String, TrackProcess>,
    /// VRRP instances, by name (keepalived's `vrrp_instance`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vrrp: BTreeMap<String, VrrpInstance>,
    /// Sync groups, by name (keepalived's `vrrp_sync_group`): VRRP instances that change
    /// state together on each director.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sync_groups: BTreeMap<String, SyncGroup>,
    /// Virtual services, by name (keepalived's `virtual_server`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, Service>,
    /// Where the routes of `announce: bgp` services go, for the routing daemon to announce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<Routing>,
    /// Mail and webhooks sent by `run` on VRRP transitions, backends going up or down and
    /// services losing or regaining quorum (keepalived's `notification_email`,
    /// `smtp_server` and `smtp_alert`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Alerts>,
    /// Named pipes `run` writes its events to, one line each, as keepalived writes them
    /// (keepalived's `notify_fifo`, `vrrp_notify_fifo` and `lvs_notify_fifo`). VRRP events:
    /// `INSTANCE "VI_1" MASTER 150`, `GROUP "G1" BACKUP 0`, `INSTANCE "VI_1"
    /// MASTER_RX_LOWER_PRI 150` when a master hears a lower priority, and `MASTER_PRIORITY`
    /// / `BACKUP_PRIORITY` lines on priority changes of instances with
    /// `notify_priority_changes`. Health-check events (`events: [lvs]`): `RS
    /// [10.0.0.21]:tcp:80 [10.0.0.100]:tcp:80 DOWN` when a backend goes down or up, `VS
    /// [10.0.0.100]:tcp:80 UP` when a service gains or loses quorum. Writes never wait: a
    /// FIFO nobody reads, or a reader that falls behind, loses lines (logged), never a
    /// failover or a health check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify_fifos: Vec<NotifyFifo>,
}

/// A named pipe the daemon writes its VRRP events to, and the command that reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyFifo {
    /// Absolute path of the FIFO. The daemon creates it (mode 0644) when it is missing and
    /// removes it when it stops; an existing one must be a FIFO owned by root, and is left
    /// in place.
    pub path: String,
    /// Started when the daemon starts (or a reload adds the FIFO), with the FIFO's path
    /// appended as its last argument, and stopped (SIGTERM, then SIGKILL, with its process
    /// group) when the daemon stops (keepalived's `notify_fifo_script`): an argument list,
    /// the program an absolute path; no shell. It is not restarted if it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// The events written to it: `vrrp` (the VRRP instances' and sync groups' lines,
    /// keepalived's `vrrp_notify_fifo`), `lvs` (the health checks' `VS` and `RS` lines,
    /// keepalived's `lvs_notify_fifo`), or both (keepalived's `notify_fifo`). Default
    /// `[vrrp]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<FifoEvent>>,
    /// On a reload (SIGHUP, or a manifest change `run` notices), write every VRRP
    /// instance's and sync group's current state line to this FIFO, as if it had just
    /// been entered (keepalived's `fifo_write_vrrp_states_on_reload`); needs `vrrp` in
    /// `events`. Default false: only changes are written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub states_on_reload: Option<bool>,
}

/// The events a notify FIFO takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FifoEvent {
    /// The VRRP instances' and sync groups' state changes and priority events.
    Vrrp,
    /// The health checks' events: a backend going up or down (`RS` lines), a service
    /// gaining or losing quorum (`VS` lines).
    Lvs,
}

/// Where `run` sends alerts, and which. A task of its own sends them: a slow or dead
/// destination never holds VRRP or the checks back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alerts {
    /// Mail over SMTP (keepalived's `notification_email`, `smtp_server`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<MailAlerts>,
    /// HTTP POSTs, one per alert and webhook.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<Webhook>,
    /// The kinds of events that alert (default all three): `vrrp` (instance transitions;
    /// keepalived's `smtp_alert_vrrp`), `backend` (a backend up or down) and `quorum` (a
    /// service losing or regaining quorum; both keepalived's `smtp_alert_checker`). A VRRP
    /// instance's or a service's own `alert` wins over it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<AlertEvent>>,
    /// Attempts after the first that fail, per alert and destination (default 3, at most 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10))]
    pub retries: Option<u32>,
    /// Wait before the first retry, doubled before each next one up to 60s (default 1s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_delay: Option<Duration>,
    /// Alerts waiting per destination at most; beyond, the oldest is dropped and counted
    /// (default 100, 1..10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub queue: Option<u32>,
}

/// A kind of event that alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertEvent {
    /// A VRRP instance changed state.
    Vrrp,
    /// A backend went up or down.
    Backend,
    /// A service lost or regained quorum.
    Quorum,
}

/// Mail over SMTP: one message per alert to every recipient, without authentication or
/// TLS (as keepalived sends it), to a relay that accepts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MailAlerts {
    /// Sender address, `user@domain` (keepalived's `notification_email_from`).
    pub from: String,
    /// Recipient addresses, at least one (keepalived's `notification_email`).
    pub to: Vec<String>,
    /// The SMTP relay: `host`, `host:port`, `address`, `address:port` or `[IPv6]:port`
    /// (default port 25; keepalived's `smtp_server`).
    pub smtp_server: String,
    /// The name given in EHLO / HELO (default: the node's name; keepalived's
    /// `smtp_helo_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helo_name: Option<String>,
    /// Longest wait for the connection (default 30s; keepalived's `smtp_connect_timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Duration>,
    /// Longest wait for each reply of the server (default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

/// A webhook: each alert is POSTed as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// `http://host[:port]/path` or `https://...` (the server's certificate is verified
    /// against the system's CAs, or `ca_file`).
    pub url: String,
    /// The body: `json` (lbconverge's own object, the default), `alertmanager`
    /// (Alertmanager's `POST /api/v2/alerts` list) or `slack` (an incoming webhook's `text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<WebhookFormat>,
    /// Extra request headers (`Authorization: Bearer ...`); not `Host`, `Content-Length`,
    /// `Content-Type`, `Connection` nor `Transfer-Encoding`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Longest a POST may take, connection included (default 10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// CA certificates (PEM) to verify an `https` server against instead of the system's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
}

/// The body a webhook receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// lbconverge's own JSON object.
    Json,
    /// A list of one Alertmanager alert.
    Alertmanager,
    /// A Slack incoming webhook message.
    Slack,
}

/// The kernel routing table a routing daemon (BIRD, FRR) reads the VIP routes from.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    /// Kernel routing table, 1..4294967295 except main (254), local (255) and default (253)
    /// (default 250).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 4294967295u32))]
    pub table: Option<u64>,
    /// On a graceful stop, `run` withdraws the routes first and waits this long for the
    /// routers to move the traffic away before it stops anything else (default 5s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain_time: Option<Duration>,
    /// The BGP side the routing daemon needs (`show --routing` prints it into BIRD's and
    /// FRR's configuration; without it the printed configuration has placeholders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bgp: Option<Bgp>,
    /// BFD on every BGP session, so a router drops a dead director's next hop within
    /// `interval` x `multiplier` instead of the BGP hold time (default on: 100ms x 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd: Option<Bfd>,
}

/// The directors' BGP sessions with the routers.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bgp {
    /// The directors' AS number, 1..4294967295.
    #[schemars(range(min = 1, max = 4294967295u32))]
    pub local_as: u64,
    /// The routers every director announcing a VIP opens a session with.
    pub peers: Vec<BgpPeer>,
}

/// One router.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BgpPeer {
    /// Its address on the directors' network.
    pub address: String,
    /// Its AS number, 1..4294967295 (the directors' own for iBGP).
    #[serde(rename = "as")]
    #[schemars(range(min = 1, max = 4294967295u32))]
    pub asn: u64,
}

/// Bidirectional forwarding detection (RFC 5880) on the BGP sessions.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bfd {
    /// false turns BFD off: a dead director is then dropped after the BGP hold time (9s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Transmit and receive interval, 10ms..60s in whole milliseconds (default 100ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Packets missed before the session is down, 2..255 (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 255))]
    pub multiplier: Option<u32>,
}

/// What a reload that removes a VRRP instance reports (`vrrp.X.removal_notify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RemovalNotify {
    /// `notify_stop` and `STOP`, as when the daemon stops.
    Stop,
    /// `FAULT` to `notify` and the FIFOs (no `notify_fault`), nothing when the instance is
    /// in FAULT already (keepalived's default).
    Fault,
    /// `notify_deleted` and `DELETED` (keepalived's `notify_deleted`).
    Deleted,
}

/// How a service's VIP reaches the clients' routers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Announce {
    /// Held by one director at a time through VRRP (or statically on its directors).
    Vrrp,
    /// Held by every director in `directors` at once; each announces a host route over BGP
    /// (through the routing daemon) while it is healthy for the service.
    Bgp,
}

impl Manifest {
    /// A manifest with nothing in it (a placeholder while a file is being checked).
    pub fn empty() -> Self {
        Manifest {
            version: 1,
            cluster: None,
            defaults: Defaults::default(),
            nodes: BTreeMap::new(),
            role_sysctls: BTreeMap::new(),
            track_scripts: BTreeMap::new(),
            track_files: BTreeMap::new(),
            track_processes: BTreeMap::new(),
            vrrp: BTreeMap::new(),
            sync_groups: BTreeMap::new(),
            services: BTreeMap::new(),
            routing: None,
            alerts: None,
            notify_fifos: Vec::new(),
        }
    }
}

/// What a node does in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Runs IPVS (and VRRP) and forwards client traffic to real servers.
    Director,
    /// Serves the traffic a director forwards to it.
    RealServer,
}

/// One machine.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// `director`, `real-server`, or both.
    #[schemars(length(min = 1))]
    pub roles: Vec<Role>,
    /// The node's own addresses with their prefix length, e.g. `172.16.40.11/24`.
    #[schemars(length(min = 1))]
    pub addresses: Vec<String>,
    /// The interface that faces clients (and the other directors).
    pub interface: String,
    /// Label of the loopback alias that holds DR VIPs on a real server (default `lo:0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip_label: Option<String>,
    /// Sysctl overrides for this node; they win over role overrides and computed values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, Scalar>,
    /// This director's IPVS connection timeouts, over `defaults.ipvs_timeouts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipvs_timeouts: Option<IpvsTimeouts>,
    /// The named network namespace (`/run/netns/NAME`, as `ip netns add` makes it) this
    /// node's kernel objects live in (keepalived's `net_namespace`): `run`, `apply`, `plan`
    /// and `check` with `--node` of this node enter it before they touch the kernel, so its
    /// interfaces, VIPs, IPVS tables, sysctls, VRRP sockets, health checks and commands are
    /// all the namespace's. Entered at start: a change takes effect at the next restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_namespace: Option<String>,
    /// Realtime scheduling on demand for this director's VRRP threads (keepalived's
    /// `max_auto_priority` and `min_auto_priority_delay`): a thread whose VRRP timer fires
    /// more than `delay` late switches itself to SCHED_RR at priority 1, and one higher at
    /// each further late timer, up to `max_priority`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_realtime: Option<AutoRealtime>,
    /// Interfaces of this director's VRRP instances may be missing (keepalived's
    /// `dynamic_interfaces`): an instance whose interface, VMAC parent or VIP interface does
    /// not exist starts in FAULT instead of stopping the start (and `plan` does not refuse
    /// it), and binds by name once the interface appears. Without it such an interface must
    /// exist at start; either way an interface deleted while the daemon runs puts its
    /// instances in FAULT until it is back (default false).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dynamic_interfaces: bool,
}

/// `nodes.N.auto_realtime`: when and how far a VRRP thread raises its own priority.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoRealtime {
    /// The highest SCHED_RR priority a thread goes to, 1-99 (default 99).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 99))]
    pub max_priority: Option<u8>,
    /// How late a timer may fire before the priority goes up, above 0 up to 10s (default 1s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
}

/// A scalar as written: an integer or a string (sysctl values, netmasks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Scalar {
    /// An integer value such as `1`.
    Int(i64),
    /// Any other value, as the kernel prints it.
    Text(String),
}

impl Scalar {
    /// The value as /proc/sys prints it.
    pub fn render(&self) -> String {
        match self {
            Scalar::Int(i) => i.to_string(),
            Scalar::Text(s) => s.trim().to_string(),
        }
    }
}

/// A duration: `6s`, `500ms`, `1.5s`, `2m`, `1h`, or a number of seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Duration {
    /// A number of seconds.
    Seconds(f64),
    /// A number with a unit.
    Text(String),
}

impl JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A duration such as 6s, 500ms, 1.5s, 2m or a number of seconds.",
            "type": ["string", "number"]
        })
    }
}

/// Values inherited by services, backends and checks.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Default scheduler (default `wlc`, as ipvsadm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<Scheduler>,
    /// Default forwarding method (default `dr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarding: Option<Forwarding>,
    /// Default protocol (default `tcp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// Default backend weight (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub weight: Option<u32>,
    /// Default persistence for services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<Persistence>,
    /// Default health check settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<Box<HealthCheck>>,
    /// Default for `inhibit_on_failure` (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inhibit_on_failure: Option<bool>,
    /// Size of the kernel's `mh` lookup table (CONFIG_IP_VS_MH_TAB_INDEX; default 4093).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mh_table_size: Option<u32>,
    /// IPVS connection timeouts of every director (`ipvsadm --set`, keepalived's
    /// `lvs_timeouts`); a director's own `ipvs_timeouts` win, timeout by timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipvs_timeouts: Option<IpvsTimeouts>,
}

/// How long a director's kernel keeps an idle IPVS connection entry (`ipvsadm --set TCP
/// TCPFIN UDP`). Whole seconds up to 2147483s (24 days); `0` or an absent timeout leaves the
/// kernel's value. A timeout no longer declared goes back to the value lbconverge found
/// before it first set it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IpvsTimeouts {
    /// Idle established TCP connections (the kernel's default 15m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<Duration>,
    /// TCP connections after the client's FIN (default 2m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_fin: Option<Duration>,
    /// UDP flows: how long a client keeps its real server after its last datagram
    /// (default 5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp: Option<Duration>,
}

/// IPVS scheduler names, as `ipvsadm -s` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    /// Round robin: each server in turn.
    Rr,
    /// Weighted round robin: each server in turn, in proportion to its weight.
    Wrr,
    /// Least connection: the server with the fewest active connections.
    Lc,
    /// Weighted least connection: the fewest active connections relative to weight.
    Wlc,
    /// Locality-based least connection: one server per destination address while not overloaded.
    Lblc,
    /// Locality-based least connection with replication: the least loaded of a set per destination.
    Lblcr,
    /// Destination hashing: a static hash of the destination address picks the server.
    Dh,
    /// Source hashing: a static hash of the source address picks the server.
    Sh,
    /// Shortest expected delay: the smallest (active connections + 1) / weight.
    Sed,
    /// Never queue: an idle server if there is one, else as `sed`.
    Nq,
    /// Maglev hashing: a consistent hash of the source address; few moves when servers change.
    Mh,
    /// Weighted failover: the available server with the highest weight.
    Fo,
    /// Weighted overflow: the highest-weight server until its active connections exceed its weight.
    Ovf,
}

/// Scheduler flags (`ipvsadm -b`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SchedulerFlag {
    /// `sh`: pick another server when the hashed one is unavailable.
    ShFallback,
    /// `sh`: hash the source port too.
    ShPort,
    /// `mh`: pick another server when the hashed one is unavailable.
    MhFallback,
    /// `mh`: hash the source port too.
    MhPort,
}

/// How a director forwards packets to a real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Forwarding {
    /// Direct routing (`-g`, keepalived `DR`).
    Dr,
    /// Masquerading (`-m`, keepalived `NAT`).
    Nat,
    /// IP-in-IP tunnelling (`-i`, keepalived `TUN`).
    Tun,
}

/// Transport protocol of a virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP (`ipvsadm -t`).
    Tcp,
    /// UDP (`ipvsadm -u`).
    Udp,
    /// SCTP (`ipvsadm --sctp-service`).
    Sctp,
}

/// Client persistence (`ipvsadm -p` and `-M`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Persistence {
    /// How long a client sticks to its real server.
    pub timeout: Duration,
    /// Clients in one network of this mask stick together: `255.255.255.0` or a prefix length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granularity: Option<Scalar>,
}

/// A virtual service: VIP + port + protocol, or a firewall mark.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// The virtual IP address clients connect to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip: Option<String>,
    /// The virtual port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u32>,
    /// `tcp` (default), `udp` or `sctp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// A firewall mark instead of VIP + port + protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 4294967295u32))]
    pub fwmark: Option<u64>,
    /// A server group instead of `vip`, `port` and `fwmark` (keepalived's
    /// `virtual_server_group`): every VIP and port it lists, ranges expanded, and every
    /// mark is an IPVS service of its own, with this service's settings and backends. Each
    /// backend is checked once, and its health applies to all of them. At most 1024 IPVS
    /// services per group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub group: Option<Vec<GroupEntry>>,
    /// Address family of a firewall-mark service (default from `vips`, else ipv4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
    /// The VIPs a firewall mark matches: real servers hold them, VRRP ownership follows them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vips: Vec<String>,
    /// Firewall-mark services: the traffic that gets this service's mark, as rules
    /// lbconverge keeps in its nftables table (`table inet lbconverge`). A packet takes the
    /// mark of the first rule it matches, across every service of the director: rules with
    /// a lower `order` first; among equal `order`, a rule whose traffic lies inside another's
    /// goes before it (specific before general); rules of two marks that overlap otherwise
    /// must be told apart with `order` or `not`.
    #[serde(rename = "match", default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<Vec<MatchRule>>,
    /// Scheduler (default from `defaults`, else `wlc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<Scheduler>,
    /// Scheduler flags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scheduler_flags: Vec<SchedulerFlag>,
    /// Forwarding method for every backend (default from `defaults`, else `dr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarding: Option<Forwarding>,
    /// Client persistence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<Persistence>,
    /// One-packet scheduling (`ipvsadm -o`, keepalived `ops`), for UDP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_packet: Option<bool>,
    /// Directors that carry this service when no VRRP instance owns its VIP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directors: Option<Vec<String>>,
    /// `vrrp` (default): one director holds the VIP at a time. `bgp`: every director in
    /// `directors` holds it and announces it over BGP while healthy (ECMP across them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announce: Option<Announce>,
    /// For NAT: the address real servers route their replies through (their default route).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat_gateway: Option<String>,
    /// Health check settings for every backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<Box<HealthCheck>>,
    /// Several checks per backend, each over `health_check`; a backend is up only when all
    /// of them pass (keepalived's several checkers per real server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_checks: Option<Vec<HealthCheck>>,
    /// A recovered backend's weight ramps up over this long (HAProxy's `slowstart`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_start: Option<Duration>,
    /// Runs when a backend comes up: `{service}`, `{backend}`, `{address}`, `{port}` are
    /// substituted (keepalived `notify_up`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_up: Option<Vec<String>>,
    /// Runs when a backend goes down (keepalived `notify_down`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_down: Option<Vec<String>>,
    /// Runs when the service regains quorum: `{service}`, `{weight}` substituted
    /// (keepalived `quorum_up`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum_up: Option<Vec<String>>,
    /// Runs when the service loses quorum (keepalived `quorum_down`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum_down: Option<Vec<String>>,
    /// Keep a failed backend with weight 0 instead of removing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inhibit_on_failure: Option<bool>,
    /// Where traffic goes when the live backends' weight falls below `quorum`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sorry_server: Option<SorryServer>,
    /// Minimum total weight of live backends (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub quorum: Option<u32>,
    /// Quorum hysteresis (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hysteresis: Option<u32>,
    /// Alert on this service's backends and quorum whatever `alerts.events` says (keepalived's
    /// `smtp_alert` in a `virtual_server`); `false`: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<bool>,
    /// Real servers, by name: a manifest node or a bare address.
    #[serde(default)]
    pub backends: BTreeMap<String, Backend>,
}

/// A member of a server group: VIPs with ports, or a firewall mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupEntry {
    /// A VIP or a range of VIPs: `10.0.0.1`, `10.0.0.1-10` (the last octet, keepalived's
    /// form), `10.0.0.250-10.0.1.5`, `10.0.0.8/29`, `2001:db8::1`, `2001:db8::1-f` (the
    /// last group, in hex). Needs `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip: Option<String>,
    /// The virtual port, or a range `"8000-8009"`: every VIP of the entry on each port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<PortSpec>,
    /// A firewall mark instead of `vip` and `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 4294967295u32))]
    pub fwmark: Option<u64>,
    /// Address family of the mark (default: the family of the group's VIPs, else ipv4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
}

/// One classification rule of a firewall-mark service: every condition given must hold
/// (a packet must have one of the listed values of each field), and none of those under
/// `not`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchRule {
    /// Destination addresses, networks or ranges: `192.168.10.100`, `192.168.10.0/28`,
    /// `10.0.0.1-10.0.0.9` (default: the service's `vips`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub destination: Option<Vec<String>>,
    /// Destination ports and ranges: `443`, `"8000-8099"`; they need `protocol`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub ports: Option<Vec<PortSpec>>,
    /// `tcp`, `udp` or `sctp` (default: any protocol).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// Source addresses, networks or ranges: `192.168.0.0/16` (default: any source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub source: Option<Vec<String>>,
    /// Conditions that must not hold: a packet with any value listed here is not matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<MatchNot>,
    /// Where the rule goes among all rules: lower first (default 0). Needed only when two
    /// rules of different marks overlap and neither contains the other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -1000000, max = 1000000))]
    pub order: Option<i32>,
}

/// The negated conditions of a `match` rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchNot {
    /// Destination addresses, networks or ranges the packet must not have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub destination: Option<Vec<String>>,
    /// Destination ports and ranges the packet must not have (the rule needs `protocol`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub ports: Option<Vec<PortSpec>>,
    /// A protocol the packet must not have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// Source addresses, networks or ranges the packet must not come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub source: Option<Vec<String>>,
}

/// A destination port (`443`) or an inclusive range (`"8000-8099"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PortSpec {
    /// One port.
    Port(#[schemars(range(min = 1, max = 65535))] u32),
    /// A range, `"FROM-TO"`.
    Range(String),
}

/// A real server behind a service.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    /// Address, when the backend is not a manifest node (its name is then only a label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Port (default: the service's port; 0 for firewall-mark services).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub port: Option<u32>,
    /// Weight 0..65535 (default from `defaults`, else 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub weight: Option<u32>,
    /// Forwarding method for this backend only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarding: Option<Forwarding>,
    /// Health check overrides for this backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<Box<HealthCheck>>,
    /// This backend's own list of checks, instead of the service's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_checks: Option<Vec<HealthCheck>>,
    /// Keep this backend at weight 0 when it fails, instead of removing it (default: the
    /// service's setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inhibit_on_failure: Option<bool>,
}

/// The server used while a service is below quorum.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SorryServer {
    /// Its address.
    pub address: String,
    /// Its port (default: the service's port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub port: Option<u32>,
    /// Its forwarding method (default: the service's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarding: Option<Forwarding>,
}

/// Kind of health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckType {
    /// TCP connect (keepalived `TCP_CHECK`); with `send` and `expect`, a short exchange.
    Tcp,
    /// An HTTP request, GET by default (keepalived `HTTP_GET`).
    Http,
    /// An HTTPS request, GET by default (keepalived `SSL_GET`).
    Https,
    /// A command; exit 0 means up (keepalived `MISC_CHECK`).
    Script,
    /// A DNS query over UDP; up when the answer has QR set and RCODE 0 (keepalived `DNS_CHECK`).
    Dns,
    /// A UDP datagram (`payload`); down on an ICMP error (port, host or network
    /// unreachable), and without a fitting reply when `require_reply` or `expect_reply` is set
    /// (keepalived `UDP_CHECK`).
    Udp,
    /// An ICMP or ICMPv6 echo request; up on the echo reply (keepalived `PING_CHECK`).
    Ping,
    /// No check: the backend is always up.
    None,
}

/// Which path a check's probe takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// To the backend's own address.
    Direct,
    /// To the VIP, through the director's IPVS, to this backend only (DR and TUN).
    Ipvs,
}

/// An accepted HTTP status: a code (`200`) or an inclusive range (`"200-399"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum StatusSpec {
    /// One code.
    Code(u16),
    /// A range, `"FROM-TO"`.
    Range(String),
}

/// Health check settings; every field is inherited from the level above when absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    /// `tcp`, `http`, `https`, `script`, `dns`, `udp`, `ping` or `none`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<CheckType>,
    /// Time between checks (keepalived `delay_loop`; default 6s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Connect/response timeout (keepalived `connect_timeout`; default 3s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Extra attempts before a check counts as failed (keepalived `retry`; default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Pause between attempts (keepalived `delay_before_retry`; default 1s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_delay: Option<Duration>,
    /// Successful checks needed to mark a backend up (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub rise: Option<u32>,
    /// Failed checks needed to mark a backend down (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub fall: Option<u32>,
    /// Port to probe (default: the backend's port; keepalived `connect_port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u32>,
    /// HTTP(S) path (default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// HTTP(S) Host header and TLS SNI name (keepalived `virtualhost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// HTTP(S) request method (default `GET`): an HTTP token such as `HEAD`, `POST`,
    /// `OPTIONS`; a `HEAD` answer is judged on its head alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// HTTP(S) request headers, name to value (a whole map: it replaces the level above's).
    /// `Host` is `host`, `Content-Length` and `Transfer-Encoding` follow `body`,
    /// `Connection` is always `close`, `Authorization` comes from `auth` when it is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// HTTP(S) request body, sent with its `Content-Length` (not with GET, HEAD or TRACE;
    /// at most 64 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// HTTP(S) basic authentication; the password is never written in the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<CheckAuth>,
    /// Accepted HTTP status codes and ranges, `[200, "300-399"]` (default 200-299).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<Vec<StatusSpec>>,
    /// MD5 hex digest the body must have (keepalived `digest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// A regular expression the body must match (keepalived `regex`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_regex: Option<String>,
    /// Verify the https server's certificate against the system's CAs, or `ca_file`
    /// (default true; keepalived never verifies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_verify: Option<bool>,
    /// PEM file of the CA certificates that sign the backends' https certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// Script check command and arguments; `{address}` and `{port}` are substituted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Script checks: exit 2..255 means up with weight = code - 2 (keepalived `misc_dynamic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<bool>,
    /// Script checks run as this user (default `nobody`; keepalived `script_user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// DNS checks: the name to query (default `.`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_name: Option<String>,
    /// DNS checks: the record type to query (default `SOA`): A, AAAA, NS, SOA, MX, TXT, SRV, PTR, CNAME.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_type: Option<String>,
    /// UDP checks: the datagram sent, in hex (`"0a 1b2c"`, as keepalived's `payload`: pairs
    /// of digits, a group's odd last digit is its own byte; default: 8 random bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// UDP checks: a reply is needed to pass (default false: passing means no ICMP error
    /// within the timeout; keepalived `require_reply`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_reply: Option<bool>,
    /// UDP checks: the reply must match these hex bytes over the shorter of the two (`x` is a
    /// digit that matches any; keepalived `require_reply HEX`). Implies `require_reply`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_reply: Option<String>,
    /// UDP checks: the shortest reply that passes, in bytes (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65507))]
    pub min_reply_length: Option<u32>,
    /// UDP checks: the longest reply that passes, in bytes (default 255, as keepalived).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65507))]
    pub max_reply_length: Option<u32>,
    /// TCP checks: text sent once connected (YAML escapes such as `"PING\r\n"`; at most
    /// 64 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send: Option<String>,
    /// TCP checks: bytes sent once connected, in hex as `payload` (instead of `send`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_hex: Option<String>,
    /// TCP checks: a regular expression the server's first reply bytes (up to 4 KiB, read
    /// within `timeout`) must match; the check fails on a reply that does not, on a close
    /// and on silence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    /// `direct` (default), or `ipvs`: the probe goes to the VIP through the director's
    /// IPVS to this backend alone (a per-backend firewall-mark service), so a DR or TUN real
    /// server that lost its VIP or ARP settings fails even though its own address answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
}

/// HTTP basic authentication of a check (RFC 7617): a user, and the password from a file
/// or an environment variable, never from the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckAuth {
    /// The user name (no `:`, no control characters).
    pub user: String,
    /// File holding the password (its first line); must not be readable by others. Read
    /// at every probe, so a changed password is used without a reload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
    /// Environment variable of the daemon holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
}

/// A check that VRRP instances track (keepalived's `vrrp_script`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackScript {
    /// Command and arguments; exit 0 means healthy.
    #[schemars(length(min = 1))]
    pub command: Vec<String>,
    /// Time between runs (default 2s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Time after which a run counts as failed (default: the interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Successes needed to count as healthy (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub rise: Option<u32>,
    /// Failures needed to count as failed (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub fall: Option<u32>,
    /// Start failing until `rise` runs succeed, instead of succeeding until `fall` runs fail
    /// (keepalived's `init_fail`; default false). A weight-0 script holds its instances in
    /// FAULT from the start until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_fail: Option<bool>,
}

/// A file holding a number that VRRP instances track (keepalived's `track_file`): the
/// daemon watches it with inotify and reads it on every change. A missing or unusable file
/// (not a regular file, over 4 KiB) counts as 0, as keepalived counts a file it cannot
/// open; text without a number counts as 0; a number outside -2^31..2^31 is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackFile {
    /// Absolute path of the file.
    pub path: String,
    /// Multiplies the number (default 1): the product is added to the priority of the
    /// instances tracking it, -254 or less is FAULT, above 253 counts as 253. 0: FAULT
    /// while the number is not 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -254, max = 254))]
    pub weight: Option<i32>,
    /// Subtract the product instead of adding it; with weight 0, FAULT while the number
    /// is 0 (keepalived's `reverse`; default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse: Option<bool>,
    /// Write a number to the file when the daemon starts tracking it (keepalived's
    /// `init_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_file: Option<InitFile>,
}

/// What the daemon writes to a track file when it starts tracking it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InitFile {
    /// The number written (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<i32>,
    /// Write it over an existing file too; by default only a missing file is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overwrite: Option<bool>,
}

/// Processes that VRRP instances track (keepalived's `vrrp_track_process`): up while the
/// number of matching processes is from `quorum` to `quorum_max`. The daemon follows the
/// kernel's process events connector (falling back to scanning /proc every second where it
/// cannot be had, e.g. in a network namespace other than the first); zombies do not count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackProcess {
    /// The process's name as the kernel has it (`/proc/PID/comm`, at most 15 bytes: what
    /// `ps -o comm` and `pgrep -x` show), matched exactly; with `args`, `match` or
    /// `full_command`, the command's first word (`argv[0]`) instead, such as
    /// `/usr/sbin/haproxy`.
    #[schemars(length(min = 1))]
    pub process: String,
    /// The command's arguments after `argv[0]`, compared as `match` says (exact by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// How `args` are compared (keepalived's `param_match`): `exact` (the default; without
    /// `args`, the command has none), `partial` (the command's arguments start with
    /// these), `initial` (likewise, and the last one given may be the start of the
    /// command's).
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub param_match: Option<ParamMatch>,
    /// Match `process` against the command's first word rather than the process's name
    /// (keepalived's `full_command`; implied by `args` and `match`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_command: Option<bool>,
    /// The priority change of the instances tracking it (default 0: FAULT while out of
    /// quorum): added while in quorum when positive, while out of it when negative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -254, max = 254))]
    pub weight: Option<i32>,
    /// Turn the weight's effect round (keepalived's `reverse`): subtract it instead, and
    /// with weight 0 FAULT while in quorum (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse: Option<bool>,
    /// The fewest matching processes for up (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub quorum: Option<u32>,
    /// The most matching processes for up (default: no limit); 0: up while none runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub quorum_max: Option<u32>,
    /// Both `fork_delay` and `terminate_delay`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    /// How long a change of the count by a fork of a matching process waits before it
    /// counts (default 0; up to 1h), so that a fork and exec does not bounce the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork_delay: Option<Duration>,
    /// How long a change of the count by a process's exit waits before it counts (default
    /// 0; up to 1h), so that a process being restarted does not bounce the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminate_delay: Option<Duration>,
}

/// How a tracked process's arguments are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParamMatch {
    /// Exactly these arguments.
    Exact,
    /// The command's arguments start with these.
    Partial,
    /// Likewise, and the last may be the start of the command's.
    Initial,
}

/// How one instance uses a tracked process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackProcessUse {
    /// The priority change, -254..254 (default: the tracked process's `weight`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -254, max = 254))]
    pub weight: Option<i32>,
    /// keepalived's `reverse` for this instance (default: the tracked process's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse: Option<bool>,
}

/// How one instance uses a track file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackFileUse {
    /// Multiplies the file's number, -254..254 (default: the file's `weight`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -254, max = 254))]
    pub weight: Option<i32>,
    /// keepalived's `reverse` for this instance (default: the file's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse: Option<bool>,
}

/// A VRRP instance: directors that share VIPs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VrrpInstance {
    /// Virtual router id, 1..255 (keepalived `virtual_router_id`), unique per family on a
    /// network: two instances whose directors share a subnet need two VRIDs.
    #[schemars(range(min = 1, max = 255))]
    pub vrid: u32,
    /// VRRP version: 2 (RFC 3768) or 3 (RFC 5798, default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 3))]
    pub version: Option<u32>,
    /// Interface the adverts use (default: each member's client-facing interface).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Interface the VIPs go on (default: the advert interface).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip_interface: Option<String>,
    /// Advertisement interval (default 1s; keepalived `advert_int`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advert_interval: Option<Duration>,
    /// Member directors with their priorities.
    #[schemars(length(min = 1))]
    pub members: BTreeMap<String, VrrpMember>,
    /// A higher-priority member takes over from a lower one (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preempt: Option<bool>,
    /// Wait this long after start before preempting (default 0s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preempt_delay: Option<Duration>,
    /// VRRPv2 authentication; the password comes from a file or an environment variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Authentication>,
    /// Send adverts unicast to these peers (node names or addresses) instead of multicast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unicast_peers: Option<Vec<String>>,
    /// The virtual addresses the master holds and its adverts carry: `172.16.40.160`,
    /// `172.16.40.160/24`, or a mapping with per-VIP options (keepalived's
    /// `virtual_ipaddress`). All of one family. Empty for an instance whose notify commands
    /// move the address themselves (a cloud provider's API): it elects a master and holds
    /// nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vips: Vec<VipEntry>,
    /// Addresses the master holds but its adverts do not carry (keepalived's
    /// `virtual_ipaddress_excluded`): many addresses on one instance, or the other family's
    /// beside `vips` (IPv6 addresses on a version-2 instance).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_vips: Vec<VipEntry>,
    /// Routes the master holds (keepalived's `virtual_routes`): added once it holds its VIPs,
    /// removed before it lets them go; a backup holds none. Each names a destination `to`
    /// and is one of the instance's by (`to`, `table`, `metric`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<VrrpRouteEntry>,
    /// Policy routing rules the master holds (keepalived's `virtual_rules`): added after
    /// its routes, removed before them (protocol 77); a backup holds none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<VrrpRuleEntry>,
    /// Track scripts and how each moves the priority: a negative weight applies while it
    /// fails, a positive one while it succeeds, 0 is FAULT while it fails; `reverse` turns
    /// each round.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub track_scripts: BTreeMap<String, TrackWeight>,
    /// Tracked interfaces and how each moves the priority: a negative weight applies while
    /// it is down, a positive one while it is up, 0 is FAULT while it is down; `reverse`
    /// turns each round.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub track_interfaces: BTreeMap<String, TrackWeight>,
    /// Track files and how each moves the priority: the file's number times the weight
    /// (default: the file's) is added; weight 0: FAULT while the number is not 0.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub track_files: BTreeMap<String, TrackFileUse>,
    /// Tracked processes and how each moves the priority (weight and `reverse`, default:
    /// the tracked process's); weight 0: FAULT while out of quorum.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub track_processes: BTreeMap<String, TrackProcessUse>,
    /// Go to FAULT while the member's own advert interface (its `interface`) is down
    /// (default true, as keepalived does; `false` is keepalived's `dont_track_primary`). A
    /// weight given to that interface under `track_interfaces` replaces this FAULT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_own_interface: Option<bool>,
    /// A virtual MAC for the VIPs (keepalived's `use_vmac`): each member makes a macvlan
    /// in private mode on its advert interface, with the router's VRRP MAC
    /// (00:00:5e:00:01:VRID, IPv6 00:00:5e:00:02:VRID), and the VIPs go on it. The VIPs
    /// answer ARP / neighbour solicitations with that MAC, so a takeover needs no neighbour
    /// cache or switch table to learn a new one. The link exists while the instance runs
    /// on the director; `vmac: {}` for the default name. Excludes `vip_interface`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmac: Option<Vmac>,
    /// An ipvlan for the adverts (keepalived's `use_ipvlan`): each member makes an L2-mode
    /// ipvlan on its advert interface (same MAC as that interface), puts its
    /// `ipvlan_address` on it, and sends and hears the adverts on it (from that address;
    /// IPv6 without one: from the interface's link-local address). The VIPs stay on the
    /// advert interface (or `vip_interface`), as keepalived 2.2.7 holds them. The link
    /// exists while the instance runs on the director; `ipvlan: {}` for the default name.
    /// Excludes `vmac` and `unicast_peers`; needs a kernel with ipvlan (CONFIG_IPVLAN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipvlan: Option<Ipvlan>,
    /// A VMAC for the VIPs on other interfaces (keepalived's `use_vmac_addr`; default
    /// false): each member makes a private macvlan with the router's VRRP MAC of the VIP's
    /// family on every interface a VIP or excluded VIP goes on other than its advert
    /// interface (or its `vmac`), and on the advert interface for VIPs of the other family;
    /// those VIPs go on it, so they too keep their MAC across a takeover. Named as
    /// keepalived does: `vrrp.VRID` when free, else `vrrp1.VRID`, `vrrp2.VRID`, ... (IPv6
    /// `vrrp6.VRID` second); one per interface and family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip_vmacs: Option<bool>,
    /// Gratuitous ARPs / unsolicited NAs per VIP sent on becoming master, and again
    /// `garp_delay` later (default 5; keepalived `garp_master_repeat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub garp_repeat: Option<u32>,
    /// When the second burst of announcements follows a takeover (default 5s; `0s`: no
    /// second burst; keepalived `garp_master_delay`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garp_delay: Option<Duration>,
    /// While master, announce every VIP again this often (default: never; keepalived
    /// `garp_master_refresh`), so switches' MAC tables keep the master's port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garp_refresh: Option<Duration>,
    /// Announcements per VIP in each refresh (default 1; keepalived
    /// `garp_master_refresh_repeat`). Needs `garp_refresh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub garp_refresh_repeat: Option<u32>,
    /// Announcements per VIP when the master hears a lower-priority advert, i.e. a second
    /// master after a partition healed (default: `garp_repeat`; 0: none; keepalived
    /// `garp_lower_prio_repeat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub garp_lower_priority_repeat: Option<u32>,
    /// When those are sent a second time (default: `garp_delay`; `0s`: no second time;
    /// keepalived `garp_lower_prio_delay`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garp_lower_priority_delay: Option<Duration>,
    /// Least time between two gratuitous ARPs of this instance, for switches that rate-limit
    /// them (default 0s, at most 1s; keepalived `vrrp_garp_interval`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garp_interval: Option<Duration>,
    /// Least time between two unsolicited neighbour advertisements (default 0s, at most 1s;
    /// keepalived `vrrp_gna_interval`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gna_interval: Option<Duration>,
    /// Strict RFC 3768/5798 compliance (default false; keepalived `vrrp_strict`,
    /// `strict_mode`): no unicast peers, authentication, preempt delay, lower-priority
    /// announcements or empty `vips`; a master ignores lower-priority adverts, the address
    /// owner (priority 255) ignores every advert; `accept` defaults to false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    /// Accept mode (RFC 5798): a master below priority 255 accepts packets addressed to
    /// the VIPs (default true, false with `strict`; keepalived `accept` / `no_accept`).
    /// Without it, nftables rules in `table inet lbconverge` drop every packet to or from
    /// the VIPs except IPv6 neighbour discovery, services on them included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept: Option<bool>,
    /// After the daemon starts, the instance waits this long before it starts listening
    /// and advertising (default 0s; keepalived `vrrp_startup_delay`), e.g. for bonds that
    /// pass traffic and then stop while they come up at boot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_delay: Option<Duration>,
    /// The instance starts no sooner than this long after the system booted (default 0s;
    /// keepalived `vrrp_delay_after_boot`): a delay at boot that a restart of the daemon
    /// later does not pay. With `startup_delay`, the later of the two ends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_delay_after_boot: Option<Duration>,
    /// Command run on becoming master (keepalived `notify_master`): an argument list, the
    /// program an absolute path; no shell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_master: Option<Vec<String>>,
    /// Command run on becoming backup, at start too (keepalived `notify_backup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_backup: Option<Vec<String>>,
    /// Command run on entering FAULT (keepalived `notify_fault`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_fault: Option<Vec<String>>,
    /// Command run when the instance stops: the daemon stops, or a reload removes or
    /// replaces the instance (keepalived `notify_stop`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_stop: Option<Vec<String>>,
    /// Command run on every state change, after the state's own command, with
    /// `INSTANCE <name> <MASTER|BACKUP|FAULT|STOP> <priority>` appended (keepalived `notify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<Vec<String>>,
    /// What a reload that removes the instance (or makes it another router) reports to its
    /// notify commands and FIFOs: `stop` (`notify_stop`, `STOP`; the default, as when the
    /// daemon stops), `fault` (`FAULT` to `notify` and the FIFOs, no `notify_fault`, and
    /// nothing when already in FAULT: keepalived's default) or `deleted` (`notify_deleted`,
    /// `DELETED`: keepalived's `notify_deleted`). `deleted` is the default when
    /// `notify_deleted` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removal_notify: Option<RemovalNotify>,
    /// Command run when a reload removes the instance, with `removal_notify: deleted`
    /// (keepalived `notify_deleted` with a script); the generic `notify` gets `DELETED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_deleted: Option<Vec<String>>,
    /// Command run when the master hears an advert of a lower priority (keepalived
    /// `notify_master_rx_lower_pri`), without arguments added: another director became
    /// master during a partition and may have taken external state (a cloud secondary
    /// address) the master must take back. Run for each such advert, but never queued twice:
    /// adverts heard while one is waiting or running are skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_master_rx_lower_pri: Option<Vec<String>>,
    /// Longest a notify command may run; past it, it is killed with its process group and
    /// the next one starts (default 30s). The commands of an instance run one at a time,
    /// in the order of its transitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_timeout: Option<Duration>,
    /// Also write a line to the notify FIFOs (`notify_fifos`) when the effective priority
    /// changes: `INSTANCE "VI_1" MASTER_PRIORITY 130` while master, `BACKUP_PRIORITY`
    /// otherwise (default false; keepalived `notify_priority_changes`). Only the FIFOs get
    /// them, as in keepalived; no command runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_priority_changes: Option<bool>,
    /// IPVS connection sync bound to this instance (keepalived `lvs_sync_daemon`): the
    /// master's kernel sends its connections, the backups' kernels install them, so that
    /// connections survive a failover. At most one instance per director may set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_sync: Option<ConnectionSync>,
    /// Alert on this instance's transitions whatever `alerts.events` says (keepalived's
    /// `smtp_alert` in a `vrrp_instance`); `false`: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<bool>,
}

/// A VRRP instance's virtual MAC interface (keepalived's `use_vmac`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vmac {
    /// Its interface name, at most 15 bytes (default keepalived's: `vrrp.VRID`, IPv6
    /// `vrrp6.VRID`); no other interface of the director may have it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Send and hear the adverts on the base interface, from its own MAC and address,
    /// rather than on the VMAC (default false; keepalived `vmac_xmit_base`): for switches
    /// that must not see the VRRP MAC on two ports, or adverts that must leave from a
    /// bonded or bridged base. The VIPs stay on the VMAC either way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xmit_base: Option<bool>,
    /// Its own MAC address rather than the VRRP one (keepalived's `use_vmac MAC`): six
    /// octets (`02:00:00:0a:00:01`), or five and the VRID as the sixth (`02:00:00:0a:00`);
    /// neither multicast nor a VRRP MAC (00:00:5e:00:01:XX, 00:00:5e:00:02:XX). Every member
    /// takes it, so that a client's neighbour entry outlives a failover as with the VRRP MAC;
    /// no two instances of a director may share it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// Its interface group, a number (`ip link set NAME group N`; keepalived's
    /// `use_vmac group`), for firewall rules matching it (`iifgroup`, `oifgroup`, iptables'
    /// `devgroup`); default 0 (keepalived 2.2 leaves it so; keepalived 2.3 copies the base
    /// interface's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<u32>,
    /// After making the VMAC and after removing it, set the base interface's group again to
    /// its own value, so that the kernel sends an RTM_NEWLINK for the base interface
    /// (default false; keepalived's `use_vmac netlink_notify_msg`): for listeners of
    /// netlink that must see the base's promiscuity change, which a base without unicast
    /// filtering (a bridge, a veth) makes without telling them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netlink_notify: Option<bool>,
}

/// A VRRP instance's ipvlan interface (keepalived's `use_ipvlan`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ipvlan {
    /// Its interface name, at most 15 bytes (default keepalived's: `vrrp.VRID`, IPv6
    /// `vrrp6.VRID`); no other interface of the director may have it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How it reaches the other ipvlans of its interface (default `bridge`; keepalived's
    /// `bridge`, `private`, `vepa`). Every ipvlan on one interface has the same mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<IpvlanMode>,
}

/// The mode flag of an L2 ipvlan (`ip link add ... type ipvlan mode l2 MODE`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IpvlanMode {
    /// Traffic between ipvlans of one interface is switched inside the host.
    #[default]
    Bridge,
    /// No traffic between ipvlans of one interface.
    Private,
    /// Traffic between ipvlans of one interface goes out to the switch.
    Vepa,
}

impl IpvlanMode {
    /// Its name, as `ip link` writes it.
    pub fn name(self) -> &'static str {
        match self {
            IpvlanMode::Bridge => "bridge",
            IpvlanMode::Private => "private",
            IpvlanMode::Vepa => "vepa",
        }
    }
}

/// A route a VRRP master holds, like `ip route replace TO via VIA dev DEV src SRC table
/// TABLE metric METRIC`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VrrpRouteEntry {
    /// Destination network (`10.9.8.0/24`, `fd00:9:8::/64`; `default` or `0.0.0.0/0`).
    pub to: String,
    /// What the route does (default `unicast`: forward through `via` and/or `dev`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<RouteType>,
    /// Next hop, of the destination's family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Outgoing interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    /// Preferred source address: one of the instance's VIPs (held whenever the route is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    /// Routing table by number (default 254, `main`; 1..4294967295 but 253 `default` and
    /// 255 `local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub table: Option<u32>,
    /// Metric (the kernel's route priority). Without one the kernel gives an IPv4 route 0
    /// and an IPv6 route 1024: writing that number is the same route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    /// A multipath route's paths (keepalived's `nexthop via IP dev IF weight N`), two or
    /// more; the route then has no `via` or `dev` of its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nexthops: Vec<NextHopEntry>,
    /// Take `via` as on the link of `dev` even when no address or route of `dev` covers it
    /// (keepalived `onlink`, `RTNH_F_ONLINK`; default false). Needs `via` and `dev`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onlink: Option<bool>,
    /// Encapsulate what the route forwards (keepalived `encap`): push MPLS labels, or hand
    /// the packet to a collect-metadata tunnel device (`dev`, such as a `gre` or `vxlan`
    /// with `external`) with the tunnel's id and outer addresses. A unicast route only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encap: Option<EncapEntry>,
}

/// One path of a multipath route, like `nexthop via VIA dev DEV weight WEIGHT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NextHopEntry {
    /// Next hop, of the destination's family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Outgoing interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    /// Its share of the flows against the other paths' (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 256))]
    pub weight: Option<u16>,
    /// Take `via` as on the link of `dev` even when no address or route of `dev` covers it
    /// (keepalived `onlink`; default false). Needs `via` and `dev`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onlink: Option<bool>,
    /// Encapsulate what goes this way (keepalived `encap`), as a route's `encap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encap: Option<EncapEntry>,
}

/// A route's lightweight tunnel encapsulation, like `encap ip id 7 dst 10.9.0.50 ttl 64` or
/// `encap mpls 200/300`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EncapEntry {
    /// `mpls` (push `labels`), `ip` (IPv4 tunnel metadata) or `ip6` (IPv6 tunnel metadata).
    #[serde(rename = "type")]
    pub kind: EncapType,
    /// `mpls`: the labels pushed, outermost first: 1 to 30, each 0..1048575 but 3 (implicit
    /// null, which never appears in a packet).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<u32>,
    /// `ip` / `ip6`: the tunnel key id (1 and up). `id` or `dst`, or both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub id: Option<u64>,
    /// `ip` / `ip6`: the outer destination address, of the encapsulation's family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst: Option<String>,
    /// `ip` / `ip6`: the outer source address, of the encapsulation's family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    /// `ip` / `ip6`: the outer TOS (`ip6`: traffic class, keepalived's `tc`), 1..255 in
    /// decimal or `0x` hexadecimal (default: the tunnel's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos: Option<Scalar>,
    /// `ip` / `ip6`: the outer TTL (`ip6`: hop limit, keepalived's `hoplimit`), 1..255
    /// (default: the tunnel's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 255))]
    pub ttl: Option<u8>,
}

/// The encapsulations a route can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EncapType {
    /// MPLS labels pushed (`LWTUNNEL_ENCAP_MPLS`; the kernel needs `mpls_iptunnel`).
    Mpls,
    /// IPv4 tunnel metadata (`LWTUNNEL_ENCAP_IP`).
    Ip,
    /// IPv6 tunnel metadata (`LWTUNNEL_ENCAP_IP6`).
    Ip6,
}

/// A policy routing rule a VRRP master holds, like `ip rule add [not] from FROM to TO iif
/// IIF oif OIF fwmark MARK/MASK ipproto tcp dport 443 lookup TABLE priority PRIORITY`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VrrpRuleEntry {
    /// Its preference: the kernel tries rules from the lowest (1..32765, below the
    /// kernel's `main` rule; keepalived's `preference` / `priority` / `order`). With the
    /// rest it names the rule.
    #[schemars(range(min = 1, max = 32765))]
    pub priority: u32,
    /// Source network or address (`10.9.0.0/24`, `fd00:9::1`); default: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Destination network or address; default: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The rule's family when neither `from` nor `to` says it (default `ipv4`;
    /// keepalived's `inet6`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
    /// Incoming interface (keepalived's `iif` / `dev`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iif: Option<String>,
    /// Outgoing interface, for packets of sockets bound to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oif: Option<String>,
    /// Firewall mark, optionally with the mask of the bits compared: `5`, `0x10/0xf0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<MarkSpec>,
    /// Match the packets the rest does not match (`ip rule add not ...`; default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<bool>,
    /// Routing table the matched packets are looked up in (`main` is 254). Either this
    /// or `type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub table: Option<u32>,
    /// Drop what matches instead of looking it up: `blackhole`, `unreachable`,
    /// `prohibit`; or `nop`: do nothing (a rule that only counts). One of `table`, `type`,
    /// `goto` and `l3mdev`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<RuleType>,
    /// Go on with the rules from this priority, which must be above the rule's own
    /// (keepalived `goto`). One of `table`, `type`, `goto` and `l3mdev`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goto: Option<u32>,
    /// Look the packet up in the table of the VRF (L3 master device) its interface is in
    /// (keepalived `l3mdev`). One of `table`, `type`, `goto` and `l3mdev`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l3mdev: Option<bool>,
    /// Type of service / DS field matched: a number, decimal or `0x` hexadecimal (`0x10`),
    /// the two ECN bits clear; IPv4 takes the TOS bits (0x1c) only (keepalived `tos` /
    /// `dsfield`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos: Option<Scalar>,
    /// IP protocol matched: `tcp`, `udp`, `sctp`, `icmp`, `ipv6-icmp`, ... or a number
    /// 1..255 (keepalived `ipproto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipproto: Option<Scalar>,
    /// Source port or port range matched: `53`, `1024-65534` (keepalived `sport`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sport: Option<Scalar>,
    /// Destination port or port range matched: `443`, `8000-8099` (keepalived `dport`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dport: Option<Scalar>,
    /// User ids of the local sockets matched: `1000-1999` (keepalived `uidrange`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uidrange: Option<String>,
    /// Tunnel id matched, on packets of metadata-collecting tunnels (keepalived
    /// `tunnel-id`; 1 and up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub tunnel_id: Option<u64>,
    /// IPv4, with `table`: the realms the matched packets get, `TO` or `FROM/TO`, each a
    /// number 0..65535 (keepalived `realms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realms: Option<Scalar>,
    /// With `table`: routes of this prefix length or shorter found there are ignored,
    /// such as 0 for the default route (keepalived `suppress_prefixlength`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 128))]
    pub suppress_prefixlength: Option<u32>,
    /// With `table`: routes found there through an interface of this group are ignored
    /// (keepalived `suppress_ifgroup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 2147483647))]
    pub suppress_ifgroup: Option<u32>,
}

/// A firewall mark a rule matches: a number, or text with a mask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum MarkSpec {
    /// The mark, all 32 bits compared.
    Mark(u32),
    /// `MARK/MASK` (or `MARK`), decimal or `0x` hexadecimal: `0x10/0xf0`.
    Text(String),
}

/// What a rule without a table does with what it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RuleType {
    /// Dropped silently.
    Blackhole,
    /// Dropped with ICMP unreachable.
    Unreachable,
    /// Dropped with ICMP administratively prohibited.
    Prohibit,
    /// Nothing: the packet goes on to the next rule.
    Nop,
}

/// The types of route a VRRP master can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RouteType {
    /// Forwarded through `via` / `dev`.
    Unicast,
    /// Dropped silently.
    Blackhole,
    /// Dropped with ICMP unreachable.
    Unreachable,
    /// Dropped with ICMP administratively prohibited.
    Prohibit,
}

/// VRRP instances that change state together on each director (keepalived's
/// `vrrp_sync_group`), such as the outside VIP and the inside gateway of an LVS-NAT pair:
/// when one goes to FAULT every one does, when one leaves MASTER for BACKUP every one does,
/// and they become MASTER together once every one would.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncGroup {
    /// The member instances (names under `vrrp`), at least two, each in one group only,
    /// all with the same member directors (keepalived's `group`).
    #[schemars(length(min = 1))]
    pub instances: Vec<String>,
    /// Track scripts of every member instance, with their weights (keepalived's
    /// `track_script` in the group).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub track_scripts: BTreeMap<String, TrackWeight>,
    /// Tracked interfaces of every member instance, with their weights (keepalived's
    /// `track_interface` in the group).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub track_interfaces: BTreeMap<String, TrackWeight>,
    /// Track files (names under the top-level `track_files`) of every member instance,
    /// with their weights (default: the file's; keepalived's `track_file` in the group):
    /// with weight 0 a number other than 0 puts the whole group in FAULT.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub track_files: BTreeMap<String, TrackFileUse>,
    /// Tracked processes (names under the top-level `track_processes`) of every member
    /// instance, with their weights (default: the tracked process's; keepalived's
    /// `track_process` in the group): with weight 0 a process out of quorum puts the whole
    /// group in FAULT.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub track_processes: BTreeMap<String, TrackProcessUse>,
    /// Keep the weights of the members' own tracked objects (keepalived's
    /// `sync_group_tracking_weight`). By default, as keepalived does, a member's weighted
    /// tracked interface and a track file of weight 1 count as weight 0 (FAULT), and its
    /// weighted track scripts and track files of other weights are not tracked at all; a
    /// member's tracked processes keep their weights, and the group's own tracked objects
    /// always do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_weight: Option<bool>,
    /// Command run when the group becomes master, after the members' own commands
    /// (keepalived `notify_master` in the group): an argument list, the program an
    /// absolute path; no shell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_master: Option<Vec<String>>,
    /// Command run when the group becomes backup, at start too (keepalived `notify_backup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_backup: Option<Vec<String>>,
    /// Command run when the group enters FAULT (keepalived `notify_fault`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_fault: Option<Vec<String>>,
    /// Command run when every member has stopped (keepalived `notify_stop`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_stop: Option<Vec<String>>,
    /// Command run on every group state change, after the state's own command, with
    /// `GROUP <name> <MASTER|BACKUP|FAULT|STOP> 0` appended (keepalived `notify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<Vec<String>>,
    /// Longest a group notify command may run (default 30s). The group's commands and its
    /// members' run one at a time, in the order of the transitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_timeout: Option<Duration>,
}

/// A VIP of a VRRP instance: an address, or an address with options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum VipEntry {
    /// `172.16.40.160` or `172.16.40.160/24`, on the instance's VIP interface.
    Address(String),
    /// The address with keepalived's per-VIP options (`dev`, `label`, `brd`, `scope`, `peer`,
    /// the address flags, `no_track`, `preferred_lft`).
    Detailed(VipSpec),
}

impl VipEntry {
    /// The address as written.
    pub fn address(&self) -> &str {
        match self {
            VipEntry::Address(a) => a,
            VipEntry::Detailed(d) => &d.address,
        }
    }
}

/// A VIP with its options, like `ip addr add ADDRESS dev IF label L broadcast B scope S`
/// (or `peer P`, flags, `preferred_lft N`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VipSpec {
    /// `172.16.40.160` or `172.16.40.160/24`.
    pub address: String,
    /// Interface this VIP goes on (default: the instance's VIP interface; keepalived `dev`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// IPv4 address label, the interface name or `<interface>:<suffix>` such as `eth0:1`,
    /// what ifconfig-era scripts look for (keepalived `label`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// IPv4 broadcast address, or `+` (host part all ones) or `-` (host part all zeros)
    /// (keepalived `brd`; default: none, as `ip addr add` without `brd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broadcast: Option<String>,
    /// IPv4 address scope: `global` (default), `site`, `link`, `host`, `nowhere`, or a
    /// number 0..255 (keepalived `scope`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scalar>,
    /// The other end of a point-to-point link, of the VIP's family, with the prefix length
    /// (`10.9.0.2/32`; default /32 or /128): the VIP is then written without one (keepalived
    /// `peer`, `ip addr add A peer P/LEN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// IPv6: a Mobile IPv6 home address (keepalived `home`, `IFA_F_HOMEADDRESS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<bool>,
    /// IPv6: run duplicate address detection on the VIP (keepalived `-nodad`). By default
    /// IPv6 VIPs are added with `nodad`, usable at once and never left `dadfailed` by a
    /// passing split brain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dad: Option<bool>,
    /// IPv6, a /64 VIP: the kernel makes privacy (temporary) addresses from its prefix
    /// (keepalived `mngtmpaddr`, `IFA_F_MANAGETEMPADDR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mngtmpaddr: Option<bool>,
    /// No route for the VIP's prefix is added with it (keepalived `noprefixroute`,
    /// `IFA_F_NOPREFIXROUTE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noprefixroute: Option<bool>,
    /// A multicast VIP: the node joins its group while it holds it (keepalived `autojoin`,
    /// `IFA_F_MCAUTOJOIN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autojoin: Option<bool>,
    /// The VIP's interface going down does not put the instance in FAULT, and a master does
    /// not add the VIP back when it is removed by hand until it next becomes master
    /// (keepalived `no_track`; default false: a VIP on an interface of its own tracks it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_track: Option<bool>,
    /// Put this VIP on a VMAC of its own interface, a private macvlan with the router's
    /// VRRP MAC of the VIP's family (keepalived's VIP option `use_vmac`; default false), as
    /// `vip_vmacs` does for every VIP off the advert interface: for a VIP with its own
    /// `interface`, or of the family other than the instance's. Not beside `vip_vmacs`,
    /// nor on a VIP that goes on the instance's `vmac` already.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmac: Option<bool>,
    /// IPv6 preferred lifetime: `forever` (default) or seconds; 0 deprecates the VIP, so
    /// that the kernel picks it as no connection's source address, such as a health
    /// check's (keepalived `preferred_lft`; keepalived's own default for a /128 is 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_lft: Option<Scalar>,
}

/// The kernel's IPVS sync daemon, run as master on the VRRP master and as backup elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionSync {
    /// Interface the sync messages use (default: each member's advert interface).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Sync id, 0..255; masters and backups must agree (default: the instance's VRID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 255))]
    pub sync_id: Option<u32>,
    /// Largest sync message payload in bytes (default: the interface's MTU less headers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1024, max = 65507))]
    pub max_packet_length: Option<u32>,
    /// Multicast group (default 224.0.0.81; an IPv6 group sends over IPv6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// UDP port (default 8848).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u32>,
    /// Multicast TTL (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 255))]
    pub ttl: Option<u32>,
}

/// A member of a VRRP instance.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VrrpMember {
    /// Priority 1..254; 255 only for the owner of every VIP.
    #[schemars(range(min = 1, max = 255))]
    pub priority: u32,
    /// Advert interface for this member only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// The source address of this member's adverts (keepalived `mcast_src_ip` /
    /// `unicast_src_ip`): one of the node's `addresses` of the instance's family, or an IPv6
    /// link-local address (default: the node's first address of the family; IPv6 multicast:
    /// the interface's link-local address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The address this member puts on the instance's ipvlan (keepalived's `use_ipvlan`
    /// address), with or without a prefix (default: a host prefix): the source of its
    /// adverts unless `source` says otherwise. Needed by an IPv4 instance; an IPv6 one
    /// without it sends from the interface's link-local address. Of the instance's family,
    /// one per member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipvlan_address: Option<String>,
    /// Track scripts of this member only, beside (or overriding the weight of) the
    /// instance's: a check of a service only this director runs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub track_scripts: BTreeMap<String, TrackWeight>,
    /// Tracked interfaces of this member only, beside (or overriding) the instance's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub track_interfaces: BTreeMap<String, TrackWeight>,
    /// This member's `notify_master`, instead of the instance's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_master: Option<Vec<String>>,
    /// This member's `notify_backup`, instead of the instance's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_backup: Option<Vec<String>>,
    /// This member's `notify_fault`, instead of the instance's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_fault: Option<Vec<String>>,
    /// This member's `notify_stop`, instead of the instance's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_stop: Option<Vec<String>>,
    /// This member's `notify`, instead of the instance's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<Vec<String>>,
    /// This member's `notify_master_rx_lower_pri`, instead of the instance's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_master_rx_lower_pri: Option<Vec<String>>,
}

/// VRRPv2 authentication.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Authentication {
    /// `pass` (keepalived `auth_type PASS`) or `ah` (`auth_type AH`: IPsec AH, IPv4 only).
    #[serde(rename = "type")]
    pub kind: AuthType,
    /// File holding the password (first line, at most 8 bytes; the AH key); must not be readable by others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
    /// Environment variable holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
}

/// Authentication types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthType {
    /// Plain-text password (keepalived `PASS`).
    Pass,
    /// IPsec Authentication Header (RFC 2402) with HMAC-MD5-96 keyed with the password
    /// (keepalived `AH`): VRRPv2 over IPv4 only.
    Ah,
}

/// How a tracked script or interface moves the priority: a positive weight is added while
/// it succeeds (is up), a negative one while it fails (is down); 0 puts the instance in
/// FAULT while it fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackWeight {
    /// -253..253; 0 puts the instance in FAULT.
    #[serde(default)]
    #[schemars(range(min = -253, max = 253))]
    pub weight: i32,
    /// Turn the weight's effect round (keepalived's `reverse`): a positive weight is
    /// subtracted while it succeeds, a negative one added while it fails; with weight 0,
    /// FAULT while it succeeds (is up) instead of while it fails (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse: Option<bool>,
}
