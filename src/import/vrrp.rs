//! keepalived's `global_defs`, `vrrp_script` and `vrrp_instance` blocks of one director's
//! file, read into manifest types with their locations.

use std::collections::BTreeMap;

use super::conf::{Item, Loc};
use super::value::{self, Notes};
use super::vips::{self, VipLine};
use crate::manifest::types::{
    AutoRealtime, ConnectionSync, Duration, InitFile, IpvlanMode, IpvsTimeouts, ParamMatch, TrackFile, TrackFileUse,
    TrackProcess, TrackProcessUse, TrackScript, TrackWeight, VipEntry, Vmac,
};

/// One director's `vrrp_instance`, as its file says it.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// The instance's name.
    pub name: String,
    /// Where the block starts.
    pub at: Loc,
    /// `virtual_router_id`.
    pub vrid: Option<u32>,
    /// `version` / `vrrp_version` (else the global one, else 2).
    pub version: u32,
    /// `interface`.
    pub interface: Option<String>,
    /// `advert_int`.
    pub advert: Option<Duration>,
    /// `priority` (default 100).
    pub priority: u32,
    /// False with `nopreempt`.
    pub preempt: bool,
    /// `preempt_delay`.
    pub preempt_delay: Option<Duration>,
    /// `auth_pass` of `auth_type PASS` or `AH`.
    pub password: Option<String>,
    /// `auth_type AH` (IPsec AH) rather than `PASS`.
    pub ah: bool,
    /// `unicast_src_ip` or `mcast_src_ip` (one setting in keepalived), the address alone.
    pub unicast_src: Option<String>,
    /// The prefix length written after `unicast_src_ip`'s address, if any.
    pub unicast_src_prefix: Option<String>,
    /// `unicast_peer { }` addresses.
    pub unicast_peers: Vec<String>,
    /// `virtual_ipaddress` addresses (with the prefix when written) and their options.
    pub vips: Vec<VipEntry>,
    /// `virtual_ipaddress_excluded`, and advertised VIPs of the other family.
    pub excluded: Vec<VipEntry>,
    /// The `dev` of the VIPs when it is not `interface`.
    pub vip_interface: Option<String>,
    /// `track_script` names with their weights and `reverse`.
    pub track_scripts: BTreeMap<String, TrackWeight>,
    /// `track_interface` names with their weights and `reverse`.
    pub track_interfaces: BTreeMap<String, TrackWeight>,
    /// `track_file` names with their weights and `reverse` where given.
    pub track_files: BTreeMap<String, TrackFileUse>,
    /// `track_process` names with their weights and `reverse` where given.
    pub track_processes: BTreeMap<String, TrackProcessUse>,
    /// `dont_track_primary`.
    pub dont_track_primary: bool,
    /// `virtual_routes`, as the manifest's routes.
    pub routes: Vec<crate::manifest::types::VrrpRouteEntry>,
    /// `virtual_rules`, as the manifest's rules.
    pub rules: Vec<super::rules::Rule>,
    /// Its announcement timing, as the manifest's keys.
    pub garp: super::garp::Keys,
    /// `notify_master` command.
    pub notify_master: Option<Vec<String>>,
    /// `notify_backup` command.
    pub notify_backup: Option<Vec<String>>,
    /// `notify_fault` command.
    pub notify_fault: Option<Vec<String>>,
    /// `notify_stop` command.
    pub notify_stop: Option<Vec<String>>,
    /// `notify` command.
    pub notify: Option<Vec<String>>,
    /// `notify_deleted`: `Some(None)` bare, `Some(Some(command))` with a script.
    pub notify_deleted: Option<Option<Vec<String>>>,
    /// `notify_master_rx_lower_pri` command.
    pub notify_master_rx_lower_pri: Option<Vec<String>>,
    /// `notify_priority_changes`; settled with the sync group's and the global one by
    /// the import of the notify FIFOs (`fifo.rs`).
    pub notify_priority_changes: Option<bool>,
    /// The global `lvs_sync_daemon`, when it names this instance.
    pub connection_sync: Option<ConnectionSync>,
    /// `smtp_alert` (with or without a boolean).
    pub alert: Option<bool>,
    /// `use_vmac [NAME]`, with `vmac_xmit_base`.
    pub vmac: Option<crate::manifest::types::Vmac>,
    /// `vmac_xmit_base`, where it was written.
    pub vmac_xmit_base: Option<Loc>,
    /// `use_ipvlan [NAME] [ADDRESS] [bridge|private|vepa]`: its name and mode.
    pub ipvlan: Option<crate::manifest::types::Ipvlan>,
    /// The address of `use_ipvlan`, as written.
    pub ipvlan_address: Option<String>,
    /// `use_vmac_addr`: a VMAC for each VIP off the instance's interface or of the other
    /// family.
    pub vip_vmacs: bool,
    /// `strict_mode`, else the global `vrrp_strict`.
    pub strict: bool,
    /// `accept` (true) or `no_accept` (false).
    pub accept: Option<bool>,
    /// The global `vrrp_startup_delay`.
    pub startup_delay: Option<Duration>,
    /// The global `vrrp_delay_after_boot`.
    pub startup_delay_after_boot: Option<Duration>,
}

impl Instance {
    /// Whether it is an IPv6 router: by its first VIP, else its advert source, else its
    /// first unicast peer (keepalived's order); IPv4 without any.
    pub fn ipv6(&self) -> bool {
        let vip = self.vips.first().map(VipEntry::address);
        (vip.or(self.unicast_src.as_deref()).or(self.unicast_peers.first().map(String::as_str)))
            .is_some_and(|a| a.contains(':'))
    }
}

/// keepalived's mail settings of `global_defs`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MailGlobals {
    /// `notification_email { }` addresses, with where the block is.
    pub to: Option<(Vec<String>, Loc)>,
    /// `notification_email_from`.
    pub from: Option<String>,
    /// `smtp_server` as `host[:port]`, with where it is.
    pub server: Option<(String, Loc)>,
    /// `smtp_helo_name`.
    pub helo: Option<String>,
    /// `smtp_connect_timeout`.
    pub connect_timeout: Option<Duration>,
    /// `smtp_alert`.
    pub alert: Option<bool>,
    /// `smtp_alert_vrrp`.
    pub alert_vrrp: Option<bool>,
    /// `smtp_alert_checker`.
    pub alert_checker: Option<bool>,
}

/// One director's `vrrp_sync_group`, as its file says it.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncGroupConf {
    /// The group's name.
    pub name: String,
    /// Where the block starts.
    pub at: Loc,
    /// `group { }`: its instances' names, in file order.
    pub instances: Vec<String>,
    /// `track_script` names with their weights and `reverse`.
    pub track_scripts: BTreeMap<String, TrackWeight>,
    /// `track_interface` names with their weights and `reverse`.
    pub track_interfaces: BTreeMap<String, TrackWeight>,
    /// `track_file` names with their weights and `reverse` where given.
    pub track_files: BTreeMap<String, TrackFileUse>,
    /// `track_process` names with their weights and `reverse` where given.
    pub track_processes: BTreeMap<String, TrackProcessUse>,
    /// `sync_group_tracking_weight` (or the obsolete `global_tracking`, which means it).
    pub tracking_weight: bool,
    /// `notify_master`, `notify_backup`, `notify_fault`, `notify_stop`, `notify`.
    pub notify: [Option<Vec<String>>; 5],
    /// `notify_priority_changes`.
    pub priority_changes: Option<bool>,
}

