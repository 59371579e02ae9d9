//! What an alert says, pure: the event, its subject and body, the mail message (headers,
//! CRLF line ends, dot-stuffing) and the webhook bodies (lbconverge's JSON, Alertmanager's
//! list of alerts, a Slack message). No clock, no IO: the time and the message id come in.
//!
//! ```text
//! Subject: [lb1] VRRP VI_1: BACKUP -> MASTER (priority 150)
//! Subject: [lb1] web: backend b1 (10.0.0.21:80) DOWN
//! Subject: [lb1] web: quorum lost (weight 1, quorum 2)
//! ```

use serde_json::{Value, json};

/// Something that happened on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A VRRP instance changed state.
    Vrrp {
        /// The instance.
        instance: String,
        /// The state it left (`BACKUP`).
        from: String,
        /// The state it entered (`MASTER`).
        to: String,
        /// Its effective priority after the change (0 in FAULT).
        priority: u8,
        /// Why, as the state machine says.
        reason: String,
    },
    /// A backend went up or down.
    Backend {
        /// The service.
        service: String,
        /// The backend's name.
        backend: String,
        /// `address:port`.
        address: String,
        /// Up (true) or down.
        up: bool,
        /// The check that decided.
        check: String,
        /// The check's reason (empty when it passed).
        reason: String,
    },
    /// A service lost or regained quorum.
    Quorum {
        /// The service.
        service: String,
        /// Regained (true) or lost.
        gained: bool,
        /// The weight of its live backends.
        weight: u64,
        /// The weight it needs.
        quorum: u64,
    },
}

/// An event of a node, at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The node.
    pub node: String,
    /// The cluster's name, if the manifest gives one.
    pub cluster: Option<String>,
    /// When (seconds since the Unix epoch).
    pub at: u64,
    /// What.
    pub event: Event,
}

impl Alert {
    /// The one-line summary: the mail's subject, Slack's text.
    pub fn subject(&self) -> String {
        let what = match &self.event {
            Event::Vrrp { instance, from, to, priority, .. } => {
                format!("VRRP {instance}: {from} -> {to} (priority {priority})")
            }
            Event::Backend { service, backend, address, up, .. } => {
                format!("{service}: backend {backend} ({address}) {}", if *up { "UP" } else { "DOWN" })
            }
            Event::Quorum { service, gained, weight, quorum } => {
                let how = if *gained { "regained" } else { "lost" };
                format!("{service}: quorum {how} (weight {weight}, quorum {quorum})")
            }
        };
        format!("[{}] {what}", self.node)
    }

    /// The details, one `key: value` per line, ending with a line end.
    pub fn body(&self) -> String {
        let mut lines = vec![self.subject(), String::new()];
        lines.extend(self.fields().into_iter().map(|(k, v)| format!("{k}: {v}")));
        lines.push(String::new());
        lines.join("\n")
    }

    /// `event`, then the node, cluster and time, then the event's own fields.
    fn fields(&self) -> Vec<(&'static str, String)> {
        let mut f = vec![("event", self.kind().to_string()), ("node", self.node.clone())];
        if let Some(c) = &self.cluster {
            f.push(("cluster", c.clone()));
        }
        f.push(("time", crate::utc::rfc3339(self.at, None)));
        match &self.event {
            Event::Vrrp { instance, from, to, priority, reason } => f.extend([
                ("instance", instance.clone()),
                ("from", from.clone()),
                ("to", to.clone()),
                ("priority", priority.to_string()),
                ("reason", reason.clone()),
            ]),
            Event::Backend { service, backend, address, up, check, reason } => f.extend([
                ("service", service.clone()),
                ("backend", backend.clone()),
                ("address", address.clone()),
                ("state", if *up { "up" } else { "down" }.to_string()),
                ("check", check.clone()),
                ("reason", reason.clone()),
            ]),
            Event::Quorum { service, gained, weight, quorum } => f.extend([
                ("service", service.clone()),
                ("state", if *gained { "gained" } else { "lost" }.to_string()),
                ("weight", weight.to_string()),
                ("quorum", quorum.to_string()),
            ]),
        }
        f
    }

