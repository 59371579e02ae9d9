//! The firewall-mark table through `nft`'s JSON interface (libnftables-json(5)): a write is
//! one JSON document fed to `nft -j -f -`, which nft sends as one netlink batch, so the
//! table is replaced whole or not at all; a read is `nft -j list table inet lbconverge`.
//! Only that table is ever named: other tables are neither listed nor touched.
//!
//! Why `nft -j` with our own JSON, and not a crate:
//! - The `nftables` crate (netavark's choice) also runs `nft -j`; what it adds is typed
//!   structs for the whole schema. Their strictness is the problem for reading back: a rule
//!   it does not model, or nft printing a field in a newer shape, fails the whole read
//!   (nftables-rs issues #6, #45, #111, #183, #225; netavark PR #959 narrowed its reads to
//!   its own table for that reason). Here a rule someone edited into our table by hand must
//!   not stop `plan`: it is read as foreign and replaced. `serde_json::Value` (a dependency
//!   already) reads anything, and the few expressions lbconverge writes are decoded by hand.
//! - Netlink crates (`rustables`, `nftnl`) would drop the `nft` binary, but then the
//!   expression bytecode, set elements with interval flags and the read-back decoding are
//!   ours to get right against every kernel; nft's translation is the one every nftables
//!   user runs. `nftnl` also needs the C libnftnl.
//! - Text for `nft -f` would do for writes (`flush` plus rules in one file is atomic too),
//!   but reading needs JSON anyway, and JSON needs no quoting of names.
//!
//! The cost: the `nftables` package (`nft`) must be installed on a director with marking
//! rules (the Debian package recommends it); without it the table reads as absent and a
//! write fails with that hint.

use std::io::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::family::Family;
use crate::kernel::{KResult, KernelError};
use crate::model::firewall::{self, AddrItem, AddrSet, DropRule, Hits, MarkRule, MarkTable, PortSet};
use crate::model::ipvs::Protocol;

/// How long one `nft` run may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// Where `nft` is looked for, in order (then `nft` through `PATH`).
const PROGRAMS: &[&str] = &["/usr/sbin/nft", "/sbin/nft"];

/// The table's name in errors.
fn object() -> String {
    format!("table inet {}", firewall::TABLE)
}

/// `nft` on this host.
#[derive(Debug, Default)]
pub struct Nft {
    program: Option<PathBuf>,
}

/// What one `nft` run gave.
struct Run {
    ok: bool,
    stdout: Vec<u8>,
    stderr: String,
}

impl Nft {
    fn program(&mut self) -> PathBuf {
        self.program
            .get_or_insert_with(|| {
                PROGRAMS.iter().map(PathBuf::from).find(|p| p.is_file()).unwrap_or_else(|| PathBuf::from("nft"))
            })
            .clone()
    }

