//! The daemon's platform on the in-memory kernel: VIPs land in the shared [`MemKernel`], a
//! wire exists only on the kernel's interfaces (a missing one fails like the real socket
//! does), and every advert and announcement sent is recorded. Nothing is received unless a
//! test makes a peer speak ([`MemPlatform::hear`]): a lone instance becomes master after
//! its Master_Down interval, as on an empty network.
//!
//! [`MemKernel`]: crate::kernel::mem::MemKernel

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
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
    /// The far end of the last wire opened for each VRID, for [`MemPlatform::hear`].
    ears: Arc<Mutex<BTreeMap<u8, UnixDatagram>>>,
}

impl MemPlatform {
    /// A platform on `kernel`.
    pub fn new(kernel: Shared) -> Self {
        MemPlatform {
            kernel,
            sent: Arc::default(),
            settled: Arc::default(),
            processes: MemProcesses::default(),
            ears: Arc::default(),
        }
    }

    /// Makes the instance of `vrid` receive `payload` (a VRRP message) from `src`, sent to
    /// the VRRP multicast group of `src`'s family with TTL 255.
    pub fn hear(&self, vrid: u8, src: IpAddr, payload: &[u8]) -> io::Result<()> {
        let ears = self.ears.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let ear = ears.get(&vrid).ok_or(io::ErrorKind::NotConnected)?;
        let head = match src {
            IpAddr::V4(a) => [&[4u8][..], &a.octets()].concat(),
            IpAddr::V6(a) => [&[6u8][..], &a.octets()].concat(),
        };
        ear.send(&[head.as_slice(), payload].concat()).map(drop)
    }
}

/// A datagram of [`MemPlatform::hear`] as the instance receives it.
fn unframe(d: &[u8]) -> Option<Received> {
    let (src, payload) = match d.split_first()? {
        (4, rest) if rest.len() >= 4 => {
            let (a, p) = rest.split_at(4);
            (IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(a).ok()?)), p)
        }
        (6, rest) if rest.len() >= 16 => {
            let (a, p) = rest.split_at(16);
            (IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(a).ok()?)), p)
        }
        _ => return None,
    };
    let dst = match src {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)),
    };
    Some(Received { src, dst, ttl: 255, header: Vec::new(), payload: payload.to_vec() })
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
        let open = |source| InstanceError::OpenSocket { interface: spec.interface.clone(), source };
        rx.set_nonblocking(true).map_err(open)?;
        let ear = peer.try_clone().map_err(open)?;
        self.ears.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(spec.vrid, ear);
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
    fn send_packet(&mut self, _packet: &[u8], dst: IpAddr) -> io::Result<()> {
        self.record(Sent::Advert(dst));
        Ok(())
    }
    fn recv(&mut self) -> io::Result<Received> {
        let mut buf = [0u8; 2048];
        let n = self.rx.recv(&mut buf)?;
        buf.get(..n).and_then(unframe).ok_or_else(|| io::ErrorKind::InvalidData.into())
    }
    fn announce(&mut self, vip: IpAddr, _interface: &str, _count: u32) -> io::Result<()> {
        self.record(Sent::Announce(vip));
        Ok(())
    }
}
