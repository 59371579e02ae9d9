//! keepalived's `virtual_ipaddress` and `virtual_ipaddress_excluded` blocks: each line an
//! address and its options (`dev`, `label`, `brd`/`broadcast`, `scope`, `peer`, `home`,
//! `-nodad`, `mngtmpaddr`, `noprefixroute`, `autojoin`, `no_track`, `preferred_lft`), read into the
//! manifest's VIP entries; then the instance's family and version as keepalived settles
//! them (the first advertised VIP sets the family; an IPv6 instance runs version 3).

use super::conf::{Item, Loc};
use super::value::Notes;
use crate::manifest::types::{Scalar, VipEntry, VipSpec};

/// One VIP line, with the interface its `dev` names.
#[derive(Debug, Clone, PartialEq)]
pub struct VipLine {
    /// The address with its options; `interface` is settled by [`settle_interfaces`].
    pub spec: VipSpec,
    /// Where the line is.
    pub at: Loc,
}

/// The lines of a `virtual_ipaddress` or `virtual_ipaddress_excluded` block; an address
/// listed twice is kept once, as keepalived adds it once (its own sample file lists one
/// twice), with a warning.
pub fn block(item: &Item, notes: &mut Notes) -> Vec<VipLine> {
    let mut seen: std::collections::BTreeMap<String, u32> = std::collections::BTreeMap::new();
    let mut out = Vec::new();
    for it in item.children() {
        let addr = it.keyword.split_once('/').map_or(it.keyword.as_str(), |(a, _)| a).to_string();
        if let Some(first) = seen.get(&addr) {
            let msg = format!(
                "VIP {addr} is listed twice (first at line {first}); keepalived adds it once, and so does the manifest"
            );
            notes.note(&it.at, msg);
            continue;
        }
        seen.insert(addr, it.at.line);
        out.push(line(it, notes));
    }
    out
}

fn line(it: &Item, notes: &mut Notes) -> VipLine {
    let mut spec = VipSpec { address: it.keyword.clone(), ..VipSpec::default() };
    let mut rest = it.args.iter();
    while let Some(word) = rest.next() {
        let flag = match word.as_str() {
            "home" => &mut spec.home,
            "-nodad" => &mut spec.dad,
            "mngtmpaddr" => &mut spec.mngtmpaddr,
            "noprefixroute" => &mut spec.noprefixroute,
            "autojoin" => &mut spec.autojoin,
            "no_track" => &mut spec.no_track,
            _ => {
                valued(&mut spec, word, rest.next(), &it.at, notes);
                continue;
            }
        };
        *flag = Some(true);
    }
    if spec.peer.is_some() {
        host_only(&mut spec, &it.at, notes);
    }
    drop_ignored(&mut spec, &it.at, notes);
    deprecated_host(&mut spec);
    VipLine { spec, at: it.at.clone() }
}

/// keepalived gives an IPv6 host address (/128, or no prefix; with a peer, the peer's
/// prefix counts) written without `preferred_lft` a preferred lifetime of 0 (deprecated:
/// never picked as a source address); lbconverge keeps a VIP preferred unless told, so the
/// import writes the 0.
fn deprecated_host(spec: &mut VipSpec) {
    let prefixed = spec.peer.as_deref().unwrap_or(&spec.address);
    let len = prefixed.split_once('/').map_or("128", |(_, len)| len);
    if spec.address.contains(':') && len == "128" && spec.preferred_lft.is_none() {
        spec.preferred_lft = Some(Scalar::Int(0));
    }
}

/// Options keepalived or the kernel ignore on this address are left out, each with a
/// warning: the IPv6 ones on IPv4 (keepalived sends a lifetime for IPv6 only, the kernel
/// drops the flags), `brd` beside `peer` (keepalived drops it).
fn drop_ignored(spec: &mut VipSpec, at: &Loc, notes: &mut Notes) {
    let v4 = !spec.address.contains(':');
    let mut dropped = Vec::new();
    let slots = [("home", &mut spec.home), ("-nodad", &mut spec.dad), ("mngtmpaddr", &mut spec.mngtmpaddr)];
    for (word, slot) in slots {
        if v4 && slot.take().is_some() {
            dropped.push(word);
        }
    }
    if v4 && spec.preferred_lft.take().is_some() {
        dropped.push("preferred_lft");
    }
    if spec.peer.is_some() && spec.broadcast.take().is_some() {
        dropped.push("brd");
    }
    for word in dropped {
        let msg =
            format!("VIP {}: `{word}` not imported: keepalived or the kernel ignore it on this address", spec.address);
        notes.note(at, msg);
    }
}

/// An option with a value (`dev`, `label`, `brd`, `scope`, `peer`, `preferred_lft`).
fn valued(spec: &mut VipSpec, word: &str, value: Option<&String>, at: &Loc, notes: &mut Notes) {
    let slot = match word {
        "dev" => &mut spec.interface,
        "label" => &mut spec.label,
        "brd" | "broadcast" => &mut spec.broadcast,
        "peer" => &mut spec.peer,
        "scope" => return spec.scope = value.map(|s| number_or_name(s)),
        "preferred_lft" => return spec.preferred_lft = value.map(|s| number_or_name(s)),
        other => {
            let why = "the manifest has no such VIP option";
            notes.note(at, format!("VIP option `{other}` not imported ({why}); the VIP is imported without it"));
            return;
        }
    };
    *slot = value.cloned();
}

