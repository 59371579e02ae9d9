//! An in-memory kernel for tests and previews. It keeps a [`NodeState`] and fails the way the
//! kernel does: EEXIST on duplicate adds, ESRCH for a missing service, ENOENT for a missing
//! destination or scheduler module, ENODEV for a missing interface, EADDRNOTAVAIL when
//! deleting an absent address, EEXIST / ESRCH for a sync daemon that runs / does not,
//! ENOENT for deleting an absent firewall-mark table, EINVAL for an IPVS timeout above the
//! kernel's limit. A failure can be injected on the Nth
//! write, and every write is recorded. [`Shared`] is one such kernel used from several
//! threads (the daemon's reconcile loop and its VRRP instances), as the real kernel is.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{
    Addrs, Firewall, Ipvs, IpvsOp, IpvsTimeouts, KResult, KernelError, LedgerStore, Processes, Routes, SyncDaemons,
    Sysctls,
};
use crate::model::announce::Announced;
use crate::model::firewall::{self, MarkTable};
use crate::model::ipvs::{Dest, DestKey, Service, ServiceKey, Traffic};
use crate::model::net::{
    Address, IFA_F_HOMEADDRESS, IFA_F_MANAGETEMPADDR, IFA_F_MCAUTOJOIN, Link, Route, Vmac, VrrpRoute, VrrpRule,
};
use crate::model::sync::{SyncConfig, SyncState};
use crate::model::sysctl::SysctlKey;
use crate::model::timeouts::Timeouts;
use crate::model::{Ledger, NodeState};
use crate::vrrp::procs::{Proc, ProcEvent};

/// Schedulers of Debian's 6.1 kernel (`ip_vs_*` modules).
pub const SCHEDULERS: &[&str] =
    &["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf"];

/// A kernel in memory.
#[derive(Debug, Clone, Default)]
pub struct MemKernel {
    /// The kernel objects (its `owned` field is unused; see `ledger`).
    pub state: NodeState,
    /// The stored ledger.
    pub ledger: Ledger,
    /// Scheduler modules that cannot be loaded.
    pub missing_schedulers: Vec<String>,
    /// Fail the Nth write (1-based) with this errno.
    pub fail_write: Option<(usize, i32)>,
    /// Writes so far.
    pub writes: usize,
    /// Every write attempted, as `op object` (`add address 192.0.2.1/32 on eth0`), in order.
    pub history: Vec<String>,
}

impl MemKernel {
    /// A kernel holding `state`; its ledger comes from `state.owned`.
    pub fn from_state(mut state: NodeState) -> Self {
        let ledger = std::mem::take(&mut state.owned);
        MemKernel { state, ledger, ..Default::default() }
    }

    fn write(&mut self, op: &str, object: &dyn std::fmt::Display) -> KResult<()> {
        self.writes += 1;
        self.history.push(format!("{op} {object}"));
        match self.fail_write {
            Some((n, errno)) if n == self.writes => Err(KernelError::errno(op, object.to_string(), errno)),
            _ => Ok(()),
        }
    }

    fn service_mut(&mut self, op: &str, key: &ServiceKey) -> KResult<&mut Service> {
        self.state.services.get_mut(key).ok_or_else(|| KernelError::errno(op, key.to_string(), libc::ESRCH))
    }

    /// Counts traffic the way the kernel does for what it forwards: the destination's
    /// counters and rates and its service's grow by `t` (tests stand it in for clients).
    /// False when there is no such destination.
    pub fn pass_traffic(&mut self, service: &ServiceKey, dest: &DestKey, t: &Traffic) -> bool {
        let Some(svc) = self.state.services.get_mut(service) else { return false };
        let Some(stats) = svc.dests.get_mut(dest).and_then(|d| d.stats.as_mut()) else { return false };
        stats.traffic = stats.traffic.plus(t);
        svc.traffic = svc.traffic.plus(t);
        true
    }

    fn has_interface(&self, name: &str) -> bool {
        self.state.links.contains_key(name)
    }
}