    /// Runs `nft ARGS` with `input` on its standard input.
    fn run(&mut self, op: &str, args: &[&str], input: Option<&[u8]>) -> KResult<Run> {
        let program = self.program();
        let mut child = Command::new(&program)
            .args(args)
            .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                let missing = e.kind() == std::io::ErrorKind::NotFound;
                let err = KernelError::io(op, object(), e);
                if missing { err.with_hint("nft is not installed; try: apt-get install nftables") } else { err }
            })?;
        if let (Some(data), Some(mut stdin)) = (input, child.stdin.take()) {
            stdin.write_all(data).map_err(|e| KernelError::io(op, object(), e))?;
        }
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let out = match rx.recv_timeout(TIMEOUT) {
            Ok(r) => r.map_err(|e| KernelError::io(op, object(), e))?,
            Err(_) => {
                if let Ok(pid) = i32::try_from(pid) {
                    // SAFETY: kill has no memory-safety preconditions; the pid is our child's.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
                let e = std::io::Error::new(std::io::ErrorKind::TimedOut, format!("nft ran past {TIMEOUT:?}"));
                return Err(KernelError::io(op, object(), e));
            }
        };
        let stderr = String::from_utf8_lossy(&out.stderr).trim().lines().collect::<Vec<_>>().join(" / ");
        Ok(Run { ok: out.status.success(), stdout: out.stdout, stderr })
    }

    fn failed(op: &str, run: &Run) -> KernelError {
        let why = if run.stderr.is_empty() { "nft failed".to_string() } else { run.stderr.clone() };
        KernelError::io(op, object(), std::io::Error::other(why))
    }

    /// The table, like `nft -j list table inet lbconverge`; `None` when there is none (or
    /// when nft is not installed: then nothing here made one).
    pub fn table(&mut self) -> KResult<Option<MarkTable>> {
        let op = "list nftables";
        let run = match self.run(op, &["-j", "list", "table", "inet", firewall::TABLE], None) {
            Err(e) if e.source.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            r => r?,
        };
        if !run.ok {
            // nft says ENOENT in words only; whether the table exists is asked plainly.
            let tables = self.run(op, &["-j", "list", "tables", "inet"], None)?;
            let listing: Value = serde_json::from_slice(&tables.stdout).unwrap_or(Value::Null);
            if tables.ok && !has_table(&listing) {
                return Ok(None);
            }
            return Err(Self::failed(op, &run));
        }
        let listing: Value = serde_json::from_slice(&run.stdout)
            .map_err(|e| KernelError::io(op, object(), std::io::Error::other(format!("nft's JSON: {e}"))))?;
        Ok(Some(decode(&listing)))
    }

    /// Replaces the table with `table` in one transaction.
    pub fn replace(&mut self, table: &MarkTable) -> KResult<()> {
        self.apply("replace nftables", &transaction(Some(table)))
    }

    /// Deletes the table; ENOENT when there is none.
    pub fn delete(&mut self) -> KResult<()> {
        if self.table()?.is_none() {
            return Err(KernelError::errno("delete nftables", object(), libc::ENOENT));
        }
        self.apply("delete nftables", &transaction(None))
    }

    fn apply(&mut self, op: &str, doc: &Value) -> KResult<()> {
        let text = serde_json::to_vec(doc).map_err(|e| KernelError::io(op, object(), std::io::Error::other(e)))?;
        let run = self.run(op, &["-j", "-f", "-"], Some(&text))?;
        if run.ok { Ok(()) } else { Err(Self::failed(op, &run)) }
    }
}

fn has_table(listing: &Value) -> bool {
    items(listing).iter().any(|i| i.get("table").is_some_and(|t| t["family"] == "inet" && t["name"] == firewall::TABLE))
}

