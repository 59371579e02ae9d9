//! `lbconverge import keepalived` on the test configurations in tests/fixtures/keepalived/
//! (one folder per cluster, one file per director): the manifest and the warnings compared
//! whole with golden/import/, the same bytes on a second run, the output validates; the
//! drifted pair reports each difference; `--ipvsadm-save`, `--real-server-snapshots` and
//! `--password-file`; broken inputs are errors with their place and write nothing; and
//! (root) keepalived's own `keepalived -t` accepts every test configuration (or, for a
//! case of what keepalived reports and runs anyway, reports exactly its
//! `keepalived-t.txt`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::path::PathBuf;
use std::process::Command;

/// The directors' addresses: the client side (10.9.0.0/24) and the real servers' (10.9.1.0/24).
const V4: &[&str] = &[
    "--address",
    "lvs01=10.9.0.2/24",
    "--address",
    "lvs01=10.9.1.2/24",
    "--address",
    "lvs02=10.9.0.3/24",
    "--address",
    "lvs02=10.9.1.3/24",
];
const V6: &[&str] = &[
    "--address",
    "lvs01=fd00:9::2/64",
    "--address",
    "lvs01=fd00:9:1::2/64",
    "--address",
    "lvs02=fd00:9::3/64",
    "--address",
    "lvs02=fd00:9:1::3/64",
];

/// Every case folder with its directors' files, sorted.
fn cases() -> Vec<(String, Vec<String>)> {
    let dir = common::root().join("tests/fixtures/keepalived");
    let mut out: Vec<(String, Vec<String>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let mut files: Vec<String> = std::fs::read_dir(&p)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|f| f.extension().is_some_and(|e| e == "conf"))
                .map(|f| f.strip_prefix(common::root()).unwrap().display().to_string())
                .collect();
            files.sort();
            (common::stem(&p), files)
        })
        .collect();
    out.sort();
    out
}

