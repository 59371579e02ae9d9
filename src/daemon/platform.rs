//! What the daemon's threads need from the host besides the reconcile loop's kernel: a handle
//! on interfaces and addresses per thread (VRRP instances move their VIPs through [`Addrs`],
//! the tracker reads link states), one on the IPVS sync daemons (an instance switches them
//! on its transitions), the processes tracked processes count, per VRRP instance its wire: the protocol-112 (AH: 51) socket,
//! the announcer, and the address adverts go out from; and a place to give back the memory
//! only start-up used ([`Platform::settle`]).
//!
//! An instance one of whose interfaces is missing runs on an [`Unbound`] wire (nothing sent
//! or heard, in FAULT) until its thread opens a real one through its [`Opener`].
//!
//! [`Linux`] is this host (rtnetlink, raw sockets); [`mem::MemPlatform`] is the in-memory
//! kernel with a wire that records what is sent, for tests of the daemon itself.

pub mod mem;

use std::collections::BTreeMap;
use std::io;
use std::net::IpAddr;
use std::os::fd::RawFd;

use super::error::InstanceError;
use super::spec::InstanceSpec;
use crate::kernel::linux::ipvs::NetlinkIpvs;
use crate::kernel::linux::rtnl::Rtnl;
use crate::kernel::{Addrs, KResult, Processes, Routes, SyncDaemons};
use crate::vrrp::announce::Announcer;
use crate::vrrp::net::{Received, VrrpSocket};

/// One VRRP instance's connection to its network.
pub trait Wire: Send {
    /// The address adverts go out from.
    fn source(&self) -> IpAddr;
    /// A descriptor that polls readable when an advert waits.
    fn fd(&self) -> RawFd;
    /// Sends one VRRP message to `dst` (the group or a unicast peer).
    fn send(&mut self, payload: &[u8], dst: IpAddr) -> io::Result<()>;
    /// Sends one whole IPv4 packet (an IPsec AH advert, whose digest covers the IP header).
    fn send_packet(&mut self, packet: &[u8], dst: IpAddr) -> io::Result<()>;
    /// Reads one waiting packet.
    fn recv(&mut self) -> io::Result<Received>;
    /// Sends `count` gratuitous ARPs (IPv4) or unsolicited NAs (IPv6) for `vip`.
    /// Sends `count` gratuitous ARPs / unsolicited NAs of `vip` out of `interface`.
    fn announce(&mut self, vip: IpAddr, interface: &str, count: u32) -> io::Result<()>;
    /// Why it cannot carry anything yet (an interface it needs is missing); `None` once open.
    fn waiting(&self) -> Option<&str> {
        None
    }
}

/// Opens wires from an instance's own thread: it binds again, by name, when one of its
/// interfaces is re-created or appears.
pub type Opener = Box<dyn Fn(&InstanceSpec) -> Result<Box<dyn Wire>, InstanceError> + Send>;

/// Opens one instance's wire, like [`Platform::wire`].
pub type OpenWire<'a> = dyn Fn(&InstanceSpec) -> Result<Box<dyn Wire>, InstanceError> + 'a;

/// The wire of an instance one of whose interfaces is missing: nothing is sent or heard
/// until it is replaced by an open one. Polling its descriptor (-1) never wakes.
pub struct Unbound {
    source: IpAddr,
    why: String,
}

impl Unbound {
    /// A wire waiting because of `why`, keeping `source` as the adverts' source meanwhile.
    pub fn new(source: IpAddr, why: String) -> Unbound {
        Unbound { source, why }
    }
}

impl Wire for Unbound {
    fn source(&self) -> IpAddr {
        self.source
    }
    fn fd(&self) -> RawFd {
        -1
    }
    fn send(&mut self, _payload: &[u8], _dst: IpAddr) -> io::Result<()> {
        Err(io::Error::other(self.why.clone()))
    }
    fn send_packet(&mut self, _packet: &[u8], _dst: IpAddr) -> io::Result<()> {
        Err(io::Error::other(self.why.clone()))
    }
    fn recv(&mut self) -> io::Result<Received> {
        Err(io::ErrorKind::WouldBlock.into())
    }
    fn announce(&mut self, _vip: IpAddr, _interface: &str, _count: u32) -> io::Result<()> {
        Err(io::Error::other(self.why.clone()))
    }
    fn waiting(&self) -> Option<&str> {
        Some(&self.why)
    }
}