/// With a peer, keepalived ignores the address's own prefix (the peer's is used).
fn host_only(spec: &mut VipSpec, at: &Loc, notes: &mut Notes) {
    let Some((addr, len)) = spec.address.split_once('/') else { return };
    let host = if addr.contains(':') { "128" } else { "32" };
    if len != host {
        let msg = format!(
            "VIP {}: keepalived ignores the prefix of an address with a peer; imported as {addr}",
            spec.address
        );
        notes.note(at, msg);
    }
    spec.address = addr.to_string();
}

/// A scope or lifetime as the manifest writes it: a name stays a name, a number a number.
fn number_or_name(s: &str) -> Scalar {
    s.parse::<i64>().map_or_else(|_| Scalar::Text(s.to_string()), Scalar::Int)
}

/// The instance's VIP interface and each VIP's own: when every VIP names the same `dev`,
/// that is the instance's `vip_interface` (returned); otherwise each VIP keeps its `dev`,
/// except one equal to the advert `interface`.
pub fn settle_interfaces(lines: &mut [VipLine], interface: Option<&str>) -> Option<String> {
    let first = lines.first().and_then(|l| l.spec.interface.clone());
    let shared = first.filter(|f| lines.iter().all(|l| l.spec.interface.as_deref() == Some(f.as_str())));
    for l in lines.iter_mut() {
        if shared.is_some() || l.spec.interface.as_deref() == interface {
            l.spec.interface = None;
        }
    }
    shared.filter(|s| Some(s.as_str()) != interface)
}

/// A VIP line as a manifest entry: the bare address when it has no options.
pub fn entry(l: &VipLine) -> VipEntry {
    let s = &l.spec;
    let bare = VipSpec { address: s.address.clone(), ..VipSpec::default() };
    if *s == bare { VipEntry::Address(s.address.clone()) } else { VipEntry::Detailed(s.clone()) }
}

/// Splits the advertised lines as keepalived does: the first line's family is the
/// instance's, and a line of the other family is ignored by keepalived ("address family
/// must match VRRP instance"); lbconverge holds it as an excluded VIP and says so.
pub fn split_families(lines: Vec<VipLine>, notes: &mut Notes) -> (Vec<VipLine>, Vec<VipLine>) {
    let v6 = |l: &VipLine| l.spec.address.contains(':');
    let family = lines.first().map(v6);
    let (kept, other): (Vec<VipLine>, Vec<VipLine>) = lines.into_iter().partition(|l| Some(v6(l)) == family);
    for l in &other {
        notes.note(
            &l.at,
            format!(
                "VIP {} is not of the instance's family: keepalived ignores it; imported under `excluded_vips`, where lbconverge holds it (without advertising it)",
                l.spec.address
            ),
        );
    }
    (kept, other)
}

