//! An in-memory kernel for tests and previews. It keeps a [`NodeState`] and fails the way the
//! kernel does: EEXIST on duplicate adds, ESRCH for a missing service, ENOENT for a missing
//! destination or scheduler module, ENODEV for a missing interface, EADDRNOTAVAIL when
//! deleting an absent address. A failure can be injected on the Nth write.

use std::collections::BTreeMap;

use super::{Addrs, Ipvs, KResult, KernelError, LedgerStore, Routes, Sysctls};
use crate::model::ipvs::{Dest, DestKey, Service, ServiceKey};
use crate::model::net::{Address, Link, Route};
use crate::model::sysctl::SysctlKey;
use crate::model::{Ledger, NodeState};

const EEXIST: i32 = 17;
const ESRCH: i32 = 3;
const ENOENT: i32 = 2;
const ENODEV: i32 = 19;
const EADDRNOTAVAIL: i32 = 99;

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
}

impl MemKernel {
    /// A kernel holding `state`; its ledger comes from `state.owned`.
    pub fn from_state(mut state: NodeState) -> Self {
        let ledger = std::mem::take(&mut state.owned);
        MemKernel { state, ledger, ..Default::default() }
    }

    fn write(&mut self, op: &str, object: &dyn std::fmt::Display) -> KResult<()> {
        self.writes += 1;
        match self.fail_write {
            Some((n, errno)) if n == self.writes => Err(KernelError::errno(op, object.to_string(), errno)),
            _ => Ok(()),
        }
    }

    fn service_mut(&mut self, op: &str, key: &ServiceKey) -> KResult<&mut Service> {
        self.state.services.get_mut(key).ok_or_else(|| KernelError::errno(op, key.to_string(), ESRCH))
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
            return Err(KernelError::errno("add service", s.key.to_string(), EEXIST));
        }
        if !SCHEDULERS.contains(&s.scheduler.as_str()) || self.missing_schedulers.contains(&s.scheduler) {
            let e = KernelError::errno("add service", s.key.to_string(), ENOENT);
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
            .ok_or_else(|| KernelError::errno("delete service", key.to_string(), ESRCH))
    }
    fn add_dest(&mut self, service: &ServiceKey, d: &Dest) -> KResult<()> {
        let object = dest_object(service, &d.key());
        self.write("add destination", &object)?;
        let svc = self.service_mut("add destination", service)?;
        if svc.dests.contains_key(&d.key()) {
            return Err(KernelError::errno("add destination", object, EEXIST));
        }
        svc.dests.insert(d.key(), Dest { stats: Some(Default::default()), ..d.clone() });
        Ok(())
    }
    fn edit_dest(&mut self, service: &ServiceKey, d: &Dest) -> KResult<()> {
        let object = dest_object(service, &d.key());
        self.write("edit destination", &object)?;
        let svc = self.service_mut("edit destination", service)?;
        let cur = svc.dests.get_mut(&d.key()).ok_or_else(|| KernelError::errno("edit destination", object, ENOENT))?;
        *cur = Dest { stats: cur.stats, ..d.clone() };
        Ok(())
    }
    fn del_dest(&mut self, service: &ServiceKey, d: &DestKey) -> KResult<()> {
        let object = dest_object(service, d);
        self.write("delete destination", &object)?;
        let svc = self.service_mut("delete destination", service)?;
        svc.dests.remove(d).map(|_| ()).ok_or_else(|| KernelError::errno("delete destination", object, ENOENT))
    }
}

impl Addrs for MemKernel {
    fn addresses(&mut self) -> KResult<Vec<Address>> {
        Ok(self.state.addresses.values().cloned().collect())
    }
    fn links(&mut self) -> KResult<BTreeMap<String, Link>> {
        Ok(self.state.links.clone())
    }
    fn add_address(&mut self, a: &Address) -> KResult<()> {
        self.write("add address", a)?;
        if !self.has_interface(&a.interface) {
            return Err(KernelError::errno("add address", a.to_string(), ENODEV));
        }
        if self.state.addresses.contains_key(&a.key()) {
            return Err(KernelError::errno("add address", a.to_string(), EEXIST));
        }
        self.state.addresses.insert(a.key(), a.clone());
        Ok(())
    }
    fn del_address(&mut self, a: &Address) -> KResult<()> {
        self.write("delete address", a)?;
        self.state
            .addresses
            .remove(&a.key())
            .map(|_| ())
            .ok_or_else(|| KernelError::errno("delete address", a.to_string(), EADDRNOTAVAIL))
    }
    fn link_up(&mut self, interface: &str) -> KResult<()> {
        self.write("set link up", &interface)?;
        let creatable = matches!(interface, "tunl0" | "ip6tnl0");
        match self.state.links.get_mut(interface) {
            Some(l) => l.up = true,
            None if creatable => {
                self.state.links.insert(interface.to_string(), Link { up: true });
            }
            None => return Err(KernelError::errno("set link up", interface, ENODEV)),
        }
        Ok(())
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
            .ok_or_else(|| KernelError::errno("delete route", r.to_string(), ESRCH))
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
            return Err(KernelError::errno("write sysctl", key.to_string(), ENOENT));
        }
        self.state.sysctls.insert(key.clone(), value.to_string());
        Ok(())
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
