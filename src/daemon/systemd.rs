//! systemd's notify protocol (`Type=notify`, sd_notify(3)), spoken by hand: one datagram
//! per message to the socket named by `$NOTIFY_SOCKET` (a path, or `@name` in the abstract
//! namespace). `READY=1` after the first reconcile, `STATUS=` lines, `WATCHDOG=1` at half
//! of `$WATCHDOG_USEC` from the main loop while it and every VRRP thread are alive, and
//! `STOPPING=1`. Without `$NOTIFY_SOCKET` (not under systemd) every call does nothing.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::{Duration, Instant};

/// The daemon's line to systemd.
pub struct Notifier {
    socket: Option<(UnixDatagram, SocketAddr)>,
    watchdog: Option<Duration>,
    last_ping: Option<Instant>,
}

impl Notifier {
    /// Reads `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and `$WATCHDOG_PID` (the watchdog is ours
    /// only when the PID is ours or unset), then removes them from the environment so that
    /// hooks and scripts the daemon starts do not inherit them.
    pub fn from_env() -> Notifier {
        let socket = std::env::var_os("NOTIFY_SOCKET").and_then(|s| target(&s.to_string_lossy()));
        let pid_ok = std::env::var("WATCHDOG_PID").map_or(true, |p| p.trim() == std::process::id().to_string());
        let usec = std::env::var("WATCHDOG_USEC").ok().and_then(|u| u.trim().parse::<u64>().ok());
        let watchdog = usec.filter(|u| *u > 0 && pid_ok).map(Duration::from_micros);
        for v in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            // SAFETY: called once at start-up, before the daemon starts any thread that reads
            // the environment.
            unsafe { std::env::remove_var(v) };
        }
        Notifier {
            socket: socket.and_then(|a| UnixDatagram::unbound().ok().map(|s| (s, a))),
            watchdog,
            last_ping: None,
        }
    }

    /// A notifier that says nothing (tests, or not under systemd).
    pub fn none() -> Notifier {
        Notifier { socket: None, watchdog: None, last_ping: None }
    }

    /// Sends one message (`KEY=VALUE` lines); failures are logged once per call, never fatal.
    pub fn send(&self, message: &str) {
        let Some((s, addr)) = &self.socket else { return };
        if let Err(e) = s.send_to_addr(message.as_bytes(), addr) {
            tracing::warn!(error = %e, "cannot notify systemd");
        }
    }

    /// `READY=1` with a status line.
    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={}", one_line(status)));
    }

    /// A status line (`systemctl status` shows it).
    pub fn status(&self, status: &str) {
        self.send(&format!("STATUS={}", one_line(status)));
    }

    /// `STOPPING=1`.
    pub fn stopping(&self) {
        self.send("STOPPING=1\nSTATUS=stopping: releasing VIPs");
    }

    /// When the next watchdog ping is due, if systemd asked for them.
    pub fn ping_due(&self) -> Option<Instant> {
        let half = self.watchdog? / 2;
        Some(self.last_ping.map_or_else(Instant::now, |t| t + half))
    }

    /// Pings the watchdog if due and `alive`; a dead part of the daemon stops the pings, so
    /// systemd restarts it.
    pub fn tick(&mut self, alive: bool) {
        if alive && self.ping_due().is_some_and(|due| Instant::now() >= due) {
            self.send("WATCHDOG=1");
            self.last_ping = Some(Instant::now());
        }
    }
}

/// The socket address of `$NOTIFY_SOCKET`: a path, or `@name` for the abstract namespace.
fn target(s: &str) -> Option<SocketAddr> {
    match s.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name.as_bytes()).ok()
        }
        None if s.starts_with('/') => SocketAddr::from_pathname(s).ok(),
        None => None,
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_reach_a_real_notify_socket_and_the_watchdog_only_pings_while_alive() {
        let dir = std::env::temp_dir().join(format!("lbc-sd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        listener.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        let sock = UnixDatagram::unbound().unwrap();
        let addr = SocketAddr::from_pathname(&path).unwrap();
        let mut n = Notifier { socket: Some((sock, addr)), watchdog: Some(Duration::from_millis(40)), last_ping: None };
        let recv = || {
            let mut buf = [0u8; 512];
            let len = listener.recv(&mut buf).unwrap();
            String::from_utf8_lossy(&buf[..len]).into_owned()
        };
        n.ready("node lb1\n2 services");
        assert_eq!(recv(), "READY=1\nSTATUS=node lb1 2 services");
        n.tick(true);
        assert_eq!(recv(), "WATCHDOG=1");
        n.tick(true);
        listener.set_nonblocking(true).unwrap();
        assert!(listener.recv(&mut [0u8; 64]).is_err(), "a second ping before half the interval");
        std::thread::sleep(Duration::from_millis(25));
        n.tick(false);
        assert!(listener.recv(&mut [0u8; 64]).is_err(), "no ping while a part is dead");
        n.tick(true);
        listener.set_nonblocking(false).unwrap();
        assert_eq!(recv(), "WATCHDOG=1");
        n.stopping();
        assert_eq!(recv(), "STOPPING=1\nSTATUS=stopping: releasing VIPs");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn notify_socket_names_are_paths_or_abstract() {
        assert!(target("/run/systemd/notify").is_some_and(|a| a.as_pathname().is_some()));
        assert!(target("@/org/freedesktop/systemd1/notify/1").is_some_and(|a| a.as_pathname().is_none()));
        assert!(target("relative").is_none());
        assert!(Notifier::none().ping_due().is_none());
    }
}
