//! The VRRP virtual MAC interfaces of this node's instances (keepalived's `use_vmac`): each
//! made before the instance that uses it opens its wire, with keepalived's sysctls, and up
//! for as long as the instance runs here, whatever its state (its VIPs come and go on it);
//! removed once no instance uses it (a reload that drops it, the daemon's stop); one deleted
//! by hand while the daemon runs is made again ([`repair`]), as keepalived does. Only a
//! private macvlan with a VRRP MAC (or an L2 ipvlan, keepalived's `use_ipvlan`, which gets
//! its member's address) is ever removed or replaced: an interface of another kind with
//! the name is an error, never touched. The VMACs of VIPs on other interfaces
//! (`use_vmac_addr`, a VIP's `use_vmac`) live alike: made with keepalived's sysctls before
//! the instance starts, removed with it, made again after a deletion (the instance tracks
//! them, and the tracker rebinds it to the new link).
//! With `netlink_notify`, the parent's group is set again after the VMAC is made and
//! after it is removed, as keepalived's `netlink_notify_msg` does.

use std::collections::BTreeSet;

use super::error::DaemonError;
use super::instance::{Control, Running, Update};
use super::instances::{Instances, Staged};
use super::platform::Platform;
use super::spec::{GroupSpec, InstanceSpec};
use crate::kernel::{Addrs, KResult, KernelError, Sysctls};
use crate::model::net::{Address, Vmac};
use crate::model::sysctl::SysctlKey;

/// The VMACs the running instances use.
pub fn running(instances: &[Running]) -> BTreeSet<Vmac> {
    instances.iter().flat_map(|r| owned(&r.spec)).cloned().collect()
}

/// The VMACs an instance makes: its own, then its VIPs'.
fn owned(s: &InstanceSpec) -> impl Iterator<Item = &Vmac> {
    s.vmac.iter().chain(&s.vip_vmacs)
}

/// Makes the VMACs of `specs` (their wires open on them), then stages `specs`; a failure
/// removes the VMACs it made, so that nothing is left of a configuration not taken.
pub fn stage<K: Addrs + Sysctls + ?Sized>(
    k: &mut K,
    instances: &Instances,
    (specs, groups): (Vec<InstanceSpec>, Vec<GroupSpec>),
    platform: &dyn Platform,
) -> Result<Staged, DaemonError> {
    let created = ensure(k, &specs)?;
    instances.stage(specs, groups, platform).inspect_err(|_| {
        remove(k, &created.into_iter().collect(), &BTreeSet::new());
    })
}

/// Makes every VMAC of `specs` exist, with its sysctls, up (and, for IPv6 adverts sent from
/// it, with the base interface's link-local address). Returns those it created, for a
/// caller that fails later to remove again.
pub fn ensure<K: Addrs + Sysctls + ?Sized>(k: &mut K, specs: &[InstanceSpec]) -> KResult<Vec<Vmac>> {
    let wanted: Vec<(&InstanceSpec, &Vmac)> = specs.iter().flat_map(|s| owned(s).map(move |v| (s, v))).collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let live = k.vmacs()?;
    let links = k.links()?;
    let mut created = Vec::new();
    for (s, v) in wanted {
        if !links.contains_key(&v.parent) {
            // Only with `dynamic_interfaces` (else the start was refused): its instance waits
            // in FAULT, and the VMAC is made once the parent exists ([`repair`]).
            tracing::warn!(vmac = %v, instance = %s.name, "VMAC not made: its parent interface does not exist yet");
            continue;
        }
        if !live.iter().any(|l| v.is(l)) {
            if let Some(old) = live.iter().find(|l| l.name == v.name) {
                tracing::info!(vmac = %old, "replacing a VMAC of other settings");
                k.del_vmac(old)?;
            } else if links.contains_key(&v.name) {
                let hint = "rename the VMAC (`vmac.name`) or remove the interface";
                return Err(KernelError::errno("add VMAC", v.to_string(), libc::EEXIST)
                    .with_hint(format!("{hint}: {} is not a VMAC lbconverge made", v.name)));
            }
            k.add_vmac(v)?;
            tracing::info!(vmac = %v, instance = %s.name, "VMAC made");
            created.push(v.clone());
            configure(k, s, v)?;
            // Up, the VMAC has turned its parent promiscuous (or added its MAC to the
            // parent's filter): now listeners are to hear of the parent.
            renotify(k, v);
            continue;
        }
        configure(k, s, v)?;
    }
    Ok(created)
}