fn import(files: &[String], extra: &[&str]) -> std::process::Output {
    let mut args: Vec<&str> = vec!["import", "keepalived"];
    args.extend(files.iter().map(String::as_str));
    args.extend(extra);
    common::lbconverge(&args)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lbc-import-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn every_case_imports_to_its_golden_manifest_the_same_twice_and_validates() {
    let mut mismatches = Vec::new();
    let tmp = scratch("cases");
    for (case, files) in cases() {
        let v6 = files.iter().any(|f| std::fs::read_to_string(common::root().join(f)).unwrap().contains("fd00:"));
        let args: Vec<&str> = if v6 { [V4, V6].concat() } else { V4.to_vec() };
        let first = import(&files, &args);
        assert!(first.status.success(), "{case}: {}", text(&first.stderr));
        let again = import(&files, &args);
        assert_eq!(first.stdout, again.stdout, "{case}: a second import gave other bytes");
        mismatches.extend(common::check_golden(&format!("golden/import/{case}.yaml"), &text(&first.stdout)));
        mismatches.extend(common::check_golden(&format!("golden/import/{case}.warnings"), &text(&first.stderr)));
        let out = tmp.join(format!("{case}.yaml"));
        std::fs::write(&out, &first.stdout).unwrap();
        let v = common::lbconverge(&["validate", out.to_str().unwrap()]);
        assert!(v.status.success(), "{case}: the import does not validate:\n{}", text(&v.stderr));
    }
    common::assert_no_mismatch(mismatches);
}

#[test]
fn a_drifted_pair_of_directors_reports_each_difference() {
    let files = ["lvs01.conf", "lvs02.conf"].map(|f| format!("tests/fixtures/keepalived/dr-pair-drift/{f}"));
    let out = import(&files, V4);
    let err = text(&out.stderr);
    let want = [
        "lvs02.conf:23: warning: directors differ: service `tcp-10.9.0.110-80`: backend `10.9.1.13` is on lvs01 but not on lvs02; the manifest has it",
        "lvs02.conf:37: warning: directors differ: service `tcp-10.9.0.110-80` backend `10.9.1.12`: `weight` is 3 on lvs01 but 2 on lvs02; the manifest takes lvs01's",
        "`health_checks[0].interval` is \"10s\" on lvs01 but \"30s\" on lvs02",
        "`health_checks[0].timeout` is \"3s\" on lvs01 but \"5s\" on lvs02",
        "service `tcp-10.9.0.111-3306`: `persistence.timeout` is \"1800s\" on lvs01 but \"3600s\" on lvs02",
        "imported 2 directors, 1 VRRP instance, 4 services; 7 warnings, 7 of them differences between directors",
    ];
    for w in want {
        assert!(err.contains(w), "missing `{w}` in:\n{err}");
    }
    let same = import(
        &["tests/fixtures/keepalived/dr-pair/lvs01.conf".into(), "tests/fixtures/keepalived/dr-pair/lvs02.conf".into()],
        V4,
    );
    assert!(!text(&same.stderr).contains("directors differ"), "{}", text(&same.stderr));
}

#[test]
fn ipvsadm_rules_add_the_services_keepalived_did_not_manage_and_the_password_env_is_named() {
    let tmp = scratch("ipvsadm");
    let rules = tmp.join("lvs01.rules");
    std::fs::write(
        &rules,
        "-A -t 10.9.0.100:80 -s wlc\n-a -t 10.9.0.100:80 -r 10.9.1.11:80 -g -w 3\n\
         -A -u 10.9.0.130:514 -s sh -b sh-port,sh-fallback -o\n-a -u 10.9.0.130:514 -r 10.9.1.21:514 -m -w 1\n\
         -a -u 10.9.0.130:514 -r 10.9.1.22:1514 -m -w 2 -x 100\n\
         -A -f 7 -s rr -p 120 -M 255.255.255.0\n-a -f 7 -r 10.9.1.21:0 -i -w 1\n",
    )
    .unwrap();
    let files = ["lvs01.conf".to_string()].map(|f| format!("tests/fixtures/keepalived/dr-pair/{f}"));
    let arg = format!("lvs01={}", rules.display());
    let out = import(&files, &[V4, &["--ipvsadm-save", &arg, "--password-env", "VI_WEB=WEB_PASS"]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr).replace(&tmp.display().to_string(), "TMP");
    let mismatches: Vec<String> = [
        common::check_golden(
            "golden/import/with-ipvsadm.yaml",
            &text(&out.stdout).replace(&tmp.display().to_string(), "TMP"),
        ),
        common::check_golden("golden/import/with-ipvsadm.warnings", &stderr),
    ]
    .into_iter()
    .flatten()
    .collect();
    common::assert_no_mismatch(mismatches);
}

#[test]
fn real_servers_with_snapshots_become_nodes_and_passwords_go_to_a_file() {
    let tmp = scratch("nodes");
    for (n, addr) in [("rs1", "10.9.1.11/24"), ("rs2", "10.9.1.12/24")] {
        let snap = format!(
            "addresses:\n  - {{interface: lo, address: 127.0.0.1/8}}\n  - {{interface: eth1, address: {addr}}}\n"
        );
        std::fs::write(tmp.join(format!("{n}.yaml")), snap).unwrap();
    }
    let pass = tmp.join("vi_web.pass");
    let files = ["lvs01.conf", "lvs02.conf"].map(|f| format!("tests/fixtures/keepalived/dr-pair/{f}"));
    let (rs1, rs2, p) = (tmp.join("rs1.yaml"), tmp.join("rs2.yaml"), format!("VI_WEB={}", pass.display()));
    let extra = [V4, &["--real-server-snapshots", rs1.to_str().unwrap(), rs2.to_str().unwrap(), "--password-file", &p]]
        .concat();
    let out = import(&files, &extra);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let yaml = text(&out.stdout).replace(&tmp.display().to_string(), "TMP");
    common::assert_no_mismatch(
        common::check_golden("golden/import/with-real-servers.yaml", &yaml).into_iter().collect(),
    );
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(&pass).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(&pass).unwrap(), "w3bP4ss8\n");
    assert!(!text(&out.stdout).contains("w3bP4ss8"), "the password is in the manifest");
    std::fs::write(&pass, "other\n").unwrap();
    let refused = import(&files, &extra);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("holds another password"), "{}", text(&refused.stderr));
}

