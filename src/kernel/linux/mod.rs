//! The real kernel: IPVS over generic netlink, links/addresses/routes over rtnetlink,
//! sysctls under /proc/sys, the firewall-mark table through `nft -j`, the ledger in a state
//! directory.

pub mod ipvs;
pub mod ipvs_attrs;
pub mod ipvs_codec;
pub mod ledger;
pub mod lwtunnel;
pub mod modules;
pub mod nft;
pub mod nl;
pub mod procs;
pub mod rtnl;
pub mod sysctl;

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{Addrs, Firewall, Ipvs, IpvsOp, IpvsTimeouts, KResult, LedgerStore, Routes, SyncDaemons, Sysctls};
use crate::model::Ledger;
use crate::model::announce::Announced;
use crate::model::firewall::MarkTable;
use crate::model::ipvs::{Dest, DestKey, Service, ServiceKey};
use crate::model::net::{Address, Link, Route, Vmac, VrrpRoute, VrrpRule};
use crate::model::sync::{SyncConfig, SyncState};
use crate::model::sysctl::SysctlKey;
use crate::model::timeouts::Timeouts;

/// This host's kernel.
pub struct LinuxKernel {
    /// Netlink write requests sent (IPVS and rtnetlink), for reports and benchmarks.
    pub netlink_writes: u64,
    /// Sysctl values written.
    pub sysctl_writes: u64,
    /// nftables transactions run.
    pub nft_writes: u64,
    ipvs: Option<ipvs::NetlinkIpvs>,
    rtnl: Option<rtnl::Rtnl>,
    sysctl: sysctl::ProcSys,
    nft: nft::Nft,
    ledger: ledger::FileLedger,
}

impl LinuxKernel {
    /// The kernel of the network namespace this process runs in; the ledger lives in
    /// `state_dir`.
    pub fn new(state_dir: PathBuf) -> Self {
        LinuxKernel {
            netlink_writes: 0,
            sysctl_writes: 0,
            nft_writes: 0,
            ipvs: None,
            rtnl: None,
            sysctl: sysctl::ProcSys::default(),
            nft: nft::Nft::default(),
            ledger: ledger::FileLedger::new(state_dir),
        }
    }

    fn ipvs(&mut self) -> KResult<&mut ipvs::NetlinkIpvs> {
        match &mut self.ipvs {
            Some(i) => Ok(i),
            slot => Ok(slot.insert(ipvs::NetlinkIpvs::open()?)),
        }
    }

    fn rtnl(&mut self) -> KResult<&mut rtnl::Rtnl> {
        match &mut self.rtnl {
            Some(r) => Ok(r),
            slot => Ok(slot.insert(rtnl::Rtnl::open()?)),
        }
    }

    fn one(&mut self, op: IpvsOp) -> KResult<()> {
        self.batch(std::slice::from_ref(&op))?.pop().unwrap_or(Ok(()))
    }

    fn counted<T>(&mut self, f: impl FnOnce(&mut rtnl::Rtnl) -> KResult<T>) -> KResult<T> {
        self.netlink_writes += 1;
        f(self.rtnl()?)
    }
}

impl Ipvs for LinuxKernel {
    fn services(&mut self) -> KResult<Vec<Service>> {
        self.ipvs()?.services()
    }
    fn dests(&mut self, service: &ServiceKey) -> KResult<Vec<Dest>> {
        self.ipvs()?.dests(service)
    }
    fn add_service(&mut self, s: &Service) -> KResult<()> {
        self.one(IpvsOp::AddService(s.clone()))
    }
    fn edit_service(&mut self, s: &Service) -> KResult<()> {
        self.one(IpvsOp::EditService(s.clone()))
    }
    fn del_service(&mut self, key: &ServiceKey) -> KResult<()> {
        self.one(IpvsOp::DelService(*key))
    }
    fn add_dest(&mut self, service: &ServiceKey, d: &Dest) -> KResult<()> {
        self.one(IpvsOp::AddDest(*service, d.clone()))
    }
    fn edit_dest(&mut self, service: &ServiceKey, d: &Dest) -> KResult<()> {
        self.one(IpvsOp::EditDest(*service, d.clone()))
    }
    fn del_dest(&mut self, service: &ServiceKey, d: &DestKey) -> KResult<()> {
        let dest = Dest {
            address: d.addr,
            port: d.port,
            forwarding: crate::model::ipvs::Forwarding::Dr,
            weight: 0,
            upper_threshold: 0,
            lower_threshold: 0,
            stats: None,
        };
        self.one(IpvsOp::DelDest(*service, dest))
    }
    fn batch(&mut self, ops: &[IpvsOp]) -> KResult<Vec<KResult<()>>> {
        let results = self.ipvs()?.batch(ops)?;
        self.netlink_writes += results.len() as u64;
        Ok(results)
    }
}

