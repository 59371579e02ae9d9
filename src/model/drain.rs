//! Maintenance without editing git: backends an operator drained with `lbconverge drain`
//! (HAProxy's `set server state drain`). A drained backend stays in IPVS at weight 0, so
//! its connections finish and no new one is sent to it, until it is undrained or the
//! drain expires. Pure data and rules; the daemon keeps them in its state directory.
//!
//! ```text
//! Drains::set(Drain { service, backend, since, until, reason })   drain (again: replaced)
//! Drains::expire(now) -> expired        Drains::active(now) -> set for Health::drained
//! ```

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::Cluster;

/// One drained backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drain {
    /// Service name.
    pub service: String,
    /// Backend name.
    pub backend: String,
    /// When it was drained (seconds since the Unix epoch).
    pub since: u64,
    /// When the drain ends by itself, if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
    /// Why, as the operator said.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// Every drain in force, by (service, backend).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drains {
    /// The drains, sorted.
    pub drains: Vec<Drain>,
}

impl Drains {
    /// Adds `d`, replacing a drain of the same backend.
    pub fn set(&mut self, d: Drain) {
        self.drains.retain(|x| (&x.service, &x.backend) != (&d.service, &d.backend));
        self.drains.push(d);
        self.drains.sort_by(|x, y| (&x.service, &x.backend).cmp(&(&y.service, &y.backend)));
    }

    /// Removes the drain of a backend; false when it had none.
    pub fn remove(&mut self, service: &str, backend: &str) -> bool {
        let before = self.drains.len();
        self.drains.retain(|x| (x.service.as_str(), x.backend.as_str()) != (service, backend));
        self.drains.len() != before
    }

    /// The drain of a backend, if it has one in force at `now`.
    pub fn of(&self, service: &str, backend: &str, now: u64) -> Option<&Drain> {
        self.drains.iter().find(|d| d.service == service && d.backend == backend && d.in_force(now))
    }

    /// Removes and returns the drains over at `now`.
    pub fn expire(&mut self, now: u64) -> Vec<Drain> {
        let (over, kept) = std::mem::take(&mut self.drains).into_iter().partition(|d| !d.in_force(now));
        self.drains = kept;
        over
    }

    /// Removes and returns the drains of backends `c` does not have.
    pub fn forget_unknown(&mut self, c: &Cluster) -> Vec<Drain> {
        let (gone, kept) =
            std::mem::take(&mut self.drains).into_iter().partition(|d| check(c, &d.service, &d.backend).is_err());
        self.drains = kept;
        gone
    }

    /// (service, backend) of every drain in force at `now`.
    pub fn active(&self, now: u64) -> BTreeSet<(String, String)> {
        self.drains.iter().filter(|d| d.in_force(now)).map(|d| (d.service.clone(), d.backend.clone())).collect()
    }

    /// When the next drain ends (seconds since the Unix epoch).
    pub fn next_end(&self) -> Option<u64> {
        self.drains.iter().filter_map(|d| d.until).min()
    }
}

impl Drain {
    /// In force at `now`.
    pub fn in_force(&self, now: u64) -> bool {
        self.until.is_none_or(|u| now < u)
    }
}

impl std::fmt::Display for Drain {
    /// `backend a of service web, since 2026-12-01T13:40:00Z, until ...: reason`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let since = crate::utc::rfc3339(self.since, None);
        write!(f, "backend {} of service {}, since {since}", self.backend, self.service)?;
        match self.until {
            Some(u) => write!(f, ", until {}", crate::utc::rfc3339(u, None))?,
            None => f.write_str(", until undrained")?,
        }
        if !self.reason.is_empty() {
            write!(f, ": {:?}", self.reason)?;
        }
        Ok(())
    }
}

/// Checks that `c` has a service `service` with a backend `backend`; the error says what
/// there is instead.
pub fn check(c: &Cluster, service: &str, backend: &str) -> Result<(), String> {
    let Some(vs) = c.services.get(service) else {
        let names = c.services.keys().cloned().collect::<Vec<_>>().join(", ");
        return Err(format!("the manifest has no service `{service}` (services: {names})"));
    };
    if vs.backends.iter().any(|b| b.name == backend) {
        return Ok(());
    }
    let names = vs.backends.iter().map(|b| b.name.clone()).collect::<Vec<_>>().join(", ");
    Err(format!("service `{service}` has no backend `{backend}` (backends: {names})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(be: &str, until: Option<u64>) -> Drain {
        Drain { service: "web".into(), backend: be.into(), since: 10, until, reason: String::new() }
    }

    #[test]
    fn set_replaces_and_expire_takes_what_is_over() {
        let mut d = Drains::default();
        d.set(drain("b", Some(100)));
        d.set(drain("a", None));
        d.set(drain("b", Some(50)));
        assert_eq!(
            d.drains.iter().map(|x| (x.backend.as_str(), x.until)).collect::<Vec<_>>(),
            [("a", None), ("b", Some(50))]
        );
        assert_eq!(d.next_end(), Some(50));
        assert_eq!(d.active(49).len(), 2);
        assert!(d.of("web", "b", 50).is_none(), "over at its end");
        assert_eq!(d.expire(50), vec![drain("b", Some(50))]);
        assert_eq!(d.active(1_000_000), BTreeSet::from([("web".to_string(), "a".to_string())]));
        assert!(d.remove("web", "a"));
        assert!(!d.remove("web", "a"));
        let with_reason = Drain { reason: "disk \"swap\"".into(), ..drain("b", Some(1_796_132_400)) };
        assert_eq!(
            with_reason.to_string(),
            "backend b of service web, since 1970-01-01T00:00:10Z, until 2026-12-01T13:40:00Z: \"disk \\\"swap\\\"\""
        );
        assert_eq!(
            drain("a", None).to_string(),
            "backend a of service web, since 1970-01-01T00:00:10Z, until undrained"
        );
    }
}