/// Makes again the VMACs of running instances that the kernel lacks (deleted by hand), with
/// their sysctls, as keepalived does when it sees the link go. Each such instance gets a new
/// wire (its socket and announcer were bound to the link that is gone); meanwhile it is in
/// FAULT (it tracks its VMAC), and its VIPs come back on the new link once it is master
/// again. Returns the names made again.
pub fn repair<K: Addrs + Sysctls + ?Sized>(k: &mut K, running: &[Running], platform: &dyn Platform) -> Vec<String> {
    if running.iter().all(|r| owned(&r.spec).next().is_none()) {
        return Vec::new();
    }
    let live = match k.vmacs() {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "VMACs not read; none repaired");
            return Vec::new();
        }
    };
    // A VMAC whose parent is missing waits for it: its instance is in FAULT meanwhile.
    let parents = k.links().map(|l| l.into_keys().collect::<BTreeSet<String>>()).unwrap_or_default();
    let mut made = Vec::new();
    for r in running {
        for v in r.spec.vip_vmacs.iter().filter(|v| !live.iter().any(|l| v.is(l)) && parents.contains(&v.parent)) {
            // The instance tracks it (FAULT meanwhile); the tracker rebinds it to the new link.
            tracing::warn!(vmac = %v, instance = %r.spec.name, "VIP VMAC removed by hand; making it again (drift)");
            match ensure_one(k, &r.spec, v) {
                Ok(()) => made.push(v.name.clone()),
                Err(e) => tracing::error!(instance = %r.spec.name, error = %e, "VMAC not made again"),
            }
        }
        let Some(v) = r.spec.vmac.as_ref().filter(|v| !live.iter().any(|l| v.is(l)) && parents.contains(&v.parent))
        else {
            continue;
        };
        tracing::warn!(vmac = %v, instance = %r.spec.name, "VMAC removed by hand; making it again (drift)");
        if let Err(e) = ensure(k, std::slice::from_ref(&r.spec)) {
            tracing::error!(instance = %r.spec.name, error = %e, "VMAC not made again");
            continue;
        }
        match platform.wire(&r.spec) {
            Ok(wire) => {
                let update = Update { spec: r.spec.clone(), wire: Some(wire), sync: None, taken: None };
                r.control.send(Control::Reconfigure(Box::new(update)));
            }
            Err(e) => {
                tracing::error!(instance = %r.spec.name, error = %e, "adverts not reopened on the VMAC made again")
            }
        }
        made.push(v.name.clone());
    }
    made
}

/// Makes one VMAC of `s` exist again, with its settings.
fn ensure_one<K: Addrs + Sysctls + ?Sized>(k: &mut K, s: &InstanceSpec, v: &Vmac) -> KResult<()> {
    let live = k.vmacs()?;
    if let Some(old) = live.iter().find(|l| l.name == v.name && !v.is(l)) {
        k.del_vmac(old)?;
    }
    if !live.iter().any(|l| v.is(l)) {
        k.add_vmac(v)?;
        tracing::info!(vmac = %v, instance = %s.name, "VMAC made");
    }
    configure(k, s, v)
}

