//! The only code that talks to the kernel. One trait per subsystem, named after the admin
//! tool it mirrors (`ipvsadm`, `ipvsadm --set`, `ipvsadm --start-daemon`, `ip addr`, `ip route`, `sysctl`,
//! `nft`), taking model types; a
//! [`Kernel`] is all of them. Implementations: the real kernel (netlink, /proc/sys) and an
//! in-memory one ([`mem::MemKernel`]) that fails the way the kernel does.

pub mod error;
#[cfg(target_os = "linux")]
pub mod linux;
pub mod mem;

use std::collections::{BTreeMap, BTreeSet};

pub use error::KernelError;

use crate::model::announce::Announced;
use crate::model::firewall::MarkTable;
use crate::model::ipvs::{Dest, DestKey, Service, ServiceKey};
use crate::model::net::{Address, Link, Route, Vmac, VrrpRoute, VrrpRule};
use crate::model::sync::{SyncConfig, SyncState};
use crate::model::sysctl::{self, SysctlKey};
use crate::model::timeouts::Timeouts;
use crate::model::{Ledger, NodeState};
use crate::vrrp::procs::{Proc, ProcEvent};

/// Result of a kernel operation.
pub type KResult<T> = Result<T, KernelError>;

/// IPVS tables, like `ipvsadm`.
pub trait Ipvs {
    /// Every service with its destinations and counters, like `ipvsadm -Ln --stats`.
    fn services(&mut self) -> KResult<Vec<Service>>;
    /// The destinations of one service, like `ipvsadm -Ln -t VIP:PORT`.
    fn dests(&mut self, service: &ServiceKey) -> KResult<Vec<Dest>>;
    /// Adds a service (its settings only), like `ipvsadm -A`.
    fn add_service(&mut self, service: &Service) -> KResult<()>;
    /// Changes a service's scheduler, flags or persistence, like `ipvsadm -E`.
    fn edit_service(&mut self, service: &Service) -> KResult<()>;
    /// Deletes a service and its destinations, like `ipvsadm -D`.
    fn del_service(&mut self, key: &ServiceKey) -> KResult<()>;
    /// Adds a destination, like `ipvsadm -a`.
    fn add_dest(&mut self, service: &ServiceKey, dest: &Dest) -> KResult<()>;
    /// Changes a destination's weight, forwarding or thresholds, like `ipvsadm -e`.
    fn edit_dest(&mut self, service: &ServiceKey, dest: &Dest) -> KResult<()>;
    /// Deletes a destination, like `ipvsadm -d`.
    fn del_dest(&mut self, service: &ServiceKey, dest: &DestKey) -> KResult<()>;
    /// Runs writes in order, like `ipvsadm -R` without the flush; returns one result per op
    /// attempted and stops after the first failure. Real kernels pipeline them.
    fn batch(&mut self, ops: &[IpvsOp]) -> KResult<Vec<KResult<()>>> {
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            let r = match op {
                IpvsOp::AddService(s) => self.add_service(s),
                IpvsOp::EditService(s) => self.edit_service(s),
                IpvsOp::DelService(k) => self.del_service(k),
                IpvsOp::AddDest(k, d) => self.add_dest(k, d),
                IpvsOp::EditDest(k, d) => self.edit_dest(k, d),
                IpvsOp::DelDest(k, d) => self.del_dest(k, &d.key()),
            };
            let failed = r.is_err();
            out.push(r);
            if failed {
                break;
            }
        }
        Ok(out)
    }
}

/// One IPVS write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpvsOp {
    /// `ipvsadm -A`.
    AddService(Service),
    /// `ipvsadm -E`.
    EditService(Service),
    /// `ipvsadm -D`.
    DelService(ServiceKey),
    /// `ipvsadm -a`.
    AddDest(ServiceKey, Dest),
    /// `ipvsadm -e`.
    EditDest(ServiceKey, Dest),
    /// `ipvsadm -d`.
    DelDest(ServiceKey, Dest),
}

impl IpvsOp {
    /// The operation, for error messages.
    pub fn verb(&self) -> &'static str {
        match self {
            IpvsOp::AddService(_) => "add service",
            IpvsOp::EditService(_) => "edit service",
            IpvsOp::DelService(_) => "delete service",
            IpvsOp::AddDest(..) => "add destination",
            IpvsOp::EditDest(..) => "edit destination",
            IpvsOp::DelDest(..) => "delete destination",
        }
    }
    /// The object, for error messages.
    pub fn object(&self) -> String {
        match self {
            IpvsOp::AddService(s) | IpvsOp::EditService(s) => s.key.to_string(),
            IpvsOp::DelService(k) => k.to_string(),
            IpvsOp::AddDest(k, d) | IpvsOp::EditDest(k, d) | IpvsOp::DelDest(k, d) => format!("{} to {k}", d.key()),
        }
    }
}

