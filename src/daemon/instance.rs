//! One VRRP instance on its own thread, so that its timers never wait behind an apply or a
//! health check: it receives adverts, runs the state machine, sends adverts, and on becoming
//! master adds the VIPs (through [`Addrs`]) and announces them (gratuitous ARP / unsolicited
//! NA), again after 5 s, then its routes and policy routing rules; on leaving master it
//! removes the rules, the routes, then the VIPs. An instance with connection sync
//! runs the kernel's IPVS sync daemon as master while master and as backup otherwise, and
//! stops it when it ends. The notify commands of each transition go to the instance's
//! own queue ([`super::hooks::Serial`]), so the thread never waits for them; then the
//! event's line goes to the notify FIFOs ([`super::fifo`]), a write that never waits. A
//! master hearing a lower priority announces its VIPs again, queues
//! `notify_master_rx_lower_pri` (never twice at once) and writes `MASTER_RX_LOWER_PRI`. Control
//! messages (go, priority from tracking, a reload's update, reclaim, stop) arrive on a
//! channel whose sender also signals an eventfd the thread polls with its socket, so a
//! stop sends the priority-0 advert at once.
//!
//! An instance binds to its interfaces by name: when one of them appears, goes, or is made
//! again (the tracker sees its index change), it gets [`Control::Rebind`] and opens its wire
//! again; while one is missing its wire is [`Unbound`] and it is in FAULT, saying why in
//! its view, and tries again every second. With `dynamic_interfaces` it may start so.
//!
//! An instance is set up in two steps, so that a reload can open everything it needs before
//! it touches what runs: [`prepare`] opens the wire, the timer and the address handle and
//! starts the thread parked; [`Running::go`] lets it run. A parked instance that is dropped
//! ends without having touched a VIP. A running one that is dropped stops gracefully: no
//! instance is ever left running without its owner.

use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::error::{DaemonError, InstanceError};
use super::fifo::{self, Fifos};
use super::hooks::{Draining, Job, Serial};
use super::platform::{Opener, Platform, Unbound, Wire, open_or_wait};
use super::spec::InstanceSpec;
use super::syncgroup::{self, SharedGroup};
use crate::alert::{Alerter, Event};
use crate::family::Family;
use crate::kernel::{Addrs, KResult, Routes, SyncDaemons};
use crate::model::cluster::Removal;
use crate::model::net::{Address, VrrpRoute, VrrpRule};
use crate::model::sync::{SyncConfig, SyncState, ipvsadm_line};
use crate::vrrp::ah;
use crate::vrrp::fsm;
use crate::vrrp::fsm::{Action, Fsm, Input};
use crate::vrrp::garp::Schedule;
use crate::vrrp::net::{self, Timer};
use crate::vrrp::packet::{self, Advert, Checksum, DropCounters, DropReason, Expect, MULTICAST_V4, MULTICAST_V6};
use crate::vrrp::sync::Status;

/// Longest wait without a timer, a packet or a control message.
const IDLE: Duration = Duration::from_secs(1);
/// How often an instance waiting for a missing interface tries to bind again.
const REBIND_EVERY: Duration = Duration::from_secs(1);

/// A message to a running instance.
pub enum Control {
    /// Start running (a prepared instance waits for this).
    Go,
    /// The effective priority from tracking; `None` = FAULT.
    Priority(Option<u8>),
    /// New settings for the same router, taken in place (a manifest reload).
    Reconfigure(Box<Update>),
    /// A master adds back any of its VIPs that is missing and announces it: another
    /// instance let go of a VIP this one took over in the same reload.
    Reclaim,
    /// Stop gracefully: priority-0 advert, VIPs removed.
    Stop,
    /// Stop gracefully because a reload removed it (or made it another router): its
    /// notify commands and FIFOs are told what `removal_notify` says instead of STOP.
    Remove,
    /// An order of its sync group: the state all members move to, and why.
    Sync(fsm::State, String),
    /// Its sync group from now on (none: it left its group).
    Join(Option<SharedGroup>),
    /// Write the current state line to the FIFOs with `states_on_reload` (a reload).
    WriteState,
    /// One of its wire interfaces appeared, went or was made again: open the wire again.
    Rebind,
}

/// New settings for a running instance, with what they need opened already: a reload opens
/// everything before it changes anything, so taking an update cannot fail.
pub struct Update {
    /// The new settings (the same [`InstanceSpec::router`]).
    pub spec: InstanceSpec,
    /// A new wire, when [`InstanceSpec::wire_key`] changed.
    pub wire: Option<Box<dyn Wire>>,
    /// A handle on the sync daemons, when connection sync is new to the instance.
    pub sync: Option<Box<dyn SyncDaemons + Send>>,
    /// Told when the instance has taken the update (its VIPs removed and added).
    pub taken: Option<Sender<()>>,
}

/// Opens what `new` needs beyond what the instance running `old` has, and checks its state
/// machine settings: the update a running instance then takes without failing.
pub fn stage_update(old: &InstanceSpec, new: InstanceSpec, platform: &dyn Platform) -> Result<Update, DaemonError> {
    let fail = |source: InstanceError| DaemonError::Instance { instance: new.name.clone(), source };
    let primary = new.source.unwrap_or(std::net::Ipv6Addr::UNSPECIFIED.into());
    new.fsm_config(primary).check().map_err(|e| fail(e.into()))?;
    let wire = match old.wire_key() == new.wire_key() {
        true => None,
        false => Some(open_wire(&new, platform).map_err(fail)?),
    };
    let sync = match (&old.sync, &new.sync) {
        (None, Some(_)) => Some(platform.sync_daemons().map_err(|e| fail(e.into()))?),
        _ => None,
    };
    Ok(Update { spec: new, wire, sync, taken: None })
}

/// Opens `spec`'s wire on this host; with `dynamic_interfaces`, one of whose interfaces is
/// missing waits for it ([`Unbound`]) instead of failing.
fn open_wire(spec: &InstanceSpec, platform: &dyn Platform) -> Result<Box<dyn Wire>, InstanceError> {
    if !spec.dynamic_interfaces {
        return platform.wire(spec);
    }
    let links = platform.addrs()?.links()?;
    open_or_wait(&|s| platform.wire(s), spec, &links, unspecified(spec))
}

/// The adverts' source of an instance until its wire is open: its own, else the family's
/// unspecified address.
fn unspecified(spec: &InstanceSpec) -> IpAddr {
    let none =
        if spec.is_v6() { IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED) } else { std::net::Ipv4Addr::UNSPECIFIED.into() };
    spec.source.unwrap_or(none)
}

/// The sending side of an instance's control channel: a message, then a wake-up.
#[derive(Clone)]
pub struct ControlTx {
    tx: Sender<Control>,
    wake: Arc<OwnedFd>,
}

impl ControlTx {
    /// Sends a message and wakes the instance thread.
    pub fn send(&self, c: Control) {
        if self.tx.send(c).is_ok() {
            let one: u64 = 1;
            // SAFETY: the eventfd is open while `wake` lives; we write its 8-byte counter.
            unsafe { libc::write(self.wake.as_raw_fd(), (&raw const one).cast(), 8) };
        }
    }
}