fn dest_object(service: &ServiceKey, dest: &DestKey) -> String {
    format!("{dest} in {service}")
}

impl Ipvs for MemKernel {
    fn services(&mut self) -> KResult<Vec<Service>> {
        Ok(self.state.services.values().cloned().collect())
    }
    fn dests(&mut self, service: &ServiceKey) -> KResult<Vec<Dest>> {
        Ok(self.service_mut("list destinations of", service)?.dests.values().cloned().collect())
    }
    fn add_service(&mut self, s: &Service) -> KResult<()> {
        self.write("add service", &s.key)?;
        if self.state.services.contains_key(&s.key) {
            return Err(KernelError::errno("add service", s.key.to_string(), libc::EEXIST));
        }
        if !SCHEDULERS.contains(&s.scheduler.as_str()) || self.missing_schedulers.contains(&s.scheduler) {
            let e = KernelError::errno("add service", s.key.to_string(), libc::ENOENT);
            return Err(e.with_hint(format!(
                "scheduler module ip_vs_{} is not available; try: modprobe ip_vs_{}",
                s.scheduler, s.scheduler
            )));
        }
        self.state.services.insert(s.key, s.settings_only());
        Ok(())
    }
    fn edit_service(&mut self, s: &Service) -> KResult<()> {
        self.write("edit service", &s.key)?;
        let cur = self.service_mut("edit service", &s.key)?;
        (cur.scheduler, cur.sched_flags, cur.persistence, cur.one_packet) =
            (s.scheduler.clone(), s.sched_flags, s.persistence, s.one_packet);
        Ok(())
    }
    fn del_service(&mut self, key: &ServiceKey) -> KResult<()> {
        self.write("delete service", key)?;
        self.state
            .services
            .remove(key)
            .map(|_| ())
            .ok_or_else(|| KernelError::errno("delete service", key.to_string(), libc::ESRCH))
    }
    fn add_dest(&mut self, service: &ServiceKey, d: &Dest) -> KResult<()> {
        let object = dest_object(service, &d.key());
        self.write("add destination", &object)?;
        let svc = self.service_mut("add destination", service)?;
        if svc.dests.contains_key(&d.key()) {
            return Err(KernelError::errno("add destination", object, libc::EEXIST));
        }
        svc.dests.insert(d.key(), Dest { stats: Some(Default::default()), ..d.clone() });
        Ok(())
    }
    fn edit_dest(&mut self, service: &ServiceKey, d: &Dest) -> KResult<()> {
        let object = dest_object(service, &d.key());
        self.write("edit destination", &object)?;
        let svc = self.service_mut("edit destination", service)?;
        let cur =
            svc.dests.get_mut(&d.key()).ok_or_else(|| KernelError::errno("edit destination", object, libc::ENOENT))?;
        *cur = Dest { stats: cur.stats, ..d.clone() };
        Ok(())
    }
    fn del_dest(&mut self, service: &ServiceKey, d: &DestKey) -> KResult<()> {
        let object = dest_object(service, d);
        self.write("delete destination", &object)?;
        let svc = self.service_mut("delete destination", service)?;
        svc.dests.remove(d).map(|_| ()).ok_or_else(|| KernelError::errno("delete destination", object, libc::ENOENT))
    }
}

impl IpvsTimeouts for MemKernel {
    fn timeouts(&mut self) -> KResult<Option<Timeouts>> {
        Ok(self.state.ipvs_timeouts)
    }
    /// Starts from a fresh kernel's values when IPVS was not loaded, as `modprobe ip_vs` does.
    fn set_timeouts(&mut self, t: &Timeouts) -> KResult<()> {
        let object = format!("IPVS timeouts (tcp tcpfin udp) {} {} {}", t.tcp, t.tcp_fin, t.udp);
        self.write("set", &object)?;
        if t.fields().iter().any(|&(_, v)| v > Timeouts::MAX) {
            return Err(KernelError::errno("set", object, libc::EINVAL));
        }
        self.state.ipvs_timeouts = Some(t.over(&self.state.ipvs_timeouts.unwrap_or(Timeouts::LINUX)));
        Ok(())
    }
}

