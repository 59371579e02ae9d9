//! VRRP instances and the track scripts they use.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::manifest::KeyPath;
use crate::manifest::types::{self, Manifest, RemovalNotify};
use crate::model::cluster::{
    ConnectionSync, FileWeight, Member, Node, Notify, Removal, Secret, TrackFile, TrackScript, Vip, VrrpAuth,
    VrrpInstance,
};

use super::{Cx, dur, parse, unknown_node_hint};
use crate::vrrp::procs;

/// Validates the track scripts.
pub fn track_scripts(
    cx: &mut Cx,
    at: &KeyPath,
    m: &BTreeMap<String, types::TrackScript>,
) -> BTreeMap<String, TrackScript> {
    let mut out = BTreeMap::new();
    for (name, t) in m {
        let path = at.name(name);
        let interval = dur(cx, &path.key("interval"), t.interval.as_ref(), Duration::from_secs(2));
        let timeout = dur(cx, &path.key("timeout"), t.timeout.as_ref(), interval);
        super::checks::hook(cx, &path.key("command"), Some(&t.command));
        let script = TrackScript {
            command: t.command.clone(),
            interval,
            timeout,
            rise: t.rise.unwrap_or(1),
            fall: t.fall.unwrap_or(1),
            init_fail: t.init_fail.unwrap_or(false),
        };
        out.insert(name.clone(), script);
    }
    out
}

/// Validates the track files: each path absolute and naming a file, not a directory.
pub fn track_files(cx: &mut Cx, at: &KeyPath, m: &BTreeMap<String, types::TrackFile>) -> BTreeMap<String, TrackFile> {
    let mut out = BTreeMap::new();
    for (name, f) in m {
        let path = std::path::PathBuf::from(&f.path);
        if !path.is_absolute() || f.path.ends_with('/') || path.file_name().is_none() {
            let hint = "write the file's absolute path, such as /run/lbconverge/prio";
            cx.error(&at.name(name).key("path"), format!("`{}` is not an absolute path to a file", f.path), Some(hint));
            continue;
        }
        let init = f.init_file.as_ref().map(|i| (i.value.unwrap_or(0), i.overwrite.unwrap_or(false)));
        out.insert(name.clone(), TrackFile { path, init });
    }
    out
}

/// The longest process name the kernel keeps (`TASK_COMM_LEN` less its NUL).
const COMM_MAX: usize = 15;
/// The longest delay keepalived takes.
const PROCESS_DELAY_MAX: Duration = Duration::from_secs(3600);

/// Validates the tracked processes: a name that can match, a quorum range that is not
/// empty, delays up to an hour.
pub fn track_processes(
    cx: &mut Cx,
    at: &KeyPath,
    m: &BTreeMap<String, types::TrackProcess>,
) -> BTreeMap<String, procs::Spec> {
    let mut out = BTreeMap::new();
    for (name, t) in m {
        let path = at.name(name);
        let pattern = process_pattern(cx, &path, t);
        let quorum_max = t.quorum_max.unwrap_or(u32::MAX);
        let quorum = if quorum_max == 0 { 0 } else { t.quorum.unwrap_or(1) };
        if quorum > quorum_max {
            let hint = format!("set `quorum_max` to {quorum} or more, or lower `quorum`");
            cx.error(&path.key("quorum_max"), format!("{quorum_max} is below `quorum` ({quorum})"), Some(&hint));
        }
        let both = process_delay(cx, &path.key("delay"), t.delay.as_ref(), Duration::ZERO);
        let fork_delay = process_delay(cx, &path.key("fork_delay"), t.fork_delay.as_ref(), both);
        let terminate_delay = process_delay(cx, &path.key("terminate_delay"), t.terminate_delay.as_ref(), both);
        out.insert(name.clone(), procs::Spec { pattern, quorum, quorum_max, fork_delay, terminate_delay });
    }
    out
}

/// A tracked process's delay, up to an hour as keepalived takes.
fn process_delay(cx: &mut Cx, at: &KeyPath, d: Option<&types::Duration>, default: Duration) -> Duration {
    let given = d.is_some();
    let d = dur(cx, at, d, default);
    if given && d > PROCESS_DELAY_MAX {
        cx.error(at, format!("{d:?} is longer than an hour"), Some("give a delay up to 1h"));
    }
    d
}

/// What a tracked process matches; a name the kernel would cut short is an error.
fn process_pattern(cx: &mut Cx, path: &KeyPath, t: &types::TrackProcess) -> procs::Pattern {
    let param_match = match (t.param_match, &t.args) {
        (Some(types::ParamMatch::Exact), _) | (None, Some(_)) => procs::ParamMatch::Exact,
        (Some(types::ParamMatch::Partial), _) => procs::ParamMatch::Partial,
        (Some(types::ParamMatch::Initial), _) => procs::ParamMatch::Initial,
        (None, None) => procs::ParamMatch::Any,
    };
    let full_command = t.full_command.unwrap_or(false) || param_match != procs::ParamMatch::Any;
    if t.full_command == Some(false) && param_match != procs::ParamMatch::Any {
        let hint = "leave `full_command` out: `args` and `match` compare the whole command line";
        cx.error(&path.key("full_command"), "`false` with `args` or `match`", Some(hint));
    }
    if !full_command && t.process.len() > COMM_MAX {
        let hint =
            "set `full_command: true` to match the command's first word, or give the name as `ps -o comm` shows it";
        let what = format!("`{}` is longer than a process name (15 bytes) and would never match", t.process);
        cx.error(&path.key("process"), what, Some(hint));
    }
    if t.process.contains('\0') || t.args.iter().flatten().any(|a| a.contains('\0')) {
        cx.error(&path.key("process"), "a NUL character never matches a command line", None);
    }
    procs::Pattern { process: t.process.clone(), args: t.args.clone().unwrap_or_default(), param_match, full_command }
}

