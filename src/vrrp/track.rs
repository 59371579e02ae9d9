//! Tracking for VRRP instances: rise/fall hysteresis of track scripts and track interfaces,
//! and the effective priority they give an instance, with keepalived's semantics. Pure:
//! script results and link states come in, the priority for [`super::fsm::Input`] goes out.
//!
//! Weights (keepalived `vrrp_script` / `track_interface`):
//! - weight < 0 is added while the object FAILS (lowers the priority);
//! - weight > 0 is added while the object SUCCEEDS (raises it);
//! - weight 0: the instance is in FAULT while the object fails.
//!
//! The sum is clamped to 1..=254, so tracking never makes an instance the address owner; a
//! base priority of 255 stays 255 only while the weights add up to nothing. keepalived's
//! `reverse` weights and `init_fail`-style unknown initial states are left to the caller,
//! which gives each object its state before the first result.

use std::collections::BTreeMap;
use std::fmt;

use super::VrrpError;

/// Rise/fall hysteresis of one tracked object: `rise` consecutive successes to come up,
/// `fall` consecutive failures to go down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiseFall {
    rise: u32,
    fall: u32,
    up: bool,
    streak: u32,
}

impl RiseFall {
    /// A tracker in state `up`; a `rise` or `fall` of 0 counts as 1.
    pub fn new(rise: u32, fall: u32, up: bool) -> RiseFall {
        RiseFall { rise: rise.max(1), fall: fall.max(1), up, streak: 0 }
    }

    /// Whether the object counts as up (succeeding).
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Feeds one result; returns true when it flipped the state.
    pub fn observe(&mut self, ok: bool) -> bool {
        if ok == self.up {
            self.streak = 0;
            return false;
        }
        self.streak += 1;
        let needed = if self.up { self.fall } else { self.rise };
        if self.streak < needed {
            return false;
        }
        self.up = ok;
        self.streak = 0;
        true
    }
}

/// What is tracked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A track script (keepalived `vrrp_script`).
    Script,
    /// A network interface's link (keepalived `track_interface`).
    Interface,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Script => "track script",
            Kind::Interface => "track interface",
        })
    }
}

/// A tracked object that changed state, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flip {
    /// Script or interface.
    pub kind: Kind,
    /// Its name.
    pub name: String,
    /// Its new state.
    pub up: bool,
    /// Its weight.
    pub weight: i32,
}

impl fmt::Display for Flip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match (self.kind, self.up) {
            (Kind::Script, true) => "succeeding",
            (Kind::Script, false) => "failing",
            (Kind::Interface, true) => "up",
            (Kind::Interface, false) => "down",
        };
        write!(f, "{} {} is {state} (weight {})", self.kind, self.name, self.weight)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Tracked {
    weight: i32,
    state: RiseFall,
}

/// The tracked objects of one instance and its base priority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracking {
    base: u8,
    objects: BTreeMap<(Kind, String), Tracked>,
}

impl Tracking {
    /// Tracking for an instance with this configured priority and nothing tracked yet.
    pub fn new(base: u8) -> Tracking {
        Tracking { base, objects: BTreeMap::new() }
    }

    /// Adds a track script with its weight, rise, fall and state before its first result.
    pub fn with_script(mut self, name: &str, weight: i32, rise: u32, fall: u32, up: bool) -> Tracking {
        self.objects.insert((Kind::Script, name.to_string()), Tracked { weight, state: RiseFall::new(rise, fall, up) });
        self
    }

    /// Adds a track interface with its weight and current link state (no hysteresis).
    pub fn with_interface(mut self, name: &str, weight: i32, up: bool) -> Tracking {
        self.objects.insert((Kind::Interface, name.to_string()), Tracked { weight, state: RiseFall::new(1, 1, up) });
        self
    }

    /// Records one run of a track script (`ok` = exit status 0).
    pub fn script_result(&mut self, name: &str, ok: bool) -> Result<Option<Flip>, VrrpError> {
        self.observe(Kind::Script, name, ok)
    }

