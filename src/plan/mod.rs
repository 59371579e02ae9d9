//! The plan: the ordered kernel operations that take a node from its live state to its
//! desired state, the notes about what is left alone, and the ownership ledger after apply.
//! Pure: a function of two values. A saved plan (`plan --out`) is this value as JSON.

pub mod change;
mod diff;
pub mod order;

use serde::{Deserialize, Serialize};

pub use change::{Action, Change, Note};

use crate::model::{Desired, Ledger, NodeState};

/// Version of the plan's JSON structure.
pub const FORMAT_VERSION: u32 = 1;

/// Counts of changes by action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Changes that create.
    pub add: usize,
    /// Changes that update in place.
    pub change: usize,
    /// Changes that destroy.
    pub destroy: usize,
}

/// A plan for one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Always [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The node planned for.
    pub node: String,
    /// Its roles.
    pub roles: Vec<String>,
    /// Fingerprint of the live state the plan was computed against.
    pub live_fingerprint: String,
    /// Kernel operations, in execution order.
    pub changes: Vec<Change>,
    /// Objects shown but not changed.
    pub notes: Vec<Note>,
    /// What lbconverge owns once the plan is applied.
    pub ledger: Ledger,
    /// Counts by action.
    pub summary: Summary,
}

impl Plan {
    /// Returns true if and only if applying the plan changes nothing in the kernel.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Computes the plan that takes `live` to `desired`.
pub fn plan(desired: &Desired, live: &NodeState) -> Plan {
    let diff = diff::diff(desired, live);
    let changes = order::order(diff.changes);
    let summary = summarize(&changes);
    Plan {
        format_version: FORMAT_VERSION,
        node: desired.node.clone(),
        roles: desired.roles.iter().map(|r| r.to_string()).collect(),
        live_fingerprint: live.fingerprint(),
        changes,
        notes: diff.notes,
        ledger: diff.ledger,
        summary,
    }
}

fn summarize(changes: &[Change]) -> Summary {
    let mut s = Summary::default();
    for c in changes {
        match c.action() {
            Action::Create => s.add += 1,
            Action::Update => s.change += 1,
            Action::Delete => s.destroy += 1,
        }
    }
    s
}