/// Validates every VRRP instance, then the VRID and VIP uniqueness rules across them.
pub fn instances(
    cx: &mut Cx,
    at: &KeyPath,
    m: &Manifest,
    nodes: &BTreeMap<String, Node>,
    scripts: &BTreeMap<String, TrackScript>,
) -> BTreeMap<String, VrrpInstance> {
    let mut out = BTreeMap::new();
    for (name, inst) in &m.vrrp {
        let path = at.name(name);
        // In a sync group without `tracking_weight` a member's weights follow keepalived's
        // rule, which the group's validation warns of instead.
        let grouped = m.sync_groups.values().any(|g| !g.tracking_weight.unwrap_or(false) && g.instances.contains(name));
        let tracked = (scripts, &m.track_files, &m.track_processes);
        if let Some(v) = instance(cx, &path, (name, grouped), inst, nodes, tracked) {
            out.insert(name.clone(), v);
        }
    }
    vrid_unique(cx, at, &out);
    super::shared_lan::vrid_per_network(cx, at, &out, nodes);
    vips_unique(cx, at, &out);
    one_sync_per_director(cx, at, &out);
    super::vmac::names_unique(cx, at, &out);
    out
}

/// What instances may track: the validated scripts, the manifest's files and processes.
pub(super) type Tracked<'a> = (
    &'a BTreeMap<String, TrackScript>,
    &'a BTreeMap<String, types::TrackFile>,
    &'a BTreeMap<String, types::TrackProcess>,
);

fn instance(
    cx: &mut Cx,
    path: &KeyPath,
    (name, grouped): (&str, bool),
    i: &types::VrrpInstance,
    nodes: &BTreeMap<String, Node>,
    (scripts, m_files, m_procs): Tracked<'_>,
) -> Option<VrrpInstance> {
    let version = u8::try_from(i.version.unwrap_or(3)).unwrap_or(u8::MAX);
    let vips = vips(cx, &path.key("vips"), &i.vips, version);
    let excluded = super::vips::entries(cx, &path.key("excluded_vips"), &i.excluded_vips, &vips);
    let advert = advert(cx, &path.key("advert_interval"), i.advert_interval.as_ref(), version);
    let v6 = vips.first().is_some_and(|v| v.addr().is_ipv6());
    let members = members(cx, path, i, nodes, (&vips, v6), scripts);
    // A track file weighs 1 unless it says, a tracked process 0 (FAULT), as in keepalived.
    let files = used_weights(&i.track_files, m_files, 1);
    let processes = used_weights(&i.track_processes, m_procs, 0);
    let mut members: BTreeMap<String, Member> = members
        .into_iter()
        .map(|(n, m)| (n, Member { track_files: files.clone(), track_processes: processes.clone(), ..m }))
        .collect();
    let vrid = u8::try_from(i.vrid).unwrap_or(0);
    let vmac = super::vmac::vmac(cx, path, i, (vrid, v6), &mut members, nodes);
    vip_owners(cx, &path.key("vips"), &vips, &members, nodes);
    vip_owners(cx, &path.key("excluded_vips"), &excluded, &members, nodes);
    super::vips::labels(cx, path, [("vips", &vips), ("excluded_vips", &excluded)], &members);
    super::vips::scopes(cx, path, [("vips", &vips), ("excluded_vips", &excluded)], &members, nodes);
    holds_nothing(cx, path, i);
    if !grouped {
        idle_weights(cx, path, i, &members);
    }
    let auth = auth(cx, &path.key("authentication"), i.authentication.as_ref(), (version, v6));
    let unicast_peers = peers(cx, &path.key("unicast_peers"), i.unicast_peers.as_ref(), nodes, v6);
    tracked(cx, path, &i.track_scripts, &i.track_interfaces, scripts);
    known_files_processes(cx, path, (&i.track_files, &i.track_processes), (m_files, m_procs));
    let routes = super::vrrp_routes::routes(cx, path, &i.routes, &sources(&vips, &excluded, &members, nodes));
    let rules = super::vrrp_rules::rules(cx, path, &i.rules);
    let connection_sync =
        i.connection_sync.as_ref().map(|c| connection_sync(cx, &path.key("connection_sync"), c, vrid));
    super::strict::check(cx, path, i, (&vips, &members), version);
    Some(VrrpInstance {
        name: name.to_string(),
        vrid,
        version,
        advert,
        members,
        preempt: i.preempt.unwrap_or(true),
        preempt_delay: dur(cx, &path.key("preempt_delay"), i.preempt_delay.as_ref(), Duration::ZERO),
        auth,
        unicast_peers,
        vips,
        excluded,
        routes,
        rules,
        garp: super::garp::timing(cx, path, i),
        notify: notify(
            cx,
            path,
            [
                &i.notify_master,
                &i.notify_backup,
                &i.notify_fault,
                &i.notify_stop,
                &i.notify,
                &i.notify_master_rx_lower_pri,
            ],
        ),
        notify_timeout: notify_timeout(cx, &path.key("notify_timeout"), i.notify_timeout.as_ref()),
        connection_sync,
        track_own_interface: i.track_own_interface.unwrap_or(true),
        vmac,
        strict: i.strict.unwrap_or(false),
        accept: i.accept,
        startup_delay: dur(cx, &path.key("startup_delay"), i.startup_delay.as_ref(), Duration::ZERO),
        startup_delay_after_boot: dur(
            cx,
            &path.key("startup_delay_after_boot"),
            i.startup_delay_after_boot.as_ref(),
            Duration::ZERO,
        ),
        notify_priority_changes: i.notify_priority_changes.unwrap_or(false),
        removal: removal(cx, path, i),
    })
}

