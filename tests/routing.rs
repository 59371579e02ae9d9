//! `lbconverge show --routing bird|frr`: BIRD's and FRR's configurations for a director,
//! compared whole with `golden/routing/` (`LBCONVERGE_BLESS=1` rewrites them), and accepted
//! as printed by the daemons themselves (`bird -p -c FILE`, FRR's `vtysh --dryrun -f FILE`;
//! without bird2 or frr that test is skipped, as root tools/test installs both).
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
        for daemon in ["bird", "frr"] {
            let got = printed(manifest, node, daemon);
            mismatches.extend(common::check_golden(&format!("golden/routing/{name}.{daemon}.conf"), &got));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// A scratch directory of this test's own (the tests run in parallel).
fn scratch(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lbc-routing-{test}-{}", std::process::id()));
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
fn bird_accepts_the_configuration_as_printed() {
    let have = Path::new("/usr/sbin/bird").exists();
    if common::skip_unless(have, "bird_accepts_the_configuration_as_printed", "bird2 not installed") {
        return;
    }
    let dir = scratch("bird");
    let (manifest, node, _) = CASES[0];
    let bird = printed(manifest, node, "bird");
    let (ok, said) = accepted(&dir, "/usr/sbin/bird", &["-p", "-c"], &bird);
    assert!(ok, "bird refused the printed configuration: {said}\n{bird}");
    // The check can fail: one word changed is refused.
    let (ok, _) = accepted(&dir, "/usr/sbin/bird", &["-p", "-c"], &bird.replace("multiplier 3", "multiplier three"));
    assert!(!ok, "bird accepted a broken configuration");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn frr_accepts_the_configuration_as_printed() {
    let have = Path::new("/usr/bin/vtysh").exists();
    if common::skip_unless(have, "frr_accepts_the_configuration_as_printed", "frr not installed") {
        return;
    }
    let dir = scratch("frr");
    let (manifest, node, _) = CASES[0];
    let frr = printed(manifest, node, "frr");
    let (ok, said) = accepted(&dir, "/usr/bin/vtysh", &["--dryrun", "-f"], &frr);
    assert!(ok, "vtysh refused the printed configuration: {said}\n{frr}");
    // The check can fail: one word changed is refused.
    let (ok, _) = accepted(&dir, "/usr/bin/vtysh", &["--dryrun", "-f"], &frr.replace("remote-as", "remote-asn"));
    assert!(!ok, "vtysh accepted a broken configuration");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn frr_refuses_an_ipv6_vip_with_the_reason() {
    let out =
        common::lbconverge(&["show", "--routing", "frr", "--manifest", "tests/routing/ipv6.yaml", "--node", "d1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("its zebra imports only IPv4 routes from a kernel table"), "{stderr}");
}