#[test]
fn broken_inputs_are_errors_with_their_place_and_write_nothing() {
    let tmp = scratch("bad");
    let cases: &[(&str, &str, &str)] = &[
        ("open.conf", "global_defs {\n  router_id x\n", "open.conf:1:13: this `{` is never closed; add a `}`"),
        ("stray.conf", "vrrp_instance A {\n}\n}\n", "stray.conf:3:1: this `}` closes no block; remove it"),
        (
            "quote.conf",
            "virtual_server 10.0.0.1 80 {\n  quorum_up \"/bin/true\n}\n",
            "quote.conf:2:13: this quote is not closed on its line; add the closing `\"`",
        ),
        (
            "include.conf",
            "include nothing/*.conf\n",
            "include.conf:1:1: `include nothing/*.conf`: no file matches (relative to",
        ),
        ("binary.conf", "\u{1}\n", "binary.conf:1:1: control character U+0001; remove it"),
        (
            "param.conf",
            "$ID=lvs-$ID\nglobal_defs {\n  router_id $ID\n}\n",
            "param.conf:3:1: parameter substitution does not end on this line (does `$ID` use itself?)",
        ),
    ];
    for (name, body, want) in cases {
        let f = tmp.join(name);
        std::fs::write(&f, body).unwrap();
        let out_file = tmp.join("out.yaml");
        let out = import(&[f.display().to_string()], &["-o", out_file.to_str().unwrap()]);
        let err = text(&out.stderr).replace(&format!("{}/", tmp.display()), "");
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(want), "{name}: want `{want}` in:\n{err}");
        assert!(!out_file.exists(), "{name}: wrote a manifest");
    }
    let rules = tmp.join("bad.rules");
    std::fs::write(&rules, "-A -t 10.9.0.100:80 -s wlc\n-a -t 10.9.0.100:80 -r nowhere -g\n").unwrap();
    let conf = "tests/fixtures/keepalived/dr-pair/lvs01.conf".to_string();
    let out = import(&[conf], &["--ipvsadm-save", rules.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("bad.rules:2:1: `nowhere` is not an address"), "{}", text(&out.stderr));
}

#[test]
#[ignore = "needs root and keepalived: keepalived -t in a scratch network namespace"]
fn keepalived_accepts_every_test_configuration() {
    assert!(common::is_root(), "run as root (tools/test installs keepalived)");
    for (case, files) in cases() {
        for f in files {
            // PING_CHECK makes keepalived write net.ipv4.ping_group_range even under -t: a
            // namespace of its own keeps this host's value; eth0 and eth1 are what the files name.
            // The config id is the file's name, as the import reads it (`@ID` lines).
            let id = std::path::Path::new(&f).file_stem().unwrap().to_string_lossy().into_owned();
            let script = format!(
                "ip link set lo up && ip link add eth0 type veth peer name vpeer && ip link set eth0 up && ip link add eth1 type veth peer name vpeer1 && ip link set eth1 up && keepalived -t -i {id} -l -D -f {f}"
            );
            let out =
                Command::new("unshare").args(["-n", "sh", "-c", &script]).current_dir(common::root()).output().unwrap();
            let said = text(&out.stdout) + &text(&out.stderr);
            // A case of what keepalived reports as configuration errors and runs anyway
            // holds keepalived's exact messages (and its exit status 5).
            let expected = common::root().join(format!("tests/fixtures/keepalived/{case}/keepalived-t.txt"));
            match std::fs::read_to_string(&expected) {
                Ok(want) => assert_eq!((out.status.code(), said.as_str()), (Some(5), want.as_str()), "{case}: {f}"),
                Err(_) => assert!(out.status.success(), "{case}: keepalived -t refuses {f}:\n{said}"),
            }
        }
    }
}

#[test]
fn use_ipvlan_with_unicast_peers_is_reported_and_left_out() {
    let tmp = scratch("ipvlan-unicast");
    let f = tmp.join("lvs01.conf");
    std::fs::write(
        &f,
        "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 150\n\
         \x20 use_ipvlan 10.9.0.21/24\n  unicast_src_ip 10.9.0.2\n  unicast_peer {\n    10.9.0.3\n  }\n\
         \x20 virtual_ipaddress {\n    10.9.0.100/24\n  }\n}\n",
    )
    .unwrap();
    let out = import(&[f.display().to_string()], &["--address", "lvs01=10.9.0.2/24"]);
    let (yaml, err) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{err}");
    assert!(!yaml.contains("ipvlan:") && !yaml.contains("ipvlan_address"), "left out:\n{yaml}");
    assert!(err.contains("lvs01.conf:1: warning: `use_ipvlan` with unicast peers not imported"), "{err}");
}

