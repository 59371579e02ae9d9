//! Health checks of real servers: which checks a node runs and what their results mean
//! (pure), one check's state machine (pure, time passed in), the probes and the engine that
//! schedules them (tokio, on their own thread). The daemon turns the results into a
//! [`crate::model::Health`], an input of the desired state like any other: a failed backend
//! leaves IPVS through the ordinary plan and apply, never through a side channel.
//!
//! ```text
//! Board::new(&Cluster, node, ..)       -> targets, one per distinct (address, check)
//! Engine::set(targets)                 -> a task per target: probe, CheckState::record
//!   Report { target, transition }      -> daemon: Board::record, Board::health -> Health
//! ```
//!
//! - [`board`]: targets, fan-out to services and backends, quorum with hysteresis (pure).
//! - [`state`]: interval, timeout, retries, retry delay, rise and fall (pure).
//! - [`stats`]: probes, failures and a duration histogram per target (pure).
//! - [`http`], [`dns`], [`datagram`] (udp and ping), [`stream`] (tcp's `send` and
//!   `expect`): the protocols' requests and verdicts (pure).
//! - [`probe`], [`tls`], [`engine`]: the effects.

pub mod board;
pub mod datagram;
pub mod dns;
pub mod engine;
pub mod http;
pub mod probe;
pub mod state;
pub mod stats;
pub mod stream;
pub mod tls;

pub use board::{Board, Target};
pub use state::{Outcome, Status};
