//! The VRRP state machine of one instance: RFC 5798 §6.4 (Initialize, Backup, Master), the
//! same rules for VRRPv2 (RFC 3768), plus Fault for tracking. Pure: every input comes with
//! `now`, a `Duration` since an arbitrary epoch; the caller sleeps until [`Fsm::next_deadline`]
//! and then steps with [`Input::Tick`]. Timers fire only on `Tick`.
//!
//! Timers, as in the RFCs and keepalived (integer microseconds, like keepalived):
//! - Master_Down_Interval = 3 x Master_Adver_Interval + Skew_Time;
//! - Skew_Time v3 = ((256 - priority) x Master_Adver_Interval) / 256;
//!   Skew_Time v2 = (256 - priority) / 256 s;
//! - a v3 backup adopts the interval the master advertises; a v2 one uses its own (v2
//!   adverts with another interval are dropped by the codec, RFC 3768 §7.1).
//!
//! Startup, as RFC 5798 §6.4.1 says and as keepalived 2.2.7 does (measured in vrrp-lab): an
//! instance below priority 255 always starts in Backup and becomes master when its own
//! Master_Down_Interval runs out. keepalived with `state MASTER` also logs `Entering BACKUP
//! STATE (init)`; there is no initial-state setting here. With a higher priority and
//! preemption it discards the current master's lower-priority adverts, so it takes over
//! 3.414 s after startup at priority 150 and 1 s adverts (keepalived: 3.498 s median,
//! process startup included). The address owner (priority 255) becomes master at once.
//! Preemption rules (keepalived's):
//! - a backup accepts (resets its timer on) an advert of equal or higher priority, and any
//!   advert when `preempt` is off; a lower-priority advert is discarded when preempting;
//! - `preempt_delay`: the first lower-priority advert starts the delay; until it has passed,
//!   lower-priority adverts are accepted; a higher or equal one cancels it; entering Backup
//!   resets it;
//! - priority 0 (master stopping): the backup's timer is set to Skew_Time alone;
//! - a master steps down on a higher priority, or an equal one from a higher address than
//!   our primary address; on a lower one it stays and, like keepalived, answers with an
//!   advert at once ([`Config::advert_on_lower`]); on priority 0 it advertises at once.
//! - keepalived's strict mode: a master ignores lower-priority adverts, and the address
//!   owner ignores every advert while at priority 255 ([`Config::owner_ignores_adverts`]).
//!
//! Leaving Master (higher priority, shutdown, fault) releases the VIPs; shutdown and fault
//! first send one advert with priority 0, as keepalived does. Adverts from our own primary
//! address (multicast loopback) are ignored.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use super::VrrpError;
use super::packet::Advert;

/// The state of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    /// Not running: before [`Input::Startup`] and after [`Input::Shutdown`].
    Initialize,
    /// Listening to the master, ready to take over.
    Backup,
    /// Holding the VIPs and advertising.
    Master,
    /// A tracked object with weight 0 fails: neither advertising nor taking over.
    Fault,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        })
    }
}

/// What the state machine of one instance needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// VRRP version, 2 or 3.
    pub version: u8,
    /// Configured (base) priority, 1..=255; 255 = address owner.
    pub priority: u8,
    /// Our advert interval: v2 whole seconds 1..=255 s, v3 multiples of 10 ms up to 40.95 s.
    pub advert_interval: Duration,
    /// Preempt a lower-priority master (keepalived's default; `nopreempt` turns it off).
    pub preempt: bool,
    /// Wait this long after first hearing a lower-priority master before preempting it.
    pub preempt_delay: Duration,
    /// Our primary address: the source of our adverts, compared on equal priorities.
    pub primary: IpAddr,
    /// A master answers a lower-priority advert with one of its own at once (keepalived's
    /// default; its `lower_prio_no_advert` turns it off). The RFC just ignores it.
    pub advert_on_lower: bool,
    /// While at effective priority 255 (the address owner), drop every advert received
    /// (keepalived's `owner_ignore_adverts`, always on in its strict mode).
    pub owner_ignores_adverts: bool,
    /// A member of a sync group (keepalived's `vrrp_sync_group`): an expired master down
    /// timer does not make it master; it asks with [`Action::WantMaster`] and the group
    /// answers with [`Input::Sync`].
    pub synced: bool,
}

impl Config {
    /// A config with keepalived's defaults: preempt, no preempt delay, answer lower adverts.
    pub fn new(version: u8, priority: u8, advert_interval: Duration, primary: IpAddr) -> Config {
        Config {
            version,
            priority,
            advert_interval,
            preempt: true,
            preempt_delay: Duration::ZERO,
            primary,
            advert_on_lower: true,
            owner_ignores_adverts: false,
            synced: false,
        }
    }

    /// The advert interval in centiseconds, as [`Advert::interval_cs`] carries it.
    pub fn interval_cs(&self) -> u16 {
        u16::try_from(self.advert_interval.as_millis() / 10).unwrap_or(u16::MAX)
    }

    /// Checks the settings a state machine can run with.
    pub fn check(&self) -> Result<(), VrrpError> {
        let ms = self.advert_interval.as_millis();
        let exact_ms = self.advert_interval.subsec_nanos().is_multiple_of(1_000_000);
        let interval = |allowed| VrrpError::Interval { version: self.version, interval: self.advert_interval, allowed };
        match self.version {
            2 if !exact_ms || !ms.is_multiple_of(1000) || !(1000..=255_000).contains(&ms) => {
                Err(interval("whole seconds from 1 to 255"))
            }
            3 if !exact_ms || !ms.is_multiple_of(10) || !(10..=40_950).contains(&ms) => {
                Err(interval("a multiple of 10ms from 10ms to 40.95s"))
            }
            2 | 3 if self.priority == 0 => Err(VrrpError::ReservedPriority),
            2 | 3 => Ok(()),
            v => Err(VrrpError::UnknownVersion(v)),
        }
    }
}

/// Something that happened to the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Start the instance (from Initialize).
    Startup,
    /// A valid advert for this instance arrived (decoded and checked by the codec).
    AdvertReceived {
        /// Source address of the advert.
        from: IpAddr,
        /// Its priority.
        priority: u8,
        /// Its (max) advert interval; a v3 backup adopts it.
        max_advert_interval: Duration,
    },
    /// A timer may be due: call at [`Fsm::next_deadline`].
    Tick,
    /// Graceful stop.
    Shutdown,
    /// The effective priority from tracking; `None` = FAULT.
    EffectivePriority(Option<u8>),
    /// An order of the instance's sync group ([`super::sync`]): `Master` (every member wants
    /// master), `Backup` (a member left master, or the group left FAULT), `Fault` (a member
    /// is in FAULT; held until the group orders `Backup`). `why` names the group and cause.
    Sync {
        /// The state the group moves to.
        to: State,
        /// Why, for the log.
        why: String,
    },
}

impl Input {
    /// The input for a decoded advert from `from`.
    pub fn advert(from: IpAddr, a: &Advert) -> Input {
        Input::AdvertReceived { from, priority: a.priority, max_advert_interval: a.interval() }
    }
}

/// What the caller must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The state changed; log it. Always first in the list.
    Transition(Transition),
    /// Send one advert with this priority (0 when stopping or entering Fault).
    SendAdvert {
        /// Priority to advertise.
        priority: u8,
    },
    /// Became master: add the VIPs, then send gratuitous ARPs / unsolicited NAs.
    TakeVips,
    /// Left master: remove the VIPs.
    ReleaseVips,
    /// A sync group member's master down timer expired: it stays Backup (its timer
    /// restarted) until its group orders [`Input::Sync`] `Master`.
    WantMaster,
}