/// What a reload's removal of the instance reports: `removal_notify`, `deleted` when only
/// `notify_deleted` is given; `notify_deleted` with another choice is an error (it would
/// never run).
fn removal(cx: &mut Cx, path: &KeyPath, i: &types::VrrpInstance) -> Removal {
    let at = path.key("notify_deleted");
    let command = super::checks::hook(cx, &at, i.notify_deleted.as_ref());
    match (i.removal_notify, command) {
        (Some(other @ (RemovalNotify::Stop | RemovalNotify::Fault)), Some(_)) => {
            let msg =
                format!("`notify_deleted` runs only with `removal_notify: deleted`, not `{}`", removal_word(other));
            cx.error(&at, msg, Some("remove `removal_notify`, set it to `deleted`, or remove `notify_deleted`"));
            Removal::Stop
        }
        (None | Some(RemovalNotify::Stop), None) => Removal::Stop,
        (Some(RemovalNotify::Fault), None) => Removal::Fault,
        (None | Some(RemovalNotify::Deleted), command) => Removal::Deleted(command),
    }
}

fn removal_word(r: RemovalNotify) -> &'static str {
    match r {
        RemovalNotify::Stop => "stop",
        RemovalNotify::Fault => "fault",
        RemovalNotify::Deleted => "deleted",
    }
}

/// The addresses a master holds whenever it holds its routes: its VIPs, and the addresses
/// every member has.
fn sources(
    vips: &[Vip],
    excluded: &[Vip],
    members: &BTreeMap<String, Member>,
    nodes: &BTreeMap<String, Node>,
) -> Vec<IpAddr> {
    let of = |m: &String| {
        nodes.get(m).map(|n| n.addresses.iter().map(ipnet::IpNet::addr).collect::<Vec<_>>()).unwrap_or_default()
    };
    let mut names = members.keys();
    let mut common = names.next().map(of).unwrap_or_default();
    for m in names {
        let theirs = of(m);
        common.retain(|a| theirs.contains(a));
    }
    vips.iter().chain(excluded).map(Vip::addr).chain(common).collect()
}

/// The default of `notify_timeout`.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

/// The notify commands of an instance or a member at `at`, given in the order of
/// [`Notify::keyed`]: each one absolute and not empty ([`super::checks::hook`]).
pub(super) fn notify(cx: &mut Cx, at: &KeyPath, commands: [&Option<Vec<String>>; 6]) -> Notify {
    let keys = Notify::default().keyed().map(|(k, _)| k);
    let [master, backup, fault, stop, generic, master_rx_lower_pri] =
        std::array::from_fn(|n| super::checks::hook(cx, &at.key(keys[n]), commands[n].as_ref()));
    Notify { master, backup, fault, stop, generic, master_rx_lower_pri }
}

/// How long a notify command may run: more than nothing, at most an hour (its instance's
/// later commands wait for it).
pub(super) fn notify_timeout(cx: &mut Cx, at: &KeyPath, d: Option<&types::Duration>) -> Duration {
    let t = dur(cx, at, d, NOTIFY_TIMEOUT);
    if t.is_zero() || t > Duration::from_secs(3600) {
        let msg = format!("a notify timeout is more than 0s and at most 1h, not {}", parse::duration_text(t));
        cx.error(at, msg, Some("the commands of an instance run one at a time; a timeout bounds the wait"));
        return NOTIFY_TIMEOUT;
    }
    t
}

