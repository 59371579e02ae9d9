//! The daemon's errors: each names what was attempted, on which object, and keeps its cause.

use std::path::PathBuf;

use crate::kernel::KernelError;
use crate::load::LoadError;
use crate::vrrp::VrrpError;

/// Why the daemon could not start, or a reload was refused.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The manifest or the node is unusable.
    #[error("{0}")]
    Load(#[from] LoadError),
    /// The kernel could not be read at start.
    #[error("{0}")]
    Kernel(#[from] KernelError),
    /// A reloaded manifest no longer has this node.
    #[error("node `{node}` is no longer in the manifest")]
    NodeGone {
        /// This node.
        node: String,
    },
    /// A reloaded manifest moves this node to another network namespace, which only a
    /// restart can do (the daemon's threads and sockets are in the one it started in).
    #[error(
        "nodes.{node}.network_namespace changed from {from} to {to}; restart the daemon to move it (a reload keeps the namespace it started in)"
    )]
    NamespaceChanged {
        /// This node.
        node: String,
        /// The namespace in force (`none`: the host's).
        from: String,
        /// The one asked for.
        to: String,
    },
    /// A VRRP password could not be read.
    #[error("VRRP instance {instance}: password: {source}")]
    Secret {
        /// The instance.
        instance: String,
        /// Why.
        source: SecretError,
    },
    /// A VRRP instance could not be set up.
    #[error("VRRP instance {instance}: {source}")]
    Instance {
        /// The instance.
        instance: String,
        /// Why.
        source: InstanceError,
    },
    /// The metrics listener could not be opened.
    #[error("metrics on {addr}: {source}")]
    MetricsOpen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The control socket could not be set up.
    #[error("control socket {}: {source}", path.display())]
    Control {
        /// The socket.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Something that is not a socket is at the control socket's path: it is the user's,
    /// and never replaced.
    #[error(
        "control socket {}: a {found} is there, not a socket; lbconverge replaces only a stale socket\n  hint: move it away, or give run another --control path",
        path.display()
    )]
    ControlNotSocket {
        /// The path.
        path: PathBuf,
        /// What is there (`regular file`, `directory`, `FIFO`, `symlink`, ...).
        found: &'static str,
    },
    /// The manifest's directory could not be watched.
    #[error("watch {}: {source}", path.display())]
    Watch {
        /// The manifest.
        path: PathBuf,
        /// Why.
        source: notify::Error,
    },
    /// A reload would delete more than `run` allows.
    #[error("{0}")]
    DestroyRefused(#[from] DestroyRefused),
    /// Memory could not be locked or the VRRP threads made realtime (`--lock-memory`,
    /// `--realtime`).
    #[error("{what}: {source}\n  hint: {hint}")]
    Scheduling {
        /// What was asked.
        what: String,
        /// Why it failed.
        source: std::io::Error,
        /// The fix.
        hint: &'static str,
    },
    /// Another `lbconverge run` holds the state directory's lock.
    #[error(
        "another lbconverge run ({}) holds {}: only one runs per node\n  hint: stop that one first (systemctl stop lbconverge)",
        pid.map_or_else(|| "PID not recorded".to_string(), |p| format!("PID {p}")),
        lock.display()
    )]
    AlreadyRunning {
        /// The lock file.
        lock: PathBuf,
        /// The PID it names.
        pid: Option<u32>,
    },
    /// The state directory's lock could not be taken.
    #[error("lock {}: {source}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A thread could not be started.
    #[error("start the {thread} thread: {source}")]
    Spawn {
        /// Which thread.
        thread: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Why a VRRP password could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// `password_env` names an unset variable.
    #[error("environment variable {var} is not set")]
    EnvUnset {
        /// The variable.
        var: String,
    },
    /// The password file could not be read: missing, not a regular file, too large
    /// ([`crate::files`]).
    #[error("{0}")]
    Read(#[from] crate::files::ReadError),
    /// A VRRPv2 PASS password holds 1 to 8 bytes.
    #[error("the password must be 1 to 8 bytes (it is {len} bytes)")]
    Length {
        /// Its length.
        len: usize,
    },
}

/// Why a VRRP instance could not be set up on this host.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// An interface it needs is missing, or the interfaces could not be read.
    #[error("{0}")]
    Interface(#[from] KernelError),
    /// IPv6 multicast adverts need the interface's link-local address.
    #[error("interface {interface} has no IPv6 link-local address for VRRPv3 over IPv6")]
    NoLinkLocal {
        /// The interface.
        interface: String,
    },
    /// The protocol-112 socket could not be opened.
    #[error("open VRRP socket on {interface}: {source}")]
    OpenSocket {
        /// The interface.
        interface: String,
        /// Why.
        source: std::io::Error,
    },
    /// The socket for gratuitous ARP / unsolicited NA could not be opened.
    #[error("open announcement socket on {interface}: {source}")]
    OpenAnnouncer {
        /// The interface.
        interface: String,
        /// Why.
        source: std::io::Error,
    },
    /// The timer or wake-up descriptor could not be created.
    #[error("create {what}: {source}")]
    Descriptor {
        /// `timer` or `eventfd`.
        what: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// The state machine refused the configuration.
    #[error("{0}")]
    Config(#[from] VrrpError),
}

/// A reload refused by the blast-radius guard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "this manifest would delete {count} IPVS services and destinations, more than the limit of {limit}\n  hint: check the commit; if it is right, let the daemon take it with `run --allow-destroy` or a higher `run --max-destroy` (LBCONVERGE_ALLOW_DESTROY, LBCONVERGE_MAX_DESTROY in /etc/default/lbconverge), or delete in smaller commits"
)]
pub struct DestroyRefused {
    /// Services and destinations the commit would delete.
    pub count: usize,
    /// The limit.
    pub limit: usize,
}
