//! Alerts against a real SMTP server and a real HTTP receiver in network namespaces (root):
//! `lbconverge run` on n1 holds a VRRP instance and checks a backend on n2, where Debian's
//! aiosmtpd (python3-aiosmtpd, saving to a Maildir) and a Python HTTP server (writing every
//! POST to a file) listen. The instance becoming master and the backend going down and up
//! arrive as mail (headers and body as sent) and as webhook POSTs (lbconverge's JSON and
//! Alertmanager's format). Then the relay is replaced by one that accepts connections and
//! never answers: the mail is retried a bounded number of times and counted as failed,
//! while the webhook gets the same alert at once and VRRP goes on (the instance stays
//! master with its VIP, its adverts keep going out).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::lab::vrrp::lbconverge_bin;
use common::lab::{How, Lab};

/// The relay, the receiver and the black hole on n2.
const SMTP: &str = "10.88.0.12:2525";
const HOOKS: &str = "10.88.0.12:8099";
const SILENT: &str = "10.88.0.12:2526";

/// Writes every POST as one line: `PATH AUTHORIZATION BODY`.
const RECEIVER: &str = r#"
import http.server, sys
host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(out, "ab") as f:
            f.write(self.path.encode() + b" " + self.headers.get("Authorization", "-").encode() + b" " + body + b"\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer((host, port), H).serve_forever()
"#;

/// Accepts connections and never says a word (an SMTP relay that hangs).
const BLACK_HOLE: &str = r#"
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
"#;

fn manifest(flag: &Path, smtp: &str) -> String {
    format!(
        "version: 1
cluster: alr-lab
nodes:
  n1: {{roles: [director], addresses: [10.88.0.11/24], interface: eth0}}
  n2: {{roles: [real-server], addresses: [10.88.0.12/24], interface: eth0}}
vrrp:
  VI_ALR:
    vrid: 61
    advert_interval: 1s
    members:
      n1: {{priority: 120}}
    vips: [10.88.0.61/24]
services:
  web:
    vip: 10.88.0.61
    port: 80
    directors: [n1]
    health_check: {{type: script, interval: 1s, rise: 1, fall: 1, command: [/bin/sh, -c, 'test -e {flag}']}}
    backends:
      n2: {{port: 80}}
alerts:
  retries: 2
  retry_delay: 200ms
  mail:
    from: n1@lab.example.org
    to: [ops@lab.example.org, noc@lab.example.org]
    smtp_server: {smtp}
    helo_name: n1.lab.example.org
    connect_timeout: 2s
    timeout: 1s
  webhooks:
    - url: http://{HOOKS}/json
      headers: {{Authorization: Bearer lab-token}}
    - url: http://{HOOKS}/am
      format: alertmanager
",
        flag = flag.display()
    )
}

/// The messages aiosmtpd saved, oldest first.
fn mails(maildir: &Path) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(maildir.join("new")) else { return Vec::new() };
    let mut files: Vec<_> = dir.filter_map(Result::ok).map(|e| e.path()).collect();
    files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    files.iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect()
}

fn subject(mail: &str) -> &str {
    mail.lines().find_map(|l| l.strip_prefix("Subject: ")).unwrap_or("")
}

