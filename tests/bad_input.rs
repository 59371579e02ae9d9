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
        lbconverge::testkit::mkfifo(&fifo).unwrap();
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

/// Puts at `p` what a reader must refuse: a FIFO (a blocking open would hang until a writer
/// comes), a directory, a symlink to /dev/zero (0 bytes by `stat`, endless when read), or a
/// sparse file one byte over `limit`.
fn make_bad(p: &Path, how: &str, limit: u64) {
    match how {
        "fifo" => lbconverge::testkit::mkfifo(p).unwrap(),
        "directory" => {
            std::fs::create_dir(p).unwrap();
            std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        }
        "dev-zero" => std::os::unix::fs::symlink("/dev/zero", p).unwrap(),
        "oversize" => std::fs::File::create(p).unwrap().set_len(limit + 1).unwrap(),
        _ => unreachable!("{how}"),
    }
}

/// The reason a reader must give for `how`.
fn reason(how: &str, limit: u64) -> String {
    match how {
        "fifo" => "not a regular file (a FIFO)".into(),
        "directory" => "not a regular file (a directory)".into(),
        "dev-zero" => "not a regular file (a character device)".into(),
        "oversize" if limit >= 1 << 20 => format!("larger than the limit of {} MiB", limit >> 20),
        "oversize" => format!("larger than the limit of {} KiB", limit >> 10),
        _ => unreachable!("{how}"),
    }
}

/// Runs lbconverge with `args` and `deadline` to answer: code that blocks on a FIFO or reads
/// /dev/zero without end is killed and reported, not left to hang the suite. Returns the exit
/// code (`None`: killed), stderr and how long it took.
fn bounded(args: &[String], deadline: std::time::Duration) -> (Option<i32>, String, std::time::Duration) {
    use std::io::Read;
    let started = std::time::Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lbconverge"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("GIT_DIR", "/nonexistent")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let took = started.elapsed();
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    (code, stderr, took)
}

const MIB: u64 = 1 << 20;

/// Every reader of a file from outside, given a FIFO, a directory, a symlink to /dev/zero or
/// a file one byte over its limit: exit 1 within a second, naming the file and the reason.
/// (`run` here fails on the manifest before it would need anything else of the host.)
#[test]
fn every_reader_refuses_a_fifo_a_directory_dev_zero_and_an_oversize_file_at_once() {
    let scratch = lbconverge::testkit::Scratch::new("bad-files").unwrap();
    let dir = scratch.path().to_path_buf();
    let d = |rel: &str| dir.join(rel).display().to_string();
    let conf = |f: &str| format!("tests/fixtures/keepalived/dr-pair/{f}");
    let v4 = ["--address", "lvs01=10.9.0.2/24", "--address", "lvs01=10.9.1.2/24"];
    let v4 = [&v4[..], &["--address", "lvs02=10.9.0.3/24", "--address", "lvs02=10.9.1.3/24"]].concat();
    // (reader, its limit, its arguments given the bad file X)
    type Args = Box<dyn Fn(&str) -> Vec<String>>;
    let s = |v: &[&str]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    let readers: Vec<(&str, u64, Args)> = vec![
        ("validate", 16 * MIB, Box::new(move |x| s(&["validate", x]))),
        (
            "plan MANIFEST",
            16 * MIB,
            Box::new(move |x| s(&["plan", x, "--node", "lvs01", "--live", "examples/live/empty.yaml"])),
        ),
        (
            "plan --live",
            256 * MIB,
            Box::new(move |x| s(&["plan", "examples/lvs-dr-pair.yaml", "--node", "lvs01", "--live", x])),
        ),
        ("apply --plan", 256 * MIB, {
            let state = d("state");
            Box::new(move |x| s(&["--state-dir", &state, "apply", "--plan", x, "--auto-approve"]))
        }),
        ("run MANIFEST", 16 * MIB, {
            let state = d("state");
            Box::new(move |x| s(&["--state-dir", &state, "run", x, "--control", "none"]))
        }),
        (
            "run --metrics-password-file",
            4096,
            Box::new(move |x| {
                s(&["run", "examples/lvs-dr-pair.yaml", "--control", "none", "--metrics-password-file", x])
            }),
        ),
        ("import keepalived", 16 * MIB, Box::new(move |x| s(&["import", "keepalived", x]))),
        ("import include", 16 * MIB, {
            let top = dir.join("top.conf");
            Box::new(move |x| {
                std::fs::write(&top, format!("global_defs {{\n  router_id lvs01\n}}\ninclude {x}\n")).unwrap();
                s(&["import", "keepalived", top.to_str().unwrap()])
            })
        }),
        ("import --ipvsadm-save", 64 * MIB, {
            let c = conf("lvs01.conf");
            Box::new(move |x| s(&["import", "keepalived", &c, "--ipvsadm-save", x]))
        }),
        ("import --real-server-snapshots", 256 * MIB, {
            let c = conf("lvs01.conf");
            Box::new(move |x| s(&["import", "keepalived", &c, "--real-server-snapshots", x]))
        }),
        ("import --password-file", 4096, {
            let (c1, c2, v4) = (conf("lvs01.conf"), conf("lvs02.conf"), v4.clone());
            Box::new(move |x| {
                let pass = format!("VI_WEB={x}");
                [s(&["import", "keepalived", &c1, &c2, "--password-file", &pass]), s(&v4)].concat()
            })
        }),
    ];
    let mut mismatches = Vec::new();
    for (reader, limit, args) in &readers {
        for how in ["fifo", "directory", "dev-zero", "oversize"] {
            let x = dir.join(format!("bad-{}", reader.replace([' ', '-'], "_")));
            let _ = std::fs::remove_file(&x).or_else(|_| std::fs::remove_dir(&x));
            make_bad(&x, how, *limit);
            let x = x.display().to_string();
            let (code, stderr, took) = bounded(&args(&x), std::time::Duration::from_secs(5));
            let want = reason(how, *limit);
            let case = format!("{reader} with {how}");
            if code != Some(1) {
                mismatches.push(format!("{case}: exit {code:?} (None: killed after 5 s), want 1: {stderr}"));
            } else if !stderr.contains(&x) || !stderr.contains(&want) {
                mismatches.push(format!("{case}: want `{x}` and `{want}` in:\n{stderr}"));
            }
            if took > std::time::Duration::from_secs(1) {
                mismatches.push(format!("{case}: took {took:?}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{} of {} cases:\n{}", mismatches.len(), readers.len() * 4, mismatches.join("\n"));
}
