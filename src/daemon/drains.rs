//! `lbconverge drain` / `undrain` in the daemon: a request from the control socket sets or
//! ends a drain at once (weight 0 through the health fast path), the drains are kept in the
//! state directory, and the main loop ends those whose time is up.
//!
//! ```text
//! Event::Drain(req) -> Daemon::drain -> Drains (state dir) -> Board::set_drained -> converge
//! main loop wake-up -> Daemon::expire_drains -> the same
//! ```

use std::time::{Duration, Instant};

use super::{Daemon, Platform, control};
use crate::kernel::Kernel;
use crate::load;
use crate::model::{self, drain::Drain};

impl<K: Kernel, P: Platform> Daemon<K, P> {
    /// Drains or undrains a backend of a service this node carries, at once; the drain is
    /// kept in the state directory. Returns what was done, or why not.
    pub(super) fn drain(&mut self, req: &control::DrainRequest) -> control::DrainReply {
        model::drain::check(&self.cluster, &req.service, &req.backend)?;
        if !self.cluster.services.get(&req.service).is_some_and(|vs| vs.directors.contains(&self.node)) {
            return Err(format!("node {} does not carry service `{}`", self.node, req.service));
        }
        let now = crate::utc::unix_now();
        let done = if req.drain {
            let until = req.for_secs.map(|s| now.saturating_add(s));
            let d = Drain {
                service: req.service.clone(),
                backend: req.backend.clone(),
                since: now,
                until,
                reason: req.reason.clone(),
            };
            let done = format!("drained {d}");
            self.drains.set(d);
            done
        } else if self.drains.remove(&req.service, &req.backend) {
            format!("undrained backend {} of service {}", req.backend, req.service)
        } else {
            return Err(format!("backend {} of service {} is not drained", req.backend, req.service));
        };
        let saved = self.save_drains();
        tracing::info!("{done}");
        self.refresh_drained(now);
        self.touched.insert(req.service.clone());
        saved.map(|()| done)
    }

    /// Ends the drains that are over.
    pub(super) fn expire_drains(&mut self) {
        let now = crate::utc::unix_now();
        let over = self.drains.expire(now);
        if over.is_empty() {
            return;
        }
        for d in &over {
            tracing::info!("drain over: {d}");
        }
        let _ = self.save_drains();
        self.refresh_drained(now);
        self.converge_logged(over.iter().map(|d| d.service.clone()).collect());
    }

    /// Tells the health board which backends are drained at `now`.
    pub(super) fn refresh_drained(&mut self, now: u64) {
        self.board.set_drained(self.drains.active(now));
    }

    /// When the next drain ends; `None` also for an end too far away for the monotonic
    /// clock (a drain `for_secs` or `until` from outside can be anything up to `u64::MAX`).
    pub(super) fn drain_end(&self) -> Option<Instant> {
        let left = self.drains.next_end()?.saturating_sub(crate::utc::unix_now());
        Instant::now().checked_add(Duration::from_secs(left))
    }

    /// Writes the drains to the state directory; a failure is logged and returned.
    pub(super) fn save_drains(&self) -> Result<(), String> {
        load::drains::write(&self.opts.state_dir, &self.drains).map_err(|e| {
            tracing::error!("{e}; the drain holds until the daemon stops");
            format!("{e}; the drain holds until the daemon stops")
        })
    }
}

/// Logs drains dropped because the manifest no longer has their backend.
pub(super) fn log_forgotten(drains: &[Drain]) {
    for d in drains {
        tracing::warn!("drain dropped, the manifest has no such backend: {d}");
    }
}
