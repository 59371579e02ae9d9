//! What a node's host must offer before `apply` or `run` may act for it, checked by `plan`
//! first: the host holds the node's address, every interface the node names exists (a VMAC's
//! name is free, or names a VMAC), the VRRP passwords it needs can be read and are usable,
//! and every command it would run is
//! absolute, present, executable and changeable by root alone; the basic-auth passwords of
//! its HTTP checks that come from the environment are set and usable. Pure: the host comes
//! in as its live state and [`Facts`].
//!
//! ```text
//! preflight(&Cluster, node, &NodeState, Some(&dyn Facts)) -> Vec<Finding>   on the node itself
//! preflight(&Cluster, node, &NodeState, None)             -> Vec<Finding>   a snapshot: links only
//! ```

use std::path::Path;

use crate::manifest::KeyPath;

use super::cluster::{CheckKind, Cluster, Member, Node, Secret, VrrpInstance};
use super::net::Vmac;
use super::state::NodeState;
use super::validate::{Facts, ScriptFact};

/// One thing the host lacks, at the manifest key it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The manifest key.
    pub path: KeyPath,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// Checks `node` against its host. `facts` is `None` when the live state is a snapshot of
/// another machine: only what the snapshot shows (its interfaces) is checked then.
pub fn preflight(c: &Cluster, node: &str, live: &NodeState, facts: Option<&dyn Facts>) -> Vec<Finding> {
    let Some(n) = c.nodes.get(node) else { return Vec::new() };
    let mut out = Vec::new();
    if !live.links.is_empty() {
        interfaces(&mut out, c, n, live);
    }
    if facts.is_some() && !(n.dynamic_interfaces && waits_for_interfaces(c, n, live)) {
        address(&mut out, n, live);
    }
    if let Some(facts) = facts {
        secrets(&mut out, c, n, facts);
        check_secrets(&mut out, c, n, facts);
        for (path, command, user) in commands(c, n) {
            command_file(&mut out, &path, &command, facts);
            if let Some(user) = user.filter(|u| !facts.user_exists(u)) {
                let msg = format!("the script check runs as user `{user}`, who does not exist on this host");
                out.push(finding(path, msg, "create the user, or set health_check.user to one that exists"));
            }
        }
    }
    out
}

fn finding(path: KeyPath, message: String, hint: &str) -> Finding {
    Finding { path, message, hint: Some(hint.to_string()) }
}

/// The host holds at least one of the node's addresses (else the plan is for another host).
fn address(out: &mut Vec<Finding>, n: &Node, live: &NodeState) {
    let held = live.addresses.keys().any(|k| n.addresses.iter().any(|a| a.addr() == k.address.addr()));
    if !held && !n.addresses.is_empty() {
        let list: Vec<String> = n.addresses.iter().map(ToString::to_string).collect();
        out.push(finding(
            KeyPath::root().key("nodes").name(&n.name).key("addresses"),
            format!("this host holds none of node `{}`'s addresses ({})", n.name, list.join(", ")),
            "plan on that node's host, or preview it with --live SNAPSHOT",
        ));
    }
}

/// True when an interface of the node's VRRP instances, or its own, is missing: with
/// `dynamic_interfaces` its addresses may be on interfaces not made yet.
fn waits_for_interfaces(c: &Cluster, n: &Node, live: &NodeState) -> bool {
    let at = KeyPath::root();
    let members = c.vrrp.values().filter_map(|i| Some((i, i.members.get(&n.name)?)));
    let mut named = members.flat_map(|(i, m)| instance_interfaces(i, m, at.clone()));
    !live.links.contains_key(&n.interface) || named.any(|(_, iface)| !live.links.contains_key(iface))
}