    /// `vrrp_transition`, `backend_up`, `backend_down`, `quorum_gained`, `quorum_lost`.
    pub fn kind(&self) -> &'static str {
        match &self.event {
            Event::Vrrp { .. } => "vrrp_transition",
            Event::Backend { up: true, .. } => "backend_up",
            Event::Backend { up: false, .. } => "backend_down",
            Event::Quorum { gained: true, .. } => "quorum_gained",
            Event::Quorum { gained: false, .. } => "quorum_lost",
        }
    }

    /// lbconverge's own JSON object: `event`, `summary`, then the fields of [`Self::body`]
    /// (numbers as numbers).
    pub fn json(&self) -> Value {
        let mut o = serde_json::Map::new();
        o.insert("event".into(), self.kind().into());
        o.insert("summary".into(), self.subject().into());
        for (k, v) in self.fields().into_iter().skip(1) {
            let v = match (k, v.parse::<u64>()) {
                ("priority" | "weight" | "quorum", Ok(n)) => Value::from(n),
                _ => Value::from(v),
            };
            o.insert(k.into(), v);
        }
        Value::Object(o)
    }

    /// Alertmanager's `POST /api/v2/alerts` body: a list of one alert. A backend down or a
    /// quorum lost fires (`LbconvergeBackendDown`, `LbconvergeQuorumLost`); the backend up
    /// or the quorum regained resolves the same alert (`endsAt` now). A VRRP transition is
    /// an alert of its own (`LbconvergeVrrpTransition`, labelled with the new state) that
    /// Alertmanager resolves after its `resolve_timeout`.
    pub fn alertmanager(&self) -> Value {
        let now = crate::utc::rfc3339(self.at, None);
        let mut labels = serde_json::Map::new();
        let (name, resolved, severity) = match &self.event {
            Event::Vrrp { to, .. } => {
                ("LbconvergeVrrpTransition", false, if to == "FAULT" { "warning" } else { "info" })
            }
            Event::Backend { up, .. } => ("LbconvergeBackendDown", *up, "warning"),
            Event::Quorum { gained, .. } => ("LbconvergeQuorumLost", *gained, "critical"),
        };
        labels.insert("alertname".into(), name.into());
        labels.insert("severity".into(), severity.into());
        labels.insert("node".into(), self.node.clone().into());
        if let Some(c) = &self.cluster {
            labels.insert("cluster".into(), c.clone().into());
        }
        match &self.event {
            Event::Vrrp { instance, to, .. } => {
                labels.insert("instance".into(), instance.clone().into());
                labels.insert("state".into(), to.clone().into());
            }
            Event::Backend { service, backend, .. } => {
                labels.insert("service".into(), service.clone().into());
                labels.insert("backend".into(), backend.clone().into());
            }
            Event::Quorum { service, .. } => {
                labels.insert("service".into(), service.clone().into());
            }
        }
        let mut alert = json!({
            "labels": labels,
            "annotations": {"summary": self.subject(), "description": self.body()},
            "startsAt": now,
        });
        if resolved && let Value::Object(o) = &mut alert {
            o.insert("endsAt".into(), now.into());
        }
        json!([alert])
    }

    /// A Slack incoming webhook's message: the summary, then the details as a code block.
    pub fn slack(&self) -> Value {
        let details: Vec<String> = self.fields().into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
        json!({"text": format!("{}\n```\n{}\n```", self.subject(), details.join("\n"))})
    }
}

/// What a mail message needs besides the alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The sender.
    pub from: &'a str,
    /// The recipients.
    pub to: &'a [String],
    /// The whole `Message-ID` value, `<...@...>`.
    pub message_id: &'a str,
}

/// The longest line a mail may carry without its line end (RFC 5322 2.1.1).
const MAX_LINE: usize = 998;
/// The longest header text before it is cut (its encoded form stays below [`MAX_LINE`]).
const MAX_HEADER: usize = 600;