/// `vrrp_sync_group NAME { group { ... } notify* track_script track_interface track_file
/// track_process sync_group_tracking_weight }`.
pub fn sync_group(
    item: &Item,
    g: &Globals,
    script_weights: &BTreeMap<String, TrackWeight>,
    notes: &mut Notes,
) -> Option<SyncGroupConf> {
    let Some(name) = item.arg() else {
        notes.unsupported(item, "a vrrp_sync_group needs a name");
        return None;
    };
    let mut out = SyncGroupConf {
        name: name.to_string(),
        at: item.at.clone(),
        instances: Vec::new(),
        track_scripts: BTreeMap::new(),
        track_interfaces: BTreeMap::new(),
        track_files: BTreeMap::new(),
        track_processes: BTreeMap::new(),
        tracking_weight: false,
        notify: Default::default(),
        priority_changes: None,
    };
    const NOTIFY: [&str; 5] = ["notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"];
    for it in item.children() {
        match it.keyword.as_str() {
            "group" => {
                let names = it.children().iter().flat_map(|c| std::iter::once(&c.keyword).chain(&c.args));
                out.instances.extend(names.cloned());
            }
            "track_script" => out.track_scripts = tracked_scripts(it, script_weights, notes),
            "track_interface" => out.track_interfaces = tracked_interfaces(it, notes),
            "track_file" => out.track_files = used_files(it, notes),
            "track_process" => out.track_processes = used_processes(it, notes),
            "sync_group_tracking_weight" | "global_tracking" => out.tracking_weight = true,
            "notify_priority_changes" => out.priority_changes = Some(value::flag(it)),
            k => match NOTIFY.iter().position(|n| *n == k) {
                Some(n) => out.notify[n] = Some(notify(it, g, notes)),
                None => notes.unsupported(it, "a sync group setting the manifest has no field for"),
            },
        }
    }
    Some(out)
}

/// The global settings that matter to the import.
#[derive(Debug, Clone, Default)]
pub struct Globals {
    /// `router_id`, with where it is.
    pub router_id: Option<(String, Loc)>,
    /// `vrrp_version`.
    pub version: Option<u32>,
    /// `script_user`.
    pub script_user: Option<String>,
    /// `notification_email`, `smtp_server`, `smtp_alert*` and the rest of the mail settings.
    pub mail: MailGlobals,
    /// `lvs_sync_daemon IF INSTANCE ...`: the instance's name and its settings.
    pub sync: Option<(String, ConnectionSync, Loc)>,
    /// `lvs_timeouts`.
    pub timeouts: Option<IpvsTimeouts>,
    /// The announcement timing every instance takes unless it sets its own.
    pub garp: super::garp::Written,
    /// `garp_group`s: the gaps of their interfaces.
    pub garp_groups: Vec<super::garp::Group>,
    /// `vrrp_strict`.
    pub strict: bool,
    /// `vrrp_startup_delay`.
    pub startup_delay: Option<Duration>,
    /// `vrrp_delay_after_boot` (keepalived 2.3).
    pub startup_delay_after_boot: Option<Duration>,
    /// `max_auto_priority` above 0 (bare: 99).
    pub max_auto_priority: Option<u8>,
    /// `min_auto_priority_delay`, with where it is.
    pub min_auto_priority_delay: Option<(Duration, Item)>,
    /// The notify FIFOs and `vrrp_notify_priority_changes`.
    pub fifos: super::fifo_conf::Fifos,
    /// `dynamic_interfaces`.
    pub dynamic_interfaces: bool,
    /// `vmac_prefix`: the start of the names keepalived gives unnamed VMACs.
    pub vmac_prefix: Option<String>,
}

impl Globals {
    /// `max_auto_priority` and `min_auto_priority_delay` as the node's `auto_realtime`
    /// (the delay alone changes nothing in keepalived, and is said so).
    pub fn auto_realtime(&self, notes: &mut Notes) -> Option<AutoRealtime> {
        let delay = self.min_auto_priority_delay.as_ref();
        let Some(max) = self.max_auto_priority else {
            if let Some((_, it)) = delay {
                notes.met(it, AUTO_DELAY_ALONE);
            }
            return None;
        };
        Some(AutoRealtime { max_priority: (max != 99).then_some(max), delay: delay.map(|(d, _)| d.clone()) })
    }
}

/// Why a `min_auto_priority_delay` without `max_auto_priority` needs nothing written.
const AUTO_DELAY_ALONE: &str =
    "without `max_auto_priority` keepalived never raises its priority, and nor does lbconverge without `auto_realtime`";

/// Why `max_auto_priority 0` or `-1` needs nothing written.
const AUTO_OFF: &str = "0 and -1 leave keepalived's scheduling alone, as lbconverge does without `auto_realtime`";

/// Why lbconverge needs no `vrrp_skip_check_adv_addr`.
const SKIP_CHECK: &str = "lbconverge never compares an advert's addresses with its own VIPs (keepalived only logs a difference), as this asks";

/// Why lbconverge needs no `enable_script_security`.
const SCRIPT_SECURITY: &str = "lbconverge always runs commands by absolute path without a shell, and refuses manifests whose commands a non-root user could change";

/// Why `default_interface` needs nothing written.
const DEFAULT_INTERFACE: &str = "keepalived puts only `static_ipaddress`, `static_routes` and `static_rules` without `dev` on it (the import reports those); an instance's VIPs go on its own `interface`, which the manifest names";

/// Why `dynamic_interfaces allow_if_changes` needs nothing more than `dynamic_interfaces`.
const ALLOW_IF_CHANGES: &str = "lbconverge binds an instance to its interface by name, whatever its type or parent: a re-created interface of another kind is always taken";

/// `dynamic_interfaces [allow_if_changes]`: the node's `dynamic_interfaces`.
fn dynamic_interfaces(it: &Item, g: &mut Globals, notes: &mut Notes) {
    match it.args.as_slice() {
        [] => g.dynamic_interfaces = true,
        [a] if a == "allow_if_changes" => {
            g.dynamic_interfaces = true;
            notes.met_at("allow_if_changes", &it.at, ALLOW_IF_CHANGES);
        }
        _ => notes.note(&it.at, "`dynamic_interfaces` takes only `allow_if_changes`; not imported".into()),
    }
}

