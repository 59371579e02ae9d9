//! `lbconverge import keepalived`: directors' keepalived.conf files (and optionally
//! `ipvsadm -S -n` rules and real servers' snapshots) become one manifest. Pure: the
//! caller reads the files and writes the results.
//!
//! [`conf`] reads the grammar (after [`expand`]'s conditionals and parameters), [`director`] (with [`vrrp`], [`service`], [`check`]) maps one
//! director's file, [`merge`] makes one cluster of them and reports where they differ,
//! [`ipvsadm`] reads saved rules, [`emit`] writes the YAML.

pub mod alerts;
pub mod check;
pub mod conf;
pub mod director;
pub mod emit;
pub mod encap;
pub mod expand;
pub mod fifo;
pub mod fifo_conf;
pub mod garp;
pub mod ipvsadm;
pub mod merge;
pub mod routes;
pub mod rules;
pub mod service;
pub mod source;
pub mod value;
pub mod vips;
pub mod vmac_names;
pub mod vrrp;

use std::collections::BTreeMap;

pub use conf::{Files, Loc, Source, SyntaxError};
pub use emit::Comments;
pub use value::Warning;

use crate::model::NodeState;

/// Where a VRRP instance's PASS password goes (it is never written into the manifest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    /// A file (written by the caller with the password, readable by root only).
    File(String),
    /// An environment variable the daemon reads.
    Env(String),
}

/// A real server known from its `lbconverge show` snapshot.
#[derive(Debug, Clone)]
pub struct RealServer {
    /// Its node name (the snapshot's `node`, else the file's name).
    pub name: String,
    /// The snapshot file.
    pub file: String,
    /// Its own addresses with prefix.
    pub addresses: Vec<String>,
    /// The interface of its first address.
    pub interface: String,
}

/// What the operator tells the import.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Each director's own addresses (`--address lvs01=172.16.40.153/24`).
    pub addresses: BTreeMap<String, Vec<String>>,
    /// Each director's client-facing interface (`--interface lvs01=eth0`), where its file
    /// has no VRRP instance to tell.
    pub interfaces: BTreeMap<String, String>,
    /// Where each instance's password goes (default: an environment variable).
    pub passwords: BTreeMap<String, Secret>,
    /// Real servers that become nodes.
    pub real_servers: Vec<RealServer>,
    /// The config id a director's file is read for (`--config-id lvs01=lb-a`), by the
    /// director's default id ([`director::config_id`]) or by the file as given.
    pub config_ids: BTreeMap<String, String>,
}

impl Options {
    /// The config id `file` is read for, and whether the operator gave it.
    pub fn config_id(&self, file: &str) -> (String, bool) {
        let default = director::config_id(file);
        let told = self.config_ids.get(file).or_else(|| self.config_ids.get(&default));
        told.map_or((default, false), |id| (id.clone(), true))
    }
}

/// A password file the caller must write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFile {
    /// The file.
    pub path: String,
    /// The password (keepalived's `auth_pass`).
    pub password: String,
}

/// The result of an import.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The manifest.
    pub manifest: crate::manifest::types::Manifest,
    /// Its text.
    pub yaml: String,
    /// What could not be carried over, and where the directors differ.
    pub warnings: Vec<Warning>,
    /// Password files to write.
    pub secrets: Vec<SecretFile>,
    /// One line: what was imported.
    pub summary: String,
}

/// The default environment variable for an instance's password.
pub fn default_password_env(instance: &str) -> String {
    let up: String =
        instance.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("LBCONVERGE_VRRP_PASS_{up}")
}

