//! A cache of validated manifests in the state directory, keyed by a hash of the manifest
//! bytes and of this lbconverge build. A GitOps node plans the same manifest over and over
//! (drift checks, the daemon); parsing and checking a 10,000-service manifest costs far more
//! than reading the kernel, so a hit saves most of a no-op plan. Manifests that read secret
//! files are not cached: their validity depends on files outside the manifest.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{CliError, facts};
use crate::manifest::{self, Problems};
use crate::model::{self, Validated};

/// Cache files kept besides the newest.
const KEEP: usize = 4;

fn key(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(manifest::schema::SCHEMA_TEXT.as_bytes());
    h.update(bytes);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn uses_secret_files(v: &Validated) -> bool {
    v.cluster.vrrp.values().any(|i| matches!(i.auth, Some(model::cluster::Secret::File(_))))
}

/// Loads and validates `path`, from the cache in `state_dir/cache` when it can.
pub fn load_validated(path: &Path, state_dir: &Path) -> Result<Validated, CliError> {
    let bytes = manifest::read(path).map_err(CliError::Manifest)?;
    let dir = state_dir.join("cache");
    let file = dir.join(format!("{}.manifest", key(&bytes)));
    if let Some(v) = std::fs::read(&file).ok().and_then(|b| postcard::from_bytes::<Validated>(&b).ok()) {
        tracing::debug!(cache = %file.display(), "manifest from cache");
        return Ok(v);
    }
    let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let loaded = manifest::parse(&path.display().to_string(), parent, &bytes).map_err(CliError::Manifest)?;
    let v = model::validate(&loaded, &facts::HostFacts).map_err(|p: Problems| CliError::Manifest(p))?;
    if !uses_secret_files(&v) {
        store(&dir, &file, &v);
    }
    Ok(v)
}

/// Writes a cache entry; failures (a read-only state directory) only cost speed next time.
fn store(dir: &Path, file: &PathBuf, v: &Validated) {
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let bytes = postcard::to_allocvec(v).map_err(std::io::Error::other)?;
        let tmp = file.with_extension("tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, file)?;
        prune(dir)
    };
    if let Err(e) = write() {
        tracing::debug!(error = %e, "manifest cache not written");
    }
}

fn prune(dir: &Path) -> std::io::Result<()> {
    let mut entries: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "manifest"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    entries.sort();
    let excess = entries.len().saturating_sub(KEEP + 1);
    for (_, p) in entries.into_iter().take(excess) {
        let _ = std::fs::remove_file(p);
    }
    Ok(())
}
