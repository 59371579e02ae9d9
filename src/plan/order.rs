//! Change ordering. Phases run in this order; within a phase, changes keep the key order
//! they were generated in, so the same inputs always give the same plan.
//!
//! 1. links up (`tunl0` must exist before its sysctls can be written)
//! 2. sysctls that tighten or set (ARP settings before any VIP appears on `lo`)
//! 3. address adds and label changes
//! 4. routes set
//! 5. IPVS service adds and edits, each followed by its destination adds and edits
//!    (make before break: new backends exist before old ones go)
//! 6. destination removals (drain, then delete)
//! 7. service removals
//! 8. route removals
//! 9. address removals (VIPs leave `lo` ...)
//! 10. sysctls that relax ARP (... before ARP is relaxed)

use super::change::Change;
use crate::model::sysctl;

/// Sorts changes into execution order (stable within a phase).
pub fn order(mut changes: Vec<Change>) -> Vec<Change> {
    changes.sort_by_key(phase);
    changes
}

/// The phase of a change; see the module docs.
pub fn phase(c: &Change) -> u8 {
    match c {
        Change::SetSysctl { key, from, to } if relaxes(key.leaf(), from.as_deref(), to) => 10,
        Change::LinkUp { .. } => 0,
        Change::SetSysctl { .. } => 1,
        Change::AddAddress { .. } | Change::ReplaceAddress { .. } => 2,
        Change::SetRoute { .. } => 3,
        Change::AddService { .. } | Change::EditService { .. } => 4,
        Change::AddDest { .. } | Change::EditDest { .. } => 4,
        Change::DelDest { .. } => 6,
        Change::DelService { .. } => 7,
        Change::DelRoute { .. } => 8,
        Change::DelAddress { .. } => 9,
    }
}

/// Returns true if and only if writing `to` over `from` lowers an ARP/rp_filter setting.
fn relaxes(leaf: &str, from: Option<&str>, to: &str) -> bool {
    if !sysctl::is_max_semantics(leaf) {
        return false;
    }
    match (from.and_then(|f| f.trim().parse::<i64>().ok()), to.trim().parse::<i64>()) {
        (Some(f), Ok(t)) => t < f,
        _ => false,
    }
}
