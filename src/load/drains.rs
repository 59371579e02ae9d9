//! The drains file in the state directory (`drains.json`): what `lbconverge drain` asked,
//! kept across daemon restarts and read by `plan` and `apply`, so that neither undoes a
//! drain. Written whole and safely (`state_file`); a damaged file is an error naming it,
//! never silently dropped (that would put drained backends back into service).

use std::path::{Path, PathBuf};

use crate::model::drain::Drains;

/// The file's name in the state directory.
pub const FILE: &str = "drains.json";

/// The drains file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct DrainsError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong, and the fix.
    pub reason: String,
}

/// The drains recorded in `state_dir` (none when there is no file).
pub fn read(state_dir: &Path) -> Result<Drains, DrainsError> {
    let path = state_dir.join(FILE);
    let fail = |reason: String| DrainsError { path: path.clone(), reason };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Drains::default()),
        Err(e) => return Err(fail(format!("cannot read: {e}"))),
    };
    serde_json::from_str(&text).map_err(|e| {
        fail(format!("not a drains file ({e}); lbconverge writes it for `lbconverge drain`: remove it and drain again"))
    })
}

/// Records `drains` in `state_dir`.
pub fn write(state_dir: &Path, drains: &Drains) -> Result<(), DrainsError> {
    let path = state_dir.join(FILE);
    let fail = |e: std::io::Error| DrainsError { path: path.clone(), reason: format!("cannot write: {e}") };
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
        assert!(e.ends_with("remove it and drain again"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
