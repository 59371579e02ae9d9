//! The host side of reading a manifest, shared by the commands and the daemon: the file,
//! validation with this host's facts,
//! the live state read beside it, and which manifest node this host is.
//!
//! ```text
//! Loader::load(path)                         -> Manifest   read, validate, revision
//! with_live(&Loader, path, node, &mut Kernel) -> (Manifest, NodeState)   both at once
//! pick_node(&Cluster, --node, &NodeState)     -> node name
//! ```

pub mod drains;
pub mod facts;
pub mod git;

use std::path::Path;

use crate::kernel::{self, Kernel, KernelError};
use crate::manifest::revision::Revision;
use crate::manifest::{self, Problems};
use crate::model::{self, Cluster, NodeState, Validated};

/// Why a manifest could not be used on this host.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The manifest has problems (each with its file, line and key path).
    #[error("{0}")]
    Manifest(#[from] Problems),
    /// `--node` names no node of the manifest.
    #[error("node `{node}` is not in the manifest (nodes: {nodes})")]
    UnknownNode {
        /// The name given.
        node: String,
        /// The manifest's nodes, comma-separated.
        nodes: String,
    },
    /// The live state holds no address of any node.
    #[error("{holder} holds no address of a manifest node; pass --node NAME (one of: {nodes})")]
    NoNode {
        /// Where the live state came from.
        holder: String,
        /// The manifest's nodes, comma-separated.
        nodes: String,
    },
    /// The live state holds addresses of several nodes.
    #[error("{holder} holds addresses of several nodes ({nodes}); pass --node NAME")]
    SeveralNodes {
        /// Where the live state came from.
        holder: String,
        /// The nodes found, comma-separated.
        nodes: String,
    },
    /// The live state could not be read.
    #[error("{0}")]
    Kernel(#[from] KernelError),
    /// The drains file of the state directory is unusable.
    #[error("{0}")]
    Drains(#[from] drains::DrainsError),
    /// The manifest's git repository could not be read.
    #[error("{0}")]
    Git(#[from] git::GitError),
    /// `--require-committed`, and the manifest is not exactly a committed file.
    #[error("{path} is not committed ({why}); --require-committed applies only committed manifests")]
    NotCommitted {
        /// The manifest.
        path: String,
        /// How it differs.
        why: String,
    },
    /// The node's network namespace could not be entered.
    #[error(
        "node `{node}`: cannot enter network namespace `{name}` (nodes.{node}.network_namespace): {source}; create it with `ip netns add {name}` (it needs CAP_SYS_ADMIN)"
    )]
    Namespace {
        /// The node.
        node: String,
        /// The namespace's name.
        name: String,
        /// Why.
        source: std::io::Error,
    },
    /// No `--node`, and the host's own namespace holds no node's address, while nodes live
    /// in network namespaces of their own.
    #[error(
        "{holder} holds no address of a manifest node; pass --node NAME (one of: {nodes}); a node with a network_namespace is found only by --node"
    )]
    NoNodeHere {
        /// Where the live state came from.
        holder: String,
        /// The manifest's nodes, comma-separated.
        nodes: String,
    },
    /// A thread of lbconverge itself crashed: a bug, not a usage error.
    #[error("internal error: the {thread} thread crashed; please report this")]
    Crashed {
        /// Which thread.
        thread: &'static str,
    },
}

/// Reads and validates manifests. Every load parses and checks the file: there is no cache
/// of validated manifests (a changed manifest, which is every GitOps commit, is as fast as
/// an unchanged one; BENCHMARKS.md).
#[derive(Debug, Default)]
pub struct Loader {
    require_committed: bool,
}

/// A manifest read and validated, and the revision of the bytes that were.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The validated cluster and its warnings.
    pub validated: Validated,
    /// SHA-256 of the bytes read, and their git commit.
    pub revision: Revision,
    /// The bytes read (a saved plan carries them).
    pub bytes: Vec<u8>,
}

impl Loader {
    /// A loader that accepts manifests whether committed or not.
    pub fn new() -> Self {
        Loader::default()
    }

    /// Refuses manifests that are not exactly a committed file (`--require-committed`).
    pub fn require_committed(mut self, yes: bool) -> Self {
        self.require_committed = yes;
        self
    }

    /// Reads and validates the manifest at `path`, and finds its revision.
    pub fn load(&self, path: &Path) -> Result<Manifest, LoadError> {
        let bytes = manifest::read(path)?;
        // An unreadable repository (no commit yet, damaged) leaves the revision without a
        // commit, unless only committed manifests may be applied.
        let git = match git::commit_of(path, &bytes) {
            Ok(c) => c,
            Err(e) if !self.require_committed => {
                tracing::warn!("{e}; the manifest's commit is not known");
                None
            }
            Err(e) => return Err(e.into()),
        };
        let revision = Revision { git, ..Revision::of(&bytes) };
        if self.require_committed && !revision.committed() {
            let why = revision.git.as_ref().map_or("not in a git work tree".to_string(), |c| c.file.to_string());
            return Err(LoadError::NotCommitted { path: path.display().to_string(), why });
        }
        let validated = Self::validate(path, &bytes)?;
        Ok(Manifest { validated, revision, bytes })
    }