/// The message as SMTP's DATA carries it: headers and body with CRLF line ends, lines that
/// start with a `.` doubled (dot-stuffing), long lines split, ending with the terminating
/// `.` line.
pub fn smtp_data(alert: &Alert, env: &Envelope) -> String {
    let headers = [
        format!("Date: {}", crate::utc::rfc5322(alert.at)),
        format!("From: <{}>", env.from),
        format!("To: {}", env.to.iter().map(|t| format!("<{t}>")).collect::<Vec<_>>().join(", ")),
        format!("Subject: {}", header_text(&alert.subject())),
        format!("Message-ID: {}", env.message_id),
        "MIME-Version: 1.0".to_string(),
        "Content-Type: text/plain; charset=utf-8".to_string(),
        "Content-Transfer-Encoding: 8bit".to_string(),
        "Auto-Submitted: auto-generated".to_string(),
        "X-Mailer: lbconverge".to_string(),
    ];
    let mut out = String::new();
    for h in headers {
        out.push_str(&h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    for line in alert.body().lines() {
        for piece in split_long(line) {
            if piece.starts_with('.') {
                out.push('.');
            }
            out.push_str(piece);
            out.push_str("\r\n");
        }
    }
    out.push_str(".\r\n");
    out
}

/// A header value as it may be written: ASCII as it is, anything else as one RFC 2047
/// encoded word (`=?utf-8?B?...?=`).
/// Longer text (a manifest name can be long) is cut to [`MAX_HEADER`] bytes.
fn header_text(s: &str) -> String {
    let mut s: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if s.len() > MAX_HEADER {
        let cut = (0..=MAX_HEADER).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
        s.truncate(cut);
        s.push_str("...");
    }
    match s.is_ascii() {
        true => s,
        false => format!("=?utf-8?B?{}?=", crate::text::base64(s.as_bytes())),
    }
}

/// `line` in pieces of at most [`MAX_LINE`] bytes, cut at character boundaries.
fn split_long(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    while rest.len() > MAX_LINE {
        let mut cut = MAX_LINE;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        out.push(head);
        rest = tail;
    }
    out.push(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compares `got` with the golden file `rel` (`LBCONVERGE_BLESS=1` rewrites it).
    fn golden(rel: &str, got: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
        if crate::testkit::blessing() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, got).unwrap();
            return;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        let diff = similar::TextDiff::from_lines(&want, got);
        assert!(
            want == got,
            "rerun with LBCONVERGE_BLESS=1 if the change is intended:\n{}",
            diff.unified_diff().header(&format!("{rel} (golden)"), &format!("{rel} (got)"))
        );
    }

    fn samples() -> Vec<(&'static str, Alert)> {
        let alert = |event| Alert { node: "lb1".into(), cluster: Some("edge".into()), at: 1_796_132_400, event };
        vec![
            (
                "vrrp",
                alert(Event::Vrrp {
                    instance: "VI_1".into(),
                    from: "BACKUP".into(),
                    to: "MASTER".into(),
                    priority: 150,
                    reason: "master down timer expired".into(),
                }),
            ),
            (
                "backend-down",
                alert(Event::Backend {
                    service: "web".into(),
                    backend: "b1".into(),
                    address: "10.0.0.21:80".into(),
                    up: false,
                    check: "http 10.0.0.21:80".into(),
                    reason: "status 503, want 200-299; body:\n.\n.hidden".into(),
                }),
            ),
            (
                "backend-up",
                Alert {
                    cluster: None,
                    ..alert(Event::Backend {
                        service: "web".into(),
                        backend: "b1".into(),
                        address: "10.0.0.21:80".into(),
                        up: true,
                        check: "http 10.0.0.21:80".into(),
                        reason: String::new(),
                    })
                },
            ),
            ("quorum-lost", alert(Event::Quorum { service: "wëb".into(), gained: false, weight: 1, quorum: 2 })),
        ]
    }

    /// Every rendering of every sample, against `golden/alerts/NAME.txt`.
    #[test]
    fn every_rendering_matches_its_golden() {
        let to = ["ops@example.org".to_string(), "noc@example.org".to_string()];
        for (name, a) in samples() {
            let env = Envelope { from: "lb1@example.org", to: &to, message_id: "<1796132400.1.lbconverge@lb1>" };
            let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap();
            let got = format!(
                "== mail (DATA)\n{}== json\n{}\n== alertmanager\n{}\n== slack\n{}\n",
                smtp_data(&a, &env),
                pretty(&a.json()),
                pretty(&a.alertmanager()),
                pretty(&a.slack())
            );
            golden(&format!("golden/alerts/{name}.txt"), &got);
        }
    }

    #[test]
    fn data_lines_end_in_crlf_and_a_leading_dot_is_doubled() {
        let (_, a) = samples().remove(1);
        let data = smtp_data(&a, &Envelope { from: "a@b", to: &["c@d".into()], message_id: "<x@y>" });
        assert!(data.ends_with("\r\n.\r\n"));
        // A lone `.` would end the message early: it goes as `..`, like `.hidden`.
        assert!(data.contains("\r\nreason: status 503, want 200-299; body:\r\n..\r\n..hidden\r\n"), "{data}");
        let long =
            Alert { event: Event::Quorum { service: ".".repeat(2500), gained: true, weight: 1, quorum: 1 }, ..a };
        let data = smtp_data(&long, &Envelope { from: "a@b", to: &["c@d".into()], message_id: "<x@y>" });
        assert!(data.split("\r\n").all(|l| l.len() <= MAX_LINE + 1), "a line is too long");
        assert!(!data.replace("\r\n", "").contains('\n'), "a bare LF");
        // Every body line starting with a dot carries one more.
        assert!(
            data.split("\r\n")
                .skip_while(|l| !l.is_empty())
                .skip(1)
                .all(|l| l == "." || !l.starts_with('.') || l.starts_with(".."))
        );
    }
}
