//! `lbconverge import keepalived`: reads the directors' files (following `include` globs),
//! saved ipvsadm rules and real servers' snapshots, runs the pure import, checks that the
//! result validates, then writes the manifest (and any password files) and the warnings.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::CliError;
use super::exit::Exit;
use super::files::{self, FileError};
use crate::files::Kind;
use crate::import::{self, Options, Secret, Source};
use crate::manifest;

/// `import` arguments.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// What to import from.
    #[command(subcommand)]
    pub from: ImportFrom,
}

/// The tools `import` reads.
#[derive(Debug, Subcommand)]
pub enum ImportFrom {
    /// keepalived.conf files, one per director, into one cluster manifest; prints what
    /// cannot be expressed and where the directors' files differ.
    Keepalived(KeepalivedArgs),
}

/// `import keepalived` arguments.
#[derive(Debug, Args)]
pub struct KeepalivedArgs {
    /// One keepalived.conf per director (its `include` files are followed).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// `ipvsadm -S -n` output of a director, for services keepalived did not manage:
    /// `[DIRECTOR=]FILE` (default: the first file's director).
    #[arg(long, value_name = "[DIRECTOR=]FILE")]
    pub ipvsadm_save: Option<String>,
    /// A director's own address: `lvs01=172.16.40.153/24` (repeatable; one per family).
    #[arg(long = "address", value_name = "DIRECTOR=ADDRESS/PREFIX")]
    pub addresses: Vec<String>,
    /// A director's client-facing interface, where its file has no VRRP instance to tell:
    /// `lvs01=eth0` (repeatable).
    #[arg(long = "interface", value_name = "DIRECTOR=INTERFACE")]
    pub interfaces: Vec<String>,
    /// Write an instance's PASS password to this file (mode 0600) and name it in the
    /// manifest: `VI_1=/etc/lbconverge/vi1.pass`.
    #[arg(long = "password-file", value_name = "INSTANCE=PATH")]
    pub password_files: Vec<String>,
    /// Name the environment variable that holds an instance's password: `VI_1=VI1_PASS`
    /// (default: LBCONVERGE_VRRP_PASS_<INSTANCE>).
    #[arg(long = "password-env", value_name = "INSTANCE=VARIABLE")]
    pub password_envs: Vec<String>,
    /// Real servers' snapshots (`lbconverge show` on each): backends at their addresses
    /// become nodes, named after the snapshot.
    #[arg(long = "real-server-snapshots", value_name = "SNAPSHOT", num_args = 1..)]
    pub snapshots: Vec<PathBuf>,
    /// The config id a director's file is read for, keepalived's `-i`: its `@ID` lines are
    /// kept, its `@^ID` lines dropped. `lvs01=lb-a` (by the name the file gives, as
    /// `lvs01.conf` or `lvs01/keepalived.conf` do, or by the file as given; repeatable).
    /// Default: the file's name.
    #[arg(long = "config-id", value_name = "DIRECTOR=ID")]
    pub config_ids: Vec<String>,
    /// A copy of a director's file system: an `include` of an absolute path is looked for
    /// under DIR (`include /etc/keepalived/conf.d/*.conf` in `DIR/etc/keepalived/...`).
    #[arg(long = "root", value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Write the manifest here instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "MANIFEST")]
    pub output: Option<PathBuf>,
}

/// Runs `import`.
pub fn run(a: &ImportArgs) -> Result<Exit, CliError> {
    let ImportFrom::Keepalived(k) = &a.from;
    let sources = k.files.iter().map(|p| source(p, Kind::Keepalived)).collect::<Result<Vec<_>, _>>()?;
    let saved = k.ipvsadm_save.as_deref().map(saved_rules).transpose()?;
    let opts = options(k)?;
    let fs = DiskFiles { root: k.root.clone() };
    let out = import::import(&sources, &fs, saved.as_ref().map(|(d, s)| (d.as_str(), s)), &opts)
        .map_err(|e| CliError::Usage(format!("{e}")))?;
    let target = k.output.as_ref().map_or("-".to_string(), |p| p.display().to_string());
    let checked = check(&target, &out.yaml, &out.secrets)?;
    for w in &out.warnings {
        eprintln!("{w}");
    }
    for w in &checked {
        eprintln!("{w}");
    }
    for s in &out.secrets {
        write_secret(Path::new(&s.path), &s.password)?;
    }
    match &k.output {
        Some(p) => files::write(p, &out.yaml)?,
        None => print!("{}", out.yaml),
    }
    eprintln!("{}", out.summary);
    Ok(Exit::Ok)
}