fn items(listing: &Value) -> &[Value] {
    listing.get("nftables").and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// The JSON document of one transaction: the table made sure to exist, deleted with all it
/// holds, and (with `table`) made again with its chain and rules. nft sends it as one
/// batch: no packet ever sees a table in between.
pub fn transaction(table: Option<&MarkTable>) -> Value {
    let t = json!({"family": "inet", "name": firewall::TABLE});
    let mut cmds = vec![json!({"add": {"table": t}}), json!({"delete": {"table": t}})];
    if let Some(table) = table {
        cmds.push(json!({"add": {"table": t}}));
        cmds.push(json!({"add": {"chain": {
            "family": "inet", "table": firewall::TABLE, "name": firewall::CHAIN,
            "type": "filter", "hook": "prerouting", "prio": firewall::PRIORITY, "policy": "accept"
        }}}));
        for r in &table.rules {
            cmds.push(json!({"add": {"rule": {
                "family": "inet", "table": firewall::TABLE, "chain": firewall::CHAIN,
                "comment": r.comment, "expr": encode_rule(r)
            }}}));
        }
        drops(&mut cmds, table);
    }
    json!({ "nftables": cmds })
}

/// The VRRP no-accept chains (input and output hooks) with their drops, the IPv6
/// neighbour discovery let through first; nothing without drops.
fn drops(cmds: &mut Vec<Value>, table: &MarkTable) {
    if table.drops.is_empty() {
        return;
    }
    for (chain, hook) in [(firewall::VRRP_IN, "input"), (firewall::VRRP_OUT, "output")] {
        cmds.push(json!({"add": {"chain": {
            "family": "inet", "table": firewall::TABLE, "name": chain,
            "type": "filter", "hook": hook, "prio": firewall::VRRP_PRIORITY, "policy": "accept"
        }}}));
        if table.has_v6_drops() {
            cmds.push(json!({"add": {"rule": {
                "family": "inet", "table": firewall::TABLE, "chain": chain,
                "comment": firewall::ND_COMMENT, "expr": nd_rule()
            }}}));
        }
        for d in table.drops.iter().filter(|d| d.chain() == chain) {
            cmds.push(json!({"add": {"rule": {
                "family": "inet", "table": firewall::TABLE, "chain": chain,
                "comment": d.comment, "expr": encode_drop(d)
            }}}));
        }
    }
}

/// `icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept`.
fn nd_rule() -> Vec<Value> {
    let types = json!({"set": ["nd-neighbor-solicit", "nd-neighbor-advert"]});
    vec![match_expr("==", json!({"payload": {"protocol": "icmpv6", "field": "type"}}), types), json!({"accept": null})]
}

/// A drop's expressions: the address match, a counter, `drop`.
pub fn encode_drop(d: &DropRule) -> Vec<Value> {
    let ip = match d.addresses.family {
        Family::Ipv4 => "ip",
        Family::Ipv6 => "ip6",
    };
    let field = if d.inbound { "daddr" } else { "saddr" };
    vec![
        match_expr("==", json!({"payload": {"protocol": ip, "field": field}}), addr_value(&d.addresses)),
        json!({"counter": {"packets": 0, "bytes": 0}}),
        json!({"drop": null}),
    ]
}

/// A drop as lbconverge writes it in `chain`; `None` for anything else.
pub fn decode_drop(chain: &str, rule: &Value) -> Option<DropRule> {
    let inbound = chain == firewall::VRRP_IN;
    let exprs = rule.get("expr")?.as_array()?;
    let [m, counter, verdict] = exprs.as_slice() else { return None };
    verdict.get("drop")?;
    let c = counter.get("counter")?;
    let n = |k: &str| c.get(k).and_then(Value::as_u64);
    let hits = Hits { packets: n("packets")?, bytes: n("bytes")? };
    let m = m.get("match")?;
    if m.get("op")?.as_str()? != "==" && m["op"] != "in" {
        return None;
    }
    let payload = m.get("left")?.get("payload")?;
    let family = match payload.get("protocol")?.as_str()? {
        "ip" => Family::Ipv4,
        "ip6" => Family::Ipv6,
        _ => return None,
    };
    if payload.get("field")?.as_str()? != if inbound { "daddr" } else { "saddr" } {
        return None;
    }
    let addresses = addr_set(family, m.get("right")?)?;
    let comment = rule.get("comment").and_then(Value::as_str).unwrap_or_default().to_string();
    Some(DropRule { comment, inbound, addresses, hits: Some(hits) })
}

fn is_nd_rule(rule: &Value) -> bool {
    rule.get("comment").and_then(Value::as_str) == Some(firewall::ND_COMMENT)
        && rule
            .get("expr")
            .and_then(Value::as_array)
            .is_some_and(|e| e.last().is_some_and(|v| v.get("accept").is_some()))
}

fn match_expr(op: &str, left: Value, right: Value) -> Value {
    json!({"match": {"op": op, "left": left, "right": right}})
}

fn one_or_set(mut values: Vec<Value>) -> Value {
    if values.len() == 1 { values.remove(0) } else { json!({ "set": values }) }
}

fn addr_value(s: &AddrSet) -> Value {
    one_or_set(
        s.items()
            .into_iter()
            .map(|i| match i {
                AddrItem::Addr(a) => json!(a.to_string()),
                AddrItem::Prefix(a, len) => json!({"prefix": {"addr": a.to_string(), "len": len}}),
                AddrItem::Range(a, b) => json!({"range": [a.to_string(), b.to_string()]}),
            })
            .collect(),
    )
}

fn port_value(p: &PortSet) -> Value {
    one_or_set(p.ranges().into_iter().map(|(a, b)| if a == b { json!(a) } else { json!({"range": [a, b]}) }).collect())
}

/// A rule's expressions: its matches, a counter, the mark, `accept`.
pub fn encode_rule(r: &MarkRule) -> Vec<Value> {
    let mut out = Vec::new();
    let l4 = json!({"meta": {"key": "l4proto"}});
    if let (Some(p), None, None) = (r.protocol, &r.ports, &r.not_ports) {
        out.push(match_expr("==", l4.clone(), json!(p.name())));
    }
    if let Some(p) = r.not_protocol {
        out.push(match_expr("!=", l4, json!(p.name())));
    }
    let ip = match r.family {
        Family::Ipv4 => "ip",
        Family::Ipv6 => "ip6",
    };
    for (field, is, not) in [("daddr", &r.destination, &r.not_destination), ("saddr", &r.source, &r.not_source)] {
        let left = json!({"payload": {"protocol": ip, "field": field}});
        if let Some(s) = is {
            out.push(match_expr("==", left.clone(), addr_value(s)));
        }
        if let Some(s) = not {
            out.push(match_expr("!=", left, addr_value(s)));
        }
    }
    let proto = r.protocol.map_or("th", Protocol::name);
    let dport = json!({"payload": {"protocol": proto, "field": "dport"}});
    if let Some(p) = &r.ports {
        out.push(match_expr("==", dport.clone(), port_value(p)));
    }
    if let Some(p) = &r.not_ports {
        out.push(match_expr("!=", dport, port_value(p)));
    }
    out.push(json!({"counter": {"packets": 0, "bytes": 0}}));
    out.push(json!({"mangle": {"key": {"meta": {"key": "mark"}}, "value": r.mark}}));
    out.push(json!({"accept": null}));
    out
}

/// The table as `nft -j list table inet lbconverge` lists it: the rules of the chain
/// lbconverge writes that it can read, and everything else as foreign.
pub fn decode(listing: &Value) -> MarkTable {
    let mut t = MarkTable::default();
    for item in items(listing) {
        let Some((kind, body)) = item.as_object().and_then(|o| o.iter().next()) else { continue };
        match kind.as_str() {
            "metainfo" | "table" => {}
            "chain" if is_our_chain(body) || is_vrrp_chain(body) => {}
            "chain" => t.foreign.push(format!("chain {}", compact(body))),
            "rule" if body["chain"] == firewall::CHAIN => match decode_rule(body) {
                Some(r) => t.rules.push(r),
                None => t.foreign.push(format!("rule {}", compact(body))),
            },
            "rule" if is_nd_rule(body) => {}
            "rule" if body["chain"] == firewall::VRRP_IN || body["chain"] == firewall::VRRP_OUT => {
                let chain = body["chain"].as_str().unwrap_or_default();
                match decode_drop(chain, body) {
                    Some(d) => t.drops.push(d),
                    None => t.foreign.push(format!("rule {}", compact(body))),
                }
            }
            other => t.foreign.push(format!("{other} {}", compact(body))),
        }
    }
    t
}

fn is_our_chain(c: &Value) -> bool {
    c["name"] == firewall::CHAIN
        && c["type"] == "filter"
        && c["hook"] == "prerouting"
        && c["prio"] == firewall::PRIORITY
        && c["policy"] == "accept"
}

fn is_vrrp_chain(c: &Value) -> bool {
    let hook = if c["name"] == firewall::VRRP_IN { "input" } else { "output" };
    (c["name"] == firewall::VRRP_IN || c["name"] == firewall::VRRP_OUT)
        && c["type"] == "filter"
        && c["hook"] == hook
        && c["prio"] == firewall::VRRP_PRIORITY
        && c["policy"] == "accept"
}

/// An item as one line of JSON without the kernel's handle, at most 300 bytes.
fn compact(v: &Value) -> String {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.retain(|k, _| !matches!(k.as_str(), "handle" | "family" | "table"));
    }
    let mut s = v.to_string();
    if s.len() > 300 {
        let mut end = 300;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("...");
    }
    s
}

