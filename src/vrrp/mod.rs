//! VRRP. The pure parts: the advert codec, the per-instance state machine and the tracking
//! that yields the effective priority; no sockets, no clock, no files: time comes in as an
//! argument (a `Duration` since an arbitrary epoch chosen by the caller). The effects: the
//! raw sockets ([`net`]) and the gratuitous ARP / neighbour advertisements ([`announce`]).
//!
//! ```text
//! packet::decode(payload, src, dst, ttl, &Expect) -> Advert | DropReason   receive side
//! packet::encode(&Advert, src, dst)               -> payload bytes         send side
//! ah::seal(&Advert, src, dst, seq, unicast)       -> IPv4 packet           AH send side
//! ah::receive(header, body, ttl, &Expect, ..)     -> Heard | DropReason    AH receive side
//! track::Tracking::effective_priority()           -> Some(prio) | None     None = FAULT
//! fsm::Fsm::step(Input, now)                      -> Vec<Action>           Init/Backup/Master/Fault
//! fsm::Fsm::next_deadline()                       -> when to call step(Input::Tick, ..) next
//! ```
//!
//! Interoperable with keepalived 2.2.7 (checked against its own captures in
//! `tests/fixtures/vrrp/`): VRRPv2 (RFC 3768) with PASS or IPsec AH authentication and VRRPv3
//! (RFC 5798) over IPv4 and IPv6, multicast or unicast.
//!
//! - [`packet`]: VRRPv2/v3 advert codec, drop reasons and their counters.
//! - [`ah`]: VRRPv2 over IPsec AH (HMAC-MD5-96, keepalived's `auth_type AH`).
//! - [`fsm`]: the RFC 5798 §6.4 state machine plus FAULT, with keepalived's preempt rules.
//! - [`garp`]: when a master sends its gratuitous ARPs / NAs (keepalived's `garp_*` timing).
//! - [`sync`]: sync groups (keepalived's `vrrp_sync_group`): which members move when.
//! - [`procs`]: tracked processes: matching, counts, quorum and delays (keepalived's `vrrp_track_process`).
//! - [`track`]: rise/fall of track scripts and interfaces, weights, effective priority.
//! - [`net`]: protocol-112 (and, for AH, 51) sockets (effects).
//! - [`announce`]: gratuitous ARP and unsolicited NA (effects).

pub mod ah;
pub mod announce;
pub mod fsm;
pub mod garp;
pub mod net;
pub mod packet;
pub mod procs;
pub mod sync;
pub mod track;

/// Misuse of the VRRP core by its caller: an advert that cannot be put on the wire, or an
/// instance configuration the state machine cannot run. Bad packets from peers are not errors;
/// they are [`packet::DropReason`]s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VrrpError {
    /// An advert that cannot be encoded.
    #[error("encode VRRPv{version} advert for VRID {vrid}: {problem}")]
    Encode {
        /// VRRP version of the advert.
        version: u8,
        /// Its virtual router id.
        vrid: u8,
        /// What is wrong with it.
        problem: String,
    },
    /// An advert interval the version cannot carry.
    #[error("VRRPv{version} advert interval must be {allowed}, not {interval:?}")]
    Interval {
        /// 2 or 3.
        version: u8,
        /// The interval asked for.
        interval: std::time::Duration,
        /// What the version allows.
        allowed: &'static str,
    },
    /// Priority 0 is what a stopping master sends; no instance runs with it.
    #[error("priority 0 is reserved for a stopping master")]
    ReservedPriority,
    /// Neither 2 nor 3.
    #[error("unknown VRRP version {0}")]
    UnknownVersion(u8),
    /// A result for a tracked object the instance does not track.
    #[error("unknown {kind} `{name}`")]
    NotTracked {
        /// Script or interface.
        kind: track::Kind,
        /// Its name.
        name: String,
    },
}