/// Every interface the node's configuration names. With `dynamic_interfaces`, those of its
/// VRRP instances may be missing (the instance waits for them in FAULT), and so may its own
/// interface when nothing is written on it (a director carrying no service, not a real
/// server: else its sysctls are).
fn interfaces(out: &mut Vec<Finding>, c: &Cluster, n: &Node, live: &NodeState) {
    let node_at = KeyPath::root().key("nodes").name(&n.name);
    let carries = c.services.values().any(|s| s.directors.contains(&n.name));
    // Each with whether `dynamic_interfaces` would let it be missing.
    let mut named: Vec<(KeyPath, &str, bool)> = Vec::new();
    if !n.dynamic_interfaces || n.real_server || carries {
        named.push((node_at.key("interface"), &n.interface, !n.real_server && !carries));
    }
    for inst in c.vrrp.values() {
        let Some(m) = inst.members.get(&n.name) else { continue };
        let at = KeyPath::root().key("vrrp").name(&inst.name).key("members").name(&n.name);
        if let Some(v) = inst.vmac_of(&n.name) {
            vmac_free(out, &inst.name, &v, live);
        }
        if !n.dynamic_interfaces {
            named.extend(instance_interfaces(inst, m, at).into_iter().map(|(p, i)| (p, i, true)));
        }
        if let Some(iface) = inst.connection_sync.as_ref().and_then(|c| c.interface.as_deref()) {
            let at = KeyPath::root().key("vrrp").name(&inst.name).key("connection_sync").key("interface");
            named.push((at, iface, false));
        }
    }
    let mut seen = Vec::new();
    for (path, iface, may_wait) in named {
        if live.links.contains_key(iface) || seen.contains(&iface) {
            continue;
        }
        seen.push(iface);
        let have: Vec<&str> = live.links.keys().map(String::as_str).collect();
        let hint = match may_wait {
            true => format!(
                "{MISSING_HINT}, or set `nodes.{}.dynamic_interfaces: true` to start its VRRP instances in FAULT until it exists",
                n.name
            ),
            false => MISSING_HINT.to_string(),
        };
        let message = format!("interface {iface} does not exist (the host has: {})", have.join(", "));
        out.push(Finding { path, message, hint: Some(hint) });
    }
}

/// How to fix a missing interface.
const MISSING_HINT: &str = "name the node's real interface, or create it before applying";

/// The interfaces a VRRP member names, each at its key: its own, its VIP interface (unless
/// a VMAC holds the VIPs), the ones it tracks and the VIPs' own.
fn instance_interfaces<'a>(inst: &'a VrrpInstance, m: &'a Member, at: KeyPath) -> Vec<(KeyPath, &'a str)> {
    let mut named = vec![(at.clone(), m.interface.as_str())];
    if inst.vmac.is_none() {
        named.push((at.clone(), &m.vip_interface));
    }
    named.extend(m.track_interfaces.keys().map(|i| (at.key("track_interfaces").name(i), i.as_str())));
    let inst_at = KeyPath::root().key("vrrp").name(&inst.name);
    for (key, vips) in [("vips", &inst.vips), ("excluded_vips", &inst.excluded)] {
        let own = vips.iter().enumerate().filter_map(|(i, v)| Some((i, v.interface.as_deref()?)));
        named.extend(own.map(|(i, iface)| (inst_at.key(key).index(i).key("interface"), iface)));
    }
    named
}

/// A VMAC's name is free on the host, or the VMAC exists already (the daemon made it, with
/// these settings or others it replaces); any other interface of the name is the user's.
fn vmac_free(out: &mut Vec<Finding>, instance: &str, v: &Vmac, live: &NodeState) {
    let ours = live.vmacs.iter().any(|l| l.name == v.name);
    if live.links.contains_key(&v.name) && !ours {
        out.push(finding(
            KeyPath::root().key("vrrp").name(instance).key("vmac"),
            format!("interface {} exists on this host and is not a VMAC", v.name),
            "give the VMAC another `name` (lbconverge never replaces an interface it did not make)",
        ));
    }
}

/// The PASS passwords of the node's VRRP instances that come from the environment (files
/// are checked by validation, beside the manifest).
fn secrets(out: &mut Vec<Finding>, c: &Cluster, n: &Node, facts: &dyn Facts) {
    for inst in c.vrrp.values().filter(|i| i.members.contains_key(&n.name)) {
        let Some((_, Secret::Env(var))) = &inst.auth else { continue };
        let at = KeyPath::root().key("vrrp").name(&inst.name).key("authentication").key("password_env");
        match facts.env(var) {
            None => out.push(finding(at, format!("environment variable {var} is not set"), ENV_HINT)),
            Some(text) => {
                if let Err((message, hint)) = super::password::problem(&text) {
                    out.push(Finding { path: at, message: format!("{var}: {message}"), hint: Some(hint) });
                }
            }
        }
    }
}

