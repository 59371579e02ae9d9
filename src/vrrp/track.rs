//! Tracking for VRRP instances: rise/fall hysteresis of track scripts and track interfaces,
//! and the effective priority they give an instance, with keepalived's semantics. Pure:
//! script results and link states come in, the priority for [`super::fsm::Input`] goes out.
//!
//! Weights (keepalived `vrrp_script` / `track_interface`):
//! - weight < 0 is added while the object FAILS (lowers the priority);
//! - weight > 0 is added while the object SUCCEEDS (raises it);
//! - weight 0: the instance is in FAULT while the object fails;
//! - `reverse` turns each round: a positive weight is subtracted while the object succeeds,
//!   a negative one added while it fails, and weight 0 is FAULT while it succeeds.
//!
//! Track files (keepalived `track_file`) carry a number instead of a state: with weight W
//! (negated by `reverse`) the number times W is added, a product of -254 or less is FAULT,
//! one above 253 counts as 253; with weight 0 a number other than 0 is FAULT (with
//! `reverse`: the number 0 is). [`parse_file_value`] reads the number as keepalived does.
//!
//! The sum is clamped to 1..=254, so tracking never makes an instance the address owner; a
//! base priority of 255 stays 255 only while the weights add up to nothing. `init_fail`-style
//! initial states are left to the caller, which gives each object its state before the
//! first result.

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
    /// A file holding a number (keepalived `track_file`).
    File,
    /// Running processes counted against a quorum (keepalived `vrrp_track_process`).
    Process,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Script => "track script",
            Kind::Interface => "track interface",
            Kind::File => "track file",
            Kind::Process => "track process",
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
            (Kind::File, true) => "usable",
            (Kind::File, false) => "at FAULT",
            (Kind::Process, true) => "in quorum",
            (Kind::Process, false) => "out of quorum",
        };
        write!(f, "{} {} is {state} (weight {})", self.kind, self.name, self.weight)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Tracked {
    weight: i32,
    /// keepalived's `reverse`: the effect of the state turned round.
    reverse: bool,
    state: RiseFall,
    /// A track file's `reverse` and its last number (`None` for scripts and interfaces).
    file: Option<(bool, i64)>,
}

impl Tracked {
    fn effect(&self) -> Effect {
        match self.file {
            Some((reverse, value)) => file_effect(self.weight, reverse, value),
            None => reversible_effect(self.weight, self.reverse, self.state.is_up()),
        }
    }
}

/// What one tracked object does to its instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Holds the instance in FAULT.
    Fault,
    /// Adds this much to the priority.
    Add(i64),
}

/// A script's or an interface's effect from its weight and state.
fn state_effect(weight: i32, up: bool) -> Effect {
    match (weight, up) {
        (0, false) => Effect::Fault,
        (w, false) if w < 0 => Effect::Add(i64::from(w)),
        (w, true) if w > 0 => Effect::Add(i64::from(w)),
        _ => Effect::Add(0),
    }
}

/// A tracked object's effect from its weight, `reverse` and state (keepalived's table):
/// `reverse` subtracts what the weight would add, and with weight 0 it is FAULT while the
/// object succeeds instead of while it fails.
pub fn reversible_effect(weight: i32, reverse: bool, up: bool) -> Effect {
    match (weight, reverse) {
        (_, false) => state_effect(weight, up),
        (0, true) => state_effect(0, !up),
        (w, true) => match state_effect(w, up) {
            Effect::Add(n) => Effect::Add(-n),
            Effect::Fault => Effect::Fault,
        },
    }
}

/// A track file's effect from its weight, `reverse` and number (keepalived's rules).
pub fn file_effect(weight: i32, reverse: bool, value: i64) -> Effect {
    if weight == 0 {
        return if (value != 0) != reverse { Effect::Fault } else { Effect::Add(0) };
    }
    let sign = if reverse { -1 } else { 1 };
    let product = value.saturating_mul(i64::from(weight)).saturating_mul(sign);
    if product <= -254 { Effect::Fault } else { Effect::Add(product.min(253)) }
}

