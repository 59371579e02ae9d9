//! The daemon's control socket: `lbconverge status`, `drain` and `undrain` ask the running
//! daemon over a local socket, one request line and one JSON answer per connection.
//!
//! ```text
//! lbconverge status ── "status\n" ──> control socket (0600, root) ──> Event::Status
//!                  <── JSON Status ───────────────────────────────── main loop: Daemon::status()
//! lbconverge drain  ── "drain {json}\n" ─────────────────────────────> Event::Drain
//! ```
//!
//! No client can hold it for the others (`daemon/serve.rs`): up to [`MAX_CLIENTS`] are served
//! at once, each with 2 s in all for its request line of at most [`MAX_LINE`] bytes; a
//! client that is not root (nor the daemon's user, by `SO_PEERCRED`) is answered
//! `{"error": "only root (or the daemon's user) may ask ..."}` at once, and so is one
//! beyond the bound (`busy`). The socket's path is the user's: only missing directories
//! are created, and nothing but a stale socket is ever replaced.

use std::io::{BufReader, Read as _, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Sender, channel};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Event;
use super::error::DaemonError;
use super::serve::{self, Deadline, RequestError, Slots};
use super::status::Status;

/// Where the daemon listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/lbconverge/control.sock";
/// Requests served at once; the next is refused at once (`busy`).
pub const MAX_CLIENTS: usize = 16;
/// The longest request line, its newline included.
pub const MAX_LINE: usize = 8192;
/// What a client that is neither root nor the daemon's user is told.
pub const ONLY_ROOT: &str = "only root (or the daemon's user) may ask";

/// Listens on `path` (relative: to the working directory) and turns each request into an
/// [`Event`] for the main loop; only root (or the daemon's own user) is answered. The
/// socket is made 0600; of its directories, only those missing are created (0700): an
/// existing one is left as it is. A stale socket (nobody answers on it) is replaced;
/// anything else at `path` is refused.
///
/// Up to [`MAX_CLIENTS`] requests are served at once, each on its own thread, with
/// 2 s (`serve::READ_DEADLINE`) for the whole request line; more are refused at once.
pub fn listen(path: &Path, events: Sender<Event>) -> Result<(), DaemonError> {
    let path = std::path::absolute(path).map_err(|source| DaemonError::Control { path: path.to_path_buf(), source })?;
    let fail = |source| DaemonError::Control { path: path.clone(), source };
    prepare(&path)?;
    let listener = UnixListener::bind(&path).map_err(fail)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(fail)?;
    let slots = Slots::new(MAX_CLIENTS, MAX_CLIENTS);
    let serve = move || {
        loop {
            match listener.accept() {
                Ok((conn, _)) => admit(conn, &slots, &events),
                Err(e) => serve::accept_failed("control", &e),
            }
        }
    };
    super::spawn("control".into(), serve).map(drop)
}