/// A state change with its reason, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// State before.
    pub from: State,
    /// State after.
    pub to: State,
    /// Why, e.g. `master down timer expired (3.609s without adverts)`.
    pub reason: String,
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}: {}", self.from, self.to, self.reason)
    }
}

/// Why the master down timer was last set, for the reason of the takeover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DownCause {
    /// Entered Backup, or accepted an advert.
    Silence,
    /// A master sent priority 0.
    Stopped(IpAddr),
}

/// Skew_Time for a priority and Master_Adver_Interval (microsecond arithmetic, as keepalived).
pub fn skew_time(version: u8, priority: u8, master_adver_interval: Duration) -> Duration {
    let weight = 256 - u128::from(priority);
    let base_us = if version == 2 { 1_000_000 } else { master_adver_interval.as_micros() };
    Duration::from_micros(u64::try_from(weight * base_us / 256).unwrap_or(u64::MAX))
}

/// Master_Down_Interval = 3 x Master_Adver_Interval + Skew_Time.
pub fn master_down_interval(version: u8, priority: u8, master_adver_interval: Duration) -> Duration {
    master_adver_interval.saturating_mul(3).saturating_add(skew_time(version, priority, master_adver_interval))
}

/// The state machine of one VRRP instance.
#[derive(Debug, Clone)]
pub struct Fsm {
    cfg: Config,
    state: State,
    /// Effective priority from tracking; `None` = FAULT.
    priority: Option<u8>,
    /// The last effective priority that was not FAULT.
    last_priority: u8,
    /// Master_Adver_Interval: the master's (v3) or ours.
    master_adver: Duration,
    /// Backup: when the master down timer fires.
    down_at: Option<Duration>,
    /// When and why the master down timer was last set.
    down_set: (Duration, DownCause),
    /// A lower-priority advert discarded since, for the takeover reason.
    ignored: Option<(IpAddr, u8)>,
    /// Master: when the next advert is due.
    adver_at: Option<Duration>,
    /// When a started preempt delay ends.
    preempt_at: Option<Duration>,
    /// The current master as far as we know.
    master: Option<IpAddr>,
    /// A sync group member whose down timer expired: it wants master, and why.
    wants_master: Option<String>,
    /// Held in FAULT by its sync group (another member is in FAULT).
    group_fault: bool,
}

impl Fsm {
    /// A state machine in Initialize, after checking the config.
    pub fn new(cfg: Config) -> Result<Fsm, VrrpError> {
        cfg.check()?;
        Ok(Fsm {
            priority: Some(cfg.priority),
            last_priority: cfg.priority,
            master_adver: cfg.advert_interval,
            cfg,
            state: State::Initialize,
            down_at: None,
            down_set: (Duration::ZERO, DownCause::Silence),
            ignored: None,
            adver_at: None,
            preempt_at: None,
            master: None,
            wants_master: None,
            group_fault: false,
        })
    }

    /// The config.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The effective priority; `None` while tracking reports FAULT.
    pub fn priority(&self) -> Option<u8> {
        self.priority
    }

    /// The priority keepalived passes to notify commands (`INSTANCE NAME STATE PRIORITY`):
    /// the effective one, or in FAULT the last one before it (keepalived keeps its
    /// effective priority through a fault and passes it, never 0).
    pub fn notify_priority(&self) -> u8 {
        self.priority.unwrap_or(self.last_priority)
    }

    fn keep_priority(&mut self, priority: Option<u8>) {
        self.priority = priority;
        if let Some(p) = priority {
            self.last_priority = p;
        }
    }

    /// The current Master_Adver_Interval.
    pub fn master_adver_interval(&self) -> Duration {
        self.master_adver
    }

    /// The current master: the sender of the last accepted advert, or our primary address.
    pub fn master(&self) -> Option<IpAddr> {
        self.master
    }

    /// True while a sync group member waits for its group to let it become master.
    pub fn wants_master(&self) -> bool {
        self.wants_master.is_some()
    }

    /// True while its sync group holds it in FAULT.
    pub fn group_fault(&self) -> bool {
        self.group_fault
    }

    /// When to step with [`Input::Tick`] next: the master down timer in Backup, the advert
    /// timer in Master, nothing otherwise.
    pub fn next_deadline(&self) -> Option<Duration> {
        match self.state {
            State::Backup => self.down_at,
            State::Master => self.adver_at,
            State::Initialize | State::Fault => None,
        }
    }

    /// Takes new settings without leaving the current state (a manifest reload): what
    /// follows from them follows by the protocol. `effective` is the priority after tracking
    /// under the new settings (`None` = FAULT). A master whose priority or interval changed
    /// advertises at once, so that its backups see the new values without waiting an interval;
    /// one whose effective priority fell below a preempting backup's is preempted by it, as
    /// the RFC says. A backup keeps its master down timer: the next accepted advert resets it
    /// with the new values. A change of tracking to or from FAULT is what it would be at
    /// runtime. `cfg` must pass [`Config::check`].
    pub fn reconfigure(&mut self, cfg: Config, effective: Option<u8>, now: Duration) -> Vec<Action> {
        let before = (self.cfg.advert_interval, self.priority);
        let version_2 = cfg.version == 2;
        let left_group = self.cfg.synced && !cfg.synced;
        self.cfg = cfg;
        if left_group {
            return self.leave_group(effective, now);
        }
        if self.state == State::Master {
            self.master = Some(self.cfg.primary);
        }
        if version_2 || self.state != State::Backup {
            // v2 backups and masters run on their own interval; a v3 backup keeps the one
            // its master advertises.
            self.master_adver = self.cfg.advert_interval;
        }
        match (self.state, effective) {
            (State::Initialize, p) => {
                self.keep_priority(p);
                Vec::new()
            }
            (State::Master, Some(p)) if before != (self.cfg.advert_interval, Some(p)) => {
                self.keep_priority(Some(p));
                self.adver_at = Some(now.saturating_add(self.cfg.advert_interval));
                vec![Action::SendAdvert { priority: p }]
            }
            _ => self.set_priority(effective, now),
        }
    }

    /// Feeds one input at time `now`; returns what the caller must do, in order.
    pub fn step(&mut self, input: Input, now: Duration) -> Vec<Action> {
        match input {
            Input::Startup if self.state == State::Initialize => self.start(now, "startup"),
            Input::Startup => Vec::new(),
            Input::AdvertReceived { from, priority, max_advert_interval } => {
                self.received(from, priority, max_advert_interval, now)
            }
            Input::Tick => self.tick(now),
            Input::Shutdown => self.shutdown(),
            Input::EffectivePriority(p) => self.set_priority(p, now),
            Input::Sync { to, why } => self.sync(to, why, now),
        }
    }

    /// Follows an order of the sync group (keepalived's rules: a forced backup releases the
    /// VIPs without a priority-0 advert, a forced fault sends one).
    fn sync(&mut self, to: State, why: String, now: Duration) -> Vec<Action> {
        match (to, self.state) {
            (State::Fault, s) => {
                self.group_fault = true;
                self.wants_master = None;
                match s {
                    State::Master => {
                        let effects = vec![Action::SendAdvert { priority: 0 }, Action::ReleaseVips];
                        self.enter(State::Fault, why, effects)
                    }
                    State::Backup => self.enter(State::Fault, why, Vec::new()),
                    State::Fault | State::Initialize => Vec::new(),
                }
            }
            (State::Backup, s) => {
                self.group_fault = false;
                match (s, self.priority) {
                    (State::Master, _) | (State::Fault, Some(_)) => {
                        self.become_backup(now, self.cfg.advert_interval, why)
                    }
                    _ => Vec::new(),
                }
            }
            (State::Master, State::Backup) => {
                let wanted = self.wants_master.take();
                let reason = match wanted {
                    Some(w) => format!("{why}; {w}"),
                    None => why,
                };
                self.become_master(now, reason)
            }
            _ => Vec::new(),
        }
    }