/// The sync daemon settings: a valid interface name, a multicast group, and a packet length
/// that fits the group's family (the kernel would silently shorten a longer one).
fn connection_sync(cx: &mut Cx, at: &KeyPath, c: &types::ConnectionSync, vrid: u8) -> ConnectionSync {
    if let Some(Err(e)) = c.interface.as_deref().map(parse::interface) {
        cx.error(&at.key("interface"), e, None);
    }
    let group = c.group.as_deref().and_then(|g| match parse::address(g) {
        Ok(ip) if ip.is_multicast() => Some(ip),
        Ok(ip) => {
            let msg = format!("{ip} is not a multicast address");
            cx.error(&at.key("group"), msg, Some("use a group such as 224.0.0.81 (the default) or ff02::81"));
            None
        }
        Err(e) => {
            cx.error(&at.key("group"), e, None);
            None
        }
    });
    let limit = if group.is_some_and(|g| g.is_ipv6()) { 65_487 } else { 65_507 };
    if let Some(len) = c.max_packet_length.filter(|l| *l > limit) {
        let msg = format!("{len} bytes do not fit one IPv6 UDP datagram (at most {limit})");
        cx.error(&at.key("max_packet_length"), msg, Some("use a smaller length, or leave it to the interface's MTU"));
    }
    ConnectionSync {
        interface: c.interface.clone(),
        sync_id: c.sync_id.map_or(vrid, |v| u8::try_from(v).unwrap_or(u8::MAX)),
        max_len: c.max_packet_length.and_then(|v| u16::try_from(v).ok()),
        group,
        port: c.port.and_then(|v| u16::try_from(v).ok()),
        ttl: c.ttl.and_then(|v| u8::try_from(v).ok()),
    }
}

/// The kernel runs one master and one backup sync daemon per host: one instance per director.
fn one_sync_per_director(cx: &mut Cx, at: &KeyPath, instances: &BTreeMap<String, VrrpInstance>) {
    let mut first: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, i) in instances.iter().filter(|(_, i)| i.connection_sync.is_some()) {
        let mut clash: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for node in i.members.keys() {
            match first.get(node.as_str()) {
                Some(f) => clash.entry(f).or_default().push(node),
                None => {
                    first.insert(node, name);
                }
            }
        }
        for (f, nodes) in clash {
            let who = nodes.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
            let (noun, verb) = if nodes.len() == 1 { ("director", "syncs") } else { ("directors", "sync") };
            let msg = format!(
                "{noun} {who} already {verb} connections for instance `{f}`, and the kernel runs one sync daemon of each kind per host"
            );
            cx.error(
                &at.name(name).key("connection_sync"),
                msg,
                Some("keep `connection_sync` on one instance: its daemon carries the connections of every service"),
            );
        }
    }
}

/// A tracked object whose weight can never change which member is master: a failing
/// script that leaves the master above every other member, or a passing one that leaves a
/// lower member below. Compared with the other members' base priorities (equal priorities
/// go to the higher address, so a tie may change the election and is not reported).
fn idle_weights(cx: &mut Cx, path: &KeyPath, i: &types::VrrpInstance, members: &BTreeMap<String, Member>) {
    for (name, m) in members {
        let Some(top) = members.iter().filter(|(o, _)| *o != name).map(|(_, o)| i32::from(o.priority)).max() else {
            continue;
        };
        let p = i32::from(m.priority);
        let objects = m
            .track_scripts
            .iter()
            .map(|o| ("track_scripts", o))
            .chain(m.track_interfaces.iter().map(|o| ("track_interfaces", o)));
        for (kind, (object, fw)) in objects {
            // A negative weight applies while failing, a positive one while passing;
            // `reverse` turns the change round.
            let (w, change) = (fw.weight, if fw.reverse { -fw.weight } else { fw.weight });
            let moved = (p + change).clamp(1, 254);
            let idle = (change < 0 && p > top && moved > top) || (change > 0 && p < top && moved < top);
            if !idle {
                continue;
            }
            let own = i.members.get(name).is_some_and(|mm| match kind {
                "track_scripts" => mm.track_scripts.contains_key(object),
                _ => mm.track_interfaces.contains_key(object),
            });
            let at = if own { path.key("members").name(name) } else { path.clone() };
            let when = if w < 0 { "failing" } else { "passing" };
            let side = if change < 0 { "above" } else { "below" };
            let reverse = if fw.reverse { " reverse" } else { "" };
            let msg = format!(
                "weight {w}{reverse} never changes the election: {when}, `{object}` moves `{name}` from {p} to {moved}, still {side} the other members' highest priority {top}"
            );
            cx.warn(
                &at.key(kind).name(object),
                msg,
                Some("choose a weight that crosses the other members' priority, or 0 for FAULT"),
            );
        }
    }
}

/// Checks the names of tracked scripts and interfaces (of an instance or a member).
pub(super) fn tracked(
    cx: &mut Cx,
    path: &KeyPath,
    track_scripts: &BTreeMap<String, types::TrackWeight>,
    track_interfaces: &BTreeMap<String, types::TrackWeight>,
    scripts: &BTreeMap<String, TrackScript>,
) {
    for s in track_scripts.keys() {
        if !scripts.contains_key(s) {
            let hint = match scripts.keys().cloned().collect::<Vec<_>>() {
                names if names.is_empty() => "define it under the top-level `track_scripts`".to_string(),
                names => format!("define it under the top-level `track_scripts` (defined: {})", names.join(", ")),
            };
            cx.error(&path.key("track_scripts").name(s), format!("unknown track script `{s}`"), Some(&hint));
        }
    }
    for s in track_interfaces.keys() {
        if let Err(e) = parse::interface(s) {
            cx.error(&path.key("track_interfaces").name(s), e, None);
        }
    }
}

