//! When a master announces its VIPs (pure; time comes in as an argument): keepalived's
//! gratuitous ARP / unsolicited NA timing.
//!
//! - On becoming master: `repeat` messages per VIP at once, the same again `delay` later
//!   (keepalived's `garp_master_delay` / `_repeat`), then, with a `refresh`, every `refresh`
//!   `refresh_repeat` more while master (`garp_master_refresh` / `_refresh_repeat`; the first
//!   refresh comes `delay + refresh` after the takeover, as in keepalived).
//! - A master hearing a lower-priority advert (two masters met after a partition): it
//!   reclaims the address with `lower_repeat` messages per VIP, and again `lower_delay` later
//!   (`garp_lower_prio_repeat` / `_delay`).
//! - With a VMAC whose adverts leave from the base interface, one more message per VIP
//!   an advert interval after becoming master ([`Schedule::once_more`]).
//! - Between two messages of one family, at least `arp_interval` (ARP) or `na_interval` (NA)
//!   (keepalived's `vrrp_garp_interval` / `vrrp_gna_interval`): switches that rate-limit
//!   gratuitous ARP drop nothing. Messages wait in order in a queue until their turn.
//!
//! A burst is expanded into messages when it is due, from the VIPs the instance holds then:
//! a VIP added or removed by a reload in between is announced, or not, accordingly.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How a master announces its VIPs; [`Timing::default`] is keepalived's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// Messages per VIP on becoming master, and in the burst `delay` later.
    pub repeat: u32,
    /// The second burst after becoming master (zero: none).
    pub delay: Duration,
    /// While master, a burst this often (zero: never).
    pub refresh: Duration,
    /// Messages per VIP in each refresh burst.
    pub refresh_repeat: u32,
    /// Messages per VIP when a lower-priority advert arrives while master (0: none).
    pub lower_repeat: u32,
    /// The second burst after a lower-priority advert (zero: none).
    pub lower_delay: Duration,
    /// Least time between two gratuitous ARPs.
    pub arp_interval: Duration,
    /// Least time between two unsolicited neighbour advertisements.
    pub na_interval: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            repeat: 5,
            delay: Duration::from_secs(5),
            refresh: Duration::ZERO,
            refresh_repeat: 1,
            lower_repeat: 5,
            lower_delay: Duration::from_secs(5),
            arp_interval: Duration::ZERO,
            na_interval: Duration::ZERO,
        }
    }
}

/// One message to send: announce `.0` out of interface `.1`.
pub type Message = (IpAddr, String);

/// The announcements an instance owes, and when.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    timing: Timing,
    /// Bursts of every VIP not yet due: when, and how many messages per VIP.
    bursts: Vec<(Duration, u32)>,
    /// The next refresh burst while master.
    refresh_at: Option<Duration>,
    /// Messages waiting for their gap: gratuitous ARPs, then NAs.
    queues: [VecDeque<Message>; 2],
    /// The earliest the next message of each kind may go.
    next: [Duration; 2],
}

impl Schedule {
    /// A schedule with nothing owed.
    pub fn new(timing: Timing) -> Schedule {
        Schedule { timing, ..Schedule::default() }
    }

    /// New timing (a reload): what is owed stays owed, at the new gaps.
    pub fn set_timing(&mut self, timing: Timing) {
        self.timing = timing;
    }