impl SyncDaemons for MemKernel {
    fn sync_daemons(&mut self) -> KResult<Vec<(SyncState, SyncConfig)>> {
        Ok(self.state.sync_daemons.iter().map(|(s, c)| (*s, c.clone())).collect())
    }
    /// Reports the kernel's defaults for what `config` leaves unset (an MTU of 1500).
    fn start_sync_daemon(&mut self, state: SyncState, config: &SyncConfig) -> KResult<()> {
        let object = format!("{state} sync daemon");
        self.write("start", &object)?;
        if !self.has_interface(&config.interface) {
            return Err(KernelError::errno("start", object, libc::ENODEV));
        }
        if self.state.sync_daemons.contains_key(&state) {
            return Err(KernelError::errno("start", object, libc::EEXIST));
        }
        let group = config.group.unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::new(224, 0, 0, 81)));
        let headers = if group.is_ipv6() { 48 } else { 28 };
        let live = SyncConfig {
            max_len: Some(config.max_len.unwrap_or(1500 - headers)),
            group: Some(group),
            port: Some(config.port.unwrap_or(8848)),
            ttl: Some(config.ttl.unwrap_or(1)),
            ..config.clone()
        };
        self.state.sync_daemons.insert(state, live);
        Ok(())
    }
    fn stop_sync_daemon(&mut self, state: SyncState) -> KResult<()> {
        let object = format!("{state} sync daemon");
        self.write("stop", &object)?;
        self.state
            .sync_daemons
            .remove(&state)
            .map(|_| ())
            .ok_or_else(|| KernelError::errno("stop", object, libc::ESRCH))
    }
}

impl Addrs for MemKernel {
    fn addresses(&mut self) -> KResult<Vec<Address>> {
        Ok(self.state.addresses.values().cloned().collect())
    }
    fn links(&mut self) -> KResult<BTreeMap<String, Link>> {
        Ok(self.state.links.clone())
    }
    /// Links have no index here: each counts as 1 (one made again is seen by its absence).
    fn indexed_links(&mut self) -> KResult<BTreeMap<String, (u32, Link)>> {
        Ok(self.state.links.iter().map(|(n, l)| (n.clone(), (1, *l))).collect())
    }
    fn add_address(&mut self, a: &Address) -> KResult<()> {
        self.write("add address", a)?;
        if !self.has_interface(&a.interface) {
            return Err(KernelError::errno("add address", a.to_string(), libc::ENODEV));
        }
        if self.state.addresses.contains_key(&a.key()) {
            return Err(KernelError::errno("add address", a.to_string(), libc::EEXIST));
        }
        let kept = as_kept(a).map_err(|n| KernelError::errno("add address", a.to_string(), n))?;
        self.state.addresses.insert(a.key(), kept);
        Ok(())
    }
    fn del_address(&mut self, a: &Address) -> KResult<()> {
        self.write("delete address", a)?;
        self.state
            .addresses
            .remove(&a.key())
            .map(|_| ())
            .ok_or_else(|| KernelError::errno("delete address", a.to_string(), libc::EADDRNOTAVAIL))
    }
    fn link_up(&mut self, interface: &str) -> KResult<()> {
        self.write("set link up", &interface)?;
        let creatable = matches!(interface, "tunl0" | "ip6tnl0");
        match self.state.links.get_mut(interface) {
            Some(l) => l.up = true,
            None if creatable => {
                self.state.links.insert(interface.to_string(), Link::UP);
            }
            None => return Err(KernelError::errno("set link up", interface, libc::ENODEV)),
        }
        Ok(())
    }
    fn vmacs(&mut self) -> KResult<Vec<Vmac>> {
        Ok(self.state.vmacs.iter().cloned().collect())
    }
    fn add_vmac(&mut self, v: &Vmac) -> KResult<()> {
        self.write("add VMAC", v)?;
        if !self.has_interface(&v.parent) {
            return Err(KernelError::errno("add VMAC", v.to_string(), libc::ENODEV));
        }
        if self.has_interface(&v.name) {
            return Err(KernelError::errno("add VMAC", v.to_string(), libc::EEXIST));
        }
        self.state.links.insert(v.name.clone(), Link { up: false, carrier: true });
        self.state.vmacs.insert(v.clone());
        Ok(())
    }
    fn del_vmac(&mut self, v: &Vmac) -> KResult<()> {
        self.write("delete VMAC", v)?;
        if !self.state.vmacs.remove(v) {
            return Err(KernelError::errno("delete VMAC", v.to_string(), libc::ENODEV));
        }
        self.state.links.remove(&v.name);
        self.state.addresses.retain(|k, _| k.interface != v.name);
        self.state.sysctls.retain(|k, _| k.conf_interface() != Some(v.name.as_str()));
        Ok(())
    }
    /// Changes nothing: the write is in `history`.
    fn renotify_link(&mut self, interface: &str) -> KResult<()> {
        self.write("renotify link", &interface)?;
        match self.has_interface(interface) {
            true => Ok(()),
            false => Err(KernelError::errno("renotify link", interface, libc::ENODEV)),
        }
    }
}

