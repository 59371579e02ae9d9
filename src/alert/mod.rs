//! Alerts: mail over SMTP and webhooks, sent by `run` on VRRP transitions, backends going up
//! or down and quorum changes, never in the way of VRRP or the checks.
//!
//! ```text
//! VRRP threads ──┐  Alerter::send (a short lock, never waits on the network)
//! main loop ─────┴─> one bounded queue per destination (full: the oldest is dropped, counted)
//!                     └─> "alerts" thread (tokio): one task per destination delivers in
//!                         order, retrying a failure up to `retries` times with a doubling wait
//! ```
//!
//! Every delivery, retry and failure is logged; sent, failed and dropped alerts are counted
//! per channel (`mail`, `webhook`) across reloads ([`Alerter::stats`], shown by `status` and
//! `/metrics`). A reload that changes the `alerts:` section replaces the destinations; what
//! the old ones still held is dropped and counted. What an alert says is [`format`]'s,
//! pure; [`smtp`] and [`webhook`] carry it.

pub mod format;
pub mod smtp;
pub mod webhook;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};

pub use format::{Alert, Event};

use crate::model::alerts::{Alerts, Mail, Webhook, WebhookFormat};

/// What one channel did since the daemon started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelStats {
    /// `mail` or `webhook`.
    pub channel: String,
    /// Alerts delivered (per destination: a mail to two relays would count twice).
    pub sent: u64,
    /// Alerts given up after every retry failed.
    pub failed: u64,
    /// Alerts dropped unsent: a full queue's oldest, or those a reload or stop left behind.
    pub dropped: u64,
    /// Alerts waiting now.
    pub queued: u64,
    /// The last failure, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When it happened (seconds since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error_at: Option<u64>,
}

/// The daemon's handle on its alerts: cheap to clone, shared by the VRRP threads and the
/// main loop.
#[derive(Clone, Default)]
pub struct Alerter {
    active: Arc<Mutex<Option<Active>>>,
    counts: Counts,
}

type Counts = Arc<Mutex<BTreeMap<&'static str, ChannelStats>>>;

/// The destinations in force and the thread delivering to them.
struct Active {
    config: Alerts,
    node: String,
    cluster: Option<String>,
    lanes: Vec<Arc<Lane>>,
    /// Dropped: every task of the thread ends.
    _stop: watch::Sender<()>,
}

/// One destination and its queue.
struct Lane {
    channel: &'static str,
    to: Destination,
    queue: Mutex<VecDeque<Alert>>,
    wake: Notify,
}

enum Destination {
    /// The mail settings and the EHLO name.
    Mail(Mail, String),
    Webhook(Webhook),
}

impl Destination {
    /// How logs name it.
    fn name(&self) -> String {
        match self {
            Destination::Mail(m, _) => format!("smtp {}", m.server()),
            Destination::Webhook(w) => w.url.clone(),
        }
    }
}

/// Numbers the messages of this process for their `Message-ID`.
static MESSAGES: AtomicU64 = AtomicU64::new(0);

impl Alerter {
    /// No destinations yet.
    pub fn new() -> Alerter {
        Alerter::default()
    }

    /// Sends from now on as `config` says for `node`; unchanged settings keep the running
    /// destinations and their queues. Alerts the replaced destinations still held are
    /// dropped and counted.
    pub fn configure(&self, config: &Alerts, node: &str, cluster: Option<&str>) {
        let mut active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(a) = active.as_ref()
            && a.config == *config
            && a.node == node
            && a.cluster.as_deref() == cluster
        {
            return;
        }
        if let Some(old) = active.take() {
            self.abandon(&old);
        }
        if config.has_destination() {
            *active = self.start(config, node, cluster);
        }
    }

    /// Queues `event` for every destination; never waits on the network.
    pub fn send(&self, event: Event) {
        let active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(a) = active.as_ref() else { return };
        let alert = Alert { node: a.node.clone(), cluster: a.cluster.clone(), at: crate::utc::unix_now(), event };
        for lane in &a.lanes {
            let mut q = lane.queue.lock().unwrap_or_else(PoisonError::into_inner);
            if q.len() >= a.config.queue {
                q.pop_front();
                self.count(lane.channel, |c| c.dropped += 1);
                tracing::warn!(subsystem = "alerts", destination = %lane.to.name(), queue = a.config.queue, "alert queue full: the oldest alert dropped");
            }
            q.push_back(alert.clone());
            drop(q);
            lane.wake.notify_one();
        }
    }