/// `global_defs { }`.
pub fn globals(item: &Item, g: &mut Globals, notes: &mut Notes) {
    for it in item.children() {
        match it.keyword.as_str() {
            "router_id" => g.router_id = it.arg().map(|a| (a.to_string(), it.at.clone())),
            "vrrp_version" => g.version = value::number(it, notes),
            "script_user" => g.script_user = it.arg().map(str::to_string),
            "enable_script_security" => notes.met(it, SCRIPT_SECURITY),
            "vrrp_skip_check_adv_addr" => notes.met(it, SKIP_CHECK),
            "default_interface" => notes.met(it, DEFAULT_INTERFACE),
            "dynamic_interfaces" => dynamic_interfaces(it, g, notes),
            "vmac_prefix" => g.vmac_prefix = value::name(it, notes),
            "net_namespace" => notes.note(&it.at, "`net_namespace` not imported: keepalived reads it only outside `global_defs` (at the top of the file) and ignores it here".into()),
            "max_auto_priority" => g.max_auto_priority = max_auto_priority(it, notes),
            "min_auto_priority_delay" => g.min_auto_priority_delay = microseconds(it, notes).map(|d| (d, it.clone())),
            "vrrp_strict" => g.strict = true,
            "vrrp_startup_delay" => g.startup_delay = value::seconds(it, notes),
            "vrrp_delay_after_boot" => g.startup_delay_after_boot = value::seconds(it, notes),
            "lvs_sync_daemon" => g.sync = lvs_sync_daemon(it, notes),
            "lvs_timeouts" => g.timeouts = Some(lvs_timeouts(it, notes)),
            "notification_email" => {
                g.mail.to = Some((it.children().iter().map(|c| c.keyword.clone()).collect(), it.at.clone()))
            }
            "notification_email_from" => g.mail.from = it.arg().map(str::to_string),
            "smtp_server" => g.mail.server = smtp_server(it, notes).map(|s| (s, it.at.clone())),
            "smtp_helo_name" => g.mail.helo = it.arg().map(str::to_string),
            "smtp_connect_timeout" => g.mail.connect_timeout = value::seconds(it, notes),
            "smtp_alert" => g.mail.alert = Some(value::flag(it)),
            "smtp_alert_vrrp" => g.mail.alert_vrrp = Some(value::flag(it)),
            "smtp_alert_checker" => g.mail.alert_checker = Some(value::flag(it)),
            _ if super::garp::global(it, &mut g.garp, notes) => {}
            _ if super::fifo_conf::global(it, &mut g.fifos) => {}
            _ => notes.unsupported(it, "a keepalived process setting; the manifest has no field for it"),
        }
    }
}

/// `max_auto_priority [-1..99]`: bare is the highest, 0 and -1 are off.
fn max_auto_priority(it: &Item, notes: &mut Notes) -> Option<u8> {
    match it.args.as_slice() {
        [] => Some(99),
        [n] => match n.parse::<i32>() {
            Ok(0 | -1) => {
                notes.met(it, AUTO_OFF);
                None
            }
            Ok(p) => match u8::try_from(p).ok().filter(|p| (1..=99).contains(p)) {
                Some(p) => Some(p),
                None => {
                    notes.unsupported(it, "a priority from -1 to 99 (keepalived ignores this one)");
                    None
                }
            },
            Err(_) => {
                notes.unsupported(it, "a priority from -1 to 99 (keepalived ignores this one)");
                None
            }
        },
        _ => {
            notes.unsupported(it, "one priority from -1 to 99");
            None
        }
    }
}

/// `min_auto_priority_delay USECS` (1 to 10,000,000) as a manifest duration.
fn microseconds(it: &Item, notes: &mut Notes) -> Option<Duration> {
    let us = it.arg().and_then(|a| a.parse::<u32>().ok()).filter(|us| (1..=10_000_000).contains(us));
    let Some(us) = us else {
        notes.unsupported(it, "microseconds from 1 to 10000000 (keepalived ignores this one)");
        return None;
    };
    Some(Duration::Text(match us {
        _ if us % 1_000_000 == 0 => format!("{}s", us / 1_000_000),
        _ if us % 1000 == 0 => format!("{}ms", us / 1000),
        _ => format!("{}ms", f64::from(us) / 1000.0),
    }))
}

/// `smtp_server ADDRESS|NAME [PORT]` as the manifest writes it: `host`, `host:port`,
/// `[IPv6]:port`.
fn smtp_server(it: &Item, notes: &mut Notes) -> Option<String> {
    let (host, port) = match it.args.as_slice() {
        [host] => (host, None),
        [host, port] => (host, Some(port)),
        _ => {
            notes.note(&it.at, "`smtp_server` needs an address or name and an optional port; not imported".into());
            return None;
        }
    };
    let host = if host.contains(':') { format!("[{host}]") } else { host.clone() };
    Some(match port {
        Some(p) => format!("{host}:{p}"),
        None if host.starts_with('[') => format!("{host}:25"),
        None => host,
    })
}

/// `lvs_sync_daemon IF INSTANCE [SYNCID] [id N] [maxlen N] [port N] [ttl N] [group IP]`
/// (the bare third word is the older spelling of `id`). Without an id keepalived uses the
/// instance's VRID, as the manifest does, so none is written.
fn lvs_sync_daemon(it: &Item, notes: &mut Notes) -> Option<(String, ConnectionSync, Loc)> {
    let [interface, instance, rest @ ..] = it.args.as_slice() else {
        notes.note(&it.at, "`lvs_sync_daemon` needs an interface and a VRRP instance; not imported".into());
        return None;
    };
    let mut c = ConnectionSync {
        interface: Some(interface.clone()),
        sync_id: None,
        max_packet_length: None,
        group: None,
        port: None,
        ttl: None,
    };
    let mut words = rest.iter().peekable();
    if let Some(id) = words.next_if(|w| w.parse::<u32>().is_ok()) {
        c.sync_id = id.parse().ok();
    }
    while let Some(key) = words.next() {
        let value = words.next().map(String::as_str).unwrap_or_default();
        let number = || value.parse::<u32>().ok();
        let ok = match key.as_str() {
            "id" => number().map(|v| c.sync_id = Some(v)),
            "maxlen" => number().map(|v| c.max_packet_length = Some(v)),
            "port" => number().map(|v| c.port = Some(v)),
            "ttl" => number().map(|v| c.ttl = Some(v)),
            "group" => {
                c.group = Some(value.to_string());
                Some(())
            }
            _ => None,
        };
        if ok.is_none() {
            notes.note(&it.at, format!("`lvs_sync_daemon`: `{key} {value}` not understood; left out"));
        }
    }
    Some((instance.clone(), c, it.at.clone()))
}

/// `lvs_timeouts [tcp N] [tcpfin N] [udp N]`, in seconds (the director's
/// `ipvs_timeouts`).
fn lvs_timeouts(it: &Item, notes: &mut Notes) -> IpvsTimeouts {
    let mut t = IpvsTimeouts::default();
    for pair in it.args.chunks(2) {
        let seconds = pair.get(1).filter(|v| v.parse::<u32>().is_ok()).map(|v| Duration::Text(format!("{v}s")));
        let slot = match pair[0].as_str() {
            "tcp" => &mut t.tcp,
            "tcpfin" => &mut t.tcp_fin,
            "udp" => &mut t.udp,
            _ => {
                notes.note(&it.at, format!("`lvs_timeouts`: `{}` not understood; left out", pair.join(" ")));
                continue;
            }
        };
        if seconds.is_none() {
            notes.note(&it.at, format!("`lvs_timeouts`: `{}` needs whole seconds; left out", pair.join(" ")));
        }
        *slot = seconds;
    }
    t
}

