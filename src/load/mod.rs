//! The host side of reading a manifest, shared by the commands and the daemon: the file
//! (through the cache when there is a state directory), validation with this host's facts,
//! the live state read beside it, and which manifest node this host is.
//!
//! ```text
//! Loader::load(path)                         -> Validated   read, cache, validate
//! with_live(&Loader, path, node, &mut Kernel) -> (Validated, NodeState)   both at once
//! pick_node(&Cluster, --node, &NodeState)     -> node name
//! ```

pub mod cache;
pub mod facts;

use std::path::Path;

use crate::kernel::{self, Kernel, KernelError};
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
    /// A thread of lbconverge itself crashed: a bug, not a usage error.
    #[error("internal error: the {thread} thread crashed; please report this")]
    Crashed {
        /// Which thread.
        thread: &'static str,
    },
}

/// Reads and validates manifests, through the cache when it has one.
pub struct Loader {
    cache: Option<cache::Cache>,
}

impl Loader {
    /// A loader that always parses and validates (`validate`, `plan --live`: no state
    /// directory is touched).
    pub fn uncached() -> Self {
        Loader { cache: None }
    }

    /// A loader with its cache in `state_dir`.
    pub fn cached(state_dir: &Path) -> Self {
        Loader { cache: Some(cache::Cache::new(state_dir)) }
    }

    /// Reads and validates the manifest at `path`.
    pub fn load(&self, path: &Path) -> Result<Validated, LoadError> {
        let bytes = manifest::read(path)?;
        let cached = self.cache.as_ref().map(|c| (c, c.entry(&bytes)));
        if let Some(v) = cached.as_ref().and_then(|(c, e)| c.get(e)) {
            return Ok(v);
        }
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let loaded = manifest::parse(&path.display().to_string(), dir, &bytes)?;
        let facts = facts::Recorded::new(&facts::HostFacts);
        let v = model::validate(&loaded, &facts)?;
        if let Some((c, e)) = cached
            && !facts.asked()
        {
            c.put(&e, &v);
        }
        Ok(v)
    }
}

/// Loads the manifest on a second thread while this one reads the kernel; the sysctls,
/// which depend on the manifest, are read last.
pub fn with_live(
    loader: &Loader,
    manifest: &Path,
    node: Option<&str>,
    k: &mut dyn Kernel,
) -> Result<(Validated, NodeState), LoadError> {
    let started = std::time::Instant::now();
    let (validated, objects) = std::thread::scope(|s| {
        let m = s.spawn(|| loader.load(manifest));
        let objects = kernel::snapshot_objects(k);
        (m.join(), objects)
    });
    let validated = validated.map_err(|_| LoadError::Crashed { thread: "manifest reader" })??;
    tracing::debug!(ms = started.elapsed().as_millis(), "manifest and kernel read");
    let scope = model::desired::sysctl_scope(&validated.cluster, node);
    let state = kernel::add_sysctls(k, objects?, &scope)?;
    Ok((validated, state))
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

/// The SHA-256 of the manifest file's bytes, as `sha256:HEX`.
pub fn manifest_sha256(path: &Path) -> Result<String, LoadError> {
    use sha2::{Digest, Sha256};
    let bytes = manifest::read(path)?;
    Ok(format!("sha256:{}", Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect::<String>()))
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
