//! The Debian package (`cargo deb`, `[package.metadata.deb]` in Cargo.toml): built from the
//! binary under test (`--no-build`, no second release build) with man pages and completions
//! generated from the CLI by tools/gen-docs; `lintian` reports no error; `dpkg -i` installs
//! it; the installed `lbconverge --version` runs, every man page renders without a warning
//! (`man -l`), the unit passes `systemd-analyze verify`, the schema, an example manifest,
//! completions and /etc/lbconverge are where the README says; `dpkg -r` leaves only the
//! conffile, `dpkg --purge` leaves nothing. Needs root (it installs a package); without
//! root it is ignored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;
#[path = "../tools/gen-docs/docs.rs"]
mod docs;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clap::CommandFactory;

const PACKAGE: &str = "lbconverge";

/// Runs `args`; its output, whatever the exit status.
fn run(args: &[&str]) -> Output {
    Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("run {args:?}: {e}"))
}

/// Runs `args`, which must succeed; stdout and stderr together.
fn ok(args: &[&str]) -> String {
    let out = run(args);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{args:?} failed ({}):\n{text}", out.status);
    text
}

/// dpkg's status of the package (`install ok installed`, `deinstall ok config-files`), or
/// empty when dpkg does not know it.
fn status() -> String {
    let out = run(&["dpkg-query", "-W", "-f=${Status}", PACKAGE]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Purges the package when the test ends, passed or failed, so a failure leaves no
/// installed package behind.
struct Purge;

impl Drop for Purge {
    fn drop(&mut self) {
        if !status().is_empty() {
            let _ = Command::new("dpkg").args(["--purge", PACKAGE]).status();
        }
    }
}

/// Builds the .deb in `out` from the binary this test was built with: its directory is the
/// profile's output directory that cargo-deb's `target/release/` stands for.
fn build_deb(out: &Path) -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_lbconverge"));
    let profile_dir = bin.parent().unwrap();
    let target_dir = profile_dir.parent().unwrap();
    let profile = match profile_dir.file_name().unwrap().to_str().unwrap() {
        "debug" => "dev",
        other => other,
    };
    docs::write_all(&common::root().join("target/lbconverge-docs")).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let built = Command::new(cargo)
        .args(["deb", "--no-build", "--fast", "--profile", profile, "--output"])
        .arg(out)
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(common::root())
        .output()
        .expect("run cargo deb (tools/test installs cargo-deb)");
    let log = format!("{}{}", String::from_utf8_lossy(&built.stdout), String::from_utf8_lossy(&built.stderr));
    assert!(built.status.success(), "cargo deb failed:\n{log}");
    let mut debs: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .collect();
    assert_eq!(debs.len(), 1, "one .deb in {}: {debs:?}\n{log}", out.display());
    debs.pop().unwrap()
}

/// lintian's tags for the package; fails on any error (`E:`), prints the rest.
fn lintian(deb: &Path) {
    let out = run(&["lintian", "--tag-display-limit", "0", deb.to_str().unwrap()]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("E: ")).collect();
    assert!(errors.is_empty(), "lintian errors:\n{}", errors.join("\n"));
    if !text.trim().is_empty() {
        eprintln!("lintian (no errors):\n{}", text.trim_end());
    }
}

/// The installed man page renders through `man -l` without a groff warning and shows `want`.
fn man_renders(page: &str, want: &str) {
    let path = format!("/usr/share/man/man8/{page}.8.gz");
    let out = Command::new("man")
        .args(["--warnings", "-l", &path])
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    let (text, warnings) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "man -l {path}: {}\n{warnings}", out.status);
    assert_eq!(warnings.trim(), "", "man -l {path} warned");
    assert!(text.contains("SYNOPSIS") && text.contains(want), "man -l {path} lacks {want:?}:\n{text}");
}

/// The files dpkg lists for the package (directories left out).
fn package_files() -> Vec<PathBuf> {
    ok(&["dpkg-query", "-L", PACKAGE]).lines().map(PathBuf::from).filter(|p| !p.is_dir()).collect()
}