/// Each track file and tracked process `used` (an instance's or a sync group's) is defined
/// under the top-level `track_files` / `track_processes`.
pub(super) fn known_files_processes(
    cx: &mut Cx,
    path: &KeyPath,
    used: (&BTreeMap<String, types::TrackFileUse>, &BTreeMap<String, types::TrackProcessUse>),
    (m_files, m_procs): (&BTreeMap<String, types::TrackFile>, &BTreeMap<String, types::TrackProcess>),
) {
    let unknown = |defined: Vec<&String>, key: &str| match defined {
        names if names.is_empty() => format!("define it under the top-level `{key}`"),
        names => {
            let names: Vec<&str> = names.into_iter().map(String::as_str).collect();
            format!("define it under the top-level `{key}` (defined: {})", names.join(", "))
        }
    };
    for f in used.0.keys().filter(|f| !m_files.contains_key(*f)) {
        let hint = unknown(m_files.keys().collect(), "track_files");
        cx.error(&path.key("track_files").name(f), format!("unknown track file `{f}`"), Some(&hint));
    }
    for p in used.1.keys().filter(|p| !m_procs.contains_key(*p)) {
        let hint = unknown(m_procs.keys().collect(), "track_processes");
        cx.error(&path.key("track_processes").name(p), format!("unknown track process `{p}`"), Some(&hint));
    }
}

/// A tracked object's weight and `reverse` as written, where it is defined or used.
pub(super) trait Weighted {
    fn written(&self) -> (Option<i32>, Option<bool>);
}

macro_rules! weighted {
    ($($t:ty),*) => {$(
        impl Weighted for $t {
            fn written(&self) -> (Option<i32>, Option<bool>) {
                (self.weight, self.reverse)
            }
        }
    )*};
}

weighted!(types::TrackFileUse, types::TrackFile, types::TrackProcessUse, types::TrackProcess);

/// The tracked objects (files or processes) an instance uses, with the object's weight
/// (else `default`) and `reverse` where the instance gives none (an unknown one is left
/// out: [`instance`] reports it).
pub(super) fn used_weights<U: Weighted, D: Weighted>(
    used: &BTreeMap<String, U>,
    defined: &BTreeMap<String, D>,
    default: i32,
) -> BTreeMap<String, FileWeight> {
    let known = used.iter().filter_map(|(n, u)| defined.get(n).map(|d| (n, u.written(), d.written())));
    known
        .map(|(n, (uw, ur), (dw, dr))| {
            (n.clone(), FileWeight { weight: uw.or(dw).unwrap_or(default), reverse: ur.or(dr).unwrap_or(false) })
        })
        .collect()
}

/// The instance's tracked objects with the member's over them, as name -> weight and
/// `reverse`.
fn weights(
    instance: &BTreeMap<String, types::TrackWeight>,
    member: &BTreeMap<String, types::TrackWeight>,
) -> BTreeMap<String, FileWeight> {
    instance.iter().chain(member).map(|(k, w)| (k.clone(), track_weight(w))).collect()
}

/// A tracked script's or interface's weight and `reverse` (default false).
pub(super) fn track_weight(w: &types::TrackWeight) -> FileWeight {
    FileWeight { weight: w.weight, reverse: w.reverse.unwrap_or(false) }
}

/// The advertised VIPs: each valid, all of one family, IPv4 on a version-2 instance.
fn vips(cx: &mut Cx, at: &KeyPath, list: &[types::VipEntry], version: u8) -> Vec<Vip> {
    let out = super::vips::entries(cx, at, list, &[]);
    let v6 = out.iter().filter(|v| v.addr().is_ipv6()).count();
    if v6 > 0 && v6 < out.len() {
        cx.error(
            at,
            "the VIPs an instance advertises are all IPv4 or all IPv6 (keepalived ignores the other family's)",
            Some("move the other family's addresses to `excluded_vips`, or split them into two instances"),
        );
    }
    if v6 > 0 && version == 2 {
        cx.error(
            at,
            "VRRP version 2 carries only IPv4 addresses",
            Some("use `version: 3` for IPv6 VIPs (keepalived does too), or list them under `excluded_vips`"),
        );
    }
    out
}

fn advert(cx: &mut Cx, at: &KeyPath, d: Option<&types::Duration>, version: u8) -> Duration {
    let a = dur(cx, at, d, Duration::from_secs(1));
    let ms = a.as_millis();
    if version == 2 && (!ms.is_multiple_of(1000) || !(1000..=255_000).contains(&ms)) {
        cx.error(
            at,
            format!("VRRPv2 adverts are whole seconds from 1s to 255s, not {ms}ms"),
            Some("use whole seconds, or `version: 3` for sub-second adverts"),
        );
    }
    if version == 3 && (!ms.is_multiple_of(10) || !(10..=40_950).contains(&ms)) {
        cx.error(at, format!("VRRPv3 adverts are multiples of 10ms from 10ms to 40.95s, not {ms}ms"), None);
    }
    a
}

