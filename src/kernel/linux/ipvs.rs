//! IPVS over generic netlink, like `ipvsadm`. The family is looked up lazily: reading a host
//! without `ip_vs` loaded gives an empty table (and does not load it); the first write loads
//! it with `modprobe ip_vs`. Batches of writes are pipelined.

use std::io;
use std::path::Path;

use super::ipvs_codec::{self as codec, Cmd};
use super::modules;
use super::nl::{NlSocket, Request};
use crate::kernel::{IpvsOp, IpvsTimeouts, KResult, KernelError, SyncDaemons};
use crate::model::ipvs::{Dest, Service, ServiceKey};
use crate::model::sync::{SyncConfig, SyncState};
use crate::model::timeouts::Timeouts;

const GENL_ID_CTRL: u16 = 0x10;

/// IPVS through generic netlink.
pub struct NetlinkIpvs {
    sock: NlSocket,
    family: Option<u16>,
}

fn loaded() -> bool {
    Path::new("/proc/net/ip_vs").exists()
}

impl NetlinkIpvs {
    /// Opens a generic netlink socket; IPVS itself is looked up on first use.
    pub fn open() -> KResult<Self> {
        let sock = NlSocket::open(netlink_sys::protocols::NETLINK_GENERIC)
            .map_err(|e| KernelError::io("open", "generic netlink socket", e))?;
        Ok(NetlinkIpvs { sock, family: None })
    }

    fn resolve(&mut self) -> io::Result<u16> {
        let req = Request { kind: GENL_ID_CTRL, flags: 0, payload: codec::getfamily_msg("IPVS") };
        let parts = self.sock.dump_one(req)?;
        let first = parts.first().ok_or_else(|| io::Error::other("no reply to the IPVS family lookup"))?;
        codec::parse_family_id(&first.payload)
    }

    /// The IPVS family id; `load` permits `modprobe ip_vs`.
    fn family(&mut self, load: bool) -> KResult<Option<u16>> {
        if let Some(f) = self.family {
            return Ok(Some(f));
        }
        if !loaded() && !load {
            return Ok(None);
        }
        if !loaded() {
            modules::load("ip_vs").map_err(|e| absent(KernelError::io("load", "ip_vs", e)))?;
        }
        let id = self.resolve().map_err(|e| absent(KernelError::io("find", "the IPVS netlink family", e)))?;
        self.family = Some(id);
        Ok(Some(id))
    }

    fn write_family(&mut self) -> KResult<u16> {
        self.family(true)?.ok_or_else(|| absent(KernelError::errno("find", "the IPVS netlink family", libc::ENOENT)))
    }

    /// Every service with its destinations (`ipvsadm -Ln`); empty when ip_vs is not loaded.
    pub fn services(&mut self) -> KResult<Vec<Service>> {
        let Some(fam) = self.family(false)? else { return Ok(Vec::new()) };
        let req = Request { kind: fam, flags: 0, payload: codec::get_services_msg() };
        let parts = self.sock.dump(req).map_err(|e| KernelError::io("list", "IPVS services", e))?;
        let mut out: Vec<Service> = parts
            .iter()
            .map(|p| codec::parse_service(&p.payload).map_err(|e| KernelError::io("parse", "IPVS service", e)))
            .collect::<KResult<_>>()?;
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_DUMP_THREADS);
        if workers < 2 || out.len() < PARALLEL_FROM {
            for s in &mut out {
                fill_dests(&mut self.sock, fam, s)?;
            }
            return Ok(out);
        }
        dump_dests_parallel(fam, &mut out, workers)?;
        Ok(out)
    }

    /// The destinations of one service (`ipvsadm -Ln -t ...`).
    pub fn dests(&mut self, key: &ServiceKey) -> KResult<Vec<Dest>> {
        let fam = self.write_family()?;
        self.dests_of(fam, key)
    }

    fn dests_of(&mut self, fam: u16, key: &ServiceKey) -> KResult<Vec<Dest>> {
        dests_on(&mut self.sock, fam, key)
    }

    /// Runs writes pipelined; one result per op sent (sending stops after a failure).
    pub fn batch(&mut self, ops: &[IpvsOp]) -> KResult<Vec<KResult<()>>> {
        let fam = self.write_family()?;
        let reqs: Vec<Request> = ops.iter().map(|op| Request { kind: fam, flags: 0, payload: encode(op) }).collect();
        let results = self.sock.pipeline(&reqs).map_err(|e| KernelError::io("send", "IPVS requests", e))?;
        Ok(results.into_iter().zip(ops).map(|(r, op)| r.map_err(|e| op_error(op, e))).collect())
    }
}

impl SyncDaemons for NetlinkIpvs {
    fn sync_daemons(&mut self) -> KResult<Vec<(SyncState, SyncConfig)>> {
        let Some(fam) = self.family(false)? else { return Ok(Vec::new()) };
        let req = Request { kind: fam, flags: 0, payload: codec::get_daemons_msg() };
        let parts = self.sock.dump(req).map_err(|e| KernelError::io("list", "IPVS sync daemons", e))?;
        parts
            .iter()
            .map(|p| codec::parse_daemon(&p.payload).map_err(|e| KernelError::io("parse", "IPVS sync daemon", e)))
            .collect()
    }