/// `vrrp_script NAME { }` (its `weight` is read by [`script_default`]).
pub fn script(item: &Item, notes: &mut Notes) -> Option<(String, TrackScript)> {
    let name = value::name(item, notes)?;
    let mut s =
        TrackScript { command: Vec::new(), interval: None, timeout: None, rise: None, fall: None, init_fail: None };
    for it in item.children() {
        match it.keyword.as_str() {
            "script" => s.command = value::command(it, notes),
            "interval" => s.interval = value::seconds(it, notes),
            "timeout" => s.timeout = value::seconds(it, notes),
            "rise" => s.rise = value::number(it, notes),
            "fall" => s.fall = value::number(it, notes),
            "init_fail" => s.init_fail = Some(true),
            "weight" => {
                if script_weight(it, notes).is_none() {
                    notes.unsupported(it, "`weight W [reverse]` with W from -253 to 253");
                }
            }
            _ => notes.unsupported(it, "not a `vrrp_script` setting the manifest has"),
        }
    }
    if s.command.is_empty() {
        notes.note(&item.at, format!("vrrp_script `{name}` has no `script`; not imported"));
        return None;
    }
    Some((name, s))
}

/// `track_file NAME { file PATH; weight W [reverse]; init_file [VALUE] [overwrite] }`.
pub fn track_file(item: &Item, notes: &mut Notes) -> Option<(String, TrackFile)> {
    let name = value::name(item, notes)?;
    let mut f = TrackFile { path: String::new(), weight: None, reverse: None, init_file: None };
    for it in item.children() {
        match (it.keyword.as_str(), it.args.as_slice()) {
            ("file", [p]) => f.path.clone_from(p),
            ("weight", [w, rest @ ..]) if rest.iter().all(|r| r == "reverse") => {
                f.weight = weight(it, w, notes);
                f.reverse = (!rest.is_empty()).then_some(true);
            }
            ("init_file", words) => f.init_file = init_file(it, words, notes),
            _ => notes.unsupported(it, "not a `track_file` setting the manifest has"),
        }
    }
    if f.path.is_empty() {
        notes.note(&item.at, format!("track_file `{name}` has no `file`; not imported"));
        return None;
    }
    Some((name, f))
}

/// A track file weight, -254..254.
fn weight(it: &Item, w: &str, notes: &mut Notes) -> Option<i32> {
    match w.parse::<i32>() {
        Ok(n) if (-254..=254).contains(&n) => Some(n),
        _ => {
            notes.unsupported(it, "a weight from -254 to 254");
            None
        }
    }
}

/// `init_file [VALUE] [overwrite]`.
fn init_file(it: &Item, words: &[String], notes: &mut Notes) -> Option<InitFile> {
    let mut out = InitFile { value: None, overwrite: None };
    for w in words {
        match (w.as_str(), w.parse::<i32>()) {
            ("overwrite", _) => out.overwrite = Some(true),
            (_, Ok(n)) => out.value = Some(n),
            _ => notes.unsupported(it, "`init_file` takes a number and `overwrite`"),
        }
    }
    Some(out)
}

/// An instance's or a sync group's `track_file { NAME [weight W [reverse|noreverse]] }`.
fn used_files(item: &Item, notes: &mut Notes) -> BTreeMap<String, TrackFileUse> {
    let mut out = BTreeMap::new();
    for it in item.children() {
        let mut u = TrackFileUse { weight: None, reverse: None };
        match it.args.as_slice() {
            [] => {}
            [k, w, rest @ ..] if k == "weight" && rest.len() <= 1 => {
                u.weight = weight(it, w, notes);
                match rest.first().map(String::as_str) {
                    Some("reverse") => u.reverse = Some(true),
                    Some("noreverse") => u.reverse = Some(false),
                    None => {}
                    Some(_) => notes.unsupported(it, "`reverse` or `noreverse` after the weight"),
                }
            }
            _ => notes.unsupported(it, "a track file name, then `weight W` and `reverse`"),
        }
        out.insert(it.keyword.clone(), u);
    }
    out
}

/// `vrrp_track_process NAME { process PATH_OR_NAME [ARGS...]; param_match [initial|partial];
/// weight W [reverse]; quorum N; quorum_max M; fork_delay S; terminate_delay S; delay S;
/// full_command }`.
pub fn track_process(item: &Item, notes: &mut Notes) -> Option<(String, TrackProcess)> {
    let name = value::name(item, notes)?;
    let mut p = TrackProcess {
        process: String::new(),
        args: None,
        param_match: None,
        full_command: None,
        weight: None,
        reverse: None,
        quorum: None,
        quorum_max: None,
        delay: None,
        fork_delay: None,
        terminate_delay: None,
    };
    for it in item.children() {
        process_setting(&mut p, it, notes);
    }
    if p.process.is_empty() {
        notes.note(&item.at, format!("vrrp_track_process `{name}` has no `process`; not imported"));
        return None;
    }
    Some((name, p))
}

/// One line of a `vrrp_track_process` block.
fn process_setting(p: &mut TrackProcess, it: &Item, notes: &mut Notes) {
    match (it.keyword.as_str(), it.args.as_slice()) {
        ("process", [path, args @ ..]) => {
            p.process.clone_from(path);
            p.args = (!args.is_empty()).then(|| args.to_vec());
        }
        ("param_match", []) => p.param_match = Some(ParamMatch::Exact),
        ("param_match", [m]) if m == "initial" => p.param_match = Some(ParamMatch::Initial),
        ("param_match", [m]) if m == "partial" => p.param_match = Some(ParamMatch::Partial),
        ("weight", [w, rest @ ..]) if rest.iter().all(|r| r == "reverse") && rest.len() <= 1 => {
            p.weight = weight(it, w, notes);
            p.reverse = (!rest.is_empty()).then_some(true);
        }
        ("quorum", _) => p.quorum = value::number(it, notes),
        ("quorum_max", _) => p.quorum_max = value::number(it, notes),
        ("delay", _) => p.delay = value::seconds(it, notes),
        ("fork_delay", _) => p.fork_delay = value::seconds(it, notes),
        ("terminate_delay", _) => p.terminate_delay = value::seconds(it, notes),
        ("full_command", []) => p.full_command = Some(true),
        _ => notes.unsupported(it, "not a `vrrp_track_process` setting the manifest has"),
    }
}

/// An instance's or a sync group's `track_process { NAME [weight W [reverse|noreverse]] }`.
fn used_processes(item: &Item, notes: &mut Notes) -> BTreeMap<String, TrackProcessUse> {
    let files = used_files(item, notes);
    files.into_iter().map(|(n, u)| (n, TrackProcessUse { weight: u.weight, reverse: u.reverse })).collect()
}

/// The weight and `reverse` a `vrrp_script` block gives when a reference has none.
pub fn script_default(item: &Item) -> TrackWeight {
    let w = item.children().iter().find(|i| i.keyword == "weight");
    w.and_then(|i| script_weight(i, &mut Notes::default())).unwrap_or(TrackWeight { weight: 0, reverse: None })
}

