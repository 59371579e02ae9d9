//! The status page in a real browser. `lbconverge run --metrics 127.0.0.1:9469` runs in a
//! lab namespace as a director with a VRRP instance and a service whose two backends are a
//! live server and a dead port; headless Chromium (Debian's `chromium`), started in the same
//! namespace, loads `/`. The DOM it built shows the node, the instance as MASTER, the service,
//! each backend with its health and the manifest's SHA-256; its screenshot is kept as
//! `target/test-artifacts/status-page.png`.
//!
//! Needs root (network namespaces): ignored without it. Skipped, saying so, where Chromium is
//! not installed (`tools/test` installs it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::lab::vrrp::lbconverge_bin;
use common::lab::{CLIENT, How, Lab, client_v4};

/// Where the daemon serves its page inside the node's namespace.
const URL: &str = "http://127.0.0.1:9469/";

/// The lab's one node directs `web` to a server on the client (app-1) and to a port nothing
/// listens on (app-2).
const MANIFEST: &str = "\
version: 1
cluster: page-lab

nodes:
  n1: {roles: [director], addresses: [10.88.0.11/24], interface: eth0}

vrrp:
  VI_WEB:
    vrid: 61
    version: 3
    advert_interval: 100ms
    members:
      n1: {priority: 150}
    vips: [10.88.0.50/24]

services:
  web:
    vip: 10.88.0.50
    port: 80
    protocol: tcp
    scheduler: wlc
    forwarding: nat
    health_check: {type: tcp, interval: 1s, timeout: 1s}
    backends:
      app-1: {address: 10.88.0.100, port: 8080, weight: 3}
      app-2: {address: 10.88.0.100, port: 8081, weight: 1}
";

/// The `chromium` on PATH.
fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("chromium")).find(|p| p.is_file())
}

/// Kills a Chromium run (its whole process group: the browser and the helpers it forked) if
/// the test fails while it runs.
struct Browser(u32);

impl Drop for Browser {
    fn drop(&mut self) {
        // SAFETY: kill of the process group this test created for the browser it started.
        unsafe { libc::kill(-i32::try_from(self.0).unwrap(), libc::SIGKILL) };
    }
}

/// Runs headless Chromium in namespace `ns` with a throwaway profile `profile`, `args` after
/// the common flags and `URL`; stdout goes to `out`. Returns how long it took.
fn chromium(bin: &Path, ns: &str, profile: &Path, args: &[String], out: &Path) -> Duration {
    let started = Instant::now();
    let log = std::fs::File::create(out.with_extension("log")).unwrap();
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns]).arg(bin);
    cmd.args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions"]);
    cmd.args(["--disable-background-networking", "--disable-sync", "--hide-scrollbars", "--mute-audio"]);
    cmd.arg(format!("--user-data-dir={}", profile.display())).args(args).arg(URL);
    cmd.stdin(Stdio::null()).stdout(std::fs::File::create(out).unwrap()).stderr(log).process_group(0);
    let mut child = cmd.spawn().unwrap();
    let browser = Browser(child.id());
    let limit = Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(started.elapsed() < limit, "chromium {args:?} ran over {limit:?}");
        thread::sleep(Duration::from_millis(20));
    };
    drop(browser); // helpers it left behind, if any
    let said = std::fs::read_to_string(out.with_extension("log")).unwrap_or_default();
    assert!(status.success(), "chromium {args:?}: {status}\n{said}");
    started.elapsed()
}

/// The daemon's status as JSON, asked over its control socket.
fn status(socket: &Path) -> Option<serde_json::Value> {
    let out = common::lbconverge(&["status", "--format", "json", "--control", socket.to_str().unwrap()]);
    out.status.success().then(|| serde_json::from_slice(&out.stdout).ok()).flatten()
}

