//! The daemon's status page, `GET /` on the metrics listener (`run --metrics ADDR`): the
//! [`Status`] `lbconverge status` shows, as one HTML page in the manner of HAProxy's stats
//! page. The node and the manifest in force (path, SHA-256, git commit, drains), the last
//! reconcile, drift repaired and the last rejected manifest; the VRRP instances coloured by
//! state; every carried service with its backends coloured by health (or drain): probes,
//! up/down transitions, manifest and live weight, IPVS connections and bytes.
//!
//! The page reloads itself every [`REFRESH_SECS`]; its CSS is inline and it has no
//! JavaScript. Every text taken from the status is HTML-escaped (names come from the
//! manifest). Pure: no clock, no IO; times are the status's own, in RFC 3339 UTC.

use std::fmt::{self, Display, Write as _};

use super::instance::View;
use super::status::{BackendStatus, CheckStats, Reconciled, Rejected, ServiceStatus, Status};
use crate::manifest::revision::{Commit, FileState};
use crate::model::ipvs::Traffic;
use crate::utc::rfc3339;

/// Seconds between the page's own reloads.
pub const REFRESH_SECS: u32 = 5;

/// The page for a status.
pub fn render(s: &Status) -> String {
    page(s, env!("CARGO_PKG_VERSION"))
}

/// The page, naming lbconverge `version` in its footer.
fn page(s: &Status, version: &str) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = write_page(&mut out, s, version);
    out
}

