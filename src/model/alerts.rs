//! The validated `alerts:` section: where `run` sends alerts (mail over SMTP, webhooks), how
//! it retries and queues, and which VRRP instances and services alert. Built by `validate`,
//! read by the daemon's alert task ([`crate::alert`]).

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where and what the daemon alerts; [`Alerts::default`] sends nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alerts {
    /// Mail over SMTP.
    pub mail: Option<Mail>,
    /// Webhooks, in manifest order.
    pub webhooks: Vec<Webhook>,
    /// VRRP instances whose transitions alert.
    pub vrrp: BTreeSet<String>,
    /// Services whose backends going up or down alert.
    pub backend: BTreeSet<String>,
    /// Services whose quorum changes alert.
    pub quorum: BTreeSet<String>,
    /// Attempts after a first that failed.
    pub retries: u32,
    /// The wait before the first retry; doubled each time up to [`MAX_RETRY_DELAY`].
    pub retry_delay: Duration,
    /// Alerts waiting per destination at most.
    pub queue: usize,
}

/// The longest wait between two attempts.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);

impl Default for Alerts {
    fn default() -> Self {
        Alerts {
            mail: None,
            webhooks: Vec::new(),
            vrrp: BTreeSet::new(),
            backend: BTreeSet::new(),
            quorum: BTreeSet::new(),
            retries: 3,
            retry_delay: Duration::from_secs(1),
            queue: 100,
        }
    }
}

impl Alerts {
    /// True when there is somewhere to send alerts.
    pub fn has_destination(&self) -> bool {
        self.mail.is_some() || !self.webhooks.is_empty()
    }

    /// The wait before retry `n` (1 = the first retry).
    pub fn backoff(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
        self.retry_delay.saturating_mul(factor).min(MAX_RETRY_DELAY)
    }
}

/// Mail over SMTP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    /// Sender address.
    pub from: String,
    /// Recipients, at least one.
    pub to: Vec<String>,
    /// The relay's host name or address.
    pub host: String,
    /// The relay's port.
    pub port: u16,
    /// The EHLO / HELO name; `None`: the node's name.
    pub helo_name: Option<String>,
    /// Longest wait for the connection.
    pub connect_timeout: Duration,
    /// Longest wait for each reply.
    pub timeout: Duration,
}

impl Mail {
    /// `host:port` as logs show it (`[v6]:port` for an IPv6 address).
    pub fn server(&self) -> String {
        match self.host.contains(':') {
            true => format!("[{}]:{}", self.host, self.port),
            false => format!("{}:{}", self.host, self.port),
        }
    }
}

/// A webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// The URL as written.
    pub url: String,
    /// `https`.
    pub tls: bool,
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
    /// The body's format.
    pub format: WebhookFormat,
    /// Extra headers, in name order.
    pub headers: Vec<(String, String)>,
    /// Longest a POST may take.
    pub timeout: Duration,
    /// CAs to verify an `https` server against instead of the system's.
    pub ca_file: Option<std::path::PathBuf>,
}

/// The body a webhook receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebhookFormat {
    /// lbconverge's own JSON object.
    Json,
    /// Alertmanager's list of alerts.
    Alertmanager,
    /// A Slack incoming webhook's message.
    Slack,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_a_minute() {
        let a = Alerts { retry_delay: Duration::from_millis(500), ..Alerts::default() };
        let waits: Vec<u128> = (1..=9).map(|n| a.backoff(n).as_millis()).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
        assert_eq!(a.backoff(200), MAX_RETRY_DELAY);
    }
}
