//! The virtual MAC of a VRRP instance (keepalived's `use_vmac`): its name (keepalived's
//! default `vrrp.VRID`, IPv6 `vrrp6.VRID`), an Ethernet base interface on every member, no
//! `vip_interface` beside it (the VIPs go on the VMAC), one instance per name on a director,
//! and `xmit_base` with unicast peers (keepalived.conf(5) requires it: a unicast advert is
//! addressed to the peer's base interface and never reaches a socket on its VMAC); a MAC of
//! its own as keepalived takes it, one per instance on a director.

use std::collections::BTreeMap;

use crate::manifest::KeyPath;
use crate::manifest::types;
use crate::model::cluster::{Member, Node, VirtualMac, VrrpInstance};
use crate::model::net::{Mac, Vmac};

use super::{Cx, parse};

/// The instance's VMAC, with every member's VIP interface moved onto it.
pub fn vmac(
    cx: &mut Cx,
    path: &KeyPath,
    i: &types::VrrpInstance,
    (vrid, v6): (u8, bool),
    members: &mut BTreeMap<String, Member>,
    nodes: &BTreeMap<String, Node>,
) -> Option<VirtualMac> {
    let v = i.vmac.as_ref()?;
    let at = path.key("vmac");
    let name = v.name.clone().unwrap_or_else(|| Vmac::default_name(vrid, v6));
    if let Err(e) = parse::interface(&name) {
        cx.error(&at.key("name"), e, Some("a VMAC's name is an interface name of at most 15 bytes"));
    }
    if i.vip_interface.is_some() {
        cx.error(
            &path.key("vip_interface"),
            "`vip_interface` and `vmac` exclude each other: the VIPs go on the VMAC",
            Some("remove `vip_interface`; a VIP that belongs elsewhere names its own `interface`"),
        );
    }
    let xmit_base = v.xmit_base.unwrap_or(false);
    if i.unicast_peers.is_some() && !xmit_base {
        cx.error(
            &at,
            "a VMAC with `unicast_peers` needs `xmit_base: true`: a unicast advert goes to the peer's base interface and is never heard on its VMAC, so both directors would be master",
            Some("add `xmit_base: true` to `vmac` (keepalived: `vmac_xmit_base`), or send the adverts multicast"),
        );
    }
    for (node, m) in members.iter_mut() {
        base(cx, &at, node, m, &name, nodes);
        m.vip_interface = name.clone();
    }
    let mac = v.mac.as_deref().and_then(|t| own_mac(cx, &at, t, vrid));
    Some(VirtualMac { name, xmit_base, mac, group: v.group, netlink_notify: v.netlink_notify.unwrap_or(false) })
}

/// A MAC of the VMAC's own, refused where keepalived ignores it.
fn own_mac(cx: &mut Cx, at: &KeyPath, text: &str, vrid: u8) -> Option<Mac> {
    Mac::parse(text, vrid)
        .inspect_err(|e| {
            let hint = "write a unicast MAC of six octets (`02:00:00:0a:00:01`), or five for the VRID as the sixth, not a VRRP one (00:00:5e:00:01/02:XX); or remove `mac` for the VRRP MAC";
            cx.error(&at.key("mac"), e, Some(hint));
        })
        .ok()
}

/// A member's base interface: an Ethernet one (not `lo`), not the VMAC's own name.
fn base(cx: &mut Cx, at: &KeyPath, node: &str, m: &Member, name: &str, nodes: &BTreeMap<String, Node>) {
    if m.interface == "lo" {
        let msg = format!("member `{node}` sends its adverts on lo, which has no MAC address to put a VMAC on");
        cx.error(at, msg, Some("a VMAC goes on the Ethernet interface the VRRP peers share"));
    }
    let own = nodes.get(node).map(|n| n.interface.as_str());
    if m.interface == name || own == Some(name) {
        let msg = format!("the VMAC's name `{name}` is an interface of node `{node}`");
        cx.error(&at.key("name"), msg, Some("name the VMAC after no existing interface, e.g. vrrp.<vrid>"));
    }
}

/// Two instances of one director cannot share a VMAC name (each needs its own link) nor
/// a MAC of their own (one client's entry would point at both).
pub fn names_unique(cx: &mut Cx, at: &KeyPath, instances: &BTreeMap<String, VrrpInstance>) {
    macs_unique(cx, at, instances);
    let mut first: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for (name, i) in instances {
        let Some(v) = &i.vmac else { continue };
        for node in i.members.keys() {
            match first.get(&(node.as_str(), v.name.as_str())) {
                Some(other) => {
                    let msg = format!(
                        "instance `{other}` already has the VMAC `{}` on director `{node}`; each instance needs its own",
                        v.name
                    );
                    cx.error(&at.name(name).key("vmac"), msg, Some("give one of them another `vmac.name`"));
                    break;
                }
                None => {
                    first.insert((node, &v.name), name);
                }
            }
        }
    }
}

fn macs_unique(cx: &mut Cx, at: &KeyPath, instances: &BTreeMap<String, VrrpInstance>) {
    let mut first: BTreeMap<(&str, Mac), &str> = BTreeMap::new();
    for (name, i) in instances {
        let Some(mac) = i.vmac.as_ref().and_then(|v| v.mac) else { continue };
        for node in i.members.keys() {
            if let Some(other) = first.get(&(node.as_str(), mac)) {
                let msg = format!(
                    "instance `{other}` already has the VMAC MAC {mac} on director `{node}`; each instance needs its own"
                );
                cx.error(&at.name(name).key("vmac").key("mac"), msg, Some("give one of them another `vmac.mac`"));
                break;
            }
            first.insert((node, mac), name);
        }
    }
}