fn members(
    cx: &mut Cx,
    path: &KeyPath,
    i: &types::VrrpInstance,
    nodes: &BTreeMap<String, Node>,
    (vips, v6): (&[Vip], bool),
    scripts: &BTreeMap<String, TrackScript>,
) -> BTreeMap<String, Member> {
    let mut out = BTreeMap::new();
    for (name, m) in &i.members {
        let at = path.key("members").name(name);
        let Some(node) = nodes.get(name) else {
            cx.error(&at, format!("unknown node `{name}`"), Some(&unknown_node_hint(name, nodes)));
            continue;
        };
        if !node.director {
            cx.error(
                &at,
                format!("node `{name}` is a VRRP member but not a director"),
                Some("add `director` to its roles"),
            );
        }
        check_priority(cx, &at.key("priority"), m.priority, node, vips);
        let interface = m.interface.clone().or(i.interface.clone()).unwrap_or(node.interface.clone());
        for (key, iface) in [("interface", &m.interface), ("vip_interface", &i.vip_interface)] {
            if let Some(Err(e)) = iface.as_deref().map(parse::interface) {
                cx.error(&at.key(key), e, None);
            }
        }
        let vip_interface = i.vip_interface.clone().unwrap_or(interface.clone());
        let priority = u8::try_from(m.priority).unwrap_or(255);
        tracked(cx, &at, &m.track_scripts, &m.track_interfaces, scripts);
        let track_scripts = weights(&i.track_scripts, &m.track_scripts);
        let track_interfaces = weights(&i.track_interfaces, &m.track_interfaces);
        let own = [
            &m.notify_master,
            &m.notify_backup,
            &m.notify_fault,
            &m.notify_stop,
            &m.notify,
            &m.notify_master_rx_lower_pri,
        ];
        let notify = notify(cx, &at, own);
        let unicast = i.unicast_peers.is_some();
        let source = super::garp::source(cx, &at.key("source"), m.source.as_deref(), node, v6, unicast);
        out.insert(
            name.clone(),
            Member {
                priority,
                interface,
                vip_interface,
                source,
                track_scripts,
                track_interfaces,
                track_files: BTreeMap::new(),
                track_processes: BTreeMap::new(),
                notify,
            },
        );
    }
    if let Some(Err(e)) = i.interface.as_deref().map(parse::interface) {
        cx.error(&path.key("interface"), e, None);
    }
    out
}

/// An instance without VIPs elects a master that holds nothing: useful only when a notify
/// command moves the address (a cloud provider's API); without one it is a mistake.
fn holds_nothing(cx: &mut Cx, path: &KeyPath, i: &types::VrrpInstance) {
    let commands =
        [&i.notify_master, &i.notify].into_iter().chain(i.members.values().flat_map(|m| [&m.notify_master, &m.notify]));
    if i.vips.is_empty() && i.excluded_vips.is_empty() && commands.flatten().next().is_none() {
        cx.warn(
            &path.key("vips"),
            "the instance has no VIP and no `notify_master` or `notify` command: its master holds nothing",
            Some("list the addresses under `vips`, or add the command that moves the address"),
        );
    }
}

/// A VIP that is some node's own address: only that node, as a member at priority 255 (the
/// address owner), may hold it; anyone else would take the address from it.
fn vip_owners(
    cx: &mut Cx,
    at: &KeyPath,
    vips: &[Vip],
    members: &BTreeMap<String, Member>,
    nodes: &BTreeMap<String, Node>,
) {
    for (n, vip) in vips.iter().enumerate() {
        let Some(owner) = nodes.values().find(|o| o.addresses.iter().any(|a| a.addr() == vip.addr())) else {
            continue;
        };
        let msg = match members.get(&owner.name) {
            Some(m) if m.priority == 255 => continue,
            Some(m) => format!(
                "VIP {} is member `{}`'s own address, but at priority {} another member can take it from that node",
                vip.addr(),
                owner.name,
                m.priority
            ),
            None => format!(
                "VIP {} is node `{}`'s address, which is not a member: the master would take it from that node",
                vip.addr(),
                owner.name
            ),
        };
        cx.error(&at.index(n), msg, Some("use an address no node has as the VIP (or make its owner priority 255)"));
    }
}

fn check_priority(cx: &mut Cx, at: &KeyPath, priority: u32, node: &Node, vips: &[Vip]) {
    if priority != 255 {
        return;
    }
    let owns_all = !vips.is_empty() && vips.iter().all(|v| node.addresses.iter().any(|a| a.addr() == v.addr()));
    if !owns_all {
        let msg =
            format!("priority 255 is only for the owner of every VIP, and node `{}` does not own them", node.name);
        cx.error(at, msg, Some("use a priority from 1 to 254"));
    }
}