/// One rule as lbconverge writes it; `None` for anything else.
pub fn decode_rule(rule: &Value) -> Option<MarkRule> {
    let exprs = rule.get("expr")?.as_array()?;
    let (last, body) = exprs.split_last()?;
    last.get("accept")?;
    let mut d = Decoded::default();
    for e in body {
        d.statement(e)?;
    }
    d.finish(rule.get("comment").and_then(Value::as_str).unwrap_or_default())
}

/// What a rule's statements said so far; each condition at most once.
#[derive(Default)]
struct Decoded {
    family: Option<Family>,
    protocol: Option<Protocol>,
    not_protocol: Option<Protocol>,
    implied: Option<Protocol>,
    destination: Option<AddrSet>,
    not_destination: Option<AddrSet>,
    source: Option<AddrSet>,
    not_source: Option<AddrSet>,
    ports: Option<PortSet>,
    not_ports: Option<PortSet>,
    mark: Option<u32>,
    hits: Option<Hits>,
}

/// Sets `slot` once; a second value is not a rule lbconverge writes.
fn once<T>(slot: &mut Option<T>, v: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(v);
    Some(())
}

impl Decoded {
    fn statement(&mut self, e: &Value) -> Option<()> {
        if let Some(m) = e.get("match") {
            return self.condition(m);
        }
        if let Some(c) = e.get("counter") {
            let n = |k: &str| c.get(k).and_then(Value::as_u64);
            return once(&mut self.hits, Hits { packets: n("packets")?, bytes: n("bytes")? });
        }
        let m = e.get("mangle")?;
        if m["key"]["meta"]["key"] != "mark" {
            return None;
        }
        once(&mut self.mark, u32::try_from(m.get("value")?.as_u64()?).ok()?)
    }

