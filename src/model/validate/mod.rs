//! Manifest -> Cluster: resolves references, applies defaults, parses addresses and
//! durations, and collects every problem with its key path and line. Pure: the only facts
//! from outside (secret files, environment) come in through [`Facts`].

mod alerts;
pub(crate) mod checks;
mod fifos;
mod garp;
mod group;
mod marks;
mod nodes;
pub mod parse;
mod route_encap;
mod routing;
mod services;
mod shared_lan;
mod strict;
mod sync_groups;
mod vips;
mod vmac;
mod vrrp;
mod vrrp_routes;
mod vrrp_rules;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::manifest::{KeyPath, Loaded, Problem, Problems, Severity, types};

use super::cluster::Cluster;

/// What validation may know about the machine it runs on.
pub trait Facts {
    /// The state of a secret file.
    fn secret_file(&self, path: &Path) -> FileFact;
    /// The first line of a secret file, when it can be read.
    fn secret_text(&self, path: &Path) -> Option<String>;
    /// The value of an environment variable, when it is set.
    fn env(&self, name: &str) -> Option<String>;
    /// Whether a command may be run by the daemon as root's delegate: it and every
    /// directory above it must be owned by root and writable by nobody else.
    fn script(&self, path: &Path) -> ScriptFact;
    /// Returns true if and only if the user exists on this machine.
    fn user_exists(&self, name: &str) -> bool;
}

/// What this machine says about a command's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptFact {
    /// It does not exist here (the manifest may describe other machines).
    Missing,
    /// It exists but is not an executable regular file.
    NotExecutable,
    /// It, or a directory above it, is not root's alone.
    Unsafe {
        /// The file or directory at fault.
        path: std::path::PathBuf,
        /// Why: `owned by uid 1000`, `writable by its group`, ...
        why: String,
    },
    /// It is owned and writable by root only, all the way up.
    Safe,
}

/// The state of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileFact {
    /// It does not exist.
    Missing,
    /// It exists, is a regular file, and has these permission bits.
    Mode(u32),
    /// It exists but is not a regular file (a directory, a FIFO, a device).
    NotRegular,
    /// It cannot be inspected.
    Unreadable(String),
}

/// Facts for a machine that has no secret files and no environment (tests, previews).
pub struct NoFacts;

impl Facts for NoFacts {
    fn secret_file(&self, _: &Path) -> FileFact {
        FileFact::Missing
    }
    fn secret_text(&self, _: &Path) -> Option<String> {
        None
    }
    fn env(&self, _: &str) -> Option<String> {
        None
    }
    fn script(&self, _: &Path) -> ScriptFact {
        ScriptFact::Missing
    }
    fn user_exists(&self, _: &str) -> bool {
        true
    }
}

/// A validated cluster and the warnings found on the way.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Validated {
    /// The cluster.
    pub cluster: Cluster,
    /// Problems that do not stop the manifest from working.
    pub warnings: Vec<Problem>,
}

