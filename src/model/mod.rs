//! The domain model: the validated cluster, the state of a node (one type for desired and
//! live state), and the pure functions between them.

pub mod alerts;
pub mod announce;
pub mod cluster;
pub mod desired;
pub mod dns;
pub mod drain;
pub mod firewall;
pub mod ipvs;
pub mod list;
pub mod net;
pub mod password;
pub mod preflight;
pub mod state;
pub mod sync;
pub mod sysctl;
pub mod timeouts;
pub mod validate;

pub use cluster::Cluster;
pub use desired::{Delegated, DelegatedSync, Desired, Health, desired, scoped_services};
pub use state::{Ledger, NodeState};
pub use validate::{Facts, FileFact, NoFacts, ScriptFact, Validated, validate};