/// The bytes of a track file keepalived looks at.
const FILE_HEAD: usize = 127;

/// The number in a track file, read as keepalived reads it (C's `strtol` with base 0 on
/// its first 127 bytes): leading blanks, a sign, then decimal, `0x` hexadecimal or
/// `0` octal digits up to the first other character; no digits at all (empty, garbage)
/// is 0. `None` for a number outside -2^31..=2^31, which keepalived ignores (the last
/// number stays).
pub fn parse_file_value(bytes: &[u8]) -> Option<i64> {
    let head = &bytes[..bytes.len().min(FILE_HEAD)];
    let mut rest = head.iter().copied().skip_while(|b| b.is_ascii_whitespace()).peekable();
    let negative = match rest.peek() {
        Some(b'-') => rest.next().is_some(),
        Some(b'+') => {
            rest.next();
            false
        }
        _ => false,
    };
    let digits: Vec<u8> = rest.collect();
    let (radix, body): (u32, &[u8]) = match digits.as_slice() {
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => (16, &digits[2..]),
        [b'0', ..] => (8, &digits[..]),
        _ => (10, &digits[..]),
    };
    let mut value: i64 = 0;
    for d in body.iter().map_while(|b| char::from(*b).to_digit(radix)) {
        value = value.checked_mul(i64::from(radix))?.checked_add(i64::from(d))?;
        if value > i64::from(i32::MAX) + 1 {
            return None;
        }
    }
    let value = if negative { -value } else { value };
    (value >= i64::from(i32::MIN)).then_some(value)
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

    /// Adds a track script with its weight, `reverse`, rise, fall and state before its
    /// first result.
    pub fn with_script(mut self, name: &str, weight: i32, reverse: bool, rise: u32, fall: u32, up: bool) -> Tracking {
        self.objects.insert(
            (Kind::Script, name.to_string()),
            Tracked { weight, reverse, state: RiseFall::new(rise, fall, up), file: None },
        );
        self
    }

    /// Adds a track file with its weight, `reverse` and its number now.
    pub fn with_file(mut self, name: &str, weight: i32, reverse: bool, value: i64) -> Tracking {
        let t = Tracked { weight, reverse, state: RiseFall::new(1, 1, true), file: Some((reverse, value)) };
        self.objects.insert((Kind::File, name.to_string()), t);
        self
    }

    /// Records a track file's new number; a flip when it moved the file into or out of
    /// FAULT or changed what it adds.
    pub fn file_value(&mut self, name: &str, value: i64) -> Result<Option<Flip>, VrrpError> {
        let t = self
            .objects
            .get_mut(&(Kind::File, name.to_string()))
            .ok_or_else(|| VrrpError::NotTracked { kind: Kind::File, name: name.to_string() })?;
        let before = t.effect();
        if let Some((_, v)) = t.file.as_mut() {
            *v = value;
        }
        let after = t.effect();
        Ok((before != after).then(|| Flip {
            kind: Kind::File,
            name: name.to_string(),
            up: after != Effect::Fault,
            weight: t.weight,
        }))
    }

    /// Adds a track interface with its weight, `reverse` and current link state (no
    /// hysteresis).
    pub fn with_interface(mut self, name: &str, weight: i32, reverse: bool, up: bool) -> Tracking {
        let t = Tracked { weight, reverse, state: RiseFall::new(1, 1, up), file: None };
        self.objects.insert((Kind::Interface, name.to_string()), t);
        self
    }

    /// Adds a tracked process with its weight, `reverse` and state (in its quorum or not).
    pub fn with_process(mut self, name: &str, weight: i32, reverse: bool, up: bool) -> Tracking {
        let t = Tracked { weight, reverse, state: RiseFall::new(1, 1, up), file: None };
        self.objects.insert((Kind::Process, name.to_string()), t);
        self
    }

    /// Records whether a tracked process is in its quorum.
    pub fn process_state(&mut self, name: &str, up: bool) -> Result<Option<Flip>, VrrpError> {
        self.observe(Kind::Process, name, up)
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
        priority_from(self.base, self.objects.values().map(Tracked::effect))
    }

    /// Every tracked script's and interface's current state (true: succeeding / up); a
    /// track file is read again rather than remembered.
    pub fn states(&self) -> impl Iterator<Item = ((Kind, &str), bool)> {
        let kept = self.objects.iter().filter(|(_, t)| t.file.is_none());
        kept.map(|((k, n), t)| ((*k, n.as_str()), t.state.is_up()))
    }

    /// The objects that hold the instance in FAULT, in name order.
    pub fn faults(&self) -> Vec<(Kind, &str)> {
        self.objects.iter().filter(|(_, t)| t.effect() == Effect::Fault).map(|((k, n), _)| (*k, n.as_str())).collect()
    }
}

