//! The files lbconverge writes on a host, attacked the way a careless or hostile local user
//! could: the manifest cache of an earlier build is removed, a symlink planted in its place
//! removed and not followed; temporary files never follow a symlink planted where the old
//! code put them, and a failed write leaves nothing behind. `plan` here reads this host's kernel without changing it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::lbconverge;

/// A scratch directory removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("lbc-state-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
    fn files(&self, rel: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path(rel))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// Real server nginx01 of the DR example planned against this host's kernel. `plan` first
/// checks that the host is the node's, so here nginx01's address is one every host holds
/// (127.0.0.1 on lo); the manifest is written beside the state directory.
fn plan_real_server(state: &Path) -> Output {
    let example = std::fs::read_to_string(common::root().join("examples/lvs-dr-pair.yaml")).unwrap();
    let here = example.replacen(
        "addresses: [172.16.40.21/24]\n    interface: eth0",
        "addresses: [127.0.0.1/8]\n    interface: lo",
        1,
    );
    assert_ne!(here, example, "nginx01's address moved in the example");
    let manifest = state.with_file_name("cluster.yaml");
    std::fs::write(&manifest, here).unwrap();
    let (sd, m) = (state.display().to_string(), manifest.display().to_string());
    lbconverge(&["--state-dir", &sd, "plan", &m, "--node", "nginx01"])
}

#[test]
fn the_manifest_cache_of_an_earlier_build_is_removed_and_a_planted_symlink_not_followed() {
    let d = Dir::new("cache");
    std::fs::create_dir_all(d.path("state/cache")).unwrap();
    std::fs::write(d.path("state/cache/0123.manifest"), "lbconverge-cache-2\n").unwrap();
    let first = plan_real_server(&d.path("state"));
    let (want, err) = text(&first);
    assert!(first.status.success(), "{err}");
    assert!(want.contains("+ address 172.16.40.160/32 on lo label lo:0"), "{want}");
    assert!(err.contains("removed the manifest cache of an earlier version"), "{err}");
    assert!(!d.path("state/cache").exists(), "{:?}", d.files("state"));
    // A symlink where the cache was is removed; what it points at is left alone.
    std::fs::create_dir(d.path("victim")).unwrap();
    std::fs::write(d.path("victim/keep"), "precious").unwrap();
    std::os::unix::fs::symlink(d.path("victim"), d.path("state/cache")).unwrap();
    let second = plan_real_server(&d.path("state"));
    let (got, err) = text(&second);
    assert!(second.status.success(), "{err}");
    assert_eq!(got, want);
    assert!(std::fs::symlink_metadata(d.path("state/cache")).is_err(), "the symlink is gone");
    assert_eq!(std::fs::read_to_string(d.path("victim/keep")).unwrap(), "precious");
    // Nothing left to remove: nothing said.
    let (_, err) = text(&plan_real_server(&d.path("state")));
    assert!(!err.contains("manifest cache"), "{err}");
}

/// `plan --out OUT` of lvs01 against the empty snapshot.
fn plan_out(out: &str) -> Output {
    lbconverge(&[
        "plan",
        "examples/lvs-dr-pair.yaml",
        "--live",
        "examples/live/empty.yaml",
        "--node",
        "lvs01",
        "--out",
        out,
    ])
}

#[test]
fn plan_out_never_follows_a_planted_symlink() {
    let d = Dir::new("symlink");
    let victim = d.path("victim");
    std::fs::write(&victim, "precious").unwrap();
    for planted in ["plan.tmp~", "plan.json.tmp", "plan.json.tmp~"] {
        std::os::unix::fs::symlink(&victim, d.path(planted)).unwrap();
    }
    let out = d.path("plan.json").display().to_string();
    let o = plan_out(&out);
    assert!(o.status.success(), "{}", text(&o).1);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path("plan.json")).unwrap()).unwrap();
    assert_eq!(saved["node"], "lvs01");
    assert_eq!(d.files(""), ["plan.json", "plan.json.tmp", "plan.json.tmp~", "plan.tmp~", "victim"]);
}

#[test]
fn a_failed_plan_out_leaves_no_temporary_file() {
    let d = Dir::new("outdir");
    std::fs::create_dir(d.path("out")).unwrap();
    std::fs::write(d.path("out/keep"), "x").unwrap();
    let out = d.path("out").display().to_string();
    let o = plan_out(&out);
    assert_eq!(o.status.code(), Some(1));
    let (_, err) = text(&o);
    assert!(err.starts_with(&format!("{out}: cannot write: ")), "{err}");
    assert_eq!(d.files(""), ["out"], "nothing left beside the target");
    assert_eq!(d.files("out"), ["keep"]);
}

/// A state file that is not what lbconverge wrote: a FIFO, a directory, a symlink (to
/// /dev/zero) or a file over its limit. `plan` on this host refuses it within a second
/// naming the file and the reason (a drains file it cannot read could undo a drain; a
/// ledger it cannot read could not say what it owns), and never blocks or reads without end.
#[test]
fn plan_refuses_a_damaged_drains_file_or_ledger_at_once_naming_it() {
    let mut mismatches = Vec::new();
    for (file, what, limit) in [("drains.json", "drains file", 16u64 << 20), ("ledger.json", "ledger", 64 << 20)] {
        for how in ["fifo", "directory", "dev-zero", "oversize"] {
            let d = Dir::new(&format!("damaged-{how}-{file}"));
            std::fs::create_dir_all(d.path("state")).unwrap();
            let p = d.path("state").join(file);
            match how {
                "fifo" => {
                    lbconverge::testkit::mkfifo(&p).unwrap();
                    lbconverge::testkit::unblock_later(&p, std::time::Duration::from_secs(2));
                }
                "directory" => std::fs::create_dir(&p).unwrap(),
                "dev-zero" => std::os::unix::fs::symlink("/dev/zero", &p).unwrap(),
                _ => std::fs::File::create(&p).unwrap().set_len(limit + 1).unwrap(),
            }
            let want = match how {
                "fifo" => "not a regular file (a FIFO)".to_string(),
                "directory" => "not a regular file (a directory)".to_string(),
                "dev-zero" => format!("a symlink; lbconverge never reads its {what} through a symlink"),
                _ => format!("larger than the limit of {} MiB for a {what}", limit >> 20),
            };
            let t = std::time::Instant::now();
            let out = plan_real_server(&d.path("state"));
            let took = t.elapsed();
            let (_, err) = text(&out);
            let case = format!("{file} as {how}");
            if out.status.code() != Some(1) || !err.contains(&p.display().to_string()) || !err.contains(&want) {
                mismatches.push(format!(
                    "{case}: exit {:?}, want 1 and `{want}` naming {}:\n{err}",
                    out.status.code(),
                    p.display()
                ));
            }
            if took > std::time::Duration::from_secs(1) {
                mismatches.push(format!("{case}: took {took:?}"));
            }
            assert!(std::fs::symlink_metadata(&p).is_ok(), "{case}: plan moved or removed it");
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
