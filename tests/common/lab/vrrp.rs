//! VRRP scenarios for the lab: one set of parameters renders both a keepalived config per
//! node and the lbconverge manifest, so the two implementations always run the same
//! instance. Also the RFC timings the tests compare against, starting either daemon on a
//! node, and reading the daemons' state transitions from their logs.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::{Lab, node_v4, node_v6};

/// The process name every VRRP daemon gets in the lab (one per node).
pub const DAEMON: &str = "vrrp";
/// The environment variable the manifest names for the PASS password.
pub const PASSWORD_ENV: &str = "LBC_LAB_VRRP_PASSWORD";
/// The instance name in both keepalived and the manifest.
pub const INSTANCE: &str = "VI_LAB";

/// Which VRRP implementation runs on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Daemon {
    /// Debian's keepalived, VRRP subsystem only.
    Keepalived,
    /// `lbconverge run`.
    Lbconverge,
}

impl Daemon {
    /// Short name for messages and tables.
    pub fn name(self) -> &'static str {
        match self {
            Daemon::Keepalived => "keepalived",
            Daemon::Lbconverge => "lbconverge",
        }
    }
}

/// One VRRP instance across the lab's nodes.
#[derive(Debug, Clone)]
pub struct Params {
    /// 2 (RFC 3768) or 3 (RFC 5798).
    pub version: u8,
    /// Advertisement interval (v2: whole seconds).
    pub advert: Duration,
    /// Virtual router id.
    pub vrid: u8,
    /// The VIP with its prefix, `10.88.0.50/24` or `fd88::50/64`.
    pub vip: String,
    /// Priority of n1, n2, ...
    pub priorities: Vec<u8>,
    /// Preempt a lower-priority master (keepalived: absence of `nopreempt`).
    pub preempt: bool,
    /// Whole seconds to wait before preempting.
    pub preempt_delay: u32,
    /// v2 PASS password (at most 8 bytes), or the AH key with `ah`.
    pub password: Option<String>,
    /// v2 authentication by IPsec AH (`auth_type AH`) instead of PASS.
    pub ah: bool,
    /// Adverts unicast to the other nodes instead of multicast.
    pub unicast: bool,
    /// More VIPs of the instance after `vip`, each with its prefix.
    pub extra_vips: Vec<String>,
    /// A track script every node's instance tracks.
    pub track_script: Option<TrackScript>,
    /// A virtual MAC with keepalived's default name (`use_vmac`, manifest `vmac: {}`); true:
    /// adverts on the base interface (`vmac_xmit_base`, `xmit_base: true`).
    pub vmac: Option<bool>,
}

/// A track script as both daemons run it: `command` (an absolute path to a root-owned file
/// nobody else may write, for keepalived's `enable_script_security` and lbconverge's
/// preflight) every second; its `weight` is added to the priority while it succeeds
/// (positive) or while it fails (negative), keepalived's rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackScript {
    /// Its name in both configurations.
    pub name: String,
    /// The program, without arguments.
    pub command: String,
    /// Priority change, -253..253 (not 0: that would mean FAULT while failing).
    pub weight: i32,
}

impl Params {
    /// VRRPv2, 1 s adverts, PASS auth, VRID 51, 10.88.0.50/24, priorities 150/100.
    pub fn v2_pass() -> Params {
        Params {
            version: 2,
            advert: Duration::from_secs(1),
            vrid: 51,
            vip: "10.88.0.50/24".into(),
            priorities: vec![150, 100],
            preempt: true,
            preempt_delay: 0,
            password: Some("lbc-lab".into()),
            ah: false,
            unicast: false,
            extra_vips: Vec::new(),
            track_script: None,
            vmac: None,
        }
    }

    /// VRRPv3 over IPv4, 100 ms adverts, VRID 51, 10.88.0.50/24, priorities 150/100.
    pub fn v3_fast() -> Params {
        Params { version: 3, advert: Duration::from_millis(100), password: None, ..Params::v2_pass() }
    }

