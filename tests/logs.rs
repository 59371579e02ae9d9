//! Log lines of the binary (`--log-format text|json`, env `LBCONVERGE_LOG_FORMAT`): with
//! `json`, every line on stderr is one JSON object (timestamp, level, subsystem, message,
//! fields) naming a known subsystem, the final error included; `text` is the default and
//! puts the subsystem right after the level. Uses `plan` on an example manifest with a
//! scratch state directory, which logs its reading at debug level and needs no root (it only
//! reads the kernel; without a matching node it ends in an error, which is logged too).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lbconverge::logging::SUBSYSTEMS;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lbc-logs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `lbconverge ARGS` with `env` set, and the log level and format variables cleared first.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lbconverge"));
    c.args(args).env_remove("LBCONVERGE_LOG").env_remove("LBCONVERGE_LOG_FORMAT").env("NO_COLOR", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run lbconverge")
}

/// `plan` of the NAT example with `state` as the state directory.
fn plan(state: &Path, format: &[&str], env: &[(&str, &str)]) -> Output {
    plan_of(&root().join("examples/nat.yaml"), state, format, env)
}

/// `plan` of `manifest` with `state` as the state directory.
fn plan_of(manifest: &Path, state: &Path, format: &[&str], env: &[(&str, &str)]) -> Output {
    let mut args = format.to_vec();
    args.extend(["--state-dir", state.to_str().unwrap(), "plan", manifest.to_str().unwrap()]);
    run(&args, env)
}

/// Every stderr line as JSON, checked: exactly the five keys in order, an RFC 3339 UTC
/// timestamp with milliseconds, a level, a known subsystem, fields as an object.
fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    assert!(!stderr.is_empty(), "nothing logged");
    stderr
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            let o = v.as_object().unwrap_or_else(|| panic!("not an object: {line}"));
            let keys: Vec<&str> = o.keys().map(String::as_str).collect();
            assert_eq!(keys, ["timestamp", "level", "subsystem", "message", "fields"], "{line}");
            let ts = o["timestamp"].as_str().unwrap();
            let shape =
                ts.len() == 24 && &ts[4..5] == "-" && &ts[10..11] == "T" && &ts[19..20] == "." && ts.ends_with('Z');
            assert!(shape, "timestamp {ts}: {line}");
            assert!(["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&o["level"].as_str().unwrap()), "{line}");
            assert!(SUBSYSTEMS.contains(&o["subsystem"].as_str().unwrap()), "unknown subsystem: {line}");
            assert!(o["message"].is_string() && o["fields"].is_object(), "{line}");
            v
        })
        .collect()
}

/// The (level, subsystem) of the line whose message starts with `message`.
fn find<'a>(lines: &'a [serde_json::Value], message: &str) -> Option<(&'a str, &'a str)> {
    lines
        .iter()
        .find(|v| v["message"].as_str().unwrap().starts_with(message))
        .map(|v| (v["level"].as_str().unwrap(), v["subsystem"].as_str().unwrap()))
}

#[test]
fn with_log_format_json_every_stderr_line_is_a_json_object_naming_its_subsystem() {
    let state = scratch("json");
    let debug = [("LBCONVERGE_LOG", "debug")];

    let first = json_lines(&plan(&state, &["--log-format", "json"], &debug));
    assert_eq!(find(&first, "manifest and kernel read"), Some(("DEBUG", "manifest")), "{first:?}");

    let second = json_lines(&plan(&state, &["--log-format=json"], &debug));
    assert_eq!(find(&second, "manifest and kernel read"), Some(("DEBUG", "manifest")), "{second:?}");

    // A warning is shown at the default level; the format comes from the environment this
    // time. The manifest lies in a git repository without a commit: its commit is unknown.
    let repo = state.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let init = Command::new("git").args(["init", "-q"]).current_dir(&repo).env_remove("GIT_DIR").status().unwrap();
    assert!(init.success());
    std::fs::copy(root().join("examples/nat.yaml"), repo.join("nat.yaml")).unwrap();
    let out = plan_of(&repo.join("nat.yaml"), &state, &[], &[("LBCONVERGE_LOG_FORMAT", "json")]);
    let third = json_lines(&out);
    let warned = third.iter().find(|v| v["message"].as_str().unwrap().ends_with("the manifest's commit is not known"));
    let level = warned.map(|v| (v["level"].as_str().unwrap(), v["subsystem"].as_str().unwrap()));
    assert_eq!(level, Some(("WARN", "manifest")), "{third:?}");
    assert!(find(&third, "manifest and kernel read").is_none(), "debug lines are filtered out: {third:?}");
    if !out.status.success() {
        let last = third.last().unwrap();
        assert_eq!((last["level"].as_str(), last["subsystem"].as_str()), (Some("ERROR"), Some("cli")), "{last}");
    }
    let _ = std::fs::remove_dir_all(&state);
}

#[test]
fn the_final_error_is_one_json_line_too() {
    let bad = root().join("tests/bad/bad-cidr.yaml");
    let out = run(&["--log-format", "json", "validate", bad.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!((lines[0]["level"].as_str(), lines[0]["subsystem"].as_str()), (Some("ERROR"), Some("cli")));
    assert!(lines[0]["message"].as_str().unwrap().contains("bad-cidr.yaml"), "{}", lines[0]);
}

#[test]
fn text_is_the_default_with_the_subsystem_after_the_level() {
    let state = scratch("text");
    let out = plan(&state, &[], &[("LBCONVERGE_LOG", "debug")]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    let line = stderr.lines().find(|l| l.contains("manifest and kernel read")).unwrap_or_else(|| panic!("{stderr}"));
    let (ts, rest) = line.split_once(' ').unwrap();
    assert!(ts.len() == 24 && ts.ends_with('Z'), "{line}");
    let ms = rest.strip_prefix("DEBUG manifest: manifest and kernel read ms=").unwrap_or_else(|| panic!("{line}"));
    assert!(ms.parse::<u64>().is_ok(), "{line}");
    let _ = std::fs::remove_dir_all(&state);
}

#[test]
fn an_unknown_log_format_is_a_usage_error() {
    let out = run(&["--log-format", "xml", "schema"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("invalid value 'xml'") && stderr.contains("text, json"), "{stderr}");
}