    /// Records the link state of a tracked interface.
    pub fn interface_state(&mut self, name: &str, up: bool) -> Result<Option<Flip>, VrrpError> {
        self.observe(Kind::Interface, name, up)
    }

    fn observe(&mut self, kind: Kind, name: &str, ok: bool) -> Result<Option<Flip>, VrrpError> {
        let t = self
            .objects
            .get_mut(&(kind, name.to_string()))
            .ok_or_else(|| VrrpError::NotTracked { kind, name: name.to_string() })?;
        let flipped = t.state.observe(ok);
        Ok(flipped.then(|| Flip { kind, name: name.to_string(), up: ok, weight: t.weight }))
    }

    /// The effective priority; `None` = FAULT (a weight-0 object fails).
    pub fn effective_priority(&self) -> Option<u8> {
        effective_priority(self.base, self.objects.values().map(|t| (t.weight, t.state.is_up())))
    }

    /// Every tracked object's current state (true: succeeding / up).
    pub fn states(&self) -> impl Iterator<Item = ((Kind, &str), bool)> {
        self.objects.iter().map(|((k, n), t)| ((*k, n.as_str()), t.state.is_up()))
    }

    /// The failing weight-0 objects that hold the instance in FAULT, in name order.
    pub fn faults(&self) -> Vec<(Kind, &str)> {
        self.objects
            .iter()
            .filter(|(_, t)| t.weight == 0 && !t.state.is_up())
            .map(|((k, n), _)| (*k, n.as_str()))
            .collect()
    }
}

/// The effective priority from a base priority and `(weight, up)` per tracked object;
/// `None` = FAULT.
pub fn effective_priority(base: u8, objects: impl IntoIterator<Item = (i32, bool)>) -> Option<u8> {
    let mut delta: i64 = 0;
    for (weight, up) in objects {
        match (weight, up) {
            (0, false) => return None,
            (w, false) if w < 0 => delta += i64::from(w),
            (w, true) if w > 0 => delta += i64::from(w),
            _ => {}
        }
    }
    if delta == 0 {
        return Some(base);
    }
    let clamped = (i64::from(base) + delta).clamp(1, 254);
    Some(u8::try_from(clamped).unwrap_or(254))
}