    /// No longer in a sync group: a fault the group held ends, a wish to become master
    /// is granted by the protocol at the next expiry.
    fn leave_group(&mut self, effective: Option<u8>, now: Duration) -> Vec<Action> {
        let held = std::mem::take(&mut self.group_fault);
        self.wants_master = None;
        if self.state == State::Initialize {
            self.keep_priority(effective);
            return Vec::new();
        }
        if held && self.state == State::Fault && effective.is_some() {
            self.keep_priority(effective);
            return self.start(now, "left its sync group");
        }
        self.set_priority(effective, now)
    }

    fn eff(&self) -> u8 {
        self.priority.unwrap_or(self.cfg.priority)
    }

    fn skew(&self) -> Duration {
        skew_time(self.cfg.version, self.eff(), self.master_adver)
    }

    fn down_interval(&self) -> Duration {
        master_down_interval(self.cfg.version, self.eff(), self.master_adver)
    }

    /// Leaves Initialize or Fault: Fault while tracking fails, Master for the address owner,
    /// Backup otherwise.
    fn start(&mut self, now: Duration, why: &str) -> Vec<Action> {
        match self.priority {
            None => self.enter(State::Fault, format!("{why} while tracking reports FAULT"), Vec::new()),
            Some(_) if self.group_fault => {
                self.enter(State::Fault, format!("{why} while its sync group is in FAULT"), Vec::new())
            }
            Some(255) if self.cfg.synced => {
                let reason = format!("{why}: address owner (priority 255), waiting for its sync group");
                let mut actions = self.become_backup(now, self.cfg.advert_interval, reason);
                self.wants_master = Some(format!("{why}: address owner (priority 255)"));
                actions.push(Action::WantMaster);
                actions
            }
            Some(255) => self.become_master(now, format!("{why}: address owner (priority 255)")),
            Some(p) => {
                let wait = master_down_interval(self.cfg.version, p, self.cfg.advert_interval);
                let reason = format!("{why}: priority {p}, waiting up to {} for a master", secs(wait));
                self.become_backup(now, self.cfg.advert_interval, reason)
            }
        }
    }

    fn received(&mut self, from: IpAddr, priority: u8, interval: Duration, now: Duration) -> Vec<Action> {
        if from == self.cfg.primary || (self.cfg.owner_ignores_adverts && self.eff() == 255) {
            return Vec::new();
        }
        match self.state {
            State::Backup => self.backup_received(from, priority, interval, now),
            State::Master => self.master_received(from, priority, interval, now),
            State::Initialize | State::Fault => Vec::new(),
        }
    }

    fn backup_received(&mut self, from: IpAddr, priority: u8, interval: Duration, now: Duration) -> Vec<Action> {
        let ours = self.eff();
        if priority == 0 {
            self.down_at = Some(now.saturating_add(self.skew()));
            self.down_set = (now, DownCause::Stopped(from));
            return Vec::new();
        }
        let delay = self.cfg.preempt_delay;
        let delaying = !delay.is_zero() && self.preempt_at.is_none_or(|t| now < t);
        if self.cfg.preempt && priority < ours && !delaying {
            self.ignored = Some((from, priority));
            return Vec::new();
        }
        if self.cfg.version == 3 && !interval.is_zero() {
            self.master_adver = interval;
        }
        self.down_at = Some(now.saturating_add(self.down_interval()));
        self.down_set = (now, DownCause::Silence);
        self.ignored = None;
        self.master = Some(from);
        self.wants_master = None;
        if !delay.is_zero() {
            if priority >= ours {
                self.preempt_at = None;
            } else if self.preempt_at.is_none() {
                self.preempt_at = Some(now.saturating_add(delay));
            }
        }
        Vec::new()
    }

    fn master_received(&mut self, from: IpAddr, priority: u8, interval: Duration, now: Duration) -> Vec<Action> {
        let ours = self.eff();
        if priority == 0 {
            self.adver_at = Some(now.saturating_add(self.cfg.advert_interval));
            return vec![Action::SendAdvert { priority: ours }];
        }
        let reason = if priority > ours {
            format!("received higher priority {priority} from {from}")
        } else if priority == ours && from > self.cfg.primary {
            format!("received equal priority {priority} from {from}, a higher address than ours ({})", self.cfg.primary)
        } else if self.cfg.advert_on_lower {
            return vec![Action::SendAdvert { priority: ours }];
        } else {
            return Vec::new();
        };
        let adopted = if self.cfg.version == 3 && !interval.is_zero() { interval } else { self.cfg.advert_interval };
        let actions = self.become_backup(now, adopted, reason);
        self.master = Some(from);
        actions
    }

    fn tick(&mut self, now: Duration) -> Vec<Action> {
        match (self.state, self.down_at, self.adver_at) {
            (State::Backup, Some(due), _) if due <= now && self.cfg.synced => {
                let reason = self.takeover_reason(now);
                self.wants_master = Some(reason);
                self.down_at = Some(now.saturating_add(self.down_interval()));
                vec![Action::WantMaster]
            }
            (State::Backup, Some(due), _) if due <= now => {
                let reason = self.takeover_reason(now);
                self.become_master(now, reason)
            }
            (State::Master, _, Some(due)) if due <= now => {
                self.adver_at = Some(now.saturating_add(self.cfg.advert_interval));
                vec![Action::SendAdvert { priority: self.eff() }]
            }
            _ => Vec::new(),
        }
    }

    fn takeover_reason(&self, now: Duration) -> String {
        let (since, cause) = self.down_set;
        let waited = secs(now.saturating_sub(since));
        match (cause, self.ignored) {
            (DownCause::Stopped(from), _) => {
                format!("master down timer expired ({waited} after priority 0 from {from})")
            }
            (DownCause::Silence, None) => {
                format!("master down timer expired ({waited} without adverts)")
            }
            (DownCause::Silence, Some((from, p))) => {
                format!(
                    "master down timer expired ({waited} without adverts; preempting lower priority {p} from {from})"
                )
            }
        }
    }

    fn shutdown(&mut self) -> Vec<Action> {
        self.group_fault = false;
        let effects = match self.state {
            State::Initialize => return Vec::new(),
            State::Master => vec![Action::SendAdvert { priority: 0 }, Action::ReleaseVips],
            State::Backup | State::Fault => Vec::new(),
        };
        self.enter(State::Initialize, "shutdown".into(), effects)
    }

    fn set_priority(&mut self, priority: Option<u8>, now: Duration) -> Vec<Action> {
        let before = self.priority;
        self.keep_priority(priority);
        match (self.state, priority) {
            (State::Fault, Some(_)) if self.group_fault => Vec::new(),
            (State::Fault, Some(_)) => self.start(now, "tracking recovered"),
            (State::Master, None) => {
                let effects = vec![Action::SendAdvert { priority: 0 }, Action::ReleaseVips];
                self.enter(State::Fault, "tracking reports FAULT".into(), effects)
            }
            (State::Backup, None) => self.enter(State::Fault, "tracking reports FAULT".into(), Vec::new()),
            (State::Master, Some(p)) if before != Some(p) => {
                self.adver_at = Some(now.saturating_add(self.cfg.advert_interval));
                vec![Action::SendAdvert { priority: p }]
            }
            _ => Vec::new(),
        }
    }

