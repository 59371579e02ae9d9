//! The bad-input corpus: every manifest in tests/bad/ (plus large and binary files generated
//! here) must fail `validate` and `plan` with exit 1, a message naming the place and the
//! fix (compared whole with tests/bad/<name>.err), and no panic. Bad snapshots and bad
//! saved plans get the same treatment. `LBCONVERGE_BLESS=1` rewrites the .err files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::{assert_no_mismatch, check_golden, lbconverge, root};

/// Deterministic bytes (xorshift), so generated files and their messages are stable.
fn noise(len: usize, seed: u64, printable: bool) -> Vec<u8> {
    let mut rng = lbconverge::testkit::Rng::new(seed);
    (0..len)
        .map(|_| {
            let b = (rng.next_u64() >> 24).to_le_bytes()[0];
            const TEXT: &[u8] = b"abcdefghij:-[]{} ,\n#&*!|>'\"%@`?";
            if printable { TEXT[usize::from(b) % TEXT.len()] } else { b }
        })
        .collect()
}

fn generate() -> Vec<PathBuf> {
    let dir = root().join("tests/bad/generated");
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("garbage-10mb-binary.yaml", noise(10 << 20, 7, false)),
        ("garbage-10mb-text.yaml", noise(10 << 20, 11, true)),
        ("binary-elf.yaml", [b"\x7fELF\x02\x01\x01\0".as_slice(), &[0u8; 64], b"\x03\0>\0"].concat()),
        ("latin1.yaml", b"version: 1\ncluster: caf\xe9\nnodes: {}\n".to_vec()),
        ("too-large-20mb.yaml", [b"version: 1\n#".as_slice(), &vec![b'x'; 20 << 20]].concat()),
    ];
    files
        .into_iter()
        .map(|(name, bytes)| {
            let p = dir.join(name);
            std::fs::File::create(&p).unwrap().write_all(&bytes).unwrap();
            p
        })
        .collect()
}

fn corpus() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("tests/bad"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.extend(generate());
    v.sort();
    v
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_bad_manifest_fails_with_its_location_and_no_panic() {
    // Git checkouts give files the umask's mode; this case needs "readable by others".
    let world = root().join("tests/bad/secrets/world.pass");
    std::fs::set_permissions(&world, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    for private in ["nine.pass", "empty.pass"] {
        let f = root().join("tests/bad/secrets").join(private);
        std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    }
    // A FIFO cannot be committed; this case needs one (reading it would block forever).
    let fifo = root().join("tests/bad/secrets/fifo.pass");
    if !fifo.exists() {
        let c = std::ffi::CString::new(fifo.to_string_lossy().into_owned()).unwrap();
        // SAFETY: c is a valid NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo {}", fifo.display());
    }
    let mut mismatches = Vec::new();
    let files = corpus();
    assert!(files.len() >= 40, "the corpus has only {} manifests", files.len());
    for f in &files {
        let path = rel(f);
        let name = f.file_stem().unwrap().to_string_lossy();
        let v = lbconverge(&["validate", &path]);
        let p = lbconverge(&["plan", &path, "--node", "lvs01", "--live", "examples/live/empty.yaml"]);
        for (what, out) in [("validate", &v), ("plan", &p)] {
            if out.status.code() != Some(1) {
                mismatches.push(format!("{what} {path}: exit {:?}, want 1 (101 is a panic)", out.status.code()));
            }
            if !out.stdout.is_empty() {
                mismatches.push(format!("{what} {path}: printed to stdout: {}", String::from_utf8_lossy(&out.stdout)));
            }
        }
        let stderr = String::from_utf8_lossy(&v.stderr).into_owned();
        if v.stderr != p.stderr {
            mismatches.push(format!(
                "{path}: validate and plan report differently:\n{stderr}\n---\n{}",
                String::from_utf8_lossy(&p.stderr)
            ));
        }
        if !stderr.contains(&format!("{path}:")) {
            mismatches.push(format!("{path}: the message does not name the file:\n{stderr}"));
        }
        if let Some(m) = check_golden(&format!("tests/bad/expected/{name}.err"), &stderr) {
            mismatches.push(m);
        }
    }
    assert_no_mismatch(mismatches);
}

#[test]
fn bad_snapshots_fail_with_their_location() {
    let dir = root().join("tests/bad/snapshots");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 5);
    let mut mismatches = Vec::new();
    for f in files {
        let path = rel(&f);
        let out = lbconverge(&["plan", "examples/lvs-dr-pair.yaml", "--node", "lvs01", "--live", &path]);
        if out.status.code() != Some(1) {
            mismatches.push(format!("{path}: exit {:?}, want 1", out.status.code()));
        }
        let name = f.file_stem().unwrap().to_string_lossy();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if let Some(m) = check_golden(&format!("tests/bad/expected/snapshot-{name}.err"), &stderr) {
            mismatches.push(m);
        }
    }
    assert_no_mismatch(mismatches);
}

#[test]
fn warnings_do_not_fail_and_name_their_place() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/warn"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut mismatches = Vec::new();
    for f in files {
        let path = rel(&f);
        let out = lbconverge(&["validate", &path]);
        if out.status.code() != Some(0) {
            mismatches.push(format!("{path}: exit {:?}, want 0", out.status.code()));
        }
        let name = f.file_stem().unwrap().to_string_lossy();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if let Some(m) = check_golden(&format!("tests/warn/{name}.err"), &stderr) {
            mismatches.push(m);
        }
    }
    assert_no_mismatch(mismatches);
}