/// The version an instance runs: keepalived runs an IPv6 instance as version 3 unless
/// the instance itself says `version 2` (then it sends version-2 adverts over IPv6, which
/// no RFC defines and lbconverge does not; reported).
pub fn version(v6: bool, written: Option<(u32, Loc)>, global: u32, notes: &mut Notes) -> u32 {
    match (v6, written) {
        (false, Some((v, _))) => v,
        (false, None) => global,
        (true, Some((2, at))) => {
            notes.note(
                &at,
                "`version 2` on an IPv6 instance: keepalived runs it as version 3 when the line comes after the VIPs, and sends version-2 adverts over IPv6 (which no RFC defines) when it comes before; imported as version 3: check that the peers run version 3".into(),
            );
            3
        }
        (true, _) => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(keyword: &str, args: &[&str]) -> Item {
        Item {
            keyword: keyword.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            raw: String::new(),
            block: None,
            at: Loc { file: "k.conf".into(), line: 7, column: 9 },
        }
    }

    #[test]
    fn an_ipv6_host_vip_without_a_lifetime_is_deprecated_as_keepalived_makes_it() {
        let mut notes = Notes::default();
        let lft = |addr: &str, args: &[&str], notes: &mut Notes| line(&item(addr, args), notes).spec.preferred_lft;
        assert_eq!(lft("fd00::1", &[], &mut notes), Some(Scalar::Int(0)));
        assert_eq!(lft("fd00::1/128", &["dev", "eth1"], &mut notes), Some(Scalar::Int(0)));
        assert_eq!(lft("fd00::1/128", &["preferred_lft", "forever"], &mut notes), Some(Scalar::Text("forever".into())));
        assert_eq!(lft("fd00::1/64", &[], &mut notes), None);
        assert_eq!(lft("fd00::1", &["peer", "fd00::2/64"], &mut notes), None);
        assert_eq!(lft("fd00::1", &["peer", "fd00::2"], &mut notes), Some(Scalar::Int(0)));
        assert_eq!(lft("10.0.0.1", &[], &mut notes), None);
        assert!(notes.warnings.is_empty(), "{:?}", notes.warnings);
    }

    #[test]
    fn a_line_reads_dev_label_brd_and_scope_and_reports_the_rest() {
        let mut notes = Notes::default();
        let l = line(
            &item("10.0.0.5/24", &["dev", "eth1", "brd", "+", "label", "eth1:5", "scope", "link", "use_vmac"]),
            &mut notes,
        );
        assert_eq!(l.spec.interface.as_deref(), Some("eth1"));
        assert_eq!(l.spec.label.as_deref(), Some("eth1:5"));
        assert_eq!(l.spec.broadcast.as_deref(), Some("+"));
        assert_eq!(l.spec.scope, Some(Scalar::Text("link".into())));
        let said: Vec<String> = notes.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            said,
            [
                "k.conf:7: warning: VIP option `use_vmac` not imported (the manifest has no such VIP option); the VIP is imported without it"
            ]
        );
        assert_eq!(line(&item("10.0.0.6", &["scope", "253"]), &mut notes).spec.scope, Some(Scalar::Int(253)));
    }

    #[test]
    fn a_line_reads_peer_flags_no_track_and_lifetime_and_a_prefix_beside_a_peer_is_dropped() {
        let mut notes = Notes::default();
        let words = ["peer", "fd00::2", "home", "-nodad", "mngtmpaddr", "noprefixroute", "autojoin", "no_track"];
        let l = line(&item("fd00::1/64", &[&words[..], &["preferred_lft", "forever"]].concat()), &mut notes);
        let s = &l.spec;
        assert_eq!((s.address.as_str(), s.peer.as_deref()), ("fd00::1", Some("fd00::2")));
        let flags = [s.home, s.dad, s.mngtmpaddr, s.noprefixroute, s.autojoin, s.no_track];
        assert_eq!(flags, [Some(true); 6]);
        assert_eq!(s.preferred_lft, Some(Scalar::Text("forever".into())));
        let said: Vec<String> = notes.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            said,
            [
                "k.conf:7: warning: VIP fd00::1/64: keepalived ignores the prefix of an address with a peer; imported as fd00::1"
            ]
        );
        let l = line(&item("10.0.0.1/32", &["peer", "10.0.0.2", "noprefixroute"]), &mut notes);
        assert_eq!((l.spec.address.as_str(), l.spec.noprefixroute), ("10.0.0.1", Some(true)));
        assert_eq!(notes.warnings.len(), 1, "a host prefix beside a peer is no loss");
        let l = line(&item("10.0.0.3", &["peer", "10.0.0.4", "brd", "+", "home", "preferred_lft", "0"]), &mut notes);
        assert_eq!((l.spec.broadcast.clone(), l.spec.home, l.spec.preferred_lft.clone()), (None, None, None));
        let said: Vec<String> = notes.warnings.iter().skip(1).map(ToString::to_string).collect();
        let ignored = |w: &str| {
            format!(
                "k.conf:7: warning: VIP 10.0.0.3: `{w}` not imported: keepalived or the kernel ignore it on this address"
            )
        };
        assert_eq!(said, ["home", "preferred_lft", "brd"].map(ignored));
    }

    #[test]
    fn one_shared_dev_is_the_instance_vip_interface_else_each_keeps_its_own() {
        let mut notes = Notes::default();
        let mut same = vec![
            line(&item("10.0.0.5", &["dev", "eth1"]), &mut notes),
            line(&item("10.0.0.6", &["dev", "eth1"]), &mut notes),
        ];
        assert_eq!(settle_interfaces(&mut same, Some("eth0")).as_deref(), Some("eth1"));
        assert!(same.iter().all(|l| l.spec.interface.is_none()));
        let mut mixed = vec![
            line(&item("10.0.0.5", &["dev", "eth0"]), &mut notes),
            line(&item("10.0.0.6", &["dev", "eth2"]), &mut notes),
        ];
        assert_eq!(settle_interfaces(&mut mixed, Some("eth0")), None);
        assert_eq!(mixed.iter().map(|l| l.spec.interface.clone()).collect::<Vec<_>>(), [None, Some("eth2".into())]);
        assert_eq!(entry(&mixed[0]), VipEntry::Address("10.0.0.5".into()));
    }

    #[test]
    fn the_first_vip_sets_the_family_and_ipv6_runs_version_3() {
        let mut notes = Notes::default();
        let lines = ["10.0.0.5", "fd00::5", "10.0.0.6"].map(|a| line(&item(a, &[]), &mut notes)).to_vec();
        let (kept, other) = split_families(lines, &mut notes);
        assert_eq!(kept.len(), 2);
        assert_eq!(other[0].spec.address, "fd00::5");
        assert_eq!(notes.warnings.len(), 1);
        let at = Loc { file: "k.conf".into(), line: 3, column: 5 };
        assert_eq!(version(true, None, 2, &mut notes), 3);
        assert_eq!(version(false, None, 2, &mut notes), 2);
        assert_eq!(version(true, Some((2, at)), 2, &mut notes), 3);
        assert_eq!(notes.warnings.len(), 2);
    }
}