    fn condition(&mut self, m: &Value) -> Option<()> {
        let positive = match m.get("op")?.as_str()? {
            "==" | "in" => true,
            "!=" => false,
            _ => return None,
        };
        let (left, right) = (m.get("left")?, m.get("right")?);
        if left["meta"]["key"] == "l4proto" {
            let p = protocol(right)?;
            return once(if positive { &mut self.protocol } else { &mut self.not_protocol }, p);
        }
        let payload = left.get("payload")?;
        let (proto, field) = (payload.get("protocol")?.as_str()?, payload.get("field")?.as_str()?);
        match (proto, field) {
            ("ip" | "ip6", "daddr" | "saddr") => {
                let family = if proto == "ip" { Family::Ipv4 } else { Family::Ipv6 };
                if *self.family.get_or_insert(family) != family {
                    return None;
                }
                let set = addr_set(family, right)?;
                let slot = match (field, positive) {
                    ("daddr", true) => &mut self.destination,
                    ("daddr", false) => &mut self.not_destination,
                    (_, true) => &mut self.source,
                    (_, false) => &mut self.not_source,
                };
                once(slot, set)
            }
            (_, "dport") => {
                let implied = match proto {
                    "th" => None,
                    p => Some(protocol(&json!(p))?),
                };
                if let Some(p) = implied
                    && *self.implied.get_or_insert(p) != p
                {
                    return None;
                }
                once(if positive { &mut self.ports } else { &mut self.not_ports }, port_set(right)?)
            }
            _ => None,
        }
    }

    fn finish(self, comment: &str) -> Option<MarkRule> {
        let protocol = match (self.protocol, self.implied) {
            (Some(p), Some(i)) if p != i => return None,
            (p, i) => p.or(i),
        };
        if (self.ports.is_some() || self.not_ports.is_some()) && protocol.is_none() {
            return None;
        }
        Some(MarkRule {
            comment: comment.to_string(),
            mark: self.mark?,
            family: self.family?,
            protocol,
            not_protocol: self.not_protocol,
            destination: self.destination,
            not_destination: self.not_destination,
            source: self.source,
            not_source: self.not_source,
            ports: self.ports,
            not_ports: self.not_ports,
            hits: self.hits,
        })
    }
}

fn protocol(v: &Value) -> Option<Protocol> {
    match v {
        Value::String(s) => match s.as_str() {
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            "sctp" => Some(Protocol::Sctp),
            _ => None,
        },
        Value::Number(n) => Protocol::from_number(u16::try_from(n.as_u64()?).ok()?),
        _ => None,
    }
}

/// The elements of a value: a set's, or the value itself.
fn elements(v: &Value) -> Vec<&Value> {
    match v.get("set").and_then(Value::as_array) {
        Some(items) => items.iter().collect(),
        None => vec![v],
    }
}

fn addr_set(family: Family, v: &Value) -> Option<AddrSet> {
    let mut items = Vec::new();
    for e in elements(v) {
        let item = if let Some(s) = e.as_str() {
            AddrItem::Addr(s.parse::<IpAddr>().ok()?)
        } else if let Some(p) = e.get("prefix") {
            AddrItem::Prefix(p.get("addr")?.as_str()?.parse().ok()?, u8::try_from(p.get("len")?.as_u64()?).ok()?)
        } else {
            let r = e.get("range")?.as_array()?;
            AddrItem::Range(r.first()?.as_str()?.parse().ok()?, r.get(1)?.as_str()?.parse().ok()?)
        };
        items.push(item);
    }
    AddrSet::of(family, &items).ok()
}