    fn become_master(&mut self, now: Duration, reason: String) -> Vec<Action> {
        let effects = vec![Action::SendAdvert { priority: self.eff() }, Action::TakeVips];
        let actions = self.enter(State::Master, reason, effects);
        self.master_adver = self.cfg.advert_interval;
        self.adver_at = Some(now.saturating_add(self.cfg.advert_interval));
        self.master = Some(self.cfg.primary);
        actions
    }

    fn become_backup(&mut self, now: Duration, master_adver: Duration, reason: String) -> Vec<Action> {
        let effects = if self.state == State::Master { vec![Action::ReleaseVips] } else { Vec::new() };
        let actions = self.enter(State::Backup, reason, effects);
        self.master_adver = master_adver;
        self.down_at = Some(now.saturating_add(self.down_interval()));
        self.down_set = (now, DownCause::Silence);
        actions
    }

    /// Changes state, clearing every timer; returns the transition followed by `effects`.
    fn enter(&mut self, to: State, reason: String, effects: Vec<Action>) -> Vec<Action> {
        let from = self.state;
        self.state = to;
        self.down_at = None;
        self.adver_at = None;
        self.preempt_at = None;
        self.ignored = None;
        self.master = None;
        self.wants_master = None;
        self.master_adver = self.cfg.advert_interval;
        let mut actions = vec![Action::Transition(Transition { from, to, reason })];
        actions.extend(effects);
        actions
    }
}

