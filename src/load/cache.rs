//! A cache of validated manifests in the state directory, keyed by a hash of the manifest
//! bytes and of this lbconverge build (version, schema, and the executable itself). A GitOps node plans the same manifest over and over
//! (drift checks, the daemon); parsing and checking a 10,000-service manifest costs far more
//! than reading the kernel, so a hit saves most of a no-op plan.
//!
//! An entry is `MAGIC`, then the SHA-256 of its key and payload, then the payload: an entry
//! that was damaged, truncated or renamed fails the check and is ignored and rebuilt, never
//! trusted. Manifests whose validity depends on this host (secret files, environment
//! variables) are not cached.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::manifest;
use crate::model::Validated;

/// Cache files kept besides the newest.
const KEEP: usize = 4;
/// The first bytes of an entry; a new layout gets a new number.
const MAGIC: &[u8] = b"lbconverge-cache-2\n";
const DIGEST_LEN: usize = 32;

/// The cache directory of a state directory.
pub struct Cache {
    dir: PathBuf,
}

/// Where the entry for one manifest lives.
pub struct Entry {
    key: String,
    file: PathBuf,
}

impl Cache {
    /// The cache in `state_dir/cache`.
    pub fn new(state_dir: &Path) -> Self {
        Cache { dir: state_dir.join("cache") }
    }

    /// The entry for a manifest's bytes.
    pub fn entry(&self, manifest_bytes: &[u8]) -> Entry {
        let key = key(manifest_bytes);
        let file = self.dir.join(format!("{key}.manifest"));
        Entry { key, file }
    }

    /// The cached validation, when the entry exists and is intact.
    pub fn get(&self, e: &Entry) -> Option<Validated> {
        let bytes = std::fs::read(&e.file).ok()?;
        let got = unseal(&e.key, &bytes).and_then(|payload| postcard::from_bytes::<Validated>(payload).ok());
        match &got {
            Some(_) => tracing::debug!(cache = %e.file.display(), "manifest from cache"),
            None => tracing::warn!(cache = %e.file.display(), "damaged manifest cache entry ignored; rebuilding it"),
        }
        got
    }

    /// Writes an entry; failures (a read-only state directory) only cost speed next time.
    pub fn put(&self, e: &Entry, v: &Validated) {
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let payload = postcard::to_allocvec(v).map_err(std::io::Error::other)?;
            crate::state_file::write(&e.file, &seal(&e.key, &payload))?;
            self.prune()
        };
        if let Err(err) = write() {
            tracing::debug!(error = %err, "manifest cache not written");
        }
    }

    fn prune(&self) -> std::io::Result<()> {
        let mut entries: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&self.dir)?
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
}

fn key(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(manifest::schema::SCHEMA_TEXT.as_bytes());
    h.update(build_id().as_bytes());
    h.update(bytes);
    hex(&h.finalize())
}

/// This executable's size and modification time: an entry written by another build (whose
/// validated types may differ without the schema differing) is never read.
fn build_id() -> String {
    let meta = std::env::current_exe().and_then(std::fs::metadata);
    match meta.as_ref().map(|m| (m.len(), m.modified())) {
        Ok((len, Ok(t))) => format!("{len}:{t:?}"),
        _ => String::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn digest(key: &str, payload: &[u8]) -> [u8; DIGEST_LEN] {
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    h.update(payload);
    h.finalize().into()
}

fn seal(key: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAGIC.len() + DIGEST_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&digest(key, payload));
    out.extend_from_slice(payload);
    out
}

/// The payload of an intact entry for `key`.
fn unseal<'a>(key: &str, bytes: &'a [u8]) -> Option<&'a [u8]> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let (sum, payload) = rest.split_at_checked(DIGEST_LEN)?;
    (sum == digest(key, payload)).then_some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_single_byte_change_is_caught() {
        let sealed = seal("k", b"payload bytes");
        assert_eq!(unseal("k", &sealed), Some(&b"payload bytes"[..]));
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert_eq!(unseal("k", &bad), None, "byte {i}");
        }
        assert_eq!(unseal("k", &sealed[..sealed.len() - 1]), None, "truncated");
        assert_eq!(unseal("other", &sealed), None, "an entry renamed to another key");
    }
}