    /// Parses and validates manifest bytes with this host's facts; `path` names them in
    /// errors and relative paths in them are taken from its directory.
    pub fn validate(path: &Path, bytes: &[u8]) -> Result<Validated, LoadError> {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let loaded = manifest::parse(&path.display().to_string(), dir, bytes)?;
        Ok(model::validate(&loaded, &facts::HostFacts)?)
    }
}

/// Removes the manifest cache that earlier builds kept in `state_dir/cache`: nothing reads
/// it any more (`plan`, `apply` and `run` call this; a symlink there is removed, not followed).
pub fn remove_old_cache(state_dir: &Path) {
    let dir = state_dir.join("cache");
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => tracing::info!(dir = %dir.display(), "removed the manifest cache of an earlier version"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(dir = %dir.display(), "could not remove the manifest cache of an earlier version: {e}")
        }
    }
}

/// Loads the manifest on a second thread while this one reads the kernel; the sysctls,
/// which depend on the manifest, are read last.
pub fn with_live(
    loader: &Loader,
    manifest: &Path,
    node: Option<&str>,
    k: &mut dyn Kernel,
) -> Result<(Manifest, NodeState), LoadError> {
    let started = std::time::Instant::now();
    let (validated, objects) = std::thread::scope(|s| {
        let m = s.spawn(|| loader.load(manifest));
        let objects = kernel::snapshot_objects(k);
        (m.join(), objects)
    });
    let m = validated.map_err(|_| LoadError::Crashed { thread: "manifest reader" })??;
    tracing::debug!(ms = started.elapsed().as_millis(), "manifest and kernel read");
    let scope = model::desired::sysctl_scope(&m.validated.cluster, node);
    let state = kernel::add_sysctls(k, objects?, &scope)?;
    Ok((m, state))
}

/// Moves this thread into the network namespace of node `node` (`--node`) when the manifest
/// gives it one, before anything reads the kernel: the threads and commands started after
/// are in it too. Returns the namespace entered. Without `--node`, or for a node the
/// manifest lacks, nothing is entered (the node is then looked for in this namespace).
pub fn enter_namespace(loader: &Loader, manifest: &Path, node: Option<&str>) -> Result<Option<String>, LoadError> {
    let Some(node) = node else { return Ok(None) };
    let m = loader.load(manifest)?;
    let Some(name) = m.validated.cluster.nodes.get(node).and_then(|n| n.network_namespace.clone()) else {
        return Ok(None);
    };
    crate::sys::enter_netns(&name).map_err(|source| LoadError::Namespace {
        node: node.to_string(),
        name: name.clone(),
        source,
    })?;
    tracing::info!(node = %node, namespace = %name, "entered the node's network namespace");
    Ok(Some(name))
}

/// Picks the manifest node: `asked` (`--node`), else the one whose address `live` holds;
/// `holder` names the live state in errors ("this host", a snapshot file).
pub fn pick_node(c: &Cluster, asked: Option<&str>, live: &NodeState, holder: &str) -> Result<String, LoadError> {
    if let Some(n) = asked {
        return if c.nodes.contains_key(n) { Ok(n.to_string()) } else { Err(unknown_node(c, n)) };
    }
    let held: Vec<_> = live.addresses.keys().map(|k| k.address.addr()).collect();
    let found: Vec<&String> =
        c.nodes.values().filter(|n| n.addresses.iter().any(|a| held.contains(&a.addr()))).map(|n| &n.name).collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] if c.nodes.values().any(|n| n.network_namespace.is_some()) => {
            Err(LoadError::NoNodeHere { holder: holder.to_string(), nodes: node_names(c) })
        }
        [] => Err(LoadError::NoNode { holder: holder.to_string(), nodes: node_names(c) }),
        many => Err(LoadError::SeveralNodes {
            holder: holder.to_string(),
            nodes: many.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// The error for a node name the manifest does not have.
pub fn unknown_node(c: &Cluster, node: &str) -> LoadError {
    LoadError::UnknownNode { node: node.to_string(), nodes: node_names(c) }
}

fn node_names(c: &Cluster) -> String {
    c.nodes.keys().cloned().collect::<Vec<_>>().join(", ")
}

/// Checks that this host can carry `node` (see [`model::preflight`]); `on_host` is false
/// for a snapshot of another machine. Problems are located in the manifest at `path`,
/// which is parsed again only when there are some.
pub fn preflight(path: &Path, c: &Cluster, node: &str, live: &NodeState, on_host: bool) -> Result<(), LoadError> {
    let host = facts::HostFacts;
    let facts: Option<&dyn model::Facts> = if on_host { Some(&host) } else { None };
    let found = model::preflight::preflight(c, node, live, facts);
    if found.is_empty() {
        return Ok(());
    }
    let file = path.display().to_string();
    let loaded = manifest::read(path).ok().and_then(|b| {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        manifest::parse(&file, dir, &b).ok()
    });
    let problems = found
        .into_iter()
        .map(|f| {
            let mut p = match &loaded {
                Some(l) => l.problem(manifest::Severity::Error, f.path, f.message),
                None => manifest::Problem {
                    severity: manifest::Severity::Error,
                    file: file.clone(),
                    pos: None,
                    path: f.path,
                    message: f.message,
                    hint: None,
                },
            };
            p.hint = f.hint;
            p
        })
        .collect::<Vec<_>>();
    let mut problems = problems;
    problems.sort_by(|a, b| (a.pos, &a.path, &a.message).cmp(&(b.pos, &b.path, &b.message)));
    Err(LoadError::Manifest(Problems(problems)))
}