fn source(path: &Path, kind: Kind) -> Result<Source, CliError> {
    let text = crate::files::read_text(path, kind).map_err(FileError::from)?;
    Ok(Source { name: path.display().to_string(), text })
}

fn saved_rules(arg: &str) -> Result<(String, Source), CliError> {
    let (dir, file) = arg.split_once('=').unwrap_or(("", arg));
    Ok((dir.to_string(), source(Path::new(file), Kind::IpvsadmSave)?))
}

/// `NAME=VALUE` pairs of an option.
fn pairs<'a>(flag: &str, list: &'a [String]) -> Result<Vec<(&'a str, &'a str)>, CliError> {
    list.iter()
        .map(|p| p.split_once('=').filter(|(k, v)| !k.is_empty() && !v.is_empty()))
        .map(|p| p.ok_or_else(|| CliError::Usage(format!("--{flag} takes NAME=VALUE"))))
        .collect()
}

fn options(k: &KeepalivedArgs) -> Result<Options, CliError> {
    let mut o = Options::default();
    for (d, a) in pairs("address", &k.addresses)? {
        if a.parse::<ipnet::IpNet>().is_err() {
            return Err(CliError::Usage(format!("--address {d}={a}: expected ADDRESS/PREFIX, e.g. 172.16.40.153/24")));
        }
        o.addresses.entry(d.to_string()).or_default().push(a.to_string());
    }
    for (d, i) in pairs("interface", &k.interfaces)? {
        o.interfaces.insert(d.to_string(), i.to_string());
    }
    for (i, p) in pairs("password-file", &k.password_files)? {
        o.passwords.insert(i.to_string(), Secret::File(p.to_string()));
    }
    for (i, e) in pairs("password-env", &k.password_envs)? {
        o.passwords.insert(i.to_string(), Secret::Env(e.to_string()));
    }
    let given: Vec<(String, String)> =
        k.files.iter().map(|f| f.display().to_string()).map(|f| (import::director::config_id(&f), f)).collect();
    for (d, id) in pairs("config-id", &k.config_ids)? {
        if !given.iter().any(|(default, file)| default == d || file == d) {
            let names: Vec<&str> = given.iter().map(|(default, _)| default.as_str()).collect();
            return Err(CliError::Usage(format!(
                "--config-id {d}={id}: no file given is director `{d}` (the files give {})",
                names.join(", ")
            )));
        }
        o.config_ids.insert(d.to_string(), id.to_string());
    }
    for p in &k.snapshots {
        let state = files::load_snapshot(p)?;
        let name = p.display().to_string();
        let rs = import::real_server(&name, &state)
            .ok_or_else(|| CliError::Usage(format!("{name}: the snapshot holds no address of the real server")))?;
        o.real_servers.push(rs);
    }
    Ok(o)
}

/// The import must give a manifest `validate` accepts (without this host's facts, but with
/// the password files about to be written); returns validation's warnings.
fn check(target: &str, yaml: &str, secrets: &[import::SecretFile]) -> Result<Vec<manifest::Problem>, CliError> {
    let facts = ToBeWritten(secrets);
    let checked = manifest::parse(target, PathBuf::from("."), yaml.as_bytes())
        .and_then(|loaded| crate::model::validate(&loaded, &facts));
    checked
        .map(|v| v.warnings)
        .map_err(|p| CliError::Usage(format!("the imported manifest does not validate; nothing was written:\n{p}")))
}

/// Validation facts of a machine that has only the password files the import writes; for
/// everything else, those of no machine ([`crate::model::NoFacts`]).
struct ToBeWritten<'a>(&'a [import::SecretFile]);

impl crate::model::Facts for ToBeWritten<'_> {
    fn secret_file(&self, path: &Path) -> crate::model::FileFact {
        match self.0.iter().any(|s| Path::new(&s.path) == path) {
            true => crate::model::FileFact::Mode(0o600),
            false => crate::model::NoFacts.secret_file(path),
        }
    }
    fn secret_text(&self, path: &Path) -> Option<String> {
        let to_write = self.0.iter().find(|s| Path::new(&s.path) == path);
        to_write.map(|s| s.password.clone()).or_else(|| crate::model::NoFacts.secret_text(path))
    }
    fn env(&self, name: &str) -> Option<String> {
        crate::model::NoFacts.env(name)
    }
    fn script(&self, path: &Path) -> crate::model::ScriptFact {
        crate::model::NoFacts.script(path)
    }
    fn user_exists(&self, name: &str) -> bool {
        crate::model::NoFacts.user_exists(name)
    }
}