/// What an instance shows to `lbconverge status`, kept up to date by its thread.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct View {
    /// Its name.
    pub name: String,
    /// Virtual router id.
    pub vrid: u8,
    /// `INIT`, `BACKUP`, `MASTER` or `FAULT`.
    pub state: String,
    /// The configured priority.
    pub priority: u8,
    /// The priority after tracking; `None` in FAULT.
    pub effective_priority: Option<u8>,
    /// The master's address as last heard (this node's own while master).
    pub master: Option<IpAddr>,
    /// State changes since the instance started.
    pub transitions: u64,
    /// Why the last one happened.
    pub last_reason: String,
    /// Adverts sent and accepted.
    pub adverts_sent: u64,
    /// Adverts received and accepted.
    pub adverts_received: u64,
    /// Packets dropped, by reason.
    pub dropped: std::collections::BTreeMap<String, u64>,
    /// VIPs it found removed by hand while master and added back.
    #[serde(default)]
    pub vips_restored: u64,
    /// The sync daemon it runs, as `ipvsadm -L --daemon` shows it (none without sync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_sync: Option<String>,
    /// Why it cannot run yet, in FAULT (`interface eth1 does not exist`); none once bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<String>,
}

/// A view shared between an instance's thread and the daemon.
pub type SharedView = Arc<std::sync::Mutex<View>>;

/// A prepared or running instance; dropping it stops it.
pub struct Running {
    /// What it runs with.
    pub spec: InstanceSpec,
    /// Its control channel.
    pub control: ControlTx,
    /// What it shows.
    pub view: SharedView,
    /// The sync group it was last told to join.
    pub group: Option<SharedGroup>,
    thread: Option<JoinHandle<Draining>>,
}

impl Running {
    /// Lets a prepared instance run.
    pub fn go(&self) {
        self.control.send(Control::Go);
    }

    /// Asks it to stop gracefully (without waiting); a prepared one ends untouched.
    pub fn request_stop(&self) {
        self.control.send(Control::Stop);
    }

    /// Asks it to stop gracefully because a reload removed it (without waiting).
    pub fn request_removal(&self) {
        self.control.send(Control::Remove);
    }

    /// Returns true while its thread runs.
    pub fn is_alive(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Waits for its thread to end (after [`Self::request_stop`]); returns its notify
    /// commands still queued or running (`notify_stop` last), which end on their own.
    pub fn join(mut self) -> Draining {
        self.join_thread()
    }

    fn join_thread(&mut self) -> Draining {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(notify)) => notify,
            Some(Err(_)) => {
                tracing::error!(instance = %self.spec.name, "internal error: the VRRP instance thread crashed");
                Draining::default()
            }
            None => Draining::default(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.request_stop();
            // Its notify commands finish on their own.
            drop(self.join_thread());
        }
    }
}