/// VRRPv2 authentication: only with version 2, AH only over IPv4 (as keepalived), and its
/// password from exactly one place.
fn auth(
    cx: &mut Cx,
    at: &KeyPath,
    a: Option<&types::Authentication>,
    (version, v6): (u8, bool),
) -> Option<(VrrpAuth, Secret)> {
    let a = a?;
    let kind = match a.kind {
        types::AuthType::Pass => VrrpAuth::Pass,
        types::AuthType::Ah => VrrpAuth::Ah,
    };
    if kind == VrrpAuth::Ah && v6 {
        cx.error(
            &at.key("type"),
            "IPsec AH authentication exists only for IPv4 VRRPv2 (keepalived ignores it with IPv6)",
            Some("remove `authentication` (VRRPv3 over IPv6 has none), or advertise IPv4 VIPs with `version: 2`"),
        );
    } else if version != 2 {
        cx.error(
            at,
            "authentication exists only in VRRP version 2",
            Some("set `version: 2`, or remove `authentication` (RFC 5798 dropped it)"),
        );
    }
    let secret = secret(cx, at, a)?;
    Some((kind, secret))
}

/// Where the password of `a` is.
fn secret(cx: &mut Cx, at: &KeyPath, a: &types::Authentication) -> Option<Secret> {
    match (&a.password_file, &a.password_env) {
        (Some(f), None) => {
            let path = cx.manifest_dir().join(f);
            super::secret_file(cx, &at.key("password_file"), &path, crate::model::password::problem);
            Some(Secret::File(path))
        }
        (None, Some(v)) => {
            super::env_name(cx, &at.key("password_env"), v);
            Some(Secret::Env(v.clone()))
        }
        _ => {
            cx.error(
                at,
                "give exactly one of `password_file` and `password_env`",
                Some("the password is never written in the manifest itself"),
            );
            None
        }
    }
}

fn peers(
    cx: &mut Cx,
    at: &KeyPath,
    list: Option<&Vec<String>>,
    nodes: &BTreeMap<String, Node>,
    v6: bool,
) -> Option<Vec<IpAddr>> {
    let mut out = Vec::new();
    for (n, p) in list?.iter().enumerate() {
        let addr = match nodes.get(p) {
            Some(node) => node.address_of(v6),
            None => parse::address(p).ok(),
        };
        match addr {
            Some(a) if a.is_ipv6() == v6 => out.push(a),
            Some(a) => cx.error(&at.index(n), format!("peer {a} is not of the VIPs' address family"), None),
            None if nodes.contains_key(p) => {
                cx.error(&at.index(n), format!("node `{p}` has no address of the VIPs' family"), None)
            }
            None => cx.error(
                &at.index(n),
                format!("`{p}` is neither a node nor an IP address"),
                Some(&unknown_node_hint(p, nodes)),
            ),
        }
    }
    Some(out)
}

fn vrid_unique(cx: &mut Cx, at: &KeyPath, instances: &BTreeMap<String, VrrpInstance>) {
    let mut seen: BTreeMap<(String, String, bool, u8), String> = BTreeMap::new();
    for (name, i) in instances {
        let v6 = i.is_v6();
        for (node, m) in &i.members {
            let key = (node.clone(), m.interface.clone(), v6, i.vrid);
            if let Some(first) = seen.insert(key, name.clone()).filter(|f| f != name) {
                let msg = format!(
                    "VRID {} is already used by instance `{first}` on {} of node `{node}`",
                    i.vrid, m.interface
                );
                cx.error(&at.name(name).key("vrid"), msg, Some("every instance on an interface needs its own VRID"));
            }
        }
    }
}