    /// VRRPv3 over IPv6, 100 ms adverts, VRID 52, fd88::50/64, priorities 150/100.
    pub fn v3_ipv6() -> Params {
        Params { vrid: 52, vip: "fd88::50/64".into(), ..Params::v3_fast() }
    }

    /// The same with IPsec AH authentication (keyed with the PASS password) instead of PASS.
    pub fn ah(self) -> Params {
        Params { ah: true, ..self }
    }

    /// The same with unicast adverts.
    pub fn unicast(self) -> Params {
        Params { unicast: true, ..self }
    }

    /// The same with these priorities.
    pub fn priorities(self, p: &[u8]) -> Params {
        Params { priorities: p.to_vec(), ..self }
    }

    /// The same without preemption.
    pub fn no_preempt(self) -> Params {
        Params { preempt: false, ..self }
    }

    /// The same with these VIPs after `vip` (replacing any extra ones).
    pub fn extra_vips(self, vips: &[&str]) -> Params {
        Params { extra_vips: vips.iter().map(|v| v.to_string()).collect(), ..self }
    }

    /// The same with this advertisement interval.
    pub fn advert(self, advert: Duration) -> Params {
        Params { advert, ..self }
    }

    /// The same with every node tracking script `name`, which runs `command` and moves the
    /// priority by `weight`.
    pub fn track_script(self, name: &str, command: &str, weight: i32) -> Params {
        let script = TrackScript { name: name.into(), command: command.into(), weight };
        Params { track_script: Some(script), ..self }
    }

    /// The same with a virtual MAC of keepalived's default name, its adverts on the base
    /// interface when `xmit_base`.
    pub fn vmac(self, xmit_base: bool) -> Params {
        Params { vmac: Some(xmit_base), ..self }
    }

    /// A short label: `v3 100ms IPv4 multicast`.
    pub fn label(&self) -> String {
        let fam = if self.ipv6() { "IPv6" } else { "IPv4" };
        let auth = match (&self.password, self.ah) {
            (Some(_), true) => " AH",
            (Some(_), false) => " PASS",
            (None, _) => "",
        };
        let cast = if self.unicast { "unicast" } else { "multicast" };
        let vips = if self.extra_vips.is_empty() { String::new() } else { format!(" {} VIPs", self.vips().len()) };
        let track = if self.track_script.is_some() { " tracked" } else { "" };
        let vmac = match self.vmac {
            Some(true) => " vmac xmit_base",
            Some(false) => " vmac",
            None => "",
        };
        format!("v{}{auth} {} {fam} {cast}{vips}{track}{vmac}", self.version, duration(self.advert))
    }

    /// True for an IPv6 instance.
    pub fn ipv6(&self) -> bool {
        self.vip.contains(':')
    }

    /// The VIP without its prefix.
    pub fn vip_addr(&self) -> IpAddr {
        addr_of(&self.vip)
    }

    /// Every VIP with its prefix: `vip`, then the extra ones.
    pub fn vips(&self) -> Vec<String> {
        std::iter::once(self.vip.clone()).chain(self.extra_vips.iter().cloned()).collect()
    }

    /// Every VIP without its prefix, in the order of [`Params::vips`].
    pub fn vip_addrs(&self) -> Vec<IpAddr> {
        self.vips().iter().map(|v| addr_of(v)).collect()
    }