/// keepalived's settings of a VMAC, then up; an IPv6 VMAC that sends the adverts gets the
/// base interface's link-local address, their source. An ipvlan gets its address. A VIP's
/// VMAC is set as keepalived sets it (its `vrrp_t` stand-in has neither `vmac_xmit_base` nor
/// the other family's addresses), and an IPv6 one gets its base interface's link-local
/// address too.
fn configure<K: Addrs + Sysctls + ?Sized>(k: &mut K, s: &InstanceSpec, v: &Vmac) -> KResult<()> {
    let own = s.vmac.as_ref() == Some(v);
    let (other_family, xmit_base) = if own { (s.other_family_held(), s.xmit_base) } else { (false, false) };
    let all = match v.ipvlan {
        Some(_) => ipvlan_sysctls(v, s.is_v6() || s.other_family_held()),
        None => sysctls(v, other_family, xmit_base),
    };
    for (key, value) in all {
        match k.write(&key, value) {
            // A kernel without IPv6 has no net.ipv6 sysctls: nothing to turn off there.
            Err(e) if e.is(libc::ENOENT) && key.proc_path().starts_with("net/ipv6/") => {}
            other => other?,
        }
    }
    k.link_up(&v.name)?;
    if v.ipvlan.is_some() {
        ipvlan_address(k, s, v)?;
    }
    if (v.ipv6 || (v.ipvlan.is_some() && s.is_v6())) && !xmit_base {
        let base_ll = k.addresses()?.into_iter().find(|a| a.interface == v.parent && is_link_local(a));
        let Some(base_ll) = base_ll else {
            return Err(KernelError::errno("add link-local address to", v.to_string(), libc::EADDRNOTAVAIL)
                .with_hint(format!("{} has no IPv6 link-local address to send adverts from", v.parent)));
        };
        let mine = Address::plain(v.name.clone(), base_ll.address);
        if !k.addresses()?.iter().any(|a| a.key() == mine.key()) {
            k.add_address(&mine)?;
        }
    }
    Ok(())
}

/// An ipvlan's own address (keepalived's `use_ipvlan` address), the source of its adverts;
/// another one left by an earlier configuration (neither a VIP nor link-local) goes.
fn ipvlan_address<K: Addrs + ?Sized>(k: &mut K, s: &InstanceSpec, v: &Vmac) -> KResult<()> {
    let want = s.ipvlan_address.map(|net| Address::plain(v.name.clone(), net));
    let vips: BTreeSet<_> = s.vip_addresses().iter().map(Address::key).collect();
    let on: Vec<Address> = k.addresses()?.into_iter().filter(|a| a.interface == v.name).collect();
    for old in on.iter().filter(|a| !is_link_local(a) && !vips.contains(&a.key())) {
        if want.as_ref().is_none_or(|w| w.key() != old.key()) {
            k.del_address(old)?;
        }
    }
    match want {
        Some(w) if !on.iter().any(|a| a.key() == w.key()) => k.add_address(&w),
        _ => Ok(()),
    }
}

/// What keepalived sets on an ipvlan: IPv6 off unless the instance has IPv6 addresses
/// (its adverts' family, or excluded VIPs). It has its parent's MAC and ARP: nothing else.
pub fn ipvlan_sysctls(v: &Vmac, ipv6: bool) -> Vec<(SysctlKey, &'static str)> {
    let key = SysctlKey::from_parts(["net", "ipv6", "conf", v.name.as_str(), "disable_ipv6"]);
    vec![(key, if ipv6 { "0" } else { "1" })]
}

fn is_link_local(a: &Address) -> bool {
    matches!(a.address.addr(), std::net::IpAddr::V6(v6) if v6.is_unicast_link_local())
}

/// What keepalived sets on a VMAC (vrrp_if_config.c): IPv4: `arp_ignore=1` (it answers ARP
/// only for its own addresses), `accept_local=1`, `rp_filter=0` (it hears adverts while it
/// holds no address), `promote_secondaries=1`, and IPv6 off unless it holds IPv6 addresses
/// too; IPv6: `arp_ignore=1`. Both: no generated link-local address (the VRRP MAC is the
/// same on every member: theirs would clash).
///
/// One difference: with `xmit_base`, `accept_local=0`. The VMAC hears no adverts then,
/// and `accept_local=1` only makes it accept packets whose source is one of this host's
/// addresses: such as the new master's gratuitous ARP, sent from the VIP this old master
/// still holds for the moment it takes to hear the new master's first advert. The kernel
/// answers it from the VMAC, and switches learn the VRRP MAC at the old master's port;
/// with `xmit_base` no advert from the new master's VMAC corrects them.
pub fn sysctls(v: &Vmac, other_family: bool, xmit_base: bool) -> Vec<(SysctlKey, &'static str)> {
    let v4 = |leaf: &str| SysctlKey::ipv4_conf(&v.name, leaf);
    let v6 = |leaf: &str| SysctlKey::from_parts(["net", "ipv6", "conf", v.name.as_str(), leaf]);
    let mut out = vec![(v6("addr_gen_mode"), "1"), (v4("arp_ignore"), "1")];
    if !v.ipv6 {
        let accept_local = if xmit_base { "0" } else { "1" };
        out.extend([(v4("accept_local"), accept_local), (v4("rp_filter"), "0"), (v4("promote_secondaries"), "1")]);
        out.push((v6("disable_ipv6"), if other_family { "0" } else { "1" }));
    }
    out
}

