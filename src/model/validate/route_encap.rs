//! A VRRP route's `encap` (keepalived's `encap mpls|ip|ip6 ...`): MPLS labels (1 to 30,
//! 20 bits each, not implicit null, which the kernel refuses in a label stack), or tunnel
//! metadata (`id` and/or `dst`, addresses of the encapsulation's own family, TOS and TTL
//! 1..255: the kernel reports 0 for one not set, so 0 could not be read back).

use std::net::IpAddr;

use crate::manifest::KeyPath;
use crate::manifest::types::{EncapEntry, EncapType};
use crate::model::net::{Encap, TunnelEncap};

use super::Cx;

/// The most labels the kernel pushes (`MAX_NEW_LABELS`).
const MAX_LABELS: usize = 30;
/// MPLS implicit null: assigned, never in a packet.
const IMPLICIT_NULL: u32 = 3;
/// The largest 20-bit label.
const MAX_LABEL: u32 = (1 << 20) - 1;

/// The encapsulation, or none with its errors reported.
pub(super) fn encap(cx: &mut Cx, at: &KeyPath, e: &EncapEntry) -> Option<Encap> {
    match e.kind {
        EncapType::Mpls => mpls(cx, at, e),
        EncapType::Ip => tunnel(cx, at, e, false).map(Encap::Ip),
        EncapType::Ip6 => tunnel(cx, at, e, true).map(Encap::Ip6),
    }
}

fn mpls(cx: &mut Cx, at: &KeyPath, e: &EncapEntry) -> Option<Encap> {
    let mut ok = only_for(cx, at, e, "mpls");
    if e.labels.is_empty() || e.labels.len() > MAX_LABELS {
        let msg = format!("an MPLS encapsulation pushes 1 to {MAX_LABELS} labels, not {}", e.labels.len());
        cx.error(&at.key("labels"), msg, Some("list the labels, outermost first: `labels: [200, 300]`"));
        ok = false;
    }
    for (n, l) in e.labels.iter().enumerate() {
        if *l > MAX_LABEL || *l == IMPLICIT_NULL {
            let msg = format!("{l} is not a label the kernel pushes");
            cx.error(&at.key("labels").index(n), msg, Some("a label is 0..1048575, but 3 (implicit null)"));
            ok = false;
        }
    }
    ok.then(|| Encap::Mpls(e.labels.clone()))
}

/// The settings of the other types are errors; true when there are none.
fn only_for(cx: &mut Cx, at: &KeyPath, e: &EncapEntry, kind: &str) -> bool {
    let (theirs, set) = if kind == "mpls" {
        let tunnel = [e.id.is_some(), e.dst.is_some(), e.src.is_some(), e.tos.is_some(), e.ttl.is_some()];
        ("`ip` and `ip6`", ["id", "dst", "src", "tos", "ttl"].into_iter().zip(tunnel).collect::<Vec<_>>())
    } else {
        ("`mpls`", vec![("labels", !e.labels.is_empty())])
    };
    let mut ok = true;
    for (key, _) in set.iter().filter(|(_, on)| *on) {
        let msg = format!("`{key}` is a setting of {theirs} encapsulation");
        cx.error(&at.key(key), msg, Some(&format!("remove it from this `{kind}` one")));
        ok = false;
    }
    ok
}

fn tunnel(cx: &mut Cx, at: &KeyPath, e: &EncapEntry, v6: bool) -> Option<TunnelEncap> {
    let kind = if v6 { "ip6" } else { "ip" };
    let mut ok = only_for(cx, at, e, kind);
    if e.id.is_none() && e.dst.is_none() {
        let hint = "give the tunnel key (`id`), the outer destination (`dst`), or both";
        cx.error(at, format!("an `{kind}` encapsulation needs `id` or `dst`"), Some(hint));
        ok = false;
    }
    if e.id == Some(0) {
        cx.error(&at.key("id"), "tunnel id 0 is no id", Some("use 1 and up, or leave `id` out and give `dst`"));
        ok = false;
    }
    let dst = e.dst.as_deref().map(|a| outer(cx, &at.key("dst"), a, v6));
    let src = e.src.as_deref().map(|a| outer(cx, &at.key("src"), a, v6));
    let tos = e.tos.as_ref().map(|t| {
        let n = super::parse::number(t).and_then(|n| u8::try_from(n).ok()).filter(|n| *n > 0);
        if n.is_none() {
            let msg = format!("`{}` is not an outer TOS value", t.render());
            cx.error(&at.key("tos"), msg, Some("a number 1..255, such as 0x10; leave it out for the tunnel's"));
        }
        n
    });
    if e.ttl == Some(0) {
        cx.error(&at.key("ttl"), "TTL 0 is the tunnel's own", Some("use 1..255, or leave `ttl` out"));
        ok = false;
    }
    let all = [dst, src].iter().all(|a| !matches!(a, Some(None))) && !matches!(tos, Some(None));
    (ok && all).then(|| TunnelEncap {
        id: e.id,
        dst: dst.flatten(),
        src: src.flatten(),
        tos: tos.flatten(),
        ttl: e.ttl,
    })
}

/// An outer address of the encapsulation's family, not unspecified.
fn outer(cx: &mut Cx, at: &KeyPath, text: &str, v6: bool) -> Option<IpAddr> {
    let family = if v6 { "`ip6` takes IPv6 addresses" } else { "`ip` takes IPv4 addresses" };
    match text.parse::<IpAddr>() {
        Ok(a) if a.is_ipv6() == v6 && !a.is_unspecified() => Some(a),
        Ok(a) if a.is_unspecified() => {
            cx.error(at, format!("{a} is no address"), Some("name the tunnel's end, or leave it out"));
            None
        }
        Ok(a) => {
            let hint = format!("{family}: use `type: {}` for this one", if v6 { "ip" } else { "ip6" });
            cx.error(at, format!("{a} is not of the encapsulation's family"), Some(&hint));
            None
        }
        Err(_) => {
            cx.error(at, format!("`{text}` is not an IP address"), Some("write the address alone, without a prefix"));
            None
        }
    }
}
