//! Threads inside named network namespaces (`/run/netns/NAME`, as `ip netns add` makes them).
//! A thread that joins a namespace with setns(2) keeps it until it exits, and every socket it
//! opens stays bound to that namespace for the socket's whole life, whichever thread uses it.
//! So a helper thread can open sockets in a namespace and hand them back, and a long-lived
//! thread (an HTTP server, the client prober) can simply live there. Commands run in a
//! namespace through `ip netns exec` ([`run`]), with the link and address reads the VMAC and
//! ipvlan labs share.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::thread::{self, JoinHandle};

/// Moves the calling thread into the network namespace `ns`. Panics if it cannot.
pub fn enter(ns: &str) {
    let path = format!("/run/netns/{ns}");
    let f = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
    // SAFETY: setns has no memory-safety preconditions; the fd is valid for the call.
    let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(r, 0, "setns into {ns}: {}", std::io::Error::last_os_error());
}

/// Spawns a named thread that first joins `ns`, then runs `f`.
pub fn spawn_in<T, F>(ns: &str, name: &str, f: F) -> JoinHandle<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let ns = ns.to_string();
    thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            enter(&ns);
            f()
        })
        .unwrap_or_else(|e| panic!("spawn thread {name}: {e}"))
}

/// Runs `f` on a short-lived thread inside `ns` and returns its result (a panic in `f`
/// becomes a panic here, with its message).
pub fn run_in<T, F>(ns: &str, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    match spawn_in(ns, "netns-run", f).join() {
        Ok(v) => v,
        Err(p) => std::panic::resume_unwind(p),
    }
}

/// Writes a sysctl (`net.ipv6.conf.all.accept_dad`) inside `ns`: `/proc/sys/net` shows the
/// namespace of the thread that opens it.
pub fn sysctl(ns: &str, key: &str, value: &str) {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    let (ns2, value) = (ns.to_string(), value.to_string());
    run_in(ns, move || {
        std::fs::write(&path, &value).unwrap_or_else(|e| panic!("write {path} = {value} in {ns2}: {e}"));
    });
}

/// `ip netns exec NS ARGS...`: whether it succeeded, and what it printed (stdout, then stderr).
pub fn run(ns: &str, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new("ip").args(["netns", "exec", ns]).args(args).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// `ip -d link show dev DEV` in `ns`, or `None` when there is no such link.
pub fn link(ns: &str, dev: &str) -> Option<String> {
    let (ok, text) = run(ns, &["ip", "-d", "link", "show", "dev", dev]);
    ok.then_some(text)
}

/// True when `ns` holds `addr` on `dev`.
pub fn holds(ns: &str, dev: &str, addr: &str) -> bool {
    run(ns, &["ip", "-br", "addr", "show", "dev", dev]).1.contains(&format!("{addr}/"))
}