/// `sha256:HEX` of `bytes`, computed here, not by lbconverge.
fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    let hex: String = sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[test]
#[ignore = "needs root: network namespaces"]
fn chromium_shows_the_status_page_of_a_running_daemon() {
    assert!(common::is_root(), "needs root (run tools/test as root)");
    let Some(bin) = find_chromium() else {
        common::skip_unless(false, "chromium_shows_the_status_page_of_a_running_daemon", "no chromium on PATH");
        return;
    };
    let started = Instant::now();
    let mut lab = Lab::new(1);
    lab.http(CLIENT, SocketAddr::new(client_v4(), 8080));
    let manifest = lab.dir().join("page.yaml");
    std::fs::write(&manifest, MANIFEST).unwrap();
    let socket = lab.node_dir("n1").join("control.sock");
    let argv: Vec<String> = [
        lbconverge_bin(),
        "--state-dir".into(),
        lab.node_dir("n1").join("state").display().to_string(),
        "run".into(),
        manifest.display().to_string(),
        "--node".into(),
        "n1".into(),
        "--control".into(),
        socket.display().to_string(),
        "--metrics".into(),
        "127.0.0.1:9469".into(),
    ]
    .into();
    lab.spawn("n1", "lbconverge", &argv, &[("NO_COLOR".into(), "1".into())]);
    let health = |s: &serde_json::Value, i: usize| s["services"][0]["backends"][i]["health"].clone();
    lab.wait(Duration::from_secs(10), "MASTER, app-1 up and app-2 down", || {
        status(&socket)
            .is_some_and(|s| s["vrrp"][0]["state"] == "MASTER" && health(&s, 0) == "up" && health(&s, 1) == "down")
    });
    let ready = started.elapsed();

    let (ns, dir) = (lab.ns("n1"), lab.dir().to_path_buf());
    let profile = dir.join("chromium-profile");
    let dom_file = dir.join("dom.html");
    let dom_took = chromium(&bin, &ns, &profile, &["--dump-dom".into()], &dom_file);
    let dom = std::fs::read_to_string(&dom_file).unwrap();
    let sha = sha256(MANIFEST.as_bytes());
    for want in [
        "<title>lbconverge: n1</title>",
        "<h1>lbconverge on n1</h1>",
        "<tr class=\"master\"><td>VI_WEB</td><td class=\"n\">61</td><td>MASTER</td><td class=\"n\">150</td>",
        "<caption><strong>web</strong> <code>tcp 10.88.0.50:80</code>, 1 of 2 backends up</caption>",
        "<tr class=\"up\"><td>app-1</td><td>10.88.0.100:8080</td><td>up</td>",
        "<tr class=\"down\"><td>app-2</td><td>10.88.0.100:8081</td><td>down</td>",
        &format!("<tr><th>SHA-256</th><td><code>{sha}</code></td></tr>"),
        &format!("<tr><th>Manifest</th><td>{}</td></tr>", manifest.display()),
        "<meta http-equiv=\"refresh\" content=\"5\">",
    ] {
        assert!(dom.contains(want), "the page does not show {want}:\n{dom}");
    }
    assert!(!dom.contains("<script"), "the page has no JavaScript:\n{dom}");

    let artifacts = common::root().join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let png = artifacts.join("status-page.png");
    let _ = std::fs::remove_file(&png);
    let shot = vec![format!("--screenshot={}", png.display()), "--window-size=1280,900".into()];
    let shot_took = chromium(&bin, &ns, &profile, &shot, &dir.join("screenshot.out"));
    let image = std::fs::read(&png).unwrap();
    assert!(image.starts_with(b"\x89PNG\r\n\x1a\n"), "{} is not a PNG", png.display());
    assert!(image.len() > 30_000, "a {}-byte screenshot shows next to nothing", image.len());
    let be = |at: usize| u32::from_be_bytes(image[at..at + 4].try_into().unwrap());
    assert_eq!((be(16), be(20)), (1280, 900), "the screenshot's width and height (IHDR)");
    std::fs::remove_dir_all(&profile).unwrap();

    let (_, exit) = lab.stop("n1", "lbconverge", How::Term);
    assert!(exit.unwrap().success(), "the daemon did not stop cleanly:\n{}", lab.log("n1", "lbconverge"));
    eprintln!(
        "status page: daemon ready in {ready:?}, chromium --dump-dom {dom_took:?}, --screenshot {shot_took:?}, \
         whole test {:?}; screenshot {} ({} bytes)",
        started.elapsed(),
        png.display(),
        image.len()
    );
}