/// A `vrrp_script`'s `weight W [reverse]`; `None` when it is not that.
fn script_weight(it: &Item, notes: &mut Notes) -> Option<TrackWeight> {
    let (w, reverse) = match it.args.as_slice() {
        [w] => (w, false),
        [w, r] if r == "reverse" => (w, true),
        _ => return None,
    };
    Some(TrackWeight { weight: track_weight(it, w, notes)?, reverse: reverse.then_some(true) })
}

/// `vrrp_instance NAME { }`.
pub fn instance(
    item: &Item,
    g: &Globals,
    script_weights: &BTreeMap<String, TrackWeight>,
    notes: &mut Notes,
) -> Option<Instance> {
    let name = value::name(item, notes)?;
    let connection_sync = g.sync.as_ref().filter(|(n, ..)| *n == name).map(|(_, c, _)| c.clone());
    let mut i = Instance {
        name,
        at: item.at.clone(),
        vrid: None,
        version: g.version.unwrap_or(2),
        interface: None,
        advert: None,
        priority: 100,
        preempt: true,
        preempt_delay: None,
        password: None,
        ah: false,
        unicast_src: None,
        unicast_src_prefix: None,
        unicast_peers: Vec::new(),
        vips: Vec::new(),
        excluded: Vec::new(),
        vip_interface: None,
        track_scripts: BTreeMap::new(),
        track_interfaces: BTreeMap::new(),
        track_files: BTreeMap::new(),
        track_processes: BTreeMap::new(),
        dont_track_primary: false,
        garp: super::garp::Keys::default(),
        routes: Vec::new(),
        rules: Vec::new(),
        notify_master: None,
        notify_backup: None,
        notify_fault: None,
        notify_stop: None,
        notify: None,
        notify_deleted: None,
        notify_master_rx_lower_pri: None,
        notify_priority_changes: None,
        connection_sync,
        alert: None,
        vmac: None,
        vmac_xmit_base: None,
        ipvlan: None,
        ipvlan_address: None,
        vip_vmacs: false,
        strict: g.strict,
        accept: None,
        startup_delay: g.startup_delay.clone().filter(nonzero),
        startup_delay_after_boot: g.startup_delay_after_boot.clone().filter(nonzero),
    };
    let mut lines: [Vec<VipLine>; 2] = Default::default();
    let mut written_version = None;
    let mut garp = super::garp::Written::default();
    for it in item.children() {
        if super::garp::instance(it, &mut garp, notes) {
            continue;
        }
        match (notify_slot(&mut i, &it.keyword), it.keyword.as_str()) {
            (Some(slot), _) => *slot = Some(notify(it, g, notes)),
            (None, "virtual_ipaddress") => lines[0].extend(vips::block(it, notes)),
            (None, "virtual_ipaddress_excluded") => lines[1].extend(vips::block(it, notes)),
            (None, "no_virtual_ipaddress") => {}
            (None, "notify_priority_changes") => i.notify_priority_changes = Some(value::flag(it)),
            (None, "notify_deleted") => i.notify_deleted = Some((!it.args.is_empty()).then(|| notify(it, g, notes))),
            (None, "virtual_routes") => i.routes.extend(super::routes::block(it, notes)),
            (None, "virtual_rules") => i.rules.extend(super::rules::block(it, notes)),
            (None, "version" | "vrrp_version") => {
                written_version = super::value::number(it, notes).map(|v| (v, it.at.clone()));
            }
            (None, _) => setting(&mut i, it, script_weights, notes),
        }
    }
    ipvlan_unicast(&mut i, &item.at, notes);
    held(&mut i, lines, written_version, g, notes);
    xmit_base(&mut i, &item.at, notes);
    i.garp = super::garp::keys(&garp, &g.garp, &g.garp_groups, i.interface.as_deref());
    if i.strict && !strict(&mut i, notes) {
        return None;
    }
    auth_on_v3(&mut i, notes);
    if let Some(c) = i.connection_sync.as_mut().filter(|c| c.interface == i.interface) {
        c.interface = None;
    }
    if i.vrid.is_none() {
        notes.note(&item.at, format!("vrrp_instance `{}` has no `virtual_router_id`; not imported", i.name));
        return None;
    }
    Some(i)
}

/// What keepalived's strict mode makes of an instance: none with unicast peers or without
/// VIPs (false); no authentication, preempt delay, v2 accept mode or lower-priority
/// announcements (keepalived resets them with a configuration error; reported here).
fn strict(i: &mut Instance, notes: &mut Notes) -> bool {
    let at = i.at.clone();
    let mut reset = |what: &str| {
        notes.note(
            &at,
            format!(
                "vrrp_instance `{}`: strict mode allows no {what}; keepalived ignores it, and so does the import",
                i.name
            ),
        );
    };
    if i.password.take().is_some() {
        reset("authentication");
    }
    if i.preempt_delay.take().is_some_and(|d| nonzero(&d)) {
        reset("`preempt_delay`");
    }
    if i.version == 2 && i.priority < 255 && i.accept.take() == Some(true) {
        reset("accept mode in VRRPv2");
    }
    // Strict mode sends no announcements on a lower priority, the manifest's `strict` neither.
    (i.garp.lower_repeat, i.garp.lower_delay) = (None, None);
    let refused = if !i.unicast_peers.is_empty() {
        Some("unicast peers")
    } else if i.vips.is_empty() {
        Some("an instance without VIPs")
    } else {
        None
    };
    if let Some(what) = refused {
        notes.note(
            &i.at,
            format!(
                "vrrp_instance `{}`: strict mode refuses {what}, and keepalived does not run it; not imported",
                i.name
            ),
        );
    }
    refused.is_none()
}

/// keepalived ignores the authentication of a VRRPv3 instance ("VRRP version 3 does not
/// support authentication"), IPv6 ones included (which is how it never runs AH over IPv6),
/// and so does the import, saying so.
fn auth_on_v3(i: &mut Instance, notes: &mut Notes) {
    if i.version == 3 && i.password.take().is_some() {
        let kind = if i.ah { "AH" } else { "PASS" };
        let msg = format!(
            "vrrp_instance `{}`: VRRP version 3 has no authentication; keepalived ignores its `auth_type {kind}`, and so does the import",
            i.name
        );
        notes.note(&i.at, msg);
    }
}

/// False for a duration of no time, as [`value::seconds`] writes it.
fn nonzero(d: &Duration) -> bool {
    !matches!(d, Duration::Text(t) if t.trim_end_matches('s').parse::<f64>().is_ok_and(|v| v == 0.0))
}