#[test]
fn a_virtual_server_without_protocol_is_udp_as_keepalived_makes_it() {
    let tmp = scratch("proto");
    let f = tmp.join("lvs01.conf");
    std::fs::write(
        &f,
        "virtual_server 10.9.0.100 53 {\n  lb_algo rr\n  lb_kind NAT\n  real_server 10.9.1.11 53 {\n  }\n}\n",
    )
    .unwrap();
    let out = import(&[f.display().to_string()], &["--address", "lvs01=10.9.0.2/24", "--interface", "lvs01=eth0"]);
    let (yaml, err) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{err}");
    assert!(yaml.contains("  udp-10.9.0.100-53:\n") && yaml.contains("protocol: udp"), "{yaml}");
    assert!(
        err.contains("lvs01.conf:1: warning: `virtual_server` without `protocol`: keepalived makes it UDP"),
        "{err}"
    );
    assert!(!err.contains("no VRRP interface"), "--interface was not used: {err}");
}

#[test]
fn notify_commands_keep_their_arguments_and_another_user_than_root_is_reported() {
    let tmp = scratch("notify-user");
    let f = tmp.join("lvs01.conf");
    std::fs::write(
        &f,
        "global_defs {\n  script_user keepalived_script\n}\n\
         vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 150\n\
         \x20 notify_master \"/usr/local/sbin/to-master --cloud-ip 192.0.2.7\"\n\
         \x20 notify_backup /usr/local/sbin/to-backup root\n\
         \x20 notify_fault '/usr/local/sbin/page \"on call\"' nagios nagios\n\
         \x20 notify_deleted\n\
         \x20 virtual_ipaddress {\n    10.9.0.100/24\n  }\n}\n",
    )
    .unwrap();
    let out = import(&[f.display().to_string()], &["--address", "lvs01=10.9.0.2/24"]);
    let (yaml, err) = (text(&out.stdout), text(&out.stderr).replace(&format!("{}/", tmp.display()), ""));
    assert!(out.status.success(), "{err}");
    for want in [
        "notify_master: [/usr/local/sbin/to-master, \"--cloud-ip\", 192.0.2.7]",
        "notify_backup: [/usr/local/sbin/to-backup]",
        "notify_fault: [/usr/local/sbin/page, \"on call\"]",
        "removal_notify: deleted",
    ] {
        assert!(yaml.contains(want), "{want}:\n{yaml}");
    }
    let want = [
        "lvs01.conf:8: warning: `notify_master` runs as `keepalived_script` (`script_user`) in keepalived; lbconverge runs notify commands as root: check that the command is safe as root, or make it switch user itself",
        "lvs01.conf:10: warning: `notify_fault` runs as `nagios:nagios` in keepalived; lbconverge runs notify commands as root: check that the command is safe as root, or make it switch user itself",
    ];
    for w in want {
        assert!(err.contains(w), "missing `{w}` in:\n{err}");
    }
    assert!(!err.contains("notify_backup"), "root is who lbconverge runs it as: {err}");
    assert!(!err.contains("notify_deleted"), "carried: {err}");
}

