//! Change ordering. Phases run in this order; within a phase, changes keep the key order
//! they were generated in, so the same inputs always give the same plan.
//!
//! 1. sysctls that tighten or set (ARP settings before any VIP appears on `lo`)
//! 2. links up (`tunl0`)
//! 3. address adds and label changes
//! 4. routes set
//! 5. IPVS service adds and edits
//! 6. destination adds and edits (make before break: new backends before old ones go)
//! 7. destination removals (drain, then delete)
//! 8. service removals
//! 9. route removals
//! 10. address removals (VIPs leave `lo` ...)
//! 11. sysctls that relax ARP or restore released values (... before ARP is relaxed)

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
        Change::SetSysctl { .. } => 0,
        Change::LinkUp { .. } => 1,
        Change::AddAddress { .. } | Change::ReplaceAddress { .. } => 2,
        Change::SetRoute { .. } => 3,
        Change::AddService { .. } | Change::EditService { .. } => 4,
        Change::AddDest { .. } | Change::EditDest { .. } => 5,
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
