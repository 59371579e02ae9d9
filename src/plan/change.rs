//! The vocabulary of a plan: one [`Change`] per kernel operation, its [`Action`] symbol,
//! and the [`Note`]s about objects the plan leaves alone.

use serde::{Deserialize, Serialize};

use crate::model::announce::Announced;
use crate::model::firewall::MarkTable;
use crate::model::ipvs::{Dest, Service, ServiceKey};
use crate::model::net::{Address, Route};
use crate::model::sync::{SyncConfig, SyncState};
use crate::model::sysctl::SysctlKey;
use crate::model::timeouts::Timeouts;

/// What a change does to its object, terraform style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// `+`: the object is created.
    Create,
    /// `~`: the object is changed in place.
    Update,
    /// `-`: the object is destroyed.
    Delete,
}

impl Action {
    /// The symbol shown in text plans.
    pub fn symbol(self) -> char {
        match self {
            Action::Create => '+',
            Action::Update => '~',
            Action::Delete => '-',
        }
    }
}

/// One kernel operation of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// Write a sysctl (`sysctl -w`); `from` is the live value, if it could be read.
    SetSysctl {
        /// The sysctl.
        key: SysctlKey,
        /// Live value.
        from: Option<String>,
        /// Value to write.
        to: String,
    },
    /// Bring an interface up (`ip link set X up`), loading its module if it is missing.
    LinkUp {
        /// Interface name.
        interface: String,
        /// Whether the interface exists now.
        exists: bool,
    },
    /// `ip addr add`.
    AddAddress {
        /// The address.
        address: Address,
    },
    /// Re-add an address with another label (`ip addr del` + `ip addr add`).
    ReplaceAddress {
        /// Live address.
        from: Address,
        /// Desired address.
        to: Address,
    },
    /// `ip addr del`.
    DelAddress {
        /// The address.
        address: Address,
    },
    /// `ip route replace`; `from` is the live route with the same destination.
    SetRoute {
        /// Route to install.
        route: Route,
        /// Live route it replaces.
        from: Option<Route>,
    },
    /// `ip route del`.
    DelRoute {
        /// The route.
        route: Route,
    },
    /// `ipvsadm -A` (the service's settings; destinations are separate changes).
    AddService {
        /// Service settings.
        service: Service,
    },
    /// `ipvsadm -E`: scheduler, flags or persistence in place.
    EditService {
        /// Live settings.
        from: Service,
        /// Desired settings.
        to: Service,
    },
    /// Drain every destination (weight 0), then `ipvsadm -D` once idle.
    DelService {
        /// The live service with its destinations.
        service: Service,
    },
    /// `ipvsadm -a`.
    AddDest {
        /// Its service.
        service: ServiceKey,
        /// The destination.
        dest: Dest,
    },
    /// `ipvsadm -e`: weight, forwarding or thresholds in place.
    EditDest {
        /// Its service.
        service: ServiceKey,
        /// Live destination.
        from: Dest,
        /// Desired destination.
        to: Dest,
    },
    /// Drain (weight 0), then `ipvsadm -d` once idle; a backend that failed its health
    /// check is deleted at once (its connections are dead; keepalived does the same).
    DelDest {
        /// Its service.
        service: ServiceKey,
        /// The live destination.
        dest: Dest,
        /// It leaves because its health check failed.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        failed: bool,
    },
    /// Restart a sync daemon with the settings of its VRRP instance (`ipvsadm --stop-daemon`
    /// then `--start-daemon`), in the state it runs in.
    SetSyncDaemon {
        /// Master or backup.
        state: SyncState,
        /// Live settings.
        from: SyncConfig,
        /// Desired settings.
        to: SyncConfig,
    },
    /// Announce a VIP: its host route into the routing table the routing daemon exports.
    Announce {
        /// The route.
        route: Announced,
    },
    /// Withdraw a VIP's route (the service lost its quorum, or left the manifest).
    Withdraw {
        /// The route.
        route: Announced,
    },
    /// `ipvsadm --stop-daemon`: a daemon lbconverge started whose instance no longer syncs.
    StopSyncDaemon {
        /// Master or backup.
        state: SyncState,
        /// Its live settings.
        config: SyncConfig,
    },
    /// Replace the firewall-mark table (`table inet lbconverge`) with `to`, in one nftables
    /// transaction; `from` is the live table, if there is one.
    SetFirewall {
        /// Live table.
        from: Option<MarkTable>,
        /// Desired table.
        to: MarkTable,
    },
    /// Set the IPVS connection timeouts that are not 0, like `ipvsadm --set TCP TCPFIN UDP`:
    /// declared ones, or owned ones no longer declared back to their value before.
    SetIpvsTimeouts {
        /// Live timeouts; none when IPVS is not loaded yet.
        from: Option<Timeouts>,
        /// What is written (0: left as it is).
        to: Timeouts,
    },
    /// Delete the firewall-mark table (`nft delete table inet lbconverge`): no firewall-mark
    /// service of this node has `match` rules any more.
    DelFirewall {
        /// The live table.
        table: MarkTable,
    },
}