fn eventfd() -> std::io::Result<OwnedFd> {
    // SAFETY: eventfd returns a new descriptor or -1; we take ownership only of a valid one.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens everything an instance needs and starts its thread, parked until
/// [`Running::go`], under `SCHED_RR` at `realtime` when given; once let go, it waits
/// `wait` (what is left of its `startup_delay`) in INIT before it starts. Fails, with
/// nothing left behind, when anything cannot be opened.
pub fn prepare(
    spec: InstanceSpec,
    platform: &dyn Platform,
    (realtime, wait): (Option<u8>, Duration),
    outlets: (Alerter, Fifos),
) -> Result<Running, DaemonError> {
    let name = spec.name.clone();
    let fail = |source: InstanceError| DaemonError::Instance { instance: name.clone(), source };
    let (tx, rx) = channel();
    let wake = Arc::new(eventfd().map_err(|source| fail(InstanceError::Descriptor { what: "eventfd", source }))?);
    let mut setup = Instance::new(&spec, platform, wake.clone(), outlets).map_err(fail)?;
    setup.start_at = wait;
    setup.realtime = super::realtime::Escalation::new(spec.auto_realtime, realtime);
    let view = setup.view.clone();
    let waiting = setup.wire.waiting().map(str::to_string);
    if let Some(why) = &waiting {
        tracing::warn!(instance = %spec.name, reason = %why, "vrrp instance starts in FAULT: it waits for its interface (dynamic_interfaces)");
    }
    setup.show(|v| {
        v.name = spec.name.clone();
        v.vrid = spec.vrid;
        v.priority = spec.priority;
        v.state = fsm::State::Initialize.to_string();
        v.waiting = waiting;
    });
    let thread = super::spawn(format!("vrrp-{name}"), move || {
        if let Some(p) = realtime
            && let Err(e) = crate::sys::set_realtime(Some(p))
        {
            tracing::error!(instance = %setup.spec.name, priority = p, error = %e, "VRRP thread not made realtime");
        }
        setup.park(rx)
    })?;
    Ok(Running { spec, control: ControlTx { tx, wake }, view, group: None, thread: Some(thread) })
}

struct Instance {
    spec: InstanceSpec,
    fsm: Fsm,
    wire: Box<dyn Wire>,
    addrs: Box<dyn Addrs + Send>,
    /// Where its master's routes go.
    routes: Box<dyn Routes + Send>,
    sync: Option<(SyncConfig, Box<dyn SyncDaemons + Send>)>,
    source: IpAddr,
    expect: Expect,
    group: IpAddr,
    epoch: Instant,
    /// When (since `epoch`) it starts: its startup delay.
    start_at: Duration,
    drops: DropCounters,
    /// Its IPsec AH sequence numbers (AH authentication only), kept across reloads.
    seqs: ah::Sequence,
    /// The announcements it owes, and when.
    garps: Schedule,
    wake: Arc<OwnedFd>,
    timer: Timer,
    view: SharedView,
    /// The notify commands of its transitions, run one at a time off this thread.
    notify: Serial,
    /// Its sync group: the group's queue takes its notify commands then.
    sync_group: Option<SharedGroup>,
    /// What it last reported to its group.
    reported: Option<Status>,
    /// Where its transitions are alerted (queued; never waits on the network).
    alerts: Alerter,
    /// Its thread's realtime priority, raised when its timers fire late.
    realtime: super::realtime::Escalation,
    /// Where its events are written, one line each (never waits).
    fifos: Fifos,
    /// A reload removed it: its last transition reports what `removal_notify` says.
    removed: bool,
    /// Opens its wire again when an interface appears or is made again.
    open: Opener,
    /// The effective priority tracking last gave it (its own priority until told).
    tracked: Option<u8>,
    /// When (since `epoch`) a wire waiting for an interface next tries to bind.
    rebind_at: Duration,
}

impl Instance {
    /// Updates the shared view.
    fn show(&mut self, f: impl FnOnce(&mut View)) {
        let mut v = self.view.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut v);
    }

    fn new(
        spec: &InstanceSpec,
        platform: &dyn Platform,
        wake: Arc<OwnedFd>,
        (alerts, fifos): (Alerter, Fifos),
    ) -> Result<Instance, InstanceError> {
        let mut addrs = platform.addrs()?;
        // Reads the interfaces once now, so that the takeover adds VIPs without a lookup.
        let links = addrs.links()?;
        let open = platform.opener();
        let wire = match spec.dynamic_interfaces {
            true => open_or_wait(&open, spec, &links, unspecified(spec))?,
            false => open(spec)?,
        };
        let routes = platform.routes()?;
        let source = wire.source();
        let cfg = spec.fsm_config(source);
        let interval_cs = cfg.interval_cs();
        let fsm = Fsm::new(cfg)?;
        let family = if spec.is_v6() { Family::Ipv6 } else { Family::Ipv4 };
        let expect = Expect { version: spec.version, vrid: spec.vrid, family, auth: spec.auth, interval_cs };
        let group = if spec.is_v6() { IpAddr::V6(MULTICAST_V6) } else { IpAddr::V4(MULTICAST_V4) };
        let timer = Timer::new().map_err(|source| InstanceError::Descriptor { what: "timer", source })?;
        let sync = match &spec.sync {
            Some(c) => Some((c.clone(), platform.sync_daemons()?)),
            None => None,
        };
        Ok(Instance {
            spec: spec.clone(),
            fsm,
            wire,
            addrs,
            routes,
            sync,
            source,
            expect,
            group,
            epoch: Instant::now(),
            start_at: Duration::ZERO,
            drops: DropCounters::new(),
            seqs: ah::Sequence::default(),
            garps: Schedule::new(spec.garp),
            wake,
            timer,
            view: SharedView::default(),
            notify: Serial::new(&spec.name),
            sync_group: None,
            reported: None,
            alerts,
            realtime: super::realtime::Escalation::new(spec.auto_realtime, None),
            fifos,
            removed: false,
            open,
            tracked: Some(spec.priority),
            rebind_at: Duration::ZERO,
        })
    }

    /// Waits for [`Control::Go`], then runs; ends untouched on a stop or a dropped owner.
    /// Returns its notify commands still running.
    fn park(mut self, control: Receiver<Control>) -> Draining {
        let mut priority = None;
        loop {
            match control.recv() {
                Ok(Control::Go) => break,
                Ok(Control::Priority(p)) => priority = Some(p),
                Ok(Control::Join(g)) => self.sync_group = g,
                // A parked instance is never updated: a reload stages a new one instead;
                // its group gives orders only once it reported.
                // A missing interface is looked for once it runs.
                Ok(
                    Control::Reconfigure(_)
                    | Control::Reclaim
                    | Control::Sync(..)
                    | Control::WriteState
                    | Control::Rebind,
                ) => {}
                Ok(Control::Stop | Control::Remove) | Err(_) => return self.notify.close(),
            }
        }
        self.run(control, priority)
    }

    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    fn run(mut self, control: Receiver<Control>, priority: Option<Option<u8>>) -> Draining {
        if !self.delay_start(&control) {
            return self.notify.close();
        }
        // A crashed predecessor may have left the VIPs behind; a starting instance holds none.
        self.release_vips();
        let now = self.now();
        if let Some(p) = priority {
            self.tracked = p;
        }
        if self.wire.waiting().is_some() {
            // Straight from INIT to FAULT, as keepalived starts an instance without its interface.
            let actions = self.fsm.step(Input::EffectivePriority(None), now);
            self.perform(actions);
        }
        let actions = self.fsm.step(Input::Startup, now);
        self.perform(actions);
        if priority.is_some() || self.wire.waiting().is_some() {
            let actions = self.fsm.step(Input::EffectivePriority(self.effective()), now);
            self.perform(actions);
        }
        loop {
            if let Some(stop) = self.control(&control)
                && stop
            {
                break;
            }
            self.wait_and_receive();
            self.timers();
            self.retry_bind();
        }
        let now = self.now();
        let actions = self.fsm.step(Input::Shutdown, now);
        self.perform(actions);
        self.release_vips();
        self.stop_sync();
        let drops = self.drops.list();
        if !drops.is_empty() {
            let text: Vec<String> = drops.iter().map(|(r, n)| format!("{}={n}", r.name())).collect();
            tracing::info!(instance = %self.spec.name, dropped = %text.join(","), "vrrp packets dropped");
        }
        self.notify.close()
    }

    /// Waits out the startup delay in INIT, neither listening nor advertising, still taking
    /// control messages; false when told to stop meanwhile.
    fn delay_start(&mut self, control: &Receiver<Control>) -> bool {
        if !self.start_at.is_zero() {
            tracing::info!(instance = %self.spec.name, delay = ?self.start_at, "vrrp startup delayed");
        }
        while let Some(left) = self.start_at.checked_sub(self.now()).filter(|l| !l.is_zero()) {
            if self.control(control) == Some(true) {
                return false;
            }
            if net::poll(&[self.wake.as_raw_fd()], Some(left.min(IDLE))).is_ok_and(|r| r[0]) {
                self.drain_wake();
            }
        }
        true
    }

    /// Handles pending control messages; `Some(true)` to stop.
    fn control(&mut self, rx: &Receiver<Control>) -> Option<bool> {
        loop {
            match rx.try_recv() {
                Ok(Control::Stop) => return Some(true),
                Ok(Control::Remove) => {
                    self.removed = true;
                    return Some(true);
                }
                Ok(Control::Go) => {}
                Ok(Control::Priority(p)) => {
                    self.tracked = p;
                    let (now, before) = (self.now(), (self.fsm.priority(), self.fsm.state()));
                    let actions = self.fsm.step(Input::EffectivePriority(self.effective()), now);
                    self.priority_changed(before);
                    self.perform(actions);
                    let effective = self.fsm.priority();
                    self.show(|v| v.effective_priority = effective);
                }
                Ok(Control::Reconfigure(u)) => self.reconfigure(*u),
                Ok(Control::Reclaim) => self.reclaim(),
                Ok(Control::Sync(to, why)) => {
                    let now = self.now();
                    let actions = self.fsm.step(Input::Sync { to, why }, now);
                    self.perform(actions);
                }
                Ok(Control::Join(g)) => {
                    self.sync_group = g;
                    self.reported = None;
                    self.sync_report();
                }
                Ok(Control::WriteState) => self.write_state(),
                Ok(Control::Rebind) => self.rebind(),
                Err(std::sync::mpsc::TryRecvError::Empty) => return None,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => return Some(true),
            }
        }
    }

    /// Sleeps until a packet, a control message or the next timer, and handles the first
    /// two (timers are handled by [`Self::timers`]).
    fn wait_and_receive(&mut self) {
        let now = self.now();
        let due = [self.fsm.next_deadline(), self.garps.next_deadline()].into_iter().flatten().min();
        let armed = due.map(|d| self.timer.arm(d.saturating_sub(now)));
        if let Some(Err(e)) = armed {
            tracing::warn!(instance = %self.spec.name, error = %e, "vrrp timer not armed");
        }
        let fds = [self.wire.fd(), self.wake.as_raw_fd(), self.timer.raw_fd()];
        match net::poll(&fds, Some(IDLE)) {
            Ok(ready) => {
                if ready[2] {
                    self.timer.clear();
                }
                if ready[1] {
                    self.drain_wake();
                }
                if ready[0] {
                    self.receive_one();
                }
            }
            Err(e) => {
                tracing::warn!(instance = %self.spec.name, error = %e, "vrrp poll failed");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    fn receive_one(&mut self) {
        match self.wire.recv() {
            Ok(pkt) => self.received(pkt),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => tracing::warn!(instance = %self.spec.name, error = %e, "vrrp receive failed"),
        }
    }

    /// Resets the eventfd counter (the messages themselves are read from the channel).
    fn drain_wake(&self) {
        let mut n: u64 = 0;
        // SAFETY: reading the 8-byte counter of our own non-blocking eventfd.
        unsafe { libc::read(self.wake.as_raw_fd(), (&raw mut n).cast(), 8) };
    }

    fn received(&mut self, pkt: crate::vrrp::net::Received) {
        if pkt.src == self.source {
            return;
        }
        if let Some(peers) = &self.spec.unicast_peers
            && !peers.contains(&pkt.src)
        {
            self.drops.bump(packet::DropReason::UnknownPeer);
            return;
        }
        tracing::trace!(instance = %self.spec.name, from = %pkt.src, at_us = self.now().as_micros(), "vrrp packet");
        let decoded = self.decode(&pkt);
        let counted = self.drops.count(decoded);
        let drops = self.drops.list();
        let Some((advert, seq)) = counted else {
            return self.show(|v| v.dropped = drops.iter().map(|(r, n)| (r.name().to_string(), *n)).collect());
        };
        let master = (advert.priority > 0).then_some(pkt.src);
        self.show(|v| {
            v.adverts_received += 1;
            if master.is_some() {
                v.master = master;
            }
        });
        let now = self.now();
        let lower = self.lower_priority(advert.priority, pkt.src);
        let actions = self.fsm.step(Input::advert(pkt.src, &advert), now);
        if let (true, Some(seq)) = (lower, seq) {
            self.seqs.heard_lower(seq);
        }
        self.perform(actions);
        if lower && self.fsm.state() == fsm::State::Master {
            let vips = self.spec.vip_addresses();
            self.garps.lower_priority(now, pairs(&vips));
            self.send_garps(now);
            self.notify_lower_priority();
            self.fifos.write(&fifo::lower_priority_line(&self.spec.name, self.fsm.notify_priority()));
        }
    }

    /// Checks a received packet: an advert (with its AH sequence number when over AH), or
    /// why it is dropped. An AH instance's socket hears only AH packets.
    fn decode(&mut self, pkt: &crate::vrrp::net::Received) -> Result<(Advert, Option<u32>), DropReason> {
        if !self.spec.is_ah() {
            return packet::decode(&pkt.payload, pkt.src, pkt.dst, pkt.ttl, &self.expect).map(|a| (a, None));
        }
        let unicast = self.spec.unicast_peers.is_some();
        let heard = ah::receive(&pkt.header, &pkt.payload, pkt.ttl, &self.expect, unicast, &mut self.seqs)?;
        Ok((heard.advert, Some(heard.seq)))
    }

    /// Queues `notify_master_rx_lower_pri` (keepalived runs it for each such advert, with
    /// no arguments added); never while the last one waits or runs, so that a flood of
    /// adverts cannot crowd out the transitions' commands.
    fn notify_lower_priority(&mut self) {
        let Some(argv) = &self.spec.notify.master_rx_lower_pri else { return };
        let job = Job { event: "notify_master_rx_lower_pri", argv: argv.clone(), timeout: self.spec.notify_timeout };
        match &self.sync_group {
            Some(g) => syncgroup::lock(g).push_once(job),
            None => self.notify.push_once(job),
        }
    }

    /// With `notify_priority_changes`, writes the new effective priority to the FIFOs when
    /// it changed from `before` (priority, state): not into or out of FAULT, which are
    /// state changes. Written before the state change the new priority may cause, as
    /// keepalived writes it when the priority changes.
    fn priority_changed(&self, before: (Option<u8>, fsm::State)) {
        if let (true, (Some(old), state), Some(new)) = (self.spec.notify_priority_changes, before, self.fsm.priority())
            && old != new
        {
            self.fifos.write(&fifo::priority_line(&self.spec.name, state, new));
        }
    }

    /// True when this master hears a lower-priority master (not one stopping), or one of
    /// its priority from a lower address (keepalived's test): the two were both master,
    /// and the network's caches may point at the other one.
    fn lower_priority(&self, heard: u8, from: IpAddr) -> bool {
        let lower = |own: u8| heard < own || (heard == own && from < self.source);
        self.fsm.state() == fsm::State::Master && heard > 0 && self.fsm.priority().is_some_and(lower)
    }

    fn timers(&mut self) {
        let now = self.now();
        if let Some(d) = self.fsm.next_deadline().filter(|d| *d <= now) {
            tracing::trace!(instance = %self.spec.name, late_us = (now - d).as_micros(), "vrrp timer");
            self.escalate(now - d);
            let actions = self.fsm.step(Input::Tick, now);
            self.perform(actions);
            if self.fsm.state() == fsm::State::Master {
                self.repair_vips();
            }
        }
        self.send_garps(now);
    }

    /// A timer that fired `late` may raise the thread's realtime priority (`auto_realtime`).
    fn escalate(&mut self, late: Duration) {
        let Some(p) = self.realtime.late(late) else { return };
        let late_ms = late.as_millis();
        match crate::sys::set_realtime(Some(p)) {
            Ok(()) => {
                self.realtime.took(p);
                tracing::warn!(instance = %self.spec.name, priority = p, late_ms, "vrrp timer fired late: thread now SCHED_RR");
            }
            Err(e) => {
                self.realtime.refused();
                tracing::error!(instance = %self.spec.name, priority = p, late_ms, error = %e, "vrrp timer fired late, but realtime scheduling was refused (it needs CAP_SYS_NICE and no RestrictRealtime=yes); the thread stays as it is");
            }
        }
    }

    /// A reload's `auto_realtime` may take a raised thread down.
    fn rescale(&mut self) {
        let Some(to) = self.realtime.configure(self.spec.auto_realtime) else { return };
        if let Err(e) = crate::sys::set_realtime(to) {
            tracing::error!(instance = %self.spec.name, priority = ?to, error = %e, "vrrp thread's scheduling not changed");
        }
    }

    /// Carries out the state machine's actions in order, except that transitions are logged
    /// (and notify commands started) last, after the wire and the VIPs.
    fn perform(&mut self, actions: Vec<Action>) {
        let mut transitions = Vec::new();
        for a in actions {
            match a {
                Action::Transition(t) => transitions.push(t),
                Action::SendAdvert { priority } => self.send_advert(priority),
                Action::TakeVips => self.take_vips(),
                Action::ReleaseVips => {
                    self.garps.released();
                    self.release_vips();
                }
                // Reported to the group below, with the rest of its status.
                Action::WantMaster => {}
            }
        }
        for t in transitions {
            self.transition(&t);
        }
        self.sync_report();
    }

    /// Tells its sync group its status when it changed, and takes the group's order for
    /// it. Without a group (never for long: a reload sends it), nothing holds it back.
    fn sync_report(&mut self) {
        if !self.fsm.config().synced {
            return;
        }
        let status = Status {
            state: self.fsm.state(),
            own_fault: self.fsm.state() != fsm::State::Initialize && self.fsm.priority().is_none(),
            wants_master: self.fsm.wants_master(),
        };
        if self.reported == Some(status) {
            return;
        }
        let order = match &self.sync_group {
            Some(g) => {
                self.reported = Some(status);
                syncgroup::lock(g).report(&self.spec.name, status)
            }
            None if status.wants_master => Some((fsm::State::Master, "no sync group joined yet".to_string())),
            None => None,
        };
        if let Some((to, why)) = order {
            let now = self.now();
            let actions = self.fsm.step(Input::Sync { to, why }, now);
            self.perform(actions);
        }
    }

    fn transition(&mut self, t: &fsm::Transition) {
        let (source, effective) = (self.source, self.fsm.priority());
        // A FAULT for a missing interface says so, rather than "tracking reports FAULT".
        let reason = match self.wire.waiting() {
            Some(why) if t.to == fsm::State::Fault => why.to_string(),
            _ => t.reason.clone(),
        };
        let t = &fsm::Transition { reason, ..t.clone() };
        self.show(|v| {
            v.state = t.to.to_string();
            v.transitions += 1;
            v.last_reason = t.reason.clone();
            v.effective_priority = effective;
            if t.to == fsm::State::Master {
                v.master = Some(source);
            }
        });
        match t.to {
            fsm::State::Master => self.switch_sync(SyncState::Master),
            fsm::State::Backup | fsm::State::Fault => self.switch_sync(SyncState::Backup),
            fsm::State::Initialize => {}
        }
        tracing::info!(
            instance = %self.spec.name,
            vrid = self.spec.vrid,
            from = %t.from,
            to = %t.to,
            priority = self.fsm.priority().unwrap_or(0),
            reason = %t.reason,
            "vrrp transition"
        );
        if let Some(told) = Told::of(&self.spec, t, self.removed) {
            self.tell(told);
        }
        if self.spec.alert {
            self.alerts.send(Event::Vrrp {
                instance: self.spec.name.clone(),
                from: t.from.to_string(),
                to: t.to.to_string(),
                priority: self.fsm.priority().unwrap_or(0),
                reason: t.reason.clone(),
            });
        }
    }

    /// Writes the current state line to the FIFOs with `states_on_reload`, as the
    /// transition into it wrote it; nothing in INIT (no state entered yet).
    fn write_state(&self) {
        let state = self.fsm.state();
        if state != fsm::State::Initialize {
            self.fifos.write_states(&fifo::word_line(
                &self.spec.name,
                fifo::state_word(state),
                self.fsm.notify_priority(),
            ));
        }
    }

    /// Queues the notify commands of what a transition tells (on its sync group's queue when
    /// it has one) and writes its line to the FIFOs.
    fn tell(&mut self, told: Told) {
        for job in notify_jobs(&self.spec, told, self.fsm.notify_priority()) {
            match &self.sync_group {
                Some(g) => syncgroup::lock(g).push(job),
                None => self.notify.push(job),
            }
        }
        self.fifos.write(&fifo::word_line(&self.spec.name, told.word(), self.fsm.notify_priority()));
    }

    /// Takes new settings in place: the state stays; a master removes the VIPs that went
    /// away at once, and adds and announces the new ones at once; what the new priority,
    /// interval or preemption settings imply follows by the protocol ([`Fsm::reconfigure`]).
    fn reconfigure(&mut self, u: Update) {
        let Update { spec, wire, sync, taken } = u;
        let was_master = self.fsm.state() == fsm::State::Master;
        let before = (self.fsm.priority(), self.fsm.state());
        let old_vips = self.spec.vip_addresses();
        let old = std::mem::replace(&mut self.spec, spec);
        let new_vips = self.spec.vip_addresses();
        if was_master {
            self.release_routing(&only_in(&old.rules, &self.spec.rules), &only_in(&old.routes, &self.spec.routes));
            self.del_vips(old_vips.iter().filter(|a| !new_vips.contains(a)));
        }
        if let Some(w) = wire {
            self.wire = w;
            self.source = self.wire.source();
            let waiting = self.wire.waiting().map(str::to_string);
            self.show(|v| v.waiting = waiting);
        }
        self.reconfigure_sync(&old, sync);
        self.rescale();
        let cfg = self.spec.fsm_config(self.source);
        self.expect.auth = self.spec.auth;
        self.expect.interval_cs = cfg.interval_cs();
        self.tracked = provisional_priority(&old, &self.spec, self.tracked);
        let effective = self.effective();
        let now = self.now();
        let actions = self.fsm.reconfigure(cfg, effective, now);
        self.priority_changed(before);
        self.perform(actions);
        self.garps.set_timing(self.spec.garp);
        let added: Vec<Address> = new_vips.into_iter().filter(|a| !old_vips.contains(a)).collect();
        if was_master && self.fsm.state() == fsm::State::Master && !added.is_empty() {
            self.add_vips(&added);
            self.garps.added(now, pairs(&added));
            self.send_garps(now);
        }
        if was_master && self.fsm.state() == fsm::State::Master {
            self.take_routing(&only_in(&self.spec.routes, &old.routes), &only_in(&self.spec.rules, &old.rules));
        }
        let (name, priority, effective) = (self.spec.name.clone(), self.spec.priority, self.fsm.priority());
        self.show(|v| {
            v.name = name;
            v.priority = priority;
            v.effective_priority = effective;
        });
        if let Some(t) = taken {
            let _ = t.send(());
        }
    }

    /// A master adds back those of its VIPs that are missing, and announces them: a VIP
    /// moved to this instance by a reload may have been deleted by the instance that let
    /// go of it after this one added it.
    fn reclaim(&mut self) {
        if self.fsm.state() == fsm::State::Master {
            self.restore_missing(false);
        }
    }

    /// Connection sync after a reload: new settings restart the daemon in the current
    /// state; sync turned off stops it.
    fn reconfigure_sync(&mut self, old: &InstanceSpec, handle: Option<Box<dyn SyncDaemons + Send>>) {
        if old.sync == self.spec.sync {
            return;
        }
        if self.spec.sync.is_none() {
            self.stop_sync();
            self.sync = None;
            return self.show(|v| v.connection_sync = None);
        }
        let handle = match (handle, self.sync.take()) {
            (Some(h), _) | (None, Some((_, h))) => h,
            (None, None) => return,
        };
        self.sync = self.spec.sync.clone().map(|c| (c, handle));
        match self.fsm.state() {
            fsm::State::Master => self.switch_sync(SyncState::Master),
            fsm::State::Backup | fsm::State::Fault => self.switch_sync(SyncState::Backup),
            fsm::State::Initialize => {}
        }
    }

    fn send_advert(&mut self, priority: u8) {
        if self.wire.waiting().is_some() {
            return;
        }
        let advert = Advert {
            version: self.spec.version,
            vrid: self.spec.vrid,
            priority,
            interval_cs: self.expect.interval_cs,
            addresses: self.spec.advertised(),
            auth: self.spec.auth,
            checksum: Checksum::Standard,
        };
        let dsts = match &self.spec.unicast_peers {
            Some(peers) => peers.clone(),
            None => vec![self.group],
        };
        let seq = self.spec.is_ah().then(|| self.seqs.next_sent());
        for dst in dsts {
            let bytes = match self.encode(&advert, dst, seq) {
                Ok(b) => b,
                Err(e) => return tracing::error!(instance = %self.spec.name, error = %e, "vrrp advert not encoded"),
            };
            let sent = match seq {
                Some(_) => self.wire.send_packet(&bytes, dst),
                None => self.wire.send(&bytes, dst),
            };
            match sent {
                Ok(()) => self.show(|v| v.adverts_sent += 1),
                Err(e) => tracing::warn!(instance = %self.spec.name, to = %dst, error = %e, "vrrp advert not sent"),
            }
        }
    }

    /// The bytes of one advert to `dst`: the VRRP message, or with `seq` (AH) the whole IPv4
    /// packet.
    fn encode(&self, advert: &Advert, dst: IpAddr, seq: Option<u32>) -> Result<Vec<u8>, crate::vrrp::VrrpError> {
        match (seq, self.source, dst) {
            (Some(seq), IpAddr::V4(src), IpAddr::V4(to)) => {
                ah::seal(advert, src, to, seq, self.spec.unicast_peers.is_some())
            }
            _ => packet::encode(advert, self.source, dst),
        }
    }

    fn take_vips(&mut self) {
        let (vips, now) = (self.spec.vip_addresses(), self.now());
        self.add_vips(&vips);
        self.garps.master(now, pairs(&vips));
        if let Some(after) = self.spec.relearn_after() {
            self.garps.once_more(now, after);
        }
        self.send_garps(now);
        let (routes, rules) = (self.spec.routes.clone(), self.spec.rules.clone());
        self.take_routing(&routes, &rules);
    }

    fn add_vips(&mut self, vips: &[Address]) {
        for a in vips {
            if let Err(e) = self.addrs.add_address(a)
                && !e.is(libc::EEXIST)
            {
                tracing::error!(instance = %self.spec.name, error = %e, "VIP not added");
            }
        }
    }

    /// A master's VIPs are its own: one removed by hand (`ip addr del`) is added back with
    /// its announcements, checked at every advert, and logged as drift (but for a `no_track`
    /// VIP, as keepalived does).
    fn repair_vips(&mut self) {
        let n = self.restore_missing(true);
        if n > 0 {
            self.show(|v| v.vips_restored = v.vips_restored.saturating_add(n));
        }
    }

    /// Adds back and announces this instance's VIPs that the interface lacks; logged as
    /// drift (removed by hand) or as taken over from another instance. Returns how many.
    fn restore_missing(&mut self, drift: bool) -> u64 {
        let present = match self.addrs.addresses() {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(instance = %self.spec.name, error = %e, "addresses not read");
                return 0;
            }
        };
        let held = |v: &Address| present.iter().any(|a| a.interface == v.interface && a.address == v.address);
        // A `no_track` VIP removed by hand comes back at the next transition to master only.
        let missing: Vec<Address> = self.spec.vip_addresses_tracked(!drift).into_iter().filter(|v| !held(v)).collect();
        for a in &missing {
            let (vip, interface) = (&a.address, &a.interface);
            match drift {
                true => {
                    tracing::warn!(instance = %self.spec.name, %vip, %interface, "VIP removed from the master by hand; adding it back (drift)")
                }
                false => {
                    tracing::info!(instance = %self.spec.name, %vip, %interface, "VIP taken over from another instance")
                }
            }
        }
        if !missing.is_empty() {
            self.add_vips(&missing);
            let now = self.now();
            self.garps.added(now, pairs(&missing));
            self.send_garps(now);
        }
        u64::try_from(missing.len()).unwrap_or(u64::MAX)
    }

    /// Sends the gratuitous ARPs / unsolicited NAs that are due, for every VIP it holds,
    /// excluded ones too (as keepalived does).
    fn send_garps(&mut self, now: Duration) {
        let vips = self.spec.vip_addresses();
        for (vip, interface) in self.garps.due(now, pairs(&vips)) {
            if let Err(e) = self.wire.announce(vip, &interface, 1) {
                tracing::warn!(instance = %self.spec.name, %vip, %interface, error = %e, "announcement not sent");
            }
        }
    }

    fn release_vips(&mut self) {
        let (rules, routes) = (self.spec.rules.clone(), self.spec.routes.clone());
        self.release_routing(&rules, &routes);
        self.del_vips(self.spec.vip_addresses().iter());
    }

    /// Adds the master's routes after its VIPs (a route's source is one of them), then its
    /// rules (which send packets to those routes' tables).
    fn take_routing(&mut self, routes: &[VrrpRoute], rules: &[VrrpRule]) {
        self.held(routes, |k, r| k.add_vrrp_route(r), &[], "route not added");
        self.held(rules, |k, r| k.add_vrrp_rule(r), &[], "rule not added");
    }

    /// Removes the master's rules, then its routes, before its VIPs; one already gone is no
    /// error (ESRCH for a route, ENOENT for a rule, ENODEV for either on a vanished link).
    fn release_routing(&mut self, rules: &[VrrpRule], routes: &[VrrpRoute]) {
        let gone = [libc::ESRCH, libc::ENOENT, libc::ENODEV];
        self.held(rules, |k, r| k.del_vrrp_rule(r), &gone, "rule not removed");
        self.held(routes, |k, r| k.del_vrrp_route(r), &gone, "route not removed");
    }

    /// One write per routing object a master holds; the errors in `fine` are none.
    fn held<T>(
        &mut self,
        items: &[T],
        write: impl Fn(&mut (dyn Routes + Send), &T) -> KResult<()>,
        fine: &[i32],
        what: &str,
    ) {
        for item in items {
            if let Err(e) = write(self.routes.as_mut(), item)
                && !fine.iter().any(|n| e.is(*n))
            {
                tracing::error!(instance = %self.spec.name, error = %e, "{what}");
            }
        }
    }

    fn del_vips<'a>(&mut self, vips: impl Iterator<Item = &'a Address>) {
        for a in vips {
            if let Err(e) = self.addrs.del_address(a)
                && !e.is(libc::EADDRNOTAVAIL)
                && !e.is(libc::ENODEV)
            {
                tracing::error!(instance = %self.spec.name, error = %e, "VIP not removed");
            }
        }
    }
}

impl Instance {
    /// The priority its state machine runs with: tracking's, none (FAULT) while its wire
    /// waits for an interface.
    fn effective(&self) -> Option<u8> {
        self.tracked.filter(|_| self.wire.waiting().is_none())
    }

    /// A wire waiting for an interface tries to bind again, every [`REBIND_EVERY`].
    fn retry_bind(&mut self) {
        if self.wire.waiting().is_some() && self.now() >= self.rebind_at {
            self.rebind();
        }
    }

    /// Opens its wire again on the interfaces of those names as they are now: one missing
    /// (or a wire that cannot be opened) leaves it waiting, in FAULT.
    fn rebind(&mut self) {
        self.rebind_at = self.now().saturating_add(REBIND_EVERY);
        let wire = match self.addrs.links() {
            Ok(links) => open_or_wait(&self.open, &self.spec, &links, self.source),
            Err(e) => Err(e.into()),
        };
        let source = self.source;
        self.set_wire(wire.unwrap_or_else(|e| Box::new(Unbound::new(source, e.to_string()))));
    }

    /// Runs on `wire` from now on: out of FAULT when it is open (and tracking allows), into
    /// it when it waits.
    fn set_wire(&mut self, wire: Box<dyn Wire>) {
        let was = self.wire.waiting().map(str::to_string);
        self.wire = wire;
        let now_waiting = self.wire.waiting().map(str::to_string);
        let name = &self.spec.name;
        match (&was, &now_waiting) {
            (_, Some(why)) if was != now_waiting => {
                tracing::warn!(instance = %name, reason = %why, "vrrp instance waits for its interface (FAULT)")
            }
            (_, Some(_)) => {}
            (Some(_), None) => tracing::info!(instance = %name, "vrrp instance bound to its interfaces"),
            (None, None) => tracing::info!(instance = %name, "vrrp instance bound again to its re-created interfaces"),
        }
        let now = self.now();
        let source = self.wire.source();
        if source != self.source {
            self.source = source;
            let actions = self.fsm.reconfigure(self.spec.fsm_config(source), self.effective(), now);
            self.perform(actions);
        }
        let actions = self.fsm.step(Input::EffectivePriority(self.effective()), now);
        self.perform(actions);
        let effective = self.fsm.priority();
        self.show(|v| {
            v.waiting = now_waiting;
            v.effective_priority = effective;
        });
    }

    /// Runs the sync daemon in `to`, with this instance's settings, and the other state not:
    /// a daemon already right is kept, one with other settings is restarted.
    fn switch_sync(&mut self, to: SyncState) {
        let Some((config, k)) = &mut self.sync else { return };
        let live: Vec<(SyncState, SyncConfig)> = k.sync_daemons().unwrap_or_else(|e| {
            tracing::warn!(instance = %self.spec.name, error = %e, "sync daemons not read");
            Vec::new()
        });
        let now = |s: SyncState| live.iter().find(|(l, _)| *l == s).map(|(_, c)| c);
        let from = SyncState::ALL.into_iter().find(|s| *s != to);
        let mut result = Ok(());
        if let Some(other) = from.filter(|o| now(*o).is_some()) {
            result = k.stop_sync_daemon(other);
        }
        if !now(to).is_some_and(|c| config.met_by(c)) {
            if now(to).is_some() {
                result = result.and(k.stop_sync_daemon(to));
            }
            result = result.and(k.start_sync_daemon(to, config));
        }
        let line = ipvsadm_line(to, config);
        match result {
            Ok(()) => tracing::info!(instance = %self.spec.name, daemon = %line, "connection sync"),
            Err(e) => tracing::error!(instance = %self.spec.name, error = %e, "connection sync not switched"),
        }
        self.show(|v| v.connection_sync = Some(line));
    }

    /// Stops whichever sync daemon runs (the instance ends).
    fn stop_sync(&mut self) {
        let Some((_, k)) = &mut self.sync else { return };
        for (state, _) in k.sync_daemons().unwrap_or_default() {
            if let Err(e) = k.stop_sync_daemon(state)
                && !e.is(libc::ESRCH)
            {
                tracing::error!(instance = %self.spec.name, error = %e, "sync daemon not stopped");
            }
        }
    }
}

/// The effective priority an updated instance runs with until tracking reports under the
/// new settings (at once: the tracker restarts with the objects' known states). Untracked:
/// the new base priority; tracked before and after: the same tracking offset on the new base.
/// Each address with its interface, as the announcement schedule takes them.
/// What `a` has that `b` has not: the routes or rules a commit adds or drops.
fn only_in<T: PartialEq + Clone>(a: &[T], b: &[T]) -> Vec<T> {
    a.iter().filter(|x| !b.contains(x)).cloned().collect()
}

fn pairs(vips: &[Address]) -> impl Iterator<Item = (IpAddr, &str)> + Clone {
    vips.iter().map(|a| (a.address.addr(), a.interface.as_str()))
}

fn provisional_priority(old: &InstanceSpec, new: &InstanceSpec, effective: Option<u8>) -> Option<u8> {
    if !old.tracks() || !new.tracks() {
        return Some(new.priority);
    }
    effective.map(|e| crate::vrrp::track::rebase(e, old.priority, new.priority))
}

/// What a transition tells the notify commands and FIFOs: the state it enters, or, when a
/// reload removed the instance, what `removal_notify` says instead of STOP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Told {
    Master,
    Backup,
    Fault,
    Stop,
    /// Removed, told FAULT as keepalived tells it by default: to `notify` and the FIFOs
    /// only (keepalived picks the state's command while the state is still DELETED, so
    /// `notify_fault` does not run).
    RemovedFault,
    Deleted,
}