#[test]
fn run_refuses_a_resync_below_one_second() {
    for short in ["0s", "500ms", "999ms"] {
        let out = lbconverge(&["run", "examples/lvs-dr-pair.yaml", "--resync", short]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{short}: {stderr}");
        let want = format!(
            "error: invalid value '{short}' for '--resync <RESYNC>': {short} is too short: the daemon re-reads the whole kernel state each time; use at least 1s"
        );
        assert!(stderr.starts_with(&want), "{stderr}");
    }
}

/// What only the node's own host can tell (its addresses, interfaces, environment, the
/// commands it would run) passes `validate` and stops `plan` before it prints anything:
/// tests/bad/host/*.yaml planned on this host, snapshot-*.yaml against examples/live/empty.yaml.
#[test]
fn plan_refuses_a_host_that_cannot_carry_the_node() {
    let state = std::env::temp_dir().join(format!("lbc-host-plan-{}", std::process::id()));
    let dir = root().join("tests/bad/host");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 2);
    let mut mismatches = Vec::new();
    for f in files {
        let path = rel(&f);
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        let v = lbconverge(&["validate", &path]);
        if v.status.code() != Some(0) {
            mismatches.push(format!(
                "validate {path}: exit {:?}, want 0: {}",
                v.status.code(),
                String::from_utf8_lossy(&v.stderr)
            ));
        }
        let mut args = vec!["--state-dir", state.to_str().unwrap(), "plan", &path, "--node", "lvs01"];
        if name.starts_with("snapshot-") {
            args.extend(["--live", "examples/live/empty.yaml"]);
        }
        let p = lbconverge(&args);
        if p.status.code() != Some(1) || !p.stdout.is_empty() {
            mismatches.push(format!(
                "plan {path}: exit {:?} (want 1), stdout {:?}",
                p.status.code(),
                String::from_utf8_lossy(&p.stdout)
            ));
        }
        let stderr = String::from_utf8_lossy(&p.stderr).into_owned();
        if let Some(m) = check_golden(&format!("tests/bad/host/{name}.err"), &stderr) {
            mismatches.push(m);
        }
    }
    let _ = std::fs::remove_dir_all(&state);
    assert_no_mismatch(mismatches);
}

/// A saved plan edited after `plan --out` (here: a delete of the node's own address slipped
/// in) is refused by its digest before `apply --plan` reads or writes the kernel. The
/// checks against the host (ownership, order, ledger, node) are unit tests of plan::verify.
#[test]
fn an_edited_plan_file_is_refused_before_the_kernel_is_touched() {
    let dir = std::env::temp_dir().join(format!("lbc-edited-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("plan.json");
    let f = file.to_str().unwrap();
    let made = lbconverge(&[
        "plan",
        "examples/lvs-dr-pair.yaml",
        "--node",
        "nginx01",
        "--live",
        "examples/live/empty.yaml",
        "--out",
        f,
    ]);
    assert_eq!(made.status.code(), Some(0), "{}", String::from_utf8_lossy(&made.stderr));
    let mut plan: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let own = serde_json::json!({"action": "delete", "op": "del_address",
        "address": {"interface": "eth0", "address": "172.16.40.21/24"}});
    plan["changes"].as_array_mut().unwrap().push(own);
    std::fs::write(&file, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    let state = dir.join("state");
    let out = lbconverge(&["--state-dir", state.to_str().unwrap(), "apply", "--plan", f, "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
    let stderr = String::from_utf8_lossy(&out.stderr).replace(f, "PLAN");
    let mismatch = check_golden("tests/bad/expected/plan-edited.err", &stderr);
    assert!(!state.exists(), "the state directory was touched");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_no_mismatch(mismatch.into_iter().collect());
}
