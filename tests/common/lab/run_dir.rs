//! A directory per lab node under /run for the commands the daemons run (notify and FIFO
//! scripts, track files): lbconverge's script security and keepalived's
//! `enable_script_security` refuse commands under /tmp, and under /run only root may
//! write once it is sealed. Removed on drop unless a test panicked (kept to look at).

use std::path::PathBuf;
use std::process::Command;

/// `<base>/n1`, `<base>/n2`.
pub struct RunDir {
    /// The base directory.
    pub dir: PathBuf,
}

const NODES: [&str; 2] = ["n1", "n2"];

impl RunDir {
    /// `/run/<prefix>-<pid>-<tag>`, made afresh.
    pub fn new(prefix: &str, tag: &str) -> RunDir {
        RunDir::at(PathBuf::from(format!("/run/{prefix}-{}-{tag}", std::process::id())))
    }

    /// The same layout at `dir` (made afresh), for tests that only render configurations.
    pub fn at(dir: PathBuf) -> RunDir {
        let _ = std::fs::remove_dir_all(&dir);
        for n in NODES {
            std::fs::create_dir_all(dir.join(n)).unwrap();
        }
        RunDir { dir }
    }

    /// The path of `file` in `node`'s directory.
    pub fn path(&self, node: &str, file: &str) -> String {
        self.dir.join(node).join(file).display().to_string()
    }

    /// Writes `body` as a `/bin/sh` script `name` in `node`'s directory, mode 0755.
    pub fn script(&self, node: &str, name: &str, body: &str) {
        let path = self.path(node, name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        Command::new("chmod").args(["755", &path]).status().unwrap();
    }

    /// What `file` in `node`'s directory holds (empty when it does not exist).
    pub fn read(&self, node: &str, file: &str) -> String {
        std::fs::read_to_string(self.path(node, file)).unwrap_or_default()
    }

    /// Takes write access away from all but root, as both daemons' script security wants.
    pub fn seal(&self) {
        Command::new("chmod").args(["-R", "go-w", &self.dir.display().to_string()]).status().unwrap();
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