    /// What each channel did, with what waits now; a channel shows once it was configured.
    pub fn stats(&self) -> Vec<ChannelStats> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner).clone();
        counts.values_mut().for_each(|c| c.queued = 0);
        if let Some(a) = self.active.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            for lane in &a.lanes {
                let n = lane.queue.lock().unwrap_or_else(PoisonError::into_inner).len();
                counts.entry(lane.channel).or_default().queued += u64::try_from(n).unwrap_or(u64::MAX);
            }
        }
        counts.into_iter().map(|(channel, c)| ChannelStats { channel: channel.to_string(), ..c }).collect()
    }

    /// Stops delivering; what is still queued is dropped and counted.
    pub fn stop(&self) {
        if let Some(old) = self.active.lock().unwrap_or_else(PoisonError::into_inner).take() {
            self.abandon(&old);
        }
    }

    fn abandon(&self, old: &Active) {
        for lane in &old.lanes {
            let n = lane.queue.lock().unwrap_or_else(PoisonError::into_inner).drain(..).count();
            if n > 0 {
                self.count(lane.channel, |c| c.dropped += u64::try_from(n).unwrap_or(u64::MAX));
                tracing::warn!(subsystem = "alerts", destination = %lane.to.name(), alerts = n, "queued alerts dropped: their destination was replaced or the daemon stops");
            }
        }
    }

    fn count(&self, channel: &'static str, f: impl FnOnce(&mut ChannelStats)) {
        count(&self.counts, channel, f);
    }

    /// Starts the delivery thread of `config`'s destinations.
    fn start(&self, config: &Alerts, node: &str, cluster: Option<&str>) -> Option<Active> {
        let mut lanes = Vec::new();
        if let Some(m) = &config.mail {
            let helo = m.helo_name.clone().unwrap_or_else(|| node.to_string());
            lanes.push(Destination::Mail(m.clone(), helo));
        }
        lanes.extend(config.webhooks.iter().cloned().map(Destination::Webhook));
        let lanes: Vec<Arc<Lane>> = lanes
            .into_iter()
            .map(|to| {
                let channel = if matches!(to, Destination::Mail(..)) { "mail" } else { "webhook" };
                self.count(channel, |_| {});
                Arc::new(Lane { channel, to, queue: Mutex::new(VecDeque::new()), wake: Notify::new() })
            })
            .collect();
        let (stop, stopped) = watch::channel(());
        let (tasks, counts, policy) = (lanes.clone(), self.counts.clone(), config.clone());
        let thread = std::thread::Builder::new()
            .name("alerts".into())
            .spawn(move || deliver_all(tasks, &counts, &policy, &stopped));
        if let Err(e) = thread {
            tracing::error!(subsystem = "alerts", error = %e, "alert thread not started; no alert is sent");
            return None;
        }
        let names: Vec<String> = lanes.iter().map(|l| l.to.name()).collect();
        tracing::info!(subsystem = "alerts", destinations = %names.join(", "), "alerts configured");
        Some(Active {
            config: config.clone(),
            node: node.to_string(),
            cluster: cluster.map(str::to_string),
            lanes,
            _stop: stop,
        })
    }
}

fn count(counts: &Counts, channel: &'static str, f: impl FnOnce(&mut ChannelStats)) {
    let mut c = counts.lock().unwrap_or_else(PoisonError::into_inner);
    f(c.entry(channel).or_default());
}

/// The delivery thread: one task per destination until the stop.
fn deliver_all(lanes: Vec<Arc<Lane>>, counts: &Counts, policy: &Alerts, stop: &watch::Receiver<()>) {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            return tracing::error!(subsystem = "alerts", error = %e, "alert runtime not started; no alert is sent");
        }
    };
    rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for lane in lanes {
            set.spawn(run_lane(lane, counts.clone(), policy.clone(), stop.clone()));
        }
        while set.join_next().await.is_some() {}
    });
}

/// Delivers a destination's alerts one after another, until the stop.
async fn run_lane(lane: Arc<Lane>, counts: Counts, policy: Alerts, mut stop: watch::Receiver<()>) {
    loop {
        let next = lane.queue.lock().unwrap_or_else(PoisonError::into_inner).pop_front();
        let Some(alert) = next else {
            tokio::select! {
                _ = lane.wake.notified() => continue,
                _ = stop.changed() => return,
            }
        };
        tokio::select! {
            _ = deliver(&lane, &alert, &counts, &policy) => {}
            _ = stop.changed() => {
                count(&counts, lane.channel, |c| c.dropped += 1);
                return;
            }
        }
    }
}

/// One alert to one destination, with the retries; counted and logged.
async fn deliver(lane: &Lane, alert: &Alert, counts: &Counts, policy: &Alerts) {
    let (destination, kind) = (lane.to.name(), alert.kind());
    let mut last = String::new();
    for attempt in 0..=policy.retries {
        if attempt > 0 {
            tokio::time::sleep(policy.backoff(attempt)).await;
        }
        match send_one(&lane.to, alert).await {
            Ok(note) => {
                count(counts, lane.channel, |c| c.sent += 1);
                let attempts = attempt + 1;
                return tracing::info!(subsystem = "alerts", %destination, event = kind, attempts, "alert sent{note}");
            }
            Err(e) => {
                let left = policy.retries - attempt;
                tracing::warn!(subsystem = "alerts", %destination, event = kind, error = %e, retries_left = left, "alert not sent");
                last = e;
            }
        }
    }
    count(counts, lane.channel, |c| {
        c.failed += 1;
        c.last_error = Some(format!("{destination}: {last}"));
        c.last_error_at = Some(crate::utc::unix_now());
    });
    tracing::error!(subsystem = "alerts", %destination, event = kind, error = %last, attempts = policy.retries + 1, "alert given up");
}

/// One attempt; `Ok` with a note for the log.
async fn send_one(to: &Destination, alert: &Alert) -> Result<String, String> {
    match to {
        Destination::Mail(m, helo) => {
            let n = MESSAGES.fetch_add(1, Ordering::Relaxed);
            let id = format!("<{}.{}.{}.lbconverge@{helo}>", alert.at, std::process::id(), n);
            let data = format::smtp_data(alert, &format::Envelope { from: &m.from, to: &m.to, message_id: &id });
            let done = smtp::send(m, helo, &data).await.map_err(|e| e.to_string())?;
            let refused: Vec<String> = done.refused.iter().map(|(t, r)| format!("{t} ({r})")).collect();
            Ok(if refused.is_empty() { String::new() } else { format!("; recipients refused: {}", refused.join(", ")) })
        }
        Destination::Webhook(w) => {
            let body = match w.format {
                WebhookFormat::Json => alert.json(),
                WebhookFormat::Alertmanager => alert.alertmanager(),
                WebhookFormat::Slack => alert.slack(),
            };
            let status = webhook::post(w, &body.to_string()).await?;
            Ok(format!(" (status {status})"))
        }
    }
}