impl Routes for MemKernel {
    fn routes(&mut self) -> KResult<Vec<Route>> {
        Ok(self.state.routes.values().cloned().collect())
    }
    fn set_route(&mut self, r: &Route) -> KResult<()> {
        self.write("set route", r)?;
        self.state.routes.insert(r.destination, r.clone());
        Ok(())
    }
    fn del_route(&mut self, r: &Route) -> KResult<()> {
        self.write("delete route", r)?;
        self.state
            .routes
            .remove(&r.destination)
            .map(|_| ())
            .ok_or_else(|| KernelError::errno("delete route", r.to_string(), libc::ESRCH))
    }
    fn announced(&mut self) -> KResult<Vec<Announced>> {
        Ok(self.state.announced.iter().copied().collect())
    }
    fn announce(&mut self, r: &Announced) -> KResult<()> {
        self.write("announce route", r)?;
        self.state.announced.insert(*r);
        Ok(())
    }
    fn withdraw(&mut self, r: &Announced) -> KResult<()> {
        self.write("withdraw route", r)?;
        if self.state.announced.remove(r) {
            Ok(())
        } else {
            Err(KernelError::errno("withdraw route", r.to_string(), libc::ESRCH))
        }
    }
    fn vrrp_routes(&mut self) -> KResult<Vec<VrrpRoute>> {
        Ok(self.state.vrrp_routes.iter().cloned().collect())
    }
    fn add_vrrp_route(&mut self, r: &VrrpRoute) -> KResult<()> {
        self.write("add vrrp route", r)?;
        self.state.vrrp_routes.retain(|x| (x.to, x.table, x.metric) != (r.to, r.table, r.metric));
        self.state.vrrp_routes.insert(r.clone());
        Ok(())
    }
    fn del_vrrp_route(&mut self, r: &VrrpRoute) -> KResult<()> {
        self.write("delete vrrp route", r)?;
        if self.state.vrrp_routes.remove(r) {
            Ok(())
        } else {
            Err(KernelError::errno("delete vrrp route", r.to_string(), libc::ESRCH))
        }
    }
    fn vrrp_rules(&mut self) -> KResult<Vec<VrrpRule>> {
        Ok(self.state.vrrp_rules.iter().cloned().collect())
    }
    fn add_vrrp_rule(&mut self, r: &VrrpRule) -> KResult<()> {
        self.write("add vrrp rule", r)?;
        if !rule_takes(r) {
            return Err(KernelError::errno("add vrrp rule", r.to_string(), libc::EINVAL));
        }
        self.state.vrrp_rules.insert(r.clone());
        Ok(())
    }
    fn del_vrrp_rule(&mut self, r: &VrrpRule) -> KResult<()> {
        self.write("delete vrrp rule", r)?;
        if self.state.vrrp_rules.remove(r) {
            Ok(())
        } else {
            Err(KernelError::errno("delete vrrp rule", r.to_string(), libc::ENOENT))
        }
    }
}

