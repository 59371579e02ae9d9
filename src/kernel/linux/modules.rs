//! Loading kernel modules (`modprobe`), for IPVS, its schedulers and tunnel devices.

use std::io;
use std::process::Command;

/// Runs `modprobe NAME`; the error carries modprobe's own message.
pub fn load(name: &str) -> io::Result<()> {
    let out = Command::new("modprobe").arg(name).output()?;
    if out.status.success() {
        return Ok(());
    }
    let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
    Err(io::Error::other(if msg.is_empty() { format!("modprobe {name} failed ({})", out.status) } else { msg }))
}
