//! The daemon's platform on the in-memory kernel: VIPs land in the shared [`MemKernel`], a
//! wire exists only on the kernel's interfaces (a missing one fails like the real socket
//! does), and every advert and announcement sent is recorded. Nothing is ever received: a
//! lone instance becomes master after its Master_Down interval, as on an empty network.
//!
//! [`MemKernel`]: crate::kernel::mem::MemKernel

use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::{InstanceError, InstanceSpec, Platform, Wire};
use crate::kernel::mem::{MemProcesses, Shared};
use crate::kernel::{Addrs, KResult, KernelError, Processes, Routes, SyncDaemons};
use crate::vrrp::net::Received;

/// What a wire sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// An advert to this destination.
    Advert(IpAddr),
    /// Announcements of this VIP.
    Announce(IpAddr),
}

/// The in-memory host.
#[derive(Clone, Default)]
pub struct MemPlatform {
    /// The kernel, shared with the daemon's reconcile loop.
    pub kernel: Shared,
    /// Everything every wire sent, in order.
    pub sent: Arc<Mutex<Vec<Sent>>>,
    /// How many times the daemon settled.
    pub settled: Arc<AtomicUsize>,
    /// The processes tracked processes count.
    pub processes: MemProcesses,
}

impl MemPlatform {
    /// A platform on `kernel`.
    pub fn new(kernel: Shared) -> Self {
        MemPlatform { kernel, sent: Arc::default(), settled: Arc::default(), processes: MemProcesses::default() }
    }
}

impl Platform for MemPlatform {
    fn addrs(&self) -> KResult<Box<dyn Addrs + Send>> {
        Ok(Box::new(self.kernel.clone()))
    }

    fn routes(&self) -> KResult<Box<dyn Routes + Send>> {
        Ok(Box::new(self.kernel.clone()))
    }

    fn sync_daemons(&self) -> KResult<Box<dyn SyncDaemons + Send>> {
        Ok(Box::new(self.kernel.clone()))
    }

    fn processes(&self) -> Box<dyn Processes + Send> {
        Box::new(self.processes.clone())
    }

    fn opener(&self) -> super::Opener {
        let me = self.clone();
        Box::new(move |spec| me.wire(spec))
    }

    fn wire(&self, spec: &InstanceSpec) -> Result<Box<dyn Wire>, InstanceError> {
        let links = self.kernel.lock().state.links.clone();
        for iface in [spec.interface.as_str(), spec.advert_interface(), spec.vip_interface.as_str()] {
            if !links.contains_key(iface) {
                let e = KernelError::errno("look up", iface, libc::ENODEV);
                return Err(e.with_hint(format!("interface {iface} does not exist on this host")).into());
            }
        }
        let (rx, peer) = UnixDatagram::pair()
            .map_err(|source| InstanceError::OpenSocket { interface: spec.interface.clone(), source })?;
        let source = spec.source.unwrap_or(IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)));
        Ok(Box::new(MemWire { rx, _peer: peer, source, sent: self.sent.clone() }))
    }

    fn settle(&self) {
        self.settled.fetch_add(1, Ordering::Relaxed);
    }
}

struct MemWire {
    rx: UnixDatagram,
    /// Kept open so that `rx` never polls readable at end of file.
    _peer: UnixDatagram,
    source: IpAddr,
    sent: Arc<Mutex<Vec<Sent>>>,
}

impl MemWire {
    fn record(&self, s: Sent) {
        self.sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(s);
    }
}

impl Wire for MemWire {
    fn source(&self) -> IpAddr {
        self.source
    }
    fn fd(&self) -> RawFd {
        self.rx.as_raw_fd()
    }
    fn send(&mut self, _payload: &[u8], dst: IpAddr) -> io::Result<()> {
        self.record(Sent::Advert(dst));
        Ok(())
    }
    fn recv(&mut self) -> io::Result<Received> {
        Err(io::ErrorKind::WouldBlock.into())
    }
    fn announce(&mut self, vip: IpAddr, _interface: &str, _count: u32) -> io::Result<()> {
        self.record(Sent::Announce(vip));
        Ok(())
    }
}
