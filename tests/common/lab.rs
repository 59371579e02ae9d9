//! The project's VRRP lab: throwaway network namespaces on one bridge, processes started in
//! them (keepalived, the lbconverge daemon, tcpdump, anything), ways to fail a node, and the
//! observers the VRRP tests and the benchmark measure with.
//!
//! ```text
//!  netns <p>n1      eth0 10.88.0.11/24  fd88::11/64   02:88:00:00:00:11 ─┐
//!  netns <p>n2      eth0 10.88.0.12/24  fd88::12/64   02:88:00:00:00:12 ─┤ ports n1, n2, .., client
//!  netns <p>client  eth0 10.88.0.100/24 fd88::100/64  02:88:00:00:00:64 ─┘ of bridge br0 in <p>sw
//! ```
//!
//! `<p>` is `lbc<pid>-<k>-`, unique per process and lab. The bridge has multicast snooping
//! and STP off and no IPv6 of its own; DAD is off in every namespace. Nothing is configured in
//! the root namespace. Dropping the lab kills the processes it started (by PID, never by
//! name), deletes its namespaces and, unless a test failed, its state directory
//! (`$TMPDIR/lbc<pid>-<k>`: configs, manifests and one log per process).
//!
//! Labs in one test process run one at a time (a lock), so timings are not disturbed by a
//! parallel test. Ported from the team's shell lab `vrrp-lab` and `measure.py`.
//!
//! ```text
//! let mut lab = Lab::new(2);                              n1, n2, client, switch
//! vrrp::start(&mut lab, 0, Daemon::Keepalived, &params);  or lab.keepalived(..), lab.spawn(..)
//! let s = lab.sampler(vip);                               10 ms samples: s.first(..), s.dual_master()
//! lab.http("n1", addr); let p = lab.prober(target);       servers; client probe every 10 ms
//! let a = lab.arp_prober(vip); a.first_answer(node_mac(0), t0)  who answers ARP, every 10 ms
//! let (t0, status) = lab.stop("n1", "vrrp", How::Crash);  Crash | Kill | Term
//! lab.link("n1", true); lab.isolate("n2", true); lab.del_addr("n1", "10.88.0.50/24");
//! lab.wait(timeout, "what", || cond);                     fails at once if a daemon died
//! ```

pub mod arp;
pub mod http;
pub mod netns;
pub mod run_dir;
pub mod sampler;
pub mod vrrp;

use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// How a daemon is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// The node dies: SIGKILL, then its bridge port goes down (its stale VIP and servers are
    /// cut off with it). `measure.py --mode crash`.
    Crash,
    /// SIGKILL only: the node keeps its link, its servers and any VIP the daemon held.
    Kill,
    /// SIGTERM: a graceful stop; waits for the exit.
    Term,
}

/// The lab. See the module docs.
pub struct Lab {
    prefix: String,
    dir: PathBuf,
    nodes: Vec<String>,
    namespaces: Vec<String>,
    procs: Vec<Proc>,
    servers: Vec<http::Server>,
    active: Arc<Vec<AtomicBool>>,
    _serial: MutexGuard<'static, ()>,
}

struct Proc {
    node: String,
    name: String,
    child: Child,
    log: PathBuf,
    /// Set once the lab has stopped it on purpose.
    stopped: bool,
}

static SERIAL: Mutex<()> = Mutex::new(());
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The switch namespace's short name.
pub const SWITCH: &str = "sw";
/// The client namespace's short name.
pub const CLIENT: &str = "client";
/// The bridge device inside the switch namespace.
pub const BRIDGE: &str = "br0";

/// IPv4 address of node `i` (0-based: n1 is 0): 10.88.0.11, 10.88.0.12, ...
pub fn node_v4(i: usize) -> IpAddr {
    IpAddr::from([10, 88, 0, 11 + i as u8])
}

/// IPv6 address of node `i`: fd88::11, fd88::12, ... (the digits as written, hex).
pub fn node_v6(i: usize) -> IpAddr {
    format!("fd88::{}", 11 + i).parse().unwrap()
}

/// The client's addresses.
pub fn client_v4() -> IpAddr {
    IpAddr::from([10, 88, 0, 100])
}

/// The MAC address of node `i`'s eth0: 02:88:00:00:00:11, 02:88:00:00:00:12, ...
pub fn node_mac(i: usize) -> [u8; 6] {
    [0x02, 0x88, 0, 0, 0, 0x11 + i as u8]
}

/// The client's MAC address.
pub const CLIENT_MAC: [u8; 6] = [0x02, 0x88, 0, 0, 0, 0x64];