/// Validates a loaded manifest; on error returns all problems (errors and warnings).
pub fn validate(loaded: &Loaded, facts: &dyn Facts) -> Result<Validated, Problems> {
    let mut cx = Cx { loaded, facts, problems: Vec::new() };
    let m = &loaded.manifest;
    let root = KeyPath::root();
    names(&mut cx, m);
    let nodes = nodes::nodes(&mut cx, &root.key("nodes"), &m.nodes);
    let (director_sysctls, real_server_sysctls) = nodes::role_sysctls(&mut cx, &m.role_sysctls);
    let track_scripts = vrrp::track_scripts(&mut cx, &root.key("track_scripts"), &m.track_scripts);
    let track_files = vrrp::track_files(&mut cx, &root.key("track_files"), &m.track_files);
    let track_processes = vrrp::track_processes(&mut cx, &root.key("track_processes"), &m.track_processes);
    let vrrp = vrrp::instances(&mut cx, &root.key("vrrp"), m, &nodes, &track_scripts);
    let tracked = (&track_scripts, &m.track_files, &m.track_processes);
    let sync_groups = sync_groups::sync_groups(&mut cx, &root.key("sync_groups"), &m.sync_groups, &vrrp, tracked);
    let services = services::services(&mut cx, &root.key("services"), m, &nodes, &vrrp);
    let marks = marks::marks(&mut cx, &root.key("services"), m, &services);
    let cluster = Cluster {
        name: m.cluster.clone(),
        nodes,
        vrrp,
        sync_groups,
        track_scripts,
        track_files,
        track_processes,
        services,
        marks,
        director_sysctls,
        real_server_sysctls,
        routing: routing(&mut cx, &root.key("routing"), m.routing.as_ref()),
        alerts: alerts::alerts(&mut cx, &root.key("alerts"), m),
        notify_fifos: fifos::fifos(&mut cx, &root.key("notify_fifos"), &m.notify_fifos),
    };
    fifos::priority_changes(&mut cx, &root.key("vrrp"), &cluster);
    routing::sessions_named(&mut cx, &root.key("services"), &cluster);
    let mut problems = cx.problems;
    problems.sort_by(|a, b| (a.pos, &a.path, &a.message).cmp(&(b.pos, &b.path, &b.message)));
    problems.dedup();
    if problems.iter().any(Problem::is_error) {
        return Err(Problems(problems));
    }
    Ok(Validated { cluster, warnings: problems })
}

/// Validation context: the manifest, the facts, and the problems found so far.
pub(crate) struct Cx<'a> {
    loaded: &'a Loaded,
    facts: &'a dyn Facts,
    problems: Vec<Problem>,
}

impl Cx<'_> {
    fn push(&mut self, severity: Severity, path: &KeyPath, message: String, hint: Option<String>) {
        let mut p = self.loaded.problem(severity, path.clone(), message);
        p.hint = hint;
        self.problems.push(p);
    }
    /// Records an error.
    fn error(&mut self, path: &KeyPath, message: impl Into<String>, hint: Option<&str>) {
        self.push(Severity::Error, path, message.into(), hint.map(str::to_string));
    }
    /// Records a warning.
    fn warn(&mut self, path: &KeyPath, message: impl Into<String>, hint: Option<&str>) {
        self.push(Severity::Warning, path, message.into(), hint.map(str::to_string));
    }
    /// The directory relative secret paths start from.
    fn manifest_dir(&self) -> &Path {
        &self.loaded.dir
    }
}