/// The instance's VIPs, excluded VIPs, VIP interface and version, as keepalived settles
/// them from the lines it read.
fn held(i: &mut Instance, lines: [Vec<VipLine>; 2], written: Option<(u32, Loc)>, g: &Globals, notes: &mut Notes) {
    let [advertised, excluded] = lines;
    let (advertised, other) = vips::split_families(advertised, notes);
    let v6 = advertised.first().is_some_and(|l| l.spec.address.contains(':'));
    let count = advertised.len();
    let mut all: Vec<VipLine> = advertised.into_iter().chain(other).chain(excluded).collect();
    // With a VMAC or an ipvlan, a VIP without `dev` goes on it and one with `dev` stays there.
    if i.vmac.is_none() && i.ipvlan.is_none() {
        i.vip_interface = vips::settle_interfaces(&mut all, i.interface.as_deref());
    }
    vip_use_vmac(&mut all, i, v6, notes);
    if let (Some(prefix), Some(first)) = (&g.vmac_prefix, all.iter().find(|l| i.vip_vmacs || l.spec.vmac.is_some())) {
        let msg = format!(
            "keepalived names the VMACs of this instance's VIPs after `vmac_prefix` ({prefix}.VRID, {prefix}1.VRID, ...); lbconverge names them vrrp.VRID, vrrp1.VRID, ...: the links get other names, the VIPs and their MAC stay"
        );
        notes.note(&first.at, msg);
    }
    let (adv, rest) = all.split_at(count);
    i.vips = adv.iter().map(vips::entry).collect();
    i.excluded = rest.iter().map(vips::entry).collect();
    i.version = vips::version(v6, written, g.version.unwrap_or(2), notes);
}

/// A VIP's `use_vmac` is carried, but where keepalived reports it as a configuration error
/// and does without it: beside the instance's `use_vmac_addr` (which gives the VIP its VMAC
/// anyway), or on a VIP of the instance's family that goes on the instance's own VMAC.
fn vip_use_vmac(all: &mut [vips::VipLine], i: &Instance, v6: bool, notes: &mut Notes) {
    for l in all.iter_mut().filter(|l| l.spec.vmac.is_some()) {
        let same_family = l.spec.address.contains(':') == v6;
        let on_base = l.spec.interface.is_none() || l.spec.interface == i.interface;
        let why = if i.vmac.is_some() && on_base && same_family {
            "keepalived: \"use_vmac specified for VIP/eVIP and vrrp instance\"; the instance's VMAC has the MAC already"
        } else if i.vip_vmacs {
            "keepalived: \"use_vmac_addr specified and use_vmac specified for VIP\"; `use_vmac_addr` gives it its VMAC"
        } else {
            continue;
        };
        l.spec.vmac = None;
        notes.note(&l.at, format!("VIP {}: `use_vmac` not imported ({why})", l.spec.address));
    }
}

/// `use_vmac [[name] NAME] [MAC] [netlink_notify_msg] [group ID]`: all carried (keepalived
/// 2.2 reads only the first two words and ignores the rest). A MAC keepalived ignores
/// (multicast, a VRRP one, not one) and a group by name are reported.
fn use_vmac(it: &Item, notes: &mut Notes) -> Vmac {
    let mut v = Vmac::default();
    let mut words = it.args.iter();
    while let Some(w) = words.next() {
        match w.as_str() {
            "name" => v.name = words.next().cloned(),
            "netlink_notify_msg" => v.netlink_notify = Some(true),
            "group" => v.group = words.next().and_then(|g| vmac_group(g, it, notes)),
            mac if mac.contains(':') => match crate::model::net::Mac::parse(mac, 0) {
                Ok(_) => v.mac = Some(mac.to_string()),
                Err(e) => {
                    notes.note(&it.at, format!("`use_vmac` MAC address not imported ({e}; keepalived ignores it too)"))
                }
            },
            other if v.name.is_none() => v.name = Some(other.to_string()),
            other => notes.note(&it.at, format!("`use_vmac` argument `{other}` not imported")),
        }
    }
    v
}

/// A `use_vmac group` as keepalived reads it (`find_rttables_group`): a number (`strtoul`
/// of base 0: decimal, `0x` hexadecimal, `0` octal; at most 2147483647), else a name this
/// host's /etc/iproute2/group gives (with a warning to check it on the directors).
fn vmac_group(g: &str, it: &Item, notes: &mut Notes) -> Option<u32> {
    if let Some(n) = group_number(g) {
        return Some(n);
    }
    let named = notes.device_groups().and_then(|table| named_group(&table, g));
    let said = match named {
        Some(n) => format!(
            "`use_vmac` group `{g}` is a name; keepalived looks it up in /etc/iproute2/group, which on this host gives {n}: imported as that; check that the directors have it there"
        ),
        None => format!(
            "`use_vmac` group `{g}` not imported: neither a number up to 2147483647 nor a name in this host's /etc/iproute2/group (keepalived ignores it too)"
        ),
    };
    notes.note(&it.at, said);
    named
}

/// `strtoul(text, 0)` as keepalived takes a group number: the whole text, at most
/// INT32_MAX.
fn group_number(text: &str) -> Option<u32> {
    let parsed = match (text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")), text.strip_prefix('0')) {
        (Some(hex), _) => u32::from_str_radix(hex, 16).ok(),
        (None, Some(oct)) if !oct.is_empty() => u32::from_str_radix(oct, 8).ok(),
        _ => text.parse::<u32>().ok(),
    };
    parsed.filter(|n| *n <= 0x7fff_ffff && !text.starts_with('+'))
}

/// The number of group `name` in an iproute2 table as keepalived reads one: `NUMBER NAME`
/// lines, `#` comments, any other line passed over; the first line with the name.
fn named_group(table: &str, name: &str) -> Option<u32> {
    table.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or_default();
        match line.split_whitespace().collect::<Vec<_>>()[..] {
            [number, n] if n == name => group_number(number),
            _ => None,
        }
    })
}

/// `use_ipvlan [[name] NAME] [ADDRESS] [bridge|private|vepa] [group ID]`, as keepalived reads
/// it: a word that is an address is the address, `name` takes the next word, any other
/// word is the name; `group` is reported.
fn use_ipvlan(i: &mut Instance, it: &Item, notes: &mut Notes) {
    let mut p = crate::manifest::types::Ipvlan::default();
    let mut words = it.args.iter();
    while let Some(w) = words.next() {
        match w.as_str() {
            "bridge" => p.mode = p.mode.or(Some(IpvlanMode::Bridge)),
            "private" => p.mode = p.mode.or(Some(IpvlanMode::Private)),
            "vepa" => p.mode = p.mode.or(Some(IpvlanMode::Vepa)),
            "group" => {
                words.next();
                notes.note(
                    &it.at,
                    "`use_ipvlan` option `group` not imported (the manifest has no such ipvlan option)".to_string(),
                );
            }
            "name" => p.name = p.name.or(words.next().cloned()),
            a if a.split('/').next().is_some_and(|ip| ip.parse::<std::net::IpAddr>().is_ok()) => {
                i.ipvlan_address = i.ipvlan_address.take().or(Some(a.to_string()));
            }
            other => p.name = p.name.or(Some(other.to_string())),
        }
    }
    i.ipvlan = Some(p);
}

/// `use_ipvlan` with unicast peers is not carried (the manifest refuses it): imported
/// without it, and said so.
fn ipvlan_unicast(i: &mut Instance, block: &Loc, notes: &mut Notes) {
    if i.ipvlan.is_some() && !i.unicast_peers.is_empty() {
        i.ipvlan = None;
        i.ipvlan_address = None;
        let msg = "`use_ipvlan` with unicast peers not imported (lbconverge sends an ipvlan's adverts multicast only); the VIPs go on the interface";
        notes.note(block, msg.to_string());
    }
}