/// Removes the VMACs of `gone` that are not in `kept` and that the kernel holds as VMACs;
/// a failure is logged (the instance is gone either way).
pub fn remove<K: Addrs + ?Sized>(k: &mut K, gone: &BTreeSet<Vmac>, kept: &BTreeSet<Vmac>) {
    let kept_names: BTreeSet<&str> = kept.iter().map(|v| v.name.as_str()).collect();
    let doomed: Vec<&Vmac> = gone.iter().filter(|v| !kept_names.contains(v.name.as_str())).collect();
    if doomed.is_empty() {
        return;
    }
    let live = match k.vmacs() {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "VMACs not read; none removed");
            return;
        }
    };
    for v in doomed {
        let Some(l) = live.iter().find(|l| l.name == v.name) else { continue };
        match k.del_vmac(l) {
            Ok(()) => {
                tracing::info!(vmac = %l, "VMAC removed");
                renotify(k, v);
            }
            Err(e) => tracing::error!(error = %e, "VMAC not removed"),
        }
    }
}

/// With `netlink_notify`, the parent's group set again (keepalived's `netlink_notify_msg`):
/// a parent without unicast filtering (a bridge, a veth) turns promiscuous for the VMAC,
/// and back once it is gone, without the kernel telling netlink listeners; this tells
/// them. A failure is logged: the VMAC works either way.
fn renotify<K: Addrs + ?Sized>(k: &mut K, v: &Vmac) {
    if !v.netlink_notify {
        return;
    }
    match k.renotify_link(&v.parent) {
        Ok(()) => tracing::debug!(vmac = %v, "parent's group set again for netlink listeners"),
        Err(e) => tracing::warn!(vmac = %v, error = %e, "parent's group not set again: netlink listeners not told"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::mem::MemKernel;
    use crate::model::net::Link;

    fn kernel() -> MemKernel {
        let mut k = MemKernel::default();
        k.state.links.insert("eth0".into(), Link::UP);
        let ll = Address::plain("eth0", "fe80::1/64".parse().unwrap());
        k.state.addresses.insert(ll.key(), ll);
        k
    }

    /// lb1's spec of an IPv6 instance, VRID 10, with a VMAC named `vm`.
    fn spec() -> InstanceSpec {
        let m = "version: 1
nodes:
  lb1: {roles: [director], addresses: [fd00::11/64], interface: eth0}
vrrp:
  VI_6:
    vrid: 10
    members: {lb1: {priority: 150}}
    vips: [fd00::100/64]
    vmac: {name: vm}
";
        let loaded = crate::manifest::parse("m.yaml", std::path::PathBuf::from("."), m.as_bytes()).unwrap();
        let cluster = crate::model::validate(&loaded, &crate::model::NoFacts).unwrap().cluster;
        crate::daemon::spec::specs(&cluster, "lb1").unwrap().remove(0)
    }

    fn vmac(name: &str, vrid: u8, ipv6: bool) -> Vmac {
        Vmac::vrrp(name, "eth0", vrid, ipv6)
    }

    #[test]
    fn the_vrrp_mac_and_keepalived_names() {
        let v = vmac("vrrp.51", 51, false);
        assert_eq!(v.mac_text(), "00:00:5e:00:01:33");
        assert_eq!(vmac("x", 255, true).mac(), [0, 0, 0x5e, 0, 2, 255]);
        assert_eq!(Vmac::from_mac("vrrp.51", "eth0", &v.mac()), Some(v));
        let own = Vmac::from_mac("mv0", "eth0", &[2, 0, 0x5e, 0, 1, 1]).unwrap();
        assert_eq!(own.mac.map(|m| m.to_string()).as_deref(), Some("02:00:5e:00:01:01"), "a MAC of its own");
        assert_eq!(Vmac::from_mac("mv0", "eth0", &[2, 0, 0x5e]), None, "not a MAC");
        assert_eq!((Vmac::default_name(7, false), Vmac::default_name(7, true)), ("vrrp.7".into(), "vrrp6.7".into()));
    }

    #[test]
    fn a_vmac_of_other_settings_is_replaced_and_an_ipv6_one_gets_the_base_link_local() {
        let mut k = kernel();
        k.add_vmac(&vmac("vm", 9, true)).unwrap();
        let want = vmac("vm", 10, true);
        assert_eq!(spec().vmac.as_ref(), Some(&want));
        assert_eq!(ensure(&mut k, &[spec()]).unwrap(), std::slice::from_ref(&want));
        assert_eq!(k.vmacs().unwrap(), [want]);
        assert_eq!(k.state.links.get("vm"), Some(&Link::UP));
        let on_vmac: Vec<String> =
            k.state.addresses.values().filter(|a| a.interface == "vm").map(|a| a.address.to_string()).collect();
        assert_eq!(on_vmac, ["fe80::1/64"], "the adverts' source");
        let key: SysctlKey = "net.ipv6.conf.vm.addr_gen_mode".parse().unwrap();
        assert_eq!(k.state.sysctls.get(&key).map(String::as_str), Some("1"));
    }

    #[test]
    fn with_xmit_base_an_ipv4_vmac_accepts_no_packet_from_a_local_source() {
        let v = vmac("vrrp.51", 51, false);
        let accept_local = |xmit_base| {
            let all = sysctls(&v, false, xmit_base);
            all.into_iter().find(|(k, _)| k.proc_path().ends_with("/accept_local")).map(|(_, value)| value)
        };
        assert_eq!(accept_local(false), Some("1"), "keepalived's, for adverts heard on the VMAC");
        assert_eq!(accept_local(true), Some("0"), "no answer to the new master's gratuitous ARP");
    }

    /// lb1's spec of an IPv4 instance with an ipvlan in vepa mode.
    fn ipvlan_spec(source: &str) -> InstanceSpec {
        let m = format!(
            "version: 1
nodes:
  lb1: {{roles: [director], addresses: [10.0.0.11/24], interface: eth0}}
vrrp:
  VI_4:
    vrid: 10
    members: {{lb1: {{priority: 150, ipvlan_address: 10.0.0.31{source}}}}}
    vips: [10.0.0.100/24]
    ipvlan: {{mode: vepa}}
"
        );
        let loaded = crate::manifest::parse("m.yaml", std::path::PathBuf::from("."), m.as_bytes()).unwrap();
        let cluster = crate::model::validate(&loaded, &crate::model::NoFacts).unwrap().cluster;
        crate::daemon::spec::specs(&cluster, "lb1").unwrap().remove(0)
    }

    #[test]
    fn an_ipvlan_has_keepalived_s_name_sends_from_its_address_and_gets_it_and_no_vip() {
        let s = ipvlan_spec("");
        let want = Vmac::ipvlan("vrrp.10", "eth0", crate::manifest::types::IpvlanMode::Vepa);
        assert_eq!(s.vmac.as_ref(), Some(&want));
        assert_eq!(s.advert_interface(), "vrrp.10", "the adverts go from the ipvlan");
        assert_eq!(s.vip_interface, "eth0", "the VIPs stay on the base, as keepalived holds them");
        assert_eq!(s.source, Some("10.0.0.31".parse().unwrap()), "from its address");
        assert_eq!(ipvlan_spec(", source: 10.0.0.11").source, Some("10.0.0.11".parse().unwrap()), "`source` wins");
        let mut k = kernel();
        assert_eq!(ensure(&mut k, std::slice::from_ref(&s)).unwrap(), std::slice::from_ref(&want));
        let on: Vec<String> =
            k.state.addresses.values().filter(|a| a.interface == "vrrp.10").map(|a| a.address.to_string()).collect();
        assert_eq!(on, ["10.0.0.31/32"], "a host prefix by default");
        assert_eq!(want.to_string(), "vrrp.10 (ipvlan l2 vepa on eth0)");
        let v6 = "net.ipv6.conf.vrrp/10.disable_ipv6".parse::<SysctlKey>().unwrap();
        assert_eq!(k.state.sysctls.get(&v6).map(String::as_str), Some("1"), "keepalived's: no IPv6 on an IPv4 one");
    }

    #[test]
    fn an_ipv6_ipvlan_without_an_address_sends_from_the_base_link_local() {
        let m = "version: 1
nodes:
  lb1: {roles: [director], addresses: [fd00::11/64], interface: eth0}
vrrp:
  VI_6:
    vrid: 10
    members: {lb1: {priority: 150}}
    vips: [fd00::100/64]
    ipvlan: {}
";
        let loaded = crate::manifest::parse("m.yaml", std::path::PathBuf::from("."), m.as_bytes()).unwrap();
        let cluster = crate::model::validate(&loaded, &crate::model::NoFacts).unwrap().cluster;
        let s = crate::daemon::spec::specs(&cluster, "lb1").unwrap().remove(0);
        assert_eq!((s.source, s.advert_interface()), (None, "vrrp6.10"), "the link-local source, on the ipvlan");
        let mut k = kernel();
        ensure(&mut k, std::slice::from_ref(&s)).unwrap();
        let on: Vec<String> =
            k.state.addresses.values().filter(|a| a.interface == "vrrp6.10").map(|a| a.address.to_string()).collect();
        assert_eq!(on, ["fe80::1/64"], "the base's link-local address");
        let v6 = "net.ipv6.conf.vrrp6/10.disable_ipv6".parse::<SysctlKey>().unwrap();
        assert_eq!(k.state.sysctls.get(&v6).map(String::as_str), Some("0"));
    }

    #[test]
    fn a_vmac_with_its_own_mac_and_group_is_made_with_them_and_netlink_notify_tells_of_the_parent() {
        let mut k = kernel();
        let mut s = spec();
        let own = crate::model::net::Mac([2, 0, 0, 0xa, 0, 1]);
        let want = Vmac { mac: Some(own), group: Some(7), netlink_notify: true, ..vmac("vm", 10, true) };
        s.vmac = Some(want.clone());
        assert_eq!(ensure(&mut k, std::slice::from_ref(&s)).unwrap(), std::slice::from_ref(&want));
        assert_eq!(k.vmacs().unwrap()[0].mac(), own.0);
        let told = |k: &MemKernel| k.history.iter().filter(|h| h.as_str() == "renotify link eth0").count();
        assert_eq!(told(&k), 1, "after it is made");
        assert!(ensure(&mut k, std::slice::from_ref(&s)).unwrap().is_empty(), "the same: left");
        assert_eq!(told(&k), 1, "nothing made, nothing told");
        let other_group = Vmac { group: Some(8), ..want.clone() };
        s.vmac = Some(other_group.clone());
        assert_eq!(ensure(&mut k, std::slice::from_ref(&s)).unwrap(), std::slice::from_ref(&other_group), "made again");
        remove(&mut k, &[other_group].into(), &BTreeSet::new());
        assert!(k.vmacs().unwrap().is_empty());
        assert_eq!(told(&k), 3, "after it is removed too");
    }

    #[test]
    fn only_a_vmac_no_longer_named_is_removed() {
        let mut k = kernel();
        let (a, b) = (vmac("a", 1, false), vmac("b", 2, false));
        k.add_vmac(&a).unwrap();
        k.add_vmac(&b).unwrap();
        let gone: BTreeSet<Vmac> = [a.clone(), b.clone()].into();
        let kept: BTreeSet<Vmac> = [vmac("b", 3, false)].into();
        remove(&mut k, &gone, &kept);
        assert_eq!(k.vmacs().unwrap(), [b], "b's name is still used: left to ensure");
    }
}