    /// The instance became master holding `vips`.
    pub fn master<'a>(&mut self, now: Duration, vips: impl IntoIterator<Item = (IpAddr, &'a str)> + Clone) {
        let t = self.timing;
        self.burst(vips, t.repeat);
        self.later(now, t.delay, t.repeat);
        self.refresh_at = (!t.refresh.is_zero()).then(|| now + t.delay + t.refresh);
    }

    /// One more message per VIP `after` from now (the instance became master; see
    /// `InstanceSpec::relearn_after`).
    pub fn once_more(&mut self, now: Duration, after: Duration) {
        self.later(now, after, 1);
    }

    /// A lower-priority advert arrived while master.
    pub fn lower_priority<'a>(&mut self, now: Duration, vips: impl IntoIterator<Item = (IpAddr, &'a str)> + Clone) {
        let t = self.timing;
        if t.lower_repeat > 0 {
            self.burst(vips, t.lower_repeat);
            self.later(now, t.lower_delay, t.lower_repeat);
        }
    }

    /// A master took `added` VIPs (a reload, or one put back): each is announced at once,
    /// and every VIP again `delay` later.
    pub fn added<'a>(&mut self, now: Duration, added: impl IntoIterator<Item = (IpAddr, &'a str)> + Clone) {
        if added.clone().into_iter().next().is_none() {
            return;
        }
        let t = self.timing;
        self.burst(added, t.repeat);
        self.later(now, t.delay, t.repeat);
    }

    /// The instance let its VIPs go: nothing more is owed.
    pub fn released(&mut self) {
        self.bursts.clear();
        self.refresh_at = None;
        self.queues.iter_mut().for_each(VecDeque::clear);
    }

    /// When [`Self::due`] has something next, if ever.
    pub fn next_deadline(&self) -> Option<Duration> {
        let queued = (0..2).filter(|&k| !self.queues[k].is_empty()).map(|k| self.next[k]);
        self.bursts.iter().map(|b| b.0).chain(self.refresh_at).chain(queued).min()
    }

    /// The messages to send now; bursts that fell due are expanded from `vips`, what the
    /// instance holds now.
    pub fn due<'a>(
        &mut self,
        now: Duration,
        vips: impl IntoIterator<Item = (IpAddr, &'a str)> + Clone,
    ) -> Vec<Message> {
        let mut counts: Vec<u32> = Vec::new();
        self.bursts.retain(|&(at, n)| {
            let due = at <= now;
            if due {
                counts.push(n);
            }
            !due
        });
        if let Some(at) = self.refresh_at.filter(|&at| at <= now) {
            counts.push(self.timing.refresh_repeat);
            let next = at + self.timing.refresh;
            self.refresh_at = Some(if next > now { next } else { now + self.timing.refresh });
        }
        for n in counts {
            self.burst(vips.clone(), n);
        }
        let mut out = Vec::new();
        for k in 0..2 {
            self.pop(k, now, &mut out);
        }
        out
    }

    fn pop(&mut self, k: usize, now: Duration, out: &mut Vec<Message>) {
        let gap = if k == 0 { self.timing.arp_interval } else { self.timing.na_interval };
        while self.next[k] <= now {
            let Some(m) = self.queues[k].pop_front() else { return };
            out.push(m);
            if !gap.is_zero() {
                self.next[k] = now + gap;
            }
        }
    }

    /// `n` messages per VIP, queued: every VIP once, `n` times over (keepalived's order).
    fn burst<'a>(&mut self, vips: impl IntoIterator<Item = (IpAddr, &'a str)> + Clone, n: u32) {
        for _ in 0..n {
            for (vip, interface) in vips.clone() {
                self.queues[usize::from(vip.is_ipv6())].push_back((vip, interface.to_string()));
            }
        }
    }

    fn later(&mut self, now: Duration, after: Duration, n: u32) {
        if !after.is_zero() && n > 0 {
            self.bursts.push((now + after, n));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    const V4: &str = "10.0.0.100";
    const V6: &str = "2001:db8::100";

    fn vips() -> Vec<(IpAddr, &'static str)> {
        vec![(V4.parse().unwrap(), "eth0"), (V6.parse().unwrap(), "eth0")]
    }

    /// Runs the schedule from `from` to `to` in 1 ms steps; the times (ms) each message went.
    fn run(s: &mut Schedule, from: u64, to: u64) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        for t in from..=to {
            for (vip, _) in s.due(ms(t), vips()) {
                out.push((t, vip.to_string()));
            }
        }
        out
    }

    fn at(sent: &[(u64, String)], vip: &str) -> Vec<u64> {
        sent.iter().filter(|(_, v)| v == vip).map(|(t, _)| *t).collect()
    }

    #[test]
    fn keepalived_defaults_five_at_once_and_five_more_five_seconds_later() {
        let mut s = Schedule::new(Timing::default());
        s.master(ms(0), vips());
        let sent = run(&mut s, 0, 12_000);
        assert_eq!(at(&sent, V4), [0, 0, 0, 0, 0, 5000, 5000, 5000, 5000, 5000]);
        assert_eq!(at(&sent, V6), at(&sent, V4));
        assert_eq!(s.next_deadline(), None, "no refresh by default");
    }

    #[test]
    fn refresh_repeats_while_master_and_stops_when_released() {
        let t = Timing { repeat: 1, delay: ms(100), refresh: ms(1000), refresh_repeat: 2, ..Timing::default() };
        let mut s = Schedule::new(t);
        s.master(ms(0), vips());
        let sent = run(&mut s, 0, 3200);
        assert_eq!(at(&sent, V4), [0, 100, 1100, 1100, 2100, 2100, 3100, 3100]);
        s.released();
        assert_eq!(run(&mut s, 3201, 6000), []);
        assert_eq!(s.next_deadline(), None);
    }

    #[test]
    fn once_more_adds_one_message_per_vip_and_is_forgotten_when_released() {
        let mut s = Schedule::new(Timing { repeat: 2, ..Timing::default() });
        s.master(ms(0), vips());
        s.once_more(ms(0), ms(200));
        assert_eq!(at(&run(&mut s, 0, 6000), V4), [0, 0, 200, 5000, 5000]);
        s.master(ms(7000), vips());
        s.once_more(ms(7000), ms(200));
        s.released();
        assert_eq!(run(&mut s, 7001, 8000), []);
    }

    #[test]
    fn no_second_burst_with_a_zero_delay() {
        let mut s = Schedule::new(Timing { repeat: 1, delay: Duration::ZERO, ..Timing::default() });
        s.master(ms(0), vips());
        assert_eq!(at(&run(&mut s, 0, 10_000), V4), [0]);
    }

    #[test]
    fn intervals_space_each_family_on_its_own() {
        let t = Timing {
            repeat: 3,
            delay: Duration::ZERO,
            arp_interval: ms(200),
            na_interval: ms(50),
            ..Timing::default()
        };
        let mut s = Schedule::new(t);
        s.master(ms(0), vips());
        let sent = run(&mut s, 0, 1000);
        assert_eq!(at(&sent, V4), [0, 200, 400]);
        assert_eq!(at(&sent, V6), [0, 50, 100]);
        assert_eq!(s.next_deadline(), None);
    }

    #[test]
    fn a_lower_priority_advert_reclaims_the_addresses_twice() {
        let t = Timing { lower_repeat: 2, lower_delay: ms(300), ..Timing::default() };
        let mut s = Schedule::new(t);
        s.lower_priority(ms(10), vips());
        assert_eq!(at(&run(&mut s, 10, 1000), V4), [10, 10, 310, 310]);
        let mut off = Schedule::new(Timing { lower_repeat: 0, ..t });
        off.lower_priority(ms(10), vips());
        assert_eq!(run(&mut off, 10, 1000), []);
    }

    #[test]
    fn a_delayed_burst_announces_what_is_held_when_it_falls_due() {
        let mut s = Schedule::new(Timing { repeat: 1, delay: ms(100), ..Timing::default() });
        s.master(ms(0), vips());
        assert_eq!(s.due(ms(0), vips()).len(), 2);
        let only_v6 = vec![(V6.parse().unwrap(), "eth0")];
        let later = s.due(ms(100), only_v6);
        assert_eq!(later, [(V6.parse().unwrap(), "eth0".to_string())]);
    }

    #[test]
    fn added_vips_go_at_once_and_every_vip_after_the_delay() {
        let mut s = Schedule::new(Timing { repeat: 1, delay: ms(100), ..Timing::default() });
        let added = vec![(V4.parse().unwrap(), "eth1")];
        s.added(ms(0), added);
        assert_eq!(s.due(ms(0), vips()), [(V4.parse().unwrap(), "eth1".to_string())]);
        assert_eq!(s.due(ms(100), vips()).len(), 2);
        s.added(ms(200), Vec::new());
        assert_eq!(s.next_deadline(), None, "adding nothing owes nothing");
    }

    #[test]
    fn the_deadline_is_the_earliest_owed() {
        let t = Timing { repeat: 2, delay: ms(500), arp_interval: ms(40), ..Timing::default() };
        let mut s = Schedule::new(t);
        s.master(ms(0), vips());
        let _ = s.due(ms(0), vips());
        assert_eq!(s.next_deadline(), Some(ms(40)), "the second ARP waits for its gap");
        let _ = s.due(ms(40), vips());
        assert_eq!(s.next_deadline(), Some(ms(500)));
    }
}