/// The first of `spec`'s wire interfaces ([`InstanceSpec::wire_interfaces`]) missing from
/// the host's `links`, as the reason the instance waits.
pub fn missing_interface(spec: &InstanceSpec, links: &BTreeMap<String, crate::model::net::Link>) -> Option<String> {
    let missing = spec.wire_interfaces().into_iter().find(|i| !links.contains_key(*i))?;
    Some(format!("interface {missing} does not exist"))
}

/// `spec`'s wire from `open` when every interface it needs exists in `links`, else an
/// [`Unbound`] wire (with `source`) naming the one missing.
pub fn open_or_wait(
    open: &OpenWire<'_>,
    spec: &InstanceSpec,
    links: &BTreeMap<String, crate::model::net::Link>,
    source: IpAddr,
) -> Result<Box<dyn Wire>, InstanceError> {
    match missing_interface(spec, links) {
        Some(why) => Ok(Box::new(Unbound::new(spec.source.unwrap_or(source), why))),
        None => open(spec),
    }
}

/// The host, as the daemon's threads see it.
pub trait Platform: Send + Sync {
    /// A handle on interfaces and addresses for one thread, like `ip link` / `ip addr`.
    fn addrs(&self) -> KResult<Box<dyn Addrs + Send>>;
    /// A handle on the IPVS sync daemons for one thread, like `ipvsadm --start-daemon`.
    fn sync_daemons(&self) -> KResult<Box<dyn SyncDaemons + Send>>;
    /// A handle on routes for one thread, like `ip route` (a master's `routes`).
    fn routes(&self) -> KResult<Box<dyn Routes + Send>>;
    /// Opens the wire of one instance: its socket on its advert interface (its VMAC's,
    /// unless `xmit_base`), its announcer on `spec.vip_interface`.
    fn wire(&self, spec: &InstanceSpec) -> Result<Box<dyn Wire>, InstanceError>;
    /// What opens wires like [`Platform::wire`] from an instance's own thread.
    fn opener(&self) -> Opener;
    /// The host's processes and their events, for tracked processes: the kernel's process
    /// events connector, or a scan of /proc where it cannot be had.
    fn processes(&self) -> Box<dyn Processes + Send>;
    /// Called once the node has converged after start-up or a reload: gives back the heap
    /// memory only loading the manifest needed.
    fn settle(&self);
}

/// How often /proc is scanned for tracked processes where the process events connector
/// cannot be had.
const PROC_SCAN: std::time::Duration = std::time::Duration::from_secs(1);

/// This host: rtnetlink and raw sockets.
pub struct Linux;

impl Platform for Linux {
    fn addrs(&self) -> KResult<Box<dyn Addrs + Send>> {
        Ok(Box::new(Rtnl::open()?))
    }

    fn sync_daemons(&self) -> KResult<Box<dyn SyncDaemons + Send>> {
        Ok(Box::new(NetlinkIpvs::open()?))
    }

    fn routes(&self) -> KResult<Box<dyn Routes + Send>> {
        Ok(Box::new(Rtnl::open()?))
    }

    fn processes(&self) -> Box<dyn Processes + Send> {
        crate::kernel::linux::procs::open(PROC_SCAN)
    }

    fn opener(&self) -> Opener {
        Box::new(|spec| Linux.wire(spec))
    }

