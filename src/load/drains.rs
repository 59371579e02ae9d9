//! The drains file in the state directory (`drains.json`): what `lbconverge drain` asked,
//! kept across daemon restarts and read by `plan` and `apply`, so that neither undoes a
//! drain. Written whole and safely (`state_file`), read through [`crate::files`]. For `plan`
//! and `apply` a damaged file is an error naming it, never silently dropped (that would put
//! drained backends back into service); the daemon moves it aside and reports its drains as
//! unknown (`daemon::state_files`).

use std::path::{Path, PathBuf};

use crate::files::{Kind, ReadError};
use crate::model::drain::Drains;

/// The file's name in the state directory.
pub const FILE: &str = "drains.json";

/// The drains file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DrainsError {
    /// It could not be read: not a regular file, a symlink, too large, not text
    /// ([`crate::files`]).
    #[error("{0}\n  hint: {HINT}")]
    Read(#[from] ReadError),
    /// It is not JSON of drains.
    #[error("{}: not a drains file ({source})\n  hint: {HINT}", path.display())]
    NotDrains {
        /// The file.
        path: PathBuf,
        /// The JSON parser's message.
        source: serde_json::Error,
    },
    /// It could not be written.
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What to do about a damaged drains file.
const HINT: &str = "lbconverge writes it for `lbconverge drain`; `lbconverge run` moves a damaged one aside at its start or reload (or remove it), then drain again";

/// The drains recorded in `state_dir` (none when there is no file), read through
/// [`crate::files`] (never through a symlink, never blocking).
pub fn read(state_dir: &Path) -> Result<Drains, DrainsError> {
    let path = state_dir.join(FILE);
    let text = match crate::files::read_text(&path, Kind::Drains) {
        Ok(t) => t,
        Err(e) if e.is_missing() => return Ok(Drains::default()),
        Err(e) => return Err(e.into()),
    };
    parse(&text).map_err(|source| DrainsError::NotDrains { path, source })
}

/// Parses the text of a drains file.
pub fn parse(text: &str) -> Result<Drains, serde_json::Error> {
    serde_json::from_str(text)
}

/// Records `drains` in `state_dir`.
pub fn write(state_dir: &Path, drains: &Drains) -> Result<(), DrainsError> {
    let path = state_dir.join(FILE);
    let fail = |source: std::io::Error| DrainsError::Write { path: path.clone(), source };
    std::fs::create_dir_all(state_dir).map_err(fail)?;
    let mut text = serde_json::to_string_pretty(drains).unwrap_or_default();
    text.push('\n');
    crate::state_file::write(&path, text.as_bytes()).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::drain::Drain;

    #[test]
    fn round_trip_and_a_damaged_file_is_an_error() {
        let dir = std::env::temp_dir().join(format!("lbc-drains-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(read(&dir).unwrap(), Drains::default(), "no file: no drains");
        let mut d = Drains::default();
        d.set(Drain { service: "web".into(), backend: "a".into(), since: 1, until: Some(9), reason: "disk".into() });
        write(&dir, &d).unwrap();
        assert_eq!(read(&dir).unwrap(), d);
        std::fs::write(dir.join(FILE), "{\"drains\": [{\"service\": 1}]}").unwrap();
        let e = read(&dir).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}: not a drains file (", dir.join(FILE).display())), "{e}");
        assert!(e.ends_with("drain again"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
