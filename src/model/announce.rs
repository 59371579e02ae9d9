//! Routes lbconverge announces: for a service with `announce: bgp`, a host route for its VIP
//! in a dedicated kernel routing table, held while this director is healthy for the service.
//! lbconverge speaks no routing protocol: the operator's routing daemon (BIRD, FRR) reads
//! that table and announces what it finds over BGP, so routers spread the VIP's traffic over
//! every director that holds the route (ECMP). The routes carry their own protocol number,
//! [`PROTOCOL`], so that they are told apart from any other route in any table.

use std::fmt;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// The `rtm_protocol` of the routes lbconverge announces (`ip route ... proto 76`).
pub const PROTOCOL: u8 = 76;

/// The routing table announced routes go to unless the manifest says otherwise.
pub const DEFAULT_TABLE: u32 = 250;

/// One announced route: `ip route replace VIP/32 dev lo table 250 proto 76`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Announced {
    /// The VIP as a host route.
    pub destination: IpNet,
    /// The kernel routing table.
    pub table: u32,
}

impl fmt::Display for Announced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} table {}", self.destination, self.table)
    }
}