const STYLE: &str = "\
body{font:14px/1.4 system-ui,sans-serif;margin:1.2em 2em;color:#1d1d1f;background:#f6f6f8}
h1{font-size:1.5em;margin:0 0 .5em}
h2{font-size:1.15em;margin:1.4em 0 .4em}
table{border-collapse:collapse;margin:0 0 1em;background:#fff}
caption{text-align:left;padding:.25em .6em;background:#34406b;color:#fff}
caption code{color:#fff}
th,td{border:1px solid #c4c6d0;padding:.2em .6em;text-align:left;vertical-align:top}
thead th,tfoot th,.kv th{background:#e4e6ef}
thead th{text-align:center}
tfoot td{background:#eef0f5}
.kv th{min-width:11em}
td.n{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font:12px/1.4 ui-monospace,monospace}
pre{margin:0;white-space:pre-wrap}
.master,.up,.ok{background:#b6e3ab}
.backup{background:#c6d8f2}
.fault,.down,.bad{background:#f3b0ad}
.warn{background:#f4dd94}
.drain{background:#dccbf3}
.init,.unknown{background:#d9d9dc}
.legend span{display:inline-block;border:1px solid #c4c6d0;padding:0 .5em;margin:0 .3em .3em 0}
footer{margin-top:1.5em;color:#666;font-size:.9em}
";

fn write_page(o: &mut String, s: &Status, version: &str) -> fmt::Result {
    writeln!(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">")?;
    writeln!(o, "<meta http-equiv=\"refresh\" content=\"{REFRESH_SECS}\">")?;
    writeln!(o, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")?;
    writeln!(o, "<title>lbconverge: {}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>", Esc(&s.node))?;
    writeln!(o, "<h1>lbconverge on {}</h1>", Esc(&s.node))?;
    summary(o, s)?;
    vrrp(o, &s.vrrp)?;
    services(o, &s.services)?;
    legend(o)?;
    writeln!(
        o,
        "<footer>lbconverge {}; this page reloads every {REFRESH_SECS} s; \
         <a href=\"/metrics\">Prometheus metrics</a></footer>\n</body>\n</html>",
        Esc(version)
    )
}

/// The node's table: manifest, drains, last reconcile, drift, last rejection, damaged state
/// files.
fn summary(o: &mut String, s: &Status) -> fmt::Result {
    let m = &s.manifest;
    writeln!(o, "<table class=\"kv\">")?;
    writeln!(o, "<tr><th>Manifest</th><td>{}</td></tr>", Esc(&m.path))?;
    writeln!(o, "<tr><th>SHA-256</th><td><code>{}</code></td></tr>", Esc(&m.sha256))?;
    commit(o, m.commit.as_ref())?;
    writeln!(o, "<tr><th>Loaded</th><td>{}</td></tr>", rfc3339(m.since, None))?;
    drains(o, s)?;
    reconciled(o, s.last_reconcile.as_ref())?;
    let last = s.last_drift.as_ref().map_or(String::new(), |d| format!("; last: <code>{}</code>", Esc(d)));
    writeln!(o, "<tr><th>Drift repaired</th><td>{}{last}</td></tr>", changes(s.drift_repaired))?;
    rejected(o, s.last_rejected.as_ref())?;
    damaged(o, s)?;
    writeln!(o, "</table>")
}

/// The git commit row; the file's state against it coloured (committed green, else amber).
fn commit(o: &mut String, c: Option<&Commit>) -> fmt::Result {
    let Some(c) = c else {
        return writeln!(o, "<tr><th>Git commit</th><td>none (not in a git work tree)</td></tr>");
    };
    let class = if c.file == FileState::Committed { "ok" } else { "warn" };
    writeln!(
        o,
        "<tr><th>Git commit</th><td class=\"{class}\"><code title=\"{}\">{}</code> {}; file {}</td></tr>",
        Esc(&c.id),
        Esc(c.short_id()),
        Esc(&c.subject),
        c.file
    )
}

/// The operator's drains in force, one line each.
fn drains(o: &mut String, s: &Status) -> fmt::Result {
    let all: Vec<String> = s
        .services
        .iter()
        .flat_map(|svc| svc.backends.iter().filter_map(|b| b.drain.as_ref()))
        .map(|d| Esc(&d.to_string()).to_string())
        .collect();
    let unknown = "unknown: the drains file was damaged or unreadable at start; drain again what must stay drained";
    match (all.is_empty(), s.drains_unknown) {
        (true, false) => writeln!(o, "<tr><th>Drains</th><td>none</td></tr>"),
        (true, true) => writeln!(o, "<tr><th>Drains</th><td class=\"warn\">{unknown}</td></tr>"),
        (false, false) => writeln!(o, "<tr><th>Drains</th><td class=\"drain\">{}</td></tr>", all.join("<br>")),
        (false, true) => {
            writeln!(o, "<tr><th>Drains</th><td class=\"warn\">{unknown}<br>{}</td></tr>", all.join("<br>"))
        }
    }
}

/// State files found damaged, one row each.
fn damaged(o: &mut String, s: &Status) -> fmt::Result {
    for d in &s.damaged_state {
        let done = match (&d.moved_to, &d.left) {
            (Some(to), _) => format!("moved to {}", Esc(to)),
            (None, left) => format!("left in place: {}", Esc(left.as_deref().unwrap_or_default())),
        };
        writeln!(
            o,
            "<tr><th>Damaged state file</th><td class=\"bad\">{}: {}; {done} ({} times, last {})</td></tr>",
            Esc(&d.file),
            Esc(&d.problem),
            d.times,
            rfc3339(d.at, None)
        )?;
    }
    Ok(())
}

fn reconciled(o: &mut String, r: Option<&Reconciled>) -> fmt::Result {
    let Some(r) = r else {
        return writeln!(o, "<tr><th>Last reconcile</th><td>none yet</td></tr>");
    };
    let (class, how) = match &r.error {
        None => ("ok", "converged".to_string()),
        Some(e) => ("bad", format!("failed:<pre>{}</pre>", Esc(e.trim_end()))),
    };
    writeln!(
        o,
        "<tr><th>Last reconcile</th><td class=\"{class}\">{}: {} in {} ms, {how}</td></tr>",
        rfc3339(r.at, None),
        changes(u64::try_from(r.changes).unwrap_or(u64::MAX)),
        r.duration_ms
    )
}

fn rejected(o: &mut String, r: Option<&Rejected>) -> fmt::Result {
    match r {
        None => writeln!(o, "<tr><th>Last rejected manifest</th><td>none</td></tr>"),
        Some(r) => writeln!(
            o,
            "<tr><th>Last rejected manifest</th><td class=\"bad\">{}<pre>{}</pre></td></tr>",
            rfc3339(r.at, None),
            Esc(r.reason.trim_end())
        ),
    }
}

fn vrrp(o: &mut String, views: &[View]) -> fmt::Result {
    writeln!(o, "<h2>VRRP instances</h2>")?;
    if views.is_empty() {
        return writeln!(o, "<p>No VRRP instance on this node.</p>");
    }
    writeln!(
        o,
        "<table>\n<thead><tr><th>Instance</th><th>VRID</th><th>State</th><th>Priority</th>\
         <th>Effective priority</th><th>Master</th><th>Transitions</th><th>Last reason</th></tr></thead>\n<tbody>"
    )?;
    for v in views {
        let effective = v.effective_priority.map_or("none (fault)".to_string(), |p| p.to_string());
        let master = v.master.map_or("none".to_string(), |m| m.to_string());
        writeln!(
            o,
            "<tr class=\"{}\"><td>{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{effective}</td><td>{master}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            state_class(&v.state),
            Esc(&v.name),
            v.vrid,
            Esc(&v.state),
            v.priority,
            v.transitions,
            Esc(&v.last_reason)
        )?;
    }
    writeln!(o, "</tbody>\n</table>")
}

/// The CSS class of a VRRP state.
fn state_class(state: &str) -> &'static str {
    match state {
        "MASTER" => "master",
        "BACKUP" => "backup",
        "FAULT" => "fault",
        _ => "init",
    }
}

/// The CSS class of a backend's health; `unchecked` (no checks) stays uncoloured.
fn health_class(health: &str) -> &'static str {
    match health {
        "up" => "up",
        "down" => "down",
        "unknown" => "unknown",
        _ => "unchecked",
    }
}

fn services(o: &mut String, services: &[ServiceStatus]) -> fmt::Result {
    writeln!(o, "<h2>Services</h2>")?;
    if services.is_empty() {
        return writeln!(o, "<p>This node carries no service.</p>");
    }
    services.iter().try_for_each(|svc| service(o, svc))
}

/// The column heads of a service table, grouped as HAProxy groups its own.
const SERVICE_HEAD: &str = "<thead>\n<tr><th rowspan=\"2\">Backend</th><th rowspan=\"2\">Address</th>\
<th rowspan=\"2\">Health</th><th colspan=\"3\">Checks</th><th colspan=\"2\">Weight</th>\
<th colspan=\"4\">Connections</th><th colspan=\"2\">Bytes</th></tr>\n<tr><th>Probes</th><th>Failed</th>\
<th>Up/down</th><th>Manifest</th><th>Live</th><th>Active</th><th>Inactive</th><th>Total</th><th>Per s</th>\
<th>In</th><th>Out</th></tr>\n</thead>";

/// One table per service, HAProxy's way: a title bar, a row per backend, a total row (the
/// traffic of the IPVS service itself).
fn service(o: &mut String, svc: &ServiceStatus) -> fmt::Result {
    let up = svc.backends.iter().filter(|b| b.health == "up" || b.health == "unchecked").count();
    writeln!(
        o,
        "<table>\n<caption><strong>{}</strong> <code>{}</code>, {up} of {} backends up</caption>\n{SERVICE_HEAD}\n<tbody>",
        Esc(&svc.name),
        Esc(&svc.key),
        svc.backends.len()
    )?;
    svc.backends.iter().try_for_each(|b| backend(o, b))?;
    let sum = |f: fn(&BackendStatus) -> u64| svc.backends.iter().map(f).sum::<u64>().to_string();
    write!(o, "</tbody>\n<tfoot><tr><th colspan=\"3\">Total</th>")?;
    numbers(
        o,
        &[
            sum(|b| b.checks.iter().map(|c| c.probes).sum()),
            sum(|b| b.checks.iter().map(|c| c.failures).sum()),
            sum(|b| b.transitions),
            sum(|b| u64::from(b.weight)),
            sum(|b| b.live_weight.map_or(0, u64::from)),
            sum(|b| u64::from(b.active)),
            sum(|b| u64::from(b.inactive)),
        ],
    )?;
    traffic(o, &svc.traffic)?;
    writeln!(o, "</tr></tfoot>\n</table>")
}

fn backend(o: &mut String, b: &BackendStatus) -> fmt::Result {
    let (class, drained) = match &b.drain {
        Some(d) => ("drain", format!(" <span title=\"{}\">(drained)</span>", Esc(&d.to_string()))),
        None => (health_class(&b.health), String::new()),
    };
    write!(
        o,
        "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}{drained}</td>",
        Esc(&b.name),
        Esc(&b.address),
        Esc(&b.health)
    )?;
    let probes: u64 = b.checks.iter().map(|c| c.probes).sum();
    write!(o, "<td class=\"n\" title=\"{}\">{probes}</td>", Esc(&checks_title(&b.checks)))?;
    numbers(
        o,
        &[
            b.checks.iter().map(|c| c.failures).sum::<u64>().to_string(),
            b.transitions.to_string(),
            b.weight.to_string(),
            b.live_weight.map_or("not in IPVS".to_string(), |w| w.to_string()),
            b.active.to_string(),
            b.inactive.to_string(),
        ],
    )?;
    traffic(o, &b.traffic)?;
    writeln!(o, "</tr>")
}

/// Each check's probes in a line, for the tooltip of the probes cell.
fn checks_title(checks: &[CheckStats]) -> String {
    if checks.is_empty() {
        return "no checks".into();
    }
    let line = |c: &CheckStats| {
        let mean = c.duration_sum_us.checked_div(c.probes).unwrap_or(0);
        let restarts =
            if c.restarts > 0 { format!(", probe task restarted {} times", c.restarts) } else { String::new() };
        format!("{}: {} probes, {} failed, {} us on average{restarts}", c.check, c.probes, c.failures, mean)
    };
    checks.iter().map(line).collect::<Vec<_>>().join("\n")
}

/// Connections scheduled and their rate, bytes in and out.
fn traffic(o: &mut String, t: &Traffic) -> fmt::Result {
    numbers(o, &[t.conns.to_string(), t.cps.to_string(), bytes(t.in_bytes), bytes(t.out_bytes)])
}

/// Right-aligned cells; their text is made here, never taken from the manifest.
fn numbers(o: &mut String, cells: &[String]) -> fmt::Result {
    cells.iter().try_for_each(|c| write!(o, "<td class=\"n\">{c}</td>"))
}

/// `512 B`, `1.5 KiB`, `20.0 MiB`: one decimal, truncated.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let (mut scaled, mut unit) = (n, 0);
    while scaled >= 1024 * 1024 && unit + 1 < UNITS.len() {
        scaled /= 1024;
        unit += 1;
    }
    let tenths = scaled % 1024 * 10 / 1024;
    format!("{}.{tenths} {}", scaled / 1024, UNITS[unit])
}

fn legend(o: &mut String) -> fmt::Result {
    writeln!(
        o,
        "<p class=\"legend\">VRRP: <span class=\"master\">MASTER</span><span class=\"backup\">BACKUP</span>\
         <span class=\"fault\">FAULT</span><span class=\"init\">INIT</span> Backends: \
         <span class=\"up\">up</span><span class=\"down\">down</span><span class=\"unknown\">unknown \
         (not checked yet)</span><span class=\"unchecked\">unchecked (no checks)</span>\
         <span class=\"drain\">drained (weight 0 until undrained)</span></p>"
    )
}

/// `1 change`, `3 changes`.
fn changes(n: u64) -> String {
    format!("{n} change{}", if n == 1 { "" } else { "s" })
}

/// Text made safe for HTML element content and quoted attribute values: `& < > " '` become
/// references, control characters other than tab and newline U+FFFD.
struct Esc<'a>(&'a str);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                '\t' | '\n' => f.write_char(c)?,
                c if c.is_control() => f.write_char('\u{fffd}')?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::status::Applied;
    use super::*;
    use crate::model::drain::Drain;

    fn backend(name: &str, address: &str, health: &str, live: Option<u32>, active: u32) -> BackendStatus {
        let n = u64::from(active);
        BackendStatus {
            name: name.into(),
            address: address.into(),
            health: health.into(),
            weight: 2,
            live_weight: live,
            active,
            inactive: active * 3,
            traffic: Traffic {
                conns: n * 40,
                cps: n / 4,
                in_bytes: n * 90_000,
                out_bytes: n * 2_500_000,
                ..Traffic::default()
            },
            transitions: 1,
            checks: (health != "unchecked")
                .then(|| CheckStats {
                    check: format!("http {address}/health"),
                    probes: 120,
                    failures: u64::from(health == "down") * 4,
                    duration_sum_us: 120 * 1_250,
                    duration_buckets: Vec::new(),
                    restarts: 0,
                })
                .into_iter()
                .collect(),
            ..BackendStatus::default()
        }
    }

    fn view(name: &str, vrid: u8, state: &str, effective: Option<u8>, master: Option<&str>) -> View {
        View {
            name: name.into(),
            vrid,
            state: state.into(),
            priority: 100,
            effective_priority: effective,
            master: master.map(|m| m.parse().unwrap()),
            transitions: 3,
            last_reason: "higher priority than the master".into(),
            ..View::default()
        }
    }

    /// A director with one instance per state, one service per kind of backend.
    fn sample() -> Status {
        Status {
            node: "lvs01".into(),
            announced: Vec::new(),
            manifest: Applied {
                path: "/etc/lbconverge/cluster.yaml".into(),
                sha256: "sha256:4f0c5d1e".into(),
                commit: Some(Commit {
                    id: "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b".into(),
                    subject: "Raise <web> weights & drain nginx03".into(),
                    file: FileState::Modified,
                }),
                since: 1_700_000_000,
            },
            vrrp: vec![
                view("VI_1", 10, "MASTER", Some(100), Some("172.16.40.11")),
                view("VI_2", 11, "BACKUP", Some(90), Some("172.16.40.12")),
                view("VI_3", 12, "FAULT", None, None),
                view("VI_4", 13, "INIT", Some(100), None),
            ],
            services: vec![
                ServiceStatus {
                    name: "http".into(),
                    key: "tcp 172.16.40.160:80".into(),
                    backends: vec![
                        backend("nginx01", "172.16.40.21:80", "up", Some(2), 12),
                        backend("nginx02", "172.16.40.22:80", "down", None, 0),
                        backend("nginx03", "172.16.40.23:80", "unknown", None, 0),
                        BackendStatus {
                            drain: Some(Drain {
                                service: "http".into(),
                                backend: "nginx04".into(),
                                since: 1_700_000_040,
                                until: Some(1_700_003_640),
                                reason: "kernel <update>".into(),
                            }),
                            ..backend("nginx04", "172.16.40.24:80", "up", Some(0), 1)
                        },
                    ],
                    traffic: Traffic {
                        conns: 480,
                        cps: 3,
                        in_bytes: 1_080_000,
                        out_bytes: 30_000_000,
                        ..Traffic::default()
                    },
                },
                ServiceStatus {
                    name: "dns".into(),
                    key: "udp 172.16.40.160:53".into(),
                    backends: vec![backend("ns1", "172.16.40.31:53", "unchecked", Some(2), 0)],
                    ..ServiceStatus::default()
                },
            ],
            last_reconcile: Some(Reconciled { at: 1_700_000_060, duration_ms: 3, changes: 1, error: None }),
            drift_repaired: 1,
            last_drift: Some("+ ipvs destination 172.16.40.22:80 in tcp 172.16.40.160:80: dr, weight 1".into()),
            last_rejected: Some(Rejected {
                at: 1_700_000_030,
                reason: "load /etc/lbconverge/cluster.yaml: line 3: unknown field `nodez`\n".into(),
                destroy: None,
            }),
            probe_restarts: 0,
            damaged_state: Vec::new(),
            drains_unknown: false,
            alerts: Vec::new(),
        }
    }

    /// The whole page of [`sample`] against `golden/status-page/lvs01.html`
    /// (`LBCONVERGE_BLESS=1` rewrites it, like the other goldens).
    #[test]
    fn the_page_of_a_fixed_status_matches_its_golden() {
        let rel = "golden/status-page/lvs01.html";
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
        let got = page(&sample(), "0.0.0-test");
        if crate::testkit::blessing() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &got).unwrap();
            return;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        let diff = similar::TextDiff::from_lines(&want, &got);
        assert!(
            want == got,
            "rerun with LBCONVERGE_BLESS=1 if the change is intended:\n{}",
            diff.unified_diff().header(&format!("{rel} (golden)"), &format!("{rel} (got)"))
        );
    }

    #[test]
    fn names_from_the_manifest_are_escaped() {
        let mut s = sample();
        s.node = "<script>alert(1)</script>".into();
        s.vrrp[0].name = "VI_<b>".into();
        s.services[0].name = "a&b\"c'd".into();
        s.services[0].backends[0].name = "</td><script>x</script>".into();
        s.manifest.path = "/tmp/\u{7}bell.yaml".into();
        let html = page(&s, "1");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.contains("<h1>lbconverge on &lt;script&gt;alert(1)&lt;/script&gt;</h1>"), "{html}");
        assert!(html.contains("<title>lbconverge: &lt;script&gt;alert(1)&lt;/script&gt;</title>"), "{html}");
        assert!(html.contains("<strong>a&amp;b&quot;c&#39;d</strong>"), "{html}");
        assert!(html.contains("<td>&lt;/td&gt;&lt;script&gt;x&lt;/script&gt;</td>"), "{html}");
        assert!(html.contains("/tmp/\u{fffd}bell.yaml"), "{html}");
    }

    #[test]
    fn states_and_health_have_their_colours() {
        let html = page(&sample(), "1");
        for want in [
            "<tr class=\"master\"><td>VI_1</td>",
            "<tr class=\"backup\"><td>VI_2</td>",
            "<tr class=\"fault\"><td>VI_3</td>",
            "<tr class=\"init\"><td>VI_4</td>",
            "<tr class=\"up\"><td>nginx01</td>",
            "<tr class=\"down\"><td>nginx02</td>",
            "<tr class=\"unknown\"><td>nginx03</td>",
            "<tr class=\"unchecked\"><td>ns1</td>",
            "<tr class=\"drain\"><td>nginx04</td>",
            "<meta http-equiv=\"refresh\" content=\"5\">",
        ] {
            assert!(html.contains(want), "{want} missing:\n{html}");
        }
        assert!(!html.contains("<script"), "no JavaScript");
    }

    #[test]
    fn an_empty_node_says_so() {
        let s =
            Status { vrrp: Vec::new(), services: Vec::new(), last_reconcile: None, last_rejected: None, ..sample() };
        let html = page(&s, "1");
        for want in ["No VRRP instance on this node.", "This node carries no service.", "none yet", ">none<"] {
            assert!(html.contains(want), "{want} missing:\n{html}");
        }
    }

    #[test]
    fn byte_counts_are_shown_in_binary_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(20 << 20), "20.0 MiB");
        assert_eq!(bytes(u64::MAX), "15.9 EiB");
    }
}
