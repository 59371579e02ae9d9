//! One check's state machine (pure; time is an argument, like `vrrp/fsm.rs`).
//!
//! keepalived's semantics with HAProxy's rise/fall on top:
//! - **Up**: a failure is retried after `retry_delay`, `retries` times; a round that fails
//!   all of them counts once, and `fall` failed rounds in a row make it Down.
//! - **Down**: checked every `interval`; `rise` passes in a row make it Up.
//! - **Unknown** (never checked; the backend was not in IPVS when the daemon started or the
//!   check is new): the first pass makes it Up (keepalived's `alpha`), the first failure Down.
//! - A pass may carry a weight (keepalived's `misc_dynamic`); a new weight while Up is
//!   reported like a transition.

use std::fmt;
use std::time::Duration;

use crate::model::cluster::Check;

/// What a check says about its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Not checked yet.
    Unknown,
    /// Passing.
    Up,
    /// Failing.
    Down,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Unknown => "unknown",
            Status::Up => "up",
            Status::Down => "down",
        })
    }
}

/// The result of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It passed; with a weight when the check sets one.
    Pass {
        /// keepalived's `misc_dynamic` weight.
        weight: Option<u32>,
    },
    /// It failed, and why: `connect refused`, `status 503, want 200-299`, `exit 1`.
    Fail(String),
}

impl Outcome {
    /// A pass without a weight.
    pub const PASS: Outcome = Outcome::Pass { weight: None };
}

/// A change worth telling the daemon: the status, or the weight of an up target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The status before.
    pub from: Status,
    /// The status now.
    pub to: Status,
    /// The weight the check sets, if any.
    pub weight: Option<u32>,
    /// Why: the last probe's result.
    pub reason: String,
}

/// One check's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckState {
    status: Status,
    /// Up: failed rounds in a row. Down: passes in a row.
    streak: u32,
    /// Failed attempts in the current round (Up only).
    attempt: u32,
    /// When the next probe is due.
    due: Duration,
    weight: Option<u32>,
}

impl CheckState {
    /// A check starting in `status` (Up for a backend already serving, else Unknown), first
    /// probed at `first`.
    pub fn new(status: Status, first: Duration) -> Self {
        CheckState { status, streak: 0, attempt: 0, due: first, weight: None }
    }

    /// The status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The weight the check set, if any.
    pub fn weight(&self) -> Option<u32> {
        self.weight
    }

    /// When the next probe is due.
    pub fn due(&self) -> Duration {
        self.due
    }

    /// Records a probe's outcome at `now`; schedules the next probe and returns the change,
    /// if there is one.
    pub fn record(&mut self, c: &Check, outcome: &Outcome, now: Duration) -> Option<Transition> {
        let from = (self.status, self.weight);
        self.due = now + c.interval;
        match (self.status, outcome) {
            (Status::Unknown, Outcome::Pass { weight }) => self.become_up(*weight),
            (Status::Unknown, Outcome::Fail(_)) => self.enter(Status::Down),
            (Status::Up, Outcome::Pass { weight }) => {
                (self.streak, self.attempt, self.weight) = (0, 0, *weight);
            }
            (Status::Up, Outcome::Fail(_)) if self.attempt < c.retries => {
                self.attempt += 1;
                self.due = now + c.retry_delay;
            }
            (Status::Up, Outcome::Fail(_)) => {
                self.attempt = 0;
                self.streak += 1;
                if self.streak >= c.fall {
                    self.enter(Status::Down);
                }
            }
            (Status::Down, Outcome::Pass { weight }) => {
                self.streak += 1;
                if self.streak >= c.rise {
                    self.become_up(*weight);
                }
            }
            (Status::Down, Outcome::Fail(_)) => self.streak = 0,
        }
        let changed = from != (self.status, self.weight) && (from.0 != self.status || self.status == Status::Up);
        changed.then(|| Transition { from: from.0, to: self.status, weight: self.weight, reason: reason(outcome) })
    }

    fn enter(&mut self, s: Status) {
        (self.status, self.streak, self.attempt, self.weight) = (s, 0, 0, None);
    }

    fn become_up(&mut self, weight: Option<u32>) {
        self.enter(Status::Up);
        self.weight = weight;
    }
}