/// A password file: written when absent (mode 0600); kept when it holds the same password.
/// What is there is read through [`crate::files`] (a FIFO or device there is an error).
fn write_secret(path: &Path, password: &str) -> Result<(), CliError> {
    match crate::files::first_line(path, Kind::Secret) {
        Ok(have) if have == password => return Ok(()),
        Ok(_) => {
            return Err(CliError::Usage(format!(
                "{}: holds another password; remove it or choose another --password-file",
                path.display()
            )));
        }
        Err(e) if e.is_missing() => {}
        Err(e) => return Err(FileError::from(e).into()),
    }
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let err = |source| CliError::File(FileError::Write { path: path.to_path_buf(), source });
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(err)?;
    writeln!(f, "{password}").map_err(err)
}

/// `include` on the file system: globs (`*`, `?`) in any part of the path, relative to the
/// including file's directory, an absolute one under `root` (`--root`, else `/`); matches
/// sorted.
struct DiskFiles {
    root: Option<PathBuf>,
}

impl import::Files for DiskFiles {
    fn include(&self, pattern: &str, from: &str) -> Result<Vec<Source>, String> {
        let base = Path::new(from).parent().unwrap_or(Path::new(""));
        let root = self.root.clone().unwrap_or_else(|| PathBuf::from("/"));
        let start = if pattern.starts_with('/') { root.clone() } else { base.to_path_buf() };
        let mut found = vec![start];
        for part in pattern.split('/').filter(|p| !p.is_empty()) {
            found = found.iter().flat_map(|dir| expand(dir, part)).collect();
        }
        found.sort();
        // Like keepalived, directories a wildcard matches are passed over; anything else is
        // read through `crate::files`, which refuses a FIFO, a device or a directory by name.
        let globbed = pattern.contains(['*', '?']);
        found.retain(|p| std::fs::symlink_metadata(p).is_ok() && !(globbed && p.is_dir()));
        if found.is_empty() {
            return Err(match (&self.root, pattern.starts_with('/')) {
                (Some(r), true) => format!("`include {pattern}`: no file matches under --root {}", r.display()),
                (None, true) => {
                    format!("`include {pattern}`: no file matches (for a copy of a director's files, pass --root DIR)")
                }
                _ => format!("`include {pattern}`: no file matches (relative to {})", base.display()),
            });
        }
        found.iter().map(|p| source(p, Kind::Keepalived).map_err(|e| e.to_string())).collect()
    }

    /// Like the PATH search of keepalived (execvp's): the first directory that holds an
    /// executable regular file of that name. Only looked at, never opened.
    fn program(&self, name: &str) -> Option<String> {
        use std::os::unix::fs::PermissionsExt;
        let found = import::conf::KEEPALIVED_PATH
            .split(':')
            .map(|dir| Path::new(dir).join(name))
            .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0));
        found.map(|p| p.display().to_string())
    }

    fn device_groups(&self) -> Option<String> {
        let root = self.root.clone().unwrap_or_else(|| PathBuf::from("/"));
        crate::files::read_text(&root.join("etc/iproute2/group"), Kind::Keepalived).ok()
    }
}

fn expand(dir: &Path, part: &str) -> Vec<PathBuf> {
    if !part.contains(['*', '?']) {
        return vec![dir.join(part)];
    }
    let Ok(entries) = std::fs::read_dir(if dir.as_os_str().is_empty() { Path::new(".") } else { dir }) else {
        return vec![];
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && wildcard(part.as_bytes(), n.as_bytes()))
        .map(|n| dir.join(n))
        .collect();
    out.sort();
    out
}

/// `*` and `?` matching, as glob(3) does within one path component.
fn wildcard(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => wildcard(&p[1..], s) || (!s.is_empty() && wildcard(p, &s[1..])),
        (Some(b'?'), Some(_)) => wildcard(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => wildcard(&p[1..], &s[1..]),
        _ => false,
    }
}
