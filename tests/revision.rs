//! The applied revision: a manifest in a git work tree is planned with the commit it comes
//! from (id, subject, and whether the file differs from it), in the text header and in the
//! JSON plan; `--require-committed` refuses a modified or untracked manifest with exit 1,
//! and a manifest outside any work tree carries only its SHA-256. The repository is made
//! with `git` in a scratch directory; lbconverge reads it with gix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let d = std::env::temp_dir().join(format!("lbc-revision-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    Scratch(d)
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn plan(dir: &Path, extra: &[&str]) -> Output {
    let live = common::root().join("examples/live/empty.yaml");
    Command::new(env!("CARGO_BIN_EXE_lbconverge"))
        .args(["plan", "cluster.yaml", "--node", "director1", "--live"])
        .arg(live)
        .args(extra)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GIT_DIR")
        .output()
        .expect("run lbconverge")
}

fn line2(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().to_string()
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(std::fs::read(path).unwrap());
    format!("sha256:{}", d.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[test]
fn plans_name_the_commit_and_require_committed_refuses_the_rest() {
    let found = Command::new("git").arg("--version").output().is_ok_and(|o| o.status.success());
    if common::skip_unless(found, "plans_name_the_commit_and_require_committed_refuses_the_rest", "no git here") {
        return;
    }
    let s = scratch("git");
    let repo = s.0.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let manifest = repo.join("cluster.yaml");
    std::fs::copy(common::root().join("examples/fwmark.yaml"), &manifest).unwrap();

    // Outside any work tree: the SHA-256 alone.
    let out = plan(&repo, &[]);
    assert_eq!(line2(&out), format!("Manifest {}", sha256(&manifest)));

    // Committed: id and subject.
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "cluster.yaml"]);
    git(&repo, &["commit", "-q", "-m", "Fwmark cluster\n\nBody text."]);
    let id = git(&repo, &["rev-parse", "HEAD"]);
    let want = format!("Manifest {} (commit {} \"Fwmark cluster\")", sha256(&manifest), &id[..12]);
    assert_eq!(line2(&plan(&repo, &[])), want);
    assert!(plan(&repo, &["--require-committed"]).status.success());
    let json: serde_json::Value =
        serde_json::from_slice(&plan(&repo, &["--format", "json"]).stdout).expect("a JSON plan");
    assert_eq!(
        json["manifest_commit"],
        serde_json::json!({"id": id, "subject": "Fwmark cluster", "file": "committed"})
    );

    // Modified: said, and refused under --require-committed.
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("# edited\n");
    std::fs::write(&manifest, text).unwrap();
    let modified = format!(
        "Manifest {} (commit {} \"Fwmark cluster\", file modified since the commit)",
        sha256(&manifest),
        &id[..12]
    );
    assert_eq!(line2(&plan(&repo, &[])), modified);
    let refused = plan(&repo, &["--require-committed"]);
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr).trim(),
        "cluster.yaml is not committed (modified since the commit); --require-committed applies only committed manifests"
    );
    assert!(refused.stdout.is_empty(), "a refused manifest is not planned");

    // Untracked: a new file beside the committed one.
    std::fs::copy(&manifest, repo.join("other.yaml")).unwrap();
    std::fs::rename(repo.join("other.yaml"), &manifest).unwrap();
    git(&repo, &["rm", "-q", "--cached", "cluster.yaml"]);
    git(&repo, &["commit", "-q", "-m", "Drop it"]);
    let refused = plan(&repo, &["--require-committed"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("(not in the commit)"), "{refused:?}");
}