fn listening(ns: &str, addr: &str) -> bool {
    let out = std::process::Command::new("ip").args(["netns", "exec", ns, "ss", "-ltnH"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).contains(addr)
}

fn status(control: &Path) -> serde_json::Value {
    let out = common::lbconverge(&["status", "--format", "json", "--control", control.to_str().unwrap()]);
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

fn channel(s: &serde_json::Value, name: &str, field: &str) -> u64 {
    let rows = s["alerts"].as_array().cloned().unwrap_or_default();
    rows.iter().find(|c| c["channel"] == name).and_then(|c| c[field].as_u64()).unwrap_or(0)
}

#[test]
#[ignore = "needs root: network namespaces"]
fn vrrp_and_backend_alerts_reach_a_real_smtp_server_and_http_receiver() {
    let mut lab = Lab::named("lbcalr-", 2);
    let dir = lab.dir().to_path_buf();
    let (maildir, posts, flag) = (dir.join("maildir"), dir.join("posts.log"), dir.join("backend-up"));
    std::fs::write(&flag, "").unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let py = "/usr/bin/python3".to_string();
    let (host, port) = SMTP.split_once(':').unwrap();
    let smtpd = [&py, "-m", "aiosmtpd", "-n", "-l", SMTP, "-c", "aiosmtpd.handlers.Mailbox", maildir.to_str().unwrap()];
    lab.spawn("n2", "smtp", &smtpd.map(String::from), &[]);
    let (h, p) = HOOKS.split_once(':').unwrap();
    lab.spawn(
        "n2",
        "hooks",
        &[py.clone(), "-c".into(), RECEIVER.into(), h.into(), p.into(), posts.display().to_string()],
        &[],
    );
    let (sh, sp) = SILENT.split_once(':').unwrap();
    lab.spawn("n2", "silent", &[py.clone(), "-c".into(), BLACK_HOLE.into(), sh.into(), sp.into()], &[]);
    let n2 = lab.ns("n2");
    lab.wait(Duration::from_secs(10), "the servers listen", || [SMTP, HOOKS, SILENT].iter().all(|a| listening(&n2, a)));
    assert_eq!((host, port), ("10.88.0.12", "2525"));

    let file = dir.join("manifest.yaml");
    std::fs::write(&file, manifest(&flag, SMTP)).unwrap();
    let state = lab.node_dir("n1").join("state");
    std::fs::create_dir_all(&state).unwrap();
    let control = lab.node_dir("n1").join("control.sock");
    let argv = [lbconverge_bin(), "--state-dir".into(), state.display().to_string(), "run".into()]
        .into_iter()
        .chain([file.display().to_string(), "--node".into(), "n1".into(), "--control".into()])
        .chain([control.display().to_string()])
        .collect::<Vec<_>>();
    lab.spawn("n1", "run", &argv, &[("NO_COLOR".into(), "1".into())]);

    // Master, and the backend's first passing check: mail and webhooks for each.
    let master = "[n1] VRRP VI_ALR: BACKUP -> MASTER (priority 120)";
    let first_up = "[n1] web: backend n2 (10.88.0.12:80) UP";
    lab.wait(Duration::from_secs(15), "mail for master and backend up", || {
        let m = mails(&maildir);
        m.iter().any(|x| subject(x) == master) && m.iter().any(|x| subject(x) == first_up)
    });
    std::fs::remove_file(&flag).unwrap();
    let down = "[n1] web: backend n2 (10.88.0.12:80) DOWN";
    lab.wait(Duration::from_secs(10), "mail for backend down", || mails(&maildir).iter().any(|x| subject(x) == down));
    std::fs::write(&flag, "").unwrap();
    // INIT -> BACKUP, the quorum lost at start (no backend up yet), the backend up, the
    // quorum regained, master, then down and up with their quorum changes.
    lab.wait(Duration::from_secs(10), "nine mails", || mails(&maildir).len() == 9);
    let subjects: Vec<String> = mails(&maildir).iter().map(|m| subject(m).to_string()).collect();
    let count = |s: &str| subjects.iter().filter(|x| *x == s).count();
    assert_eq!(count(first_up), 2, "{subjects:#?}");
    assert_eq!(count("[n1] web: quorum lost (weight 0, quorum 1)"), 2, "{subjects:#?}");
    assert_eq!(count("[n1] web: quorum regained (weight 1, quorum 1)"), 2, "{subjects:#?}");
    assert_eq!(count("[n1] VRRP VI_ALR: INIT -> BACKUP (priority 120)"), 1, "{subjects:#?}");

    let all = mails(&maildir);
    let m = all.iter().find(|x| subject(x) == master).unwrap();
    for want in [
        "From: <n1@lab.example.org>",
        "To: <ops@lab.example.org>, <noc@lab.example.org>",
        "Content-Type: text/plain; charset=utf-8",
        "event: vrrp_transition\nnode: n1\ncluster: alr-lab\n",
        "instance: VI_ALR\nfrom: BACKUP\nto: MASTER\npriority: 120\nreason: ",
        // aiosmtpd's Mailbox adds the envelope it got.
        "X-RcptTo: ops@lab.example.org, noc@lab.example.org",
        "X-MailFrom: n1@lab.example.org",
    ] {
        assert!(m.contains(want), "{want:?} not in:\n{m}");
    }
    for header in ["Date: ", "Message-ID: <", "Subject: "] {
        assert!(m.lines().any(|l| l.starts_with(header)), "no {header} in:\n{m}");
    }
    assert!(m.contains(".lbconverge@n1.lab.example.org>"), "{m}");
    let d = all.iter().find(|x| subject(x) == down).unwrap();
    assert!(d.contains("service: web\nbackend: n2\naddress: 10.88.0.12:80\nstate: down\ncheck: script"), "{d}");
    assert!(d.contains("reason: exit 1"), "{d}");

    let log = std::fs::read_to_string(&posts).unwrap();
    let json: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| l.strip_prefix("/json Bearer lab-token "))
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    let am: Vec<serde_json::Value> =
        log.lines().filter_map(|l| l.strip_prefix("/am - ")).map(|b| serde_json::from_str(b).unwrap()).collect();
    assert!(
        json.iter().any(|j| j["event"] == "vrrp_transition" && j["to"] == "MASTER" && j["priority"] == 120),
        "{log}"
    );
    assert!(
        json.iter().any(|j| j["event"] == "backend_down" && j["backend"] == "n2" && j["reason"] == "exit 1"),
        "{log}"
    );
    let fired = am.iter().find(|a| a[0]["labels"]["alertname"] == "LbconvergeBackendDown" && a[0]["endsAt"].is_null());
    let resolved =
        am.iter().rfind(|a| a[0]["labels"]["alertname"] == "LbconvergeBackendDown" && a[0]["endsAt"].is_string());
    assert!(fired.is_some() && resolved.is_some(), "{log}");
    assert_eq!(fired.unwrap()[0]["labels"]["service"], "web");

    // The relay hangs from now on: bounded retries, one failure, VRRP unaffected.
    let s0 = status(&control);
    assert_eq!(channel(&s0, "mail", "failed"), 0, "{s0}");
    let (sent0, hooks0) = (channel(&s0, "mail", "sent"), channel(&s0, "webhook", "sent"));
    assert_eq!((sent0, hooks0), (9, 18), "{s0}");
    std::fs::write(&file, manifest(&flag, SILENT)).unwrap();
    lab.signal("n1", "run", libc::SIGHUP);
    let run_log = lab.node_dir("n1").join("run.log");
    lab.wait(Duration::from_secs(10), "the reload", || {
        std::fs::read_to_string(&run_log).unwrap_or_default().contains("manifest reloaded")
    });
    lab.stop("n2", "smtp", How::Kill);
    let adverts0 = status(&control)["vrrp"][0]["adverts_sent"].as_u64().unwrap();
    let t0 = Instant::now();
    std::fs::remove_file(&flag).unwrap();
    // Backend down and quorum lost: two alerts, to each webhook at once.
    lab.wait(Duration::from_secs(5), "the webhooks' backend down", || {
        let s = status(&control);
        channel(&s, "webhook", "sent") >= hooks0 + 4
    });
    let hook_took = t0.elapsed();
    lab.wait(Duration::from_secs(20), "both mails given up", || channel(&status(&control), "mail", "failed") == 2);
    let gave_up = t0.elapsed();
    let s1 = status(&control);
    let run_log = lab.log("n1", "run");
    // Per alert, in order: 3 attempts of 1 s each (the reply timeout), waits of 0.2 s and 0.4 s.
    assert_eq!(run_log.matches("alert not sent").count(), 6, "{run_log}");
    assert_eq!(run_log.matches("alert given up").count(), 2, "{run_log}");
    assert!(run_log.contains("greeting: no reply within 1s"), "{run_log}");
    assert!(gave_up >= Duration::from_millis(7000) && gave_up < Duration::from_secs(12), "given up after {gave_up:?}");
    assert!(hook_took < Duration::from_secs(3), "the webhook waited for the mail: {hook_took:?}");
    assert_eq!(channel(&s1, "mail", "sent"), sent0, "{s1}");
    assert!(s1["alerts"][0]["last_error"].as_str().unwrap().contains("no reply within 1s"), "{s1}");
    assert_eq!(s1["vrrp"][0]["state"], "MASTER", "{s1}");
    assert_eq!(s1["vrrp"][0]["transitions"], 2, "{s1}");
    let adverts = s1["vrrp"][0]["adverts_sent"].as_u64().unwrap() - adverts0;
    let secs = gave_up.as_secs();
    assert!(adverts + 1 >= secs, "{adverts} adverts in {gave_up:?}: VRRP held back");
    assert!(lab.addrs("n1").contains("10.88.0.61/24"), "{}", lab.addrs("n1"));
    println!(
        "alerts lab: webhook backend-down {} ms after the check's flip, mail given up after {} ms, {adverts} adverts meanwhile",
        hook_took.as_millis(),
        gave_up.as_millis()
    );
}