fn reason(o: &Outcome) -> String {
    match o {
        Outcome::Pass { weight: None } => "passed".into(),
        Outcome::Pass { weight: Some(w) } => format!("passed, weight {w}"),
        Outcome::Fail(why) => why.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cluster::CheckKind;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn check(retries: u32, rise: u32, fall: u32) -> Check {
        Check {
            kind: CheckKind::Tcp(Default::default()),
            port: 80,
            interval: ms(6000),
            timeout: ms(3000),
            retries,
            retry_delay: ms(1000),
            rise,
            fall,
            via_ipvs: false,
        }
    }

    fn fail() -> Outcome {
        Outcome::Fail("connect refused".into())
    }

    /// Feeds outcomes at each due time; returns (time, status) after each.
    fn run(c: &Check, s: &mut CheckState, outcomes: &[Outcome]) -> Vec<(u64, Status)> {
        outcomes
            .iter()
            .map(|o| {
                let now = s.due();
                s.record(c, o, now);
                (u64::try_from(now.as_millis()).unwrap(), s.status())
            })
            .collect()
    }

    #[test]
    fn keepalived_retry_one_goes_down_after_one_further_failure_and_up_after_one_pass() {
        let c = check(1, 1, 1);
        let mut s = CheckState::new(Status::Up, ms(0));
        let got = run(&c, &mut s, &[Outcome::PASS, fail(), fail(), fail(), Outcome::PASS]);
        // pass at 0; fail at 6000 (retry 1 s later); fail at 7000 -> down; next at 13000.
        assert_eq!(
            got,
            [(0, Status::Up), (6000, Status::Up), (7000, Status::Down), (13000, Status::Down), (19000, Status::Up)]
        );
    }

    #[test]
    fn a_pass_between_retries_resets_the_round() {
        let c = check(2, 1, 1);
        let mut s = CheckState::new(Status::Up, ms(0));
        let got = run(&c, &mut s, &[fail(), fail(), Outcome::PASS, fail(), fail(), fail()]);
        let statuses: Vec<Status> = got.iter().map(|(_, s)| *s).collect();
        assert_eq!(statuses, [Status::Up, Status::Up, Status::Up, Status::Up, Status::Up, Status::Down]);
        assert_eq!(got.iter().map(|(t, _)| *t).collect::<Vec<_>>(), [0, 1000, 2000, 8000, 9000, 10000]);
    }

    #[test]
    fn haproxy_rise_and_fall_count_rounds() {
        let c = check(0, 2, 3);
        let mut s = CheckState::new(Status::Up, ms(0));
        let got = run(&c, &mut s, &[fail(), fail(), Outcome::PASS, fail(), fail(), fail()]);
        assert_eq!(got.last(), Some(&(30000, Status::Down)), "{got:?}");
        assert!(got[..5].iter().all(|(_, st)| *st == Status::Up));
        let got = run(&c, &mut s, &[Outcome::PASS, fail(), Outcome::PASS, Outcome::PASS]);
        assert_eq!(
            got.iter().map(|(_, st)| *st).collect::<Vec<_>>(),
            [Status::Down, Status::Down, Status::Down, Status::Up]
        );
    }

    #[test]
    fn an_unknown_check_decides_on_its_first_result_without_retries() {
        let c = check(3, 5, 5);
        let mut s = CheckState::new(Status::Unknown, ms(250));
        let t = s.record(&c, &Outcome::PASS, ms(250)).unwrap();
        assert_eq!((t.from, t.to, t.reason.as_str()), (Status::Unknown, Status::Up, "passed"));
        let mut s = CheckState::new(Status::Unknown, ms(250));
        let t = s.record(&c, &fail(), ms(250)).unwrap();
        assert_eq!((t.from, t.to, t.reason.as_str()), (Status::Unknown, Status::Down, "connect refused"));
        assert_eq!(s.due(), ms(6250), "no retry for a backend that is not serving");
    }

    #[test]
    fn transitions_are_reported_once_and_dynamic_weights_are_changes() {
        let c = check(0, 1, 1);
        let mut s = CheckState::new(Status::Up, ms(0));
        assert_eq!(s.record(&c, &Outcome::PASS, ms(0)), None);
        let t = s.record(&c, &Outcome::Pass { weight: Some(5) }, ms(6000)).unwrap();
        assert_eq!((t.to, t.weight, t.reason.as_str()), (Status::Up, Some(5), "passed, weight 5"));
        assert_eq!(s.record(&c, &Outcome::Pass { weight: Some(5) }, ms(12000)), None);
        let t = s.record(&c, &fail(), ms(18000)).unwrap();
        assert_eq!((t.from, t.to, t.weight), (Status::Up, Status::Down, None));
        assert_eq!(s.record(&c, &fail(), ms(24000)), None);
    }
}
