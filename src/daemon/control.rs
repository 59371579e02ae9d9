//! The daemon's control socket: `lbconverge status`, `drain` and `undrain` ask the running
//! daemon over a local socket, one request line and one JSON answer per connection.
//!
//! ```text
//! lbconverge status ── "status\n" ──> control socket (0600, root) ──> Event::Status
//!                  <── JSON Status ───────────────────────────────── main loop: Daemon::status()
//! lbconverge drain  ── "drain {json}\n" ─────────────────────────────> Event::Drain
//! ```

use std::io::{BufRead, BufReader, Read as _, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Sender, channel};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Event;
use super::error::DaemonError;
use super::status::Status;

/// Where the daemon listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/lbconverge/control.sock";

/// Listens on `path` (its directory made 0700, the socket 0600) and turns each request into
/// an [`Event::Status`]; only root (or the daemon's own user) is answered.
pub fn listen(path: &Path, events: Sender<Event>) -> Result<(), DaemonError> {
    let fail = |source| DaemonError::Control { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(fail)?;
    }
    // A socket another daemon answers on is never taken over; a stale one is replaced.
    if UnixStream::connect(path).is_ok() {
        return Err(fail(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            "another lbconverge daemon answers on it (give this one --control PATH)",
        )));
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(fail(e)),
        _ => {}
    }
    let listener = UnixListener::bind(path).map_err(fail)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(fail)?;
    let serve = move || {
        for conn in listener.incoming().flatten() {
            if let Err(e) = answer(conn, &events) {
                tracing::debug!(error = %e, "status request not answered");
            }
        }
    };
    super::spawn("control".into(), serve).map(drop)
}

/// Answers one connection: one request line, one JSON document.
fn answer(conn: UnixStream, events: &Sender<Event>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(2)))?;
    if !peer_allowed(&conn) {
        return (&conn).write_all(b"{\"error\": \"only root may ask\"}\n");
    }
    let mut line = String::new();
    BufReader::new(&conn).take(4096).read_line(&mut line)?;
    let line = line.trim();
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    let reply = match verb {
        "drain" => drain_reply(rest, events)?,
        "status" => {
            let (tx, rx) = channel();
            if events.send(Event::Status(tx)).is_err() {
                return Err(std::io::Error::other("the daemon is stopping"));
            }
            let status = rx.recv_timeout(Duration::from_secs(10)).map_err(std::io::Error::other)?;
            serde_json::to_string(&status).map_err(std::io::Error::other)?
        }
        other => format!("{{\"error\": \"unknown request {:?}\"}}", other.chars().take(40).collect::<String>()),
    };
    (&conn).write_all(reply.as_bytes())?;
    (&conn).write_all(b"\n")
}

/// What `lbconverge drain` and `undrain` ask the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrainRequest {
    /// Service name.
    pub service: String,
    /// Backend name.
    pub backend: String,
    /// True to drain, false to undrain.
    pub drain: bool,
    /// How long the drain lasts (seconds); `None`: until undrained.
    pub for_secs: Option<u64>,
    /// Why.
    pub reason: String,
}

/// The daemon's answer to a drain request: what it did, or why not.
pub type DrainReply = Result<String, String>;

/// Hands a `drain {json}` request to the main loop; its answer as `{"ok": ...}` or
/// `{"error": ...}`.
fn drain_reply(json: &str, events: &Sender<Event>) -> std::io::Result<String> {
    let reply: DrainReply = match serde_json::from_str::<DrainRequest>(json) {
        Err(e) => Err(format!("not a drain request: {e}")),
        Ok(req) => {
            let (tx, rx) = channel();
            if events.send(Event::Drain(req, tx)).is_err() {
                return Err(std::io::Error::other("the daemon is stopping"));
            }
            rx.recv_timeout(Duration::from_secs(10)).map_err(std::io::Error::other)?
        }
    };
    let v = match reply {
        Ok(done) => serde_json::json!({ "ok": done }),
        Err(why) => serde_json::json!({ "error": why }),
    };
    Ok(v.to_string())
}

/// Root, or the user the daemon runs as.
fn peer_allowed(conn: &UnixStream) -> bool {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred { pid: 0, uid: u32::MAX, gid: 0 };
    let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::ucred>()).unwrap_or(0);
    // SAFETY: cred and len are valid out pointers of the sizes given, for our own socket.
    let r = unsafe {
        libc::getsockopt(conn.as_raw_fd(), libc::SOL_SOCKET, libc::SO_PEERCRED, (&raw mut cred).cast(), &raw mut len)
    };
    // SAFETY: geteuid has no preconditions.
    r == 0 && (cred.uid == 0 || cred.uid == unsafe { libc::geteuid() })
}

/// Why `lbconverge status` got no answer.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    /// No daemon listens there.
    #[error("no lbconverge daemon answers on {}: {source}", path.display())]
    NotRunning {
        /// The socket.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The daemon refused the request.
    #[error("{reason}")]
    Refused {
        /// Why.
        reason: String,
    },
    /// The answer was not a status.
    #[error("the daemon on {} answered something else: {answer}", path.display())]
    BadAnswer {
        /// The socket.
        path: PathBuf,
        /// What it said.
        answer: String,
    },
}

/// Asks the daemon listening on `path` for its status.
pub fn ask(path: &Path) -> Result<Status, AskError> {
    let text = request(path, "status")?;
    serde_json::from_str(&text)
        .map_err(|_| AskError::BadAnswer { path: path.to_path_buf(), answer: text.trim().chars().take(200).collect() })
}

/// Asks the daemon listening on `path` to drain or undrain a backend; what it did.
pub fn ask_drain(path: &Path, req: &DrainRequest) -> Result<String, AskError> {
    let json = serde_json::to_string(req).unwrap_or_default();
    let text = request(path, &format!("drain {json}"))?;
    let bad = || AskError::BadAnswer { path: path.to_path_buf(), answer: text.trim().chars().take(200).collect() };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|_| bad())?;
    match (v.get("ok").and_then(|x| x.as_str()), v.get("error").and_then(|x| x.as_str())) {
        (Some(done), _) => Ok(done.to_string()),
        (None, Some(why)) => Err(AskError::Refused { reason: why.to_string() }),
        _ => Err(bad()),
    }
}

/// Sends one request line; the whole answer.
fn request(path: &Path, line: &str) -> Result<String, AskError> {
    let not_running = |source| AskError::NotRunning { path: path.to_path_buf(), source };
    let mut conn = UnixStream::connect(path).map_err(not_running)?;
    conn.set_read_timeout(Some(Duration::from_secs(15))).map_err(not_running)?;
    conn.write_all(format!("{line}\n").as_bytes()).map_err(not_running)?;
    let mut text = String::new();
    conn.take(64 << 20).read_to_string(&mut text).map_err(not_running)?;
    Ok(text)
}
