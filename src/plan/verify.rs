//! A saved plan is checked like a manifest before `apply --plan` acts on it: the file is
//! what `plan --out` wrote (its digest), it is for this host (the node's addresses are
//! here), every change fits the live state and lbconverge's ownership (nothing neither
//! declared nor owned is altered or deleted), the order keeps the ARP-safe phases, and the
//! ledger it would store follows from its changes. Pure: the plan and the live state in,
//! the problems out.
//!
//! ```text
//! digest(&Plan)            -> "sha256:..."   of the plan's JSON with `digest` empty
//! verify(&Plan, &NodeState) -> Vec<String>   one sentence per problem, in change order
//! ```

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use super::order::phase;
use super::{Change, Plan};
use crate::model::firewall::MarkTable;
use crate::model::{Ledger, NodeState};

/// The digest a plan file carries: SHA-256 of its JSON with the `digest` field empty.
pub fn digest(p: &Plan) -> String {
    if p.digest.is_empty() {
        return digest_of(p);
    }
    let mut blank = p.clone();
    blank.digest = String::new();
    digest_of(&blank)
}

/// SHA-256 of `p`'s JSON as it is, written straight into the hash.
pub fn digest_of(p: &Plan) -> String {
    let mut hash = Hashing(Sha256::new());
    // Writing into a hash cannot fail, and a plan always serializes.
    let _ = serde_json::to_writer(&mut hash, p);
    let hex: String = hash.0.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// An `io::Write` that feeds a hash.
struct Hashing(Sha256);

impl std::io::Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything wrong with applying `p` to `live`; empty when it may be applied.
pub fn verify(p: &Plan, live: &NodeState) -> Vec<String> {
    let mut out = Vec::new();
    if p.digest != digest(p) {
        out.push("the file is not what `plan --out` wrote: its digest does not match its content".to_string());
    }
    out.extend(other_host(p, live));
    order(&mut out, p);
    for (i, c) in p.changes.iter().enumerate() {
        if let Err(why) = fits(c, live, &live.owned, &p.ledger) {
            out.push(format!("change {} ({c}): {why}", i + 1));
        }
    }
    ledger(&mut out, p, live);
    out
}

/// Why the plan is not for this host: it is for a node none of whose addresses `live`
/// holds. Checked before the fingerprint, so that such a plan is not called stale.
pub fn other_host(p: &Plan, live: &NodeState) -> Option<String> {
    let held = live.addresses.keys().any(|k| p.node_addresses.iter().any(|a| a.addr() == k.address.addr()));
    (!held).then(|| {
        let list: Vec<String> = p.node_addresses.iter().map(ToString::to_string).collect();
        format!("it was made for node `{}` ({}), and this host holds none of its addresses", p.node, list.join(", "))
    })
}

/// Whether `p` is what its manifest gives: `again`, planned from it against the same live
/// state, with the node's addresses from it. The first difference is the reason.
pub fn same_as(p: &Plan, again: &Plan, addresses: &[ipnet::IpNet]) -> Result<(), String> {
    let differs = |what: &str| Err(format!("its {what} are not what the manifest it carries gives on this host"));
    if p.node_addresses != addresses {
        return differs("node addresses");
    }
    if p.roles != again.roles {
        return differs("roles");
    }
    if p.changes != again.changes {
        let first = p
            .changes
            .iter()
            .zip(&again.changes)
            .position(|(a, b)| a != b)
            .unwrap_or(p.changes.len().min(again.changes.len()));
        let mine = p.changes.get(first).map_or("none".to_string(), ToString::to_string);
        let theirs = again.changes.get(first).map_or("none".to_string(), ToString::to_string);
        return Err(format!(
            "its changes are not what the manifest it carries gives on this host: change {} is `{mine}` in the file, `{theirs}` from the manifest ({} changes in the file, {} from the manifest)",
            first + 1,
            p.changes.len(),
            again.changes.len()
        ));
    }
    if p.ledger != again.ledger || p.adopted != again.adopted {
        return differs("ownership records (ledger)");
    }
    if p.notes != again.notes || p.summary != again.summary {
        return differs("notes");
    }
    Ok(())
}

/// The phases never go back (ARP settings before VIPs appear, after they leave).
fn order(out: &mut Vec<String>, p: &Plan) {
    for (i, pair) in p.changes.windows(2).enumerate() {
        if phase(&pair[1]) < phase(&pair[0]) {
            out.push(format!(
                "change {} ({}) comes after change {} ({}): not the ARP-safe order `plan` makes",
                i + 2,
                pair[1],
                i + 1,
                pair[0]
            ));
        }
    }
}

/// Whether one change can be made to `live` without touching what lbconverge neither
/// owns (`owned`) nor declares (`after`, the ledger after the plan).
fn fits(c: &Change, live: &NodeState, owned: &Ledger, after: &Ledger) -> Result<(), String> {
    let ours = |owned_now: bool, declared: bool| {
        if owned_now || declared { Ok(()) } else { Err("lbconverge neither owns nor declares it".to_string()) }
    };
    match c {
        Change::SetSysctl { key, from, .. } => {
            same(from.as_ref(), live.sysctls.get(key), "the value it replaces")?;
            // A sysctl that cannot be read yet (tunl0's before the link exists) has no
            // value to keep or damage, so the ledger does not list it.
            ours(from.is_none() || owned.sysctls.contains_key(key), after.sysctls.contains_key(key))
        }
        Change::LinkUp { interface, exists } => {
            if *exists == live.links.contains_key(interface) {
                Ok(())
            } else {
                Err(stale("the interface"))
            }
        }
        Change::AddAddress { address } => {
            absent(live.addresses.contains_key(&address.key()))?;
            ours(false, after.addresses.contains(&address.key()))
        }
        Change::ReplaceAddress { from, .. } => {
            same(Some(from), live.addresses.get(&from.key()), "the address it replaces")?;
            ours(owned.addresses.contains(&from.key()), after.addresses.contains(&from.key()))
        }
        Change::DelAddress { address } => {
            same(Some(address), live.addresses.get(&address.key()), "the address")?;
            deletable(owned.addresses.contains(&address.key()), after.addresses.contains(&address.key()))
        }
        Change::SetRoute { route, from } => {
            same(from.as_ref(), live.routes.get(&route.destination), "the route it replaces")?;
            ours(owned.routes.contains_key(&route.destination), after.routes.contains_key(&route.destination))
        }
        Change::DelRoute { route } => {
            same(Some(route), live.routes.get(&route.destination), "the route")?;
            deletable(owned.routes.contains_key(&route.destination), after.routes.contains_key(&route.destination))
        }
        Change::AddService { service } => {
            absent(live.services.contains_key(&service.key))?;
            ours(false, after.services.contains(&service.key))
        }
        Change::EditService { from, .. } => {
            let now = live.services.get(&from.key).map(|s| s.settings_only());
            same(Some(&from.settings_only()), now.as_ref(), "the service's settings")?;
            ours(owned.services.contains(&from.key), after.services.contains(&from.key))
        }
        Change::DelService { service } => {
            present(live.services.contains_key(&service.key))?;
            deletable(owned.services.contains(&service.key), after.services.contains(&service.key))
        }
        Change::AddDest { service, .. } | Change::EditDest { service, .. } | Change::DelDest { service, .. } => {
            ours(owned.services.contains(service), after.services.contains(service))
        }
        Change::SetSyncDaemon { state, from, .. } => {
            same(Some(from), live.sync_daemons.get(state), "the sync daemon it restarts")?;
            ours(owned.sync_daemons.contains(state), after.sync_daemons.contains(state))
        }
        Change::Announce { route } => {
            absent(live.announced.contains(route))?;
            ours(false, after.announced.contains(route))
        }
        Change::Withdraw { route } => {
            present(live.announced.contains(route))?;
            deletable(owned.announced.contains(route), after.announced.contains(route))
        }
        Change::StopSyncDaemon { state, config } => {
            same(Some(config), live.sync_daemons.get(state), "the sync daemon")?;
            deletable(owned.sync_daemons.contains(state), after.sync_daemons.contains(state))
        }
        Change::SetFirewall { from, .. } => {
            let now = live.firewall.as_ref().map(MarkTable::without_hits);
            same(from.as_ref().map(MarkTable::without_hits).as_ref(), now.as_ref(), "the nftables table")?;
            ours(owned.firewall, after.firewall)
        }
        Change::SetIpvsTimeouts { from, to } => {
            same(from.as_ref(), live.ipvs_timeouts.as_ref(), "the IPVS timeouts")?;
            // Every timeout it writes is owned now or declared after.
            let claimed =
                owned.ipvs_timeouts.unwrap_or_default().zip(&after.ipvs_timeouts.unwrap_or_default(), |o, a| o | a);
            let unclaimed = to.zip(&claimed, |t, c| if c == 0 { t } else { 0 });
            ours(unclaimed.is_unset(), false)
        }
        Change::DelFirewall { table } => {
            let now = live.firewall.as_ref().map(MarkTable::without_hits);
            same(Some(&table.without_hits()), now.as_ref(), "the nftables table")?;
            deletable(owned.firewall, after.firewall)
        }
    }
}

fn stale(what: &str) -> String {
    format!("{what} is not as the plan saw it on this host")
}

fn same<T: PartialEq>(planned: Option<&T>, live: Option<&T>, what: &str) -> Result<(), String> {
    if planned == live { Ok(()) } else { Err(stale(what)) }
}

fn absent(exists: bool) -> Result<(), String> {
    if exists { Err("it exists already".into()) } else { Ok(()) }
}

fn present(exists: bool) -> Result<(), String> {
    if exists { Ok(()) } else { Err("it does not exist".into()) }
}

/// A delete must remove something lbconverge owns and no longer declares.
fn deletable(owned_now: bool, declared: bool) -> Result<(), String> {
    match (owned_now, declared) {
        (true, false) => Ok(()),
        (_, true) => Err("the plan's own ledger still declares it".into()),
        (false, false) => Err("lbconverge does not own it; it is left alone".into()),
    }
}

/// The ledger after the plan claims nothing new that the plan neither makes, changes, nor
/// lists as adopted (declared and found in place), and keeps the values found before.
fn ledger(out: &mut Vec<String>, p: &Plan, live: &NodeState) {
    let (owned, after, adopted) = (&live.owned, &p.ledger, &p.adopted);
    let touched = touched(&p.changes);
    let mut claim = |object: String, known: bool| {
        if !known {
            out.push(format!("the ledger claims {object}, which lbconverge does not own and the plan does not make"));
        }
    };
    for k in after.services.iter().filter(|k| !owned.services.contains(k)) {
        claim(
            format!("ipvs service {k}"),
            touched.contains(&format!("ipvs service {k}")) || adopted.services.contains(k),
        );
    }
    for k in after.addresses.iter().filter(|k| !owned.addresses.contains(k)) {
        let name = format!("address {}", k.address);
        claim(name.clone(), touched.contains(&name) || adopted.addresses.contains(k));
    }
    for (dest, prior) in after.routes.iter().filter(|(d, _)| !owned.routes.contains_key(d)) {
        let name = format!("route {dest}");
        let known = touched.contains(&name) || adopted.routes.contains_key(dest);
        claim(name.clone(), known && prior.as_ref() == live.routes.get(dest));
    }
    for r in after.announced.iter().filter(|r| !owned.announced.contains(r)) {
        let name = format!("announced route {r}");
        claim(name.clone(), touched.contains(&name) || adopted.announced.contains(r));
    }
    for state in after.sync_daemons.iter().filter(|s| !owned.sync_daemons.contains(s)) {
        let name = format!("sync daemon {state}");
        claim(name.clone(), touched.contains(&name) || adopted.sync_daemons.contains(state));
    }
    if after.ipvs_timeouts.is_some() && owned.ipvs_timeouts.is_none() {
        let name = super::text::TIMEOUTS.to_string();
        claim(name.clone(), touched.contains(&name) || adopted.ipvs_timeouts.is_some());
    }
    if after.firewall && !owned.firewall {
        let name = super::text::FIREWALL.to_string();
        claim(name.clone(), touched.contains(&name) || adopted.firewall);
    }
    for (key, prior) in after.sysctls.iter() {
        let found = owned.sysctls.get(key).or(live.sysctls.get(key));
        let name = format!("sysctl {key}");
        let known = owned.sysctls.contains_key(key) || touched.contains(&name) || adopted.sysctls.contains_key(key);
        if !known || found != Some(prior) {
            out.push(format!("the ledger's value before lbconverge for {name} is not the one found on this host"));
        }
    }
}

/// The objects the changes create or alter, named like the ledger checks name them.
pub(crate) fn touched(changes: &[Change]) -> BTreeSet<String> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::SetSysctl { key, .. } => Some(format!("sysctl {key}")),
            Change::AddAddress { address } | Change::ReplaceAddress { to: address, .. } => {
                Some(format!("address {}", address.address))
            }
            Change::SetRoute { route, .. } => Some(format!("route {}", route.destination)),
            Change::AddService { service } | Change::EditService { to: service, .. } => {
                Some(format!("ipvs service {}", service.key))
            }
            Change::SetSyncDaemon { state, .. } => Some(format!("sync daemon {state}")),
            Change::Announce { route } => Some(format!("announced route {route}")),
            Change::SetFirewall { .. } => Some(super::text::FIREWALL.to_string()),
            Change::SetIpvsTimeouts { .. } => Some(super::text::TIMEOUTS.to_string()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::net::Address;
    use crate::model::{Health, NoFacts};

    /// Real server nginx01 of the DR example on a fresh host: ARP sysctls, then its VIP on lo.
    fn planned() -> (Plan, NodeState) {
        let text = include_str!("../../examples/lvs-dr-pair.yaml");
        let loaded = crate::manifest::parse("m.yaml", ".".into(), text.as_bytes()).unwrap();
        let cluster = crate::model::validate(&loaded, &NoFacts).unwrap().cluster;
        let empty = include_str!("../../examples/live/empty.yaml");
        let mut live: NodeState = serde_saphyr::from_str(empty).unwrap();
        let own = Address::plain("eth0", "172.16.40.21/24".parse().unwrap());
        live.addresses.insert(own.key(), own);
        let desired = crate::model::desired(&cluster, "nginx01", &Health::all_up()).unwrap();
        let mut p = super::super::plan(&desired, &live);
        p.stamp(
            cluster.nodes["nginx01"].addresses.clone(),
            &crate::manifest::revision::Revision::of(b"test"),
            Vec::new(),
        );
        p.pin_live(&live);
        p.seal();
        (p, live)
    }

    fn own_address(live: &NodeState) -> Address {
        live.addresses.values().find(|a| a.interface == "eth0").unwrap().clone()
    }

    #[test]
    fn a_plan_as_made_fits_the_host_it_was_made_on() {
        let (p, live) = planned();
        assert!(p.changes.iter().any(|c| matches!(c, Change::AddAddress { .. })), "{:?}", p.changes);
        assert_eq!(verify(&p, &live), Vec::<String>::new());
    }

    #[test]
    fn an_edited_file_fails_its_digest() {
        let (mut p, live) = planned();
        p.changes.pop();
        assert_eq!(
            verify(&p, &live)[0],
            "the file is not what `plan --out` wrote: its digest does not match its content"
        );
    }

    #[test]
    fn an_inserted_delete_of_the_nodes_own_address_is_refused() {
        let (mut p, live) = planned();
        p.changes.push(Change::DelAddress { address: own_address(&live) });
        p.seal();
        let got = verify(&p, &live);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].ends_with("lbconverge does not own it; it is left alone"), "{got:?}");
    }

    #[test]
    fn sysctls_moved_after_the_vip_break_the_arp_safe_order() {
        let (mut p, live) = planned();
        let first = p.changes.remove(0);
        assert!(matches!(first, Change::SetSysctl { .. }));
        let at = p.changes.iter().position(|c| matches!(c, Change::AddAddress { .. })).unwrap();
        p.changes.insert(at + 1, first);
        p.seal();
        let got = verify(&p, &live);
        assert!(got.iter().any(|g| g.contains("not the ARP-safe order")), "{got:?}");
    }

    #[test]
    fn a_sysctl_whose_from_was_edited_no_longer_fits() {
        let (mut p, live) = planned();
        let Some(Change::SetSysctl { from, .. }) = p.changes.iter_mut().find(|c| matches!(c, Change::SetSysctl { .. }))
        else {
            panic!("no sysctl change")
        };
        *from = Some("9".into());
        p.seal();
        let got = verify(&p, &live);
        assert!(
            got.iter().any(|g| g.ends_with("the value it replaces is not as the plan saw it on this host")),
            "{got:?}"
        );
    }

    #[test]
    fn a_ledger_claiming_an_unowned_address_is_refused() {
        let (mut p, live) = planned();
        p.ledger.addresses.insert(own_address(&live).key());
        p.seal();
        let got = verify(&p, &live);
        assert_eq!(
            got,
            ["the ledger claims address 172.16.40.21/24, which lbconverge does not own and the plan does not make"]
        );
    }

    #[test]
    fn a_plan_for_another_node_is_refused() {
        let (p, mut live) = planned();
        live.addresses.retain(|_, a| a.interface != "eth0");
        let got = verify(&p, &live);
        assert_eq!(
            got,
            ["it was made for node `nginx01` (172.16.40.21/24), and this host holds none of its addresses"]
        );
    }
}
