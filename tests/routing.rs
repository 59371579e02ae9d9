//! `lbconverge show --routing bird|frr`: the routing daemon's configuration for a director,
//! compared whole with `golden/routing/` (`LBCONVERGE_BLESS=1` rewrites it), and accepted as
//! printed by the daemons themselves: `bird -p -c FILE` (bird2) and `vtysh --dryrun -f FILE`
//! (frr). Without those programs the second test is skipped (as root, tools/test installs them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The manifests and nodes printed: the example with its BGP sessions and BFD; one with BFD
/// off and no sessions named (placeholders).
const CASES: [(&str, &str, &str); 2] =
    [("examples/bgp-ecmp.yaml", "lb1", "bgp-ecmp-lb1"), ("tests/routing/placeholders.yaml", "d1", "placeholders-d1")];

fn printed(manifest: &str, node: &str, daemon: &str) -> String {
    let out = common::lbconverge(&["show", "--routing", daemon, "--manifest", manifest, "--node", node]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn printed_configurations_match_their_golden_files() {
    let mut mismatches = Vec::new();
    for (manifest, node, name) in CASES {
        for (daemon, ext) in [("bird", "bird.conf"), ("frr", "frr.conf")] {
            let got = printed(manifest, node, daemon);
            mismatches.extend(common::check_golden(&format!("golden/routing/{name}.{ext}"), &got));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!("lbc-routing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `program args... FILE` on `text`: success and what it printed.
fn accepted(dir: &Path, program: &str, args: &[&str], text: &str) -> (bool, String) {
    let file = dir.join("routing.conf");
    std::fs::write(&file, text).unwrap();
    let out = Command::new(program).args(args).arg(&file).output().expect("run the routing daemon's check");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn bird_and_frr_accept_the_configuration_as_printed() {
    let found = |p: &str| Path::new(p).exists();
    let have = found("/usr/sbin/bird") && found("/usr/bin/vtysh");
    if common::skip_unless(have, "bird_and_frr_accept_the_configuration_as_printed", "bird2 or frr not installed") {
        return;
    }
    let dir = scratch();
    let (manifest, node, _) = CASES[0];
    let bird = printed(manifest, node, "bird");
    let frr = printed(manifest, node, "frr");
    for (program, args, text, broken) in [
        ("/usr/sbin/bird", &["-p", "-c"][..], &bird, bird.replace("multiplier 3", "multiplier three")),
        ("/usr/bin/vtysh", &["--dryrun", "-f"][..], &frr, frr.replace("detect-multiplier", "detect-multiplyer")),
    ] {
        let (ok, said) = accepted(&dir, program, args, text);
        assert!(ok, "{program} refused the printed configuration: {said}\n{text}");
        // The check can fail: one word changed is refused.
        let (ok, _) = accepted(&dir, program, args, &broken);
        assert!(!ok, "{program} accepted a broken configuration");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