/// `vmac_xmit_base` goes with `use_vmac`; keepalived ignores it alone. With unicast peers
/// keepalived.conf(5) requires it (a unicast advert reaches the peer's base interface, never
/// its VMAC): where it is missing the import adds it and says so (the manifest refuses a
/// VMAC with unicast peers without it).
fn xmit_base(i: &mut Instance, block: &Loc, notes: &mut Notes) {
    match (&mut i.vmac, &i.vmac_xmit_base) {
        (Some(v), Some(_)) => v.xmit_base = Some(true),
        (Some(v), None) if !i.unicast_peers.is_empty() => {
            v.xmit_base = Some(true);
            let why = "keepalived.conf(5): \"if using use_vmac with unicast peers, vmac_xmit_base must be set\"";
            notes.note(block, format!("`use_vmac` with unicast peers imported with `xmit_base: true` ({why})"));
        }
        (None, Some(at)) => {
            notes.note(at, "`vmac_xmit_base` without `use_vmac` does nothing in keepalived; not imported".to_string())
        }
        _ => {}
    }
}

fn setting(i: &mut Instance, it: &Item, script_weights: &BTreeMap<String, TrackWeight>, notes: &mut Notes) {
    match it.keyword.as_str() {
        "virtual_router_id" => i.vrid = value::number(it, notes),
        "interface" => i.interface = it.arg().map(str::to_string),
        "advert_int" => i.advert = value::seconds(it, notes),
        "priority" => i.priority = value::number(it, notes).unwrap_or(i.priority),
        "state" => {}
        "nopreempt" => i.preempt = false,
        "preempt" => i.preempt = true,
        "preempt_delay" => i.preempt_delay = value::seconds(it, notes),
        "authentication" => authentication(i, it, notes),
        "unicast_src_ip" | "mcast_src_ip" => {
            let (addr, prefix) = address_and_prefix(it.arg().unwrap_or_default());
            (i.unicast_src, i.unicast_src_prefix) = (Some(addr), prefix);
        }
        "unicast_peer" => i.unicast_peers = it.children().iter().map(|p| address_and_prefix(&p.keyword).0).collect(),
        "track_script" => i.track_scripts = tracked_scripts(it, script_weights, notes),
        "lvs_sync_daemon_interface" => sync_interface(i, it, notes),
        "track_interface" => i.track_interfaces = tracked_interfaces(it, notes),
        "dont_track_primary" => i.dont_track_primary = true,
        "track_file" => i.track_files = used_files(it, notes),
        "track_process" => i.track_processes = used_processes(it, notes),
        "smtp_alert" => i.alert = Some(value::flag(it)),
        "use_vmac" => i.vmac = Some(use_vmac(it, notes)),
        "vmac_xmit_base" => i.vmac_xmit_base = Some(it.at.clone()),
        "use_ipvlan" => use_ipvlan(i, it, notes),
        "use_vmac_addr" => i.vip_vmacs = true,
        "strict_mode" => i.strict = value::flag(it),
        "accept" => i.accept = Some(true),
        "no_accept" => i.accept = Some(false),
        "skip_check_adv_addr" => notes.met(it, SKIP_CHECK),
        _ => notes.unsupported(it, "not a VRRP setting the manifest has"),
    }
}

/// Where a notify keyword of an instance goes.
fn notify_slot<'a>(i: &'a mut Instance, keyword: &str) -> Option<&'a mut Option<Vec<String>>> {
    match keyword {
        "notify_master" => Some(&mut i.notify_master),
        "notify_backup" => Some(&mut i.notify_backup),
        "notify_fault" => Some(&mut i.notify_fault),
        "notify_stop" => Some(&mut i.notify_stop),
        "notify" => Some(&mut i.notify),
        "notify_master_rx_lower_pri" => Some(&mut i.notify_master_rx_lower_pri),
        _ => None,
    }
}

/// A notify command, `notify_master "/path/script.sh arg" [username [groupname]]`.
/// lbconverge runs notify commands as root: a user root (or none, without a global
/// `script_user`) is carried over exactly; another one is reported. Without a user and
/// without `script_user`, keepalived runs it as `keepalived_script` when that user exists
/// on the director, else as root.
pub(super) fn notify(it: &Item, g: &Globals, notes: &mut Notes) -> Vec<String> {
    let c = value::script(it, notes);
    let named = c.user.as_ref().map(|u| match &c.group {
        Some(grp) => format!("{u}:{grp}"),
        None => u.clone(),
    });
    let global = g.script_user.as_ref().filter(|u| u.as_str() != "root");
    let who = match (named, global) {
        (Some(_), _) if c.runs_as_root() => None,
        (Some(n), _) => Some(format!("as `{n}`")),
        (None, Some(u)) => Some(format!("as `{u}` (`script_user`)")),
        (None, None) => None,
    };
    if let Some(who) = who {
        notes.note(
            &it.at,
            format!(
                "`{}` runs {who} in keepalived; lbconverge runs notify commands as root: check that the command is safe as root, or make it switch user itself",
                it.keyword
            ),
        );
    }
    c.argv
}

/// `10.0.0.2/24` -> (`10.0.0.2`, `Some("24")`): keepalived takes the address of a
/// unicast source or peer written with a prefix length.
fn address_and_prefix(word: &str) -> (String, Option<String>) {
    match word.split_once('/') {
        Some((a, p)) => (a.to_string(), Some(p.to_string())),
        None => (word.to_string(), None),
    }
}

/// `lvs_sync_daemon_interface IF` in an instance: keepalived 1.x's form of the global
/// `lvs_sync_daemon IF INSTANCE`, which keepalived 2 still honours (reporting it as
/// deprecated) unless the global one is given.
fn sync_interface(i: &mut Instance, it: &Item, notes: &mut Notes) {
    let (Some(interface), None) = (it.arg(), &i.connection_sync) else {
        notes.note(&it.at, "`lvs_sync_daemon_interface` ignored, as keepalived ignores it: the global `lvs_sync_daemon` is given (or no interface is)".into());
        return;
    };
    notes.note(&it.at, format!("`lvs_sync_daemon_interface` is keepalived 1.x's form of the global `lvs_sync_daemon {interface} {}` (keepalived 2 reports it as deprecated and honours it); imported as this instance's `connection_sync`", i.name));
    i.connection_sync = Some(ConnectionSync {
        interface: Some(interface.to_string()),
        sync_id: None,
        max_packet_length: None,
        group: None,
        port: None,
        ttl: None,
    });
}

fn authentication(i: &mut Instance, item: &Item, notes: &mut Notes) {
    for it in item.children() {
        match (it.keyword.as_str(), it.arg()) {
            ("auth_type", Some("PASS")) => i.ah = false,
            ("auth_type", Some("AH")) => i.ah = true,
            ("auth_pass", Some(p)) => i.password = Some(p.to_string()),
            _ => notes.unsupported(it, "only `auth_type PASS` or `AH` with `auth_pass` is supported"),
        }
    }
}