/// The effective priority from a base priority and `(weight, up)` per tracked object;
/// `None` = FAULT.
pub fn effective_priority(base: u8, objects: impl IntoIterator<Item = (i32, bool)>) -> Option<u8> {
    priority_from(base, objects.into_iter().map(|(w, up)| state_effect(w, up)))
}

/// The effective priority from a base priority and each tracked object's effect; `None` =
/// FAULT.
pub fn priority_from(base: u8, effects: impl IntoIterator<Item = Effect>) -> Option<u8> {
    let mut delta: i64 = 0;
    for e in effects {
        match e {
            Effect::Fault => return None,
            Effect::Add(n) => delta = delta.saturating_add(n),
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
    fn a_track_file_number_is_read_as_keepalived_reads_it() {
        let read = |s: &str| parse_file_value(s.as_bytes());
        assert_eq!(read("42\n"), Some(42));
        assert_eq!(read("  -7 trailing words"), Some(-7));
        assert_eq!(read("+3"), Some(3));
        assert_eq!(read("0x1f"), Some(31), "hexadecimal, as strtol with base 0");
        assert_eq!(read("010"), Some(8), "octal, likewise");
        assert_eq!(read("0x"), Some(0), "a bare 0x is the 0 before it");
        assert_eq!(read(""), Some(0), "empty: 0");
        assert_eq!(read("garbage"), Some(0), "no digits: 0");
        assert_eq!(read("\u{0}\u{1}binary"), Some(0));
        assert_eq!(read("2147483648"), Some(2_147_483_648), "keepalived's top: 2^31");
        assert_eq!(read("-2147483648"), Some(-2_147_483_648));
        assert_eq!(read("2147483649"), None, "out of range: ignored");
        assert_eq!(read("-2147483649"), None);
        assert_eq!(read("99999999999999999999999999999"), None, "no overflow");
        let long = format!("{}5", " ".repeat(127));
        assert_eq!(read(&long), Some(0), "only the first 127 bytes count");
    }

    #[test]
    fn a_track_file_effect_follows_keepalived() {
        assert_eq!(file_effect(1, false, 0), Effect::Add(0));
        assert_eq!(file_effect(-10, false, 3), Effect::Add(-30), "number times weight");
        assert_eq!(file_effect(10, true, 3), Effect::Add(-30), "reverse negates");
        assert_eq!(file_effect(5, false, 100), Effect::Add(253), "above 253 counts as 253");
        assert_eq!(file_effect(1, false, -253), Effect::Add(-253));
        assert_eq!(file_effect(1, false, -254), Effect::Fault, "-254 or less: FAULT");
        assert_eq!(file_effect(254, false, -1), Effect::Fault);
        assert_eq!(file_effect(0, false, 0), Effect::Add(0), "weight 0: 0 is fine");
        assert_eq!(file_effect(0, false, -3), Effect::Fault, "weight 0: not 0 is FAULT");
        assert_eq!(file_effect(0, true, 0), Effect::Fault, "weight 0 reverse: 0 is FAULT");
        assert_eq!(file_effect(0, true, 9), Effect::Add(0));
        assert_eq!(file_effect(254, false, i64::from(i32::MIN)), Effect::Fault, "no overflow");
        let mut t = Tracking::new(100).with_file("prio", -1, false, 0);
        assert_eq!(t.effective_priority(), Some(100));
        let flip = t.file_value("prio", 60).unwrap().unwrap();
        assert_eq!(flip.to_string(), "track file prio is usable (weight -1)");
        assert_eq!(t.effective_priority(), Some(40));
        assert_eq!(t.file_value("prio", 60).unwrap(), None, "the same number: no change");
        assert!(t.file_value("prio", 300).unwrap().is_some());
        assert_eq!((t.effective_priority(), t.faults()), (None, vec![(Kind::File, "prio")]));
        assert!(t.file_value("other", 1).is_err());
        assert_eq!(t.states().count(), 0, "a file is read again, not remembered");
    }

    #[test]
    fn reverse_turns_the_effect_round() {
        assert_eq!(reversible_effect(10, true, true), Effect::Add(-10), "+ve reverse: lowers while up");
        assert_eq!(reversible_effect(10, true, false), Effect::Add(0));
        assert_eq!(reversible_effect(-10, true, false), Effect::Add(10), "-ve reverse: raises while down");
        assert_eq!(reversible_effect(-10, true, true), Effect::Add(0));
        assert_eq!(reversible_effect(0, true, true), Effect::Fault, "weight 0 reverse: FAULT while up");
        assert_eq!(reversible_effect(0, true, false), Effect::Add(0));
        assert_eq!(reversible_effect(0, false, false), Effect::Fault);
        assert_eq!(reversible_effect(-10, false, false), Effect::Add(-10));
    }

    #[test]
    fn a_tracked_process_moves_the_priority_by_its_quorum() {
        let mut t = Tracking::new(100).with_process("haproxy", -30, false, true).with_process("maint", 0, true, false);
        assert_eq!(t.effective_priority(), Some(100));
        let flip = t.process_state("haproxy", false).unwrap().unwrap();
        assert_eq!(flip.to_string(), "track process haproxy is out of quorum (weight -30)");
        assert_eq!(t.effective_priority(), Some(70));
        assert!(t.process_state("maint", true).unwrap().is_some());
        assert_eq!((t.effective_priority(), t.faults()), (None, vec![(Kind::Process, "maint")]));
        assert!(t.process_state("haproxy", true).unwrap().is_some());
        assert!(t.process_state("maint", false).unwrap().is_some());
        assert_eq!(t.effective_priority(), Some(100));
        assert!(t.process_state("nginx", true).is_err());
        assert_eq!(t.states().count(), 2, "states are remembered across a reload");
    }

    #[test]
    fn tracking_an_instance() {
        let mut t = Tracking::new(100)
            .with_script("chk_nginx", -20, false, 2, 3, true)
            .with_script("boost", 15, false, 1, 1, false)
            .with_interface("eth1", 0, false, true);
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

    #[test]
    fn reverse_scripts_and_interfaces_turn_their_effect_round() {
        let mut t = Tracking::new(100)
            .with_script("maint", -30, true, 1, 1, true)
            .with_script("busy", 20, true, 1, 1, true)
            .with_interface("eth2", 0, true, false)
            .with_interface("eth3", 15, true, true);
        assert_eq!(t.effective_priority(), Some(65), "up: busy -20 and eth3 -15; maint adds nothing while passing");
        assert!(t.script_result("maint", false).unwrap().is_some());
        assert_eq!(t.effective_priority(), Some(95), "failing -30 reverse adds 30");
        assert!(t.interface_state("eth2", true).unwrap().is_some());
        assert_eq!(
            (t.effective_priority(), t.faults()),
            (None, vec![(Kind::Interface, "eth2")]),
            "0 reverse: FAULT while up"
        );
        assert!(t.interface_state("eth2", false).unwrap().is_some());
        assert!(t.interface_state("eth3", false).unwrap().is_some());
        assert!(t.script_result("busy", false).unwrap().is_some());
        assert_eq!(t.effective_priority(), Some(130));
    }
}