    fn wire(&self, spec: &InstanceSpec) -> Result<Box<dyn Wire>, InstanceError> {
        let mut rtnl = Rtnl::open()?;
        let advert = spec.advert_interface();
        let (ifindex, _) = rtnl.link_details(advert)?;
        let (vip_ifindex, mac) = rtnl.link_details(&spec.vip_interface)?;
        let source = match spec.source {
            Some(s) => s,
            None => link_local(&mut rtnl, &spec.interface)?,
        };
        let interface = advert.to_string();
        let sock = VrrpSocket::open(advert, ifindex, source, spec.unicast_peers.is_some(), spec.is_ah())
            .map_err(|source| InstanceError::OpenSocket { interface, source })?;
        let announcer = Announcer::new(vip_ifindex, mac6(&mac))
            .map_err(|source| InstanceError::OpenAnnouncer { interface: spec.vip_interface.clone(), source })?;
        let mut wire =
            LinuxWire { sock, announcer, vip_interface: spec.vip_interface.clone(), others: BTreeMap::new() };
        for a in spec.vip_addresses().iter().filter(|a| a.interface != spec.vip_interface) {
            if let Err(e) = wire.announcer_of(&a.interface) {
                tracing::warn!(instance = %spec.name, interface = %a.interface, error = %e, "announcements not ready");
            }
        }
        Ok(Box::new(wire))
    }

    /// Gives the heap's free pages back. The executable's code stays resident: paging it
    /// out put a major fault on the VRRP path under IO load (BENCHMARKS.md, "Binary size
    /// and resident memory"); its pages are shared and the kernel reclaims them when it
    /// must.
    fn settle(&self) {
        crate::sys::trim_heap();
    }
}

struct LinuxWire {
    sock: VrrpSocket,
    announcer: Announcer,
    vip_interface: String,
    /// Announcers of the VIPs that have their own interface, opened ahead when the
    /// interface exists, else at the first announcement.
    others: BTreeMap<String, Announcer>,
}

impl LinuxWire {
    fn announcer_of(&mut self, interface: &str) -> io::Result<&Announcer> {
        if interface == self.vip_interface {
            return Ok(&self.announcer);
        }
        if !self.others.contains_key(interface) {
            let (ifindex, mac) = Rtnl::open()
                .and_then(|mut r| r.link_details(interface))
                .map_err(|e| io::Error::other(e.to_string()))?;
            self.others.insert(interface.to_string(), Announcer::new(ifindex, mac6(&mac))?);
        }
        self.others.get(interface).ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
}

impl Wire for LinuxWire {
    fn source(&self) -> IpAddr {
        self.sock.source
    }
    fn fd(&self) -> RawFd {
        self.sock.raw_fd()
    }
    fn send(&mut self, payload: &[u8], dst: IpAddr) -> io::Result<()> {
        self.sock.send(payload, dst)
    }
    fn send_packet(&mut self, packet: &[u8], dst: IpAddr) -> io::Result<()> {
        self.sock.send_packet(packet, dst)
    }
    fn recv(&mut self) -> io::Result<Received> {
        self.sock.recv()
    }
    fn announce(&mut self, vip: IpAddr, interface: &str, count: u32) -> io::Result<()> {
        self.announcer_of(interface)?.announce(vip, count)
    }
}

/// A hardware address as 6 bytes (zero-padded; interfaces without one get zeros).
fn mac6(m: &[u8]) -> [u8; 6] {
    let mut out = [0u8; 6];
    for (o, b) in out.iter_mut().zip(m) {
        *o = *b;
    }
    out
}

/// The interface's IPv6 link-local address (the source of IPv6 multicast adverts).
fn link_local(addrs: &mut dyn Addrs, iface: &str) -> Result<IpAddr, InstanceError> {
    addrs
        .addresses()?
        .iter()
        .filter(|a| a.interface == iface)
        .map(|a| a.address.addr())
        .find(|a| matches!(a, IpAddr::V6(v6) if v6.is_unicast_link_local()))
        .ok_or_else(|| InstanceError::NoLinkLocal { interface: iface.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resident KiB of this process's executable mappings, from `/proc/self/smaps`.
    fn exe_rss_kib() -> u64 {
        let exe = std::fs::read_link("/proc/self/exe").unwrap().to_string_lossy().into_owned();
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut in_exe = false;
        let mut kib = 0;
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or_default();
            if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
                in_exe = line.ends_with(&exe);
            } else if in_exe && let Some(v) = line.strip_prefix("Rss:") {
                kib += v.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap();
            }
        }
        kib
    }

    #[test]
    fn settling_leaves_the_code_resident() {
        let before = exe_rss_kib();
        assert!(before > 0);
        Linux.settle();
        let after = exe_rss_kib();
        assert!(after * 10 >= before * 9, "the executable was paged out: {before} KiB -> {after} KiB resident");
    }
}