/// Imports directors' files (each parsed with its includes) and saved ipvsadm rules (with
/// the director they come from).
pub fn import(
    files: &[Source],
    fs: &dyn Files,
    saved: Option<(&str, &Source)>,
    opts: &Options,
) -> Result<Imported, SyntaxError> {
    let mut notes = value::Notes::with_host(fs);
    let mut directors = Vec::new();
    let walk = conf::Walk::new(fs, conf::Limits::default());
    for f in files {
        let (id, told) = opts.config_id(&f.name);
        let items = walk.parse_as(f, &id)?;
        if let Some(at) = walk.first_conditional().filter(|_| !told) {
            let default = director::config_id(&f.name);
            notes.note(&at, format!("`@` lines are read for config id `{id}`, what the file's name says; keepalived's is the director's host name (its first label): pass --config-id {default}=HOSTNAME if it differs"));
        }
        directors.push(director::read(&f.name, &id, &items, &mut notes));
    }
    let mut extra = Vec::new();
    if let Some((dir, src)) = saved {
        let dir = if dir.is_empty() {
            directors.first().map(|d| d.name.clone()).unwrap_or_default()
        } else {
            dir.to_string()
        };
        extra.extend(ipvsadm::parse(src, &mut notes)?.into_iter().map(|vs| (dir.clone(), vs)));
    }
    let (m, comments) = merge::merge(&directors, &extra, opts, &mut notes);
    password_notes(&directors, opts, &mut notes);
    let secrets = secrets(&directors, opts);
    let mut v = serde_json::to_value(&m).unwrap_or_default();
    if let Some(map) = v.as_object_mut() {
        map.retain(|k, v| !(k == "defaults" && v.as_object().is_some_and(serde_json::Map::is_empty)));
    }
    let drift = notes.warnings.iter().filter(|w| w.message.starts_with("directors differ")).count();
    let count = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    let summary = format!(
        "imported {}, {}, {}; {}, {drift} of them differences between directors",
        count(directors.len(), "director"),
        count(m.vrrp.len(), "VRRP instance"),
        count(m.services.len(), "service"),
        count(notes.warnings.len(), "warning"),
    );
    let yaml = header(files) + &met(&notes) + &emit::yaml(&v, &comments);
    Ok(Imported { manifest: m, yaml, warnings: notes.warnings, secrets, summary })
}

fn header(files: &[Source]) -> String {
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    format!(
        "# yaml-language-server: $schema=/usr/share/lbconverge/manifest.schema.json\n# Imported from keepalived: {}\n",
        names.join(", ")
    )
}

/// The header lines naming the settings lbconverge always meets, one per keyword.
fn met(notes: &value::Notes) -> String {
    let mut out = String::new();
    for (keyword, (places, why)) in &notes.met {
        let at: Vec<String> = places.iter().map(ToString::to_string).collect();
        out.push_str(&format!("# `{keyword}` ({}): {why}\n", at.join(", ")));
    }
    out
}

fn password_notes(directors: &[director::Director], opts: &Options, notes: &mut value::Notes) {
    let mut seen = std::collections::BTreeSet::new();
    for i in directors.iter().flat_map(|d| &d.instances).filter(|i| i.password.is_some()) {
        if seen.insert(i.name.clone()) && !opts.passwords.contains_key(&i.name) {
            let env = default_password_env(&i.name);
            notes.note(&i.at, format!("vrrp_instance `{}`: the password is not written into the manifest; set {env} for the daemon, or pass --password-file {}=PATH", i.name, i.name));
        }
    }
}

fn secrets(directors: &[director::Director], opts: &Options) -> Vec<SecretFile> {
    let mut out: Vec<SecretFile> = Vec::new();
    for i in directors.iter().flat_map(|d| &d.instances) {
        if let (Some(Secret::File(path)), Some(password)) = (opts.passwords.get(&i.name), &i.password)
            && !out.iter().any(|s| &s.path == path)
        {
            out.push(SecretFile { path: path.clone(), password: password.clone() });
        }
    }
    out
}

/// A real server from its snapshot: its addresses (not on `lo`, not tunnels), named after
/// the snapshot's node or the file.
pub fn real_server(file: &str, state: &NodeState) -> Option<RealServer> {
    let own: Vec<&crate::model::net::Address> = state
        .addresses
        .values()
        .filter(|a| a.interface != "lo" && !a.interface.starts_with("tunl") && !a.interface.starts_with("ip6tnl"))
        .collect();
    let first = own.first()?;
    let stem = file.rsplit('/').next().unwrap_or(file);
    let stem = stem.split('.').next().unwrap_or(stem);
    Some(RealServer {
        name: state.node.clone().unwrap_or_else(|| stem.to_string()),
        file: file.to_string(),
        addresses: own.iter().map(|a| a.address.to_string()).collect(),
        interface: first.interface.clone(),
    })
}