    fn start_sync_daemon(&mut self, state: SyncState, config: &SyncConfig) -> KResult<()> {
        let object = format!("{state} sync daemon on {}", config.interface);
        self.write_one("start", object, codec::start_daemon_msg(state, config)).map_err(|e| {
            if e.is(libc::EEXIST) {
                e.with_hint(format!("a {state} sync daemon runs already (ipvsadm -L --daemon)"))
            } else if e.is(libc::ENODEV) {
                e.with_hint(format!("interface {} does not exist", config.interface))
            } else {
                e
            }
        })
    }

    fn stop_sync_daemon(&mut self, state: SyncState) -> KResult<()> {
        self.write_one("stop", format!("{state} sync daemon"), codec::stop_daemon_msg(state))
    }
}

impl IpvsTimeouts for NetlinkIpvs {
    fn timeouts(&mut self) -> KResult<Option<Timeouts>> {
        let Some(fam) = self.family(false)? else { return Ok(None) };
        let req = Request { kind: fam, flags: 0, payload: codec::get_config_msg() };
        let parts = self.sock.dump_one(req).map_err(|e| KernelError::io("read", "IPVS timeouts", e))?;
        let first =
            parts.first().ok_or_else(|| KernelError::io("read", "IPVS timeouts", io::Error::other("no answer")))?;
        codec::parse_config(&first.payload).map(Some).map_err(|e| KernelError::io("parse", "IPVS timeouts", e))
    }

    fn set_timeouts(&mut self, t: &Timeouts) -> KResult<()> {
        let object = format!("IPVS timeouts (tcp tcpfin udp) {} {} {}", t.tcp, t.tcp_fin, t.udp);
        self.write_one("set", object, codec::set_config_msg(t))
    }
}

impl NetlinkIpvs {
    /// Sends one write and waits for its answer.
    fn write_one(&mut self, verb: &str, object: String, payload: Vec<u8>) -> KResult<()> {
        let fam = self.write_family()?;
        let req = Request { kind: fam, flags: 0, payload };
        let sent = self.sock.pipeline(std::slice::from_ref(&req)).and_then(|mut r| r.pop().unwrap_or(Ok(())));
        sent.map_err(|e| KernelError::io(verb, object, e))
    }
}

/// Tables at least this large are read by several threads.
const PARALLEL_FROM: usize = 256;
/// Sockets (and threads) reading destinations at most.
const MAX_DUMP_THREADS: usize = 4;

/// Each service needs its own GET_DEST dump, and a socket runs one dump at a time; large
/// tables are read over several sockets in parallel.
fn dump_dests_parallel(fam: u16, services: &mut [Service], workers: usize) -> KResult<()> {
    let chunk = services.len().div_ceil(workers);
    std::thread::scope(|s| {
        let handles: Vec<_> = services
            .chunks_mut(chunk)
            .map(|part| {
                s.spawn(move || -> KResult<()> {
                    let mut sock = NlSocket::open(netlink_sys::protocols::NETLINK_GENERIC)
                        .map_err(|e| KernelError::io("open", "generic netlink socket", e))?;
                    part.iter_mut().try_for_each(|svc| fill_dests(&mut sock, fam, svc))
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join().unwrap_or_else(|_| {
                Err(KernelError::io("list", "IPVS destinations", io::Error::other("reader thread panicked")))
            })
        })
    })
}

fn fill_dests(sock: &mut NlSocket, fam: u16, s: &mut Service) -> KResult<()> {
    s.dests = dests_on(sock, fam, &s.key)?.into_iter().map(|d| (d.key(), d)).collect();
    Ok(())
}

fn dests_on(sock: &mut NlSocket, fam: u16, key: &ServiceKey) -> KResult<Vec<Dest>> {
    let req = Request { kind: fam, flags: 0, payload: codec::service_key_msg(Cmd::GetDest, key) };
    let parts = sock.dump(req).map_err(|e| KernelError::io("list destinations of", key.to_string(), e))?;
    parts
        .iter()
        .map(|p| {
            codec::parse_dest(&p.payload, key.family())
                .map_err(|e| KernelError::io("parse destination of", key.to_string(), e))
        })
        .collect()
}

fn absent(e: KernelError) -> KernelError {
    e.with_hint("IPVS is not available: load it with `modprobe ip_vs` (and make sure the kernel has CONFIG_IP_VS)")
}

fn encode(op: &IpvsOp) -> Vec<u8> {
    match op {
        IpvsOp::AddService(s) => codec::service_msg(Cmd::NewService, s),
        IpvsOp::EditService(s) => codec::service_msg(Cmd::SetService, s),
        IpvsOp::DelService(k) => codec::service_key_msg(Cmd::DelService, k),
        IpvsOp::AddDest(k, d) => codec::dest_msg(Cmd::NewDest, k, d),
        IpvsOp::EditDest(k, d) => codec::dest_msg(Cmd::SetDest, k, d),
        IpvsOp::DelDest(k, d) => codec::dest_msg(Cmd::DelDest, k, d),
    }
}

/// Names the operation and object, and hints at the usual causes.
pub fn op_error(op: &IpvsOp, e: io::Error) -> KernelError {
    let errno = e.raw_os_error();
    let err = KernelError::io(op.verb(), op.object(), e);
    match (op, errno) {
        (IpvsOp::AddService(s) | IpvsOp::EditService(s), Some(libc::ENOENT)) => err.with_hint(format!(
            "scheduler `{}` is not available; its module ip_vs_{} is missing (try: modprobe ip_vs_{})",
            s.scheduler, s.scheduler, s.scheduler
        )),
        (_, Some(libc::ESRCH)) => {
            err.with_hint("the service does not exist (changed behind lbconverge's back?); plan again")
        }
        _ => err,
    }
}