impl Change {
    /// The action symbol class of this change.
    pub fn action(&self) -> Action {
        match self {
            Change::AddAddress { .. }
            | Change::AddService { .. }
            | Change::AddDest { .. }
            | Change::Announce { .. } => Action::Create,
            Change::SetRoute { from: None, .. } | Change::SetFirewall { from: None, .. } => Action::Create,
            Change::DelAddress { .. }
            | Change::DelRoute { .. }
            | Change::DelService { .. }
            | Change::DelDest { .. }
            | Change::StopSyncDaemon { .. }
            | Change::Withdraw { .. }
            | Change::DelFirewall { .. } => Action::Delete,
            Change::SetSysctl { .. }
            | Change::LinkUp { .. }
            | Change::ReplaceAddress { .. }
            | Change::SetRoute { from: Some(_), .. }
            | Change::EditService { .. }
            | Change::EditDest { .. }
            | Change::SetSyncDaemon { .. }
            | Change::SetIpvsTimeouts { .. }
            | Change::SetFirewall { from: Some(_), .. } => Action::Update,
        }
    }
}

/// Something the plan shows but does not change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Note {
    /// A VIP that a VRRP instance adds on the master and removes elsewhere.
    Vrrp {
        /// The address.
        address: Address,
        /// The instance.
        instance: String,
        /// Whether this node holds it now.
        present: bool,
    },
    /// A route a VRRP instance adds on the master and removes elsewhere.
    VrrpRoute {
        /// The route.
        route: crate::model::net::VrrpRoute,
        /// The instance.
        instance: String,
        /// Whether this node holds it now.
        present: bool,
    },
    /// A policy routing rule a VRRP instance adds on the master and removes elsewhere.
    VrrpRule {
        /// The rule.
        rule: crate::model::net::VrrpRule,
        /// The instance.
        instance: String,
        /// Whether this node holds it now.
        present: bool,
    },
    /// The VMAC a VRRP instance's daemon makes and removes, up whatever its state.
    Vmac {
        /// The link.
        vmac: crate::model::net::Vmac,
        /// The instance.
        instance: String,
        /// Whether this node has it now.
        present: bool,
    },
    /// The sync daemon a VRRP instance runs: master while it is master, backup otherwise.
    Sync {
        /// Its settings as `ipvsadm -L --daemon` shows them.
        settings: String,
        /// The instance.
        instance: String,
        /// The states running here now.
        running: Vec<SyncState>,
    },
    /// A VIP route `lbconverge run` announces while the service holds its quorum.
    Announce {
        /// The route.
        route: Announced,
        /// Whether it is announced now.
        present: bool,
    },
    /// A live object lbconverge does not own and leaves alone.
    Unmanaged {
        /// What it is, e.g. `ipvs service tcp 10.0.0.1:80`.
        object: String,
    },
}