/// Makes `path` ready to bind: its missing directories created 0700, a stale socket
/// removed; a socket another daemon answers on, or anything but a socket, refused.
fn prepare(path: &Path) -> Result<(), DaemonError> {
    let fail = |source| DaemonError::Control { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent() {
        make_dirs(dir).map_err(fail)?;
    }
    let meta = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(fail(e)),
        Ok(meta) => meta,
    };
    let t = meta.file_type();
    if !t.is_socket() {
        let found = match () {
            _ if t.is_symlink() => "symlink",
            _ if t.is_dir() => "directory",
            _ if t.is_file() => "regular file",
            _ if t.is_fifo() => "FIFO",
            _ if t.is_block_device() => "block device",
            _ if t.is_char_device() => "character device",
            _ => "file of an unknown type",
        };
        return Err(DaemonError::ControlNotSocket { path: path.to_path_buf(), found });
    }
    // A socket another daemon answers on is never taken over; a stale one is replaced.
    match UnixStream::connect(path) {
        Ok(_) => Err(fail(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            "another lbconverge daemon answers on it (give this one --control PATH)",
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => std::fs::remove_file(path).map_err(fail),
        Err(e) => Err(fail(e)),
    }
}

/// Creates the missing directories of `dir`, each 0700; existing ones are left alone.
fn make_dirs(dir: &Path) -> std::io::Result<()> {
    let missing: Vec<&Path> =
        dir.ancestors().take_while(|d| !d.as_os_str().is_empty() && std::fs::symlink_metadata(d).is_err()).collect();
    for d in missing.into_iter().rev() {
        match std::fs::DirBuilder::new().mode(0o700).create(d) {
            Ok(()) => std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Hands a new connection to a thread of its own, or refuses it at once: a client that is
/// not root (nor the daemon's user), or one beyond [`MAX_CLIENTS`].
fn admit(conn: UnixStream, slots: &Slots<()>, events: &Sender<Event>) {
    if let Err(uid) = peer_allowed(&conn) {
        let who = uid.map_or(String::new(), |u| format!(" (this client is uid {u})"));
        serve::refuse(&conn, error_line(&format!("{ONLY_ROOT}{who}")).as_bytes());
        return;
    }
    match slots.take(()) {
        Err(full) => serve::refuse(&conn, error_line(&full.to_string()).as_bytes()),
        Ok(slot) => {
            let events = events.clone();
            serve::spawn("control-client", slot, move || {
                if let Err(e) = answer(&conn, &events) {
                    tracing::debug!(error = %e, "control request not answered");
                }
            });
        }
    }
}

/// `{"error": why}` and a newline.
fn error_line(why: &str) -> String {
    format!("{}\n", serde_json::json!({ "error": why }))
}

/// Answers one connection: one request line (read within 2 s (`serve::READ_DEADLINE`), at
/// most [`MAX_LINE`] bytes), one JSON document.
fn answer(conn: &UnixStream, events: &Sender<Event>) -> std::io::Result<()> {
    let mut reader = BufReader::new(Deadline::new(conn, serve::READ_DEADLINE));
    let reply = match serve::read_line(&mut reader, MAX_LINE, "request line") {
        Ok(line) => reply(String::from_utf8_lossy(&line).trim(), events) + "\n",
        Err(RequestError::Closed) => return Ok(()),
        Err(RequestError::Io(e)) => return Err(e),
        Err(e) => error_line(&e.to_string()),
    };
    serve::finish(conn, reply.as_bytes())
}

/// The answer to a request line: a status, what a drain did, or `{"error": why}`.
fn reply(line: &str, events: &Sender<Event>) -> String {
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    let error = |why: &str| serde_json::json!({ "error": why }).to_string();
    match verb {
        "drain" => drain_reply(rest, events),
        "status" => {
            let (tx, rx) = channel();
            if events.send(Event::Status(tx)).is_err() {
                return error("the daemon is stopping");
            }
            match rx.recv_timeout(serve::ANSWER_DEADLINE) {
                Ok(status) => serde_json::to_string(&status).unwrap_or_else(|e| error(&e.to_string())),
                Err(e) => error(&serve::no_answer(e)),
            }
        }
        other => error(&format!("unknown request {:?}", other.chars().take(40).collect::<String>())),
    }
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
fn drain_reply(json: &str, events: &Sender<Event>) -> String {
    let reply: DrainReply = match serde_json::from_str::<DrainRequest>(json) {
        Err(e) => Err(format!("not a drain request: {e}")),
        Ok(req) => {
            let (tx, rx) = channel();
            match events.send(Event::Drain(req, tx)) {
                Err(_) => Err("the daemon is stopping".into()),
                Ok(()) => rx.recv_timeout(serve::ANSWER_DEADLINE).unwrap_or_else(|e| Err(serve::no_answer(e))),
            }
        }
    };
    let v = match reply {
        Ok(done) => serde_json::json!({ "ok": done }),
        Err(why) => serde_json::json!({ "error": why }),
    };
    v.to_string()
}

/// Root, or the user the daemon runs as (`SO_PEERCRED`); otherwise the peer's uid, when
/// the kernel tells it.
fn peer_allowed(conn: &UnixStream) -> Result<(), Option<u32>> {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred { pid: 0, uid: u32::MAX, gid: 0 };
    let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::ucred>()).unwrap_or(0);
    // SAFETY: cred and len are valid out pointers of the sizes given, for our own socket.
    let r = unsafe {
        libc::getsockopt(conn.as_raw_fd(), libc::SOL_SOCKET, libc::SO_PEERCRED, (&raw mut cred).cast(), &raw mut len)
    };
    if r != 0 {
        return Err(None);
    }
    // SAFETY: geteuid has no preconditions.
    if cred.uid == 0 || cred.uid == unsafe { libc::geteuid() } { Ok(()) } else { Err(Some(cred.uid)) }
}

/// Why `lbconverge status`, `drain` or `undrain` got no answer.
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
    /// Something listens there but said nothing.
    #[error("the daemon on {} did not answer: {source}", path.display())]
    NoAnswer {
        /// The socket.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The daemon refused the request (not root, busy, or a drain it cannot do).
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
    serde_json::from_str(&text).map_err(|_| match refusal(&text) {
        Some(reason) => AskError::Refused { reason },
        None => AskError::BadAnswer { path: path.to_path_buf(), answer: text.trim().chars().take(200).collect() },
    })
}

/// The reason of an `{"error": why}` answer.
fn refusal(text: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    v.get("error")?.as_str().map(str::to_string)
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

/// Sends one request line; the whole answer. A daemon that refuses a client (not root,
/// too many at once) answers and closes without reading on: the request's write may then
/// fail, or the read end in a reset, after the answer arrived; what arrived is the answer.
fn request(path: &Path, line: &str) -> Result<String, AskError> {
    let not_running = |source| AskError::NotRunning { path: path.to_path_buf(), source };
    let conn = UnixStream::connect(path).map_err(not_running)?;
    let no_answer = |source| AskError::NoAnswer { path: path.to_path_buf(), source };
    conn.set_read_timeout(Some(Duration::from_secs(15))).map_err(no_answer)?;
    let sent = (&conn).write_all(format!("{line}\n").as_bytes());
    let mut text = Vec::new();
    let read = (&conn).take(64 << 20).read_to_end(&mut text);
    if text.is_empty() {
        let why = match (read, sent) {
            (Err(e), _) | (Ok(_), Err(e)) => e,
            (Ok(_), Ok(())) => std::io::Error::other("it closed the connection without a word"),
        };
        return Err(no_answer(why));
    }
    Ok(String::from_utf8_lossy(&text).into_owned())
}