#[test]
#[ignore = "needs root: installs a Debian package"]
fn the_package_installs_runs_and_purges_cleanly() {
    assert!(common::is_root(), "needs root (run tools/test as root)");
    // Never replaces a real installation; a leftover of a killed run: `dpkg --purge lbconverge`.
    assert_eq!(status(), "", "a {PACKAGE} package is installed on this host already; not replacing it");
    let scratch = std::env::temp_dir().join(format!("lbc-package-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();

    let deb = build_deb(&scratch);
    lintian(&deb);

    let _purge = Purge;
    ok(&["dpkg", "-i", deb.to_str().unwrap()]);
    assert_eq!(status(), "install ok installed");

    let version = ok(&["/usr/sbin/lbconverge", "--version"]);
    assert_eq!(version.trim(), format!("lbconverge {}", env!("CARGO_PKG_VERSION")));

    // lbconverge(8), and lbconverge-SUBCOMMAND(8) for every subcommand.
    man_renders("lbconverge", "lbconverge-plan(8)");
    for sub in lbconverge::cli::Cli::command().get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        man_renders(&format!("lbconverge-{name}"), &format!("lbconverge-{name}(8)"));
    }
    man_renders("lbconverge-plan", "--detailed-exitcode");
    man_renders("lbconverge-import-keepalived", "--real-server-snapshots");

    let unit = ["/lib/systemd/system/lbconverge.service", "/usr/lib/systemd/system/lbconverge.service"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("the unit is installed");
    let verified = run(&["systemd-analyze", "verify", unit]);
    let said = format!("{}{}", String::from_utf8_lossy(&verified.stdout), String::from_utf8_lossy(&verified.stderr));
    assert_eq!((verified.status.code(), said.trim()), (Some(0), ""), "systemd-analyze verify {unit}");

    let schema = std::fs::read_to_string("/usr/share/lbconverge/manifest.schema.json").unwrap();
    assert_eq!(schema, lbconverge::manifest::schema::SCHEMA_TEXT, "the installed schema is `lbconverge schema`");
    ok(&["/usr/sbin/lbconverge", "validate", "/usr/share/doc/lbconverge/examples/lvs-dr-pair.yaml"]);
    for completion in [
        "/usr/share/bash-completion/completions/lbconverge",
        "/usr/share/zsh/vendor-completions/_lbconverge",
        "/usr/share/fish/vendor_completions.d/lbconverge.fish",
    ] {
        let text = std::fs::read_to_string(completion).unwrap();
        assert!(text.contains("detailed-exitcode"), "{completion} does not complete plan's options");
    }
    ok(&["bash", "-n", "/usr/share/bash-completion/completions/lbconverge"]);
    assert!(Path::new("/etc/lbconverge").is_dir(), "/etc/lbconverge is made for the manifest");
    assert!(Path::new("/etc/default/lbconverge").is_file(), "/etc/default/lbconverge is the unit's settings file");

    // Remove: the conffile stays until purge; purge: nothing of the package stays.
    let files = package_files();
    ok(&["dpkg", "-r", PACKAGE]);
    assert_eq!(status(), "deinstall ok config-files");
    assert!(!Path::new("/usr/sbin/lbconverge").exists(), "dpkg -r left the binary");
    assert!(Path::new("/etc/default/lbconverge").exists(), "dpkg -r removed the conffile");
    ok(&["dpkg", "--purge", PACKAGE]);
    assert_eq!(status(), "", "purged");
    let left: Vec<&PathBuf> = files.iter().filter(|p| p.exists()).collect();
    assert!(left.is_empty(), "dpkg --purge left {left:?}");
    assert!(!Path::new("/etc/lbconverge").exists(), "dpkg --purge left /etc/lbconverge");
    assert!(!Path::new("/etc/default/lbconverge").exists(), "dpkg --purge left /etc/default/lbconverge");
    std::fs::remove_dir_all(&scratch).unwrap();
}
