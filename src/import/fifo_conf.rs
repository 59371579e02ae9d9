//! keepalived's notify FIFO settings as `global_defs` writes them (`notify_fifo`,
//! `vrrp_notify_fifo`, `lvs_notify_fifo`, their `*_script`s, `vrrp_notify_priority_changes`,
//! `fifo_write_vrrp_states_on_reload`), kept as read for
//! [`super::fifo`], which makes the manifest's `notify_fifos` of them once every global is
//! known. Apart from it so that the reader of `global_defs` ([`super::vrrp`]) needs nothing
//! of what uses its result.

use super::conf::Item;
use super::value;

/// One of keepalived's FIFOs as `global_defs` writes it.
#[derive(Debug, Clone, Default)]
pub struct FifoConf {
    /// `notify_fifo FIFO [user [group]]`.
    pub fifo: Option<Item>,
    /// `notify_fifo_script CMD [user [group]]`, read once every global is known
    /// (`script_user` may follow it).
    pub script: Option<Item>,
}

/// The FIFO settings of `global_defs`.
#[derive(Debug, Clone, Default)]
pub struct Fifos {
    /// `notify_fifo` and its script.
    pub global: FifoConf,
    /// `vrrp_notify_fifo` and its script.
    pub vrrp: FifoConf,
    /// `lvs_notify_fifo` and its script.
    pub lvs: FifoConf,
    /// `vrrp_notify_priority_changes`.
    pub priority_changes: Option<bool>,
    /// `fifo_write_vrrp_states_on_reload` (keepalived sets it whatever follows the word).
    pub states_on_reload: Option<Item>,
}

/// Takes a FIFO keyword of `global_defs`; false for any other.
pub fn global(it: &Item, f: &mut Fifos) -> bool {
    match it.keyword.as_str() {
        "notify_fifo" => f.global.fifo = Some(it.clone()),
        "notify_fifo_script" => f.global.script = Some(it.clone()),
        "vrrp_notify_fifo" => f.vrrp.fifo = Some(it.clone()),
        "vrrp_notify_fifo_script" => f.vrrp.script = Some(it.clone()),
        "lvs_notify_fifo" => f.lvs.fifo = Some(it.clone()),
        "lvs_notify_fifo_script" => f.lvs.script = Some(it.clone()),
        "vrrp_notify_priority_changes" => f.priority_changes = Some(value::flag(it)),
        "fifo_write_vrrp_states_on_reload" => f.states_on_reload = Some(it.clone()),
        _ => return false,
    }
    true
}