fn port_set(v: &Value) -> Option<PortSet> {
    let port = |v: &Value| u16::try_from(v.as_u64()?).ok();
    let mut ranges = Vec::new();
    for e in elements(v) {
        match e.get("range").and_then(Value::as_array) {
            Some(r) => ranges.push((port(r.first()?)?, port(r.get(1)?)?)),
            None => ranges.push((port(e)?, port(e)?)),
        }
    }
    Some(PortSet::of(&ranges))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What nft 1.0.6 (Debian bookworm) listed for a table lbconverge wrote, plus a rule
    /// added by hand and a chain of someone else's.
    const LISTING: &str = r#"{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "lbconverge", "handle": 2}}, {"chain": {"family": "inet", "table": "lbconverge", "name": "prerouting", "handle": 1, "type": "filter", "hook": "prerouting", "prio": -150, "policy": "accept"}}, {"rule": {"family": "inet", "table": "lbconverge", "chain": "prerouting", "handle": 2, "comment": "services.https-inside.match[0]", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "192.168.10.101"}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "192.168.0.0", "len": 16}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 443}}, {"counter": {"packets": 7, "bytes": 420}}, {"mangle": {"key": {"meta": {"key": "mark"}}, "value": 200}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "lbconverge", "chain": "prerouting", "handle": 5, "comment": "x", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"set": [{"range": ["10.0.0.1", "10.0.0.9"]}, {"prefix": {"addr": "172.16.0.0", "len": 12}}, "192.168.10.100"]}}}, {"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "192.168.0.0", "len": 16}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": {"set": [53, {"range": [1000, 2000]}]}}}, {"match": {"op": "!=", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 1500}}, {"mangle": {"key": {"meta": {"key": "mark"}}, "value": 4294967295}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "lbconverge", "chain": "prerouting", "handle": 9, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "1.2.3.4"}}, {"counter": {"packets": 0, "bytes": 0}}]}}, {"chain": {"family": "inet", "table": "lbconverge", "name": "mine", "handle": 3}}]}"#;

    #[test]
    fn a_listing_reads_back_into_rules_and_foreign_items() {
        let t = decode(&serde_json::from_str(LISTING).unwrap());
        assert_eq!(t.rules.len(), 2, "{t:?}");
        assert_eq!(
            t.rules[0].nft_text(),
            "ip daddr 192.168.10.101 ip saddr 192.168.0.0/16 tcp dport 443 counter packets 7 bytes 420 meta mark set 200 accept comment \"services.https-inside.match[0]\""
        );
        assert_eq!(
            t.rules[1].to_string(),
            "ip daddr { 10.0.0.1-10.0.0.9, 172.16.0.0/12, 192.168.10.100 } ip saddr != 192.168.0.0/16 udp dport { 53, 1000-2000 } udp dport != 1500 -> mark 4294967295 (x)"
        );
        assert_eq!(t.foreign.len(), 2, "{:?}", t.foreign);
        assert!(t.foreign[0].starts_with("rule {\"chain\":\"prerouting\""), "{:?}", t.foreign);
        assert_eq!(t.foreign[1], "chain {\"name\":\"mine\"}");
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        let t = decode(&serde_json::from_str(LISTING).unwrap());
        let table = MarkTable { rules: t.rules.clone(), foreign: Vec::new(), drops: Vec::new() };
        let doc = transaction(Some(&table));
        let cmds = doc["nftables"].as_array().unwrap();
        assert_eq!(cmds.len(), 6, "add, delete, add table, chain, two rules");
        assert_eq!(cmds[1], json!({"delete": {"table": {"family": "inet", "name": "lbconverge"}}}));
        // What nft lists for a rule is what was sent, with a handle and the counter.
        for (i, r) in t.rules.iter().enumerate() {
            let sent = &cmds[4 + i]["add"]["rule"];
            let back = decode_rule(sent).unwrap();
            assert!(back.same(r), "{back:?}\n{r:?}");
        }
        assert_eq!(transaction(None)["nftables"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn a_dependency_nft_prints_or_hides_reads_the_same() {
        let rule = |exprs: &str| {
            decode_rule(&serde_json::from_str(&format!(r#"{{"comment": "c", "expr": [{exprs}, {{"mangle": {{"key": {{"meta": {{"key": "mark"}}}}, "value": 1}}}}, {{"accept": null}}]}}"#)).unwrap())
        };
        let daddr = r#"{"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "daddr"}}, "right": "2001:db8::1"}}"#;
        let tcp = r#"{"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "tcp"}}"#;
        let th = r#"{"match": {"op": "==", "left": {"payload": {"protocol": "th", "field": "dport"}}, "right": 443}}"#;
        let tcp_dport =
            r#"{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 443}}"#;
        let a = rule(&format!("{daddr}, {tcp}, {th}")).unwrap();
        let b = rule(&format!("{daddr}, {tcp_dport}")).unwrap();
        assert!(a.same(&b), "{a:?}\n{b:?}");
        assert_eq!(a.family, Family::Ipv6);
        assert!(rule(&format!("{daddr}, {th}")).is_none(), "ports without a protocol are not ours");
        let udp = r#"{"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": 17}}"#;
        assert!(rule(&format!("{daddr}, {udp}, {tcp_dport}")).is_none(), "udp and tcp dport contradict");
        assert!(rule(&format!("{daddr}, {daddr}")).is_none(), "a condition twice is not ours");
    }
}