impl Sysctls for MemKernel {
    fn read(&mut self, key: &SysctlKey) -> KResult<Option<String>> {
        Ok(self.state.sysctls.get(key).cloned())
    }
    fn write(&mut self, key: &SysctlKey, value: &str) -> KResult<()> {
        MemKernel::write(self, "write sysctl", key)?;
        let iface_ok = match key.conf_interface() {
            Some("all" | "default") | None => true,
            Some(i) => self.has_interface(i),
        };
        if !iface_ok {
            return Err(KernelError::errno("write sysctl", key.to_string(), libc::ENOENT));
        }
        self.state.sysctls.insert(key.clone(), value.to_string());
        Ok(())
    }
}

/// The table's name in errors: `table inet lbconverge`.
fn table_object() -> String {
    format!("table inet {}", firewall::TABLE)
}

impl Firewall for MemKernel {
    fn firewall(&mut self) -> KResult<Option<MarkTable>> {
        Ok(self.state.firewall.clone())
    }
    /// Replaces the table whole, as one transaction does; a failure leaves it as it was.
    fn set_firewall(&mut self, table: &MarkTable) -> KResult<()> {
        self.write("replace nftables", &table_object())?;
        self.state.firewall = Some(MarkTable { foreign: Vec::new(), ..table.without_hits() });
        Ok(())
    }
    fn del_firewall(&mut self) -> KResult<()> {
        self.write("delete nftables", &table_object())?;
        match self.state.firewall.take() {
            Some(_) => Ok(()),
            None => Err(KernelError::errno("delete nftables", table_object(), libc::ENOENT)),
        }
    }
}

impl LedgerStore for MemKernel {
    fn load(&mut self) -> KResult<Ledger> {
        Ok(self.ledger.clone())
    }
    fn store(&mut self, ledger: &Ledger) -> KResult<()> {
        self.ledger = ledger.clone();
        Ok(())
    }
}

/// One in-memory kernel shared by several threads; each clone is a handle on the same one.
#[derive(Debug, Clone, Default)]
pub struct Shared(Arc<Mutex<MemKernel>>);

impl Shared {
    /// Shares `k`.
    pub fn new(k: MemKernel) -> Self {
        Shared(Arc::new(Mutex::new(k)))
    }
    /// The kernel itself, for a look or a change behind the daemon's back.
    pub fn lock(&self) -> MutexGuard<'_, MemKernel> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Ipvs for Shared {
    fn services(&mut self) -> KResult<Vec<Service>> {
        self.lock().services()
    }
    fn dests(&mut self, service: &ServiceKey) -> KResult<Vec<Dest>> {
        self.lock().dests(service)
    }
    fn add_service(&mut self, s: &Service) -> KResult<()> {
        self.lock().add_service(s)
    }
    fn edit_service(&mut self, s: &Service) -> KResult<()> {
        self.lock().edit_service(s)
    }
    fn del_service(&mut self, key: &ServiceKey) -> KResult<()> {
        self.lock().del_service(key)
    }
    fn add_dest(&mut self, service: &ServiceKey, d: &Dest) -> KResult<()> {
        self.lock().add_dest(service, d)
    }
    fn edit_dest(&mut self, service: &ServiceKey, d: &Dest) -> KResult<()> {
        self.lock().edit_dest(service, d)
    }
    fn del_dest(&mut self, service: &ServiceKey, d: &DestKey) -> KResult<()> {
        self.lock().del_dest(service, d)
    }
    fn batch(&mut self, ops: &[IpvsOp]) -> KResult<Vec<KResult<()>>> {
        self.lock().batch(ops)
    }
}