/// Seconds with millisecond precision, e.g. `3.609s`.
fn secs(d: Duration) -> String {
    format!("{}.{:03}s", d.as_secs(), d.subsec_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    const US: &str = "10.0.0.1";
    const PEER: &str = "10.0.0.2";
    const LOW_PEER: &str = "10.0.0.0";

    fn cfg(version: u8, priority: u8, interval: Duration) -> Config {
        Config::new(version, priority, interval, ip(US))
    }

    fn started(c: Config, now: Duration) -> Fsm {
        let mut f = Fsm::new(c).unwrap();
        let a = f.step(Input::Startup, now);
        assert!(matches!(&a[..], [Action::Transition(_), ..]), "{a:?}");
        f
    }

    fn adv(from: &str, priority: u8, interval: Duration) -> Input {
        Input::AdvertReceived { from: ip(from), priority, max_advert_interval: interval }
    }

    /// The RFC formula, written out independently of the code under test, in microseconds.
    fn rfc_mdi_us(version: u8, priority: u8, interval_us: u64) -> u64 {
        let skew = if version == 3 {
            (256 - u64::from(priority)) * interval_us / 256
        } else {
            (256 - u64::from(priority)) * 1_000_000 / 256
        };
        3 * interval_us + skew
    }

    fn rfc_skew_us(version: u8, priority: u8, interval_us: u64) -> u64 {
        rfc_mdi_us(version, priority, interval_us) - 3 * interval_us
    }

    fn transitions(actions: &[Action]) -> Vec<(State, State)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Transition(t) => Some((t.from, t.to)),
                _ => None,
            })
            .collect()
    }

    fn reason(actions: &[Action]) -> String {
        actions
            .iter()
            .find_map(|a| match a {
                Action::Transition(t) => Some(t.reason.clone()),
                _ => None,
            })
            .unwrap()
    }

    /// Every (version, our priority, our interval, the master's interval) combination tried.
    fn grid() -> Vec<(u8, u8, Duration, Duration)> {
        let mut prios: Vec<u8> = (1..=254).step_by(11).collect();
        prios.extend([100, 150, 253, 254]);
        let mut out = Vec::new();
        for &p in &prios {
            for s in [1, 2, 3, 10, 255] {
                out.push((2, p, Duration::from_secs(s), Duration::from_secs(s)));
            }
            for (mine, theirs) in [(10, 10), (100, 100), (1000, 100), (100, 1000), (30, 4095), (4095, 10)] {
                out.push((3, p, ms(mine * 10), ms(theirs * 10)));
            }
        }
        out
    }

    /// Whether `a` is a takeover: Backup -> Master, an advert at `priority`, then the VIPs.
    fn is_takeover(a: &[Action], priority: u8) -> bool {
        let [Action::Transition(t), Action::SendAdvert { priority: p }, Action::TakeVips] = a else {
            return false;
        };
        (t.from, t.to, *p) == (State::Backup, State::Master, priority)
    }

    #[test]
    fn config_is_checked() {
        assert!(Fsm::new(cfg(2, 100, ms(1500))).is_err());
        assert!(Fsm::new(cfg(2, 100, Duration::from_secs(256))).is_err());
        assert!(Fsm::new(cfg(3, 100, ms(5))).is_err());
        assert!(Fsm::new(cfg(3, 100, ms(40_960))).is_err());
        assert!(Fsm::new(cfg(3, 100, us(100_500))).is_err());
        assert!(Fsm::new(cfg(3, 0, ms(100))).is_err());
        assert!(Fsm::new(cfg(4, 100, ms(1000))).is_err());
        assert!(Fsm::new(cfg(3, 255, ms(40_950))).is_ok());
        let e = Fsm::new(cfg(2, 100, ms(1500))).unwrap_err().to_string();
        assert_eq!(e, "VRRPv2 advert interval must be whole seconds from 1 to 255, not 1.5s");
        assert_eq!(cfg(3, 1, ms(40_950)).interval_cs(), 4095);
    }

    #[test]
    fn lab_numbers() {
        // vrrp-lab README: 3.609 s (v2, 1 s, prio 100), 0.361 s (v3, 0.1 s), skew 609 / 61 ms,
        // keepalived prio 150 takes over 3.414 s after start.
        assert_eq!(master_down_interval(2, 100, ms(1000)), us(3_609_375));
        assert_eq!(master_down_interval(3, 100, ms(100)), us(360_937));
        assert_eq!(skew_time(2, 100, ms(1000)), us(609_375));
        assert_eq!(skew_time(3, 100, ms(100)), us(60_937));
        assert_eq!(skew_time(2, 150, ms(1000)), us(414_062));
        assert_eq!(master_down_interval(2, 150, ms(1000)), us(3_414_062));
        // v2 skew does not scale with the interval.
        assert_eq!(skew_time(2, 100, ms(5000)), us(609_375));
    }

    #[test]
    fn backup_takes_over_exactly_at_master_down_interval_after_last_advert() {
        for (v, p, mine, theirs) in grid() {
            let t0 = Duration::from_secs(1000);
            let mut f = started(cfg(v, p, mine), t0);
            assert_eq!(f.state(), State::Backup);
            assert_eq!(f.next_deadline(), Some(t0 + us(rfc_mdi_us(v, p, mine.as_micros() as u64))));
            let t1 = t0 + us(1);
            assert_eq!(f.step(adv(PEER, 255, theirs), t1), vec![]);
            // v3 adopts the master's interval; v2 keeps its own.
            let adopted = if v == 3 { theirs } else { mine };
            assert_eq!(f.master_adver_interval(), adopted);
            let due = t1 + us(rfc_mdi_us(v, p, adopted.as_micros() as u64));
            assert_eq!(f.next_deadline(), Some(due), "v{v} prio {p} {mine:?}/{theirs:?}");
            assert_eq!(f.step(Input::Tick, due - us(1)), vec![]);
            assert_eq!(f.state(), State::Backup);
            let a = f.step(Input::Tick, due);
            assert!(is_takeover(&a, p), "{a:?}");
            assert_eq!(f.next_deadline(), Some(due + mine), "a new master advertises at its own interval");
            assert_eq!(f.master_adver_interval(), mine);
        }
    }

    #[test]
    fn takeover_reason_says_how_long_it_waited() {
        let mut f = started(cfg(2, 100, ms(1000)), ms(0));
        f.step(adv(PEER, 150, ms(1000)), ms(5000));
        let a = f.step(Input::Tick, ms(5000) + us(3_609_375));
        assert_eq!(reason(&a), "master down timer expired (3.609s without adverts)");
        let mut f = started(cfg(2, 150, ms(1000)), ms(0));
        f.step(adv(PEER, 100, ms(1000)), ms(500));
        let a = f.step(Input::Tick, us(3_414_062));
        assert_eq!(
            reason(&a),
            "master down timer expired (3.414s without adverts; preempting lower priority 100 from 10.0.0.2)"
        );
        let mut f = started(cfg(2, 100, ms(1000)), ms(0));
        f.step(adv(PEER, 0, ms(1000)), ms(2000));
        let a = f.step(Input::Tick, ms(2000) + us(609_375));
        assert_eq!(reason(&a), "master down timer expired (0.609s after priority 0 from 10.0.0.2)");
        let t = Transition { from: State::Backup, to: State::Master, reason: "x".into() };
        assert_eq!(t.to_string(), "BACKUP -> MASTER: x");
    }

    #[test]
    fn priority_zero_advert_leaves_only_the_skew() {
        for (v, p, mine, theirs) in grid() {
            let mut f = started(cfg(v, p, mine), ms(0));
            f.step(adv(PEER, 200.max(p), theirs), ms(1));
            let adopted = if v == 3 { theirs } else { mine };
            let t2 = ms(1) + us(7);
            assert_eq!(f.step(adv(PEER, 0, theirs), t2), vec![]);
            let due = t2 + us(rfc_skew_us(v, p, adopted.as_micros() as u64));
            assert_eq!(f.next_deadline(), Some(due), "v{v} prio {p}");
            assert_eq!(f.step(Input::Tick, due - us(1)), vec![]);
            assert!(is_takeover(&f.step(Input::Tick, due), p));
        }
    }

    /// Drives one instance against a peer advertising at `times`, ticking at every deadline
    /// before the next advert, then at those up to `horizon`. Returns when the instance became
    /// master, if it did.
    fn run(
        f: &mut Fsm,
        peer: &str,
        priority: u8,
        interval: Duration,
        times: Vec<Duration>,
        horizon: Duration,
    ) -> Option<Duration> {
        let adverts = times.iter().map(|t| (*t, true));
        for (t, advert) in adverts.chain([(horizon, false)]) {
            while let Some(d) = f.next_deadline().filter(|d| *d <= t) {
                let a = f.step(Input::Tick, d);
                if f.state() == State::Master {
                    assert!(matches!(&a[..], [Action::Transition(_), Action::SendAdvert { .. }, Action::TakeVips]));
                    return Some(d);
                }
            }
            if advert {
                assert_eq!(f.step(adv(peer, priority, interval), t), vec![]);
            }
        }
        None
    }

    /// Advert times `first + k * interval` up to `horizon`.
    fn every(first: Duration, interval: Duration, horizon: Duration) -> Vec<Duration> {
        (0u32..).map(|k| first + interval * k).take_while(|t| *t <= horizon).collect()
    }

    #[test]
    fn a_higher_or_equal_priority_master_keeps_it_backup_forever() {
        let mut rng = crate::testkit::Rng::new(0x1234_5678_9abc_def1);
        let mut rand = move |n: u64| rng.below(n);
        for (v, p, mine, theirs) in grid() {
            let peer_prio = p + rand(u64::from(255 - p) + 1) as u8;
            let mut f = started(cfg(v, p, mine), ms(0));
            // Adverts arrive late by up to almost the slack the formula allows.
            let adopted = if v == 3 { theirs } else { mine };
            let slack = us(rfc_mdi_us(v, p, adopted.as_micros() as u64)) - theirs - us(1);
            let mut t = ms(1);
            let mut times = Vec::new();
            for _ in 0..500 {
                times.push(t);
                t += theirs + us(rand(slack.as_micros() as u64));
            }
            let end = *times.last().unwrap();
            assert_eq!(run(&mut f, PEER, peer_prio, theirs, times, end), None, "v{v} prio {p} vs {peer_prio}");
            assert_eq!((f.state(), f.master()), (State::Backup, Some(ip(PEER))));
        }
    }

    #[test]
    fn nopreempt_keeps_it_backup_under_a_lower_priority_master() {
        for (v, p, mine, theirs) in grid().into_iter().filter(|g| g.1 > 1) {
            let mut c = cfg(v, p, mine);
            c.preempt = false;
            let mut f = started(c, ms(0));
            let horizon = theirs * 300 + mine * 10;
            let times = every(ms(1), theirs, horizon);
            let end = *times.last().unwrap();
            assert_eq!(run(&mut f, PEER, p - 1, theirs, times, end), None);
        }
    }

    #[test]
    fn preempting_backup_takes_over_from_a_lower_master_after_its_own_timer() {
        for (v, p, mine, theirs) in grid().into_iter().filter(|g| g.1 > 1) {
            let mut f = started(cfg(v, p, mine), ms(5));
            let at = run(&mut f, PEER, p - 1, theirs, every(ms(6), theirs, mine * 10), mine * 10);
            // Lower adverts are discarded: the startup timer (our own interval) runs out.
            assert_eq!(at, Some(ms(5) + us(rfc_mdi_us(v, p, mine.as_micros() as u64))), "v{v} prio {p}");
        }
    }

    #[test]
    fn preempt_delay_is_respected() {
        for (v, p, mine, theirs) in grid().into_iter().filter(|g| g.1 > 1) {
            for delay in [ms(10), ms(1000), ms(2500), Duration::from_secs(7)] {
                let mut c = cfg(v, p, mine);
                c.preempt_delay = delay;
                let mut f = started(c, ms(0));
                let first = ms(3);
                let horizon = delay + mine * 10 + theirs * 10;
                let times = every(first, theirs, horizon);
                let at = run(&mut f, PEER, p - 1, theirs, times.clone(), horizon).expect("takes over");
                // Lower adverts count until the delay (started by the first) has passed; the
                // takeover comes Master_Down_Interval after the last one that counted.
                let last = times.iter().copied().filter(|t| *t < first + delay).max().unwrap();
                let adopted = if v == 3 { theirs } else { mine };
                assert_eq!(
                    at,
                    last + us(rfc_mdi_us(v, p, adopted.as_micros() as u64)),
                    "v{v} prio {p} delay {delay:?}"
                );
                assert!(at >= first + delay);
            }
        }
    }

    #[test]
    fn preempt_delay_is_cancelled_by_a_higher_advert() {
        let mut c = cfg(2, 150, ms(1000));
        c.preempt_delay = ms(5000);
        let mut f = started(c, ms(0));
        f.step(adv(PEER, 100, ms(1000)), ms(1000)); // starts the delay (ends at 6 s)
        f.step(adv("10.0.0.3", 200, ms(1000)), ms(2000)); // cancels it
        f.step(adv(PEER, 100, ms(1000)), ms(3000)); // restarts it: ends at 8 s
        for t in [4000, 5000, 6000, 7000] {
            f.step(adv(PEER, 100, ms(1000)), ms(t));
        }
        assert_eq!(f.next_deadline(), Some(ms(7000) + us(3_414_062)));
        f.step(adv(PEER, 100, ms(1000)), ms(8000)); // discarded: the delay has passed
        assert_eq!(f.next_deadline(), Some(ms(7000) + us(3_414_062)));
    }

    #[test]
    fn address_owner_goes_master_at_once() {
        let mut f = Fsm::new(cfg(3, 255, ms(100))).unwrap();
        let a = f.step(Input::Startup, ms(7));
        assert_eq!(transitions(&a), vec![(State::Initialize, State::Master)]);
        assert_eq!(a[1..], [Action::SendAdvert { priority: 255 }, Action::TakeVips]);
        assert_eq!(reason(&a), "startup: address owner (priority 255)");
        assert_eq!((f.next_deadline(), f.master()), (Some(ms(107)), Some(ip(US))));
        assert_eq!(f.step(Input::Startup, ms(8)), vec![], "a second startup is ignored");
    }

    fn master(c: Config) -> Fsm {
        let mut f = started(c, ms(0));
        let due = f.next_deadline().unwrap();
        f.step(Input::Tick, due);
        if f.wants_master() {
            f.step(Input::Sync { to: State::Master, why: "sync group".into() }, due);
        }
        assert_eq!(f.state(), State::Master);
        f
    }

    #[test]
    fn master_advertises_every_interval() {
        let mut f = master(cfg(3, 100, ms(100)));
        let mut due = f.next_deadline().unwrap();
        for _ in 0..50 {
            assert_eq!(f.step(Input::Tick, due - us(1)), vec![]);
            assert_eq!(f.step(Input::Tick, due), vec![Action::SendAdvert { priority: 100 }]);
            assert_eq!(f.next_deadline(), Some(due + ms(100)));
            due += ms(100);
        }
        // A late tick schedules from when it ran.
        assert_eq!(f.step(Input::Tick, due + ms(30)), vec![Action::SendAdvert { priority: 100 }]);
        assert_eq!(f.next_deadline(), Some(due + ms(130)));
    }

    #[test]
    fn master_steps_down_to_a_higher_priority_and_adopts_its_interval() {
        let mut f = master(cfg(3, 100, ms(1000)));
        let now = ms(10_000);
        let a = f.step(adv(LOW_PEER, 101, ms(500)), now);
        assert_eq!(transitions(&a), vec![(State::Master, State::Backup)]);
        assert_eq!(a[1..], [Action::ReleaseVips]);
        assert_eq!(reason(&a), "received higher priority 101 from 10.0.0.0");
        assert_eq!(f.master_adver_interval(), ms(500));
        assert_eq!(f.next_deadline(), Some(now + us(rfc_mdi_us(3, 100, 500_000))));
        assert_eq!(f.master(), Some(ip(LOW_PEER)));
        // v2 keeps its own interval.
        let mut f = master(cfg(2, 100, ms(1000)));
        f.step(adv(PEER, 200, ms(2000)), now);
        assert_eq!((f.state(), f.master_adver_interval()), (State::Backup, ms(1000)));
    }

    #[test]
    fn equal_priority_is_won_by_the_higher_address() {
        let mut f = master(cfg(3, 100, ms(1000)));
        let before = f.next_deadline();
        assert_eq!(f.step(adv(LOW_PEER, 100, ms(1000)), ms(9000)), vec![Action::SendAdvert { priority: 100 }]);
        assert_eq!((f.state(), f.next_deadline()), (State::Master, before));
        let a = f.step(adv(PEER, 100, ms(1000)), ms(9000));
        assert_eq!(transitions(&a), vec![(State::Master, State::Backup)]);
        assert_eq!(reason(&a), "received equal priority 100 from 10.0.0.2, a higher address than ours (10.0.0.1)");
        // IPv6 link-local sources compare the same way.
        let mut f = master(Config::new(3, 100, ms(1000), ip("fe80::88:ff:fe00:11")));
        f.step(adv("fe80::88:ff:fe00:12", 100, ms(1000)), ms(9000));
        assert_eq!(f.state(), State::Backup);
    }

    #[test]
    fn master_ignores_or_answers_lower_priority() {
        let mut f = master(cfg(2, 150, ms(1000)));
        let before = f.next_deadline();
        assert_eq!(f.step(adv(PEER, 100, ms(1000)), ms(9000)), vec![Action::SendAdvert { priority: 150 }]);
        assert_eq!((f.state(), f.next_deadline()), (State::Master, before));
        let mut c = cfg(2, 150, ms(1000));
        c.advert_on_lower = false;
        let mut f = master(c);
        assert_eq!(f.step(adv(PEER, 100, ms(1000)), ms(9000)), vec![]);
        assert_eq!(f.state(), State::Master);
    }

    #[test]
    fn an_owner_ignoring_adverts_stays_master_whatever_it_hears() {
        // keepalived's default: a second owner at a higher address takes over.
        let mut f = master(cfg(3, 255, ms(1000)));
        f.step(adv("10.0.0.9", 255, ms(1000)), ms(9000));
        assert_eq!(f.state(), State::Backup);
        // Strict (owner_ignore_adverts): every advert is dropped, priority 0 included.
        let mut f = master(Config { owner_ignores_adverts: true, ..cfg(3, 255, ms(1000)) });
        let before = f.next_deadline();
        assert_eq!(f.step(adv("10.0.0.9", 255, ms(1000)), ms(9000)), vec![]);
        assert_eq!(f.step(adv("10.0.0.9", 0, ms(1000)), ms(9100)), vec![]);
        assert_eq!((f.state(), f.next_deadline()), (State::Master, before));
        // Below 255 (lowered by tracking) it listens again.
        f.step(Input::EffectivePriority(Some(200)), ms(9200));
        f.step(adv("10.0.0.9", 255, ms(1000)), ms(9300));
        assert_eq!(f.state(), State::Backup);
    }

    #[test]
    fn master_answers_priority_zero_at_once() {
        let mut f = master(cfg(3, 100, ms(1000)));
        assert_eq!(f.step(adv(PEER, 0, ms(1000)), ms(9500)), vec![Action::SendAdvert { priority: 100 }]);
        assert_eq!((f.state(), f.next_deadline()), (State::Master, Some(ms(10_500))));
    }

    #[test]
    fn own_adverts_are_ignored() {
        let mut f = master(cfg(3, 100, ms(1000)));
        assert_eq!(f.step(adv(US, 200, ms(1000)), ms(9000)), vec![]);
        assert_eq!(f.state(), State::Master);
    }

    #[test]
    fn graceful_shutdown() {
        let mut f = master(cfg(2, 100, ms(1000)));
        let a = f.step(Input::Shutdown, ms(9000));
        assert_eq!(transitions(&a), vec![(State::Master, State::Initialize)]);
        assert_eq!(a[1..], [Action::SendAdvert { priority: 0 }, Action::ReleaseVips]);
        assert_eq!(f.next_deadline(), None);
        assert_eq!(f.step(Input::Shutdown, ms(9001)), vec![]);
        let mut b = started(cfg(2, 100, ms(1000)), ms(0));
        let a = b.step(Input::Shutdown, ms(10));
        assert_eq!(transitions(&a), vec![(State::Backup, State::Initialize)]);
        assert_eq!(a.len(), 1);
        assert_eq!(b.step(Input::Tick, ms(10_000)), vec![]);
        assert_eq!(b.step(adv(PEER, 100, ms(1000)), ms(10_000)), vec![]);
        // It can start again.
        assert_eq!(transitions(&b.step(Input::Startup, ms(20_000))), vec![(State::Initialize, State::Backup)]);
    }

    #[test]
    fn fault_from_tracking() {
        let mut f = master(cfg(3, 100, ms(1000)));
        let a = f.step(Input::EffectivePriority(None), ms(9000));
        assert_eq!(transitions(&a), vec![(State::Master, State::Fault)]);
        assert_eq!(a[1..], [Action::SendAdvert { priority: 0 }, Action::ReleaseVips]);
        assert_eq!((f.next_deadline(), f.priority()), (None, None));
        assert_eq!(f.notify_priority(), 100, "notify commands get the priority before the fault, as keepalived's");
        assert_eq!(f.step(adv(PEER, 50, ms(1000)), ms(9100)), vec![]);
        assert_eq!(f.step(Input::Tick, ms(60_000)), vec![]);
        let a = f.step(Input::EffectivePriority(Some(90)), ms(60_000));
        assert_eq!(transitions(&a), vec![(State::Fault, State::Backup)]);
        assert_eq!(a.len(), 1);
        assert_eq!(f.next_deadline(), Some(ms(60_000) + us(rfc_mdi_us(3, 90, 1_000_000))));
        // Backup -> Fault sends nothing; startup during a fault stays in Fault.
        let a = f.step(Input::EffectivePriority(None), ms(60_001));
        assert_eq!(transitions(&a), vec![(State::Backup, State::Fault)]);
        assert_eq!(a.len(), 1);
        assert_eq!(f.notify_priority(), 90, "the last effective priority, a weight's change kept");
        let mut g = Fsm::new(cfg(3, 100, ms(1000))).unwrap();
        assert_eq!(g.step(Input::EffectivePriority(None), ms(0)), vec![]);
        assert_eq!(transitions(&g.step(Input::Startup, ms(1))), vec![(State::Initialize, State::Fault)]);
        // The owner recovers straight to Master.
        let mut o = Fsm::new(cfg(3, 255, ms(1000))).unwrap();
        o.step(Input::EffectivePriority(None), ms(0));
        o.step(Input::Startup, ms(0));
        assert_eq!(
            transitions(&o.step(Input::EffectivePriority(Some(255)), ms(5))),
            vec![(State::Fault, State::Master)]
        );
    }

    #[test]
    fn priority_change_on_a_master_is_advertised_at_once() {
        let mut f = master(cfg(3, 100, ms(1000)));
        assert_eq!(f.step(Input::EffectivePriority(Some(80)), ms(9000)), vec![Action::SendAdvert { priority: 80 }]);
        assert_eq!(f.next_deadline(), Some(ms(10_000)));
        assert_eq!(f.step(Input::EffectivePriority(Some(80)), ms(9001)), vec![]);
        assert_eq!(f.step(Input::Tick, ms(10_000)), vec![Action::SendAdvert { priority: 80 }]);
        // A backup's new priority changes its skew from the next advert on.
        let mut b = started(cfg(3, 100, ms(1000)), ms(0));
        assert_eq!(b.step(Input::EffectivePriority(Some(200)), ms(1)), vec![]);
        b.step(adv(PEER, 250, ms(1000)), ms(2));
        assert_eq!(b.next_deadline(), Some(ms(2) + us(rfc_mdi_us(3, 200, 1_000_000))));
    }

    /// Two instances on one simulated link, like the vrrp-lab pair: n1 prio 150, n2 prio 100.
    struct Pair {
        nodes: [Fsm; 2],
        up: [bool; 2],
        log: Vec<(Duration, usize, State, State)>,
    }

    impl Pair {
        fn new(version: u8, interval: Duration) -> Pair {
            let n1 = Fsm::new(Config::new(version, 150, interval, ip("10.88.0.11"))).unwrap();
            let n2 = Fsm::new(Config::new(version, 100, interval, ip("10.88.0.12"))).unwrap();
            Pair { nodes: [n1, n2], up: [true, true], log: Vec::new() }
        }

        /// Steps node `i` and delivers what it sends to the other node, at the same instant.
        fn step(&mut self, i: usize, input: Input, now: Duration) {
            let mut queue = VecDeque::from([(i, input)]);
            let mut budget = 100;
            while let Some((n, input)) = queue.pop_front() {
                budget -= 1;
                assert!(budget > 0, "advert storm");
                for a in self.nodes[n].step(input, now) {
                    match a {
                        Action::Transition(t) => self.log.push((now, n, t.from, t.to)),
                        Action::SendAdvert { priority } if self.up[n] => {
                            let from = self.nodes[n].config().primary;
                            let interval = self.nodes[n].config().advert_interval;
                            queue.push_back((
                                1 - n,
                                Input::AdvertReceived { from, priority, max_advert_interval: interval },
                            ));
                        }
                        _ => {}
                    }
                }
            }
        }

        /// Runs every timer due up to `until`, in time order.
        fn run_until(&mut self, until: Duration) {
            loop {
                let next =
                    (0..2).filter(|&n| self.up[n]).filter_map(|n| self.nodes[n].next_deadline().map(|d| (d, n))).min();
                match next {
                    Some((d, n)) if d <= until => self.step(n, Input::Tick, d),
                    _ => return,
                }
            }
        }
    }

    #[test]
    fn two_nodes_reproduce_the_lab_timings() {
        for (v, interval, term_skew) in [(2, ms(1000), us(609_375)), (3, ms(100), us(60_937))] {
            // Both start at 0: n1 (150) takes over at its own down interval, n2 stays backup.
            let mut p = Pair::new(v, interval);
            p.step(0, Input::Startup, ms(0));
            p.step(1, Input::Startup, ms(0));
            p.run_until(interval * 100);
            let n1_up = us(rfc_mdi_us(v, 150, interval.as_micros() as u64));
            assert_eq!(p.log[2..], [(n1_up, 0, State::Backup, State::Master)], "v{v}");
            assert_eq!(p.nodes[1].state(), State::Backup);
            // Crash n1 at a point between two adverts: n2 takes over MDI after n1's last advert.
            let at = interval * 100 + interval / 3;
            let mut crash = p.clone_at(at);
            let adverts = (at - n1_up).as_micros() / interval.as_micros();
            let last = n1_up + interval * u32::try_from(adverts).unwrap();
            crash.run_until(interval * 200);
            let mdi = us(rfc_mdi_us(v, 100, interval.as_micros() as u64));
            assert_eq!(crash.log.last(), Some(&(last + mdi, 1, State::Backup, State::Master)));
            // Graceful stop of n1: n2 takes over after the skew alone.
            let stop = at;
            p.run_until(stop);
            p.step(0, Input::Shutdown, stop);
            p.run_until(interval * 200);
            assert_eq!(p.log.last(), Some(&(stop + term_skew, 1, State::Backup, State::Master)));
            // n1 comes back and preempts n2 after its own down interval; n2 steps down at once.
            let back = interval * 300;
            p.step(0, Input::Startup, back);
            p.run_until(interval * 400);
            let tail: Vec<_> = p.log.iter().rev().take(2).rev().copied().collect();
            assert_eq!(
                tail,
                [(back + n1_up, 0, State::Backup, State::Master), (back + n1_up, 1, State::Master, State::Backup)]
            );
        }
    }

    /// n1 master, n2 backup, both settled at `at` (v2, 1 s adverts).
    fn settled_pair(at: Duration) -> Pair {
        let mut p = Pair::new(2, ms(1000));
        p.step(0, Input::Startup, ms(0));
        p.step(1, Input::Startup, ms(0));
        p.run_until(at);
        assert_eq!((p.nodes[0].state(), p.nodes[1].state()), (State::Master, State::Backup));
        p
    }

    #[test]
    fn reconfiguring_a_master_keeps_it_master_and_advertises_the_new_values_at_once() {
        let mut p = settled_pair(ms(20_000));
        let transitions = p.log.len();
        let same = p.nodes[0].config().clone();
        assert_eq!(p.nodes[0].reconfigure(same.clone(), Some(150), ms(20_100)), vec![], "nothing changed");
        // A higher priority (still the highest) and a new interval, on both nodes.
        let n1 = Config { priority: 200, advert_interval: ms(2000), ..same };
        assert_eq!(p.nodes[0].reconfigure(n1, Some(200), ms(20_200)), vec![Action::SendAdvert { priority: 200 }]);
        assert_eq!(p.nodes[0].next_deadline(), Some(ms(22_200)), "the next advert at the new interval");
        let n2 = Config { advert_interval: ms(2000), ..p.nodes[1].config().clone() };
        assert_eq!(p.nodes[1].reconfigure(n2, Some(100), ms(20_300)), vec![]);
        p.run_until(ms(60_000));
        assert_eq!(p.log.len(), transitions, "no transition: {:?}", &p.log[transitions..]);
        assert_eq!(p.nodes[0].state(), State::Master);
        assert_eq!(p.nodes[0].priority(), Some(200));
    }

    #[test]
    fn a_master_lowered_below_a_preempting_backup_is_preempted_by_the_protocol() {
        let mut p = settled_pair(ms(20_000));
        let last = p.nodes[0].next_deadline().unwrap() - ms(1000);
        let lower = Config { priority: 50, ..p.nodes[0].config().clone() };
        p.nodes[0].reconfigure(lower, Some(50), ms(20_001));
        assert_eq!(p.nodes[0].state(), State::Master, "no state change by the reload itself");
        p.run_until(ms(40_000));
        let n2_up = p.log.iter().find(|l| l.1 == 1 && l.3 == State::Master).copied().unwrap();
        // n2 discards n1's lower adverts from then on and takes over when its own down
        // timer, reset by n1's last priority-150 advert, runs out.
        assert_eq!(n2_up.0, last + us(rfc_mdi_us(2, 100, 1_000_000)));
        assert_eq!(p.nodes[0].state(), State::Backup, "n1 yields to the higher priority");
    }

    #[test]
    fn reconfiguring_a_backup_or_to_fault_follows_the_runtime_rules() {
        let mut p = settled_pair(ms(20_000));
        let b = p.nodes[1].config().clone();
        assert_eq!(p.nodes[1].reconfigure(Config { priority: 120, ..b.clone() }, Some(120), ms(20_100)), vec![]);
        assert_eq!(p.nodes[1].state(), State::Backup);
        let fault = p.nodes[1].reconfigure(b.clone(), None, ms(20_200));
        assert_eq!(transitions(&fault), vec![(State::Backup, State::Fault)]);
        let back = p.nodes[1].reconfigure(b, Some(100), ms(20_300));
        assert_eq!(transitions(&back), vec![(State::Fault, State::Backup)]);
        let m = p.nodes[0].config().clone();
        let a = p.nodes[0].reconfigure(m, None, ms(20_400));
        assert_eq!(a[1..], [Action::SendAdvert { priority: 0 }, Action::ReleaseVips]);
        assert_eq!(transitions(&a), vec![(State::Master, State::Fault)]);
    }

    #[test]
    fn a_v3_backup_keeps_the_interval_its_master_advertises() {
        let mut b = started(cfg(3, 100, ms(1000)), ms(0));
        b.step(adv(PEER, 200, ms(500)), ms(10));
        b.reconfigure(cfg(3, 100, ms(2000)), Some(100), ms(20));
        assert_eq!(b.master_adver_interval(), ms(500));
        let mut m = master(cfg(3, 100, ms(1000)));
        m.reconfigure(cfg(3, 100, ms(2000)), Some(100), ms(9000));
        assert_eq!(m.master_adver_interval(), ms(2000));
        assert_eq!(m.next_deadline(), Some(ms(11_000)));
    }

    fn synced(priority: u8) -> Config {
        Config { synced: true, ..cfg(3, priority, ms(1000)) }
    }

    #[test]
    fn a_sync_group_member_asks_its_group_before_becoming_master() {
        let mut f = started(synced(100), ms(0));
        let due = f.next_deadline().unwrap();
        assert_eq!(f.step(Input::Tick, due), vec![Action::WantMaster]);
        assert_eq!((f.state(), f.wants_master()), (State::Backup, true));
        assert_eq!(f.next_deadline(), Some(due + us(rfc_mdi_us(3, 100, 1_000_000))), "timer restarted");
        // An accepted advert ends the wish.
        f.step(adv(PEER, 200, ms(1000)), due + ms(10));
        assert!(!f.wants_master());
        let due = f.next_deadline().unwrap();
        f.step(Input::Tick, due);
        let a = f.step(Input::Sync { to: State::Master, why: "sync group G: every member wants MASTER".into() }, due);
        assert_eq!(transitions(&a), vec![(State::Backup, State::Master)]);
        assert_eq!(a[1..], [Action::SendAdvert { priority: 100 }, Action::TakeVips]);
        assert!(reason(&a).starts_with("sync group G: every member wants MASTER; master down timer expired"));
        // The owner starts as a backup that wants master.
        let mut o = Fsm::new(synced(255)).unwrap();
        let a = o.step(Input::Startup, ms(0));
        assert_eq!(transitions(&a), vec![(State::Initialize, State::Backup)]);
        assert_eq!(a.last(), Some(&Action::WantMaster));
    }

    #[test]
    fn a_sync_group_holds_its_members_in_fault_and_takes_them_to_backup() {
        let mut f = master(synced(100));
        let a = f.step(Input::Sync { to: State::Fault, why: "sync group G: IN is in FAULT".into() }, ms(9000));
        assert_eq!(transitions(&a), vec![(State::Master, State::Fault)]);
        assert_eq!(a[1..], [Action::SendAdvert { priority: 0 }, Action::ReleaseVips], "as keepalived: priority 0");
        // Its own tracking recovering does not take it out of the group's FAULT.
        assert_eq!(f.step(Input::EffectivePriority(Some(100)), ms(9100)), vec![]);
        assert_eq!(f.state(), State::Fault);
        let a = f.step(Input::Sync { to: State::Backup, why: "sync group G: no member is in FAULT".into() }, ms(9200));
        assert_eq!(transitions(&a), vec![(State::Fault, State::Backup)]);
        // A forced backup releases the VIPs without a priority-0 advert.
        let mut m = master(synced(100));
        let a = m.step(Input::Sync { to: State::Backup, why: "sync group G: OUT left MASTER".into() }, ms(9000));
        assert_eq!(a[1..], [Action::ReleaseVips]);
        // Leaving the group ends a fault it held.
        let mut h = master(synced(100));
        h.step(Input::Sync { to: State::Fault, why: "g".into() }, ms(9000));
        let a = h.reconfigure(cfg(3, 100, ms(1000)), Some(100), ms(9100));
        assert_eq!(transitions(&a), vec![(State::Fault, State::Backup)]);
        assert!(!h.group_fault());
    }

    impl Pair {
        /// A copy of the pair in which n1 stops sending (crash) from `at` on.
        fn clone_at(&self, at: Duration) -> Pair {
            let mut c = Pair { nodes: self.nodes.clone(), up: self.up, log: self.log.clone() };
            c.run_until(at);
            c.up[0] = false;
            c
        }
    }
}