impl SyncDaemons for LinuxKernel {
    fn sync_daemons(&mut self) -> KResult<Vec<(SyncState, SyncConfig)>> {
        self.ipvs()?.sync_daemons()
    }
    fn start_sync_daemon(&mut self, state: SyncState, config: &SyncConfig) -> KResult<()> {
        self.netlink_writes += 1;
        self.ipvs()?.start_sync_daemon(state, config)
    }
    fn stop_sync_daemon(&mut self, state: SyncState) -> KResult<()> {
        self.netlink_writes += 1;
        self.ipvs()?.stop_sync_daemon(state)
    }
}

impl IpvsTimeouts for LinuxKernel {
    fn timeouts(&mut self) -> KResult<Option<Timeouts>> {
        self.ipvs()?.timeouts()
    }
    fn set_timeouts(&mut self, timeouts: &Timeouts) -> KResult<()> {
        self.netlink_writes += 1;
        self.ipvs()?.set_timeouts(timeouts)
    }
}

impl Addrs for LinuxKernel {
    fn addresses(&mut self) -> KResult<Vec<Address>> {
        self.rtnl()?.addresses()
    }
    fn links(&mut self) -> KResult<BTreeMap<String, Link>> {
        self.rtnl()?.links()
    }
    fn indexed_links(&mut self) -> KResult<BTreeMap<String, (u32, Link)>> {
        self.rtnl()?.indexed_links()
    }
    fn add_address(&mut self, a: &Address) -> KResult<()> {
        self.counted(|r| r.add_address(a))
    }
    fn del_address(&mut self, a: &Address) -> KResult<()> {
        self.counted(|r| r.del_address(a))
    }
    fn link_up(&mut self, interface: &str) -> KResult<()> {
        self.counted(|r| r.link_up(interface))
    }
    fn vmacs(&mut self) -> KResult<Vec<Vmac>> {
        self.rtnl()?.vmacs()
    }
    fn add_vmac(&mut self, v: &Vmac) -> KResult<()> {
        self.counted(|r| r.add_vmac(v))
    }
    fn del_vmac(&mut self, v: &Vmac) -> KResult<()> {
        self.counted(|r| r.del_vmac(v))
    }
    fn renotify_link(&mut self, interface: &str) -> KResult<()> {
        self.counted(|r| r.renotify_link(interface))
    }
}

impl Routes for LinuxKernel {
    fn routes(&mut self) -> KResult<Vec<Route>> {
        self.rtnl()?.routes()
    }
    fn set_route(&mut self, r: &Route) -> KResult<()> {
        self.counted(|n| n.set_route(r))
    }
    fn del_route(&mut self, r: &Route) -> KResult<()> {
        self.counted(|n| n.del_route(r))
    }
    fn announced(&mut self) -> KResult<Vec<Announced>> {
        self.rtnl()?.announced()
    }
    fn announce(&mut self, r: &Announced) -> KResult<()> {
        self.counted(|n| n.announce(r))
    }
    fn withdraw(&mut self, r: &Announced) -> KResult<()> {
        self.counted(|n| n.withdraw(r))
    }
    fn vrrp_routes(&mut self) -> KResult<Vec<VrrpRoute>> {
        self.rtnl()?.vrrp_routes()
    }
    fn add_vrrp_route(&mut self, r: &VrrpRoute) -> KResult<()> {
        self.counted(|n| n.add_vrrp_route(r))
    }
    fn del_vrrp_route(&mut self, r: &VrrpRoute) -> KResult<()> {
        self.counted(|n| n.del_vrrp_route(r))
    }
    fn vrrp_rules(&mut self) -> KResult<Vec<VrrpRule>> {
        self.rtnl()?.vrrp_rules()
    }
    fn add_vrrp_rule(&mut self, r: &VrrpRule) -> KResult<()> {
        self.counted(|n| n.add_vrrp_rule(r))
    }
    fn del_vrrp_rule(&mut self, r: &VrrpRule) -> KResult<()> {
        self.counted(|n| n.del_vrrp_rule(r))
    }
}

impl Sysctls for LinuxKernel {
    fn read(&mut self, key: &SysctlKey) -> KResult<Option<String>> {
        self.sysctl.read(key)
    }
    fn write(&mut self, key: &SysctlKey, value: &str) -> KResult<()> {
        self.sysctl_writes += 1;
        self.sysctl.write(key, value)
    }
}

impl Firewall for LinuxKernel {
    fn firewall(&mut self) -> KResult<Option<MarkTable>> {
        self.nft.table()
    }
    fn set_firewall(&mut self, table: &MarkTable) -> KResult<()> {
        self.nft_writes += 1;
        self.nft.replace(table)
    }
    fn del_firewall(&mut self) -> KResult<()> {
        self.nft_writes += 1;
        self.nft.delete()
    }
}

impl LedgerStore for LinuxKernel {
    fn load(&mut self) -> KResult<Ledger> {
        self.ledger.load()
    }
    fn store(&mut self, l: &Ledger) -> KResult<()> {
        self.ledger.store(l)
    }
}
