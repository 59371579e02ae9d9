//! `ipvsadm -S -n` output (its rules, one per line) as services: what the director runs that
//! keepalived did not manage. Every line that cannot be read is an error naming its line.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use super::conf::{Loc, Source, SyntaxError};
use super::service::{self, Vs};
use super::value::Notes;
use crate::manifest::types::{Backend, Duration, Forwarding, Persistence, Protocol, Scalar, SchedulerFlag, Service};

/// Reads the rules; services in order of their `-A` line.
pub fn parse(src: &Source, notes: &mut Notes) -> Result<Vec<Vs>, SyntaxError> {
    let mut out: Vec<Vs> = Vec::new();
    for (n, line) in src.text.lines().enumerate() {
        let at = Loc { file: src.name.clone(), line: u32::try_from(n + 1).unwrap_or(u32::MAX), column: 1 };
        let words: Vec<&str> = line.split_whitespace().collect();
        let err = |message: String| SyntaxError { file: at.file.clone(), line: at.line, column: 1, message };
        match words.first() {
            None => {}
            Some(&"-A") => out.push(add_service(&words[1..], &at, notes).map_err(err)?),
            Some(&"-a") => add_server(&mut out, &words[1..], &at, notes).map_err(err)?,
            Some(w) => return Err(err(format!("`{w}`: expected a `-A` or `-a` rule as `ipvsadm -S -n` prints them"))),
        }
    }
    Ok(out)
}

/// Splits `-x value` pairs and lone flags.
fn options<'a>(words: &[&'a str]) -> BTreeMap<&'a str, Option<&'a str>> {
    let mut out = BTreeMap::new();
    let mut i = 0;
    while i < words.len() {
        let value = words.get(i + 1).filter(|v| !v.starts_with('-'));
        out.insert(words[i], value.copied());
        i += if value.is_some() { 2 } else { 1 };
    }
    out
}

/// The service a rule names: `(name, vip, port, protocol, fwmark)`.
fn service_key(o: &BTreeMap<&str, Option<&str>>) -> Result<(String, Service), String> {
    let mut s = service::empty();
    let spec = [("-t", Protocol::Tcp, "tcp"), ("-u", Protocol::Udp, "udp"), ("--sctp-service", Protocol::Sctp, "sctp")];
    for (flag, proto, word) in spec {
        if let Some(v) = o.get(flag) {
            let addr: SocketAddr = v.and_then(|v| v.parse().ok()).ok_or(format!("`{flag}` needs ADDRESS:PORT"))?;
            s.vip = Some(addr.ip().to_string());
            s.port = Some(u32::from(addr.port()));
            s.protocol = (proto != Protocol::Tcp).then_some(proto);
            return Ok((format!("{word}-{}-{}", addr.ip(), addr.port()), s));
        }
    }
    let mark = o.get("-f").copied().flatten().ok_or("no service: expected -t, -u, --sctp-service or -f")?;
    s.fwmark = Some(mark.parse().map_err(|_| format!("fwmark `{mark}` is not a number"))?);
    s.protocol = None;
    Ok((format!("fwmark-{mark}"), s))
}

fn add_service(words: &[&str], at: &Loc, notes: &mut Notes) -> Result<Vs, String> {
    let o = options(words);
    let (name, mut s) = service_key(&o)?;
    if let Some(sched) = o.get("-s").copied().flatten() {
        s.scheduler = Some(serde_json::from_value(sched.into()).map_err(|_| format!("unknown scheduler `{sched}`"))?);
    }
    if let Some(p) = o.get("-p") {
        let timeout = Duration::Text(format!("{}s", p.unwrap_or("300")));
        let granularity = o.get("-M").copied().flatten().map(|m| Scalar::Text(m.to_string()));
        s.persistence = Some(Persistence { timeout, granularity });
    }
    for f in o.get("-b").copied().flatten().unwrap_or_default().split(',').filter(|f| !f.is_empty()) {
        let flag: SchedulerFlag =
            serde_json::from_value(f.into()).map_err(|_| format!("unknown scheduler flag `{f}`"))?;
        s.scheduler_flags.push(flag);
    }
    s.one_packet = o.contains_key("-o").then_some(true);
    s.family = o.contains_key("-6").then_some(crate::family::Family::Ipv6);
    s.forwarding = None;
    for k in o.keys().filter(|k| !["-t", "-u", "--sctp-service", "-f", "-s", "-p", "-M", "-b", "-o", "-6"].contains(k))
    {
        notes.note(at, format!("ipvsadm option `{k}` is not imported: the manifest has no such setting"));
    }
    Ok(Vs { name, at: at.clone(), service: s, backend_at: BTreeMap::new() })
}

fn add_server(out: &mut [Vs], words: &[&str], at: &Loc, notes: &mut Notes) -> Result<(), String> {
    let o = options(words);
    let (name, _) = service_key(&o)?;
    let vs = out.iter_mut().find(|v| v.name == name).ok_or(format!("real server of `{name}` before its `-A` rule"))?;
    let r = o.get("-r").copied().flatten().ok_or("`-a` needs `-r SERVER`")?;
    let (ip, port) = match r.parse::<SocketAddr>() {
        Ok(a) => (a.ip(), Some(u32::from(a.port()))),
        Err(_) => (r.parse::<IpAddr>().map_err(|_| format!("`{r}` is not an address"))?, None),
    };
    let forwarding = match (o.contains_key("-g"), o.contains_key("-i")) {
        (true, _) => Forwarding::Dr,
        (_, true) => Forwarding::Tun,
        _ => Forwarding::Nat,
    };
    let weight: u32 =
        o.get("-w").copied().flatten().unwrap_or("1").parse().map_err(|_| "`-w` needs a number".to_string())?;
    for k in
        ["-x", "-y", "--tun-type"].iter().filter(|k| o.get(**k).is_some_and(|v| !matches!(v, Some("0") | Some("ipip"))))
    {
        notes.note(at, format!("ipvsadm option `{k}` is not imported: the manifest has no such setting"));
    }
    if vs.service.backends.is_empty() {
        vs.service.forwarding = Some(forwarding);
    }
    let mut b = Backend {
        address: None,
        port: port.filter(|p| Some(*p) != vs.service.port && *p != 0),
        weight: (weight != 1).then_some(weight),
        forwarding: (vs.service.forwarding != Some(forwarding)).then_some(forwarding),
        health_check: None,
        health_checks: None,
        inhibit_on_failure: None,
    };
    let name = service::backend_name(vs, ip, port, &mut b);
    vs.backend_at.insert(name.clone(), at.clone());
    vs.service.backends.insert(name, b);
    Ok(())
}