fn mac_text(mac: [u8; 6]) -> String {
    mac.map(|b| format!("{b:02x}")).join(":")
}

impl Lab {
    /// Builds a lab with nodes n1..n`nodes` and a client. Panics (loudly, with the failing
    /// command) when not root or when a namespace cannot be made.
    pub fn new(nodes: usize) -> Lab {
        Lab::named("lbc", nodes)
    }

    /// [`Lab::new`] with namespaces and state directory named `<base><pid>-<k>-...`: a test
    /// file's own prefix (`lbcalr-` for tests/alerts.rs).
    pub fn named(base: &str, nodes: usize) -> Lab {
        assert!(super::is_root(), "the VRRP lab needs root: network namespaces (run tools/test as root)");
        assert!((1..=9).contains(&nodes), "1..9 nodes");
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        set_subreaper();
        let k = COUNTER.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("{base}{}-{k}-", std::process::id());
        let dir = std::env::temp_dir().join(prefix.trim_end_matches('-'));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let names: Vec<String> = (1..=nodes).map(|i| format!("n{i}")).collect();
        let active = Arc::new(names.iter().map(|_| AtomicBool::new(false)).collect());
        let mut lab = Lab {
            prefix,
            dir,
            nodes: names,
            namespaces: Vec::new(),
            procs: Vec::new(),
            servers: Vec::new(),
            active,
            _serial: serial,
        };
        lab.build();
        lab
    }

    fn build(&mut self) {
        let sw = self.add_ns(SWITCH);
        netns::sysctl(&sw, "net.ipv6.conf.all.disable_ipv6", "1");
        netns::sysctl(&sw, "net.ipv6.conf.default.disable_ipv6", "1");
        ip(&["-n", &sw, "link", "add", BRIDGE, "type", "bridge", "stp_state", "0", "mcast_snooping", "0"]);
        ip(&["-n", &sw, "link", "set", BRIDGE, "up"]);
        for i in 0..self.nodes.len() {
            let (v4, v6) = (format!("{}/24", node_v4(i)), format!("{}/64", node_v6(i)));
            let node = self.nodes[i].clone();
            self.add_host(&node, &mac_text(node_mac(i)), &v4, &v6);
            fs::create_dir_all(self.node_dir(&node)).unwrap();
        }
        self.add_host(CLIENT, &mac_text(CLIENT_MAC), "10.88.0.100/24", "fd88::100/64");
    }