impl Told {
    /// What transition `t` tells; `None`: nothing (an instance in FAULT removed with
    /// `removal_notify: fault`, which keepalived does not report twice).
    fn of(spec: &InstanceSpec, t: &fsm::Transition, removed: bool) -> Option<Told> {
        Some(match t.to {
            fsm::State::Master => Told::Master,
            fsm::State::Backup => Told::Backup,
            fsm::State::Fault => Told::Fault,
            fsm::State::Initialize if !removed => Told::Stop,
            fsm::State::Initialize => match spec.removal {
                Removal::Stop => Told::Stop,
                Removal::Fault if t.from == fsm::State::Fault => return None,
                Removal::Fault => Told::RemovedFault,
                Removal::Deleted(_) => Told::Deleted,
            },
        })
    }

    /// keepalived's word for it, as the generic `notify` and the FIFOs get it.
    fn word(self) -> &'static str {
        match self {
            Told::Master => "MASTER",
            Told::Backup => "BACKUP",
            Told::Fault | Told::RemovedFault => "FAULT",
            Told::Stop => "STOP",
            Told::Deleted => "DELETED",
        }
    }
}

/// The notify commands of a transition that tells `told`, in keepalived's order: the
/// state's own (`notify_master`, `notify_backup`, `notify_fault`, `notify_stop`, or
/// `notify_deleted`; none for a removal told FAULT), then the generic `notify` with
/// `INSTANCE <name> <STATE> <priority>` appended.
fn notify_jobs(spec: &InstanceSpec, told: Told, priority: u8) -> Vec<Job> {
    let n = &spec.notify;
    let (event, own) = match told {
        Told::Master => ("notify_master", n.master.as_ref()),
        Told::Backup => ("notify_backup", n.backup.as_ref()),
        Told::Fault => ("notify_fault", n.fault.as_ref()),
        Told::Stop => ("notify_stop", n.stop.as_ref()),
        Told::RemovedFault => ("notify", None),
        Told::Deleted => ("notify_deleted", if let Removal::Deleted(c) = &spec.removal { c.as_ref() } else { None }),
    };
    let timeout = spec.notify_timeout;
    let mut jobs: Vec<Job> = own.iter().map(|argv| Job { event, argv: (*argv).clone(), timeout }).collect();
    if let Some(cmd) = &n.generic {
        let extra = ["INSTANCE", &spec.name, told.word(), &priority.to_string()].map(str::to_string);
        jobs.push(Job { event: "notify", argv: [cmd.as_slice(), &extra].concat(), timeout });
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two directors; lb1 has its own `notify_master`.
    const MANIFEST: &str = "version: 1
nodes:
  lb1: {roles: [director], addresses: [10.0.0.11/24], interface: eth0}
  lb2: {roles: [director], addresses: [10.0.0.12/24], interface: eth0}
vrrp:
  VI_1:
    vrid: 10
    members:
      lb1: {priority: 150, notify_master: [/usr/local/bin/lb1-master, 'two words']}
      lb2: {priority: 100}
    vips: [10.0.0.100]
    notify_master: [/usr/local/bin/master]
    notify_backup: [/usr/local/bin/switch, backup]
    notify_stop: [/usr/local/bin/stop]
    notify: [/usr/local/bin/event, '--from', keepalived]
    notify_timeout: 5s
";

    fn spec(node: &str) -> InstanceSpec {
        let loaded = crate::manifest::parse("m.yaml", std::path::PathBuf::from("."), MANIFEST.as_bytes()).unwrap();
        let cluster = crate::model::validate(&loaded, &crate::model::NoFacts).unwrap().cluster;
        super::super::spec::specs(&cluster, node).unwrap().remove(0)
    }

    fn shown(jobs: &[Job]) -> Vec<String> {
        jobs.iter().map(|j| format!("{}: {} ({:?})", j.event, j.argv.join(" "), j.timeout)).collect()
    }

    #[test]
    fn a_transition_runs_the_states_command_then_the_generic_notify_with_keepalived_arguments() {
        let lb1 = spec("lb1");
        assert_eq!(
            shown(&notify_jobs(&lb1, Told::Master, 150)),
            [
                "notify_master: /usr/local/bin/lb1-master two words (5s)",
                "notify: /usr/local/bin/event --from keepalived INSTANCE VI_1 MASTER 150 (5s)"
            ]
        );
        assert_eq!(notify_jobs(&lb1, Told::Master, 150)[0].argv[1], "two words", "one argument");
        let lb2 = spec("lb2");
        assert_eq!(
            shown(&notify_jobs(&lb2, Told::Master, 100)),
            [
                "notify_master: /usr/local/bin/master (5s)",
                "notify: /usr/local/bin/event --from keepalived INSTANCE VI_1 MASTER 100 (5s)"
            ],
            "lb2 has no command of its own: the instance's"
        );
        assert_eq!(
            shown(&notify_jobs(&lb2, Told::Backup, 100)),
            [
                "notify_backup: /usr/local/bin/switch backup (5s)",
                "notify: /usr/local/bin/event --from keepalived INSTANCE VI_1 BACKUP 100 (5s)"
            ]
        );
        assert_eq!(
            shown(&notify_jobs(&lb2, Told::Fault, 0)),
            ["notify: /usr/local/bin/event --from keepalived INSTANCE VI_1 FAULT 0 (5s)"],
            "no notify_fault: the generic notify only"
        );
        assert_eq!(
            shown(&notify_jobs(&lb2, Told::Stop, 100)),
            [
                "notify_stop: /usr/local/bin/stop (5s)",
                "notify: /usr/local/bin/event --from keepalived INSTANCE VI_1 STOP 100 (5s)"
            ],
            "stopping is keepalived's STOP"
        );
    }

    fn leaving(from: fsm::State) -> fsm::Transition {
        fsm::Transition { from, to: fsm::State::Initialize, reason: "stopping".into() }
    }

    #[test]
    fn a_removal_tells_what_removal_notify_says_and_a_daemon_stop_tells_stop() {
        let mut lb2 = spec("lb2");
        let (master, fault) = (leaving(fsm::State::Master), leaving(fsm::State::Fault));
        assert_eq!(Told::of(&lb2, &master, false), Some(Told::Stop), "the daemon stops");
        assert_eq!(Told::of(&lb2, &master, true), Some(Told::Stop), "removal_notify: stop (the default)");
        lb2.removal = Removal::Fault;
        assert_eq!(Told::of(&lb2, &master, true), Some(Told::RemovedFault), "keepalived's default");
        assert_eq!(
            shown(&notify_jobs(&lb2, Told::RemovedFault, 150)),
            ["notify: /usr/local/bin/event --from keepalived INSTANCE VI_1 FAULT 150 (5s)"],
            "FAULT to `notify` alone: keepalived runs no `notify_fault` for a removal"
        );
        assert_eq!(Told::of(&lb2, &fault, true), None, "keepalived says nothing for an instance in FAULT");
        assert_eq!(Told::of(&lb2, &master, false), Some(Told::Stop), "a daemon stop is still STOP");
        lb2.removal = Removal::Deleted(Some(vec!["/usr/local/bin/gone".into(), "VI_1".into()]));
        assert_eq!(Told::of(&lb2, &fault, true), Some(Told::Deleted), "DELETED even from FAULT");
        assert_eq!(
            shown(&notify_jobs(&lb2, Told::Deleted, 100)),
            [
                "notify_deleted: /usr/local/bin/gone VI_1 (5s)",
                "notify: /usr/local/bin/event --from keepalived INSTANCE VI_1 DELETED 100 (5s)"
            ]
        );
        lb2.removal = Removal::Deleted(None);
        assert_eq!(
            shown(&notify_jobs(&lb2, Told::Deleted, 100)),
            ["notify: /usr/local/bin/event --from keepalived INSTANCE VI_1 DELETED 100 (5s)"],
            "`notify_deleted` without a command: the generic notify only"
        );
    }

    #[test]
    fn a_changed_notify_command_is_named_in_the_reload_log_and_keeps_the_instance() {
        let old = spec("lb1");
        let mut new = old.clone();
        new.notify.stop = Some(vec!["/usr/local/bin/stop2".into()]);
        new.notify.generic = None;
        new.notify_timeout = Duration::from_secs(30);
        assert_eq!(new.router(), old.router(), "the same router: changed in place");
        assert_eq!(super::super::spec::changes(&old, &new), ["notify_timeout 5s -> 30s", "notify_stop", "notify"]);
    }
}