/// IPVS connection sync daemons, like `ipvsadm --start-daemon` / `--stop-daemon`.
pub trait SyncDaemons {
    /// The running daemons, like `ipvsadm -L --daemon`; none when IPVS is not loaded.
    fn sync_daemons(&mut self) -> KResult<Vec<(SyncState, SyncConfig)>>;
    /// Starts the daemon of `state`; EEXIST when one runs already.
    fn start_sync_daemon(&mut self, state: SyncState, config: &SyncConfig) -> KResult<()>;
    /// Stops the daemon of `state`; ESRCH when none runs.
    fn stop_sync_daemon(&mut self, state: SyncState) -> KResult<()>;
}

/// IPVS connection timeouts, like `ipvsadm --set` / `ipvsadm -L --timeout`.
pub trait IpvsTimeouts {
    /// The three timeouts, like `ipvsadm -L --timeout`; `None` when IPVS is not loaded.
    fn timeouts(&mut self) -> KResult<Option<Timeouts>>;
    /// Sets the timeouts that are not 0 and leaves the others, like `ipvsadm --set TCP
    /// TCPFIN UDP` (loading `ip_vs` if needed); EINVAL above the kernel's limit.
    fn set_timeouts(&mut self, timeouts: &Timeouts) -> KResult<()>;
}

/// Interfaces and addresses, like `ip link` / `ip addr`.
pub trait Addrs {
    /// Every address with its label, like `ip addr show`.
    fn addresses(&mut self) -> KResult<Vec<Address>>;
    /// Every interface, like `ip link show`.
    fn links(&mut self) -> KResult<BTreeMap<String, Link>>;
    /// Every interface with its index, like `ip -o link show`: one deleted and made again
    /// has another index.
    fn indexed_links(&mut self) -> KResult<BTreeMap<String, (u32, Link)>>;
    /// Adds an address, like `ip addr add A dev I label L` (IPv6 without DAD).
    fn add_address(&mut self, address: &Address) -> KResult<()>;
    /// Removes an address, like `ip addr del A dev I`.
    fn del_address(&mut self, address: &Address) -> KResult<()>;
    /// Brings an interface up, like `ip link set I up` (loading `ipip` for `tunl0`).
    fn link_up(&mut self, interface: &str) -> KResult<()>;
    /// The VRRP virtual MAC interfaces: private macvlans (with a VRRP MAC or one of their
    /// own) with their group when not 0, like `ip -d link show type macvlan`.
    fn vmacs(&mut self) -> KResult<Vec<Vmac>>;
    /// Creates a VMAC, down, like `ip link add NAME link PARENT address MAC [group G] type
    /// macvlan mode private`; EEXIST when the name is taken, ENODEV without the parent.
    fn add_vmac(&mut self, vmac: &Vmac) -> KResult<()>;
    /// Deletes a VMAC with its addresses, like `ip link del NAME`.
    fn del_vmac(&mut self, vmac: &Vmac) -> KResult<()>;
    /// Sets an interface's group again to the value it has, like `ip link set I group G`
    /// with its own G: the kernel then sends an RTM_NEWLINK for it (keepalived's
    /// `netlink_notify_msg`).
    fn renotify_link(&mut self, interface: &str) -> KResult<()>;
}

/// Default routes of the main table, announced VIP routes and the routes and rules VRRP
/// masters hold, like `ip route` and `ip rule`.
pub trait Routes {
    /// Default routes (IPv4 and IPv6), like `ip route show default`.
    fn routes(&mut self) -> KResult<Vec<Route>>;
    /// Installs or replaces a route, like `ip route replace`.
    fn set_route(&mut self, route: &Route) -> KResult<()>;
    /// Deletes a route, like `ip route del`.
    fn del_route(&mut self, route: &Route) -> KResult<()>;
    /// The routes lbconverge announces, in every table, like `ip route show proto 76 table all`.
    fn announced(&mut self) -> KResult<Vec<Announced>>;
    /// Installs an announced route, like `ip route replace VIP dev lo table T proto 76`.
    fn announce(&mut self, route: &Announced) -> KResult<()>;
    /// Removes an announced route, like `ip route del VIP table T proto 76`.
    fn withdraw(&mut self, route: &Announced) -> KResult<()>;
    /// The routes VRRP masters hold, in every table, like `ip route show proto 77 table all`.
    fn vrrp_routes(&mut self) -> KResult<Vec<VrrpRoute>>;
    /// Installs or replaces a route a VRRP master holds, like `ip route replace ... proto 77`.
    fn add_vrrp_route(&mut self, route: &VrrpRoute) -> KResult<()>;
    /// Removes a route a VRRP master held, like `ip route del ... proto 77`.
    fn del_vrrp_route(&mut self, route: &VrrpRoute) -> KResult<()>;
    /// The policy routing rules VRRP masters hold, both families, like `ip rule show proto 77`.
    fn vrrp_rules(&mut self) -> KResult<Vec<VrrpRule>>;
    /// Adds a rule a VRRP master holds, like `ip rule add ... proto 77`; one already there
    /// is no error.
    fn add_vrrp_rule(&mut self, rule: &VrrpRule) -> KResult<()>;
    /// Removes a rule a VRRP master held, like `ip rule del ... proto 77`; ENOENT when it
    /// is not there.
    fn del_vrrp_rule(&mut self, rule: &VrrpRule) -> KResult<()>;
}