    fn add_ns(&mut self, short: &str) -> String {
        let ns = format!("{}{short}", self.prefix);
        ip(&["netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        ip(&["-n", &ns, "link", "set", "lo", "up"]);
        ns
    }

    /// A namespace with eth0 (a veth whose peer is bridge port `short`), addresses, no DAD.
    fn add_host(&mut self, short: &str, mac: &str, v4: &str, v6: &str) {
        let ns = self.add_ns(short);
        let sw = self.ns(SWITCH);
        for k in ["all", "default"] {
            netns::sysctl(&ns, &format!("net.ipv6.conf.{k}.accept_dad"), "0");
        }
        ip(&["link", "add", "eth0", "netns", &ns, "address", mac, "type", "veth", "peer", "name", short, "netns", &sw]);
        ip(&["-n", &sw, "link", "set", short, "master", BRIDGE, "up"]);
        ip(&["-n", &ns, "addr", "add", v4, "dev", "eth0"]);
        ip(&["-n", &ns, "addr", "add", v6, "dev", "eth0"]);
        ip(&["-n", &ns, "link", "set", "eth0", "up"]);
    }

    /// The namespace name of `short` (n1, n2, client, sw).
    pub fn ns(&self, short: &str) -> String {
        format!("{}{short}", self.prefix)
    }

    /// The node names, n1 first.
    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    /// The lab's state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A node's own directory under the state directory.
    pub fn node_dir(&self, node: &str) -> PathBuf {
        self.dir.join(node)
    }

    fn index(&self, node: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n == node)
    }

    /// Marks node `node`'s VRRP daemon as running or not, for the dual-master check.
    pub fn set_active(&self, node: &str, on: bool) {
        if let Some(i) = self.index(node) {
            self.active[i].store(on, Ordering::SeqCst);
        }
    }

    // ------------------------------------------------------------------ processes

    /// Starts `argv` in `node`'s namespace under `name` (unique per node), with extra `env`;
    /// stdout and stderr go to `<node dir>/<name>.log`. Returns the PID. The process gets
    /// SIGKILL if the thread that started it dies (a killed test leaves no daemon behind).
    pub fn spawn(&mut self, node: &str, name: &str, argv: &[String], env: &[(String, String)]) -> u32 {
        assert!(
            !self.procs.iter().any(|p| p.node == node && p.name == name && !p.stopped),
            "{name} already runs on {node}"
        );
        self.procs.retain(|p| !(p.node == node && p.name == name));
        let log = self.node_dir(node).join(format!("{name}.log"));
        fs::create_dir_all(self.node_dir(node)).unwrap();
        let out = fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns(node)]).args(argv).envs(env.iter().map(|(k, v)| (k, v)));
        cmd.stdin(Stdio::null()).stdout(out.try_clone().unwrap()).stderr(out);
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap_or_else(|e| panic!("start {argv:?} in {node}: {e}"));
        let pid = child.id();
        self.procs.push(Proc { node: node.into(), name: name.into(), child, log, stopped: false });
        pid
    }

    /// Starts keepalived (VRRP only) in `node` with `config` as process `name`, after
    /// `keepalived -t` accepted the config; waits until its VRRP child is up. Panics when
    /// keepalived is not installed (tools/test installs Debian's package).
    pub fn keepalived(&mut self, node: &str, name: &str, config: &str) -> u32 {
        let bin = find_program("keepalived").display().to_string();
        let d = self.node_dir(node);
        let conf = d.join(format!("{name}.conf")).display().to_string();
        fs::write(&conf, config).unwrap();
        let t = Command::new("ip").args(["netns", "exec", &self.ns(node), &bin, "-t", "-f", &conf]).output().unwrap();
        let said = format!("{}{}", String::from_utf8_lossy(&t.stdout), String::from_utf8_lossy(&t.stderr));
        assert!(t.status.success(), "keepalived -t rejected {conf}:\n{said}");
        let pid_self = d.join(format!("{name}.pid")).display().to_string();
        let vrrp_pid = d.join(format!("{name}.vrrp.pid"));
        let _ = fs::remove_file(&vrrp_pid);
        // -n: the parent stays in the foreground (our child); -P: VRRP only (no IPVS here);
        // -l -D -G: detailed log on the console (our log file), no syslog.
        let r = vrrp_pid.display().to_string();
        let argv: Vec<String> =
            [&bin, "-n", "-P", "-l", "-D", "-G", "-f", &conf, "-p", &pid_self, "-r", &r].map(String::from).to_vec();
        let pid = self.spawn(node, name, &argv, &[]);
        self.wait_pid_file(node, name, &vrrp_pid);
        pid
    }

    fn wait_pid_file(&mut self, node: &str, name: &str, file: &Path) {
        let end = Instant::now() + Duration::from_secs(5);
        loop {
            if fs::read_to_string(file).ok().and_then(|s| s.trim().parse::<u32>().ok()).is_some() {
                return;
            }
            self.check_running();
            assert!(
                Instant::now() < end,
                "{name} on {node} wrote no {} in 5 s; log:\n{}",
                file.display(),
                self.log(node, name)
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn proc_mut(&mut self, node: &str, name: &str) -> &mut Proc {
        self.procs
            .iter_mut()
            .find(|p| p.node == node && p.name == name)
            .unwrap_or_else(|| panic!("no process {name} on {node}"))
    }

    /// The log of process `name` on `node` so far.
    pub fn log(&self, node: &str, name: &str) -> String {
        fs::read_to_string(self.node_dir(node).join(format!("{name}.log"))).unwrap_or_default()
    }

    /// True while process `name` on `node` runs.
    pub fn alive(&mut self, node: &str, name: &str) -> bool {
        let p = self.proc_mut(node, name);
        matches!(p.child.try_wait(), Ok(None))
    }

    /// Panics, with the process's log, if any process the lab started and did not stop has
    /// exited.
    pub fn check_running(&mut self) {
        for p in &mut self.procs {
            if p.stopped {
                continue;
            }
            if let Ok(Some(status)) = p.child.try_wait() {
                p.stopped = true;
                let log = fs::read_to_string(&p.log).unwrap_or_default();
                panic!(
                    "{} on {} exited unexpectedly ({status}); its log {}:\n{}",
                    p.name,
                    p.node,
                    p.log.display(),
                    tail(&log, 40)
                );
            }
        }
    }

    /// Stops process `name` on `node` as `how` says; returns when the signal went out (t0)
    /// and, for [`How::Term`], the exit status (it waits up to 10 s, then SIGKILLs and
    /// panics). A node whose daemon stops is no longer counted by the dual-master check:
    /// at once for SIGKILL, after its exit for SIGTERM.
    pub fn stop(&mut self, node: &str, name: &str, how: How) -> (Instant, Option<ExitStatus>) {
        if how != How::Term {
            self.set_active(node, false);
        }
        let p = self.proc_mut(node, name);
        p.stopped = true;
        let t0 = match how {
            How::Term => signal(p.child.id(), libc::SIGTERM),
            How::Crash | How::Kill => hard_kill(p),
        };
        let status = if how == How::Term { Some(self.wait_exit(node, name, Duration::from_secs(10))) } else { None };
        self.set_active(node, false);
        if how == How::Crash {
            self.link(node, false);
        }
        (t0, status)
    }

    fn wait_exit(&mut self, node: &str, name: &str, timeout: Duration) -> ExitStatus {
        let end = Instant::now() + timeout;
        let p = self.proc_mut(node, name);
        loop {
            if let Some(s) = p.child.try_wait().unwrap() {
                return s;
            }
            if Instant::now() > end {
                hard_kill(p);
                panic!("{name} on {node} did not exit within {timeout:?} of SIGTERM");
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends `sig` (e.g. SIGHUP) to process `name` on `node`.
    pub fn signal(&mut self, node: &str, name: &str, sig: i32) {
        let pid = self.proc_mut(node, name).child.id();
        signal(pid, sig);
    }

    /// VmRSS in KiB of process `name` on `node` plus its children (keepalived: parent and
    /// VRRP child).
    pub fn rss_kib(&mut self, node: &str, name: &str) -> u64 {
        let pid = self.proc_mut(node, name).child.id();
        std::iter::once(pid).chain(children_of(pid)).map(vm_rss_kib).sum()
    }

    // ------------------------------------------------------------------ network

    /// Sets `node`'s bridge port up or down (a cable pull: its eth0 loses carrier).
    pub fn link(&self, node: &str, up: bool) {
        ip(&["-n", &self.ns(SWITCH), "link", "set", node, if up { "up" } else { "down" }]);
    }

    /// Isolates `node`'s bridge port: isolated ports reach only non-isolated ones (the
    /// client), never each other, and keep their carrier.
    pub fn isolate(&self, node: &str, on: bool) {
        let v = if on { "on" } else { "off" };
        ip(&["-n", &self.ns(SWITCH), "link", "set", "dev", node, "type", "bridge_slave", "isolated", v]);
    }

    /// Deletes address `cidr` from `node`'s eth0 if present (a stale VIP after a crash).
    pub fn del_addr(&self, node: &str, cidr: &str) {
        let _ = Command::new("ip").args(["-n", &self.ns(node), "addr", "del", cidr, "dev", "eth0"]).output();
    }

    /// The addresses on `node`'s eth0, one line (`ip -br addr`), for messages.
    pub fn addrs(&self, node: &str) -> String {
        ip(&["-n", &self.ns(node), "-br", "addr", "show", "dev", "eth0"]).trim().to_string()
    }

    // ------------------------------------------------------------------ observers

    /// Starts the 10 ms VIP sampler over every node.
    pub fn sampler(&self, vip: IpAddr) -> sampler::Sampler {
        let nodes: Vec<(String, String)> = self.nodes.iter().map(|n| (n.clone(), self.ns(n))).collect();
        sampler::Sampler::start(&nodes, vip, self.active.clone())
    }

    /// Starts an HTTP server on `addr` in `node` that answers with the node's name; it lives
    /// as long as the lab.
    pub fn http(&mut self, node: &str, addr: SocketAddr) {
        self.servers.push(http::Server::start(&self.ns(node), addr, node));
    }

    /// Starts the client prober against `target` (one new connection every 10 ms).
    pub fn prober(&self, target: SocketAddr) -> http::Prober {
        http::Prober::start(&self.ns(CLIENT), target)
    }

    /// Starts asking from the client who has `target`, by ARP every 10 ms (the sampling
    /// period); answers carry the node's MAC ([`node_mac`]).
    pub fn arp_prober(&self, target: Ipv4Addr) -> arp::Prober {
        let IpAddr::V4(ip) = client_v4() else { unreachable!("the client has an IPv4 address") };
        let me = arp::Asker { mac: CLIENT_MAC, ip };
        arp::Prober::start(&self.ns(CLIENT), "eth0", me, target, sampler::period())
    }

    /// One GET from the client: the answering node, or why not.
    pub fn get(&self, target: SocketAddr) -> Result<String, String> {
        http::get(&self.ns(CLIENT), target, Duration::from_millis(500))
    }

    /// Starts tcpdump on the bridge into `file` with a BPF `filter`; stop it with
    /// `stop(SWITCH, "tcpdump", How::Term)`.
    pub fn capture(&mut self, file: &Path, filter: &str) {
        self.capture_on(BRIDGE, file, filter);
    }

    /// [`Lab::capture`] on one interface of the switch: the bridge, or a node's port
    /// (named after the node), which also sees the unicast frames to and from the node.
    pub fn capture_on(&mut self, interface: &str, file: &Path, filter: &str) {
        let bin = find_program("tcpdump").display().to_string();
        let argv: Vec<String> = [&bin, "-i", interface, "-Z", "root", "-nn", "-U", "--immediate-mode", "-s", "0", "-w"]
            .iter()
            .map(|s| s.to_string())
            .chain([file.display().to_string(), filter.to_string()])
            .collect();
        self.spawn(SWITCH, "tcpdump", &argv, &[]);
        thread::sleep(Duration::from_millis(300));
    }

    /// Polls `cond` every 10 ms for up to `timeout`, checking that the lab's processes are
    /// still running; panics with `what` and the nodes' addresses on timeout.
    pub fn wait(&mut self, timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) -> Instant {
        let end = Instant::now() + timeout;
        loop {
            if cond() {
                return Instant::now();
            }
            self.check_running();
            if Instant::now() > end {
                let addrs: Vec<String> = self.nodes.iter().map(|n| self.addrs(n)).collect();
                panic!(
                    "timed out after {timeout:?} waiting for {what}; eth0: {addrs:?}; state in {}",
                    self.dir.display()
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.servers.clear();
        for p in &mut self.procs {
            if matches!(p.child.try_wait(), Ok(None)) {
                hard_kill(p);
            }
        }
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        if thread::panicking() || std::env::var_os("LBC_LAB_KEEP").is_some() {
            eprintln!("lab state kept in {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// SIGKILL like `vrrp-lab kill`: freeze the process (keepalived's parent must not respawn
/// its VRRP child), SIGKILL its children first (a keepalived VRRP child whose parent dies
/// stops *gracefully*, with a priority-0 advert), then the process. Reaps them all. Returns
/// the moment the first of them (the VRRP process) was killed.
fn hard_kill(p: &mut Proc) -> Instant {
    let parent = p.child.id();
    signal(parent, libc::SIGSTOP);
    let kids = children_of(parent);
    let first = kids.iter().map(|&c| signal(c, libc::SIGKILL)).next();
    let t = signal(parent, libc::SIGKILL);
    let _ = p.child.wait();
    for c in kids {
        reap(c);
    }
    first.unwrap_or(t)
}

/// The live children of `pid` (from /proc/*/stat), oldest first.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else { return Vec::new() };
    let mut v: Vec<u32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&c| stat_ppid(c) == Some(pid))
        .collect();
    v.sort_unstable();
    v
}

/// The parent pid from /proc/PID/stat, for a process that is not a zombie.
fn stat_ppid(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let mut f = rest.split_whitespace();
    let state = f.next()?;
    if state == "Z" {
        return None;
    }
    f.next()?.parse().ok()
}

/// Waits (up to 2 s) for an orphan of ours to exit and reaps it.
fn reap(pid: u32) {
    let end = Instant::now() + Duration::from_secs(2);
    while Instant::now() < end {
        let mut status = 0;
        // SAFETY: waitpid on a specific pid with WNOHANG; status is a valid out pointer.
        let r = unsafe { libc::waitpid(pid as i32, &mut status, libc::WNOHANG) };
        if r != 0 {
            return; // reaped, or not our child (ECHILD)
        }
        thread::sleep(Duration::from_millis(5));
    }
}

fn signal(pid: u32, sig: i32) -> Instant {
    let t = Instant::now();
    // SAFETY: kill(2) has no memory-safety preconditions; pid is one of our own processes.
    unsafe { libc::kill(pid as i32, sig) };
    t
}

/// Orphaned grandchildren (keepalived's VRRP child after its parent's SIGKILL) are
/// re-parented to this process instead of PID 1, so the lab can reap them.
fn set_subreaper() {
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) };
}

fn vm_rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or("");
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Runs `ip ARGS`, panicking with its stderr on failure; returns stdout.
pub fn ip(args: &[&str]) -> String {
    let out =
        Command::new("ip").args(args).output().unwrap_or_else(|e| panic!("run ip {args:?}: {e} (iproute2 installed?)"));
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The full path of `name` in PATH, /usr/sbin or /sbin; panics if missing.
pub fn find_program(name: &str) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed (tools/test installs it: apt-get install {name})"))
}

/// The last `n` lines of `s`.
pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