impl IpvsTimeouts for Shared {
    fn timeouts(&mut self) -> KResult<Option<Timeouts>> {
        self.lock().timeouts()
    }
    fn set_timeouts(&mut self, timeouts: &Timeouts) -> KResult<()> {
        self.lock().set_timeouts(timeouts)
    }
}

impl SyncDaemons for Shared {
    fn sync_daemons(&mut self) -> KResult<Vec<(SyncState, SyncConfig)>> {
        self.lock().sync_daemons()
    }
    fn start_sync_daemon(&mut self, state: SyncState, config: &SyncConfig) -> KResult<()> {
        self.lock().start_sync_daemon(state, config)
    }
    fn stop_sync_daemon(&mut self, state: SyncState) -> KResult<()> {
        self.lock().stop_sync_daemon(state)
    }
}

impl Addrs for Shared {
    fn addresses(&mut self) -> KResult<Vec<Address>> {
        self.lock().addresses()
    }
    fn links(&mut self) -> KResult<BTreeMap<String, Link>> {
        self.lock().links()
    }
    fn indexed_links(&mut self) -> KResult<BTreeMap<String, (u32, Link)>> {
        self.lock().indexed_links()
    }
    fn add_address(&mut self, a: &Address) -> KResult<()> {
        self.lock().add_address(a)
    }
    fn del_address(&mut self, a: &Address) -> KResult<()> {
        self.lock().del_address(a)
    }
    fn link_up(&mut self, interface: &str) -> KResult<()> {
        self.lock().link_up(interface)
    }
    fn vmacs(&mut self) -> KResult<Vec<Vmac>> {
        self.lock().vmacs()
    }
    fn add_vmac(&mut self, v: &Vmac) -> KResult<()> {
        self.lock().add_vmac(v)
    }
    fn del_vmac(&mut self, v: &Vmac) -> KResult<()> {
        self.lock().del_vmac(v)
    }
    fn renotify_link(&mut self, interface: &str) -> KResult<()> {
        self.lock().renotify_link(interface)
    }
}

impl Routes for Shared {
    fn routes(&mut self) -> KResult<Vec<Route>> {
        self.lock().routes()
    }
    fn set_route(&mut self, r: &Route) -> KResult<()> {
        self.lock().set_route(r)
    }
    fn del_route(&mut self, r: &Route) -> KResult<()> {
        self.lock().del_route(r)
    }
    fn announced(&mut self) -> KResult<Vec<Announced>> {
        self.lock().announced()
    }
    fn announce(&mut self, r: &Announced) -> KResult<()> {
        self.lock().announce(r)
    }
    fn withdraw(&mut self, r: &Announced) -> KResult<()> {
        self.lock().withdraw(r)
    }
    fn vrrp_routes(&mut self) -> KResult<Vec<VrrpRoute>> {
        self.lock().vrrp_routes()
    }
    fn add_vrrp_route(&mut self, r: &VrrpRoute) -> KResult<()> {
        self.lock().add_vrrp_route(r)
    }
    fn del_vrrp_route(&mut self, r: &VrrpRoute) -> KResult<()> {
        self.lock().del_vrrp_route(r)
    }
    fn vrrp_rules(&mut self) -> KResult<Vec<VrrpRule>> {
        self.lock().vrrp_rules()
    }
    fn add_vrrp_rule(&mut self, r: &VrrpRule) -> KResult<()> {
        self.lock().add_vrrp_rule(r)
    }
    fn del_vrrp_rule(&mut self, r: &VrrpRule) -> KResult<()> {
        self.lock().del_vrrp_rule(r)
    }
}

impl Sysctls for Shared {
    fn read(&mut self, key: &SysctlKey) -> KResult<Option<String>> {
        self.lock().read(key)
    }
    fn write(&mut self, key: &SysctlKey, value: &str) -> KResult<()> {
        Sysctls::write(&mut *self.lock(), key, value)
    }
}

impl Firewall for Shared {
    fn firewall(&mut self) -> KResult<Option<MarkTable>> {
        self.lock().firewall()
    }
    fn set_firewall(&mut self, table: &MarkTable) -> KResult<()> {
        self.lock().set_firewall(table)
    }
    fn del_firewall(&mut self) -> KResult<()> {
        self.lock().del_firewall()
    }
}