    /// VIP:port.
    pub fn vip_socket(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.vip_addr(), port)
    }

    fn node_addr(&self, i: usize) -> IpAddr {
        if self.ipv6() { node_v6(i) } else { node_v4(i) }
    }

    /// Skew_Time for `prio`: v3 (256-prio) x advert / 256; v2 (256-prio) / 256 s.
    pub fn skew(&self, prio: u8) -> Duration {
        let base = if self.version == 2 { Duration::from_secs(1) } else { self.advert };
        base * (256 - u32::from(prio)) / 256
    }

    /// Master_Down_Interval for `prio`: 3 x advert + skew.
    pub fn master_down(&self, prio: u8) -> Duration {
        self.advert * 3 + self.skew(prio)
    }

    // ------------------------------------------------------------------ keepalived

    /// keepalived.conf for node `i` (0-based). The highest priority starts `state MASTER`
    /// unless preemption is off (keepalived's `nopreempt` needs `state BACKUP`) or AH is on
    /// (keepalived clears `state MASTER` with AH: it needs a peer's sequence number first).
    pub fn keepalived_conf(&self, i: usize) -> String {
        let top = self.priorities.iter().max().copied().unwrap_or(0);
        let first = self.preempt && self.preempt_delay == 0 && self.priorities[i] == top && !self.ah;
        let state = if first { "MASTER" } else { "BACKUP" };
        let mut c = format!("# Generated by tests/common/lab/vrrp.rs: {}, node n{}.\n", self.label(), i + 1);
        let _ = write!(c, "global_defs {{\n    router_id lbc-n{}\n    vrrp_version {}\n", i + 1, self.version);
        if self.track_script.is_some() {
            // Scripts run as root, and only from files nobody else can change.
            c.push_str("    enable_script_security\n    script_user root\n");
        }
        c.push_str("}\n\n");
        if let Some(t) = &self.track_script {
            let _ = writeln!(c, "vrrp_script {} {{\n    script \"{}\"\n    interval 1", t.name, t.command);
            let _ = writeln!(c, "    weight {}\n}}\n", t.weight);
        }
        let _ = writeln!(c, "vrrp_instance {INSTANCE} {{");
        let _ = writeln!(c, "    state {state}\n    interface eth0\n    virtual_router_id {}", self.vrid);
        let _ = writeln!(c, "    priority {}\n    advert_int {}", self.priorities[i], secs(self.advert));
        if !self.preempt {
            c.push_str("    nopreempt\n");
        }
        if self.preempt_delay > 0 {
            let _ = writeln!(c, "    preempt_delay {}", self.preempt_delay);
        }
        c.push_str(&self.keepalived_unicast(i));
        match self.vmac {
            Some(true) => c.push_str("    use_vmac\n    vmac_xmit_base\n"),
            Some(false) => c.push_str("    use_vmac\n"),
            None => {}
        }
        if let Some(p) = &self.password {
            let kind = if self.ah { "AH" } else { "PASS" };
            let _ = writeln!(c, "    authentication {{\n        auth_type {kind}\n        auth_pass {p}\n    }}");
        }
        if let Some(t) = &self.track_script {
            let _ = writeln!(c, "    track_script {{\n        {}\n    }}", t.name);
        }
        let vips: String = self.vips().iter().map(|v| format!("        {v}\n")).collect();
        let _ = writeln!(c, "    virtual_ipaddress {{\n{vips}    }}\n}}");
        c
    }

    fn keepalived_unicast(&self, i: usize) -> String {
        if !self.unicast {
            return String::new();
        }
        let peers: String = (0..self.priorities.len())
            .filter(|&j| j != i)
            .map(|j| format!("        {}\n", self.node_addr(j)))
            .collect();
        format!("    unicast_src_ip {}\n    unicast_peer {{\n{peers}    }}\n", self.node_addr(i))
    }

    // ------------------------------------------------------------------ lbconverge

    /// The lbconverge manifest: nodes n1.. as directors on eth0 and the one instance.
    pub fn manifest(&self) -> String {
        let mut m = format!(
            "# Generated by tests/common/lab/vrrp.rs: {}.\nversion: 1\ncluster: vrrp-lab\n\nnodes:\n",
            self.label()
        );
        for i in 0..self.priorities.len() {
            let _ = writeln!(m, "  n{}:\n    roles: [director]", i + 1);
            let _ = writeln!(m, "    addresses: [{}/24, {}/64]\n    interface: eth0", node_v4(i), node_v6(i));
        }
        if let Some(t) = &self.track_script {
            let _ = writeln!(m, "\ntrack_scripts:\n  {}:\n    command: [{}]\n    interval: 1s", t.name, t.command);
        }
        let _ = writeln!(m, "\nvrrp:\n  {INSTANCE}:\n    vrid: {}\n    version: {}", self.vrid, self.version);
        let _ = writeln!(m, "    advert_interval: {}\n    members:", duration(self.advert));
        for (i, p) in self.priorities.iter().enumerate() {
            let _ = writeln!(m, "      n{}: {{priority: {p}}}", i + 1);
        }
        let _ = writeln!(m, "    preempt: {}\n    preempt_delay: {}s", self.preempt, self.preempt_delay);
        if self.password.is_some() {
            let kind = if self.ah { "ah" } else { "pass" };
            let _ = writeln!(m, "    authentication: {{type: {kind}, password_env: {PASSWORD_ENV}}}");
        }
        if self.unicast {
            let names: Vec<String> = (1..=self.priorities.len()).map(|i| format!("n{i}")).collect();
            let _ = writeln!(m, "    unicast_peers: [{}]", names.join(", "));
        }
        if let Some(t) = &self.track_script {
            let _ = writeln!(m, "    track_scripts:\n      {}: {{weight: {}}}", t.name, t.weight);
        }
        let _ = writeln!(m, "    vips: [{}]", self.vips().join(", "));
        match self.vmac {
            Some(true) => m.push_str("    vmac: {xmit_base: true}\n"),
            Some(false) => m.push_str("    vmac: {}\n"),
            None => {}
        }
        m
    }
}

