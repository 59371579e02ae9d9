//! Parsers for the strings a manifest holds: addresses, networks, durations, interface
//! names, netmasks, whole numbers written as numbers or text. Each returns a message fit for a problem report.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

use crate::manifest::types;

/// Parses `192.0.2.1/24` (a prefix is required).
pub fn net_with_prefix(s: &str) -> Result<IpNet, String> {
    if !s.contains('/') {
        return Err(format!("`{s}` needs a prefix length, like `{s}/24`"));
    }
    s.trim().parse::<IpNet>().map_err(|_| format!("`{s}` is not an address with prefix, like 192.0.2.10/24"))
}

/// Parses `192.0.2.1` or `192.0.2.1/24` (default: a host prefix).
pub fn vip(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    if s.contains('/') {
        return s.parse::<IpNet>().map_err(|_| format!("`{s}` is not an address, like 192.0.2.10 or 192.0.2.10/24"));
    }
    address(s).map(IpNet::from)
}

/// Parses a bare address.
pub fn address(s: &str) -> Result<IpAddr, String> {
    s.trim().parse::<IpAddr>().map_err(|_| format!("`{s}` is not an IP address"))
}

/// Parses a duration: `6s`, `500ms`, `1.5s`, `2m`, `1h`, or a number of seconds.
pub fn duration(d: &types::Duration) -> Result<Duration, String> {
    let (number, unit_ms) = match d {
        types::Duration::Seconds(s) => (*s, 1000.0),
        types::Duration::Text(t) => split_unit(t)?,
    };
    if !number.is_finite() || number < 0.0 || number * unit_ms > 1e12 {
        return Err(format!("{number} is not a usable duration"));
    }
    // In range (checked above): the float-to-integer cast is exact up to rounding.
    #[allow(clippy::cast_possible_truncation)]
    let micros = (number * unit_ms * 1000.0).round() as u64;
    Ok(Duration::from_micros(micros))
}

/// A duration in the manifest's own notation: `3s`, `500ms`, `1.5s` (the inverse of
/// [`duration`] for what it prints).
pub fn duration_text(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

fn split_unit(t: &str) -> Result<(f64, f64), String> {
    let t = t.trim();
    let bad = || format!("`{t}` is not a duration; write it like 6s, 500ms, 1.5s or 2m");
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    let number: f64 = num.parse().map_err(|_| bad())?;
    let unit_ms = match unit.trim() {
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return Err(bad()),
    };
    Ok((number, unit_ms))
}

/// Checks an interface name as the kernel would (IFNAMSIZ).
pub fn interface(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 15 {
        return Err(format!("interface name `{name}` must be 1 to 15 bytes long (it is {})", name.len()));
    }
    if name.chars().any(|c| c == '/' || c == ':' || c.is_whitespace()) || name == "." || name == ".." {
        return Err(format!("`{name}` is not a valid interface name (no '/', ':' or spaces)"));
    }
    // Linux allows more, but an interface's sysctls (net.ipv4.conf.<name>.*) must be
    // writable and readable back from a saved plan: letters, digits and - _ . @ + only.
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || "-_.@+".contains(*c))) {
        return Err(format!(
            "interface name `{}` has `{}`; lbconverge manages interfaces named with letters, digits and - _ . @ +",
            crate::manifest::yaml::shown(name),
            crate::manifest::yaml::shown(&c.to_string())
        ));
    }
    Ok(())
}

/// Checks an address label for an interface: `<iface>` or `<iface>:<suffix>`, at most 15 bytes.
pub fn label(label: &str, iface: &str) -> Result<(), String> {
    if label.len() > 15 {
        return Err(format!("label `{label}` is {} bytes; the kernel allows at most 15", label.len()));
    }
    if label != iface && !label.starts_with(&format!("{iface}:")) {
        return Err(format!("label `{label}` must start with `{iface}:`"));
    }
    Ok(())
}

/// Parses a persistence granularity: a dotted IPv4 mask or a prefix length.
pub fn granularity(g: &types::Scalar, v6: bool) -> Result<u8, String> {
    let max = if v6 { 128 } else { 32 };
    match g {
        types::Scalar::Int(n) => u8::try_from(*n)
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| format!("prefix length {n} is out of range 0..{max}")),
        types::Scalar::Text(t) => {
            let t = t.trim().trim_start_matches('/');
            if let Ok(n) = t.parse::<u8>() {
                return granularity(&types::Scalar::Int(i64::from(n)), v6);
            }
            let mask: std::net::Ipv4Addr =
                t.parse().map_err(|_| format!("`{t}` is not a netmask like 255.255.255.0 or a prefix length"))?;
            if v6 {
                return Err("an IPv6 service takes a prefix length, like 64".into());
            }
            ipnet::ipv4_mask_to_prefix(mask).map_err(|_| format!("`{t}` is not a contiguous netmask"))
        }
    }
}

/// A whole number written as a number, or as text in decimal or `0x` hexadecimal.
pub fn number(s: &types::Scalar) -> Option<u64> {
    match s {
        types::Scalar::Int(n) => u64::try_from(*n).ok(),
        types::Scalar::Text(t) => {
            let t = t.trim();
            match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => t.parse().ok(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let d = |s: &str| duration(&types::Duration::Text(s.into()));
        assert_eq!(d("6s"), Ok(Duration::from_secs(6)));
        assert_eq!(d("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(d("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(d("2m"), Ok(Duration::from_secs(120)));
        assert!(d("6x").is_err());
        assert!(d("s").is_err());
        assert_eq!(duration(&types::Duration::Seconds(3.0)), Ok(Duration::from_secs(3)));
        assert!(duration(&types::Duration::Seconds(-1.0)).is_err());
    }

    #[test]
    fn masks() {
        assert_eq!(granularity(&types::Scalar::Text("255.255.255.0".into()), false), Ok(24));
        assert_eq!(granularity(&types::Scalar::Int(64), true), Ok(64));
        assert!(granularity(&types::Scalar::Text("255.0.255.0".into()), false).is_err());
        assert!(granularity(&types::Scalar::Int(33), false).is_err());
    }
}
