//! IPVS connection timeouts (`ipvsadm --set TCP TCPFIN UDP`, keepalived's `lvs_timeouts`):
//! how long the kernel keeps an idle connection entry of an established TCP connection, of
//! a TCP connection after its FIN, and of a UDP "connection". One set per kernel (per
//! network namespace). Pure.

use serde::{Deserialize, Serialize};

/// The three timeouts in seconds. In desired state a 0 means "leave the kernel's value", as
/// `ipvsadm --set 0 0 300` does; the kernel reports all three.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    /// Established TCP connections (`ipvsadm --set` TCP; the kernel's default 900).
    #[serde(default)]
    pub tcp: u32,
    /// TCP connections after a FIN (`ipvsadm --set` TCPFIN; default 120).
    #[serde(default)]
    pub tcp_fin: u32,
    /// UDP (`ipvsadm --set` UDP; default 300).
    #[serde(default)]
    pub udp: u32,
}

impl Timeouts {
    /// The largest value the kernel takes on any kernel: INT_MAX / HZ with HZ at most 1000
    /// (`ip_vs_set_timeout` returns EINVAL above it).
    pub const MAX: u32 = 2_147_483;
    /// A fresh kernel's values (`ip_vs_proto_tcp.c`, `ip_vs_proto_udp.c`).
    pub const LINUX: Timeouts = Timeouts { tcp: 900, tcp_fin: 120, udp: 300 };

    /// Returns true if and only if no timeout is set.
    pub fn is_unset(&self) -> bool {
        *self == Timeouts::default()
    }

    /// Returns true if and only if every timeout set here has that value in `live`.
    pub fn held_by(&self, live: &Timeouts) -> bool {
        self.fields().iter().zip(live.fields()).all(|(&(_, want), (_, now))| want == 0 || want == now)
    }

    /// `live` with every timeout set here put in (what the kernel holds after a write).
    pub fn over(&self, live: &Timeouts) -> Timeouts {
        let pick = |want: u32, now: u32| if want == 0 { now } else { want };
        Timeouts {
            tcp: pick(self.tcp, live.tcp),
            tcp_fin: pick(self.tcp_fin, live.tcp_fin),
            udp: pick(self.udp, live.udp),
        }
    }

    /// Field by field, `f(mine, other's)`.
    pub fn zip(&self, other: &Timeouts, f: impl Fn(u32, u32) -> u32) -> Timeouts {
        Timeouts { tcp: f(self.tcp, other.tcp), tcp_fin: f(self.tcp_fin, other.tcp_fin), udp: f(self.udp, other.udp) }
    }

    /// The timeouts by their `ipvsadm -L --timeout` names: tcp, tcpfin, udp.
    pub fn fields(&self) -> [(&'static str, u32); 3] {
        [("tcp", self.tcp), ("tcpfin", self.tcp_fin), ("udp", self.udp)]
    }

    /// As `ipvsadm -L --timeout` prints them: `Timeout (tcp tcpfin udp): 900 120 300`.
    pub fn ipvsadm_line(&self) -> String {
        format!("Timeout (tcp tcpfin udp): {} {} {}", self.tcp, self.tcp_fin, self.udp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_leaves_the_kernel_value() {
        let want = Timeouts { udp: 10, ..Timeouts::default() };
        assert!(!want.held_by(&Timeouts::LINUX));
        assert_eq!(want.over(&Timeouts::LINUX), Timeouts { tcp: 900, tcp_fin: 120, udp: 10 });
        assert!(want.held_by(&want.over(&Timeouts::LINUX)));
        assert!(Timeouts::default().held_by(&Timeouts::LINUX));
        assert_eq!(Timeouts::LINUX.ipvsadm_line(), "Timeout (tcp tcpfin udp): 900 120 300");
    }
}
