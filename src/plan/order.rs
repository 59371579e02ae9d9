//! Change ordering. Phases run in this order; within a phase, changes keep the key order
//! they were generated in, so the same inputs always give the same plan.
//!
//! 0. announced routes withdrawn (the routers move traffic away before anything changes)
//! 1. links up (`tunl0` must exist before its sysctls can be written)
//! 2. sysctls that tighten or set (ARP settings before any VIP appears on `lo`)
//! 3. address adds and label changes
//! 4. routes set
//! 5. IPVS timeouts first (the first IPVS write, so new services' connections get them),
//!    then IPVS service adds and edits, each followed by its destination adds and edits
//!    (make before break: new backends exist before old ones go)
//! 6. sync daemons restarted with new settings or stopped; the firewall-mark table set or
//!    deleted (marks steer traffic only to services in place, and leave a service before it
//!    goes); routes announced (the service is in place before traffic is asked for)
//! 7. destination removals (drain, then delete)
//! 8. service removals
//! 9. route removals
//! 10. address removals (VIPs leave `lo` ...)
//! 11. sysctls that relax ARP (... before ARP is relaxed)

use super::change::Change;
use crate::model::sysctl;

/// The phases of a plan, in execution order (the numbers of the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// 0. Withdrawn routes.
    Withdraw,
    /// 1. Links up.
    LinksUp,
    /// 2. Sysctls that tighten or set.
    TightenSysctls,
    /// 3. Address adds and label changes.
    AddAddresses,
    /// 4. Routes set.
    SetRoutes,
    /// 5. IPVS timeouts, then services with their destination adds and edits.
    Services,
    /// 6. Sync daemons, the firewall-mark table, announced routes.
    SyncDaemons,
    /// 7. Destination removals.
    RemoveDests,
    /// 8. Service removals.
    RemoveServices,
    /// 9. Route removals.
    RemoveRoutes,
    /// 10. Address removals.
    RemoveAddresses,
    /// 11. Sysctls that relax ARP.
    RelaxSysctls,
}

/// Sorts changes into execution order (stable within a phase).
pub fn order(mut changes: Vec<Change>) -> Vec<Change> {
    changes.sort_by_key(phase);
    changes
}

/// The phase of a change.
pub fn phase(c: &Change) -> Phase {
    match c {
        Change::SetSysctl { key, from, to } if relaxes(key.leaf(), from.as_deref(), to) => Phase::RelaxSysctls,
        Change::LinkUp { .. } => Phase::LinksUp,
        Change::SetSysctl { .. } => Phase::TightenSysctls,
        Change::AddAddress { .. } | Change::ReplaceAddress { .. } => Phase::AddAddresses,
        Change::SetRoute { .. } => Phase::SetRoutes,
        Change::SetIpvsTimeouts { .. } | Change::AddService { .. } | Change::EditService { .. } => Phase::Services,
        Change::AddDest { .. } | Change::EditDest { .. } => Phase::Services,
        Change::SetSyncDaemon { .. }
        | Change::StopSyncDaemon { .. }
        | Change::SetFirewall { .. }
        | Change::DelFirewall { .. }
        | Change::Announce { .. } => Phase::SyncDaemons,
        Change::Withdraw { .. } => Phase::Withdraw,
        Change::DelDest { .. } => Phase::RemoveDests,
        Change::DelService { .. } => Phase::RemoveServices,
        Change::DelRoute { .. } => Phase::RemoveRoutes,
        Change::DelAddress { .. } => Phase::RemoveAddresses,
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
