//! `lbconverge show`: this host's live state as a snapshot (YAML), JSON, `ipvsadm -S -n`
//! rules, the sync daemons as `ipvsadm -L --daemon` lists them, or the firewall-mark table
//! as `nft list table inet lbconverge` lists it.

use std::collections::BTreeSet;
use std::path::Path;

use clap::{Args, ValueEnum};

use super::{CliError, Exit, view};
use crate::kernel::linux::LinuxKernel;
use crate::kernel::{self, Addrs};
use crate::model::sysctl::SysctlKey;

/// Output formats of `show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    /// The snapshot format `plan --live` reads.
    Yaml,
    /// The same, as JSON.
    Json,
    /// IPVS rules as `ipvsadm -S -n` prints them.
    Ipvsadm,
    /// IPVS connection sync daemons as `ipvsadm -L --daemon` prints them.
    Daemons,
    /// The firewall-mark table as `nft list table inet lbconverge` prints it, with each
    /// rule's packet counters.
    Nft,
}

/// `show` arguments.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ShowFormat::Yaml)]
    pub format: ShowFormat,
    /// Instead: the routing daemon's configuration that exports this node's `announce: bgp`
    /// VIPs (needs --manifest and --node).
    #[arg(long, value_enum, requires_all = ["manifest", "node"])]
    pub routing: Option<super::routing::RoutingDaemon>,
    /// The manifest (with --routing).
    #[arg(long, requires = "routing")]
    pub manifest: Option<std::path::PathBuf>,
    /// The node (with --routing).
    #[arg(long, requires = "routing")]
    pub node: Option<String>,
}

/// The sysctls an LVS node cares about, for every interface.
fn default_scope(k: &mut LinuxKernel) -> Result<BTreeSet<SysctlKey>, CliError> {
    let mut keys: BTreeSet<SysctlKey> = [
        "net.ipv4.ip_forward",
        "net.ipv6.conf.all.forwarding",
        "net.ipv4.vs.expire_nodest_conn",
        "net.ipv4.vs.expire_quiescent_template",
        "net.ipv4.vs.conntrack",
    ]
    .iter()
    .filter_map(|k| k.parse().ok())
    .collect();
    let mut ifaces: Vec<String> = vec!["all".into(), "default".into()];
    ifaces.extend(k.links()?.into_keys());
    for i in &ifaces {
        for leaf in ["arp_ignore", "arp_announce", "send_redirects", "rp_filter"] {
            keys.insert(SysctlKey::ipv4_conf(i, leaf));
        }
    }
    Ok(keys)
}

/// Runs `show`.
pub fn run(a: &ShowArgs, state_dir: &Path) -> Result<Exit, CliError> {
    if let (Some(daemon), Some(manifest), Some(node)) = (a.routing, &a.manifest, &a.node) {
        let m = crate::load::Loader::new().load(manifest)?;
        let cluster = super::warned(m.validated);
        let text = super::routing::snippet(&cluster, node, daemon).map_err(CliError::Usage)?;
        print!("{text}");
        return Ok(Exit::Ok);
    }
    let mut k = LinuxKernel::new(state_dir.to_path_buf());
    let scope = default_scope(&mut k)?;
    let state = kernel::snapshot(&mut k, &scope)?;
    let text = match a.format {
        ShowFormat::Yaml => view::snapshot_yaml(&state),
        ShowFormat::Json => view::snapshot_json(&state),
        ShowFormat::Ipvsadm => view::ipvsadm_rules(&state),
        ShowFormat::Daemons => view::ipvsadm_daemons(&state),
        ShowFormat::Nft => view::nft_table(&state),
    };
    print!("{text}");
    Ok(Exit::Ok)
}
