//! The names keepalived gives the VMACs of one file's instances written without one
//! (`use_vmac` alone), so that an imported director makes the links keepalived made.
//!
//! keepalived names them in the file's order: `PREFIX.VRID` (`PREFIX` is the global
//! `vmac_prefix`, default `vrrp`) unless a named VMAC or an earlier instance's has it, then
//! `PREFIX1.VRID`, `PREFIX2.VRID`, ...; an IPv6 instance tries `PREFIX6.VRID` second, then
//! 1 to 5 and 7 on. A name over 15 bytes loses the end of its prefix. (keepalived also skips a
//! name an interface of the host already has: the import cannot see the host, and the
//! manifest's `validate` refuses such a clash on the director.) lbconverge's own default is
//! `vrrp.VRID`, IPv6 `vrrp6.VRID`: the import writes keepalived's name only where it differs.

use std::collections::BTreeSet;

use super::vrrp::Instance;
use crate::model::net::Vmac;

/// Linux's longest interface name, in bytes.
const IFNAME_MAX: usize = 15;

/// Names the unnamed VMACs of `instances` (one file, in its order) as keepalived would.
pub fn settle(instances: &mut [Instance], prefix: Option<&str>) {
    let mut taken: BTreeSet<String> = instances.iter().filter_map(|i| i.vmac.as_ref()?.name.clone()).collect();
    let prefix = prefix.unwrap_or("vrrp");
    for i in instances.iter_mut() {
        let v6 = i.ipv6();
        let (Some(vrid), Some(vmac)) = (i.vrid.and_then(|v| u8::try_from(v).ok()), i.vmac.as_mut()) else {
            continue;
        };
        if vmac.name.is_some() {
            continue;
        }
        let name = first_free(prefix, vrid, v6, &taken);
        if name != Vmac::default_name(vrid, v6) {
            vmac.name = Some(name.clone());
        }
        taken.insert(name);
    }
}

/// keepalived's first free name for VRID.
fn first_free(prefix: &str, vrid: u8, v6: bool, taken: &BTreeSet<String>) -> String {
    (std::iter::once(None).chain(numbers(v6).map(Some)))
        .map(|n| fitted(prefix, n, vrid))
        .find(|name| !taken.contains(name))
        .unwrap_or_else(|| fitted(prefix, None, vrid))
}

/// The numbers tried after the plain prefix: IPv6 6 first, then 1 to 5 and 7 on; IPv4 1 on.
fn numbers(v6: bool) -> impl Iterator<Item = u32> {
    let first = if v6 { Some(6) } else { None };
    first.into_iter().chain((1..=255).filter(move |n| !(v6 && *n == 6)))
}

/// `PREFIX[N].VRID`, the prefix cut short to fit 15 bytes.
fn fitted(prefix: &str, n: Option<u32>, vrid: u8) -> String {
    let tail = match n {
        Some(n) => format!("{n}.{vrid}"),
        None => format!(".{vrid}"),
    };
    let room = IFNAME_MAX.saturating_sub(tail.len());
    let cut: String = prefix
        .chars()
        .scan(0, |len, c| {
            *len += c.len_utf8();
            (*len <= room).then_some(c)
        })
        .collect();
    format!("{cut}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn ipv4_takes_the_plain_name_then_numbers() {
        assert_eq!(first_free("vrrp", 51, false, &taken(&[])), "vrrp.51");
        assert_eq!(first_free("vrrp", 51, false, &taken(&["vrrp.51"])), "vrrp1.51");
        assert_eq!(first_free("vrrp", 51, false, &taken(&["vrrp.51", "vrrp1.51"])), "vrrp2.51");
    }

    #[test]
    fn ipv6_takes_the_plain_name_then_six_then_the_rest() {
        assert_eq!(first_free("vrrp", 7, true, &taken(&[])), "vrrp.7");
        assert_eq!(first_free("vrrp", 7, true, &taken(&["vrrp.7"])), "vrrp6.7");
        let five = ["vrrp.7", "vrrp6.7", "vrrp1.7", "vrrp2.7", "vrrp3.7", "vrrp4.7", "vrrp5.7"];
        assert_eq!(first_free("vrrp", 7, true, &taken(&five)), "vrrp7.7");
    }

    #[test]
    fn a_long_prefix_is_cut_to_fit() {
        assert_eq!(first_free("averyverylongprefix", 200, false, &taken(&[])), "averyverylo.200");
        assert_eq!(first_free("averyverylongprefix", 200, false, &taken(&["averyverylo.200"])), "averyveryl1.200");
    }
}