/// The basic-auth passwords of the node's HTTP checks that come from the environment.
fn check_secrets(out: &mut Vec<Finding>, c: &Cluster, n: &Node, facts: &dyn Facts) {
    for vs in c.services.values().filter(|s| s.directors.contains(&n.name)) {
        for be in &vs.backends {
            let envs = be.checks.iter().filter_map(|ck| match &ck.kind {
                CheckKind::Http { http, .. } => match &http.auth {
                    Some((_, Secret::Env(var))) => Some(var),
                    _ => None,
                },
                _ => None,
            });
            for var in envs {
                let at = KeyPath::root().key("services").name(&vs.name).key("backends").name(&be.name);
                let problem = match facts.env(var) {
                    None => Some((format!("environment variable {var} is not set"), ENV_HINT.to_string())),
                    Some(text) => super::password::basic_problem(&text).err().map(|(m, h)| (format!("{var}: {m}"), h)),
                };
                if let Some((message, hint)) = problem {
                    let message = format!("the basic-auth password of its http check: {message}");
                    out.push(Finding { path: at, message, hint: Some(hint) });
                }
            }
        }
    }
}

/// Where an environment variable of the daemon is set.
const ENV_HINT: &str = "set it in the environment of lbconverge (e.g. the unit's EnvironmentFile)";