/// The effective priority `effective`, found on base `old_base`, moved to base `new_base`
/// with the same tracking offset and the same clamp as [`effective_priority`]: what a
/// reloaded instance runs with until its tracking reports under the new base.
pub fn rebase(effective: u8, old_base: u8, new_base: u8) -> u8 {
    if effective == old_base {
        return new_base;
    }
    let moved = (i64::from(effective) - i64::from(old_base) + i64::from(new_base)).clamp(1, 254);
    u8::try_from(moved).unwrap_or(254)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rebase_keeps_the_tracking_offset() {
        assert_eq!(rebase(100, 100, 150), 150, "no offset: the new base");
        assert_eq!(rebase(80, 100, 150), 130);
        assert_eq!(rebase(120, 100, 250), 254, "clamped like effective_priority");
        assert_eq!(rebase(1, 10, 5), 1);
        assert_eq!(rebase(255, 255, 200), 200);
    }

    use super::*;

    #[test]
    fn rise_and_fall_need_consecutive_results() {
        let mut r = RiseFall::new(3, 2, true);
        assert!(!r.observe(false));
        assert!(!r.observe(true), "a success resets the failure streak");
        assert!(!r.observe(false));
        assert!(r.observe(false), "second consecutive failure: down");
        assert!(!r.is_up());
        assert!(!r.observe(true));
        assert!(!r.observe(true));
        assert!(!r.observe(false));
        assert!(!r.observe(true));
        assert!(!r.observe(true));
        assert!(r.observe(true), "third consecutive success: up");
        assert!(r.is_up());
        assert!(!r.observe(true), "no flip while the state holds");
        let mut once = RiseFall::new(0, 0, false);
        assert!(once.observe(true));
        assert!(once.observe(false));
    }

    #[test]
    fn weights_follow_keepalived() {
        assert_eq!(effective_priority(100, []), Some(100));
        assert_eq!(effective_priority(100, [(-20, false)]), Some(80), "negative weight while failing");
        assert_eq!(effective_priority(100, [(-20, true)]), Some(100));
        assert_eq!(effective_priority(100, [(10, true)]), Some(110), "positive weight while succeeding");
        assert_eq!(effective_priority(100, [(10, false)]), Some(100));
        assert_eq!(effective_priority(100, [(-20, false), (10, true), (5, true), (-3, true)]), Some(95));
        assert_eq!(effective_priority(100, [(0, true), (-20, false)]), Some(80));
        assert_eq!(effective_priority(100, [(-20, false), (0, false)]), None, "weight 0 failing = FAULT");
    }

    #[test]
    fn clamped_to_1_through_254() {
        assert_eq!(effective_priority(10, [(-50, false)]), Some(1));
        assert_eq!(effective_priority(250, [(20, true)]), Some(254));
        assert_eq!(effective_priority(255, []), Some(255), "the owner stays owner when nothing applies");
        assert_eq!(effective_priority(255, [(-20, true), (20, false)]), Some(255));
        assert_eq!(effective_priority(255, [(-5, false)]), Some(250));
        assert_eq!(effective_priority(255, [(5, true)]), Some(254));
        assert_eq!(effective_priority(1, [(-253, false), (-253, false)]), Some(1));
        assert_eq!(effective_priority(254, [(253, true), (253, true)]), Some(254));
    }

    #[test]
    fn effective_priority_properties() {
        let weights = [-253, -100, -20, -1, 1, 7, 50, 253];
        for base in 1..=255u8 {
            for &a in &weights {
                for &b in &weights {
                    for mask in 0..4 {
                        let objs = [(a, mask & 1 == 1), (b, mask & 2 == 2)];
                        let p = effective_priority(base, objs).unwrap();
                        let delta: i32 = objs.iter().filter(|(w, up)| (*w < 0) != *up).map(|(w, _)| w).sum();
                        if delta == 0 {
                            assert_eq!(p, base);
                        } else {
                            assert!((1..=254).contains(&p));
                            assert_eq!(i32::from(p), (i32::from(base) + delta).clamp(1, 254));
                        }
                        // Adding a failing weight-0 object always faults.
                        assert_eq!(effective_priority(base, objs.into_iter().chain([(0, false)])), None);
                    }
                }
            }
        }
    }

    #[test]
    fn tracking_an_instance() {
        let mut t = Tracking::new(100)
            .with_script("chk_nginx", -20, 2, 3, true)
            .with_script("boost", 15, 1, 1, false)
            .with_interface("eth1", 0, true);
        assert_eq!(t.effective_priority(), Some(100));
        assert_eq!(
            t.script_result("boost", true).unwrap().map(|f| f.to_string()),
            Some("track script boost is succeeding (weight 15)".into())
        );
        assert_eq!(t.effective_priority(), Some(115));
        for _ in 0..2 {
            assert_eq!(t.script_result("chk_nginx", false).unwrap(), None);
        }
        let flip = t.script_result("chk_nginx", false).unwrap().unwrap();
        assert_eq!((flip.kind, flip.up, flip.weight), (Kind::Script, false, -20));
        assert_eq!(t.effective_priority(), Some(95));
        let flip = t.interface_state("eth1", false).unwrap().unwrap();
        assert_eq!(flip.to_string(), "track interface eth1 is down (weight 0)");
        assert_eq!(t.effective_priority(), None);
        assert_eq!(t.faults(), vec![(Kind::Interface, "eth1")]);
        assert!(t.interface_state("eth1", true).unwrap().is_some());
        assert_eq!((t.effective_priority(), t.faults()), (Some(95), vec![]));
        assert_eq!(t.script_result("chk_nginx", true).unwrap(), None, "rise 2");
        assert!(t.script_result("chk_nginx", true).unwrap().is_some());
        assert_eq!(t.effective_priority(), Some(115));
        let e = t.script_result("chk_typo", true).unwrap_err().to_string();
        assert_eq!(e, "unknown track script `chk_typo`");
        assert!(t.interface_state("chk_nginx", true).is_err(), "scripts and interfaces are apart");
    }
}
