//! The VMACs of VIPs on the in-memory kernel (keepalived's `use_vmac_addr` and a VIP's
//! `use_vmac`): made at start on the VIPs' interfaces with keepalived's sysctls, up, named
//! as keepalived names them; the master holds those VIPs on them and the rest where they
//! were; a reload that drops them removes them and puts the VIPs back on their interface;
//! one deleted by hand is made again with its VIP; the stop removes them all.

use std::time::Duration;

use super::{NODE, Scratch, Shared, held_on, host, start, sysctl, vmacs, wait_for};
use crate::model::net::{Address, Link};

const LIMIT: Duration = Duration::from_secs(3);

/// One v3 instance with 50 ms adverts on eth0, VRID 40 (00:00:5e:00:01:28), holding
/// 10.0.0.140/24 and `vips` after it, `extra` appended to it.
fn manifest(vips: &str, extra: &str) -> String {
    format!(
        "{NODE}vrrp:
  VI_VV:
    vrid: 40
    advert_interval: 50ms
    members:
      lb1: {{priority: 150}}
    vips:
      - 10.0.0.140/24
{vips}{extra}"
    )
}

/// This host with eth1 and eth0's IPv6 link-local address.
fn two_lans() -> Shared {
    let k = host();
    k.lock().state.links.insert("eth1".into(), Link::UP);
    let ll = Address::plain("eth0", "fe80::1/64".parse().unwrap());
    k.lock().state.addresses.insert(ll.key(), ll);
    k
}

#[test]
fn a_vips_own_vmac_is_made_on_its_interface_holds_it_and_goes_with_a_reload_and_the_stop() {
    let (s, k) = (Scratch::new("vip-vmac"), two_lans());
    let vip = "      - {address: 10.0.1.140/24, interface: eth1, vmac: true}\n";
    s.write(&manifest(vip, ""));
    let mut d = start(&s, &k);
    assert_eq!(vmacs(&k), ["vrrp.40 (00:00:5e:00:01:28 on eth1)"], "keepalived's name, on the VIP's interface");
    assert_eq!(k.lock().state.links.get("vrrp.40"), Some(&Link::UP), "up before any state");
    for (key, want) in [("arp_ignore", "1"), ("accept_local", "1"), ("rp_filter", "0"), ("promote_secondaries", "1")] {
        assert_eq!(sysctl(&k, &format!("net.ipv4.conf.vrrp/40.{key}")).as_deref(), Some(want), "{key}");
    }
    assert_eq!(sysctl(&k, "net.ipv6.conf.vrrp/40.disable_ipv6").as_deref(), Some("1"));
    wait_for("the master's VIPs", LIMIT, || held_on(&k, "vrrp.40", "10.0.1.140/24"));
    assert!(held_on(&k, "eth0", "10.0.0.140/24"), "the VIP without the option stays on eth0");
    assert!(!held_on(&k, "eth1", "10.0.1.140/24"), "nothing on the VMAC's parent");
    d.reconcile().unwrap();
    for key in ["arp_ignore", "arp_filter"] {
        assert_eq!(sysctl(&k, &format!("net.ipv4.conf.eth1.{key}")).as_deref(), Some("1"), "the parent's {key}");
    }
    s.write(&manifest(&vip.replace(", vmac: true", ""), ""));
    d.reload().unwrap();
    assert!(vmacs(&k).is_empty(), "the reload that drops the option removes the VMAC");
    wait_for("the VIP back on eth1", LIMIT, || held_on(&k, "eth1", "10.0.1.140/24"));
    s.write(&manifest(vip, ""));
    d.reload().unwrap();
    wait_for("the VIP on its VMAC again", LIMIT, || held_on(&k, "vrrp.40", "10.0.1.140/24"));
    assert!(!held_on(&k, "eth1", "10.0.1.140/24"));
    d.stop();
    assert!(vmacs(&k).is_empty(), "the stop removes it");
    assert!(!k.lock().state.links.contains_key("vrrp.40"));
}

#[test]
fn vip_vmacs_put_each_other_interface_and_the_other_family_on_a_vmac_named_as_keepalived_does() {
    let (s, k) = (Scratch::new("vip-vmacs"), two_lans());
    let vips = "      - {address: 10.0.1.140/24, interface: eth1}\n      - {address: 10.0.1.141/24, interface: eth1}\n";
    s.write(&manifest(vips, "    excluded_vips: [fd00::140/64]\n    vmac: {}\n    vip_vmacs: true\n"));
    let mut d = start(&s, &k);
    let want = [
        "vrrp.40 (00:00:5e:00:01:28 on eth0)",
        "vrrp1.40 (00:00:5e:00:01:28 on eth1)",
        "vrrp6.40 (00:00:5e:00:02:28 on eth0)",
    ];
    assert_eq!(vmacs(&k), want, "the instance's, one for eth1's two VIPs, one for the other family on eth0");
    let ll = Address::plain("vrrp6.40", "fe80::1/64".parse().unwrap());
    assert!(k.lock().state.addresses.contains_key(&ll.key()), "an IPv6 VIP VMAC gets its parent's link-local");
    assert_eq!(sysctl(&k, "net.ipv6.conf.vrrp6/40.addr_gen_mode").as_deref(), Some("1"));
    wait_for("the master's VIPs", LIMIT, || held_on(&k, "vrrp6.40", "fd00::140/64"));
    for (on, vip) in [("vrrp.40", "10.0.0.140/24"), ("vrrp1.40", "10.0.1.140/24"), ("vrrp1.40", "10.0.1.141/24")] {
        assert!(held_on(&k, on, vip), "{vip} on {on}");
    }
    // Deleted by hand: the instance tracks it, the daemon makes it again, the VIP comes back.
    let gone = k.lock().state.vmacs.iter().find(|v| v.name == "vrrp1.40").cloned().unwrap();
    crate::kernel::Addrs::del_vmac(&mut *k.lock(), &gone).unwrap();
    assert_eq!(d.repair_vmacs(), ["vrrp1.40"]);
    assert_eq!(sysctl(&k, "net.ipv4.conf.vrrp1/40.arp_ignore").as_deref(), Some("1"), "with its sysctls");
    wait_for("the VIP back on the VMAC made again", LIMIT, || held_on(&k, "vrrp1.40", "10.0.1.140/24"));
    d.stop();
    assert!(vmacs(&k).is_empty(), "the stop removes all three");
}

#[test]
fn a_vip_vmacs_name_another_interface_has_stops_the_start_and_is_left_alone() {
    let (s, k) = (Scratch::new("vip-vmac-taken"), two_lans());
    s.write(&manifest("      - {address: 10.0.1.140/24, interface: eth1, vmac: true}\n", ""));
    k.lock().state.links.insert("vrrp.40".into(), Link::UP);
    let (events, _) = std::sync::mpsc::channel();
    let platform = super::MemPlatform::new(k.clone());
    let e = super::Daemon::start(s.opts(), k.clone(), platform, Default::default(), events).err().unwrap();
    let said = e.to_string();
    assert!(said.contains("vrrp.VI_VV: interface vrrp.40 exists on this host and is not a VMAC"), "{said}");
    assert!(said.contains("rename or remove that interface"), "{said}");
    assert!(vmacs(&k).is_empty(), "nothing made");
    assert_eq!(k.lock().state.links.get("vrrp.40"), Some(&Link::UP), "left alone");
}