/// Every command the node runs, with where it is written and the user it runs as (script
/// checks only; the others run as root).
fn commands(c: &Cluster, n: &Node) -> Vec<(KeyPath, Vec<String>, Option<String>)> {
    let mut out = Vec::new();
    for inst in c.vrrp.values() {
        let Some(m) = inst.members.get(&n.name) else { continue };
        let at = KeyPath::root().key("vrrp").name(&inst.name);
        // The commands this member runs: its own where it has them, else the instance's.
        let member_at = at.key("members").name(&n.name);
        for ((key, shared), (_, own)) in inst.notify.keyed().into_iter().zip(m.notify.keyed()) {
            match own {
                Some(cmd) => out.push((member_at.key(key), cmd.clone(), None)),
                None => out.extend(shared.map(|cmd| (at.key(key), cmd.clone(), None))),
            }
        }
        for s in m.track_scripts.keys() {
            if let Some(t) = c.track_scripts.get(s) {
                out.push((KeyPath::root().key("track_scripts").name(s).key("command"), t.command.clone(), None));
            }
        }
    }
    for vs in c.services.values().filter(|s| s.directors.contains(&n.name)) {
        let at = KeyPath::root().key("services").name(&vs.name);
        let hooks = [("notify_up", &vs.notify_up), ("notify_down", &vs.notify_down)]
            .into_iter()
            .chain([("quorum_up", &vs.quorum_up), ("quorum_down", &vs.quorum_down)]);
        out.extend(hooks.filter_map(|(k, cmd)| Some((at.key(k), cmd.clone()?, None))));
        for be in &vs.backends {
            for ck in &be.checks {
                if let CheckKind::Script { command, user, .. } = &ck.kind {
                    out.push((at.key("backends").name(&be.name), command.clone(), Some(user.clone())));
                }
            }
        }
    }
    if n.director {
        for (i, f) in c.notify_fifos.iter().enumerate() {
            let at = KeyPath::root().key("notify_fifos").index(i).key("command");
            out.extend(f.command.as_ref().map(|cmd| (at, cmd.clone(), None)));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// keepalived's `enable_script_security`: the program exists, is executable, and nobody but
/// root can change it or a directory above it.
fn command_file(out: &mut Vec<Finding>, at: &KeyPath, command: &[String], facts: &dyn Facts) {
    let Some(prog) = command.first().filter(|p| p.starts_with('/')) else { return };
    let (message, hint) = match facts.script(Path::new(prog)) {
        ScriptFact::Safe => return,
        ScriptFact::Missing => (format!("{prog} does not exist on this host"), "install it, or fix the path"),
        ScriptFact::NotExecutable => (format!("{prog} is not executable"), "chmod 755 it (owner root)"),
        ScriptFact::Unsafe { path, why } => (
            format!("{prog} runs as root's delegate but may be changed by others: {} is {why}", path.display()),
            "make it and every directory above it owned by root and writable by root only",
        ),
    };
    out.push(finding(at.clone(), message, hint));
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::model::net::{Address, Link};
    use crate::model::validate::FileFact;

    /// A host described by hand.
    #[derive(Default)]
    struct Host {
        env: BTreeMap<String, String>,
        scripts: BTreeMap<String, ScriptFact>,
        users: Vec<String>,
    }

    impl Facts for Host {
        fn secret_file(&self, _: &Path) -> FileFact {
            FileFact::Mode(0o600)
        }
        fn secret_text(&self, _: &Path) -> Option<String> {
            None
        }
        fn env(&self, name: &str) -> Option<String> {
            self.env.get(name).cloned()
        }
        fn script(&self, path: &Path) -> ScriptFact {
            self.scripts.get(path.to_str().unwrap()).cloned().unwrap_or(ScriptFact::Missing)
        }
        fn user_exists(&self, name: &str) -> bool {
            self.users.iter().any(|u| u == name)
        }
    }

    const MANIFEST: &str = "version: 1
nodes:
  lvs01: {roles: [director], addresses: [10.0.0.11/24], interface: eth0}
  lvs02: {roles: [director], addresses: [10.0.0.12/24], interface: eth0}
track_scripts:
  chk_nginx: {command: [/usr/local/bin/chk_nginx]}
vrrp:
  VI_1:
    vrid: 10
    version: 2
    authentication: {type: pass, password_env: VI_PASS}
    notify: [/usr/local/bin/notify]
    members:
      lvs01: {priority: 100, track_scripts: {chk_nginx: {weight: -20}}, track_interfaces: {eth1: {weight: 0}}}
      lvs02: {priority: 90}
    vips: [10.0.0.100]
services:
  web:
    vip: 10.0.0.100
    port: 80
    health_check: {type: script, command: [/usr/local/bin/check, '{address}'], user: lbcheck}
    backends:
      a: {address: 10.0.0.21}
  api:
    vip: 10.0.0.100
    port: 8080
    health_check: {type: http, auth: {user: ops, password_env: CHECK_PASS}}
    backends:
      a: {address: 10.0.0.21}
";

    fn cluster() -> Cluster {
        let loaded = crate::manifest::parse("m.yaml", PathBuf::from("."), MANIFEST.as_bytes()).unwrap();
        crate::model::validate(&loaded, &crate::model::NoFacts).unwrap().cluster
    }

    fn live(address: &str, links: &[&str]) -> NodeState {
        let mut s = NodeState::default();
        let a = Address::plain("eth0", address.parse().unwrap());
        s.addresses.insert(a.key(), a);
        s.links = links.iter().map(|l| (l.to_string(), Link::UP)).collect();
        s
    }

    fn good_host() -> Host {
        let safe = |p: &str| (p.to_string(), ScriptFact::Safe);
        Host {
            env: [("VI_PASS".to_string(), "secret".to_string()), ("CHECK_PASS".into(), "s3cret".into())].into(),
            scripts: [safe("/usr/local/bin/chk_nginx"), safe("/usr/local/bin/notify"), safe("/usr/local/bin/check")]
                .into(),
            users: vec!["lbcheck".into()],
        }
    }

    fn messages(found: &[Finding]) -> Vec<String> {
        found.iter().map(|f| format!("{}: {}", f.path, f.message)).collect()
    }

    #[test]
    fn a_host_that_has_everything_passes() {
        let c = cluster();
        let h = good_host();
        assert_eq!(messages(&preflight(&c, "lvs01", &live("10.0.0.11/24", &["eth0", "eth1"]), Some(&h))), [""; 0]);
        assert_eq!(messages(&preflight(&c, "lvs02", &live("10.0.0.12/24", &["eth0"]), Some(&h))), [""; 0]);
    }

    #[test]
    fn each_missing_piece_of_the_host_is_named_at_its_key() {
        let c = cluster();
        let mut h = good_host();
        h.env.insert("VI_PASS".into(), "123456789\n".into());
        h.scripts.insert("/usr/local/bin/notify".into(), ScriptFact::NotExecutable);
        h.scripts.remove("/usr/local/bin/chk_nginx");
        let world = ScriptFact::Unsafe { path: "/usr/local/bin".into(), why: "writable by everyone".into() };
        h.scripts.insert("/usr/local/bin/check".into(), world);
        h.users.clear();
        let got = messages(&preflight(&c, "lvs01", &live("10.0.0.99/24", &["eth0"]), Some(&h)));
        let want = [
            "vrrp.VI_1.members.lvs01.track_interfaces.eth1: interface eth1 does not exist (the host has: eth0)",
            "nodes.lvs01.addresses: this host holds none of node `lvs01`'s addresses (10.0.0.11/24)",
            "vrrp.VI_1.authentication.password_env: VI_PASS: the password is 9 bytes; VRRPv2 PASS carries at most 8",
            "services.web.backends.a: /usr/local/bin/check runs as root's delegate but may be changed by others: /usr/local/bin is writable by everyone",
            "services.web.backends.a: the script check runs as user `lbcheck`, who does not exist on this host",
            "track_scripts.chk_nginx.command: /usr/local/bin/chk_nginx does not exist on this host",
            "vrrp.VI_1.notify: /usr/local/bin/notify is not executable",
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn a_vip_on_an_interface_the_host_lacks_is_named_at_its_key() {
        let text = MANIFEST.replace(
            "    vips: [10.0.0.100]\n",
            "    vips: [10.0.0.100]\n    excluded_vips: [{address: 10.0.3.5/24, interface: eth3}]\n",
        );
        let loaded = crate::manifest::parse("m.yaml", PathBuf::from("."), text.as_bytes()).unwrap();
        let c = crate::model::validate(&loaded, &crate::model::NoFacts).unwrap().cluster;
        let got = messages(&preflight(&c, "lvs02", &live("10.0.0.12/24", &["eth0"]), Some(&good_host())));
        assert_eq!(got, ["vrrp.VI_1.excluded_vips[0].interface: interface eth3 does not exist (the host has: eth0)"]);
    }

    #[test]
    fn track_scripts_of_one_member_are_run_by_that_member_only() {
        let c = cluster();
        let mut h = good_host();
        h.scripts.remove("/usr/local/bin/chk_nginx");
        let lvs02 = preflight(&c, "lvs02", &live("10.0.0.12/24", &["eth0"]), Some(&h));
        assert!(lvs02.is_empty(), "{:?}", messages(&lvs02));
        assert_eq!(
            c.vrrp["VI_1"].members["lvs01"].track_scripts,
            [("chk_nginx".to_string(), crate::model::cluster::FileWeight { weight: -20, reverse: false })].into()
        );
        assert!(c.vrrp["VI_1"].members["lvs02"].track_scripts.is_empty());
    }

    #[test]
    fn each_member_checks_the_notify_commands_it_runs_at_their_key() {
        let text = MANIFEST.replace(
            "    notify: [/usr/local/bin/notify]\n",
            "    notify: [/usr/local/bin/notify]\n    notify_master: [/usr/local/bin/master]\n    notify_stop: [/usr/local/bin/stop]\n",
        );
        let text =
            text.replace("lvs02: {priority: 90}", "lvs02: {priority: 90, notify_master: [/opt/lvs02/master, x]}");
        let loaded = crate::manifest::parse("m.yaml", PathBuf::from("."), text.as_bytes()).unwrap();
        let c = crate::model::validate(&loaded, &crate::model::NoFacts).unwrap().cluster;
        let mut h = good_host();
        h.scripts.insert("/usr/local/bin/stop".into(), ScriptFact::NotExecutable);
        let world = ScriptFact::Unsafe { path: "/opt/lvs02".into(), why: "writable by everyone".into() };
        h.scripts.insert("/opt/lvs02/master".into(), world);
        let lvs01 = messages(&preflight(&c, "lvs01", &live("10.0.0.11/24", &["eth0", "eth1"]), Some(&h)));
        assert_eq!(
            lvs01,
            [
                "vrrp.VI_1.notify_master: /usr/local/bin/master does not exist on this host",
                "vrrp.VI_1.notify_stop: /usr/local/bin/stop is not executable",
            ]
        );
        let lvs02 = messages(&preflight(&c, "lvs02", &live("10.0.0.12/24", &["eth0"]), Some(&h)));
        assert_eq!(
            lvs02,
            [
                "vrrp.VI_1.members.lvs02.notify_master: /opt/lvs02/master runs as root's delegate but may be changed by others: /opt/lvs02 is writable by everyone",
                "vrrp.VI_1.notify_stop: /usr/local/bin/stop is not executable",
            ],
            "lvs02 runs its own notify_master, not the instance's"
        );
    }

    #[test]
    fn a_snapshot_is_checked_for_interfaces_only() {
        let c = cluster();
        let got = messages(&preflight(&c, "lvs01", &live("10.0.0.99/24", &["eth0"]), None));
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains("interface eth1 does not exist"));
        assert!(preflight(&c, "lvs01", &NodeState::default(), None).is_empty(), "no links: nothing known");
    }

    #[test]
    fn an_unset_or_empty_password_variable_is_named() {
        let c = cluster();
        let mut h = good_host();
        h.env.remove("VI_PASS");
        let got = messages(&preflight(&c, "lvs02", &live("10.0.0.12/24", &["eth0"]), Some(&h)));
        assert_eq!(got, ["vrrp.VI_1.authentication.password_env: environment variable VI_PASS is not set"]);
        h.env.insert("VI_PASS".into(), String::new());
        let got = messages(&preflight(&c, "lvs02", &live("10.0.0.12/24", &["eth0"]), Some(&h)));
        assert_eq!(got, ["vrrp.VI_1.authentication.password_env: VI_PASS: the password is empty"]);
    }

    #[test]
    fn an_unset_or_unusable_check_password_variable_is_named() {
        let c = cluster();
        let mut h = good_host();
        h.env.remove("CHECK_PASS");
        let got = messages(&preflight(&c, "lvs02", &live("10.0.0.12/24", &["eth0"]), Some(&h)));
        let at = "services.api.backends.a: the basic-auth password of its http check";
        assert_eq!(got, [format!("{at}: environment variable CHECK_PASS is not set")]);
        h.env.insert("CHECK_PASS".into(), "a\x07b".into());
        let got = messages(&preflight(&c, "lvs02", &live("10.0.0.12/24", &["eth0"]), Some(&h)));
        assert_eq!(got, [format!("{at}: CHECK_PASS: the password holds a control character")]);
    }

    /// A director carrying no service, its instance on bond0 (with the VIP's own eth2).
    const DYNAMIC: &str = "version: 1
nodes:
  lvs01: {roles: [director], addresses: [10.0.0.11/24], interface: bond0, dynamic_interfaces: true}
  lvs02: {roles: [director], addresses: [10.0.0.12/24], interface: bond0}
vrrp:
  VI_1:
    vrid: 10
    members:
      lvs01: {priority: 100, track_interfaces: {eth1: {weight: 0}}}
      lvs02: {priority: 90}
    vips: [10.0.0.100, {address: 10.0.1.100/24, interface: eth2}]
";

    #[test]
    fn with_dynamic_interfaces_the_instances_interfaces_may_be_missing() {
        let loaded = crate::manifest::parse("m.yaml", PathBuf::from("."), DYNAMIC.as_bytes()).unwrap();
        let c = crate::model::validate(&loaded, &crate::model::NoFacts).unwrap().cluster;
        let h = Host::default();
        let bare = live("192.0.2.1/24", &["lo"]);
        assert_eq!(messages(&preflight(&c, "lvs01", &bare, Some(&h))), [""; 0], "missing: waited for");
        let whole = live("192.0.2.1/24", &["lo", "bond0", "eth1", "eth2"]);
        assert_eq!(
            messages(&preflight(&c, "lvs01", &whole, Some(&h))),
            ["nodes.lvs01.addresses: this host holds none of node `lvs01`'s addresses (10.0.0.11/24)"],
            "every interface there: another host"
        );
        assert_eq!(
            messages(&preflight(&c, "lvs02", &live("10.0.0.12/24", &["lo", "eth2"]), Some(&h))),
            ["nodes.lvs02.interface: interface bond0 does not exist (the host has: eth2, lo)"],
            "without the key: refused (once per interface)"
        );
    }
}
