//! keepalived's route option `encap` as a route's or a path's `encap`: `encap mpls L[/L...]`,
//! `encap ip [id N] [dst IP] [src IP] [tos T] [ttl N]`, `encap ip6 [id N] [dst IP] [src IP]
//! [tc T] [hoplimit N]`, each option a pair of words, as keepalived reads them. A 0 (id, tos,
//! ttl) is what the kernel does without the option, so it is left out. `ila` and the tunnel
//! `flags` (which keepalived sends in host byte order where the kernel reads network order)
//! are reported and leave the route out.

use std::iter::Peekable;

use crate::manifest::types::{EncapEntry, EncapType, Scalar};

/// The encapsulation after the word `encap`.
pub fn parse<'a>(it: &mut Peekable<impl Iterator<Item = &'a str>>) -> Result<EncapEntry, String> {
    let kind = it.next().ok_or("`encap` needs a type")?;
    let mut e =
        EncapEntry { kind: EncapType::Ip, labels: Vec::new(), id: None, dst: None, src: None, tos: None, ttl: None };
    let (tos, ttl) = match kind {
        "mpls" => {
            e.kind = EncapType::Mpls;
            let stack = it.next().ok_or("`encap mpls` needs its labels")?;
            e.labels = stack.split('/').map(label).collect::<Result<_, _>>()?;
            return Ok(e);
        }
        "ip" => ("tos", "ttl"),
        "ip6" => {
            e.kind = EncapType::Ip6;
            ("tc", "hoplimit")
        }
        _ => return Err(format!("`encap {kind}` is not an encapsulation the manifest has (mpls, ip, ip6)")),
    };
    while let Some(key) = it.next_if(|w| ["id", "dst", "src", tos, ttl, "flags"].contains(w)) {
        let v = it.next().ok_or_else(|| format!("`encap {kind} {key}` needs a value"))?;
        match key {
            "id" => e.id = Some(number(v, "encap id")?).filter(|n| *n != 0),
            "dst" => e.dst = Some(v.to_string()),
            "src" => e.src = Some(v.to_string()),
            "flags" => return Err(format!("`encap {kind} flags`: tunnel flags are not imported")),
            k if k == ttl => {
                let n = u8::try_from(number(v, k)?).map_err(|_| format!("{k} `{v}` is not 0..255"))?;
                e.ttl = Some(n).filter(|n| *n != 0);
            }
            k => {
                let n = number(v, k)?;
                e.tos = (n != 0).then(|| {
                    if v.starts_with("0x") {
                        Scalar::Text(v.to_string())
                    } else {
                        Scalar::Int(n.try_into().unwrap_or(i64::MAX))
                    }
                });
            }
        }
    }
    if e.id.is_none() && e.dst.is_none() {
        return Err(format!("`encap {kind}` without `id` or `dst`"));
    }
    Ok(e)
}

/// A whole number, decimal or `0x` hexadecimal (keepalived's `strtoul`).
fn number(v: &str, what: &str) -> Result<u64, String> {
    let n = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    };
    n.ok_or_else(|| format!("{what} `{v}` is not a number (names are not imported)"))
}

fn label(v: &str) -> Result<u32, String> {
    let n = number(v, "MPLS label")?;
    u32::try_from(n).ok().filter(|n| *n < 1 << 20).ok_or_else(|| format!("MPLS label `{v}` is beyond 20 bits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<EncapEntry, String> {
        let mut it = text.split_whitespace().peekable();
        let e = parse(&mut it);
        assert!(e.is_err() || it.next() == Some("via"), "{text}: stops at the route's next word");
        e
    }

    #[test]
    fn each_type_is_read_as_keepalived_reads_it() {
        let e = parsed("mpls 200/0x12c via").unwrap();
        assert_eq!((e.kind, e.labels), (EncapType::Mpls, vec![200, 300]));
        let e = parsed("ip id 7 dst 10.9.0.50 src 10.9.0.2 tos 0x10 ttl 64 via").unwrap();
        assert_eq!((e.id, e.dst.as_deref(), e.src.as_deref()), (Some(7), Some("10.9.0.50"), Some("10.9.0.2")));
        assert_eq!((e.tos, e.ttl), (Some(Scalar::Text("0x10".into())), Some(64)));
        let e = parsed("ip6 dst fd00::50 tc 184 hoplimit 0 id 0 via").unwrap();
        assert_eq!((e.kind, e.id, e.tos, e.ttl), (EncapType::Ip6, None, Some(Scalar::Int(184)), None));
        for (text, why) in [
            ("ila 1:2:3:4 via", "`encap ila` is not an encapsulation"),
            ("ip id 3 flags 4 via", "tunnel flags are not imported"),
            ("ip ttl 5 via", "without `id` or `dst`"),
            ("ip id 0 via", "without `id` or `dst`"),
            ("mpls 1048576 via", "beyond 20 bits"),
            ("ip6 id 1 tc af11 via", "tc `af11` is not a number"),
        ] {
            let err = parsed(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
