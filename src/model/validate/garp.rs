//! A VRRP instance's announcement timing (`garp_*`, `gna_interval`) and its members' advert
//! sources (`source`): keepalived's defaults, and the settings that would do nothing or
//! harm refused where they are written.

use std::net::IpAddr;
use std::time::Duration;

use crate::manifest::KeyPath;
use crate::manifest::types;
use crate::model::cluster::Node;
use crate::vrrp::garp::Timing;

use super::{Cx, dur, parse};

/// The longest gap between two announcements: a longer one holds the last VIP's
/// announcement back by seconds after a takeover.
const MAX_GAP: Duration = Duration::from_secs(1);

/// The instance's [`Timing`]: its keys over keepalived's defaults (strict ones with `strict`).
pub(super) fn timing(cx: &mut Cx, path: &KeyPath, i: &types::VrrpInstance) -> Timing {
    let d = Timing::default();
    let repeat = i.garp_repeat.unwrap_or(d.repeat);
    let delay = dur(cx, &path.key("garp_delay"), i.garp_delay.as_ref(), d.delay);
    let refresh = dur(cx, &path.key("garp_refresh"), i.garp_refresh.as_ref(), d.refresh);
    let strict = i.strict == Some(true);
    let lower_delay = if strict { Duration::ZERO } else { delay };
    if i.garp_refresh_repeat.is_some() && refresh.is_zero() {
        cx.error(
            &path.key("garp_refresh_repeat"),
            "`garp_refresh_repeat` does nothing without `garp_refresh`",
            Some("set `garp_refresh` (how often a master announces its VIPs again), or remove `garp_refresh_repeat`"),
        );
    }
    Timing {
        repeat,
        delay,
        refresh,
        refresh_repeat: i.garp_refresh_repeat.unwrap_or(d.refresh_repeat),
        // keepalived's strict mode sends none on hearing a lower priority.
        lower_repeat: i.garp_lower_priority_repeat.unwrap_or(if strict { 0 } else { repeat }),
        lower_delay: dur(cx, &path.key("garp_lower_priority_delay"), i.garp_lower_priority_delay.as_ref(), lower_delay),
        arp_interval: gap(cx, &path.key("garp_interval"), i.garp_interval.as_ref()),
        na_interval: gap(cx, &path.key("gna_interval"), i.gna_interval.as_ref()),
    }
}

fn gap(cx: &mut Cx, at: &KeyPath, d: Option<&types::Duration>) -> Duration {
    let g = dur(cx, at, d, Duration::ZERO);
    if g > MAX_GAP {
        let msg = format!("a gap between announcements is at most 1s, not {}", parse::duration_text(g));
        cx.error(at, msg, Some("a takeover announces every VIP several times; a long gap leaves the last ones stale"));
        return MAX_GAP;
    }
    g
}

/// A member's advert source: an address of its node of the instance's family, or an IPv6
/// link-local address; IPv6 multicast adverts come from a link-local address (RFC 5798
/// §5.1.2.1).
pub(super) fn source(
    cx: &mut Cx,
    at: &KeyPath,
    text: Option<&str>,
    node: &Node,
    v6: bool,
    unicast: bool,
) -> Option<IpAddr> {
    let text = text?;
    let Ok(a) = text.parse::<IpAddr>() else {
        cx.error(at, format!("`{text}` is not an IP address"), Some("write the address alone, without a prefix"));
        return None;
    };
    let link_local = matches!(a, IpAddr::V6(v) if v.is_unicast_link_local());
    let own = node.addresses.iter().any(|n| n.addr() == a);
    let problem = if a.is_ipv6() != v6 {
        let msg = format!("{a} is not of the instance's family ({})", if v6 { "IPv6" } else { "IPv4" });
        Some((msg, Some("give one of the node's addresses of that family, or remove `source`")))
    } else if v6 && !unicast && !link_local {
        let hint = "remove `source` (the interface's link-local address is used), or give a fe80:: address";
        Some((format!("{a}: IPv6 multicast adverts come from a link-local address (RFC 5798)"), Some(hint)))
    } else if !own && !link_local {
        Some((
            format!("{a} is not one of node `{}`'s addresses", node.name),
            Some("add it to the node's `addresses`, or remove `source`"),
        ))
    } else {
        None
    };
    match problem {
        Some((msg, hint)) => {
            cx.error(at, msg, hint);
            None
        }
        None => Some(a),
    }
}