/// `include /etc/shadow` (or any file that is not keepalived configuration) is refused,
/// and not a word of it is shown: neither its lines nor its first word.
#[test]
fn an_include_of_a_file_that_is_not_keepalived_configuration_is_refused_without_quoting_it() {
    let tmp = scratch("shadow");
    let secret = tmp.join("secret");
    std::fs::write(&secret, "root:$6$salt$hash:19000:0:99999:7:::\nhunter2\n").unwrap();
    for (name, included) in [("top.conf", secret.display().to_string()), ("shadow.conf", "/etc/shadow".into())] {
        if !std::path::Path::new(&included).exists() {
            continue;
        }
        let f = tmp.join(name);
        std::fs::write(&f, format!("global_defs {{\n  router_id lvs01\n}}\ninclude {included}\n")).unwrap();
        let out = import(&[f.display().to_string()], &[]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        let want = format!(
            "{}:4:1: `include {included}`: {included} is not keepalived configuration (line 1 does not start with a keepalived keyword); nothing of it is imported or shown",
            f.display()
        );
        assert!(err.contains(&want), "{name}: want `{want}` in:\n{err}");
        assert!(!err.contains("root:") && !err.contains("hunter2") && out.stdout.is_empty(), "{name}: {err}");
    }
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// `unicast_src_ip` and peers written with a prefix length: the addresses alone are
/// peers, and the director's own address takes the prefix written there.
#[test]
fn a_unicast_source_with_a_prefix_length_gives_the_address_and_the_directors_prefix() {
    let tmp = scratch("unicast-prefix");
    let f = tmp.join("lvs01.conf");
    std::fs::write(
        &f,
        "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  unicast_src_ip 10.9.0.2/25\n\
         \x20 unicast_peer {\n    10.9.0.3/25\n  }\n  virtual_ipaddress {\n    10.9.0.100\n  }\n}\n",
    )
    .unwrap();
    let out = import(&[f.display().to_string()], &[]);
    let (yaml, err) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{err}");
    assert!(yaml.contains("lvs01: {roles: [director], addresses: [10.9.0.2/25], interface: eth0}"), "{yaml}");
    assert!(yaml.contains("unicast_peers: [lvs01, 10.9.0.3]"), "{yaml}");
    assert!(!yaml.contains("/25/25"), "{yaml}");
    assert!(
        err.contains(
            "lvs01.conf:1: warning: director `lvs01`: address 10.9.0.2/25 taken from `unicast_src_ip` / `mcast_src_ip` (with its prefix)"
        ),
        "{err}"
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// One shared file (keepalived's `@ID` lines and `$NAME` parameters) imported for two
/// directors whose files' names do not say who they are: `--config-id` does.
#[test]
fn one_shared_file_is_read_per_director_with_its_config_id() {
    let tmp = scratch("config-id");
    let shared =
        std::fs::read_to_string(common::root().join("tests/fixtures/keepalived/conditionals/lvs01.conf")).unwrap();
    let mut files = Vec::new();
    for host in ["a", "b"] {
        std::fs::create_dir_all(tmp.join(host)).unwrap();
        let f = tmp.join(host).join("keepalived.conf");
        std::fs::write(&f, &shared).unwrap();
        files.push(f.display().to_string());
    }
    // One by the name the file gives (its directory), one by the file as given.
    let second = format!("{}=lvs02", files[1]);
    let ids = ["--config-id", "a=lvs01", "--config-id", second.as_str()];
    let out = import(&files, &[V4, &ids].concat());
    let (yaml, err) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{err}");
    assert!(yaml.contains("members: {lvs01: {priority: 150}, lvs02: {priority: 100}}"), "{yaml}");
    assert!(yaml.contains("vips: [10.9.0.180/24]") && yaml.contains("tcp-10.9.0.180-80:"), "{yaml}");
    assert!(!err.contains("`@` lines are read for config id"), "the ids were given: {err}");
    // Without them, the directory names the director: `@lvs01` lines count on neither.
    let out = import(&files, V4);
    let err = text(&out.stderr).replace(&tmp.display().to_string(), "TMP");
    assert!(err.contains("TMP/a/keepalived.conf:8: warning: `@` lines are read for config id `a`, what the file's name says; keepalived's is the director's host name (its first label): pass --config-id a=HOSTNAME if it differs"), "{err}");
    let bad = import(&files, &["--config-id", "c=lvs03"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("--config-id c=lvs03: no file given is director `c` (the files give a, b)"),
        "{}",
        text(&bad.stderr)
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// A copy of a director's /etc/keepalived whose keepalived.conf includes absolute paths:
/// `--root` finds them in the copy.
#[test]
fn absolute_includes_are_found_under_root_in_a_copied_tree() {
    let tmp = scratch("root");
    let etc = tmp.join("lvs01/etc/keepalived");
    std::fs::create_dir_all(etc.join("conf.d")).unwrap();
    std::fs::write(
        etc.join("keepalived.conf"),
        "global_defs {\n  router_id lvs01\n}\ninclude /etc/keepalived/conf.d/*.conf\n",
    )
    .unwrap();
    std::fs::write(
        etc.join("conf.d/web.conf"),
        "virtual_server 10.9.0.100 80 {\n  protocol TCP\n  lb_kind DR\n  real_server 10.9.1.11 80 {\n  }\n}\n",
    )
    .unwrap();
    let conf = vec![etc.join("keepalived.conf").display().to_string()];
    let root = tmp.join("lvs01").display().to_string();
    let out = import(&conf, &[V4, &["--interface", "lvs01=eth0", "--root", &root]].concat());
    let (yaml, err) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{err}");
    let web = format!("# from {}/lvs01/etc/keepalived/conf.d/web.conf:1", tmp.display());
    assert!(yaml.contains("tcp-10.9.0.100-80:") && yaml.contains(&web), "{yaml}");
    let out = import(&conf, V4);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("keepalived.conf:4:1: `include /etc/keepalived/conf.d/*.conf`: no file matches (for a copy of a director's files, pass --root DIR)"), "{err}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// An instance without VIPs (a cloud setup whose notify command moves the address) and an
/// IPv6 instance that says `version 2`: both import, the first with no `vips` and no
/// warning, the second as version 3 with a warning; the manifest validates.
#[test]
fn an_instance_without_vips_imports_and_ipv6_with_version_2_becomes_version_3() {
    let tmp = scratch("novips");
    let conf = tmp.join("lvs01.conf");
    std::fs::write(
        &conf,
        "vrrp_instance VI_CLOUD {\n    interface eth0\n    virtual_router_id 72\n    priority 150\n    notify_master \"/usr/local/bin/move-eip lvs01\"\n}\n\
         vrrp_instance VI_V6 {\n    interface eth0\n    virtual_router_id 73\n    version 2\n    priority 150\n    virtual_ipaddress {\n        fd00:9::180/64\n    }\n}\n",
    )
    .unwrap();
    let out = import(&[conf.display().to_string()], &[V4, V6].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let yaml = text(&out.stdout);
    let cloud = &yaml[yaml.find("  VI_CLOUD:").unwrap()..yaml.find("  VI_V6:").unwrap()];
    assert!(!cloud.contains("vips:"), "{cloud}");
    assert!(cloud.contains("notify_master: [/usr/local/bin/move-eip, lvs01]"), "{cloud}");
    assert!(yaml[yaml.find("  VI_V6:").unwrap()..].contains("version: 3"), "{yaml}");
    let err = text(&out.stderr);
    assert!(err.contains(":10: warning: `version 2` on an IPv6 instance"), "{err}");
    assert!(!err.contains("VI_CLOUD"), "{err}");
    let manifest = tmp.join("m.yaml");
    std::fs::write(&manifest, &out.stdout).unwrap();
    let v = common::lbconverge(&["validate", manifest.to_str().unwrap()]);
    assert!(v.status.success(), "{}", text(&v.stderr));
}

#[test]
fn group_entries_the_manifest_cannot_hold_and_a_missing_group_are_reported_in_place() {
    let tmp = scratch("groups-odd");
    let f = tmp.join("lvs01.conf");
    let conf = "virtual_server_group G {\n  10.9.0.100 80\n  10.9.0.101\n  fwmark 7 inet5\n}\n\
virtual_server group G {\n  protocol TCP\n  lb_kind DR\n  real_server 10.9.1.11 8080 {\n    TCP_CHECK {\n    }\n  }\n}\n\
virtual_server group NOPE {\n  protocol TCP\n  real_server 10.9.1.12 80 {\n  }\n}\n";
    std::fs::write(&f, conf).unwrap();
    let out = import(&[f.display().to_string()], &["--address", "lvs01=10.9.0.2/24", "--interface", "lvs01=eth0"]);
    let (yaml, err) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{err}");
    assert!(yaml.contains("group: [{vip: 10.9.0.100, port: 80}]"), "{yaml}");
    assert!(yaml.contains("port: 8080"), "the DR real server's own port goes to its check: {yaml}");
    for said in [
        "lvs01.conf:3: warning: group entry `10.9.0.101` has no port",
        "lvs01.conf:4: warning: fwmark family `inet5` is not inet or inet6",
        "lvs01.conf:9: warning: a DR or TUN real server of a group takes each virtual port, not its own 8080",
        "lvs01.conf:14: warning: `virtual_server group NOPE`: the file has no such `virtual_server_group`",
    ] {
        assert!(err.contains(said), "{said}\n{err}");
    }
}