/// Every name the manifest declares is printed in plans, logs and hook arguments: it must
/// not be empty nor hold control or invisible characters (a name could forge a plan line).
fn names(cx: &mut Cx, m: &crate::manifest::Manifest) {
    let root = KeyPath::root();
    if let Some(c) = &m.cluster {
        name(cx, c, || root.key("cluster"));
    }
    let sections: [(&'static str, Vec<&String>); 7] = [
        ("nodes", m.nodes.keys().collect()),
        ("vrrp", m.vrrp.keys().collect()),
        ("sync_groups", m.sync_groups.keys().collect()),
        ("services", m.services.keys().collect()),
        ("track_scripts", m.track_scripts.keys().collect()),
        ("track_files", m.track_files.keys().collect()),
        ("track_processes", m.track_processes.keys().collect()),
    ];
    for (section, keys) in sections {
        for k in keys {
            name(cx, k, || root.key(section).name(k));
        }
    }
}

/// One name's check; its path is built only for a problem.
fn name(cx: &mut Cx, name: &str, path: impl FnOnce() -> KeyPath) {
    if name.trim().is_empty() {
        cx.error(&path(), "a name may not be empty", None);
    } else if name.chars().any(crate::manifest::yaml::is_hidden) {
        cx.error(
            &path(),
            format!("the name `{}` holds a control or invisible character", crate::manifest::yaml::shown(name)),
            Some("names appear in plans and logs; use letters, digits, `-`, `_` and `.`"),
        );
    }
}

/// Parses an optional duration with a default; records an error on bad input.
pub(crate) fn dur(cx: &mut Cx, path: &KeyPath, d: Option<&types::Duration>, default: Duration) -> Duration {
    match d.map(parse::duration) {
        None => default,
        Some(Ok(d)) => d,
        Some(Err(e)) => {
            cx.error(path, e, None);
            default
        }
    }
}

/// A secret file: present, a regular file readable by its owner alone, and its first line
/// what `content` accepts (else its message and hint). The text itself is never quoted.
pub(crate) fn secret_file(cx: &mut Cx, at: &KeyPath, path: &Path, content: fn(&str) -> Result<(), (String, String)>) {
    match cx.facts.secret_file(path) {
        FileFact::Missing => cx.error(
            at,
            format!("secret file {} does not exist", path.display()),
            Some("create it with the password on its first line, mode 0600"),
        ),
        FileFact::Unreadable(e) => cx.error(at, format!("secret file {} cannot be read: {e}", path.display()), None),
        FileFact::NotRegular => cx.error(
            at,
            format!("secret file {} is not a regular file", path.display()),
            Some("point password_file at a plain file holding the password, mode 0600"),
        ),
        FileFact::Mode(mode) if mode & 0o077 != 0 => {
            let msg = format!("secret file {} is readable by others (mode {:04o})", path.display(), mode & 0o7777);
            cx.error(at, msg, Some(&format!("chmod 600 {}", path.display())))
        }
        FileFact::Mode(_) => {
            if let Some(Err((message, hint))) = cx.facts.secret_text(path).map(|t| content(&t)) {
                cx.error(at, format!("secret file {}: {message}", path.display()), Some(&hint));
            }
        }
    }
}

/// The name of an environment variable a secret comes from.
pub(crate) fn env_name(cx: &mut Cx, at: &KeyPath, v: &str) {
    if v.is_empty() || v.contains('=') || v.contains('\0') {
        cx.error(at, format!("`{v}` is not an environment variable name"), None);
    }
}

/// The model protocol for a manifest one.
pub(crate) fn proto(p: types::Protocol) -> crate::model::ipvs::Protocol {
    use crate::model::ipvs::Protocol;
    match p {
        types::Protocol::Tcp => Protocol::Tcp,
        types::Protocol::Udp => Protocol::Udp,
        types::Protocol::Sctp => Protocol::Sctp,
    }
}

/// Names that are not nodes, with a suggestion.
fn unknown_node_hint<T>(name: &str, nodes: &BTreeMap<String, T>) -> String {
    let best =
        nodes.keys().map(|k| (crate::manifest::schema::edit_distance(name, k), k)).filter(|(d, _)| *d <= 2).min();
    match best {
        Some((_, k)) => format!("did you mean `{k}`?"),
        None => format!("nodes are: {}", nodes.keys().cloned().collect::<Vec<_>>().join(", ")),
    }
}

/// The routing table of announced routes: not one the kernel uses for its own routes.
fn routing(cx: &mut Cx, at: &KeyPath, r: Option<&crate::manifest::types::Routing>) -> crate::model::cluster::Routing {
    let default = crate::model::cluster::Routing::default();
    let Some(r) = r else { return default };
    let table = r.table.map_or(default.table, |t| u32::try_from(t).unwrap_or(default.table));
    if let Some(name) = match table {
        253 => Some("default"),
        254 => Some("main"),
        255 => Some("local"),
        _ => None,
    } {
        let msg = format!("table {table} is the kernel's `{name}` table, whose routes this host forwards by");
        cx.error(&at.key("table"), msg, Some("use a table of its own, such as 250 (the default)"));
    }
    let drain_time = dur(cx, &at.key("drain_time"), r.drain_time.as_ref(), default.drain_time);
    let bgp = r.bgp.as_ref().map(|b| routing::bgp(cx, &at.key("bgp"), b));
    let bfd = routing::bfd(cx, &at.key("bfd"), r.bfd.as_ref());
    crate::model::cluster::Routing { table, drain_time, bgp, bfd }
}