/// `track_script { NAME [weight W [reverse|noreverse]] }`: a name no `vrrp_script` of the
/// file (with a `script`) defines is dropped with a warning, as keepalived drops it ("track
/// script ... not found, ignoring"). Without a weight, or without `reverse` / `noreverse`,
/// the `vrrp_script`'s own.
fn tracked_scripts(
    item: &Item,
    script_weights: &BTreeMap<String, TrackWeight>,
    notes: &mut Notes,
) -> BTreeMap<String, TrackWeight> {
    let mut out = BTreeMap::new();
    for it in item.children() {
        let Some(default) = script_weights.get(&it.keyword) else {
            let name = value::shown(&it.keyword);
            notes.note(&it.at, format!("track_script `{name}`: this file has no such vrrp_script with a `script`; keepalived ignores the reference, and so does the import"));
            continue;
        };
        let reverse = |r: Option<&str>| match r {
            None => Some(default.reverse.unwrap_or(false)),
            Some("reverse") => Some(true),
            Some("noreverse") => Some(false),
            Some(_) => None,
        };
        let used = match it.args.as_slice() {
            [] => Some(default.clone()),
            [k, w, rest @ ..] if k == "weight" && rest.len() <= 1 => reverse(rest.first().map(String::as_str))
                .zip(track_weight(it, w, notes))
                .map(|(r, weight)| TrackWeight { weight, reverse: r.then_some(true) }),
            _ => None,
        };
        match used {
            Some(u) => {
                out.insert(it.keyword.clone(), u);
            }
            None => notes.unsupported(it, "a track script name, then `weight W` and `reverse` or `noreverse`"),
        }
    }
    out
}

/// `track_interface { NAME [weight W [reverse]] }` (keepalived takes no `noreverse` here).
fn tracked_interfaces(item: &Item, notes: &mut Notes) -> BTreeMap<String, TrackWeight> {
    let mut out = BTreeMap::new();
    for it in item.children() {
        let used = match it.args.as_slice() {
            [] => Some(TrackWeight { weight: 0, reverse: None }),
            [k, w] if k == "weight" => track_weight(it, w, notes).map(|weight| TrackWeight { weight, reverse: None }),
            [k, w, r] if k == "weight" && r == "reverse" => {
                track_weight(it, w, notes).map(|weight| TrackWeight { weight, reverse: Some(true) })
            }
            _ => None,
        };
        match used {
            Some(u) => {
                out.insert(it.keyword.clone(), u);
            }
            None => notes.unsupported(it, "an interface name, then `weight W` and `reverse`"),
        }
    }
    out
}

/// A tracked script's or interface's weight, -253..253; keepalived takes ±254 as ±253
/// (reporting it), and so does the import.
fn track_weight(it: &Item, w: &str, notes: &mut Notes) -> Option<i32> {
    match w.parse::<i32>() {
        Ok(n) if (-253..=253).contains(&n) => Some(n),
        Ok(n) if n.abs() == 254 => {
            notes.note(
                &it.at,
                format!("weight {n}: keepalived takes it as {} (its limit), and so does the import", n.signum() * 253),
            );
            Some(n.signum() * 253)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(args: &[&str]) -> Item {
        Item {
            keyword: "lvs_sync_daemon".into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            raw: args.join(" "),
            block: None,
            at: Loc { file: "k.conf".into(), line: 3, column: 5 },
        }
    }

    #[test]
    fn lvs_timeouts_are_a_directors_ipvs_timeouts_in_seconds() {
        let mut notes = Notes::default();
        let t = lvs_timeouts(&item(&["tcp", "7200", "udp", "20", "sctp", "5", "tcpfin", "x"]), &mut notes);
        let s = |v: &str| Some(Duration::Text(v.into()));
        assert_eq!(t, IpvsTimeouts { tcp: s("7200s"), tcp_fin: None, udp: s("20s") });
        assert_eq!(notes.warnings.len(), 2, "sctp and tcpfin x are reported");
    }

    #[test]
    fn lvs_sync_daemon_reads_the_old_bare_id_the_keywords_and_reports_the_rest() {
        let mut notes = Notes::default();
        let (inst, c, _) =
            lvs_sync_daemon(&item(&["eth1", "VI_1", "7", "ttl", "2", "group", "239.0.0.9"]), &mut notes).expect("read");
        assert_eq!(inst, "VI_1");
        assert_eq!(
            (c.interface.as_deref(), c.sync_id, c.ttl, c.group.as_deref()),
            (Some("eth1"), Some(7), Some(2), Some("239.0.0.9"))
        );
        assert!(notes.warnings.is_empty());
        let (_, c, _) = lvs_sync_daemon(&item(&["eth1", "VI_1", "port", "x", "weird", "1"]), &mut notes).expect("read");
        assert_eq!((c.sync_id, c.port), (None, None), "no id: the VRID, as in keepalived");
        let said: Vec<String> = notes.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            said,
            [
                "k.conf:3: warning: `lvs_sync_daemon`: `port x` not understood; left out",
                "k.conf:3: warning: `lvs_sync_daemon`: `weird 1` not understood; left out"
            ]
        );
        assert!(lvs_sync_daemon(&item(&["eth1"]), &mut notes).is_none());
    }

    #[test]
    fn use_vmac_carries_its_name_mac_group_and_netlink_notify_and_reports_what_keepalived_ignores() {
        let mut notes = Notes::default();
        let words = ["name", "vm1", "02:11:22:33:44", "netlink_notify_msg", "group", "0x10"];
        let v = use_vmac(&item(&words), &mut notes);
        let want = Vmac {
            name: Some("vm1".into()),
            mac: Some("02:11:22:33:44".into()),
            group: Some(16),
            netlink_notify: Some(true),
            ..Vmac::default()
        };
        assert_eq!((v, notes.warnings.len()), (want, 0));
        let groups: Vec<Option<u32>> = ["7", "010", "2147483647", "2147483648", "web"]
            .iter()
            .map(|g| vmac_group(g, &item(&[]), &mut notes))
            .collect();
        assert_eq!(groups, [Some(7), Some(8), Some(2147483647), None, None], "strtoul of base 0, at most INT32_MAX");
        let table = "# device group names\n0\tdefault\n0x10 web # front\n3 web\nbad line here\n";
        let named: Vec<Option<u32>> = ["default", "web", "db"].iter().map(|n| named_group(table, n)).collect();
        assert_eq!(named, [Some(0), Some(16), None], "the first line with the name");
        for mac in ["01:00:5e:00:00:01", "00:00:5e:00:02:07", "02:11:22", "02:11:22:33:44:55:66"] {
            assert_eq!(use_vmac(&item(&[mac]), &mut notes).mac, None, "{mac}");
        }
        let said: Vec<String> = notes.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(said.len(), 6, "{said:#?}");
        assert!(said[0].contains("group `2147483648` not imported: neither a number"), "{said:#?}");
        assert!(
            said[2].contains("MAC address not imported (`01:00:5e:00:00:01` is a multicast MAC address"),
            "{said:#?}"
        );
    }
}
