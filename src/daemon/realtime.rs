//! Realtime scheduling on demand for a VRRP thread (`nodes.N.auto_realtime`, keepalived's
//! `max_auto_priority` / `min_auto_priority_delay`): a thread whose timer fired more than
//! the delay late goes SCHED_RR at priority 1, then one higher at each further late timer,
//! up to the maximum. Pure: the instance thread makes the call and reports its outcome.

use std::time::Duration;

use crate::model::cluster::AutoRealtime;

/// A thread's realtime priority and what may raise it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escalation {
    /// The node's setting (`None`: never raised).
    auto: Option<AutoRealtime>,
    /// The priority `run --realtime` gives every VRRP thread, if any.
    fixed: Option<u8>,
    /// The thread's SCHED_RR priority now (`None`: normal scheduling).
    current: Option<u8>,
    /// The kernel refused once: no further attempt (logged once).
    refused: bool,
}

impl Escalation {
    /// A thread started under `fixed` (`--realtime`), raised by `auto`.
    pub fn new(auto: Option<AutoRealtime>, fixed: Option<u8>) -> Self {
        Escalation { auto, fixed, current: fixed, refused: false }
    }

    /// The priority to switch to after a timer fired `late` after it was due: none while
    /// it is on time, at the maximum, or after a refusal.
    pub fn late(&self, late: Duration) -> Option<u8> {
        let auto = self.auto.filter(|a| late > a.delay && !self.refused)?;
        match self.current {
            None => Some(1),
            Some(c) if c < auto.max => Some(c + 1),
            Some(_) => None,
        }
    }

    /// The thread now runs SCHED_RR at `priority`.
    pub fn took(&mut self, priority: u8) {
        self.current = Some(priority);
    }

    /// The kernel refused realtime scheduling.
    pub fn refused(&mut self) {
        self.refused = true;
    }

    /// A reload's setting: the scheduling to switch to now, if any (`Some(None)`: back to
    /// normal). A lower maximum brings a raised thread down to it; no setting at all takes
    /// it back to where `--realtime` left it.
    pub fn configure(&mut self, auto: Option<AutoRealtime>) -> Option<Option<u8>> {
        self.auto = auto;
        self.refused = false;
        let raised = self.current.filter(|c| self.fixed.is_none_or(|f| *c > f))?;
        let target = match auto {
            Some(a) if raised > a.max => Some(a.max.max(self.fixed.unwrap_or(0))),
            Some(_) => return None,
            None => self.fixed,
        };
        self.current = target;
        Some(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn auto(max: u8) -> Option<AutoRealtime> {
        Some(AutoRealtime { max, delay: SECOND })
    }

    #[test]
    fn a_late_timer_starts_at_one_then_goes_one_higher_each_time_up_to_the_maximum() {
        let mut e = Escalation::new(auto(3), None);
        assert_eq!(e.late(SECOND), None, "exactly the delay is on time, as in keepalived");
        let mut seen = Vec::new();
        while let Some(p) = e.late(SECOND * 2) {
            e.took(p);
            seen.push(p);
        }
        assert_eq!(seen, [1, 2, 3]);
    }

    #[test]
    fn without_the_setting_or_after_a_refusal_nothing_is_raised() {
        assert_eq!(Escalation::new(None, Some(5)).late(SECOND * 9), None);
        let mut e = Escalation::new(auto(99), None);
        e.refused();
        assert_eq!(e.late(SECOND * 9), None);
    }

    #[test]
    fn a_fixed_priority_is_where_it_starts_and_where_it_goes_back() {
        let mut e = Escalation::new(auto(10), Some(5));
        assert_eq!(e.late(SECOND * 2), Some(6));
        e.took(6);
        assert_eq!(e.configure(auto(8)), None, "under the new maximum: stays");
        assert_eq!(e.configure(None), Some(Some(5)));
        assert_eq!(e.late(SECOND * 2), None);
    }

    #[test]
    fn a_lower_maximum_brings_a_raised_thread_down_and_no_setting_back_to_normal() {
        let mut e = Escalation::new(auto(10), None);
        e.took(7);
        assert_eq!(e.configure(auto(4)), Some(Some(4)));
        assert_eq!(e.configure(None), Some(None));
        assert_eq!(e.configure(None), None, "already normal");
    }
}
