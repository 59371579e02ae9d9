//! A VRRP instance's `strict` (keepalived's `vrrp_strict` / `strict_mode`) and `accept`:
//! what keepalived's strict mode refuses, refused here at the key that breaks the RFC.
//! keepalived drops an instance with unicast peers or without VIPs, and resets (with a
//! configuration error) authentication, a preempt delay, v2 accept mode and lower-priority
//! announcements; a setting that would be dropped in silence is refused here instead.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::manifest::KeyPath;
use crate::manifest::types;
use crate::model::cluster::{Member, Vip};

use super::{Cx, parse};

/// Checks `i`'s settings against its `strict` and `accept`.
pub(super) fn check(
    cx: &mut Cx,
    path: &KeyPath,
    i: &types::VrrpInstance,
    (vips, members): (&[Vip], &BTreeMap<String, Member>),
    version: u8,
) {
    if i.accept == Some(true) && i.strict == Some(true) && version == 2 {
        let below = members.values().any(|m| m.priority < 255);
        if below {
            let hint = "remove `accept` (strict VRRPv2 masters never accept), or use `version: 3`";
            cx.error(
                &path.key("accept"),
                "accept mode does not exist in VRRPv2 (RFC 3768) and `strict` keeps to it",
                Some(hint),
            );
        }
    }
    if i.strict != Some(true) {
        return;
    }
    let off = "or remove `strict`";
    if i.unicast_peers.is_some() {
        let hint = format!("remove `unicast_peers` (adverts go multicast), {off}");
        cx.error(&path.key("unicast_peers"), "unicast peers break the RFC, and `strict` refuses them", Some(&hint));
    }
    if i.authentication.is_some() {
        let hint = format!("remove `authentication`, {off}");
        cx.error(&path.key("authentication"), "`strict` allows no authentication (RFC 5798 removed it)", Some(&hint));
    }
    if i.preempt_delay.as_ref().is_some_and(|d| parse::duration(d).is_ok_and(|d| !d.is_zero())) {
        let hint = format!("remove `preempt_delay`, {off}");
        cx.error(&path.key("preempt_delay"), "`strict` allows no preempt delay (the RFC has none)", Some(&hint));
    }
    if i.garp_lower_priority_repeat.is_some_and(|n| n > 0) {
        let hint = format!("remove `garp_lower_priority_repeat` (strict sends none), {off}");
        cx.error(
            &path.key("garp_lower_priority_repeat"),
            "`strict` sends no announcements on hearing a lower priority",
            Some(&hint),
        );
    }
    let lower_delay = i.garp_lower_priority_delay.as_ref().map(parse::duration);
    if lower_delay.is_some_and(|d| d.is_ok_and(|d| d > Duration::ZERO)) {
        let hint = format!("remove `garp_lower_priority_delay`, {off}");
        cx.error(
            &path.key("garp_lower_priority_delay"),
            "`strict` sends no announcements on hearing a lower priority",
            Some(&hint),
        );
    }
    if i.vips.is_empty() {
        let hint = format!("list the instance's addresses under `vips`, {off}");
        cx.error(&path.key("vips"), "`strict` needs at least one VIP in the adverts", Some(&hint));
    }
    if let Some(first) =
        vips.first().map(Vip::addr).filter(|a| matches!(a, std::net::IpAddr::V6(v) if !v.is_unicast_link_local()))
    {
        let hint = format!("put a link-local VIP (fe80::/64) first, {off}");
        let msg = format!("the first IPv6 VIP of a strict instance must be link-local (RFC 5798 §5.2.9), not {first}");
        cx.error(&path.key("vips").index(0), msg, Some(&hint));
    }
}