/// The address of `10.88.0.50/24`.
fn addr_of(vip: &str) -> IpAddr {
    vip.split('/').next().unwrap_or_default().parse().unwrap()
}

/// A duration in keepalived's notation: `1`, `0.1`.
fn secs(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) { format!("{}", ms / 1000) } else { format!("{}", d.as_secs_f64()) }
}

/// A duration in the manifest's notation: `1s`, `100ms`.
fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) { format!("{}s", ms / 1000) } else { format!("{ms}ms") }
}

/// True when namespace `ns` holds `vip` (an address without prefix) on eth0.
pub fn holds_on_eth0(ns: &str, vip: &str) -> bool {
    let out = std::process::Command::new("ip").args(["-n", ns, "-br", "addr", "show", "dev", "eth0"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).contains(&format!("{vip}/"))
}

/// [`Params::v3_fast`]'s manifest with `top` before `vrrp:` and `instance` appended to the
/// instance (tracking, delays and the like, at four spaces).
pub fn fast_manifest(top: &str, instance: &str) -> String {
    let m = Params::v3_fast().manifest();
    format!("{m}{instance}").replacen("\nvrrp:\n", &format!("\n{top}vrrp:\n"), 1)
}

/// The lbconverge binary under test: this build's, or the one `LBC_LAB_LBCONVERGE` names
/// (another build, e.g. of an older commit, to see a lab test fail on it).
pub fn lbconverge_bin() -> String {
    std::env::var("LBC_LAB_LBCONVERGE").unwrap_or_else(|_| env!("CARGO_BIN_EXE_lbconverge").to_string())
}

/// Starts `daemon` on node `i` (0-based) with `p`, as process [`DAEMON`], and marks the node
/// active for the dual-master check. keepalived: waits for its VRRP child. lbconverge:
/// `lbconverge --state-dir DIR run MANIFEST --node nI` with the password in the environment.
pub fn start(lab: &mut Lab, i: usize, daemon: Daemon, p: &Params) -> u32 {
    let node = lab.nodes()[i].clone();
    let pid = match daemon {
        Daemon::Keepalived => lab.keepalived(&node, DAEMON, &p.keepalived_conf(i)),
        Daemon::Lbconverge => start_lbconverge(lab, &node, p),
    };
    lab.set_active(&node, true);
    pid
}

fn start_lbconverge(lab: &mut Lab, node: &str, p: &Params) -> u32 {
    let manifest = lab.dir().join("manifest.yaml");
    std::fs::write(&manifest, p.manifest()).unwrap();
    let env: Vec<(String, String)> = p.password.iter().map(|pw| (PASSWORD_ENV.to_string(), pw.clone())).collect();
    spawn_run(lab, node, &manifest, &env)
}

/// Starts `lbconverge run` on node `i` with a manifest of its own (written to the node's
/// directory, where [`start`] shares one file), as process [`DAEMON`], and marks the node
/// active.
pub fn start_manifest(lab: &mut Lab, i: usize, manifest: &str) -> u32 {
    let node = lab.nodes()[i].clone();
    std::fs::create_dir_all(lab.node_dir(&node)).unwrap();
    let file = lab.node_dir(&node).join("manifest.yaml");
    std::fs::write(&file, manifest).unwrap();
    let pid = spawn_run(lab, &node, &file, &[]);
    lab.set_active(&node, true);
    pid
}

/// `lbconverge --state-dir DIR run MANIFEST --node NODE --control SOCK` in `node`, with
/// `env` added.
fn spawn_run(lab: &mut Lab, node: &str, manifest: &std::path::Path, env: &[(String, String)]) -> u32 {
    let state = lab.node_dir(node).join("state");
    std::fs::create_dir_all(&state).unwrap();
    let mut argv: Vec<String> = vec![
        lbconverge_bin(),
        "--state-dir".into(),
        state.display().to_string(),
        "run".into(),
        manifest.display().to_string(),
        "--node".into(),
        node.into(),
        // Every node of the lab shares this host's file system: one control socket each.
        "--control".into(),
        lab.node_dir(node).join("control.sock").display().to_string(),
    ];
    // Benchmarks add options (`--lock-memory --realtime 50`).
    argv.extend(std::env::var("LBC_LAB_RUN_ARGS").unwrap_or_default().split_whitespace().map(String::from));
    let mut all = vec![("NO_COLOR".to_string(), "1".to_string())];
    all.extend(env.iter().cloned());
    lab.spawn(node, DAEMON, &argv, &all)
}

/// Rewrites the configuration [`start`] wrote for node `i` (keepalived: its config file;
/// lbconverge: the shared manifest) from `p`. A SIGHUP makes the daemon read it.
pub fn rewrite(lab: &Lab, i: usize, daemon: Daemon, p: &Params) {
    let (file, text) = match daemon {
        Daemon::Keepalived => (lab.node_dir(&lab.nodes()[i]).join(format!("{DAEMON}.conf")), p.keepalived_conf(i)),
        Daemon::Lbconverge => (lab.dir().join("manifest.yaml"), p.manifest()),
    };
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
}

/// A state change read from a daemon's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// Instance name (lbconverge only; keepalived's lines are per instance anyway).
    pub instance: String,
    /// Previous state (lbconverge only).
    pub from: String,
    /// New state: INIT, BACKUP, MASTER or FAULT.
    pub to: String,
}

/// The transitions in `log`: lbconverge's `vrrp transition ... instance=X from=A to=B`
/// lines, or keepalived's `(X) Entering B STATE` lines. Colour escapes are ignored.
pub fn transitions(log: &str) -> Vec<Transition> {
    let plain = strip_ansi(log);
    plain.lines().filter_map(|l| lbconverge_transition(l).or_else(|| keepalived_transition(l))).collect()
}

/// `s` without ANSI escape sequences (`ESC [ ... final-byte`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.next() == Some('[') {
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
    }
    out
}

fn lbconverge_transition(line: &str) -> Option<Transition> {
    if !line.contains("vrrp transition") {
        return None;
    }
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .map(|v| v.trim_matches(|c| c == '"' || c == ',').to_string())
    };
    Some(Transition { instance: field("instance=")?, from: field("from=")?, to: field("to=")? })
}

fn keepalived_transition(line: &str) -> Option<Transition> {
    let (_, rest) = line.split_once("Entering ")?;
    let state = rest.split_whitespace().next()?;
    let instance = line.split_once('(').and_then(|(_, r)| r.split_once(')')).map(|(n, _)| n.to_string())?;
    rest.contains("STATE").then(|| Transition { instance, from: String::new(), to: state.to_string() })
}
