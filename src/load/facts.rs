//! The machine facts validation may use (secret files, environment variables), read from
//! this host.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::model::{Facts, FileFact, ScriptFact};

/// Facts read from this machine.
pub struct HostFacts;

impl Facts for HostFacts {
    fn secret_file(&self, path: &Path) -> FileFact {
        match std::fs::metadata(path) {
            Ok(m) if !m.is_file() => FileFact::NotRegular,
            Ok(m) => FileFact::Mode(m.permissions().mode()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileFact::Missing,
            Err(e) => FileFact::Unreadable(e.to_string()),
        }
    }
    fn secret_text(&self, path: &Path) -> Option<String> {
        crate::files::first_line(path, crate::files::Kind::Secret).ok()
    }
    fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
    fn script(&self, path: &Path) -> ScriptFact {
        let Ok(real) = std::fs::canonicalize(path) else { return ScriptFact::Missing };
        match std::fs::metadata(&real) {
            Ok(m) if m.is_file() && m.mode() & 0o111 != 0 => {}
            Ok(_) => return ScriptFact::NotExecutable,
            Err(_) => return ScriptFact::Missing,
        }
        for p in real.ancestors() {
            let Ok(m) = std::fs::metadata(p) else { return ScriptFact::Missing };
            let why = if m.mode() & 0o002 != 0 {
                "writable by everyone".to_string()
            } else if m.mode() & 0o020 != 0 {
                "writable by its group".to_string()
            } else if m.uid() != 0 {
                format!("owned by uid {}", m.uid())
            } else {
                continue;
            };
            return ScriptFact::Unsafe { path: p.to_path_buf(), why };
        }
        ScriptFact::Safe
    }
    fn user_exists(&self, name: &str) -> bool {
        crate::sys::user_ids(name).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_script_is_safe_only_when_root_alone_can_change_it_and_its_directories() {
        assert_eq!(HostFacts.script(Path::new("/bin/sh")), ScriptFact::Safe);
        assert_eq!(HostFacts.script(Path::new("/no/such/check")), ScriptFact::Missing);
        let dir = std::env::temp_dir().join(format!("lbc-facts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("check");
        std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o777)).unwrap();
        let got = HostFacts.script(&script);
        let want = ScriptFact::Unsafe { path: script.canonicalize().unwrap(), why: "writable by everyone".into() };
        assert_eq!(got, want);
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o775)).unwrap();
        let ScriptFact::Unsafe { path, why } = HostFacts.script(&script) else { panic!("a group-writable directory") };
        assert_eq!(path, dir.canonicalize().unwrap());
        assert!(why == "writable by its group" || why.starts_with("owned by uid"), "{why}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