impl LedgerStore for Shared {
    fn load(&mut self) -> KResult<Ledger> {
        self.lock().load()
    }
    fn store(&mut self, ledger: &Ledger) -> KResult<()> {
        self.lock().store(ledger)
    }
}

/// An in-memory process table with its events, shared by clones: a test starts and ends
/// processes ([`MemProcesses::start`], [`MemProcesses::end`]) and the daemon sees them as
/// it sees the kernel's process events.
#[derive(Clone, Default)]
pub struct MemProcesses(Arc<Mutex<ProcTable>>);

/// The processes by pid, and the events not read yet.
type ProcTable = (BTreeMap<u32, Proc>, Vec<ProcEvent>);

impl MemProcesses {
    fn lock(&self) -> MutexGuard<'_, ProcTable> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A process `pid` running `argv`, named after `argv[0]`'s last part (an exec).
    pub fn start(&self, pid: u32, argv: &[&str]) {
        let name = argv.first().map(|a| a.rsplit('/').next().unwrap_or(a)).unwrap_or_default();
        let comm = name.bytes().take(15).collect();
        let cmdline = argv.iter().flat_map(|a| a.bytes().chain([0])).collect();
        let p = Proc { pid, ppid: 1, comm, cmdline };
        let mut t = self.lock();
        t.0.insert(pid, p.clone());
        t.1.push(ProcEvent::Exec(p));
    }

    /// Process `pid` ends (an exit).
    pub fn end(&self, pid: u32) {
        let mut t = self.lock();
        t.0.remove(&pid);
        t.1.push(ProcEvent::Exit(pid));
    }
}

impl Processes for MemProcesses {
    fn processes(&mut self) -> KResult<Vec<Proc>> {
        let mut t = self.lock();
        t.1.clear();
        Ok(t.0.values().cloned().collect())
    }

    fn process_events(&mut self, wait: std::time::Duration) -> KResult<Option<Vec<ProcEvent>>> {
        let events = std::mem::take(&mut self.lock().1);
        if events.is_empty() {
            std::thread::sleep(wait.min(std::time::Duration::from_millis(20)));
        }
        Ok(Some(events))
    }

    fn events_source(&self) -> String {
        "the in-memory process table".into()
    }
}

/// What the kernel takes of a rule's selectors: a DS field without ECN bits (IPv4: TOS
/// bits only), port ranges 1..65534 in order.
fn rule_takes(r: &VrrpRule) -> bool {
    let o = &r.options;
    let tos_bits: u8 = if r.v6 { 0xfc } else { 0x1c };
    let ports = |p: Option<(u16, u16)>| p.is_none_or(|(a, b)| a != 0 && a <= b && b < u16::MAX);
    o.tos.is_none_or(|t| t & !tos_bits == 0) && ports(o.sport) && ports(o.dport)
}

/// The address as the kernel keeps and reports it: EINVAL for `autojoin` on a unicast
/// address or `mngtmpaddr` on an IPv6 prefix other than /64; IPv4 drops the IPv6-only flags;
/// DAD is not reported back.
fn as_kept(a: &Address) -> Result<Address, i32> {
    let o = &a.options;
    let ip = a.address.addr();
    if o.flags & IFA_F_MCAUTOJOIN != 0 && !ip.is_multicast() {
        return Err(libc::EINVAL);
    }
    if o.flags & IFA_F_MANAGETEMPADDR != 0 && ip.is_ipv6() && a.address.prefix_len() != 64 {
        return Err(libc::EINVAL);
    }
    let mut kept = a.clone();
    kept.options.dad = false;
    if ip.is_ipv4() {
        kept.options.flags &= !(IFA_F_HOMEADDRESS | IFA_F_MANAGETEMPADDR);
        kept.options.preferred_lft = None;
    }
    Ok(kept)
}