/// Sysctls under /proc/sys, like `sysctl`.
pub trait Sysctls {
    /// Reads a value, like `sysctl -n K`; `None` when the sysctl does not exist.
    fn read(&mut self, key: &SysctlKey) -> KResult<Option<String>>;
    /// Writes a value, like `sysctl -w K=V`.
    fn write(&mut self, key: &SysctlKey, value: &str) -> KResult<()>;
}

/// The one nftables table lbconverge owns, `table inet lbconverge`, like `nft`. Every write
/// is one transaction: the table is replaced whole or not at all, and no other table is
/// read or touched.
pub trait Firewall {
    /// The table's chain and rules, like `nft list table inet lbconverge`; `None` when
    /// there is no such table.
    fn firewall(&mut self) -> KResult<Option<MarkTable>>;
    /// Replaces the table (creating it if needed) with `table`, in one transaction, like
    /// `nft -f` of `table inet lbconverge {}; delete table inet lbconverge; table inet
    /// lbconverge { chain prerouting { ... } }`.
    fn set_firewall(&mut self, table: &MarkTable) -> KResult<()>;
    /// Deletes the table, like `nft delete table inet lbconverge`; ENOENT when absent.
    fn del_firewall(&mut self) -> KResult<()>;
}

/// Where the ownership ledger lives.
pub trait LedgerStore {
    /// Reads the ledger (empty if none was ever written).
    fn load(&mut self) -> KResult<Ledger>;
    /// Replaces the ledger.
    fn store(&mut self, ledger: &Ledger) -> KResult<()>;
}

/// The host's processes, like `ps` and the kernel's process events connector (what
/// tracked processes count; keepalived's `vrrp_track_process`).
pub trait Processes {
    /// Every process now, zombies left out, like `ps -e`.
    fn processes(&mut self) -> KResult<Vec<Proc>>;
    /// The process events since the last call, waiting up to `wait` for the first;
    /// `Ok(None)` when events were lost (list the processes again).
    fn process_events(&mut self, wait: std::time::Duration) -> KResult<Option<Vec<ProcEvent>>>;
    /// Where the events come from, for the log.
    fn events_source(&self) -> String;
}

/// A whole node kernel.
pub trait Kernel: Ipvs + IpvsTimeouts + SyncDaemons + Addrs + Routes + Sysctls + Firewall + LedgerStore {}

impl<T: Ipvs + IpvsTimeouts + SyncDaemons + Addrs + Routes + Sysctls + Firewall + LedgerStore> Kernel for T {}

/// Reads the live state of this host: all IPVS services, addresses, links, default routes,
/// the firewall-mark table, the ledger, and the sysctls in `scope`, the owned ones and their `all` counterparts.
pub fn snapshot(k: &mut dyn Kernel, scope: &BTreeSet<SysctlKey>) -> KResult<NodeState> {
    let base = snapshot_objects(k)?;
    add_sysctls(k, base, scope)
}

/// The part of a snapshot that needs no manifest: IPVS with its sync daemons, addresses,
/// links and VMACs, routes, the firewall-mark table, ledger.
pub fn snapshot_objects(k: &mut dyn Kernel) -> KResult<NodeState> {
    Ok(NodeState {
        owned: k.load()?,
        services: k.services()?.into_iter().map(|s| (s.key, s)).collect(),
        addresses: k.addresses()?.into_iter().map(|a| (a.key(), a)).collect(),
        links: k.links()?,
        routes: k.routes()?.into_iter().map(|r| (r.destination, r)).collect(),
        sync_daemons: k.sync_daemons()?.into_iter().collect(),
        announced: k.announced()?.into_iter().collect(),
        vrrp_routes: k.vrrp_routes()?.into_iter().collect(),
        vrrp_rules: k.vrrp_rules()?.into_iter().collect(),
        vmacs: k.vmacs()?.into_iter().collect(),
        firewall: k.firewall()?,
        ipvs_timeouts: k.timeouts()?,
        ..NodeState::default()
    })
}

/// Adds the sysctls in `scope`, the owned ones and their `all` counterparts.
pub fn add_sysctls(k: &mut dyn Kernel, mut state: NodeState, scope: &BTreeSet<SysctlKey>) -> KResult<NodeState> {
    let mut keys = scope.clone();
    keys.extend(state.owned.sysctls.keys().cloned());
    for key in sysctl::with_all_variants(&keys) {
        if let Some(v) = k.read(&key)? {
            state.sysctls.insert(key, v);
        }
    }
    Ok(state)
}
