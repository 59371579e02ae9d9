//! Interfaces that come and go under running VRRP instances, on the in-memory kernel: with
//! `dynamic_interfaces` an instance whose interface is missing starts in FAULT (its view
//! and `status` say which interface it waits for) and runs once the interface appears;
//! with or without the key, an interface deleted under a running instance puts it in FAULT
//! and its return lets it be master again, with its VIP. A VMAC whose parent is missing is
//! made once the parent appears. Without the key a missing interface still stops the start.

use std::time::Duration;

use super::{Daemon, MemPlatform, NODE, Scratch, Shared, held_on, host, start, vmacs, wait_for};
use crate::model::net::Link;

const VIP: &str = "10.0.1.100/24";

/// One v3 instance with 50 ms adverts on `eth1` holding VIP (on `vip_on`, when not eth1),
/// `extra` appended to it; the node has `dynamic_interfaces` when `dynamic`.
fn manifest(dynamic: bool, vip_on: Option<&str>, extra: &str) -> String {
    let key = if dynamic { "    dynamic_interfaces: true\n" } else { "" };
    let vip = match vip_on {
        Some(i) => format!("{{address: {VIP}, interface: {i}}}"),
        None => VIP.to_string(),
    };
    format!(
        "{NODE}{key}vrrp:
  VI_DYN:
    vrid: 30
    advert_interval: 50ms
    members:
      lb1: {{priority: 150, interface: eth1}}
    vips: [{vip}]
{extra}"
    )
}

fn view(d: &Daemon<Shared, MemPlatform>) -> crate::daemon::instance::View {
    d.instances()[0].view.lock().unwrap().clone()
}

/// Makes `name` (up), as `ip link add` and `ip link set up` do.
fn add_link(k: &Shared, name: &str) {
    k.lock().state.links.insert(name.into(), Link::UP);
}

/// Deletes `name` with its addresses, as the kernel does.
fn del_link(k: &Shared, name: &str) {
    let mut k = k.lock();
    k.state.links.remove(name);
    k.state.addresses.retain(|key, _| key.interface != name);
}

const LIMIT: Duration = Duration::from_secs(3);

/// Waits for FAULT for `interface` missing, as the view and `status` show it.
fn faults_for(d: &Daemon<Shared, MemPlatform>, interface: &str, what: &str) {
    let why = format!("interface {interface} does not exist");
    wait_for(what, LIMIT, || view(d).state == "FAULT" && view(d).waiting.as_deref() == Some(why.as_str()));
    assert_eq!(view(d).last_reason, why, "{what}: the transition's reason");
    let text = crate::daemon::status::text(&d.status());
    assert!(text.contains("VI_DYN (vrid 30): FAULT"), "{text}");
    assert!(text.contains(&format!("  waiting: {why}\n")), "{text}");
}

fn masters_on(d: &Daemon<Shared, MemPlatform>, k: &Shared, interface: &str, what: &str) {
    wait_for(what, LIMIT, || view(d).state == "MASTER" && held_on(k, interface, VIP));
    assert_eq!(view(d).waiting, None, "{what}: nothing waited for");
}

/// The master's eth1 deleted: FAULT, its VIP gone with the interface; made again: master
/// with its VIP on it.
fn deleted_and_made_again(d: &Daemon<Shared, MemPlatform>, k: &Shared) {
    del_link(k, "eth1");
    faults_for(d, "eth1", "FAULT with eth1 deleted");
    assert!(!held_on(k, "eth1", VIP));
    add_link(k, "eth1");
    masters_on(d, k, "eth1", "master with its VIP on eth1 made again");
}

#[test]
fn with_dynamic_interfaces_a_missing_interface_is_waited_for_in_fault_and_taken_when_it_appears() {
    let (s, k) = (Scratch::new("dynif"), host());
    s.write(&manifest(true, None, ""));
    let d = start(&s, &k);
    faults_for(&d, "eth1", "FAULT at start without eth1");
    assert_eq!(view(&d).transitions, 1, "INIT -> FAULT, never BACKUP");
    add_link(&k, "eth1");
    masters_on(&d, &k, "eth1", "master with its VIP once eth1 exists");
    deleted_and_made_again(&d, &k);
    d.stop();
}

#[test]
fn with_dynamic_interfaces_a_vips_own_missing_interface_is_waited_for_too() {
    let (s, k) = (Scratch::new("dynif-vip"), host());
    add_link(&k, "eth1");
    s.write(&manifest(true, Some("eth2"), ""));
    let d = start(&s, &k);
    faults_for(&d, "eth2", "FAULT at start without the VIP's eth2");
    add_link(&k, "eth2");
    masters_on(&d, &k, "eth2", "master with its VIP on eth2 once it exists");
    d.stop();
}

#[test]
fn with_dynamic_interfaces_a_vmac_waits_for_its_parent() {
    let (s, k) = (Scratch::new("dynif-vmac"), host());
    s.write(&manifest(true, None, "    vmac: {}\n"));
    let mut d = start(&s, &k);
    assert!(vmacs(&k).is_empty(), "no parent, no VMAC");
    faults_for(&d, "eth1", "FAULT at start without the VMAC's parent");
    assert!(d.repair_vmacs().is_empty(), "nothing to make without the parent");
    add_link(&k, "eth1");
    assert_eq!(d.repair_vmacs(), ["vrrp.30"], "made once the parent exists");
    masters_on(&d, &k, "vrrp.30", "master with its VIP on the VMAC");
    d.stop();
}

#[test]
fn without_the_key_an_interface_deleted_while_running_faults_the_instance_until_it_is_back() {
    let (s, k) = (Scratch::new("dynif-off"), host());
    add_link(&k, "eth1");
    s.write(&manifest(false, None, "    track_own_interface: false\n"));
    let d = start(&s, &k);
    masters_on(&d, &k, "eth1", "master at start");
    // Untracked own interface: what faults it is the socket's interface gone.
    deleted_and_made_again(&d, &k);
    d.stop();
}

#[test]
fn without_the_key_a_missing_interface_stops_the_start() {
    let (s, k) = (Scratch::new("dynif-refused"), host());
    s.write(&manifest(false, None, ""));
    let (events, _) = std::sync::mpsc::channel();
    let e = Daemon::start(s.opts(), k.clone(), MemPlatform::new(k.clone()), Default::default(), events).err().unwrap();
    assert!(e.to_string().contains("vrrp.VI_DYN.members.lb1: interface eth1 does not exist"), "{e}");
}