fn vips_unique(cx: &mut Cx, at: &KeyPath, instances: &BTreeMap<String, VrrpInstance>) {
    let mut seen: BTreeMap<IpAddr, String> = BTreeMap::new();
    for (name, i) in instances {
        let listed = i.vips.iter().enumerate().map(|(n, v)| ("vips", n, v));
        for (key, n, v) in listed.chain(i.excluded.iter().enumerate().map(|(n, v)| ("excluded_vips", n, v))) {
            if let Some(first) = seen.insert(v.addr(), name.clone()).filter(|f| f != name) {
                cx.error(
                    &at.name(name).key(key).index(n),
                    format!("VIP {} is also held by instance `{first}`", v.addr()),
                    None,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// `VI_1` with `extra` lines added to the instance and `member` to lb1's settings.
    fn manifest(extra: &str, member: &str) -> String {
        format!(
            "version: 1
nodes:
  lb1: {{roles: [director], addresses: [10.0.0.11/24], interface: eth0}}
  lb2: {{roles: [director], addresses: [10.0.0.12/24], interface: eth0}}
vrrp:
  VI_1:
    vrid: 10
    members:
      lb1: {{priority: 150{member}}}
      lb2: {{priority: 100}}
    vips: [10.0.0.100]
{extra}"
        )
    }

    fn errors(text: &str) -> Vec<String> {
        let loaded = crate::manifest::parse("m.yaml", PathBuf::from("."), text.as_bytes()).unwrap();
        match crate::model::validate(&loaded, &crate::model::NoFacts) {
            Ok(_) => Vec::new(),
            Err(p) => p.0.iter().map(|p| format!("{}: {}", p.path, p.message)).collect(),
        }
    }

    #[test]
    fn notify_commands_are_absolute_and_not_empty_at_their_key() {
        let extra = "    notify_master: [notify.sh, master]
    notify_backup: []
    notify_fault: ['']
    notify_stop: [/usr/local/bin/stop]
    notify: [./event]
    notify_timeout: 0s
";
        let member = ", notify_master: [bin/lb1-master], notify_stop: []";
        assert_eq!(
            errors(&manifest(extra, member)),
            [
                "vrrp.VI_1.members.lb1.notify_master[0]: `bin/lb1-master` is not an absolute path",
                "vrrp.VI_1.members.lb1.notify_stop: the command is empty",
                "vrrp.VI_1.notify_master[0]: `notify.sh` is not an absolute path",
                "vrrp.VI_1.notify_backup: the command is empty",
                "vrrp.VI_1.notify_fault: the command is empty",
                "vrrp.VI_1.notify[0]: `./event` is not an absolute path",
                "vrrp.VI_1.notify_timeout: a notify timeout is more than 0s and at most 1h, not 0s",
            ]
        );
        let long = manifest("    notify: [/usr/local/bin/event]\n    notify_timeout: 2h\n", "");
        assert_eq!(
            errors(&long),
            ["vrrp.VI_1.notify_timeout: a notify timeout is more than 0s and at most 1h, not 7200s"]
        );
    }

    fn warnings(text: &str) -> Vec<String> {
        let loaded = crate::manifest::parse("m.yaml", PathBuf::from("."), text.as_bytes()).unwrap();
        let v = crate::model::validate(&loaded, &crate::model::NoFacts).unwrap();
        v.warnings.iter().map(|p| format!("{}: {}", p.path, p.message)).collect()
    }

    #[test]
    fn vips_take_keepalived_options_and_excluded_vips_of_either_family() {
        let text = manifest("", "").replace(
            "    vips: [10.0.0.100]\n",
            "    version: 2
    vips:
      - {address: 10.0.0.100/25, label: 'eth0:1', broadcast: '-', scope: 253}
      - {address: 10.0.1.100/24, interface: eth1, label: eth1, scope: host}
    excluded_vips: [fd00::100/64, {address: 10.0.0.101, broadcast: 10.0.0.255}]
",
        );
        assert_eq!(errors(&text), Vec::<String>::new());
        let loaded = crate::manifest::parse("m.yaml", PathBuf::from("."), text.as_bytes()).unwrap();
        let c = crate::model::validate(&loaded, &crate::model::NoFacts).unwrap().cluster;
        let i = &c.vrrp["VI_1"];
        let shown: Vec<String> = i.held().map(|v| v.address("eth0").to_string()).collect();
        assert_eq!(
            shown,
            [
                "10.0.0.100/25 on eth0 label eth0:1 brd 10.0.0.0 scope link",
                "10.0.1.100/24 on eth1 label eth1 scope host",
                "fd00::100/64 on eth0",
                "10.0.0.101/32 on eth0 brd 10.0.0.255",
            ]
        );
        assert!(!i.is_v6(), "the advertised VIPs set the family");
    }

    #[test]
    fn an_instance_without_vips_is_valid_and_warned_about_only_without_a_command() {
        let bare = manifest("", "").replace("    vips: [10.0.0.100]\n", "");
        assert_eq!(errors(&bare), Vec::<String>::new());
        assert_eq!(
            warnings(&bare),
            [
                "vrrp.VI_1.vips: the instance has no VIP and no `notify_master` or `notify` command: its master holds nothing"
            ]
        );
        let cloud =
            manifest("    notify_master: [/usr/local/bin/move-eip]\n", "").replace("    vips: [10.0.0.100]\n", "");
        assert_eq!(warnings(&cloud), Vec::<String>::new());
    }

    #[test]
    fn a_member_runs_its_own_commands_and_the_instances_others() {
        let extra = "    notify_master: [/usr/local/bin/master, VI_1]
    notify: [/usr/local/bin/event]
";
        let member = ", notify_master: [/usr/local/bin/lb1-master], notify_fault: [/usr/local/bin/page, lb1]";
        let text = manifest(extra, member);
        let loaded = crate::manifest::parse("m.yaml", PathBuf::from("."), text.as_bytes()).unwrap();
        let c = crate::model::validate(&loaded, &crate::model::NoFacts).unwrap().cluster;
        let i = &c.vrrp["VI_1"];
        assert_eq!(i.notify_timeout, super::NOTIFY_TIMEOUT);
        let lb1 = i.notify_of("lb1");
        let words = |c: Option<Vec<String>>| c.map(|c| c.join(" "));
        assert_eq!(words(lb1.master).as_deref(), Some("/usr/local/bin/lb1-master"));
        assert_eq!(words(lb1.fault).as_deref(), Some("/usr/local/bin/page lb1"));
        assert_eq!(words(lb1.generic).as_deref(), Some("/usr/local/bin/event"));
        assert_eq!(lb1.backup, None);
        let lb2 = i.notify_of("lb2");
        assert_eq!(words(lb2.master).as_deref(), Some("/usr/local/bin/master VI_1"));
        assert_eq!(lb2.fault, None, "lb1's own command is lb1's only");
    }
}
